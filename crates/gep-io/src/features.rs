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

#[cfg(test)]
mod tests {
    use super::*;
    use gep_core::geo_types::polygon;

    fn square(x: f64) -> MultiPolygon<f64> {
        MultiPolygon::new(vec![
            polygon![(x: x, y: 0.0), (x: x + 1.0, y: 0.0), (x: x + 1.0, y: 1.0), (x: x, y: 1.0)],
        ])
    }

    /// Typed columns read back as written (null for None), in the CRS given; a column of the
    /// wrong length or a repeated name is refused before any file is made.
    #[test]
    fn typed_columns_round_trip_and_bad_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.gpkg");
        let crs = Crs::from_user_input("EPSG:4549").unwrap();
        let geoms = [square(0.0), square(2.0)];
        let cols = vec![
            Column {
                name: "id".into(),
                values: ColumnValues::Text(vec!["a".into(), "b".into()]),
            },
            Column {
                name: "v".into(),
                values: ColumnValues::Real(vec![Some(0.1), None]),
            },
            Column {
                name: "n".into(),
                values: ColumnValues::Integer(vec![3, -4]),
            },
        ];
        let layer = FeatureLayerOut {
            name: "things",
            crs: &crs,
            geometries: &geoms,
            columns: &cols,
        };
        write_features_gpkg(&path, &layer).unwrap();
        let ds = gdal::Dataset::open(&path).unwrap();
        let mut l = ds.layer_by_name("things").unwrap();
        assert_eq!(l.spatial_ref().unwrap().auth_code().unwrap(), 4549);
        let got: Vec<(Option<String>, Option<f64>, Option<i64>)> = l
            .features()
            .map(|f| {
                let g = |n: &str| f.field(f.field_index(n).unwrap()).unwrap();
                (
                    g("id").and_then(|v| v.into_string()),
                    g("v").and_then(|v| v.into_real()),
                    g("n").and_then(|v| v.into_int64()),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (Some("a".into()), Some(0.1), Some(3)),
                (Some("b".into()), None, Some(-4))
            ]
        );
        let bad = dir.path().join("bad.gpkg");
        let mut short = cols.clone();
        short[1].values = ColumnValues::Real(vec![Some(1.0)]);
        let e = write_features_gpkg(
            &bad,
            &FeatureLayerOut {
                columns: &short,
                ..layer
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("\"v\"") && e.contains("1 values for 2 features"),
            "{e}"
        );
        let mut twice = cols.clone();
        twice[2].name = "ID".into();
        let e = write_features_gpkg(
            &bad,
            &FeatureLayerOut {
                columns: &twice,
                ..layer
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("appears twice"), "{e}");
        assert!(!bad.exists());
    }
}
