//! The weighted-sum table: for each zone, land-cover class and continuous layer, the sum of
//! the layer's values weighted by covered area, accumulated exactly like the extent table.
//!
//! A continuous input (precipitation, actual ET, NPP, LS factor...) enters the accounts as
//! Σ over covered cells of `coverage × cell area × value`: a quantity in
//! (layer unit × m²), e.g. mm·m² for precipitation (÷ 1000 gives m³). Cells where the layer
//! has no data add their covered area to `missing` instead: such area is reported as area
//! without data, never as a value of zero. Cells whose land cover is nodata are in no class,
//! so in no sum either; their area is in the extent table's `nodata`
//! ([`ZoneTally::nodata`](crate::ZoneTally)).
//!
//! Every cell's contribution is rounded once to a fixed-point grid ([`ExactSum`], 2⁻⁴⁰) and
//! summed as integers, so tables of any split of the work merge into the same bits.

use crate::error::CoreError;
use crate::extent::ExactArea;
use crate::raster::ClassCode;
use crate::values::LayerInfo;
use crate::zone::Zone;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A sum of value × area held as a fixed-point integer: i128 of (layer unit × m²) × 2⁴⁰,
/// the scale of [`ExactArea`].
///
/// Resolution 2⁻⁴⁰ ≈ 9.1e-13 unit·m²; range ±2⁸⁷ ≈ ±1.5e26 unit·m² (e.g. 1.5e20 mm of
/// precipitation over 1e6 m²). Contributions are rounded once, then added exactly, so the
/// sum does not depend on the order of additions. Additions are checked
/// ([`ExactSum::checked_add`]): a sum beyond the range is an error, never a wrapped value.
///
/// ```
/// use gep_core::ExactSum;
/// let a = ExactSum::from_f64(1200.5 * 900.0); // 1200.5 mm over a 30 m cell
/// let b = ExactSum::from_f64(-0.25);
/// assert_eq!(a.checked_add(b).unwrap().to_f64(), 1_080_449.75);
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct ExactSum(pub i128);

impl ExactSum {
    /// Zero.
    pub const ZERO: ExactSum = ExactSum(0);

    /// Rounds `value_m2` (layer unit × m²) to the fixed-point grid, ties away from zero, as
    /// [`ExactArea::from_m2`] does. Values beyond the range saturate; NaN gives zero.
    ///
    /// # Units
    /// Layer unit × m².
    pub fn from_f64(value_m2: f64) -> ExactSum {
        // The same fixed point as areas: one rounding rule for both.
        ExactSum(ExactArea::from_m2(value_m2).0)
    }

    /// The sum as f64 (correctly rounded from the exact integer).
    ///
    /// # Units
    /// Layer unit × m².
    pub fn to_f64(self) -> f64 {
        ExactArea(self.0).to_m2()
    }

    /// `self + other`, or `None` when the sum leaves the range.
    pub fn checked_add(self, other: ExactSum) -> Option<ExactSum> {
        self.0.checked_add(other.0).map(ExactSum)
    }
}

/// The weighted sums of one land-cover class in one zone, one entry per layer (in the order
/// of [`WeightedTable::layers`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClassSums {
    /// Per layer: Σ coverage × cell area × value over the covered cells where the layer has
    /// data. Layer unit × m².
    pub sums: Vec<ExactSum>,
    /// Per layer: the covered area where the layer has no data (m²). The area with data is
    /// the class area of the extent table minus this.
    pub missing: Vec<ExactArea>,
}

impl ClassSums {
    /// Zero sums for `layers` layers.
    pub fn new(layers: usize) -> ClassSums {
        ClassSums {
            sums: vec![ExactSum::ZERO; layers],
            missing: vec![ExactArea::ZERO; layers],
        }
    }
}

/// The weighted sums of one zone, by land-cover class.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ZoneSums {
    /// Sums per class (classes with covered area in the zone).
    pub classes: BTreeMap<ClassCode, ClassSums>,
}

impl ZoneSums {
    /// The sum of layer `layer` (an index) over `class`; zero when the zone has no such
    /// class or layer.
    ///
    /// # Units
    /// Layer unit × m².
    pub fn sum(&self, class: ClassCode, layer: usize) -> ExactSum {
        self.classes
            .get(&class)
            .and_then(|c| c.sums.get(layer))
            .copied()
            .unwrap_or_default()
    }

    /// The covered area of `class` where layer `layer` has no data; zero when absent.
    ///
    /// # Units
    /// m².
    pub fn missing(&self, class: ClassCode, layer: usize) -> ExactArea {
        self.classes
            .get(&class)
            .and_then(|c| c.missing.get(layer))
            .copied()
            .unwrap_or_default()
    }

    /// The sum of layer `layer` over all classes, or `None` when it leaves [`ExactSum`]'s
    /// range.
    ///
    /// # Units
    /// Layer unit × m².
    pub fn total(&self, layer: usize) -> Option<ExactSum> {
        self.classes.values().try_fold(ExactSum::ZERO, |acc, c| {
            acc.checked_add(c.sums.get(layer).copied().unwrap_or_default())
        })
    }

    /// The covered area (all classes) where layer `layer` has no data.
    ///
    /// # Units
    /// m².
    pub fn missing_total(&self, layer: usize) -> ExactArea {
        self.classes
            .values()
            .map(|c| c.missing.get(layer).copied().unwrap_or_default())
            .sum()
    }

    /// Adds the sums of `other`, a partial table of the same zone (`zone`, for errors) over
    /// `layers`.
    ///
    /// # Errors
    /// [`CoreError::WeightedTables`] when a class does not have one sum per layer;
    /// [`CoreError::WeightedOverflow`] when a sum leaves its range (`self` is then partly
    /// merged: discard it).
    pub fn merge(
        &mut self,
        other: &ZoneSums,
        layers: &[LayerInfo],
        zone: &str,
    ) -> Result<(), CoreError> {
        for (&class, o) in &other.classes {
            if o.sums.len() != layers.len() || o.missing.len() != layers.len() {
                return Err(CoreError::WeightedTables {
                    reason: format!(
                        "zone {zone:?} class {class} has {} sums and {} missing areas for {} layers",
                        o.sums.len(),
                        o.missing.len(),
                        layers.len()
                    ),
                });
            }
            let mine = self
                .classes
                .entry(class)
                .or_insert_with(|| ClassSums::new(layers.len()));
            if mine.sums.len() != layers.len() || mine.missing.len() != layers.len() {
                return Err(CoreError::WeightedTables {
                    reason: format!(
                        "zone {zone:?} class {class} has {} sums for {} layers",
                        mine.sums.len(),
                        layers.len()
                    ),
                });
            }
            for (l, layer) in layers.iter().enumerate() {
                let overflow = || CoreError::WeightedOverflow {
                    zone: zone.to_string(),
                    class,
                    layer: layer.name.clone(),
                };
                mine.sums[l] = mine.sums[l].checked_add(o.sums[l]).ok_or_else(overflow)?;
                mine.missing[l] = ExactArea(
                    mine.missing[l]
                        .0
                        .checked_add(o.missing[l].0)
                        .ok_or_else(overflow)?,
                );
            }
        }
        Ok(())
    }
}

/// Zone × class × layer weighted sums for an ordered list of zones and of layers, labelled
/// with the zones' ids (`zone_ids[i]` ↔ `zones[i]`) and the layers' names and units.
///
/// The companion of [`ExtentTable`](crate::ExtentTable): computed in the same pass over the
/// same zones, it holds for each class of a zone's tally the sums of every layer. Tables of
/// disjoint parts of the work merge ([`WeightedTable::merge`]) into exactly the table
/// computed in one go.
///
/// ```
/// use gep_core::{ClassSums, ExactArea, ExactSum, LayerInfo, WeightedTable};
/// let mut t = WeightedTable::new(["330102"], vec![LayerInfo::new("precipitation", "mm")]);
/// let mut c = ClassSums::new(1);
/// c.sums[0] = ExactSum::from_f64(1500.0 * 900.0);
/// c.missing[0] = ExactArea::from_m2(450.0);
/// t.zones[0].classes.insert(21, c);
/// // 1500 mm over 900 m² of class 21 with data, 450 m² without.
/// assert_eq!(t.sum_m2("330102", 21, "precipitation"), Some(1_350_000.0));
/// assert_eq!(t.missing_m2("330102", 21, "precipitation"), Some(450.0));
/// assert_eq!(t.sum_m2("330102", 99, "precipitation"), Some(0.0));
/// assert_eq!(t.sum_m2("330102", 21, "aet"), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WeightedTable {
    /// The id of each zone, in zone order.
    pub zone_ids: Vec<String>,
    /// The layers, in the order of every [`ClassSums`]' vectors.
    pub layers: Vec<LayerInfo>,
    /// One entry per zone, in zone order.
    pub zones: Vec<ZoneSums>,
}

impl WeightedTable {
    /// An empty table for the zones with these ids, in this order, and these layers.
    pub fn new<S: Into<String>>(
        zone_ids: impl IntoIterator<Item = S>,
        layers: Vec<LayerInfo>,
    ) -> WeightedTable {
        let zone_ids: Vec<String> = zone_ids.into_iter().map(Into::into).collect();
        WeightedTable {
            zones: vec![ZoneSums::default(); zone_ids.len()],
            zone_ids,
            layers,
        }
    }

    /// An empty table for `zones` and `layers`.
    pub fn for_zones(zones: &[Zone], layers: Vec<LayerInfo>) -> WeightedTable {
        WeightedTable::new(zones.iter().map(|z| z.id.clone()), layers)
    }

    /// The sums of zone `id`.
    pub fn get(&self, id: &str) -> Option<&ZoneSums> {
        self.zone_ids
            .iter()
            .position(|z| z == id)
            .map(|i| &self.zones[i])
    }

    /// The index of the layer named `name` (the first, should names repeat).
    pub fn layer_index(&self, name: &str) -> Option<usize> {
        self.layers.iter().position(|l| l.name == name)
    }

    /// Checks that `zones` is the zone list this table was computed for, in the same order.
    ///
    /// # Errors
    /// [`CoreError::ExtentZones`] naming the first position where they differ (or the counts).
    pub fn check_zones(&self, zones: &[Zone]) -> Result<(), CoreError> {
        crate::extent::check_labels(&self.zone_ids, self.zones.len(), zones, "weighted sums")
    }

    /// Keeps the zones for which `keep(id)` is true (sums and ids together).
    pub fn retain(&mut self, keep: impl FnMut(&str) -> bool) {
        crate::extent::retain_labelled(&mut self.zone_ids, &mut self.zones, keep);
    }

    /// Adds a partial table over the same zones and layers.
    ///
    /// # Errors
    /// [`CoreError::WeightedTables`] when the zone ids or layers differ (nothing is merged);
    /// [`CoreError::WeightedOverflow`] when a sum leaves [`ExactSum`]'s range, or a missing
    /// area [`ExactArea`]'s (`self` is then partly merged: discard it).
    pub fn merge(&mut self, other: &WeightedTable) -> Result<(), CoreError> {
        if self.zone_ids != other.zone_ids || self.zones.len() != other.zones.len() {
            return Err(CoreError::WeightedTables {
                reason: format!(
                    "one is over {} zones{}, the other over {}{}",
                    self.zones.len(),
                    first_id(&self.zone_ids),
                    other.zones.len(),
                    first_id(&other.zone_ids)
                ),
            });
        }
        if self.layers != other.layers {
            let names = |t: &WeightedTable| {
                t.layers
                    .iter()
                    .map(|l| format!("{} ({})", l.name, l.unit))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(CoreError::WeightedTables {
                reason: format!(
                    "one has layers [{}], the other [{}]",
                    names(self),
                    names(other)
                ),
            });
        }
        for ((a, b), id) in self.zones.iter_mut().zip(&other.zones).zip(&self.zone_ids) {
            a.merge(b, &self.layers, id)?;
        }
        Ok(())
    }

    /// Σ coverage × cell area × value of layer `layer` over class `class` of zone `zone`, as
    /// f64; 0 when the zone has no such class; `None` when the zone or layer is unknown.
    ///
    /// # Units
    /// Layer unit × m² (e.g. mm·m² for a layer in mm).
    pub fn sum_m2(&self, zone: &str, class: ClassCode, layer: &str) -> Option<f64> {
        let l = self.layer_index(layer)?;
        Some(self.get(zone)?.sum(class, l).to_f64())
    }

    /// The covered area of class `class` of zone `zone` where layer `layer` has no data;
    /// `None` when the zone or layer is unknown.
    ///
    /// # Units
    /// m².
    pub fn missing_m2(&self, zone: &str, class: ClassCode, layer: &str) -> Option<f64> {
        let l = self.layer_index(layer)?;
        Some(self.get(zone)?.missing(class, l).to_m2())
    }

    /// The sum of layer `layer` over all classes of zone `zone`; `None` when the zone or
    /// layer is unknown. Exact (then rounded once) unless the total leaves [`ExactSum`]'s
    /// range, when the classes' f64 sums are added instead.
    ///
    /// # Units
    /// Layer unit × m².
    pub fn total_m2(&self, zone: &str, layer: &str) -> Option<f64> {
        let l = self.layer_index(layer)?;
        let z = self.get(zone)?;
        Some(match z.total(l) {
            Some(t) => t.to_f64(),
            None => z.classes.keys().map(|&c| z.sum(c, l).to_f64()).sum(),
        })
    }

    /// The covered area of zone `zone` (all classes) where layer `layer` has no data; `None`
    /// when the zone or layer is unknown.
    ///
    /// # Units
    /// m².
    pub fn missing_total_m2(&self, zone: &str, layer: &str) -> Option<f64> {
        let l = self.layer_index(layer)?;
        Some(self.get(zone)?.missing_total(l).to_m2())
    }
}

/// ` (first "id")` for error messages, or nothing for an empty list.
fn first_id(ids: &[String]) -> String {
    ids.first()
        .map(|id| format!(" (first {id:?})"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn layers() -> Vec<LayerInfo> {
        vec![LayerInfo::new("p", "mm"), LayerInfo::new("aet", "mm")]
    }

    fn sums(s: [f64; 2], m: [f64; 2]) -> ClassSums {
        ClassSums {
            sums: s.iter().map(|v| ExactSum::from_f64(*v)).collect(),
            missing: m.iter().map(|v| ExactArea::from_m2(*v)).collect(),
        }
    }

    #[test]
    fn fixed_point_matches_exact_area() {
        for x in [0.0, 0.25, 900.0, -3.5, 1.0e-13, 123_456.789] {
            assert_eq!(ExactSum::from_f64(x).0, ExactArea::from_m2(x).0);
        }
        assert_eq!(ExactSum::from_f64(-2.75).to_f64(), -2.75);
        assert_eq!(ExactSum(i128::MAX).checked_add(ExactSum(1)), None);
    }

    proptest! {
        #[test]
        fn sum_is_order_independent(mut v in prop::collection::vec(-1e9f64..1e9, 1..200), seed in any::<u64>()) {
            let fold = |v: &[f64]| v.iter().try_fold(ExactSum::ZERO, |a, x| a.checked_add(ExactSum::from_f64(*x)));
            let a = fold(&v);
            let mut s = seed;
            for i in (1..v.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                v.swap(i, (s >> 33) as usize % (i + 1));
            }
            prop_assert_eq!(a, fold(&v));
        }
    }

    #[test]
    fn merge_adds_and_accessors_read() {
        let mut a = WeightedTable::new(["x", "y"], layers());
        a.zones[0].classes.insert(1, sums([10.0, 1.0], [0.0, 5.0]));
        let mut b = WeightedTable::new(["x", "y"], layers());
        b.zones[0].classes.insert(1, sums([2.5, -1.0], [3.0, 0.0]));
        b.zones[0].classes.insert(4, sums([7.0, 0.0], [0.0, 0.0]));
        b.zones[1].classes.insert(4, sums([1.0, 2.0], [0.5, 0.25]));
        a.merge(&b).unwrap();
        assert_eq!(a.sum_m2("x", 1, "p"), Some(12.5));
        assert_eq!(a.sum_m2("x", 1, "aet"), Some(0.0));
        assert_eq!(a.missing_m2("x", 1, "p"), Some(3.0));
        assert_eq!(a.missing_m2("x", 1, "aet"), Some(5.0));
        assert_eq!(a.total_m2("x", "p"), Some(19.5));
        assert_eq!(a.missing_total_m2("y", "aet"), Some(0.25));
        assert_eq!(a.sum_m2("z", 1, "p"), None);
        assert_eq!(a.total_m2("x", "npp"), None);
        assert_eq!(a.layer_index("aet"), Some(1));
        let mut kept = a.clone();
        kept.retain(|id| id == "y");
        assert_eq!(kept.zone_ids, vec!["y"]);
        assert_eq!(kept.get("y"), a.get("y"));
        // A cached table reads back the same.
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<WeightedTable>(&json).unwrap(), a);
    }

    #[test]
    fn merge_refuses_other_zones_or_layers_and_overflow() {
        let mut a = WeightedTable::new(["x"], layers());
        let e = a
            .merge(&WeightedTable::new(["y"], layers()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"x\"") && e.contains("\"y\""), "{e}");
        let e = a
            .merge(&WeightedTable::new(["x"], vec![LayerInfo::new("p", "m")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("p (mm), aet (mm)") && e.contains("[p (m)]"),
            "{e}"
        );
        let mut big = WeightedTable::new(["x"], layers());
        let mut c = ClassSums::new(2);
        c.sums[1] = ExactSum(i128::MAX);
        big.zones[0].classes.insert(7, c);
        a.merge(&big).unwrap();
        let e = a.merge(&big).unwrap_err().to_string();
        assert!(
            e.contains("\"x\"") && e.contains("class 7") && e.contains("\"aet\""),
            "{e}"
        );
        let mut short = WeightedTable::new(["x"], layers());
        short.zones[0].classes.insert(1, ClassSums::new(1));
        assert!(a.merge(&short).is_err());
    }

    #[test]
    fn check_zones_names_the_difference() {
        let z = |id: &str| {
            Zone::new(
                id,
                id,
                crate::zone::Level::County,
                geo_types::MultiPolygon::new(vec![]),
            )
        };
        let t = WeightedTable::new(["a", "b"], layers());
        assert!(t.check_zones(&[z("a"), z("b")]).is_ok());
        assert!(t.check_zones(&[z("b"), z("a")]).is_err());
        assert!(t.check_zones(&[z("a")]).is_err());
    }
}
