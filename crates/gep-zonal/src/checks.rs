//! Hierarchy checks: do the children of each zone add up to it, class by class, and if
//! not, where is the difference (gaps, overlaps, spills)?
//!
//! # Rows
//!
//! For each parent and each level of its children (a county may hold townships and, where
//! no township is loaded, villages directly), [`sum_checks`] gives one [`CheckKind::Sum`]
//! row per land-cover class, plus one row with `class: None` for the area that is on no
//! class (nodata cells plus area beyond the raster). `residual_m2 = parent − Σ children`,
//! computed exactly in [`ExactArea`].
//!
//! With [`CheckOptions::geometry`], [`hierarchy_checks`] also computes, per parent:
//! * **gap** = parent − ⋃ children (parent area no child covers),
//! * **overlap** = child ∩ child for each pair of siblings (from an R-tree of their boxes),
//! * **spill** = ⋃ children − parent (child area outside the parent),
//!
//! and tallies these polygons with the same engine, so gap/overlap/spill rows are per class
//! too. Their `residual_m2` is their signed share of the sum row's residual (+gap,
//! −overlap, −spill), so when no point lies in three children
//! `residual(class) = gap(class) − overlap(class) − spill(class)`, up to the precision of
//! the polygon clipping. Their `parent_area_m2` and `children_sum_m2` repeat the sum row's
//! values for context. Rows whose area is below [`CheckOptions::min_area_m2`] are dropped:
//! a margin against slivers that polygon clipping (geo's `BooleanOps`, i_overlay) could leave
//! on a perfect tiling. On the test tilings and on the benchmark's county of 36 townships and
//! 7,560 villages with densified, shared boundaries it left none at all, and the sum rows'
//! residuals were below 1e-17 relative.
//!
//! # Top-level overlaps
//!
//! Zones with no parent (the counties of a run, usually) have no sum row, but two of them
//! claiming the same ground (two counties' boundaries overlapping, a county loaded twice
//! under two ids) count that ground twice in every total. So the geometry also clips every
//! pair of top-level zones whose boxes meet (an R-tree of their boxes, as for siblings) and
//! gives one [`CheckKind::Overlap`] row per class for each pair's common area, with
//! `parent_id` empty (there is no parent), `level` = the pair's level (the coarser of the two
//! if they differ), `children` = the two zone ids, `parent_area_m2` = 0 and
//! `children_sum_m2` = the two zones' areas in the class. The size floor applies with the
//! smaller of the two zones' areas in place of the parent's, so the slivers that clipping
//! leaves along the shared borders of a clean partition are dropped as between siblings.
//! The cost is one clipping per pair of top-level zones whose boxes meet (neighbours, for
//! counties), the same work as the sibling overlaps of one family.
//!
//! # Cost
//!
//! Sum rows are cheap (~1 ms for 7,600 zones). The geometry (unions, differences, pairwise
//! intersections of siblings whose boxes meet, then a tally of the pieces) took 0.2–0.36 s
//! wall on that 7,560-village tiling (2 cores, `cargo bench -p gep-zonal`), so it is on by
//! default.

use crate::error::ZonalError;
use crate::tally::{polygon_area_m2, tally, TallyOptions};
#[cfg(feature = "geometry-checks")]
use geo::algorithm::orient::{Direction, Orient};
#[cfg(feature = "geometry-checks")]
use geo::{unary_union, Area, BooleanOps, BoundingRect};
use geo_types::MultiPolygon;
use gep_core::{
    ClassCode, ExactArea, ExtentTable, Level, NoProgress, RasterSource, Reporter, Zone, ZoneTally,
};
#[cfg(feature = "geometry-checks")]
use rayon::prelude::*;
#[cfg(feature = "geometry-checks")]
use rstar::primitives::{GeomWithData, Rectangle};
#[cfg(feature = "geometry-checks")]
use rstar::RTree;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What a check row measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CheckKind {
    /// Parent area vs the sum of its children's areas.
    Sum,
    /// Parent area that no child covers.
    Gap,
    /// Area claimed by two children.
    Overlap,
    /// Child area outside the parent.
    Spill,
}

impl CheckKind {
    /// Name used in output files.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Sum => "sum",
            CheckKind::Gap => "gap",
            CheckKind::Overlap => "overlap",
            CheckKind::Spill => "spill",
        }
    }
}

/// One line of the hierarchy check.
///
/// Most rows compare a parent with its children of one level. A **top-level overlap** row
/// (see the module docs) is between two zones that have no parent: it has an empty
/// `parent_id`, `kind` [`CheckKind::Overlap`], the two zones in `children`, their level in
/// `level`, `parent_area_m2` = 0 and their areas in the class summed in `children_sum_m2`.
/// [`CheckRow::is_top_level`] tells such rows apart.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRow {
    /// The parent zone; empty for an overlap between two top-level zones.
    pub parent_id: String,
    /// The children's level; for a top-level overlap, the two zones' level (the coarser of
    /// the two when they differ).
    pub level: Level,
    /// Land-cover class; `None` = nodata cells plus area beyond the raster.
    pub class: Option<ClassCode>,
    /// The parent's area in this class; 0 for a top-level overlap (no parent).
    ///
    /// # Units
    /// m² on the grid's area basis.
    pub parent_area_m2: f64,
    /// Σ of the children's areas in this class; for a top-level overlap, Σ of the two
    /// zones' areas in this class.
    ///
    /// # Units
    /// m².
    pub children_sum_m2: f64,
    /// Sum rows: parent − Σ children. Gap/overlap/spill rows: their signed share of it
    /// (+gap, −overlap, −spill). A top-level overlap row has −(its area): the area the
    /// totals over top-level zones count twice.
    ///
    /// # Units
    /// m².
    pub residual_m2: f64,
    /// What the row measures.
    pub kind: CheckKind,
    /// The two children of an overlap row (the two top-level zones of a top-level overlap),
    /// in the order of the zones given; empty for other kinds.
    pub children: Vec<String>,
}

impl CheckRow {
    /// `true` for an overlap between two top-level zones (zones with no parent), which has
    /// no parent row to belong to: its `parent_id` is empty and `children` names the pair.
    pub fn is_top_level(&self) -> bool {
        self.kind == CheckKind::Overlap && self.parent_id.is_empty() && self.children.len() == 2
    }
}

/// Settings of [`hierarchy_checks`].
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOptions {
    /// Compute gap/overlap/spill polygons (polygon clipping; ~0.2–0.36 s for 7,560 villages,
    /// see the module docs). Sum rows are always computed.
    pub geometry: bool,
    /// Gap/overlap/spill rows (and polygons) smaller than this are dropped.
    ///
    /// # Units
    /// m². Default 0.01 m².
    pub min_area_m2: f64,
    /// Gap/overlap/spill rows smaller than this fraction of their parent's area are dropped
    /// too; for an overlap between two top-level zones, of the smaller zone's area (the
    /// larger one could hide a real overlap of a small zone). Polygon clipping (geo's
    /// `BooleanOps`, built on i_overlay) snaps coordinates to an internal integer grid, which
    /// leaves micrometre-wide slivers along long shared borders: on the demo's exact
    /// partition they reach 3.6e-9 of the parent's area (between its 26 counties, clipped as
    /// read, none at all). Default 1e-8, i.e. 0.01 m² per km² of parent — far below any real
    /// gap in boundary data.
    pub min_relative: f64,
    /// How the gap/overlap/spill polygons are tallied.
    pub tally: TallyOptions,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            geometry: true,
            min_area_m2: 0.01,
            min_relative: 1e-8,
            tally: TallyOptions::default(),
        }
    }
}

/// A parent and the indices of its children of one level.
struct Family {
    parent: usize,
    level: Level,
    children: Vec<usize>,
}

fn families(zones: &[Zone], table: &ExtentTable) -> Result<Vec<Family>, ZonalError> {
    table
        .check_zones(zones)
        .map_err(|e| ZonalError::Extent(Box::new(e)))?;
    families_of(zones)
}

/// Families of `zones` (resolved parents), ordered by parent id and level.
fn families_of(zones: &[Zone]) -> Result<Vec<Family>, ZonalError> {
    let index: HashMap<&str, usize> = zones
        .iter()
        .enumerate()
        .map(|(i, z)| (z.id.as_str(), i))
        .collect();
    // BTreeMap keyed by (parent id, level): rows come out in a stable, readable order.
    let mut groups: BTreeMap<(&str, Level), Vec<usize>> = BTreeMap::new();
    // Resolved parents leave only zones of the top level without one: a lower zone without a
    // parent means the parents were never resolved, and its family's rows would be missing
    // (no row at all is a plausible "everything adds up").
    let top = zones.iter().map(|z| z.level).min();
    if let Some(z) = zones
        .iter()
        .find(|z| z.parent.is_none() && Some(z.level) != top)
    {
        return Err(ZonalError::UnresolvedParent {
            zone: z.id.clone(),
            level: z.level,
        });
    }
    for (i, z) in zones.iter().enumerate() {
        if let Some(p) = &z.parent {
            if !index.contains_key(p.as_str()) {
                return Err(ZonalError::MissingParent {
                    zone: z.id.clone(),
                    parent: p.clone(),
                });
            }
            groups.entry((p.as_str(), z.level)).or_default().push(i);
        }
    }
    Ok(groups
        .into_iter()
        .map(|((p, level), children)| Family {
            parent: index[p],
            level,
            children,
        })
        .collect())
}

fn class_area(t: &ZoneTally, class: Option<ClassCode>) -> ExactArea {
    match class {
        Some(c) => t.classes.get(&c).copied().unwrap_or_default(),
        None => t.nodata + t.outside,
    }
}

/// Classes of a family, ascending, then `None`.
fn family_classes<'a>(tallies: impl Iterator<Item = &'a ZoneTally>) -> Vec<Option<ClassCode>> {
    let mut set = BTreeSet::new();
    for t in tallies {
        set.extend(t.classes.keys().copied());
    }
    set.into_iter()
        .map(Some)
        .chain(std::iter::once(None))
        .collect()
}

/// Sum rows only: for each parent × children's level × class (and `None`), parent area,
/// Σ children and the residual, exactly. `zones` need resolved parents; `table` is their
/// tally (same order).
///
/// # Errors
/// [`ZonalError::Extent`] when `table` was computed for another zone list,
/// [`ZonalError::MissingParent`].
///
/// # Units
/// m².
pub fn sum_checks(zones: &[Zone], table: &ExtentTable) -> Result<Vec<CheckRow>, ZonalError> {
    let mut rows = Vec::new();
    for fam in families(zones, table)? {
        let pt = &table.zones[fam.parent];
        let classes = family_classes(
            std::iter::once(pt).chain(fam.children.iter().map(|&c| &table.zones[c])),
        );
        for class in classes {
            let parent = class_area(pt, class);
            let sum: ExactArea = fam
                .children
                .iter()
                .map(|&c| class_area(&table.zones[c], class))
                .sum();
            rows.push(CheckRow {
                parent_id: zones[fam.parent].id.clone(),
                level: fam.level,
                class,
                parent_area_m2: parent.to_m2(),
                children_sum_m2: sum.to_m2(),
                residual_m2: (parent - sum).to_m2(),
                kind: CheckKind::Sum,
                children: Vec::new(),
            });
        }
    }
    Ok(rows)
}

/// A gap/overlap/spill polygon waiting to be tallied.
#[derive(Debug, Clone)]
struct Piece {
    /// `None`: an overlap between two top-level zones (`children`).
    parent_id: Option<String>,
    level: Level,
    kind: CheckKind,
    children: Vec<String>,
    geometry: MultiPolygon<f64>,
}

/// The gap, overlap and spill polygons of every family of a set of zones: the raster-free
/// half of [`hierarchy_checks`], computed by [`hierarchy_geometry`] (it needs no tally, so a
/// caller can compute it while the zones are being tallied) and tallied by
/// [`hierarchy_checks_with`].
#[derive(Debug, Clone, Default)]
pub struct HierarchyGeometry {
    pieces: Vec<Piece>,
}

impl HierarchyGeometry {
    /// Number of gap/overlap/spill polygons (before the size floor).
    pub fn len(&self) -> usize {
        self.pieces.len()
    }

    /// `true` when no family has a gap, overlap or spill.
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// The pieces' polygons, for moving them onto the raster's CRS when they were clipped in
    /// another (e.g. reprojecting them as the zones were).
    pub fn geometries_mut(&mut self) -> impl Iterator<Item = &mut MultiPolygon<f64>> {
        self.pieces.iter_mut().map(|p| &mut p.geometry)
    }

    /// The pieces, in order (the order [`hierarchy_checks_reported`] indexes).
    pub fn pieces(&self) -> impl Iterator<Item = PieceRef<'_>> {
        self.pieces.iter().map(|p| PieceRef {
            parent_id: p.parent_id.as_deref(),
            level: p.level,
            kind: p.kind,
            children: &p.children,
            geometry: &p.geometry,
        })
    }

    /// Keeps the pieces for which `keep(parent id, polygon)` is true: e.g. drops, before
    /// reprojecting them, pieces whose area where they were clipped is far below the floor.
    /// The parent id is empty for an overlap between two top-level zones: such a piece has
    /// already passed the relative floor against the smaller of the two zones where it was
    /// clipped (see [`hierarchy_geometry`]), so a caller that finds no parent of that id and
    /// applies only [`CheckOptions::min_area_m2`] keeps what it should.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &MultiPolygon<f64>) -> bool) {
        self.pieces
            .retain(|p| keep(p.parent_id.as_deref().unwrap_or(""), &p.geometry));
    }
}

/// One gap, overlap or spill polygon of a [`HierarchyGeometry`].
#[derive(Debug, Clone, Copy)]
pub struct PieceRef<'a> {
    /// The parent; `None` for an overlap between two top-level zones.
    pub parent_id: Option<&'a str>,
    /// The children's level (see [`CheckRow::level`]).
    pub level: Level,
    /// Gap, overlap or spill.
    pub kind: CheckKind,
    /// The two zones of an overlap; empty otherwise.
    pub children: &'a [String],
    /// The polygon, in the coordinates it was clipped in (or moved to).
    pub geometry: &'a MultiPolygon<f64>,
}

/// A piece of a [`HierarchyGeometry`] that gave rows in the checks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReportedPiece {
    /// Its index in [`HierarchyGeometry::pieces`].
    pub index: usize,
    /// Its area tallied on the grid (all classes, nodata and area beyond the raster
    /// included).
    ///
    /// # Units
    /// m² on the grid's area basis.
    pub area_m2: f64,
}

/// Size floor of a family's pieces: `opts.min_area_m2`, or `opts.min_relative` of the
/// parent's area when that is larger.
fn piece_floor(opts: &CheckOptions, parent_area_m2: f64) -> f64 {
    opts.min_area_m2
        .max(opts.min_relative * parent_area_m2.abs())
}

#[cfg(feature = "geometry-checks")]
/// The gap, overlap and spill polygons of every parent × children's level of `zones`
/// (resolved parents), clipped in the zones' own coordinates, whatever their CRS: the caller
/// may clip the boundaries as read (fewer vertices than after densified reprojection) and move
/// the pieces onto the raster's CRS with [`HierarchyGeometry::geometries_mut`]. Empty pieces
/// are dropped here, pieces below the size floor by [`hierarchy_checks_with`]. Families are
/// processed in parallel on `opts.tally.threads` threads; the result does not depend on the
/// thread count.
///
/// Overlaps between top-level zones (no parent) are found by clipping the pairs of them whose
/// boxes meet; a pair's piece smaller than half of `opts.min_relative` × the smaller zone's
/// area (a ratio of areas, so in any CRS) is dropped here, since it could not reach the size
/// floor. A zone loaded twice gives a piece of its whole area.
///
/// Overlaps are found by clipping the sibling pairs whose boxes meet, unless the family's
/// multiplicity excess Σ |child| − |⋃ children| (the area claimed twice or more, an upper
/// bound of every pairwise overlap) is below half of `opts.min_relative` × |⋃ children|:
/// then no overlap could reach the size floor and the pairs are not clipped. On a clean
/// partition that is every family, and the pairs are most of the clipping work. The test is
/// on ratios of areas, so it holds in degrees as in metres (the half is the margin for the
/// variation of a degree's area across one family).
///
/// # Errors
/// [`ZonalError::MissingParent`]; [`ZonalError::ThreadPool`].
pub fn hierarchy_geometry(
    zones: &[Zone],
    opts: &CheckOptions,
    reporter: &dyn Reporter,
) -> Result<HierarchyGeometry, ZonalError> {
    let fams = families_of(zones)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.tally.threads)
        .build()
        .map_err(|e| ZonalError::ThreadPool {
            threads: opts.tally.threads,
            reason: e.to_string(),
        })?;
    // One step per family, and one for the overlaps between top-level zones.
    reporter.start("hierarchy geometry", fams.len() as u64 + 1);
    let pieces: Vec<Piece> = pool.install(|| {
        let mut pieces: Vec<Piece> = fams
            .par_iter()
            .flat_map_iter(|fam| {
                let out = family_pieces(zones, fam, opts.min_relative);
                reporter.advance(1);
                out
            })
            .collect();
        pieces.extend(top_level_pieces(zones, opts.min_relative));
        reporter.advance(1);
        pieces
    });
    reporter.finish();
    Ok(HierarchyGeometry { pieces })
}

/// Sum rows, plus (with `opts.geometry`) per-class gap, overlap and spill rows, tallied on
/// `source` with the same engine as the zones. See the module docs for the rows' meaning.
/// Equivalent to [`hierarchy_geometry`] followed by [`hierarchy_checks_with`].
///
/// ```
/// use gep_core::{CrsInfo, Grid, Level, MemRaster, NoProgress, Zone};
/// use gep_zonal::{hierarchy_checks, tally, CheckKind, CheckOptions, TallyOptions};
/// use geo_types::{polygon, MultiPolygon};
/// let grid = Grid::new(0.0, 10.0, 1.0, 1.0, 10, 10, CrsInfo::projected("local")).unwrap();
/// let raster = MemRaster::from_fn(grid, |_, _| Some(1));
/// let square = |x0: f64, x1: f64| MultiPolygon::new(vec![polygon![
///     (x: x0, y: 0.0), (x: x1, y: 0.0), (x: x1, y: 10.0), (x: x0, y: 10.0)]]);
/// let zone = |id: &str, level, parent: Option<&str>, g| Zone { id: id.into(), name: String::new(),
///     level, parent: parent.map(Into::into), geometry: g };
/// // Two villages leave a 1 m strip of their county uncovered.
/// let zones = vec![
///     zone("c", Level::County, None, square(0.0, 10.0)),
///     zone("c1", Level::Village, Some("c"), square(0.0, 4.0)),
///     zone("c2", Level::Village, Some("c"), square(5.0, 10.0)),
/// ];
/// let table = tally(&raster, &zones, &TallyOptions::default(), &NoProgress).unwrap();
/// let rows = hierarchy_checks(&zones, &table, &raster, &CheckOptions::default(), &NoProgress).unwrap();
/// let gap = rows.iter().find(|r| r.kind == CheckKind::Gap).unwrap();
/// assert_eq!((gap.class, gap.residual_m2), (Some(1), 10.0));
/// ```
///
/// # Errors
/// As [`sum_checks`] and [`tally`].
///
/// # Units
/// m².
pub fn hierarchy_checks(
    zones: &[Zone],
    table: &ExtentTable,
    source: &dyn RasterSource,
    opts: &CheckOptions,
    reporter: &dyn Reporter,
) -> Result<Vec<CheckRow>, ZonalError> {
    table
        .check_zones(zones)
        .map_err(|e| ZonalError::Extent(Box::new(e)))?;
    #[cfg(feature = "geometry-checks")]
    let geometry = if opts.geometry {
        Some(hierarchy_geometry(zones, opts, reporter)?)
    } else {
        None
    };
    #[cfg(not(feature = "geometry-checks"))]
    let geometry: Option<HierarchyGeometry> = if opts.geometry {
        let _ = reporter;
        return Err(ZonalError::GeometryChecksDisabled);
    } else {
        None
    };
    hierarchy_checks_with(zones, table, source, geometry.as_ref(), opts)
}

/// Sum rows of `zones` and `table`, plus the per-class rows of `geometry`'s pieces whose
/// parent is one of `zones`, and of its top-level overlaps whose two zones both are
/// (pieces of other zones are ignored, so the geometry may have been computed on a superset
/// of the zones, e.g. before some counties were dropped). Top-level overlap rows come last.
/// Without `geometry`, sum rows only (as [`sum_checks`]).
///
/// # Errors
/// As [`sum_checks`] and [`tally`].
///
/// # Units
/// m².
pub fn hierarchy_checks_with(
    zones: &[Zone],
    table: &ExtentTable,
    source: &dyn RasterSource,
    geometry: Option<&HierarchyGeometry>,
    opts: &CheckOptions,
) -> Result<Vec<CheckRow>, ZonalError> {
    hierarchy_checks_reported(zones, table, source, geometry, opts).map(|(rows, _)| rows)
}

/// [`hierarchy_checks_with`], and the pieces of `geometry` that gave at least one row (each
/// with its area on the grid), in the order of [`HierarchyGeometry::pieces`]: the pieces to
/// show on a map beside `checks.csv`.
///
/// # Errors
/// As [`hierarchy_checks_with`].
pub fn hierarchy_checks_reported(
    zones: &[Zone],
    table: &ExtentTable,
    source: &dyn RasterSource,
    geometry: Option<&HierarchyGeometry>,
    opts: &CheckOptions,
) -> Result<(Vec<CheckRow>, Vec<ReportedPiece>), ZonalError> {
    let mut rows = sum_checks(zones, table)?;
    let Some(geometry) = geometry else {
        return Ok((rows, Vec::new()));
    };
    let index: HashMap<&str, usize> = zones
        .iter()
        .enumerate()
        .map(|(i, z)| (z.id.as_str(), i))
        .collect();
    let grid = source.grid();
    // Each piece with what it is measured against: its parent, or the two top-level zones.
    let pieces: Vec<(usize, &Piece, Scope, f64)> = geometry
        .pieces
        .iter()
        .enumerate()
        .filter_map(|(k, p)| {
            let scope = match &p.parent_id {
                Some(parent) => Scope::Family(*index.get(parent.as_str())?),
                None => {
                    let [a, b] = &p.children[..] else {
                        return None;
                    };
                    Scope::Top(*index.get(a.as_str())?, *index.get(b.as_str())?)
                }
            };
            // Top-level: the smaller zone is the relative scale.
            let scale = match scope {
                Scope::Family(i) => table.zones[i].total().to_m2(),
                Scope::Top(a, b) => table.zones[a]
                    .total()
                    .to_m2()
                    .min(table.zones[b].total().to_m2()),
            };
            let floor = piece_floor(opts, scale);
            (polygon_area_m2(&p.geometry, grid).abs() >= floor).then_some((k, p, scope, floor))
        })
        .collect();
    if pieces.is_empty() {
        return Ok((rows, Vec::new()));
    }
    let pseudo: Vec<Zone> = pieces
        .iter()
        .enumerate()
        .map(|(i, (_, p, _, _))| Zone {
            id: format!(
                "{}:{}:{}",
                p.parent_id.as_deref().unwrap_or(""),
                p.kind.as_str(),
                i
            ),
            name: String::new(),
            level: p.level,
            parent: None,
            geometry: p.geometry.clone(),
        })
        .collect();
    let pt = tally(source, &pseudo, &opts.tally, &NoProgress)?;
    // Context columns come from the sum rows.
    let sums: HashMap<(&str, Level, Option<ClassCode>), (f64, f64)> = rows
        .iter()
        .map(|r| {
            (
                (r.parent_id.as_str(), r.level, r.class),
                (r.parent_area_m2, r.children_sum_m2),
            )
        })
        .collect();
    let mut extra = Vec::new();
    let mut reported = Vec::new();
    for ((k, p, scope, floor), t) in pieces.iter().zip(&pt.zones) {
        let before = extra.len();
        let sign = if p.kind == CheckKind::Gap { 1.0 } else { -1.0 };
        for class in family_classes(std::iter::once(t)) {
            let area = class_area(t, class).to_m2();
            if area < *floor {
                continue;
            }
            let (pa, cs) = match *scope {
                Scope::Family(_) => sums
                    .get(&(p.parent_id.as_deref().unwrap_or(""), p.level, class))
                    .copied()
                    .unwrap_or((0.0, 0.0)),
                // No parent; the two zones' areas in the class, exactly.
                Scope::Top(a, b) => (
                    0.0,
                    (class_area(&table.zones[a], class) + class_area(&table.zones[b], class))
                        .to_m2(),
                ),
            };
            extra.push(CheckRow {
                parent_id: p.parent_id.clone().unwrap_or_default(),
                level: p.level,
                class,
                parent_area_m2: pa,
                children_sum_m2: cs,
                residual_m2: sign * area,
                kind: p.kind,
                children: p.children.clone(),
            });
        }
        if extra.len() > before {
            reported.push(ReportedPiece {
                index: *k,
                area_m2: t.total().to_m2(),
            });
        }
    }
    rows.extend(extra);
    Ok((rows, reported))
}

#[cfg(feature = "geometry-checks")]
/// Gap, spill and overlap polygons of one family (empty ones dropped).
fn family_pieces(zones: &[Zone], fam: &Family, min_relative: f64) -> Vec<Piece> {
    // unary_union needs one winding order for all inputs.
    let parent = zones[fam.parent].geometry.orient(Direction::Default);
    let kids: Vec<MultiPolygon<f64>> = fam
        .children
        .iter()
        .map(|&c| zones[c].geometry.orient(Direction::Default))
        .collect();
    let union = unary_union(&kids);
    let parent_id = &zones[fam.parent].id;
    let mut out = Vec::new();
    let mut push = |kind, children, geometry: MultiPolygon<f64>| {
        if !geometry.0.is_empty() {
            out.push(Piece {
                parent_id: Some(parent_id.clone()),
                level: fam.level,
                kind,
                children,
                geometry,
            });
        }
    };
    push(CheckKind::Gap, Vec::new(), parent.difference(&union));
    push(CheckKind::Spill, Vec::new(), union.difference(&parent));
    // Area claimed by two or more children: Σ |child| − |⋃ children| bounds every pairwise
    // overlap; below half the relative floor none could be kept (see hierarchy_geometry).
    let union_area = union.unsigned_area();
    let claimed: f64 = kids.iter().map(|k| k.unsigned_area()).sum();
    if claimed - union_area < 0.5 * min_relative * union_area {
        return out;
    }
    // Overlaps: only sibling pairs whose boxes meet are clipped.
    for (a, b) in box_pairs(&kids) {
        let inter = kids[a].intersection(&kids[b]);
        push(
            CheckKind::Overlap,
            vec![
                zones[fam.children[a]].id.clone(),
                zones[fam.children[b]].id.clone(),
            ],
            inter,
        );
    }
    out
}

#[cfg(feature = "geometry-checks")]
/// The pairs `(a, b)`, `a < b`, of `polys` whose bounding boxes meet (an R-tree of the boxes),
/// in ascending order.
fn box_pairs(polys: &[MultiPolygon<f64>]) -> Vec<(usize, usize)> {
    let boxes: Vec<GeomWithData<Rectangle<[f64; 2]>, usize>> = polys
        .iter()
        .enumerate()
        .filter_map(|(i, k)| {
            let r = k.bounding_rect()?;
            Some(GeomWithData::new(
                Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                i,
            ))
        })
        .collect();
    let tree = RTree::bulk_load(boxes);
    let mut pairs: Vec<(usize, usize)> = tree
        .intersection_candidates_with_other_tree(&tree)
        .filter(|(a, b)| a.data < b.data)
        .map(|(a, b)| (a.data, b.data))
        .collect();
    pairs.sort_unstable();
    pairs
}

/// What a piece is measured against in [`hierarchy_checks_with`]: its parent (index in the
/// zones), or the two top-level zones whose overlap it is.
#[derive(Debug, Clone, Copy)]
enum Scope {
    Family(usize),
    Top(usize, usize),
}

#[cfg(feature = "geometry-checks")]
/// Overlap polygons between the top-level zones (no parent) of `zones`, pair by pair in the
/// zones' order, for the pairs whose boxes meet. Pieces below half of `min_relative` × the
/// smaller zone's area are dropped (they could not reach the size floor; the half is the
/// margin for the variation of a degree's area across two neighbours, as in
/// [`hierarchy_geometry`]). Runs on the current rayon pool; the order does not depend on it.
fn top_level_pieces(zones: &[Zone], min_relative: f64) -> Vec<Piece> {
    let top: Vec<usize> = (0..zones.len())
        .filter(|&i| zones[i].parent.is_none())
        .collect();
    if top.len() < 2 {
        return Vec::new();
    }
    let geoms: Vec<MultiPolygon<f64>> = top
        .par_iter()
        .map(|&i| zones[i].geometry.orient(Direction::Default))
        .collect();
    let areas: Vec<f64> = geoms.iter().map(|g| g.unsigned_area()).collect();
    box_pairs(&geoms)
        .into_par_iter()
        .filter_map(|(a, b)| {
            let inter = geoms[a].intersection(&geoms[b]);
            if inter.0.is_empty()
                || inter.unsigned_area() < 0.5 * min_relative * areas[a].min(areas[b])
            {
                return None;
            }
            let (za, zb) = (&zones[top[a]], &zones[top[b]]);
            Some(Piece {
                parent_id: None,
                // The coarser level of the two (they are the same in any ordinary run).
                level: std::cmp::min_by_key(za.level, zb.level, |l| l.rank()),
                kind: CheckKind::Overlap,
                children: vec![za.id.clone(), zb.id.clone()],
                geometry: inter,
            })
        })
        .collect()
}
