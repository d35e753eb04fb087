//! # gep-report
//!
//! Everything the engine writes for people: CSV tables (UTF-8 with BOM so that Excel on a
//! Chinese Windows shows names intact), the run manifest, and the atomic output directory
//! that is renamed into place only when a run has fully succeeded. Pure Rust.
#![deny(missing_docs)]

pub mod error;
pub mod staging;
pub mod tables;

pub use error::ReportError;
pub use staging::StagedDir;
pub use tables::{write_csv, CheckCsvRow, ExtentRow, FailureRow, ZoneRow};
