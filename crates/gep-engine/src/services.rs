//! The models' quantities valued into the accounts: one row per zone × ecosystem type ×
//! service with quantity (unit) → price (unit, price year, source) → value, added to
//! `accounts.csv` and counted in `gep.csv`; the services computed from class areas and
//! tables (flood regulation, capped purification, negative air ions:
//! [`gep_models::area_services`]); and the sensitivity of GEP to the key parameters.

use crate::{EngineError, Physical, Valuation};
use gep_core::account::{gep_rows, neumaier_sum, AccountRow, Accounts, Text};
use gep_core::parameters::{Bound, Lookup, ParameterSet};
use gep_core::{Catalog, Category, ClassCode, ExactArea, ExtentTable, Level, Zone};
use gep_models::area_services::{
    flood_regulation, negative_air_ions, purification, AreaContext, AreaZone, EmissionTable,
    ReservoirTable,
};
use gep_models::services::{value_services, CarbonAs, ServiceValue, ValuationContext};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// The parameters the sensitivity table moves to their low and high values (when the set
/// gives a range): the dominant services' (GEP-METHOD §2: climate regulation is half of a
/// mountain county's GEP).
pub const SENSITIVITY_PARAMETERS: &[(&str, &str)] = &[
    ("climate_regulation", "hot_days"),
    ("climate_regulation", "ac_efficiency"),
    ("climate_regulation", "electricity_price"),
    ("water_conservation", "reservoir_cost"),
    ("flood_regulation", "reservoir_cost"),
    ("carbon_sequestration", "carbon_price"),
    ("oxygen_release", "oxygen_price"),
    ("soil_retention_sediment", "bulk_density"),
];

/// The area-based services of a run and their tables (read by the plan).
#[derive(Debug, Clone, Default)]
pub struct AreaServices {
    /// `[models.flood_regulation]` is present.
    pub flood: bool,
    /// Its reservoirs table.
    pub reservoirs: Option<ReservoirTable>,
    /// `[models.water_purification]`'s discharges.
    pub water: Option<EmissionTable>,
    /// `[models.air_purification]`'s emissions.
    pub air: Option<EmissionTable>,
    /// `[models.negative_air_ions]` is present: the set must hold its parameters. Without
    /// it the service is computed when the set has its parameters, and skipped otherwise.
    pub negative_air_ions: bool,
}

/// One row of `sensitivity.csv`: GEP of a top-level zone (or `all` of them) with one
/// parameter at its low and at its high value, everything else as in the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SensitivityRow {
    /// Zone id, or `all` for the sum of the top-level zones.
    pub zone_id: String,
    /// Zone level (empty for `all`).
    pub zone_level: String,
    /// The service whose parameter moves.
    pub service: String,
    /// The parameter.
    pub parameter: String,
    /// Its unit.
    pub unit: String,
    /// Its value in the run (the row that applies to the zone; `*` row for `all`).
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
    /// (gep_low − gep) / gep × 100.
    pub change_low_percent: f64,
    /// (gep_high − gep) / gep × 100.
    pub change_high_percent: f64,
}

/// The county of each zone: its own id for a county, else the nearest county ancestor,
/// else the first six digits of its code (administrative codes nest).
fn counties(zones: &[Zone]) -> HashMap<String, String> {
    let by_id: HashMap<&str, &Zone> = zones.iter().map(|z| (z.id.as_str(), z)).collect();
    zones
        .iter()
        .map(|z| {
            let mut cur = z;
            let mut steps = 0;
            while cur.level != Level::County && steps < 8 {
                match cur.parent.as_deref().and_then(|p| by_id.get(p)) {
                    Some(p) => cur = p,
                    None => break,
                }
                steps += 1;
            }
            let c = if cur.level == Level::County {
                cur.id.clone()
            } else {
                z.id.chars().take(6).collect()
            };
            (z.id.clone(), c)
        })
        .collect()
}

/// What [`service_values`] values: the models' quantities, and the class areas of the
/// zones with the tables of the area-based services.
pub struct ServiceInputs<'a> {
    /// The models' quantities and weighted sums.
    pub physical: &'a Physical,
    /// Class areas by zone (the run's extent table).
    pub extent: &'a ExtentTable,
    /// The area-based services asked for.
    pub area: &'a AreaServices,
    /// Carbon reported as C or CO₂.
    pub carbon_as: Option<CarbonAs>,
}

/// The valued rows of every quantity that has a price, then of the area-based services
/// (flood regulation, purification, negative air ions).
///
/// # Errors
/// As [`value_services`] and [`gep_models::area_services`]: a missing parameter, a unit
/// mismatch, a table that does not fit the run.
pub fn service_values(
    zones: &[Zone],
    inputs: &ServiceInputs<'_>,
    set: &ParameterSet,
    valuation: &Valuation,
) -> Result<Vec<ServiceValue>, EngineError> {
    let county = counties(zones);
    let county_of = |z: &str| county.get(z).cloned();
    let cw = valuation.crosswalk.as_ref();
    let types_of = |c: ClassCode| -> Vec<(Option<String>, f64)> {
        match cw.and_then(|cw| cw.lookup(c)) {
            Some(t) => t.iter().map(|(t, s)| (Some(t.clone()), *s)).collect(),
            None => vec![(None, 1.0)],
        }
    };
    let mut values = value_services(
        &inputs.physical.quantities,
        &ValuationContext {
            parameters: set,
            county_of: &county_of,
            types_of: &types_of,
            carbon_as: inputs.carbon_as,
        },
    )?;
    let area_zones: Vec<AreaZone> = zones
        .iter()
        .filter_map(|z| {
            let t = inputs.extent.get(&z.id)?;
            Some(AreaZone {
                id: z.id.clone(),
                parent: z.parent.clone(),
                county: county.get(&z.id).cloned().unwrap_or_else(|| z.id.clone()),
                classes: t.classes.iter().map(|(c, a)| (*c, a.to_m2())).collect(),
            })
        })
        .collect();
    let ctx = AreaContext {
        parameters: set,
        zones: &area_zones,
        types_of: &types_of,
    };
    let a = inputs.area;
    if a.flood {
        values.extend(flood_regulation(&ctx, a.reservoirs.as_ref())?);
    }
    for t in [&a.water, &a.air].into_iter().flatten() {
        values.extend(purification(&ctx, t)?);
    }
    values.extend(negative_air_ions(&ctx, a.negative_air_ions)?);
    // Prices restated in the run's target price year, as the coefficient set's are.
    if let (Some(to), Some(d)) = (
        valuation.params.target_price_year,
        valuation.params.deflator.as_ref(),
    ) {
        for v in &mut values {
            if let Some(from) = v.price_year.filter(|y| *y != to) {
                let f = d.factor(from, to)?;
                v.price *= f;
                v.value_yuan *= f;
                v.price_year = Some(to);
                v.method.push_str(&format!(
                    "; price restated from {from} to {to} prices (deflator × {f})"
                ));
            }
        }
    }
    Ok(values)
}

/// Sums valued rows into account rows by zone × ecosystem type × service (classes of one
/// type add up; a type key is `class:N` without a crosswalk), in zone order, then the
/// catalogue's order of types and services. A unit price is kept when every class of the
/// row has the same (else blank, flagged `mixed_unit_values`).
pub fn account_rows(zones: &[Zone], values: &[ServiceValue], year: i32) -> Vec<AccountRow> {
    let cat = Catalog::builtin();
    let pos: HashMap<&str, usize> = zones
        .iter()
        .enumerate()
        .map(|(i, z)| (z.id.as_str(), i))
        .collect();
    type Key = (usize, usize, String, usize, &'static str);
    let mut groups: BTreeMap<Key, Vec<&ServiceValue>> = BTreeMap::new();
    for v in values {
        let Some(&zi) = pos.get(v.zone_id.as_str()) else {
            continue;
        };
        let ty = v
            .ecosystem_type
            .clone()
            .unwrap_or_else(|| format!("class:{}", v.class));
        let k = (
            zi,
            cat.ecosystem_rank(&ty).unwrap_or(usize::MAX),
            ty,
            cat.service_rank(v.service).unwrap_or(usize::MAX),
            v.service,
        );
        groups.entry(k).or_default().push(v);
    }
    let mut texts: HashMap<String, Text> = HashMap::new();
    let mut text =
        |s: String| -> Text { texts.entry(s.clone()).or_insert_with(|| s.into()).clone() };
    let mut rows = Vec::with_capacity(groups.len());
    for ((zi, _, ty, _, service), vs) in groups {
        let z = &zones[zi];
        let first = vs[0];
        let same_price = vs
            .iter()
            .all(|v| v.price == first.price && v.price_unit == first.price_unit);
        // Rows of several price years are not summed under the first one's year.
        let same_year = vs.iter().all(|v| v.price_year == first.price_year);
        let uniq = |f: &dyn Fn(&ServiceValue) -> &str| -> String {
            let mut seen: Vec<&str> = Vec::new();
            for v in &vs {
                let s = f(v);
                if !seen.contains(&s) {
                    seen.push(s);
                }
            }
            seen.join(" | ")
        };
        let mut flags: Vec<String> = Vec::new();
        for v in &vs {
            for f in &v.flags {
                if !flags.contains(f) {
                    flags.push(f.clone());
                }
            }
        }
        if !same_price {
            flags.push("mixed_unit_values".into());
        }
        if !same_year {
            flags.push("mixed_price_years".into());
        }
        let value = neumaier_sum(vs.iter().map(|v| v.value_yuan));
        flags.retain(|f| f != "negative");
        if value < 0.0 {
            flags.push("negative".into());
        }
        let area_m2 = neumaier_sum(vs.iter().map(|v| v.area_m2));
        rows.push(AccountRow {
            zone_id: text(z.id.clone()),
            zone_level: z.level,
            year,
            ecosystem_type: text(ty),
            service: text(service.to_string()),
            category: Category::Regulating,
            area_ha: area_m2 / gep_core::units::M2_PER_HA,
            quantity: Some(neumaier_sum(vs.iter().map(|v| v.quantity))),
            quantity_unit: Some(text(first.quantity_unit.clone())),
            unit_value: same_price.then_some(first.price),
            unit: text(first.price_unit.clone()),
            price_year: if same_year { first.price_year } else { None },
            value_yuan: Some(value),
            method: text(uniq(&|v| v.method.as_str())),
            source: text(uniq(&|v| v.source.as_str())),
            flags: text(flags.join(";")),
            area: ExactArea::from_m2(area_m2),
        });
    }
    rows
}

/// Values the models' quantities, puts the rows into `acc` (replacing the coefficient set's
/// rows of the same services, said in the returned warnings), recomputes `gep.csv`'s rows and
/// fills `physical.sensitivity`.
///
/// # Errors
/// As [`service_values`].
#[allow(clippy::too_many_arguments)]
pub fn value_into_accounts(
    zones: &[Zone],
    physical: &mut Physical,
    extent: &ExtentTable,
    area: &AreaServices,
    set: &ParameterSet,
    carbon_as: Option<CarbonAs>,
    valuation: &Valuation,
    acc: &mut Accounts,
) -> Result<Vec<crate::Warning>, EngineError> {
    let inputs = ServiceInputs {
        physical,
        extent,
        area,
        carbon_as,
    };
    let values = service_values(zones, &inputs, set, valuation)?;
    let rows = account_rows(zones, &values, valuation.year);
    let mut replaced: Vec<&str> = rows.iter().map(|r| &*r.service).collect();
    for parent in ["soil_retention", "water_purification", "air_purification"] {
        if replaced.iter().any(|s| {
            s.len() > parent.len() + 1
                && s.starts_with(parent)
                && s.as_bytes()[parent.len()] == b'_'
        }) {
            replaced.push(parent);
        }
    }
    replaced.sort_unstable();
    replaced.dedup();
    let mut notes = Vec::new();
    let before: BTreeMap<String, usize> = acc
        .rows
        .iter()
        .filter(|r| replaced.contains(&&*r.service) && r.value_yuan.is_some())
        .fold(BTreeMap::new(), |mut m, r| {
            *m.entry(r.service.to_string()).or_default() += 1;
            m
        });
    for (s, n) in &before {
        notes.push(crate::Warning::ModelsReplaceSet {
            service: s.clone(),
            rows: *n,
            coefficient_set: acc.coefficient_set.clone(),
            parameter_set: format!("{}@{}", set.id, set.version),
        });
    }
    let replaced_owned: Vec<String> = replaced.iter().map(|s| s.to_string()).collect();
    acc.rows
        .retain(|r| !replaced_owned.iter().any(|s| s == &*r.service));
    acc.rows.extend(rows);
    gep_core::account::order_rows(&mut acc.rows, zones);
    acc.gep = gep_rows(zones.iter().map(|z| (z.id.clone(), z.level)), &acc.rows);
    let years: std::collections::BTreeSet<i32> =
        acc.rows.iter().filter_map(|r| r.price_year).collect();
    if years.len() > 1 {
        notes.push(crate::Warning::AccountPriceYears {
            years: years.iter().copied().collect(),
        });
    }
    if set.example {
        notes.push(crate::Warning::ExampleParameters {
            set: format!("{}@{}", set.id, set.version),
        });
    }
    let inputs = ServiceInputs {
        physical,
        extent,
        area,
        carbon_as,
    };
    let sens = sensitivity(zones, &inputs, set, valuation, acc, &values)?;
    physical.sensitivity = sens;
    Ok(notes)
}

/// GEP of every top-level zone (and `all`) with each of [`SENSITIVITY_PARAMETERS`] at its
/// low and high value. GEP is linear in each price; in the air-conditioning efficiency it
/// is not (1/r), which is why the values are recomputed rather than scaled.
fn sensitivity(
    zones: &[Zone],
    inputs: &ServiceInputs<'_>,
    set: &ParameterSet,
    valuation: &Valuation,
    acc: &Accounts,
    base: &[ServiceValue],
) -> Result<Vec<SensitivityRow>, EngineError> {
    let top: Vec<&Zone> = zones.iter().filter(|z| z.parent.is_none()).collect();
    let gep: HashMap<&str, f64> = acc
        .gep
        .iter()
        .map(|g| (g.zone_id.as_str(), g.gep_yuan))
        .collect();
    let by_zone = |vals: &[ServiceValue]| -> HashMap<String, f64> {
        let mut m: HashMap<String, Vec<f64>> = HashMap::new();
        for v in vals {
            m.entry(v.zone_id.clone()).or_default().push(v.value_yuan);
        }
        m.into_iter().map(|(k, v)| (k, neumaier_sum(v))).collect()
    };
    let base_sum = by_zone(base);
    let county = counties(zones);
    let mut out = Vec::new();
    for &(service, parameter) in SENSITIVITY_PARAMETERS {
        if !base.iter().any(|v| v.service == service) {
            continue;
        }
        // Only parameters whose every row has both bounds: a half-moved set would understate
        // the effect (docs/models.md, "Sensitivity").
        let (Some(low_set), Some(high_set)) = (
            set.with_value(service, parameter, Bound::Low),
            set.with_value(service, parameter, Bound::High),
        ) else {
            continue;
        };
        let run = |s: &ParameterSet| -> Result<HashMap<String, f64>, EngineError> {
            Ok(by_zone(&service_values(zones, inputs, s, valuation)?))
        };
        let (lo, hi) = (run(&low_set)?, run(&high_set)?);
        let mut totals = [0.0f64; 3];
        for z in &top {
            let g = gep.get(z.id.as_str()).copied().unwrap_or(0.0);
            let b = base_sum.get(&z.id).copied().unwrap_or(0.0);
            let gl = g - b + lo.get(&z.id).copied().unwrap_or(0.0);
            let gh = g - b + hi.get(&z.id).copied().unwrap_or(0.0);
            totals[0] += g;
            totals[1] += gl;
            totals[2] += gh;
            let at = Lookup {
                county: county.get(&z.id).map(String::as_str),
                ..Default::default()
            };
            let p = set.get(service, parameter, &at).ok();
            out.push(row(
                &z.id,
                z.level.as_str(),
                service,
                parameter,
                p,
                [g, gl, gh],
            ));
        }
        let p = set.get(service, parameter, &Lookup::default()).ok();
        out.push(row("all", "", service, parameter, p, totals));
    }
    Ok(out)
}

fn row(
    zone: &str,
    level: &str,
    service: &str,
    parameter: &str,
    p: Option<&gep_core::parameters::Parameter>,
    [g, gl, gh]: [f64; 3],
) -> SensitivityRow {
    let pct = |x: f64| if g != 0.0 { (x - g) / g * 100.0 } else { 0.0 };
    SensitivityRow {
        zone_id: zone.to_string(),
        zone_level: level.to_string(),
        service: service.to_string(),
        parameter: parameter.to_string(),
        unit: p.map(|p| p.unit.as_str().to_string()).unwrap_or_default(),
        value: p.map_or(f64::NAN, |p| p.value),
        low: p.and_then(|p| p.low.or(Some(p.value))).unwrap_or(f64::NAN),
        high: p.and_then(|p| p.high.or(Some(p.value))).unwrap_or(f64::NAN),
        gep_yuan: g,
        gep_low_yuan: gl,
        gep_high_yuan: gh,
        change_low_percent: pct(gl),
        change_high_percent: pct(gh),
    }
}

impl gep_report::CsvRow for SensitivityRow {
    const COLUMNS: &'static [&'static str] = &[
        "zone_id",
        "zone_level",
        "service",
        "parameter",
        "unit",
        "value",
        "low",
        "high",
        "gep_yuan",
        "gep_low_yuan",
        "gep_high_yuan",
        "change_low_percent",
        "change_high_percent",
    ];

    fn write_to<W: std::io::Write>(&self, w: &mut csv::Writer<W>) -> csv::Result<()> {
        let mut r = self.clone();
        r.zone_id = gep_report::neutralize(&r.zone_id).into_owned();
        w.serialize(r)
    }
}
