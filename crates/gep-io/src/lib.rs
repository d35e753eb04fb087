//! # gep-io
//!
//! The only crate of GEP that touches GDAL and PROJ: land-cover rasters as
//! [`gep_core::RasterSource`]s ([`GdalRaster`]), administrative boundaries from any OGR source
//! ([`read_zones`]), reprojection with densified, shared-edge-preserving edges
//! ([`reproject_zones`]), the GCJ-02 web-map datum ([`gcj02`]), file descriptions for
//! `gep info` ([`describe_path`]), continuous inputs (precipitation, ET, DEM...) aligned to the
//! land-cover grid with GDAL's warper ([`open_continuous`]), and
//! writers for zone layers ([`write_zones_gpkg`]) and value rasters ([`write_value_geotiff`]).
//!
//! ```no_run
//! use gep_core::{Level, RasterSource};
//! use gep_io::{read_zones, reproject_zones, Densify, GdalRaster, RasterOptions, ZoneLayerSpec};
//! let raster = GdalRaster::open("landcover.tif", RasterOptions::default())?;
//! let layer = read_zones(&ZoneLayerSpec::new("counties.gpkg", Level::County, "adcode"))?;
//! let mut zones = layer.zones;
//! reproject_zones(&mut zones, &layer.crs, raster.crs(), Densify::Default)?;
//! assert_eq!(raster.grid().crs, raster.crs().info);
//! # Ok::<(), gep_io::IoError>(())
//! ```
//!
//! Every error is an [`IoError`] naming the file and, where it applies, the feature (FID and
//! id), field or cell, with the fix.
//!
//! ## Decisions
//! - **Axis order**: coordinates are always x = longitude/easting, y = latitude/northing
//!   (GDAL's traditional GIS order on reading; PROJ transformers are normalised with
//!   `proj_normalize_for_visualization`), although EPSG:4490/4326 are latitude-first and
//!   EPSG:4549 northing-first by definition.
//! - **Densification** before reprojection: 0.001° for geographic sources, 100 m for projected
//!   ones ([`reproject::Densify`]); an edge is cut into `ceil(len / step)` equal parts computed
//!   from its lexicographically smaller endpoint, so shared edges stay bit-identical.
//! - **Validity** is decided by GEOS through GDAL's `IsValid` (O(n log n)); geo's `Validation`
//!   adds a description, and decides alone if GDAL lacks GEOS.
//! - **Ids** are text: integers and integral reals are written without `.0`; text keeps
//!   leading zeros (surrounding spaces are trimmed).
//! - **Text encodings** are decided by gep, not GDAL: a declared encoding (`encoding`, a
//!   `.cpg`, the `.dbf` language driver id, UTF-8 for every other format) is obeyed strictly;
//!   an undeclared Shapefile is UTF-8 when all of it is valid UTF-8, else GBK/GB18030 with a
//!   warning; text valid in nothing that applies is an error naming the file, FID and field.
//!   No replacement character (U+FFFD) ever reaches a zone id or name.
//! - **GCJ-02** input ([`Datum::Gcj02`]) is corrected with the iterated inverse and then treated
//!   as EPSG:4326.
#![deny(missing_docs)]

pub mod align;
pub mod continuous;
pub mod crs;
pub mod describe;
pub mod error;
pub mod features;
pub mod gcj02;
pub mod raster;
pub mod reproject;
mod text_encoding;
pub mod vector;
pub mod write;

pub use continuous::{
    open_continuous, plausible_range, Alignment, ContinuousInput, ContinuousNote, GdalValues,
    InputKind,
};
pub use crs::Crs;
pub use describe::describe_path;
pub use error::IoError;
pub use features::{write_features_gpkg, Column, ColumnValues, FeatureLayerOut};
pub use raster::{GdalRaster, RasterOptions};
pub use reproject::{reproject_zones, Densify};
pub use vector::{
    is_shapefile, read_zones, read_zones_lenient, Datum, RejectedFeature, ZoneLayer, ZoneLayerSpec,
};
pub use write::{
    write_gpkg, write_value_geotiff, write_zones_gpkg, GeoTiffWriter, GpkgFeature, GpkgLayer,
    ZoneLayerOut,
};
