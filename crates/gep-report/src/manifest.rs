//! The run manifest (`manifest.json`): what was run, on which bytes, producing which bytes.
//!
//! Keys are written in a fixed order (the struct's field order; there are no maps), pretty
//! printed with a trailing newline, so two runs with the same inputs give the same manifest
//! apart from timings.

use crate::error::ReportError;
use crate::model::{FailedUnit, IdHash, InputFile, RunInfo, Timing, TotalsInfo};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// The manifest format version; bumped when a field changes meaning.
pub const MANIFEST_VERSION: u32 = 1;

/// One output file of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputFile {
    /// Path relative to the output directory, with `/` separators.
    pub path: String,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub size_bytes: u64,
}

impl OutputFile {
    /// Hashes `dir/rel`.
    pub fn of(dir: &Path, rel: &str) -> Result<OutputFile, ReportError> {
        let path = dir.join(rel);
        let (sha256, size_bytes) = sha256_file(&path)?;
        Ok(OutputFile {
            path: rel.replace('\\', "/"),
            sha256,
            size_bytes,
        })
    }

    /// Hashes every regular file under `dir` (recursively), sorted by path, skipping `skip`
    /// (typically `manifest.json` itself).
    pub fn all_in(dir: &Path, skip: &[&str]) -> Result<Vec<OutputFile>, ReportError> {
        let mut rels = Vec::new();
        collect(dir, "", &mut rels)?;
        rels.sort();
        rels.retain(|r| !skip.contains(&r.as_str()));
        rels.iter().map(|r| OutputFile::of(dir, r)).collect()
    }
}

fn collect(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<(), ReportError> {
    let rerr = |source| ReportError::Read {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(rerr)? {
        let entry = entry.map_err(rerr)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let ty = entry.file_type().map_err(rerr)?;
        if ty.is_dir() {
            collect(&entry.path(), &rel, out)?;
        } else if ty.is_file() {
            out.push(rel);
        }
    }
    Ok(())
}

/// Everything needed to reproduce a run and to check that it was reproduced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_VERSION`] of the writer.
    pub manifest_version: u32,
    /// `gep` version.
    pub engine_version: String,
    /// Git commit of the engine, when known.
    pub commit: Option<String>,
    /// The command line, one argument per element.
    pub command: Vec<String>,
    /// The config file's text, verbatim.
    pub config_text: String,
    /// The accounting year.
    pub year: Option<i32>,
    /// `planar` or `ellipsoidal`.
    pub area_basis: String,
    /// The coefficient set used.
    pub coefficient_set: Option<IdHash>,
    /// The crosswalk used.
    pub crosswalk: Option<IdHash>,
    /// Every input file with its hash, size, CRS and resolution.
    pub inputs: Vec<InputFile>,
    /// Every output file with its hash (the manifest itself excluded).
    pub outputs: Vec<OutputFile>,
    /// Timings of the run's steps.
    pub timings: Vec<Timing>,
    /// Warnings raised during the run (each failed unit among them).
    pub warnings: Vec<String>,
    /// Units of work (counties) the run set out to compute, failed ones included.
    #[serde(default)]
    pub units_total: usize,
    /// The units that failed, with their reasons.
    #[serde(default)]
    pub failures: Vec<FailedUnit>,
    /// The directory the run was started from (relative paths of its command line are
    /// relative to it).
    #[serde(default)]
    pub working_dir: Option<String>,
    /// The continuous inputs as read (how each was aligned to the land-cover grid: resampling,
    /// warping, value range) and the physical models with their parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<serde_json::Value>,
    /// What the totals are: GEP or ESV (`label.kind`), partial with the missing services
    /// (`label.missing_services`), the price year (`label.price_year`), the totals and the
    /// share resting on example, derived or unverified coefficients.
    #[serde(default)]
    pub totals: Option<TotalsInfo>,
}

/// An input whose bytes differ from what the manifest recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct InputChange {
    /// The input as recorded.
    pub recorded: InputFile,
    /// The current SHA-256, or `None` when the file cannot be read.
    pub current_sha256: Option<String>,
}

impl Manifest {
    /// A manifest of `run` with its `outputs`.
    pub fn new(run: &RunInfo, outputs: Vec<OutputFile>) -> Manifest {
        Manifest {
            manifest_version: MANIFEST_VERSION,
            engine_version: run.engine_version.clone(),
            commit: run.commit.clone(),
            command: run.command.clone(),
            config_text: run.config_text.clone(),
            year: run.year,
            area_basis: run.area_basis.clone(),
            coefficient_set: run.coefficient_set.clone(),
            crosswalk: run.crosswalk.clone(),
            inputs: run.inputs.clone(),
            outputs,
            timings: run.timings.clone(),
            warnings: run.warnings.clone(),
            units_total: run.units_total,
            failures: run.failures.clone(),
            working_dir: run.working_dir.clone(),
            models: run.models.clone(),
            totals: run.totals.clone(),
        }
    }

    /// The manifest as pretty JSON with a trailing newline.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        let mut s = serde_json::to_string_pretty(self)?;
        s.push('\n');
        Ok(s)
    }

    /// Writes the manifest to `path`.
    pub fn write(&self, path: &Path) -> Result<(), ReportError> {
        let text = self.to_json().map_err(|source| ReportError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        std::fs::write(path, text).map_err(|source| ReportError::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Reads a manifest written by [`Manifest::write`].
    pub fn read(path: &Path) -> Result<Manifest, ReportError> {
        let text = std::fs::read_to_string(path).map_err(|source| ReportError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| ReportError::ManifestParse {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The inputs whose current bytes differ from the recorded ones. Relative input paths are
    /// resolved against `base` (the directory of the config file).
    pub fn changed_inputs(&self, base: &Path) -> Vec<InputChange> {
        self.inputs
            .iter()
            .filter_map(|i| {
                let current = sha256_file(&base.join(&i.path)).ok().map(|(h, _)| h);
                (current.as_deref() != Some(i.sha256.as_str())).then(|| InputChange {
                    recorded: i.clone(),
                    current_sha256: current,
                })
            })
            .collect()
    }
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 (lowercase hex) and size in bytes of the file at `path`, read in 1 MiB blocks.
pub fn sha256_file(path: &Path) -> Result<(String, u64), ReportError> {
    let rerr = |source| ReportError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(rerr)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(rerr)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((hex::encode(hasher.finalize()), size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_known_value() {
        // FIPS 180-2 example "abc".
        assert_eq!(
            sha256_bytes(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("abc");
        std::fs::write(&p, b"abc").unwrap();
        // FIPS 180-2 test vector for "abc".
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(sha256_file(&p).unwrap(), (abc.to_string(), 3));
        assert_eq!(sha256_bytes(b"abc"), abc);
    }
}
