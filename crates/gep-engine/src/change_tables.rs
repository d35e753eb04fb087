//! The tables of change, appraisal and parcel valuations as CSV files (UTF-8 with a BOM, as
//! every gep table; numbers at full precision, ids as text): `transitions.csv`,
//! `net_change.csv`, `change.csv`, `appraisal.csv`, `footprint_pieces.csv`, `parcels.csv`,
//! `parcel_villages.csv`, `parcel_accounts.csv` and `package.csv`. Column lists are in
//! `docs/change.md`.

use crate::appraise::Appraisal;
use crate::parcels::ParcelAssessment;
use crate::EngineError;
use gep_core::change::{Change, ChangeRow, Effects};
use gep_core::transition::Transitions;
use gep_core::{ClassCode, Zone};
use std::fmt::Write as _;
use std::path::Path;

/// A CSV table being built in memory, then written in one go.
struct Table(String);

impl Table {
    fn new(columns: &[&str]) -> Table {
        let mut t = Table(String::from("\u{feff}"));
        t.row(columns.iter().map(|c| c.to_string()));
        t
    }

    fn row(&mut self, fields: impl IntoIterator<Item = String>) {
        for (i, f) in fields.into_iter().enumerate() {
            if i > 0 {
                self.0.push(',');
            }
            if f.contains([',', '"', '\n', '\r']) {
                write!(self.0, "\"{}\"", f.replace('"', "\"\"")).ok();
            } else {
                self.0.push_str(&f);
            }
        }
        self.0.push_str("\r\n");
    }

    fn write(self, path: &Path) -> Result<(), EngineError> {
        std::fs::write(path, self.0).map_err(|error| EngineError::File {
            path: path.to_path_buf(),
            error,
        })
    }
}

/// A number at full precision (shortest round-trip form); blank for `None`.
fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{x:?}")).unwrap_or_default()
}

fn class(c: Option<ClassCode>) -> String {
    c.map(|c| c.to_string()).unwrap_or_else(|| "nodata".into())
}

/// Writes `transitions.csv` (zone × from class × to class, m²) and `net_change.csv` (zone ×
/// class: area in each year and the change, m²) into `dir`.
///
/// # Errors
/// When a file cannot be written, or `t` is not the table of `zones`.
pub fn write_transitions(dir: &Path, zones: &[Zone], t: &Transitions) -> Result<(), EngineError> {
    if zones.len() != t.zones.len() || zones.iter().zip(&t.zone_ids).any(|(z, id)| z.id != *id) {
        return Err(EngineError::input(
            "the transition table is not of the zones given: pass the zones it was tallied for",
        ));
    }
    let mut tr = Table::new(&["zone_id", "zone_level", "from_class", "to_class", "area_m2"]);
    let mut net = Table::new(&[
        "zone_id",
        "zone_level",
        "class",
        "area0_m2",
        "area1_m2",
        "change_m2",
    ]);
    for (z, m) in zones.iter().zip(&t.zones) {
        for ((from, to), a) in &m.pairs {
            tr.row([
                z.id.clone(),
                z.level.to_string(),
                class(*from),
                class(*to),
                num(Some(a.to_m2())),
            ]);
        }
        let (y0, y1) = (m.year0(), m.year1());
        for (c, d) in m.net_change() {
            net.row([
                z.id.clone(),
                z.level.to_string(),
                c.to_string(),
                num(Some(
                    y0.classes.get(&c).copied().unwrap_or_default().to_m2(),
                )),
                num(Some(
                    y1.classes.get(&c).copied().unwrap_or_default().to_m2(),
                )),
                num(Some(d.to_m2())),
            ]);
        }
    }
    tr.write(&dir.join("transitions.csv"))?;
    net.write(&dir.join("net_change.csv"))
}

const EFFECT_COLUMNS: [&str; 7] = [
    "value0_yuan",
    "value1_yuan",
    "change_yuan",
    "land_effect_yuan",
    "price_effect_yuan",
    "interaction_yuan",
    "input_effect_yuan",
];

fn effects(e: Option<&Effects>) -> Vec<String> {
    match e {
        None => vec![String::new(); 7],
        Some(e) => vec![
            num(Some(e.value0_yuan)),
            num(Some(e.value1_yuan)),
            num(Some(e.total_yuan)),
            num(Some(e.land_yuan)),
            num(Some(e.price_yuan)),
            num(Some(e.interaction_yuan)),
            num(e.input_yuan),
        ],
    }
}

fn change_table(change: &Change, keep: &dyn Fn(&ChangeRow) -> bool) -> Table {
    let mut cols = vec![
        "zone_id",
        "zone_level",
        "year0",
        "year1",
        "ecosystem_type",
        "service",
        "area0_ha",
        "area1_ha",
        "unit_value0",
        "unit_value1",
        "price_year0",
        "price_year1",
    ];
    cols.extend(EFFECT_COLUMNS);
    cols.push("real_price_year");
    let real: Vec<String> = EFFECT_COLUMNS.iter().map(|c| format!("real_{c}")).collect();
    cols.extend(real.iter().map(String::as_str));
    cols.push("flags");
    let mut t = Table::new(&cols);
    let year = |y: Option<i32>| y.map(|y| y.to_string()).unwrap_or_default();
    for r in change.rows.iter().filter(|r| keep(r)) {
        let mut f = vec![
            r.zone_id.clone(),
            r.zone_level.to_string(),
            change.year0.to_string(),
            change.year1.to_string(),
            r.ecosystem_type.clone().unwrap_or_else(|| "*".into()),
            r.service.clone().unwrap_or_else(|| "GEP".into()),
            num(r.area0_ha),
            num(r.area1_ha),
            num(r.unit_value0),
            num(r.unit_value1),
            year(change.price_year0),
            year(change.price_year1),
        ];
        f.extend(effects(Some(&r.nominal)));
        f.push(year(change.real_price_year));
        f.extend(effects(r.real.as_ref()));
        f.push(r.flags.clone());
        t.row(f);
    }
    t
}

/// Writes `change.csv`: every row of `change` (zone × type × service, zone × service with
/// type `*`, zone GEP with service `GEP`), nominal and (when asked) real effects.
///
/// # Errors
/// When the file cannot be written.
pub fn write_change(dir: &Path, change: &Change) -> Result<(), EngineError> {
    change_table(change, &|_| true).write(&dir.join("change.csv"))
}

/// Writes `appraisal.csv` (the change rows of the affected zones only) and
/// `footprint_pieces.csv` (footprint × zone: converted area and new class).
///
/// # Errors
/// When a file cannot be written.
pub fn write_appraisal(dir: &Path, a: &Appraisal) -> Result<(), EngineError> {
    change_table(&a.change, &|r| a.affected.contains(&r.zone_id))
        .write(&dir.join("appraisal.csv"))?;
    let mut t = Table::new(&[
        "footprint_id",
        "zone_id",
        "zone_level",
        "converted_m2",
        "new_class",
    ]);
    for p in &a.pieces {
        t.row([
            p.footprint_id.clone(),
            p.zone_id.clone(),
            p.zone_level.to_string(),
            num(Some(p.converted_m2)),
            p.new_class.to_string(),
        ]);
    }
    t.write(&dir.join("footprint_pieces.csv"))
}

/// Writes `parcels.csv`, `parcel_villages.csv`, `parcel_accounts.csv` (when valued) and
/// `package.csv` (one row per quantity of the package total).
///
/// # Errors
/// When a file cannot be written.
pub fn write_parcels(dir: &Path, a: &ParcelAssessment) -> Result<(), EngineError> {
    let mut t = Table::new(&[
        "parcel_id",
        "name",
        "polygon_area_m2",
        "covered_area_m2",
        "nodata_area_m2",
        "outside_raster_area_m2",
        "smaller_than_cell",
        "villages",
        "outside_villages_m2",
        "gep_yuan",
        "area_basis",
    ]);
    for p in &a.parcels {
        t.row([
            p.parcel_id.clone(),
            p.name.clone(),
            num(Some(p.polygon_area_m2)),
            num(Some(p.covered_area_m2)),
            num(Some(p.nodata_area_m2)),
            num(Some(p.outside_raster_area_m2)),
            p.smaller_than_cell.to_string(),
            p.villages.to_string(),
            num(Some(p.outside_villages_m2)),
            num(p.gep_yuan),
            a.area_basis.as_str().to_string(),
        ]);
    }
    t.write(&dir.join("parcels.csv"))?;
    let mut t = Table::new(&[
        "parcel_id",
        "village_id",
        "village_name",
        "area_m2",
        "covered_area_m2",
        "share",
        "gep_yuan",
    ]);
    for v in &a.villages {
        t.row([
            v.parcel_id.clone(),
            v.village_id.clone(),
            v.village_name.clone(),
            num(Some(v.area_m2)),
            num(Some(v.covered_area_m2)),
            num(Some(v.share)),
            num(v.gep_yuan),
        ]);
    }
    t.write(&dir.join("parcel_villages.csv"))?;
    if let Some(acc) = &a.accounts {
        let mut t = Table::new(&[
            "parcel_id",
            "year",
            "ecosystem_type",
            "service",
            "category",
            "area_ha",
            "quantity",
            "quantity_unit",
            "unit_value",
            "unit",
            "price_year",
            "value_yuan",
            "method",
            "source",
            "flags",
        ]);
        for r in &acc.rows {
            t.row([
                r.zone_id.to_string(),
                r.year.to_string(),
                r.ecosystem_type.to_string(),
                r.service.to_string(),
                r.category.as_str().to_string(),
                num(Some(r.area_ha)),
                num(r.quantity),
                r.quantity_unit.as_deref().unwrap_or("").to_string(),
                num(r.unit_value),
                r.unit.to_string(),
                r.price_year.map(|y| y.to_string()).unwrap_or_default(),
                num(r.value_yuan),
                r.method.to_string(),
                r.source.to_string(),
                r.flags.to_string(),
            ]);
        }
        t.write(&dir.join("parcel_accounts.csv"))?;
    }
    let p = &a.package;
    let mut t = Table::new(&["item", "key", "value", "unit"]);
    let mut put = |item: &str, key: &str, v: Option<f64>, unit: &str| {
        t.row([item.to_string(), key.to_string(), num(v), unit.to_string()]);
    };
    put("parcels", "", Some(p.parcels as f64), "count");
    put(
        "smaller_than_cell",
        "",
        Some(p.smaller_than_cell as f64),
        "count",
    );
    put("polygon_area", "", Some(p.polygon_area_m2), "m2");
    put("covered_area", "", Some(p.covered_area_m2), "m2");
    for (k, v) in &p.area_by_type_m2 {
        put("area", k, Some(*v), "m2");
    }
    for (k, (q, u)) in &p.quantity_by_service {
        put("quantity", k, Some(*q), u);
    }
    for (k, v) in &p.value_by_service_yuan {
        put("value", k, Some(*v), "元/a");
    }
    put("gep", "", p.gep_yuan, "元/a");
    t.write(&dir.join("package.csv"))
}
