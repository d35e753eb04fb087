//! CSV tables. Every table is UTF-8 with a byte-order mark (Excel on a Chinese Windows
//! otherwise reads it as GBK and garbles names; pandas reads it with `encoding="utf-8-sig"`).
//! Floats are written at full precision (shortest round-trip representation). Text fields that
//! a spreadsheet could read as a formula are neutralised ([`crate::neutralize()`]).

use crate::error::ReportError;
use crate::model::{ReportZone, ServiceTotal};
use crate::neutralize::neutralize;
use serde::Serialize;
use std::collections::HashMap;
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
    /// What went wrong and how to fix it.
    #[serde(serialize_with = "crate::neutralize::ser_text")]
    pub reason: String,
}

/// Writes `rows` to `path` as CSV with a UTF-8 BOM and a header row.
pub fn write_csv<T: Serialize>(
    path: &Path,
    rows: impl IntoIterator<Item = T>,
) -> Result<(), ReportError> {
    let mut w = bom_writer(path)?;
    for row in rows {
        w.serialize(row).map_err(|source| ReportError::Csv {
            path: path.to_path_buf(),
            source,
        })?;
    }
    finish(w, path)
}

type CsvWriter = csv::Writer<std::io::BufWriter<std::fs::File>>;

/// A CSV writer on a new file that starts with the UTF-8 byte-order mark.
fn bom_writer(path: &Path) -> Result<CsvWriter, ReportError> {
    let werr = |source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).map_err(werr)?);
    file.write_all("\u{feff}".as_bytes()).map_err(werr)?;
    Ok(csv::WriterBuilder::new().from_writer(file))
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
/// `gep_yuan`. UTF-8 with BOM like every table; text fields neutralised; an empty cell where a
/// value is unknown or the zone has no row for the service. Service columns follow the order of
/// first appearance in `services`; rows follow `zones`.
pub fn write_wide_csv(
    path: &Path,
    zones: &[ReportZone],
    services: &[ServiceTotal],
) -> Result<(), ReportError> {
    let mut columns: Vec<&str> = Vec::new();
    let mut col_of: HashMap<&str, usize> = HashMap::new();
    for s in services {
        if !col_of.contains_key(s.service.as_str()) {
            col_of.insert(&s.service, columns.len());
            columns.push(&s.service);
        }
    }
    let mut cells: HashMap<&str, Vec<Option<f64>>> = HashMap::new();
    for s in services {
        let row = cells
            .entry(&s.zone_id)
            .or_insert_with(|| vec![None; columns.len()]);
        if let Some(v) = s.value_yuan {
            let c = &mut row[col_of[s.service.as_str()]];
            *c = Some(c.unwrap_or(0.0) + v);
        }
    }
    let cerr = |source| ReportError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut w = bom_writer(path)?;
    let mut header = vec!["zone_id", "zone_level", "name", "parent_id"];
    header.extend(columns.iter().copied());
    header.push("gep_yuan");
    w.write_record(header.iter().map(|h| neutralize(h).into_owned()))
        .map_err(cerr)?;
    let mut buf = ryu::Buffer::new();
    let mut num = |v: Option<f64>| v.map(|v| buf.format(v).to_string()).unwrap_or_default();
    for z in zones {
        let mut rec: Vec<String> = vec![
            neutralize(&z.id).into_owned(),
            z.level.as_str().to_string(),
            neutralize(&z.name).into_owned(),
            neutralize(z.parent.as_deref().unwrap_or("")).into_owned(),
        ];
        match cells.get(z.id.as_str()) {
            Some(row) => rec.extend(row.iter().map(|v| num(*v))),
            None => rec.extend(std::iter::repeat_n(String::new(), columns.len())),
        }
        rec.push(num(z.gep_yuan));
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
        }];
        write_csv(&p, rows.iter()).unwrap();
        let s = std::fs::read_to_string(&p).unwrap();
        assert!(s.starts_with('\u{feff}'));
        assert!(s.contains("330127,county,5,0.30000000000000004"), "{s}");
    }
}
