//! Water conservation (水源涵养) by the water balance: Q = Σ A·(P − R − ET)·10⁻³ m³,
//! R = α·P (DB33/T 2274 and Ouyang's method; GEP-METHOD.md §7).

use crate::quantity::{layer, same_zones, Quantity};
use crate::ModelError;
use gep_core::{ClassCode, ExtentTable, WeightedTable};
use std::collections::BTreeMap;

/// Runoff coefficients α per land-cover class, as fractions (0.0465 for 4.65 %).
pub type RunoffCoefficients = BTreeMap<ClassCode, f64>;

/// Water conservation per zone × class from the weighted sums of precipitation `p` and
/// actual evapotranspiration `et` (layers of `sums`, both in mm, each with no data wherever
/// the other has none so that both cover the same area).
///
/// Per zone and class with α = `alpha[class]`:
/// Q = ((1 − α)·Σ A·P − Σ A·ET)·10⁻³ m³/a, where Σ A·P is the layer's weighted sum
/// (mm·m²). A negative Q (evapotranspiration above the rain that does not run off) is kept,
/// not clamped. Also returned per zone and class: the precipitation volume Σ A·P·10⁻³, the
/// runoff α·Σ A·P·10⁻³ and the evapotranspiration Σ A·ET·10⁻³ (m³/a), so the balance can be
/// audited.
///
/// ```
/// use gep_core::*;
/// use gep_models::water_conservation::water_conservation;
/// let mut extent = ExtentTable::new(["z"]);
/// extent.zones[0].add_class(1, ExactArea::from_m2(900.0));
/// let mut sums = WeightedTable::new(["z"], vec![LayerInfo::new("p", "mm"), LayerInfo::new("et", "mm")]);
/// let mut c = ClassSums::new(2);
/// c.sums = vec![ExactSum::from_f64(1600.0 * 900.0), ExactSum::from_f64(800.0 * 900.0)];
/// sums.zones[0].classes.insert(1, c);
/// let q = water_conservation(&extent, &sums, "p", "et", &[(1, 0.05)].into()).unwrap();
/// let wc = q.iter().find(|q| q.name == "water_conservation").unwrap();
/// // (1600 − 0.05·1600 − 800) mm × 900 m² = 648 m³
/// assert!((wc.value - 648.0).abs() < 1e-9);
/// ```
///
/// # Errors
/// A missing layer or one not in mm; a class present in a zone without α (no silent
/// default); an α outside [0, 1].
///
/// # Units
/// m³/a.
pub fn water_conservation(
    extent: &ExtentTable,
    sums: &WeightedTable,
    p: &str,
    et: &str,
    alpha: &RunoffCoefficients,
) -> Result<Vec<Quantity>, ModelError> {
    const MODEL: &str = "water_conservation";
    same_zones(extent, sums)?;
    let ip = layer(sums, MODEL, "precipitation", p, "mm")?;
    let ie = layer(sums, MODEL, "evapotranspiration", et, "mm")?;
    for (&class, &a) in alpha {
        if !(0.0..=1.0).contains(&a) {
            return Err(ModelError::Parameter {
                model: MODEL,
                parameter: "runoff coefficient α",
                class,
                value: a,
                expected: "a fraction in [0, 1] (4.65 % is 0.0465)",
            });
        }
    }
    let mut out = Vec::new();
    for (z, zs) in sums.zones.iter().enumerate() {
        let zone_id = &sums.zone_ids[z];
        for (&class, cs) in &zs.classes {
            let Some(&a) = alpha.get(&class) else {
                return Err(ModelError::MissingParameter {
                    model: MODEL,
                    parameter: "runoff coefficient α",
                    class,
                    zone: zone_id.clone(),
                });
            };
            let class_area = extent.zones[z]
                .classes
                .get(&class)
                .map_or(0.0, |x| x.to_m2());
            // Both layers carry each other's gaps, so either one's missing area is the
            // area without data; take the larger to be safe with caller-made tables.
            let missing = cs.missing[ip].to_m2().max(cs.missing[ie].to_m2());
            let sp = cs.sums[ip].to_f64();
            let se = cs.sums[ie].to_f64();
            let row = |name: &'static str, value: f64, method: String| Quantity {
                zone_id: zone_id.clone(),
                class,
                model: MODEL,
                name,
                value,
                unit: "m3/a",
                area_m2: (class_area - missing).max(0.0),
                area_without_data_m2: missing,
                method,
            };
            out.push(row(
                "water_conservation",
                ((1.0 - a) * sp - se) * 1e-3,
                format!("Q = Σ A·(P − α·P − ET)·10⁻³, α = {a}, P = {p}, ET = {et}"),
            ));
            out.push(row(
                "precipitation",
                sp * 1e-3,
                format!("Σ A·P·10⁻³, P = {p}"),
            ));
            out.push(row(
                "runoff",
                a * sp * 1e-3,
                format!("Σ A·α·P·10⁻³, α = {a}"),
            ));
            out.push(row(
                "evapotranspiration",
                se * 1e-3,
                format!("Σ A·ET·10⁻³, ET = {et}"),
            ));
        }
    }
    Ok(out)
}
