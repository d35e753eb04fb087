//! Administrative boundaries from any OGR source (GeoPackage, Shapefile, GeoJSON, FlatGeobuf)
//! into [`gep_core::Zone`]s.

use crate::crs::{resolve, Crs};
use crate::error::IoError;
use crate::gcj02::gcj02_to_wgs84;
use crate::text_encoding::{
    decide, decode, display_text, encoding_for_label, escape_bytes, gbk_label, Declared, Mismatch,
};
use encoding_rs::{Encoding, GBK, UTF_8};
use gdal::vector::{
    field_type_to_name, geometry_type_flatten, geometry_type_to_name, Defn, FieldValue,
    LayerAccess, OGRwkbGeometryType,
};
use gdal::vector::{Feature, OGRFieldType};
use gdal::{Dataset, DatasetOptions, GdalOpenFlags, Metadata};
use geo::kernels::{Kernel, Orientation, RobustKernel};
use geo::{Area, BoundingRect, MapCoords, Validation};
use geo_types::{Coord, Line, MultiPolygon};
use gep_core::{Level, Zone};
use std::collections::HashMap;
use std::ffi::CStr;
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
    /// Encoding of a Shapefile's .dbf (e.g. `GBK`, `CP936`, `UTF-8`); it overrides the `.cpg`
    /// and the .dbf header, and text invalid in it is an error. Shapefiles only (the other
    /// formats are UTF-8).
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
    /// Things the user should know that do not stop the run (e.g. a Shapefile without
    /// declared encoding read as GBK), each naming the file and the fix.
    pub warnings: Vec<String>,
}

/// Whether `path` names a Shapefile (`.shp`, `.dbf`, `.shz`, `.shp.zip`): the only vector format
/// whose text encoding can be declared (the others are UTF-8).
pub fn is_shapefile(path: &Path) -> bool {
    let s = path.to_string_lossy().to_ascii_lowercase();
    s.ends_with(".shp") || s.ends_with(".dbf") || s.ends_with(".shz") || s.ends_with(".shp.zip")
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

/// Opens a vector dataset read-only with GDAL's re-coding of Shapefile text switched off
/// (`ENCODING=""`): [`text_encoding`] decodes the bytes strictly instead.
fn open_vector_raw(path: &Path) -> Result<Dataset, IoError> {
    let shp = is_shapefile(path) || path.is_dir();
    let opts = ["ENCODING="];
    let options = DatasetOptions {
        open_flags: GdalOpenFlags::GDAL_OF_VECTOR | GdalOpenFlags::GDAL_OF_READONLY,
        open_options: shp.then_some(&opts[..]),
        ..Default::default()
    };
    Dataset::open_ex(path, options).map_err(|e| IoError::gdal(path, "open vector data", e))
}

/// A field as stored: the bytes of its name (not re-coded) and its type.
struct RawField {
    name: Vec<u8>,
    field_type: OGRFieldType::Type,
}

fn raw_fields(defn: &Defn) -> Vec<RawField> {
    // SAFETY: the definition handle lives as long as `defn`; GDAL returns a field definition
    // for every index below the count, whose NUL-terminated name is copied at once.
    unsafe {
        let h = defn.c_defn();
        (0..gdal_sys::OGR_FD_GetFieldCount(h))
            .map(|i| {
                let f = gdal_sys::OGR_FD_GetFieldDefn(h, i);
                let name = gdal_sys::OGR_Fld_GetNameRef(f);
                RawField {
                    name: if name.is_null() {
                        Vec::new()
                    } else {
                        CStr::from_ptr(name).to_bytes().to_vec()
                    },
                    field_type: gdal_sys::OGR_Fld_GetType(f),
                }
            })
            .collect()
    }
}

/// The index of the field named `wanted` (as GDAL matches: exactly, else ignoring ASCII case),
/// comparing the name's bytes and their decodings in `encodings`.
fn find_field(fields: &[RawField], wanted: &str, encodings: &[&'static Encoding]) -> Option<usize> {
    let names: Vec<Vec<String>> = fields
        .iter()
        .map(|f| {
            encodings
                .iter()
                .filter_map(|e| decode(e, &f.name))
                .collect()
        })
        .collect();
    fields
        .iter()
        .position(|f| f.name == wanted.as_bytes())
        .or_else(|| names.iter().position(|n| n.iter().any(|n| n == wanted)))
        .or_else(|| {
            names
                .iter()
                .position(|n| n.iter().any(|n| n.eq_ignore_ascii_case(wanted)))
        })
}

fn field_list(fields: &[RawField], encodings: &[&'static Encoding]) -> String {
    let v: Vec<String> = fields
        .iter()
        .map(|f| {
            format!(
                "{} ({})",
                display_text(&f.name, encodings),
                field_type_to_name(f.field_type)
            )
        })
        .collect();
    if v.is_empty() {
        "(none)".into()
    } else {
        v.join(", ")
    }
}

/// A field value as read: the bytes of a text field (to be decoded once the layer's encoding
/// is known), or the text of any other value.
enum RawValue {
    Text(Vec<u8>),
    Value(Option<String>),
}

fn raw_value(
    feature: &Feature,
    idx: usize,
    field_type: OGRFieldType::Type,
) -> Result<RawValue, gdal::errors::GdalError> {
    if field_type != OGRFieldType::OFTString {
        return Ok(RawValue::Value(field_text(feature.field(idx)?)));
    }
    let i = idx as std::ffi::c_int;
    // SAFETY: the feature handle lives as long as `feature`, `idx` is a field index of its
    // definition, and the returned NUL-terminated string (owned by the feature) is copied
    // before any other call on it.
    unsafe {
        let h = feature.c_feature();
        if gdal_sys::OGR_F_IsFieldSetAndNotNull(h, i) == 0 {
            return Ok(RawValue::Value(None));
        }
        let p = gdal_sys::OGR_F_GetFieldAsString(h, i);
        Ok(RawValue::Text(if p.is_null() {
            Vec::new()
        } else {
            CStr::from_ptr(p).to_bytes().to_vec()
        }))
    }
}

/// A decoded value: trimmed, `None` when empty. `encoding` has been checked against every
/// text by [`text_encoding::decide`]; should a value still not decode, its bytes are shown
/// escaped rather than with replacement characters.
fn decoded(v: &RawValue, encoding: &'static Encoding) -> Option<String> {
    match v {
        RawValue::Value(s) => s.clone(),
        RawValue::Text(b) => {
            let s = decode(encoding, b).unwrap_or_else(|| escape_bytes(b));
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_string())
        }
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
/// (listing what exists), empty layer, missing CRS with none given, text not valid in the
/// layer's encoding (FID and field), empty id, duplicate id, non-polygon geometry, and null,
/// empty, zero-area or OGC-invalid geometry (a self-intersection with the point where two
/// edges cross).
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
    let encoding_not_for = |path: &Path| {
        IoError::BadOption {
        path: path.to_path_buf(),
        option: format!("encoding = {:?}", spec.encoding.as_deref().unwrap_or_default()),
        reason: "an encoding applies to Shapefiles (.dbf) only; GeoPackage, GeoJSON and FlatGeobuf are always UTF-8: remove `encoding`".into(),
    }
    };
    if spec.encoding.is_some() && !is_shapefile(path) && !path.is_dir() {
        return Err(encoding_not_for(path));
    }
    let ds = open_vector_raw(path)?;
    let shapefile = ds.driver().short_name() == "ESRI Shapefile";
    if spec.encoding.is_some() && !shapefile {
        return Err(encoding_not_for(path));
    }
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
    let declared = declared_encoding(&layer, shapefile, spec);
    let declared_enc = declared.label().and_then(encoding_for_label);
    let mut name_encodings: Vec<&'static Encoding> = declared_enc.into_iter().collect();
    name_encodings.extend(
        [UTF_8, GBK]
            .into_iter()
            .filter(|e| Some(*e) != declared_enc),
    );
    let fields = raw_fields(layer.defn());
    let field_idx = |field: &str, role: &str| {
        find_field(&fields, field, &name_encodings).ok_or_else(|| IoError::MissingField {
            path: path.to_path_buf(),
            layer: layer_name.clone(),
            field: field.to_string(),
            role: role.to_string(),
            available: field_list(&fields, &name_encodings),
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

    // One pass over the features: text as bytes (the encoding is decided from all of it),
    // geometry converted and checked.
    let mut raw = Vec::new();
    for (n, feature) in layer.features().enumerate() {
        let fid = feature.fid().unwrap_or(n as u64);
        let read = |i: usize| {
            raw_value(&feature, i, fields[i].field_type)
                .map_err(|e| IoError::gdal(path, format!("read FID {fid}"), e))
        };
        raw.push(RawFeature {
            fid,
            id: read(id_idx)?,
            name: name_idx.map(read).transpose()?,
            parent: parent_idx.map(read).transpose()?,
            geometry: feature_geometry(&feature),
        });
    }

    let mut texts: Vec<(u64, &str, &[u8])> = Vec::new();
    for f in &raw {
        for (field, v) in [
            (Some(spec.id_field.as_str()), Some(&f.id)),
            (spec.name_field.as_deref(), f.name.as_ref()),
            (spec.parent_field.as_deref(), f.parent.as_ref()),
        ] {
            if let (Some(field), Some(RawValue::Text(b))) = (field, v) {
                texts.push((f.fid, field, b));
            }
        }
    }
    let bytes: Vec<&[u8]> = texts.iter().map(|t| t.2).collect();
    let decision = decide(&declared, &bytes)
        .map_err(|m| encoding_error(path, &declared, &texts, &bytes, m))?;
    let guessed = decision.guessed.then(|| gbk_label(bytes.iter().copied()));

    let mut zones = Vec::new();
    let mut fids = Vec::new();
    let mut rejected = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for f in raw {
        let fid = f.fid;
        let id = decoded(&f.id, decision.encoding).ok_or_else(|| IoError::MissingId {
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
        let name = f
            .name
            .as_ref()
            .and_then(|v| decoded(v, decision.encoding))
            .unwrap_or_default();
        let parent = f
            .parent
            .as_ref()
            .and_then(|v| decoded(v, decision.encoding));
        let mp = match f.geometry {
            Ok(mp) => mp,
            Err(problem) => {
                let error = problem.into_error(path, fid, &id);
                if !lenient {
                    return Err(error);
                }
                rejected.push(RejectedFeature {
                    fid,
                    id,
                    parent,
                    error,
                });
                continue;
            }
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
    let warnings = guessed
        .map(|label| guessed_encoding_warning(path, &declared, &zones, label))
        .into_iter()
        .collect();
    Ok((
        ZoneLayer {
            warnings,
            zones,
            fids,
            crs,
            layer: layer_name,
        },
        rejected,
    ))
}

/// One feature as read, before its text is decoded.
struct RawFeature {
    fid: u64,
    id: RawValue,
    name: Option<RawValue>,
    parent: Option<RawValue>,
    geometry: Result<MultiPolygon<f64>, GeometryProblem>,
}

/// What a Shapefile says about its encoding (GDAL reports the `.cpg` and the LDID byte of the
/// `.dbf` header in the layer's `SHAPEFILE` metadata, also inside .zip files); other formats
/// are UTF-8.
fn declared_encoding(
    layer: &gdal::vector::Layer,
    shapefile: bool,
    spec: &ZoneLayerSpec,
) -> Declared {
    if !shapefile {
        return Declared::Utf8Format;
    }
    if let Some(e) = &spec.encoding {
        return Declared::Option(e.clone());
    }
    if let Some(cpg) = layer
        .metadata_item("CPG_VALUE", "SHAPEFILE")
        .filter(|c| !c.trim().is_empty())
    {
        return Declared::Cpg(cpg.trim().to_string());
    }
    match layer
        .metadata_item("LDID_VALUE", "SHAPEFILE")
        .and_then(|v| v.trim().parse::<u32>().ok())
    {
        Some(value) if value != 0 => Declared::Ldid {
            value,
            label: layer
                .metadata_item("ENCODING_FROM_LDID", "SHAPEFILE")
                .unwrap_or_default(),
        },
        _ => Declared::Nothing,
    }
}

/// The `.cpg` file beside a Shapefile, for messages.
fn cpg_name(path: &Path) -> String {
    if path.is_dir() {
        return "a .cpg file beside the .dbf".into();
    }
    let name = path
        .file_name()
        .map(|n| Path::new(n).with_extension("cpg").display().to_string())
        .unwrap_or_else(|| "the .cpg file".into());
    format!("a file {name} beside it")
}

/// The error for text that fits no encoding, naming the file, feature, field and the fix.
fn encoding_error(
    path: &Path,
    declared: &Declared,
    texts: &[(u64, &str, &[u8])],
    bytes: &[&[u8]],
    mismatch: Mismatch,
) -> IoError {
    let (index, expected, valid_in) = match mismatch {
        Mismatch::UnknownLabel(label) => {
            let declared_by = match declared {
                Declared::Option(_) => "`encoding` in the config".to_string(),
                Declared::Cpg(_) => "the .cpg file".to_string(),
                _ => "the .dbf header".to_string(),
            };
            return IoError::UnknownEncoding {
                path: path.to_path_buf(),
                label,
                declared_by,
                fix: "set `encoding` for this layer to the encoding the file was written in: UTF-8, GBK, GB18030, Big5, Shift_JIS, EUC-KR, windows-1252 or another WHATWG encoding label (it overrides the .cpg)".into(),
            };
        }
        Mismatch::Invalid {
            index,
            expected,
            valid_in,
        } => (index, expected, valid_in),
    };
    let (fid, field, text) = texts[index];
    let name = |e: &'static Encoding| {
        if e == GBK {
            gbk_label(bytes.iter().copied()).to_string()
        } else {
            e.name().to_string()
        }
    };
    let expected = match declared {
        Declared::Utf8Format => "UTF-8, which this format's text always is".to_string(),
        Declared::Option(l) => format!(
            "{}, as `encoding = {l:?}` in the config says",
            name(expected)
        ),
        Declared::Cpg(l) => format!("{}, as the .cpg file says ({l:?})", name(expected)),
        Declared::Ldid { value, .. } if *value != 87 => format!(
            "{}, as the .dbf header's language driver id ({value}) says",
            name(expected)
        ),
        Declared::Ldid { .. } | Declared::Nothing => {
            "UTF-8 or GBK/GB18030 (the file declares no encoding)".to_string()
        }
    };
    let fix = match (declared, valid_in) {
        (Declared::Utf8Format, Some(e)) => format!(
            "the bytes are valid {}: the tool that wrote the file did not convert them to UTF-8; re-create the file from its source with a tool that does (e.g. ogr2ogr from a Shapefile with encoding {0}), or correct the value",
            name(e)
        ),
        (Declared::Utf8Format, None) => "correct the value, or re-create the file from its source with a tool that writes UTF-8".into(),
        (Declared::Option(_), Some(e)) if e == UTF_8 => "the bytes are valid UTF-8: set encoding = \"UTF-8\" for this layer (or remove `encoding`)".into(),
        (_, Some(e)) => format!(
            "the bytes are valid {0}: set encoding = \"{0}\" for this layer (it overrides the .cpg), or write {0} into {1}",
            name(e),
            cpg_name(path)
        ),
        (_, None) => "set `encoding` for this layer to the encoding the file was written in (e.g. encoding = \"Big5\"; neither GBK nor UTF-8 fits these bytes), or correct the value if the file is damaged there".into(),
    };
    IoError::BadText {
        path: path.to_path_buf(),
        fid,
        field: field.to_string(),
        text: format!("\"{}\"", escape_bytes(text)),
        reason: format!("{expected}; {fix}"),
    }
}

/// The warning for a Shapefile read as GBK without being told: the guess must be visible, and
/// the user told how to confirm it.
fn guessed_encoding_warning(
    path: &Path,
    declared: &Declared,
    zones: &[Zone],
    label: &str,
) -> String {
    let why = match declared {
        Declared::Ldid { value, .. } => format!(
            "its .dbf declares only the code page \"ANSI\" (language driver id {value}, which GDAL reads as ISO-8859-1) and its text is not UTF-8"
        ),
        _ => "it declares no encoding (no .cpg file) and its text is not UTF-8".into(),
    };
    let example = zones
        .iter()
        .find(|z| !z.name.is_ascii())
        .map(|z| format!(" (e.g. zone {} is named {:?})", z.id, z.name))
        .unwrap_or_default();
    format!(
        "{}: {why}; read it as {label}, the only encoding all of it is valid in{example}; if the names are right, add encoding = \"{label}\" as this layer's encoding (or create {} containing {label}) to silence this warning",
        path.display(),
        cpg_name(path)
    )
}

/// Why a feature's geometry cannot be a zone.
#[derive(Debug)]
enum GeometryProblem {
    Null,
    Empty(String),
    NotPolygon(String),
    Invalid(String),
}

impl GeometryProblem {
    fn into_error(self, path: &Path, fid: u64, id: &str) -> IoError {
        let path = path.to_path_buf();
        let id = id.to_string();
        match self {
            GeometryProblem::Null => IoError::NoGeometry { path, fid, id },
            GeometryProblem::Empty(geometry_type) => IoError::EmptyGeometry {
                path,
                fid,
                id,
                geometry_type,
            },
            GeometryProblem::NotPolygon(geometry_type) => IoError::NotPolygon {
                path,
                fid,
                id,
                geometry_type,
            },
            GeometryProblem::Invalid(problem) => IoError::InvalidGeometry {
                path,
                fid,
                id,
                problem,
            },
        }
    }
}

/// A feature's geometry as a 2-D multipolygon, checked.
fn feature_geometry(feature: &Feature) -> Result<MultiPolygon<f64>, GeometryProblem> {
    // The gdal crate hands out a geometry object even for a null geometry (its type then reads
    // "Unknown (any)"): ask GDAL directly.
    // SAFETY: the feature handle lives as long as `feature`; the pointer is only compared.
    if unsafe { gdal_sys::OGR_F_GetGeometryRef(feature.c_feature()) }.is_null() {
        return Err(GeometryProblem::Null);
    }
    let geom = feature.geometry().ok_or(GeometryProblem::Null)?;
    if geom.is_empty() {
        return Err(GeometryProblem::Empty(geometry_type_to_name(
            geom.geometry_type(),
        )));
    }
    let gtype = geometry_type_flatten(geom.geometry_type());
    if gtype != OGRwkbGeometryType::wkbPolygon && gtype != OGRwkbGeometryType::wkbMultiPolygon {
        return Err(GeometryProblem::NotPolygon(geometry_type_to_name(
            geom.geometry_type(),
        )));
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
        Ok(_) => {
            return Err(GeometryProblem::Invalid(
                "unexpected geometry after conversion".into(),
            ))
        }
        Err(e) => return Err(GeometryProblem::Invalid(format!("cannot convert: {e}"))),
    };
    // GEOS (through GDAL) decides validity in O(n log n); geo explains the (rare) invalid
    // feature.
    check_geometry(&mp, geos_validity(geom)).map_err(GeometryProblem::Invalid)?;
    Ok(mp)
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

/// Checks a boundary: OGC validity, decided by GEOS (through GDAL) in O(n log n), or by geo
/// when GDAL was built without GEOS. An invalid boundary is explained by what users can find
/// on a map: where two edges cross (a bow-tie's two halves cancel to zero signed area, so that
/// is looked for before "zero area"), a part with zero area, or GEOS's reason.
fn check_geometry(
    mp: &MultiPolygon<f64>,
    geos: Option<(bool, Option<String>)>,
) -> Result<(), String> {
    if mp.0.is_empty() {
        return Err("it holds no polygon".into());
    }
    // Zero area up to rounding: the shoelace sum of collinear vertices far from the origin
    // leaves ~1e-16 of the bounding box's area.
    let zero = mp.0.iter().position(|p| {
        let area = p.unsigned_area();
        area == 0.0
            || p.bounding_rect()
                .is_some_and(|b| area <= b.width() * b.height() * 1e-12)
    });
    let geos_reason = match geos {
        Some((true, _)) if zero.is_none() => return Ok(()),
        Some((_, reason)) => Some(reason.unwrap_or_else(|| "invalid according to GEOS".into())),
        None => None,
    };
    let errors = mp.validation_errors();
    if geos_reason.is_none() && errors.is_empty() && zero.is_none() {
        return Ok(());
    }
    let part = |i: usize| {
        if mp.0.len() > 1 {
            format!("part {} of {} of the multipolygon", i + 1, mp.0.len())
        } else {
            "the polygon".to_string()
        }
    };
    if let Some((i, c)) =
        mp.0.iter()
            .enumerate()
            .find_map(|(i, p)| proper_crossing(p).map(|c| (i, c)))
    {
        return Err(format!(
            "Self-intersection at {}: two edges of {} cross there",
            fmt_point(c),
            part(i)
        ));
    }
    if let Some(i) = zero {
        return Err(format!(
            "{} has zero area (its vertices are collinear or repeated)",
            part(i)
        ));
    }
    let geos_reason = geos_reason.map(|r| clean_geos_reason(&r, mp));
    if errors.is_empty() {
        return Err(format!(
            "OGC-invalid: {}",
            geos_reason.unwrap_or_else(|| "invalid according to GEOS".into())
        ));
    }
    let geos_reason = geos_reason.map(|r| format!("{r}; ")).unwrap_or_default();
    let shown: Vec<String> = errors.iter().take(3).map(|e| e.to_string()).collect();
    let more = match errors.len().saturating_sub(3) {
        0 => String::new(),
        1 => " (and 1 more problem)".into(),
        n => format!(" (and {n} more problems)"),
    };
    Err(format!(
        "OGC-invalid: {geos_reason}{}{more}",
        shown.join("; ")
    ))
}

/// A point where two edges of a polygon's rings cross properly (each through the other's
/// interior), or `None`. Edges are swept in order of their smallest x, each compared only with
/// the edges whose x-range overlaps its own, with robust orientation predicates; this runs
/// only on invalid boundaries and gives up (`None`) after a bounded number of comparisons.
/// (geo's `sweep::Intersections` did not return on a bow-tie over a county's bounding box.)
fn proper_crossing(p: &geo_types::Polygon<f64>) -> Option<Coord<f64>> {
    const MAX_COMPARISONS: u64 = 50_000_000;
    let mut lines: Vec<Line<f64>> = p
        .exterior()
        .lines()
        .chain(p.interiors().iter().flat_map(|r| r.lines()))
        .filter(|l| l.start != l.end)
        .collect();
    let xmin = |l: &Line<f64>| l.start.x.min(l.end.x);
    let xmax = |l: &Line<f64>| l.start.x.max(l.end.x);
    lines.sort_by(|a, b| xmin(a).total_cmp(&xmin(b)));
    let mut comparisons = 0u64;
    for (i, a) in lines.iter().enumerate() {
        let (alo, ahi) = (a.start.y.min(a.end.y), a.start.y.max(a.end.y));
        for b in lines[i + 1..].iter().take_while(|b| xmin(b) <= xmax(a)) {
            comparisons += 1;
            if comparisons > MAX_COMPARISONS {
                return None;
            }
            if b.start.y.max(b.end.y) < alo || b.start.y.min(b.end.y) > ahi {
                continue;
            }
            if let Some(c) = crossing_point(a, b) {
                return Some(c);
            }
        }
    }
    None
}

/// The point where two segments cross properly, or `None` (touching, collinear, apart).
fn crossing_point(a: &Line<f64>, b: &Line<f64>) -> Option<Coord<f64>> {
    use Orientation::Collinear;
    let o = RobustKernel::orient2d;
    let (o1, o2) = (o(a.start, a.end, b.start), o(a.start, a.end, b.end));
    let (o3, o4) = (o(b.start, b.end, a.start), o(b.start, b.end, a.end));
    if [o1, o2, o3, o4].contains(&Collinear) || o1 == o2 || o3 == o4 {
        return None;
    }
    let (d, e) = (a.delta(), b.delta());
    let denom = d.x * e.y - d.y * e.x;
    let t = ((b.start.x - a.start.x) * e.y - (b.start.y - a.start.y) * e.x) / denom;
    let c = Coord {
        x: a.start.x + t * d.x,
        y: a.start.y + t * d.y,
    };
    // Coordinates near f64::MAX overflow here: no point is better than a meaningless one.
    (c.x.is_finite() && c.y.is_finite()).then_some(c)
}

/// A number for a message: at most 7 decimals (1 cm in degrees), no trailing zeros, never
/// "-0".
fn fmt_num(v: f64) -> String {
    let s = format!("{v:.7}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

fn fmt_point(c: Coord<f64>) -> String {
    format!("({}, {})", fmt_num(c.x), fmt_num(c.y))
}

/// GEOS's reason with its location ("... at or near point x y", or "...[x y]") written as
/// "at or near (x, y)" when it is a point near the geometry, and left out when it is not
/// (GEOS sometimes reports a meaningless point such as 1.8e308).
fn clean_geos_reason(reason: &str, mp: &MultiPolygon<f64>) -> String {
    const NEAR: &str = " at or near point ";
    let (head, tail) = if let Some(i) = reason.find(NEAR) {
        (&reason[..i], &reason[i + NEAR.len()..])
    } else if let Some((head, tail)) = reason.split_once('[') {
        (head.trim_end(), tail)
    } else {
        return reason.to_string();
    };
    let nums: Vec<f64> = tail
        .split(|c: char| c.is_whitespace() || c == ']' || c == ',')
        .filter_map(|t| t.parse().ok())
        .take(2)
        .collect();
    let plausible = |c: Coord<f64>| {
        mp.bounding_rect().is_some_and(|b| {
            let (w, h) = (b.width().max(1e-9), b.height().max(1e-9));
            (b.min().x - w..=b.max().x + w).contains(&c.x)
                && (b.min().y - h..=b.max().y + h).contains(&c.y)
        })
    };
    match nums[..] {
        [x, y] if plausible(Coord { x, y }) => {
            format!("{head} at or near {}", fmt_point(Coord { x, y }))
        }
        _ => head.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_messages_have_no_negative_zero() {
        assert_eq!(fmt_num(-0.0), "0");
        assert_eq!(fmt_num(-0.000_000_01), "0");
        assert_eq!(fmt_num(119.5), "119.5");
        assert_eq!(fmt_num(-3.0), "-3");
        assert_eq!(fmt_point(Coord { x: 1.25, y: 0.0 }), "(1.25, 0)");
    }

    #[test]
    fn geos_locations_are_kept_only_when_they_are_near_the_geometry() {
        let ring = vec![(119.0, 28.0), (120.0, 28.0), (120.0, 29.0), (119.0, 28.0)];
        let mp = MultiPolygon::new(vec![geo_types::Polygon::new(ring.into(), vec![])]);
        assert_eq!(
            clean_geos_reason("Ring Self-intersection at or near point 119.5 28.25", &mp),
            "Ring Self-intersection at or near (119.5, 28.25)"
        );
        assert_eq!(
            clean_geos_reason("Self-intersection[1.7976931348623157e+308 -0]", &mp),
            "Self-intersection"
        );
        assert_eq!(clean_geos_reason("Too few points", &mp), "Too few points");
        let sliver = vec![
            (120.328511, 28.015041),
            (120.982856, 28.614376),
            (120.6556835, 28.3147085),
            (120.328511, 28.015041),
        ];
        let mp = MultiPolygon::new(vec![geo_types::Polygon::new(sliver.into(), vec![])]);
        assert_eq!(
            clean_geos_reason("Self-intersection at or near point 0 0", &mp),
            "Self-intersection"
        );
    }

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
