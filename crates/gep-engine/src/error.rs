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
    /// The config file is missing, unreadable, or not valid for the schema.
    #[error("config {}: {problem}", .path.display())]
    Config {
        /// The config file.
        path: PathBuf,
        /// What is wrong with it.
        problem: ConfigProblem,
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

/// What is wrong with a config file ([`EngineError::Config`]); lines and columns are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigProblem {
    /// The file does not exist.
    #[error("the file does not exist; check the path (or write one with `gep init`)")]
    Missing,
    /// The file exists but cannot be read (permissions, a directory, not UTF-8).
    #[error("cannot read it: {reason}")]
    Unreadable {
        /// The operating system's reason.
        reason: String,
    },
    /// The text is not valid TOML.
    #[error("{detail}")]
    Syntax {
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
        /// The TOML parser's message with the offending line.
        detail: String,
    },
    /// A key the schema does not know (usually a typo): unknown keys are errors.
    #[error("{detail}")]
    UnknownKey {
        /// Line of the key.
        line: usize,
        /// Column of the key.
        column: usize,
        /// The key as written.
        key: String,
        /// The keys allowed there.
        expected: Vec<String>,
        /// The TOML parser's message with the offending line.
        detail: String,
    },
    /// A required key is missing from a table.
    #[error("{detail}")]
    MissingKey {
        /// Line of the table that lacks it.
        line: usize,
        /// Column of the table.
        column: usize,
        /// The missing key.
        key: String,
        /// The TOML parser's message with the offending line.
        detail: String,
    },
    /// A value of the wrong type (text for a number, a number for a list, ...).
    #[error("{detail}")]
    BadValue {
        /// Line of the value.
        line: usize,
        /// Column of the value.
        column: usize,
        /// The TOML parser's message with the offending line.
        detail: String,
    },
}

#[cfg(feature = "gdal")]
impl ConfigProblem {
    /// Classifies a TOML/serde error of the config text `text`.
    pub fn from_toml(e: &toml::de::Error, text: &str) -> ConfigProblem {
        let (line, column) = match e.span() {
            Some(span) => {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                (line, column)
            }
            None => (0, 0),
        };
        let detail = e.to_string().trim_end().to_string();
        let msg = e.message();
        // serde's wording for the two schema errors users meet most.
        let quoted = |s: &str| -> Option<String> {
            let a = s.find('`')?;
            let b = s[a + 1..].find('`')?;
            Some(s[a + 1..a + 1 + b].to_string())
        };
        if let Some(rest) = msg.strip_prefix("unknown field ") {
            let key = quoted(rest).unwrap_or_default();
            let expected = rest
                .split_once("expected ")
                .map(|(_, list)| {
                    list.split('`')
                        .skip(1)
                        .step_by(2)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            return ConfigProblem::UnknownKey {
                line,
                column,
                key,
                expected,
                detail,
            };
        }
        if let Some(rest) = msg.strip_prefix("missing field ") {
            return ConfigProblem::MissingKey {
                line,
                column,
                key: quoted(rest).unwrap_or_default(),
                detail,
            };
        }
        if msg.starts_with("invalid type")
            || msg.starts_with("invalid value")
            || msg.starts_with("invalid length")
            || msg.starts_with("unknown variant")
        {
            return ConfigProblem::BadValue {
                line,
                column,
                detail,
            };
        }
        ConfigProblem::Syntax {
            line,
            column,
            detail,
        }
    }
}
