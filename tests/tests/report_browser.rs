//! The HTML report in a real browser: a run of two counties (云和县 and 景宁畲族自治县, with
//! their townships and villages) is rendered by headless Chromium, after its script has run,
//! and printed to PDF. Checks the structure a reviewer relies on: maps with names, legend,
//! scale bar and north arrow; the village table filled by the script with one row per village;
//! A4 pages; and, under the print stylesheet at A4 width, a county ranking whose cells each
//! stay on one line (the ranking once printed one character per line).
//!
//! Needs `chromium` (Debian package, installed by `make deps`); fails when it is missing.

use gep_tests::{fixture, gep_ok, tempdir};
use std::path::Path;
use std::process::Command;

const COUNTIES: [&str; 2] = ["331125", "331127"];

fn chromium() -> &'static str {
    let ok = Command::new("chromium")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "chromium not found: install chromium (make deps) to run the report's browser test"
    );
    "chromium"
}

/// Runs headless Chromium on `page` with `args`; returns stdout.
fn run_chromium(profile: &Path, args: &[&str], page: &Path) -> String {
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("running chromium");
    assert!(
        out.status.success(),
        "chromium {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn config(dir: &Path) -> std::path::PathBuf {
    let f = |p: &str| fixture(p).display().to_string();
    let text = format!(
        r#"
year = 2019
[landcover]
path = "{lc}"
[[zones]]
path = "{c}"
level = "county"
id_field = "adcode"
name_field = "name"
[[zones]]
path = "{t}"
level = "township"
id_field = "zone_id"
name_field = "name"
parent_field = "parent"
[[zones]]
path = "{v}"
level = "village"
id_field = "zone_id"
name_field = "name"
parent_field = "parent"
[valuation]
coefficients = "xie2015"
crosswalk = "modis-igbp-mcd12c1"
[run]
counties = ["{c1}", "{c2}"]
[output]
dir = "{out}"
lang = "zh"
"#,
        lc = f("mcd12c1_2019_igbp_zhejiang.tif"),
        c = f("zj26_counties_cgcs2000.geojson"),
        t = f("zj26_townships_generated.geojson"),
        v = f("zj26_villages_generated.geojson"),
        c1 = COUNTIES[0],
        c2 = COUNTIES[1],
        out = dir.join("out").display(),
    );
    let p = dir.join("gep.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// The villages of `COUNTIES` in the fixture, counted from the file itself.
fn villages_in_fixture() -> usize {
    let v: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fixture("zj26_villages_generated.geojson")).unwrap(),
    )
    .unwrap();
    v["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            let id = f["properties"]["zone_id"].as_str().unwrap_or("");
            COUNTIES.iter().any(|c| id.starts_with(c))
        })
        .count()
}

fn count(h: &str, needle: &str) -> usize {
    h.matches(needle).count()
}

/// The text between `start` and the next `end` after it.
fn between<'a>(h: &'a str, start: &str, end: &str) -> &'a str {
    let i = h
        .find(start)
        .unwrap_or_else(|| panic!("{start} not in the page"));
    let rest = &h[i..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

/// Applies the report's `@media print` rules on screen, sets the body to the width of an A4
/// page's print area (210 mm − 2 × 12 mm margins), and records on `<body>` the largest number
/// of lines any cell of the ranking takes and whether the ranking is wider than the page.
const PRINT_PROBE: &str = r#"<script>
(function () {
  for (const sheet of document.styleSheets) {
    const rules = Array.from(sheet.cssRules);
    for (const r of rules) {
      if (r.media && r.media.mediaText.indexOf("print") >= 0) {
        for (const inner of Array.from(r.cssRules)) sheet.insertRule(inner.cssText, sheet.cssRules.length);
      }
    }
  }
  document.body.style.width = "186mm";
  document.body.style.margin = "0";
  let worst = 0;
  for (const cell of document.querySelectorAll("table.ranking th, table.ranking td")) {
    const range = document.createRange();
    range.selectNodeContents(cell);
    const tops = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
    worst = Math.max(worst, tops.size);
  }
  const table = document.querySelector("table.ranking");
  document.body.setAttribute("data-ranking-max-lines", worst);
  document.body.setAttribute("data-ranking-width", Math.round(table.getBoundingClientRect().width));
  document.body.setAttribute("data-page-width", Math.round(document.body.getBoundingClientRect().width));
})();
</script>"#;

fn attr(h: &str, name: &str) -> f64 {
    let key = format!("{name}=\"");
    let v = &between(h, &key, "\">")[key.len()..];
    let v = &v[..v.find('"').unwrap_or(v.len())];
    v.parse().unwrap_or_else(|_| panic!("{name}: {v:?}"))
}

#[test]
fn report_renders_and_prints_to_a4_in_chromium() {
    chromium();
    let dir = tempdir();
    let cfg = config(dir.path());
    gep_ok(&["run", cfg.to_str().unwrap()]);
    let report = dir.path().join("out").join("report.html");
    assert!(report.is_file(), "no report.html");
    let profile = dir.path().join("chromium-profile");

    // 1. The page after its script ran.
    let dom = run_chromium(&profile, &["--dump-dom"], &report);
    assert!(count(&dom, "<figure class=\"map\"") >= 3, "county, township and village maps");
    for level in ["county", "township", "village"] {
        let fig = between(&dom, &format!("id=\"map-{level}\""), "</figure>");
        // Names: both counties on every map.
        let labels = between(fig, "<g class=\"labels\"", "</g>");
        for name in ["云和县", "景宁畲族自治县"] {
            assert!(labels.contains(name), "{level} map: no label {name}");
        }
        assert!(fig.contains("class=\"north-arrow\""), "{level} map: no north arrow");
        let bar = between(fig, "class=\"scale-bar\"", "</g>");
        let label = between(bar, "class=\"scale-label\"", "</text>");
        let label = &label[label.find('>').unwrap() + 1..];
        assert!(
            label.ends_with(" km") || label.ends_with(" m"),
            "{level} map: scale label {label:?}"
        );
        let legend = between(fig, "<ul class=\"legend\">", "</ul>");
        assert!(legend.contains("元/公顷"), "{level} map: legend without unit");
        assert!(count(legend, "class=\"swatch") >= 2, "{level} map: legend {legend}");
    }
    // Townships whose name fits are labelled at zoom 1 (no data-z), others from their zoom.
    let town_labels = between(&dom, "id=\"map-township\"", "</figure>");
    assert!(count(town_labels, "class=\"minor\"") > 10, "township names");
    // The village table, filled by the script: one row per village of the two counties.
    let villages = villages_in_fixture();
    assert!(villages > 100, "{villages}");
    let table = between(&dom, "<table id=\"zone-rows\"", "</table>");
    assert_eq!(count(table, "<tr class=\"zone-row\""), villages);
    // Each row names its township and county (a village of 云和县 shows 云和县).
    let first = between(table, "<tr class=\"zone-row\"", "</tr>");
    assert!(
        first.contains("云和县") || first.contains("景宁畲族自治县"),
        "{first}"
    );
    for id in ["method", "extent", "quantities", "ranking"] {
        assert!(dom.contains(&format!("<section id=\"{id}\"")), "no section {id}");
    }

    // 2. Under the print stylesheet at A4 width: no ranking cell wraps, the table fits.
    let html = std::fs::read_to_string(&report).unwrap();
    let probe = dir.path().join("probe.html");
    std::fs::write(
        &probe,
        html.replace("</body>", &format!("{PRINT_PROBE}</body>")),
    )
    .unwrap();
    let dom = run_chromium(&profile, &["--dump-dom"], &probe);
    let lines = attr(&dom, "data-ranking-max-lines");
    assert_eq!(lines, 1.0, "a ranking cell wraps in print");
    let (table_w, page_w) = (
        attr(&dom, "data-ranking-width"),
        attr(&dom, "data-page-width"),
    );
    assert!(
        table_w <= page_w + 1.0,
        "ranking {table_w} px wider than the page {page_w} px"
    );

    // 3. The PDF: every page A4 (595.3 × 841.9 pt), a handful of pages.
    let pdf = dir.path().join("report.pdf");
    run_chromium(
        &profile,
        &[
            "--no-pdf-header-footer",
            &format!("--print-to-pdf={}", pdf.display()),
        ],
        &report,
    );
    let bytes = std::fs::read(&pdf).expect("chromium wrote no PDF");
    let text = String::from_utf8_lossy(&bytes);
    let boxes: Vec<Vec<f64>> = text
        .match_indices("/MediaBox")
        .map(|(i, _)| {
            let rest = &text[i..];
            let inner = &rest[rest.find('[').unwrap() + 1..rest.find(']').unwrap()];
            inner
                .split_whitespace()
                .map(|n| n.parse().unwrap())
                .collect()
        })
        .collect();
    assert!(boxes.len() >= 2, "{} pages", boxes.len());
    assert!(boxes.len() < 60, "{} pages", boxes.len());
    for b in &boxes {
        let (w, h) = (b[2] - b[0], b[3] - b[1]);
        assert!(
            (w - 595.3).abs() < 2.0 && (h - 841.9).abs() < 2.0,
            "page {w} × {h} pt is not A4"
        );
    }
}
