//! Warnings about computed results, as data: partial coverage and check rows beyond the
//! tolerances.

use crate::Warning;
use gep_core::{ExtentTable, Level, Zone};
use gep_zonal::{CheckKind, CheckRow};
use std::collections::{BTreeMap, HashMap};

/// A top-level zone partly off the raster or over nodata cells is valued only on the rest:
/// said, with the share, rather than let a low GEP pass for a real one.
pub fn coverage(zones: &[Zone], table: &ExtentTable) -> Vec<Warning> {
    zones
        .iter()
        .zip(&table.zones)
        .filter(|(z, _)| z.parent.is_none())
        .filter_map(|(z, t)| {
            let total = t.total().to_m2();
            let missing = (t.outside + t.nodata).to_m2();
            (total > 0.0 && missing > 1e-6 * total).then(|| Warning::PartialCoverage {
                zone_id: z.id.clone(),
                name: z.name.clone(),
                level: z.level,
                missing_percent: 100.0 * missing / total,
                outside_m2: t.outside.to_m2(),
                nodata_m2: t.nodata.to_m2(),
            })
        })
        .collect()
}

/// Conservation failures: sum rows whose residual exceeds 1e-8 of the parent's area, and gap,
/// overlap and spill rows above 1e-7 of it; and every top-level overlap.
///
/// Why not zero: boundaries reprojected from lon/lat keep shared edges bit-identical, but where
/// a village edge ends on a county edge (a T-junction) the county's densified chord and the
/// village's vertex differ by the sagitta of a ~100 m chord of the projected curve (~0.1 mm),
/// leaving slivers of ~1e-9 of a parent's area. Those are noise, not boundary errors.
pub fn checks(checks: &[CheckRow]) -> Vec<Warning> {
    let mut out = Vec::new();
    let mut top: BTreeMap<&[String], f64> = BTreeMap::new();
    for c in checks.iter().filter(|c| c.is_top_level()) {
        *top.entry(&c.children).or_default() += c.residual_m2.abs();
    }
    if !top.is_empty() {
        out.push(Warning::TopLevelOverlap {
            pairs: top.into_iter().map(|(p, a)| (p.to_vec(), a)).collect(),
        });
    }
    // Scale: the parent's whole area (Σ of its per-class sum rows), not the class's area.
    let mut totals: HashMap<(&str, Level), f64> = HashMap::new();
    for c in checks.iter().filter(|c| c.kind == CheckKind::Sum) {
        *totals.entry((c.parent_id.as_str(), c.level)).or_default() += c.parent_area_m2.abs();
    }
    let mut by_kind: BTreeMap<&str, (usize, f64, &str)> = BTreeMap::new();
    for c in checks.iter().filter(|c| !c.is_top_level()) {
        let parent = totals
            .get(&(c.parent_id.as_str(), c.level))
            .copied()
            .unwrap_or(c.parent_area_m2.abs())
            .max(1.0);
        let bad = match c.kind {
            CheckKind::Sum => c.residual_m2.abs() > 1e-8 * parent,
            _ => c.residual_m2.abs() > 1e-7 * parent,
        };
        if bad {
            let e = by_kind
                .entry(c.kind.as_str())
                .or_insert((0, 0.0, &c.parent_id));
            e.0 += 1;
            if c.residual_m2.abs() > e.1 {
                e.1 = c.residual_m2.abs();
                e.2 = &c.parent_id;
            }
        }
    }
    for (kind, (rows, worst_m2, parent)) in by_kind {
        out.push(Warning::Checks {
            kind: kind.to_string(),
            rows,
            worst_m2,
            parent: parent.to_string(),
        });
    }
    out
}
