//! The one error type of `gep-report`.

use std::path::PathBuf;
use thiserror::Error;

/// Failures while writing outputs.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ReportError {
    /// A file or directory could not be written.
    #[error("cannot write {path}: {source}; check that the directory exists, is writable and has free space")]
    Write {
        /// The path being written.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A CSV table could not be serialised.
    #[error("cannot write table {path}: {source}")]
    Csv {
        /// The table being written.
        path: PathBuf,
        /// The underlying error.
        source: csv::Error,
    },
    /// JSON serialisation failed.
    #[error("cannot write {path}: {source}")]
    Json {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// The XLSX workbook could not be written.
    #[error("cannot write workbook {path}: {source}")]
    Xlsx {
        /// The workbook being written.
        path: PathBuf,
        /// The underlying error.
        source: rust_xlsxwriter::XlsxError,
    },
    /// An HTML template failed to render (a bug in a template, not in the data).
    #[error("cannot render the HTML report: {0:#}")]
    Template(#[from] minijinja::Error),
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path being read.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A manifest is not valid JSON of the expected shape.
    #[error("{path} is not a valid run manifest: {source}")]
    ManifestParse {
        /// The manifest file.
        path: PathBuf,
        /// The underlying error, with line and column.
        source: serde_json::Error,
    },
}
