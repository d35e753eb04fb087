//! Crosswalks: versioned maps from a land-cover scheme's class codes to ecosystem types.
//!
//! How a land-cover class maps to an ecosystem type is a policy choice (Ningbo put urban grass
//! under built-up land), so crosswalks are data files, never code.
//!
//! # File format
//! CSV with a `#` TOML preamble (see [`crate::catalog`]): preamble keys `id`, `version`
//! (required), `scheme`, `source`, `notes`; columns `code,ecosystem_type` (required),
//! `share` (blank = 1) and `note` (free text). Many codes may map to one type (many-to-one);
//! one code may be **split** over several types by repeating the code with shares in (0, 1]
//! that sum to 1 within 1e-9.
//!
//! **Text codes.** A raster holds integers, so each code is read as the integer it spells:
//! the GB/T 21010 (三调) code `0101` matches raster value 101 and `1101` matches 1101. Two
//! different texts with the same integer value (`0101` and `101`) in one file are rejected.
//!
//! Built-in ids: see [`Crosswalk::builtin_ids`].
//!
//! ```
//! use gep_core::crosswalk::Crosswalk;
//! let cw = Crosswalk::builtin("gbt21010-sandiao").unwrap();
//! assert_eq!(cw.lookup(101).unwrap()[0].0, "paddy"); // raster 101 = 三调 0101
//! ```

use crate::catalog::{parse_number, read_text, sha256_hex, Catalog, DataFile};
use crate::error::CoreError;
use crate::raster::ClassCode;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Tolerance on Σ shares of a split code.
pub const SHARE_TOLERANCE: f64 = 1e-9;

const BUILTIN: &[(&str, &str)] = &[
    ("clcd", include_str!("../data/crosswalks/clcd.csv")),
    (
        "esa-worldcover",
        include_str!("../data/crosswalks/esa-worldcover.csv"),
    ),
    (
        "globeland30",
        include_str!("../data/crosswalks/globeland30.csv"),
    ),
    (
        "modis-igbp-mcd12c1",
        include_str!("../data/crosswalks/modis-igbp-mcd12c1.csv"),
    ),
    ("cnlucc", include_str!("../data/crosswalks/cnlucc.csv")),
    (
        "gbt21010-sandiao",
        include_str!("../data/crosswalks/gbt21010-sandiao.csv"),
    ),
];

/// How one land-cover code maps.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassMapping {
    /// The code as written in the file (`0101`).
    pub code_text: String,
    /// (ecosystem type code, share) pairs, shares summing to 1.
    pub targets: Vec<(String, f64)>,
    /// File line of the first row of this code.
    pub line: usize,
}

/// A versioned crosswalk from land-cover codes to ecosystem types.
#[derive(Debug, Clone, PartialEq)]
pub struct Crosswalk {
    /// Identifier (`clcd`).
    pub id: String,
    /// Version of the mapping.
    pub version: String,
    /// The land-cover scheme.
    pub scheme: String,
    /// Source / citation of the scheme and the mapping.
    pub source: String,
    /// Documented choices.
    pub notes: String,
    /// Where it was loaded from (`builtin:clcd` or a path).
    pub origin: String,
    /// SHA-256 of the file text.
    pub sha256: String,
    /// Code → mapping.
    pub classes: BTreeMap<ClassCode, ClassMapping>,
}

impl Crosswalk {
    /// The ids of the built-in crosswalks.
    pub fn builtin_ids() -> Vec<&'static str> {
        BUILTIN.iter().map(|(id, _)| *id).collect()
    }

    /// A built-in crosswalk.
    pub fn builtin(id: &str) -> Result<Crosswalk, CoreError> {
        match BUILTIN.iter().find(|(i, _)| *i == id) {
            Some((i, text)) => Crosswalk::from_csv_str(text, &format!("builtin:{i}")),
            None => Err(CoreError::UnknownBuiltin {
                kind: "crosswalk",
                id: id.into(),
                available: Crosswalk::builtin_ids().join(", "),
            }),
        }
    }

    /// A built-in id, or else a path to a crosswalk CSV file.
    pub fn load(spec: &str) -> Result<Crosswalk, CoreError> {
        if BUILTIN.iter().any(|(i, _)| *i == spec) {
            return Crosswalk::builtin(spec);
        }
        let p = Path::new(spec);
        if p.exists() || spec.ends_with(".csv") {
            return Crosswalk::from_path(p);
        }
        Crosswalk::builtin(spec)
    }

    /// Reads a crosswalk file.
    pub fn from_path(path: &Path) -> Result<Crosswalk, CoreError> {
        let text = read_text(path)?;
        Crosswalk::from_csv_str(&text, &path.display().to_string())
    }

    /// Parses crosswalk CSV text; `file` names it in errors.
    pub fn from_csv_str(text: &str, file: &str) -> Result<Crosswalk, CoreError> {
        let cat = Catalog::builtin();
        let df = DataFile::parse(text, file)?;
        let id = df.meta_str("id")?.ok_or_else(|| {
            df.meta_err("id", "missing", "add `# id = \"my-crosswalk\"` at the top")
        })?;
        let version = df.meta_str("version")?.ok_or_else(|| {
            df.meta_err("version", "missing", "add `# version = \"1\"` at the top")
        })?;
        let c_code = df.column("code")?;
        let c_type = df.column("ecosystem_type")?;
        let c_share = df.opt_column("share");
        let mut classes: BTreeMap<ClassCode, ClassMapping> = BTreeMap::new();
        let mut share_lines: BTreeMap<ClassCode, (usize, Option<usize>)> = BTreeMap::new();
        for (line, rec) in &df.records {
            let line = *line;
            let code_text = DataFile::field(rec, Some(c_code));
            if code_text.is_empty() {
                return Err(df.err(
                    line,
                    c_code,
                    "blank code",
                    "enter the land-cover class code",
                ));
            }
            let code: ClassCode = code_text.parse().map_err(|_| {
                df.err(
                    line,
                    c_code,
                    format!("code {code_text:?} is not an integer raster value"),
                    if code_text.chars().any(|c| c.is_ascii_alphabetic()) && code_text.chars().any(|c| c.is_ascii_digit()) {
                        "write the class code as digits (leading zeros allowed, e.g. 0101); a lettered code such as the 三调 working classification's 0201K or 1104A cannot be held by an integer raster: recode it first (the built-in recode table sandiao-working, gep_core::recode, maps it to its GB/T 21010 code)"
                    } else {
                        "write the class code as digits (leading zeros allowed, e.g. 0101)"
                    },
                )
            })?;
            let ty = DataFile::field(rec, Some(c_type));
            if ty.is_empty() {
                return Err(df.err(
                    line,
                    c_type,
                    "blank ecosystem type",
                    format!("enter one of: {}", cat.ecosystem_codes()),
                ));
            }
            if cat.ecosystem(ty).is_none() {
                return Err(df.err(
                    line,
                    c_type,
                    format!("unknown ecosystem type {ty:?}"),
                    format!("use one of: {}", cat.ecosystem_codes()),
                ));
            }
            let share_s = DataFile::field(rec, c_share);
            let share = if share_s.is_empty() {
                1.0
            } else {
                let col = c_share.unwrap_or(0);
                let v = parse_number(&df, line, col, share_s)?;
                if !(v > 0.0 && v <= 1.0) {
                    return Err(df.err(line, col, format!("share {share_s} is outside (0, 1]"), "give each part of a split a share in (0, 1], the shares of one code summing to 1"));
                }
                v
            };
            match classes.get_mut(&code) {
                Some(m) if m.code_text != code_text => {
                    return Err(df.err(
                        line,
                        c_code,
                        format!("code {code_text:?} and code {:?} (line {}) are the same raster value {code}", m.code_text, m.line),
                        "a raster holds integers, so codes that differ only by leading zeros cannot be told apart: keep one of them",
                    ));
                }
                Some(m) => {
                    if m.targets.iter().any(|(t, _)| t == ty) {
                        return Err(df.err(
                            line,
                            c_type,
                            format!(
                                "code {code_text} maps to {ty:?} twice (first on line {})",
                                m.line
                            ),
                            "merge the two rows into one with the summed share",
                        ));
                    }
                    m.targets.push((ty.to_string(), share));
                }
                None => {
                    classes.insert(
                        code,
                        ClassMapping {
                            code_text: code_text.to_string(),
                            targets: vec![(ty.to_string(), share)],
                            line,
                        },
                    );
                    share_lines.insert(code, (line, c_share));
                }
            }
        }
        for (code, m) in &classes {
            let sum: f64 = m.targets.iter().map(|(_, s)| s).sum();
            if (sum - 1.0).abs() > SHARE_TOLERANCE {
                let (line, col) = share_lines[code];
                return Err(df.err(
                    line,
                    col.unwrap_or(c_type),
                    format!("the shares of code {} sum to {sum} (rows: {}), not 1", m.code_text, m.targets.iter().map(|(t, s)| format!("{t} {s}")).collect::<Vec<_>>().join(", ")),
                    "make the shares of a split code sum to 1 (within 1e-9); leave share blank for a code that maps wholly to one type",
                ));
            }
        }
        if classes.is_empty() {
            return Err(df.err(
                df.header_line,
                0,
                "no rows",
                "add one row per land-cover code",
            ));
        }
        Ok(Crosswalk {
            id,
            version,
            scheme: df.meta_str("scheme")?.unwrap_or_default(),
            source: df.meta_str("source")?.unwrap_or_default(),
            notes: df.meta_str("notes")?.unwrap_or_default(),
            origin: file.to_string(),
            sha256: sha256_hex(text),
            classes,
        })
    }

    /// The ecosystem types (with shares) of a raster class, or `None` when unmapped.
    pub fn lookup(&self, class: ClassCode) -> Option<&[(String, f64)]> {
        self.classes.get(&class).map(|m| m.targets.as_slice())
    }

    /// Every ecosystem type reachable through the crosswalk, with the codes that reach it.
    pub fn ecosystem_types(&self) -> BTreeMap<String, BTreeSet<ClassCode>> {
        let mut out: BTreeMap<String, BTreeSet<ClassCode>> = BTreeMap::new();
        for (c, m) in &self.classes {
            for (t, _) in &m.targets {
                out.entry(t.clone()).or_default().insert(*c);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_builtins_load() {
        for id in Crosswalk::builtin_ids() {
            let cw = Crosswalk::builtin(id).unwrap_or_else(|e| panic!("{id}: {e}"));
            assert_eq!(cw.id, id);
            assert!(!cw.source.is_empty(), "{id} has no source");
        }
        let clcd = Crosswalk::builtin("clcd").unwrap();
        assert_eq!(clcd.classes.len(), 9);
        let modis = Crosswalk::builtin("modis-igbp-mcd12c1").unwrap();
        assert_eq!(modis.lookup(0).unwrap()[0].0, "water");
        assert_eq!(modis.lookup(8).unwrap()[0].0, "forest");
        assert_eq!(modis.lookup(9).unwrap()[0].0, "forest_sparse");
        assert_eq!(modis.lookup(14).unwrap().len(), 2);
        assert!(modis.lookup(17).is_none());
        let wc = Crosswalk::builtin("esa-worldcover").unwrap();
        assert!(wc.lookup(0).is_none());
    }

    #[test]
    fn sandiao_text_codes_match_integer_raster_values() {
        let cw = Crosswalk::builtin("gbt21010-sandiao").unwrap();
        assert_eq!(cw.lookup(101).unwrap(), &[("paddy".to_string(), 1.0)]);
        assert_eq!(cw.classes[&101].code_text, "0101");
        assert_eq!(cw.lookup(1101).unwrap()[0].0, "water");
        assert_eq!(cw.lookup(302).unwrap()[0].0, "forest_bamboo");
        assert_eq!(cw.lookup(202).unwrap()[0].0, "tea_garden");
    }

    /// Corrections of issue 14: 0604 仓储用地 is built-up (it was missing: a 三调 raster with it
    /// failed), 0603 盐田 is wetland as in the 三调 working classification (it was built-up),
    /// 0508 物流仓储用地 of the working classification is built-up.
    #[test]
    fn regression_sandiao_storage_and_salt_pans() {
        let cw = Crosswalk::builtin("gbt21010-sandiao").unwrap();
        assert_eq!(cw.lookup(604).unwrap(), &[("built_up".to_string(), 1.0)]);
        assert_eq!(cw.classes[&604].code_text, "0604");
        assert_eq!(cw.lookup(603).unwrap()[0].0, "wetland");
        assert_eq!(cw.lookup(508).unwrap()[0].0, "built_up");
        // Every code of the 三调 wetland class 00 maps to wetland.
        for c in [303, 304, 306, 402, 603, 1105, 1106, 1108] {
            assert_eq!(cw.lookup(c).unwrap()[0].0, "wetland", "{c}");
        }
        assert!(cw.notes.contains("0603") && cw.notes.contains("sandiao-working"));
    }

    #[test]
    fn a_lettered_code_in_a_crosswalk_points_to_the_recode_table() {
        let t = "# id = \"x\"\n# version = \"1\"\ncode,ecosystem_type\n0201K,orchard\n";
        let e = Crosswalk::from_csv_str(t, "x.csv").unwrap_err().to_string();
        assert!(
            e.starts_with("x.csv:4:1:") && e.contains("sandiao-working"),
            "{e}"
        );
    }

    /// The woody-savanna mapping follows the Chinese forest definitions (郁闭度 ≥ 0.2 is
    /// forest land): IGBP 8 (30-60 % tree cover) is forest, 9 (10-30 %) sparse forest, and
    /// the notes say why.
    #[test]
    fn modis_savannas_follow_the_chinese_forest_definitions() {
        let cw = Crosswalk::builtin("modis-igbp-mcd12c1").unwrap();
        assert_eq!(cw.lookup(8).unwrap(), &[("forest".to_string(), 1.0)]);
        assert_eq!(cw.lookup(9).unwrap()[0].0, "forest_sparse");
        for s in ["郁闭度", "0.2", "30-60 %", "乔木林地"] {
            assert!(cw.notes.contains(s), "notes lack {s}");
        }
    }

    #[test]
    fn text_codes_colliding_as_integers_are_rejected() {
        let t =
            "# id = \"x\"\n# version = \"1\"\ncode,ecosystem_type\n0101,paddy\n101,dry_farmland\n";
        let e = Crosswalk::from_csv_str(t, "sd.csv")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("sd.csv:5:1:"), "{e}");
        assert!(
            e.contains("\"101\"") && e.contains("\"0101\"") && e.contains("line 4"),
            "{e}"
        );
    }

    #[test]
    fn fractional_split() {
        let t = "# id = \"split\"\n# version = \"2\"\ncode,ecosystem_type,share\n2,forest_evergreen_broadleaf,0.5\n2,forest_conifer,0.3\n2,forest_bamboo,0.2\n1,paddy,\n";
        let cw = Crosswalk::from_csv_str(t, "s.csv").unwrap();
        let f = cw.lookup(2).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f[1], ("forest_conifer".to_string(), 0.3));
        assert_eq!(cw.lookup(1).unwrap()[0].1, 1.0);
    }

    #[test]
    fn shares_not_summing_to_one_are_rejected() {
        let t = "# id = \"split\"\n# version = \"2\"\ncode,ecosystem_type,share\n2,forest_evergreen_broadleaf,0.5\n2,forest_conifer,0.3\n";
        let e = Crosswalk::from_csv_str(t, "s.csv").unwrap_err().to_string();
        assert!(e.starts_with("s.csv:4:3:"), "{e}");
        assert!(e.contains("sum to 0.8") && e.contains("sum to 1"), "{e}");
        let t = "# id = \"split\"\n# version = \"2\"\ncode,ecosystem_type,share\n2,forest,1.5\n";
        let e = Crosswalk::from_csv_str(t, "s.csv").unwrap_err().to_string();
        assert!(
            e.starts_with("s.csv:4:3:") && e.contains("outside (0, 1]"),
            "{e}"
        );
    }

    #[test]
    fn unknown_type_blank_and_bad_code_are_rejected() {
        let t = "# id = \"x\"\n# version = \"1\"\ncode,ecosystem_type\n1,jungle\n";
        let e = Crosswalk::from_csv_str(t, "x.csv").unwrap_err().to_string();
        assert!(
            e.starts_with("x.csv:4:2:")
                && e.contains("unknown ecosystem type \"jungle\"")
                && e.contains("forest_conifer"),
            "{e}"
        );
        let t = "# id = \"x\"\n# version = \"1\"\ncode,ecosystem_type\n1,\n";
        let e = Crosswalk::from_csv_str(t, "x.csv").unwrap_err().to_string();
        assert!(e.starts_with("x.csv:4:2:") && e.contains("blank"), "{e}");
        let t = "# id = \"x\"\n# version = \"1\"\ncode,ecosystem_type\nA1,forest\n";
        let e = Crosswalk::from_csv_str(t, "x.csv").unwrap_err().to_string();
        assert!(
            e.starts_with("x.csv:4:1:") && e.contains("not an integer"),
            "{e}"
        );
        let t = "# id = \"x\"\n# version = \"1\"\ncode,ecosystem_type\n1,forest\n1,forest\n";
        let e = Crosswalk::from_csv_str(t, "x.csv").unwrap_err().to_string();
        assert!(e.starts_with("x.csv:5:2:") && e.contains("twice"), "{e}");
        let e = Crosswalk::from_csv_str("code,ecosystem_type\n1,forest\n", "x.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.csv:1:1") && e.contains("\"id\""), "{e}");
        let e = Crosswalk::load("no-such-id").unwrap_err().to_string();
        assert!(e.contains("clcd") && e.contains("no-such-id"), "{e}");
    }
}
