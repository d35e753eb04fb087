//! Σ class areas of a zone inside the raster = the polygon's planar area (SpatiaLite
//! `ST_Area` reference in fixtures/reference/ogr_area_yunhe_villages_epsg4549.csv), to 1e-12.
//! This is the check behind "exact": exactextract itself is only within ~5e-8 here.

use gep_tests::{fixture, gep_ok, num, read_csv, tempdir};

#[test]
fn yunhe_village_areas_match_spatialite_to_1e_12() {
    let dir = tempdir();
    let out = dir.path().join("out");
    gep_ok(&[
        "run",
        "--landcover",
        fixture("mcd12c1_2019_igbp_zj_epsg4549_1km.tif")
            .to_str()
            .unwrap(),
        "--zones",
        &format!(
            "{}:village:zone_id",
            fixture("yunhe_villages_epsg4549.geojson").display()
        ),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    let reference = read_csv(&fixture("reference/ogr_area_yunhe_villages_epsg4549.csv"));
    let zones = read_csv(&out.join("zones.csv"));
    let (zid, cov, nod, outside) = (
        zones.col("zone_id"),
        zones.col("covered_area_m2"),
        zones.col("nodata_area_m2"),
        zones.col("outside_raster_area_m2"),
    );
    let (rid, ra) = (reference.col("zone_id"), reference.col("area_m2"));
    assert_eq!(reference.rows.len(), 87);
    let mut max_rel = 0.0f64;
    for r in &reference.rows {
        let z = zones
            .rows
            .iter()
            .find(|z| z[zid] == r[rid])
            .unwrap_or_else(|| panic!("zone {} missing", r[rid]));
        assert_eq!(num(&z[outside]), 0.0, "{} lies inside the raster", r[rid]);
        let ours = num(&z[cov]) + num(&z[nod]);
        let want = num(&r[ra]);
        let rel = (ours - want).abs() / want;
        max_rel = max_rel.max(rel);
        assert!(rel < 1e-12, "{}: {ours} vs {want} (rel {rel:e})", r[rid]);
    }
    eprintln!("max rel deviation from SpatiaLite areas: {max_rel:e}");
}
