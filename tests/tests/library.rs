//! The pipeline through the library: the demo's assessment built with `gep-engine` and its
//! tables written by `gep_engine::write::write_tables` are byte for byte the tables `gep run`
//! writes.

use gep_engine::plan::{assess, Plan};
use gep_tests::{fixture, gep_ok};

#[test]
fn library_tables_are_byte_identical_to_gep_run() {
    let dir = tempfile::tempdir().unwrap();
    let cli_out = dir.path().join("cli");
    let config = fixture("demo/gep.toml");
    gep_ok(&[
        "run",
        config.to_str().unwrap(),
        "--out",
        cli_out.to_str().unwrap(),
    ]);
    let plan = Plan::from_file(&config).unwrap();
    let a = assess(&plan, &gep_core::NoProgress).unwrap();
    let lib_out = dir.path().join("lib");
    std::fs::create_dir(&lib_out).unwrap();
    gep_engine::write::write_tables(&a, &lib_out).unwrap();
    for table in [
        "extent.csv",
        "extent_types.csv",
        "zones.csv",
        "checks.csv",
        "accounts.csv",
        "gep.csv",
        "failures.csv",
    ] {
        let cli = std::fs::read(cli_out.join(table)).unwrap();
        let lib = std::fs::read(lib_out.join(table)).unwrap();
        assert!(
            cli == lib,
            "{table} differs between gep run and the library"
        );
    }
    // The printed total is the library's.
    let t = a.totals.unwrap();
    assert_eq!(t.zones, 26);
    assert!(t.gep_yuan > 0.0);
}
