//! Soil retention (土壤保持) by RUSLE: potential erosion R·K·LS, actual erosion R·K·LS·C·P,
//! and their difference, the soil retained, A_c = R·K·LS·(1 − C·P) (GEP-METHOD.md §2, §7;
//! InVEST SDR's `avoided_erosion` is the same quantity).

use crate::quantity::{layer, same_zones, Quantity};
use crate::ModelError;
use gep_core::{ClassCode, ExtentTable, WeightedTable};
use std::collections::BTreeMap;

/// The cover-management factor C and the support-practice factor P of one land-cover class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UsleFactors {
    /// C from the table; `None` when C comes per cell from vegetation cover (then the
    /// `rkls_c` layer holds R·K·LS·C).
    pub c: Option<f64>,
    /// P.
    pub p: f64,
}

/// The unit of the R·K·LS layers: t/(ha·a) (R in MJ·mm/(ha·h·a) × K in t·ha·h/(ha·MJ·mm)).
pub const RKLS_UNIT: &str = "t/(ha·a)";

/// Soil retention per zone × class from the weighted sums of `rkls` (R·K·LS, t/(ha·a)) and,
/// when C comes from vegetation cover, `rkls_c` (R·K·LS·C, same unit, no data wherever
/// `rkls` has none and vice versa).
///
/// Per zone and class: potential erosion E_p = Σ A·RKLS·10⁻⁴ t/a (A in m²); actual erosion
/// E_a = C·P·E_p with C and P of the class, or P·Σ A·RKLS·C·10⁻⁴ with C per cell; soil
/// retained E_p − E_a. `method` names the LS algorithm and the C source in every row.
///
/// ```
/// use gep_core::*;
/// use gep_models::soil_retention::{soil_retention, UsleFactors};
/// let mut extent = ExtentTable::new(["z"]);
/// extent.zones[0].add_class(7, ExactArea::from_m2(10_000.0));
/// let mut sums = WeightedTable::new(["z"], vec![LayerInfo::new("rkls", "t/(ha·a)")]);
/// let mut c = ClassSums::new(1);
/// c.sums = vec![ExactSum::from_f64(50.0 * 10_000.0)]; // 50 t/(ha·a) over one hectare
/// sums.zones[0].classes.insert(7, c);
/// let f = [(7, UsleFactors { c: Some(0.1), p: 0.5 })].into();
/// let q = soil_retention(&extent, &sums, "rkls", None, &f, "invest_d8").unwrap();
/// let get = |n: &str| q.iter().find(|q| q.name == n).unwrap().value;
/// assert!((get("potential_erosion") - 50.0).abs() < 1e-9);
/// assert!((get("actual_erosion") - 2.5).abs() < 1e-9);
/// assert!((get("avoided_erosion") - 47.5).abs() < 1e-9);
/// ```
///
/// # Errors
/// A missing layer or one in another unit; a class present in a zone without factors, or
/// without a table C when `rkls_c` is not given; C or P outside [0, 1].
///
/// # Units
/// t/a.
pub fn soil_retention(
    extent: &ExtentTable,
    sums: &WeightedTable,
    rkls: &str,
    rkls_c: Option<&str>,
    factors: &BTreeMap<ClassCode, UsleFactors>,
    ls_algorithm: &str,
) -> Result<Vec<Quantity>, ModelError> {
    const MODEL: &str = "soil_retention";
    same_zones(extent, sums)?;
    let ir = layer(sums, MODEL, "R·K·LS", rkls, RKLS_UNIT)?;
    let ic = rkls_c
        .map(|n| layer(sums, MODEL, "R·K·LS·C", n, RKLS_UNIT))
        .transpose()?;
    for (&class, f) in factors {
        for (name, v) in [("C", f.c), ("P", Some(f.p))] {
            if let Some(v) = v.filter(|v| !(0.0..=1.0).contains(v) || v.is_nan()) {
                return Err(ModelError::Parameter {
                    model: MODEL,
                    parameter: name,
                    class,
                    value: v,
                    expected: "a factor in [0, 1]",
                });
            }
        }
    }
    let mut out = Vec::new();
    for (z, zs) in sums.zones.iter().enumerate() {
        let zone_id = &sums.zone_ids[z];
        for (&class, cs) in &zs.classes {
            let Some(f) = factors.get(&class) else {
                return Err(ModelError::MissingParameter {
                    model: MODEL,
                    parameter: "C and P (USLE factors)",
                    class,
                    zone: zone_id.clone(),
                });
            };
            let potential = cs.sums[ir].to_f64() * 1e-4;
            let (actual, c_text) = match (f.c, ic) {
                (_, Some(ic)) => (
                    f.p * cs.sums[ic].to_f64() * 1e-4,
                    format!(
                        "C per cell from vegetation cover ({})",
                        rkls_c.unwrap_or("")
                    ),
                ),
                (Some(c), None) => (c * f.p * potential, format!("C = {c}")),
                (None, None) => {
                    return Err(ModelError::MissingParameter {
                        model: MODEL,
                        parameter: "C (no table value and no vegetation-cover layer)",
                        class,
                        zone: zone_id.clone(),
                    })
                }
            };
            let class_area = extent.zones[z]
                .classes
                .get(&class)
                .map_or(0.0, |x| x.to_m2());
            let mut missing = cs.missing[ir].to_m2();
            if let Some(ic) = ic {
                missing = missing.max(cs.missing[ic].to_m2());
            }
            let row = |name: &'static str, value: f64, method: String| Quantity {
                zone_id: zone_id.clone(),
                class,
                model: MODEL,
                name,
                value,
                unit: "t/a",
                area_m2: (class_area - missing).max(0.0),
                area_without_data_m2: missing,
                method,
            };
            out.push(row(
                "potential_erosion",
                potential,
                format!("Σ A·R·K·LS·10⁻⁴, LS {ls_algorithm}"),
            ));
            out.push(row(
                "actual_erosion",
                actual,
                format!(
                    "Σ A·R·K·LS·C·P·10⁻⁴, LS {ls_algorithm}, {c_text}, P = {}",
                    f.p
                ),
            ));
            out.push(row(
                "avoided_erosion",
                potential - actual,
                format!(
                    "Σ A·R·K·LS·(1 − C·P)·10⁻⁴, LS {ls_algorithm}, {c_text}, P = {}",
                    f.p
                ),
            ));
        }
    }
    Ok(out)
}
