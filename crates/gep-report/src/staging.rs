//! Atomic output directories: write everything into a staging directory beside the target,
//! then swap it into place. A crash or kill before [`StagedDir::commit`] leaves the previous
//! results untouched (only a stray `.staging` directory, removed by the next run).

use crate::error::ReportError;
use std::path::{Path, PathBuf};

/// A staging directory that becomes `target` on [`StagedDir::commit`].
#[derive(Debug)]
pub struct StagedDir {
    target: PathBuf,
    staging: PathBuf,
    committed: bool,
}

fn sibling(target: &Path, suffix: &str) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    target.with_file_name(format!(".{name}.{suffix}"))
}

impl StagedDir {
    /// Creates a fresh staging directory beside `target` (its parent must exist or be
    /// creatable). Stale staging directories of killed runs are removed.
    pub fn create(target: &Path) -> Result<StagedDir, ReportError> {
        let target = if target.is_absolute() {
            target.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(|source| ReportError::Write {
                    path: target.to_path_buf(),
                    source,
                })?
                .join(target)
        };
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|source| ReportError::Write {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let staging = sibling(&target, "staging");
        if staging.exists() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        std::fs::create_dir(&staging).map_err(|source| ReportError::Write {
            path: staging.clone(),
            source,
        })?;
        Ok(StagedDir {
            target,
            staging,
            committed: false,
        })
    }

    /// The directory to write into.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// The final location.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// A path inside the staging directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.staging.join(name)
    }

    /// Moves the staging directory into place, replacing a previous result directory.
    ///
    /// The old directory is first renamed aside, then the new one renamed in, then the old
    /// one deleted: at every instant either the old or the new complete result is at `target`
    /// (or, for an instant between the two renames, the old one is beside it).
    pub fn commit(mut self) -> Result<PathBuf, ReportError> {
        let old = sibling(&self.target, "previous");
        if old.exists() {
            let _ = std::fs::remove_dir_all(&old);
        }
        let had_old = self.target.exists();
        if had_old {
            std::fs::rename(&self.target, &old).map_err(|source| ReportError::Write {
                path: self.target.clone(),
                source,
            })?;
        }
        if let Err(source) = std::fs::rename(&self.staging, &self.target) {
            if had_old {
                let _ = std::fs::rename(&old, &self.target);
            }
            return Err(ReportError::Write {
                path: self.target.clone(),
                source,
            });
        }
        if had_old {
            let _ = std::fs::remove_dir_all(&old);
        }
        self.committed = true;
        Ok(self.target.clone())
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_replaces_and_drop_discards() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out");
        let s = StagedDir::create(&target).unwrap();
        std::fs::write(s.file("a.txt"), "first").unwrap();
        s.commit().unwrap();
        assert_eq!(
            std::fs::read_to_string(target.join("a.txt")).unwrap(),
            "first"
        );

        // A run that fails (dropped without commit) leaves the old result intact.
        let s = StagedDir::create(&target).unwrap();
        std::fs::write(s.file("a.txt"), "half").unwrap();
        drop(s);
        assert_eq!(
            std::fs::read_to_string(target.join("a.txt")).unwrap(),
            "first"
        );
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);

        let s = StagedDir::create(&target).unwrap();
        std::fs::write(s.file("b.txt"), "second").unwrap();
        s.commit().unwrap();
        assert!(!target.join("a.txt").exists());
        assert_eq!(
            std::fs::read_to_string(target.join("b.txt")).unwrap(),
            "second"
        );
    }
}
