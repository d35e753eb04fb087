//! What gep needs to know of a file's CRS, read through GDAL's OGRSpatialReference.

use crate::error::IoError;
use gdal::spatial_ref::SpatialRef;
use gep_core::{CrsInfo, Ellipsoid};
use std::path::Path;

/// A resolved coordinate reference system: a definition PROJ accepts, its WKT, and the
/// planar/geographic facts the engine needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Crs {
    /// What to hand to PROJ: `EPSG:<code>` when the CRS carries an EPSG code, else its
    /// PROJJSON (lossless, including axis order).
    pub definition: String,
    /// WKT as GDAL exports it.
    pub wkt: String,
    /// The CRS's name (e.g. `China Geodetic Coordinate System 2000`).
    pub name: String,
    /// The EPSG code, when the file or the override carries one.
    pub epsg: Option<u32>,
    /// Planar metres or geographic degrees on an ellipsoid.
    pub info: CrsInfo,
}

impl Crs {
    /// Resolves a CRS from a user's definition (`EPSG:4549`, WKT, PROJJSON or a PROJ string).
    pub fn from_user_input(definition: &str) -> Result<Crs, IoError> {
        resolve(Path::new("<crs>"), None, Some(definition))
    }

    /// Human-readable label: `name (EPSG:code)` or the name alone.
    pub fn label(&self) -> String {
        match self.epsg {
            Some(c) => format!("{} (EPSG:{c})", self.name),
            None => self.name.clone(),
        }
    }
}

/// Resolves the CRS of `path`: the override when given, else the file's own; a missing CRS is
/// an error. Only geographic CRSs in degrees and projected CRSs in metres are accepted.
pub(crate) fn resolve(
    path: &Path,
    from_file: Option<SpatialRef>,
    override_def: Option<&str>,
) -> Result<Crs, IoError> {
    let srs = match override_def {
        Some(def) => SpatialRef::from_definition(def).map_err(|e| IoError::UnsupportedCrs {
            path: path.to_path_buf(),
            crs: def.to_string(),
            reason: format!("GDAL cannot parse it ({e}); give `EPSG:<code>`, WKT or PROJJSON"),
        })?,
        None => from_file.ok_or_else(|| IoError::MissingCrs {
            path: path.to_path_buf(),
        })?,
    };
    let name = srs.name().unwrap_or_else(|| "unnamed CRS".to_string());
    let wkt = srs.to_wkt().unwrap_or_default();
    let epsg = match srs.auth_name().as_deref() {
        Some("EPSG") => srs.auth_code().ok().and_then(|c| u32::try_from(c).ok()),
        _ => None,
    };
    let definition = match epsg {
        Some(c) => format!("EPSG:{c}"),
        None => srs
            .to_projjson()
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| wkt.clone()),
    };
    let unsupported = |reason: String| IoError::UnsupportedCrs {
        path: path.to_path_buf(),
        crs: name.clone(),
        reason,
    };
    let label = epsg
        .map(|c| format!("EPSG:{c}"))
        .unwrap_or_else(|| name.clone());
    let info = if srs.is_projected() {
        let unit = srs.linear_units();
        if (unit - 1.0).abs() > 1e-12 {
            return Err(unsupported(format!(
                "projected CRS units are {} ({unit} m), not metres; reproject to a metre-based CRS with gdalwarp/ogr2ogr -t_srs",
                srs.linear_units_name().unwrap_or_else(|| "unknown".into())
            )));
        }
        CrsInfo::projected(label)
    } else if srs.is_geographic() {
        let unit = srs.angular_units();
        if (unit - 1f64.to_radians()).abs() > 1e-12 {
            return Err(unsupported(format!(
                "geographic CRS units are {} ({unit} rad), not degrees",
                srs.angular_units_name().unwrap_or_else(|| "unknown".into())
            )));
        }
        let a = srs
            .semi_major()
            .map_err(|e| unsupported(format!("no ellipsoid: {e}")))?;
        let mut err = gdal_sys::OGRErr::OGRERR_NONE;
        // SAFETY: `srs` is a live OGRSpatialReferenceH for the duration of the call and
        // `err` is a valid out-pointer; the call only reads the SRS.
        let inv_f = unsafe { gdal_sys::OSRGetInvFlattening(srs.to_c_hsrs(), &mut err) };
        if err != gdal_sys::OGRErr::OGRERR_NONE || !inv_f.is_finite() {
            return Err(unsupported("no inverse flattening".into()));
        }
        CrsInfo::geographic(label, Ellipsoid::from_inverse_flattening(a, inv_f))
    } else {
        return Err(unsupported(
            "only geographic (degrees) and projected (metres) CRSs are supported, not local, geocentric or vertical ones".into(),
        ));
    };
    Ok(Crs {
        definition,
        wkt,
        name,
        epsg,
        info,
    })
}
