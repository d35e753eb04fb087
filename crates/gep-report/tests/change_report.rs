//! The change report (gep change / gep appraise): transition matrix, map of change, HTML.

use geo_types::{polygon, MultiPolygon};
use gep_core::Level;
use gep_report::change_html::{change_map, summary, transition_matrix};
use gep_report::*;

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
    MultiPolygon::new(vec![
        polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1)],
    ])
}

fn effects(total: f64) -> Option<ZoneEffects> {
    Some(ZoneEffects {
        value0_yuan: 1000.0,
        value1_yuan: 1000.0 + total,
        total_yuan: total,
        land_yuan: total,
        price_yuan: 0.0,
        interaction_yuan: 0.0,
        input_yuan: None,
    })
}

/// A county of three villages (in metres): one lost GEP, one gained, one unchanged.
fn zones() -> Vec<ChangeZone> {
    let z = |id: &str, level, g, e| ChangeZone {
        id: id.into(),
        name: format!("name {id}"),
        level,
        geometry: g,
        effects: e,
    };
    vec![
        z(
            "1",
            Level::County,
            rect(0.0, 0.0, 3000.0, 1000.0),
            effects(-50.0),
        ),
        z(
            "1001",
            Level::Village,
            rect(0.0, 0.0, 1000.0, 1000.0),
            effects(-80.0),
        ),
        z(
            "1002",
            Level::Village,
            rect(1000.0, 0.0, 2000.0, 1000.0),
            effects(30.0),
        ),
        z(
            "1003",
            Level::Village,
            rect(2000.0, 0.0, 3000.0, 1000.0),
            effects(0.0),
        ),
    ]
}

fn cell(from: &str, to: &str, area_ha: f64) -> TransitionCell {
    TransitionCell {
        from: from.into(),
        to: to.into(),
        area_ha,
    }
}

/// 3 types before (forest, paddy, water), 3 after (forest, paddy, built_up): the rows are
/// the year-0 types, the columns the year-1 types, row totals the year-0 areas, column totals
/// the year-1 areas, and the changed area the off-diagonal sum.
#[test]
fn transition_matrix_rows_and_totals() {
    let cells = [
        cell("forest", "forest", 100.0),
        cell("forest", "built_up", 4.0),
        cell("paddy", "paddy", 50.0),
        cell("paddy", "built_up", 6.0),
        cell("water", "paddy", 1.5),
        // The same pair twice: added.
        cell("forest", "built_up", 1.0),
    ];
    let m = transition_matrix(&cells, Lang::En);
    assert_eq!(m.rows.len(), 3);
    assert_eq!(m.to.len(), 3);
    let total: Vec<f64> = m.rows.iter().map(|r| r.total_ha).collect();
    // Catalogue order: forest types before paddy before water.
    assert_eq!(total, vec![105.0, 56.0, 1.5]);
    let mut col = m.col_totals_ha.clone();
    col.sort_by(f64::total_cmp);
    assert_eq!(col, vec![11.0, 51.5, 100.0]);
    assert_eq!(m.changed, "12.5");
    // Diagonal cells grey, changed cells orange, empty cells white.
    for (i, r) in m.rows.iter().enumerate() {
        for (j, c) in r.cells.iter().enumerate() {
            if c.area_ha == 0.0 {
                assert_eq!((c.fill, c.text.as_str()), ("#ffffff", ""));
            } else if m.to[j] == r.from {
                assert!(
                    c.fill.starts_with("#f0")
                        || c.fill.starts_with("#d9")
                        || c.fill.starts_with("#bd"),
                    "{i},{j}"
                );
            } else {
                assert!(!c.fill.starts_with("#ff"), "{i},{j}: {}", c.fill);
            }
        }
    }
    let zh = transition_matrix(&cells, Lang::Zh);
    assert!(
        zh.rows.iter().any(|r| r.from == "水田"),
        "{:?}",
        zh.rows[1].from
    );
}

/// One path per village (the finest level), the county drawn as an outline; red for the
/// loss, blue for the gain, the neutral colour for no change; a legend entry for each.
#[test]
fn change_map_one_path_per_zone_diverging() {
    let m = change_map(&zones(), Lang::En).unwrap();
    assert_eq!(m.level, "village");
    assert_eq!(m.paths.len(), 3);
    assert_eq!(m.outlines.len(), 1);
    let fill: Vec<&str> = m.paths.iter().map(|p| p.fill).collect();
    assert_eq!(fill[2], "#f7f7f7");
    assert!(fill[0].starts_with("#b2") || fill[0].starts_with("#ef") || fill[0].starts_with("#fd"));
    assert!(fill[1].starts_with("#21") || fill[1].starts_with("#67") || fill[1].starts_with("#d1"));
    assert_eq!(m.legend.len(), 3);
    assert!(m.legend.iter().any(|l| l.label == "0"));
    // Classes by |ΔGEP| terciles of the changed zones (30, 80: breaks 30 and 80), ranges low
    // to high: the loss of 80 is in "−80 – −30", the gain of 30 in "0 – +30".
    let labels: Vec<&str> = m.legend.iter().map(|l| l.label.as_str()).collect();
    assert_eq!(labels, vec!["−80 – −30", "0", "0 – +30"]);
    assert!(m.paths[0].tip.contains("-80"), "{}", m.paths[0].tip);
    assert!(m.paths[1].tip.contains("+30"), "{}", m.paths[1].tip);
    // The summary lists the county only.
    let s = summary(&zones());
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].cells[2], "-50");
}

fn run() -> RunInfo {
    RunInfo {
        engine_version: "0.1.0".into(),
        commit: None,
        command: vec!["gep".into(), "change".into()],
        config_text: String::new(),
        coefficient_set: Some(IdHash {
            id: "xie2015@2".into(),
            sha256: sha256_bytes(b"set"),
        }),
        crosswalk: None,
        inputs: vec![InputFile {
            role: "landcover".into(),
            path: "<lc>.tif".into(),
            sha256: sha256_bytes(b"lc"),
            size_bytes: 2,
            crs: None,
            resolution: None,
        }],
        timings: Vec::new(),
        warnings: vec!["a <warning>".into()],
        warnings_zh: Vec::new(),
        area_basis: "planar".into(),
        year: Some(2006),
        units_total: 0,
        failures: Vec::new(),
        working_dir: None,
        models: None,
        totals: None,
    }
}

/// The HTML: self-contained (no network reference, no script), one matrix row per year-0
/// type, one map path per village, text escaped, in the language asked for.
#[test]
fn change_report_html_structure() {
    let input = ChangeReportInput {
        kind: ChangeKind::Years {
            year0: 2006,
            year1: 2012,
        },
        zones: zones(),
        transitions: vec![
            cell("forest", "forest", 100.0),
            cell("forest", "built_up", 4.0),
            cell("paddy", "paddy", 50.0),
        ],
        run: run(),
    };
    let dir = tempfile::tempdir().unwrap();
    for lang in [Lang::Zh, Lang::En] {
        let p = dir.path().join(format!("report-{}.html", lang.tag()));
        write_change_html(&p, &input, lang).unwrap();
        let html = std::fs::read_to_string(&p).unwrap();
        assert_eq!(html.matches("<tr class=\"from-row\">").count(), 2);
        let map = &html[html.find("<g class=\"zones\"").unwrap()..];
        let map = &map[..map.find("</g>").unwrap()];
        assert_eq!(map.matches("<path ").count(), 3);
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(!html.contains("<script"));
        assert!(html.contains("&lt;lc&gt;.tif") && html.contains("a &lt;warning&gt;"));
        assert!(html.contains("2006–2012"));
        match lang {
            Lang::Zh => assert!(html.contains("土地变化效应") && html.contains("lang=\"zh-CN\"")),
            Lang::En => assert!(html.contains("land effect") && html.contains("lang=\"en\"")),
        }
    }
}
