//! What an assessment returns: zones, extent, checks, accounts and totals, with the units that
//! failed and the warnings as data.

use gep_core::account::Accounts;
use gep_core::coefficients::{CoefficientSet, ValuationParams};
use gep_core::crosswalk::Crosswalk;
use gep_core::{AreaBasis, ExtentTable, Level, Zone};
use gep_zonal::CheckRow;
use std::fmt;

/// The valuation inputs: a coefficient set, its crosswalk from the raster's classes, the
/// parameters (D, target price year, deflator) and the accounting year.
#[derive(Debug, Clone)]
pub struct Valuation {
    /// The coefficient set.
    pub set: CoefficientSet,
    /// The crosswalk (absent for class-keyed stock sets such as InVEST carbon tables).
    pub crosswalk: Option<Crosswalk>,
    /// D, target price year, deflator.
    pub params: ValuationParams,
    /// The accounting year carried into every account row.
    pub year: i32,
    /// Top-level zones (ids) whose boundary reaches into the sea: their water is said in a
    /// [`Warning::CoastalWater`] (sea cells classed as water are valued as inland water).
    pub coastal_zones: Vec<String>,
}

impl Valuation {
    /// A set and crosswalk by built-in id or file path, with default parameters.
    ///
    /// # Errors
    /// When a set or crosswalk cannot be loaded, or an ecosystem-type set has no crosswalk.
    pub fn load(
        set: &str,
        crosswalk: Option<&str>,
        year: i32,
    ) -> Result<Valuation, crate::EngineError> {
        let v = Valuation {
            set: CoefficientSet::load(set)?,
            crosswalk: crosswalk.map(Crosswalk::load).transpose()?,
            params: ValuationParams::default(),
            year,
            coastal_zones: Vec::new(),
        };
        v.check()?;
        Ok(v)
    }

    /// Checks that the set can value every class the crosswalk maps.
    ///
    /// # Errors
    /// An ecosystem-type set without a crosswalk; type × service pairs without a value.
    pub fn check(&self) -> Result<(), crate::EngineError> {
        use gep_core::coefficients::SetKey;
        if self.crosswalk.is_none() && self.set.key == SetKey::EcosystemType {
            return Err(crate::EngineError::plan(format!(
                "coefficient set {:?} is keyed by ecosystem type and needs a crosswalk from the raster's classes (see `gep crosswalks list`)",
                self.set.id
            )));
        }
        if let (Some(cw), SetKey::Class) = (&self.crosswalk, self.set.key) {
            return Err(crate::EngineError::plan(format!(
                "coefficient set {:?} ({}) is keyed by land-cover codes of its own scheme, not by ecosystem type, so crosswalk {:?} ({}) would be ignored: its table must be keyed by your raster's codes. Drop the crosswalk if the raster uses the table's codes; otherwise the table is keyed by another scheme's codes (e.g. InVEST's Willamette lucodes on a CLCD raster) and its values would land on the wrong classes: write a table keyed by the raster's codes",
                self.set.id,
                self.set.origin,
                cw.id,
                cw.scheme
            )));
        }
        if let Some(cw) = &self.crosswalk {
            let gaps = gep_core::account::check_coverage(cw, &self.set);
            if !gaps.is_empty() {
                let list: Vec<String> = gaps
                    .iter()
                    .take(12)
                    .map(|g| {
                        format!(
                            "{} × {} (classes {:?})",
                            g.ecosystem_type, g.service, g.classes
                        )
                    })
                    .collect();
                return Err(crate::EngineError::plan(format!(
                    "coefficient set {} has no value and no NA for {} ecosystem type × service pair(s) reachable through crosswalk {}: {}{}; {}",
                    self.set.id,
                    gaps.len(),
                    cw.id,
                    list.join(", "),
                    if gaps.len() > 12 { ", ..." } else { "" },
                    gaps[0].fix
                )));
            }
        }
        Ok(())
    }

    /// The price year of the values: the target year when prices are restated, else a D
    /// override's own year (`d_price_year`), else the set's.
    pub fn price_year(&self) -> Option<i32> {
        self.params.price_year(&self.set)
    }

    /// What the totals of this valuation are: GEP or ESV, partial or not, price year.
    pub fn label(&self) -> gep_core::TotalLabel {
        gep_core::TotalLabel::new(&self.set, &self.params)
    }
}

/// The totals over the top-level zones (counties) that were computed.
///
/// # Units
/// 元 per year at [`Totals::price_year`].
#[derive(Debug, Clone, PartialEq)]
pub struct Totals {
    /// The headline total: GEP (material + regulating + cultural), or for an ESV
    /// ([`Totals::label`]) the equivalent-factor total, supporting services included.
    pub gep_yuan: f64,
    /// Material products (物质产品).
    pub material_yuan: f64,
    /// Regulating services (调节服务).
    pub regulating_yuan: f64,
    /// Cultural services (文化服务).
    pub cultural_yuan: f64,
    /// The price year of every value (`None` for stock sets, which have no price).
    pub price_year: Option<i32>,
    /// D, 元/ha/a at the price year, for equivalent-factor sets (the override when given).
    pub equivalent_value: Option<f64>,
    /// How the values were made: the coefficient set's kind and id@version.
    pub method: String,
    /// Top-level zones summed.
    pub zones: usize,
    /// What the total is: GEP or ESV, partial (the missing services named), price year.
    pub label: gep_core::TotalLabel,
    /// Supporting services (ESV only: nutrient cycling, biodiversity), shown apart.
    pub supporting_yuan: f64,
    /// Final services only: material + regulating + cultural (what GEP counts).
    pub final_yuan: f64,
    /// How much of the total rests on example, derived or unverified coefficients.
    pub basis: gep_core::ValueBasis,
}

impl Totals {
    /// The totals and their label as the report and the manifest show them.
    pub fn info(&self) -> gep_report::TotalsInfo {
        gep_report::TotalsInfo {
            label: self.label.clone(),
            label_text: self.label.text_en(),
            total_yuan: self.gep_yuan,
            final_yuan: self.final_yuan,
            supporting_yuan: self.supporting_yuan,
            basis: self.basis,
            flagged_share: self.basis.flagged_share(),
        }
    }
}

/// Why one unit of work (a county and everything below it) could not be computed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FailureReason {
    /// A feature of one of its layers cannot be used (bad geometry, missing id, ...).
    BadFeature {
        /// The feature's level.
        level: Level,
        /// The feature's id.
        id: String,
        /// What is wrong with it, naming the file and FID, and the fix.
        message: String,
    },
    /// A zone whose parent cannot be found.
    Orphan {
        /// The zone.
        id: String,
        /// The parent it names, if any.
        parent: Option<String>,
        /// The full message.
        message: String,
    },
    /// Its boundary has no points.
    EmptyBoundary,
    /// Its boundary lies entirely outside the raster (in the raster's CRS).
    OffRaster {
        /// The boundary's box: min x, max x, min y, max y.
        boundary: [f64; 4],
        /// The raster's box: left, right, bottom, top.
        raster: [f64; 4],
    },
    /// Land-cover classes in it that the crosswalk does not map.
    UnmappedClasses {
        /// The crosswalk.
        crosswalk: String,
        /// Each class and its area, m².
        classes: Vec<(i32, f64)>,
        /// How to fix it.
        fix: String,
    },
    /// More reasons than listed.
    More(usize),
}

impl FailureReason {
    /// The classes of `classes` that crosswalk `cw` does not map, as a reason, if any.
    pub fn unmapped(
        classes: &std::collections::BTreeMap<gep_core::ClassCode, gep_core::ExactArea>,
        cw: &Crosswalk,
    ) -> Option<FailureReason> {
        let unmapped = gep_core::account::check_mapping(classes, cw);
        let fix = unmapped.first()?.fix.clone();
        Some(FailureReason::UnmappedClasses {
            crosswalk: cw.id.clone(),
            classes: unmapped.iter().map(|c| (c.class, c.area_m2)).collect(),
            fix,
        })
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureReason::BadFeature { level, id, message } => write!(f, "{level} {id}: {message}"),
            FailureReason::Orphan { message, .. } => f.write_str(message),
            FailureReason::EmptyBoundary => f.write_str("has an empty boundary"),
            FailureReason::OffRaster { boundary: b, raster: r } => write!(
                f,
                "lies entirely outside the land-cover raster (boundary x {:.6}..{:.6}, y {:.6}..{:.6}; raster x {:.6}..{:.6}, y {:.6}..{:.6} in the raster's CRS): use a raster that covers it or leave it out of the run",
                b[0], b[1], b[2], b[3], r[0], r[1], r[2], r[3]
            ),
            FailureReason::UnmappedClasses { crosswalk, classes, fix } => {
                let list: Vec<String> = classes
                    .iter()
                    .map(|(c, a)| format!("class {c} ({a:.1} m²)"))
                    .collect();
                write!(f, "land-cover classes not in crosswalk {crosswalk}: {}; {fix}", list.join(", "))
            }
            FailureReason::More(n) => write!(f, "… and {n} more"),
        }
    }
}

/// A unit of work (county) that failed, with its reasons; it is absent from the results.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitFailure {
    /// The unit's id (its top-level zone's).
    pub unit_id: String,
    /// Its name (empty when its own feature could not be read).
    pub name: String,
    /// Its level.
    pub level: Level,
    /// Why.
    pub reasons: Vec<FailureReason>,
}

impl UnitFailure {
    /// The reasons as one line.
    pub fn reason_text(&self) -> String {
        let unit = format!("{} {}", self.level, self.unit_id);
        self.reasons
            .iter()
            .map(|r| match r {
                // Unit-level reasons name the unit; feature-level ones name their feature.
                FailureReason::OffRaster { .. } | FailureReason::EmptyBoundary => {
                    format!("{unit} ({}) {r}", self.name)
                }
                _ => r.to_string(),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Something the user should know about results that were computed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Warning {
    /// A remark of a boundary reader (an encoding detected, ...).
    Layer {
        /// The message, naming the file.
        message: String,
    },
    /// A top-level zone partly beyond the raster or over nodata: valued on the rest only.
    PartialCoverage {
        /// The zone.
        zone_id: String,
        /// Its name.
        name: String,
        /// Its level.
        level: Level,
        /// Share of its area not covered, in percent.
        missing_percent: f64,
        /// Area beyond the raster, m².
        outside_m2: f64,
        /// Area over nodata cells, m².
        nodata_m2: f64,
    },
    /// Check rows beyond the tolerances (see `docs/config.md`).
    Checks {
        /// `sum`, `gap`, `overlap` or `spill`.
        kind: String,
        /// How many rows.
        rows: usize,
        /// The largest |residual|, m².
        worst_m2: f64,
        /// The parent of the worst row.
        parent: String,
    },
    /// Top-level zones claiming the same ground (counted twice in the totals).
    TopLevelOverlap {
        /// Each pair and its overlap, m².
        pairs: Vec<(Vec<String>, f64)>,
    },
    /// The tally of a county could not be cached for `--resume` (the run goes on).
    Cache {
        /// Why (the cache's error, naming the file).
        message: String,
    },
    /// A remark about a continuous input (partial coverage of the land-cover grid, ...).
    Input {
        /// The message, naming the input and its file.
        message: String,
    },
    /// A remark of the statistics allocation (a county without statistics, a zero key, ...).
    Statistics(gep_core::statistics::StatisticsWarning),
    /// Values of different price years are summed in the totals (e.g. yearbook figures at
    /// current prices beside a coefficient set at 2010 prices).
    MixedPriceYears {
        /// The price year of the totals.
        totals: Option<i32>,
        /// Other price years found, with the services at each.
        others: Vec<(i32, Vec<String>)>,
    },
    /// The crosswalk's codes do not match the raster's classes (e.g. CLCD codes on a MODIS
    /// raster): most of the raster unmapped, or most of the crosswalk's codes absent, or a
    /// built-in crosswalk maps every class where this one does not.
    CrosswalkMismatch {
        /// The crosswalk given.
        crosswalk: String,
        /// Share of the area in classes it does not map, percent.
        unmapped_area_percent: f64,
        /// Those classes.
        unmapped_classes: Vec<i32>,
        /// Distinct classes in the raster (within the zones).
        classes: usize,
        /// Share of its codes absent from the raster, percent.
        absent_codes_percent: f64,
        /// A built-in crosswalk that maps every class, when there is one.
        better: Option<String>,
    },
    /// A table keyed by land-cover codes (InVEST carbon pools) whose codes are mostly absent
    /// from the raster, while the raster's classes are all codes of a built-in scheme.
    ForeignClassKeys {
        /// The table.
        set: String,
        /// Its codes absent from the raster.
        absent_codes: usize,
        /// Its codes.
        codes: usize,
        /// The raster's classes (within the zones).
        raster_classes: Vec<i32>,
        /// The built-in crosswalk (and scheme) whose codes the raster's classes are.
        likely_scheme: String,
    },
    /// Water in a top-level zone declared coastal: sea cells classed as water are valued as
    /// inland water.
    CoastalWater {
        /// The zone.
        zone_id: String,
        /// Its name.
        name: String,
        /// Area of ecosystem type `water` in it, m².
        water_m2: f64,
        /// Share of its covered area, percent.
        share_percent: f64,
        /// Value of that water, 元/a.
        value_yuan: Option<f64>,
    },
    /// Zones of a level smaller than one raster cell.
    SmallZones {
        /// The level.
        level: Level,
        /// Zones smaller than a cell.
        small: usize,
        /// Zones of the level.
        zones: usize,
        /// Their share of the level's area, percent.
        area_percent: f64,
        /// The area of a cell (at the raster's middle row), m².
        cell_m2: f64,
    },
    /// A continuous layer without data over 1 % or more of the land the top-level zones cover.
    LayerGap {
        /// The layer's name.
        layer: String,
        /// Share of the covered land without its data, percent.
        percent: f64,
        /// That land, ha.
        missing_ha: f64,
    },
    /// The models' values replace a coefficient set's per-area rows of a service.
    ModelsReplaceSet {
        /// The service.
        service: String,
        /// The set's rows replaced.
        rows: usize,
        /// The coefficient set.
        coefficient_set: String,
        /// The models' parameter set, `id@version`.
        parameter_set: String,
    },
    /// The accounts hold values of several price years (with the models' values).
    AccountPriceYears {
        /// The price years.
        years: Vec<i32>,
    },
    /// The models' parameter set is an example set.
    ExampleParameters {
        /// The set, `id@version`.
        set: String,
    },
    /// A D override without `d_price_year`: assumed at the set's price year.
    EquivalentValueYearAssumed {
        /// The override, 元/ha/a.
        d: f64,
        /// The year assumed (the set's).
        year: Option<i32>,
    },
}

/// `x` with `decimals` decimals, never "-0.0".
pub fn fmt_fixed(x: f64, decimals: usize) -> String {
    let s = format!("{x:.decimals$}");
    match s.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => s,
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::Layer { message } | Warning::Input { message } => f.write_str(message),
            Warning::Cache { message } => write!(
                f,
                "{message} (the run goes on; --resume will tally this county again)"
            ),
            Warning::Statistics(w) => write!(f, "statistics: {w}"),
            Warning::MixedPriceYears { totals, others } => {
                let list: Vec<String> = others
                    .iter()
                    .map(|(y, s)| format!("{y} ({})", s.join(", ")))
                    .collect();
                write!(
                    f,
                    "totals: values at other price years than the totals' ({}) are summed with them: {}; restate them (a deflator and target_price_year for the set, or the statistics at the set's price year)",
                    totals.map_or("none".to_string(), |y| y.to_string()),
                    list.join("; ")
                )
            }
            Warning::PartialCoverage { zone_id, name, level, missing_percent, outside_m2, nodata_m2 } => write!(
                f,
                "{level} {zone_id} {name}: {missing_percent:.3} % of its area is beyond the raster ({outside_m2:.1} m²) or over nodata cells ({nodata_m2:.1} m²); its extent and GEP cover only the rest — use a raster that covers it"
            ),
            Warning::Checks { kind, rows, worst_m2, parent } => {
                let what = match kind.as_str() {
                    "sum" => "parent × class rows where the children do not add up to the parent",
                    "gap" => "gap rows (parent area no child covers)",
                    "overlap" => "overlap rows (area two children both claim)",
                    _ => "spill rows (child area outside its parent)",
                };
                write!(f, "checks: {rows} {what}; largest {worst_m2:.3} m² under {parent}; see checks.csv and fix the boundary data")
            }
            Warning::CrosswalkMismatch { crosswalk, unmapped_area_percent, unmapped_classes, classes, absent_codes_percent, better } => {
                write!(
                    f,
                    "crosswalk {crosswalk} does not fit the raster's classes: {} of its {classes} classes ({} % of the area) are not mapped ({}), and {} % of the crosswalk's codes do not occur in it; is the crosswalk for another land-cover product?",
                    unmapped_classes.len(),
                    fmt_fixed(*unmapped_area_percent, 1),
                    unmapped_classes.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(", "),
                    fmt_fixed(*absent_codes_percent, 1)
                )?;
                match better {
                    Some(b) => write!(f, " built-in crosswalk {b} maps every class: try crosswalk = \"{b}\""),
                    None => f.write_str(" check the raster's legend and use the crosswalk of its product"),
                }
            }
            Warning::ForeignClassKeys { set, absent_codes, codes, raster_classes, likely_scheme } => write!(
                f,
                "table {set} is keyed by land-cover codes, but {absent_codes} of its {codes} codes do not occur in the raster, whose classes ({}) are all codes of {likely_scheme}: the table is likely keyed by another scheme's codes, and its values land on the wrong classes; use a table keyed by the raster's scheme",
                raster_classes.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(", ")
            ),
            Warning::CoastalWater { zone_id, name, water_m2, share_percent, value_yuan } => write!(
                f,
                "{zone_id} {name} is declared coastal: its {} km² of water ({share_percent:.1} % of its land cover{}) may include sea cells valued as inland water; mask the sea (nodata) or map it to a type the set does not value",
                fmt_fixed(water_m2 / 1e6, 1),
                value_yuan.map(|v| format!(", {} 亿元", fmt_fixed(v / 1e8, 2))).unwrap_or_default()
            ),
            Warning::SmallZones { level, small, zones, area_percent, cell_m2 } => write!(
                f,
                "{small} of {zones} {level} zones ({:.1} %, {area_percent:.1} % of the {level} area) are smaller than one raster cell ({} km²): their land cover is that of the few cells they touch, so their values say little; use a finer raster for this level",
                100.0 * *small as f64 / (*zones).max(1) as f64,
                fmt_fixed(cell_m2 / 1e6, 3)
            ),
            Warning::LayerGap { layer, percent, missing_ha } => write!(
                f,
                "layer {layer:?} has no data over {percent:.2} % of the land covered by the zones ({missing_ha:.1} ha): those cells count as area without data (area_without_data_m2 in quantities.csv and layer_sums.csv), not as zero; check the input's extent and nodata"
            ),
            Warning::ModelsReplaceSet { service, rows, coefficient_set, parameter_set } => write!(
                f,
                "{service}: the {rows} per-area row(s) of coefficient set {coefficient_set} are replaced by the value of the models' quantities (parameter set {parameter_set})"
            ),
            Warning::AccountPriceYears { years } => write!(
                f,
                "accounts.csv adds values of different price years ({}): GEP mixes them; set [valuation] target_price_year and deflator to restate every price in one year",
                years.iter().map(i32::to_string).collect::<Vec<_>>().join(", ")
            ),
            Warning::ExampleParameters { set } => write!(
                f,
                "parameter set {set} is an EXAMPLE set: the regulating services' values are illustrations, not an official account"
            ),
            Warning::EquivalentValueYearAssumed { d, year } => write!(
                f,
                "d = {d} is taken to be at the coefficient set's price year {} (no d_price_year given), and the totals carry that year; add d_price_year = <the year of D's prices>",
                year.map(|y| y.to_string()).unwrap_or_else(|| "?".into())
            ),
            Warning::TopLevelOverlap { pairs } => {
                let total: f64 = pairs.iter().map(|p| p.1).sum();
                let list: Vec<String> = pairs
                    .iter()
                    .map(|(pair, a)| format!("{} ({} m²)", pair.join(" × "), fmt_fixed(*a, 1)))
                    .collect();
                write!(
                    f,
                    "checks: top-level zones overlap — {} m² claimed by two zones, counted twice in the totals: {}; see the overlap rows with an empty parent_id in checks.csv and fix the boundary data (a zone loaded twice, or two boundaries claiming the same ground)",
                    fmt_fixed(total, 1),
                    list.join(", ")
                )
            }
        }
    }
}

/// The result of an assessment.
#[derive(Debug, Clone)]
pub struct Assessment {
    /// The zones computed (units in order, each county first, then its townships and
    /// villages), in the raster's CRS, parents resolved.
    pub zones: Vec<Zone>,
    /// Zone × class areas, labelled with the zones' ids.
    pub extent: ExtentTable,
    /// Conservation checks (sum rows, gaps, overlaps, spills; top-level overlaps last).
    pub checks: Vec<CheckRow>,
    /// The accounts, when valued.
    pub accounts: Option<Accounts>,
    /// Totals over the top-level zones, when valued.
    pub totals: Option<Totals>,
    /// Units that failed, absent from everything above.
    pub failures: Vec<UnitFailure>,
    /// Units attempted, failed ones included.
    pub units_total: usize,
    /// Warnings about the results.
    pub warnings: Vec<Warning>,
    /// How cell areas were computed.
    pub area_basis: AreaBasis,
    /// Weighted sums of continuous inputs and the models' physical quantities, when the run
    /// has models.
    pub physical: Option<crate::Physical>,
    /// The crosswalk the run valued through, when it has one: it names the ecosystem types of
    /// `extent.csv`'s classes and gives `extent_types.csv`.
    pub crosswalk: Option<Crosswalk>,
}

impl Assessment {
    /// Totals over the top-level zones of `accounts`, in zone order (reproducible).
    pub fn totals_of(zones: &[Zone], accounts: &Accounts, valuation: &Valuation) -> Totals {
        let roots: Vec<&gep_core::account::GepRow> = accounts
            .gep
            .iter()
            .zip(zones)
            .filter(|(_, z)| z.parent.is_none())
            .map(|(g, _)| g)
            .collect();
        let sum =
            |f: fn(&gep_core::account::GepRow) -> f64| roots.iter().map(|g| f(g)).sum::<f64>();
        let stock = valuation.set.kind == gep_core::coefficients::SetKind::Stock;
        let root_ids: std::collections::HashSet<&str> =
            roots.iter().map(|g| g.zone_id.as_str()).collect();
        let basis = gep_core::ValueBasis::of_rows(
            accounts
                .rows
                .iter()
                .filter(|r| root_ids.contains(&*r.zone_id)),
        );
        let final_yuan = sum(|g| g.final_yuan());
        // Services valued by other rows than the set's (county statistics, the models) are
        // not missing; nor is a service valued through its parts (`soil_retention_nitrogen`,
        // `air_purification_so2`... for `soil_retention`, `air_purification`).
        let mut label = valuation.label();
        let valued: std::collections::HashSet<&str> = accounts
            .rows
            .iter()
            .filter(|r| r.value_yuan.is_some())
            .map(|r| &*r.service)
            .collect();
        label.missing_services.retain(|s| {
            !valued.contains(s.as_str())
                && !valued.iter().any(|v| {
                    v.strip_prefix(s.as_str())
                        .is_some_and(|rest| rest.starts_with('_'))
                })
        });
        Totals {
            label,
            supporting_yuan: sum(|g| g.supporting_yuan),
            final_yuan,
            basis,
            gep_yuan: sum(|g| g.gep_yuan),
            material_yuan: sum(|g| g.material_yuan),
            regulating_yuan: sum(|g| g.regulating_yuan),
            cultural_yuan: sum(|g| g.cultural_yuan),
            price_year: if stock { None } else { valuation.price_year() },
            equivalent_value: valuation
                .params
                .equivalent_value
                .or(valuation.set.equivalent_value),
            method: format!("{:?} set {}", valuation.set.kind, accounts.coefficient_set),
            zones: roots.len(),
        }
    }
}
