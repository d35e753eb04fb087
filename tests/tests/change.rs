//! Issue 16 on real data: the CORINE Lausanne rasters of 2006 and 2012 (fixtures/change) as a
//! two-year case through the library and `gep change`, and `gep parcels` / `gep appraise`.

use gep_core::change::{decompose, ChangeOptions, TypeAreas, UnitValues, YearState};
use gep_core::geo_types::{polygon, MultiPolygon};
use gep_core::{CoefficientSet, Crosswalk, Level, NoProgress, ValuationParams, Zone};
use gep_engine::gep_zonal::{tally, tally_transitions, TallyOptions};
use gep_io::{GdalRaster, RasterOptions};
use gep_tests::{fixture, gep_ok, num, read_csv, tempdir};
use std::collections::BTreeMap;

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
    MultiPolygon::new(vec![
        polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1)],
    ])
}

/// The zones of fixtures/change/lausanne_*.geojson, already in EPSG:2056, with a diagonal
/// village so that most of its cells are partly covered.
fn zones() -> Vec<Zone> {
    let mut zs = vec![
        Zone::new(
            "100",
            "county",
            Level::County,
            rect(2512500.0, 1146000.0, 2558500.0, 1177500.0),
        ),
        Zone::new(
            "100001",
            "west",
            Level::Village,
            rect(2512500.0, 1146000.0, 2535000.0, 1177500.0),
        ),
        Zone::new(
            "100002",
            "east",
            Level::Village,
            rect(2535000.0, 1146000.0, 2558500.0, 1177500.0),
        ),
    ];
    zs.push(Zone::new(
        "900",
        "diagonal",
        Level::County,
        MultiPolygon::new(vec![
            polygon![(x: 2513111.1, y: 1147033.3), (x: 2550123.4, y: 1150777.7),
            (x: 2541000.9, y: 1176543.2), (x: 2517777.7, y: 1171234.5)],
        ]),
    ));
    zs
}

fn open(year: u32) -> GdalRaster {
    GdalRaster::open(
        fixture(&format!("change/corine_lausanne_250m_{year}.tif")),
        RasterOptions::default(),
    )
    .unwrap()
}

/// Row sums of every zone's matrix are 2006's extent and column sums 2012's (bit for bit,
/// so certainly to 1e-9 relative); land changed between the years; the ΔGEP decomposition
/// adds up.
#[test]
fn corine_lausanne_2006_2012() {
    let (r0, r1) = (open(2006), open(2012));
    let zones = zones();
    for threads in [1, 2] {
        let opts = TallyOptions {
            threads,
            window_rows: 40,
            window_cols: 64,
        };
        let t = tally_transitions(&r0, &r1, &zones, &opts, &NoProgress).unwrap();
        let e0 = tally(&r0, &zones, &opts, &NoProgress).unwrap();
        let e1 = tally(&r1, &zones, &opts, &NoProgress).unwrap();
        assert_eq!(t.year0(), e0);
        assert_eq!(t.year1(), e1);
        assert!(t.codec.is_dense(), "{} codes", t.codec.len());
        for (z, m) in zones.iter().zip(&t.zones) {
            let (y0, y1) = (m.year0(), m.year1());
            for (c, a) in &e0.get(&z.id).unwrap().classes {
                let row: f64 = m
                    .pairs
                    .iter()
                    .filter(|((f, _), _)| *f == Some(*c))
                    .map(|(_, a)| a.to_m2())
                    .sum();
                assert!((row - a.to_m2()).abs() <= 1e-9 * a.to_m2(), "{} {c}", z.id);
                assert_eq!(y0.classes[c], *a);
            }
            assert_eq!(y1, *e1.get(&z.id).unwrap());
        }
        let changed: f64 = t
            .get("100")
            .unwrap()
            .pairs
            .iter()
            .filter(|((f, to), _)| f != to)
            .map(|(_, a)| a.to_m2())
            .sum();
        assert!(changed > 1e6, "{changed} m² changed");
        if threads == 2 {
            let cw = Crosswalk::from_path(&fixture("change/corine-clc.csv")).unwrap();
            let set = CoefficientSet::builtin("xie2015").unwrap();
            let uv = UnitValues::from_set(&set, &ValuationParams::default()).unwrap();
            let a0 = TypeAreas::from_extent(&zones, &t.year0(), Some(&cw)).unwrap();
            let a1 = TypeAreas::from_extent(&zones, &t.year1(), Some(&cw)).unwrap();
            let ch = decompose(
                YearState {
                    year: 2006,
                    areas: &a0,
                    unit_values: &uv,
                },
                YearState {
                    year: 2012,
                    areas: &a1,
                    unit_values: &uv,
                },
                &ChangeOptions::default(),
            )
            .unwrap();
            let county = ch.zone_service("100", None).unwrap().nominal;
            let v1 = ch.zone_service("100001", None).unwrap().nominal;
            let v2 = ch.zone_service("100002", None).unwrap().nominal;
            assert!(county.total_yuan != 0.0);
            assert_eq!(county.land_yuan, county.total_yuan);
            assert_eq!((county.price_yuan, county.interaction_yuan), (0.0, 0.0));
            // The villages tile the county: their changes add up to its change.
            let sum = v1.total_yuan + v2.total_yuan;
            assert!(
                (sum - county.total_yuan).abs() <= 1e-9 * county.value0_yuan,
                "{sum} vs {}",
                county.total_yuan
            );
        }
    }
}

fn zone_flags() -> Vec<String> {
    vec![
        "--zones".into(),
        format!(
            "{}:county:code:name",
            fixture("change/lausanne_county.geojson").display()
        ),
        "--zones".into(),
        format!(
            "{}:village:code:name",
            fixture("change/lausanne_villages.geojson").display()
        ),
        "--coefficients".into(),
        "xie2015".into(),
        "--crosswalk".into(),
        fixture("change/corine-clc.csv").display().to_string(),
        "--landcover".into(),
        fixture("change/corine_lausanne_250m_2006.tif")
            .display()
            .to_string(),
        "--year".into(),
        "2006".into(),
    ]
}

/// `gep change` writes the matrices, whose row sums per zone are the 2006 extent a plain
/// `gep run` writes, and the decomposition.
#[test]
fn gep_change_on_lausanne() {
    let dir = tempdir();
    let out = dir.path().join("change");
    let run = dir.path().join("run");
    let mut args = vec!["change".to_string()];
    args.extend(zone_flags());
    args.extend([
        "--landcover1".into(),
        fixture("change/corine_lausanne_250m_2012.tif")
            .display()
            .to_string(),
        "--year1".into(),
        "2012".into(),
        "--out".into(),
        out.display().to_string(),
    ]);
    gep_ok(&args);
    for f in [
        "transitions.csv",
        "net_change.csv",
        "change.csv",
        "manifest.json",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let mut args = vec!["run".to_string()];
    args.extend(zone_flags());
    args.extend(["--out".into(), run.display().to_string()]);
    gep_ok(&args);
    let extent = gep_tests::extent_by_zone_class(&run);
    let t = read_csv(&out.join("transitions.csv"));
    let (z, f, a) = (t.col("zone_id"), t.col("from_class"), t.col("area_m2"));
    let mut rows: BTreeMap<(String, i64), f64> = BTreeMap::new();
    for r in &t.rows {
        if let Ok(c) = r[f].parse::<i64>() {
            *rows.entry((r[z].clone(), c)).or_default() += num(&r[a]);
        }
    }
    assert_eq!(rows.len(), extent.len());
    for (k, v) in &extent {
        let got = rows[k];
        assert!((got - v).abs() <= 1e-9 * v, "{k:?}: {got} vs {v}");
    }
    let c = read_csv(&out.join("change.csv"));
    let gep = c
        .maps()
        .into_iter()
        .find(|m| m["zone_id"] == "100" && m["service"] == "GEP")
        .map(|m| {
            (
                num(m["change_yuan"]),
                num(m["land_effect_yuan"]),
                num(m["price_effect_yuan"]),
            )
        })
        .unwrap();
    assert!(gep.0 != 0.0 && gep.0 == gep.1 && gep.2 == 0.0, "{gep:?}");
}

/// `gep parcels` and `gep appraise` on the Lausanne fixtures.
#[test]
fn gep_parcels_and_appraise_on_lausanne() {
    let dir = tempdir();
    let out = dir.path().join("parcels");
    let mut args = vec!["parcels".to_string()];
    args.extend(zone_flags());
    args.extend([
        "--parcels".into(),
        format!(
            "{}:pid:label",
            fixture("change/lausanne_parcels.geojson").display()
        ),
        "--out".into(),
        out.display().to_string(),
    ]);
    gep_ok(&args);
    let p = read_csv(&out.join("parcels.csv"));
    let maps = p.maps();
    assert_eq!(maps.len(), 2);
    assert!((num(maps[0]["polygon_area_m2"]) - 50_000.0).abs() < 1e-6);
    assert_eq!(maps[1]["smaller_than_cell"], "true");
    let v = read_csv(&out.join("parcel_villages.csv"));
    let shares: Vec<f64> = v
        .maps()
        .iter()
        .filter(|m| m["parcel_id"] == "P1")
        .map(|m| num(m["share"]))
        .collect();
    // P1 runs from 300 m west to 200 m east of the village line.
    assert_eq!(shares.len(), 2);
    assert!((shares[0] - 0.6).abs() < 1e-9 && (shares[1] - 0.4).abs() < 1e-9);
    assert!(out.join("package.csv").is_file() && out.join("parcel_accounts.csv").is_file());

    let out = dir.path().join("appraise");
    let mut args = vec!["appraise".to_string()];
    args.extend(zone_flags());
    args.extend([
        "--footprints".into(),
        format!(
            "{}:fid:new_class",
            fixture("change/lausanne_footprints.geojson").display()
        ),
        "--out".into(),
        out.display().to_string(),
    ]);
    gep_ok(&args);
    let a = read_csv(&out.join("appraisal.csv"));
    let gep: BTreeMap<String, f64> = a
        .maps()
        .iter()
        .filter(|m| m["service"] == "GEP")
        .map(|m| (m["zone_id"].to_string(), num(m["change_yuan"])))
        .collect();
    // F1 lies in the west village: it and the county change by the same amount, the east
    // village is not affected.
    assert_eq!(gep.len(), 2, "{gep:?}");
    assert!(gep["100001"] < 0.0);
    assert_eq!(gep["100001"], gep["100"]);
}
