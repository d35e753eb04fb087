//! Every number of a coefficient, pool or deflator table is checked for its kind (issue 10):
//! stocks, quantities and prices are finite and ≥ 0 unless the set declares a negative;
//! deflator indices are finite and > 0. Each rejection names file:line:column, the value and
//! the fix.

use gep_core::coefficients::{CoefValue, CoefficientSet, Deflator};

/// A flow set's preamble (`extra` preamble lines first) and header, rows on line 7 onwards
/// (plus one line per `extra` line).
fn flow(extra: &str, rows: &str) -> String {
    format!(
        "{extra}# id = \"t\"\n# version = \"1\"\n# price_year = 2010\n# currency = \"CNY\"\n# equivalent_value = 3406.5\necosystem_type,service,value,unit,quantity_per_ha,quantity_unit\n{rows}"
    )
}

fn set_err(text: &str) -> String {
    CoefficientSet::from_csv_str(text, "set.csv")
        .unwrap_err()
        .to_string()
}

fn defl_err(text: &str) -> String {
    Deflator::from_csv_str(text, "cpi.csv")
        .unwrap_err()
        .to_string()
}

const POOLS: &str = "lucode,c_above,c_below,c_soil,c_dead\n";

#[test]
fn regression_negative_carbon_pool_accepted_silently() {
    let e = set_err(&format!("{POOLS}1,15,10,60,1\n2,5,-3,20,0\n"));
    assert!(
        e.starts_with("set.csv:3:3:")
            && e.contains("c_below")
            && e.contains("-3")
            && e.contains("lucode 2")
            && e.contains("fix:"),
        "{e}"
    );
    // A pool of zero (an empty pool) is fine, and so is the fixture's table.
    let ok = CoefficientSet::from_csv_str(&format!("{POOLS}4,0,0,0,0\n"), "c.csv").unwrap();
    assert_eq!(ok.entries[0].value, CoefValue::Value(0.0));
}

#[test]
fn carbon_pool_table_cannot_declare_negatives() {
    let e = set_err(&format!(
        "# may_be_negative = [\"carbon_stock\"]\n{POOLS}1,1,1,1,1\n"
    ));
    assert!(
        e.starts_with("set.csv:1:21:") && e.contains("never negative"),
        "{e}"
    );
}

#[test]
fn non_finite_pool_and_value_and_quantity() {
    for bad in ["inf", "-inf", "NaN", "1e999"] {
        let e = set_err(&format!("{POOLS}1,1,1,{bad},1\n"));
        assert!(
            e.starts_with("set.csv:2:4:") && e.contains("not a finite number"),
            "{bad}: {e}"
        );
        let e = set_err(&flow("", &format!("paddy,esv_food,{bad},元/ha/a,,\n")));
        assert!(
            e.starts_with("set.csv:7:3:") && e.contains("not a finite number"),
            "{bad}: {e}"
        );
        let e = set_err(&flow("", &format!("paddy,esv_food,1,元/ha/a,{bad},t\n")));
        assert!(
            e.starts_with("set.csv:7:5:") && e.contains("not a finite number"),
            "{bad}: {e}"
        );
    }
}

#[test]
fn negative_price_without_declaration_is_an_error() {
    let e = set_err(&flow("", "paddy,esv_food,-120.5,元/ha/a,,\n"));
    assert!(
        e.starts_with("set.csv:7:3:")
            && e.contains("-120.5")
            && e.contains("paddy / esv_food")
            && e.contains("may_be_negative = [\"paddy/esv_food\"]"),
        "{e}"
    );
    // The same in 元/亩 and as an equivalent factor.
    let e = set_err(&flow("", "water,esv_food,-1,元/亩/a,,\n"));
    assert!(e.starts_with("set.csv:7:3:"), "{e}");
    let e = set_err(&flow("", "water,esv_food,-0.5,equivalent,,\n"));
    assert!(e.starts_with("set.csv:7:3:") && e.contains("-0.5"), "{e}");
}

#[test]
fn negative_quantity_without_declaration_is_an_error() {
    let e = set_err(&flow("", "paddy,water_supply,2.6,元/ha/a,-1500,m3\n"));
    assert!(
        e.starts_with("set.csv:7:5:")
            && e.contains("column quantity_per_ha")
            && e.contains("-1500"),
        "{e}"
    );
}

#[test]
fn declared_negatives_are_kept_as_given() {
    // One row declared.
    let s = CoefficientSet::from_csv_str(
        &flow(
            "# may_be_negative = [\"paddy/esv_water_supply\"]\n",
            "paddy,esv_water_supply,-2.63,equivalent,,\nwater,esv_water_supply,8.29,equivalent,,\n",
        ),
        "set.csv",
    )
    .unwrap();
    assert_eq!(
        s.get("paddy", "esv_water_supply").unwrap().value,
        CoefValue::Value(-2.63)
    );
    assert_eq!(s.may_be_negative, vec!["paddy/esv_water_supply"]);
    // The declaration covers that row only: the same service of another type is still checked.
    let e = set_err(&flow(
        "# may_be_negative = [\"paddy/esv_water_supply\"]\n",
        "paddy,esv_water_supply,-2.63,equivalent,,\nwater,esv_water_supply,-8.29,equivalent,,\n",
    ));
    assert!(
        e.starts_with("set.csv:9:3:") && e.contains("water / esv_water_supply"),
        "{e}"
    );
    // A bare service covers every row of it, value and quantity.
    let s = CoefficientSet::from_csv_str(
        &flow(
            "# may_be_negative = [\"water_supply\"]\n",
            "paddy,water_supply,-100,元/ha/a,-40,m3\ndry_farmland,water_supply,-50,元/ha/a,-20,m3\n",
        ),
        "set.csv",
    )
    .unwrap();
    assert_eq!(
        s.get("dry_farmland", "water_supply")
            .unwrap()
            .quantity_per_ha,
        Some(-20.0)
    );
    // Zero is never negative.
    CoefficientSet::from_csv_str(&flow("", "paddy,esv_food,0,元/ha/a,0,t\n"), "set.csv").unwrap();
}

#[test]
fn the_builtin_xie2015_declares_its_published_negative() {
    let s = CoefficientSet::builtin("xie2015").unwrap();
    assert!(s
        .may_be_negative
        .contains(&"paddy/esv_water_supply".to_string()));
    for e in &s.entries {
        if matches!(e.value, CoefValue::Value(v) if v < 0.0) {
            assert_eq!(e.service, "esv_water_supply", "{e:?}");
        }
    }
    // Every built-in set loads under the sign rules.
    for id in CoefficientSet::builtin_ids() {
        CoefficientSet::builtin(id).unwrap_or_else(|e| panic!("{id}: {e}"));
    }
}

#[test]
fn bad_declarations_name_the_preamble_line() {
    let e = set_err(&flow("# may_be_negative = [\"paddy/esv_rainbows\"]\n", ""));
    assert!(
        e.starts_with("set.csv:1:21:") && e.contains("esv_rainbows"),
        "{e}"
    );
    let e = set_err(&flow("# may_be_negative = [\"jungle/esv_food\"]\n", ""));
    assert!(
        e.starts_with("set.csv:1:21:") && e.contains("jungle"),
        "{e}"
    );
    // A stock set cannot declare negatives, and its values are never negative.
    let stock = "# id = \"s\"\n# version = \"1\"\n# kind = \"stock\"\n# key = \"class\"\n";
    let e = set_err(&format!(
        "{stock}# may_be_negative = [\"carbon_stock\"]\nclass,service,value,unit\n1,carbon_stock,5,t C/ha\n"
    ));
    assert!(
        e.starts_with("set.csv:5:21:") && e.contains("stock set"),
        "{e}"
    );
    let e = set_err(&format!(
        "{stock}class,service,value,unit\n1,carbon_stock,-5,t C/ha\n"
    ));
    assert!(
        e.starts_with("set.csv:6:3:") && e.contains("-5") && e.contains("never below zero"),
        "{e}"
    );
}

#[test]
fn equivalent_value_must_be_positive() {
    for d in ["0", "-3406.5", "0.0"] {
        let text = flow("", "paddy,esv_food,1,equivalent,,\n").replace(
            "equivalent_value = 3406.5",
            &format!("equivalent_value = {d}"),
        );
        let e = set_err(&text);
        assert!(
            e.starts_with("set.csv:5:22:") && e.contains("not positive"),
            "{d}: {e}"
        );
    }
    let text = flow("", "").replace("equivalent_value = 3406.5", "equivalent_value = nan");
    let e = set_err(&text);
    assert!(
        e.starts_with("set.csv:5:22:") && e.contains("finite"),
        "{e}"
    );
}

#[test]
fn deflator_index_must_be_finite_and_positive() {
    for bad in ["0", "-100", "0.0"] {
        let e = defl_err(&format!("year,index\n2010,100\n2020,{bad}\n"));
        assert!(
            e.starts_with("cpi.csv:3:2:")
                && e.contains(&format!("index {bad} for year 2020 is not positive"))
                && e.contains("fix:"),
            "{bad}: {e}"
        );
    }
    for bad in ["NaN", "inf", "-inf"] {
        let e = defl_err(&format!("year,index\n2010,{bad}\n"));
        assert!(
            e.starts_with("cpi.csv:2:2:") && e.contains("not a finite number"),
            "{bad}: {e}"
        );
    }
    let d = Deflator::from_csv_str(
        "# id = \"cpi\"\nyear,index\n2010,100\n2020,0.5\n",
        "cpi.csv",
    )
    .unwrap();
    assert_eq!(d.factor(2010, 2020).unwrap(), 0.005);
}

/// The Xie 2015 citation used to name "Zhen Lin" and leave out Chen Wenhui and Li Shimei: the
/// paper's authors are 谢高地, 张彩霞, 张雷明, 陈文辉, 李士美, in the set's citation and in
/// every row citing the paper.
#[test]
fn regression_xie2015_citation_names_the_five_authors() {
    let set = gep_core::CoefficientSet::builtin("xie2015").unwrap();
    let authors = "Xie Gaodi, Zhang Caixia, Zhang Leiming, Chen Wenhui, Li Shimei";
    assert!(set.citation.contains(authors), "{}", set.citation);
    assert!(set
        .citation
        .contains("谢高地, 张彩霞, 张雷明, 陈文辉, 李士美"));
    assert!(!set.citation.contains("Zhen"));
    let citing: Vec<_> = set
        .entries
        .iter()
        .filter(|e| e.citation.contains("基于单位面积价值当量因子"))
        .collect();
    assert!(citing.len() > 100);
    for e in citing {
        assert!(
            e.citation
                .starts_with("谢高地, 张彩霞, 张雷明, 陈文辉, 李士美"),
            "line {}: {}",
            e.line,
            e.citation
        );
    }
}
