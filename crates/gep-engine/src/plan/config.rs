//! The run configuration (`gep run CONFIG.toml`): the raw TOML schema, and its resolution
//! into a [`Plan`] with absolute paths and validated values.
//!
//! The full schema is documented in `docs/config.md`.

use super::{bail, Context, Result};
use gep_core::Level;
use gep_io::{Datum, ZoneLayerSpec};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The config file as written by the user.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Accounting year, carried into every output row.
    pub year: Option<i32>,
    /// The land-cover raster.
    pub landcover: Option<RawLandcover>,
    /// Boundary layers, one per level.
    #[serde(default)]
    pub zones: Vec<RawZones>,
    /// Valuation settings.
    pub valuation: Option<RawValuation>,
    /// Hierarchy checks.
    #[serde(default)]
    pub checks: RawChecks,
    /// Run settings.
    #[serde(default)]
    pub run: RawRun,
    /// Output settings.
    pub output: Option<RawOutput>,
    /// Continuous inputs (`[[inputs]]`), aligned to the land-cover grid.
    #[serde(default)]
    pub inputs: Vec<gep_io::continuous::ContinuousInput>,
    /// Physical models (`[models.water_conservation]`, `[models.soil_retention]`).
    pub models: Option<super::models::RawModels>,
    /// Statistics-based services (`[statistics]`).
    pub statistics: Option<RawStatistics>,
}

/// `[statistics]`: county statistics allocated to townships and villages (`docs/statistics.md`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStatistics {
    /// The statistics table (CSV or XLSX).
    pub table: PathBuf,
    /// Village-level allocation weights (`zone_id, service, weight`), when keys use them.
    pub shares: Option<PathBuf>,
}

/// `[landcover]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLandcover {
    /// Raster path (relative to the config file).
    pub path: PathBuf,
    /// 1-based band.
    pub band: Option<usize>,
    /// Nodata override.
    pub nodata: Option<f64>,
    /// CRS override when the file has none.
    pub crs: Option<String>,
}

/// `[[zones]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawZones {
    /// Vector path.
    pub path: PathBuf,
    /// Layer name (default: the first layer).
    pub layer: Option<String>,
    /// county, township or village.
    pub level: String,
    /// Field holding the zone id.
    pub id_field: String,
    /// Field holding the name.
    pub name_field: Option<String>,
    /// Field holding the parent id (else derived from code prefixes).
    pub parent_field: Option<String>,
    /// Attribute encoding for `.dbf` files without `.cpg` (e.g. GBK).
    pub encoding: Option<String>,
    /// `gcj02` when the coordinates come from Chinese web maps.
    pub datum: Option<String>,
    /// CRS override when the file has none.
    pub crs: Option<String>,
}

/// `[valuation]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawValuation {
    /// Built-in coefficient-set id or a file path.
    pub coefficients: String,
    /// Built-in crosswalk id or a file path (not needed for stock sets keyed by class).
    pub crosswalk: Option<String>,
    /// Value of one standard equivalent, 元/hm² (equivalent-factor sets).
    pub d: Option<f64>,
    /// The price year of `d` (required with `target_price_year`; else the totals' price year).
    #[serde(default)]
    pub d_price_year: Option<i32>,
    /// Restate prices in this year (needs `deflator`).
    pub target_price_year: Option<i32>,
    /// Deflator table (CSV year,index).
    pub deflator: Option<PathBuf>,
    /// Top-level zone ids whose boundary reaches into the sea (their water is warned about).
    #[serde(default)]
    pub coastal_zones: Option<Vec<String>>,
}

/// `[checks]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChecks {
    /// Compute geometric gap/overlap rows (slower for thousands of villages).
    #[serde(default = "yes")]
    pub geometry: bool,
}

impl Default for RawChecks {
    fn default() -> Self {
        RawChecks { geometry: true }
    }
}

fn yes() -> bool {
    true
}

/// `[run]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRun {
    /// Worker threads (0 or absent = all cores).
    pub threads: Option<usize>,
    /// Only these county ids.
    pub counties: Option<Vec<String>>,
    /// Load counties tallied by an earlier, interrupted run from the cache (default false).
    pub resume: Option<bool>,
}

/// `[output]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutput {
    /// Output directory.
    pub dir: PathBuf,
    /// Report language: `zh` (default) or `en`.
    pub lang: Option<String>,
    /// Write the XLSX workbook, HTML report and GeoPackage (default true).
    pub report: Option<bool>,
    /// Write the value-density GeoTIFF `value_density.tif` (元/ha/a per cell; default false).
    pub value_raster: Option<bool>,
}

/// Valuation after validation.
#[derive(Debug, Clone)]
pub struct ValuationPlan {
    /// The accounting year of every account row (required when valuing).
    pub year: i32,
    /// Coefficient-set id or absolute path.
    pub coefficients: String,
    /// Crosswalk id or absolute path.
    pub crosswalk: Option<String>,
    /// D override.
    pub d: Option<f64>,
    /// The price year of the D override.
    pub d_price_year: Option<i32>,
    /// Target price year.
    pub target_price_year: Option<i32>,
    /// Deflator path.
    pub deflator: Option<PathBuf>,
    /// Top-level zones whose boundary reaches into the sea.
    pub coastal_zones: Vec<String>,
}

/// A validated run: everything resolved, paths absolute.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The config file, if any.
    pub config_path: Option<PathBuf>,
    /// Accounting year.
    pub year: Option<i32>,
    /// Raster path.
    pub landcover: PathBuf,
    /// Band.
    pub band: usize,
    /// Nodata override.
    pub nodata: Option<f64>,
    /// Raster CRS override.
    pub landcover_crs: Option<String>,
    /// Zone layers.
    /// Zone layers, ready for `gep_io::read_zones`.
    pub zones: Vec<ZoneLayerSpec>,
    /// Valuation.
    pub valuation: Option<ValuationPlan>,
    /// Geometric checks on.
    pub geometry_checks: bool,
    /// Threads (0 = all).
    pub threads: usize,
    /// County filter.
    pub counties: Option<Vec<String>>,
    /// Reuse the per-county tallies cached by an interrupted run.
    pub resume: bool,
    /// Output directory; empty when the plan has none (a library run that writes nothing).
    pub out_dir: PathBuf,
    /// Report language.
    pub lang: gep_report::Lang,
    /// Write workbook, HTML report and GeoPackage.
    pub report: bool,
    /// Write the value-density GeoTIFF.
    pub value_raster: bool,
    /// Continuous inputs and physical models.
    pub models: super::models::ModelsPlan,
    /// Statistics table and share table (absolute paths), when given.
    pub statistics: Option<(PathBuf, Option<PathBuf>)>,
}

/// Reads and parses a config file (syntax errors name the line and column).
///
/// # Errors
/// [`crate::EngineError::Config`]: the file missing or unreadable, a syntax error, an unknown
/// or missing key, a value of the wrong type (with line and column).
pub fn load(path: &Path) -> Result<RawConfig> {
    let problem = |problem| crate::EngineError::Config {
        path: path.to_path_buf(),
        problem,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(problem(crate::ConfigProblem::Missing))
        }
        Err(e) => {
            return Err(problem(crate::ConfigProblem::Unreadable {
                reason: e.to_string(),
            }))
        }
    };
    toml::from_str(&text).map_err(|e| problem(crate::ConfigProblem::from_toml(&e, &text)))
}

/// A built-in id (no path separator, no extension) or a path relative to the config.
fn id_or_path(value: &str, base: &Path) -> String {
    let looks_like_path = value.contains('/') || value.contains('\\') || value.contains('.');
    if looks_like_path {
        clean(&base.join(value)).to_string_lossy().into_owned()
    } else {
        value.to_string()
    }
}

/// Removes `.` and `..` components lexically (the files may not exist yet).
pub(crate) fn clean(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Validates a raw config into a plan. `config_path` anchors relative paths (the current
/// directory when the run is given by flags only).
pub fn resolve(raw: RawConfig, config_path: Option<&Path>) -> Result<Plan> {
    let cwd = std::env::current_dir()?;
    let base = match config_path {
        Some(p) => {
            let dir = cwd.join(p.parent().unwrap_or(Path::new("")));
            // Absolute, without `..`, so that paths in outputs and the manifest are clean.
            std::fs::canonicalize(&dir).unwrap_or(dir)
        }
        None => cwd,
    };
    let where_ = config_path
        .map(|p| format!("config {}", p.display()))
        .unwrap_or_else(|| "command line".into());
    let Some(lc) = raw.landcover else {
        bail!("{where_}: no land-cover raster: add a [landcover] table with path = \"...\" (or pass --landcover)");
    };
    if raw.zones.is_empty() {
        bail!("{where_}: no boundaries: add at least one [[zones]] table with path, level and id_field (or pass --zones)");
    }
    // No [output]: a library caller that writes nothing (out_dir stays empty); the `gep`
    // command requires one.
    let out = raw.output.unwrap_or(RawOutput {
        dir: PathBuf::new(),
        lang: None,
        report: None,
        value_raster: None,
    });
    let band = lc.band.unwrap_or(1);
    if band == 0 {
        bail!("{where_}: [landcover] band = 0: bands are numbered from 1");
    }
    let mut zones = Vec::new();
    for (i, z) in raw.zones.into_iter().enumerate() {
        let level: Level = z
            .level
            .parse()
            .with_context(|| format!("{where_}: [[zones]] #{} ({})", i + 1, z.path.display()))?;
        let datum = match z.datum.as_deref().map(|d| d.trim().to_ascii_lowercase()) {
            None => Datum::AsDeclared,
            Some(d) if d == "gcj02" || d == "gcj-02" => Datum::Gcj02,
            Some(d) if d == "declared" || d.is_empty() => Datum::AsDeclared,
            Some(d) => bail!(
                "{where_}: [[zones]] #{} datum = {d:?} is unknown: use \"gcj02\" for AMap/Gaode or Tencent web-map coordinates, or leave it out",
                i + 1
            ),
        };
        zones.push(ZoneLayerSpec {
            path: clean(&base.join(&z.path)),
            layer: z.layer,
            level,
            id_field: z.id_field,
            name_field: z.name_field,
            parent_field: z.parent_field,
            encoding: z.encoding,
            datum,
            crs: z.crs,
        });
    }
    let mut levels: Vec<Level> = zones.iter().map(|z| z.level).collect();
    levels.sort();
    if levels.windows(2).any(|w| w[0] == w[1]) {
        bail!("{where_}: two [[zones]] layers have the same level; merge them into one file or give each its own level");
    }
    let valuation = match raw.valuation {
        Some(_) if raw.year.is_none() => bail!(
            "{where_}: [valuation] needs the accounting year, carried into every accounts.csv row: add `year = 2020` (your year) at the top of the config, or pass --year"
        ),
        v => v,
    };
    let valuation = valuation.map(|v| ValuationPlan {
        year: raw.year.unwrap_or_default(),
        coefficients: id_or_path(&v.coefficients, &base),
        crosswalk: v.crosswalk.as_deref().map(|c| id_or_path(c, &base)),
        d: v.d,
        d_price_year: v.d_price_year,
        target_price_year: v.target_price_year,
        deflator: v.deflator.map(|p| clean(&base.join(p))),
        coastal_zones: v.coastal_zones.unwrap_or_default(),
    });
    if let Some(v) = &valuation {
        if v.target_price_year.is_some() != v.deflator.is_some() {
            bail!("{where_}: [valuation] target_price_year and deflator go together: give both (a deflator table CSV with year,index) or neither");
        }
        if let Some(d) = v.d {
            if !(d.is_finite() && d > 0.0) {
                bail!("{where_}: [valuation] d = {d} must be a positive number of 元/hm² (Xie 2015 default 3406.5)");
            }
        }
        // A D override's price year: with restated prices D is deflated from it (the set's year
        // would deflate a current-price D twice); without, it is the totals' price year.
        match (v.d, v.d_price_year, v.target_price_year) {
            (None, Some(y), _) => bail!("{where_}: [valuation] d_price_year = {y} without d: give d (元/hm² at {y} prices) or drop d_price_year"),
            (Some(d), None, Some(t)) => bail!("{where_}: [valuation] d = {d} with target_price_year = {t}: add d_price_year = <the year of D's prices> (D is restated from that year to {t}; assuming the set's price year would deflate a current-price D twice)"),
            _ => {}
        }
    }
    let lang = match out.lang.as_deref() {
        None => gep_report::Lang::Zh,
        Some(l) => l.parse().map_err(|_| {
            crate::EngineError::plan(format!(
                "{where_}: [output] lang = {l:?}: use \"zh\" or \"en\""
            ))
        })?,
    };
    if out.value_raster == Some(true) && valuation.is_none() {
        bail!("{where_}: [output] value_raster = true needs a [valuation] table (coefficients and crosswalk)");
    }
    if let Some(y) = raw.year {
        if !(1900..=2200).contains(&y) {
            bail!("{where_}: year = {y} is not a plausible accounting year");
        }
    }
    let models = super::models::resolve_models(raw.inputs, raw.models, &base, &where_)?;
    if models.parameters.is_some() && valuation.is_none() {
        bail!("{where_}: [models] parameters values the models' quantities into accounts.csv and gep.csv: it needs a [valuation] table (the accounting year, a coefficient set and the crosswalk to ecosystem types)");
    }
    if raw.statistics.is_some() && valuation.is_none() {
        bail!("{where_}: [statistics] allocates county figures by the area of ecosystem types and needs a [valuation] table with its crosswalk (and the accounting year)");
    }
    let statistics = raw.statistics.map(|s| {
        (
            clean(&base.join(s.table)),
            s.shares.map(|p| clean(&base.join(p))),
        )
    });
    Ok(Plan {
        config_path: config_path.map(Path::to_path_buf),
        year: raw.year,
        landcover: clean(&base.join(&lc.path)),
        band,
        nodata: lc.nodata,
        landcover_crs: lc.crs,
        zones,
        valuation,
        geometry_checks: raw.checks.geometry,
        threads: raw.run.threads.unwrap_or(0),
        counties: raw.run.counties,
        resume: raw.run.resume.unwrap_or(false),
        out_dir: if out.dir.as_os_str().is_empty() {
            PathBuf::new()
        } else {
            clean(&base.join(&out.dir))
        },
        lang,
        report: out.report.unwrap_or(true),
        value_raster: out.value_raster.unwrap_or(false),
        models,
        statistics,
    })
}

impl Plan {
    /// The highest level among the plan's boundary layers: the level of its units of work.
    pub fn top_level(&self) -> Level {
        self.zones
            .iter()
            .map(|z| z.level)
            .min()
            .unwrap_or(Level::County)
    }

    /// Reads and resolves a config file (the TOML `gep run` reads; relative paths are
    /// relative to the file; schema in `docs/config.md`).
    ///
    /// # Errors
    /// [`crate::EngineError::Plan`] naming the file, line and column of a syntax error, or
    /// the key and value that are wrong.
    pub fn from_file(path: &Path) -> Result<Plan> {
        resolve(load(path)?, Some(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_relative_to_the_config() {
        let raw: RawConfig = toml::from_str(
            r#"
            year = 2020
            [landcover]
            path = "lc.tif"
            [[zones]]
            path = "c.geojson"
            level = "county"
            id_field = "adcode"
            [output]
            dir = "out"
            "#,
        )
        .unwrap();
        let plan = resolve(raw, Some(Path::new("/data/run/gep.toml"))).unwrap();
        assert_eq!(plan.landcover, Path::new("/data/run/lc.tif"));
        assert_eq!(plan.out_dir, Path::new("/data/run/out"));
        assert_eq!(plan.zones[0].level, Level::County);
    }

    #[test]
    fn typos_are_caught() {
        let e = toml::from_str::<RawConfig>("[landcover]\npaht = \"x\"\n").unwrap_err();
        assert!(e.to_string().contains("paht"), "{e}");
    }

    #[test]
    fn bad_values_are_explained() {
        let raw: RawConfig = toml::from_str(
            "[landcover]\npath='a'\n[[zones]]\npath='b'\nlevel='province'\nid_field='x'\n[output]\ndir='o'\n",
        )
        .unwrap();
        let e = format!("{:#}", resolve(raw, None).unwrap_err());
        assert!(e.contains("province"), "{e}");
    }
}
