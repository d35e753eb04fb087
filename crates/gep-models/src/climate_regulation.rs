//! The water volume evaporated and transpired by zone and class, the quantity climate
//! regulation (气候调节) is derived from: ET volume = Σ A·ET·10⁻³ m³/a (ET in mm, A in m²).
//! Its energy as air-conditioning electricity needs the latent heat, the days above 26 °C
//! and the air conditioners' efficiency, parameters of the valuation ([`crate::services`]).

use crate::carbon_oxygen::{layer_totals, LayerTotal};
use crate::quantity::Quantity;
use crate::ModelError;
use gep_core::{ExtentTable, WeightedTable};

/// Actual evapotranspiration volume per zone × class from the weighted sums of `et` (mm):
/// quantity `evapotranspiration`, m³/a.
///
/// # Errors
/// A missing layer or one not in mm.
///
/// # Units
/// m³/a.
pub fn et_volumes(
    extent: &ExtentTable,
    sums: &WeightedTable,
    et: &str,
) -> Result<Vec<Quantity>, ModelError> {
    layer_totals(
        extent,
        sums,
        LayerTotal {
            model: "climate_regulation",
            role: "actual evapotranspiration",
            layer: et,
            layer_unit: "mm",
            name: "evapotranspiration",
            unit: "m3/a",
            factor: 1e-3,
            method: format!("Σ A·ET·10⁻³, ET = {et}"),
        },
    )
}
