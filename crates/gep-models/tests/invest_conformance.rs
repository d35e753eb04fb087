//! Conformance with InVEST 3.20.2 SDR (D8, pygeoprocessing 2.4.11, numpy 1.24.2) on the
//! 128 × 128 Willamette window: filled DEM, flow direction, flow accumulation, slope, LS and
//! RKLS compared cell by cell.
//!
//! The reference rasters are `fixtures/models/invest_sdr_d8/*.tif` (made by
//! `fixtures/models/make_reference.py mini`), converted to raw arrays by
//! `fixtures/models/to_raw.py` (see `fixtures/models/README.md`).

use gep_core::{CrsInfo, Grid, LayerInfo, ValueGrid, ValueSource};
use gep_models::terrain::{self, LsAlgorithm};
use gep_models::DerivedLayer;
use std::path::PathBuf;

/// InVEST's `l_max` in the reference run (`invest_sdr_d8/args.json`).
const L_MAX: f64 = 122.0;

fn raw_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/models/invest_sdr_d8/raw")
}

/// One raw layer of the committed fixture.
fn load(name: &str) -> ValueGrid {
    load_from(&raw_dir(), name)
}

/// One raw layer: the grid from its geotransform and the cells (NaN → no data).
fn load_from(dir: &std::path::Path, name: &str) -> ValueGrid {
    let header: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!("{name}.json")))
            .unwrap_or_else(|e| panic!("{name}.json: {e}; run fixtures/models/to_raw.py")),
    )
    .unwrap();
    let rows = header["rows"].as_u64().unwrap() as usize;
    let cols = header["cols"].as_u64().unwrap() as usize;
    let dtype = header["dtype"].as_str().unwrap();
    let gt: Vec<f64> = header["geotransform"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let bytes = std::fs::read(dir.join(format!("{name}.{dtype}"))).unwrap();
    let values: Vec<f64> = match dtype {
        "f32" => bytes
            .chunks_exact(4)
            .map(|b| f64::from(f32::from_le_bytes(b.try_into().unwrap())))
            .collect(),
        "f64" => bytes
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect(),
        other => panic!("{name}: unknown dtype {other}"),
    };
    assert_eq!(values.len(), rows * cols, "{name}: size");
    let grid = Grid::new(
        gt[0],
        gt[3],
        gt[1],
        -gt[5],
        rows,
        cols,
        CrsInfo::projected("NAD83 / UTM zone 10N"),
    )
    .unwrap();
    ValueGrid::new(
        grid,
        LayerInfo::new(name, "?"),
        values
            .into_iter()
            .map(|v| (!v.is_nan()).then_some(v))
            .collect(),
    )
    .unwrap()
}

/// Largest absolute and relative difference, and the cells beyond `rel_tol` (|a − b| >
/// rel_tol · max(1, |b|)); no data must match exactly.
struct Diff {
    max_abs: f64,
    max_rel: f64,
    beyond: Vec<(usize, usize, f64, f64)>,
    compared: usize,
}

fn compare(ours: &ValueGrid, theirs: &ValueGrid, rel_tol: f64) -> Diff {
    let cols = theirs.grid().cols;
    let mut d = Diff {
        max_abs: 0.0,
        max_rel: 0.0,
        beyond: vec![],
        compared: 0,
    };
    for (k, (a, b)) in ours.cells().iter().zip(theirs.cells()).enumerate() {
        let (r, c) = (k / cols, k % cols);
        match (a, b) {
            (Some(a), Some(b)) => {
                let abs = (a - b).abs();
                d.max_abs = d.max_abs.max(abs);
                d.max_rel = d.max_rel.max(abs / b.abs().max(1.0));
                if abs > rel_tol * b.abs().max(1.0) {
                    d.beyond.push((r, c, *a, *b));
                }
                d.compared += 1;
            }
            (None, None) => {}
            _ => panic!(
                "{}: no data differs at ({r}, {c}): ours {a:?}, InVEST {b:?}",
                theirs.info().name
            ),
        }
    }
    eprintln!(
        "{:<18} {} cells: max |diff| {:.3e}, max rel {:.3e}, {} beyond {:.0e}",
        theirs.info().name,
        d.compared,
        d.max_abs,
        d.max_rel,
        d.beyond.len(),
        rel_tol
    );
    d
}

fn assert_within(ours: &ValueGrid, theirs: &ValueGrid, rel_tol: f64) {
    let d = compare(ours, theirs, rel_tol);
    assert!(d.compared > 0);
    assert!(
        d.beyond.is_empty(),
        "{}: {} cells differ beyond {rel_tol:e}, first (row, col, ours, InVEST): {:?}",
        theirs.info().name,
        d.beyond.len(),
        &d.beyond[..d.beyond.len().min(5)]
    );
}

fn run() -> terrain::Terrain {
    let dem = load("dem").with_info(LayerInfo::new("dem", "m"));
    terrain::terrain(&dem, &LsAlgorithm::InvestD8 { l_max: L_MAX }, 1 << 30).unwrap()
}

#[test]
fn filled_dem_is_identical() {
    assert_within(&run().filled_dem, &load("pit_filled_dem"), 0.0);
}

#[test]
fn flow_direction_is_identical() {
    assert_within(&run().flow_direction, &load("flow_direction"), 0.0);
}

#[test]
fn flow_accumulation_is_identical() {
    assert_within(&run().flow_accumulation, &load("flow_accumulation"), 0.0);
}

#[test]
fn slope_is_identical_to_its_float32_raster() {
    assert_within(&run().slope, &load("slope"), 0.0);
}

/// LS from our own chain, and LS from InVEST's own slope and accumulation rasters (isolating
/// the LS formula from the routing).
#[test]
fn ls_matches_to_float32_precision() {
    let ls = load("ls");
    assert_within(&run().ls, &ls, 1e-6);
    let from_theirs =
        terrain::ls_invest(&load("slope"), &load("flow_accumulation"), L_MAX).unwrap();
    assert_within(&from_theirs, &ls, 1e-6);
}

/// RKLS = LS · R · K as InVEST writes it (Float32, no data on stream cells), through a
/// [`DerivedLayer`] over our LS.
#[test]
fn rkls_matches_through_a_derived_layer() {
    let t = run();
    let stream = load("stream");
    let mut rkls = DerivedLayer::new(
        LayerInfo::new("rkls", "t/(ha·a)"),
        vec![
            Box::new(t.ls.clone()),
            Box::new(load("erosivity")),
            Box::new(load("erodibility")),
            Box::new(stream),
        ],
        // InVEST's _calculate_rkls: float64 product stored as float32; stream cells (1) are
        // left without data.
        |v| {
            if v[3] == 0.0 {
                f64::from((v[0] * v[1] * v[2]) as f32)
            } else {
                f64::NAN
            }
        },
    )
    .unwrap();
    let ours = ValueGrid::read_all(&mut rkls).unwrap();
    assert_eq!(rkls.info().name, "rkls");
    assert_within(&ours, &load("rkls"), 1e-6);
}

/// The same checks on a whole InVEST SDR (D8) workspace converted by
/// `fixtures/models/to_raw.py --workspace W --out DIR` (not committed: the full 1145 × 496
/// Willamette run has 5 × 2 blocks of 256 and no data outside its watersheds, which the
/// 128 × 128 fixture lacks). Run with
/// `GEP_INVEST_FULL_RAW=DIR cargo test -p gep-models --test invest_conformance -- --ignored`.
#[test]
#[ignore = "needs GEP_INVEST_FULL_RAW (an InVEST workspace converted by to_raw.py)"]
fn invest_full_workspace() {
    let dir = PathBuf::from(std::env::var("GEP_INVEST_FULL_RAW").expect("GEP_INVEST_FULL_RAW"));
    let dem = load_from(&dir, "dem").with_info(LayerInfo::new("dem", "m"));
    let t = terrain::terrain(&dem, &LsAlgorithm::InvestD8 { l_max: L_MAX }, 1 << 32).unwrap();
    assert_within(&t.filled_dem, &load_from(&dir, "pit_filled_dem"), 0.0);
    assert_within(&t.slope, &load_from(&dir, "slope"), 0.0);
    assert_within(&t.flow_direction, &load_from(&dir, "flow_direction"), 0.0);
    assert_within(
        &t.flow_accumulation,
        &load_from(&dir, "flow_accumulation"),
        0.0,
    );
    assert_within(&t.ls, &load_from(&dir, "ls"), 1e-6);
}
