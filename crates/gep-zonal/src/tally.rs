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
//! the load. Each window's cells are turned once into runs of equal class per row. For each
//! zone whose box meets the window, the zone's coverage over box ∩ window is computed in
//! sparse form ([`SparseCoverage`]): per row, the boundary cells with their fractions and
//! the runs of whole cells between them. Boundary cells are looked up one by one; interior
//! runs are counted per class run, so an interior cell costs nothing per zone or level.
//!
//! # Exactness
//!
//! Each cell adds `ExactArea::from_m2(fraction × cell_area(row))` (rounded once to the
//! fixed-point grid of [`ExactArea`]) to its class, or to nodata. Partial tables merge by
//! integer addition, and fractions do not depend on the window (see
//! [`coverage`](mod@crate::coverage)), so the table is bit-identical for any thread count and
//! any window size. Interior cells have fraction exactly 1.0 and add the cell area exactly.
//!
//! # Weighted sums
//!
//! [`tally_values`] adds, in the same pass, the sums of continuous layers over each zone and
//! class: each layer is read once per window (one reader per worker), and each covered cell
//! adds its covered area × value, rounded once to [`ExactSum`](gep_core::ExactSum)'s fixed
//! point, or its area to the class's area without data (see [`WeightedTable`]). The sums of
//! each class run's whole cells are computed once per window and layer, so interior runs
//! still cost O(1) per zone, class run and layer (runs clipped by a zone's edge are summed
//! cell by cell). The sums are bit-identical for any thread count and window size, like the
//! areas.

use crate::coverage::{CellRange, PreparedPolygon, Span, SparseCoverage};
use crate::error::ZonalError;
use crate::weighted::{describe, Problem, ValueAcc, ValueWindow, MAX_CELL_VALUE_M2};
use geo_types::MultiPolygon;
use gep_core::{
    ClassCode, CoreError, CrsCheck, ExactArea, ExtentTable, Grid, LayerInfo, RasterSource,
    Reporter, ValueSource, WeightedTable, Window, Zone, ZoneSums, ZoneTally,
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
/// ```
/// use gep_core::{CrsInfo, Grid, Level, MemRaster, NoProgress, Zone};
/// use gep_zonal::{tally, TallyOptions};
/// use geo_types::{polygon, MultiPolygon};
/// // 3 x 3 cells of 10 m; the left column is class 1, the rest class 2.
/// let grid = Grid::new(0.0, 30.0, 10.0, 10.0, 3, 3, CrsInfo::projected("local")).unwrap();
/// let raster = MemRaster::from_fn(grid, |_, c| Some(if c == 0 { 1 } else { 2 }));
/// // 5 m to 25 m in x, 0 to 40 m in y: 10 m beyond the top edge.
/// let p = polygon![(x: 5.0, y: 0.0), (x: 25.0, y: 0.0), (x: 25.0, y: 40.0), (x: 5.0, y: 40.0)];
/// let zone = Zone { id: "1".into(), name: "a".into(), level: Level::Village, parent: None,
///                   geometry: MultiPolygon::new(vec![p]) };
/// let t = tally(&raster, &[zone], &TallyOptions::default(), &NoProgress).unwrap();
/// assert_eq!(t.zones[0].classes[&1].to_m2(), 150.0);
/// assert_eq!(t.zones[0].classes[&2].to_m2(), 450.0);
/// assert_eq!(t.zones[0].outside.to_m2(), 200.0);
/// ```
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
    tally_values(source, &[], zones, opts, reporter).map(|(table, _)| table)
}

/// [`tally`] with the weighted sums of continuous `layers` over each zone and class, in the
/// same pass: the extent table (bit-identical to [`tally`]'s) and the [`WeightedTable`].
///
/// Each layer must lie on the land-cover grid cell for cell (`gep-io` warps inputs onto it).
/// For every covered cell of class `k` (coverage `f`, cell area `a`), each layer adds
/// `f × a × value` to the sum of (`k`, layer), or, where the layer has no data, `f × a` to
/// the missing area of (`k`, layer): area without data is reported, never counted as zero.
/// Each contribution is rounded once to the fixed-point grid of [`gep_core::ExactSum`]
/// (`f × a` exactly as the class area), so the sums are bit-identical for any thread count and
/// window size, and, per class and layer, `area with data + missing` is the class area.
/// Cells whose land cover is nodata are in no class and no sum (their area is the tally's
/// `nodata`). Each zone's sums hold the classes of its tally; with no layers, none.
///
/// ```
/// use gep_core::{CrsInfo, Grid, LayerInfo, Level, MemRaster, NoProgress, ValueGrid, Zone};
/// use gep_zonal::{tally, tally_values, TallyOptions};
/// use geo_types::{polygon, MultiPolygon};
/// // 2 x 2 cells of 10 m, all class 1; precipitation 1000 mm, none in the lower right cell.
/// let grid = Grid::new(0.0, 20.0, 10.0, 10.0, 2, 2, CrsInfo::projected("local")).unwrap();
/// let lc = MemRaster::from_fn(grid.clone(), |_, _| Some(1));
/// let p = ValueGrid::from_fn(grid, LayerInfo::new("precipitation", "mm"),
///     |r, c| (r + c < 2).then_some(1000.0 + 100.0 * c as f64));
/// // The left half and a quarter of the lower right cell.
/// let sq = polygon![(x: 0.0, y: 0.0), (x: 15.0, y: 0.0), (x: 15.0, y: 10.0), (x: 10.0, y: 10.0),
///                   (x: 10.0, y: 20.0), (x: 0.0, y: 20.0)];
/// let zone = Zone { id: "1".into(), name: "a".into(), level: Level::Village, parent: None,
///                   geometry: MultiPolygon::new(vec![sq]) };
/// let opts = TallyOptions::default();
/// let (extent, sums) = tally_values(&lc, &[&p], &[zone.clone()], &opts, &NoProgress).unwrap();
/// assert_eq!(extent, tally(&lc, &[zone], &opts, &NoProgress).unwrap());
/// assert_eq!(extent.zones[0].classes[&1].to_m2(), 250.0);
/// // 1000 mm over the two left cells; the lower right cell has no data.
/// assert_eq!(sums.sum_m2("1", 1, "precipitation"), Some(200_000.0));
/// assert_eq!(sums.missing_m2("1", 1, "precipitation"), Some(50.0));
/// ```
///
/// # Errors
/// As [`tally`]; [`ZonalError::LayerGrid`] when a layer is not on the land-cover grid,
/// [`ZonalError::DuplicateLayer`] when two layers share a name, [`ZonalError::LayerRead`]
/// and [`ZonalError::CloneLayer`] for a layer's reader, [`ZonalError::ValueTooLarge`] for a
/// cell beyond the exact range, [`ZonalError::Weighted`] when a sum overflows.
///
/// # Units
/// Areas in m² on the grid's area basis; sums in (layer unit × m²), missing areas in m².
pub fn tally_values(
    landcover: &dyn RasterSource,
    layers: &[&dyn ValueSource],
    zones: &[Zone],
    opts: &TallyOptions,
    reporter: &dyn Reporter,
) -> Result<(ExtentTable, WeightedTable), ZonalError> {
    let grid = landcover.grid().clone();
    let infos = check_layers(&grid, layers)?;
    let (wr, wc) = opts.window_size(landcover);
    let windows = grid.windows(wr, wc);
    let pool = build_pool(opts.threads)?;
    let readers = open_readers(
        landcover,
        layers,
        pool.current_num_threads().min(windows.len()),
    )?;
    pool.install(|| {
        let engine = Engine::new(zones, &grid, wr)?;
        let mut readers = readers;
        reporter.start("tally", windows.len() as u64);
        let (mut table, sums) = engine.run(&mut readers, &grid, &windows, &infos, reporter)?;
        reporter.finish();
        let outside: Vec<ExactArea> = engine
            .prepared
            .par_iter()
            .map(|p| p.outside_area(&grid))
            .collect();
        for (t, o) in table.zones.iter_mut().zip(outside) {
            t.outside += o;
        }
        Ok((table, sums))
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
    tally_values_windows(source, &[], zones, windows, opts, reporter).map(|(table, _)| table)
}

/// [`tally_windows`] with weighted sums ([`tally_values`]): tables of disjoint windows that
/// cover the grid merge ([`ExtentTable::merge`], [`WeightedTable::merge`]) into exactly the
/// cell part of the extent and the sums of [`tally_values`] (all of the sums: no layer has
/// cells beyond the raster).
///
/// # Errors
/// As [`tally_values`].
///
/// # Units
/// Areas in m² on the grid's area basis; sums in (layer unit × m²).
pub fn tally_values_windows(
    landcover: &dyn RasterSource,
    layers: &[&dyn ValueSource],
    zones: &[Zone],
    windows: &[Window],
    opts: &TallyOptions,
    reporter: &dyn Reporter,
) -> Result<(ExtentTable, WeightedTable), ZonalError> {
    let grid = landcover.grid().clone();
    let infos = check_layers(&grid, layers)?;
    let pool = build_pool(opts.threads)?;
    let mut readers = open_readers(
        landcover,
        layers,
        pool.current_num_threads().min(windows.len()),
    )?;
    reporter.start("tally", windows.len() as u64);
    let band_rows = windows.first().map_or(512, |w| w.rows);
    let tables = pool.install(|| {
        Engine::new(zones, &grid, band_rows)?.run(&mut readers, &grid, windows, &infos, reporter)
    })?;
    reporter.finish();
    Ok(tables)
}

/// [`tally`] in one pass over the raster for all `zones`, reporting groups of zones as soon as
/// they are complete: a checkpoint for long, resumable runs (e.g. one group per county with its
/// townships and villages), without reading a window once per group.
///
/// `groups` are disjoint ranges of zone indices. Windows are processed in bands of one window
/// row, north to south, each band over all threads; after each band, every group whose zones
/// touch no later window is passed to `done(group index, its tallies)` on the calling thread,
/// in group order (groups whose zones touch no window at all come first). The tallies given
/// to `done`, and the table returned, are bit-identical to [`tally`]'s.
///
/// ```
/// use gep_core::{CrsInfo, Grid, Level, MemRaster, NoProgress, Zone};
/// use gep_zonal::{tally, tally_grouped, TallyOptions};
/// use geo_types::{polygon, MultiPolygon};
/// let grid = Grid::new(0.0, 40.0, 1.0, 1.0, 40, 40, CrsInfo::projected("local")).unwrap();
/// let raster = MemRaster::from_fn(grid, |r, c| Some(((r + c) % 3) as i32));
/// let sq = |x0: f64, y0: f64| MultiPolygon::new(vec![polygon![(x: x0, y: y0),
///     (x: x0 + 9.5, y: y0), (x: x0 + 9.5, y: y0 + 9.5), (x: x0, y: y0 + 9.5)]]);
/// let zone = |id: &str, g| Zone { id: id.into(), name: String::new(), level: Level::County,
///     parent: None, geometry: g };
/// let zones = vec![zone("south", sq(0.5, 0.5)), zone("north", sq(20.5, 30.0))];
/// let opts = TallyOptions { window_rows: 8, window_cols: 8, ..Default::default() };
/// let mut order = Vec::new();
/// let table = tally_grouped(&raster, &zones, &[0..1, 1..2], &opts, &NoProgress,
///     &mut |g, t| order.push((g, t.to_vec()))).unwrap();
/// assert_eq!(table, tally(&raster, &zones, &opts, &NoProgress).unwrap());
/// // The northern zone is complete first; each group is reported once, with its final tally.
/// assert_eq!(order.iter().map(|(g, _)| *g).collect::<Vec<_>>(), vec![1, 0]);
/// assert_eq!(order[1].1, table.zones[0..1]);
/// ```
///
/// # Errors
/// As [`tally`]; [`ZonalError::TableMismatch`] when a group reaches beyond `zones`.
///
/// # Units
/// Areas in m² on the grid's area basis.
pub fn tally_grouped(
    source: &dyn RasterSource,
    zones: &[Zone],
    groups: &[std::ops::Range<usize>],
    opts: &TallyOptions,
    reporter: &dyn Reporter,
    done: &mut dyn FnMut(usize, &[ZoneTally]),
) -> Result<ExtentTable, ZonalError> {
    tally_values_grouped(
        source,
        &[],
        zones,
        groups,
        opts,
        reporter,
        &mut |g, t, _| done(g, t),
    )
    .map(|(table, _)| table)
}

/// [`tally_grouped`] with weighted sums ([`tally_values`]): each group is reported once, as
/// soon as it is complete, with its zones' final tallies and sums, `done(group index,
/// tallies, sums)`. The tallies, the sums and the tables returned are bit-identical to
/// [`tally_values`]'s.
///
/// # Errors
/// As [`tally_values`]; [`ZonalError::TableMismatch`] when a group reaches beyond `zones`.
///
/// # Units
/// Areas in m² on the grid's area basis; sums in (layer unit × m²).
// The callback's type spelled out, as in `tally_grouped`, reads better than an alias.
#[allow(clippy::type_complexity)]
pub fn tally_values_grouped(
    landcover: &dyn RasterSource,
    layers: &[&dyn ValueSource],
    zones: &[Zone],
    groups: &[std::ops::Range<usize>],
    opts: &TallyOptions,
    reporter: &dyn Reporter,
    done: &mut dyn FnMut(usize, &[ZoneTally], &[ZoneSums]),
) -> Result<(ExtentTable, WeightedTable), ZonalError> {
    let source = landcover;
    if let Some(g) = groups
        .iter()
        .find(|g| g.end > zones.len() || g.start > g.end)
    {
        return Err(ZonalError::TableMismatch {
            got: g.end,
            expected: zones.len(),
        });
    }
    let grid = source.grid().clone();
    let infos = check_layers(&grid, layers)?;
    let (wr, wc) = opts.window_size(source);
    let windows = grid.windows(wr, wc);
    let pool = build_pool(opts.threads)?;
    let mut readers = open_readers(
        source,
        layers,
        pool.current_num_threads().min(windows.len()),
    )?;
    // Parallel parts run on the pool; `done` runs on the calling thread, between bands.
    let engine = pool.install(|| Engine::new(zones, &grid, wr))?;
    // The area beyond the raster needs no cells: in the table from the start.
    let mut table = ExtentTable::for_zones(zones);
    let mut sums = WeightedTable::for_zones(zones, infos.clone());
    let outside: Vec<ExactArea> = pool.install(|| {
        engine
            .prepared
            .par_iter()
            .map(|p| p.outside_area(&grid))
            .collect()
    });
    for (t, o) in table.zones.iter_mut().zip(outside) {
        t.outside = o;
    }
    // Bands: runs of windows with the same first row (grid.windows is row-major).
    let mut bands: Vec<std::ops::Range<usize>> = Vec::new();
    for (i, w) in windows.iter().enumerate() {
        match bands.last_mut() {
            Some(b) if windows[b.start].row_off == w.row_off => b.end = i + 1,
            _ => bands.push(i..i + 1),
        }
    }
    // The last band a group's zones may touch (None: no window at all).
    let band_of_row = |row: usize| bands.iter().position(|b| row < windows[b.start].row_end());
    let last_band: Vec<Option<usize>> = groups
        .iter()
        .map(|g| {
            engine.ranges[g.clone()]
                .iter()
                .flatten()
                .filter(|r| {
                    r.row_end > 0
                        && r.col_end > 0
                        && r.row_start < grid.rows as i64
                        && r.col_start < grid.cols as i64
                })
                .filter_map(|r| band_of_row((r.row_end - 1).min(grid.rows as i64 - 1) as usize))
                .max()
        })
        .collect();
    for (g, range) in groups.iter().enumerate() {
        if last_band[g].is_none() {
            done(g, &table.zones[range.clone()], &sums.zones[range.clone()]);
        }
    }
    reporter.start("tally", windows.len() as u64);
    for (b, band) in bands.iter().enumerate() {
        let (part, part_sums) = pool.install(|| {
            engine.run(
                &mut readers,
                &grid,
                &windows[band.clone()],
                &infos,
                reporter,
            )
        })?;
        table.merge(&part);
        sums.merge(&part_sums).map_err(weighted_error)?;
        for (g, range) in groups.iter().enumerate() {
            if last_band[g] == Some(b) {
                done(g, &table.zones[range.clone()], &sums.zones[range.clone()]);
            }
        }
    }
    reporter.finish();
    Ok((table, sums))
}

/// Checks that every layer lies on `grid`'s cells and that their names are unique; returns
/// their descriptions.
fn check_layers(grid: &Grid, layers: &[&dyn ValueSource]) -> Result<Vec<LayerInfo>, ZonalError> {
    let mut infos: Vec<LayerInfo> = Vec::with_capacity(layers.len());
    for layer in layers {
        let info = layer.info();
        // The land cover is the reference grid; a layer's CRS is compared from its CrsInfo
        // (gep-io warps each layer onto the land-cover grid, CRS included).
        if let Err(why) = grid.same_cells(layer.grid(), CrsCheck::Info) {
            return Err(ZonalError::LayerGrid {
                why,
                layer: info.name.clone(),
                layer_grid: describe(layer.grid()),
                landcover_grid: describe(grid),
            });
        }
        if infos.iter().any(|i| i.name == info.name) {
            return Err(ZonalError::DuplicateLayer {
                layer: info.name.clone(),
            });
        }
        infos.push(info.clone());
    }
    Ok(infos)
}

/// One worker's readers: the land cover and each layer.
struct Readers {
    land: Box<dyn RasterSource>,
    layers: Vec<Box<dyn ValueSource>>,
}

/// Opens `n` (at least one) independent sets of readers on the calling thread.
fn open_readers(
    source: &dyn RasterSource,
    layers: &[&dyn ValueSource],
    n: usize,
) -> Result<Vec<Readers>, ZonalError> {
    (0..n.max(1))
        .map(|_| {
            let land = source
                .try_clone_source()
                .map_err(|e| ZonalError::CloneSource(Box::new(e)))?;
            let layers = layers
                .iter()
                .map(|l| {
                    l.try_clone_values().map_err(|e| ZonalError::CloneLayer {
                        layer: l.info().name.clone(),
                        source: Box::new(e),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Readers { land, layers })
        })
        .collect()
}

fn weighted_error(e: CoreError) -> ZonalError {
    ZonalError::Weighted(Box::new(e))
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

/// Zones prepared for one grid, with an R-tree of where they lie.
struct Engine {
    /// The zones' ids, which label every table the engine makes.
    ids: Vec<String>,
    prepared: Vec<PreparedPolygon>,
    /// Per zone: rows `[r0, r1)` and columns `[c0, c1)` of the lattice it may cover.
    ranges: Vec<Option<CellRange>>,
    /// Per zone and band of `band_rows` grid rows it crosses, the columns it covers there
    /// ([`PreparedPolygon::col_range_in_rows`]): a window is read only when some zone has a
    /// part in its rows and columns, not merely a bounding box over it (a thin diagonal
    /// sliver, a concave county).
    tree: RTree<ZoneBox>,
}

impl Engine {
    fn new(zones: &[Zone], grid: &Grid, band_rows: usize) -> Result<Engine, ZonalError> {
        let prepared = zones
            .par_iter()
            .map(|z| PreparedPolygon::new(&z.geometry, grid).map_err(|e| e.with_zone(&z.id)))
            .collect::<Result<Vec<_>, _>>()?;
        let ranges: Vec<_> = prepared.iter().map(|p| p.cell_range()).collect();
        // The outside area walks every row of a zone's box: bound it so a zone in the wrong
        // CRS fails fast instead of exhausting memory. The limit is far above any real zone.
        let max_rows = 64 * grid.rows as i64 + 1_000_000;
        let max_cols = 64 * grid.cols as i64 + 1_000_000;
        for (z, r) in zones.iter().zip(&ranges) {
            if let Some(r) = r {
                let (rows, cols) = (r.row_end - r.row_start, r.col_end - r.col_start);
                if rows > max_rows || cols > max_cols {
                    return Err(ZonalError::ZoneTooLarge {
                        zone: z.id.clone(),
                        rows,
                        cols,
                        grid_rows: grid.rows,
                        grid_cols: grid.cols,
                    });
                }
            }
        }
        let band = band_rows.max(1) as i64;
        let grid_rows = grid.rows as i64;
        let boxes: Vec<ZoneBox> = prepared
            .par_iter()
            .zip(&ranges)
            .enumerate()
            .flat_map_iter(|(i, (p, r))| {
                // Only rows of the grid: windows never lie elsewhere.
                let (rs, re) = r.map_or((0, 0), |r| (r.row_start.max(0), r.row_end.min(grid_rows)));
                // Bands k with rows [k·band, (k+1)·band) meeting [rs, re) (none when empty).
                (rs / band..(re.max(rs) + band - 1) / band).filter_map(move |k| {
                    let (a, b) = (rs.max(k * band), re.min((k + 1) * band));
                    let (c0, c1) = p.col_range_in_rows(a, b)?;
                    let rect =
                        Rectangle::from_corners([c0 as f64, a as f64], [c1 as f64, b as f64]);
                    Some(GeomWithData::new(rect, i))
                })
            })
            .collect();
        Ok(Engine {
            ids: zones.iter().map(|z| z.id.clone()).collect(),
            prepared,
            ranges,
            tree: RTree::bulk_load(boxes),
        })
    }

    /// Tallies `windows`, the weighted sums of `layers` (each worker's readers hold one
    /// reader per layer, in this order) included.
    fn run(
        &self,
        readers: &mut [Readers],
        grid: &Grid,
        windows: &[Window],
        layers: &[LayerInfo],
        reporter: &dyn Reporter,
    ) -> Result<(ExtentTable, WeightedTable), ZonalError> {
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let parts: Vec<Result<(ExtentTable, WeightedTable), ZonalError>> = readers
            .par_iter_mut()
            .map(|rd| {
                let mut worker = Worker::new(rd);
                let mut table = ExtentTable::new(self.ids.iter().cloned());
                let mut sums = WeightedTable::new(self.ids.iter().cloned(), layers.to_vec());
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(w) = windows.get(i) else { break };
                    let done = worker.process(self, grid, *w).and_then(|part| {
                        for (z, zt) in part {
                            table.zones[z].merge(&zt);
                        }
                        for (z, zs) in worker.sums_out.drain(..) {
                            sums.zones[z]
                                .merge(&zs, layers, &self.ids[z])
                                .map_err(weighted_error)?;
                        }
                        Ok(())
                    });
                    if let Err(e) = done {
                        failed.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                    reporter.advance(1);
                }
                Ok((table, sums))
            })
            .collect();
        // Integer merges: the order of workers and windows does not change a bit.
        let mut table = ExtentTable::new(self.ids.iter().cloned());
        let mut sums = WeightedTable::new(self.ids.iter().cloned(), layers.to_vec());
        for part in parts {
            let (t, s) = part?;
            table.merge(&t);
            sums.merge(&s).map_err(weighted_error)?;
        }
        Ok((table, sums))
    }
}

/// Per-worker state: the readers and buffers reused across windows and zones.
struct Worker<'s> {
    source: &'s mut dyn RasterSource,
    /// One reader per layer (none for a plain tally).
    layers: &'s mut [Box<dyn ValueSource>],
    /// The layers over the current window.
    values: ValueWindow,
    /// The current window of each layer, as read.
    blocks: Vec<Vec<Option<f64>>>,
    vacc: ValueAcc,
    /// The weighted sums of the last window's zones.
    sums_out: Vec<(usize, ZoneSums)>,
    cov: SparseCoverage,
    runs: RowRuns,
    acc: ClassAcc,
    hits: Vec<usize>,
    /// Per window row: the exact units of a whole cell, and the cell area × 2⁴⁰ as f64.
    full: Vec<i128>,
    scaled: Vec<f64>,
}

/// 2⁴⁰: [`ExactArea`]'s fixed-point scale (`gep_core::extent::EXACT_AREA_FRACTION_BITS`).
const SCALE: f64 = (1u64 << gep_core::extent::EXACT_AREA_FRACTION_BITS) as f64;

impl<'s> Worker<'s> {
    fn new(readers: &'s mut Readers) -> Worker<'s> {
        Worker {
            source: readers.land.as_mut(),
            layers: &mut readers.layers,
            values: ValueWindow::default(),
            blocks: Vec::new(),
            vacc: ValueAcc::default(),
            sums_out: Vec::new(),
            cov: SparseCoverage::default(),
            runs: RowRuns::default(),
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
        // A window across two bands meets a zone's boxes of both.
        self.hits.sort_unstable();
        self.hits.dedup();
        if self.hits.is_empty() {
            return Ok(Vec::new());
        }
        let read_err = |e| ZonalError::Raster {
            window: w,
            source: Box::new(e),
        };
        // Byte-sized sources (GDAL Byte bands) come as one byte per cell; others as
        // `Option<ClassCode>` cells. Both give the same cells, so the same table.
        if let Some(bytes) = self.source.read_window_bytes(w).map_err(read_err)? {
            self.runs
                .build_bytes(&bytes.indices, &bytes.palette, w.rows, w.cols);
            self.row_areas(grid, w);
            self.read_layers(w)?;
            let cells = ByteCells {
                indices: &bytes.indices,
                palette: &bytes.palette,
            };
            return self.tally_cells(engine, w, &cells);
        }
        let block = self.source.read_window(w).map_err(read_err)?;
        self.runs.build(&block.cells, w.rows, w.cols);
        self.row_areas(grid, w);
        self.read_layers(w)?;
        self.tally_cells(engine, w, block.cells.as_slice())
    }

    /// Reads window `w` of every layer into `self.values` (runs and row areas computed).
    fn read_layers(&mut self, w: Window) -> Result<(), ZonalError> {
        if self.layers.is_empty() {
            return Ok(());
        }
        self.blocks.clear();
        for src in self.layers.iter_mut() {
            let err = |e, src: &dyn ValueSource| ZonalError::LayerRead {
                layer: src.info().name.clone(),
                window: w,
                source: Box::new(e),
            };
            let block = match src.read_values(w) {
                Ok(b) => b,
                Err(e) => return Err(err(e, src.as_ref())),
            };
            if block.cells.len() != w.len() {
                let e = CoreError::CellCountMismatch {
                    got: block.cells.len(),
                    expected: w.len(),
                    rows: w.rows,
                    cols: w.cols,
                };
                return Err(err(e, src.as_ref()));
            }
            self.blocks.push(block.cells);
        }
        let runs = &self.runs;
        self.values.build(
            &self.blocks,
            w.cols,
            &runs.row_ptr,
            &runs.starts,
            &self.scaled,
        );
        Ok(())
    }

    /// Per row of window `w`: the exact units of a whole cell and the cell area × 2⁴⁰.
    fn row_areas(&mut self, grid: &Grid, w: Window) {
        self.full.clear();
        self.scaled.clear();
        for r in w.row_off..w.row_end() {
            let a = grid.cell_area_m2(r as i64).0;
            self.full.push(ExactArea::from_m2(a).0);
            // Multiplying by a power of two is exact, so f × (a × 2⁴⁰) rounds exactly as
            // ExactArea::from_m2(f × a) does: cells agree with the documented contract.
            self.scaled.push(a * SCALE);
        }
    }

    /// [`Worker::tally_hits`], with weighted sums when there are layers.
    fn tally_cells<C: CellView + ?Sized>(
        &mut self,
        engine: &Engine,
        w: Window,
        cells: &C,
    ) -> Result<Vec<(usize, ZoneTally)>, ZonalError> {
        if self.layers.is_empty() {
            self.tally_hits::<C, false>(engine, w, cells)
        } else {
            self.tally_hits::<C, true>(engine, w, cells)
        }
    }

    /// Tallies the zones of `self.hits` over window `w`, whose class runs are in `self.runs`,
    /// cell areas in `self.full` and `self.scaled`, and cells in `cells` (row-major over `w`).
    /// With `SUMS`, also the weighted sums of the layers (`self.layer_windows`) into
    /// `self.sums_out`; without, the value code is compiled out.
    fn tally_hits<C: CellView + ?Sized, const SUMS: bool>(
        &mut self,
        engine: &Engine,
        w: Window,
        cells: &C,
    ) -> Result<Vec<(usize, ZoneTally)>, ZonalError> {
        if SUMS {
            self.vacc
                .reserve(NODATA_SLOT + 1 + self.runs.others.len(), self.layers.len());
        }
        // Projected grids: one cell area for all rows, so counts are flushed once per zone.
        let full_constant = self.full.iter().all(|f| *f == self.full[0]);
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
            // Sparse coverage: boundary cells with their fractions, runs of whole cells
            // between them (no per-cell buffer). Fractions equal the dense ones bit for bit.
            engine.prepared[z].sparse_into(sub, &mut self.cov);
            let base = sub.col_off - w.col_off;
            let (acc, runs, cov) = (&mut self.acc, &self.runs, &self.cov);
            let (vacc, vw) = (&mut self.vacc, &self.values);
            for ri in 0..sub.rows {
                let br = sub.row_off + ri - w.row_off;
                let row0 = br * w.cols + base;
                let scaled = self.scaled[br];
                let full = self.full[br];
                cov.for_each_span(ri, |span| match span {
                    Span::Run { c0, c1, f } => {
                        if f == 1.0 {
                            // Interior cells only count, per class run; the count is
                            // multiplied by the exact cell area once per row (per zone and
                            // window on projected grids). Their values come from the
                            // layers' sums per class run (cell by cell where a run is clipped).
                            if SUMS {
                                let (c0, c1) = (base + c0, base + c1);
                                runs.for_each_run(br, c0, c1, |run, key, lo, hi, whole| {
                                    acc.count_key(key, (hi - lo) as u64, &runs.others);
                                    if key as usize != NODATA_SLOT {
                                        let (k, cols) = (key as usize, (br, lo, hi));
                                        vacc.add_run(k, vw, run, whole, cols, full, scaled, w);
                                    }
                                });
                            } else {
                                runs.count(br, base + c0, base + c1, acc);
                            }
                        } else if f != 0.0 {
                            let fx = f * scaled;
                            let units = to_units(fx);
                            if units != 0 {
                                for i in row0 + c0..row0 + c1 {
                                    let cell = cells.cell(i);
                                    acc.add(cell, units);
                                    if SUMS {
                                        if let Some(key) = runs.value_key(cell) {
                                            vacc.add_cell(key, vw, i, units, fx, w);
                                        }
                                    }
                                }
                            }
                        }
                    }
                    Span::Cell { c, f } => {
                        let cell = cells.cell(row0 + c);
                        if f == 1.0 {
                            acc.count(cell);
                            if SUMS {
                                if let Some(key) = runs.value_key(cell) {
                                    vacc.add_cell(key, vw, row0 + c, full, scaled, w);
                                }
                            }
                        } else if f != 0.0 {
                            let fx = f * scaled;
                            let units = to_units(fx);
                            if units != 0 {
                                acc.add(cell, units);
                                if SUMS {
                                    if let Some(key) = runs.value_key(cell) {
                                        vacc.add_cell(key, vw, row0 + c, units, fx, w);
                                    }
                                }
                            }
                        }
                    }
                });
                if !full_constant {
                    acc.flush_counts(self.full[br]);
                }
            }
            if full_constant {
                self.acc.flush_counts(self.full[0]);
            }
            if let Some(t) = self.acc.drain() {
                out.push((z, t));
            }
            if SUMS {
                if let Some(p) = self.vacc.take_problem() {
                    return Err(self.problem_error(&engine.ids[z], p));
                }
                let others = &self.runs.others;
                if let Some(sums) = self.vacc.drain(|k| class_of_key(k, others)) {
                    self.sums_out.push((z, sums));
                }
            }
        }
        Ok(out)
    }

    /// The error for `problem` met in zone `zone`.
    fn problem_error(&self, zone: &str, problem: Problem) -> ZonalError {
        match problem {
            Problem::Overflow { key, layer } => weighted_error(CoreError::WeightedOverflow {
                zone: zone.to_string(),
                class: class_of_key(key, &self.runs.others),
                layer: self.layers[layer].info().name.clone(),
            }),
            Problem::TooLarge {
                layer,
                row,
                col,
                value,
            } => ZonalError::ValueTooLarge {
                layer: self.layers[layer].info().name.clone(),
                zone: zone.to_string(),
                row,
                col,
                value,
                limit: MAX_CELL_VALUE_M2,
            },
        }
    }
}

/// The class of a run key (see [`RowRuns`]); not nodata.
fn class_of_key(key: usize, others: &[ClassCode]) -> ClassCode {
    if key < NODATA_SLOT {
        key as ClassCode
    } else {
        others[key - NODATA_SLOT - 1]
    }
}

/// Read access to the cells of one window, row-major.
trait CellView {
    /// The cell at flat index `i`.
    fn cell(&self, i: usize) -> Option<ClassCode>;
}

impl CellView for [Option<ClassCode>] {
    #[inline]
    fn cell(&self, i: usize) -> Option<ClassCode> {
        self[i]
    }
}

/// The cells of a [`ByteBlock`](gep_core::raster::ByteBlock).
struct ByteCells<'a> {
    indices: &'a [u8],
    palette: &'a [Option<ClassCode>; 256],
}

impl CellView for ByteCells<'_> {
    #[inline]
    fn cell(&self, i: usize) -> Option<ClassCode> {
        self.palette[usize::from(self.indices[i])]
    }
}

/// Rounds a scaled area to fixed-point units exactly as [`ExactArea::from_m2`] does,
/// through i64 when it fits (a native conversion, unlike f64 → i128).
#[inline]
pub(crate) fn to_units(x: f64) -> i128 {
    let r = x.round();
    if r.abs() < 9.0e18 {
        r as i64 as i128
    } else {
        r as i128
    }
}

/// The cells of one window as runs of equal class per row, so interior spans are counted
/// per run rather than per cell (each cell lies in one zone per level, and every level
/// counts it).
#[derive(Default)]
struct RowRuns {
    cols: usize,
    /// CSR: the runs of row `r` are `[row_ptr[r], row_ptr[r + 1])`.
    row_ptr: Vec<u32>,
    /// First column of each run.
    starts: Vec<u32>,
    /// Class key of each run: a code in 0..=255, [`NODATA_SLOT`], or `257 + i` for
    /// `others[i]`.
    keys: Vec<u32>,
    others: Vec<ClassCode>,
}

impl RowRuns {
    fn build(&mut self, cells: &[Option<ClassCode>], rows: usize, cols: usize) {
        self.cols = cols;
        self.row_ptr.clear();
        self.starts.clear();
        self.keys.clear();
        self.others.clear();
        self.row_ptr.push(0);
        for r in 0..rows {
            let row = &cells[r * cols..(r + 1) * cols];
            if !self.push_row_fast(row) {
                self.push_row_slow(row);
            }
            self.row_ptr.push(self.starts.len() as u32);
        }
    }

    /// Builds the runs from one byte per cell: `indices` into `palette`.
    fn build_bytes(
        &mut self,
        indices: &[u8],
        palette: &[Option<ClassCode>; 256],
        rows: usize,
        cols: usize,
    ) {
        self.cols = cols;
        self.row_ptr.clear();
        self.starts.clear();
        self.keys.clear();
        self.others.clear();
        // The key of each byte: its class slot, or `NODATA_SLOT + 1 + i` for `others[i]`.
        let mut table = [0u32; 256];
        for (k, &cell) in table.iter_mut().zip(palette) {
            *k = self.key_of(cell);
        }
        self.row_ptr.push(0);
        for r in 0..rows {
            self.push_row_bytes(&indices[r * cols..(r + 1) * cols], &table);
            self.row_ptr.push(self.starts.len() as u32);
        }
    }

    /// Appends the runs of one row of bytes, `table` giving each byte's key. Eight bytes at a
    /// time are compared with their left neighbours; only columns where the byte changes are
    /// visited, and a run starts there when the key changes too.
    fn push_row_bytes(&mut self, row: &[u8], table: &[u32; 256]) {
        let Some(&first) = row.first() else {
            return;
        };
        let mut prev = table[usize::from(first)];
        self.starts.push(0);
        self.keys.push(prev);
        let mut visit = |c: usize, starts: &mut Vec<u32>, keys: &mut Vec<u32>| {
            let key = table[usize::from(row[c])];
            if key != prev {
                starts.push(c as u32);
                keys.push(key);
                prev = key;
            }
        };
        let mut c = 1;
        while c + 8 <= row.len() {
            let here = u64::from_le_bytes(row[c..c + 8].try_into().expect("8 bytes"));
            let left = u64::from_le_bytes(row[c - 1..c + 7].try_into().expect("8 bytes"));
            // Byte i of `diff` is non-zero where column c + i differs from its left neighbour.
            let mut diff = here ^ left;
            while diff != 0 {
                let i = (diff.trailing_zeros() / 8) as usize;
                visit(c + i, &mut self.starts, &mut self.keys);
                diff &= !(0xffu64 << (8 * i));
            }
            c += 8;
        }
        for c in c..row.len() {
            if row[c] != row[c - 1] {
                visit(c, &mut self.starts, &mut self.keys);
            }
        }
    }

    /// Appends the runs of `row` when all its codes are in 0..=255 or nodata, branch-free:
    /// every cell is written to the slot after the last run, and the slot is kept only when
    /// the cell starts a run. Returns `false` (appending nothing) when a code is outside.
    fn push_row_fast(&mut self, row: &[Option<ClassCode>]) -> bool {
        let n0 = self.starts.len();
        self.starts.resize(n0 + row.len(), 0);
        self.keys.resize(n0 + row.len(), 0);
        let (starts, keys) = (&mut self.starts[n0..], &mut self.keys[n0..]);
        let mut n = 0usize;
        let mut prev = u32::MAX;
        let mut other = false;
        for (c, &cell) in row.iter().enumerate() {
            let key = match cell {
                Some(v) if (v as u32) < 256 => v as u32,
                None => NODATA_SLOT as u32,
                Some(_) => OTHER_KEY,
            };
            other |= key == OTHER_KEY;
            starts[n] = c as u32;
            keys[n] = key;
            n += usize::from(key != prev);
            prev = key;
        }
        self.starts.truncate(if other { n0 } else { n0 + n });
        self.keys.truncate(self.starts.len());
        !other
    }

    /// The run key of a cell: its class slot, or `NODATA_SLOT + 1 + i` for `others[i]` (codes
    /// without a slot, registered on first sight).
    #[inline]
    fn key_of(&mut self, cell: Option<ClassCode>) -> u32 {
        if let Some(s) = ClassAcc::slot(cell) {
            return s as u32;
        }
        let code = cell.unwrap_or_default();
        let i = match self.others.iter().position(|&o| o == code) {
            Some(i) => i,
            None => {
                self.others.push(code);
                self.others.len() - 1
            }
        };
        (NODATA_SLOT + 1 + i) as u32
    }

    /// Appends the runs of `row`, any codes.
    fn push_row_slow(&mut self, row: &[Option<ClassCode>]) {
        let n0 = self.starts.len();
        for (c, &cell) in row.iter().enumerate() {
            let key = self.key_of(cell);
            if self.starts.len() == n0 || self.keys.last() != Some(&key) {
                self.starts.push(c as u32);
                self.keys.push(key);
            }
        }
    }

    /// The run key of a cell for the weighted sums: its class slot, or `NODATA_SLOT + 1 + i`
    /// for `others[i]`; `None` for nodata, which no sum includes. Every code of the window
    /// is in `others` after a build.
    #[inline]
    fn value_key(&self, cell: Option<ClassCode>) -> Option<usize> {
        match cell {
            None => None,
            Some(c) if (0..256).contains(&c) => Some(c as usize),
            Some(c) => self
                .others
                .iter()
                .position(|&o| o == c)
                .map(|i| NODATA_SLOT + 1 + i),
        }
    }

    /// Calls `f(run, key, lo, hi, whole)` for the class runs of columns `[c0, c1)` of row
    /// `r`, clipped to `[lo, hi)`, left to right: `run` indexes `starts`, `whole` says that
    /// the run lies inside `[c0, c1)`.
    #[inline]
    fn for_each_run(
        &self,
        r: usize,
        c0: usize,
        c1: usize,
        mut f: impl FnMut(usize, u32, usize, usize, bool),
    ) {
        let (a, b) = (self.row_ptr[r] as usize, self.row_ptr[r + 1] as usize);
        let starts = &self.starts[a..b];
        let keys = &self.keys[a..b];
        let (c0, c1) = (c0 as u32, c1 as u32);
        let mut i = starts.partition_point(|&s| s <= c0) - 1;
        let mut lo = c0;
        loop {
            let end = starts.get(i + 1).copied().unwrap_or(self.cols as u32);
            let hi = end.min(c1);
            let whole = lo == starts[i] && hi == end;
            f(a + i, keys[i], lo as usize, hi as usize, whole);
            if end >= c1 {
                break;
            }
            lo = end;
            i += 1;
        }
    }

    /// Counts the whole cells of columns `[c0, c1)` of row `r` into `acc`.
    #[inline]
    fn count(&self, r: usize, c0: usize, c1: usize, acc: &mut ClassAcc) {
        let (a, b) = (self.row_ptr[r] as usize, self.row_ptr[r + 1] as usize);
        let starts = &self.starts[a..b];
        let keys = &self.keys[a..b];
        let (c0, c1) = (c0 as u32, c1 as u32);
        // The run holding c0: the last one starting at or before it (the first starts at 0).
        let mut i = starts.partition_point(|&s| s <= c0) - 1;
        let mut lo = c0;
        loop {
            let end = starts.get(i + 1).copied().unwrap_or(self.cols as u32);
            let hi = end.min(c1);
            acc.count_key(keys[i], (hi - lo) as u64, &self.others);
            if end >= c1 {
                break;
            }
            lo = end;
            i += 1;
        }
    }
}

/// Class accumulators for one zone in one window: dense for codes 0..=255 (CLCD,
/// WorldCover and most land-cover legends) with slot 256 for nodata, a short list for other
/// codes. Avoids map lookups per cell.
struct ClassAcc {
    /// Fixed-point units per slot.
    dense: Vec<i128>,
    /// Slots with a non-zero unit sum.
    touched: Vec<u16>,
    /// Whole (interior) cells per slot, not yet converted to units.
    counts: Vec<u64>,
    /// Slots with a non-zero count.
    counted: Vec<u16>,
    /// Codes outside 0..=255, with their units and whole-cell counts.
    other: Vec<(ClassCode, i128, u64)>,
}

const NODATA_SLOT: usize = 256;

/// [`RowRuns`] build: a cell whose code is outside 0..=255 (looked up in `others`).
const OTHER_KEY: u32 = u32::MAX - 1;

impl ClassAcc {
    fn new() -> ClassAcc {
        ClassAcc {
            dense: vec![0; 257],
            touched: Vec::new(),
            counts: vec![0; 257],
            counted: Vec::new(),
            other: Vec::new(),
        }
    }

    /// The dense slot of a cell, or `None` for codes kept in `other`.
    #[inline]
    fn slot(cell: Option<ClassCode>) -> Option<usize> {
        match cell {
            Some(c) if (0..256).contains(&c) => Some(c as usize),
            Some(_) => None,
            None => Some(NODATA_SLOT),
        }
    }

    fn other_entry(&mut self, c: ClassCode) -> &mut (ClassCode, i128, u64) {
        let i = match self.other.iter().position(|e| e.0 == c) {
            Some(i) => i,
            None => {
                self.other.push((c, 0, 0));
                self.other.len() - 1
            }
        };
        &mut self.other[i]
    }

    /// Adds `units` (> 0) to `cell`'s class, or to nodata.
    #[inline]
    fn add(&mut self, cell: Option<ClassCode>, units: i128) {
        match Self::slot(cell) {
            Some(s) => {
                let slot = &mut self.dense[s];
                if *slot == 0 {
                    self.touched.push(s as u16);
                }
                *slot += units;
            }
            None => self.other_entry(cell.unwrap_or_default()).1 += units,
        }
    }

    /// Counts one whole cell of `cell`'s class.
    #[inline]
    fn count(&mut self, cell: Option<ClassCode>) {
        match Self::slot(cell) {
            Some(s) => {
                let n = &mut self.counts[s];
                if *n == 0 {
                    self.counted.push(s as u16);
                }
                *n += 1;
            }
            None => self.other_entry(cell.unwrap_or_default()).2 += 1,
        }
    }

    /// Counts `n` whole cells of the class with `key` (see [`RowRuns`]).
    #[inline]
    fn count_key(&mut self, key: u32, n: u64, others: &[ClassCode]) {
        let k = key as usize;
        if k <= NODATA_SLOT {
            let c = &mut self.counts[k];
            if *c == 0 {
                self.counted.push(k as u16);
            }
            *c += n;
        } else {
            self.other_entry(others[k - NODATA_SLOT - 1]).2 += n;
        }
    }

    /// Converts counted whole cells to units, `full` units each.
    fn flush_counts(&mut self, full: i128) {
        for s in self.counted.drain(..) {
            let s = s as usize;
            let n = std::mem::take(&mut self.counts[s]);
            let slot = &mut self.dense[s];
            if *slot == 0 {
                self.touched.push(s as u16);
            }
            *slot += n as i128 * full;
        }
        for e in &mut self.other {
            e.1 += std::mem::take(&mut e.2) as i128 * full;
        }
    }

    /// Moves the sums into a [`ZoneTally`] and resets; `None` when nothing was added.
    /// Only positive sums are stored, so tallies of any split of the cells hold the same
    /// classes. Counts must have been flushed.
    fn drain(&mut self) -> Option<ZoneTally> {
        debug_assert!(self.counted.is_empty());
        if self.touched.is_empty() && self.other.is_empty() {
            return None;
        }
        let mut t = ZoneTally::default();
        for s in self.touched.drain(..) {
            let s = s as usize;
            let units = ExactArea(std::mem::take(&mut self.dense[s]));
            if units == ExactArea::ZERO {
                continue;
            }
            if s == NODATA_SLOT {
                t.nodata = units;
            } else {
                t.add_class(s as ClassCode, units);
            }
        }
        for (c, a, _) in self.other.drain(..) {
            if a != 0 {
                t.add_class(c, ExactArea(a));
            }
        }
        Some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gep_core::{CrsInfo, Level, MemRaster};
    use proptest::prelude::*;
    use std::sync::atomic::AtomicU64;

    proptest! {
        /// The per-cell shortcut rounds exactly as the documented contract does.
        #[test]
        fn units_match_exact_area(f in 0.0..=1.0f64, area in 1e-3..1e11f64) {
            prop_assert_eq!(to_units(f * (area * SCALE)), ExactArea::from_m2(f * area).0);
        }
    }

    #[derive(Default)]
    struct Count(AtomicU64, AtomicU64);
    impl Reporter for Count {
        fn start(&self, _what: &str, total: u64) {
            self.0.store(total, Ordering::Relaxed);
        }
        fn advance(&self, n: u64) {
            self.1.fetch_add(n, Ordering::Relaxed);
        }
        fn finish(&self) {}
    }

    #[test]
    fn reports_every_window_and_handles_empty_zones() {
        let g = Grid::new(0.0, 10.0, 1.0, 1.0, 10, 10, CrsInfo::projected("x")).unwrap();
        let src = MemRaster::from_fn(g, |_, _| Some(3));
        let zones = vec![Zone {
            id: "empty".into(),
            name: String::new(),
            level: Level::Village,
            parent: None,
            geometry: MultiPolygon::new(vec![]),
        }];
        let rep = Count::default();
        let opts = TallyOptions {
            window_rows: 3,
            window_cols: 4,
            threads: 2,
        };
        let t = tally(&src, &zones, &opts, &rep).unwrap();
        assert_eq!(t.zones[0], ZoneTally::default());
        assert_eq!(rep.0.load(Ordering::Relaxed), 12);
        assert_eq!(rep.1.load(Ordering::Relaxed), 12);
    }

    proptest! {
        /// Runs built from bytes equal runs built from the cells they stand for, also with
        /// repeated palette entries.
        #[test]
        fn byte_runs_match_cell_runs(
            rows in 1usize..4,
            cols in 1usize..40,
            seed in proptest::collection::vec(0u8..6, 160),
            dup in any::<bool>(),
        ) {
            let mut palette = [None; 256];
            for (i, p) in palette.iter_mut().enumerate() {
                *p = match i % 6 {
                    0 => None,
                    1 if dup => Some(7),
                    k => Some([0, 7, 300, 255, -4][k - 1]),
                };
            }
            let bytes: Vec<u8> = seed[..rows * cols].to_vec();
            let cells: Vec<Option<ClassCode>> =
                bytes.iter().map(|&b| palette[usize::from(b)]).collect();
            let (mut a, mut b) = (RowRuns::default(), RowRuns::default());
            a.build_bytes(&bytes, &palette, rows, cols);
            b.build(&cells, rows, cols);
            let decode = |r: &RowRuns| -> Vec<(u32, Option<ClassCode>)> {
                (0..r.starts.len())
                    .map(|i| {
                        let k = r.keys[i] as usize;
                        let code = match k {
                            NODATA_SLOT => None,
                            k if k < NODATA_SLOT => Some(k as ClassCode),
                            k => Some(r.others[k - NODATA_SLOT - 1]),
                        };
                        (r.starts[i], code)
                    })
                    .collect()
            };
            prop_assert_eq!(&a.row_ptr, &b.row_ptr);
            prop_assert_eq!(decode(&a), decode(&b));
        }
    }

    /// A source without byte reads: the tally takes the `Option<ClassCode>` path.
    #[derive(Clone)]
    struct CellsOnly(MemRaster);
    impl RasterSource for CellsOnly {
        fn grid(&self) -> &Grid {
            self.0.grid()
        }
        fn read_window(&mut self, window: Window) -> Result<gep_core::Block, gep_core::CoreError> {
            self.0.read_window(window)
        }
        fn try_clone_source(&self) -> Result<Box<dyn RasterSource>, gep_core::CoreError> {
            Ok(Box::new(self.clone()))
        }
    }

    #[test]
    fn byte_and_cell_paths_agree() {
        let g = Grid::new(0.0, 40.0, 1.0, 1.0, 40, 40, CrsInfo::projected("x")).unwrap();
        // Runs, nodata and codes beyond 0..=255; 40 distinct values in the few-value raster
        // (byte path), 1600 in the other (MemRaster falls back to cells).
        let few = MemRaster::from_fn(g.clone(), |r, c| match (r * 7 + c / 3) % 10 {
            0 => None,
            k if k < 5 => Some(k as i32),
            k => Some(1000 + k as i32 * 37 - (r % 4) as i32),
        });
        let many = MemRaster::from_fn(g.clone(), |r, c| {
            ((r + c) % 9 != 0).then_some((r * 40 + c) as i32 % 400 - 50)
        });
        let tri = |dx: f64| {
            let ring = vec![
                (2.3 + dx, 1.7),
                (37.9, 5.1 + dx),
                (11.2, 38.6),
                (2.3 + dx, 1.7),
            ];
            MultiPolygon::new(vec![geo_types::Polygon::new(ring.into(), vec![])])
        };
        let zones: Vec<Zone> = (0..3)
            .map(|i| Zone {
                id: i.to_string(),
                name: String::new(),
                level: Level::Village,
                parent: None,
                geometry: tri(i as f64 * 3.1),
            })
            .collect();
        assert!(few
            .clone()
            .read_window_bytes(g.full_window())
            .unwrap()
            .is_some());
        assert!(many
            .clone()
            .read_window_bytes(g.full_window())
            .unwrap()
            .is_none());
        for (rows, cols) in [(7, 9), (40, 40)] {
            let opts = TallyOptions {
                window_rows: rows,
                window_cols: cols,
                threads: 2,
            };
            for src in [few.clone(), many.clone()] {
                let a = tally(&src, &zones, &opts, &gep_core::NoProgress).unwrap();
                let b = tally(&CellsOnly(src), &zones, &opts, &gep_core::NoProgress).unwrap();
                assert_eq!(a, b);
                assert!(a.zones.iter().all(|z| z.classes.len() > 3));
            }
        }
    }

    #[test]
    fn default_window_sizes() {
        let g = Grid::new(0.0, 10.0, 1.0, 1.0, 10, 10, CrsInfo::projected("x")).unwrap();
        let src = MemRaster::from_fn(g, |_, _| None);
        let o = TallyOptions::default();
        assert_eq!(
            o.window_size(&src.clone().with_block_size(256, 256)),
            (512, 512)
        );
        assert_eq!(
            o.window_size(&src.clone().with_block_size(1, 40_000)),
            (512, 1024)
        );
        assert_eq!(o.window_size(&src.with_block_size(300, 128)), (600, 512));
    }
}
