//! `parcels.gpkg`: the parcels as a GeoPackage layer, each outline as read (in the parcels'
//! own CRS, not reprojected) with the columns of `parcels.csv`, the villages with their
//! shares, the area of each ecosystem type and the value of each service.

use crate::parcels::ParcelAssessment;
use crate::EngineError;
use gep_core::account::neumaier_sum;
use gep_core::geo_types::MultiPolygon;
use gep_io::{Column, ColumnValues, Crs, FeatureLayerOut};
use std::collections::BTreeMap;
use std::path::Path;

fn text(name: &str, v: Vec<String>) -> Column {
    Column {
        name: name.into(),
        values: ColumnValues::Text(v),
    }
}

fn real(name: String, v: Vec<Option<f64>>) -> Column {
    Column {
        name,
        values: ColumnValues::Real(v),
    }
}

fn int(name: &str, v: Vec<i64>) -> Column {
    Column {
        name: name.into(),
        values: ColumnValues::Integer(v),
    }
}

/// The attribute columns of the parcels layer, one value per parcel in `a.parcels` order:
///
/// - the columns of `parcels.csv` under the same names (`smaller_than_cell` as 0/1);
/// - `village_ids` and `village_shares`: the villages the parcel lies in and the share of its
///   area in each, `;`-separated in the same order (as `parcel_villages.csv`);
/// - `area_<type>_ha` per ecosystem type (as `parcel_accounts.csv`) when valued, else
///   `area_class_<code>_m2` per land-cover class;
/// - `value_<service>_yuan` per service when valued (Σ over types).
pub fn parcel_columns(a: &ParcelAssessment) -> Vec<Column> {
    let ps = &a.parcels;
    let mut cols = vec![
        text(
            "parcel_id",
            ps.iter().map(|p| p.parcel_id.clone()).collect(),
        ),
        text("name", ps.iter().map(|p| p.name.clone()).collect()),
        real(
            "polygon_area_m2".into(),
            ps.iter().map(|p| Some(p.polygon_area_m2)).collect(),
        ),
        real(
            "covered_area_m2".into(),
            ps.iter().map(|p| Some(p.covered_area_m2)).collect(),
        ),
        real(
            "nodata_area_m2".into(),
            ps.iter().map(|p| Some(p.nodata_area_m2)).collect(),
        ),
        real(
            "outside_raster_area_m2".into(),
            ps.iter().map(|p| Some(p.outside_raster_area_m2)).collect(),
        ),
        int(
            "smaller_than_cell",
            ps.iter().map(|p| i64::from(p.smaller_than_cell)).collect(),
        ),
        int(
            "villages",
            ps.iter()
                .map(|p| i64::try_from(p.villages).unwrap_or(i64::MAX))
                .collect(),
        ),
        real(
            "outside_villages_m2".into(),
            ps.iter().map(|p| Some(p.outside_villages_m2)).collect(),
        ),
        real("gep_yuan".into(), ps.iter().map(|p| p.gep_yuan).collect()),
        text(
            "area_basis",
            vec![a.area_basis.as_str().to_string(); ps.len()],
        ),
    ];
    let mut vids: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut shares: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for v in &a.villages {
        vids.entry(&v.parcel_id)
            .or_default()
            .push(v.village_id.clone());
        shares
            .entry(&v.parcel_id)
            .or_default()
            .push(format!("{:?}", v.share));
    }
    let join = |m: &BTreeMap<&str, Vec<String>>, id: &str| {
        m.get(id).map(|v| v.join(";")).unwrap_or_default()
    };
    cols.push(text(
        "village_ids",
        ps.iter().map(|p| join(&vids, &p.parcel_id)).collect(),
    ));
    cols.push(text(
        "village_shares",
        ps.iter().map(|p| join(&shares, &p.parcel_id)).collect(),
    ));
    let index: BTreeMap<&str, usize> = ps
        .iter()
        .enumerate()
        .map(|(i, p)| (p.parcel_id.as_str(), i))
        .collect();
    match &a.accounts {
        Some(acc) => {
            // Area: the first row of each parcel × type; value: Σ over types.
            let mut area: BTreeMap<String, Vec<Option<f64>>> = BTreeMap::new();
            let mut value: BTreeMap<String, Vec<Vec<f64>>> = BTreeMap::new();
            let mut seen = std::collections::BTreeSet::new();
            let mut services: Vec<String> = Vec::new();
            for r in &acc.rows {
                let Some(&i) = index.get(&*r.zone_id) else {
                    continue;
                };
                let t = r.ecosystem_type.to_string();
                if seen.insert((i, t.clone())) {
                    let col = area
                        .entry(format!("area_{t}_ha"))
                        .or_insert_with(|| vec![Some(0.0); ps.len()]);
                    col[i] = Some(r.area_ha);
                }
                let s = r.service.to_string();
                if !services.contains(&s) {
                    services.push(s.clone());
                }
                if let Some(v) = r.value_yuan {
                    value.entry(s).or_insert_with(|| vec![Vec::new(); ps.len()])[i].push(v);
                }
            }
            cols.extend(area.into_iter().map(|(n, v)| real(n, v)));
            for s in services {
                let v = value
                    .remove(&s)
                    .unwrap_or_else(|| vec![Vec::new(); ps.len()]);
                cols.push(real(
                    format!("value_{s}_yuan"),
                    v.into_iter()
                        .map(|xs| (!xs.is_empty()).then(|| neumaier_sum(xs)))
                        .collect(),
                ));
            }
        }
        None => {
            let mut area: BTreeMap<gep_core::ClassCode, Vec<Option<f64>>> = BTreeMap::new();
            for (id, t) in a.extent.zone_ids.iter().zip(&a.extent.zones) {
                let Some(&i) = index.get(id.as_str()) else {
                    continue;
                };
                for (c, x) in &t.classes {
                    area.entry(*c).or_insert_with(|| vec![Some(0.0); ps.len()])[i] =
                        Some(x.to_m2());
                }
            }
            cols.extend(
                area.into_iter()
                    .map(|(c, v)| real(format!("area_class_{c}_m2"), v)),
            );
        }
    }
    cols
}

/// Writes `parcels.gpkg` (layer `parcels`): `geometries` are the parcels' outlines as read,
/// in `a.parcels` order, in `crs` (the parcel layer's own).
///
/// # Errors
/// The number of outlines is not the number of parcels; GDAL cannot write the file.
pub fn write_parcels_gpkg(
    path: &Path,
    a: &ParcelAssessment,
    geometries: &[MultiPolygon<f64>],
    crs: &Crs,
) -> Result<(), EngineError> {
    if geometries.len() != a.parcels.len() {
        return Err(EngineError::input(format!(
            "{} outlines for {} parcels: pass the outlines of the parcels assessed, in their order",
            geometries.len(),
            a.parcels.len()
        )));
    }
    let columns = parcel_columns(a);
    gep_io::write_features_gpkg(
        path,
        &FeatureLayerOut {
            name: "parcels",
            crs,
            geometries,
            columns: &columns,
        },
    )?;
    Ok(())
}
