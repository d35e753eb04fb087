//! The regulating services valued from the models' quantities in a run: water conservation,
//! carbon sequestration, oxygen release and climate regulation on the demo's real coarse
//! rasters (`fixtures/aux_zhejiang/`) over two Lishui counties with their generated townships
//! and villages. ET is an EXAMPLE input (0.5 × precipitation) and NPP a SYNTHETIC one
//! (1000 × NDVI max): the test is about the accounting (units, roll-ups, errors), not the
//! numbers.

use gep_core::NoProgress;
use gep_engine::plan::{assess, config::RawConfig, resolve};
use gep_tests::fixture;
use std::collections::BTreeMap;

fn plan_text(extra_models: &str) -> String {
    let f = |p: &str| fixture(p).display().to_string();
    format!(
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
parent_field = "parent"
[[zones]]
path = "{v}"
level = "village"
id_field = "zone_id"
parent_field = "parent"
[valuation]
coefficients = "zj-db33-2274-profile"
crosswalk = "modis-igbp-mcd12c1"
[[inputs]]
name = "precipitation"
path = "{p}"
unit = "mm"
resampling = "bilinear"
[[inputs]]
name = "aet"
path = "{p}"
unit = "mm"
scale = 0.5
resampling = "bilinear"
[[inputs]]
name = "npp"
path = "{n}"
unit = "g C/(m²·a)"
scale = 1000.0
resampling = "average"
valid_range = [-1000.0, 3000.0]
[models]
{extra_models}
[models.water_conservation]
precipitation = "precipitation"
evapotranspiration = "aet"
runoff_coefficients = "{alpha}"
[models.climate_regulation]
evapotranspiration = "aet"
[run]
counties = ["331125", "331127"]
"#,
        lc = f("mcd12c1_2019_igbp_zhejiang.tif"),
        c = f("zj26_counties_cgcs2000.geojson"),
        t = f("zj26_townships_generated.geojson"),
        v = f("zj26_villages_generated.geojson"),
        p = f("aux_zhejiang/zj_precip_2016_cfsv2_1deg.tif"),
        n = f("aux_zhejiang/zj_ndvi_max_bess_0.05deg.tif"),
        alpha = f("demo/runoff_coefficients_igbp.csv"),
    )
}

const CARBON_CO2: &str = "parameters = \"zj-regulating-example\"\n[models.carbon_oxygen]\nnpp = \"npp\"\ncarbon_as = \"CO2\"";

fn run(extra: &str) -> Result<gep_engine::Assessment, String> {
    let raw: RawConfig = toml::from_str(&plan_text(extra)).map_err(|e| e.to_string())?;
    let plan = resolve(raw, None).map_err(|e| e.to_string())?;
    assess(&plan, &NoProgress).map_err(|e| format!("{e:#}"))
}

#[test]
fn services_are_valued_and_villages_roll_up_to_counties() {
    let a = run(CARBON_CO2).unwrap();
    assert!(a.failures.is_empty(), "{:?}", a.failures);
    let acc = a.accounts.as_ref().unwrap();
    let services = [
        "water_conservation",
        "carbon_sequestration",
        "oxygen_release",
        "climate_regulation",
    ];
    // Every valued row carries quantity, units, price year and source.
    for s in services {
        let rows: Vec<_> = acc.rows.iter().filter(|r| &*r.service == s).collect();
        assert!(!rows.is_empty(), "{s}: no rows");
        for r in rows {
            assert!(r.quantity.is_some() && r.quantity_unit.is_some(), "{s}");
            assert_eq!(r.price_year, Some(2010), "{s}");
            assert!(r.unit.starts_with("元/"), "{s}: {}", r.unit);
            assert!(r.source.contains("zj-regulating-example"), "{s}");
            assert!(
                r.flags.contains("example") || s == "water_conservation",
                "{s}: {}",
                r.flags
            );
        }
    }
    let co2 = acc
        .rows
        .iter()
        .find(|r| &*r.service == "carbon_sequestration")
        .unwrap();
    assert_eq!(co2.quantity_unit.as_deref(), Some("t CO2/a"));
    // The profile's per-area water conservation is replaced, not added.
    assert!(acc
        .rows
        .iter()
        .filter(|r| &*r.service == "water_conservation")
        .all(|r| r.unit.as_ref() == "元/m3"));
    // Villages add up to townships and townships to counties, for every service, in value
    // and in quantity.
    let parent: BTreeMap<&str, &str> = a
        .zones
        .iter()
        .filter_map(|z| z.parent.as_deref().map(|p| (z.id.as_str(), p)))
        .collect();
    let mut own: BTreeMap<(&str, &str), (f64, f64)> = BTreeMap::new();
    let mut kids: BTreeMap<(&str, &str), (f64, f64)> = BTreeMap::new();
    for r in &acc.rows {
        if !services.contains(&&*r.service) {
            continue;
        }
        let (v, q) = (r.value_yuan.unwrap(), r.quantity.unwrap());
        let e = own.entry((&*r.zone_id, &*r.service)).or_default();
        e.0 += v;
        e.1 += q;
        if let Some(p) = parent.get(&*r.zone_id) {
            let e = kids.entry((p, &*r.service)).or_default();
            e.0 += v;
            e.1 += q;
        }
    }
    let mut compared = 0;
    for ((zone, service), (v, q)) in &kids {
        let (pv, pq) = own[&(*zone, *service)];
        assert!(
            (v - pv).abs() <= 1e-9 * pv.abs().max(1.0),
            "{zone} {service}: {pv} vs children {v}"
        );
        assert!(
            (q - pq).abs() <= 1e-9 * pq.abs().max(1.0),
            "{zone} {service}: {pq} vs children {q}"
        );
        compared += 1;
    }
    assert!(compared > 4 * 20, "{compared}");
    // gep.csv counts them in the regulating total.
    let counties: Vec<_> = acc.gep.iter().filter(|g| g.zone_id.len() == 6).collect();
    assert!(!counties.is_empty(), "no county rows in gep");
    for g in counties {
        let reg: f64 = acc
            .rows
            .iter()
            .filter(|r| *r.zone_id == g.zone_id && r.category == gep_core::Category::Regulating)
            .filter_map(|r| r.value_yuan)
            .sum();
        assert!(
            (g.regulating_yuan - reg).abs() <= 1e-9 * reg,
            "{}",
            g.zone_id
        );
        assert!(g.regulating_yuan > 0.0);
    }
    // The sensitivity table: a less efficient air conditioner (r 2.6 < 3.0) means more
    // electricity avoided, a higher GEP; fewer hot days a lower one.
    let p = a.physical.as_ref().unwrap();
    let row = |z: &str, par: &str| {
        p.sensitivity
            .iter()
            .find(|r| r.zone_id == z && r.parameter == par)
            .unwrap_or_else(|| panic!("{z} {par}"))
    };
    let r = row("331125", "ac_efficiency");
    assert!(
        r.gep_low_yuan > r.gep_yuan && r.gep_high_yuan < r.gep_yuan,
        "{r:?}"
    );
    // GEP moves by the climate value × (3.0/2.6 − 1) at the low end.
    let climate: f64 = acc
        .rows
        .iter()
        .filter(|x| &*x.zone_id == "331125" && &*x.service == "climate_regulation")
        .filter_map(|x| x.value_yuan)
        .sum();
    assert!(((r.gep_low_yuan - r.gep_yuan) - climate * (3.0 / 2.6 - 1.0)).abs() <= 1e-6 * climate);
    let d = row("all", "hot_days");
    assert!(
        d.gep_low_yuan < d.gep_yuan && d.gep_high_yuan > d.gep_yuan,
        "{d:?}"
    );
    for par in ["electricity_price", "reservoir_cost", "carbon_price"] {
        row("all", par);
    }
}

#[test]
fn a_t_c_quantity_with_a_t_co2_price_is_refused() {
    let e = run(&CARBON_CO2.replace("\"CO2\"", "\"C\"")).unwrap_err();
    assert!(
        e.contains("carbon_sequestration") && e.contains("CO2"),
        "{e}"
    );
}

#[test]
fn a_missing_price_names_the_service_and_the_parameter() {
    let text = gep_core::parameters::ParameterSet::builtin_ids();
    assert!(text.contains(&"zj-regulating-example"));
    let src = std::fs::read_to_string(fixture(
        "../crates/gep-core/data/parameters/zj-regulating-example.csv",
    ))
    .unwrap();
    let cut: String = src
        .lines()
        .filter(|l| !l.starts_with("climate_regulation,electricity_price"))
        .map(|l| format!("{l}\n"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("params.csv");
    std::fs::write(&path, cut).unwrap();
    let e =
        run(&CARBON_CO2.replace("zj-regulating-example", &path.display().to_string())).unwrap_err();
    assert!(
        e.contains("climate_regulation") && e.contains("electricity_price"),
        "{e}"
    );
}

#[test]
fn parameters_without_valuation_are_refused() {
    let text = plan_text(CARBON_CO2).replace(
        "[valuation]\ncoefficients = \"zj-db33-2274-profile\"\ncrosswalk = \"modis-igbp-mcd12c1\"\n",
        "",
    );
    let raw: RawConfig = toml::from_str(&text).unwrap();
    let e = resolve(raw, None).unwrap_err().to_string();
    assert!(e.contains("[valuation]") && e.contains("parameters"), "{e}");
}

#[test]
fn prices_are_restated_in_the_target_price_year() {
    // Index 100 in 2010 and 120 in 2019: 7.06 元/m³ of 2010 is 7.06 × 1.2 = 8.472 元/m³ of
    // 2019, and the coefficient set's prices are restated alike.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("deflator.csv");
    std::fs::write(&d, "year,index\n2010,100\n2019,120\n").unwrap();
    let text = plan_text(CARBON_CO2).replace(
        "crosswalk = \"modis-igbp-mcd12c1\"\n",
        &format!(
            "crosswalk = \"modis-igbp-mcd12c1\"\ntarget_price_year = 2019\ndeflator = \"{}\"\n",
            d.display()
        ),
    );
    let raw: RawConfig = toml::from_str(&text).unwrap();
    let a = assess(&resolve(raw, None).unwrap(), &NoProgress).unwrap();
    let acc = a.accounts.unwrap();
    let w = acc
        .rows
        .iter()
        .find(|r| &*r.service == "water_conservation")
        .unwrap();
    assert_eq!(w.price_year, Some(2019));
    assert!(
        (w.unit_value.unwrap() - 8.472).abs() < 1e-12,
        "{:?}",
        w.unit_value
    );
    assert!(
        (w.value_yuan.unwrap() - w.quantity.unwrap() * 8.472).abs()
            <= 1e-9 * w.value_yuan.unwrap().abs()
    );
    assert!(w.method.contains("restated from 2010 to 2019"));
    assert!(acc
        .rows
        .iter()
        .all(|r| r.price_year.is_none_or(|y| y == 2019)));
}
