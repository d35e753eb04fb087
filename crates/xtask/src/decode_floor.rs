//! `xtask decode-floor`: the benchmark's floor — read and decode every block of band 1 once
//! with GDAL (`GDALReadBlock`, no block cache, no resampling), one dataset per worker thread,
//! rows of blocks handed out dynamically. A per-value histogram is kept for Byte rasters so
//! that the decode cannot be optimised away and so that the pass touches every byte like a
//! tally would; Float32 blocks are folded into an XOR of their bits (vectorised, ≪ the
//! decode).
//!
//! With several rasters (the land cover plus the continuous layers of `tally-values`), each
//! worker opens every raster, and for each row of blocks it takes, decodes that row of every
//! raster: the floor of a pass that reads all of them once. They must share one block grid.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use gdal::raster::GdalDataType;
use gdal::Dataset;

/// What a worker has seen: a histogram of the Byte rasters and an XOR of the float bits.
struct Seen {
    hist: [u64; 256],
    bits: [u32; 8],
    floats: u64,
}

/// Decode every block of `paths` (band 1, Byte or Float32) with `threads` workers; prints
/// the timing.
pub fn run(paths: &[impl AsRef<Path> + Sync], threads: usize) -> Result<()> {
    let threads = threads.max(1);
    let t0 = Instant::now();
    if paths.is_empty() {
        bail!("decode-floor: no raster given");
    }
    let mut shape = None;
    let mut types = Vec::new();
    for p in paths {
        let p = p.as_ref();
        let ds = Dataset::open(p).with_context(|| format!("opening {}", p.display()))?;
        let band = ds.rasterband(1)?;
        let t = band.band_type();
        if t != GdalDataType::UInt8 && t != GdalDataType::Float32 {
            bail!(
                "decode-floor expects Byte or Float32 rasters; {} is {t:?}",
                p.display()
            );
        }
        types.push(t);
        let s = (band.block_size(), band.x_size(), band.y_size());
        match shape {
            None => shape = Some(s),
            Some(first) if first != s => bail!(
                "decode-floor: {} has blocks/size {s:?}, the first raster {first:?}",
                p.display()
            ),
            _ => {}
        }
    }
    let ((bw, bh), w, h) = shape.expect("at least one raster");
    let (nbx, nby) = (w.div_ceil(bw), h.div_ceil(bh));
    let next = AtomicUsize::new(0);
    let types = &types;
    let seen: Vec<Result<Seen>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> Result<Seen> {
                    let dss = paths
                        .iter()
                        .map(|p| Dataset::open(p.as_ref()))
                        .collect::<Result<Vec<_>, _>>()?;
                    let bands = dss
                        .iter()
                        .map(|d| d.rasterband(1))
                        .collect::<Result<Vec<_>, _>>()?;
                    let mut seen = Seen {
                        hist: [0; 256],
                        bits: [0; 8],
                        floats: 0,
                    };
                    loop {
                        let by = next.fetch_add(1, Ordering::Relaxed);
                        if by >= nby {
                            break;
                        }
                        let vh = bh.min(h - by * bh);
                        for (band, &t) in bands.iter().zip(types) {
                            for bx in 0..nbx {
                                // Only the valid part of edge blocks.
                                let vw = bw.min(w - bx * bw);
                                if t == GdalDataType::UInt8 {
                                    let buf = band.read_block::<u8>((bx, by))?;
                                    let data = buf.data();
                                    for r in 0..vh {
                                        for &v in &data[r * bw..r * bw + vw] {
                                            seen.hist[v as usize] += 1;
                                        }
                                    }
                                } else {
                                    let buf = band.read_block::<f32>((bx, by))?;
                                    let data = buf.data();
                                    for r in 0..vh {
                                        let row = &data[r * bw..r * bw + vw];
                                        let mut it = row.chunks_exact(8);
                                        for c in &mut it {
                                            for (a, v) in seen.bits.iter_mut().zip(c) {
                                                *a ^= v.to_bits();
                                            }
                                        }
                                        for (a, v) in seen.bits.iter_mut().zip(it.remainder()) {
                                            *a ^= v.to_bits();
                                        }
                                        seen.floats += vw as u64;
                                    }
                                }
                            }
                        }
                    }
                    Ok(seen)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|h| h.join().expect("worker panicked"))
            .collect()
    });
    let mut total = [0u64; 256];
    let (mut bits, mut floats) = (0u32, 0u64);
    for s in seen {
        let s = s?;
        for (t, v) in total.iter_mut().zip(s.hist) {
            *t += v;
        }
        bits ^= s.bits.iter().fold(0, |a, b| a ^ b);
        floats += s.floats;
    }
    let secs = t0.elapsed().as_secs_f64();
    let cells: u64 = total.iter().sum();
    let classes = total.iter().filter(|&&c| c > 0).count();
    eprintln!(
        "decode-floor: {} raster(s) of {w} x {h} cells, {nbx} x {nby} blocks of {bw} x {bh}, threads {threads}: {cells} Byte cells ({classes} distinct values), {floats} Float32 cells (xor {bits:08x})",
        paths.len(),
    );
    for p in paths {
        eprintln!("  {}", p.as_ref().display());
    }
    println!("decode_floor_seconds={secs:.4}");
    Ok(())
}
