//! Overlaps and duplicates among the top-level zones: two counties claiming the same ground
//! count it twice in every total, so the run reports it (`overlap` rows of `checks.csv` with
//! an empty `parent_id`, and a warning on stderr) and still exits 0: the results are
//! published, the user decides which boundary is wrong.

use super::support::*;
use serde_json::Value;
use std::collections::HashMap;

/// One row of `checks.csv` (the columns these tests read).
#[derive(Debug)]
struct Check {
    parent_id: String,
    level: String,
    residual_m2: f64,
    kind: String,
    /// The `children` column, when checks.csv has one.
    children: Option<String>,
}

/// Rows of a CSV file as column → value maps (the UTF-8 BOM dropped).
fn csv_rows(text: &str) -> Vec<HashMap<String, String>> {
    let text = text.trim_start_matches('\u{feff}');
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect()
}

fn read_checks(c: &Case) -> Vec<Check> {
    csv_rows(&c.read_out("checks.csv"))
        .into_iter()
        .map(|m| Check {
            parent_id: m["parent_id"].clone(),
            level: m["level"].clone(),
            residual_m2: m["residual_m2"].parse().unwrap(),
            kind: m["kind"].clone(),
            children: m.get("children").cloned(),
        })
        .collect()
}

/// The overlap rows between top-level zones: no parent.
fn top_overlaps(checks: &[Check]) -> Vec<&Check> {
    checks
        .iter()
        .filter(|r| r.kind == "overlap" && r.parent_id.is_empty())
        .collect()
}

/// `polygon_area_m2` of a zone in zones.csv.
fn polygon_area(c: &Case, id: &str) -> f64 {
    csv_rows(&c.read_out("zones.csv"))
        .iter()
        .find(|m| m["zone_id"] == id)
        .unwrap_or_else(|| panic!("{id} not in zones.csv"))["polygon_area_m2"]
        .parse()
        .unwrap()
}

/// Every top-level overlap row is a county pair; where checks.csv names the pair, it is
/// `pair`.
fn assert_pair(rows: &[&Check], pair: [&str; 2]) {
    for r in rows {
        assert_eq!(r.level, "county", "{r:?}");
        if let Some(children) = &r.children {
            for id in pair {
                assert!(children.contains(id), "{r:?} does not name {id}");
            }
        }
    }
}

/// Inserts points every `step` degrees along each edge of a GeoJSON (Multi)Polygon's rings,
/// so that a straight edge in lon/lat stays (nearly) straight in an equal-area projection.
fn densify(coords: &Value, step: f64) -> Value {
    let is_position = |v: &Value| v.as_array().is_some_and(|a| a[0].is_number());
    let Value::Array(items) = coords else {
        return coords.clone();
    };
    if !items.first().is_some_and(is_position) {
        return Value::Array(items.iter().map(|c| densify(c, step)).collect());
    }
    let xy = |v: &Value| (v[0].as_f64().unwrap(), v[1].as_f64().unwrap());
    let mut out = vec![items[0].clone()];
    for w in items.windows(2) {
        let ((x0, y0), (x1, y1)) = (xy(&w[0]), xy(&w[1]));
        let n = ((x1 - x0).hypot(y1 - y0) / step).ceil().max(1.0) as usize;
        for k in 1..=n {
            let t = k as f64 / n as f64;
            out.push(serde_json::json!([x0 + t * (x1 - x0), y0 + t * (y1 - y0)]));
        }
    }
    Value::Array(out)
}

/// Area of the intersection of two CGCS2000 (lon/lat) GeoJSON geometries, measured by GDAL
/// in a Lambert azimuthal equal-area projection centred on the mountain counties (WGS84
/// ellipsoid, as the raster's area basis) after densifying every edge to 0.001°: an
/// independent reference for gep's ellipsoidal areas.
///
/// # Units
/// m².
fn overlap_area_laea(a: &Value, b: &Value) -> f64 {
    use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
    use gdal::vector::Geometry;
    let mut src = SpatialRef::from_epsg(4490).unwrap();
    src.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let dst =
        SpatialRef::from_proj4("+proj=laea +lat_0=28.5 +lon_0=120 +ellps=WGS84 +units=m").unwrap();
    let ct = CoordTransform::new(&src, &dst).unwrap();
    let geom = |g: &Value| {
        let mut g = g.clone();
        g["coordinates"] = densify(&g["coordinates"], 0.001);
        Geometry::from_geojson(&g.to_string())
            .unwrap()
            .transform(&ct)
            .unwrap()
    };
    geom(a).intersection(&geom(b)).map_or(0.0, |g| g.area())
}

/// A county loaded a second time under another id (a bureau's file that holds 永嘉县 twice):
/// its whole area is an overlap between the two ids.
#[test]
fn county_loaded_twice_under_another_id() {
    let (c, v) = super::zones_case(&|v| {
        let mut dup = v["features"][1].clone();
        dup["properties"]["adcode"] = "339901".into();
        dup["properties"]["name"] = "永嘉县（重复）".into();
        v["features"].as_array_mut().unwrap().push(dup);
    });
    let original = adcode(&v, 1);
    let out = c.run();
    // Reported, not fatal: every county was computed and published.
    assert_ok(&c, &out);
    assert_mentions(&out, &["overlap"]);
    let checks = read_checks(&c);
    let rows = top_overlaps(&checks);
    assert!(!rows.is_empty(), "no top-level overlap rows: {checks:#?}");
    assert_pair(&rows, [&original, "339901"]);
    // The rows (one per class, plus nodata/outside) add up to the county's whole area.
    let area = polygon_area(&c, &original);
    assert_eq!(area, polygon_area(&c, "339901"));
    let overlap: f64 = rows.iter().map(|r| -r.residual_m2).sum();
    assert!(
        (overlap - area).abs() <= 1e-6 * area,
        "overlap {overlap} m² vs the county's {area} m²: {rows:#?}"
    );
    // The warning names the pair; the report's totals are flagged with the pair and the area.
    assert_mentions(&out, &[&format!("{original} × 339901"), "counted twice"]);
    let html = c.read_out("report.html");
    let alert = html
        .split("class=\"alert\"")
        .nth(1)
        .expect("no alert under the report's headline");
    assert!(
        alert.contains(&format!("{original} × 339901")) && alert.contains("重复计算"),
        "{alert}"
    );
    let km2 = format!("{:.3}", area / 1e6);
    assert!(
        alert.replace(',', "").contains(&km2),
        "alert lacks {km2} km²: {alert}"
    );
}

/// 苍南县 moved 0.03° (~3.3 km) north onto its neighbour 平阳县: the strip both claim is an
/// overlap, of the area GDAL measures for their intersection.
#[test]
fn county_shifted_onto_its_neighbour() {
    let c = Case::new();
    c.copy("mcd12c1_2019_igbp_zhejiang.tif", "lc.tif");
    let mut v = first_counties(4);
    assert_eq!(
        (adcode(&v, 2).as_str(), adcode(&v, 3).as_str()),
        ("330326", "330327"),
        "the fixture's order changed"
    );
    map_coords(&mut v["features"][3]["geometry"]["coordinates"], &|x, y| {
        (x, y + 0.03)
    });
    c.json("counties.geojson", &v);
    c.config("", COUNTY_ZONES, "");
    let out = c.run();
    assert_ok(&c, &out);
    assert_mentions(&out, &["overlap"]);
    let checks = read_checks(&c);
    let rows = top_overlaps(&checks);
    assert!(!rows.is_empty(), "no top-level overlap rows: {checks:#?}");
    assert_pair(&rows, ["330326", "330327"]);
    let expected = overlap_area_laea(&v["features"][2]["geometry"], &v["features"][3]["geometry"]);
    assert!(
        expected > 1e7,
        "the shift made no real overlap: {expected} m²"
    );
    let overlap: f64 = rows.iter().map(|r| -r.residual_m2).sum();
    // gep measures on the ellipsoidal areas of the raster's cell rows, GDAL on an
    // equal-area projection: the two bases differed by 7.4e-6 of the area when written.
    assert!(
        (overlap - expected).abs() <= 1e-4 * expected,
        "overlap {overlap} m² vs GDAL's {expected} m²: {rows:#?}"
    );
}

/// Positive control: three counties that do not touch give no top-level overlap row and no
/// warning.
#[test]
fn separate_counties_have_no_top_level_overlap() {
    let c = Case::standard();
    c.config("", COUNTY_ZONES, "");
    let out = c.run();
    assert_ok(&c, &out);
    assert!(
        !out.stderr.to_lowercase().contains("overlap"),
        "warned of an overlap: {out:?}"
    );
    let checks = read_checks(&c);
    assert!(top_overlaps(&checks).is_empty(), "{checks:#?}");
    assert!(!c.read_out("report.html").contains("class=\"alert\""));
}

/// Positive control on real shared borders: the 26 counties tile their ground, and the
/// slivers clipping leaves along their ~70 shared borders stay under the size floor.
#[test]
fn neighbouring_counties_have_no_top_level_overlap() {
    let c = Case::new();
    c.copy("mcd12c1_2019_igbp_zhejiang.tif", "lc.tif");
    c.copy("zj26_counties_cgcs2000.geojson", "counties.geojson");
    c.config("", COUNTY_ZONES, "");
    let out = c.run();
    assert_ok(&c, &out);
    assert!(
        !out.stderr.to_lowercase().contains("overlap"),
        "warned of an overlap: {out:?}"
    );
    let checks = read_checks(&c);
    assert!(top_overlaps(&checks).is_empty(), "{checks:#?}");
}
