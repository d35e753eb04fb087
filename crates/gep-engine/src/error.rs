//! The one error type at the engine's face, with conversions from the crates below it.

use std::path::PathBuf;
use thiserror::Error;

/// Everything that stops a whole assessment. A county that cannot be computed is not an
/// error: it is a [`crate::UnitFailure`] in the assessment, and the others are computed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The data model or the valuation refused an input.
    #[error(transparent)]
    Core(#[from] gep_core::CoreError),
    /// Coverage, tally or checks failed.
    #[error(transparent)]
    Zonal(#[from] gep_zonal::ZonalError),
    /// Reading, reprojecting or writing through GDAL/PROJ failed.
    #[cfg(feature = "gdal")]
    #[error(transparent)]
    Io(#[from] gep_io::IoError),
    /// A physical model refused its inputs or parameters.
    #[error(transparent)]
    Model(#[from] gep_models::ModelError),
    /// Writing tables, the report or the output directory failed.
    #[error(transparent)]
    Report(#[from] gep_report::ReportError),
    /// The plan is inconsistent (a value out of range, two settings that contradict each other).
    #[error("{}{message}", .file.as_ref().map(|f| format!("{}: ", f.display())).unwrap_or_default())]
    Plan {
        /// The plan file, when the plan came from one.
        file: Option<PathBuf>,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// An input cannot be used at all (not one county could be computed from it).
    #[error("{message}")]
    Input {
        /// What is wrong, naming the file or value, and how to fix it.
        message: String,
    },
    /// In strict mode, a zone that would silently contribute zero: off the raster, zero area.
    #[error("zone {zone:?}: {problem}; in strict mode this is an error rather than a zero (is the zone in the raster's CRS and over its extent?)")]
    Strict {
        /// The zone.
        zone: String,
        /// What would have been zero, with the numbers.
        problem: String,
    },
    /// A file could not be read or written.
    #[error("{}: {error}", .path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// An error with what was being done when it happened.
    #[error("{what}: {inner}")]
    Context {
        /// What was being done.
        what: String,
        /// The error.
        inner: Box<EngineError>,
    },
    /// A worker thread panicked (a bug in gep).
    #[error("internal error in {0}: a worker thread panicked")]
    Panicked(&'static str),
}

impl EngineError {
    /// An input problem.
    pub fn input(message: impl Into<String>) -> EngineError {
        EngineError::Input {
            message: message.into(),
        }
    }

    /// A plan problem (no file).
    pub fn plan(message: impl Into<String>) -> EngineError {
        EngineError::Plan {
            file: None,
            message: message.into(),
        }
    }
}
