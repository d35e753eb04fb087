//! The catalogue of ecosystem types and services (codes, Chinese and English names, units,
//! pricing methods), embedded from `data/catalog.toml`, and the helpers that read the engine's
//! data files.
//!
//! # Data-file format (crosswalks, coefficient sets, deflators)
//! One UTF-8 CSV file per table, optionally preceded by a **metadata preamble**: the leading
//! lines that start with `#`, which with the `#` (and one following space) removed form a TOML
//! document (`# id = "xie2015"`, `# price_year = 2010`, ...). The CSV body that follows has a
//! header row; fields are addressed by header name, so extra columns are allowed. Every error
//! names the file, the 1-based line and the 1-based column (the CSV field number).
//!
//! ```
//! use gep_core::catalog::{Catalog, Category};
//! let cat = Catalog::builtin();
//! assert_eq!(cat.ecosystem("paddy").unwrap().zh, "水田");
//! assert_eq!(cat.service("water_conservation").unwrap().category, Category::Regulating);
//! ```

use crate::error::CoreError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The GEP category of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// 物质产品: material products.
    Material,
    /// 调节服务: regulating services.
    Regulating,
    /// 文化服务: cultural services.
    Cultural,
    /// 支持服务: supporting services of the equivalent-factor method (Xie et al. 2015: nutrient
    /// cycling, biodiversity). Not final services: GEP excludes them; an ESV total includes them
    /// (see [`crate::label`]).
    Supporting,
    /// A stock (e.g. carbon storage): reported as a physical quantity, not part of GEP.
    Stock,
}

impl Category {
    /// The name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Material => "material",
            Category::Regulating => "regulating",
            Category::Cultural => "cultural",
            Category::Supporting => "supporting",
            Category::Stock => "stock",
        }
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An ecosystem type that coefficient sets price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EcosystemType {
    /// Stable code (`forest_conifer`).
    pub code: String,
    /// Chinese name.
    pub zh: String,
    /// English name.
    pub en: String,
    /// The broader type, when this is a subtype (`forest` for `forest_conifer`).
    #[serde(default)]
    pub parent: Option<String>,
}

/// An ecosystem service (or stock).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    /// Stable code (`water_conservation`).
    pub code: String,
    /// GEP category.
    pub category: Category,
    /// Chinese name.
    pub zh: String,
    /// English name.
    pub en: String,
    /// Unit of the physical quantity (empty when the method has none, e.g. equivalent factors).
    pub physical_unit: String,
    /// Typical pricing method.
    pub pricing: String,
    /// Whether a per-area coefficient can express the service.
    pub per_area: bool,
    /// Where the definition comes from.
    pub source: String,
}

/// Ecosystem types and services, in a fixed order (the order of accounts rows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    /// Ecosystem types.
    #[serde(rename = "ecosystem", default)]
    pub ecosystems: Vec<EcosystemType>,
    /// Services.
    #[serde(rename = "service", default)]
    pub services: Vec<Service>,
}

const CATALOG_TOML: &str = include_str!("../data/catalog.toml");

impl Catalog {
    /// The built-in catalogue (`data/catalog.toml`).
    ///
    /// # Panics
    /// Never in a released build: the embedded file is checked by a unit test.
    pub fn builtin() -> &'static Catalog {
        static CAT: OnceLock<Catalog> = OnceLock::new();
        CAT.get_or_init(|| {
            Catalog::from_toml_str(CATALOG_TOML, "builtin:catalog.toml")
                .expect("embedded catalogue is valid")
        })
    }

    /// Parses a catalogue from TOML text (`[[ecosystem]]` and `[[service]]` tables).
    pub fn from_toml_str(text: &str, file: &str) -> Result<Catalog, CoreError> {
        let cat: Catalog = toml::from_str(text).map_err(|e| toml_error(text, file, 0, 0, &e))?;
        let mut seen = std::collections::HashSet::new();
        for c in cat
            .ecosystems
            .iter()
            .map(|e| &e.code)
            .chain(cat.services.iter().map(|s| &s.code))
        {
            if !seen.insert(c.clone()) {
                return Err(CoreError::DataFile {
                    file: file.into(),
                    line: find_line(text, &format!("code = \"{c}\"")),
                    column: 1,
                    message: format!("code {c:?} is defined twice"),
                    fix: "give every ecosystem type and service a unique code".into(),
                });
            }
        }
        Ok(cat)
    }

    /// The ecosystem type with this code.
    pub fn ecosystem(&self, code: &str) -> Option<&EcosystemType> {
        self.ecosystems.iter().find(|e| e.code == code)
    }

    /// The service with this code.
    pub fn service(&self, code: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.code == code)
    }

    /// Position of an ecosystem type in the catalogue (the sort order of accounts).
    pub fn ecosystem_rank(&self, code: &str) -> Option<usize> {
        self.ecosystems.iter().position(|e| e.code == code)
    }

    /// Position of a service in the catalogue.
    pub fn service_rank(&self, code: &str) -> Option<usize> {
        self.services.iter().position(|s| s.code == code)
    }

    /// The sort key of a service in **the standard's order**: the catalogue lists the GEP
    /// services as DB33/T 2274 and GEP-METHOD.md §2 do (material products: agriculture,
    /// forestry, livestock, fishery, water supply, hydropower; then regulating services:
    /// water conservation, soil retention with its sediment/N/P parts, flood regulation,
    /// water purification, air purification, carbon sequestration, oxygen release, climate
    /// regulation, negative air ions; then cultural: recreation, landscape value), then the
    /// equivalent-factor services in Xie et al. 2015's order, then stocks. Every table,
    /// column list and chart that lists services uses this key, never the code's alphabetical
    /// order. A code not in the catalogue sorts after all others, by code.
    ///
    /// ```
    /// use gep_core::catalog::Catalog;
    /// let cat = Catalog::builtin();
    /// let mut s = vec!["recreation", "water_conservation", "agriculture_products"];
    /// s.sort_by_key(|c| cat.service_order(c));
    /// assert_eq!(s, ["agriculture_products", "water_conservation", "recreation"]);
    /// ```
    pub fn service_order<'a>(&self, code: &'a str) -> (usize, &'a str) {
        match self.service_rank(code) {
            // Known codes: the rank alone orders them (the code breaks no ties).
            Some(r) => (r, ""),
            None => (usize::MAX, code),
        }
    }

    /// Sorts service codes into the standard's order ([`Catalog::service_order`]).
    pub fn sort_services<S: AsRef<str>>(&self, codes: &mut [S]) {
        codes.sort_by(|a, b| {
            self.service_order(a.as_ref())
                .cmp(&self.service_order(b.as_ref()))
        });
    }

    /// All ecosystem type codes, comma-separated (for error messages).
    pub fn ecosystem_codes(&self) -> String {
        self.ecosystems
            .iter()
            .map(|e| e.code.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn find_line(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or(1)
}

/// Converts a TOML error to a [`CoreError::DataFile`]; `line_offset`/`col_offset` map the parsed
/// text back into the file (for a `#` preamble).
pub(crate) fn toml_error(
    text: &str,
    file: &str,
    line_offset: usize,
    col_offset: usize,
    e: &toml::de::Error,
) -> CoreError {
    let (line, column) = match e.span() {
        Some(span) => line_col(text, span.start),
        None => (1, 1),
    };
    CoreError::DataFile {
        file: file.into(),
        line: line + line_offset,
        column: column + col_offset,
        message: e.message().to_string(),
        fix: "correct the TOML syntax or the key's type".into(),
    }
}

/// The key of a `# key = value` preamble line and the 1-based column (in characters) where
/// its value starts; `None` for continuation lines, tables and comments.
fn preamble_key(line: &str) -> Option<(String, usize)> {
    let (before, after) = line.split_once('=')?;
    let key = before.trim_start().trim_start_matches('#').trim();
    if key.is_empty()
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return None;
    }
    let value_start = line.len() - after.trim_start().len();
    Some((key.to_string(), line[..value_start].chars().count() + 1))
}

fn line_col(text: &str, byte: usize) -> (usize, usize) {
    let before = &text[..byte.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|s| s.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

/// A parsed data file: TOML preamble, CSV header and records with their line numbers.
#[derive(Debug)]
pub(crate) struct DataFile {
    pub file: String,
    pub meta: toml::Table,
    /// Where each top-level preamble key is written: key → (1-based line, 1-based column of
    /// its value), so that an error about a key's value points at it.
    pub meta_pos: BTreeMap<String, (usize, usize)>,
    pub header_line: usize,
    pub headers: Vec<String>,
    pub records: Vec<(usize, csv::StringRecord)>,
}

impl DataFile {
    /// Splits the preamble, parses it as TOML and reads the CSV body.
    pub fn parse(text: &str, file: &str) -> Result<DataFile, CoreError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut pre = String::new();
        let mut n_pre = 0usize;
        let mut body_start = 0usize;
        let mut meta_pos = BTreeMap::new();
        for line in text.split_inclusive('\n') {
            let t = line.trim_start();
            if t.starts_with('#') {
                if let Some((key, col)) = preamble_key(line) {
                    meta_pos.entry(key).or_insert((n_pre + 1, col));
                }
                let t = t.trim_start_matches('#');
                pre.push_str(t.strip_prefix(' ').unwrap_or(t));
                if !line.ends_with('\n') {
                    pre.push('\n');
                }
                n_pre += 1;
                body_start += line.len();
            } else {
                break;
            }
        }
        let meta: toml::Table =
            toml::from_str(&pre).map_err(|e| toml_error(&pre, file, 0, 2, &e))?;
        let body = &text[body_start..];
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .comment(Some(b'#'))
            .from_reader(body.as_bytes());
        let mut records = Vec::new();
        let mut headers: Option<(usize, Vec<String>)> = None;
        // (byte offset, newlines before it): records come in file order, so newlines are
        // counted once, from the previous record on (a count from 0 was quadratic).
        let mut counted = (0usize, 0usize);
        for r in rdr.records() {
            let r = r.map_err(|e| {
                let line = e.position().map(|p| p.line() as usize).unwrap_or(1) + n_pre;
                CoreError::DataFile {
                    file: file.into(),
                    line,
                    column: 1,
                    message: format!("malformed CSV: {e}"),
                    fix: "check the quoting and that the file is UTF-8".into(),
                }
            })?;
            // csv's own line counter skips blank lines: count newlines up to the record's byte.
            let mut byte = r
                .position()
                .map(|p| p.byte() as usize)
                .unwrap_or(0)
                .min(body.len());
            while byte < body.len() && matches!(body.as_bytes()[byte], b'\n' | b'\r') {
                byte += 1;
            }
            if byte < counted.0 {
                counted = (0, 0);
            }
            counted.1 += body.as_bytes()[counted.0..byte]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            counted.0 = byte;
            let line = counted.1 + 1 + n_pre;
            if r.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            if headers.is_none() {
                headers = Some((line, r.iter().map(|h| h.trim().to_string()).collect()));
            } else {
                records.push((line, r));
            }
        }
        let (header_line, headers) = headers.ok_or_else(|| CoreError::DataFile {
            file: file.into(),
            line: n_pre + 1,
            column: 1,
            message: "no CSV header row".into(),
            fix: "add a header row after the `#` preamble".into(),
        })?;
        Ok(DataFile {
            file: file.into(),
            meta,
            meta_pos,
            header_line,
            headers,
            records,
        })
    }

    /// The 0-based index of a required column.
    pub fn column(&self, name: &str) -> Result<usize, CoreError> {
        self.headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .ok_or_else(|| CoreError::DataFile {
                file: self.file.clone(),
                line: self.header_line,
                column: self.headers.len() + 1,
                message: format!(
                    "missing column {name:?} (header is {})",
                    self.headers.join(",")
                ),
                fix: format!("add a column named {name}"),
            })
    }

    /// The 0-based index of an optional column.
    pub fn opt_column(&self, name: &str) -> Option<usize> {
        self.headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
    }

    /// An error at `line`, field `col` (0-based; reported 1-based with its header name).
    pub fn err(
        &self,
        line: usize,
        col: usize,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> CoreError {
        let name = self.headers.get(col).map(String::as_str).unwrap_or("?");
        CoreError::DataFile {
            file: self.file.clone(),
            line,
            column: col + 1,
            message: format!("column {name}: {}", message.into()),
            fix: fix.into(),
        }
    }

    /// An error in the preamble (line and value column of the key when present, else 1:1).
    pub fn meta_err(
        &self,
        key: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> CoreError {
        let (line, column) = self.meta_pos.get(key).copied().unwrap_or((1, 1));
        CoreError::DataFile {
            file: self.file.clone(),
            line,
            column,
            message: format!("preamble key {key:?}: {}", message.into()),
            fix: fix.into(),
        }
    }

    /// A text field, trimmed ("" when the column is absent or the row is short).
    pub fn field(rec: &csv::StringRecord, col: Option<usize>) -> &str {
        col.and_then(|c| rec.get(c)).map(str::trim).unwrap_or("")
    }

    /// A string preamble value.
    pub fn meta_str(&self, key: &str) -> Result<Option<String>, CoreError> {
        match self.meta.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.meta_err(
                key,
                format!("expected a string, found {other}"),
                format!("write `# {key} = \"...\"`"),
            )),
        }
    }

    /// An integer preamble value.
    pub fn meta_int(&self, key: &str) -> Result<Option<i64>, CoreError> {
        match self.meta.get(key) {
            None => Ok(None),
            Some(toml::Value::Integer(i)) => Ok(Some(*i)),
            Some(other) => Err(self.meta_err(
                key,
                format!("expected an integer, found {other}"),
                format!("write `# {key} = 2010`"),
            )),
        }
    }

    /// A float preamble value (integers accepted).
    pub fn meta_f64(&self, key: &str) -> Result<Option<f64>, CoreError> {
        match self.meta.get(key) {
            None => Ok(None),
            Some(toml::Value::Float(f)) if f.is_finite() => Ok(Some(*f)),
            Some(toml::Value::Integer(i)) => Ok(Some(*i as f64)),
            Some(other) => Err(self.meta_err(
                key,
                format!("expected a finite number, found {other}"),
                format!("write `# {key} = 3406.5`"),
            )),
        }
    }

    /// A list-of-strings preamble value.
    pub fn meta_list(&self, key: &str) -> Result<Option<Vec<String>>, CoreError> {
        match self.meta.get(key) {
            None => Ok(None),
            Some(toml::Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str().map(String::from).ok_or_else(|| {
                        self.meta_err(
                            key,
                            "expected a list of strings",
                            format!("write `# {key} = [\"a\", \"b\"]`"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(self.meta_err(
                key,
                "expected a list of strings",
                format!("write `# {key} = [\"a\", \"b\"]`"),
            )),
        }
    }
}

/// Parses a finite f64 field; blank and NaN/inf are errors.
pub(crate) fn parse_number(
    df: &DataFile,
    line: usize,
    col: usize,
    s: &str,
) -> Result<f64, CoreError> {
    if s.is_empty() {
        return Err(df.err(
            line,
            col,
            "blank value",
            "enter a number, or NA where the entry does not apply",
        ));
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(v) => Err(df.err(
            line,
            col,
            format!("value {s:?} is {v}, not a finite number"),
            "enter a finite number, or NA where the entry does not apply",
        )),
        Err(_) => Err(df.err(
            line,
            col,
            format!("{s:?} is not a number"),
            "enter a decimal number (dot as decimal separator, no thousands separators)",
        )),
    }
}

/// Reads a file to text, or the embedded text of a built-in.
pub(crate) fn read_text(path: &std::path::Path) -> Result<String, CoreError> {
    std::fs::read_to_string(path).map_err(|source| CoreError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// SHA-256 of a text, hex.
pub(crate) fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: fuzzing found `DataFile::parse` counting each record's line from the start
    /// of the file, quadratic in the file size (a 57 kB coefficient set took 25 ms
    /// instrumented). Lines are now counted incrementally; this checks they are still right
    /// across blank and CRLF lines. (Speed is a benchmark matter, not asserted here.)
    #[test]
    fn regression_quadratic_line_count_lines_stay_correct() {
        let n = 20_000;
        let mut text = String::from("# id = \"big\"\n\nkey,value\n");
        for i in 0..n {
            text.push_str(&format!("k{i},{i}\n"));
            if i % 3 == 0 {
                text.push_str("\n\r\n");
            }
        }
        let df = DataFile::parse(&text, "big.csv").unwrap();
        assert_eq!(df.header_line, 3);
        assert_eq!(df.records.len(), n);
        // Record i is on line 4 + i + 2 × (blank lines before it).
        for (i, (line, rec)) in df.records.iter().enumerate() {
            assert_eq!(*line, 4 + i + 2 * i.div_ceil(3), "record {rec:?}");
        }
    }

    /// The GEP services in the order of GEP-METHOD.md §2's table (the standard's order),
    /// written out here from that table, not from the catalogue.
    #[test]
    fn services_come_in_the_standards_order() {
        let expected = [
            "agriculture_products",
            "forestry_products",
            "livestock_products",
            "fishery_products",
            "water_supply",
            "hydropower",
            "water_conservation",
            "soil_retention",
            "soil_retention_sediment",
            "soil_retention_nitrogen",
            "soil_retention_phosphorus",
            "flood_regulation",
            "water_purification",
            "air_purification",
            "carbon_sequestration",
            "oxygen_release",
            "climate_regulation",
            "negative_air_ions",
            "recreation",
            "landscape_value",
        ];
        let cat = Catalog::builtin();
        let mut shuffled: Vec<&str> = expected.iter().rev().copied().collect();
        shuffled.sort();
        cat.sort_services(&mut shuffled);
        assert_eq!(shuffled, expected);
        // Material before regulating before cultural, in the whole catalogue.
        let gep: Vec<Category> = cat
            .services
            .iter()
            .filter(|s| !s.code.starts_with("esv_"))
            .map(|s| s.category)
            .collect();
        let mut sorted = gep.clone();
        sorted.sort();
        assert_eq!(gep, sorted);
        // Xie's order for the equivalent-factor services; unknown codes last.
        let mut esv = vec![
            "zzz_unknown",
            "esv_aesthetic_landscape",
            "esv_food",
            "esv_hydrological_regulation",
            "esv_gas_regulation",
        ];
        cat.sort_services(&mut esv);
        assert_eq!(
            esv,
            [
                "esv_food",
                "esv_gas_regulation",
                "esv_hydrological_regulation",
                "esv_aesthetic_landscape",
                "zzz_unknown"
            ]
        );
    }

    #[test]
    fn builtin_catalog_loads_and_has_the_required_types() {
        let c = Catalog::builtin();
        for t in [
            "forest",
            "forest_evergreen_broadleaf",
            "forest_conifer",
            "forest_mixed",
            "forest_bamboo",
            "shrub",
            "grassland",
            "wetland",
            "paddy",
            "dry_farmland",
            "orchard",
            "tea_garden",
            "water",
            "built_up",
            "bare",
            "snow_ice",
        ] {
            let e = c.ecosystem(t).unwrap_or_else(|| panic!("{t}"));
            assert!(!e.zh.is_empty() && !e.en.is_empty());
        }
        assert_eq!(c.service("carbon_stock").unwrap().category, Category::Stock);
        assert_eq!(
            c.service("recreation").unwrap().category,
            Category::Cultural
        );
        assert_eq!(c.service("esv_food").unwrap().category, Category::Material);
        for e in &c.ecosystems {
            if let Some(p) = &e.parent {
                assert!(c.ecosystem(p).is_some(), "{p}");
            }
        }
    }

    #[test]
    fn duplicate_catalog_code_is_an_error() {
        let t = "[[ecosystem]]\ncode = \"a\"\nzh = \"甲\"\nen = \"a\"\n[[ecosystem]]\ncode = \"a\"\nzh = \"甲\"\nen = \"a\"\n";
        let e = Catalog::from_toml_str(t, "cat.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cat.toml:2:1") && e.contains("twice"), "{e}");
    }

    #[test]
    fn preamble_and_lines() {
        let t = "# id = \"x\"\n# version = \"1\"\ncode,ecosystem_type\n1,forest\n\n2,water\n";
        let df = DataFile::parse(t, "f.csv").unwrap();
        assert_eq!(df.meta["id"].as_str(), Some("x"));
        assert_eq!(df.header_line, 3);
        assert_eq!(
            df.records.iter().map(|r| r.0).collect::<Vec<_>>(),
            vec![4, 6]
        );
        let bad = "# id = \n# version = \"1\"\ncode\n";
        let e = DataFile::parse(bad, "f.csv").unwrap_err().to_string();
        assert!(e.starts_with("f.csv:1:"), "{e}");
    }
}
