//! `gep_assess_memory`: a land-cover raster and zones the C caller holds in memory.

use crate::assessment::{
    into_handle, GepAssessment, GEP_LEVEL_COUNTY, GEP_LEVEL_TOWNSHIP, GEP_LEVEL_VILLAGE,
};
use crate::status::{guard, non_null, Failure, GEP_ERR_INTERNAL};
use gep_core::geo_types::{Geometry, MultiPolygon};
use gep_core::{CrsInfo, Ellipsoid, Grid, Level, MemRaster, NoProgress, Zone};
use gep_engine::{assess_zones, EngineError, Options, Valuation};
use std::ffi::{c_char, c_int, CStr};

/// Coordinates are planar metres (a projected CRS such as EPSG:4549): planar cell areas.
pub const GEP_CRS_PROJECTED: c_int = 0;
/// Coordinates are degrees on the WGS 84 ellipsoid (EPSG:4326): ellipsoidal cell areas.
pub const GEP_CRS_WGS84: c_int = 1;
/// Coordinates are degrees on the CGCS2000 ellipsoid (EPSG:4490): ellipsoidal cell areas.
pub const GEP_CRS_CGCS2000: c_int = 2;

/// A north-up land-cover raster in memory.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct GepRaster {
    /// `rows * cols` class codes, row by row from the top (north) row, west to east.
    pub classes: *const i32,
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// X of the left edge of column 0 (CRS units).
    pub left: f64,
    /// Y of the top edge of row 0 (CRS units).
    pub top: f64,
    /// Cell width, positive (CRS units).
    pub cell_width: f64,
    /// Cell height, positive; rows go south (CRS units).
    pub cell_height: f64,
    /// 1 when `nodata` marks cells without data, 0 when every cell is a class.
    pub has_nodata: c_int,
    /// The nodata value (used when `has_nodata` is 1).
    pub nodata: i32,
    /// `GEP_CRS_PROJECTED`, `GEP_CRS_WGS84` or `GEP_CRS_CGCS2000`.
    pub crs: c_int,
}

/// Zones (administrative units) with WKB boundaries in the raster's CRS; `count` entries in
/// each array.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct GepZones {
    /// Number of zones.
    pub count: usize,
    /// Each zone's boundary: WKB (ISO or extended, either byte order) of a Polygon or
    /// MultiPolygon; Z and M values are ignored.
    pub wkb: *const *const u8,
    /// The length of each WKB buffer, bytes.
    pub wkb_len: *const usize,
    /// Each zone's id (UTF-8; codes keep their leading zeros).
    pub ids: *const *const c_char,
    /// Each zone's name (UTF-8); NULL for no names, or NULL entries.
    pub names: *const *const c_char,
    /// Each zone's level (`GEP_LEVEL_*`); NULL when all are counties.
    pub levels: *const c_int,
    /// Each zone's parent id (UTF-8); NULL, or NULL entries, to resolve parents from code
    /// prefixes (331123 → 331123100 → 331123100200).
    pub parents: *const *const c_char,
}

/// `n` items at `p` as a slice; `what` names the array in the error.
///
/// # Safety
/// `p` is NULL or points to `n` initialised items that outlive `'a` and are not written to.
unsafe fn slice<'a, T>(p: *const T, n: usize, what: &str) -> Result<&'a [T], Failure> {
    non_null(p, what)?;
    if n.checked_mul(size_of::<T>())
        .is_none_or(|b| b > isize::MAX as usize)
    {
        return Err(Failure::bad_argument(format!(
            "{what}: {n} items do not fit in memory"
        )));
    }
    // SAFETY: non-null, size checked, and the rest is this function's contract.
    Ok(unsafe { std::slice::from_raw_parts(p, n) })
}

/// The UTF-8 string at `p`, or `None` when `p` is NULL.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn opt_str<'a>(p: *const c_char, what: &str) -> Result<Option<&'a str>, Failure> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: non-null and NUL-terminated by this function's contract.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str()
        .map(Some)
        .map_err(|e| Failure::bad_argument(format!("{what} is not UTF-8 ({e})")))
}

/// A boundary from WKB: a Polygon or MultiPolygon with finite coordinates, and no bytes
/// after it (a length that does not match the geometry is a caller's bug worth reporting).
pub(crate) fn boundary(buf: &[u8]) -> Result<MultiPolygon<f64>, String> {
    use geo_traits::to_geo::ToGeoGeometry;
    let g = wkb::reader::read_wkb(buf).map_err(|e| format!("invalid WKB ({e})"))?;
    if g.buf().len() != buf.len() {
        return Err(format!(
            "the WKB geometry is {} bytes long but the buffer holds {}",
            g.buf().len(),
            buf.len()
        ));
    }
    let mp = match g.try_to_geometry() {
        Some(Geometry::Polygon(p)) => MultiPolygon(vec![p]),
        Some(Geometry::MultiPolygon(mp)) => mp,
        _ => {
            return Err(format!(
                "the WKB geometry is a {:?}, not a Polygon or MultiPolygon",
                g.geometry_type()
            ))
        }
    };
    let bad = mp
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|ring| &ring.0)
        .find(|c| !(c.x.is_finite() && c.y.is_finite()));
    if let Some(c) = bad {
        return Err(format!(
            "the boundary has a coordinate that is not finite ({}, {})",
            c.x, c.y
        ));
    }
    Ok(mp)
}

/// The zones C described.
///
/// # Safety
/// As [`gep_assess_memory`]'s `zones`.
unsafe fn zones(z: &GepZones) -> Result<Vec<Zone>, Failure> {
    if z.count == 0 {
        return Err(Failure::bad_argument(
            "zones->count is 0: give at least one zone",
        ));
    }
    let n = z.count;
    // SAFETY: each array holds `count` entries, by gep_assess_memory's contract.
    let wkb = unsafe { slice(z.wkb, n, "zones->wkb") }?;
    // SAFETY: as above.
    let wkb_len = unsafe { slice(z.wkb_len, n, "zones->wkb_len") }?;
    // SAFETY: as above.
    let ids = unsafe { slice(z.ids, n, "zones->ids") }?;
    // Optional arrays: NULL means "none given".
    let optional = |p: *const *const c_char, what| {
        // SAFETY: as above.
        (!p.is_null())
            .then(|| unsafe { slice(p, n, what) })
            .transpose()
    };
    let names = optional(z.names, "zones->names")?;
    let parents = optional(z.parents, "zones->parents")?;
    let levels = if z.levels.is_null() {
        None
    } else {
        // SAFETY: as above.
        Some(unsafe { slice(z.levels, n, "zones->levels") }?)
    };
    (0..n)
        .map(|i| {
            // SAFETY: each entry is NULL or a NUL-terminated string, by contract.
            let id = unsafe { opt_str(ids[i], &format!("zones->ids[{i}]")) }?
                .ok_or_else(|| Failure::bad_argument(format!("zones->ids[{i}] is NULL")))?;
            let name = match names {
                // SAFETY: as above.
                Some(names) => unsafe { opt_str(names[i], &format!("zones->names[{i}]")) }?,
                None => None,
            };
            let parent = match parents {
                // SAFETY: as above.
                Some(parents) => unsafe { opt_str(parents[i], &format!("zones->parents[{i}]")) }?,
                None => None,
            };
            let level = match levels.map_or(GEP_LEVEL_COUNTY, |l| l[i]) {
                GEP_LEVEL_COUNTY => Level::County,
                GEP_LEVEL_TOWNSHIP => Level::Township,
                GEP_LEVEL_VILLAGE => Level::Village,
                other => {
                    return Err(Failure::bad_argument(format!(
                        "zones->levels[{i}] is {other}: use GEP_LEVEL_COUNTY (0), GEP_LEVEL_TOWNSHIP (1) or GEP_LEVEL_VILLAGE (2)"
                    )))
                }
            };
            // SAFETY: wkb[i] points to wkb_len[i] bytes, by contract.
            let bytes = unsafe { slice(wkb[i], wkb_len[i], &format!("zones->wkb[{i}]")) }?;
            let geometry = boundary(bytes).map_err(|e| Failure::input(format!("zone {id:?} (zones->wkb[{i}]): {e}")))?;
            let mut zone = Zone::new(id, name.unwrap_or(""), level, geometry);
            zone.parent = parent.map(str::to_string);
            Ok(zone)
        })
        .collect()
}

/// The raster C described.
///
/// # Safety
/// As [`gep_assess_memory`]'s `raster`.
unsafe fn raster(r: &GepRaster) -> Result<MemRaster, Failure> {
    let crs = match r.crs {
        GEP_CRS_PROJECTED => CrsInfo::projected("projected CRS (metres)"),
        GEP_CRS_WGS84 => CrsInfo::geographic("EPSG:4326", Ellipsoid::WGS84),
        GEP_CRS_CGCS2000 => CrsInfo::geographic("EPSG:4490", Ellipsoid::CGCS2000),
        other => {
            return Err(Failure::bad_argument(format!(
                "raster->crs is {other}: use GEP_CRS_PROJECTED (0), GEP_CRS_WGS84 (1) or GEP_CRS_CGCS2000 (2)"
            )))
        }
    };
    let grid = Grid::new(
        r.left,
        r.top,
        r.cell_width,
        r.cell_height,
        r.rows,
        r.cols,
        crs,
    )
    .map_err(|e| Failure::input(format!("raster: {e}")))?;
    let n = r.rows.checked_mul(r.cols).ok_or_else(|| {
        Failure::bad_argument(format!(
            "raster: {} x {} cells overflow size_t",
            r.rows, r.cols
        ))
    })?;
    // SAFETY: `classes` holds rows * cols values, by gep_assess_memory's contract.
    let classes = unsafe { slice(r.classes, n, "raster->classes") }?;
    let nodata = (r.has_nodata != 0).then_some(r.nodata);
    let cells = classes
        .iter()
        .map(|&c| (Some(c) != nodata).then_some(c))
        .collect();
    MemRaster::new(grid, cells).map_err(|e| Failure::input(format!("raster: {e}")))
}

/// An engine error of an in-memory assessment: everything but a bug is the caller's input
/// (there is no plan file).
fn engine_failure(e: &EngineError) -> Failure {
    let mut f = Failure::engine(e);
    if f.code != GEP_ERR_INTERNAL {
        f.code = crate::status::GEP_ERR_INVALID_INPUT;
    }
    f
}

/// Assesses `zones` over `raster`: the extent of each land-cover class in each zone and, when
/// `coefficients` is given, the accounts and totals. Strict: a zone off the raster or of zero
/// area is an error (`GEP_ERR_INVALID_INPUT`) rather than a zero.
///
/// - `coefficients`: a built-in coefficient set id (e.g. `xie2015`) or a file path; NULL for
///   the extent only (then `gep_assessment_totals` returns `GEP_ERR_NOT_VALUED`).
/// - `crosswalk`: a built-in crosswalk id (e.g. `modis-igbp-mcd12c1`) or a file path mapping
///   the raster's classes to ecosystem types; NULL for class-keyed sets.
/// - `year`: the accounting year carried into every account row.
///
/// On success `*out` is a new assessment to free with `gep_assessment_free`; on failure it
/// is NULL and `gep_last_error` says why.
///
/// # Safety
/// `raster` and `zones` point to valid structs whose arrays hold the counts they state; every
/// string is NULL or NUL-terminated; `out` is valid for writing a pointer. Nothing is
/// retained after the call.
#[no_mangle]
pub unsafe extern "C" fn gep_assess_memory(
    raster: *const GepRaster,
    zones: *const GepZones,
    coefficients: *const c_char,
    crosswalk: *const c_char,
    year: i32,
    out: *mut *mut GepAssessment,
) -> c_int {
    guard(|| {
        non_null(out, "out")?;
        // SAFETY: non-null and valid for a pointer write by contract; cleared first so that
        // a failure leaves NULL.
        unsafe { out.write(std::ptr::null_mut()) };
        non_null(raster, "raster")?;
        non_null(zones, "zones")?;
        // SAFETY: non-null, and valid structs by contract.
        let (r, z) = unsafe { (&*raster, &*zones) };
        // SAFETY: by contract.
        let source = unsafe { self::raster(r) }?;
        // SAFETY: by contract.
        let zones = unsafe { self::zones(z) }?;
        // SAFETY: NULL or NUL-terminated, by contract.
        let coefficients = unsafe { opt_str(coefficients, "coefficients") }?;
        // SAFETY: as above.
        let crosswalk = unsafe { opt_str(crosswalk, "crosswalk") }?;
        let valuation = coefficients
            .map(|set| Valuation::load(set, crosswalk, year))
            .transpose()
            .map_err(|e| engine_failure(&e))?;
        let assessment = assess_zones(
            &source,
            zones,
            valuation.as_ref(),
            &Options::default(),
            &NoProgress,
        )
        .map_err(|e| engine_failure(&e))?;
        // SAFETY: `out` checked above.
        unsafe { into_handle(assessment, out) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::boundary;

    /// Little-endian WKB of a Polygon with one ring.
    fn polygon(ring: &[(f64, f64)]) -> Vec<u8> {
        let mut b = vec![1u8];
        b.extend(3u32.to_le_bytes());
        b.extend(1u32.to_le_bytes());
        b.extend((ring.len() as u32).to_le_bytes());
        for (x, y) in ring {
            b.extend(x.to_le_bytes());
            b.extend(y.to_le_bytes());
        }
        b
    }

    const SQUARE: [(f64, f64); 5] = [
        (0.0, 0.0),
        (30.0, 0.0),
        (30.0, 30.0),
        (0.0, 30.0),
        (0.0, 0.0),
    ];

    #[test]
    fn a_polygon_reads_as_a_multipolygon_of_one() {
        let mp = boundary(&polygon(&SQUARE)).unwrap();
        assert_eq!(mp.0.len(), 1);
        assert_eq!(mp.0[0].exterior().0.len(), 5);
        assert_eq!(mp.0[0].exterior().0[2].x, 30.0);
    }

    #[test]
    fn truncated_trailing_and_wrong_type_are_refused() {
        let wkb = polygon(&SQUARE);
        assert!(boundary(&wkb[..wkb.len() - 1])
            .unwrap_err()
            .contains("invalid WKB"));
        let mut longer = wkb.clone();
        longer.push(0);
        assert!(boundary(&longer).unwrap_err().contains("buffer holds 94"));
        let mut point = vec![1u8];
        point.extend(1u32.to_le_bytes());
        point.extend(1.0f64.to_le_bytes());
        point.extend(2.0f64.to_le_bytes());
        assert!(boundary(&point).unwrap_err().contains("not a Polygon"));
        let nan = polygon(&[(0.0, 0.0), (f64::NAN, 0.0), (1.0, 1.0), (0.0, 0.0)]);
        assert!(boundary(&nan).unwrap_err().contains("not finite"));
    }
}
