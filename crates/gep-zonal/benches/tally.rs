//! Tally throughput on an in-memory 10,000 x 10,000 grid (10⁸ cells of 30 m), with
//! 1,000 random polygons and with a county → 36 townships → 7,560 villages tiling; the
//! tiling's tally with the weighted sums of 0 and 5 continuous layers; plus a coverage
//! micro-benchmark and the geometric hierarchy checks on that tiling.
//!
//! `cargo bench -p gep-zonal` (a few minutes). Sample counts are kept at criterion's minimum.

mod data;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use data::{grid, layers, random_zones, raster, star, tiling, N};
use gep_core::{NoProgress, ValueSource, Window};
use gep_zonal::{
    hierarchy_checks, tally, tally_values, CheckOptions, PreparedPolygon, TallyOptions,
};
use std::hint::black_box;

fn bench_coverage(c: &mut Criterion) {
    let g = grid();
    let p = star(7, 5000.0, 5000.0, 200.0, 1000);
    let prep = PreparedPolygon::new(&p, &g).unwrap();
    let w = Window::new(4800, 4800, 400, 400);
    let mut buf = gep_zonal::CoverageBuffer::default();
    let mut group = c.benchmark_group("coverage");
    group.throughput(Throughput::Elements(w.len() as u64));
    group.bench_function("star_1000_vertices_400x400", |b| {
        b.iter(|| {
            prep.coverage_into(black_box(w), &mut buf);
            black_box(buf.fractions[80_200]);
        })
    });
    group.throughput(Throughput::Elements(1000));
    group.bench_function("prepare_1000_vertices", |b| {
        b.iter(|| PreparedPolygon::new(black_box(&p), &g).unwrap())
    });
    group.finish();
}

fn bench_tally(c: &mut Criterion) {
    let src = raster();
    let random = random_zones();
    let tiles = tiling();
    let mut group = c.benchmark_group("tally_1e8_cells");
    group.sample_size(10);
    group.throughput(Throughput::Elements((N * N) as u64));
    for threads in [1, 2] {
        let opts = TallyOptions {
            threads,
            ..TallyOptions::default()
        };
        group.bench_function(format!("random_1000_polygons_{threads}_threads"), |b| {
            b.iter(|| tally(src, &random, &opts, &NoProgress).unwrap())
        });
        group.bench_function(
            format!("county_36_townships_7560_villages_{threads}_threads"),
            |b| b.iter(|| tally(src, &tiles, &opts, &NoProgress).unwrap()),
        );
    }
    group.finish();
}

/// The tally of the tiling with the weighted sums of 0 or 5 continuous layers, in one pass.
fn bench_tally_values(c: &mut Criterion) {
    let src = raster();
    let tiles = tiling();
    let ls = layers(5);
    let refs: Vec<&dyn ValueSource> = ls.iter().map(|l| l as &dyn ValueSource).collect();
    let mut group = c.benchmark_group("tally_values_1e8_cells");
    group.sample_size(10);
    group.throughput(Throughput::Elements((N * N) as u64));
    for threads in [1, 2] {
        let opts = TallyOptions {
            threads,
            ..TallyOptions::default()
        };
        for n in [0, 5] {
            group.bench_function(
                format!("county_36_townships_7560_villages_{n}_layers_{threads}_threads"),
                |b| b.iter(|| tally_values(src, &refs[..n], &tiles, &opts, &NoProgress).unwrap()),
            );
        }
    }
    group.finish();
}

fn bench_checks(c: &mut Criterion) {
    let src = raster();
    let tiles = tiling();
    let table = tally(src, &tiles, &TallyOptions::default(), &NoProgress).unwrap();
    // Once, untimed: on this perfect tiling there should be no gap/overlap/spill rows and
    // only rounding-level residuals.
    let t0 = std::time::Instant::now();
    let rows =
        hierarchy_checks(&tiles, &table, src, &CheckOptions::default(), &NoProgress).unwrap();
    let extra = rows
        .iter()
        .filter(|r| r.kind != gep_zonal::CheckKind::Sum)
        .count();
    let worst = rows
        .iter()
        .filter(|r| r.kind == gep_zonal::CheckKind::Sum)
        .map(|r| r.residual_m2.abs() / r.parent_area_m2.max(1.0))
        .fold(0.0, f64::max);
    eprintln!(
        "checks on the tiling: {} rows, {extra} gap/overlap/spill rows, worst relative residual {worst:e}, {:?} with geometry",
        rows.len(),
        t0.elapsed()
    );
    let mut group = c.benchmark_group("hierarchy_checks_7560_villages");
    group.sample_size(10);
    for geometry in [false, true] {
        let opts = CheckOptions {
            geometry,
            ..CheckOptions::default()
        };
        group.bench_function(
            if geometry {
                "with_geometry"
            } else {
                "sums_only"
            },
            |b| b.iter(|| hierarchy_checks(&tiles, &table, src, &opts, &NoProgress).unwrap()),
        );
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_coverage,
    bench_tally,
    bench_tally_values,
    bench_checks
);
criterion_main!(benches);
