//! The stages after pre-flight, composed: tally (with the hierarchy geometry alongside),
//! classes the crosswalk does not map, checks and accounts → [`Assessment`].

use super::cache::{TallyCache, TallyStore};
use super::config::Plan;
use super::prepare::{failures, hierarchy_geometry, prepare, tally_by_unit, Prepared, Unit};
use super::{Context, Result};
use crate::{Assessment, EngineError, FailureReason};
use gep_core::{RasterSource, Reporter, Zone};
use std::collections::HashMap;

/// An assessment and how it was made.
pub struct Assessed {
    /// The result.
    pub assessment: Assessment,
    /// Counties whose tally came from the store.
    pub resumed: usize,
    /// Wall-clock seconds of the steps (`tally`, `hierarchy geometry`, `hierarchy checks`,
    /// `accounts`).
    pub steps: Vec<(String, f64)>,
    /// The gap, overlap and spill polygons that gave rows in the checks, in
    /// `pieces_crs` (the boundaries' own CRS, see [`super::SourceGeometry::pieces_crs`]).
    pub pieces: Vec<CheckPiece>,
    /// The CRS of `pieces`.
    pub pieces_crs: gep_io::Crs,
}

/// A gap, overlap or spill polygon found by the hierarchy checks, as `zones.gpkg` shows it.
#[derive(Debug, Clone)]
pub struct CheckPiece {
    /// The parent zone; empty for an overlap between two top-level zones.
    pub parent_id: String,
    /// The children's level.
    pub level: gep_core::Level,
    /// Gap, overlap or spill.
    pub kind: gep_zonal::CheckKind,
    /// The two zones of an overlap; empty otherwise.
    pub children: Vec<String>,
    /// Its area tallied on the raster's grid (as `checks.csv` counts it), m².
    pub area_m2: f64,
    /// The polygon, in the boundaries' CRS.
    pub geometry: geo::MultiPolygon<f64>,
}

fn timed<T>(steps: &std::sync::Mutex<Vec<(String, f64)>>, step: &str, f: impl FnOnce() -> T) -> T {
    let t = std::time::Instant::now();
    let out = f();
    if let Ok(mut s) = steps.lock() {
        s.push((step.to_string(), t.elapsed().as_secs_f64()));
    }
    out
}

/// A tally store that stores nothing and finds nothing (every county is tallied).
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

/// The gap, overlap and spill rows (top-level overlaps included) that `gep run` writes into
/// `checks.csv` for `plan`: the same stages as a run ([`assess_prepared`], without a resume
/// store), keeping the check rows that are not sums. `prep`'s units are updated as a run
/// updates them (counties with classes the crosswalk does not map fail).
///
/// # Errors
/// As [`assess`].
pub fn boundary_checks(
    plan: &Plan,
    prep: &mut Prepared,
    reporter: &dyn Reporter,
) -> Result<Vec<gep_zonal::CheckRow>> {
    let mut plan = plan.clone();
    plan.resume = false;
    let assessed = assess_prepared(&plan, prep, &NoStore, reporter)?;
    Ok(assessed
        .assessment
        .checks
        .into_iter()
        .filter(|c| c.kind != gep_zonal::CheckKind::Sum)
        .collect())
}

/// Reads, pre-flights and assesses `plan` (without a resume store: every county is tallied).
///
/// # Errors
/// Problems that concern the whole run (a plan that cannot be read, an input that cannot be
/// read at all). A county that cannot be computed is a [`crate::UnitFailure`] in the result.
pub fn assess(plan: &Plan, reporter: &dyn Reporter) -> Result<Assessment> {
    let mut prep = prepare(plan, reporter)?;
    let mut plan = plan.clone();
    plan.resume = false;
    Ok(assess_prepared(&plan, &mut prep, &NoStore, reporter)?.assessment)
}

/// The stages after [`prepare`]: tallies the counties that passed pre-flight (one pass over
/// the raster; with `plan.resume`, counties found in `store` are loaded instead, and every
/// county tallied is stored as it completes), clips the hierarchy's polygons alongside, fails
/// the counties with classes the crosswalk does not map (marking them in `prep.units`), then
/// computes the checks and the accounts.
///
/// # Errors
/// As [`assess`].
pub fn assess_prepared(
    plan: &Plan,
    prep: &mut Prepared,
    store: &dyn TallyStore,
    reporter: &dyn Reporter,
) -> Result<Assessed> {
    let steps = std::sync::Mutex::new(Vec::new());
    let ok_units: Vec<&Unit> = prep.units.iter().filter(|u| u.failure.is_none()).collect();
    let run_idx: Vec<usize> = ok_units
        .iter()
        .flat_map(|u| u.members.iter().copied())
        .collect();
    let run_zones: Vec<Zone> = run_idx.iter().map(|&i| prep.zones[i].clone()).collect();
    let opts = gep_zonal::TallyOptions {
        threads: plan.threads,
        ..Default::default()
    };
    let check_opts = gep_zonal::CheckOptions {
        geometry: plan.geometry_checks,
        tally: opts,
        ..Default::default()
    };
    // The gap/overlap/spill polygons need no raster: with more than one thread they are
    // clipped while the counties are tallied.
    let target_crs = prep.raster.crs().clone();
    let source = &prep.source;
    let pieces_crs = source.pieces_crs().unwrap_or(&target_crs).clone();
    type Clipped = (gep_zonal::HierarchyGeometry, Vec<geo::MultiPolygon<f64>>);
    let geometry = || -> Result<Option<Clipped>> {
        if !plan.geometry_checks {
            return Ok(None);
        }
        timed(&steps, "hierarchy geometry", || {
            hierarchy_geometry(&run_zones, source, &target_crs, &check_opts).map(Some)
        })
    };
    let prep_ref: &Prepared = prep;
    let tally = || {
        timed(&steps, "tally", || {
            tally_by_unit(
                plan, prep_ref, &ok_units, &run_zones, store, &opts, reporter,
            )
        })
    };
    let (tallied, geometry) = if plan.threads == 1 {
        (tally()?, geometry()?)
    } else {
        std::thread::scope(|sc| -> Result<_> {
            let g = sc.spawn(geometry);
            let t = tally();
            let g = g
                .join()
                .map_err(|_| EngineError::Panicked("the hierarchy geometry"))?;
            Ok((t?, g?))
        })?
    };
    let resumed = tallied.resumed;
    let mut table = tallied.table;
    let mut sums = tallied.sums;
    let pos: HashMap<usize, usize> = run_idx.iter().enumerate().map(|(k, &i)| (i, k)).collect();
    let guards = crate::guards::after_tally(&run_zones, &table, prep.valuation.as_ref());
    fail_unmapped(prep, &table, &pos);
    let zones = keep_ok(prep, run_zones, &mut table, &pos);
    if let Some(s) = sums.as_mut() {
        // The same zones as the extent table (ids are unique).
        let kept: std::collections::HashSet<&str> =
            table.zone_ids.iter().map(String::as_str).collect();
        s.retain(|id| kept.contains(id));
    }
    let mut physical = match (sums, prep.models.as_ref()) {
        (Some(sums), Some(m)) => Some(timed(&steps, "models", || {
            physical_quantities(&table, sums, m)
        })?),
        _ => None,
    };
    reporter.event(&gep_core::ProgressEvent::Checking);
    if prep.valuation.is_some() {
        reporter.event(&gep_core::ProgressEvent::Valuing);
    }
    let (geometry, pieces_out) = match geometry {
        Some((g, p)) => (Some(g), p),
        None => (None, Vec::new()),
    };
    let (checks, reported, mut accounts) =
        checks_and_accounts(prep, &zones, &table, geometry.as_ref(), &check_opts, &steps)?;
    let pieces: Vec<CheckPiece> = match &geometry {
        Some(g) => {
            let all: Vec<gep_zonal::PieceRef<'_>> = g.pieces().collect();
            reported
                .iter()
                .map(|r| {
                    let p = all[r.index];
                    CheckPiece {
                        parent_id: p.parent_id.unwrap_or("").to_string(),
                        level: p.level,
                        kind: p.kind,
                        children: p.children.to_vec(),
                        area_m2: r.area_m2,
                        geometry: pieces_out[r.index].clone(),
                    }
                })
                .collect()
        }
        None => Vec::new(),
    };
    let valuation = prep.valuation.as_ref();
    let mut warnings = prep.warnings.clone();
    if let (Some((stats, shares)), Some(acc), Some(v)) =
        (&prep.statistics, accounts.as_mut(), valuation)
    {
        let allocation = timed(&steps, "statistics", || -> Result<_> {
            let cw = v.crosswalk.as_ref().ok_or_else(|| {
                EngineError::plan(
                    "[statistics] allocates by the area of ecosystem types: the coefficient set needs a crosswalk",
                )
            })?;
            let areas = gep_core::statistics::ZoneAreas::from_extent(&table, cw)?;
            Ok(gep_core::statistics::allocate(
                stats,
                &zones,
                &areas,
                shares.as_ref(),
                v.year,
            )?)
        })?;
        acc.rows.extend(allocation.account_rows());
        gep_core::account::order_rows(&mut acc.rows, &zones);
        acc.gep =
            gep_core::account::gep_rows(zones.iter().map(|z| (z.id.clone(), z.level)), &acc.rows);
        for w in allocation.warnings {
            let w = crate::Warning::Statistics(w);
            reporter.warn_in(&|l| w.message(l));
            warnings.push(w);
        }
    }
    if let Some(p) = &physical {
        for w in layer_gaps(&zones, &table, &p.sums) {
            reporter.warn_in(&|l| w.message(l));
            warnings.push(w);
        }
    }
    if let (Some(m), Some(p), Some(acc), Some(v)) = (
        prep.models.as_ref(),
        physical.as_mut(),
        accounts.as_mut(),
        valuation,
    ) {
        if let Some(set) = &m.parameters {
            let notes = timed(&steps, "services", || {
                crate::services::value_into_accounts(
                    &zones,
                    p,
                    &table,
                    &m.area,
                    set,
                    m.carbon.as_ref().map(|c| c.1),
                    v,
                    acc,
                )
            })?;
            for w in notes {
                reporter.warn_in(&|l| w.message(l));
                warnings.push(w);
            }
        }
    }
    let later: Vec<crate::Warning> = crate::warnings::checks(&checks)
        .into_iter()
        .chain(crate::warnings::coverage(&zones, &table))
        .chain(guards)
        .chain(crate::guards::after_accounts(
            &zones,
            &table,
            accounts.as_ref(),
            valuation,
            prep.raster.grid(),
        ))
        .collect();
    for w in &later {
        reporter.warn_in(&|l| w.message(l));
    }
    warnings.extend(later);
    let totals = match (&accounts, valuation) {
        (Some(a), Some(v)) => Some(Assessment::totals_of(&zones, a, v)),
        _ => None,
    };
    if let (Some(a), Some(t)) = (&accounts, &totals) {
        let mut others: std::collections::BTreeMap<i32, std::collections::BTreeSet<String>> =
            Default::default();
        for r in a.rows.iter().filter(|r| r.value_yuan.is_some()) {
            if let Some(y) = r.price_year.filter(|y| Some(*y) != t.price_year) {
                others.entry(y).or_default().insert(r.service.to_string());
            }
        }
        if !others.is_empty() && t.price_year.is_some() {
            let w = crate::Warning::MixedPriceYears {
                totals: t.price_year,
                others: others
                    .into_iter()
                    .map(|(y, s)| (y, s.into_iter().collect()))
                    .collect(),
            };
            reporter.warn_in(&|l| w.message(l));
            warnings.push(w);
        }
    }
    let failures = failures(prep);
    let steps = steps.into_inner().unwrap_or_default();
    Ok(Assessed {
        assessment: Assessment {
            area_basis: prep.raster.grid().area_basis(),
            units_total: prep.units.len() + prep.lost_units.len(),
            zones,
            extent: table,
            checks,
            accounts,
            totals,
            failures,
            warnings,
            physical,
            crosswalk: prep.valuation.as_ref().and_then(|v| v.crosswalk.clone()),
        },
        resumed,
        steps,
        pieces,
        pieces_crs,
    })
}

/// A warning per continuous layer without data over 1 % or more of the top-level zones'
/// covered area (measured exactly by the tally).
fn layer_gaps(
    zones: &[Zone],
    extent: &gep_core::ExtentTable,
    sums: &gep_core::WeightedTable,
) -> Vec<crate::Warning> {
    let roots: Vec<usize> = (0..zones.len())
        .filter(|&i| zones[i].parent.is_none())
        .collect();
    let covered: f64 = roots
        .iter()
        .map(|&i| extent.zones[i].covered().to_m2())
        .sum();
    sums.layers
        .iter()
        .enumerate()
        .filter_map(|(l, info)| {
            let missing: f64 = roots
                .iter()
                .map(|&i| sums.zones[i].missing_total(l).to_m2())
                .sum();
            let share = if covered > 0.0 {
                missing / covered
            } else {
                0.0
            };
            (share >= 0.01).then(|| crate::Warning::LayerGap {
                layer: info.name.clone(),
                percent: share * 100.0,
                missing_ha: missing / 1e4,
            })
        })
        .collect()
}

/// The models' quantities from the weighted sums.
fn physical_quantities(
    extent: &gep_core::ExtentTable,
    sums: gep_core::WeightedTable,
    m: &super::models::PreparedModels,
) -> Result<crate::Physical> {
    let mut quantities = Vec::new();
    if let Some(w) = &m.water {
        quantities.extend(
            gep_models::water_conservation::water_conservation(
                extent,
                &sums,
                &w.precipitation,
                &w.evapotranspiration,
                &w.alpha,
            )
            .with_context(|| format!("runoff coefficients {}", w.table.display()))?,
        );
    }
    if let Some(s) = &m.soil {
        quantities.extend(
            gep_models::soil_retention::soil_retention(
                extent,
                &sums,
                &s.rkls,
                s.rkls_c.as_deref(),
                &s.factors,
                &s.ls_algorithm,
            )
            .with_context(|| format!("USLE factors {}", s.table.display()))?,
        );
    }
    if let Some((npp, _)) = &m.carbon {
        quantities.extend(gep_models::carbon_oxygen::npp_totals(extent, &sums, npp)?);
    }
    if let Some(et) = &m.climate {
        quantities.extend(gep_models::climate_regulation::et_volumes(
            extent, &sums, et,
        )?);
    }
    // Zone order, then model, quantity and class: the order of the tables.
    let order: HashMap<&str, usize> = sums
        .zone_ids
        .iter()
        .enumerate()
        .map(|(i, z)| (z.as_str(), i))
        .collect();
    quantities.sort_by_key(|q| (order[q.zone_id.as_str()], q.model, q.name, q.class));
    Ok(crate::Physical {
        sums,
        quantities,
        inputs: m.inputs.clone(),
        models: m.models.clone(),
        sensitivity: Vec::new(),
    })
}

/// Every class found in a county must be mapped by the crosswalk; a county with unmapped
/// classes fails (codes, areas and the fix). `pos` maps zone indices to table rows.
fn fail_unmapped(prep: &mut Prepared, table: &gep_core::ExtentTable, pos: &HashMap<usize, usize>) {
    let Some(cw) = prep.valuation.as_ref().and_then(|v| v.crosswalk.clone()) else {
        return;
    };
    for u in prep.units.iter_mut().filter(|u| u.failure.is_none()) {
        if let Some(r) = FailureReason::unmapped(&table.zones[pos[&u.root]].classes, &cw) {
            u.failure = Some(vec![r]);
        }
    }
}

/// The zones (and their tallies) of the counties that are still fine: a subsequence, moved
/// rather than cloned.
fn keep_ok(
    prep: &Prepared,
    run_zones: Vec<Zone>,
    table: &mut gep_core::ExtentTable,
    pos: &HashMap<usize, usize>,
) -> Vec<Zone> {
    let mut kept = vec![false; run_zones.len()];
    for u in prep.units.iter().filter(|u| u.failure.is_none()) {
        for i in &u.members {
            kept[pos[i]] = true;
        }
    }
    let mut k = kept.iter();
    table.retain(|_| *k.next().unwrap_or(&false));
    run_zones
        .into_iter()
        .zip(&kept)
        .filter_map(|(z, k)| k.then_some(z))
        .collect()
}

/// The hierarchy checks and, when valuing, the accounts, computed side by side.
fn checks_and_accounts(
    prep: &Prepared,
    zones: &[Zone],
    table: &gep_core::ExtentTable,
    geometry: Option<&gep_zonal::HierarchyGeometry>,
    check_opts: &gep_zonal::CheckOptions,
    steps: &std::sync::Mutex<Vec<(String, f64)>>,
) -> Result<(
    Vec<gep_zonal::CheckRow>,
    Vec<gep_zonal::ReportedPiece>,
    Option<gep_core::account::Accounts>,
)> {
    let reader = prep.raster.try_clone_source()?;
    let valuation = prep.valuation.as_ref();
    std::thread::scope(|sc| -> Result<_> {
        let accounts = sc.spawn(|| {
            valuation
                .map(|v| {
                    timed(steps, "accounts", || {
                        gep_core::account::compute_accounts(
                            zones,
                            table,
                            v.year,
                            v.crosswalk.as_ref(),
                            &v.set,
                            &v.params,
                        )
                    })
                })
                .transpose()
        });
        let (checks, reported) = timed(steps, "hierarchy checks", || {
            gep_zonal::hierarchy_checks_reported(
                zones,
                table,
                reader.as_ref(),
                geometry,
                check_opts,
            )
        })?;
        let accounts = accounts
            .join()
            .map_err(|_| EngineError::Panicked("the accounts"))??;
        Ok((checks, reported, accounts))
    })
}

/// The store a plan's resume cache uses: `.<out>.cache/` beside the output directory, keyed by
/// the raster's SHA-256 (computed here when not given).
///
/// # Errors
/// When the raster cannot be hashed.
pub fn tally_cache(
    plan: &Plan,
    prep: &Prepared,
    raster_sha256: Option<&str>,
) -> Result<TallyCache> {
    let sha = match raster_sha256 {
        Some(s) => s.to_string(),
        None => gep_report::sha256_file(&plan.landcover)?.0,
    };
    Ok(TallyCache::new(
        plan,
        &sha,
        prep.raster.grid(),
        &prep.raster.crs().label(),
    ))
}
