//! The in-memory path, checked by hand.

use gep_core::geo_types::polygon;
use gep_core::{CrsInfo, Grid, Level, MemRaster, NoProgress, Zone};
use gep_engine::{assess_zones, EngineError, Options, Valuation};

/// 4 x 4 cells of 30 m: the west half MODIS IGBP class 2 (forest), the east half `east`.
fn raster_with(east: i32) -> MemRaster {
    let grid = Grid::new(
        0.0,
        120.0,
        30.0,
        30.0,
        4,
        4,
        CrsInfo::projected("EPSG:4549"),
    )
    .unwrap();
    MemRaster::from_fn(grid, move |_, c| Some(if c < 2 { 2 } else { east }))
}

/// The west half forest, the east half water (MCD12C1 water = 0).
fn raster() -> MemRaster {
    raster_with(0)
}

fn square(id: &str, level: Level, x0: f64, y0: f64, side: f64) -> Zone {
    Zone::new(
        id,
        id,
        level,
        polygon![(x: x0, y: y0), (x: x0 + side, y: y0), (x: x0 + side, y: y0 + side), (x: x0, y: y0 + side)].into(),
    )
}

#[test]
fn a_county_and_its_township_by_hand() {
    let v = Valuation::load("xie2015", Some("modis-igbp-mcd12c1"), 2019).unwrap();
    let zones = vec![
        square("331123", Level::County, 0.0, 0.0, 120.0),
        // 45 m square at the origin: 45 × 45 m², of which the west 45 m are forest (cols 0-1).
        square("331123100", Level::Township, 0.0, 0.0, 45.0),
    ];
    let a = assess_zones(&raster(), zones, Some(&v), &Options::default(), &NoProgress).unwrap();
    let county = a.extent.get("331123").expect("county tallied");
    assert_eq!(county.classes[&2].to_m2(), 7_200.0);
    assert_eq!(county.classes[&0].to_m2(), 7_200.0);
    let t = a.extent.get("331123100").expect("township tallied");
    assert_eq!(t.classes[&2].to_m2(), 2_025.0);
    assert!(a.failures.is_empty());
    let totals = a.totals.expect("valued");
    assert_eq!(totals.zones, 1);
    assert_eq!(totals.price_year, Some(2010));
    // The county's GEP = its gep.csv row; the township is not added to the total.
    assert_eq!(
        totals.gep_yuan,
        a.accounts.as_ref().unwrap().gep[0].gep_yuan
    );
}

#[test]
fn strict_mode_refuses_a_zone_off_the_raster() {
    let zones = vec![square("1", Level::County, 1_000.0, 1_000.0, 50.0)];
    let e = assess_zones(
        &raster(),
        zones.clone(),
        None,
        &Options::default(),
        &NoProgress,
    )
    .unwrap_err();
    assert!(matches!(e, EngineError::Strict { .. }), "{e}");
    assert!(e.to_string().contains("off the raster"), "{e}");
    // Not strict: computed, with the area all outside the raster and a warning.
    let lenient = Options {
        strict: false,
        ..Options::default()
    };
    let a = assess_zones(&raster(), zones, None, &lenient, &NoProgress).unwrap();
    assert_eq!(a.extent.get("1").unwrap().covered().to_m2(), 0.0);
    assert!(!a.warnings.is_empty());
}

#[test]
fn zones_in_another_crs_are_refused_in_strict_mode() {
    // Degrees over a metre grid: 0.001° squares at (120°, 30°) are far off the 120 m raster.
    let zones = vec![square("1", Level::County, 120.0, 30.0, 0.001)];
    let e = assess_zones(&raster(), zones, None, &Options::default(), &NoProgress).unwrap_err();
    assert!(e.to_string().contains("off the raster"), "{e}");
}

/// A class the crosswalk does not map fails its county (a failure with the class and its
/// area), not the whole assessment.
#[test]
fn unmapped_class_fails_its_county() {
    // Class 17 (MCD12Q1's water) is not in the MCD12C1 crosswalk.
    let raster = raster_with(17);
    let v = Valuation::load("xie2015", Some("modis-igbp-mcd12c1"), 2019).unwrap();
    let zones = vec![
        square("1", Level::County, 0.0, 0.0, 60.0),
        square("2", Level::County, 60.0, 0.0, 60.0),
    ];
    let a = assess_zones(&raster, zones, Some(&v), &Options::default(), &NoProgress).unwrap();
    assert_eq!(a.units_total, 2);
    assert_eq!(a.failures.len(), 1);
    assert_eq!(a.failures[0].unit_id, "2");
    let text = a.failures[0].reason_text();
    assert!(text.contains("class 17 (3600.0 m²)"), "{text}");
    assert_eq!(a.extent.zone_ids, ["1"]);
    assert_eq!(a.totals.unwrap().zones, 1);
}
