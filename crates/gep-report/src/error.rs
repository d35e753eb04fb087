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
}
