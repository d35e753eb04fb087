//! The XLSX workbook in bureau form: summary by county, townships, villages, services (zone ×
//! service, wide), ecosystem extent by type, sensitivity, checks and run information, written
//! with `rust_xlsxwriter`.
//!
//! Every sheet starts with three rows a reviewer reads first: a **title** row (the run's title
//! and what the sheet holds), a **unit** row (zones' money in 万元, totals in 亿元, areas in
//! ha or m²) and a **price-year** row (the price year and what the total is: GEP or ESV,
//! partial); the column headers are on the fourth row (`pandas.read_excel(..., header=3)`).
//! Money is stored converted (a zone's 万元 cell holds yuan / 10⁴, a total's 亿元 cell yuan /
//! 10⁸), so the numbers read are the numbers shown. Services come in the standard's order.
//!
//! Every id is a **string** cell (administrative codes keep their leading zeros and never turn
//! into 3.30127E+11); every free text goes through [`neutralize`]; no cell is a formula (totals
//! are computed here, so the numbers are the engine's, not the spreadsheet's). Sheet names are
//! stable English words for scripts (`pandas.read_excel(sheet_name="villages", header=3)`);
//! column headers follow the [`Lang`].

use crate::error::ReportError;
use crate::i18n::{label, label_for, Lang};
use crate::model::{ReportInput, ReportZone, ServicePivot, ServiceTotal, ZoneDirectory};
use crate::neutralize::neutralize;
use gep_core::Level;
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use std::path::Path;

/// Excel's limit on the characters of one cell.
const MAX_CELL_CHARS: usize = 32_767;

/// Yuan per 万元 (the zones' money unit).
const WAN: f64 = 1e4;
/// Yuan per 亿元 (the totals' money unit).
const YI: f64 = 1e8;

/// The row of the column headers: after the title, unit and price-year rows.
const HEADER_ROW: u32 = 3;

struct Formats {
    header: Format,
    title: Format,
    yuan: Format,
    yi: Format,
    area: Format,
    m2: Format,
    text: Format,
    bold: Format,
}

impl Formats {
    fn new() -> Formats {
        Formats {
            header: Format::new()
                .set_bold()
                .set_text_wrap()
                .set_background_color("#E2EFDA"),
            title: Format::new().set_bold().set_font_size(14),
            yuan: Format::new().set_num_format("#,##0.00"),
            yi: Format::new().set_num_format("#,##0.0000"),
            area: Format::new().set_num_format("#,##0.0000"),
            m2: Format::new().set_num_format("0.000000"),
            text: Format::new().set_num_format("@"),
            bold: Format::new().set_bold(),
        }
    }
}

/// A cell of a table row.
enum Cell<'a> {
    Text(&'a str),
    Num(Option<f64>, &'a Format),
}

fn write_table<'a>(
    ws: &mut Worksheet,
    f: &Formats,
    lang: Lang,
    kind: Option<gep_core::TotalKind>,
    headers: &[&str],
    widths: &[f64],
    rows: impl Iterator<Item = Vec<Cell<'a>>>,
) -> Result<u32, XlsxError> {
    for (c, h) in headers.iter().enumerate() {
        let c = c as u16;
        ws.write_string_with_format(HEADER_ROW, c, label_for(lang, kind, h), &f.header)?;
        ws.set_column_width(c, widths.get(c as usize).copied().unwrap_or(14.0))?;
    }
    let mut r = HEADER_ROW;
    for row in rows {
        r += 1;
        for (c, cell) in row.into_iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Text(s) => {
                    ws.write_string_with_format(r, c, &*neutralize(s), &f.text)?;
                }
                Cell::Num(Some(v), fmt) if v.is_finite() => {
                    ws.write_number_with_format(r, c, v, fmt)?;
                }
                Cell::Num(..) => {}
            }
        }
    }
    ws.set_freeze_panes(HEADER_ROW + 1, 0)?;
    if !headers.is_empty() {
        ws.autofilter(
            HEADER_ROW,
            0,
            r.max(HEADER_ROW + 1),
            headers.len() as u16 - 1,
        )?;
    }
    Ok(r)
}

/// The three rows above every sheet's table: title (the run's title and `what`), unit (the
/// label `unit_key`) and price year with what the total is.
fn preamble(
    ws: &mut Worksheet,
    f: &Formats,
    lang: Lang,
    input: &ReportInput,
    what: &str,
    unit_key: &str,
) -> Result<(), XlsxError> {
    let title = if input.title.is_empty() {
        label(lang, "title").to_string()
    } else {
        input.title.clone()
    };
    ws.write_string_with_format(0, 0, &*neutralize(&format!("{title} — {what}")), &f.title)?;
    ws.write_string(1, 0, label(lang, unit_key))?;
    ws.write_string(2, 0, &*neutralize(&price_year_line(lang, input)))?;
    Ok(())
}

/// `价格年份：2010；总值性质：…` (or "not valued").
fn price_year_line(lang: Lang, input: &ReportInput) -> String {
    let sep = if lang == Lang::Zh { "：" } else { ": " };
    let semi = if lang == Lang::Zh { "；" } else { "; " };
    match &input.run.totals {
        Some(t) => {
            let year = t
                .label
                .price_year
                .map(|y| y.to_string())
                .unwrap_or_else(|| label(lang, "unknown").to_string());
            let text = match lang {
                Lang::Zh => t.label.text_zh(),
                Lang::En => t.label.text_en(),
            };
            format!(
                "{}{sep}{year}{semi}{}{sep}{text}",
                label(lang, "price_year"),
                label(lang, "total_label")
            )
        }
        None => format!(
            "{}{sep}{}",
            label(lang, "price_year"),
            label(lang, "not_valued")
        ),
    }
}

/// Yuan → 万元.
fn wan(v: Option<f64>) -> Option<f64> {
    v.map(|v| v / WAN)
}

fn sum(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    values.fold(None, |acc, v| match v {
        Some(v) => Some(acc.unwrap_or(0.0) + v),
        None => acc,
    })
}

fn zone_sheet(
    ws: &mut Worksheet,
    f: &Formats,
    lang: Lang,
    input: &ReportInput,
    zones: &[&ReportZone],
    level: Level,
    names: &ZoneDirectory,
) -> Result<(), XlsxError> {
    let totals = input.run.totals.as_ref();
    let kind = totals.map(|t| t.label.kind);
    let sheet_key = match level {
        Level::County => "counties",
        Level::Township => "townships",
        Level::Village => "villages",
    };
    preamble(ws, f, lang, input, label(lang, sheet_key), "unit_zones")?;
    // An ESV's supporting services, shown apart, and its final-services subtotal: two columns
    // after the others (the columns of a GEP run are unchanged).
    let esv = kind == Some(gep_core::TotalKind::Esv);
    let with_parent = level != Level::County;
    let with_township = level == Level::Village;
    let mut headers = vec!["zone_id", "name"];
    let mut widths = vec![15.0, 18.0];
    if with_parent {
        headers.extend(["parent_id", "county_name"]);
        widths.extend([15.0, 16.0]);
    }
    if with_township {
        headers.push("township_name");
        widths.push(16.0);
    }
    let c0 = headers.len() as u16;
    headers.extend([
        "area_ha",
        "gep_wan",
        "material_wan",
        "regulating_wan",
        "cultural_wan",
        "gep_per_ha",
    ]);
    widths.extend([14.0, 18.0, 18.0, 18.0, 18.0, 16.0]);
    if esv {
        headers.extend(["supporting_wan", "final_wan"]);
        widths.extend([20.0, 20.0]);
    }
    let final_of = |z: &ReportZone| match (z.material_yuan, z.regulating_yuan, z.cultural_yuan) {
        (Some(m), Some(r), Some(c)) => Some(m + r + c),
        _ => None,
    };
    let rows = zones.iter().map(|z| {
        let ctx = names.get(&z.id);
        let mut row = vec![Cell::Text(&z.id), Cell::Text(&z.name)];
        if with_parent {
            row.push(Cell::Text(z.parent.as_deref().unwrap_or("")));
            row.push(Cell::Text(&ctx.county_name));
        }
        if with_township {
            row.push(Cell::Text(&ctx.township_name));
        }
        row.extend([
            Cell::Num(Some(z.area_ha), &f.area),
            Cell::Num(wan(z.gep_yuan), &f.yuan),
            Cell::Num(wan(z.material_yuan), &f.yuan),
            Cell::Num(wan(z.regulating_yuan), &f.yuan),
            Cell::Num(wan(z.cultural_yuan), &f.yuan),
            Cell::Num(z.gep_per_ha(), &f.yuan),
        ]);
        if esv {
            row.extend([
                Cell::Num(wan(z.supporting_yuan), &f.yuan),
                Cell::Num(wan(final_of(z)), &f.yuan),
            ]);
        }
        row
    });
    let last = write_table(ws, f, lang, kind, &headers, &widths, rows)?;
    // Static total row in 亿元 (no formula: the figure is the engine's own sum).
    let r = last + 1;
    ws.write_string_with_format(r, 1, label(lang, "total_yi"), &f.bold)?;
    let area: f64 = zones.iter().map(|z| z.area_ha).sum();
    ws.write_number_with_format(r, c0, area, &f.area)?;
    let cols: [fn(&ReportZone) -> Option<f64>; 4] = [
        |z| z.gep_yuan,
        |z| z.material_yuan,
        |z| z.regulating_yuan,
        |z| z.cultural_yuan,
    ];
    for (i, get) in cols.iter().enumerate() {
        if let Some(v) = sum(zones.iter().map(|z| get(z))) {
            ws.write_number_with_format(r, c0 + 1 + i as u16, v / YI, &f.yi)?;
        }
    }
    if let Some(g) = sum(zones.iter().map(|z| z.gep_yuan)) {
        if area > 0.0 {
            // A density, in 元/公顷 like the zones' column.
            ws.write_number_with_format(r, c0 + 5, g / area, &f.yuan)?;
        }
    }
    if esv {
        if let Some(v) = sum(zones.iter().map(|z| z.supporting_yuan)) {
            ws.write_number_with_format(r, c0 + 6, v / YI, &f.yi)?;
        }
        if let Some(v) = sum(zones.iter().map(|z| final_of(z))) {
            ws.write_number_with_format(r, c0 + 7, v / YI, &f.yi)?;
        }
    }
    // The label rows under the total: what the totals are (GEP or ESV, partial, price year)
    // and what they rest on.
    if let Some(t) = totals {
        let text = match lang {
            Lang::Zh => t.label.text_zh(),
            Lang::En => t.label.text_en(),
        };
        ws.write_string_with_format(r + 2, 0, label(lang, "total_label"), &f.bold)?;
        ws.write_string_with_format(r + 2, 1, &*neutralize(&text), &f.bold)?;
        let basis = match lang {
            Lang::Zh => t.basis.text_zh(),
            Lang::En => t.basis.text_en(),
        };
        ws.write_string_with_format(r + 3, 0, label(lang, "value_basis"), &f.bold)?;
        ws.write_string(r + 3, 1, &*neutralize(&basis))?;
    }
    Ok(())
}

fn build(input: &ReportInput, lang: Lang) -> Result<Workbook, XlsxError> {
    let f = Formats::new();
    let names = ZoneDirectory::new(
        input
            .zones
            .iter()
            .map(|z| (z.id.as_str(), z.name.as_str(), z.level, z.parent.as_deref())),
    );
    let mut wb = Workbook::new();
    let levels: Vec<(Level, &str)> = vec![
        (Level::County, "counties"),
        (Level::Township, "townships"),
        (Level::Village, "villages"),
    ];
    for (level, sheet) in levels {
        let zones: Vec<&ReportZone> = input.level(level).collect();
        if zones.is_empty() && level != Level::County {
            continue;
        }
        let ws = wb.add_worksheet_with_constant_memory().set_name(sheet)?;
        zone_sheet(ws, &f, lang, input, &zones, level, &names)?;
    }

    if !input.run.failures.is_empty() {
        // The units that are not in the results, right after the zone sheets.
        let ws = wb
            .add_worksheet_with_constant_memory()
            .set_name("failures")?;
        preamble(
            ws,
            &f,
            lang,
            input,
            label(lang, "failed_units"),
            "unit_none",
        )?;
        let headers = ["zone_id", "name", "level", "reason"];
        let widths = [15.0, 16.0, 10.0, 100.0];
        let rows = input.run.failures.iter().map(|u| {
            vec![
                Cell::Text(&u.id),
                Cell::Text(&u.name),
                Cell::Text(label(lang, &u.level)),
                Cell::Text(u.reason_in(lang)),
            ]
        });
        write_table(ws, &f, lang, None, &headers, &widths, rows)?;
    }

    services_sheet(
        wb.add_worksheet_with_constant_memory()
            .set_name("services")?,
        &f,
        lang,
        input,
        &names,
    )?;
    if !input.extent_types.is_empty() {
        extent_sheet(
            wb.add_worksheet_with_constant_memory()
                .set_name("extent_types")?,
            &f,
            lang,
            input,
            &names,
        )?;
    }
    if !input.sensitivity.is_empty() {
        sensitivity_sheet(
            wb.add_worksheet_with_constant_memory()
                .set_name("sensitivity")?,
            &f,
            lang,
            input,
        )?;
    }

    let ws = wb.add_worksheet_with_constant_memory().set_name("checks")?;
    preamble(ws, &f, lang, input, label(lang, "checks"), "unit_m2")?;
    let headers = [
        "parent_id",
        "level",
        "kind",
        "class",
        "parent_area_m2",
        "residual_m2",
        "relative",
    ];
    let widths = [15.0, 10.0, 10.0, 8.0, 20.0, 18.0, 12.0];
    let rows = input.checks.iter().map(|c| {
        let rel = (c.parent_area_m2 != 0.0).then(|| c.residual_m2 / c.parent_area_m2);
        vec![
            Cell::Text(&c.parent_id),
            Cell::Text(c.level.as_str()),
            Cell::Text(&c.kind),
            Cell::Num(c.class.map(f64::from), &f.text),
            Cell::Num(Some(c.parent_area_m2), &f.m2),
            Cell::Num(Some(c.residual_m2), &f.m2),
            Cell::Num(rel, &f.m2),
        ]
    });
    write_table(ws, &f, lang, None, &headers, &widths, rows)?;

    run_sheet(
        wb.add_worksheet_with_constant_memory().set_name("run")?,
        &f,
        input,
        lang,
    )?;
    Ok(wb)
}

/// Zone × service, wide: one row per zone (every level, in the input's order) with its county
/// and township names, and one value column per service in the standard's order (万元/a,
/// summed over ecosystem types), as `accounts_wide.csv` (in 元); then one
/// quantity column per service that has physical quantities, and the zone's GEP. The long
/// table (zone × ecosystem type × service, with method and source) is `accounts.csv`: in a
/// sheet it would be 11 rows per zone, which is neither what a reader pivots to nor cheap to
/// write for 7,500 villages.
fn services_sheet(
    ws: &mut Worksheet,
    f: &Formats,
    lang: Lang,
    input: &ReportInput,
    names: &ZoneDirectory,
) -> Result<(), XlsxError> {
    preamble(
        ws,
        f,
        lang,
        input,
        label(lang, "sheet_services"),
        "unit_services",
    )?;
    let pivot = ServicePivot::new(&input.services);
    let name = |s: &ServiceTotal| {
        if lang == Lang::Zh {
            s.service_zh.clone()
        } else {
            s.service_en.clone()
        }
    };
    let titles: Vec<String> = pivot
        .columns
        .iter()
        .map(|s| format!("{} ({})", name(s), s.service))
        .collect();
    // A service has a quantity column when any of its rows has a quantity (one unit per
    // service: the coefficient set guarantees it).
    let unit_of = |k: usize| {
        input
            .services
            .iter()
            .find(|s| s.service == pivot.columns[k].service && s.quantity.is_some())
            .map(|s| s.quantity_unit.as_str())
    };
    let with_qty: Vec<(usize, &str)> = (0..pivot.columns.len())
        .filter_map(|k| unit_of(k).map(|u| (k, u)))
        .collect();
    let qty_titles: Vec<String> = with_qty
        .iter()
        .map(|&(k, unit)| {
            format!(
                "{} ({}) [{unit}]",
                label(lang, "quantity"),
                pivot.columns[k].service
            )
        })
        .collect();
    let mut headers: Vec<&str> = vec!["zone_id", "level", "name", "county_name", "township_name"];
    headers.extend(titles.iter().map(String::as_str));
    headers.extend(qty_titles.iter().map(String::as_str));
    headers.push("gep_wan");
    let mut widths = vec![15.0, 10.0, 18.0, 16.0, 16.0];
    widths.resize(headers.len(), 18.0);
    let rows = input.zones.iter().map(|z| {
        let vals = pivot.row(&z.id);
        let ctx = names.get(&z.id);
        let mut row = vec![
            Cell::Text(&z.id),
            Cell::Text(label(lang, z.level.as_str())),
            Cell::Text(&z.name),
            Cell::Text(&ctx.county_name),
            Cell::Text(&ctx.township_name),
        ];
        row.extend(vals.iter().map(|v| Cell::Num(wan(v.0), &f.yuan)));
        row.extend(with_qty.iter().map(|&(k, _)| Cell::Num(vals[k].1, &f.yuan)));
        row.push(Cell::Num(wan(z.gep_yuan), &f.yuan));
        row
    });
    let kind = input.run.totals.as_ref().map(|t| t.label.kind);
    write_table(ws, f, lang, kind, &headers, &widths, rows)?;
    Ok(())
}

/// Zone × ecosystem type areas with the types' code, Chinese and English names (both
/// languages whatever the [`Lang`]: the names are what a reviewer matches with the standard).
fn extent_sheet(
    ws: &mut Worksheet,
    f: &Formats,
    lang: Lang,
    input: &ReportInput,
    names: &ZoneDirectory,
) -> Result<(), XlsxError> {
    preamble(ws, f, lang, input, label(lang, "extent_types"), "unit_ha")?;
    let level: std::collections::HashMap<&str, Level> = input
        .zones
        .iter()
        .map(|z| (z.id.as_str(), z.level))
        .collect();
    let headers = [
        "zone_id",
        "level",
        "name",
        "county_name",
        "township_name",
        "ecosystem_type",
        "ecosystem_type_zh",
        "ecosystem_type_en",
        "area_ha",
    ];
    let widths = [15.0, 10.0, 18.0, 16.0, 16.0, 24.0, 16.0, 30.0, 14.0];
    let rows = input.extent_types.iter().map(|e| {
        let ctx = names.get(&e.zone_id);
        vec![
            Cell::Text(&e.zone_id),
            Cell::Text(
                level
                    .get(e.zone_id.as_str())
                    .map_or("", |l| label(lang, l.as_str())),
            ),
            Cell::Text(&ctx.name),
            Cell::Text(&ctx.county_name),
            Cell::Text(&ctx.township_name),
            Cell::Text(&e.ecosystem_type),
            Cell::Text(&e.ecosystem_type_zh),
            Cell::Text(&e.ecosystem_type_en),
            Cell::Num(Some(e.area_ha), &f.area),
        ]
    });
    write_table(ws, f, lang, None, &headers, &widths, rows)?;
    Ok(())
}

/// The total of all top-level zones with each key parameter at its low and high value, in
/// 亿元, with the relative changes.
fn sensitivity_sheet(
    ws: &mut Worksheet,
    f: &Formats,
    lang: Lang,
    input: &ReportInput,
) -> Result<(), XlsxError> {
    preamble(
        ws,
        f,
        lang,
        input,
        label(lang, "sensitivity"),
        "unit_sensitivity",
    )?;
    let kind = input.run.totals.as_ref().map(|t| t.label.kind);
    let cat = gep_core::catalog::Catalog::builtin();
    let service_name = |code: &str| {
        let name = cat.service(code).map_or(code, |s| {
            if lang == Lang::Zh {
                s.zh.as_str()
            } else {
                s.en.as_str()
            }
        });
        format!("{name} ({code})")
    };
    let mut lines: Vec<&crate::model::SensitivityLine> = input.sensitivity.iter().collect();
    lines.sort_by_key(|l| cat.service_order(&l.service));
    let services: Vec<String> = lines.iter().map(|l| service_name(&l.service)).collect();
    let headers = [
        "service",
        "parameter",
        "unit",
        "value_in_run",
        "low",
        "high",
        "gep_yi",
        "sensitivity_low_yi",
        "sensitivity_high_yi",
        "change_low",
        "change_high",
    ];
    let widths = [
        28.0, 22.0, 10.0, 12.0, 12.0, 12.0, 16.0, 18.0, 18.0, 12.0, 12.0,
    ];
    let pct = Format::new().set_num_format("0.00%");
    let rel = |v: f64, base: f64| (base != 0.0).then(|| v / base - 1.0);
    let rows = lines.iter().zip(&services).map(|(l, name)| {
        vec![
            Cell::Text(name),
            Cell::Text(&l.parameter),
            Cell::Text(&l.unit),
            Cell::Num(Some(l.value), &f.m2),
            Cell::Num(Some(l.low), &f.m2),
            Cell::Num(Some(l.high), &f.m2),
            Cell::Num(Some(l.gep_yuan / YI), &f.yi),
            Cell::Num(Some(l.gep_low_yuan / YI), &f.yi),
            Cell::Num(Some(l.gep_high_yuan / YI), &f.yi),
            Cell::Num(rel(l.gep_low_yuan, l.gep_yuan), &pct),
            Cell::Num(rel(l.gep_high_yuan, l.gep_yuan), &pct),
        ]
    });
    let last = write_table(ws, f, lang, kind, &headers, &widths, rows)?;
    ws.write_string(last + 2, 0, label(lang, "sensitivity_note"))?;
    Ok(())
}

fn run_sheet(
    ws: &mut Worksheet,
    f: &Formats,
    input: &ReportInput,
    lang: Lang,
) -> Result<(), XlsxError> {
    let run = &input.run;
    ws.set_column_width(0, 22.0)?;
    ws.set_column_width(1, 70.0)?;
    for c in 2..6 {
        ws.set_column_width(c, 16.0)?;
    }
    preamble(ws, f, lang, input, label(lang, "run"), "unit_none")?;
    let mut r = HEADER_ROW;
    let mut kv = |ws: &mut Worksheet, key: &str, value: &str| -> Result<(), XlsxError> {
        ws.write_string_with_format(r, 0, label(lang, key), &f.bold)?;
        let value: String = value.chars().take(MAX_CELL_CHARS - 1).collect();
        ws.write_string(r, 1, &*neutralize(&value))?;
        r += 1;
        Ok(())
    };
    let id_hash = |h: &Option<crate::model::IdHash>| {
        h.as_ref()
            .map(|h| format!("{} (sha256 {})", h.id, h.sha256))
            .unwrap_or_default()
    };
    kv(ws, "engine_version", &run.engine_version)?;
    kv(ws, "commit", run.commit.as_deref().unwrap_or(""))?;
    kv(ws, "command", &run.command.join(" "))?;
    kv(
        ws,
        "year",
        &run.year.map(|y| y.to_string()).unwrap_or_default(),
    )?;
    kv(ws, "area_basis", &run.area_basis)?;
    kv(ws, "coefficient_set", &id_hash(&run.coefficient_set))?;
    kv(ws, "crosswalk", &id_hash(&run.crosswalk))?;
    if let Some(t) = &run.totals {
        kv(ws, "total_kind", t.label.kind.as_str())?;
        let text = match lang {
            Lang::Zh => t.label.text_zh(),
            Lang::En => t.label.text_en(),
        };
        kv(ws, "total_label", &text)?;
        kv(ws, "missing_services", &t.label.missing_services.join(", "))?;
        kv(
            ws,
            "price_year",
            &t.label
                .price_year
                .map(|y| y.to_string())
                .unwrap_or_default(),
        )?;
        kv(ws, "price_basis", &t.label.price_basis)?;
        let basis = match lang {
            Lang::Zh => t.basis.text_zh(),
            Lang::En => t.basis.text_en(),
        };
        kv(ws, "value_basis", &basis)?;
    }
    for w in run.warnings_in(lang) {
        kv(ws, "warnings", w)?;
    }
    kv(ws, "config", &run.config_text)?;
    r += 1;
    let heads = ["role", "path", "sha256", "size_bytes", "crs", "resolution"];
    for (c, h) in heads.iter().enumerate() {
        let text = if *h == "sha256" {
            "SHA-256"
        } else {
            label(lang, h)
        };
        ws.write_string_with_format(r, c as u16, text, &f.header)?;
    }
    for i in &run.inputs {
        r += 1;
        ws.write_string(r, 0, &*neutralize(&i.role))?;
        ws.write_string(r, 1, &*neutralize(&i.path))?;
        ws.write_string(r, 2, &i.sha256)?;
        ws.write_number(r, 3, i.size_bytes as f64)?;
        ws.write_string(r, 4, &*neutralize(i.crs.as_deref().unwrap_or("")))?;
        if let Some([x, y]) = i.resolution {
            ws.write_string(r, 5, format!("{x} × {y}"))?;
        }
    }
    r += 2;
    ws.write_string_with_format(r, 0, label(lang, "step"), &f.header)?;
    ws.write_string_with_format(r, 1, label(lang, "seconds"), &f.header)?;
    for t in &run.timings {
        r += 1;
        ws.write_string(r, 0, &*neutralize(&t.step))?;
        ws.write_number(r, 1, t.seconds)?;
    }
    Ok(())
}

/// Writes the workbook to `path` (sheets `counties`, `townships` and `villages` when present,
/// `failures` when units failed, `services`, `extent_types` with a crosswalk, `sensitivity`
/// when the run has sensitivity lines, `checks`, `run`), headers in `lang`, each sheet under
/// its title, unit and price-year rows.
pub fn write_workbook(path: &Path, input: &ReportInput, lang: Lang) -> Result<(), ReportError> {
    let xerr = |source| ReportError::Xlsx {
        path: path.to_path_buf(),
        source,
    };
    let mut wb = build(input, lang).map_err(xerr)?;
    wb.save(path).map_err(xerr)
}
