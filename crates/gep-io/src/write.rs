//! Writers: zone layers with numeric results to GeoPackage (each layer in its own CRS,
//! geometries written as given), and value rasters to tiled,
//! DEFLATE-compressed GeoTIFF. Both go straight to `path`; atomic publication (staging
//! directory, rename) is the caller's job.

use crate::crs::Crs;
use crate::error::IoError;
use gdal::raster::{Buffer, RasterCreationOptions};
use gdal::spatial_ref::SpatialRef;
use gdal::vector::{
    Feature, FieldDefn, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType, ToGdal,
};
use gdal::{Dataset, DriverManager};
use geo_types::MultiPolygon;
use gep_core::{Grid, Window, Zone};
use std::path::{Path, PathBuf};

/// One layer of [`write_zones_gpkg`]: zones with one row of numeric values each.
#[derive(Debug, Clone, Copy)]
pub struct ZoneLayerOut<'a> {
    /// Layer name (e.g. `county`).
    pub name: &'a str,
    /// The zones; geometries in the CRS given to [`write_zones_gpkg`].
    pub zones: &'a [Zone],
    /// Names of the numeric (Real) fields.
    pub fields: &'a [&'a str],
    /// Per zone, one value per field; NaN is written as null.
    pub values: &'a [Vec<f64>],
}

/// One feature of a [`GpkgLayer`]: a (multi)polygon with its text and numeric values.
#[derive(Debug, Clone)]
pub struct GpkgFeature<'a> {
    /// The geometry, in its layer's CRS, written as given (no reprojection, no densification).
    pub geometry: &'a MultiPolygon<f64>,
    /// One value per text field of the layer; an empty text is written as null.
    pub texts: Vec<&'a str>,
    /// One value per numeric field of the layer; NaN is written as null.
    pub reals: Vec<f64>,
}

/// One MultiPolygon layer of [`write_gpkg`], with its own CRS.
#[derive(Debug, Clone)]
pub struct GpkgLayer<'a> {
    /// Layer name.
    pub name: &'a str,
    /// The CRS of every geometry of the layer.
    pub crs: &'a Crs,
    /// Names of the text (String) fields, first.
    pub text_fields: &'a [&'a str],
    /// Names of the numeric (Real) fields, after the text fields.
    pub real_fields: &'a [&'a str],
    /// The features.
    pub features: Vec<GpkgFeature<'a>>,
}

/// Writes a GeoPackage with one MultiPolygon layer per [`ZoneLayerOut`], fields `zone_id`,
/// `zone_level`, `name`, `parent_id` (text) followed by the numeric fields, every layer in
/// `crs`. Replaces an existing file.
pub fn write_zones_gpkg(
    path: impl AsRef<Path>,
    crs: &Crs,
    layers: &[ZoneLayerOut<'_>],
) -> Result<(), IoError> {
    let path = path.as_ref();
    for l in layers {
        if l.values.len() != l.zones.len() {
            return Err(IoError::Write {
                path: path.to_path_buf(),
                reason: format!(
                    "layer {:?}: {} zones and {} value rows",
                    l.name,
                    l.zones.len(),
                    l.values.len()
                ),
            });
        }
    }
    const TEXT: [&str; 4] = ["zone_id", "zone_level", "name", "parent_id"];
    let out: Vec<GpkgLayer<'_>> = layers
        .iter()
        .map(|l| GpkgLayer {
            name: l.name,
            crs,
            text_fields: &TEXT,
            real_fields: l.fields,
            features: l
                .zones
                .iter()
                .zip(l.values)
                .map(|(z, v)| GpkgFeature {
                    geometry: &z.geometry,
                    texts: vec![
                        z.id.as_str(),
                        z.level.as_str(),
                        z.name.as_str(),
                        z.parent.as_deref().unwrap_or(""),
                    ],
                    reals: v.clone(),
                })
                .collect(),
        })
        .collect();
    write_gpkg(path, &out)
}

/// Writes a GeoPackage with one MultiPolygon layer per [`GpkgLayer`], each in its own CRS,
/// with its text fields then its numeric fields. Replaces an existing file.
///
/// # Errors
/// A feature whose value count does not match its layer's fields (naming the layer), and
/// GDAL errors naming the file and what failed.
pub fn write_gpkg(path: impl AsRef<Path>, layers: &[GpkgLayer<'_>]) -> Result<(), IoError> {
    let path = path.as_ref();
    let fail = |what: &str, e: gdal::errors::GdalError| IoError::gdal(path, what.to_string(), e);
    for l in layers {
        if let Some(k) = l.features.iter().position(|f| {
            f.texts.len() != l.text_fields.len() || f.reals.len() != l.real_fields.len()
        }) {
            return Err(IoError::Write {
                path: path.to_path_buf(),
                reason: format!(
                    "layer {:?}: feature {k} has {} text and {} numeric values, the layer {} and {} fields",
                    l.name,
                    l.features[k].texts.len(),
                    l.features[k].reals.len(),
                    l.text_fields.len(),
                    l.real_fields.len()
                ),
            });
        }
    }
    if path.exists() {
        std::fs::remove_file(path).map_err(|source| IoError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    }
    let driver =
        DriverManager::get_driver_by_name("GPKG").map_err(|e| fail("find the GPKG driver", e))?;
    let mut ds = driver
        .create_vector_only(path)
        .map_err(|e| fail("create GeoPackage", e))?;
    for l in layers {
        let srs = SpatialRef::from_definition(&l.crs.definition)
            .map_err(|e| fail(&format!("parse the CRS of layer {}", l.name), e))?;
        let mut txn = ds
            .start_transaction()
            .map_err(|e| fail("start a transaction", e))?;
        let layer = txn
            .create_layer(LayerOptions {
                name: l.name,
                srs: Some(&srs),
                ty: OGRwkbGeometryType::wkbMultiPolygon,
                options: None,
            })
            .map_err(|e| fail(&format!("create layer {}", l.name), e))?;
        let defs = l
            .text_fields
            .iter()
            .map(|f| (*f, OGRFieldType::OFTString))
            .chain(l.real_fields.iter().map(|f| (*f, OGRFieldType::OFTReal)));
        for (name, ty) in defs {
            let fd =
                FieldDefn::new(name, ty).map_err(|e| fail(&format!("define field {name}"), e))?;
            fd.add_to_layer(&layer)
                .map_err(|e| fail(&format!("add field {name}"), e))?;
        }
        let nt = l.text_fields.len();
        for (k, feat) in l.features.iter().enumerate() {
            let what = format!(
                "write feature {k} ({:?}) to layer {}",
                feat.texts.first().copied().unwrap_or(""),
                l.name
            );
            let mut f = Feature::new(layer.defn()).map_err(|e| fail(&what, e))?;
            for (i, t) in feat.texts.iter().enumerate() {
                if !t.is_empty() {
                    f.set_field_string(i, t).map_err(|e| fail(&what, e))?;
                }
            }
            for (i, v) in feat.reals.iter().enumerate() {
                if !v.is_nan() {
                    f.set_field_double(nt + i, *v).map_err(|e| fail(&what, e))?;
                }
            }
            let g = feat.geometry.to_gdal().map_err(|e| fail(&what, e))?;
            f.set_geometry(g).map_err(|e| fail(&what, e))?;
            f.create(&layer).map_err(|e| fail(&what, e))?;
        }
        txn.commit().map_err(|e| fail("commit", e))?;
    }
    ds.close().map_err(|e| fail("close GeoPackage", e))
}

/// A single-band Float32 GeoTIFF written window by window: tiled 256 x 256, DEFLATE with the
/// floating-point predictor, BigTIFF when needed.
#[derive(Debug)]
pub struct GeoTiffWriter {
    path: PathBuf,
    dataset: Dataset,
    grid: Grid,
}

impl GeoTiffWriter {
    /// Creates the file for `grid` in the CRS given as WKT (or any definition GDAL accepts;
    /// empty for none), with an optional nodata value.
    pub fn create(
        path: impl AsRef<Path>,
        grid: &Grid,
        crs_wkt: &str,
        nodata: Option<f32>,
    ) -> Result<Self, IoError> {
        let path = path.as_ref();
        let fail =
            |what: &str, e: gdal::errors::GdalError| IoError::gdal(path, what.to_string(), e);
        let driver = DriverManager::get_driver_by_name("GTiff")
            .map_err(|e| fail("find the GTiff driver", e))?;
        let mut opts = RasterCreationOptions::new();
        for (k, v) in [
            ("TILED", "YES"),
            ("BLOCKXSIZE", "256"),
            ("BLOCKYSIZE", "256"),
            ("COMPRESS", "DEFLATE"),
            ("PREDICTOR", "3"),
            ("BIGTIFF", "IF_SAFER"),
        ] {
            opts.set_name_value(k, v)
                .map_err(|e| fail("set creation options", e))?;
        }
        let mut ds = driver
            .create_with_band_type_with_options::<f32, _>(path, grid.cols, grid.rows, 1, &opts)
            .map_err(|e| fail("create GeoTIFF", e))?;
        ds.set_geo_transform(&[
            grid.left,
            grid.cell_width,
            0.0,
            grid.top,
            0.0,
            -grid.cell_height,
        ])
        .map_err(|e| fail("set the geotransform", e))?;
        if !crs_wkt.is_empty() {
            let srs = SpatialRef::from_definition(crs_wkt).map_err(|e| fail("parse the CRS", e))?;
            ds.set_spatial_ref(&srs)
                .map_err(|e| fail("set the CRS", e))?;
        }
        if let Some(nd) = nodata {
            let mut band = ds.rasterband(1).map_err(|e| fail("open band 1", e))?;
            band.set_no_data_value(Some(f64::from(nd)))
                .map_err(|e| fail("set nodata", e))?;
        }
        Ok(GeoTiffWriter {
            path: path.to_path_buf(),
            dataset: ds,
            grid: grid.clone(),
        })
    }

    /// Writes `data` (row-major, `window.rows * window.cols` values) into `window`.
    pub fn write_window(&mut self, window: Window, data: &[f32]) -> Result<(), IoError> {
        self.grid
            .check_window(&window)
            .map_err(|source| IoError::core(&self.path, source))?;
        if data.len() != window.len() {
            return Err(IoError::Write {
                path: self.path.clone(),
                reason: format!(
                    "{} values for a {} x {} window",
                    data.len(),
                    window.rows,
                    window.cols
                ),
            });
        }
        let mut band = self
            .dataset
            .rasterband(1)
            .map_err(|e| IoError::gdal(&self.path, "open band 1", e))?;
        let mut buf = Buffer::new((window.cols, window.rows), data.to_vec());
        band.write(
            (window.col_off as isize, window.row_off as isize),
            (window.cols, window.rows),
            &mut buf,
        )
        .map_err(|e| IoError::gdal(&self.path, format!("write window {window:?}"), e))
    }

    /// Flushes and closes the file.
    pub fn finish(self) -> Result<(), IoError> {
        let path = self.path;
        self.dataset
            .close()
            .map_err(|e| IoError::gdal(&path, "close GeoTIFF", e))
    }
}

/// Writes a whole Float32 GeoTIFF from `(window, values)` pieces (see [`GeoTiffWriter`]).
pub fn write_value_geotiff(
    path: impl AsRef<Path>,
    grid: &Grid,
    crs_wkt: &str,
    nodata: Option<f32>,
    windows: impl IntoIterator<Item = (Window, Vec<f32>)>,
) -> Result<(), IoError> {
    let mut w = GeoTiffWriter::create(path, grid, crs_wkt, nodata)?;
    for (win, data) in windows {
        w.write_window(win, &data)?;
    }
    w.finish()
}
