//! Percent slope by Horn's (1981) 3 × 3 finite differences, with pygeoprocessing's fallbacks at
//! edges and beside no-data cells.

use super::{check_projected, from_nan_vec};
use crate::error::ModelError;
use gep_core::{LayerInfo, ValueGrid};
use std::f64::consts::SQRT_2;

/// Percent slope (rise / run × 100) of a DEM, by Horn's 3 × 3 weights.
///
/// With the neighbourhood of cell `e` named
///
/// ```text
/// a b c
/// d e f
/// g h i
/// ```
///
/// the gradients are Horn's (1981, "Hill shading and the reflectance map", Proc. IEEE 69(1),
/// eq. for the Sobel-weighted differences):
/// `dz/dx = ((a + 2d + g) − (c + 2f + i)) / (8 Δx)`, `dz/dy = ((a + 2b + c) − (g + 2h + i)) / (8 Δy)`
/// and `slope = 100 √((dz/dx)² + (dz/dy)²)`. This is exactly what `pygeoprocessing.calculate_slope`
/// (2.4.11, `geoprocessing_core.pyx`) computes, which InVEST's SDR uses for its LS factor: its
/// docstring cites Zevenbergen & Thorne (1987) but its weights are Horn's.
///
/// Edges and no data (cells outside the grid count as no data), as pygeoprocessing does: each
/// gradient is a sum of three row (or column) differences with weights 1, 2, 1. For the outer
/// differences (`a − c` and `g − i` in x): both ends valid → the difference, weight 2; else the
/// half difference to the middle cell of the same row (`a − b`, `b − c`), weight 1; else the
/// diagonal end against `e` scaled by √2 (`(a − e)·√2`), weight 1. For the middle difference
/// (`d − f`): both valid → `2(d − f)`, weight 4; else `2(d − e)` or `2(e − f)`, weight 2. The sum is
/// divided by the total weight × cell size (0 when no neighbour is valid: an isolated cell has
/// slope 0). A no-data cell has no slope.
///
/// Values are rounded to `f32`, as pygeoprocessing stores them (its slope raster is Float32), so
/// that LS computed from this slope matches InVEST's to the last bit of its input.
///
/// # Units
/// Percent (100 = 45°); the DEM's elevations must be in the grid's horizontal unit (metres).
///
/// # Errors
/// [`ModelError::GeographicGrid`] for a grid in degrees.
///
/// ```
/// use gep_core::{CrsInfo, Grid, LayerInfo, ValueGrid};
/// // z = 3x + 4y (x east, y north) on 1 m cells: gradient 5 → 500 %.
/// let g = Grid::new(0.0, 3.0, 1.0, 1.0, 3, 3, CrsInfo::projected("local")).unwrap();
/// let dem = ValueGrid::from_fn(g, LayerInfo::new("dem", "m"),
///     |r, c| Some(3.0 * c as f64 + 4.0 * (2 - r) as f64));
/// let s = gep_models::terrain::slope_percent(&dem).unwrap();
/// assert_eq!(s.get(1, 1), Some(500.0));
/// assert_eq!(s.info().unit, "%");
/// ```
pub fn slope_percent(dem: &ValueGrid) -> Result<ValueGrid, ModelError> {
    check_projected(dem)?;
    let g = dem.grid();
    let z = super::to_nan_vec(dem);
    let s = slope_percent_raw(g.rows, g.cols, g.cell_width, g.cell_height, &z);
    from_nan_vec(g, LayerInfo::new("slope", "%"), s)
}

/// The slope of a dense DEM (NaN = no data), NaN where the DEM has none.
pub(crate) fn slope_percent_raw(
    rows: usize,
    cols: usize,
    cell_x: f64,
    cell_y: f64,
    z: &[f64],
) -> Vec<f64> {
    let at = |r: isize, c: isize| -> f64 {
        if r < 0 || c < 0 || r as usize >= rows || c as usize >= cols {
            f64::NAN
        } else {
            z[r as usize * cols + c as usize]
        }
    };
    let mut out = vec![f64::NAN; rows * cols];
    for row in 0..rows {
        for col in 0..cols {
            let e = z[row * cols + col];
            if e.is_nan() {
                continue;
            }
            let (r, c) = (row as isize, col as isize);
            let a = at(r - 1, c - 1);
            let b = at(r - 1, c);
            let cc = at(r - 1, c + 1);
            let d = at(r, c - 1);
            let f = at(r, c + 1);
            let gg = at(r + 1, c - 1);
            let h = at(r + 1, c);
            let i = at(r + 1, c + 1);
            // x: rows a-b-c, d-e-f, g-h-i; y: columns a-d-g, b-e-h, c-f-i.
            let (mut dx, mut wx) = (0.0, 0);
            outer(&mut dx, &mut wx, a, b, cc, e);
            middle(&mut dx, &mut wx, d, f, e);
            outer(&mut dx, &mut wx, gg, h, i, e);
            let (mut dy, mut wy) = (0.0, 0);
            outer(&mut dy, &mut wy, a, d, gg, e);
            middle(&mut dy, &mut wy, b, h, e);
            outer(&mut dy, &mut wy, cc, f, i, e);
            let dzdx = if wx != 0 {
                dx / (f64::from(wx) * cell_x)
            } else {
                0.0
            };
            let dzdy = if wy != 0 {
                dy / (f64::from(wy) * cell_y)
            } else {
                0.0
            };
            // pygeoprocessing: 100 * sqrt(dzdx**2 + dzdy**2) in f64, written to a Float32 band.
            out[row * cols + col] = f64::from((100.0 * (dzdx * dzdx + dzdy * dzdy).sqrt()) as f32);
        }
    }
    out
}

/// One outer difference `p − q` of a Horn gradient (`p`, `m`, `q` in a line, `e` the centre),
/// in pygeoprocessing's order of fallbacks.
#[inline]
fn outer(acc: &mut f64, w: &mut i32, p: f64, m: f64, q: f64, e: f64) {
    let (pv, mv, qv) = (!p.is_nan(), !m.is_nan(), !q.is_nan());
    if pv && qv {
        *acc += p - q;
        *w += 2;
    } else if pv && mv {
        *acc += p - m;
        *w += 1;
    } else if mv && qv {
        *acc += m - q;
        *w += 1;
    } else if pv {
        *acc += (p - e) * SQRT_2;
        *w += 1;
    } else if qv {
        *acc += (e - q) * SQRT_2;
        *w += 1;
    }
}

/// The middle difference `2(p − q)` through the centre `e`.
#[inline]
fn middle(acc: &mut f64, w: &mut i32, p: f64, q: f64, e: f64) {
    match (!p.is_nan(), !q.is_nan()) {
        (true, true) => {
            *acc += 2.0 * (p - q);
            *w += 4;
        }
        (true, false) => {
            *acc += 2.0 * (p - e);
            *w += 2;
        }
        (false, true) => {
            *acc += 2.0 * (e - q);
            *w += 2;
        }
        (false, false) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gep_core::{CrsInfo, Grid};

    fn dem(rows: usize, cols: usize, cell: f64, z: &[Option<f64>]) -> ValueGrid {
        let g = Grid::new(0.0, 0.0, cell, cell, rows, cols, CrsInfo::projected("t")).unwrap();
        ValueGrid::new(g, LayerInfo::new("dem", "m"), z.to_vec()).unwrap()
    }

    /// A 3 × 3 DEM on 10 m cells, worked by hand:
    /// ```text
    /// 50 45 50
    /// 30 30 30
    /// 8  10 10
    /// ```
    /// Centre: dz/dx = ((50 + 60 + 8) − (50 + 60 + 10)) / 80 = −2/80 = −0.025;
    /// dz/dy = ((50 + 90 + 50) − (8 + 20 + 10)) / 80 = 152/80 = 1.9;
    /// slope = 100 √(0.025² + 1.9²) = 190.01645 %.
    #[test]
    fn horn_centre_by_hand() {
        let z: Vec<_> = [50., 45., 50., 30., 30., 30., 8., 10., 10.]
            .iter()
            .map(|&v| Some(v))
            .collect();
        let s = slope_percent(&dem(3, 3, 10.0, &z)).unwrap();
        let want = 100.0 * (0.025f64.powi(2) + 1.9f64.powi(2)).sqrt();
        assert!(
            (s.get(1, 1).unwrap() - want).abs() < 1e-4,
            "{:?}",
            s.get(1, 1)
        );
        assert!((want - 190.01645).abs() < 1e-5);
    }

    /// The top-left corner of the same DEM: only f, h, i and the centre exist.
    /// x: row a-b-c missing → nothing; d-e-f with d missing → 2(e − f) = 2(50 − 45) = 10,
    /// weight 2; g-h-i: g missing, h and i valid → h − i = 30 − 30 = 0, weight 1 → dz/dx =
    /// 10 / (3 × 10). y: a-d-g missing; b-e-h: b missing → 2(e − h) = 2(50 − 30) = 40, weight 2;
    /// c-f-i: c missing, f and i valid → f − i = 45 − 30 = 15, weight 1 → dz/dy = 55 / 30.
    #[test]
    fn horn_corner_fallbacks_by_hand() {
        let z: Vec<_> = [50., 45., 50., 30., 30., 30., 8., 10., 10.]
            .iter()
            .map(|&v| Some(v))
            .collect();
        let s = slope_percent(&dem(3, 3, 10.0, &z)).unwrap();
        let want = 100.0 * ((10.0f64 / 30.0).powi(2) + (55.0f64 / 30.0).powi(2)).sqrt();
        assert!((s.get(0, 0).unwrap() - want).abs() < 1e-4);
    }

    /// Beside a hole: the centre of a 3 × 3 plane z = 2x (1 m cells, 200 %) whose east
    /// neighbour f is missing: x uses a − c, 2(d − e) (weight 2 instead of 4) and g − i:
    /// (−4 − 4 − 4) / (6 × 1 m) = −2 → still 200 %.
    #[test]
    fn plane_with_hole_keeps_gradient() {
        let z = vec![
            Some(0.0),
            Some(2.0),
            Some(4.0),
            Some(0.0),
            Some(2.0),
            None,
            Some(0.0),
            Some(2.0),
            Some(4.0),
        ];
        let s = slope_percent(&dem(3, 3, 1.0, &z)).unwrap();
        assert_eq!(s.get(1, 1), Some(200.0));
        assert_eq!(s.get(1, 2), None);
        // An isolated cell has slope 0.
        let s = slope_percent(&dem(1, 1, 1.0, &[Some(5.0)])).unwrap();
        assert_eq!(s.get(0, 0), Some(0.0));
    }
}
