//! A run small enough to check by hand: a 4 x 4 grid of 10 m CLCD cells in EPSG:4549 and two
//! rectangles whose per-class areas are worked out below, then one xie2015 account value from
//! the factor table of GEP-METHOD.md §3.

use std::collections::BTreeMap;

use gdal::raster::Buffer;
use gdal::spatial_ref::SpatialRef;
use gdal::DriverManager;
use gep_tests::{extent_by_zone_class, gep_ok, num, read_csv, tempdir};

const X0: f64 = 500_000.0;
const Y0: f64 = 3_300_000.0;

/// CLCD codes (1 cropland, 2 forest, 3 shrub, 5 water), row 0 at the top:
const CELLS: [u8; 16] = [
    2, 2, 5, 5, //
    2, 2, 5, 5, //
    3, 3, 5, 5, //
    3, 3, 1, 1, //
];

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> String {
    format!("[[[{x0},{y0}],[{x1},{y0}],[{x1},{y1}],[{x0},{y1}],[{x0},{y0}]]]")
}

#[test]
fn two_rectangles_on_a_4x4_grid() {
    let dir = tempdir();
    let tif = dir.path().join("lc.tif");
    {
        let drv = DriverManager::get_driver_by_name("GTiff").unwrap();
        let mut ds = drv.create_with_band_type::<u8, _>(&tif, 4, 4, 1).unwrap();
        ds.set_geo_transform(&[X0, 10.0, 0.0, Y0, 0.0, -10.0])
            .unwrap();
        ds.set_spatial_ref(&SpatialRef::from_epsg(4549).unwrap())
            .unwrap();
        let mut band = ds.rasterband(1).unwrap();
        band.set_no_data_value(Some(255.0)).unwrap();
        let mut buf = Buffer::new((4, 4), CELLS.to_vec());
        band.write((0, 0), (4, 4), &mut buf).unwrap();
    }
    // A: x 0..25 m, y 0..25 m down from the top-left corner — rows 0-1 and half of row 2,
    // columns 0-1 and half of column 2. B: x 25..40, y 25..40 — the lower half of row 2 and
    // row 3, half of column 2 and column 3.
    let a = rect(X0, Y0 - 25.0, X0 + 25.0, Y0);
    let b = rect(X0 + 25.0, Y0 - 40.0, X0 + 40.0, Y0 - 25.0);
    let geojson = format!(
        r#"{{"type":"FeatureCollection",
"crs":{{"type":"name","properties":{{"name":"urn:ogc:def:crs:EPSG::4549"}}}},
"features":[
{{"type":"Feature","properties":{{"code":"001"}},"geometry":{{"type":"Polygon","coordinates":{a}}}}},
{{"type":"Feature","properties":{{"code":"002"}},"geometry":{{"type":"Polygon","coordinates":{b}}}}}]}}"#
    );
    std::fs::write(dir.path().join("zones.geojson"), geojson).unwrap();
    std::fs::write(
        dir.path().join("gep.toml"),
        "year = 2020\n[landcover]\npath = \"lc.tif\"\n[[zones]]\npath = \"zones.geojson\"\nlevel = \"county\"\nid_field = \"code\"\n[valuation]\ncoefficients = \"xie2015\"\ncrosswalk = \"clcd\"\n[output]\ndir = \"out\"\nvalue_raster = true\n",
    )
    .unwrap();
    gep_ok(&["run", dir.path().join("gep.toml").to_str().unwrap()]);
    let out = dir.path().join("out");

    // By hand (m²):
    // A: forest 2 rows × 2 cells × 100 = 400; water 2 rows × half of column 2 (50) = 100, plus
    //    the quarter of cell (2,2) = 25 → 125; shrub half of row 2 × 2 cells = 2 × 50 = 100.
    //    Σ 625 = 25 × 25.
    // B: water quarter of (2,2) 25 + half of (2,3) 50 = 75; cropland half of (3,2) 50 + (3,3)
    //    100 = 150. Σ 225 = 15 × 15.
    let want: BTreeMap<(String, i64), f64> = [
        (("001", 2), 400.0),
        (("001", 3), 100.0),
        (("001", 5), 125.0),
        (("002", 1), 150.0),
        (("002", 5), 75.0),
    ]
    .into_iter()
    .map(|((z, c), a)| ((z.to_string(), c), a))
    .collect();
    let got = extent_by_zone_class(&out);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (k, w) in &want {
        assert!((got[k] - w).abs() <= 1e-9 * w, "{k:?}: {} vs {w}", got[k]);
    }

    // Zone ids keep their leading zeros.
    let z = read_csv(&out.join("zones.csv"));
    let ids: Vec<&str> = z
        .maps()
        .iter()
        .map(|m| m["zone_id"])
        .collect::<Vec<_>>()
        .into_iter()
        .collect();
    assert_eq!(ids, ["001", "002"]);

    // Xie et al. 2015 (GEP-METHOD.md §3): water climate regulation 2.29 equivalents, shrub 4.23;
    // D = 3406.5 元/ha/a. CLCD 5 → water, 3 → shrub.
    const D: f64 = 3406.5;
    let acc = read_csv(&out.join("accounts.csv"));
    let value = |zone: &str, eco: &str, svc: &str| -> f64 {
        let rows: Vec<_> = acc
            .maps()
            .into_iter()
            .filter(|m| m["zone_id"] == zone && m["ecosystem_type"] == eco && m["service"] == svc)
            .map(|m| num(m["value_yuan"]))
            .collect();
        assert_eq!(rows.len(), 1, "{zone} {eco} {svc}");
        rows[0]
    };
    for (zone, eco, area_m2, factor) in
        [("002", "water", 75.0, 2.29), ("001", "shrub", 100.0, 4.23)]
    {
        let want = area_m2 / 10_000.0 * factor * D;
        let got = value(zone, eco, "esv_climate_regulation");
        assert!(
            (got - want).abs() <= 1e-9 * want,
            "{zone} {eco}: {got} vs {want} 元"
        );
    }

    // The value-density raster: 元/ha/a per cell = Σ of the class's factors × D. Water (CLCD 5)
    // in Xie 2015: 0.80 + 0.23 + 8.29 + 0.77 + 2.29 + 5.55 + 102.24 + 0.93 + 0.07 + 2.55 + 1.89
    // = 125.61 equivalents; shrub (CLCD 3): 0.19 + 0.43 + 0.22 + 1.41 + 4.23 + 1.28 + 3.35 +
    // 1.72 + 0.13 + 1.57 + 0.69 = 15.22.
    let ds = gdal::Dataset::open(out.join("value_density.tif")).unwrap();
    assert_eq!(ds.raster_size(), (4, 4));
    assert_eq!(ds.geo_transform().unwrap(), [X0, 10.0, 0.0, Y0, 0.0, -10.0]);
    let band = ds.rasterband(1).unwrap();
    let v: Vec<f32> = band
        .read_as::<f32>((0, 0), (4, 4), (4, 4), None)
        .unwrap()
        .data()
        .to_vec();
    for (cell, equivalents) in [(2usize, 125.61f64), (8, 15.22)] {
        let want = equivalents * D;
        assert!(
            (v[cell] as f64 - want).abs() <= 1e-6 * want,
            "cell {cell}: {} vs {want} 元/ha/a",
            v[cell]
        );
    }
}
