//! The self-contained HTML report of `gep change` and `gep appraise`: the GEP change of the
//! top zones split into its causes, a transition chart (from ecosystem type × to ecosystem
//! type, ha) and a map of change (ΔGEP per zone, diverging colours).
//!
//! As in [`crate::html`], this module computes every number, colour and SVG coordinate (so
//! they can be tested without parsing HTML) and a minijinja template
//! (`templates/change.html`, auto-escaping on) lays them out. The map reuses the report's
//! drawing frame and compact path encoding. Nothing refers to the network.

use crate::error::ReportError;
use crate::html::{
    fmt_num, path_data, Frame, LegendItem, MapPath, MapView, ScaleBar, NO_DATA_FILL, STYLE,
};
use crate::i18n::Lang;
use crate::model::RunInfo;
use geo_types::MultiPolygon;
use gep_core::{Catalog, Level};
use minijinja::{context, Environment};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const TEMPLATE: &str = include_str!("../templates/change.html");

/// Diverging palette (ColorBrewer RdBu, 7 classes): red = GEP lost, blue = GEP gained, the
/// middle for zones whose GEP did not change.
const DIVERGING: [&str; 7] = [
    "#b2182b", "#ef8a62", "#fddbc7", "#f7f7f7", "#d1e5f0", "#67a9cf", "#2166ac",
];
/// Sequential oranges for the changed cells of the transition matrix, light = small.
const CHANGED: [&str; 5] = ["#feedde", "#fdbe85", "#fd8d3c", "#e6550d", "#a63603"];
/// Greys for the unchanged (diagonal) cells.
const KEPT: [&str; 3] = ["#f0f0f0", "#d9d9d9", "#bdbdbd"];

/// What the report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ChangeKind {
    /// `gep change`: year 0 → year 1.
    Years {
        /// The first year.
        year0: i32,
        /// The second year.
        year1: i32,
    },
    /// `gep appraise`: the current land cover → the project's scenario.
    Appraisal {
        /// The accounting year of the current land cover.
        year: i32,
    },
}

/// One cell of a transition matrix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransitionCell {
    /// Ecosystem type (or class) in year 0 / before.
    pub from: String,
    /// Ecosystem type (or class) in year 1 / after.
    pub to: String,
    /// Area, ha.
    pub area_ha: f64,
}

/// The change of a zone's GEP and its causes (元/a).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ZoneEffects {
    /// GEP in year 0 / before.
    pub value0_yuan: f64,
    /// GEP in year 1 / after.
    pub value1_yuan: f64,
    /// The change.
    pub total_yuan: f64,
    /// Land-change effect.
    pub land_yuan: f64,
    /// Price/parameter effect.
    pub price_yuan: f64,
    /// Interaction.
    pub interaction_yuan: f64,
    /// Input effect of the model services (rainfall, NPP...; `gep change --config1`),
    /// `None` without them.
    pub input_yuan: Option<f64>,
}

/// One zone of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeZone {
    /// Zone id.
    pub id: String,
    /// Zone name.
    pub name: String,
    /// Zone level.
    pub level: Level,
    /// Outline (any CRS; drawn as is, lon/lat stretched by the cosine of the mid-latitude).
    pub geometry: MultiPolygon<f64>,
    /// The GEP change; `None` when the zone has none (not valued).
    pub effects: Option<ZoneEffects>,
}

/// Everything the change report shows.
#[derive(Debug, Clone)]
pub struct ChangeReportInput {
    /// Years or appraisal.
    pub kind: ChangeKind,
    /// All zones, any levels: the summary table lists the top level, the map draws the finest.
    pub zones: Vec<ChangeZone>,
    /// The transition matrix of the whole area (the top zones summed), by ecosystem type.
    pub transitions: Vec<TransitionCell>,
    /// Provenance: engine version, coefficient set, inputs, warnings.
    pub run: RunInfo,
}

/// One cell of the matrix, ready for the template.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatrixCell {
    /// Area text (ha); empty where nothing changed between the two types.
    pub text: String,
    /// Background colour.
    pub fill: &'static str,
    /// Area, ha (0 where empty).
    pub area_ha: f64,
}

/// One row of the matrix: a year-0 type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatrixRow {
    /// The type's label.
    pub from: String,
    /// One cell per year-1 type, in [`TransitionMatrix::to`] order.
    pub cells: Vec<MatrixCell>,
    /// Row total (the type's year-0 area), ha, as text.
    pub total: String,
    /// Row total, ha.
    pub total_ha: f64,
}

/// The transition chart: a heat table from type × to type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransitionMatrix {
    /// Column labels: year-1 types.
    pub to: Vec<String>,
    /// One row per year-0 type.
    pub rows: Vec<MatrixRow>,
    /// Column totals (each type's year-1 area), ha, as text.
    pub col_totals: Vec<String>,
    /// Column totals, ha.
    pub col_totals_ha: Vec<f64>,
    /// Area that changed type, ha, as text.
    pub changed: String,
}

/// One row of the summary table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SummaryRow {
    /// Zone name (id).
    pub zone: String,
    /// GEP before, after, change, land, (input, with model services,) price, interaction, as
    /// text (元).
    pub cells: Vec<String>,
}

/// Labels in one language.
#[derive(Debug, Clone, Serialize)]
struct Texts {
    title: String,
    subtitle: String,
    summary: &'static str,
    zone: &'static str,
    before: &'static str,
    after: &'static str,
    change: &'static str,
    land: &'static str,
    price: &'static str,
    interaction: &'static str,
    input: &'static str,
    exact_note: &'static str,
    exact_note_input: &'static str,
    transitions: &'static str,
    from_to: &'static str,
    total: &'static str,
    changed: &'static str,
    matrix_note: &'static str,
    map: &'static str,
    unit_yuan: &'static str,
    provenance: &'static str,
    engine: &'static str,
    coefficients: &'static str,
    inputs: &'static str,
    warnings: &'static str,
    no_zones: &'static str,
}

fn texts(lang: Lang, kind: ChangeKind) -> Texts {
    let zh = lang == Lang::Zh;
    let (title, subtitle) = match (kind, zh) {
        (ChangeKind::Years { year0, year1 }, true) => (
            format!("GEP 变化 {year0}–{year1}"),
            "土地变化、价格与参数变化及其交互作用".to_string(),
        ),
        (ChangeKind::Years { year0, year1 }, false) => (
            format!("GEP change {year0}–{year1}"),
            "land change, prices and parameters, and their interaction".to_string(),
        ),
        (ChangeKind::Appraisal { year }, true) => (
            "项目 GEP 影响评估".to_string(),
            format!("{year} 年现状土地覆被 → 项目情景"),
        ),
        (ChangeKind::Appraisal { year }, false) => (
            "Project appraisal: GEP change".to_string(),
            format!("land cover of {year} → the project's scenario"),
        ),
    };
    let pick = |z: &'static str, e: &'static str| if zh { z } else { e };
    Texts {
        title,
        subtitle,
        summary: pick("GEP 变化及其原因", "GEP change and its causes"),
        zone: pick("区域", "zone"),
        before: pick("前", "before"),
        after: pick("后", "after"),
        change: pick("变化", "change"),
        land: pick("土地变化效应", "land effect"),
        price: pick("价格/参数效应", "price effect"),
        interaction: pick("交互效应", "interaction"),
        input: pick("输入变化效应", "input effect"),
        exact_note_input: pick(
            "四项效应（土地、输入、价格、交互）之和等于总变化（精确计算，仅末位舍入）。输入效应：模型服务的输入（降水、蒸散、NPP 等）变化在新土地覆被、旧价格下的价值。单位：元/年。",
            "The four effects (land, input, price, interaction) add up to the change (computed exactly, rounded once). Input effect: the change of the model services' inputs (rainfall, ET, NPP...) on the new land cover at old prices. Unit: 元/a.",
        ),
        exact_note: pick(
            "三项效应之和等于总变化（精确计算，仅末位舍入）。单位：元/年。",
            "The three effects add up to the change (computed exactly, rounded once). Unit: 元/a.",
        ),
        transitions: pick("地类转移（公顷）", "Transitions (ha)"),
        from_to: pick("前 ＼ 后", "from \\ to"),
        total: pick("合计", "total"),
        changed: pick("转变面积", "area that changed type"),
        matrix_note: pick(
            "行：变化前的生态系统类型；列：变化后。对角线（灰）为未变化面积，其余（橙）为转移面积，颜色越深面积越大。",
            "Rows: the type before; columns: the type after. The diagonal (grey) kept its type; other cells (orange) changed, darker = larger.",
        ),
        map: pick("GEP 变化分布（元/年）", "Map of the GEP change (元/a)"),
        unit_yuan: pick("元/年", "元/a"),
        provenance: pick("运行信息", "Run information"),
        engine: pick("引擎版本", "engine version"),
        coefficients: pick("系数集", "coefficient set"),
        inputs: pick("输入文件", "inputs"),
        warnings: pick("警告", "warnings"),
        no_zones: pick("无区域", "no zones"),
    }
}

/// The label of an ecosystem type (its catalogue name in `lang`, the code otherwise).
fn type_label(code: &str, lang: Lang) -> String {
    match Catalog::builtin().ecosystem(code) {
        Some(e) if lang == Lang::Zh => e.zh.clone(),
        Some(e) => e.en.clone(),
        None => code.to_string(),
    }
}

fn ha_text(v: f64) -> String {
    if v == 0.0 {
        String::new()
    } else if v.abs() < 0.1 {
        fmt_num(v, 4)
    } else {
        fmt_num(v, 1)
    }
}

/// The transition chart of `cells`: one row per type with area in year 0, one column per
/// type with area in year 1, in catalogue order (types not in the catalogue after, by code).
/// Cells of the same (from, to) are added.
pub fn transition_matrix(cells: &[TransitionCell], lang: Lang) -> TransitionMatrix {
    let cat = Catalog::builtin();
    let mut sums: BTreeMap<(&str, &str), f64> = BTreeMap::new();
    for c in cells {
        if c.area_ha != 0.0 {
            *sums.entry((c.from.as_str(), c.to.as_str())).or_default() += c.area_ha;
        }
    }
    fn order<'a>(cat: &Catalog, set: BTreeSet<&'a str>) -> Vec<&'a str> {
        let mut v: Vec<&'a str> = set.into_iter().collect();
        v.sort_by_key(|t| (cat.ecosystem_rank(t).unwrap_or(usize::MAX), t.to_string()));
        v
    }
    let from = order(cat, sums.keys().map(|k| k.0).collect());
    let to = order(cat, sums.keys().map(|k| k.1).collect());
    let max_changed = sums
        .iter()
        .filter(|((f, t), _)| f != t)
        .map(|(_, a)| a.abs())
        .fold(0.0, f64::max);
    let max_kept = sums
        .iter()
        .filter(|((f, t), _)| f == t)
        .map(|(_, a)| a.abs())
        .fold(0.0, f64::max);
    let shade = |a: f64, max: f64, pal: &[&'static str]| {
        if max <= 0.0 {
            return pal[0];
        }
        let k = ((a.abs() / max) * pal.len() as f64).ceil() as usize;
        pal[k.clamp(1, pal.len()) - 1]
    };
    let mut changed = 0.0;
    let mut col_totals_ha = vec![0.0; to.len()];
    let rows = from
        .iter()
        .map(|f| {
            let mut total = 0.0;
            let cells = to
                .iter()
                .enumerate()
                .map(|(j, t)| {
                    let a = sums.get(&(*f, *t)).copied().unwrap_or(0.0);
                    total += a;
                    col_totals_ha[j] += a;
                    let fill = if a == 0.0 {
                        "#ffffff"
                    } else if f == t {
                        shade(a, max_kept, &KEPT)
                    } else {
                        changed += a;
                        shade(a, max_changed, &CHANGED)
                    };
                    MatrixCell {
                        text: ha_text(a),
                        fill,
                        area_ha: a,
                    }
                })
                .collect();
            MatrixRow {
                from: type_label(f, lang),
                cells,
                total: ha_text(total),
                total_ha: total,
            }
        })
        .collect();
    TransitionMatrix {
        to: to.iter().map(|t| type_label(t, lang)).collect(),
        rows,
        col_totals: col_totals_ha.iter().map(|a| ha_text(*a)).collect(),
        col_totals_ha,
        changed: ha_text(changed),
    }
}

/// Class breaks of the changes: the upper bounds of the small and middle classes of |ΔGEP|
/// among the zones that changed (terciles), so that small changes stay visible.
fn magnitude_breaks(values: &[f64]) -> [f64; 2] {
    let mut m: Vec<f64> = values
        .iter()
        .filter(|v| v.is_finite() && **v != 0.0)
        .map(|v| v.abs())
        .collect();
    if m.is_empty() {
        return [0.0, 0.0];
    }
    m.sort_by(f64::total_cmp);
    let n = m.len();
    [m[(n / 3).min(n - 1)], m[(2 * n / 3).min(n - 1)]]
}

/// The colour class (0..7) of a change: 3 = no change, below = loss, above = gain.
fn diverging_class(v: f64, breaks: [f64; 2]) -> usize {
    if v == 0.0 {
        return 3;
    }
    let a = v.abs();
    let step = if a <= breaks[0] {
        1
    } else if a <= breaks[1] {
        2
    } else {
        3
    };
    if v < 0.0 {
        3 - step
    } else {
        3 + step
    }
}

/// The map of change: the finest level among `zones`, one path per zone of that level,
/// filled by its ΔGEP on a diverging scale (red loss, blue gain, white unchanged), the top
/// level's outlines drawn over it. `None` when no zone has an outline to draw.
pub fn change_map(zones: &[ChangeZone], lang: Lang) -> Option<MapView> {
    let t = texts(lang, ChangeKind::Appraisal { year: 0 });
    let finest = zones.iter().map(|z| z.level).max_by_key(|l| l.rank())?;
    let top = zones.iter().map(|z| z.level).min_by_key(|l| l.rank())?;
    let drawn: Vec<&ChangeZone> = zones.iter().filter(|z| z.level == finest).collect();
    let frame = Frame::of(drawn.iter().map(|z| &z.geometry), None)?;
    let values: Vec<f64> = drawn
        .iter()
        .filter_map(|z| z.effects.map(|e| e.total_yuan))
        .collect();
    let breaks = magnitude_breaks(&values);
    let mut used = [false; 7];
    let mut any_missing = false;
    let paths = drawn
        .iter()
        .map(|z| {
            let v = z.effects.map(|e| e.total_yuan).filter(|v| v.is_finite());
            let fill = match v {
                Some(v) => {
                    let c = diverging_class(v, breaks);
                    used[c] = true;
                    DIVERGING[c]
                }
                None => {
                    any_missing = true;
                    NO_DATA_FILL
                }
            };
            let tip = match v {
                Some(v) => format!("{} ({}): {} {}", z.name, z.id, signed(v), t.unit_yuan),
                None => format!("{} ({})", z.name, z.id),
            };
            MapPath {
                id: z.id.clone(),
                d: path_data(&z.geometry, &frame),
                fill,
                tip,
            }
        })
        .collect();
    let max = values.iter().map(|v| v.abs()).fold(0.0, f64::max);
    let bounds = [0.0, breaks[0], breaks[1], max];
    let mut legend = Vec::new();
    for (c, col) in DIVERGING.iter().enumerate() {
        if !used[c] {
            continue;
        }
        let label = if c == 3 {
            "0".to_string()
        } else {
            let step = c.abs_diff(3);
            let (lo, hi) = (bounds[step - 1], bounds[step]);
            // Low to high: a loss class reads "−hi – −lo" (its lower end is 0 for the
            // smallest losses, "−hi – 0").
            let signed_abs = |v: f64, sign: &str| {
                if v == 0.0 {
                    "0".to_string()
                } else {
                    format!("{sign}{}", fmt_num(v, 0))
                }
            };
            if c < 3 {
                format!("{} – {}", signed_abs(hi, "−"), signed_abs(lo, "−"))
            } else {
                format!("{} – {}", signed_abs(lo, "+"), signed_abs(hi, "+"))
            }
        };
        legend.push(LegendItem { color: col, label });
    }
    if any_missing {
        legend.push(LegendItem {
            color: NO_DATA_FILL,
            label: if lang == Lang::Zh {
                "无数据"
            } else {
                "no data"
            }
            .to_string(),
        });
    }
    let outlines = if top != finest {
        zones
            .iter()
            .filter(|z| z.level == top)
            .map(|z| path_data(&z.geometry, &frame))
            .collect()
    } else {
        Vec::new()
    };
    Some(MapView {
        caption: t.map.to_string(),
        level: finest.as_str(),
        width: frame.width,
        height: frame.height,
        paths,
        legend,
        outlines,
        // The change map's template draws no names, scale bar or band (yet).
        labels: Vec::new(),
        scale: ScaleBar::new(frame.metres_per_px(), (frame.width / 3.0).min(160.0)),
        band: 0.0,
        frame_width: frame.width,
        frame_height: frame.height,
        legend_title: String::new(),
        outline_label: String::new(),
    })
}

fn signed(v: f64) -> String {
    if v > 0.0 {
        format!("+{}", fmt_num(v, 0))
    } else {
        fmt_num(v, 0)
    }
}

/// The summary rows: the top-level zones with their GEP before and after and the effects.
pub fn summary(zones: &[ChangeZone]) -> Vec<SummaryRow> {
    let Some(top) = zones.iter().map(|z| z.level).min_by_key(|l| l.rank()) else {
        return Vec::new();
    };
    zones
        .iter()
        .filter(|z| z.level == top)
        .filter_map(|z| {
            let e = z.effects?;
            let mut cells = vec![
                fmt_num(e.value0_yuan, 0),
                fmt_num(e.value1_yuan, 0),
                signed(e.total_yuan),
                signed(e.land_yuan),
            ];
            cells.extend(e.input_yuan.map(signed));
            cells.extend([signed(e.price_yuan), signed(e.interaction_yuan)]);
            Some(SummaryRow {
                zone: format!("{} ({})", z.name, z.id),
                cells,
            })
        })
        .collect()
}

/// Renders the change report as one HTML string.
///
/// # Errors
/// A template error (a bug).
pub fn render_change_html(input: &ChangeReportInput, lang: Lang) -> Result<String, ReportError> {
    let mut env = Environment::new();
    env.add_template("change.html", TEMPLATE)?;
    let tmpl = env.get_template("change.html")?;
    let run = &input.run;
    let html = tmpl.render(context! {
        t => texts(lang, input.kind),
        lang => lang.tag(),
        style => STYLE,
        summary => summary(&input.zones),
        has_input => input.zones.iter().any(|z| z.effects.is_some_and(|e| e.input_yuan.is_some())),
        matrix => transition_matrix(&input.transitions, lang),
        map => change_map(&input.zones, lang),
        engine => format!("{}{}", run.engine_version, run.commit.as_deref().map(|c| format!(" ({c})")).unwrap_or_default()),
        coefficients => run.coefficient_set.as_ref().map(|c| format!("{} (sha256 {})", c.id, c.sha256)),
        inputs => run.inputs.iter().map(|i| format!("{} — {} (sha256 {})", i.role, i.path, i.sha256)).collect::<Vec<_>>(),
        warnings => run.warnings_in(lang),
    })?;
    Ok(html)
}

/// Renders the change report and writes it to `path`.
///
/// # Errors
/// A template error, or the file cannot be written.
pub fn write_change_html(
    path: &Path,
    input: &ChangeReportInput,
    lang: Lang,
) -> Result<(), ReportError> {
    let html = render_change_html(input, lang)?;
    std::fs::write(path, html).map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })
}
