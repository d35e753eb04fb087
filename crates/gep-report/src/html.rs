//! The self-contained HTML report: headline figures, county ranking, choropleth maps of GEP per
//! hectare, bar charts by service and category, conservation checks and run information.
//!
//! Rendering is split in two: this module computes every number, class and SVG coordinate
//! (so they can be tested without parsing HTML), and the minijinja templates under
//! `templates/` lay them out with HTML auto-escaping on. The charts are SVG written by those
//! templates rather than by a charting crate: the maps need one `<path>` per zone with its own
//! `<title>` tooltip and a compact, rounded path encoding to stay small for 7,541 villages,
//! which neither `plotters`' SVG backend nor `charts-rs` offers, and horizontal bars are a few
//! `<rect>`s. The output references no network resource (no CDN, no web font, no script).

use crate::error::ReportError;
use crate::i18n::{labels, Lang};
use crate::model::{ReportInput, ReportZone};
use geo_types::{LineString, MultiPolygon};
use gep_core::{Category, Level};
use minijinja::{context, Environment};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

const REPORT_TEMPLATE: &str = include_str!("../templates/report.html");
const CHARTS_TEMPLATE: &str = include_str!("../templates/charts.html");
pub(crate) const STYLE: &str = include_str!("../templates/style.css");
/// Zoom and pan of the maps, the search and the sortable table of the lowest level: vanilla
/// JavaScript, inline.
const SCRIPT: &str = include_str!("../templates/report.js");

/// Sequential 5-class yellow-green palette (ColorBrewer YlGn), light = low GEP per ha.
const PALETTE: [&str; 5] = ["#ffffcc", "#c2e699", "#78c679", "#31a354", "#006837"];
pub(crate) const NO_DATA_FILL: &str = "#d9d9d9";
/// Number of quantile classes of the maps.
const CLASSES: usize = 5;
/// Vertices closer than this to the previously kept one are dropped, in tenths of a pixel.
const MIN_STEP_DECIPX: i64 = 5;
const MAP_PAD: f64 = 8.0;

/// One zone on a map.
#[derive(Debug, Serialize)]
pub struct MapPath {
    /// Zone id.
    pub id: String,
    /// SVG path data, coordinates rounded to 0.1 px.
    pub d: String,
    /// Fill colour.
    pub fill: &'static str,
    /// Tooltip text.
    pub tip: String,
}

/// One legend entry.
#[derive(Debug, Serialize)]
pub struct LegendItem {
    /// Fill colour.
    pub color: &'static str,
    /// Range text.
    pub label: String,
}

/// A choropleth map, ready for the template.
#[derive(Debug, Serialize)]
pub struct MapView {
    /// Caption.
    pub caption: String,
    /// Zone level drawn.
    pub level: &'static str,
    /// Width of the drawing, px.
    pub width: f64,
    /// Height of the drawing, px.
    pub height: f64,
    /// One path per zone.
    pub paths: Vec<MapPath>,
    /// Classes, low to high, then "no data" when some zone has none.
    pub legend: Vec<LegendItem>,
    /// Outlines of the parent level drawn over the zones (county borders on the village map).
    pub outlines: Vec<String>,
    /// Names drawn on the map: every zone of the map's level whose name fits, and the
    /// top level's names over lower-level maps.
    pub labels: Vec<MapLabel>,
    /// The scale bar.
    pub scale: ScaleBar,
    /// Height of the band under the map that holds the scale bar, px.
    pub band: f64,
    /// Width of the map area (the frame), px.
    pub frame_width: f64,
    /// Height of the map area (the frame), px.
    pub frame_height: f64,
    /// Legend title with its unit.
    pub legend_title: String,
    /// Legend entry of the outlines (`县界`), empty when the map has none.
    pub outline_label: String,
}

/// A name drawn on a map.
#[derive(Debug, Serialize)]
pub struct MapLabel {
    /// x of the label's centre, px.
    pub x: f64,
    /// y of the label's baseline centre, px.
    pub y: f64,
    /// The name.
    pub text: String,
    /// `major` (the top level over a lower-level map, or the map's own top-level zones) or
    /// `minor`.
    pub class: &'static str,
    /// The zoom factor from which the name fits inside its zone (1 or less: always shown).
    pub min_zoom: f64,
}

/// A scale bar: a round length and its width on the map at zoom 1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScaleBar {
    /// Ground length of the bar, m (1, 2 or 5 × 10ⁿ).
    pub metres: f64,
    /// Width of the bar, px.
    pub px: f64,
    /// `20 km`, `500 m`.
    pub label: String,
    /// Ground metres per px along the frame's centre (east–west), for the zoom script.
    pub metres_per_px: f64,
    /// The widest the bar may be, px (the zoom script picks the round length under it).
    pub max_px: f64,
}

impl ScaleBar {
    /// The longest round length (1, 2 or 5 × 10ⁿ m) whose bar is at most `max_px` wide at
    /// `metres_per_px`.
    pub fn new(metres_per_px: f64, max_px: f64) -> ScaleBar {
        let limit = metres_per_px * max_px;
        let mut metres = 1.0;
        if limit.is_finite() && limit > 0.0 {
            let p = 10f64.powf(limit.log10().floor());
            metres = [5.0, 2.0, 1.0]
                .iter()
                .map(|m| m * p)
                .find(|m| *m <= limit * (1.0 + 1e-12))
                .unwrap_or(p);
        }
        let label = if metres >= 1000.0 {
            format!("{} km", metres / 1000.0)
        } else {
            format!("{metres} m")
        };
        ScaleBar {
            metres,
            px: if metres_per_px > 0.0 {
                (metres / metres_per_px * 10.0).round() / 10.0
            } else {
                0.0
            },
            label,
            metres_per_px,
            max_px,
        }
    }
}

/// One horizontal bar.
#[derive(Debug, Serialize)]
pub struct Bar {
    /// Label left of the bar.
    pub label: String,
    /// Value text right of the bar.
    pub value: String,
    /// Bar length, px.
    pub width: f64,
    /// Top of the row, px.
    pub y: f64,
    /// Fill colour.
    pub color: &'static str,
}

/// A horizontal bar chart, ready for the template.
#[derive(Debug, Serialize)]
pub struct BarChart {
    /// Caption.
    pub caption: String,
    /// Total height, px.
    pub height: f64,
    /// Width reserved for labels, px.
    pub label_width: f64,
    /// Bars, largest first.
    pub bars: Vec<Bar>,
}

/// Renders the report as one HTML string.
pub fn render_html(input: &ReportInput, lang: Lang) -> Result<String, ReportError> {
    let mut env = Environment::new();
    env.add_template("charts.html", CHARTS_TEMPLATE)?;
    env.add_template("report.html", REPORT_TEMPLATE)?;
    let t = crate::i18n::labels_for(lang, kind_of(input));
    let view = build_view(input, lang);
    let tmpl = env.get_template("report.html")?;
    let html = tmpl.render(context! {
        t => t,
        lang => lang.tag(),
        style => STYLE,
        script => SCRIPT,
        v => view,
    })?;
    Ok(html)
}

/// Renders the report and writes it to `path`.
pub fn write_html(path: &Path, input: &ReportInput, lang: Lang) -> Result<(), ReportError> {
    let html = render_html(input, lang)?;
    std::fs::write(path, html).map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// The kind of the run's totals (GEP, ESV), when valued.
fn kind_of(input: &ReportInput) -> Option<gep_core::TotalKind> {
    input.run.totals.as_ref().map(|t| t.label.kind)
}

#[derive(Debug, Serialize)]
struct Headline {
    /// What the total is, in `lang`: `ESV（当量因子法估算，含支持服务，非 GEP）· 2010 年价格`.
    label: String,
    total_gep_yi: String,
    area_km2: String,
    /// "26", or "25 / 26" when units failed.
    counties_text: String,
    counties: usize,
    /// Sentences that qualify the totals: failed units, top-level overlaps.
    alerts: Vec<String>,
    townships: usize,
    villages: usize,
    year: String,
}

#[derive(Debug, Serialize)]
struct RankRow {
    rank: usize,
    id: String,
    name: String,
    gep_yi: String,
    per_ha: String,
    area_km2: String,
    share: String,
    /// Length of the share bar, px (the largest county gets 60 px).
    share_px: f64,
    material_yi: String,
    regulating_yi: String,
    cultural_yi: String,
}

#[derive(Debug, Serialize)]
struct CheckLevel {
    level: String,
    rows: usize,
    max_abs_residual: String,
    gaps: usize,
    overlaps: usize,
}

#[derive(Debug, Serialize)]
struct CheckRow {
    parent: String,
    level: String,
    kind: String,
    class: String,
    parent_area: String,
    residual: String,
    relative: String,
}

#[derive(Debug, Serialize)]
struct KeyValue {
    key: String,
    value: String,
}

#[derive(Debug, Serialize)]
struct InputRow {
    role: String,
    path: String,
    sha256: String,
    size: String,
    crs: String,
    resolution: String,
}

#[derive(Debug, Serialize)]
struct FailureView {
    id: String,
    name: String,
    level: String,
    reason: String,
}

#[derive(Debug, Serialize)]
struct View {
    title: String,
    failures: Vec<FailureView>,
    headline: Headline,
    ranking: Vec<RankRow>,
    maps: Vec<MapView>,
    charts: Vec<BarChart>,
    check_levels: Vec<CheckLevel>,
    worst_checks: Vec<CheckRow>,
    run: Vec<KeyValue>,
    inputs: Vec<InputRow>,
    timings: Vec<KeyValue>,
    warnings: Vec<String>,
    config_text: String,
    sensitivity: Vec<SensitivityView>,
    /// The method statement: what the numbers rest on.
    method: Vec<KeyValue>,
    /// The caveats the account carries (the total's qualifications and the run's warnings).
    caveats: Vec<String>,
    /// The searchable table of the lowest level, `None` with one level only.
    zone_table: Option<ZoneTableView>,
    /// Ecosystem extent of the whole run.
    extent_total: Vec<ExtentTotalRow>,
    /// Σ of `extent_total`, km².
    extent_total_km2: String,
    /// Ecosystem extent by top-level zone: column headers, rows.
    extent_columns: Vec<String>,
    extent_rows: Vec<ExtentZoneRow>,
    /// Per-service quantities and values over the top level, in the input's order.
    quantities: Vec<QuantityRow>,
}

#[derive(Debug, Serialize)]
struct ZoneTableView {
    /// `village`.
    level_code: &'static str,
    /// Number of zones.
    count: usize,
    /// One row per zone in map order, as JSON: [id, name, township, county, area ha, value 元,
    /// value per ha]; `<` escaped.
    json: String,
}

#[derive(Debug, Serialize)]
struct ExtentTotalRow {
    code: String,
    name: String,
    other_name: String,
    area_km2: String,
    share: String,
}

#[derive(Debug, Serialize)]
struct ExtentZoneRow {
    id: String,
    name: String,
    cells: Vec<String>,
    total: String,
}

#[derive(Debug, Serialize)]
struct QuantityRow {
    code: String,
    name: String,
    category: String,
    quantity: String,
    unit: String,
    value_yi: String,
}

#[derive(Debug, Serialize)]
struct SensitivityView {
    service: String,
    parameter: String,
    range: String,
    gep_low_yi: String,
    gep_high_yi: String,
    change: String,
}

fn build_view(input: &ReportInput, lang: Lang) -> View {
    let t = crate::i18n::labels_for(lang, kind_of(input));
    let top = input.top_level().unwrap_or(Level::County);
    let top_zones: Vec<&ReportZone> = input.level(top).collect();
    let total_gep = sum(top_zones.iter().map(|z| z.gep_yuan));
    let total_area: f64 = top_zones.iter().map(|z| z.area_ha).sum();
    let headline = Headline {
        label: input
            .run
            .totals
            .as_ref()
            .map(|t| match lang {
                Lang::Zh => t.label.text_zh(),
                Lang::En => t.label.text_en(),
            })
            .unwrap_or_default(),
        total_gep_yi: total_gep
            .map(|g| fmt_num(g / 1e8, 2))
            .unwrap_or_else(|| "–".into()),
        area_km2: fmt_num(total_area / 100.0, 1),
        counties_text: counties_text(input),
        counties: input.level(Level::County).count(),
        alerts: headline_alerts(input, lang),
        townships: input.level(Level::Township).count(),
        villages: input.level(Level::Village).count(),
        year: input.run.year.map(|y| y.to_string()).unwrap_or_default(),
    };

    let mut counties: Vec<&ReportZone> = input.level(Level::County).collect();
    counties.sort_by(|a, b| {
        let key = |z: &ReportZone| z.gep_yuan.filter(|g| g.is_finite());
        match (key(a), key(b)) {
            (Some(x), Some(y)) => y.total_cmp(&x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
        .then_with(|| a.id.cmp(&b.id))
    });
    let county_total = sum(counties.iter().map(|z| z.gep_yuan)).unwrap_or(0.0);
    let yi = |v: Option<f64>| v.map(|v| fmt_num(v / 1e8, 2)).unwrap_or_else(|| "–".into());
    let max_gep = counties
        .iter()
        .filter_map(|z| z.gep_yuan)
        .fold(0.0, f64::max);
    let ranking = counties
        .iter()
        .enumerate()
        .map(|(i, z)| {
            let share = match z.gep_yuan {
                Some(g) if county_total > 0.0 => g / county_total * 100.0,
                _ => 0.0,
            };
            RankRow {
                rank: i + 1,
                id: z.id.clone(),
                name: z.name.clone(),
                gep_yi: yi(z.gep_yuan),
                per_ha: z
                    .gep_per_ha()
                    .map(|v| fmt_num(v, 0))
                    .unwrap_or_else(|| "–".into()),
                area_km2: fmt_num(z.area_ha / 100.0, 1),
                share: format!("{share:.1}%"),
                share_px: match z.gep_yuan {
                    Some(g) if max_gep > 0.0 => (g.max(0.0) / max_gep * 600.0).round() / 10.0,
                    _ => 0.0,
                },
                material_yi: yi(z.material_yuan),
                regulating_yi: yi(z.regulating_yuan),
                cultural_yi: yi(z.cultural_yuan),
            }
        })
        .collect();

    // One frame for all maps, so that the county and village maps line up.
    let frame = Frame::of(
        input.zones.iter().map(|z| &z.geometry),
        input.map_crs.as_ref(),
    );
    let mut maps = Vec::new();
    for (level, key) in [
        (Level::County, "map_county"),
        (Level::Township, "map_township"),
        (Level::Village, "map_village"),
    ] {
        let zones: Vec<&ReportZone> = input.level(level).collect();
        if zones.is_empty() {
            continue;
        }
        if let Some(frame) = &frame {
            let short = match kind_of(input) {
                Some(gep_core::TotalKind::Esv) => "ESV",
                _ => "GEP",
            };
            let mut m = map_view(&zones, frame, level, t[key].to_string(), lang, short);
            m.legend_title = t["gep_per_ha"].to_string();
            if level != top {
                m.outlines = input
                    .level(top)
                    .map(|z| path_data(&z.geometry, frame))
                    .collect();
                m.outline_label = match lang {
                    Lang::Zh => format!("{}界", crate::i18n::label(lang, top.as_str())),
                    Lang::En => format!("{} boundary", top.as_str()),
                };
            }
            // Names of the levels between the top (exclusive) and this map's (inclusive),
            // villages excepted (7,541 names: the search finds them), where they fit; the
            // top level's names always, drawn last (on top).
            let mut names = Vec::new();
            for l in Level::ALL {
                if l.rank() > top.rank() && l.rank() <= level.rank() && l != Level::Village {
                    // Over the villages, township names only once zoomed in (the township
                    // map shows them at full view).
                    let from = if level == Level::Village { 2.0 } else { 0.0 };
                    names.extend(input.level(l).filter_map(|z| {
                        map_label(z, frame, "minor", MINOR_FONT).map(|mut m| {
                            m.min_zoom = m.min_zoom.max(from);
                            m
                        })
                    }));
                }
            }
            names.extend(input.level(top).filter_map(|z| {
                map_label(z, frame, "major", MAJOR_FONT).map(|mut l| {
                    l.min_zoom = 0.0;
                    l
                })
            }));
            m.labels = names;
            maps.push(m);
        }
    }

    let charts = vec![
        service_chart(input, top, lang),
        category_chart(&top_zones, lang),
    ];
    let (check_levels, worst_checks) = checks_view(input, lang);
    let run = &input.run;
    let id_hash = |h: &Option<crate::model::IdHash>| {
        h.as_ref()
            .map(|h| format!("{} (SHA-256 {})", h.id, h.sha256))
            .unwrap_or_else(|| "–".into())
    };
    let kv = |k: &str, v: String| KeyValue {
        key: t[k].to_string(),
        value: v,
    };
    let run_rows = vec![
        kv("engine_version", run.engine_version.clone()),
        kv(
            "commit",
            run.commit.clone().unwrap_or_else(|| t["unknown"].into()),
        ),
        kv("command", run.command.join(" ")),
        kv("year", headline.year.clone()),
        kv("area_basis", run.area_basis.clone()),
        kv("coefficient_set", id_hash(&run.coefficient_set)),
        kv("crosswalk", id_hash(&run.crosswalk)),
    ];
    let mut run_rows = run_rows;
    if let Some(tt) = &run.totals {
        run_rows.push(kv("total_label", headline.label.clone()));
        run_rows.push(kv(
            "price_year",
            tt.label
                .price_year
                .map(|y| y.to_string())
                .unwrap_or_else(|| "–".into()),
        ));
        run_rows.push(kv("price_basis", tt.label.price_basis.clone()));
        run_rows.push(kv(
            "value_basis",
            match lang {
                Lang::Zh => tt.basis.text_zh(),
                Lang::En => tt.basis.text_en(),
            },
        ));
    }
    let inputs = run
        .inputs
        .iter()
        .map(|i| InputRow {
            role: i.role.clone(),
            path: i.path.clone(),
            sha256: i.sha256.clone(),
            size: fmt_num(i.size_bytes as f64, 0),
            crs: i.crs.clone().unwrap_or_default(),
            resolution: i
                .resolution
                .map(|[x, y]| format!("{x} × {y}"))
                .unwrap_or_default(),
        })
        .collect();
    let timings = run
        .timings
        .iter()
        .map(|x| KeyValue {
            key: x.step.clone(),
            value: format!("{:.2}", x.seconds),
        })
        .collect();
    let sensitivity = input
        .sensitivity
        .iter()
        .map(|s| {
            let pct = |x: f64| {
                if s.gep_yuan != 0.0 {
                    format!("{:+.1} %", (x - s.gep_yuan) / s.gep_yuan * 100.0)
                } else {
                    "–".into()
                }
            };
            SensitivityView {
                service: gep_core::Catalog::builtin()
                    .service(&s.service)
                    .map(|c| {
                        if lang == Lang::Zh {
                            c.zh.clone()
                        } else {
                            c.en.clone()
                        }
                    })
                    .unwrap_or_else(|| s.service.clone()),
                parameter: s.parameter.clone(),
                range: format!("{} ({} – {}) {}", s.value, s.low, s.high, s.unit),
                gep_low_yi: fmt_num(s.gep_low_yuan / 1e8, 2),
                gep_high_yi: fmt_num(s.gep_high_yuan / 1e8, 2),
                change: format!("{} / {}", pct(s.gep_low_yuan), pct(s.gep_high_yuan)),
            }
        })
        .collect();
    let (extent_total, extent_columns, extent_rows) = extent_view(input, top, lang);
    View {
        method: method_view(input, lang),
        caveats: {
            let mut c = total_alerts(input, lang);
            c.extend(run.warnings_in(lang).iter().cloned());
            c
        },
        zone_table: zone_table(input),
        extent_total_km2: fmt_num(
            top_extent(input, top)
                .iter()
                .map(|l| l.area_ha)
                .sum::<f64>()
                / 100.0,
            1,
        ),
        extent_total,
        extent_columns,
        extent_rows,
        quantities: quantities_view(input, top, lang),
        sensitivity,
        title: if input.title.is_empty() {
            t["title"].to_string()
        } else {
            input.title.clone()
        },
        headline,
        failures: input
            .run
            .failures
            .iter()
            .map(|f| FailureView {
                id: f.id.clone(),
                name: f.name.clone(),
                level: crate::i18n::label(lang, &f.level).to_string(),
                reason: f.reason_in(lang).to_string(),
            })
            .collect(),
        ranking,
        maps,
        charts,
        check_levels,
        worst_checks,
        run: run_rows,
        inputs,
        timings,
        warnings: run.warnings_in(lang).to_vec(),
        config_text: run.config_text.clone(),
    }
}

/// The method statement: the total's label and what it includes, price year, coefficient set,
/// crosswalk, models with their parameters, the tables they read, area basis, CRS, statistics.
fn method_view(input: &ReportInput, lang: Lang) -> Vec<KeyValue> {
    let t = crate::i18n::labels_for(lang, kind_of(input));
    let zh = lang == Lang::Zh;
    let run = &input.run;
    let mut rows = Vec::new();
    let mut kv = |k: &str, v: String| {
        rows.push(KeyValue {
            key: t[k].to_string(),
            value: v,
        })
    };
    let cat = gep_core::Catalog::builtin();
    if let Some(tt) = &run.totals {
        let l = &tt.label;
        kv("total_label", if zh { l.text_zh() } else { l.text_en() });
        let includes = match (l.kind, zh) {
            (gep_core::TotalKind::Gep, true) => {
                "最终服务：物质产品 + 调节服务 + 文化服务（不含支持服务）".to_string()
            }
            (gep_core::TotalKind::Gep, false) => {
                "final services: material products + regulating + cultural services (no supporting services)".to_string()
            }
            (gep_core::TotalKind::Esv, true) => {
                "当量因子法各项服务，含支持服务（养分循环、生物多样性）；非 GEP".to_string()
            }
            (gep_core::TotalKind::Esv, false) => {
                "the equivalent-factor services, supporting services (nutrient cycling, biodiversity) included; not GEP".to_string()
            }
            (gep_core::TotalKind::Stock, true) => "存量（实物量），无价值总值".to_string(),
            (gep_core::TotalKind::Stock, false) => {
                "stocks (physical quantities), no money total".to_string()
            }
        };
        let missing: Vec<String> = l
            .missing_services
            .iter()
            .map(|m| match cat.service(m) {
                Some(s) if zh => s.zh.clone(),
                Some(s) => s.en.clone(),
                None => m.clone(),
            })
            .collect();
        let includes = if missing.is_empty() {
            includes
        } else if zh {
            format!("{includes}；未核算：{}", missing.join("、"))
        } else {
            format!("{includes}; not valued: {}", missing.join(", "))
        };
        kv("total_includes", includes);
        kv(
            "price_year",
            l.price_year
                .map(|y| y.to_string())
                .unwrap_or_else(|| "–".into()),
        );
        kv("price_basis", l.price_basis.clone());
        kv(
            "value_basis",
            if zh {
                tt.basis.text_zh()
            } else {
                tt.basis.text_en()
            },
        );
    }
    let id_hash = |h: &Option<crate::model::IdHash>| {
        h.as_ref()
            .map(|h| {
                format!(
                    "{} (SHA-256 {}…)",
                    h.id,
                    &h.sha256[..h.sha256.len().min(12)]
                )
            })
            .unwrap_or_else(|| "–".into())
    };
    kv("coefficient_set", id_hash(&run.coefficient_set));
    kv("crosswalk", id_hash(&run.crosswalk));
    if let Some(models) = run.models.as_ref().and_then(|m| m.get("models")) {
        for m in models.as_array().into_iter().flatten() {
            let name = m.get("model").and_then(|v| v.as_str()).unwrap_or("?");
            let params: Vec<String> = m
                .get("parameters")
                .and_then(|p| p.as_object())
                .map(|p| {
                    p.iter()
                        .map(|(k, v)| match v.as_str() {
                            Some(s) => format!("{k} = {s}"),
                            None => format!("{k} = {v}"),
                        })
                        .collect()
                })
                .unwrap_or_default();
            rows.push(KeyValue {
                key: format!("{}: {name}", t["model"]),
                value: params.join("; "),
            });
        }
    }
    let mut kv = |k: &str, v: String| {
        rows.push(KeyValue {
            key: t[k].to_string(),
            value: v,
        })
    };
    let tables: Vec<String> = run
        .inputs
        .iter()
        .filter(|i| {
            [
                "coefficients",
                "crosswalk",
                "parameters",
                "runoff_coefficients",
                "usle_factors",
                "deflator",
            ]
            .contains(&i.role.as_str())
        })
        .map(|i| {
            format!(
                "{}: {} (SHA-256 {}…)",
                i.role,
                i.path,
                &i.sha256[..i.sha256.len().min(12)]
            )
        })
        .collect();
    if !tables.is_empty() {
        kv("tables_read", tables.join("\n"));
    }
    kv(
        "area_basis",
        match (run.area_basis.as_str(), zh) {
            ("ellipsoidal", true) => "椭球面积（按像元所在纬度在椭球面上计算）".to_string(),
            ("ellipsoidal", false) => {
                "ellipsoidal (each cell's area on the ellipsoid at its latitude)".to_string()
            }
            ("planar", true) => "平面面积（投影坐标系下的像元面积）".to_string(),
            ("planar", false) => "planar (cell areas in the projected CRS)".to_string(),
            (other, _) => other.to_string(),
        },
    );
    if let Some(lc) = run.inputs.iter().find(|i| i.role == "landcover") {
        kv(
            "landcover_crs",
            format!(
                "{}{}",
                lc.crs.clone().unwrap_or_else(|| "–".into()),
                lc.resolution
                    .map(|[x, y]| format!(" · {x} × {y}"))
                    .unwrap_or_default()
            ),
        );
    }
    if let Some(c) = &input.map_crs {
        kv("map_crs", c.description.clone());
    }
    let stats: Vec<String> = run
        .inputs
        .iter()
        .filter(|i| i.role.starts_with("statistics"))
        .map(|i| format!("{}: {}", i.role, i.path))
        .collect();
    kv(
        "statistics_sources",
        if stats.is_empty() {
            t["none"].to_string()
        } else {
            stats.join("\n")
        },
    );
    rows
}

/// The lowest level's zones with their parents' names, as the JSON the search script reads.
fn zone_table(input: &ReportInput) -> Option<ZoneTableView> {
    let lowest = input
        .zones
        .iter()
        .map(|z| z.level)
        .max_by_key(|l| l.rank())?;
    if Some(lowest) == input.top_level() {
        return None;
    }
    let by_id: HashMap<&str, &ReportZone> =
        input.zones.iter().map(|z| (z.id.as_str(), z)).collect();
    let ancestor = |z: &ReportZone, level: Level| -> String {
        let mut cur = z;
        for _ in 0..3 {
            match cur.parent.as_deref().and_then(|p| by_id.get(p)) {
                Some(p) if p.level == level => return p.name.clone(),
                Some(p) => cur = p,
                None => break,
            }
        }
        String::new()
    };
    let round = |v: f64, k: f64| (v * k).round() / k;
    let rows: Vec<serde_json::Value> = input
        .level(lowest)
        .map(|z| {
            serde_json::json!([
                z.id,
                z.name,
                ancestor(z, Level::Township),
                ancestor(z, Level::County),
                round(z.area_ha, 10.0),
                z.gep_yuan.filter(|v| v.is_finite()).map(|v| v.round()),
                z.gep_per_ha().filter(|v| v.is_finite()).map(|v| v.round()),
            ])
        })
        .collect();
    let json = serde_json::to_string(&rows)
        .unwrap_or_else(|_| "[]".into())
        .replace('<', "\\u003c");
    Some(ZoneTableView {
        level_code: lowest.as_str(),
        count: rows.len(),
        json,
    })
}

/// The extent lines of the top-level zones (the caller gives every zone's).
fn top_extent(input: &ReportInput, top: Level) -> Vec<&crate::model::ExtentTypeLine> {
    let ids: std::collections::HashSet<&str> = input.level(top).map(|z| z.id.as_str()).collect();
    input
        .extent_types
        .iter()
        .filter(|l| ids.contains(l.zone_id.as_str()))
        .collect()
}

/// The extent of the whole run by ecosystem type (catalogue order), and the same by
/// top-level zone: (rows of the run, column names, rows by zone).
fn extent_view(
    input: &ReportInput,
    top: Level,
    lang: Lang,
) -> (Vec<ExtentTotalRow>, Vec<String>, Vec<ExtentZoneRow>) {
    let lines = top_extent(input, top);
    if lines.is_empty() {
        return (Vec::new(), Vec::new(), Vec::new());
    }
    let cat = gep_core::Catalog::builtin();
    let mut types: Vec<&crate::model::ExtentTypeLine> = Vec::new();
    let mut totals: HashMap<&str, f64> = HashMap::new();
    for l in &lines {
        if !totals.contains_key(l.ecosystem_type.as_str()) {
            types.push(l);
        }
        *totals.entry(&l.ecosystem_type).or_default() += l.area_ha;
    }
    types.sort_by_key(|l| cat.ecosystem_rank(&l.ecosystem_type).unwrap_or(usize::MAX));
    // Names in `lang`, then in the other language (the code when a name is missing).
    let names = |l: &crate::model::ExtentTypeLine| {
        let or_code = |n: &str| {
            if n.is_empty() {
                l.ecosystem_type.clone()
            } else {
                n.to_string()
            }
        };
        let (zh, en) = (or_code(&l.ecosystem_type_zh), or_code(&l.ecosystem_type_en));
        match lang {
            Lang::Zh => (zh, en),
            Lang::En => (en, zh),
        }
    };
    let all: f64 = totals.values().sum();
    let pct = |a: f64, b: f64| {
        if b > 0.0 {
            format!("{:.1}%", a / b * 100.0)
        } else {
            "–".into()
        }
    };
    let total_rows = types
        .iter()
        .map(|l| {
            let (name, other_name) = names(l);
            let area = totals[l.ecosystem_type.as_str()];
            ExtentTotalRow {
                code: l.ecosystem_type.clone(),
                name,
                other_name,
                area_km2: fmt_num(area / 100.0, 1),
                share: pct(area, all),
            }
        })
        .collect();
    let columns = types.iter().map(|l| names(l).0).collect();
    let col: HashMap<&str, usize> = types
        .iter()
        .enumerate()
        .map(|(i, l)| (l.ecosystem_type.as_str(), i))
        .collect();
    let rows = input
        .level(top)
        .map(|z| {
            let mut cells = vec![0.0; types.len()];
            for l in lines.iter().filter(|l| l.zone_id == z.id) {
                cells[col[l.ecosystem_type.as_str()]] += l.area_ha;
            }
            let total: f64 = cells.iter().sum();
            ExtentZoneRow {
                id: z.id.clone(),
                name: z.name.clone(),
                cells: cells
                    .iter()
                    .map(|a| {
                        if *a > 0.0 {
                            fmt_num(a / 100.0, 1)
                        } else {
                            "–".into()
                        }
                    })
                    .collect(),
                total: fmt_num(total / 100.0, 1),
            }
        })
        .collect();
    (total_rows, columns, rows)
}

/// Σ quantity and value of each service over the top-level zones, in the input's order.
fn quantities_view(input: &ReportInput, top: Level, lang: Lang) -> Vec<QuantityRow> {
    let t = labels(lang);
    let pivot = crate::model::ServicePivot::new(&input.services);
    let mut sums: Vec<(Option<f64>, Option<f64>)> = vec![(None, None); pivot.columns.len()];
    let add = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => Some(a + b),
        (a, b) => a.or(b),
    };
    for z in input.level(top) {
        for (i, (v, q)) in pivot.row(&z.id).into_iter().enumerate() {
            sums[i] = (add(sums[i].0, v), add(sums[i].1, q));
        }
    }
    pivot
        .columns
        .iter()
        .zip(sums)
        .map(|(s, (v, q))| QuantityRow {
            code: s.service.clone(),
            name: match lang {
                Lang::Zh if !s.service_zh.is_empty() => s.service_zh.clone(),
                Lang::En if !s.service_en.is_empty() => s.service_en.clone(),
                _ => s.service.clone(),
            },
            category: t
                .get(s.category.as_str())
                .map(|x| x.to_string())
                .unwrap_or_else(|| s.category.as_str().to_string()),
            quantity: q.map(fmt_quantity).unwrap_or_else(|| "–".into()),
            unit: if q.is_some() {
                s.quantity_unit.clone()
            } else {
                String::new()
            },
            value_yi: v.map(|v| fmt_num(v / 1e8, 2)).unwrap_or_else(|| "–".into()),
        })
        .collect()
}

/// A physical quantity: thousands separators, decimals only below 100; from 10¹⁵ up (ions per
/// year reach 10²⁵) and below 1, four significant digits as `a × 10ⁿ`.
fn fmt_quantity(q: f64) -> String {
    if q.abs() >= 1e15 || (q != 0.0 && q.abs() < 1.0) {
        sci(q)
    } else if q.abs() >= 100.0 {
        fmt_num(q, 0)
    } else if q.abs() >= 1.0 {
        fmt_num(q, 2)
    } else {
        "0".into()
    }
}

/// `q` as `a.bcd × 10ⁿ` with a superscript exponent.
fn sci(q: f64) -> String {
    let s = format!("{q:.3e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let sup: String = exp
        .chars()
        .map(|c| match c {
            '-' => '⁻',
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            '9' => '⁹',
            other => other,
        })
        .collect();
    format!("{mantissa} × 10{sup}")
}

/// The counties card: how many were computed, "of how many" when some failed.
fn counties_text(input: &ReportInput) -> String {
    let done = input.level(Level::County).count();
    let all = input.run.units_total.max(done + input.run.failures.len());
    if input.run.failures.is_empty() || all == done {
        done.to_string()
    } else {
        format!("{done} / {all}")
    }
}

/// What the totals do not say by themselves: units that failed (not in the totals) and ground
/// that top-level zones both claim (counted twice in the totals).
fn headline_alerts(input: &ReportInput, lang: Lang) -> Vec<String> {
    let mut alerts = total_alerts(input, lang);
    let failures = &input.run.failures;
    if !failures.is_empty() {
        let names: Vec<String> = failures
            .iter()
            .map(|f| format!("{} {}", f.id, f.name).trim().to_string())
            .collect();
        let all = input
            .run
            .units_total
            .max(failures.len() + input.top_level().map_or(0, |l| input.level(l).count()));
        let level = failures[0].level.as_str();
        alerts.push(match lang {
            Lang::Zh => format!(
                "{all} 个{}中 {} 个核算失败，未计入总值：{}（原因见“核算失败的单元”）",
                crate::i18n::label(lang, level),
                failures.len(),
                names.join("、")
            ),
            Lang::En => format!(
                "{} of {all} {level} units failed and are not in the totals: {} (reasons under \"Failed units\")",
                failures.len(),
                names.join(", ")
            ),
        });
    }
    let top_overlaps: Vec<&crate::model::CheckSummary> = input
        .checks
        .iter()
        .filter(|c| c.kind == "overlap" && c.parent_id.is_empty())
        .collect();
    if !top_overlaps.is_empty() {
        let area: f64 = top_overlaps.iter().map(|c| c.residual_m2.abs()).sum();
        let mut pairs: Vec<String> = top_overlaps
            .iter()
            .map(|c| c.children.join(" × "))
            .collect();
        pairs.dedup();
        alerts.push(match lang {
            Lang::Zh => format!(
                "顶层单元之间存在重叠（{}）：{} 平方千米被两个单元同时计入，总值重复计算了这部分（见 checks.csv 中 parent_id 为空的 overlap 行）",
                pairs.join("、"),
                fmt_num(area / 1e6, 3)
            ),
            Lang::En => format!(
                "Top-level zones overlap ({}): {} km² are claimed by two zones and counted twice in the totals (overlap rows with an empty parent_id in checks.csv)",
                pairs.join(", "),
                fmt_num(area / 1e6, 3)
            ),
        });
    }
    alerts
}

/// What the total's label implies for a reader: an ESV is not GEP (its supporting services,
/// and the final-services subtotal), a partial set leaves services out (named), and part of
/// the value rests on example, derived or unverified coefficients.
fn total_alerts(input: &ReportInput, lang: Lang) -> Vec<String> {
    let mut alerts = Vec::new();
    let Some(t) = &input.run.totals else {
        return alerts;
    };
    let yi = |v: f64| fmt_num(v / 1e8, 2);
    let pct = |a: f64, b: f64| if b != 0.0 { 100.0 * a / b } else { 0.0 };
    if t.label.kind == gep_core::TotalKind::Esv {
        alerts.push(match lang {
            Lang::Zh => format!(
                "本结果为当量因子法估算的生态系统服务价值（ESV），不是 GEP：总值 {} 亿元含支持服务（养分循环、生物多样性）{} 亿元（{:.1} %），GEP 不计支持服务；最终服务小计 {} 亿元",
                yi(t.total_yuan),
                yi(t.supporting_yuan),
                pct(t.supporting_yuan, t.total_yuan),
                yi(t.final_yuan)
            ),
            Lang::En => format!(
                "This is an ecosystem-service value by equivalent factors (ESV), not GEP: the total of {} 100 M yuan includes supporting services (nutrient cycling, biodiversity) worth {} 100 M yuan ({:.1} %), which GEP excludes; final services only: {} 100 M yuan",
                yi(t.total_yuan),
                yi(t.supporting_yuan),
                pct(t.supporting_yuan, t.total_yuan),
                yi(t.final_yuan)
            ),
        });
    }
    if t.label.partial() {
        let cat = gep_core::Catalog::builtin();
        let names: Vec<String> = t
            .label
            .missing_services
            .iter()
            .map(|m| match (lang, cat.service(m)) {
                (Lang::Zh, Some(s)) => s.zh.clone(),
                (Lang::En, Some(s)) => s.en.clone(),
                _ => m.clone(),
            })
            .collect();
        let n = t.label.catalogue.len();
        let valued = n - t.label.missing_services.len();
        alerts.push(match lang {
            Lang::Zh => format!(
                "部分核算：系数集 {} 只核算了其版本服务清单 {n} 项中的 {valued} 项，总值不含：{}",
                t.label.set,
                names.join("、")
            ),
            Lang::En => format!(
                "Partial: coefficient set {} values {valued} of the {n} services of its edition; the total leaves out: {}",
                t.label.set,
                names.join(", ")
            ),
        });
    }
    if t.flagged_share > 0.0 {
        alerts.push(match lang {
            Lang::Zh => t.basis.text_zh(),
            Lang::En => t.basis.text_en(),
        });
    }
    alerts
}

fn sum(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    values.fold(None, |acc, v| match v {
        Some(v) => Some(acc.unwrap_or(0.0) + v),
        None => acc,
    })
}

/// `v` with `decimals` decimals and thousands separators: `1234567.891, 2` → `1,234,567.89`.
pub(crate) fn fmt_num(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = s.split_once('.').map_or((s.as_str(), ""), |(a, b)| (a, b));
    let mut out = String::with_capacity(s.len() + int.len() / 3 + 1);
    if v < 0.0 && s.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        out.push('-');
    }
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// Residual areas range from 1e-9 m² (rounding) to hectares (a real gap): scientific below 0.001.
fn fmt_m2(v: f64) -> String {
    if v != 0.0 && v.abs() < 1e-3 {
        format!("{v:.3e}")
    } else {
        fmt_num(v, 3)
    }
}

/// The drawing frame: bounding box of every geometry, equirectangular scaling for lon/lat.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    min_x: f64,
    min_y: f64,
    max_y: f64,
    /// x stretch: cos(mid-latitude) for lon/lat data, 1 for planar coordinates.
    kx: f64,
    scale: f64,
    pub(crate) width: f64,
    pub(crate) height: f64,
    /// The ellipsoid of lon/lat data; `None` for planar coordinates (metres).
    ellipsoid: Option<gep_core::Ellipsoid>,
}

impl Frame {
    const WIDTH: f64 = 900.0;
    const MAX_HEIGHT: f64 = 900.0;

    /// The frame of `geoms` in `crs` (lon/lat on WGS 84 is assumed when the CRS is unknown and
    /// every coordinate lies within ±180°, ±90°).
    pub(crate) fn of<'a>(
        geoms: impl Iterator<Item = &'a MultiPolygon<f64>>,
        crs: Option<&gep_core::CrsInfo>,
    ) -> Option<Frame> {
        let (mut x0, mut y0, mut x1, mut y1) = (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        );
        for g in geoms {
            for p in &g.0 {
                for c in &p.exterior().0 {
                    if c.x.is_finite() && c.y.is_finite() {
                        x0 = x0.min(c.x);
                        x1 = x1.max(c.x);
                        y0 = y0.min(c.y);
                        y1 = y1.max(c.y);
                    }
                }
            }
        }
        if x0 > x1 {
            return None;
        }
        let ellipsoid = match crs.map(|c| &c.kind) {
            Some(gep_core::CrsKind::Geographic(e)) => Some(*e),
            Some(gep_core::CrsKind::Projected) => None,
            None => (x0 >= -180.0 && x1 <= 180.0 && y0 >= -90.0 && y1 <= 90.0)
                .then_some(gep_core::Ellipsoid::WGS84),
        };
        let kx = if ellipsoid.is_some() {
            ((y0 + y1) / 2.0).to_radians().cos()
        } else {
            1.0
        };
        let w = ((x1 - x0) * kx).max(f64::MIN_POSITIVE);
        let h = (y1 - y0).max(f64::MIN_POSITIVE);
        let inner = Self::WIDTH - 2.0 * MAP_PAD;
        let scale = (inner / w).min((Self::MAX_HEIGHT - 2.0 * MAP_PAD) / h);
        Some(Frame {
            min_x: x0,
            min_y: y0,
            max_y: y1,
            kx,
            scale,
            width: (w * scale + 2.0 * MAP_PAD).ceil(),
            height: (h * scale + 2.0 * MAP_PAD).ceil(),
            ellipsoid,
        })
    }

    /// Ground metres per px, east–west along the parallel through the frame's centre: for
    /// lon/lat, one degree of longitude there is N(φ)·cos φ·π/180 m (N the prime-vertical
    /// radius of curvature) and is drawn `kx · scale` px wide; for planar data one px is
    /// `1 / scale` CRS units (metres).
    pub(crate) fn metres_per_px(&self) -> f64 {
        match &self.ellipsoid {
            Some(e) => {
                let phi = ((self.min_y + self.max_y) / 2.0).to_radians();
                let n = e.a / (1.0 - e.e2() * phi.sin().powi(2)).sqrt();
                let metres_per_degree = n * phi.cos() * std::f64::consts::PI / 180.0;
                metres_per_degree / (self.kx * self.scale)
            }
            None => 1.0 / self.scale,
        }
    }

    /// The box of `g` in px: (x0, y0, x1, y1).
    fn px_box(&self, g: &MultiPolygon<f64>) -> Option<(f64, f64, f64, f64)> {
        let mut b = (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        );
        for p in &g.0 {
            for c in &p.exterior().0 {
                let (x, y) = self.project_px(c.x, c.y);
                if x.is_finite() && y.is_finite() {
                    b = (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y));
                }
            }
        }
        (b.0 <= b.2).then_some(b)
    }

    /// Position of a point in px.
    fn project_px(&self, x: f64, y: f64) -> (f64, f64) {
        (
            MAP_PAD + (x - self.min_x) * self.kx * self.scale,
            MAP_PAD + (self.max_y - y) * self.scale,
        )
    }

    /// Position of a point in tenths of a pixel.
    fn project(&self, x: f64, y: f64) -> (i64, i64) {
        let px = MAP_PAD + (x - self.min_x) * self.kx * self.scale;
        let py = MAP_PAD + (self.max_y - y) * self.scale;
        ((px * 10.0).round() as i64, (py * 10.0).round() as i64)
    }
}

fn push_decipx(out: &mut String, v: i64) {
    if v < 0 {
        out.push('-');
    }
    let a = v.unsigned_abs();
    let _ = write!(out, "{}", a / 10);
    if !a.is_multiple_of(10) {
        let _ = write!(out, ".{}", a % 10);
    }
}

/// Appends one ring as `M x,y l dx,dy … z`, dropping vertices closer than 0.5 px to the last
/// kept one. Relative steps are differences of rounded positions, so no error accumulates.
fn push_ring(out: &mut String, ring: &LineString<f64>, frame: &Frame) {
    let pts: Vec<(i64, i64)> = ring
        .0
        .iter()
        .filter(|c| c.x.is_finite() && c.y.is_finite())
        .map(|c| frame.project(c.x, c.y))
        .collect();
    if pts.is_empty() {
        return;
    }
    let far = |a: (i64, i64), b: (i64, i64)| {
        let (dx, dy) = (a.0 - b.0, a.1 - b.1);
        dx * dx + dy * dy >= MIN_STEP_DECIPX * MIN_STEP_DECIPX
    };
    let mut kept = vec![pts[0]];
    for &p in &pts[1..] {
        if far(p, *kept.last().unwrap_or(&p)) {
            kept.push(p);
        }
    }
    // The closing vertex repeats the first one; `z` closes the ring.
    while kept.len() > 1 && !far(kept[kept.len() - 1], kept[0]) {
        kept.pop();
    }
    if kept.len() < 3 {
        // A ring smaller than a pixel: keep it as a dot-sized square so the zone is still
        // drawn (and hoverable) rather than vanishing from the map.
        if out.is_empty() {
            kept = vec![
                kept[0],
                (kept[0].0 + 5, kept[0].1),
                (kept[0].0 + 5, kept[0].1 + 5),
            ];
        } else {
            return;
        }
    }
    out.push('M');
    push_decipx(out, kept[0].0);
    out.push(',');
    push_decipx(out, kept[0].1);
    out.push('l');
    for w in kept.windows(2) {
        if !out.ends_with('l') {
            out.push(' ');
        }
        push_decipx(out, w[1].0 - w[0].0);
        out.push(',');
        push_decipx(out, w[1].1 - w[0].1);
    }
    out.push('z');
}

pub(crate) fn path_data(g: &MultiPolygon<f64>, frame: &Frame) -> String {
    let mut d = String::new();
    for p in &g.0 {
        push_ring(&mut d, p.exterior(), frame);
        for hole in p.interiors() {
            push_ring(&mut d, hole, frame);
        }
    }
    d
}

/// Quantile class breaks of `values` (ascending): at most `k − 1` distinct upper bounds.
fn quantile_breaks(values: &[f64], k: usize) -> Vec<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return Vec::new();
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let mut breaks: Vec<f64> = (1..k).map(|i| v[(i * n / k).min(n - 1)]).collect();
    breaks.dedup();
    // A break equal to the minimum would make an empty first class.
    breaks.retain(|b| *b > v[0]);
    breaks
}

/// The class of `x` given ascending `breaks`: the number of breaks ≤ x.
fn class_of(x: f64, breaks: &[f64]) -> usize {
    breaks.iter().take_while(|b| **b <= x).count()
}

fn palette_color(class: usize, classes: usize) -> &'static str {
    if classes <= 1 {
        return PALETTE[PALETTE.len() / 2];
    }
    PALETTE[(class * (PALETTE.len() - 1) + (classes - 1) / 2) / (classes - 1)]
}

fn map_view(
    zones: &[&ReportZone],
    frame: &Frame,
    level: Level,
    caption: String,
    lang: Lang,
    short: &str,
) -> MapView {
    let t = labels(lang);
    let values: Vec<f64> = zones.iter().filter_map(|z| z.gep_per_ha()).collect();
    let breaks = quantile_breaks(&values, CLASSES);
    let classes = breaks.len() + 1;
    let mut any_missing = false;
    let paths = zones
        .iter()
        .map(|z| {
            let v = z.gep_per_ha().filter(|v| v.is_finite());
            let fill = match v {
                Some(v) => palette_color(class_of(v, &breaks), classes),
                None => {
                    any_missing = true;
                    NO_DATA_FILL
                }
            };
            let tip = match v {
                Some(v) => format!(
                    "{} ({}): {} {} · {short} {} {}",
                    z.name,
                    z.id,
                    fmt_num(v, 0),
                    t["legend_unit"],
                    fmt_num(z.gep_yuan.unwrap_or(0.0) / 1e8, 4),
                    t["yi_yuan"]
                ),
                None => format!("{} ({}): {}", z.name, z.id, t["no_data"]),
            };
            MapPath {
                id: z.id.clone(),
                d: path_data(&z.geometry, frame),
                fill,
                tip,
            }
        })
        .collect();
    let mut legend = Vec::new();
    if !values.is_empty() {
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut bounds = vec![min];
        bounds.extend(&breaks);
        bounds.push(max);
        for c in 0..classes {
            legend.push(LegendItem {
                color: palette_color(c, classes),
                label: {
                    let (lo, hi) = (fmt_num(bounds[c], 0), fmt_num(bounds[c + 1], 0));
                    if lo == hi {
                        lo
                    } else {
                        format!("{lo} – {hi}")
                    }
                },
            });
        }
    }
    if any_missing {
        legend.push(LegendItem {
            color: NO_DATA_FILL,
            label: t["no_data"].to_string(),
        });
    }
    let band = 34.0;
    MapView {
        caption,
        level: level.as_str(),
        width: frame.width,
        height: frame.height + band,
        frame_width: frame.width,
        frame_height: frame.height,
        band,
        paths,
        legend,
        outlines: Vec::new(),
        labels: Vec::new(),
        scale: ScaleBar::new(frame.metres_per_px(), (frame.width / 3.0).min(160.0)),
        legend_title: String::new(),
        outline_label: String::new(),
    }
}

/// Font size of the top level's names, px.
const MAJOR_FONT: f64 = 12.0;
/// Font size of lower levels' names, px.
const MINOR_FONT: f64 = 9.0;

/// The name of `z` at a point inside it, with the zoom from which it fits in the zone's box;
/// `None` for a nameless or empty zone.
fn map_label(z: &ReportZone, frame: &Frame, class: &'static str, font: f64) -> Option<MapLabel> {
    use geo::InteriorPoint;
    if z.name.trim().is_empty() {
        return None;
    }
    let p = z.geometry.interior_point()?;
    let (x, y) = frame.project_px(p.x(), p.y());
    let (x0, y0, x1, y1) = frame.px_box(&z.geometry)?;
    let w = text_width(&z.name) * font / 13.0;
    let fit = (w / (0.9 * (x1 - x0)).max(1e-9)).max(1.2 * font / (y1 - y0).max(1e-9));
    Some(MapLabel {
        x: (x * 10.0).round() / 10.0,
        y: ((y + 0.35 * font) * 10.0).round() / 10.0,
        text: z.name.clone(),
        class,
        min_zoom: (fit * 100.0).ceil() / 100.0,
    })
}

fn category_color(c: Category) -> &'static str {
    match c {
        Category::Material => "#d8a03d",
        Category::Regulating => "#3a8fb7",
        Category::Cultural => "#a45ea8",
        Category::Supporting => "#7a9a3a",
        _ => "#8c8c8c",
    }
}

const BAR_ROW: f64 = 24.0;
const BAR_SPACE: f64 = 560.0;

fn bar_chart(caption: String, mut items: Vec<(String, f64, &'static str)>, lang: Lang) -> BarChart {
    let t = labels(lang);
    items.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let max = items.iter().map(|i| i.1.abs()).fold(0.0, f64::max);
    let longest = items.iter().map(|i| text_width(&i.0)).fold(0.0, f64::max);
    let label_width = (longest + 12.0).clamp(60.0, 260.0);
    let bars = items
        .into_iter()
        .enumerate()
        .map(|(i, (label, v, color))| Bar {
            label,
            value: format!("{} {}", fmt_num(v / 1e8, 2), t["yi_yuan"]),
            width: if max > 0.0 {
                (v.max(0.0) / max * BAR_SPACE * 10.0).round() / 10.0
            } else {
                0.0
            },
            y: 4.0 + i as f64 * BAR_ROW,
            color,
        })
        .collect::<Vec<_>>();
    BarChart {
        caption,
        height: 8.0 + bars.len() as f64 * BAR_ROW,
        label_width,
        bars,
    }
}

/// Rough width of `s` at 13 px: CJK glyphs are square, Latin ones about half as wide.
fn text_width(s: &str) -> f64 {
    s.chars()
        .map(|c| if c.is_ascii() { 7.0 } else { 13.0 })
        .sum()
}

/// Σ value by service over the zones of the top level (summing every level would count each
/// hectare two or three times).
fn service_chart(input: &ReportInput, top: Level, lang: Lang) -> BarChart {
    let t = labels(lang);
    let top_ids: std::collections::HashSet<&str> =
        input.level(top).map(|z| z.id.as_str()).collect();
    let mut by: HashMap<&str, (String, f64, &'static str)> = HashMap::new();
    for s in &input.services {
        let Some(v) = s.value_yuan else { continue };
        if !top_ids.contains(s.zone_id.as_str()) {
            continue;
        }
        let name = match lang {
            Lang::Zh if !s.service_zh.is_empty() => s.service_zh.clone(),
            Lang::En if !s.service_en.is_empty() => s.service_en.clone(),
            _ => s.service.clone(),
        };
        by.entry(&s.service)
            .or_insert((name, 0.0, category_color(s.category)))
            .1 += v;
    }
    bar_chart(
        t["by_service"].to_string(),
        by.into_values().collect(),
        lang,
    )
}

fn category_chart(top: &[&ReportZone], lang: Lang) -> BarChart {
    let t = labels(lang);
    let mut out = Vec::new();
    for (cat, key, get) in [
        (
            Category::Material,
            "material",
            (|z: &ReportZone| z.material_yuan) as fn(&ReportZone) -> Option<f64>,
        ),
        (Category::Regulating, "regulating", |z: &ReportZone| {
            z.regulating_yuan
        }),
        (Category::Cultural, "cultural", |z: &ReportZone| {
            z.cultural_yuan
        }),
        (Category::Supporting, "supporting", |z: &ReportZone| {
            z.supporting_yuan
        }),
    ] {
        let v = sum(top.iter().map(|z| get(z)));
        // Supporting services only where there are any (ESV runs).
        if cat == Category::Supporting && v.unwrap_or(0.0) == 0.0 {
            continue;
        }
        if let Some(v) = v {
            out.push((t[key].to_string(), v, category_color(cat)));
        }
    }
    bar_chart(t["by_category"].to_string(), out, lang)
}

fn checks_view(input: &ReportInput, lang: Lang) -> (Vec<CheckLevel>, Vec<CheckRow>) {
    let t = labels(lang);
    let names: HashMap<&str, &str> = input
        .zones
        .iter()
        .map(|z| (z.id.as_str(), z.name.as_str()))
        .collect();
    let mut levels = Vec::new();
    for level in Level::ALL {
        let rows: Vec<_> = input.checks.iter().filter(|c| c.level == level).collect();
        if rows.is_empty() {
            continue;
        }
        let max = rows.iter().map(|c| c.residual_m2.abs()).fold(0.0, f64::max);
        levels.push(CheckLevel {
            level: t[level.as_str()].to_string(),
            rows: rows.len(),
            max_abs_residual: fmt_m2(max),
            gaps: rows.iter().filter(|c| c.kind == "gap").count(),
            overlaps: rows.iter().filter(|c| c.kind == "overlap").count(),
        });
    }
    let mut worst: Vec<_> = input.checks.iter().collect();
    worst.sort_by(|a, b| b.residual_m2.abs().total_cmp(&a.residual_m2.abs()));
    let worst = worst
        .into_iter()
        .take(15)
        .map(|c| CheckRow {
            parent: if c.parent_id.is_empty() && !c.children.is_empty() {
                // Two top-level zones claiming the same ground: name the pair.
                c.children
                    .iter()
                    .map(|id| match names.get(id.as_str()) {
                        Some(n) => format!("{n} ({id})"),
                        None => id.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join(" × ")
            } else {
                match names.get(c.parent_id.as_str()) {
                    Some(n) => format!("{n} ({})", c.parent_id),
                    None => c.parent_id.clone(),
                }
            },
            level: t[c.level.as_str()].to_string(),
            kind: c.kind.clone(),
            class: c
                .class
                .map(|c| c.to_string())
                .unwrap_or_else(|| t["all_classes"].into()),
            parent_area: fmt_num(c.parent_area_m2, 1),
            residual: fmt_m2(c.residual_m2),
            relative: if c.parent_area_m2 != 0.0 {
                format!("{:.2e}", c.residual_m2 / c.parent_area_m2)
            } else {
                "–".into()
            },
        })
        .collect();
    (levels, worst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_beyond_1e15_and_below_1_are_scientific() {
        // 3.4020785667e25 ions: mantissa rounded to 4 significant digits by hand.
        assert_eq!(fmt_quantity(3.402_078_566_7e25), "3.402 × 10²⁵");
        assert_eq!(fmt_quantity(0.000_125), "1.250 × 10⁻⁴");
        assert_eq!(fmt_quantity(999_999_999_999_999.0), "999,999,999,999,999");
        assert_eq!(fmt_quantity(38_250_246_961.4), "38,250,246,961");
        assert_eq!(fmt_quantity(12.345), "12.35");
        assert_eq!(fmt_quantity(0.0), "0");
    }
    use geo_types::polygon;

    #[test]
    fn number_formatting() {
        assert_eq!(fmt_num(1234567.891, 2), "1,234,567.89");
        assert_eq!(fmt_num(-1234.0, 0), "-1,234");
        assert_eq!(fmt_num(-0.001, 2), "0.00");
        assert_eq!(fmt_num(999.0, 0), "999");
        assert_eq!(fmt_m2(1.5e-9), "1.500e-9");
    }

    #[test]
    fn quantiles_and_classes() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        let b = quantile_breaks(&v, 5);
        assert_eq!(b, vec![3.0, 5.0, 7.0, 9.0]);
        assert_eq!(class_of(1.0, &b), 0);
        assert_eq!(class_of(10.0, &b), 4);
        assert_eq!(quantile_breaks(&[2.0, 2.0, 2.0], 5), Vec::<f64>::new());
        assert_eq!(palette_color(0, 5), PALETTE[0]);
        assert_eq!(palette_color(4, 5), PALETTE[4]);
        assert_eq!(palette_color(1, 2), PALETTE[4]);
    }

    #[test]
    fn paths_are_rounded_and_simplified() {
        let g = MultiPolygon(vec![polygon![
            (x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 0.0001), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0), (x: 0.0, y: 0.0)
        ]]);
        let frame = Frame {
            min_x: 0.0,
            min_y: 0.0,
            max_y: 10.0,
            kx: 1.0,
            scale: 1.0,
            width: 26.0,
            height: 26.0,
            ellipsoid: None,
        };
        assert_eq!(path_data(&g, &frame), "M8,18l10,0 0,-10 -10,0z");
    }

    #[test]
    fn scale_bar_on_lon_lat_matches_a_hand_computation() {
        // One degree square, 119–120°E × 30–31°N, WGS 84. The frame's centre latitude is
        // 30.5°; the frame is 884 px tall (900 − 2 × 8 padding) and one degree of longitude
        // is drawn cos 30.5° × 884 = 761.680 px wide.
        let g = MultiPolygon(vec![polygon![
            (x: 119.0, y: 30.0), (x: 120.0, y: 30.0), (x: 120.0, y: 31.0), (x: 119.0, y: 31.0), (x: 119.0, y: 30.0)
        ]]);
        let crs = gep_core::CrsInfo::geographic("EPSG:4326", gep_core::Ellipsoid::WGS84);
        let frame = Frame::of(std::iter::once(&g), Some(&crs)).unwrap();
        // One degree of longitude at 30.5° on WGS 84: π a cos φ / (180 √(1 − e² sin² φ))
        // = 95,998.93 m; `echo "30.5 119 30.5 119.001" | geod +ellps=WGS84 -I +units=m`
        // gives 95.999 m for a thousandth of a degree.
        let (a, f) = (6_378_137.0_f64, 1.0 / 298.257_223_563);
        let e2 = f * (2.0 - f);
        let phi = 30.5_f64.to_radians();
        let degree =
            std::f64::consts::PI * a * phi.cos() / (180.0 * (1.0 - e2 * phi.sin().powi(2)).sqrt());
        assert!((degree - 95_999.0).abs() < 1.0, "{degree}");
        let px_per_degree = phi.cos() * 884.0;
        let mpp = degree / px_per_degree; // 126.036 m per px
        assert!((frame.metres_per_px() - mpp).abs() < 1e-9 * mpp);
        // At most 160 px: 160 × 126.04 m = 20.17 km → a 20 km bar, 20,000 / 126.036 px wide.
        let bar = ScaleBar::new(frame.metres_per_px(), 160.0);
        assert_eq!(bar.metres, 20_000.0);
        assert_eq!(bar.label, "20 km");
        assert!(
            (bar.px - 20_000.0 / mpp).abs() <= 0.05,
            "{} vs {}",
            bar.px,
            20_000.0 / mpp
        );
        assert!((bar.px - 158.7).abs() < 0.05);
    }

    #[test]
    fn scale_bar_on_planar_metres_matches_a_hand_computation() {
        // A 50 km × 30 km rectangle in a projected CRS: the width limits the scale,
        // 884 px / 50,000 m, so one px is 56.56 m; at most 160 px = 9,050 m → a 5 km bar of
        // 5,000 / 56.56 = 88.4 px.
        let g = MultiPolygon(vec![polygon![
            (x: 400_000.0, y: 3_300_000.0), (x: 450_000.0, y: 3_300_000.0), (x: 450_000.0, y: 3_330_000.0), (x: 400_000.0, y: 3_330_000.0), (x: 400_000.0, y: 3_300_000.0)
        ]]);
        let crs = gep_core::CrsInfo::projected("EPSG:4549");
        let frame = Frame::of(std::iter::once(&g), Some(&crs)).unwrap();
        assert!((frame.metres_per_px() - 50_000.0 / 884.0).abs() < 1e-9);
        let bar = ScaleBar::new(frame.metres_per_px(), 160.0);
        assert_eq!((bar.metres, bar.label.as_str()), (5_000.0, "5 km"));
        assert!((bar.px - 88.4).abs() < 0.05, "{}", bar.px);
        // Small lengths in metres; exact round lengths are kept.
        assert_eq!(ScaleBar::new(1.0, 160.0).label, "100 m");
        assert_eq!(ScaleBar::new(1.0, 200.0).metres, 200.0);
        assert_eq!(ScaleBar::new(10.0, 50.0).metres, 500.0);
    }

    #[test]
    fn names_show_from_the_zoom_at_which_they_fit() {
        // A 100 px wide, 40 px tall zone (planar, 1 px per unit): a 3-character CJK name at
        // 9 px is 27 px wide, fits in 0.9 × 100 px and in 40 px of height (1.2 × 9 px).
        let frame = Frame {
            min_x: 0.0,
            min_y: 0.0,
            max_y: 1000.0,
            kx: 1.0,
            scale: 1.0,
            width: 1016.0,
            height: 1016.0,
            ellipsoid: None,
        };
        let zone = |name: &str, w: f64, h: f64| ReportZone {
            id: "1".into(),
            name: name.into(),
            level: Level::Township,
            parent: None,
            geometry: MultiPolygon(vec![polygon![
                (x: 100.0, y: 100.0), (x: 100.0 + w, y: 100.0), (x: 100.0 + w, y: 100.0 + h), (x: 100.0, y: 100.0 + h), (x: 100.0, y: 100.0)
            ]]),
            area_ha: 1.0,
            gep_yuan: None,
            material_yuan: None,
            regulating_yuan: None,
            cultural_yuan: None,
            supporting_yuan: None,
        };
        let l = map_label(&zone("白鹤镇", 100.0, 40.0), &frame, "minor", 9.0).unwrap();
        assert!(l.min_zoom <= 1.0, "{}", l.min_zoom);
        // Inside the zone: x within 100..200 px + padding, y within the zone's rows.
        assert!(l.x > MAP_PAD + 100.0 && l.x < MAP_PAD + 200.0, "{}", l.x);
        // 15 px wide: the 27 px name fits from 27 / (0.9 × 15) = 2× zoom.
        let l = map_label(&zone("白鹤镇", 15.0, 40.0), &frame, "minor", 9.0).unwrap();
        assert!((l.min_zoom - 2.0).abs() < 0.011, "{}", l.min_zoom);
        assert!(map_label(&zone("  ", 100.0, 40.0), &frame, "minor", 9.0).is_none());
    }
}
