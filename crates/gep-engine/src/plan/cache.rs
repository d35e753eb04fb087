//! The per-county tally cache behind `gep run --resume`.
//!
//! Each county's tally (the exact [`ZoneTally`] of every one of its zones, as i128 fixed-point
//! areas) is written as JSON into `<out_parent>/.<out_name>.cache/<county_id>.json` as soon as
//! it is computed, atomically (temporary file + rename), so a killed run leaves only whole
//! files. A file records a SHA-256 key over everything the tally depends on — the engine
//! version and commit, the raster's SHA-256, band, nodata and CRS options and grid, and the
//! county's zone ids and reprojected geometries — and is used only when the key, the county
//! id and the list of zone ids all match; anything else (a changed input, a corrupt or
//! foreign file) is a miss and the county is tallied again.
//!
//! Because each cell's contribution is rounded once and summed exactly, a zone's tally does not
//! depend on which other zones are tallied with it: a county loaded from the cache is
//! bit-identical to one tallied now, and so are all the outputs.

use super::config::Plan;
use super::{Context, Result};
use gep_core::{Grid, Zone, ZoneTally};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Version of the file layout (part of every key).
const FORMAT: u32 = 1;

/// Where the per-county tallies of a run are kept between an interrupted run and
/// `--resume` (the engine's [`TallyCache`] keeps them in files beside the output directory; a
/// caller may keep them anywhere).
pub trait TallyStore: Sync {
    /// The key of a county's zones: a stored tally is used only under the same key.
    fn key(&self, zones: &[Zone]) -> String;
    /// The stored tallies of `unit_id`'s zones, when stored under `key` for these zones.
    fn load(&self, unit_id: &str, key: &str, zones: &[Zone]) -> Option<Vec<ZoneTally>>;
    /// Stores the tallies of `unit_id`'s zones under `key`.
    ///
    /// # Errors
    /// When they cannot be stored (the run goes on; `--resume` will tally it again).
    fn store(&self, unit_id: &str, key: &str, zones: &[Zone], tallies: &[ZoneTally]) -> Result<()>;
}

impl TallyStore for TallyCache {
    fn key(&self, zones: &[Zone]) -> String {
        TallyCache::key(self, zones)
    }
    fn load(&self, unit_id: &str, key: &str, zones: &[Zone]) -> Option<Vec<ZoneTally>> {
        TallyCache::load(self, unit_id, key, zones)
    }
    fn store(&self, unit_id: &str, key: &str, zones: &[Zone], tallies: &[ZoneTally]) -> Result<()> {
        TallyCache::store(self, unit_id, key, zones, tallies)
    }
}

/// The cache directory of one output directory, and the part of the key shared by all units.
pub struct TallyCache {
    dir: PathBuf,
    base: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct CacheFile {
    format: u32,
    key: String,
    unit_id: String,
    zone_ids: Vec<String>,
    zones: Vec<ZoneTally>,
}

/// `<parent>/.<name>.cache` for the output directory `out_dir`.
pub fn cache_dir(out_dir: &Path) -> PathBuf {
    let out = if out_dir.is_absolute() {
        out_dir.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(out_dir))
            .unwrap_or_else(|_| out_dir.to_path_buf())
    };
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    out.with_file_name(format!(".{name}.cache"))
}

fn push_str(buf: &mut Vec<u8>, s: &str) {
    buf.extend_from_slice(&(s.len() as u64).to_le_bytes());
    buf.extend_from_slice(s.as_bytes());
}

fn push_f64(buf: &mut Vec<u8>, x: f64) {
    buf.extend_from_slice(&x.to_bits().to_le_bytes());
}

fn push_len(buf: &mut Vec<u8>, n: usize) {
    buf.extend_from_slice(&(n as u64).to_le_bytes());
}

impl TallyCache {
    /// The cache of `plan`'s output directory for the raster with SHA-256 `raster_sha256`
    /// and grid `grid`.
    pub fn new(plan: &Plan, raster_sha256: &str, grid: &Grid, crs_label: &str) -> TallyCache {
        let mut base = Vec::new();
        push_str(&mut base, "gep tally cache");
        push_len(&mut base, FORMAT as usize);
        push_str(&mut base, env!("CARGO_PKG_VERSION"));
        push_str(&mut base, option_env!("GEP_GIT_COMMIT").unwrap_or(""));
        push_len(
            &mut base,
            gep_core::extent::EXACT_AREA_FRACTION_BITS as usize,
        );
        push_str(&mut base, raster_sha256);
        push_len(&mut base, plan.band);
        match plan.nodata {
            Some(n) => push_f64(&mut base, n),
            None => push_str(&mut base, "no nodata override"),
        }
        push_str(&mut base, plan.landcover_crs.as_deref().unwrap_or(""));
        push_str(&mut base, crs_label);
        for x in [grid.left, grid.top, grid.cell_width, grid.cell_height] {
            push_f64(&mut base, x);
        }
        push_len(&mut base, grid.rows);
        push_len(&mut base, grid.cols);
        push_str(&mut base, grid.area_basis().as_str());
        TallyCache {
            dir: cache_dir(&plan.out_dir),
            base,
        }
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key of a unit made of `zones` (in tally order): SHA-256 over the shared part, the
    /// zone ids and levels and every coordinate of their (reprojected) geometries.
    pub fn key(&self, zones: &[Zone]) -> String {
        let mut buf = self.base.clone();
        push_len(&mut buf, zones.len());
        for z in zones {
            push_str(&mut buf, &z.id);
            push_str(&mut buf, z.level.as_str());
            push_len(&mut buf, z.geometry.0.len());
            for p in &z.geometry.0 {
                push_len(&mut buf, p.interiors().len() + 1);
                for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                    push_len(&mut buf, ring.0.len());
                    for c in &ring.0 {
                        push_f64(&mut buf, c.x);
                        push_f64(&mut buf, c.y);
                    }
                }
            }
        }
        gep_report::sha256_bytes(&buf)
    }

    fn file(&self, unit_id: &str) -> PathBuf {
        // Ids come from user files: anything but a plain code is replaced by its hash.
        let plain = !unit_id.is_empty()
            && unit_id.len() <= 64
            && unit_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        let name = if plain {
            unit_id.to_string()
        } else {
            gep_report::sha256_bytes(unit_id.as_bytes())
        };
        self.dir.join(format!("{name}.json"))
    }

    /// The cached tallies of a unit, when a file with exactly this key, unit and zones exists.
    pub fn load(&self, unit_id: &str, key: &str, zones: &[Zone]) -> Option<Vec<ZoneTally>> {
        let bytes = std::fs::read(self.file(unit_id)).ok()?;
        let f: CacheFile = serde_json::from_slice(&bytes).ok()?;
        let ok = f.format == FORMAT
            && f.key == key
            && f.unit_id == unit_id
            && f.zone_ids.len() == zones.len()
            && f.zones.len() == zones.len()
            && f.zone_ids.iter().zip(zones).all(|(a, z)| *a == z.id);
        ok.then_some(f.zones)
    }

    /// Writes a unit's tallies atomically (temporary file, flushed, then renamed).
    pub fn store(
        &self,
        unit_id: &str,
        key: &str,
        zones: &[Zone],
        tallies: &[ZoneTally],
    ) -> Result<()> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating the tally cache {}", self.dir.display()))?;
        let f = CacheFile {
            format: FORMAT,
            key: key.to_string(),
            unit_id: unit_id.to_string(),
            zone_ids: zones.iter().map(|z| z.id.clone()).collect(),
            zones: tallies.to_vec(),
        };
        let path = self.file(unit_id);
        let tmp = path.with_extension(format!("json.tmp{}", std::process::id()));
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&serde_json::to_vec(&f).map_err(std::io::Error::other)?)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            crate::EngineError::input(format!("writing the tally cache {}: {e}", path.display()))
        })
    }

    /// Removes the cache directory (after a fully successful run).
    pub fn clear(&self) {
        if self.dir.exists() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gep_core::ExactArea;

    #[test]
    fn i128_areas_round_trip_through_json() {
        let mut t = ZoneTally::default();
        t.add_class(7, ExactArea(i128::MAX / 3));
        t.add_class(255, ExactArea(-(1i128 << 100) - 12345));
        t.nodata = ExactArea(1);
        t.outside = ExactArea(i128::MIN / 5);
        let json = serde_json::to_vec(&vec![t.clone()]).unwrap();
        let back: Vec<ZoneTally> = serde_json::from_slice(&json).unwrap();
        assert_eq!(back, vec![t]);
    }

    #[test]
    fn cache_dir_is_a_hidden_sibling() {
        assert_eq!(
            cache_dir(Path::new("/data/run/out")),
            Path::new("/data/run/.out.cache")
        );
    }
}
