//! The HTML report in a real browser: a run of two counties (云和县 and 景宁畲族自治县, with
//! their townships and villages) is rendered by headless Chromium, after its script has run,
//! and printed to PDF. Checks the structure a reviewer relies on: maps with names, legend,
//! scale bar and north arrow; the village table filled by the script with one row per village;
//! A4 pages; and, under the print stylesheet at A4 width, a county ranking whose cells each
//! stay on one line and whose headers take at most three (the ranking once printed one
//! character per line).
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

/// The villages of `COUNTIES` in the fixture, counted from the file itself, and the code and
/// name of the last one.
fn villages_in_fixture() -> (usize, String, String) {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("zj26_villages_generated.geojson")).unwrap())
            .unwrap();
    let ours: Vec<&serde_json::Value> = v["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["properties"])
        .filter(|p| {
            let id = p["zone_id"].as_str().unwrap_or("");
            COUNTIES.iter().any(|c| id.starts_with(c))
        })
        .collect();
    let last = ours.last().expect("villages in the fixture");
    (
        ours.len(),
        last["zone_id"].as_str().unwrap().to_string(),
        last["name"].as_str().unwrap().to_string(),
    )
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

/// Looks a village up (its code typed into the search box, then Enter) and records on `<body>`
/// what the page did: the rows left visible, the zones outlined on the village map, the
/// village map's view box and scale bar. Then applies the report's `@media print` rules on
/// screen, sets the body to the width of an A4 page's print area (210 mm − 2 × 12 mm margins),
/// and records the largest number of lines any cell (and any header) of the ranking takes and
/// the widths of the ranking and the page.
const PROBE: &str = r##"<script>
window.addEventListener("load", function () {
  const b = document.body;
  const s = document.getElementById("zone-search");
  s.value = b.getAttribute("data-probe-code");
  s.dispatchEvent(new Event("input"));
  s.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
  const fig = document.getElementById("map-village");
  const frame = fig.querySelector("svg.frame");
  const hits = fig.querySelectorAll(".zones path.hit");
  b.setAttribute("data-visible-rows", Array.from(document.querySelectorAll("#zone-rows tr.zone-row")).filter(tr => !tr.hidden).length);
  b.setAttribute("data-hits", hits.length);
  b.setAttribute("data-hit-tip", hits.length ? hits[0].querySelector("title").textContent : "");
  b.setAttribute("data-view-width", frame.viewBox.baseVal.width);
  b.setAttribute("data-frame-width", frame.getAttribute("width"));
  b.setAttribute("data-scale-metres", fig.querySelector(".scale-bar").getAttribute("data-metres"));

  for (const sheet of document.styleSheets) {
    for (const r of Array.from(sheet.cssRules)) {
      if (r.media && r.media.mediaText.indexOf("print") >= 0) {
        for (const inner of Array.from(r.cssRules)) sheet.insertRule(inner.cssText, sheet.cssRules.length);
      }
    }
  }
  b.style.width = "186mm";
  b.style.margin = "0";
  const lines = (cell) => {
    const range = document.createRange();
    range.selectNodeContents(cell);
    return new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top))).size;
  };
  let worst = 0, worstHead = 0;
  for (const cell of document.querySelectorAll("table.ranking td")) worst = Math.max(worst, lines(cell));
  for (const cell of document.querySelectorAll("table.ranking th")) worstHead = Math.max(worstHead, lines(cell));
  b.setAttribute("data-ranking-head-lines", worstHead);
  b.setAttribute("data-ranking-max-lines", worst);
  b.setAttribute("data-ranking-width", Math.round(document.querySelector("table.ranking").getBoundingClientRect().width));
  b.setAttribute("data-page-width", Math.round(b.getBoundingClientRect().width));
});
</script>"##;

fn attr_text<'a>(h: &'a str, name: &str) -> &'a str {
    let key = format!("{name}=\"");
    let v = &between(h, &key, "\">")[key.len()..];
    &v[..v.find('"').unwrap_or(v.len())]
}

fn attr(h: &str, name: &str) -> f64 {
    let v = attr_text(h, name);
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
    assert!(
        count(&dom, "<figure class=\"map\"") >= 3,
        "county, township and village maps"
    );
    for level in ["county", "township", "village"] {
        let fig = between(&dom, &format!("id=\"map-{level}\""), "</figure>");
        // Names: both counties on every map.
        let labels = between(fig, "<g class=\"labels\"", "</g>");
        for name in ["云和县", "景宁畲族自治县"] {
            assert!(labels.contains(name), "{level} map: no label {name}");
        }
        assert!(
            fig.contains("class=\"north-arrow\""),
            "{level} map: no north arrow"
        );
        let bar = between(fig, "class=\"scale-bar\"", "</g>");
        let label = between(bar, "class=\"scale-label\"", "</text>");
        let label = &label[label.find('>').unwrap() + 1..];
        assert!(
            label.ends_with(" km") || label.ends_with(" m"),
            "{level} map: scale label {label:?}"
        );
        let legend = between(fig, "<ul class=\"legend\">", "</ul>");
        assert!(
            legend.contains("元/公顷"),
            "{level} map: legend without unit"
        );
        assert!(
            count(legend, "class=\"swatch") >= 2,
            "{level} map: legend {legend}"
        );
    }
    // Townships whose name fits are labelled at zoom 1 (no data-z), others from their zoom.
    let town_labels = between(&dom, "id=\"map-township\"", "</figure>");
    assert!(count(town_labels, "class=\"minor\"") > 10, "township names");
    // The village table, filled by the script: one row per village of the two counties.
    let (villages, code, name) = villages_in_fixture();
    assert!(villages > 100, "{villages}");
    let table = between(&dom, "<table id=\"zone-rows\"", "</table>");
    assert_eq!(count(table, "<tr class=\"zone-row\""), villages);
    // Each row names its township and county (a village of 云和县 shows 云和县).
    let first = between(table, "<tr class=\"zone-row\"", "</tr>");
    assert!(
        first.contains("云和县") || first.contains("景宁畲族自治县"),
        "{first}"
    );
    let first_dom_scale = between(&dom, "id=\"map-village\"", "</figure>").to_string();
    // The extent table names its ecosystem types in Chinese and English (MODIS forests of
    // these counties are mixed and evergreen broadleaf forest through the crosswalk).
    let extent = between(&dom, "<table class=\"extent-total\"", "</table>");
    assert!(count(extent, "<tr class=\"extent-row\"") >= 2, "{extent}");
    assert!(extent.contains("针阔混交林") && extent.contains("mixed coniferous-broadleaf forest"));
    for id in ["method", "extent", "quantities", "ranking"] {
        assert!(
            dom.contains(&format!("<section id=\"{id}\"")),
            "no section {id}"
        );
    }

    // 2. A village found by its code; then, under the print stylesheet at A4 width, no
    // ranking cell wraps and the ranking fits the page.
    let html = std::fs::read_to_string(&report).unwrap();
    let probe = dir.path().join("probe.html");
    std::fs::write(
        &probe,
        html.replacen("<body>", &format!("<body data-probe-code=\"{code}\">"), 1)
            .replace("</body>", &format!("{PROBE}</body>")),
    )
    .unwrap();
    let dom = run_chromium(&profile, &["--dump-dom"], &probe);
    assert_eq!(attr(&dom, "data-visible-rows"), 1.0, "rows matching {code}");
    assert_eq!(attr(&dom, "data-hits"), 1.0, "zones outlined for {code}");
    let tip = attr_text(&dom, "data-hit-tip");
    assert!(tip.starts_with(&format!("{name} ({code})")), "{tip}");
    // Zoomed in: the view is a fraction of the frame, the scale bar shorter than at zoom 1.
    let (view, frame) = (
        attr(&dom, "data-view-width"),
        attr(&dom, "data-frame-width"),
    );
    assert!(view < frame / 4.0, "view {view} of {frame}");
    let zoomed_metres = attr(&dom, "data-scale-metres");
    let full_metres = attr(&first_dom_scale, "data-metres");
    assert!(
        zoomed_metres < full_metres,
        "{zoomed_metres} m vs {full_metres} m"
    );
    let lines = attr(&dom, "data-ranking-max-lines");
    assert_eq!(lines, 1.0, "a ranking cell wraps in print");
    // Headers may wrap at a space or bracket, not a character per line.
    let head = attr(&dom, "data-ranking-head-lines");
    assert!(head <= 3.0, "a ranking header takes {head} lines in print");
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
