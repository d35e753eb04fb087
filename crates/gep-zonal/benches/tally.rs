//! Tally throughput on an in-memory 10,000 x 10,000 grid (10⁸ cells of 30 m), with
//! 1,000 random polygons and with a county → 36 townships → 7,560 villages tiling; plus a
//! coverage micro-benchmark and the geometric hierarchy checks on that tiling.
//!
//! `cargo bench -p gep-zonal` (a few minutes). Sample counts are kept at criterion's minimum.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use gep_core::{ClassCode, CrsInfo, Grid, Level, MemRaster, NoProgress, Window, Zone};
use gep_zonal::{hierarchy_checks, tally, CheckOptions, PreparedPolygon, TallyOptions};
use std::hint::black_box;
use std::sync::OnceLock;

const N: usize = 10_000;
const CELL: f64 = 30.0;
const LEFT: f64 = 400_000.0;
const TOP: f64 = 3_400_000.0;

fn grid() -> Grid {
    Grid::new(LEFT, TOP, CELL, CELL, N, N, CrsInfo::projected("EPSG:4549")).unwrap()
}

fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Patches of 8 x 6 cells of CLCD-like classes 1..=9, ~2 % nodata.
fn raster() -> &'static MemRaster {
    static R: OnceLock<MemRaster> = OnceLock::new();
    R.get_or_init(|| {
        MemRaster::from_fn(grid(), |r, c| {
            let h = mix(((r / 8) as u64) << 32 | (c / 6) as u64);
            if h.is_multiple_of(50) {
                None
            } else {
                Some((h % 9) as ClassCode + 1)
            }
        })
        .with_block_size(512, 512)
    })
}

fn to_xy(u: f64, v: f64) -> Coord<f64> {
    Coord {
        x: LEFT + u * CELL,
        y: TOP - v * CELL,
    }
}

/// A star-shaped polygon of `n` vertices around cell (`cu`, `cv`).
fn star(seed: u64, cu: f64, cv: f64, r: f64, n: usize) -> MultiPolygon<f64> {
    let mut pts: Vec<Coord<f64>> = (0..n)
        .map(|i| {
            let h = mix(seed ^ (i as u64) << 20);
            let rr = r * (0.5 + 0.5 * (h % 1000) as f64 / 1000.0);
            let a = i as f64 / n as f64 * std::f64::consts::TAU;
            to_xy(cu + rr * a.cos(), cv + rr * a.sin())
        })
        .collect();
    pts.push(pts[0]);
    MultiPolygon::new(vec![Polygon::new(LineString(pts), vec![])])
}

fn random_zones() -> Vec<Zone> {
    (0..1000u64)
        .map(|i| {
            let h = mix(i + 17);
            let cu = (h % 10_400) as f64 - 200.0; // some straddle the raster's edges
            let cv = ((h >> 20) % 10_400) as f64 - 200.0;
            let r = 50.0 + ((h >> 40) % 250) as f64;
            Zone {
                id: format!("{i}"),
                name: String::new(),
                level: Level::Village,
                parent: None,
                geometry: star(h, cu, cv, r, 200),
            }
        })
        .collect()
}

/// A county covering the grid, 6 x 6 townships of 14 x 15 villages (7,560), boundaries
/// densified with shared, wiggled points so neighbours share every vertex.
fn tiling() -> Vec<Zone> {
    const VI: usize = 84;
    const VJ: usize = 90;
    const SEG: usize = 12;
    let du = N as f64 / VI as f64;
    let dv = N as f64 / VJ as f64;
    let node = |i: usize, j: usize| -> (f64, f64) {
        let h = mix((i as u64) << 32 | j as u64);
        let jit = |k: u64, d: f64| {
            if k == 0 {
                0.0
            } else {
                ((k % 1000) as f64 / 1000.0 - 0.5) * 0.4 * d
            }
        };
        let (bi, bj) = ((i == 0 || i == VI) as u64, (j == 0 || j == VJ) as u64);
        (
            i as f64 * du + jit((1 - bi) * (h | 1), du),
            j as f64 * dv + jit((1 - bj) * ((h >> 21) | 1), dv),
        )
    };
    // Points from node a to node b (excluding b), identical for both traversal directions.
    let edge = |a: (usize, usize), b: (usize, usize)| -> Vec<Coord<f64>> {
        let (lo, hi, rev) = if a <= b { (a, b, false) } else { (b, a, true) };
        let (p, q) = (node(lo.0, lo.1), node(hi.0, hi.1));
        let boundary = (lo.0 == hi.0 && (lo.0 == 0 || lo.0 == VI))
            || (lo.1 == hi.1 && (lo.1 == 0 || lo.1 == VJ));
        let mut pts: Vec<(f64, f64)> = (0..=SEG)
            .map(|k| {
                let t = k as f64 / SEG as f64;
                let h = mix((lo.0 * 1000 + lo.1) as u64 * 7919
                    + (hi.0 * 1000 + hi.1) as u64 * 31
                    + k as u64);
                let w = if k == 0 || k == SEG || boundary {
                    0.0
                } else {
                    ((h % 1000) as f64 / 1000.0 - 0.5) * 6.0
                };
                let (nx, ny) = (-(q.1 - p.1), q.0 - p.0);
                let len = (nx * nx + ny * ny).sqrt();
                (
                    p.0 + t * (q.0 - p.0) + w * nx / len,
                    p.1 + t * (q.1 - p.1) + w * ny / len,
                )
            })
            .collect();
        if rev {
            pts.reverse();
        }
        pts.pop();
        pts.into_iter().map(|(u, v)| to_xy(u, v)).collect()
    };
    let ring = |i0: usize, j0: usize, i1: usize, j1: usize| -> MultiPolygon<f64> {
        let mut path = Vec::new();
        for i in i0..i1 {
            path.push((i, j0));
        }
        for j in j0..j1 {
            path.push((i1, j));
        }
        for i in (i0 + 1..=i1).rev() {
            path.push((i, j1));
        }
        for j in (j0 + 1..=j1).rev() {
            path.push((i0, j));
        }
        let mut pts = Vec::new();
        for k in 0..path.len() {
            pts.extend(edge(path[k], path[(k + 1) % path.len()]));
        }
        pts.push(pts[0]);
        MultiPolygon::new(vec![Polygon::new(LineString(pts), vec![])])
    };
    let mut zones = vec![Zone {
        id: "331100".into(),
        name: String::new(),
        level: Level::County,
        parent: None,
        geometry: ring(0, 0, VI, VJ),
    }];
    for ti in 0..6 {
        for tj in 0..6 {
            let tid = format!("331100{:03}", ti * 6 + tj + 1);
            zones.push(Zone {
                id: tid.clone(),
                name: String::new(),
                level: Level::Township,
                parent: Some("331100".into()),
                geometry: ring(ti * 14, tj * 15, ti * 14 + 14, tj * 15 + 15),
            });
            for vi in 0..14 {
                for vj in 0..15 {
                    let (i, j) = (ti * 14 + vi, tj * 15 + vj);
                    zones.push(Zone {
                        id: format!("{tid}{:03}", vi * 15 + vj + 1),
                        name: String::new(),
                        level: Level::Village,
                        parent: Some(tid.clone()),
                        geometry: ring(i, j, i + 1, j + 1),
                    });
                }
            }
        }
    }
    zones
}

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

fn bench_checks(c: &mut Criterion) {
    let src = raster();
    let tiles = tiling();
    let table = tally(src, &tiles, &TallyOptions::default(), &NoProgress).unwrap();
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

criterion_group!(benches, bench_coverage, bench_tally, bench_checks);
criterion_main!(benches);
