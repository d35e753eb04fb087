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

    /// Whether `self` and `other` are provably different CRSs from what a `CrsInfo` holds:
    /// different kinds (projected / geographic), different ellipsoids, or two different
    /// `EPSG:<code>` identifiers. Two descriptions that are not both EPSG codes (a name, a
    /// WKT) prove nothing — the same CRS can be written both ways — so they do not differ
    /// here; compare full definitions where they are known (gep-io, with PROJ/GDAL's
    /// `OSRIsSame`) and pass the answer as [`CrsCheck::Known`].
    ///
    /// ```
    /// use gep_core::CrsInfo;
    /// let a = CrsInfo::projected("EPSG:4549");
    /// assert!(a.differs_from(&CrsInfo::projected("EPSG:4527")));
    /// assert!(!a.differs_from(&CrsInfo::projected("EPSG:4549")));
    /// assert!(!a.differs_from(&CrsInfo::projected("CGCS2000 / 3-degree Gauss-Kruger CM 120E")));
    /// ```
    pub fn differs_from(&self, other: &CrsInfo) -> bool {
        let epsg = |d: &str| {
            d.trim()
                .strip_prefix("EPSG:")
                .and_then(|c| c.trim().parse::<u32>().ok())
        };
        if self.kind != other.kind {
            return true;
        }
        match (epsg(&self.description), epsg(&other.description)) {
            (Some(a), Some(b)) => a != b,
            _ => false,
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

/// The tolerance of [`Grid::same_cells`], as a fraction of a cell of the reference grid:
/// origins and cell sizes closer than this are the same (1e-9 of a 30 m cell is 30 nm, far
/// below any survey's precision, far above f64 noise in coordinates of 1e7 m).
pub const SAME_CELLS_TOLERANCE: f64 = 1e-9;

/// How [`Grid::same_cells`] compares the CRSs of two grids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrsCheck {
    /// From the grids' [`CrsInfo`] alone ([`CrsInfo::differs_from`]): catches a different
    /// kind, ellipsoid or EPSG code; pure Rust, for callers that hold only grids.
    Info,
    /// The caller compared the full CRS definitions (gep-io, with PROJ/GDAL's `OSRIsSame`):
    /// `same` is the answer.
    Known {
        /// Whether the two CRSs are the same.
        same: bool,
    },
}

/// Why two grids do not have the same cells ([`Grid::same_cells`]), checked in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellsMismatch {
    /// Different numbers of rows or columns.
    Size,
    /// Cell width or height differs by more than [`SAME_CELLS_TOLERANCE`] of a cell.
    CellSize,
    /// The top-left corner differs by more than [`SAME_CELLS_TOLERANCE`] of a cell.
    Origin,
    /// Different CRSs.
    Crs,
}

impl std::fmt::Display for CellsMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CellsMismatch::Size => "different numbers of rows or columns",
            CellsMismatch::CellSize => "different cell sizes",
            CellsMismatch::Origin => "different origins (top-left corners)",
            CellsMismatch::Crs => "different CRSs",
        })
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

    /// Whether `other` lies on exactly `self`'s cells, the one test of "the same grid" in the
    /// workspace: the same numbers of rows and columns, cell width and height and the
    /// top-left corner each within [`SAME_CELLS_TOLERANCE`] of a cell of `self` (the
    /// reference grid), and the same CRS as `crs` says. (Within the tolerance, the far corner
    /// of a grid of n cells a side moves by at most (1 + n) × 1e-9 of a cell.)
    ///
    /// ```
    /// use gep_core::grid::{CellsMismatch, CrsCheck};
    /// use gep_core::{CrsInfo, Grid};
    /// let a = Grid::new(0.0, 300.0, 30.0, 30.0, 10, 10, CrsInfo::projected("EPSG:4549")).unwrap();
    /// let b = Grid { left: 1e-9, ..a.clone() };
    /// assert_eq!(a.same_cells(&b, CrsCheck::Info), Ok(()));
    /// let c = Grid { left: 1e-6, ..a.clone() };
    /// assert_eq!(a.same_cells(&c, CrsCheck::Info), Err(CellsMismatch::Origin));
    /// ```
    ///
    /// # Errors
    /// The first difference found, in the order of [`CellsMismatch`]'s variants.
    pub fn same_cells(&self, other: &Grid, crs: CrsCheck) -> Result<(), CellsMismatch> {
        let close = |a: f64, b: f64, cell: f64| (a - b).abs() <= SAME_CELLS_TOLERANCE * cell;
        if self.rows != other.rows || self.cols != other.cols {
            return Err(CellsMismatch::Size);
        }
        if !close(self.cell_width, other.cell_width, self.cell_width)
            || !close(self.cell_height, other.cell_height, self.cell_height)
        {
            return Err(CellsMismatch::CellSize);
        }
        if !close(self.left, other.left, self.cell_width)
            || !close(self.top, other.top, self.cell_height)
        {
            return Err(CellsMismatch::Origin);
        }
        let same_crs = match crs {
            CrsCheck::Info => !self.crs.differs_from(&other.crs),
            CrsCheck::Known { same } => same,
        };
        if !same_crs {
            return Err(CellsMismatch::Crs);
        }
        Ok(())
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

    fn cells(left: f64, top: f64, size: f64, rows: usize, cols: usize, crs: CrsInfo) -> Grid {
        Grid::new(left, top, size, size, rows, cols, crs).unwrap()
    }

    #[test]
    fn same_cells_within_and_beyond_the_tolerance() {
        // Coordinates of a real county raster: 30 m cells, EPSG:4549 metres.
        let crs = CrsInfo::projected("EPSG:4549");
        let a = cells(40_480_000.0, 3_300_000.0, 30.0, 200, 300, crs.clone());
        assert_eq!(a.same_cells(&a.clone(), CrsCheck::Info), Ok(()));
        // 1e-9 of a 30 m cell is 3e-8 m: half of it passes, twice it fails.
        let tol = SAME_CELLS_TOLERANCE * 30.0;
        for (d, ok) in [(0.5 * tol, true), (2.0 * tol, false)] {
            let shifted = |g: Grid| a.same_cells(&g, CrsCheck::Info);
            let want = |m| if ok { Ok(()) } else { Err(m) };
            assert_eq!(
                shifted(Grid {
                    left: a.left + d,
                    ..a.clone()
                }),
                want(CellsMismatch::Origin)
            );
            assert_eq!(
                shifted(Grid {
                    top: a.top - d,
                    ..a.clone()
                }),
                want(CellsMismatch::Origin)
            );
            assert_eq!(
                shifted(Grid {
                    cell_width: 30.0 + d,
                    ..a.clone()
                }),
                want(CellsMismatch::CellSize)
            );
            assert_eq!(
                shifted(Grid {
                    cell_height: 30.0 - d,
                    ..a.clone()
                }),
                want(CellsMismatch::CellSize)
            );
        }
        // A whole cell off: not the same cells.
        let b = cells(40_480_030.0, 3_300_000.0, 30.0, 200, 300, crs.clone());
        assert_eq!(a.same_cells(&b, CrsCheck::Info), Err(CellsMismatch::Origin));
        // Size is checked first.
        let c = cells(40_480_000.0, 3_300_000.0, 30.0, 201, 300, crs.clone());
        assert_eq!(a.same_cells(&c, CrsCheck::Info), Err(CellsMismatch::Size));
        let d = cells(40_480_000.0, 3_300_000.0, 30.0, 200, 299, crs);
        assert_eq!(a.same_cells(&d, CrsCheck::Info), Err(CellsMismatch::Size));
        // The tolerance scales with the cell: 5e-9 m passes for 30 m cells, not for 1 m ones.
        let near = Grid {
            left: a.left + 5e-9,
            ..a.clone()
        };
        assert_eq!(a.same_cells(&near, CrsCheck::Info), Ok(()));
        let fine = cells(0.0, 10.0, 1.0, 10, 10, CrsInfo::projected("x"));
        let off = Grid {
            left: 5e-9,
            ..fine.clone()
        };
        assert_eq!(
            fine.same_cells(&off, CrsCheck::Info),
            Err(CellsMismatch::Origin)
        );
    }

    #[test]
    fn same_cells_compares_crs() {
        let a = cells(0.0, 300.0, 30.0, 10, 10, CrsInfo::projected("EPSG:4549"));
        let other = |crs: CrsInfo| Grid { crs, ..a.clone() };
        // A different EPSG code.
        assert_eq!(
            a.same_cells(&other(CrsInfo::projected("EPSG:4527")), CrsCheck::Info),
            Err(CellsMismatch::Crs)
        );
        // Geographic against projected; geographic on two ellipsoids.
        let geo = |e| CrsInfo::geographic("g", e);
        assert_eq!(
            a.same_cells(&other(geo(crate::Ellipsoid::CGCS2000)), CrsCheck::Info),
            Err(CellsMismatch::Crs)
        );
        let g = other(geo(crate::Ellipsoid::CGCS2000));
        assert_eq!(
            g.same_cells(
                &Grid {
                    crs: geo(crate::Ellipsoid::WGS84),
                    ..g.clone()
                },
                CrsCheck::Info
            ),
            Err(CellsMismatch::Crs)
        );
        // A name cannot be told from an EPSG code without PROJ: not a difference here.
        assert_eq!(
            a.same_cells(
                &other(CrsInfo::projected(
                    "CGCS2000 / 3-degree Gauss-Kruger CM 120E"
                )),
                CrsCheck::Info
            ),
            Ok(())
        );
        // The caller's full comparison decides when given.
        assert_eq!(
            a.same_cells(&a.clone(), CrsCheck::Known { same: false }),
            Err(CellsMismatch::Crs)
        );
        assert_eq!(
            a.same_cells(
                &other(CrsInfo::projected("EPSG:4527")),
                CrsCheck::Known { same: true }
            ),
            Ok(())
        );
        // Geometry is checked before the CRS.
        let b = Grid {
            rows: 11,
            crs: CrsInfo::projected("EPSG:4527"),
            ..a.clone()
        };
        assert_eq!(a.same_cells(&b, CrsCheck::Info), Err(CellsMismatch::Size));
    }
}
