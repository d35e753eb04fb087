//! The one error type of `gep-models`.

use gep_core::CoreError;
use thiserror::Error;

/// Everything that can go wrong while deriving terrain layers, combining layers or applying
/// the RUSLE helpers.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ModelError {
    /// Slope and LS need horizontal distances in the unit of elevation (metres): a grid in
    /// degrees would give slopes off by a factor of ~10⁵.
    #[error("layer {layer:?} is on a geographic grid ({crs}); slope and LS need a projected grid in metres: reproject the DEM (e.g. to the county's CGCS2000 / Gauss-Krüger zone) first")]
    GeographicGrid {
        /// The layer refused.
        layer: String,
        /// The grid's CRS description.
        crs: String,
    },
    /// D8 routing and the LS factor assume square cells (one cell size for both axes).
    #[error("layer {layer:?} has {cell_width} x {cell_height} cells; D8 routing and LS need square cells: resample the DEM to square cells first")]
    NonSquareCells {
        /// The layer refused.
        layer: String,
        /// Cell width, CRS units.
        cell_width: f64,
        /// Cell height, CRS units.
        cell_height: f64,
    },
    /// Whole-DEM routing would need more memory than the caller allows.
    #[error("routing the {rows} x {cols} DEM {layer:?} ({cells} cells) needs about {estimate_bytes} bytes ({bytes_per_cell} bytes per cell), above the memory budget of {budget_bytes} bytes: raise the budget, coarsen the DEM, or route a smaller area (e.g. one county or watershed at a time)")]
    OverMemoryBudget {
        /// The DEM layer.
        layer: String,
        /// DEM rows.
        rows: usize,
        /// DEM columns.
        cols: usize,
        /// `rows × cols`.
        cells: u64,
        /// The estimate per cell ([`ROUTING_BYTES_PER_CELL`](crate::terrain::ROUTING_BYTES_PER_CELL)).
        bytes_per_cell: u64,
        /// The whole estimate, bytes.
        estimate_bytes: u64,
        /// The caller's budget, bytes.
        budget_bytes: u64,
    },
    /// Layers that must share one grid do not.
    #[error("layer {layer:?} is on grid {found} but layer {expected_layer:?} is on grid {expected}; bring all inputs onto one grid (same origin, cell size, size and CRS) first")]
    GridMismatch {
        /// The layer that differs.
        layer: String,
        /// Its grid, described.
        found: String,
        /// The layer whose grid is the reference.
        expected_layer: String,
        /// The reference grid, described.
        expected: String,
    },
    /// A supplied LS raster holds a value outside the plausible range.
    #[error("supplied LS layer {layer:?} has {value} at row {row}, column {col}; LS must lie in 0..={max} (values above are beyond any published LS algorithm): check the raster's unit and scale")]
    LsOutOfRange {
        /// The LS layer.
        layer: String,
        /// Row of the first offending cell.
        row: usize,
        /// Column of the first offending cell.
        col: usize,
        /// The value found.
        value: f64,
        /// The largest value accepted.
        max: f64,
    },
    /// A flow-direction layer holds something other than a D8 code 0-7.
    #[error("flow direction layer {layer:?} has {value} at row {row}, column {col}; D8 codes are the integers 0-7 (0 = east, counter-clockwise, as pygeoprocessing writes them)")]
    InvalidFlowDirection {
        /// The layer.
        layer: String,
        /// Row of the first offending cell.
        row: usize,
        /// Column of the first offending cell.
        col: usize,
        /// The value found.
        value: f64,
    },
    /// A model parameter is out of its domain.
    #[error("parameter {name} = {value} is invalid: {reason}")]
    InvalidParameter {
        /// The parameter's name as written in configs (`l_max`, `ndvi_soil`...).
        name: &'static str,
        /// The value given.
        value: f64,
        /// What is expected.
        reason: &'static str,
    },
    /// A derived layer was asked to combine no inputs.
    #[error("derived layer {layer:?} has no inputs; give it at least one")]
    NoInputs {
        /// The derived layer.
        layer: String,
    },
    /// A model needs a layer the run does not have.
    #[error("{model}: no layer {layer:?} for its {role} (layers: {}); add the input or fix the name", available.join(", "))]
    MissingLayer {
        /// The model.
        model: &'static str,
        /// What the layer is for (`precipitation`, `R·K·LS`...).
        role: &'static str,
        /// The name asked for.
        layer: String,
        /// The layers there are.
        available: Vec<String>,
    },
    /// A layer's unit is not the one the model's formula needs.
    #[error("{model}: layer {layer:?} ({role}) is in {unit:?} but the formula needs {expected:?}; declare the input in {expected} (with `scale` if the file is in another unit)")]
    LayerUnit {
        /// The model.
        model: &'static str,
        /// What the layer is for.
        role: &'static str,
        /// The layer.
        layer: String,
        /// Its declared unit.
        unit: String,
        /// The unit the formula needs.
        expected: String,
    },
    /// A class present in a zone has no value of a parameter the model needs.
    #[error("{model}: land-cover class {class} (in zone {zone}) has no {parameter}; add a row for class {class} to the parameter table (there is no default)")]
    MissingParameter {
        /// The model.
        model: &'static str,
        /// The parameter.
        parameter: &'static str,
        /// The class without a value.
        class: gep_core::ClassCode,
        /// A zone where the class occurs.
        zone: String,
    },
    /// A parameter value is outside its domain.
    #[error("{model}: {parameter} = {value} for land-cover class {class} is invalid: expected {expected}")]
    Parameter {
        /// The model.
        model: &'static str,
        /// The parameter.
        parameter: &'static str,
        /// The class.
        class: gep_core::ClassCode,
        /// The value found.
        value: f64,
        /// What is expected.
        expected: &'static str,
    },
    /// The extent and weighted-sum tables given to a model are of different zone lists.
    #[error("the extent table and the weighted-sum table list different zones; tally both in one pass over the same zones")]
    TablesDiffer,
    /// A parameter table cannot be read.
    #[error("{file} line {line}: {message}")]
    Table {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// What is wrong and the fix.
        message: String,
    },
    /// A model or valuation setting is missing or contradictory.
    #[error("{what}")]
    InvalidConfig {
        /// What is wrong and the fix.
        what: String,
    },
    /// Reading or building a layer in `gep-core` failed.
    #[error(transparent)]
    Core(#[from] CoreError),
}
