//! Weighted sums of continuous layers ([`tally_values`]): a fixture worked out by hand, the
//! per-cell definition, determinism across threads, windows and shards, conservation, and
//! the errors.

use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use gep_core::{
    ClassCode, CoreError, CrsInfo, Ellipsoid, ExactArea, ExactSum, ExtentTable, Grid, LayerInfo,
    Level, MemRaster, NoProgress, RasterSource, ValueBlock, ValueGrid, ValueSource, WeightedTable,
    Window, Zone, ZoneSums,
};
use gep_zonal::{
    coverage, tally, tally_values, tally_values_grouped, tally_values_windows, TallyOptions,
    ZonalError,
};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn zone(id: &str, geometry: MultiPolygon<f64>) -> Zone {
    Zone {
        id: id.into(),
        name: id.into(),
        level: Level::Village,
        parent: None,
        geometry,
    }
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
    MultiPolygon::new(vec![Polygon::new(
        LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]),
        vec![],
    )])
}

fn opts(window_rows: usize, window_cols: usize, threads: usize) -> TallyOptions {
    TallyOptions {
        window_rows,
        window_cols,
        threads,
    }
}

/// 4 x 4 cells of 10 m from (0, 0) to (40, 40); row 0 is the northern one.
///
/// ```text
/// land cover        p (mm)               e (m)
/// 1  1  2  2        1   -   3   4        -5.5 everywhere,
/// 1  1  2  2        11  12  13  14       no data at (1, 1)
/// 1  2  2  2        21  22  -   24
/// -  2  2  2        31  32  33  34
/// ```
fn fixture() -> (MemRaster, ValueGrid, ValueGrid) {
    let g = Grid::new(0.0, 40.0, 10.0, 10.0, 4, 4, CrsInfo::projected("local")).unwrap();
    let lc = MemRaster::from_fn(g.clone(), |r, c| match (r, c) {
        (3, 0) => None,
        (0 | 1, 0 | 1) | (2, 0) => Some(1),
        _ => Some(2),
    });
    let p = ValueGrid::from_fn(g.clone(), LayerInfo::new("p", "mm"), |r, c| {
        (!matches!((r, c), (0, 1) | (2, 2))).then_some((10 * r + c + 1) as f64)
    });
    let e = ValueGrid::from_fn(g, LayerInfo::new("e", "m"), |r, c| {
        ((r, c) != (1, 1)).then_some(-5.5)
    });
    (lc, p, e)
}

#[test]
fn weighted_sums_by_hand() {
    let (lc, p, e) = fixture();
    // Columns 0 and 1 whole, column 2 half: x from 0 to 25 m, every row.
    let zones = vec![zone("a", rect(0.0, 0.0, 25.0, 40.0))];
    let layers: [&dyn ValueSource; 2] = [&p, &e];
    for (wr, wc, threads) in [(4, 4, 1), (1, 1, 2), (3, 2, 4), (2, 3, 2)] {
        let (extent, sums) =
            tally_values(&lc, &layers, &zones, &opts(wr, wc, threads), &NoProgress).unwrap();
        let t = &extent.zones[0];
        // Class 1: (0,0) (0,1) (1,0) (1,1) (2,0), whole: 500 m².
        // Class 2: (0,2) (1,2) (2,2) (3,2) half, (2,1) (3,1) whole: 400 m². Nodata (3,0).
        assert_eq!(t.classes[&1].to_m2(), 500.0);
        assert_eq!(t.classes[&2].to_m2(), 400.0);
        assert_eq!(t.nodata.to_m2(), 100.0);
        // p, class 1: 100 m² × (1 + 11 + 12 + 21); (0,1) has no data.
        assert_eq!(sums.sum_m2("a", 1, "p"), Some(4_500.0));
        assert_eq!(sums.missing_m2("a", 1, "p"), Some(100.0));
        // p, class 2: 50 × 3 + 50 × 13 + 100 × 22 + 100 × 32 + 50 × 33; (2,2) has none.
        assert_eq!(sums.sum_m2("a", 2, "p"), Some(7_850.0));
        assert_eq!(sums.missing_m2("a", 2, "p"), Some(50.0));
        assert_eq!(sums.total_m2("a", "p"), Some(12_350.0));
        assert_eq!(sums.missing_total_m2("a", "p"), Some(150.0));
        // e: -5.5 m over 400 m² of class 1 with data ((1,1) has none) and all 400 of class 2.
        assert_eq!(sums.sum_m2("a", 1, "e"), Some(-2_200.0));
        assert_eq!(sums.missing_m2("a", 1, "e"), Some(100.0));
        assert_eq!(sums.sum_m2("a", 2, "e"), Some(-2_200.0));
        assert_eq!(sums.missing_m2("a", 2, "e"), Some(0.0));
        // The nodata cell (3,0) is in no class and no sum.
        assert_eq!(
            sums.zones[0].classes.keys().copied().collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!(sums.layers, vec![p.info().clone(), e.info().clone()]);
        assert_eq!(
            extent,
            tally(&lc, &zones, &opts(wr, wc, 1), &NoProgress).unwrap()
        );
    }
}

#[test]
fn no_layers_give_the_plain_tally() {
    let (lc, _, _) = fixture();
    let zones = vec![
        zone("a", rect(2.5, -3.0, 27.5, 33.0)),
        zone("b", rect(-10.0, 12.0, 50.0, 19.0)),
    ];
    for o in [opts(0, 0, 0), opts(1, 3, 2), opts(3, 3, 1)] {
        let (extent, sums) = tally_values(&lc, &[], &zones, &o, &NoProgress).unwrap();
        assert_eq!(extent, tally(&lc, &zones, &o, &NoProgress).unwrap());
        assert_eq!(sums, WeightedTable::for_zones(&zones, vec![]));
    }
}

#[test]
fn a_layer_on_another_grid_is_refused() {
    let (lc, p, _) = fixture();
    let zones = vec![zone("a", rect(0.0, 0.0, 25.0, 40.0))];
    let g = lc.grid().clone();
    let moved = |left: f64, rows: usize| {
        let g2 = Grid::new(left, g.top, 10.0, 10.0, rows, 4, g.crs.clone()).unwrap();
        ValueGrid::from_fn(g2, LayerInfo::new("npp", "gC/m2"), |_, _| Some(1.0))
    };
    for bad in [moved(5.0, 4), moved(0.0, 5), moved(1e-6, 4)] {
        let e = tally_values(&lc, &[&p, &bad], &zones, &opts(0, 0, 1), &NoProgress).unwrap_err();
        assert!(matches!(e, ZonalError::LayerGrid { .. }), "{e:?}");
        let msg = e.to_string();
        assert!(
            msg.contains("\"npp\"") && msg.contains("warp") && msg.contains("4 x 4 cells"),
            "{msg}"
        );
    }
    // The same cells in another CRS (geographic, not the land cover's projected one).
    let g3 = Grid {
        crs: CrsInfo::geographic("EPSG:4490", Ellipsoid::CGCS2000),
        ..g.clone()
    };
    let other_crs = ValueGrid::from_fn(g3, LayerInfo::new("npp", "gC/m2"), |_, _| Some(1.0));
    let e = tally_values(&lc, &[&other_crs], &zones, &opts(0, 0, 1), &NoProgress).unwrap_err();
    assert!(
        matches!(
            e,
            ZonalError::LayerGrid {
                why: gep_core::CellsMismatch::Crs,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("in EPSG:4490"), "{e}");
    // Within 1e-9 of a cell: the same cells.
    let ok = moved(1e-9, 4);
    assert!(tally_values(&lc, &[&ok], &zones, &opts(0, 0, 1), &NoProgress).is_ok());
    // Two layers of one name.
    let e = tally_values(&lc, &[&p, &p], &zones, &opts(0, 0, 1), &NoProgress).unwrap_err();
    assert!(matches!(e, ZonalError::DuplicateLayer { .. }), "{e:?}");
}

/// A layer whose reads fail.
#[derive(Clone)]
struct Broken(ValueGrid);
impl ValueSource for Broken {
    fn grid(&self) -> &Grid {
        self.0.grid()
    }
    fn info(&self) -> &LayerInfo {
        self.0.info()
    }
    fn read_values(&mut self, _window: Window) -> Result<ValueBlock, CoreError> {
        Err(CoreError::SourceRead {
            source_name: "et.tif".into(),
            message: "et.tif: block 3 is corrupt".into(),
        })
    }
    fn try_clone_values(&self) -> Result<Box<dyn ValueSource>, CoreError> {
        Ok(Box::new(self.clone()))
    }
}

#[test]
fn layer_read_errors_name_the_layer() {
    let (lc, p, _) = fixture();
    let zones = vec![zone("a", rect(0.0, 0.0, 25.0, 40.0))];
    let broken = Broken(p.with_info(LayerInfo::new("aet", "mm")));
    let e = tally_values(&lc, &[&broken], &zones, &opts(2, 2, 2), &NoProgress).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("\"aet\"") && msg.contains("corrupt"), "{msg}");
}

#[test]
fn values_beyond_the_exact_range_are_refused_where_covered() {
    let (lc, _, _) = fixture();
    let g = lc.grid().clone();
    // 1e30 at (1, 3), outside zone "a" but in rows it covers whole cells of.
    let huge = ValueGrid::from_fn(g.clone(), LayerInfo::new("x", "1"), |r, c| {
        Some(if (r, c) == (1, 3) { 1e30 } else { 2.0 })
    });
    let a = vec![zone("a", rect(0.0, 0.0, 25.0, 40.0))];
    for o in [opts(4, 4, 1), opts(1, 4, 2)] {
        let (extent, sums) = tally_values(&lc, &[&huge], &a, &o, &NoProgress).unwrap();
        // Rows with the huge cell are summed cell by cell: the same sums.
        let t = &extent.zones[0];
        assert_eq!(sums.sum_m2("a", 1, "x"), Some(2.0 * t.classes[&1].to_m2()));
        assert_eq!(sums.sum_m2("a", 2, "x"), Some(2.0 * t.classes[&2].to_m2()));
    }
    let b = vec![zone("b", rect(20.0, 0.0, 40.0, 40.0))];
    let e = tally_values(&lc, &[&huge], &b, &opts(0, 0, 1), &NoProgress).unwrap_err();
    assert!(
        matches!(e, ZonalError::ValueTooLarge { row: 1, col: 3, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("\"x\"") && e.to_string().contains("\"b\""));
    // Each cell within range (1e24 per 100 m² cell), the sum of 400 beyond: an overflow
    // naming zone, class and layer, whether it happens within a window or in a merge.
    let g = Grid::new(0.0, 200.0, 10.0, 10.0, 20, 20, CrsInfo::projected("local")).unwrap();
    let lc = MemRaster::from_fn(g.clone(), |_, _| Some(4));
    let big = ValueGrid::from_fn(g, LayerInfo::new("y", "1"), |_, _| Some(1e22));
    let all = vec![zone("all", rect(0.0, 0.0, 200.0, 200.0))];
    for o in [opts(20, 20, 1), opts(1, 1, 2)] {
        let e = tally_values(&lc, &[&big], &all, &o, &NoProgress).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, ZonalError::Weighted(_)), "{e:?}");
        assert!(
            msg.contains("\"all\"") && msg.contains("class 4") && msg.contains("\"y\""),
            "{msg}"
        );
    }
}

#[test]
fn geographic_grid_uses_ellipsoidal_row_areas() {
    // 2⁻⁷° cells (exact in binary) at 30°N on CGCS2000: every row has its own cell area.
    let d = 0.0078125;
    let g = Grid::new(
        120.0,
        30.0,
        d,
        d,
        5,
        4,
        CrsInfo::geographic("EPSG:4490", Ellipsoid::CGCS2000),
    )
    .unwrap();
    let areas: Vec<f64> = (0..5).map(|r| g.cell_area_m2(r).0).collect();
    assert!(areas.windows(2).all(|a| a[0] < a[1]), "{areas:?}");
    let lc = MemRaster::from_fn(g.clone(), |_, c| Some(if c < 2 { 5 } else { 7 }));
    let v = ValueGrid::from_fn(g.clone(), LayerInfo::new("npp", "gC/m2"), |r, c| {
        (c != 3 || r != 4).then_some(400.0 + 10.0 * r as f64 + c as f64)
    });
    // The whole grid, plus a zone of half a column of class 7 cells.
    let zones = vec![
        zone("all", rect(119.0, 29.0, 121.0, 31.0)),
        zone(
            "strip",
            rect(120.0 + 2.5 * d, 30.0 - 5.0 * d, 120.0 + 3.0 * d, 30.0),
        ),
    ];
    let (extent, sums) = tally_values(&lc, &[&v], &zones, &opts(2, 3, 2), &NoProgress).unwrap();
    // By hand: whole cells add area(row) × value; the strip covers half of column 2.
    let mut whole = BTreeMap::<ClassCode, i128>::new();
    let mut strip = 0i128;
    for (r, &a) in areas.iter().enumerate() {
        for c in 0..4 {
            let value = 400.0 + 10.0 * r as f64 + c as f64;
            if c == 3 && r == 4 {
                continue;
            }
            *whole.entry(if c < 2 { 5 } else { 7 }).or_default() += ExactSum::from_f64(a * value).0;
            if c == 2 {
                strip += ExactSum::from_f64(0.5 * a * value).0;
            }
        }
    }
    assert_eq!(sums.zones[0].sum(5, 0).0, whole[&5]);
    assert_eq!(sums.zones[0].sum(7, 0).0, whole[&7]);
    assert_eq!(sums.zones[0].missing(7, 0), ExactArea::from_m2(areas[4]));
    assert_eq!(sums.zones[1].sum(7, 0).0, strip);
    assert_eq!(
        extent.zones[1].classes[&7],
        areas.iter().map(|a| ExactArea::from_m2(0.5 * a)).sum()
    );
    // The f64 reading is the direct sum to ~1e-15.
    let direct: f64 = (0..5)
        .flat_map(|r| (0..4).map(move |c| (r, c)))
        .filter(|&(r, c)| (r, c) != (4, 3))
        .map(|(r, c)| areas[r] * (400.0 + 10.0 * r as f64 + c as f64))
        .sum();
    let total = sums.total_m2("all", "npp").unwrap();
    assert!(
        (total - direct).abs() <= 1e-14 * direct,
        "{total} vs {direct}"
    );
}

// Properties on random stars over random rasters and layers.

/// A 30 m grid at CGCS2000 3° GK-like coordinates, or a 0.01° geographic one.
fn grid(geographic: bool) -> Grid {
    if geographic {
        Grid::new(
            120.0,
            30.0,
            0.01,
            0.01,
            20,
            20,
            CrsInfo::geographic("EPSG:4490", Ellipsoid::CGCS2000),
        )
        .unwrap()
    } else {
        Grid::new(
            500_000.0,
            3_300_000.0,
            30.0,
            30.0,
            20,
            20,
            CrsInfo::projected("EPSG:4549"),
        )
        .unwrap()
    }
}

fn star(g: &Grid, cx: f64, cy: f64, radii: &[f64], jitter: &[f64]) -> MultiPolygon<f64> {
    let n = radii.len();
    let mut pts: Vec<Coord<f64>> = (0..n)
        .map(|i| {
            let a = (i as f64 + 0.9 * jitter[i]) / n as f64 * std::f64::consts::TAU;
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

type Star = (f64, f64, Vec<f64>, Vec<f64>);

fn star_strategy() -> impl Strategy<Value = Star> {
    (3usize..20).prop_flat_map(|n| {
        (
            2.0..18.0f64,
            2.0..18.0f64,
            prop::collection::vec(0.01..9.0f64, n),
            prop::collection::vec(0.0..1.0f64, n),
        )
    })
}

/// Zones from stars, zone `i` shifted left by 0, 6 or 30 cells (partly or wholly off).
fn star_zones(g: &Grid, stars: &[Star]) -> Vec<Zone> {
    stars
        .iter()
        .enumerate()
        .map(|(i, (cx, cy, r, j))| {
            zone(
                &format!("z{i}"),
                star(g, cx - [0.0, 6.0, 30.0][i % 3], *cy, r, j),
            )
        })
        .collect()
}

fn hash(r: usize, c: usize, seed: u64) -> u64 {
    let h = (r as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (c as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
        ^ seed;
    let h = h ^ (h >> 29);
    h.wrapping_mul(0xBF58_476D_1CE4_E5B9) ^ (h >> 31)
}

/// Patchy classes with nodata and codes beyond 0..=255; with `many`, over 256 distinct codes
/// (the tally's cell path instead of its byte path).
fn landcover(g: &Grid, seed: u64, many: bool) -> MemRaster {
    MemRaster::from_fn(g.clone(), move |r, c| {
        if many {
            return ((r + c) % 9 != 0).then_some((r * 20 + c) as ClassCode % 400 - 50);
        }
        match hash(r / 2, c / 3, seed) % 6 {
            0 => None,
            1 => Some(300),
            2 => Some(-7),
            k => Some(k as ClassCode),
        }
    })
}

/// Three layers: values of mixed sign and scale with some no data, all ones with some no
/// data, and a layer without any data.
fn layers(g: &Grid, seed: u64) -> [ValueGrid; 3] {
    [
        ValueGrid::from_fn(g.clone(), LayerInfo::new("v", "mm"), move |r, c| {
            let h = hash(r, c, seed ^ 0x55);
            (!h.is_multiple_of(7)).then_some((h % 20_001) as f64 / 7.0 - 1000.0)
        }),
        ValueGrid::from_fn(g.clone(), LayerInfo::new("one", "1"), move |r, c| {
            (!hash(r, c / 2, seed ^ 0x77).is_multiple_of(5)).then_some(1.0)
        }),
        ValueGrid::from_fn(g.clone(), LayerInfo::new("none", "1"), |_, _| None),
    ]
}

fn refs(l: &[ValueGrid; 3]) -> [&dyn ValueSource; 3] {
    [&l[0], &l[1], &l[2]]
}

/// 64 cases by default; `PROPTEST_CASES=5000` for a stress run.
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

/// Per class: per layer (sum units, missing units).
type Expected = BTreeMap<ClassCode, Vec<(i128, i128)>>;

/// The definition, cell by cell from the dense coverage: a covered cell whose area units are
/// non-zero adds `ExactSum::from_f64(f × a × v)` per layer, or its area units to missing.
fn expected(z: &Zone, g: &Grid, lc: &MemRaster, layers: &[ValueGrid]) -> Expected {
    let cov = coverage(&z.geometry, g, g.full_window()).unwrap();
    let cells = lc.clone().read_window(g.full_window()).unwrap();
    let mut out = Expected::new();
    for r in 0..g.rows {
        let a = g.cell_area_m2(r as i64).0;
        for c in 0..g.cols {
            let f = cov.get(r, c);
            let units = ExactArea::from_m2(f * a).0;
            let Some(class) = cells.get(r, c) else {
                continue;
            };
            if units == 0 {
                continue;
            }
            let e = out
                .entry(class)
                .or_insert_with(|| vec![(0, 0); layers.len()]);
            for (l, layer) in layers.iter().enumerate() {
                match layer.get(r, c) {
                    Some(v) => e[l].0 += ExactSum::from_f64(f * a * v).0,
                    None => e[l].1 += units,
                }
            }
        }
    }
    out
}

fn as_expected(s: &ZoneSums) -> Expected {
    s.classes
        .iter()
        .map(|(k, c)| {
            (
                *k,
                c.sums
                    .iter()
                    .zip(&c.missing)
                    .map(|(s, m)| (s.0, m.0))
                    .collect(),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(config())]

    /// The sums are the per-cell definition, also on a geographic grid and with codes beyond
    /// 0..=255, both land-cover paths; the extent is the plain tally's; per class and layer,
    /// area with data + missing = class area; the classes are the tally's.
    #[test]
    fn sums_equal_the_per_cell_definition(
        stars in prop::collection::vec(star_strategy(), 1..4),
        seed in any::<u64>(),
        geographic in any::<bool>(),
        many in any::<bool>(),
        wr in 1usize..9, wc in 1usize..9,
    ) {
        let g = grid(geographic);
        let zones = star_zones(&g, &stars);
        let lc = landcover(&g, seed, many);
        let ls = layers(&g, seed);
        let o = opts(wr, wc, 2);
        let (extent, sums) = tally_values(&lc, &refs(&ls), &zones, &o, &NoProgress).unwrap();
        prop_assert_eq!(&extent, &tally(&lc, &zones, &o, &NoProgress).unwrap());
        for ((z, zs), zt) in zones.iter().zip(&sums.zones).zip(&extent.zones) {
            prop_assert_eq!(as_expected(zs), expected(z, &g, &lc, &ls));
            prop_assert!(zs.classes.keys().eq(zt.classes.keys()));
            for (k, c) in &zs.classes {
                let area = zt.classes[k].0;
                // Ones: Σ value × area over cells with data is that area, exactly.
                prop_assert_eq!(c.sums[1].0 + c.missing[1].0, area);
                // No data at all: the whole class area is missing, nothing summed.
                prop_assert_eq!((c.sums[2].0, c.missing[2].0), (0, area));
                prop_assert!(c.missing[0].0 >= 0 && c.missing[0].0 <= area);
            }
        }
    }

    /// Bit-identical sums for any thread count and window size, shards merge into the whole,
    /// and the grouped tally reports the same tallies and sums.
    #[test]
    fn sums_do_not_depend_on_threads_windows_or_shards(
        stars in prop::collection::vec(star_strategy(), 1..5),
        cut in prop::collection::vec(any::<bool>(), 5),
        seed in any::<u64>(),
        geographic in any::<bool>(),
        wr in 1usize..21, wc in 1usize..21,
    ) {
        let g = grid(geographic);
        let zones = star_zones(&g, &stars);
        let lc = landcover(&g, seed, false);
        let ls = layers(&g, seed);
        let layers = refs(&ls);
        let base = tally_values(&lc, &layers, &zones, &opts(20, 20, 1), &NoProgress).unwrap();
        for (threads, r, c) in [(1, wr, wc), (2, wr, wc), (4, wr, wc), (2, wc, wr), (4, 1, 1)] {
            let t = tally_values(&lc, &layers, &zones, &opts(r, c, threads), &NoProgress).unwrap();
            prop_assert_eq!(&t, &base);
        }
        // Two shards of windows.
        let ws = g.windows(wr, wc);
        let (w1, w2) = ws.split_at(ws.len() / 2);
        let mut extent = ExtentTable::for_zones(&zones);
        let mut sums = WeightedTable::for_zones(&zones, base.1.layers.clone());
        for part in [w1, w2] {
            let (e, s) = tally_values_windows(&lc, &layers, &zones, part, &opts(0, 0, 2), &NoProgress).unwrap();
            extent.merge(&e);
            sums.merge(&s).unwrap();
        }
        prop_assert_eq!(&sums, &base.1);
        for (m, b) in extent.zones.iter_mut().zip(&base.0.zones) {
            m.outside = b.outside;
        }
        prop_assert_eq!(&extent, &base.0);
        // Grouped, consecutive groups split where `cut` says.
        let mut groups: Vec<std::ops::Range<usize>> = Vec::new();
        for (i, &c) in cut.iter().enumerate().take(zones.len()) {
            match groups.last_mut() {
                Some(g) if !c => g.end = i + 1,
                _ => groups.push(i..i + 1),
            }
        }
        let mut seen = Vec::new();
        let grouped = tally_values_grouped(&lc, &layers, &zones, &groups, &opts(wr, wc, 2), &NoProgress,
            &mut |k, t, s| seen.push((k, t.to_vec(), s.to_vec()))).unwrap();
        prop_assert_eq!(&grouped, &base);
        let mut ids: Vec<usize> = seen.iter().map(|(k, _, _)| *k).collect();
        ids.sort_unstable();
        prop_assert_eq!(ids, (0..groups.len()).collect::<Vec<_>>());
        for (k, t, s) in &seen {
            prop_assert_eq!(t.as_slice(), &base.0.zones[groups[*k].clone()]);
            prop_assert_eq!(s.as_slice(), &base.1.zones[groups[*k].clone()]);
        }
    }

    /// Two polygons splitting the grid sum to the whole grid's sums (to rounding: each cell's
    /// two parts are rounded separately), which are the direct Σ area × value.
    #[test]
    fn complementary_polygons_sum_to_the_whole(
        ys in prop::collection::vec(0.0..20.0f64, 2..12),
        xs in prop::collection::vec(0.0..1.0f64, 12),
        seed in any::<u64>(),
        geographic in any::<bool>(),
    ) {
        let g = grid(geographic);
        let n = ys.len();
        let mut xs: Vec<f64> = xs[..n].to_vec();
        xs.sort_by(f64::total_cmp);
        xs[0] = 0.0;
        xs[n - 1] = 1.0;
        let to = |u: f64, v: f64| Coord { x: g.left + u * g.cell_width, y: g.top - v * g.cell_height };
        let line: Vec<Coord<f64>> = (0..n).map(|i| to(20.0 * xs[i], ys[i])).collect();
        let mut top = line.clone();
        top.extend([to(20.0, 0.0), to(0.0, 0.0), line[0]]);
        let mut bottom = line.clone();
        bottom.extend([to(20.0, 20.0), to(0.0, 20.0), line[0]]);
        let poly = |ring: Vec<Coord<f64>>| MultiPolygon::new(vec![Polygon::new(LineString(ring), vec![])]);
        let zones = vec![
            zone("top", poly(top)),
            zone("bottom", poly(bottom)),
            zone("all", poly(vec![to(0.0, 0.0), to(20.0, 0.0), to(20.0, 20.0), to(0.0, 20.0), to(0.0, 0.0)])),
        ];
        let lc = landcover(&g, seed, false);
        let ls = layers(&g, seed);
        let (_, sums) = tally_values(&lc, &refs(&ls), &zones, &opts(7, 5, 2), &NoProgress).unwrap();
        let cells = lc.clone().read_window(g.full_window()).unwrap();
        for (l, layer) in ls.iter().enumerate().take(2) {
            let mut direct = BTreeMap::<ClassCode, (f64, f64)>::new();
            for r in 0..g.rows {
                let a = g.cell_area_m2(r as i64).0;
                for c in 0..g.cols {
                    if let Some(k) = cells.get(r, c) {
                        let e = direct.entry(k).or_default();
                        match layer.get(r, c) {
                            Some(v) => e.0 += a * v,
                            None => e.1 += a,
                        }
                    }
                }
            }
            let scale = g.cell_area_m2(0).0 * 2000.0 * 400.0;
            for (k, (s, m)) in direct {
                let [t, b, all] = [0, 1, 2].map(|z| (sums.zones[z].sum(k, l).to_f64(), sums.zones[z].missing(k, l).to_m2()));
                prop_assert!((t.0 + b.0 - all.0).abs() <= 1e-10 * scale, "{} + {} vs {}", t.0, b.0, all.0);
                prop_assert!((t.1 + b.1 - all.1).abs() <= 1e-10 * scale);
                prop_assert!((all.0 - s).abs() <= 1e-10 * scale, "{} vs {s}", all.0);
                prop_assert!((all.1 - m).abs() <= 1e-10 * scale);
            }
        }
    }
}
