//! Overlaps between top-level zones (zones with no parent), on a 12 x 12 grid of 10 m cells
//! where every expected area is a sum of rectangle-rectangle intersections, by hand.

use geo_types::{LineString, MultiPolygon, Polygon};
use gep_core::{ClassCode, CrsInfo, Grid, Level, MemRaster, NoProgress, Zone};
use gep_zonal::{
    hierarchy_checks, hierarchy_checks_with, hierarchy_geometry, tally, CheckKind, CheckOptions,
    CheckRow, TallyOptions,
};
use std::collections::BTreeMap;

fn zone(id: &str, level: Level, parent: Option<&str>, ring: &[(f64, f64)]) -> Zone {
    let mut pts = ring.to_vec();
    pts.push(ring[0]);
    Zone {
        id: id.into(),
        name: id.into(),
        level,
        parent: parent.map(Into::into),
        geometry: MultiPolygon::new(vec![Polygon::new(LineString::from(pts), vec![])]),
    }
}

/// An axis-aligned rectangle `[x0, x1] × [y0, y1]`.
type Rect = (f64, f64, f64, f64);

fn rect_zone(id: &str, parent: Option<&str>, (x0, x1, y0, y1): Rect) -> Zone {
    zone(
        id,
        Level::County,
        parent,
        &[(x0, y0), (x1, y0), (x1, y1), (x0, y1)],
    )
}

/// Class of cell (row, col): four classes and some nodata (`None`).
fn class_of(r: usize, c: usize) -> Option<ClassCode> {
    if (r * 7 + c * 3).is_multiple_of(11) {
        None
    } else {
        Some(((r / 2 + c / 3) % 4) as ClassCode + 1)
    }
}

/// 12 x 12 cells of 10 m from (0, 0) to (120, 120); row 0 is the northern one.
fn raster(uniform: bool) -> MemRaster {
    let g = Grid::new(0.0, 120.0, 10.0, 10.0, 12, 12, CrsInfo::projected("local")).unwrap();
    MemRaster::from_fn(
        g,
        move |r, c| if uniform { Some(1) } else { class_of(r, c) },
    )
}

/// Area of `rect` on each class of the non-uniform raster (rect inside the raster):
/// Σ over cells of |cell ∩ rect|, by hand.
fn expected_by_class((x0, x1, y0, y1): Rect) -> BTreeMap<Option<ClassCode>, f64> {
    let mut out = BTreeMap::new();
    for r in 0..12 {
        for c in 0..12 {
            let (cx0, cx1) = (10.0 * c as f64, 10.0 * (c + 1) as f64);
            let (cy0, cy1) = (120.0 - 10.0 * (r + 1) as f64, 120.0 - 10.0 * r as f64);
            let w = (x1.min(cx1) - x0.max(cx0)).max(0.0);
            let h = (y1.min(cy1) - y0.max(cy0)).max(0.0);
            if w * h > 0.0 {
                *out.entry(class_of(r, c)).or_insert(0.0) += w * h;
            }
        }
    }
    out
}

fn checks(zones: &[Zone], src: &MemRaster, opts: &CheckOptions) -> Vec<CheckRow> {
    let table = tally(src, zones, &TallyOptions::default(), &NoProgress).unwrap();
    hierarchy_checks(zones, &table, src, opts, &NoProgress).unwrap()
}

fn top_rows(rows: &[CheckRow]) -> Vec<&CheckRow> {
    rows.iter().filter(|r| r.is_top_level()).collect()
}

#[test]
fn two_overlapping_counties_give_overlap_rows_per_class() {
    // Overlap [41, 64] x [22, 71] = 23 x 49 = 1,127 m², off the cell edges.
    let a = (3.0, 64.0, 5.0, 71.0);
    let b = (41.0, 107.0, 22.0, 93.0);
    let zones = vec![rect_zone("a", None, a), rect_zone("b", None, b)];

    // Uniform class: one row of 1,127 m².
    let rows = checks(&zones, &raster(true), &CheckOptions::default());
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let r = &rows[0];
    assert_eq!(
        (r.parent_id.as_str(), r.level, r.kind, r.class),
        ("", Level::County, CheckKind::Overlap, Some(1))
    );
    assert_eq!(r.children, vec!["a".to_string(), "b".to_string()]);
    assert!((r.residual_m2 + 1127.0).abs() < 1e-9, "{r:?}");
    assert_eq!(r.parent_area_m2, 0.0);
    // Σ of the two zones' areas in the class: 61 x 66 + 66 x 71.
    assert!(
        (r.children_sum_m2 - (4026.0 + 4686.0)).abs() < 1e-9,
        "{r:?}"
    );
    assert!(r.is_top_level());

    // Four classes and nodata: each row is the overlap's area on that class.
    let src = raster(false);
    let table = tally(&src, &zones, &TallyOptions::default(), &NoProgress).unwrap();
    let rows =
        hierarchy_checks(&zones, &table, &src, &CheckOptions::default(), &NoProgress).unwrap();
    let expected = expected_by_class((41.0, 64.0, 22.0, 71.0));
    let got: BTreeMap<Option<ClassCode>, f64> = top_rows(&rows)
        .iter()
        .map(|r| (r.class, -r.residual_m2))
        .collect();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "{rows:#?}"
    );
    for (class, area) in &expected {
        assert!(
            (got[class] - area).abs() < 1e-9,
            "{class:?}: {got:?} vs {expected:?}"
        );
    }
    assert!((got.values().sum::<f64>() - 1127.0).abs() < 1e-9);
    // The context column: the two zones' areas in the row's class.
    for r in top_rows(&rows) {
        let in_class = |i: usize| match r.class {
            Some(c) => table.zones[i].classes.get(&c).map_or(0.0, |a| a.to_m2()),
            None => (table.zones[i].nodata + table.zones[i].outside).to_m2(),
        };
        assert!((r.children_sum_m2 - in_class(0) - in_class(1)).abs() < 1e-9);
    }
    // Only top-level overlap rows: no parent, no sum rows.
    assert_eq!(rows.len(), expected.len());
}

#[test]
fn county_loaded_twice_overlaps_by_its_whole_area() {
    let a = (3.0, 64.0, 5.0, 71.0);
    let zones = vec![
        rect_zone("330100", None, a),
        rect_zone("b", None, (70.0, 110.0, 0.0, 50.0)),
        rect_zone("339999", None, a),
    ];
    let src = raster(false);
    let table = tally(&src, &zones, &TallyOptions::default(), &NoProgress).unwrap();
    let rows =
        hierarchy_checks(&zones, &table, &src, &CheckOptions::default(), &NoProgress).unwrap();
    assert!(rows.iter().all(|r| r.is_top_level()), "{rows:#?}");
    let t = &table.zones[0];
    for r in &rows {
        assert_eq!(r.children, vec!["330100".to_string(), "339999".to_string()]);
        let whole = match r.class {
            Some(c) => t.classes[&c].to_m2(),
            None => (t.nodata + t.outside).to_m2(),
        };
        assert!((-r.residual_m2 - whole).abs() < 1e-9, "{r:?}");
        assert!((r.children_sum_m2 - 2.0 * whole).abs() < 1e-9, "{r:?}");
    }
    let total: f64 = rows.iter().map(|r| -r.residual_m2).sum();
    assert!((total - 61.0 * 66.0).abs() < 1e-9, "{total}");
}

#[test]
fn disjoint_and_edge_sharing_counties_have_no_overlap_rows() {
    // a and b share a bent edge through off-grid points; c touches b at a corner; d is apart.
    let zones = vec![
        zone(
            "a",
            Level::County,
            None,
            &[
                (0.0, 0.0),
                (47.3, 0.0),
                (52.1, 47.7),
                (49.9, 100.0),
                (0.0, 100.0),
            ],
        ),
        zone(
            "b",
            Level::County,
            None,
            &[
                (47.3, 0.0),
                (100.0, 0.0),
                (100.0, 100.0),
                (49.9, 100.0),
                (52.1, 47.7),
            ],
        ),
        rect_zone("c", None, (100.0, 117.0, 100.0, 118.0)),
        rect_zone("d", None, (105.0, 118.0, 5.0, 60.0)),
    ];
    for uniform in [true, false] {
        let rows = checks(&zones, &raster(uniform), &CheckOptions::default());
        assert!(rows.is_empty(), "{rows:#?}");
    }
    let g = hierarchy_geometry(&zones, &CheckOptions::default(), &NoProgress).unwrap();
    assert!(g.is_empty(), "{g:?}");
}

#[test]
fn top_level_floor_is_relative_to_the_smaller_zone() {
    // A 100 x 100 county and a 10 x 10 one overlapping it by 10 x 1 = 10 m²: 10 % of the
    // small one, 0.1 % of the large one.
    let zones = vec![
        rect_zone("big", None, (0.0, 100.0, 0.0, 100.0)),
        rect_zone("small", None, (99.0, 109.0, 50.0, 60.0)),
    ];
    let src = raster(true);
    let with = |min_relative| CheckOptions {
        min_relative,
        ..CheckOptions::default()
    };
    // Floor 5 m² (5 % of 100 m²): kept. Were the big one the scale, 500 m² would drop it.
    let rows = checks(&zones, &src, &with(0.05));
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert!((rows[0].residual_m2 + 10.0).abs() < 1e-9);
    // Floor 20 m² (20 % of 100 m²): dropped.
    assert!(checks(&zones, &src, &with(0.2)).is_empty());
    // Below half the floor (30 m² here) it is dropped already when clipped.
    assert!(hierarchy_geometry(&zones, &with(0.3), &NoProgress)
        .unwrap()
        .is_empty());
    // The absolute floor applies too: 1e-4 m wide is 1e-3 m² < 0.01 m².
    let sliver = vec![
        rect_zone("big", None, (0.0, 100.0, 0.0, 100.0)),
        rect_zone("small", None, (100.0 - 1e-4, 110.0, 50.0, 60.0)),
    ];
    assert!(checks(&sliver, &src, &with(0.0)).is_empty());
}

#[test]
fn families_and_top_level_overlaps_together() {
    // Two counties overlapping by [40, 50] x [0, 100] = 1,000 m², each tiled by two villages.
    let zones = vec![
        rect_zone("c1", None, (0.0, 50.0, 0.0, 100.0)),
        rect_zone("c2", None, (40.0, 110.0, 0.0, 100.0)),
        rect_zone("v11", Some("c1"), (0.0, 25.0, 0.0, 100.0)),
        rect_zone("v12", Some("c1"), (25.0, 50.0, 0.0, 100.0)),
        rect_zone("v21", Some("c2"), (40.0, 80.0, 0.0, 100.0)),
        rect_zone("v22", Some("c2"), (80.0, 110.0, 0.0, 100.0)),
    ];
    let src = raster(true);
    let table = tally(&src, &zones, &TallyOptions::default(), &NoProgress).unwrap();
    let opts = CheckOptions::default();
    let rows = hierarchy_checks(&zones, &table, &src, &opts, &NoProgress).unwrap();
    // The families are perfect: sum rows with no residual, no gap/overlap/spill rows.
    let sums: Vec<_> = rows.iter().filter(|r| r.kind == CheckKind::Sum).collect();
    assert_eq!(sums.len(), 4, "{rows:#?}"); // c1 and c2, class 1 and None
    assert!(sums.iter().all(|r| r.residual_m2.abs() < 1e-9));
    // Top-level overlap rows come last.
    let top = top_rows(&rows);
    assert_eq!(top.len(), 1, "{rows:#?}");
    assert!(rows.last().unwrap().is_top_level());
    assert_eq!(top[0].children, vec!["c1".to_string(), "c2".to_string()]);
    assert!((top[0].residual_m2 + 1000.0).abs() < 1e-9);
    // Checks on a subset holding one county of the pair ignore the pair's piece.
    let g = hierarchy_geometry(&zones, &opts, &NoProgress).unwrap();
    let subset: Vec<Zone> = zones
        .iter()
        .filter(|z| z.id.starts_with("c1") || z.id.starts_with("v1"))
        .cloned()
        .collect();
    let t = tally(&src, &subset, &TallyOptions::default(), &NoProgress).unwrap();
    let rows = hierarchy_checks_with(&subset, &t, &src, Some(&g), &opts).unwrap();
    assert!(rows.iter().all(|r| r.kind == CheckKind::Sum), "{rows:#?}");
    // The piece is handed to `retain` with an empty parent id.
    let mut g = g;
    let mut seen = Vec::new();
    g.retain(|parent, _| {
        seen.push(parent.to_string());
        true
    });
    assert_eq!(seen, vec![String::new()]);
}

#[test]
fn a_township_without_its_county_among_counties_is_refused() {
    // A township whose county is not loaded, beside a county: resolving parents would make it
    // an orphan; given unresolved, the checks refuse it rather than treat it as a top zone.
    let zones = vec![
        zone(
            "330101001",
            Level::Township,
            None,
            &[(0.0, 0.0), (30.0, 0.0), (30.0, 30.0), (0.0, 30.0)],
        ),
        rect_zone("330200", None, (20.0, 60.0, 0.0, 60.0)),
    ];
    let src = raster(true);
    let table = tally(&src, &zones, &TallyOptions::default(), &NoProgress).unwrap();
    let e = hierarchy_checks(&zones, &table, &src, &CheckOptions::default(), &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(e.contains("330101001") && e.contains("no parent"), "{e}");
}

#[test]
fn top_level_rows_do_not_depend_on_the_thread_count() {
    // A row of 8 counties, each overlapping the next by 2 m.
    let zones: Vec<Zone> = (0..8)
        .map(|i| {
            let x0 = 13.0 * i as f64;
            rect_zone(&format!("c{i}"), None, (x0, x0 + 15.0, 3.0, 117.0))
        })
        .collect();
    let src = raster(false);
    let run = |threads| {
        let opts = CheckOptions {
            tally: TallyOptions {
                threads,
                ..TallyOptions::default()
            },
            ..CheckOptions::default()
        };
        checks(&zones, &src, &opts)
    };
    let one = run(1);
    assert_eq!(one, run(3));
    let pairs: std::collections::BTreeSet<_> = one.iter().map(|r| r.children.clone()).collect();
    assert_eq!(pairs.len(), 7, "{one:#?}");
    let total: f64 = one.iter().map(|r| -r.residual_m2).sum();
    assert!((total - 7.0 * 2.0 * 114.0).abs() < 1e-9, "{total}");
}

/// Zones reordered after the tally: the checks refuse them (the table knows its zone ids)
/// instead of comparing one zone's areas with another's.
#[test]
fn regression_checks_refuse_zones_reordered_after_the_tally() {
    let src = raster(false);
    let zones = vec![
        rect_zone("1", None, (0.0, 60.0, 0.0, 120.0)),
        zone(
            "11",
            Level::Township,
            Some("1"),
            &[(0.0, 0.0), (60.0, 0.0), (60.0, 120.0), (0.0, 120.0)],
        ),
        rect_zone("2", None, (60.0, 120.0, 0.0, 120.0)),
    ];
    let table = tally(&src, &zones, &TallyOptions::default(), &NoProgress).unwrap();
    assert!(gep_zonal::sum_checks(&zones, &table).is_ok());
    let swapped = vec![zones[2].clone(), zones[1].clone(), zones[0].clone()];
    let e = gep_zonal::sum_checks(&swapped, &table)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("position 0") && e.contains("\"1\"") && e.contains("\"2\""),
        "{e}"
    );
    let opts = CheckOptions::default();
    assert!(hierarchy_checks(&swapped, &table, &src, &opts, &NoProgress).is_err());
}

/// Parents never resolved: the checks refuse (they used to give no rows for the family, a
/// plausible "everything adds up").
#[test]
fn regression_checks_refuse_unresolved_parents() {
    let src = raster(false);
    let mut zones = vec![
        rect_zone("1", None, (0.0, 120.0, 0.0, 120.0)),
        zone(
            "11",
            Level::Township,
            None,
            &[(0.0, 0.0), (60.0, 0.0), (60.0, 120.0), (0.0, 120.0)],
        ),
    ];
    let table = tally(&src, &zones, &TallyOptions::default(), &NoProgress).unwrap();
    let e = gep_zonal::sum_checks(&zones, &table)
        .unwrap_err()
        .to_string();
    assert!(e.contains("\"11\"") && e.contains("resolve"), "{e}");
    gep_core::resolve_parents(&mut zones).unwrap();
    let rows = gep_zonal::sum_checks(&zones, &table).unwrap();
    assert!(!rows.is_empty());
    // Half the county is not covered by its one township: the sum rows say so.
    let residual: f64 = rows.iter().map(|r| r.residual_m2).sum();
    assert!((residual - 60.0 * 120.0).abs() < 1e-6, "{residual}");
}
