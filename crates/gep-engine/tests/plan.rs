//! The file pipeline's stages, on the demo's real data.

use gep_core::{RasterSource, Zone};
use gep_engine::plan::{self as config, prepare, tally_by_unit, TallyCache, Unit};
use std::path::Path;

/// County-by-county tallies merge into exactly the table of one tally of all zones.
#[test]
fn per_county_tally_equals_the_joint_tally() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/demo/gep.toml");
    let raw = config::load(&root).unwrap();
    let plan = config::resolve(raw, Some(&root)).unwrap();
    let progress = gep_core::NoProgress;
    let prep = prepare(&plan, &progress).unwrap();
    let units: Vec<&Unit> = prep.units.iter().filter(|u| u.failure.is_none()).collect();
    assert_eq!(units.len(), 26);
    let zones: Vec<Zone> = units
        .iter()
        .flat_map(|u| u.members.iter().map(|&i| prep.zones[i].clone()))
        .collect();
    let opts = gep_zonal::TallyOptions::default();
    let joint = gep_zonal::tally(&prep.raster, &zones, &opts, &gep_core::NoProgress).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut plan = plan.clone();
    plan.out_dir = dir.path().join("out");
    let cache = TallyCache::new(&plan, "x", prep.raster.grid(), "crs");
    let by_unit = tally_by_unit(&plan, &prep, &units, &zones, &cache, &opts, &progress).unwrap();
    assert_eq!(by_unit.resumed, 0);
    assert!(
        joint == by_unit.table,
        "per-county tally differs from the joint tally"
    );
    // And loaded back from the cache, bit for bit.
    plan.resume = true;
    let resumed = tally_by_unit(&plan, &prep, &units, &zones, &cache, &opts, &progress).unwrap();
    assert_eq!(resumed.resumed, 26);
    assert!(
        joint == resumed.table,
        "cached tallies differ from the joint tally"
    );
    // A changed zone invalidates its county only.
    let mut moved = zones.clone();
    use geo::Translate;
    moved[0].geometry = moved[0].geometry.translate(1e-9, 0.0);
    let again = tally_by_unit(&plan, &prep, &units, &moved, &cache, &opts, &progress).unwrap();
    assert_eq!(again.resumed, 25);
    // Cached counties plus the one tallied again, merged in unit order: as one tally.
    let moved_joint = gep_zonal::tally(&prep.raster, &moved, &opts, &gep_core::NoProgress).unwrap();
    assert!(
        moved_joint == again.table,
        "mixed cached and fresh counties differ from the joint tally"
    );
}

/// The plan read from a file and assessed in one call: the demo's counties, valued, with the
/// price year on the totals.
#[test]
fn demo_plan_assessed_in_one_call() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/demo/gep.toml");
    let plan = config::Plan::from_file(&root).unwrap();
    let a = config::assess(&plan, &gep_core::NoProgress).unwrap();
    assert_eq!(a.units_total, 26);
    assert!(a.failures.is_empty());
    assert_eq!(a.zones.len(), 26 + 470 + 7541);
    a.extent.check_zones(&a.zones).unwrap();
    let t = a.totals.unwrap();
    assert_eq!(t.zones, 26);
    assert_eq!(t.price_year, Some(2010));
    let gep = a.accounts.unwrap().gep;
    let counties: f64 = a
        .zones
        .iter()
        .zip(&gep)
        .filter(|(z, _)| z.parent.is_none())
        .map(|(_, g)| g.gep_yuan)
        .sum();
    assert_eq!(t.gep_yuan, counties);
}

#[test]
fn missing_plan_file_names_it() {
    let e = config::Plan::from_file(Path::new("no/such/gep.toml")).unwrap_err();
    assert!(e.to_string().contains("no/such/gep.toml"), "{e}");
}

/// A library caller writes nothing: a plan without `[output]` resolves (with an empty output
/// directory) and assesses.
#[test]
fn plan_without_output_directory_for_library_callers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/demo/gep.toml");
    let mut raw = config::load(&root).unwrap();
    raw.output = None;
    raw.run.counties = Some(vec!["331127".into()]);
    let plan = config::resolve(raw, Some(&root)).unwrap();
    assert!(plan.out_dir.as_os_str().is_empty());
    let a = config::assess(&plan, &gep_core::NoProgress).unwrap();
    assert_eq!(a.units_total, 1);
    assert_eq!(a.zones[0].id, "331127");
}
