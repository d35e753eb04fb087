//! Synthetic data shared by the benchmark and the timing example: an in-memory 10,000 x
//! 10,000 grid of 30 m cells with patchy classes, random polygons and a county tiling.
#![allow(dead_code)]

use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use gep_core::{
    ClassCode, CoreError, CrsInfo, Grid, LayerInfo, Level, MemRaster, ValueBlock, ValueSource,
    Window, Zone,
};
use std::sync::Arc;
use std::sync::OnceLock;

pub const N: usize = 10_000;
const CELL: f64 = 30.0;
const LEFT: f64 = 400_000.0;
const TOP: f64 = 3_400_000.0;

pub fn grid() -> Grid {
    Grid::new(LEFT, TOP, CELL, CELL, N, N, CrsInfo::projected("EPSG:4549")).unwrap()
}

pub fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Patches of 8 x 6 cells of CLCD-like classes 1..=9, ~2 % nodata.
pub fn raster() -> &'static MemRaster {
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

pub fn to_xy(u: f64, v: f64) -> Coord<f64> {
    Coord {
        x: LEFT + u * CELL,
        y: TOP - v * CELL,
    }
}

/// A star-shaped polygon of `n` vertices around cell (`cu`, `cv`).
pub fn star(seed: u64, cu: f64, cv: f64, r: f64, n: usize) -> MultiPolygon<f64> {
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

pub fn random_zones() -> Vec<Zone> {
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
pub fn tiling() -> Vec<Zone> {
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

/// Side of the tile a [`TiledLayer`] repeats: prime, so windows straddle tiles.
const TILE: usize = 509;

/// A continuous layer over the whole grid with bounded memory: a 509 x 509 tile of values
/// (precipitation-like, ~3 % no data) repeated, read by copying, as an in-memory layer is.
#[derive(Clone)]
pub struct TiledLayer {
    grid: Grid,
    info: LayerInfo,
    tile: Arc<Vec<Option<f64>>>,
}

impl ValueSource for TiledLayer {
    fn grid(&self) -> &Grid {
        &self.grid
    }
    fn info(&self) -> &LayerInfo {
        &self.info
    }
    fn block_size(&self) -> (usize, usize) {
        (512, 512)
    }
    fn read_values(&mut self, w: Window) -> Result<ValueBlock, CoreError> {
        self.grid.check_window(&w)?;
        let mut cells = Vec::with_capacity(w.len());
        for r in w.row_off..w.row_end() {
            let row = &self.tile[(r % TILE) * TILE..(r % TILE + 1) * TILE];
            let mut c = w.col_off;
            while c < w.col_end() {
                let t = c % TILE;
                let n = (TILE - t).min(w.col_end() - c);
                cells.extend_from_slice(&row[t..t + n]);
                c += n;
            }
        }
        Ok(ValueBlock { window: w, cells })
    }
    fn try_clone_values(&self) -> Result<Box<dyn ValueSource>, CoreError> {
        Ok(Box::new(self.clone()))
    }
}

/// `n` tiled layers on [`grid`], each with its own values.
pub fn layers(n: usize) -> Vec<TiledLayer> {
    (0..n)
        .map(|l| {
            let tile = (0..TILE * TILE)
                .map(|i| {
                    let h = mix((l as u64) << 40 | i as u64);
                    (!h.is_multiple_of(32)).then_some(500.0 + (h % 150_000) as f64 / 100.0)
                })
                .collect();
            TiledLayer {
                grid: grid(),
                info: LayerInfo::new(format!("layer{l}"), "mm"),
                tile: Arc::new(tile),
            }
        })
        .collect()
}
