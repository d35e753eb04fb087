//! Parameter and price sets: the versioned numbers that turn the models' physical quantities
//! into values (reservoir cost, dredging cost, N and P contents, NEP/NPP ratios, carbon and
//! oxygen prices, electricity price, air-conditioning efficiency, days above 26 °C...).
//!
//! # File format
//! CSV with a `#` TOML preamble, like coefficient sets ([`crate::coefficients`]). Preamble:
//! `id`, `version` (required), `citation`, `notes`, `example` (bool: the whole set is an
//! example). Columns:
//!
//! | column | what |
//! |---|---|
//! | `service` | the service the number belongs to (a catalogue code: `water_conservation`, `soil_retention_sediment`...) |
//! | `parameter` | its name (`reservoir_cost`, `content`, `price`, `nep_ratio`...) |
//! | `key` | `*` (every zone and type), an ecosystem type code, `class:N` (a land-cover code) or `county:CODE` |
//! | `value` | a finite number |
//! | `unit` | a unit [`Unit::parse`] reads (`元/m3`, `t/m3`, `%`, `1`, `元/t CO2`, `d`...) |
//! | `price_year` | required when the unit is money per something (a price) |
//! | `low`, `high` | optional range for the sensitivity table: low ≤ value ≤ high |
//! | `verified` | `true` when read in the cited source (V), `false` when recalled or an example |
//! | `flags` | `;`-separated: `example`, `derived`, `local` ... |
//! | `source` | citation: publication, table, row |
//!
//! A lookup ([`ParameterSet::get`]) takes the most specific row: `county:` before `class:`
//! before the ecosystem type before `*`. There is no built-in default: a number the set does
//! not hold is an error naming the service, the parameter and where it was looked for.

use crate::catalog::{parse_number, read_text, sha256_hex, Catalog, DataFile};
use crate::error::CoreError;
use crate::physical_unit::Unit;
use crate::raster::ClassCode;
use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

const BUILTIN: &[(&str, &str)] = &[(
    "zj-regulating-example",
    include_str!("../data/parameters/zj-regulating-example.csv"),
)];

/// What a parameter row applies to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ParamKey {
    /// Every zone and ecosystem type (`*`).
    All,
    /// An ecosystem type of the catalogue.
    EcosystemType(String),
    /// A land-cover class code (`class:N`).
    Class(ClassCode),
    /// A county by its code (`county:CODE`); its townships and villages use it.
    County(String),
}

impl std::fmt::Display for ParamKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamKey::All => f.write_str("*"),
            ParamKey::EcosystemType(t) => f.write_str(t),
            ParamKey::Class(c) => write!(f, "class:{c}"),
            ParamKey::County(c) => write!(f, "county:{c}"),
        }
    }
}

/// One parameter or price.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// Service code.
    pub service: String,
    /// Parameter name.
    pub parameter: String,
    /// What it applies to.
    pub key: ParamKey,
    /// The value, in `unit`.
    pub value: f64,
    /// Its unit.
    pub unit: Unit,
    /// Price year (prices only).
    pub price_year: Option<i32>,
    /// Low end of its range, for the sensitivity table.
    pub low: Option<f64>,
    /// High end of its range.
    pub high: Option<f64>,
    /// Read in the cited source (V) rather than recalled or an example.
    pub verified: bool,
    /// Flags (`example`, `derived`, `local`...).
    pub flags: Vec<String>,
    /// Citation.
    pub source: String,
    /// Line in the file.
    pub line: usize,
}

impl Parameter {
    /// `set@version line N: citation`, for the `source` column of accounts.
    pub fn cite(&self, set: &ParameterSet) -> String {
        format!(
            "{}@{} line {}: {}",
            set.id, set.version, self.line, self.source
        )
    }

    /// Flags for account rows: the row's own, plus `unverified` when not verified.
    pub fn account_flags(&self) -> Vec<String> {
        let mut f = self.flags.clone();
        if !self.verified {
            f.push("unverified".into());
        }
        f
    }
}

/// Where a parameter is looked up: the county of the zone, the land-cover class and its
/// ecosystem type.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lookup<'a> {
    /// County code of the zone.
    pub county: Option<&'a str>,
    /// Land-cover class.
    pub class: Option<ClassCode>,
    /// Ecosystem type of the class (through the crosswalk).
    pub ecosystem_type: Option<&'a str>,
}

impl std::fmt::Display for Lookup<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(c) = self.county {
            parts.push(format!("county:{c}"));
        }
        if let Some(c) = self.class {
            parts.push(format!("class:{c}"));
        }
        if let Some(t) = self.ecosystem_type {
            parts.push(t.to_string());
        }
        parts.push("*".into());
        f.write_str(&parts.join(", "))
    }
}

/// Row positions by service, then parameter: what [`ParameterSet::get`] scans instead of
/// every row (it runs once per zone × class × type × parameter, and again for each
/// sensitivity run). Valid while the set has `len` rows.
#[derive(Debug, Clone, Default)]
struct Index {
    len: usize,
    rows: HashMap<String, HashMap<String, Vec<usize>>>,
}

/// A versioned set of parameters and prices.
#[derive(Debug, Clone)]
pub struct ParameterSet {
    /// Id.
    pub id: String,
    /// Version.
    pub version: String,
    /// Where it was loaded from (`builtin:ID` or a path).
    pub origin: String,
    /// Citation of the whole set.
    pub citation: String,
    /// Notes.
    pub notes: String,
    /// The whole set is an example.
    pub example: bool,
    /// SHA-256 of the file text.
    pub sha256: String,
    /// Rows in file order.
    pub parameters: Vec<Parameter>,
    /// Built on the first lookup; ignored if rows are added or removed afterwards.
    index: OnceLock<Index>,
}

impl PartialEq for ParameterSet {
    fn eq(&self, o: &Self) -> bool {
        (
            &self.id,
            &self.version,
            &self.origin,
            &self.citation,
            &self.notes,
            self.example,
            &self.sha256,
            &self.parameters,
        ) == (
            &o.id,
            &o.version,
            &o.origin,
            &o.citation,
            &o.notes,
            o.example,
            &o.sha256,
            &o.parameters,
        )
    }
}

impl ParameterSet {
    /// The ids of the built-in sets.
    pub fn builtin_ids() -> Vec<&'static str> {
        BUILTIN.iter().map(|(id, _)| *id).collect()
    }

    /// A built-in id, or else a path to a parameter CSV.
    ///
    /// # Errors
    /// An unknown id, a file that cannot be read or parsed.
    pub fn load(spec: &str) -> Result<ParameterSet, CoreError> {
        if let Some((i, text)) = BUILTIN.iter().find(|(i, _)| *i == spec) {
            return ParameterSet::from_csv_str(text, &format!("builtin:{i}"));
        }
        let p = Path::new(spec);
        if p.exists() || spec.ends_with(".csv") {
            let text = read_text(p)?;
            return ParameterSet::from_csv_str(&text, &p.display().to_string());
        }
        Err(CoreError::UnknownBuiltin {
            kind: "parameter set",
            id: spec.into(),
            available: ParameterSet::builtin_ids().join(", "),
        })
    }

    /// Parses a parameter set (`file` names it in errors).
    ///
    /// # Errors
    /// [`CoreError::DataFile`] naming the line and column: a missing column, a value that is
    /// not a finite number, an unknown unit or key, a price without price year, a range that
    /// does not hold the value, a duplicate (service, parameter, key).
    pub fn from_csv_str(text: &str, file: &str) -> Result<ParameterSet, CoreError> {
        let df = DataFile::parse(text, file)?;
        let need = |k: &str| -> Result<String, CoreError> {
            df.meta_str(k)?.ok_or_else(|| {
                df.meta_err(
                    k,
                    "missing",
                    format!("add `# {k} = \"...\"` to the preamble"),
                )
            })
        };
        let id = need("id")?;
        let version = need("version")?;
        let example = match df.meta.get("example") {
            None => false,
            Some(toml::Value::Boolean(b)) => *b,
            Some(o) => {
                return Err(df.meta_err(
                    "example",
                    format!("expected true or false, found {o}"),
                    "write `# example = true`",
                ))
            }
        };
        let c_svc = df.column("service")?;
        let c_par = df.column("parameter")?;
        let c_key = df.column("key")?;
        let c_val = df.column("value")?;
        let c_unit = df.column("unit")?;
        let c_py = df.opt_column("price_year");
        let c_low = df.opt_column("low");
        let c_high = df.opt_column("high");
        let c_ver = df.opt_column("verified");
        let c_flags = df.opt_column("flags");
        let c_src = df.column("source")?;
        let cat = Catalog::builtin();
        let mut parameters: Vec<Parameter> = Vec::new();
        for (line, rec) in &df.records {
            let line = *line;
            let service = DataFile::field(rec, Some(c_svc)).to_string();
            if cat.service(&service).is_none() {
                return Err(df.err(
                    line,
                    c_svc,
                    format!("{service:?} is not a service of the catalogue"),
                    "use a catalogue code (`gep catalogue` lists them), e.g. water_conservation",
                ));
            }
            let parameter = DataFile::field(rec, Some(c_par)).to_string();
            if parameter.is_empty() {
                return Err(df.err(line, c_par, "blank", "name the parameter"));
            }
            let k = DataFile::field(rec, Some(c_key));
            let key = if k == "*" {
                ParamKey::All
            } else if let Some(c) = k.strip_prefix("class:") {
                ParamKey::Class(c.trim().parse().map_err(|_| {
                    df.err(
                        line,
                        c_key,
                        format!("{k:?}: not an integer class"),
                        "write class:7",
                    )
                })?)
            } else if let Some(c) = k.strip_prefix("county:") {
                ParamKey::County(c.trim().to_string())
            } else if cat.ecosystem(k).is_some() {
                ParamKey::EcosystemType(k.to_string())
            } else {
                return Err(df.err(
                    line,
                    c_key,
                    format!("{k:?} is not `*`, `class:N`, `county:CODE` or an ecosystem type of the catalogue"),
                    format!("use one of them (ecosystem types: {})", cat.ecosystem_codes()),
                ));
            };
            let value = parse_number(&df, line, c_val, DataFile::field(rec, Some(c_val)))?;
            let unit_text = DataFile::field(rec, Some(c_unit));
            let unit = Unit::parse(unit_text).map_err(|e| {
                df.err(
                    line,
                    c_unit,
                    e.to_string(),
                    "write the unit the value is in (`1` for a pure number)",
                )
            })?;
            let price_year = match DataFile::field(rec, c_py) {
                "" => None,
                s => Some(s.parse::<i32>().map_err(|_| {
                    df.err(
                        line,
                        c_py.unwrap_or(0),
                        format!("{s:?} is not a year"),
                        "write the year of the price, e.g. 2010",
                    )
                })?),
            };
            // A price by its parsed dimension, so `yuan/t` and `CNY/t` count as `元/t`.
            let is_price = unit.is_money();
            if is_price && price_year.is_none() {
                return Err(df.err(
                    line,
                    c_py.unwrap_or(df.headers.len()),
                    format!("{service}/{parameter} is a price ({unit_text}) without a price year"),
                    "give price_year (the year whose prices the value is in)",
                ));
            }
            let opt = |c: Option<usize>| -> Result<Option<f64>, CoreError> {
                match DataFile::field(rec, c) {
                    "" => Ok(None),
                    s => parse_number(&df, line, c.unwrap_or(0), s).map(Some),
                }
            };
            let low = opt(c_low)?;
            let high = opt(c_high)?;
            if low.is_some_and(|l| l > value) || high.is_some_and(|h| h < value) {
                return Err(df.err(
                    line,
                    c_low.or(c_high).unwrap_or(0),
                    format!(
                        "range [{}, {}] does not hold the value {value}",
                        low.map_or("-".into(), |v| v.to_string()),
                        high.map_or("-".into(), |v| v.to_string())
                    ),
                    "give low ≤ value ≤ high",
                ));
            }
            let verified = match DataFile::field(rec, c_ver).to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => true,
                "" | "false" | "no" | "0" => false,
                o => {
                    return Err(df.err(
                        line,
                        c_ver.unwrap_or(0),
                        format!("verified {o:?} is not true/false"),
                        "write true or false",
                    ))
                }
            };
            let mut flags: Vec<String> = DataFile::field(rec, c_flags)
                .split(';')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(String::from)
                .collect();
            if example && !flags.iter().any(|f| f == "example") {
                flags.push("example".into());
            }
            if let Some(first) = parameters
                .iter()
                .find(|p| p.service == service && p.parameter == parameter && p.key == key)
            {
                return Err(df.err(
                    line,
                    c_key,
                    format!(
                        "duplicate {service}/{parameter} for {key} (first on line {})",
                        first.line
                    ),
                    "keep one row per (service, parameter, key)",
                ));
            }
            parameters.push(Parameter {
                service,
                parameter,
                key,
                value,
                unit,
                price_year,
                low,
                high,
                verified,
                flags,
                source: DataFile::field(rec, Some(c_src)).to_string(),
                line,
            });
        }
        Ok(ParameterSet {
            id,
            version,
            origin: file.to_string(),
            citation: df.meta_str("citation")?.unwrap_or_default(),
            notes: df.meta_str("notes")?.unwrap_or_default(),
            example,
            sha256: sha256_hex(text),
            parameters,
            index: OnceLock::new(),
        })
    }

    /// The most specific row of `service`/`parameter` for `at`: county, then class, then
    /// ecosystem type, then `*`.
    ///
    /// # Errors
    /// [`CoreError::MissingParameter`] naming the service, the parameter, where it was
    /// looked for and the set.
    pub fn get(
        &self,
        service: &str,
        parameter: &str,
        at: &Lookup<'_>,
    ) -> Result<&Parameter, CoreError> {
        // One pass over the rows of service/parameter, keeping the most specific match:
        // county 0, class 1, ecosystem type 2, `*` 3.
        let rank = |p: &Parameter| -> Option<u8> {
            match &p.key {
                ParamKey::County(c) if at.county == Some(c.as_str()) => Some(0),
                ParamKey::Class(c) if at.class == Some(*c) => Some(1),
                ParamKey::EcosystemType(t) if at.ecosystem_type == Some(t.as_str()) => Some(2),
                ParamKey::All => Some(3),
                _ => None,
            }
        };
        let index = self.index.get_or_init(|| {
            let mut rows: HashMap<String, HashMap<String, Vec<usize>>> = HashMap::new();
            for (i, p) in self.parameters.iter().enumerate() {
                rows.entry(p.service.clone())
                    .or_default()
                    .entry(p.parameter.clone())
                    .or_default()
                    .push(i);
            }
            Index {
                len: self.parameters.len(),
                rows,
            }
        });
        let candidates: Box<dyn Iterator<Item = &Parameter>> = if index.len == self.parameters.len()
        {
            let found = index.rows.get(service).and_then(|m| m.get(parameter));
            Box::new(found.into_iter().flatten().map(|&i| &self.parameters[i]))
        } else {
            Box::new(
                self.parameters
                    .iter()
                    .filter(|p| p.service == service && p.parameter == parameter),
            )
        };
        let mut best: Option<(u8, &Parameter)> = None;
        for p in candidates {
            if let Some(r) = rank(p) {
                if best.is_none_or(|(b, _)| r < b) {
                    best = Some((r, p));
                }
            }
        }
        let found = best.map(|(_, p)| p);
        found.ok_or_else(|| CoreError::MissingParameter {
            service: service.to_string(),
            parameter: parameter.to_string(),
            looked_for: at.to_string(),
            set: format!("{} ({})", self.id, self.origin),
        })
    }

    /// Whether the set has any row of `service`.
    pub fn has_service(&self, service: &str) -> bool {
        self.parameters.iter().any(|p| p.service == service)
    }

    /// A copy with every row of `service`/`parameter` set to its `low` or `high` (the
    /// sensitivity table's runs), or `None` when the parameter has no row or a row lacks that
    /// bound: moving some rows and keeping others at their value would mix a low run with the
    /// base and understate the parameter's effect.
    pub fn with_value(&self, service: &str, parameter: &str, pick: Bound) -> Option<ParameterSet> {
        let mut s = self.clone();
        let mut any = false;
        for p in s
            .parameters
            .iter_mut()
            .filter(|p| p.service == service && p.parameter == parameter)
        {
            p.value = match pick {
                Bound::Low => p.low,
                Bound::High => p.high,
            }?;
            any = true;
        }
        any.then_some(s)
    }
}

/// An end of a parameter's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// `low`.
    Low,
    /// `high`.
    High,
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "# id = \"t\"\n# version = \"1\"\nservice,parameter,key,value,unit,price_year,low,high,verified,flags,source\n";

    #[test]
    fn builtin_loads_and_every_row_is_cited() {
        let s = ParameterSet::load("zj-regulating-example").unwrap();
        assert!(s.parameters.len() > 10);
        for p in &s.parameters {
            assert!(!p.source.is_empty(), "line {} has no source", p.line);
            if !p.verified {
                assert!(
                    p.flags.iter().any(|f| f == "example"),
                    "line {}: an unverified value must be flagged example",
                    p.line
                );
            }
        }
        // Garzé 2010, Table 3: reservoir cost 7.06 元/m³, verified.
        let r = s
            .get("water_conservation", "reservoir_cost", &Lookup::default())
            .unwrap();
        assert_eq!(
            (r.value, r.price_year, r.verified),
            (7.06, Some(2010), true)
        );
    }

    #[test]
    fn most_specific_row_wins_and_missing_is_an_error() {
        let text = format!(
            "{HEAD}climate_regulation,hot_days,*,60,d,,,,false,example,x\nclimate_regulation,hot_days,county:330127,45,d,,,,false,example,y\nclimate_regulation,counted,forest,1,1,,,,true,,z\nclimate_regulation,counted,class:9,0,1,,,,true,,z\n"
        );
        let s = ParameterSet::from_csv_str(&text, "t.csv").unwrap();
        let at = |county, class, t| Lookup {
            county,
            class,
            ecosystem_type: t,
        };
        let d = |l: Lookup| s.get("climate_regulation", "hot_days", &l).unwrap().value;
        assert_eq!(d(at(Some("330127"), None, None)), 45.0);
        assert_eq!(d(at(Some("330100"), None, None)), 60.0);
        let c = |l: Lookup| s.get("climate_regulation", "counted", &l).map(|p| p.value);
        assert_eq!(c(at(None, Some(9), Some("forest"))).unwrap(), 0.0);
        assert_eq!(c(at(None, Some(1), Some("forest"))).unwrap(), 1.0);
        let e = c(at(None, Some(1), Some("water"))).unwrap_err().to_string();
        assert!(
            e.contains("climate_regulation") && e.contains("counted") && e.contains("water"),
            "{e}"
        );
    }

    #[test]
    fn bad_rows_name_line_and_column() {
        let cases = [
            (
                "water_conservation,reservoir_cost,*,7.06,元/m3,,,,true,,x",
                "price year",
            ),
            (
                "water_conservation,reservoir_cost,*,7.06,元/furlong,2010,,,true,,x",
                "unknown unit",
            ),
            (
                "water_conservation,reservoir_cost,*,7.06,元/m3,2010,8,9,true,,x",
                "range",
            ),
            (
                "water_conservation,reservoir_cost,forests,7.06,元/m3,2010,,,true,,x",
                "ecosystem type",
            ),
            ("no_such_service,x,*,1,1,,,,true,,x", "not a service"),
        ];
        for (row, want) in cases {
            let e = ParameterSet::from_csv_str(&format!("{HEAD}{row}\n"), "t.csv")
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(want) && e.contains("t.csv") && e.contains('4'),
                "{row}: {e}"
            );
        }
        let dup = format!("{HEAD}water_conservation,reservoir_cost,*,7.06,元/m3,2010,,,true,,x\nwater_conservation,reservoir_cost,*,7.06,元/m3,2010,,,true,,x\n");
        assert!(ParameterSet::from_csv_str(&dup, "t.csv")
            .unwrap_err()
            .to_string()
            .contains("duplicate"));
    }

    #[test]
    fn the_most_specific_row_wins() {
        let text = format!(
            "{HEAD}climate_regulation,hot_days,*,60,d,,,,true,,x\n\
climate_regulation,hot_days,forest,61,d,,,,true,,x\n\
climate_regulation,hot_days,class:2,62,d,,,,true,,x\n\
climate_regulation,hot_days,county:330127,63,d,,,,true,,x\n"
        );
        let s = ParameterSet::from_csv_str(&text, "t.csv").unwrap();
        let v = |county, class, ty| {
            s.get(
                "climate_regulation",
                "hot_days",
                &Lookup {
                    county,
                    class,
                    ecosystem_type: ty,
                },
            )
            .unwrap()
            .value
        };
        assert_eq!(v(Some("330127"), Some(2), Some("forest")), 63.0);
        assert_eq!(v(Some("330324"), Some(2), Some("forest")), 62.0);
        assert_eq!(v(None, Some(3), Some("forest")), 61.0);
        assert_eq!(v(None, Some(3), Some("water")), 60.0);
        assert!(s
            .get("climate_regulation", "latent_heat", &Lookup::default())
            .is_err());
        // Rows added after the first lookup are still found.
        let mut s2 = s.clone();
        let mut extra = s2.parameters[0].clone();
        extra.parameter = "latent_heat".into();
        s2.parameters.push(extra);
        assert!(s2
            .get("climate_regulation", "latent_heat", &Lookup::default())
            .is_ok());
    }

    #[test]
    fn low_and_high_runs() {
        let text = format!(
            "{HEAD}water_conservation,reservoir_cost,*,7.06,元/m3,2010,6.11,8.47,true,,x\n"
        );
        let s = ParameterSet::from_csv_str(&text, "t.csv").unwrap();
        let v = |s: &ParameterSet| {
            s.get("water_conservation", "reservoir_cost", &Lookup::default())
                .unwrap()
                .value
        };
        let moved = |b| {
            s.with_value("water_conservation", "reservoir_cost", b)
                .unwrap()
        };
        assert_eq!(v(&moved(Bound::Low)), 6.11);
        assert_eq!(v(&moved(Bound::High)), 8.47);
        assert_eq!(v(&s), 7.06);
        // A second row (one county) without a range: no half-moved set.
        let partial = format!(
            "{text}water_conservation,reservoir_cost,county:331125,7.50,元/m3,2010,,,true,,y\n"
        );
        let p = ParameterSet::from_csv_str(&partial, "t.csv").unwrap();
        assert!(p
            .with_value("water_conservation", "reservoir_cost", Bound::Low)
            .is_none());
        assert!(s
            .with_value("water_conservation", "no_such", Bound::Low)
            .is_none());
    }
}
