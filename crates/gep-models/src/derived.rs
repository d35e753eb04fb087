//! Derived layers: a [`ValueSource`] computed cell by cell from other sources on one grid,
//! e.g. `rkls = R · K · LS`.

use crate::error::ModelError;
use crate::terrain::{describe_grid, same_grid};
use gep_core::{CoreError, Grid, LayerInfo, ValueBlock, ValueSource, Window};
use std::sync::Arc;

/// The cell function of a derived layer: the inputs' values in input order, all present.
type CellFn = dyn Fn(&[f64]) -> f64 + Send + Sync;

/// A layer computed cell-wise from several input layers, window by window.
///
/// A cell has no data wherever any input has none, and wherever the function returns a
/// non-finite value (return `f64::NAN` to mark a cell as without data on purpose). Reading a
/// window reads the same window of every input, so memory stays bounded by the window.
///
/// ```
/// use gep_core::{CrsInfo, Grid, LayerInfo, ValueGrid, ValueSource, Window};
/// use gep_models::DerivedLayer;
/// let g = Grid::new(0.0, 2.0, 30.0, 30.0, 1, 2, CrsInfo::projected("local")).unwrap();
/// let r = ValueGrid::from_fn(g.clone(), LayerInfo::new("r", "MJ·mm/(ha·h·a)"), |_, _| Some(4000.0));
/// let k = ValueGrid::from_fn(g.clone(), LayerInfo::new("k", "t·ha·h/(ha·MJ·mm)"), |_, _| Some(0.03));
/// let ls = ValueGrid::new(g, LayerInfo::new("ls", "1"), vec![Some(2.0), None]).unwrap();
/// let mut rkls = DerivedLayer::product(LayerInfo::new("rkls", "t/(ha·a)"),
///     vec![Box::new(r), Box::new(k), Box::new(ls)]).unwrap();
/// let b = rkls.read_values(Window::new(0, 0, 1, 2)).unwrap();
/// assert_eq!(b.cells, vec![Some(240.0), None]);
/// ```
pub struct DerivedLayer {
    grid: Grid,
    info: LayerInfo,
    inputs: Vec<Box<dyn ValueSource>>,
    f: Arc<CellFn>,
}

impl std::fmt::Debug for DerivedLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DerivedLayer")
            .field("info", &self.info)
            .field(
                "inputs",
                &self
                    .inputs
                    .iter()
                    .map(|i| i.info().name.clone())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl DerivedLayer {
    /// A layer `info` computed by `f` from `inputs` (in that order).
    ///
    /// # Errors
    /// [`ModelError::NoInputs`] for an empty input list; [`ModelError::GridMismatch`] naming
    /// the first input whose grid differs from the first input's.
    pub fn new(
        info: LayerInfo,
        inputs: Vec<Box<dyn ValueSource>>,
        f: impl Fn(&[f64]) -> f64 + Send + Sync + 'static,
    ) -> Result<DerivedLayer, ModelError> {
        let Some(first) = inputs.first() else {
            return Err(ModelError::NoInputs { layer: info.name });
        };
        let grid = first.grid().clone();
        for other in &inputs[1..] {
            if !same_grid(other.grid(), &grid) {
                return Err(ModelError::GridMismatch {
                    layer: other.info().name.clone(),
                    found: describe_grid(other.grid()),
                    expected_layer: first.info().name.clone(),
                    expected: describe_grid(&grid),
                });
            }
        }
        Ok(DerivedLayer {
            grid,
            info,
            inputs,
            f: Arc::new(f),
        })
    }

    /// The cell-wise product of `inputs` (e.g. `rkls = R · K · LS`, the potential soil loss of
    /// RUSLE without cover and practice).
    ///
    /// # Errors
    /// As [`DerivedLayer::new`].
    pub fn product(
        info: LayerInfo,
        inputs: Vec<Box<dyn ValueSource>>,
    ) -> Result<DerivedLayer, ModelError> {
        DerivedLayer::new(info, inputs, |v| v.iter().product())
    }

    /// The names of the input layers, in order.
    pub fn input_names(&self) -> Vec<&str> {
        self.inputs.iter().map(|i| i.info().name.as_str()).collect()
    }
}

impl ValueSource for DerivedLayer {
    fn grid(&self) -> &Grid {
        &self.grid
    }

    fn info(&self) -> &LayerInfo {
        &self.info
    }

    fn block_size(&self) -> (usize, usize) {
        self.inputs[0].block_size()
    }

    fn read_values(&mut self, window: Window) -> Result<ValueBlock, CoreError> {
        self.grid.check_window(&window)?;
        let n = window.len();
        let blocks = self
            .inputs
            .iter_mut()
            .map(|s| s.read_values(window))
            .collect::<Result<Vec<_>, _>>()?;
        // An input that returns another window size breaks the trait's contract: refuse
        // rather than index out of bounds.
        if let Some(b) = blocks.iter().find(|b| b.cells.len() != n) {
            return Err(CoreError::CellCountMismatch {
                got: b.cells.len(),
                expected: n,
                rows: window.rows,
                cols: window.cols,
            });
        }
        let mut args = vec![0.0; blocks.len()];
        let mut cells = Vec::with_capacity(n);
        'cells: for k in 0..n {
            for (a, b) in args.iter_mut().zip(&blocks) {
                match b.cells[k] {
                    Some(v) => *a = v,
                    None => {
                        cells.push(None);
                        continue 'cells;
                    }
                }
            }
            let v = (self.f)(&args);
            cells.push(v.is_finite().then_some(v));
        }
        Ok(ValueBlock { window, cells })
    }

    fn try_clone_values(&self) -> Result<Box<dyn ValueSource>, CoreError> {
        Ok(Box::new(DerivedLayer {
            grid: self.grid.clone(),
            info: self.info.clone(),
            inputs: self
                .inputs
                .iter()
                .map(|i| i.try_clone_values())
                .collect::<Result<_, _>>()?,
            f: Arc::clone(&self.f),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gep_core::{CrsInfo, ValueGrid};

    fn grid(left: f64) -> Grid {
        Grid::new(left, 3.0, 1.0, 1.0, 3, 3, CrsInfo::projected("x")).unwrap()
    }

    #[test]
    fn combines_windows_and_propagates_no_data() {
        let a = ValueGrid::from_fn(grid(0.0), LayerInfo::new("a", "1"), |r, c| {
            (r != 1).then_some((r * 3 + c) as f64)
        })
        .with_block_size(2, 2);
        let b = ValueGrid::from_fn(grid(0.0), LayerInfo::new("b", "1"), |_, c| {
            (c != 2).then_some(10.0)
        });
        let mut d = DerivedLayer::new(
            LayerInfo::new("a_plus_b", "1"),
            vec![Box::new(a), Box::new(b)],
            |v| v[0] + v[1],
        )
        .unwrap();
        assert_eq!(d.block_size(), (2, 2));
        assert_eq!(d.input_names(), vec!["a", "b"]);
        let w = d.read_values(Window::new(0, 1, 3, 2)).unwrap();
        assert_eq!(
            w.cells,
            vec![Some(11.0), None, None, None, Some(17.0), None]
        );
        let mut c = d.try_clone_values().unwrap();
        assert_eq!(
            c.read_values(Window::new(0, 1, 3, 2)).unwrap().cells,
            w.cells
        );
        let all = ValueGrid::read_all(&mut d).unwrap();
        assert_eq!(all.get(2, 0), Some(16.0));
        assert!(d.read_values(Window::new(2, 2, 2, 2)).is_err());
    }

    #[test]
    fn non_finite_results_are_no_data() {
        let a = ValueGrid::from_fn(grid(0.0), LayerInfo::new("a", "1"), |_, c| Some(c as f64));
        let mut d = DerivedLayer::new(LayerInfo::new("inv", "1"), vec![Box::new(a)], |v| {
            1.0 / v[0]
        })
        .unwrap();
        let w = d.read_values(Window::new(0, 0, 1, 3)).unwrap();
        assert_eq!(w.cells, vec![None, Some(1.0), Some(0.5)]);
    }

    #[test]
    fn refuses_inputs_on_other_grids_naming_them() {
        let a = ValueGrid::from_fn(grid(0.0), LayerInfo::new("erosivity", "1"), |_, _| {
            Some(1.0)
        });
        let b = ValueGrid::from_fn(grid(0.5), LayerInfo::new("ls", "1"), |_, _| Some(1.0));
        let e = DerivedLayer::product(
            LayerInfo::new("rkls", "t/(ha·a)"),
            vec![Box::new(a), Box::new(b)],
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("\"ls\"") && msg.contains("\"erosivity\""),
            "{msg}"
        );
        let e = DerivedLayer::product(LayerInfo::new("rkls", "t/(ha·a)"), vec![]).unwrap_err();
        assert!(matches!(e, ModelError::NoInputs { .. }));
    }
}
