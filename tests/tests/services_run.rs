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
    // 2008: the price year of the example negative-ion price.
    std::fs::write(&d, "year,index\n2008,95\n2010,100\n2019,120\n").unwrap();
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

/// The village → township → county roll-up of `services` (value and quantity), and how many
/// parents were compared.
fn roll_up(a: &gep_engine::Assessment, services: &[&str]) -> usize {
    let acc = a.accounts.as_ref().unwrap();
    let parent: BTreeMap<&str, &str> = a
        .zones
        .iter()
        .filter_map(|z| z.parent.as_deref().map(|p| (z.id.as_str(), p)))
        .collect();
    let mut own: BTreeMap<(&str, &str), (f64, f64)> = BTreeMap::new();
    let mut kids: BTreeMap<(&str, &str), (f64, f64)> = BTreeMap::new();
    for r in acc.rows.iter().filter(|r| services.contains(&&*r.service)) {
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
    }
    for s in services {
        assert!(
            kids.keys().any(|(_, x)| x == s),
            "{s}: no parent compared with its children"
        );
    }
    kids.len()
}

/// Flood regulation, capped air and water purification and negative air ions over the two
/// Lishui counties, from the class areas of the run (MODIS IGBP through the crosswalk) and
/// tables written here; each county total worked out by hand from the extent table.
#[test]
fn area_services_by_hand_and_villages_roll_up() {
    let dir = tempfile::tempdir().unwrap();
    let w = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    // 100 万m3 in 云和 (331125): 0.35 × 1,000,000 = 350,000 m3 of flood storage.
    let res = w(
        "reservoirs.csv",
        "id,name,county,zone,total_capacity,unit\nr1,example,331125,,100,万m3\n",
    );
    // SO2: 1 kg in 331125 (capped for sure), 10^9 t in 331127 (never capped).
    let em = w(
        "emissions.csv",
        "county,pollutant,amount,unit\n331125,SO2,1,kg/a\n331127,SO2,1000000000,t/a\n",
    );
    let dis = w(
        "discharges.csv",
        "county,pollutant,amount,unit\n331125,COD,1,t/a\n331127,COD,1,t/a\n",
    );
    let extra = format!(
        "{CARBON_CO2}\n[models.flood_regulation]\nreservoirs = \"{res}\"\n[models.air_purification]\nemissions = \"{em}\"\n[models.water_purification]\ndischarges = \"{dis}\"\n"
    );
    let a = run(&extra).unwrap();
    assert!(a.failures.is_empty(), "{:?}", a.failures);
    let acc = a.accounts.as_ref().unwrap();
    let total = |zone: &str, service: &str| -> (f64, f64) {
        acc.rows
            .iter()
            .filter(|r| &*r.zone_id == zone && &*r.service == service)
            .fold((0.0, 0.0), |s, r| {
                (s.0 + r.quantity.unwrap(), s.1 + r.value_yuan.unwrap())
            })
    };
    // Class areas (m²) of a county, by IGBP code.
    let area = |zone: &str, classes: &[i64]| -> f64 {
        a.extent
            .get(zone)
            .unwrap()
            .classes
            .iter()
            .filter(|(c, _)| classes.contains(&(**c as i64)))
            .map(|(_, x)| x.to_m2())
            .sum()
    };
    // Flood: 350,000 m3 + marshes (IGBP 11 → wetland) 0.3 m × area; × 7.06 元/m3.
    let q = 350_000.0 + 0.3 * area("331125", &[11]);
    let (fq, fv) = total("331125", "flood_regulation");
    assert!((fq - q).abs() <= 1e-9 * q, "{fq} vs {q}");
    assert!((fv - q * 7.06).abs() <= 1e-9 * fv, "{fv}");
    // SO2 in 331125: capped at the 1 kg emitted = 0.001 t × 1200 元/t = 1.2 元.
    let (sq, sv) = total("331125", "air_purification_so2");
    assert!(
        (sq - 0.001).abs() < 1e-12 && (sv - 1.2).abs() < 1e-9,
        "{sq} {sv}"
    );
    assert!(acc
        .rows
        .iter()
        .filter(|r| r.zone_id.starts_with("331125") && &*r.service == "air_purification_so2")
        .all(|r| r.flags.split(';').any(|f| f == "capped")));
    // SO2 in 331127, not capped: the example set's rates (kg SO2/(ha·a)) by IGBP class:
    // needleleaf 1, 3 → conifer 215.6; broadleaf 2, 4 → 88.65; mixed 5 → 152.13; woody
    // savanna 8 (forest) and savanna 9 (forest_sparse) → 88.65; others none.
    let ha = |c: &[i64]| area("331127", c) / 1e4;
    let so2_t = (215.6 * ha(&[1, 3]) + 88.65 * ha(&[2, 4, 8, 9]) + 152.13 * ha(&[5])) / 1000.0;
    let (sq, sv) = total("331127", "air_purification_so2");
    assert!(
        so2_t > 0.0 && (sq - so2_t).abs() <= 1e-9 * so2_t,
        "{sq} vs {so2_t}"
    );
    assert!((sv - so2_t * 1200.0).abs() <= 1e-9 * sv);
    let so2 = acc
        .rows
        .iter()
        .find(|r| &*r.zone_id == "331127" && &*r.service == "air_purification_so2")
        .unwrap();
    assert_eq!(
        (
            so2.quantity_unit.as_deref(),
            so2.unit.as_ref(),
            so2.price_year
        ),
        (Some("t SO2/a"), "元/kg SO2", Some(2010))
    );
    assert!(
        !so2.flags.split(';').any(|f| f == "capped"),
        "{}",
        so2.flags
    );
    // COD: capped at 1 t in each county that has water or wetland (rate 1 t/(ha·a)).
    for c in ["331125", "331127"] {
        let wet_ha = area(c, &[0, 11]) / 1e4;
        let (cq, cv) = total(c, "water_purification_cod");
        let want = (1.0 * wet_ha).min(1.0);
        assert!(
            (cq - want).abs() < 1e-9 && (cv - want * 700.0).abs() < 1e-6,
            "{c}: {cq}"
        );
    }
    // Negative air ions (the example set has them): forest types 1500 ions/cm3, 10 m,
    // lifetime 10 min: N = 5.256e15 × 1500 × A_ha × 10 / 10; × 5.8185 元 per 10^18 ions.
    let forest_ha = area("331125", &[1, 2, 3, 4, 5, 8, 9]) / 1e4;
    let n = 5.256e15 * 1500.0 * forest_ha * 10.0 / 10.0;
    let (iq, iv) = total("331125", "negative_air_ions");
    assert!((iq - n).abs() <= 1e-9 * n, "{iq} vs {n}");
    assert!((iv - n * 5.8185e-18).abs() <= 1e-9 * iv);
    // Every new service rolls up from villages to townships to counties.
    let compared = roll_up(
        &a,
        &[
            "flood_regulation",
            "air_purification_so2",
            "negative_air_ions",
        ],
    );
    assert!(compared > 20, "{compared}");
    // The flood reservoir cost has its own sensitivity row.
    let p = a.physical.as_ref().unwrap();
    let s = p
        .sensitivity
        .iter()
        .find(|r| r.zone_id == "331125" && r.service == "flood_regulation")
        .unwrap();
    assert!(
        (s.gep_high_yuan - s.gep_yuan - fv * (8.47 / 7.06 - 1.0)).abs() <= 1e-6 * fv,
        "{s:?}"
    );
}

#[test]
fn negative_air_ions_asked_for_without_parameters_is_an_error() {
    // A set without negative_air_ions rows: no rows, no error — unless the config asks.
    let src = std::fs::read_to_string(fixture(
        "../crates/gep-core/data/parameters/zj-regulating-example.csv",
    ))
    .unwrap();
    let cut: String = src
        .lines()
        .filter(|l| !l.starts_with("negative_air_ions,"))
        .map(|l| format!("{l}\n"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("params.csv");
    std::fs::write(&path, cut).unwrap();
    let models = CARBON_CO2.replace("zj-regulating-example", &path.display().to_string());
    let a = run(&models).unwrap();
    assert!(!a
        .accounts
        .unwrap()
        .rows
        .iter()
        .any(|r| &*r.service == "negative_air_ions"));
    let e = run(&format!("{models}\n[models.negative_air_ions]\n")).unwrap_err();
    assert!(
        e.contains("negative_air_ions")
            && e.contains("concentration")
            && e.contains("stand_height")
            && e.contains("lifetime")
            && e.contains("price"),
        "{e}"
    );
}
