//! # gep-core
//!
//! The data model of the GEP (Gross Ecosystem Product, 生态系统生产总值) accounting engine:
//! named grids and windows, cell areas (planar or exact ellipsoidal), the [`RasterSource`]
//! trait that feeds land-cover cells to the engine, administrative zones and their hierarchy,
//! and the exact, mergeable extent table (zone × class → area).
//!
//! This crate is pure Rust: valuation tools can link it without a C toolchain.
//!
//! ```
//! use gep_core::{Grid, CrsInfo};
//! // A 30 m grid in CGCS2000 / 3-degree Gauss-Kruger CM 120E.
//! let grid = Grid::new(500_000.0, 3_300_000.0, 30.0, 30.0, 100, 200, CrsInfo::projected("EPSG:4549")).unwrap();
//! assert_eq!(grid.cell_area_m2(0).0, 900.0);
//! ```
#![deny(missing_docs)]

pub mod account;
pub mod catalog;
pub mod change;
pub mod coefficients;
pub mod crosswalk;
pub mod ellipsoid;
pub mod error;
pub mod extent;
pub mod grid;
pub mod label;
pub mod lang;
pub mod parameters;
pub mod physical_unit;
pub mod progress;
pub mod raster;
pub mod recode;
pub mod statistics;
pub mod transition;
pub mod units;
pub mod values;
pub mod weighted;
pub mod zone;

pub use account::{compute_accounts, roll_up, AccountRow, Accounts, GepRow};
pub use catalog::{Catalog, Category};
pub use coefficients::{CoefficientSet, Deflator, ValuationParams};
pub use crosswalk::Crosswalk;
pub use ellipsoid::Ellipsoid;
pub use error::CoreError;
pub use extent::{ExactArea, ExtentTable, ZoneTally};
/// The geometry types zones are made of (`MultiPolygon`, `Polygon`, `polygon!`...), re-exported so
/// that callers build zones without naming a second crate version.
pub use geo_types;
pub use grid::{AreaBasis, CellsMismatch, CrsCheck, CrsInfo, CrsKind, Grid, RowCol, Window};
pub use label::{TotalKind, TotalLabel, ValueBasis};
pub use lang::Lang;
pub use parameters::{ParamKey, ParameterSet};
pub use physical_unit::Unit;
pub use progress::{ChangeRun, NoProgress, ProgressEvent, Reporter};
pub use raster::{Block, ClassCode, MemRaster, RasterSource};
pub use statistics::{
    allocate, Allocation, StatisticsTable, StatisticsWarning, VillageShares, ZoneAreas,
};
pub use units::{Hectares, SquareMeters, Yuan};
pub use values::{LayerInfo, Resampling, ValueBlock, ValueGrid, ValueSource};
pub use weighted::{ClassSums, ExactSum, WeightedTable, ZoneSums};
pub use zone::{resolve_parents, resolve_parents_all, Level, Zone};
