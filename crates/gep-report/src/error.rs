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
    /// The output path is the current directory or one of its ancestors.
    #[error("output directory {dir} is the current directory or contains it: a run replaces its output directory as a whole, so it must be a directory of its own; choose a new subdirectory, e.g. gep-out")]
    OutputIsWorkingDir {
        /// The output directory.
        dir: PathBuf,
    },
    /// The output directory contains an input or the config.
    #[error("output directory {dir} contains the input {input}: a run replaces its output directory, so it must not hold inputs or the config; choose a directory of its own, e.g. {dir}/gep-out")]
    OutputHoldsInput {
        /// The output directory.
        dir: PathBuf,
        /// The input inside it.
        input: PathBuf,
    },
    /// The output path exists and is not a directory.
    #[error("output path {path} exists and is not a directory: gep never replaces a file it did not write; move that file away or choose another output directory")]
    OutputNotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// The output directory holds files gep did not write and is not a gep result set.
    #[error("output directory {dir} already holds files gep did not write ({}) and no gep manifest.json: gep writes only into a new or empty directory or over its own earlier results; choose another directory (e.g. {dir}/gep-out) or move those files away", list_some(.entries))]
    OutputNotOurs {
        /// The output directory.
        dir: PathBuf,
        /// What is in it.
        entries: Vec<String>,
    },
    /// A file of an earlier result set, not written by gep, has the name of a gep output.
    #[error("{} was not written by gep (its manifest.json does not list it) but gep writes a file of that name: rename or move it, or choose another output directory", .dir.join(.name).display())]
    OutputNameTaken {
        /// The output directory.
        dir: PathBuf,
        /// The file's name.
        name: String,
    },
    /// A file of the earlier result set that gep did not write could not be carried over.
    #[error("cannot carry {path} over into the new results ({source}); nothing was changed: move it out of the output directory and run again")]
    CarryOver {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// The first few names of a list, and how many more.
fn list_some(names: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut s = names
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        s.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    s
}
