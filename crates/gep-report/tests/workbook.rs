//! The workbook in bureau form (issue 15), read back with calamine: title, unit and
//! price-year rows above every table; zones' money in 万元 and totals in 亿元 (checked against
//! yuan converted by hand here); ids as text; county and township names beside each zone;
//! services in the standard's order whatever the input's; the ecosystem extent and
//! sensitivity sheets.

use calamine::{open_workbook, Data, Range, Reader, Xlsx};
use geo_types::MultiPolygon;
use gep_core::{Category, Level};
use gep_report::*;

fn zone(id: &str, name: &str, level: Level, parent: Option<&str>, gep: f64) -> ReportZone {
    ReportZone {
        id: id.into(),
        name: name.into(),
        level,
        parent: parent.map(Into::into),
        geometry: MultiPolygon(vec![]),
        area_ha: 100.0,
        gep_yuan: Some(gep),
        material_yuan: Some(gep * 0.25),
        regulating_yuan: Some(gep * 0.5),
        cultural_yuan: Some(gep * 0.25),
        supporting_yuan: Some(0.0),
    }
}

fn service(zone_id: &str, code: &str, category: Category, value: f64) -> ServiceTotal {
    ServiceTotal {
        zone_id: zone_id.into(),
        service: code.into(),
        service_zh: code.into(),
        service_en: code.into(),
        category,
        value_yuan: Some(value),
        quantity: None,
        quantity_unit: String::new(),
    }
}

/// One county (GEP 1,234,567,890 元), one township, two villages; services listed in an
/// order that is neither the standard's nor alphabetical.
fn input() -> ReportInput {
    let zones = vec![
        zone("331125", "云和县", Level::County, None, 1_234_567_890.0),
        zone(
            "331125100",
            "云和镇",
            Level::Township,
            Some("331125"),
            1_234_567_890.0,
        ),
        zone(
            "331125100001",
            "城东村",
            Level::Village,
            Some("331125100"),
            1_000_000_000.0,
        ),
        zone(
            "331125100002",
            "城西村",
            Level::Village,
            Some("331125100"),
            234_567_890.0,
        ),
    ];
    let mut services = Vec::new();
    for z in &zones {
        let g = z.gep_yuan.unwrap();
        services.push(service(&z.id, "recreation", Category::Cultural, g * 0.25));
        services.push(service(
            &z.id,
            "climate_regulation",
            Category::Regulating,
            g * 0.2,
        ));
        services.push(service(
            &z.id,
            "agriculture_products",
            Category::Material,
            g * 0.25,
        ));
        services.push(service(
            &z.id,
            "water_conservation",
            Category::Regulating,
            g * 0.3,
        ));
    }
    let set = gep_core::CoefficientSet::builtin("zj-db33-2274-profile").unwrap();
    let label = gep_core::TotalLabel::new(&set, &Default::default());
    let run = RunInfo {
        engine_version: "0.1.0".into(),
        area_basis: "planar".into(),
        year: Some(2019),
        totals: Some(TotalsInfo {
            label_text: label.text_en(),
            label,
            total_yuan: 1_234_567_890.0,
            final_yuan: 1_234_567_890.0,
            supporting_yuan: 0.0,
            basis: Default::default(),
            flagged_share: 0.0,
        }),
        ..Default::default()
    };
    ReportInput {
        title: "GEP 2019 · 云和县".into(),
        zones,
        services,
        checks: Vec::new(),
        run,
        sensitivity: vec![SensitivityLine {
            service: "climate_regulation".into(),
            parameter: "hot_days".into(),
            unit: "d".into(),
            value: 60.0,
            low: 40.0,
            high: 80.0,
            gep_yuan: 1_234_567_890.0,
            gep_low_yuan: 1_000_000_000.0,
            gep_high_yuan: 1_500_000_000.0,
        }],
        extent_types: vec![ExtentTypeLine {
            zone_id: "331125100001".into(),
            ecosystem_type: "paddy".into(),
            ecosystem_type_zh: "水田".into(),
            ecosystem_type_en: "paddy field".into(),
            area_ha: 12.5,
        }],
    }
}

fn sheet(path: &std::path::Path, name: &str) -> Range<Data> {
    let mut wb: Xlsx<_> = open_workbook(path).unwrap();
    wb.worksheet_range(name).unwrap()
}

fn text(r: &Range<Data>, row: u32, col: u32) -> String {
    match r.get_value((row, col)) {
        Some(Data::String(s)) => s.clone(),
        other => panic!("({row}, {col}) is not text: {other:?}"),
    }
}

fn number(r: &Range<Data>, row: u32, col: u32) -> f64 {
    match r.get_value((row, col)) {
        Some(Data::Float(v)) => *v,
        Some(Data::Int(v)) => *v as f64,
        other => panic!("({row}, {col}) is not a number: {other:?}"),
    }
}

/// The column whose header (row 3) is `header`.
fn col(r: &Range<Data>, header: &str) -> u32 {
    (0..r.width() as u32)
        .find(|&c| matches!(r.get_value((3, c)), Some(Data::String(s)) if s == header))
        .unwrap_or_else(|| panic!("no column {header:?}"))
}

/// The row whose first cell is the text `id`.
fn row_of(r: &Range<Data>, id: &str) -> u32 {
    (0..r.height() as u32)
        .find(|&i| matches!(r.get_value((i, 0)), Some(Data::String(s)) if s == id))
        .unwrap_or_else(|| panic!("no row {id:?}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

#[test]
fn zone_sheets_are_in_wan_yuan_with_totals_in_yi_yuan_under_title_unit_and_price_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("gep.xlsx");
    write_workbook(&p, &input(), Lang::Zh).unwrap();
    let c = sheet(&p, "counties");
    // Title, unit, price-year rows, then the headers.
    assert!(
        text(&c, 0, 0).starts_with("GEP 2019 · 云和县"),
        "{}",
        text(&c, 0, 0)
    );
    assert!(text(&c, 1, 0).contains("万元") && text(&c, 1, 0).contains("亿元"));
    let price = text(&c, 2, 0);
    assert!(
        price.contains("价格年份") && price.contains("2010"),
        "{price}"
    );
    assert!(price.contains("GEP"), "{price}");
    assert_eq!(text(&c, 3, 0), "代码");
    // 1,234,567,890 元 = 123,456.789 万元 (by hand).
    let gep = col(&c, "GEP（万元）");
    let r = row_of(&c, "331125");
    assert!(
        close(number(&c, r, gep), 123_456.789),
        "{}",
        number(&c, r, gep)
    );
    let reg = col(&c, "调节服务（万元）");
    assert!(close(number(&c, r, reg), 61_728.394_5));
    // The total row, in 亿元: 12.3456789.
    let total = (0..c.height() as u32)
        .find(|&i| matches!(c.get_value((i, 1)), Some(Data::String(s)) if s == "合计（亿元）"))
        .expect("a total row");
    assert!(close(number(&c, total, gep), 12.345_678_9));

    // Villages: text ids, names of the county and the township.
    let v = sheet(&p, "villages");
    let r = row_of(&v, "331125100002");
    assert_eq!(text(&v, r, col(&v, "名称")), "城西村");
    assert_eq!(text(&v, r, col(&v, "所属县（市、区）")), "云和县");
    assert_eq!(text(&v, r, col(&v, "所属乡镇（街道）")), "云和镇");
    // 234,567,890 元 = 23,456.789 万元.
    assert!(close(number(&v, r, col(&v, "GEP（万元）")), 23_456.789));
    // Σ villages = 1,234,567,890 元 = 12.3456789 亿元.
    let total = (0..v.height() as u32)
        .find(|&i| matches!(v.get_value((i, 1)), Some(Data::String(s)) if s == "合计（亿元）"))
        .unwrap();
    assert!(close(
        number(&v, total, col(&v, "GEP（万元）")),
        12.345_678_9
    ));
}

#[test]
fn services_come_in_the_standards_order_in_wan_yuan() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("gep.xlsx");
    write_workbook(&p, &input(), Lang::En).unwrap();
    let s = sheet(&p, "services");
    let headers: Vec<String> = (0..s.width() as u32)
        .filter_map(|c| match s.get_value((3, c)) {
            Some(Data::String(h)) => Some(h.clone()),
            _ => None,
        })
        .collect();
    let pos = |code: &str| {
        headers
            .iter()
            .position(|h| h.ends_with(&format!("({code})")))
            .unwrap_or_else(|| panic!("{code} not in {headers:?}"))
    };
    // DB33/T 2274 order: material, water conservation, climate regulation, recreation.
    assert!(pos("agriculture_products") < pos("water_conservation"));
    assert!(pos("water_conservation") < pos("climate_regulation"));
    assert!(pos("climate_regulation") < pos("recreation"));
    let r = row_of(&s, "331125100001");
    // 0.3 × 1e9 元 = 30,000 万元.
    assert!(close(
        number(&s, r, pos("water_conservation") as u32),
        30_000.0
    ));
    assert_eq!(text(&s, r, col(&s, "County")), "云和县");
    assert_eq!(text(&s, r, col(&s, "Township")), "云和镇");
}

#[test]
fn sensitivity_and_extent_sheets() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("gep.xlsx");
    write_workbook(&p, &input(), Lang::Zh).unwrap();
    let s = sheet(&p, "sensitivity");
    assert!(text(&s, 1, 0).contains("亿元"));
    let r = 4;
    assert!(text(&s, r, 0).contains("climate_regulation"));
    // 1,000,000,000 元 = 10 亿元; 1,500,000,000 元 = 15 亿元.
    assert!(close(number(&s, r, col(&s, "下限时总值（亿元）")), 10.0));
    assert!(close(number(&s, r, col(&s, "上限时总值（亿元）")), 15.0));
    assert!(close(
        number(&s, r, col(&s, "上限时变化")),
        1.5e9 / 1_234_567_890.0 - 1.0
    ));

    let e = sheet(&p, "extent_types");
    let r = row_of(&e, "331125100001");
    assert_eq!(text(&e, r, col(&e, "生态系统类型代码")), "paddy");
    assert_eq!(text(&e, r, col(&e, "中文名")), "水田");
    assert_eq!(text(&e, r, col(&e, "英文名")), "paddy field");
    assert_eq!(text(&e, r, col(&e, "所属县（市、区）")), "云和县");
    assert!(close(number(&e, r, col(&e, "面积（公顷）")), 12.5));

    // No sensitivity sheet when the run has none.
    let mut i = input();
    i.sensitivity.clear();
    i.extent_types.clear();
    let q = tmp.path().join("q.xlsx");
    write_workbook(&q, &i, Lang::Zh).unwrap();
    let wb: Xlsx<_> = open_workbook(&q).unwrap();
    let names = wb.sheet_names();
    assert!(
        !names
            .iter()
            .any(|n| n == "sensitivity" || n == "extent_types"),
        "{names:?}"
    );
}

#[test]
fn zone_directory_follows_parents() {
    let d = ZoneDirectory::new([
        ("1", "县", Level::County, None),
        ("1001", "镇", Level::Township, Some("1")),
        ("1001001", "村", Level::Village, Some("1001")),
        ("1999001", "直属村", Level::Village, Some("1")),
    ]);
    let v = d.get("1001001");
    assert_eq!(
        (
            v.name.as_str(),
            v.county_name.as_str(),
            v.township_name.as_str()
        ),
        ("村", "县", "镇")
    );
    assert_eq!(d.get("1999001").township_id, "");
    assert_eq!(d.get("1999001").county_id, "1");
    assert_eq!(d.get("1").county_name, "县");
    assert_eq!(d.get("missing"), &ZoneContext::default());
}
