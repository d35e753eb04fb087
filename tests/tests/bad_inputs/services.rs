//! The services from areas and tables (`[models.flood_regulation]`, `[models.water_purification]`,
//! `[models.air_purification]`, `[models.negative_air_ions]`): MODIS land cover and the first
//! three counties, valued with the example parameter set, no continuous input. Each case
//! breaks one table, unit or parameter; each is fatal (exit 2) with a message naming the
//! service, the file or key and what it needs, and nothing written.

use super::support::*;

const VALUATION: &str = r#"
[valuation]
coefficients = "zj-db33-2274-profile"
crosswalk = "modis-igbp-mcd12c1"

[models]
parameters = "zj-regulating-example"
"#;

/// The three counties of [`Case::standard`].
fn counties() -> [String; 3] {
    let v = first_counties(3);
    [adcode(&v, 0), adcode(&v, 1), adcode(&v, 2)]
}

/// An emissions table with `amount unit` for SO2 in each of the three counties.
fn emissions(amount_unit: &str) -> String {
    let mut s = String::from("county,pollutant,amount,unit\n");
    for c in counties() {
        s.push_str(&format!("{c},SO2,{amount_unit}\n"));
    }
    s
}

/// A case with `models` after the valuation and the tables `files` written beside it.
fn case(models: &str, files: &[(&str, &str)]) -> Case {
    let c = Case::standard();
    for (name, text) in files {
        c.write(name, text);
    }
    c.config("", COUNTY_ZONES, &format!("{VALUATION}{models}"));
    c
}

#[test]
fn the_area_services_run_without_continuous_inputs() {
    let c = case(
        "[models.air_purification]\nemissions = \"em.csv\"\n[models.flood_regulation]\n",
        &[("em.csv", &emissions("100,t/a"))],
    );
    let out = c.run();
    assert_ok(&c, &out);
    let acc = c.read_out("accounts.csv");
    // (Flood regulation has rows only where there is marsh: none may be on this grid.)
    for s in ["air_purification_so2", "negative_air_ions"] {
        assert!(acc.contains(s), "{s} not in accounts.csv");
    }
}

#[test]
fn reservoir_capacity_in_tonnes() {
    let [a, ..] = counties();
    let c = case(
        "[models.flood_regulation]\nreservoirs = \"res.csv\"\n",
        &[(
            "res.csv",
            &format!("id,county,total_capacity,unit\nr1,{a},250,t\n"),
        )],
    );
    let out = c.run();
    assert_fatal(
        &c,
        &out,
        &[
            "res.csv",
            "line 2",
            "flood_regulation",
            "r1",
            "not a volume",
            "万m3",
        ],
    );
}

#[test]
fn reservoirs_table_without_a_unit_column() {
    let [a, ..] = counties();
    let c = case(
        "[models.flood_regulation]\nreservoirs = \"res.csv\"\n",
        &[(
            "res.csv",
            &format!("id,county,total_capacity\nr1,{a},250\n"),
        )],
    );
    let out = c.run();
    assert_fatal(&c, &out, &["res.csv", "unit", "m3"]);
}

#[test]
fn emissions_in_cubic_metres() {
    let c = case(
        "[models.air_purification]\nemissions = \"em.csv\"\n",
        &[("em.csv", &emissions("100,m3/a"))],
    );
    let out = c.run();
    assert_fatal(
        &c,
        &out,
        &[
            "em.csv",
            "line 2",
            "air_purification_so2",
            "not a mass",
            "t/a",
        ],
    );
}

#[test]
fn a_county_without_an_emission_row() {
    let [a, b, missing] = counties();
    let c = case(
        "[models.air_purification]\nemissions = \"em.csv\"\n",
        &[(
            "em.csv",
            &format!("county,pollutant,amount,unit\n{a},SO2,1,t/a\n{b},SO2,1,t/a\n"),
        )],
    );
    let out = c.run();
    assert_fatal(
        &c,
        &out,
        &["air_purification_so2", &missing, "SO2", "em.csv", "t/a"],
    );
}

#[test]
fn a_discharge_of_an_air_pollutant() {
    let c = case(
        "[models.water_purification]\ndischarges = \"dis.csv\"\n",
        &[("dis.csv", &emissions("1,t/a"))],
    );
    let out = c.run();
    assert_fatal(
        &c,
        &out,
        &["dis.csv", "water_purification", "COD, NH3-N, TP"],
    );
}

/// The example set with the rows starting with `prefix` removed or edited by `f`.
fn edited_set(c: &Case, f: &dyn Fn(&str) -> Option<String>) {
    let src = std::fs::read_to_string(fixture(
        "../crates/gep-core/data/parameters/zj-regulating-example.csv",
    ))
    .unwrap();
    let text: String = src.lines().filter_map(|l| f(l).map(|l| l + "\n")).collect();
    assert_ne!(text, src, "the edit changed nothing");
    c.write("params.csv", &text);
    let cfg = std::fs::read_to_string(c.p("gep.toml")).unwrap();
    c.write(
        "gep.toml",
        &cfg.replace(
            "parameters = \"zj-regulating-example\"",
            "parameters = \"params.csv\"",
        ),
    );
}

#[test]
fn an_so2_price_per_cubic_metre() {
    let c = case(
        "[models.air_purification]\nemissions = \"em.csv\"\n",
        &[("em.csv", &emissions("100,t/a"))],
    );
    edited_set(&c, &|l| {
        Some(if l.starts_with("air_purification_so2,price,") {
            l.replace("元/kg SO2", "元/m3")
        } else {
            l.to_string()
        })
    });
    let out = c.run();
    assert_fatal(&c, &out, &["air_purification_so2", "元/m3"]);
}

#[test]
fn flood_regulation_without_a_reservoir_cost() {
    let c = case("[models.flood_regulation]\n", &[]);
    edited_set(&c, &|l| {
        (!l.starts_with("flood_regulation,reservoir_cost,")).then(|| l.to_string())
    });
    let out = c.run();
    assert_fatal(
        &c,
        &out,
        &["flood_regulation", "reservoir_cost", "params.csv"],
    );
}

#[test]
fn negative_air_ions_asked_for_with_a_parameter_missing() {
    let c = case("[models.negative_air_ions]\n", &[]);
    edited_set(&c, &|l| {
        (!l.starts_with("negative_air_ions,lifetime,")).then(|| l.to_string())
    });
    let out = c.run();
    assert_fatal(&c, &out, &["negative_air_ions", "lifetime"]);
}

#[test]
fn area_services_without_a_parameter_set() {
    let c = Case::standard();
    c.write("em.csv", &emissions("1,t/a"));
    c.config(
        "",
        COUNTY_ZONES,
        "[valuation]\ncoefficients = \"zj-db33-2274-profile\"\ncrosswalk = \"modis-igbp-mcd12c1\"\n[models.air_purification]\nemissions = \"em.csv\"\n",
    );
    let out = c.run();
    assert_fatal(&c, &out, &["[models.air_purification]", "parameters"]);
}

#[test]
fn emissions_table_missing() {
    let c = case(
        "[models.air_purification]\nemissions = \"nowhere.csv\"\n",
        &[],
    );
    let out = c.run();
    assert_fatal(
        &c,
        &out,
        &["[models.air_purification] emissions", "nowhere.csv"],
    );
}
