//! Properties of coverage and tallies on random polygons.

use geo::Area;
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use gep_core::{ClassCode, CrsInfo, ExtentTable, Grid, Level, MemRaster, NoProgress, Zone};
use gep_zonal::{
    coverage, polygon_area_m2, tally, tally_grouped, tally_windows, PreparedPolygon,
    SparseCoverage, TallyOptions,
};
use proptest::prelude::*;

/// A 30 m grid at CGCS2000 3° GK-like coordinates, so offsets are realistic.
fn grid(rows: usize, cols: usize) -> Grid {
    Grid::new(
        500_000.0,
        3_300_000.0,
        30.0,
        30.0,
        rows,
        cols,
        CrsInfo::projected("EPSG:4549"),
    )
    .unwrap()
}

/// A star-shaped (hence simple) polygon around `(cx, cy)` in cell units of `g`.
fn star(g: &Grid, cx: f64, cy: f64, radii: &[f64], angle_jitter: &[f64]) -> MultiPolygon<f64> {
    let n = radii.len();
    let mut pts: Vec<Coord<f64>> = (0..n)
        .map(|i| {
            let a = (i as f64 + 0.9 * angle_jitter[i]) / n as f64 * std::f64::consts::TAU;
            let (u, v) = (cx + radii[i] * a.cos(), cy + radii[i] * a.sin());
            Coord {
                x: g.left + u * g.cell_width,
                y: g.top - v * g.cell_height,
            }
        })
        .collect();
    pts.push(pts[0]);
    MultiPolygon::new(vec![Polygon::new(LineString(pts), vec![])])
}

fn star_strategy(max_r: f64) -> impl Strategy<Value = (f64, f64, Vec<f64>, Vec<f64>)> {
    (3usize..24).prop_flat_map(move |n| {
        (
            max_r..(20.0 - max_r),
            max_r..(20.0 - max_r),
            prop::collection::vec(0.01..max_r, n),
            prop::collection::vec(0.0..1.0f64, n),
        )
    })
}

/// Villages from stars, zone `i` shifted left by `shifts[i % shifts.len()]` cells.
fn star_zones(g: &Grid, stars: &[(f64, f64, Vec<f64>, Vec<f64>)], shifts: &[f64]) -> Vec<Zone> {
    stars
        .iter()
        .enumerate()
        .map(|(i, (cx, cy, r, j))| Zone {
            id: format!("z{i}"),
            name: String::new(),
            level: Level::Village,
            parent: None,
            geometry: star(g, cx - shifts[i % shifts.len()], *cy, r, j),
        })
        .collect()
}

fn patchy(g: &Grid, seed: u64) -> MemRaster {
    MemRaster::from_fn(g.clone(), move |r, c| {
        let h = (r as u64 / 3)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add((c as u64 / 2).wrapping_mul(0xC2B2_AE3D_27D4_EB4F))
            .wrapping_add(seed);
        let h = h ^ (h >> 29);
        match h % 7 {
            0 => None,
            k => Some(k as ClassCode * 10),
        }
    })
}

/// 64 cases by default (a few seconds in debug); `PROPTEST_CASES=5000` for a stress run.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fractions_in_unit_interval_and_sum_to_area((cx, cy, radii, jit) in star_strategy(9.5)) {
        let g = grid(20, 20);
        let p = star(&g, cx, cy, &radii, &jit);
        let cov = coverage(&p, &g, g.full_window()).unwrap();
        prop_assert!(cov.fractions.iter().all(|f| (0.0..=1.0).contains(f)));
        let area: f64 = cov.fractions.iter().sum::<f64>() * g.cell_area_m2(0).0;
        let expect = p.unsigned_area();
        prop_assert!((area - expect).abs() <= 1e-9 * expect, "{area} vs {expect}");
        let a2 = polygon_area_m2(&p, &g);
        prop_assert!((a2 - expect).abs() <= 1e-9 * expect, "{a2} vs {expect}");
    }

    #[test]
    fn complementary_halves_sum_to_one(ys in prop::collection::vec(0.0..8.0f64, 2..12), xs in prop::collection::vec(0.0..1.0f64, 12)) {
        // An 8 x 8 square cut by a polyline running left to right.
        let g = grid(8, 8);
        let n = ys.len();
        let mut xs: Vec<f64> = xs[..n].to_vec();
        xs.sort_by(f64::total_cmp);
        xs[0] = 0.0;
        xs[n - 1] = 1.0;
        let to = |u: f64, v: f64| Coord { x: g.left + u * 30.0, y: g.top - v * 30.0 };
        let line: Vec<Coord<f64>> = (0..n).map(|i| to(8.0 * xs[i], ys[i])).collect();
        let mut top = line.clone();
        top.extend([to(8.0, 0.0), to(0.0, 0.0), line[0]]);
        let mut bottom = line.clone();
        bottom.extend([to(8.0, 8.0), to(0.0, 8.0), line[0]]);
        let a = coverage(&MultiPolygon::new(vec![Polygon::new(LineString(top), vec![])]), &g, g.full_window()).unwrap();
        let b = coverage(&MultiPolygon::new(vec![Polygon::new(LineString(bottom), vec![])]), &g, g.full_window()).unwrap();
        for (x, y) in a.fractions.iter().zip(&b.fractions) {
            prop_assert!((x + y - 1.0).abs() < 1e-12, "{x} + {y}");
        }
    }

    #[test]
    fn grouped_tally_reports_each_group_once_with_its_final_tally(
        stars in prop::collection::vec(star_strategy(7.0), 1..7),
        cut in prop::collection::vec(any::<bool>(), 7),
        seed in any::<u64>(),
        wr in 1usize..9, wc in 1usize..9, threads in 1usize..4,
    ) {
        let g = grid(20, 20);
        // Some zones shifted partly or wholly off the raster.
        let zones = star_zones(&g, &stars, &[0.0, 5.0, 40.0]);
        // Consecutive groups, split where `cut` says.
        let mut groups: Vec<std::ops::Range<usize>> = Vec::new();
        for (i, &c) in cut.iter().enumerate().take(zones.len()) {
            match groups.last_mut() {
                Some(g) if !c => g.end = i + 1,
                _ => groups.push(i..i + 1),
            }
        }
        let src = patchy(&g, seed);
        let opts = TallyOptions { window_rows: wr, window_cols: wc, threads };
        let joint = tally(&src, &zones, &opts, &NoProgress).unwrap();
        let mut seen: Vec<(usize, Vec<gep_core::ZoneTally>)> = Vec::new();
        let t = tally_grouped(&src, &zones, &groups, &opts, &NoProgress, &mut |k, z| seen.push((k, z.to_vec()))).unwrap();
        prop_assert_eq!(&t, &joint);
        let mut ids: Vec<usize> = seen.iter().map(|(k, _)| *k).collect();
        ids.sort_unstable();
        prop_assert_eq!(ids, (0..groups.len()).collect::<Vec<_>>());
        for (k, z) in &seen {
            prop_assert_eq!(z.as_slice(), &joint.zones[groups[*k].clone()]);
        }
    }

    #[test]
    fn tallies_do_not_depend_on_threads_or_windows(
        stars in prop::collection::vec(star_strategy(7.0), 1..5),
        seed in any::<u64>(),
        wr in 1usize..9, wc in 1usize..9,
    ) {
        let g = grid(20, 20);
        // Shift some zones partly off the raster.
        let zones = star_zones(&g, &stars, &[0.0, 5.0]);
        let src = patchy(&g, seed);
        let base = tally(&src, &zones, &TallyOptions { window_rows: 20, window_cols: 20, threads: 1 }, &NoProgress).unwrap();
        for (threads, r, c) in [(2, wr, wc), (4, wr, wc), (1, wc, wr), (3, 7, 3)] {
            let t = tally(&src, &zones, &TallyOptions { window_rows: r, window_cols: c, threads }, &NoProgress).unwrap();
            prop_assert_eq!(&t, &base);
        }
        // Conservation: classes + nodata + outside = polygon area on the grid basis.
        for (z, t) in zones.iter().zip(&base.zones) {
            let a = polygon_area_m2(&z.geometry, &g);
            prop_assert!((t.total().to_m2() - a).abs() <= 1e-9 * a, "{} vs {a}", t.total().to_m2());
        }
        // Disjoint windows tallied separately merge into the cell part of the whole tally.
        let mut merged = ExtentTable::for_zones(&zones);
        let ws = g.windows(wr, wc);
        let (w1, w2) = ws.split_at(ws.len() / 2);
        for part in [w1, w2] {
            merged.merge(&tally_windows(&src, &zones, part, &TallyOptions { threads: 2, ..Default::default() }, &NoProgress).unwrap());
        }
        for (m, b) in merged.zones.iter_mut().zip(&base.zones) {
            m.outside = b.outside;
        }
        prop_assert_eq!(&merged, &base);
    }
}

proptest! {
    #![proptest_config(config())]

    /// The sparse coverage used by the tally gives the dense fractions bit for bit, for
    /// any window (also beyond the grid), including overlapping parts (winding 2).
    #[test]
    fn sparse_coverage_equals_dense(
        stars in prop::collection::vec(star_strategy(7.0), 1..3),
        r0 in -3i64..18, c0 in -3i64..18, rows in 1usize..12, cols in 1usize..12,
    ) {
        let g = grid(20, 20);
        let mut parts = Vec::new();
        for (cx, cy, r, j) in &stars {
            parts.extend(star(&g, *cx, *cy, r, j).0);
        }
        let p = PreparedPolygon::new(&MultiPolygon::new(parts), &g).unwrap();
        // Windows are on the infinite lattice; shift so offsets stay non-negative.
        let (r0, c0) = (r0.max(0) as usize, c0.max(0) as usize);
        let w = gep_core::Window::new(r0, c0, rows, cols);
        let dense = p.coverage(w).fractions;
        let mut sparse = SparseCoverage::default();
        p.sparse_into(w, &mut sparse);
        let sd = sparse.to_dense();
        prop_assert_eq!(dense.len(), sd.len());
        for (a, b) in dense.iter().zip(&sd) {
            prop_assert_eq!(a.to_bits(), b.to_bits(), "{} vs {}", a, b);
        }
    }

    /// The tally equals the per-cell definition: Σ ExactArea::from_m2(fraction × cell area)
    /// per class, from the dense coverage, also on a geographic grid (cell area varies by
    /// row) and with codes beyond 0..=255 and nodata.
    #[test]
    fn tally_equals_per_cell_definition(
        stars in prop::collection::vec(star_strategy(7.0), 1..4),
        seed in any::<u64>(),
        geographic in any::<bool>(),
        wr in 1usize..9, wc in 1usize..9,
    ) {
        let g = if geographic {
            Grid::new(120.0, 30.0, 0.01, 0.01, 20, 20,
                CrsInfo::geographic("EPSG:4490", gep_core::Ellipsoid::CGCS2000)).unwrap()
        } else {
            grid(20, 20)
        };
        let zones = star_zones(&g, &stars, &[0.0, 4.0]);
        let src = MemRaster::from_fn(g.clone(), move |r, c| {
            let h = ((r / 2) as u64 * 31 + (c / 3) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seed;
            match (h >> 40) % 5 {
                0 => None,
                1 => Some(300),
                2 => Some(-7),
                k => Some(k as ClassCode),
            }
        });
        let full = gep_core::RasterSource::read_window(&mut src.clone(), g.full_window()).unwrap();
        let t = tally_windows(&src, &zones, &g.windows(wr, wc), &TallyOptions { window_rows: wr, window_cols: wc, threads: 2 }, &NoProgress).unwrap();
        for (z, zt) in zones.iter().zip(&t.zones) {
            let cov = coverage(&z.geometry, &g, g.full_window()).unwrap();
            let mut expect: std::collections::BTreeMap<Option<ClassCode>, i128> = Default::default();
            for r in 0..g.rows {
                let a = g.cell_area_m2(r as i64).0;
                for c in 0..g.cols {
                    let f = cov.get(r, c);
                    let u = gep_core::ExactArea::from_m2(f * a).0;
                    if u != 0 {
                        *expect.entry(full.get(r, c)).or_default() += u;
                    }
                }
            }
            let mut got: std::collections::BTreeMap<Option<ClassCode>, i128> = zt.classes.iter().map(|(k, v)| (Some(*k), v.0)).collect();
            if zt.nodata.0 != 0 {
                got.insert(None, zt.nodata.0);
            }
            prop_assert_eq!(got, expect);
        }
    }
}

#[test]
fn tally_by_hand() {
    // 3 x 3 cells of 10 m; class = column (0, 1, 2) with row 1 col 2 nodata.
    let g = Grid::new(0.0, 30.0, 10.0, 10.0, 3, 3, CrsInfo::projected("local")).unwrap();
    let src = MemRaster::from_fn(g.clone(), |r, c| {
        if (r, c) == (1, 2) {
            None
        } else {
            Some(c as ClassCode)
        }
    });
    // The square from (5, 5) to (25, 25) plus a strip beyond the right edge (x 30..40).
    let sq = |x0: f64, y0: f64, x1: f64, y1: f64| {
        Polygon::new(
            LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]),
            vec![],
        )
    };
    let zone = Zone {
        id: "a".into(),
        name: "a".into(),
        level: Level::Village,
        parent: None,
        geometry: MultiPolygon::new(vec![sq(5.0, 5.0, 25.0, 25.0), sq(30.0, 0.0, 40.0, 30.0)]),
    };
    let t = tally(&src, &[zone], &TallyOptions::default(), &NoProgress).unwrap();
    let z = &t.zones[0];
    // Column 0: 0.25 + 0.5 + 0.25 cells = 100 m²; column 1: 0.5 + 1 + 0.5 = 200 m²;
    // column 2: 0.25 + 0.25 = 50 m² of class 2 and 50 m² nodata; 300 m² outside.
    assert_eq!(z.classes[&0].to_m2(), 100.0);
    assert_eq!(z.classes[&1].to_m2(), 200.0);
    assert_eq!(z.classes[&2].to_m2(), 50.0);
    assert_eq!(z.nodata.to_m2(), 50.0);
    assert_eq!(z.outside.to_m2(), 300.0);
}

proptest! {
    #![proptest_config(config())]

    /// Vertices on half-cell lattice points put many pieces exactly on grid lines and window
    /// edges; every window must still agree with the whole grid bit for bit.
    #[test]
    fn windows_match_whole_grid_on_grid_lines(
        (cx, cy, radii, jit) in star_strategy(9.0),
        r0 in 0usize..20, c0 in 0usize..20, nr in 1usize..20, nc in 1usize..20,
    ) {
        let g = grid(20, 20);
        let snap = |v: f64| (v * 2.0).round() / 2.0;
        let radii: Vec<f64> = radii.iter().map(|r| snap(*r).max(0.5)).collect();
        let mut p = star(&g, snap(cx), snap(cy), &radii, &jit);
        // Snapping may make the polygon self-intersect; window agreement must hold anyway.
        p.0[0].exterior_mut(|r| {
            for c in r.0.iter_mut() {
                c.x = g.left + snap((c.x - g.left) / 30.0) * 30.0;
                c.y = g.top - snap((g.top - c.y) / 30.0) * 30.0;
            }
        });
        let whole = coverage(&p, &g, g.full_window()).unwrap();
        let w = gep_core::Window::new(r0, c0, nr.min(20 - r0), nc.min(20 - c0));
        let part = coverage(&p, &g, w).unwrap();
        for r in 0..w.rows {
            for c in 0..w.cols {
                prop_assert_eq!(part.get(r, c).to_bits(), whole.get(w.row_off + r, w.col_off + c).to_bits());
            }
        }
        prop_assert!(whole.fractions.iter().all(|f| (0.0..=1.0).contains(f)));
    }
}
