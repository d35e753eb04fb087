//! `zones.gpkg` (issue 15): every level's layer in the CRS of its boundary file, with the
//! geometry as read (the same vertices, not the densified reprojection the tally used), and a
//! `gaps_overlaps` layer of the pieces the hierarchy checks found. The expected CRSs and vertex
//! counts are GDAL's view of the input files, read here independently of gep.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gdal::vector::{Geometry, LayerAccess};
use gdal::Dataset;
use gep_tests::{fixture, gep_ok, num, read_csv, tempdir};

fn text(f: &gdal::vector::Feature<'_>, name: &str) -> String {
    f.field_as_string(f.field_index(name).unwrap())
        .unwrap()
        .unwrap_or_default()
}

fn real(f: &gdal::vector::Feature<'_>, name: &str) -> f64 {
    f.field_as_double(f.field_index(name).unwrap())
        .unwrap()
        .unwrap()
}

/// Points of a geometry, all rings and parts (closing points included).
fn vertices(g: &Geometry) -> usize {
    let n = g.geometry_count();
    if n == 0 {
        g.point_count()
    } else {
        (0..n).map(|i| vertices(&g.get_geometry(i))).sum()
    }
}

/// Per feature (by `id_field`): its vertex count, and the layer's CRS.
fn layer(
    path: &Path,
    layer: Option<&str>,
    id_field: &str,
) -> (BTreeMap<String, usize>, gdal::spatial_ref::SpatialRef) {
    let ds = Dataset::open(path).unwrap();
    let mut l = match layer {
        Some(n) => ds.layer_by_name(n).unwrap(),
        None => ds.layer(0).unwrap(),
    };
    let srs = l.spatial_ref().expect("a CRS");
    let mut m = BTreeMap::new();
    for f in l.features() {
        let id = text(&f, id_field);
        m.insert(id, vertices(f.geometry().unwrap()));
    }
    (m, srs)
}

fn auth_code(s: &gdal::spatial_ref::SpatialRef) -> i32 {
    s.auth_code().unwrap()
}

/// Runs gep with a county layer (and optional township/village layers) over the MODIS clip.
fn run(dir: &Path, name: &str, layers: &str, counties: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let cfg = dir.join(format!("{name}.toml"));
    std::fs::write(
        &cfg,
        format!(
            "[landcover]\npath = {:?}\n{layers}\n[run]\ncounties = {counties:?}\n[output]\ndir = {:?}\n",
            fixture("mcd12c1_2019_igbp_zhejiang.tif"),
            out
        ),
    )
    .unwrap();
    gep_ok(&["run", cfg.to_str().unwrap(), "-q"]);
    out
}

fn county_layer(path: &Path) -> String {
    format!("[[zones]]\npath = {path:?}\nlevel = \"county\"\nid_field = \"adcode\"\nname_field = \"name\"\n")
}

/// EPSG:4549 (projected, CGCS2000 Gauss-Krüger) boundaries over an EPSG:4326 raster: the
/// layer comes back in EPSG:4549 with the input's vertices, feature by feature.
#[test]
fn a_projected_boundary_file_comes_back_in_its_own_crs_with_its_vertices() {
    let dir = tempdir();
    let input = fixture("zj5_counties_epsg4549.geojson");
    let (expected, in_srs) = layer(&input, None, "adcode");
    let ids: Vec<&str> = expected.keys().map(String::as_str).collect();
    let out = run(dir.path(), "p", &county_layer(&input), &ids);
    let (got, out_srs) = layer(&out.join("zones.gpkg"), Some("county"), "zone_id");
    assert_eq!(auth_code(&in_srs), 4549);
    assert_eq!(auth_code(&out_srs), 4549);
    assert!(
        in_srs == out_srs,
        "{:?} vs {:?}",
        in_srs.to_wkt(),
        out_srs.to_wkt()
    );
    assert_eq!(got, expected);
}

/// EPSG:4490 counties, townships and villages (三 levels of one county, 云和) over the EPSG:4326
/// raster, with one village removed: every level in EPSG:4490 with the input's vertex counts,
/// and the `gaps_overlaps` layer holds the hole the village left, in EPSG:4490, as large as
/// the village (its polygon in the input, by GDAL; its tallied area from a run with it).
#[test]
fn three_levels_in_cgcs2000_and_the_gap_of_a_missing_village() {
    let dir = tempdir();
    let villages: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("zj26_villages_generated.geojson")).unwrap())
            .unwrap();
    let yunhe = |v: &serde_json::Value| {
        let mut v = v.clone();
        v["features"].as_array_mut().unwrap().retain(|f| {
            f["properties"]["zone_id"]
                .as_str()
                .unwrap()
                .starts_with("331125")
        });
        v
    };
    let all = yunhe(&villages);
    let mut gap = all.clone();
    let removed = gap["features"].as_array_mut().unwrap().remove(10);
    let removed_id = removed["properties"]["zone_id"]
        .as_str()
        .unwrap()
        .to_string();
    let township = removed["properties"]["parent"]
        .as_str()
        .unwrap()
        .to_string();
    let all_path = dir.path().join("all.geojson");
    let gap_path = dir.path().join("gap.geojson");
    std::fs::write(&all_path, serde_json::to_vec(&all).unwrap()).unwrap();
    std::fs::write(&gap_path, serde_json::to_vec(&gap).unwrap()).unwrap();
    let layers = |v: &Path| {
        format!(
            "{}[[zones]]\npath = {:?}\nlevel = \"township\"\nid_field = \"zone_id\"\nname_field = \"name\"\nparent_field = \"parent\"\n[[zones]]\npath = {v:?}\nlevel = \"village\"\nid_field = \"zone_id\"\nname_field = \"name\"\nparent_field = \"parent\"\n",
            county_layer(&fixture("zj26_counties_cgcs2000.geojson")),
            fixture("zj26_townships_generated.geojson"),
        )
    };
    let out_all = run(dir.path(), "all", &layers(&all_path), &["331125"]);
    let out_gap = run(dir.path(), "gap", &layers(&gap_path), &["331125"]);
    let gpkg = out_gap.join("zones.gpkg");

    // Every level: EPSG:4490 and the vertices of the input.
    for (level, input, id) in [
        (
            "county",
            fixture("zj26_counties_cgcs2000.geojson"),
            "adcode",
        ),
        (
            "township",
            fixture("zj26_townships_generated.geojson"),
            "zone_id",
        ),
        ("village", gap_path.clone(), "zone_id"),
    ] {
        let (mut expected, in_srs) = layer(&input, None, id);
        let (got, out_srs) = layer(&gpkg, Some(level), "zone_id");
        expected.retain(|k, _| k.starts_with("331125"));
        assert_eq!(auth_code(&in_srs), 4490, "{level}");
        assert!(in_srs == out_srs, "{level}: {:?}", out_srs.to_wkt());
        assert_eq!(got, expected, "{level}");
    }
    // No gap in the full set; the gap of the removed village in the other.
    let (none, _) = layer(&out_all.join("zones.gpkg"), Some("gaps_overlaps"), "kind");
    assert!(none.is_empty(), "{none:?}");
    let ds = Dataset::open(&gpkg).unwrap();
    let mut l = ds.layer_by_name("gaps_overlaps").unwrap();
    assert_eq!(auth_code(&l.spatial_ref().unwrap()), 4490);
    let pieces: Vec<(String, String, f64, f64)> = l
        .features()
        .map(|f| {
            (
                text(&f, "parent_id"),
                text(&f, "kind"),
                real(&f, "area_m2"),
                f.geometry().unwrap().area(),
            )
        })
        .collect();
    assert_eq!(pieces.len(), 1, "{pieces:?}");
    let (parent, kind, area_m2, area_deg2) = &pieces[0];
    assert_eq!((parent.as_str(), kind.as_str()), (township.as_str(), "gap"));
    // The hole is the village's polygon: the same area in degrees² (GDAL on both).
    let (_, village_deg2) = {
        let ds = Dataset::open(&all_path).unwrap();
        let mut l = ds.layer(0).unwrap();
        let f = l
            .features()
            .find(|f| text(f, "zone_id") == removed_id)
            .unwrap();
        ((), f.geometry().unwrap().area())
    };
    // (The clipping snaps coordinates to its own grid: 3e-8 relative here.)
    assert!(
        (area_deg2 - village_deg2).abs() <= 1e-6 * village_deg2,
        "{area_deg2} vs {village_deg2}"
    );
    // Its area on the grid: the village's own, tallied as a zone in the full run.
    let zones = read_csv(&out_all.join("zones.csv"));
    let (i, a) = (zones.col("zone_id"), zones.col("polygon_area_m2"));
    let village_m2 = zones
        .rows
        .iter()
        .find(|r| r[i] == removed_id)
        .map(|r| num(&r[a]))
        .unwrap();
    assert!(
        (area_m2 - village_m2).abs() <= 1e-6 * village_m2,
        "{area_m2} vs {village_m2}"
    );
}

/// Levels from files in different CRSs — 云和's county boundary in EPSG:4490, its real
/// villages in EPSG:4549 — each layer comes back in its own file's CRS with its vertices, and
/// the gap/overlap layer in the top level's CRS (EPSG:4490), its pieces under the county and
/// matching `checks.csv`'s geometric rows.
#[test]
fn levels_in_different_crss_keep_their_own_and_the_pieces_take_the_top_levels() {
    let dir = tempdir();
    let villages = fixture("yunhe_villages_epsg4549.geojson");
    let layers = format!(
        "{}[[zones]]\npath = {villages:?}\nlevel = \"village\"\nid_field = \"zone_id\"\nname_field = \"name\"\n",
        county_layer(&fixture("zj26_counties_cgcs2000.geojson"))
    );
    let out = run(dir.path(), "mixed", &layers, &["331125"]);
    let gpkg = out.join("zones.gpkg");
    let (got, srs) = layer(&gpkg, Some("county"), "zone_id");
    let (mut expected, in_srs) = layer(&fixture("zj26_counties_cgcs2000.geojson"), None, "adcode");
    expected.retain(|k, _| k == "331125");
    assert_eq!((auth_code(&srs), auth_code(&in_srs)), (4490, 4490));
    assert_eq!(got, expected);
    let (got, srs) = layer(&gpkg, Some("village"), "zone_id");
    let (expected, in_srs) = layer(&villages, None, "zone_id");
    assert_eq!((auth_code(&srs), auth_code(&in_srs)), (4549, 4549));
    assert_eq!(got, expected);
    let ds = Dataset::open(&gpkg).unwrap();
    let mut l = ds.layer_by_name("gaps_overlaps").unwrap();
    assert_eq!(auth_code(&l.spatial_ref().unwrap()), 4490);
    let pieces: Vec<(String, String)> = l
        .features()
        .map(|f| (text(&f, "parent_id"), text(&f, "kind")))
        .collect();
    let checks = read_csv(&out.join("checks.csv"));
    let geometric: std::collections::BTreeSet<(String, String)> = checks
        .maps()
        .iter()
        .filter(|r| r["kind"] != "sum")
        .map(|r| (r["parent_id"].to_string(), r["kind"].to_string()))
        .collect();
    let kinds: std::collections::BTreeSet<(String, String)> = pieces.iter().cloned().collect();
    assert_eq!(kinds, geometric, "{pieces:?}");
    assert!(pieces.iter().all(|(p, _)| p == "331125"), "{pieces:?}");
}
