//! The account: extent table × zones × crosswalk × coefficient set → one row per
//! zone × ecosystem type × service, and per zone GEP with its category subtotals.
//!
//! Values are `area_ha × unit_value` (元/ha/a); per-zone sums run in the fixed row order with
//! compensated (Neumaier) summation. Areas per ecosystem type are summed exactly
//! ([`ExactArea`]), so a roll-up of children has bit-identical areas to the parent computed
//! directly from the merged extent.

use crate::catalog::{Catalog, Category};
use crate::coefficients::{CoefficientSet, SetKey, ValuationParams};
use crate::crosswalk::Crosswalk;
use crate::error::CoreError;
use crate::extent::{ExactArea, ExtentTable};
use crate::raster::ClassCode;
use crate::units::M2_PER_HA;
use crate::zone::{Level, Zone};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Shared, immutable text of account rows: the strings of a row depend on its ecosystem type
/// and service (or its zone) only, so the rows of 8,000 zones share them instead of holding
/// 250,000 copies.
pub type Text = std::sync::Arc<str>;

/// One row of `accounts.csv` (fields in column order).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountRow {
    /// Zone id (text).
    pub zone_id: Text,
    /// Zone level.
    pub zone_level: Level,
    /// Accounting year.
    pub year: i32,
    /// Ecosystem type code (for class-keyed stock sets: `class:N`).
    pub ecosystem_type: Text,
    /// Service code.
    pub service: Text,
    /// GEP category of the service.
    pub category: Category,
    /// Area of the ecosystem type in the zone (ha).
    pub area_ha: f64,
    /// Physical quantity (per year for flows; the stock for stocks), when the set gives one.
    pub quantity: Option<f64>,
    /// Unit of `quantity`.
    pub quantity_unit: Option<Text>,
    /// Value per ha per year (元/ha/a), or the stock per ha (t C/ha) for stocks; blank for NA.
    pub unit_value: Option<f64>,
    /// Unit of `unit_value`.
    pub unit: Text,
    /// Price year of `unit_value` (blank for stocks).
    pub price_year: Option<i32>,
    /// Value in 元 at full precision; blank for stocks and NA entries.
    pub value_yuan: Option<f64>,
    /// How the unit value was formed.
    pub method: Text,
    /// Coefficient set id@version, file line and citation.
    pub source: Text,
    /// `;`-separated flags: not_applicable, unverified, derived, example, negative, stock.
    pub flags: Text,
    /// The exact area (m², fixed point), for roll-ups.
    #[serde(skip)]
    pub area: ExactArea,
}

/// One row of `gep.csv`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GepRow {
    /// Zone id.
    pub zone_id: String,
    /// Zone level.
    pub zone_level: Level,
    /// The zone's total (元): material + regulating + cultural, plus supporting services when
    /// the set prices any (an ESV, which includes them as Xie et al. 2015 define it; a GEP set
    /// has none: see [`crate::label::TotalKind`]).
    pub gep_yuan: f64,
    /// Material products (元).
    pub material_yuan: f64,
    /// Regulating services (元).
    pub regulating_yuan: f64,
    /// Cultural services (元).
    pub cultural_yuan: f64,
    /// Supporting services (元; ESV only: nutrient cycling, biodiversity), shown apart.
    pub supporting_yuan: f64,
}

impl GepRow {
    /// Final services only: material + regulating + cultural (元), what GEP counts.
    pub fn final_yuan(&self) -> f64 {
        neumaier_sum([self.material_yuan, self.regulating_yuan, self.cultural_yuan])
    }
}

/// The account of a set of zones.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Accounts {
    /// Rows in zone order, then ecosystem type (catalogue order, or class code), then service.
    pub rows: Vec<AccountRow>,
    /// One GEP row per zone, in zone order.
    pub gep: Vec<GepRow>,
    /// Coefficient set id@version (sha256).
    pub coefficient_set: String,
    /// Crosswalk id@version (sha256), if one was used.
    pub crosswalk: Option<String>,
}

/// A land-cover class found in the extent without a mapping.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnmappedClass {
    /// The class code.
    pub class: ClassCode,
    /// Its total area over all zones (m²).
    pub area_m2: f64,
    /// What to do.
    pub fix: String,
}

/// An ecosystem type × service pair with neither a value nor an explicit NA.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageGap {
    /// Ecosystem type.
    pub ecosystem_type: String,
    /// Service.
    pub service: String,
    /// The land-cover codes that reach the type.
    pub classes: Vec<ClassCode>,
    /// What to do.
    pub fix: String,
}

/// Total area of each class over all zones of an extent table.
pub fn class_totals(extent: &ExtentTable) -> BTreeMap<ClassCode, ExactArea> {
    let mut out: BTreeMap<ClassCode, ExactArea> = BTreeMap::new();
    for z in &extent.zones {
        for (c, a) in &z.classes {
            *out.entry(*c).or_default() += *a;
        }
    }
    out
}

/// Pre-flight: classes (with their areas) that the crosswalk does not map.
pub fn check_mapping(
    classes: &BTreeMap<ClassCode, ExactArea>,
    crosswalk: &Crosswalk,
) -> Vec<UnmappedClass> {
    classes
        .iter()
        .filter(|(c, _)| crosswalk.lookup(**c).is_none())
        .map(|(c, a)| UnmappedClass {
            class: *c,
            area_m2: a.to_m2(),
            fix: format!("add a row `{c},<ecosystem_type>,,<note>` to a copy of crosswalk {} ({}), or declare {c} as the raster's nodata", crosswalk.id, crosswalk.origin),
        })
        .collect()
}

/// Pre-flight for class-keyed sets: classes without an entry in the set.
pub fn check_class_keys(
    classes: &BTreeMap<ClassCode, ExactArea>,
    set: &CoefficientSet,
) -> Vec<UnmappedClass> {
    classes
        .iter()
        .filter(|(c, _)| set.services.iter().any(|s| set.get(&c.to_string(), s).is_none()))
        .map(|(c, a)| UnmappedClass {
            class: *c,
            area_m2: a.to_m2(),
            fix: format!("add a row for class {c} to the table {} (InVEST: `{c},c_above,c_below,c_soil,c_dead`)", set.origin),
        })
        .collect()
}

/// Pre-flight: every ecosystem type reachable through the crosswalk needs a value or an
/// explicit NA for every service of the set.
pub fn check_coverage(crosswalk: &Crosswalk, set: &CoefficientSet) -> Vec<CoverageGap> {
    let mut out = Vec::new();
    if set.key == SetKey::Class {
        return out;
    }
    for (t, classes) in crosswalk.ecosystem_types() {
        for s in &set.services {
            if set.get(&t, s).is_none() {
                out.push(CoverageGap {
                    ecosystem_type: t.clone(),
                    service: s.clone(),
                    classes: classes.iter().copied().collect(),
                    fix: format!("add `{t},{s},<value>,<unit>` (or `{t},{s},NA,`) to a copy of coefficient set {} ({})", set.id, set.origin),
                });
            }
        }
    }
    out
}

/// Compensated sum in the given order (Neumaier), so that per-zone totals do not depend on
/// cancellation between large positive and negative values.
pub fn neumaier_sum(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut sum = 0.0f64;
    let mut c = 0.0f64;
    for v in values {
        let t = sum + v;
        if sum.abs() >= v.abs() {
            c += (sum - t) + v;
        } else {
            c += (v - t) + sum;
        }
        sum = t;
    }
    sum + c
}

fn type_sort_key(cat: &Catalog, t: &str) -> (usize, i64, String) {
    match cat.ecosystem_rank(t) {
        Some(r) => (r, 0, String::new()),
        None => (
            usize::MAX,
            t.strip_prefix("class:")
                .and_then(|c| c.parse().ok())
                .unwrap_or(i64::MAX),
            t.to_string(),
        ),
    }
}

/// Computes the account of `zones` (in the order of `extent.zones`).
///
/// Flow sets keyed by ecosystem type need `crosswalk`; class-keyed sets (InVEST carbon) use the
/// land-cover codes directly and ignore it. Fails when a class is unmapped or a reachable
/// ecosystem type lacks a value or NA for a service (see [`check_mapping`], [`check_coverage`]).
///
/// # Units
/// `area_ha` in ha; `value_yuan` in 元 per year at `price_year`; stock quantities in t C.
pub fn compute_accounts(
    zones: &[Zone],
    extent: &ExtentTable,
    year: i32,
    crosswalk: Option<&Crosswalk>,
    set: &CoefficientSet,
    params: &ValuationParams,
) -> Result<Accounts, CoreError> {
    extent.check_zones(zones)?;
    params.check(set)?;
    let cat = Catalog::builtin();
    let totals = class_totals(extent);
    let cw = match set.key {
        SetKey::Class => {
            let missing = check_class_keys(&totals, set);
            if !missing.is_empty() {
                return Err(unmapped_error(&set.id, &missing));
            }
            None
        }
        SetKey::EcosystemType => {
            let cw = crosswalk.ok_or_else(|| {
                CoreError::Account(format!("coefficient set {} is keyed by ecosystem type and needs a crosswalk from the raster's classes to ecosystem types; pass one (see the built-in crosswalks, or write a CSV code,ecosystem_type)", set.id))
            })?;
            let missing = check_mapping(&totals, cw);
            if !missing.is_empty() {
                return Err(unmapped_error(&cw.id, &missing));
            }
            let gaps = check_coverage(cw, set);
            if !gaps.is_empty() {
                return Err(CoreError::CoverageGaps {
                    set: set.id.clone(),
                    crosswalk: cw.id.clone(),
                    count: gaps.len(),
                    list: gaps
                        .iter()
                        .map(|g| format!("{}/{}", g.ecosystem_type, g.service))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            Some(cw)
        }
    };
    // Resolve each (key, service) once, into a template row: every text of a row depends on
    // the key and service only; a zone only adds its id, level and area.
    struct Template {
        row: AccountRow,
        /// Quantity per ha (flows with a physical quantity), stock per ha, value per ha.
        quantity_per_ha: Option<f64>,
        stock_per_ha: Option<f64>,
        yuan_per_ha: Option<f64>,
    }
    let mut templates: HashMap<&str, Vec<Option<Template>>> = HashMap::new();
    for e in &set.entries {
        let Some(svc_pos) = set.services.iter().position(|s| *s == e.service) else {
            continue;
        };
        let svc = cat.service(&e.service).expect("services checked at load");
        let uv = set.unit_value(e, params)?;
        let mut flags = Vec::new();
        let (unit, unit_value, price_year, method, quantity_per_ha, stock_per_ha, yuan_per_ha) =
            match &uv {
                None => {
                    flags.push("not_applicable".to_string());
                    (
                        String::new(),
                        None,
                        None,
                        "not applicable".to_string(),
                        None,
                        None,
                        None,
                    )
                }
                Some(uv) => match uv.stock_per_ha {
                    Some(stock) => {
                        flags.push("stock".to_string());
                        (
                            "t C/ha".to_string(),
                            Some(stock),
                            None,
                            uv.method.clone(),
                            None,
                            Some(stock),
                            None,
                        )
                    }
                    None => {
                        let u = uv.yuan_per_ha.expect("flow value");
                        if u < 0.0 {
                            flags.push("negative".to_string());
                        }
                        (
                            "元/ha/a".to_string(),
                            Some(u),
                            uv.price_year,
                            uv.method.clone(),
                            e.quantity_per_ha,
                            None,
                            Some(u),
                        )
                    }
                },
            };
        if !e.verified {
            flags.push("unverified".into());
        }
        flags.extend(e.flags.iter().cloned());
        let mut source = format!("{}@{} line {}", set.id, set.version, e.line);
        if !e.citation.is_empty() {
            source.push_str(": ");
            source.push_str(&e.citation);
        }
        let row = AccountRow {
            zone_id: Text::from(""),
            zone_level: Level::County,
            year,
            ecosystem_type: if cw.is_none() {
                format!("class:{}", e.key).into()
            } else {
                e.key.as_str().into()
            },
            service: e.service.as_str().into(),
            category: svc.category,
            area_ha: 0.0,
            quantity: None,
            // Kept only on rows with a quantity (below).
            quantity_unit: e.quantity_unit.as_deref().map(Text::from),
            unit_value,
            unit: unit.into(),
            price_year,
            value_yuan: None,
            method: method.into(),
            source: source.into(),
            flags: flags.join(";").into(),
            area: ExactArea::ZERO,
        };
        let slots = templates
            .entry(e.key.as_str())
            .or_insert_with(|| set.services.iter().map(|_| None).collect());
        slots[svc_pos] = Some(Template {
            row,
            quantity_per_ha,
            stock_per_ha,
            yuan_per_ha,
        });
    }
    // Services in the standard's order within each ecosystem type (not the set's order).
    let mut svc_order: Vec<usize> = (0..set.services.len()).collect();
    svc_order.sort_by_key(|&k| cat.service_order(&set.services[k]));
    let mut rows = Vec::new();
    for (zone, tally) in zones.iter().zip(&extent.zones) {
        let zone_id = Text::from(zone.id.as_str());
        // Area by key (ecosystem type, or class), exact.
        let mut areas: BTreeMap<(usize, i64, String), (String, ExactArea)> = BTreeMap::new();
        for (class, area) in &tally.classes {
            match cw {
                None => {
                    let k = class.to_string();
                    let sk = (usize::MAX, *class as i64, String::new());
                    areas.entry(sk).or_insert_with(|| (k, ExactArea::ZERO)).1 += *area;
                }
                Some(cw) => {
                    for (t, part) in cw.split(*class, *area).into_iter().flatten() {
                        areas
                            .entry(type_sort_key(cat, t))
                            .or_insert_with(|| (t.to_string(), ExactArea::ZERO))
                            .1 += part;
                    }
                }
            }
        }
        for (key, area) in areas.into_values() {
            let area_ha = area.to_m2() / M2_PER_HA;
            // A class-keyed set without some service for the class: checked above.
            let Some(slots) = templates.get(key.as_str()) else {
                continue;
            };
            for t in svc_order.iter().filter_map(|&k| slots[k].as_ref()) {
                let quantity = match t.stock_per_ha {
                    Some(stock) => Some(area_ha * stock),
                    None => t.quantity_per_ha.map(|q| area_ha * q),
                };
                rows.push(AccountRow {
                    zone_id: zone_id.clone(),
                    zone_level: zone.level,
                    area_ha,
                    quantity,
                    quantity_unit: if quantity.is_some() {
                        t.row.quantity_unit.clone()
                    } else {
                        None
                    },
                    value_yuan: t.yuan_per_ha.map(|u| area_ha * u),
                    area,
                    ..t.row.clone()
                });
            }
        }
    }
    let gep = gep_rows(zones.iter().map(|z| (z.id.clone(), z.level)), &rows);
    Ok(Accounts {
        rows,
        gep,
        coefficient_set: format!("{}@{} (sha256 {})", set.id, set.version, set.sha256),
        crosswalk: cw.map(|c| format!("{}@{} (sha256 {})", c.id, c.version, c.sha256)),
    })
}

fn unmapped_error(id: &str, missing: &[UnmappedClass]) -> CoreError {
    CoreError::UnmappedClasses {
        crosswalk: id.to_string(),
        count: missing.len(),
        list: missing
            .iter()
            .map(|m| format!("{} ({} m²)", m.class, m.area_m2))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// A zone's area by ecosystem type through `cw` (classes it does not map are left out), in
/// catalogue order: the extent of ecosystem types, with the same areas as the account's
/// `area_ha` (the same split of each class by its shares, summed exactly).
pub fn ecosystem_extent(
    tally: &crate::extent::ZoneTally,
    cw: &Crosswalk,
) -> Vec<(String, ExactArea)> {
    let cat = Catalog::builtin();
    let mut areas: BTreeMap<(usize, i64, String), (String, ExactArea)> = BTreeMap::new();
    for (class, area) in &tally.classes {
        for (t, part) in cw.split(*class, *area).into_iter().flatten() {
            areas
                .entry(type_sort_key(cat, t))
                .or_insert_with(|| (t.to_string(), ExactArea::ZERO))
                .1 += part;
        }
    }
    areas.into_values().collect()
}

/// Puts account rows in their published order: zones in the order of `zones` (rows of other
/// zones last), then ecosystem types in catalogue order (class-keyed rows by class code), then
/// services in the standard's order ([`Catalog::service_order`]). Stable: rows equal in all
/// three keep their order. Recompute the GEP rows ([`gep_rows`]) afterwards, so that they are
/// summed in the rows' order.
pub fn order_rows(rows: &mut [AccountRow], zones: &[Zone]) {
    let cat = Catalog::builtin();
    let pos: HashMap<&str, usize> = zones
        .iter()
        .enumerate()
        .map(|(i, z)| (z.id.as_str(), i))
        .collect();
    rows.sort_by(|a, b| {
        let key = |r: &AccountRow| {
            (
                pos.get(&*r.zone_id).copied().unwrap_or(usize::MAX),
                type_sort_key(cat, &r.ecosystem_type),
            )
        };
        key(a).cmp(&key(b)).then_with(|| {
            cat.service_order(&a.service)
                .cmp(&cat.service_order(&b.service))
        })
    });
}

/// GEP rows for the given zones from their rows, summing in row order (Neumaier).
pub fn gep_rows(
    zones: impl IntoIterator<Item = (String, Level)>,
    rows: &[AccountRow],
) -> Vec<GepRow> {
    let mut by_zone: HashMap<&str, Vec<&AccountRow>> = HashMap::new();
    for r in rows {
        by_zone.entry(&r.zone_id).or_default().push(r);
    }
    zones
        .into_iter()
        .map(|(id, level)| {
            let rs = by_zone.get(id.as_str()).map(Vec::as_slice).unwrap_or(&[]);
            let cat_sum = |c: Category| {
                neumaier_sum(
                    rs.iter()
                        .filter(|r| r.category == c)
                        .filter_map(|r| r.value_yuan),
                )
            };
            let material_yuan = cat_sum(Category::Material);
            let regulating_yuan = cat_sum(Category::Regulating);
            let cultural_yuan = cat_sum(Category::Cultural);
            let supporting_yuan = cat_sum(Category::Supporting);
            let gep_yuan = neumaier_sum(
                rs.iter()
                    .filter(|r| r.category != Category::Stock)
                    .filter_map(|r| r.value_yuan),
            );
            GepRow {
                zone_id: id,
                zone_level: level,
                gep_yuan,
                material_yuan,
                regulating_yuan,
                cultural_yuan,
                supporting_yuan,
            }
        })
        .collect()
}

/// Rows that a roll-up into `parent_level` would drop without a word: rows of zones finer than
/// `parent_level` whose parent is coarser than it (a village hung directly under its county
/// when rolling up into townships) or is not among `zones` at all. Their value would vanish
/// from the parents' totals, so they are an error naming the zones.
fn skipped_levels(
    accounts: &Accounts,
    zones: &[Zone],
    parent_level: Level,
) -> Result<(), CoreError> {
    let by_id: HashMap<&str, &Zone> = zones.iter().map(|z| (z.id.as_str(), z)).collect();
    let mut skipped: BTreeSet<String> = BTreeSet::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for r in &accounts.rows {
        if !seen.insert(&r.zone_id) {
            continue;
        }
        let Some(z) = by_id.get(&*r.zone_id) else {
            continue;
        };
        if z.level.rank() <= parent_level.rank() {
            continue;
        }
        let Some(p) = z.parent.as_deref() else {
            continue;
        };
        match by_id.get(p) {
            Some(pz) if pz.level.rank() >= parent_level.rank() => {}
            Some(pz) => {
                skipped.insert(format!("{} {} (parent {} {p})", z.level, z.id, pz.level));
            }
            None => {
                skipped.insert(format!(
                    "{} {} (parent {p} not among the zones)",
                    z.level, z.id
                ));
            }
        }
    }
    if skipped.is_empty() {
        return Ok(());
    }
    Err(CoreError::RollUpSkipsLevel {
        level: parent_level.to_string(),
        count: skipped.len(),
        zones: skipped
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
            + if skipped.len() > 5 { ", ..." } else { "" },
    })
}

/// Sums the accounts of children into their parents of `parent_level` (village → township,
/// township → county). Parents come from `zones` (resolved [`Zone::parent`]); the result has the
/// zones of `parent_level` in `zones` order. Areas add exactly; quantities and values add in
/// child order with compensated summation. A row's unit value is kept when all children agree
/// (else blank, flagged `mixed_unit_values`).
///
/// Never drops a level silently: a zone finer than `parent_level` whose parent is coarser
/// (or missing) is an error ([`CoreError::RollUpSkipsLevel`]), and so is a parent without any
/// child account.
pub fn roll_up(
    accounts: &Accounts,
    zones: &[Zone],
    parent_level: Level,
) -> Result<Accounts, CoreError> {
    let cat = Catalog::builtin();
    let parent_of: HashMap<&str, &str> = zones
        .iter()
        .filter_map(|z| z.parent.as_deref().map(|p| (z.id.as_str(), p)))
        .collect();
    let services: Vec<String> = {
        let mut seen = BTreeSet::new();
        accounts
            .rows
            .iter()
            .filter(|r| seen.insert(r.service.clone()))
            .map(|r| r.service.to_string())
            .collect()
    };
    let svc_rank = |s: &str| services.iter().position(|x| x == s).unwrap_or(usize::MAX);
    let parents: Vec<&Zone> = zones.iter().filter(|z| z.level == parent_level).collect();
    if parents.is_empty() {
        return Err(CoreError::Account(format!(
            "no zones of level {parent_level} to roll up into; fix: load that level"
        )));
    }
    skipped_levels(accounts, zones, parent_level)?;
    type Key = ((usize, i64, String), usize, String, String);
    let mut groups: HashMap<&str, BTreeMap<Key, Vec<&AccountRow>>> = HashMap::new();
    for r in &accounts.rows {
        let Some(p) = parent_of.get(&*r.zone_id) else {
            continue;
        };
        let k = (
            type_sort_key(cat, &r.ecosystem_type),
            svc_rank(&r.service),
            r.ecosystem_type.to_string(),
            r.service.to_string(),
        );
        groups.entry(p).or_default().entry(k).or_default().push(r);
    }
    // A parent without any child account would get a GEP of 0: a plausible, wrong number
    // (its children's parents unresolved, or not valued). Refuse, naming them.
    let childless: Vec<&str> = parents
        .iter()
        .filter(|p| !groups.contains_key(p.id.as_str()))
        .map(|p| p.id.as_str())
        .collect();
    if !childless.is_empty() {
        return Err(CoreError::Account(format!(
            "{} {parent_level} zone(s) have no child accounts to roll up ({}{}): their GEP would be 0; resolve the zones' parents (gep_core::resolve_parents) and value every child zone, or roll up only the zones that have children",
            childless.len(),
            childless.iter().take(5).copied().collect::<Vec<_>>().join(", "),
            if childless.len() > 5 { ", ..." } else { "" }
        )));
    }
    let mut rows = Vec::new();
    for p in &parents {
        let Some(g) = groups.get(p.id.as_str()) else {
            continue;
        };
        for children in g.values() {
            let first = children[0];
            let area: ExactArea = children.iter().map(|r| r.area).sum();
            let opt_sum = |f: &dyn Fn(&AccountRow) -> Option<f64>| {
                if children.iter().all(|r| f(r).is_none()) {
                    None
                } else {
                    Some(neumaier_sum(children.iter().filter_map(|r| f(r))))
                }
            };
            let same_uv = children
                .iter()
                .all(|r| r.unit_value == first.unit_value && r.price_year == first.price_year);
            let mut flags: Vec<&str> = Vec::new();
            for r in children {
                for f in r.flags.split(';').filter(|f| !f.is_empty()) {
                    if !flags.contains(&f) {
                        flags.push(f);
                    }
                }
            }
            if !same_uv {
                flags.push("mixed_unit_values");
            }
            rows.push(AccountRow {
                zone_id: p.id.as_str().into(),
                zone_level: p.level,
                year: first.year,
                ecosystem_type: first.ecosystem_type.clone(),
                service: first.service.clone(),
                category: first.category,
                area_ha: area.to_m2() / M2_PER_HA,
                quantity: opt_sum(&|r| r.quantity),
                quantity_unit: first.quantity_unit.clone(),
                unit_value: if same_uv { first.unit_value } else { None },
                unit: first.unit.clone(),
                price_year: if same_uv { first.price_year } else { None },
                value_yuan: opt_sum(&|r| r.value_yuan),
                method: format!(
                    "sum of {} {} accounts; {}",
                    children.len(),
                    first.zone_level,
                    first.method
                )
                .into(),
                source: first.source.clone(),
                flags: flags.join(";").into(),
                area,
            });
        }
    }
    let gep = gep_rows(parents.iter().map(|z| (z.id.clone(), z.level)), &rows);
    Ok(Accounts {
        rows,
        gep,
        coefficient_set: accounts.coefficient_set.clone(),
        crosswalk: accounts.crosswalk.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extent::ZoneTally;

    #[test]
    fn ecosystem_extent_adds_back_to_the_classes_exactly() {
        let cw = Crosswalk::from_csv_str(
            "# id = \"t\"\n# version = \"1\"\ncode,ecosystem_type,share\n2,forest_evergreen_broadleaf,0.4\n2,forest_conifer,0.35\n2,shrub,0.25\n5,forest_conifer,0.1\n5,forest_bamboo,0.9\n",
            "t.csv",
        )
        .unwrap();
        let mut tally = ZoneTally::default();
        // A county's worth of 30 m cells on a geographic grid: sums with all 40 fraction bits.
        let a2 = ExactArea::from_m2(1.234_567_890_123e9 / 7.0);
        let a5 = ExactArea::from_m2(876_543.210_987_654_3);
        tally.add_class(2, a2);
        tally.add_class(5, a5);
        tally.add_class(9, ExactArea::from_m2(1.0)); // unmapped: left out
        let ext = ecosystem_extent(&tally, &cw);
        let total: ExactArea = ext.iter().map(|(_, a)| *a).sum();
        assert_eq!(total, a2 + a5);
        // Catalogue order; conifer gets 0.35 of class 2 plus 0.1 of class 5.
        let types: Vec<&str> = ext.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            types,
            [
                "forest_evergreen_broadleaf",
                "forest_conifer",
                "forest_bamboo",
                "shrub"
            ]
        );
        let conifer = ext[1].1.to_m2();
        let want = 0.35 * a2.to_m2() + 0.1 * a5.to_m2();
        assert!((conifer - want).abs() < 1e-6, "{conifer} vs {want}");
    }
}
