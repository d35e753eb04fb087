//! Administrative boundaries from any OGR source (GeoPackage, Shapefile, GeoJSON, FlatGeobuf)
//! into [`gep_core::Zone`]s.

use crate::crs::{resolve, Crs};
use crate::error::IoError;
use crate::gcj02::gcj02_to_wgs84;
use gdal::vector::{
    field_type_to_name, geometry_type_flatten, geometry_type_to_name, Defn, FieldValue,
    LayerAccess, OGRwkbGeometryType,
};
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};
use geo::{Area, MapCoords, Validation};
use geo_types::{Coord, MultiPolygon};
use gep_core::{Level, Zone};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The datum the boundary coordinates are really in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Datum {
    /// Coordinates are in the CRS the file declares (or the `crs` override).
    #[default]
    AsDeclared,
    /// Coordinates are GCJ-02 longitude/latitude (AMap/Gaode, Tencent web maps), whatever the
    /// file declares: the inverse GCJ-02 transform is applied and the result is EPSG:4326.
    Gcj02,
}

/// Where and how to read one level of boundaries.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneLayerSpec {
    /// The vector file (or any GDAL vector dataset name).
    pub path: PathBuf,
    /// The layer; may be omitted when the file has exactly one.
    pub layer: Option<String>,
    /// The level of every zone in the layer.
    pub level: Level,
    /// Field holding the zone id (administrative code). Integer and real values are written
    /// without a decimal part; text keeps leading zeros.
    pub id_field: String,
    /// Field holding the zone name; when absent names are empty.
    pub name_field: Option<String>,
    /// Field holding the parent id; when absent parents are derived from code prefixes
    /// by [`gep_core::resolve_parents`].
    pub parent_field: Option<String>,
    /// Encoding of a Shapefile's .dbf (e.g. `GBK`, `CP936`) when it has no .cpg, passed to
    /// GDAL's `ENCODING` open option so that attributes arrive as UTF-8. Shapefiles only.
    pub encoding: Option<String>,
    /// The datum the coordinates are really in.
    pub datum: Datum,
    /// CRS overriding the file's own (`EPSG:4490`, WKT, PROJJSON).
    pub crs: Option<String>,
}

impl ZoneLayerSpec {
    /// A spec with the required parts; everything else at its default.
    pub fn new(
        path: impl Into<PathBuf>,
        level: Level,
        id_field: impl Into<String>,
    ) -> ZoneLayerSpec {
        ZoneLayerSpec {
            path: path.into(),
            layer: None,
            level,
            id_field: id_field.into(),
            name_field: None,
            parent_field: None,
            encoding: None,
            datum: Datum::AsDeclared,
            crs: None,
        }
    }
}

/// Zones read from one layer, with the CRS their coordinates are in.
#[derive(Debug, Clone)]
pub struct ZoneLayer {
    /// The zones, in the layer's feature order.
    pub zones: Vec<Zone>,
    /// The feature id (FID) of each zone, parallel to `zones`, for error messages.
    pub fids: Vec<u64>,
    /// The CRS of the zones' coordinates (EPSG:4326 after a GCJ-02 correction).
    pub crs: Crs,
    /// The layer's name.
    pub layer: String,
    /// Things the user should know that do not stop the run (e.g. text that looks like
    /// mis-decoded GBK).
    pub warnings: Vec<String>,
}

/// True when `text` looks like GBK/GB18030 bytes read without their encoding: GDAL hands
/// over the raw bytes of a `.dbf` without `.cpg` (invalid UTF-8, which arrives here as
/// U+FFFD replacement characters), or, with a Latin-1 code page mark, decodes them as
/// Latin-1 (several characters in U+0080..U+00FF and no CJK at all).
fn looks_like_misdecoded_gbk(text: &str) -> bool {
    if text.contains('\u{fffd}') {
        return true;
    }
    let latin1_high = text
        .chars()
        .filter(|c| ('\u{80}'..='\u{ff}').contains(c))
        .count();
    let cjk = text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    latin1_high >= 2 && !cjk
}

fn is_shapefile(path: &Path) -> bool {
    let s = path.to_string_lossy().to_ascii_lowercase();
    s.ends_with(".shp") || s.ends_with(".dbf") || s.ends_with(".shz") || s.ends_with(".shp.zip")
}

/// A warning when a Shapefile without `.cpg` and without an `encoding` option has names that
/// look like GBK decoded as Latin-1 (the usual state of Chinese Shapefiles from older tools).
fn encoding_warning(path: &Path, spec: &ZoneLayerSpec, zones: &[Zone]) -> Vec<String> {
    let has_cpg = path.with_extension("cpg").exists() || path.with_extension("CPG").exists();
    if !is_shapefile(path) || has_cpg || spec.encoding.is_some() {
        return Vec::new();
    }
    let bad: Vec<&Zone> = zones
        .iter()
        .filter(|z| looks_like_misdecoded_gbk(&z.name))
        .collect();
    match bad.first() {
        None => Vec::new(),
        Some(first) => vec![format!(
            "{}: {} of {} names look garbled (e.g. zone {} is named {:?}): the .dbf has no .cpg and its text is probably GBK; add encoding = \"GBK\" to this [[zones]] table (or create a .cpg file containing GBK)",
            path.display(),
            bad.len(),
            zones.len(),
            first.id,
            first.name
        )],
    }
}

/// Opens a vector dataset read-only, passing `ENCODING=<enc>` for Shapefiles when asked.
pub(crate) fn open_vector(path: &Path, encoding: Option<&str>) -> Result<Dataset, IoError> {
    let enc_opt = encoding.map(|e| format!("ENCODING={e}"));
    let opts: Vec<&str> = enc_opt.iter().map(String::as_str).collect();
    if encoding.is_some() && !is_shapefile(path) && !path.is_dir() {
        return Err(IoError::BadOption {
            path: path.to_path_buf(),
            option: format!("encoding = {:?}", encoding.unwrap_or_default()),
            reason: "an encoding applies to Shapefiles (.dbf) only; GeoPackage, GeoJSON and FlatGeobuf are always UTF-8: remove `encoding`".into(),
        });
    }
    let options = DatasetOptions {
        open_flags: GdalOpenFlags::GDAL_OF_VECTOR | GdalOpenFlags::GDAL_OF_READONLY,
        open_options: (!opts.is_empty()).then_some(opts.as_slice()),
        ..Default::default()
    };
    Dataset::open_ex(path, options).map_err(|e| IoError::gdal(path, "open vector data", e))
}

fn field_list(defn: &Defn) -> String {
    let v: Vec<String> = defn
        .fields()
        .map(|f| format!("{} ({})", f.name(), field_type_to_name(f.field_type())))
        .collect();
    if v.is_empty() {
        "(none)".into()
    } else {
        v.join(", ")
    }
}

/// Text of a field value: integers and integral reals without a decimal part, text as is
/// (trimmed), `None` for null or empty.
fn field_text(v: Option<FieldValue>) -> Option<String> {
    let s = match v? {
        FieldValue::IntegerValue(i) => i.to_string(),
        FieldValue::Integer64Value(i) => i.to_string(),
        // Rust's shortest round-trip formatting writes 331123.0 as "331123".
        FieldValue::RealValue(r) => r.to_string(),
        FieldValue::StringValue(s) => s.trim().to_string(),
        FieldValue::DateValue(d) => d.to_string(),
        FieldValue::DateTimeValue(d) => d.to_string(),
        FieldValue::IntegerListValue(l) => format!("{l:?}"),
        FieldValue::Integer64ListValue(l) => format!("{l:?}"),
        FieldValue::RealListValue(l) => format!("{l:?}"),
        FieldValue::StringListValue(l) => l.join(","),
    };
    (!s.is_empty()).then_some(s)
}

/// Reads the zones of one layer.
///
/// Errors (each naming the file, and the FID and id where it applies): missing layer or field
/// (listing what exists), empty layer, missing CRS with none given, empty id, duplicate id,
/// non-polygon geometry, and null, empty, zero-area or OGC-invalid geometry.
pub fn read_zones(spec: &ZoneLayerSpec) -> Result<ZoneLayer, IoError> {
    read_layer(spec, false).map(|(layer, _)| layer)
}

/// A feature left out by [`read_zones_lenient`], with the reason.
#[derive(Debug)]
pub struct RejectedFeature {
    /// Feature id.
    pub fid: u64,
    /// The zone id read from the feature.
    pub id: String,
    /// The parent id read from the parent field, if any.
    pub parent: Option<String>,
    /// Why it was rejected (names file, FID, id and the fix).
    pub error: IoError,
}

/// Like [`read_zones`], but features with a bad geometry (null, empty, not a polygon,
/// zero-area, OGC-invalid) are returned aside instead of failing the whole layer, so that a
/// batch run can fail only the county they belong to. Layer-level problems (missing file,
/// field or CRS, duplicate or missing ids) are still errors.
pub fn read_zones_lenient(
    spec: &ZoneLayerSpec,
) -> Result<(ZoneLayer, Vec<RejectedFeature>), IoError> {
    read_layer(spec, true)
}

fn read_layer(
    spec: &ZoneLayerSpec,
    lenient: bool,
) -> Result<(ZoneLayer, Vec<RejectedFeature>), IoError> {
    let path = spec.path.as_path();
    let ds = open_vector(path, spec.encoding.as_deref())?;
    let names: Vec<String> = ds.layers().map(|l| l.name()).collect();
    let mut layer = match &spec.layer {
        Some(name) => ds.layer_by_name(name).map_err(|_| IoError::NoSuchLayer {
            path: path.to_path_buf(),
            layer: name.clone(),
            available: names.join(", "),
        })?,
        None if names.len() == 1 => ds
            .layer(0)
            .map_err(|e| IoError::gdal(path, "open layer 0", e))?,
        None => {
            return Err(IoError::AmbiguousLayer {
                path: path.to_path_buf(),
                count: names.len(),
                available: names.join(", "),
            })
        }
    };
    let layer_name = layer.name();
    let defn = layer.defn();
    let field_idx = |field: &str, role: &str| {
        defn.field_index(field).map_err(|_| IoError::MissingField {
            path: path.to_path_buf(),
            layer: layer_name.clone(),
            field: field.to_string(),
            role: role.to_string(),
            available: field_list(defn),
        })
    };
    let id_idx = field_idx(&spec.id_field, "id_field")?;
    let name_idx = spec
        .name_field
        .as_deref()
        .map(|f| field_idx(f, "name_field"))
        .transpose()?;
    let parent_idx = spec
        .parent_field
        .as_deref()
        .map(|f| field_idx(f, "parent_field"))
        .transpose()?;

    let crs = match spec.datum {
        Datum::AsDeclared => resolve(path, layer.spatial_ref(), spec.crs.as_deref())?,
        Datum::Gcj02 => {
            // GCJ-02 is defined on longitude/latitude only: a declared or given CRS must be
            // geographic (files from web maps usually say EPSG:4326 or nothing).
            let declared = if spec.crs.is_some() || layer.spatial_ref().is_some() {
                Some(resolve(path, layer.spatial_ref(), spec.crs.as_deref())?)
            } else {
                None
            };
            if let Some(d) = declared.filter(|d| d.info.area_basis() == gep_core::AreaBasis::Planar)
            {
                return Err(IoError::UnsupportedCrs {
                    path: path.to_path_buf(),
                    crs: d.label(),
                    reason: "datum = gcj02 needs longitude/latitude coordinates, but the CRS is projected".into(),
                });
            }
            Crs::from_user_input("EPSG:4326")?
        }
    };

    let mut zones = Vec::new();
    let mut fids = Vec::new();
    let mut rejected = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (n, feature) in layer.features().enumerate() {
        let fid = feature.fid().unwrap_or(n as u64);
        let id = field_text(
            feature
                .field(id_idx)
                .map_err(|e| IoError::gdal(path, format!("read FID {fid}"), e))?,
        )
        .ok_or_else(|| IoError::MissingId {
            path: path.to_path_buf(),
            fid,
            field: spec.id_field.clone(),
        })?;
        if let Some(first) = seen.insert(id.clone(), fid) {
            return Err(IoError::DuplicateId {
                path: path.to_path_buf(),
                id,
                first_fid: first,
                second_fid: fid,
            });
        }
        let text = |idx: Option<usize>| -> Result<Option<String>, IoError> {
            match idx {
                None => Ok(None),
                Some(i) => {
                    Ok(field_text(feature.field(i).map_err(|e| {
                        IoError::gdal(path, format!("read FID {fid}"), e)
                    })?))
                }
            }
        };
        let name = text(name_idx)?.unwrap_or_default();
        let parent = text(parent_idx)?;
        let converted = (|| -> Result<MultiPolygon<f64>, IoError> {
            let bad = |problem: String| IoError::InvalidGeometry {
                path: path.to_path_buf(),
                fid,
                id: id.clone(),
                problem,
            };
            let geom = feature
                .geometry()
                .ok_or_else(|| bad("no geometry (null)".into()))?;
            let gtype = geometry_type_flatten(geom.geometry_type());
            if gtype != OGRwkbGeometryType::wkbPolygon
                && gtype != OGRwkbGeometryType::wkbMultiPolygon
            {
                return Err(IoError::NotPolygon {
                    path: path.to_path_buf(),
                    fid,
                    id: id.clone(),
                    geometry_type: geometry_type_to_name(geom.geometry_type()),
                });
            }
            if geom.is_empty() {
                return Err(bad("the geometry is empty".into()));
            }
            // Z and M are dropped: zones are 2-D (the gdal crate converts only 2-D types).
            let flat;
            let geom = if geom.geometry_type() != gtype {
                let mut g = geom.clone();
                g.flatten_to_2d();
                flat = g;
                &flat
            } else {
                geom
            };
            let mp: MultiPolygon<f64> = match geom.to_geo() {
                Ok(geo_types::Geometry::Polygon(p)) => MultiPolygon::new(vec![p]),
                Ok(geo_types::Geometry::MultiPolygon(mp)) => mp,
                Ok(_) => return Err(bad("unexpected geometry after conversion".into())),
                Err(e) => return Err(bad(format!("cannot convert: {e}"))),
            };
            // GEOS (through GDAL) decides validity in O(n log n); geo's `Validation` explains
            // the problem of the (rare) invalid feature.
            check_geometry(&mp, geos_validity(geom)).map_err(bad)?;
            Ok(mp)
        })();
        let mp = match converted {
            Ok(mp) => mp,
            Err(error) if lenient => {
                rejected.push(RejectedFeature {
                    fid,
                    id,
                    parent,
                    error,
                });
                continue;
            }
            Err(error) => return Err(error),
        };
        let geometry = match spec.datum {
            Datum::AsDeclared => mp,
            Datum::Gcj02 => mp.map_coords(|c: Coord<f64>| {
                let (x, y) = gcj02_to_wgs84(c.x, c.y);
                Coord { x, y }
            }),
        };
        zones.push(Zone {
            id,
            name,
            level: spec.level,
            parent,
            geometry,
        });
        fids.push(fid);
    }
    if zones.is_empty() && rejected.is_empty() {
        return Err(IoError::EmptyLayer {
            path: path.to_path_buf(),
            layer: layer_name,
        });
    }
    Ok((
        ZoneLayer {
            warnings: encoding_warning(path, spec, &zones),
            zones,
            fids,
            crs,
            layer: layer_name,
        },
        rejected,
    ))
}

thread_local! {
    static GDAL_MESSAGE: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Collects the GDAL error/warning message of the current thread instead of printing it.
unsafe extern "C" fn collect_message(
    _class: gdal_sys::CPLErr::Type,
    _num: gdal_sys::CPLErrorNum,
    msg: *const std::ffi::c_char,
) {
    if msg.is_null() {
        return;
    }
    // SAFETY: GDAL passes a NUL-terminated string valid for the duration of the call.
    let text = unsafe { std::ffi::CStr::from_ptr(msg) }
        .to_string_lossy()
        .into_owned();
    GDAL_MESSAGE.with(|m| *m.borrow_mut() = Some(text));
}

/// GEOS's verdict through GDAL's `IsValid`: `None` when GDAL has no GEOS, else whether the
/// geometry is valid and GEOS's reason (e.g. "Ring Self-intersection at or near point ...").
/// The reason, which GDAL would print as a warning, is captured with a thread-local handler.
fn geos_validity(geom: &gdal::vector::Geometry) -> Option<(bool, Option<String>)> {
    static HAS_GEOS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if !*HAS_GEOS.get_or_init(gdal::version::VersionInfo::has_geos) {
        return None;
    }
    GDAL_MESSAGE.with(|m| m.borrow_mut().take());
    // SAFETY: the handler is pushed and popped on this thread around one call; GDAL's
    // handler stack is thread-local and the handler only touches a thread-local.
    unsafe { gdal_sys::CPLPushErrorHandler(Some(collect_message)) };
    let valid = geom.is_valid();
    // SAFETY: pops the handler pushed just above, on the same thread.
    unsafe { gdal_sys::CPLPopErrorHandler() };
    Some((valid, GDAL_MESSAGE.with(|m| m.borrow_mut().take())))
}

/// Checks a boundary: no empty or zero-area polygon, and OGC validity. GEOS (through GDAL)
/// decides in O(n log n) and names the problem; geo's `Validation` adds its description, and
/// decides alone when GDAL was built without GEOS.
fn check_geometry(
    mp: &MultiPolygon<f64>,
    geos: Option<(bool, Option<String>)>,
) -> Result<(), String> {
    if mp.0.is_empty() {
        return Err("the geometry is empty".into());
    }
    if let Some(i) = mp.0.iter().position(|p| p.unsigned_area() == 0.0) {
        return Err(format!("polygon {i} has zero area"));
    }
    let geos_reason = match geos {
        Some((true, _)) => return Ok(()),
        Some((false, reason)) => Some(reason.unwrap_or_else(|| "invalid according to GEOS".into())),
        None => None,
    };
    let errors = mp.validation_errors();
    if errors.is_empty() {
        return match geos_reason {
            Some(r) => Err(format!("OGC-invalid: {r}")),
            None => Ok(()),
        };
    }
    let geos_reason = geos_reason.map(|r| format!("{r}; ")).unwrap_or_default();
    let shown: Vec<String> = errors.iter().take(3).map(|e| e.to_string()).collect();
    let more = if errors.len() > 3 {
        format!(" (and {} more problems)", errors.len() - 3)
    } else {
        String::new()
    };
    Err(format!(
        "OGC-invalid: {geos_reason}{}{more}",
        shown.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_text_without_decimal_parts() {
        assert_eq!(
            field_text(Some(FieldValue::RealValue(331_123_100_201.0))).as_deref(),
            Some("331123100201")
        );
        assert_eq!(
            field_text(Some(FieldValue::RealValue(12.5))).as_deref(),
            Some("12.5")
        );
        assert_eq!(
            field_text(Some(FieldValue::Integer64Value(330_127))).as_deref(),
            Some("330127")
        );
        assert_eq!(
            field_text(Some(FieldValue::StringValue(" 0033 ".into()))).as_deref(),
            Some("0033")
        );
        assert_eq!(field_text(Some(FieldValue::StringValue("".into()))), None);
        assert_eq!(field_text(None), None);
    }
}
