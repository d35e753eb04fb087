//! Project data generators (not part of the user-facing `gep` binary).
//!
//! - `cargo run -p xtask -- partition`: the seeded township/village partition fixture;
//! - `cargo run --release -p xtask -- bench-data --res 30|10`: benchmark land-cover rasters.
//! - `cargo run --release -p xtask -- decode-floor PATH... --threads N`: the benchmark decode
//!   floor (one raster, or the land cover and its continuous layers together).
//! - `cargo run --release -p xtask -- bench-aux --res 30|10`: five Float32 continuous rasters
//!   on the benchmark land-cover grid.
//! - `cargo run --release -p xtask -- tally-values --res 30|10 --layers N --threads T`: the
//!   weighted tally (land cover + N continuous layers) over the bench's 8,037 zones.
//! - `cargo run --release -p xtask -- models-willamette`: terrain + RUSLE + water-balance sums
//!   on InVEST's Willamette inputs.

mod bench_aux;
mod bench_data;
mod decode_floor;
mod models_willamette;
mod partition;
mod rng;
mod tally_values;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "GEP project data generators")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Generate fixtures/zj26_{townships,villages}_generated.geojson.
    Partition {
        /// Directory holding zj26_counties_cgcs2000.geojson, zj26_streets.csv, zj26_villages.csv
        /// (copies of /work/shared/data, see fixtures/README.md).
        #[arg(long, default_value_os_t = workspace_root().join("fixtures"))]
        data: PathBuf,
        /// Output directory.
        #[arg(long, default_value_os_t = workspace_root().join("fixtures"))]
        out: PathBuf,
    },
    /// Generate a CLCD-coded land-cover GeoTIFF over the 26 counties in EPSG:4549.
    BenchData {
        /// Cell size in metres (30 or 10).
        #[arg(long, default_value_t = 30)]
        res: u32,
        /// The county boundaries whose bounding box the raster covers.
        #[arg(long, default_value_os_t = workspace_root().join("fixtures/zj26_counties_cgcs2000.geojson"))]
        counties: PathBuf,
        /// Output directory.
        #[arg(long, default_value_os_t = workspace_root().join("bench/data"))]
        out: PathBuf,
    },
    /// Decode every block of one or more Byte or Float32 rasters once with GDAL (the
    /// benchmark floor); prints `decode_floor_seconds=…` on stdout. Several rasters must share
    /// one block grid; each worker decodes a row of blocks of every one of them.
    DecodeFloor {
        /// The rasters.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Worker threads, each with its own GDAL datasets.
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
    /// Generate Float32 continuous rasters (precipitation, aet, npp, erosivity, ndvi) on the
    /// grid of bench/data/clcd_zj26_epsg4549_{res}m.tif.
    BenchAux {
        /// Cell size in metres (30 or 10).
        #[arg(long, default_value_t = 30)]
        res: u32,
        /// How many of the five layers, in that order.
        #[arg(long, default_value_t = 5)]
        layers: usize,
        /// Directory with the land cover; the layers are written there.
        #[arg(long, default_value_os_t = workspace_root().join("bench/data"))]
        data: PathBuf,
    },
    /// Tally the bench land cover with N continuous layers (`gep_zonal::tally_values`) over
    /// the bench's 8,037 zones; prints `tally_values_seconds=…` on stdout.
    TallyValues {
        /// Cell size in metres (30 or 10).
        #[arg(long, default_value_t = 30)]
        res: u32,
        /// How many of the bench-aux layers (0 = the class tally alone).
        #[arg(long, default_value_t = 5)]
        layers: usize,
        /// Worker threads.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Directory with the rasters.
        #[arg(long, default_value_os_t = workspace_root().join("bench/data"))]
        data: PathBuf,
        /// Directory with the boundary fixtures.
        #[arg(long, default_value_os_t = workspace_root().join("fixtures"))]
        fixtures: PathBuf,
        /// Also write the step times and checksums as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Terrain (InVEST D8 LS) + R·K·LS + precipitation (+ actual ET) sums by watershed on the
    /// Willamette inputs; prints the steps' times, peak RSS and `models_willamette_seconds=…`.
    ModelsWillamette {
        /// The Willamette inputs (dem, lulc, erosivity, erodibility, precip, watersheds.shp,
        /// biophysical_table.csv).
        #[arg(long, default_value = "/work/shared/data/models/willamette")]
        data: PathBuf,
        /// Actual ET raster on the same grid (e.g. InVEST AWY's output/per_pixel/aet.tif);
        /// with it, water conservation is computed too.
        #[arg(long)]
        aet: Option<PathBuf>,
        /// Runoff coefficients α by class.
        #[arg(long, default_value_os_t = workspace_root().join("fixtures/models/runoff_coefficients.csv"))]
        alpha: PathBuf,
        /// Worker threads.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Also write the step times and watershed totals as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Partition { data, out } => {
            let t0 = Instant::now();
            let p = partition::build(&data)?;
            std::fs::create_dir_all(&out)?;
            let tp = out.join("zj26_townships_generated.geojson");
            let vp = out.join("zj26_villages_generated.geojson");
            std::fs::write(&tp, partition::to_geojson(&p.townships, "township"))
                .with_context(|| format!("writing {}", tp.display()))?;
            std::fs::write(&vp, partition::to_geojson(&p.villages, "village"))
                .with_context(|| format!("writing {}", vp.display()))?;
            let r = &p.residuals;
            eprintln!("townships: {} -> {}", p.townships.len(), tp.display());
            eprintln!("villages:  {} -> {}", p.villages.len(), vp.display());
            eprintln!(
                "townships without villages: {}",
                p.townships_without_villages.len()
            );
            eprintln!(
                "max |Σ townships − county| / county:   {:e}",
                r.township_vs_county
            );
            eprintln!(
                "max |Σ villages − township| / township: {:e}",
                r.village_vs_township
            );
            eprintln!(
                "max |Σ villages − county| / county:     {:e}",
                r.village_vs_county
            );
            eprintln!(
                "interior edges without a reversed twin: {}",
                r.unmatched_edges
            );
            eprintln!(
                "max |unshared edge length − county perimeter| / perimeter: {:e}",
                r.boundary_length
            );
            eprintln!(
                "largest snap: {:e} deg; T-junction vertices inserted: {}",
                r.max_snap, r.tjunctions
            );
            eprintln!("invalid geometries: {}", r.invalid);
            eprintln!("done in {:.2?}", t0.elapsed());
            Ok(())
        }
        Cmd::BenchData { res, counties, out } => bench_data::run(res, &counties, &out),
        Cmd::DecodeFloor { paths, threads } => decode_floor::run(&paths, threads),
        Cmd::BenchAux { res, layers, data } => bench_aux::run(res, layers, &data),
        Cmd::TallyValues {
            res,
            layers,
            threads,
            data,
            fixtures,
            json,
        } => tally_values::run(res, layers, threads, &data, &fixtures, json.as_deref()),
        Cmd::ModelsWillamette {
            data,
            aet,
            alpha,
            threads,
            json,
        } => models_willamette::run(&data, aet.as_deref(), &alpha, threads, json.as_deref()),
    }
}
