//! `[statistics]` in a run: county yearbook figures allocated to the demo's townships and
//! villages by the area of their ecosystem types, inside the accounts and GEP totals.

use gep_core::{Category, Level, NoProgress};
use gep_engine::plan::{assess, config::RawConfig, resolve};
use gep_tests::{fixture, tempdir};

#[test]
fn county_figures_reach_villages_and_gep_conserving_the_county_figure() {
    let dir = tempdir();
    let stats = dir.path().join("stats.csv");
    // Invented figures for the test: 12.5 亿元 of agriculture in 云和县 (keyed by cropland,
    // shrub and forest: the 0.05° MODIS raster has no pure cropland cell in 云和), 3,000 万元
    // of forestry in 景宁, and tourism as visits × spending in 云和 (820 万人次 × 310 元).
    std::fs::write(
        &stats,
        "county_id,year,service,item,value,value_unit,quantity,quantity_unit,price,price_unit,price_year,source,allocation\n\
         331125,2019,agriculture_products,,12.5,亿元,,,,,2019,test figures (invented),area:cropland+shrub+forest\n\
         331127,2019,forestry_products,,3000,万元,,,,,2019,test figures (invented),\n\
         331125,2019,recreation,visits,,,820,万人次,310,元/人次,2019,test figures (invented),area:forest\n",
    )
    .unwrap();
    let f = |p: &str| fixture(p).display().to_string();
    let text = format!(
        r#"
year = 2019
[landcover]
path = "{}"
[[zones]]
path = "{}"
level = "county"
id_field = "adcode"
name_field = "name"
[[zones]]
path = "{}"
level = "township"
id_field = "zone_id"
parent_field = "parent"
[[zones]]
path = "{}"
level = "village"
id_field = "zone_id"
parent_field = "parent"
[valuation]
coefficients = "xie2015"
crosswalk = "modis-igbp-mcd12c1"
[statistics]
table = "{}"
[run]
counties = ["331125", "331127"]
"#,
        f("mcd12c1_2019_igbp_zhejiang.tif"),
        f("zj26_counties_cgcs2000.geojson"),
        f("zj26_townships_generated.geojson"),
        f("zj26_villages_generated.geojson"),
        stats.display()
    );
    let raw: RawConfig = toml::from_str(&text).unwrap();
    let a = assess(&resolve(raw, None).unwrap(), &NoProgress).unwrap();
    let acc = a.accounts.as_ref().unwrap();
    let value = |zone: &str, service: &str| -> f64 {
        acc.rows
            .iter()
            .filter(|r| &*r.zone_id == zone && &*r.service == service)
            .filter_map(|r| r.value_yuan)
            .sum()
    };
    // The county rows carry the yearbook figures exactly.
    assert_eq!(value("331125", "agriculture_products"), 1_250_000_000.0);
    assert_eq!(value("331127", "forestry_products"), 30_000_000.0);
    assert_eq!(value("331125", "recreation"), 8_200_000.0 * 310.0);
    // Villages add up to their county, in fen (integer yuan/100 sums are exact in f64 here).
    for (county, service, want) in [
        ("331125", "agriculture_products", 1_250_000_000.0),
        ("331127", "forestry_products", 30_000_000.0),
        ("331125", "recreation", 2_542_000_000.0),
    ] {
        let fen: i64 = a
            .zones
            .iter()
            .filter(|z| z.level == Level::Village && z.id.starts_with(county))
            .map(|z| (value(&z.id, service) * 100.0).round() as i64)
            .sum();
        assert_eq!(fen, (want * 100.0) as i64, "{county} {service}");
    }
    // Allocated rows are flagged, and the county's material GEP includes the figure.
    assert!(acc
        .rows
        .iter()
        .filter(|r| &*r.service == "agriculture_products" && &*r.zone_id != "331125")
        .all(|r| r.flags.contains("allocated")));
    let county = acc.gep.iter().find(|g| g.zone_id == "331125").unwrap();
    let material_from_sets: f64 = acc
        .rows
        .iter()
        .filter(|r| &*r.zone_id == "331125" && r.category == Category::Material)
        .filter(|r| !r.flags.contains("statistics"))
        .filter_map(|r| r.value_yuan)
        .sum();
    assert!(
        (county.material_yuan - (material_from_sets + 1_250_000_000.0)).abs()
            < 1e-6 * county.material_yuan
    );
}
