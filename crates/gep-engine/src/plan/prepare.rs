//! The stages before and around the tally: open the raster, read and reproject the
//! boundaries, resolve the hierarchy into units of work with their failures, tally the units
//! (with the resume store), and clip the hierarchy's gap/overlap/spill polygons.

use super::cache::TallyStore;
use super::config::Plan;
use super::{bail, Context, Result};
use crate::{EngineError, FailureReason, UnitFailure, Valuation, Warning};
use gep_core::coefficients::{CoefficientSet, Deflator, SetKey, ValuationParams};
use gep_core::crosswalk::Crosswalk;
use gep_core::{ExtentTable, Level, RasterSource, Reporter, Zone};
use gep_io::{GdalRaster, RasterOptions};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// One county (or other top-level zone) and everything below it.
#[derive(Debug, Clone)]
pub struct Unit {
    /// Index of the unit's root zone.
    pub root: usize,
    /// Indices of all its zones (root first).
    pub members: Vec<usize>,
    /// Why it cannot be computed, if it cannot.
    pub failure: Option<Vec<FailureReason>>,
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
    pub lost_units: Vec<UnitFailure>,
    /// Lines describing what was read, for the report.
    pub notes: Vec<String>,
    /// The boundary layers as read, in the plan's order: zones, CRS, datum correction.
    pub layers: Vec<LayerRead>,
    /// Warnings of the boundary readers (also given to the reporter as they come).
    pub warnings: Vec<Warning>,
    /// Coefficient set, crosswalk and parameters, when valuing.
    pub valuation: Option<Valuation>,
    /// The boundaries as read and the CRS of each layer: `zones.gpkg` is written from
    /// these, and when every layer came in one CRS other than the raster's the geometric
    /// hierarchy checks clip them (far fewer vertices than the densified, reprojected zones)
    /// and reproject only the pieces.
    pub source: SourceGeometry,
    /// Continuous inputs on the land-cover grid and the models' parameters, when the plan
    /// has models.
    pub models: Option<super::models::PreparedModels>,
    /// The statistics table and village shares, when the plan has `[statistics]`.
    pub statistics: Option<(
        gep_core::StatisticsTable,
        Option<gep_core::statistics::VillageShares>,
    )>,
}

/// One boundary layer, read and reprojected.
struct LoadedLayer {
    layer: gep_io::ZoneLayer,
    bad: Vec<gep_io::RejectedFeature>,
    /// The boundaries as read, by zone id, when the layer's CRS is not the raster's.
    as_read: Option<Vec<(String, geo::MultiPolygon<f64>)>>,
}

/// One boundary layer as read and moved onto the raster's CRS.
#[derive(Debug, Clone)]
pub struct LayerRead {
    /// The file.
    pub path: std::path::PathBuf,
    /// Its level.
    pub level: Level,
    /// Zones read from it (features refused are not counted).
    pub zones: usize,
    /// The CRS its coordinates were in once read (EPSG:4326 after a GCJ-02 correction).
    pub crs: String,
    /// The raster's CRS, which the zones were reprojected to.
    pub target: String,
    /// The datum the plan declared for its coordinates: [`gep_io::Datum::Gcj02`] means the
    /// inverse GCJ-02 transform was applied (GCJ-02 → WGS 84) before reprojection.
    pub datum: gep_io::Datum,
    /// Whether the zones were reprojected (their CRS differs from the raster's).
    pub reprojected: bool,
}

/// Zone boundaries as read, in their layers' own CRSs.
///
/// A GCJ-02 layer's boundaries are those after the correction, in EPSG:4326 (GCJ-02 is not a
/// CRS a GIS can declare).
pub struct SourceGeometry {
    /// Each boundary layer's level and CRS, in plan order.
    pub layers: Vec<(Level, gep_io::Crs)>,
    /// Boundary of each zone as read, by zone id, for the zones of layers in another CRS
    /// than the raster's; the zones of the others were not reprojected, so their own
    /// boundaries are those read.
    pub by_id: HashMap<String, geo::MultiPolygon<f64>>,
}

impl SourceGeometry {
    /// The CRS of the layer of `level`.
    pub fn crs_of(&self, level: Level) -> Option<&gep_io::Crs> {
        self.layers
            .iter()
            .find(|(l, _)| *l == level)
            .map(|(_, c)| c)
    }

    /// The one CRS every layer is in, when they share one.
    pub fn common_crs(&self) -> Option<&gep_io::Crs> {
        let (_, first) = self.layers.first()?;
        self.layers
            .iter()
            .all(|(_, c)| gep_io::reproject::same_crs(c, first))
            .then_some(first)
    }

    /// The CRS of the gap/overlap pieces in `zones.gpkg`: the one CRS of every layer, or
    /// when the layers differ, the CRS of the top (coarsest) level's layer.
    pub fn pieces_crs(&self) -> Option<&gep_io::Crs> {
        self.common_crs().or_else(|| {
            self.layers
                .iter()
                .min_by_key(|(l, _)| l.rank())
                .map(|(_, c)| c)
        })
    }

    /// `zone`'s boundary as read (its own geometry when its layer was not reprojected).
    pub fn as_read<'a>(&'a self, zone: &'a Zone) -> &'a geo::MultiPolygon<f64> {
        self.by_id.get(&zone.id).unwrap_or(&zone.geometry)
    }
}

/// Loads the plan's coefficient set, crosswalk and deflator, and checks that the set values
/// every ecosystem type the crosswalk reaches.
///
/// # Errors
/// A set or table that cannot be read; a set without a crosswalk; coverage gaps.
pub fn load_valuation(plan: &Plan) -> Result<Option<Valuation>> {
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
    let deflator = match &v.deflator {
        Some(p) => Some(Deflator::from_path(p)?),
        None => None,
    };
    let valuation = Valuation {
        coastal_zones: v.coastal_zones.clone(),
        year: v.year,
        set,
        crosswalk,
        params: ValuationParams {
            equivalent_value: v.d,
            equivalent_value_price_year: v.d_price_year,
            target_price_year: v.target_price_year,
            deflator,
        },
    };
    // Every ecosystem type × service the crosswalk reaches must have a value or an NA.
    valuation.check()?;
    Ok(Some(valuation))
}

/// More cells than any real land-cover raster has (10 m over all of China is ~10^11): a
/// header claiming more is broken, and tallying it would never finish.
const MAX_RASTER_CELLS: u128 = 1_000_000_000_000;

/// Opens the plan's land-cover raster (refusing a header that claims more than 10¹² cells).
///
/// # Errors
/// When it cannot be opened or its header is absurd.
pub fn open_raster(plan: &Plan) -> Result<GdalRaster> {
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
pub fn prepare(plan: &Plan, progress: &dyn Reporter) -> Result<Prepared> {
    progress.event(&gep_core::ProgressEvent::ReadingInputs);
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
    // Inputs and parameter tables before the boundaries: a wrong unit or a missing file
    // fails in seconds, not after the boundaries are read.
    let models = super::models::prepare_models(&plan.models, raster.grid(), &target, progress)?;
    let statistics = match &plan.statistics {
        None => None,
        Some((table, shares)) => Some((
            gep_core::StatisticsTable::from_file(table)?,
            shares
                .as_deref()
                .map(gep_core::statistics::VillageShares::from_file)
                .transpose()?,
        )),
    };
    let mut notes = vec![format!(
        "land cover: {} ({} x {} cells, {}, {})",
        plan.landcover.display(),
        raster.grid().cols,
        raster.grid().rows,
        target.label(),
        raster.grid().area_basis().as_str()
    )];
    let read = read_layers(plan, &target, progress)?;
    notes.extend(read.notes);
    let layers = read.layers;
    let mut zones = read.zones;
    let top = plan.top_level();

    let (unit_failures, top_ids) = assign_failures(&mut zones, &read.rejected, top)?;
    let grid = raster.grid().clone();
    let (units, lost_units) = build_units(plan, &zones, unit_failures, &top_ids, top, &grid)?;
    Ok(Prepared {
        raster,
        zones,
        units,
        lost_units,
        notes,
        layers,
        warnings: read
            .warnings
            .into_iter()
            .chain(models.iter().flat_map(|m| {
                m.notes
                    .iter()
                    .map(|n| Warning::Input { message: n.clone() })
            }))
            .collect(),
        valuation,
        source: read.source,
        models,
        statistics,
    })
}

/// Failure reasons by the id of the top-level zone (county) they belong to.
type UnitFailures = BTreeMap<String, Vec<FailureReason>>;

/// The boundary layers of a plan, read and reprojected to the raster's CRS.
struct ReadLayers {
    zones: Vec<Zone>,
    /// Features that cannot be used, as (level, id, parent, reason); they fail their county.
    rejected: Vec<(Level, String, Option<String>, String)>,
    warnings: Vec<Warning>,
    notes: Vec<String>,
    layers: Vec<LayerRead>,
    source: SourceGeometry,
}

/// Reads and reprojects one layer, keeping its boundaries as read when its CRS is not the
/// raster's.
fn read_layer(
    plan: &Plan,
    zp: &gep_io::ZoneLayerSpec,
    target: &gep_io::Crs,
) -> Result<LoadedLayer> {
    let (mut layer, bad) = gep_io::read_zones_lenient(zp)?;
    let as_read = (!gep_io::reproject::same_crs(&layer.crs, target)).then(|| {
        layer
            .zones
            .iter()
            .map(|z| (z.id.clone(), z.geometry.clone()))
            .collect()
    });
    gep_io::reproject::reproject_zones_threads(
        &mut layer.zones,
        &layer.crs,
        target,
        gep_io::Densify::Default,
        plan.threads,
    )
    .with_context(|| format!("reprojecting {}", zp.path.display()))?;
    Ok(LoadedLayer {
        layer,
        bad,
        as_read,
    })
}

/// Reads every layer, each on its own thread (GDAL datasets and PROJ transformers are per
/// thread); results are taken in layer order, so the first error is the one a serial pass
/// would meet.
fn read_layers(plan: &Plan, target: &gep_io::Crs, progress: &dyn Reporter) -> Result<ReadLayers> {
    for zp in &plan.zones {
        progress.event(&gep_core::ProgressEvent::ReadingBoundaries {
            path: zp.path.display().to_string(),
            level: zp.level,
        });
    }
    let loaded: Vec<Result<LoadedLayer>> = if plan.threads == 1 || plan.zones.len() < 2 {
        plan.zones
            .iter()
            .map(|zp| read_layer(plan, zp, target))
            .collect()
    } else {
        std::thread::scope(|sc| {
            let handles: Vec<_> = plan
                .zones
                .iter()
                .map(|zp| sc.spawn(|| read_layer(plan, zp, target)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(EngineError::Panicked("a boundary reader")))
                })
                .collect()
        })
    };
    let mut out = ReadLayers {
        zones: Vec::new(),
        rejected: Vec::new(),
        warnings: Vec::new(),
        notes: Vec::new(),
        layers: Vec::new(),
        source: SourceGeometry {
            layers: Vec::new(),
            by_id: HashMap::new(),
        },
    };
    for (zp, loaded) in plan.zones.iter().zip(loaded) {
        let LoadedLayer {
            layer,
            bad,
            as_read,
        } = loaded?;
        for w in &layer.warnings {
            progress.warn(w);
            out.warnings.push(Warning::Layer { message: w.clone() });
        }
        for r in bad {
            out.rejected
                .push((zp.level, r.id, r.parent, r.error.to_string()));
        }
        out.source.layers.push((zp.level, layer.crs.clone()));
        if let Some(geoms) = as_read {
            out.source.by_id.extend(geoms);
        }
        out.notes.push(format!(
            "{}: {} {} zones, {}{} → {}",
            zp.path.display(),
            layer.zones.len(),
            zp.level,
            if zp.datum == gep_io::Datum::Gcj02 {
                "GCJ-02 corrected to "
            } else {
                ""
            },
            layer.crs.label(),
            target.label()
        ));
        out.layers.push(LayerRead {
            path: zp.path.clone(),
            level: zp.level,
            zones: layer.zones.len(),
            crs: layer.crs.label(),
            target: target.label(),
            datum: zp.datum,
            reprojected: !gep_io::reproject::same_crs(&layer.crs, target),
        });
        out.zones.extend(layer.zones);
    }
    Ok(out)
}

/// Failures by the id of the top-level zone (county) they belong to: rejected features, then
/// orphans (all found in one pass; their counties' zones below the top level and the orphans
/// themselves are dropped from `zones`, whose parents end resolved). Also returns the ids of
/// the top-level zones, rejected ones included.
fn assign_failures(
    zones: &mut Vec<Zone>,
    rejected: &[(Level, String, Option<String>, String)],
    top: Level,
) -> Result<(UnitFailures, Vec<String>)> {
    // Failures keyed by the id of the top-level zone (county) they belong to.
    let mut unit_failures: BTreeMap<String, Vec<FailureReason>> = BTreeMap::new();
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
    for (level, id, parent, reason) in rejected {
        match unit_of(id, parent.as_deref()) {
            Some(u) => unit_failures
                .entry(u)
                .or_default()
                .push(FailureReason::BadFeature {
                    level: *level,
                    id: id.clone(),
                    message: reason.clone(),
                }),
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
        let orphans = gep_core::resolve_parents_all(zones)?;
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
                .push(FailureReason::Orphan {
                    id: id.clone(),
                    parent: parent.clone(),
                    message: err.to_string(),
                });
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
            reasons.push(FailureReason::More(more));
        }
    }

    Ok((unit_failures, top_ids))
}

/// Units of work: zones of the top loaded level with their descendants, those the plan's
/// county filter wants, each pre-flighted; and the failed counties that have no zone left.
fn build_units(
    plan: &Plan,
    zones: &[Zone],
    mut unit_failures: BTreeMap<String, Vec<FailureReason>>,
    top_ids: &[String],
    top: Level,
    grid: &gep_core::Grid,
) -> Result<(Vec<Unit>, Vec<UnitFailure>)> {
    // Units: zones of the top loaded level with their descendants.
    let by_root = crate::units::group_units(zones);
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
    let mut units = Vec::new();
    for crate::units::Unit { root, members } in by_root {
        if !wanted(&zones[root].id) {
            continue;
        }
        let mut failure = preflight_unit(zones, root, grid).map(|r| vec![r]);
        if let Some(f) = unit_failures.remove(&zones[root].id) {
            failure = Some(f);
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
            lost_units.push(UnitFailure {
                unit_id: id,
                name: String::new(),
                level: top,
                reasons,
            });
        }
    }
    Ok((units, lost_units))
}

/// Per-unit pre-flight: the unit's boundary must overlap the raster.
fn preflight_unit(zones: &[Zone], root: usize, grid: &gep_core::Grid) -> Option<FailureReason> {
    use geo::BoundingRect;
    let z = &zones[root];
    let Some(b) = z.geometry.bounding_rect() else {
        return Some(FailureReason::EmptyBoundary);
    };
    let overlaps = b.max().x > grid.left
        && b.min().x < grid.right()
        && b.max().y > grid.bottom()
        && b.min().y < grid.top;
    (!overlaps).then(|| FailureReason::OffRaster {
        boundary: [b.min().x, b.max().x, b.min().y, b.max().y],
        raster: [grid.left, grid.right(), grid.bottom(), grid.top],
    })
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
pub fn class_counts(
    prep: &Prepared,
    progress: &dyn Reporter,
) -> Result<BTreeMap<Option<i32>, u64>> {
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

/// Every file a run reads (land cover, boundary files with their sidecars, tables) and its
/// config: the output directory may contain none of them.
pub fn input_paths(plan: &Plan) -> Vec<std::path::PathBuf> {
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
    v.extend(plan.models.files());
    if let Some((t, s)) = &plan.statistics {
        v.push(t.clone());
        v.extend(s.iter().cloned());
    }
    v
}

/// The gap/overlap/spill polygons of `zones`' families on the raster's CRS, and the same
/// pieces in the CRS of `source.pieces_crs()` (for `zones.gpkg`; parallel to
/// [`gep_zonal::HierarchyGeometry::pieces`]). When every layer is in one CRS other than the
/// raster's, they are clipped on the boundaries as read and only the pieces are reprojected
/// (as the zones were: same densification), else on the zones as tallied (those of layers in
/// the raster's CRS are as read; pieces of zones from other CRSs are moved back to the top
/// level's CRS point by point, without densifying again).
///
/// Most pieces are clipping slivers micrometres wide along whole boundaries. Those whose
/// area where they were clipped is below half the size floor are dropped here (an upper
/// bound in m² for lon/lat, planar otherwise; the parent's area for the floor from the same
/// formula, ≤ 3 % high), instead of being reprojected and measured for nothing; the pieces
/// kept face the floor again on the raster's grid. So slivers that reprojection itself makes
/// at T-junctions, which are not in the boundary data, are not reported.
pub fn hierarchy_geometry(
    zones: &[Zone],
    source: &SourceGeometry,
    target: &gep_io::Crs,
    opts: &gep_zonal::CheckOptions,
) -> Result<(gep_zonal::HierarchyGeometry, Vec<geo::MultiPolygon<f64>>)> {
    let common = source
        .common_crs()
        .filter(|c| !gep_io::reproject::same_crs(c, target))
        .filter(|_| zones.iter().all(|z| source.by_id.contains_key(&z.id)));
    let as_read: Vec<Zone>;
    let (clipped, crs) = match common {
        Some(crs) => {
            as_read = zones
                .iter()
                .map(|z| Zone {
                    id: z.id.clone(),
                    name: String::new(),
                    level: z.level,
                    parent: z.parent.clone(),
                    geometry: source.by_id[&z.id].clone(),
                })
                .collect();
            (&as_read[..], crs)
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
    // The pieces as clipped, for the GeoPackage.
    let mut out: Vec<geo::MultiPolygon<f64>> = g.pieces().map(|p| p.geometry.clone()).collect();
    let as_zones = |geoms: Vec<geo::MultiPolygon<f64>>| -> Vec<Zone> {
        geoms
            .into_iter()
            .enumerate()
            .map(|(i, geometry)| Zone {
                id: format!("piece {i}"),
                name: String::new(),
                level: Level::County,
                parent: None,
                geometry,
            })
            .collect()
    };
    match common {
        Some(crs) => {
            let mut pieces = as_zones(
                g.geometries_mut()
                    .map(|p| std::mem::replace(p, geo::MultiPolygon::new(Vec::new())))
                    .collect(),
            );
            gep_io::reproject::reproject_zones_threads(
                &mut pieces,
                crs,
                target,
                gep_io::Densify::Default,
                opts.tally.threads,
            )
            .context("reprojecting the hierarchy check polygons")?;
            for (p, z) in g.geometries_mut().zip(pieces) {
                *p = z.geometry;
            }
        }
        None => {
            // Clipped on the raster's CRS: moved to the pieces' CRS when that is another.
            if let Some(to) = source
                .pieces_crs()
                .filter(|c| !gep_io::reproject::same_crs(c, target))
            {
                let mut pieces = as_zones(out);
                gep_io::reproject::reproject_zones_threads(
                    &mut pieces,
                    target,
                    to,
                    gep_io::Densify::Off,
                    opts.tally.threads,
                )
                .context("moving the hierarchy check polygons to the boundaries' CRS")?;
                out = pieces.into_iter().map(|z| z.geometry).collect();
            }
        }
    }
    Ok((g, out))
}

/// The merged extent table of a run and how many counties came from the cache.
pub struct Tallied {
    /// The merged extent table, in unit order.
    pub table: ExtentTable,
    /// The weighted sums of the continuous layers, in unit order, when the plan has models.
    pub sums: Option<gep_core::WeightedTable>,
    /// Counties loaded from the store.
    pub resumed: usize,
}

/// Tallies the counties' zones in one pass over the raster (each window read once, over all
/// threads), caching each county's tally as soon as every window its zones touch is done
/// (windows go north to south, so counties complete one after another during the pass). With
/// `resume`, counties found in the cache with a matching key are loaded instead and only the
/// others are tallied. Zone tallies do not depend on which other zones are tallied with them,
/// on the thread or on the order (exact fixed-point sums), so the merged table — in unit
/// order — is bit-identical to one tally of all zones, and to any mix of cached and fresh
/// counties.
pub fn tally_by_unit(
    plan: &Plan,
    prep: &Prepared,
    units: &[&Unit],
    run_zones: &[Zone],
    cache: &dyn TallyStore,
    opts: &gep_zonal::TallyOptions,
    progress: &dyn Reporter,
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
    // With continuous layers, every county is tallied (the cache holds class areas only).
    let layers: Option<Vec<&dyn gep_core::ValueSource>> = prep
        .models
        .as_ref()
        .map(|m| m.layers.iter().map(|l| l.as_ref()).collect());
    let layers = layers.as_deref();
    if plan.resume && layers.is_some() {
        progress.status(
            "continuous inputs: every county is tallied again (the cache holds class areas only)",
        );
    }
    if plan.resume && layers.is_none() {
        for k in 0..n {
            parts[k] = cache.load(&root(k).id, &keys[k], &run_zones[spans[k].clone()]);
            if parts[k].is_some() {
                resumed += 1;
                progress.event(&gep_core::ProgressEvent::FromCache {
                    level: root(k).level,
                    id: root(k).id.clone(),
                    name: root(k).name.clone(),
                });
            }
        }
    }
    let mut sum_parts: Vec<Option<Vec<gep_core::ZoneSums>>> = vec![None; n];
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
        progress.event(&gep_core::ProgressEvent::Tallying {
            units: fresh.len(),
            level: root(fresh[0]).level,
        });
        let mut done = 0;
        let mut on_done =
            |g: usize, tallies: &[gep_core::ZoneTally], sums: Option<&[gep_core::ZoneSums]>| {
                let k = fresh[g];
                let r = root(k);
                let members = &run_zones[spans[k].clone()];
                // With continuous layers every county is tallied anyway: nothing to cache.
                let stored = if layers.is_some() {
                    Ok(())
                } else {
                    cache.store(&r.id, &keys[k], members, tallies)
                };
                if let Err(e) = stored {
                    progress.warn(&format!(
                        "{e:#} (the run goes on; --resume will tally this county again)"
                    ));
                }
                done += 1;
                progress.event(&gep_core::ProgressEvent::Tallied {
                    level: r.level,
                    id: r.id.clone(),
                    name: r.name.clone(),
                    done,
                    of: fresh.len(),
                });
                parts[k] = Some(tallies.to_vec());
                if let Some(s) = sums {
                    sum_parts[k] = Some(s.to_vec());
                }
            };
        match layers {
            None => {
                gep_zonal::tally_grouped(
                    &prep.raster as &dyn RasterSource,
                    zones,
                    &groups,
                    opts,
                    progress,
                    &mut |g, t| on_done(g, t, None),
                )?;
            }
            Some(layers) => {
                gep_zonal::tally_values_grouped(
                    &prep.raster as &dyn RasterSource,
                    layers,
                    zones,
                    &groups,
                    opts,
                    progress,
                    &mut |g, t, s| on_done(g, t, Some(s)),
                )?;
            }
        }
    }
    let mut zones = Vec::with_capacity(run_zones.len());
    for p in parts {
        zones.extend(p.expect("every county is cached or tallied"));
    }
    if plan.resume {
        progress.status(&format!("resumed {resumed} of {n} counties from cache"));
    }
    let ids: Vec<String> = run_zones.iter().map(|z| z.id.clone()).collect();
    let sums = match (layers, &prep.models) {
        (Some(layers), Some(_)) => {
            let mut table = gep_core::WeightedTable::new(
                ids.iter().cloned(),
                layers.iter().map(|l| l.info().clone()).collect(),
            );
            table.zones = sum_parts
                .into_iter()
                .flat_map(|p| p.expect("every county is tallied with its layers"))
                .collect();
            Some(table)
        }
        _ => None,
    };
    Ok(Tallied {
        table: ExtentTable::from_parts(ids, zones)?,
        sums,
        resumed,
    })
}

/// Every failed unit: those failed in pre-flight or after the tally, in unit order, then the
/// units lost before any of their zones could be loaded.
pub fn failures(prep: &Prepared) -> Vec<UnitFailure> {
    prep.units
        .iter()
        .filter_map(|u| {
            u.failure.as_ref().map(|reasons| {
                let z = &prep.zones[u.root];
                UnitFailure {
                    unit_id: z.id.clone(),
                    name: z.name.clone(),
                    level: z.level,
                    reasons: reasons.clone(),
                }
            })
        })
        .chain(prep.lost_units.iter().cloned())
        .collect()
}

/// A vector file and its sidecars (Shapefile .dbf/.shx/.prj/.cpg), all of which matter.
pub fn sidecars(path: &Path) -> Vec<std::path::PathBuf> {
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
