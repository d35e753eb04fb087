//! Wiring of the report outputs: GeoPackage (gep-io), XLSX, HTML, wide CSV and manifest
//! (gep-report), and the optional value-density GeoTIFF.

use anyhow::{Context, Result};
use gep_core::account::{compute_accounts, Accounts};
use gep_core::catalog::Catalog;
use gep_core::{ExactArea, ExtentTable, Level, RasterSource, Zone};
use gep_engine::plan::Prepared;
use gep_engine::Valuation;
use gep_report::{
    CheckSummary, IdHash, InputFile, Lang, Manifest, OutputFile, ReportInput, ReportZone, RunInfo,
    ServiceTotal, StagedDir, Timing,
};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Σ value, Σ quantity, quantity unit and category of one zone × service.
type ServiceSum = (
    Option<f64>,
    Option<f64>,
    String,
    gep_core::catalog::Category,
);

/// Names of the numeric fields of the GeoPackage layers.
const GPKG_FIELDS: [&str; 7] = [
    "area_ha",
    "covered_ha",
    "gep_yuan",
    "material_yuan",
    "regulating_yuan",
    "cultural_yuan",
    "gep_yuan_per_ha",
];

/// Per zone: GEP row values (total, material, regulating, cultural, supporting), or NaN when
/// not valued.
fn gep_values(accounts: Option<&Accounts>, n: usize) -> Vec<[f64; 5]> {
    let mut v = vec![[f64::NAN; 5]; n];
    if let Some(a) = accounts {
        for (i, g) in a.gep.iter().enumerate().take(n) {
            v[i] = [
                g.gep_yuan,
                g.material_yuan,
                g.regulating_yuan,
                g.cultural_yuan,
                g.supporting_yuan,
            ];
        }
    }
    v
}

/// Text fields of the GeoPackage's zone layers.
const GPKG_TEXT: [&str; 8] = [
    "zone_id",
    "zone_level",
    "name",
    "parent_id",
    "county_id",
    "county_name",
    "township_id",
    "township_name",
];

/// The gap/overlap pieces of a run for `zones.gpkg`: the pieces and their CRS.
pub struct GpkgPieces<'a> {
    /// The pieces that gave rows in `checks.csv`.
    pub pieces: &'a [gep_engine::plan::CheckPiece],
    /// Their CRS.
    pub crs: &'a gep_io::Crs,
}

/// Writes `zones.gpkg`, ready for a QGIS choropleth: one layer per level with the boundaries
/// **as read** (the vertices of the input, not the densified reprojection the tally used), in
/// that level's own CRS, and with `pieces` a layer `gaps_overlaps` of the hierarchy checks'
/// gap, overlap and spill polygons (`parent_id, level, kind, children, area_m2`) in their CRS.
pub fn write_gpkg(
    staged: &StagedDir,
    source: &gep_engine::plan::SourceGeometry,
    raster_crs: &gep_io::Crs,
    zones: &[Zone],
    table: &ExtentTable,
    accounts: Option<&Accounts>,
    pieces: Option<GpkgPieces<'_>>,
) -> Result<()> {
    let gv = gep_values(accounts, zones.len());
    let names = gep_report::ZoneDirectory::of_zones(zones);
    let children: Vec<String> = pieces
        .as_ref()
        .map(|p| p.pieces.iter().map(|c| c.children.join(";")).collect())
        .unwrap_or_default();
    let mut per_level: BTreeMap<Level, Vec<gep_io::GpkgFeature<'_>>> = BTreeMap::new();
    for (i, z) in zones.iter().enumerate() {
        let t = &table.zones[i];
        let area_ha = t.total().to_m2() / 1e4;
        let [g, m, r, c, _] = gv[i];
        let ctx = names.get(&z.id);
        per_level
            .entry(z.level)
            .or_default()
            .push(gep_io::GpkgFeature {
                geometry: source.as_read(z),
                texts: vec![
                    z.id.as_str(),
                    z.level.as_str(),
                    z.name.as_str(),
                    z.parent.as_deref().unwrap_or(""),
                    ctx.county_id.as_str(),
                    ctx.county_name.as_str(),
                    ctx.township_id.as_str(),
                    ctx.township_name.as_str(),
                ],
                reals: vec![
                    area_ha,
                    t.covered().to_m2() / 1e4,
                    g,
                    m,
                    r,
                    c,
                    if area_ha > 0.0 { g / area_ha } else { f64::NAN },
                ],
            });
    }
    let mut layers: Vec<gep_io::GpkgLayer<'_>> = per_level
        .into_iter()
        .map(|(level, features)| gep_io::GpkgLayer {
            name: level.as_str(),
            crs: source.crs_of(level).unwrap_or(raster_crs),
            text_fields: &GPKG_TEXT,
            real_fields: &GPKG_FIELDS,
            features,
        })
        .collect();
    if let Some(p) = pieces {
        layers.push(gep_io::GpkgLayer {
            name: "gaps_overlaps",
            crs: p.crs,
            text_fields: &["parent_id", "level", "kind", "children"],
            real_fields: &["area_m2"],
            features: p
                .pieces
                .iter()
                .zip(&children)
                .map(|(c, ch)| gep_io::GpkgFeature {
                    geometry: &c.geometry,
                    texts: vec![
                        c.parent_id.as_str(),
                        c.level.as_str(),
                        c.kind.as_str(),
                        ch.as_str(),
                    ],
                    reals: vec![c.area_m2],
                })
                .collect(),
        });
    }
    gep_io::write_gpkg(staged.file("zones.gpkg"), &layers)?;
    Ok(())
}

/// The sensitivity table of all top-level zones together (`all` rows of `sensitivity.csv`),
/// for the report.
pub fn sensitivity_lines(
    physical: Option<&gep_engine::Physical>,
) -> Vec<gep_report::SensitivityLine> {
    physical
        .map(|p| {
            p.sensitivity
                .iter()
                .filter(|r| r.zone_id == "all")
                .map(|r| gep_report::SensitivityLine {
                    service: r.service.clone(),
                    parameter: r.parameter.clone(),
                    unit: r.unit.clone(),
                    value: r.value,
                    low: r.low,
                    high: r.high,
                    gep_yuan: r.gep_yuan,
                    gep_low_yuan: r.gep_low_yuan,
                    gep_high_yuan: r.gep_high_yuan,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Builds the report model (zones with values, service totals, checks, run info).
pub fn report_input(
    zones: &[Zone],
    table: &ExtentTable,
    accounts: Option<&Accounts>,
    checks: &[gep_zonal::CheckRow],
    crosswalk: Option<&gep_core::crosswalk::Crosswalk>,
    run: RunInfo,
    lang: Lang,
) -> ReportInput {
    let gv = gep_values(accounts, zones.len());
    let valued = accounts.is_some();
    let rzones = zones
        .iter()
        .enumerate()
        .map(|(i, z)| {
            let [g, m, r, c, sp] = gv[i];
            let some = |x: f64| valued.then_some(x);
            ReportZone {
                id: z.id.clone(),
                name: z.name.clone(),
                level: z.level,
                parent: z.parent.clone(),
                geometry: z.geometry.clone(),
                area_ha: table.zones[i].total().to_m2() / 1e4,
                gep_yuan: some(g),
                material_yuan: some(m),
                regulating_yuan: some(r),
                cultural_yuan: some(c),
                supporting_yuan: some(sp),
            }
        })
        .collect();
    let mut services = Vec::new();
    if let Some(a) = accounts {
        let cat = Catalog::builtin();
        // Σ per zone × service in row order (rows are grouped by zone): deterministic.
        let mut acc: BTreeMap<(usize, String), ServiceSum> = BTreeMap::new();
        let pos: HashMap<&str, usize> = zones
            .iter()
            .enumerate()
            .map(|(i, z)| (z.id.as_str(), i))
            .collect();
        for r in &a.rows {
            let Some(&zi) = pos.get(&*r.zone_id) else {
                continue;
            };
            let e = acc.entry((zi, r.service.to_string())).or_insert((
                None,
                None,
                r.quantity_unit.as_deref().unwrap_or("").to_string(),
                r.category,
            ));
            if let Some(v) = r.value_yuan {
                e.0 = Some(e.0.unwrap_or(0.0) + v);
            }
            if let Some(q) = r.quantity {
                e.1 = Some(e.1.unwrap_or(0.0) + q);
            }
        }
        // Per zone, services in the standard's order (the report lists them as given).
        let mut acc: Vec<_> = acc.into_iter().collect();
        acc.sort_by(|((za, sa), _), ((zb, sb), _)| {
            (za, cat.service_order(sa)).cmp(&(zb, cat.service_order(sb)))
        });
        for ((zi, service), (value, quantity, unit, category)) in acc {
            let (zh, en) = cat
                .service(&service)
                .map(|s| (s.zh.clone(), s.en.clone()))
                .unwrap_or_else(|| (service.clone(), service.clone()));
            services.push(ServiceTotal {
                zone_id: zones[zi].id.clone(),
                service,
                service_zh: zh,
                service_en: en,
                category,
                value_yuan: value,
                quantity,
                quantity_unit: unit,
            });
        }
    }
    let checks = checks
        .iter()
        .map(|c| CheckSummary {
            parent_id: c.parent_id.clone(),
            level: c.level,
            kind: c.kind.as_str().to_string(),
            class: c.class,
            residual_m2: c.residual_m2,
            parent_area_m2: c.parent_area_m2,
            children: if c.kind == gep_zonal::CheckKind::Overlap {
                c.children.clone()
            } else {
                Vec::new()
            },
        })
        .collect();
    let roots: Vec<&str> = zones
        .iter()
        .filter(|z| z.parent.is_none())
        .map(|z| z.name.as_str())
        .collect();
    let who = if roots.len() <= 3 {
        roots.join(" · ")
    } else {
        match lang {
            Lang::Zh => format!("{} 个{}", roots.len(), level_zh(zones)),
            Lang::En => format!(
                "{} {}s",
                roots.len(),
                zones.iter().map(|z| z.level).min().unwrap_or(Level::County)
            ),
        }
    };
    let year = run.year.map(|y| y.to_string()).unwrap_or_default();
    let esv = run
        .totals
        .as_ref()
        .is_some_and(|t| t.label.kind == gep_core::TotalKind::Esv);
    let title = match (lang, esv) {
        (Lang::Zh, false) => format!("生态系统生产总值（GEP）核算 {year} · {who}"),
        (Lang::En, false) => format!("Gross Ecosystem Product {year} · {who}"),
        (Lang::Zh, true) => format!("生态系统服务价值（ESV，当量因子法估算）{year} · {who}"),
        (Lang::En, true) => {
            format!("Ecosystem service value (ESV, equivalent-factor estimate) {year} · {who}")
        }
    };
    let extent_types = crosswalk
        .map(|cw| {
            let cat = Catalog::builtin();
            zones
                .iter()
                .zip(&table.zones)
                .flat_map(|(z, t)| {
                    gep_core::account::ecosystem_extent(t, cw)
                        .into_iter()
                        .map(|(ty, area)| {
                            let e = cat.ecosystem(&ty);
                            gep_report::ExtentTypeLine {
                                zone_id: z.id.clone(),
                                ecosystem_type_zh: e.map(|e| e.zh.clone()).unwrap_or_default(),
                                ecosystem_type_en: e.map(|e| e.en.clone()).unwrap_or_default(),
                                ecosystem_type: ty,
                                area_ha: area.to_m2() / 1e4,
                            }
                        })
                })
                .collect()
        })
        .unwrap_or_default();
    ReportInput {
        sensitivity: Vec::new(),
        extent_types,
        title,
        zones: rzones,
        services,
        checks,
        run,
        map_crs: None,
    }
}

/// Value density (元/ha/a) of each land-cover class: the account of one hectare of the class.
pub fn class_densities(v: &Valuation, classes: &[i32], year: i32) -> Result<HashMap<i32, f64>> {
    let zones: Vec<Zone> = classes
        .iter()
        .map(|c| Zone {
            id: format!("class:{c}"),
            name: String::new(),
            level: Level::County,
            parent: None,
            geometry: geo::MultiPolygon::new(vec![]),
        })
        .collect();
    let mut table = ExtentTable::for_zones(&zones);
    for (i, c) in classes.iter().enumerate() {
        table.zones[i].add_class(*c, ExactArea::from_m2(10_000.0));
    }
    let a = compute_accounts(
        &zones,
        &table,
        year,
        v.crosswalk.as_ref(),
        &v.set,
        &v.params,
    )?;
    Ok(classes
        .iter()
        .zip(&a.gep)
        .map(|(c, g)| (*c, g.gep_yuan))
        .collect())
}

/// Writes `value_density.tif`: 元/ha/a per cell (Float32, tiled, DEFLATE), nodata where the
/// land cover is nodata or its class is not mapped by the crosswalk. Every mapped class is
/// valued, inside the zones or not, so the map has no holes where no zone happens to lie.
/// `classes` are used only for sets keyed by class (no crosswalk).
pub fn write_value_raster(
    staged: &StagedDir,
    prep: &Prepared,
    v: &Valuation,
    classes: &[i32],
) -> Result<()> {
    let mapped: Vec<i32> = match &v.crosswalk {
        Some(cw) => cw.classes.keys().copied().collect(),
        None => classes.to_vec(),
    };
    let dens = class_densities(v, &mapped, v.year)?;
    let mut src = prep.raster.try_clone_source()?;
    let grid = src.grid().clone();
    let nodata = -3.4e38f32;
    let mut w = gep_io::write::GeoTiffWriter::create(
        staged.file("value_density.tif"),
        &grid,
        prep.raster.crs_wkt(),
        Some(nodata),
    )?;
    for win in grid.windows(512, 512) {
        let block = src.read_window(win)?;
        let data: Vec<f32> = block
            .cells
            .iter()
            .map(|c| match c {
                Some(c) => dens.get(c).map(|d| *d as f32).unwrap_or(nodata),
                None => nodata,
            })
            .collect();
        w.write_window(win, &data)?;
    }
    w.finish()?;
    Ok(())
}

/// Describes an input file for the manifest.
pub fn input_file(
    role: &str,
    path: &Path,
    crs: Option<String>,
    resolution: Option<[f64; 2]>,
) -> Result<InputFile> {
    let (sha256, size_bytes) =
        gep_report::sha256_file(path).with_context(|| format!("hashing {}", path.display()))?;
    Ok(InputFile {
        role: role.to_string(),
        path: path.display().to_string(),
        sha256,
        size_bytes,
        crs,
        resolution,
    })
}

/// The manifest's id + hash of a coefficient set or crosswalk.
pub fn id_hash(id: &str, version: &str, sha256: &str) -> IdHash {
    IdHash {
        id: format!("{id}@{version}"),
        sha256: sha256.to_string(),
    }
}

/// Output files hashed as soon as they were written (by the chain that wrote them, while the
/// others still run), so that the manifest does not read them again.
#[derive(Default)]
pub struct Hashed(std::sync::Mutex<Vec<OutputFile>>);

impl Hashed {
    /// Hashes `name` in the staging directory now; it must not change afterwards.
    pub fn add(&self, staged: &StagedDir, name: &str) -> Result<()> {
        let f = OutputFile::of(staged.path(), name)?;
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(f);
        Ok(())
    }
}

/// Writes `manifest.json`: the run, and every file of the staging directory with its SHA-256
/// (from `hashed` when there, else read now on up to `threads` threads; 0 = all cores; the
/// order of `outputs` is the file names', whatever order they were hashed in).
pub fn write_manifest(
    staged: &StagedDir,
    run: &RunInfo,
    hashed: &Hashed,
    threads: usize,
) -> Result<()> {
    let mut known: HashMap<String, OutputFile> = hashed
        .0
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|f| (f.path.clone(), f.clone()))
        .collect();
    let mut names: Vec<String> = std::fs::read_dir(staged.path())?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "manifest.json")
        .collect();
    names.sort();
    let fresh = std::sync::Mutex::new(Vec::new());
    let jobs: Vec<Job> = names
        .iter()
        .filter(|n| !known.contains_key(*n))
        .map(|n| {
            let fresh = &fresh;
            Job::new(&[], move || {
                let f = OutputFile::of(staged.path(), n)?;
                fresh.lock().unwrap_or_else(|p| p.into_inner()).push(f);
                Ok(())
            })
        })
        .collect();
    run_jobs(threads, jobs)?;
    let fresh = fresh.into_inner().unwrap_or_else(|p| p.into_inner());
    known.extend(fresh.into_iter().map(|f| (f.path.clone(), f)));
    let outputs: Vec<OutputFile> = names
        .iter()
        .map(|n| {
            known
                .remove(n)
                .ok_or_else(|| anyhow::anyhow!("{n} was not hashed"))
        })
        .collect::<Result<_>>()?;
    Manifest::new(run, outputs).write(&staged.file("manifest.json"))?;
    Ok(())
}

/// A step timing.
pub fn timing(step: &str, since: std::time::Instant) -> Timing {
    Timing {
        step: step.to_string(),
        seconds: since.elapsed().as_secs_f64(),
    }
}

/// Step timings of a run, recorded from any thread (steps that run concurrently overlap).
#[derive(Default)]
pub struct Steps(std::sync::Mutex<Vec<Timing>>);

impl Steps {
    /// Runs `f`, recording its wall time under `step`.
    pub fn time<T>(&self, step: &str, f: impl FnOnce() -> T) -> T {
        let t = std::time::Instant::now();
        let out = f();
        self.push(timing(step, t));
        out
    }

    /// Records a timing.
    pub fn push(&self, t: Timing) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(t);
    }

    /// The timings so far, in the order they ended.
    pub fn list(&self) -> Vec<Timing> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// A job for [`run_jobs`]: runs once every job it depends on has succeeded.
pub struct Job<'a> {
    /// Indices of the jobs that must end first (lower than this job's own index).
    pub after: Vec<usize>,
    /// The work.
    pub run: Task<'a>,
}

impl<'a> Job<'a> {
    /// A job after `after`.
    pub fn new(after: &[usize], run: impl FnOnce() -> Result<()> + Send + 'a) -> Job<'a> {
        Job {
            after: after.to_vec(),
            run: Box::new(run),
        }
    }
}

/// Runs jobs with dependencies on `threads` workers (0 = all cores): whenever a worker is
/// free it takes the ready job of lowest index, so the order of `jobs` is their priority
/// (put the longest chain first). With one thread they run in index order, which must
/// respect the dependencies. After a failure no new job starts; the error returned is that
/// of the lowest failed index, once every running job has ended.
pub fn run_jobs(threads: usize, jobs: Vec<Job<'_>>) -> Result<()> {
    use std::sync::{Condvar, Mutex};
    let n = jobs.len();
    if let Some((i, _)) = jobs
        .iter()
        .enumerate()
        .find(|(i, j)| j.after.iter().any(|d| d >= i))
    {
        anyhow::bail!("job {i} depends on a later job");
    }
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    };
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Waiting,
        Running,
        Done,
        Failed,
    }
    struct Board<'a> {
        state: Vec<State>,
        after: Vec<Vec<usize>>,
        work: Vec<Option<Task<'a>>>,
        errors: Vec<(usize, anyhow::Error)>,
        stop: bool,
    }
    let (after, work): (Vec<_>, Vec<_>) = jobs.into_iter().map(|j| (j.after, Some(j.run))).unzip();
    let board = Mutex::new(Board {
        state: vec![State::Waiting; n],
        after,
        work,
        errors: Vec::new(),
        stop: false,
    });
    let changed = Condvar::new();
    let worker = || loop {
        let (i, task) = {
            let mut b = board.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                let running = b.state.contains(&State::Running);
                let ready = (0..n).find(|&i| {
                    b.state[i] == State::Waiting
                        && b.after[i].iter().all(|&d| b.state[d] == State::Done)
                });
                match ready {
                    Some(i) if !b.stop => {
                        b.state[i] = State::Running;
                        let task = b.work[i].take().expect("a waiting job has its work");
                        break (i, task);
                    }
                    // Nothing can start now: finished, stopped, or waiting for a running job.
                    _ if !running => return,
                    _ => b = changed.wait(b).unwrap_or_else(|p| p.into_inner()),
                }
            }
        };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(task))
            .unwrap_or_else(|_| Err(anyhow::anyhow!("an output job panicked")));
        let mut b = board.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(()) => b.state[i] = State::Done,
            Err(e) => {
                b.state[i] = State::Failed;
                b.errors.push((i, e));
                b.stop = true;
            }
        }
        changed.notify_all();
    };
    if threads == 1 {
        worker();
    } else {
        std::thread::scope(|sc| {
            for _ in 0..threads.min(n) {
                sc.spawn(worker);
            }
        });
    }
    let mut b = board.into_inner().unwrap_or_else(|p| p.into_inner());
    b.errors.sort_by_key(|(i, _)| *i);
    match b.errors.into_iter().next() {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}

/// A unit of output work (see [`run_jobs`]).
pub type Task<'a> = Box<dyn FnOnce() -> Result<()> + Send + 'a>;

fn level_zh(zones: &[Zone]) -> &'static str {
    match zones.iter().map(|z| z.level).min() {
        Some(Level::Township) => "乡镇（街道）",
        Some(Level::Village) => "村（社区）",
        _ => "县（市、区）",
    }
}

#[cfg(test)]
mod job_tests {
    use super::{run_jobs, Job};
    use std::sync::Mutex;

    fn log_job<'a>(log: &'a Mutex<Vec<usize>>, i: usize, after: &[usize]) -> Job<'a> {
        Job::new(after, move || {
            log.lock().unwrap().push(i);
            Ok(())
        })
    }

    #[test]
    fn one_thread_runs_in_priority_order_and_respects_dependencies() {
        let log = Mutex::new(Vec::new());
        let jobs = vec![
            log_job(&log, 0, &[]),
            log_job(&log, 1, &[]),
            log_job(&log, 2, &[0, 1]),
            log_job(&log, 3, &[2]),
            log_job(&log, 4, &[1]),
        ];
        run_jobs(1, jobs).unwrap();
        assert_eq!(*log.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn many_threads_respect_dependencies() {
        for threads in [2, 3, 8] {
            let log = Mutex::new(Vec::new());
            let jobs: Vec<Job> = (0..20)
                .map(|i| {
                    let after: Vec<usize> = if i == 0 { vec![] } else { vec![i / 2] };
                    log_job(&log, i, &after)
                })
                .collect();
            run_jobs(threads, jobs).unwrap();
            let log = log.into_inner().unwrap();
            assert_eq!(log.len(), 20);
            let pos = |i: usize| log.iter().position(|&x| x == i).unwrap();
            for i in 1..20 {
                assert!(pos(i / 2) < pos(i), "{i} ran before {}: {log:?}", i / 2);
            }
        }
    }

    #[test]
    fn a_failure_stops_its_dependents_and_the_lowest_error_wins() {
        for threads in [1, 2] {
            let log = Mutex::new(Vec::new());
            let jobs = vec![
                Job::new(&[], || anyhow::bail!("first")),
                Job::new(&[], || panic!("second")),
                log_job(&log, 2, &[0]),
                log_job(&log, 3, &[1]),
            ];
            let e = run_jobs(threads, jobs).unwrap_err().to_string();
            assert_eq!(e, "first");
            assert!(log.lock().unwrap().is_empty());
        }
        // A panicking job is an error, not a hang.
        let e = run_jobs(2, vec![Job::new(&[], || panic!("boom"))]).unwrap_err();
        assert!(e.to_string().contains("panicked"), "{e}");
        // Dependencies must point back.
        assert!(run_jobs(1, vec![Job::new(&[0], || Ok(()))]).is_err());
    }
}
