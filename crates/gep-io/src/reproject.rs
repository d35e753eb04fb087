//! Reprojection of zone boundaries to the raster's CRS, with deterministic densification.
//!
//! Straight edges in one CRS are curves in another, so edges are first split into short,
//! equal pieces. The split points of an edge are computed from its lexicographically smaller
//! endpoint, so an edge shared by two neighbouring zones (traversed in opposite directions)
//! gets bit-identical points in both, and stays shared after the (pointwise, deterministic)
//! transformation: no slivers or gaps open between villages.
//!
//! Axis order: PROJ's `proj_create_crs_to_crs` follows each CRS's official axis order
//! (EPSG:4490 and EPSG:4326 are latitude-first, EPSG:4549 northing-first); the `proj` crate's
//! `Proj::new_known_crs` applies `proj_normalize_for_visualization`, so input and output are in
//! traditional GIS order, x = longitude/easting, y = latitude/northing, as GDAL/OGR hands
//! coordinates to us (OAMS_TRADITIONAL_GIS_ORDER) and as [`gep_core::Grid`] expects.

use crate::crs::Crs;
use crate::error::IoError;
use gdal::spatial_ref::SpatialRef;
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use gep_core::{CellsMismatch, CrsCheck, CrsKind, Grid, Zone};
use proj::Proj;

/// Default densification step for boundaries in geographic CRSs: 0.001° (~100 m north-south,
/// ~97 m east-west in Zhejiang). Chosen so that the curvature error of a projected edge
/// is far below a 30 m cell (the bend of a 100 m chord under Gauss-Krüger is micrometres).
pub const DEFAULT_STEP_DEGREES: f64 = 0.001;
/// Default densification step for boundaries in projected CRSs: 100 m.
pub const DEFAULT_STEP_METRES: f64 = 100.0;

/// How long the pieces of densified edges may be.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Densify {
    /// [`DEFAULT_STEP_DEGREES`] for geographic sources, [`DEFAULT_STEP_METRES`] for projected.
    #[default]
    Default,
    /// At most this long, in the units of the source CRS (degrees or metres).
    Step(f64),
    /// Transform the vertices only.
    Off,
}

/// True when `a` and `b` are the same CRS (same definition, or GDAL's `OSRIsSame`).
pub fn same_crs(a: &Crs, b: &Crs) -> bool {
    if a.definition == b.definition {
        return true;
    }
    match (
        SpatialRef::from_definition(&a.definition),
        SpatialRef::from_definition(&b.definition),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Whether `b` (in `b_crs`) lies on exactly the cells of `a` (in `a_crs`):
/// [`Grid::same_cells`] with `a` as the reference and the full CRSs compared by [`same_crs`]
/// (PROJ/GDAL's `OSRIsSame`), not only their [`gep_core::CrsInfo`].
///
/// # Errors
/// The first difference, as [`Grid::same_cells`] orders them.
pub fn same_grid(a: &Grid, a_crs: &Crs, b: &Grid, b_crs: &Crs) -> Result<(), CellsMismatch> {
    a.same_cells(
        b,
        CrsCheck::Known {
            same: same_crs(a_crs, b_crs),
        },
    )
}

/// Reprojects the boundaries of `zones` from `from` to `to` in place, densifying edges first.
/// Does nothing (and does not densify) when the two CRSs are the same.
///
/// Uses all available cores; see [`reproject_zones_threads`].
///
/// Errors when PROJ has no transformation between the CRSs (naming both) or a coordinate
/// cannot be transformed (naming the zone).
pub fn reproject_zones(
    zones: &mut [Zone],
    from: &Crs,
    to: &Crs,
    densify: Densify,
) -> Result<(), IoError> {
    reproject_zones_threads(zones, from, to, densify, 0)
}

/// [`reproject_zones`] on at most `threads` threads (0 = all available cores).
///
/// The zones are split into contiguous chunks, one per thread, each with its own PROJ
/// transformer (a `Proj` is not shareable). The transformation is pointwise and the
/// densification per zone, so the result is bit-identical for any thread count; on failure
/// the error names the first failing zone in zone order, as a serial pass would.
pub fn reproject_zones_threads(
    zones: &mut [Zone],
    from: &Crs,
    to: &Crs,
    densify: Densify,
    threads: usize,
) -> Result<(), IoError> {
    if same_crs(from, to) {
        return Ok(());
    }
    let new_proj = || {
        quiet_new_known_crs(&from.definition, &to.definition).map_err(|e| {
            IoError::NoTransformation {
                from: from.label(),
                to: to.label(),
                message: e.to_string(),
            }
        })
    };
    let proj = new_proj()?;
    let step = match densify {
        Densify::Off => None,
        Densify::Step(s) => Some(s),
        Densify::Default => Some(match from.info.kind {
            CrsKind::Geographic(_) => DEFAULT_STEP_DEGREES,
            CrsKind::Projected => DEFAULT_STEP_METRES,
        }),
    };
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    };
    // Work is proportional to the vertices; below this many per thread a thread (and its
    // PROJ transformer) costs more than it saves.
    const MIN_VERTICES_PER_THREAD: usize = 20_000;
    let vertices: Vec<usize> = zones.iter().map(|z| vertex_count(&z.geometry)).collect();
    let total: usize = vertices.iter().sum();
    let threads = threads.min(total / MIN_VERTICES_PER_THREAD).max(1);
    if threads == 1 {
        return reproject_chunk(&proj, zones, from, to, step);
    }
    // Contiguous chunks of about equal vertex counts.
    let mut chunks: Vec<&mut [Zone]> = Vec::with_capacity(threads);
    let mut rest = zones;
    let (mut taken, mut done) = (0usize, 0usize);
    for k in 1..threads {
        let target = total * k / threads;
        let mut n = 0;
        while done + n < vertices.len() && taken < target {
            taken += vertices[done + n];
            n += 1;
        }
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(n);
        chunks.push(head);
        rest = tail;
        done += n;
    }
    chunks.push(rest);
    let mut chunks = chunks.into_iter();
    let first = chunks.next().expect("at least one chunk");
    std::thread::scope(|sc| {
        let handles: Vec<_> = chunks
            .map(|c| sc.spawn(move || reproject_chunk(&new_proj()?, c, from, to, step)))
            .collect();
        // The first chunk on this thread, with the transformer already made.
        let mut result = reproject_chunk(&proj, first, from, to, step);
        for h in handles {
            let r = h.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            if result.is_ok() {
                result = r;
            }
        }
        result
    })
}

fn vertex_count(mp: &MultiPolygon<f64>) -> usize {
    mp.0.iter()
        .map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>())
        .sum()
}

fn reproject_chunk(
    proj: &Proj,
    zones: &mut [Zone],
    from: &Crs,
    to: &Crs,
    step: Option<f64>,
) -> Result<(), IoError> {
    for z in zones.iter_mut() {
        let dense = match step {
            Some(s) => densify_multipolygon(&z.geometry, s),
            None => z.geometry.clone(),
        };
        let err = |message: String| IoError::Transform {
            id: z.id.clone(),
            from: from.label(),
            to: to.label(),
            message,
        };
        let mut out = Vec::with_capacity(dense.0.len());
        for poly in &dense.0 {
            let ext = transform_ring(proj, poly.exterior()).map_err(err)?;
            let ints = poly
                .interiors()
                .iter()
                .map(|r| transform_ring(proj, r))
                .collect::<Result<Vec<_>, _>>()
                .map_err(err)?;
            out.push(Polygon::new(ext, ints));
        }
        z.geometry = MultiPolygon::new(out);
    }
    Ok(())
}

/// `Proj::new_known_crs` without PROJ writing its messages to stderr (libraries never print:
/// the message is returned in the error instead).
///
/// The `proj` crate creates a fresh PROJ context per transformer, and PROJ copies new contexts
/// from its default context, so the default context's log level is lowered around the call
/// (and restored after it). The lock keeps our own calls from interleaving.
fn quiet_new_known_crs(from: &str, to: &str) -> Result<Proj, proj::ProjCreateError> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    // SAFETY: a null context selects PROJ's default context; setting its log level is a
    // plain field write that PROJ documents as allowed at any time.
    let old = unsafe {
        proj_sys::proj_log_level(std::ptr::null_mut(), proj_sys::PJ_LOG_LEVEL_PJ_LOG_NONE)
    };
    let result = Proj::new_known_crs(from, to, None);
    // SAFETY: as above; restores the level read before.
    unsafe { proj_sys::proj_log_level(std::ptr::null_mut(), old) };
    result
}

fn transform_ring(proj: &Proj, ring: &LineString<f64>) -> Result<LineString<f64>, String> {
    let mut pts: Vec<(f64, f64)> = ring.0.iter().map(|c| (c.x, c.y)).collect();
    proj.convert_array(&mut pts).map_err(|e| e.to_string())?;
    if let Some((x, y)) = pts.iter().find(|(x, y)| !(x.is_finite() && y.is_finite())) {
        return Err(format!("a vertex maps to ({x}, {y})"));
    }
    Ok(LineString::from(pts))
}

/// Splits every edge longer than `step` into `ceil(length / step)` equal pieces.
///
/// The intermediate points of an edge are computed from its lexicographically smaller endpoint
/// (by x, then y), so the two traversals of a shared edge produce identical points.
///
/// ```
/// use geo_types::{polygon, MultiPolygon};
/// let sq = MultiPolygon::new(vec![polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 1.0)]]);
/// let d = gep_io::reproject::densify_multipolygon(&sq, 0.3);
/// assert_eq!(d.0[0].exterior().0.len(), 4 * 4 + 1); // each side in 4 pieces, ring closed
/// ```
pub fn densify_multipolygon(mp: &MultiPolygon<f64>, step: f64) -> MultiPolygon<f64> {
    MultiPolygon::new(
        mp.0.iter()
            .map(|p| {
                Polygon::new(
                    densify_ring(p.exterior(), step),
                    p.interiors()
                        .iter()
                        .map(|r| densify_ring(r, step))
                        .collect(),
                )
            })
            .collect(),
    )
}

fn densify_ring(ring: &LineString<f64>, step: f64) -> LineString<f64> {
    let pts = &ring.0;
    if pts.len() < 2 || !(step.is_finite() && step > 0.0) {
        return ring.clone();
    }
    let mut out = Vec::with_capacity(pts.len());
    for w in pts.windows(2) {
        let (a, b) = (w[0], w[1]);
        out.push(a);
        let len = (b.x - a.x).hypot(b.y - a.y);
        let n = (len / step).ceil();
        if n < 2.0 || !n.is_finite() {
            continue;
        }
        let n = n as usize;
        let forward = (a.x, a.y) <= (b.x, b.y);
        let (p0, p1) = if forward { (a, b) } else { (b, a) };
        let at = |k: usize| {
            let t = k as f64 / n as f64;
            Coord {
                x: p0.x + (p1.x - p0.x) * t,
                y: p0.y + (p1.y - p0.y) * t,
            }
        };
        if forward {
            out.extend((1..n).map(at));
        } else {
            out.extend((1..n).rev().map(at));
        }
    }
    out.push(pts[pts.len() - 1]);
    LineString::new(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `wkt` without its `AUTHORITY[...]` / `ID[...]` nodes.
    fn without_authority(wkt: &str) -> String {
        let mut s = wkt.to_string();
        for key in [",AUTHORITY[", ",ID["] {
            while let Some(i) = s.find(key) {
                let mut depth = 0;
                let mut end = i;
                for (k, ch) in s[i..].char_indices() {
                    match ch {
                        '[' => depth += 1,
                        ']' => {
                            depth -= 1;
                            if depth == 0 {
                                end = i + k + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                s.replace_range(i..end, "");
            }
        }
        s
    }

    #[test]
    fn same_grid_compares_full_crs_definitions() {
        let c4549 = Crs::from_user_input("EPSG:4549").unwrap();
        let c4527 = Crs::from_user_input("EPSG:4527").unwrap();
        // The same CRS without its EPSG code: another description, the same CRS for GDAL.
        let bare = Crs::from_user_input(&without_authority(&c4549.wkt)).unwrap();
        assert_eq!(bare.epsg, None, "{}", bare.wkt);
        let grid = |crs: &Crs, left: f64| {
            Grid::new(left, 3_300_000.0, 30.0, 30.0, 100, 100, crs.info.clone()).unwrap()
        };
        let a = grid(&c4549, 500_000.0);
        assert_eq!(
            same_grid(&a, &c4549, &grid(&bare, 500_000.0), &bare),
            Ok(())
        );
        assert_eq!(
            same_grid(&a, &c4549, &grid(&c4527, 500_000.0), &c4527),
            Err(CellsMismatch::Crs)
        );
        // Within / beyond 1e-9 of a 30 m cell.
        assert_eq!(
            same_grid(&a, &c4549, &grid(&bare, 500_000.0 + 1e-8), &bare),
            Ok(())
        );
        assert_eq!(
            same_grid(&a, &c4549, &grid(&bare, 500_000.0 + 1e-7), &bare),
            Err(CellsMismatch::Origin)
        );
    }

    #[test]
    fn shared_edge_is_identical_both_ways() {
        let a = Coord {
            x: 119.123,
            y: 29.456,
        };
        let b = Coord { x: 119.2, y: 29.3 };
        let f = densify_ring(&LineString::new(vec![a, b]), 0.001);
        let r = densify_ring(&LineString::new(vec![b, a]), 0.001);
        let mut rr = r.0.clone();
        rr.reverse();
        assert_eq!(f.0, rr);
        assert!(f.0.len() > 100);
    }
}
