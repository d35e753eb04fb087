//! The inputs of the report writers: plain data the caller fills from its accounts, so that
//! `gep-report` depends on nothing but `gep-core`'s vocabulary (levels, categories).

use geo_types::MultiPolygon;
use gep_core::{Category, Level};
use serde::{Deserialize, Serialize};

/// One zone with its totals, as drawn on the maps and listed in the tables.
#[derive(Debug, Clone)]
pub struct ReportZone {
    /// Administrative code or other id, as text (leading zeros kept).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Level in the hierarchy.
    pub level: Level,
    /// Parent zone id, `None` for the top level.
    pub parent: Option<String>,
    /// Boundary, in lon/lat (degrees) or any planar CRS; only used for drawing.
    pub geometry: MultiPolygon<f64>,
    /// Area of the zone, ha.
    pub area_ha: f64,
    /// Gross ecosystem product, 元/a; `None` when it could not be computed.
    pub gep_yuan: Option<f64>,
    /// Material products (物质产品), 元/a.
    pub material_yuan: Option<f64>,
    /// Regulating services (调节服务), 元/a.
    pub regulating_yuan: Option<f64>,
    /// Cultural services (文化服务), 元/a.
    pub cultural_yuan: Option<f64>,
    /// Supporting services (支持服务; ESV only: in `gep_yuan` when the run's label includes
    /// them), 元/a.
    pub supporting_yuan: Option<f64>,
}

impl ReportZone {
    /// GEP per hectare.
    ///
    /// # Units
    /// 元/ha/a; `None` when GEP is unknown or the area is not positive.
    pub fn gep_per_ha(&self) -> Option<f64> {
        match self.gep_yuan {
            Some(g) if self.area_ha > 0.0 => Some(g / self.area_ha),
            _ => None,
        }
    }
}

/// Where a zone lies: its name and the ids and names of the county and township it belongs
/// to, as the tables print them after their other columns.
///
/// A county's `county_*` are its own, a township's `township_*` its own; a zone with no
/// ancestor of a level (a village directly under its county, a run without counties) has
/// empty fields for that level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZoneContext {
    /// The zone's own name.
    pub name: String,
    /// The county's id.
    pub county_id: String,
    /// The county's name.
    pub county_name: String,
    /// The township's id.
    pub township_id: String,
    /// The township's name.
    pub township_name: String,
}

/// [`ZoneContext`]s by zone id, built once from the zones of a run (parents resolved).
#[derive(Debug, Clone, Default)]
pub struct ZoneDirectory {
    by_id: std::collections::HashMap<String, ZoneContext>,
}

/// The context of a zone that is not in the directory: all fields empty.
static NO_CONTEXT: ZoneContext = ZoneContext {
    name: String::new(),
    county_id: String::new(),
    county_name: String::new(),
    township_id: String::new(),
    township_name: String::new(),
};

impl ZoneDirectory {
    /// The directory of zones given as (id, name, level, parent id). Ancestors are followed
    /// through the parent ids (a cycle or a missing parent ends the walk).
    pub fn new<'a>(
        zones: impl IntoIterator<Item = (&'a str, &'a str, Level, Option<&'a str>)>,
    ) -> ZoneDirectory {
        let zones: Vec<_> = zones.into_iter().collect();
        let index: std::collections::HashMap<&str, usize> =
            zones.iter().enumerate().map(|(i, z)| (z.0, i)).collect();
        let mut by_id = std::collections::HashMap::with_capacity(zones.len());
        for &(id, name, level, parent) in &zones {
            let mut c = ZoneContext {
                name: name.to_string(),
                ..Default::default()
            };
            let mut at = Some((id, name, level, parent));
            // At most one step per level (a cycle in the parents cannot loop).
            for _ in 0..Level::ALL.len() {
                let Some((zid, zname, zlevel, zparent)) = at else {
                    break;
                };
                match zlevel {
                    Level::County if c.county_id.is_empty() => {
                        c.county_id = zid.to_string();
                        c.county_name = zname.to_string();
                    }
                    Level::Township if c.township_id.is_empty() => {
                        c.township_id = zid.to_string();
                        c.township_name = zname.to_string();
                    }
                    _ => {}
                }
                at = zparent.and_then(|p| index.get(p)).map(|&i| zones[i]);
            }
            by_id.insert(id.to_string(), c);
        }
        ZoneDirectory { by_id }
    }

    /// The directory of `zones`.
    pub fn of_zones(zones: &[gep_core::Zone]) -> ZoneDirectory {
        ZoneDirectory::new(
            zones
                .iter()
                .map(|z| (z.id.as_str(), z.name.as_str(), z.level, z.parent.as_deref())),
        )
    }

    /// The context of `zone_id` (all fields empty when it is not in the directory).
    pub fn get(&self, zone_id: &str) -> &ZoneContext {
        self.by_id.get(zone_id).unwrap_or(&NO_CONTEXT)
    }
}

/// One zone × service total (summed over ecosystem types).
#[derive(Debug, Clone)]
pub struct ServiceTotal {
    /// The zone (text id).
    pub zone_id: String,
    /// Service code, e.g. `water_conservation`.
    pub service: String,
    /// Chinese name of the service.
    pub service_zh: String,
    /// English name of the service.
    pub service_en: String,
    /// Category of the service.
    pub category: Category,
    /// Value, 元/a; `None` for stocks or services without a price.
    pub value_yuan: Option<f64>,
    /// Physical quantity, in `quantity_unit`; `None` for per-area (equivalent-factor) sets.
    pub quantity: Option<f64>,
    /// Unit of `quantity` (e.g. `m3`, `t C`), empty when there is none.
    pub quantity_unit: String,
}

/// A zone's (value 元/a, quantity) of one service; `None` where no row gave one.
pub type ValueQuantity = (Option<f64>, Option<f64>);

/// Zone × service totals pivoted wide: one column per service (in the standard's order,
/// [`gep_core::catalog::Catalog::service_order`]),
/// one row of (value, quantity) per zone; several rows of one zone and service add up.
#[derive(Debug, Clone)]
pub struct ServicePivot<'a> {
    /// The columns: the first row of each service (for its code, names and quantity unit).
    pub columns: Vec<&'a ServiceTotal>,
    /// Per zone id: (value 元/a, quantity) per column; `None` where no row gave one.
    pub cells: std::collections::HashMap<&'a str, Vec<ValueQuantity>>,
}

impl<'a> ServicePivot<'a> {
    /// Pivots `services`.
    pub fn new(services: &'a [ServiceTotal]) -> ServicePivot<'a> {
        let mut columns: Vec<&ServiceTotal> = Vec::new();
        let mut seen: std::collections::HashSet<&str> = Default::default();
        for s in services {
            if seen.insert(&s.service) {
                columns.push(s);
            }
        }
        // The standard's order, whatever the order of `services` (stable for unknown codes).
        let cat = gep_core::catalog::Catalog::builtin();
        columns.sort_by(|a, b| {
            cat.service_order(&a.service)
                .cmp(&cat.service_order(&b.service))
        });
        let col_of: std::collections::HashMap<&str, usize> = columns
            .iter()
            .enumerate()
            .map(|(i, s)| (s.service.as_str(), i))
            .collect();
        let add = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        let mut cells: std::collections::HashMap<&str, Vec<ValueQuantity>> = Default::default();
        for s in services {
            let row = cells
                .entry(&s.zone_id)
                .or_insert_with(|| vec![(None, None); columns.len()]);
            let cell = &mut row[col_of[s.service.as_str()]];
            *cell = (add(cell.0, s.value_yuan), add(cell.1, s.quantity));
        }
        ServicePivot { columns, cells }
    }

    /// The row of `zone_id` (all `None` when it has no service rows).
    pub fn row(&self, zone_id: &str) -> Vec<ValueQuantity> {
        self.cells
            .get(zone_id)
            .cloned()
            .unwrap_or_else(|| vec![(None, None); self.columns.len()])
    }
}

/// One row of the conservation checks (parent vs Σ children).
#[derive(Debug, Clone)]
pub struct CheckSummary {
    /// The parent zone.
    pub parent_id: String,
    /// The children's level.
    pub level: Level,
    /// `sum`, `gap`, `overlap` or `spill`.
    pub kind: String,
    /// Land-cover class, `None` for rows over all classes.
    pub class: Option<i32>,
    /// parent − Σ children, m².
    pub residual_m2: f64,
    /// The parent's area (of the class), m².
    pub parent_area_m2: f64,
    /// The two zones of an overlap row (empty `parent_id`: two top-level zones); empty
    /// otherwise.
    pub children: Vec<String>,
}

/// An identified and hashed table (coefficient set, crosswalk).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdHash {
    /// Id as declared in the file (e.g. `xie2015-example`).
    pub id: String,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
}

/// One input file of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputFile {
    /// What the file is (`landcover`, `zones:village`, `coefficients`…).
    pub role: String,
    /// Path as given in the config (relative to the config file) or absolute.
    pub path: String,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub size_bytes: u64,
    /// CRS (e.g. `EPSG:4549`), when the file has one.
    pub crs: Option<String>,
    /// Cell size (x, y) in CRS units, for rasters.
    pub resolution: Option<[f64; 2]>,
}

/// How long one step took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Step name (`read`, `tally`, `valuation`, `write`…).
    pub step: String,
    /// Wall-clock duration, seconds.
    pub seconds: f64,
}

/// Everything about how a run was made, shown in the report and written to the manifest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// `gep` version (`CARGO_PKG_VERSION` of the binary).
    pub engine_version: String,
    /// Git commit of the engine, when known at build time.
    pub commit: Option<String>,
    /// The command line, one argument per element.
    pub command: Vec<String>,
    /// The config file's text, verbatim.
    pub config_text: String,
    /// The coefficient set used.
    pub coefficient_set: Option<IdHash>,
    /// The land-cover crosswalk used.
    pub crosswalk: Option<IdHash>,
    /// Every input file.
    pub inputs: Vec<InputFile>,
    /// Timings of the run's steps.
    pub timings: Vec<Timing>,
    /// Warnings raised during the run (English: the manifest's).
    pub warnings: Vec<String>,
    /// The same warnings in Chinese, item for item, shown by a zh report (empty, or of another
    /// length than `warnings`: `warnings` is shown).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings_zh: Vec<String>,
    /// `planar` or `ellipsoidal`: how cell areas were computed.
    pub area_basis: String,
    /// The accounting year.
    pub year: Option<i32>,
    /// Units of work (counties) the run set out to compute, failed ones included.
    #[serde(default)]
    pub units_total: usize,
    /// The units that failed, each with its reason: absent from the results.
    #[serde(default)]
    pub failures: Vec<FailedUnit>,
    /// The directory the run was started from (relative paths of its command line are
    /// relative to it).
    #[serde(default)]
    pub working_dir: Option<String>,
    /// The continuous inputs as read (resampling, warping, ranges) and the physical models
    /// with their parameters (LS algorithm...), when the run has models.
    pub models: Option<serde_json::Value>,
    /// What the totals are (GEP or ESV, partial or not, price year) and what they rest on;
    /// `None` when the run was not valued.
    #[serde(default)]
    pub totals: Option<TotalsInfo>,
}

impl RunInfo {
    /// The warnings in `lang`: the Chinese list when it is there item for item, else the
    /// English one.
    pub fn warnings_in(&self, lang: crate::Lang) -> &[String] {
        if lang == crate::Lang::Zh && self.warnings_zh.len() == self.warnings.len() {
            &self.warnings_zh
        } else {
            &self.warnings
        }
    }
}

impl FailedUnit {
    /// Why it failed, in `lang` when worded in it, else in English.
    pub fn reason_in(&self, lang: crate::Lang) -> &str {
        if lang == crate::Lang::Zh && !self.reason_zh.is_empty() {
            &self.reason_zh
        } else {
            &self.reason
        }
    }
}

/// The totals of a run over its top-level zones, with their label: shown in the report's
/// headline, the workbook and the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TotalsInfo {
    /// GEP or ESV, partial (missing services), price year.
    pub label: gep_core::TotalLabel,
    /// The label as one English line (`ESV (equivalent-factor estimate, ...), 2010 prices`).
    pub label_text: String,
    /// The headline total, 元/a (an ESV's includes its supporting services).
    pub total_yuan: f64,
    /// Final services only (material + regulating + cultural), 元/a: what GEP counts.
    pub final_yuan: f64,
    /// Supporting services, 元/a (ESV only; shown apart).
    pub supporting_yuan: f64,
    /// How much of the value rests on example, derived or unverified coefficients.
    pub basis: gep_core::ValueBasis,
    /// `basis`'s share of example, derived or unverified values, in [0, 1].
    pub flagged_share: f64,
}

/// A unit of work (county) that could not be computed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FailedUnit {
    /// Its id (administrative code).
    pub id: String,
    /// Its name, empty when its own feature could not be read.
    pub name: String,
    /// Its level (`county`, ...).
    pub level: String,
    /// Why it failed and how to fix it (English).
    pub reason: String,
    /// The same in Chinese, shown by a zh report (empty: `reason` is shown).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason_zh: String,
}

/// Everything the XLSX workbook and the HTML report show.
#[derive(Debug, Clone, Default)]
pub struct ReportInput {
    /// Title of the report (e.g. the region's name); a default is used when empty.
    pub title: String,
    /// All zones of all levels.
    pub zones: Vec<ReportZone>,
    /// Zone × service totals.
    pub services: Vec<ServiceTotal>,
    /// Conservation checks.
    pub checks: Vec<CheckSummary>,
    /// How the run was made.
    pub run: RunInfo,
    /// GEP of all top-level zones with each key parameter at its low and high value (empty
    /// when the run valued no model quantities with ranged parameters).
    pub sensitivity: Vec<SensitivityLine>,
    /// The CRS of the zones' geometry as drawn (degrees or metres: the maps' scale bar
    /// depends on it); `None` when unknown (then lon/lat is assumed when every coordinate lies
    /// within ±180°, ±90°).
    pub map_crs: Option<gep_core::grid::CrsInfo>,
    /// Zone × ecosystem type areas (through the crosswalk), zones in the order of `zones`,
    /// types in catalogue order; empty when the run has no crosswalk.
    pub extent_types: Vec<ExtentTypeLine>,
}

/// One zone × ecosystem type area of the ecosystem extent table.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtentTypeLine {
    /// The zone (text id).
    pub zone_id: String,
    /// Ecosystem type code.
    pub ecosystem_type: String,
    /// Its Chinese name.
    pub ecosystem_type_zh: String,
    /// Its English name.
    pub ecosystem_type_en: String,
    /// Area of the type in the zone, ha.
    pub area_ha: f64,
}

/// One line of the sensitivity table: a parameter moved to its low and high value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SensitivityLine {
    /// The service whose parameter moves.
    pub service: String,
    /// The parameter.
    pub parameter: String,
    /// Its unit.
    pub unit: String,
    /// Its value in the run.
    pub value: f64,
    /// Low end of its range.
    pub low: f64,
    /// High end.
    pub high: f64,
    /// GEP of the run, 元.
    pub gep_yuan: f64,
    /// GEP with the parameter at `low`, 元.
    pub gep_low_yuan: f64,
    /// GEP with the parameter at `high`, 元.
    pub gep_high_yuan: f64,
}

impl ReportInput {
    /// The zones of one level, in input order.
    pub fn level(&self, level: Level) -> impl Iterator<Item = &ReportZone> {
        self.zones.iter().filter(move |z| z.level == level)
    }

    /// The highest level present (county when counties are loaded).
    pub fn top_level(&self) -> Option<Level> {
        self.zones.iter().map(|z| z.level).min_by_key(|l| l.rank())
    }
}
