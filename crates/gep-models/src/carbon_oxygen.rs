//! Net primary production by zone and class, the quantity carbon sequestration (固碳) and
//! oxygen release (释氧) are derived from: NPP = Σ A·NPP·10⁻⁶ t C/a (NPP in g C/(m²·a), A in
//! m²). NEP, CO₂ and O₂ need the NEP/NPP ratio of each ecosystem type, a parameter of the
//! valuation ([`crate::services`]).

use crate::quantity::{layer, same_zones, Quantity};
use crate::ModelError;
use gep_core::{ExtentTable, WeightedTable};

/// The unit of an NPP layer.
pub const NPP_UNIT: &str = "g C/(m²·a)";

/// NPP per zone × class from the weighted sums of `npp` (g C/(m²·a)): quantity `npp`, t C/a.
///
/// ```
/// use gep_core::*;
/// use gep_models::carbon_oxygen::npp_totals;
/// let mut extent = ExtentTable::new(["z"]);
/// extent.zones[0].add_class(1, ExactArea::from_m2(1e6));
/// let mut sums = WeightedTable::new(["z"], vec![LayerInfo::new("npp", "g C/(m²·a)")]);
/// let mut c = ClassSums::new(1);
/// c.sums = vec![ExactSum::from_f64(500.0 * 1e6)];
/// sums.zones[0].classes.insert(1, c);
/// // 500 g C/(m²·a) over 1 km² = 500 t C/a
/// assert_eq!(npp_totals(&extent, &sums, "npp").unwrap()[0].value, 500.0);
/// ```
///
/// # Errors
/// A missing layer or one not in g C/(m²·a).
///
/// # Units
/// t C/a.
pub fn npp_totals(
    extent: &ExtentTable,
    sums: &WeightedTable,
    npp: &str,
) -> Result<Vec<Quantity>, ModelError> {
    layer_totals(
        extent,
        sums,
        LayerTotal {
            model: "carbon_oxygen",
            role: "net primary production",
            layer: npp,
            layer_unit: NPP_UNIT,
            name: "npp",
            unit: "t C/a",
            factor: 1e-6,
            method: format!("Σ A·NPP·10⁻⁶, NPP = {npp}"),
        },
    )
}

/// One layer summed into a quantity: Σ A·value × `factor`.
pub(crate) struct LayerTotal<'a> {
    pub model: &'static str,
    pub role: &'static str,
    pub layer: &'a str,
    pub layer_unit: &'static str,
    pub name: &'static str,
    pub unit: &'static str,
    pub factor: f64,
    pub method: String,
}

pub(crate) fn layer_totals(
    extent: &ExtentTable,
    sums: &WeightedTable,
    t: LayerTotal<'_>,
) -> Result<Vec<Quantity>, ModelError> {
    same_zones(extent, sums)?;
    let i = layer(sums, t.model, t.role, t.layer, t.layer_unit)?;
    let mut out = Vec::new();
    for (z, zs) in sums.zones.iter().enumerate() {
        for (&class, cs) in &zs.classes {
            let class_area = extent.zones[z]
                .classes
                .get(&class)
                .map_or(0.0, |x| x.to_m2());
            let missing = cs.missing[i].to_m2();
            out.push(Quantity {
                zone_id: sums.zone_ids[z].clone(),
                class,
                model: t.model,
                name: t.name,
                value: cs.sums[i].to_f64() * t.factor,
                unit: t.unit,
                area_m2: (class_area - missing).max(0.0),
                area_without_data_m2: missing,
                method: t.method.clone(),
            });
        }
    }
    Ok(out)
}
