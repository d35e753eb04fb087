//! Coefficient sets, crosswalks and accounts: hand-computable fixtures and every rejection.

use geo_types::MultiPolygon;
use gep_core::account::{
    check_coverage, check_mapping, class_totals, compute_accounts, neumaier_sum, roll_up,
};
use gep_core::coefficients::{
    check_set_file, list_builtin_sets, m2_to_ha, m2_to_mu, per_mu_to_per_ha, show_set, CoefValue,
    SetKind,
};
use gep_core::units::M2_PER_MU;
use gep_core::{
    CoefficientSet, Crosswalk, Deflator, ExactArea, ExtentTable, Level, ValuationParams, Zone,
};

fn zone(id: &str, level: Level, parent: Option<&str>) -> Zone {
    Zone {
        id: id.into(),
        name: id.into(),
        level,
        parent: parent.map(Into::into),
        geometry: MultiPolygon::new(vec![]),
    }
}

fn paddy_cw() -> Crosswalk {
    Crosswalk::from_csv_str(
        "# id = \"p\"\n# version = \"1\"\ncode,ecosystem_type\n11,paddy\n",
        "p.csv",
    )
    .unwrap()
}

fn err_of(text: &str) -> String {
    CoefficientSet::from_csv_str(text, "set.csv")
        .unwrap_err()
        .to_string()
}

const HEAD: &str = "# id = \"t\"\n# version = \"1\"\n# price_year = 2010\n# currency = \"CNY\"\n# equivalent_value = 3406.5\necosystem_type,service,value,unit\n";

/// Xie 2015 factors typed here from GEP-METHOD.md §3 (not read from the data file).
const PADDY: [f64; 11] = [
    1.36, 0.09, -2.63, 1.11, 0.57, 0.17, 2.72, 0.01, 0.19, 0.21, 0.09,
];
const WATER: [f64; 11] = [
    0.80, 0.23, 8.29, 0.77, 2.29, 5.55, 102.24, 0.93, 0.07, 2.55, 1.89,
];
const BROADLEAF: [f64; 11] = [
    0.29, 0.66, 0.34, 2.17, 6.50, 1.93, 4.74, 2.65, 0.20, 2.41, 1.06,
];
const D: f64 = 3406.5;

#[test]
fn hand_computed_xie2015_account() {
    // CNLUCC classes: 11 paddy, 41 water; 三调-style forests are not in CNLUCC, use MODIS-like
    // custom crosswalk: 2 → evergreen broadleaf (priced with Xie's broadleaf row).
    let cw = Crosswalk::from_csv_str("# id = \"t\"\n# version = \"1\"\ncode,ecosystem_type\n11,paddy\n41,water\n2,forest_evergreen_broadleaf\n", "cw.csv").unwrap();
    let set = CoefficientSet::builtin("xie2015").unwrap();
    let mut ext = ExtentTable::new(["331123"]);
    ext.zones[0].add_class(11, ExactArea::from_m2(20_000.0)); // 2 ha paddy
    ext.zones[0].add_class(41, ExactArea::from_m2(5_000.0)); // 0.5 ha water
    ext.zones[0].add_class(2, ExactArea::from_m2(100_000.0)); // 10 ha forest
    let zones = [zone("331123", Level::County, None)];
    let acc = compute_accounts(
        &zones,
        &ext,
        2020,
        Some(&cw),
        &set,
        &ValuationParams::default(),
    )
    .unwrap();
    assert_eq!(acc.rows.len(), 3 * 11);
    // Order: catalogue order of types (forest_evergreen_broadleaf < paddy < water), then services.
    assert_eq!(&*acc.rows[0].ecosystem_type, "forest_evergreen_broadleaf");
    assert_eq!(&*acc.rows[11].ecosystem_type, "paddy");
    assert_eq!(&*acc.rows[22].ecosystem_type, "water");
    let paddy_ws = &acc.rows[11 + 2];
    assert_eq!(&*paddy_ws.service, "esv_water_supply");
    assert_eq!(paddy_ws.area_ha, 2.0);
    assert_eq!(paddy_ws.unit_value, Some(-2.63 * D));
    assert_eq!(
        paddy_ws.value_yuan,
        Some(2.0 * (-2.63 * D)),
        "negative paddy factor kept, not clamped"
    );
    assert!(paddy_ws.flags.contains("negative"));
    assert_eq!(paddy_ws.price_year, Some(2010));
    assert_eq!(&*paddy_ws.unit, "元/ha/a");
    let expect = |areas: [(f64, [f64; 11]); 3], pick: &dyn Fn(usize) -> bool| -> f64 {
        let mut s = 0.0;
        for (a, f) in areas {
            for (i, x) in f.iter().enumerate() {
                if pick(i) {
                    s += a * x * D;
                }
            }
        }
        s
    };
    let areas = [(10.0, BROADLEAF), (2.0, PADDY), (0.5, WATER)];
    let g = &acc.gep[0];
    let rel = |a: f64, b: f64| ((a - b) / b).abs();
    assert!(
        rel(g.gep_yuan, expect(areas, &|_| true)) < 1e-12,
        "{} vs {}",
        g.gep_yuan,
        expect(areas, &|_| true)
    );
    assert!(rel(g.material_yuan, expect(areas, &|i| i < 3)) < 1e-12);
    // Soil conservation (7) is regulating; nutrient cycling (8) and biodiversity (9) are
    // supporting: in the ESV total, shown apart, not in the final services.
    assert!(rel(g.regulating_yuan, expect(areas, &|i| (3..8).contains(&i))) < 1e-12);
    assert!(rel(g.supporting_yuan, expect(areas, &|i| (8..10).contains(&i))) < 1e-12);
    assert!(rel(g.cultural_yuan, expect(areas, &|i| i == 10)) < 1e-12);
    assert!(
        rel(
            g.material_yuan + g.regulating_yuan + g.cultural_yuan + g.supporting_yuan,
            g.gep_yuan
        ) < 1e-12
    );
    assert!(rel(g.final_yuan(), expect(areas, &|i| !(8..10).contains(&i))) < 1e-12);
    // Overriding D scales everything.
    let p = ValuationParams {
        equivalent_value: Some(2.0 * D),
        ..Default::default()
    };
    let acc2 = compute_accounts(&zones, &ext, 2020, Some(&cw), &set, &p).unwrap();
    assert!(rel(acc2.gep[0].gep_yuan, 2.0 * g.gep_yuan) < 1e-12);
}

#[test]
fn deflation_restates_prices_and_missing_year_is_an_error() {
    let d = Deflator::from_csv_str("year,index\n2010,100\n2020,125.5\n", "cpi.csv").unwrap();
    assert_eq!(d.factor(2010, 2020).unwrap(), 1.255);
    let set = CoefficientSet::from_csv_str(&format!("{HEAD}paddy,esv_food,2,元/ha/a\n"), "s.csv")
        .unwrap();
    let cw = paddy_cw();
    let mut ext = ExtentTable::new(["1"]);
    ext.zones[0].add_class(11, ExactArea::from_m2(30_000.0));
    let zones = [zone("1", Level::County, None)];
    let p = ValuationParams {
        target_price_year: Some(2020),
        deflator: Some(d.clone()),
        ..Default::default()
    };
    let acc = compute_accounts(&zones, &ext, 2022, Some(&cw), &set, &p).unwrap();
    assert_eq!(acc.rows[0].price_year, Some(2020));
    assert_eq!(acc.rows[0].unit_value, Some(2.0 * (125.5 / 100.0)));
    assert_eq!(acc.rows[0].value_yuan, Some(3.0 * (2.0 * (125.5 / 100.0))));
    let p = ValuationParams {
        target_price_year: Some(2023),
        deflator: Some(d),
        ..Default::default()
    };
    let e = compute_accounts(&zones, &ext, 2022, Some(&cw), &set, &p)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cpi.csv") && e.contains("2023") && e.contains("2010-2020"),
        "{e}"
    );
    let p = ValuationParams {
        target_price_year: Some(2020),
        ..Default::default()
    };
    let e = compute_accounts(&zones, &ext, 2022, Some(&cw), &set, &p)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no deflator"), "{e}");
    let e = Deflator::from_csv_str("year,index\n2010,100\n2010,101\n", "cpi.csv")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("cpi.csv:3:1:") && e.contains("twice"), "{e}");
    let e = Deflator::from_csv_str("year,index\n2010,\n", "cpi.csv")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("cpi.csv:2:2:") && e.contains("blank"), "{e}");
}

#[test]
fn unit_conversions_ha_mu_m2() {
    assert_eq!(per_mu_to_per_ha(100.0), 1500.0);
    assert_eq!(m2_to_ha(25_000.0), 2.5);
    assert!((m2_to_mu(10_000.0) - 15.0).abs() < 1e-12);
    assert_eq!(M2_PER_MU, 10_000.0 / 15.0);
    // The same value written per mu and per ha gives the same account.
    let a = CoefficientSet::from_csv_str(&format!("{HEAD}paddy,esv_food,100,元/亩/a\n"), "a.csv")
        .unwrap();
    let b = CoefficientSet::from_csv_str(&format!("{HEAD}paddy,esv_food,1500,元/hm2/a\n"), "b.csv")
        .unwrap();
    let cw = paddy_cw();
    let mut ext = ExtentTable::new(["1"]);
    ext.zones[0].add_class(11, ExactArea::from_m2(7.0 * M2_PER_MU)); // 7 亩
    let zones = [zone("1", Level::County, None)];
    let ra = compute_accounts(
        &zones,
        &ext,
        2022,
        Some(&cw),
        &a,
        &ValuationParams::default(),
    )
    .unwrap();
    let rb = compute_accounts(
        &zones,
        &ext,
        2022,
        Some(&cw),
        &b,
        &ValuationParams::default(),
    )
    .unwrap();
    assert_eq!(ra.rows[0].unit_value, Some(1500.0));
    assert!(
        (ra.rows[0].value_yuan.unwrap() - 700.0).abs() < 1e-9,
        "7 亩 × 100 元/亩"
    );
    assert_eq!(ra.rows[0].value_yuan, rb.rows[0].value_yuan);
}

#[test]
fn rejections_name_file_line_and_column() {
    let e = err_of(&format!("{HEAD}paddy,esv_food,NaN,元/ha/a\n"));
    assert!(
        e.starts_with("set.csv:7:3:") && e.contains("not a finite number"),
        "{e}"
    );
    let e = err_of(&format!("{HEAD}paddy,esv_food,,元/ha/a\n"));
    assert!(
        e.starts_with("set.csv:7:3:") && e.contains("blank value"),
        "{e}"
    );
    let e = err_of(&format!(
        "{HEAD}paddy,esv_food,1,元/ha/a\nwater,esv_food,1,元/ha/a\npaddy,esv_food,2,元/ha/a\n"
    ));
    assert!(
        e.starts_with("set.csv:9:2:") && e.contains("duplicate") && e.contains("line 7"),
        "{e}"
    );
    let e = err_of(&format!("{HEAD}jungle,esv_food,1,元/ha/a\n"));
    assert!(
        e.starts_with("set.csv:7:1:") && e.contains("unknown ecosystem type \"jungle\""),
        "{e}"
    );
    let e = err_of(&format!("{HEAD}paddy,rainbows,1,元/ha/a\n"));
    assert!(
        e.starts_with("set.csv:7:2:") && e.contains("unknown service \"rainbows\""),
        "{e}"
    );
    let e = err_of(&format!("{HEAD}paddy,esv_food,1,元/m2/a\n"));
    assert!(
        e.starts_with("set.csv:7:4:") && e.contains("unknown unit"),
        "{e}"
    );
    let e = err_of(&format!("{HEAD}paddy,esv_food,1,t C/ha\n"));
    assert!(
        e.starts_with("set.csv:7:4:") && e.contains("does not fit"),
        "{e}"
    );
    let e = err_of(&format!("{HEAD}paddy,esv_food,1,\n"));
    assert!(
        e.starts_with("set.csv:7:4:") && e.contains("blank unit"),
        "{e}"
    );
    let e = err_of(&format!("{HEAD}paddy,carbon_stock,1,元/ha/a\n"));
    assert!(e.starts_with("set.csv:7:2:") && e.contains("stock"), "{e}");
    let e = err_of("# id = \"t\"\n# version = \"1\"\n# price_year = 2010\n# currency = \"CNY\"\necosystem_type,service,value,unit\npaddy,esv_food,1,equivalent\n");
    assert!(
        e.starts_with("set.csv:6:4:") && e.contains("equivalent_value"),
        "{e}"
    );
    let e = err_of("# id = \"t\"\n# version = \"1\"\necosystem_type,service,value,unit\n");
    assert!(e.contains("price_year") && e.contains("missing"), "{e}");
    // InVEST tables.
    let e = CoefficientSet::from_csv_str(
        "lucode,c_above,c_below,c_soil,c_dead\n1,1,2,nan,0\n",
        "c.csv",
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("c.csv:2:4:") && e.contains("c_soil"), "{e}");
    let e = CoefficientSet::from_csv_str(
        "lucode,c_above,c_below,c_soil,c_dead\n1,1,2,3,0\n1,1,2,3,0\n",
        "c.csv",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("c.csv:3:1:") && e.contains("duplicate lucode 1"),
        "{e}"
    );
    // Unknown built-in id.
    let e = CoefficientSet::load("xie2099").unwrap_err().to_string();
    assert!(
        e.contains("xie2015") && e.contains("zj-db33-2274-profile"),
        "{e}"
    );
}

#[test]
fn not_applicable_and_coverage_preflight() {
    let set = CoefficientSet::from_csv_str(
        &format!("{HEAD}paddy,esv_food,1,元/ha/a\nbuilt_up,esv_food,NA,\n"),
        "s.csv",
    )
    .unwrap();
    assert_eq!(
        set.get("built_up", "esv_food").unwrap().value,
        CoefValue::NotApplicable
    );
    let cw = Crosswalk::from_csv_str(
        "# id = \"c\"\n# version = \"1\"\ncode,ecosystem_type\n1,paddy\n2,built_up\n3,water\n",
        "c.csv",
    )
    .unwrap();
    let gaps = check_coverage(&cw, &set);
    assert_eq!(gaps.len(), 1);
    assert_eq!(
        (gaps[0].ecosystem_type.as_str(), gaps[0].service.as_str()),
        ("water", "esv_food")
    );
    assert_eq!(gaps[0].classes, vec![3]);
    let mut ext = ExtentTable::new(["1"]);
    ext.zones[0].add_class(1, ExactArea::from_m2(10_000.0));
    ext.zones[0].add_class(2, ExactArea::from_m2(10_000.0));
    ext.zones[0].add_class(7, ExactArea::from_m2(900.0));
    let zones = [zone("1", Level::County, None)];
    let un = check_mapping(&class_totals(&ext), &cw);
    assert_eq!(un.len(), 1);
    assert_eq!((un[0].class, un[0].area_m2), (7, 900.0));
    assert!(un[0].fix.contains("7,<ecosystem_type>"));
    let e = compute_accounts(
        &zones,
        &ext,
        2022,
        Some(&cw),
        &set,
        &ValuationParams::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("7 (900 m²)"), "{e}");
    let cw2 = Crosswalk::from_csv_str(
        "# id = \"c\"\n# version = \"1\"\ncode,ecosystem_type\n1,paddy\n2,built_up\n7,water\n",
        "c.csv",
    )
    .unwrap();
    let e = compute_accounts(
        &zones,
        &ext,
        2022,
        Some(&cw2),
        &set,
        &ValuationParams::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("water/esv_food") && e.contains("NA"), "{e}");
    // Without class 7 the account runs; the NA row is kept, flagged, and adds nothing.
    ext.zones[0].classes.remove(&7);
    let cw3 = Crosswalk::from_csv_str(
        "# id = \"c\"\n# version = \"1\"\ncode,ecosystem_type\n1,paddy\n2,built_up\n",
        "c.csv",
    )
    .unwrap();
    let acc = compute_accounts(
        &zones,
        &ext,
        2022,
        Some(&cw3),
        &set,
        &ValuationParams::default(),
    )
    .unwrap();
    let na = acc
        .rows
        .iter()
        .find(|r| &*r.ecosystem_type == "built_up")
        .unwrap();
    assert_eq!((na.value_yuan, na.unit_value), (None, None));
    assert!(na.flags.contains("not_applicable"));
    assert_eq!(acc.gep[0].gep_yuan, 1.0);
}

#[test]
fn fractional_split_allocates_area() {
    let cw = Crosswalk::from_csv_str(
        "# id = \"s\"\n# version = \"1\"\ncode,ecosystem_type,share\n2,forest_broadleaf,0.25\n2,forest_conifer,0.75\n",
        "s.csv",
    )
    .unwrap();
    let set = CoefficientSet::builtin("xie2015").unwrap();
    let mut ext = ExtentTable::new(["1"]);
    ext.zones[0].add_class(2, ExactArea::from_m2(40_000.0)); // 4 ha → 1 ha broadleaf, 3 ha conifer
    let zones = [zone("1", Level::County, None)];
    let acc = compute_accounts(
        &zones,
        &ext,
        2022,
        Some(&cw),
        &set,
        &ValuationParams::default(),
    )
    .unwrap();
    let a = |t: &str| {
        acc.rows
            .iter()
            .find(|r| &*r.ecosystem_type == t)
            .unwrap()
            .area_ha
    };
    assert_eq!((a("forest_broadleaf"), a("forest_conifer")), (1.0, 3.0));
    let clim = acc
        .rows
        .iter()
        .find(|r| &*r.ecosystem_type == "forest_conifer" && &*r.service == "esv_climate_regulation")
        .unwrap();
    assert_eq!(clim.value_yuan, Some(3.0 * (5.07 * D)));
}

#[test]
fn roll_up_villages_to_township_to_county_equals_direct_county() {
    let cw = Crosswalk::builtin("gbt21010-sandiao").unwrap();
    let set = CoefficientSet::builtin("xie2015").unwrap();
    // A tiled extent: 4 villages in 2 townships of one county; classes are 三调 codes as integers.
    let zones = vec![
        zone("331123", Level::County, None),
        zone("331123100", Level::Township, Some("331123")),
        zone("331123200", Level::Township, Some("331123")),
        zone("331123100001", Level::Village, Some("331123100")),
        zone("331123100002", Level::Village, Some("331123100")),
        zone("331123200001", Level::Village, Some("331123200")),
        zone("331123200002", Level::Village, Some("331123200")),
    ];
    let villages: Vec<Zone> = zones[3..].to_vec();
    let mut vext = ExtentTable::for_zones(&villages);
    let classes = [101, 103, 301, 302, 305, 1101, 1104, 702, 202];
    for (i, z) in vext.zones.iter_mut().enumerate() {
        for (j, c) in classes.iter().enumerate() {
            // Irregular areas, including fractional-cell edges.
            z.add_class(
                *c,
                ExactArea::from_m2(
                    900.0 * ((i * 7 + j * 13) % 17 + 1) as f64 + 0.123_456 * (i + j) as f64,
                ),
            );
        }
    }
    let mut county_ext = ExtentTable::for_zones(&zones[..1]);
    for z in &vext.zones {
        county_ext.zones[0].merge(z);
    }
    let p = ValuationParams::default();
    let vacc = compute_accounts(&villages, &vext, 2022, Some(&cw), &set, &p).unwrap();
    let tacc = roll_up(&vacc, &zones, Level::Township).unwrap();
    assert_eq!(tacc.gep.len(), 2);
    assert!(tacc
        .rows
        .iter()
        .all(|r| r.method.starts_with("sum of 2 village accounts")));
    let cacc_rolled = roll_up(&tacc, &zones, Level::County).unwrap();
    let cacc = compute_accounts(&zones[..1], &county_ext, 2022, Some(&cw), &set, &p).unwrap();
    assert_eq!(cacc_rolled.rows.len(), cacc.rows.len());
    for (a, b) in cacc_rolled.rows.iter().zip(&cacc.rows) {
        assert_eq!(
            (&a.zone_id, &a.ecosystem_type, &a.service),
            (&b.zone_id, &b.ecosystem_type, &b.service)
        );
        assert_eq!(a.area_ha, b.area_ha, "areas roll up exactly");
        assert_eq!(a.unit_value, b.unit_value);
        match (a.value_yuan, b.value_yuan) {
            (Some(x), Some(y)) => assert!((x - y).abs() <= 1e-9 * y.abs().max(1.0), "{x} vs {y}"),
            (x, y) => assert_eq!(x, y),
        }
    }
    let (g1, g2) = (&cacc_rolled.gep[0], &cacc.gep[0]);
    assert!((g1.gep_yuan - g2.gep_yuan).abs() <= 1e-12 * g2.gep_yuan.abs());
    assert!((g1.regulating_yuan - g2.regulating_yuan).abs() <= 1e-12 * g2.regulating_yuan.abs());
    // Σ villages GEP = county GEP.
    let sum_v = neumaier_sum(vacc.gep.iter().map(|g| g.gep_yuan));
    assert!((sum_v - g2.gep_yuan).abs() <= 1e-12 * g2.gep_yuan.abs());
}

#[test]
fn invest_carbon_stock_per_zone() {
    let set = CoefficientSet::from_path(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/willamette_carbon_pools.csv"
    )))
    .unwrap();
    assert_eq!(set.kind, SetKind::Stock);
    assert_eq!(set.id, "willamette_carbon_pools");
    // Pools from the table: lucode 1 = 15+10+60+1 = 86, 2 = 5+3+20+0 = 28, 11 = 10 t C/ha.
    let mut ext = ExtentTable::new(["a", "b"]);
    ext.zones[0].add_class(1, ExactArea::from_m2(0.5 * 900.0)); // half a 30 m cell
    ext.zones[0].add_class(2, ExactArea::from_m2(3.0 * 900.0));
    ext.zones[1].add_class(11, ExactArea::from_m2(10.0 * 900.0));
    let zones = [
        zone("a", Level::County, None),
        zone("b", Level::County, None),
    ];
    let acc =
        compute_accounts(&zones, &ext, 2020, None, &set, &ValuationParams::default()).unwrap();
    assert_eq!(acc.rows.len(), 3);
    let zone_total = |id: &str| {
        acc.rows
            .iter()
            .filter(|r| &*r.zone_id == id)
            .map(|r| r.quantity.unwrap())
            .sum::<f64>()
    };
    assert!((zone_total("a") - (0.045 * 86.0 + 0.27 * 28.0)).abs() < 1e-12);
    assert!((zone_total("b") - 0.9 * 10.0).abs() < 1e-12);
    for r in &acc.rows {
        assert_eq!(r.value_yuan, None, "a stock is never valued in yuan");
        assert_eq!(r.quantity_unit.as_deref(), Some("t C"));
        assert_eq!(&*r.unit, "t C/ha");
        assert!(r.ecosystem_type.starts_with("class:"));
    }
    assert_eq!(acc.gep[0].gep_yuan, 0.0);
    // A class missing from the table is an error (InVEST errors too).
    ext.zones[1].add_class(250, ExactArea::from_m2(900.0));
    let e = compute_accounts(&zones, &ext, 2020, None, &set, &ValuationParams::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("250 (900 m²)"), "{e}");
    // The built-in copy is the same table.
    let b = CoefficientSet::builtin("invest-carbon-willamette").unwrap();
    assert_eq!(b.entries.len(), set.entries.len());
}

#[test]
fn builtin_sets_cover_builtin_crosswalks() {
    let xie = CoefficientSet::builtin("xie2015").unwrap();
    assert_eq!(xie.price_year, Some(2010));
    assert_eq!(xie.equivalent_value, Some(3406.5));
    assert_eq!(xie.services.len(), 11);
    // Unverified rows are flagged.
    for t in [
        "grassland_steppe",
        "grassland_shrub_grass",
        "grassland_meadow",
        "snow_ice",
    ] {
        assert!(!xie.get(t, "esv_food").unwrap().verified, "{t}");
    }
    assert!(xie.get("paddy", "esv_food").unwrap().verified);
    assert_eq!(
        xie.get("paddy", "esv_water_supply").unwrap().value,
        CoefValue::Value(-2.63)
    );
    let zj = CoefficientSet::builtin("zj-db33-2274-profile").unwrap();
    assert!(zj.example);
    assert_eq!(zj.catalogue.len(), 17);
    for id in Crosswalk::builtin_ids() {
        let cw = Crosswalk::builtin(id).unwrap();
        for set in [&xie, &zj] {
            let gaps = check_coverage(&cw, set);
            assert!(gaps.is_empty(), "{id} × {}: {gaps:?}", set.id);
        }
    }
    let list = list_builtin_sets().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0].unverified, 4 * 11 + 11);
    let shown = show_set("xie2015").unwrap();
    assert!(
        shown.contains("D (value of one equivalent): 3406.5")
            && shown.contains("paddy\tesv_water_supply\t-2.63")
    );
    let dir = std::env::temp_dir().join(format!("gep-core-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("mine.csv");
    std::fs::write(&f, format!("# may_be_negative = [\"paddy/esv_food\", \"water/esv_food\"]\n{HEAD}paddy,esv_food,-1,元/ha/a\npaddy,esv_water_supply,2,元/ha/a\nwater,esv_food,1,元/ha/a\n")).unwrap();
    let (s, w) = check_set_file(&f).unwrap();
    assert_eq!(s.negative, 1);
    // The declaration of water/esv_food covers no negative row: a stale item is reported.
    assert!(
        w.iter()
            .any(|x| x.contains("may_be_negative lists water/esv_food")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|x| x.contains("water has no entry for service esv_water_supply")),
        "{w:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn accounts_serialize_in_column_order() {
    let set = CoefficientSet::builtin("xie2015").unwrap();
    let cw = Crosswalk::builtin("clcd").unwrap();
    let mut ext = ExtentTable::new(["330100"]);
    ext.zones[0].add_class(2, ExactArea::from_m2(10_000.0));
    let zones = [zone("330100", Level::County, None)];
    let acc = compute_accounts(
        &zones,
        &ext,
        2022,
        Some(&cw),
        &set,
        &ValuationParams::default(),
    )
    .unwrap();
    let v = serde_json::to_value(&acc.rows[0]).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut w = csv::Writer::from_writer(vec![]);
    w.serialize(&acc.rows[0]).unwrap();
    let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
    let header = text.lines().next().unwrap();
    assert_eq!(
        header,
        "zone_id,zone_level,year,ecosystem_type,service,category,area_ha,quantity,quantity_unit,unit_value,unit,price_year,value_yuan,method,source,flags"
    );
    assert!(keys.contains(&"value_yuan"));
    assert!(
        acc.rows[0].flags.contains("derived"),
        "generic forest uses a derived Xie row"
    );
}

/// A row of a service the `services` list leaves out would be valued nowhere; quantities of
/// one service in two units would be added together in roll-ups and reports: both rejected,
/// naming the line.
#[test]
fn unlisted_service_and_mixed_quantity_units_are_errors() {
    let listed = "# id = \"t\"\n# version = \"1\"\n# price_year = 2010\n# currency = \"CNY\"\n# services = [\"esv_food\"]\necosystem_type,service,value,unit\npaddy,esv_food,2,元/ha/a\npaddy,esv_water_supply,3,元/ha/a\n";
    let e = err_of(listed);
    assert!(
        e.contains("set.csv:8:") && e.contains("esv_water_supply"),
        "{e}"
    );
    assert!(e.contains("services"), "{e}");
    let mixed = "# id = \"t\"\n# version = \"1\"\n# price_year = 2010\n# currency = \"CNY\"\necosystem_type,service,value,unit,quantity_per_ha,quantity_unit\npaddy,esv_water_supply,2,元/ha/a,100,m3\nwater,esv_water_supply,3,元/ha/a,0.1,t\n";
    let e = err_of(mixed);
    assert!(e.contains("set.csv:7:") && e.contains("m3"), "{e}");
    // One unit per service is fine.
    let same = mixed.replace(",0.1,t\n", ",100,m3\n");
    CoefficientSet::from_csv_str(&same, "set.csv").unwrap();
}

/// Silent lies the library now refuses: an extent table used with its zones reordered (GEP
/// would move between zones), and a roll-up whose parents have no resolved children (GEP 0).
#[test]
fn regression_reordered_zones_and_unresolved_parents_are_errors() {
    let cw = Crosswalk::from_csv_str(
        "# id = \"t\"\n# version = \"1\"\ncode,ecosystem_type\n11,paddy\n41,water\n",
        "cw.csv",
    )
    .unwrap();
    let set = CoefficientSet::builtin("xie2015").unwrap();
    let p = ValuationParams::default();
    let zones = [
        zone("331123100001", Level::Village, Some("331123100")),
        zone("331123100002", Level::Village, Some("331123100")),
    ];
    let mut ext = ExtentTable::for_zones(&zones);
    ext.zones[0].add_class(11, ExactArea::from_m2(20_000.0));
    ext.zones[1].add_class(41, ExactArea::from_m2(5_000.0));
    let swapped = [zones[1].clone(), zones[0].clone()];
    let e = compute_accounts(&swapped, &ext, 2020, Some(&cw), &set, &p)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("331123100002") && e.contains("position 0"),
        "{e}"
    );
    let acc = compute_accounts(&zones, &ext, 2020, Some(&cw), &set, &p).unwrap();
    // Parents not resolved: the villages name no township.
    let township = zone("331123100", Level::Township, Some("331123"));
    let unresolved = [
        zone("331123100001", Level::Village, None),
        zone("331123100002", Level::Village, None),
        township.clone(),
    ];
    let e = roll_up(&acc, &unresolved, Level::Township)
        .unwrap_err()
        .to_string();
    assert!(e.contains("331123100") && e.contains("resolve"), "{e}");
    let resolved = [zones[0].clone(), zones[1].clone(), township];
    let t = roll_up(&acc, &resolved, Level::Township).unwrap();
    assert!(t.gep[0].gep_yuan > 0.0);
}

/// A `d` override used to keep the set's price year and then be deflated a second time: a D
/// of 2020 prices restated "from 2010 to 2020" came out 25.5 % too high. The override now
/// carries its own price year (`d_price_year`) and is deflated from that year only.
#[test]
fn regression_d_override_is_not_deflated_twice() {
    let defl =
        Deflator::from_csv_str("year,index\n2010,100\n2019,120\n2020,125.5\n", "cpi.csv").unwrap();
    let set =
        CoefficientSet::from_csv_str(&format!("{HEAD}paddy,esv_food,2,equivalent\n"), "s.csv")
            .unwrap();
    let cw = paddy_cw();
    let mut ext = ExtentTable::new(["1"]);
    ext.zones[0].add_class(11, ExactArea::from_m2(10_000.0)); // 1 ha
    let zones = [zone("1", Level::County, None)];
    let run = |p: &ValuationParams| compute_accounts(&zones, &ext, 2020, Some(&cw), &set, p);
    // D at 2020 prices, target 2020: no deflation at all.
    let p = ValuationParams {
        equivalent_value: Some(4000.0),
        equivalent_value_price_year: Some(2020),
        target_price_year: Some(2020),
        deflator: Some(defl.clone()),
    };
    let r = &run(&p).unwrap().rows[0];
    assert_eq!(
        r.unit_value,
        Some(2.0 * 4000.0),
        "deflated twice: {}",
        r.method
    );
    assert_eq!(r.price_year, Some(2020));
    // D at 2019 prices, target 2020: deflated once, from 2019.
    let p = ValuationParams {
        equivalent_value_price_year: Some(2019),
        ..p
    };
    let r = &run(&p).unwrap().rows[0];
    assert_eq!(r.unit_value, Some(2.0 * 4000.0 * (125.5 / 120.0)));
    assert!(r.method.contains("2020/2019"), "{}", r.method);
    assert_eq!(p.price_year(&set), Some(2020));
    // A D override with a target year but without its own year: refused, naming the key.
    let p = ValuationParams {
        equivalent_value_price_year: None,
        ..p
    };
    let e = run(&p).unwrap_err().to_string();
    assert!(e.contains("d_price_year") && e.contains("twice"), "{e}");
    // Without a target year, the totals are at the override's year.
    let p = ValuationParams {
        equivalent_value: Some(4000.0),
        equivalent_value_price_year: Some(2019),
        ..Default::default()
    };
    let r = &run(&p).unwrap().rows[0];
    assert_eq!((r.unit_value, r.price_year), (Some(8000.0), Some(2019)));
    assert_eq!(p.price_year(&set), Some(2019));
    let l = gep_core::TotalLabel::new(&set, &p);
    assert_eq!(l.price_year, Some(2019));
    assert!(
        l.price_basis.contains("D override 4000"),
        "{}",
        l.price_basis
    );
    // A year for D without D; a D of another year beside 元/ha/a rows at the set's year.
    let p = ValuationParams {
        equivalent_value_price_year: Some(2019),
        ..Default::default()
    };
    assert!(run(&p).unwrap_err().to_string().contains("without d"));
    let mixed = CoefficientSet::from_csv_str(
        &format!("{HEAD}paddy,esv_food,2,equivalent\npaddy,esv_raw_materials,5,元/ha/a\n"),
        "m.csv",
    )
    .unwrap();
    let p = ValuationParams {
        equivalent_value: Some(4000.0),
        equivalent_value_price_year: Some(2019),
        ..Default::default()
    };
    let e = compute_accounts(&zones, &ext, 2020, Some(&cw), &mixed, &p)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("two price years") && e.contains("m.csv") || e.contains("mix"),
        "{e}"
    );
}

/// `roll_up` never drops a level: a village hung directly under its county, rolled up into
/// townships, used to vanish from every township (and so from the county roll-up).
#[test]
fn regression_roll_up_never_drops_a_level() {
    let cw = paddy_cw();
    let set = CoefficientSet::builtin("xie2015").unwrap();
    let p = ValuationParams::default();
    let zones = [
        zone("331123", Level::County, None),
        zone("331123100", Level::Township, Some("331123")),
        zone("331123100001", Level::Village, Some("331123100")),
        zone("331123999001", Level::Village, Some("331123")),
    ];
    let villages = &zones[2..];
    let mut ext = ExtentTable::for_zones(villages);
    ext.zones[0].add_class(11, ExactArea::from_m2(20_000.0));
    ext.zones[1].add_class(11, ExactArea::from_m2(10_000.0));
    let acc = compute_accounts(villages, &ext, 2020, Some(&cw), &set, &p).unwrap();
    let e = roll_up(&acc, &zones, Level::Township).unwrap_err();
    assert!(
        matches!(e, gep_core::CoreError::RollUpSkipsLevel { count: 1, .. }),
        "{e}"
    );
    let e = e.to_string();
    assert!(
        e.contains("331123999001") && e.contains("parent county 331123"),
        "{e}"
    );
    // A parent missing from the zones is named too.
    let orphan = [
        zones[1].clone(),
        zones[2].clone(),
        zone("331123999001", Level::Village, Some("331123999")),
    ];
    let e = roll_up(&acc, &orphan, Level::Township)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("331123999") && e.contains("not among the zones"),
        "{e}"
    );
    // With its township loaded, both villages roll up and the county gets everything.
    let full = [
        zones[0].clone(),
        zones[1].clone(),
        zone("331123999", Level::Township, Some("331123")),
        zones[2].clone(),
        zone("331123999001", Level::Village, Some("331123999")),
    ];
    let t = roll_up(&acc, &full, Level::Township).unwrap();
    let c = roll_up(&t, &full, Level::County).unwrap();
    let total: f64 = acc.gep.iter().map(|g| g.gep_yuan).sum();
    assert!((c.gep[0].gep_yuan - total).abs() <= 1e-9 * total.abs());
}

/// The share of value resting on example, derived or unverified coefficients, by hand.
#[test]
fn value_basis_shares_by_hand() {
    let t = format!("{HEAD}paddy,esv_food,1,元/ha/a,,,true,derived\npaddy,esv_raw_materials,3,元/ha/a,,,false,\npaddy,esv_water_supply,-2,元/ha/a,,,true,example;derived\n")
        .replace("ecosystem_type,service,value,unit\n", "ecosystem_type,service,value,unit,quantity_per_ha,quantity_unit,verified,flags\n")
        .replace("# equivalent_value = 3406.5\n", "# equivalent_value = 3406.5\n# may_be_negative = [\"paddy/esv_water_supply\"]\n");
    let set = CoefficientSet::from_csv_str(&t, "b.csv").unwrap();
    let mut ext = ExtentTable::new(["1"]);
    ext.zones[0].add_class(11, ExactArea::from_m2(10_000.0));
    let zones = [zone("1", Level::County, None)];
    let acc = compute_accounts(
        &zones,
        &ext,
        2020,
        Some(&paddy_cw()),
        &set,
        &ValuationParams::default(),
    )
    .unwrap();
    let b = gep_core::ValueBasis::of_rows(&acc.rows);
    // |1| + |3| + |-2| = 6: derived 1 + 2, unverified 3, example 2, any 6.
    assert_eq!(b.value_yuan, 6.0);
    assert_eq!((b.derived_share(), b.unverified_share()), (0.5, 0.5));
    assert_eq!((b.example_share(), b.flagged_share()), (2.0 / 6.0, 1.0));
    assert!(
        b.text_en().starts_with("100.0 % of the value"),
        "{}",
        b.text_en()
    );
}
