//! Guards on inputs that do not fit together, as [`Warning`]s: a crosswalk whose codes do not
//! match the raster's classes, a class-keyed table keyed by another scheme's codes, water in
//! zones declared coastal (sea valued as inland water), zones much smaller than a raster cell,
//! and a D override without its price year.
//!
//! Thresholds (documented in `docs/config.md`):
//! - crosswalk: some classes unmapped, and at least half of the raster's area or of its
//!   distinct classes unmapped, or at least half of the crosswalk's codes absent; or a built-in
//!   crosswalk maps every class while the one given leaves some unmapped (codes absent alone
//!   are no sign: a county holds few of a product's classes);
//! - class-keyed table: at least half of its codes absent from the raster, while the raster's
//!   classes are all codes of one built-in crosswalk's scheme;
//! - small zones: at least 5 % of a level's zones smaller than one raster cell.

use crate::{Valuation, Warning};
use gep_core::account::Accounts;
use gep_core::coefficients::SetKey;
use gep_core::{ClassCode, Crosswalk, ExactArea, ExtentTable, Grid, Level, Zone};
use std::collections::{BTreeMap, BTreeSet};

/// How well a crosswalk's codes fit the classes found in a raster.
#[derive(Debug, Clone, PartialEq)]
pub struct CrosswalkFit {
    /// The crosswalk's id.
    pub crosswalk: String,
    /// Share of the classes' area (over the zones) in classes the crosswalk does not map, [0, 1].
    pub unmapped_area_share: f64,
    /// The classes it does not map.
    pub unmapped_classes: Vec<ClassCode>,
    /// Distinct classes found.
    pub classes: usize,
    /// Share of the crosswalk's codes absent from the classes found, [0, 1].
    pub absent_code_share: f64,
}

impl CrosswalkFit {
    /// The fit of `cw` to `classes` (class → area).
    pub fn of(classes: &BTreeMap<ClassCode, ExactArea>, cw: &Crosswalk) -> CrosswalkFit {
        let total: f64 = classes.values().map(|a| a.to_m2()).sum();
        let unmapped: Vec<(ClassCode, f64)> = classes
            .iter()
            .filter(|(c, _)| cw.lookup(**c).is_none())
            .map(|(c, a)| (*c, a.to_m2()))
            .collect();
        let unmapped_area: f64 = unmapped.iter().map(|u| u.1).sum();
        let absent = cw
            .classes
            .keys()
            .filter(|c| !classes.contains_key(c))
            .count();
        CrosswalkFit {
            crosswalk: cw.id.clone(),
            unmapped_area_share: if total > 0.0 {
                unmapped_area / total
            } else {
                0.0
            },
            unmapped_classes: unmapped.iter().map(|u| u.0).collect(),
            classes: classes.len(),
            absent_code_share: absent as f64 / cw.classes.len().max(1) as f64,
        }
    }

    /// Whether most of the raster, or most of the crosswalk with some of the raster, does not
    /// match. Codes absent alone are no sign: a county holds few of a product's classes.
    pub fn mismatched(&self) -> bool {
        let unmapped = !self.unmapped_classes.is_empty();
        self.unmapped_area_share >= 0.5
            || (self.classes > 0 && 2 * self.unmapped_classes.len() >= self.classes)
            || (unmapped && self.absent_code_share >= 0.5)
    }
}

/// Class → area over the top-level zones of `table` (each hectare once).
fn root_classes(zones: &[Zone], table: &ExtentTable) -> BTreeMap<ClassCode, ExactArea> {
    let mut out: BTreeMap<ClassCode, ExactArea> = BTreeMap::new();
    for (z, t) in zones.iter().zip(&table.zones) {
        if z.parent.is_none() {
            for (c, a) in &t.classes {
                *out.entry(*c).or_default() += *a;
            }
        }
    }
    out
}

/// The built-in crosswalk that fits `classes` best (every class mapped, fewest absent codes),
/// other than `except`.
fn best_builtin(
    classes: &BTreeMap<ClassCode, ExactArea>,
    except: &str,
) -> Option<(String, CrosswalkFit)> {
    Crosswalk::builtin_ids()
        .into_iter()
        .filter(|id| *id != except)
        .filter_map(|id| Crosswalk::builtin(id).ok())
        .map(|cw| (cw.id.clone(), CrosswalkFit::of(classes, &cw)))
        .filter(|(_, f)| f.unmapped_classes.is_empty())
        .min_by(|a, b| a.1.absent_code_share.total_cmp(&b.1.absent_code_share))
}

/// A crosswalk whose codes do not match the raster's classes (e.g. CLCD codes on a MODIS
/// raster): the shares, and a built-in crosswalk that fits better when there is one. Call it
/// on the tally of every unit, before units with unmapped classes are failed.
pub fn crosswalk(
    zones: &[Zone],
    table: &ExtentTable,
    valuation: Option<&Valuation>,
) -> Option<Warning> {
    let cw = valuation?.crosswalk.as_ref()?;
    let classes = root_classes(zones, table);
    if classes.is_empty() {
        return None;
    }
    let fit = CrosswalkFit::of(&classes, cw);
    if fit.unmapped_classes.is_empty() {
        return None;
    }
    let better = best_builtin(&classes, &cw.id);
    if !fit.mismatched() && better.is_none() {
        return None;
    }
    Some(Warning::CrosswalkMismatch {
        crosswalk: cw.id.clone(),
        unmapped_area_percent: 100.0 * fit.unmapped_area_share,
        unmapped_classes: fit.unmapped_classes,
        classes: fit.classes,
        absent_codes_percent: 100.0 * fit.absent_code_share,
        better: better.map(|b| b.0),
    })
}

/// A table keyed by land-cover codes directly (an InVEST carbon-pool table) whose codes are
/// mostly absent from the raster while the raster's classes are all codes of a built-in
/// crosswalk's scheme: likely keyed by another scheme's codes (the Willamette lucodes on a
/// CLCD raster).
pub fn class_keys(
    zones: &[Zone],
    table: &ExtentTable,
    valuation: Option<&Valuation>,
) -> Option<Warning> {
    let v = valuation?;
    if v.set.key != SetKey::Class {
        return None;
    }
    let classes = root_classes(zones, table);
    let codes: BTreeSet<ClassCode> = v.set.entries.iter().filter_map(|e| e.class).collect();
    if classes.is_empty() || codes.is_empty() {
        return None;
    }
    let absent = codes.iter().filter(|c| !classes.contains_key(c)).count();
    if 2 * absent < codes.len() {
        return None;
    }
    let scheme = Crosswalk::builtin_ids()
        .into_iter()
        .filter_map(|id| Crosswalk::builtin(id).ok())
        .find(|cw| classes.keys().all(|c| cw.lookup(*c).is_some()))?;
    Some(Warning::ForeignClassKeys {
        set: v.set.id.clone(),
        absent_codes: absent,
        codes: codes.len(),
        raster_classes: classes.keys().copied().collect(),
        likely_scheme: format!("{} ({})", scheme.id, scheme.scheme),
    })
}

/// Water in the top-level zones declared coastal ([`Valuation::coastal_zones`]): sea cells
/// classed as water are valued as inland water (Xie's water row prices hydrological
/// regulation at 102.24 equivalents per ha). The area and value involved, per zone.
pub fn coastal_water(
    zones: &[Zone],
    table: &ExtentTable,
    accounts: Option<&Accounts>,
    valuation: Option<&Valuation>,
) -> Vec<Warning> {
    let (Some(a), Some(v)) = (accounts, valuation) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (z, t) in zones.iter().zip(&table.zones) {
        if z.parent.is_some() || !v.coastal_zones.contains(&z.id) {
            continue;
        }
        let rows: Vec<_> = a
            .rows
            .iter()
            .filter(|r| &*r.zone_id == z.id.as_str() && &*r.ecosystem_type == "water")
            .collect();
        let Some(first) = rows.first() else { continue };
        let water_m2 = first.area.to_m2();
        let value: f64 = rows.iter().filter_map(|r| r.value_yuan).sum();
        let total = t.covered().to_m2();
        out.push(Warning::CoastalWater {
            zone_id: z.id.clone(),
            name: z.name.clone(),
            water_m2,
            share_percent: if total > 0.0 {
                100.0 * water_m2 / total
            } else {
                0.0
            },
            value_yuan: rows.iter().any(|r| r.value_yuan.is_some()).then_some(value),
        });
    }
    out
}

/// Zones much smaller than a raster cell: per level, the zones with less than one cell's area
/// and their share of the level's area, when they are at least 5 % of the level's zones. Their
/// land cover is that of the few cells they touch, so their values say little.
pub fn small_zones(zones: &[Zone], table: &ExtentTable, grid: &Grid) -> Vec<Warning> {
    let cell_m2 = grid.cell_area_m2((grid.rows / 2) as i64).0;
    let mut out = Vec::new();
    for level in Level::ALL {
        let areas: Vec<f64> = zones
            .iter()
            .zip(&table.zones)
            .filter(|(z, _)| z.level == level)
            .map(|(_, t)| t.total().to_m2())
            .collect();
        if areas.is_empty() {
            continue;
        }
        let small: Vec<f64> = areas.iter().copied().filter(|a| *a < cell_m2).collect();
        if small.is_empty() || 20 * small.len() < areas.len() {
            continue;
        }
        let all: f64 = areas.iter().sum();
        out.push(Warning::SmallZones {
            level,
            small: small.len(),
            zones: areas.len(),
            area_percent: if all > 0.0 {
                100.0 * small.iter().sum::<f64>() / all
            } else {
                0.0
            },
            cell_m2,
        });
    }
    out
}

/// A D override without its price year (and no restating): its year is assumed to be the
/// set's, which the totals then carry.
pub fn d_override(valuation: Option<&Valuation>) -> Option<Warning> {
    let v = valuation?;
    let uses_d = v
        .set
        .entries
        .iter()
        .any(|e| e.unit == Some(gep_core::coefficients::CoefUnit::Equivalent));
    match (
        uses_d,
        v.params.equivalent_value,
        v.params.equivalent_value_price_year,
    ) {
        (true, Some(d), None) => Some(Warning::EquivalentValueYearAssumed {
            d,
            year: v.set.price_year,
        }),
        _ => None,
    }
}

/// Every guard that needs the accounts: coastal water, small zones, the D override's year.
pub fn after_accounts(
    zones: &[Zone],
    table: &ExtentTable,
    accounts: Option<&Accounts>,
    valuation: Option<&Valuation>,
    grid: &Grid,
) -> Vec<Warning> {
    let mut out = coastal_water(zones, table, accounts, valuation);
    out.extend(small_zones(zones, table, grid));
    out.extend(d_override(valuation));
    out
}

/// Every guard on the tally of all units (before units with unmapped classes are failed): the
/// crosswalk's fit and a class-keyed table's codes.
pub fn after_tally(
    zones: &[Zone],
    table: &ExtentTable,
    valuation: Option<&Valuation>,
) -> Vec<Warning> {
    crosswalk(zones, table, valuation)
        .into_iter()
        .chain(class_keys(zones, table, valuation))
        .collect()
}
