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
//! **Splitting an area.** Every split of a class's area over its types goes through
//! [`split_area`] (or [`Crosswalk::split`]), which divides the fixed-point [`ExactArea`] so
//! that the parts add back to the class's area exactly, bit for bit.
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
use crate::extent::ExactArea;
use crate::raster::ClassCode;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Tolerance on Σ shares of a split code.
pub const SHARE_TOLERANCE: f64 = 1e-9;

/// Bits of the fixed-point fraction a cumulative share is rounded to in [`split_area`].
const SPLIT_BITS: u32 = 53;

/// Splits `area` over `shares` (label, share) so that the parts sum **exactly** to `area`.
///
/// # Rule
/// With `S` the sum of the shares and `C_k` the running sum of the first `k + 1` shares
/// (both in f64, in the order given), the boundary `B_k` is `|area| × q_k / 2⁵³` rounded
/// toward zero in the integer fixed point of [`ExactArea`] (with `area`'s sign), where
/// `q_k = round(C_k / S × 2⁵³)`; the last boundary is `area` itself. Part `k` is
/// `B_k − B_{k−1}` (`B_{−1} = 0`). So:
/// - the parts telescope to `area` exactly, whatever the shares (the rounding remainder goes
///   to the parts whose boundary it crosses, at most one unit of 2⁻⁴⁰ m² each, and the last
///   part takes what the others leave);
/// - the shares are normalised by their sum (a crosswalk's shares sum to 1 within
///   [`SHARE_TOLERANCE`]);
/// - a single share gives `area` unchanged; every part has `area`'s sign and is at most
///   `|area|` in size (boundaries never decrease);
/// - the result depends only on `area` and the shares in order: deterministic.
///
/// Shares that are not finite and positive count as 0; when no share is positive, the whole
/// area goes to the last part. No parts for no shares.
///
/// ```
/// use gep_core::crosswalk::split_area;
/// use gep_core::ExactArea;
/// let area = ExactArea::from_m2(1000.0 / 3.0);
/// let shares = [("a", 0.4), ("b", 0.35), ("c", 0.25)];
/// let parts: Vec<_> = split_area(area, &shares).collect();
/// assert_eq!(parts.iter().map(|(_, a)| *a).sum::<ExactArea>(), area);
/// assert!((parts[0].1.to_m2() - 0.4 * 1000.0 / 3.0).abs() < 1e-9);
/// ```
pub fn split_area<T>(
    area: ExactArea,
    shares: &[(T, f64)],
) -> impl Iterator<Item = (&T, ExactArea)> + '_ {
    let weight = |s: f64| if s.is_finite() && s > 0.0 { s } else { 0.0 };
    let total: f64 = shares.iter().map(|(_, s)| weight(*s)).sum();
    let negative = area.0 < 0;
    let magnitude = area.0.unsigned_abs();
    let n = shares.len();
    let mut running = 0.0f64;
    let mut previous: u128 = 0;
    shares.iter().enumerate().map(move |(k, (label, s))| {
        running += weight(*s);
        let boundary = if k + 1 == n {
            magnitude
        } else if total > 0.0 {
            let scale = (1u64 << SPLIT_BITS) as f64;
            // In [0, 2^53]: `running <= total` as f64 sums of non-negative terms grow.
            let q = ((running / total).min(1.0) * scale).round() as u128;
            // floor(magnitude × q / 2^53) without overflow: magnitude = hi·2^53 + lo.
            let hi = magnitude >> SPLIT_BITS;
            let lo = magnitude & ((1u128 << SPLIT_BITS) - 1);
            hi * q + ((lo * q) >> SPLIT_BITS)
        } else {
            0
        };
        // Boundaries never decrease (q never does); the guard keeps parts of area's sign.
        let boundary = boundary.max(previous);
        let part = boundary - previous;
        previous = boundary;
        // part <= magnitude <= 2^127; the one part of 2^127 (area = i128::MIN) wraps to
        // i128::MIN, which is then its right value.
        let part = part as i128;
        (
            label,
            ExactArea(if negative { part.wrapping_neg() } else { part }),
        )
    })
}

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

    /// `area` of raster class `class` split over its ecosystem types by [`split_area`] (the
    /// parts sum exactly to `area`), or `None` when the class is unmapped.
    pub fn split(
        &self,
        class: ClassCode,
        area: ExactArea,
    ) -> Option<impl Iterator<Item = (&str, ExactArea)> + '_> {
        self.lookup(class)
            .map(move |t| split_area(area, t).map(|(ty, a)| (ty.as_str(), a)))
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
    use proptest::prelude::*;

    fn parts(area: ExactArea, shares: &[f64]) -> Vec<ExactArea> {
        let s: Vec<((), f64)> = shares.iter().map(|s| ((), *s)).collect();
        split_area(area, &s).map(|(_, a)| a).collect()
    }

    proptest! {
        /// The parts add back to the whole exactly, each has the whole's sign, and each is
        /// within 2 units (+ the f64 error of the share) of area × share / Σ shares.
        #[test]
        fn split_parts_sum_exactly(
            raw in any::<i128>(),
            bits in 0u32..=127,
            shares in prop::collection::vec(1e-6f64..=1.0, 1..8),
        ) {
            // Areas of every magnitude, not only huge ones.
            let area = ExactArea(raw >> (127 - bits));
            let p = parts(area, &shares);
            prop_assert_eq!(p.len(), shares.len());
            prop_assert_eq!(p.iter().map(|a| a.0).sum::<i128>(), area.0);
            let total: f64 = shares.iter().sum();
            for (a, s) in p.iter().zip(&shares) {
                prop_assert!(a.0 == 0 || (a.0 < 0) == (area.0 < 0));
                prop_assert!(a.0.unsigned_abs() <= area.0.unsigned_abs());
                let want = area.0 as f64 * (s / total);
                let slack = 2.0 + area.0.unsigned_abs() as f64 * 1e-14;
                prop_assert!((a.0 as f64 - want).abs() <= slack, "{} vs {}", a.0, want);
            }
        }

        /// Crosswalk-style shares (summing to 1 within 1e-9) on areas of real classes.
        #[test]
        fn split_of_class_areas_is_exact(
            m2 in 0.0f64..1e11,
            cuts in prop::collection::vec(0.01f64..1.0, 1..5),
        ) {
            let total: f64 = cuts.iter().sum();
            let shares: Vec<f64> = cuts.iter().map(|c| c / total).collect();
            let area = ExactArea::from_m2(m2);
            let p = parts(area, &shares);
            prop_assert_eq!(p.iter().copied().sum::<ExactArea>(), area);
            for (a, s) in p.iter().zip(&shares) {
                prop_assert!((a.to_m2() - m2 * s).abs() <= 1e-9 * m2.max(1.0));
            }
        }
    }

    #[test]
    fn split_by_hand() {
        // 10 units over 1/3, 1/3, 1/3: boundaries floor(10/3) = 3, floor(20/3) = 6, 10.
        let third = 1.0 / 3.0;
        assert_eq!(
            parts(ExactArea(10), &[third, third, third]),
            [ExactArea(3), ExactArea(3), ExactArea(4)]
        );
        // Negative areas mirror positive ones.
        assert_eq!(
            parts(ExactArea(-10), &[third, third, third]),
            [ExactArea(-3), ExactArea(-3), ExactArea(-4)]
        );
        // One share: the area itself, whatever the share (normalised).
        assert_eq!(parts(ExactArea(7), &[0.999_999_999_5]), [ExactArea(7)]);
        // Extremes do not overflow.
        for a in [i128::MAX, i128::MIN, i128::MIN + 1] {
            let p = parts(ExactArea(a), &[0.5, 0.25, 0.25]);
            assert_eq!(p.iter().fold(0i128, |s, x| s.wrapping_add(x.0)), a);
            assert_eq!(p[0].0, a / 2); // truncated toward zero
        }
        // Non-positive shares take nothing; none positive: all to the last part.
        assert_eq!(
            parts(ExactArea(9), &[0.0, 1.0, -1.0]),
            [ExactArea(0), ExactArea(9), ExactArea(0)]
        );
        assert_eq!(
            parts(ExactArea(9), &[0.0, f64::NAN]),
            [ExactArea(0), ExactArea(9)]
        );
        assert!(parts(ExactArea(9), &[]).is_empty());
    }

    #[test]
    fn crosswalk_split_follows_the_file() {
        let cw = Crosswalk::from_csv_str(
            "# id = \"t\"\n# version = \"1\"\ncode,ecosystem_type,share\n2,forest_evergreen_broadleaf,0.4\n2,forest_conifer,0.35\n2,shrub,0.25\n3,water,\n",
            "t.csv",
        )
        .unwrap();
        let area = ExactArea::from_m2(12_345.678_9);
        let p: Vec<(&str, ExactArea)> = cw.split(2, area).unwrap().collect();
        assert_eq!(
            p.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
            ["forest_evergreen_broadleaf", "forest_conifer", "shrub"]
        );
        assert_eq!(p.iter().map(|(_, a)| *a).sum::<ExactArea>(), area);
        assert!((p[1].1.to_m2() - 0.35 * 12_345.678_9).abs() < 1e-9);
        assert_eq!(
            cw.split(3, area).unwrap().collect::<Vec<_>>(),
            [("water", area)]
        );
        assert!(cw.split(4, area).is_none());
    }

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
