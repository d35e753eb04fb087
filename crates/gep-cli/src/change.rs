//! `gep change`, `gep parcels` and `gep appraise`: wiring of the library's change,
//! parcel and appraisal APIs to files. Each reads the same config (or flags) as `gep run`,
//! plus its own flags, writes into a staging directory and renames it into place at the end,
//! with a manifest.

use crate::outputs::{id_hash, input_file};
use crate::progress::CliProgress;
use crate::{run, RunFlags};
use anyhow::{bail, Context, Result};
use gep_core::change::{
    decompose_with_models, ChangeOptions, ModelTerms, TypeAreas, UnitValues, YearState,
};
use gep_core::{CoefficientSet, Deflator, Level, RasterSource, Reporter, Zone};
use gep_engine::appraise::{appraise, Appraisal, Footprint};
use gep_engine::parcels::{assess_parcels, Parcel};
use gep_engine::plan::{input_paths, load_valuation, prepare, sidecars, Plan, Prepared};
use gep_engine::{change_models, change_report, change_tables};
use gep_io::{GdalRaster, RasterOptions, ZoneLayerSpec};
use gep_report::{InputFile, Manifest, OutputFile, RunInfo, StagedDir};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Flags of `gep change`.
#[derive(Debug, Clone, clap::Args)]
pub struct ChangeFlags {
    #[command(flatten)]
    pub run: RunFlags,
    /// Land-cover raster of the second year (--landcover or [landcover] is the first year);
    /// on another grid it is warped onto the first year's, nearest neighbour, with a warning.
    #[arg(long, value_name = "PATH", required_unless_present = "config1")]
    pub landcover1: Option<PathBuf>,
    /// The second accounting year (--year or `year` is the first).
    #[arg(long, required_unless_present = "config1")]
    pub year1: Option<i32>,
    /// Coefficient set of the second year (default: the first year's).
    #[arg(long, value_name = "ID_OR_PATH")]
    pub coefficients1: Option<String>,
    /// The second year's full run config (its [landcover], `year`, [valuation], [models] and
    /// [[inputs]]) instead of --landcover1/--year1/--coefficients1: needed for model
    /// services, whose change of inputs is an effect of its own.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["landcover1", "year1", "coefficients1"])]
    pub config1: Option<PathBuf>,
    /// With --config1: skip the counterfactual run (year 1's land cover with year 0's
    /// inputs); the model services' land and input effects are then one number, in the land
    /// effect, and the rows are flagged no_counterfactual.
    #[arg(long, requires = "config1")]
    pub no_counterfactual: bool,
    /// Price index (CSV year,index) for the real change.
    #[arg(long, value_name = "PATH")]
    pub deflator: Option<PathBuf>,
    /// Restate both years in this price year for the real change (needs --deflator unless
    /// both sets are priced in it).
    #[arg(long)]
    pub real_price_year: Option<i32>,
}

/// Flags of `gep parcels`.
#[derive(Debug, Clone, clap::Args)]
pub struct ParcelFlags {
    #[command(flatten)]
    pub run: RunFlags,
    /// The parcel layer, as PATH:ID_FIELD[:NAME_FIELD].
    #[arg(long, value_name = "PATH:ID_FIELD[:NAME_FIELD]")]
    pub parcels: String,
}

/// Flags of `gep appraise`.
#[derive(Debug, Clone, clap::Args)]
pub struct AppraiseFlags {
    #[command(flatten)]
    pub run: RunFlags,
    /// The footprint layer, as PATH:ID_FIELD:CLASS_FIELD (CLASS_FIELD: the land-cover code,
    /// in the raster's scheme, each footprint would become).
    #[arg(
        long,
        value_name = "PATH:ID_FIELD:CLASS_FIELD",
        required_unless_present = "scenario",
        conflicts_with = "scenario"
    )]
    pub footprints: Option<String>,
    /// Instead of footprints: the land cover after the project, a raster on the land-cover
    /// raster's grid and in its scheme (nodata = unchanged).
    #[arg(long, value_name = "PATH")]
    pub scenario: Option<PathBuf>,
}

/// The plan, the output directory checked, the inputs read.
struct Setup {
    plan: Plan,
    prep: Prepared,
    progress: CliProgress,
    started: Instant,
}

fn setup(flags: &RunFlags, quiet: bool, extra_inputs: &[PathBuf]) -> Result<Setup> {
    let started = Instant::now();
    let progress = CliProgress::new(quiet);
    let plan = run::plan_from(flags)?;
    let cwd = std::env::current_dir()?;
    let mut inputs = input_paths(&plan);
    inputs.extend(extra_inputs.iter().cloned());
    gep_report::check_output_dir(&plan.out_dir, &cwd, &inputs)?;
    let prep = prepare(&plan, &progress)?;
    for n in run::read_lines(&plan, &prep) {
        progress.status(&n);
    }
    Ok(Setup {
        plan,
        prep,
        progress,
        started,
    })
}

/// The manifest's run record: inputs hashed, the valuation named.
fn run_info(s: &Setup, extra: Vec<InputFile>, warnings: Vec<String>) -> Result<RunInfo> {
    let grid = s.prep.raster.grid();
    let mut inputs = vec![input_file(
        "landcover",
        &s.plan.landcover,
        Some(s.prep.raster.crs().label()),
        Some([grid.cell_width, grid.cell_height]),
    )?];
    for z in &s.plan.zones {
        for p in sidecars(&z.path) {
            inputs.push(input_file(&format!("zones:{}", z.level), &p, None, None)?);
        }
    }
    inputs.extend(extra);
    let v = s.prep.valuation.as_ref();
    Ok(RunInfo {
        engine_version: env!("CARGO_PKG_VERSION").to_string(),
        commit: option_env!("GEP_GIT_COMMIT")
            .filter(|c| !c.is_empty())
            .map(String::from),
        command: std::env::args().collect(),
        config_text: match &s.plan.config_path {
            Some(p) => std::fs::read_to_string(p).unwrap_or_default(),
            None => String::new(),
        },
        coefficient_set: v.map(|v| id_hash(&v.set.id, &v.set.version, &v.set.sha256)),
        crosswalk: v
            .and_then(|v| v.crosswalk.as_ref())
            .map(|c| id_hash(&c.id, &c.version, &c.sha256)),
        inputs,
        timings: vec![crate::outputs::timing("total", s.started)],
        // The Chinese list only while it matches the English one item for item (parcel
        // warnings added by the caller are English only).
        warnings_zh: Some(s.progress.warnings_zh())
            .filter(|zh| zh.len() == warnings.len())
            .unwrap_or_default(),
        warnings,
        area_basis: grid.area_basis().as_str().to_string(),
        year: s.plan.year,
        units_total: 0,
        failures: Vec::new(),
        working_dir: std::env::current_dir()
            .ok()
            .map(|d| d.display().to_string()),
        models: None,
        totals: None,
    })
}

/// Writes the tables with `write`, then the manifest, then publishes the directory.
fn publish(
    s: &Setup,
    extra: Vec<InputFile>,
    warnings: Vec<String>,
    write: impl FnOnce(&Path, &RunInfo) -> Result<()>,
) -> Result<()> {
    let info = run_info(s, extra, warnings)?;
    let staged = StagedDir::create(&s.plan.out_dir)
        .with_context(|| format!("output directory {}", s.plan.out_dir.display()))?;
    write(staged.path(), &info)?;
    let outputs = OutputFile::all_in(staged.path(), &["manifest.json"])?;
    Manifest::new(&info, outputs).write(&staged.file("manifest.json"))?;
    staged.commit()?;
    s.progress.status(&crate::i18n::tf(
        "run.results",
        &[("dir", &s.plan.out_dir.display())],
    ));
    Ok(())
}

fn absolute(p: &Path) -> Result<PathBuf> {
    Ok(std::env::current_dir()?.join(p))
}

/// Whether two rasters share CRS and grid (size, and origin and cell size within
/// `gep_core::grid::SAME_CELLS_TOLERANCE` of a cell): the one check every grid comparison uses.
fn on_same_grid(raster0: &GdalRaster, raster1: &GdalRaster) -> bool {
    gep_io::reproject::same_grid(raster0.grid(), raster0.crs(), raster1.grid(), raster1.crs())
        .is_ok()
}

/// `cols x rows cells of w from (left, top) in CRS`.
fn grid_text(r: &GdalRaster) -> String {
    let g = r.grid();
    format!(
        "{} x {} cells of {} from ({}, {}) in {}",
        g.cols,
        g.rows,
        g.cell_width,
        g.left,
        g.top,
        r.crs().label()
    )
}

/// Opens a second land-cover raster (`path1`) with the first one's band, nodata and CRS
/// options, and checks it is on `raster0`'s grid: the message prints the `gdalwarp` command
/// that aligns it (nearest neighbour, as categorical rasters must be resampled).
fn open_aligned(
    path1: &Path,
    plan: &Plan,
    raster0: &GdalRaster,
    whose: &str,
) -> Result<GdalRaster> {
    let raster1 = GdalRaster::open(
        path1,
        RasterOptions {
            band: plan.band,
            nodata: plan.nodata,
            crs: plan.landcover_crs.clone(),
        },
    )?;
    if !gep_io::reproject::same_crs(raster0.crs(), raster1.crs()) {
        bail!(
            "{}: its CRS ({}) is not {whose} ({}); warp it onto {whose} grid, e.g. `gdalwarp -r near -t_srs <{whose} CRS> -te <xmin ymin xmax ymax> -tr <cell size> {} aligned.tif`",
            path1.display(),
            raster1.crs().label(),
            raster0.crs().label(),
            path1.display()
        );
    }
    let (g0, g1) = (raster0.grid(), raster1.grid());
    if (
        g0.left,
        g0.top,
        g0.cell_width,
        g0.cell_height,
        g0.rows,
        g0.cols,
    ) != (
        g1.left,
        g1.top,
        g1.cell_width,
        g1.cell_height,
        g1.rows,
        g1.cols,
    ) {
        bail!(
            "{}: not on {whose} grid ({} x {} cells of {} from ({}, {}), {whose} has {} x {} of {} from ({}, {})); align it first: `gdalwarp -r near -te {} {} {} {} -tr {} {} {} aligned.tif`",
            path1.display(),
            g1.cols, g1.rows, g1.cell_width, g1.left, g1.top,
            g0.cols, g0.rows, g0.cell_width, g0.left, g0.top,
            g0.left, g0.bottom(), g0.right(), g0.top, g0.cell_width, g0.cell_height,
            path1.display()
        );
    }
    Ok(raster1)
}

/// `gep change`: transitions, net change and the ΔGEP decomposition between two years.
pub fn change(flags: &ChangeFlags, quiet: bool) -> Result<u8> {
    // Year 1: a full config (--config1), or the flags.
    let plan1 = match &flags.config1 {
        Some(c) => {
            let c = absolute(c)?;
            Some(Plan::from_file(&c).with_context(|| format!("year 1's config {}", c.display()))?)
        }
        None => None,
    };
    let (path1, year1) = match (&plan1, &flags.landcover1, flags.year1) {
        (Some(p), _, _) => {
            let Some(y) = p.year else {
                bail!(
                    "{}: no `year`: year 1's config needs its accounting year",
                    p.config_path.as_deref().unwrap_or(Path::new("")).display()
                );
            };
            (p.landcover.clone(), y)
        }
        (None, Some(l), Some(y)) => (absolute(l)?, y),
        _ => bail!(
            "gep change needs year 1: --config1 year1.toml, or --landcover1 PATH and --year1 YEAR"
        ),
    };
    let deflator_path = flags.deflator.as_deref().map(absolute).transpose()?;
    let mut extra_paths = vec![path1.clone()];
    extra_paths.extend(deflator_path.iter().cloned());
    if let Some(p) = &plan1 {
        extra_paths.extend(input_paths(p));
    }
    let s = setup(&flags.run, quiet, &extra_paths)?;
    let plan = &s.plan;
    let models = match &plan1 {
        Some(p1) => {
            change_models::check_pair(plan, p1)?;
            change_models::has_model_services(plan)
        }
        None => {
            if change_models::has_model_services(plan) {
                bail!(
                    "{}: [models] are configured, but year 1's inputs are not given: the model services' change needs year 1's full config — pass it with --config1 year1.toml (its [landcover], year, [[inputs]] and [models]) instead of --landcover1/--year1",
                    plan.config_path.as_deref().unwrap_or(Path::new("the command line")).display()
                );
            }
            false
        }
    };
    let raster0 = &s.prep.raster;
    // On the first year's grid, or warped onto it (nearest neighbour; the warning says what
    // that costs in exactness).
    let opts1 = match &plan1 {
        Some(p) => RasterOptions {
            band: p.band,
            nodata: p.nodata,
            crs: p.landcover_crs.clone(),
        },
        None => RasterOptions {
            band: plan.band,
            nodata: plan.nodata,
            crs: plan.landcover_crs.clone(),
        },
    };
    let own = GdalRaster::open(&path1, opts1.clone())?;
    let aligned = if on_same_grid(raster0, &own) {
        None
    } else {
        let a = gep_io::align::warp_onto(&path1, opts1, raster0)?;
        s.progress.warn(&format!(
            "{}: not on the first year's grid ({}); warped onto it with nearest neighbour (as `{}`): its class areas are those of the first year's grid, not its own, and the transitions include misregistration between the grids (docs/change.md)",
            path1.display(),
            grid_text(&own),
            a.command
        ));
        Some(a)
    };
    let raster1 = aligned.as_ref().map(|a| a.raster()).unwrap_or(&own);
    let g1 = own.grid();
    let Some(v0) = s.prep.valuation.as_ref() else {
        bail!("gep change values both years: give a coefficient set (--coefficients or [valuation] coefficients)");
    };
    let year0 = plan
        .year
        .context("gep change needs the first year: --year or `year` in the config")?;
    let zones = s.prep.zones.clone();
    let opts = gep_zonal::TallyOptions {
        threads: plan.threads,
        ..Default::default()
    };
    s.progress.status(crate::i18n::t("change.tallying"));
    let t = gep_zonal::tally_transitions(raster0, raster1, &zones, &opts, &s.progress)?;
    let (set1, params1) = match (&plan1, &flags.coefficients1) {
        (Some(p), _) => {
            let v1 = load_valuation(p)?.context("year 1's config has no [valuation]")?;
            (v1.set, v1.params)
        }
        (None, Some(c)) => (CoefficientSet::load(c)?, v0.params.clone()),
        (None, None) => (v0.set.clone(), v0.params.clone()),
    };
    let deflator = deflator_path
        .as_deref()
        .map(Deflator::from_path)
        .transpose()?;
    let cw = v0.crosswalk.as_ref();
    let a0 = TypeAreas::from_extent(&zones, &t.year0(), cw)?;
    let a1 = TypeAreas::from_extent(&zones, &t.year1(), cw)?;
    let uv0 = UnitValues::from_set(&v0.set, &v0.params)?;
    let uv1 = UnitValues::from_set(&set1, &params1)?;
    let model_change = match (&plan1, models) {
        (Some(p1), true) => Some(change_models::model_change(
            plan,
            p1,
            !flags.no_counterfactual,
            &s.progress,
        )?),
        _ => None,
    };
    let empty = ModelTerms::default();
    let ch = decompose_with_models(
        YearState {
            year: year0,
            areas: &a0,
            unit_values: &uv0,
        },
        YearState {
            year: year1,
            areas: &a1,
            unit_values: &uv1,
        },
        model_change.as_ref().map_or(&empty, |m| &m.terms),
        &ChangeOptions {
            real_price_year: flags.real_price_year,
            deflator: deflator.as_ref(),
        },
    )?;
    let mut extra = vec![input_file(
        "landcover:year1",
        &path1,
        Some(own.crs().label()),
        Some([g1.cell_width, g1.cell_height]),
    )?];
    if let Some(d) = &deflator_path {
        extra.push(input_file("deflator", d, None, None)?);
    }
    if let Some(p1) = &plan1 {
        if let Some(c) = &p1.config_path {
            extra.push(input_file("config:year1", c, None, None)?);
        }
        for f in p1.models.files() {
            extra.push(input_file("models:year1", &f, None, None)?);
        }
    }
    for f in plan.models.files() {
        extra.push(input_file("models:year0", &f, None, None)?);
    }
    let warnings = s.progress.warnings();
    let lang = plan.lang;
    publish(&s, extra, warnings, |dir, info| {
        change_tables::write_transitions(dir, &zones, &t)?;
        change_tables::write_change(dir, &ch)?;
        let report = change_report::years_report(&zones, &t, &ch, cw, info.clone())?;
        gep_report::write_change_html(&dir.join("report.html"), &report, lang)?;
        Ok(())
    })?;
    if !quiet {
        for z in zones.iter().filter(|z| z.parent.is_none()) {
            if let Some(r) = ch.zone_service(&z.id, None) {
                let input = r
                    .nominal
                    .input_yuan
                    .map(|i| crate::i18n::tf("change.input", &[("input", &format!("{i:+.0}"))]))
                    .unwrap_or_default();
                eprintln!(
                    "{}",
                    crate::i18n::tf(
                        "change.line",
                        &[
                            ("id", &z.id),
                            ("name", &z.name),
                            ("year0", &year0),
                            ("year1", &year1),
                            ("total", &format!("{:+.0}", r.nominal.total_yuan)),
                            ("land", &format!("{:+.0}", r.nominal.land_yuan)),
                            ("input", &input),
                            ("prices", &format!("{:+.0}", r.nominal.price_yuan)),
                            (
                                "interaction",
                                &format!("{:+.0}", r.nominal.interaction_yuan)
                            ),
                        ]
                    )
                );
            }
        }
    }
    Ok(0)
}

/// An extra layer: its path, its features reprojected to the raster's CRS, and the outlines
/// as read with their CRS.
struct ExtraLayer {
    path: PathBuf,
    zones: Vec<Zone>,
    read: Vec<gep_core::geo_types::MultiPolygon<f64>>,
    crs: gep_io::Crs,
}

/// Reads an extra layer given as PATH:ID_FIELD[:SECOND_FIELD], reprojected to the raster's CRS.
fn read_extra_layer(
    spec: &str,
    flag: &str,
    raster: &GdalRaster,
    threads: usize,
) -> Result<ExtraLayer> {
    let parts: Vec<&str> = spec.split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts[0].is_empty() || parts[1].is_empty() {
        bail!(
            "--{flag} {spec:?}: expected PATH:ID_FIELD[:FIELD], e.g. parcels.gpkg:parcel_no:name"
        );
    }
    let path = absolute(Path::new(parts[0]))?;
    let mut zs = ZoneLayerSpec::new(&path, Level::Village, parts[1]);
    zs.name_field = parts.get(2).map(|s| s.to_string());
    let mut layer = gep_io::read_zones(&zs)?;
    let read = layer.zones.iter().map(|z| z.geometry.clone()).collect();
    gep_io::reproject::reproject_zones_threads(
        &mut layer.zones,
        &layer.crs,
        raster.crs(),
        gep_io::Densify::Default,
        threads,
    )
    .with_context(|| format!("reprojecting {}", path.display()))?;
    Ok(ExtraLayer {
        path,
        zones: layer.zones,
        read,
        crs: layer.crs,
    })
}

fn layer_inputs(role: &str, path: &Path) -> Result<Vec<InputFile>> {
    sidecars(path)
        .iter()
        .map(|p| input_file(role, p, None, None))
        .collect()
}

/// `gep parcels`: exact areas, values and villages of a parcel layer, and the package total.
pub fn parcels(flags: &ParcelFlags, quiet: bool) -> Result<u8> {
    let ppath = absolute(Path::new(flags.parcels.split(':').next().unwrap_or("")))?;
    let s = setup(&flags.run, quiet, std::slice::from_ref(&ppath))?;
    let ExtraLayer {
        path,
        zones: layer,
        read,
        crs,
    } = read_extra_layer(&flags.parcels, "parcels", &s.prep.raster, s.plan.threads)?;
    let parcels: Vec<Parcel> = layer
        .into_iter()
        .map(|z| Parcel {
            id: z.id,
            name: z.name,
            geometry: z.geometry,
        })
        .collect();
    // The villages: the lowest level loaded.
    let lowest = s
        .prep
        .zones
        .iter()
        .map(|z| z.level)
        .max_by_key(|l| l.rank());
    let villages: Vec<Zone> = s
        .prep
        .zones
        .iter()
        .filter(|z| Some(z.level) == lowest)
        .cloned()
        .collect();
    let a = assess_parcels(
        &s.prep.raster,
        &parcels,
        &villages,
        s.prep.valuation.as_ref(),
        s.plan.threads,
        &s.progress,
    )?;
    let mut warnings = s.progress.warnings();
    for w in &a.warnings {
        s.progress.warn_in(&|l| w.message(l));
        warnings.push(w.to_string());
    }
    let extra = layer_inputs("parcels", &path)?;
    publish(&s, extra, warnings, |dir, _| {
        change_tables::write_parcels(dir, &a)?;
        gep_engine::parcels_layer::write_parcels_gpkg(&dir.join("parcels.gpkg"), &a, &read, &crs)?;
        Ok(())
    })?;
    if !quiet {
        eprintln!(
            "{}",
            crate::i18n::tf(
                "change.parcels",
                &[
                    ("n", &a.package.parcels),
                    ("small", &a.package.smaller_than_cell),
                    ("area", &a.package.polygon_area_m2),
                    (
                        "gep",
                        &a.package
                            .gep_yuan
                            .map(|g| format!("{g:.2}"))
                            .unwrap_or_else(|| crate::i18n::t("change.not_valued").into())
                    ),
                ]
            )
        );
    }
    Ok(0)
}

/// `gep appraise`: ΔGEP of a project's footprints (or of a scenario raster) by affected
/// village, township and county.
pub fn appraise_cmd(flags: &AppraiseFlags, quiet: bool) -> Result<u8> {
    if let Some(scenario) = &flags.scenario {
        return appraise_scenario_cmd(flags, scenario, quiet);
    }
    let Some(spec) = flags.footprints.as_deref() else {
        bail!("gep appraise needs the project: --footprints PATH:ID_FIELD:CLASS_FIELD or --scenario raster.tif");
    };
    let fpath = absolute(Path::new(spec.split(':').next().unwrap_or("")))?;
    if spec.split(':').count() != 3 {
        bail!(
            "--footprints {spec:?}: expected PATH:ID_FIELD:CLASS_FIELD, e.g. project.gpkg:id:new_class"
        );
    }
    let s = setup(&flags.run, quiet, std::slice::from_ref(&fpath))?;
    let Some(v) = s.prep.valuation.as_ref() else {
        bail!("gep appraise values the change: give a coefficient set (--coefficients or [valuation] coefficients)");
    };
    let ExtraLayer {
        path, zones: layer, ..
    } = read_extra_layer(spec, "footprints", &s.prep.raster, s.plan.threads)?;
    let field = spec.rsplit(':').next().unwrap_or("");
    let footprints: Vec<Footprint> = layer
        .into_iter()
        .map(|z| {
            let class = z.name.trim().parse::<i32>().with_context(|| {
                format!(
                    "{}: footprint {:?} has {field} = {:?}, not a land-cover code; write the class code (e.g. 8 for CLCD impervious)",
                    path.display(),
                    z.id,
                    z.name
                )
            })?;
            Ok(Footprint {
                id: z.id,
                new_class: class,
                geometry: z.geometry,
            })
        })
        .collect::<Result<_>>()?;
    let a = appraise(
        &s.prep.raster,
        s.prep.zones.clone(),
        &footprints,
        v,
        s.plan.threads,
        &s.progress,
    )?;
    let extra = layer_inputs("footprints", &path)?;
    publish_appraisal(&s, extra, &a, quiet)
}

/// `gep appraise --scenario`: the land cover after the project as a raster.
fn appraise_scenario_cmd(flags: &AppraiseFlags, scenario: &Path, quiet: bool) -> Result<u8> {
    let spath = absolute(scenario)?;
    let s = setup(&flags.run, quiet, std::slice::from_ref(&spath))?;
    let Some(v) = s.prep.valuation.as_ref() else {
        bail!("gep appraise values the change: give a coefficient set (--coefficients or [valuation] coefficients)");
    };
    let raster1 = open_aligned(&spath, &s.plan, &s.prep.raster, "the land-cover raster's")?;
    s.progress
        .status(crate::i18n::t("progress.tallying_scenario"));
    let a = gep_engine::appraise_scenario(
        &s.prep.raster,
        &raster1,
        s.prep.zones.clone(),
        v,
        s.plan.threads,
        &s.progress,
    )?;
    let g = raster1.grid();
    let extra = vec![input_file(
        "landcover:scenario",
        &spath,
        Some(raster1.crs().label()),
        Some([g.cell_width, g.cell_height]),
    )?];
    publish_appraisal(&s, extra, &a, quiet)
}

/// Writes an appraisal's tables and report, and prints the affected zones.
fn publish_appraisal(s: &Setup, extra: Vec<InputFile>, a: &Appraisal, quiet: bool) -> Result<u8> {
    let cw = s.prep.valuation.as_ref().and_then(|v| v.crosswalk.as_ref());
    let warnings = s.progress.warnings();
    let lang = s.plan.lang;
    publish(s, extra, warnings, |dir, info| {
        change_tables::write_appraisal(dir, a)?;
        let report = change_report::appraisal_report(a, cw, info.clone())?;
        gep_report::write_change_html(&dir.join("report.html"), &report, lang)?;
        Ok(())
    })?;
    if !quiet {
        for z in a.zones.iter().filter(|z| a.affected.contains(&z.id)) {
            eprintln!(
                "{}",
                crate::i18n::tf(
                    "change.appraisal",
                    &[
                        ("id", &z.id),
                        ("name", &z.name),
                        ("level", &crate::i18n::level(z.level)),
                        (
                            "delta",
                            &format!("{:+.2}", a.gep_change(&z.id).unwrap_or(0.0))
                        ),
                    ]
                )
            );
        }
    }
    Ok(0)
}
