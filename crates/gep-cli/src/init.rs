//! `gep init`: a commented starter config for the common bureau case — one county, three
//! levels (county/township/village), GBK Shapefiles, a CLCD or 三调 land-cover raster — in
//! the chosen language. Never overwrites a file.

use crate::i18n::{self, fill, t, text, tf};
use anyhow::{bail, Result};
use gep_report::Lang;
use std::io::Write;
use std::path::Path;

/// The land-cover classification a starter config is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// China Land Cover Dataset (Yang & Huang 2021).
    Clcd,
    /// The third national land survey (三调), GB/T 21010 codes.
    Sandiao,
}

impl Scheme {
    fn parse(s: &str) -> Option<Scheme> {
        match s.trim().to_ascii_lowercase().as_str() {
            "clcd" => Some(Scheme::Clcd),
            "sandiao" | "三调" | "gbt21010" => Some(Scheme::Sandiao),
            _ => None,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Scheme::Clcd => "clcd",
            Scheme::Sandiao => "sandiao",
        }
    }

    /// The built-in crosswalk of the scheme.
    fn crosswalk(self) -> &'static str {
        match self {
            Scheme::Clcd => "clcd",
            Scheme::Sandiao => "gbt21010-sandiao",
        }
    }
}

/// The starter config's text.
pub fn template(scheme: Scheme, lang: Lang) -> String {
    let body = match lang {
        Lang::Zh => include_str!("init/zh.toml"),
        Lang::En => include_str!("init/en.toml"),
    };
    let k = scheme.key();
    fill(
        body,
        &[
            ("scheme_name", &text(&format!("scheme.{k}_name"), lang)),
            ("scheme_note", &text(&format!("scheme.{k}_note"), lang)),
            (
                "crosswalk_note",
                &text(&format!("scheme.{k}_crosswalk"), lang),
            ),
            ("crosswalk", &scheme.crosswalk()),
        ],
    )
}

/// `gep init [FILE] [--scheme clcd|sandiao] [--lang zh|en]`.
pub fn init(file: Option<&Path>, scheme: &str, lang: Option<&str>) -> Result<u8> {
    if let Some(l) = lang {
        match l.parse::<Lang>() {
            Ok(l) => i18n::set(l),
            Err(_) => bail!("--lang {l:?}: use zh or en"),
        }
    }
    let Some(scheme) = Scheme::parse(scheme) else {
        bail!(tf("init.bad_scheme", &[("value", &scheme)]));
    };
    let path = file.unwrap_or(Path::new("gep.toml"));
    let text = template(scheme, i18n::lang());
    // create_new: never replaces a file, also one that appears between a check and the write.
    let mut f = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!(tf("init.exists", &[("path", &path.display())]))
        }
        Err(e) => bail!(tf(
            "init.cannot_write",
            &[("path", &path.display()), ("reason", &e)]
        )),
    };
    if let Err(e) = f.write_all(text.as_bytes()).and_then(|_| f.sync_all()) {
        drop(f);
        // Our own half-written file: removed so that a retry is not refused.
        let _ = std::fs::remove_file(path);
        bail!(tf(
            "init.cannot_write",
            &[("path", &path.display()), ("reason", &e)]
        ));
    }
    let scheme_name = t(&format!("scheme.{}_name", scheme.key()));
    println!(
        "{}",
        tf(
            "init.wrote",
            &[("path", &path.display()), ("scheme", &scheme_name)]
        )
    );
    println!("{}", t("init.next_landcover"));
    println!("{}", t("init.next_zones"));
    println!("{}", t("init.next_year"));
    println!("{}", tf("init.next_validate", &[("path", &path.display())]));
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every starter config is valid for the schema, and its valuation (coefficient set and
    /// crosswalk) loads and covers every ecosystem type the crosswalk reaches.
    #[test]
    fn templates_resolve_and_their_valuation_loads() {
        for scheme in [Scheme::Clcd, Scheme::Sandiao] {
            for lang in [Lang::Zh, Lang::En] {
                let text = template(scheme, lang);
                assert!(!text.contains('{'), "unfilled placeholder in {text}");
                let raw: gep_engine::plan::RawConfig =
                    toml::from_str(&text).unwrap_or_else(|e| panic!("{scheme:?} {lang:?}: {e}"));
                assert_eq!(raw.zones.len(), 3);
                assert!(raw
                    .zones
                    .iter()
                    .all(|z| z.encoding.as_deref() == Some("GBK")));
                let plan = gep_engine::plan::resolve(raw, Some(Path::new("/tmp/gep.toml")))
                    .unwrap_or_else(|e| panic!("{scheme:?} {lang:?}: {e}"));
                assert_eq!(plan.lang, lang);
                let v = gep_engine::plan::load_valuation(&plan)
                    .unwrap_or_else(|e| panic!("{scheme:?}: {e}"))
                    .expect("a valuation");
                assert_eq!(
                    v.crosswalk.as_ref().map(|c| c.id.as_str()),
                    Some(scheme.crosswalk())
                );
            }
        }
    }
}
