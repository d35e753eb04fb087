//! A GeoPackage layer of polygons with typed attribute columns (text, real, integer), in a
//! CRS of the caller's choice: the parcels layer of `gep parcels` (parcel outlines as read,
//! in the parcels' own CRS, with their areas, values and villages).
//!
//! Written straight to `path` (an existing file is replaced); atomic publication is the
//! caller's job.

use crate::crs::Crs;
use crate::error::IoError;
use gdal::spatial_ref::SpatialRef;
use gdal::vector::{
    Feature, FieldDefn, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType, ToGdal,
};
use gdal::DriverManager;
use gep_core::geo_types::MultiPolygon;
use std::path::Path;

/// The values of one attribute column, one per feature.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnValues {
    /// Text (`String` field).
    Text(Vec<String>),
    /// Real numbers (`Real` field); `None` and NaN are written as null.
    Real(Vec<Option<f64>>),
    /// Integers (`Integer64` field).
    Integer(Vec<i64>),
}

impl ColumnValues {
    fn len(&self) -> usize {
        match self {
            ColumnValues::Text(v) => v.len(),
            ColumnValues::Real(v) => v.len(),
            ColumnValues::Integer(v) => v.len(),
        }
    }

    fn field_type(&self) -> OGRFieldType::Type {
        match self {
            ColumnValues::Text(_) => OGRFieldType::OFTString,
            ColumnValues::Real(_) => OGRFieldType::OFTReal,
            ColumnValues::Integer(_) => OGRFieldType::OFTInteger64,
        }
    }
}

/// One attribute column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Field name.
    pub name: String,
    /// One value per feature.
    pub values: ColumnValues,
}

/// A polygon layer to write.
#[derive(Debug, Clone, Copy)]
pub struct FeatureLayerOut<'a> {
    /// Layer name.
    pub name: &'a str,
    /// The CRS of the geometries.
    pub crs: &'a Crs,
    /// One outline per feature.
    pub geometries: &'a [MultiPolygon<f64>],
    /// The attribute columns, in field order.
    pub columns: &'a [Column],
}

/// Writes `layer` as the only layer of a new GeoPackage at `path` (MultiPolygon, fields in
/// column order), replacing an existing file.
///
/// # Errors
/// A column whose length is not the number of geometries, duplicate field names, the CRS or
/// a geometry GDAL cannot take, or the file cannot be written.
pub fn write_features_gpkg(
    path: impl AsRef<Path>,
    layer: &FeatureLayerOut<'_>,
) -> Result<(), IoError> {
    let path = path.as_ref();
    let fail = |what: &str, e: gdal::errors::GdalError| IoError::gdal(path, what.to_string(), e);
    let n = layer.geometries.len();
    for (i, c) in layer.columns.iter().enumerate() {
        let problem = if c.values.len() != n {
            Some(format!("{} values for {n} features", c.values.len()))
        } else if layer.columns[..i]
            .iter()
            .any(|o| o.name.eq_ignore_ascii_case(&c.name))
        {
            Some("the name appears twice".to_string())
        } else {
            None
        };
        if let Some(p) = problem {
            return Err(IoError::Write {
                path: path.to_path_buf(),
                reason: format!("layer {:?}, field {:?}: {p}", layer.name, c.name),
            });
        }
    }
    if path.exists() {
        std::fs::remove_file(path).map_err(|source| IoError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    }
    let srs =
        SpatialRef::from_definition(&layer.crs.definition).map_err(|e| fail("parse the CRS", e))?;
    let driver =
        DriverManager::get_driver_by_name("GPKG").map_err(|e| fail("find the GPKG driver", e))?;
    let mut ds = driver
        .create_vector_only(path)
        .map_err(|e| fail("create GeoPackage", e))?;
    {
        let mut txn = ds
            .start_transaction()
            .map_err(|e| fail("start a transaction", e))?;
        let out = txn
            .create_layer(LayerOptions {
                name: layer.name,
                srs: Some(&srs),
                ty: OGRwkbGeometryType::wkbMultiPolygon,
                options: None,
            })
            .map_err(|e| fail(&format!("create layer {}", layer.name), e))?;
        for c in layer.columns {
            let fd = FieldDefn::new(&c.name, c.values.field_type())
                .map_err(|e| fail(&format!("define field {}", c.name), e))?;
            fd.add_to_layer(&out)
                .map_err(|e| fail(&format!("add field {}", c.name), e))?;
        }
        for (k, g) in layer.geometries.iter().enumerate() {
            let what = format!("write feature {k} to layer {}", layer.name);
            let mut f = Feature::new(out.defn()).map_err(|e| fail(&what, e))?;
            for (i, c) in layer.columns.iter().enumerate() {
                match &c.values {
                    ColumnValues::Text(v) => f.set_field_string(i, &v[k]),
                    ColumnValues::Real(v) => match v[k].filter(|x| !x.is_nan()) {
                        Some(x) => f.set_field_double(i, x),
                        None => f.set_field_null(i),
                    },
                    ColumnValues::Integer(v) => f.set_field_integer64(i, v[k]),
                }
                .map_err(|e| fail(&what, e))?;
            }
            let g = g.to_gdal().map_err(|e| fail(&what, e))?;
            f.set_geometry(g).map_err(|e| fail(&what, e))?;
            f.create(&out).map_err(|e| fail(&what, e))?;
        }
        txn.commit().map_err(|e| fail("commit", e))?;
    }
    ds.close().map_err(|e| fail("close GeoPackage", e))
}
