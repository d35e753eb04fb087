//! ΔGEP of the model services (issue 13's `[models.*]`: water conservation, soil retention,
//! carbon and oxygen, climate regulation, flood regulation, purification, negative air ions)
//! between two years, with the change of the models' inputs (rainfall, ET, NPP...) as an
//! effect of its own.
//!
//! Two run plans, year 0 and year 1, each with its land cover, `[[inputs]]`, `[models]` and
//! parameter set. Three runs give every valued piece (zone × class × ecosystem-type share ×
//! service: one quantity × one price) its quantities `Q(L₀, I₀)` (year 0), `Q(L₁, I₀)` (the
//! **counterfactual**: year 0's plan — inputs, model parameters, prices — on year 1's land
//! cover) and `Q(L₁, I₁)` (year 1), and its prices `p₀`, `p₁`; they become
//! [`gep_core::change::ModelTerms`] for [`gep_core::change::decompose_with_models`], which
//! splits the change into land, input, price and interaction effects exactly.
//!
//! **Grids.** Each run aligns its inputs onto its own land-cover grid, as `gep run` does.
//! The counterfactual reads year 0's input files onto year 1's land-cover grid: when both
//! land covers share a grid it sees exactly year 0's input cells; when they do not, year 0's
//! inputs are resampled onto year 1's grid with their declared resampling (a file already on
//! year 0's grid is then warped), and the input effect contains that resampling difference
//! as well as the change of the inputs. `Q(L₀, I₀)` and `Q(L₁, I₁)` are exactly what two
//! `gep run`s of the two plans compute, so the model services' change is the difference of
//! the two runs' values.
//!
//! **Parameters.** The counterfactual uses year 0's parameter set: a non-price parameter
//! that changes between the two sets (runoff coefficient α, NEP ratio, hot days, AC
//! efficiency, storage depth) changes the year-1 quantity and so lands in the input effect;
//! price rows (reservoir cost, carbon price...) are the price effect.

use crate::plan::{assess_prepared, bail, prepare, Plan, Result, TallyStore};
use crate::services::{service_values, ServiceInputs};
use crate::{Assessment, EngineError};
use gep_core::change::{ModelTerms, QuantityTerm};
use gep_core::{Catalog, Reporter, Zone};
use gep_models::services::ServiceValue;
use std::collections::BTreeMap;

/// One run of a plan with its models' valued pieces.
#[derive(Debug, Clone)]
pub struct ModelRun {
    /// The assessment, as `gep run` computes it.
    pub assessment: Assessment,
    /// The valued pieces of the model services (empty without `[models] parameters`).
    pub values: Vec<ServiceValue>,
}

/// The three runs of a change of model services and the terms they give.
#[derive(Debug, Clone)]
pub struct ModelChange {
    /// Year 0: `Q(L₀, I₀)` at year 0's prices.
    pub year0: ModelRun,
    /// The counterfactual: year 0's plan on year 1's land cover, `Q(L₁, I₀)`; `None` in the
    /// two-term fallback.
    pub counterfactual: Option<ModelRun>,
    /// Year 1: `Q(L₁, I₁)` at year 1's prices.
    pub year1: ModelRun,
    /// The pieces with their three quantities and two prices.
    pub terms: ModelTerms,
    /// Why the two-term fallback was used, when it was.
    pub fallback: Option<String>,
}

fn config_name(p: &Plan) -> String {
    p.config_path
        .as_ref()
        .map(|c| c.display().to_string())
        .unwrap_or_else(|| "the command line".into())
}

/// The models a plan asks for, by config table.
fn model_tables(p: &Plan) -> Vec<&'static str> {
    let m = &p.models;
    let mut out = Vec::new();
    if m.water.is_some() {
        out.push("[models.water_conservation]");
    }
    if m.soil.is_some() {
        out.push("[models.soil_retention]");
    }
    if m.carbon.is_some() {
        out.push("[models.carbon_oxygen]");
    }
    if m.climate.is_some() {
        out.push("[models.climate_regulation]");
    }
    if m.area.flood.is_some() {
        out.push("[models.flood_regulation]");
    }
    if m.area.water_purification.is_some() {
        out.push("[models.water_purification]");
    }
    if m.area.air_purification.is_some() {
        out.push("[models.air_purification]");
    }
    if m.area.negative_air_ions {
        out.push("[models.negative_air_ions]");
    }
    out
}

/// Whether a plan has model services to value (a `[models.*]` table and `[models]
/// parameters`; without parameters the models' quantities are not valued).
pub fn has_model_services(p: &Plan) -> bool {
    !model_tables(p).is_empty() && p.models.parameters.is_some()
}

/// Checks that two plans can be compared: the same boundary layers and counties, the same
/// crosswalk, both valued, the same models (each with a parameter set), the same carbon
/// substance, and both years given.
///
/// # Errors
/// [`EngineError::Plan`] naming the key, year 1's config file and the fix.
pub fn check_pair(plan0: &Plan, plan1: &Plan) -> Result<()> {
    let (f0, f1) = (config_name(plan0), config_name(plan1));
    if plan1.year.is_none() {
        bail!("{f1}: no `year`: year 1's config needs its accounting year");
    }
    if plan0.year.is_none() {
        bail!("{f0}: no `year`: year 0's config needs its accounting year");
    }
    if plan0.zones != plan1.zones {
        let pos = plan0
            .zones
            .iter()
            .zip(&plan1.zones)
            .position(|(a, b)| a != b)
            .unwrap_or(plan0.zones.len().min(plan1.zones.len()));
        let show = |z: Option<&gep_io::ZoneLayerSpec>| {
            z.map(|z| {
                format!(
                    "{} ({}, id_field {})",
                    z.path.display(),
                    z.level,
                    z.id_field
                )
            })
            .unwrap_or_else(|| "none".into())
        };
        bail!(
            "{f1}: [[zones]] differ from {f0}'s (table {}: {} vs {}): both years are compared over the same zones; give year 1's config the [[zones]] of year 0's",
            pos + 1,
            show(plan1.zones.get(pos)),
            show(plan0.zones.get(pos))
        );
    }
    if plan0.counties != plan1.counties {
        bail!(
            "{f1}: [run] counties {:?} differ from {f0}'s {:?}: compare the same counties",
            plan1.counties,
            plan0.counties
        );
    }
    let (Some(v0), Some(v1)) = (&plan0.valuation, &plan1.valuation) else {
        let f = if plan0.valuation.is_none() { &f0 } else { &f1 };
        bail!("{f}: no [valuation] coefficients: gep change values both years");
    };
    if v0.crosswalk != v1.crosswalk {
        bail!(
            "{f1}: [valuation] crosswalk {:?} differs from {f0}'s {:?}: the ecosystem types of the two years must be the same; use one crosswalk",
            v1.crosswalk,
            v0.crosswalk
        );
    }
    let (has0, has1) = (has_model_services(plan0), has_model_services(plan1));
    if has0 != has1 {
        let (with, without) = if has0 { (&f0, &f1) } else { (&f1, &f0) };
        bail!(
            "{without}: no model services ([models] parameters and a [models.*] table), which {with} has: the two years must value the same services; set [models] parameters and the same [models.*] tables in {without}"
        );
    }
    let (m0, m1) = (model_tables(plan0), model_tables(plan1));
    if has0 {
        for (ms, fa, other, fb) in [(&m0, &f0, &m1, &f1), (&m1, &f1, &m0, &f0)] {
            if let Some(m) = ms.iter().find(|m| !other.contains(m)) {
                bail!(
                    "{fb}: no {m}, which {fa} has: a model service compared needs its model in both years; add {m} (and its [[inputs]] for that year) to {fb}"
                );
            }
        }
    }
    let carbon = |p: &Plan| p.models.carbon.as_ref().map(|c| c.1);
    if carbon(plan0) != carbon(plan1) {
        bail!(
            "{f1}: [models.carbon_oxygen] carbon_as differs from {f0}'s: report carbon in the same substance in both years"
        );
    }
    Ok(())
}

/// Runs `plan` as `gep run` does (no resume, no files written) and values its model
/// services' pieces.
///
/// # Errors
/// As [`crate::plan::assess`]; a county that failed (the comparison needs every zone).
pub fn run_with_values(plan: &Plan, reporter: &dyn Reporter) -> Result<ModelRun> {
    struct NoStore;
    impl TallyStore for NoStore {
        fn key(&self, _zones: &[Zone]) -> String {
            String::new()
        }
        fn load(&self, _: &str, _: &str, _: &[Zone]) -> Option<Vec<gep_core::ZoneTally>> {
            None
        }
        fn store(&self, _: &str, _: &str, _: &[Zone], _: &[gep_core::ZoneTally]) -> Result<()> {
            Ok(())
        }
    }
    let mut plan = plan.clone();
    plan.resume = false;
    let mut prep = prepare(&plan, reporter)?;
    let assessment = assess_prepared(&plan, &mut prep, &NoStore, reporter)?.assessment;
    if let Some(f) = assessment.failures.first() {
        bail!(
            "{}: county {} failed ({}); the comparison needs every zone in every run",
            config_name(&plan),
            f.unit_id,
            f.reason_text()
        );
    }
    let values = match (
        prep.models.as_ref(),
        assessment.physical.as_ref(),
        prep.valuation.as_ref(),
    ) {
        (Some(m), Some(p), Some(v)) => match &m.parameters {
            Some(set) => service_values(
                &assessment.zones,
                &ServiceInputs {
                    physical: p,
                    extent: &assessment.extent,
                    area: &m.area,
                    carbon_as: m.carbon.as_ref().map(|c| c.1),
                },
                set,
                v,
            )?,
            None => Vec::new(),
        },
        _ => Vec::new(),
    };
    Ok(ModelRun { assessment, values })
}

/// The counterfactual plan: `plan0` (inputs, models, prices, zones) on `plan1`'s land cover.
pub fn counterfactual_plan(plan0: &Plan, plan1: &Plan) -> Plan {
    let mut p = plan0.clone();
    p.landcover = plan1.landcover.clone();
    p.band = plan1.band;
    p.nodata = plan1.nodata;
    p.landcover_crs = plan1.landcover_crs.clone();
    p.resume = false;
    p
}

/// One piece in each of the three runs.
type Piece = [Option<(f64, f64, Option<i32>)>; 3];

/// The terms of three runs' valued pieces, matched by zone, class, ecosystem type, service
/// and order of appearance (a zone with two rows of one class and service — reservoir
/// storage and area storage of water — keeps them apart).
///
/// A piece absent from a run (a class that left a zone) has quantity 0 there and takes the
/// price its service has in that run for the same zone and type, else the same zone, else
/// the whole run, when that is one number; otherwise the other year's price, flagged
/// `no_price0` / `no_price1`.
///
/// # Errors
/// The runs are over different zones.
pub fn terms_of(
    year0: &ModelRun,
    counterfactual: Option<&ModelRun>,
    year1: &ModelRun,
) -> Result<ModelTerms> {
    // Without the counterfactual, year 1 stands in for it (Q₁₀ = Q₁₁): the whole quantity
    // change is in the land effect, flagged `no_counterfactual`.
    let runs = [year0, counterfactual.unwrap_or(year1), year1];
    let have_cf = counterfactual.is_some();
    let ids =
        |r: &ModelRun| -> Vec<String> { r.assessment.zones.iter().map(|z| z.id.clone()).collect() };
    if ids(runs[0]) != ids(runs[1]) || ids(runs[0]) != ids(runs[2]) {
        return Err(EngineError::plan(
            "the runs of year 0, the counterfactual and year 1 computed different zones; give both years the same [[zones]] and [run] counties",
        ));
    }
    type Key = (String, String, &'static str, i64, usize);
    let mut pieces: BTreeMap<Key, Piece> = BTreeMap::new();
    let mut order: Vec<Key> = Vec::new();
    for (k, run) in runs.iter().enumerate() {
        let mut seen: BTreeMap<(String, String, &'static str, i64), usize> = BTreeMap::new();
        for v in &run.values {
            let ty = v
                .ecosystem_type
                .clone()
                .unwrap_or_else(|| v.class.to_string());
            let base = (v.zone_id.clone(), ty, v.service, i64::from(v.class));
            let n = seen.entry(base.clone()).or_default();
            let key = (base.0, base.1, base.2, base.3, *n);
            *n += 1;
            let e = pieces.entry(key.clone()).or_insert_with(|| {
                order.push(key);
                [None; 3]
            });
            e[k] = Some((v.quantity, v.price, v.price_year));
        }
    }
    let cat = Catalog::builtin();
    let mut services: Vec<&'static str> = Vec::new();
    for k in &order {
        if !services.contains(&k.2) {
            services.push(k.2);
        }
    }
    services.sort_by_key(|s| cat.service_rank(s).unwrap_or(usize::MAX));
    // The price a run gives a service in a zone and type, in a zone, or anywhere: for a
    // piece absent from that run (land that left a class), when it is one number.
    type Price = (f64, Option<i32>);
    #[derive(Default)]
    struct Prices<'a> {
        by_type: BTreeMap<(&'a str, String, &'a str), Vec<Price>>,
        by_zone: BTreeMap<(&'a str, &'a str), Vec<Price>>,
        by_service: BTreeMap<&'a str, Vec<Price>>,
    }
    let mut prices: [Prices<'_>; 3] = Default::default();
    for (k, run) in runs.iter().enumerate() {
        let pr = &mut prices[k];
        for v in &run.values {
            let ty = v
                .ecosystem_type
                .clone()
                .unwrap_or_else(|| v.class.to_string());
            let x = (v.price, v.price_year);
            pr.by_type
                .entry((v.zone_id.as_str(), ty, v.service))
                .or_default()
                .push(x);
            pr.by_zone
                .entry((v.zone_id.as_str(), v.service))
                .or_default()
                .push(x);
            pr.by_service.entry(v.service).or_default().push(x);
        }
    }
    let unique = |v: Option<&Vec<Price>>| -> Option<Price> {
        let v = v?;
        let first = *v.first()?;
        v.iter().all(|x| *x == first).then_some(first)
    };
    let price_in = |k: usize, zone: &str, ty: &str, service: &str| -> Option<Price> {
        let pr = &prices[k];
        unique(pr.by_type.get(&(zone, ty.to_string(), service)))
            .or_else(|| unique(pr.by_zone.get(&(zone, service))))
            .or_else(|| unique(pr.by_service.get(service)))
    };
    let mut terms = Vec::with_capacity(order.len());
    for key in order {
        let p = pieces[&key];
        let q = |i: usize| p[i].map_or(0.0, |x| x.0);
        let mut flags = Vec::new();
        let own = |i: usize| p[i].map(|x| (x.1, x.2));
        let (zone, ty, service) = (key.0.as_str(), key.1.as_str(), key.2);
        let price0 = own(0)
            .or(own(1).filter(|_| have_cf))
            .or_else(|| price_in(0, zone, ty, service))
            .or_else(|| price_in(1, zone, ty, service).filter(|_| have_cf))
            .or_else(|| {
                flags.push("no_price0".to_string());
                own(2)
            });
        let price1 = own(2)
            .or_else(|| price_in(2, zone, ty, service))
            .or_else(|| {
                flags.push("no_price1".to_string());
                price0
            });
        let (Some(pr0), Some(pr1)) = (price0, price1) else {
            continue;
        };
        if !have_cf {
            flags.push("no_counterfactual".to_string());
        }
        terms.push(QuantityTerm {
            zone_id: key.0,
            ecosystem_type: key.1,
            service: key.2.to_string(),
            q00: q(0),
            q10: q(1),
            q11: q(2),
            p0: pr0.0,
            p1: pr1.0,
            price_year0: pr0.1,
            price_year1: pr1.1,
            flags,
        });
    }
    Ok(ModelTerms {
        services: services.into_iter().map(String::from).collect(),
        terms,
    })
}

/// Checks the pair, runs year 0, the counterfactual (unless `counterfactual` is false) and
/// year 1, and matches their pieces.
///
/// **Fallback.** When the counterfactual run is not asked for (too costly: soil retention
/// routes the DEM again) or fails (year 0's inputs do not cover year 1's grid or do not
/// declare a `resampling` for it; a class of year 1 without a year-0 parameter such as its
/// runoff coefficient), the change is split in two terms: the whole quantity change at old
/// prices, `(Q₁₁ − Q₀₀)·p₀`, is the land effect (land and inputs together), the input
/// effect is 0, and every row is flagged `no_counterfactual`; the failure is in
/// [`ModelChange::fallback`] and given to `reporter` as a warning.
///
/// # Errors
/// As [`check_pair`] and [`run_with_values`] for years 0 and 1.
pub fn model_change(
    plan0: &Plan,
    plan1: &Plan,
    counterfactual: bool,
    reporter: &dyn Reporter,
) -> Result<ModelChange> {
    check_pair(plan0, plan1)?;
    reporter.event(&gep_core::ProgressEvent::ChangeRun(
        gep_core::ChangeRun::Year0,
    ));
    let year0 = run_with_values(plan0, reporter)?;
    let (cf, fallback) = if counterfactual {
        reporter.event(&gep_core::ProgressEvent::ChangeRun(
            gep_core::ChangeRun::Counterfactual,
        ));
        match run_with_values(&counterfactual_plan(plan0, plan1), reporter) {
            Ok(r) => (Some(r), None),
            Err(e) => {
                let why = format!(
                    "the counterfactual run ({}'s inputs and models on year 1's land cover {}) failed: {e}; the model services' change is split in two terms (land and inputs together in the land effect, rows flagged no_counterfactual)",
                    config_name(plan0),
                    plan1.landcover.display()
                );
                let zh = format!(
                    "反事实运行（{} 的输入和模型配以第 1 年的土地覆盖 {}）失败：{e}；模型服务的变化只分为两项（土地与输入合计计入土地效应，各行标记 no_counterfactual）",
                    config_name(plan0),
                    plan1.landcover.display()
                );
                reporter.warn_in(&|l| match l {
                    gep_core::Lang::En => why.clone(),
                    gep_core::Lang::Zh => zh.clone(),
                });
                (None, Some(why))
            }
        }
    } else {
        let why = "no counterfactual run asked for: the model services' change is split in two terms (land and inputs together in the land effect, rows flagged no_counterfactual)".to_string();
        reporter.warn_in(&|l| match l {
            gep_core::Lang::En => why.clone(),
            gep_core::Lang::Zh => "未要求反事实运行：模型服务的变化只分为两项（土地与输入合计计入土地效应，各行标记 no_counterfactual）".to_string(),
        });
        (None, Some(why))
    };
    reporter.event(&gep_core::ProgressEvent::ChangeRun(
        gep_core::ChangeRun::Year1,
    ));
    let year1 = run_with_values(plan1, reporter)?;
    let terms = terms_of(&year0, cf.as_ref(), &year1)?;
    Ok(ModelChange {
        year0,
        counterfactual: cf,
        year1,
        terms,
        fallback,
    })
}
