//! The [`RasterSource`] trait through which any land-cover data reaches the engine,
//! and [`MemRaster`], its in-memory implementation.

use crate::error::CoreError;
use crate::grid::{Grid, Window};

/// A land-cover class code as stored in the raster (CLCD 1..9, WorldCover 10..100, ...).
pub type ClassCode = i32;

/// Cells of one window, row-major; `None` is nodata.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// Where the block lies in the grid.
    pub window: Window,
    /// `window.rows * window.cols` cells, row by row.
    pub cells: Vec<Option<ClassCode>>,
}

impl Block {
    /// The cell at `row`, `col` relative to the block's window.
    pub fn get(&self, row: usize, col: usize) -> Option<ClassCode> {
        self.cells[row * self.window.cols + col]
    }
}

/// Cells of one window as one byte each: an index into a 256-entry palette of class codes
/// (`None` = nodata). A compact form of [`Block`] for sources with at most 256 distinct
/// values per window (GDAL `Byte` bands: the index is the raw byte).
///
/// Any byte is a valid index; entries no cell uses are ignored. Entries need not be distinct.
#[derive(Debug, Clone, PartialEq)]
pub struct ByteBlock {
    /// Where the block lies in the grid.
    pub window: Window,
    /// The value of each index.
    pub palette: [Option<ClassCode>; 256],
    /// `window.rows * window.cols` indices into `palette`, row by row.
    pub indices: Vec<u8>,
}

impl ByteBlock {
    /// The cell at `row`, `col` relative to the block's window.
    pub fn get(&self, row: usize, col: usize) -> Option<ClassCode> {
        self.palette[usize::from(self.indices[row * self.window.cols + col])]
    }

    /// The same cells as a [`Block`].
    pub fn to_block(&self) -> Block {
        Block {
            window: self.window,
            cells: self
                .indices
                .iter()
                .map(|&i| self.palette[usize::from(i)])
                .collect(),
        }
    }

    /// `block` in byte form, or `None` when it holds more than 256 distinct values.
    pub fn from_block(block: &Block) -> Option<ByteBlock> {
        let mut palette = [None; 256];
        let mut used = 0usize;
        let mut indices = Vec::with_capacity(block.cells.len());
        let mut last: Option<(Option<ClassCode>, u8)> = None;
        for &cell in &block.cells {
            let i = match last {
                Some((v, i)) if v == cell => i,
                _ => {
                    let i = match palette[..used].iter().position(|&p| p == cell) {
                        Some(i) => i,
                        None if used < 256 => {
                            palette[used] = cell;
                            used += 1;
                            used - 1
                        }
                        None => return None,
                    } as u8;
                    last = Some((cell, i));
                    i
                }
            };
            indices.push(i);
        }
        Some(ByteBlock {
            window: block.window,
            palette,
            indices,
        })
    }
}

/// A source of land-cover cells on a [`Grid`], read by windows.
///
/// Implementations: [`MemRaster`] here, a GDAL-backed raster in `gep-io`, or a caller's own.
/// A source is used from one thread at a time; parallel readers open one source per thread
/// (see [`RasterSource::try_clone_source`]).
pub trait RasterSource: Send {
    /// The grid the cells lie on.
    fn grid(&self) -> &Grid;

    /// The preferred window size (rows, cols) for reading: the file's block size or a multiple.
    fn block_size(&self) -> (usize, usize) {
        (256, 256)
    }

    /// Reads the cells of `window`.
    fn read_window(&mut self, window: Window) -> Result<Block, CoreError>;

    /// Reads the cells of `window` as a [`ByteBlock`] when the source can do so cheaply
    /// (e.g. a GDAL `Byte` band), `None` when callers should use
    /// [`RasterSource::read_window`] instead. The cells must equal those of `read_window`.
    /// The default returns `None`.
    fn read_window_bytes(&mut self, window: Window) -> Result<Option<ByteBlock>, CoreError> {
        let _ = window;
        Ok(None)
    }

    /// Opens an independent reader on the same data, for another worker thread.
    fn try_clone_source(&self) -> Result<Box<dyn RasterSource>, CoreError>;
}

/// A raster held in memory.
#[derive(Debug, Clone)]
pub struct MemRaster {
    grid: Grid,
    cells: std::sync::Arc<Vec<Option<ClassCode>>>,
    block: (usize, usize),
}

impl MemRaster {
    /// Wraps row-major `cells` of `grid` (`None` = nodata).
    pub fn new(grid: Grid, cells: Vec<Option<ClassCode>>) -> Result<MemRaster, CoreError> {
        if cells.len() != grid.len() {
            return Err(CoreError::CellCountMismatch {
                got: cells.len(),
                expected: grid.len(),
                rows: grid.rows,
                cols: grid.cols,
            });
        }
        Ok(MemRaster {
            grid,
            cells: std::sync::Arc::new(cells),
            block: (256, 256),
        })
    }

    /// Builds a raster from a function of the cell position.
    pub fn from_fn(grid: Grid, f: impl Fn(usize, usize) -> Option<ClassCode>) -> MemRaster {
        let mut cells = Vec::with_capacity(grid.len());
        for r in 0..grid.rows {
            for c in 0..grid.cols {
                cells.push(f(r, c));
            }
        }
        MemRaster {
            grid,
            cells: std::sync::Arc::new(cells),
            block: (256, 256),
        }
    }

    /// Sets the preferred read window size.
    pub fn with_block_size(mut self, rows: usize, cols: usize) -> Self {
        self.block = (rows.max(1), cols.max(1));
        self
    }
}

impl RasterSource for MemRaster {
    fn grid(&self) -> &Grid {
        &self.grid
    }

    fn block_size(&self) -> (usize, usize) {
        self.block
    }

    fn read_window(&mut self, window: Window) -> Result<Block, CoreError> {
        self.grid.check_window(&window)?;
        let mut cells = Vec::with_capacity(window.len());
        for r in window.row_off..window.row_end() {
            let start = r * self.grid.cols;
            cells.extend_from_slice(&self.cells[start + window.col_off..start + window.col_end()]);
        }
        Ok(Block { window, cells })
    }

    /// A palette built per window; `None` when the window holds more than 256 distinct values.
    fn read_window_bytes(&mut self, window: Window) -> Result<Option<ByteBlock>, CoreError> {
        let block = self.read_window(window)?;
        Ok(ByteBlock::from_block(&block))
    }

    fn try_clone_source(&self) -> Result<Box<dyn RasterSource>, CoreError> {
        Ok(Box::new(self.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::CrsInfo;

    #[test]
    fn reads_windows() {
        let g = Grid::new(0.0, 3.0, 1.0, 1.0, 3, 3, CrsInfo::projected("x")).unwrap();
        let mut r = MemRaster::from_fn(g, |r, c| {
            if r == c {
                None
            } else {
                Some((r * 3 + c) as i32)
            }
        });
        let b = r.read_window(Window::new(1, 1, 2, 2)).unwrap();
        assert_eq!(b.cells, vec![None, Some(5), Some(7), None]);
        assert_eq!(b.get(0, 1), Some(5));
        assert!(r.read_window(Window::new(2, 2, 2, 2)).is_err());
    }

    #[test]
    fn byte_blocks() {
        let g = Grid::new(0.0, 3.0, 1.0, 1.0, 3, 3, CrsInfo::projected("x")).unwrap();
        let mut r = MemRaster::from_fn(g, |r, c| (r != c).then_some((r * 300 + c) as i32));
        let w = Window::new(0, 0, 3, 3);
        let b = r.read_window(w).unwrap();
        let bb = r.read_window_bytes(w).unwrap().unwrap();
        assert_eq!(bb.to_block(), b);
        assert_eq!(bb.get(1, 2), Some(302));
        assert_eq!(bb.get(1, 1), None);
        let many = Block {
            window: Window::new(0, 0, 1, 257),
            cells: (0..257).map(Some).collect(),
        };
        assert!(ByteBlock::from_block(&many).is_none());
        let few = Block {
            window: Window::new(0, 0, 1, 256),
            cells: (0..256).map(Some).collect(),
        };
        assert_eq!(ByteBlock::from_block(&few).unwrap().to_block(), few);
    }

    #[test]
    fn rejects_wrong_length() {
        let g = Grid::new(0.0, 3.0, 1.0, 1.0, 3, 3, CrsInfo::projected("x")).unwrap();
        assert!(MemRaster::new(g, vec![Some(1); 8]).is_err());
    }
}
