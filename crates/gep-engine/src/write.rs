//! An [`Assessment`]'s tables as files (through gep-report): `extent.csv`, `zones.csv`,
//! `checks.csv`, `failures.csv` and, when valued, `accounts.csv` and `gep.csv` (with the totals'
//! label: GEP or ESV, partial, price year) — the same
//! bytes the `gep run` command writes.

use crate::{Assessment, EngineError, UnitFailure};
use gep_core::{ExtentTable, Zone};
use gep_report::{write_csv, CheckCsvRow, ExtentRow, FailureRow, ZoneRow};
use std::path::Path;

/// Writes `extent.csv`, `zones.csv` and `checks.csv` into `dir`.
///
/// # Errors
/// When a file cannot be written, or `table` is not the extent of `zones`.
pub fn write_extent_tables(
    dir: &Path,
    basis: &str,
    zones: &[Zone],
    table: &ExtentTable,
    checks: &[gep_zonal::CheckRow],
) -> Result<(), EngineError> {
    table.check_zones(zones)?;
    let extent = zones.iter().zip(&table.zones).flat_map(|(z, t)| {
        t.classes.iter().map(move |(c, a)| ExtentRow {
            zone_id: &z.id,
            zone_level: z.level.as_str(),
            class: *c,
            area_m2: a.to_m2(),
        })
    });
    write_csv(&dir.join("extent.csv"), extent)?;
    let zrows = zones.iter().zip(&table.zones).map(|(z, t)| ZoneRow {
        zone_id: &z.id,
        zone_level: z.level.as_str(),
        name: &z.name,
        parent_id: z.parent.as_deref().unwrap_or(""),
        polygon_area_m2: t.total().to_m2(),
        covered_area_m2: t.covered().to_m2(),
        nodata_area_m2: t.nodata.to_m2(),
        outside_raster_area_m2: t.outside.to_m2(),
        area_basis: basis,
    });
    write_csv(&dir.join("zones.csv"), zrows)?;
    let crows = checks.iter().map(|c| CheckCsvRow {
        parent_id: &c.parent_id,
        level: c.level.as_str(),
        class: c.class,
        parent_area_m2: c.parent_area_m2,
        children_sum_m2: c.children_sum_m2,
        residual_m2: c.residual_m2,
        kind: c.kind.as_str(),
        children: c.children.join(";"),
    });
    write_csv(&dir.join("checks.csv"), crows)?;
    Ok(())
}

/// The rows of `failures.csv`.
pub fn failure_rows(failures: &[UnitFailure]) -> Vec<FailureRow> {
    failures
        .iter()
        .map(|f| FailureRow {
            unit_id: f.unit_id.clone(),
            name: f.name.clone(),
            reason: f.reason_text(),
        })
        .collect()
}

/// Writes every table of `assessment` into `dir` (which must exist).
///
/// # Errors
/// When a file cannot be written.
pub fn write_tables(assessment: &Assessment, dir: &Path) -> Result<(), EngineError> {
    write_extent_tables(
        dir,
        assessment.area_basis.as_str(),
        &assessment.zones,
        &assessment.extent,
        &assessment.checks,
    )?;
    if let (Some(a), Some(t)) = (&assessment.accounts, &assessment.totals) {
        write_csv(&dir.join("accounts.csv"), a.rows.iter())?;
        gep_report::write_gep_csv(&dir.join("gep.csv"), &a.gep, &t.label)?;
    }
    write_csv(
        &dir.join("failures.csv"),
        failure_rows(&assessment.failures).iter(),
    )?;
    Ok(())
}
