//! Output directories that never take a user's files with them.
//!
//! The output directory belongs to gep only when gep made it: it is absent, empty, or a
//! result set whose `manifest.json` lists what gep wrote there. [`check_output_dir`] refuses,
//! before any work, the current directory (or one of its ancestors), a directory that holds an
//! input or the config, and an existing directory holding files gep did not write.
//!
//! A run writes into a staging directory of its own beside the target (unique per process and
//! run, so two runs started at once never share one) and [`StagedDir::commit`] puts it in
//! place: files in the old result set that gep did not write (a user's notes, a `figs/`
//! folder) are carried over into the new one as hard links (the same files, byte for byte),
//! then the two directories are exchanged in one atomic step (`renameat2(RENAME_EXCHANGE)`
//! on Linux; two renames elsewhere), and only then are gep's own old files removed. A crash or
//! kill at any point leaves the previous results — and every foreign file — in place; a stale
//! staging directory of a dead run is removed by the next run (it holds nothing but gep's
//! outputs and second links to files that are still in the output directory).

use crate::error::ReportError;
use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Every file name gep may write at the top of an output directory.
pub const OUTPUT_NAMES: &[&str] = &[
    "extent.csv",
    "extent_types.csv",
    "zones.csv",
    "checks.csv",
    "accounts.csv",
    "gep.csv",
    "failures.csv",
    "accounts_wide.csv",
    "gep.xlsx",
    "report.html",
    "zones.gpkg",
    "value_density.tif",
    "quantities.csv",
    "layer_sums.csv",
    "sensitivity.csv",
    "manifest.json",
];

/// What is at an output path before a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputDirState {
    /// Nothing: the run creates it.
    Absent,
    /// An empty directory.
    Empty,
    /// An earlier gep result set.
    Results {
        /// Top-level entries gep wrote (listed in its `manifest.json`, and the manifest).
        owned: BTreeSet<String>,
        /// Top-level entries gep did not write: carried over into every new result set.
        foreign: Vec<String>,
    },
}

/// `p` made absolute (against `cwd`) and normalised: the longest existing prefix resolved
/// through symlinks (`canonicalize`), the rest appended with `.` and `..` removed lexically.
pub fn normalize_path(p: &Path, cwd: &Path) -> PathBuf {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    };
    let mut lexical = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                lexical.pop();
            }
            other => lexical.push(other.as_os_str()),
        }
    }
    let mut rest = Vec::new();
    let mut base = lexical.as_path();
    loop {
        if let Ok(real) = std::fs::canonicalize(base) {
            let mut out = real;
            for r in rest.iter().rev() {
                out.push(r);
            }
            return out;
        }
        match (base.parent(), base.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                base = parent;
            }
            _ => return lexical,
        }
    }
}

fn read_err(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Read {
        path: path.to_path_buf(),
        source,
    }
}

fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    }
}

fn entry_names(dir: &Path) -> Result<Vec<String>, ReportError> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(dir).map_err(read_err(dir))? {
        let e = e.map_err(read_err(dir))?;
        names.push(e.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// What is at `target` (an absolute path).
///
/// # Errors
/// [`ReportError::OutputNotADirectory`] for a file there, [`ReportError::OutputNotOurs`] for a
/// non-empty directory without a gep `manifest.json`, [`ReportError::Read`] when it cannot be
/// listed.
pub fn inspect_output_dir(target: &Path) -> Result<OutputDirState, ReportError> {
    let meta = match std::fs::symlink_metadata(target) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(OutputDirState::Absent),
        Err(e) => return Err(read_err(target)(e)),
    };
    if !meta.is_dir() {
        return Err(ReportError::OutputNotADirectory {
            path: target.to_path_buf(),
        });
    }
    let names = entry_names(target)?;
    if names.is_empty() {
        return Ok(OutputDirState::Empty);
    }
    let manifest = target.join("manifest.json");
    let parsed = manifest
        .is_file()
        .then(|| crate::manifest::Manifest::read(&manifest).ok())
        .flatten();
    let Some(m) = parsed else {
        return Err(ReportError::OutputNotOurs {
            dir: target.to_path_buf(),
            entries: names,
        });
    };
    let mut owned: BTreeSet<String> = m
        .outputs
        .iter()
        .filter_map(|o| o.path.split('/').next().map(str::to_string))
        .collect();
    owned.insert("manifest.json".to_string());
    let foreign: Vec<String> = names.into_iter().filter(|n| !owned.contains(n)).collect();
    if let Some(taken) = foreign.iter().find(|n| OUTPUT_NAMES.contains(&n.as_str())) {
        return Err(ReportError::OutputNameTaken {
            dir: target.to_path_buf(),
            name: taken.clone(),
        });
    }
    owned.retain(|n| target.join(n).exists());
    Ok(OutputDirState::Results { owned, foreign })
}

/// Checks, before any work, that gep may write its results at `target`.
///
/// `cwd` is the current directory; `inputs` are the run's input files (land cover, boundary
/// files and their sidecars, tables) and its config. Refused: the current directory or an
/// ancestor of it, a directory that contains an input or the config, an existing file, and an
/// existing non-empty directory that is not a gep result set (see [`inspect_output_dir`]).
pub fn check_output_dir(
    target: &Path,
    cwd: &Path,
    inputs: &[PathBuf],
) -> Result<OutputDirState, ReportError> {
    let t = normalize_path(target, cwd);
    let here = normalize_path(cwd, cwd);
    if here.starts_with(&t) {
        return Err(ReportError::OutputIsWorkingDir { dir: t });
    }
    for input in inputs {
        let i = normalize_path(input, cwd);
        if i.starts_with(&t) {
            return Err(ReportError::OutputHoldsInput {
                dir: t,
                input: input.clone(),
            });
        }
    }
    inspect_output_dir(&t)
}

/// A staging directory that becomes `target` on [`StagedDir::commit`].
#[derive(Debug)]
pub struct StagedDir {
    target: PathBuf,
    staging: PathBuf,
    committed: bool,
}

/// What [`StagedDir::commit`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The output directory, now holding the new results.
    pub target: PathBuf,
    /// Entries of the old output directory gep did not write, carried over.
    pub carried: Vec<String>,
    /// Where something of the old directory had to be left (a file that appeared in it while
    /// the results were being swapped and could not be moved), if anywhere.
    pub left_behind: Option<PathBuf>,
}

fn target_name(target: &Path) -> String {
    target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into())
}

/// The prefix of the staging directories of `target`: `.<name>.staging-`.
fn staging_prefix(target: &Path) -> String {
    format!(".{}.staging-", target_name(target))
}

/// Whether process `pid` is alive; `None` when it cannot be told (no `/proc`).
fn process_alive(pid: u32) -> Option<bool> {
    if !Path::new("/proc/self").exists() {
        return None;
    }
    Some(Path::new("/proc").join(pid.to_string()).exists())
}

/// Removes the staging directories that runs which are no longer alive left beside `target`.
fn remove_stale_staging(target: &Path) {
    let (Some(parent), prefix) = (target.parent(), staging_prefix(target)) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if pid != std::process::id() && process_alive(pid) == Some(false) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

impl StagedDir {
    /// Creates a fresh staging directory beside `target` (its parent must exist or be
    /// creatable), named after this process and run so that concurrent runs never share one.
    /// Staging directories of runs that are no longer alive are removed.
    pub fn create(target: &Path) -> Result<StagedDir, ReportError> {
        let cwd = std::env::current_dir().map_err(write_err(target))?;
        let target = normalize_path(target, &cwd);
        let parent = target
            .parent()
            .ok_or_else(|| ReportError::OutputIsWorkingDir {
                dir: target.clone(),
            })?;
        std::fs::create_dir_all(parent).map_err(write_err(parent))?;
        remove_stale_staging(&target);
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        loop {
            let staging = parent.join(format!(
                "{}{}-{stamp}-{}",
                staging_prefix(&target),
                std::process::id(),
                SEQUENCE.fetch_add(1, Ordering::Relaxed)
            ));
            match std::fs::create_dir(&staging) {
                Ok(()) => {
                    return Ok(StagedDir {
                        target,
                        staging,
                        committed: false,
                    })
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(write_err(&staging)(e)),
            }
        }
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

    /// Puts the staged results in place.
    ///
    /// Under a lock on the parent directory (so that concurrent runs commit one after the
    /// other): the target is inspected again; files gep did not write are linked into the new
    /// results; the directories are exchanged atomically; gep's own old files are removed.
    ///
    /// # Errors
    /// When the target has meanwhile become something gep may not replace, or a foreign file
    /// cannot be carried over (e.g. a file system without hard links): the staged results are
    /// discarded and the target is left exactly as it was.
    pub fn commit(mut self) -> Result<Committed, ReportError> {
        let parent = self.target.parent().unwrap_or(Path::new("/")).to_path_buf();
        let lock = std::fs::File::open(&parent).map_err(write_err(&parent))?;
        lock.lock().map_err(write_err(&parent))?;
        let committed = self.commit_locked();
        drop(lock);
        if committed.is_ok() {
            self.committed = true;
        }
        committed
    }

    fn commit_locked(&self) -> Result<Committed, ReportError> {
        let done = |carried, left_behind| Committed {
            target: self.target.clone(),
            carried,
            left_behind,
        };
        match inspect_output_dir(&self.target)? {
            OutputDirState::Absent => {
                std::fs::rename(&self.staging, &self.target).map_err(write_err(&self.target))?;
                Ok(done(Vec::new(), None))
            }
            OutputDirState::Empty => {
                // Only an empty directory is removed by `remove_dir`.
                std::fs::remove_dir(&self.target).map_err(write_err(&self.target))?;
                std::fs::rename(&self.staging, &self.target).map_err(write_err(&self.target))?;
                Ok(done(Vec::new(), None))
            }
            OutputDirState::Results { owned, foreign } => {
                for f in &foreign {
                    if self.staging.join(f).exists() {
                        return Err(ReportError::OutputNameTaken {
                            dir: self.target.clone(),
                            name: f.clone(),
                        });
                    }
                    link_tree(&self.target.join(f), &self.staging.join(f))?;
                }
                let old = exchange(&self.staging, &self.target)?;
                let left = remove_old(&old, &self.target, &owned, &foreign);
                Ok(done(foreign, left.then_some(old)))
            }
        }
    }
}

/// Recreates `src` at `dst` with hard links to the same files (directories recreated with the
/// same permissions, symbolic links with the same target).
fn link_tree(src: &Path, dst: &Path) -> Result<(), ReportError> {
    let carry = |source: std::io::Error| ReportError::CarryOver {
        path: src.to_path_buf(),
        source,
    };
    let meta = std::fs::symlink_metadata(src).map_err(carry)?;
    let ft = meta.file_type();
    if ft.is_dir() {
        std::fs::create_dir(dst).map_err(carry)?;
        for name in entry_names(src)? {
            link_tree(&src.join(&name), &dst.join(&name))?;
        }
        std::fs::set_permissions(dst, meta.permissions()).map_err(carry)?;
        Ok(())
    } else if ft.is_symlink() {
        let to = std::fs::read_link(src).map_err(carry)?;
        symlink(&to, dst).map_err(carry)
    } else {
        std::fs::hard_link(src, dst).map_err(carry)
    }
}

#[cfg(unix)]
fn symlink(to: &Path, at: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(to, at)
}

#[cfg(not(unix))]
fn symlink(_to: &Path, _at: &Path) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "symbolic links cannot be carried over on this platform",
    ))
}

/// Exchanges the staging directory and the target; returns where the old target now is.
fn exchange(staging: &Path, target: &Path) -> Result<PathBuf, ReportError> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        match renameat_with(CWD, staging, CWD, target, RenameFlags::EXCHANGE) {
            Ok(()) => return Ok(staging.to_path_buf()),
            // File systems without RENAME_EXCHANGE: fall back to two renames.
            Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {}
            Err(e) => return Err(write_err(target)(e.into())),
        }
    }
    let aside = staging.with_file_name(format!(
        "{}-previous",
        staging.file_name().unwrap_or_default().to_string_lossy()
    ));
    std::fs::rename(target, &aside).map_err(write_err(target))?;
    if let Err(e) = std::fs::rename(staging, target) {
        let _ = std::fs::rename(&aside, target);
        return Err(write_err(target)(e));
    }
    Ok(aside)
}

/// Whether `a` and `b` are the same file (or equal symbolic links).
fn same_entry(a: &Path, b: &Path) -> bool {
    let (Ok(ma), Ok(mb)) = (std::fs::symlink_metadata(a), std::fs::symlink_metadata(b)) else {
        return false;
    };
    if ma.file_type().is_symlink() {
        return mb.file_type().is_symlink()
            && std::fs::read_link(a).ok() == std::fs::read_link(b).ok();
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        ma.dev() == mb.dev() && ma.ino() == mb.ino()
    }
    #[cfg(not(unix))]
    {
        ma.len() == mb.len() && std::fs::read(a).ok() == std::fs::read(b).ok()
    }
}

/// Removes the carried entry `old` whose links are at `new`; anything in it that has no twin
/// at `new` (it appeared during the swap) is moved there, or left. Returns whether anything
/// was left.
fn remove_carried(old: &Path, new: &Path) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(old) else {
        return false;
    };
    if meta.is_dir() {
        let mut left = false;
        if let Ok(names) = entry_names(old) {
            for n in names {
                left |= remove_carried(&old.join(&n), &new.join(&n));
            }
        }
        return left || std::fs::remove_dir(old).is_err();
    }
    if same_entry(old, new) {
        return std::fs::remove_file(old).is_err();
    }
    if std::fs::symlink_metadata(new).is_err() {
        return std::fs::rename(old, new).is_err();
    }
    true
}

/// Empties the old result directory `old` after the exchange: gep's own files are removed,
/// the carried ones removed where their twin is in `new`; the directory is removed when
/// empty. Returns whether anything had to be left.
fn remove_old(old: &Path, new: &Path, owned: &BTreeSet<String>, carried: &[String]) -> bool {
    let mut left = false;
    for name in entry_names(old).unwrap_or_default() {
        let p = old.join(&name);
        if carried.contains(&name) {
            left |= remove_carried(&p, &new.join(&name));
        } else if owned.contains(&name) {
            let removed = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
            left |= removed.is_err();
        } else {
            // Appeared in the old directory while the swap was going on: keep it.
            left |= remove_carried(&p, &new.join(&name));
        }
    }
    left || std::fs::remove_dir(old).is_err()
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

    /// A minimal gep result set: the files and a manifest listing them.
    fn commit_files(target: &Path, files: &[(&str, &str)]) -> Committed {
        let s = StagedDir::create(target).unwrap();
        let mut outputs = Vec::new();
        for (name, text) in files {
            std::fs::write(s.file(name), text).unwrap();
            outputs.push(crate::OutputFile::of(s.path(), name).unwrap());
        }
        crate::Manifest::new(&crate::RunInfo::default(), outputs)
            .write(&s.file("manifest.json"))
            .unwrap();
        s.commit().unwrap()
    }

    fn siblings(dir: &Path) -> Vec<String> {
        entry_names(dir).unwrap()
    }

    #[test]
    fn commit_replaces_and_drop_discards() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out");
        commit_files(&target, &[("a.csv", "first")]);
        assert_eq!(
            std::fs::read_to_string(target.join("a.csv")).unwrap(),
            "first"
        );

        // A run that fails (dropped without commit) leaves the old result intact.
        let s = StagedDir::create(&target).unwrap();
        std::fs::write(s.file("a.csv"), "half").unwrap();
        drop(s);
        assert_eq!(
            std::fs::read_to_string(target.join("a.csv")).unwrap(),
            "first"
        );
        assert_eq!(siblings(tmp.path()), ["out"]);

        commit_files(&target, &[("b.csv", "second")]);
        assert!(!target.join("a.csv").exists());
        assert_eq!(
            std::fs::read_to_string(target.join("b.csv")).unwrap(),
            "second"
        );
        assert_eq!(siblings(tmp.path()), ["out"]);
    }

    #[test]
    fn foreign_files_are_carried_over_byte_for_byte() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out");
        commit_files(&target, &[("a.csv", "first")]);
        std::fs::write(target.join("notes.docx"), b"\x50\x4b\x03\x04 minutes").unwrap();
        std::fs::create_dir_all(target.join("figs/sub")).unwrap();
        std::fs::write(target.join("figs/sub/map.png"), b"\x89PNG").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("figs/sub/map.png", target.join("latest.png")).unwrap();
        let c = commit_files(&target, &[("b.csv", "second")]);
        assert_eq!(c.left_behind, None);
        assert!(c.carried.contains(&"notes.docx".to_string()));
        assert_eq!(
            std::fs::read(target.join("notes.docx")).unwrap(),
            b"\x50\x4b\x03\x04 minutes"
        );
        assert_eq!(
            std::fs::read(target.join("figs/sub/map.png")).unwrap(),
            b"\x89PNG"
        );
        #[cfg(unix)]
        assert_eq!(
            std::fs::read(target.join("latest.png")).unwrap(),
            b"\x89PNG"
        );
        assert!(!target.join("a.csv").exists());
        assert_eq!(siblings(tmp.path()), ["out"]);
    }

    #[test]
    fn refuses_what_gep_did_not_make() {
        let tmp = tempfile::tempdir().unwrap();
        let cwd = tmp.path();
        std::fs::write(cwd.join("gep.toml"), "").unwrap();
        std::fs::create_dir_all(cwd.join("data")).unwrap();
        std::fs::write(cwd.join("data/lc.tif"), "").unwrap();
        let inputs = vec![cwd.join("gep.toml"), PathBuf::from("data/lc.tif")];
        let err = |p: &str| check_output_dir(Path::new(p), cwd, &inputs).unwrap_err();
        assert!(matches!(err("."), ReportError::OutputIsWorkingDir { .. }));
        assert!(matches!(err(".."), ReportError::OutputIsWorkingDir { .. }));
        assert!(matches!(err("data"), ReportError::OutputHoldsInput { .. }));
        assert!(matches!(
            err("data/.."),
            ReportError::OutputIsWorkingDir { .. }
        ));
        std::fs::create_dir_all(cwd.join("docs")).unwrap();
        std::fs::write(cwd.join("docs/report.docx"), "").unwrap();
        match err("docs") {
            ReportError::OutputNotOurs { entries, .. } => assert_eq!(entries, ["report.docx"]),
            e => panic!("{e}"),
        }
        std::fs::write(cwd.join("file"), "").unwrap();
        assert!(matches!(
            err("file"),
            ReportError::OutputNotADirectory { .. }
        ));
        assert_eq!(
            check_output_dir(Path::new("new/out"), cwd, &inputs).unwrap(),
            OutputDirState::Absent
        );
        std::fs::create_dir(cwd.join("empty")).unwrap();
        assert_eq!(
            check_output_dir(Path::new("empty"), cwd, &inputs).unwrap(),
            OutputDirState::Empty
        );
        // A result set with a user's file named like an output gep may write.
        commit_files(&cwd.join("out"), &[("extent.csv", "x")]);
        std::fs::write(cwd.join("out/gep.xlsx"), "mine").unwrap();
        assert!(matches!(err("out"), ReportError::OutputNameTaken { .. }));
    }

    #[test]
    fn concurrent_staging_directories_differ() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out");
        let a = StagedDir::create(&target).unwrap();
        let b = StagedDir::create(&target).unwrap();
        assert_ne!(a.path(), b.path());
        std::fs::write(a.file("extent.csv"), "a").unwrap();
        std::fs::write(b.file("extent.csv"), "b").unwrap();
        drop(a);
        assert_eq!(std::fs::read_to_string(b.file("extent.csv")).unwrap(), "b");
    }
}
