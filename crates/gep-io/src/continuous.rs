//! Continuous inputs (precipitation, actual ET, NPP, elevation, rainfall erosivity, NDVI...)
//! brought onto the land-cover grid: [`open_continuous`] turns a [`ContinuousInput`] from the
//! run config into a [`GdalValues`], a [`gep_core::ValueSource`] on exactly the target grid.
//!
//! ```no_run
//! use gep_core::{Resampling, ValueSource};
//! use gep_io::continuous::{open_continuous, ContinuousInput};
//! use gep_io::{GdalRaster, RasterOptions};
//! let land_cover = GdalRaster::open("landcover.tif", RasterOptions::default())?;
//! let mut spec = ContinuousInput::new("precipitation", "precip_2016.tif", "mm");
//! spec.resampling = Some(Resampling::Average);
//! spec.valid_range = Some((50.0, 10_000.0));
//! let mut p = open_continuous(&spec, gep_core::RasterSource::grid(&land_cover), land_cover.crs())?;
//! for note in p.notes() {
//!     eprintln!("warning: {note}");
//! }
//! let block = p.read_values(gep_core::Window::new(0, 0, 1, 1)).unwrap();
//! # Ok::<(), gep_io::IoError>(())
//! ```
//!
//! ## How an input is aligned
//! - **Same grid** ([`gep_core::Grid::same_cells`] with the CRSs compared by `OSRIsSame`:
//!   origin and cell size within 1e-9 of a cell, same rows and columns): the file is read directly, window by window; no resampling is needed
//!   (a declared one is ignored and [`Alignment::resampling`] is [`Resampling::None`]).
//! - **Any other grid**: GDAL's warper builds a warped VRT in `/vsimem/` (`GDALWarp -of VRT
//!   -t_srs <target WKT> -te <target extent> -ts <cols> <rows> -r <resampling> -ot Float64
//!   -dstnodata nan -ovr NONE`) over a first VRT that selects the band and applies the `crs`
//!   and `nodata` overrides (`GDALTranslate -of VRT -b <band> -a_srs -a_nodata`). Nothing is
//!   warped up front: GDAL warps the blocks a window needs when it is read, so memory stays
//!   bounded. Every reader (one per worker, [`ValueSource::try_clone_values`]) opens its own
//!   dataset on the VRT; the `/vsimem/` files are unlinked when the last reader is dropped.
//!   `-ovr NONE` keeps GDAL from averaging an overview instead of the full-resolution cells.
//! - **Averaging ignores nodata**: GDAL's `average` kernel weights only the valid source
//!   cells under a target cell, so a target cell over 3 valid cells and 1 nodata cell gets
//!   the mean of the 3 (tested in `tests/tests/continuous_inputs.rs`). A target cell gets
//!   nodata only when no valid source cell lies under it. NaN cells are no data too, and are
//!   ignored the same way when the file declares no nodata value (NaN then becomes the
//!   warper's source nodata); when it declares one, GDAL's warper (one nodata value per band)
//!   lets a NaN propagate, so a target cell touching a NaN cell has no data: conservative,
//!   never a wrong number.
//!
//! ## Scale and offset
//! The band's own GDAL scale/offset metadata (`GetScale`/`GetOffset`, e.g. an Int16 file
//! storing °C × 100) is applied first, turning stored numbers into the file's physical unit;
//! then the input's `scale` and `offset` turn that into the declared unit:
//! `value = (raw × file_scale + file_offset) × scale + offset`. Both are affine, so applying
//! them after averaging or interpolation gives the same result as before it.
//!
//! ## Checks
//! - **Overlap**: the target extent is transformed into the input's CRS
//!   (`OCTTransformBounds`, 21 points an edge); no overlap with the input's extent is an
//!   error ([`IoError::NoOverlap`]), and PROJ finding no transformation is an error
//!   ([`IoError::InputTransform`]).
//! - **Coverage**: up to 32 × 32 target cell centres, evenly spread, are looked up in the
//!   input; the share that falls outside it or on a nodata cell is
//!   [`Alignment::no_data_share`], and a [`ContinuousNote::PartialCoverage`] when it is
//!   at least [`PARTIAL_COVERAGE_NOTE`].
//! - **Wrong scale** ([`ContinuousInput::valid_range`]): the minimum and maximum of the input
//!   cells under the target extent (plus a 2-cell margin), after scale and offset, must lie
//!   in the range. Exact when that window holds at most [`EXACT_RANGE_CELLS`] cells; beyond,
//!   computed on a regular subsample of about that many cells (nearest-neighbour decimation
//!   by GDAL's `RasterIO`), which can miss isolated extremes ([`RangeCheck::exact`] says
//!   which). [`plausible_range`] gives default sanity bounds for common kinds of input.

use crate::crs::{resolve, Crs};
use crate::error::{short, IoError, OutOfValidRange};
use gdal::raster::GdalDataType;
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use gdal::Dataset;
use gep_core::{CoreError, CrsCheck, Grid, LayerInfo, Resampling, ValueBlock, ValueSource, Window};
use serde::{Deserialize, Serialize};
use std::ffi::{c_char, CString};
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Share of target cells without input data (sampled) from which a
/// [`ContinuousNote::PartialCoverage`] is emitted: 1 %.
pub const PARTIAL_COVERAGE_NOTE: f64 = 0.01;

/// Largest number of input cells whose minimum and maximum are computed exactly for the
/// `valid_range` check (2²⁴ ≈ 16.8 M, e.g. 4096 × 4096); larger windows are subsampled.
pub const EXACT_RANGE_CELLS: u64 = 1 << 24;

/// Side of the lattice of target cell centres sampled for coverage (at most 32 × 32).
const COVERAGE_SAMPLES: usize = 32;

/// One continuous input of a run, as written in the run config.
///
/// ```toml
/// [[inputs]]
/// name = "precipitation"
/// path = "data/precip_2016.tif"
/// unit = "mm"
/// band = 1                      # default 1
/// scale = 1000.0                # default 1 (file in m, declared in mm)
/// offset = 0.0                  # default 0
/// nodata = -9999.0              # default: the file's own
/// resampling = "average"        # none | nearest (near) | bilinear | cubic | average
/// valid_range = [50.0, 10000.0] # optional: fail when values fall outside
/// crs = "EPSG:4326"             # only when the file has no CRS (or a wrong one)
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContinuousInput {
    /// Short name of the layer, unique within a run (`precipitation`, `aet`, `dem`...); it
    /// names the input in every message and in the manifest.
    pub name: String,
    /// The raster file (anything GDAL opens, including `/vsizip/` and `/vsicurl/` paths).
    pub path: PathBuf,
    /// Unit of the values after `scale` and `offset` (`mm`, `m`, `1`, `MJ·mm/(ha·h·a)`...).
    /// Required: a value without a declared unit cannot be checked nor documented.
    pub unit: String,
    /// Band number, from 1 (default 1).
    #[serde(default = "default_band")]
    pub band: usize,
    /// Factor applied to the file's values (after the band's own GDAL scale/offset) to express
    /// them in `unit` (default 1; e.g. 1000 for a file in m declared in mm).
    #[serde(default = "default_scale")]
    pub scale: f64,
    /// Added after `scale` (default 0; e.g. -273.15 for a file in K declared in °C).
    #[serde(default)]
    pub offset: f64,
    /// Nodata value of the file's raw numbers, overriding the band's own (cells equal to it
    /// are "no data"). Non-finite cells are always no data.
    #[serde(default)]
    pub nodata: Option<f64>,
    /// How the input is brought onto the land-cover grid. Required unless the input is on
    /// exactly that grid; `average` for quantities per area (precipitation, ET, NPP),
    /// `bilinear` or `cubic` for smooth fields (elevation), `nearest` for codes.
    #[serde(default)]
    pub resampling: Option<Resampling>,
    /// Sanity bounds `[min, max]` of the values in `unit`: any input cell under the land-cover
    /// grid outside them is an error (a wrong `scale` or `unit` is the usual cause). See
    /// [`plausible_range`] for defaults.
    #[serde(default)]
    pub valid_range: Option<(f64, f64)>,
    /// CRS of the file (`EPSG:4326`, WKT or PROJJSON), overriding the file's own; required
    /// when the file has none.
    #[serde(default)]
    pub crs: Option<String>,
}

fn default_band() -> usize {
    1
}

fn default_scale() -> f64 {
    1.0
}

impl ContinuousInput {
    /// An input with the defaults: band 1, scale 1, offset 0, the file's nodata and CRS, no
    /// resampling declared and no valid range.
    pub fn new(
        name: impl Into<String>,
        path: impl Into<PathBuf>,
        unit: impl Into<String>,
    ) -> ContinuousInput {
        ContinuousInput {
            name: name.into(),
            path: path.into(),
            unit: unit.into(),
            band: 1,
            scale: 1.0,
            offset: 0.0,
            nodata: None,
            resampling: None,
            valid_range: None,
            crs: None,
        }
    }

    /// The layer's name and unit.
    pub fn layer_info(&self) -> LayerInfo {
        LayerInfo::new(&self.name, &self.unit)
    }

    /// Checks the options that do not need the file.
    fn validate(&self) -> Result<(), IoError> {
        let bad = |option: &str, reason: String| {
            self.wrap(IoError::BadOption {
                path: self.path.clone(),
                option: option.to_string(),
                reason,
            })
        };
        if self.name.trim().is_empty() {
            return Err(bad(
                "name",
                "the input has no name: give it one (`name = \"precipitation\"`)".into(),
            ));
        }
        if self.unit.trim().is_empty() {
            return Err(bad(
                "unit",
                "the unit is empty: declare the unit of the values after scale and offset (`unit = \"mm\"`, `unit = \"1\"` for ratios)".into(),
            ));
        }
        if self.band == 0 {
            return Err(bad("band = 0", "bands are numbered from 1".into()));
        }
        if !self.scale.is_finite() || self.scale == 0.0 {
            return Err(bad(
                &format!("scale = {}", self.scale),
                "the scale must be finite and non-zero".into(),
            ));
        }
        if !self.offset.is_finite() {
            return Err(bad(
                &format!("offset = {}", self.offset),
                "the offset must be finite".into(),
            ));
        }
        if let Some((lo, hi)) = self.valid_range {
            if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                return Err(bad(
                    &format!("valid_range = [{lo}, {hi}]"),
                    "give two finite numbers, the smaller first".into(),
                ));
            }
        }
        Ok(())
    }

    /// An error from opening the file, tagged with this input's name.
    fn wrap(&self, source: IoError) -> IoError {
        IoError::Input {
            name: self.name.clone(),
            source: Box::new(source),
        }
    }
}

/// Common kinds of continuous input, for [`plausible_range`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum InputKind {
    /// Annual precipitation, mm/a.
    AnnualPrecipitation,
    /// Annual actual evapotranspiration, mm/a.
    ActualEvapotranspiration,
    /// Elevation, m.
    Elevation,
    /// Normalised difference vegetation index, dimensionless.
    Ndvi,
    /// Fractional vegetation cover, 0-1.
    VegetationCover,
    /// Rainfall erosivity R, MJ·mm/(ha·h·a).
    RainfallErosivity,
    /// Soil erodibility K, t·ha·h/(ha·MJ·mm).
    SoilErodibility,
    /// Net primary production, g C/(m²·a).
    Npp,
    /// RUSLE slope length and steepness factor LS, dimensionless.
    SlopeLength,
}

impl InputKind {
    /// The unit [`plausible_range`] is expressed in.
    pub fn unit(self) -> &'static str {
        match self {
            InputKind::AnnualPrecipitation | InputKind::ActualEvapotranspiration => "mm",
            InputKind::Elevation => "m",
            InputKind::Ndvi | InputKind::VegetationCover | InputKind::SlopeLength => "1",
            InputKind::RainfallErosivity => "MJ·mm/(ha·h·a)",
            InputKind::SoilErodibility => "t·ha·h/(ha·MJ·mm)",
            InputKind::Npp => "g C/(m²·a)",
        }
    }
}

/// Default sanity bounds `(min, max)` of a kind of input, in [`InputKind::unit`].
///
/// These are **sanity bounds, not science**: wide enough for any place on Earth, narrow enough
/// that a file in the wrong unit (m instead of mm, NDVI × 10000, K instead of °C) falls
/// outside. Use them as [`ContinuousInput::valid_range`] when the config gives none.
///
/// | kind | min | max | unit |
/// |---|---|---|---|
/// | annual precipitation | 50 | 10 000 | mm |
/// | actual evapotranspiration | 0 | 3 000 | mm |
/// | elevation | -500 | 9 000 | m |
/// | NDVI | -1 | 1 | 1 |
/// | vegetation cover | 0 | 1 | 1 |
/// | rainfall erosivity R | 0 | 100 000 | MJ·mm/(ha·h·a) |
/// | soil erodibility K | 0 | 1 | t·ha·h/(ha·MJ·mm) |
/// | NPP | 0 | 3 000 | g C/(m²·a) |
/// | LS | 0 | 200 | 1 |
///
/// # Units
/// Those of [`InputKind::unit`].
///
/// ```
/// use gep_io::continuous::{plausible_range, InputKind};
/// assert_eq!(plausible_range(InputKind::Ndvi), (-1.0, 1.0));
/// ```
pub fn plausible_range(kind: InputKind) -> (f64, f64) {
    match kind {
        InputKind::AnnualPrecipitation => (50.0, 10_000.0),
        InputKind::ActualEvapotranspiration => (0.0, 3_000.0),
        InputKind::Elevation => (-500.0, 9_000.0),
        InputKind::Ndvi => (-1.0, 1.0),
        InputKind::VegetationCover => (0.0, 1.0),
        InputKind::RainfallErosivity => (0.0, 100_000.0),
        InputKind::SoilErodibility => (0.0, 1.0),
        InputKind::Npp => (0.0, 3_000.0),
        InputKind::SlopeLength => (0.0, 200.0),
    }
}

/// The minimum and maximum found by the `valid_range` check, in the declared unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RangeCheck {
    /// Smallest value found (after scale and offset).
    pub min: f64,
    /// Largest value found.
    pub max: f64,
    /// True when every input cell under the target extent was read; false when a subsample
    /// was (more than [`EXACT_RANGE_CELLS`] cells).
    pub exact: bool,
    /// Number of input cells read (with data or not).
    pub cells_read: u64,
}

/// How an input was brought onto the land-cover grid, for the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alignment {
    /// The input's name.
    pub input: String,
    /// The file.
    pub path: PathBuf,
    /// The kernel used; [`Resampling::None`] when the file was already on the target grid.
    pub resampling: Resampling,
    /// True when GDAL's warper produced the values, false when the file was read directly.
    pub warped: bool,
    /// The file's own grid (origin, cell size, rows, columns, CRS).
    pub source_grid: Grid,
    /// The file's CRS as a label (`WGS 84 (EPSG:4326)`), the override's when one was given.
    pub source_crs: String,
    /// GDAL's name of the band's data type (`Float32`, `Int16`...).
    pub source_data_type: String,
    /// The nodata value of the raw numbers in use (the override, else the file's).
    pub nodata: Option<f64>,
    /// The band's own GDAL scale metadata, applied first, when the file has one.
    pub file_scale: Option<f64>,
    /// The band's own GDAL offset metadata, applied first, when the file has one.
    pub file_offset: Option<f64>,
    /// The input's `scale`.
    pub scale: f64,
    /// The input's `offset`.
    pub offset: f64,
    /// Share of sampled target cells (cell centres) outside the input or on its nodata.
    pub no_data_share: f64,
    /// Number of target cell centres sampled for [`Alignment::no_data_share`].
    pub coverage_samples: usize,
    /// What the `valid_range` check found, when the input has a valid range.
    pub range: Option<RangeCheck>,
}

/// Something about an input worth telling the user that does not stop the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ContinuousNote {
    /// Part of the land-cover grid has no data in this input: those cells count as "area
    /// without data" for whatever needs the input.
    PartialCoverage {
        /// The input's name.
        input: String,
        /// The file.
        path: PathBuf,
        /// Share of sampled target cells without data, 0-1.
        no_data_share: f64,
        /// Number of cells sampled.
        samples: usize,
    },
}

impl fmt::Display for ContinuousNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContinuousNote::PartialCoverage {
                input,
                path,
                no_data_share,
                samples,
            } => write!(
                f,
                "input {input:?} ({}): about {:.1} % of the land-cover grid has no data in it ({samples} cells sampled); those cells count as area without data: use a file that covers the whole study area if that is not intended",
                path.display(),
                no_data_share * 100.0
            ),
        }
    }
}

/// `/vsimem/` files that live as long as a reader may need them.
#[derive(Debug)]
struct VsimemFiles(Vec<String>);

impl Drop for VsimemFiles {
    fn drop(&mut self) {
        for f in &self.0 {
            if let Ok(c) = CString::new(f.as_str()) {
                // SAFETY: `c` is a valid NUL-terminated path; VSIUnlink is thread-safe and
                // returns an error code (ignored: nothing to do if it is already gone).
                unsafe { gdal_sys::VSIUnlink(c.as_ptr()) };
            }
        }
    }
}

/// What every reader of one input shares.
#[derive(Debug)]
struct Shared {
    spec: ContinuousInput,
    info: LayerInfo,
    grid: Grid,
    /// What each reader opens: the file, or the warped VRT in `/vsimem/`.
    open_path: PathBuf,
    /// Band of `open_path`.
    band: usize,
    /// Raw nodata to match (direct reads only; warped VRTs give NaN for no data).
    nodata: Option<f64>,
    /// Compare nodata as `f32` (Float32 bands: the nodata is stored as a double).
    nodata_f32: bool,
    file_scale: f64,
    file_offset: f64,
    block: (usize, usize),
    alignment: Alignment,
    notes: Vec<ContinuousNote>,
    /// Declared last so that it is dropped after everything else of the last reader.
    _vsimem: Option<VsimemFiles>,
}

/// A continuous input on the land-cover grid, read by windows (see the [module docs](self)).
///
/// A GDAL `Dataset` is `Send` but not `Sync`: each worker opens its own reader with
/// [`ValueSource::try_clone_values`].
#[derive(Debug)]
pub struct GdalValues {
    // Field order matters: the dataset is closed before the shared state (and with it, for
    // the last reader, the `/vsimem/` files) is dropped.
    dataset: Dataset,
    shared: Arc<Shared>,
}

impl GdalValues {
    /// How the input was aligned to the target grid.
    pub fn alignment(&self) -> &Alignment {
        &self.shared.alignment
    }

    /// Warnings found while opening (partial coverage).
    pub fn notes(&self) -> &[ContinuousNote] {
        &self.shared.notes
    }

    /// The input's specification.
    pub fn spec(&self) -> &ContinuousInput {
        &self.shared.spec
    }

    /// Reads the values of `window` of the target grid, in the declared unit.
    pub fn read(&self, window: Window) -> Result<ValueBlock, IoError> {
        let s = &*self.shared;
        s.grid
            .check_window(&window)
            .map_err(|e| s.spec.wrap(IoError::core(&s.spec.path, e)))?;
        if window.is_empty() {
            return Ok(ValueBlock {
                window,
                cells: Vec::new(),
            });
        }
        let _quiet = QuietGdal::new();
        let fail = |action: String, e: gdal::errors::GdalError| IoError::Input {
            name: s.spec.name.clone(),
            source: Box::new(IoError::gdal(&s.spec.path, action, e)),
        };
        let band = self
            .dataset
            .rasterband(s.band)
            .map_err(|e| fail(format!("read band {}", s.band), e))?;
        let at = (window.col_off as isize, window.row_off as isize);
        let size = (window.cols, window.rows);
        let buf = band.read_as::<f64>(at, size, size, None).map_err(|e| {
            fail(
                format!(
                    "read rows {}..{}, cols {}..{}{}",
                    window.row_off,
                    window.row_end(),
                    window.col_off,
                    window.col_end(),
                    if s.alignment.warped {
                        " (warped onto the land-cover grid)"
                    } else {
                        ""
                    }
                ),
                e,
            )
        })?;
        let cells: Vec<Option<f64>> = buf.data().iter().map(|&raw| s.value(raw)).collect();
        if let (Some((lo, hi)), false) = (s.spec.valid_range, s.alignment.warped) {
            if let Some(i) = cells
                .iter()
                .position(|v| v.is_some_and(|v| v < lo || v > hi))
            {
                return Err(s.out_of_range_in(window, &cells, i, lo, hi));
            }
        }
        Ok(ValueBlock { window, cells })
    }
}

impl Shared {
    /// A raw number as a value in the declared unit; `None` for nodata and non-finite.
    /// The error for a value outside `valid_range` found at `cells[i]` of `window`, with the
    /// window's range and the likely fix.
    fn out_of_range_in(
        &self,
        window: Window,
        cells: &[Option<f64>],
        i: usize,
        lo: f64,
        hi: f64,
    ) -> IoError {
        let (min, max) = cells
            .iter()
            .flatten()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let (row, col) = (
            window.row_off + i / window.cols,
            window.col_off + i % window.cols,
        );
        IoError::OutOfValidRange(Box::new(OutOfValidRange {
            name: self.spec.name.clone(),
            path: self.spec.path.clone(),
            unit: self.spec.unit.clone(),
            min,
            max,
            valid_min: lo,
            valid_max: hi,
            detail: format!(
                "found in rows {}..{}, cols {}..{} of the land-cover grid (first at row {row}, col {col}: {}); {}",
                window.row_off,
                window.row_end(),
                window.col_off,
                window.col_end(),
                cells[i].unwrap_or(f64::NAN),
                scale_hint(
                    &self.spec,
                    (
                        self.alignment.nodata,
                        self.alignment.file_scale,
                        self.alignment.file_offset
                    ),
                    min,
                    max,
                    lo,
                    hi
                )
            ),
        }))
    }

    fn value(&self, raw: f64) -> Option<f64> {
        if is_nodata(raw, self.nodata, self.nodata_f32) {
            return None;
        }
        let v = (raw * self.file_scale + self.file_offset) * self.spec.scale + self.spec.offset;
        v.is_finite().then_some(v)
    }

    /// An [`IoError`] as the core's error (its message already names the input and file).
    fn core_error(&self, e: IoError) -> CoreError {
        CoreError::SourceRead {
            source_name: format!("input {:?} ({})", self.spec.name, self.spec.path.display()),
            message: e.to_string(),
        }
    }
}

/// Whether a raw number is no data: non-finite, or the nodata value (compared as `f32` for
/// Float32 bands, whose nodata GDAL keeps as a double).
fn is_nodata(raw: f64, nodata: Option<f64>, as_f32: bool) -> bool {
    if !raw.is_finite() {
        return true;
    }
    match nodata {
        Some(nd) if as_f32 => raw as f32 == nd as f32,
        Some(nd) => raw == nd,
        None => false,
    }
}

impl ValueSource for GdalValues {
    fn grid(&self) -> &Grid {
        &self.shared.grid
    }

    fn info(&self) -> &LayerInfo {
        &self.shared.info
    }

    fn block_size(&self) -> (usize, usize) {
        self.shared.block
    }

    fn read_values(&mut self, window: Window) -> Result<ValueBlock, CoreError> {
        self.read(window).map_err(|e| self.shared.core_error(e))
    }

    fn try_clone_values(&self) -> Result<Box<dyn ValueSource>, CoreError> {
        let s = &self.shared;
        let _quiet = QuietGdal::new();
        let dataset = Dataset::open(&s.open_path).map_err(|e| {
            s.core_error(s.spec.wrap(IoError::gdal(
                &s.spec.path,
                format!("open another reader on {}", s.open_path.display()),
                e,
            )))
        })?;
        Ok(Box::new(GdalValues {
            dataset,
            shared: Arc::clone(s),
        }))
    }
}

/// Silences GDAL's default stderr handler on this thread while alive (libraries never print);
/// the last error message stays available through `CPLGetLastErrorMsg`.
struct QuietGdal(std::marker::PhantomData<*const ()>);

impl QuietGdal {
    fn new() -> QuietGdal {
        // SAFETY: pushes a handler on this thread's GDAL handler stack; popped in Drop on the
        // same thread (the raw-pointer marker keeps QuietGdal from being sent elsewhere).
        unsafe { gdal_sys::CPLPushErrorHandler(Some(gdal_sys::CPLQuietErrorHandler)) };
        QuietGdal(std::marker::PhantomData)
    }
}

impl Drop for QuietGdal {
    fn drop(&mut self) {
        // SAFETY: pops the handler pushed in `new`, on the same thread.
        unsafe { gdal_sys::CPLPopErrorHandler() };
    }
}

/// GDAL's last error message on this thread.
fn last_gdal_message() -> String {
    // SAFETY: CPLGetLastErrorMsg returns a valid NUL-terminated thread-local string (never
    // null), copied before any other GDAL call.
    let msg = unsafe { std::ffi::CStr::from_ptr(gdal_sys::CPLGetLastErrorMsg()) };
    let m = msg.to_string_lossy().trim().to_string();
    if m.is_empty() {
        "GDAL gave no reason".into()
    } else {
        m
    }
}

/// A unique `/vsimem/` path for one of this input's VRTs.
fn vsimem_path(name: &str, what: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let safe: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(40)
        .collect();
    format!(
        "/vsimem/gep-continuous/{}-{n}-{safe}-{what}.vrt",
        std::process::id()
    )
}

/// A summary of a grid for messages: `rows x cols cells of w x h from (left, top), CRS`.
fn grid_summary(g: &Grid, crs: &str) -> String {
    format!(
        "{} x {} cells (rows x cols) of {} x {} from ({}, {}) in {crs}",
        g.rows, g.cols, g.cell_width, g.cell_height, g.left, g.top
    )
}

/// `args` as the NULL-terminated argv GDAL's utility functions take (the CStrings own the
/// text the pointers point at).
fn c_args(args: &[String]) -> Result<(Vec<CString>, Vec<*mut c_char>), String> {
    let owned = args
        .iter()
        .map(|a| CString::new(a.as_str()).map_err(|_| format!("argument {a:?} holds a NUL byte")))
        .collect::<Result<Vec<_>, _>>()?;
    let ptrs = owned
        .iter()
        .map(|c| c.as_ptr() as *mut c_char)
        .chain(std::iter::once(std::ptr::null_mut()))
        .collect();
    Ok((owned, ptrs))
}

/// `gdal_translate -of VRT args src dest`, written and closed.
fn translate_vrt(src: &Dataset, dest: &str, args: &[String]) -> Result<(), String> {
    let (_owned, mut ptrs) = c_args(args)?;
    let dest_c = CString::new(dest).map_err(|e| e.to_string())?;
    // SAFETY: `ptrs` is a NULL-terminated argv of strings owned by `_owned`, alive for the
    // call; the options are freed below. `src` is a live dataset; the returned handle is
    // closed here (which writes the VRT).
    unsafe {
        let opts = gdal_sys::GDALTranslateOptionsNew(ptrs.as_mut_ptr(), std::ptr::null_mut());
        if opts.is_null() {
            return Err(format!(
                "bad gdal_translate options: {}",
                last_gdal_message()
            ));
        }
        let mut usage = 0;
        let out = gdal_sys::GDALTranslate(dest_c.as_ptr(), src.c_dataset(), opts, &mut usage);
        gdal_sys::GDALTranslateOptionsFree(opts);
        if out.is_null() {
            return Err(last_gdal_message());
        }
        gdal_sys::GDALClose(out);
    }
    Ok(())
}

/// `gdalwarp args src dest`, written and closed.
fn warp_vrt(src: &Dataset, dest: &str, args: &[String]) -> Result<(), String> {
    let (_owned, mut ptrs) = c_args(args)?;
    let dest_c = CString::new(dest).map_err(|e| e.to_string())?;
    // SAFETY: as in `translate_vrt`; `srcs` holds one live dataset handle for the call.
    unsafe {
        let opts = gdal_sys::GDALWarpAppOptionsNew(ptrs.as_mut_ptr(), std::ptr::null_mut());
        if opts.is_null() {
            return Err(format!("bad gdalwarp options: {}", last_gdal_message()));
        }
        let mut srcs = [src.c_dataset()];
        let mut usage = 0;
        let out = gdal_sys::GDALWarp(
            dest_c.as_ptr(),
            std::ptr::null_mut(),
            1,
            srcs.as_mut_ptr(),
            opts,
            &mut usage,
        );
        gdal_sys::GDALWarpAppOptionsFree(opts);
        if out.is_null() {
            return Err(last_gdal_message());
        }
        gdal_sys::GDALClose(out);
    }
    Ok(())
}

/// A number as GDAL's argument parser reads it back exactly.
fn num(v: f64) -> String {
    format!("{v:?}")
}

/// The file's band, opened and described.
struct Source {
    dataset: Dataset,
    grid: Grid,
    crs: Crs,
    srs: SpatialRef,
    data_type: GdalDataType,
    nodata: Option<f64>,
    file_scale: Option<f64>,
    file_offset: Option<f64>,
    block: (usize, usize),
}

fn open_source(spec: &ContinuousInput) -> Result<Source, IoError> {
    let path = spec.path.as_path();
    let dataset = Dataset::open(path).map_err(|e| IoError::gdal(path, "open raster", e))?;
    let count = dataset.raster_count();
    if spec.band > count {
        return Err(IoError::NoSuchBand {
            path: path.to_path_buf(),
            band: spec.band,
            count,
        });
    }
    let band = dataset
        .rasterband(spec.band)
        .map_err(|e| IoError::gdal(path, format!("read band {}", spec.band), e))?;
    let data_type = band.band_type();
    let numeric = data_type.is_integer() || data_type.is_floating();
    if !numeric {
        return Err(IoError::NotNumericRaster {
            name: spec.name.clone(),
            path: path.to_path_buf(),
            band: spec.band,
            data_type: data_type.name(),
        });
    }
    let nodata = spec.nodata.or_else(|| band.no_data_value());
    let file_scale = band.scale().filter(|s| *s != 1.0);
    let file_offset = band.offset().filter(|o| *o != 0.0);
    let (bx, by) = band.block_size();
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
    if gt[1] <= 0.0 || gt[5] >= 0.0 {
        return Err(bad_gt(
            "the pixel width must be positive and the pixel height negative (north-up)",
        ));
    }
    let crs = resolve(path, dataset.spatial_ref().ok(), spec.crs.as_deref())?;
    let mut srs = SpatialRef::from_wkt(&crs.wkt)
        .map_err(|e| IoError::gdal(path, "parse the CRS's WKT", e))?;
    srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let (cols, rows) = dataset.raster_size();
    let grid = Grid::new(gt[0], gt[3], gt[1], -gt[5], rows, cols, crs.info.clone())
        .map_err(|source| IoError::core(path, source))?;
    Ok(Source {
        dataset,
        grid,
        crs,
        srs,
        data_type,
        nodata,
        file_scale,
        file_offset,
        block: (by, bx),
    })
}

/// Opens a continuous input on the land-cover grid `target` (in `target_crs`, e.g.
/// [`crate::GdalRaster::crs`]): see the [module docs](self) for how it is aligned and checked.
///
/// # Units
/// Values are in `spec.unit`: the file's numbers × its GDAL scale + offset, then × `spec.scale`
/// + `spec.offset`.
///
/// # Errors
/// Every error names the input and its file: a bad option, a file GDAL cannot open, a missing
/// band or CRS ([`IoError::Input`]), a non-numeric band ([`IoError::NotNumericRaster`]), a
/// different grid without a declared resampling ([`IoError::ResamplingRequired`]), no
/// transformation between the CRSs ([`IoError::InputTransform`]), no overlap with the
/// land-cover grid ([`IoError::NoOverlap`]), a failed warp ([`IoError::Warp`]), values outside
/// `valid_range` ([`IoError::OutOfValidRange`]).
pub fn open_continuous(
    spec: &ContinuousInput,
    target: &Grid,
    target_crs: &Crs,
) -> Result<GdalValues, IoError> {
    spec.validate()?;
    let _quiet = QuietGdal::new();
    let src = open_source(spec).map_err(|e| match e {
        e @ IoError::NotNumericRaster { .. } => e,
        e => spec.wrap(e),
    })?;
    let mut target_srs = SpatialRef::from_wkt(&target_crs.wkt)
        .map_err(|e| spec.wrap(IoError::gdal(&spec.path, "parse the land-cover CRS", e)))?;
    target_srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let same_crs = src.srs == target_srs;
    // The land-cover grid is the reference; the CRSs were compared in full (OSRIsSame).
    let identical = target
        .same_cells(&src.grid, CrsCheck::Known { same: same_crs })
        .is_ok();

    // Target → source transformation (None when the CRSs are the same).
    let to_source = if same_crs {
        None
    } else {
        Some(
            CoordTransform::new(&target_srs, &src.srs).map_err(|e| IoError::InputTransform {
                name: spec.name.clone(),
                path: spec.path.clone(),
                direction: format!(
                    "from the land-cover CRS {} to the input's CRS {}",
                    target_crs.label(),
                    src.crs.label()
                ),
                message: e.to_string(),
            })?,
        )
    };
    let target_bounds = [target.left, target.bottom(), target.right(), target.top];
    let in_source = match &to_source {
        None => target_bounds,
        Some(t) => t
            .transform_bounds(&target_bounds, 21)
            .map_err(|e| IoError::InputTransform {
                name: spec.name.clone(),
                path: spec.path.clone(),
                direction: format!(
                    "from the land-cover CRS {} to the input's CRS {}",
                    target_crs.label(),
                    src.crs.label()
                ),
                message: e.to_string(),
            })?,
    };
    let window = source_window(&src.grid, &in_source, 2).ok_or_else(|| IoError::NoOverlap {
        name: spec.name.clone(),
        path: spec.path.clone(),
        input_extent: format!(
            "x {}..{}, y {}..{} in {}",
            src.grid.left,
            src.grid.right(),
            src.grid.bottom(),
            src.grid.top,
            src.crs.label()
        ),
        target_extent: format!(
            "x {}..{}, y {}..{} in {} (x {:.6}..{:.6}, y {:.6}..{:.6} in the input's CRS)",
            target.left,
            target.right(),
            target.bottom(),
            target.top,
            target_crs.label(),
            in_source[0],
            in_source[2],
            in_source[1],
            in_source[3]
        ),
    })?;

    // After the overlap check: a file elsewhere is a wrong file (or CRS), whatever the
    // resampling.
    let resampling = if identical {
        Resampling::None
    } else {
        match spec.resampling {
            Some(r) if r != Resampling::None => r,
            _ => {
                return Err(IoError::ResamplingRequired {
                    name: spec.name.clone(),
                    path: spec.path.clone(),
                    input_grid: grid_summary(&src.grid, &src.crs.label()),
                    target_grid: grid_summary(target, &target_crs.label()),
                })
            }
        }
    };

    let nodata_f32 = src.data_type == GdalDataType::Float32;
    let fs = src.file_scale.unwrap_or(1.0);
    let fo = src.file_offset.unwrap_or(0.0);
    let to_value = |raw: f64| -> Option<f64> {
        if is_nodata(raw, src.nodata, nodata_f32) {
            return None;
        }
        let v = (raw * fs + fo) * spec.scale + spec.offset;
        v.is_finite().then_some(v)
    };

    // Wrong-scale guard. On the land-cover grid itself every value is read by the tally
    // anyway: the range is checked on each window as it is read (two comparisons per cell)
    // instead of a pass over the whole file here; warped inputs (usually coarse) are checked
    // now, on their own cells.
    let range = match spec.valid_range {
        None => None,
        Some(_) if identical => None,
        Some((lo, hi)) => {
            let found = value_range(spec, &src, window, &to_value)?;
            if let Some(r) = found {
                if r.min < lo || r.max > hi {
                    return Err(IoError::OutOfValidRange(Box::new(OutOfValidRange {
                        name: spec.name.clone(),
                        path: spec.path.clone(),
                        unit: spec.unit.clone(),
                        min: r.min,
                        max: r.max,
                        valid_min: lo,
                        valid_max: hi,
                        detail: format!(
                            "found over {} {} input cells under the land-cover grid; {}",
                            if r.exact { "all" } else { "a subsample of" },
                            r.cells_read,
                            scale_hint(
                                spec,
                                (src.nodata, src.file_scale, src.file_offset),
                                r.min,
                                r.max,
                                lo,
                                hi
                            )
                        ),
                    })));
                }
            }
            found
        }
    };

    // Coverage, sampled at target cell centres (warped inputs; on the land-cover grid, the
    // tally measures the area without data exactly, zone by zone).
    let (no_data_share, samples) = if identical {
        (0.0, 0)
    } else {
        coverage(spec, &src, target, to_source.as_ref(), &to_value)?
    };
    let mut notes = Vec::new();
    if no_data_share >= PARTIAL_COVERAGE_NOTE {
        notes.push(ContinuousNote::PartialCoverage {
            input: spec.name.clone(),
            path: spec.path.clone(),
            no_data_share,
            samples,
        });
    }

    let alignment = Alignment {
        input: spec.name.clone(),
        path: spec.path.clone(),
        resampling,
        warped: !identical,
        source_grid: src.grid.clone(),
        source_crs: src.crs.label(),
        source_data_type: src.data_type.name(),
        nodata: src.nodata,
        file_scale: src.file_scale,
        file_offset: src.file_offset,
        scale: spec.scale,
        offset: spec.offset,
        no_data_share,
        coverage_samples: samples,
        range,
    };

    let (dataset, open_path, band, nodata, block, vsimem) = if identical {
        let Source {
            dataset,
            nodata,
            block,
            ..
        } = src;
        (
            dataset,
            spec.path.clone(),
            spec.band,
            nodata,
            scaled_block(block, target.rows, target.cols),
            None,
        )
    } else {
        let (ds, files) = warp(spec, &src, target, target_crs, resampling)?;
        let vrt = PathBuf::from(&files.0[1]);
        let b = ds
            .rasterband(1)
            .map(|b| b.block_size())
            .map_err(|e| spec.wrap(IoError::gdal(&spec.path, "read the warped VRT", e)))?;
        (
            ds,
            vrt,
            1,
            None,
            scaled_block((b.1, b.0), target.rows, target.cols),
            Some(files),
        )
    };
    Ok(GdalValues {
        dataset,
        shared: Arc::new(Shared {
            spec: spec.clone(),
            info: spec.layer_info(),
            grid: target.clone(),
            open_path,
            band,
            nodata,
            nodata_f32: nodata_f32 && !alignment.warped,
            file_scale: fs,
            file_offset: fo,
            block,
            alignment,
            notes,
            _vsimem: vsimem,
        }),
    })
}

/// Builds the band-selecting VRT and the warped VRT in `/vsimem/`, and opens the latter.
fn warp(
    spec: &ContinuousInput,
    src: &Source,
    target: &Grid,
    target_crs: &Crs,
    resampling: Resampling,
) -> Result<(Dataset, VsimemFiles), IoError> {
    let warp_err = |message: String| IoError::Warp {
        name: spec.name.clone(),
        path: spec.path.clone(),
        message,
    };
    let src_vrt = vsimem_path(&spec.name, "source");
    let warped_vrt = vsimem_path(&spec.name, "warped");
    // Owns both paths from here on: unlinked on every error path below too.
    let files = VsimemFiles(vec![src_vrt.clone(), warped_vrt.clone()]);
    let mut args: Vec<String> = vec![
        "-of".into(),
        "VRT".into(),
        "-b".into(),
        spec.band.to_string(),
    ];
    if spec.crs.is_some() {
        args.extend(["-a_srs".into(), src.crs.wkt.clone()]);
    }
    if let Some(nd) = spec.nodata {
        args.extend(["-a_nodata".into(), num(nd)]);
    } else if src.nodata.is_none() && src.data_type.is_floating() {
        // The warper honours one nodata value per band and otherwise lets NaN propagate
        // through its kernels: with no declared nodata, NaN is it.
        args.extend(["-a_nodata".into(), "nan".into()]);
    }
    translate_vrt(&src.dataset, &src_vrt, &args)
        .map_err(|m| warp_err(format!("cannot select the band: {m}")))?;
    let src_ds = Dataset::open(&src_vrt)
        .map_err(|e| warp_err(format!("cannot open the band VRT {src_vrt}: {e}")))?;
    let args: Vec<String> = vec![
        "-of".into(),
        "VRT".into(),
        "-t_srs".into(),
        target_crs.wkt.clone(),
        "-te".into(),
        num(target.left),
        num(target.bottom()),
        num(target.right()),
        num(target.top),
        "-ts".into(),
        target.cols.to_string(),
        target.rows.to_string(),
        "-r".into(),
        resampling.as_str().into(),
        "-ot".into(),
        "Float64".into(),
        "-wt".into(),
        "Float64".into(),
        "-dstnodata".into(),
        "nan".into(),
        "-ovr".into(),
        "NONE".into(),
    ];
    warp_vrt(&src_ds, &warped_vrt, &args).map_err(warp_err)?;
    drop(src_ds);
    let ds = Dataset::open(&warped_vrt)
        .map_err(|e| warp_err(format!("cannot open the warped VRT {warped_vrt}: {e}")))?;
    Ok((ds, files))
}

/// The window of `grid` covering `bounds` (`[xmin, ymin, xmax, ymax]` in its CRS) grown by
/// `margin` cells, clipped to the grid; `None` when they do not overlap.
fn source_window(grid: &Grid, bounds: &[f64; 4], margin: i64) -> Option<Window> {
    let [xmin, ymin, xmax, ymax] = *bounds;
    if !(xmin < grid.right() && xmax > grid.left && ymin < grid.top && ymax > grid.bottom()) {
        return None;
    }
    let c0 = ((xmin - grid.left) / grid.cell_width).floor() as i64 - margin;
    let c1 = ((xmax - grid.left) / grid.cell_width).ceil() as i64 + margin;
    let r0 = ((grid.top - ymax) / grid.cell_height).floor() as i64 - margin;
    let r1 = ((grid.top - ymin) / grid.cell_height).ceil() as i64 + margin;
    let clamp = |v: i64, n: usize| v.clamp(0, n as i64) as usize;
    let (c0, c1) = (clamp(c0, grid.cols), clamp(c1, grid.cols));
    let (r0, r1) = (clamp(r0, grid.rows), clamp(r1, grid.rows));
    (c1 > c0 && r1 > r0).then(|| Window::new(r0, c0, r1 - r0, c1 - c0))
}

/// Minimum and maximum value of the input cells of `window` (see [`EXACT_RANGE_CELLS`]);
/// `None` when none has data.
fn value_range(
    spec: &ContinuousInput,
    src: &Source,
    window: Window,
    to_value: &dyn Fn(f64) -> Option<f64>,
) -> Result<Option<RangeCheck>, IoError> {
    let band = src.dataset.rasterband(spec.band).map_err(|e| {
        spec.wrap(IoError::gdal(
            &spec.path,
            format!("read band {}", spec.band),
            e,
        ))
    })?;
    let cells = window.len() as u64;
    // Decimation factor: 1 (exact) up to EXACT_RANGE_CELLS, else every f-th row and column.
    let f = if cells <= EXACT_RANGE_CELLS {
        1
    } else {
        ((cells as f64 / EXACT_RANGE_CELLS as f64).sqrt().ceil() as usize).max(2)
    };
    let out_cols = window.cols.div_ceil(f);
    // Strips of whole rows, about 1 M output cells each.
    let strip_rows = ((1usize << 20) / out_cols.max(1)).max(1);
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut read = 0u64;
    let mut row = 0;
    while row < window.rows {
        let src_rows = (strip_rows * f).min(window.rows - row);
        let out_rows = src_rows.div_ceil(f);
        let buf = band
            .read_as::<f64>(
                (window.col_off as isize, (window.row_off + row) as isize),
                (window.cols, src_rows),
                (out_cols, out_rows),
                None,
            )
            .map_err(|e| {
                spec.wrap(IoError::gdal(
                    &spec.path,
                    format!(
                        "read rows {}..{} for the valid_range check",
                        window.row_off + row,
                        window.row_off + row + src_rows
                    ),
                    e,
                ))
            })?;
        read += buf.data().len() as u64;
        for &raw in buf.data() {
            if let Some(v) = to_value(raw) {
                min = min.min(v);
                max = max.max(v);
            }
        }
        row += src_rows;
    }
    Ok((min <= max).then_some(RangeCheck {
        min,
        max,
        exact: f == 1,
        cells_read: read,
    }))
}

/// Share of sampled target cell centres without data in the input, and the sample count.
fn coverage(
    spec: &ContinuousInput,
    src: &Source,
    target: &Grid,
    to_source: Option<&CoordTransform>,
    to_value: &dyn Fn(f64) -> Option<f64>,
) -> Result<(f64, usize), IoError> {
    let band = src.dataset.rasterband(spec.band).map_err(|e| {
        spec.wrap(IoError::gdal(
            &spec.path,
            format!("read band {}", spec.band),
            e,
        ))
    })?;
    let nr = target.rows.min(COVERAGE_SAMPLES);
    let nc = target.cols.min(COVERAGE_SAMPLES);
    let mut missing = 0usize;
    for i in 0..nr {
        let r = (2 * i + 1) * target.rows / (2 * nr);
        for j in 0..nc {
            let c = (2 * j + 1) * target.cols / (2 * nc);
            let mut x = [target.left + (c as f64 + 0.5) * target.cell_width];
            let mut y = [target.top - (r as f64 + 0.5) * target.cell_height];
            if let Some(t) = to_source {
                if t.transform_coords(&mut x, &mut y, &mut []).is_err() {
                    missing += 1;
                    continue;
                }
            }
            let g = &src.grid;
            let sc = ((x[0] - g.left) / g.cell_width).floor();
            let sr = ((g.top - y[0]) / g.cell_height).floor();
            if !(sc >= 0.0 && sr >= 0.0 && sc < g.cols as f64 && sr < g.rows as f64) {
                missing += 1;
                continue;
            }
            let buf = band
                .read_as::<f64>((sc as isize, sr as isize), (1, 1), (1, 1), None)
                .map_err(|e| {
                    spec.wrap(IoError::gdal(
                        &spec.path,
                        format!("read cell row {sr}, col {sc}"),
                        e,
                    ))
                })?;
            if to_value(buf.data()[0]).is_none() {
                missing += 1;
            }
        }
    }
    let n = nr * nc;
    Ok((missing as f64 / n as f64, n))
}

/// The likely fix for values outside the valid range.
fn scale_hint(
    spec: &ContinuousInput,
    file: (Option<f64>, Option<f64>, Option<f64>),
    min: f64,
    max: f64,
    lo: f64,
    hi: f64,
) -> String {
    let (file_nodata, file_scale, file_offset) = file;
    let fits = |f: f64| min * f >= lo && max * f <= hi;
    // A large negative minimum with the rest in range: an undeclared nodata value.
    if min < lo && max <= hi && min <= -999.0 && file_nodata.is_none_or(|nd| nd != min) {
        let raw = ((min - spec.offset) / spec.scale - file_offset.unwrap_or(0.0))
            / file_scale.unwrap_or(1.0);
        return format!(
            "the minimum {} looks like a nodata value the file does not declare: set nodata = {}",
            short(min),
            short(raw)
        );
    }
    for f in [1000.0, 0.001, 100.0, 0.01, 10.0, 0.1, 10_000.0, 0.0001] {
        if fits(f) {
            let new = spec.scale * f;
            let unit = spec.unit.as_str();
            // A declared scale is what is off, not the file's unit.
            let guess = match (unit, f) {
                _ if spec.scale != 1.0 => {
                    format!(
                        " scale = {} looks off by × {}?",
                        short(spec.scale),
                        short(f)
                    )
                }
                ("mm", 1000.0) => " is the file in m?".to_string(),
                ("mm", 10.0) => " is the file in cm?".to_string(),
                ("mm", 0.1) => " is the file in 0.1 mm (a common integer encoding)?".to_string(),
                ("m", 0.001) => " is the file in mm?".to_string(),
                ("m", 0.01) => " is the file in cm?".to_string(),
                (_, f) if f < 1.0 => format!(" is it stored × {}?", short(1.0 / f)),
                (_, f) => format!(" is it in a unit {} times larger than {unit}?", short(f)),
            };
            return format!(
                "{} declared in {unit} but values are {}..{}:{guess} set scale = {}",
                spec.name,
                short(min),
                short(max),
                short(new)
            );
        }
    }
    format!(
        "check the file's unit against unit = {:?}, its scale (now {}) and offset (now {}), its nodata value, or widen valid_range if the values are right",
        spec.unit, spec.scale, spec.offset
    )
}

/// The file's block (rows, cols) scaled up to at least 256 cells a side (whole blocks),
/// capped at the target grid.
fn scaled_block(file_block: (usize, usize), rows: usize, cols: usize) -> (usize, usize) {
    let (br, bc) = (file_block.0.max(1), file_block.1.max(1));
    let r = br * 256usize.div_ceil(br);
    let c = bc * 256usize.div_ceil(bc);
    (r.min(rows).max(1), c.min(cols).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gep_core::CrsInfo;

    #[test]
    fn source_window_clips_and_grows() {
        let g = Grid::new(0.0, 100.0, 10.0, 10.0, 10, 10, CrsInfo::projected("x")).unwrap();
        assert_eq!(
            source_window(&g, &[15.0, 35.0, 45.0, 85.0], 0),
            Some(Window::new(1, 1, 6, 4))
        );
        assert_eq!(
            source_window(&g, &[15.0, 35.0, 45.0, 85.0], 2),
            Some(Window::new(0, 0, 9, 7))
        );
        assert_eq!(source_window(&g, &[100.0, 0.0, 200.0, 100.0], 2), None);
    }

    #[test]
    fn spec_defaults_from_toml() {
        let s: ContinuousInput = toml::from_str(
            "name = \"p\"\npath = \"p.tif\"\nunit = \"mm\"\nresampling = \"average\"\nvalid_range = [50, 10000]\n",
        )
        .unwrap();
        assert_eq!(s.band, 1);
        assert_eq!(s.scale, 1.0);
        assert_eq!(s.offset, 0.0);
        assert_eq!(s.resampling, Some(Resampling::Average));
        assert_eq!(s.valid_range, Some((50.0, 10_000.0)));
    }

    /// `gep-engine` wraps `IoError` in its own error: at 120 bytes (the niche of one
    /// 5-String variant) `Result<_, EngineError>` stays within clippy's `result_large_err`.
    #[test]
    fn io_error_stays_small() {
        assert!(std::mem::size_of::<IoError>() <= 120);
    }

    #[test]
    fn plausible_ranges_are_ordered() {
        use InputKind::*;
        for k in [
            AnnualPrecipitation,
            ActualEvapotranspiration,
            Elevation,
            Ndvi,
            VegetationCover,
            RainfallErosivity,
            SoilErodibility,
            Npp,
            SlopeLength,
        ] {
            let (lo, hi) = plausible_range(k);
            assert!(lo < hi, "{k:?}");
            assert!(!k.unit().is_empty());
        }
    }
}
