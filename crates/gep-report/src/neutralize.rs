//! Formula-injection neutralisation of text cells (CSV and XLSX).
//!
//! A spreadsheet evaluates a cell that starts with `=`, `+`, `-` or `@` (and, in some
//! programs, a tab or carriage return followed by one) as a formula, so a zone named
//! `=HYPERLINK(...)` in a boundary file could run when the table is opened. Following the
//! OWASP "CSV Injection" advice, such text is prefixed with a single quote `'`: the quote is
//! visible, the text is otherwise unchanged, and no program treats it as a formula.
//!
//! The same visible prefix is used in the XLSX workbook, although its string cells are never
//! formulas there: a workbook is often re-exported to CSV (Excel, LibreOffice, pandas), and
//! Excel's invisible "quote prefix" style would be lost on export, re-arming the formula.

use std::borrow::Cow;

/// True when a spreadsheet could read `text` as a formula.
pub fn is_formula_like(text: &str) -> bool {
    matches!(
        text.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
}

/// `text` with a leading `'` when a spreadsheet could read it as a formula, else unchanged.
///
/// ```
/// use gep_report::neutralize;
/// assert_eq!(neutralize("=1+1"), "'=1+1");
/// assert_eq!(neutralize("西湖区"), "西湖区");
/// assert_eq!(neutralize("330127100001"), "330127100001");
/// ```
pub fn neutralize(text: &str) -> Cow<'_, str> {
    if is_formula_like(text) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// `serialize_with` helper: writes a text field through [`neutralize`].
pub(crate) fn ser_text<S: serde::Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&neutralize(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutralisation_cases() {
        for bad in [
            "=1+1",
            "+1",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
            "=HYPERLINK(\"x\")",
        ] {
            assert_eq!(neutralize(bad), format!("'{bad}"), "{bad:?}");
            assert!(matches!(neutralize(bad), Cow::Owned(_)));
        }
        for ok in ["", "西湖区", "330127100001", "a=b", " =1", "'quoted", "1-2"] {
            assert!(
                matches!(neutralize(ok), Cow::Borrowed(s) if s == ok),
                "{ok:?}"
            );
        }
    }
}
