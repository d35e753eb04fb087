//! Shared helpers for the end-to-end tests in `tests/tests/`.
//!
//! The tests drive the real `gep` binary. `env!("CARGO_BIN_EXE_gep")` only exists for
//! integration tests of the package that owns the binary (`gep-cli`), so [`gep_bin`] builds it
//! once per test process with `cargo build -p gep-cli` (a no-op when it is up to date; `cargo
//! test --workspace` does not guarantee that `gep-cli` is built before this package's tests
//! run) and returns `<target dir>/debug/gep`, honouring `CARGO_TARGET_DIR`.
//!
//! Fixtures are loaded through [`fixture`] only; tests that write use temporary directories.
#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Once;

/// The workspace root (parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Path of a file under the workspace's `fixtures/` directory (see fixtures/README.md),
/// e.g. `fixture("reference/exactextract_zj5_epsg4549.csv")`. Panics when it is missing.
pub fn fixture(name: &str) -> PathBuf {
    let p = workspace_root().join("fixtures").join(name);
    assert!(p.exists(), "missing fixture {}", p.display());
    p
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                workspace_root().join(d)
            }
        }
        None => workspace_root().join("target"),
    }
}

static BUILD: Once = Once::new();

/// The `gep` binary, built once per test process (see the crate docs).
pub fn gep_bin() -> PathBuf {
    BUILD.call_once(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let st = Command::new(cargo)
            .args(["build", "-q", "-p", "gep-cli"])
            .current_dir(workspace_root())
            .status()
            .expect("running cargo build -p gep-cli");
        assert!(st.success(), "cargo build -p gep-cli failed");
    });
    let exe = target_dir()
        .join("debug")
        .join(format!("gep{}", std::env::consts::EXE_SUFFIX));
    assert!(exe.exists(), "gep binary not found at {}", exe.display());
    exe
}

/// The `gep` command with an English locale (`LANG=C.UTF-8`, no `LC_ALL`/`LC_MESSAGES`), so
/// that messages do not depend on the locale of whoever runs the tests; run in the workspace
/// root.
pub fn gep_command() -> Command {
    let mut c = Command::new(gep_bin());
    c.env("LANG", "C.UTF-8")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .current_dir(workspace_root());
    c
}

/// Runs `gep ARGS` (with `-q`) and returns its output, whatever the exit code.
pub fn gep_output<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    gep_command()
        .arg("-q")
        .args(args)
        .current_dir(workspace_root())
        .output()
        .expect("running gep")
}

/// Runs `gep ARGS` and panics with its stderr unless it exits 0; returns stdout.
pub fn gep_ok<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> String {
    let out = gep_output(args);
    assert!(
        out.status.success(),
        "gep {:?} exited {:?}: {}",
        args.iter()
            .map(|a| a.as_ref().to_owned())
            .collect::<Vec<_>>(),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("gep stdout is UTF-8")
}

/// A CSV table read by column name.
#[derive(Debug, Clone)]
pub struct Table {
    /// Column names.
    pub headers: Vec<String>,
    /// Records, in file order.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// Index of a column; panics with the header list when it is missing.
    pub fn col(&self, name: &str) -> usize {
        self.headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name:?} in {:?}", self.headers))
    }

    /// The rows as maps column → value.
    pub fn maps(&self) -> Vec<BTreeMap<&str, &str>> {
        self.rows
            .iter()
            .map(|r| {
                self.headers
                    .iter()
                    .map(String::as_str)
                    .zip(r.iter().map(String::as_str))
                    .collect()
            })
            .collect()
    }
}

/// Reads a CSV file (a leading UTF-8 BOM and `#` comment lines are skipped).
pub fn read_csv(path: &Path) -> Table {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut rdr = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_reader(bytes);
    let headers = rdr
        .headers()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = rdr
        .records()
        .map(|r| {
            r.unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .iter()
                .map(str::to_owned)
                .collect()
        })
        .collect();
    Table { headers, rows }
}

/// Parses a float cell, panicking with the text when it is not one.
pub fn num(s: &str) -> f64 {
    s.parse()
        .unwrap_or_else(|e| panic!("not a number: {s:?} ({e})"))
}

/// `extent.csv` as `(zone_id, class) → area_m2`.
pub fn extent_by_zone_class(out_dir: &Path) -> BTreeMap<(String, i64), f64> {
    let t = read_csv(&out_dir.join("extent.csv"));
    let (z, c, a) = (t.col("zone_id"), t.col("class"), t.col("area_m2"));
    let mut m = BTreeMap::new();
    for r in &t.rows {
        let key = (r[z].clone(), r[c].parse::<i64>().expect("integer class"));
        assert!(
            m.insert(key.clone(), num(&r[a])).is_none(),
            "duplicate {key:?}"
        );
    }
    m
}

/// A fresh temporary directory (removed when dropped).
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("creating a temp dir")
}
