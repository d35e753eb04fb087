//! `gep info FILE`: a plain-text description of a raster or vector file.

use crate::error::IoError;
use crate::vector::open_vector;
use gdal::spatial_ref::SpatialRef;
use gdal::vector::{field_type_to_name, geometry_type_to_name, LayerAccess};
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Most distinct values listed in a raster's value counts.
const MAX_CLASSES: usize = 1000;

/// Describes a raster (driver, size, block size, data type, nodata, CRS, geotransform, cell
/// size and the count of each value, streamed by blocks) or a vector file (layers, feature
/// counts, geometry types, CRSs, fields with types, Shapefile encoding).
pub fn describe_path(path: impl AsRef<Path>) -> Result<String, IoError> {
    let path = path.as_ref();
    let raster = Dataset::open_ex(
        path,
        DatasetOptions {
            open_flags: GdalOpenFlags::GDAL_OF_RASTER,
            ..Default::default()
        },
    );
    match raster {
        Ok(ds) if ds.raster_count() > 0 => describe_raster(path, &ds),
        _ => {
            let ds = open_vector(path, None)?;
            describe_vector(path, &ds)
        }
    }
}

fn crs_line(srs: Option<SpatialRef>) -> String {
    match srs {
        None => "none (give one with `crs = \"EPSG:...\"` in the config)".into(),
        Some(s) => {
            let name = s.name().unwrap_or_else(|| "unnamed".into());
            let code = match (s.auth_name(), s.auth_code()) {
                (Some(a), Ok(c)) => format!(" ({a}:{c})"),
                _ => String::new(),
            };
            let units = if s.is_projected() {
                format!(", {}", s.linear_units_name().unwrap_or_default())
            } else if s.is_geographic() {
                ", degrees".into()
            } else {
                String::new()
            };
            format!("{name}{code}{units}")
        }
    }
}

fn describe_raster(path: &Path, ds: &Dataset) -> Result<String, IoError> {
    let mut s = String::new();
    let d = ds.driver();
    let (cols, rows) = ds.raster_size();
    let _ = writeln!(s, "raster: {}", path.display());
    let _ = writeln!(s, "driver: {} ({})", d.short_name(), d.long_name());
    let _ = writeln!(
        s,
        "size: {cols} columns x {rows} rows, {} band(s)",
        ds.raster_count()
    );
    let _ = writeln!(s, "crs: {}", crs_line(ds.spatial_ref().ok()));
    match ds.geo_transform() {
        Ok(gt) => {
            let _ = writeln!(s, "geotransform: {gt:?}");
            let _ = writeln!(
                s,
                "origin: ({}, {}), cell size: {} x {}",
                gt[0], gt[3], gt[1], gt[5]
            );
            if gt[2] != 0.0 || gt[4] != 0.0 {
                let _ = writeln!(
                    s,
                    "warning: rotated geotransform (gep needs north-up: gdalwarp it)"
                );
            }
        }
        Err(_) => {
            let _ = writeln!(s, "geotransform: none (not georeferenced)");
        }
    }
    for b in 1..=ds.raster_count() {
        let band = ds
            .rasterband(b)
            .map_err(|e| IoError::gdal(path, format!("read band {b}"), e))?;
        let (bx, by) = band.block_size();
        let dt = band.band_type();
        let nodata = band.no_data_value();
        let _ = writeln!(
            s,
            "band {b}: {}, block {bx} x {by} (cols x rows), nodata {}",
            dt.name(),
            nodata
                .map(|v| v.to_string())
                .unwrap_or_else(|| "none".into())
        );
        if !dt.is_integer() || dt.bits() > 32 {
            let _ = writeln!(s, "  not an integer class raster: no value counts");
            continue;
        }
        // Stream whole rows of file blocks; values as i64 so that UInt32 fits.
        let step = by.max(1) * 256usize.div_ceil(by.max(1));
        let mut counts: BTreeMap<i64, u64> = BTreeMap::new();
        let mut nodata_cells = 0u64;
        let mut row = 0;
        while row < rows {
            let n = step.min(rows - row);
            let buf = band
                .read_as::<f64>((0, row as isize), (cols, n), (cols, n), None)
                .map_err(|e| {
                    IoError::gdal(path, format!("read band {b} rows {row}..{}", row + n), e)
                })?;
            for &v in buf.data() {
                if nodata == Some(v) {
                    nodata_cells += 1;
                } else if counts.len() < MAX_CLASSES || counts.contains_key(&(v as i64)) {
                    *counts.entry(v as i64).or_default() += 1;
                }
            }
            row += n;
        }
        let _ = writeln!(s, "  nodata cells: {nodata_cells}");
        if counts.len() >= MAX_CLASSES {
            let _ = writeln!(
                s,
                "  {MAX_CLASSES}+ distinct values (counts below are partial)"
            );
        }
        let _ = writeln!(s, "  value counts ({} classes):", counts.len());
        for (v, c) in &counts {
            let _ = writeln!(s, "    {v}: {c}");
        }
    }
    Ok(s)
}

fn describe_vector(path: &Path, ds: &Dataset) -> Result<String, IoError> {
    let mut s = String::new();
    let d = ds.driver();
    let _ = writeln!(s, "vector: {}", path.display());
    let _ = writeln!(s, "driver: {} ({})", d.short_name(), d.long_name());
    if d.short_name() == "ESRI Shapefile" {
        let cpg = path.with_extension("cpg");
        match std::fs::read_to_string(&cpg) {
            Ok(enc) => {
                let _ = writeln!(s, "encoding: {} (from {})", enc.trim(), cpg.display());
            }
            Err(_) => {
                let _ = writeln!(
                    s,
                    "encoding: no .cpg file; GDAL assumes the .dbf's language driver id or ISO-8859-1: set `encoding` (e.g. GBK) if names look garbled"
                );
            }
        }
    }
    let _ = writeln!(s, "layers: {}", ds.layer_count());
    for mut layer in ds.layers() {
        let _ = writeln!(s, "layer {:?}:", layer.name());
        let _ = writeln!(s, "  features: {}", layer.feature_count());
        let _ = writeln!(
            s,
            "  geometry: {}",
            geometry_type_to_name(layer.defn().geometry_type())
        );
        let _ = writeln!(s, "  crs: {}", crs_line(layer.spatial_ref()));
        if let Ok(e) = layer.get_extent() {
            let _ = writeln!(
                s,
                "  extent: ({}, {}) - ({}, {})",
                e.MinX, e.MinY, e.MaxX, e.MaxY
            );
        }
        let _ = writeln!(s, "  fields:");
        for f in layer.defn().fields() {
            let _ = writeln!(
                s,
                "    {} ({})",
                f.name(),
                field_type_to_name(f.field_type())
            );
        }
        // Touch the features so that unreadable layers show up here rather than at run time.
        let _ = layer.features().count();
    }
    Ok(s)
}
