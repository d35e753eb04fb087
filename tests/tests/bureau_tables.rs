//! Tables in bureau form (issue 15) on a real run: 云和 (331125) with its townships and villages
//! over the MODIS 2019 clip, valued with Xie et al. 2015 through the MODIS crosswalk. Names of
//! zones, counties, townships, ecosystem types and services in the tables; services in the
//! standard's order; the ecosystem extent table. Expected names and orders are written out
//! here from the catalogue's source (GEP-METHOD.md §2/§3) and the boundary files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use gep_tests::{fixture, gep_ok, num, read_csv, tempdir};
use tempfile::TempDir;

fn out() -> &'static Path {
    static RUN: OnceLock<(TempDir, PathBuf)> = OnceLock::new();
    &RUN.get_or_init(|| {
        let dir = tempdir();
        let cfg = dir.path().join("gep.toml");
        std::fs::write(
            &cfg,
            format!(
                r#"year = 2019
[landcover]
path = {lc:?}
[[zones]]
path = {c:?}
level = "county"
id_field = "adcode"
name_field = "name"
[[zones]]
path = {t:?}
level = "township"
id_field = "zone_id"
name_field = "name"
parent_field = "parent"
[[zones]]
path = {v:?}
level = "village"
id_field = "zone_id"
name_field = "name"
parent_field = "parent"
[valuation]
coefficients = "xie2015"
crosswalk = "modis-igbp-mcd12c1"
[run]
counties = ["331125"]
[output]
dir = "out"
"#,
                lc = fixture("mcd12c1_2019_igbp_zhejiang.tif"),
                c = fixture("zj26_counties_cgcs2000.geojson"),
                t = fixture("zj26_townships_generated.geojson"),
                v = fixture("zj26_villages_generated.geojson"),
            ),
        )
        .unwrap();
        gep_ok(&["run", cfg.to_str().unwrap(), "-q"]);
        let out = dir.path().join("out");
        (dir, out)
    })
    .1
}

/// Zone id → (name, parent) from a boundary file.
fn names(path: &Path, id: &str, parent: Option<&str>) -> BTreeMap<String, (String, String)> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let p = &f["properties"];
            (
                p[id].as_str().unwrap().to_string(),
                (
                    p["name"].as_str().unwrap().to_string(),
                    parent
                        .map(|k| p[k].as_str().unwrap().to_string())
                        .unwrap_or_default(),
                ),
            )
        })
        .filter(|(k, _)| k.starts_with("331125"))
        .collect()
}

#[test]
fn zone_tables_carry_the_names_of_the_zone_its_county_and_its_township() {
    let townships = names(
        &fixture("zj26_townships_generated.geojson"),
        "zone_id",
        Some("parent"),
    );
    let villages = names(
        &fixture("zj26_villages_generated.geojson"),
        "zone_id",
        Some("parent"),
    );
    for table in ["zones.csv", "gep.csv", "accounts.csv", "accounts_wide.csv"] {
        let t = read_csv(&out().join(table));
        let mut seen_village = false;
        for r in t.maps() {
            let id = r["zone_id"];
            assert_eq!(r["county_id"], "331125", "{table} {r:?}");
            assert_eq!(r["county_name"], "云和县", "{table} {r:?}");
            match r["zone_level"] {
                "county" => {
                    assert_eq!(r["name"], "云和县");
                    assert_eq!(r["township_id"], "");
                }
                "township" => {
                    assert_eq!(r["name"], townships[id].0);
                    assert_eq!(r["township_id"], id);
                    assert_eq!(r["township_name"], townships[id].0);
                }
                "village" => {
                    seen_village = true;
                    let (name, parent) = &villages[id];
                    assert_eq!(r["name"], name);
                    assert_eq!(r["township_id"], parent);
                    assert_eq!(r["township_name"], townships[parent].0, "{table} {id}");
                }
                other => panic!("{other}"),
            }
        }
        assert!(seen_village, "{table}");
    }
}

#[test]
fn accounts_keep_the_contract_columns_first_and_name_types_and_services() {
    let t = read_csv(&out().join("accounts.csv"));
    assert_eq!(
        &t.headers[..16],
        [
            "zone_id",
            "zone_level",
            "year",
            "ecosystem_type",
            "service",
            "category",
            "area_ha",
            "quantity",
            "quantity_unit",
            "unit_value",
            "unit",
            "price_year",
            "value_yuan",
            "method",
            "source",
            "flags"
        ]
    );
    // From catalog.toml / GEP-METHOD.md §3.
    let type_zh: BTreeMap<&str, &str> = [
        ("forest_mixed", "针阔混交林"),
        ("forest_conifer", "针叶林"),
        ("shrub", "灌木林"),
        ("water", "水域"),
    ]
    .into();
    let xie_order = [
        ("esv_food", "食物生产"),
        ("esv_raw_materials", "原料生产"),
        ("esv_water_supply", "水资源供给"),
        ("esv_gas_regulation", "气体调节"),
        ("esv_climate_regulation", "气候调节"),
        ("esv_purification", "净化环境"),
        ("esv_hydrological_regulation", "水文调节"),
        ("esv_soil_conservation", "土壤保持"),
        ("esv_nutrient_cycling", "维持养分循环"),
        ("esv_biodiversity", "生物多样性"),
        ("esv_aesthetic_landscape", "美学景观"),
    ];
    let mut groups: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut named = 0;
    for r in t.maps() {
        if let Some(zh) = type_zh.get(r["ecosystem_type"]) {
            assert_eq!(r["ecosystem_type_zh"], *zh, "{r:?}");
            named += 1;
        }
        assert!(!r["ecosystem_type_en"].is_empty(), "{r:?}");
        let (_, zh) = xie_order
            .iter()
            .find(|(c, _)| *c == r["service"])
            .unwrap_or_else(|| panic!("{r:?}"));
        assert_eq!(r["service_zh"], *zh);
        groups
            .entry((r["zone_id"].to_string(), r["ecosystem_type"].to_string()))
            .or_default()
            .push(r["service"].to_string());
    }
    assert!(named > 0);
    // Within a zone and type, the services in Xie's order (never alphabetical).
    let order: Vec<&str> = xie_order.iter().map(|(c, _)| *c).collect();
    for (k, services) in &groups {
        let pos: Vec<usize> = services
            .iter()
            .map(|s| order.iter().position(|o| o == s).unwrap())
            .collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{k:?}: {services:?}");
    }
    let wide = read_csv(&out().join("accounts_wide.csv"));
    let cols: Vec<usize> = wide
        .headers
        .iter()
        .filter_map(|h| order.iter().position(|o| o == h))
        .collect();
    assert_eq!(
        cols,
        (0..order.len()).collect::<Vec<_>>(),
        "{:?}",
        wide.headers
    );
}

#[test]
fn the_extent_tables_name_the_ecosystem_types_and_add_up() {
    let extent = read_csv(&out().join("extent.csv"));
    // MODIS class 5 (mixed forest) → forest_mixed; 14 (mosaic) → half cropland, half shrub:
    // the crosswalk's rows, written out here.
    let mut by_zone: BTreeMap<String, f64> = BTreeMap::new();
    for r in extent.maps() {
        match r["class"] {
            "5" => {
                assert_eq!(
                    (
                        r["ecosystem_type"],
                        r["ecosystem_type_zh"],
                        r["ecosystem_share"]
                    ),
                    ("forest_mixed", "针阔混交林", "1")
                );
                assert_eq!(r["ecosystem_type_en"], "mixed coniferous-broadleaf forest");
            }
            "14" => assert_eq!(
                (r["ecosystem_type"], r["ecosystem_share"]),
                ("cropland;shrub", "0.5;0.5")
            ),
            _ => {}
        }
        *by_zone.entry(r["zone_id"].to_string()).or_default() += num(r["area_m2"]);
    }
    let types = read_csv(&out().join("extent_types.csv"));
    let mut type_sum: BTreeMap<String, f64> = BTreeMap::new();
    for r in types.maps() {
        assert!(!r["ecosystem_type_zh"].is_empty() && !r["ecosystem_type_en"].is_empty());
        assert_eq!(r["county_name"], "云和县");
        let m2 = num(r["area_m2"]);
        assert!((num(r["area_ha"]) * 1e4 - m2).abs() <= 1e-9 * m2.max(1.0));
        *type_sum.entry(r["zone_id"].to_string()).or_default() += m2;
    }
    // Every class of the run is mapped: the types add up to the classes, zone by zone.
    assert_eq!(type_sum.len(), by_zone.len());
    for (z, a) in &by_zone {
        let b = type_sum[z];
        assert!((a - b).abs() <= 1e-9 * a.max(1.0), "{z}: {a} vs {b}");
    }
    // And to the accounts' areas of each zone × type (one service's rows).
    let acc = read_csv(&out().join("accounts.csv"));
    let type_rows = types.maps();
    let mut checked = 0;
    for r in acc.maps().iter().filter(|r| r["service"] == "esv_food") {
        let t = type_rows
            .iter()
            .find(|t| t["zone_id"] == r["zone_id"] && t["ecosystem_type"] == r["ecosystem_type"])
            .map(|t| num(t["area_ha"]))
            .unwrap();
        let a = num(r["area_ha"]);
        assert!((a - t).abs() <= 1e-9 * a.max(1e-9), "{r:?}");
        checked += 1;
        if checked > 50 {
            break;
        }
    }
    assert!(checked > 0);
}
