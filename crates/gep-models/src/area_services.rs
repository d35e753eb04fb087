//! Regulating services computed from land-cover areas and user tables rather than from
//! continuous rasters: flood regulation, water and air purification (capped at the county's
//! discharges and emissions) and negative air ions. Each row is, like [`crate::services`]'s,
//! a physical quantity (unit) × a price (unit, price year, source) = 元/a by zone × land-cover
//! class × ecosystem type (GEP-METHOD.md §7; Garzé 2017 §2.4.4-2.4.6):
//!
//! | service | quantity | value |
//! |---|---|---|
//! | `flood_regulation` | reservoirs: `reservoir_share` × total capacity (0.35, Garzé §2.4.4); every type with a `storage_depth`: depth × area (marshes 0.3 m; lakes or vegetation where the set gives a depth) m³/a | × `reservoir_cost` 元/m³ |
//! | `water_purification_cod`, `_nh3n`, `_tp` | Σ rate × area, capped at the county's discharge, t/a | × `price` 元/t |
//! | `air_purification_so2`, `_nox`, `_dust` | Σ rate × area, capped at the county's emission, t/a | × `price` 元/t |
//! | `negative_air_ions` | N = Q·A·H·(1 a / L) ions/a (= 5.256×10¹⁵ Q·A·H/L with Q ions/cm³, A ha, H m, L min) | × `price` 元/(10¹⁸ ions) |
//!
//! # Allocation to townships and villages
//! Every zone is computed from its own class areas, so a county's row is the sum of its
//! villages' rows when the villages tile it:
//!
//! - **Reservoirs** are listed per county with an optional `zone` (the id of the township or
//!   village that holds the reservoir's water; blank: the county). A reservoir's storage goes
//!   in full to that host zone and to every zone above it; a zone below the host gets the
//!   share of the host's water area (ecosystem type `water`) that lies in it (flag
//!   `allocated_by_water_area`), or of its land area when the land cover shows no water in
//!   the host (a reservoir smaller than the cells; flags `allocated_by_land_area`,
//!   `no_water_cells`). A zone's reservoir row has the ecosystem type `water`.
//! - **Capped removal**: a county's capacity U (Σ rate × area over the county) is compared
//!   with what the county emitted, E. When U > E every zone of the county (the county,
//!   its townships and villages) keeps U_zone × E/U — the capped amount allocated in
//!   proportion to uncapped removal — flagged `capped`.

use crate::services::ServiceValue;
use crate::ModelError;
use gep_core::parameters::{Lookup, Parameter, ParameterSet};
use gep_core::physical_unit::{value_per_year, Unit};
use gep_core::{Catalog, ClassCode, CoreError};
use std::collections::{BTreeMap, HashMap};

/// One zone as the area-based services see it: its parent, its county and its class areas.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaZone {
    /// Zone id.
    pub id: String,
    /// Parent zone id (township of a village, county of a township).
    pub parent: Option<String>,
    /// County code of the zone (its own for a county).
    pub county: String,
    /// Area by land-cover class, m² (covered land).
    pub classes: Vec<(ClassCode, f64)>,
}

/// What the area-based services need besides their tables.
pub struct AreaContext<'a> {
    /// Parameters and prices.
    pub parameters: &'a ParameterSet,
    /// The zones, counties first or in any order.
    pub zones: &'a [AreaZone],
    /// The ecosystem types of a class with their shares (`[(None, 1.0)]` without a
    /// crosswalk).
    pub types_of: &'a dyn Fn(ClassCode) -> Vec<(Option<String>, f64)>,
}

/// A reservoir of the user's table.
#[derive(Debug, Clone, PartialEq)]
pub struct Reservoir {
    /// Its id in the table.
    pub id: String,
    /// Its name (may be blank).
    pub name: String,
    /// County code.
    pub county: String,
    /// The zone holding its water (township or village id); `None`: the county.
    pub zone: Option<String>,
    /// Total capacity, m³.
    pub capacity_m3: f64,
    /// Line in the table.
    pub line: usize,
}

/// The reservoirs table and the file it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ReservoirTable {
    /// The file (for messages and sources).
    pub file: String,
    /// Rows in file order.
    pub reservoirs: Vec<Reservoir>,
}

/// A pollutant removed by ecosystems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pollutant {
    /// Chemical oxygen demand (water).
    Cod,
    /// Ammonia nitrogen (water).
    Nh3n,
    /// Total phosphorus (water).
    Tp,
    /// Sulphur dioxide (air).
    So2,
    /// Nitrogen oxides (air).
    Nox,
    /// Dust (air).
    Dust,
}

/// Water (discharges) or air (emissions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Medium {
    /// `water_purification`: COD, NH3-N, TP.
    Water,
    /// `air_purification`: SO2, NOx, dust.
    Air,
}

impl Medium {
    /// The parent service code.
    pub fn service(self) -> &'static str {
        match self {
            Medium::Water => "water_purification",
            Medium::Air => "air_purification",
        }
    }

    /// The pollutants of the medium.
    pub fn pollutants(self) -> &'static [Pollutant] {
        match self {
            Medium::Water => &[Pollutant::Cod, Pollutant::Nh3n, Pollutant::Tp],
            Medium::Air => &[Pollutant::So2, Pollutant::Nox, Pollutant::Dust],
        }
    }

    /// What the table's amounts are (`discharged`, `emitted`).
    fn released(self) -> &'static str {
        match self {
            Medium::Water => "discharged",
            Medium::Air => "emitted",
        }
    }
}

impl Pollutant {
    /// Its name in tables and units (`COD`, `NH3-N`, `TP`, `SO2`, `NOx`, `dust`): also the
    /// substance tag of its units (`t SO2/a`).
    pub fn label(self) -> &'static str {
        match self {
            Pollutant::Cod => "COD",
            Pollutant::Nh3n => "NH3-N",
            Pollutant::Tp => "TP",
            Pollutant::So2 => "SO2",
            Pollutant::Nox => "NOx",
            Pollutant::Dust => "dust",
        }
    }

    /// The service code of its rows (`water_purification_cod`...).
    pub fn service(self) -> &'static str {
        match self {
            Pollutant::Cod => "water_purification_cod",
            Pollutant::Nh3n => "water_purification_nh3n",
            Pollutant::Tp => "water_purification_tp",
            Pollutant::So2 => "air_purification_so2",
            Pollutant::Nox => "air_purification_nox",
            Pollutant::Dust => "air_purification_dust",
        }
    }

    /// The medium it is released into.
    pub fn medium(self) -> Medium {
        match self {
            Pollutant::Cod | Pollutant::Nh3n | Pollutant::Tp => Medium::Water,
            _ => Medium::Air,
        }
    }

    /// Parses a table's pollutant name (case-insensitive; `NH3-N`, `NH3N`, `氨氮`...).
    pub fn parse(s: &str) -> Option<Pollutant> {
        let t: String = s
            .trim()
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .map(|c| match c {
                '₂' => '2',
                '₃' => '3',
                'ₓ' => 'x',
                c => c,
            })
            .collect::<String>()
            .to_ascii_lowercase();
        Some(match t.as_str() {
            "cod" => Pollutant::Cod,
            "nh3n" | "氨氮" => Pollutant::Nh3n,
            "tp" | "总磷" => Pollutant::Tp,
            "so2" | "二氧化硫" => Pollutant::So2,
            "nox" | "氮氧化物" => Pollutant::Nox,
            "dust" | "粉尘" => Pollutant::Dust,
            _ => return None,
        })
    }
}

/// A county's release of one pollutant.
#[derive(Debug, Clone, PartialEq)]
pub struct Emission {
    /// County code.
    pub county: String,
    /// The pollutant.
    pub pollutant: Pollutant,
    /// Amount released in the year, t.
    pub released_t: f64,
    /// Line in the table.
    pub line: usize,
}

/// A discharge (water) or emission (air) table.
#[derive(Debug, Clone, PartialEq)]
pub struct EmissionTable {
    /// The file.
    pub file: String,
    /// Water or air.
    pub medium: Medium,
    /// Rows in file order.
    pub rows: Vec<Emission>,
}

fn core(e: impl Into<CoreError>) -> ModelError {
    ModelError::Core(e.into())
}

/// A CSV with a header, `#` comments; columns by lower-case name.
struct Csv {
    file: String,
    headers: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
}

impl Csv {
    fn parse(text: &str, file: &str) -> Result<Csv, ModelError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let err = |line: usize, message: String| ModelError::Table {
            file: file.to_string(),
            line,
            message,
        };
        let mut rdr = csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .trim(csv::Trim::All)
            .flexible(false)
            .from_reader(text.as_bytes());
        let headers: Vec<String> = rdr
            .headers()
            .map_err(|e| err(1, format!("cannot read the header: {e}")))?
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        let mut rows = Vec::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line() as usize);
                err(line, format!("{e}"))
            })?;
            let line = rec.position().map_or(0, |p| p.line() as usize);
            rows.push((line, rec.iter().map(String::from).collect()));
        }
        Ok(Csv {
            file: file.to_string(),
            headers,
            rows,
        })
    }

    fn err(&self, line: usize, message: String) -> ModelError {
        ModelError::Table {
            file: self.file.clone(),
            line,
            message,
        }
    }

    fn column(&self, name: &str, what: &str) -> Result<usize, ModelError> {
        self.headers.iter().position(|h| h == name).ok_or_else(|| {
            self.err(
                1,
                format!(
                    "no column `{name}` ({what}); columns found: {}",
                    self.headers.join(", ")
                ),
            )
        })
    }

    fn opt_column(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }

    fn number(&self, line: usize, col: &str, s: &str) -> Result<f64, ModelError> {
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
            _ => Err(self.err(
                line,
                format!("{col} {s:?} is not a number ≥ 0; write a plain number (its unit goes in the `unit` column)"),
            )),
        }
    }
}

/// Reads the reservoirs table of flood regulation: columns `id`, `county`, `total_capacity`,
/// `unit` (a volume: `m3`, `万m3`, `10^4 m3`, `亿m3`), optional `name` and `zone`.
///
/// ```
/// use gep_models::area_services::read_reservoirs;
/// let t = read_reservoirs("id,name,county,zone,total_capacity,unit\nr1,A,330127,,250,万m3\n",
///     "reservoirs.csv").unwrap();
/// assert_eq!(t.reservoirs[0].capacity_m3, 2_500_000.0);
/// ```
///
/// # Errors
/// [`ModelError::Table`] naming the file, the line and the fix: a missing column, a
/// capacity that is not a number ≥ 0, a unit that is not a volume (`t`, `m2`), a duplicate id.
pub fn read_reservoirs(text: &str, file: &str) -> Result<ReservoirTable, ModelError> {
    let t = Csv::parse(text, file)?;
    let c_id = t.column("id", "the reservoir's id")?;
    let c_county = t.column("county", "the county code it lies in")?;
    let c_cap = t.column("total_capacity", "total storage capacity")?;
    let c_unit = t.column(
        "unit",
        "the unit of total_capacity: m3, 万m3 (10^4 m3) or 亿m3",
    )?;
    let c_name = t.opt_column("name");
    let c_zone = t.opt_column("zone");
    let m3 = Unit::parse("m3").map_err(core)?;
    let mut out: Vec<Reservoir> = Vec::new();
    for (line, r) in &t.rows {
        let line = *line;
        let id = r[c_id].clone();
        if id.is_empty() {
            return Err(t.err(line, "blank id; give every reservoir an id".into()));
        }
        if let Some(first) = out.iter().find(|x| x.id == id) {
            return Err(t.err(
                line,
                format!(
                    "duplicate reservoir id {id:?} (first on line {})",
                    first.line
                ),
            ));
        }
        let county = r[c_county].clone();
        if county.is_empty() {
            return Err(t.err(line, format!("reservoir {id:?} has no county code")));
        }
        let cap = t.number(line, "total_capacity", &r[c_cap])?;
        let unit = Unit::parse(&r[c_unit]).map_err(|e| {
            t.err(
                line,
                format!("flood_regulation: reservoir {id:?}: {e}; write m3, 万m3 or 亿m3"),
            )
        })?;
        let f = unit.factor_to(&m3).map_err(|_| {
            t.err(
                line,
                format!(
                    "flood_regulation: reservoir {id:?} has total_capacity in {:?}, which is not a volume; write the capacity in m3, 万m3 (10^4 m3) or 亿m3",
                    unit.as_str()
                ),
            )
        })?;
        let zone = c_zone.map(|c| r[c].clone()).filter(|z| !z.is_empty());
        out.push(Reservoir {
            id,
            name: c_name.map(|c| r[c].clone()).unwrap_or_default(),
            county,
            zone,
            capacity_m3: cap * f,
            line,
        });
    }
    Ok(ReservoirTable {
        file: file.to_string(),
        reservoirs: out,
    })
}

/// Reads a discharge (water) or emission (air) table: columns `county`, `pollutant`
/// (`COD`, `NH3-N`, `TP` for water; `SO2`, `NOx`, `dust` for air), `amount` and `unit` (a
/// mass per year: `t/a`, `kg/a`, `t`, `t SO2/a`...).
///
/// ```
/// use gep_models::area_services::{read_emissions, Medium, Pollutant};
/// let t = read_emissions("county,pollutant,amount,unit\n330127,SO2,1500,kg/a\n",
///     "emissions.csv", Medium::Air).unwrap();
/// assert_eq!((t.rows[0].pollutant, t.rows[0].released_t), (Pollutant::So2, 1.5));
/// ```
///
/// # Errors
/// [`ModelError::Table`] naming the file, the line and the fix: a missing column, an
/// unknown pollutant or one of the other medium, an amount that is not a number ≥ 0, a
/// unit that is not a mass (per year), the same county and pollutant twice.
pub fn read_emissions(text: &str, file: &str, medium: Medium) -> Result<EmissionTable, ModelError> {
    let t = Csv::parse(text, file)?;
    let c_county = t.column("county", "county code")?;
    let c_pol = t.column("pollutant", "COD, NH3-N, TP, SO2, NOx or dust")?;
    let c_amount = t.column("amount", "the amount released in the year")?;
    let c_unit = t.column("unit", "the unit of amount: t/a or kg/a")?;
    let names: Vec<&str> = medium.pollutants().iter().map(|p| p.label()).collect();
    let mut rows: Vec<Emission> = Vec::new();
    for (line, r) in &t.rows {
        let line = *line;
        let county = r[c_county].clone();
        if county.is_empty() {
            return Err(t.err(line, "blank county code".into()));
        }
        let pollutant = Pollutant::parse(&r[c_pol])
            .filter(|p| p.medium() == medium)
            .ok_or_else(|| {
                t.err(
                    line,
                    format!(
                        "{}: pollutant {:?} is not one of {}",
                        medium.service(),
                        r[c_pol],
                        names.join(", ")
                    ),
                )
            })?;
        let amount = t.number(line, "amount", &r[c_amount])?;
        let unit = Unit::parse(&r[c_unit]).map_err(|e| {
            t.err(
                line,
                format!("{}: {e}; write t/a or kg/a", pollutant.service()),
            )
        })?;
        let f = to_any(&unit, &mass_targets(pollutant, "a")).ok_or_else(|| {
            t.err(
                line,
                format!(
                    "{}: {} amount in {:?}, which is not a mass per year; write t/a or kg/a (t {}/a)",
                    pollutant.service(),
                    pollutant.label(),
                    unit.as_str(),
                    pollutant.label()
                ),
            )
        })?;
        if let Some(first) = rows
            .iter()
            .find(|e| e.county == county && e.pollutant == pollutant)
        {
            return Err(t.err(
                line,
                format!(
                    "county {county} has a second {} row (first on line {}); give one amount per county and pollutant",
                    pollutant.label(),
                    first.line
                ),
            ));
        }
        rows.push(Emission {
            county,
            pollutant,
            released_t: amount * f,
            line,
        });
    }
    Ok(EmissionTable {
        file: file.to_string(),
        medium,
        rows,
    })
}

/// `t SUB/per`, `t/per`, and (a year's amount) `t SUB`, `t`: the units a pollutant's mass
/// per year may be written in.
fn mass_targets(p: Pollutant, per: &str) -> Vec<String> {
    let s = p.label();
    let mut v = vec![format!("t {s}/{per}"), format!("t/{per}")];
    if per == "a" {
        v.extend([format!("t {s}"), "t".to_string()]);
    }
    v
}

/// The factor from `unit` to the first of `targets` it converts to.
fn to_any(unit: &Unit, targets: &[String]) -> Option<f64> {
    targets
        .iter()
        .filter_map(|t| Unit::parse(t).ok())
        .find_map(|t| unit.factor_to(&t).ok())
}

/// Parameters used for one row.
struct Used<'a> {
    set: &'a ParameterSet,
    used: Vec<&'a Parameter>,
}

impl<'a> Used<'a> {
    fn new(set: &'a ParameterSet) -> Self {
        Used {
            set,
            used: Vec::new(),
        }
    }

    /// A parameter the set may lack (`None`: the type does not provide the service).
    fn find(&mut self, service: &str, name: &str, at: &Lookup<'_>) -> Option<&'a Parameter> {
        let p = self.set.get(service, name, at).ok()?;
        self.used.push(p);
        Some(p)
    }

    /// A parameter the formula needs.
    fn need(
        &mut self,
        service: &str,
        name: &str,
        at: &Lookup<'_>,
    ) -> Result<&'a Parameter, ModelError> {
        let p = self.set.get(service, name, at).map_err(core)?;
        self.used.push(p);
        Ok(p)
    }
}

/// `p`'s value in the first of `targets` it converts to; else an error naming the service,
/// the parameter and the unit wanted.
fn value_in(p: &Parameter, targets: &[String]) -> Result<f64, ModelError> {
    match to_any(&p.unit, targets) {
        Some(f) => Ok(p.value * f),
        None => {
            let want = Unit::parse(&targets[0]).map_err(core)?;
            let e = p
                .unit
                .factor_to_in(&want, &format!("{}: parameter {}", p.service, p.parameter))
                .err()
                .map(core);
            Err(e.unwrap_or_else(|| ModelError::InvalidConfig {
                what: format!(
                    "{}: parameter {} is in {}, not {}",
                    p.service, p.parameter, p.unit, targets[0]
                ),
            }))
        }
    }
}

fn flags_of(used: &[&Parameter]) -> Vec<String> {
    let mut flags: Vec<String> = Vec::new();
    for u in used {
        for f in u.account_flags() {
            if !flags.contains(&f) {
                flags.push(f);
            }
        }
    }
    flags
}

fn year(p: &Parameter) -> String {
    p.price_year
        .map_or("no price year".into(), |y| format!("{y} prices"))
}

fn source(set: &ParameterSet, price: &Parameter, used: &[&Parameter], extra: &str) -> String {
    let lines: Vec<String> = used
        .iter()
        .filter(|u| !std::ptr::eq(**u, price))
        .map(|u| format!("{} {}", u.parameter, u.line))
        .collect();
    format!(
        "{}; parameters (line): {}{extra}",
        price.cite(set),
        if lines.is_empty() {
            "none".into()
        } else {
            lines.join(", ")
        }
    )
}

/// A row from its parts; the value is quantity × price, checked to be 元/a.
#[allow(clippy::too_many_arguments)]
fn row(
    zone: &AreaZone,
    class: ClassCode,
    ty: &Option<String>,
    share: f64,
    service: &'static str,
    quantity: f64,
    quantity_unit: &str,
    price: &Parameter,
    method: String,
    source: String,
    flags: Vec<String>,
    area_m2: f64,
) -> Result<ServiceValue, ModelError> {
    let qu = Unit::parse(quantity_unit).map_err(core)?;
    let value = value_per_year(quantity, &qu, price.value, &price.unit, service).map_err(core)?;
    Ok(ServiceValue {
        zone_id: zone.id.clone(),
        class,
        ecosystem_type: ty.clone(),
        share,
        service,
        quantity,
        quantity_unit: quantity_unit.to_string(),
        price: price.value,
        price_unit: price.unit.as_str().to_string(),
        price_year: price.price_year,
        value_yuan: value,
        method,
        source,
        flags,
        area_m2,
    })
}

/// Whether `anc` is `z` or one of its ancestors.
fn is_at_or_above(by_id: &HashMap<&str, &AreaZone>, anc: &str, z: &str) -> bool {
    let mut cur = Some(z);
    let mut steps = 0;
    while let Some(c) = cur {
        if c == anc {
            return true;
        }
        cur = by_id.get(c).and_then(|z| z.parent.as_deref());
        steps += 1;
        if steps > 16 {
            break;
        }
    }
    false
}

/// Whether an ecosystem type is open water (`water` or a type under it in the catalogue).
fn is_water(cat: &Catalog, ty: &str) -> bool {
    ty == "water" || cat.ecosystem(ty).and_then(|e| e.parent.as_deref()) == Some("water")
}

/// Flood regulation: area storage of every type the set gives a `storage_depth` (marshes
/// 0.3 m; lakes or vegetation storm retention where the set defines them) and the flood
/// storage of the reservoirs of the table (`reservoir_share` × total capacity), valued at
/// the reservoir construction cost (`reservoir_cost`, 元/m³).
///
/// # Errors
/// A missing `reservoir_cost` (or `reservoir_share` when there are reservoirs); a set
/// without any flood-regulation quantity (no `storage_depth` row and no reservoirs); a
/// depth that is not a length, a cost that is not per m³; reservoirs without a crosswalk;
/// a reservoir whose zone is not in the run or not in its county.
pub fn flood_regulation(
    ctx: &AreaContext<'_>,
    reservoirs: Option<&ReservoirTable>,
) -> Result<Vec<ServiceValue>, ModelError> {
    const S: &str = "flood_regulation";
    let set = ctx.parameters;
    let has_depth = set
        .parameters
        .iter()
        .any(|p| p.service == S && p.parameter == "storage_depth");
    if !has_depth && reservoirs.is_none_or(|r| r.reservoirs.is_empty()) {
        return Err(ModelError::InvalidConfig {
            what: format!(
                "flood_regulation needs a reservoirs table ([models.flood_regulation] reservoirs = \"reservoirs.csv\") or `storage_depth` rows (m, per ecosystem type: marshes 0.3 m) in parameter set {}; it has neither",
                set.id
            ),
        });
    }
    // The cost must exist even where nothing is stored.
    set.get(S, "reservoir_cost", &Lookup::default())
        .map_err(core)?;
    let mut out = Vec::new();
    let m = vec!["m".to_string()];
    for z in ctx.zones {
        for &(class, area) in &z.classes {
            for (ty, share) in (ctx.types_of)(class) {
                let at = Lookup {
                    county: Some(&z.county),
                    class: Some(class),
                    ecosystem_type: ty.as_deref(),
                };
                let mut u = Used::new(set);
                let Some(d) = u.find(S, "storage_depth", &at) else {
                    continue;
                };
                let depth = value_in(d, &m)?;
                let price = u.need(S, "reservoir_cost", &at)?;
                let q = depth * area * share;
                let what = match ty.as_deref() {
                    Some("wetland") => "marsh storage",
                    Some(t) if is_water(Catalog::builtin(), t) => "lake storage",
                    _ => "vegetation storm retention",
                };
                let method = format!(
                    "{what}: depth {depth} m × area; × reservoir cost {} {} ({})",
                    price.value,
                    price.unit,
                    year(price)
                );
                let flags = flags_of(&u.used);
                let src = source(set, price, &u.used, "");
                out.push(row(
                    z,
                    class,
                    &ty,
                    share,
                    S,
                    q,
                    "m3/a",
                    price,
                    method,
                    src,
                    flags,
                    area * share,
                )?);
            }
        }
    }
    let Some(table) = reservoirs else {
        return Ok(out);
    };
    let cat = Catalog::builtin();
    let by_id: HashMap<&str, &AreaZone> = ctx.zones.iter().map(|z| (z.id.as_str(), z)).collect();
    // Water area of each zone, its largest water class, its covered area and largest class.
    struct Areas {
        water: f64,
        water_class: Option<(ClassCode, f64)>,
        land: f64,
        land_class: Option<(ClassCode, f64)>,
    }
    let mut areas: HashMap<&str, Areas> = HashMap::new();
    for z in ctx.zones {
        let mut a = Areas {
            water: 0.0,
            water_class: None,
            land: 0.0,
            land_class: None,
        };
        for &(class, area) in &z.classes {
            a.land += area;
            if a.land_class.is_none_or(|(_, x)| area > x) {
                a.land_class = Some((class, area));
            }
            let mut w = 0.0;
            for (ty, share) in (ctx.types_of)(class) {
                match ty.as_deref() {
                    None => {
                        return Err(ModelError::InvalidConfig {
                            what: format!(
                                "flood_regulation: the reservoirs of {} are placed on water cells, found through the crosswalk's ecosystem types; give the coefficient set a crosswalk",
                                table.file
                            ),
                        })
                    }
                    Some(t) if is_water(cat, t) => w += area * share,
                    _ => {}
                }
            }
            if w > 0.0 {
                a.water += w;
                if a.water_class.is_none_or(|(_, x)| w > x) {
                    a.water_class = Some((class, w));
                }
            }
        }
        areas.insert(z.id.as_str(), a);
    }
    let water_type = Some("water".to_string());
    for r in &table.reservoirs {
        if !ctx.zones.iter().any(|z| z.county == r.county) {
            continue; // a county outside the run
        }
        let host = r.zone.as_deref().unwrap_or(&r.county);
        let Some(hz) = by_id.get(host) else {
            return Err(ModelError::Table {
                file: table.file.clone(),
                line: r.line,
                message: format!(
                    "flood_regulation: reservoir {:?} lies in zone {host:?}, which is not a zone of the run (county {}); give the id of the county, township or village that holds its water",
                    r.id, r.county
                ),
            });
        };
        if hz.county != r.county {
            return Err(ModelError::Table {
                file: table.file.clone(),
                line: r.line,
                message: format!(
                    "flood_regulation: reservoir {:?}: zone {host:?} lies in county {}, not in county {}",
                    r.id, hz.county, r.county
                ),
            });
        }
        // Spread below the host by water area; by land area when the land cover shows no
        // water there (a reservoir smaller than the cells).
        let by_water = areas[host].water > 0.0;
        let weight = |id: &str| -> f64 {
            let a = &areas[id];
            if by_water {
                a.water
            } else {
                a.land
            }
        };
        let host_weight = weight(host);
        if host_weight <= 0.0 {
            continue;
        }
        let lk = Lookup {
            county: Some(&r.county),
            ..Default::default()
        };
        let mut u0 = Used::new(set);
        let share_p = u0.need(S, "reservoir_share", &lk)?;
        let rs = value_in(share_p, &["1".to_string()])?;
        let storage = rs * r.capacity_m3;
        for z in ctx.zones.iter().filter(|z| z.county == r.county) {
            let (fraction, allocated) = if is_at_or_above(&by_id, &z.id, host) {
                (1.0, false)
            } else if is_at_or_above(&by_id, host, &z.id) {
                (weight(&z.id) / host_weight, true)
            } else {
                continue;
            };
            if fraction <= 0.0 {
                continue;
            }
            // One row per zone, ecosystem type water, on its largest water class (or its
            // largest class when it has no water cells).
            let a = &areas[z.id.as_str()];
            let Some((class, _)) = a.water_class.or(a.land_class) else {
                continue;
            };
            let q = storage * fraction;
            let at = Lookup {
                county: Some(&z.county),
                class: Some(class),
                ecosystem_type: water_type.as_deref(),
            };
            let mut u = Used::new(set);
            u.used.push(share_p);
            let price = u.need(S, "reservoir_cost", &at)?;
            let mut flags = flags_of(&u.used);
            flags.push("reservoir_table".into());
            if allocated {
                flags.push(if by_water {
                    "allocated_by_water_area".into()
                } else {
                    "allocated_by_land_area".into()
                });
            }
            if !by_water {
                flags.push("no_water_cells".into());
            }
            let method = format!(
                "reservoir {}{}: {rs} × total capacity {} m3 = {storage} m3 flood storage, in zone {host}{}; × reservoir cost {} {} ({})",
                r.id,
                if r.name.is_empty() { String::new() } else { format!(" ({})", r.name) },
                r.capacity_m3,
                match (allocated, by_water) {
                    (false, _) => String::new(),
                    (true, true) => format!(", share {fraction:.6} of its water area here"),
                    (true, false) => format!(
                        ", share {fraction:.6} of its land area here (the land cover shows no water in zone {host})"
                    ),
                },
                price.value,
                price.unit,
                year(price)
            );
            let src = source(
                set,
                price,
                &u.used,
                &format!("; reservoirs {} line {}", table.file, r.line),
            );
            // The area is counted by the area rows, not once per reservoir.
            out.push(row(
                z,
                class,
                &water_type,
                1.0,
                S,
                q,
                "m3/a",
                price,
                method,
                src,
                flags,
                0.0,
            )?);
        }
    }
    Ok(out)
}

/// Water or air purification: per pollutant of the table, removal = `rate` × area by
/// ecosystem type (types without a rate remove nothing), capped at the county's release;
/// when capped, every zone of the county keeps its uncapped removal × E/U (flag `capped`).
/// Valued at the pollutant's `price` (元/t).
///
/// # Errors
/// A pollutant of the table without any `rate` row or without a `price`; a rate that is
/// not a mass per area per year (`kg/(ha·a)`, `t/(ha·a)`); a price that is not per mass; a
/// county of the run without a row for a pollutant of the table.
pub fn purification(
    ctx: &AreaContext<'_>,
    table: &EmissionTable,
) -> Result<Vec<ServiceValue>, ModelError> {
    let set = ctx.parameters;
    let medium = table.medium;
    let mut out = Vec::new();
    for &pol in medium.pollutants() {
        if !table.rows.iter().any(|e| e.pollutant == pol) {
            continue;
        }
        let s = pol.service();
        if !set
            .parameters
            .iter()
            .any(|p| p.service == s && p.parameter == "rate")
        {
            return Err(ModelError::InvalidConfig {
                what: format!(
                    "{s}: {} lists {} {}, but parameter set {} has no `rate` of {s} (t or kg {} per ha per year, per ecosystem type); add the rates or drop the pollutant from the table",
                    table.file,
                    pol.label(),
                    medium.released(),
                    set.id,
                    pol.label()
                ),
            });
        }
        set.get(s, "price", &Lookup::default()).map_err(core)?;
        let rate_units = mass_targets(pol, "(ha·a)");
        // Uncapped removal of every zone × class × type.
        struct Part<'a> {
            zone: &'a AreaZone,
            class: ClassCode,
            ty: Option<String>,
            share: f64,
            area: f64,
            rate: f64,
            removal: f64,
            used: Vec<&'a Parameter>,
        }
        let mut parts: Vec<Part<'_>> = Vec::new();
        for z in ctx.zones {
            for &(class, area) in &z.classes {
                for (ty, share) in (ctx.types_of)(class) {
                    let at = Lookup {
                        county: Some(&z.county),
                        class: Some(class),
                        ecosystem_type: ty.as_deref(),
                    };
                    let mut u = Used::new(set);
                    let Some(r) = u.find(s, "rate", &at) else {
                        continue;
                    };
                    let rate = value_in(r, &rate_units)?;
                    let a_ha = area * share / gep_core::units::M2_PER_HA;
                    parts.push(Part {
                        zone: z,
                        class,
                        ty,
                        share,
                        area: area * share,
                        rate,
                        removal: rate * a_ha,
                        used: u.used,
                    });
                }
            }
        }
        // The county's capacity: over the zones of the county that have no parent in it.
        let by_id: HashMap<&str, &AreaZone> =
            ctx.zones.iter().map(|z| (z.id.as_str(), z)).collect();
        let mut capacity: BTreeMap<&str, f64> = BTreeMap::new();
        for z in ctx.zones {
            capacity.entry(z.county.as_str()).or_insert(0.0);
        }
        for p in &parts {
            let top = p
                .zone
                .parent
                .as_deref()
                .and_then(|q| by_id.get(q))
                .is_none_or(|q| q.county != p.zone.county);
            if top {
                *capacity.entry(p.zone.county.as_str()).or_insert(0.0) += p.removal;
            }
        }
        let mut factor: BTreeMap<&str, (f64, f64, f64)> = BTreeMap::new();
        for (&c, &u) in &capacity {
            let e = table
                .rows
                .iter()
                .find(|e| e.county == c && e.pollutant == pol)
                .ok_or_else(|| ModelError::InvalidConfig {
                    what: format!(
                        "{s}: county {c} has no {} row in {}: removal is capped at what the county {}; add `{c},{},<amount>,t/a`",
                        pol.label(),
                        table.file,
                        medium.released(),
                        pol.label()
                    ),
                })?;
            let f = cap_factor(u, e.released_t);
            factor.insert(c, (f, u, e.released_t));
        }
        for p in parts {
            let (f, u_c, e_c) = factor[p.zone.county.as_str()];
            let at = Lookup {
                county: Some(&p.zone.county),
                class: Some(p.class),
                ecosystem_type: p.ty.as_deref(),
            };
            let mut u = Used { set, used: p.used };
            let price = u.need(s, "price", &at)?;
            let mut flags = flags_of(&u.used);
            if f < 1.0 {
                flags.push("capped".into());
            }
            let q = p.removal * f;
            let unit = format!("t {}/a", pol.label());
            // A price per t of the pollutant, or per untagged t.
            let tagged = Unit::parse(&unit).map_err(core)?;
            let qu = if tagged
                .mul(&price.unit)
                .factor_to(&Unit::parse("元/a").map_err(core)?)
                .is_ok()
            {
                unit.clone()
            } else {
                "t/a".to_string()
            };
            let method = format!(
                "removal = rate {} t/(ha·a) × area = {} t; county {}: capacity {u_c} t, {} {e_c} t{}; × price {} {} ({})",
                p.rate,
                p.removal,
                p.zone.county,
                medium.released(),
                if f < 1.0 {
                    format!(" → capped: × {f} (capped amount allocated by uncapped removal)")
                } else {
                    " → not capped".into()
                },
                price.value,
                price.unit,
                year(price)
            );
            let src = source(
                set,
                price,
                &u.used,
                &format!("; {} {}", medium.released(), table.file),
            );
            let mut r = row(
                p.zone, p.class, &p.ty, p.share, s, q, &qu, price, method, src, flags, p.area,
            )?;
            r.quantity_unit = unit;
            out.push(r);
        }
    }
    Ok(out)
}

/// The share of its removal capacity a county keeps when it released less than its
/// ecosystems could remove: min(1, E/U) (GEP-METHOD §7: Σ min(emission, rate × area); the
/// ecosystems cannot clean what nobody released). 1 when U is 0.
///
/// ```
/// use gep_models::area_services::cap_factor;
/// // 4 t of capacity, 3 t emitted: each zone keeps 3/4 of its removal
/// assert_eq!(cap_factor(4.0, 3.0), 0.75);
/// assert_eq!(cap_factor(1.0, 3.0), 1.0);
/// ```
pub fn cap_factor(capacity_t: f64, released_t: f64) -> f64 {
    if capacity_t > released_t {
        released_t / capacity_t
    } else {
        1.0
    }
}

/// Ions in a cubic metre per ion in a cubic centimetre.
const CM3_PER_M3: f64 = 1e6;

/// Negative air ions produced in a year: Q·A·H over a lifetime L, N = Q·A·H·(1 a/L)
/// (GEP-METHOD §7: 5.256×10¹⁵ Σ Q·A·H/L with Q in ions/cm³, A in ha, H in m, L in min).
///
/// ```
/// use gep_models::area_services::negative_ions_per_year;
/// // 1000 ions/cm3 over 1 ha, 10 m high, lifetime 10 min: 5.256e15 × 1000 × 1 × 10 / 10
/// let n = negative_ions_per_year(1000.0, 1e4, 10.0, 10.0);
/// assert!((n / 5.256e18 - 1.0).abs() < 1e-12);
/// ```
///
/// # Units
/// ions/a from ions/cm³, m², m and minutes.
pub fn negative_ions_per_year(
    concentration_per_cm3: f64,
    area_m2: f64,
    height_m: f64,
    lifetime_min: f64,
) -> f64 {
    let minutes_per_year = gep_core::physical_unit::S_PER_A / 60.0;
    concentration_per_cm3 * CM3_PER_M3 * area_m2 * height_m * minutes_per_year / lifetime_min
}

/// Negative air ions: for every type the set gives a `concentration` (ions/cm³), N =
/// Q·A·H/L with `stand_height` H (m) and `lifetime` L, valued at `price` (元/(10^18 ions)).
/// A set without any `negative_air_ions` row gives no rows, unless `required` (the config
/// asks for the service): then the error names every parameter needed.
///
/// # Errors
/// `required` and no parameters; a type with a concentration but no `stand_height`; no
/// `lifetime` or `price`; units that are not ions per volume, a length, a time, money per
/// ion.
pub fn negative_air_ions(
    ctx: &AreaContext<'_>,
    required: bool,
) -> Result<Vec<ServiceValue>, ModelError> {
    const S: &str = "negative_air_ions";
    let set = ctx.parameters;
    if !set.has_service(S) {
        if required {
            return Err(ModelError::InvalidConfig {
                what: format!(
                    "negative_air_ions is asked for ([models.negative_air_ions]) but parameter set {} has none of its parameters: add `concentration` (ions/cm3, per ecosystem type), `stand_height` (m, per type), `lifetime` (min) and `price` (元/(10^18 ions), with its price year)",
                    set.id
                ),
            });
        }
        return Ok(Vec::new());
    }
    let lk = Lookup::default();
    if !set
        .parameters
        .iter()
        .any(|p| p.service == S && p.parameter == "concentration")
    {
        set.get(S, "concentration", &lk).map_err(core)?;
    }
    set.get(S, "lifetime", &lk).map_err(core)?;
    set.get(S, "price", &lk).map_err(core)?;
    let mut out = Vec::new();
    for z in ctx.zones {
        for &(class, area) in &z.classes {
            for (ty, share) in (ctx.types_of)(class) {
                let at = Lookup {
                    county: Some(&z.county),
                    class: Some(class),
                    ecosystem_type: ty.as_deref(),
                };
                let mut u = Used::new(set);
                let Some(c) = u.find(S, "concentration", &at) else {
                    continue;
                };
                let q = value_in(c, &["ions/cm3".to_string()])?;
                let h = value_in(u.need(S, "stand_height", &at)?, &["m".to_string()])?;
                let l = value_in(u.need(S, "lifetime", &at)?, &["min".to_string()])?;
                let price = u.need(S, "price", &at)?;
                let n = negative_ions_per_year(q, area * share, h, l);
                let method = format!(
                    "N = Q·A·H·(525600 min/a)/L, Q = {q} ions/cm3, H = {h} m, L = {l} min; × price {} {} ({})",
                    price.value,
                    price.unit,
                    year(price)
                );
                let flags = flags_of(&u.used);
                let src = source(set, price, &u.used, "");
                out.push(row(
                    z,
                    class,
                    &ty,
                    share,
                    S,
                    n,
                    "ions/a",
                    price,
                    method,
                    src,
                    flags,
                    area * share,
                )?);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "# id = \"t\"\n# version = \"1\"\nservice,parameter,key,value,unit,price_year,low,high,verified,flags,source\n";

    fn set(rows: &str) -> ParameterSet {
        ParameterSet::from_csv_str(&format!("{HEAD}{rows}"), "t.csv").unwrap()
    }

    /// County 330127 = township 330127001 = villages 330127001001 + 330127001002.
    /// Class 1 forest, class 5 water, class 6 wetland.
    fn zones() -> Vec<AreaZone> {
        let z = |id: &str, parent: Option<&str>, classes: Vec<(ClassCode, f64)>| AreaZone {
            id: id.into(),
            parent: parent.map(String::from),
            county: "330127".into(),
            classes,
        };
        vec![
            z("330127", None, vec![(1, 3e6), (5, 4e5), (6, 2e5)]),
            z(
                "330127001",
                Some("330127"),
                vec![(1, 3e6), (5, 4e5), (6, 2e5)],
            ),
            z(
                "330127001001",
                Some("330127001"),
                vec![(1, 1e6), (5, 1e5), (6, 2e5)],
            ),
            z("330127001002", Some("330127001"), vec![(1, 2e6), (5, 3e5)]),
        ]
    }

    fn types(c: ClassCode) -> Vec<(Option<String>, f64)> {
        let t = match c {
            1 => "forest",
            5 => "water",
            _ => "wetland",
        };
        vec![(Some(t.to_string()), 1.0)]
    }

    fn ctx<'a>(s: &'a ParameterSet, z: &'a [AreaZone]) -> AreaContext<'a> {
        AreaContext {
            parameters: s,
            zones: z,
            types_of: &types,
        }
    }

    fn by_zone(rows: &[ServiceValue], service: &str) -> BTreeMap<String, (f64, f64)> {
        let mut m: BTreeMap<String, (f64, f64)> = BTreeMap::new();
        for r in rows.iter().filter(|r| r.service == service) {
            let e = m.entry(r.zone_id.clone()).or_default();
            e.0 += r.quantity;
            e.1 += r.value_yuan;
        }
        m
    }

    fn rolls_up(m: &BTreeMap<String, (f64, f64)>) {
        let c = m["330127"];
        let t = m["330127001"];
        let v1 = m.get("330127001001").copied().unwrap_or_default();
        let v2 = m.get("330127001002").copied().unwrap_or_default();
        for (a, b) in [
            (c.0, v1.0 + v2.0),
            (c.1, v1.1 + v2.1),
            (t.0, c.0),
            (t.1, c.1),
        ] {
            assert!(
                (a - b).abs() <= 1e-9 * a.abs().max(1.0),
                "{a} vs {b}: {m:?}"
            );
        }
    }

    const FLOOD: &str = "flood_regulation,reservoir_cost,*,7.06,元/m3,2010,6.11,8.47,true,,G\n\
flood_regulation,reservoir_share,*,0.35,1,,,,true,,G\n\
flood_regulation,storage_depth,wetland,0.3,m,,,,true,,G\n";

    #[test]
    fn flood_regulation_by_hand_and_villages_roll_up() {
        let s = set(FLOOD);
        let z = zones();
        // Reservoir of 250 万m3 in the county (no zone): 0.35 × 2,500,000 = 875,000 m3.
        let t = read_reservoirs(
            "id,name,county,zone,total_capacity,unit\nr1,A,330127,,250,万m3\n",
            "res.csv",
        )
        .unwrap();
        let rows = flood_regulation(&ctx(&s, &z), Some(&t)).unwrap();
        let m = by_zone(&rows, "flood_regulation");
        // County: reservoir 875,000 + marsh 0.3 m × 200,000 m2 = 60,000 → 935,000 m3;
        // × 7.06 = 6,601,100 元/a.
        assert!((m["330127"].0 - 935_000.0).abs() < 1e-6, "{m:?}");
        assert!((m["330127"].1 - 6_601_100.0).abs() < 1e-3);
        // Village 1 holds 100,000 of the 400,000 m2 of water: 875,000 / 4 = 218,750
        // + its marsh 60,000 = 278,750 m3; village 2: 3/4 → 656,250 m3, no marsh.
        assert!((m["330127001001"].0 - 278_750.0).abs() < 1e-6);
        assert!((m["330127001002"].0 - 656_250.0).abs() < 1e-6);
        rolls_up(&m);
        let alloc = rows.iter().find(|r| r.zone_id == "330127001002").unwrap();
        assert!(alloc.flags.contains(&"allocated_by_water_area".to_string()));
        assert_eq!(
            (alloc.quantity_unit.as_str(), alloc.price_year),
            ("m3/a", Some(2010))
        );
    }

    #[test]
    fn a_reservoir_placed_in_a_village_stays_there() {
        let s = set(FLOOD);
        let z = zones();
        let t = read_reservoirs(
            "id,county,zone,total_capacity,unit\nr1,330127,330127001001,1,10^4 m3\n",
            "res.csv",
        )
        .unwrap();
        let rows = flood_regulation(&ctx(&s, &z), Some(&t)).unwrap();
        let m = by_zone(&rows, "flood_regulation");
        // 0.35 × 10,000 m3 = 3,500 m3, all in village 1 (plus its marsh 60,000).
        assert!((m["330127001001"].0 - 63_500.0).abs() < 1e-6);
        assert!(!m.contains_key("330127001002"));
        rolls_up(&m);
    }

    #[test]
    fn a_reservoir_where_the_land_cover_shows_no_water_is_spread_by_land_area() {
        let s = set(FLOOD);
        // Forest only: county 300 ha = village 1 (100 ha) + village 2 (200 ha).
        let z: Vec<AreaZone> = zones()
            .into_iter()
            .map(|mut z| {
                z.classes.retain(|(c, _)| *c == 1);
                z
            })
            .collect();
        let t = read_reservoirs(
            "id,county,total_capacity,unit\nr1,330127,1,10^4 m3\n",
            "res.csv",
        )
        .unwrap();
        let rows = flood_regulation(&ctx(&s, &z), Some(&t)).unwrap();
        let m = by_zone(&rows, "flood_regulation");
        // 3,500 m3: a third in village 1, two thirds in village 2.
        assert!((m["330127"].0 - 3_500.0).abs() < 1e-9);
        assert!((m["330127001001"].0 - 3_500.0 / 3.0).abs() < 1e-9);
        rolls_up(&m);
        assert!(rows
            .iter()
            .all(|r| r.flags.contains(&"no_water_cells".to_string())
                && r.ecosystem_type.as_deref() == Some("water")));
    }

    #[test]
    fn flood_regulation_errors_name_what_is_missing() {
        let z = zones();
        // No cost.
        let s = set("flood_regulation,storage_depth,wetland,0.3,m,,,,true,,G\n");
        let e = flood_regulation(&ctx(&s, &z), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("flood_regulation") && e.contains("reservoir_cost"),
            "{e}"
        );
        // Nothing to store.
        let s = set("flood_regulation,reservoir_cost,*,7.06,元/m3,2010,,,true,,G\n");
        let e = flood_regulation(&ctx(&s, &z), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("reservoirs") && e.contains("storage_depth"),
            "{e}"
        );
        // A depth in m2 and a cost per t.
        let s = set(&FLOOD.replace("0.3,m,", "0.3,m2,"));
        let e = flood_regulation(&ctx(&s, &z), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("storage_depth"), "{e}");
        let s = set(&FLOOD.replace("7.06,元/m3", "7.06,元/t"));
        let e = flood_regulation(&ctx(&s, &z), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("flood_regulation"), "{e}");
        // A capacity in t.
        let e = read_reservoirs(
            "id,county,total_capacity,unit\nr1,330127,250,t\n",
            "res.csv",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("res.csv line 2") && e.contains("not a volume") && e.contains("r1"),
            "{e}"
        );
        // No unit column.
        let e = read_reservoirs("id,county,total_capacity\nr1,330127,250\n", "res.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unit"), "{e}");
        // A zone that is not in the run.
        let s = set(FLOOD);
        let t = read_reservoirs(
            "id,county,zone,total_capacity,unit\nr1,330127,999,1,m3\n",
            "res.csv",
        )
        .unwrap();
        let e = flood_regulation(&ctx(&s, &z), Some(&t))
            .unwrap_err()
            .to_string();
        assert!(e.contains("res.csv line 2") && e.contains("999"), "{e}");
    }

    const AIR: &str = "air_purification_so2,rate,forest,100,kg SO2/(ha·a),,,,false,example,G\n\
air_purification_so2,price,*,1.2,元/kg SO2,2010,,,true,,G\n\
air_purification_dust,rate,forest,10,t/(ha·a),,,,false,example,G\n\
air_purification_dust,price,*,150,元/t,2010,,,true,,G\n";

    #[test]
    fn air_purification_capped_by_hand_and_villages_roll_up() {
        let s = set(AIR);
        let z = zones();
        // SO2: 100 kg/ha × 300 ha of forest = 30 t of capacity in the county; 12 t
        // emitted: capped, factor 0.4. Village 1 (100 ha): 10 t × 0.4 = 4 t; village 2:
        // 8 t. × 1200 元/t: county 14,400 元/a.
        // Dust: 10 t/ha × 300 ha = 3000 t < 5000 t emitted: not capped, × 150 = 450,000.
        let t = read_emissions(
            "county,pollutant,amount,unit\n330127,SO2,12000,kg/a\n330127,dust,5000,t/a\n",
            "em.csv",
            Medium::Air,
        )
        .unwrap();
        let rows = purification(&ctx(&s, &z), &t).unwrap();
        let so2 = by_zone(&rows, "air_purification_so2");
        assert!((so2["330127"].0 - 12.0).abs() < 1e-9, "{so2:?}");
        assert!((so2["330127"].1 - 14_400.0).abs() < 1e-6);
        assert!((so2["330127001001"].0 - 4.0).abs() < 1e-9);
        assert!((so2["330127001002"].0 - 8.0).abs() < 1e-9);
        rolls_up(&so2);
        let r = rows
            .iter()
            .find(|r| r.service == "air_purification_so2")
            .unwrap();
        assert!(r.flags.contains(&"capped".to_string()), "{:?}", r.flags);
        assert_eq!(r.quantity_unit, "t SO2/a");
        let dust = by_zone(&rows, "air_purification_dust");
        assert!((dust["330127"].0 - 3000.0).abs() < 1e-9);
        assert!((dust["330127"].1 - 450_000.0).abs() < 1e-6);
        rolls_up(&dust);
        assert!(rows
            .iter()
            .filter(|r| r.service == "air_purification_dust")
            .all(|r| !r.flags.contains(&"capped".to_string())));
        // NOx is not in the table: no rows.
        assert!(!rows.iter().any(|r| r.service == "air_purification_nox"));
    }

    #[test]
    fn water_purification_by_hand() {
        // COD: wetland 2 t/(ha·a) × 20 ha = 40 t, water 1 t/(ha·a) × 40 ha = 40 t: 80 t of
        // capacity, 20 t discharged: × 0.25 → 20 t × 700 元/t = 14,000 元/a.
        let s = set(
            "water_purification_cod,rate,wetland,2,t COD/(ha·a),,,,false,example,G\n\
water_purification_cod,rate,water,1,t/(ha·a),,,,false,example,G\n\
water_purification_cod,price,*,700,元/t COD,2010,,,true,,G\n",
        );
        let z = zones();
        let t = read_emissions(
            "county,pollutant,amount,unit\n330127,COD,20,t/a\n",
            "dis.csv",
            Medium::Water,
        )
        .unwrap();
        let rows = purification(&ctx(&s, &z), &t).unwrap();
        let m = by_zone(&rows, "water_purification_cod");
        assert!((m["330127"].0 - 20.0).abs() < 1e-9);
        assert!((m["330127"].1 - 14_000.0).abs() < 1e-6);
        // Village 1: wetland 20 ha × 2 + water 10 ha × 1 = 50 t × 0.25 = 12.5 t.
        assert!((m["330127001001"].0 - 12.5).abs() < 1e-9);
        rolls_up(&m);
    }

    #[test]
    fn purification_errors_name_what_is_missing() {
        let z = zones();
        let t = |text: &str| read_emissions(text, "em.csv", Medium::Air);
        // kg is fine, m3 is not a mass.
        let e = t("county,pollutant,amount,unit\n330127,SO2,1,m3/a\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("em.csv line 2") && e.contains("air_purification_so2"),
            "{e}"
        );
        // COD is not an air pollutant.
        let e = t("county,pollutant,amount,unit\n330127,COD,1,t/a\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("COD") && e.contains("SO2, NOx, dust"), "{e}");
        // A rate per area without time is not a rate.
        let s = set(&AIR.replace("kg SO2/(ha·a)", "kg SO2/ha"));
        let tab = t("county,pollutant,amount,unit\n330127,SO2,1,t/a\n").unwrap();
        let e = purification(&ctx(&s, &z), &tab).unwrap_err().to_string();
        assert!(
            e.contains("air_purification_so2") && e.contains("rate"),
            "{e}"
        );
        // A price per m3.
        let s = set(&AIR.replace("1.2,元/kg SO2", "1.2,元/m3"));
        let e = purification(&ctx(&s, &z), &tab).unwrap_err().to_string();
        assert!(e.contains("air_purification_so2"), "{e}");
        // No rates for NOx.
        let tab = t("county,pollutant,amount,unit\n330127,NOx,1,t/a\n").unwrap();
        let e = purification(&ctx(&set(AIR), &z), &tab)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("air_purification_nox") && e.contains("rate"),
            "{e}"
        );
        // A county without a row.
        let tab = t("county,pollutant,amount,unit\n330100,SO2,1,t/a\n").unwrap();
        let e = purification(&ctx(&set(AIR), &z), &tab)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("330127") && e.contains("SO2") && e.contains("em.csv"),
            "{e}"
        );
    }

    const IONS: &str = "negative_air_ions,concentration,forest,1500,ions/cm3,,,,false,example,G\n\
negative_air_ions,stand_height,forest,10,m,,,,false,example,G\n\
negative_air_ions,lifetime,*,10,min,,,,false,example,G\n\
negative_air_ions,price,*,5.8185,元/(10^18 ions),2008,,,false,example,G\n";

    #[test]
    fn negative_air_ions_by_hand_and_villages_roll_up() {
        let s = set(IONS);
        let z = zones();
        let rows = negative_air_ions(&ctx(&s, &z), false).unwrap();
        let m = by_zone(&rows, "negative_air_ions");
        // County forest 300 ha: N = 5.256e15 × 1500 × 300 × 10 / 10 = 2.3652e21 ions/a;
        // × 5.8185 元 / 1e18 = 13,761.9162 元/a.
        let n = 5.256e15 * 1500.0 * 300.0 * 10.0 / 10.0;
        assert!((m["330127"].0 / n - 1.0).abs() < 1e-12, "{m:?}");
        assert!((m["330127"].1 - 13_761.916_2).abs() < 1e-3);
        rolls_up(&m);
        // Only forest has a concentration: water and wetland give no rows.
        assert!(rows
            .iter()
            .all(|r| r.ecosystem_type.as_deref() == Some("forest")));
    }

    #[test]
    fn negative_air_ions_absent_or_incomplete() {
        let z = zones();
        let none = set(FLOOD);
        assert!(negative_air_ions(&ctx(&none, &z), false)
            .unwrap()
            .is_empty());
        let e = negative_air_ions(&ctx(&none, &z), true)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("concentration") && e.contains("lifetime") && e.contains("price"),
            "{e}"
        );
        let no_height = set(&IONS.replace(
            "negative_air_ions,stand_height,forest,10,m,,,,false,example,G\n",
            "",
        ));
        let e = negative_air_ions(&ctx(&no_height, &z), false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("negative_air_ions") && e.contains("stand_height"),
            "{e}"
        );
        let per_ion_volume = set(&IONS.replace("1500,ions/cm3", "1500,ions"));
        let e = negative_air_ions(&ctx(&per_ion_volume, &z), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("concentration"), "{e}");
    }
}
