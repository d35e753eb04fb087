//! The physical part of an assessment: weighted sums of the continuous inputs and the
//! models' quantities by zone and land-cover class, with what was read and how.

use gep_core::WeightedTable;
use gep_models::Quantity;
use serde::Serialize;

/// A continuous input as read for the run (recorded in the manifest).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputRecord {
    /// The input's name in the config.
    pub name: String,
    /// Its file.
    pub path: String,
    /// The declared unit of its values.
    pub unit: String,
    /// How it was brought onto the land-cover grid (`none` when already on it, else GDAL's
    /// resampling: `average`, `bilinear`, `cubic`, `near`).
    pub resampling: String,
    /// Whether GDAL's warper ran.
    pub warped: bool,
    /// The input's own CRS.
    pub source_crs: String,
    /// Scale applied to the file's values.
    pub scale: f64,
    /// Offset applied after the scale.
    pub offset: f64,
    /// Share of sampled land-cover cells where the input has no data.
    pub no_data_share: f64,
    /// The values' range under the land-cover grid (after scale and offset), when checked.
    pub value_range: Option<(f64, f64)>,
}

/// A model that ran, with its parameters as text (recorded in the manifest).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelRecord {
    /// `water_conservation`, `soil_retention`.
    pub model: String,
    /// (parameter, value) pairs: formula, inputs, tables, LS algorithm...
    pub parameters: Vec<(String, String)>,
}

/// What the models computed.
#[derive(Debug, Clone)]
pub struct Physical {
    /// Zone × class × layer weighted sums (layer unit × m²), labelled with the zones' ids.
    pub sums: WeightedTable,
    /// The models' quantities by zone and class, in zone order.
    pub quantities: Vec<Quantity>,
    /// The continuous inputs as read.
    pub inputs: Vec<InputRecord>,
    /// The models and their parameters.
    pub models: Vec<ModelRecord>,
    /// GEP at the low and high values of the key parameters (when the models' quantities
    /// are valued with a parameter set that gives ranges).
    pub sensitivity: Vec<crate::services::SensitivityRow>,
}

impl Physical {
    /// The sum of quantity `name` over the classes of `zone` and the area it rests on:
    /// (value, area with data m², area without data m²); `None` when the zone has no such
    /// quantity.
    pub fn zone_total(&self, zone: &str, name: &str) -> Option<(f64, f64, f64)> {
        let mut found = None;
        for q in self
            .quantities
            .iter()
            .filter(|q| q.zone_id == zone && q.name == name)
        {
            let t = found.get_or_insert((0.0, 0.0, 0.0));
            t.0 += q.value;
            t.1 += q.area_m2;
            t.2 += q.area_without_data_m2;
        }
        found
    }
}
