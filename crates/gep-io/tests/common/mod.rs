//! Shared test helpers: fixtures are loaded through [`fixture`] only.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Path of a file under the workspace's `fixtures/` directory (see fixtures/README.md).
pub fn fixture(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name);
    assert!(p.exists(), "missing fixture {}", p.display());
    p
}

/// Runs a GDAL command-line tool, panicking with its stderr on failure.
pub fn run(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
