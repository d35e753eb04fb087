//! Project appraisal: how much GEP a project's footprints would remove (or add), from which
//! villages, townships and counties, by service.
//!
//! For every zone, the scenario extent is the current extent minus the class areas under the
//! footprints (footprint ∩ zone, tallied exactly) plus that covered area in each footprint's
//! new class; nodata under a footprint stays nodata. The change from the current to the
//! scenario extent is decomposed with [`gep_core::change::decompose`] at unchanged unit
//! values, so it is a pure land-change effect (price and interaction effects are zero).
//!
//! A footprint that a zone contains is tallied as it is (not clipped), so a footprint inside
//! one village changes that village, its township and its county by bit-identical amounts; a
//! footprint across zones is clipped with geo's boolean intersection, and the pieces' changes
//! add up to the parent's to ~1e-12 relative (the clipped outlines' coverage).

use crate::{EngineError, Valuation};
use geo::{Area, BooleanOps, BoundingRect, Contains};
use gep_core::change::{decompose, Change, ChangeOptions, TypeAreas, UnitValues, YearState};
use gep_core::geo_types::{MultiPolygon, Rect};
use gep_core::transition::Transitions;
use gep_core::{ClassCode, ExactArea, ExtentTable, Level, RasterSource, Reporter, Zone, ZoneTally};
use gep_zonal::{tally, tally_transitions, TallyOptions};
use serde::Serialize;

/// A project footprint and the land cover it would become.
#[derive(Debug, Clone, PartialEq)]
pub struct Footprint {
    /// Footprint id.
    pub id: String,
    /// The land-cover class (of the raster's scheme) the footprint would become.
    pub new_class: ClassCode,
    /// Its outline, in the raster's CRS.
    pub geometry: MultiPolygon<f64>,
}

/// The area of one footprint in one zone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FootprintPiece {
    /// Footprint id.
    pub footprint_id: String,
    /// Zone id.
    pub zone_id: String,
    /// Zone level.
    pub zone_level: Level,
    /// Covered area converted (m²).
    pub converted_m2: f64,
    /// The new class.
    pub new_class: ClassCode,
    /// The classes converted (class, covered m²), ascending by class: what the footprint
    /// covers in the zone now.
    pub from_m2: Vec<(ClassCode, f64)>,
}

/// The appraisal of a project.
#[derive(Debug, Clone, PartialEq)]
pub struct Appraisal {
    /// The zones (parents resolved), in tally order.
    pub zones: Vec<Zone>,
    /// The current extent.
    pub before: ExtentTable,
    /// The scenario extent.
    pub after: ExtentTable,
    /// Each footprint's converted area in each zone it meets.
    pub pieces: Vec<FootprintPiece>,
    /// Ids of the zones the footprints meet, in zone order.
    pub affected: Vec<String>,
    /// The change from current to scenario (land effect only), every zone.
    pub change: Change,
    /// With a scenario raster ([`appraise_scenario`]): the transition matrix of every zone,
    /// current → scenario (cells nodata in either kept as they are now).
    pub transitions: Option<Transitions>,
}

impl Appraisal {
    /// The GEP change of zone `id` (元/a).
    pub fn gep_change(&self, id: &str) -> Option<f64> {
        self.change
            .zone_service(id, None)
            .map(|r| r.nominal.total_yuan)
    }
}

fn rects_meet(a: &Rect<f64>, b: &Rect<f64>) -> bool {
    a.min().x < b.max().x && b.min().x < a.max().x && a.min().y < b.max().y && b.min().y < a.max().y
}

/// Appraises `footprints` over `raster` for `zones` (any levels, in the raster's CRS; parents
/// resolved here), valued with `valuation`.
///
/// # Errors
/// Footprints that overlap each other (their area would be converted twice), an empty
/// footprint, a new class the valuation cannot price, tally errors.
///
/// # Units
/// Areas in m² on the grid's area basis; values in 元/a at the set's price year.
pub fn appraise(
    raster: &dyn RasterSource,
    mut zones: Vec<Zone>,
    footprints: &[Footprint],
    valuation: &Valuation,
    threads: usize,
    reporter: &dyn Reporter,
) -> Result<Appraisal, EngineError> {
    valuation.check()?;
    gep_core::resolve_parents(&mut zones)?;
    let boxes: Vec<Option<Rect<f64>>> = footprints
        .iter()
        .map(|f| f.geometry.bounding_rect())
        .collect();
    for (i, f) in footprints.iter().enumerate() {
        if f.geometry.unsigned_area() <= 0.0 {
            return Err(EngineError::input(format!(
                "footprint {:?} has no area (empty or degenerate outline); fix or drop the feature",
                f.id
            )));
        }
        for (j, g) in footprints.iter().enumerate().skip(i + 1) {
            let meet = matches!((&boxes[i], &boxes[j]), (Some(a), Some(b)) if rects_meet(a, b));
            if meet {
                let overlap = f.geometry.intersection(&g.geometry).unsigned_area();
                if overlap > 0.0 {
                    return Err(EngineError::input(format!(
                        "footprints {:?} and {:?} overlap ({overlap} CRS units²): their land would be converted twice; merge them or cut one",
                        f.id, g.id
                    )));
                }
            }
        }
    }
    // Pieces: footprint ∩ zone, the footprint itself where the zone contains it.
    let mut pieces: Vec<(usize, usize, MultiPolygon<f64>)> = Vec::new();
    for (zi, z) in zones.iter().enumerate() {
        let Some(zb) = z.geometry.bounding_rect() else {
            continue;
        };
        for (fi, f) in footprints.iter().enumerate() {
            if !boxes[fi].as_ref().is_some_and(|fb| rects_meet(fb, &zb)) {
                continue;
            }
            let piece = if z.geometry.contains(&f.geometry) {
                f.geometry.clone()
            } else {
                z.geometry.intersection(&f.geometry)
            };
            if piece.unsigned_area() > 0.0 {
                pieces.push((zi, fi, piece));
            }
        }
    }
    let n = zones.len();
    let mut all = zones.clone();
    all.extend(pieces.iter().map(|(zi, fi, g)| {
        Zone::new(
            format!("{}@{}", footprints[*fi].id, zones[*zi].id),
            String::new(),
            Level::Village,
            g.clone(),
        )
    }));
    let opts = TallyOptions {
        threads,
        ..Default::default()
    };
    let table = tally(raster, &all, &opts, reporter)?;
    let before = ExtentTable::from_parts(table.zone_ids[..n].to_vec(), table.zones[..n].to_vec())?;
    let mut after = before.clone();
    let mut out_pieces = Vec::with_capacity(pieces.len());
    let mut affected = vec![false; n];
    for (k, (zi, fi, _)) in pieces.iter().enumerate() {
        let piece: &ZoneTally = &table.zones[n + k];
        let t = &mut after.zones[*zi];
        for (c, a) in &piece.classes {
            let e = t.classes.entry(*c).or_default();
            // The piece lies in the zone; a difference below zero is rounding of the clipped
            // outline's coverage (< 1e-12 relative), not land.
            *e = if *e > *a { *e - *a } else { ExactArea::ZERO };
        }
        let converted = piece.covered();
        t.add_class(footprints[*fi].new_class, converted);
        t.classes.retain(|_, a| *a != ExactArea::ZERO);
        affected[*zi] = true;
        out_pieces.push(FootprintPiece {
            footprint_id: footprints[*fi].id.clone(),
            zone_id: zones[*zi].id.clone(),
            zone_level: zones[*zi].level,
            converted_m2: converted.to_m2(),
            new_class: footprints[*fi].new_class,
            from_m2: piece.classes.iter().map(|(c, a)| (*c, a.to_m2())).collect(),
        });
    }
    let change = scenario_change(&zones, &before, &after, valuation)?;
    let affected = zones
        .iter()
        .zip(&affected)
        .filter(|(_, a)| **a)
        .map(|(z, _)| z.id.clone())
        .collect();
    Ok(Appraisal {
        zones,
        before,
        after,
        pieces: out_pieces,
        affected,
        change,
        transitions: None,
    })
}

/// The land-cover change and the decomposition at unchanged unit values, shared by both
/// kinds of appraisal.
fn scenario_change(
    zones: &[Zone],
    before: &ExtentTable,
    after: &ExtentTable,
    valuation: &Valuation,
) -> Result<Change, EngineError> {
    let cw = valuation.crosswalk.as_ref();
    let a0 = TypeAreas::from_extent(zones, before, cw)?;
    let a1 = TypeAreas::from_extent(zones, after, cw)?;
    let uv = UnitValues::from_set(&valuation.set, &valuation.params)?;
    Ok(decompose(
        YearState {
            year: valuation.year,
            areas: &a0,
            unit_values: &uv,
        },
        YearState {
            year: valuation.year,
            areas: &a1,
            unit_values: &uv,
        },
        &ChangeOptions::default(),
    )?)
}

/// Appraises a scenario raster: `scenario` is the land cover after the project, on
/// `baseline`'s grid and in its scheme. Both are read as one ([`tally_transitions`]: exact
/// covered fractions, every zone's current extent bit-identical to a tally of `baseline`
/// alone). A cell that is nodata in the scenario keeps its current class (a scenario raster
/// may carry only the project's area); a cell that is nodata now stays nodata. The change is
/// decomposed at unchanged unit values (a pure land effect), for every zone; the affected
/// zones are those where some area changes class.
///
/// # Errors
/// The rasters are not on one grid, a class the valuation cannot price, tally errors.
///
/// # Units
/// Areas in m² on the grid's area basis; values in 元/a at the set's price year.
pub fn appraise_scenario(
    baseline: &dyn RasterSource,
    scenario: &dyn RasterSource,
    mut zones: Vec<Zone>,
    valuation: &Valuation,
    threads: usize,
    reporter: &dyn Reporter,
) -> Result<Appraisal, EngineError> {
    valuation.check()?;
    gep_core::resolve_parents(&mut zones)?;
    let opts = TallyOptions {
        threads,
        ..Default::default()
    };
    let mut t = tally_transitions(baseline, scenario, &zones, &opts, reporter)?;
    for z in &mut t.zones {
        type Pair = (Option<ClassCode>, Option<ClassCode>);
        let gaps: Vec<(Pair, ExactArea)> = z
            .pairs
            .iter()
            .filter(|((f, to), _)| f.is_none() || to.is_none())
            .map(|(k, a)| (*k, *a))
            .collect();
        for ((from, to), a) in gaps {
            z.pairs.remove(&(from, to));
            match from {
                // Nodata in the scenario: the cell keeps its class.
                Some(c) => *z.pairs.entry((Some(c), Some(c))).or_default() += a,
                // Nodata now: stays nodata.
                None => z.nodata += a,
            }
        }
    }
    let before = t.year0();
    let after = t.year1();
    let change = scenario_change(&zones, &before, &after, valuation)?;
    let affected = zones
        .iter()
        .zip(&t.zones)
        .filter(|(_, m)| {
            m.pairs
                .iter()
                .any(|((f, to), a)| f != to && *a != ExactArea::ZERO)
        })
        .map(|(z, _)| z.id.clone())
        .collect();
    Ok(Appraisal {
        zones,
        before,
        after,
        pieces: Vec::new(),
        affected,
        change,
        transitions: Some(t),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parcels::tests::{rect, valuation};
    use gep_core::{CrsInfo, Grid, MemRaster, NoProgress};

    /// 4 x 4 cells of 100 m: forest (2) except column 1 (x 100..200), cropland (1).
    /// County 331123 (x 0..400); townships 001 (x 0..200) and 002 (x 200..400); villages
    /// 001001 (x 0..100), 001002 (x 100..200), 002001 (x 200..400).
    fn setup() -> (MemRaster, Vec<Zone>) {
        let g = Grid::new(0.0, 400.0, 100.0, 100.0, 4, 4, CrsInfo::projected("local")).unwrap();
        let r = MemRaster::from_fn(g, |_, c| Some(if c == 1 { 1 } else { 2 }));
        let z = |id: &str, level, x0, x1| Zone::new(id, id, level, rect(x0, 0.0, x1, 400.0));
        let zones = vec![
            z("331123", Level::County, 0.0, 400.0),
            z("331123001", Level::Township, 0.0, 200.0),
            z("331123002", Level::Township, 200.0, 400.0),
            z("331123001001", Level::Village, 0.0, 100.0),
            z("331123001002", Level::Village, 100.0, 200.0),
            z("331123002001", Level::Village, 200.0, 400.0),
        ];
        (r, zones)
    }

    /// A 3000 m² footprint of forest inside village 001001 becomes built-up land: −0.3 ha ×
    /// (1000 + 300) 元/ha/a = −390 元 in that village, its township and its county, the same
    /// bits in all three; nothing elsewhere.
    #[test]
    fn footprint_inside_one_village() {
        let (r, zones) = setup();
        let f = Footprint {
            id: "plant".into(),
            new_class: 8,
            geometry: rect(20.0, 130.0, 70.0, 190.0),
        };
        let a = appraise(&r, zones, &[f], &valuation(), 1, &NoProgress).unwrap();
        assert_eq!(a.affected, vec!["331123", "331123001", "331123001001"]);
        let v = a.gep_change("331123001001").unwrap();
        assert!((v - -390.0).abs() < 1e-9, "{v}");
        assert_eq!(a.gep_change("331123001"), Some(v));
        assert_eq!(a.gep_change("331123"), Some(v));
        for other in ["331123002", "331123001002", "331123002001"] {
            assert_eq!(a.gep_change(other), Some(0.0));
        }
        let r = a.change.zone_service("331123", None).unwrap().nominal;
        assert_eq!((r.price_yuan, r.interaction_yuan), (0.0, 0.0));
        assert_eq!(r.land_yuan, r.total_yuan);
        let wc = a
            .change
            .zone_service("331123001001", Some("water_conservation"))
            .unwrap();
        assert!((wc.nominal.total_yuan - -300.0).abs() < 1e-9);
        // The scenario keeps every zone's covered area.
        for (b, af) in a.before.zones.iter().zip(&a.after.zones) {
            assert_eq!(b.covered(), af.covered());
        }
    }

    /// A 2000 m² footprint across the line x = 100: 800 m² of forest in 001001 (−0.08 ×
    /// 1300 = −104 元), 1200 m² of cropland in 001002 (−0.12 × 500 = −60 元); the township
    /// and the county lose −164 元, the villages' sum to 1e-9 relative.
    #[test]
    fn footprint_across_two_villages_splits_exactly() {
        let (r, zones) = setup();
        let f = Footprint {
            id: "road".into(),
            new_class: 8,
            geometry: rect(80.0, 20.0, 130.0, 60.0),
        };
        let a = appraise(&r, zones, &[f], &valuation(), 2, &NoProgress).unwrap();
        let v1 = a.gep_change("331123001001").unwrap();
        let v2 = a.gep_change("331123001002").unwrap();
        let t = a.gep_change("331123001").unwrap();
        assert!((v1 - -104.0).abs() < 1e-9, "{v1}");
        assert!((v2 - -60.0).abs() < 1e-9, "{v2}");
        assert!((t - -164.0).abs() < 1e-9, "{t}");
        assert!(((v1 + v2) - t).abs() <= 1e-9 * t.abs());
        assert_eq!(a.gep_change("331123"), Some(t));
        assert_eq!(a.gep_change("331123002"), Some(0.0));
        assert_eq!(a.pieces.len(), 4);
    }

    /// A scenario raster that differs from the current land cover only in village 001001
    /// (column 0, x 0..100): two forest cells (rows 1 and 2) become built-up (8), and the
    /// scenario is nodata everywhere else (= unchanged). −2 ha × 1300 元/ha/a = −2600 元 in
    /// the village, its township and its county, the same bits in all three; nothing
    /// elsewhere.
    #[test]
    fn scenario_raster_inside_one_village() {
        let (r, zones) = setup();
        let s = MemRaster::from_fn(r.grid().clone(), |row, c| {
            (c == 0 && (row == 1 || row == 2)).then_some(8)
        });
        let a = appraise_scenario(&r, &s, zones, &valuation(), 2, &NoProgress).unwrap();
        assert_eq!(a.affected, vec!["331123", "331123001", "331123001001"]);
        let v = a.gep_change("331123001001").unwrap();
        assert_eq!(v, -2600.0);
        assert_eq!(a.gep_change("331123001"), Some(v));
        assert_eq!(a.gep_change("331123"), Some(v));
        for other in ["331123002", "331123001002", "331123002001"] {
            assert_eq!(a.gep_change(other), Some(0.0));
        }
        // Nodata in the scenario kept the current classes: the covered area is unchanged.
        for (b, af) in a.before.zones.iter().zip(&a.after.zones) {
            assert_eq!(b.covered(), af.covered());
        }
        assert!(a.transitions.is_some() && a.pieces.is_empty());
    }

    #[test]
    fn overlapping_footprints_are_refused() {
        let (r, zones) = setup();
        let f = |id: &str, x0| Footprint {
            id: id.into(),
            new_class: 8,
            geometry: rect(x0, 20.0, x0 + 50.0, 60.0),
        };
        let e = appraise(
            &r,
            zones,
            &[f("a", 10.0), f("b", 40.0)],
            &valuation(),
            1,
            &NoProgress,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("\"a\"") && e.contains("\"b\"") && e.contains("overlap"),
            "{e}"
        );
    }
}
