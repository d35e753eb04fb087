//! Hand-checkable coverage cases (after exactextract's test_raster_cell_intersection.cpp).

use geo::Area;
use geo_types::{polygon, LineString, MultiPolygon, Polygon};
use gep_core::{CrsInfo, Ellipsoid, Grid, Window};
use gep_zonal::{coverage, polygon_area_m2, PreparedPolygon};

fn grid3() -> Grid {
    Grid::new(0.0, 3.0, 1.0, 1.0, 3, 3, CrsInfo::projected("local")).unwrap()
}

fn mp(p: Polygon<f64>) -> MultiPolygon<f64> {
    MultiPolygon::new(vec![p])
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Polygon<f64> {
    polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1)]
}

fn fr(p: &MultiPolygon<f64>, g: &Grid) -> Vec<f64> {
    coverage(p, g, g.full_window()).unwrap().fractions
}

fn assert_close(a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol, "cell {i}: {x} vs {y}\n{a:?}\n{b:?}");
    }
}

#[test]
fn rectangle_quarter_half_full() {
    let f = fr(&mp(rect(0.5, 0.5, 2.5, 2.5)), &grid3());
    assert_eq!(f, vec![0.25, 0.5, 0.25, 0.5, 1.0, 0.5, 0.25, 0.5, 0.25]);
}

#[test]
fn winding_does_not_matter() {
    let mut p = rect(0.5, 0.5, 2.5, 2.5);
    p.exterior_mut(|r| r.0.reverse());
    assert_eq!(
        fr(&mp(p), &grid3()),
        vec![0.25, 0.5, 0.25, 0.5, 1.0, 0.5, 0.25, 0.5, 0.25]
    );
}

#[test]
fn triangle() {
    // Lower-left half of the grid, split by the diagonal from (0,0) to (3,3).
    let t = polygon![(x: 0.0, y: 0.0), (x: 3.0, y: 0.0), (x: 0.0, y: 3.0)];
    let f = fr(&mp(t), &grid3());
    // Below the anti-diagonal x + y = 3 (row 0 is the top row): cells on it are half covered.
    assert_close(&f, &[0.5, 0.0, 0.0, 1.0, 0.5, 0.0, 1.0, 1.0, 0.5], 1e-15);
    let t = polygon![(x: 0.0, y: 0.0), (x: 3.0, y: 0.0), (x: 3.0, y: 3.0)];
    let f = fr(&mp(t), &grid3());
    assert_close(&f, &[0.0, 0.0, 0.5, 0.0, 0.5, 1.0, 0.5, 1.0, 1.0], 1e-15);
}

#[test]
fn polygon_with_hole() {
    let p = Polygon::new(
        LineString::from(vec![
            (0.0, 0.0),
            (3.0, 0.0),
            (3.0, 3.0),
            (0.0, 3.0),
            (0.0, 0.0),
        ]),
        vec![LineString::from(vec![
            (1.0, 1.0),
            (2.0, 1.0),
            (2.0, 2.0),
            (1.0, 2.0),
            (1.0, 1.0),
        ])],
    );
    assert_eq!(
        fr(&mp(p), &grid3()),
        vec![1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0]
    );
    // A hole wound the same way as its shell is still a hole.
    let p = Polygon::new(
        LineString::from(vec![
            (0.0, 0.0),
            (3.0, 0.0),
            (3.0, 3.0),
            (0.0, 3.0),
            (0.0, 0.0),
        ]),
        vec![LineString::from(vec![
            (1.5, 1.5),
            (2.5, 1.5),
            (2.5, 2.5),
            (1.5, 2.5),
            (1.5, 1.5),
        ])],
    );
    assert_eq!(
        fr(&mp(p), &grid3()),
        vec![1.0, 0.75, 0.75, 1.0, 0.75, 0.75, 1.0, 1.0, 1.0]
    );
}

#[test]
fn multipolygon() {
    let m = MultiPolygon::new(vec![rect(0.0, 2.0, 1.0, 3.0), rect(1.5, 0.0, 3.0, 0.5)]);
    assert_eq!(
        fr(&m, &grid3()),
        vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.25, 0.5]
    );
}

#[test]
fn edges_on_cell_lines() {
    let f = fr(&mp(rect(1.0, 1.0, 2.0, 3.0)), &grid3());
    assert_eq!(f, vec![0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
    let f = fr(&mp(rect(0.0, 0.0, 3.0, 3.0)), &grid3());
    assert_eq!(f, vec![1.0; 9]);
}

#[test]
fn smaller_than_a_cell_and_tiny() {
    let f = fr(&mp(rect(1.25, 1.25, 1.75, 1.5)), &grid3());
    assert_close(&f, &[0.0, 0.0, 0.0, 0.0, 0.125, 0.0, 0.0, 0.0, 0.0], 1e-15);
    let f = fr(&mp(rect(1.2, 1.2, 1.2001, 1.2001)), &grid3());
    assert!((f[4] - 1e-8).abs() < 1e-14, "{}", f[4]);
    assert_eq!(f.iter().filter(|x| **x != 0.0).count(), 1);
}

#[test]
fn partly_outside_the_raster() {
    let g = grid3();
    // From x = -1 to 1.5 and y = 2 to 4: 1.5 x 1 inside the top row, the rest outside.
    let p = mp(rect(-1.0, 2.0, 1.5, 4.0));
    let f = fr(&p, &g);
    assert_eq!(f, vec![1.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    let prep = PreparedPolygon::new(&p, &g).unwrap();
    assert!((prep.outside_area(&g).to_m2() - 3.5).abs() < 1e-9);
    assert!((polygon_area_m2(&p, &g) - 5.0).abs() < 1e-9);
    // Entirely outside.
    let p = mp(rect(10.0, 10.0, 11.0, 12.0));
    assert_eq!(fr(&p, &g), vec![0.0; 9]);
    let prep = PreparedPolygon::new(&p, &g).unwrap();
    assert!((prep.outside_area(&g).to_m2() - 2.0).abs() < 1e-9);
}

#[test]
fn windows_agree_with_the_whole_grid_bitwise() {
    let g = Grid::new(0.0, 10.0, 1.0, 1.0, 10, 10, CrsInfo::projected("local")).unwrap();
    let p = mp(
        polygon![(x: 0.3, y: 0.7), (x: 9.1, y: 1.9), (x: 7.77, y: 9.6), (x: 4.0, y: 5.0), (x: 1.2, y: 8.8)],
    );
    let whole = coverage(&p, &g, g.full_window()).unwrap();
    for w in [
        Window::new(2, 3, 4, 5),
        Window::new(0, 5, 10, 1),
        Window::new(7, 0, 3, 10),
    ] {
        let part = coverage(&p, &g, w).unwrap();
        for r in 0..w.rows {
            for c in 0..w.cols {
                assert_eq!(
                    part.get(r, c).to_bits(),
                    whole.get(w.row_off + r, w.col_off + c).to_bits()
                );
            }
        }
    }
    let sum: f64 = whole.fractions.iter().sum();
    assert!((sum - p.unsigned_area()).abs() < 1e-12 * p.unsigned_area());
}

#[test]
fn geographic_grid_area() {
    // 0.25° cells between 30°N and 31°N.
    let g = Grid::new(
        120.0,
        31.0,
        0.25,
        0.25,
        4,
        4,
        CrsInfo::geographic("EPSG:4490", Ellipsoid::WGS84),
    )
    .unwrap();
    let whole = mp(rect(120.0, 30.0, 121.0, 31.0));
    let a = polygon_area_m2(&whole, &g);
    let expect: f64 = (0..4).map(|r| 4.0 * g.cell_area_m2(r).0).sum();
    assert!((a - expect).abs() < 1e-9 * expect);
    // Half of each cell of the top row: half the row's area.
    let half = mp(rect(120.0, 30.875, 121.0, 31.0));
    let expect = 2.0 * g.cell_area_m2(0).0;
    assert!((polygon_area_m2(&half, &g) - expect).abs() < 1e-9 * expect);
    assert_eq!(&fr(&half, &g)[..4], &[0.5; 4]);
}

#[test]
fn geographic_tally_conserves_area() {
    use gep_core::{Level, MemRaster, NoProgress, Zone};
    use gep_zonal::{tally, TallyOptions};
    let g = Grid::new(
        119.5,
        30.5,
        0.01,
        0.01,
        40,
        50,
        CrsInfo::geographic("EPSG:4490", Ellipsoid::WGS84),
    )
    .unwrap();
    let src = MemRaster::from_fn(g.clone(), |r, c| {
        if (r + c) % 5 == 0 {
            None
        } else {
            Some(((r / 4) % 3) as i32)
        }
    });
    // A triangle hanging over the north and east edges.
    let p = mp(polygon![(x: 119.62, y: 30.13), (x: 120.07, y: 30.31), (x: 119.8, y: 30.58)]);
    let z = Zone {
        id: "t".into(),
        name: String::new(),
        level: Level::Village,
        parent: None,
        geometry: p.clone(),
    };
    let t = tally(
        &src,
        &[z],
        &TallyOptions {
            window_rows: 7,
            window_cols: 9,
            threads: 2,
        },
        &NoProgress,
    )
    .unwrap();
    let a = polygon_area_m2(&p, &g);
    let zt = &t.zones[0];
    assert!(zt.outside.to_m2() > 0.0 && zt.nodata.to_m2() > 0.0);
    assert!(
        (zt.total().to_m2() - a).abs() <= 1e-9 * a,
        "{} vs {a}",
        zt.total().to_m2()
    );
    // Roughly the planar area at 30.3°N: a sanity check of the ellipsoidal basis (±1 %).
    let deg2 = p.unsigned_area();
    let approx = deg2 * 111_320.0 * 110_850.0 * 30.3f64.to_radians().cos();
    assert!((a / approx - 1.0).abs() < 0.01, "{a} vs {approx}");
}

#[test]
fn zone_in_the_wrong_crs_is_refused() {
    use gep_core::{Level, MemRaster, NoProgress, Zone};
    use gep_zonal::{tally, TallyOptions, ZonalError};
    let g = Grid::new(
        119.5,
        30.5,
        0.01,
        0.01,
        4,
        5,
        CrsInfo::geographic("EPSG:4490", Ellipsoid::WGS84),
    )
    .unwrap();
    let src = MemRaster::from_fn(g, |_, _| Some(1));
    let z = Zone {
        id: "metres".into(),
        name: String::new(),
        level: Level::Village,
        parent: None,
        geometry: mp(rect(500_000.0, 3_300_000.0, 600_000.0, 3_400_000.0)),
    };
    let e = tally(&src, &[z], &TallyOptions::default(), &NoProgress).unwrap_err();
    assert!(matches!(e, ZonalError::ZoneTooLarge { .. }), "{e}");
    assert!(e.to_string().contains("metres"));
}

/// Columns a thin diagonal sliver covers in a strip of rows: only around the diagonal there,
/// not its whole bounding box; nothing in rows it does not reach.
#[test]
fn column_range_of_a_diagonal_sliver_by_rows() {
    // 100 x 100 cells of 1 m, y up; the sliver runs from (0, 100) to (100, 0), 0.5 m thick.
    let g = Grid::new(0.0, 100.0, 1.0, 1.0, 100, 100, CrsInfo::projected("local")).unwrap();
    let sliver = mp(
        polygon![(x: 0.0, y: 100.0), (x: 0.5, y: 100.0), (x: 100.0, y: 0.5),
        (x: 100.0, y: 0.0), (x: 99.5, y: 0.0), (x: 0.0, y: 99.5)],
    );
    let p = PreparedPolygon::new(&sliver, &g).unwrap();
    // Rows 10..20 (y from 90 down to 80): x from 10 - 0.5 to 20 + 0.5 around the diagonal.
    assert_eq!(p.col_range_in_rows(10, 20), Some((9, 21)));
    assert_eq!(p.col_range_in_rows(0, 1), Some((0, 2)));
    // Outside the polygon's rows.
    assert_eq!(p.col_range_in_rows(100, 120), None);
    assert_eq!(p.col_range_in_rows(-20, -1), None);
    // The whole box.
    assert_eq!(p.col_range_in_rows(0, 100), Some((0, 100)));
}
