//! # gep-zonal
//!
//! Exact pixel-polygon coverage fractions and per-zone extent tallies for GEP accounting.
//! Pure Rust: no GDAL, no PROJ. Zones must already be in the raster grid's CRS.
//!
//! * [`coverage`](mod@coverage): the exact covered fraction of each cell by a polygon.
//! * [`tally`](mod@tally): one streaming, parallel pass over a raster, giving each zone's
//!   area per land-cover class, bit-identical for any thread count or window size, and in
//!   the same pass the weighted sums of continuous layers ([`tally_values`]).
//! * [`checks`]: hierarchy checks (children sum to parent; gaps, overlaps, spills).
#![deny(missing_docs)]

pub mod checks;
pub mod coverage;
pub mod error;
pub mod tally;
pub mod transition;
mod weighted;

#[cfg(feature = "geometry-checks")]
pub use checks::hierarchy_geometry;
pub use checks::{
    hierarchy_checks, hierarchy_checks_reported, hierarchy_checks_with, sum_checks, CheckKind,
    CheckOptions, CheckRow, HierarchyGeometry, PieceRef, ReportedPiece,
};
pub use coverage::{
    coverage, CellRange, CoverageBuffer, CoverageWindow, PreparedPolygon, Span, SparseCoverage,
    SNAP_TO_ONE,
};
pub use error::ZonalError;
pub use tally::{
    polygon_area_m2, tally, tally_grouped, tally_values, tally_values_grouped,
    tally_values_windows, tally_windows, TallyOptions,
};
pub use transition::{tally_transitions, tally_transitions_with};
