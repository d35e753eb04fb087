//! D8 flow direction, with flats drained towards their nearest outlet, as
//! `pygeoprocessing.routing.flow_dir_d8` does.

use super::{block_order, neighbour, to_nan_vec};
use crate::error::ModelError;
use gep_core::{LayerInfo, ValueGrid};
use std::collections::VecDeque;

/// Column offset of each D8 code (pygeoprocessing's numbering, counter-clockwise from east):
///
/// ```text
/// 3 2 1
/// 4 x 0
/// 5 6 7
/// ```
pub const D8_COL_OFFSETS: [i32; 8] = [1, 1, 0, -1, -1, -1, 0, 1];
/// Row offset of each D8 code (rows grow southwards), see [`D8_COL_OFFSETS`].
pub const D8_ROW_OFFSETS: [i32; 8] = [0, -1, -1, -1, 0, 1, 1, 1];
/// The code by which the neighbour in direction `d` points back at the cell.
pub(crate) const INFLOW: [u8; 8] = [4, 5, 6, 7, 0, 1, 2, 3];
/// pygeoprocessing's flow-direction no-data value.
pub(crate) const NO_DIRECTION: u8 = 128;

/// pygeoprocessing's `SQRT2 = 1.4142135623730951` (the same `f64` as `SQRT_2`) and
/// `SQRT2_INV = 1.0 / SQRT2` (computed, not `FRAC_1_SQRT_2`, to keep its rounding).
const SQRT2: f64 = std::f64::consts::SQRT_2;
const SQRT2_INV: f64 = 1.0 / SQRT2;

/// D8 flow direction of a (pit-filled) DEM, reproducing `pygeoprocessing.routing.flow_dir_d8`
/// (2.4.11) cell for cell.
///
/// Codes count counter-clockwise from east (0 = E, 1 = NE, 2 = N, 3 = NW, 4 = W, 5 = SW, 6 = S,
/// 7 = SE; see [`D8_COL_OFFSETS`]). For each cell, in pygeoprocessing's visiting order
/// (256 × 256 blocks, row-major inside):
///
/// - the direction of steepest descent, drop / distance, diagonal drops × 1/√2; ties go to the
///   lowest code (the first met); no-data neighbours and cells beyond the edge are skipped;
/// - a cell with no lower neighbour starts a *plateau*: the breadth-first region of cells of
///   its height. Its cells with a lower neighbour are its drains (they keep their steepest
///   descent); if there are none, cells touching no data or the grid's edge drain into it (the
///   first cardinal such neighbour, else the last diagonal). Every other plateau cell then
///   points to the neighbour through which the shortest path (steps 1 and √2) reaches a drain,
///   found by a breadth-first relaxation from the drains in the order they were found.
///
/// A region with no drain at all (a pit: the DEM was not filled) keeps no direction (`None`),
/// as do no-data cells. Cells are assumed square (the √2 factor).
///
/// # Units
/// Codes 0-7, unit `1`; layer `flow_direction`.
///
/// # Errors
/// None in practice ([`ModelError::Core`] only if the grid could not be rebuilt).
///
/// ```
/// use gep_core::{CrsInfo, Grid, LayerInfo, ValueGrid};
/// // A flat 1 × 3 strip: one plateau with no lower cell, so every cell drains off the grid
/// // through its first neighbour beyond the edge that is not diagonal: north for the first two
/// // (east of the first is inside), east for the last.
/// let g = Grid::new(0.0, 1.0, 1.0, 1.0, 1, 3, CrsInfo::projected("local")).unwrap();
/// let dem = ValueGrid::from_fn(g, LayerInfo::new("dem", "m"), |_, _| Some(1.0));
/// let d = gep_models::terrain::flow_direction_d8(&dem).unwrap();
/// assert_eq!(d.cells(), &[Some(2.0), Some(2.0), Some(0.0)]);
/// ```
pub fn flow_direction_d8(filled_dem: &ValueGrid) -> Result<ValueGrid, ModelError> {
    let g = filled_dem.grid();
    let dir = flow_direction_raw(g.rows, g.cols, &to_nan_vec(filled_dem));
    Ok(ValueGrid::new(
        g.clone(),
        LayerInfo::new("flow_direction", "1"),
        dir.into_iter()
            .map(|d| (d != NO_DIRECTION).then_some(f64::from(d)))
            .collect(),
    )?)
}

/// D8 directions of a dense DEM (NaN = no data); [`NO_DIRECTION`] where none is defined.
pub(crate) fn flow_direction_raw(rows: usize, cols: usize, z: &[f64]) -> Vec<u8> {
    let n = rows * cols;
    let mut dir = vec![NO_DIRECTION; n];
    let mut flat = vec![false; n];
    // pygeoprocessing fills its plateau-distance raster with raster_x_size * raster_y_size.
    let mut distance = vec![n as f64; n];
    let mut search = VecDeque::new();
    let mut drains: VecDeque<usize> = VecDeque::new();
    let mut nodata_drains: VecDeque<(usize, u8)> = VecDeque::new();
    let height = |row: usize, col: usize, d: usize| -> (Option<usize>, f64) {
        match neighbour(rows, cols, row, col, d) {
            Some(j) => (Some(j), z[j]),
            None => (None, f64::NAN),
        }
    };

    for (row, col) in block_order(rows, cols) {
        let i = row * cols + col;
        let root_height = z[i];
        if root_height.is_nan() || dir[i] != NO_DIRECTION {
            continue;
        }
        // Steepest descent; strictly greater wins, so ties keep the lowest code.
        let mut best_dir: i32 = -1;
        let mut best = 0.0;
        for d in 0..8 {
            let (_, h) = height(row, col, d);
            if h.is_nan() {
                continue;
            }
            let mut s = root_height - h;
            if d & 1 == 1 {
                s *= SQRT2_INV;
            }
            if s > best {
                best_dir = d as i32;
                best = s;
            }
        }
        if best_dir >= 0 {
            dir[i] = best_dir as u8;
            continue;
        }

        // A plateau: find its drains.
        search.push_back(i);
        flat[i] = true;
        while let Some(q) = search.pop_front() {
            let (qr, qc) = (q / cols, q % cols);
            let mut best_dir: i32 = -1;
            let mut best = 0.0;
            let mut diagonal_nodata = true;
            for d in 0..8 {
                let (j, h) = height(qr, qc, d);
                if h.is_nan() {
                    // Prefer the first cardinal no-data neighbour, else the last diagonal.
                    if diagonal_nodata && best == 0.0 {
                        best_dir = d as i32;
                        diagonal_nodata = d & 1 == 1;
                    }
                    continue;
                }
                let j = j.expect("a valid height lies inside the grid");
                let mut s = root_height - h;
                if s < 0.0 {
                    continue;
                }
                if s == 0.0 {
                    if !flat[j] {
                        search.push_back(j);
                        flat[j] = true;
                    }
                    continue;
                }
                if d & 1 == 1 {
                    s *= SQRT2_INV;
                }
                if s > best {
                    best = s;
                    best_dir = d as i32;
                }
            }
            if best_dir >= 0 {
                if best > 0.0 {
                    dir[q] = best_dir as u8;
                    distance[q] = 0.0;
                    drains.push_back(q);
                } else {
                    nodata_drains.push_back((q, best_dir as u8));
                }
            }
        }
        if drains.is_empty() {
            for (q, d) in nodata_drains.drain(..) {
                dir[q] = d;
                distance[q] = 0.0;
                drains.push_back(q);
            }
        } else {
            nodata_drains.clear();
        }

        // Shortest way to a drain across the plateau (FIFO relaxation, as pygeoprocessing).
        while let Some(q) = drains.pop_front() {
            let (qr, qc) = (q / cols, q % cols);
            let drain_distance = distance[q];
            for (d, &inflow) in INFLOW.iter().enumerate() {
                let Some(j) = neighbour(rows, cols, qr, qc, d) else {
                    continue;
                };
                let nd = drain_distance + if d & 1 == 1 { SQRT2 } else { 1.0 };
                if z[j] == root_height && distance[j] > nd {
                    dir[j] = inflow;
                    distance[j] = nd;
                    drains.push_back(j);
                }
            }
        }
    }
    dir
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steepest_descent_and_ties() {
        // Centre 5; east 4 (drop 1), south-east 3 (drop 2/√2 = 1.414): SE wins.
        #[rustfmt::skip]
        let z = [
            9., 9., 9.,
            9., 5., 4.,
            9., 9., 3.,
        ];
        assert_eq!(flow_direction_raw(3, 3, &z)[4], 7);
        // Equal drops east and west: the lower code (east, 0) wins.
        #[rustfmt::skip]
        let z = [
            9., 9., 9.,
            4., 5., 4.,
            9., 9., 9.,
        ];
        assert_eq!(flow_direction_raw(3, 3, &z)[4], 0);
    }

    /// A 3 × 3 plateau at 5 inside a rim at 9, with one outlet at 4 in the middle of the south
    /// edge. The three bottom plateau cells touch the outlet and drain into it (SE, S, SW);
    /// every other plateau cell is one or two steps north of a drain (shortest path, steps 1
    /// and √2) and points south.
    #[test]
    fn plateau_with_one_outlet() {
        #[rustfmt::skip]
        let z = [
            9., 9., 9., 9., 9.,
            9., 5., 5., 5., 9.,
            9., 5., 5., 5., 9.,
            9., 5., 5., 5., 9.,
            9., 9., 4., 9., 9.,
        ];
        let d = flow_direction_raw(5, 5, &z);
        #[rustfmt::skip]
        let want_inner = [
            6, 6, 6,
            6, 6, 6,
            7, 6, 5,
        ];
        for (k, want) in want_inner.iter().enumerate() {
            let (r, c) = (1 + k / 3, 1 + k % 3);
            assert_eq!(d[r * 5 + c], *want, "cell ({r},{c})");
        }
        // The outlet (4,2) on the edge has no lower neighbour inside: a one-cell plateau that
        // drains off the grid through the first cardinal edge neighbour: south (6).
        assert_eq!(d[22], 6);
    }

    #[test]
    fn pit_keeps_no_direction() {
        #[rustfmt::skip]
        let z = [
            9., 9., 9.,
            9., 1., 9.,
            9., 9., 9.,
        ];
        let d = flow_direction_raw(3, 3, &z);
        assert_eq!(d[4], NO_DIRECTION);
        // Rim cells: lower neighbour is the pit (drop 8 cardinal, 8/√2 diagonal).
        assert_eq!(d[1], 6);
        assert_eq!(d[0], 7);
    }

    #[test]
    fn isolated_flat_drains_into_no_data() {
        let nan = f64::NAN;
        #[rustfmt::skip]
        let z = [
            nan, nan, nan,
            nan, 2.0, nan,
            nan, nan, 3.0,
        ];
        // (1,1) has no lower valid neighbour; its first cardinal no-data neighbour is east.
        let d = flow_direction_raw(3, 3, &z);
        assert_eq!(d[4], 0);
        // (2,2) is higher than (1,1): steepest descent north-west.
        assert_eq!(d[8], 3);
    }
}
