//! Continuous inputs: rasters of quantities (precipitation, actual ET, NPP, elevation, rainfall
//! erosivity, vegetation cover...) read as `f64` by windows, on the land-cover grid.
//!
//! A [`ValueSource`] is to a quantity what a [`RasterSource`](crate::RasterSource) is to land
//! cover: the engine reads it window by window (bounded memory), one reader per worker thread.
//! A cell without data is `None`, never a number: whatever needs the input counts such a cell
//! as "area without data", not as zero. [`ValueGrid`] holds a layer in memory (tests, callers'
//! own arrays, and layers that need the whole raster at once, such as flow accumulation).

use crate::error::CoreError;
use crate::grid::{Grid, Window};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What a continuous layer holds: its name and the unit of its cell values.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LayerInfo {
    /// Short name, unique within a run (`precipitation`, `aet`, `ls`, `rkls`...).
    pub name: String,
    /// Unit of one cell's value (`mm`, `m`, `1`, `t/ha/a`, `MJ·mm/(ha·h·a)`...).
    pub unit: String,
}

impl LayerInfo {
    /// A layer description.
    pub fn new(name: impl Into<String>, unit: impl Into<String>) -> LayerInfo {
        LayerInfo {
            name: name.into(),
            unit: unit.into(),
        }
    }
}

/// How a continuous input is brought onto the land-cover grid (GDAL's warper kernels). Declared
/// per input and recorded in the manifest: averaging suits quantities (precipitation, ET, NPP),
/// bilinear smooth fields (elevation), nearest categories and codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resampling {
    /// The input is already on the land-cover grid: read as is, no warping.
    None,
    /// Nearest neighbour (`"nearest"` or GDAL's `"near"`).
    #[serde(alias = "near")]
    Nearest,
    /// Bilinear interpolation.
    Bilinear,
    /// Cubic convolution.
    Cubic,
    /// Area-weighted average of the source cells (GDAL `average`).
    Average,
}

impl Resampling {
    /// The name used in configs, manifests and GDAL (`-r`), e.g. `"average"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Resampling::None => "none",
            Resampling::Nearest => "near",
            Resampling::Bilinear => "bilinear",
            Resampling::Cubic => "cubic",
            Resampling::Average => "average",
        }
    }
}

/// The values of one window, row-major (`None` = no data).
#[derive(Debug, Clone, PartialEq)]
pub struct ValueBlock {
    /// The window read.
    pub window: Window,
    /// `window.rows × window.cols` values, row-major.
    pub cells: Vec<Option<f64>>,
}

impl ValueBlock {
    /// The value at (`row`, `col`) relative to the window's origin.
    pub fn get(&self, row: usize, col: usize) -> Option<f64> {
        self.cells[row * self.window.cols + col]
    }
}

/// A source of continuous values on a [`Grid`], read by windows.
///
/// Implementations: [`ValueGrid`] here, GDAL-backed (and warped) rasters in `gep-io`, derived
/// layers in `gep-models`, or a caller's own. A source is used from one thread at a time;
/// parallel readers open one per thread ([`ValueSource::try_clone_values`]). Values are in
/// the layer's unit ([`ValueSource::info`]): any scale and offset of the file are applied.
pub trait ValueSource: Send {
    /// The grid the values lie on.
    fn grid(&self) -> &Grid;

    /// The layer's name and unit.
    fn info(&self) -> &LayerInfo;

    /// The preferred window size (rows, cols) for reading.
    fn block_size(&self) -> (usize, usize) {
        (256, 256)
    }

    /// Reads the values of `window`. Every `Some` value is finite.
    fn read_values(&mut self, window: Window) -> Result<ValueBlock, CoreError>;

    /// Opens an independent reader on the same data, for another worker thread.
    fn try_clone_values(&self) -> Result<Box<dyn ValueSource>, CoreError>;
}

/// A continuous layer held in memory.
///
/// ```
/// use gep_core::{CrsInfo, Grid, LayerInfo, ValueGrid, ValueSource, Window};
/// let grid = Grid::new(0.0, 20.0, 10.0, 10.0, 2, 2, CrsInfo::projected("local")).unwrap();
/// let mut p = ValueGrid::from_fn(grid, LayerInfo::new("precipitation", "mm"),
///     |r, c| (r + c > 0).then_some(1000.0 + c as f64));
/// let b = p.read_values(Window::new(0, 0, 2, 2)).unwrap();
/// assert_eq!(b.cells, vec![None, Some(1001.0), Some(1000.0), Some(1001.0)]);
/// ```
#[derive(Debug, Clone)]
pub struct ValueGrid {
    grid: Grid,
    info: LayerInfo,
    cells: Arc<Vec<Option<f64>>>,
    block: (usize, usize),
}

impl ValueGrid {
    /// Wraps row-major `cells` of `grid`. Non-finite values become `None` (no data).
    ///
    /// # Errors
    /// [`CoreError::CellCountMismatch`] when `cells` does not have one value per cell.
    pub fn new(
        grid: Grid,
        info: LayerInfo,
        mut cells: Vec<Option<f64>>,
    ) -> Result<ValueGrid, CoreError> {
        if cells.len() != grid.len() {
            return Err(CoreError::CellCountMismatch {
                got: cells.len(),
                expected: grid.len(),
                rows: grid.rows,
                cols: grid.cols,
            });
        }
        for c in cells.iter_mut() {
            if c.is_some_and(|v| !v.is_finite()) {
                *c = None;
            }
        }
        Ok(ValueGrid {
            grid,
            info,
            cells: Arc::new(cells),
            block: (256, 256),
        })
    }

    /// Builds a layer from a function of the cell position (row, col).
    pub fn from_fn(grid: Grid, info: LayerInfo, f: impl Fn(usize, usize) -> Option<f64>) -> Self {
        let mut cells = Vec::with_capacity(grid.len());
        for r in 0..grid.rows {
            for c in 0..grid.cols {
                cells.push(f(r, c).filter(|v| v.is_finite()));
            }
        }
        ValueGrid {
            grid,
            info,
            cells: Arc::new(cells),
            block: (256, 256),
        }
    }

    /// Reads a whole source into memory, window by window.
    ///
    /// # Errors
    /// The source's read errors.
    pub fn read_all(source: &mut dyn ValueSource) -> Result<ValueGrid, CoreError> {
        let grid = source.grid().clone();
        let info = source.info().clone();
        let (br, bc) = source.block_size();
        let mut cells = vec![None; grid.len()];
        for w in grid.windows(br.max(1), bc.max(1)) {
            let b = source.read_values(w)?;
            for r in 0..w.rows {
                let dst = (w.row_off + r) * grid.cols + w.col_off;
                cells[dst..dst + w.cols].copy_from_slice(&b.cells[r * w.cols..(r + 1) * w.cols]);
            }
        }
        ValueGrid::new(grid, info, cells)
    }

    /// Sets the preferred read window size.
    pub fn with_block_size(mut self, rows: usize, cols: usize) -> Self {
        self.block = (rows.max(1), cols.max(1));
        self
    }

    /// Renames the layer (same values).
    pub fn with_info(mut self, info: LayerInfo) -> Self {
        self.info = info;
        self
    }

    /// The value at (`row`, `col`) of the grid; `None` when there is no data or the cell lies
    /// outside the grid.
    pub fn get(&self, row: usize, col: usize) -> Option<f64> {
        if row >= self.grid.rows || col >= self.grid.cols {
            return None;
        }
        self.cells[row * self.grid.cols + col]
    }

    /// All values, row-major.
    pub fn cells(&self) -> &[Option<f64>] {
        &self.cells
    }

    /// The grid.
    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// The layer's name and unit.
    pub fn info(&self) -> &LayerInfo {
        &self.info
    }
}

impl ValueSource for ValueGrid {
    fn grid(&self) -> &Grid {
        &self.grid
    }

    fn info(&self) -> &LayerInfo {
        &self.info
    }

    fn block_size(&self) -> (usize, usize) {
        self.block
    }

    fn read_values(&mut self, window: Window) -> Result<ValueBlock, CoreError> {
        self.grid.check_window(&window)?;
        let mut cells = Vec::with_capacity(window.len());
        for r in window.row_off..window.row_end() {
            let start = r * self.grid.cols;
            cells.extend_from_slice(&self.cells[start + window.col_off..start + window.col_end()]);
        }
        Ok(ValueBlock { window, cells })
    }

    fn try_clone_values(&self) -> Result<Box<dyn ValueSource>, CoreError> {
        Ok(Box::new(self.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::CrsInfo;

    fn grid() -> Grid {
        Grid::new(0.0, 3.0, 1.0, 1.0, 3, 3, CrsInfo::projected("x")).unwrap()
    }

    #[test]
    fn non_finite_values_are_no_data() {
        let g = ValueGrid::new(
            grid(),
            LayerInfo::new("p", "mm"),
            vec![
                Some(f64::NAN),
                Some(1.0),
                None,
                Some(f64::INFINITY),
                Some(2.0),
                None,
                None,
                None,
                Some(-3.5),
            ],
        )
        .unwrap();
        assert_eq!(g.get(0, 0), None);
        assert_eq!(g.get(0, 1), Some(1.0));
        assert_eq!(g.get(1, 0), None);
        assert_eq!(g.get(2, 2), Some(-3.5));
        assert_eq!(g.get(3, 0), None);
    }

    #[test]
    fn windows_and_read_all_round_trip() {
        let g = ValueGrid::from_fn(grid(), LayerInfo::new("z", "m"), |r, c| {
            (r != c).then_some((r * 3 + c) as f64)
        })
        .with_block_size(2, 2);
        let mut src = g.clone();
        let b = src.read_values(Window::new(1, 1, 2, 2)).unwrap();
        assert_eq!(b.cells, vec![None, Some(5.0), Some(7.0), None]);
        assert_eq!(b.get(0, 1), Some(5.0));
        assert!(src.read_values(Window::new(2, 2, 2, 2)).is_err());
        let all = ValueGrid::read_all(&mut src).unwrap();
        assert_eq!(all.cells(), g.cells());
        assert_eq!(all.info().unit, "m");
    }

    #[test]
    fn rejects_wrong_length() {
        assert!(ValueGrid::new(grid(), LayerInfo::new("p", "mm"), vec![None; 8]).is_err());
    }
}
