//! `gep run` and `gep validate`: thin wiring of the libraries.
//!
//! Parse (flags + config) → resolve ([`crate::config::resolve`]) → prepare (open the raster,
//! read and reproject boundaries, resolve the hierarchy, pre-flight each county) → tally →
//! checks → accounts → write into a staging directory → rename into place.
//!
//! The unit of work is a county (more generally, a zone of the top loaded level, with all
//! its descendants). A county that fails pre-flight is listed in `failures.csv` and on
//! stderr; the others are still computed and published; the exit code is then 1.

use crate::cache::TallyCache;
use crate::config::{self, RawConfig, RawLandcover, RawOutput, RawZones, RunPlan};
use crate::progress::CliProgress;
use crate::RunFlags;
use anyhow::{bail, Context, Result};
use gep_core::account::Accounts;
use gep_core::coefficients::{CoefficientSet, Deflator, SetKey, ValuationParams};
use gep_core::crosswalk::Crosswalk;
use gep_core::{ExtentTable, Level, RasterSource, Reporter, Zone};
use gep_io::{GdalRaster, RasterOptions};
use gep_report::{write_csv, CheckCsvRow, ExtentRow, FailureRow, StagedDir, ZoneRow};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Instant;

/// Builds the plan from an optional config file and the command-line overrides.
pub fn plan_from(flags: &RunFlags) -> Result<RunPlan> {
    let mut raw = match &flags.config {
        Some(p) => config::load(p)?,
        None => RawConfig::default(),
    };
    // Flag values are relative to the current directory; make them absolute so that
    // resolution against the config's directory leaves them alone.
    let cwd = std::env::current_dir()?;
    if let Some(lc) = &flags.landcover {
        let path = cwd.join(lc);
        match &mut raw.landcover {
            Some(l) => l.path = path,
            None => {
                raw.landcover = Some(RawLandcover {
                    path,
                    band: None,
                    nodata: None,
                    crs: None,
                })
            }
        }
    }
    if !flags.zones.is_empty() {
        raw.zones.clear();
        for z in &flags.zones {
            let parts: Vec<&str> = z.split(':').collect();
            if !(3..=4).contains(&parts.len()) {
                bail!("--zones {z:?}: expected PATH:LEVEL:ID_FIELD[:NAME_FIELD], e.g. villages.gpkg:village:code:name");
            }
            raw.zones.push(RawZones {
                path: cwd.join(parts[0]),
                layer: None,
                level: parts[1].to_string(),
                id_field: parts[2].to_string(),
                name_field: parts.get(3).map(|s| s.to_string()),
                parent_field: None,
                encoding: None,
                datum: None,
                crs: None,
            });
        }
    }
    if let Some(o) = &flags.out {
        match &mut raw.output {
            Some(out) => out.dir = cwd.join(o),
            None => {
                raw.output = Some(RawOutput {
                    dir: cwd.join(o),
                    lang: None,
                    report: None,
                    value_raster: None,
                })
            }
        }
    }
    if let Some(l) = &flags.lang {
        if let Some(out) = &mut raw.output {
            out.lang = Some(l.clone());
        }
    }
    if let Some(t) = flags.threads {
        raw.run.threads = Some(t);
    }
    if let Some(y) = flags.year {
        raw.year = Some(y);
    }
    if let Some(c) = &flags.counties {
        raw.run.counties = Some(c.clone());
    }
    if flags.resume {
        raw.run.resume = Some(true);
    }
    if flags.coefficients.is_some() || flags.crosswalk.is_some() {
        let v = raw.valuation.get_or_insert(config::RawValuation {
            coefficients: String::new(),
            crosswalk: None,
            d: None,
            target_price_year: None,
            deflator: None,
        });
        if let Some(c) = &flags.coefficients {
            v.coefficients = c.clone();
        }
        if let Some(c) = &flags.crosswalk {
            v.crosswalk = Some(c.clone());
        }
        if v.coefficients.is_empty() {
            bail!("--crosswalk needs a coefficient set too: add --coefficients ID or [valuation] coefficients");
        }
    }
    config::resolve(raw, flags.config.as_deref())
}

/// One county (or other top-level zone) and everything below it.
#[derive(Debug, Clone)]
pub struct Unit {
    /// Index of the unit's root zone.
    pub root: usize,
    /// Indices of all its zones (root first).
    pub members: Vec<usize>,
    /// Why it cannot be computed, if it cannot.
    pub failure: Option<String>,
}

/// Everything read and checked before the tally.
pub struct Prepared {
    /// The land-cover raster.
    pub raster: GdalRaster,
    /// All zones, in the raster's CRS, parents resolved.
    pub zones: Vec<Zone>,
    /// Units of work.
    pub units: Vec<Unit>,
    /// Counties that failed before any of their zones could be loaded.
    pub lost_units: Vec<FailureRow>,
    /// Lines describing what was read, for the report.
    pub notes: Vec<String>,
    /// Coefficient set, crosswalk and parameters, when valuing.
    pub valuation: Option<Valuation>,
    /// The boundaries as read, when every layer came in one CRS other than the raster's: the
    /// geometric hierarchy checks clip these (far fewer vertices than the densified,
    /// reprojected zones) and reproject only the pieces.
    pub source: Option<SourceGeometry>,
}

/// One boundary layer, read and reprojected.
struct LoadedLayer {
    layer: gep_io::ZoneLayer,
    bad: Vec<gep_io::RejectedFeature>,
    /// The boundaries as read, by zone id, when the layer's CRS is not the raster's.
    as_read: Option<Vec<(String, geo::MultiPolygon<f64>)>>,
}

/// Zone boundaries in their own (common) CRS, by zone id.
pub struct SourceGeometry {
    /// The CRS of every layer.
    pub crs: gep_io::Crs,
    /// Boundary of each zone, as read.
    pub by_id: HashMap<String, geo::MultiPolygon<f64>>,
}

/// The loaded valuation inputs.
pub struct Valuation {
    /// The coefficient set.
    pub set: CoefficientSet,
    /// The crosswalk (absent for class-keyed stock sets).
    pub crosswalk: Option<Crosswalk>,
    /// D, target price year, deflator.
    pub params: ValuationParams,
    /// The accounting year.
    pub year: i32,
}

fn load_valuation(plan: &RunPlan) -> Result<Option<Valuation>> {
    let Some(v) = &plan.valuation else {
        return Ok(None);
    };
    let set = CoefficientSet::load(&v.coefficients)?;
    let crosswalk = match &v.crosswalk {
        Some(c) => Some(Crosswalk::load(c)?),
        None => None,
    };
    if crosswalk.is_none() && set.key == SetKey::EcosystemType {
        bail!(
            "[valuation] coefficient set {:?} is keyed by ecosystem type and needs a crosswalk from the raster's classes: add crosswalk = \"<id or file>\" (see `gep crosswalks list`)",
            set.id
        );
    }
    if let Some(cw) = &crosswalk {
        let gaps = gep_core::account::check_coverage(cw, &set);
        if !gaps.is_empty() {
            let list: Vec<String> = gaps
                .iter()
                .take(12)
                .map(|g| {
                    format!(
                        "{} × {} (classes {:?})",
                        g.ecosystem_type, g.service, g.classes
                    )
                })
                .collect();
            bail!(
                "coefficient set {} has no value and no NA for {} ecosystem type × service pair(s) reachable through crosswalk {}: {}{}; {}",
                set.id,
                gaps.len(),
                cw.id,
                list.join(", "),
                if gaps.len() > 12 { ", ..." } else { "" },
                gaps[0].fix
            );
        }
    }
    let deflator = match &v.deflator {
        Some(p) => Some(Deflator::from_path(p)?),
        None => None,
    };
    Ok(Some(Valuation {
        year: v.year,
        set,
        crosswalk,
        params: ValuationParams {
            equivalent_value: v.d,
            target_price_year: v.target_price_year,
            deflator,
        },
    }))
}

/// More cells than any real land-cover raster has (10 m over all of China is ~10^11): a
/// header claiming more is broken, and tallying it would never finish.
const MAX_RASTER_CELLS: u128 = 1_000_000_000_000;

fn open_raster(plan: &RunPlan) -> Result<GdalRaster> {
    let raster = GdalRaster::open(
        &plan.landcover,
        RasterOptions {
            band: plan.band,
            nodata: plan.nodata,
            crs: plan.landcover_crs.clone(),
        },
    )?;
    let g = raster.grid();
    let cells = g.rows as u128 * g.cols as u128;
    if cells > MAX_RASTER_CELLS {
        bail!(
            "{}: the raster claims {} x {} cells ({cells} cells, more than the 10^12 gep accepts): its header (size or geotransform, e.g. of a VRT) is almost certainly wrong; check it with `gdalinfo` and fix or regenerate the file",
            plan.landcover.display(),
            g.cols,
            g.rows
        );
    }
    Ok(raster)
}

/// Reads the inputs and runs every pre-flight check.
pub fn prepare(plan: &RunPlan, progress: &CliProgress) -> Result<Prepared> {
    let valuation = load_valuation(plan)?;
    if let Some(v) = valuation.as_ref().filter(|_| plan.value_raster) {
        if v.set.kind == gep_core::coefficients::SetKind::Stock {
            bail!(
                "[output] value_raster = true with coefficient set {:?}, a stock set (physical quantities, no yuan): a value map of it would be all zeros; drop value_raster or value with a flow set",
                v.set.id
            );
        }
    }
    let raster = open_raster(plan)?;
    let target = raster.crs().clone();
    let mut notes = vec![format!(
        "land cover: {} ({} x {} cells, {}, {})",
        plan.landcover.display(),
        raster.grid().cols,
        raster.grid().rows,
        target.label(),
        raster.grid().area_basis().as_str()
    )];
    let mut zones: Vec<Zone> = Vec::new();
    // Features that cannot be used, as (level, id, parent, reason); they fail their county.
    let mut rejected: Vec<(Level, String, Option<String>, String)> = Vec::new();
    let mut source: Option<SourceGeometry> = None;
    let mut one_source_crs = true;
    // Each layer is read and reprojected on its own thread (GDAL datasets and PROJ
    // transformers are per thread); results are taken in layer order, so the first error is
    // the one a serial pass would meet.
    let read_layer = |zp: &gep_io::ZoneLayerSpec| -> Result<LoadedLayer> {
        let (mut layer, bad) = gep_io::read_zones_lenient(zp)?;
        let as_read = (!gep_io::reproject::same_crs(&layer.crs, &target)).then(|| {
            layer
                .zones
                .iter()
                .map(|z| (z.id.clone(), z.geometry.clone()))
                .collect()
        });
        gep_io::reproject::reproject_zones_threads(
            &mut layer.zones,
            &layer.crs,
            &target,
            gep_io::Densify::Default,
            plan.threads,
        )
        .with_context(|| format!("reprojecting {}", zp.path.display()))?;
        Ok(LoadedLayer {
            layer,
            bad,
            as_read,
        })
    };
    for zp in &plan.zones {
        progress.status(&format!("reading {} ({})", zp.path.display(), zp.level));
    }
    let loaded: Vec<Result<LoadedLayer>> = if plan.threads == 1 || plan.zones.len() < 2 {
        plan.zones.iter().map(read_layer).collect()
    } else {
        std::thread::scope(|sc| {
            let handles: Vec<_> = plan
                .zones
                .iter()
                .map(|zp| sc.spawn(|| read_layer(zp)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(anyhow::anyhow!("a boundary reader panicked")))
                })
                .collect()
        })
    };
    for (zp, loaded) in plan.zones.iter().zip(loaded) {
        let LoadedLayer {
            layer,
            bad,
            as_read,
        } = loaded?;
        for w in &layer.warnings {
            progress.warn(w);
        }
        for r in bad {
            rejected.push((zp.level, r.id, r.parent, r.error.to_string()));
        }
        match as_read {
            Some(geoms) if one_source_crs => {
                let s = source.get_or_insert_with(|| SourceGeometry {
                    crs: layer.crs.clone(),
                    by_id: HashMap::new(),
                });
                if gep_io::reproject::same_crs(&s.crs, &layer.crs) {
                    s.by_id.extend(geoms);
                } else {
                    one_source_crs = false;
                }
            }
            _ => one_source_crs = false,
        }
        notes.push(format!(
            "{}: {} {} zones, {} → {}",
            zp.path.display(),
            layer.zones.len(),
            zp.level,
            layer.crs.label(),
            target.label()
        ));
        zones.extend(layer.zones);
    }
    let top = plan
        .zones
        .iter()
        .map(|z| z.level)
        .min()
        .unwrap_or(Level::County);

    // Failures keyed by the id of the top-level zone (county) they belong to.
    let mut unit_failures: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let top_ids: Vec<String> = zones
        .iter()
        .filter(|z| z.level == top)
        .map(|z| z.id.clone())
        .chain(rejected.iter().filter(|r| r.0 == top).map(|r| r.1.clone()))
        .collect();
    let unit_of = |id: &str, parent: Option<&str>| -> Option<String> {
        top_ids
            .iter()
            .filter(|t| {
                id.starts_with(t.as_str()) || parent.is_some_and(|p| p.starts_with(t.as_str()))
            })
            .max_by_key(|t| t.len())
            .cloned()
    };
    for (level, id, parent, reason) in &rejected {
        match unit_of(id, parent.as_deref()) {
            Some(u) => unit_failures
                .entry(u)
                .or_default()
                .push(format!("{level} {id}: {reason}")),
            None => bail!("{reason}"),
        }
    }
    // A zone belongs to failed unit `u` when its id, or the parent its file gives, starts
    // with `u`'s id (how rejected features and orphans are assigned to units).
    let in_unit = |z: &Zone, units: &[String]| {
        units.iter().any(|u| {
            z.id.starts_with(u.as_str())
                || z.parent
                    .as_deref()
                    .is_some_and(|p| p.starts_with(u.as_str()))
        })
    };
    // Zones of a failed unit are dropped before the hierarchy is resolved (their parent may be
    // the rejected feature).
    let failed_now: Vec<String> = unit_failures.keys().cloned().collect();
    zones.retain(|z| !in_unit(z, &failed_now));
    // Orphans fail their county when the county can be told from the code prefix.
    let given_parents: HashMap<String, Option<String>> = zones
        .iter()
        .map(|z| (z.id.clone(), z.parent.clone()))
        .collect();
    // All orphans at once; their counties fail, and the rest is resolved again (a county's
    // zones only refer to zones of that county, so once is enough in practice; the loop
    // covers parents given across counties).
    loop {
        let orphans = gep_core::resolve_parents_all(&mut zones)?;
        if orphans.is_empty() {
            break;
        }
        let mut failed: Vec<String> = Vec::new();
        let mut orphan_ids: std::collections::HashSet<String> = Default::default();
        for err in orphans {
            let gep_core::CoreError::OrphanZone { id, parent, .. } = &err else {
                return Err(err.into());
            };
            let Some(u) = unit_of(id, parent.as_deref()).filter(|u| u != id) else {
                return Err(err.into());
            };
            unit_failures
                .entry(u.clone())
                .or_default()
                .push(err.to_string());
            orphan_ids.insert(id.clone());
            if !failed.contains(&u) {
                failed.push(u);
            }
        }
        // Start from the parents the files gave, then drop the failed units' zones below the
        // top level, and the orphans themselves (an orphan assigned by its parent field need
        // not share its unit's prefix): every pass removes zones, so the loop ends.
        for z in zones.iter_mut() {
            z.parent = given_parents.get(&z.id).cloned().flatten();
        }
        zones.retain(|z| !orphan_ids.contains(&z.id) && (z.level == top || !in_unit(z, &failed)));
    }
    // A county with many bad features: the first few reasons and a count.
    const MAX_REASONS: usize = 5;
    for reasons in unit_failures.values_mut() {
        if reasons.len() > MAX_REASONS + 1 {
            let more = reasons.len() - MAX_REASONS;
            reasons.truncate(MAX_REASONS);
            reasons.push(format!("… and {more} more"));
        }
    }

    // Units: zones of the top loaded level with their descendants.
    let index: HashMap<&str, usize> = zones
        .iter()
        .enumerate()
        .map(|(i, z)| (z.id.as_str(), i))
        .collect();
    let root_of = |mut i: usize| -> usize {
        while let Some(p) = zones[i].parent.as_deref() {
            i = index[p];
        }
        i
    };
    let mut by_root: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..zones.len() {
        by_root.entry(root_of(i)).or_default().push(i);
    }
    if let Some(filter) = &plan.counties {
        for id in filter {
            if !top_ids.contains(id) {
                bail!("--counties / [run] counties: {id:?} is not a loaded {top} id; check the id field of the {top} layer");
            }
        }
    }
    let wanted = |id: &str| {
        plan.counties
            .as_ref()
            .is_none_or(|f| f.iter().any(|c| c == id))
    };
    let grid = raster.grid().clone();
    let mut units = Vec::new();
    for (root, mut members) in by_root {
        if !wanted(&zones[root].id) {
            continue;
        }
        members.sort_by_key(|&i| (zones[i].level, i));
        let mut failure = preflight_unit(&zones, root, &grid);
        if let Some(f) = unit_failures.remove(&zones[root].id) {
            failure = Some(f.join("; "));
        }
        units.push(Unit {
            root,
            members,
            failure,
        });
    }
    // Failed counties whose own feature was rejected have no zone left: report them too.
    let mut lost_units = Vec::new();
    for (id, reasons) in unit_failures {
        if wanted(&id) {
            lost_units.push(FailureRow {
                unit_id: id,
                name: String::new(),
                reason: reasons.join("; "),
            });
        }
    }
    Ok(Prepared {
        raster,
        zones,
        units,
        lost_units,
        notes,
        valuation,
        source: source.filter(|_| one_source_crs),
    })
}

/// Per-unit pre-flight: the unit's boundary must overlap the raster.
fn preflight_unit(zones: &[Zone], root: usize, grid: &gep_core::Grid) -> Option<String> {
    use geo::BoundingRect;
    let z = &zones[root];
    let Some(b) = z.geometry.bounding_rect() else {
        return Some(format!("{} {} has an empty boundary", z.level, z.id));
    };
    let overlaps = b.max().x > grid.left
        && b.min().x < grid.right()
        && b.max().y > grid.bottom()
        && b.min().y < grid.top;
    if !overlaps {
        return Some(format!(
            "{} {} ({}) lies entirely outside the land-cover raster (boundary x {:.6}..{:.6}, y {:.6}..{:.6}; raster x {:.6}..{:.6}, y {:.6}..{:.6} in the raster's CRS): use a raster that covers it or drop it from [run] counties",
            z.level,
            z.id,
            z.name,
            b.min().x,
            b.max().x,
            b.min().y,
            b.max().y,
            grid.left,
            grid.right(),
            grid.bottom(),
            grid.top
        ));
    }
    None
}

fn print_failures(prep: &Prepared) {
    for u in &prep.units {
        if let Some(f) = &u.failure {
            let z = &prep.zones[u.root];
            eprintln!("error: {} {} {}: {f}", z.level, z.id, z.name);
        }
    }
}

/// `gep validate`: pre-flight only, writes nothing.
pub fn validate(flags: &RunFlags, quiet: bool) -> Result<u8> {
    let plan = plan_from(flags)?;
    let progress = CliProgress::new(quiet);
    let prep = prepare(&plan, &progress)?;
    for n in &prep.notes {
        println!("{n}");
    }
    let ready = prep.units.iter().filter(|u| u.failure.is_none()).count();
    let failed = prep.units.len() - ready + prep.lost_units.len();
    // Classes present in the raster (one streamed pass) and whether the crosswalk maps them.
    let counts = class_counts(&prep, &progress)?;
    let cw = prep.valuation.as_ref().and_then(|v| v.crosswalk.as_ref());
    let cell_area = prep.raster.grid().cell_area_m2(0).0;
    println!(
        "land-cover classes in the raster (cells{}):",
        if cw.is_some() { ", crosswalk" } else { "" }
    );
    let mut unmapped = 0;
    for (class, n) in &counts {
        let mapping = match (class, cw) {
            (Some(c), Some(cw)) => match cw.lookup(*c) {
                Some(parts) => mapping_text(parts),
                None => {
                    unmapped += 1;
                    format!(
                        "NOT MAPPED by {} (add a row `{c},<ecosystem_type>` to a copy of it)",
                        cw.id
                    )
                }
            },
            _ => String::new(),
        };
        let label = class
            .map(|c| c.to_string())
            .unwrap_or_else(|| "nodata".into());
        println!(
            "  {label:>8} {n:>12} (≈ {:.1} km²) {mapping}",
            *n as f64 * cell_area / 1e6
        );
    }
    if unmapped > 0 {
        println!("{unmapped} class(es) not mapped: counties containing them will fail");
    }
    println!(
        "{} units ({} zones): {} ready, {} failing",
        prep.units.len() + prep.lost_units.len(),
        prep.units.iter().map(|u| u.members.len()).sum::<usize>(),
        ready,
        failed
    );
    print_failures(&prep);
    for f in &prep.lost_units {
        eprintln!("error: {}: {}", f.unit_id, f.reason);
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

/// A county whose area is partly off the raster or over nodata cells is valued only on the
/// rest: say so, with the share, rather than let a low GEP pass for a real one.
fn warn_about_coverage(zones: &[Zone], table: &ExtentTable, progress: &CliProgress) {
    for (z, t) in zones.iter().zip(&table.zones) {
        if z.parent.is_some() {
            continue;
        }
        let total = t.total().to_m2();
        let missing = (t.outside + t.nodata).to_m2();
        if total > 0.0 && missing > 1e-6 * total {
            progress.warn(&format!(
                "{} {} {}: {:.3} % of its area is beyond the raster ({:.1} m²) or over nodata cells ({:.1} m²); its extent and GEP cover only the rest — use a raster that covers it",
                z.level,
                z.id,
                z.name,
                100.0 * missing / total,
                t.outside.to_m2(),
                t.nodata.to_m2()
            ));
        }
    }
}

/// Conservation failures are said loudly (every row is in checks.csv anyway): sum rows whose
/// residual exceeds 1e-8 of the parent's area, and gap, overlap and spill rows above 1e-7 of it.
///
/// Why not zero: boundaries reprojected from lon/lat keep shared edges bit-identical, but where
/// a village edge ends on a county edge (a T-junction) the county's densified chord and the
/// village's vertex differ by the sagitta of a ~100 m chord of the projected curve (~0.1 mm),
/// leaving slivers of ~1e-9 of a parent's area. Those are noise, not boundary errors.
fn warn_about_checks(checks: &[gep_zonal::CheckRow], progress: &CliProgress) {
    use gep_zonal::CheckKind;
    // Scale: the parent's whole area (Σ of its per-class sum rows), not the class's area.
    let mut totals: HashMap<(&str, Level), f64> = HashMap::new();
    for c in checks.iter().filter(|c| c.kind == CheckKind::Sum) {
        *totals.entry((c.parent_id.as_str(), c.level)).or_default() += c.parent_area_m2.abs();
    }
    // Two top-level zones claiming the same ground: the totals count it twice.
    let mut top: BTreeMap<&[String], f64> = BTreeMap::new();
    for c in checks.iter().filter(|c| c.is_top_level()) {
        *top.entry(&c.children).or_default() += c.residual_m2.abs();
    }
    if !top.is_empty() {
        let total: f64 = top.values().sum();
        let pairs: Vec<String> = top
            .iter()
            .map(|(pair, a)| format!("{} ({} m²)", pair.join(" × "), fmt_fixed(*a, 1)))
            .collect();
        progress.warn(&format!(
            "checks: top-level zones overlap — {} m² claimed by two zones, counted twice in the totals: {}; see the overlap rows with an empty parent_id in checks.csv and fix the boundary data (a zone loaded twice, or two boundaries claiming the same ground)",
            fmt_fixed(total, 1),
            pairs.join(", ")
        ));
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
    for (kind, (n, worst, parent)) in by_kind {
        let what = match kind {
            "sum" => "parent × class rows where the children do not add up to the parent",
            "gap" => "gap rows (parent area no child covers)",
            "overlap" => "overlap rows (area two children both claim)",
            _ => "spill rows (child area outside its parent)",
        };
        progress.warn(&format!(
            "checks: {n} {what}; largest {worst:.3} m² under {parent}; see checks.csv and fix the boundary data"
        ));
    }
}

/// A crosswalk mapping as text: `forest` or `cropland × 0.5 + shrub × 0.5`.
pub fn mapping_text(parts: &[(String, f64)]) -> String {
    parts
        .iter()
        .map(|(t, share)| {
            if *share == 1.0 {
                t.clone()
            } else {
                format!("{t} × {share}")
            }
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

/// Cell counts per class over the whole raster (nodata as `None`), one streamed pass.
fn class_counts(prep: &Prepared, progress: &CliProgress) -> Result<BTreeMap<Option<i32>, u64>> {
    let mut src = prep.raster.try_clone_source()?;
    let grid = src.grid().clone();
    let (br, bc) = src.block_size();
    let windows = grid.windows(br.max(256), bc.max(256));
    progress.start("classes", windows.len() as u64);
    let mut counts: BTreeMap<Option<i32>, u64> = BTreeMap::new();
    for w in windows {
        // Byte bands: a histogram of the bytes, then their classes.
        if let Some(bytes) = src.read_window_bytes(w)? {
            let mut hist = [0u64; 256];
            for &b in &bytes.indices {
                hist[usize::from(b)] += 1;
            }
            for (class, n) in bytes.palette.iter().zip(hist) {
                if n > 0 {
                    *counts.entry(*class).or_default() += n;
                }
            }
            progress.advance(1);
            continue;
        }
        let block = src.read_window(w)?;
        let mut last: Option<(Option<i32>, u64)> = None;
        for r in 0..w.rows {
            for c in 0..w.cols {
                let v = block.get(r, c);
                match &mut last {
                    Some((lv, n)) if *lv == v => *n += 1,
                    _ => {
                        if let Some((lv, n)) = last.take() {
                            *counts.entry(lv).or_default() += n;
                        }
                        last = Some((v, 1));
                    }
                }
            }
        }
        if let Some((lv, n)) = last {
            *counts.entry(lv).or_default() += n;
        }
        progress.advance(1);
    }
    progress.finish();
    Ok(counts)
}

/// `gep run`.
pub fn run(flags: &RunFlags, quiet: bool) -> Result<u8> {
    let started = Instant::now();
    let plan = plan_from(flags)?;
    let progress = CliProgress::new(quiet);
    // The raster's hash keys the tally cache and goes into the manifest: computed once, while
    // the boundaries are read (not waited for when reading fails).
    let hash_raster = |path: &Path| {
        gep_report::sha256_file(path).with_context(|| format!("hashing {}", path.display()))
    };
    let hashing = (plan.threads != 1).then(|| {
        let path = plan.landcover.clone();
        std::thread::spawn(move || hash_raster(&path))
    });
    // The output location is checked before any work: gep replaces only what it wrote.
    let cwd = std::env::current_dir()?;
    gep_report::check_output_dir(&plan.out_dir, &cwd, &input_paths(&plan))?;
    let mut prep = prepare(&plan, &progress)?;
    for n in &prep.notes {
        progress.status(n);
    }
    if prep.units.iter().all(|u| u.failure.is_some()) {
        return Ok(nothing_published(&prep, &plan, &progress));
    }
    let staged = StagedDir::create(&plan.out_dir)
        .with_context(|| format!("output directory {}", plan.out_dir.display()))?;

    let (raster_sha256, raster_size) = match hashing {
        Some(thread) => thread
            .join()
            .map_err(|_| anyhow::anyhow!("the raster hasher panicked"))??,
        None => hash_raster(&plan.landcover)?,
    };
    let mut timings = vec![crate::outputs::timing("read and pre-flight", started)];
    // Finer steps, some of them concurrent (listed after the three phases).
    let steps = crate::outputs::Steps::default();
    let t_tally = Instant::now();
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
    let cache = TallyCache::new(
        &plan,
        &raster_sha256,
        prep.raster.grid(),
        &prep.raster.crs().label(),
    );
    let check_opts = gep_zonal::CheckOptions {
        geometry: plan.geometry_checks,
        tally: opts,
        ..Default::default()
    };
    // The gap/overlap/spill polygons need no raster: with more than one thread they are
    // clipped while the counties are tallied (each on its own pool of `threads` workers).
    let target_crs = prep.raster.crs().clone();
    let source = prep.source.as_ref();
    let geometry = || -> Result<Option<gep_zonal::HierarchyGeometry>> {
        if !plan.geometry_checks {
            return Ok(None);
        }
        steps.time("hierarchy geometry", || {
            hierarchy_geometry(&run_zones, source, &target_crs, &check_opts).map(Some)
        })
    };
    let tally = || {
        steps.time("tally", || {
            tally_by_unit(
                &plan, &prep, &ok_units, &run_zones, &cache, &opts, &progress,
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
                .map_err(|_| anyhow::anyhow!("the hierarchy geometry panicked"))?;
            Ok((t?, g?))
        })?
    };
    let table = tallied.table;
    let ok_units_count = ok_units.len();
    // Pre-flight that needs the tally: every class found in a county must be mapped by the
    // crosswalk; a county with unmapped classes fails (listing codes, areas and the fix).
    let pos: HashMap<usize, usize> = run_idx.iter().enumerate().map(|(k, &i)| (i, k)).collect();
    if let Some(cw) = prep.valuation.as_ref().and_then(|v| v.crosswalk.as_ref()) {
        for u in prep.units.iter_mut().filter(|u| u.failure.is_none()) {
            let unmapped = gep_core::account::check_mapping(&table.zones[pos[&u.root]].classes, cw);
            if !unmapped.is_empty() {
                let list: Vec<String> = unmapped
                    .iter()
                    .map(|c| format!("class {} ({:.1} m²)", c.class, c.area_m2))
                    .collect();
                u.failure = Some(format!(
                    "land-cover classes not in crosswalk {}: {}; {}",
                    cw.id,
                    list.join(", "),
                    unmapped[0].fix
                ));
            }
        }
    }
    if prep.units.iter().all(|u| u.failure.is_some()) {
        return Ok(nothing_published(&prep, &plan, &progress));
    }
    // Keep only the zones of counties that are still fine.
    // (Units keep their order, so the kept zones are a subsequence: move them, don't clone.)
    let mut kept = vec![false; run_zones.len()];
    for u in prep.units.iter().filter(|u| u.failure.is_none()) {
        for i in &u.members {
            kept[pos[i]] = true;
        }
    }
    let run_zones: Vec<Zone> = run_zones
        .into_iter()
        .zip(&kept)
        .filter_map(|(z, k)| k.then_some(z))
        .collect();
    let mut table = table;
    let mut k = kept.iter();
    table.retain(|_| *k.next().unwrap_or(&false));

    timings.push(crate::outputs::timing("tally and check geometry", t_tally));

    let failures = failure_rows(&prep);
    let t_write = Instant::now();
    let basis = prep.raster.grid().area_basis().as_str();
    let crs = prep.raster.crs().clone();
    let mut run_info = run_info(
        &plan,
        &prep,
        &progress,
        &timings,
        (&raster_sha256, raster_size),
    )?;
    let top = plan
        .zones
        .iter()
        .map(|z| z.level)
        .min()
        .unwrap_or(Level::County);
    run_info.units_total = prep.units.len() + prep.lost_units.len();
    run_info.failures = failures
        .iter()
        .map(|f| gep_report::FailedUnit {
            id: f.unit_id.clone(),
            name: f.name.clone(),
            level: top.as_str().to_string(),
            reason: f.reason.clone(),
        })
        .collect();
    // The rest as jobs over the threads, longest chain first (checks and accounts → report
    // tables → workbook), the other writers filling the gaps; in this order with one thread.
    let checks_reader = prep.raster.try_clone_source()?;
    let checks_cell: std::sync::OnceLock<Vec<gep_zonal::CheckRow>> = std::sync::OnceLock::new();
    let accounts_cell: std::sync::OnceLock<Option<Accounts>> = std::sync::OnceLock::new();
    let input_cell: std::sync::OnceLock<gep_report::ReportInput> = std::sync::OnceLock::new();
    let hashed = crate::outputs::Hashed::default();
    let valuation = prep.valuation.as_ref();
    {
        let (steps, staged, run_zones, table, lang) =
            (&steps, &staged, &run_zones, &table, plan.lang);
        let (checks_cell, accounts_cell, input_cell, hashed) =
            (&checks_cell, &accounts_cell, &input_cell, &hashed);
        let (progress, run_info_ref, geometry, check_opts, failures) =
            (&progress, &run_info, &geometry, &check_opts, &failures);
        let mut jobs: Vec<crate::outputs::Job> = Vec::new();
        let checks_job = jobs.len();
        jobs.push(crate::outputs::Job::new(&[], move || {
            let checks = steps.time("hierarchy checks", || {
                gep_zonal::hierarchy_checks_with(
                    run_zones,
                    table,
                    checks_reader.as_ref(),
                    geometry.as_ref(),
                    check_opts,
                )
            })?;
            warn_about_checks(&checks, progress);
            warn_about_coverage(run_zones, table, progress);
            let _ = checks_cell.set(checks);
            Ok(())
        }));
        let accounts_job = jobs.len();
        jobs.push(crate::outputs::Job::new(&[], move || {
            let accounts = match valuation {
                Some(v) => Some(steps.time("accounts", || {
                    gep_core::account::compute_accounts(
                        run_zones,
                        table,
                        v.year,
                        v.crosswalk.as_ref(),
                        &v.set,
                        &v.params,
                    )
                })?),
                None => None,
            };
            let _ = accounts_cell.set(accounts);
            Ok(())
        }));
        let accounts = || accounts_cell.get().and_then(Option::as_ref);
        let mut after_report = Vec::new();
        if plan.report {
            let report_job = jobs.len();
            jobs.push(crate::outputs::Job::new(
                &[checks_job, accounts_job],
                move || {
                    let mut info = run_info_ref.clone();
                    info.warnings = progress.warnings();
                    info.warnings.extend(failure_warnings(top, failures));
                    let input = steps.time("report tables", || {
                        crate::outputs::report_input(
                            run_zones,
                            table,
                            accounts(),
                            checks_cell.get().expect("after the checks"),
                            info,
                            lang,
                        )
                    });
                    let _ = input_cell.set(input);
                    Ok(())
                },
            ));
            let input = || input_cell.get().expect("after the report tables");
            jobs.push(crate::outputs::Job::new(&[report_job], move || {
                steps.time("write gep.xlsx", || {
                    Ok(gep_report::write_workbook(
                        &staged.file("gep.xlsx"),
                        input(),
                        lang,
                    )?)
                })
            }));
            after_report.push(crate::outputs::Job::new(&[report_job], move || {
                steps.time("write report.html", || {
                    Ok(gep_report::write_html(
                        &staged.file("report.html"),
                        input(),
                        lang,
                    )?)
                })
            }));
            after_report.push(crate::outputs::Job::new(&[report_job], move || {
                let input = input();
                if input.services.is_empty() {
                    return Ok(());
                }
                steps.time("write accounts_wide.csv", || {
                    Ok(gep_report::write_wide_csv(
                        &staged.file("accounts_wide.csv"),
                        &input.zones,
                        &input.services,
                    )?)
                })
            }));
        }
        if valuation.is_some() {
            jobs.push(crate::outputs::Job::new(&[accounts_job], move || {
                let a = accounts().expect("valued");
                steps.time("write accounts.csv, gep.csv", || -> Result<()> {
                    write_csv(&staged.file("accounts.csv"), a.rows.iter())?;
                    write_csv(&staged.file("gep.csv"), a.gep.iter())?;
                    hashed.add(staged, "accounts.csv")?;
                    hashed.add(staged, "gep.csv")
                })
            }));
        }
        if plan.report {
            let crs = &crs;
            jobs.push(crate::outputs::Job::new(&[accounts_job], move || {
                steps.time("write zones.gpkg", || {
                    crate::outputs::write_gpkg(staged, crs, run_zones, table, accounts())
                })
            }));
        }
        jobs.extend(after_report);
        jobs.push(crate::outputs::Job::new(&[checks_job], move || {
            steps.time("write extent.csv, zones.csv, checks.csv", || {
                write_outputs(
                    staged,
                    basis,
                    run_zones,
                    table,
                    checks_cell.get().expect("after the checks"),
                )
            })
        }));
        crate::outputs::run_jobs(plan.threads, jobs)?;
    }
    run_info.warnings = progress.warnings();
    run_info.warnings.extend(failure_warnings(top, &failures));
    let accounts = accounts_cell.get().and_then(Option::as_ref);
    if plan.value_raster {
        if let Some(v) = &prep.valuation {
            // After the others: it reads the raster (one GDAL dataset, not shareable).
            steps.time("write value raster", || {
                crate::outputs::write_value_raster(&staged, &prep, v, &table.classes())
            })?;
        }
    }
    timings.push(crate::outputs::timing(
        "checks, accounts and outputs",
        t_write,
    ));
    write_csv(&staged.file("failures.csv"), failures.iter())?;
    timings.extend(steps.list());
    run_info.timings = timings;
    crate::outputs::write_manifest(&staged, &run_info, &hashed, plan.threads)?;
    let committed = staged.commit()?;
    let target = committed.target.clone();
    // The cache has served its purpose once the results are published (also when some
    // counties failed: nothing is left beside the output but the output).
    cache.clear();
    print_failures(&prep);
    for f in &prep.lost_units {
        eprintln!("error: {}: {}", f.unit_id, f.reason);
    }
    summary(&prep, top, &run_zones, &table, started);
    if let Some(a) = &accounts {
        let roots: Vec<&gep_core::account::GepRow> = a
            .gep
            .iter()
            .zip(&run_zones)
            .filter(|(_, z)| z.parent.is_none())
            .map(|(g, _)| g)
            .collect();
        // Fixed order (zone order): the printed total is reproducible.
        let sum = |f: fn(&gep_core::account::GepRow) -> f64| {
            roots.iter().map(|g| f(g)).sum::<f64>() / 1e8
        };
        println!(
            "GEP {} 亿元 (material {}, regulating {}, cultural {}); coefficients {}, crosswalk {}",
            fmt_fixed(sum(|g| g.gep_yuan), 2),
            fmt_fixed(sum(|g| g.material_yuan), 2),
            fmt_fixed(sum(|g| g.regulating_yuan), 2),
            fmt_fixed(sum(|g| g.cultural_yuan), 2),
            a.coefficient_set,
            a.crosswalk.as_deref().unwrap_or("-")
        );
    }
    if plan.resume {
        println!(
            "resumed {} of {} counties from the tally cache {}",
            tallied.resumed,
            ok_units_count,
            cache.dir().display()
        );
    }
    println!("results: {}", target.display());
    if !committed.carried.is_empty() {
        println!(
            "  kept your {} in the output directory: {}",
            plural(committed.carried.len(), "file"),
            committed.carried.join(", ")
        );
    }
    if let Some(left) = &committed.left_behind {
        progress.warn(&format!(
            "something appeared in the old results while they were replaced and was kept in {}: look there and move it back",
            left.display()
        ));
    }
    if plan.report {
        println!(
            "  report.html gep.xlsx zones.gpkg — open report.html in a browser, zones.gpkg in QGIS"
        );
    }
    // The process ends after this: the zones, tallies and accounts (hundreds of MB in many
    // small allocations) are left to the operating system instead of being freed one by one.
    std::mem::forget(accounts_cell);
    std::mem::forget(table);
    std::mem::forget(run_zones);
    std::mem::forget(prep);
    Ok(if failures.is_empty() { 0 } else { 1 })
}

/// Every file a run reads (land cover, boundary files with their sidecars, tables) and its
/// config: the output directory may contain none of them.
fn input_paths(plan: &RunPlan) -> Vec<std::path::PathBuf> {
    let mut v = vec![plan.landcover.clone()];
    for z in &plan.zones {
        v.extend(sidecars(&z.path));
    }
    v.extend(plan.config_path.iter().cloned());
    if let Some(val) = &plan.valuation {
        for p in [Some(&val.coefficients), val.crosswalk.as_ref()]
            .into_iter()
            .flatten()
        {
            if Path::new(p).is_file() {
                v.push(p.into());
            }
        }
        v.extend(val.deflator.iter().cloned());
    }
    v
}

/// No unit could be computed: the failures go to stderr and nothing is written (the previous
/// results stay as they were). Exit code 1.
fn nothing_published(prep: &Prepared, plan: &RunPlan, progress: &CliProgress) -> u8 {
    print_failures(prep);
    for f in &prep.lost_units {
        eprintln!("error: {}: {}", f.unit_id, f.reason);
    }
    let n = prep.units.len() + prep.lost_units.len();
    let top = plan
        .zones
        .iter()
        .map(|z| z.level)
        .min()
        .unwrap_or(Level::County);
    progress.finish();
    eprintln!(
        "error: {}; nothing was written{}",
        match n {
            0 => format!("no {top} to compute"),
            1 => format!("the only {top} failed"),
            n => format!("all {n} {} failed", plural(n, top.as_str())),
        },
        if plan.out_dir.exists() {
            format!(
                " and the previous results in {} are unchanged",
                plan.out_dir.display()
            )
        } else {
            String::new()
        }
    );
    1
}

/// `n county` / `n counties`, `n township(s)`, `n village(s)`, `n zone(s)`.
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        return noun.to_string();
    }
    match noun.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None => format!("{noun}s"),
    }
}

/// The gap/overlap/spill polygons of `zones`' families on the raster's CRS. With `source`,
/// they are clipped on the boundaries as read and only the pieces are reprojected (as the
/// zones were: same densification), else on the zones as tallied.
///
/// Most pieces are clipping slivers micrometres wide along whole boundaries. Those whose
/// area where they were clipped is below half the size floor are dropped here (an upper
/// bound in m² for lon/lat, planar otherwise; the parent's area for the floor from the same
/// formula, ≤ 3 % high), instead of being reprojected and measured for nothing; the pieces
/// kept face the floor again on the raster's grid. So slivers that reprojection itself makes
/// at T-junctions, which are not in the boundary data, are not reported.
fn hierarchy_geometry(
    zones: &[Zone],
    source: Option<&SourceGeometry>,
    target: &gep_io::Crs,
    opts: &gep_zonal::CheckOptions,
) -> Result<gep_zonal::HierarchyGeometry> {
    let source = source.filter(|s| zones.iter().all(|z| s.by_id.contains_key(&z.id)));
    let as_read: Vec<Zone>;
    let (clipped, crs) = match source {
        Some(src) => {
            as_read = zones
                .iter()
                .map(|z| Zone {
                    id: z.id.clone(),
                    name: String::new(),
                    level: z.level,
                    parent: z.parent.clone(),
                    geometry: src.by_id[&z.id].clone(),
                })
                .collect();
            (&as_read[..], &src.crs)
        }
        None => (zones, target),
    };
    let mut g = gep_zonal::hierarchy_geometry(clipped, opts, &gep_core::NoProgress)?;
    let geographic = matches!(crs.info.kind, gep_core::CrsKind::Geographic(_));
    let area = |mp: &geo::MultiPolygon<f64>| -> f64 {
        use geo::{Area, BoundingRect};
        let planar = mp.unsigned_area();
        if !geographic {
            return planar;
        }
        // deg² → m², bounded above: both radii of curvature are below 6,400 km, and the
        // cosine of the latitude nearest the equator.
        let Some(b) = mp.bounding_rect() else {
            return 0.0;
        };
        let lat = if b.min().y <= 0.0 && b.max().y >= 0.0 {
            0.0
        } else {
            b.min().y.abs().min(b.max().y.abs())
        };
        planar * (6.4e6 * std::f64::consts::PI / 180.0).powi(2) * lat.to_radians().cos()
    };
    let parents: HashMap<&str, &geo::MultiPolygon<f64>> = clipped
        .iter()
        .map(|z| (z.id.as_str(), &z.geometry))
        .collect();
    let mut parent_area: HashMap<String, f64> = HashMap::new();
    g.retain(|parent, piece| {
        let pa = *parent_area
            .entry(parent.to_string())
            .or_insert_with(|| parents.get(parent).map_or(0.0, |p| area(p)));
        let floor = opts.min_area_m2.max(opts.min_relative * pa);
        area(piece) >= 0.5 * floor
    });
    if let Some(src) = source {
        let mut pieces: Vec<Zone> = g
            .geometries_mut()
            .enumerate()
            .map(|(i, p)| Zone {
                id: format!("piece {i}"),
                name: String::new(),
                level: Level::County,
                parent: None,
                geometry: std::mem::replace(p, geo::MultiPolygon::new(Vec::new())),
            })
            .collect();
        gep_io::reproject::reproject_zones_threads(
            &mut pieces,
            &src.crs,
            target,
            gep_io::Densify::Default,
            opts.tally.threads,
        )
        .context("reprojecting the hierarchy check polygons")?;
        for (p, z) in g.geometries_mut().zip(pieces) {
            *p = z.geometry;
        }
    }
    Ok(g)
}

/// The merged extent table of a run and how many counties came from the cache.
struct Tallied {
    table: ExtentTable,
    resumed: usize,
}

/// Tallies the counties' zones in one pass over the raster (each window read once, over all
/// threads), caching each county's tally as soon as every window its zones touch is done
/// (windows go north to south, so counties complete one after another during the pass). With
/// `resume`, counties found in the cache with a matching key are loaded instead and only the
/// others are tallied. Zone tallies do not depend on which other zones are tallied with them,
/// on the thread or on the order (exact fixed-point sums), so the merged table — in unit
/// order — is bit-identical to one tally of all zones, and to any mix of cached and fresh
/// counties.
fn tally_by_unit(
    plan: &RunPlan,
    prep: &Prepared,
    units: &[&Unit],
    run_zones: &[Zone],
    cache: &TallyCache,
    opts: &gep_zonal::TallyOptions,
    progress: &CliProgress,
) -> Result<Tallied> {
    let n = units.len();
    let mut spans = Vec::with_capacity(n);
    let mut offset = 0;
    for u in units {
        spans.push(offset..offset + u.members.len());
        offset += u.members.len();
    }
    let keys: Vec<String> = spans
        .iter()
        .map(|s| cache.key(&run_zones[s.clone()]))
        .collect();
    let root = |k: usize| &prep.zones[units[k].root];
    let mut parts: Vec<Option<Vec<gep_core::ZoneTally>>> = vec![None; n];
    let mut resumed = 0;
    if plan.resume {
        for k in 0..n {
            parts[k] = cache.load(&root(k).id, &keys[k], &run_zones[spans[k].clone()]);
            if parts[k].is_some() {
                resumed += 1;
                progress.status(&format!(
                    "{} {} {} from cache",
                    root(k).level,
                    root(k).id,
                    root(k).name
                ));
            }
        }
    }
    let fresh: Vec<usize> = (0..n).filter(|&k| parts[k].is_none()).collect();
    if !fresh.is_empty() {
        // The zones to tally, as one slice, and each fresh county's range in it.
        let subset: Vec<Zone>;
        let (zones, groups): (&[Zone], Vec<std::ops::Range<usize>>) = if fresh.len() == n {
            (run_zones, spans.clone())
        } else {
            let mut groups = Vec::with_capacity(fresh.len());
            let mut v = Vec::new();
            for &k in &fresh {
                groups.push(v.len()..v.len() + spans[k].len());
                v.extend_from_slice(&run_zones[spans[k].clone()]);
            }
            subset = v;
            (&subset, groups)
        };
        let mut done = 0;
        gep_zonal::tally_grouped(
            &prep.raster as &dyn RasterSource,
            zones,
            &groups,
            opts,
            progress,
            &mut |g, tallies| {
                let k = fresh[g];
                let r = root(k);
                let members = &run_zones[spans[k].clone()];
                if let Err(e) = cache.store(&r.id, &keys[k], members, tallies) {
                    progress.warn(&format!(
                        "{e:#} (the run goes on; --resume will tally this county again)"
                    ));
                }
                done += 1;
                progress.status(&format!(
                    "{} {} {} tallied ({done}/{})",
                    r.level,
                    r.id,
                    r.name,
                    fresh.len()
                ));
                parts[k] = Some(tallies.to_vec());
            },
        )?;
    }
    let mut zones = Vec::with_capacity(run_zones.len());
    for p in parts {
        zones.extend(p.expect("every county is cached or tallied"));
    }
    if plan.resume {
        progress.status(&format!(
            "resumed {resumed} of {n} counties from cache ({})",
            cache.dir().display()
        ));
    }
    Ok(Tallied {
        table: ExtentTable::from_parts(run_zones.iter().map(|z| z.id.clone()).collect(), zones)?,
        resumed,
    })
}

fn write_outputs(
    staged: &StagedDir,
    basis: &str,
    zones: &[Zone],
    table: &ExtentTable,
    checks: &[gep_zonal::CheckRow],
) -> Result<()> {
    let extent = zones.iter().zip(&table.zones).flat_map(|(z, t)| {
        t.classes.iter().map(move |(c, a)| ExtentRow {
            zone_id: &z.id,
            zone_level: z.level.as_str(),
            class: *c,
            area_m2: a.to_m2(),
        })
    });
    write_csv(&staged.file("extent.csv"), extent)?;
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
    write_csv(&staged.file("zones.csv"), zrows)?;
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
    write_csv(&staged.file("checks.csv"), crows)?;
    Ok(())
}

/// One row per failed unit (county), in unit order, then the units lost before loading.
fn failure_rows(prep: &Prepared) -> Vec<FailureRow> {
    prep.units
        .iter()
        .filter_map(|u| {
            u.failure.as_ref().map(|f| FailureRow {
                unit_id: prep.zones[u.root].id.clone(),
                name: prep.zones[u.root].name.clone(),
                reason: f.clone(),
            })
        })
        .chain(prep.lost_units.iter().cloned())
        .collect()
}

/// The run's summary line: units computed of all, the failed ones by id and name, zones by
/// level, area and time.
fn summary(prep: &Prepared, top: Level, zones: &[Zone], table: &ExtentTable, started: Instant) {
    let count = |l: Level| zones.iter().filter(|z| z.level == l).count();
    let total: f64 = zones
        .iter()
        .zip(&table.zones)
        .filter(|(z, _)| z.parent.is_none())
        .map(|(_, t)| t.covered().to_m2())
        .sum();
    let failed = failure_rows(prep);
    let all = prep.units.len() + prep.lost_units.len();
    let done = all - failed.len();
    let mut line = if failed.is_empty() {
        format!("{done} {} computed", plural(done, top.as_str()))
    } else {
        let names: Vec<String> = failed
            .iter()
            .map(|f| format!("{} {}", f.unit_id, f.name).trim().to_string())
            .collect();
        format!(
            "{done} of {all} {} computed, {} failed ({})",
            plural(all, top.as_str()),
            failed.len(),
            names.join(", ")
        )
    };
    let levels: Vec<String> = [Level::County, Level::Township, Level::Village]
        .into_iter()
        .map(|l| (count(l), l))
        .filter(|(n, _)| *n > 0)
        .map(|(n, l)| format!("{n} {}", plural(n, l.as_str())))
        .collect();
    line.push_str(&format!(
        "; {} {} ({}); {} km² of land cover accounted in {:.1} s",
        zones.len(),
        plural(zones.len(), "zone"),
        levels.join(", "),
        fmt_fixed(total / 1e6, 1),
        started.elapsed().as_secs_f64()
    ));
    println!("{line}");
}

/// `x` with `decimals` decimals, never "-0.0" (a negative zero or a value that rounds to zero
/// prints as zero).
pub fn fmt_fixed(x: f64, decimals: usize) -> String {
    let s = format!("{x:.decimals$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

/// Failure lines for the manifest's and the report's warnings.
fn failure_warnings(top: Level, failures: &[FailureRow]) -> Vec<String> {
    failures
        .iter()
        .map(|f| {
            format!(
                "{top} {} failed and is not in the results: {}",
                format!("{} {}", f.unit_id, f.name).trim(),
                f.reason
            )
        })
        .collect()
}

/// The run information recorded in the manifest and the report.
fn run_info(
    plan: &RunPlan,
    prep: &Prepared,
    progress: &CliProgress,
    timings: &[gep_report::Timing],
    (raster_sha256, raster_size): (&str, u64),
) -> Result<gep_report::RunInfo> {
    let grid = prep.raster.grid();
    let mut inputs = vec![gep_report::InputFile {
        role: "landcover".to_string(),
        path: plan.landcover.display().to_string(),
        sha256: raster_sha256.to_string(),
        size_bytes: raster_size,
        crs: Some(prep.raster.crs().label()),
        resolution: Some([grid.cell_width, grid.cell_height]),
    }];
    for z in &plan.zones {
        for p in sidecars(&z.path) {
            inputs.push(crate::outputs::input_file(
                &format!("zones:{}", z.level),
                &p,
                None,
                None,
            )?);
        }
    }
    let mut coefficient_set = None;
    let mut crosswalk = None;
    if let (Some(v), Some(vp)) = (&prep.valuation, &plan.valuation) {
        coefficient_set = Some(crate::outputs::id_hash(
            &v.set.id,
            &v.set.version,
            &v.set.sha256,
        ));
        if let Some(c) = &v.crosswalk {
            crosswalk = Some(crate::outputs::id_hash(&c.id, &c.version, &c.sha256));
        }
        for (role, p) in [
            ("coefficients", Some(&vp.coefficients)),
            ("crosswalk", vp.crosswalk.as_ref()),
        ] {
            if let Some(p) = p.map(Path::new).filter(|p| p.is_file()) {
                inputs.push(crate::outputs::input_file(role, p, None, None)?);
            }
        }
        if let Some(d) = &vp.deflator {
            inputs.push(crate::outputs::input_file("deflator", d, None, None)?);
        }
    }
    let config_text = match &plan.config_path {
        Some(p) => std::fs::read_to_string(p).unwrap_or_default(),
        None => String::new(),
    };
    let mut command: Vec<String> = std::env::args().collect();
    // Record the config path absolutely so that `gep rerun` works from any directory.
    if let Some(p) = &plan.config_path {
        let abs = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
        for a in command.iter_mut() {
            if Path::new(a) == p.as_path() {
                *a = abs.display().to_string();
            }
        }
    }
    let commit = option_env!("GEP_GIT_COMMIT")
        .filter(|c| !c.is_empty())
        .map(String::from);
    Ok(gep_report::RunInfo {
        engine_version: env!("CARGO_PKG_VERSION").to_string(),
        commit,
        command,
        config_text,
        coefficient_set,
        crosswalk,
        inputs,
        timings: timings.to_vec(),
        warnings: progress.warnings(),
        area_basis: grid.area_basis().as_str().to_string(),
        year: plan.year,
        // Filled once the units' fates are known.
        units_total: 0,
        failures: Vec::new(),
    })
}

/// A vector file and its sidecars (Shapefile .dbf/.shx/.prj/.cpg), all of which matter.
fn sidecars(path: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![path.to_path_buf()];
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("shp"))
    {
        for ext in ["dbf", "shx", "prj", "cpg"] {
            let p = path.with_extension(ext);
            if p.is_file() {
                out.push(p);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// County-by-county tallies merge into exactly the table of one tally of all zones.
    #[test]
    fn per_county_tally_equals_the_joint_tally() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/demo/gep.toml");
        let raw = config::load(&root).unwrap();
        let plan = config::resolve(raw, Some(&root)).unwrap();
        let progress = CliProgress::new(true);
        let prep = prepare(&plan, &progress).unwrap();
        let units: Vec<&Unit> = prep.units.iter().filter(|u| u.failure.is_none()).collect();
        assert_eq!(units.len(), 26);
        let zones: Vec<Zone> = units
            .iter()
            .flat_map(|u| u.members.iter().map(|&i| prep.zones[i].clone()))
            .collect();
        let opts = gep_zonal::TallyOptions::default();
        let joint = gep_zonal::tally(&prep.raster, &zones, &opts, &gep_core::NoProgress).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut plan = plan.clone();
        plan.out_dir = dir.path().join("out");
        let cache = TallyCache::new(&plan, "x", prep.raster.grid(), "crs");
        let by_unit =
            tally_by_unit(&plan, &prep, &units, &zones, &cache, &opts, &progress).unwrap();
        assert_eq!(by_unit.resumed, 0);
        assert!(
            joint == by_unit.table,
            "per-county tally differs from the joint tally"
        );
        // And loaded back from the cache, bit for bit.
        plan.resume = true;
        let resumed =
            tally_by_unit(&plan, &prep, &units, &zones, &cache, &opts, &progress).unwrap();
        assert_eq!(resumed.resumed, 26);
        assert!(
            joint == resumed.table,
            "cached tallies differ from the joint tally"
        );
        // A changed zone invalidates its county only.
        let mut moved = zones.clone();
        use geo::Translate;
        moved[0].geometry = moved[0].geometry.translate(1e-9, 0.0);
        let again = tally_by_unit(&plan, &prep, &units, &moved, &cache, &opts, &progress).unwrap();
        assert_eq!(again.resumed, 25);
        // Cached counties plus the one tallied again, merged in unit order: as one tally.
        let moved_joint =
            gep_zonal::tally(&prep.raster, &moved, &opts, &gep_core::NoProgress).unwrap();
        assert!(
            moved_joint == again.table,
            "mixed cached and fresh counties differ from the joint tally"
        );
    }
}
