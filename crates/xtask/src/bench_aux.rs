//! `xtask bench-aux`: five synthetic continuous rasters on exactly the benchmark land-cover
//! grid (`bench/data/`, not committed), standing in for the inputs of the regulating services
//! (issue 12): precipitation, actual evapotranspiration, NPP, rainfall erosivity and NDVI.
//!
//! Each is Float32 on the land cover's geotransform, size and CRS (EPSG:4549), 256 × 256
//! tiles, DEFLATE level 1 with horizontal differencing (`PREDICTOR=2`, on the Float32 bit
//! patterns: on these fields 20-25 % smaller and about twice as fast to decode as the
//! floating-point predictor `PREDICTOR=3`), nodata −9999. Values are smooth value-noise fields
//! evaluated in world metres (so the 30 m and 10 m rasters show the same fields), stretched
//! into a plausible range and rounded to the precision such products are published at
//! (0.1 mm, 0.1 g C/m², 1 MJ·mm/(ha·h·a), 10⁻⁴ NDVI). A 600 m × 600 m square
//! at the raster's north-west corner (400 cells at 30 m, 3,600 at 10 m) is nodata in every
//! layer.
//!
//! The five layers are computed together, strip by strip (512 rows = two tile rows), a few
//! strips at a time in parallel (rayon), and each layer's strips are written in order to its
//! own dataset, so memory stays bounded (≈ 4 strips × 5 layers × 512 rows × cols × 4 B).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use gdal::raster::{Buffer, RasterCreationOptions};
use gdal::{Dataset, DriverManager, Metadata};
use rayon::prelude::*;

use crate::bench_data::Field;

const STRIP: usize = 512;
const SEED: u64 = 0x6765_705f_6175_7831; // "gep_aux1"
/// Nodata value of every layer.
pub const NODATA: f64 = -9999.0;
/// Side of the nodata square at the north-west corner, metres.
const NODATA_SIDE_M: f64 = 600.0;

/// One synthetic layer.
pub struct AuxLayer {
    /// File stem and layer name.
    pub name: &'static str,
    /// Unit of the values.
    pub unit: &'static str,
    /// Values run from `lo` to `hi` (before rounding).
    lo: f64,
    hi: f64,
    /// Rounding step (the product's published precision).
    step: f64,
    /// Octaves (lattice spacing m, amplitude).
    octaves: &'static [(f64, f64)],
}

/// The five layers, in the order `--layers N` takes them.
pub const LAYERS: [AuxLayer; 5] = [
    AuxLayer {
        name: "precipitation",
        unit: "mm",
        lo: 1200.0,
        hi: 2200.0,
        step: 0.1,
        octaves: &[(60_000.0, 1.0), (15_000.0, 0.45), (4_000.0, 0.15)],
    },
    AuxLayer {
        name: "aet",
        unit: "mm",
        lo: 500.0,
        hi: 900.0,
        step: 0.1,
        octaves: &[(40_000.0, 1.0), (8_000.0, 0.4), (1_000.0, 0.12)],
    },
    AuxLayer {
        name: "npp",
        unit: "g C/m2/a",
        lo: 200.0,
        hi: 1200.0,
        step: 0.1,
        octaves: &[(30_000.0, 1.0), (3_000.0, 0.5), (300.0, 0.2), (60.0, 0.08)],
    },
    AuxLayer {
        name: "erosivity",
        unit: "MJ·mm/(ha·h·a)",
        lo: 3000.0,
        hi: 7000.0,
        step: 1.0,
        octaves: &[(80_000.0, 1.0), (20_000.0, 0.4), (5_000.0, 0.1)],
    },
    AuxLayer {
        name: "ndvi",
        unit: "1",
        lo: -0.1,
        hi: 0.9,
        step: 1e-4,
        octaves: &[(20_000.0, 1.0), (2_000.0, 0.6), (300.0, 0.3), (60.0, 0.15)],
    },
];

/// The path of layer `name` at `res` m in `dir`.
pub fn aux_path(dir: &Path, name: &str, res: u32) -> PathBuf {
    dir.join(format!("aux_{name}_zj26_epsg4549_{res}m.tif"))
}

/// The land-cover raster the layers are aligned to.
pub fn landcover_path(dir: &Path, res: u32) -> PathBuf {
    dir.join(format!("clcd_zj26_epsg4549_{res}m.tif"))
}

/// Generate the first `layers` auxiliary rasters at `res` m next to the land cover in `dir`.
pub fn run(res: u32, layers: usize, dir: &Path) -> Result<()> {
    if res != 30 && res != 10 {
        bail!("--res must be 30 or 10, got {res}");
    }
    if layers == 0 || layers > LAYERS.len() {
        bail!("--layers must be 1..={}, got {layers}", LAYERS.len());
    }
    let lc = landcover_path(dir, res);
    let (gt, cols, rows, wkt) = {
        let ds = Dataset::open(&lc).with_context(|| {
            format!(
                "opening {} (generate it first: cargo run --release -p xtask -- bench-data --res {res})",
                lc.display()
            )
        })?;
        let (c, r) = ds.raster_size();
        (ds.geo_transform()?, c, r, ds.projection())
    };
    let t0 = Instant::now();
    let r = gt[1];
    let (x0, y1) = (gt[0], gt[3]);
    eprintln!(
        "bench-aux: {layers} Float32 layers on the grid of {} ({cols} x {rows} cells, {:.2} G cells each)",
        lc.display(),
        (cols * rows) as f64 / 1e9
    );
    let specs = &LAYERS[..layers];
    let fields: Vec<Field> = specs
        .iter()
        .enumerate()
        .map(|(k, l)| Field::new(SEED.wrapping_add(k as u64 * 0x1000), l.octaves))
        .collect();
    // Calibrated stretch: value noise concentrates around the middle of [0, Σ amp); stretch
    // ×1.8 around it and clamp so the fields use most of their range.
    let amp: Vec<f64> = specs
        .iter()
        .map(|l| l.octaves.iter().map(|o| o.1).sum())
        .collect();
    let nodata_cells = (NODATA_SIDE_M / r).round() as usize;

    gdal::config::set_config_option("GDAL_CACHEMAX", "512")?;
    let opts = RasterCreationOptions::from_iter([
        "TILED=YES",
        "BLOCKXSIZE=256",
        "BLOCKYSIZE=256",
        "COMPRESS=DEFLATE",
        "PREDICTOR=2",
        "ZLEVEL=1",
        "BIGTIFF=IF_SAFER",
        "NUM_THREADS=ALL_CPUS",
    ]);
    let driver = DriverManager::get_driver_by_name("GTiff")?;
    let mut out = Vec::new();
    for l in specs {
        let path = aux_path(dir, l.name, res);
        let tmp = dir.join(format!(
            ".{}.partial",
            path.file_name().unwrap_or_default().to_string_lossy()
        ));
        let mut ds =
            driver.create_with_band_type_with_options::<f32, _>(&tmp, cols, rows, 1, &opts)?;
        ds.set_geo_transform(&gt)?;
        ds.set_projection(&wkt)?;
        {
            let mut band = ds.rasterband(1)?;
            band.set_no_data_value(Some(NODATA))?;
            band.set_description(&format!("{} ({}), synthetic", l.name, l.unit))?;
        }
        out.push((ds, tmp, path));
    }

    let nstrips = rows.div_ceil(STRIP);
    let batch = rayon::current_num_threads().max(1) * 2;
    let (mut min, mut max) = (vec![f64::INFINITY; layers], vec![f64::NEG_INFINITY; layers]);
    let mut nodata = 0u64;
    for b0 in (0..nstrips).step_by(batch) {
        // (strip, layer) pairs in parallel: 5 layers × a few strips keep both cores busy.
        let jobs: Vec<(usize, usize)> = (b0..(b0 + batch).min(nstrips))
            .flat_map(|s| (0..layers).map(move |k| (s, k)))
            .collect();
        let done: Vec<(usize, usize, Vec<f32>, f64, f64, u64)> = jobs
            .into_par_iter()
            .map(|(s, k)| {
                let l = &specs[k];
                let r0 = s * STRIP;
                let h = STRIP.min(rows - r0);
                let mut data = vec![0f32; cols * h];
                let mut v = vec![0.0; cols];
                let mut scratch = Vec::new();
                let (mut lo, mut hi, mut nd) = (f64::INFINITY, f64::NEG_INFINITY, 0u64);
                for (i, line) in data.chunks_mut(cols).enumerate() {
                    let row = r0 + i;
                    let y = y1 - (row as f64 + 0.5) * r;
                    fields[k].row(x0, r, y, &mut v, &mut scratch);
                    for (c, (o, &f)) in line.iter_mut().zip(&v).enumerate() {
                        if row < nodata_cells && c < nodata_cells {
                            *o = NODATA as f32;
                            nd += 1;
                            continue;
                        }
                        let u = (0.5 + 1.8 * (f / amp[k] - 0.5)).clamp(0.0, 1.0);
                        let x = ((l.lo + u * (l.hi - l.lo)) / l.step).round() * l.step;
                        lo = lo.min(x);
                        hi = hi.max(x);
                        *o = x as f32;
                    }
                }
                (s, k, data, lo, hi, nd)
            })
            .collect();
        for (s, k, data, lo, hi, nd) in done {
            min[k] = min[k].min(lo);
            max[k] = max[k].max(hi);
            if k == 0 {
                nodata += nd;
            }
            let h = data.len() / cols;
            let mut band = out[k].0.rasterband(1)?;
            let mut buf = Buffer::new((cols, h), data);
            band.write((0, (s * STRIP) as isize), (cols, h), &mut buf)?;
        }
        let rows_done = ((b0 + batch).min(nstrips) * STRIP).min(rows);
        eprintln!(
            "  {rows_done}/{rows} rows ({:.0} %), {:.1?}",
            100.0 * rows_done as f64 / rows as f64,
            t0.elapsed()
        );
    }
    let mut total = 0u64;
    for (k, (mut ds, tmp, path)) in out.into_iter().enumerate() {
        ds.flush_cache()?;
        drop(ds);
        std::fs::rename(&tmp, &path)?;
        let size = std::fs::metadata(&path)?.len();
        total += size;
        eprintln!(
            "  {:<14} {:>9.1} MB  {} .. {} {}  ({})",
            specs[k].name,
            size as f64 / 1e6,
            min[k],
            max[k],
            specs[k].unit,
            path.display()
        );
    }
    eprintln!(
        "wrote {layers} layers, {:.1} MB in all, {nodata} nodata cells each, in {:.1?}",
        total as f64 / 1e6,
        t0.elapsed()
    );
    println!("bench_aux_seconds={:.2}", t0.elapsed().as_secs_f64());
    Ok(())
}
