//! The opaque [`GepAssessment`] handle and what C reads from it: totals, zones, account rows,
//! failed units.

use crate::status::{c_string, guard, non_null, Failure, GEP_ERR_NOT_VALUED};
use gep_core::Level;
use gep_engine::Assessment;
use std::collections::HashMap;
use std::ffi::{c_char, c_int, CString};
use std::ptr;

/// Zone level: county (县级).
pub const GEP_LEVEL_COUNTY: c_int = 0;
/// Zone level: township (乡级).
pub const GEP_LEVEL_TOWNSHIP: c_int = 1;
/// Zone level: village (村级).
pub const GEP_LEVEL_VILLAGE: c_int = 2;

pub(crate) fn level_code(level: Level) -> c_int {
    match level {
        Level::County => GEP_LEVEL_COUNTY,
        Level::Township => GEP_LEVEL_TOWNSHIP,
        Level::Village => GEP_LEVEL_VILLAGE,
    }
}

/// The result of an assessment, owned by the caller until [`gep_assessment_free`]. Strings
/// read from it stay valid while it lives.
pub struct GepAssessment {
    assessment: Assessment,
    /// Every distinct string C may read, once each.
    strings: Vec<CString>,
    /// Per zone: id, parent id (`None` for top-level zones).
    zones: Vec<(usize, Option<usize>)>,
    /// Per account row: zone id, ecosystem type, service, category, quantity unit, unit.
    rows: Vec<[Option<usize>; 6]>,
    /// Per failed unit: unit id, reasons.
    failures: Vec<(CString, CString)>,
    /// Each warning as one line.
    warnings: Vec<CString>,
    method: Option<CString>,
}

/// Interns strings so that repeated ids, types and services are stored once.
#[derive(Default)]
struct Interner {
    index: HashMap<String, usize>,
    strings: Vec<CString>,
}

impl Interner {
    fn get(&mut self, s: &str) -> usize {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        self.strings.push(c_string(s));
        self.index.insert(s.to_string(), self.strings.len() - 1);
        self.strings.len() - 1
    }
}

impl GepAssessment {
    pub(crate) fn new(assessment: Assessment) -> GepAssessment {
        let mut strings = Interner::default();
        let zones = assessment
            .zones
            .iter()
            .map(|z| {
                (
                    strings.get(&z.id),
                    z.parent.as_deref().map(|p| strings.get(p)),
                )
            })
            .collect();
        let rows = assessment
            .accounts
            .iter()
            .flat_map(|a| &a.rows)
            .map(|r| {
                [
                    Some(strings.get(&r.zone_id)),
                    Some(strings.get(&r.ecosystem_type)),
                    Some(strings.get(&r.service)),
                    Some(strings.get(r.category.as_str())),
                    r.quantity_unit.as_deref().map(|u| strings.get(u)),
                    Some(strings.get(&r.unit)),
                ]
            })
            .collect();
        let failures = assessment
            .failures
            .iter()
            .map(|f| (c_string(&f.unit_id), c_string(&f.reason_text())))
            .collect();
        let warnings = assessment
            .warnings
            .iter()
            .map(|w| c_string(&w.to_string()))
            .collect();
        let method = assessment.totals.as_ref().map(|t| c_string(&t.method));
        GepAssessment {
            assessment,
            strings: strings.strings,
            zones,
            rows,
            failures,
            warnings,
            method,
        }
    }

    fn text(&self, i: Option<usize>) -> *const c_char {
        i.map_or(ptr::null(), |i| self.strings[i].as_ptr())
    }
}

/// The totals over the top-level zones (counties) that were computed.
///
/// Values in 元 per year at `price_year`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct GepTotals {
    /// The headline total, 元/a: GEP (material + regulating + cultural), or for an ESV
    /// (`total_kind`) the equivalent-factor total, supporting services included.
    pub gep_yuan: f64,
    /// Material products (物质产品), 元/a.
    pub material_yuan: f64,
    /// Regulating services (调节服务), 元/a.
    pub regulating_yuan: f64,
    /// Cultural services (文化服务), 元/a.
    pub cultural_yuan: f64,
    /// 1 when `price_year` holds the price year of every value; 0 for stock sets (no price).
    pub has_price_year: c_int,
    /// The price year (valid when `has_price_year` is 1).
    pub price_year: i32,
    /// D, the value of one standard equivalent factor, 元/ha/a at the price year, for
    /// equivalent-factor sets; NaN otherwise.
    pub equivalent_value: f64,
    /// Top-level zones summed.
    pub zones: usize,
    /// How the values were made: the coefficient set's kind and id@version (valid while the
    /// assessment lives).
    pub method: *const c_char,
    /// Supporting services (ESV only: nutrient cycling, biodiversity), 元/a: in `gep_yuan` for
    /// an ESV, never in a GEP.
    pub supporting_yuan: f64,
    /// Final services only (material + regulating + cultural), 元/a: what GEP counts.
    pub final_yuan: f64,
    /// What `gep_yuan` is: `GEP_TOTAL_GEP`, `GEP_TOTAL_ESV` (equivalent-factor estimate,
    /// supporting services included) or `GEP_TOTAL_STOCK`.
    pub total_kind: c_int,
    /// 1 when the set values only part of its edition's service list (a partial total).
    pub partial: c_int,
    /// Share of the value resting on example, derived or unverified coefficients, [0, 1].
    pub flagged_share: f64,
}

/// `GepTotals::total_kind`: gross ecosystem product, final services only.
pub const GEP_TOTAL_GEP: c_int = 0;
/// `GepTotals::total_kind`: ecosystem-service value by equivalent factors (not GEP).
pub const GEP_TOTAL_ESV: c_int = 1;
/// `GepTotals::total_kind`: stocks (physical quantities, not valued).
pub const GEP_TOTAL_STOCK: c_int = 2;

/// One zone of the assessment: counties first, each followed by its townships and villages.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct GepZone {
    /// The zone's id (valid while the assessment lives).
    pub id: *const c_char,
    /// `GEP_LEVEL_COUNTY`, `GEP_LEVEL_TOWNSHIP` or `GEP_LEVEL_VILLAGE`.
    pub level: c_int,
    /// The parent's id, NULL for a top-level zone.
    pub parent_id: *const c_char,
    /// Area over valid (not nodata) cells, m².
    pub covered_m2: f64,
    /// Area over nodata cells, m².
    pub nodata_m2: f64,
    /// Area beyond the raster, m².
    pub outside_m2: f64,
    /// The zone's GEP, 元/a (NaN when the assessment was not valued).
    pub gep_yuan: f64,
    /// Material products, 元/a (NaN when not valued).
    pub material_yuan: f64,
    /// Regulating services, 元/a (NaN when not valued).
    pub regulating_yuan: f64,
    /// Cultural services, 元/a (NaN when not valued).
    pub cultural_yuan: f64,
    /// Supporting services (ESV only), 元/a (NaN when not valued).
    pub supporting_yuan: f64,
}

/// One account row: a zone × ecosystem type × service (a row of `accounts.csv`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct GepAccountRow {
    /// The zone's id.
    pub zone_id: *const c_char,
    /// The zone's level (`GEP_LEVEL_*`).
    pub zone_level: c_int,
    /// Ecosystem type code (for class-keyed stock sets `class:N`).
    pub ecosystem_type: *const c_char,
    /// Service code.
    pub service: *const c_char,
    /// `material`, `regulating`, `cultural` or `stock`.
    pub category: *const c_char,
    /// Area of the ecosystem type in the zone, ha.
    pub area_ha: f64,
    /// Physical quantity (per year for flows), NaN when the set gives none.
    pub quantity: f64,
    /// Unit of `quantity`, NULL when absent.
    pub quantity_unit: *const c_char,
    /// Value per ha per year (元/ha/a), or the stock per ha for stock sets; NaN for NA.
    pub unit_value: f64,
    /// Unit of `unit_value`.
    pub unit: *const c_char,
    /// 1 when `price_year` is set (0 for stocks).
    pub has_price_year: c_int,
    /// Price year of `unit_value` and `value_yuan`.
    pub price_year: i32,
    /// Value, 元/a at full precision; NaN for stocks and NA entries.
    pub value_yuan: f64,
}

/// A unit of work (a county and everything below it) that could not be computed; it is absent
/// from the zones, rows and totals.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct GepFailure {
    /// The unit's (county's) id.
    pub unit_id: *const c_char,
    /// Why, in one line, naming the feature or classes and the fix.
    pub reason: *const c_char,
}

/// `a` as a reference, or a bad-argument failure when it is NULL.
///
/// # Safety
/// `a` is NULL or a pointer returned by this library and not yet freed.
unsafe fn handle<'a>(a: *const GepAssessment) -> Result<&'a GepAssessment, Failure> {
    non_null(a, "the assessment")?;
    // SAFETY: non-null, and by the caller's contract a live handle from Box::into_raw.
    Ok(unsafe { &*a })
}

/// Writes `value` to `out`, or fails when `out` is NULL.
///
/// # Safety
/// `out` is NULL or valid for a write of `T`.
unsafe fn put<T: Copy>(out: *mut T, value: T) -> Result<(), Failure> {
    non_null(out, "the output pointer")?;
    // SAFETY: non-null and, by the caller's contract, valid for writes; `T: Copy` C structs
    // have nothing to drop, so `write` loses nothing.
    unsafe { out.write(value) };
    Ok(())
}

fn check_index(i: usize, len: usize, what: &str) -> Result<(), Failure> {
    if i < len {
        Ok(())
    } else {
        Err(Failure::bad_argument(format!(
            "{what} index {i} is out of range (there are {len})"
        )))
    }
}

/// Writes the totals of `assessment` to `*out`.
///
/// Returns `GEP_ERR_NOT_VALUED` when the assessment was run without a coefficient set.
///
/// # Safety
/// `assessment` is a live handle; `out` points to writable memory for a `GepTotals`.
#[no_mangle]
pub unsafe extern "C" fn gep_assessment_totals(
    assessment: *const GepAssessment,
    out: *mut GepTotals,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from this function's contract.
        let a = unsafe { handle(assessment) }?;
        let Some(t) = &a.assessment.totals else {
            return Err(Failure {
                code: GEP_ERR_NOT_VALUED,
                message: "the assessment has no totals: it was run without a coefficient set"
                    .into(),
            });
        };
        let totals = GepTotals {
            gep_yuan: t.gep_yuan,
            material_yuan: t.material_yuan,
            regulating_yuan: t.regulating_yuan,
            cultural_yuan: t.cultural_yuan,
            has_price_year: c_int::from(t.price_year.is_some()),
            price_year: t.price_year.unwrap_or(0),
            equivalent_value: t.equivalent_value.unwrap_or(f64::NAN),
            zones: t.zones,
            method: a.method.as_ref().map_or(ptr::null(), |m| m.as_ptr()),
            supporting_yuan: t.supporting_yuan,
            final_yuan: t.final_yuan,
            total_kind: match t.label.kind {
                gep_core::TotalKind::Gep => GEP_TOTAL_GEP,
                gep_core::TotalKind::Esv => GEP_TOTAL_ESV,
                gep_core::TotalKind::Stock => GEP_TOTAL_STOCK,
            },
            partial: c_int::from(t.label.partial()),
            flagged_share: t.basis.flagged_share(),
        };
        // SAFETY: forwarded from this function's contract.
        unsafe { put(out, totals) }
    })
}

/// The number of zones computed (0 when `assessment` is NULL).
///
/// # Safety
/// `assessment` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn gep_assessment_zone_count(assessment: *const GepAssessment) -> usize {
    // SAFETY: forwarded from this function's contract.
    unsafe { handle(assessment) }.map_or(0, |a| a.zones.len())
}

/// Writes zone `index` (0-based, in [`gep_assessment_zone_count`] order) to `*out`.
///
/// # Safety
/// `assessment` is a live handle; `out` points to writable memory for a `GepZone`.
#[no_mangle]
pub unsafe extern "C" fn gep_assessment_zone(
    assessment: *const GepAssessment,
    index: usize,
    out: *mut GepZone,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from this function's contract.
        let a = unsafe { handle(assessment) }?;
        check_index(index, a.zones.len(), "zone")?;
        let zone = &a.assessment.zones[index];
        let (id, parent) = a.zones[index];
        // The extent table is labelled with the zones' ids in zone order (checked by the
        // engine): the tally is at the same index, no search per zone.
        let tally = a
            .assessment
            .extent
            .zones
            .get(index)
            .filter(|_| a.assessment.extent.zone_ids.get(index) == Some(&zone.id));
        let m2 = |f: fn(&gep_core::ZoneTally) -> gep_core::ExactArea| {
            tally.map_or(f64::NAN, |t| f(t).to_m2())
        };
        // The accounts' GEP rows are in zone order, one per zone.
        let gep = a.assessment.accounts.as_ref().map(|acc| &acc.gep[index]);
        let value = |f: fn(&gep_core::GepRow) -> f64| gep.map_or(f64::NAN, f);
        let row = GepZone {
            id: a.text(Some(id)),
            level: level_code(zone.level),
            parent_id: a.text(parent),
            covered_m2: m2(|t| t.covered()),
            nodata_m2: m2(|t| t.nodata),
            outside_m2: m2(|t| t.outside),
            gep_yuan: value(|g| g.gep_yuan),
            material_yuan: value(|g| g.material_yuan),
            regulating_yuan: value(|g| g.regulating_yuan),
            cultural_yuan: value(|g| g.cultural_yuan),
            supporting_yuan: value(|g| g.supporting_yuan),
        };
        // SAFETY: forwarded from this function's contract.
        unsafe { put(out, row) }
    })
}

/// The number of account rows (0 when not valued or `assessment` is NULL).
///
/// # Safety
/// `assessment` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn gep_assessment_row_count(assessment: *const GepAssessment) -> usize {
    // SAFETY: forwarded from this function's contract.
    unsafe { handle(assessment) }.map_or(0, |a| a.rows.len())
}

/// Writes account row `index` (0-based; rows in zone order, then ecosystem type, then
/// service) to `*out`.
///
/// # Safety
/// `assessment` is a live handle; `out` points to writable memory for a `GepAccountRow`.
#[no_mangle]
pub unsafe extern "C" fn gep_assessment_row(
    assessment: *const GepAssessment,
    index: usize,
    out: *mut GepAccountRow,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from this function's contract.
        let a = unsafe { handle(assessment) }?;
        check_index(index, a.rows.len(), "account row")?;
        // Rows exist only when there are accounts.
        let Some(r) = a.assessment.accounts.as_ref().map(|acc| &acc.rows[index]) else {
            return Err(Failure::bad_argument("the assessment has no account rows"));
        };
        let [zone_id, ecosystem_type, service, category, quantity_unit, unit] = a.rows[index];
        let row = GepAccountRow {
            zone_id: a.text(zone_id),
            zone_level: level_code(r.zone_level),
            ecosystem_type: a.text(ecosystem_type),
            service: a.text(service),
            category: a.text(category),
            area_ha: r.area_ha,
            quantity: r.quantity.unwrap_or(f64::NAN),
            quantity_unit: a.text(quantity_unit),
            unit_value: r.unit_value.unwrap_or(f64::NAN),
            unit: a.text(unit),
            has_price_year: c_int::from(r.price_year.is_some()),
            price_year: r.price_year.unwrap_or(0),
            value_yuan: r.value_yuan.unwrap_or(f64::NAN),
        };
        // SAFETY: forwarded from this function's contract.
        unsafe { put(out, row) }
    })
}

/// The number of units (counties) that failed (0 when `assessment` is NULL).
///
/// # Safety
/// `assessment` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn gep_assessment_failure_count(assessment: *const GepAssessment) -> usize {
    // SAFETY: forwarded from this function's contract.
    unsafe { handle(assessment) }.map_or(0, |a| a.failures.len())
}

/// Writes failed unit `index` (0-based) to `*out`.
///
/// # Safety
/// `assessment` is a live handle; `out` points to writable memory for a `GepFailure`.
#[no_mangle]
pub unsafe extern "C" fn gep_assessment_failure(
    assessment: *const GepAssessment,
    index: usize,
    out: *mut GepFailure,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from this function's contract.
        let a = unsafe { handle(assessment) }?;
        check_index(index, a.failures.len(), "failure")?;
        let (unit_id, reason) = &a.failures[index];
        let failure = GepFailure {
            unit_id: unit_id.as_ptr(),
            reason: reason.as_ptr(),
        };
        // SAFETY: forwarded from this function's contract.
        unsafe { put(out, failure) }
    })
}

/// The number of warnings about results that were computed (a county partly off the
/// raster or over nodata, check rows beyond tolerance, ...); 0 when `assessment` is NULL.
///
/// # Safety
/// `assessment` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn gep_assessment_warning_count(assessment: *const GepAssessment) -> usize {
    // SAFETY: forwarded from this function's contract.
    unsafe { handle(assessment) }.map_or(0, |a| a.warnings.len())
}

/// Writes warning `index` (0-based) as one line of UTF-8 text to `*out`, valid while the
/// assessment lives.
///
/// # Safety
/// `assessment` is a live handle; `out` is valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn gep_assessment_warning(
    assessment: *const GepAssessment,
    index: usize,
    out: *mut *const c_char,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from this function's contract.
        let a = unsafe { handle(assessment) }?;
        check_index(index, a.warnings.len(), "warning")?;
        // SAFETY: forwarded from this function's contract.
        unsafe { put(out, a.warnings[index].as_ptr()) }
    })
}

/// Frees an assessment and every string read from it. NULL is ignored.
///
/// # Safety
/// `assessment` is NULL or a live handle, not used again after this call.
#[no_mangle]
pub unsafe extern "C" fn gep_assessment_free(assessment: *mut GepAssessment) {
    if assessment.is_null() {
        return;
    }
    // Dropping runs no user code that could panic across the boundary, but guard it anyway.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: a live handle made by Box::into_raw in `into_handle`, freed once by contract.
        drop(unsafe { Box::from_raw(assessment) });
    }));
}

/// Hands `assessment` to C through `out`.
///
/// # Safety
/// `out` is valid for a write of a pointer (checked non-null by the caller).
pub(crate) unsafe fn into_handle(assessment: Assessment, out: *mut *mut GepAssessment) {
    let handle = Box::into_raw(Box::new(GepAssessment::new(assessment)));
    // SAFETY: by this function's contract.
    unsafe { out.write(handle) };
}
