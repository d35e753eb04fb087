//! Coefficient sets: versioned per-area values by (ecosystem type, service), deflators that
//! restate prices in a target year, and the InVEST carbon table as a stock set.
//!
//! # File format (flow sets)
//! CSV with a `#` TOML preamble (see [`crate::catalog`]). Preamble keys: `id`, `version`,
//! `price_year` (integer), `currency` (required for flow sets); `edition`, `citation`, `notes`,
//! `kind` (`flow` default, or `stock`), `key` (`ecosystem_type` default, or `class` for sets
//! keyed directly by land-cover code), `equivalent_value` (D, 元/ha/a, required when a row uses
//! the unit `equivalent`), `services` (the services the set prices; default: all in the rows),
//! `catalogue` (the standard's full service list), `example` (bool), `may_be_negative` (see
//! below).
//! Columns: `ecosystem_type` (or `class`), `service`, `value` (a finite number, or `NA` =
//! explicitly not applicable), `unit` (`元/ha/a` = `元/hm2/a` = `yuan/ha/a`, `元/亩/a` =
//! `yuan/mu/a`, `equivalent` = factor × D, `t C/ha` for stocks); optional `quantity_per_ha`,
//! `quantity_unit`, `verified` (`true`/`false`, default true), `flags` (`;`-separated), `citation`.
//!
//! # Signs
//! Every number is finite. Values and quantities are ≥ 0 unless the set declares otherwise:
//! a published table may give a negative value (Xie et al. 2015 prices paddy fields' water
//! supply at −2.63 equivalents: paddies consume water), so a flow set lists where negatives
//! are expected, in the preamble:
//!
//! ```text
//! # may_be_negative = ["paddy/esv_water_supply"]
//! ```
//!
//! An item is `ecosystem_type/service` (`class/service` in class-keyed sets) for one row, or a
//! bare `service` for every row of that service. A negative value or quantity in a row the
//! list does not cover is an error naming the file, line and column: a sign slip must not
//! silently subtract from GEP. Declared negatives are kept as given, never clamped. Stock sets
//! cannot declare negatives (a stock is never below zero), and D (`equivalent_value`) must
//! be > 0.
//!
//! # InVEST carbon tables
//! A CSV whose header has `lucode,c_above,c_below,c_soil,c_dead` (t C/ha; extra columns such as
//! `lulc_name` ignored; an optional `#` preamble may give `id`, `version`, `citation`) loads as a
//! **stock** set keyed by land-cover code: service `carbon_stock`, quantity in t C, no money value.
//! Every pool must be finite and ≥ 0.
//!
//! Built-in ids: see [`CoefficientSet::builtin_ids`].

use crate::catalog::{parse_number, read_text, sha256_hex, Catalog, Category, DataFile};
use crate::error::CoreError;
use crate::raster::ClassCode;
use crate::units::{M2_PER_HA, M2_PER_MU};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Mu (亩) in one hectare: exactly 15 (1 亩 = 10,000/15 m²).
pub const MU_PER_HA: f64 = 15.0;

const BUILTIN: &[(&str, &str)] = &[
    ("xie2015", include_str!("../data/coefficients/xie2015.csv")),
    (
        "zj-db33-2274-profile",
        include_str!("../data/coefficients/zj-db33-2274-profile.csv"),
    ),
    (
        "invest-carbon-willamette",
        include_str!("../data/coefficients/invest-carbon-willamette.csv"),
    ),
];

/// Whether a set values flows (元/a) or reports stocks (physical only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SetKind {
    /// Yearly flows valued in yuan.
    Flow,
    /// Stocks reported as physical quantities only (never as yuan).
    Stock,
}

/// What a set's rows are keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SetKey {
    /// Ecosystem types (reached from land cover through a crosswalk).
    EcosystemType,
    /// Land-cover class codes directly (no crosswalk), as InVEST tables.
    Class,
}

/// The unit of a coefficient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CoefUnit {
    /// 元 per hectare per year.
    YuanPerHa,
    /// 元 per mu (亩) per year; 15 亩 = 1 ha exactly.
    YuanPerMu,
    /// Equivalent factor: value = factor × D 元/ha/a (Xie et al. 2015).
    Equivalent,
    /// Tonnes of carbon per hectare (a stock).
    TonnesCPerHa,
}

impl CoefUnit {
    /// Parses a unit string.
    pub fn parse(s: &str) -> Option<CoefUnit> {
        let n: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_lowercase();
        match n.as_str() {
            "元/ha/a" | "元/hm2/a" | "元/hm²/a" | "yuan/ha/a" | "cny/ha/a" | "元/(ha·a)"
            | "元/(hm2·a)" => Some(CoefUnit::YuanPerHa),
            "元/亩/a" | "yuan/mu/a" | "cny/mu/a" | "元/(亩·a)" => Some(CoefUnit::YuanPerMu),
            "equivalent" | "当量" | "equivalent_factor" => Some(CoefUnit::Equivalent),
            "tc/ha" | "tc/hm2" => Some(CoefUnit::TonnesCPerHa),
            _ => None,
        }
    }

    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CoefUnit::YuanPerHa => "元/ha/a",
            CoefUnit::YuanPerMu => "元/亩/a",
            CoefUnit::Equivalent => "equivalent",
            CoefUnit::TonnesCPerHa => "t C/ha",
        }
    }
}

/// A coefficient's value: a number, or explicitly not applicable.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum CoefValue {
    /// A value in the entry's unit (may be negative).
    Value(f64),
    /// The service does not apply to this ecosystem type (`NA` in the file).
    NotApplicable,
}

/// One entry of a set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coefficient {
    /// Ecosystem type code, or the class code as text for class-keyed sets.
    pub key: String,
    /// The class code, for class-keyed sets.
    pub class: Option<ClassCode>,
    /// Service code.
    pub service: String,
    /// The value.
    pub value: CoefValue,
    /// Its unit (`None` only for NA entries without a unit).
    pub unit: Option<CoefUnit>,
    /// Physical quantity per ha per year (or stock per ha), when the set gives one.
    pub quantity_per_ha: Option<f64>,
    /// Unit of that quantity (`m3`, `t C`).
    pub quantity_unit: Option<String>,
    /// False when the value was not checked against its source.
    pub verified: bool,
    /// Flags (`derived`, `example`, ...).
    pub flags: Vec<String>,
    /// Where the value comes from.
    pub citation: String,
    /// How it was formed (e.g. the InVEST pools), for the `method` column.
    pub detail: Option<String>,
    /// File line.
    pub line: usize,
}

/// A versioned coefficient set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoefficientSet {
    /// Identifier (`xie2015`).
    pub id: String,
    /// Version.
    pub version: String,
    /// Edition of the standard or paper.
    pub edition: String,
    /// Price year of the values (`None` for stock sets).
    pub price_year: Option<i32>,
    /// Currency (`CNY`).
    pub currency: String,
    /// Citation of the set as a whole.
    pub citation: String,
    /// Documented choices.
    pub notes: String,
    /// Flow or stock.
    pub kind: SetKind,
    /// Keyed by ecosystem type or by land-cover class.
    pub key: SetKey,
    /// D, the value of one equivalent factor in 元/ha/a, when the set uses equivalents.
    pub equivalent_value: Option<f64>,
    /// The services the set prices, in account order.
    pub services: Vec<String>,
    /// The standard's full service catalogue, when declared.
    pub catalogue: Vec<String>,
    /// Whether the values are example defaults, to be replaced by an official table.
    pub example: bool,
    /// The `may_be_negative` declaration: `type/service` items (one row) or bare `service`
    /// items (every row of it) whose values and quantities may be below zero.
    pub may_be_negative: Vec<String>,
    /// Where it was loaded from (`builtin:xie2015` or a path).
    pub origin: String,
    /// SHA-256 of the file text.
    pub sha256: String,
    /// The entries in file order.
    pub entries: Vec<Coefficient>,
    #[serde(skip)]
    index: BTreeMap<(String, String), usize>,
}

/// Parameters of a valuation run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValuationParams {
    /// Overrides D (元/ha/a) for equivalent-factor entries, at
    /// [`ValuationParams::equivalent_value_price_year`] (else at the set's price year).
    pub equivalent_value: Option<f64>,
    /// The price year of the D override (config key `d_price_year`). Required when prices are
    /// restated ([`ValuationParams::target_price_year`]): D is deflated from this year, never
    /// from the set's (which would deflate a current-price D a second time).
    pub equivalent_value_price_year: Option<i32>,
    /// Restates prices in this year (requires `deflator`).
    pub target_price_year: Option<i32>,
    /// The deflator used to restate prices.
    pub deflator: Option<Deflator>,
}

impl ValuationParams {
    /// Checks the parameters against `set`: a D override carries its own price year when prices
    /// are restated; a price year for D needs D; and values of two price years (a D override of
    /// another year beside 元/ha/a rows at the set's year) are restated to one year.
    ///
    /// # Errors
    /// [`CoreError::EquivalentValueYear`] naming the fix.
    pub fn check(&self, set: &CoefficientSet) -> Result<(), CoreError> {
        let err = |m: String| Err(CoreError::EquivalentValueYear { message: m });
        match (self.equivalent_value, self.equivalent_value_price_year) {
            (None, Some(y)) => {
                return err(format!("d_price_year = {y} is given without d: give the D override (元/hm² at {y} prices) or drop d_price_year"));
            }
            (Some(d), None) if self.target_price_year.is_some() => {
                return err(format!("d = {d} overrides the equivalent value D and prices are restated to {}, but D's own price year is not given: add d_price_year = <the year of D's prices> (D is deflated from that year; assuming the set's year {} would deflate a current-price D twice)", self.target_price_year.unwrap_or_default(), set.price_year.map(|y| y.to_string()).unwrap_or_else(|| "?".into())));
            }
            _ => {}
        }
        if let (Some(dy), Some(sy), None) = (
            self.equivalent_value_price_year,
            set.price_year,
            self.target_price_year,
        ) {
            let other = set.entries.iter().find(|e| {
                matches!(e.value, CoefValue::Value(_))
                    && !matches!(
                        e.unit,
                        Some(CoefUnit::Equivalent) | Some(CoefUnit::TonnesCPerHa)
                    )
            });
            if let (true, Some(e)) = (dy != sy, other) {
                return err(format!("the D override is at {dy} prices but coefficient set {} also has values in {} at its own {sy} prices (line {}): a total cannot mix two price years; give target_price_year and a deflator to restate both", set.id, e.unit.map(|u| u.as_str()).unwrap_or(""), e.line));
            }
        }
        Ok(())
    }

    /// The price year of the values `set` yields with these parameters: the target year when
    /// prices are restated; else the D override's year for an equivalent-factor set given a D
    /// with its year; else the set's (`None` for stock sets).
    pub fn price_year(&self, set: &CoefficientSet) -> Option<i32> {
        if set.kind == SetKind::Stock {
            return None;
        }
        if let Some(t) = self.target_price_year {
            return Some(t);
        }
        let uses_d = set
            .entries
            .iter()
            .any(|e| e.unit == Some(CoefUnit::Equivalent));
        match (
            uses_d,
            self.equivalent_value,
            self.equivalent_value_price_year,
        ) {
            (true, Some(_), Some(y)) => Some(y),
            _ => set.price_year,
        }
    }
}

/// A price index by year (CPI, GDP deflator, ...), to restate values from one price year to another.
///
/// File format: CSV `year,index` with an optional `#` preamble (`id`, `source`). Every index
/// is a finite number > 0 and every year appears once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deflator {
    /// Where it was loaded from.
    pub origin: String,
    /// Year → index.
    pub index: BTreeMap<i32, f64>,
}

impl Deflator {
    /// Parses a deflator CSV.
    pub fn from_csv_str(text: &str, file: &str) -> Result<Deflator, CoreError> {
        let df = DataFile::parse(text, file)?;
        let cy = df.column("year")?;
        let ci = df.column("index")?;
        let mut index = BTreeMap::new();
        let mut lines = BTreeMap::new();
        for (line, rec) in &df.records {
            let ys = DataFile::field(rec, Some(cy));
            let y: i32 = ys.parse().map_err(|_| {
                df.err(
                    *line,
                    cy,
                    format!("year {ys:?} is not an integer"),
                    "write the year as four digits",
                )
            })?;
            let is = DataFile::field(rec, Some(ci));
            let v = parse_number(&df, *line, ci, is)?;
            if v <= 0.0 {
                return Err(df.err(
                    *line,
                    ci,
                    format!("index {is} for year {y} is not positive"),
                    "a price index is > 0 (e.g. 100 in the base year): correct the value or drop the row",
                ));
            }
            if let Some(first) = lines.insert(y, *line) {
                return Err(df.err(
                    *line,
                    cy,
                    format!("year {y} appears twice (first on line {first})"),
                    "keep one index per year",
                ));
            }
            index.insert(y, v);
        }
        Ok(Deflator {
            origin: file.into(),
            index,
        })
    }

    /// Reads a deflator file.
    pub fn from_path(path: &Path) -> Result<Deflator, CoreError> {
        Deflator::from_csv_str(&read_text(path)?, &path.display().to_string())
    }

    /// The factor index\[to\] / index\[from\] that restates a `from`-year price in `to`-year prices.
    pub fn factor(&self, from: i32, to: i32) -> Result<f64, CoreError> {
        let get = |y: i32| {
            self.index
                .get(&y)
                .copied()
                .ok_or_else(|| CoreError::DeflatorYear {
                    file: self.origin.clone(),
                    year: y,
                    available: match (self.index.keys().next(), self.index.keys().next_back()) {
                        (Some(a), Some(b)) => format!("{a}-{b} ({} years)", self.index.len()),
                        _ => "no years".into(),
                    },
                })
        };
        Ok(get(to)? / get(from)?)
    }
}

/// A resolved per-hectare value of one entry.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitValue {
    /// 元/ha/a in `price_year` prices (`None` for stocks).
    pub yuan_per_ha: Option<f64>,
    /// Stock per ha (t C/ha) for stock sets.
    pub stock_per_ha: Option<f64>,
    /// The price year of `yuan_per_ha`.
    pub price_year: Option<i32>,
    /// How the value was formed, e.g. `2.17 equivalent × D 3406.5 元/ha/a`.
    pub method: String,
}

impl CoefficientSet {
    /// The ids of the built-in sets.
    pub fn builtin_ids() -> Vec<&'static str> {
        BUILTIN.iter().map(|(id, _)| *id).collect()
    }

    /// A built-in set.
    pub fn builtin(id: &str) -> Result<CoefficientSet, CoreError> {
        match BUILTIN.iter().find(|(i, _)| *i == id) {
            Some((i, text)) => CoefficientSet::from_csv_str(text, &format!("builtin:{i}")),
            None => Err(CoreError::UnknownBuiltin {
                kind: "coefficient set",
                id: id.into(),
                available: CoefficientSet::builtin_ids().join(", "),
            }),
        }
    }

    /// A built-in id, or else a path to a coefficient CSV (or InVEST carbon table).
    pub fn load(spec: &str) -> Result<CoefficientSet, CoreError> {
        if BUILTIN.iter().any(|(i, _)| *i == spec) {
            return CoefficientSet::builtin(spec);
        }
        let p = Path::new(spec);
        if p.exists() || spec.ends_with(".csv") {
            return CoefficientSet::from_path(p);
        }
        CoefficientSet::builtin(spec)
    }

    /// Reads a set file (coefficient CSV or InVEST carbon table).
    pub fn from_path(path: &Path) -> Result<CoefficientSet, CoreError> {
        let text = read_text(path)?;
        let mut set = CoefficientSet::from_csv_str(&text, &path.display().to_string())?;
        if set.id.is_empty() {
            set.id = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
        }
        Ok(set)
    }

    /// Parses a set; an InVEST carbon table is recognised by its `lucode` column.
    pub fn from_csv_str(text: &str, file: &str) -> Result<CoefficientSet, CoreError> {
        let df = DataFile::parse(text, file)?;
        if df.opt_column("lucode").is_some() {
            return CoefficientSet::invest_carbon(&df, text);
        }
        let cat = Catalog::builtin();
        let req = |k: &str, ex: &str| {
            df.meta_err(
                k,
                "missing",
                format!("add `# {k} = {ex}` at the top of the file"),
            )
        };
        let id = df.meta_str("id")?.ok_or_else(|| req("id", "\"my-set\""))?;
        let version = df
            .meta_str("version")?
            .ok_or_else(|| req("version", "\"1\""))?;
        let kind = match df.meta_str("kind")?.as_deref() {
            None | Some("flow") => SetKind::Flow,
            Some("stock") => SetKind::Stock,
            Some(o) => {
                return Err(df.meta_err("kind", format!("unknown kind {o:?}"), "use flow or stock"))
            }
        };
        let key = match df.meta_str("key")?.as_deref() {
            None | Some("ecosystem_type") => SetKey::EcosystemType,
            Some("class") => SetKey::Class,
            Some(o) => {
                return Err(df.meta_err(
                    "key",
                    format!("unknown key {o:?}"),
                    "use ecosystem_type or class",
                ))
            }
        };
        let price_year = match df.meta_int("price_year")? {
            Some(y) => Some(i32::try_from(y).map_err(|_| {
                df.meta_err("price_year", "out of range", "write a year such as 2010")
            })?),
            None if kind == SetKind::Flow => return Err(req("price_year", "2010")),
            None => None,
        };
        let currency = match df.meta_str("currency")? {
            Some(c) => c,
            None if kind == SetKind::Flow => return Err(req("currency", "\"CNY\"")),
            None => String::new(),
        };
        let equivalent_value = df.meta_f64("equivalent_value")?;
        if let Some(d) = equivalent_value.filter(|d| *d <= 0.0) {
            return Err(df.meta_err(
                "equivalent_value",
                format!("D = {d} is not positive"),
                "D is the value of one equivalent factor in 元/ha/a at the set's price year, > 0 (Xie et al. 2015: 3406.5)",
            ));
        }
        let may_be_negative = df.meta_list("may_be_negative")?.unwrap_or_default();
        check_negative_declaration(&df, cat, kind, key, &may_be_negative)?;
        let example = matches!(df.meta.get("example"), Some(toml::Value::Boolean(true)));
        let c_key = match key {
            SetKey::EcosystemType => df.column("ecosystem_type")?,
            SetKey::Class => df.column("class")?,
        };
        let c_svc = df.column("service")?;
        let c_val = df.column("value")?;
        let c_unit = df.column("unit")?;
        let c_q = df.opt_column("quantity_per_ha");
        let c_qu = df.opt_column("quantity_unit");
        let c_ver = df.opt_column("verified");
        let c_flags = df.opt_column("flags");
        let c_cit = df.opt_column("citation");
        let mut entries = Vec::new();
        let mut index = BTreeMap::new();
        for (line, rec) in &df.records {
            let line = *line;
            let k = DataFile::field(rec, Some(c_key));
            if k.is_empty() {
                return Err(df.err(
                    line,
                    c_key,
                    "blank key",
                    "enter the ecosystem type (or class code)",
                ));
            }
            let class = match key {
                SetKey::EcosystemType => {
                    if cat.ecosystem(k).is_none() {
                        return Err(df.err(
                            line,
                            c_key,
                            format!("unknown ecosystem type {k:?}"),
                            format!("use one of: {}", cat.ecosystem_codes()),
                        ));
                    }
                    None
                }
                SetKey::Class => Some(k.parse::<ClassCode>().map_err(|_| {
                    df.err(
                        line,
                        c_key,
                        format!("class {k:?} is not an integer"),
                        "write the land-cover code as digits",
                    )
                })?),
            };
            let s = DataFile::field(rec, Some(c_svc));
            let svc = match cat.service(s) {
                Some(svc) => svc,
                None if s.is_empty() => {
                    return Err(df.err(
                        line,
                        c_svc,
                        "blank service",
                        "enter a service code from the catalogue",
                    ))
                }
                None => {
                    let known = cat
                        .services
                        .iter()
                        .map(|s| s.code.as_str())
                        .collect::<Vec<_>>()
                        .join(", ");
                    return Err(df.err(
                        line,
                        c_svc,
                        format!("unknown service {s:?}"),
                        format!("use one of: {known}"),
                    ));
                }
            };
            if (svc.category == Category::Stock) != (kind == SetKind::Stock) {
                return Err(df.err(
                    line,
                    c_svc,
                    format!(
                        "service {s} is a {} but the set is a {kind:?} set",
                        svc.category
                    ),
                    "put stocks and flows in separate sets (kind = \"stock\" or \"flow\")",
                ));
            }
            let vs = DataFile::field(rec, Some(c_val));
            let us = DataFile::field(rec, Some(c_unit));
            let value = if vs.eq_ignore_ascii_case("NA") {
                CoefValue::NotApplicable
            } else {
                let v = parse_number(&df, line, c_val, vs)?;
                if let Some((m, fix)) = sign_error(v, vs, kind, &may_be_negative, k, s) {
                    return Err(df.err(line, c_val, m, fix));
                }
                CoefValue::Value(v)
            };
            let unit = if us.is_empty() {
                if value != CoefValue::NotApplicable {
                    return Err(df.err(
                        line,
                        c_unit,
                        "blank unit",
                        "enter 元/ha/a, 元/亩/a, equivalent (× D) or t C/ha",
                    ));
                }
                None
            } else {
                let u = CoefUnit::parse(us).ok_or_else(|| {
                    df.err(
                        line,
                        c_unit,
                        format!("unknown unit {us:?}"),
                        "use 元/ha/a (= 元/hm2/a), 元/亩/a, equivalent (× D) or t C/ha",
                    )
                })?;
                let ok = match kind {
                    SetKind::Flow => u != CoefUnit::TonnesCPerHa,
                    SetKind::Stock => u == CoefUnit::TonnesCPerHa,
                };
                if !ok {
                    return Err(df.err(
                        line,
                        c_unit,
                        format!("unit {us:?} does not fit a {kind:?} set"),
                        "flow sets take 元/ha/a, 元/亩/a or equivalent; stock sets take t C/ha",
                    ));
                }
                if u == CoefUnit::Equivalent && equivalent_value.is_none() {
                    return Err(df.err(line, c_unit, "unit equivalent needs D", "add `# equivalent_value = 3406.5` (元/ha/a at the set's price year) to the preamble"));
                }
                Some(u)
            };
            let qs = DataFile::field(rec, c_q);
            let quantity_per_ha = if qs.is_empty() {
                None
            } else {
                let c = c_q.unwrap_or(0);
                let q = parse_number(&df, line, c, qs)?;
                if let Some((m, fix)) = sign_error(q, qs, kind, &may_be_negative, k, s) {
                    return Err(df.err(line, c, m, fix));
                }
                Some(q)
            };
            let qu = DataFile::field(rec, c_qu);
            if quantity_per_ha.is_some() && qu.is_empty() {
                return Err(df.err(
                    line,
                    c_qu.unwrap_or(df.headers.len()),
                    "quantity_per_ha given without quantity_unit",
                    "enter the physical unit (m3, t, t C, kWh)",
                ));
            }
            let verified = match DataFile::field(rec, c_ver).to_ascii_lowercase().as_str() {
                "" | "true" | "yes" | "1" => true,
                "false" | "no" | "0" => false,
                o => {
                    return Err(df.err(
                        line,
                        c_ver.unwrap_or(0),
                        format!("verified {o:?} is not true/false"),
                        "write true or false",
                    ))
                }
            };
            let flags = DataFile::field(rec, c_flags)
                .split(';')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(String::from)
                .collect();
            let pair = (k.to_string(), s.to_string());
            if let Some(&first) = index.get(&pair) {
                let first: &Coefficient = &entries[first];
                return Err(df.err(
                    line,
                    c_svc,
                    format!(
                        "duplicate entry for {k} / {s} (first on line {})",
                        first.line
                    ),
                    "keep one row per (ecosystem type, service)",
                ));
            }
            index.insert(pair, entries.len());
            entries.push(Coefficient {
                key: k.to_string(),
                class,
                service: s.to_string(),
                value,
                unit,
                quantity_per_ha,
                quantity_unit: if qu.is_empty() {
                    None
                } else {
                    Some(qu.to_string())
                },
                verified,
                flags,
                citation: DataFile::field(rec, c_cit).to_string(),
                detail: None,
                line,
            });
        }
        let services = match df.meta_list("services")? {
            Some(list) => {
                for s in &list {
                    if cat.service(s).is_none() {
                        return Err(df.meta_err(
                            "services",
                            format!("unknown service {s:?}"),
                            "list service codes from the catalogue",
                        ));
                    }
                }
                list
            }
            None => {
                let mut v: Vec<String> = entries.iter().map(|e| e.service.clone()).collect();
                v.sort_by_key(|s| cat.service_rank(s));
                v.dedup();
                v
            }
        };
        // An entry of a service the `services` list leaves out would be valued nowhere, and
        // quantities of one service in two units would be added together: both are errors.
        let mut units: BTreeMap<&str, (&str, usize)> = BTreeMap::new();
        for e in &entries {
            if !services.contains(&e.service) {
                return Err(df.err(
                    e.line,
                    c_svc,
                    format!(
                        "service {} is not in the set's `services` list ({})",
                        e.service,
                        services.join(", ")
                    ),
                    "add it to `# services = [...]` or drop the row",
                ));
            }
            if let (Some(_), Some(u)) = (e.quantity_per_ha, e.quantity_unit.as_deref()) {
                let (first, first_line) = *units.entry(&e.service).or_insert((u, e.line));
                if first != u {
                    return Err(df.err(
                        e.line,
                        c_qu.unwrap_or(0),
                        format!(
                            "quantity unit {u} for service {}, which line {first_line} gives in {first}",
                            e.service
                        ),
                        "use one quantity unit per service (convert the quantities)",
                    ));
                }
            }
        }
        Ok(CoefficientSet {
            id,
            version,
            edition: df.meta_str("edition")?.unwrap_or_default(),
            price_year,
            currency,
            citation: df.meta_str("citation")?.unwrap_or_default(),
            notes: df.meta_str("notes")?.unwrap_or_default(),
            kind,
            key,
            equivalent_value,
            services,
            catalogue: df.meta_list("catalogue")?.unwrap_or_default(),
            example,
            may_be_negative,
            origin: df.file.clone(),
            sha256: sha256_hex(text),
            entries,
            index,
        })
    }

    fn invest_carbon(df: &DataFile, text: &str) -> Result<CoefficientSet, CoreError> {
        let c_code = df.column("lucode")?;
        let pools = ["c_above", "c_below", "c_soil", "c_dead"];
        let cols = pools
            .iter()
            .map(|p| df.column(p))
            .collect::<Result<Vec<_>, _>>()?;
        if df.meta.contains_key("may_be_negative") {
            return Err(df.meta_err(
                "may_be_negative",
                "an InVEST carbon table holds stocks, which are never negative",
                "drop the key and correct any negative pool",
            ));
        }
        let mut entries: Vec<Coefficient> = Vec::new();
        let mut index = BTreeMap::new();
        for (line, rec) in &df.records {
            let line = *line;
            let k = DataFile::field(rec, Some(c_code));
            let code: ClassCode = k.parse().map_err(|_| {
                df.err(
                    line,
                    c_code,
                    format!("lucode {k:?} is not an integer"),
                    "write the land-cover code as digits",
                )
            })?;
            let mut vals = [0.0; 4];
            for (v, c) in vals.iter_mut().zip(&cols) {
                let s = DataFile::field(rec, Some(*c));
                *v = parse_number(df, line, *c, s)?;
                // A negative pool would cancel carbon held elsewhere in the zone's total.
                if *v < 0.0 {
                    return Err(df.err(
                        line,
                        *c,
                        format!("carbon pool {s} t C/ha (lucode {code}) is negative"),
                        "a carbon pool is a stock, never below zero: correct the value (0 where the pool is empty)",
                    ));
                }
            }
            // InVEST sums the four pools per cell; keep the same order of additions.
            let total = vals[0] + vals[1] + vals[2] + vals[3];
            let key = code.to_string();
            let pair = (key.clone(), "carbon_stock".to_string());
            if let Some(&first) = index.get(&pair) {
                let first: &Coefficient = &entries[first];
                return Err(df.err(
                    line,
                    c_code,
                    format!("duplicate lucode {code} (first on line {})", first.line),
                    "keep one row per lucode",
                ));
            }
            index.insert(pair, entries.len());
            entries.push(Coefficient {
                key,
                class: Some(code),
                service: "carbon_stock".into(),
                value: CoefValue::Value(total),
                unit: Some(CoefUnit::TonnesCPerHa),
                quantity_per_ha: Some(total),
                quantity_unit: Some("t C".into()),
                verified: true,
                flags: vec![],
                citation: String::new(),
                detail: Some(format!("InVEST carbon pools c_above {} + c_below {} + c_soil {} + c_dead {} = {} t C/ha", vals[0], vals[1], vals[2], vals[3], total)),
                line,
            });
        }
        Ok(CoefficientSet {
            id: df.meta_str("id")?.unwrap_or_default(),
            version: df.meta_str("version")?.unwrap_or_else(|| "1".into()),
            edition: "InVEST Carbon biophysical table".into(),
            price_year: None,
            currency: String::new(),
            citation: df
                .meta_str("citation")?
                .unwrap_or_else(|| format!("InVEST carbon biophysical table {}", df.file)),
            notes: "stock set keyed by land-cover code: t C, never valued in yuan".into(),
            kind: SetKind::Stock,
            key: SetKey::Class,
            equivalent_value: None,
            services: vec!["carbon_stock".into()],
            catalogue: vec![],
            example: false,
            may_be_negative: vec![],
            origin: df.file.clone(),
            sha256: sha256_hex(text),
            entries,
            index,
        })
    }

    /// The entry for (ecosystem type or class text, service).
    pub fn get(&self, key: &str, service: &str) -> Option<&Coefficient> {
        self.index
            .get(&(key.to_string(), service.to_string()))
            .map(|&i| &self.entries[i])
    }

    /// The value of `c` per hectare per year, in the target price year when one is asked for.
    ///
    /// # Units
    /// `yuan_per_ha`: 元/ha/a (亩 values × 15; equivalents × D); `stock_per_ha`: t C/ha.
    /// Returns `Ok(None)` for a not-applicable entry.
    pub fn unit_value(
        &self,
        c: &Coefficient,
        params: &ValuationParams,
    ) -> Result<Option<UnitValue>, CoreError> {
        let v = match c.value {
            CoefValue::NotApplicable => return Ok(None),
            CoefValue::Value(v) => v,
        };
        let unit = c.unit.unwrap_or(CoefUnit::YuanPerHa);
        if unit == CoefUnit::TonnesCPerHa {
            return Ok(Some(UnitValue {
                yuan_per_ha: None,
                stock_per_ha: Some(v),
                price_year: None,
                method: c.detail.clone().unwrap_or_else(|| format!("{v} t C/ha")),
            }));
        }
        // The year the value is priced in before any restating: the set's, except for a D
        // override, which carries its own (deflating it from the set's year would deflate a
        // current-price D a second time).
        let (per_ha, mut method, from_year) = match unit {
            CoefUnit::YuanPerHa => (v, format!("{v} 元/ha/a"), self.price_year),
            CoefUnit::YuanPerMu => (
                v * MU_PER_HA,
                format!("{v} 元/亩/a × 15 亩/ha"),
                self.price_year,
            ),
            CoefUnit::Equivalent => match params.equivalent_value {
                Some(d) => {
                    let year = params.equivalent_value_price_year.or(self.price_year);
                    let at = year.map(|y| format!(" at {y} prices")).unwrap_or_default();
                    (
                        v * d,
                        format!("equivalent factor {v} × D {d} 元/ha/a (override{at})"),
                        year,
                    )
                }
                None => {
                    let d = self.equivalent_value.unwrap_or(f64::NAN);
                    (
                        v * d,
                        format!("equivalent factor {v} × D {d} 元/ha/a"),
                        self.price_year,
                    )
                }
            },
            CoefUnit::TonnesCPerHa => unreachable!("handled above"),
        };
        let mut price_year = from_year;
        let mut value = per_ha;
        if let (Some(target), Some(from)) = (params.target_price_year, from_year) {
            if target != from {
                let defl = params.deflator.as_ref().ok_or_else(|| {
                    CoreError::Account(format!(
                        "coefficient set {}: prices are of {from} and the target price year is {target}, but no deflator was given; fix: give a deflator table (year,index) or drop the target price year",
                        self.id
                    ))
                })?;
                let f = defl.factor(from, target)?;
                value = per_ha * f;
                write!(method, " × deflator {target}/{from} = {f}").ok();
                price_year = Some(target);
            }
        }
        Ok(Some(UnitValue {
            yuan_per_ha: Some(value),
            stock_per_ha: None,
            price_year,
            method,
        }))
    }

    /// A summary for listings.
    pub fn summary(&self) -> SetSummary {
        SetSummary {
            id: self.id.clone(),
            version: self.version.clone(),
            edition: self.edition.clone(),
            kind: self.kind,
            key: self.key,
            price_year: self.price_year,
            currency: self.currency.clone(),
            services: self.services.len(),
            entries: self.entries.len(),
            not_applicable: self
                .entries
                .iter()
                .filter(|e| e.value == CoefValue::NotApplicable)
                .count(),
            unverified: self.entries.iter().filter(|e| !e.verified).count(),
            negative: self
                .entries
                .iter()
                .filter(|e| matches!(e.value, CoefValue::Value(v) if v < 0.0))
                .count(),
            example: self.example,
            origin: self.origin.clone(),
            sha256: self.sha256.clone(),
        }
    }
}

/// One line of `gep coefficients list`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetSummary {
    /// Id.
    pub id: String,
    /// Version.
    pub version: String,
    /// Edition.
    pub edition: String,
    /// Flow or stock.
    pub kind: SetKind,
    /// Keyed by ecosystem type or class.
    pub key: SetKey,
    /// Price year.
    pub price_year: Option<i32>,
    /// Currency.
    pub currency: String,
    /// Number of services.
    pub services: usize,
    /// Number of entries.
    pub entries: usize,
    /// Entries marked NA.
    pub not_applicable: usize,
    /// Entries flagged unverified.
    pub unverified: usize,
    /// Entries with a negative value.
    pub negative: usize,
    /// Example defaults rather than an official table.
    pub example: bool,
    /// Where it came from.
    pub origin: String,
    /// SHA-256 of the file.
    pub sha256: String,
}

/// `gep coefficients list`: the built-in sets.
pub fn list_builtin_sets() -> Result<Vec<SetSummary>, CoreError> {
    CoefficientSet::builtin_ids()
        .into_iter()
        .map(|id| CoefficientSet::builtin(id).map(|s| s.summary()))
        .collect()
}

/// `gep coefficients show ID|FILE`: a plain-text description of the set and its table.
pub fn show_set(spec: &str) -> Result<String, CoreError> {
    let set = CoefficientSet::load(spec)?;
    let cat = Catalog::builtin();
    let mut o = String::new();
    writeln!(
        o,
        "{} version {} ({:?}, keyed by {:?})",
        set.id, set.version, set.kind, set.key
    )
    .ok();
    if !set.edition.is_empty() {
        writeln!(o, "edition: {}", set.edition).ok();
    }
    if let Some(y) = set.price_year {
        writeln!(o, "price year: {y}; currency: {}", set.currency).ok();
    }
    if let Some(d) = set.equivalent_value {
        writeln!(o, "D (value of one equivalent): {d} 元/ha/a").ok();
    }
    if !set.may_be_negative.is_empty() {
        writeln!(o, "may be negative: {}", set.may_be_negative.join(", ")).ok();
    }
    if set.example {
        writeln!(
            o,
            "EXAMPLE DEFAULTS: replace with the bureau's official table"
        )
        .ok();
    }
    writeln!(o, "citation: {}", set.citation).ok();
    if !set.notes.is_empty() {
        writeln!(o, "notes: {}", set.notes).ok();
    }
    writeln!(o, "source: {} (sha256 {})", set.origin, set.sha256).ok();
    let names: Vec<String> = set
        .services
        .iter()
        .map(|s| {
            cat.service(s)
                .map(|x| format!("{s} {} ({})", x.zh, x.category))
                .unwrap_or_else(|| s.clone())
        })
        .collect();
    writeln!(o, "services: {}", names.join("; ")).ok();
    if !set.catalogue.is_empty() {
        writeln!(o, "standard's catalogue: {}", set.catalogue.join(", ")).ok();
    }
    writeln!(
        o,
        "key\tservice\tvalue\tunit\tquantity_per_ha\tverified\tflags\tcitation"
    )
    .ok();
    for e in &set.entries {
        let v = match e.value {
            CoefValue::Value(v) => v.to_string(),
            CoefValue::NotApplicable => "NA".into(),
        };
        let q = e
            .quantity_per_ha
            .map(|q| format!("{q} {}", e.quantity_unit.as_deref().unwrap_or("")))
            .unwrap_or_default();
        writeln!(
            o,
            "{}\t{}\t{v}\t{}\t{q}\t{}\t{}\t{}",
            e.key,
            e.service,
            e.unit.map(|u| u.as_str()).unwrap_or(""),
            e.verified,
            e.flags.join(";"),
            e.citation
        )
        .ok();
    }
    Ok(o)
}

/// `gep coefficients check FILE`: parses the file and returns its summary and warnings
/// (unverified or example values, negative values, ecosystem types lacking a service).
pub fn check_set_file(path: &Path) -> Result<(SetSummary, Vec<String>), CoreError> {
    let set = CoefficientSet::from_path(path)?;
    let mut warnings = Vec::new();
    let s = set.summary();
    if s.example {
        warnings.push(
            "the set declares itself example defaults: replace with the official table".into(),
        );
    }
    if s.unverified > 0 {
        warnings.push(format!("{} entries are flagged unverified", s.unverified));
    }
    if s.negative > 0 {
        warnings.push(format!(
            "{} entries are negative, as declared by may_be_negative (kept as given, not clamped)",
            s.negative
        ));
    }
    // A declaration no row needs is harmless but stale: say so, so that it does not outlive
    // the correction it was written for.
    for d in &set.may_be_negative {
        let used = set.entries.iter().any(|e| {
            declared(std::slice::from_ref(d), &e.key, &e.service)
                && (matches!(e.value, CoefValue::Value(v) if v < 0.0)
                    || e.quantity_per_ha.is_some_and(|q| q < 0.0))
        });
        if !used {
            warnings.push(format!(
                "may_be_negative lists {d}, but no such row is negative: drop it from the list"
            ));
        }
    }
    if set.key == SetKey::EcosystemType {
        let mut keys: Vec<&str> = set.entries.iter().map(|e| e.key.as_str()).collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            for sv in &set.services {
                if set.get(k, sv).is_none() {
                    warnings.push(format!(
                        "{k} has no entry for service {sv}: add a value or NA"
                    ));
                }
            }
        }
    }
    Ok((s, warnings))
}

/// Whether `may_be_negative` covers the row (`key`, `service`).
fn declared(may_be_negative: &[String], key: &str, service: &str) -> bool {
    may_be_negative.iter().any(|d| match d.split_once('/') {
        Some((k, s)) => k == key && s == service,
        None => d == service,
    })
}

/// Checks every item of the `may_be_negative` preamble list names a known service (and a known
/// ecosystem type or class code), and that the set is a flow set.
fn check_negative_declaration(
    df: &DataFile,
    cat: &Catalog,
    kind: SetKind,
    key: SetKey,
    list: &[String],
) -> Result<(), CoreError> {
    if list.is_empty() {
        return Ok(());
    }
    if kind == SetKind::Stock {
        return Err(df.meta_err(
            "may_be_negative",
            "a stock set cannot declare negative values",
            "drop the key: a stock (t C/ha) is never below zero",
        ));
    }
    for item in list {
        let (k, s) = match item.split_once('/') {
            Some((k, s)) => (Some(k.trim()), s.trim()),
            None => (None, item.trim()),
        };
        if cat.service(s).is_none() {
            return Err(df.meta_err(
                "may_be_negative",
                format!("item {item:?}: unknown service {s:?}"),
                "write `ecosystem_type/service` (one row) or `service` (every row of it), e.g. \"paddy/esv_water_supply\"",
            ));
        }
        let known = match (k, key) {
            (None, _) => true,
            (Some(k), SetKey::EcosystemType) => cat.ecosystem(k).is_some(),
            (Some(k), SetKey::Class) => k.parse::<ClassCode>().is_ok(),
        };
        if !known {
            return Err(df.meta_err(
                "may_be_negative",
                format!("item {item:?}: unknown ecosystem type or class {:?}", k.unwrap_or("")),
                "write `ecosystem_type/service` (one row) or `service` (every row of it), e.g. \"paddy/esv_water_supply\"",
            ));
        }
    }
    Ok(())
}

/// The (message, fix) rejecting a negative value or quantity `v` (written `text`) of the row
/// (`key`, `service`) that the set's `may_be_negative` declaration does not cover; stocks are
/// never negative. `None` when the number is acceptable.
fn sign_error(
    v: f64,
    text: &str,
    kind: SetKind,
    may_be_negative: &[String],
    key: &str,
    service: &str,
) -> Option<(String, String)> {
    if v >= 0.0 {
        return None;
    }
    if kind == SetKind::Stock {
        return Some((
            format!("{text} for {key} / {service} is negative"),
            "a stock is never below zero: correct the value".into(),
        ));
    }
    if declared(may_be_negative, key, service) {
        return None;
    }
    Some((
        format!(
            "{text} for {key} / {service} is negative, and the set does not declare it may be"
        ),
        format!(
            "correct the sign; if the published table really gives a negative value (as Xie et al. 2015 for paddy water supply), declare it in the preamble: `# may_be_negative = [\"{key}/{service}\"]`"
        ),
    ))
}

/// Converts a per-mu value to per-ha (× 15).
///
/// # Units
/// 元/亩/a in, 元/ha/a out.
pub fn per_mu_to_per_ha(v: f64) -> f64 {
    v * MU_PER_HA
}

/// Converts an area in m² to mu (亩).
///
/// # Units
/// m² in, 亩 out.
pub fn m2_to_mu(m2: f64) -> f64 {
    m2 / M2_PER_MU
}

/// Converts an area in m² to ha.
///
/// # Units
/// m² in, ha out.
pub fn m2_to_ha(m2: f64) -> f64 {
    m2 / M2_PER_HA
}
