//! CSV tables. Every table is UTF-8 with a byte-order mark (Excel on a Chinese Windows
//! otherwise reads it as GBK and garbles names; pandas reads it with `encoding="utf-8-sig"`).
//! Floats are written at full precision (shortest round-trip representation). Text fields that
//! a spreadsheet could read as a formula are neutralised ([`crate::neutralize()`]).

use crate::error::ReportError;
use crate::model::{ReportZone, ServicePivot, ServiceTotal, ZoneContext, ZoneDirectory};
use crate::neutralize::{is_formula_like, neutralize};
use serde::Serialize;
use std::borrow::Cow;
use std::io::Write;
use std::path::Path;

/// One row of `extent.csv`: a zone × land-cover class area.
#[derive(Debug, Clone, Serialize)]
pub struct ExtentRow<'a> {
    /// Zone id (text).
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub zone_id: &'a str,
    /// county, township or village.
    pub zone_level: &'a str,
    /// Land-cover class code as stored in the raster.
    pub class: i32,
    /// Covered area in m², full precision.
    pub area_m2: f64,
    /// The ecosystem type(s) the crosswalk maps the class to, `;`-separated codes (empty
    /// without a crosswalk).
    pub ecosystem_type: &'a str,
    /// Their Chinese names, `;`-separated.
    pub ecosystem_type_zh: &'a str,
    /// Their English names, `;`-separated.
    pub ecosystem_type_en: &'a str,
    /// Their shares of the class, `;`-separated (`1` for a class mapped whole).
    pub ecosystem_share: &'a str,
}

/// What a land-cover class is through a crosswalk, as `extent.csv` prints it: `;`-separated
/// lists, one item per ecosystem type the class maps to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClassTypes {
    /// Ecosystem type codes.
    pub codes: String,
    /// Chinese names.
    pub zh: String,
    /// English names.
    pub en: String,
    /// Shares of the class.
    pub shares: String,
}

impl ClassTypes {
    /// The ecosystem types of every class of `cw`, with their names from the catalogue.
    pub fn of_crosswalk(
        cw: &gep_core::crosswalk::Crosswalk,
    ) -> std::collections::BTreeMap<i32, ClassTypes> {
        let cat = gep_core::catalog::Catalog::builtin();
        cw.classes
            .iter()
            .map(|(class, m)| {
                let names = |f: fn(&gep_core::catalog::EcosystemType) -> &str| {
                    m.targets
                        .iter()
                        .map(|(t, _)| cat.ecosystem(t).map_or(t.as_str(), f))
                        .collect::<Vec<_>>()
                        .join(";")
                };
                let mut buf = ryu::Buffer::new();
                let shares = m
                    .targets
                    .iter()
                    .map(|(_, s)| {
                        if *s == 1.0 {
                            "1".to_string()
                        } else {
                            buf.format(*s).to_string()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(";");
                let types = ClassTypes {
                    codes: m
                        .targets
                        .iter()
                        .map(|(t, _)| t.as_str())
                        .collect::<Vec<_>>()
                        .join(";"),
                    zh: names(|e| e.zh.as_str()),
                    en: names(|e| e.en.as_str()),
                    shares,
                };
                (*class, types)
            })
            .collect()
    }
}

/// One row of `extent_types.csv`: a zone × ecosystem type area (land-cover classes mapped
/// through the crosswalk, split classes by their shares), with the type's names and where the
/// zone lies.
#[derive(Debug, Clone, Serialize)]
pub struct ExtentTypeRow<'a> {
    /// Zone id (text).
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub zone_id: &'a str,
    /// county, township or village.
    pub zone_level: &'a str,
    /// Ecosystem type code.
    pub ecosystem_type: &'a str,
    /// Its Chinese name (中文名).
    pub ecosystem_type_zh: &'a str,
    /// Its English name.
    pub ecosystem_type_en: &'a str,
    /// Area of the type in the zone, m², full precision.
    pub area_m2: f64,
    /// The same area in ha.
    pub area_ha: f64,
    /// The zone's name.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub name: &'a str,
    /// The county the zone lies in.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub county_id: &'a str,
    /// Its name.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub county_name: &'a str,
    /// The township the zone lies in.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub township_id: &'a str,
    /// Its name.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub township_name: &'a str,
}

/// One row of `zones.csv`.
#[derive(Debug, Clone, Serialize)]
pub struct ZoneRow<'a> {
    /// Zone id (text).
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub zone_id: &'a str,
    /// county, township or village.
    pub zone_level: &'a str,
    /// Display name.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub name: &'a str,
    /// Parent id, empty for roots.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub parent_id: &'a str,
    /// The zone's polygon area on the grid's area basis, m².
    pub polygon_area_m2: f64,
    /// Area over valid land-cover cells, m².
    pub covered_area_m2: f64,
    /// Area over nodata cells, m².
    pub nodata_area_m2: f64,
    /// Area beyond the raster, m².
    pub outside_raster_area_m2: f64,
    /// `planar` or `ellipsoidal`.
    pub area_basis: &'a str,
    /// The county the zone lies in (its own id for a county).
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub county_id: &'a str,
    /// Its name.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub county_name: &'a str,
    /// The township the zone lies in (its own id for a township; empty above it).
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub township_id: &'a str,
    /// Its name.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub township_name: &'a str,
}

/// One row of `checks.csv`.
#[derive(Debug, Clone, Serialize)]
pub struct CheckCsvRow<'a> {
    /// The parent zone.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub parent_id: &'a str,
    /// The children's level.
    pub level: &'a str,
    /// Class code, or empty for rows over all classes.
    pub class: Option<i32>,
    /// Parent's area of the class, m².
    pub parent_area_m2: f64,
    /// Σ children's area of the class, m².
    pub children_sum_m2: f64,
    /// parent − children, m².
    pub residual_m2: f64,
    /// sum, gap, overlap or spill.
    pub kind: &'a str,
    /// The two zones of an overlap row, `;`-separated (with an empty `parent_id`: two
    /// top-level zones claiming the same ground); empty for other rows.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub children: String,
}

/// One row of `failures.csv`: a unit of work (county) that failed, and why.
#[derive(Debug, Clone, Serialize)]
pub struct FailureRow {
    /// The county (or other top-level unit) id.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub unit_id: String,
    /// Its name.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub name: String,
    /// What went wrong and how to fix it (English, for machines).
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub reason: String,
    /// The same in Chinese (ids, names and numbers as in `reason`).
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub reason_zh: String,
}

/// Writes `rows` to `path` as CSV with a UTF-8 BOM and a header row.
pub fn write_csv<T: CsvRow>(
    path: &Path,
    rows: impl IntoIterator<Item = T>,
) -> Result<(), ReportError> {
    let mut w = bom_writer(path)?;
    let cerr = |source| ReportError::Csv {
        path: path.to_path_buf(),
        source,
    };
    // The header comes from the type, so an empty table still has its columns.
    w.write_record(T::COLUMNS).map_err(cerr)?;
    for row in rows {
        row.write_to(&mut w).map_err(cerr)?;
    }
    finish(w, path)
}

/// A row type of a CSV table, with its column names in serialisation order (checked against
/// serde's field names by this module's tests).
pub trait CsvRow: Serialize {
    /// The header.
    const COLUMNS: &'static [&'static str];

    /// Writes the row. Types whose text fields are not neutralised by their `Serialize`
    /// (those defined outside this crate) override this to neutralise them.
    fn write_to<W: Write>(&self, w: &mut csv::Writer<W>) -> csv::Result<()> {
        w.serialize(self)
    }
}

impl<T: CsvRow> CsvRow for &T {
    const COLUMNS: &'static [&'static str] = T::COLUMNS;

    fn write_to<W: Write>(&self, w: &mut csv::Writer<W>) -> csv::Result<()> {
        (**self).write_to(w)
    }
}

/// Replaces `text` (a `String`, or shared `Arc<str>` text) by its neutralised form when a
/// spreadsheet would read it as a formula.
fn neutralize_in_place<T: AsRef<str> + From<String>>(text: &mut T) {
    if let Cow::Owned(n) = neutralize(text.as_ref()) {
        *text = n.into();
    }
}

impl CsvRow for ExtentRow<'_> {
    const COLUMNS: &'static [&'static str] = &[
        "zone_id",
        "zone_level",
        "class",
        "area_m2",
        "ecosystem_type",
        "ecosystem_type_zh",
        "ecosystem_type_en",
        "ecosystem_share",
    ];
}

impl CsvRow for ExtentTypeRow<'_> {
    const COLUMNS: &'static [&'static str] = &[
        "zone_id",
        "zone_level",
        "ecosystem_type",
        "ecosystem_type_zh",
        "ecosystem_type_en",
        "area_m2",
        "area_ha",
        "name",
        "county_id",
        "county_name",
        "township_id",
        "township_name",
    ];
}

impl CsvRow for ZoneRow<'_> {
    const COLUMNS: &'static [&'static str] = &[
        "zone_id",
        "zone_level",
        "name",
        "parent_id",
        "polygon_area_m2",
        "covered_area_m2",
        "nodata_area_m2",
        "outside_raster_area_m2",
        "area_basis",
        "county_id",
        "county_name",
        "township_id",
        "township_name",
    ];
}

impl CsvRow for CheckCsvRow<'_> {
    const COLUMNS: &'static [&'static str] = &[
        "parent_id",
        "level",
        "class",
        "parent_area_m2",
        "children_sum_m2",
        "residual_m2",
        "kind",
        "children",
    ];
}

impl CsvRow for FailureRow {
    const COLUMNS: &'static [&'static str] = &["unit_id", "name", "reason", "reason_zh"];
}

impl CsvRow for gep_core::account::AccountRow {
    const COLUMNS: &'static [&'static str] = &[
        "zone_id",
        "zone_level",
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
    ];

    fn write_to<W: Write>(&self, w: &mut csv::Writer<W>) -> csv::Result<()> {
        let r = self;
        let texts = [
            &r.zone_id,
            &r.ecosystem_type,
            &r.service,
            &r.unit,
            &r.method,
            &r.source,
            &r.flags,
        ];
        let unit_q = r.quantity_unit.as_deref().is_some_and(is_formula_like);
        if !unit_q && !texts.iter().any(|t| is_formula_like(t)) {
            return w.serialize(r);
        }
        // Rare (a formula-like id or source): neutralise a copy.
        let mut c = r.clone();
        for t in [
            &mut c.zone_id,
            &mut c.ecosystem_type,
            &mut c.service,
            &mut c.unit,
            &mut c.method,
            &mut c.source,
            &mut c.flags,
        ] {
            neutralize_in_place(t);
        }
        if let Some(u) = c.quantity_unit.as_mut() {
            neutralize_in_place(u);
        }
        w.serialize(&c)
    }
}

/// One row of `accounts.csv`: the columns of [`gep_core::account::AccountRow`] (the
/// contract's, unchanged and first), then the zone's name and where it lies, and the names of
/// the ecosystem type and the service in Chinese and English.
#[derive(Debug, Clone, Serialize)]
pub struct AccountCsvRow<'a> {
    /// Zone id (text).
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub zone_id: &'a str,
    /// Zone level.
    pub zone_level: gep_core::Level,
    /// Accounting year.
    pub year: i32,
    /// Ecosystem type code.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub ecosystem_type: &'a str,
    /// Service code.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub service: &'a str,
    /// GEP category.
    pub category: gep_core::catalog::Category,
    /// Area of the type in the zone, ha.
    pub area_ha: f64,
    /// Physical quantity.
    pub quantity: Option<f64>,
    /// Its unit.
    #[serde(serialize_with = "ser_opt_text")]
    pub quantity_unit: Option<&'a str>,
    /// Value per ha per year (or stock per ha).
    pub unit_value: Option<f64>,
    /// Unit of `unit_value`.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub unit: &'a str,
    /// Price year.
    pub price_year: Option<i32>,
    /// Value, 元/a.
    pub value_yuan: Option<f64>,
    /// How the unit value was formed.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub method: &'a str,
    /// Coefficient set, line and citation.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub source: &'a str,
    /// `;`-separated flags.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub flags: &'a str,
    /// The zone's name.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub name: &'a str,
    /// The county the zone lies in.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub county_id: &'a str,
    /// Its name.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub county_name: &'a str,
    /// The township the zone lies in.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub township_id: &'a str,
    /// Its name.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub township_name: &'a str,
    /// The ecosystem type's Chinese name (empty for class-keyed rows).
    pub ecosystem_type_zh: &'a str,
    /// Its English name.
    pub ecosystem_type_en: &'a str,
    /// The service's Chinese name.
    pub service_zh: &'a str,
    /// Its English name.
    pub service_en: &'a str,
}

fn ser_opt_text<S: serde::Serializer>(text: &Option<&str>, s: S) -> Result<S::Ok, S::Error> {
    match text {
        Some(t) => crate::neutralize::ser_text(t, s),
        None => s.serialize_none(),
    }
}

impl CsvRow for AccountCsvRow<'_> {
    const COLUMNS: &'static [&'static str] = &[
        "zone_id",
        "zone_level",
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
        "name",
        "county_id",
        "county_name",
        "township_id",
        "township_name",
        "ecosystem_type_zh",
        "ecosystem_type_en",
        "service_zh",
        "service_en",
    ];
}

/// Writes `accounts.csv`: one [`AccountCsvRow`] per account row, names from `names` and the
/// built-in catalogue.
pub fn write_accounts_csv(
    path: &Path,
    rows: &[gep_core::account::AccountRow],
    names: &ZoneDirectory,
) -> Result<(), ReportError> {
    let cat = gep_core::catalog::Catalog::builtin();
    let types: std::collections::HashMap<&str, (&str, &str)> = cat
        .ecosystems
        .iter()
        .map(|e| (e.code.as_str(), (e.zh.as_str(), e.en.as_str())))
        .collect();
    let services: std::collections::HashMap<&str, (&str, &str)> = cat
        .services
        .iter()
        .map(|e| (e.code.as_str(), (e.zh.as_str(), e.en.as_str())))
        .collect();
    write_csv(
        path,
        rows.iter().map(|r| {
            let z = names.get(&r.zone_id);
            let (tz, te) = types.get(&*r.ecosystem_type).copied().unwrap_or(("", ""));
            let (sz, se) = services.get(&*r.service).copied().unwrap_or(("", ""));
            AccountCsvRow {
                zone_id: &r.zone_id,
                zone_level: r.zone_level,
                year: r.year,
                ecosystem_type: &r.ecosystem_type,
                service: &r.service,
                category: r.category,
                area_ha: r.area_ha,
                quantity: r.quantity,
                quantity_unit: r.quantity_unit.as_deref(),
                unit_value: r.unit_value,
                unit: &r.unit,
                price_year: r.price_year,
                value_yuan: r.value_yuan,
                method: &r.method,
                source: &r.source,
                flags: &r.flags,
                name: &z.name,
                county_id: &z.county_id,
                county_name: &z.county_name,
                township_id: &z.township_id,
                township_name: &z.township_name,
                ecosystem_type_zh: tz,
                ecosystem_type_en: te,
                service_zh: sz,
                service_en: se,
            }
        }),
    )
}

impl CsvRow for gep_core::account::GepRow {
    const COLUMNS: &'static [&'static str] = &[
        "zone_id",
        "zone_level",
        "gep_yuan",
        "material_yuan",
        "regulating_yuan",
        "cultural_yuan",
        "supporting_yuan",
    ];

    fn write_to<W: Write>(&self, w: &mut csv::Writer<W>) -> csv::Result<()> {
        if !is_formula_like(&self.zone_id) {
            return w.serialize(self);
        }
        let mut c = self.clone();
        neutralize_in_place(&mut c.zone_id);
        w.serialize(&c)
    }
}

/// One row of `gep.csv`: a zone's totals with the run's label. The first six columns are
/// those of earlier versions; the label columns come after them:
/// `supporting_yuan` (ESV only), `final_yuan` (material + regulating + cultural: what GEP
/// counts), `total_kind` (`gep`, `esv`), `partial` (`true`/`false`), `missing_services`
/// (`;`-separated service codes the set's edition lists but the set does not value),
/// `price_year`. For an ESV `gep_yuan` is the ESV total, supporting services included.
#[derive(Debug, Clone, Serialize)]
pub struct GepCsvRow<'a> {
    /// Zone id (text).
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub zone_id: &'a str,
    /// county, township or village.
    pub zone_level: &'a str,
    /// The zone's total, 元/a (see `total_kind`).
    pub gep_yuan: f64,
    /// Material products, 元/a.
    pub material_yuan: f64,
    /// Regulating services, 元/a.
    pub regulating_yuan: f64,
    /// Cultural services, 元/a.
    pub cultural_yuan: f64,
    /// Supporting services, 元/a.
    pub supporting_yuan: f64,
    /// Final services only, 元/a.
    pub final_yuan: f64,
    /// `gep`, `esv` or `stock`.
    pub total_kind: &'a str,
    /// Whether services of the edition's list are missing.
    pub partial: bool,
    /// The missing services, `;`-separated.
    pub missing_services: &'a str,
    /// The price year of every value.
    pub price_year: Option<i32>,
    /// The zone's name.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub name: &'a str,
    /// The county the zone lies in.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub county_id: &'a str,
    /// Its name.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub county_name: &'a str,
    /// The township the zone lies in.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub township_id: &'a str,
    /// Its name.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub township_name: &'a str,
}

impl<'a> GepCsvRow<'a> {
    /// The rows of `rows` labelled with `label` (`missing` is `label`'s missing services
    /// joined by `;`, built once by the caller: see [`GepCsvRow::missing`]).
    pub fn new(
        row: &'a gep_core::account::GepRow,
        label: &'a gep_core::TotalLabel,
        missing: &'a str,
        zone: &'a ZoneContext,
    ) -> GepCsvRow<'a> {
        GepCsvRow {
            zone_id: &row.zone_id,
            zone_level: row.zone_level.as_str(),
            gep_yuan: row.gep_yuan,
            material_yuan: row.material_yuan,
            regulating_yuan: row.regulating_yuan,
            cultural_yuan: row.cultural_yuan,
            supporting_yuan: row.supporting_yuan,
            final_yuan: row.final_yuan(),
            total_kind: label.kind.as_str(),
            partial: label.partial(),
            missing_services: missing,
            price_year: label.price_year,
            name: &zone.name,
            county_id: &zone.county_id,
            county_name: &zone.county_name,
            township_id: &zone.township_id,
            township_name: &zone.township_name,
        }
    }

    /// `label`'s missing services joined by `;`.
    pub fn missing(label: &gep_core::TotalLabel) -> String {
        label.missing_services.join(";")
    }
}

impl CsvRow for GepCsvRow<'_> {
    const COLUMNS: &'static [&'static str] = &[
        "zone_id",
        "zone_level",
        "gep_yuan",
        "material_yuan",
        "regulating_yuan",
        "cultural_yuan",
        "supporting_yuan",
        "final_yuan",
        "total_kind",
        "partial",
        "missing_services",
        "price_year",
        "name",
        "county_id",
        "county_name",
        "township_id",
        "township_name",
    ];
}

/// Writes `gep.csv`: one [`GepCsvRow`] per zone of `gep`, labelled with `label`, names from
/// `names`.
pub fn write_gep_csv(
    path: &Path,
    gep: &[gep_core::account::GepRow],
    label: &gep_core::TotalLabel,
    names: &ZoneDirectory,
) -> Result<(), ReportError> {
    let missing = GepCsvRow::missing(label);
    write_csv(
        path,
        gep.iter()
            .map(|g| GepCsvRow::new(g, label, &missing, names.get(&g.zone_id))),
    )
}

type CsvWriter = csv::Writer<std::io::BufWriter<std::fs::File>>;

/// A CSV writer on a new file that starts with the UTF-8 byte-order mark. Headers are written
/// explicitly by the caller.
fn bom_writer(path: &Path) -> Result<CsvWriter, ReportError> {
    let werr = |source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).map_err(werr)?);
    file.write_all("\u{feff}".as_bytes()).map_err(werr)?;
    Ok(csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(file))
}

/// Flushes and fsyncs a table (the output directory is renamed into place afterwards).
fn finish(w: CsvWriter, path: &Path) -> Result<(), ReportError> {
    let werr = |source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    };
    let file = w.into_inner().map_err(|e| werr(e.into_error()))?;
    file.into_inner()
        .map_err(|e| werr(e.into_error()))?
        .sync_all()
        .map_err(werr)
}

/// Writes the wide pivot: one row per zone, one column per service (value in 元/a), then
/// `gep_yuan`, then where the zone lies (`county_id, county_name, township_id,
/// township_name`). UTF-8 with BOM like every table; text fields neutralised; an empty cell
/// where a value is unknown or the zone has no row for the service. Service columns follow
/// the standard's order ([`gep_core::catalog::Catalog::service_order`]); rows follow `zones`.
pub fn write_wide_csv(
    path: &Path,
    zones: &[ReportZone],
    services: &[ServiceTotal],
) -> Result<(), ReportError> {
    let pivot = ServicePivot::new(services);
    let cerr = |source| ReportError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut w = bom_writer(path)?;
    let mut header = vec!["zone_id", "zone_level", "name", "parent_id"];
    header.extend(pivot.columns.iter().map(|c| c.service.as_str()));
    header.push("gep_yuan");
    header.extend(["county_id", "county_name", "township_id", "township_name"]);
    w.write_record(header.iter().map(|h| neutralize(h).into_owned()))
        .map_err(cerr)?;
    let names = ZoneDirectory::new(
        zones
            .iter()
            .map(|z| (z.id.as_str(), z.name.as_str(), z.level, z.parent.as_deref())),
    );
    let mut buf = ryu::Buffer::new();
    let mut num = |v: Option<f64>| v.map(|v| buf.format(v).to_string()).unwrap_or_default();
    for z in zones {
        let mut rec: Vec<String> = vec![
            neutralize(&z.id).into_owned(),
            z.level.as_str().to_string(),
            neutralize(&z.name).into_owned(),
            neutralize(z.parent.as_deref().unwrap_or("")).into_owned(),
        ];
        rec.extend(pivot.row(&z.id).iter().map(|v| num(v.0)));
        rec.push(num(z.gep_yuan));
        let c = names.get(&z.id);
        for t in [
            &c.county_id,
            &c.county_name,
            &c.township_id,
            &c.township_name,
        ] {
            rec.push(neutralize(t).into_owned());
        }
        w.write_record(&rec).map_err(cerr)?;
    }
    finish(w, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_and_full_precision() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("e.csv");
        let rows = [ExtentRow {
            zone_id: "330127",
            zone_level: "county",
            class: 5,
            area_m2: 0.1 + 0.2,
            ecosystem_type: "",
            ecosystem_type_zh: "",
            ecosystem_type_en: "",
            ecosystem_share: "",
        }];
        write_csv(&p, rows.iter()).unwrap();
        let s = std::fs::read_to_string(&p).unwrap();
        assert!(s.starts_with('\u{feff}'));
        assert!(s.contains("330127,county,5,0.30000000000000004"), "{s}");
    }

    /// The header serde derives from a row (what `write_csv` would have written).
    fn serde_header<T: CsvRow>(row: T) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.serialize(row).unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        text.lines().next().unwrap().to_string()
    }

    fn account_row(zone_id: &str, source: &str) -> gep_core::account::AccountRow {
        gep_core::account::AccountRow {
            zone_id: zone_id.into(),
            zone_level: gep_core::Level::Village,
            year: 2020,
            ecosystem_type: "water".into(),
            service: "esv_food".into(),
            category: gep_core::catalog::Category::Material,
            area_ha: 1.5,
            quantity: None,
            quantity_unit: None,
            unit_value: Some(-2.0),
            unit: "元/ha/a".into(),
            price_year: Some(2010),
            value_yuan: Some(-3.0),
            method: "m".into(),
            source: source.into(),
            flags: "".into(),
            area: gep_core::ExactArea::ZERO,
        }
    }

    #[test]
    fn declared_columns_are_serdes_field_names() {
        let ext = ExtentRow {
            zone_id: "1",
            zone_level: "county",
            class: 1,
            area_m2: 1.0,
            ecosystem_type: "a;b",
            ecosystem_type_zh: "甲;乙",
            ecosystem_type_en: "a;b",
            ecosystem_share: "0.5;0.5",
        };
        assert_eq!(serde_header(ext), ExtentRow::COLUMNS.join(","));
        let zone = ZoneRow {
            zone_id: "1",
            zone_level: "county",
            name: "n",
            parent_id: "",
            polygon_area_m2: 1.0,
            covered_area_m2: 1.0,
            nodata_area_m2: 0.0,
            outside_raster_area_m2: 0.0,
            area_basis: "planar",
            county_id: "1",
            county_name: "n",
            township_id: "",
            township_name: "",
        };
        assert_eq!(serde_header(zone), ZoneRow::COLUMNS.join(","));
        let ety = ExtentTypeRow {
            zone_id: "1",
            zone_level: "county",
            ecosystem_type: "paddy",
            ecosystem_type_zh: "水田",
            ecosystem_type_en: "paddy field",
            area_m2: 1.0,
            area_ha: 1e-4,
            name: "n",
            county_id: "1",
            county_name: "n",
            township_id: "",
            township_name: "",
        };
        assert_eq!(serde_header(ety), ExtentTypeRow::COLUMNS.join(","));
        let arow = account_row("1", "s");
        let ctx = ZoneContext::default();
        let acsv = AccountCsvRow {
            zone_id: &arow.zone_id,
            zone_level: arow.zone_level,
            year: arow.year,
            ecosystem_type: &arow.ecosystem_type,
            service: &arow.service,
            category: arow.category,
            area_ha: arow.area_ha,
            quantity: None,
            quantity_unit: None,
            unit_value: arow.unit_value,
            unit: &arow.unit,
            price_year: arow.price_year,
            value_yuan: arow.value_yuan,
            method: &arow.method,
            source: &arow.source,
            flags: &arow.flags,
            name: &ctx.name,
            county_id: &ctx.county_id,
            county_name: &ctx.county_name,
            township_id: &ctx.township_id,
            township_name: &ctx.township_name,
            ecosystem_type_zh: "",
            ecosystem_type_en: "",
            service_zh: "",
            service_en: "",
        };
        assert_eq!(serde_header(acsv), AccountCsvRow::COLUMNS.join(","));
        // accounts.csv starts with the contract's columns, unchanged.
        assert_eq!(
            &AccountCsvRow::COLUMNS[..gep_core::account::AccountRow::COLUMNS.len()],
            gep_core::account::AccountRow::COLUMNS
        );
        let check = CheckCsvRow {
            parent_id: "1",
            level: "village",
            class: None,
            parent_area_m2: 1.0,
            children_sum_m2: 1.0,
            residual_m2: 0.0,
            kind: "sum",
            children: String::new(),
        };
        assert_eq!(serde_header(check), CheckCsvRow::COLUMNS.join(","));
        let fail = FailureRow {
            unit_id: "1".into(),
            name: "n".into(),
            reason: "r".into(),
            reason_zh: "原因".into(),
        };
        assert_eq!(serde_header(fail), FailureRow::COLUMNS.join(","));
        assert_eq!(
            serde_header(account_row("1", "s")),
            gep_core::account::AccountRow::COLUMNS.join(",")
        );
        let gep = gep_core::account::GepRow {
            zone_id: "1".into(),
            zone_level: gep_core::Level::County,
            gep_yuan: 1.0,
            material_yuan: 1.0,
            regulating_yuan: 0.0,
            cultural_yuan: 0.0,
            supporting_yuan: 0.0,
        };
        let label = gep_core::TotalLabel::new(
            &gep_core::CoefficientSet::builtin("zj-db33-2274-profile").unwrap(),
            &Default::default(),
        );
        let missing = GepCsvRow::missing(&label);
        let ctx = ZoneContext::default();
        let labelled = GepCsvRow::new(&gep, &label, &missing, &ctx);
        assert_eq!(serde_header(&labelled), GepCsvRow::COLUMNS.join(","));
        assert_eq!(
            serde_header(gep),
            gep_core::account::GepRow::COLUMNS.join(",")
        );
    }

    #[test]
    fn gep_csv_carries_the_label_after_the_old_columns() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("gep.csv");
        let row = gep_core::account::GepRow {
            zone_id: "331123".into(),
            zone_level: gep_core::Level::County,
            gep_yuan: 10.0,
            material_yuan: 2.0,
            regulating_yuan: 5.0,
            cultural_yuan: 1.0,
            supporting_yuan: 2.0,
        };
        let set = gep_core::CoefficientSet::builtin("zj-db33-2274-profile").unwrap();
        let label = gep_core::TotalLabel::new(&set, &Default::default());
        let names = ZoneDirectory::new([("331123", "遂昌县", gep_core::Level::County, None)]);
        write_gep_csv(&p, &[row], &label, &names).unwrap();
        let s = std::fs::read_to_string(&p).unwrap();
        let mut lines = s.lines();
        assert_eq!(
            lines.next().unwrap(),
            "\u{feff}zone_id,zone_level,gep_yuan,material_yuan,regulating_yuan,cultural_yuan,supporting_yuan,final_yuan,total_kind,partial,missing_services,price_year,name,county_id,county_name,township_id,township_name"
        );
        let r = lines.next().unwrap();
        assert!(
            r.starts_with("331123,county,10.0,2.0,5.0,1.0,2.0,8.0,gep,true,agriculture_products;forestry_products;"),
            "{r}"
        );
        assert!(
            r.ends_with(";landscape_value,2010,遂昌县,331123,遂昌县,,"),
            "{r}"
        );
    }

    #[test]
    fn an_empty_table_has_its_header() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("f.csv");
        write_csv(&p, Vec::<FailureRow>::new()).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "\u{feff}unit_id,name,reason,reason_zh\n"
        );
    }

    #[test]
    fn account_text_is_neutralised_but_numbers_are_not() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("a.csv");
        write_csv(
            &p,
            [account_row("=1+1", "@SUM(A1)"), account_row("2", "s")].iter(),
        )
        .unwrap();
        let s = std::fs::read_to_string(&p).unwrap();
        assert!(s.contains("'=1+1,village"), "{s}");
        assert!(s.contains("'@SUM(A1)"), "{s}");
        // Negative values stay numbers.
        assert!(s.contains(",-2.0,") && s.contains(",-3.0,"), "{s}");
    }
}

/// One row of `quantities.csv`: a physical quantity of a model for a zone × land-cover class.
#[derive(Debug, Clone, Serialize)]
pub struct QuantityCsvRow<'a> {
    /// Zone id (text).
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub zone_id: &'a str,
    /// county, township or village.
    pub zone_level: &'a str,
    /// The accounting year (empty when the run has none).
    pub year: Option<i32>,
    /// `water_conservation`, `soil_retention`.
    pub model: &'a str,
    /// What the quantity is (`water_conservation`, `avoided_erosion`, ...).
    pub quantity: &'a str,
    /// Land-cover class code as stored in the raster.
    pub class: i32,
    /// The quantity, full precision.
    pub value: f64,
    /// Its unit (`m3/a`, `t/a`).
    pub unit: &'a str,
    /// Area of the class in the zone where every input has data, m².
    pub area_m2: f64,
    /// Area of the class in the zone where some input has no data (not counted as zero), m².
    pub area_without_data_m2: f64,
    /// The formula, parameters and algorithm names.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub method: &'a str,
}

/// One row of `layer_sums.csv`: the exact weighted sum of a continuous layer over a zone ×
/// land-cover class.
#[derive(Debug, Clone, Serialize)]
pub struct LayerSumRow<'a> {
    /// Zone id (text).
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub zone_id: &'a str,
    /// county, township or village.
    pub zone_level: &'a str,
    /// Land-cover class code as stored in the raster.
    pub class: i32,
    /// The layer's name.
    pub layer: &'a str,
    /// The layer's unit.
    pub unit: &'a str,
    /// Σ coverage × cell area × value over the cells with data, in (unit × m²).
    pub sum: f64,
    /// The area-weighted mean over the cells with data, in the layer's unit (empty when the
    /// class has no area with data).
    pub mean: Option<f64>,
    /// Covered area with data, m².
    pub area_m2: f64,
    /// Covered area without data, m².
    pub area_without_data_m2: f64,
}

impl CsvRow for QuantityCsvRow<'_> {
    const COLUMNS: &'static [&'static str] = &[
        "zone_id",
        "zone_level",
        "year",
        "model",
        "quantity",
        "class",
        "value",
        "unit",
        "area_m2",
        "area_without_data_m2",
        "method",
    ];
}

impl CsvRow for LayerSumRow<'_> {
    const COLUMNS: &'static [&'static str] = &[
        "zone_id",
        "zone_level",
        "class",
        "layer",
        "unit",
        "sum",
        "mean",
        "area_m2",
        "area_without_data_m2",
    ];
}
