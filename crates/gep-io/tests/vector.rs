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

/// The counties as a GBK Shapefile without .cpg (the command of CONTRACTS.md, then the .cpg
/// deleted as a real-world file would lack it).
fn gbk_shapefile(dir: &Path) -> std::path::PathBuf {
    let shp = dir.join("counties_gbk.shp");
    let src = fixture("zj26_counties_cgcs2000.geojson");
    run("ogr2ogr", &["-lco", "ENCODING=GBK", s(&shp), s(&src)]);
    std::fs::remove_file(shp.with_extension("cpg")).unwrap();
    shp
}

/// Replaces the first occurrence of `from` in a file by `to` (same length).
fn patch(path: &Path, from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let mut b = std::fs::read(path).unwrap();
    let at = b
        .windows(from.len())
        .position(|w| w == from)
        .unwrap_or_else(|| panic!("{from:?} not in {}", path.display()));
    b[at..at + to.len()].copy_from_slice(to);
    std::fs::write(path, b).unwrap();
}

/// 淳安县 in GBK, and the same with its middle character made invalid in UTF-8 and GB18030.
const CHUNAN_GBK: &[u8] = &[0xB4, 0xBE, 0xB0, 0xB2, 0xCF, 0xD8];
const CHUNAN_BROKEN: &[u8] = &[0xB4, 0xBE, 0xFF, 0xFF, 0xCF, 0xD8];

fn no_replacement_characters(l: &gep_io::ZoneLayer) {
    for z in &l.zones {
        assert!(
            !z.name.contains('\u{fffd}') && !z.id.contains('\u{fffd}'),
            "{z:?}"
        );
    }
}

#[test]
fn gbk_shapefile_without_cpg_is_read_as_gbk_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let shp = gbk_shapefile(dir.path());

    let mut spec = counties_spec(&shp);
    spec.encoding = Some("GBK".into());
    let l = read_zones(&spec).unwrap();
    let names: Vec<&str> = l.zones.iter().map(|z| z.name.as_str()).collect();
    assert!(names.contains(&"淳安县"), "{names:?}");
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);

    // Without `encoding`: the same names, and a warning naming the file and the fix.
    spec.encoding = None;
    let guessed = read_zones(&spec).unwrap();
    let guessed_names: Vec<&str> = guessed.zones.iter().map(|z| z.name.as_str()).collect();
    assert_eq!(guessed_names, names);
    assert_eq!(guessed.warnings.len(), 1, "{:?}", guessed.warnings);
    let w = &guessed.warnings[0];
    assert!(
        w.contains("counties_gbk.shp")
            && w.contains("read it as GBK")
            && w.contains("encoding = \"GBK\"")
            && w.contains("counties_gbk.cpg"),
        "{w}"
    );

    // An encoding on a UTF-8 format is a configuration error, not silently ignored.
    let mut spec = counties_spec(&fixture("zj26_counties_cgcs2000.geojson"));
    spec.encoding = Some("GBK".into());
    let e = read_zones(&spec).unwrap_err().to_string();
    assert!(e.contains("Shapefiles"), "{e}");
}

#[test]
fn text_valid_in_no_encoding_is_an_error_naming_fid_field_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let shp = gbk_shapefile(dir.path());
    patch(&shp.with_extension("dbf"), CHUNAN_GBK, CHUNAN_BROKEN);
    let e = read_zones(&counties_spec(&shp)).unwrap_err();
    assert!(matches!(e, IoError::BadText { .. }), "{e}");
    let m = e.to_string();
    assert!(
        m.contains("counties_gbk.shp")
            && m.contains("FID 0")
            && m.contains("field \"name\"")
            && m.contains(r"\xB4\xBE\xFF\xFF\xCF\xD8")
            && m.contains("encoding = "),
        "{m}"
    );
    // Declaring GBK does not help: the bytes are invalid GBK.
    let mut spec = counties_spec(&shp);
    spec.encoding = Some("CP936".into());
    let m = read_zones(&spec).unwrap_err().to_string();
    assert!(m.contains("not valid GBK") && m.contains("FID 0"), "{m}");
}

#[test]
fn a_cpg_that_says_utf8_over_gbk_bytes_is_an_error_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let shp = gbk_shapefile(dir.path());
    std::fs::write(shp.with_extension("cpg"), "UTF-8").unwrap();
    let m = read_zones(&counties_spec(&shp)).unwrap_err().to_string();
    assert!(
        m.contains("FID 0") && m.contains("the .cpg file says") && m.contains("encoding = \"GBK\""),
        "{m}"
    );
    // The config overrides the .cpg.
    let mut spec = counties_spec(&shp);
    spec.encoding = Some("GBK".into());
    let l = read_zones(&spec).unwrap();
    assert!(l.zones.iter().any(|z| z.name == "淳安县"));
    // A correct .cpg ("936", as ArcGIS writes it) needs nothing else.
    std::fs::write(shp.with_extension("cpg"), "936").unwrap();
    let l = read_zones(&counties_spec(&shp)).unwrap();
    assert!(l.zones.iter().any(|z| z.name == "淳安县") && l.warnings.is_empty());
    no_replacement_characters(&l);
}

#[test]
fn invalid_utf8_in_geojson_is_an_error_not_replacement_characters() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.geojson");
    let text = std::fs::read(fixture("zj26_counties_cgcs2000.geojson")).unwrap();
    std::fs::write(&path, &text).unwrap();
    patch(&path, "淳安县".as_bytes(), b"\xB4\xBE\xB0\xB2\xCF\xD8xxx");
    let e = read_zones(&counties_spec(&path)).unwrap_err();
    let m = e.to_string();
    assert!(
        m.contains("bad.geojson") && m.contains("FID 0") && m.contains("valid GBK"),
        "{m}"
    );
    // The same bytes in a GeoPackage.
    let gpkg = dir.path().join("bad.gpkg");
    run("ogr2ogr", &[s(&gpkg), s(&path)]);
    let m = read_zones(&counties_spec(&gpkg)).unwrap_err().to_string();
    assert!(
        m.contains("bad.gpkg") && m.contains("not valid UTF-8"),
        "{m}"
    );
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

/// One polygon feature per geometry, as GeoJSON.
fn geojson_with(dir: &Path, geometries: &[&str]) -> std::path::PathBuf {
    let feats: Vec<String> = geometries
        .iter()
        .enumerate()
        .map(|(i, g)| {
            format!(r#"{{"type":"Feature","properties":{{"id":"z{i}"}},"geometry":{g}}}"#)
        })
        .collect();
    let p = dir.join("g.geojson");
    std::fs::write(
        &p,
        format!(
            r#"{{"type":"FeatureCollection","features":[{}]}}"#,
            feats.join(",")
        ),
    )
    .unwrap();
    p
}

#[test]
fn geometry_problems_are_named_for_what_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let path = geojson_with(
        dir.path(),
        &[
            r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}"#,
            // A bow-tie: its two halves cancel to zero signed area.
            r#"{"type":"Polygon","coordinates":[[[-2,-1],[2,1],[2,-1],[-2,1],[-2,-1]]]}"#,
            "null",
            r#"{"type":"MultiPolygon","coordinates":[]}"#,
            // Collinear: a real zero area (up to rounding, far from the origin).
            r#"{"type":"Polygon","coordinates":[[[120.328511,28.015041],[120.982856,28.614376],[120.6556835,28.3147085],[120.328511,28.015041]]]}"#,
            // A bow-tie over a county's bounding box.
            r#"{"type":"Polygon","coordinates":[[[120.328511,28.015041],[120.982856,28.614376],[120.982856,28.015041],[120.328511,28.614376],[120.328511,28.015041]]]}"#,
        ],
    );
    let mut spec = ZoneLayerSpec::new(&path, Level::County, "id");
    spec.crs = Some("EPSG:4326".into());
    let (l, bad) = gep_io::read_zones_lenient(&spec).unwrap();
    assert_eq!(l.zones.len(), 1);
    let msgs: Vec<String> = bad.iter().map(|r| r.error.to_string()).collect();
    assert_eq!(msgs.len(), 5, "{msgs:#?}");
    assert!(
        msgs[0].contains("FID 1")
            && msgs[0].contains("Self-intersection at (0, 0)")
            && !msgs[0].contains("zero area"),
        "{}",
        msgs[0]
    );
    assert!(
        msgs[1].contains("FID 2") && msgs[1].contains("has no geometry"),
        "{}",
        msgs[1]
    );
    assert!(
        msgs[2].contains("FID 3") && msgs[2].contains("has an empty geometry"),
        "{}",
        msgs[2]
    );
    assert!(msgs[3].contains("zero area"), "{}", msgs[3]);
    assert!(
        msgs[4].contains("Self-intersection at (120.6556835, 28.3147085)"),
        "{}",
        msgs[4]
    );
    for m in &msgs {
        assert!(!m.contains("-0.0") && !m.contains("Unknown"), "{m}");
    }
}
