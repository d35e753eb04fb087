//! Hierarchy checks on hand-made counties.

use geo_types::{LineString, MultiPolygon, Polygon};
use gep_core::{ClassCode, CrsInfo, Grid, Level, MemRaster, NoProgress, Zone};
use gep_zonal::{hierarchy_checks, sum_checks, tally, CheckKind, CheckOptions, TallyOptions};

fn zone(id: &str, level: Level, parent: Option<&str>, rings: &[&[(f64, f64)]]) -> Zone {
    let polys = rings
        .iter()
        .map(|r| {
            let mut pts = r.to_vec();
            pts.push(r[0]);
            Polygon::new(LineString::from(pts), vec![])
        })
        .collect();
    Zone {
        id: id.into(),
        name: id.into(),
        level,
        parent: parent.map(Into::into),
        geometry: MultiPolygon::new(polys),
    }
}

/// A county (0..100)² and two villages: v1 = [0, 60] x [0, 100], v2 = [50, 110] x [0, 90] —
/// a gap, an overlap and a spill.
fn gap_overlap_spill_family() -> Vec<Zone> {
    vec![
        zone(
            "c",
            Level::County,
            None,
            &[&[(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)]],
        ),
        zone(
            "v1",
            Level::Village,
            Some("c"),
            &[&[(0.0, 0.0), (60.0, 0.0), (60.0, 100.0), (0.0, 100.0)]],
        ),
        zone(
            "v2",
            Level::Village,
            Some("c"),
            &[&[(50.0, 0.0), (110.0, 0.0), (110.0, 90.0), (50.0, 90.0)]],
        ),
    ]
}

fn raster(uniform: bool) -> MemRaster {
    // 12 x 12 cells of 10 m from (0, 0) to (120, 120).
    let g = Grid::new(0.0, 120.0, 10.0, 10.0, 12, 12, CrsInfo::projected("local")).unwrap();
    MemRaster::from_fn(g, move |r, c| {
        if uniform {
            Some(1)
        } else if (r * 7 + c * 3) % 11 == 0 {
            None
        } else {
            Some(((r / 2 + c / 3) % 4) as ClassCode + 1)
        }
    })
}

#[test]
fn perfect_tiling_has_no_residual_gap_or_overlap() {
    // A county (0..100)² split into 4 villages at an off-grid point, one boundary bent.
    let m = (47.3, 52.1);
    let zones = vec![
        zone(
            "c",
            Level::County,
            None,
            &[&[(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)]],
        ),
        zone(
            "v1",
            Level::Village,
            Some("c"),
            &[&[(0.0, 0.0), (50.0, 0.0), m, (0.0, 50.0)]],
        ),
        zone(
            "v2",
            Level::Village,
            Some("c"),
            &[&[(50.0, 0.0), (100.0, 0.0), (100.0, 50.0), m]],
        ),
        zone(
            "v3",
            Level::Village,
            Some("c"),
            &[&[
                m,
                (100.0, 50.0),
                (100.0, 100.0),
                (63.7, 100.0),
                (55.5, 77.7),
            ]],
        ),
        zone(
            "v4",
            Level::Village,
            Some("c"),
            &[&[(0.0, 50.0), m, (55.5, 77.7), (63.7, 100.0), (0.0, 100.0)]],
        ),
    ];
    let src = raster(false);
    let table = tally(&src, &zones, &TallyOptions::default(), &NoProgress).unwrap();
    let rows =
        hierarchy_checks(&zones, &table, &src, &CheckOptions::default(), &NoProgress).unwrap();
    assert!(rows.iter().all(|r| r.kind == CheckKind::Sum), "{rows:#?}");
    assert!(rows.len() >= 4);
    for r in &rows {
        assert!(r.residual_m2.abs() <= 1e-9 * 10_000.0, "{r:?}");
    }
    let total: f64 = rows.iter().map(|r| r.parent_area_m2).sum();
    assert!((total - 10_000.0).abs() < 1e-9);
}

#[test]
fn gap_overlap_and_spill_by_hand() {
    let zones = gap_overlap_spill_family();
    let src = raster(true);
    let table = tally(&src, &zones, &TallyOptions::default(), &NoProgress).unwrap();
    let rows =
        hierarchy_checks(&zones, &table, &src, &CheckOptions::default(), &NoProgress).unwrap();
    let get = |k: CheckKind| -> Vec<f64> {
        rows.iter()
            .filter(|r| r.kind == k && r.class == Some(1))
            .map(|r| r.residual_m2)
            .collect()
    };
    // Gap: [60, 100] x [90, 100] = 400 m². Overlap: [50, 60] x [0, 90] = 900 m².
    // Spill: [100, 110] x [0, 90] = 900 m². Parent 10,000; children 6,000 + 5,400.
    let close = |v: Vec<f64>, e: f64| v.len() == 1 && (v[0] - e).abs() < 1e-6;
    assert!(close(get(CheckKind::Gap), 400.0), "{rows:#?}");
    assert!(close(get(CheckKind::Overlap), -900.0), "{rows:#?}");
    assert!(close(get(CheckKind::Spill), -900.0), "{rows:#?}");
    let sum = get(CheckKind::Sum);
    assert!(close(sum.clone(), 10_000.0 - 11_400.0), "{sum:?}");
    // residual = gap − overlap − spill.
    assert!((sum[0] - (400.0 - 900.0 - 900.0)).abs() < 1e-6);
    let ov = rows.iter().find(|r| r.kind == CheckKind::Overlap).unwrap();
    assert_eq!(ov.children, vec!["v1".to_string(), "v2".to_string()]);
    // Without geometry, only sum rows.
    let only = sum_checks(&zones, &table).unwrap();
    assert!(only.iter().all(|r| r.kind == CheckKind::Sum));
}

#[test]
fn residual_identity_per_class() {
    // Patchy classes: per class, residual = gap − overlap − spill.
    let zones = vec![
        zone(
            "c",
            Level::County,
            None,
            &[&[(3.0, 2.0), (97.0, 5.0), (93.0, 96.0), (8.0, 91.0)]],
        ),
        zone(
            "v1",
            Level::Village,
            Some("c"),
            &[&[(0.0, 0.0), (61.3, 0.0), (57.2, 100.0), (0.0, 100.0)]],
        ),
        zone(
            "v2",
            Level::Village,
            Some("c"),
            &[&[(50.4, 1.0), (112.0, 3.0), (108.0, 87.6), (52.2, 88.1)]],
        ),
    ];
    let src = raster(false);
    let table = tally(&src, &zones, &TallyOptions::default(), &NoProgress).unwrap();
    let rows =
        hierarchy_checks(&zones, &table, &src, &CheckOptions::default(), &NoProgress).unwrap();
    let mut classes: Vec<Option<ClassCode>> = rows.iter().map(|r| r.class).collect();
    classes.sort();
    classes.dedup();
    for class in classes {
        let of = |k: CheckKind| -> f64 {
            rows.iter()
                .filter(|r| r.kind == k && r.class == class)
                .map(|r| r.residual_m2)
                .sum()
        };
        let parts = of(CheckKind::Gap) + of(CheckKind::Overlap) + of(CheckKind::Spill);
        assert!(
            (of(CheckKind::Sum) - parts).abs() < 1e-3,
            "class {class:?}: {} vs {parts}",
            of(CheckKind::Sum)
        );
    }
}

#[test]
fn perfect_tiling_with_zero_tolerance() {
    let m = (47.3, 52.1);
    let zones = vec![
        zone(
            "c",
            Level::County,
            None,
            &[&[(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)]],
        ),
        zone(
            "v1",
            Level::Village,
            Some("c"),
            &[&[(0.0, 0.0), (50.0, 0.0), m, (0.0, 50.0)]],
        ),
        zone(
            "v2",
            Level::Village,
            Some("c"),
            &[&[(50.0, 0.0), (100.0, 0.0), (100.0, 50.0), m]],
        ),
        zone(
            "v3",
            Level::Village,
            Some("c"),
            &[&[
                m,
                (100.0, 50.0),
                (100.0, 100.0),
                (63.7, 100.0),
                (55.5, 77.7),
            ]],
        ),
        zone(
            "v4",
            Level::Village,
            Some("c"),
            &[&[(0.0, 50.0), m, (55.5, 77.7), (63.7, 100.0), (0.0, 100.0)]],
        ),
    ];
    let src = raster(false);
    let table = tally(&src, &zones, &TallyOptions::default(), &NoProgress).unwrap();
    let opts = CheckOptions {
        min_area_m2: 0.0,
        ..CheckOptions::default()
    };
    let rows = hierarchy_checks(&zones, &table, &src, &opts, &NoProgress).unwrap();
    let extra: Vec<_> = rows.iter().filter(|r| r.kind != CheckKind::Sum).collect();
    // Clipping a perfect tiling leaves nothing, or only slivers of negligible area.
    assert!(
        extra.iter().all(|r| r.residual_m2.abs() < 1e-6),
        "{extra:#?}"
    );
    eprintln!("{} non-sum rows with zero tolerance", extra.len());
}

/// The geometry may be clipped in other coordinates (the boundaries as read, e.g. degrees)
/// and only the pieces moved onto the grid: same rows as clipping on the grid.
#[test]
fn geometry_clipped_in_other_coordinates_gives_the_same_rows() {
    use gep_zonal::{hierarchy_checks_with, hierarchy_geometry};
    let zones = gap_overlap_spill_family();
    // "As read": x' = 120 + x / 1000, y' = 30 + y / 1000 (exact in binary for these values
    // only approximately, as real degrees are).
    let to_src = |x: f64, y: f64| (120.0 + x / 1000.0, 30.0 + y / 1000.0);
    let to_grid = |x: f64, y: f64| ((x - 120.0) * 1000.0, (y - 30.0) * 1000.0);
    let as_read: Vec<Zone> = zones
        .iter()
        .map(|z| {
            let mut z = z.clone();
            geo::MapCoordsInPlace::map_coords_in_place(&mut z.geometry, |c| {
                let (x, y) = to_src(c.x, c.y);
                geo_types::coord! { x: x, y: y }
            });
            z
        })
        .collect();
    let src = raster(false);
    let table = tally(&src, &zones, &TallyOptions::default(), &NoProgress).unwrap();
    let opts = CheckOptions::default();
    let direct = hierarchy_checks(&zones, &table, &src, &opts, &NoProgress).unwrap();
    let mut g = hierarchy_geometry(&as_read, &opts, &NoProgress).unwrap();
    assert_eq!(g.len(), 3, "one gap, one spill, one overlap");
    for p in g.geometries_mut() {
        geo::MapCoordsInPlace::map_coords_in_place(p, |c| {
            let (x, y) = to_grid(c.x, c.y);
            geo_types::coord! { x: x, y: y }
        });
    }
    let moved = hierarchy_checks_with(&zones, &table, &src, Some(&g), &opts).unwrap();
    assert_eq!(direct.len(), moved.len(), "{direct:#?}\n{moved:#?}");
    for (a, b) in direct.iter().zip(&moved) {
        assert_eq!(
            (&a.parent_id, a.kind, a.class),
            (&b.parent_id, b.kind, b.class)
        );
        assert!((a.residual_m2 - b.residual_m2).abs() < 1e-6, "{a:?} {b:?}");
    }
    // Pieces of parents that are not among the zones are ignored.
    let orphans: Vec<Zone> = zones[1..]
        .iter()
        .map(|z| Zone {
            parent: None,
            ..z.clone()
        })
        .collect();
    let t = tally(&src, &orphans, &TallyOptions::default(), &NoProgress).unwrap();
    let rows = hierarchy_checks_with(&orphans, &t, &src, Some(&g), &opts).unwrap();
    assert!(rows.is_empty(), "{rows:#?}");
}

/// Overlaps below the size floor are not clipped pairwise (Σ children − union bounds them);
/// above it they are found, and by hand.
#[test]
fn overlap_shortcut_keeps_real_overlaps() {
    use gep_zonal::hierarchy_geometry;
    let family = |overlap: f64| {
        vec![
            zone(
                "c",
                Level::County,
                None,
                &[&[(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)]],
            ),
            zone(
                "v1",
                Level::Village,
                Some("c"),
                &[&[
                    (0.0, 0.0),
                    (50.0 + overlap, 0.0),
                    (50.0 + overlap, 100.0),
                    (0.0, 100.0),
                ]],
            ),
            zone(
                "v2",
                Level::Village,
                Some("c"),
                &[&[(50.0, 0.0), (100.0, 0.0), (100.0, 100.0), (50.0, 100.0)]],
            ),
        ]
    };
    let opts = CheckOptions::default();
    // 1e-9 m wide: 1e-7 m², 1e-11 of the family: no overlap piece.
    let g = hierarchy_geometry(&family(1e-9), &opts, &NoProgress).unwrap();
    assert_eq!(g.len(), 0);
    // 0.5 m wide: 50 m², an overlap piece.
    let zones = family(0.5);
    let src = raster(true);
    let table = tally(&src, &zones, &TallyOptions::default(), &NoProgress).unwrap();
    let rows = hierarchy_checks(&zones, &table, &src, &opts, &NoProgress).unwrap();
    let overlaps: Vec<_> = rows
        .iter()
        .filter(|r| r.kind == CheckKind::Overlap)
        .collect();
    assert_eq!(overlaps.len(), 1, "{rows:#?}");
    assert!((overlaps[0].residual_m2 + 50.0).abs() < 1e-6, "{rows:#?}");
    assert_eq!(
        overlaps[0].children,
        vec!["v1".to_string(), "v2".to_string()]
    );
}
