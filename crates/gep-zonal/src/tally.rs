//! The streaming tally: one parallel pass over raster windows giving each zone's area per
//! land-cover class, exactly and deterministically.
//!
//! # How
//!
//! Zones are prepared once ([`PreparedPolygon`]) and their bounding boxes, in cell units,
//! go into an `rstar` R-tree. Windows of the raster are read in parallel on a rayon pool,
//! one [`RasterSource`] per worker ([`RasterSource::try_clone_source`]). Sources are `Send`
//! but not `Sync` (a GDAL dataset), so workers cannot clone the caller's source themselves
//! (rayon `map_init` would need that): one reader per pool thread is opened up front, each
//! worker owns one and pulls window indices from a shared atomic counter, which balances
//! the load. For each window and
//! each zone whose box meets it, the zone's coverage is computed into a reusable buffer over
//! the zone box ∩ window, and the cells are walked once, reading their classes.
//!
//! # Exactness
//!
//! Each cell adds `ExactArea::from_m2(fraction × cell_area(row))` (rounded once to the
//! fixed-point grid of [`ExactArea`]) to its class, or to nodata. Partial tables merge by
//! integer addition, and fractions do not depend on the window (see
//! [`coverage`](mod@crate::coverage)), so the table is bit-identical for any thread count and
//! any window size. Interior cells have fraction exactly 1.0 and add the cell area exactly.

use crate::coverage::{CellRange, CoverageBuffer, PreparedPolygon};
use crate::error::ZonalError;
use geo_types::MultiPolygon;
use gep_core::{
    ClassCode, ExactArea, ExtentTable, Grid, RasterSource, Reporter, Window, Zone, ZoneTally,
};
use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// How a tally is run. Results never depend on these settings, only speed and memory do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TallyOptions {
    /// Rows per window; 0 = from the source's block size (see [`TallyOptions::window_size`]).
    pub window_rows: usize,
    /// Columns per window; 0 = from the source's block size.
    pub window_cols: usize,
    /// Worker threads; 0 = all cores.
    pub threads: usize,
}

impl TallyOptions {
    /// The window size used for `source`: the explicit sizes when set, else the source's
    /// block size rounded up to a multiple of at least 512 (so per-window overhead stays small
    /// and GDAL reads whole blocks), or 1024 when blocks are wider or taller than 4096
    /// (strip-organised files, whose sub-blocks GDAL caches).
    pub fn window_size(&self, source: &dyn RasterSource) -> (usize, usize) {
        let (br, bc) = source.block_size();
        let pick = |explicit: usize, block: usize| -> usize {
            if explicit > 0 {
                explicit
            } else if block > 4096 {
                1024
            } else {
                let b = block.max(1);
                512usize.div_ceil(b) * b
            }
        };
        (pick(self.window_rows, br), pick(self.window_cols, bc))
    }
}

/// Area of `polygon` on the area basis of `grid`: Σ rows (area of the polygon in the row
/// strip, in cells) × (cell area of the row), over the infinite lattice of the grid (parts
/// beyond the raster count too). NaN when a vertex is not finite.
///
/// ```
/// use gep_core::{CrsInfo, Grid};
/// use gep_zonal::polygon_area_m2;
/// use geo_types::{polygon, MultiPolygon};
/// let grid = Grid::new(0.0, 100.0, 30.0, 30.0, 3, 3, CrsInfo::projected("local")).unwrap();
/// let p = polygon![(x: -10.0, y: 0.0), (x: 50.0, y: 0.0), (x: 50.0, y: 200.0), (x: -10.0, y: 200.0)];
/// assert!((polygon_area_m2(&MultiPolygon::new(vec![p]), &grid) - 12_000.0).abs() < 1e-6);
/// ```
///
/// # Units
/// m² (planar for projected grids, ellipsoidal by row for geographic ones).
pub fn polygon_area_m2(polygon: &MultiPolygon<f64>, grid: &Grid) -> f64 {
    PreparedPolygon::new(polygon, grid)
        .map(|p| p.area_m2(grid))
        .unwrap_or(f64::NAN)
}

/// Tallies `zones` over the whole raster of `source`: per zone, area per class, over
/// nodata cells, and beyond the raster's extent (`outside`).
///
/// For each zone, `covered + nodata + outside` equals [`polygon_area_m2`] to ~1e-12
/// relative. Zones must be in the grid's CRS.
///
/// # Errors
/// Non-finite vertices (with the zone id), raster read errors (with the window), failure
/// to open a reader per worker or to build the thread pool.
///
/// # Units
/// Areas in the table are m² on the grid's area basis.
pub fn tally(
    source: &dyn RasterSource,
    zones: &[Zone],
    opts: &TallyOptions,
    reporter: &dyn Reporter,
) -> Result<ExtentTable, ZonalError> {
    let grid = source.grid().clone();
    let (wr, wc) = opts.window_size(source);
    let windows = grid.windows(wr, wc);
    let pool = build_pool(opts.threads)?;
    let sources = open_readers(source, pool.current_num_threads().min(windows.len()))?;
    pool.install(|| {
        let engine = Engine::new(zones, &grid)?;
        let mut table = engine.run(sources, &grid, &windows, reporter)?;
        let outside: Vec<ExactArea> = engine
            .prepared
            .par_iter()
            .map(|p| p.outside_area(&grid))
            .collect();
        for (t, o) in table.zones.iter_mut().zip(outside) {
            t.outside += o;
        }
        Ok(table)
    })
}

/// Tallies only the cells of `windows` (no `outside` area): the building block for
/// sharding a tally across processes or machines. Tables of disjoint windows that cover
/// the grid merge ([`ExtentTable::merge`]) into exactly the cell part of [`tally`].
///
/// Windows must lie inside the grid.
///
/// # Errors
/// As [`tally`].
///
/// # Units
/// Areas in m² on the grid's area basis.
pub fn tally_windows(
    source: &dyn RasterSource,
    zones: &[Zone],
    windows: &[Window],
    opts: &TallyOptions,
    reporter: &dyn Reporter,
) -> Result<ExtentTable, ZonalError> {
    let grid = source.grid().clone();
    let pool = build_pool(opts.threads)?;
    let sources = open_readers(source, pool.current_num_threads().min(windows.len()))?;
    pool.install(|| Engine::new(zones, &grid)?.run(sources, &grid, windows, reporter))
}

/// Opens `n` (at least one) independent readers on the calling thread.
fn open_readers(
    source: &dyn RasterSource,
    n: usize,
) -> Result<Vec<Box<dyn RasterSource>>, ZonalError> {
    (0..n.max(1))
        .map(|_| {
            source
                .try_clone_source()
                .map_err(|e| ZonalError::CloneSource(Box::new(e)))
        })
        .collect()
}

fn build_pool(threads: usize) -> Result<rayon::ThreadPool, ZonalError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| ZonalError::ThreadPool {
            threads,
            reason: e.to_string(),
        })
}

type ZoneBox = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// Zones prepared for one grid, with an R-tree of their cell ranges.
struct Engine {
    prepared: Vec<PreparedPolygon>,
    /// Per zone: rows `[r0, r1)` and columns `[c0, c1)` of the lattice it may cover.
    ranges: Vec<Option<CellRange>>,
    tree: RTree<ZoneBox>,
}

impl Engine {
    fn new(zones: &[Zone], grid: &Grid) -> Result<Engine, ZonalError> {
        let prepared = zones
            .par_iter()
            .map(|z| PreparedPolygon::new(&z.geometry, grid).map_err(|e| e.with_zone(&z.id)))
            .collect::<Result<Vec<_>, _>>()?;
        let ranges: Vec<_> = prepared.iter().map(|p| p.cell_range()).collect();
        let boxes = ranges
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let r = (*r)?;
                let rect = Rectangle::from_corners(
                    [r.col_start as f64, r.row_start as f64],
                    [r.col_end as f64, r.row_end as f64],
                );
                Some(GeomWithData::new(rect, i))
            })
            .collect();
        Ok(Engine {
            prepared,
            ranges,
            tree: RTree::bulk_load(boxes),
        })
    }

    fn run(
        &self,
        sources: Vec<Box<dyn RasterSource>>,
        grid: &Grid,
        windows: &[Window],
        reporter: &dyn Reporter,
    ) -> Result<ExtentTable, ZonalError> {
        let n = self.prepared.len();
        reporter.start("tally", windows.len() as u64);
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let parts: Vec<Result<ExtentTable, ZonalError>> = sources
            .into_par_iter()
            .map(|src| {
                let mut worker = Worker::new(src);
                let mut table = ExtentTable::new(n);
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(w) = windows.get(i) else { break };
                    match worker.process(self, grid, *w) {
                        Ok(part) => {
                            for (z, zt) in part {
                                table.zones[z].merge(&zt);
                            }
                        }
                        Err(e) => {
                            failed.store(true, Ordering::Relaxed);
                            return Err(e);
                        }
                    }
                    reporter.advance(1);
                }
                Ok(table)
            })
            .collect();
        // Integer merges: the order of workers and windows does not change a bit.
        let mut table = ExtentTable::new(n);
        for part in parts {
            table.merge(&part?);
        }
        reporter.finish();
        Ok(table)
    }
}

/// Per-worker state: the reader and buffers reused across windows and zones.
struct Worker {
    source: Box<dyn RasterSource>,
    cov: CoverageBuffer,
    acc: ClassAcc,
    hits: Vec<usize>,
    /// Per window row: the exact units of a whole cell, and the cell area × 2⁴⁰ as f64.
    full: Vec<i128>,
    scaled: Vec<f64>,
}

/// 2⁴⁰: [`ExactArea`]'s fixed-point scale (`gep_core::extent::EXACT_AREA_FRACTION_BITS`).
const SCALE: f64 = (1u64 << gep_core::extent::EXACT_AREA_FRACTION_BITS) as f64;

impl Worker {
    fn new(source: Box<dyn RasterSource>) -> Worker {
        Worker {
            source,
            cov: CoverageBuffer::default(),
            acc: ClassAcc::new(),
            hits: Vec::new(),
            full: Vec::new(),
            scaled: Vec::new(),
        }
    }

    fn process(
        &mut self,
        engine: &Engine,
        grid: &Grid,
        w: Window,
    ) -> Result<Vec<(usize, ZoneTally)>, ZonalError> {
        let env = AABB::from_corners(
            [w.col_off as f64, w.row_off as f64],
            [w.col_end() as f64, w.row_end() as f64],
        );
        self.hits.clear();
        self.hits.extend(
            engine
                .tree
                .locate_in_envelope_intersecting(&env)
                .map(|b| b.data),
        );
        if self.hits.is_empty() {
            return Ok(Vec::new());
        }
        let block = self.source.read_window(w).map_err(|e| ZonalError::Raster {
            window: w,
            source: Box::new(e),
        })?;
        self.full.clear();
        self.scaled.clear();
        for r in w.row_off..w.row_end() {
            let a = grid.cell_area_m2(r as i64).0;
            self.full.push(ExactArea::from_m2(a).0);
            // Multiplying by a power of two is exact, so f × (a × 2⁴⁰) rounds exactly as
            // ExactArea::from_m2(f × a) does: cells agree with the documented contract.
            self.scaled.push(a * SCALE);
        }
        let mut out = Vec::new();
        for &z in &self.hits {
            let Some(zr) = engine.ranges[z] else {
                continue;
            };
            let r0 = zr.row_start.max(w.row_off as i64);
            let r1 = zr.row_end.min(w.row_end() as i64);
            let c0 = zr.col_start.max(w.col_off as i64);
            let c1 = zr.col_end.min(w.col_end() as i64);
            if r0 >= r1 || c0 >= c1 {
                continue;
            }
            let sub = Window::new(
                r0 as usize,
                c0 as usize,
                (r1 - r0) as usize,
                (c1 - c0) as usize,
            );
            engine.prepared[z].coverage_into(sub, &mut self.cov);
            for ri in 0..sub.rows {
                let br = sub.row_off + ri - w.row_off;
                let start = br * w.cols + (sub.col_off - w.col_off);
                let cells = &block.cells[start..start + sub.cols];
                let fracs = &self.cov.fractions[ri * sub.cols..(ri + 1) * sub.cols];
                let (full, scaled) = (self.full[br], self.scaled[br]);
                for (&f, &cell) in fracs.iter().zip(cells) {
                    if f == 0.0 {
                        continue;
                    }
                    let units = if f == 1.0 { full } else { to_units(f * scaled) };
                    if units == 0 {
                        continue;
                    }
                    self.acc.add(cell, units);
                }
            }
            if let Some(t) = self.acc.drain() {
                out.push((z, t));
            }
        }
        Ok(out)
    }
}

/// Rounds a scaled area to fixed-point units exactly as [`ExactArea::from_m2`] does,
/// through i64 when it fits (a native conversion, unlike f64 → i128).
#[inline]
fn to_units(x: f64) -> i128 {
    let r = x.round();
    if r.abs() < 9.0e18 {
        r as i64 as i128
    } else {
        r as i128
    }
}

/// Class accumulators for one zone in one window: dense for codes 0..=255 (CLCD,
/// WorldCover and most land-cover legends), a short list for the rest. Avoids map
/// lookups per cell.
struct ClassAcc {
    dense: Vec<i128>,
    touched: Vec<u8>,
    other: Vec<(ClassCode, i128)>,
    nodata: i128,
}

impl ClassAcc {
    fn new() -> ClassAcc {
        ClassAcc {
            dense: vec![0; 256],
            touched: Vec::new(),
            other: Vec::new(),
            nodata: 0,
        }
    }

    /// Adds `units` (> 0) to `cell`'s class, or to nodata.
    #[inline]
    fn add(&mut self, cell: Option<ClassCode>, units: i128) {
        match cell {
            Some(c) if (0..256).contains(&c) => {
                let slot = &mut self.dense[c as usize];
                if *slot == 0 {
                    self.touched.push(c as u8);
                }
                *slot += units;
            }
            Some(c) => match self.other.iter_mut().find(|(k, _)| *k == c) {
                Some((_, a)) => *a += units,
                None => self.other.push((c, units)),
            },
            None => self.nodata += units,
        }
    }

    /// Moves the sums into a [`ZoneTally`] and resets; `None` when nothing was added.
    /// Only positive sums are ever stored, so tallies of any split of the cells hold the
    /// same classes.
    fn drain(&mut self) -> Option<ZoneTally> {
        if self.touched.is_empty() && self.other.is_empty() && self.nodata == 0 {
            return None;
        }
        let mut t = ZoneTally::default();
        for c in self.touched.drain(..) {
            let slot = &mut self.dense[c as usize];
            t.add_class(c as ClassCode, ExactArea(*slot));
            *slot = 0;
        }
        for (c, a) in self.other.drain(..) {
            t.add_class(c, ExactArea(a));
        }
        t.nodata = ExactArea(std::mem::take(&mut self.nodata));
        Some(t)
    }
}
