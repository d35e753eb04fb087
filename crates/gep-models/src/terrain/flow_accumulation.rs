//! D8 flow accumulation: how many cells drain through each cell, itself included, as
//! `pygeoprocessing.routing.flow_accumulation_d8` (without weights or decay) counts them.

use super::flow_direction::{INFLOW, NO_DIRECTION};
use super::{from_nan_vec, neighbour};
use crate::error::ModelError;
use gep_core::{LayerInfo, ValueGrid};

/// D8 flow accumulation from flow directions (codes 0-7 as written by
/// [`flow_direction_d8`](super::flow_direction_d8)), reproducing
/// `pygeoprocessing.routing.flow_accumulation_d8` (2.4.11, no weight raster, no decay).
///
/// Each cell counts **itself** plus every cell whose D8 path passes through it, so a cell
/// nothing flows into has 1 (InVEST's LS subtracts that 1 again, see
/// [`ls_cell_invest`](super::ls_cell_invest)). Walks start from the cells that drain into a
/// cell without direction or off the grid and go upstream depth-first (an explicit stack, so
/// long flow paths cannot overflow the call stack). Cells without direction have no
/// accumulation (`None`), as in pygeoprocessing, and so do cells whose path never ends (a
/// cycle: impossible for directions from a DEM).
///
/// # Units
/// Cells (a count); layer `flow_accumulation`, unit `cells`. Multiply by the cell area for an
/// upslope area.
///
/// # Errors
/// [`ModelError::InvalidFlowDirection`] for a value that is not an integer 0-7.
///
/// ```
/// use gep_core::{CrsInfo, Grid, LayerInfo, ValueGrid};
/// // Three cells flowing east, off the grid.
/// let g = Grid::new(0.0, 1.0, 1.0, 1.0, 1, 3, CrsInfo::projected("local")).unwrap();
/// let dir = ValueGrid::from_fn(g, LayerInfo::new("flow_direction", "1"), |_, _| Some(0.0));
/// let fa = gep_models::terrain::flow_accumulation_d8(&dir).unwrap();
/// assert_eq!(fa.cells(), &[Some(1.0), Some(2.0), Some(3.0)]);
/// ```
pub fn flow_accumulation_d8(flow_direction: &ValueGrid) -> Result<ValueGrid, ModelError> {
    let g = flow_direction.grid();
    let mut dir = Vec::with_capacity(g.len());
    for (k, v) in flow_direction.cells().iter().enumerate() {
        dir.push(match *v {
            None => NO_DIRECTION,
            Some(x) if x.fract() == 0.0 && (0.0..=7.0).contains(&x) => x as u8,
            Some(x) => {
                return Err(ModelError::InvalidFlowDirection {
                    layer: flow_direction.info().name.clone(),
                    row: k / g.cols,
                    col: k % g.cols,
                    value: x,
                })
            }
        });
    }
    let acc = flow_accumulation_raw(g.rows, g.cols, &dir);
    from_nan_vec(g, LayerInfo::new("flow_accumulation", "cells"), acc)
}

/// A cell on the upstream walk: where it resumes scanning its neighbours, and its sum so far.
struct Walk {
    index: usize,
    next_dir: usize,
    value: f64,
}

/// Accumulation of dense directions ([`NO_DIRECTION`] = none); NaN where undefined.
///
/// pygeoprocessing visits blocks in order; the counts are sums of whole numbers (exact in
/// `f64` below 2⁵³), so any visiting order gives the same result and plain row-major is used.
pub(crate) fn flow_accumulation_raw(rows: usize, cols: usize, dir: &[u8]) -> Vec<f64> {
    let mut acc = vec![f64::NAN; rows * cols];
    let mut stack: Vec<Walk> = Vec::new();
    for i in 0..rows * cols {
        let d = dir[i];
        if d == NO_DIRECTION {
            continue;
        }
        let (row, col) = (i / cols, i % cols);
        // A root: its downstream cell is off the grid or has no direction.
        let is_root = match neighbour(rows, cols, row, col, usize::from(d)) {
            None => true,
            Some(j) => dir[j] == NO_DIRECTION,
        };
        if !is_root {
            continue;
        }
        stack.push(Walk {
            index: i,
            next_dir: 0,
            value: 1.0,
        });
        while let Some(mut w) = stack.pop() {
            let (r, c) = (w.index / cols, w.index % cols);
            let mut pending = None;
            for (d, &inflow) in INFLOW.iter().enumerate().skip(w.next_dir) {
                let Some(j) = neighbour(rows, cols, r, c, d) else {
                    continue;
                };
                if dir[j] == NO_DIRECTION || dir[j] != inflow {
                    continue; // does not flow into this cell
                }
                if acc[j].is_nan() {
                    // Finish the upstream cell first, then resume here at direction d.
                    pending = Some((d, j));
                    break;
                }
                w.value += acc[j];
            }
            match pending {
                Some((d, j)) => {
                    w.next_dir = d;
                    stack.push(w);
                    stack.push(Walk {
                        index: j,
                        next_dir: 0,
                        value: 1.0,
                    });
                }
                None => acc[w.index] = w.value,
            }
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plane tilted to the east, 3 rows × 4 columns: every cell flows east (0), so each cell
    /// counts itself and the cells west of it in its row: 1, 2, 3, 4.
    #[test]
    fn tilted_plane_counts_its_row() {
        let dir = vec![0u8; 12];
        let acc = flow_accumulation_raw(3, 4, &dir);
        for r in 0..3 {
            assert_eq!(&acc[r * 4..r * 4 + 4], &[1.0, 2.0, 3.0, 4.0]);
        }
    }

    /// A 3 × 3 funnel: seven cells flow into the centre, which flows south into (2,1), which
    /// flows off the grid. The centre counts 7 + itself = 8; the outlet (2,1) 8 + itself = 9.
    #[test]
    fn funnel() {
        #[rustfmt::skip]
        let dir = [
            7, 6, 5,
            0, 6, 4,
            1, 6, 3,
        ];
        let acc = flow_accumulation_raw(3, 3, &dir);
        assert_eq!(acc[4], 8.0);
        assert_eq!(acc[7], 9.0);
        assert_eq!(acc[0], 1.0);
    }

    #[test]
    fn no_direction_has_no_accumulation_and_is_an_outlet() {
        let n = NO_DIRECTION;
        let dir = [0, 0, n];
        let acc = flow_accumulation_raw(1, 3, &dir);
        assert_eq!(acc[0], 1.0);
        assert_eq!(acc[1], 2.0);
        assert!(acc[2].is_nan());
    }
}
