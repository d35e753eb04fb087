//! The output directory: what gep may replace, what it must never touch.
//!
//! Every case plants a previous result set plus a user's files (a `.docx`, a `figs/` folder
//! with a nested file) where the run writes, and asserts that the user's files come out byte
//! for byte as they went in, whatever the run did.

use super::support::*;
use super::valuation_case;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Every file under `dir` (recursively) with its bytes, keyed by the path relative to `dir`.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, d: &Path, m: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, m);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_path_buf();
                m.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut m = BTreeMap::new();
    if dir.exists() {
        walk(dir, dir, &mut m);
    }
    m
}

/// A user's files: a Word document and a folder with a nested figure.
fn plant_user_files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    std::fs::create_dir_all(dir.join("figs/2019")).unwrap();
    std::fs::write(
        dir.join("汇报材料.docx"),
        b"PK\x03\x04 draft of the report\x00\xff",
    )
    .unwrap();
    std::fs::write(dir.join("figs/2019/map.png"), b"\x89PNG\r\n\x1a\n figure").unwrap();
    std::fs::write(dir.join("figs/notes.txt"), "checked by hand, 2019\n").unwrap();
    tree(dir)
        .into_iter()
        .filter(|(p, _)| p.starts_with("figs") || p.to_string_lossy().ends_with(".docx"))
        .collect()
}

/// The user's files under `out` are exactly `planted`.
fn assert_user_files(out: &Path, planted: &BTreeMap<PathBuf, Vec<u8>>) {
    let now = tree(out);
    for (p, bytes) in planted {
        assert_eq!(
            now.get(p),
            Some(bytes),
            "user file {} changed or vanished",
            p.display()
        );
    }
}

/// A good result set in `out/` with the user's files planted in it.
fn previous_results(c: &Case) -> BTreeMap<PathBuf, Vec<u8>> {
    assert_ok(c, &c.run());
    let planted = plant_user_files(&c.out());
    assert!(c.out().join("manifest.json").exists());
    planted
}

#[test]
fn output_dir_dot_is_refused_and_nothing_is_touched() {
    let c = Case::standard();
    c.config("", COUNTY_ZONES, "");
    let cfg = std::fs::read_to_string(c.p("gep.toml")).unwrap();
    c.write("gep.toml", &cfg.replace("dir = \"out\"", "dir = \".\""));
    plant_user_files(c.dir.path());
    let before = tree(c.dir.path());
    let out = c.run();
    no_panic(&out);
    assert_eq!(out.code, 2, "{out:?}");
    assert_mentions(&out, &["current directory", "gep-out"]);
    assert_eq!(tree(c.dir.path()), before, "a refused run changed files");
}

#[test]
fn output_dir_holding_the_config_is_refused() {
    let c = Case::standard();
    // The config in project/, its output directory = project/ itself; run from elsewhere.
    std::fs::create_dir_all(c.p("project")).unwrap();
    std::fs::rename(c.p("lc.tif"), c.p("project/lc.tif")).unwrap();
    std::fs::rename(c.p("counties.geojson"), c.p("project/counties.geojson")).unwrap();
    c.config("", COUNTY_ZONES, "");
    let cfg = std::fs::read_to_string(c.p("gep.toml")).unwrap();
    std::fs::remove_file(c.p("gep.toml")).unwrap();
    c.write(
        "project/gep.toml",
        &cfg.replace("dir = \"out\"", "dir = \".\""),
    );
    let before = tree(c.dir.path());
    let out = c.gep(&["run", "project/gep.toml"]);
    no_panic(&out);
    assert_eq!(out.code, 2, "{out:?}");
    assert_mentions(&out, &["contains the input", "gep-out"]);
    assert_eq!(tree(c.dir.path()), before);
}

#[test]
fn output_dir_holding_an_input_is_refused() {
    let c = Case::standard();
    std::fs::create_dir_all(c.p("data")).unwrap();
    std::fs::rename(c.p("lc.tif"), c.p("data/lc.tif")).unwrap();
    c.config("", COUNTY_ZONES, "");
    let cfg = std::fs::read_to_string(c.p("gep.toml")).unwrap();
    c.write(
        "gep.toml",
        &cfg.replace("\"lc.tif\"", "\"data/lc.tif\"")
            .replace("dir = \"out\"", "dir = \"data\""),
    );
    let before = tree(c.dir.path());
    let out = c.run();
    no_panic(&out);
    assert_eq!(out.code, 2, "{out:?}");
    assert_mentions(&out, &["data", "lc.tif", "contains the input"]);
    assert_eq!(tree(c.dir.path()), before);
}

#[test]
fn non_empty_directory_that_gep_did_not_make_is_refused() {
    let c = Case::standard();
    c.config("", COUNTY_ZONES, "");
    let planted = plant_user_files(&c.out());
    let out = c.run();
    no_panic(&out);
    assert_eq!(out.code, 2, "{out:?}");
    assert_mentions(&out, &["did not write", ".docx", "figs"]);
    assert_eq!(tree(&c.out()), planted);
    c.assert_no_stray();
}

#[test]
fn empty_directory_is_used() {
    let c = Case::standard();
    c.config("", COUNTY_ZONES, "");
    std::fs::create_dir(c.out()).unwrap();
    assert_ok(&c, &c.run());
}

/// A user's file that has the name of an output gep writes (here the workbook's) is refused,
/// not overwritten.
#[test]
fn user_file_named_like_a_gep_output_is_refused() {
    let c = Case::standard();
    c.config("", COUNTY_ZONES, "");
    // First run without the report: no gep.xlsx in the result set.
    let cfg = std::fs::read_to_string(c.p("gep.toml")).unwrap();
    c.write(
        "gep.toml",
        &cfg.replace("dir = \"out\"\n", "dir = \"out\"\nreport = false\n"),
    );
    assert_ok(&c, &c.run());
    assert!(!c.out().join("gep.xlsx").exists());
    c.write("out/gep.xlsx", "my own workbook");
    c.write("gep.toml", &cfg);
    let before = tree(&c.out());
    let out = c.run();
    no_panic(&out);
    assert_eq!(out.code, 2, "{out:?}");
    assert_mentions(&out, &["gep.xlsx", "not written by gep"]);
    assert_eq!(tree(&c.out()), before);
    c.assert_no_stray();
}

#[test]
fn previous_results_and_user_files_survive_a_run_refused_up_front() {
    let c = Case::standard();
    c.config("", COUNTY_ZONES, "");
    let planted = previous_results(&c);
    let before = tree(&c.out());
    std::fs::remove_file(c.p("lc.tif")).unwrap();
    let out = c.run();
    no_panic(&out);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(tree(&c.out()), before);
    assert_user_files(&c.out(), &planted);
    c.assert_no_stray();
}

/// Every county off the raster: nothing is published, the previous results stay byte for
/// byte, the failures are on stderr, exit 1, and no "-0.0 km²" / "GEP -0.00" summary.
#[test]
fn previous_results_and_user_files_survive_a_run_where_every_unit_fails() {
    let c = Case::standard();
    c.config("", COUNTY_ZONES, "");
    let planted = previous_results(&c);
    let before = tree(&c.out());
    let mut v = first_counties(3);
    for k in 0..3 {
        map_coords(&mut v["features"][k]["geometry"]["coordinates"], &|x, y| {
            (x + 10.0, y)
        });
    }
    c.json("counties.geojson", &v);
    let out = c.run();
    no_panic(&out);
    assert_eq!(out.code, 1, "{out:?}");
    for k in 0..3 {
        assert_mentions(&out, &[&adcode(&v, k)]);
    }
    assert_mentions(
        &out,
        &[
            "outside",
            "all 3 counties failed",
            "nothing was written",
            "unchanged",
        ],
    );
    assert!(!out.stdout.contains("-0.0"), "{out:?}");
    assert!(!out.stdout.contains("report.html"), "{out:?}");
    assert_eq!(tree(&c.out()), before, "previous results changed");
    assert_user_files(&c.out(), &planted);
    c.assert_no_stray();
}

#[test]
fn the_only_county_failing_says_so_in_the_singular() {
    let c = Case::new();
    c.copy("mcd12c1_2019_igbp_zhejiang.tif", "lc.tif");
    let mut v = first_counties(1);
    map_coords(&mut v["features"][0]["geometry"]["coordinates"], &|x, y| {
        (x + 10.0, y)
    });
    c.json("counties.geojson", &v);
    c.config("", COUNTY_ZONES, "");
    let out = c.run();
    assert_eq!(out.code, 1, "{out:?}");
    assert_mentions(&out, &["the only county failed", "nothing was written"]);
    assert!(!c.out().exists());
    c.assert_no_stray();
}

/// One county fails: the others are published, the user's files are carried over, and the
/// failed county is named in report.html (headline and its own section), gep.xlsx (a
/// `failures` sheet), manifest.json (failures and warnings) and the summary line.
#[test]
fn previous_results_and_user_files_survive_a_run_where_some_fail() {
    let c = valuation_case(&|s| s, &|s| s);
    let planted = previous_results(&c);
    let mut v = first_counties(3);
    map_coords(&mut v["features"][1]["geometry"]["coordinates"], &|x, y| {
        (x + 10.0, y)
    });
    c.json("counties.geojson", &v);
    let out = c.run();
    no_panic(&out);
    assert_eq!(out.code, 1, "{out:?}");
    assert_user_files(&c.out(), &planted);
    c.assert_no_stray();
    let failed = adcode(&v, 1);
    let name = v["features"][1]["properties"]["name"].as_str().unwrap();
    assert!(
        out.stdout.contains(&format!(
            "2 of 3 counties computed, 1 failed ({failed} {name})"
        )),
        "{out:?}"
    );
    assert!(c.read_out("failures.csv").contains(&failed));

    let html = c.read_out("report.html");
    // "2 / 3" (the slash escaped by the template engine).
    assert!(
        html.contains("2 &#x2f; 3") || html.contains("2 / 3"),
        "headline does not say 2 of 3 counties"
    );
    assert!(
        html.contains("3 个县中 1 个核算失败"),
        "no failure alert in the headline"
    );
    let section = &html[html.find("id=\"failures\"").expect("no failures section")..];
    let row = &section[section.find("failure-row").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    // The report is in Chinese (the default `lang`): so is the reason (issue #15).
    assert!(
        row.contains(&failed) && row.contains(name) && row.contains("完全在土地覆盖栅格之外"),
        "{row}"
    );
    assert!(
        !html.contains("无警告"),
        "the report says there were no warnings"
    );

    let manifest: serde_json::Value = serde_json::from_str(&c.read_out("manifest.json")).unwrap();
    assert_eq!(manifest["units_total"], 3);
    assert_eq!(manifest["failures"][0]["id"], failed.as_str());
    assert!(manifest["failures"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("outside"));
    assert!(manifest["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().contains(&failed)));

    // The workbook: a `failures` sheet holding the county and its reason.
    let file = std::fs::File::open(c.out().join("gep.xlsx")).unwrap();
    let mut zip = zip_entries(file);
    let workbook = zip.remove("xl/workbook.xml").unwrap();
    assert!(workbook.contains("name=\"failures\""), "{workbook}");
    let all: String = zip.into_values().collect();
    assert!(all.contains(&failed) && all.contains("完全在土地覆盖栅格之外"));
}

/// The text of every entry of a zip archive (the XLSX workbook), by name.
fn zip_entries(file: std::fs::File) -> BTreeMap<String, String> {
    use std::io::Read;
    let mut z = zip::ZipArchive::new(file).unwrap();
    let mut m = BTreeMap::new();
    for i in 0..z.len() {
        let mut e = z.by_index(i).unwrap();
        let mut text = String::new();
        if e.read_to_string(&mut text).is_ok() {
            m.insert(e.name().to_string(), text);
        }
    }
    m
}

#[test]
fn previous_results_and_user_files_survive_a_successful_run() {
    let c = Case::standard();
    c.config("", COUNTY_ZONES, "");
    let planted = previous_results(&c);
    // Inputs change: two counties instead of three.
    c.json("counties.geojson", &first_counties(2));
    let out = c.run();
    assert_ok(&c, &out);
    assert_user_files(&c.out(), &planted);
    assert!(out.stdout.contains("kept your"), "{out:?}");
    let zones = c.read_out("zones.csv");
    assert_eq!(zones.lines().count(), 3, "{zones}");
    // And again: the carried files stay carried.
    assert_ok(&c, &c.run());
    assert_user_files(&c.out(), &planted);
}

/// Two runs started at once on the same output: each stages on its own, both publish, and
/// the result is one complete result set.
#[test]
fn two_runs_at_once_on_the_same_output() {
    let c = Case::standard();
    c.config("", COUNTY_ZONES, "");
    let planted = previous_results(&c);
    let spawn = || {
        Command::new(gep_bin())
            .args(["run", "gep.toml", "--quiet"])
            .current_dir(c.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_user_files(&c.out(), &planted);
    let manifest: serde_json::Value = serde_json::from_str(&c.read_out("manifest.json")).unwrap();
    for o in manifest["outputs"].as_array().unwrap() {
        let p = o["path"].as_str().unwrap();
        assert!(c.out().join(p).exists(), "{p} listed but missing");
    }
    c.assert_no_stray();
}

/// A run given by flags (relative paths) is reproduced by `gep rerun` started elsewhere.
#[test]
fn rerun_of_a_flags_run_from_another_directory() {
    let c = Case::standard();
    let out = c.gep(&[
        "run",
        "--landcover",
        "lc.tif",
        "--zones",
        "counties.geojson:county:adcode:name",
        "--out",
        "out",
    ]);
    assert_ok(&c, &out);
    std::fs::create_dir_all(c.p("elsewhere")).unwrap();
    let o = Command::new(gep_bin())
        .args(["rerun", "../out/manifest.json", "--out", "again", "--quiet"])
        .current_dir(c.p("elsewhere"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("byte for byte"));
    assert!(c.p("elsewhere/again/extent.csv").exists());
}

/// `gep coefficients show xie2015 | head`: the pipe closes early and gep ends quietly.
#[test]
fn closed_output_pipe_ends_quietly() {
    let mut child = Command::new(gep_bin())
        .args(["coefficients", "show", "xie2015"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !err.contains("internal error") && !err.contains("panicked") && err.is_empty(),
        "{err}"
    );
}
