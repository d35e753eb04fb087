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
    // The report: one matrix row per ecosystem type of the county in 2006 (plus nodata when
    // some of it had none), one map path per village, listed in the manifest.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let types0: std::collections::BTreeSet<&str> = c
        .maps()
        .into_iter()
        .filter(|m| {
            m["zone_id"] == "100" && m["ecosystem_type"] != "*" && !m["area0_ha"].is_empty()
        })
        .filter(|m| num(m["area0_ha"]) > 0.0)
        .map(|m| m["ecosystem_type"])
        .collect();
    let nodata0 = t.rows.iter().any(|r| r[z] == "100" && r[f] == "nodata");
    assert_eq!(
        html.matches("<tr class=\"from-row\">").count(),
        types0.len() + usize::from(nodata0)
    );
    let map = &html[html.find("<g class=\"zones\"").unwrap()..];
    assert_eq!(
        map[..map.find("</g>").unwrap()].matches("<path ").count(),
        2
    );
    assert!(!html.contains("http://") && !html.contains("https://"));
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"report.html\""), "{manifest}");
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
    // The report's map shows the two villages; the footprint converts land to built-up.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("土地变化效应"),
        "the default language is Chinese"
    );
    let map = &html[html.find("<g class=\"zones\"").unwrap()..];
    assert_eq!(
        map[..map.find("</g>").unwrap()].matches("<path ").count(),
        2
    );
    assert!(html.matches("<tr class=\"from-row\">").count() >= 1);
    assert!(gep["100001"] < 0.0);
    assert_eq!(gep["100001"], gep["100"]);
}

/// The flags of a `gep run` (or the first year of `gep change`) over the Lausanne zones with
/// the given coefficient set, land cover and year.
fn run_flags(set: &str, year: u32) -> Vec<String> {
    let mut f = zone_flags();
    let set_at = f.iter().position(|a| a == "--coefficients").unwrap() + 1;
    f[set_at] = fixture(&format!("change/{set}")).display().to_string();
    let lc_at = f.iter().position(|a| a == "--landcover").unwrap() + 1;
    f[lc_at] = fixture(&format!("change/corine_lausanne_250m_{year}.tif"))
        .display()
        .to_string();
    let y_at = f.iter().position(|a| a == "--year").unwrap() + 1;
    f[y_at] = year.to_string();
    f
}

/// GEP by zone from a run's gep.csv.
fn gep_by_zone(out: &std::path::Path) -> BTreeMap<String, f64> {
    let g = read_csv(&out.join("gep.csv"));
    g.maps()
        .iter()
        .map(|m| (m["zone_id"].to_string(), num(m["gep_yuan"])))
        .collect()
}

/// Test values of fixtures/change/lausanne-set-{2006,2012}.csv for esv_climate_regulation,
/// typed here from the files' rows: (type, 2006 equivalent factor (× D = 3000 元/ha/a),
/// 2012 元/亩/a (× 15 亩/ha)).
const CLIMATE: [(&str, f64, f64); 15] = [
    ("built_up", 0.0, 0.0),
    ("dry_farmland", 0.4, 100.0),
    ("paddy", 0.6, 130.0),
    ("orchard", 4.0, 850.0),
    ("grassland", 5.0, 1000.0),
    ("cropland", 0.5, 110.0),
    ("forest_sparse", 4.0, 800.0),
    ("forest_broadleaf", 6.5, 1500.0),
    ("forest_conifer", 5.0, 1100.0),
    ("forest_mixed", 7.0, 1550.0),
    ("shrub", 4.0, 800.0),
    ("bare", 0.1, 20.0),
    ("snow_ice", 0.2, 40.0),
    ("wetland", 8.0, 1700.0),
    ("water", 2.0, 420.0),
];

/// A real two-year case with different coefficient sets and price years: 2006 valued with an
/// equivalent-factor set in 2006 prices, 2012 with a 元/亩 set in 2012 prices. Per zone,
/// `gep change`'s total equals (2012 `gep run` GEP) − (2006 `gep run` GEP) from two
/// independent runs; the land, price and interaction effects add up to it exactly; one zone's
/// price effect is worked out by hand from the 2006 areas; the real change (2006 prices,
/// index 2006 = 100, 2012 = 125) restates 2012 by 0.8.
#[test]
fn gep_change_across_sets_and_price_years() {
    let dir = tempdir();
    let (run0, run1, out) = (
        dir.path().join("run2006"),
        dir.path().join("run2012"),
        dir.path().join("change"),
    );
    let mut a = vec!["run".to_string()];
    a.extend(run_flags("lausanne-set-2006.csv", 2006));
    a.extend(["--out".into(), run0.display().to_string()]);
    gep_ok(&a);
    let mut a = vec!["run".to_string()];
    a.extend(run_flags("lausanne-set-2012.csv", 2012));
    a.extend(["--out".into(), run1.display().to_string()]);
    gep_ok(&a);
    let mut a = vec!["change".to_string()];
    a.extend(run_flags("lausanne-set-2006.csv", 2006));
    a.extend([
        "--landcover1".into(),
        fixture("change/corine_lausanne_250m_2012.tif")
            .display()
            .to_string(),
        "--year1".into(),
        "2012".into(),
        "--coefficients1".into(),
        fixture("change/lausanne-set-2012.csv")
            .display()
            .to_string(),
        "--deflator".into(),
        fixture("change/lausanne-deflator.csv")
            .display()
            .to_string(),
        "--real-price-year".into(),
        "2006".into(),
        "--out".into(),
        out.display().to_string(),
    ]);
    gep_ok(&a);
    let (g0, g1) = (gep_by_zone(&run0), gep_by_zone(&run1));
    assert_eq!(g0.len(), 3);
    let c = read_csv(&out.join("change.csv"));
    let maps = c.maps();
    let gep_rows: Vec<_> = maps.iter().filter(|m| m["service"] == "GEP").collect();
    assert_eq!(gep_rows.len(), 3);
    for m in &gep_rows {
        let z = m["zone_id"];
        let (v0, v1) = (g0[z], g1[z]);
        let scale = v0.abs().max(v1.abs());
        let close = |a: f64, b: f64, what: &str| {
            assert!(
                (a - b).abs() <= 1e-12 * scale,
                "zone {z} {what}: {a} vs {b}"
            )
        };
        close(num(m["value0_yuan"]), v0, "value0");
        close(num(m["value1_yuan"]), v1, "value1");
        let total = num(m["change_yuan"]);
        close(total, v1 - v0, "change vs the two runs");
        let (land, price, inter) = (
            num(m["land_effect_yuan"]),
            num(m["price_effect_yuan"]),
            num(m["interaction_yuan"]),
        );
        // Each printed number is its exact value rounded once: the exact sum of the three
        // effects minus the total is within 2 ulp of the largest.
        let mut s = gep_core::change::ExactF64Sum::default();
        for x in [land, price, inter, -total] {
            s.add(x);
        }
        let big = land.abs().max(price.abs()).max(total.abs());
        assert!(
            s.value().abs() <= 2.0 * f64::EPSILON * big,
            "zone {z}: {m:?}"
        );
        assert!(
            land != 0.0 && price != 0.0 && inter != 0.0,
            "zone {z}: {m:?}"
        );
        // Real: 2012 in 2006 prices is × 100/125.
        let rv1 = num(m["real_value1_yuan"]);
        close(rv1, 0.8 * v1, "real value1");
        close(num(m["real_change_yuan"]), 0.8 * v1 - v0, "real change");
        assert_eq!(m["real_price_year"], "2006");
    }
    // By hand: the west village's price effect for climate regulation is Σ over types of the
    // 2006 area × (2012 unit value − 2006 unit value), the areas from the 2006 run.
    let acc = read_csv(&run0.join("accounts.csv"));
    let mut hand = 0.0;
    let mut n = 0;
    for m in acc.maps() {
        if m["zone_id"] != "100001" || m["service"] != "esv_climate_regulation" {
            continue;
        }
        let (_, f, mu) = CLIMATE
            .iter()
            .find(|(t, _, _)| *t == m["ecosystem_type"])
            .unwrap_or_else(|| panic!("type {} not in the test's table", m["ecosystem_type"]));
        hand += num(m["area_ha"]) * (mu * 15.0 - f * 3000.0);
        n += 1;
    }
    assert!(n >= 5, "{n} types in the west village");
    let row = maps
        .iter()
        .find(|m| {
            m["zone_id"] == "100001"
                && m["service"] == "esv_climate_regulation"
                && m["ecosystem_type"] == "*"
        })
        .unwrap();
    let got = num(row["price_effect_yuan"]);
    assert!(
        (got - hand).abs() <= 1e-9 * hand.abs(),
        "price effect {got} vs by hand {hand}"
    );
    // The price effect of a type is its 2006 area × the change of its unit value: forest.
    let f = maps
        .iter()
        .find(|m| {
            m["zone_id"] == "100001"
                && m["service"] == "esv_climate_regulation"
                && m["ecosystem_type"] == "forest_broadleaf"
        })
        .unwrap();
    assert_eq!(num(f["unit_value0"]), 6.5 * 3000.0);
    assert_eq!(num(f["unit_value1"]), 1500.0 * 15.0);
    let expect = num(f["area0_ha"]) * (22_500.0 - 19_500.0);
    assert!((num(f["price_effect_yuan"]) - expect).abs() <= 1e-9 * expect);
}

/// `gep parcels` writes `parcels.gpkg`: read back with GDAL, its CRS is the parcel file's
/// (lon/lat here, not the raster's LV95), its outlines are the input's as read, and its
/// fields equal `parcels.csv` (and the villages with shares `parcel_villages.csv`).
#[test]
fn gep_parcels_geopackage_layer() {
    use gdal::vector::LayerAccess;
    let dir = tempdir();
    let out = dir.path().join("parcels");
    let input = fixture("change/lausanne_parcels_wgs84.geojson");
    let mut args = vec!["parcels".to_string()];
    args.extend(zone_flags());
    args.extend([
        "--parcels".into(),
        format!("{}:pid:label", input.display()),
        "--out".into(),
        out.display().to_string(),
    ]);
    gep_ok(&args);
    let src = gdal::Dataset::open(&input).unwrap();
    let mut src_layer = src.layer(0).unwrap();
    let src_srs = src_layer.spatial_ref().unwrap();
    let src_geoms: Vec<String> = src_layer
        .features()
        .map(|f| f.geometry().unwrap().wkt().unwrap())
        .collect();
    let ds = gdal::Dataset::open(out.join("parcels.gpkg")).unwrap();
    let mut layer = ds.layer_by_name("parcels").unwrap();
    let srs = layer.spatial_ref().unwrap();
    assert!(srs.is_geographic() && !srs.is_projected());
    // The same CRS as the input file's (OSRIsSame; the GeoJSON's CRS84 is EPSG:4326 in
    // traditional lon/lat order).
    assert!(
        srs == src_srs,
        "{:?} vs {:?}",
        srs.to_wkt(),
        src_srs.to_wkt()
    );
    let csv = read_csv(&out.join("parcels.csv"));
    let rows = csv.maps();
    let villages = read_csv(&out.join("parcel_villages.csv"));
    let vmaps = villages.maps();
    let feats: Vec<_> = layer.features().collect();
    assert_eq!(feats.len(), rows.len());
    assert_eq!(rows.len(), 2);
    for ((f, r), src_wkt) in feats.iter().zip(&rows).zip(&src_geoms) {
        // The outline as read: the same coordinates as the input file's (GeoJSON Polygon,
        // written as a MultiPolygon of one part).
        let g = f.geometry().unwrap();
        let num_re = |w: &str| -> Vec<f64> {
            w.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == 'e'))
                .filter(|s| !s.is_empty())
                .filter_map(|s| s.parse().ok())
                .collect()
        };
        let (got, want) = (num_re(&g.wkt().unwrap()), num_re(src_wkt));
        assert_eq!(got.len(), want.len());
        for (x, y) in got.iter().zip(&want) {
            assert!((x - y).abs() <= 1e-12 * y.abs(), "{x} vs {y}");
        }
        for col in &csv.headers {
            let want = r[col.as_str()];
            let idx = f
                .field_index(col)
                .unwrap_or_else(|_| panic!("no field {col}"));
            let got = f.field(idx).unwrap();
            match col.as_str() {
                "parcel_id" | "name" | "area_basis" => {
                    assert_eq!(got.and_then(|v| v.into_string()).unwrap(), want, "{col}")
                }
                "smaller_than_cell" => assert_eq!(
                    got.and_then(|v| v.into_int64()).unwrap(),
                    i64::from(want == "true"),
                    "{col}"
                ),
                "villages" => assert_eq!(
                    got.and_then(|v| v.into_int64()).unwrap().to_string(),
                    want,
                    "{col}"
                ),
                _ => assert_eq!(
                    got.and_then(|v| v.into_real()).unwrap(),
                    num(want),
                    "{col} of {}",
                    r["parcel_id"]
                ),
            }
        }
        let pid = r["parcel_id"];
        let field = |n: &str| {
            f.field(f.field_index(n).unwrap())
                .unwrap()
                .and_then(|v| v.into_string())
                .unwrap_or_default()
        };
        let mine: Vec<&BTreeMap<&str, &str>> =
            vmaps.iter().filter(|m| m["parcel_id"] == pid).collect();
        let ids: Vec<&str> = mine.iter().map(|m| m["village_id"]).collect();
        assert_eq!(field("village_ids"), ids.join(";"));
        let shares: Vec<f64> = field("village_shares")
            .split(';')
            .filter(|s| !s.is_empty())
            .map(num)
            .collect();
        let want: Vec<f64> = mine.iter().map(|m| num(m["share"])).collect();
        assert_eq!(shares, want);
        // Area by type and value by service are there: the values add up to gep_yuan.
        let mut total = 0.0;
        for (n, v) in f.fields() {
            if n.starts_with("value_") {
                total += v.and_then(|v| v.into_real()).unwrap_or(0.0);
            }
        }
        assert!(f
            .fields()
            .any(|(n, _)| n.starts_with("area_") && n.ends_with("_ha")));
        let gep = num(r["gep_yuan"]);
        assert!(
            (total - gep).abs() <= 1e-9 * gep.abs().max(1.0),
            "{total} vs {gep}"
        );
    }
}

/// fixtures/change/lausanne-set-2006.csv's food factors, typed here (NA = no value).
const FOOD_2006: [(&str, Option<f64>); 15] = [
    ("built_up", None),
    ("dry_farmland", Some(0.85)),
    ("paddy", Some(1.4)),
    ("orchard", Some(0.2)),
    ("grassland", Some(0.4)),
    ("cropland", Some(1.1)),
    ("forest_sparse", Some(0.2)),
    ("forest_broadleaf", Some(0.3)),
    ("forest_conifer", Some(0.2)),
    ("forest_mixed", Some(0.3)),
    ("shrub", Some(0.2)),
    ("bare", Some(0.0)),
    ("snow_ice", Some(0.0)),
    ("wetland", Some(0.5)),
    ("water", Some(0.8)),
];

/// `gep appraise --scenario`: a scenario raster equal to the 2006 land cover except a block
/// of 10 x 10 cells inside the west village turned into continuous urban fabric (CLC 1,
/// built-up, worth 0). Only the west village and the county change, by the same amount:
/// minus Σ over the block's cells of cell area × the 2006 set's value of the cell's type
/// ((climate + food factor) × 3000 元/ha/a), worked out here from the raster's cells.
#[test]
fn gep_appraise_scenario_raster() {
    use gdal::raster::Buffer;
    let dir = tempdir();
    let base = fixture("change/corine_lausanne_250m_2006.tif");
    let src = gdal::Dataset::open(&base).unwrap();
    let band = src.rasterband(1).unwrap();
    let (cols, rows) = band.size();
    let mut buf: Buffer<u8> = band
        .read_as((0, 0), (cols, rows), (cols, rows), None)
        .unwrap();
    let gt = src.geo_transform().unwrap();
    let cell_ha = (gt[1] * gt[5]).abs() / 1e4;
    // The block: rows 85..95, columns 46..56: x ≈ 2523496 to 2525995, y ≈ 1156722 to
    // 1154223, inside the west village (x < 2535000) and the county, no nodata, 5 classes.
    assert!(gt[0] + 56.0 * gt[1] < 2_535_000.0 && gt[0] + 46.0 * gt[1] > 2_512_500.0);
    assert!(gt[3] + 85.0 * gt[5] < 1_177_500.0 && gt[3] + 95.0 * gt[5] > 1_146_000.0);
    let cw = gep_core::Crosswalk::from_path(&fixture("change/corine-clc.csv")).unwrap();
    let value = |t: &str| {
        let clim = CLIMATE.iter().find(|c| c.0 == t).unwrap().1;
        let food = FOOD_2006
            .iter()
            .find(|c| c.0 == t)
            .unwrap()
            .1
            .unwrap_or(0.0);
        (clim + food) * 3000.0
    };
    let mut hand = 0.0;
    let mut changed = 0;
    for r in 85..95 {
        for c in 46..56 {
            let i = r * cols + c;
            let class = buf.data()[i];
            assert_ne!(class, 255, "nodata in the block");
            let parts = cw.lookup(i32::from(class)).unwrap();
            assert_eq!(parts.len(), 1);
            if class != 1 {
                hand -= cell_ha * value(&parts[0].0);
                changed += 1;
            }
            buf.data_mut()[i] = 1;
        }
    }
    assert!(changed > 50, "{changed} cells change");
    let scen = dir.path().join("scenario.tif");
    {
        let drv = gdal::DriverManager::get_driver_by_name("GTiff").unwrap();
        let mut ds = drv
            .create_with_band_type::<u8, _>(&scen, cols, rows, 1)
            .unwrap();
        ds.set_geo_transform(&gt).unwrap();
        ds.set_projection(&src.projection()).unwrap();
        let mut b = ds.rasterband(1).unwrap();
        b.set_no_data_value(Some(255.0)).unwrap();
        b.write((0, 0), (cols, rows), &mut buf).unwrap();
    }
    let out = dir.path().join("appraise");
    let mut args = vec!["appraise".to_string()];
    args.extend(run_flags("lausanne-set-2006.csv", 2006));
    args.extend([
        "--scenario".into(),
        scen.display().to_string(),
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
    assert_eq!(
        gep.keys().collect::<Vec<_>>(),
        vec!["100", "100001"],
        "{gep:?}"
    );
    assert_eq!(gep["100"], gep["100001"]);
    let got = gep["100001"];
    assert!(
        (got - hand).abs() <= 1e-9 * hand.abs(),
        "{got} vs by hand {hand}"
    );
    assert!(out.join("report.html").is_file());
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(manifest.contains("landcover:scenario"));
}

/// Writes band 1 of `src`'s window (col, row, cols, rows) as a new GeoTIFF at `dest`, with
/// the geotransform moved to the window's corner (the same cells, a different grid).
fn crop(src: &std::path::Path, dest: &std::path::Path, win: (usize, usize, usize, usize)) {
    crop_with(src, dest, win, true)
}

/// [`crop`], with or without the source's nodata value.
fn crop_with(
    src: &std::path::Path,
    dest: &std::path::Path,
    win: (usize, usize, usize, usize),
    nodata: bool,
) {
    let ds = gdal::Dataset::open(src).unwrap();
    let band = ds.rasterband(1).unwrap();
    let (c0, r0, w, h) = win;
    let mut buf = band
        .read_as::<u8>((c0 as isize, r0 as isize), (w, h), (w, h), None)
        .unwrap();
    let mut gt = ds.geo_transform().unwrap();
    gt[0] += c0 as f64 * gt[1];
    gt[3] += r0 as f64 * gt[5];
    let drv = gdal::DriverManager::get_driver_by_name("GTiff").unwrap();
    let mut out = drv.create_with_band_type::<u8, _>(dest, w, h, 1).unwrap();
    out.set_geo_transform(&gt).unwrap();
    out.set_projection(&ds.projection()).unwrap();
    let mut b = out.rasterband(1).unwrap();
    if nodata {
        b.set_no_data_value(band.no_data_value()).unwrap();
    }
    b.write((0, 0), (w, h), &mut buf).unwrap();
}

/// `gep change` with a second year on another grid (the 2012 raster cropped by one cell on
/// the top and left: origin moved by whole cells, 188 x 129 cells) warps it onto the first
/// year's grid with nearest neighbour instead of refusing. The cells line up, so every
/// zone's transitions (the zones lie inside the crop) are those of the uncropped 2012 raster,
/// number for number; the manifest carries the warning.
#[test]
fn gep_change_warps_the_second_year() {
    let dir = tempdir();
    let cropped = dir.path().join("clc2012_cropped.tif");
    crop(
        &fixture("change/corine_lausanne_250m_2012.tif"),
        &cropped,
        (1, 1, 188, 129),
    );
    let run = |year1: &std::path::Path, out: &std::path::Path| {
        let mut a = vec!["change".to_string()];
        a.extend(zone_flags());
        a.extend([
            "--landcover1".into(),
            year1.display().to_string(),
            "--year1".into(),
            "2012".into(),
            "--out".into(),
            out.display().to_string(),
        ]);
        gep_ok(&a);
    };
    let (o1, o2) = (dir.path().join("same"), dir.path().join("warped"));
    run(&fixture("change/corine_lausanne_250m_2012.tif"), &o1);
    run(&cropped, &o2);
    let a = std::fs::read_to_string(o1.join("transitions.csv")).unwrap();
    let b = std::fs::read_to_string(o2.join("transitions.csv")).unwrap();
    assert!(a.lines().count() > 10);
    assert_eq!(a, b);
    let manifest = std::fs::read_to_string(o2.join("manifest.json")).unwrap();
    assert!(
        manifest.contains("warped onto it with nearest neighbour"),
        "{manifest}"
    );
    let manifest = std::fs::read_to_string(o1.join("manifest.json")).unwrap();
    assert!(!manifest.contains("warped onto it"));
}

/// Bad inputs of the second part: exit 2, a message naming the file and the fix, no output
/// directory. A scenario raster on another grid; footprints and a scenario together; a
/// second year on another grid without a nodata value (the warp would fill with a class).
#[test]
fn change_and_scenario_bad_inputs() {
    let dir = tempdir();
    // The 2012 raster cropped: another grid.
    let cropped = dir.path().join("cropped.tif");
    crop(
        &fixture("change/corine_lausanne_250m_2012.tif"),
        &cropped,
        (1, 1, 188, 129),
    );
    let out = dir.path().join("out");
    let check = |args: Vec<String>, needles: &[&str]| {
        let o = gep_tests::gep_output(&args);
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(2), "{err}");
        for n in needles {
            assert!(err.contains(n), "{n:?} not in: {err}");
        }
        assert!(!out.exists(), "an output directory was left");
    };
    let mut a = vec!["appraise".to_string()];
    a.extend(run_flags("lausanne-set-2006.csv", 2006));
    a.extend([
        "--scenario".into(),
        cropped.display().to_string(),
        "--out".into(),
        out.display().to_string(),
    ]);
    check(a.clone(), &["cropped.tif", "gdalwarp -r near"]);
    a.extend([
        "--footprints".into(),
        format!(
            "{}:fid:new_class",
            fixture("change/lausanne_footprints.geojson").display()
        ),
    ]);
    check(a, &["--scenario"]);
    // A second year without nodata on another grid.
    let no_nodata = dir.path().join("no_nodata.tif");
    crop_with(
        &fixture("change/corine_lausanne_250m_2012.tif"),
        &no_nodata,
        (1, 1, 188, 129),
        false,
    );
    let mut a = vec!["change".to_string()];
    a.extend(zone_flags());
    a.extend([
        "--landcover1".into(),
        no_nodata.display().to_string(),
        "--year1".into(),
        "2012".into(),
        "--out".into(),
        out.display().to_string(),
    ]);
    check(a, &["no_nodata.tif", "nodata"]);
}
