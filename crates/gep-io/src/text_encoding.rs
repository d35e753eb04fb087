//! Which text encoding the attributes of a boundary layer are in, decided from what the file
//! declares and from the bytes themselves.
//!
//! GDAL hands text over as bytes: re-coded to UTF-8 when a Shapefile declares its encoding, but
//! unchanged (and possibly invalid UTF-8) when it declares none, or when a GeoJSON or GeoPackage
//! holds invalid UTF-8. gep reads Shapefiles with GDAL's re-coding switched off and decodes
//! here, strictly: a value is either valid in the chosen encoding or an error, never a string
//! with U+FFFD replacement characters.
//!
//! The rules:
//! - A declaration the user or the writing tool made on purpose (the `encoding` option, a
//!   `.cpg` file, a language driver id (LDID) other than 87 in the `.dbf` header, or a format
//!   that is always UTF-8) is obeyed: bytes that are invalid in it are an error, with the
//!   encoding they are valid in as the fix when there is one. A `.cpg` that says UTF-8 over
//!   GBK bytes is therefore an error, not a guess: one of the two is wrong, and only the user
//!   knows which.
//! - With no declaration (no `.cpg`, LDID 0), or only LDID 87 ("ANSI": ArcGIS writes it for
//!   whatever Windows code page was in use, which in China is GBK), the text is UTF-8 when
//!   every value is valid UTF-8, else GBK/GB18030 when every value is valid there (the caller
//!   warns: a guess must be visible). Otherwise LDID 87 falls back to windows-1252, which
//!   decodes any bytes, and no declaration at all is an error.

use encoding_rs::{Encoding, GBK, UTF_8, WINDOWS_1252};
use std::borrow::Cow;

/// What a layer says about its text encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Declared {
    /// The format's text is UTF-8 by definition (GeoPackage, GeoJSON, FlatGeobuf, ...).
    Utf8Format,
    /// The `encoding` option of the zone layer spec.
    Option(String),
    /// The content of the Shapefile's `.cpg` file.
    Cpg(String),
    /// The language driver id of the `.dbf` header and GDAL's name for it.
    Ldid {
        /// The LDID byte.
        value: u32,
        /// GDAL's reading of it (e.g. `CP936`, `ISO-8859-1`), empty when GDAL has none.
        label: String,
    },
    /// No `.cpg`, LDID 0.
    Nothing,
}

/// The LDID that ArcGIS and GDAL write for "ANSI": GDAL reads it as ISO-8859-1, but it only
/// says the writer used the Windows code page of its machine.
const LDID_ANSI: u32 = 87;

impl Declared {
    /// The label to look up, or `None` when the declaration is weak or absent.
    pub(crate) fn label(&self) -> Option<&str> {
        match self {
            Declared::Utf8Format => Some("UTF-8"),
            Declared::Option(l) | Declared::Cpg(l) => Some(l),
            Declared::Ldid { value, label } if *value != LDID_ANSI && !label.is_empty() => {
                Some(label)
            }
            Declared::Ldid { .. } | Declared::Nothing => None,
        }
    }
}

/// The encoding chosen for a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    /// The encoding every text value is decoded with.
    pub encoding: &'static Encoding,
    /// True when gep chose GBK/GB18030 without a declaration saying so: the caller warns.
    pub guessed: bool,
}

/// Why no encoding fits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mismatch {
    /// The declared label names no encoding gep knows, and the text is not plain ASCII.
    UnknownLabel(String),
    /// Text number `index` is invalid in `expected` (the declared encoding, or the last one
    /// tried); `valid_in` is an encoding all the text (or at least this value) is valid in.
    Invalid {
        /// Index into the texts given to [`decide`].
        index: usize,
        /// The encoding the text had to be valid in.
        expected: &'static Encoding,
        /// An encoding that would read the text, if any of UTF-8 and GBK/GB18030 does.
        valid_in: Option<&'static Encoding>,
    },
}

/// Looks up an encoding by the names found in `.cpg` files, LDID readings and configs:
/// WHATWG labels (`UTF-8`, `GBK`, `GB18030`, `Big5`, `ISO-8859-1`, ...), Windows code page
/// numbers with or without a `CP`/`ANSI`/`windows-` prefix (`936`, `CP936`, `ANSI 1252`), and
/// ESRI's `88591`-style ISO-8859 names.
pub(crate) fn encoding_for_label(label: &str) -> Option<&'static Encoding> {
    let l = label.trim().trim_matches('\0').trim();
    if let Some(e) = Encoding::for_label_no_replacement(l.as_bytes()) {
        return Some(e);
    }
    let upper = l.to_ascii_uppercase();
    let number = ["ANSI", "CP", "WINDOWS-", "WINDOWS", "MS", "IBM"]
        .iter()
        .find_map(|p| upper.strip_prefix(p))
        .unwrap_or(&upper)
        .trim_start_matches(['_', '-', ' ']);
    if let Some(rest) = number.strip_prefix("8859") {
        let part = rest.trim_start_matches(['_', '-']);
        return Encoding::for_label_no_replacement(format!("iso-8859-{part}").as_bytes());
    }
    let code: u32 = number.parse().ok()?;
    let name = match code {
        65001 => "utf-8",
        936 => "gbk",
        54936 => "gb18030",
        950 => "big5",
        932 => "shift_jis",
        949 => "euc-kr",
        866 => "ibm866",
        874 => "windows-874",
        1250..=1258 => return Encoding::for_label(format!("windows-{code}").as_bytes()),
        28591..=28599 | 28603 | 28605 => {
            return Encoding::for_label(format!("iso-8859-{}", code - 28590).as_bytes())
        }
        20866 => "koi8-r",
        21866 => "koi8-u",
        10000 => "macintosh",
        _ => return None,
    };
    Encoding::for_label(name.as_bytes())
}

/// `bytes` decoded strictly: `None` when they are not valid in `encoding`.
pub(crate) fn decode(encoding: &'static Encoding, bytes: &[u8]) -> Option<String> {
    encoding
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(Cow::into_owned)
}

fn valid_in(encoding: &'static Encoding, text: &[u8]) -> bool {
    decode(encoding, text).is_some()
}

/// The first of UTF-8 and GBK that every text is valid in, else the first that `one` is
/// valid in.
fn suggestion(texts: &[&[u8]], one: &[u8]) -> Option<&'static Encoding> {
    let candidates = [UTF_8, GBK];
    candidates
        .into_iter()
        .find(|e| texts.iter().all(|t| valid_in(e, t)))
        .or_else(|| candidates.into_iter().find(|e| valid_in(e, one)))
}

fn first_invalid(encoding: &'static Encoding, texts: &[&[u8]]) -> Option<usize> {
    texts.iter().position(|t| !valid_in(encoding, t))
}

/// Decides the encoding of a layer whose text values (ids, names, parent ids) are `texts`,
/// following the rules of the module documentation.
pub(crate) fn decide(declared: &Declared, texts: &[&[u8]]) -> Result<Decision, Mismatch> {
    let ascii = texts.iter().all(|t| t.is_ascii());
    if let Some(label) = declared.label() {
        let Some(encoding) = encoding_for_label(label) else {
            return if ascii {
                // Every encoding a .dbf can be in reads ASCII alike.
                Ok(Decision {
                    encoding: UTF_8,
                    guessed: false,
                })
            } else {
                Err(Mismatch::UnknownLabel(label.to_string()))
            };
        };
        return match first_invalid(encoding, texts) {
            None => Ok(Decision {
                encoding,
                guessed: false,
            }),
            Some(index) => Err(Mismatch::Invalid {
                index,
                expected: encoding,
                valid_in: suggestion(texts, texts[index]).filter(|e| *e != encoding),
            }),
        };
    }
    let Some(bad_utf8) = first_invalid(UTF_8, texts) else {
        return Ok(Decision {
            encoding: UTF_8,
            guessed: false,
        });
    };
    let Some(bad_gbk) = first_invalid(GBK, texts) else {
        return Ok(Decision {
            encoding: GBK,
            guessed: true,
        });
    };
    if matches!(declared, Declared::Ldid { .. }) {
        // LDID 87: the writer's Windows code page was not GBK; windows-1252 (GDAL's reading)
        // decodes every byte.
        return Ok(Decision {
            encoding: WINDOWS_1252,
            guessed: false,
        });
    }
    // Report a value that fits neither, when there is one (else the file mixes encodings).
    let index = texts
        .iter()
        .position(|t| !valid_in(UTF_8, t) && !valid_in(GBK, t))
        .unwrap_or(bad_gbk.max(bad_utf8));
    Err(Mismatch::Invalid {
        index,
        expected: GBK,
        valid_in: suggestion(&texts[index..=index], texts[index]),
    })
}

/// The name to tell users for an encoding chosen as GBK: `GB18030` when the text uses its
/// four-byte sequences (outside GBK proper), so that other tools reading a `.cpg` agree.
pub(crate) fn gbk_label<'a>(texts: impl IntoIterator<Item = &'a [u8]>) -> &'static str {
    let four_byte = texts.into_iter().any(|t| {
        let mut i = 0;
        while i < t.len() {
            if (0x81..=0xfe).contains(&t[i]) {
                if t.get(i + 1).is_some_and(|b| b.is_ascii_digit()) {
                    return true;
                }
                i += 2;
            } else {
                i += 1;
            }
        }
        false
    });
    if four_byte {
        "GB18030"
    } else {
        "GBK"
    }
}

/// `bytes` for a message: printable ASCII as is, every other byte as `\xNN`, so that the user
/// can find the value with a hex viewer.
pub(crate) fn escape_bytes(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                (b as char).to_string()
            } else {
                format!("\\x{b:02X}")
            }
        })
        .collect()
}

/// `bytes` as text for a message: decoded with the first of `candidates` they are valid in,
/// else escaped.
pub(crate) fn display_text(bytes: &[u8], candidates: &[&'static Encoding]) -> String {
    candidates
        .iter()
        .find_map(|e| decode(e, bytes))
        .unwrap_or_else(|| escape_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 淳安县 in GBK.
    const CHUNAN_GBK: &[u8] = &[0xB4, 0xBE, 0xB0, 0xB2, 0xCF, 0xD8];
    /// A GBK lead byte followed by a byte no GBK/GB18030 sequence allows, then a lone
    /// continuation byte: neither UTF-8 nor GB18030.
    const GARBAGE: &[u8] = &[b'x', 0x81, 0x20, 0x80];

    fn ok(d: &Declared, texts: &[&[u8]]) -> (&'static str, bool) {
        let d = decide(d, texts).unwrap();
        (d.encoding.name(), d.guessed)
    }

    #[test]
    fn labels_from_cpg_files_and_configs() {
        for (label, name) in [
            ("UTF-8", "UTF-8"),
            ("utf8", "UTF-8"),
            ("65001", "UTF-8"),
            ("GBK", "GBK"),
            ("CP936", "GBK"),
            (" 936\r\n", "GBK"),
            ("gb2312", "GBK"),
            ("GB18030", "gb18030"),
            ("ANSI 1252", "windows-1252"),
            ("88591", "windows-1252"),
            ("8859_5", "ISO-8859-5"),
            ("ISO-8859-1", "windows-1252"),
            ("Big5", "Big5"),
        ] {
            assert_eq!(
                encoding_for_label(label).map(|e| e.name()),
                Some(name),
                "{label:?}"
            );
        }
        assert_eq!(encoding_for_label("EBCDIC-42"), None);
        assert_eq!(encoding_for_label("437"), None);
    }

    #[test]
    fn undeclared_text_is_utf8_else_gbk_else_an_error() {
        let utf8 = "淳安县".as_bytes();
        assert_eq!(ok(&Declared::Nothing, &[b"330127", utf8]), ("UTF-8", false));
        assert_eq!(
            ok(&Declared::Nothing, &[b"330127", CHUNAN_GBK]),
            ("GBK", true)
        );
        assert_eq!(
            decide(&Declared::Nothing, &[CHUNAN_GBK, GARBAGE]),
            Err(Mismatch::Invalid {
                index: 1,
                expected: GBK,
                valid_in: None
            })
        );
        // LDID 87 ("ANSI"): the same detection, then windows-1252 instead of an error.
        let ansi = Declared::Ldid {
            value: 87,
            label: "ISO-8859-1".into(),
        };
        assert_eq!(ok(&ansi, &[CHUNAN_GBK]), ("GBK", true));
        assert_eq!(ok(&ansi, &[GARBAGE]), ("windows-1252", false));
    }

    #[test]
    fn a_declaration_is_obeyed_strictly() {
        let cpg_utf8 = Declared::Cpg("UTF-8".into());
        // A .cpg that says UTF-8 over GBK bytes is an error that names GBK as the fix.
        assert_eq!(
            decide(&cpg_utf8, &[b"ok", CHUNAN_GBK]),
            Err(Mismatch::Invalid {
                index: 1,
                expected: UTF_8,
                valid_in: Some(GBK)
            })
        );
        // GBK declared over bytes that are invalid GBK.
        assert!(matches!(
            decide(&Declared::Option("GBK".into()), &[GARBAGE]),
            Err(Mismatch::Invalid {
                index: 0,
                valid_in: None,
                ..
            })
        ));
        assert_eq!(
            ok(&Declared::Cpg("936".into()), &[CHUNAN_GBK]),
            ("GBK", false)
        );
        // GeoJSON/GeoPackage with GBK bytes in them.
        assert!(matches!(
            decide(&Declared::Utf8Format, &[CHUNAN_GBK]),
            Err(Mismatch::Invalid { valid_in: Some(e), .. }) if e == GBK
        ));
        // An unknown label matters only when the text is not ASCII.
        let odd = Declared::Cpg("EBCDIC-42".into());
        assert_eq!(ok(&odd, &[b"330127"]), ("UTF-8", false));
        assert_eq!(
            decide(&odd, &[CHUNAN_GBK]),
            Err(Mismatch::UnknownLabel("EBCDIC-42".into()))
        );
        // An LDID other than 87 is a declaration.
        let ldid = Declared::Ldid {
            value: 77,
            label: "CP936".into(),
        };
        assert_eq!(ok(&ldid, &[CHUNAN_GBK]), ("GBK", false));
    }

    #[test]
    fn helpers_for_messages() {
        assert_eq!(gbk_label([CHUNAN_GBK]), "GBK");
        assert_eq!(gbk_label([&[0x81u8, 0x30, 0x81, 0x30][..]]), "GB18030");
        assert_eq!(escape_bytes(GARBAGE), "x\\x81 \\x80");
        assert_eq!(display_text(CHUNAN_GBK, &[UTF_8, GBK]), "淳安县");
    }
}
