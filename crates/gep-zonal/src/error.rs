//! The one error type of `gep-zonal`.

use gep_core::{CoreError, Window};
use thiserror::Error;

/// Everything that can go wrong while computing coverage, tallies and checks.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ZonalError {
    /// A polygon vertex is NaN or infinite (usually a failed reprojection).
    #[error("zone {}: vertex ({x}, {y}) is not finite; check the boundary's reprojection or drop the feature", zone.as_deref().unwrap_or("<unnamed>"))]
    NonFiniteCoordinate {
        /// The zone whose boundary holds the vertex, when known.
        zone: Option<String>,
        /// X coordinate of the vertex.
        x: f64,
        /// Y coordinate of the vertex.
        y: f64,
    },
    /// A zone spans vastly more cells than the grid: almost surely not in the grid's CRS
    /// (e.g. metres tallied on a degree grid). Refused rather than walking billions of rows.
    #[error("zone {zone:?} spans {rows} x {cols} cells of a {grid_rows} x {grid_cols} grid; is it in the grid's CRS? Reproject the boundary to the raster's CRS first")]
    ZoneTooLarge {
        /// The zone.
        zone: String,
        /// Rows the zone's box spans.
        rows: i64,
        /// Columns the zone's box spans.
        cols: i64,
        /// Rows of the grid.
        grid_rows: usize,
        /// Columns of the grid.
        grid_cols: usize,
    },
    /// Reading the raster failed.
    #[error("reading raster window rows {}..{}, cols {}..{}: {source}", window.row_off, window.row_end(), window.col_off, window.col_end())]
    Raster {
        /// The window being read.
        window: Window,
        /// The reader's error (boxed: it is large and rare).
        #[source]
        source: Box<CoreError>,
    },
    /// A second reader for a worker thread could not be opened.
    #[error("opening a raster reader for a worker thread: {0}")]
    CloneSource(#[source] Box<CoreError>),
    /// The worker thread pool could not be built.
    #[error("building a pool of {threads} worker threads: {reason}")]
    ThreadPool {
        /// Threads asked for.
        threads: usize,
        /// Why rayon refused.
        reason: String,
    },
    /// A zone's parent id does not name a zone of the list given to the checks.
    #[error("zone {zone:?} names parent {parent:?}, which is not in the zone list given to the hierarchy checks; pass all levels or resolve parents first")]
    MissingParent {
        /// The child zone.
        zone: String,
        /// The parent id it names.
        parent: String,
    },
    /// The extent table was computed for another zone list (other zones, another order).
    #[error("{0}")]
    Extent(#[source] Box<CoreError>),
    /// Two years' rasters cannot be paired (different grids, a class the codec lacks, a read
    /// error while scanning their classes).
    #[error("land-cover change: {0}")]
    Transition(#[source] Box<CoreError>),
    /// A zone below the top level has no parent: the parents were not resolved.
    #[error("zone {zone:?} ({level}) has no parent although zones of a higher level are given: resolve the parents first (gep_core::resolve_parents), or the checks would have no rows for its family")]
    UnresolvedParent {
        /// The zone.
        zone: String,
        /// Its level.
        level: gep_core::Level,
    },
    /// Geometric checks were asked for, but gep-zonal was built without its
    /// `geometry-checks` feature.
    #[error("the geometric hierarchy checks (gaps, overlaps, spills) need gep-zonal's `geometry-checks` feature; enable it, or set CheckOptions::geometry = false for sum checks only")]
    GeometryChecksDisabled,
    /// Groups of zones reach beyond the zone list.
    #[error("{got} zones are grouped but {expected} zones were given; group the zones you tally")]
    TableMismatch {
        /// Zones the groups reach.
        got: usize,
        /// Zones given.
        expected: usize,
    },
    /// A continuous layer is not on the land-cover grid.
    #[error("layer {layer:?} is on a grid of {layer_grid}, not on the land-cover grid of {landcover_grid} ({why}); warp it onto the land-cover grid first (gep-io aligns each input with its declared resampling)")]
    LayerGrid {
        /// The layer's name.
        layer: String,
        /// The layer's grid, in words.
        layer_grid: String,
        /// The land-cover grid, in words.
        landcover_grid: String,
        /// How the grids differ (the first difference [`gep_core::Grid::same_cells`] finds).
        why: gep_core::CellsMismatch,
    },
    /// Two layers of one tally share a name.
    #[error("two layers are named {layer:?}; give each continuous input of a run its own name")]
    DuplicateLayer {
        /// The repeated name.
        layer: String,
    },
    /// Reading a continuous layer failed.
    #[error("reading layer {layer:?} window rows {}..{}, cols {}..{}: {source}", window.row_off, window.row_end(), window.col_off, window.col_end())]
    LayerRead {
        /// The layer's name.
        layer: String,
        /// The window being read.
        window: Window,
        /// The reader's error.
        #[source]
        source: Box<CoreError>,
    },
    /// A second reader of a layer for a worker thread could not be opened.
    #[error("opening a reader of layer {layer:?} for a worker thread: {source}")]
    CloneLayer {
        /// The layer's name.
        layer: String,
        /// The reader's error.
        #[source]
        source: Box<CoreError>,
    },
    /// A cell's value × covered area is beyond what the exact sums hold.
    #[error("layer {layer:?} has value {value:e} at row {row}, col {col} (in zone {zone:?}): value × covered cell area exceeds {limit:e} (layer unit × m²), beyond the exact accumulator's range per cell; check the layer's unit, scale factor and nodata value")]
    ValueTooLarge {
        /// The layer's name.
        layer: String,
        /// The zone covering the cell.
        zone: String,
        /// The cell's grid row.
        row: usize,
        /// The cell's grid column.
        col: usize,
        /// The cell's value.
        value: f64,
        /// The largest |value × covered area| of one cell.
        limit: f64,
    },
    /// A weighted sum overflowed, or weighted-sum tables could not be merged (the message
    /// names the zone, class and layer).
    #[error("{0}")]
    Weighted(#[source] Box<CoreError>),
}

impl ZonalError {
    /// Attaches a zone id to errors that carry one.
    pub fn with_zone(self, id: &str) -> ZonalError {
        match self {
            ZonalError::NonFiniteCoordinate { zone: None, x, y } => {
                ZonalError::NonFiniteCoordinate {
                    zone: Some(id.to_string()),
                    x,
                    y,
                }
            }
            other => other,
        }
    }
}
