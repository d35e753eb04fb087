//! The bad-input corpus (issue 6 item 3): real failure cases a bureau's files produce, each
//! asserting the exit code (1 = some counties failed, the others published; 2 = fatal), that
//! the message on stderr names what is wrong and how to fix it, and that nothing partial was
//! written (no output directory, or the previous one byte-for-byte unchanged; no stray
//! staging directory).
//!
//! Every case builds its inputs in a temporary directory from the real fixtures in
//! `fixtures/` (transformed with `gdal_translate` / `ogr2ogr` or by editing GeoJSON) and runs
//! the real `gep` binary.
//!
//! One module per kind of input; `support` holds the case directory and the assertions.

mod encoding_geometry;
mod models;
mod output_dir;
mod services;
mod support;
mod tables;
mod top_level;

use serde_json::Value;
use support::*;
// ---------------------------------------------------------------------------------------------
// Land-cover raster
// ---------------------------------------------------------------------------------------------

#[test]
fn missing_raster_file() {
    let c = Case::new();
    c.json("counties.geojson", &first_counties(3));
    c.config("", COUNTY_ZONES, "");
    let out = c.run();
    assert_fatal(&c, &out, &["lc.tif"]);
}

#[test]
fn missing_raster_leaves_previous_results_byte_for_byte() {
    let c = Case::standard();
    c.config("", COUNTY_ZONES, "");
    assert_ok(&c, &c.run());
    let before = c.snapshot();
    assert!(!before.is_empty());
    std::fs::remove_file(c.p("lc.tif")).unwrap();
    let out = c.run();
    no_panic(&out);
    assert_eq!(out.code, 2, "{out:?}");
    assert_mentions(&out, &["lc.tif"]);
    assert_eq!(c.snapshot(), before, "previous results changed");
    c.assert_no_stray();
}

/// An ASCII grid (a common exchange format) has no CRS once its `.prj` is gone.
fn ascii_grid_without_crs(c: &Case) {
    c.tool(
        "gdal_translate",
        &["-q", "-of", "AAIGrid", "lc.tif", "lc.asc"],
    );
    let _ = std::fs::remove_file(c.p("lc.prj"));
    let _ = std::fs::remove_file(c.p("lc.asc.aux.xml"));
}

#[test]
fn raster_without_crs_and_none_given() {
    let c = Case::standard();
    ascii_grid_without_crs(&c);
    c.config("", COUNTY_ZONES, "");
    let s = std::fs::read_to_string(c.p("gep.toml")).unwrap();
    c.write("gep.toml", &s.replace("lc.tif", "lc.asc"));
    let out = c.run();
    assert_fatal(&c, &out, &["lc.asc", "crs"]);
    assert!(
        out.stderr.contains("[landcover]") || out.stderr.contains("crs ="),
        "no fix given: {out:?}"
    );
}

#[test]
fn raster_crs_override_accepted() {
    let c = Case::standard();
    ascii_grid_without_crs(&c);
    c.config("crs = \"EPSG:4326\"", COUNTY_ZONES, "");
    let s = std::fs::read_to_string(c.p("gep.toml")).unwrap();
    c.write("gep.toml", &s.replace("lc.tif", "lc.asc"));
    let out = c.run();
    assert_ok(&c, &out);
    // Same areas as from the GeoTIFF that carries the CRS.
    let from_asc = c.read_out("extent.csv");
    c.config("", COUNTY_ZONES, "");
    assert_ok(&c, &c.run());
    assert_eq!(from_asc, c.read_out("extent.csv"));
}

#[test]
fn bogus_crs_override() {
    let c = Case::standard();
    ascii_grid_without_crs(&c);
    c.config("crs = \"EPSG:99999\"", COUNTY_ZONES, "");
    let s = std::fs::read_to_string(c.p("gep.toml")).unwrap();
    c.write("gep.toml", &s.replace("lc.tif", "lc.asc"));
    let out = c.run();
    assert_fatal(&c, &out, &["EPSG:99999"]);
}

#[test]
fn engineering_crs_has_no_transformation() {
    // The raster is on a local site grid (engineering CRS): PROJ cannot relate it to CGCS2000.
    let c = Case::standard();
    ascii_grid_without_crs(&c);
    c.config(
        r#"crs = 'ENGCRS["site grid",EDATUM["site"],CS[Cartesian,2],AXIS["easting",east,LENGTHUNIT["metre",1]],AXIS["northing",north,LENGTHUNIT["metre",1]]]'"#,
        COUNTY_ZONES,
        "",
    );
    let s = std::fs::read_to_string(c.p("gep.toml")).unwrap();
    c.write("gep.toml", &s.replace("\"lc.tif\"", "\"lc.asc\""));
    let out = c.run();
    assert_fatal(&c, &out, &["lc.asc", "site grid", "projected"]);
}

#[test]
fn county_outside_the_raster_fails_alone() {
    let c = Case::new();
    c.copy("mcd12c1_2019_igbp_zhejiang.tif", "lc.tif");
    let mut v = first_counties(3);
    map_coords(&mut v["features"][1]["geometry"]["coordinates"], &|x, y| {
        (x + 10.0, y)
    });
    c.json("counties.geojson", &v);
    c.config("", COUNTY_ZONES, "");
    let out = c.run();
    let ok = vec![adcode(&v, 0), adcode(&v, 2)];
    assert_county_failed(&c, &out, &adcode(&v, 1), &ok, &["outside"]);
    // validate says the same and writes nothing.
    let c2 = Case::new();
    c2.copy("mcd12c1_2019_igbp_zhejiang.tif", "lc.tif");
    c2.json("counties.geojson", &v);
    c2.config("", COUNTY_ZONES, "");
    let out = c2.validate();
    no_panic(&out);
    assert_eq!(out.code, 1, "{out:?}");
    assert_mentions(&out, &[&adcode(&v, 1), "outside"]);
    assert!(!c2.out().exists());
}

fn retype(c: &Case, ty: &str, extra: &[&str]) {
    let mut args = vec!["-q", "-ot", ty];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["src.tif", "lc.tif"]);
    std::fs::rename(c.p("lc.tif"), c.p("src.tif")).unwrap();
    c.tool("gdal_translate", &args);
}

#[test]
fn float32_land_cover() {
    let c = Case::standard();
    retype(&c, "Float32", &[]);
    c.config("", COUNTY_ZONES, "");
    let out = c.run();
    assert_fatal(&c, &out, &["lc.tif", "Float32", "gdal_translate -ot"]);
}

#[test]
fn float64_land_cover() {
    let c = Case::standard();
    retype(&c, "Float64", &[]);
    c.config("", COUNTY_ZONES, "");
    let out = c.run();
    assert_fatal(&c, &out, &["lc.tif", "Float64"]);
}

#[test]
fn int64_land_cover() {
    let c = Case::standard();
    retype(&c, "Int64", &[]);
    c.config("", COUNTY_ZONES, "");
    let out = c.run();
    assert_fatal(&c, &out, &["lc.tif", "Int64", "gdal_translate -ot"]);
}

#[test]
fn uint32_land_cover_beyond_i32() {
    let c = Case::standard();
    // Class 16 becomes 4294967295 (> i32::MAX).
    retype(&c, "UInt32", &["-scale", "0", "16", "0", "4294967295"]);
    c.config("", COUNTY_ZONES, "");
    let out = c.run();
    assert_fatal(
        &c,
        &out,
        &["lc.tif", "row 0, col 2", "2415919103", "2147483647"],
    );
}

#[test]
fn truncated_tiff() {
    // An uncompressed copy of the MODIS raster cut in half: the header is intact, the
    // pixel data of the southern half is gone.
    let c = Case::standard();
    retype(&c, "Byte", &["-co", "COMPRESS=NONE"]);
    let bytes = std::fs::read(c.p("lc.tif")).unwrap();
    std::fs::write(c.p("lc.tif"), &bytes[..bytes.len() / 2]).unwrap();
    c.config("", COUNTY_ZONES, "");
    let out = c.run();
    assert_fatal(&c, &out, &["lc.tif", "cannot read", "gdalinfo"]);
}

#[test]
fn absurd_raster_dimensions() {
    let c = Case::standard();
    c.write(
        "lc.vrt",
        r#"<VRTDataset rasterXSize="1000000000" rasterYSize="1000000000">
  <SRS>EPSG:4326</SRS>
  <GeoTransform>118.0, 0.000000005, 0, 31.5, 0, -0.000000005</GeoTransform>
  <VRTRasterBand dataType="Byte" band="1">
    <SimpleSource>
      <SourceFilename relativeToVRT="1">lc.tif</SourceFilename>
      <SourceBand>1</SourceBand>
    </SimpleSource>
  </VRTRasterBand>
</VRTDataset>
"#,
    );
    c.config("", COUNTY_ZONES, "");
    let s = std::fs::read_to_string(c.p("gep.toml")).unwrap();
    c.write("gep.toml", &s.replace("\"lc.tif\"", "\"lc.vrt\""));
    let out = c.run();
    assert_fatal(&c, &out, &["lc.vrt", "1000000000 x 1000000000", "gdalinfo"]);
}

// ---------------------------------------------------------------------------------------------
// Crosswalks and coefficient sets
// ---------------------------------------------------------------------------------------------

fn builtin_data(rel: &str) -> String {
    std::fs::read_to_string(workspace().join("crates/gep-core/data").join(rel)).unwrap()
}

const VALUATION_FILES: &str = "[valuation]\ncoefficients = \"coef.csv\"\ncrosswalk = \"cw.csv\"\n";

/// Standard case with copies of the built-in xie2015 set and MODIS crosswalk, edited.
fn valuation_case(coef: &dyn Fn(String) -> String, cw: &dyn Fn(String) -> String) -> Case {
    let c = Case::standard();
    c.write("coef.csv", &coef(builtin_data("coefficients/xie2015.csv")));
    c.write(
        "cw.csv",
        &cw(builtin_data("crosswalks/modis-igbp-mcd12c1.csv")),
    );
    c.config("", COUNTY_ZONES, VALUATION_FILES);
    c
}

fn same(s: String) -> String {
    s
}

#[test]
fn valuation_positive_control() {
    let c = valuation_case(&same, &same);
    let out = c.run();
    assert_ok(&c, &out);
    assert!(c.out().join("accounts.csv").exists());
}

#[test]
fn class_missing_from_crosswalk_fails_the_counties_that_have_it() {
    let c = valuation_case(&same, &|s| {
        s.lines()
            .filter(|l| !l.starts_with("2,"))
            .collect::<Vec<_>>()
            .join("\n")
    });
    let out = c.run();
    no_panic(&out);
    assert_eq!(out.code, 1, "{out:?}");
    assert_mentions(&out, &["class 2 (", "m²", "crosswalk"]);
    let failures = c.read_out("failures.csv");
    assert!(failures.contains("class 2 ("), "{failures}");
    c.assert_no_stray();
}

fn replace_first(s: String, from: &str, to: &str) -> String {
    assert!(s.contains(from), "{from:?} not in fixture");
    s.replacen(from, to, 1)
}

/// A bad coefficient file: `gep run` exits 2 naming the file, and `gep coefficients check`
/// exits 2 naming the line.
fn assert_bad_coefficients(c: &Case, needles: &[&str]) {
    let out = c.run();
    let mut all = vec!["coef.csv"];
    all.extend_from_slice(needles);
    assert_fatal(c, &out, &all);
    let chk = c.gep(&["coefficients", "check", "coef.csv"]);
    no_panic(&chk);
    assert_eq!(chk.code, 2, "{chk:?}");
    assert_mentions(&chk, &all);
    // FILE:LINE:COLUMN.
    let located = chk.stderr.split("coef.csv:").skip(1).any(|rest| {
        let mut parts = rest.splitn(3, ':');
        let line = parts.next().unwrap_or("");
        let col = parts.next().unwrap_or("");
        line.parse::<u32>().is_ok() && col.parse::<u32>().is_ok()
    });
    assert!(located, "no coef.csv:LINE:COLUMN in {chk:?}");
}

#[test]
fn nan_coefficient() {
    let c = valuation_case(
        &|s| {
            replace_first(
                s,
                "dry_farmland,esv_food,0.85,",
                "dry_farmland,esv_food,NaN,",
            )
        },
        &same,
    );
    assert_bad_coefficients(&c, &["coef.csv:14:3", "NaN", "fix"]);
}

#[test]
fn blank_coefficient() {
    let c = valuation_case(
        &|s| replace_first(s, "dry_farmland,esv_food,0.85,", "dry_farmland,esv_food,,"),
        &same,
    );
    assert_bad_coefficients(&c, &["coef.csv:14:3", "blank", "NA"]);
}

#[test]
fn non_numeric_coefficient() {
    let c = valuation_case(
        &|s| {
            replace_first(
                s,
                "dry_farmland,esv_food,0.85,",
                "dry_farmland,esv_food,0,85,",
            )
        },
        &same,
    );
    // "0,85" (decimal comma) shifts the columns: the unit column then reads "85".
    assert_bad_coefficients(&c, &["coef.csv:14:", "85"]);
}

#[test]
fn duplicate_coefficient_rows() {
    let c = valuation_case(
        &|s| {
            let dup = s
                .lines()
                .find(|l| l.starts_with("paddy,esv_food,"))
                .unwrap()
                .to_string();
            format!("{s}{dup}\n")
        },
        &same,
    );
    assert_bad_coefficients(&c, &["paddy", "esv_food"]);
}

#[test]
fn unknown_ecosystem_type_in_coefficients() {
    let c = valuation_case(
        &|s| s.replace("dry_farmland,esv_food,0.85,", "dry_farmlnd,esv_food,0.85,"),
        &same,
    );
    assert_bad_coefficients(&c, &["coef.csv:14:1", "dry_farmlnd", "dry_farmland"]);
}

#[test]
fn negative_crosswalk_share() {
    let c = valuation_case(&same, &|s| {
        replace_first(
            replace_first(s, "14,cropland,0.5,", "14,cropland,-0.5,"),
            "14,shrub,0.5,",
            "14,shrub,1.5,",
        )
    });
    let out = c.run();
    assert_fatal(&c, &out, &["cw.csv", "-0.5"]);
}

/// A type reachable through the crosswalk (MODIS 0 → water) with no value and no NA for one
/// service is a pre-flight error naming the pair and the fix, not a silent zero.
#[test]
fn coefficient_set_missing_a_type_service_pair() {
    let c = valuation_case(
        &|s| {
            s.lines()
                .filter(|l| !l.starts_with("water,esv_purification,"))
                .collect::<Vec<_>>()
                .join("\n")
        },
        &same,
    );
    let out = c.run();
    assert_fatal(&c, &out, &["water × esv_purification", "NA"]);
}

/// Valuing without an accounting year would stamp every account row with a made-up year.
#[test]
fn valuation_without_a_year() {
    let c = valuation_case(&same, &same);
    let cfg = std::fs::read_to_string(c.dir.path().join("gep.toml")).unwrap();
    c.write("gep.toml", &cfg.replace("year = 2019\n", ""));
    let out = c.run();
    assert_fatal(&c, &out, &["year", "--year"]);
}

#[test]
fn coefficients_check_on_a_missing_file() {
    let c = Case::new();
    let out = c.gep(&["coefficients", "check", "nope.csv"]);
    no_panic(&out);
    assert_eq!(out.code, 2, "{out:?}");
    assert_mentions(&out, &["nope.csv"]);
}

// ---------------------------------------------------------------------------------------------
// Boundaries
// ---------------------------------------------------------------------------------------------

/// Standard case whose counties file is edited by `f`.
fn zones_case(f: &dyn Fn(&mut Value)) -> (Case, Value) {
    let c = Case::new();
    c.copy("mcd12c1_2019_igbp_zhejiang.tif", "lc.tif");
    let mut v = first_counties(3);
    f(&mut v);
    c.json("counties.geojson", &v);
    c.config("", COUNTY_ZONES, "");
    (c, v)
}

#[test]
fn empty_layer() {
    let (c, _) = zones_case(&|v| v["features"].as_array_mut().unwrap().clear());
    let out = c.run();
    assert_fatal(&c, &out, &["counties.geojson"]);
}

/// The bounding box of a feature's geometry.
fn bbox(g: &Value) -> (f64, f64, f64, f64) {
    let b = std::cell::Cell::new((f64::MAX, f64::MAX, f64::MIN, f64::MIN));
    let mut g = g.clone();
    map_coords(&mut g, &|x, y| {
        let (a, bb, cc, d) = b.get();
        b.set((a.min(x), bb.min(y), cc.max(x), d.max(y)));
        (x, y)
    });
    b.get()
}

#[test]
fn self_intersecting_polygon() {
    let (c, v) = zones_case(&|v| {
        let (x0, y0, x1, y1) = bbox(&v["features"][1]["geometry"]["coordinates"]);
        // A bow-tie over the county's bounding box.
        v["features"][1]["geometry"] = serde_json::json!({
            "type": "Polygon",
            "coordinates": [[[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]]
        });
    });
    let out = c.run();
    let ok = vec![adcode(&v, 0), adcode(&v, 2)];
    assert_county_failed(
        &c,
        &out,
        &adcode(&v, 1),
        &ok,
        &["FID 1", "self-intersection at (", "ogr2ogr -makevalid"],
    );
    // A bow-tie's halves cancel to zero signed area: the crossing is what the user must see.
    assert!(!out.stderr.contains("zero area"), "{out:?}");
    assert!(!out.stderr.contains("-0.0"), "{out:?}");
}

#[test]
fn zero_area_polygon() {
    let (c, v) = zones_case(&|v| {
        let (x0, y0, x1, y1) = bbox(&v["features"][1]["geometry"]["coordinates"]);
        v["features"][1]["geometry"] = serde_json::json!({
            "type": "Polygon",
            "coordinates": [[[x0, y0], [x1, y1], [(x0 + x1) / 2.0, (y0 + y1) / 2.0], [x0, y0]]]
        });
    });
    let out = c.run();
    let ok = vec![adcode(&v, 0), adcode(&v, 2)];
    assert_county_failed(
        &c,
        &out,
        &adcode(&v, 1),
        &ok,
        &["FID 1", "has zero area", "ogr2ogr -makevalid"],
    );
}

#[test]
fn point_geometry_layer() {
    let (c, _) = zones_case(&|v| {
        for f in v["features"].as_array_mut().unwrap() {
            let (x0, y0, x1, y1) = bbox(&f["geometry"]["coordinates"]);
            f["geometry"] = serde_json::json!({
                "type": "Point", "coordinates": [(x0 + x1) / 2.0, (y0 + y1) / 2.0]
            });
        }
    });
    // Every county is unusable: each is a failed unit (exit 1), with FID, id and the fix;
    // nothing is computed, so nothing is published (CONTRACTS.md).
    let out = c.run();
    no_panic(&out);
    assert_eq!(out.code, 1, "{out:?}");
    assert_mentions(
        &out,
        &[
            "counties.geojson",
            "FID 0",
            "FID 2",
            "Point",
            "ogr2ogr -nlt",
        ],
    );
    assert!(!out.stderr.contains("Unknown"), "{out:?}");
    assert!(
        !c.out().exists(),
        "a run where no county succeeded published results"
    );
    c.assert_no_stray();
}

#[test]
fn duplicate_ids() {
    let (c, v) = zones_case(&|v| {
        let id = v["features"][0]["properties"]["adcode"].clone();
        v["features"][2]["properties"]["adcode"] = id;
    });
    let out = c.run();
    assert_fatal(
        &c,
        &out,
        &[
            "counties.geojson",
            &adcode(&v, 0),
            "FID 0",
            "FID 2",
            "unique",
        ],
    );
}

#[test]
fn missing_id_field_lists_the_fields() {
    let c = Case::standard();
    c.config("", &COUNTY_ZONES.replace("\"adcode\"", "\"code\""), "");
    let out = c.run();
    assert_fatal(
        &c,
        &out,
        &["counties.geojson", "code", "adcode", "name", "id_field"],
    );
}

#[test]
fn missing_layer_lists_the_layers() {
    let c = Case::standard();
    c.config(
        "",
        &format!("{COUNTY_ZONES}layer = \"counties_2020\"\n"),
        "",
    );
    let out = c.run();
    assert_fatal(&c, &out, &["counties.geojson", "counties_2020"]);
}

#[test]
fn missing_boundary_file() {
    let c = Case::standard();
    std::fs::remove_file(c.p("counties.geojson")).unwrap();
    c.config("", COUNTY_ZONES, "");
    let out = c.run();
    assert_fatal(&c, &out, &["counties.geojson"]);
}

/// Counties, townships and villages of the first county, plus the two other counties.
fn hierarchy_case(edit_villages: &dyn Fn(&mut Value)) -> (Case, Value) {
    let c = Case::new();
    c.copy("mcd12c1_2019_igbp_zhejiang.tif", "lc.tif");
    let v = first_counties(3);
    c.json("counties.geojson", &v);
    let first = adcode(&v, 0);
    c.json(
        "townships.geojson",
        &generated_subset("zj26_townships_generated.geojson", &first),
    );
    let mut villages = generated_subset("zj26_villages_generated.geojson", &first);
    edit_villages(&mut villages);
    c.json("villages.geojson", &villages);
    let zones = format!(
        "{COUNTY_ZONES}
[[zones]]
path = \"townships.geojson\"
level = \"township\"
id_field = \"zone_id\"
name_field = \"name\"
parent_field = \"parent\"

[[zones]]
path = \"villages.geojson\"
level = \"village\"
id_field = \"zone_id\"
name_field = \"name\"
parent_field = \"parent\"
"
    );
    c.config("", &zones, "");
    (c, v)
}

#[test]
fn hierarchy_positive_control() {
    let (c, _) = hierarchy_case(&|_| {});
    assert_ok(&c, &c.run());
}

#[test]
fn orphan_village() {
    let (c, v) = hierarchy_case(&|vil| {
        vil["features"][5]["properties"]["parent"] = "330127999".into();
    });
    let out = c.run();
    let ok = vec![adcode(&v, 1), adcode(&v, 2)];
    assert_county_failed(&c, &out, &adcode(&v, 0), &ok, &["330127999"]);
}

/// An orphan whose own id does not start with its county's code (the county is told from its
/// parent field): the county fails, the others are computed. (This used to loop for ever: the
/// orphan was never dropped.)
#[test]
fn orphan_with_a_foreign_id_fails_its_county() {
    let (c, v) = hierarchy_case(&|vil| {
        vil["features"][3]["properties"]["zone_id"] = "X0001".into();
        vil["features"][3]["properties"]["parent"] = "330127998".into();
    });
    let out = c.run();
    let ok = vec![adcode(&v, 1), adcode(&v, 2)];
    assert_county_failed(&c, &out, &adcode(&v, 0), &ok, &["X0001", "330127998"]);
}

/// Many orphans in one county: found in one pass, the county fails with the first few
/// reasons and a count, the other counties are computed.
#[test]
fn many_orphan_villages_fail_their_county_once() {
    let (c, v) = hierarchy_case(&|vil| {
        for k in 0..8 {
            vil["features"][k]["properties"]["parent"] = format!("33012799{k}").into();
        }
    });
    let out = c.run();
    let ok = vec![adcode(&v, 1), adcode(&v, 2)];
    assert_county_failed(&c, &out, &adcode(&v, 0), &ok, &["330127990", "and 3 more"]);
    let failures = c.read_out("failures.csv");
    assert!(!failures.contains("330127997"), "{failures}");
}

fn gbk_shapefile(c: &Case) {
    c.tool(
        "ogr2ogr",
        &["-lco", "ENCODING=GBK", "counties.shp", "counties.geojson"],
    );
    std::fs::remove_file(c.p("counties.cpg")).unwrap();
}

#[test]
fn gbk_shapefile_with_encoding_option() {
    let c = Case::standard();
    gbk_shapefile(&c);
    c.config(
        "",
        &format!(
            "{}encoding = \"GBK\"\n",
            COUNTY_ZONES.replace("counties.geojson", "counties.shp")
        ),
        "",
    );
    let out = c.run();
    assert_ok(&c, &out);
    let zones = c.read_out("zones.csv");
    assert!(zones.contains("淳安县"), "{zones}");
}

/// Without `.cpg` and without `encoding`, GBK bytes are not valid UTF-8 but are valid GBK: gep
/// reads them as GBK and says so on stderr, naming the file and how to silence the warning
/// (more cases in `encoding_geometry`).
#[test]
fn gbk_shapefile_without_cpg_or_encoding() {
    let c = Case::standard();
    gbk_shapefile(&c);
    c.config(
        "",
        &COUNTY_ZONES.replace("counties.geojson", "counties.shp"),
        "",
    );
    let out = c.run();
    assert_ok(&c, &out);
    let zones = c.read_out("zones.csv");
    assert!(zones.contains("330127"), "{zones}");
    assert!(zones.contains("淳安县"), "{zones}");
    assert!(!zones.contains('\u{fffd}'), "{zones}");
    assert_mentions(&out, &["counties.shp", "GBK", "encoding = \"GBK\""]);
}

// ---------------------------------------------------------------------------------------------
// Config and command line
// ---------------------------------------------------------------------------------------------

#[test]
fn config_syntax_error_names_line_and_column() {
    let c = Case::standard();
    c.write(
        "gep.toml",
        "year = 2019\n[landcover\npath = \"lc.tif\"\n[output]\ndir = \"out\"\n",
    );
    let out = c.run();
    assert_fatal(&c, &out, &["gep.toml", "line 2", "column"]);
}

#[test]
fn unknown_config_key() {
    let c = Case::standard();
    c.config("paht = \"lc2.tif\"", COUNTY_ZONES, "");
    let out = c.run();
    assert_fatal(&c, &out, &["gep.toml", "paht", "path"]);
}

#[test]
fn level_province() {
    let c = Case::standard();
    c.config("", &COUNTY_ZONES.replace("\"county\"", "\"province\""), "");
    let out = c.run();
    assert_fatal(&c, &out, &["province", "county", "township", "village"]);
}

#[test]
fn two_layers_with_the_same_level() {
    let c = Case::standard();
    c.config("", &format!("{COUNTY_ZONES}{COUNTY_ZONES}"), "");
    let out = c.run();
    assert_fatal(&c, &out, &["same level"]);
}

#[test]
fn missing_output_table() {
    let c = Case::standard();
    c.write(
        "gep.toml",
        &format!("[landcover]\npath = \"lc.tif\"\n{COUNTY_ZONES}"),
    );
    let out = c.run();
    assert_fatal(&c, &out, &["[output]", "dir"]);
}

#[test]
fn malformed_zones_flag() {
    let c = Case::standard();
    let out = c.gep(&[
        "run",
        "--landcover",
        "lc.tif",
        "--zones",
        "counties.geojson:county",
        "--out",
        "out",
    ]);
    assert_fatal(
        &c,
        &out,
        &["counties.geojson:county", "PATH:LEVEL:ID_FIELD"],
    );
}

#[test]
fn relative_paths_resolve_from_the_config_directory() {
    let c = Case::new();
    std::fs::create_dir(c.p("job")).unwrap();
    c.copy("mcd12c1_2019_igbp_zhejiang.tif", "job/lc.tif");
    c.json("job/counties.geojson", &first_counties(3));
    c.write(
        "job/gep.toml",
        &format!("[landcover]\npath = \"lc.tif\"\n{COUNTY_ZONES}\n[output]\ndir = \"out\"\n"),
    );
    // Run from the case directory, not from job/.
    let out = c.gep(&["run", "job/gep.toml"]);
    no_panic(&out);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(c.p("job/out/extent.csv").exists());
    assert!(!c.out().exists());
}

#[test]
fn config_that_does_not_exist() {
    let c = Case::standard();
    let out = c.gep(&["run", "gpe.toml"]);
    assert_fatal(&c, &out, &["gpe.toml"]);
}

#[test]
fn output_parent_is_a_file() {
    let c = Case::standard();
    c.write("results", "not a directory\n");
    c.config("", COUNTY_ZONES, "");
    let s = std::fs::read_to_string(c.p("gep.toml")).unwrap();
    c.write(
        "gep.toml",
        &s.replace("dir = \"out\"", "dir = \"results/out\""),
    );
    let out = c.run();
    assert_fatal(&c, &out, &["results"]);
    assert_eq!(
        std::fs::read_to_string(c.p("results")).unwrap(),
        "not a directory\n"
    );
}

#[test]
fn output_path_is_a_file() {
    let c = Case::standard();
    c.write("out", "precious\n");
    c.config("", COUNTY_ZONES, "");
    let out = c.run();
    no_panic(&out);
    assert_eq!(out.code, 2, "{out:?}");
    assert_mentions(&out, &["out"]);
    assert_eq!(std::fs::read_to_string(c.out()).unwrap(), "precious\n");
    c.assert_no_stray();
}

#[test]
fn info_on_a_missing_file() {
    let c = Case::new();
    let out = c.gep(&["info", "nope.tif"]);
    no_panic(&out);
    assert_eq!(out.code, 2, "{out:?}");
    assert_mentions(&out, &["nope.tif"]);
}

#[test]
fn info_on_a_file_that_is_not_geodata() {
    let c = Case::new();
    c.write("notes.txt", "minutes of the meeting\n");
    let out = c.gep(&["info", "notes.txt"]);
    no_panic(&out);
    assert_eq!(out.code, 2, "{out:?}");
    assert_mentions(&out, &["notes.txt"]);
}

#[test]
fn counties_filter_with_an_unknown_id() {
    let c = Case::standard();
    let out = c.gep(&["run", "gep.toml", "--counties", "339999"]);
    // No config written yet: write it and retry.
    assert_eq!(out.code, 2, "{out:?}");
    c.config("", COUNTY_ZONES, "");
    let out = c.gep(&["run", "gep.toml", "--counties", "339999"]);
    assert_fatal(&c, &out, &["339999", "id field"]);
}
