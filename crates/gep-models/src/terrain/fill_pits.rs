//! Pit filling: every depression that drains neither off the grid nor into a no-data cell is
//! raised to the height of its lowest pour point, as `pygeoprocessing.routing.fill_pits` does.

#[cfg(test)]
use super::block_order;
use super::{from_nan_vec, neighbour, to_nan_vec};
use crate::error::ModelError;
use gep_core::ValueGrid;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// Fills the pits of a DEM, with the result of `pygeoprocessing.routing.fill_pits` (2.4.11,
/// no `max_pixel_fill_count`, no single outlet), cell for cell.
///
/// Every cell ends at its *spill height*: the lowest, over all 8-connected paths from the cell
/// to an outlet, of the highest elevation on the path (never below its own elevation). Outlets
/// are the cells on the grid's edge and the cells beside no data (pygeoprocessing lets water
/// drain off the grid and into no-data holes). Depressions become flat at their pour height (no
/// gradient is imposed; [`flow_direction_d8`](super::flow_direction_d8) drains flats); no-data
/// cells stay no data. The layer keeps the DEM's name and unit.
///
/// pygeoprocessing finds pits one at a time in its scan order (a flat-region search, then a
/// lowest-first search for the pour point, then a fill from the pit's first cell), which
/// revisits a large basin once per pit merged into it: minutes for basins of millions of cells.
/// Its end result is this unique surface (each fill stops at a pour height no higher than any
/// raised cell's spill height, and it leaves no undrained cell), so it is computed here by
/// Priority-Flood (Barnes, Lehman & Mulla 2014, Computers & Geosciences 62:117-127, with the
/// plain queue of their "improved" variant for raised cells), O(n log n). A line-by-line port
/// of pygeoprocessing's algorithm is kept in the tests as the oracle: both agree on random
/// DEMs with flats and holes and on the InVEST fixtures (`tests/invest_conformance.rs`).
///
/// # Units
/// The DEM's (metres).
///
/// # Errors
/// None in practice ([`ModelError::Core`] only if the grid could not be rebuilt).
///
/// ```
/// use gep_core::{CrsInfo, Grid, LayerInfo, ValueGrid};
/// let g = Grid::new(0.0, 3.0, 1.0, 1.0, 3, 3, CrsInfo::projected("local")).unwrap();
/// let dem = ValueGrid::new(g, LayerInfo::new("dem", "m"), [
///     5., 5., 5.,
///     5., 1., 4.,
///     5., 5., 5.].iter().map(|&z| Some(z)).collect()).unwrap();
/// let f = gep_models::terrain::fill_pits(&dem).unwrap();
/// assert_eq!(f.get(1, 1), Some(4.0)); // raised to the pour point (1, 2)
/// ```
pub fn fill_pits(dem: &ValueGrid) -> Result<ValueGrid, ModelError> {
    let g = dem.grid();
    let mut z = to_nan_vec(dem);
    fill_pits_raw(g.rows, g.cols, &mut z);
    from_nan_vec(g, dem.info().clone(), z)
}

/// A cell in a lowest-first queue: ordered by height, then by `priority` (pygeoprocessing's
/// `GreaterPixel`; 0 in Priority-Flood). Equal pairs may pop in another order than C++'s heap
/// would: neither the pour height found nor the flood's result depends on it.
struct Pixel {
    value: f64,
    priority: i64,
    index: usize,
}

impl PartialEq for Pixel {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Pixel {}
impl PartialOrd for Pixel {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pixel {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap pops the largest, we want the lowest.
        other
            .value
            .total_cmp(&self.value)
            .then(other.priority.cmp(&self.priority))
    }
}

/// Fills pits in place in a dense DEM (NaN = no data), by Priority-Flood.
pub(crate) fn fill_pits_raw(rows: usize, cols: usize, z: &mut [f64]) {
    let n = rows * cols;
    let mut closed = vec![false; n];
    let mut open = BinaryHeap::new();
    let mut raised = VecDeque::new();
    // Seeds: valid cells on the edge or beside no data, at their own height.
    for i in 0..n {
        if z[i].is_nan() {
            continue;
        }
        let (r, c) = (i / cols, i % cols);
        let outlet = (0..8).any(|d| neighbour(rows, cols, r, c, d).is_none_or(|j| z[j].is_nan()));
        if outlet {
            closed[i] = true;
            open.push(Pixel {
                value: z[i],
                priority: 0,
                index: i,
            });
        }
    }
    loop {
        let i = match raised.pop_front() {
            Some(i) => i,
            None => match open.pop() {
                Some(p) => p.index,
                None => break,
            },
        };
        let h = z[i];
        let (r, c) = (i / cols, i % cols);
        for d in 0..8 {
            let Some(j) = neighbour(rows, cols, r, c, d) else {
                continue;
            };
            if closed[j] || z[j].is_nan() {
                continue;
            }
            closed[j] = true;
            if z[j] <= h {
                // In a depression (or on a flat): raised to the spill height, processed before
                // anything higher.
                z[j] = h;
                raised.push_back(j);
            } else {
                open.push(Pixel {
                    value: z[j],
                    priority: 0,
                    index: j,
                });
            }
        }
    }
}

/// pygeoprocessing's `fill_pits`, line by line: the oracle for [`fill_pits_raw`].
#[cfg(test)]
pub(crate) fn fill_pits_pygeoprocessing(rows: usize, cols: usize, z: &mut [f64]) {
    let n = rows * cols;
    // pygeoprocessing's `flat_region_mask` (Byte) and `pit_mask` (Int32, the pit's feature id).
    let mut flat = vec![false; n];
    let mut pit_mask = vec![0u32; n];
    let mut feature_id = 0u32;
    // The heap priority: pygeoprocessing writes `n_x_blocks * (yi >> BLOCK_BITS) + xi >>
    // BLOCK_BITS` with `n_x_blocks = raster_x_size >> BLOCK_BITS + 1`; in Python `+` binds
    // tighter than `>>`, so these are ((n_x_blocks·(yi >> 8)) + xi) >> 8 and x_size >> 9.
    let n_x_blocks = cols >> 9;
    let priority = |i: usize| -> i64 {
        let (yi, xi) = (i / cols, i % cols);
        ((n_x_blocks * (yi >> 8) + xi) >> 8) as i64
    };
    let mut search = VecDeque::new();
    let mut fill = VecDeque::new();
    let mut pit_queue = BinaryHeap::new();

    for (row, col) in block_order(rows, cols) {
        let root = row * cols + col;
        let centre = z[root];
        if centre.is_nan() || flat[root] {
            continue;
        }
        // Does the cell drain locally (a lower, no-data or off-grid neighbour)?
        let drains = (0..8).any(|d| match neighbour(rows, cols, row, col, d) {
            None => true,
            Some(j) => z[j].is_nan() || z[j] < centre,
        });
        if drains {
            continue;
        }

        // 1. Grow the flat region at this height, looking for a natural drain.
        search.push_back(root);
        flat[root] = true;
        let mut natural_drain = false;
        while let Some(q) = search.pop_front() {
            let (qr, qc) = (q / cols, q % cols);
            for d in 0..8 {
                let Some(j) = neighbour(rows, cols, qr, qc, d) else {
                    natural_drain = true;
                    continue;
                };
                let h = z[j];
                if h.is_nan() || h < centre {
                    natural_drain = true;
                    continue;
                }
                if flat[j] {
                    continue;
                }
                if h == centre {
                    search.push_back(j);
                    flat[j] = true;
                }
            }
        }
        if natural_drain {
            continue;
        }

        // 2. A pit: search outward, lowest first, for the pour point.
        feature_id += 1;
        pit_mask[root] = feature_id;
        pit_queue.push(Pixel {
            value: centre,
            priority: priority(root),
            index: root,
        });
        let mut fill_height = f64::NAN;
        while let Some(p) = pit_queue.pop() {
            fill_height = p.value;
            let (qr, qc) = (p.index / cols, p.index % cols);
            let mut pour = false;
            for d in 0..8 {
                let Some(j) = neighbour(rows, cols, qr, qc, d) else {
                    pour = true; // drains off the grid
                    break;
                };
                if pit_mask[j] == feature_id {
                    continue;
                }
                pit_mask[j] = feature_id;
                let h = z[j];
                if h.is_nan() {
                    // A pour point, but pygeoprocessing goes on pushing the other neighbours
                    // (harmless: the queue is dropped below).
                    pour = true;
                    continue;
                }
                if h < fill_height {
                    pour = true;
                    break;
                }
                pit_queue.push(Pixel {
                    value: h,
                    priority: priority(j),
                    index: j,
                });
            }
            if pour {
                pit_queue.clear();
                fill.push_back(root);
                z[root] = fill_height;
            }
        }

        // 3. Raise everything lower than the pour height connected to the pit's first cell.
        while let Some(q) = fill.pop_front() {
            let (qr, qc) = (q / cols, q % cols);
            for d in 0..8 {
                let Some(j) = neighbour(rows, cols, qr, qc, d) else {
                    continue;
                };
                if !z[j].is_nan() && z[j] < fill_height {
                    z[j] = fill_height;
                    fill.push_back(j);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both fills, checked equal.
    fn filled(rows: usize, cols: usize, z: &[f64]) -> Vec<f64> {
        let mut v = z.to_vec();
        fill_pits_raw(rows, cols, &mut v);
        let mut w = z.to_vec();
        fill_pits_pygeoprocessing(rows, cols, &mut w);
        assert_eq!(
            bits(&v),
            bits(&w),
            "Priority-Flood and pygeoprocessing's fill differ"
        );
        v
    }

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// A tiny deterministic generator (SplitMix64), so the test needs no dependency.
    fn splitmix(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Random DEMs with few distinct heights (many flats and nested pits) and no-data holes,
    /// some wider than a 256 block: Priority-Flood equals pygeoprocessing's fill everywhere.
    #[test]
    fn priority_flood_equals_pygeoprocessing_on_random_dems() {
        let mut s = 42u64;
        for case in 0..500 {
            let rows = 1 + (splitmix(&mut s) % 12) as usize;
            let cols = if case % 50 == 0 {
                300
            } else {
                1 + (splitmix(&mut s) % 12) as usize
            };
            let levels = 2 + splitmix(&mut s) % 6;
            let holes = splitmix(&mut s) % 4;
            let z: Vec<f64> = (0..rows * cols)
                .map(|_| {
                    if splitmix(&mut s) % 10 < holes {
                        f64::NAN
                    } else {
                        (splitmix(&mut s) % levels) as f64
                    }
                })
                .collect();
            filled(rows, cols, &z);
        }
    }

    #[test]
    fn single_cell_pit_rises_to_lowest_rim() {
        #[rustfmt::skip]
        let z = [
            9., 9., 9., 9.,
            9., 2., 7., 9.,
            9., 9., 9., 9.,
        ];
        // The pit (1,1) and its neighbour (1,2) at 7 lie in a basin whose rim, all 9, is on the
        // grid's edge: the first rim cell popped drains off the grid, so both rise to 9.
        let f = filled(3, 4, &z);
        assert_eq!(f[5], 9.0);
        assert_eq!(f[6], 9.0);
        assert_eq!(f[0], 9.0);
    }

    #[test]
    fn pit_fills_to_pour_point_not_beyond() {
        #[rustfmt::skip]
        let z = [
            9., 9., 9., 9., 9.,
            9., 1., 3., 5., 9.,
            9., 9., 9., 4., 2.,
            9., 9., 9., 9., 9.,
        ];
        // Pit at (1,1); the search pops 1, then (1,2)=3, then (2,3)=4, whose neighbour
        // (2,4)=2 is lower: pour height 4. (1,1) and (1,2) become 4; (1,3)=5 stays.
        let f = filled(4, 5, &z);
        assert_eq!(&f[5..10], &[9., 4., 4., 5., 9.]);
        assert_eq!(f[13], 4.0);
        assert_eq!(f[14], 2.0);
    }

    #[test]
    fn no_data_drains_like_the_edge() {
        let nan = f64::NAN;
        #[rustfmt::skip]
        let z = [
            9., 9., 9.,
            9., 1., nan,
            9., 9., 9.,
        ];
        let f = filled(3, 3, &z);
        assert_eq!(f[4], 1.0); // drains into the hole: not a pit
        assert!(f[5].is_nan());
    }

    #[test]
    fn flat_pit_region_filled_as_a_whole() {
        #[rustfmt::skip]
        let z = [
            8., 8., 8., 8.,
            8., 3., 3., 8.,
            8., 3., 3., 6.,
            8., 8., 8., 8.,
        ];
        // The flat 2 × 2 bottom at 3 is one pit; the lowest rim cell is (2,3)=6, on the edge:
        // popped after the 3s, it drains off the grid, so the pour height is 6.
        let f = filled(4, 4, &z);
        assert_eq!([f[5], f[6], f[9], f[10]], [6.0; 4]);
        assert_eq!(f[11], 6.0);
    }
}
