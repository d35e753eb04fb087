//! Terrain layers from a DEM: slope, pit filling, D8 flow direction and accumulation, and the
//! RUSLE LS factor, one algorithm per file.
//!
//! The routing steps reproduce `pygeoprocessing.routing` 2.4.11 (the version `pip install
//! natcap.invest==3.20.2` brings; `routing.pyx` and `calculate_slope` are unchanged since
//! 2.4.10) cell for cell; [`terrain`] chains them as InVEST's SDR model does:
//! fill pits → slope of the filled DEM → D8 direction of the filled DEM → D8 accumulation → LS.

mod fill_pits;
mod flow_accumulation;
mod flow_direction;
mod ls_factor;
mod slope;

pub use fill_pits::fill_pits;
pub use flow_accumulation::flow_accumulation_d8;
pub use flow_direction::{flow_direction_d8, D8_COL_OFFSETS, D8_ROW_OFFSETS};
pub use ls_factor::{
    l_exponent_chinese, l_factor_mccool, ls_cell_chinese, ls_cell_invest, ls_chinese, ls_invest,
    ls_supplied, s_factor_chinese, LsAlgorithm, SUPPLIED_LS_MAX,
};
pub use slope::slope_percent;

use crate::error::ModelError;
use gep_core::{CrsKind, Grid, LayerInfo, ValueGrid};

/// Bytes of memory [`terrain`] needs per DEM cell, at its peak.
///
/// Counted: the caller's DEM (`Option<f64>`, 16 B), the five result layers (filled DEM, slope,
/// flow direction, flow accumulation, LS; 16 B each as `ValueGrid`s = 80 B), and the working
/// arrays alive while they are built (elevations `f64` 8 B, plus the largest transient step,
/// flow direction's plateau distances `f64` 8 B, direction `u8` and a visited mask `u8`; the
/// fill needs only a `bool` mask): 16 + 80 + 18 = 114, rounded up to 120 B.
///
/// Not counted: queues whose size follows the terrain, not the grid — Priority-Flood's open
/// cells (the front of the flood, 24 B each), the breadth-first queue of the largest flat, the
/// accumulation's stack along the longest flow path (8-24 B per cell *of that front, flat or
/// path*, a small fraction of the grid on real DEMs).
pub const ROUTING_BYTES_PER_CELL: u64 = 120;

/// The memory [`terrain`] needs for a grid, in bytes (`rows × cols ×`
/// [`ROUTING_BYTES_PER_CELL`]).
///
/// # Units
/// Bytes.
///
/// ```
/// use gep_core::{CrsInfo, Grid};
/// // A county of ~2,000 km² at 30 m: 1,500 × 1,500 cells.
/// let g = Grid::new(0.0, 0.0, 30.0, 30.0, 1500, 1500, CrsInfo::projected("EPSG:4549")).unwrap();
/// assert_eq!(gep_models::terrain::routing_memory_estimate(&g), 270_000_000);
/// ```
pub fn routing_memory_estimate(grid: &Grid) -> u64 {
    (grid.rows as u64) * (grid.cols as u64) * ROUTING_BYTES_PER_CELL
}

/// All terrain layers of one DEM, on the DEM's grid.
#[derive(Debug, Clone)]
pub struct Terrain {
    /// The DEM with its pits filled ([`fill_pits`]); layer `filled_dem`, the DEM's unit.
    pub filled_dem: ValueGrid,
    /// Percent slope of the filled DEM ([`slope_percent`]); layer `slope`, unit `%`.
    pub slope: ValueGrid,
    /// D8 flow direction of the filled DEM ([`flow_direction_d8`]); layer `flow_direction`,
    /// codes 0-7 (0 = east, counter-clockwise), `None` where no direction is defined.
    pub flow_direction: ValueGrid,
    /// D8 flow accumulation ([`flow_accumulation_d8`]); layer `flow_accumulation`, unit
    /// `cells`, counting the cell itself.
    pub flow_accumulation: ValueGrid,
    /// The LS factor by [`Terrain::algorithm`]; layer `ls`, unit `1`.
    pub ls: ValueGrid,
    /// The LS algorithm that ran (its [`LsAlgorithm::name`] goes into manifests).
    pub algorithm: LsAlgorithm,
}

/// Fills pits, computes slope, D8 flow direction and accumulation, and the LS factor of `dem`
/// by `algorithm`, holding the whole DEM in memory.
///
/// The chain is InVEST 3.20.2 SDR's (D8): [`fill_pits`] → [`slope_percent`] and
/// [`flow_direction_d8`] of the filled DEM → [`flow_accumulation_d8`] → LS. With
/// [`LsAlgorithm::Supplied`] the routing layers are still computed and the supplied LS is
/// checked ([`ls_supplied`]) and passed through.
///
/// # Units
/// As in [`Terrain`]; `memory_budget_bytes` in bytes.
///
/// # Errors
/// - [`ModelError::GeographicGrid`] or [`ModelError::NonSquareCells`]: the DEM must be on a
///   projected grid (metres) with square cells.
/// - [`ModelError::OverMemoryBudget`] when [`routing_memory_estimate`] exceeds
///   `memory_budget_bytes` (checked before anything is allocated).
/// - From the LS algorithm: invalid parameters, a supplied LS on another grid or out of range.
///
/// ```
/// use gep_core::{CrsInfo, Grid, LayerInfo, ValueGrid};
/// use gep_models::terrain::{terrain, LsAlgorithm};
/// // A plane tilted down to the east: 1 m per 10 m cell, i.e. 10 % slope.
/// let g = Grid::new(0.0, 30.0, 10.0, 10.0, 3, 4, CrsInfo::projected("local")).unwrap();
/// let dem = ValueGrid::from_fn(g, LayerInfo::new("dem", "m"), |_, c| Some(10.0 - c as f64));
/// let t = terrain(&dem, &LsAlgorithm::InvestD8 { l_max: 122.0 }, 1 << 20).unwrap();
/// assert_eq!(t.flow_direction.get(1, 1), Some(0.0)); // east
/// assert_eq!(t.flow_accumulation.get(1, 3), Some(4.0)); // the whole row, itself included
/// assert_eq!(t.slope.get(1, 1), Some(10.0));
/// assert_eq!(t.ls.info().name, "ls");
/// ```
pub fn terrain(
    dem: &ValueGrid,
    algorithm: &LsAlgorithm,
    memory_budget_bytes: u64,
) -> Result<Terrain, ModelError> {
    check_projected(dem)?;
    check_square(dem)?;
    let grid = dem.grid();
    let estimate = routing_memory_estimate(grid);
    if estimate > memory_budget_bytes {
        return Err(ModelError::OverMemoryBudget {
            layer: dem.info().name.clone(),
            rows: grid.rows,
            cols: grid.cols,
            cells: grid.rows as u64 * grid.cols as u64,
            bytes_per_cell: ROUTING_BYTES_PER_CELL,
            estimate_bytes: estimate,
            budget_bytes: memory_budget_bytes,
        });
    }
    algorithm.validate(grid)?;

    let (rows, cols) = (grid.rows, grid.cols);
    let mut z = to_nan_vec(dem);
    fill_pits::fill_pits_raw(rows, cols, &mut z);
    let slope = slope::slope_percent_raw(rows, cols, grid.cell_width, grid.cell_height, &z);
    let dir = flow_direction::flow_direction_raw(rows, cols, &z);
    let filled_dem = from_nan_vec(
        grid,
        LayerInfo::new("filled_dem", dem.info().unit.clone()),
        z,
    )?;
    let acc = flow_accumulation::flow_accumulation_raw(rows, cols, &dir);
    let flow_direction = ValueGrid::new(
        grid.clone(),
        LayerInfo::new("flow_direction", "1"),
        dir.iter()
            .map(|&d| (d != flow_direction::NO_DIRECTION).then_some(f64::from(d)))
            .collect(),
    )?;
    drop(dir);
    let ls = match algorithm {
        LsAlgorithm::InvestD8 { l_max } => {
            ls_factor::ls_invest_raw(&slope, &acc, grid.cell_width, *l_max)
        }
        LsAlgorithm::Chinese { lambda_max_m } => {
            ls_factor::ls_chinese_raw(&slope, &acc, grid.cell_width, *lambda_max_m)
        }
        LsAlgorithm::Supplied { ls } => to_nan_vec(&ls_supplied(ls)?),
    };
    Ok(Terrain {
        filled_dem,
        slope: from_nan_vec(grid, LayerInfo::new("slope", "%"), slope)?,
        flow_direction,
        flow_accumulation: from_nan_vec(grid, LayerInfo::new("flow_accumulation", "cells"), acc)?,
        ls: from_nan_vec(grid, LayerInfo::new("ls", "1"), ls)?,
        algorithm: algorithm.clone(),
    })
}

/// pygeoprocessing's block edge (`BLOCK_BITS = 8`): its routing functions visit the raster in
/// 256 × 256 blocks, block rows top to bottom, and cells row-major inside each block. Where a
/// plateau is first met decides how it drains, so the order is reproduced.
pub(crate) const BLOCK: usize = 256;

/// The cells of a `rows × cols` grid in pygeoprocessing's visiting order (see [`BLOCK`]).
pub(crate) fn block_order(rows: usize, cols: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..rows.div_ceil(BLOCK)).flat_map(move |br| {
        (0..cols.div_ceil(BLOCK)).flat_map(move |bc| {
            let r0 = br * BLOCK;
            let c0 = bc * BLOCK;
            (r0..(r0 + BLOCK).min(rows))
                .flat_map(move |r| (c0..(c0 + BLOCK).min(cols)).map(move |c| (r, c)))
        })
    })
}

/// The neighbour of (`row`, `col`) in D8 direction `dir`, if inside the grid.
#[inline]
pub(crate) fn neighbour(
    rows: usize,
    cols: usize,
    row: usize,
    col: usize,
    dir: usize,
) -> Option<usize> {
    let r = row as isize + D8_ROW_OFFSETS[dir] as isize;
    let c = col as isize + D8_COL_OFFSETS[dir] as isize;
    (r >= 0 && c >= 0 && (r as usize) < rows && (c as usize) < cols)
        .then(|| r as usize * cols + c as usize)
}

/// A layer as a dense vector, NaN where there is no data (the routing code's working form).
pub(crate) fn to_nan_vec(g: &ValueGrid) -> Vec<f64> {
    g.cells().iter().map(|v| v.unwrap_or(f64::NAN)).collect()
}

/// Back from the working form: NaN becomes `None`.
pub(crate) fn from_nan_vec(
    grid: &Grid,
    info: LayerInfo,
    v: Vec<f64>,
) -> Result<ValueGrid, ModelError> {
    let cells = v.into_iter().map(|x| (!x.is_nan()).then_some(x)).collect();
    Ok(ValueGrid::new(grid.clone(), info, cells)?)
}

pub(crate) fn check_projected(layer: &ValueGrid) -> Result<(), ModelError> {
    match layer.grid().crs.kind {
        CrsKind::Projected => Ok(()),
        CrsKind::Geographic(_) => Err(ModelError::GeographicGrid {
            layer: layer.info().name.clone(),
            crs: layer.grid().crs.description.clone(),
        }),
    }
}

pub(crate) fn check_square(layer: &ValueGrid) -> Result<(), ModelError> {
    let g = layer.grid();
    if (g.cell_width - g.cell_height).abs() > 1e-9 * g.cell_width {
        return Err(ModelError::NonSquareCells {
            layer: layer.info().name.clone(),
            cell_width: g.cell_width,
            cell_height: g.cell_height,
        });
    }
    Ok(())
}

/// Whether two grids are the same: [`Grid::same_cells`] with `a` as the reference (geometry
/// to 1e-9 of a cell, CRSs compared from their `CrsInfo`).
pub(crate) fn same_grid(a: &Grid, b: &Grid) -> bool {
    a.same_cells(b, gep_core::CrsCheck::Info).is_ok()
}

/// A grid described for error messages.
pub(crate) fn describe_grid(g: &Grid) -> String {
    format!(
        "{} x {} cells of {} x {} from ({}, {}) in {}",
        g.rows, g.cols, g.cell_width, g.cell_height, g.left, g.top, g.crs.description
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use gep_core::{CrsInfo, Ellipsoid};

    #[test]
    fn block_order_visits_256_blocks_row_major() {
        let cells: Vec<_> = block_order(2, 258).collect();
        assert_eq!(cells.len(), 516);
        assert_eq!(cells[255], (0, 255));
        assert_eq!(cells[256], (1, 0)); // next row of the first block
        assert_eq!(cells[512], (0, 256)); // then the second block
        assert_eq!(cells[515], (1, 257));
    }

    /// A 3 × 3 plane dipping south, 3 m per 30 m row (10 %), run through the whole chain.
    /// Every column drains south; the bottom row is a flat with no lower cell, so each of its
    /// cells drains off the grid (first cardinal neighbour outside: W, S, E). At (2, 1):
    /// FA = 3, λ = 3 × 30 = 90 m, θ = atan 0.1 = 5.71° → chinese LS = √(90/22.13) ×
    /// (16.8 sin θ − 0.5) = 2.0166 × 1.1717 = 2.3629.
    #[test]
    fn plane_through_the_chain_by_hand() {
        let g = Grid::new(0.0, 90.0, 30.0, 30.0, 3, 3, CrsInfo::projected("x")).unwrap();
        let dem = ValueGrid::from_fn(g, LayerInfo::new("dem", "m"), |r, _| {
            Some(100.0 - 3.0 * r as f64)
        });
        let t = terrain(
            &dem,
            &LsAlgorithm::Chinese {
                lambda_max_m: 300.0,
            },
            1 << 20,
        )
        .unwrap();
        assert_eq!(t.filled_dem.cells(), dem.cells());
        let dirs: Vec<_> = t
            .flow_direction
            .cells()
            .iter()
            .map(|d| d.unwrap())
            .collect();
        assert_eq!(dirs, vec![6.0, 6.0, 6.0, 6.0, 6.0, 6.0, 4.0, 6.0, 0.0]);
        let fa: Vec<_> = t
            .flow_accumulation
            .cells()
            .iter()
            .map(|d| d.unwrap())
            .collect();
        assert_eq!(fa, vec![1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 3.0, 3.0]);
        assert!(t.slope.cells().iter().all(|s| *s == Some(10.0)));
        let ls = t.ls.get(2, 1).unwrap();
        assert!((ls - 2.3629).abs() < 1e-4, "{ls}");
        assert_eq!(t.ls.info(), &LayerInfo::new("ls", "1"));
    }

    #[test]
    fn supplied_ls_passes_through_and_parameters_are_checked() {
        let g = Grid::new(0.0, 60.0, 30.0, 30.0, 2, 2, CrsInfo::projected("x")).unwrap();
        let dem = ValueGrid::from_fn(g.clone(), LayerInfo::new("dem", "m"), |r, c| {
            Some((r + c) as f64)
        });
        let ls = ValueGrid::from_fn(g, LayerInfo::new("ls_from_bureau", "1"), |r, _| {
            Some(r as f64 + 0.5)
        });
        let t = terrain(&dem, &LsAlgorithm::Supplied { ls: ls.clone() }, 1 << 20).unwrap();
        assert_eq!(t.ls.cells(), ls.cells());
        assert_eq!(t.algorithm.name(), "supplied");

        let other = Grid::new(30.0, 60.0, 30.0, 30.0, 2, 2, CrsInfo::projected("x")).unwrap();
        let shifted = ValueGrid::from_fn(other, LayerInfo::new("ls_from_bureau", "1"), |_, _| {
            Some(1.0)
        });
        let e = terrain(&dem, &LsAlgorithm::Supplied { ls: shifted }, 1 << 20).unwrap_err();
        assert!(e.to_string().contains("ls_from_bureau"), "{e}");

        for algo in [
            LsAlgorithm::InvestD8 { l_max: 0.0 },
            LsAlgorithm::Chinese {
                lambda_max_m: f64::NAN,
            },
        ] {
            let e = terrain(&dem, &algo, 1 << 20).unwrap_err();
            assert!(matches!(e, ModelError::InvalidParameter { .. }), "{e}");
        }
    }

    #[test]
    fn refuses_geographic_non_square_and_over_budget() {
        let geo = Grid::new(
            120.0,
            30.0,
            0.001,
            0.001,
            3,
            3,
            CrsInfo::geographic("EPSG:4490", Ellipsoid::CGCS2000),
        )
        .unwrap();
        let dem = ValueGrid::from_fn(geo, LayerInfo::new("dem", "m"), |_, _| Some(1.0));
        let algo = LsAlgorithm::InvestD8 { l_max: 122.0 };
        let e = terrain(&dem, &algo, u64::MAX).unwrap_err();
        assert!(matches!(e, ModelError::GeographicGrid { .. }), "{e}");

        let rect = Grid::new(0.0, 0.0, 30.0, 20.0, 3, 3, CrsInfo::projected("x")).unwrap();
        let dem = ValueGrid::from_fn(rect, LayerInfo::new("dem", "m"), |_, _| Some(1.0));
        let e = terrain(&dem, &algo, u64::MAX).unwrap_err();
        assert!(matches!(e, ModelError::NonSquareCells { .. }), "{e}");

        let g = Grid::new(0.0, 0.0, 30.0, 30.0, 100, 100, CrsInfo::projected("x")).unwrap();
        let dem = ValueGrid::from_fn(g, LayerInfo::new("dem", "m"), |_, _| Some(1.0));
        let e = terrain(&dem, &algo, 1_000_000).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("100 x 100"), "{msg}");
        assert!(msg.contains("1200000 bytes"), "{msg}");
        assert!(terrain(&dem, &algo, 1_200_000).is_ok());
    }
}
