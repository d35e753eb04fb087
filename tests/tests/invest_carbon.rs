//! InVEST Carbon (Willamette sample data) through `gep run`: the stock set read from the
//! InVEST biophysical table, compared with an independent numpy/rasterio sum
//! (`fixtures/reference/invest_carbon_willamette.{py,csv}`).

use gep_tests::{fixture, gep_ok, num, read_csv, tempdir};

// The raster's grid, typed from `gdalinfo fixtures/reference/willamette_lulc_30m.tif`
// (EPSG:26910, 30 m, 1325 x 1889).
const X0: f64 = 443_723.127_327_877_9;
const Y0: f64 = 4_956_546.905_980_413;
const COLS: f64 = 1325.0;
const ROWS: f64 = 1889.0;
const CELL: f64 = 30.0;
/// The zone extends this far beyond the raster on every side.
const MARGIN: f64 = 300.0;

#[test]
fn invest_carbon_total_matches_numpy_reference() {
    let dir = tempdir();
    let (x1, y1) = (X0 + COLS * CELL, Y0 - ROWS * CELL);
    let (a, b, c, d) = (X0 - MARGIN, Y0 + MARGIN, x1 + MARGIN, y1 - MARGIN);
    let zone = format!(
        r#"{{"type":"FeatureCollection",
"crs":{{"type":"name","properties":{{"name":"urn:ogc:def:crs:EPSG::26910"}}}},
"features":[{{"type":"Feature","properties":{{"id":"willamette"}},
"geometry":{{"type":"Polygon","coordinates":[[[{a},{d}],[{c},{d}],[{c},{b}],[{a},{b}],[{a},{d}]]]}}}}]}}"#
    );
    std::fs::write(dir.path().join("zone.geojson"), zone).unwrap();
    let toml = format!(
        r#"year = 2019
[landcover]
path = {lc:?}
[[zones]]
path = "zone.geojson"
level = "county"
id_field = "id"
[valuation]
coefficients = {co:?}
[output]
dir = "out"
"#,
        lc = fixture("reference/willamette_lulc_30m.tif"),
        co = fixture("willamette_carbon_pools.csv"),
    );
    let cfg = dir.path().join("gep.toml");
    std::fs::write(&cfg, toml).unwrap();
    // The table is a valid stock set on its own.
    let check = gep_ok(&[
        "coefficients",
        "check",
        fixture("willamette_carbon_pools.csv").to_str().unwrap(),
    ]);
    assert!(check.contains("ok"), "{check}");
    let run = gep_tests::gep_output(&["run", cfg.to_str().unwrap()]);
    assert!(run.status.success(), "{run:?}");
    // The zone reaches beyond the raster: the run says its totals cover only part of it.
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("beyond the raster"), "{stderr}");
    let out = dir.path().join("out");

    // Reference total: the TOTAL row of the numpy sum.
    let refr = read_csv(&fixture("reference/invest_carbon_willamette.csv"));
    let total_row = refr
        .rows
        .iter()
        .find(|r| r[refr.col("lucode")] == "TOTAL")
        .expect("TOTAL row");
    let want = num(&total_row[refr.col("carbon_t")]);
    let valid_cells = num(&total_row[refr.col("cells")]);

    let acc = read_csv(&out.join("accounts.csv"));
    let (q, svc, unit, val) = (
        acc.col("quantity"),
        acc.col("service"),
        acc.col("quantity_unit"),
        acc.col("value_yuan"),
    );
    let mut got = 0.0;
    for r in &acc.rows {
        assert_eq!(r[svc], "carbon_stock", "{r:?}");
        // A stock in t C is not money: no yuan value, a unit in quantity_unit.
        assert!(r[val].is_empty(), "carbon row with a yuan value: {r:?}");
        assert!(r[unit].contains('t'), "unexpected unit {:?}", r[unit]);
        got += num(&r[q]);
    }
    let rel = (got - want).abs() / want;
    eprintln!("carbon: gep {got} t C, reference {want} t C, relative deviation {rel:e}");
    assert!(rel <= 1e-9, "gep {got} t C vs reference {want} t C");

    // The zone is larger than the raster: the outside ring and the nodata cells are reported.
    let z = read_csv(&out.join("zones.csv"));
    assert_eq!(z.rows.len(), 1);
    let m = &z.maps()[0];
    let poly = (c - a) * (b - d);
    let raster = COLS * ROWS * CELL * CELL;
    let nodata = (COLS * ROWS - valid_cells) * CELL * CELL;
    for (col, want) in [
        ("polygon_area_m2", poly),
        ("outside_raster_area_m2", poly - raster),
        ("nodata_area_m2", nodata),
        ("covered_area_m2", raster - nodata),
    ] {
        let got = num(m[col]);
        assert!(
            (got - want).abs() <= 1e-9 * poly,
            "{col}: gep {got} m², expected {want} m²"
        );
    }
}
