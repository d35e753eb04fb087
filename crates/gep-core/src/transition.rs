//! Land-cover change between two years: a [`RasterSource`] that pairs the cells of two rasters
//! on one grid into one code ([`PairedSource`]), so the ordinary exact tally gives each zone's
//! transition matrix (from class × to class → area) in one pass, and the decoding of that
//! tally into [`Transitions`].
//!
//! # The code of a pair
//!
//! A [`PairCodec`] knows the classes of each year (sorted). Built by [`scan_pairs`] (one read
//! of both rasters) it numbers only the (from, to) pairs that **occur**, 0, 1, ...: transitions
//! are sparse (CORINE around Lausanne, 21 classes a year, has 483 possible pairs but a few
//! dozen that occur), so the codes usually stay below 255 and the tally takes its dense,
//! byte-per-cell path. [`PairCodec::new`] numbers every pair instead,
//! `index(from) × (n_to + 1) + index(to)`. Index `n_from` / `n_to` stands for nodata in that year; a cell that is
//! nodata in both years is nodata. With 255 codes or more, codes above 255 take the tally's
//! generic path (still exact, a short list per zone and window instead of an array slot).
//!
//! # Exactness
//!
//! Each cell adds the same covered area, rounded once, as in a one-year tally; only its key
//! differs. So a zone's row sums (over "to", nodata included) are **bit-identical** to the
//! first year's extent and its column sums to the second year's.

use crate::crosswalk::{split_area, Crosswalk};
use crate::error::CoreError;
use crate::extent::{ExactArea, ExtentTable, ZoneTally};
use crate::grid::{CrsCheck, Grid, Window};
use crate::raster::{Block, ByteBlock, ClassCode, RasterSource};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The classes of two years and the code of each (from, to) pair (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PairCodec {
    /// Year 0's classes, ascending.
    pub from: Vec<ClassCode>,
    /// Year 1's classes, ascending.
    pub to: Vec<ClassCode>,
    /// When built from the pairs that occur ([`PairCodec::with_pairs`]): the code of each
    /// (class index, class index), `u32::MAX` for a pair that does not occur, and the pair of
    /// each code.
    #[serde(skip)]
    compact: Option<Compact>,
}

/// The code of each (class index, class index), and the class indices of each code.
type Compact = (Vec<u32>, Vec<(u32, u32)>);

/// Largest class-index table [`PairCodec::with_pairs`] builds (entries).
const MAX_TABLE: usize = 1 << 24;

impl PairCodec {
    /// A codec for every pair of these classes (duplicates removed): code =
    /// index(from) × (n_to + 1) + index(to).
    ///
    /// # Errors
    /// When the number of pairs does not fit a class code.
    pub fn new(
        from: impl IntoIterator<Item = ClassCode>,
        to: impl IntoIterator<Item = ClassCode>,
    ) -> Result<PairCodec, CoreError> {
        let from: Vec<ClassCode> = from
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let to: Vec<ClassCode> = to
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if (from.len() as u64 + 1) * (to.len() as u64 + 1) > i32::MAX as u64 {
            return Err(CoreError::Change {
                problem: format!(
                    "{} classes in year 0 and {} in year 1 give more transitions than a class code holds",
                    from.len(),
                    to.len()
                ),
                fix: "check the rasters' nodata values (a continuous raster given as land cover?)"
                    .into(),
            });
        }
        Ok(PairCodec {
            from,
            to,
            compact: None,
        })
    }

    /// A codec for the pairs that occur (e.g. from [`scan_pairs`]), numbered 0, 1, ... in
    /// order: transitions are sparse, so even legends of 40 classes a year usually give fewer
    /// than 256 codes, and the tally's dense path.
    ///
    /// # Errors
    /// As [`PairCodec::new`].
    pub fn with_pairs(
        pairs: impl IntoIterator<Item = (Option<ClassCode>, Option<ClassCode>)>,
    ) -> Result<PairCodec, CoreError> {
        let pairs: BTreeSet<(Option<ClassCode>, Option<ClassCode>)> =
            pairs.into_iter().filter(|p| *p != (None, None)).collect();
        let mut c = PairCodec::new(
            pairs.iter().filter_map(|p| p.0),
            pairs.iter().filter_map(|p| p.1),
        )?;
        let n = (c.from.len() + 1) * (c.to.len() + 1);
        if n > MAX_TABLE {
            return Ok(c);
        }
        let mut table = vec![u32::MAX; n];
        let mut codes = Vec::with_capacity(pairs.len());
        for (f, t) in &pairs {
            let i = f.map_or(c.from.len(), |f| {
                c.from.binary_search(&f).unwrap_or_default()
            });
            let j = t.map_or(c.to.len(), |t| c.to.binary_search(&t).unwrap_or_default());
            table[i * (c.to.len() + 1) + j] = codes.len() as u32;
            codes.push((i as u32, j as u32));
        }
        c.compact = Some((table, codes));
        Ok(c)
    }

    /// Number of distinct codes (pairs including one-sided nodata).
    pub fn len(&self) -> usize {
        match &self.compact {
            Some((_, codes)) => codes.len(),
            None => (self.from.len() + 1) * (self.to.len() + 1) - 1,
        }
    }

    /// Whether there are no classes at all.
    pub fn is_empty(&self) -> bool {
        self.from.is_empty() && self.to.is_empty()
    }

    /// Whether every code and the nodata byte fit a byte (the tally's dense path).
    pub fn is_dense(&self) -> bool {
        self.len() < 256
    }

    /// The code of class indices `(i, j)` (`n_from` / `n_to` = nodata), `None` for a pair
    /// the codec does not hold.
    #[inline]
    fn code_of(&self, i: usize, j: usize) -> Option<u32> {
        let k = i * (self.to.len() + 1) + j;
        match &self.compact {
            Some((table, _)) => table.get(k).copied().filter(|c| *c != u32::MAX),
            None => Some(k as u32),
        }
    }

    /// The code of a cell: `Ok(None)` when nodata in both years; `Err(what)` for a class or
    /// pair the codec does not know.
    #[inline]
    pub fn encode(
        &self,
        from: Option<ClassCode>,
        to: Option<ClassCode>,
    ) -> Result<Option<ClassCode>, String> {
        let idx = |classes: &[ClassCode], c: Option<ClassCode>, year: u8| match c {
            None => Ok(classes.len()),
            Some(c) => classes
                .binary_search(&c)
                .map_err(|_| format!("class {c} of year {year}")),
        };
        let (i, j) = (idx(&self.from, from, 0)?, idx(&self.to, to, 1)?);
        if i == self.from.len() && j == self.to.len() {
            return Ok(None);
        }
        self.code_of(i, j)
            .map(|c| Some(c as ClassCode))
            .ok_or_else(|| format!("the transition {from:?} → {to:?}"))
    }

    /// The pair of a code (`None` = nodata in that year).
    pub fn decode(&self, code: ClassCode) -> (Option<ClassCode>, Option<ClassCode>) {
        let (i, j) = match &self.compact {
            Some((_, codes)) => {
                let (i, j) = codes[code as usize];
                (i as usize, j as usize)
            }
            None => {
                let n = self.to.len() + 1;
                (code as usize / n, code as usize % n)
            }
        };
        (self.from.get(i).copied(), self.to.get(j).copied())
    }
}

/// Checks that two rasters lie on the same grid: [`Grid::same_cells`] with `year0`'s grid as
/// the reference and the CRSs compared from their [`crate::CrsInfo`] ([`CrsCheck::Info`]).
///
/// # Errors
/// [`CoreError::Change`] naming both grids and how they differ.
pub fn check_same_grid(a: &Grid, b: &Grid) -> Result<(), CoreError> {
    let Err(why) = a.same_cells(b, CrsCheck::Info) else {
        return Ok(());
    };
    Err(CoreError::Change {
        problem: format!(
            "the two land-cover rasters are on different grids ({why}): year 0 {} x {} cells of {} x {} from ({}, {}) in {}, year 1 {} x {} cells of {} x {} from ({}, {}) in {}",
            a.rows, a.cols, a.cell_width, a.cell_height, a.left, a.top, a.crs.description,
            b.rows, b.cols, b.cell_width, b.cell_height, b.left, b.top, b.crs.description
        ),
        fix: format!(
            "warp the second raster onto the first one's grid with nearest neighbour: gdalwarp -r near -t_srs {} -te {} {} {} {} -tr {} {} YEAR1.tif aligned.tif",
            a.crs.description,
            a.left,
            a.bottom(),
            a.right(),
            a.top,
            a.cell_width,
            a.cell_height
        ),
    })
}

/// The (from, to) pairs that occur in two rasters on one grid, in one read of both, as a
/// compact codec ([`PairCodec::with_pairs`]).
///
/// # Errors
/// Different grids, read errors.
pub fn scan_pairs(
    year0: &mut dyn RasterSource,
    year1: &mut dyn RasterSource,
) -> Result<PairCodec, CoreError> {
    check_same_grid(year0.grid(), year1.grid())?;
    let grid = year0.grid().clone();
    let (br, bc) = year0.block_size();
    let mut out: BTreeSet<(Option<ClassCode>, Option<ClassCode>)> = BTreeSet::new();
    let mut seen = vec![false; 1 << 16];
    for w in grid.windows(br.max(256), bc.max(256)) {
        if let (Some(a), Some(b)) = (year0.read_window_bytes(w)?, year1.read_window_bytes(w)?) {
            seen.fill(false);
            for (&x, &y) in a.indices.iter().zip(&b.indices) {
                seen[usize::from(x) << 8 | usize::from(y)] = true;
            }
            for (k, _) in seen.iter().enumerate().filter(|(_, s)| **s) {
                out.insert((a.palette[k >> 8], b.palette[k & 255]));
            }
        } else {
            let (a, b) = (year0.read_window(w)?, year1.read_window(w)?);
            let mut last = None;
            for p in a.cells.into_iter().zip(b.cells) {
                if last != Some(p) {
                    out.insert(p);
                    last = Some(p);
                }
            }
        }
    }
    PairCodec::with_pairs(out)
}

/// Every class code in a raster, in one read of all its windows.
///
/// # Errors
/// Read errors.
pub fn scan_classes(source: &mut dyn RasterSource) -> Result<BTreeSet<ClassCode>, CoreError> {
    let grid = source.grid().clone();
    let (br, bc) = source.block_size();
    let mut out = BTreeSet::new();
    for w in grid.windows(br.max(256), bc.max(256)) {
        if let Some(b) = source.read_window_bytes(w)? {
            let mut used = [false; 256];
            for &i in &b.indices {
                used[usize::from(i)] = true;
            }
            out.extend(
                used.iter()
                    .zip(&b.palette)
                    .filter_map(|(u, p)| if *u { *p } else { None }),
            );
        } else {
            let b = source.read_window(w)?;
            let mut last = None;
            for c in b.cells.into_iter().flatten() {
                if last != Some(c) {
                    out.insert(c);
                    last = Some(c);
                }
            }
        }
    }
    Ok(out)
}

/// Two land-cover rasters on one grid read as one: each cell's class is the code of its
/// (year 0, year 1) pair ([`PairCodec`]).
pub struct PairedSource {
    year0: Box<dyn RasterSource>,
    year1: Box<dyn RasterSource>,
    codec: Arc<PairCodec>,
}

impl PairedSource {
    /// Pairs `year0` and `year1`, which must lie on the same grid ([`check_same_grid`]:
    /// size, cell size and origin within 1e-9 of a cell, and no CRS difference its
    /// [`crate::CrsInfo`] shows; a full CRS comparison is the caller's, e.g. gep-io's).
    ///
    /// # Errors
    /// [`CoreError::Change`] naming both grids when they differ.
    pub fn new(
        year0: Box<dyn RasterSource>,
        year1: Box<dyn RasterSource>,
        codec: PairCodec,
    ) -> Result<PairedSource, CoreError> {
        check_same_grid(year0.grid(), year1.grid())?;
        Ok(PairedSource {
            year0,
            year1,
            codec: Arc::new(codec),
        })
    }

    /// The codec of the pairs.
    pub fn codec(&self) -> &PairCodec {
        &self.codec
    }

    fn unknown(&self, w: Window, what: String) -> CoreError {
        CoreError::Change {
            problem: format!(
                "{what} (window rows {}..{}, cols {}..{}) is not among those the transition codec was built with",
                w.row_off,
                w.row_end(),
                w.col_off,
                w.col_end()
            ),
            fix: "build the codec with scan_pairs over both rasters (or list every class)".into(),
        }
    }
}

impl RasterSource for PairedSource {
    fn grid(&self) -> &Grid {
        self.year0.grid()
    }

    fn block_size(&self) -> (usize, usize) {
        self.year0.block_size()
    }

    fn read_window(&mut self, window: Window) -> Result<Block, CoreError> {
        let a = self.year0.read_window(window)?;
        let b = self.year1.read_window(window)?;
        let mut cells = Vec::with_capacity(a.cells.len());
        for (x, y) in a.cells.iter().zip(&b.cells) {
            cells.push(
                self.codec
                    .encode(*x, *y)
                    .map_err(|e| self.unknown(window, e))?,
            );
        }
        Ok(Block { window, cells })
    }

    /// With fewer than 256 codes, one byte per cell: the code itself (255 = nodata in both
    /// years). When both sources read as bytes, each cell costs a few table lookups.
    fn read_window_bytes(&mut self, window: Window) -> Result<Option<ByteBlock>, CoreError> {
        if !self.codec.is_dense() {
            return Ok(None);
        }
        let mut palette = [None; 256];
        for (i, p) in palette.iter_mut().enumerate().take(self.codec.len()) {
            *p = Some(i as ClassCode);
        }
        let codec = self.codec.clone();
        let bytes = match (
            self.year0.read_window_bytes(window)?,
            self.year1.read_window_bytes(window)?,
        ) {
            (Some(a), Some(b)) if a.indices.len() == b.indices.len() => Some((a, b)),
            _ => None,
        };
        let indices = match bytes {
            Some((a, b)) => {
                // Per byte of each year: its class index (n = nodata), or MAX if unknown.
                let index = |p: &[Option<ClassCode>; 256], classes: &[ClassCode]| {
                    let mut t = [usize::MAX; 256];
                    for (slot, v) in t.iter_mut().zip(p) {
                        *slot = match v {
                            None => classes.len(),
                            Some(c) => classes.binary_search(c).unwrap_or(usize::MAX),
                        };
                    }
                    t
                };
                let (ia, ib) = (index(&a.palette, &codec.from), index(&b.palette, &codec.to));
                let (nf, nt) = (codec.from.len(), codec.to.len());
                // The code of each (byte, byte) met, computed once per window.
                let mut memo = vec![u16::MAX; 1 << 16];
                let mut indices = Vec::with_capacity(a.indices.len());
                for (&x, &y) in a.indices.iter().zip(&b.indices) {
                    let k = usize::from(x) << 8 | usize::from(y);
                    if memo[k] == u16::MAX {
                        let (i, j) = (ia[usize::from(x)], ib[usize::from(y)]);
                        let code = if i == nf && j == nt {
                            Some(255)
                        } else if i == usize::MAX || j == usize::MAX {
                            None
                        } else {
                            codec.code_of(i, j)
                        };
                        let Some(code) = code else {
                            let what = format!(
                                "the transition {:?} → {:?}",
                                a.palette[usize::from(x)],
                                b.palette[usize::from(y)]
                            );
                            return Err(self.unknown(window, what));
                        };
                        memo[k] = code as u16;
                    }
                    indices.push(memo[k] as u8);
                }
                indices
            }
            None => self
                .read_window(window)?
                .cells
                .iter()
                .map(|c| c.map_or(255, |c| c as u8))
                .collect(),
        };
        Ok(Some(ByteBlock {
            window,
            palette,
            indices,
        }))
    }

    fn try_clone_source(&self) -> Result<Box<dyn RasterSource>, CoreError> {
        Ok(Box::new(PairedSource {
            year0: self.year0.try_clone_source()?,
            year1: self.year1.try_clone_source()?,
            codec: self.codec.clone(),
        }))
    }
}

/// A transition matrix by ecosystem type: (from type, to type) → area; `None` = nodata.
pub type TypeMatrix = BTreeMap<(Option<String>, Option<String>), ExactArea>;

/// One zone's transition matrix.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ZoneTransitions {
    /// (from, to) → area; `None` = nodata in that year (never both).
    pub pairs: BTreeMap<(Option<ClassCode>, Option<ClassCode>), ExactArea>,
    /// Area over cells that are nodata in both years.
    pub nodata: ExactArea,
    /// Area beyond the rasters.
    pub outside: ExactArea,
}

impl ZoneTransitions {
    /// Year 0's tally (row sums): bit-identical to a tally of year 0 alone.
    pub fn year0(&self) -> ZoneTally {
        let mut t = ZoneTally {
            nodata: self.nodata,
            outside: self.outside,
            ..Default::default()
        };
        for ((from, _), a) in &self.pairs {
            match from {
                Some(c) => t.add_class(*c, *a),
                None => t.nodata += *a,
            }
        }
        t
    }

    /// Year 1's tally (column sums): bit-identical to a tally of year 1 alone.
    pub fn year1(&self) -> ZoneTally {
        let mut t = ZoneTally {
            nodata: self.nodata,
            outside: self.outside,
            ..Default::default()
        };
        for ((_, to), a) in &self.pairs {
            match to {
                Some(c) => t.add_class(*c, *a),
                None => t.nodata += *a,
            }
        }
        t
    }

    /// Net change per class: year 1's area − year 0's (exact), for every class of either.
    pub fn net_change(&self) -> BTreeMap<ClassCode, ExactArea> {
        let (a, b) = (self.year0(), self.year1());
        let mut out: BTreeMap<ClassCode, ExactArea> = BTreeMap::new();
        for (c, x) in &b.classes {
            *out.entry(*c).or_default() += *x;
        }
        for (c, x) in &a.classes {
            let e = out.entry(*c).or_default();
            *e = *e - *x;
        }
        out
    }

    /// The matrix by ecosystem type: each class mapped through its year's crosswalk (shares
    /// multiply: each pair's area is split by the year-0 shares, then each part by the year-1
    /// shares, with [`split_area`], so the cells of a pair sum to its area exactly); nodata
    /// stays `None`.
    ///
    /// # Errors
    /// A class a crosswalk does not map.
    pub fn by_type(
        &self,
        crosswalk0: &Crosswalk,
        crosswalk1: &Crosswalk,
    ) -> Result<TypeMatrix, CoreError> {
        let parts = |cw: &Crosswalk,
                     c: Option<ClassCode>,
                     year: u8|
         -> Result<Vec<(Option<String>, f64)>, CoreError> {
            match c {
                None => Ok(vec![(None, 1.0)]),
                Some(c) => cw
                    .lookup(c)
                    .map(|p| p.iter().map(|(t, s)| (Some(t.clone()), *s)).collect())
                    .ok_or_else(|| CoreError::Change {
                        problem: format!(
                            "class {c} of year {year} is not mapped by crosswalk {}",
                            cw.id
                        ),
                        fix: format!("add `{c},<ecosystem_type>` to a copy of {}", cw.origin),
                    }),
            }
        };
        let mut out = TypeMatrix::new();
        for ((from, to), a) in &self.pairs {
            let to_parts = parts(crosswalk1, *to, 1)?;
            // Split by the year-0 shares, then each part by the year-1 shares, both with
            // `split_area`: the cells of a pair add back to its area exactly.
            for (t0, a0) in split_area(*a, &parts(crosswalk0, *from, 0)?) {
                for (t1, part) in split_area(a0, &to_parts) {
                    *out.entry((t0.clone(), t1.clone())).or_default() += part;
                }
            }
        }
        Ok(out)
    }
}

/// The transition matrices of a list of zones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Transitions {
    /// Zone ids, in zone order.
    pub zone_ids: Vec<String>,
    /// One matrix per zone.
    pub zones: Vec<ZoneTransitions>,
    /// The codec the tally was made with.
    pub codec: PairCodec,
}

impl Transitions {
    /// Decodes the extent table of a tally over a [`PairedSource`] built with `codec`.
    pub fn from_extent(extent: &ExtentTable, codec: &PairCodec) -> Transitions {
        let zones = extent
            .zones
            .iter()
            .map(|t| {
                let mut z = ZoneTransitions {
                    nodata: t.nodata,
                    outside: t.outside,
                    ..Default::default()
                };
                for (code, a) in &t.classes {
                    *z.pairs.entry(codec.decode(*code)).or_default() += *a;
                }
                z
            })
            .collect();
        Transitions {
            zone_ids: extent.zone_ids.clone(),
            zones,
            codec: codec.clone(),
        }
    }

    /// The matrix of zone `id`.
    pub fn get(&self, id: &str) -> Option<&ZoneTransitions> {
        self.zone_ids
            .iter()
            .position(|z| z == id)
            .map(|i| &self.zones[i])
    }

    /// Year 0's extent table (row sums), bit-identical to tallying year 0 alone.
    pub fn year0(&self) -> ExtentTable {
        ExtentTable {
            zone_ids: self.zone_ids.clone(),
            zones: self.zones.iter().map(ZoneTransitions::year0).collect(),
        }
    }

    /// Year 1's extent table (column sums), bit-identical to tallying year 1 alone.
    pub fn year1(&self) -> ExtentTable {
        ExtentTable {
            zone_ids: self.zone_ids.clone(),
            zones: self.zones.iter().map(ZoneTransitions::year1).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::CrsInfo;
    use crate::raster::MemRaster;

    #[test]
    fn codes_round_trip() {
        let c = PairCodec::new([1, 2, 5], [2, 5, 8, 8]).unwrap();
        assert_eq!(c.len(), 15);
        assert!(c.is_dense());
        for from in [None, Some(1), Some(2), Some(5)] {
            for to in [None, Some(2), Some(5), Some(8)] {
                match c.encode(from, to).unwrap() {
                    None => assert_eq!((from, to), (None, None)),
                    Some(code) => assert_eq!(c.decode(code), (from, to)),
                }
            }
        }
        assert!(c
            .encode(Some(3), None)
            .unwrap_err()
            .contains("class 3 of year 0"));
        let many = PairCodec::new(0..20, 0..20).unwrap();
        assert!(!many.is_dense());
        // Only the pairs that occur: 40 classes, 4 codes.
        let sparse = PairCodec::with_pairs([
            (Some(1), Some(1)),
            (Some(40), Some(2)),
            (None, Some(7)),
            (Some(9), None),
            (None, None),
        ])
        .unwrap();
        assert_eq!(sparse.len(), 4);
        assert!(sparse.is_dense());
        for p in [
            (Some(1), Some(1)),
            (Some(40), Some(2)),
            (None, Some(7)),
            (Some(9), None),
        ] {
            let code = sparse.encode(p.0, p.1).unwrap().unwrap();
            assert_eq!(sparse.decode(code), p);
        }
        assert!(sparse
            .encode(Some(1), Some(2))
            .unwrap_err()
            .contains("transition"));
    }

    #[test]
    fn paired_source_reads_both_ways() {
        let g = Grid::new(0.0, 2.0, 1.0, 1.0, 2, 2, CrsInfo::projected("x")).unwrap();
        let a = MemRaster::new(g.clone(), vec![Some(1), Some(1), None, Some(2)]).unwrap();
        let b = MemRaster::new(g.clone(), vec![Some(1), Some(3), None, None]).unwrap();
        let codec = PairCodec::new([1, 2], [1, 3]).unwrap();
        let mut p = PairedSource::new(Box::new(a), Box::new(b), codec.clone()).unwrap();
        let w = g.full_window();
        let block = p.read_window(w).unwrap();
        let bytes = p.read_window_bytes(w).unwrap().unwrap();
        assert_eq!(bytes.to_block(), block);
        let pairs: Vec<_> = block
            .cells
            .iter()
            .map(|c| c.map(|c| codec.decode(c)))
            .collect();
        assert_eq!(
            pairs,
            vec![
                Some((Some(1), Some(1))),
                Some((Some(1), Some(3))),
                None,
                Some((Some(2), None))
            ]
        );
        let other = Grid::new(0.5, 2.0, 1.0, 1.0, 2, 2, CrsInfo::projected("x")).unwrap();
        let c = MemRaster::new(other, vec![None; 4]).unwrap();
        let a = MemRaster::new(g, vec![None; 4]).unwrap();
        let e = PairedSource::new(Box::new(a), Box::new(c), codec)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("different grids") && e.contains("warp"), "{e}");
        // The same cells in another CRS: refused, naming both CRSs.
        let g0 = Grid::new(0.0, 2.0, 1.0, 1.0, 2, 2, CrsInfo::projected("EPSG:4549")).unwrap();
        let g1 = Grid {
            crs: CrsInfo::projected("EPSG:4527"),
            ..g0.clone()
        };
        let e = PairedSource::new(
            Box::new(MemRaster::new(g0.clone(), vec![None; 4]).unwrap()),
            Box::new(MemRaster::new(g1, vec![None; 4]).unwrap()),
            PairCodec::new([1], [1]).unwrap(),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            e.contains("different CRSs")
                && e.contains("EPSG:4527")
                && e.contains("-t_srs EPSG:4549"),
            "{e}"
        );
        // Within 1e-9 of a cell: paired.
        let near = Grid {
            left: 1e-10,
            ..g0.clone()
        };
        assert!(PairedSource::new(
            Box::new(MemRaster::new(g0, vec![None; 4]).unwrap()),
            Box::new(MemRaster::new(near, vec![None; 4]).unwrap()),
            PairCodec::new([1], [1]).unwrap(),
        )
        .is_ok());
    }

    #[test]
    fn by_type_conserves_each_pair_exactly() {
        let cw = |text: &str| {
            Crosswalk::from_csv_str(
                &format!("# id = \"t\"\n# version = \"1\"\ncode,ecosystem_type,share\n{text}"),
                "t.csv",
            )
            .unwrap()
        };
        let cw0 =
            cw("2,forest_evergreen_broadleaf,0.4\n2,forest_conifer,0.35\n2,shrub,0.25\n3,water,\n");
        let cw1 = cw("2,forest_mixed,0.3\n2,forest_bamboo,0.7\n3,wetland,1\n");
        let mut m = ZoneTransitions::default();
        // Areas that are not multiples of anything: the old f64 split lost units on them.
        let areas = [
            ((Some(2), Some(2)), ExactArea::from_m2(1e10 / 3.0)),
            ((Some(2), Some(3)), ExactArea(123_456_789_012_345_678_901)),
            ((Some(3), Some(2)), ExactArea(7)),
            ((None, Some(2)), ExactArea::from_m2(900.0 * 7.0 / 11.0)),
            ((Some(2), None), ExactArea::from_m2(0.1)),
        ];
        for (k, a) in areas {
            m.pairs.insert(k, a);
        }
        let t = m.by_type(&cw0, &cw1).unwrap();
        let total: ExactArea = areas.iter().map(|(_, a)| *a).sum();
        assert_eq!(t.values().copied().sum::<ExactArea>(), total);
        // Nodata→forest pair: split only by year 1's shares, 0.3 / 0.7 of it, summing exactly.
        let nd = areas[3].1;
        let mixed = t[&(None, Some("forest_mixed".to_string()))];
        let bamboo = t[&(None, Some("forest_bamboo".to_string()))];
        assert_eq!(mixed + bamboo, nd);
        assert!((mixed.to_m2() - 0.3 * nd.to_m2()).abs() < 1e-9);
        // 3 → 3 does not occur; water → forest takes all of its 7 units.
        assert_eq!(
            t[&(Some("water".to_string()), Some("forest_mixed".to_string()))]
                + t[&(Some("water".to_string()), Some("forest_bamboo".to_string()))],
            ExactArea(7)
        );
    }
}
