//! Project data generators (not part of the user-facing `gep` binary).
//!
//! - `cargo run -p xtask -- partition`: the seeded township/village partition fixture;
//! - `cargo run --release -p xtask -- bench-data --res 30|10`: benchmark land-cover rasters.
//! - `cargo run --release -p xtask -- decode-floor PATH --threads N`: the benchmark decode floor.

mod bench_data;
mod decode_floor;
mod partition;
mod rng;

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
    /// Decode every block of a Byte raster once with GDAL (the benchmark floor); prints
    /// `decode_floor_seconds=…` on stdout.
    DecodeFloor {
        /// The raster.
        path: PathBuf,
        /// Worker threads, each with its own GDAL dataset.
        #[arg(long, default_value_t = 1)]
        threads: usize,
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
        Cmd::DecodeFloor { path, threads } => decode_floor::run(&path, threads),
    }
}
