//! An [`Assessment`]'s tables as files (through gep-report): `extent.csv`, `zones.csv`,
//! `checks.csv`, `failures.csv`, with a crosswalk `extent_types.csv`, when valued
//! `accounts.csv` and `gep.csv` (with the totals' label: GEP or ESV, partial, price year), and
//! with models `quantities.csv` and `layer_sums.csv` — the same bytes the `gep run` command
//! writes. Zone tables carry the zone's name and the ids and names of its county and township
//! after their other columns; ecosystem types and services carry their Chinese and English
//! names.

use crate::{Assessment, EngineError, UnitFailure};
use gep_core::crosswalk::Crosswalk;
use gep_core::{ExtentTable, Zone};
use gep_report::{
    write_csv, CheckCsvRow, ClassTypes, ExtentRow, ExtentTypeRow, FailureRow, LayerSumRow,
    QuantityCsvRow, ZoneDirectory, ZoneRow,
};
use std::path::Path;

/// Writes `extent.csv`, `zones.csv` and `checks.csv` into `dir`, and with a crosswalk
/// `extent_types.csv` (zone × ecosystem type areas with the types' names); returns the names
/// of the files written.
///
/// # Errors
/// When a file cannot be written, or `table` is not the extent of `zones`.
pub fn write_extent_tables(
    dir: &Path,
    basis: &str,
    zones: &[Zone],
    table: &ExtentTable,
    checks: &[gep_zonal::CheckRow],
    crosswalk: Option<&Crosswalk>,
) -> Result<Vec<&'static str>, EngineError> {
    table.check_zones(zones)?;
    let names = ZoneDirectory::of_zones(zones);
    let class_types = crosswalk.map(ClassTypes::of_crosswalk).unwrap_or_default();
    let none = ClassTypes::default();
    let extent = zones.iter().zip(&table.zones).flat_map(|(z, t)| {
        let class_types = &class_types;
        let none = &none;
        t.classes.iter().map(move |(c, a)| {
            let ty = class_types.get(c).unwrap_or(none);
            ExtentRow {
                zone_id: &z.id,
                zone_level: z.level.as_str(),
                class: *c,
                area_m2: a.to_m2(),
                ecosystem_type: &ty.codes,
                ecosystem_type_zh: &ty.zh,
                ecosystem_type_en: &ty.en,
                ecosystem_share: &ty.shares,
            }
        })
    });
    write_csv(&dir.join("extent.csv"), extent)?;
    let zrows = zones.iter().zip(&table.zones).map(|(z, t)| {
        let c = names.get(&z.id);
        ZoneRow {
            zone_id: &z.id,
            zone_level: z.level.as_str(),
            name: &z.name,
            parent_id: z.parent.as_deref().unwrap_or(""),
            polygon_area_m2: t.total().to_m2(),
            covered_area_m2: t.covered().to_m2(),
            nodata_area_m2: t.nodata.to_m2(),
            outside_raster_area_m2: t.outside.to_m2(),
            area_basis: basis,
            county_id: &c.county_id,
            county_name: &c.county_name,
            township_id: &c.township_id,
            township_name: &c.township_name,
        }
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
    let mut written = vec!["extent.csv", "zones.csv", "checks.csv"];
    if let Some(cw) = crosswalk {
        write_extent_types(&dir.join("extent_types.csv"), zones, table, cw, &names)?;
        written.push("extent_types.csv");
    }
    Ok(written)
}

/// Writes `extent_types.csv`: each zone's area by ecosystem type (through `cw`, in catalogue
/// order), with the types' Chinese and English names and where the zone lies.
///
/// # Errors
/// When the file cannot be written.
pub fn write_extent_types(
    path: &Path,
    zones: &[Zone],
    table: &ExtentTable,
    cw: &Crosswalk,
    names: &ZoneDirectory,
) -> Result<(), EngineError> {
    let cat = gep_core::catalog::Catalog::builtin();
    let per_zone: Vec<Vec<(String, gep_core::ExactArea)>> = table
        .zones
        .iter()
        .map(|t| gep_core::account::ecosystem_extent(t, cw))
        .collect();
    let rows = zones.iter().zip(&per_zone).flat_map(|(z, types)| {
        let c = names.get(&z.id);
        types.iter().map(move |(ty, area)| {
            let e = cat.ecosystem(ty);
            let m2 = area.to_m2();
            ExtentTypeRow {
                zone_id: &z.id,
                zone_level: z.level.as_str(),
                ecosystem_type: ty,
                ecosystem_type_zh: e.map_or("", |e| e.zh.as_str()),
                ecosystem_type_en: e.map_or("", |e| e.en.as_str()),
                area_m2: m2,
                area_ha: m2 / gep_core::units::M2_PER_HA,
                name: &c.name,
                county_id: &c.county_id,
                county_name: &c.county_name,
                township_id: &c.township_id,
                township_name: &c.township_name,
            }
        })
    });
    write_csv(path, rows)?;
    Ok(())
}

/// Writes `accounts.csv` and `gep.csv` (with `label`, the totals' label) into `dir`, with the
/// names of `zones`.
///
/// # Errors
/// When a file cannot be written.
pub fn write_account_tables(
    dir: &Path,
    zones: &[Zone],
    accounts: &gep_core::account::Accounts,
    label: &gep_core::TotalLabel,
) -> Result<(), EngineError> {
    let names = ZoneDirectory::of_zones(zones);
    gep_report::write_accounts_csv(&dir.join("accounts.csv"), &accounts.rows, &names)?;
    gep_report::write_gep_csv(&dir.join("gep.csv"), &accounts.gep, label, &names)?;
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
            reason_zh: f.reason_in(gep_core::Lang::Zh),
        })
        .collect()
}

/// Writes `quantities.csv` (the models' quantities by zone × class) and `layer_sums.csv` (the
/// weighted sums of every continuous layer by zone × class) into `dir`, and `sensitivity.csv`
/// when the quantities were valued with ranged parameters; returns the names of the files
/// written.
///
/// # Errors
/// When a file cannot be written, or the sums are not of `zones`.
pub fn write_physical_tables(
    dir: &Path,
    zones: &[Zone],
    extent: &ExtentTable,
    physical: &crate::Physical,
    year: Option<i32>,
) -> Result<Vec<&'static str>, EngineError> {
    physical.sums.check_zones(zones)?;
    let level: std::collections::HashMap<&str, &str> = zones
        .iter()
        .map(|z| (z.id.as_str(), z.level.as_str()))
        .collect();
    let rows = physical.quantities.iter().map(|q| QuantityCsvRow {
        zone_id: &q.zone_id,
        zone_level: level.get(q.zone_id.as_str()).copied().unwrap_or(""),
        year,
        model: q.model,
        quantity: q.name,
        class: q.class,
        value: q.value,
        unit: q.unit,
        area_m2: q.area_m2,
        area_without_data_m2: q.area_without_data_m2,
        method: &q.method,
    });
    write_csv(&dir.join("quantities.csv"), rows)?;
    let sums = &physical.sums;
    let rows = zones
        .iter()
        .zip(&sums.zones)
        .zip(&extent.zones)
        .flat_map(|((z, zs), t)| {
            zs.classes.iter().flat_map(move |(class, cs)| {
                let class_area = t.classes.get(class).map_or(0.0, |a| a.to_m2());
                sums.layers.iter().enumerate().map(move |(i, l)| {
                    let without = cs.missing[i].to_m2();
                    let with = (class_area - without).max(0.0);
                    let sum = cs.sums[i].to_f64();
                    LayerSumRow {
                        zone_id: &z.id,
                        zone_level: z.level.as_str(),
                        class: *class,
                        layer: &l.name,
                        unit: &l.unit,
                        sum,
                        mean: (with > 0.0).then(|| sum / with),
                        area_m2: with,
                        area_without_data_m2: without,
                    }
                })
            })
        });
    write_csv(&dir.join("layer_sums.csv"), rows)?;
    let mut written = vec!["quantities.csv", "layer_sums.csv"];
    if !physical.sensitivity.is_empty() {
        write_csv(&dir.join("sensitivity.csv"), physical.sensitivity.iter())?;
        written.push("sensitivity.csv");
    }
    Ok(written)
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
        assessment.crosswalk.as_ref(),
    )?;
    if let (Some(a), Some(t)) = (&assessment.accounts, &assessment.totals) {
        write_account_tables(dir, &assessment.zones, a, &t.label)?;
    }
    if let Some(p) = &assessment.physical {
        write_physical_tables(
            dir,
            &assessment.zones,
            &assessment.extent,
            p,
            assessment
                .accounts
                .as_ref()
                .and_then(|a| a.rows.first())
                .map(|r| r.year),
        )?;
    }
    write_csv(
        &dir.join("failures.csv"),
        failure_rows(&assessment.failures).iter(),
    )?;
    Ok(())
}
