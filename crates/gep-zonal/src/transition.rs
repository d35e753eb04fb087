//! Two-year land-cover change by zone: the transition matrix (from class × to class → area)
//! with exact coverage, through the ordinary tally over a [`PairedSource`] (see
//! [`gep_core::transition`]), so no second, slower code path exists for transitions.

use crate::error::ZonalError;
use crate::tally::{tally, TallyOptions};
use gep_core::transition::{scan_pairs, PairCodec, PairedSource, Transitions};
use gep_core::{RasterSource, Reporter, Zone};

/// Tallies the transitions of `zones` from `year0` to `year1` (two rasters on one grid).
///
/// The (from, to) pairs that occur are found first (one read of both rasters,
/// [`scan_pairs`]), so that the codes stay below 256 — the tally's dense path — unless more
/// than 255 distinct transitions occur; then one exact tally over the paired cells gives, per zone, the area of every (from, to) pair —
/// `None` where a year has no data — the area where both are nodata, and the area beyond the
/// rasters. Each zone's row sums are bit-identical to a tally of `year0` alone, its column sums
/// to one of `year1`.
///
/// ```
/// use gep_core::{CrsInfo, Grid, Level, MemRaster, NoProgress, Zone};
/// use gep_zonal::{tally_transitions, TallyOptions};
/// use geo_types::{polygon, MultiPolygon};
/// let grid = Grid::new(0.0, 10.0, 10.0, 10.0, 1, 2, CrsInfo::projected("local")).unwrap();
/// let y0 = MemRaster::new(grid.clone(), vec![Some(2), Some(2)]).unwrap();
/// let y1 = MemRaster::new(grid, vec![Some(2), Some(8)]).unwrap();
/// let p = polygon![(x: 5.0, y: 0.0), (x: 20.0, y: 0.0), (x: 20.0, y: 10.0), (x: 5.0, y: 10.0)];
/// let zone = Zone::new("v", "v", Level::Village, MultiPolygon::new(vec![p]));
/// let t = tally_transitions(&y0, &y1, &[zone], &TallyOptions::default(), &NoProgress).unwrap();
/// let m = t.get("v").unwrap();
/// assert_eq!(m.pairs[&(Some(2), Some(2))].to_m2(), 50.0);
/// assert_eq!(m.pairs[&(Some(2), Some(8))].to_m2(), 100.0);
/// ```
///
/// # Errors
/// The rasters are on different grids ([`gep_core::CoreError::Change`]); as [`tally`].
///
/// # Units
/// Areas in m² on the grid's area basis.
pub fn tally_transitions(
    year0: &dyn RasterSource,
    year1: &dyn RasterSource,
    zones: &[Zone],
    opts: &TallyOptions,
    reporter: &dyn Reporter,
) -> Result<Transitions, ZonalError> {
    let err = |e| ZonalError::Transition(Box::new(e));
    let mut a = year0.try_clone_source().map_err(err)?;
    let mut b = year1.try_clone_source().map_err(err)?;
    let codec = scan_pairs(a.as_mut(), b.as_mut()).map_err(err)?;
    tally_transitions_with(a, b, codec, zones, opts, reporter)
}

/// [`tally_transitions`] with the classes known (no scan): a class met that `codec` lacks is
/// an error naming it.
///
/// # Errors
/// As [`tally_transitions`].
pub fn tally_transitions_with(
    year0: Box<dyn RasterSource>,
    year1: Box<dyn RasterSource>,
    codec: PairCodec,
    zones: &[Zone],
    opts: &TallyOptions,
    reporter: &dyn Reporter,
) -> Result<Transitions, ZonalError> {
    let paired = PairedSource::new(year0, year1, codec.clone())
        .map_err(|e| ZonalError::Transition(Box::new(e)))?;
    let extent = tally(&paired, zones, opts, reporter)?;
    Ok(Transitions::from_extent(&extent, &codec))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{polygon, MultiPolygon};
    use gep_core::{CrsInfo, ExactArea, Grid, Level, MemRaster, NoProgress};

    /// A 3 x 3 grid of 10 m cells (100 m² each), x 0..30, y 0..30.
    ///
    /// ```text
    /// year 0        year 1
    /// 1 1 2         1 5 2
    /// 1 2 2         5 5 2
    /// 3 3 -         3 1 3        (- = nodata)
    /// ```
    ///
    /// Zone "a": x 0..15, y 0..30 (the left column and the left half of the middle column).
    /// Zone "b": x 15..30, y 5..30 (the rest, without the lower half of the bottom row).
    ///
    /// Zone a, by cell (fraction × 100 m²): row 0: (1→1) 100, (1→5) 50; row 1: (1→5) 100,
    /// (2→5) 50; row 2: (3→3) 100, (3→1) 50. So 1→1 100, 1→5 150, 2→5 50, 3→3 100, 3→1 50.
    /// Zone b: row 0: (1→5) 50, (2→2) 100; row 1: (2→5) 50, (2→2) 100; row 2 (upper half
    /// only): (3→1) 25, (nodata→3) 50. So 1→5 50, 2→2 200, 2→5 50, 3→1 25, -→3 50.
    #[test]
    fn hand_computed_matrix() {
        let g = Grid::new(0.0, 30.0, 10.0, 10.0, 3, 3, CrsInfo::projected("local")).unwrap();
        let y0 = MemRaster::new(
            g.clone(),
            vec![
                Some(1),
                Some(1),
                Some(2),
                Some(1),
                Some(2),
                Some(2),
                Some(3),
                Some(3),
                None,
            ],
        )
        .unwrap();
        let y1 = MemRaster::new(
            g.clone(),
            vec![
                Some(1),
                Some(5),
                Some(2),
                Some(5),
                Some(5),
                Some(2),
                Some(3),
                Some(1),
                Some(3),
            ],
        )
        .unwrap();
        let rect = |x0: f64, y0: f64, x1: f64, y1: f64| {
            MultiPolygon::new(vec![
                polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1)],
            ])
        };
        let zones = vec![
            Zone::new("a", "a", Level::Village, rect(0.0, 0.0, 15.0, 30.0)),
            Zone::new("b", "b", Level::Village, rect(15.0, 5.0, 30.0, 30.0)),
        ];
        for threads in [1, 2] {
            let opts = TallyOptions {
                threads,
                window_rows: 2,
                window_cols: 2,
            };
            let t = tally_transitions(&y0, &y1, &zones, &opts, &NoProgress).unwrap();
            let m2 = |z: &str, f: Option<i32>, to: Option<i32>| {
                t.get(z).unwrap().pairs.get(&(f, to)).map(|a| a.to_m2())
            };
            assert_eq!(m2("a", Some(1), Some(1)), Some(100.0));
            assert_eq!(m2("a", Some(1), Some(5)), Some(150.0));
            assert_eq!(m2("a", Some(2), Some(5)), Some(50.0));
            assert_eq!(m2("a", Some(3), Some(3)), Some(100.0));
            assert_eq!(m2("a", Some(3), Some(1)), Some(50.0));
            assert_eq!(t.get("a").unwrap().pairs.len(), 5);
            assert_eq!(m2("b", Some(1), Some(5)), Some(50.0));
            assert_eq!(m2("b", Some(2), Some(2)), Some(200.0));
            assert_eq!(m2("b", Some(2), Some(5)), Some(50.0));
            assert_eq!(m2("b", Some(3), Some(1)), Some(25.0));
            assert_eq!(m2("b", None, Some(3)), Some(50.0));
            assert_eq!(t.get("b").unwrap().pairs.len(), 5);
            // Net change of zone a: 1: 250 → 150, 2: 50 → 0, 3: 150 → 100, 5: 0 → 200.
            let net = t.get("a").unwrap().net_change();
            assert_eq!(net[&5].to_m2(), 200.0);
            assert_eq!(net[&3].to_m2(), -50.0);
            assert_eq!(net[&2].to_m2(), -50.0);
            assert_eq!(net[&1], ExactArea::from_m2(-100.0));
            // Row and column sums are the years' own extents, bit for bit.
            let e0 = tally(&y0, &zones, &opts, &NoProgress).unwrap();
            let e1 = tally(&y1, &zones, &opts, &NoProgress).unwrap();
            assert_eq!(t.year0(), e0);
            assert_eq!(t.year1(), e1);
        }
    }

    /// More than 15 classes a year: codes above 255, the tally's generic path; still the
    /// years' own extents.
    #[test]
    fn many_classes_take_the_generic_path() {
        let g = Grid::new(0.0, 400.0, 10.0, 10.0, 40, 40, CrsInfo::projected("local")).unwrap();
        let y0 = MemRaster::from_fn(g.clone(), |r, c| Some(((r * 7 + c) % 23) as i32 * 3));
        let y1 = MemRaster::from_fn(g.clone(), |r, c| {
            ((r + c) % 11 != 0).then_some(((r + c * 5) % 19) as i32 + 100)
        });
        let zones = vec![Zone::new(
            "z",
            "z",
            Level::County,
            MultiPolygon::new(vec![
                polygon![(x: 3.3, y: 7.1), (x: 391.0, y: 15.0), (x: 250.0, y: 398.2), (x: 12.0, y: 300.0)],
            ]),
        )];
        let opts = TallyOptions::default();
        let t = tally_transitions(&y0, &y1, &zones, &opts, &NoProgress).unwrap();
        assert!(!t.codec.is_dense());
        assert_eq!(t.year0(), tally(&y0, &zones, &opts, &NoProgress).unwrap());
        assert_eq!(t.year1(), tally(&y1, &zones, &opts, &NoProgress).unwrap());
    }
}

/// Timing of the transition tally against a one-year tally (run with `cargo test --release
/// -p gep-zonal --lib transition_speed -- --ignored --nocapture`); the figures are in
/// docs/change.md.
#[cfg(test)]
mod speed {
    use super::*;
    use geo_types::{polygon, MultiPolygon};
    use gep_core::{CrsInfo, Grid, Level, MemRaster, NoProgress};
    use std::time::Instant;

    #[test]
    #[ignore]
    fn transition_speed() {
        let n = 4000;
        let g = Grid::new(
            0.0,
            n as f64 * 30.0,
            30.0,
            30.0,
            n,
            n,
            CrsInfo::projected("local"),
        )
        .unwrap();
        let zones: Vec<Zone> = (0..64)
            .map(|i| {
                let (x0, y0) = ((i % 8) as f64 * 15_000.0, (i / 8) as f64 * 15_000.0);
                let p = polygon![(x: x0 + 1.0, y: y0 + 3.0), (x: x0 + 14_997.0, y: y0 + 11.0),
                    (x: x0 + 14_990.0, y: y0 + 14_999.0), (x: x0 + 7.0, y: y0 + 14_993.0)];
                Zone::new(
                    i.to_string(),
                    "",
                    Level::Village,
                    MultiPolygon::new(vec![p]),
                )
            })
            .collect();
        let opts = TallyOptions::default();
        for classes in [9i32, 30] {
            // Patches of 8 x 13 cells; year 1 changes one patch in five.
            let y0 = MemRaster::from_fn(g.clone(), |r, c| {
                Some(((r / 8 * 31 + c / 13 * 17) as i32) % classes + 1)
            });
            let y1 = MemRaster::from_fn(g.clone(), |r, c| {
                let k = ((r / 8 * 31 + c / 13 * 17) as i32) % classes + 1;
                Some(if (r / 8 + c / 13) % 5 == 0 {
                    k % classes + 1
                } else {
                    k
                })
            });
            let t = Instant::now();
            let one = tally(&y0, &zones, &opts, &NoProgress).unwrap();
            let t_one = t.elapsed();
            let t = Instant::now();
            let tr = tally_transitions(&y0, &y1, &zones, &opts, &NoProgress).unwrap();
            let t_tr = t.elapsed();
            assert_eq!(tr.year0(), one);
            println!(
                "{classes} classes ({} pair codes, dense {}): one year {:?}, transitions {:?} ({:.2}x)",
                tr.codec.len(),
                tr.codec.is_dense(),
                t_one,
                t_tr,
                t_tr.as_secs_f64() / t_one.as_secs_f64()
            );
        }
    }
}
