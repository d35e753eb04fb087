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
    // csv's own line counter lags by one after the header: lines come from byte offsets
    // (tables have a row per class, so counting from the start each time is cheap).
    let line_of = |pos: Option<&csv::Position>| -> usize {
        let Some(p) = pos else { return 0 };
        let mut b = usize::try_from(p.byte())
            .unwrap_or(usize::MAX)
            .min(text.len());
        while b < text.len() && matches!(text.as_bytes()[b], b'\n' | b'\r') {
            b += 1;
        }
        text.as_bytes()[..b].iter().filter(|&&c| c == b'\n').count() + 1
    };
    let mut out = ClassRows::new();
    let mut first_line: BTreeMap<ClassCode, usize> = BTreeMap::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = line_of(e.position());
            err(line, format!("{e}"))
        })?;
        let line = line_of(rec.position());
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
        if let Some(first) = first_line.insert(class, line) {
            return Err(err(
                line,
                format!("class {class} appears twice (lines {first} and {line}): keep one row per class"),
            ));
        }
        out.insert(class, vals);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        read_class_table(text, "t.csv", &["alpha"], &["alpha"])
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn errors_name_the_line_of_the_file() {
        let t = "lucode,alpha\n1,0.1\n2,0.2\n3,O.3\n";
        assert_eq!(
            err(t),
            "t.csv line 4: column `alpha`: \"O.3\" is not a number"
        );
        let t = "# comment\nlucode,alpha\n1,0.1\n\n2,0.2\n1,0.3\n";
        assert_eq!(
            err(t),
            "t.csv line 6: class 1 appears twice (lines 3 and 6): keep one row per class"
        );
        let t = "lucode,alpha\r\n1,0.1\r\n2,\r\n";
        assert_eq!(
            err(t),
            "t.csv line 3: column `alpha` is empty for class 2: give a value"
        );
    }
}
