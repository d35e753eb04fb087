//! The language a user reads: of the report's labels, of the command's messages and of the
//! wording of warnings and failure reasons.
//!
//! It lives here, in the crate every other depends on, so that the library's typed warnings
//! (in `gep-engine`), the reporter that prints them ([`crate::Reporter`]) and the report
//! (`gep-report`, which re-exports it as `gep_report::Lang`) share one type.

/// The language of labels and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Simplified Chinese (the default of reports: they go to county governments).
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// BCP 47 tag for `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

impl std::str::FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Lang, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "cn" => Ok(Lang::Zh),
            "en" | "en-us" | "en-gb" => Ok(Lang::En),
            other => Err(format!("unknown language {other:?}; use zh or en")),
        }
    }
}
