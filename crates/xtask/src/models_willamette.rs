//! `xtask models-willamette`: gep's model chain on the full Willamette inputs of InVEST's
//! sample data (`/work/shared/data/models/willamette/`, 496 × 1145 cells of 30 m, EPSG:26910),
//! timed against InVEST 3.20.2 SDR (D8) + annual water yield on the same files
//! (`fixtures/models/README.md`, "InVEST timings").
//!
//! What runs, in one process:
//! 1. the DEM read with `open_continuous` + `ValueGrid::read_all`;
//! 2. `gep_models::terrain` with `InvestD8 { l_max: 122 }` (fill pits, slope, D8 direction and
//!    accumulation, LS — InVEST SDR's chain) on the whole DEM;
//! 3. `rkls = R · K · LS` as a `DerivedLayer`, with no data on stream cells (flow
//!    accumulation > 1000, InVEST's `threshold_flow_accumulation`), as InVEST's `rkls.tif`;
//! 4. one `tally_values` pass of the land cover with `rkls`, precipitation and (when given)
//!    actual ET over `watersheds.shp` (3 zones, `ws_id`);
//! 5. `soil_retention` (C, P from `biophysical_table.csv`) and, with actual ET,
//!    `water_conservation` (α from `fixtures/models/runoff_coefficients.csv`).
//!
//! What InVEST does beyond this: SDR also masks the inputs to the watersheds before routing,
//! computes the sediment delivery ratio, export and deposition, and writes ~20 rasters; AWY
//! computes actual ET per cell by Budyko–Zhang (gep takes actual ET as an input). The timing
//! compares the parts both have to do for the GEP quantities, not identical work.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use gep_core::{LayerInfo, Level, NoProgress, RasterSource, ValueGrid, ValueSource};
use gep_io::continuous::{open_continuous, ContinuousInput};
use gep_io::{GdalRaster, RasterOptions, ZoneLayerSpec};
use gep_models::class_table::read_class_table;
use gep_models::soil_retention::{soil_retention, UsleFactors, RKLS_UNIT};
use gep_models::water_conservation::water_conservation;
use gep_models::{terrain, DerivedLayer, LsAlgorithm};
use gep_zonal::{tally_values, TallyOptions};

use crate::tally_values::{cpu_seconds, peak_rss_mib, read_zones};

/// InVEST 3.20.2 SDR `avoid_eros` per watershed (t/yr) on these inputs
/// (`fixtures/models/README.md`).
const INVEST_AVOID_EROS: [(&str, f64); 3] =
    [("0", 3_820_831.2), ("1", 10_006_782.0), ("2", 1_596_137.3)];

/// Run the chain; `aet` is an actual-ET raster on the same grid (e.g. InVEST AWY's
/// `output/per_pixel/aet.tif`), optional.
pub fn run(
    data: &Path,
    aet: Option<&Path>,
    alpha_csv: &Path,
    threads: usize,
    json: Option<&Path>,
) -> Result<()> {
    let (t0, c0) = (Instant::now(), cpu_seconds());
    let mut steps: Vec<(&str, f64)> = Vec::new();
    let mut lap = {
        let mut last = Instant::now();
        move |name: &'static str, steps: &mut Vec<(&str, f64)>| {
            steps.push((name, last.elapsed().as_secs_f64()));
            last = Instant::now();
        }
    };
    let lulc = GdalRaster::open(data.join("lulc.tif"), RasterOptions::default())
        .context("opening lulc.tif")?;
    let grid = lulc.grid().clone();
    let crs = lulc.crs().clone();
    let open = |name: &str, file: &Path, unit: &str| -> Result<Box<dyn ValueSource>> {
        let v = open_continuous(&ContinuousInput::new(name, file, unit), &grid, &crs)
            .with_context(|| format!("opening {}", file.display()))?;
        Ok(Box::new(v))
    };
    let mut dem_src = open("dem", &data.join("dem.tif"), "m")?;
    let dem = ValueGrid::read_all(dem_src.as_mut())?;
    drop(dem_src);
    lap("open land cover, read DEM", &mut steps);

    let t = terrain(&dem, &LsAlgorithm::InvestD8 { l_max: 122.0 }, 2 << 30)?;
    drop(dem);
    lap("terrain (fill, slope, D8, accumulation, LS)", &mut steps);

    let r = open("erosivity", &data.join("erosivity.tif"), "MJ·mm/(ha·h·a)")?;
    let k = open(
        "erodibility",
        &data.join("erodibility.tif"),
        "t·ha·h/(ha·MJ·mm)",
    )?;
    let rkls = DerivedLayer::new(
        LayerInfo::new("rkls", RKLS_UNIT),
        vec![r, k, Box::new(t.ls), Box::new(t.flow_accumulation)],
        // InVEST's rkls.tif has no data on stream cells (FA > threshold_flow_accumulation).
        |v| {
            if v[3] > 1000.0 {
                f64::NAN
            } else {
                v[0] * v[1] * v[2]
            }
        },
    )?;
    let p = open("precipitation_in", &data.join("precip.tif"), "mm")?;
    let (precip, et): (DerivedLayer, Option<Box<dyn ValueSource>>) = match aet {
        Some(a) => {
            let et = open("aet", a, "mm")?;
            // Precipitation without data where ET has none, so both cover the same area.
            let mask = open("aet_mask", a, "mm")?;
            (
                DerivedLayer::new(LayerInfo::new("precipitation", "mm"), vec![p, mask], |v| {
                    v[0]
                })?,
                Some(et),
            )
        }
        None => (
            DerivedLayer::new(LayerInfo::new("precipitation", "mm"), vec![p], |v| v[0])?,
            None,
        ),
    };
    let mut ws = ZoneLayerSpec::new(data.join("watersheds.shp"), Level::County, "ws_id");
    ws.name_field = None;
    let zones = read_zones(&[ws], &crs, threads)?;
    lap("open R, K, P (ET), read watersheds", &mut steps);

    let mut layers: Vec<&dyn ValueSource> = vec![&rkls, &precip];
    if let Some(e) = &et {
        layers.push(e.as_ref());
    }
    let opts = TallyOptions {
        threads,
        ..TallyOptions::default()
    };
    let (extent, sums) = tally_values(&lulc, &layers, &zones, &opts, &NoProgress)?;
    lap("tally_values (land cover + rkls + P (+ ET))", &mut steps);

    let bio_path = data.join("biophysical_table.csv");
    let bio = std::fs::read_to_string(&bio_path)
        .with_context(|| format!("reading {}", bio_path.display()))?;
    let rows = read_class_table(
        &bio,
        &bio_path.display().to_string(),
        &["usle_c", "usle_p"],
        &["usle_c", "usle_p"],
    )?;
    let factors: BTreeMap<_, _> = rows
        .iter()
        .map(|(&c, v)| {
            (
                c,
                UsleFactors {
                    c: v[0],
                    p: v[1].unwrap_or(1.0),
                },
            )
        })
        .collect();
    let soil = soil_retention(&extent, &sums, "rkls", None, &factors, t.algorithm.name())?;
    let water = match &et {
        Some(_) => {
            let text = std::fs::read_to_string(alpha_csv)
                .with_context(|| format!("reading {}", alpha_csv.display()))?;
            let a = read_class_table(
                &text,
                &alpha_csv.display().to_string(),
                &["alpha"],
                &["alpha"],
            )?;
            let alpha = a.iter().map(|(&c, v)| (c, v[0].unwrap_or(0.0))).collect();
            Some(water_conservation(
                &extent,
                &sums,
                "precipitation",
                "aet",
                &alpha,
            )?)
        }
        None => None,
    };
    lap("soil retention + water conservation", &mut steps);
    let total = t0.elapsed().as_secs_f64();
    let total_cpu = cpu_seconds().zip(c0).map(|(b, a)| b - a);

    eprintln!(
        "models-willamette: {} x {} cells, {} watersheds, threads {threads}",
        grid.cols,
        grid.rows,
        zones.len()
    );
    for (name, s) in &steps {
        eprintln!("  {s:7.3} s  {name}");
    }
    eprintln!(
        "  {total:7.3} s  in all ({:.2} s CPU); peak RSS {:.0} MiB",
        total_cpu.unwrap_or(f64::NAN),
        peak_rss_mib().unwrap_or(f64::NAN)
    );
    let mut ws_json = Vec::new();
    for z in &zones {
        let get = |model: &str, name: &str, q: &[gep_models::Quantity]| -> f64 {
            q.iter()
                .filter(|q| q.zone_id == z.id && q.model == model && q.name == name)
                .map(|q| q.value)
                .sum()
        };
        let avoided = get("soil_retention", "avoided_erosion", &soil);
        let invest = INVEST_AVOID_EROS
            .iter()
            .find(|(id, _)| *id == z.id)
            .map(|x| x.1);
        eprint!(
            "  ws_id {}: potential erosion {:.1} t/a, avoided erosion {avoided:.1} t/a",
            z.id,
            get("soil_retention", "potential_erosion", &soil)
        );
        if let Some(i) = invest {
            eprint!(" (InVEST SDR avoid_eros {i:.1}, ratio {:.4})", avoided / i);
        }
        let wc = water
            .as_ref()
            .map(|w| get("water_conservation", "water_conservation", w));
        if let Some(wc) = wc {
            eprint!(", water conservation {wc:.0} m³/a");
        }
        eprintln!();
        ws_json.push(serde_json::json!({
            "ws_id": z.id,
            "potential_erosion_t": get("soil_retention", "potential_erosion", &soil),
            "avoided_erosion_t": avoided,
            "invest_avoid_eros_t": invest,
            "water_conservation_m3": wc,
        }));
    }
    if let Some(p) = json {
        let steps: Vec<_> = steps
            .iter()
            .map(|(n, s)| serde_json::json!({"step": n, "seconds": s}))
            .collect();
        let v = serde_json::json!({
            "threads": threads,
            "rows": grid.rows,
            "cols": grid.cols,
            "aet": aet.map(|a| a.display().to_string()),
            "steps": steps,
            "total_seconds": total,
            "total_cpu_seconds": total_cpu,
            "peak_rss_mib": peak_rss_mib(),
            "watersheds": ws_json,
        });
        std::fs::write(p, serde_json::to_string_pretty(&v)? + "\n")
            .with_context(|| format!("writing {}", p.display()))?;
    }
    println!("models_willamette_seconds={total:.4}");
    Ok(())
}
