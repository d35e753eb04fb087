//! Numbers in coefficient, pool and deflator tables (issue 10): a negative pool, price or
//! quantity the set does not declare, a non-finite number, D or a deflator index ≤ 0 is a fatal
//! error (exit 2) naming the file, line and column, and a previous good result set in `out/`
//! survives byte for byte. `gep coefficients check` reports the same errors.

use super::support::*;
use super::{builtin_data, replace_first, same, valuation_case};

/// An InVEST-style carbon pool table (t C/ha) for every MODIS IGBP class 0-17, with the
/// Willamette sample's pools repeated (`fixtures/willamette_carbon_pools.csv`): rows are on
/// lines 2-19, class `k` on line `k + 2`.
fn pools() -> String {
    let base = std::fs::read_to_string(fixture("willamette_carbon_pools.csv")).unwrap();
    let rows: Vec<&str> = base.lines().skip(1).collect();
    let mut t = String::from("lucode,c_above,c_below,c_soil,c_dead\n");
    for k in 0..18 {
        // Classes 1-4 get the sample's lucodes 1-4, then the pattern repeats (class 0: empty).
        let pools = rows[(k + rows.len() - 1) % rows.len()]
            .split_once(',')
            .unwrap()
            .1;
        t.push_str(&format!("{k},{pools}\n"));
    }
    t
}

/// A case valued with the pool table `pools.csv` (a stock set keyed by class, no crosswalk).
fn pools_case() -> Case {
    let c = Case::standard();
    c.write("pools.csv", &pools());
    c.config(
        "",
        COUNTY_ZONES,
        "[valuation]\ncoefficients = \"pools.csv\"\n",
    );
    c
}

/// Runs the good inputs of `c` and returns the snapshot of the published `out/`.
fn good_run(c: &Case) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let out = c.run();
    assert_ok(c, &out);
    assert!(c.out().join("accounts.csv").exists());
    c.snapshot()
}

/// Exit 2, `needles` (file:line:column, the value, ...) on stderr, and `out/` as it was.
fn assert_rejected_keeping(
    c: &Case,
    out: &Out,
    before: &std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>,
    needles: &[&str],
) {
    no_panic(out);
    assert_eq!(out.code, 2, "{out:?}");
    assert_mentions(out, needles);
    assert_mentions(out, &["fix"]);
    assert!(
        c.snapshot() == *before,
        "the previous results changed: {out:?}"
    );
    c.assert_no_stray();
}

/// `gep coefficients check FILE` exits 2 with the same message.
fn assert_check_rejects(c: &Case, file: &str, needles: &[&str]) {
    let chk = c.gep(&["coefficients", "check", file]);
    no_panic(&chk);
    assert_eq!(chk.code, 2, "{chk:?}");
    assert_mentions(&chk, needles);
}

/// The report: "A carbon-pool table with a negative pool is accepted silently".
#[test]
fn regression_negative_carbon_pool_accepted_silently() {
    let c = pools_case();
    let before = good_run(&c);
    // Class 2 (line 4): c_below (column 3) made negative.
    c.write(
        "pools.csv",
        &replace_first(pools(), "\n2,5.0,3.0,", "\n2,5.0,-3.0,"),
    );
    let out = c.run();
    let needles = ["pools.csv:4:3", "c_below", "-3.0", "lucode 2"];
    assert_rejected_keeping(&c, &out, &before, &needles);
    assert_check_rejects(&c, "pools.csv", &needles);
}

#[test]
fn infinite_carbon_pool() {
    let c = pools_case();
    let before = good_run(&c);
    // Class 1 (line 3): c_soil (column 4).
    c.write(
        "pools.csv",
        &replace_first(pools(), "\n1,15.0,10.0,60.0,", "\n1,15.0,10.0,inf,"),
    );
    let out = c.run();
    let needles = ["pools.csv:3:4", "c_soil", "inf", "finite"];
    assert_rejected_keeping(&c, &out, &before, &needles);
    assert_check_rejects(&c, "pools.csv", &needles);
}

#[test]
fn negative_price_without_declaration() {
    let c = valuation_case(&same, &same);
    let before = good_run(&c);
    let coef = replace_first(
        builtin_data("coefficients/xie2015.csv"),
        "dry_farmland,esv_food,0.85,",
        "dry_farmland,esv_food,-0.85,",
    );
    c.write("coef.csv", &coef);
    let out = c.run();
    // The first row of the table is on line 14 (13 preamble lines, the header).
    let needles = [
        "coef.csv:14:3",
        "-0.85",
        "dry_farmland / esv_food",
        "may_be_negative",
    ];
    assert_rejected_keeping(&c, &out, &before, &needles);
    assert_check_rejects(&c, "coef.csv", &needles);
}

/// Xie et al. 2015's negative paddy water supply loads only because the set declares it:
/// without the declaration it is an error.
#[test]
fn published_negative_without_its_declaration() {
    let c = valuation_case(&same, &same);
    let before = good_run(&c);
    let coef: String = builtin_data("coefficients/xie2015.csv")
        .lines()
        .filter(|l| !l.starts_with("# may_be_negative"))
        .map(|l| format!("{l}\n"))
        .collect();
    let line = coef
        .lines()
        .position(|l| l.starts_with("paddy,esv_water_supply,-2.63,"))
        .unwrap()
        + 1;
    c.write("coef.csv", &coef);
    let out = c.run();
    let at = format!("coef.csv:{line}:3");
    let needles = [at.as_str(), "-2.63", "paddy/esv_water_supply"];
    assert_rejected_keeping(&c, &out, &before, &needles);
    assert_check_rejects(&c, "coef.csv", &needles);
}

#[test]
fn negative_quantity_without_declaration() {
    let c = Case::standard();
    let profile = builtin_data("coefficients/zj-db33-2274-profile.csv");
    c.write("coef.csv", &profile);
    c.config(
        "",
        COUNTY_ZONES,
        "[valuation]\ncoefficients = \"coef.csv\"\ncrosswalk = \"modis-igbp-mcd12c1\"\n",
    );
    let before = good_run(&c);
    let coef = replace_first(profile, ",元/ha/a,7256.0,m3,", ",元/ha/a,-7256.0,m3,");
    let line = coef.lines().position(|l| l.contains("-7256.0")).unwrap() + 1;
    c.write("coef.csv", &coef);
    let out = c.run();
    let at = format!("coef.csv:{line}:5");
    let needles = [at.as_str(), "quantity_per_ha", "-7256.0"];
    assert_rejected_keeping(&c, &out, &before, &needles);
    assert_check_rejects(&c, "coef.csv", &needles);
}

#[test]
fn equivalent_value_zero() {
    let c = valuation_case(&same, &same);
    let before = good_run(&c);
    c.write(
        "coef.csv",
        &replace_first(
            builtin_data("coefficients/xie2015.csv"),
            "# equivalent_value = 3406.5",
            "# equivalent_value = 0",
        ),
    );
    let out = c.run();
    let needles = ["coef.csv:8:22", "equivalent_value", "not positive"];
    assert_rejected_keeping(&c, &out, &before, &needles);
    assert_check_rejects(&c, "coef.csv", &needles);
}

/// xie2015 restated from 2010 to 2020 prices with a deflator table `cpi.csv`.
fn deflated_case(cpi: &str) -> Case {
    let c = Case::standard();
    c.write("cpi.csv", cpi);
    c.config(
        "",
        COUNTY_ZONES,
        "[valuation]\ncoefficients = \"xie2015\"\ncrosswalk = \"modis-igbp-mcd12c1\"\ntarget_price_year = 2020\ndeflator = \"cpi.csv\"\n",
    );
    c
}

#[test]
fn deflator_index_not_positive() {
    let c = deflated_case("# id = \"cpi\"\nyear,index\n2010,100\n2020,125.5\n");
    let before = good_run(&c);
    for (bad, needle) in [
        ("0", "not positive"),
        ("-125.5", "not positive"),
        ("NaN", "finite"),
    ] {
        c.write(
            "cpi.csv",
            &format!("# id = \"cpi\"\nyear,index\n2010,100\n2020,{bad}\n"),
        );
        let out = c.run();
        assert_rejected_keeping(&c, &out, &before, &["cpi.csv:4:2", bad, needle]);
    }
}
