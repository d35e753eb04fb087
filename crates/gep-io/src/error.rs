//! The one error type of `gep-io`. Every message names the file, and where it applies the
//! feature (FID and id value), field or cell, and says how to fix the input.

use std::path::PathBuf;
use thiserror::Error;

/// Everything that can go wrong reading, reprojecting or writing geodata.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum IoError {
    /// GDAL could not open or read a file.
    #[error("{}: cannot {action}: {message}; check that the file exists, is readable and is a format GDAL reads (`gdalinfo`/`ogrinfo` it)", path.display())]
    Gdal {
        /// The file.
        path: PathBuf,
        /// What was being done ("open raster", "read window ...").
        action: String,
        /// GDAL's message.
        message: String,
    },
    /// A file could not be read or written by the operating system.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The requested band does not exist.
    #[error("{}: band {band} requested but the raster has {count} band(s); bands are numbered from 1: set `band` to 1..={count}", path.display())]
    NoSuchBand {
        /// The raster.
        path: PathBuf,
        /// The band asked for (1-based).
        band: usize,
        /// Bands in the file.
        count: usize,
    },
    /// The land-cover band is not a small integer type.
    #[error("{}: band {band} is {data_type}; land cover must be an integer class raster (Byte, Int16, UInt16, Int32 or UInt32 values up to 2147483647): reclassify with gdal_calc/gdal_translate -ot Byte (or -ot Int16)", path.display())]
    NotIntegerRaster {
        /// The raster.
        path: PathBuf,
        /// The band.
        band: usize,
        /// GDAL's name of the band's data type.
        data_type: String,
    },
    /// The geotransform cannot be represented as a north-up [`gep_core::Grid`].
    #[error("{}: unsupported geotransform {geotransform:?}: {reason}; warp it north-up with `gdalwarp` first", path.display())]
    UnsupportedGeotransform {
        /// The raster.
        path: PathBuf,
        /// GDAL's six coefficients.
        geotransform: [f64; 6],
        /// Rotated, south-up, ...
        reason: String,
    },
    /// A raster or layer has no CRS and none was given.
    #[error("{}: has no coordinate reference system; give one as the input's `crs` option (e.g. `crs = \"EPSG:4549\"`) or assign it with `gdal_edit.py -a_srs` / `ogr2ogr -a_srs`", path.display())]
    MissingCrs {
        /// The file.
        path: PathBuf,
    },
    /// A CRS cannot be used.
    #[error("{}: CRS {crs} cannot be used: {reason}", path.display())]
    UnsupportedCrs {
        /// The file.
        path: PathBuf,
        /// The CRS's name or definition.
        crs: String,
        /// Why, and the fix.
        reason: String,
    },
    /// A cell value does not fit a class code (i32).
    #[error("{}: cell row {row}, col {col} holds {value}, which does not fit a class code (at most 2147483647): reclassify the raster to smaller codes", path.display())]
    ValueOutOfRange {
        /// The raster.
        path: PathBuf,
        /// Cell row.
        row: usize,
        /// Cell column.
        col: usize,
        /// The value found.
        value: u64,
    },
    /// A grid or window check of `gep-core` failed for this file.
    #[error("{}: {source}", path.display())]
    Core {
        /// The file.
        path: PathBuf,
        /// The core error (boxed: it is large and rare).
        source: Box<gep_core::CoreError>,
    },
    /// The layer asked for is not in the file.
    #[error("{}: no layer {layer:?}; the file has layers: {available}", path.display())]
    NoSuchLayer {
        /// The file.
        path: PathBuf,
        /// The layer asked for.
        layer: String,
        /// Comma-separated layer names.
        available: String,
    },
    /// A file holds several layers and none was chosen.
    #[error("{}: holds {count} layers ({available}); choose one with `layer = \"...\"`", path.display())]
    AmbiguousLayer {
        /// The file.
        path: PathBuf,
        /// Number of layers.
        count: usize,
        /// Comma-separated layer names.
        available: String,
    },
    /// A layer has no features.
    #[error("{}: layer {layer:?} has no features; point the config at the layer holding the boundaries", path.display())]
    EmptyLayer {
        /// The file.
        path: PathBuf,
        /// The layer.
        layer: String,
    },
    /// A field named in the config is not in the layer.
    #[error("{}: layer {layer:?} has no field {field:?}; fields are: {available}; fix `{role}` in the config", path.display())]
    MissingField {
        /// The file.
        path: PathBuf,
        /// The layer.
        layer: String,
        /// The field asked for.
        field: String,
        /// Which setting named it (`id_field`, `name_field`, `parent_field`).
        role: String,
        /// Comma-separated field names with their types.
        available: String,
    },
    /// A feature's id field is empty.
    #[error("{}: feature FID {fid} has an empty id field {field:?}; every zone needs an id: fill it in or drop the feature", path.display())]
    MissingId {
        /// The file.
        path: PathBuf,
        /// The feature id.
        fid: u64,
        /// The id field.
        field: String,
    },
    /// Two features share an id.
    #[error("{}: id {id:?} appears on FID {first_fid} and FID {second_fid}; ids must be unique within a layer: dissolve them (`ogr2ogr -dialect SQLite -sql \"SELECT id, ST_Union(geometry) ... GROUP BY id\"`) or fix the id", path.display())]
    DuplicateId {
        /// The file.
        path: PathBuf,
        /// The repeated id.
        id: String,
        /// First feature with it.
        first_fid: u64,
        /// Second feature with it.
        second_fid: u64,
    },
    /// A feature is not a polygon.
    #[error("{}: feature FID {fid} (id {id:?}) is a {geometry_type}; zones must be Polygon or MultiPolygon: convert with `ogr2ogr -nlt MULTIPOLYGON` or drop it", path.display())]
    NotPolygon {
        /// The file.
        path: PathBuf,
        /// The feature id.
        fid: u64,
        /// The zone id.
        id: String,
        /// The geometry type found.
        geometry_type: String,
    },
    /// A feature's geometry is empty, degenerate or OGC-invalid.
    #[error("{}: feature FID {fid} (id {id:?}) has a bad geometry: {problem}; repair it with `ogr2ogr -makevalid out.gpkg {}` and check the result", path.display(), path.display())]
    InvalidGeometry {
        /// The file.
        path: PathBuf,
        /// The feature id.
        fid: u64,
        /// The zone id.
        id: String,
        /// What is wrong.
        problem: String,
    },
    /// A feature has no geometry at all (null).
    #[error("{}: feature FID {fid} (id {id:?}) has no geometry; every zone needs its boundary polygon: draw or copy it in (e.g. in QGIS) or delete the feature", path.display())]
    NoGeometry {
        /// The file.
        path: PathBuf,
        /// The feature id.
        fid: u64,
        /// The zone id.
        id: String,
    },
    /// A feature's geometry is present but empty (e.g. `POLYGON EMPTY`).
    #[error("{}: feature FID {fid} (id {id:?}) has an empty geometry ({geometry_type} with no coordinates); every zone needs its boundary polygon: draw or copy it in (e.g. in QGIS) or delete the feature", path.display())]
    EmptyGeometry {
        /// The file.
        path: PathBuf,
        /// The feature id.
        fid: u64,
        /// The zone id.
        id: String,
        /// The geometry type found.
        geometry_type: String,
    },
    /// A text value is not valid in the encoding the layer is read with.
    #[error("{}: feature FID {fid}, field {field:?}: the text {text} is not valid {reason}", path.display())]
    BadText {
        /// The file.
        path: PathBuf,
        /// The feature id.
        fid: u64,
        /// The field.
        field: String,
        /// The value, quoted, with bytes that cannot be shown as `\xNN`.
        text: String,
        /// The encoding it had to be valid in and who said so, then the fix.
        reason: String,
    },
    /// A declared text encoding is not one gep can decode.
    #[error("{}: the text encoding {label:?} declared by {declared_by} is not one gep can decode; {fix}", path.display())]
    UnknownEncoding {
        /// The file.
        path: PathBuf,
        /// The label as declared.
        label: String,
        /// Where it was declared (`the .cpg file`, `encoding = ...` in the config).
        declared_by: String,
        /// How to fix it.
        fix: String,
    },
    /// PROJ has no transformation between two CRSs.
    #[error("no coordinate transformation from {from} to {to}: {message}; check both CRSs (`projinfo -s FROM -t TO`) and the PROJ data grids")]
    NoTransformation {
        /// Source CRS.
        from: String,
        /// Target CRS.
        to: String,
        /// PROJ's message.
        message: String,
    },
    /// A coordinate could not be transformed.
    #[error("zone {id:?}: cannot transform its boundary from {from} to {to}: {message}; are the boundaries in the declared CRS (and inside its area of use)?")]
    Transform {
        /// The zone id.
        id: String,
        /// Source CRS.
        from: String,
        /// Target CRS.
        to: String,
        /// PROJ's message.
        message: String,
    },
    /// An option does not apply to this file.
    #[error("{}: {option}: {reason}", path.display())]
    BadOption {
        /// The file.
        path: PathBuf,
        /// The option as given.
        option: String,
        /// Why it does not apply, and the fix.
        reason: String,
    },
    /// Data given to a writer is inconsistent.
    #[error("{}: cannot write: {reason}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What is inconsistent.
        reason: String,
    },
    /// An error opening a continuous input, tagged with the input's name (the inner error
    /// names the file and the fix).
    #[error("continuous input {name:?}: {source}")]
    Input {
        /// The input's `name` in the config.
        name: String,
        /// What went wrong.
        source: Box<IoError>,
    },
    /// A continuous input's band is not numeric (complex types).
    #[error("continuous input {name:?} ({}): band {band} is {data_type}, not a real number type; convert it with `gdal_translate -ot Float32` (or choose another `band`)", path.display())]
    NotNumericRaster {
        /// The input's name.
        name: String,
        /// The file.
        path: PathBuf,
        /// The band.
        band: usize,
        /// GDAL's name of the band's data type.
        data_type: String,
    },
    /// A continuous input is not on the land-cover grid and no resampling was declared.
    #[error("continuous input {name:?} ({}): its grid ({input_grid}) differs from the land-cover grid ({target_grid}), so it must be resampled: declare how with `resampling = \"average\"` (quantities such as precipitation, ET, NPP), \"bilinear\" or \"cubic\" (smooth fields such as elevation) or \"nearest\" (codes)", path.display())]
    ResamplingRequired {
        /// The input's name.
        name: String,
        /// The file.
        path: PathBuf,
        /// The input's grid.
        input_grid: String,
        /// The land-cover grid.
        target_grid: String,
    },
    /// PROJ has no transformation between the land-cover CRS and a continuous input's CRS.
    #[error("continuous input {name:?} ({}): no coordinate transformation {direction}: {message}; check the input's CRS (`gdalinfo`; override a wrong one with `crs = \"EPSG:...\"`), `projinfo -s FROM -t TO` and the PROJ data grids", path.display())]
    InputTransform {
        /// The input's name.
        name: String,
        /// The file.
        path: PathBuf,
        /// `from the land-cover CRS <A> to the input's CRS <B>`.
        direction: String,
        /// PROJ's (GDAL's) message.
        message: String,
    },
    /// A continuous input does not overlap the land-cover grid at all.
    #[error("continuous input {name:?} ({}): does not overlap the land-cover grid: the input covers {input_extent}, the land cover {target_extent}; use a file that covers the study area, or fix a wrong CRS with `crs = \"EPSG:...\"`", path.display())]
    NoOverlap {
        /// The input's name.
        name: String,
        /// The file.
        path: PathBuf,
        /// The input's extent, in its CRS.
        input_extent: String,
        /// The land-cover extent, in its CRS and in the input's.
        target_extent: String,
    },
    /// GDAL's warper could not set up the warp of a continuous input.
    #[error("continuous input {name:?} ({}): cannot warp it onto the land-cover grid: {message}; check that `gdalwarp` can reproject the file to the land-cover CRS", path.display())]
    Warp {
        /// The input's name.
        name: String,
        /// The file.
        path: PathBuf,
        /// GDAL's message.
        message: String,
    },
    /// Values of a continuous input fall outside its declared valid range (a wrong scale or
    /// unit, or an undeclared nodata value). Boxed: it is large and rare.
    #[error("{0}")]
    OutOfValidRange(Box<OutOfValidRange>),
}

/// What [`IoError::OutOfValidRange`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct OutOfValidRange {
    /// The input's name.
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// The declared unit.
    pub unit: String,
    /// Smallest value found, after scale and offset.
    pub min: f64,
    /// Largest value found, after scale and offset.
    pub max: f64,
    /// The declared minimum.
    pub valid_min: f64,
    /// The declared maximum.
    pub valid_max: f64,
    /// Over which cells the range was found (all, or a subsample), then the likely fix.
    pub detail: String,
}

impl std::fmt::Display for OutOfValidRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = &self.unit;
        write!(
            f,
            "continuous input {:?} ({}): values range over {}..{} {unit}, outside the valid range {}..{} {unit}; {}",
            self.name,
            self.path.display(),
            short(self.min),
            short(self.max),
            short(self.valid_min),
            short(self.valid_max),
            self.detail
        )
    }
}

/// A number for a message: the shortest text that reads back as the same `f32` (`0.9`, not
/// `0.8999999761581421` for a Float32 cell).
pub(crate) fn short(v: f64) -> String {
    format!("{}", v as f32)
}

impl IoError {
    /// A core error about `path`.
    pub(crate) fn core(path: &std::path::Path, source: gep_core::CoreError) -> IoError {
        IoError::Core {
            path: path.to_path_buf(),
            source: Box::new(source),
        }
    }

    pub(crate) fn gdal(
        path: &std::path::Path,
        action: impl Into<String>,
        e: gdal::errors::GdalError,
    ) -> IoError {
        IoError::Gdal {
            path: path.to_path_buf(),
            action: action.into(),
            message: e.to_string(),
        }
    }
}
