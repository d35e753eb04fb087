//! `gep`: exact GEP accounting by county, township and village.
//!
//! Exit codes: 0 all units succeeded; 1 the run finished but some units (counties) failed
//! (listed in `failures.csv` and on stderr); 2 the config or command line is wrong, or an
//! input cannot be read at all.

// The doc comments of the clap structs are the `--help` text, where `[landcover]` means the
// TOML table, not an intra-doc link.
#![allow(rustdoc::broken_intra_doc_links)]

mod change;
mod errors;
mod help;
mod i18n;
mod init;
mod outputs;
mod progress;
mod rerun;
mod run;

use clap::{FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exact Gross Ecosystem Product (GEP, 生态系统生产总值) accounting from land-cover rasters
/// and administrative boundaries.
#[derive(Debug, Parser)]
#[command(name = "gep", version, about, long_about = None)]
pub struct Cli {
    /// Hide progress bars and status lines (errors and warnings still go to stderr).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags that override or replace a config file.
#[derive(Debug, Clone, clap::Args)]
pub struct RunFlags {
    /// The run configuration (TOML). Optional when --landcover, --zones and --out are given.
    pub config: Option<PathBuf>,
    /// Land-cover raster (overrides [landcover] path).
    #[arg(long)]
    pub landcover: Option<PathBuf>,
    /// Band of the land-cover raster, from 1 (overrides [landcover] band).
    #[arg(long)]
    pub band: Option<usize>,
    /// Nodata value of the land-cover raster (overrides [landcover] nodata).
    #[arg(long, allow_negative_numbers = true)]
    pub nodata: Option<f64>,
    /// CRS of the land-cover raster when the file has none, e.g. EPSG:4549 (overrides
    /// [landcover] crs).
    #[arg(long, value_name = "CRS")]
    pub landcover_crs: Option<String>,
    /// Boundary file for quick runs, as PATH:LEVEL:ID_FIELD[:NAME_FIELD]; repeat per level.
    #[arg(long = "zones", value_name = "PATH:LEVEL:ID_FIELD[:NAME_FIELD]")]
    pub zones: Vec<String>,
    /// Text encoding of Shapefile attributes, e.g. GBK: applies to every Shapefile layer, or
    /// to one level as LEVEL=ENCODING (overrides [[zones]] encoding).
    #[arg(long, value_name = "[LEVEL=]ENCODING")]
    pub encoding: Vec<String>,
    /// gcj02 when boundary coordinates come from AMap/Gaode or Tencent web maps (corrected to
    /// WGS 84), declared to use them as the file says; every layer, or LEVEL=DATUM (overrides
    /// [[zones]] datum).
    #[arg(long, value_name = "[LEVEL=]DATUM")]
    pub datum: Vec<String>,
    /// CRS of boundary files that have none, e.g. EPSG:4490; every layer, or LEVEL=CRS
    /// (overrides [[zones]] crs).
    #[arg(long, value_name = "[LEVEL=]CRS")]
    pub zones_crs: Vec<String>,
    /// Output directory (overrides [output] dir).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker threads (0 = all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Accounting year.
    #[arg(long)]
    pub year: Option<i32>,
    /// Coefficient set: built-in id or file (overrides [valuation] coefficients).
    #[arg(long)]
    pub coefficients: Option<String>,
    /// Crosswalk: built-in id or file (overrides [valuation] crosswalk).
    #[arg(long)]
    pub crosswalk: Option<String>,
    /// Only these counties (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    pub counties: Option<Vec<String>>,
    /// Report language: zh or en (overrides [output] lang).
    #[arg(long)]
    pub lang: Option<String>,
    /// Reuse the counties an interrupted run already tallied (cached beside the output
    /// directory, keyed by the inputs' hashes) instead of tallying them again.
    #[arg(long)]
    pub resume: bool,
    /// Do not write the workbook, HTML report and GeoPackage ([output] report = false).
    #[arg(long)]
    pub no_report: bool,
    /// Also write value_density.tif ([output] value_raster = true).
    #[arg(long)]
    pub value_raster: bool,
    /// Check only that children add up to their parents, not the gap/overlap/spill geometry
    /// ([checks] geometry = false).
    #[arg(long)]
    pub no_geometry_checks: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented starter config for the common bureau case: one county, three levels
    /// (county/township/village), GBK Shapefiles, a CLCD or 三调 land-cover raster.
    Init {
        /// The config to write (default gep.toml); an existing file is never overwritten.
        file: Option<PathBuf>,
        /// The land-cover raster's classes: clcd (China Land Cover Dataset, 30 m) or sandiao
        /// (third national land survey, 三调).
        #[arg(long, default_value = "clcd")]
        scheme: String,
        /// Language of the comments: zh or en (default: the locale).
        #[arg(long)]
        lang: Option<String>,
    },
    /// Run the accounting: extent by zone and class, hierarchy checks, GEP accounts.
    Run(RunFlags),
    /// Pre-flight only: CRS, extents, classes, geometry validity, hierarchy, and the gaps,
    /// overlaps and spills `gep run` would write into checks.csv. Writes nothing.
    Validate(RunFlags),
    /// Re-run the command recorded in a run manifest and check that the tables come out
    /// byte for byte the same (says which input changed when they cannot).
    Rerun {
        /// The manifest.json of an earlier run.
        manifest: PathBuf,
        /// Write the new results here instead of over the original output directory.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Land-cover change between two years: transition matrix and net change by zone, and
    /// the GEP change split into land, price and interaction effects (and, with model
    /// services, the effect of their inputs; docs/change.md).
    Change(change::ChangeFlags),
    /// Value a layer of parcels (asset packages): exact area by type, value by service, the
    /// villages each lies in with shares, and the package total (docs/change.md).
    Parcels(change::ParcelFlags),
    /// Appraise a project: footprints with the land cover each would become (or a scenario
    /// raster) → ΔGEP by affected village, township and county, by service (docs/change.md).
    Appraise(change::AppraiseFlags),
    /// Describe a raster or vector file.
    Info {
        /// The file.
        file: PathBuf,
    },
    /// Coefficient sets: list the built-in ones, show one, or check a file.
    #[command(subcommand)]
    Coefficients(CoefCommand),
    /// Crosswalks: list the built-in ones or show one.
    #[command(subcommand)]
    Crosswalks(CrosswalkCommand),
}

#[derive(Debug, Subcommand)]
pub enum CoefCommand {
    /// List built-in coefficient sets.
    List,
    /// Show a built-in set (or a file) in full.
    Show {
        /// Built-in id or path.
        id: String,
    },
    /// Check a coefficient-set file and report every problem.
    Check {
        /// The file.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum CrosswalkCommand {
    /// List built-in crosswalks.
    List,
    /// Show a built-in crosswalk (or a file).
    Show {
        /// Built-in id or path.
        id: String,
    },
}

/// Rust ignores SIGPIPE, so a write to a closed pipe (`gep coefficients show xie2015 | head`)
/// becomes an error that `println!` turns into a panic. A command-line tool should end quietly
/// instead, as `cat` does: restore the default action (terminate on SIGPIPE).
#[cfg(unix)]
fn quiet_on_closed_pipe() {
    // SAFETY: called first thing in `main`, before any other thread exists; `signal` with
    // `SIG_DFL` installs no handler code, it only restores the default disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn quiet_on_closed_pipe() {}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    // The language of --help and of messages before a config is read: --lang, else the locale.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let lang = i18n::from_args(&args).unwrap_or_else(i18n::from_locale);
    i18n::set(lang);
    let parsed = help::command(lang)
        .try_get_matches_from(&args)
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            // clap's own messages are English: a Chinese line says what happened first.
            if e.use_stderr() && i18n::zh() {
                eprintln!("{}", i18n::t("run.bad_command_line"));
            }
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let outcome = std::panic::catch_unwind(|| dispatch(&cli));
    match outcome {
        Ok(Ok(code)) => ExitCode::from(code),
        Ok(Err(e)) => {
            eprintln!(
                "{}",
                i18n::tf("run.error", &[("message", &errors::describe(&e))])
            );
            ExitCode::from(2)
        }
        Err(_) => {
            eprintln!("{}", i18n::t("run.internal"));
            ExitCode::from(2)
        }
    }
}

/// Runs a parsed command line; returns the exit code.
pub fn dispatch(cli: &Cli) -> anyhow::Result<u8> {
    match &cli.command {
        Command::Init { file, scheme, lang } => {
            init::init(file.as_deref(), scheme, lang.as_deref())
        }
        Command::Run(flags) => run::run(flags, cli.quiet),
        Command::Validate(flags) => run::validate(flags, cli.quiet),
        Command::Change(flags) => change::change(flags, cli.quiet),
        Command::Parcels(flags) => change::parcels(flags, cli.quiet),
        Command::Appraise(flags) => change::appraise_cmd(flags, cli.quiet),
        Command::Rerun { manifest, out } => rerun::rerun(manifest, out.as_deref(), cli.quiet),
        Command::Info { file } => {
            println!("{}", gep_io::describe_path(file)?);
            Ok(0)
        }
        Command::Coefficients(c) => match c {
            CoefCommand::List => {
                for s in gep_core::coefficients::list_builtin_sets()? {
                    println!(
                        "{:<28} v{:<8} {:?} {:?}, price year {}, {} services, {} entries{}",
                        s.id,
                        s.version,
                        s.kind,
                        s.key,
                        s.price_year
                            .map(|y| y.to_string())
                            .unwrap_or_else(|| "-".into()),
                        s.services,
                        s.entries,
                        if s.example { " [example defaults]" } else { "" }
                    );
                }
                Ok(0)
            }
            CoefCommand::Show { id } => {
                println!("{}", gep_core::coefficients::show_set(id)?);
                Ok(0)
            }
            CoefCommand::Check { file } => {
                let (s, warnings) = gep_core::coefficients::check_set_file(file)?;
                println!(
                    "{}: ok — {} v{}, {} services, {} entries ({} not applicable, {} unverified, {} negative), sha256 {}",
                    file.display(),
                    s.id,
                    s.version,
                    s.services,
                    s.entries,
                    s.not_applicable,
                    s.unverified,
                    s.negative,
                    s.sha256
                );
                for w in warnings {
                    println!("warning: {w}");
                }
                Ok(0)
            }
        },
        Command::Crosswalks(c) => match c {
            CrosswalkCommand::List => {
                for id in gep_core::crosswalk::Crosswalk::builtin_ids() {
                    let c = gep_core::crosswalk::Crosswalk::builtin(id)?;
                    println!(
                        "{:<22} v{:<8} {} ({} codes)",
                        c.id,
                        c.version,
                        c.scheme,
                        c.classes.len()
                    );
                }
                Ok(0)
            }
            CrosswalkCommand::Show { id } => {
                let c = gep_core::crosswalk::Crosswalk::load(id)?;
                println!(
                    "{} v{} — {}\nsource: {}\nsha256: {}",
                    c.id, c.version, c.scheme, c.source, c.sha256
                );
                if !c.notes.is_empty() {
                    println!("notes: {}", c.notes);
                }
                for code in c.classes.keys() {
                    let parts = c.lookup(*code).unwrap_or(&[]);
                    println!("{code:>6} → {}", gep_engine::plan::mapping_text(parts));
                }
                Ok(0)
            }
        },
    }
}
