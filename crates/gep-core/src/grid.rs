//! Named raster geometry: [`Grid`], [`Window`], [`RowCol`] and the CRS facts the engine needs.

use crate::ellipsoid::Ellipsoid;
use crate::error::CoreError;
use crate::units::SquareMeters;
use serde::{Deserialize, Serialize};

/// Whether coordinates are planar metres or geographic degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum CrsKind {
    /// Projected CRS with linear units of metres: cell areas are planar.
    Projected,
    /// Geographic CRS in degrees on the given ellipsoid: cell areas are ellipsoidal, by row.
    Geographic(Ellipsoid),
}

/// What the engine knows of a grid's coordinate reference system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrsInfo {
    /// A human-readable identifier (e.g. `EPSG:4549`) or the WKT when there is no code.
    pub description: String,
    /// Planar or geographic.
    pub kind: CrsKind,
}

impl CrsInfo {
    /// A projected CRS in metres.
    pub fn projected(description: impl Into<String>) -> Self {
        CrsInfo {
            description: description.into(),
            kind: CrsKind::Projected,
        }
    }

    /// A geographic CRS in degrees on `ellipsoid`.
    pub fn geographic(description: impl Into<String>, ellipsoid: Ellipsoid) -> Self {
        CrsInfo {
            description: description.into(),
            kind: CrsKind::Geographic(ellipsoid),
        }
    }

    /// Which area basis cells of this CRS use.
    pub fn area_basis(&self) -> AreaBasis {
        match self.kind {
            CrsKind::Projected => AreaBasis::Planar,
            CrsKind::Geographic(_) => AreaBasis::Ellipsoidal,
        }
    }
}

/// How cell areas are computed, recorded in outputs so that readers know the basis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AreaBasis {
    /// Planar area in the projected CRS (a conformal projection such as EPSG:4549
    /// overstates true areas slightly, up to ~0.07 % in the 26 counties).
    Planar,
    /// Exact area on the ellipsoid of each cell row.
    Ellipsoidal,
}

impl AreaBasis {
    /// Short name used in output files.
    pub fn as_str(self) -> &'static str {
        match self {
            AreaBasis::Planar => "planar",
            AreaBasis::Ellipsoidal => "ellipsoidal",
        }
    }
}

/// A cell address: row counted down from the top, column counted right from the left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RowCol {
    /// Row index, 0 at the top (north).
    pub row: usize,
    /// Column index, 0 at the left (west).
    pub col: usize,
}

/// A rectangular block of cells of a grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Window {
    /// First row.
    pub row_off: usize,
    /// First column.
    pub col_off: usize,
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
}

impl Window {
    /// A window from its first cell and size.
    pub fn new(row_off: usize, col_off: usize, rows: usize, cols: usize) -> Self {
        Window {
            row_off,
            col_off,
            rows,
            cols,
        }
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.rows * self.cols
    }

    /// True when the window holds no cell.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One past the last row.
    pub fn row_end(&self) -> usize {
        self.row_off + self.rows
    }

    /// One past the last column.
    pub fn col_end(&self) -> usize {
        self.col_off + self.cols
    }

    /// The intersection with another window, if they share cells.
    pub fn intersection(&self, other: &Window) -> Option<Window> {
        let r0 = self.row_off.max(other.row_off);
        let c0 = self.col_off.max(other.col_off);
        let r1 = self.row_end().min(other.row_end());
        let c1 = self.col_end().min(other.col_end());
        (r0 < r1 && c0 < c1).then(|| Window::new(r0, c0, r1 - r0, c1 - c0))
    }
}

/// A north-up raster grid: origin at the top-left corner, square or rectangular cells.
///
/// Rotated geotransforms are not representable on purpose: readers must reject them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// X coordinate of the left edge of column 0.
    pub left: f64,
    /// Y coordinate of the top edge of row 0.
    pub top: f64,
    /// Cell width in CRS units (positive).
    pub cell_width: f64,
    /// Cell height in CRS units (positive; rows go south).
    pub cell_height: f64,
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// The grid's CRS.
    pub crs: CrsInfo,
}

impl Grid {
    /// Builds a grid, checking that sizes are finite and positive.
    pub fn new(
        left: f64,
        top: f64,
        cell_width: f64,
        cell_height: f64,
        rows: usize,
        cols: usize,
        crs: CrsInfo,
    ) -> Result<Grid, CoreError> {
        if !(left.is_finite() && top.is_finite()) {
            return Err(CoreError::InvalidGrid {
                reason: format!("origin ({left}, {top}) is not finite"),
            });
        }
        if !(cell_width.is_finite()
            && cell_width > 0.0
            && cell_height.is_finite()
            && cell_height > 0.0)
        {
            return Err(CoreError::InvalidGrid {
                reason: format!(
                    "cell size {cell_width} x {cell_height} must be finite and positive (north-up grids only)"
                ),
            });
        }
        if rows == 0 || cols == 0 {
            return Err(CoreError::InvalidGrid {
                reason: format!("grid has {rows} rows and {cols} columns"),
            });
        }
        if let CrsKind::Geographic(_) = crs.kind {
            let bottom = top - cell_height * rows as f64;
            if top > 90.0 + 1e-9 || bottom < -90.0 - 1e-9 {
                return Err(CoreError::InvalidGrid {
                    reason: format!("geographic grid spans latitudes {bottom}..{top}, beyond ±90°"),
                });
            }
        }
        Ok(Grid {
            left,
            top,
            cell_width,
            cell_height,
            rows,
            cols,
            crs,
        })
    }

    /// The whole grid as a window.
    pub fn full_window(&self) -> Window {
        Window::new(0, 0, self.rows, self.cols)
    }

    /// X coordinate of the right edge of the last column.
    pub fn right(&self) -> f64 {
        self.left + self.cell_width * self.cols as f64
    }

    /// Y coordinate of the bottom edge of the last row.
    pub fn bottom(&self) -> f64 {
        self.top - self.cell_height * self.rows as f64
    }

    /// Y coordinate of the top edge of `row` (rows may lie beyond the grid).
    pub fn row_top(&self, row: i64) -> f64 {
        self.top - self.cell_height * row as f64
    }

    /// X coordinate of the left edge of `col` (columns may lie beyond the grid).
    pub fn col_left(&self, col: i64) -> f64 {
        self.left + self.cell_width * col as f64
    }

    /// Total number of cells.
    pub fn len(&self) -> usize {
        self.rows * self.cols
    }

    /// Never true for a valid grid; provided for API symmetry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks that `w` lies inside the grid.
    pub fn check_window(&self, w: &Window) -> Result<(), CoreError> {
        if w.row_end() > self.rows || w.col_end() > self.cols {
            return Err(CoreError::WindowOutOfGrid {
                row_off: w.row_off,
                row_end: w.row_end(),
                col_off: w.col_off,
                col_end: w.col_end(),
                rows: self.rows,
                cols: self.cols,
            });
        }
        Ok(())
    }

    /// Area of one cell in `row`. Rows beyond the grid are allowed (used for the
    /// parts of zones that fall outside the raster).
    ///
    /// # Units
    /// m². Planar for a projected grid; for a geographic grid, the exact area on the
    /// ellipsoid of the quadrangle between the row's two parallels and one cell width.
    pub fn cell_area_m2(&self, row: i64) -> SquareMeters {
        match self.crs.kind {
            CrsKind::Projected => SquareMeters(self.cell_width * self.cell_height),
            CrsKind::Geographic(e) => {
                let north = self.row_top(row).clamp(-90.0, 90.0);
                let south = self.row_top(row + 1).clamp(-90.0, 90.0);
                e.quadrangle_area(south, north, self.cell_width)
            }
        }
    }

    /// Cell areas of rows `row_off..row_off + n`, one per row.
    ///
    /// # Units
    /// m², as [`Grid::cell_area_m2`].
    pub fn row_areas_m2(&self, row_off: i64, n: usize) -> Vec<f64> {
        (0..n as i64)
            .map(|i| self.cell_area_m2(row_off + i).0)
            .collect()
    }

    /// The area basis used for this grid's cells.
    pub fn area_basis(&self) -> AreaBasis {
        self.crs.area_basis()
    }

    /// Splits the grid into windows of at most `block_rows` × `block_cols` cells, row-major.
    pub fn windows(&self, block_rows: usize, block_cols: usize) -> Vec<Window> {
        let br = block_rows.max(1);
        let bc = block_cols.max(1);
        let mut out = Vec::new();
        let mut r = 0;
        while r < self.rows {
            let nr = br.min(self.rows - r);
            let mut c = 0;
            while c < self.cols {
                let nc = bc.min(self.cols - c);
                out.push(Window::new(r, c, nr, nc));
                c += nc;
            }
            r += nr;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Grid {
        Grid::new(0.0, 3.0, 1.0, 1.0, 3, 3, CrsInfo::projected("local")).unwrap()
    }

    #[test]
    fn windows_tile_the_grid() {
        let g = Grid::new(0.0, 100.0, 1.0, 1.0, 10, 7, CrsInfo::projected("x")).unwrap();
        let ws = g.windows(4, 3);
        assert_eq!(ws.iter().map(|w| w.len()).sum::<usize>(), 70);
        assert_eq!(ws.len(), 3 * 3);
        assert_eq!(ws.last().unwrap(), &Window::new(8, 6, 2, 1));
    }

    #[test]
    fn rejects_bad_cells() {
        assert!(Grid::new(0.0, 0.0, -1.0, 1.0, 1, 1, CrsInfo::projected("x")).is_err());
        assert!(Grid::new(0.0, 0.0, 1.0, f64::NAN, 1, 1, CrsInfo::projected("x")).is_err());
        assert!(Grid::new(0.0, 0.0, 1.0, 1.0, 0, 1, CrsInfo::projected("x")).is_err());
    }

    #[test]
    fn window_checks() {
        let g = grid();
        assert!(g.check_window(&Window::new(1, 1, 2, 2)).is_ok());
        assert!(g.check_window(&Window::new(2, 0, 2, 1)).is_err());
        assert_eq!(
            Window::new(0, 0, 2, 2).intersection(&Window::new(1, 1, 5, 5)),
            Some(Window::new(1, 1, 1, 1))
        );
        assert_eq!(
            Window::new(0, 0, 1, 1).intersection(&Window::new(1, 1, 1, 1)),
            None
        );
    }

    #[test]
    fn planar_cell_area() {
        let g = Grid::new(0.0, 0.0, 30.0, 20.0, 1, 1, CrsInfo::projected("x")).unwrap();
        assert_eq!(g.cell_area_m2(0), SquareMeters(600.0));
        assert_eq!(g.area_basis(), AreaBasis::Planar);
    }
}
