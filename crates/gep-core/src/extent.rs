//! The extent table: for each zone and land-cover class, the covered area, accumulated
//! exactly so that any split of the work (threads, windows, machines) sums to the same bytes.

use crate::error::CoreError;
use crate::raster::ClassCode;
use crate::units::SquareMeters;
use crate::zone::Zone;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::{Add, AddAssign, Sub};

/// Binary digits after the point in [`ExactArea`]'s fixed-point representation.
pub const EXACT_AREA_FRACTION_BITS: u32 = 40;
const SCALE: f64 = (1u64 << EXACT_AREA_FRACTION_BITS) as f64;

/// An area in m² held as a fixed-point integer (i128 of m² × 2⁴⁰, resolution ≈ 9.1e-13 m²).
///
/// Each cell contribution is rounded once to this grid and then summed **exactly**, so
/// the sum does not depend on the order of additions: any thread count or sharding gives
/// the same bits. The range (±1.5e26 m²) far exceeds the Earth's surface.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct ExactArea(pub i128);

impl ExactArea {
    /// Zero area.
    pub const ZERO: ExactArea = ExactArea(0);

    /// Rounds an area in m² to the fixed-point grid (ties away from zero).
    pub fn from_m2(m2: f64) -> ExactArea {
        ExactArea((m2 * SCALE).round() as i128)
    }

    /// The area as f64 m² (correctly rounded from the exact sum).
    ///
    /// # Units
    /// m².
    pub fn to_m2(self) -> f64 {
        // i128 -> f64 rounds to nearest; the division by a power of two is exact.
        (self.0 as f64) / SCALE
    }

    /// The area as [`SquareMeters`].
    ///
    /// # Units
    /// m².
    pub fn square_meters(self) -> SquareMeters {
        SquareMeters(self.to_m2())
    }
}

impl Add for ExactArea {
    type Output = ExactArea;
    fn add(self, o: ExactArea) -> ExactArea {
        ExactArea(self.0 + o.0)
    }
}

impl AddAssign for ExactArea {
    fn add_assign(&mut self, o: ExactArea) {
        self.0 += o.0;
    }
}

impl Sub for ExactArea {
    type Output = ExactArea;
    fn sub(self, o: ExactArea) -> ExactArea {
        ExactArea(self.0 - o.0)
    }
}

impl std::iter::Sum for ExactArea {
    fn sum<I: Iterator<Item = ExactArea>>(iter: I) -> ExactArea {
        iter.fold(ExactArea::ZERO, Add::add)
    }
}

/// The partial account of one zone: area by class, nodata area and area outside the raster.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ZoneTally {
    /// Covered area of each land-cover class.
    pub classes: BTreeMap<ClassCode, ExactArea>,
    /// Area of the zone over nodata cells.
    pub nodata: ExactArea,
    /// Area of the zone beyond the raster's extent.
    pub outside: ExactArea,
}

impl ZoneTally {
    /// Adds `area` to `class`.
    pub fn add_class(&mut self, class: ClassCode, area: ExactArea) {
        *self.classes.entry(class).or_default() += area;
    }

    /// Adds another partial account of the same zone.
    pub fn merge(&mut self, other: &ZoneTally) {
        for (c, a) in &other.classes {
            self.add_class(*c, *a);
        }
        self.nodata += other.nodata;
        self.outside += other.outside;
    }

    /// Σ class areas (the zone's area over valid cells).
    pub fn covered(&self) -> ExactArea {
        self.classes.values().copied().sum()
    }

    /// Covered + nodata + outside: the zone's whole area on the grid's area basis.
    pub fn total(&self) -> ExactArea {
        self.covered() + self.nodata + self.outside
    }
}

/// Zone × class areas for an ordered list of zones, labelled with their ids.
///
/// The table knows which zone each tally belongs to (`zone_ids[i]` ↔ `zones[i]`): every
/// consumer ([`ExtentTable::check_zones`]) refuses a zone list that is not the one the table
/// was computed for — reordered, filtered or another list — instead of silently moving areas
/// and values between zones. Tables computed on disjoint parts of the work merge by
/// [`ExtentTable::merge`] into exactly the table computed in one go.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ExtentTable {
    /// The id of each zone, in zone order.
    #[serde(default)]
    pub zone_ids: Vec<String>,
    /// One tally per zone, in zone order.
    pub zones: Vec<ZoneTally>,
}

impl ExtentTable {
    /// An empty table for the zones with these ids, in this order.
    pub fn new<S: Into<String>>(zone_ids: impl IntoIterator<Item = S>) -> ExtentTable {
        let zone_ids: Vec<String> = zone_ids.into_iter().map(Into::into).collect();
        ExtentTable {
            zones: vec![ZoneTally::default(); zone_ids.len()],
            zone_ids,
        }
    }

    /// An empty table for `zones`.
    pub fn for_zones(zones: &[Zone]) -> ExtentTable {
        ExtentTable::new(zones.iter().map(|z| z.id.clone()))
    }

    /// A table from tallies of the zones with these ids.
    ///
    /// # Errors
    /// [`CoreError::ExtentZones`] when the counts differ.
    pub fn from_parts(
        zone_ids: Vec<String>,
        zones: Vec<ZoneTally>,
    ) -> Result<ExtentTable, CoreError> {
        if zone_ids.len() != zones.len() {
            return Err(CoreError::ExtentZones {
                position: zone_ids.len().min(zones.len()),
                table: format!("{} tallies", zones.len()),
                given: format!("{} zone ids", zone_ids.len()),
            });
        }
        Ok(ExtentTable { zone_ids, zones })
    }

    /// The tally of zone `id`.
    pub fn get(&self, id: &str) -> Option<&ZoneTally> {
        self.zone_ids
            .iter()
            .position(|z| z == id)
            .map(|i| &self.zones[i])
    }

    /// Checks that `zones` is the zone list this table was computed for, in the same order.
    ///
    /// # Errors
    /// [`CoreError::ExtentZones`] naming the first position where they differ (or the counts).
    pub fn check_zones(&self, zones: &[Zone]) -> Result<(), CoreError> {
        check_labels(&self.zone_ids, self.zones.len(), zones, "tallies")
    }

    /// Keeps the zones for which `keep(id)` is true (tallies and ids together).
    pub fn retain(&mut self, keep: impl FnMut(&str) -> bool) {
        retain_labelled(&mut self.zone_ids, &mut self.zones, keep);
    }

    /// Adds a partial table over the same zones.
    ///
    /// # Panics
    /// When the two tables are over different zone lists (a programming error).
    pub fn merge(&mut self, other: &ExtentTable) {
        assert!(
            self.zones.len() == other.zones.len() && self.zone_ids == other.zone_ids,
            "extent tables over different zone lists"
        );
        for (a, b) in self.zones.iter_mut().zip(&other.zones) {
            a.merge(b);
        }
    }

    /// Every class present in any zone, ascending.
    pub fn classes(&self) -> Vec<ClassCode> {
        let mut set = std::collections::BTreeSet::new();
        for z in &self.zones {
            set.extend(z.classes.keys().copied());
        }
        set.into_iter().collect()
    }
}

/// Checks that `zones` are the zones `ids` label, in order, and that there is one row (of
/// `rows`, called `what`) per id: the check of every zone-labelled table.
pub(crate) fn check_labels(
    ids: &[String],
    rows: usize,
    zones: &[Zone],
    what: &str,
) -> Result<(), CoreError> {
    if ids.len() != rows || zones.len() != rows {
        return Err(CoreError::ExtentZones {
            position: zones.len().min(rows),
            table: format!("{rows} {what} of {} labelled zones", ids.len()),
            given: format!("{} zones", zones.len()),
        });
    }
    match zones.iter().zip(ids).position(|(z, id)| &z.id != id) {
        None => Ok(()),
        Some(i) => Err(CoreError::ExtentZones {
            position: i,
            table: format!("zone {:?}", ids[i]),
            given: format!("zone {:?}", zones[i].id),
        }),
    }
}

/// Keeps the ids for which `keep(id)` is true, and their rows.
pub(crate) fn retain_labelled<T>(
    ids: &mut Vec<String>,
    rows: &mut Vec<T>,
    mut keep: impl FnMut(&str) -> bool,
) {
    let flags: Vec<bool> = ids.iter().map(|id| keep(id)).collect();
    let mut it = flags.iter();
    ids.retain(|_| *it.next().unwrap_or(&false));
    let mut it = flags.iter();
    rows.retain(|_| *it.next().unwrap_or(&false));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fixed_point_round_trip() {
        assert_eq!(ExactArea::from_m2(900.0).to_m2(), 900.0);
        assert_eq!(ExactArea::from_m2(0.25).to_m2(), 0.25);
        assert_eq!(ExactArea::from_m2(-3.5).to_m2(), -3.5);
    }

    proptest! {
        #[test]
        fn sum_is_order_independent(mut v in prop::collection::vec(0.0f64..1e6, 1..200), seed in any::<u64>()) {
            let a: ExactArea = v.iter().map(|x| ExactArea::from_m2(*x)).sum();
            // A deterministic shuffle.
            let n = v.len();
            let mut s = seed;
            for i in (1..n).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                v.swap(i, (s >> 33) as usize % (i + 1));
            }
            let b: ExactArea = v.iter().map(|x| ExactArea::from_m2(*x)).sum();
            prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn merge_adds() {
        let mut a = ExtentTable::new(["x", "y"]);
        a.zones[0].add_class(1, ExactArea::from_m2(1.0));
        let mut b = ExtentTable::new(["x", "y"]);
        b.zones[0].add_class(1, ExactArea::from_m2(2.0));
        b.zones[1].add_class(5, ExactArea::from_m2(3.0));
        b.zones[1].nodata = ExactArea::from_m2(1.0);
        a.merge(&b);
        assert_eq!(a.zones[0].classes[&1].to_m2(), 3.0);
        assert_eq!(a.zones[1].total().to_m2(), 4.0);
        assert_eq!(a.classes(), vec![1, 5]);
        assert_eq!(a.get("y").unwrap().total().to_m2(), 4.0);
    }

    fn zone(id: &str) -> Zone {
        Zone::new(
            id,
            id,
            crate::zone::Level::County,
            geo_types::MultiPolygon::new(vec![]),
        )
    }

    /// Zones reordered or filtered after the tally are refused, not silently mismatched.
    #[test]
    fn a_table_refuses_another_zone_list() {
        let t = ExtentTable::new(["a", "b"]);
        assert!(t.check_zones(&[zone("a"), zone("b")]).is_ok());
        let e = t
            .check_zones(&[zone("b"), zone("a")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("position 0") && e.contains("\"a\"") && e.contains("\"b\""),
            "{e}"
        );
        assert!(t.check_zones(&[zone("a")]).is_err());
        let mut unlabelled = t.clone();
        unlabelled.zone_ids.clear();
        assert!(unlabelled.check_zones(&[zone("a"), zone("b")]).is_err());
        let mut kept = t.clone();
        kept.retain(|id| id == "b");
        assert!(kept.check_zones(&[zone("b")]).is_ok());
    }
}
