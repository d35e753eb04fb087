//! The command's words in Chinese and English, from one catalogue (`messages.toml`, embedded
//! in the binary): messages, the run summary, errors and `--help`.
//!
//! The language: `--lang` on the command line, else `[output] lang` when the config gives it,
//! else the locale (`LC_ALL`, `LC_MESSAGES`, `LANG`, the first one set: Chinese when it
//! starts with `zh`), else English. `--help` is printed before any config is read, so it
//! follows `--lang` in argv, then the locale.

use gep_report::Lang;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

/// The catalogue's text.
const CATALOGUE: &str = include_str!("messages.toml");

/// Both wordings of every message, by key.
type Catalogue = HashMap<String, [String; 2]>;

fn catalogue() -> &'static Catalogue {
    static CAT: OnceLock<Catalogue> = OnceLock::new();
    CAT.get_or_init(|| parse(CATALOGUE).expect("messages.toml is checked by a unit test"))
}

/// Parses the catalogue: nested tables whose leaves are tables with `en` and `zh` strings;
/// the key of a leaf is its path joined with dots.
fn parse(text: &str) -> Result<Catalogue, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut out = HashMap::new();
    fn walk(prefix: &str, t: &toml::Table, out: &mut Catalogue) -> Result<(), String> {
        if let (Some(en), Some(zh)) = (t.get("en"), t.get("zh")) {
            let (Some(en), Some(zh)) = (en.as_str(), zh.as_str()) else {
                return Err(format!("{prefix}: en and zh must be strings"));
            };
            if t.len() != 2 {
                return Err(format!("{prefix}: a message has en and zh only"));
            }
            out.insert(prefix.to_string(), [en.to_string(), zh.to_string()]);
            return Ok(());
        }
        for (k, v) in t {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v.as_table() {
                Some(sub) => walk(&key, sub, out)?,
                None => return Err(format!("{key}: expected a table with en and zh")),
            }
        }
        Ok(())
    }
    walk("", &table, &mut out)?;
    Ok(out)
}

/// The language in use (0 English, 1 Chinese).
static LANG: AtomicU8 = AtomicU8::new(0);

/// Sets the language of every message from now on.
pub fn set(lang: Lang) {
    LANG.store(u8::from(lang == Lang::Zh), Ordering::Relaxed);
}

/// The language in use.
pub fn lang() -> Lang {
    if LANG.load(Ordering::Relaxed) == 1 {
        Lang::Zh
    } else {
        Lang::En
    }
}

/// Whether messages are in Chinese.
pub fn zh() -> bool {
    lang() == Lang::Zh
}

/// The language the locale asks for: the first of `LC_ALL`, `LC_MESSAGES`, `LANG` that is
/// set and not empty (POSIX precedence); Chinese when it starts with `zh`.
pub fn from_locale() -> Lang {
    locale_lang(|k| std::env::var(k).ok())
}

fn locale_lang(var: impl Fn(&str) -> Option<String>) -> Lang {
    let value = ["LC_ALL", "LC_MESSAGES", "LANG"]
        .into_iter()
        .filter_map(var)
        .find(|v| !v.is_empty());
    match value {
        Some(v) if v.to_ascii_lowercase().starts_with("zh") => Lang::Zh,
        _ => Lang::En,
    }
}

/// The value of `--lang` in `args` (`--lang zh` or `--lang=zh`), if any and valid.
pub fn from_args(args: &[std::ffi::OsString]) -> Option<Lang> {
    let mut it = args.iter().map(|a| a.to_string_lossy());
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        let value = if a == "--lang" {
            it.next().map(|v| v.into_owned())
        } else {
            a.strip_prefix("--lang=").map(str::to_string)
        };
        if let Some(v) = value {
            return v.parse().ok();
        }
    }
    None
}

/// The message `key` in the current language. Panics on a key the catalogue lacks (a unit
/// test checks every key used in the code).
pub fn t(key: &str) -> &'static str {
    text(key, lang())
}

/// The message `key` in `lang`.
pub fn text(key: &str, lang: Lang) -> &'static str {
    let pair = catalogue()
        .get(key)
        .unwrap_or_else(|| panic!("message {key:?} is not in messages.toml"));
    &pair[usize::from(lang == Lang::Zh)]
}

/// Whether the catalogue has `key`.
pub fn has(key: &str) -> bool {
    catalogue().contains_key(key)
}

/// The message `key` with its `{name}` placeholders filled from `args`.
pub fn tf(key: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
    fill(t(key), args)
}

/// `template` with its `{name}` placeholders filled from `args`.
pub fn fill(template: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
    let mut out = template.to_string();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), &value.to_string());
    }
    out
}

/// `{}` / `{}s` in English wording of a count: `1 county`, `2 counties`; Chinese has no
/// plural, and level names are translated.
pub fn count(n: usize, noun: &str) -> String {
    if zh() {
        let key = format!("noun.{noun}");
        let word = if has(&key) { t(&key) } else { noun };
        return format!("{n} 个{word}");
    }
    format!("{n} {}", crate::run::plural(n, noun))
}

/// A level's name (county, township, village) in the current language.
pub fn level(l: gep_core::Level) -> &'static str {
    t(&format!("noun.{}", l.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_parses_and_placeholders_match() {
        let cat = parse(CATALOGUE).unwrap();
        assert!(cat.len() > 50, "{} messages", cat.len());
        let names = |s: &str| {
            let mut v: Vec<String> = s
                .split('{')
                .skip(1)
                .filter_map(|p| p.split_once('}').map(|(n, _)| n.to_string()))
                .filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                .collect();
            v.sort();
            v.dedup();
            v
        };
        for (k, [en, zh]) in &cat {
            assert!(!en.is_empty() && !zh.is_empty(), "{k}: empty");
            assert_eq!(names(en), names(zh), "{k}: placeholders differ");
            // The Chinese text is Chinese (not a copied English line).
            assert!(
                zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{k}: zh has no Chinese: {zh}"
            );
        }
    }

    #[test]
    fn every_key_used_in_the_code_is_in_the_catalogue() {
        let cat = parse(CATALOGUE).unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let src = std::fs::read_to_string(&path).unwrap();
            for call in ["t(\"", "tf(\""] {
                let mut parts = src.split(call);
                let mut before = parts.next().unwrap_or_default();
                for part in parts {
                    // A call of `t`/`tf`, not of `context(`, `print(` ...
                    let own = before
                        .chars()
                        .last()
                        .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
                    before = part;
                    if !own {
                        continue;
                    }
                    let key = part.split('"').next().unwrap();
                    assert!(
                        cat.contains_key(key),
                        "{}: key {key:?} not in messages.toml",
                        path.display()
                    );
                }
            }
        }
    }

    #[test]
    fn locale_precedence() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(locale_lang(env(&[("LANG", "zh_CN.UTF-8")])), Lang::Zh);
        assert_eq!(locale_lang(env(&[("LANG", "C")])), Lang::En);
        assert_eq!(
            locale_lang(env(&[("LC_ALL", "en_US.UTF-8"), ("LANG", "zh_CN.UTF-8")])),
            Lang::En
        );
        assert_eq!(
            locale_lang(env(&[
                ("LC_ALL", ""),
                ("LC_MESSAGES", "zh_TW"),
                ("LANG", "C")
            ])),
            Lang::Zh
        );
        assert_eq!(locale_lang(env(&[])), Lang::En);
    }

    #[test]
    fn lang_flag_is_found_in_argv() {
        let a = |v: &[&str]| v.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert_eq!(
            from_args(&a(&["gep", "run", "--lang", "zh"])),
            Some(Lang::Zh)
        );
        assert_eq!(from_args(&a(&["gep", "--lang=en", "run"])), Some(Lang::En));
        assert_eq!(from_args(&a(&["gep", "run", "--", "--lang", "zh"])), None);
        assert_eq!(from_args(&a(&["gep", "run"])), None);
    }
}
