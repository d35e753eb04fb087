//! The workbook, the wide CSV, the HTML report and the manifest on a small hand-made example:
//! three square counties side by side (lon/lat near Hangzhou), two villages in each of the first
//! two, one in the third; one village carries an injected formula as its name.

use geo_types::{polygon, MultiPolygon};
use gep_core::{Category, Level};
use gep_report::*;
use std::io::Read;

fn square(x: f64, y: f64, size: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![polygon![
        (x: x, y: y), (x: x + size, y: y), (x: x + size, y: y + size), (x: x, y: y + size), (x: x, y: y)
    ]])
}

fn zone(
    id: &str,
    name: &str,
    level: Level,
    parent: Option<&str>,
    g: MultiPolygon<f64>,
    area_ha: f64,
    gep: Option<f64>,
) -> ReportZone {
    ReportZone {
        id: id.into(),
        name: name.into(),
        level,
        parent: parent.map(Into::into),
        geometry: g,
        area_ha,
        gep_yuan: gep,
        material_yuan: gep.map(|g| g * 0.2),
        regulating_yuan: gep.map(|g| g * 0.7),
        cultural_yuan: gep.map(|g| g * 0.1),
        supporting_yuan: gep.map(|_| 0.0),
    }
}

fn example() -> ReportInput {
    let (x0, y0, s) = (119.0, 30.0, 0.2);
    let mut zones = vec![
        zone(
            "330127",
            "淳安县",
            Level::County,
            None,
            square(x0, y0, s),
            44_000.0,
            Some(3.0e10),
        ),
        zone(
            "330122",
            "桐庐县",
            Level::County,
            None,
            square(x0 + s, y0, s),
            44_000.0,
            Some(1.5e10),
        ),
        zone(
            "330182",
            "建德市",
            Level::County,
            None,
            square(x0 + 2.0 * s, y0, s),
            44_000.0,
            None,
        ),
    ];
    let villages = [
        ("330127100001", "=1+1", "330127", 0, 0, 2.0e10),
        ("330127100002", "千岛湖村", "330127", 0, 1, 1.0e10),
        ("330122100001", "桐君村", "330122", 1, 0, 0.5e10),
        ("330122100002", "<b>富春</b>村", "330122", 1, 1, 1.0e10),
        ("330182100001", "新安江村", "330182", 2, 0, 0.7e10),
    ];
    for (id, name, parent, cx, row, gep) in villages {
        let (x, y) = (x0 + cx as f64 * s, y0 + row as f64 * s / 2.0);
        let g = MultiPolygon(vec![polygon![
            (x: x, y: y), (x: x + s, y: y), (x: x + s, y: y + s / 2.0), (x: x, y: y + s / 2.0), (x: x, y: y)
        ]]);
        zones.push(zone(
            id,
            name,
            Level::Village,
            Some(parent),
            g,
            11_000.0,
            Some(gep),
        ));
    }
    let mut services = Vec::new();
    for z in &zones {
        for (code, zh, en, cat, share) in [
            (
                "agriculture",
                "农业产品",
                "Agricultural products",
                Category::Material,
                0.2,
            ),
            (
                "water_conservation",
                "水源涵养",
                "Water conservation",
                Category::Regulating,
                0.7,
            ),
            (
                "recreation",
                "休闲旅游",
                "Recreation",
                Category::Cultural,
                0.1,
            ),
            (
                "carbon_stock",
                "碳储量",
                "Carbon stock",
                Category::Stock,
                0.0,
            ),
        ] {
            services.push(ServiceTotal {
                zone_id: z.id.clone(),
                service: code.into(),
                service_zh: zh.into(),
                service_en: en.into(),
                category: cat,
                value_yuan: (cat != Category::Stock).then(|| z.gep_yuan.unwrap_or(0.0) * share),
                quantity: (cat == Category::Stock).then_some(12.5),
                quantity_unit: if cat == Category::Stock {
                    "t C".into()
                } else {
                    String::new()
                },
            });
        }
    }
    let checks = vec![
        CheckSummary {
            parent_id: "330127".into(),
            level: Level::Village,
            kind: "sum".into(),
            class: Some(2),
            residual_m2: 1.5e-9,
            parent_area_m2: 4.4e8,
            children: Vec::new(),
        },
        CheckSummary {
            parent_id: "330122".into(),
            level: Level::Village,
            kind: "gap".into(),
            class: None,
            residual_m2: 1234.5,
            parent_area_m2: 4.4e8,
            children: Vec::new(),
        },
    ];
    ReportInput {
        sensitivity: Vec::new(),
        extent_types: Vec::new(),
        map_crs: None,
        title: String::new(),
        zones,
        services,
        checks,
        run: RunInfo {
            engine_version: "0.1.0".into(),
            commit: Some("abc1234".into()),
            command: vec!["gep".into(), "run".into(), "demo.toml".into()],
            config_text: "year = 2020\n[landcover]\npath = \"lc.tif\"\n".into(),
            coefficient_set: Some(IdHash {
                id: "xie2015-example".into(),
                sha256: sha256_bytes(b"coefficients"),
            }),
            crosswalk: None,
            inputs: vec![InputFile {
                role: "landcover".into(),
                path: "lc.tif".into(),
                sha256: sha256_bytes(b"lc"),
                size_bytes: 2,
                crs: Some("EPSG:4549".into()),
                resolution: Some([30.0, 30.0]),
            }],
            timings: vec![Timing {
                step: "tally".into(),
                seconds: 1.25,
            }],
            warnings: vec!["=cmd|' /C calc'!A0".into()],
            warnings_zh: Vec::new(),
            area_basis: "planar".into(),
            year: Some(2020),
            units_total: 0,
            failures: Vec::new(),
            working_dir: None,
            models: None,
            totals: None,
        },
    }
}

fn zip_entry(path: &std::path::Path, name: &str) -> String {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut s = String::new();
    z.by_name(name).unwrap().read_to_string(&mut s).unwrap();
    s
}

#[test]
fn workbook_has_text_ids_and_no_formulas() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("gep.xlsx");
    write_workbook(&p, &example(), Lang::Zh).unwrap();
    let mut z = zip::ZipArchive::new(std::fs::File::open(&p).unwrap()).unwrap();
    let names: Vec<String> = z.file_names().map(String::from).collect();
    drop(z.by_name("xl/workbook.xml").unwrap());
    let workbook = zip_entry(&p, "xl/workbook.xml");
    for sheet in ["counties", "villages", "services", "checks", "run"] {
        assert!(
            workbook.contains(&format!("name=\"{sheet}\"")),
            "{sheet} missing: {workbook}"
        );
    }
    // The workbook is written in constant-memory mode: strings are inline (`<is><t>`) in the
    // sheets rather than in sharedStrings.xml, so look for them in all the sheets.
    let shared: String = names
        .iter()
        .filter(|n| n.starts_with("xl/worksheets/sheet") || *n == "xl/sharedStrings.xml")
        .map(|n| zip_entry(&p, n))
        .collect();
    assert!(shared.contains("<t>330127100001</t>"), "id not a string");
    assert!(
        shared.contains("<t>'=1+1</t>"),
        "injected name not neutralised"
    );
    assert!(shared.contains("淳安县"));
    for n in names
        .iter()
        .filter(|n| n.starts_with("xl/worksheets/sheet"))
    {
        let xml = zip_entry(&p, n);
        assert!(
            !xml.contains("<f>") && !xml.contains("<f "),
            "{n} has a formula"
        );
        // No zone id was written as a number.
        assert!(!xml.contains("<v>330127100001</v>"), "{n}");
    }
}

#[test]
fn wide_csv_has_bom_and_one_column_per_service() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("wide.csv");
    let input = example();
    write_wide_csv(&p, &input.zones, &input.services).unwrap();
    let s = std::fs::read_to_string(&p).unwrap();
    assert!(s.starts_with('\u{feff}'));
    let mut lines = s.trim_start_matches('\u{feff}').lines();
    // Services in the standard's order (a code outside the catalogue, `agriculture`, last),
    // then where the zone lies.
    assert_eq!(
        lines.next().unwrap(),
        "zone_id,zone_level,name,parent_id,water_conservation,recreation,carbon_stock,agriculture,gep_yuan,county_id,county_name,township_id,township_name"
    );
    assert_eq!(
        lines.next().unwrap(),
        "330127,county,淳安县,,21000000000.0,3000000000.0,,6000000000.0,30000000000.0,330127,淳安县,,"
    );
    assert!(s.contains("330127100001,village,'=1+1,330127,"), "{s}");
    assert_eq!(s.lines().count(), 1 + input.zones.len());
}

fn count(h: &str, needle: &str) -> usize {
    h.matches(needle).count()
}

#[test]
fn html_structure() {
    let input = example();
    let zh = render_html(&input, Lang::Zh).unwrap();
    let en = render_html(&input, Lang::En).unwrap();
    for h in [&zh, &en] {
        assert!(h.starts_with("<!DOCTYPE html>"));
        // Two maps (county, village), one path per zone in each.
        assert_eq!(count(h, "<svg class=\"choropleth"), 2);
        let county_map = &h[h.find("level-county").unwrap()..];
        let county_zones = &county_map[..county_map.find("</g>").unwrap()];
        assert_eq!(count(county_zones, "<path "), 3);
        let village_map = &h[h.find("level-village").unwrap()..];
        let village_zones = &village_map[..village_map.find("</g>").unwrap()];
        assert_eq!(count(village_zones, "<path "), 5);
        assert_eq!(count(village_zones, "<title>"), 5);
        // Three ranking rows, the highest GEP first, the unknown one last.
        assert_eq!(count(h, "<tr class=\"rank-row\">"), 3);
        let (a, b, c) = (
            h.find("淳安县").unwrap(),
            h.find("桐庐县").unwrap(),
            h.find("建德市").unwrap(),
        );
        assert!(a < b && b < c);
        // Two bar charts; the stock is not among the valued services.
        assert_eq!(count(h, "<svg class=\"bars\""), 2);
        // Self-contained.
        assert!(
            !h.contains("http://") && !h.contains("https://"),
            "network reference"
        );
        // Inline script and data only: nothing loaded.
        assert!(!h.contains("<script src") && !h.contains("<link"));
        assert_eq!(count(h, "<script>"), 1);
        assert_eq!(
            count(h, "<script type=\"application/json\" id=\"zone-data\">"),
            1
        );
        // Every map has a north arrow, a scale bar and the three county names.
        assert_eq!(count(h, "class=\"north-arrow\""), 2);
        assert_eq!(count(h, "class=\"scale-bar\""), 2);
        assert_eq!(count(h, "class=\"major\">淳安县</text>"), 2);
        // A4 print rules: page size, repeated headers, rows kept whole, controls hidden.
        assert!(h.contains("@page { size: A4"));
        assert!(h.contains("thead { display: table-header-group; }"));
        assert!(h.contains("tr, td, th { break-inside: avoid; }"));
        assert!(
            h.contains(".no-print, .map-tools, .search-bar, details { display: none !important; }")
        );
        // The method statement and the village table (5 villages in its data).
        assert!(h.contains("<section id=\"method\">"));
        let data = &h[h.find("id=\"zone-data\">").unwrap()..];
        let data = &data[data.find('>').unwrap() + 1..data.find("</script>").unwrap()];
        let rows: serde_json::Value = serde_json::from_str(data).unwrap();
        assert_eq!(rows.as_array().unwrap().len(), 5);
        // Auto-escaped names.
        assert!(
            h.contains("&lt;b&gt;富春&lt;&#x2f;b&gt;村") || h.contains("&lt;b&gt;富春&lt;/b&gt;村")
        );
        assert!(!h.contains("<b>富春"));
        // Total GEP of the counties: 4.5e10 元 = 450.00 亿元.
        assert!(h.contains("450.00"));
        // The gap row is counted and listed.
        assert!(h.contains("1,234.500"));
    }
    assert!(
        zh.contains("<html lang=\"zh-CN\">")
            && zh.contains("单位面积 GEP")
            && zh.contains("水源涵养")
    );
    assert!(
        en.contains("<html lang=\"en\">")
            && en.contains("GEP per hectare")
            && en.contains("Water conservation")
    );
    assert!(!en.contains("单位面积") && !zh.contains("County ranking"));
}

#[test]
fn html_writes_and_handles_empty_input() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("report.html");
    write_html(&p, &example(), Lang::En).unwrap();
    assert!(std::fs::metadata(&p).unwrap().len() > 1000);
    let empty = render_html(&ReportInput::default(), Lang::Zh).unwrap();
    assert!(empty.contains("</html>"));
    if let Ok(dir) = std::env::var("GEP_REPORT_SAMPLE_DIR") {
        // For looking at the example in a browser: GEP_REPORT_SAMPLE_DIR=/tmp cargo test.
        let dir = std::path::Path::new(&dir);
        write_html(&dir.join("report-zh.html"), &example(), Lang::Zh).unwrap();
        write_html(&dir.join("report-en.html"), &example(), Lang::En).unwrap();
        write_workbook(&dir.join("report.xlsx"), &example(), Lang::Zh).unwrap();
    }
}

#[test]
fn manifest_round_trip_and_changed_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("lc.tif"), b"lc").unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(out.join("sub")).unwrap();
    std::fs::write(out.join("gep.csv"), b"a,b\n").unwrap();
    std::fs::write(out.join("sub/x.txt"), b"x").unwrap();
    let outputs = OutputFile::all_in(&out, &["manifest.json"]).unwrap();
    assert_eq!(
        outputs.iter().map(|o| o.path.as_str()).collect::<Vec<_>>(),
        ["gep.csv", "sub/x.txt"]
    );
    assert_eq!(outputs[0].sha256, sha256_bytes(b"a,b\n"));
    let m = Manifest::new(&example().run, outputs);
    let p = out.join("manifest.json");
    m.write(&p).unwrap();
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.ends_with("}\n"));
    assert!(text.find("\"manifest_version\"").unwrap() < text.find("\"engine_version\"").unwrap());
    let back = Manifest::read(&p).unwrap();
    assert_eq!(back, m);
    // Written twice, identical bytes.
    back.write(&p).unwrap();
    assert_eq!(std::fs::read_to_string(&p).unwrap(), text);
    assert!(m.changed_inputs(tmp.path()).is_empty());
    std::fs::write(tmp.path().join("lc.tif"), b"changed").unwrap();
    let changed = m.changed_inputs(tmp.path());
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].recorded.path, "lc.tif");
    assert_eq!(
        changed[0].current_sha256.as_deref(),
        Some(sha256_bytes(b"changed").as_str())
    );
    std::fs::write(&p, "{ not json").unwrap();
    let err = Manifest::read(&p).unwrap_err().to_string();
    assert!(
        err.contains("manifest.json") && err.contains("line 1"),
        "{err}"
    );
}

/// Loads a fixture GeoJSON (lon/lat MultiPolygons) as report zones with a made-up GEP per ha.
fn fixture_zones(
    file: &str,
    level: Level,
    id_key: &str,
    parent_key: Option<&str>,
) -> Vec<ReportZone> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(file);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let ring = |r: &serde_json::Value| {
        geo_types::LineString::from(
            r.as_array()
                .unwrap()
                .iter()
                .map(|c| (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()))
                .collect::<Vec<_>>(),
        )
    };
    v["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let props = &f["properties"];
            let id = props[id_key].as_str().unwrap().to_string();
            let g = &f["geometry"];
            let polys = match g["type"].as_str().unwrap() {
                "Polygon" => vec![g["coordinates"].clone()],
                _ => g["coordinates"].as_array().unwrap().clone(),
            };
            let geometry = MultiPolygon(
                polys
                    .iter()
                    .map(|p| {
                        let rings = p.as_array().unwrap();
                        geo_types::Polygon::new(
                            ring(&rings[0]),
                            rings[1..].iter().map(ring).collect(),
                        )
                    })
                    .collect(),
            );
            // Shoelace area in degrees², scaled at the zone's latitude: good enough for a test.
            let (mut a, mut lat) = (0.0, 0.0);
            for p in &geometry.0 {
                let c = &p.exterior().0;
                lat = c[0].y;
                for w in c.windows(2) {
                    a += w[0].x * w[1].y - w[1].x * w[0].y;
                }
            }
            let area_ha = (a / 2.0).abs() * 111_320.0f64.powi(2) * lat.to_radians().cos() / 1e4;
            let h = id
                .bytes()
                .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
            let per_ha = 20_000.0 + (h % 1000) as f64 * 60.0;
            zone(
                &id,
                props["name"].as_str().unwrap_or(""),
                level,
                parent_key.and_then(|k| props[k].as_str()),
                geometry,
                area_ha,
                Some(per_ha * area_ha),
            )
        })
        .collect()
}

/// The size budget of the report at full scale: 26 counties, 470 townships, 7,541 villages.
#[test]
fn full_size_report_stays_small() {
    let mut zones = fixture_zones(
        "zj26_counties_cgcs2000.geojson",
        Level::County,
        "adcode",
        None,
    );
    zones.extend(fixture_zones(
        "zj26_townships_generated.geojson",
        Level::Township,
        "zone_id",
        Some("parent"),
    ));
    zones.extend(fixture_zones(
        "zj26_villages_generated.geojson",
        Level::Village,
        "zone_id",
        Some("parent"),
    ));
    assert_eq!(zones.len(), 26 + 470 + 7541);
    let input = ReportInput { zones, ..example() };
    let html = render_html(&input, Lang::Zh).unwrap();
    let village_map = &html[html.find("level-village").unwrap()..];
    let village_zones = &village_map[..village_map.find("</g>").unwrap()];
    assert_eq!(count(village_zones, "<path "), 7541);
    assert!(html.len() < 6_000_000, "report is {} bytes", html.len());
    if let Ok(dir) = std::env::var("GEP_REPORT_SAMPLE_DIR") {
        std::fs::write(std::path::Path::new(&dir).join("report-zj26.html"), &html).unwrap();
        write_workbook(
            &std::path::Path::new(&dir).join("report-zj26.xlsx"),
            &input,
            Lang::Zh,
        )
        .unwrap();
    }
}

#[test]
fn services_sheet_is_one_row_per_zone_and_a_column_per_service() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("gep.xlsx");
    let input = example();
    write_workbook(&p, &input, Lang::En).unwrap();
    let mut z = zip::ZipArchive::new(std::fs::File::open(&p).unwrap()).unwrap();
    let names: Vec<String> = z.file_names().map(String::from).collect();
    drop(z.by_name("xl/workbook.xml").unwrap());
    let sheet = names
        .iter()
        .filter(|n| n.starts_with("xl/worksheets/sheet"))
        .map(|n| zip_entry(&p, n))
        .find(|x| x.contains("(water_conservation)"))
        .expect("a sheet with a column per service");
    // Title, unit and price-year rows, the header, and one row per zone (every level), not
    // one per zone × service.
    assert_eq!(
        sheet.matches("<row ").count(),
        4 + input.zones.len(),
        "{sheet}"
    );
    for h in [
        "Water conservation (water_conservation)",
        "Recreation (recreation)",
        "Carbon stock (carbon_stock)",
        "(carbon_stock) [t C]",
    ] {
        assert!(sheet.contains(h), "header {h:?} missing: {sheet}");
    }
    // The county's water conservation: 0.7 of its GEP, by hand from the example's shares,
    // in 万元.
    let county = &input.zones[0];
    let expected = county.gep_yuan.unwrap() * 0.7 / 1e4;
    let row2 = sheet.split("<row ").nth(5).unwrap();
    assert!(row2.contains(&format!("<t>{}</t>", county.id)), "{row2}");
    let values: Vec<f64> = row2
        .split("<v>")
        .skip(1)
        .map(|v| v.split('<').next().unwrap().parse().unwrap())
        .collect();
    assert!(
        values
            .iter()
            .any(|v| (v - expected).abs() <= 1e-9 * expected),
        "{expected} not in {values:?}"
    );
    // The stock has a quantity (12.5 t C) and no value.
    assert!(values.contains(&12.5), "{values:?}");
}

#[test]
fn sensitivity_section_shows_each_parameter_and_the_change() {
    // GEP 100 亿元; with 40 instead of 60 hot days 75 亿元 (−25 %), with 80 125 亿元 (+25 %).
    let mut input = example();
    input.sensitivity = vec![SensitivityLine {
        service: "climate_regulation".into(),
        parameter: "hot_days".into(),
        unit: "d".into(),
        value: 60.0,
        low: 40.0,
        high: 80.0,
        gep_yuan: 100e8,
        gep_low_yuan: 75e8,
        gep_high_yuan: 125e8,
    }];
    let en = render_html(&input, Lang::En).unwrap();
    assert!(en.contains("Sensitivity to key parameters"), "no section");
    assert!(en.contains("climate regulation") && en.contains("hot_days"));
    assert!(en.contains("60 (40 – 80) d"));
    assert!(en.contains("-25.0 %") && en.contains("+25.0 %"));
    // No ranged parameters, no section.
    let none = render_html(&example(), Lang::En).unwrap();
    assert!(!none.contains("id=\"sensitivity\""));
}
