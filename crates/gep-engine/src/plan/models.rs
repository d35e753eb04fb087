//! `[[inputs]]` and `[models.*]`: continuous inputs (aligned to the land-cover grid) and the
//! physical models that use them — water conservation by the water balance and soil
//! retention by RUSLE (schema in `docs/models.md`).
//!
//! Resolution checks names and units before anything is read; [`prepare_models`] opens the
//! inputs through `gep-io` (GDAL's warper when an input is on another grid), runs the terrain
//! chain for LS, and returns the layers the tally sums in the same pass as the class areas.

use super::{bail, Context, Result};
use crate::physical::{InputRecord, ModelRecord};
use gep_core::{ClassCode, Grid, LayerInfo, Reporter, ValueGrid, ValueSource};
use gep_io::continuous::{open_continuous, plausible_range, ContinuousInput, InputKind};
use gep_models::soil_retention::{UsleFactors, RKLS_UNIT};
use gep_models::terrain::LsAlgorithm;
use gep_models::DerivedLayer;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `[models]`: the physical models to run.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModels {
    /// Water conservation by the water balance.
    pub water_conservation: Option<RawWaterConservation>,
    /// Soil retention by RUSLE.
    pub soil_retention: Option<RawSoilRetention>,
    /// Carbon sequestration and oxygen release from NPP.
    pub carbon_oxygen: Option<RawCarbonOxygen>,
    /// Climate regulation from actual evapotranspiration.
    pub climate_regulation: Option<RawClimateRegulation>,
    /// Flood regulation: reservoirs from a table, area storage from the parameter set.
    pub flood_regulation: Option<RawFloodRegulation>,
    /// Water purification, capped at the counties' discharges.
    pub water_purification: Option<RawWaterPurification>,
    /// Air purification, capped at the counties' emissions.
    pub air_purification: Option<RawAirPurification>,
    /// Negative air ions (asked for: missing parameters are an error).
    pub negative_air_ions: Option<RawNegativeAirIons>,
    /// The parameter and price set that values the models' quantities into `accounts.csv`
    /// (built-in id such as `zj-regulating-example`, or a CSV path); absent: quantities only.
    pub parameters: Option<String>,
    /// A line said in the run's warnings, report and manifest (e.g. "coarse demonstration,
    /// example inputs"): what a reader of the outputs must know about the inputs.
    pub label: Option<String>,
}

/// `[models.carbon_oxygen]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCarbonOxygen {
    /// The `[[inputs]]` name of net primary production (g C/(m²·a)).
    pub npp: String,
    /// `"C"` (t C/a, priced per t C) or `"CO2"` (44/12 × NEP t CO₂/a, priced per t CO₂):
    /// required, and it must match the unit of the carbon price.
    pub carbon_as: String,
}

/// `[models.climate_regulation]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClimateRegulation {
    /// The `[[inputs]]` name of annual actual evapotranspiration (mm).
    pub evapotranspiration: String,
}

/// `[models.flood_regulation]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFloodRegulation {
    /// CSV of reservoirs: `id`, `county`, `total_capacity`, `unit`, optional `name`, `zone`.
    pub reservoirs: Option<PathBuf>,
}

/// `[models.water_purification]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWaterPurification {
    /// CSV of discharges by county: `county`, `pollutant` (COD, NH3-N, TP), `amount`, `unit`.
    pub discharges: PathBuf,
}

/// `[models.air_purification]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAirPurification {
    /// CSV of emissions by county: `county`, `pollutant` (SO2, NOx, dust), `amount`, `unit`.
    pub emissions: PathBuf,
}

/// `[models.negative_air_ions]`: asks for the service (its parameters come from the set).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNegativeAirIons {}

/// The area-based services, resolved (tables as absolute paths).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AreaPlan {
    /// Flood regulation asked for, with its reservoirs table if any.
    pub flood: Option<Option<PathBuf>>,
    /// Water purification's discharge table.
    pub water_purification: Option<PathBuf>,
    /// Air purification's emission table.
    pub air_purification: Option<PathBuf>,
    /// `[models.negative_air_ions]` is present.
    pub negative_air_ions: bool,
}

impl AreaPlan {
    /// True when no area-based service is asked for.
    pub fn is_empty(&self) -> bool {
        *self == AreaPlan::default()
    }
}

/// `[models.water_conservation]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWaterConservation {
    /// The `[[inputs]]` name of annual precipitation (mm).
    pub precipitation: String,
    /// The `[[inputs]]` name of annual actual evapotranspiration (mm).
    pub evapotranspiration: String,
    /// CSV of runoff coefficients: `class` (or `lucode`) and `alpha` (a fraction).
    pub runoff_coefficients: PathBuf,
}

/// `[models.soil_retention]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSoilRetention {
    /// The `[[inputs]]` name of rainfall erosivity R (MJ·mm/(ha·h·a)).
    pub erosivity: String,
    /// The `[[inputs]]` name of soil erodibility K (t·ha·h/(ha·MJ·mm)).
    pub erodibility: String,
    /// `invest_d8`, `chinese` or `supplied`.
    pub ls_algorithm: String,
    /// The `[[inputs]]` name of the DEM (m), for `invest_d8` and `chinese`.
    pub dem: Option<String>,
    /// The `[[inputs]]` name of an LS raster (dimensionless), for `supplied`.
    pub ls: Option<String>,
    /// Cap on L for `invest_d8` (InVEST's `l_max`; default 122).
    pub l_max: Option<f64>,
    /// Cap on the slope length λ for `chinese`, m (default 300).
    pub lambda_max_m: Option<f64>,
    /// Cells whose D8 flow accumulation exceeds this many cells are streams and carry no
    /// erosion (InVEST SDR's `threshold_flow_accumulation`); absent: no stream mask.
    pub stream_threshold: Option<f64>,
    /// CSV of USLE factors: `class` (or `lucode`), `usle_c`, `usle_p`.
    pub factors: PathBuf,
    /// The `[[inputs]]` name of fractional vegetation cover (0-1): C per cell by Cai (2000)
    /// instead of the table's `usle_c`.
    pub vegetation_cover: Option<String>,
    /// Memory the whole-DEM flow routing may use, GiB (default 8).
    pub routing_memory_gib: Option<f64>,
}

/// How soil retention gets its LS.
#[derive(Debug, Clone, PartialEq)]
pub enum LsPlan {
    /// InVEST 3.20 SDR's LS on D8 routing from the DEM input.
    InvestD8 {
        /// The DEM input.
        dem: String,
        /// Cap on L.
        l_max: f64,
    },
    /// The Chinese form from the DEM input.
    Chinese {
        /// The DEM input.
        dem: String,
        /// Cap on λ, m.
        lambda_max_m: f64,
    },
    /// An LS raster the user supplies.
    Supplied {
        /// The LS input.
        ls: String,
    },
}

impl LsPlan {
    /// The algorithm's name in outputs (`invest_d8`, `chinese`, `supplied`).
    pub fn name(&self) -> &'static str {
        match self {
            LsPlan::InvestD8 { .. } => "invest_d8",
            LsPlan::Chinese { .. } => "chinese",
            LsPlan::Supplied { .. } => "supplied",
        }
    }
}

/// Water conservation, resolved.
#[derive(Debug, Clone)]
pub struct WaterPlan {
    /// Precipitation input (mm).
    pub precipitation: String,
    /// Actual evapotranspiration input (mm).
    pub evapotranspiration: String,
    /// Runoff-coefficient table (absolute path).
    pub runoff_coefficients: PathBuf,
}

/// Soil retention, resolved.
#[derive(Debug, Clone)]
pub struct SoilPlan {
    /// Erosivity input.
    pub erosivity: String,
    /// Erodibility input.
    pub erodibility: String,
    /// LS source.
    pub ls: LsPlan,
    /// Stream threshold (cells), if any.
    pub stream_threshold: Option<f64>,
    /// USLE factor table (absolute path).
    pub factors: PathBuf,
    /// Vegetation-cover input, if C comes from it.
    pub vegetation_cover: Option<String>,
    /// Routing memory budget, bytes.
    pub routing_memory_bytes: u64,
}

/// Continuous inputs and models, resolved.
#[derive(Debug, Clone, Default)]
pub struct ModelsPlan {
    /// Every input, paths absolute, valid ranges filled in from the role each input plays.
    pub inputs: Vec<ContinuousInput>,
    /// Water conservation.
    pub water: Option<WaterPlan>,
    /// Soil retention.
    pub soil: Option<SoilPlan>,
    /// Carbon and oxygen: the NPP input and the substance carbon is reported in.
    pub carbon: Option<(String, gep_models::services::CarbonAs)>,
    /// Climate regulation: the actual-ET input.
    pub climate: Option<String>,
    /// Flood regulation, purification and negative air ions (from class areas and tables).
    pub area: AreaPlan,
    /// Parameter set (built-in id or absolute path) valuing the quantities.
    pub parameters: Option<String>,
    /// The config's label of the inputs (said in the warnings).
    pub label: Option<String>,
}

impl ModelsPlan {
    /// True when the plan has no continuous input and no area-based service (and so no
    /// model).
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty() && self.area.is_empty()
    }

    /// The inputs some model uses.
    pub fn used_inputs(&self) -> Vec<&str> {
        let mut v = Vec::new();
        if let Some(w) = &self.water {
            v.extend([w.precipitation.as_str(), w.evapotranspiration.as_str()]);
        }
        if let Some(s) = &self.soil {
            v.extend([s.erosivity.as_str(), s.erodibility.as_str()]);
            match &s.ls {
                LsPlan::InvestD8 { dem, .. } | LsPlan::Chinese { dem, .. } => v.push(dem),
                LsPlan::Supplied { ls } => v.push(ls),
            }
            v.extend(s.vegetation_cover.as_deref());
        }
        v.extend(self.carbon.iter().map(|c| c.0.as_str()));
        v.extend(self.climate.as_deref());
        v
    }

    /// Every file the models read (inputs and parameter tables).
    pub fn files(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = self.inputs.iter().map(|i| i.path.clone()).collect();
        v.extend(self.water.iter().map(|w| w.runoff_coefficients.clone()));
        v.extend(self.soil.iter().map(|s| s.factors.clone()));
        v.extend(self.area.flood.iter().flatten().cloned());
        v.extend(self.area.water_purification.iter().cloned());
        v.extend(self.area.air_purification.iter().cloned());
        v.extend(
            self.parameters
                .iter()
                .map(PathBuf::from)
                .filter(|p| p.is_file()),
        );
        v
    }
}

/// Validates `[[inputs]]` and `[models]` (paths relative to `base`).
pub fn resolve_models(
    inputs: Vec<ContinuousInput>,
    models: Option<RawModels>,
    base: &Path,
    where_: &str,
) -> Result<ModelsPlan> {
    let models = models.unwrap_or_default();
    let mut inputs = inputs;
    for i in &mut inputs {
        i.path = super::config::clean(&base.join(&i.path));
    }
    let mut seen = std::collections::BTreeSet::new();
    for i in &inputs {
        if !seen.insert(i.name.clone()) {
            bail!(
                "{where_}: two [[inputs]] are named {:?}; give each its own name",
                i.name
            );
        }
    }
    // Each input a model names must exist, in the unit its formula needs; its sanity bounds
    // default to those of its role.
    let mut bind = |model: &str, role: &str, name: &str, kind: InputKind| -> Result<()> {
        let Some(i) = inputs.iter_mut().find(|i| i.name == name) else {
            let names: Vec<&str> = seen.iter().map(String::as_str).collect();
            bail!(
                "{where_}: [models.{model}] {role} = {name:?} names no input; add an [[inputs]] table with name = {name:?} (inputs: {})",
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            );
        };
        if !same_unit(&i.unit, kind.unit()) {
            bail!(
                "{where_}: [[inputs]] {name:?} is the {role} of [models.{model}] and must be in {:?}, but its unit is {:?}; declare unit = {:?} (with scale = ... if the file is in another unit)",
                kind.unit(),
                i.unit,
                kind.unit()
            );
        }
        // One spelling downstream (the models check units by name).
        i.unit = kind.unit().to_string();
        if i.valid_range.is_none() {
            i.valid_range = Some(plausible_range(kind));
        }
        Ok(())
    };
    let water = match models.water_conservation {
        None => None,
        Some(w) => {
            bind(
                "water_conservation",
                "precipitation",
                &w.precipitation,
                InputKind::AnnualPrecipitation,
            )?;
            bind(
                "water_conservation",
                "evapotranspiration",
                &w.evapotranspiration,
                InputKind::ActualEvapotranspiration,
            )?;
            Some(WaterPlan {
                precipitation: w.precipitation,
                evapotranspiration: w.evapotranspiration,
                runoff_coefficients: super::config::clean(&base.join(w.runoff_coefficients)),
            })
        }
    };
    let soil = match models.soil_retention {
        None => None,
        Some(s) => {
            const M: &str = "soil_retention";
            bind(M, "erosivity", &s.erosivity, InputKind::RainfallErosivity)?;
            bind(M, "erodibility", &s.erodibility, InputKind::SoilErodibility)?;
            let ls = match (s.ls_algorithm.as_str(), &s.dem, &s.ls) {
                ("invest_d8", Some(dem), None) => {
                    bind(M, "dem", dem, InputKind::Elevation)?;
                    LsPlan::InvestD8 {
                        dem: dem.clone(),
                        l_max: s.l_max.unwrap_or(122.0),
                    }
                }
                ("chinese", Some(dem), None) => {
                    bind(M, "dem", dem, InputKind::Elevation)?;
                    LsPlan::Chinese {
                        dem: dem.clone(),
                        lambda_max_m: s.lambda_max_m.unwrap_or(300.0),
                    }
                }
                ("supplied", None, Some(ls)) => {
                    bind(M, "ls", ls, InputKind::SlopeLength)?;
                    LsPlan::Supplied { ls: ls.clone() }
                }
                ("invest_d8" | "chinese", _, _) => bail!(
                    "{where_}: [models.soil_retention] ls_algorithm = {:?} computes LS from a DEM: give dem = \"<input name>\" (and no ls)",
                    s.ls_algorithm
                ),
                ("supplied", _, _) => bail!(
                    "{where_}: [models.soil_retention] ls_algorithm = \"supplied\" reads LS from an input: give ls = \"<input name>\" (and no dem)"
                ),
                (other, _, _) => bail!(
                    "{where_}: [models.soil_retention] ls_algorithm = {other:?} is unknown: use \"invest_d8\" (InVEST SDR's, Desmet & Govers on D8 routing), \"chinese\" (S in three branches, McCool L) or \"supplied\""
                ),
            };
            if let Some(c) = &s.vegetation_cover {
                bind(M, "vegetation_cover", c, InputKind::VegetationCover)?;
            }
            if let Some(t) = s.stream_threshold {
                if !(t.is_finite() && t >= 1.0) {
                    bail!("{where_}: [models.soil_retention] stream_threshold = {t} must be a number of cells ≥ 1 (InVEST's default is 1000)");
                }
            }
            let gib = s.routing_memory_gib.unwrap_or(8.0);
            if !(gib.is_finite() && gib > 0.0) {
                bail!("{where_}: [models.soil_retention] routing_memory_gib = {gib} must be a positive number of GiB");
            }
            Some(SoilPlan {
                erosivity: s.erosivity,
                erodibility: s.erodibility,
                ls,
                stream_threshold: s.stream_threshold,
                factors: super::config::clean(&base.join(s.factors)),
                vegetation_cover: s.vegetation_cover,
                routing_memory_bytes: (gib * (1u64 << 30) as f64) as u64,
            })
        }
    };
    let carbon = match models.carbon_oxygen {
        None => None,
        Some(c) => {
            bind("carbon_oxygen", "npp", &c.npp, InputKind::Npp)?;
            let carbon_as = match c.carbon_as.as_str() {
                "C" => gep_models::services::CarbonAs::C,
                "CO2" | "CO₂" => gep_models::services::CarbonAs::Co2,
                o => bail!(
                    "{where_}: [models.carbon_oxygen] carbon_as = {o:?}: write \"C\" (t C/a, priced per t C) or \"CO2\" (44/12 × NEP t CO2/a, priced per t CO2), the substance of the carbon price's unit"
                ),
            };
            Some((c.npp, carbon_as))
        }
    };
    let climate = match models.climate_regulation {
        None => None,
        Some(c) => {
            bind(
                "climate_regulation",
                "evapotranspiration",
                &c.evapotranspiration,
                InputKind::ActualEvapotranspiration,
            )?;
            Some(c.evapotranspiration)
        }
    };
    let area = AreaPlan {
        flood: models
            .flood_regulation
            .map(|f| f.reservoirs.map(|r| super::config::clean(&base.join(r)))),
        water_purification: models
            .water_purification
            .map(|w| super::config::clean(&base.join(w.discharges))),
        air_purification: models
            .air_purification
            .map(|a| super::config::clean(&base.join(a.emissions))),
        negative_air_ions: models.negative_air_ions.is_some(),
    };
    if models.parameters.is_none() {
        let asked: Vec<&str> = [
            ("flood_regulation", area.flood.is_some()),
            ("water_purification", area.water_purification.is_some()),
            ("air_purification", area.air_purification.is_some()),
            ("negative_air_ions", area.negative_air_ions),
        ]
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(s, _)| s)
        .collect();
        if let Some(first) = asked.first() {
            bail!(
                "{where_}: [models.{first}] is valued with a parameter set: add `parameters = \"zj-regulating-example\"` (or a CSV path) under [models] ({} asked for)",
                asked.join(", ")
            );
        }
    }
    let parameters = models.parameters.map(|p| {
        if gep_core::ParameterSet::builtin_ids().contains(&p.as_str()) {
            p
        } else {
            super::config::clean(&base.join(&p)).display().to_string()
        }
    });
    // Inputs no model uses are tallied as they are: their weighted sums by zone and class
    // go to layer_sums.csv (e.g. the mean precipitation of every village).
    Ok(ModelsPlan {
        inputs,
        water,
        soil,
        carbon,
        climate,
        area,
        parameters,
        label: models.label,
    })
}

/// Whether two unit spellings are the same unit: `MJ·mm/(ha·h·a)`, `MJ*mm/(ha*h*a)` and
/// `MJ.mm/(ha.h.a)` are; case matters (`Mm` is not `mm`).
fn same_unit(a: &str, b: &str) -> bool {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| !matches!(c, '·' | '*' | '.' | ' ' | '⋅'))
            .collect()
    };
    norm(a) == norm(b)
}

/// The layers the tally sums, the parameters the models need, and what was read.
pub struct PreparedModels {
    /// The layers, on the land-cover grid, in tally order.
    pub layers: Vec<Box<dyn ValueSource>>,
    /// Water conservation's layers and parameters.
    pub water: Option<WaterLayers>,
    /// Soil retention's layers and parameters.
    pub soil: Option<SoilLayers>,
    /// NPP layer (in the tally) and the substance carbon is reported in.
    pub carbon: Option<(String, gep_models::services::CarbonAs)>,
    /// Actual-ET layer of climate regulation (in the tally).
    pub climate: Option<String>,
    /// The area-based services and their tables, read.
    pub area: crate::services::AreaServices,
    /// The parameter set valuing the quantities.
    pub parameters: Option<gep_core::ParameterSet>,
    /// Each input as read (for the manifest).
    pub inputs: Vec<InputRecord>,
    /// Each model and its parameters (for the manifest).
    pub models: Vec<ModelRecord>,
    /// Notes on the inputs (partial coverage...), as warnings.
    pub notes: Vec<String>,
}

/// Water conservation's layers (names in the tally) and runoff coefficients.
pub struct WaterLayers {
    /// Precipitation, masked by ET's gaps (mm).
    pub precipitation: String,
    /// Actual ET, masked by precipitation's gaps (mm).
    pub evapotranspiration: String,
    /// α by class, a fraction.
    pub alpha: BTreeMap<ClassCode, f64>,
    /// The runoff-coefficient table α came from.
    pub table: PathBuf,
}

/// Soil retention's layers (names in the tally) and factors.
pub struct SoilLayers {
    /// R·K·LS, t/(ha·a).
    pub rkls: String,
    /// R·K·LS·C with C per cell from vegetation cover, when used.
    pub rkls_c: Option<String>,
    /// C and P by class.
    pub factors: BTreeMap<ClassCode, UsleFactors>,
    /// The LS algorithm's name.
    pub ls_algorithm: String,
    /// The factor table C and P came from.
    pub table: PathBuf,
}

/// Opens every input on the land-cover grid, runs the terrain chain when soil retention
/// needs LS from a DEM, reads the parameter tables, and builds the layers the tally sums.
///
/// # Errors
/// An input that cannot be opened, aligned or is out of its sanity range (naming it); a
/// DEM over the routing memory budget; a parameter table that cannot be read.
pub fn prepare_models(
    plan: &ModelsPlan,
    grid: &Grid,
    crs: &gep_io::Crs,
    progress: &dyn Reporter,
) -> Result<Option<PreparedModels>> {
    if plan.is_empty() {
        return Ok(None);
    }
    let mut opened: BTreeMap<String, gep_io::continuous::GdalValues> = BTreeMap::new();
    let mut records = Vec::new();
    let mut notes: Vec<String> = plan.label.iter().cloned().collect();
    for spec in &plan.inputs {
        progress.status(&format!("input {}: {}", spec.name, spec.path.display()));
        let v = open_continuous(spec, grid, crs).map_err(|e| match e {
            // Its text holds the inner error, which is also its `source()`: unwrapped so
            // that the CLI's `{:#}` chain does not print the inner message twice.
            gep_io::IoError::Input { name, source } => crate::EngineError::Context {
                what: format!("continuous input {name:?}"),
                inner: Box::new((*source).into()),
            },
            e => e.into(),
        })?;
        let a = v.alignment();
        records.push(InputRecord {
            name: spec.name.clone(),
            path: spec.path.display().to_string(),
            unit: spec.unit.clone(),
            resampling: a.resampling.as_str().to_string(),
            warped: a.warped,
            source_crs: a.source_crs.clone(),
            scale: spec.scale,
            offset: spec.offset,
            no_data_share: a.no_data_share,
            value_range: a.range.as_ref().map(|r| (r.min, r.max)),
        });
        notes.extend(v.notes().iter().map(|n| n.to_string()));
        opened.insert(spec.name.clone(), v);
    }
    let source = |name: &str| -> Result<Box<dyn ValueSource>> {
        opened
            .get(name)
            .map(|v| v.try_clone_values())
            .transpose()?
            .ok_or_else(|| crate::EngineError::plan(format!("input {name:?} was not opened")))
    };
    let mut layers: Vec<Box<dyn ValueSource>> = Vec::new();
    // Inputs no model uses: summed as they are.
    let used = plan.used_inputs();
    for spec in plan
        .inputs
        .iter()
        .filter(|i| !used.contains(&i.name.as_str()))
    {
        layers.push(source(&spec.name)?);
    }
    let mut models = Vec::new();
    let mut water = None;
    if let Some(w) = &plan.water {
        let alpha: BTreeMap<ClassCode, f64> =
            read_table(&w.runoff_coefficients, &["alpha"], &["alpha"])?
                .into_iter()
                .map(|(c, v)| (c, v[0].unwrap_or(f64::NAN)))
                .collect();
        // The model checks the same after the tally; here it costs no tally and names the file.
        for (&class, &a) in &alpha {
            if !(0.0..=1.0).contains(&a) {
                return Err(in_table(
                    &w.runoff_coefficients,
                    gep_models::ModelError::Parameter {
                        model: "water_conservation",
                        parameter: "runoff coefficient α",
                        class,
                        value: a,
                        expected: "a fraction in [0, 1] (4.65 % is 0.0465)",
                    },
                ));
            }
        }
        // Each of P and ET carries the other's gaps, so both cover the same area.
        let both = |info: LayerInfo, pick: usize| -> Result<DerivedLayer> {
            Ok(DerivedLayer::new(
                info,
                vec![source(&w.precipitation)?, source(&w.evapotranspiration)?],
                move |v| v[pick],
            )?)
        };
        layers.push(Box::new(both(LayerInfo::new("wc_precipitation", "mm"), 0)?));
        layers.push(Box::new(both(
            LayerInfo::new("wc_evapotranspiration", "mm"),
            1,
        )?));
        water = Some(WaterLayers {
            precipitation: "wc_precipitation".to_string(),
            evapotranspiration: "wc_evapotranspiration".to_string(),
            alpha,
            table: w.runoff_coefficients.clone(),
        });
        models.push(ModelRecord {
            model: "water_conservation".into(),
            parameters: vec![
                ("formula".into(), "Q = Σ A·(P − α·P − ET)·10⁻³ m³/a".into()),
                ("precipitation".into(), w.precipitation.clone()),
                ("evapotranspiration".into(), w.evapotranspiration.clone()),
                (
                    "runoff_coefficients".into(),
                    w.runoff_coefficients.display().to_string(),
                ),
            ],
        });
    }
    let mut soil = None;
    if let Some(s) = &plan.soil {
        let (ls, ls_off_streams) = ls_layer(s, &opened, progress)?;
        let table = read_table(&s.factors, &["usle_c", "usle_p"], &["usle_p"])?;
        let factors: BTreeMap<ClassCode, UsleFactors> = table
            .into_iter()
            .map(|(c, v)| {
                (
                    c,
                    UsleFactors {
                        c: if s.vegetation_cover.is_some() {
                            None
                        } else {
                            v[0]
                        },
                        p: v[1].unwrap_or(f64::NAN),
                    },
                )
            })
            .collect();
        for (&class, f) in &factors {
            for (parameter, v) in [("C", f.c), ("P", Some(f.p))] {
                if let Some(value) = v.filter(|v| !(0.0..=1.0).contains(v)) {
                    return Err(in_table(
                        &s.factors,
                        gep_models::ModelError::Parameter {
                            model: "soil_retention",
                            parameter,
                            class,
                            value,
                            expected: "a factor in [0, 1]",
                        },
                    ));
                }
            }
        }
        let mut rkls_inputs = vec![
            source(&s.erosivity)?,
            source(&s.erodibility)?,
            Box::new(ls_off_streams.clone()) as Box<dyn ValueSource>,
        ];
        if let Some(c) = &s.vegetation_cover {
            rkls_inputs.push(source(c)?);
        }
        // With C from cover, R·K·LS carries the cover's gaps too (same area for both).
        let rkls = DerivedLayer::new(LayerInfo::new("rkls", RKLS_UNIT), rkls_inputs, |v| {
            v[0] * v[1] * v[2]
        })?;
        layers.push(Box::new(ls.clone()));
        layers.push(Box::new(rkls));
        let rkls_c = match &s.vegetation_cover {
            Some(c) => {
                let l = DerivedLayer::new(
                    LayerInfo::new("rkls_c", RKLS_UNIT),
                    vec![
                        source(&s.erosivity)?,
                        source(&s.erodibility)?,
                        Box::new(ls_off_streams.clone()),
                        source(c)?,
                    ],
                    |v| v[0] * v[1] * v[2] * gep_models::cai_c_factor(v[3]),
                )?;
                layers.push(Box::new(l));
                Some("rkls_c".to_string())
            }
            None => None,
        };
        let mut parameters = vec![
            (
                "formula".into(),
                "A_c = Σ A·R·K·LS·(1 − C·P)·10⁻⁴ t/a".into(),
            ),
            ("ls_algorithm".into(), s.ls.name().into()),
            ("erosivity".into(), s.erosivity.clone()),
            ("erodibility".into(), s.erodibility.clone()),
            ("factors".into(), s.factors.display().to_string()),
        ];
        match &s.ls {
            LsPlan::InvestD8 { dem, l_max } => {
                parameters.push(("dem".into(), dem.clone()));
                parameters.push(("l_max".into(), l_max.to_string()));
            }
            LsPlan::Chinese { dem, lambda_max_m } => {
                parameters.push(("dem".into(), dem.clone()));
                parameters.push(("lambda_max_m".into(), lambda_max_m.to_string()));
            }
            LsPlan::Supplied { ls } => parameters.push(("ls".into(), ls.clone())),
        }
        if let Some(t) = s.stream_threshold {
            parameters.push(("stream_threshold_cells".into(), t.to_string()));
        }
        parameters.push((
            "c_factor".into(),
            match &s.vegetation_cover {
                Some(c) => format!("Cai (2000) from vegetation cover {c}"),
                None => "usle_c of the factor table".into(),
            },
        ));
        models.push(ModelRecord {
            model: "soil_retention".into(),
            parameters,
        });
        soil = Some(SoilLayers {
            rkls: "rkls".to_string(),
            rkls_c,
            factors,
            ls_algorithm: s.ls.name().to_string(),
            table: s.factors.clone(),
        });
    }
    let mut carbon = None;
    if let Some((npp, carbon_as)) = &plan.carbon {
        layers.push(Box::new(DerivedLayer::new(
            LayerInfo::new("co_npp", gep_models::carbon_oxygen::NPP_UNIT),
            vec![source(npp)?],
            |v| v[0],
        )?));
        carbon = Some(("co_npp".to_string(), *carbon_as));
        models.push(ModelRecord {
            model: "carbon_oxygen".into(),
            parameters: vec![
                ("formula".into(), "NPP = Σ A·NPP·10⁻⁶ t C/a; NEP = ratio × NPP; CO2 = 44/12 × NEP; O2 = 32/12 × NEP".into()),
                ("npp".into(), npp.clone()),
                ("carbon_as".into(), format!("{carbon_as:?}")),
            ],
        });
    }
    let mut climate = None;
    if let Some(et) = &plan.climate {
        layers.push(Box::new(DerivedLayer::new(
            LayerInfo::new("cr_evapotranspiration", "mm"),
            vec![source(et)?],
            |v| v[0],
        )?));
        climate = Some("cr_evapotranspiration".to_string());
        models.push(ModelRecord {
            model: "climate_regulation".into(),
            parameters: vec![
                (
                    "formula".into(),
                    "ET volume = Σ A·ET·10⁻³ m3/a; E = ET·ρ·q/3600/r × D/365 kWh/a".into(),
                ),
                ("evapotranspiration".into(), et.clone()),
            ],
        });
    }
    let area = read_area_tables(&plan.area)?;
    for (model, on, table) in [
        (
            "flood_regulation",
            area.flood,
            area.reservoirs.as_ref().map(|r| r.file.clone()),
        ),
        (
            "water_purification",
            area.water.is_some(),
            area.water.as_ref().map(|t| t.file.clone()),
        ),
        (
            "air_purification",
            area.air.is_some(),
            area.air.as_ref().map(|t| t.file.clone()),
        ),
        ("negative_air_ions", area.negative_air_ions, None),
    ] {
        if on {
            let mut parameters = vec![("formula".into(), area_formula(model).into())];
            parameters.extend(table.map(|t| ("table".to_string(), t)));
            models.push(ModelRecord {
                model: model.into(),
                parameters,
            });
        }
    }
    let parameters = match &plan.parameters {
        None => None,
        Some(spec) => {
            let set = gep_core::ParameterSet::load(spec)?;
            models.push(ModelRecord {
                model: "valuation".into(),
                parameters: vec![
                    (
                        "parameter_set".into(),
                        format!("{}@{}", set.id, set.version),
                    ),
                    ("origin".into(), set.origin.clone()),
                    ("sha256".into(), set.sha256.clone()),
                    ("example".into(), set.example.to_string()),
                ],
            });
            Some(set)
        }
    };
    Ok(Some(PreparedModels {
        layers,
        water,
        soil,
        carbon,
        climate,
        area,
        parameters,
        inputs: records,
        models,
        notes,
    }))
}

/// The LS layer of soil retention on the land-cover grid — from the DEM through the terrain
/// chain (whole DEM in memory, within the budget), or the supplied raster — and the same
/// without stream cells (flow accumulation above the threshold carry no erosion, as in
/// InVEST SDR), which is what R·K·LS uses.
fn ls_layer(
    s: &SoilPlan,
    opened: &BTreeMap<String, gep_io::continuous::GdalValues>,
    progress: &dyn Reporter,
) -> Result<(ValueGrid, ValueGrid)> {
    let read = |name: &str| -> Result<ValueGrid> {
        let v = opened
            .get(name)
            .ok_or_else(|| crate::EngineError::plan(format!("input {name:?} was not opened")))?;
        let mut r = v.try_clone_values()?;
        Ok(ValueGrid::read_all(r.as_mut())?)
    };
    let (algorithm, dem) = match &s.ls {
        LsPlan::InvestD8 { dem, l_max } => (LsAlgorithm::InvestD8 { l_max: *l_max }, read(dem)?),
        LsPlan::Chinese { dem, lambda_max_m } => (
            LsAlgorithm::Chinese {
                lambda_max_m: *lambda_max_m,
            },
            read(dem)?,
        ),
        LsPlan::Supplied { ls } => {
            let ls = read(ls)?;
            if s.stream_threshold.is_some() {
                bail!("[models.soil_retention] stream_threshold needs flow accumulation from a DEM; with ls_algorithm = \"supplied\" drop stream_threshold (mask streams in the LS raster instead)");
            }
            let ls = gep_models::terrain::ls_supplied(&ls)?.with_info(LayerInfo::new("ls", "1"));
            return Ok((ls.clone(), ls));
        }
    };
    progress.status(&format!(
        "terrain: {} x {} DEM, LS {}",
        dem.grid().cols,
        dem.grid().rows,
        algorithm.name()
    ));
    let t = gep_models::terrain::terrain(&dem, &algorithm, s.routing_memory_bytes).map_err(
        |e| match e {
            e @ gep_models::ModelError::OverMemoryBudget { .. } => crate::EngineError::Context {
                what: "[models.soil_retention] routing_memory_gib (GiB, default 8) is too small"
                    .into(),
                inner: Box::new(e.into()),
            },
            // The DEM was brought onto the land-cover grid: that grid is what to reproject.
            gep_models::ModelError::GeographicGrid { layer, crs } => crate::EngineError::input(format!(
                "[models.soil_retention] computes LS on the land-cover grid, onto which the DEM input {layer:?} is brought, and that grid is geographic ({crs}): slope and LS need a projected grid in metres; reproject the land cover (e.g. `gdalwarp -t_srs EPSG:4549 -r near`) or give an LS raster with ls_algorithm = \"supplied\""
            )),
            e => e.into(),
        },
    )?;
    let all = t.ls.clone().with_info(LayerInfo::new("ls", "1"));
    let ls = match s.stream_threshold {
        None => t.ls,
        Some(th) => {
            let cells: Vec<Option<f64>> =
                t.ls.cells()
                    .iter()
                    .zip(t.flow_accumulation.cells())
                    .map(|(ls, fa)| match fa {
                        // Streams carry no erosion (InVEST SDR): zero, not "no data".
                        Some(fa) if *fa > th => ls.map(|_| 0.0),
                        _ => *ls,
                    })
                    .collect();
            ValueGrid::new(t.ls.grid().clone(), t.ls.info().clone(), cells)?
        }
    };
    Ok((all, ls.with_info(LayerInfo::new("ls_off_streams", "1"))))
}

/// The formula of an area-based service, for the manifest.
fn area_formula(model: &str) -> &'static str {
    match model {
        "flood_regulation" => "reservoirs: reservoir_share × total capacity; other types: storage_depth × area; m3/a × reservoir_cost",
        "water_purification" | "air_purification" => "removal = Σ rate × area, capped at the county's release (capped amount allocated by uncapped removal); t/a × price",
        _ => "N = Q·A·H·(525600 min/a)/L ions/a × price per 10^18 ions",
    }
}

/// Reads the reservoirs, discharge and emission tables of the area-based services.
fn read_area_tables(plan: &AreaPlan) -> Result<crate::services::AreaServices> {
    use gep_models::area_services::{read_emissions, read_reservoirs, Medium};
    let text = |p: &Path, what: &str| -> Result<String> {
        std::fs::read_to_string(p)
            .with_context(|| format!("cannot read the {what} table {}", p.display()))
    };
    let reservoirs = match plan.flood.as_ref().and_then(|r| r.as_ref()) {
        None => None,
        Some(p) => Some(read_reservoirs(
            &text(p, "[models.flood_regulation] reservoirs")?,
            &p.display().to_string(),
        )?),
    };
    let water = match &plan.water_purification {
        None => None,
        Some(p) => Some(read_emissions(
            &text(p, "[models.water_purification] discharges")?,
            &p.display().to_string(),
            Medium::Water,
        )?),
    };
    let air = match &plan.air_purification {
        None => None,
        Some(p) => Some(read_emissions(
            &text(p, "[models.air_purification] emissions")?,
            &p.display().to_string(),
            Medium::Air,
        )?),
    };
    Ok(crate::services::AreaServices {
        flood: plan.flood.is_some(),
        reservoirs,
        water,
        air,
        negative_air_ions: plan.negative_air_ions,
    })
}

/// A model's refusal of a value of the parameter table `path`, naming the file.
fn in_table(path: &Path, e: gep_models::ModelError) -> crate::EngineError {
    crate::EngineError::Context {
        what: path.display().to_string(),
        inner: Box::new(e.into()),
    }
}

/// Reads a class-keyed parameter table.
fn read_table(
    path: &Path,
    columns: &[&str],
    required: &[&str],
) -> Result<gep_models::class_table::ClassRows> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read parameter table {}", path.display()))?;
    Ok(gep_models::class_table::read_class_table(
        &text,
        &path.display().to_string(),
        columns,
        required,
    )?)
}
