//! Statistics-based services: parsing the yearbook table and allocating it to townships and
//! villages, checked against values worked out by hand.
//!
//! The fixture (`fixtures/statistics/two_counties.csv`, `village_shares.csv`; invented
//! numbers) has two counties:
//!
//! ```text
//! 339901 county A                          areas (ha)
//!   339901001 township A1
//!     339901001001  paddy 10, forest_conifer 40
//!     339901001002  dry_farmland 20, water 5
//!   339901002 township A2
//!     339901002001  orchard 30, forest_bamboo 25
//!     339901002002  forest 35, built_up 8
//!     339901002003  tea_garden 10, water 3
//! 339902 county B
//!   339902001 township B1
//!     339902001001  paddy 5, forest_evergreen_broadleaf 10
//!     339902001002  paddy 5, forest 20
//!   339902002 township B2
//!     339902002001  dry_farmland 10, built_up 4
//! ```

use gep_core::geo_types::MultiPolygon;
use gep_core::statistics::{allocate, Allocation, Fen, StatisticsTable, VillageShares, ZoneAreas};
use gep_core::{resolve_parents, CoreError, Level, SquareMeters, Zone};
use gep_core::{ExtentTable, StatisticsWarning};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/statistics")
        .join(name)
}

const VILLAGE_AREAS_HA: &[(&str, &[(&str, f64)])] = &[
    ("339901001001", &[("paddy", 10.0), ("forest_conifer", 40.0)]),
    ("339901001002", &[("dry_farmland", 20.0), ("water", 5.0)]),
    (
        "339901002001",
        &[("orchard", 30.0), ("forest_bamboo", 25.0)],
    ),
    ("339901002002", &[("forest", 35.0), ("built_up", 8.0)]),
    ("339901002003", &[("tea_garden", 10.0), ("water", 3.0)]),
    (
        "339902001001",
        &[("paddy", 5.0), ("forest_evergreen_broadleaf", 10.0)],
    ),
    ("339902001002", &[("paddy", 5.0), ("forest", 20.0)]),
    ("339902002001", &[("dry_farmland", 10.0), ("built_up", 4.0)]),
];

fn zones() -> Vec<Zone> {
    let g = MultiPolygon::<f64>(vec![]);
    let mut z = vec![
        Zone::new("339901", "A", Level::County, g.clone()),
        Zone::new("339902", "B", Level::County, g.clone()),
    ];
    for t in ["339901001", "339901002", "339902001", "339902002"] {
        z.push(Zone::new(t, t, Level::Township, g.clone()));
    }
    for (v, _) in VILLAGE_AREAS_HA {
        z.push(Zone::new(*v, *v, Level::Village, g.clone()));
    }
    resolve_parents(&mut z).unwrap();
    z
}

fn areas() -> ZoneAreas {
    let mut a = ZoneAreas::new();
    for (v, types) in VILLAGE_AREAS_HA {
        for (t, ha) in *types {
            a.insert(v, t, SquareMeters(ha * 10_000.0)).unwrap();
        }
    }
    // A township's own area is ignored (its key is the sum of its villages'): this would
    // move A1's agriculture if it were used.
    a.insert("339901001", "paddy", SquareMeters(1e7)).unwrap();
    a
}

fn run() -> Allocation {
    let table = StatisticsTable::from_file(&fixture("two_counties.csv")).unwrap();
    let shares = VillageShares::from_file(&fixture("village_shares.csv")).unwrap();
    allocate(&table, &zones(), &areas(), Some(&shares), 2020).unwrap()
}

/// The fen of `zone` × `service` (one row expected).
fn fen(out: &Allocation, zone: &str, service: &str) -> i128 {
    let rows: Vec<_> = out
        .rows
        .iter()
        .filter(|r| &*r.row.zone_id == zone && &*r.row.service == service)
        .collect();
    assert_eq!(rows.len(), 1, "{zone} {service}");
    rows[0].fen.0
}

fn quantity_micro(out: &Allocation, zone: &str, service: &str) -> u128 {
    out.rows
        .iter()
        .find(|r| &*r.row.zone_id == zone && &*r.row.service == service)
        .and_then(|r| r.quantity)
        .unwrap()
        .0
}

#[test]
fn agriculture_in_wan_yuan_by_cropland_area_by_hand() {
    let out = run();
    let s = "agriculture_products";
    // County A: 1234.5 万元 = 12,345,000 元 = 1,234,500,000 fen.
    assert_eq!(fen(&out, "339901", s), 1_234_500_000);
    // Cropland-type area (paddy, dry farmland, orchard, tea): A1 = 10 + 20 = 30 ha,
    // A2 = 30 + 0 + 10 = 40 ha (the township's own 1000 ha are ignored), total 70.
    // A1: 1,234,500,000 × 30/70 = 529,071,428 remainder 4/7
    // A2: 1,234,500,000 × 40/70 = 705,428,571 remainder 3/7
    // one fen left over → the larger remainder, A1.
    assert_eq!(fen(&out, "339901001", s), 529_071_429);
    assert_eq!(fen(&out, "339901002", s), 705_428_571);
    // A1's villages 10 : 20 ha: 529,071,429 / 3 = 176,357,143 exactly, and twice that.
    assert_eq!(fen(&out, "339901001001", s), 176_357_143);
    assert_eq!(fen(&out, "339901001002", s), 352_714_286);
    // A2's villages 30 : 0 : 10 ha of 40: 705,428,571 × 3/4 = 529,071,428 r 1/4,
    // 0, 705,428,571 / 4 = 176,357,142 r 3/4 → the left-over fen to the last village.
    assert_eq!(fen(&out, "339901002001", s), 529_071_428);
    assert_eq!(fen(&out, "339901002002", s), 0);
    assert_eq!(fen(&out, "339901002003", s), 176_357_143);
    // County B: 1000.01 元 = 100,001 fen over B1 = 5 + 5 = 10 ha, B2 = 10 ha: 50,000.5
    // each, a tie broken by zone id (339902001 < 339902002); then within B1 50,001 over two
    // equal villages: 25,000.5 each, the fen to the smaller id.
    assert_eq!(fen(&out, "339902", s), 100_001);
    assert_eq!(fen(&out, "339902001", s), 50_001);
    assert_eq!(fen(&out, "339902002", s), 50_000);
    assert_eq!(fen(&out, "339902001001", s), 25_001);
    assert_eq!(fen(&out, "339902001002", s), 25_000);
    assert_eq!(fen(&out, "339902002001", s), 50_000);
    // The f64 yuan is the fen's.
    let row = out
        .rows
        .iter()
        .find(|r| &*r.row.zone_id == "339901001001" && &*r.row.service == s)
        .unwrap();
    assert_eq!(row.row.value_yuan, Some(1_763_571.43));
    assert_eq!(row.fen.to_string(), "1763571.43");
    assert_eq!(
        &*row.row.flags,
        "allocated;key=area:cropland+orchard+tea_garden"
    );
    assert_eq!(&*row.row.ecosystem_type, "all");
    assert_eq!(row.row.price_year, Some(2020));
    assert_eq!(row.row.area_ha, 10.0);
    assert!(
        row.row.method.starts_with("statistics: 1234.5 万元 (fixture yearbook A 2021 table 1 (invented), price year 2020) allocated by area of cropland, orchard, tea_garden"),
        "{}",
        row.row.method
    );
    assert!(row
        .row
        .source
        .ends_with("two_counties.csv line 4: fixture yearbook A 2021 table 1 (invented)"));
}

#[test]
fn hydropower_kwh_times_price_by_village_shares_by_hand() {
    let out = run();
    let s = "hydropower";
    // 150 万kWh × 0.53 元/kWh = 1,500,000 kWh × 0.53 = 795,000 元 = 79,500,000 fen.
    assert_eq!(fen(&out, "339901", s), 79_500_000);
    // Shares 1 (A1's first village), 2 and 4 (A2's first and third): A1 = 1, A2 = 6 of 7.
    // A1: 79,500,000 / 7 = 11,357,142 r 6/7; A2: × 6/7 = 68,142,857 r 1/7 → A1 + 1.
    assert_eq!(fen(&out, "339901001", s), 11_357_143);
    assert_eq!(fen(&out, "339901002", s), 68_142_857);
    assert_eq!(fen(&out, "339901001001", s), 11_357_143);
    assert_eq!(fen(&out, "339901001002", s), 0);
    // A2: 68,142,857 × 2/6 = 22,714,285 r 4/6; × 4/6 = 45,428,571 r 2/6 → first + 1.
    assert_eq!(fen(&out, "339901002001", s), 22_714_286);
    assert_eq!(fen(&out, "339901002002", s), 0);
    assert_eq!(fen(&out, "339901002003", s), 45_428_571);
    // Quantity, in millionths of a kWh: 1,500,000 kWh = 1.5e12.
    // A1: 1.5e12 / 7 = 214,285,714,285 r 5/7; A2: 9e12 / 7 = 1,285,714,285,714 r 2/7 → A1 + 1.
    assert_eq!(quantity_micro(&out, "339901", s), 1_500_000_000_000);
    assert_eq!(quantity_micro(&out, "339901001", s), 214_285_714_286);
    assert_eq!(quantity_micro(&out, "339901002", s), 1_285_714_285_714);
    // A2's villages: × 2/6 = 428,571,428,571 r 2/6; × 4/6 = 857,142,857,142 r 4/6 → last + 1.
    assert_eq!(quantity_micro(&out, "339901002001", s), 428_571_428_571);
    assert_eq!(quantity_micro(&out, "339901002003", s), 857_142_857_143);
    let row = out
        .rows
        .iter()
        .find(|r| &*r.row.zone_id == "339901" && &*r.row.service == s)
        .unwrap();
    assert_eq!(row.row.quantity, Some(1_500_000.0));
    assert_eq!(row.row.quantity_unit.as_deref(), Some("kWh"));
    assert_eq!(row.row.unit_value, Some(0.53));
    assert_eq!(&*row.row.unit, "元/kWh");
    assert_eq!(&*row.row.flags, "statistics;key=shares:hydropower");
    // County B has no hydropower figure: a typed warning, not silence.
    assert!(out
        .warnings
        .contains(&StatisticsWarning::CountyWithoutStatistics {
            county_id: "339902".into(),
            service: "hydropower".into()
        }));
    // The shares row of a zone that is not loaded is reported.
    assert!(out.warnings.contains(&StatisticsWarning::ShareZoneUnknown {
        zone_id: "339999001001".into(),
        service: "hydropower".into(),
        line: 6
    }));
}

#[test]
fn tourism_by_forest_area_by_hand() {
    let out = run();
    let s = "recreation";
    // A: 12 万人次 × 150 元/人次 = 18,000,000 元 = 1,800,000,000 fen, by forest area (with
    // subtypes): A1 = 40 (conifer) + 0, A2 = 25 (bamboo) + 35 + 0 → 40 : 60.
    assert_eq!(fen(&out, "339901", s), 1_800_000_000);
    assert_eq!(fen(&out, "339901001", s), 720_000_000);
    assert_eq!(fen(&out, "339901002", s), 1_080_000_000);
    assert_eq!(fen(&out, "339901001001", s), 720_000_000);
    // 1,080,000,000 × 25/60 = 450,000,000; × 35/60 = 630,000,000.
    assert_eq!(fen(&out, "339901002001", s), 450_000_000);
    assert_eq!(fen(&out, "339901002002", s), 630_000_000);
    assert_eq!(fen(&out, "339901002003", s), 0);
    // Visits: 120,000 人次 split 40 : 25 : 35 → 48,000 / 30,000 / 42,000.
    assert_eq!(quantity_micro(&out, "339901001001", s), 48_000_000_000);
    assert_eq!(quantity_micro(&out, "339901002001", s), 30_000_000_000);
    assert_eq!(quantity_micro(&out, "339901002002", s), 42_000_000_000);
    // B: 0.35 亿元 = 35,000,000 元 = 3,500,000,000 fen; forest B1 = 10 + 20, B2 = 0.
    // Villages 10 : 20: 3.5e9 / 3 = 1,166,666,666 r 2/3; × 2/3 = 2,333,333,333 r 1/3.
    assert_eq!(fen(&out, "339902", s), 3_500_000_000);
    assert_eq!(fen(&out, "339902001", s), 3_500_000_000);
    assert_eq!(fen(&out, "339902002", s), 0);
    assert_eq!(fen(&out, "339902001001", s), 1_166_666_667);
    assert_eq!(fen(&out, "339902001002", s), 2_333_333_333);
    assert_eq!(fen(&out, "339902002001", s), 0);
    let row = out
        .rows
        .iter()
        .find(|r| &*r.row.zone_id == "339902001002" && &*r.row.service == s)
        .unwrap();
    assert_eq!(&*row.row.flags, "allocated;key=area:forest;item=revenue");
    assert_eq!(row.item.as_deref(), Some("revenue"));
    assert_eq!(row.row.quantity, None);
}

#[test]
fn conservation_is_exact_at_every_level() {
    let out = run();
    let zones = zones();
    let mut checked = 0;
    for parent in &zones {
        let kids: Vec<&Zone> = zones
            .iter()
            .filter(|z| z.parent.as_deref() == Some(parent.id.as_str()))
            .collect();
        if kids.is_empty() {
            continue;
        }
        for r in out.rows.iter().filter(|r| *r.row.zone_id == *parent.id) {
            let of_kids = |f: &dyn Fn(&gep_core::statistics::AllocatedRow) -> i128| -> i128 {
                out.rows
                    .iter()
                    .filter(|c| c.row.service == r.row.service && c.line == r.line)
                    .filter(|c| kids.iter().any(|k| *k.id == *c.row.zone_id))
                    .map(f)
                    .sum()
            };
            assert_eq!(
                of_kids(&|c| c.fen.0),
                r.fen.0,
                "{} {}",
                parent.id,
                r.row.service
            );
            if let Some(q) = r.quantity {
                assert_eq!(
                    of_kids(&|c| c.quantity.unwrap().0 as i128),
                    q.0 as i128,
                    "{} {}",
                    parent.id,
                    r.row.service
                );
            }
            checked += 1;
        }
    }
    // 3 + 2 county rows, 4 + 2 + ... township rows: every row of a zone with children.
    assert_eq!(checked, 5 + 3 * 2 + 2 * 2);
    // Every zone of a county with a figure has a row: 5 figures × their subtrees.
    assert_eq!(out.rows.len(), 3 * 8 + 2 * 6);
    let total: Fen = out
        .rows
        .iter()
        .filter(|r| r.row.zone_level == Level::Village)
        .map(|r| r.fen)
        .sum();
    assert_eq!(
        total.0,
        1_234_500_000 + 79_500_000 + 1_800_000_000 + 100_001 + 3_500_000_000
    );
}

#[test]
fn other_years_are_skipped_with_a_warning_and_a_missing_year_is_an_error() {
    let out = run();
    assert!(out.warnings.contains(&StatisticsWarning::OtherYears {
        years: vec![2019],
        rows: 1
    }));
    let table = StatisticsTable::from_file(&fixture("two_counties.csv")).unwrap();
    let e = allocate(&table, &zones(), &areas(), None, 2021).unwrap_err();
    match &e {
        CoreError::StatisticsYear {
            run_year,
            table_years,
            ..
        } => {
            assert_eq!(*run_year, 2021);
            assert_eq!(table_years, "2019, 2020");
        }
        other => panic!("{other}"),
    }
    let msg = e.to_string();
    assert!(msg.contains("2021") && msg.contains("2019, 2020"), "{msg}");
}

#[test]
fn zero_key_county_is_a_typed_warning_and_keeps_the_county_figure() {
    // County B has no water: its fishery cannot be allocated by water area.
    let csv = format!(
        "{HEADER}339902,2020,fishery_products,,50,万元,,,,,2020,fixture (invented),\n\
         339901,2020,fishery_products,,8,万元,,,,,2020,fixture (invented),\n"
    );
    let table = StatisticsTable::from_csv_str(&csv, "fish.csv").unwrap();
    let out = allocate(&table, &zones(), &areas(), None, 2020).unwrap();
    assert!(out.warnings.contains(&StatisticsWarning::ZeroKey {
        county_id: "339902".into(),
        service: "fishery_products".into(),
        item: None,
        key: "area:water".into(),
        fen: Fen(50_000_000),
        line: 2
    }));
    let b: Vec<_> = out
        .rows
        .iter()
        .filter(|r| r.row.zone_id.starts_with("339902"))
        .collect();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].fen, Fen(50_000_000));
    assert!(b[0].row.flags.contains("not_allocated"));
    // County A's water: 5 ha in A1, 3 ha in A2 → 80,000 元 = 8,000,000 fen × 5/8, 3/8.
    assert_eq!(fen(&out, "339901001", "fishery_products"), 5_000_000);
    assert_eq!(fen(&out, "339901002003", "fishery_products"), 3_000_000);
}

#[test]
fn county_not_in_zones_is_a_warning() {
    let csv =
        format!("{HEADER}339903,2020,forestry_products,,1,万元,,,,,2020,fixture (invented),\n");
    let table = StatisticsTable::from_csv_str(&csv, "s.csv").unwrap();
    let out = allocate(&table, &zones(), &areas(), None, 2020).unwrap();
    assert!(out.rows.is_empty());
    assert!(out.warnings.contains(&StatisticsWarning::CountyNotInZones {
        county_id: "339903".into(),
        service: "forestry_products".into(),
        item: None,
        line: 2
    }));
    // ... and both loaded counties lack the figure.
    assert_eq!(
        out.warnings
            .iter()
            .filter(|w| matches!(w, StatisticsWarning::CountyWithoutStatistics { .. }))
            .count(),
        2
    );
}

const HEADER: &str = "county_id,year,service,item,value,value_unit,quantity,quantity_unit,price,price_unit,price_year,source,allocation\n";

/// Parses one data row (line 2) and returns the error message.
fn parse_err(row: &str) -> String {
    StatisticsTable::from_csv_str(&format!("{HEADER}{row}\n"), "s.csv")
        .unwrap_err()
        .to_string()
}

#[test]
fn unit_conversions_are_exact() {
    let parse = |row: &str| {
        StatisticsTable::from_csv_str(&format!("{HEADER}{row}\n"), "s.csv")
            .unwrap()
            .rows
            .remove(0)
    };
    // 12.5 亿元 = 1,250,000,000 元 = 125,000,000,000 fen.
    let r = parse("339901,2020,agriculture_products,,12.5,亿元,,,,,2020,x,");
    assert_eq!((r.fen, r.rounded), (Fen(125_000_000_000), false));
    // 0.005 元 is half a fen: rounded half up to 1 fen, flagged.
    let r = parse("339901,2020,agriculture_products,,0.005,元,,,,,2020,x,");
    assert_eq!((r.fen, r.rounded), (Fen(1), true));
    // 2 t × 3 元/kg: the defined conversion 1 t = 1000 kg → 6,000 元.
    let r = parse("339901,2020,fishery_products,,,,2,t,3,元/kg,2020,x,");
    assert_eq!(r.fen, Fen(600_000));
    assert_eq!(
        (r.quantity.unwrap().0, r.quantity_unit),
        (2_000_000, Some("t"))
    );
    assert_eq!(r.unit_price, Some(3000.0));
    // 1,000 斤 × 2.4 元/斤 = 2,400 元 (斤 = 0.0005 t exactly).
    let r = parse("339901,2020,agriculture_products,grain,,,1000,斤,2.4,元/斤,2020,x,");
    assert_eq!(r.fen, Fen(240_000));
    assert_eq!(r.quantity.unwrap().0, 500_000); // 0.5 t
                                                // Water supply by use: 1250 万m³ × 2.6 元/m³ = 32,500,000 元.
    let r = parse("339901,2020,water_supply,domestic,,,1250,万m³,2.6,元/m³,2020,x,");
    assert_eq!(r.fen, Fen(3_250_000_000));
    // 度 is kWh: 1.2 亿kWh × 0.45 元/度 = 54,000,000 元.
    let r = parse("339901,2020,hydropower,,,,1.2,亿kWh,0.45,元/度,2020,x,");
    assert_eq!(r.fen, Fen(5_400_000_000));
    // 820 万人次 × 310 元/人次 = 2,542,000,000 元.
    let r = parse("339901,2020,recreation,visits,,,820,万人次,310,元/人次,2020,x,");
    assert_eq!(r.fen, Fen(254_200_000_000));
}

#[test]
fn parse_errors_name_file_line_column_and_fix() {
    // Bad money unit: column 6 (value_unit).
    let e = parse_err("339901,2020,agriculture_products,,12,千元,,,,,2020,x,");
    assert!(
        e.starts_with("s.csv:2:6: column value_unit: unknown money unit \"千元\""),
        "{e}"
    );
    assert!(e.contains("fix: write one of 元, 万元"), "{e}");
    // Price unit of another dimension: m³ with 元/kWh, column 10 (price_unit), naming
    // quantity_unit's column too.
    let e = parse_err("339901,2020,water_supply,,,,100,m³,2.6,元/kWh,2020,x,");
    assert!(e.starts_with("s.csv:2:10: column price_unit:"), "{e}");
    assert!(
        e.contains("quantity_unit (column 8)")
            && e.contains("per electricity unit")
            && e.contains("a volume unit"),
        "{e}"
    );
    // t with 元/人次: also a mismatch.
    let e = parse_err("339901,2020,fishery_products,,,,2,t,3,元/人次,2020,x,");
    assert!(e.starts_with("s.csv:2:10:"), "{e}");
    // Unknown quantity unit: column 8.
    let e = parse_err("339901,2020,fishery_products,,,,2,ha,3,元/ha,2020,x,");
    assert!(
        e.starts_with("s.csv:2:8: column quantity_unit: unknown quantity unit"),
        "{e}"
    );
    // Missing source: column 12.
    let e = parse_err("339901,2020,agriculture_products,,12,万元,,,,,2020,,");
    assert!(
        e.starts_with("s.csv:2:12: column source: blank source"),
        "{e}"
    );
    // Non-numeric value: column 5.
    let e = parse_err("339901,2020,agriculture_products,,\"12,5\",万元,,,,,2020,x,");
    assert!(
        e.starts_with("s.csv:2:5: column value: \"12,5\" is not a number"),
        "{e}"
    );
    let e = parse_err("339901,2020,agriculture_products,,abc,万元,,,,,2020,x,");
    assert!(e.starts_with("s.csv:2:5:"), "{e}");
    // Negative value.
    let e = parse_err("339901,2020,agriculture_products,,-3,万元,,,,,2020,x,");
    assert!(e.starts_with("s.csv:2:5:") && e.contains("negative"), "{e}");
    // Non-numeric price: column 9.
    let e = parse_err("339901,2020,hydropower,,,,1,kWh,abc,元/kWh,2020,x,");
    assert!(e.starts_with("s.csv:2:9:"), "{e}");
    // Unknown service: column 3.
    let e = parse_err("339901,2020,agriculture,,12,万元,,,,,2020,x,");
    assert!(
        e.starts_with("s.csv:2:3: column service: unknown service"),
        "{e}"
    );
    // Bad year: column 2; bad price year: column 11.
    assert!(
        parse_err("339901,20x0,agriculture_products,,12,万元,,,,,2020,x,")
            .starts_with("s.csv:2:2:")
    );
    assert!(
        parse_err("339901,2020,agriculture_products,,12,万元,,,,,,x,").starts_with("s.csv:2:11:")
    );
    // Both a value and a quantity: names the quantity column (7).
    let e = parse_err("339901,2020,hydropower,,12,万元,1,kWh,0.5,元/kWh,2020,x,");
    assert!(e.starts_with("s.csv:2:7:") && e.contains("not both"), "{e}");
    // Neither.
    let e = parse_err("339901,2020,hydropower,,,,,,,,2020,x,");
    assert!(e.starts_with("s.csv:2:5:") && e.contains("neither"), "{e}");
    // Quantity without a price: column 9.
    let e = parse_err("339901,2020,hydropower,,,,1,kWh,,元/kWh,2020,x,");
    assert!(
        e.starts_with("s.csv:2:9:") && e.contains("blank price"),
        "{e}"
    );
    // A bad key: column 13.
    let e = parse_err("339901,2020,recreation,,1,元,,,,,2020,x,area:forrest");
    assert!(e.starts_with("s.csv:2:13:") && e.contains("forrest"), "{e}");
    // A service without a default key needs one.
    let e = parse_err("339901,2020,landscape_value,,1,元,,,,,2020,x,");
    assert!(
        e.starts_with("s.csv:2:13:") && e.contains("no default allocation key"),
        "{e}"
    );
}

#[test]
fn duplicate_rows_are_errors_naming_both_lines() {
    let csv = format!(
        "{HEADER}339901,2020,water_supply,domestic,,,1,m³,2.6,元/m³,2020,x,\n\
         339901,2020,water_supply,industrial,,,1,m³,3.6,元/m³,2020,x,\n\
         339901,2020,water_supply,domestic,,,2,m³,2.6,元/m³,2020,y,\n"
    );
    let e = StatisticsTable::from_csv_str(&csv, "s.csv")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("s.csv:4:4: column item: duplicate row"),
        "{e}"
    );
    assert!(e.contains("already given on line 2"), "{e}");
}

#[test]
fn preamble_allocation_table_sets_a_files_keys() {
    let csv = format!(
        "# [allocation]\n# fishery_products = \"area:water+wetland\"\n{HEADER}\
         339901,2020,fishery_products,,1,万元,,,,,2020,x,\n\
         339901,2020,fishery_products,pond,1,万元,,,,,2020,x,area:forest\n"
    );
    let t = StatisticsTable::from_csv_str(&csv, "s.csv").unwrap();
    assert_eq!(t.rows[0].key.to_string(), "area:water+wetland");
    assert_eq!(t.rows[0].key_origin, "file");
    assert_eq!(t.rows[1].key.to_string(), "area:forest");
    assert_eq!(t.rows[1].key_origin, "row");
    let bad = format!("# [allocation]\n# fishery_products = \"area:sea\"\n{HEADER}");
    let e = StatisticsTable::from_csv_str(&bad, "s.csv")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("s.csv:2:") && e.contains("\"sea\""), "{e}");
}

#[test]
fn shares_need_a_table_and_belong_to_the_lowest_level() {
    let table = StatisticsTable::from_file(&fixture("two_counties.csv")).unwrap();
    let e = allocate(&table, &zones(), &areas(), None, 2020)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("two_counties.csv:5:13") && e.contains("no village shares table"),
        "{e}"
    );
    let shares = VillageShares::from_csv_str(
        "zone_id,service,weight\n339901001,hydropower,1\n",
        "shares.csv",
    )
    .unwrap();
    let e = allocate(&table, &zones(), &areas(), Some(&shares), 2020)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("shares.csv:2:1:") && e.contains("lowest loaded level"),
        "{e}"
    );
    let e = VillageShares::from_csv_str(
        "zone_id,service,weight\n339901001001,hydropower,1\n339901001001,hydropower,2\n",
        "shares.csv",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("shares.csv:3:1:") && e.contains("line 2"),
        "{e}"
    );
    let e = VillageShares::from_csv_str(
        "zone_id,service,weight\n339901001001,hydropower,x\n",
        "shares.csv",
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("shares.csv:2:3:"), "{e}");
}

#[test]
fn decimal_weights_are_scaled_exactly() {
    // Weights 0.5 and 1.25 are 50 : 125 = 2 : 5 of 700 fen → 200 and 500.
    let csv = format!("{HEADER}339902,2020,hydropower,,7,元,,,,,2020,x,shares\n");
    let table = StatisticsTable::from_csv_str(&csv, "s.csv").unwrap();
    let shares = VillageShares::from_csv_str(
        "zone_id,service,weight\n339902001001,hydropower,0.5\n339902002001,hydropower,1.25\n",
        "shares.csv",
    )
    .unwrap();
    let out = allocate(&table, &zones(), &areas(), Some(&shares), 2020).unwrap();
    assert_eq!(fen(&out, "339902001001", "hydropower"), 200);
    assert_eq!(fen(&out, "339902002001", "hydropower"), 500);
    assert_eq!(fen(&out, "339902001002", "hydropower"), 0);
}

#[test]
fn unresolved_parents_are_an_error() {
    let table = StatisticsTable::from_file(&fixture("two_counties.csv")).unwrap();
    let mut z = zones();
    z[2].parent = None;
    let e = allocate(&table, &z, &areas(), None, 2020).unwrap_err();
    assert!(
        matches!(e, CoreError::OrphanZone { ref id, .. } if id == "339901001"),
        "{e}"
    );
}

#[test]
fn areas_from_an_extent_through_a_crosswalk() {
    let cw = gep_core::Crosswalk::from_csv_str(
        "# id = \"t\"\n# version = \"1\"\ncode,ecosystem_type,share\n1,paddy,\n2,forest,0.5\n2,shrub,0.5\n",
        "cw.csv",
    )
    .unwrap();
    let mut ext = ExtentTable::new(["v1", "v2"]);
    ext.zones[0].add_class(1, gep_core::ExactArea::from_m2(300.0));
    ext.zones[0].add_class(2, gep_core::ExactArea::from_m2(100.0));
    ext.zones[1].add_class(2, gep_core::ExactArea::from_m2(40.0));
    let a = ZoneAreas::from_extent(&ext, &cw).unwrap();
    assert_eq!(a.get("v1", "paddy"), SquareMeters(300.0));
    assert_eq!(a.get("v1", "forest"), SquareMeters(50.0));
    assert_eq!(a.get("v2", "shrub"), SquareMeters(20.0));
    assert_eq!(a.get("v2", "paddy"), SquareMeters(0.0));
    ext.zones[1].add_class(9, gep_core::ExactArea::from_m2(1.0));
    assert!(matches!(
        ZoneAreas::from_extent(&ext, &cw),
        Err(CoreError::UnmappedClasses { .. })
    ));
    let mut a = ZoneAreas::new();
    assert!(matches!(
        a.insert("v1", "paddy", SquareMeters(-1.0)),
        Err(CoreError::InvalidArea { .. })
    ));
}

#[test]
fn the_template_parses() {
    let t = StatisticsTable::from_file(&fixture("template.csv")).unwrap();
    assert_eq!(t.rows.len(), 9);
    assert!(t.rows.iter().all(|r| r.source.starts_with("EXAMPLE")));
    let ws = t.rows.iter().find(|r| r.service == "water_supply").unwrap();
    assert_eq!(ws.key_origin, "file");
}

#[cfg(feature = "xlsx")]
#[test]
fn a_workbook_reads_like_the_csv_with_row_and_column_numbers() {
    use rust_xlsxwriter::Workbook;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stats.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("statistics").unwrap();
    ws.write_string(0, 0, "# id = \"wb\"").unwrap();
    for (c, h) in gep_core::statistics::COLUMNS.iter().enumerate() {
        ws.write_string(1, c as u16, *h).unwrap();
    }
    // County code as text (leading zeros kept), numbers as numbers.
    ws.write_string(2, 0, "339901").unwrap();
    ws.write_number(2, 1, 2020.0).unwrap();
    ws.write_string(2, 2, "agriculture_products").unwrap();
    ws.write_number(2, 4, 1234.5).unwrap();
    ws.write_string(2, 5, "万元").unwrap();
    ws.write_number(2, 10, 2020.0).unwrap();
    ws.write_string(2, 11, "workbook source").unwrap();
    ws.write_string(3, 0, "339902").unwrap();
    ws.write_number(3, 1, 2020.0).unwrap();
    ws.write_string(3, 2, "agriculture_products").unwrap();
    ws.write_string(3, 4, "n/a").unwrap();
    ws.write_string(3, 5, "元").unwrap();
    ws.write_number(3, 10, 2020.0).unwrap();
    ws.write_string(3, 11, "workbook source").unwrap();
    wb.save(&path).unwrap();
    let e = StatisticsTable::from_file(&path).unwrap_err().to_string();
    // Row 4 of the sheet, column E.
    assert!(
        e.contains("stats.xlsx[statistics]:4:5: column value: \"n/a\" is not a number"),
        "{e}"
    );
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in gep_core::statistics::COLUMNS.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "339901").unwrap();
    ws.write_number(1, 1, 2020.0).unwrap();
    ws.write_string(1, 2, "agriculture_products").unwrap();
    ws.write_number(1, 4, 1234.5).unwrap();
    ws.write_string(1, 5, "万元").unwrap();
    ws.write_number(1, 10, 2020.0).unwrap();
    ws.write_string(1, 11, "workbook source").unwrap();
    wb.save(&path).unwrap();
    let t = StatisticsTable::from_file(&path).unwrap();
    assert_eq!(t.rows[0].fen, Fen(1_234_500_000));
    assert_eq!(t.rows[0].line, 2);
    let out = allocate(&t, &zones(), &areas(), None, 2020).unwrap();
    assert_eq!(fen(&out, "339901001", "agriculture_products"), 529_071_429);
}
