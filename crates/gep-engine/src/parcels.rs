//! Parcels and asset packages: polygons that are not part of the administrative hierarchy
//! (a 两山银行 package, the forest plots behind an 生态贷) valued with exact covered fractions,
//! with the village(s) each lies in and the shares.
//!
//! Each parcel is tallied as a zone of its own; each parcel ∩ village piece (geo's boolean
//! intersection; the parcel itself when a village contains it) is tallied too, so the shares
//! and the value of each piece come from the same exact tally. A parcel smaller than a cell
//! is valued by the covered fractions of the cells it touches, never by pixel centres, and is
//! counted in [`PackageTotal::smaller_than_cell`].

use crate::{EngineError, Valuation};
use geo::{Area, BooleanOps, BoundingRect, Contains};
use gep_core::account::{compute_accounts, neumaier_sum, Accounts};
use gep_core::geo_types::{MultiPolygon, Rect};
use gep_core::{AreaBasis, ExtentTable, Level, RasterSource, Reporter, Zone};
use gep_zonal::{polygon_area_m2, tally, TallyOptions};
use serde::Serialize;
use std::collections::BTreeMap;

/// One parcel (in the raster's CRS).
#[derive(Debug, Clone, PartialEq)]
pub struct Parcel {
    /// Parcel id (text).
    pub id: String,
    /// Name or description.
    pub name: String,
    /// Its outline.
    pub geometry: MultiPolygon<f64>,
}

/// One row of `parcels.csv`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParcelSummary {
    /// Parcel id.
    pub parcel_id: String,
    /// Name.
    pub name: String,
    /// Area of the outline on the grid's area basis (m²).
    pub polygon_area_m2: f64,
    /// Area over valid land-cover cells (m²).
    pub covered_area_m2: f64,
    /// Area over nodata cells (m²).
    pub nodata_area_m2: f64,
    /// Area beyond the raster (m²).
    pub outside_raster_area_m2: f64,
    /// Whether the parcel is smaller than one cell (valued by covered fractions).
    pub smaller_than_cell: bool,
    /// Number of villages it lies in.
    pub villages: usize,
    /// Area in no village (m²): a parcel beyond the boundary layer, or a gap in it.
    pub outside_villages_m2: f64,
    /// Value of all services (元/a), when valued.
    pub gep_yuan: Option<f64>,
}

/// One row of `parcel_villages.csv`: a parcel ∩ village piece.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParcelVillage {
    /// Parcel id.
    pub parcel_id: String,
    /// Village id.
    pub village_id: String,
    /// Village name.
    pub village_name: String,
    /// Area of the piece on the grid's area basis (m²).
    pub area_m2: f64,
    /// Area of the piece over valid cells (m²).
    pub covered_area_m2: f64,
    /// area_m2 / the parcel's polygon area.
    pub share: f64,
    /// Value of the piece (元/a), when valued.
    pub gep_yuan: Option<f64>,
}

/// The package: every parcel together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackageTotal {
    /// Number of parcels.
    pub parcels: usize,
    /// How many are smaller than one cell.
    pub smaller_than_cell: usize,
    /// Σ polygon areas (m²).
    pub polygon_area_m2: f64,
    /// Σ covered areas (m²).
    pub covered_area_m2: f64,
    /// Area by ecosystem type (or class) (m²), when valued; by class otherwise.
    pub area_by_type_m2: BTreeMap<String, f64>,
    /// Value by service (元/a), when valued.
    pub value_by_service_yuan: BTreeMap<String, f64>,
    /// Physical quantity by service and unit, when the set gives quantities.
    pub quantity_by_service: BTreeMap<String, (f64, String)>,
    /// GEP of the package (元/a), when valued.
    pub gep_yuan: Option<f64>,
}

/// Something a user should know about a parcel; none stops the valuation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub enum ParcelWarning {
    /// Smaller than one cell: valued by the exact covered fractions of the cells it touches.
    SmallerThanCell {
        /// The parcel.
        parcel_id: String,
        /// Its area (m²).
        area_m2: f64,
        /// The cell area there (m²).
        cell_area_m2: f64,
    },
    /// Partly or wholly beyond the raster or over nodata.
    NotCovered {
        /// The parcel.
        parcel_id: String,
        /// Area without land cover (m²).
        missing_m2: f64,
    },
    /// Partly or wholly in no village.
    OutsideVillages {
        /// The parcel.
        parcel_id: String,
        /// Area in no village (m²).
        area_m2: f64,
    },
}

impl std::fmt::Display for ParcelWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParcelWarning::SmallerThanCell { parcel_id, area_m2, cell_area_m2 } => write!(f, "parcel {parcel_id}: {area_m2} m² is smaller than one cell ({cell_area_m2} m²): valued by the exact covered fractions"),
            ParcelWarning::NotCovered { parcel_id, missing_m2 } => write!(f, "parcel {parcel_id}: {missing_m2} m² over nodata or beyond the raster: not valued"),
            ParcelWarning::OutsideVillages { parcel_id, area_m2 } => write!(f, "parcel {parcel_id}: {area_m2} m² lies in no village of the boundary layer"),
        }
    }
}

/// The valuation of a parcel layer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParcelAssessment {
    /// How cell areas were computed.
    pub area_basis: AreaBasis,
    /// Parcel × class areas (zone ids are parcel ids).
    pub extent: ExtentTable,
    /// One summary per parcel, in input order.
    pub parcels: Vec<ParcelSummary>,
    /// The parcel ∩ village pieces, by parcel then village order.
    pub villages: Vec<ParcelVillage>,
    /// Accounts per parcel × ecosystem type × service, when valued.
    pub accounts: Option<Accounts>,
    /// The package total.
    pub package: PackageTotal,
    /// Warnings, as data.
    pub warnings: Vec<ParcelWarning>,
}

fn rects_meet(a: &Rect<f64>, b: &Rect<f64>) -> bool {
    a.min().x < b.max().x && b.min().x < a.max().x && a.min().y < b.max().y && b.min().y < a.max().y
}

/// Values `parcels` over `raster`, with the villages (any zones, in the raster's CRS) each
/// lies in.
///
/// # Errors
/// Duplicate parcel ids, an empty parcel, tally errors, a class the valuation cannot price.
///
/// # Units
/// Areas in m² on the grid's area basis; values in 元/a at the set's price year.
pub fn assess_parcels(
    raster: &dyn RasterSource,
    parcels: &[Parcel],
    villages: &[Zone],
    valuation: Option<&Valuation>,
    threads: usize,
    reporter: &dyn Reporter,
) -> Result<ParcelAssessment, EngineError> {
    if let Some(v) = valuation {
        v.check()?;
    }
    let grid = raster.grid();
    let mut seen = std::collections::HashSet::new();
    for p in parcels {
        if !seen.insert(p.id.as_str()) {
            return Err(EngineError::input(format!(
                "parcel id {:?} appears twice; give every parcel a unique id",
                p.id
            )));
        }
        if p.geometry.unsigned_area() <= 0.0 {
            return Err(EngineError::input(format!(
                "parcel {:?} has no area (empty or degenerate outline); fix or drop the feature",
                p.id
            )));
        }
    }
    // Pieces: parcel ∩ village.
    let vboxes: Vec<Option<Rect<f64>>> = villages
        .iter()
        .map(|v| v.geometry.bounding_rect())
        .collect();
    let mut pieces: Vec<(usize, usize, MultiPolygon<f64>)> = Vec::new();
    for (pi, p) in parcels.iter().enumerate() {
        let Some(pb) = p.geometry.bounding_rect() else {
            continue;
        };
        for (vi, v) in villages.iter().enumerate() {
            if !vboxes[vi].as_ref().is_some_and(|vb| rects_meet(&pb, vb)) {
                continue;
            }
            let piece = if v.geometry.contains(&p.geometry) {
                p.geometry.clone()
            } else {
                p.geometry.intersection(&v.geometry)
            };
            if piece.unsigned_area() > 0.0 {
                pieces.push((pi, vi, piece));
            }
        }
    }
    let mut zones: Vec<Zone> = parcels
        .iter()
        .map(|p| {
            Zone::new(
                p.id.clone(),
                p.name.clone(),
                Level::Village,
                p.geometry.clone(),
            )
        })
        .collect();
    zones.extend(pieces.iter().map(|(pi, vi, g)| {
        Zone::new(
            format!("{}@{}", parcels[*pi].id, villages[*vi].id),
            String::new(),
            Level::Village,
            g.clone(),
        )
    }));
    let opts = TallyOptions {
        threads,
        ..Default::default()
    };
    let all = tally(raster, &zones, &opts, reporter)?;
    let n = parcels.len();
    let (parcel_zones, piece_zones) = zones.split_at(n);
    let extent = ExtentTable::from_parts(all.zone_ids[..n].to_vec(), all.zones[..n].to_vec())?;
    let piece_extent =
        ExtentTable::from_parts(all.zone_ids[n..].to_vec(), all.zones[n..].to_vec())?;
    let value = |zs: &[Zone], ex: &ExtentTable| -> Result<Option<Accounts>, EngineError> {
        valuation
            .map(|v| {
                compute_accounts(zs, ex, v.year, v.crosswalk.as_ref(), &v.set, &v.params)
                    .map_err(EngineError::from)
            })
            .transpose()
    };
    let accounts = value(parcel_zones, &extent)?;
    let piece_accounts = value(piece_zones, &piece_extent)?;
    let mut warnings = Vec::new();
    let mut villages_out = Vec::new();
    let mut summaries = Vec::with_capacity(n);
    let mut small = 0;
    for (pi, p) in parcels.iter().enumerate() {
        let t = &extent.zones[pi];
        let area = polygon_area_m2(&p.geometry, grid);
        let mut piece_areas = Vec::new();
        for (k, (_, vi, g)) in pieces.iter().enumerate().filter(|(_, x)| x.0 == pi) {
            let a = polygon_area_m2(g, grid);
            piece_areas.push(a);
            villages_out.push(ParcelVillage {
                parcel_id: p.id.clone(),
                village_id: villages[*vi].id.clone(),
                village_name: villages[*vi].name.clone(),
                area_m2: a,
                covered_area_m2: piece_extent.zones[k].covered().to_m2(),
                share: a / area,
                gep_yuan: piece_accounts.as_ref().map(|acc| acc.gep[k].gep_yuan),
            });
        }
        let outside_villages = (area - neumaier_sum(piece_areas.iter().copied())).max(0.0);
        // A relative tolerance: the pieces' areas are of clipped outlines.
        if outside_villages > 1e-9 * area.max(1.0) {
            warnings.push(ParcelWarning::OutsideVillages {
                parcel_id: p.id.clone(),
                area_m2: outside_villages,
            });
        }
        let missing = t.nodata.to_m2() + t.outside.to_m2();
        if missing > 0.0 {
            warnings.push(ParcelWarning::NotCovered {
                parcel_id: p.id.clone(),
                missing_m2: missing,
            });
        }
        let cell_area = p
            .geometry
            .bounding_rect()
            .map(|b| {
                let yc = (b.min().y + b.max().y) / 2.0;
                let row = ((grid.top - yc) / grid.cell_height).floor() as i64;
                grid.cell_area_m2(row.clamp(0, grid.rows.saturating_sub(1) as i64))
                    .0
            })
            .unwrap_or(f64::NAN);
        let smaller = area < cell_area;
        if smaller {
            small += 1;
            warnings.push(ParcelWarning::SmallerThanCell {
                parcel_id: p.id.clone(),
                area_m2: area,
                cell_area_m2: cell_area,
            });
        }
        summaries.push(ParcelSummary {
            parcel_id: p.id.clone(),
            name: p.name.clone(),
            polygon_area_m2: area,
            covered_area_m2: t.covered().to_m2(),
            nodata_area_m2: t.nodata.to_m2(),
            outside_raster_area_m2: t.outside.to_m2(),
            smaller_than_cell: smaller,
            villages: piece_areas.len(),
            outside_villages_m2: outside_villages,
            gep_yuan: accounts.as_ref().map(|a| a.gep[pi].gep_yuan),
        });
    }
    let mut area_by_type = BTreeMap::new();
    let mut value_by_service = BTreeMap::new();
    let mut quantity_by_service = BTreeMap::new();
    match &accounts {
        Some(acc) => {
            let mut areas: BTreeMap<String, Vec<f64>> = BTreeMap::new();
            let mut values: BTreeMap<String, Vec<f64>> = BTreeMap::new();
            let mut quantities: BTreeMap<String, (Vec<f64>, String)> = BTreeMap::new();
            let mut first_service: BTreeMap<(String, String), ()> = BTreeMap::new();
            for r in &acc.rows {
                // The type's area once per parcel (each row of a type repeats it).
                if first_service
                    .insert((r.zone_id.to_string(), r.ecosystem_type.to_string()), ())
                    .is_none()
                {
                    areas
                        .entry(r.ecosystem_type.to_string())
                        .or_default()
                        .push(r.area.to_m2());
                }
                if let Some(v) = r.value_yuan {
                    values.entry(r.service.to_string()).or_default().push(v);
                }
                if let (Some(q), Some(u)) = (r.quantity, &r.quantity_unit) {
                    quantities
                        .entry(r.service.to_string())
                        .or_insert_with(|| (Vec::new(), u.to_string()))
                        .0
                        .push(q);
                }
            }
            area_by_type = areas
                .into_iter()
                .map(|(k, v)| (k, neumaier_sum(v)))
                .collect();
            value_by_service = values
                .into_iter()
                .map(|(k, v)| (k, neumaier_sum(v)))
                .collect();
            quantity_by_service = quantities
                .into_iter()
                .map(|(k, (v, u))| (k, (neumaier_sum(v), u)))
                .collect();
        }
        None => {
            for (c, a) in gep_core::account::class_totals(&extent) {
                area_by_type.insert(format!("class:{c}"), a.to_m2());
            }
        }
    }
    let package = PackageTotal {
        parcels: n,
        smaller_than_cell: small,
        polygon_area_m2: neumaier_sum(summaries.iter().map(|s| s.polygon_area_m2)),
        covered_area_m2: extent
            .zones
            .iter()
            .map(|z| z.covered())
            .sum::<gep_core::ExactArea>()
            .to_m2(),
        area_by_type_m2: area_by_type,
        value_by_service_yuan: value_by_service,
        quantity_by_service,
        gep_yuan: accounts
            .as_ref()
            .map(|a| neumaier_sum(a.gep.iter().map(|g| g.gep_yuan))),
    };
    Ok(ParcelAssessment {
        area_basis: grid.area_basis(),
        extent,
        parcels: summaries,
        villages: villages_out,
        accounts,
        package,
        warnings,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use gep_core::coefficients::ValuationParams;
    use gep_core::geo_types::polygon;
    use gep_core::{CoefficientSet, Crosswalk, CrsInfo, Grid, MemRaster, NoProgress};

    pub(crate) fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
        MultiPolygon::new(vec![
            polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1)],
        ])
    }

    /// A test set: water conservation (with m³) and climate regulation, 元/ha/a.
    pub(crate) fn valuation() -> Valuation {
        let set = CoefficientSet::from_csv_str(
            "# id = \"t\"\n# version = \"1\"\n# price_year = 2020\n# currency = \"CNY\"\n\
             ecosystem_type,service,value,unit,quantity_per_ha,quantity_unit\n\
             forest,water_conservation,1000,元/ha/a,100,m3\n\
             cropland,water_conservation,400,元/ha/a,40,m3\n\
             water,water_conservation,200,元/ha/a,,\n\
             built_up,water_conservation,0,元/ha/a,,\n\
             forest,climate_regulation,300,元/ha/a,,\n\
             cropland,climate_regulation,100,元/ha/a,,\n\
             water,climate_regulation,500,元/ha/a,,\n\
             built_up,climate_regulation,0,元/ha/a,,\n",
            "t.csv",
        )
        .unwrap();
        let cw = Crosswalk::from_csv_str(
            "# id = \"c\"\n# version = \"1\"\ncode,ecosystem_type\n1,cropland\n2,forest\n5,water\n8,built_up\n",
            "c.csv",
        )
        .unwrap();
        Valuation {
            set,
            crosswalk: Some(cw),
            params: ValuationParams::default(),
            year: 2020,
            coastal_zones: Vec::new(),
        }
    }

    /// 2 x 2 cells of 100 m (1 ha each), x 0..200, y 0..200: forest (2) | water (5) over
    /// cropland (1) | forest (2).
    pub(crate) fn raster() -> MemRaster {
        let g = Grid::new(0.0, 200.0, 100.0, 100.0, 2, 2, CrsInfo::projected("local")).unwrap();
        MemRaster::new(g, vec![Some(2), Some(5), Some(1), Some(2)]).unwrap()
    }

    /// A 0.5 ha parcel (x 50..150, y 75..125) across the four cells and the village line
    /// x = 120, worked out by hand.
    ///
    /// Each quarter of the parcel is 50 x 25 m = 1250 m²: forest 2500 m² (0.25 ha), water
    /// 1250 (0.125 ha), cropland 1250 (0.125 ha). Water conservation 0.25·1000 + 0.125·400 +
    /// 0.125·200 = 325 元, 0.25·100 + 0.125·40 = 30 m³; climate 0.25·300 + 0.125·100 +
    /// 0.125·500 = 150 元; GEP 475 元.
    /// West village (x < 120): 70 x 50 = 3500 m², share 0.7: forest 1250 + 500, cropland 1250,
    /// water 500 → 0.175·1000 + 0.125·400 + 0.05·200 + 0.175·300 + 0.125·100 + 0.05·500 = 325.
    /// East village: 1500 m², share 0.3: forest 750, water 750 → 75 + 15 + 22.5 + 37.5 = 150.
    /// A second parcel, the whole grid (4 ha: forest 2, water 1, cropland 1): 2600 + 1200 =
    /// 3800 元. Package: 4275 元, 4.5 ha, one parcel smaller than a cell.
    #[test]
    fn half_hectare_parcel_by_hand() {
        let villages = vec![
            Zone::new("W", "west", Level::Village, rect(0.0, 0.0, 120.0, 200.0)),
            Zone::new("E", "east", Level::Village, rect(120.0, 0.0, 200.0, 200.0)),
        ];
        let parcels = vec![
            Parcel {
                id: "p1".into(),
                name: "plot".into(),
                geometry: rect(50.0, 75.0, 150.0, 125.0),
            },
            Parcel {
                id: "p2".into(),
                name: "all".into(),
                geometry: rect(0.0, 0.0, 200.0, 200.0),
            },
        ];
        let v = valuation();
        let a = assess_parcels(&raster(), &parcels, &villages, Some(&v), 1, &NoProgress).unwrap();
        let close =
            |x: f64, y: f64| assert!((x - y).abs() <= 1e-9 * y.abs().max(1.0), "{x} vs {y}");
        let p1 = &a.extent.zones[0];
        assert_eq!(p1.classes[&2].to_m2(), 2500.0);
        assert_eq!(p1.classes[&5].to_m2(), 1250.0);
        assert_eq!(p1.classes[&1].to_m2(), 1250.0);
        let s = &a.parcels[0];
        assert_eq!(s.polygon_area_m2, 5000.0);
        assert!(s.smaller_than_cell);
        assert_eq!(s.villages, 2);
        close(s.gep_yuan.unwrap(), 475.0);
        let acc = a.accounts.as_ref().unwrap();
        let row = |z: &str, t: &str, svc: &str| {
            acc.rows
                .iter()
                .find(|r| &*r.zone_id == z && &*r.ecosystem_type == t && &*r.service == svc)
                .unwrap()
        };
        close(
            row("p1", "forest", "water_conservation")
                .value_yuan
                .unwrap(),
            250.0,
        );
        close(
            row("p1", "forest", "water_conservation").quantity.unwrap(),
            25.0,
        );
        close(
            row("p1", "water", "climate_regulation").value_yuan.unwrap(),
            62.5,
        );
        assert_eq!(a.villages.len(), 4);
        let w = &a.villages[0];
        assert_eq!((w.parcel_id.as_str(), w.village_id.as_str()), ("p1", "W"));
        close(w.area_m2, 3500.0);
        close(w.share, 0.7);
        close(w.gep_yuan.unwrap(), 325.0);
        let e = &a.villages[1];
        assert_eq!(e.village_id, "E");
        close(e.share, 0.3);
        close(e.gep_yuan.unwrap(), 150.0);
        close(a.parcels[1].gep_yuan.unwrap(), 3800.0);
        assert!(!a.parcels[1].smaller_than_cell);
        let pk = &a.package;
        assert_eq!((pk.parcels, pk.smaller_than_cell), (2, 1));
        close(pk.gep_yuan.unwrap(), 4275.0);
        close(pk.polygon_area_m2, 45_000.0);
        close(
            pk.value_by_service_yuan["water_conservation"],
            325.0 + 2600.0,
        );
        close(pk.quantity_by_service["water_conservation"].0, 30.0 + 240.0);
        close(pk.area_by_type_m2["forest"], 2500.0 + 20_000.0);
        assert!(a.warnings.iter().any(
            |w| matches!(w, ParcelWarning::SmallerThanCell { parcel_id, .. } if parcel_id == "p1")
        ));
    }
}
