//! # gep-engine
//!
//! The GEP accounting pipeline as a library: zones → units of work (a county and everything
//! below it) → one exact tally over the raster → hierarchy checks → accounts → an
//! [`Assessment`] holding the zones, the extent table, the checks, the accounts, the totals
//! (with their price year), the units that failed ([`UnitFailure`]) and the warnings
//! ([`Warning`]) — failures and warnings as data, never printed.
//!
//! Two ways in:
//! - [`assess_zones`]: a raster source the caller holds (an in-memory [`gep_core::MemRaster`]
//!   or its own [`gep_core::RasterSource`]) and zones in the raster's CRS. Pure Rust: with
//!   `default-features = false` this crate needs no C toolchain.
//! - with the `gdal` feature (default), [`plan::Plan`] (built in code or read from the TOML
//!   file the `gep` command reads) and [`assess`](plan::assess): rasters and boundaries read
//!   through GDAL, reprojected with PROJ, counties failing one by one.
//!
//! Library calls are strict by default ([`Options::strict`]): a zone off the raster or of
//! zero area is an error, not a zero; an extent table used with another zone list is an
//! error; a roll-up into parents without children is an error.
#![deny(missing_docs)]

pub mod appraise;
mod assessment;
#[cfg(feature = "gdal")]
pub mod change_models;
pub mod change_report;
pub mod change_tables;
mod error;
pub mod guards;
mod memory;
pub mod messages;
pub mod parcels;
#[cfg(feature = "gdal")]
pub mod parcels_layer;
mod physical;
#[cfg(feature = "gdal")]
pub mod plan;
pub mod services;
pub mod units;
pub mod warnings;
pub mod write;

pub use appraise::{appraise, appraise_scenario, Appraisal, Footprint};
pub use assessment::{
    fmt_fixed, Assessment, FailureReason, Totals, UnitFailure, Valuation, Warning,
};
pub use error::{ConfigProblem, EngineError};
pub use memory::{assess_zones, Options};
pub use parcels::{assess_parcels, Parcel, ParcelAssessment};
pub use physical::{InputRecord, ModelRecord, Physical};

pub use gep_core;
pub use gep_core::geo_types;
pub use gep_core::Lang;
pub use gep_models;
pub use gep_zonal;
