//! # gep-report
//!
//! Everything the engine writes for people: CSV tables (UTF-8 with BOM so that Excel on a
//! Chinese Windows shows names intact), the wide pivot, the XLSX workbook, the self-contained
//! HTML report, the run manifest, and the atomic output directory that is renamed into place
//! only when a run has fully succeeded. Pure Rust.
//!
//! The report writers take plain [`ReportInput`] data (zones with their totals and geometry,
//! zone × service totals, check rows, [`RunInfo`]), so this crate needs nothing from the
//! crates that compute them.
#![deny(missing_docs)]

pub mod error;
pub mod html;
pub mod i18n;
pub mod manifest;
pub mod model;
pub mod neutralize;
pub mod staging;
pub mod tables;
pub mod xlsx;

pub use error::ReportError;
pub use html::{render_html, write_html};
pub use i18n::Lang;
pub use manifest::{sha256_bytes, sha256_file, Manifest, OutputFile};
pub use model::{
    CheckSummary, ExtentTypeLine, FailedUnit, IdHash, InputFile, ReportInput, ReportZone, RunInfo,
    SensitivityLine, ServiceTotal, Timing, TotalsInfo, ZoneContext, ZoneDirectory,
};
pub use neutralize::{is_formula_like, neutralize};
pub use staging::{check_output_dir, Committed, OutputDirState, StagedDir};
pub use tables::{
    write_accounts_csv, write_csv, write_gep_csv, write_wide_csv, AccountCsvRow, CheckCsvRow,
    ClassTypes, CsvRow, ExtentRow, ExtentTypeRow, FailureRow, GepCsvRow, LayerSumRow,
    QuantityCsvRow, ZoneRow,
};
pub use xlsx::write_workbook;
