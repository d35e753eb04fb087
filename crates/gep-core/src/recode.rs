//! Recode tables: lettered class codes (the 三调 working classification's `0201K`, `1104A`,
//! `05H1`, ...) recoded to the codes a crosswalk and an integer raster can hold.
//!
//! The third national land survey (三调) classifies with GB/T 21010-2017 plus a working
//! classification (TD/T 1055-2019, table A.2) that adds lettered codes: `K` = 可调整
//! (cropland converted with its plough layer intact), `A` = a subclass, `H` = a merged class.
//! A raster holds integers, so a lettered code must be recoded before rasterising; the
//! built-in table `sandiao-working` recodes each to the code of the same ecosystem type in
//! crosswalk `gbt21010-sandiao` (`data/crosswalks/sandiao-working-recode.csv`).
//!
//! # File format
//! CSV with a `#` TOML preamble (`id`, `version` required; `scheme`, `source`, `notes`);
//! columns `code,recode` (required), `name`, `verified` (`true`/`false`, default true),
//! `note`. `recode` is a code of digits; each `code` appears once.
//!
//! ```
//! use gep_core::recode::RecodeTable;
//! use gep_core::Crosswalk;
//! let t = RecodeTable::builtin("sandiao-working").unwrap();
//! assert_eq!(t.raster_value("0201K").unwrap(), 201); // 可调整果园 → 0201 果园
//! assert_eq!(t.raster_value("0101").unwrap(), 101); // plain codes unchanged
//! let cw = Crosswalk::builtin("gbt21010-sandiao").unwrap();
//! assert_eq!(cw.lookup(t.raster_value("1104A").unwrap()).unwrap()[0].0, "water");
//! ```

use crate::catalog::{read_text, sha256_hex, DataFile};
use crate::error::CoreError;
use crate::raster::ClassCode;
use std::collections::BTreeMap;
use std::path::Path;

const BUILTIN: &[(&str, &str)] = &[(
    "sandiao-working",
    include_str!("../data/crosswalks/sandiao-working-recode.csv"),
)];

/// One recoded code.
#[derive(Debug, Clone, PartialEq)]
pub struct Recode {
    /// The code it becomes (digits, e.g. `0201`).
    pub recode: String,
    /// Its name (`可调整果园`).
    pub name: String,
    /// False when the row was not checked against the source table.
    pub verified: bool,
    /// File line.
    pub line: usize,
}

/// A versioned table of lettered codes and the codes they are recoded to.
#[derive(Debug, Clone, PartialEq)]
pub struct RecodeTable {
    /// Identifier (`sandiao-working`).
    pub id: String,
    /// Version.
    pub version: String,
    /// The scheme of the lettered codes.
    pub scheme: String,
    /// Where the table comes from.
    pub source: String,
    /// Documented choices.
    pub notes: String,
    /// Where it was loaded from.
    pub origin: String,
    /// SHA-256 of the file text.
    pub sha256: String,
    /// Code (as written, upper case) → recode.
    pub codes: BTreeMap<String, Recode>,
}

impl RecodeTable {
    /// The ids of the built-in tables.
    pub fn builtin_ids() -> Vec<&'static str> {
        BUILTIN.iter().map(|(id, _)| *id).collect()
    }

    /// A built-in table.
    pub fn builtin(id: &str) -> Result<RecodeTable, CoreError> {
        match BUILTIN.iter().find(|(i, _)| *i == id) {
            Some((i, text)) => RecodeTable::from_csv_str(text, &format!("builtin:{i}")),
            None => Err(CoreError::UnknownBuiltin {
                kind: "recode table",
                id: id.into(),
                available: RecodeTable::builtin_ids().join(", "),
            }),
        }
    }

    /// Reads a recode table file.
    pub fn from_path(path: &Path) -> Result<RecodeTable, CoreError> {
        RecodeTable::from_csv_str(&read_text(path)?, &path.display().to_string())
    }

    /// Parses a recode table; `file` names it in errors.
    pub fn from_csv_str(text: &str, file: &str) -> Result<RecodeTable, CoreError> {
        let df = DataFile::parse(text, file)?;
        let id = df
            .meta_str("id")?
            .ok_or_else(|| df.meta_err("id", "missing", "add `# id = \"my-recode\"` at the top"))?;
        let version = df.meta_str("version")?.ok_or_else(|| {
            df.meta_err("version", "missing", "add `# version = \"1\"` at the top")
        })?;
        let c_code = df.column("code")?;
        let c_recode = df.column("recode")?;
        let c_name = df.opt_column("name");
        let c_ver = df.opt_column("verified");
        let mut codes: BTreeMap<String, Recode> = BTreeMap::new();
        for (line, rec) in &df.records {
            let line = *line;
            let code = DataFile::field(rec, Some(c_code)).to_ascii_uppercase();
            if code.is_empty() {
                return Err(df.err(line, c_code, "blank code", "enter the lettered code"));
            }
            let to = DataFile::field(rec, Some(c_recode));
            if to.is_empty() || !to.chars().all(|c| c.is_ascii_digit()) || to.len() > 9 {
                return Err(df.err(
                    line,
                    c_recode,
                    format!("recode {to:?} is not a code of digits"),
                    "recode to a code an integer raster can hold, e.g. 0201",
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
            if let Some(first) = codes.get(&code) {
                return Err(df.err(
                    line,
                    c_code,
                    format!("code {code} appears twice (first on line {})", first.line),
                    "keep one row per code",
                ));
            }
            codes.insert(
                code,
                Recode {
                    recode: to.to_string(),
                    name: DataFile::field(rec, c_name).to_string(),
                    verified,
                    line,
                },
            );
        }
        Ok(RecodeTable {
            id,
            version,
            scheme: df.meta_str("scheme")?.unwrap_or_default(),
            source: df.meta_str("source")?.unwrap_or_default(),
            notes: df.meta_str("notes")?.unwrap_or_default(),
            origin: file.to_string(),
            sha256: sha256_hex(text),
            codes,
        })
    }

    /// The code `code` becomes: its recode when the table lists it, else `code` itself.
    pub fn recode<'a>(&'a self, code: &'a str) -> &'a str {
        let code = code.trim();
        self.codes
            .get(&code.to_ascii_uppercase())
            .map_or(code, |r| r.recode.as_str())
    }

    /// The integer raster value of a class code as written in a survey's attribute table
    /// (`DLBM`): recoded when lettered, then read as the integer it spells (`0201K` → 201).
    ///
    /// # Errors
    /// [`CoreError::UnknownClassCode`] for a code that is neither digits nor in the table.
    pub fn raster_value(&self, code: &str) -> Result<ClassCode, CoreError> {
        let c = self.recode(code);
        if !c.is_empty() && c.chars().all(|ch| ch.is_ascii_digit()) {
            if let Ok(v) = c.parse::<ClassCode>() {
                return Ok(v);
            }
        }
        Err(CoreError::UnknownClassCode {
            code: code.to_string(),
            table: format!("{} ({})", self.id, self.origin),
            known: self.codes.keys().cloned().collect::<Vec<_>>().join(", "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Crosswalk;

    #[test]
    fn every_builtin_recode_lands_on_a_mapped_code_of_the_sandiao_crosswalk() {
        let t = RecodeTable::builtin("sandiao-working").unwrap();
        let cw = Crosswalk::builtin("gbt21010-sandiao").unwrap();
        assert!(t.codes.len() >= 16);
        for (code, r) in &t.codes {
            let v = t.raster_value(code).unwrap();
            let m = cw
                .lookup(v)
                .unwrap_or_else(|| panic!("{code} → {} is not in the crosswalk", r.recode));
            assert_eq!(cw.classes[&v].code_text, r.recode, "{code}");
            // The recode keeps the ecosystem type the code's own name says.
            let expect = match &code[..2] {
                "02" => ["orchard", "tea_garden"].as_slice(),
                "03" => &["forest", "forest_bamboo", "forest_sparse"],
                "04" => &["grassland"],
                "05" | "08" => &["built_up"],
                "11" => &["water"],
                _ => unreachable!("{code}"),
            };
            assert!(expect.contains(&m[0].0.as_str()), "{code} → {}", m[0].0);
        }
        // Lower case and spaces as found in attribute tables.
        assert_eq!(t.raster_value(" 0201k ").unwrap(), 201);
        assert_eq!(t.recode("05H1"), "0501");
        assert_eq!(t.raster_value("1104").unwrap(), 1104);
        let e = t.raster_value("9999X").unwrap_err().to_string();
        assert!(e.contains("9999X") && e.contains("sandiao-working"), "{e}");
    }

    #[test]
    fn bad_recode_tables_are_rejected() {
        let e = RecodeTable::from_csv_str(
            "# id = \"r\"\n# version = \"1\"\ncode,recode\n0201K,02O1\n",
            "r.csv",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("r.csv:4:2:") && e.contains("digits"), "{e}");
        let e = RecodeTable::from_csv_str(
            "# id = \"r\"\n# version = \"1\"\ncode,recode\n0201K,0201\n0201k,0202\n",
            "r.csv",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("r.csv:5:1:") && e.contains("twice"), "{e}");
    }
}
