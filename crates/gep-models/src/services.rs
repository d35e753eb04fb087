//! Regulating services valued from the models' physical quantities: each row is a physical
//! quantity (with its unit) × a price (with its unit, price year and source) = a value in
//! 元/a, by zone × land-cover class × ecosystem type. Formulas as in GEP-METHOD.md §7 and
//! Garzé 2017 (白玛卓嘎 et al., 生态学报 37(19):6302, §2.4, eqs. for V_w, V_s1, V_s2, V_g, V_a,
//! V_e):
//!
//! | service | quantity | value |
//! |---|---|---|
//! | `water_conservation` | Q m³/a (water balance) | Q × reservoir cost (元/m³) |
//! | `soil_retention_sediment` | λ·A_c/ρ m³/a (less siltation) | × dredging cost (元/m³) |
//! | `soil_retention_nitrogen` | A_c·C_N t N/a | × price (元/t N) |
//! | `soil_retention_phosphorus` | A_c·C_P t P/a | × price (元/t P) |
//! | `carbon_sequestration` | NEP = ratio·NPP t C/a, or 44/12·NEP t CO₂/a (`carbon_as`) | × carbon price in the same substance |
//! | `oxygen_release` | 32/12·NEP t O₂/a (= 32/44 of CO₂) | × oxygen price (元/t O₂) |
//! | `climate_regulation` | ET·ρ·q/3600/r × D/365 kWh/a | × electricity price (元/kWh) |
//!
//! Every parameter comes from a [`ParameterSet`] (no defaults: a missing one is an error
//! naming the service and the parameter), is converted to the unit its formula needs
//! ([`Unit::factor_to`]: 元/亩 is not 元/m³, % becomes a fraction), and every product of a
//! quantity and a price is checked to be 元/a ([`value_per_year`]): a price per t CO₂ never
//! multiplies t C.

use crate::{ModelError, Quantity};
use gep_core::parameters::{Lookup, Parameter, ParameterSet};
use gep_core::physical_unit::{value_per_year, Unit};
use gep_core::{ClassCode, CoreError};

/// Mass of CO₂ per mass of C: 44/12 (molar masses).
pub const CO2_PER_C: f64 = 44.0 / 12.0;
/// Mass of O₂ released per mass of C fixed: 32/12 (photosynthesis: one O₂ per CO₂;
/// GEP-METHOD §7: O₂ = 32/44 × CO₂).
pub const O2_PER_C: f64 = 32.0 / 12.0;
/// Days in the accounting year of the climate-regulation formula.
pub const DAYS_PER_YEAR: f64 = 365.0;

/// In which substance carbon sequestration is reported (and so which price unit it needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CarbonAs {
    /// t C/a (NEP); needs a price in 元/t C.
    C,
    /// t CO₂/a = 44/12 × NEP; needs a price in 元/t CO₂.
    Co2,
}

/// One valued row: zone × class × ecosystem type × service.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceValue {
    /// Zone id.
    pub zone_id: String,
    /// Land-cover class.
    pub class: ClassCode,
    /// Ecosystem type of the class (through the crosswalk), if any.
    pub ecosystem_type: Option<String>,
    /// The class's share in that type (crosswalks may split a class).
    pub share: f64,
    /// Service code of the catalogue.
    pub service: &'static str,
    /// Physical quantity.
    pub quantity: f64,
    /// Its unit (`m3/a`, `t N/a`, `t CO2/a`, `kWh/a`).
    pub quantity_unit: String,
    /// Unit price.
    pub price: f64,
    /// Its unit (`元/m3`...).
    pub price_unit: String,
    /// Its price year.
    pub price_year: Option<i32>,
    /// Value, 元/a at `price_year` prices.
    pub value_yuan: f64,
    /// Formula with its parameters.
    pub method: String,
    /// Parameter set, lines and citations.
    pub source: String,
    /// Flags of the parameters used (`example`, `unverified`, `local`...) and `negative`.
    pub flags: Vec<String>,
    /// Area of the class (× share) in the zone, m².
    pub area_m2: f64,
}

/// What valuing needs besides the quantities.
pub struct ValuationContext<'a> {
    /// Parameters and prices.
    pub parameters: &'a ParameterSet,
    /// The county code of a zone (for `county:` rows).
    pub county_of: &'a dyn Fn(&str) -> Option<String>,
    /// The ecosystem types of a class with their shares (`[(None, 1.0)]` without a
    /// crosswalk).
    pub types_of: &'a dyn Fn(ClassCode) -> Vec<(Option<String>, f64)>,
    /// Carbon reported as C or CO₂ (needed when NPP quantities are valued).
    pub carbon_as: Option<CarbonAs>,
}

/// Less siltation: λ·A_c/ρ (Garzé 2017 eq. 4 without the price).
///
/// ```
/// // 100 t/a retained, λ = 0.24, ρ = 1.2 t/m³: 0.24 × 100 / 1.2 = 20 m³/a
/// assert!((gep_models::services::siltation_m3(100.0, 0.24, 1.2) - 20.0).abs() < 1e-12);
/// ```
///
/// # Units
/// m³/a from t/a and t/m³.
pub fn siltation_m3(retained_t: f64, deposition_share: f64, bulk_density_t_m3: f64) -> f64 {
    deposition_share * retained_t / bulk_density_t_m3
}

/// Nutrient retained with the soil: A_c × content (content as a fraction: 0.0037 for
/// 0.37 %).
///
/// # Units
/// t/a of the nutrient.
pub fn nutrient_t(retained_t: f64, content_fraction: f64) -> f64 {
    retained_t * content_fraction
}

/// Electricity an air conditioner would use to remove the heat of evaporating `et_m3` of
/// water over the hot days: ET·ρ·q/3600/r × D/365 (GEP-METHOD §7, the ET-based variant of
/// Garzé 2017's V_a and V_e: the year's ET volume counted for the share D/365 of days when
/// air conditioning runs, an approximation that takes a hot day's ET as the year's mean).
///
/// ```
/// // 1 m³ of water, ρ 1000 kg/m³, q 2260 kJ/kg: 2,260,000 kJ = 627.78 kWh of heat;
/// // r = 3 → 209.26 kWh; over 73 of 365 days → 41.85 kWh
/// let e = gep_models::services::ac_electricity_kwh(1.0, 1000.0, 2260.0, 73.0, 3.0);
/// assert!((e - 2_260_000.0 / 3600.0 / 3.0 * 0.2).abs() < 1e-9);
/// ```
///
/// # Units
/// kWh/a from m³/a, kg/m³, kJ/kg, days and a dimensionless efficiency.
pub fn ac_electricity_kwh(
    et_m3: f64,
    density_kg_m3: f64,
    latent_heat_kj_kg: f64,
    hot_days: f64,
    efficiency: f64,
) -> f64 {
    et_m3 * density_kg_m3 * latent_heat_kj_kg / 3600.0 / efficiency * (hot_days / DAYS_PER_YEAR)
}

/// Flood storage of reservoirs: 0.35 × total capacity (Garzé 2017 §2.4.4, after Rao et al.
/// 2014; GEP-METHOD §7, V). The accounts take the share from the parameter set
/// (`flood_regulation/reservoir_share`, [`crate::area_services::flood_regulation`]); this is
/// the paper's constant form, kept for the literature check.
///
/// # Units
/// m³ from m³.
pub fn reservoir_flood_storage_m3(total_capacity_m3: f64) -> f64 {
    0.35 * total_capacity_m3
}

/// Flood storage of marshes: a 0.3 m layer of water over their area (Garzé 2017 §2.4.4:
/// C_m = 0.3·S·10⁶ with S in km²; GEP-METHOD §7, V).
///
/// # Units
/// m³ from km².
pub fn marsh_flood_storage_m3(area_km2: f64) -> f64 {
    0.3 * area_km2 * 1e6
}

fn core(e: impl Into<CoreError>) -> ModelError {
    ModelError::Core(e.into())
}

struct Params<'a> {
    set: &'a ParameterSet,
    at: Lookup<'a>,
    used: Vec<&'a Parameter>,
}

impl<'a> Params<'a> {
    /// A parameter converted to `unit`.
    fn get(&mut self, service: &str, name: &str, unit: &str) -> Result<f64, ModelError> {
        let p = self.set.get(service, name, &self.at).map_err(core)?;
        let want = Unit::parse(unit).map_err(core)?;
        let f = p
            .unit
            .factor_to_in(&want, &format!("{service}: parameter {name}"))
            .map_err(core)?;
        self.used.push(p);
        Ok(p.value * f)
    }

    /// A price as given (its unit is checked against the quantity's when valuing).
    fn price(&mut self, service: &str, name: &str) -> Result<&'a Parameter, ModelError> {
        let p = self.set.get(service, name, &self.at).map_err(core)?;
        self.used.push(p);
        Ok(p)
    }
}

/// Values every quantity of the models that has a price: `water_conservation`
/// (water_conservation), `avoided_erosion` (soil_retention, three rows), `npp`
/// (carbon_oxygen, two rows) and `evapotranspiration` (climate_regulation). Other
/// quantities (potential erosion, precipitation...) are physical only.
///
/// # Errors
/// A parameter the set does not hold (naming the service, the parameter and the keys
/// tried); a parameter in a unit that cannot be converted to the formula's; a quantity ×
/// price that is not 元/a (t C × 元/t CO₂); NPP quantities without `carbon_as`.
pub fn value_services(
    quantities: &[Quantity],
    ctx: &ValuationContext<'_>,
) -> Result<Vec<ServiceValue>, ModelError> {
    let mut out = Vec::new();
    for q in quantities {
        let county = (ctx.county_of)(&q.zone_id);
        for (ty, share) in (ctx.types_of)(q.class) {
            let at = Lookup {
                county: county.as_deref(),
                class: Some(q.class),
                ecosystem_type: ty.as_deref(),
            };
            let mut p = Params {
                set: ctx.parameters,
                at,
                used: Vec::new(),
            };
            let area = (q.area_m2 + q.area_without_data_m2) * share;
            let mut push = |p: &mut Params<'_>,
                            service: &'static str,
                            quantity: f64,
                            q_unit: &str,
                            price: &Parameter,
                            method: String|
             -> Result<(), ModelError> {
                let qu = Unit::parse(q_unit).map_err(core)?;
                let value = value_per_year(quantity, &qu, price.value, &price.unit, service)
                    .map_err(core)?;
                let mut flags: Vec<String> = Vec::new();
                for u in &p.used {
                    for f in u.account_flags() {
                        if !flags.contains(&f) {
                            flags.push(f);
                        }
                    }
                }
                if value < 0.0 {
                    flags.push("negative".into());
                }
                // The quantity covers only the area with data: say so on the row.
                if q.area_without_data_m2 > 0.0 {
                    flags.push("partial_data".into());
                }
                let lines: Vec<String> = p
                    .used
                    .iter()
                    .filter(|u| !std::ptr::eq(**u, price))
                    .map(|u| format!("{} {}", u.parameter, u.line))
                    .collect();
                out.push(ServiceValue {
                    zone_id: q.zone_id.clone(),
                    class: q.class,
                    ecosystem_type: ty.clone(),
                    share,
                    service,
                    quantity,
                    quantity_unit: q_unit.to_string(),
                    price: price.value,
                    price_unit: price.unit.as_str().to_string(),
                    price_year: price.price_year,
                    value_yuan: value,
                    method,
                    source: format!(
                        "{}; parameters (line): {}",
                        price.cite(ctx.parameters),
                        if lines.is_empty() {
                            "none".to_string()
                        } else {
                            lines.join(", ")
                        }
                    ),
                    flags,
                    area_m2: area,
                });
                p.used.clear();
                Ok(())
            };
            match (q.model, q.name) {
                ("water_conservation", "water_conservation") => {
                    const S: &str = "water_conservation";
                    let price = p.price(S, "reservoir_cost")?;
                    let m = format!(
                        "V = Q × reservoir cost {} {} ({}); {}",
                        price.value,
                        price.unit,
                        year(price),
                        q.method
                    );
                    push(&mut p, S, q.value * share, "m3/a", price, m)?;
                }
                ("soil_retention", "avoided_erosion") => {
                    let a = q.value * share;
                    const S1: &str = "soil_retention_sediment";
                    let lambda = p.get(S1, "deposition_share", "1")?;
                    let rho = p.get(S1, "bulk_density", "t/m3")?;
                    let price = p.price(S1, "dredging_cost")?;
                    let m = format!(
                        "V = λ·A_c/ρ × dredging cost, λ = {lambda}, ρ = {rho} t/m3, {} {} ({}); A_c: {}",
                        price.value,
                        price.unit,
                        year(price),
                        q.method
                    );
                    push(&mut p, S1, siltation_m3(a, lambda, rho), "m3/a", price, m)?;
                    for (s, sub) in [
                        ("soil_retention_nitrogen", "N"),
                        ("soil_retention_phosphorus", "P"),
                    ] {
                        let c = p.get(s, "content", "1")?;
                        let price = p.price(s, "price")?;
                        let m = format!(
                            "V = A_c × C_{sub} × price, C_{sub} = {c}, {} {} ({}); A_c: {}",
                            price.value,
                            price.unit,
                            year(price),
                            q.method
                        );
                        push(&mut p, s, nutrient_t(a, c), &format!("t {sub}/a"), price, m)?;
                    }
                }
                ("carbon_oxygen", "npp") => {
                    const S: &str = "carbon_sequestration";
                    let ratio = p.get(S, "nep_ratio", "1")?;
                    // Oxygen rests on the NEP ratio, not on the carbon price taken below.
                    let used_ratio = p.used.clone();
                    let nep = ratio * q.value * share;
                    let Some(carbon_as) = ctx.carbon_as else {
                        return Err(ModelError::InvalidConfig {
                            what: "carbon_sequestration needs `carbon_as` (\"C\" or \"CO2\"): the substance its quantity is reported in, which must be the substance of the carbon price's unit".into(),
                        });
                    };
                    let c_unit = Unit::parse("t C/a").map_err(core)?;
                    let (qty, unit_text) = match carbon_as {
                        CarbonAs::C => (nep, "t C/a".to_string()),
                        CarbonAs::Co2 => {
                            let (v, u) = c_unit
                                .convert_substance(nep, "C", "CO2", CO2_PER_C)
                                .map_err(core)?;
                            (v, u.as_str().to_string())
                        }
                    };
                    let price = p.price(S, "carbon_price")?;
                    let m = format!(
                        "NEP = {ratio} × NPP{}; × carbon price {} {} ({}); NPP: {}",
                        if carbon_as == CarbonAs::Co2 {
                            ", CO2 = 44/12 × NEP"
                        } else {
                            ""
                        },
                        price.value,
                        price.unit,
                        year(price),
                        q.method
                    );
                    push(&mut p, S, qty, &unit_text, price, m)?;
                    const O: &str = "oxygen_release";
                    p.used = used_ratio;
                    let (o2, o_unit) = c_unit
                        .convert_substance(nep, "C", "O2", O2_PER_C)
                        .map_err(core)?;
                    let price = p.price(O, "oxygen_price")?;
                    let m = format!(
                        "O2 = 32/12 × NEP, NEP = {ratio} × NPP; × oxygen price {} {} ({}); NPP: {}",
                        price.value,
                        price.unit,
                        year(price),
                        q.method
                    );
                    push(&mut p, O, o2, o_unit.as_str(), price, m)?;
                }
                ("climate_regulation", "evapotranspiration") => {
                    const S: &str = "climate_regulation";
                    let counted = p.get(S, "counted", "1")?;
                    if counted == 0.0 {
                        continue;
                    }
                    let rho = p.get(S, "water_density", "kg/m3")?;
                    let heat = p.get(S, "latent_heat", "kJ/kg")?;
                    let days = p.get(S, "hot_days", "d")?;
                    let r = p.get(S, "ac_efficiency", "1")?;
                    let price = p.price(S, "electricity_price")?;
                    let what = match ty.as_deref() {
                        Some("water" | "wetland") => "water-surface evaporation",
                        _ => "vegetation transpiration",
                    };
                    let kwh = counted * ac_electricity_kwh(q.value * share, rho, heat, days, r);
                    let m = format!(
                        "{what}: E = ET·ρ·q/3600/r × D/365, ρ = {rho} kg/m3, q = {heat} kJ/kg, r = {r}, D = {days} d{}; × electricity {} {} ({}); ET: {}",
                        if counted == 1.0 { String::new() } else { format!(", share counted {counted}") },
                        price.value,
                        price.unit,
                        year(price),
                        q.method
                    );
                    push(&mut p, S, kwh, "kWh/a", price, m)?;
                }
                _ => {}
            }
        }
    }
    Ok(out)
}

fn year(p: &Parameter) -> String {
    p.price_year
        .map_or("no price year".into(), |y| format!("{y} prices"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SET: &str = "# id = \"t\"\n# version = \"1\"\nservice,parameter,key,value,unit,price_year,low,high,verified,flags,source\n\
water_conservation,reservoir_cost,*,7.06,元/m3,2010,,,true,,G\n\
soil_retention_sediment,deposition_share,*,0.24,1,,,,true,,G\n\
soil_retention_sediment,bulk_density,*,1.2,t/m3,,,,false,example,G\n\
soil_retention_sediment,dredging_cost,*,15.58,元/m3,2010,,,true,,G\n\
soil_retention_nitrogen,content,*,0.5,%,,,,false,example,G\n\
soil_retention_nitrogen,price,*,875,元/t N,2010,,,true,,G\n\
soil_retention_phosphorus,content,*,0.1,%,,,,false,example,G\n\
soil_retention_phosphorus,price,*,2800,元/t P,2010,,,true,,G\n\
carbon_sequestration,nep_ratio,forest,0.5,1,,,,false,example,G\n\
carbon_sequestration,carbon_price,*,100,元/t CO2,2010,,,false,example,G\n\
oxygen_release,oxygen_price,*,727,元/t O2,2010,,,true,,G\n\
climate_regulation,counted,forest,1,1,,,,true,,G\n\
climate_regulation,counted,built_up,0,1,,,,true,,G\n\
climate_regulation,water_density,*,1000,kg/m3,,,,true,,G\n\
climate_regulation,latent_heat,*,2260,kJ/kg,,,,false,example,G\n\
climate_regulation,hot_days,*,60,d,,,,false,example,G\n\
climate_regulation,hot_days,county:330127,73,d,,,,false,example,G\n\
climate_regulation,ac_efficiency,*,3,1,,,,false,example,G\n\
climate_regulation,electricity_price,*,0.53,元/kWh,2010,,,true,,G\n";

    fn q(model: &'static str, name: &'static str, value: f64, unit: &'static str) -> Quantity {
        Quantity {
            zone_id: "330127001".into(),
            class: 2,
            model,
            name,
            value,
            unit,
            area_m2: 1e6,
            area_without_data_m2: 0.0,
            method: "m".into(),
        }
    }

    fn run(
        qs: &[Quantity],
        set: &str,
        carbon_as: Option<CarbonAs>,
    ) -> Result<Vec<ServiceValue>, ModelError> {
        let s = ParameterSet::from_csv_str(set, "t.csv").unwrap();
        let county = |z: &str| Some(z[..6].to_string());
        let types = |_c: ClassCode| vec![(Some("forest".to_string()), 1.0)];
        value_services(
            qs,
            &ValuationContext {
                parameters: &s,
                county_of: &county,
                types_of: &types,
                carbon_as,
            },
        )
    }

    fn only<'a>(rows: &'a [ServiceValue], s: &str) -> &'a ServiceValue {
        rows.iter().find(|r| r.service == s).unwrap()
    }

    #[test]
    fn water_conservation_by_hand() {
        // 1,000,000 m³/a × 7.06 元/m³ = 7,060,000 元/a
        let r = run(
            &[q("water_conservation", "water_conservation", 1e6, "m3/a")],
            SET,
            None,
        )
        .unwrap();
        let w = only(&r, "water_conservation");
        assert!((w.value_yuan - 7_060_000.0).abs() < 1e-6);
        assert_eq!(
            (w.price_year, w.quantity_unit.as_str()),
            (Some(2010), "m3/a")
        );
    }

    #[test]
    fn soil_retention_three_rows_by_hand() {
        // A_c = 1000 t/a. Sediment: 0.24 × 1000 / 1.2 = 200 m³/a × 15.58 = 3116 元/a.
        // N: 1000 × 0.5 % = 5 t N/a × 875 = 4375 元/a. P: 1000 × 0.1 % = 1 t P × 2800 = 2800.
        let r = run(
            &[q("soil_retention", "avoided_erosion", 1000.0, "t/a")],
            SET,
            None,
        )
        .unwrap();
        assert_eq!(r.len(), 3);
        let s = only(&r, "soil_retention_sediment");
        assert!((s.quantity - 200.0).abs() < 1e-9 && (s.value_yuan - 3116.0).abs() < 1e-9);
        assert!(s.flags.contains(&"example".to_string()), "{:?}", s.flags);
        let n = only(&r, "soil_retention_nitrogen");
        assert!((n.quantity - 5.0).abs() < 1e-12 && (n.value_yuan - 4375.0).abs() < 1e-9);
        assert_eq!(n.quantity_unit, "t N/a");
        let p = only(&r, "soil_retention_phosphorus");
        assert!((p.value_yuan - 2800.0).abs() < 1e-9);
    }

    #[test]
    fn carbon_and_oxygen_by_hand() {
        // NPP 120 t C/a, ratio 0.5: NEP 60 t C/a; CO2 = 60 × 44/12 = 220 t CO2/a × 100 元 =
        // 22,000 元/a; O2 = 60 × 32/12 = 160 t O2/a × 727 = 116,320 元/a.
        let r = run(
            &[q("carbon_oxygen", "npp", 120.0, "t C/a")],
            SET,
            Some(CarbonAs::Co2),
        )
        .unwrap();
        let c = only(&r, "carbon_sequestration");
        assert!((c.quantity - 220.0).abs() < 1e-9 && (c.value_yuan - 22_000.0).abs() < 1e-6);
        assert_eq!(c.quantity_unit, "t CO2/a");
        let o = only(&r, "oxygen_release");
        assert!((o.quantity - 160.0).abs() < 1e-9 && (o.value_yuan - 116_320.0).abs() < 1e-6);
        assert_eq!(o.quantity_unit, "t O2/a");
    }

    #[test]
    fn a_t_c_quantity_never_meets_a_t_co2_price() {
        let e = run(
            &[q("carbon_oxygen", "npp", 120.0, "t C/a")],
            SET,
            Some(CarbonAs::C),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("carbon_sequestration") && e.contains("CO2"),
            "{e}"
        );
        let e = run(&[q("carbon_oxygen", "npp", 120.0, "t C/a")], SET, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("carbon_as"), "{e}");
    }

    #[test]
    fn climate_regulation_by_hand_with_county_days() {
        // ET 3,600 m³/a; 3600 × 1000 kg/m³ × 2260 kJ/kg / 3600 = 2,260,000 kWh of heat;
        // / r 3 = 753,333.3 kWh; county 330127 has 73 of 365 days: × 0.2 = 150,666.67 kWh
        // × 0.53 元/kWh = 79,853.33 元/a.
        let r = run(
            &[q(
                "climate_regulation",
                "evapotranspiration",
                3600.0,
                "m3/a",
            )],
            SET,
            None,
        )
        .unwrap();
        let c = only(&r, "climate_regulation");
        assert!(
            (c.quantity - 150_666.666_666_666_7).abs() < 1e-6,
            "{}",
            c.quantity
        );
        assert!((c.value_yuan - 150_666.666_666_666_7 * 0.53).abs() < 1e-6);
        assert!(c.method.contains("D = 73 d"));
    }

    #[test]
    fn missing_parameter_and_wrong_unit_are_errors() {
        let no_price = SET.replace(
            "water_conservation,reservoir_cost,*,7.06,元/m3,2010,,,true,,G\n",
            "",
        );
        let e = run(
            &[q("water_conservation", "water_conservation", 1.0, "m3/a")],
            &no_price,
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("water_conservation") && e.contains("reservoir_cost"),
            "{e}"
        );
        // a reservoir cost per 亩 is not per m³
        let per_mu = SET.replace("7.06,元/m3", "7.06,元/亩");
        let e = run(
            &[q("water_conservation", "water_conservation", 1.0, "m3/a")],
            &per_mu,
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("water_conservation") && e.contains("元/亩"),
            "{e}"
        );
        // a bulk density in mm is
        let mm = SET.replace("1.2,t/m3", "1.2,mm");
        let e = run(
            &[q("soil_retention", "avoided_erosion", 1.0, "t/a")],
            &mm,
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("bulk_density"), "{e}");
    }
}
