//! The XLSX workbook: summary by county, townships, villages, services (zone × service, wide),
//! checks and run information, written with `rust_xlsxwriter`.
//!
//! Every id is a **string** cell (administrative codes keep their leading zeros and never turn
//! into 3.30127E+11); every free text goes through [`neutralize`]; no cell is a formula (totals
//! are computed here, so the numbers are the engine's, not the spreadsheet's). Sheet names are
//! stable English words for scripts (`pandas.read_excel(sheet_name="villages")`); column headers
//! follow the [`Lang`].

use crate::error::ReportError;
use crate::i18n::{label, label_for, Lang};
use crate::model::{ReportInput, ReportZone, ServicePivot, ServiceTotal};
use crate::neutralize::neutralize;
use gep_core::Level;
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use std::path::Path;

/// Excel's limit on the characters of one cell.
const MAX_CELL_CHARS: usize = 32_767;

struct Formats {
    header: Format,
    yuan: Format,
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
            yuan: Format::new().set_num_format("#,##0.00"),
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
        ws.write_string_with_format(0, c, label_for(lang, kind, h), &f.header)?;
        ws.set_column_width(c, widths.get(c as usize).copied().unwrap_or(14.0))?;
    }
    let mut r = 0u32;
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
    ws.set_freeze_panes(1, 0)?;
    if !headers.is_empty() {
        ws.autofilter(0, 0, r.max(1), headers.len() as u16 - 1)?;
    }
    Ok(r)
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
    with_parent: bool,
) -> Result<(), XlsxError> {
    let totals = input.run.totals.as_ref();
    let kind = totals.map(|t| t.label.kind);
    // An ESV's supporting services, shown apart, and its final-services subtotal: two columns
    // after the others (the columns of a GEP run are unchanged).
    let esv = kind == Some(gep_core::TotalKind::Esv);
    let mut headers = vec!["zone_id", "name"];
    let mut widths = vec![15.0, 18.0];
    if with_parent {
        headers.push("parent_id");
        widths.push(15.0);
    }
    headers.extend([
        "area_ha",
        "gep_yuan",
        "material_yuan",
        "regulating_yuan",
        "cultural_yuan",
        "gep_per_ha",
    ]);
    widths.extend([14.0, 20.0, 18.0, 18.0, 18.0, 16.0]);
    if esv {
        headers.extend(["supporting_yuan", "final_yuan"]);
        widths.extend([20.0, 20.0]);
    }
    let final_of = |z: &ReportZone| match (z.material_yuan, z.regulating_yuan, z.cultural_yuan) {
        (Some(m), Some(r), Some(c)) => Some(m + r + c),
        _ => None,
    };
    let rows = zones.iter().map(|z| {
        let mut row = vec![Cell::Text(&z.id), Cell::Text(&z.name)];
        if with_parent {
            row.push(Cell::Text(z.parent.as_deref().unwrap_or("")));
        }
        row.extend([
            Cell::Num(Some(z.area_ha), &f.area),
            Cell::Num(z.gep_yuan, &f.yuan),
            Cell::Num(z.material_yuan, &f.yuan),
            Cell::Num(z.regulating_yuan, &f.yuan),
            Cell::Num(z.cultural_yuan, &f.yuan),
            Cell::Num(z.gep_per_ha(), &f.yuan),
        ]);
        if esv {
            row.extend([
                Cell::Num(z.supporting_yuan, &f.yuan),
                Cell::Num(final_of(z), &f.yuan),
            ]);
        }
        row
    });
    let last = write_table(ws, f, lang, kind, &headers, &widths, rows)?;
    // Static total row (no formula: the figure is the engine's own sum).
    let r = last + 1;
    let c0 = if with_parent { 3 } else { 2 };
    ws.write_string_with_format(r, 1, label(lang, "total"), &f.bold)?;
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
            ws.write_number_with_format(r, c0 + 1 + i as u16, v, &f.yuan)?;
        }
    }
    if let Some(g) = sum(zones.iter().map(|z| z.gep_yuan)) {
        if area > 0.0 {
            ws.write_number_with_format(r, c0 + 5, g / area, &f.yuan)?;
        }
    }
    if esv {
        if let Some(v) = sum(zones.iter().map(|z| z.supporting_yuan)) {
            ws.write_number_with_format(r, c0 + 6, v, &f.yuan)?;
        }
        if let Some(v) = sum(zones.iter().map(|z| final_of(z))) {
            ws.write_number_with_format(r, c0 + 7, v, &f.yuan)?;
        }
    }
    // The label rows under the total: what the totals are (GEP or ESV, partial, price year)
    // and what they rest on. Below the table, so that the header stays on the first row for
    // scripts (`pandas.read_excel(sheet_name=...)`).
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
        zone_sheet(ws, &f, lang, input, &zones, level != Level::County)?;
    }

    if !input.run.failures.is_empty() {
        // The units that are not in the results, right after the zone sheets.
        let ws = wb
            .add_worksheet_with_constant_memory()
            .set_name("failures")?;
        let headers = ["zone_id", "name", "level", "reason"];
        let widths = [15.0, 16.0, 10.0, 100.0];
        let rows = input.run.failures.iter().map(|u| {
            vec![
                Cell::Text(&u.id),
                Cell::Text(&u.name),
                Cell::Text(label(lang, &u.level)),
                Cell::Text(&u.reason),
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
    )?;

    let ws = wb.add_worksheet_with_constant_memory().set_name("checks")?;
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

/// Zone × service, wide: one row per zone (every level, in the input's order) and one value
/// column per service (元/a, summed over ecosystem types), as `accounts_wide.csv`; then one
/// quantity column per service that has physical quantities, and the zone's GEP. The long
/// table (zone × ecosystem type × service, with method and source) is `accounts.csv`: in a
/// sheet it would be 11 rows per zone, which is neither what a reader pivots to nor cheap to
/// write for 7,500 villages.
fn services_sheet(
    ws: &mut Worksheet,
    f: &Formats,
    lang: Lang,
    input: &ReportInput,
) -> Result<(), XlsxError> {
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
    let mut headers: Vec<&str> = vec!["zone_id", "level", "name"];
    headers.extend(titles.iter().map(String::as_str));
    headers.extend(qty_titles.iter().map(String::as_str));
    headers.push("gep_yuan");
    let mut widths = vec![15.0, 10.0, 18.0];
    widths.resize(headers.len(), 18.0);
    let rows = input.zones.iter().map(|z| {
        let vals = pivot.row(&z.id);
        let mut row = vec![
            Cell::Text(&z.id),
            Cell::Text(z.level.as_str()),
            Cell::Text(&z.name),
        ];
        row.extend(vals.iter().map(|v| Cell::Num(v.0, &f.yuan)));
        row.extend(with_qty.iter().map(|&(k, _)| Cell::Num(vals[k].1, &f.yuan)));
        row.push(Cell::Num(z.gep_yuan, &f.yuan));
        row
    });
    let kind = input.run.totals.as_ref().map(|t| t.label.kind);
    write_table(ws, f, lang, kind, &headers, &widths, rows)?;
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
    let mut r = 0u32;
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
    for w in &run.warnings {
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
/// `failures` when units failed, `services`, `checks`, `run`), headers in `lang`.
pub fn write_workbook(path: &Path, input: &ReportInput, lang: Lang) -> Result<(), ReportError> {
    let xerr = |source| ReportError::Xlsx {
        path: path.to_path_buf(),
        source,
    };
    let mut wb = build(input, lang).map_err(xerr)?;
    wb.save(path).map_err(xerr)
}
