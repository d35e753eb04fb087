//! The input of the change report (`report.html` of `gep change` and `gep appraise`, drawn by
//! [`gep_report::change_html`]): the zones with their GEP change and its causes, and the
//! transition matrix of the whole area by ecosystem type.

use crate::appraise::Appraisal;
use crate::EngineError;
use gep_core::change::Change;
use gep_core::crosswalk::split_area;
use gep_core::transition::{Transitions, TypeMatrix};
use gep_core::units::M2_PER_HA;
use gep_core::{ClassCode, Crosswalk, ExactArea, Level, Zone};
use gep_report::{ChangeKind, ChangeReportInput, ChangeZone, RunInfo, TransitionCell, ZoneEffects};
use std::collections::BTreeMap;

/// The top level among `zones` (counties when loaded).
fn top_level(zones: &[Zone]) -> Option<Level> {
    zones.iter().map(|z| z.level).min_by_key(|l| l.rank())
}

/// The label of a class: its ecosystem types through `crosswalk` (with shares), or the code.
fn class_parts(
    c: Option<ClassCode>,
    crosswalk: Option<&Crosswalk>,
) -> Result<Vec<(String, f64)>, EngineError> {
    let Some(c) = c else {
        return Ok(vec![("nodata".into(), 1.0)]);
    };
    match crosswalk {
        None => Ok(vec![(c.to_string(), 1.0)]),
        Some(cw) => cw
            .lookup(c)
            .map(|p| p.to_vec())
            .ok_or_else(|| {
                EngineError::input(format!(
                    "class {c} is not mapped by crosswalk {}: add `{c},<ecosystem_type>` to a copy of {}",
                    cw.id, cw.origin
                ))
            }),
    }
}

fn cells(m: &BTreeMap<(String, String), f64>) -> Vec<TransitionCell> {
    m.iter()
        .map(|((f, t), a)| TransitionCell {
            from: f.clone(),
            to: t.clone(),
            area_ha: *a / M2_PER_HA,
        })
        .collect()
}

/// The transition cells by ecosystem type of the top-level zones, summed (the whole area when
/// the top level tiles it). Classes are mapped through `crosswalk` (shares multiply); without
/// one they are labelled by their codes; nodata is `nodata`.
///
/// # Errors
/// `t` is not the table of `zones`; a class the crosswalk does not map.
pub fn type_transitions(
    zones: &[Zone],
    t: &Transitions,
    crosswalk: Option<&Crosswalk>,
) -> Result<Vec<TransitionCell>, EngineError> {
    if zones.len() != t.zones.len() || zones.iter().zip(&t.zone_ids).any(|(z, id)| z.id != *id) {
        return Err(EngineError::input(
            "the transition table is not of the zones given: pass the zones it was tallied for",
        ));
    }
    let top = top_level(zones);
    let mut sum: BTreeMap<(String, String), f64> = BTreeMap::new();
    for (z, m) in zones.iter().zip(&t.zones) {
        if Some(z.level) != top {
            continue;
        }
        let typed: TypeMatrix = match crosswalk {
            Some(cw) => m.by_type(cw, cw)?,
            None => m
                .pairs
                .iter()
                .map(|((f, to), a)| ((f.map(|c| c.to_string()), to.map(|c| c.to_string())), *a))
                .collect(),
        };
        for ((f, to), a) in typed {
            let label = |x: Option<String>| x.unwrap_or_else(|| "nodata".into());
            *sum.entry((label(f), label(to))).or_default() += a.to_m2();
        }
    }
    Ok(cells(&sum))
}

/// The zones of the report with their GEP change from `change` (`None` where it has no row).
pub fn change_zones(zones: &[Zone], change: &Change) -> Vec<ChangeZone> {
    zones
        .iter()
        .map(|z| ChangeZone {
            id: z.id.clone(),
            name: z.name.clone(),
            level: z.level,
            geometry: z.geometry.clone(),
            effects: change.zone_service(&z.id, None).map(|r| ZoneEffects {
                value0_yuan: r.nominal.value0_yuan,
                value1_yuan: r.nominal.value1_yuan,
                total_yuan: r.nominal.total_yuan,
                land_yuan: r.nominal.land_yuan,
                price_yuan: r.nominal.price_yuan,
                interaction_yuan: r.nominal.interaction_yuan,
                input_yuan: r.nominal.input_yuan,
            }),
        })
        .collect()
}

/// The report input of `gep change`.
///
/// # Errors
/// As [`type_transitions`].
pub fn years_report(
    zones: &[Zone],
    t: &Transitions,
    change: &Change,
    crosswalk: Option<&Crosswalk>,
    run: RunInfo,
) -> Result<ChangeReportInput, EngineError> {
    Ok(ChangeReportInput {
        kind: ChangeKind::Years {
            year0: change.year0,
            year1: change.year1,
        },
        zones: change_zones(zones, change),
        transitions: type_transitions(zones, t, crosswalk)?,
        run,
    })
}

/// The report input of `gep appraise`: the transitions are those of the scenario raster, or
/// what the footprints convert in the top-level zones (from each class they cover to their
/// new class).
///
/// # Errors
/// A class the crosswalk does not map.
pub fn appraisal_report(
    a: &Appraisal,
    crosswalk: Option<&Crosswalk>,
    run: RunInfo,
) -> Result<ChangeReportInput, EngineError> {
    let transitions = match &a.transitions {
        Some(t) => type_transitions(&a.zones, t, crosswalk)?,
        None => footprint_transitions(a, crosswalk)?,
    };
    Ok(ChangeReportInput {
        kind: ChangeKind::Appraisal {
            year: a.change.year0,
        },
        zones: change_zones(&a.zones, &a.change),
        transitions,
        run,
    })
}

/// What the footprints convert in the top-level zones, by type.
fn footprint_transitions(
    a: &Appraisal,
    crosswalk: Option<&Crosswalk>,
) -> Result<Vec<TransitionCell>, EngineError> {
    let top = top_level(&a.zones);
    let mut sum: BTreeMap<(String, String), f64> = BTreeMap::new();
    for p in a.pieces.iter().filter(|p| Some(p.zone_level) == top) {
        let to = class_parts(Some(p.new_class), crosswalk)?;
        for (c, m2) in &p.from_m2 {
            // The same exact split as the account's (year-0 shares, then year-1 shares).
            let from = class_parts(Some(*c), crosswalk)?;
            for (f, a0) in split_area(ExactArea::from_m2(*m2), &from) {
                for (t, part) in split_area(a0, &to) {
                    *sum.entry((f.clone(), t.clone())).or_default() += part.to_m2();
                }
            }
        }
    }
    Ok(cells(&sum))
}
