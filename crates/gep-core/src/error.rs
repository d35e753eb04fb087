//! The one error type of `gep-core`.

use thiserror::Error;

/// Everything that can go wrong in the core data model.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CoreError {
    /// An extent table used with a zone list other than the one it was computed for.
    #[error("the extent table was computed for another zone list: at position {position} it has {table}, the zones given have {given}; compute the extent over this zone list, or pass the zones in the order they were tallied (reordering or filtering zones after the tally would move areas and values between zones)")]
    ExtentZones {
        /// The first position where they differ.
        position: usize,
        /// What the table has there.
        table: String,
        /// What the zone list has there.
        given: String,
    },
    /// A grid was described with impossible numbers.
    #[error("invalid grid: {reason}; fix the raster's geotransform or the grid parameters")]
    InvalidGrid {
        /// What is wrong, with the offending values.
        reason: String,
    },
    /// A window reaches beyond the grid.
    #[error("window rows {row_off}..{row_end}, cols {col_off}..{col_end} is outside the {rows} x {cols} grid")]
    WindowOutOfGrid {
        /// First row of the window.
        row_off: usize,
        /// One past the last row.
        row_end: usize,
        /// First column of the window.
        col_off: usize,
        /// One past the last column.
        col_end: usize,
        /// Rows in the grid.
        rows: usize,
        /// Columns in the grid.
        cols: usize,
    },
    /// An in-memory raster was given the wrong number of cells.
    #[error("raster data holds {got} cells but the grid has {rows} x {cols} = {expected}")]
    CellCountMismatch {
        /// Cells supplied.
        got: usize,
        /// Cells expected.
        expected: usize,
        /// Grid rows.
        rows: usize,
        /// Grid columns.
        cols: usize,
    },
    /// Two zones share one id.
    #[error("zone id {id:?} appears twice (levels {first_level} and {second_level}); ids must be unique across all loaded zones: fix the id field or drop the duplicate feature")]
    DuplicateZone {
        /// The repeated id.
        id: String,
        /// Level of the first occurrence.
        first_level: String,
        /// Level of the second occurrence.
        second_level: String,
    },
    /// A zone names a parent that is not loaded, or none can be derived.
    #[error("zone {id:?} ({level}) has no parent among the loaded zones{}: load the {expected} layer that contains it, fix its parent field, or drop it", parent.as_ref().map(|p| format!(" (its parent field says {p:?})")).unwrap_or_default())]
    OrphanZone {
        /// The zone's id.
        id: String,
        /// The zone's level.
        level: String,
        /// The parent the zone asked for, if any.
        parent: Option<String>,
        /// The level(s) expected to hold the parent.
        expected: String,
    },
    /// A parent is not of a higher level than its child.
    #[error("zone {id:?} ({level}) has parent {parent:?} of level {parent_level}, which is not above it; a parent must be a county for townships and a county or township for villages")]
    ParentLevel {
        /// The child zone.
        id: String,
        /// The child's level.
        level: String,
        /// The parent zone.
        parent: String,
        /// The parent's level.
        parent_level: String,
    },
    /// An external raster source (GDAL in `gep-io`, or a caller's own) failed to read cells.
    /// The message is the source's own, which names the file (so it is not repeated here).
    #[error("{message}")]
    SourceRead {
        /// The file or source that failed (a path for files).
        source_name: String,
        /// What went wrong, where, and how to fix it, as the source reported it.
        message: String,
    },
    /// An unknown level name.
    #[error("unknown zone level {0:?}: use county, township (or street) or village")]
    UnknownLevel(String),
    /// A data file (catalogue, crosswalk, coefficient set, deflator) holds an invalid entry.
    #[error("{file}:{line}:{column}: {message}; fix: {fix}")]
    DataFile {
        /// The file (a path, or `builtin:ID` for embedded data).
        file: String,
        /// 1-based line of the offending entry.
        line: usize,
        /// 1-based column (CSV: the field number, its header named in `message`).
        column: usize,
        /// What is wrong, with the offending value.
        message: String,
        /// What to change.
        fix: String,
    },
    /// A data file could not be read.
    #[error("cannot read {path}: {source}; check the path (relative paths are relative to the config file) and permissions")]
    Io {
        /// The path.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A built-in id that does not exist (and is not a readable file).
    #[error("unknown {kind} {id:?}: not a built-in id and not a file path ending in .csv; built-in ids are: {available}")]
    UnknownBuiltin {
        /// "crosswalk" or "coefficient set".
        kind: &'static str,
        /// The id asked for.
        id: String,
        /// The built-in ids, comma-separated.
        available: String,
    },
    /// A deflator table lacks a year needed to restate prices.
    #[error("{file}: the deflator has no index for year {year} (it covers {available}); fix: add a row `{year},<index>` to the deflator file or choose a covered target price year")]
    DeflatorYear {
        /// The deflator file.
        file: String,
        /// The missing year.
        year: i32,
        /// The years it has.
        available: String,
    },
    /// Land-cover classes present in the extent have no crosswalk entry.
    #[error("{count} land-cover class(es) are not mapped by crosswalk {crosswalk}: {list}; fix: add a row `code,ecosystem_type,share,note` for each to a crosswalk file (or declare the code as the raster's nodata)")]
    UnmappedClasses {
        /// The crosswalk (or stock set) id.
        crosswalk: String,
        /// How many.
        count: usize,
        /// `code (area m²)` items.
        list: String,
    },
    /// Ecosystem type × service pairs without a value nor an explicit NA.
    #[error("coefficient set {set} has no value and no explicit NA for {count} ecosystem type x service pair(s) reachable through crosswalk {crosswalk}: {list}; fix: add a row `ecosystem_type,service,value,unit,...` (value NA when the service does not apply) to the coefficient file")]
    CoverageGaps {
        /// The coefficient set id.
        set: String,
        /// The crosswalk id.
        crosswalk: String,
        /// How many.
        count: usize,
        /// `type/service` items.
        list: String,
    },
    /// Accounts cannot be computed or combined as asked.
    #[error("{0}")]
    Account(String),
    /// Two weighted-sum tables cannot be merged: they are over other zones or other layers.
    #[error("weighted-sum tables over different zones or layers cannot be merged: {reason}; merge only partial tables of one tally (same zone list, same layers in the same order)")]
    WeightedTables {
        /// How they differ.
        reason: String,
    },
    /// A weighted sum (or an area without data) left the range of its fixed-point integer.
    #[error("the weighted sum of layer {layer:?} over class {class} of zone {zone:?} exceeds the exact accumulator's range (±1.5e26 unit·m²); check the layer's values and unit (a missing scale factor or nodata value?)")]
    WeightedOverflow {
        /// The zone.
        zone: String,
        /// The land-cover class.
        class: crate::raster::ClassCode,
        /// The layer's name.
        layer: String,
    },
    /// A statistics table has no rows for the run's accounting year.
    #[error("{file}: the statistics table has no rows for the accounting year {run_year} (it has rows for {table_years}); fix: add the {run_year} figures to the table, or set the run's year to the table's")]
    StatisticsYear {
        /// The table (path or name).
        file: String,
        /// The run's accounting year.
        run_year: i32,
        /// The years the table has, comma-separated.
        table_years: String,
    },
    /// An area given as an allocation key is negative or not finite.
    #[error("the area of {ecosystem_type} in zone {zone_id:?} is {area_m2} m²: a key area must be finite and >= 0; fix the extent or the area table")]
    InvalidArea {
        /// The zone.
        zone_id: String,
        /// The ecosystem type.
        ecosystem_type: String,
        /// The area given.
        area_m2: f64,
    },
    /// A roll-up would drop the rows of zones whose parent skips the level rolled into.
    #[error("rolling up into {level}: {count} zone(s) have a parent above the {level} level (or none among the zones), so their values would be dropped from every {level}: {zones}; load the missing {level} zones (or give these zones their {level} as parent), or roll these zones up separately")]
    RollUpSkipsLevel {
        /// The level rolled into.
        level: String,
        /// How many zones.
        count: usize,
        /// The first of them, with their parents.
        zones: String,
    },
    /// A class code that is neither an integer nor in the recode table.
    #[error("class code {code:?} is neither a code of digits nor listed in recode table {table} (lettered codes it knows: {known}); add a row `{code},<code of digits>` to a copy of the table")]
    UnknownClassCode {
        /// The code as written.
        code: String,
        /// The table consulted.
        table: String,
        /// Its lettered codes.
        known: String,
    },
    /// The equivalent value D was overridden without the price year a total needs.
    #[error("{message}")]
    EquivalentValueYear {
        /// What is missing or contradictory, and the fix.
        message: String,
    },
    /// Two years cannot be compared as asked (ΔGEP decomposition, transitions).
    #[error("{problem}; fix: {fix}")]
    Change {
        /// What does not fit, naming the zone, ecosystem type, service or year.
        problem: String,
        /// What to do.
        fix: String,
    },
    /// A service needs a parameter or price the parameter set does not hold.
    #[error("{service}: no {parameter} in parameter set {set} for {looked_for} (looked up in that order); add a row `{service},{parameter},<key>,<value>,<unit>,...` to a copy of the set (there is no default)")]
    MissingParameter {
        /// The service.
        service: String,
        /// The parameter.
        parameter: String,
        /// The keys tried, most specific first.
        looked_for: String,
        /// The set id and origin.
        set: String,
    },
    /// A unit that cannot be read, or units that do not fit together.
    #[error(transparent)]
    Unit(Box<crate::physical_unit::UnitError>),
}

impl From<crate::physical_unit::UnitError> for CoreError {
    fn from(e: crate::physical_unit::UnitError) -> Self {
        CoreError::Unit(Box::new(e))
    }
}
