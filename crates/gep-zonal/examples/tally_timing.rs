//! Fixed-work timing of the tally (for `perf stat` on a shared machine, where criterion's
//! wall-clock numbers are noisy): `cargo run --release -p gep-zonal --example tally_timing -- THREADS ITERATIONS [random|tiling] [LAYERS]`
//! (with LAYERS > 0, `tally_values` with that many continuous layers).

#[path = "../benches/data/mod.rs"]
mod data;

use gep_core::{NoProgress, ValueSource};
use gep_zonal::{tally, tally_values, TallyOptions};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let threads: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1);
    let iterations: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    let which = args.get(3).map(String::as_str).unwrap_or("tiling");
    let n_layers: usize = args.get(4).and_then(|a| a.parse().ok()).unwrap_or(0);
    let layers = data::layers(n_layers);
    let refs: Vec<&dyn ValueSource> = layers.iter().map(|l| l as &dyn ValueSource).collect();
    let src = data::raster();
    let zones = if which == "random" {
        data::random_zones()
    } else {
        data::tiling()
    };
    let opts = TallyOptions {
        threads,
        ..TallyOptions::default()
    };
    for _ in 0..iterations {
        let t0 = Instant::now();
        let t = if refs.is_empty() {
            tally(src, &zones, &opts, &NoProgress).unwrap()
        } else {
            tally_values(src, &refs, &zones, &opts, &NoProgress)
                .unwrap()
                .0
        };
        let dt = t0.elapsed().as_secs_f64();
        println!(
            "{which} {} zones, {n_layers} layers, {threads} threads: {:.3} s, {:.1} M cells/s, total {:.6e} m2",
            zones.len(),
            dt,
            (data::N * data::N) as f64 / dt / 1e6,
            t.zones.iter().map(|z| z.total().to_m2()).sum::<f64>()
        );
    }
}
