//! The pipeline on data the caller already holds: a raster source (in memory or the caller's
//! own reader) and zones in the raster's CRS. Pure Rust.

use crate::units::{drop_failed, group_units, unit_zones, Unit};
use crate::{Assessment, EngineError, FailureReason, UnitFailure, Valuation};
use gep_core::{RasterSource, Reporter, Zone};

/// How an assessment runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Worker threads (0 = all cores). Results are identical for any count.
    pub threads: usize,
    /// Geometric hierarchy checks (gaps, overlaps, spills, top-level overlaps) besides the
    /// sum rows.
    pub geometry_checks: bool,
    /// A zone off the raster or of zero area is an error ([`EngineError::Strict`]) instead of
    /// a zero in the results. The default for library calls.
    pub strict: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            threads: 0,
            geometry_checks: true,
            strict: true,
        }
    }
}

/// Strict mode: every zone must have an area and overlap the raster.
fn check_strict(zones: &[Zone], grid: &gep_core::Grid) -> Result<(), EngineError> {
    use geo::{Area, BoundingRect};
    for z in zones {
        let Some(b) = z.geometry.bounding_rect() else {
            return Err(EngineError::Strict {
                zone: z.id.clone(),
                problem: "its boundary is empty".into(),
            });
        };
        if z.geometry.unsigned_area() <= 0.0 {
            return Err(EngineError::Strict {
                zone: z.id.clone(),
                problem: "its boundary has zero area".into(),
            });
        }
        let overlaps = b.max().x > grid.left
            && b.min().x < grid.right()
            && b.max().y > grid.bottom()
            && b.min().y < grid.top;
        if !overlaps {
            return Err(EngineError::Strict {
                zone: z.id.clone(),
                problem: format!(
                    "its boundary (x {}..{}, y {}..{}) lies entirely off the raster (x {}..{}, y {}..{})",
                    b.min().x,
                    b.max().x,
                    b.min().y,
                    b.max().y,
                    grid.left,
                    grid.right(),
                    grid.bottom(),
                    grid.top
                ),
            });
        }
    }
    Ok(())
}

/// Counties whose land cover has classes the crosswalk does not map: failures, with the
/// classes and their areas.
pub(crate) fn unmapped_failures(
    zones: &[Zone],
    table: &gep_core::ExtentTable,
    valuation: Option<&Valuation>,
) -> Vec<UnitFailure> {
    let Some(cw) = valuation.and_then(|v| v.crosswalk.as_ref()) else {
        return Vec::new();
    };
    zones
        .iter()
        .zip(&table.zones)
        .filter(|(z, _)| z.parent.is_none())
        .filter_map(|(z, t)| {
            FailureReason::unmapped(&t.classes, cw).map(|r| UnitFailure {
                unit_id: z.id.clone(),
                name: z.name.clone(),
                level: z.level,
                reasons: vec![r],
            })
        })
        .collect()
}

/// Assesses `zones` (any levels, in `raster`'s CRS; parents resolved here from parent ids or
/// code prefixes) over `raster`: extent, checks and, with `valuation`, accounts and totals.
///
/// A county whose classes the crosswalk does not map is a [`UnitFailure`]; the others are
/// computed. In strict mode ([`Options::strict`]) a zone off the raster or of zero area is an
/// error.
///
/// # Errors
/// Orphans and duplicate ids ([`gep_core::CoreError`]), strict-mode zones, tally and check
/// failures, an unusable valuation.
///
/// # Example
/// ```
/// use gep_core::geo_types::polygon;
/// use gep_core::{CrsInfo, Grid, Level, MemRaster, NoProgress, Zone};
/// use gep_engine::{assess_zones, Options, Valuation};
///
/// // 4 x 4 cells of 30 m: the west half forest (MODIS IGBP 2), the east half water (0).
/// let grid = Grid::new(0.0, 120.0, 30.0, 30.0, 4, 4, CrsInfo::projected("EPSG:4549")).unwrap();
/// let raster = MemRaster::from_fn(grid, |_, c| Some(if c < 2 { 2 } else { 0 }));
/// let county = Zone::new(
///     "331123",
///     "景宁",
///     Level::County,
///     polygon![(x: 0.0, y: 0.0), (x: 120.0, y: 0.0), (x: 120.0, y: 120.0), (x: 0.0, y: 120.0)].into(),
/// );
/// let valuation = Valuation::load("xie2015", Some("modis-igbp-mcd12c1"), 2019).unwrap();
/// let a = assess_zones(&raster, vec![county], Some(&valuation), &Options::default(), &NoProgress).unwrap();
/// assert_eq!(a.extent.get("331123").unwrap().covered().to_m2(), 14_400.0);
/// let totals = a.totals.unwrap();
/// assert!(totals.gep_yuan > 0.0);
/// assert_eq!(totals.price_year, Some(2010));
/// ```
pub fn assess_zones(
    raster: &dyn RasterSource,
    mut zones: Vec<Zone>,
    valuation: Option<&Valuation>,
    opts: &Options,
    reporter: &dyn Reporter,
) -> Result<Assessment, EngineError> {
    if let Some(v) = valuation {
        v.check()?;
    }
    gep_core::resolve_parents(&mut zones)?;
    if opts.strict {
        check_strict(&zones, raster.grid())?;
    }
    let units = group_units(&zones);
    let units_total = units.len();
    let refs: Vec<&Unit> = units.iter().collect();
    let zones = unit_zones(&zones, &refs);
    let tally_opts = gep_zonal::TallyOptions {
        threads: opts.threads,
        ..Default::default()
    };
    let mut extent = gep_zonal::tally(raster, &zones, &tally_opts, reporter)?;
    let guards = crate::guards::after_tally(&zones, &extent, valuation);
    let failures = unmapped_failures(&zones, &extent, valuation);
    let failed: Vec<String> = failures.iter().map(|f| f.unit_id.clone()).collect();
    let zones = drop_failed(zones, &mut extent, &failed);
    let check_opts = gep_zonal::CheckOptions {
        geometry: opts.geometry_checks,
        tally: tally_opts,
        ..Default::default()
    };
    let checks = gep_zonal::hierarchy_checks(&zones, &extent, raster, &check_opts, reporter)?;
    let mut warnings = crate::warnings::checks(&checks);
    warnings.extend(crate::warnings::coverage(&zones, &extent));
    let accounts = valuation
        .map(|v| {
            gep_core::account::compute_accounts(
                &zones,
                &extent,
                v.year,
                v.crosswalk.as_ref(),
                &v.set,
                &v.params,
            )
        })
        .transpose()?;
    warnings.extend(guards);
    warnings.extend(crate::guards::after_accounts(
        &zones,
        &extent,
        accounts.as_ref(),
        valuation,
        raster.grid(),
    ));
    let totals = match (&accounts, valuation) {
        (Some(a), Some(v)) => Some(Assessment::totals_of(&zones, a, v)),
        _ => None,
    };
    Ok(Assessment {
        area_basis: raster.grid().area_basis(),
        zones,
        extent,
        checks,
        accounts,
        totals,
        failures,
        units_total,
        warnings,
        physical: None,
        crosswalk: valuation.and_then(|v| v.crosswalk.clone()),
    })
}
