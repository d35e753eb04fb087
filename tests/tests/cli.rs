//! The CLI's informational commands: what they must mention, not their exact layout.

use gep_tests::{fixture, gep_ok, gep_output};

#[test]
fn help_lists_the_commands() {
    let out = gep_ok(&["--help"]);
    for cmd in ["run", "validate", "info", "coefficients", "crosswalks"] {
        assert!(
            out.lines().any(|l| l.trim_start().starts_with(cmd)),
            "--help does not list {cmd}:\n{out}"
        );
    }
}

#[test]
fn info_reports_size_and_crs_of_the_modis_clip() {
    // 100 columns x 85 rows at 0.05° from 118°E, 31.25°N, EPSG:4326 (fixtures/README.md).
    let out = gep_ok(&[
        "info",
        fixture("mcd12c1_2019_igbp_zhejiang.tif").to_str().unwrap(),
    ]);
    let size = out
        .lines()
        .find(|l| l.starts_with("size:"))
        .unwrap_or_else(|| panic!("no size line:\n{out}"));
    let nums: Vec<&str> = size
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(&nums[..2], ["100", "85"], "{size}");
    assert!(
        size.contains("columns") && size.find("100") < size.find("85"),
        "{size}"
    );
    assert!(out.contains("EPSG:4326"), "{out}");
}

#[test]
fn builtin_sets_are_listed() {
    let co = gep_ok(&["coefficients", "list"]);
    assert!(
        co.lines()
            .any(|l| l.split_whitespace().next() == Some("xie2015")),
        "{co}"
    );
    let cw = gep_ok(&["crosswalks", "list"]);
    assert!(
        cw.lines()
            .any(|l| l.split_whitespace().next() == Some("modis-igbp-mcd12c1")),
        "{cw}"
    );
}

#[test]
fn validate_accepts_the_demo() {
    let out = gep_output(&["validate", fixture("demo/gep.toml").to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
