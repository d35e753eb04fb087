//! Physical quantities by zone and land-cover class: what the models return, with units and
//! the area they rest on.

use crate::ModelError;
use gep_core::{ClassCode, ExtentTable, WeightedTable};
use serde::Serialize;

/// One physical quantity of one zone and land-cover class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quantity {
    /// The zone.
    pub zone_id: String,
    /// The land-cover class (raster code).
    pub class: ClassCode,
    /// The model that made it (`soil_retention`, `water_conservation`).
    pub model: &'static str,
    /// What it is (`potential_erosion`, `actual_erosion`, `avoided_erosion`,
    /// `water_conservation`, `precipitation`, `evapotranspiration`, `runoff`).
    pub name: &'static str,
    /// The quantity, in `unit`.
    pub value: f64,
    /// Its unit (`t/a`, `m3/a`).
    pub unit: &'static str,
    /// Area of the class in the zone where every input of the quantity has data.
    ///
    /// # Units
    /// m².
    pub area_m2: f64,
    /// Area of the class in the zone where some input has no data: the quantity covers
    /// `area_m2` only, this area is not counted as zero.
    ///
    /// # Units
    /// m².
    pub area_without_data_m2: f64,
    /// How it was computed: the formula with its parameters and the algorithms' names.
    pub method: String,
}

/// The layer index of `name` in `sums`, checking its unit.
pub(crate) fn layer(
    sums: &WeightedTable,
    model: &'static str,
    role: &'static str,
    name: &str,
    unit: &str,
) -> Result<usize, ModelError> {
    let i = sums
        .layer_index(name)
        .ok_or_else(|| ModelError::MissingLayer {
            model,
            role,
            layer: name.to_string(),
            available: sums.layers.iter().map(|l| l.name.clone()).collect(),
        })?;
    let got = &sums.layers[i].unit;
    if got != unit {
        return Err(ModelError::LayerUnit {
            model,
            role,
            layer: name.to_string(),
            unit: got.clone(),
            expected: unit.to_string(),
        });
    }
    Ok(i)
}

/// Checks that the tables describe the same zones in the same order.
pub(crate) fn same_zones(extent: &ExtentTable, sums: &WeightedTable) -> Result<(), ModelError> {
    if extent.zone_ids != sums.zone_ids {
        return Err(ModelError::TablesDiffer);
    }
    Ok(())
}
