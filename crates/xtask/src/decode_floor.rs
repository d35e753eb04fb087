//! `xtask decode-floor`: the benchmark's floor — read and decode every block of band 1 once
//! with GDAL (`GDALReadBlock`, no block cache, no resampling), one dataset per worker thread,
//! rows of blocks handed out dynamically. A per-value histogram is kept so that the decode
//! cannot be optimised away and so that the pass touches every byte like a tally would.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use gdal::Dataset;

/// Decode every block of `path` (band 1, Byte) with `threads` workers; prints the timing.
pub fn run(path: &Path, threads: usize) -> Result<()> {
    let threads = threads.max(1);
    let t0 = Instant::now();
    let (bw, bh, w, h) = {
        let ds = Dataset::open(path).with_context(|| format!("opening {}", path.display()))?;
        let band = ds.rasterband(1)?;
        if band.band_type() != gdal::raster::GdalDataType::UInt8 {
            bail!("decode-floor expects a Byte raster");
        }
        let (bw, bh) = band.block_size();
        (bw, bh, band.x_size(), band.y_size())
    };
    let (nbx, nby) = (w.div_ceil(bw), h.div_ceil(bh));
    let next = AtomicUsize::new(0);
    let hists: Vec<Result<[u64; 256]>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> Result<[u64; 256]> {
                    let ds = Dataset::open(path)?;
                    let band = ds.rasterband(1)?;
                    let mut hist = [0u64; 256];
                    loop {
                        let by = next.fetch_add(1, Ordering::Relaxed);
                        if by >= nby {
                            break;
                        }
                        for bx in 0..nbx {
                            let buf = band.read_block::<u8>((bx, by))?;
                            // Only the valid part of edge blocks.
                            let vw = bw.min(w - bx * bw);
                            let vh = bh.min(h - by * bh);
                            let data = buf.data();
                            for r in 0..vh {
                                for &v in &data[r * bw..r * bw + vw] {
                                    hist[v as usize] += 1;
                                }
                            }
                        }
                    }
                    Ok(hist)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|h| h.join().expect("worker panicked"))
            .collect()
    });
    let mut total = [0u64; 256];
    for h in hists {
        for (t, v) in total.iter_mut().zip(h?) {
            *t += v;
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let cells: u64 = total.iter().sum();
    let classes = total.iter().filter(|&&c| c > 0).count();
    eprintln!(
        "decode-floor: {} ({w} x {h} cells, {nbx} x {nby} blocks of {bw} x {bh}), threads {threads}: {cells} cells, {classes} distinct values",
        path.display()
    );
    println!("decode_floor_seconds={secs:.4}");
    Ok(())
}
