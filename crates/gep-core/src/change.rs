//! ΔGEP between two years, split into its causes: land changed, or prices and parameters
//! changed.
//!
//! For one zone, ecosystem type `t` and service `s`, with area `A` (ha) and unit value `v`
//! (元/ha/a) in year 0 and year 1, the value is `A·v` and its change splits as
//!
//! ```text
//! A₁v₁ − A₀v₀ = (A₁ − A₀)·v₀          land-change effect (new areas at old unit values)
//!             + A₀·(v₁ − v₀)          price/parameter effect (old areas at new unit values)
//!             + (A₁ − A₀)·(v₁ − v₀)   interaction
//! ```
//!
//! and a zone's change of a service is the sum over its ecosystem types.
//!
//! # Exactness
//!
//! The identity holds in real numbers; in floating point each of the four quantities (total,
//! land, price, interaction) is computed **exactly** from the `f64` numbers and rounded once:
//! `A₀` is the year-0 area in ha, `ΔA` the exact difference of the two years' fixed-point
//! areas ([`ExactArea`]) in ha, rounded once, and `A₁ = A₀ + ΔA` is kept as that unevaluated
//! sum (so the same land change has the same `ΔA` bits in a village, its township and its
//! county); `v₁ − v₀` is an error-free two-sum (two `f64`), every
//! product is an error-free two-product (`fma`), and all the terms of one effect — over every
//! ecosystem type of the zone — are summed with Shewchuk's exact partials ([`ExactF64Sum`], the
//! algorithm of Python's `math.fsum`), correctly rounded at the end. The interaction is *not*
//! "total − land − price" (that would hide any error in the other three): the three effects
//! and the total are computed independently, and the exact sum of land + price + interaction
//! − total is checked to be **exactly zero** before a row is returned. The printed effects
//! therefore add up to the printed total to within the last bit of each (≤ 2 ulp of the
//! largest).
//!
//! # Real and nominal
//!
//! The nominal change compares each year at its own price year. The real change restates both
//! years' unit values in one price year through a [`Deflator`] (`v × index[real] /
//! index[price year]`), then decomposes the same way: its price effect is the change of unit
//! values net of inflation.
//!
//! # Model services
//!
//! Per-area sets give a unit value per ha per ecosystem type, so a change has exactly the
//! three causes above. A service computed as physical quantity × price (water conservation
//! from rainfall, carbon from NPP; issue 13's `[models.*]`) is decomposed on its quantities
//! instead ([`decompose_with_models`], [`ModelTerms`]). With `Q(L, I)` the quantity of a
//! zone × ecosystem type on land cover `L` with model inputs `I` (rainfall, ET, NPP...), and
//! `p` its unit price, three runs give `Q₀₀ = Q(L₀, I₀)`, the counterfactual `Q₁₀ = Q(L₁,
//! I₀)` (year 1's land cover with year 0's inputs and parameters) and `Q₁₁ = Q(L₁, I₁)`:
//!
//! ```text
//! Q₁₁p₁ − Q₀₀p₀ = (Q₁₀ − Q₀₀)·p₀          land-change effect (inputs held at year 0)
//!               + (Q₁₁ − Q₁₀)·p₀          input effect (year-1 land, old prices)
//!               + Q₀₀·(p₁ − p₀)           price effect (old quantity at new prices)
//!               + (Q₁₁ − Q₀₀)·(p₁ − p₀)   interaction
//! ```
//!
//! The identity holds exactly: land + input = (Q₁₁ − Q₀₀)·p₀ and price + interaction =
//! Q₁₁·(p₁ − p₀). It is the per-area scheme with the quantity change split in two: price
//! and interaction are defined as for the per-area services (old quantity at new prices; the
//! quantity change times the price change). It is computed in the same exact arithmetic (the
//! differences of quantities and prices as error-free two-sums, every product a
//! two-product, the terms summed exactly) and checked the same way. The decomposition is
//! done per valued piece (zone × class × ecosystem type share × service, where the value is
//! one quantity times one price) and summed exactly into the zone × type rows, so a type
//! whose classes have different prices (county-keyed parameters) stays exact.
//! [`Effects::input_yuan`] is `Some` on model rows and on the service and GEP rows that
//! contain one; per-area rows leave it `None`.

use crate::account::Accounts;
use crate::catalog::{Catalog, Category};
use crate::coefficients::{CoefficientSet, Deflator, SetKind, ValuationParams};
use crate::crosswalk::Crosswalk;
use crate::error::CoreError;
use crate::extent::{ExactArea, ExtentTable};
use crate::units::M2_PER_HA;
use crate::zone::{Level, Zone};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// An exact sum of `f64` numbers (Shewchuk's non-overlapping partials, as Python's
/// `math.fsum`): adding never rounds, and [`ExactF64Sum::value`] is the correctly rounded sum.
///
/// ```
/// use gep_core::change::ExactF64Sum;
/// let mut s = ExactF64Sum::default();
/// for x in [1e16, 1.0, -1e16, 1e-16] {
///     s.add(x);
/// }
/// assert_eq!(s.value(), 1.0 + 1e-16);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExactF64Sum {
    partials: Vec<f64>,
}

impl ExactF64Sum {
    /// Adds `x` exactly (finite values; a non-finite one makes the sum non-finite).
    pub fn add(&mut self, mut x: f64) {
        if !x.is_finite() {
            self.partials = vec![f64::NAN];
            return;
        }
        if self.partials.first().is_some_and(|p| p.is_nan()) {
            return;
        }
        let mut i = 0;
        for j in 0..self.partials.len() {
            let mut y = self.partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                self.partials[i] = lo;
                i += 1;
            }
            x = hi;
        }
        self.partials.truncate(i);
        self.partials.push(x);
    }

    /// Adds every partial of `other`.
    pub fn add_sum(&mut self, other: &ExactF64Sum) {
        for &p in &other.partials {
            self.add(p);
        }
    }

    /// The exact sum, correctly rounded to `f64` (round half to even).
    pub fn value(&self) -> f64 {
        let p = &self.partials;
        let Some(mut n) = p.len().checked_sub(1) else {
            return 0.0;
        };
        let mut hi = p[n];
        let mut lo = 0.0;
        while n > 0 {
            let x = hi;
            n -= 1;
            let y = p[n];
            hi = x + y;
            let yr = hi - x;
            lo = y - yr;
            if lo != 0.0 {
                break;
            }
        }
        // Half-way cases: the partials below decide the direction of rounding.
        if n > 0 && ((lo < 0.0 && p[n - 1] < 0.0) || (lo > 0.0 && p[n - 1] > 0.0)) {
            let y = lo * 2.0;
            let x = hi + y;
            if y == x - hi {
                hi = x;
            }
        }
        hi
    }
}

/// `a + b` as an unevaluated sum of two `f64` (Knuth's two-sum): exact.
fn two_sum(a: f64, b: f64) -> [f64; 2] {
    let s = a + b;
    let bv = s - a;
    let av = s - bv;
    [s, (a - av) + (b - bv)]
}

/// `a × b` as an unevaluated sum of two `f64` (two-product by `fma`): exact barring underflow.
fn two_prod(a: f64, b: f64) -> [f64; 2] {
    let p = a * b;
    [p, a.mul_add(b, -p)]
}

/// Adds the exact product of two expansions to `acc` (with `sign` ±1, exact).
fn add_product(acc: &mut ExactF64Sum, x: &[f64], y: &[f64], sign: f64) {
    for &a in x {
        for &b in y {
            for t in two_prod(a, b) {
                acc.add(sign * t);
            }
        }
    }
}

/// Unit values of one year: 元/ha/a per (ecosystem type, service), at one price year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitValues {
    /// Where they come from (coefficient set id@version).
    pub source: String,
    /// Price year of the values.
    pub price_year: Option<i32>,
    /// Services in account order.
    pub services: Vec<String>,
    /// (ecosystem type, service) → 元/ha/a; `None` = not applicable (no value, counted as 0).
    pub values: BTreeMap<(String, String), Option<f64>>,
}

impl UnitValues {
    /// Unit values given directly (e.g. a bureau's table), in `price_year` prices.
    pub fn new(
        source: impl Into<String>,
        price_year: Option<i32>,
        entries: impl IntoIterator<Item = (String, String, Option<f64>)>,
    ) -> UnitValues {
        let mut services: Vec<String> = Vec::new();
        let mut values = BTreeMap::new();
        for (t, s, v) in entries {
            if !services.contains(&s) {
                services.push(s.clone());
            }
            values.insert((t, s), v);
        }
        UnitValues {
            source: source.into(),
            price_year,
            services,
            values,
        }
    }

    /// The unit values of a flow set (per ha, after `params`: D, price-year restatement).
    /// Class-keyed sets are keyed by the class code as text.
    ///
    /// # Errors
    /// A stock set (its per-ha numbers are t C, not money); an entry whose value cannot be
    /// formed (see [`CoefficientSet::unit_value`]).
    ///
    /// # Units
    /// 元/ha/a.
    pub fn from_set(
        set: &CoefficientSet,
        params: &ValuationParams,
    ) -> Result<UnitValues, CoreError> {
        if set.kind == SetKind::Stock {
            return Err(CoreError::Change {
                problem: format!("coefficient set {} holds stocks (t C/ha), not values", set.id),
                fix: "decompose a flow set's values (元/ha/a); compare stocks through their quantities".into(),
            });
        }
        let mut price_year = set.price_year;
        let mut entries = Vec::new();
        for e in &set.entries {
            let uv = set.unit_value(e, params)?;
            if let Some(u) = &uv {
                price_year = u.price_year.or(price_year);
            }
            entries.push((
                e.key.clone(),
                e.service.clone(),
                uv.and_then(|u| u.yuan_per_ha),
            ));
        }
        let mut uv = UnitValues::new(format!("{}@{}", set.id, set.version), price_year, entries);
        // Account order: the set's own service order.
        uv.services = set.services.clone();
        Ok(uv)
    }

    /// The unit value of (type, service): `Some(None)` when not applicable, `None` when the
    /// table has no entry.
    pub fn get(&self, ecosystem_type: &str, service: &str) -> Option<Option<f64>> {
        self.values
            .get(&(ecosystem_type.to_string(), service.to_string()))
            .copied()
    }
}

/// The area of each ecosystem type in each zone, in one year.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TypeAreas {
    /// Zones in order: id, level, type → exact area.
    pub zones: Vec<(String, Level, BTreeMap<String, ExactArea>)>,
}

impl TypeAreas {
    /// Areas by ecosystem type from an extent table: classes mapped through `crosswalk`
    /// (shares split as the accounts split them), or keyed by the class code as text when
    /// `crosswalk` is `None` (class-keyed sets).
    ///
    /// # Errors
    /// `extent` is not the table of `zones`; a class the crosswalk does not map.
    pub fn from_extent(
        zones: &[Zone],
        extent: &ExtentTable,
        crosswalk: Option<&Crosswalk>,
    ) -> Result<TypeAreas, CoreError> {
        extent.check_zones(zones)?;
        let mut out = Vec::with_capacity(zones.len());
        for (z, t) in zones.iter().zip(&extent.zones) {
            let mut areas: BTreeMap<String, ExactArea> = BTreeMap::new();
            for (class, area) in &t.classes {
                match crosswalk {
                    None => *areas.entry(class.to_string()).or_default() += *area,
                    Some(cw) => {
                        let parts = cw.lookup(*class).ok_or_else(|| CoreError::Change {
                            problem: format!(
                                "class {class} in zone {:?} is not mapped by crosswalk {}",
                                z.id, cw.id
                            ),
                            fix: format!("add `{class},<ecosystem_type>` to a copy of the crosswalk ({}), or declare {class} nodata", cw.origin),
                        })?;
                        for (ty, part) in crate::crosswalk::split_area(*area, parts) {
                            *areas.entry(ty.clone()).or_default() += part;
                        }
                    }
                }
            }
            out.push((z.id.clone(), z.level, areas));
        }
        Ok(TypeAreas { zones: out })
    }

    /// Areas by ecosystem type as an account holds them (the first row of each zone × type).
    /// Class-keyed accounts (`class:N`) are keyed by `N`, as their set is.
    pub fn from_accounts(accounts: &Accounts) -> TypeAreas {
        let mut out: Vec<(String, Level, BTreeMap<String, ExactArea>)> = Vec::new();
        for r in &accounts.rows {
            if out.last().is_none_or(|z| z.0 != *r.zone_id) {
                out.push((r.zone_id.to_string(), r.zone_level, BTreeMap::new()));
            }
            let t = r
                .ecosystem_type
                .strip_prefix("class:")
                .unwrap_or(&r.ecosystem_type);
            out.last_mut()
                .expect("pushed")
                .2
                .entry(t.to_string())
                .or_insert(r.area);
        }
        TypeAreas { zones: out }
    }
}

/// One valued piece of a model service in the three runs of a change (see the module docs):
/// a zone × ecosystem type × service piece whose value is one quantity times one price.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuantityTerm {
    /// Zone id.
    pub zone_id: String,
    /// Ecosystem type (the class code as text without a crosswalk, as [`TypeAreas`]).
    pub ecosystem_type: String,
    /// Service code.
    pub service: String,
    /// `Q(L₀, I₀)`: year 0's quantity (0 when the piece is absent in year 0).
    pub q00: f64,
    /// `Q(L₁, I₀)`: year 1's land cover with year 0's inputs and parameters.
    pub q10: f64,
    /// `Q(L₁, I₁)`: year 1's quantity.
    pub q11: f64,
    /// Year 0's unit price (元 per unit of quantity).
    pub p0: f64,
    /// Year 1's unit price.
    pub p1: f64,
    /// Price year of `p0`.
    pub price_year0: Option<i32>,
    /// Price year of `p1`.
    pub price_year1: Option<i32>,
    /// Flags: `no_price0` (no year-0 price could be found for the piece: year 1's is used,
    /// so it has no price effect), `no_price1` (the converse), `no_counterfactual` (no
    /// `Q₁₀`: `q10 = q11`, so the land effect holds land and inputs together and the input
    /// effect is 0).
    pub flags: Vec<String>,
}

/// The model services of a change: the services their rows replace and the valued pieces.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ModelTerms {
    /// The services computed from quantities, in account order: a per-area unit value of
    /// one of these (or of its parent, `soil_retention` for `soil_retention_nitrogen`) is
    /// not decomposed — the models' value replaces it, as in a run.
    pub services: Vec<String>,
    /// The pieces.
    pub terms: Vec<QuantityTerm>,
}

impl ModelTerms {
    /// Whether `service` of a per-area set is replaced by these services (itself, or a
    /// parent of one of them).
    pub fn replaces(&self, service: &str) -> bool {
        self.services.iter().any(|m| {
            m == service
                || m.strip_prefix(service)
                    .is_some_and(|rest| rest.starts_with('_'))
        })
    }
}

/// One year of a comparison: its areas and its unit values.
#[derive(Debug, Clone, Copy)]
pub struct YearState<'a> {
    /// The accounting year.
    pub year: i32,
    /// Areas by zone and ecosystem type.
    pub areas: &'a TypeAreas,
    /// Unit values (元/ha/a) at their price year.
    pub unit_values: &'a UnitValues,
}

/// How two years are compared.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChangeOptions<'a> {
    /// Restate both years in this price year for the real change (needs `deflator` unless
    /// both years are already priced in it).
    pub real_price_year: Option<i32>,
    /// The price index.
    pub deflator: Option<&'a Deflator>,
}

/// The change of a value and its causes (元).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Effects {
    /// Value in year 0.
    pub value0_yuan: f64,
    /// Value in year 1.
    pub value1_yuan: f64,
    /// value1 − value0, exact then rounded once.
    pub total_yuan: f64,
    /// Σ (A₁ − A₀)·v₀.
    pub land_yuan: f64,
    /// Σ A₀·(v₁ − v₀).
    pub price_yuan: f64,
    /// Σ (A₁ − A₀)·(v₁ − v₀).
    pub interaction_yuan: f64,
    /// The change of model inputs (rainfall, NPP) at old prices: `None` for per-area sets.
    pub input_yuan: Option<f64>,
}

/// Exact accumulators of one row's effects.
#[derive(Debug, Clone, Default)]
struct Acc {
    v0: ExactF64Sum,
    v1: ExactF64Sum,
    total: ExactF64Sum,
    land: ExactF64Sum,
    price: ExactF64Sum,
    inter: ExactF64Sum,
    input: ExactF64Sum,
    /// A model service's term was added: the input effect is a number, not blank.
    has_input: bool,
}

impl Acc {
    /// Adds `a₀v₀ → a₁v₁` exactly, with `a₁ = a₀ + da` (an unevaluated sum: `da` is the
    /// exact difference of the two fixed-point areas, rounded once).
    fn add(&mut self, a0: f64, da: f64, v0: f64, v1: f64) {
        let a1 = [a0, da];
        let da = [da];
        let dv = two_sum(v1, -v0);
        add_product(&mut self.v0, &[a0], &[v0], 1.0);
        add_product(&mut self.v1, &a1, &[v1], 1.0);
        add_product(&mut self.total, &a1, &[v1], 1.0);
        add_product(&mut self.total, &[a0], &[v0], -1.0);
        add_product(&mut self.land, &da, &[v0], 1.0);
        add_product(&mut self.price, &[a0], &dv, 1.0);
        add_product(&mut self.inter, &da, &dv, 1.0);
    }

    /// Adds a model service's `Q₀₀·p₀ → Q₁₁·p₁` exactly, with the counterfactual `Q₁₀`
    /// (year-1 land cover, year-0 inputs): land `(Q₁₀ − Q₀₀)·p₀`, input `(Q₁₁ − Q₁₀)·p₀`,
    /// price `Q₀₀·(p₁ − p₀)`, interaction `(Q₁₁ − Q₀₀)·(p₁ − p₀)`.
    fn add_quantity(&mut self, q: [f64; 3], p0: f64, p1: f64) {
        let [q00, q10, q11] = q;
        let dq_land = two_sum(q10, -q00);
        let dq_input = two_sum(q11, -q10);
        let dq = two_sum(q11, -q00);
        let dp = two_sum(p1, -p0);
        add_product(&mut self.v0, &[q00], &[p0], 1.0);
        add_product(&mut self.v1, &[q11], &[p1], 1.0);
        add_product(&mut self.total, &[q11], &[p1], 1.0);
        add_product(&mut self.total, &[q00], &[p0], -1.0);
        add_product(&mut self.land, &dq_land, &[p0], 1.0);
        add_product(&mut self.input, &dq_input, &[p0], 1.0);
        add_product(&mut self.price, &[q00], &dp, 1.0);
        add_product(&mut self.inter, &dq, &dp, 1.0);
        self.has_input = true;
    }

    fn merge(&mut self, o: &Acc) {
        self.input.add_sum(&o.input);
        self.has_input |= o.has_input;
        self.v0.add_sum(&o.v0);
        self.v1.add_sum(&o.v1);
        self.total.add_sum(&o.total);
        self.land.add_sum(&o.land);
        self.price.add_sum(&o.price);
        self.inter.add_sum(&o.inter);
    }

    /// The effects, after checking exactly that land + input + price + interaction = total.
    fn effects(&self, what: &dyn Fn() -> String) -> Result<Effects, CoreError> {
        let mut residual = self.land.clone();
        residual.add_sum(&self.input);
        residual.add_sum(&self.price);
        residual.add_sum(&self.inter);
        for &p in &self.total.partials {
            residual.add(-p);
        }
        let r = residual.value();
        if r != 0.0 {
            return Err(CoreError::Change {
                problem: format!(
                    "{}: land + input + price + interaction differs from the total change by {r} 元 (inputs not finite, or a bug)",
                    what()
                ),
                fix: "check the areas and unit values for NaN or infinite numbers; if they are finite, report this as a bug".into(),
            });
        }
        Ok(Effects {
            value0_yuan: self.v0.value(),
            value1_yuan: self.v1.value(),
            total_yuan: self.total.value(),
            land_yuan: self.land.value(),
            price_yuan: self.price.value(),
            interaction_yuan: self.inter.value(),
            input_yuan: self.has_input.then(|| self.input.value()),
        })
    }
}

/// One row of `change.csv`: a zone × ecosystem type × service, a zone × service (type
/// `None`), or a zone's GEP (type and service `None`; stocks excluded).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeRow {
    /// Zone id.
    pub zone_id: String,
    /// Zone level.
    pub zone_level: Level,
    /// Ecosystem type (`None` = all types).
    pub ecosystem_type: Option<String>,
    /// Service (`None` = GEP, all services).
    pub service: Option<String>,
    /// Area in year 0 (ha); for type rows only.
    pub area0_ha: Option<f64>,
    /// Area in year 1 (ha); for type rows only.
    pub area1_ha: Option<f64>,
    /// Unit value in year 0 (元/ha/a, its own price year); for type rows only.
    pub unit_value0: Option<f64>,
    /// Unit value in year 1 (元/ha/a, its own price year); for type rows only.
    pub unit_value1: Option<f64>,
    /// Nominal change (each year at its own prices).
    pub nominal: Effects,
    /// Real change (both years in [`Change::real_price_year`] prices), when asked for.
    pub real: Option<Effects>,
    /// `;`-separated flags: `not_applicable0`, `not_applicable1`; on a model service's rows
    /// `quantity_x_price` (decomposed on quantities, with an input effect), `no_price0`,
    /// `no_price1` (see [`QuantityTerm::flags`]).
    pub flags: String,
}

/// The decomposed change between two years.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// Year 0.
    pub year0: i32,
    /// Year 1.
    pub year1: i32,
    /// Price year of year 0's unit values.
    pub price_year0: Option<i32>,
    /// Price year of year 1's unit values.
    pub price_year1: Option<i32>,
    /// The price year of the real change.
    pub real_price_year: Option<i32>,
    /// Rows: per zone (in zone order) the type rows, then the service rows, then the GEP row.
    pub rows: Vec<ChangeRow>,
}

impl Change {
    /// The zone × service row (or the GEP row with `service` `None`).
    pub fn zone_service(&self, zone_id: &str, service: Option<&str>) -> Option<&ChangeRow> {
        self.rows.iter().find(|r| {
            r.zone_id == zone_id && r.ecosystem_type.is_none() && r.service.as_deref() == service
        })
    }

    /// The zone × type × service row.
    pub fn zone_type_service(
        &self,
        zone_id: &str,
        ecosystem_type: &str,
        service: &str,
    ) -> Option<&ChangeRow> {
        self.rows.iter().find(|r| {
            r.zone_id == zone_id
                && r.ecosystem_type.as_deref() == Some(ecosystem_type)
                && r.service.as_deref() == Some(service)
        })
    }
}

fn restate(
    v: f64,
    from: Option<i32>,
    to: i32,
    deflator: Option<&Deflator>,
    year: i32,
) -> Result<f64, CoreError> {
    match from {
        Some(f) if f == to => Ok(v),
        Some(f) => {
            let d = deflator.ok_or_else(|| CoreError::Change {
                problem: format!(
                    "year {year}'s unit values are in {f} prices and the real change is asked in {to} prices, but no deflator was given"
                ),
                fix: "give a deflator table (year,index), or drop the real price year".into(),
            })?;
            Ok(v * d.factor(f, to)?)
        }
        None => Err(CoreError::Change {
            problem: format!("year {year}'s unit values have no price year"),
            fix: "use a flow set with a price_year, or drop the real price year".into(),
        }),
    }
}

/// Decomposes the change of every zone × ecosystem type × service from `y0` to `y1` (see the
/// module docs), with the zone × service sums and each zone's GEP change.
///
/// Zones must be the same, in the same order, in both years. Every ecosystem type present in
/// either year needs a unit value (or an explicit NA, counted as 0 and flagged) for every
/// service in **both** years' tables: a type that appears in year 1 is valued at year 0's unit
/// value in the land effect.
///
/// ```
/// use gep_core::change::{decompose, ChangeOptions, TypeAreas, UnitValues, YearState};
/// use gep_core::{ExactArea, Level};
/// let areas = |f: f64, c: f64| TypeAreas { zones: vec![("v".into(), Level::Village,
///     [("forest".to_string(), ExactArea::from_m2(f * 1e4)),
///      ("cropland".to_string(), ExactArea::from_m2(c * 1e4))].into())] };
/// let prices = |f: f64, c: f64| UnitValues::new("table", Some(2020), [
///     ("forest".to_string(), "climate".to_string(), Some(f)),
///     ("cropland".to_string(), "climate".to_string(), Some(c))]);
/// let (a0, a1) = (areas(2.0, 1.0), areas(1.5, 1.5));
/// let (p0, p1) = (prices(100.0, 40.0), prices(120.0, 50.0));
/// let ch = decompose(YearState { year: 2020, areas: &a0, unit_values: &p0 },
///                    YearState { year: 2021, areas: &a1, unit_values: &p1 },
///                    &ChangeOptions::default()).unwrap();
/// let e = ch.zone_service("v", Some("climate")).unwrap().nominal;
/// assert_eq!((e.total_yuan, e.land_yuan, e.price_yuan, e.interaction_yuan), (15.0, -30.0, 50.0, -5.0));
/// ```
///
/// # Errors
/// [`CoreError::Change`] when the zones differ, a unit value is missing, the real change
/// needs a deflator (or its years) that is not there, or a number is not finite.
///
/// # Units
/// Values in 元 per year; areas in ha; unit values in 元/ha/a.
pub fn decompose(
    y0: YearState<'_>,
    y1: YearState<'_>,
    opts: &ChangeOptions<'_>,
) -> Result<Change, CoreError> {
    decompose_with_models(y0, y1, &ModelTerms::default(), opts)
}

/// [`decompose`] with model services (see the module docs): the per-area services that
/// `models` replaces are dropped, and each model service gets its zone × type rows from the
/// quantities of the three runs, with the input effect, its zone × service row, and its
/// share of the zone's GEP row.
///
/// # Errors
/// As [`decompose`]; a term whose zone is not one of the zones; a term whose service is not
/// in `models.services`; a price year the real change cannot restate.
///
/// # Units
/// Values in 元 per year; quantities in their own unit, prices in 元 per that unit.
pub fn decompose_with_models(
    y0: YearState<'_>,
    y1: YearState<'_>,
    models: &ModelTerms,
    opts: &ChangeOptions<'_>,
) -> Result<Change, CoreError> {
    let (z0, z1) = (&y0.areas.zones, &y1.areas.zones);
    if z0.len() != z1.len() || z0.iter().zip(z1).any(|(a, b)| a.0 != b.0) {
        let pos = z0
            .iter()
            .zip(z1)
            .position(|(a, b)| a.0 != b.0)
            .unwrap_or(z0.len().min(z1.len()));
        return Err(CoreError::Change {
            problem: format!(
                "the two years are over different zones: {} zones in {}, {} in {}; at position {pos}: {:?} vs {:?}",
                z0.len(),
                y0.year,
                z1.len(),
                y1.year,
                z0.get(pos).map(|z| z.0.as_str()),
                z1.get(pos).map(|z| z.0.as_str()),
            ),
            fix: "assess both years over the same boundary layer (the zones of year 0)".into(),
        });
    }
    let cat = Catalog::builtin();
    let mut services: Vec<String> = Vec::new();
    for s in y0
        .unit_values
        .services
        .iter()
        .chain(&y1.unit_values.services)
    {
        if !services.contains(s) && !models.replaces(s) {
            services.push(s.clone());
        }
    }
    for s in &models.services {
        if !services.contains(s) {
            services.push(s.clone());
        }
    }
    // Model terms by zone × service × type.
    type ByType<'t> = BTreeMap<&'t str, Vec<&'t QuantityTerm>>;
    let mut by_zone: BTreeMap<(&str, &str), ByType<'_>> = BTreeMap::new();
    let zone_ids: BTreeSet<&str> = z0.iter().map(|z| z.0.as_str()).collect();
    for t in &models.terms {
        if !zone_ids.contains(t.zone_id.as_str()) {
            return Err(CoreError::Change {
                problem: format!(
                    "service {:?} has a quantity in zone {:?}, which is not one of the zones compared",
                    t.service, t.zone_id
                ),
                fix: "assess both years and the counterfactual over the same boundary layers".into(),
            });
        }
        if !models.services.contains(&t.service) {
            return Err(CoreError::Change {
                problem: format!(
                    "service {:?} has quantities but is not listed among the model services",
                    t.service
                ),
                fix:
                    "list every service of the terms in ModelTerms::services (a bug in the caller)"
                        .into(),
            });
        }
        by_zone
            .entry((t.zone_id.as_str(), t.service.as_str()))
            .or_default()
            .entry(t.ecosystem_type.as_str())
            .or_default()
            .push(t);
    }
    let category = |s: &str| cat.service(s).map(|x| x.category);
    let real = opts.real_price_year;
    let mut rows = Vec::new();
    for ((id, level, a0), (_, _, a1)) in z0.iter().zip(z1) {
        let types: BTreeSet<&String> = a0.keys().chain(a1.keys()).collect();
        let mut gep = (Acc::default(), Acc::default());
        let mut svc_rows = Vec::new();
        for s in &services {
            let mut sum = (Acc::default(), Acc::default());
            if models.services.contains(s) {
                let empty = ByType::new();
                let by_type = by_zone.get(&(id.as_str(), s.as_str())).unwrap_or(&empty);
                for (t, terms) in by_type {
                    let mut nominal = Acc::default();
                    let mut realacc = real.map(|_| Acc::default());
                    let mut flags = vec!["quantity_x_price".to_string()];
                    for q in terms {
                        nominal.add_quantity([q.q00, q.q10, q.q11], q.p0, q.p1);
                        if let (Some(r), Some(acc)) = (real, realacc.as_mut()) {
                            let rp0 = restate(q.p0, q.price_year0, r, opts.deflator, y0.year)?;
                            let rp1 = restate(q.p1, q.price_year1, r, opts.deflator, y1.year)?;
                            acc.add_quantity([q.q00, q.q10, q.q11], rp0, rp1);
                        }
                        for f in &q.flags {
                            if !flags.contains(f) {
                                flags.push(f.clone());
                            }
                        }
                    }
                    let what = || format!("zone {id:?}, type {t:?}, service {s:?}");
                    let ha =
                        |a: &BTreeMap<String, ExactArea>| a.get(*t).map(|x| x.to_m2() / M2_PER_HA);
                    rows.push(ChangeRow {
                        zone_id: id.clone(),
                        zone_level: *level,
                        ecosystem_type: Some((*t).to_string()),
                        service: Some(s.clone()),
                        area0_ha: ha(a0),
                        area1_ha: ha(a1),
                        unit_value0: None,
                        unit_value1: None,
                        nominal: nominal.effects(&what)?,
                        real: realacc.as_ref().map(|a| a.effects(&what)).transpose()?,
                        flags: flags.join(";"),
                    });
                    sum.0.merge(&nominal);
                    if let Some(a) = &realacc {
                        sum.1.merge(a);
                    }
                }
                // A model service's rows carry an input effect, 0 where it has no quantity.
                sum.0.has_input = true;
                sum.1.has_input = true;
            }
            for t in types.iter().filter(|_| !models.services.contains(s)) {
                let (x0, x1) = (
                    a0.get(*t).copied().unwrap_or_default(),
                    a1.get(*t).copied().unwrap_or_default(),
                );
                let ar0 = x0.to_m2() / M2_PER_HA;
                let ar1 = x1.to_m2() / M2_PER_HA;
                // ΔA from the exact areas: the same land change gives the same bits in every
                // zone it lies in, whatever the zone's total area.
                let dar = (x1 - x0).to_m2() / M2_PER_HA;
                let get = |y: &YearState<'_>| {
                    y.unit_values.get(t, s).ok_or_else(|| CoreError::Change {
                        problem: format!(
                            "ecosystem type {t:?} (in zone {id:?}) has no unit value for service {s:?} in year {}'s table {}",
                            y.year, y.unit_values.source
                        ),
                        fix: format!("add `{t},{s},<value>,<unit>` (or `{t},{s},NA,`) to the coefficient set of year {}", y.year),
                    })
                };
                let (u0, u1) = (get(&y0)?, get(&y1)?);
                let mut flags = Vec::new();
                if u0.is_none() {
                    flags.push("not_applicable0");
                }
                if u1.is_none() {
                    flags.push("not_applicable1");
                }
                let (v0, v1) = (u0.unwrap_or(0.0), u1.unwrap_or(0.0));
                let mut nominal = Acc::default();
                nominal.add(ar0, dar, v0, v1);
                let mut realacc = None;
                if let Some(r) = real {
                    let rv0 = restate(v0, y0.unit_values.price_year, r, opts.deflator, y0.year)?;
                    let rv1 = restate(v1, y1.unit_values.price_year, r, opts.deflator, y1.year)?;
                    let mut acc = Acc::default();
                    acc.add(ar0, dar, rv0, rv1);
                    realacc = Some(acc);
                }
                let what = || format!("zone {id:?}, type {t:?}, service {s:?}");
                rows.push(ChangeRow {
                    zone_id: id.clone(),
                    zone_level: *level,
                    ecosystem_type: Some((*t).clone()),
                    service: Some(s.clone()),
                    area0_ha: Some(ar0),
                    area1_ha: Some(ar1),
                    unit_value0: u0,
                    unit_value1: u1,
                    nominal: nominal.effects(&what)?,
                    real: realacc.as_ref().map(|a| a.effects(&what)).transpose()?,
                    flags: flags.join(";"),
                });
                sum.0.merge(&nominal);
                if let Some(a) = &realacc {
                    sum.1.merge(a);
                }
            }
            let what = || format!("zone {id:?}, service {s:?}");
            svc_rows.push(ChangeRow {
                zone_id: id.clone(),
                zone_level: *level,
                ecosystem_type: None,
                service: Some(s.clone()),
                area0_ha: None,
                area1_ha: None,
                unit_value0: None,
                unit_value1: None,
                nominal: sum.0.effects(&what)?,
                real: real.map(|_| sum.1.effects(&what)).transpose()?,
                flags: String::new(),
            });
            if category(s) != Some(Category::Stock) {
                gep.0.merge(&sum.0);
                gep.1.merge(&sum.1);
            }
        }
        rows.extend(svc_rows);
        let what = || format!("zone {id:?}, GEP");
        rows.push(ChangeRow {
            zone_id: id.clone(),
            zone_level: *level,
            ecosystem_type: None,
            service: None,
            area0_ha: None,
            area1_ha: None,
            unit_value0: None,
            unit_value1: None,
            nominal: gep.0.effects(&what)?,
            real: real.map(|_| gep.1.effects(&what)).transpose()?,
            flags: String::new(),
        });
    }
    Ok(Change {
        year0: y0.year,
        year1: y1.year,
        price_year0: y0.unit_values.price_year,
        price_year1: y1.unit_values.price_year,
        real_price_year: real,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn areas(zones: &[(&str, f64, f64)]) -> TypeAreas {
        TypeAreas {
            zones: zones
                .iter()
                .map(|(id, forest, crop)| {
                    (
                        id.to_string(),
                        Level::Village,
                        [
                            ("forest".to_string(), ExactArea::from_m2(forest * 1e4)),
                            ("cropland".to_string(), ExactArea::from_m2(crop * 1e4)),
                        ]
                        .into(),
                    )
                })
                .collect(),
        }
    }

    fn prices(year: i32, forest: f64, crop: f64) -> UnitValues {
        UnitValues::new(
            "test",
            Some(year),
            [
                ("forest".into(), "climate_regulation".into(), Some(forest)),
                ("cropland".into(), "climate_regulation".into(), Some(crop)),
                ("forest".into(), "soil_retention".into(), Some(10.0)),
                ("cropland".into(), "soil_retention".into(), None),
            ],
        )
    }

    /// Two years, two ecosystem types, prices changed: every effect worked out by hand.
    ///
    /// Year 0: forest 2 ha, cropland 1 ha; climate regulation 100 and 40 元/ha/a (2020 prices).
    /// Year 1: forest 1.5 ha, cropland 1.5 ha (0.5 ha of forest cleared for crops); 120 and
    /// 50 元/ha/a (2021 prices). Soil retention: forest 10 元/ha/a both years, cropland NA.
    ///
    /// Climate: V₀ = 2·100 + 1·40 = 240, V₁ = 1.5·120 + 1.5·50 = 255, Δ = 15;
    /// land = −0.5·100 + 0.5·40 = −30; price = 2·20 + 1·10 = 50; interaction = −0.5·20 +
    /// 0.5·10 = −5; −30 + 50 − 5 = 15.
    /// Soil: V₀ = 20, V₁ = 15, land = −5, price = interaction = 0.
    /// GEP: Δ = 10, land −35, price 50, interaction −5.
    ///
    /// Real (2020 prices; index 2020 = 100, 2021 = 125, so year 1 × 0.8): climate forest 96,
    /// cropland 40; soil forest 8. Climate: V₁ = 1.5·96 + 1.5·40 = 204, Δ = −36, land −30,
    /// price = 2·(−4) + 0 = −8, interaction = −0.5·(−4) + 0 = 2. Soil: V₁ = 12, Δ = −8,
    /// land −5, price 2·(−2) = −4, interaction −0.5·(−2) = 1.
    #[test]
    fn hand_computed_two_years() {
        let (a0, a1) = (areas(&[("v", 2.0, 1.0)]), areas(&[("v", 1.5, 1.5)]));
        let (p0, p1) = (prices(2020, 100.0, 40.0), prices(2021, 120.0, 50.0));
        let defl = Deflator::from_csv_str("year,index\n2020,100\n2021,125\n", "test").unwrap();
        let ch = decompose(
            YearState {
                year: 2020,
                areas: &a0,
                unit_values: &p0,
            },
            YearState {
                year: 2021,
                areas: &a1,
                unit_values: &p1,
            },
            &ChangeOptions {
                real_price_year: Some(2020),
                deflator: Some(&defl),
            },
        )
        .unwrap();
        let close =
            |a: f64, b: f64| assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} vs {b}");
        let check = |e: &Effects, v: [f64; 6]| {
            close(e.value0_yuan, v[0]);
            close(e.value1_yuan, v[1]);
            close(e.total_yuan, v[2]);
            close(e.land_yuan, v[3]);
            close(e.price_yuan, v[4]);
            close(e.interaction_yuan, v[5]);
            assert_eq!(e.input_yuan, None);
        };
        let climate = ch.zone_service("v", Some("climate_regulation")).unwrap();
        check(&climate.nominal, [240.0, 255.0, 15.0, -30.0, 50.0, -5.0]);
        check(
            climate.real.as_ref().unwrap(),
            [240.0, 204.0, -36.0, -30.0, -8.0, 2.0],
        );
        let soil = ch.zone_service("v", Some("soil_retention")).unwrap();
        check(&soil.nominal, [20.0, 15.0, -5.0, -5.0, 0.0, 0.0]);
        check(
            soil.real.as_ref().unwrap(),
            [20.0, 12.0, -8.0, -5.0, -4.0, 1.0],
        );
        let gep = ch.zone_service("v", None).unwrap();
        check(&gep.nominal, [260.0, 270.0, 10.0, -35.0, 50.0, -5.0]);
        // The type rows: forest climate.
        let f = ch
            .zone_type_service("v", "forest", "climate_regulation")
            .unwrap();
        check(&f.nominal, [200.0, 180.0, -20.0, -50.0, 40.0, -10.0]);
        assert_eq!((f.area0_ha, f.area1_ha), (Some(2.0), Some(1.5)));
        let c = ch
            .zone_type_service("v", "cropland", "soil_retention")
            .unwrap();
        assert_eq!(c.flags, "not_applicable0;not_applicable1");
        // Exact with these numbers (all dyadic or small integers).
        assert_eq!(climate.nominal.total_yuan, 15.0);
        assert_eq!(climate.nominal.interaction_yuan, -5.0);
    }

    /// The effects sum to the total to the last bit on numbers chosen to make naive float
    /// arithmetic lose digits (large areas, nearly equal unit values).
    #[test]
    fn effects_sum_to_total_under_cancellation() {
        let (a0, a1) = (
            areas(&[("v", 123_456.789_012_3, 0.1)]),
            areas(&[("v", 123_456.789_012_4, 0.3)]),
        );
        let (p0, p1) = (
            prices(2020, 65_123.456_789_1, 1e-3),
            prices(2020, 65_123.456_789_2, 3e-3),
        );
        let ch = decompose(
            YearState {
                year: 2020,
                areas: &a0,
                unit_values: &p0,
            },
            YearState {
                year: 2021,
                areas: &a1,
                unit_values: &p1,
            },
            &ChangeOptions::default(),
        )
        .unwrap();
        for r in &ch.rows {
            let e = r.nominal;
            let mut s = ExactF64Sum::default();
            for x in [e.land_yuan, e.price_yuan, e.interaction_yuan, -e.total_yuan] {
                s.add(x);
            }
            // Each printed number is the exact value rounded once: their sum is within
            // 2 ulp of the largest.
            let big = e
                .land_yuan
                .abs()
                .max(e.price_yuan.abs())
                .max(e.total_yuan.abs());
            assert!(s.value().abs() <= 2.0 * f64::EPSILON * big, "{r:?}");
        }
    }

    #[test]
    fn refuses_missing_unit_value_and_other_zones() {
        let (a0, a1) = (areas(&[("v", 1.0, 1.0)]), areas(&[("w", 1.0, 1.0)]));
        let p = prices(2020, 1.0, 1.0);
        let y = |year, areas| YearState {
            year,
            areas,
            unit_values: &p,
        };
        let e = decompose(y(2020, &a0), y(2021, &a1), &ChangeOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("different zones") && e.contains("\"w\""), "{e}");
        let only_forest = UnitValues::new(
            "t",
            Some(2020),
            [("forest".into(), "climate_regulation".into(), Some(1.0))],
        );
        let e = decompose(
            y(2020, &a0),
            YearState {
                year: 2021,
                areas: &a0,
                unit_values: &only_forest,
            },
            &ChangeOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("\"cropland\"") && e.contains("2021"), "{e}");
        // Real change across price years without a deflator.
        let p1 = prices(2021, 1.0, 1.0);
        let e = decompose(
            y(2020, &a0),
            YearState {
                year: 2021,
                areas: &a0,
                unit_values: &p1,
            },
            &ChangeOptions {
                real_price_year: Some(2020),
                deflator: None,
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("deflator"), "{e}");
    }

    #[test]
    fn from_a_builtin_set() {
        let set = CoefficientSet::builtin("xie2015").unwrap();
        let uv = UnitValues::from_set(&set, &ValuationParams::default()).unwrap();
        assert_eq!(uv.price_year, set.price_year);
        assert!(!uv.values.is_empty());
        assert_eq!(uv.services, set.services);
    }

    /// A model service, by hand: one zone, one type, water conservation Q₀₀ = 100 m³,
    /// Q₁₀ = 80 m³ (land changed), Q₁₁ = 120 m³ (wetter year), price 2 → 3 元/m³; and a
    /// per-area service of the same name that the model replaces.
    ///
    /// V₀ = 200, V₁ = 360, Δ = 160; land (80 − 100)·2 = −40; input (120 − 80)·2 = 80; price
    /// 100·(3 − 2) = 100; interaction (120 − 100)·1 = 20; −40 + 80 + 100 + 20 = 160.
    /// The per-area climate service is decomposed as before (no input effect); GEP adds both.
    #[test]
    fn model_service_by_hand() {
        let (a0, a1) = (areas(&[("v", 2.0, 1.0)]), areas(&[("v", 1.5, 1.5)]));
        let with_wc = |f: f64| {
            let mut p = prices(2020, f, 40.0);
            p.services.push("water_conservation".into());
            p.values
                .insert(("forest".into(), "water_conservation".into()), Some(1e6));
            p.values
                .insert(("cropland".into(), "water_conservation".into()), Some(1e6));
            p
        };
        let (p0, p1) = (with_wc(100.0), with_wc(100.0));
        let models = ModelTerms {
            services: vec!["water_conservation".into()],
            terms: vec![QuantityTerm {
                zone_id: "v".into(),
                ecosystem_type: "forest".into(),
                service: "water_conservation".into(),
                q00: 100.0,
                q10: 80.0,
                q11: 120.0,
                p0: 2.0,
                p1: 3.0,
                price_year0: Some(2020),
                price_year1: Some(2020),
                flags: vec![],
            }],
        };
        let ch = decompose_with_models(
            YearState {
                year: 2020,
                areas: &a0,
                unit_values: &p0,
            },
            YearState {
                year: 2021,
                areas: &a1,
                unit_values: &p1,
            },
            &models,
            &ChangeOptions::default(),
        )
        .unwrap();
        let wc = ch.zone_service("v", Some("water_conservation")).unwrap();
        let e = wc.nominal;
        assert_eq!(
            (e.value0_yuan, e.value1_yuan, e.total_yuan),
            (200.0, 360.0, 160.0)
        );
        assert_eq!(
            (e.land_yuan, e.input_yuan, e.price_yuan, e.interaction_yuan),
            (-40.0, Some(80.0), 100.0, 20.0)
        );
        let row = ch
            .zone_type_service("v", "forest", "water_conservation")
            .unwrap();
        assert_eq!(row.nominal, e);
        assert_eq!(row.flags, "quantity_x_price");
        assert_eq!((row.area0_ha, row.area1_ha), (Some(2.0), Some(1.5)));
        // The per-area water conservation (1e6 元/ha) is replaced, not added.
        assert!(ch
            .zone_type_service("v", "cropland", "water_conservation")
            .is_none());
        let climate = ch.zone_service("v", Some("climate_regulation")).unwrap();
        assert_eq!(climate.nominal.input_yuan, None);
        // Climate: land −0.5·100 + 0.5·40 = −30; soil: land −5.
        let gep = ch.zone_service("v", None).unwrap().nominal;
        assert_eq!(gep.total_yuan, 160.0 - 30.0 - 5.0);
        assert_eq!(gep.land_yuan, -40.0 - 30.0 - 5.0);
        assert_eq!(gep.input_yuan, Some(80.0));
        assert_eq!(gep.price_yuan, 100.0);
        assert_eq!(gep.interaction_yuan, 20.0);
        // A term of an unknown zone is refused.
        let mut bad = models.clone();
        bad.terms[0].zone_id = "w".into();
        let e = decompose_with_models(
            YearState {
                year: 2020,
                areas: &a0,
                unit_values: &p0,
            },
            YearState {
                year: 2021,
                areas: &a1,
                unit_values: &p1,
            },
            &bad,
            &ChangeOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("\"w\""), "{e}");
    }

    #[test]
    fn exact_sum_rounds_correctly() {
        let mut s = ExactF64Sum::default();
        for x in [1.0, 1e100, 1.0, -1e100] {
            s.add(x);
        }
        assert_eq!(s.value(), 2.0);
        let mut s = ExactF64Sum::default();
        for x in [0.1; 10] {
            s.add(x);
        }
        assert_eq!(s.value(), 1.0);
    }
}
