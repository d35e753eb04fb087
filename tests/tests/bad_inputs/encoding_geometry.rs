//! Boundary files: text encodings of names and geometry messages.
//!
//! The encoding rules (gep-io `text_encoding`): a declared encoding (`encoding` in the config,
//! a `.cpg`, the `.dbf` header's language driver id, UTF-8 for GeoJSON/GeoPackage) is obeyed
//! strictly; an undeclared Shapefile is read as UTF-8 when all of it is valid UTF-8, else as
//! GBK with a warning; text that fits nothing is fatal (exit 2) naming the file, FID, field
//! and the fix. A zone name never holds U+FFFD.

use super::support::*;
use serde_json::Value;

/// 淳安县 (FID 0 of the standard counties) in GBK, and the same with its middle character made
/// invalid in both UTF-8 and GB18030.
const CHUNAN_GBK: &[u8] = &[0xB4, 0xBE, 0xB0, 0xB2, 0xCF, 0xD8];
const CHUNAN_BROKEN: &[u8] = &[0xB4, 0xBE, 0xFF, 0xFF, 0xCF, 0xD8];

/// `[[zones]]` reading `counties.shp`, with extra lines.
fn shp_zones(extra: &str) -> String {
    format!(
        "{}{extra}",
        COUNTY_ZONES.replace("counties.geojson", "counties.shp")
    )
}

/// The standard counties as `counties.shp` in GBK, without `.cpg` (as older Chinese tools
/// leave them).
fn gbk_counties(c: &Case) {
    c.tool(
        "ogr2ogr",
        &["-lco", "ENCODING=GBK", "counties.shp", "counties.geojson"],
    );
    std::fs::remove_file(c.p("counties.cpg")).unwrap();
}

/// Replaces the first occurrence of `from` in a case file by `to` (same length).
fn patch(c: &Case, name: &str, from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let p = c.p(name);
    let mut b = std::fs::read(&p).unwrap();
    let at = b
        .windows(from.len())
        .position(|w| w == from)
        .unwrap_or_else(|| panic!("{from:?} not in {name}"));
    b[at..at + to.len()].copy_from_slice(to);
    std::fs::write(&p, b).unwrap();
}

/// A GBK Shapefile case that has already produced a good result set in `out/`.
fn published_gbk_case() -> Case {
    let c = Case::standard();
    gbk_counties(&c);
    c.config("", &shp_zones("encoding = \"GBK\"\n"), "");
    let out = c.run();
    assert_ok(&c, &out);
    assert!(c.read_out("zones.csv").contains("淳安县"));
    c
}

/// Exit 2 with `needles` on stderr, and the previous results byte for byte.
fn assert_fatal_keeps(
    c: &Case,
    before: &std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>,
    needles: &[&str],
) {
    let out = c.run();
    no_panic(&out);
    assert_eq!(out.code, 2, "{out:?}");
    assert_mentions(&out, needles);
    assert!(!out.stderr.contains('\u{fffd}'), "{out:?}");
    assert_eq!(&c.snapshot(), before, "a fatal run changed out/");
    c.assert_no_stray();
}

#[test]
fn gbk_without_cpg_is_detected_and_said_in_stderr_and_manifest() {
    let c = Case::standard();
    gbk_counties(&c);
    c.config("", &shp_zones(""), "");
    let out = c.run();
    assert_ok(&c, &out);
    let zones = c.read_out("zones.csv");
    assert!(zones.contains("淳安县"), "{zones}");
    assert!(!zones.contains('\u{fffd}'), "{zones}");
    assert_mentions(
        &out,
        &[
            "counties.shp",
            "read it as GBK",
            "encoding = \"GBK\"",
            "counties.cpg",
        ],
    );
    let manifest = c.read_out("manifest.json");
    assert!(
        manifest.contains("read it as GBK") && manifest.contains("counties.shp"),
        "{manifest}"
    );
    // Saying so silences the warning.
    c.config("", &shp_zones("encoding = \"GBK\"\n"), "");
    let out = c.run();
    assert_ok(&c, &out);
    assert!(!out.stderr.contains("read it as GBK"), "{out:?}");
}

#[test]
fn bytes_valid_in_neither_utf8_nor_gbk_are_fatal_and_keep_previous_results() {
    let c = published_gbk_case();
    let before = c.snapshot();
    patch(&c, "counties.dbf", CHUNAN_GBK, CHUNAN_BROKEN);
    // Without `encoding`: neither UTF-8 nor GBK fits.
    c.config("", &shp_zones(""), "");
    assert_fatal_keeps(
        &c,
        &before,
        &[
            "counties.shp",
            "FID 0",
            "field \"name\"",
            r"\xB4\xBE\xFF\xFF\xCF\xD8",
            "set `encoding`",
            "encoding = \"",
        ],
    );
    // With `encoding = "GBK"`: the bytes are invalid GBK, which is said as such.
    c.config("", &shp_zones("encoding = \"GBK\"\n"), "");
    assert_fatal_keeps(&c, &before, &["counties.shp", "FID 0", "not valid GBK"]);
}

/// A `.cpg` is a declaration: when it says UTF-8 over GBK bytes one of the two is wrong and
/// only the user knows which, so gep stops and names the fix instead of guessing.
#[test]
fn cpg_saying_utf8_over_gbk_bytes_is_fatal_with_the_fix() {
    let c = published_gbk_case();
    let before = c.snapshot();
    c.write("counties.cpg", "UTF-8");
    c.config("", &shp_zones(""), "");
    assert_fatal_keeps(
        &c,
        &before,
        &[
            "counties.shp",
            "FID 0",
            "field \"name\"",
            "the .cpg file says (\"UTF-8\")",
            "encoding = \"GBK\"",
        ],
    );
    // The config overrides the .cpg.
    c.config("", &shp_zones("encoding = \"GBK\"\n"), "");
    let out = c.run();
    assert_ok(&c, &out);
    assert!(c.read_out("zones.csv").contains("淳安县"));
}

#[test]
fn cpg_saying_gbk_over_invalid_gbk_is_fatal() {
    let c = published_gbk_case();
    let before = c.snapshot();
    c.write("counties.cpg", "936");
    patch(&c, "counties.dbf", CHUNAN_GBK, CHUNAN_BROKEN);
    c.config("", &shp_zones(""), "");
    assert_fatal_keeps(
        &c,
        &before,
        &[
            "counties.shp",
            "FID 0",
            "not valid GBK, as the .cpg file says (\"936\")",
            "set `encoding`",
        ],
    );
}

#[test]
fn invalid_utf8_in_geojson_is_fatal_not_replacement_characters() {
    let c = Case::standard();
    c.config("", COUNTY_ZONES, "");
    assert_ok(&c, &c.run());
    let before = c.snapshot();
    // GBK bytes where UTF-8 must be (a tool that wrote the file without converting).
    patch(
        &c,
        "counties.geojson",
        "淳安县".as_bytes(),
        b"\xB4\xBE\xB0\xB2\xCF\xD8xxx",
    );
    assert_fatal_keeps(
        &c,
        &before,
        &[
            "counties.geojson",
            "FID 0",
            "field \"name\"",
            "not valid UTF-8",
            "valid GBK",
        ],
    );
}

/// Standard case whose counties are edited by `f`, run after a good run.
fn geometry_case(f: &dyn Fn(&mut Value)) -> (Case, Value, Out) {
    let c = Case::standard();
    c.config("", COUNTY_ZONES, "");
    assert_ok(&c, &c.run());
    let mut v = first_counties(3);
    f(&mut v);
    c.json("counties.geojson", &v);
    let out = c.run();
    (c, v, out)
}

#[test]
fn bow_tie_fails_its_county_naming_the_crossing_point() {
    // A bow-tie whose edges cross at (120.5, 29.5).
    let (c, v, out) = geometry_case(&|v| {
        v["features"][1]["geometry"] = serde_json::json!({
            "type": "Polygon",
            "coordinates": [[[120.0, 29.0], [121.0, 30.0], [121.0, 29.0], [120.0, 30.0], [120.0, 29.0]]]
        });
    });
    assert_county_failed(
        &c,
        &out,
        &adcode(&v, 1),
        &[adcode(&v, 0), adcode(&v, 2)],
        &[
            "counties.geojson",
            "FID 1",
            "Self-intersection at (120.5, 29.5)",
            "ogr2ogr -makevalid",
        ],
    );
    assert!(!out.stderr.contains("zero area"), "{out:?}");
}

#[test]
fn null_geometry_fails_its_county_saying_it_has_no_geometry() {
    let (c, v, out) = geometry_case(&|v| v["features"][2]["geometry"] = Value::Null);
    assert_county_failed(
        &c,
        &out,
        &adcode(&v, 2),
        &[adcode(&v, 0), adcode(&v, 1)],
        &[
            "counties.geojson",
            "FID 2",
            "has no geometry",
            "delete the feature",
        ],
    );
    assert!(!out.stderr.contains("Unknown"), "{out:?}");
}

#[test]
fn empty_geometry_fails_its_county_saying_it_is_empty() {
    let (c, v, out) = geometry_case(&|v| {
        v["features"][0]["geometry"] =
            serde_json::json!({"type": "MultiPolygon", "coordinates": []});
    });
    assert_county_failed(
        &c,
        &out,
        &adcode(&v, 0),
        &[adcode(&v, 1), adcode(&v, 2)],
        &["counties.geojson", "FID 0", "has an empty geometry"],
    );
    assert!(!out.stderr.contains("Unknown"), "{out:?}");
}
