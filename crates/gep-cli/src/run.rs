//! `gep run` and `gep validate`: thin wiring of the engine.
//!
//! Parse (flags + config) → [`gep_engine::plan::resolve`] → [`gep_engine::plan::prepare`]
//! (open the raster, read and reproject boundaries, resolve the hierarchy, pre-flight each
//! county) → [`gep_engine::plan::assess_prepared`] (tally, checks, accounts) → write into a
//! staging directory → rename into place. Only the arguments, progress, output files and exit
//! codes are this crate's.
//!
//! The unit of work is a county (more generally, a zone of the top loaded level, with all
//! its descendants). A county that fails is listed in `failures.csv` and on stderr; the
//! others are still computed and published; the exit code is then 1.

use crate::i18n::{self, t, tf};
use crate::progress::CliProgress;
use crate::RunFlags;
use anyhow::{bail, Context, Result};
use gep_core::{Lang, Level, RasterSource, Reporter};
use gep_engine::plan::{
    self as config, assess_prepared, class_counts, input_paths, mapping_text, prepare, sidecars,
    Plan, Prepared, RawConfig, RawLandcover, RawOutput, RawZones, TallyCache,
};
use gep_engine::{fmt_fixed, write, UnitFailure};
use gep_report::{write_csv, FailureRow, StagedDir};
use std::path::Path;
use std::time::Instant;

/// Builds the plan from an optional config file and the command-line overrides, and sets
/// the messages' language (`--lang`, else an explicit `[output] lang`, else the locale).
pub fn plan_from(flags: &RunFlags) -> Result<Plan> {
    let mut raw = match &flags.config {
        Some(p) => config::load(p)?,
        None => RawConfig::default(),
    };
    let explicit = flags
        .lang
        .as_deref()
        .or(raw.output.as_ref().and_then(|o| o.lang.as_deref()));
    if let Some(l) = explicit.and_then(|l| l.parse::<gep_report::Lang>().ok()) {
        i18n::set(l);
    }
    // Flag values are relative to the current directory; make them absolute so that
    // resolution against the config's directory leaves them alone.
    let cwd = std::env::current_dir()?;
    if let Some(lc) = &flags.landcover {
        let path = cwd.join(lc);
        match &mut raw.landcover {
            Some(l) => l.path = path,
            None => {
                raw.landcover = Some(RawLandcover {
                    path,
                    band: None,
                    nodata: None,
                    crs: None,
                })
            }
        }
    }
    if !flags.zones.is_empty() {
        raw.zones.clear();
        for z in &flags.zones {
            let parts: Vec<&str> = z.split(':').collect();
            if !(3..=4).contains(&parts.len()) {
                bail!(tf("run.bad_zones", &[("value", z)]));
            }
            raw.zones.push(RawZones {
                path: cwd.join(parts[0]),
                layer: None,
                level: parts[1].to_string(),
                id_field: parts[2].to_string(),
                name_field: parts.get(3).map(|s| s.to_string()),
                parent_field: None,
                encoding: None,
                datum: None,
                crs: None,
            });
        }
    }
    if let Some(o) = &flags.out {
        match &mut raw.output {
            Some(out) => out.dir = cwd.join(o),
            None => {
                raw.output = Some(RawOutput {
                    dir: cwd.join(o),
                    lang: None,
                    report: None,
                    value_raster: None,
                })
            }
        }
    }
    if let Some(l) = &flags.lang {
        if let Some(out) = &mut raw.output {
            out.lang = Some(l.clone());
        }
    }
    if let Some(t) = flags.threads {
        raw.run.threads = Some(t);
    }
    if let Some(y) = flags.year {
        raw.year = Some(y);
    }
    if let Some(c) = &flags.counties {
        raw.run.counties = Some(c.clone());
    }
    if flags.resume {
        raw.run.resume = Some(true);
    }
    if flags.coefficients.is_some() || flags.crosswalk.is_some() {
        let v = raw.valuation.get_or_insert(config::RawValuation {
            coefficients: String::new(),
            crosswalk: None,
            d: None,
            d_price_year: None,
            target_price_year: None,
            deflator: None,
            coastal_zones: None,
        });
        if let Some(c) = &flags.coefficients {
            v.coefficients = c.clone();
        }
        if let Some(c) = &flags.crosswalk {
            v.crosswalk = Some(c.clone());
        }
        if v.coefficients.is_empty() {
            bail!(t("run.crosswalk_alone"));
        }
    }
    key_flags(flags, &mut raw)?;
    if raw.output.is_none() {
        let where_ = flags
            .config
            .as_ref()
            .map(|p| tf("run.config_named", &[("path", &p.display())]))
            .unwrap_or_else(|| t("run.command_line").to_string());
        bail!(tf("run.no_output", &[("where", &where_)]));
    }
    Ok(config::resolve(raw, flags.config.as_deref())?)
}

/// The flags that set one config key each (`--band`, `--nodata`, `--landcover-crs`,
/// `--encoding`, `--datum`, `--zones-crs`, `--no-report`, `--value-raster`,
/// `--no-geometry-checks`), applied over the file's values.
fn key_flags(flags: &RunFlags, raw: &mut RawConfig) -> Result<()> {
    fn landcover<'a>(raw: &'a mut RawConfig, flag: &str) -> Result<&'a mut RawLandcover> {
        match raw.landcover.as_mut() {
            Some(l) => Ok(l),
            None => bail!(tf("run.no_landcover_for_flag", &[("flag", &flag)])),
        }
    }
    if let Some(b) = flags.band {
        landcover(raw, "--band")?.band = Some(b);
    }
    if let Some(n) = flags.nodata {
        landcover(raw, "--nodata")?.nodata = Some(n);
    }
    if let Some(c) = &flags.landcover_crs {
        landcover(raw, "--landcover-crs")?.crs = Some(c.clone());
    }
    type Setter = fn(&mut RawZones, String);
    let per_level: [(&str, &[String], Setter); 3] = [
        ("--encoding", &flags.encoding, |z, v| z.encoding = Some(v)),
        ("--datum", &flags.datum, |z, v| z.datum = Some(v)),
        ("--zones-crs", &flags.zones_crs, |z, v| z.crs = Some(v)),
    ];
    for (flag, values, set) in per_level {
        for value in values {
            if raw.zones.is_empty() {
                bail!(tf("run.no_zones_for_flag", &[("flag", &flag)]));
            }
            // LEVEL=VALUE when the part before `=` is a level (a PROJ string has `=` too).
            let (level, v) = match value.split_once('=') {
                Some((l, v)) if l.parse::<Level>().is_ok() => (Some(l.to_string()), v),
                _ => (None, value.as_str()),
            };
            let levels: Vec<String> = raw.zones.iter().map(|z| z.level.clone()).collect();
            let same = |a: &str, b: &str| {
                a.parse::<Level>()
                    .ok()
                    .is_some_and(|a| b.parse::<Level>().ok() == Some(a))
            };
            let mut applied = 0;
            for z in raw.zones.iter_mut() {
                let wanted = match &level {
                    Some(l) => same(l, &z.level),
                    // An encoding applies to Shapefiles only (other formats are UTF-8).
                    None if flag == "--encoding" => gep_io::is_shapefile(&z.path),
                    None => true,
                };
                if wanted {
                    set(z, v.to_string());
                    applied += 1;
                }
            }
            if applied == 0 {
                bail!(tf(
                    "run.bad_level_flag",
                    &[
                        ("flag", &flag),
                        ("value", value),
                        ("level", &level.unwrap_or_else(|| "shp".into())),
                        ("levels", &levels.join(", ")),
                    ]
                ));
            }
        }
    }
    if flags.no_report || flags.value_raster {
        if let Some(out) = raw.output.as_mut() {
            if flags.no_report {
                out.report = Some(false);
            }
            if flags.value_raster {
                out.value_raster = Some(true);
            }
        }
    }
    if flags.no_geometry_checks {
        raw.checks.geometry = false;
    }
    Ok(())
}

/// `county 331123 遂昌县` in the current language.
fn who(level: Level, id: &str, name: &str) -> String {
    format!("{} {id} {name}", i18n::level(level))
        .trim()
        .to_string()
}

/// Why a unit failed, in the current language (the library's wording in either).
pub fn reason_text(f: &UnitFailure) -> String {
    f.reason_in(i18n::lang())
}

fn print_failures(failures: &[UnitFailure]) {
    for f in failures {
        eprintln!(
            "{}",
            tf(
                "run.unit_failed",
                &[
                    ("who", &who(f.level, &f.unit_id, &f.name)),
                    ("reason", &reason_text(f))
                ]
            )
        );
    }
}

/// `gep validate`: pre-flight only, writes nothing. Says what each boundary file held, its
/// CRS and the datum correction applied; the classes in the raster and how the crosswalk maps
/// them; the gap, overlap and spill rows `gep run` would write into checks.csv (the same
/// library stages, [`gep_engine::plan::boundary_checks`]); the units ready and failing.
pub fn validate(flags: &RunFlags, quiet: bool) -> Result<u8> {
    let plan = plan_from(flags)?;
    let progress = CliProgress::new(quiet);
    let mut prep = prepare(&plan, &progress)?;
    for n in read_lines(&plan, &prep) {
        println!("{n}");
    }
    // Classes present in the raster (one streamed pass) and whether the crosswalk maps them.
    progress.status(t("progress.classes"));
    let counts = class_counts(&prep, &progress)?;
    let cw = prep.valuation.as_ref().and_then(|v| v.crosswalk.as_ref());
    let cell_area = prep.raster.grid().cell_area_m2(0).0;
    println!(
        "{}",
        tf(
            "validate.classes",
            &[(
                "crosswalk",
                &if cw.is_some() {
                    t("validate.with_crosswalk")
                } else {
                    ""
                }
            )]
        )
    );
    let mut unmapped = 0;
    for (class, n) in &counts {
        let mapping = match (class, cw) {
            (Some(c), Some(cw)) => match cw.lookup(*c) {
                Some(parts) => mapping_text(parts),
                None => {
                    unmapped += 1;
                    tf("validate.not_mapped", &[("crosswalk", &cw.id), ("code", c)])
                }
            },
            _ => String::new(),
        };
        let label = class
            .map(|c| c.to_string())
            .unwrap_or_else(|| "nodata".into());
        println!(
            "  {label:>8} {n:>12} (≈ {:.1} km²) {mapping}",
            *n as f64 * cell_area / 1e6
        );
    }
    if unmapped > 0 {
        println!("{}", tf("validate.unmapped", &[("n", &unmapped)]));
    }
    // The boundary checks of a run: tallied as a run tallies them (which also fails the
    // counties holding classes the crosswalk does not map, as a run does).
    let ready_before = prep.units.iter().any(|u| u.failure.is_none());
    if !plan.geometry_checks {
        println!("{}", t("validate.checks_off"));
    } else if ready_before {
        let rows = gep_engine::plan::boundary_checks(&plan, &mut prep, &progress)?;
        progress.finish();
        if rows.is_empty() {
            println!("{}", t("validate.checks_none"));
        } else {
            println!("{}", tf("validate.checks_head", &[("n", &rows.len())]));
            for r in &rows {
                println!("  {}", check_line(r));
            }
        }
    }
    let ready = prep.units.iter().filter(|u| u.failure.is_none()).count();
    let failed = prep.units.len() - ready + prep.lost_units.len();
    println!(
        "{}",
        tf(
            "validate.units",
            &[
                ("units", &(prep.units.len() + prep.lost_units.len())),
                (
                    "zones",
                    &prep.units.iter().map(|u| u.members.len()).sum::<usize>()
                ),
                ("ready", &ready),
                ("failing", &failed),
            ]
        )
    );
    print_failures(&config::failures(&prep));
    Ok(if failed > 0 { 1 } else { 0 })
}

/// What was read, in the current language: the land-cover raster (size, CRS, area basis),
/// then each boundary file with its zones, CRS, reprojection and datum correction.
pub fn read_lines(plan: &Plan, prep: &Prepared) -> Vec<String> {
    let g = prep.raster.grid();
    let basis = match g.area_basis() {
        gep_core::AreaBasis::Planar => t("validate.planar"),
        gep_core::AreaBasis::Ellipsoidal => t("validate.ellipsoidal"),
    };
    let mut lines = vec![tf(
        "validate.landcover",
        &[
            ("path", &plan.landcover.display()),
            ("cols", &g.cols),
            ("rows", &g.rows),
            ("crs", &prep.raster.crs().label()),
            ("basis", &basis),
        ],
    )];
    lines.push(t("validate.boundaries").to_string());
    for l in &prep.layers {
        let reprojected = if l.reprojected {
            tf("validate.reprojected", &[("target", &l.target)])
        } else {
            String::new()
        };
        let datum = match l.datum {
            gep_io::Datum::Gcj02 => t("validate.datum_gcj02"),
            _ => t("validate.datum_none"),
        };
        lines.push(tf(
            "validate.layer",
            &[
                ("path", &l.path.display()),
                ("zones", &l.zones),
                ("level", &i18n::level(l.level)),
                ("crs", &l.crs),
                ("reprojected", &reprojected),
                ("datum", &datum),
            ],
        ));
    }
    lines
}

/// A gap/overlap/spill row as validate prints it: the kind, then the checks.csv columns
/// `kind, parent_id, level, class, residual_m2, children` (tab-separated after the label).
pub fn check_line(r: &gep_zonal::CheckRow) -> String {
    let kind = match r.kind {
        gep_zonal::CheckKind::Gap => t("validate.gap"),
        gep_zonal::CheckKind::Overlap => t("validate.overlap"),
        gep_zonal::CheckKind::Spill => t("validate.spill"),
        gep_zonal::CheckKind::Sum => "sum",
    };
    let top = if r.is_top_level() {
        t("validate.top_level")
    } else {
        ""
    };
    format!(
        "{kind}\t{}\t{}\t{}\t{}\t{:?}\t{}\t{top}",
        r.kind.as_str(),
        r.parent_id,
        r.level.as_str(),
        r.class
            .map(|c| c.to_string())
            .unwrap_or_else(|| "nodata".into()),
        r.residual_m2,
        r.children.join(";")
    )
}

/// `gep run`.
pub fn run(flags: &RunFlags, quiet: bool) -> Result<u8> {
    let started = Instant::now();
    let plan = plan_from(flags)?;
    let progress = CliProgress::new(quiet);
    // The raster's hash keys the tally cache and goes into the manifest: computed once, while
    // the boundaries are read (not waited for when reading fails).
    let hash_raster = |path: &Path| {
        gep_report::sha256_file(path).with_context(|| format!("hashing {}", path.display()))
    };
    let hashing = (plan.threads != 1).then(|| {
        let path = plan.landcover.clone();
        std::thread::spawn(move || hash_raster(&path))
    });
    // The output location is checked before any work: gep replaces only what it wrote.
    let cwd = std::env::current_dir()?;
    gep_report::check_output_dir(&plan.out_dir, &cwd, &input_paths(&plan))?;
    let mut prep = prepare(&plan, &progress)?;
    for n in read_lines(&plan, &prep) {
        progress.status(&n);
    }
    if prep.units.iter().all(|u| u.failure.is_some()) {
        return Ok(nothing_published(&prep, &plan, &progress));
    }
    let staged = StagedDir::create(&plan.out_dir)
        .with_context(|| format!("output directory {}", plan.out_dir.display()))?;

    let (raster_sha256, raster_size) = match hashing {
        Some(thread) => thread
            .join()
            .map_err(|_| anyhow::anyhow!("the raster hasher panicked"))??,
        None => hash_raster(&plan.landcover)?,
    };
    let mut timings = vec![crate::outputs::timing("read and pre-flight", started)];
    // Finer steps, some of them concurrent (listed after the three phases).
    let steps = crate::outputs::Steps::default();
    let t_tally = Instant::now();
    let cache = TallyCache::new(
        &plan,
        &raster_sha256,
        prep.raster.grid(),
        &prep.raster.crs().label(),
    );
    let assessed = assess_prepared(&plan, &mut prep, &cache, &progress)?;
    for (step, seconds) in &assessed.steps {
        steps.push(gep_report::Timing {
            step: step.clone(),
            seconds: *seconds,
        });
    }
    let pieces = assessed.pieces;
    let pieces_crs = assessed.pieces_crs;
    let a = assessed.assessment;
    if a.zones.is_empty() {
        return Ok(nothing_published(&prep, &plan, &progress));
    }
    timings.push(crate::outputs::timing(
        "tally, checks and accounts",
        t_tally,
    ));
    let failures = write::failure_rows(&a.failures);
    progress.status(t("progress.writing"));
    let t_write = Instant::now();
    let basis = a.area_basis.as_str();
    let crs = prep.raster.crs().clone();
    let mut run_info = run_info(
        &plan,
        &prep,
        &progress,
        &timings,
        (&raster_sha256, raster_size),
    )?;
    let top = plan.top_level();
    run_info.units_total = a.units_total;
    run_info.failures = a
        .failures
        .iter()
        .map(|f| gep_report::FailedUnit {
            id: f.unit_id.clone(),
            name: f.name.clone(),
            level: f.level.as_str().to_string(),
            reason: f.reason_text(),
            reason_zh: f.reason_in(Lang::Zh),
        })
        .collect();
    run_info.totals = a.totals.as_ref().map(|t| t.info());
    run_info.warnings = progress.warnings();
    run_info.warnings.extend(failure_warnings(top, &failures));
    run_info.warnings_zh = progress.warnings_zh();
    run_info
        .warnings_zh
        .extend(failure_warnings_zh(top, &failures));
    // The writers as jobs over the threads, longest chain first (report tables → workbook),
    // the others filling the gaps; in this order with one thread.
    let hashed = crate::outputs::Hashed::default();
    let gpkg = Gpkg {
        source: &prep.source,
        raster_crs: &crs,
        pieces: &pieces,
        pieces_crs: &pieces_crs,
    };
    write_all(&plan, &staged, &a, &run_info, &gpkg, basis, &steps, &hashed)?;
    if plan.value_raster {
        if let Some(v) = &prep.valuation {
            // After the others: it reads the raster (one GDAL dataset, not shareable).
            steps.time("write value raster", || {
                crate::outputs::write_value_raster(&staged, &prep, v, &a.extent.classes())
            })?;
        }
    }
    timings.push(crate::outputs::timing("outputs", t_write));
    write_csv(&staged.file("failures.csv"), failures.iter())?;
    timings.extend(steps.list());
    run_info.timings = timings;
    crate::outputs::write_manifest(&staged, &run_info, &hashed, plan.threads)?;
    let committed = staged.commit()?;
    // The cache has served its purpose once the results are published (also when some
    // counties failed: nothing is left beside the output but the output).
    cache.clear();
    print_outcome(&plan, &a, top, started, &committed, &progress);
    if plan.resume {
        println!(
            "{}",
            tf(
                "run.resumed",
                &[
                    ("done", &assessed.resumed),
                    ("all", &(a.units_total - a.failures.len())),
                    ("dir", &cache.dir().display()),
                ]
            )
        );
    }
    let code = if a.failures.is_empty() { 0 } else { 1 };
    // The process ends after this: the zones, tallies and accounts (hundreds of MB in many
    // small allocations) are left to the operating system instead of being freed one by one.
    std::mem::forget(a);
    std::mem::forget(prep);
    Ok(code)
}

/// What the run says at the end: failures on stderr, the summary line, the totals with their
/// price year, where the results are and what was kept there.
fn print_outcome(
    plan: &Plan,
    a: &gep_engine::Assessment,
    top: Level,
    started: Instant,
    committed: &gep_report::Committed,
    progress: &CliProgress,
) {
    print_failures(&a.failures);
    summary(a, top, started);
    if let Some(totals) = &a.totals {
        println!("{}", total_line(totals));
        let basis = if i18n::zh() {
            totals.basis.text_zh()
        } else {
            totals.basis.text_en()
        };
        println!(
            "{}",
            tf(
                "run.basis",
                &[
                    ("basis", &basis),
                    (
                        "set",
                        &a.accounts
                            .as_ref()
                            .map(|x| x.coefficient_set.as_str())
                            .unwrap_or("-")
                    ),
                    (
                        "crosswalk",
                        &a.accounts
                            .as_ref()
                            .and_then(|x| x.crosswalk.as_deref())
                            .unwrap_or("-")
                    ),
                ]
            )
        );
    }
    println!(
        "{}",
        tf("run.results", &[("dir", &committed.target.display())])
    );
    if !committed.carried.is_empty() {
        println!(
            "{}",
            tf(
                "run.kept",
                &[
                    ("n", &i18n::count(committed.carried.len(), "file")),
                    ("list", &committed.carried.join(", ")),
                ]
            )
        );
    }
    if let Some(left) = &committed.left_behind {
        progress.warn(&tf("run.left_behind", &[("dir", &left.display())]));
    }
    if plan.report {
        println!("{}", t("run.open_report"));
    }
}

/// The totals line: what the total is (GEP or ESV, partial), its categories and price year.
fn total_line(totals: &gep_engine::Totals) -> String {
    use gep_core::TotalKind;
    let yi = |v: f64| fmt_fixed(v / 1e8, 2);
    let at = totals
        .price_year
        .map(|y| tf("run.at_prices", &[("year", &y)]))
        .unwrap_or_default();
    let mut line = match totals.label.kind {
        TotalKind::Esv => tf(
            "run.esv",
            &[
                ("total", &yi(totals.gep_yuan)),
                ("at", &at),
                ("material", &yi(totals.material_yuan)),
                ("regulating", &yi(totals.regulating_yuan)),
                ("cultural", &yi(totals.cultural_yuan)),
                ("supporting", &yi(totals.supporting_yuan)),
                ("final", &yi(totals.final_yuan)),
            ],
        ),
        _ => tf(
            "run.gep",
            &[
                ("total", &yi(totals.gep_yuan)),
                ("at", &at),
                ("material", &yi(totals.material_yuan)),
                ("regulating", &yi(totals.regulating_yuan)),
                ("cultural", &yi(totals.cultural_yuan)),
            ],
        ),
    };
    if totals.label.partial() {
        line.push_str(&tf(
            "run.partial",
            &[
                (
                    "valued",
                    &(totals.label.catalogue.len() - totals.label.missing_services.len()),
                ),
                ("all", &totals.label.catalogue.len()),
                ("missing", &totals.label.missing_services.join(", ")),
            ],
        ));
    }
    line
}

/// What `zones.gpkg` is drawn from besides the assessment.
struct Gpkg<'a> {
    source: &'a gep_engine::plan::SourceGeometry,
    raster_crs: &'a gep_io::Crs,
    pieces: &'a [gep_engine::plan::CheckPiece],
    pieces_crs: &'a gep_io::Crs,
}

/// Writes every output but the value raster, the failures and the manifest, as jobs: report
/// tables → workbook / HTML / wide table; accounts.csv and gep.csv; the GeoPackage; extent,
/// zones and checks.
#[allow(clippy::too_many_arguments)]
fn write_all(
    plan: &Plan,
    staged: &StagedDir,
    a: &gep_engine::Assessment,
    run_info: &gep_report::RunInfo,
    gpkg: &Gpkg<'_>,
    basis: &str,
    steps: &crate::outputs::Steps,
    hashed: &crate::outputs::Hashed,
) -> Result<()> {
    use crate::outputs::Job;
    let input_cell: std::sync::OnceLock<gep_report::ReportInput> = std::sync::OnceLock::new();
    let input_cell = &input_cell;
    let lang = plan.lang;
    let accounts = a.accounts.as_ref();
    let mut jobs: Vec<Job> = Vec::new();
    let mut after_report = Vec::new();
    if plan.report {
        let report_job = jobs.len();
        jobs.push(Job::new(&[], move || {
            let input = steps.time("report tables", || {
                let mut input = crate::outputs::report_input(
                    &a.zones,
                    &a.extent,
                    accounts,
                    &a.checks,
                    a.crosswalk.as_ref(),
                    run_info.clone(),
                    lang,
                );
                input.sensitivity = crate::outputs::sensitivity_lines(a.physical.as_ref());
                input.map_crs = Some(gpkg.raster_crs.info.clone());
                input
            });
            let _ = input_cell.set(input);
            Ok(())
        }));
        let input = move || input_cell.get().expect("after the report tables");
        jobs.push(Job::new(&[report_job], move || {
            steps.time("write gep.xlsx", || {
                Ok(gep_report::write_workbook(
                    &staged.file("gep.xlsx"),
                    input(),
                    lang,
                )?)
            })
        }));
        after_report.push(Job::new(&[report_job], move || {
            steps.time("write report.html", || {
                Ok(gep_report::write_html(
                    &staged.file("report.html"),
                    input(),
                    lang,
                )?)
            })
        }));
        after_report.push(Job::new(&[report_job], move || {
            let input = input();
            if input.services.is_empty() {
                return Ok(());
            }
            steps.time("write accounts_wide.csv", || {
                Ok(gep_report::write_wide_csv(
                    &staged.file("accounts_wide.csv"),
                    &input.zones,
                    &input.services,
                )?)
            })
        }));
    }
    if let (Some(acc), Some(totals)) = (accounts, a.totals.as_ref()) {
        jobs.push(Job::new(&[], move || {
            steps.time("write accounts.csv, gep.csv", || -> Result<()> {
                write::write_account_tables(staged.path(), &a.zones, acc, &totals.label)?;
                hashed.add(staged, "accounts.csv")?;
                hashed.add(staged, "gep.csv")
            })
        }));
    }
    if plan.report {
        jobs.push(Job::new(&[], move || {
            steps.time("write zones.gpkg", || {
                let pieces = plan.geometry_checks.then_some(crate::outputs::GpkgPieces {
                    pieces: gpkg.pieces,
                    crs: gpkg.pieces_crs,
                });
                crate::outputs::write_gpkg(
                    staged,
                    gpkg.source,
                    gpkg.raster_crs,
                    &a.zones,
                    &a.extent,
                    accounts,
                    pieces,
                )
            })
        }));
    }
    jobs.extend(after_report);
    if let Some(p) = &a.physical {
        jobs.push(Job::new(&[], move || {
            steps.time("write quantities.csv, layer_sums.csv", || -> Result<()> {
                for name in
                    write::write_physical_tables(staged.path(), &a.zones, &a.extent, p, plan.year)?
                {
                    hashed.add(staged, name)?;
                }
                Ok(())
            })
        }));
    }
    jobs.push(Job::new(&[], move || {
        steps.time(
            "write extent.csv, zones.csv, checks.csv",
            || -> Result<()> {
                write::write_extent_tables(
                    staged.path(),
                    basis,
                    &a.zones,
                    &a.extent,
                    &a.checks,
                    a.crosswalk.as_ref(),
                )?;
                Ok(())
            },
        )
    }));
    crate::outputs::run_jobs(plan.threads, jobs)
}

/// No unit could be computed: the failures go to stderr and nothing is written (the previous
/// results stay as they were). Exit code 1.
fn nothing_published(prep: &Prepared, plan: &Plan, progress: &CliProgress) -> u8 {
    print_failures(&config::failures(prep));
    let n = prep.units.len() + prep.lost_units.len();
    let top = plan.top_level();
    progress.finish();
    let level = i18n::level(top);
    let what = match n {
        0 => tf("run.nothing_none", &[("level", &level)]),
        1 => tf("run.nothing_one", &[("level", &level)]),
        n => tf("run.nothing_all", &[("n", &i18n::count(n, top.as_str()))]),
    };
    let unchanged = if plan.out_dir.exists() {
        tf("run.unchanged", &[("dir", &plan.out_dir.display())])
    } else {
        String::new()
    };
    eprintln!(
        "{}",
        tf(
            "run.nothing_written",
            &[("what", &what), ("unchanged", &unchanged)]
        )
    );
    1
}

/// `n county` / `n counties`, `n township(s)`, `n village(s)`, `n zone(s)`.
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        return noun.to_string();
    }
    match noun.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None => format!("{noun}s"),
    }
}

/// The run's summary line: units computed of all, the failed ones by id and name, zones by
/// level, area and time.
fn summary(a: &gep_engine::Assessment, top: Level, started: Instant) {
    let zones = &a.zones;
    let count = |l: Level| zones.iter().filter(|z| z.level == l).count();
    let total: f64 = zones
        .iter()
        .zip(&a.extent.zones)
        .filter(|(z, _)| z.parent.is_none())
        .map(|(_, t)| t.covered().to_m2())
        .sum();
    let failed = &a.failures;
    let all = a.units_total;
    let done = all - failed.len();
    let mut line = if failed.is_empty() {
        tf("run.computed", &[("n", &i18n::count(done, top.as_str()))])
    } else {
        let names: Vec<String> = failed
            .iter()
            .map(|f| format!("{} {}", f.unit_id, f.name).trim().to_string())
            .collect();
        tf(
            "run.computed_some",
            &[
                ("done", &done),
                ("all", &i18n::count(all, top.as_str())),
                ("failed", &failed.len()),
                ("names", &names.join(", ")),
            ],
        )
    };
    let levels: Vec<String> = [Level::County, Level::Township, Level::Village]
        .into_iter()
        .map(|l| (count(l), l))
        .filter(|(n, _)| *n > 0)
        .map(|(n, l)| i18n::count(n, l.as_str()))
        .collect();
    let sep = if i18n::zh() { "，" } else { ", " };
    line.push_str(&tf(
        "run.zones_line",
        &[
            ("zones", &i18n::count(zones.len(), "zone")),
            ("levels", &levels.join(sep)),
            ("km2", &fmt_fixed(total / 1e6, 1)),
            ("secs", &format!("{:.1}", started.elapsed().as_secs_f64())),
        ],
    ));
    println!("{line}");
}

/// Failure lines for the manifest's and the report's warnings.
fn failure_warnings(top: Level, failures: &[FailureRow]) -> Vec<String> {
    failures
        .iter()
        .map(|f| {
            format!(
                "{top} {} failed and is not in the results: {}",
                format!("{} {}", f.unit_id, f.name).trim(),
                f.reason
            )
        })
        .collect()
}

/// [`failure_warnings`] in Chinese, for a zh report.
fn failure_warnings_zh(top: Level, failures: &[FailureRow]) -> Vec<String> {
    failures
        .iter()
        .map(|f| {
            let who = if f.name.trim().is_empty() {
                format!("{} {}", gep_engine::messages::level_zh(top), f.unit_id)
            } else {
                format!("{}（{}）", f.name, f.unit_id)
            };
            format!("{who}计算失败，不在结果中：{}", f.reason_zh)
        })
        .collect()
}

/// The run information recorded in the manifest and the report.
fn run_info(
    plan: &Plan,
    prep: &Prepared,
    progress: &CliProgress,
    timings: &[gep_report::Timing],
    (raster_sha256, raster_size): (&str, u64),
) -> Result<gep_report::RunInfo> {
    let grid = prep.raster.grid();
    let mut inputs = vec![gep_report::InputFile {
        role: "landcover".to_string(),
        path: plan.landcover.display().to_string(),
        sha256: raster_sha256.to_string(),
        size_bytes: raster_size,
        crs: Some(prep.raster.crs().label()),
        resolution: Some([grid.cell_width, grid.cell_height]),
    }];
    for z in &plan.zones {
        for p in sidecars(&z.path) {
            inputs.push(crate::outputs::input_file(
                &format!("zones:{}", z.level),
                &p,
                None,
                None,
            )?);
        }
    }
    let mut coefficient_set = None;
    let mut crosswalk = None;
    if let (Some(v), Some(vp)) = (&prep.valuation, &plan.valuation) {
        coefficient_set = Some(crate::outputs::id_hash(
            &v.set.id,
            &v.set.version,
            &v.set.sha256,
        ));
        if let Some(c) = &v.crosswalk {
            crosswalk = Some(crate::outputs::id_hash(&c.id, &c.version, &c.sha256));
        }
        for (role, p) in [
            ("coefficients", Some(&vp.coefficients)),
            ("crosswalk", vp.crosswalk.as_ref()),
        ] {
            if let Some(p) = p.map(Path::new).filter(|p| p.is_file()) {
                inputs.push(crate::outputs::input_file(role, p, None, None)?);
            }
        }
        if let Some(d) = &vp.deflator {
            inputs.push(crate::outputs::input_file("deflator", d, None, None)?);
        }
    }
    for i in &plan.models.inputs {
        inputs.push(crate::outputs::input_file(
            &format!("input:{}", i.name),
            &i.path,
            None,
            None,
        )?);
    }
    for (role, p) in plan
        .models
        .water
        .iter()
        .map(|w| ("runoff_coefficients", &w.runoff_coefficients))
        .chain(
            plan.models
                .soil
                .iter()
                .map(|s| ("usle_factors", &s.factors)),
        )
    {
        inputs.push(crate::outputs::input_file(role, p, None, None)?);
    }
    if let Some(p) = plan
        .models
        .parameters
        .as_deref()
        .map(Path::new)
        .filter(|p| p.is_file())
    {
        inputs.push(crate::outputs::input_file("parameters", p, None, None)?);
    }
    if let Some((table, shares)) = &plan.statistics {
        inputs.push(crate::outputs::input_file("statistics", table, None, None)?);
        if let Some(s) = shares {
            inputs.push(crate::outputs::input_file(
                "statistics_shares",
                s,
                None,
                None,
            )?);
        }
    }
    let models = prep.models.as_ref().map(|m| {
        serde_json::json!({
            "inputs": m.inputs,
            "models": m.models.iter().map(|r| serde_json::json!({
                "model": r.model,
                "parameters": r.parameters.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
            })).collect::<Vec<_>>(),
        })
    });
    let config_text = match &plan.config_path {
        Some(p) => std::fs::read_to_string(p).unwrap_or_default(),
        None => String::new(),
    };
    let mut command: Vec<String> = std::env::args().collect();
    // Record the config path absolutely so that `gep rerun` works from any directory.
    if let Some(p) = &plan.config_path {
        let abs = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
        for a in command.iter_mut() {
            if Path::new(a) == p.as_path() {
                *a = abs.display().to_string();
            }
        }
    }
    let commit = option_env!("GEP_GIT_COMMIT")
        .filter(|c| !c.is_empty())
        .map(String::from);
    Ok(gep_report::RunInfo {
        engine_version: env!("CARGO_PKG_VERSION").to_string(),
        commit,
        command,
        config_text,
        coefficient_set,
        crosswalk,
        inputs,
        timings: timings.to_vec(),
        warnings: progress.warnings(),
        warnings_zh: progress.warnings_zh(),
        area_basis: grid.area_basis().as_str().to_string(),
        year: plan.year,
        // Filled once the units' fates are known.
        units_total: 0,
        failures: Vec::new(),
        working_dir: std::env::current_dir()
            .ok()
            .map(|d| d.display().to_string()),
        models,
        // Filled once the totals are known.
        totals: None,
    })
}
