//! Shared helpers of the bad-input corpus: a case directory, the `gep` binary, assertions.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

// ---------------------------------------------------------------------------------------------
// Helpers (kept here so that tests/src/lib.rs stays the other test files' business).
// ---------------------------------------------------------------------------------------------

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

pub fn fixture(name: &str) -> PathBuf {
    workspace().join("fixtures").join(name)
}

/// The `gep` binary, built (or brought up to date) once per test process: a binary left
/// from an earlier build would test old code.
pub fn gep_bin() -> PathBuf {
    gep_tests::gep_bin()
}

/// The 26 counties (CGCS2000 GeoJSON), parsed once.
pub fn counties_json() -> &'static Value {
    static V: OnceLock<Value> = OnceLock::new();
    V.get_or_init(|| {
        let text = std::fs::read_to_string(fixture("zj26_counties_cgcs2000.geojson")).unwrap();
        serde_json::from_str(&text).unwrap()
    })
}

/// The first `n` counties as a FeatureCollection (same CRS member).
pub fn first_counties(n: usize) -> Value {
    let mut v = counties_json().clone();
    let feats = v["features"].as_array_mut().unwrap();
    feats.truncate(n);
    v
}

pub fn adcode(v: &Value, i: usize) -> String {
    v["features"][i]["properties"]["adcode"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Features of a generated layer whose id starts with `prefix`.
pub fn generated_subset(file: &str, prefix: &str) -> Value {
    let text = std::fs::read_to_string(fixture(file)).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["features"].as_array_mut().unwrap().retain(|f| {
        f["properties"]["zone_id"]
            .as_str()
            .unwrap()
            .starts_with(prefix)
    });
    v
}

/// Applies `f` to every coordinate pair of a GeoJSON geometry.
pub fn map_coords(g: &mut Value, f: &dyn Fn(f64, f64) -> (f64, f64)) {
    match g {
        Value::Array(a) if a.len() >= 2 && a[0].is_number() => {
            let (x, y) = f(a[0].as_f64().unwrap(), a[1].as_f64().unwrap());
            a[0] = x.into();
            a[1] = y.into();
        }
        Value::Array(a) => a.iter_mut().for_each(|c| map_coords(c, f)),
        _ => {}
    }
}

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// One case: a temporary directory with its inputs and a `gep.toml`.
pub struct Case {
    pub dir: tempfile::TempDir,
}

pub const COUNTY_ZONES: &str = r#"
[[zones]]
path = "counties.geojson"
level = "county"
id_field = "adcode"
name_field = "name"
"#;

impl Case {
    pub fn new() -> Case {
        Case {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// MODIS land cover as `lc.tif` and the first three counties as `counties.geojson`.
    pub fn standard() -> Case {
        let c = Case::new();
        c.copy("mcd12c1_2019_igbp_zhejiang.tif", "lc.tif");
        c.json("counties.geojson", &first_counties(3));
        c
    }

    pub fn p(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.p(name);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn json(&self, name: &str, v: &Value) -> PathBuf {
        self.write(name, &serde_json::to_string(v).unwrap())
    }

    pub fn copy(&self, fixture_name: &str, name: &str) -> PathBuf {
        let p = self.p(name);
        std::fs::copy(fixture(fixture_name), &p).unwrap();
        p
    }

    /// Runs a GDAL command line tool in the case directory.
    pub fn tool(&self, tool: &str, args: &[&str]) {
        let o = Command::new(tool)
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("{tool}: {e}"));
        assert!(
            o.status.success(),
            "{tool} {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// `gep.toml` = `[landcover]` (path lc.tif + `lc_extra`), `zones`, valuation etc. in
    /// `rest`, and `[output] dir = "out"`.
    pub fn config(&self, lc_extra: &str, zones: &str, rest: &str) -> PathBuf {
        self.write(
            "gep.toml",
            &format!(
                "year = 2019\n\n[landcover]\npath = \"lc.tif\"\n{lc_extra}\n{zones}\n{rest}\n[output]\ndir = \"out\"\n"
            ),
        )
    }

    pub fn gep(&self, args: &[&str]) -> Out {
        let o = Command::new(gep_bin())
            .args(args)
            .arg("--quiet")
            .current_dir(self.dir.path())
            .env("RUST_BACKTRACE", "0")
            .output()
            .unwrap();
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    pub fn run(&self) -> Out {
        self.gep(&["run", "gep.toml"])
    }

    pub fn validate(&self) -> Out {
        self.gep(&["validate", "gep.toml"])
    }

    pub fn out(&self) -> PathBuf {
        self.p("out")
    }

    pub fn read_out(&self, name: &str) -> String {
        std::fs::read_to_string(self.out().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// No `.out.*` staging or backup directory beside the output.
    pub fn assert_no_stray(&self) {
        let stray: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".out."))
            .collect();
        assert!(stray.is_empty(), "stray staging left: {stray:?}");
    }

    /// Every file under the output directory with its bytes.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(d: &Path, m: &mut BTreeMap<PathBuf, Vec<u8>>) {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, m);
                } else {
                    m.insert(p.clone(), std::fs::read(&p).unwrap());
                }
            }
        }
        let mut m = BTreeMap::new();
        if self.out().exists() {
            walk(&self.out(), &mut m);
        }
        m
    }
}

pub fn no_panic(out: &Out) {
    assert!(
        !out.stderr.contains("panicked") && !out.stderr.contains("internal error"),
        "panic reached the user: {out:?}"
    );
}

pub fn assert_mentions(out: &Out, needles: &[&str]) {
    let low = out.stderr.to_lowercase();
    for n in needles {
        assert!(
            low.contains(&n.to_lowercase()),
            "stderr does not mention {n:?}: {out:?}"
        );
    }
}

/// Exit 2, the message names what is wrong, nothing written.
pub fn assert_fatal(case: &Case, out: &Out, needles: &[&str]) {
    no_panic(out);
    assert_eq!(out.code, 2, "{out:?}");
    assert_mentions(out, needles);
    assert!(
        !case.out().exists(),
        "a fatal run wrote {}",
        case.out().display()
    );
    case.assert_no_stray();
}

/// Exit 1: `failed` is in failures.csv (with the reason) and on stderr, `ok` counties were
/// published.
pub fn assert_county_failed(case: &Case, out: &Out, failed: &str, ok: &[String], reasons: &[&str]) {
    no_panic(out);
    assert_eq!(out.code, 1, "{out:?}");
    assert_mentions(out, &[failed]);
    assert_mentions(out, reasons);
    let failures = case.read_out("failures.csv");
    let line = failures
        .lines()
        .find(|l| l.contains(failed))
        .unwrap_or_else(|| panic!("{failed} not in failures.csv:\n{failures}"));
    for r in reasons {
        assert!(
            line.to_lowercase().contains(&r.to_lowercase()),
            "failures.csv row lacks {r:?}: {line}"
        );
    }
    let extent = case.read_out("extent.csv");
    let zones = case.read_out("zones.csv");
    for id in ok {
        assert!(extent.contains(id.as_str()), "{id} missing from extent.csv");
        assert!(zones.contains(id.as_str()), "{id} missing from zones.csv");
    }
    assert!(
        !zones.contains(failed),
        "failed county {failed} has results in zones.csv"
    );
    case.assert_no_stray();
}

pub fn assert_ok(case: &Case, out: &Out) {
    no_panic(out);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(case.out().join("extent.csv").exists());
    case.assert_no_stray();
}
