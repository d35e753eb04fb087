//! [`GdalRaster`]: any GDAL-readable land-cover raster as a [`gep_core::RasterSource`].

use crate::crs::{resolve, Crs};
use crate::error::IoError;
use gdal::raster::GdalDataType;
use gdal::Dataset;
use gep_core::raster::ByteBlock;
use gep_core::{Block, ClassCode, CoreError, Grid, RasterSource, Window};
use std::path::{Path, PathBuf};

/// Block-cache limit when the user has not set `GDAL_CACHEMAX`, from the first raster opened.
///
/// The tally reads each window once, so GDAL's default cache (5 % of RAM) only holds decoded
/// blocks that are never read again — 1.2 GB of the peak RSS at 10 m on a 24 GB machine
/// (bench/RESULTS.md). What it must hold is the blocks under the windows in flight (tally
/// windows are ~512 cells, rounded up to whole blocks): for a tiled raster each block lies in
/// one window, so a few windows' worth per thread; for a striped one (a block = whole rows) a
/// strip serves every window of its band, so a band of ~512 rows per thread, twice over.
/// Clamped to 16 MiB – 512 MiB.
fn block_cache_bytes(cols: usize, block_cols: usize, block_rows: usize, cell_bytes: usize) -> i64 {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let round = |b: usize| 512usize.div_ceil(b.max(1)) * b.max(1);
    let rows = if block_rows > 4096 {
        1024
    } else {
        round(block_rows)
    };
    let per_thread = if block_cols >= cols {
        rows * cols * cell_bytes
    } else {
        let wcols = if block_cols > 4096 {
            1024
        } else {
            round(block_cols)
        };
        2 * rows * wcols * cell_bytes
    };
    (2 * threads * per_thread).clamp(16 << 20, 512 << 20) as i64
}

/// Sets GDAL's raster block cache limit ([`block_cache_bytes`]) once, unless `GDAL_CACHEMAX` is
/// set in the environment or as a GDAL config option.
fn limit_block_cache(bytes: i64) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let configured = std::env::var_os("GDAL_CACHEMAX").is_some()
            || gdal::config::get_config_option("GDAL_CACHEMAX", "").is_ok_and(|v| !v.is_empty());
        if !configured {
            // SAFETY: plain setter of a process-wide GDAL limit, valid at any time.
            unsafe { gdal_sys::GDALSetCacheMax64(bytes) };
        }
    });
}

/// How to read a land-cover raster.
#[derive(Debug, Clone, PartialEq)]
pub struct RasterOptions {
    /// Band number, from 1.
    pub band: usize,
    /// Nodata value overriding the band's own (cells equal to it are `None`).
    pub nodata: Option<f64>,
    /// CRS overriding the file's own (`EPSG:4549`, WKT or PROJJSON); required when the file has none.
    pub crs: Option<String>,
}

impl Default for RasterOptions {
    fn default() -> Self {
        RasterOptions {
            band: 1,
            nodata: None,
            crs: None,
        }
    }
}

/// A land-cover band of a GDAL raster, read by windows into class codes.
///
/// A GDAL `Dataset` is `Send` but not `Sync`: each worker thread opens its own reader with
/// [`RasterSource::try_clone_source`], which reopens the file.
#[derive(Debug)]
pub struct GdalRaster {
    path: PathBuf,
    options: RasterOptions,
    dataset: Dataset,
    grid: Grid,
    crs: Crs,
    nodata: Option<f64>,
    data_type: GdalDataType,
    file_block: (usize, usize),
    block: (usize, usize),
}

/// Smallest window side, in cells, that [`GdalRaster::block_size`] aims for.
const MIN_WINDOW: usize = 256;

impl GdalRaster {
    /// Opens band `options.band` of the raster at `path`.
    ///
    /// Rejects rotated and south-up geotransforms, non-integer and 64-bit bands, projected
    /// CRSs not in metres, and a missing CRS unless `options.crs` is given.
    pub fn open(path: impl AsRef<Path>, options: RasterOptions) -> Result<GdalRaster, IoError> {
        let path = path.as_ref();
        let dataset = Dataset::open(path).map_err(|e| IoError::gdal(path, "open raster", e))?;
        let count = dataset.raster_count();
        if options.band == 0 || options.band > count {
            return Err(IoError::NoSuchBand {
                path: path.to_path_buf(),
                band: options.band,
                count,
            });
        }
        let band = dataset
            .rasterband(options.band)
            .map_err(|e| IoError::gdal(path, format!("read band {}", options.band), e))?;
        let data_type = band.band_type();
        if !data_type.is_integer() || data_type.bits() > 32 {
            return Err(IoError::NotIntegerRaster {
                path: path.to_path_buf(),
                band: options.band,
                data_type: data_type.name(),
            });
        }
        let nodata = options.nodata.or_else(|| band.no_data_value());
        // GDAL gives (cols, rows); kept as (rows, cols) like every other size here.
        let (bx, by) = band.block_size();
        let file_block = (by, bx);
        let cell_bytes = (data_type.bits() as usize).div_ceil(8);
        limit_block_cache(block_cache_bytes(
            dataset.raster_size().0,
            bx,
            by,
            cell_bytes,
        ));
        let gt = dataset.geo_transform().map_err(|e| {
            IoError::gdal(
                path,
                "read the geotransform (the raster is not georeferenced?)",
                e,
            )
        })?;
        let bad_gt = |reason: &str| IoError::UnsupportedGeotransform {
            path: path.to_path_buf(),
            geotransform: gt,
            reason: reason.to_string(),
        };
        if gt[2] != 0.0 || gt[4] != 0.0 {
            return Err(bad_gt(
                "the grid is rotated or sheared (coefficients 2 and 4 must be 0)",
            ));
        }
        if gt[5] > 0.0 {
            return Err(bad_gt("the grid is south-up (positive pixel height)"));
        }
        if gt[1] <= 0.0 || gt[5] == 0.0 {
            return Err(bad_gt(
                "the pixel width must be positive and the pixel height negative",
            ));
        }
        let crs = resolve(path, dataset.spatial_ref().ok(), options.crs.as_deref())?;
        let (cols, rows) = dataset.raster_size();
        let grid = Grid::new(gt[0], gt[3], gt[1], -gt[5], rows, cols, crs.info.clone())
            .map_err(|source| IoError::core(path, source))?;
        let block = scaled_block((bx, by), rows, cols);
        Ok(GdalRaster {
            path: path.to_path_buf(),
            options,
            dataset,
            grid,
            crs,
            nodata,
            data_type,
            file_block,
            block,
        })
    }

    /// The file this raster was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The resolved CRS (the override when one was given).
    pub fn crs(&self) -> &Crs {
        &self.crs
    }

    /// The CRS as WKT.
    pub fn crs_wkt(&self) -> &str {
        &self.crs.wkt
    }

    /// The CRS as PROJ takes it: `EPSG:<code>` or PROJJSON. Use it as the target of
    /// [`crate::reproject_zones`].
    pub fn crs_definition(&self) -> &str {
        &self.crs.definition
    }

    /// The EPSG code of the CRS, if it has one.
    pub fn epsg(&self) -> Option<u32> {
        self.crs.epsg
    }

    /// The nodata value in use (the override, else the band's).
    pub fn nodata(&self) -> Option<f64> {
        self.nodata
    }

    /// GDAL's name of the band's data type (`Byte`, `Int16`, ...).
    pub fn data_type(&self) -> String {
        self.data_type.name()
    }

    /// The file's own block size as (rows, cols).
    pub fn file_block_size(&self) -> (usize, usize) {
        self.file_block
    }

    /// A one-paragraph description: file, band, size, data type, nodata, CRS, grid.
    pub fn describe(&self) -> String {
        let g = &self.grid;
        format!(
            "{}: band {} of {} x {} cells (rows x cols), {}, nodata {}, CRS {}, origin ({}, {}), cell {} x {}, file blocks {} x {}, read windows {} x {}, area basis {}",
            self.path.display(),
            self.options.band,
            g.rows,
            g.cols,
            self.data_type.name(),
            self.nodata.map(|v| v.to_string()).unwrap_or_else(|| "none".into()),
            self.crs.label(),
            g.left,
            g.top,
            g.cell_width,
            g.cell_height,
            self.file_block.0,
            self.file_block.1,
            self.block.0,
            self.block.1,
            g.area_basis().as_str()
        )
    }

    /// An [`IoError`] as the core's error (its message already names the file).
    fn core_error(&self, e: IoError) -> CoreError {
        CoreError::SourceRead {
            source_name: self.path.display().to_string(),
            message: e.to_string(),
        }
    }

    /// The band, after checking that `window` lies in the grid.
    fn band_for(&self, window: &Window) -> Result<gdal::raster::RasterBand<'_>, IoError> {
        self.grid
            .check_window(window)
            .map_err(|source| IoError::core(&self.path, source))?;
        self.dataset
            .rasterband(self.options.band)
            .map_err(|e| IoError::gdal(&self.path, format!("read band {}", self.options.band), e))
    }

    /// The error of a failed window read.
    fn read_error(&self, window: &Window, e: gdal::errors::GdalError) -> IoError {
        IoError::gdal(
            &self.path,
            format!(
                "read rows {}..{}, cols {}..{}",
                window.row_off,
                window.row_end(),
                window.col_off,
                window.col_end()
            ),
            e,
        )
    }

    /// Reads the cells of `window`, mapping the nodata value to `None`.
    pub fn read(&self, window: Window) -> Result<Block, IoError> {
        // Byte bands: one byte per cell through the 256-entry palette (the tally's path too).
        if let Some(bytes) = self.read_bytes(window)? {
            return Ok(bytes.to_block());
        }
        let band = self.band_for(&window)?;
        if window.is_empty() {
            return Ok(Block {
                window,
                cells: Vec::new(),
            });
        }
        let at = (window.col_off as isize, window.row_off as isize);
        let size = (window.cols, window.rows);
        let nodata = self.nodata;
        let is_nodata = |v: f64| nodata.is_some_and(|nd| v == nd);
        let cells = if self.data_type == GdalDataType::UInt32 {
            let buf = band
                .read_as::<u32>(at, size, size, None)
                .map_err(|e| self.read_error(&window, e))?;
            let mut cells = Vec::with_capacity(window.len());
            for (i, &v) in buf.data().iter().enumerate() {
                if is_nodata(v as f64) {
                    cells.push(None);
                } else {
                    let c = ClassCode::try_from(v).map_err(|_| IoError::ValueOutOfRange {
                        path: self.path.clone(),
                        row: window.row_off + i / window.cols,
                        col: window.col_off + i % window.cols,
                        value: u64::from(v),
                    })?;
                    cells.push(Some(c));
                }
            }
            cells
        } else if self.data_type == GdalDataType::UInt16 {
            let buf = band
                .read_as::<u16>(at, size, size, None)
                .map_err(|e| self.read_error(&window, e))?;
            buf.data()
                .iter()
                .map(|&v| (!is_nodata(f64::from(v))).then_some(ClassCode::from(v)))
                .collect()
        } else if self.data_type == GdalDataType::Int16 {
            let buf = band
                .read_as::<i16>(at, size, size, None)
                .map_err(|e| self.read_error(&window, e))?;
            buf.data()
                .iter()
                .map(|&v| (!is_nodata(f64::from(v))).then_some(ClassCode::from(v)))
                .collect()
        } else {
            // Int8 and Int32 convert to i32 exactly.
            let buf = band
                .read_as::<i32>(at, size, size, None)
                .map_err(|e| self.read_error(&window, e))?;
            buf.data()
                .iter()
                .map(|&v| (!is_nodata(v as f64)).then_some(v))
                .collect()
        };
        Ok(Block { window, cells })
    }

    /// Reads the cells of `window` of a `Byte` band as a [`ByteBlock`]: the raw bytes are the
    /// indices, the palette maps each of the 256 values through the nodata rule. `None` for
    /// other data types (use [`GdalRaster::read`]).
    pub fn read_bytes(&self, window: Window) -> Result<Option<ByteBlock>, IoError> {
        if self.data_type != GdalDataType::UInt8 {
            return Ok(None);
        }
        let band = self.band_for(&window)?;
        let nodata = self.nodata;
        let mut palette = [None; 256];
        for (v, p) in palette.iter_mut().enumerate() {
            let v = v as u8;
            *p = (!nodata.is_some_and(|nd| f64::from(v) == nd)).then_some(ClassCode::from(v));
        }
        if window.is_empty() {
            return Ok(Some(ByteBlock {
                window,
                palette,
                indices: Vec::new(),
            }));
        }
        let at = (window.col_off as isize, window.row_off as isize);
        let size = (window.cols, window.rows);
        let buf = band
            .read_as::<u8>(at, size, size, None)
            .map_err(|e| self.read_error(&window, e))?;
        let (_, indices) = buf.into_shape_and_vec();
        Ok(Some(ByteBlock {
            window,
            palette,
            indices,
        }))
    }
}

/// The file's block (cols, rows as GDAL gives it) scaled up to at least [`MIN_WINDOW`] cells
/// a side (a whole multiple of the block, so reads never split a file block), capped at the
/// grid. Returned as (rows, cols).
fn scaled_block(file_block: (usize, usize), rows: usize, cols: usize) -> (usize, usize) {
    let (bx, by) = (file_block.0.max(1), file_block.1.max(1));
    let r = by * MIN_WINDOW.div_ceil(by);
    let c = bx * MIN_WINDOW.div_ceil(bx);
    (r.min(rows).max(1), c.min(cols).max(1))
}

impl RasterSource for GdalRaster {
    fn grid(&self) -> &Grid {
        &self.grid
    }

    fn block_size(&self) -> (usize, usize) {
        self.block
    }

    fn read_window(&mut self, window: Window) -> Result<Block, CoreError> {
        self.read(window).map_err(|e| self.core_error(e))
    }

    fn read_window_bytes(&mut self, window: Window) -> Result<Option<ByteBlock>, CoreError> {
        self.read_bytes(window).map_err(|e| self.core_error(e))
    }

    fn try_clone_source(&self) -> Result<Box<dyn RasterSource>, CoreError> {
        GdalRaster::open(&self.path, self.options.clone())
            .map(|r| Box::new(r) as Box<dyn RasterSource>)
            .map_err(|e| self.core_error(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_scaling() {
        // GDAL reports (cols, rows); we return (rows, cols).
        assert_eq!(scaled_block((100, 81), 85, 100), (85, 100));
        assert_eq!(scaled_block((256, 256), 5000, 5000), (256, 256));
        assert_eq!(scaled_block((4200, 1), 5400, 4200), (256, 4200));
        assert_eq!(scaled_block((512, 16), 5400, 4200), (256, 512));
    }
}

#[cfg(test)]
mod cache_tests {
    use super::block_cache_bytes;

    #[test]
    fn block_cache_fits_the_windows_in_flight() {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as i64;
        let (min, max) = (16i64 << 20, 512i64 << 20);
        // Tiled Byte raster (the benchmark's): at least one 512 x 512 window per thread.
        let tiled = block_cache_bytes(35_900, 256, 256, 1);
        assert!((min..=max).contains(&tiled), "{tiled}");
        assert!(tiled >= (threads * 512 * 512).min(max), "{tiled}");
        // Striped (a block = one row): a strip serves every window of its band, so a whole
        // 512-row band of the width must stay cached per thread.
        let striped = block_cache_bytes(35_900, 35_900, 1, 1);
        assert!(striped >= (threads * 512 * 35_900).min(max), "{striped}");
        assert!(striped >= tiled);
        // Int32 strips of a very wide raster: capped.
        assert_eq!(block_cache_bytes(400_000, 400_000, 16, 4), max);
    }
}
