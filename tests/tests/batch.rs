//! Batch resilience on the demo (26 counties, 470 townships, 7,541 villages): a run killed with
//! SIGKILL leaves the previous results intact and `--resume` finishes it with the same bytes as
//! an uninterrupted run; `gep rerun` reproduces the tables from the manifest and names a changed
//! input; the GeoPackage has one layer per level with the value fields.
//!
//! That per-county tallies equal one tally of all zones at once, bit for bit, is tested in
//! `gep-cli` (`run::tests::per_county_tally_equals_the_joint_tally`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use gep_tests::{fixture, gep_bin, gep_ok, gep_output, tempdir};
use tempfile::TempDir;

/// The tables compared byte for byte (`accounts_wide.csv` is written with the report only).
const TABLES: [&str; 6] = [
    "extent.csv",
    "zones.csv",
    "checks.csv",
    "accounts.csv",
    "gep.csv",
    "failures.csv",
];

/// Writes a copy of the demo config into `dir` whose input paths are `inputs/<file>` when
/// `copy` (the inputs are copied there), else the fixtures' absolute paths.
fn demo_config(dir: &Path, copy: bool, report: bool) -> PathBuf {
    let files = [
        "mcd12c1_2019_igbp_zhejiang.tif",
        "zj26_counties_cgcs2000.geojson",
        "zj26_townships_generated.geojson",
        "zj26_villages_generated.geojson",
    ];
    let mut text = std::fs::read_to_string(fixture("demo/gep.toml")).unwrap();
    if copy {
        std::fs::create_dir_all(dir.join("inputs")).unwrap();
    }
    for f in files {
        let path = if copy {
            std::fs::copy(fixture(f), dir.join("inputs").join(f)).unwrap();
            format!("inputs/{f}")
        } else {
            fixture(f).display().to_string()
        };
        text = text.replace(&format!("\"../{f}\""), &format!("{path:?}"));
    }
    assert!(
        !text.contains("\"../"),
        "demo config not rewritten:\n{text}"
    );
    // `report` goes into [output], the last table of the demo config.
    assert!(text.trim_end().ends_with("dir = \"out\""), "{text}");
    text.push_str(&format!("report = {report}\n"));
    let p = dir.join("gep.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// The uninterrupted demo run (report on), over copies of the inputs: (tempdir, out dir).
fn clean() -> &'static (TempDir, PathBuf) {
    static RUN: OnceLock<(TempDir, PathBuf)> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempdir();
        let config = demo_config(dir.path(), true, true);
        let out = dir.path().join("out");
        gep_ok(&[
            "run",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        (dir, out)
    })
}

/// Every file of a directory (not recursive) with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn assert_same_tables(a: &Path, b: &Path) {
    for t in TABLES {
        let x = std::fs::read(a.join(t)).unwrap_or_else(|e| panic!("{}: {e}", a.join(t).display()));
        let y = std::fs::read(b.join(t)).unwrap_or_else(|e| panic!("{}: {e}", b.join(t).display()));
        assert!(
            x == y,
            "{t} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

fn cache_files(cache: &Path) -> usize {
    std::fs::read_dir(cache)
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".json"))
            })
            .count()
        })
        .unwrap_or(0)
}

/// kill -9 in the middle of the tally: the previous output is untouched (and gets no new files);
/// `--resume` then loads the counties already cached, tallies the rest, and its tables are
/// byte-identical to those of an uninterrupted run (per-county tallies == the joint tally).
#[test]
fn killed_run_leaves_previous_output_and_resume_gives_identical_tables() {
    let dir = tempdir();
    let config = demo_config(dir.path(), false, false);
    let out = dir.path().join("out");
    // The previous results.
    std::fs::create_dir(&out).unwrap();
    std::fs::write(
        out.join("extent.csv"),
        "zone_id,zone_level,class,area_m2\nold,county,1,1.0\n",
    )
    .unwrap();
    // A gep result set (a manifest listing its files), or gep would refuse the directory.
    std::fs::write(
        out.join("manifest.json"),
        r#"{"manifest_version": 1, "engine_version": "0.1.0", "command": ["gep", "run"],
"config_text": "", "area_basis": "planar", "inputs": [], "timings": [], "warnings": [],
"outputs": [{"path": "extent.csv", "sha256": "", "size_bytes": 0}]}
"#,
    )
    .unwrap();
    let before = snapshot(&out);
    let cache = dir.path().join(".out.cache");

    let mut child = Command::new(gep_bin())
        .args([
            "-q",
            "run",
            config.to_str().unwrap(),
            "--threads",
            "1",
            "--out",
        ])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    loop {
        if cache_files(&cache) >= 2 {
            break;
        }
        if let Some(st) = child.try_wait().unwrap() {
            panic!("gep exited ({st}) before any county was cached");
        }
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "no county cached in 300 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let cached = cache_files(&cache);
    eprintln!(
        "killed after {:.2} s with {cached} counties cached",
        t0.elapsed().as_secs_f64()
    );
    assert!(cached >= 2);
    assert_eq!(
        snapshot(&out),
        before,
        "the killed run changed the previous output"
    );

    let res = gep_output(&[
        "run",
        config.to_str().unwrap(),
        "--resume",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert_eq!(
        res.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with("resumed "))
        .unwrap_or_else(|| panic!("no 'resumed' line in:\n{stdout}"));
    let n: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(
        n >= 2 && n <= cached && line.contains("of 26 counties"),
        "{line} (cached {cached})"
    );
    assert_same_tables(&out, &clean().1);
    assert!(
        !cache.exists(),
        "the cache is removed after a successful run"
    );
}

/// `--resume` with nothing cached is an ordinary run (same tables), and a cache whose key no
/// longer matches (here: a cache file of another county's zones) is not used.
#[test]
fn resume_ignores_foreign_cache_files() {
    let dir = tempdir();
    let config = demo_config(dir.path(), false, false);
    let out = dir.path().join("out");
    let cache = dir.path().join(".out.cache");
    std::fs::create_dir(&cache).unwrap();
    // Garbage and a file with a wrong key.
    std::fs::write(cache.join("330127.json"), "not json").unwrap();
    std::fs::write(
        cache.join("330324.json"),
        r#"{"format":1,"key":"0","unit_id":"330324","zone_ids":[],"zones":[]}"#,
    )
    .unwrap();
    let stdout = gep_ok(&[
        "run",
        config.to_str().unwrap(),
        "--resume",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(stdout.contains("resumed 0 of 26 counties"), "{stdout}");
    assert_same_tables(&out, &clean().1);
    assert!(!cache.exists());
}

/// `gep rerun` reproduces the tables byte for byte; after an input changes it exits 2 and
/// names the file.
#[test]
fn rerun_reproduces_the_tables_and_names_a_changed_input() {
    let (dir, out) = clean();
    let other = dir.path().join("other");
    let stdout = gep_ok(&[
        "rerun",
        out.join("manifest.json").to_str().unwrap(),
        "--out",
        other.to_str().unwrap(),
    ]);
    assert!(stdout.contains("tables byte for byte"), "{stdout}");
    assert_same_tables(out, &other);

    // Change one input (a trailing space: same features, different bytes).
    let changed = dir.path().join("inputs/zj26_counties_cgcs2000.geojson");
    let mut bytes = std::fs::read(&changed).unwrap();
    bytes.push(b' ');
    std::fs::write(&changed, bytes).unwrap();
    let res = gep_output(&[
        "rerun",
        out.join("manifest.json").to_str().unwrap(),
        "--out",
        dir.path().join("third").to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("zj26_counties_cgcs2000.geojson") && stderr.contains("changed"),
        "{stderr}"
    );
    assert!(!dir.path().join("third").exists(), "nothing written");
}

/// The GeoPackage opens with `ogrinfo`: one layer per level with one feature per zone and the
/// value fields.
#[test]
fn geopackage_has_a_layer_per_level_with_value_fields() {
    let gpkg = clean().1.join("zones.gpkg");
    let out = Command::new("ogrinfo")
        .args(["-so", "-al"])
        .arg(&gpkg)
        .output()
        .expect("running ogrinfo (gdal-bin)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut layers: BTreeMap<String, (u64, String)> = BTreeMap::new();
    let mut current = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("Layer name: ") {
            current = Some(name.trim().to_string());
            layers.insert(name.trim().to_string(), (0, String::new()));
        } else if let Some(c) = &current {
            let e = layers.get_mut(c).unwrap();
            if let Some(n) = line.strip_prefix("Feature Count: ") {
                e.0 = n.trim().parse().unwrap();
            } else {
                e.1.push_str(line);
                e.1.push('\n');
            }
        }
    }
    let counts: Vec<(&str, u64)> = layers.iter().map(|(k, v)| (k.as_str(), v.0)).collect();
    // The demo partition tiles exactly: the gap/overlap layer is there, and empty.
    assert_eq!(
        counts,
        vec![
            ("county", 26),
            ("gaps_overlaps", 0),
            ("township", 470),
            ("village", 7541)
        ],
        "{text}"
    );
    for (name, (_, fields)) in layers.iter().filter(|(n, _)| *n != "gaps_overlaps") {
        for f in ["gep_yuan: Real", "gep_yuan_per_ha: Real"] {
            assert!(fields.contains(f), "layer {name} lacks {f}:\n{fields}");
        }
    }
}
