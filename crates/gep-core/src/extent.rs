//! The extent table: for each zone and land-cover class, the covered area, accumulated
//! exactly so that any split of the work (threads, windows, machines) sums to the same bytes.

use crate::raster::ClassCode;
use crate::units::SquareMeters;
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

/// Zone × class areas for an ordered list of zones (index = position in the zone list).
///
/// Tables computed on disjoint parts of the work merge by [`ExtentTable::merge`] into
/// exactly the table computed in one go.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ExtentTable {
    /// One tally per zone, in zone order.
    pub zones: Vec<ZoneTally>,
}

impl ExtentTable {
    /// An empty table for `n` zones.
    pub fn new(n: usize) -> ExtentTable {
        ExtentTable {
            zones: vec![ZoneTally::default(); n],
        }
    }

    /// Adds a partial table over the same zones.
    ///
    /// # Panics
    /// When the two tables have different zone counts (a programming error).
    pub fn merge(&mut self, other: &ExtentTable) {
        assert_eq!(
            self.zones.len(),
            other.zones.len(),
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
        let mut a = ExtentTable::new(2);
        a.zones[0].add_class(1, ExactArea::from_m2(1.0));
        let mut b = ExtentTable::new(2);
        b.zones[0].add_class(1, ExactArea::from_m2(2.0));
        b.zones[1].add_class(5, ExactArea::from_m2(3.0));
        b.zones[1].nodata = ExactArea::from_m2(1.0);
        a.merge(&b);
        assert_eq!(a.zones[0].classes[&1].to_m2(), 3.0);
        assert_eq!(a.zones[1].total().to_m2(), 4.0);
        assert_eq!(a.classes(), vec![1, 5]);
    }
}
