mod common;

use common::{fixture, run};
use gep_core::{CrsKind, Level};
use gep_io::{read_zones, IoError, ZoneLayerSpec};
use std::path::Path;

fn counties_spec(path: &Path) -> ZoneLayerSpec {
    ZoneLayerSpec {
        name_field: Some("name".into()),
        ..ZoneLayerSpec::new(path, Level::County, "adcode")
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn reads_the_26_counties() {
    let l = read_zones(&counties_spec(&fixture("zj26_counties_cgcs2000.geojson"))).unwrap();
    assert_eq!(l.zones.len(), 26);
    assert_eq!(l.crs.epsg, Some(4490));
    assert!(
        matches!(l.crs.info.kind, CrsKind::Geographic(e) if e == gep_core::Ellipsoid::CGCS2000)
    );
    let chunan = l.zones.iter().find(|z| z.id == "330127").unwrap();
    assert_eq!(chunan.name, "淳安县");
    assert_eq!(chunan.level, Level::County);
    // x is longitude (traditional GIS order), whatever EPSG:4490's official axis order.
    let c = chunan.geometry.0[0].exterior().0[0];
    assert!(
        (118.0..120.0).contains(&c.x) && (29.0..30.5).contains(&c.y),
        "{c:?}"
    );
}

#[test]
fn missing_field_lists_the_fields() {
    let spec = ZoneLayerSpec::new(
        fixture("zj26_counties_cgcs2000.geojson"),
        Level::County,
        "code",
    );
    let e = read_zones(&spec).unwrap_err();
    assert!(matches!(e, IoError::MissingField { .. }), "{e}");
    let m = e.to_string();
    assert!(
        m.contains("\"code\"") && m.contains("adcode (String)") && m.contains("id_field"),
        "{m}"
    );
}

#[test]
fn duplicate_ids_are_rejected() {
    let spec = ZoneLayerSpec::new(
        fixture("zj26_counties_cgcs2000.geojson"),
        Level::County,
        "province",
    );
    let e = read_zones(&spec).unwrap_err().to_string();
    assert!(
        e.contains("浙江省") && e.contains("FID 0") && e.contains("FID 1"),
        "{e}"
    );
}

#[test]
fn numeric_ids_have_no_decimal_part_and_text_keeps_leading_zeros() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("typed.gpkg");
    let src = fixture("zj26_counties_cgcs2000.geojson");
    run(
        "ogr2ogr",
        &[
            "-dialect", "SQLite", "-nln", "c", "-sql",
            "SELECT CAST(adcode AS INTEGER) AS code_i, CAST(adcode AS REAL) AS code_r, '00' || adcode AS code_t, name, geometry FROM zj26_counties_cgcs2000",
            s(&out), s(&src),
        ],
    );
    for (field, want) in [
        ("code_i", "330127"),
        ("code_r", "330127"),
        ("code_t", "00330127"),
    ] {
        let spec = ZoneLayerSpec {
            layer: Some("c".into()),
            ..ZoneLayerSpec::new(&out, Level::County, field)
        };
        let l = read_zones(&spec).unwrap();
        assert!(
            l.zones.iter().any(|z| z.id == want),
            "{field}: {:?}",
            l.zones[0].id
        );
    }
    let spec = ZoneLayerSpec {
        layer: Some("nope".into()),
        ..ZoneLayerSpec::new(&out, Level::County, "code_i")
    };
    let e = read_zones(&spec).unwrap_err().to_string();
    assert!(e.contains("\"nope\"") && e.contains("layers: c"), "{e}");
}

#[test]
fn gbk_shapefile_without_cpg_needs_the_encoding_option() {
    let dir = tempfile::tempdir().unwrap();
    let shp = dir.path().join("counties_gbk.shp");
    let src = fixture("zj26_counties_cgcs2000.geojson");
    // The command from CONTRACTS.md; then delete the .cpg as a real-world file would lack it.
    run("ogr2ogr", &["-lco", "ENCODING=GBK", s(&shp), s(&src)]);
    std::fs::remove_file(shp.with_extension("cpg")).unwrap();

    let mut spec = counties_spec(&shp);
    spec.encoding = Some("GBK".into());
    let l = read_zones(&spec).unwrap();
    let names: Vec<&str> = l.zones.iter().map(|z| z.name.as_str()).collect();
    assert!(names.contains(&"淳安县"), "{names:?}");
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);

    spec.encoding = None;
    let raw = read_zones(&spec).unwrap();
    let chunan = raw.zones.iter().find(|z| z.id == "330127").unwrap();
    assert_ne!(chunan.name, "淳安县");
    // ... and the user is told, with the fix.
    assert_eq!(raw.warnings.len(), 1, "{:?}", raw.warnings);
    assert!(
        raw.warnings[0].contains("26 of 26") && raw.warnings[0].contains("encoding = \"GBK\""),
        "{}",
        raw.warnings[0]
    );

    // An encoding on a UTF-8 format is a configuration error, not silently ignored.
    let mut spec = counties_spec(&src);
    spec.encoding = Some("GBK".into());
    let e = read_zones(&spec).unwrap_err().to_string();
    assert!(e.contains("Shapefiles"), "{e}");
}

#[test]
fn missing_crs_is_rejected_unless_given() {
    let dir = tempfile::tempdir().unwrap();
    let shp = dir.path().join("no_prj.shp");
    run(
        "ogr2ogr",
        &[
            "-lco",
            "ENCODING=UTF-8",
            s(&shp),
            s(&fixture("zj26_counties_cgcs2000.geojson")),
        ],
    );
    std::fs::remove_file(shp.with_extension("prj")).unwrap();
    let mut spec = counties_spec(&shp);
    let e = read_zones(&spec).unwrap_err();
    assert!(matches!(e, IoError::MissingCrs { .. }), "{e}");
    assert!(e.to_string().contains("no_prj.shp"), "{e}");
    spec.crs = Some("EPSG:4490".into());
    assert_eq!(read_zones(&spec).unwrap().crs.epsg, Some(4490));
}

#[test]
fn invalid_polygons_are_rejected_naming_fid_and_id() {
    let spec = ZoneLayerSpec::new(
        fixture("dirty/lishui_counties_quantized_invalid_gcj02.geojson"),
        Level::County,
        "id",
    );
    let e = read_zones(&spec).unwrap_err();
    assert!(matches!(e, IoError::InvalidGeometry { .. }), "{e}");
    let m = e.to_string();
    assert!(
        m.contains("FID 0") && m.contains("(id \"3311") && m.contains("ogr2ogr -makevalid"),
        "{m}"
    );
    assert!(
        m.contains("lishui_counties_quantized_invalid_gcj02.geojson"),
        "{m}"
    );
    assert!(m.contains("Self-intersection"), "{m}");
    eprintln!("{m}");
}

#[test]
fn points_and_empty_layers_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixture("zj26_counties_cgcs2000.geojson");
    let pts = dir.path().join("points.gpkg");
    run(
        "ogr2ogr",
        &[
            "-dialect",
            "SQLite",
            "-nln",
            "p",
            "-sql",
            "SELECT adcode, ST_Centroid(geometry) AS geometry FROM zj26_counties_cgcs2000",
            s(&pts),
            s(&src),
        ],
    );
    let e = read_zones(&ZoneLayerSpec::new(&pts, Level::County, "adcode"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("FID 1") && e.contains("330127") && e.contains("Point"),
        "{e}"
    );
    let empty = dir.path().join("empty.gpkg");
    run(
        "ogr2ogr",
        &["-where", "adcode = 'none'", "-nln", "e", s(&empty), s(&src)],
    );
    let e = read_zones(&ZoneLayerSpec::new(&empty, Level::County, "adcode")).unwrap_err();
    assert!(matches!(e, IoError::EmptyLayer { .. }), "{e}");
}

#[test]
fn polygons_with_z_are_read_in_2d() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("z.gpkg");
    let src = fixture("zj26_counties_cgcs2000.geojson");
    run("ogr2ogr", &["-dim", "XYZ", "-nln", "z", s(&out), s(&src)]);
    let z = read_zones(&counties_spec(&out)).unwrap();
    let flat = read_zones(&counties_spec(&src)).unwrap();
    assert_eq!(z.zones[5].geometry, flat.zones[5].geometry);
}
