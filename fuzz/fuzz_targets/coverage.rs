//! Exact coverage on random polygons over a small random grid.
//!
//! * every fraction is finite and in `[0, 1]`, for any ring (simple or not);
//! * any sub-window's fractions are bit-identical to the same cells of the whole grid;
//! * for valid polygons (geo's `Validation`) on a planar grid,
//!   Σ fraction × cell area + `outside_area` == geo's `unsigned_area` within 1e-9 relative
//!   (+ a tiny absolute term: `SNAP_TO_ONE` per cell and the 2⁻⁴⁰ m² resolution of
//!   `ExactArea` per row piece of `outside_area`), and `polygon_area_m2` agrees too;
//! * on a geographic grid, Σ fraction × cell area(row) + `outside_area` == `polygon_area_m2`;
//! * a NaN or infinite vertex makes `PreparedPolygon::new` return `Err`.
//!
//! Coordinates are multiples of 1/4096 of a cell added to an origin that is a multiple of 256
//! cells, so every vertex is exact in f64 and geo's reference area is computed on the same
//! polygon translated to the grid's origin (no cancellation in the reference).
#![no_main]

use arbitrary::Arbitrary;
use geo::{Area, Validation};
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use gep_core::extent::EXACT_AREA_FRACTION_BITS;
use gep_core::{CrsInfo, Ellipsoid, Grid, Window};
use gep_zonal::{polygon_area_m2, PreparedPolygon, SNAP_TO_ONE};
use libfuzzer_sys::fuzz_target;

/// Cell sizes in metres (planar) — all with few significant bits.
const CELLS: [f64; 6] = [0.5, 1.0, 2.5, 10.0, 30.0, 100.0];
/// Vertices may lie this many cells beyond the grid on every side.
const MARGIN: i64 = 2;
/// Sub-cell resolution of a vertex.
const STEPS: i64 = 4096;

#[derive(Debug, Arbitrary)]
struct Input {
    origin_x: i16,
    origin_y: i8,
    cell_w: u8,
    cell_h: u8,
    rows: u8,
    cols: u8,
    geographic: bool,
    /// Snap vertices to 1/2^(snap % 13) cell: 0 puts them on cell corners.
    snap: u8,
    ring: Vec<(u16, u16)>,
    hole: Option<Vec<(u16, u16)>>,
    window: (u8, u8, u8, u8),
    bad_vertex: u8,
    bad_kind: u8,
}

/// A vertex in cell units `(t, s)`: `t` cells right of the grid's left edge, `s` cells down
/// from its top edge.
fn to_cells(p: (u16, u16), rows: i64, cols: i64, snap: u8) -> (f64, f64) {
    let q = STEPS >> (snap % 13).min(12); // granularity in steps
    let q = STEPS / (STEPS / q.max(1)).max(1);
    let span_x = (cols + 2 * MARGIN) * STEPS;
    let span_y = (rows + 2 * MARGIN) * STEPS;
    let tx = (p.0 as i64 % span_x) / q * q - MARGIN * STEPS;
    let ty = (p.1 as i64 % span_y) / q * q - MARGIN * STEPS;
    (tx as f64 / STEPS as f64, ty as f64 / STEPS as f64)
}

fn ring(
    pts: &[(u16, u16)],
    rows: i64,
    cols: i64,
    snap: u8,
    map: &impl Fn((f64, f64)) -> Coord<f64>,
) -> LineString<f64> {
    let mut cs: Vec<Coord<f64>> = pts
        .iter()
        .map(|&p| map(to_cells(p, rows, cols, snap)))
        .collect();
    cs.push(cs[0]);
    LineString::new(cs)
}

fuzz_target!(|input: Input| {
    if input.ring.len() < 3 {
        return;
    }
    let rows = 1 + (input.rows % 16) as i64;
    let cols = 1 + (input.cols % 16) as i64;
    let ring_pts = &input.ring[..input.ring.len().min(40)];
    let hole_pts = input
        .hole
        .as_ref()
        .filter(|h| h.len() >= 3)
        .map(|h| &h[..h.len().min(40)]);

    let (grid, cw, ch) = if input.geographic {
        // Cells of 1/1024 .. 6/1024 degree; tops within ±80°.
        let cw = (1 + input.cell_w % 6) as f64 / 1024.0;
        let ch = (1 + input.cell_h % 6) as f64 / 1024.0;
        let left = input.origin_x as f64 % 180.0;
        let top = (input.origin_y as f64 % 80.0).max(-79.0);
        let crs = CrsInfo::geographic("EPSG:4490", Ellipsoid::CGCS2000);
        (
            Grid::new(left, top, cw, ch, rows as usize, cols as usize, crs).unwrap(),
            cw,
            ch,
        )
    } else {
        let cw = CELLS[input.cell_w as usize % CELLS.len()];
        let ch = CELLS[input.cell_h as usize % CELLS.len()];
        let left = input.origin_x as f64 * 256.0 * cw;
        let top = input.origin_y as f64 * 4096.0 * ch;
        let crs = CrsInfo::projected("local");
        (
            Grid::new(left, top, cw, ch, rows as usize, cols as usize, crs).unwrap(),
            cw,
            ch,
        )
    };
    let (left, top) = (grid.left, grid.top);

    let world = |(t, s): (f64, f64)| Coord {
        x: left + t * cw,
        y: top - s * ch,
    };
    let local = |(t, s): (f64, f64)| Coord {
        x: t * cw,
        y: -s * ch,
    };
    let build = |map: &dyn Fn((f64, f64)) -> Coord<f64>| {
        let ext = ring(ring_pts, rows, cols, input.snap, &map);
        let holes: Vec<LineString<f64>> = hole_pts
            .map(|h| vec![ring(h, rows, cols, input.snap, &map)])
            .unwrap_or_default();
        Polygon::new(ext, holes)
    };
    let poly = build(&world);
    let poly_local = build(&local);
    let mp = MultiPolygon::new(vec![poly.clone()]);

    let prepared = PreparedPolygon::new(&mp, &grid).expect("finite vertices are accepted");
    let full = prepared.coverage(grid.full_window());
    for (i, f) in full.fractions.iter().enumerate() {
        assert!(
            f.is_finite() && (0.0..=1.0).contains(f),
            "cell {i}: fraction {f} outside [0, 1]"
        );
    }

    // A sub-window gives bit-identical fractions.
    let (wr, wc) = (
        input.window.0 as usize % rows as usize,
        input.window.1 as usize % cols as usize,
    );
    let win = Window::new(
        wr,
        wc,
        1 + input.window.2 as usize % (rows as usize - wr),
        1 + input.window.3 as usize % (cols as usize - wc),
    );
    let sub = prepared.coverage(win);
    for r in 0..win.rows {
        for c in 0..win.cols {
            let a = sub.get(r, c);
            let b = full.get(win.row_off + r, win.col_off + c);
            assert!(
                a.to_bits() == b.to_bits(),
                "window {win:?} cell ({r}, {c}): {a} != whole-grid {b}"
            );
        }
    }

    // Conservation: covered cells + the part beyond the grid == the polygon's area.
    let covered: f64 = (0..rows as usize)
        .map(|r| {
            let cell = grid.cell_area_m2(r as i64).0;
            (0..cols as usize).map(|c| full.get(r, c)).sum::<f64>() * cell
        })
        .sum();
    let total = covered + prepared.outside_area(&grid).to_m2();
    let exact = polygon_area_m2(&mp, &grid);
    let max_cell = (0..rows)
        .map(|r| grid.cell_area_m2(r).0)
        .fold(0.0, f64::max);
    // Absolute slack: SNAP_TO_ONE per cell, and half an ExactArea quantum (2⁻⁴⁰ m²) per row
    // piece `outside_area` rounds (above, below, left and right of the grid).
    let quantum = (-(EXACT_AREA_FRACTION_BITS as f64)).exp2();
    let abs_tol = max_cell * (2.0 * SNAP_TO_ONE * (rows * cols) as f64 + 1e-13)
        + quantum * 3.0 * (rows + 2 * MARGIN + 1) as f64;
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()) + abs_tol;

    // geo's validation accepts a zero-area (collinear) shell, which is not a simple polygon.
    let simple =
        poly.is_valid() && Polygon::new(poly.exterior().clone(), vec![]).unsigned_area() > 0.0;
    if simple {
        assert!(
            close(total, exact),
            "Σ fraction × cell area + outside = {total} but polygon_area_m2 = {exact}"
        );
        if !input.geographic {
            let reference = poly_local.unsigned_area();
            assert!(
                close(total, reference),
                "Σ fraction × cell area + outside = {total} but geo unsigned_area = {reference}"
            );
            assert!(
                close(exact, reference),
                "polygon_area_m2 = {exact} but geo unsigned_area = {reference}"
            );
        }
    } else {
        assert!(
            exact.is_finite() && exact >= 0.0,
            "polygon_area_m2 = {exact}"
        );
    }

    // Non-finite vertices are refused.
    let bad = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY][input.bad_kind as usize % 3];
    let mut ext: Vec<Coord<f64>> = poly.exterior().0.clone();
    let i = input.bad_vertex as usize % (ext.len() - 1);
    if input.bad_kind & 4 == 0 {
        ext[i].x = bad;
    } else {
        ext[i].y = bad;
    }
    if i == 0 {
        let last = ext.len() - 1;
        ext[last] = ext[0];
    }
    let bad_mp = MultiPolygon::new(vec![Polygon::new(LineString::new(ext), vec![])]);
    assert!(
        PreparedPolygon::new(&bad_mp, &grid).is_err(),
        "a vertex {bad} was accepted"
    );
    assert!(polygon_area_m2(&bad_mp, &grid).is_nan());
});
