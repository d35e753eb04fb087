//! Physical units with their dimensions, so that a quantity × price that makes no sense is an
//! error instead of a number: t C × 元/t CO₂, a depth in mm used as m, a price per 亩 taken
//! as per ha.
//!
//! A [`Unit`] is parsed from the text a parameter file or a model writes (`元/m3`, `t C/a`,
//! `g C/(m2·a)`, `元/亩`, `kJ/kg`, `亿m3`) into a factor to base units and the exponents of
//! its base dimensions: 元, kg, m, s, J and a count of ions. A mass may name its substance
//! (`t C`, `t CO2`, `t O2`, `t N`, `t P`): each substance is its own dimension, so carbon
//! and carbon dioxide never cancel; converting one into the other is an explicit step
//! ([`Unit::convert_substance`], e.g. 44/12 from C to CO₂), never implicit.
//!
//! Defined conversions are applied ([`Unit::factor_to`]): 1 亩 = 10,000/15 m² (666.67 m²),
//! 1 ha = 10⁴ m², 1 mm = 10⁻³ m, 1 t = 10³ kg, 1 kWh = 3.6 × 10⁶ J, 1 a = 365 d, 万 = 10⁴,
//! 亿 = 10⁸; a pure number is a factor (`元/(10^18 ions)`, `10^4 m3`).
//!
//! ```
//! use gep_core::physical_unit::Unit;
//! let q = Unit::parse("m3/a").unwrap();
//! let price = Unit::parse("元/m3").unwrap();
//! assert_eq!(q.mul(&price).factor_to(&Unit::parse("元/a").unwrap()).unwrap(), 1.0);
//! // a price per t CO₂ never multiplies t C
//! let c = Unit::parse("t C/a").unwrap();
//! let p = Unit::parse("元/t CO2").unwrap();
//! assert!(c.mul(&p).factor_to(&Unit::parse("元/a").unwrap()).is_err());
//! // 元/亩 is 15 × 元/ha
//! let f = Unit::parse("元/亩").unwrap().factor_to(&Unit::parse("元/ha").unwrap()).unwrap();
//! assert!((f - 15.0).abs() < 1e-12);
//! ```

use crate::units::{M2_PER_HA, M2_PER_MU};
use std::collections::BTreeMap;
use thiserror::Error;

/// A unit that cannot be parsed, or two units that cannot be converted into each other.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum UnitError {
    /// The text is not a unit this module knows.
    #[error("unit {text:?}: {message}; write units as e.g. `元/m3`, `t C/a`, `g C/(m2·a)`, `元/亩`, `kJ/kg`, `kWh`")]
    Parse {
        /// The text.
        text: String,
        /// What is wrong.
        message: String,
    },
    /// The units are of different dimensions (or substances).
    #[error("{context}: {detail}")]
    Mismatch {
        /// What was being computed.
        context: String,
        /// The two units, their dimensions and a hint (C and CO₂, mm and m...).
        detail: String,
    },
}

/// A parsed unit: a factor to base units and the exponents of the base dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    text: String,
    factor: f64,
    dims: BTreeMap<String, i32>,
}

impl Unit {
    /// Whether the unit has money (元) in it: a price or a value.
    pub fn is_money(&self) -> bool {
        self.dims.contains_key("元")
    }
}

impl std::fmt::Display for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Seconds in one accounting year (365 days: the year of "per year" flows and of "days
/// above 26 °C").
pub const S_PER_A: f64 = 365.0 * 86_400.0;

/// Canonical spelling of a substance tag (`CO₂` → `CO2`), or `None` when `s` is not one.
fn substance(s: &str) -> Option<&'static str> {
    Some(match s {
        "C" => "C",
        "CO2" | "CO₂" => "CO2",
        "O2" | "O₂" => "O2",
        "N" => "N",
        "P" => "P",
        "SO2" | "SO₂" => "SO2",
        "NOx" | "NOₓ" => "NOx",
        "COD" => "COD",
        "NH3-N" | "NH₃-N" => "NH3-N",
        "TP" => "TP",
        "TN" => "TN",
        "dust" => "dust",
        "soil" => "soil",
        _ => return None,
    })
}

/// (factor to base, dimension name, exponent) of an atom without prefix or power.
fn atom(s: &str) -> Option<(f64, &'static str, i32)> {
    Some(match s {
        "元" | "yuan" | "CNY" => (1.0, "元", 1),
        "g" => (1e-3, "kg", 1),
        "kg" => (1.0, "kg", 1),
        "t" => (1e3, "kg", 1),
        "mm" => (1e-3, "m", 1),
        "cm" => (1e-2, "m", 1),
        "m" => (1.0, "m", 1),
        "km" => (1e3, "m", 1),
        "ha" | "hm2" | "hm²" => (M2_PER_HA, "m", 2),
        "亩" | "mu" => (M2_PER_MU, "m", 2),
        "L" => (1e-3, "m", 3),
        "s" => (1.0, "s", 1),
        "min" => (60.0, "s", 1),
        "h" => (3600.0, "s", 1),
        "d" => (86_400.0, "s", 1),
        "a" | "yr" => (S_PER_A, "s", 1),
        "J" => (1.0, "J", 1),
        "kJ" => (1e3, "J", 1),
        "MJ" => (1e6, "J", 1),
        "kWh" | "kW·h" => (3.6e6, "J", 1),
        "ions" | "ion" => (1.0, "ion", 1),
        _ => return None,
    })
}

impl Unit {
    /// The dimensionless unit `1`.
    pub fn one() -> Unit {
        Unit {
            text: "1".into(),
            factor: 1.0,
            dims: BTreeMap::new(),
        }
    }

    /// Parses a unit. Products are written with `·`, `*` or a space, quotients with `/`
    /// (each `/` divides by what follows it, up to the next `/`; parentheses group:
    /// `g C/(m2·a)`); powers as `m2`, `m²`, `m3`, `m³`, `m^-1`; `万` and `亿` prefixes
    /// (`亿m3`); `%` is 0.01; `1` is dimensionless. A mass followed by a substance (`t C`,
    /// `t CO2`, `kg N`) is a mass of that substance.
    ///
    /// # Errors
    /// [`UnitError::Parse`] for anything else.
    pub fn parse(text: &str) -> Result<Unit, UnitError> {
        let err = |m: String| UnitError::Parse {
            text: text.to_string(),
            message: m,
        };
        let t = text.trim();
        if t.is_empty() {
            return Err(err("empty".into()));
        }
        let mut unit = Unit::one();
        // Split at top-level '/', keeping parentheses together.
        let mut parts = Vec::new();
        let mut depth = 0i32;
        let mut cur = String::new();
        for ch in t.chars() {
            match ch {
                '(' => {
                    depth += 1;
                    cur.push(' ');
                }
                ')' => {
                    depth -= 1;
                    if depth < 0 {
                        return Err(err("unbalanced `)`".into()));
                    }
                    cur.push(' ');
                }
                '/' if depth == 0 => parts.push(std::mem::take(&mut cur)),
                _ => cur.push(ch),
            }
        }
        if depth != 0 {
            return Err(err("unbalanced `(`".into()));
        }
        parts.push(cur);
        for (i, part) in parts.iter().enumerate() {
            let sign = if i == 0 { 1 } else { -1 };
            let p = product(part).map_err(err)?;
            if i > 0 && p.dims.is_empty() && p.factor == 1.0 {
                return Err(err(format!("nothing after `/` in part {}", i + 1)));
            }
            unit.factor *= if sign == 1 { p.factor } else { 1.0 / p.factor };
            for (d, e) in p.dims {
                *unit.dims.entry(d).or_insert(0) += sign * e;
            }
        }
        unit.dims.retain(|_, e| *e != 0);
        unit.text = t.to_string();
        Ok(unit)
    }

    /// The text it was parsed from (or built as).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The product of two units (`m3/a` × `元/m3` = `元/a`).
    pub fn mul(&self, other: &Unit) -> Unit {
        let mut dims = self.dims.clone();
        for (d, e) in &other.dims {
            *dims.entry(d.clone()).or_insert(0) += e;
        }
        dims.retain(|_, e| *e != 0);
        Unit {
            text: format!("({})·({})", self.text, other.text),
            factor: self.factor * other.factor,
            dims,
        }
    }

    /// Whether the two units have the same dimensions (and substances).
    pub fn same_dimension(&self, other: &Unit) -> bool {
        self.dims == other.dims
    }

    /// The number to multiply a value in `self` by to express it in `to`.
    ///
    /// # Errors
    /// [`UnitError::Mismatch`] when the dimensions (or substances) differ.
    pub fn factor_to(&self, to: &Unit) -> Result<f64, UnitError> {
        self.factor_to_in(to, "converting units")
    }

    /// As [`Unit::factor_to`], naming what was being computed in the error.
    ///
    /// # Errors
    /// As [`Unit::factor_to`].
    pub fn factor_to_in(&self, to: &Unit, context: &str) -> Result<f64, UnitError> {
        if self.dims != to.dims {
            let subst = |u: &Unit| -> Vec<String> {
                u.dims
                    .keys()
                    .filter_map(|k| k.strip_prefix("kg ").map(str::to_string))
                    .collect()
            };
            let (a, b) = (subst(self), subst(to));
            let hint = if a != b && (!a.is_empty() || !b.is_empty()) {
                format!("; the substances differ ({} against {}): a mass of one substance is never priced per mass of another; convert explicitly (e.g. t C × 44/12 = t CO2) or give the price per the quantity's substance",
                    if a.is_empty() { "none".into() } else { a.join(", ") },
                    if b.is_empty() { "none".into() } else { b.join(", ") })
            } else {
                String::new()
            };
            return Err(UnitError::Mismatch {
                context: context.to_string(),
                detail: format!(
                    "{:?} cannot be expressed in {:?} ({} is {}, {} is {}){hint}",
                    self.text,
                    to.text,
                    self.text,
                    self.dims_text(),
                    to.text,
                    to.dims_text()
                ),
            });
        }
        Ok(self.factor / to.factor)
    }

    /// The unit with the substance `from` replaced by `to`, and the value multiplied by
    /// `ratio` (mass of `to` per mass of `from`): t C → t CO₂ with `ratio` = 44/12. The only
    /// way a substance changes.
    ///
    /// # Errors
    /// [`UnitError::Parse`] when `from` or `to` is not a substance, or the unit holds no
    /// mass of `from`.
    pub fn convert_substance(
        &self,
        value: f64,
        from: &str,
        to: &str,
        ratio: f64,
    ) -> Result<(f64, Unit), UnitError> {
        let bad = |m: String| UnitError::Parse {
            text: self.text.clone(),
            message: m,
        };
        let f = substance(from).ok_or_else(|| bad(format!("{from:?} is not a substance")))?;
        let t = substance(to).ok_or_else(|| bad(format!("{to:?} is not a substance")))?;
        let key = format!("kg {f}");
        let Some(e) = self.dims.get(&key).copied() else {
            return Err(bad(format!("holds no mass of {f} to convert into {t}")));
        };
        let mut dims = self.dims.clone();
        dims.remove(&key);
        *dims.entry(format!("kg {t}")).or_insert(0) += e;
        dims.retain(|_, e| *e != 0);
        let text = replace_substance(&self.text, from, to);
        Ok((
            value * ratio.powi(e),
            Unit {
                text,
                factor: self.factor,
                dims,
            },
        ))
    }

    fn dims_text(&self) -> String {
        if self.dims.is_empty() {
            return "dimensionless".into();
        }
        self.dims
            .iter()
            .map(|(d, e)| {
                if *e == 1 {
                    format!("[{d}]")
                } else {
                    format!("[{d}]^{e}")
                }
            })
            .collect::<Vec<_>>()
            .join("·")
    }
}

/// `text` with the substance token `from` (after a space, before a separator or the end)
/// replaced by `to`.
fn replace_substance(text: &str, from: &str, to: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    let pat = format!(" {from}");
    while let Some(i) = rest.find(&pat) {
        let after = &rest[i + pat.len()..];
        let ends = after
            .chars()
            .next()
            .is_none_or(|c| matches!(c, '/' | ')' | '·' | '*' | ' '));
        out.push_str(&rest[..i]);
        out.push_str(if ends { " " } else { &pat });
        if ends {
            out.push_str(to);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// A product of atoms (`t C`, `m2·a`, `kW·h`).
fn product(s: &str) -> Result<Unit, String> {
    let s = s.replace("kW·h", "kWh").replace("kW*h", "kWh");
    let tokens: Vec<&str> = s
        .split(|c: char| c == '·' || c == '*' || c == '⋅' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .collect();
    let mut u = Unit::one();
    let mut last_mass: Option<i32> = None;
    for tok in tokens {
        if let (Some(sub), Some(e)) = (substance(tok), last_mass) {
            let n = u.dims.entry("kg".into()).or_insert(0);
            *n -= e;
            *u.dims.entry(format!("kg {sub}")).or_insert(0) += e;
            last_mass = None;
            continue;
        }
        last_mass = None;
        if tok == "1" {
            continue;
        }
        if tok == "%" {
            u.factor *= 0.01;
            continue;
        }
        let (mut prefix, mut rest) = (1.0, tok);
        if let Some(r) = rest.strip_prefix('万') {
            prefix = 1e4;
            rest = r;
        } else if let Some(r) = rest.strip_prefix('亿') {
            prefix = 1e8;
            rest = r;
        }
        // Power: trailing ², ³, digits, or ^n.
        let (base, pow) = split_power(rest);
        // A pure number (`10^18`, `1e4`): a factor, as in `元/(10^18 ions)`.
        if prefix == 1.0 {
            if let Ok(n) = base.parse::<f64>() {
                if !(n.is_finite() && n > 0.0) {
                    return Err(format!("`{tok}` is not a positive factor"));
                }
                u.factor *= n.powi(pow);
                continue;
            }
        }
        let (f, dim, e) = atom(base).ok_or_else(|| format!("unknown unit `{tok}`"))?;
        u.factor *= prefix * f.powi(pow);
        *u.dims.entry(dim.to_string()).or_insert(0) += e * pow;
        if dim == "kg" {
            last_mass = Some(e * pow);
        }
    }
    u.dims.retain(|_, e| *e != 0);
    Ok(u)
}

fn split_power(s: &str) -> (&str, i32) {
    if let Some((b, p)) = s.split_once('^') {
        if let Ok(p) = p.parse() {
            return (b, p);
        }
    }
    for (suffix, p) in [("²", 2), ("³", 3), ("2", 2), ("3", 3)] {
        if let Some(b) = s.strip_suffix(suffix) {
            // `CO2`, `O2`, `hm2` are atoms or substances, not powers.
            if atom(s).is_none() && atom(b).is_some() {
                return (b, p);
            }
        }
    }
    (s, 1)
}

/// Value of `quantity` (in `q_unit`) at `price` (in `p_unit`), in 元 per year: checks that
/// `q_unit × p_unit` is money per year and converts.
///
/// ```
/// use gep_core::physical_unit::{value_per_year, Unit};
/// // Garzé 2010: 321.49 亿 m³ × 7.06 元/m³ = 2,269.7 亿元
/// let v = value_per_year(321.49, &Unit::parse("亿m3/a").unwrap(), 7.06,
///     &Unit::parse("元/m3").unwrap(), "water conservation").unwrap();
/// assert!((v - 2269.7194e8).abs() < 1e3);
/// ```
///
/// # Errors
/// [`UnitError::Mismatch`] naming `context` when the product is not 元/a.
///
/// # Units
/// 元/a.
pub fn value_per_year(
    quantity: f64,
    q_unit: &Unit,
    price: f64,
    p_unit: &Unit,
    context: &str,
) -> Result<f64, UnitError> {
    let target = Unit::parse("元/a").expect("valid unit");
    let f = q_unit.mul(p_unit).factor_to_in(&target, context)?;
    Ok(quantity * price * f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Unit {
        Unit::parse(s).unwrap()
    }

    #[test]
    fn parses_the_units_of_the_services() {
        for s in [
            "元/m3",
            "元/m³",
            "t C/a",
            "t CO2/a",
            "t CO₂/a",
            "g C/(m2·a)",
            "元/t CO2",
            "元/亩/a",
            "元/(ha·a)",
            "kJ/kg",
            "kWh",
            "元/kWh",
            "t/m3",
            "%",
            "1",
            "d",
            "mm",
            "亿m3",
            "万t",
            "元/(10^18 ions)",
            "10^4 m3",
            "ions/cm3",
            "kg SO2/(ha·a)",
        ] {
            assert!(Unit::parse(s).is_ok(), "{s}");
        }
        // 元 per 10^18 ions is 10^-18 元 per ion; 10^4 m³ is 万 m³.
        assert!((u("元/(10^18 ions)").factor_to(&u("元/ions")).unwrap() - 1e-18).abs() < 1e-30);
        assert_eq!(u("10^4 m3").factor_to(&u("万m3")).unwrap(), 1.0);
        assert!(Unit::parse("0 m3").is_err());
        assert!(Unit::parse("furlongs").is_err());
        assert!(Unit::parse("元/(m3").is_err());
    }

    #[test]
    fn conversions_by_hand() {
        // 1 亩 = 10,000/15 m² = 666.67 m², so 1 元/亩 = 15 元/ha.
        assert!((u("亩").factor_to(&u("m2")).unwrap() - 666.666_666_666_7).abs() < 1e-9);
        assert!((u("元/亩/a").factor_to(&u("元/ha/a")).unwrap() - 15.0).abs() < 1e-12);
        // 1 mm = 0.001 m; 1 mm over 1 ha = 10 m³.
        assert!((u("mm").factor_to(&u("m")).unwrap() - 1e-3).abs() < 1e-18);
        assert!((u("mm").mul(&u("ha")).factor_to(&u("m3")).unwrap() - 10.0).abs() < 1e-12);
        // 1 g C/(m²·a) over 1 km² = 1 t C/a.
        let f = u("g C/(m2·a)")
            .mul(&u("km2"))
            .factor_to(&u("t C/a"))
            .unwrap();
        assert!((f - 1.0).abs() < 1e-12);
        // 1 kWh = 3600 kJ.
        assert!((u("kWh").factor_to(&u("kJ")).unwrap() - 3600.0).abs() < 1e-9);
        // 亿 m³ = 10⁸ m³; 万 t = 10⁴ t.
        assert_eq!(u("亿m3").factor_to(&u("m3")).unwrap(), 1e8);
        assert_eq!(u("万t").factor_to(&u("t")).unwrap(), 1e4);
        // 30 d out of 365 d.
        assert!((u("d").factor_to(&u("a")).unwrap() - 1.0 / 365.0).abs() < 1e-15);
    }

    #[test]
    fn nonsense_is_refused() {
        // t C × 元/t CO₂
        let e = u("t C/a")
            .mul(&u("元/t CO2"))
            .factor_to_in(&u("元/a"), "carbon sequestration")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("carbon sequestration") && e.contains("substances differ"),
            "{e}"
        );
        // an untagged tonne is not a tonne of carbon
        assert!(u("t/a").mul(&u("元/t C")).factor_to(&u("元/a")).is_err());
        // mm is not m³; 元/亩 is not 元 (a per-area value is not a total)
        assert!(u("mm").factor_to(&u("m3")).is_err());
        assert!(u("元/亩").factor_to(&u("元")).is_err());
        // N and P do not mix
        assert!(u("t N").factor_to(&u("t P")).is_err());
    }

    #[test]
    fn carbon_to_co2_only_when_asked() {
        // 12 t C = 44 t CO₂ (44/12).
        let (v, unit) = u("t C/a")
            .convert_substance(12.0, "C", "CO2", 44.0 / 12.0)
            .unwrap();
        assert!((v - 44.0).abs() < 1e-12);
        assert!(unit.same_dimension(&u("t CO2/a")));
        assert_eq!(unit.as_str(), "t CO2/a");
        assert!(value_per_year(v, &unit, 100.0, &u("元/t CO2"), "c").is_ok());
        assert!(u("t/a")
            .convert_substance(1.0, "C", "CO2", 44.0 / 12.0)
            .is_err());
    }
}
