//! Statistics-based services: a county × year × service table from the statistical yearbook
//! (material products, water supply, hydropower, recreation), allocated to townships and
//! villages by a declared key, conserving every county figure exactly.
//!
//! The schema, the units, the default keys and a worked example are in `docs/statistics.md`;
//! a template is `fixtures/statistics/template.csv`.
//!
//! # Exactness
//! Money is held in integer **fen** ([`Fen`], 0.01 元) and quantities in integer millionths
//! of their base unit ([`Micro`]), parsed from the decimal text exactly (no binary floating
//! point between the yearbook and the fen). A county figure is split top-down (county →
//! townships → villages within each township) by the **largest-remainder method** on exact
//! integer weights: each child gets ⌊A·wᵢ/W⌋ fen and the fen left over go, one each, to the
//! children with the largest remainders (ties to the smaller zone id). So Σ villages =
//! township and Σ townships = county hold **exactly in fen**. The `f64` yuan of
//! [`AccountRow::value_yuan`] is each row's fen correctly rounded; a sum of such `f64` may
//! differ from the parent's `f64` in the last bit, so check conservation (and write totals)
//! with [`AllocatedRow::fen`] ([`Fen`]'s `Display` writes the exact decimal yuan).
//!
//! ```
//! use gep_core::statistics::{allocate, StatisticsTable, ZoneAreas};
//! use gep_core::{geo_types::MultiPolygon, Level, SquareMeters, Zone};
//! let csv = "county_id,year,service,item,value,value_unit,quantity,quantity_unit,price,price_unit,price_year,source,allocation\n\
//!            330100,2020,agriculture_products,,1.5,万元,,,,,2020,example yearbook table 1,\n";
//! let table = StatisticsTable::from_csv_str(csv, "stats.csv").unwrap();
//! let empty = MultiPolygon::<f64>(vec![]);
//! let mut zones = vec![
//!     Zone::new("330100", "county", Level::County, empty.clone()),
//!     Zone::new("330100001", "town A", Level::Township, empty.clone()),
//!     Zone::new("330100002", "town B", Level::Township, empty),
//! ];
//! gep_core::resolve_parents(&mut zones).unwrap();
//! let mut areas = ZoneAreas::new();
//! areas.insert("330100001", "paddy", SquareMeters(10_000.0)).unwrap();
//! areas.insert("330100002", "dry_farmland", SquareMeters(20_000.0)).unwrap();
//! let out = allocate(&table, &zones, &areas, None, 2020).unwrap();
//! // 1.5 万元 = 1,500,000 fen split 1 : 2 by cropland area.
//! let fen: Vec<i128> = out.rows.iter().map(|r| r.fen.0).collect();
//! assert_eq!(fen, vec![1_500_000, 500_000, 1_000_000]);
//! ```

use crate::account::{AccountRow, Text};
use crate::catalog::{read_text, sha256_hex, Catalog, Category, DataFile};
use crate::crosswalk::Crosswalk;
use crate::error::CoreError;
use crate::extent::{ExactArea, ExtentTable};
use crate::units::{SquareMeters, Yuan, M2_PER_HA};
use crate::zone::{Level, Zone};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::Path;

/// The built-in allocation keys: service → key. Each is a **convention** of this engine, not
/// a rule of the standard; a bureau replaces it with its own key (the `allocation` column,
/// the `[allocation]` preamble table, or village shares). See `docs/statistics.md`.
pub const DEFAULT_KEYS: &[(&str, &str)] = &[
    // Crops grow on cropland (paddy and dry farmland are its subtypes), orchards and tea gardens.
    ("agriculture_products", "area:cropland+orchard+tea_garden"),
    // Timber, bamboo and other forest products: every forest type (with subtypes).
    ("forestry_products", "area:forest"),
    // Convention: grazing and fodder land; penned livestock is not tied to land at all.
    ("livestock_products", "area:grassland+cropland"),
    // Ponds, rivers, lakes and reservoirs.
    ("fishery_products", "area:water"),
    // Convention: the ecosystems that yield the water (water bodies, wetland, forest
    // catchments); population, the usual beneficiary key, is not an input of the engine.
    ("water_supply", "area:water+wetland+forest"),
    // Convention: plants sit on rivers and reservoirs; give plant-level shares when known.
    ("hydropower", "area:water"),
    // Convention: the natural ecosystems visitors come for.
    ("recreation", "area:forest+shrub+grassland+wetland+water"),
];

// ---------------------------------------------------------------------------------------------
// Exact numbers
// ---------------------------------------------------------------------------------------------

/// An amount of money in fen (分, 0.01 元), exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct Fen(pub i128);

impl Fen {
    /// The amount in yuan, correctly rounded to `f64`.
    ///
    /// # Units
    /// 元.
    pub fn to_yuan(self) -> Yuan {
        // i128 → f64 rounds once; the division by 100 rounds again: for |fen| < 2⁵³ the first
        // is exact and the result is the correctly rounded quotient.
        Yuan(self.0 as f64 / 100.0)
    }
}

impl fmt::Display for Fen {
    /// The exact decimal yuan with two decimals (`12345.67`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", a / 100, a % 100)
    }
}

impl std::iter::Sum for Fen {
    fn sum<I: Iterator<Item = Fen>>(iter: I) -> Fen {
        Fen(iter.map(|f| f.0).sum())
    }
}

/// A physical quantity in millionths of its base unit (t, m³, kWh, 人次, 头, 只), exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct Micro(pub u128);

impl Micro {
    /// The quantity in its base unit, correctly rounded to `f64`.
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
}

/// A non-negative decimal `mant × 10^exp`, parsed exactly from text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Dec {
    mant: u128,
    exp: i32,
}

impl Dec {
    const fn int(mant: u128) -> Dec {
        Dec { mant, exp: 0 }
    }

    const fn pow10(exp: i32) -> Dec {
        Dec { mant: 1, exp }
    }

    fn mul(self, o: Dec) -> Option<Dec> {
        Some(Dec {
            mant: self.mant.checked_mul(o.mant)?,
            exp: self.exp + o.exp,
        })
    }

    /// `self / den` rounded half up to an integer; `None` on overflow. Also says whether
    /// rounding happened.
    fn div_round(self, den: Dec) -> Option<(u128, bool)> {
        let e = self.exp - den.exp;
        let (num, d) = if e >= 0 {
            (self.mant.checked_mul(pow10(e as u32)?)?, den.mant)
        } else {
            (self.mant, den.mant.checked_mul(pow10((-e) as u32)?)?)
        };
        let (q, r) = (num / d, num % d);
        Some(if r >= d - r {
            (q + 1, true)
        } else {
            (q, r != 0)
        })
    }

    /// `self / den` as f64 (for display columns only; 10^k is exact in f64 for k ≤ 22).
    fn ratio_f64(self, den: Dec) -> f64 {
        let x = self.mant as f64 / den.mant as f64;
        let e = self.exp - den.exp;
        if e >= 0 {
            x * 10f64.powi(e)
        } else {
            x / 10f64.powi(-e)
        }
    }
}

impl fmt::Display for Dec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.mant.to_string();
        if self.exp >= 0 {
            return write!(f, "{digits}{}", "0".repeat(self.exp as usize));
        }
        let frac = (-self.exp) as usize;
        let digits = format!("{digits:0>width$}", width = frac + 1);
        let (i, d) = digits.split_at(digits.len() - frac);
        let d = d.trim_end_matches('0');
        if d.is_empty() {
            write!(f, "{i}")
        } else {
            write!(f, "{i}.{d}")
        }
    }
}

fn pow10(n: u32) -> Option<u128> {
    10u128.checked_pow(n)
}

/// Why a number did not parse.
enum DecError {
    Blank,
    Negative,
    NotNumber,
    TooLong,
}

fn parse_dec(s: &str) -> Result<Dec, DecError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(DecError::Blank);
    }
    let s = s.strip_prefix('+').unwrap_or(s);
    if let Some(rest) = s.strip_prefix('-') {
        // "-0" is zero; any other negative is refused (outputs are ≥ 0).
        return match parse_dec(rest)? {
            d if d.mant == 0 => Ok(d),
            _ => Err(DecError::Negative),
        };
    }
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(DecError::NotNumber);
    }
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    if digits.len() > 30 {
        return Err(DecError::TooLong);
    }
    let mant = if digits.is_empty() {
        0
    } else {
        digits.parse::<u128>().map_err(|_| DecError::TooLong)?
    };
    Ok(Dec {
        mant,
        exp: -(frac.len() as i32),
    })
}

/// `a·b / c` as (quotient, remainder) with a 256-bit intermediate product.
///
/// Requires `b ≤ c` and `c > 0` (the quotient then fits: it is at most `a`).
fn mul_div(a: u128, b: u128, c: u128) -> (u128, u128) {
    debug_assert!(c > 0 && b <= c);
    let (hi, lo) = mul_wide(a, b);
    // Long division of hi:lo by c, one bit at a time; hi < c holds since the quotient fits.
    let mut r = hi;
    let mut q = 0u128;
    for i in (0..128).rev() {
        let carry = r >> 127;
        r = (r << 1) | ((lo >> i) & 1);
        q <<= 1;
        if carry == 1 || r >= c {
            r = r.wrapping_sub(c);
            q |= 1;
        }
    }
    (q, r)
}

fn mul_wide(a: u128, b: u128) -> (u128, u128) {
    const M: u128 = u64::MAX as u128;
    let (a1, a0) = (a >> 64, a & M);
    let (b1, b0) = (b >> 64, b & M);
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 64) + (p01 & M) + (p10 & M);
    let lo = (p00 & M) | (mid << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (hi, lo)
}

/// Splits `amount` over `weights` (Σ > 0) by the largest-remainder method: ⌊A·wᵢ/W⌋ each,
/// then one more unit to each of the largest remainders, ties to the smaller `ids[i]`.
/// The parts sum to `amount` exactly; a zero weight gets zero.
fn largest_remainder(amount: u128, weights: &[u128], ids: &[&str]) -> Vec<u128> {
    let total: u128 = weights.iter().sum();
    debug_assert!(total > 0);
    let mut parts = Vec::with_capacity(weights.len());
    let mut rems = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let (q, r) = mul_div(amount, *w, total);
        parts.push(q);
        rems.push((r, i));
    }
    let left = amount - parts.iter().sum::<u128>();
    // left < number of non-zero remainders, so zero-weight (zero-remainder) parts get nothing.
    rems.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| ids[a.1].cmp(ids[b.1])));
    for (_, i) in rems.iter().take(left as usize) {
        parts[*i] += 1;
    }
    parts
}

// ---------------------------------------------------------------------------------------------
// Units
// ---------------------------------------------------------------------------------------------

/// What a quantity measures; quantities convert only within one dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dimension {
    /// Mass; base unit t.
    Mass,
    /// Volume; base unit m³.
    Volume,
    /// Electric energy; base unit kWh.
    Energy,
    /// Visits; base unit 人次 (person-times).
    Visits,
    /// Head of livestock counted in 头 (pigs, cattle, sheep).
    Head,
    /// Head counted in 只 (poultry, rabbits): kept apart from 头, as the yearbooks do.
    Birds,
}

impl Dimension {
    /// The dimension's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Dimension::Mass => "mass",
            Dimension::Volume => "volume",
            Dimension::Energy => "electricity",
            Dimension::Visits => "visits",
            Dimension::Head => "head (头)",
            Dimension::Birds => "head (只)",
        }
    }

    /// The base unit quantities are converted to.
    pub fn base_unit(self) -> &'static str {
        match self {
            Dimension::Mass => "t",
            Dimension::Volume => "m³",
            Dimension::Energy => "kWh",
            Dimension::Visits => "人次",
            Dimension::Head => "头",
            Dimension::Birds => "只",
        }
    }
}

/// Base quantity units: spelling (lower-cased, no spaces) → dimension, factor to the base unit
/// as (mantissa, power of ten). These are the only conversions the engine makes.
const QUANTITY_UNITS: &[(&str, Dimension, u128, i32)] = &[
    ("t", Dimension::Mass, 1, 0),
    ("吨", Dimension::Mass, 1, 0),
    ("kg", Dimension::Mass, 1, -3),
    ("公斤", Dimension::Mass, 1, -3),
    ("千克", Dimension::Mass, 1, -3),
    // 1 斤 = 0.5 kg = 0.0005 t exactly.
    ("斤", Dimension::Mass, 5, -4),
    ("m³", Dimension::Volume, 1, 0),
    ("m3", Dimension::Volume, 1, 0),
    ("立方米", Dimension::Volume, 1, 0),
    ("方", Dimension::Volume, 1, 0),
    ("kwh", Dimension::Energy, 1, 0),
    ("千瓦时", Dimension::Energy, 1, 0),
    ("度", Dimension::Energy, 1, 0),
    ("mwh", Dimension::Energy, 1, 3),
    ("gwh", Dimension::Energy, 1, 6),
    ("人次", Dimension::Visits, 1, 0),
    ("visits", Dimension::Visits, 1, 0),
    ("visit", Dimension::Visits, 1, 0),
    ("person-times", Dimension::Visits, 1, 0),
    ("头", Dimension::Head, 1, 0),
    ("head", Dimension::Head, 1, 0),
    ("只", Dimension::Birds, 1, 0),
];

/// A parsed quantity unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct QUnit {
    dim: Dimension,
    /// Base units in one of this unit.
    factor: Dec,
}

fn norm_unit(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase()
}

fn parse_qunit(s: &str) -> Option<QUnit> {
    let n = norm_unit(s);
    // A 万 (10⁴) or 亿 (10⁸) prefix: 万t, 万m³, 万kWh, 亿千瓦时, 万人次, 万头.
    let (scale, rest) = if let Some(r) = n.strip_prefix('万') {
        (4, r)
    } else if let Some(r) = n.strip_prefix('亿') {
        (8, r)
    } else {
        (0, n.as_str())
    };
    QUANTITY_UNITS
        .iter()
        .find(|u| u.0 == rest)
        .map(|&(_, dim, m, e)| QUnit {
            dim,
            factor: Dec {
                mant: m,
                exp: e + scale,
            },
        })
}

/// Money units: 元, 万元, 亿元 → power of ten to 元.
fn parse_money(s: &str) -> Option<i32> {
    match norm_unit(s).as_str() {
        "元" | "yuan" | "cny" | "rmb" => Some(0),
        "万元" | "10^4yuan" => Some(4),
        "亿元" | "10^8yuan" => Some(8),
        _ => None,
    }
}

const MONEY_UNITS: &str = "元, 万元 (10⁴ 元), 亿元 (10⁸ 元)";
const QUANTITY_UNITS_DOC: &str = "t, kg, 斤, 吨, 公斤 (mass); m³, 立方米, 方 (volume); kWh, 千瓦时, 度, MWh, GWh (electricity); 人次 (visits); 头, 只 (head); each optionally prefixed 万 or 亿";

// ---------------------------------------------------------------------------------------------
// Allocation keys
// ---------------------------------------------------------------------------------------------

/// How a county figure is spread over its townships and villages.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum AllocationKey {
    /// In proportion to the area of these ecosystem types (each with its catalogue subtypes:
    /// `forest` covers `forest_conifer`, `cropland` covers `paddy` and `dry_farmland`).
    Area(Vec<String>),
    /// In proportion to the weights of the `village_shares` rows whose `service` column is
    /// this name (the service's own code, or a shared key such as `population`).
    Shares(String),
}

impl AllocationKey {
    /// Parses `area:TYPE+TYPE...`, `shares` (the row's service) or `shares:NAME`.
    ///
    /// # Errors
    /// A message saying what is wrong (unknown type, bad syntax).
    pub fn parse(s: &str, service: &str) -> Result<AllocationKey, String> {
        let s = s.trim();
        if s == "shares" {
            return Ok(AllocationKey::Shares(service.to_string()));
        }
        if let Some(name) = s.strip_prefix("shares:") {
            let name = name.trim();
            if name.is_empty() {
                return Err("`shares:` needs a name".into());
            }
            return Ok(AllocationKey::Shares(name.to_string()));
        }
        let Some(types) = s.strip_prefix("area:") else {
            return Err(format!(
                "{s:?} is not a key: write `area:TYPE+TYPE` (ecosystem types), `shares` or `shares:NAME`"
            ));
        };
        let cat = Catalog::builtin();
        let mut out: Vec<String> = Vec::new();
        for t in types.split('+').map(str::trim) {
            if cat.ecosystem(t).is_none() {
                return Err(format!(
                    "unknown ecosystem type {t:?} in key {s:?} (known: {})",
                    cat.ecosystem_codes()
                ));
            }
            if !out.iter().any(|o| o == t) {
                out.push(t.to_string());
            }
        }
        Ok(AllocationKey::Area(out))
    }

    /// The built-in key of a service ([`DEFAULT_KEYS`]), if it has one.
    pub fn default_for(service: &str) -> Option<AllocationKey> {
        DEFAULT_KEYS
            .iter()
            .find(|(s, _)| *s == service)
            .map(|(_, k)| AllocationKey::parse(k, service).expect("built-in keys are valid"))
    }

    /// The ecosystem types an area key counts, with all their catalogue subtypes.
    fn expanded_types(types: &[String]) -> BTreeSet<String> {
        let cat = Catalog::builtin();
        let mut out: BTreeSet<String> = types.iter().cloned().collect();
        // Subtypes of subtypes: iterate to a fixed point (the catalogue is shallow).
        loop {
            let before = out.len();
            for e in &cat.ecosystems {
                if e.parent.as_ref().is_some_and(|p| out.contains(p)) {
                    out.insert(e.code.clone());
                }
            }
            if out.len() == before {
                return out;
            }
        }
    }

    /// Words for the `method` column ("area of cropland, orchard").
    pub fn describe(&self) -> String {
        match self {
            AllocationKey::Area(t) => format!("area of {}", t.join(", ")),
            AllocationKey::Shares(n) => format!("village shares ({n})"),
        }
    }
}

impl fmt::Display for AllocationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllocationKey::Area(t) => write!(f, "area:{}", t.join("+")),
            AllocationKey::Shares(n) => write!(f, "shares:{n}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The statistics table
// ---------------------------------------------------------------------------------------------

/// How a row gives its figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Figure {
    /// A value in money (`value` + `value_unit`).
    Value {
        /// The number as written.
        value: String,
        /// 元, 万元 or 亿元.
        unit: String,
    },
    /// A quantity times a price.
    QuantityPrice {
        /// The quantity as written.
        quantity: String,
        /// Its unit as written.
        quantity_unit: String,
        /// The price as written.
        price: String,
        /// Its unit as written (`元/m³`).
        price_unit: String,
    },
}

/// One row of the statistics table, parsed and converted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatisticsRow {
    /// 1-based line in the file.
    pub line: usize,
    /// County code (text, leading zeros kept).
    pub county_id: String,
    /// Statistics year.
    pub year: i32,
    /// Service code (catalogue).
    pub service: String,
    /// Sub-item (`domestic`, `visits`...), when given.
    pub item: Option<String>,
    /// The figure as written.
    pub figure: Figure,
    /// The value in fen, exact (rounded half up to the fen only when the input has finer
    /// digits: see `rounded`).
    pub fen: Fen,
    /// Whether the value had to be rounded to the fen.
    pub rounded: bool,
    /// The quantity in millionths of the base unit, for quantity × price rows.
    pub quantity: Option<Micro>,
    /// The base unit of `quantity` (t, m³, kWh, 人次, 头, 只).
    pub quantity_unit: Option<&'static str>,
    /// The price in 元 per base unit (for the `unit_value` column).
    pub unit_price: Option<f64>,
    /// Price year of the figure.
    pub price_year: i32,
    /// The yearbook or table the figure comes from.
    pub source: String,
    /// The key this row is allocated by (row override, else the file's `[allocation]`
    /// table, else [`DEFAULT_KEYS`]).
    pub key: AllocationKey,
    /// Where the key came from: `row`, `file` or `default`.
    pub key_origin: &'static str,
}

impl StatisticsRow {
    /// The figure in words: `1234.5 万元` or `150 万kWh × 0.53 元/kWh`.
    pub fn describe(&self) -> String {
        match &self.figure {
            Figure::Value { value, unit } => format!("{value} {unit}"),
            Figure::QuantityPrice {
                quantity,
                quantity_unit,
                price,
                price_unit,
            } => format!("{quantity} {quantity_unit} × {price} {price_unit}"),
        }
    }
}

/// A parsed statistics table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatisticsTable {
    /// Where it was read from (a path, `path[sheet]`, or the name given).
    pub origin: String,
    /// SHA-256 of the text parsed (for a workbook: of the sheet as CSV).
    pub sha256: String,
    /// Rows in file order.
    pub rows: Vec<StatisticsRow>,
}

/// The columns of the table, in template order.
pub const COLUMNS: &[&str] = &[
    "county_id",
    "year",
    "service",
    "item",
    "value",
    "value_unit",
    "quantity",
    "quantity_unit",
    "price",
    "price_unit",
    "price_year",
    "source",
    "allocation",
];

impl StatisticsTable {
    /// Reads a table from a CSV file, or from a workbook (`.xlsx`, `.xlsm`, `.xls`, `.ods`:
    /// the sheet named `statistics`, else the first sheet).
    ///
    /// # Errors
    /// [`CoreError::Io`] when the file cannot be read; [`CoreError::DataFile`] naming the file,
    /// line (spreadsheet row) and column of the first invalid entry, with the fix.
    pub fn from_file(path: &Path) -> Result<StatisticsTable, CoreError> {
        let (text, name) = read_table_text(path, "statistics")?;
        StatisticsTable::from_csv_str(&text, &name)
    }

    /// Parses a table from CSV text (`file` names it in errors).
    ///
    /// # Errors
    /// [`CoreError::DataFile`] naming the file, line and column of the first invalid entry.
    pub fn from_csv_str(text: &str, file: &str) -> Result<StatisticsTable, CoreError> {
        let df = DataFile::parse(text, file)?;
        let cat = Catalog::builtin();
        // The `[allocation]` preamble table: service → key for every row of that service.
        let mut file_keys: BTreeMap<String, AllocationKey> = BTreeMap::new();
        if let Some(v) = df.meta.get("allocation") {
            let Some(t) = v.as_table() else {
                return Err(df.meta_err(
                    "allocation",
                    "expected a table of service = \"key\"",
                    "write `# [allocation]` then `# hydropower = \"shares\"`",
                ));
            };
            for (svc, k) in t {
                let fix = "write `# service_code = \"area:TYPE+TYPE\"` or `\"shares\"`";
                if cat.service(svc).is_none() {
                    return Err(df.meta_err("allocation", format!("unknown service {svc:?}"), fix));
                }
                let ks = k
                    .as_str()
                    .ok_or_else(|| df.meta_err(svc, "expected a string", fix))?;
                let key = AllocationKey::parse(ks, svc).map_err(|m| df.meta_err(svc, m, fix))?;
                file_keys.insert(svc.clone(), key);
            }
        }
        for k in df.meta.keys() {
            if !matches!(k.as_str(), "allocation" | "id" | "notes" | "version") {
                return Err(df.meta_err(
                    k,
                    "unknown preamble key",
                    "use only `id`, `version`, `notes` and the `[allocation]` table",
                ));
            }
        }
        let c_county = df.column("county_id")?;
        let c_year = df.column("year")?;
        let c_svc = df.column("service")?;
        let c_py = df.column("price_year")?;
        let c_src = df.column("source")?;
        let c_item = df.opt_column("item");
        let c_val = df.opt_column("value");
        let c_vu = df.opt_column("value_unit");
        let c_q = df.opt_column("quantity");
        let c_qu = df.opt_column("quantity_unit");
        let c_p = df.opt_column("price");
        let c_pu = df.opt_column("price_unit");
        let c_alloc = df.opt_column("allocation");
        if c_val.is_none() && c_q.is_none() {
            return Err(df.err(
                df.header_line,
                df.headers.len(),
                "the header has neither `value` nor `quantity`",
                "add the columns value,value_unit and/or quantity,quantity_unit,price,price_unit (see fixtures/statistics/template.csv)",
            ));
        }
        let mut rows = Vec::with_capacity(df.records.len());
        let mut seen: HashMap<(String, i32, String, String), usize> = HashMap::new();
        for (line, rec) in &df.records {
            let line = *line;
            let f = |c: Option<usize>| DataFile::field(rec, c);
            let county_id = f(Some(c_county)).to_string();
            if county_id.is_empty() {
                return Err(df.err(
                    line,
                    c_county,
                    "blank county code",
                    "enter the county's administrative code as text (6 digits, leading zeros kept)",
                ));
            }
            let year = parse_year(&df, line, c_year, f(Some(c_year)))?;
            let service = f(Some(c_svc)).to_string();
            match cat.service(&service) {
                Some(s) if s.category != Category::Stock => {}
                _ => {
                    return Err(df.err(
                        line,
                        c_svc,
                        format!("unknown service {service:?}"),
                        format!(
                            "use a catalogue service code: {}",
                            DEFAULT_KEYS
                                .iter()
                                .map(|k| k.0)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ))
                }
            }
            let item = Some(f(c_item).to_string()).filter(|s| !s.is_empty());
            let price_year = parse_year(&df, line, c_py, f(Some(c_py)))?;
            let source = f(Some(c_src)).to_string();
            if source.is_empty() {
                return Err(df.err(
                    line,
                    c_src,
                    "blank source",
                    "name the yearbook and table the figure comes from (e.g. `某县统计年鉴 2021 表 12-3`)",
                ));
            }
            // The figure.
            let vs = f(c_val);
            let qs = f(c_q);
            let fig = if !vs.is_empty() {
                for c in [c_q, c_qu, c_p, c_pu].into_iter().flatten() {
                    if !f(Some(c)).is_empty() {
                        return Err(df.err(
                            line,
                            c,
                            "a row gives either value or quantity × price, not both",
                            "blank the quantity and price columns, or the value columns (use two rows with different `item`s for two figures)",
                        ));
                    }
                }
                let c_val = c_val.expect("non-blank");
                let value = number(&df, line, c_val, vs)?;
                let unit_s = f(c_vu);
                let Some(money) = parse_money(unit_s) else {
                    return Err(df.err(
                        line,
                        c_vu.unwrap_or(df.headers.len()),
                        format!("unknown money unit {unit_s:?}"),
                        format!("write one of {MONEY_UNITS}"),
                    ));
                };
                let (fen, rounded) = value
                    .mul(Dec::pow10(money + 2))
                    .and_then(|d| d.div_round(Dec::int(1)))
                    .ok_or_else(|| too_long(&df, line, c_val))?;
                ParsedFigure {
                    figure: Figure::Value {
                        value: vs.to_string(),
                        unit: unit_s.to_string(),
                    },
                    fen,
                    rounded,
                    quantity: None,
                    unit_price: None,
                }
            } else if !qs.is_empty() {
                let c_q = c_q.expect("non-blank");
                if let Some(c) = c_vu.filter(|c| !f(Some(*c)).is_empty()) {
                    return Err(df.err(
                        line,
                        c,
                        "a value unit on a quantity × price row",
                        "blank value_unit, or give the value instead of quantity × price",
                    ));
                }
                parse_quantity_price(&df, rec, line, c_q, c_qu, c_p, c_pu)?
            } else {
                return Err(df.err(
                    line,
                    c_val.or(c_q).expect("one exists"),
                    "neither a value nor a quantity",
                    "give value + value_unit, or quantity + quantity_unit + price + price_unit",
                ));
            };
            let (key, key_origin) = match c_alloc.map(|c| (c, f(Some(c)))) {
                Some((c, s)) if !s.is_empty() => (
                    AllocationKey::parse(s, &service).map_err(|m| {
                        df.err(
                            line,
                            c,
                            m,
                            "write `area:TYPE+TYPE`, `shares` or `shares:NAME`, or leave it blank for the default",
                        )
                    })?,
                    "row",
                ),
                _ => match file_keys.get(&service) {
                    Some(k) => (k.clone(), "file"),
                    None => match AllocationKey::default_for(&service) {
                        Some(k) => (k, "default"),
                        None => {
                            return Err(df.err(
                                line,
                                c_alloc.unwrap_or(df.headers.len()),
                                format!("service {service:?} has no default allocation key"),
                                "give a key in an `allocation` column (`area:TYPE+TYPE` or `shares`) or in the `# [allocation]` preamble table",
                            ))
                        }
                    },
                },
            };
            let dup_key = (
                county_id.clone(),
                year,
                service.clone(),
                item.clone().unwrap_or_default(),
            );
            if let Some(first) = seen.insert(dup_key, line) {
                return Err(df.err(
                    line,
                    c_item.unwrap_or(c_svc),
                    format!(
                        "duplicate row: county {county_id}, year {year}, service {service}{} was already given on line {first}",
                        item.as_deref().map(|i| format!(", item {i}")).unwrap_or_default()
                    ),
                    "delete one of the two rows, or tell them apart with the `item` column (e.g. domestic / industrial)",
                ));
            }
            rows.push(StatisticsRow {
                line,
                county_id,
                year,
                service,
                item,
                figure: fig.figure,
                fen: Fen(fig.fen as i128),
                rounded: fig.rounded,
                quantity: fig.quantity.map(|q| q.0),
                quantity_unit: fig.quantity.map(|q| q.1),
                unit_price: fig.unit_price,
                price_year,
                source,
                key,
                key_origin,
            });
        }
        Ok(StatisticsTable {
            origin: file.to_string(),
            sha256: sha256_hex(text),
            rows,
        })
    }

    /// The years the table has rows for, ascending.
    pub fn years(&self) -> Vec<i32> {
        self.rows
            .iter()
            .map(|r| r.year)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }
}

struct ParsedFigure {
    figure: Figure,
    fen: u128,
    rounded: bool,
    quantity: Option<(Micro, &'static str)>,
    unit_price: Option<f64>,
}

fn parse_year(df: &DataFile, line: usize, col: usize, s: &str) -> Result<i32, CoreError> {
    match s.parse::<i32>() {
        Ok(y) if (1900..=2200).contains(&y) => Ok(y),
        _ => Err(df.err(
            line,
            col,
            format!("{s:?} is not a year"),
            "enter a four-digit year such as 2020",
        )),
    }
}

fn number(df: &DataFile, line: usize, col: usize, s: &str) -> Result<Dec, CoreError> {
    parse_dec(s).map_err(|e| match e {
        DecError::Blank => df.err(line, col, "blank number", "enter a number"),
        DecError::Negative => df.err(
            line,
            col,
            format!("{s:?} is negative"),
            "statistics of outputs are ≥ 0: check the sign",
        ),
        DecError::NotNumber => df.err(
            line,
            col,
            format!("{s:?} is not a number"),
            "enter a plain decimal number (dot as decimal separator, no thousands separators, no units or exponent)",
        ),
        DecError::TooLong => too_long(df, line, col),
    })
}

fn too_long(df: &DataFile, line: usize, col: usize) -> CoreError {
    df.err(
        line,
        col,
        "the number has too many digits to convert exactly",
        "round it to at most 30 significant digits (a yearbook figure rarely has more than 12)",
    )
}

#[allow(clippy::too_many_arguments)]
fn parse_quantity_price(
    df: &DataFile,
    rec: &csv::StringRecord,
    line: usize,
    c_q: usize,
    c_qu: Option<usize>,
    c_p: Option<usize>,
    c_pu: Option<usize>,
) -> Result<ParsedFigure, CoreError> {
    let f = |c: Option<usize>| DataFile::field(rec, c);
    let missing = |c: Option<usize>, name: &str| {
        df.err(
            line,
            c.unwrap_or(df.headers.len()),
            format!("blank {name} on a quantity × price row"),
            format!("enter the {name}, or give value + value_unit instead"),
        )
    };
    let qs = f(Some(c_q));
    let qus = f(c_qu);
    let ps = f(c_p);
    let pus = f(c_pu);
    if qus.is_empty() {
        return Err(missing(c_qu, "quantity_unit"));
    }
    if ps.is_empty() {
        return Err(missing(c_p, "price"));
    }
    if pus.is_empty() {
        return Err(missing(c_pu, "price_unit"));
    }
    let (c_qu, c_p, c_pu) = (
        c_qu.expect("non-blank"),
        c_p.expect("non-blank"),
        c_pu.expect("non-blank"),
    );
    let q = number(df, line, c_q, qs)?;
    let p = number(df, line, c_p, ps)?;
    let Some(qu) = parse_qunit(qus) else {
        return Err(df.err(
            line,
            c_qu,
            format!("unknown quantity unit {qus:?}"),
            format!("write one of {QUANTITY_UNITS_DOC}"),
        ));
    };
    let bad_price_unit = || {
        df.err(
            line,
            c_pu,
            format!("unknown price unit {pus:?}"),
            format!("write money/quantity, money one of {MONEY_UNITS}, quantity one of {QUANTITY_UNITS_DOC} (e.g. 元/m³, 元/kWh, 元/人次)"),
        )
    };
    let (money_s, per_s) = pus.split_once('/').ok_or_else(bad_price_unit)?;
    let money = parse_money(money_s).ok_or_else(bad_price_unit)?;
    let per = parse_qunit(per_s).ok_or_else(bad_price_unit)?;
    if per.dim != qu.dim {
        return Err(CoreError::DataFile {
            file: df.file.clone(),
            line,
            column: c_pu + 1,
            message: format!(
                "column price_unit: {pus:?} is a price per {} unit but column quantity_unit (column {}) is {qus:?}, a {} unit",
                per.dim.name(),
                c_qu + 1,
                qu.dim.name()
            ),
            fix: format!(
                "give the price per {} (or per another {} unit), or correct the quantity unit; units convert only within one dimension ({QUANTITY_UNITS_DOC})",
                qu.dim.base_unit(),
                qu.dim.name()
            ),
        });
    }
    // value (fen) = q · f_q · p · 10^money · 100 / f_per, exactly, rounded half up once.
    let num = q
        .mul(qu.factor)
        .and_then(|d| d.mul(p))
        .and_then(|d| d.mul(Dec::pow10(money + 2)));
    let (fen, rounded) = num
        .and_then(|n| n.div_round(per.factor))
        .ok_or_else(|| too_long(df, line, c_p))?;
    let (micro, q_rounded) = q
        .mul(qu.factor)
        .and_then(|d| d.mul(Dec::pow10(6)))
        .and_then(|d| d.div_round(Dec::int(1)))
        .ok_or_else(|| too_long(df, line, c_q))?;
    let unit_price = p.mul(Dec::pow10(money)).map(|d| d.ratio_f64(per.factor));
    Ok(ParsedFigure {
        figure: Figure::QuantityPrice {
            quantity: qs.to_string(),
            quantity_unit: qus.to_string(),
            price: ps.to_string(),
            price_unit: pus.to_string(),
        },
        fen,
        rounded: rounded || q_rounded,
        quantity: Some((Micro(micro), qu.dim.base_unit())),
        unit_price,
    })
}

/// Reads a CSV file as text, or a workbook's sheet (named `sheet`, else the first) as CSV text
/// whose line and field numbers are the sheet's row and column numbers.
fn read_table_text(path: &Path, sheet: &str) -> Result<(String, String), CoreError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "xlsx" | "xlsm" | "xls" | "xlsb" | "ods" => workbook_text(path, sheet),
        _ => Ok((read_text(path)?, path.display().to_string())),
    }
}

#[cfg(feature = "xlsx")]
fn workbook_text(path: &Path, sheet: &str) -> Result<(String, String), CoreError> {
    use calamine::{open_workbook_auto, Data, Reader};
    let file = path.display().to_string();
    let wb_err = |m: String| CoreError::DataFile {
        file: file.clone(),
        line: 1,
        column: 1,
        message: m,
        fix: "save the workbook again as .xlsx, or export the sheet as UTF-8 CSV".into(),
    };
    let mut wb =
        open_workbook_auto(path).map_err(|e| wb_err(format!("cannot read workbook: {e}")))?;
    let names = wb.sheet_names();
    let name = names
        .iter()
        .find(|n| n.eq_ignore_ascii_case(sheet))
        .or_else(|| names.first())
        .cloned()
        .ok_or_else(|| wb_err("the workbook has no sheets".into()))?;
    let range = wb
        .worksheet_range(&name)
        .map_err(|e| wb_err(format!("cannot read sheet {name:?}: {e}")))?;
    let (r0, c0) = range.start().unwrap_or((0, 0));
    let mut out = String::new();
    // Rows above the used range: blank lines, so that line numbers are row numbers.
    for _ in 0..r0 {
        out.push('\n');
    }
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    for row in range.rows() {
        let cells: Vec<String> = std::iter::repeat_n(String::new(), c0 as usize)
            .chain(row.iter().map(|c| match c {
                Data::Empty => String::new(),
                Data::String(s) => s.clone(),
                Data::Int(i) => i.to_string(),
                // Integral floats (2020.0) print as integers; others as the shortest decimal
                // that round-trips (12.5).
                Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
                Data::Float(f) => format!("{f}"),
                Data::Bool(b) => b.to_string(),
                other => other.to_string(),
            }))
            .collect();
        // A `#` preamble line is written as is (a `# key = "x"` cell would be quoted).
        if cells
            .iter()
            .find(|c| !c.is_empty())
            .is_some_and(|c| c.trim_start().starts_with('#'))
        {
            let bytes = w.into_inner().map_err(|e| wb_err(e.to_string()))?;
            out.push_str(&String::from_utf8_lossy(&bytes));
            out.push_str(cells.iter().find(|c| !c.is_empty()).expect("found"));
            out.push('\n');
            w = csv::WriterBuilder::new()
                .flexible(true)
                .from_writer(Vec::new());
            continue;
        }
        w.write_record(&cells).map_err(|e| wb_err(e.to_string()))?;
    }
    let bytes = w.into_inner().map_err(|e| wb_err(e.to_string()))?;
    out.push_str(&String::from_utf8_lossy(&bytes));
    Ok((out, format!("{file}[{name}]")))
}

#[cfg(not(feature = "xlsx"))]
fn workbook_text(path: &Path, _sheet: &str) -> Result<(String, String), CoreError> {
    Err(CoreError::DataFile {
        file: path.display().to_string(),
        line: 1,
        column: 1,
        message: "this build of gep-core reads workbooks only with the `xlsx` feature".into(),
        fix: "export the sheet as UTF-8 CSV, or build with the default features".into(),
    })
}

// ---------------------------------------------------------------------------------------------
// Village shares
// ---------------------------------------------------------------------------------------------

/// One row of a village-shares table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShareRow {
    /// 1-based line.
    pub line: usize,
    /// The zone (a village, or the lowest loaded level).
    pub zone_id: String,
    /// The key name: a service code, or a shared name such as `population`.
    pub service: String,
    /// The weight as written (non-negative decimal).
    pub weight: String,
    #[serde(skip)]
    weight_dec: Dec,
}

/// A bureau's village-level weights: `zone_id, service, weight`, normalised within each county.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VillageShares {
    /// Where it was read from.
    pub origin: String,
    /// SHA-256 of the text parsed.
    pub sha256: String,
    /// Rows in file order.
    pub rows: Vec<ShareRow>,
}

impl VillageShares {
    /// Reads a shares table from CSV or a workbook (sheet `village_shares`, else the first).
    ///
    /// # Errors
    /// [`CoreError::Io`]; [`CoreError::DataFile`] naming the file, line and column.
    pub fn from_file(path: &Path) -> Result<VillageShares, CoreError> {
        let (text, name) = read_table_text(path, "village_shares")?;
        VillageShares::from_csv_str(&text, &name)
    }

    /// Parses a shares table from CSV text.
    ///
    /// # Errors
    /// [`CoreError::DataFile`]: blank zone or key, a weight that is not a non-negative
    /// number, a duplicate zone × service.
    pub fn from_csv_str(text: &str, file: &str) -> Result<VillageShares, CoreError> {
        let df = DataFile::parse(text, file)?;
        let c_zone = df.column("zone_id")?;
        let c_svc = df.column("service")?;
        let c_w = df.column("weight")?;
        let mut rows = Vec::new();
        let mut seen: HashMap<(String, String), usize> = HashMap::new();
        for (line, rec) in &df.records {
            let line = *line;
            let zone_id = DataFile::field(rec, Some(c_zone)).to_string();
            let service = DataFile::field(rec, Some(c_svc)).to_string();
            if zone_id.is_empty() {
                return Err(df.err(line, c_zone, "blank zone id", "enter the village code"));
            }
            if service.is_empty() {
                return Err(df.err(
                    line,
                    c_svc,
                    "blank key",
                    "enter the service code (or the key name used as `shares:NAME`)",
                ));
            }
            let ws = DataFile::field(rec, Some(c_w));
            let weight_dec = number(&df, line, c_w, ws)?;
            if weight_dec.exp < -18 {
                return Err(df.err(
                    line,
                    c_w,
                    "more than 18 decimals",
                    "round the weight to at most 18 decimals",
                ));
            }
            if let Some(first) = seen.insert((zone_id.clone(), service.clone()), line) {
                return Err(df.err(
                    line,
                    c_zone,
                    format!("duplicate row: zone {zone_id}, key {service} was already given on line {first}"),
                    "keep one weight per zone and key",
                ));
            }
            rows.push(ShareRow {
                line,
                zone_id,
                service,
                weight: ws.to_string(),
                weight_dec,
            });
        }
        Ok(VillageShares {
            origin: file.to_string(),
            sha256: sha256_hex(text),
            rows,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Areas by zone and ecosystem type
// ---------------------------------------------------------------------------------------------

/// Per zone, the area of each ecosystem type (exact), the input of area keys.
///
/// Only the areas of the **lowest loaded level** (zones without children) are used: a
/// township's key area is the sum of its villages', so the split county → townships →
/// villages is consistent by construction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ZoneAreas {
    areas: HashMap<String, BTreeMap<String, ExactArea>>,
}

impl ZoneAreas {
    /// No areas.
    pub fn new() -> ZoneAreas {
        ZoneAreas::default()
    }

    /// Adds `area` of `ecosystem_type` to zone `zone_id`.
    ///
    /// # Errors
    /// [`CoreError::InvalidArea`] for a negative or non-finite area.
    pub fn insert(
        &mut self,
        zone_id: &str,
        ecosystem_type: &str,
        area: SquareMeters,
    ) -> Result<(), CoreError> {
        if !area.0.is_finite() || area.0 < 0.0 {
            return Err(CoreError::InvalidArea {
                zone_id: zone_id.to_string(),
                ecosystem_type: ecosystem_type.to_string(),
                area_m2: area.0,
            });
        }
        self.add(zone_id, ecosystem_type, ExactArea::from_m2(area.0));
        Ok(())
    }

    fn add(&mut self, zone_id: &str, ecosystem_type: &str, area: ExactArea) {
        *self
            .areas
            .entry(zone_id.to_string())
            .or_default()
            .entry(ecosystem_type.to_string())
            .or_default() += area;
    }

    /// The areas of an extent table's zones by ecosystem type, through a crosswalk (a split
    /// class contributes `share × area` to each of its types, as in the accounts).
    ///
    /// # Errors
    /// [`CoreError::UnmappedClasses`] when classes present in the extent have no mapping.
    pub fn from_extent(
        extent: &ExtentTable,
        crosswalk: &Crosswalk,
    ) -> Result<ZoneAreas, CoreError> {
        let totals = crate::account::class_totals(extent);
        let missing = crate::account::check_mapping(&totals, crosswalk);
        if !missing.is_empty() {
            return Err(CoreError::UnmappedClasses {
                crosswalk: crosswalk.id.clone(),
                count: missing.len(),
                list: missing
                    .iter()
                    .map(|m| format!("{} ({} m²)", m.class, m.area_m2))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let mut out = ZoneAreas::new();
        for (id, tally) in extent.zone_ids.iter().zip(&extent.zones) {
            for (class, area) in &tally.classes {
                for (t, part) in crosswalk.split(*class, *area).into_iter().flatten() {
                    out.add(id, t, part);
                }
            }
        }
        Ok(out)
    }

    /// The area of `ecosystem_type` in `zone_id` (zero when absent).
    ///
    /// # Units
    /// m².
    pub fn get(&self, zone_id: &str, ecosystem_type: &str) -> SquareMeters {
        self.areas
            .get(zone_id)
            .and_then(|m| m.get(ecosystem_type))
            .map(|a| a.square_meters())
            .unwrap_or_default()
    }

    fn key_area(&self, zone_id: &str, types: &BTreeSet<String>) -> ExactArea {
        self.areas
            .get(zone_id)
            .map(|m| {
                m.iter()
                    .filter(|(t, _)| types.contains(*t))
                    .map(|(_, a)| *a)
                    .sum()
            })
            .unwrap_or(ExactArea::ZERO)
    }
}

// ---------------------------------------------------------------------------------------------
// Allocation
// ---------------------------------------------------------------------------------------------

/// Something the caller should see, that did not stop the allocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StatisticsWarning {
    /// A county of the table is not among the zones: its figure was not allocated.
    CountyNotInZones {
        /// The county code.
        county_id: String,
        /// The service.
        service: String,
        /// The item, if any.
        item: Option<String>,
        /// Line of the table.
        line: usize,
    },
    /// A county zone has no figure for a service that the table gives for other counties.
    CountyWithoutStatistics {
        /// The county.
        county_id: String,
        /// The service.
        service: String,
    },
    /// A county's key is zero everywhere (fishery in a county without water): the county row
    /// is kept, flagged `not_allocated`, and no township or village row is written for it, so
    /// Σ children ≠ county for this service until the key is fixed.
    ZeroKey {
        /// The county.
        county_id: String,
        /// The service.
        service: String,
        /// The item, if any.
        item: Option<String>,
        /// The key (`area:water`).
        key: String,
        /// The figure that stayed at county level.
        fen: Fen,
        /// Line of the table.
        line: usize,
    },
    /// A shares row names a zone that is not loaded: its weight was not used.
    ShareZoneUnknown {
        /// The zone.
        zone_id: String,
        /// The key name.
        service: String,
        /// Line of the shares table.
        line: usize,
    },
    /// Rows of other years than the run's were skipped.
    OtherYears {
        /// The years skipped.
        years: Vec<i32>,
        /// How many rows.
        rows: usize,
    },
}

impl fmt::Display for StatisticsWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let item = |i: &Option<String>| i.as_deref().map(|i| format!(" ({i})")).unwrap_or_default();
        match self {
            StatisticsWarning::CountyNotInZones { county_id, service, item: i, line } => write!(f, "line {line}: county {county_id} ({service}{}) is not among the zones: its figure is not allocated; load that county or remove the row", item(i)),
            StatisticsWarning::CountyWithoutStatistics { county_id, service } => write!(f, "county {county_id} has no {service} figure in the statistics table although other counties have one: its {service} is not valued"),
            StatisticsWarning::ZeroKey { county_id, service, item: i, key, fen, line } => write!(f, "line {line}: county {county_id} has {fen} 元 of {service}{} but its key {key} is zero in every zone: the figure stays at county level (not allocated); declare another key for this row (`allocation` column) or check the extent", item(i)),
            StatisticsWarning::ShareZoneUnknown { zone_id, service, line } => write!(f, "village shares line {line}: zone {zone_id} ({service}) is not among the loaded zones: its weight is ignored"),
            StatisticsWarning::OtherYears { years, rows } => write!(f, "{rows} statistics row(s) of other years ({}) were skipped", years.iter().map(i32::to_string).collect::<Vec<_>>().join(", ")),
        }
    }
}

/// One allocated row: the account row and its exact figures.
#[derive(Debug, Clone, PartialEq)]
pub struct AllocatedRow {
    /// The row for `accounts.csv` (ecosystem type `all`; `value_yuan` = `fen` in 元).
    pub row: AccountRow,
    /// The exact value.
    pub fen: Fen,
    /// The exact quantity, for quantity × price figures.
    pub quantity: Option<Micro>,
    /// The statistics item, if any.
    pub item: Option<String>,
    /// The line of the statistics table.
    pub line: usize,
}

/// The result of [`allocate`].
#[derive(Debug, Clone, PartialEq)]
pub struct Allocation {
    /// Rows in zone order (as given), then statistics-table order.
    pub rows: Vec<AllocatedRow>,
    /// Counties, services and shares that need attention.
    pub warnings: Vec<StatisticsWarning>,
}

impl Allocation {
    /// The account rows alone.
    pub fn account_rows(&self) -> Vec<AccountRow> {
        self.rows.iter().map(|r| r.row.clone()).collect()
    }
}

/// The ecosystem-type column of allocated rows: the figure is not split by ecosystem type.
pub const ALL_TYPES: &str = "all";

/// Allocates the table's figures of `year` to every zone under their counties.
///
/// `zones` must have resolved parents ([`crate::resolve_parents`]); counties are the zones of
/// level county. For each statistics row of `year` and each zone of its county's subtree
/// (the county itself, its townships, their villages), one [`AccountRow`] is returned, with
/// ecosystem type [`ALL_TYPES`]; the children of each zone sum to it exactly in fen (see the
/// module docs). Area keys use `areas` of the lowest loaded level; shares keys use `shares`.
///
/// # Errors
/// [`CoreError::StatisticsYear`] when the table has no row for `year`;
/// [`CoreError::OrphanZone`] when a township or village has no loaded parent;
/// [`CoreError::DataFile`] when a row needs shares and none are given, or a shares row is for
/// a zone that has children (weights belong to the lowest loaded level).
pub fn allocate(
    table: &StatisticsTable,
    zones: &[Zone],
    areas: &ZoneAreas,
    shares: Option<&VillageShares>,
    year: i32,
) -> Result<Allocation, CoreError> {
    let cat = Catalog::builtin();
    let mut warnings = Vec::new();
    let rows: Vec<&StatisticsRow> = table.rows.iter().filter(|r| r.year == year).collect();
    if rows.is_empty() {
        return Err(CoreError::StatisticsYear {
            file: table.origin.clone(),
            run_year: year,
            table_years: table
                .years()
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let other: Vec<i32> = table.years().into_iter().filter(|y| *y != year).collect();
    if !other.is_empty() {
        warnings.push(StatisticsWarning::OtherYears {
            rows: table.rows.len() - rows.len(),
            years: other,
        });
    }
    // The hierarchy: children of each zone, sorted by id (the tie-break order).
    let index: HashMap<&str, usize> = zones
        .iter()
        .enumerate()
        .map(|(i, z)| (z.id.as_str(), i))
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); zones.len()];
    for (i, z) in zones.iter().enumerate() {
        if z.level == Level::County {
            continue;
        }
        let parent = z.parent.as_deref().and_then(|p| index.get(p));
        match parent {
            Some(p) => children[*p].push(i),
            None => {
                return Err(CoreError::OrphanZone {
                    id: z.id.clone(),
                    level: z.level.to_string(),
                    parent: z.parent.clone(),
                    expected: "county or township (resolve parents with gep_core::resolve_parents before allocating)".into(),
                })
            }
        }
    }
    for c in &mut children {
        c.sort_by(|a, b| zones[*a].id.cmp(&zones[*b].id));
    }
    let counties: HashMap<&str, usize> = zones
        .iter()
        .enumerate()
        .filter(|(_, z)| z.level == Level::County)
        .map(|(i, z)| (z.id.as_str(), i))
        .collect();
    // Shares: checked once per key name.
    let mut share_weights: HashMap<String, HashMap<usize, u128>> = HashMap::new();
    let mut per_zone: Vec<Vec<AllocatedRow>> = vec![Vec::new(); zones.len()];
    for r in &rows {
        let Some(&county) = counties.get(r.county_id.as_str()) else {
            warnings.push(StatisticsWarning::CountyNotInZones {
                county_id: r.county_id.clone(),
                service: r.service.clone(),
                item: r.item.clone(),
                line: r.line,
            });
            continue;
        };
        // Leaf weights, then subtree sums (post-order), for this county.
        let mut order = Vec::new();
        let mut stack = vec![county];
        while let Some(z) = stack.pop() {
            order.push(z);
            stack.extend(children[z].iter().copied());
        }
        let mut weight: HashMap<usize, u128> = HashMap::new();
        let (types, sw) = match &r.key {
            AllocationKey::Area(t) => (Some(AllocationKey::expanded_types(t)), None),
            AllocationKey::Shares(name) => {
                if !share_weights.contains_key(name) {
                    let w = share_table(
                        shares,
                        name,
                        r,
                        table,
                        zones,
                        &index,
                        &children,
                        &mut warnings,
                    )?;
                    share_weights.insert(name.clone(), w);
                }
                (None, share_weights.get(name))
            }
        };
        for &z in order.iter().rev() {
            let w = if children[z].is_empty() {
                match (&types, sw) {
                    (Some(t), _) => areas.key_area(&zones[z].id, t).0.max(0) as u128,
                    (None, Some(sw)) => sw.get(&z).copied().unwrap_or(0),
                    (None, None) => 0,
                }
            } else {
                children[z].iter().map(|c| weight[c]).sum()
            };
            weight.insert(z, w);
        }
        let svc = cat.service(&r.service).expect("checked at parse");
        let key_text = r.key.to_string();
        let item_flag = r
            .item
            .as_deref()
            .map(|i| format!(";item={i}"))
            .unwrap_or_default();
        let rounded_flag = if r.rounded { ";rounded_to_fen" } else { "" };
        let source: Text = format!("{} line {}: {}", table.origin, r.line, r.source).into();
        let item_text = r
            .item
            .as_deref()
            .map(|i| format!(" [{i}]"))
            .unwrap_or_default();
        let stat_text = format!(
            "statistics: {}{item_text} ({}, price year {})",
            r.describe(),
            r.source,
            r.price_year
        );
        let (unit, unit_value) = match r.unit_price {
            Some(p) => (format!("元/{}", r.quantity_unit.unwrap_or("")), Some(p)),
            None => ("元".to_string(), None),
        };
        let template = AccountRow {
            zone_id: Text::from(""),
            zone_level: Level::County,
            year,
            ecosystem_type: ALL_TYPES.into(),
            service: r.service.as_str().into(),
            category: svc.category,
            area_ha: 0.0,
            quantity: None,
            quantity_unit: r.quantity_unit.map(Text::from),
            unit_value,
            unit: unit.into(),
            price_year: Some(r.price_year),
            value_yuan: None,
            method: Text::from(""),
            source,
            flags: Text::from(""),
            area: ExactArea::ZERO,
        };
        let make = |z: usize, fen: u128, q: Option<u128>, method: &Text, flags: &Text| {
            let area = match types {
                Some(_) => ExactArea(weight[&z] as i128),
                None => ExactArea::ZERO,
            };
            let fen = Fen(fen as i128);
            AllocatedRow {
                row: AccountRow {
                    zone_id: zones[z].id.as_str().into(),
                    zone_level: zones[z].level,
                    area_ha: area.to_m2() / M2_PER_HA,
                    area,
                    quantity: q.map(|q| Micro(q).to_f64()),
                    value_yuan: Some(fen.to_yuan().0),
                    method: method.clone(),
                    flags: flags.clone(),
                    ..template.clone()
                },
                fen,
                quantity: q.map(Micro),
                item: r.item.clone(),
                line: r.line,
            }
        };
        let fen = r.fen.0 as u128;
        let q = r.quantity.map(|q| q.0);
        if weight[&county] == 0 {
            warnings.push(StatisticsWarning::ZeroKey {
                county_id: r.county_id.clone(),
                service: r.service.clone(),
                item: r.item.clone(),
                key: key_text.clone(),
                fen: r.fen,
                line: r.line,
            });
            let flags: Text =
                format!("statistics;not_allocated;key={key_text}{item_flag}{rounded_flag}").into();
            let method: Text =
                format!("{stat_text}; not allocated: key {key_text} is zero in the county").into();
            per_zone[county].push(make(county, fen, q, &method, &flags));
            continue;
        }
        let county_flags: Text =
            format!("statistics;key={key_text}{item_flag}{rounded_flag}").into();
        let county_method: Text = stat_text.clone().into();
        let child_flags: Text = format!("allocated;key={key_text}{item_flag}{rounded_flag}").into();
        let child_method: Text = format!("{stat_text} allocated by {}", r.key.describe()).into();
        // Top-down: `order` is a pre-order, so a zone's amount is known before its children.
        let mut amount: HashMap<usize, (u128, Option<u128>)> = HashMap::new();
        amount.insert(county, (fen, q));
        for &z in &order {
            let (a, qa) = amount[&z];
            let (method, flags) = if z == county {
                (&county_method, &county_flags)
            } else {
                (&child_method, &child_flags)
            };
            per_zone[z].push(make(z, a, qa, method, flags));
            let kids = &children[z];
            if kids.is_empty() {
                continue;
            }
            let w: Vec<u128> = kids.iter().map(|c| weight[c]).collect();
            let ids: Vec<&str> = kids.iter().map(|c| zones[*c].id.as_str()).collect();
            let parts = if w.iter().all(|x| *x == 0) {
                vec![0; kids.len()]
            } else {
                largest_remainder(a, &w, &ids)
            };
            let qparts = qa.map(|qa| {
                if w.iter().all(|x| *x == 0) {
                    vec![0; kids.len()]
                } else {
                    largest_remainder(qa, &w, &ids)
                }
            });
            for (k, c) in kids.iter().enumerate() {
                amount.insert(*c, (parts[k], qparts.as_ref().map(|p| p[k])));
            }
        }
    }
    // Counties without a figure for a service the table has.
    let given: BTreeSet<(&str, &str)> = rows
        .iter()
        .map(|r| (r.county_id.as_str(), r.service.as_str()))
        .collect();
    let services: BTreeSet<&str> = given.iter().map(|g| g.1).collect();
    for z in zones.iter().filter(|z| z.level == Level::County) {
        for s in &services {
            if !given.contains(&(z.id.as_str(), *s)) {
                warnings.push(StatisticsWarning::CountyWithoutStatistics {
                    county_id: z.id.clone(),
                    service: s.to_string(),
                });
            }
        }
    }
    Ok(Allocation {
        rows: per_zone.into_iter().flatten().collect(),
        warnings,
    })
}

/// The weights of shares key `name` by zone index, scaled to integers (all weights × 10^k,
/// k the most decimals used), with checks.
#[allow(clippy::too_many_arguments)]
fn share_table(
    shares: Option<&VillageShares>,
    name: &str,
    r: &StatisticsRow,
    table: &StatisticsTable,
    zones: &[Zone],
    index: &HashMap<&str, usize>,
    children: &[Vec<usize>],
    warnings: &mut Vec<StatisticsWarning>,
) -> Result<HashMap<usize, u128>, CoreError> {
    let Some(shares) = shares else {
        return Err(CoreError::DataFile {
            file: table.origin.clone(),
            line: r.line,
            column: COLUMNS.iter().position(|c| *c == "allocation").unwrap_or(0) + 1,
            message: format!(
                "{} is allocated by village shares ({name}) but no village shares table was given",
                r.service
            ),
            fix:
                "pass the village_shares.csv table (zone_id,service,weight), or choose an area key"
                    .into(),
        });
    };
    let rows: Vec<&ShareRow> = shares.rows.iter().filter(|s| s.service == name).collect();
    let min_exp = rows.iter().map(|s| s.weight_dec.exp).min().unwrap_or(0);
    let mut out = HashMap::new();
    for s in rows {
        let Some(&z) = index.get(s.zone_id.as_str()) else {
            warnings.push(StatisticsWarning::ShareZoneUnknown {
                zone_id: s.zone_id.clone(),
                service: name.to_string(),
                line: s.line,
            });
            continue;
        };
        if !children[z].is_empty() {
            return Err(CoreError::DataFile {
                file: shares.origin.clone(),
                line: s.line,
                column: 1,
                message: format!("column zone_id: zone {} is a {} with {} loaded child zone(s); weights belong to the lowest loaded level", s.zone_id, zones[z].level, children[z].len()),
                fix: "give the weights of its villages instead (a township's weight is the sum of its villages')".into(),
            });
        }
        let w = pow10((s.weight_dec.exp - min_exp) as u32)
            .and_then(|p| s.weight_dec.mant.checked_mul(p))
            .ok_or_else(|| CoreError::DataFile {
                file: shares.origin.clone(),
                line: s.line,
                column: 3,
                message: format!("column weight: {} cannot be scaled to the other weights' decimals exactly", s.weight),
                fix: "use fewer digits (weights are relative: 12.5 and 125 mean the same against 10 and 100)".into(),
            })?;
        out.insert(z, w);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_parse_exactly() {
        let d = |s: &str| parse_dec(s).ok().unwrap();
        assert_eq!(d("12.5"), Dec { mant: 125, exp: -1 });
        assert_eq!(d("0012"), Dec { mant: 12, exp: 0 });
        assert_eq!(d(".5"), Dec { mant: 5, exp: -1 });
        assert_eq!(d("-0"), Dec::int(0));
        assert!(matches!(parse_dec("-1"), Err(DecError::Negative)));
        assert!(matches!(parse_dec("1e3"), Err(DecError::NotNumber)));
        assert!(matches!(parse_dec("1,000"), Err(DecError::NotNumber)));
        assert!(matches!(parse_dec("."), Err(DecError::NotNumber)));
        assert_eq!(d("1234.50").to_string(), "1234.5");
        assert_eq!(d("0.05").to_string(), "0.05");
    }

    #[test]
    fn money_and_quantity_units() {
        assert_eq!(parse_money("万元"), Some(4));
        assert_eq!(parse_money(" 亿元 "), Some(8));
        assert_eq!(parse_money("千元"), None);
        let u = parse_qunit("万kWh").unwrap();
        assert_eq!((u.dim, u.factor), (Dimension::Energy, Dec::pow10(4)));
        let u = parse_qunit("斤").unwrap();
        assert_eq!(
            (u.dim, u.factor),
            (Dimension::Mass, Dec { mant: 5, exp: -4 })
        );
        assert_eq!(parse_qunit("M3").unwrap().dim, Dimension::Volume);
        assert!(parse_qunit("ha").is_none());
    }

    #[test]
    fn value_to_fen_rounds_half_up_once() {
        // 0.125 元 = 12.5 fen → 13 fen, flagged.
        let v = parse_dec("0.125").ok().unwrap();
        assert_eq!(
            v.mul(Dec::pow10(2)).unwrap().div_round(Dec::int(1)),
            Some((13, true))
        );
        // 1.5 亿元 = 15,000,000,000 fen, exact.
        let v = parse_dec("1.5").ok().unwrap();
        assert_eq!(
            v.mul(Dec::pow10(10)).unwrap().div_round(Dec::int(1)),
            Some((15_000_000_000, false))
        );
    }

    #[test]
    fn mul_div_matches_narrow_arithmetic_and_handles_wide_products() {
        for (a, b, c) in [
            (7u128, 3, 5),
            (1_234_500_000, 30, 70),
            (0, 1, 1),
            (u64::MAX as u128, 17, 19),
        ] {
            assert_eq!(mul_div(a, b, c), (a * b / c, a * b % c));
        }
        // a·b overflows u128: (2¹²⁰ · 3) / 4 = 3 · 2¹¹⁸.
        let a = 1u128 << 120;
        assert_eq!(mul_div(a, 3, 4), (3u128 << 118, 0));
        let (q, r) = mul_div(u128::MAX, u128::MAX - 1, u128::MAX);
        assert_eq!((q, r), (u128::MAX - 1, 0));
    }

    #[test]
    fn largest_remainder_conserves_and_breaks_ties_by_id() {
        // 100,001 fen over two equal weights: 50,000.5 each; the smaller id gets the fen.
        assert_eq!(
            largest_remainder(100_001, &[1, 1], &["b", "a"]),
            vec![50_000, 50_001]
        );
        // 10 over 1:1:1 → 3.33 each: one fen to the smallest id.
        assert_eq!(
            largest_remainder(10, &[1, 1, 1], &["x", "y", "z"]),
            vec![4, 3, 3]
        );
        // A zero weight never gets a leftover unit.
        assert_eq!(
            largest_remainder(5, &[0, 1, 1], &["a", "b", "c"]),
            vec![0, 3, 2]
        );
    }

    #[test]
    fn default_keys_parse_and_expand_subtypes() {
        for (s, _) in DEFAULT_KEYS {
            assert!(AllocationKey::default_for(s).is_some(), "{s}");
            assert!(Catalog::builtin().service(s).is_some(), "{s}");
        }
        let AllocationKey::Area(t) = AllocationKey::default_for("agriculture_products").unwrap()
        else {
            panic!()
        };
        let e = AllocationKey::expanded_types(&t);
        assert!(e.contains("paddy") && e.contains("dry_farmland") && e.contains("tea_garden"));
        assert!(!e.contains("forest"));
        assert_eq!(
            AllocationKey::parse("shares", "hydropower").unwrap(),
            AllocationKey::Shares("hydropower".into())
        );
        assert!(AllocationKey::parse("area:forrest", "x")
            .unwrap_err()
            .contains("forrest"));
    }

    proptest::proptest! {
        /// Σ parts = amount, and each part is ⌊A·wᵢ/W⌋ or one more (never more for wᵢ = 0).
        #[test]
        fn largest_remainder_conserves(amount in 0u128..1u128 << 100, weights in proptest::collection::vec(0u128..1u128 << 90, 1..12)) {
            proptest::prop_assume!(weights.iter().any(|w| *w > 0));
            let ids: Vec<String> = (0..weights.len()).map(|i| format!("{i:03}")).collect();
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            let parts = largest_remainder(amount, &weights, &ids);
            proptest::prop_assert_eq!(parts.iter().sum::<u128>(), amount);
            let total: u128 = weights.iter().sum();
            for (p, w) in parts.iter().zip(&weights) {
                let (q, _) = mul_div(amount, *w, total);
                proptest::prop_assert!(*p == q || (*p == q + 1 && *w > 0));
            }
        }
    }

    #[test]
    fn fen_display_is_exact() {
        assert_eq!(Fen(123_456).to_string(), "1234.56");
        assert_eq!(Fen(5).to_string(), "0.05");
        assert_eq!(Fen(-105).to_string(), "-1.05");
    }
}
