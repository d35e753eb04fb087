//! `xtask tally-values`: the weighted tally of issue 12 on the benchmark grid — the land cover
//! plus N of the `bench-aux` layers over the bench's 8,037 zones, in one `tally_values` pass.
//!
//! The zones are read as `gep run` reads the bench config (`bench/run.sh`): counties
//! (`adcode`), townships and villages (`zone_id`, `parent`) from the CGCS2000 GeoJSON
//! fixtures, densified by default and reprojected to the raster's CRS with PROJ, one layer per
//! thread. The layers are opened with `gep_io::continuous::open_continuous` (same grid: read
//! directly, no warp). With `--layers 0` this is the class tally alone.
//!
//! Prints the time of each step on stderr, a checksum of the extent and of every layer's sums
//! (bit-identical for any thread count), and `tally_values_seconds=…` (the tally pass) on
//! stdout for `bench/run.sh`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use gep_core::{Level, NoProgress, RasterSource, ValueSource, Zone};
use gep_io::continuous::{open_continuous, ContinuousInput, GdalValues};
use gep_io::{Densify, GdalRaster, RasterOptions, ZoneLayerSpec};
use gep_zonal::{tally_values, TallyOptions};

use crate::bench_aux::{aux_path, landcover_path, LAYERS};

/// The bench's three boundary layers (as in `bench/data/gep_{res}m.toml`).
pub fn bench_zone_specs(fixtures: &Path) -> Vec<ZoneLayerSpec> {
    let mut county = ZoneLayerSpec::new(
        fixtures.join("zj26_counties_cgcs2000.geojson"),
        Level::County,
        "adcode",
    );
    county.name_field = Some("name".into());
    let below = |file: &str, level| {
        let mut s = ZoneLayerSpec::new(fixtures.join(file), level, "zone_id");
        s.name_field = Some("name".into());
        s.parent_field = Some("parent".into());
        s
    };
    vec![
        county,
        below("zj26_townships_generated.geojson", Level::Township),
        below("zj26_villages_generated.geojson", Level::Village),
    ]
}

/// Reads and reprojects `specs` to `target`, one layer per thread when `threads` > 1 (as
/// the engine does).
pub fn read_zones(
    specs: &[ZoneLayerSpec],
    target: &gep_io::Crs,
    threads: usize,
) -> Result<Vec<Zone>> {
    let one = |spec: &ZoneLayerSpec| -> Result<Vec<Zone>> {
        let mut layer =
            gep_io::read_zones(spec).with_context(|| format!("reading {}", spec.path.display()))?;
        gep_io::reproject::reproject_zones_threads(
            &mut layer.zones,
            &layer.crs,
            target,
            Densify::Default,
            threads,
        )
        .with_context(|| format!("reprojecting {}", spec.path.display()))?;
        Ok(layer.zones)
    };
    let layers: Vec<Result<Vec<Zone>>> = if threads == 1 || specs.len() < 2 {
        specs.iter().map(one).collect()
    } else {
        std::thread::scope(|s| {
            let hs: Vec<_> = specs.iter().map(|sp| s.spawn(move || one(sp))).collect();
            hs.into_iter()
                .map(|h| h.join().expect("zone reader panicked"))
                .collect()
        })
    };
    let mut zones = Vec::new();
    for l in layers {
        zones.extend(l?);
    }
    Ok(zones)
}

/// CPU time (user + system, all threads) of this process so far, seconds, from
/// `/proc/self/stat` (clock ticks of 1/100 s).
pub fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at state = field 3.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Peak resident memory of this process so far (`VmHWM`), MiB.
pub fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Run the tally of the land cover at `res` m with the first `layers` aux layers.
pub fn run(
    res: u32,
    layers: usize,
    threads: usize,
    data: &Path,
    fixtures: &Path,
    json: Option<&Path>,
) -> Result<()> {
    if layers > LAYERS.len() {
        bail!("--layers must be 0..={}, got {layers}", LAYERS.len());
    }
    let t0 = Instant::now();
    let lc_path = landcover_path(data, res);
    let lc = GdalRaster::open(&lc_path, RasterOptions::default())
        .with_context(|| format!("opening {}", lc_path.display()))?;
    let grid = lc.grid().clone();
    let crs = lc.crs().clone();
    let inputs: Vec<GdalValues> = LAYERS[..layers]
        .iter()
        .map(|l| {
            let path: PathBuf = aux_path(data, l.name, res);
            if !path.exists() {
                bail!(
                    "{} missing: cargo run --release -p xtask -- bench-aux --res {res}",
                    path.display()
                );
            }
            let spec = ContinuousInput::new(l.name, path, l.unit);
            let v = open_continuous(&spec, &grid, &crs)?;
            if v.alignment().warped {
                bail!("{}: not on the land-cover grid (would be warped)", l.name);
            }
            Ok(v)
        })
        .collect::<Result<_>>()?;
    let t_open = t0.elapsed().as_secs_f64();
    let zones = read_zones(&bench_zone_specs(fixtures), &crs, threads)?;
    let t_zones = t0.elapsed().as_secs_f64() - t_open;

    let refs: Vec<&dyn ValueSource> = inputs.iter().map(|v| v as &dyn ValueSource).collect();
    let opts = TallyOptions {
        threads,
        ..TallyOptions::default()
    };
    let (t1, c1) = (Instant::now(), cpu_seconds());
    let (extent, sums) = tally_values(&lc, &refs, &zones, &opts, &NoProgress)?;
    let t_tally = t1.elapsed().as_secs_f64();
    let cpu_tally = cpu_seconds().zip(c1).map(|(b, a)| b - a);

    // Checksums: exact fixed-point totals over every zone (all three levels) and class.
    let mut area = 0i128;
    for z in &extent.zones {
        for a in z.classes.values() {
            area = area.wrapping_add(a.0);
        }
    }
    eprintln!(
        "tally-values: {res} m, {} zones, {layers} layer(s), threads {threads}: open {t_open:.2} s, zones {t_zones:.2} s, tally {t_tally:.2} s ({:.2} s CPU); peak RSS {:.0} MiB",
        zones.len(),
        cpu_tally.unwrap_or(f64::NAN),
        peak_rss_mib().unwrap_or(f64::NAN)
    );
    eprintln!("  extent checksum {:032x}", area as u128);
    let mut layer_json = Vec::new();
    for (k, info) in sums.layers.iter().enumerate() {
        let (mut cs, mut county_sum, mut county_area, mut missing) = (0i128, 0.0, 0.0, 0.0);
        for (z, zs) in zones.iter().zip(&sums.zones) {
            for c in zs.classes.values() {
                cs = cs.wrapping_add(c.sums[k].0);
                if z.level == Level::County {
                    county_sum += c.sums[k].to_f64();
                    missing += c.missing[k].to_m2();
                }
            }
        }
        for (z, t) in zones.iter().zip(&extent.zones) {
            if z.level == Level::County {
                county_area += t.classes.values().map(|a| a.to_m2()).sum::<f64>();
            }
        }
        eprintln!(
            "  {:<14} checksum {:032x}  counties: mean {:.4} {} over {:.0} km², {:.3} km² without data",
            info.name,
            cs as u128,
            county_sum / (county_area - missing),
            info.unit,
            (county_area - missing) / 1e6,
            missing / 1e6
        );
        layer_json.push(serde_json::json!({
            "name": info.name,
            "unit": info.unit,
            "checksum": format!("{:032x}", cs as u128),
            "county_mean": county_sum / (county_area - missing),
            "county_area_without_data_km2": missing / 1e6,
        }));
    }
    if let Some(p) = json {
        let v = serde_json::json!({
            "res": res,
            "threads": threads,
            "zones": zones.len(),
            "open_seconds": t_open,
            "zones_seconds": t_zones,
            "tally_seconds": t_tally,
            "tally_cpu_seconds": cpu_tally,
            "peak_rss_mib": peak_rss_mib(),
            "extent_checksum": format!("{:032x}", area as u128),
            "layers": layer_json,
        });
        std::fs::write(p, serde_json::to_string_pretty(&v)? + "\n")
            .with_context(|| format!("writing {}", p.display()))?;
    }
    println!("tally_values_seconds={t_tally:.4}");
    Ok(())
}
