//! What a total is: GEP or an equivalent-factor ESV, complete or partial, at which prices, and
//! how much of it rests on example, derived or unverified coefficients.
//!
//! A total is only worth what its label says (GEP-METHOD.md §3 "ESV is not GEP"):
//! - a set valued by **equivalent factors** (Xie et al. 2015) yields an ecosystem-service value
//!   (ESV) that includes supporting services (nutrient cycling, biodiversity), which GEP
//!   excludes. Its total is labelled [`TotalKind::Esv`]; the supporting services are shown
//!   apart ([`crate::account::GepRow::supporting_yuan`]) beside the final-services subtotal
//!   ([`crate::account::GepRow::final_yuan`]);
//! - a set that prices only part of its edition's service list (its `catalogue` preamble line)
//!   yields a **partial** total, with the missing services named;
//! - every total carries its **price year** ([`crate::ValuationParams::price_year`]).
//!
//! ```
//! use gep_core::label::{TotalKind, TotalLabel};
//! use gep_core::{CoefficientSet, ValuationParams};
//! let xie = CoefficientSet::builtin("xie2015").unwrap();
//! let l = TotalLabel::new(&xie, &ValuationParams::default());
//! assert_eq!(l.kind, TotalKind::Esv);
//! assert!(l.includes_supporting && !l.partial());
//! assert_eq!(l.price_year, Some(2010));
//! let profile = CoefficientSet::builtin("zj-db33-2274-profile").unwrap();
//! let l = TotalLabel::new(&profile, &ValuationParams::default());
//! assert_eq!(l.kind, TotalKind::Gep);
//! assert!(l.partial());
//! assert_eq!(l.missing_services.len(), 16);
//! ```

use crate::account::AccountRow;
use crate::catalog::{Catalog, Category};
use crate::coefficients::{CoefUnit, CoefficientSet, SetKind, ValuationParams};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of total a run yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TotalKind {
    /// Gross ecosystem product: final services only (material + regulating + cultural).
    Gep,
    /// Ecosystem-service value by equivalent factors (an "equivalent-factor estimate"): Xie et
    /// al. 2015's services, supporting services included as Xie defines ESV.
    Esv,
    /// Stocks (e.g. InVEST carbon, t C): physical quantities only, no money total.
    Stock,
}

impl TotalKind {
    /// The kind of total `set` yields: a stock set yields stocks; a set that uses the
    /// `equivalent` unit, or prices an equivalent-factor (`esv_*`) or supporting service,
    /// yields an ESV; any other flow set, GEP.
    pub fn of(set: &CoefficientSet) -> TotalKind {
        if set.kind == SetKind::Stock {
            return TotalKind::Stock;
        }
        let cat = Catalog::builtin();
        let esv_service = set.services.iter().any(|s| {
            s.starts_with("esv_")
                || cat
                    .service(s)
                    .is_some_and(|x| x.category == Category::Supporting)
        });
        let equivalents = set
            .entries
            .iter()
            .any(|e| e.unit == Some(CoefUnit::Equivalent));
        if esv_service || equivalents {
            TotalKind::Esv
        } else {
            TotalKind::Gep
        }
    }

    /// The name used in files (`gep`, `esv`, `stock`).
    pub fn as_str(self) -> &'static str {
        match self {
            TotalKind::Gep => "gep",
            TotalKind::Esv => "esv",
            TotalKind::Stock => "stock",
        }
    }

    /// The short name shown with a total: `GEP`, `ESV`, `stock`.
    pub fn short(self) -> &'static str {
        match self {
            TotalKind::Gep => "GEP",
            TotalKind::Esv => "ESV",
            TotalKind::Stock => "stock",
        }
    }
}

impl fmt::Display for TotalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The label every total of a run carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TotalLabel {
    /// GEP, ESV or stock.
    pub kind: TotalKind,
    /// Whether the headline total includes supporting services (an ESV's does; a GEP never).
    pub includes_supporting: bool,
    /// The edition's full service list the set declares (`catalogue`), empty when undeclared.
    pub catalogue: Vec<String>,
    /// The services of `catalogue` the set does not value, in catalogue order: the total is
    /// partial when there is any.
    pub missing_services: Vec<String>,
    /// The price year of every value (`None` for stocks).
    pub price_year: Option<i32>,
    /// How the price year came about (the set's, a D override's, or restated with a deflator).
    pub price_basis: String,
    /// The coefficient set, `id@version`.
    pub set: String,
    /// Whether the set declares itself example defaults (`example = true`).
    pub example_set: bool,
}

impl TotalLabel {
    /// The label of the totals `set` yields with `params`.
    pub fn new(set: &CoefficientSet, params: &ValuationParams) -> TotalLabel {
        let kind = TotalKind::of(set);
        let missing_services: Vec<String> = set
            .catalogue
            .iter()
            .filter(|s| !set.services.contains(s))
            .cloned()
            .collect();
        let price_year = params.price_year(set);
        let uses_d = set
            .entries
            .iter()
            .any(|e| e.unit == Some(CoefUnit::Equivalent));
        let price_basis = match (kind, params.target_price_year) {
            (TotalKind::Stock, _) => "stocks: not priced".to_string(),
            (_, Some(t)) => {
                let from = match (uses_d, params.equivalent_value) {
                    (true, Some(d)) => format!(
                        "D override {d} 元/ha/a at {} prices",
                        fmt_year(params.equivalent_value_price_year)
                    ),
                    _ => format!("set {} at {} prices", set.id, fmt_year(set.price_year)),
                };
                let defl = params
                    .deflator
                    .as_ref()
                    .map(|d| d.origin.as_str())
                    .unwrap_or("?");
                format!("{from}, restated to {t} prices with deflator {defl}")
            }
            (_, None) => match (uses_d, params.equivalent_value) {
                (true, Some(d)) => match params.equivalent_value_price_year {
                    Some(y) => format!("D override {d} 元/ha/a at {y} prices (d_price_year)"),
                    None => format!(
                        "D override {d} 元/ha/a, its price year not given: assumed the set's {}",
                        fmt_year(set.price_year)
                    ),
                },
                _ => format!("set {} at {} prices", set.id, fmt_year(set.price_year)),
            },
        };
        TotalLabel {
            kind,
            includes_supporting: kind == TotalKind::Esv,
            catalogue: set.catalogue.clone(),
            missing_services,
            price_year,
            price_basis,
            set: format!("{}@{}", set.id, set.version),
            example_set: set.example,
        }
    }

    /// Whether services of the edition's list are missing from the total.
    pub fn partial(&self) -> bool {
        !self.missing_services.is_empty()
    }

    /// The label in English, e.g. `ESV (equivalent-factor estimate, supporting services
    /// included), 2010 prices` or `GEP, PARTIAL: 1 of 17 services valued (missing: ...), 2010
    /// prices`.
    pub fn text_en(&self) -> String {
        let mut s = match self.kind {
            TotalKind::Gep => "GEP (final services only)".to_string(),
            TotalKind::Esv => {
                "ESV (equivalent-factor estimate, supporting services included; not GEP)".into()
            }
            TotalKind::Stock => "stocks (physical quantities, not valued)".into(),
        };
        if self.partial() {
            s.push_str(&format!(
                ", PARTIAL: {} of {} services valued (missing: {})",
                self.catalogue.len() - self.missing_services.len(),
                self.catalogue.len(),
                self.missing_services.join(", ")
            ));
        }
        if let Some(y) = self.price_year {
            s.push_str(&format!(", {y} prices"));
        }
        s
    }

    /// The label in Chinese, e.g. `ESV（当量因子法估算，含支持服务，非 GEP）· 2010 年价格`.
    pub fn text_zh(&self) -> String {
        let cat = Catalog::builtin();
        let mut s = match self.kind {
            TotalKind::Gep => "GEP（仅最终服务）".to_string(),
            TotalKind::Esv => "ESV（当量因子法估算，含支持服务，非 GEP）".into(),
            TotalKind::Stock => "存量（实物量，不计价值）".into(),
        };
        if self.partial() {
            let names: Vec<&str> = self
                .missing_services
                .iter()
                .map(|m| cat.service(m).map_or(m.as_str(), |x| x.zh.as_str()))
                .collect();
            s.push_str(&format!(
                " · 部分核算：{} 项服务中仅核算 {} 项（未核算：{}）",
                self.catalogue.len(),
                self.catalogue.len() - self.missing_services.len(),
                names.join("、")
            ));
        }
        if let Some(y) = self.price_year {
            s.push_str(&format!(" · {y} 年价格"));
        }
        s
    }
}

impl fmt::Display for TotalLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text_en())
    }
}

fn fmt_year(y: Option<i32>) -> String {
    y.map(|y| y.to_string()).unwrap_or_else(|| "?".into())
}

/// How much of a total rests on coefficients that are examples, derived by the engine or not
/// verified against their source (account rows flagged `example`, `derived`, `unverified`).
///
/// Shares are of Σ |value| (a negative value, such as paddy water supply, rests on its
/// coefficient as much as a positive one), so they stay within [0, 1].
///
/// # Units
/// 元 per year; shares in [0, 1].
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ValueBasis {
    /// Σ |value| of every valued row.
    pub value_yuan: f64,
    /// Σ |value| of rows flagged `example`.
    pub example_yuan: f64,
    /// Σ |value| of rows flagged `derived`.
    pub derived_yuan: f64,
    /// Σ |value| of rows flagged `unverified`.
    pub unverified_yuan: f64,
    /// Σ |value| of rows with any of the three flags.
    pub flagged_yuan: f64,
}

impl ValueBasis {
    /// The basis of `rows` (pass the rows of the zones whose total it qualifies, e.g. the
    /// top-level zones).
    pub fn of_rows<'a>(rows: impl IntoIterator<Item = &'a AccountRow>) -> ValueBasis {
        let mut b = ValueBasis::default();
        let (mut all, mut ex, mut de, mut un, mut any) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for r in rows {
            let Some(v) = r.value_yuan else { continue };
            let v = v.abs();
            let has = |f: &str| r.flags.split(';').any(|x| x == f);
            let (e, d, u) = (has("example"), has("derived"), has("unverified"));
            all.push(v);
            if e {
                ex.push(v);
            }
            if d {
                de.push(v);
            }
            if u {
                un.push(v);
            }
            if e || d || u {
                any.push(v);
            }
        }
        use crate::account::neumaier_sum;
        b.value_yuan = neumaier_sum(all);
        b.example_yuan = neumaier_sum(ex);
        b.derived_yuan = neumaier_sum(de);
        b.unverified_yuan = neumaier_sum(un);
        b.flagged_yuan = neumaier_sum(any);
        b
    }

    fn share(&self, part: f64) -> f64 {
        if self.value_yuan > 0.0 {
            part / self.value_yuan
        } else {
            0.0
        }
    }

    /// Share resting on example values.
    pub fn example_share(&self) -> f64 {
        self.share(self.example_yuan)
    }

    /// Share resting on derived values.
    pub fn derived_share(&self) -> f64 {
        self.share(self.derived_yuan)
    }

    /// Share resting on unverified values.
    pub fn unverified_share(&self) -> f64 {
        self.share(self.unverified_yuan)
    }

    /// Share resting on example, derived or unverified values.
    pub fn flagged_share(&self) -> f64 {
        self.share(self.flagged_yuan)
    }

    /// One line: `52.8 % of the value rests on example, derived or unverified coefficients
    /// (example 0.0 %, derived 52.8 %, unverified 3.1 %)`.
    pub fn text_en(&self) -> String {
        format!(
            "{:.1} % of the value rests on example, derived or unverified coefficients (example {:.1} %, derived {:.1} %, unverified {:.1} %)",
            100.0 * self.flagged_share(),
            100.0 * self.example_share(),
            100.0 * self.derived_share(),
            100.0 * self.unverified_share()
        )
    }

    /// The same in Chinese.
    pub fn text_zh(&self) -> String {
        format!(
            "{:.1} % 的价值量依据示例、推导或未核实的系数（示例 {:.1} %，推导 {:.1} %，未核实 {:.1} %）",
            100.0 * self.flagged_share(),
            100.0 * self.example_share(),
            100.0 * self.derived_share(),
            100.0 * self.unverified_share()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_of_the_builtin_sets() {
        let p = ValuationParams::default();
        let l = |id: &str| TotalLabel::new(&CoefficientSet::builtin(id).unwrap(), &p);
        let xie = l("xie2015");
        assert_eq!((xie.kind, xie.partial()), (TotalKind::Esv, false));
        assert!(xie.text_en().starts_with("ESV (equivalent-factor estimate"));
        assert!(xie.text_zh().contains("当量因子") && xie.text_zh().contains("2010 年价格"));
        let profile = l("zj-db33-2274-profile");
        assert_eq!(profile.kind, TotalKind::Gep);
        assert!(!profile.includes_supporting);
        assert_eq!(profile.catalogue.len(), 17);
        assert!(!profile
            .missing_services
            .contains(&"water_conservation".to_string()));
        assert_eq!(profile.missing_services[0], "agriculture_products");
        assert!(profile.text_en().contains("PARTIAL: 1 of 17"), "{profile}");
        assert!(
            profile.text_zh().contains("农业产品"),
            "{}",
            profile.text_zh()
        );
        let carbon = l("invest-carbon-willamette");
        assert_eq!((carbon.kind, carbon.price_year), (TotalKind::Stock, None));
    }

    #[test]
    fn a_full_gep_set_is_not_partial() {
        let t = "# id = \"full\"\n# version = \"1\"\n# price_year = 2015\n# currency = \"CNY\"\n# catalogue = [\"water_conservation\", \"air_purification\"]\necosystem_type,service,value,unit\nforest,water_conservation,10,元/ha/a\nforest,air_purification,2,元/ha/a\n";
        let set = CoefficientSet::from_csv_str(t, "full.csv").unwrap();
        let l = TotalLabel::new(&set, &ValuationParams::default());
        assert_eq!(l.kind, TotalKind::Gep);
        assert!(!l.partial());
        assert_eq!(l.text_en(), "GEP (final services only), 2015 prices");
    }
}
