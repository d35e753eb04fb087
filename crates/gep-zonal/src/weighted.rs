//! Weighted sums of continuous layers, computed inside the tally's pass
//! ([`tally_values`](crate::tally_values)): per window, the layers' cells with the sums of
//! each class run of whole cells, and per zone an accumulator by class and layer.
//!
//! # The contribution of a cell
//!
//! A covered cell of row `r` (cell area `a`, covered fraction `f`, land cover not nodata)
//! whose area adds `to_units(f × a × 2⁴⁰) ≠ 0` to its class adds, per layer with value `v`,
//! `to_units((f × (a × 2⁴⁰)) × v)` to the class's sum (`ExactSum::from_f64(f × a × v)`,
//! evaluated left to right: scaling by 2⁴⁰ is exact), or, where the layer has no data, the
//! same area units to the class's `missing`. The contribution depends only on `f`, `r` and
//! `v`, and `f` does not depend on the window, so the sums are bit-identical for any window
//! size and thread count. Whole cells (`f = 1`) add `to_units((a × 2⁴⁰) × v)`; the window
//! holds their sum per class run and layer, so a run inside a zone's interior costs O(1) per
//! layer, as it does for the class areas.

use crate::tally::to_units;
use gep_core::{ClassCode, ClassSums, ExactArea, ExactSum, Grid, Window, ZoneSums};

/// The largest |contribution| of one cell, in fixed-point units: 2¹²⁰, i.e. 2⁸⁰ ≈ 1.2e24
/// (layer unit × m²). Beyond it a cell is refused: 128 such cells could overflow the i128
/// accumulator, and the f64 → i128 conversion would saturate silently.
pub(crate) const MAX_CELL_UNITS: f64 = (1u128 << 120) as f64;

/// `MAX_CELL_UNITS` in layer unit × m², for messages.
pub(crate) const MAX_CELL_VALUE_M2: f64 = (1u128 << 80) as f64;

/// The layers' cells over one window, with per class run sums of their whole cells.
///
/// The runs are the tally's row runs of equal land-cover class (`row_ptr`, `starts`): an
/// interior span of a zone covers whole runs, whose sums are added once per run and layer,
/// and at most two clipped runs at its ends, which are summed cell by cell. A cell's values
/// of all layers lie together (one cache line for a few layers, where a zone's edge meets
/// the cell), as f64 with NaN for no data.
#[derive(Default)]
pub(crate) struct ValueWindow {
    layers: usize,
    cols: usize,
    /// `cell × layers + layer` (cells row-major over the window): the value, NaN where the
    /// layer has no data.
    values: Vec<f64>,
    /// `run × layers + layer`: Σ whole-cell units over the run's cells with data.
    run_sums: Vec<i128>,
    /// `run × layers + layer`: cells of the run without data, or [`UNUSABLE`] when a cell is
    /// beyond [`MAX_CELL_UNITS`] or the run's sum overflows (the run is then summed cell by
    /// cell, which names the offending cell or class).
    run_missing: Vec<u32>,
    /// Per layer: the current run's sum, count without data, and whether the sum holds.
    scratch: Vec<(i128, u32, bool)>,
}

/// [`ValueWindow::run_missing`] of a run whose sum is not usable.
const UNUSABLE: u32 = u32::MAX;

impl ValueWindow {
    /// Takes the window's values of each layer (`blocks[l]`, row-major, `cols` columns) and
    /// sums them per run: the runs of row `r` are `[row_ptr[r], row_ptr[r + 1])`, run `i`
    /// starting at column `starts[i]`; `scaled[r]` is row `r`'s cell area × 2⁴⁰. Non-finite
    /// values are no data (as [`gep_core::ValueGrid`] makes them).
    pub(crate) fn build(
        &mut self,
        blocks: &[Vec<Option<f64>>],
        cols: usize,
        row_ptr: &[u32],
        starts: &[u32],
        scaled: &[f64],
    ) {
        let n = blocks.len();
        let rows = row_ptr.len() - 1;
        self.layers = n;
        self.cols = cols;
        // Every cell lies in one run, so every entry is written below: no clearing.
        self.values.resize(rows * cols * n, f64::NAN);
        self.run_sums.resize(starts.len() * n, 0);
        self.run_missing.resize(starts.len() * n, 0);
        self.scratch.resize(n, (0, 0, true));
        for (r, &s) in scaled.iter().enumerate().take(rows) {
            let (a, b) = (row_ptr[r] as usize, row_ptr[r + 1] as usize);
            for i in a..b {
                let c0 = r * cols + starts[i] as usize;
                let c1 = r * cols
                    + if i + 1 < b {
                        starts[i + 1] as usize
                    } else {
                        cols
                    };
                self.scratch.fill((0, 0, true));
                for cell in c0..c1 {
                    let out = &mut self.values[cell * n..(cell + 1) * n];
                    for ((block, slot), acc) in blocks.iter().zip(out).zip(&mut self.scratch) {
                        match block[cell] {
                            Some(v) if v.is_finite() => {
                                *slot = v;
                                let x = s * v;
                                if x.abs() <= MAX_CELL_UNITS {
                                    match acc.0.checked_add(units(x)) {
                                        Some(t) => acc.0 = t,
                                        None => acc.2 = false,
                                    }
                                } else {
                                    acc.2 = false;
                                }
                            }
                            _ => {
                                *slot = f64::NAN;
                                acc.1 += 1;
                            }
                        }
                    }
                }
                for (l, &(sum, miss, ok)) in self.scratch.iter().enumerate() {
                    self.run_sums[i * n + l] = sum;
                    self.run_missing[i * n + l] = if ok { miss } else { UNUSABLE };
                }
            }
        }
    }

    /// Layer `l`'s value at flat index `i` of the window; NaN where it has no data.
    #[inline]
    fn value(&self, l: usize, i: usize) -> f64 {
        self.values[i * self.layers + l]
    }
}

/// Rounds scaled units to an integer, ties away from zero: `to_units` bit for bit, without
/// a libm `round` call for |x| < 2⁶² (the usual case): `x - trunc(x)` is exact there.
#[inline]
pub(crate) fn units(x: f64) -> i128 {
    if x.abs() < 4.611_686_018_427_388e18 {
        let t = x as i64; // truncates toward zero
        let d = x - t as f64;
        // Branch-free: the fractional parts of values are random, so a branch would be
        // mispredicted half the time.
        i128::from(t + i64::from(d >= 0.5) - i64::from(d <= -0.5))
    } else {
        to_units(x)
    }
}

/// What stopped a zone's sums: reported with the zone's id by the caller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Problem {
    /// A sum of layer `layer` over the class with run key `key` left the i128 range.
    Overflow {
        /// The run key of the class.
        key: usize,
        /// The layer's index.
        layer: usize,
    },
    /// A cell's contribution is beyond [`MAX_CELL_UNITS`].
    TooLarge {
        /// The layer's index.
        layer: usize,
        /// Grid row.
        row: usize,
        /// Grid column.
        col: usize,
        /// The cell's value.
        value: f64,
    },
}

/// Sums of one zone in one window, by class key (as in the tally's row runs: a code in
/// 0..=255, or `257 + i` for the window's `others[i]`; nodata, 256, is never summed) and
/// layer. Dense arrays, reset through the list of touched keys: no map per cell.
#[derive(Default)]
pub(crate) struct ValueAcc {
    layers: usize,
    /// `key × layers + layer`: fixed-point value sums.
    sums: Vec<i128>,
    /// `key × layers + layer`: area units without data.
    missing: Vec<i128>,
    touched: Vec<u32>,
    is_touched: Vec<bool>,
    problem: Option<Problem>,
}

impl ValueAcc {
    /// Makes room for keys `0..keys` of `layers` layers (all sums are zero between zones).
    pub(crate) fn reserve(&mut self, keys: usize, layers: usize) {
        if self.layers != layers {
            debug_assert!(self.touched.is_empty());
            self.layers = layers;
            self.sums.clear();
            self.missing.clear();
            self.is_touched.clear();
        }
        if self.is_touched.len() < keys {
            self.is_touched.resize(keys, false);
            self.sums.resize(keys * layers, 0);
            self.missing.resize(keys * layers, 0);
        }
    }

    #[inline]
    fn touch(&mut self, key: usize) {
        if !self.is_touched[key] {
            self.is_touched[key] = true;
            self.touched.push(key as u32);
        }
    }

    #[inline]
    fn add_sum(&mut self, key: usize, layer: usize, units: i128) {
        let s = &mut self.sums[key * self.layers + layer];
        match s.checked_add(units) {
            Some(t) => *s = t,
            None => {
                self.problem.get_or_insert(Problem::Overflow { key, layer });
            }
        }
    }

    #[inline]
    fn add_missing(&mut self, key: usize, layer: usize, units: i128) {
        let m = &mut self.missing[key * self.layers + layer];
        match m.checked_add(units) {
            Some(t) => *m = t,
            None => {
                self.problem.get_or_insert(Problem::Overflow { key, layer });
            }
        }
    }

    /// Adds one cell of layer `l` with value `v` (NaN: no data): `area` area units, `fx` =
    /// covered fraction × cell area × 2⁴⁰. `at` gives the cell's grid position for errors.
    #[inline]
    fn add_value(
        &mut self,
        key: usize,
        l: usize,
        v: f64,
        area: i128,
        fx: f64,
        at: impl Fn() -> (usize, usize),
    ) {
        if v.is_nan() {
            self.add_missing(key, l, area);
            return;
        }
        let x = fx * v;
        if x.abs() <= MAX_CELL_UNITS {
            self.add_sum(key, l, units(x));
        } else {
            let (row, col) = at();
            self.problem.get_or_insert(Problem::TooLarge {
                layer: l,
                row,
                col,
                value: v,
            });
        }
    }

    /// Adds the cell at flat index `i` of window `w` to class `key`, every layer:
    /// `area` = its area units (≠ 0), `fx` = covered fraction × cell area × 2⁴⁰.
    #[inline]
    pub(crate) fn add_cell(
        &mut self,
        key: usize,
        vw: &ValueWindow,
        i: usize,
        area: i128,
        fx: f64,
        w: Window,
    ) {
        self.touch(key);
        for l in 0..vw.layers {
            let at = || (w.row_off + i / w.cols, w.col_off + i % w.cols);
            self.add_value(key, l, vw.value(l, i), area, fx, at);
        }
    }

    /// Adds the whole cells of columns `[lo, hi)` (relative to window `w`) of window row
    /// `br`, all in class run `run` of class `key`; `whole` when they are the whole run.
    /// `full` = a whole cell's area units, `scaled` = its area × 2⁴⁰.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub(crate) fn add_run(
        &mut self,
        key: usize,
        vw: &ValueWindow,
        run: usize,
        whole: bool,
        (br, lo, hi): (usize, usize, usize),
        full: i128,
        scaled: f64,
        w: Window,
    ) {
        self.touch(key);
        let n = vw.layers;
        for l in 0..n {
            let m = vw.run_missing[run * n + l];
            if whole && m != UNUSABLE {
                self.add_sum(key, l, vw.run_sums[run * n + l]);
                if m > 0 {
                    self.add_missing(key, l, i128::from(m) * full);
                }
            } else {
                // A clipped run, or one with out-of-range cells or an overflowing sum: cell
                // by cell, as the run sums would add them.
                for c in lo..hi {
                    let at = || (w.row_off + br, w.col_off + c);
                    self.add_value(key, l, vw.value(l, br * vw.cols + c), full, scaled, at);
                }
            }
        }
    }

    /// The first problem met since the last call, if any (the sums are then unusable).
    pub(crate) fn take_problem(&mut self) -> Option<Problem> {
        self.problem.take()
    }

    /// Moves the sums into a [`ZoneSums`] and resets; `None` when no cell was added.
    /// `class_of(key)` names the class of a key. Every touched class is kept, also with
    /// all sums zero, so a zone's classes are those with area in its tally.
    pub(crate) fn drain(&mut self, class_of: impl Fn(usize) -> ClassCode) -> Option<ZoneSums> {
        if self.touched.is_empty() {
            return None;
        }
        let n = self.layers;
        let mut out = ZoneSums::default();
        for key in self.touched.drain(..) {
            let k = key as usize;
            self.is_touched[k] = false;
            let sums = &mut self.sums[k * n..(k + 1) * n];
            let missing = &mut self.missing[k * n..(k + 1) * n];
            let c = ClassSums {
                sums: sums.iter().map(|s| ExactSum(*s)).collect(),
                missing: missing.iter().map(|m| ExactArea(*m)).collect(),
            };
            sums.fill(0);
            missing.fill(0);
            out.classes.insert(class_of(k), c);
        }
        Some(out)
    }
}

/// A grid's cells in words, for messages.
pub(crate) fn describe(grid: &Grid) -> String {
    format!(
        "{} x {} cells of {:?} x {:?} from ({:?}, {:?}) in {}",
        grid.rows,
        grid.cols,
        grid.cell_width,
        grid.cell_height,
        grid.left,
        grid.top,
        grid.crs.description
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The branch-free rounding is `to_units` (hence `ExactSum::from_f64`) bit for bit.
        #[test]
        fn units_match_to_units(m in -1.0e19..1.0e19f64, k in -3i32..3, half in any::<bool>()) {
            // Values near and at halves too, where ties are decided.
            let x = if half { (m as i64) as f64 + 0.5 * f64::from(k.signum()) } else { m };
            prop_assert_eq!(units(x), to_units(x));
        }
    }

    #[test]
    fn units_at_the_edges() {
        for x in [
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -2.5,
            0.49999999999999994,
            4.6e18,
            -4.6e18,
            2.0e30,
            -7.9e35,
        ] {
            assert_eq!(units(x), to_units(x), "{x}");
        }
    }
}
