//! Conformance of the engine's physical models with InVEST 3.20.2 on the real 128 × 128
//! Willamette window (`fixtures/models/`): the plan `willamette_mini.toml` runs soil retention
//! with InVEST's LS on D8 routing (streams above 1000 cells masked, as SDR does) and the water
//! balance with InVEST AWY's actual ET; the watershed is the whole window, so exact coverage
//! equals InVEST's pixel-centre rule.
//!
//! References (commands in `fixtures/models/README.md`):
//! - `invest_sdr_d8/watershed_results_sdr_unrounded.csv`, `sdr_class_sums_reference.csv`:
//!   InVEST SDR 3.20.2's rasters summed per watershed and per land-cover class in float64.
//! - `water_conservation_reference.csv`: an independent numpy/GDAL computation of
//!   Σ A·(P − α·P − AET)·10⁻³ per class (`water_conservation_reference.py`).

use gep_core::NoProgress;
use gep_engine::plan::{assess, Plan};
use gep_engine::Assessment;
use gep_tests::{fixture, num, read_csv};
use std::collections::BTreeMap;

fn run() -> Assessment {
    let plan = Plan::from_file(&fixture("models/willamette_mini.toml")).unwrap();
    assess(&plan, &NoProgress).unwrap()
}

/// Relative difference, |a − b| / max(|b|, tiny).
fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

/// The engine's quantity `name` by class for zone "0".
fn by_class(a: &Assessment, name: &str) -> BTreeMap<i64, f64> {
    let p = a.physical.as_ref().expect("the plan has models");
    p.quantities
        .iter()
        .filter(|q| q.zone_id == "0" && q.name == name)
        .map(|q| (i64::from(q.class), q.value))
        .collect()
}

#[test]
fn soil_retention_per_watershed_matches_invest_sdr() {
    let a = run();
    assert!(a.failures.is_empty(), "{:?}", a.failures);
    let p = a.physical.as_ref().unwrap();
    let t = read_csv(&fixture(
        "models/invest_sdr_d8/watershed_results_sdr_unrounded.csv",
    ));
    let row = &t.maps()[0];
    // InVEST sums its float32 pixels in float32: agreement to ~1e-6 relative.
    let (usle, _, _) = p.zone_total("0", "actual_erosion").unwrap();
    let (avoided, area, without) = p.zone_total("0", "avoided_erosion").unwrap();
    let invest_usle = num(row["usle_tot"]);
    let invest_avoided = num(row["avoid_eros"]);
    assert!(
        rel(usle, invest_usle) < 2e-6,
        "USLE {usle} vs InVEST {invest_usle}"
    );
    assert!(
        rel(avoided, invest_avoided) < 2e-6,
        "avoided erosion {avoided} vs InVEST {invest_avoided}"
    );
    // InVEST counts 16,096 pixels with R·K·LS; its 288 stream pixels have none. Here streams
    // carry zero erosion: the whole window is area with data, none without.
    let pixels = num(row["pixel_count"]);
    assert_eq!(pixels, 16096.0);
    assert_eq!(area, 16384.0 * 900.0);
    assert_eq!(without, 0.0);
}

#[test]
fn ls_rkls_usle_and_avoided_erosion_per_class_match_invest() {
    let a = run();
    let p = a.physical.as_ref().unwrap();
    let reference = read_csv(&fixture("models/sdr_class_sums_reference.csv"));
    let potential = by_class(&a, "potential_erosion");
    let actual = by_class(&a, "actual_erosion");
    let avoided = by_class(&a, "avoided_erosion");
    let mut classes = 0;
    for r in reference.maps() {
        let Ok(class) = r["lucode"].parse::<i64>() else {
            assert_eq!(r["lucode"], "TOTAL");
            continue;
        };
        classes += 1;
        // Σ A·LS over the class (LS is a layer of the tally): InVEST's ls.tif × 900 m².
        let ls = p
            .sums
            .sum_m2("0", class as i32, "ls")
            .expect("class in the sums");
        assert!(
            rel(ls, num(r["sum_ls_m2"])) < 2e-6,
            "class {class}: Σ A·LS {ls} vs {}",
            r["sum_ls_m2"]
        );
        for (what, got, col) in [
            ("R·K·LS", &potential, "sum_rkls_t"),
            ("USLE", &actual, "sum_usle_t"),
            ("avoided erosion", &avoided, "sum_avoided_t"),
        ] {
            let want = num(r[col]);
            let g = got.get(&class).copied().unwrap_or(0.0);
            let ok = if want == 0.0 {
                g.abs() < 1e-9
            } else {
                rel(g, want) < 2e-6
            };
            assert!(ok, "class {class}: {what} {g} t/a vs InVEST {want}");
        }
    }
    assert_eq!(classes, potential.len(), "every class compared");
}

#[test]
fn water_conservation_matches_an_independent_computation() {
    let a = run();
    let p = a.physical.as_ref().unwrap();
    let reference = read_csv(&fixture("models/water_conservation_reference.csv"));
    let q = by_class(&a, "water_conservation");
    let mut total_ref = 0.0;
    let mut n = 0;
    for r in reference.maps() {
        match r["scope"] {
            "class" => {
                let class: i64 = r["lucode"].parse().unwrap();
                let want = num(r["q_m3"]);
                let got = q[&class];
                // Both sum float64 products of the same float32 inputs: only the order of
                // additions differs.
                assert!(
                    (got - want).abs() <= 1e-9 * want.abs().max(1.0),
                    "class {class}: {got} m³ vs {want}"
                );
                total_ref += want;
                n += 1;
            }
            _ => continue,
        }
    }
    assert_eq!(n, q.len());
    let (total, area, without) = p.zone_total("0", "water_conservation").unwrap();
    assert!(rel(total, total_ref) < 1e-12, "{total} vs {total_ref}");
    assert_eq!(area, 16384.0 * 900.0);
    assert_eq!(without, 0.0);
}

#[test]
fn the_manifest_records_how_inputs_were_read_and_which_ls_ran() {
    let a = run();
    let p = a.physical.as_ref().unwrap();
    // All inputs are on the land-cover grid: read as is.
    assert!(p.inputs.iter().all(|i| i.resampling == "none" && !i.warped));
    let soil = p
        .models
        .iter()
        .find(|m| m.model == "soil_retention")
        .unwrap();
    assert!(soil
        .parameters
        .contains(&("ls_algorithm".to_string(), "invest_d8".to_string())));
}
