//! Parameter tables keyed by land-cover class: runoff coefficients, USLE C and P.
//!
//! A CSV file with a header; the key column is `class` or `lucode` (the raster's code, as
//! InVEST's biophysical tables name it); other columns are read by name. Lines starting
//! with `#` are comments. Errors name the file, the line and the column.

use crate::ModelError;
use gep_core::ClassCode;
use std::collections::BTreeMap;

/// Parsed rows: class → the requested columns' values (`None` where the cell is empty).
pub type ClassRows = BTreeMap<ClassCode, Vec<Option<f64>>>;

/// Reads `columns` of a class-keyed CSV `text` (`file` names it in errors). Empty cells
/// are `None`; `required` columns must have a value in every row.
///
/// ```
/// use gep_models::class_table::read_class_table;
/// let t = read_class_table("lucode,usle_c,usle_p\n1,0.1,1\n2,,0.5\n", "bio.csv",
///     &["usle_c", "usle_p"], &["usle_p"]).unwrap();
/// assert_eq!(t[&1], vec![Some(0.1), Some(1.0)]);
/// assert_eq!(t[&2], vec![None, Some(0.5)]);
/// ```
///
/// # Errors
/// [`ModelError::Table`] naming the file, line and column: no key column, a missing
/// column, a value that is not a finite number, a duplicate class.
pub fn read_class_table(
    text: &str,
    file: &str,
    columns: &[&str],
    required: &[&str],
) -> Result<ClassRows, ModelError> {
    let err = |line: usize, message: String| ModelError::Table {
        file: file.to_string(),
        line,
        message,
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rdr = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| err(1, format!("cannot read the header: {e}")))?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let header_line = text
        .lines()
        .position(|l| !l.trim_start().starts_with('#'))
        .unwrap_or(0)
        + 1;
    let key = headers
        .iter()
        .position(|h| h == "class" || h == "lucode")
        .ok_or_else(|| {
            err(
                header_line,
                format!(
                    "no key column: name the raster-code column `class` (or `lucode`); the header has {}",
                    headers.join(", ")
                ),
            )
        })?;
    let idx: Vec<usize> = columns
        .iter()
        .map(|c| {
            headers.iter().position(|h| h == c).ok_or_else(|| {
                err(
                    header_line,
                    format!("no column `{c}`; the header has {}", headers.join(", ")),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let mut out = ClassRows::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            err(line, format!("{e}"))
        })?;
        let line = rec.position().map_or(0, |p| p.line() as usize);
        let k = &rec[key];
        let class: ClassCode = k.parse().map_err(|_| {
            err(
                line,
                format!(
                    "column `{}`: {k:?} is not an integer class code",
                    headers[key]
                ),
            )
        })?;
        let mut vals = Vec::with_capacity(idx.len());
        for (&i, &c) in idx.iter().zip(columns) {
            let s = rec.get(i).unwrap_or("");
            if s.is_empty() {
                if required.contains(&c) {
                    return Err(err(
                        line,
                        format!("column `{c}` is empty for class {class}: give a value"),
                    ));
                }
                vals.push(None);
                continue;
            }
            let v: f64 = s
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| err(line, format!("column `{c}`: {s:?} is not a number")))?;
            vals.push(Some(v));
        }
        if out.insert(class, vals).is_some() {
            return Err(err(
                line,
                format!("class {class} appears twice: keep one row per class"),
            ));
        }
    }
    Ok(out)
}
