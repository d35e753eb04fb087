//! `gep rerun manifest.json`: reproduce a run from its manifest and compare the tables.

use crate::i18n::tf;
use crate::{Cli, Command};
use anyhow::{bail, Context, Result};
use clap::Parser;
use gep_report::{Manifest, OutputFile};
use std::path::Path;

/// Files compared byte for byte: the tables. The manifest (timings), workbook (creation
/// time), GeoPackage (timestamps) and HTML (timings) legitimately differ between runs.
fn is_table(path: &str) -> bool {
    path.ends_with(".csv")
}

/// Re-runs the recorded command and reports whether the tables are identical.
pub fn rerun(manifest_path: &Path, out: Option<&Path>, quiet: bool) -> Result<u8> {
    let manifest = Manifest::read(manifest_path)
        .with_context(|| format!("reading manifest {}", manifest_path.display()))?;
    // Relative paths of the recorded run (its command line, its inputs) are relative to the
    // directory it was started from.
    let recorded_dir = manifest
        .working_dir
        .as_deref()
        .map(Path::new)
        .filter(|d| d.is_dir());
    let changed = manifest.changed_inputs(recorded_dir.unwrap_or(Path::new("/")));
    if !changed.is_empty() {
        for c in &changed {
            match &c.current_sha256 {
                Some(h) => eprintln!(
                    "{}",
                    tf(
                        "rerun.changed",
                        &[
                            ("path", &c.recorded.path),
                            ("role", &c.recorded.role),
                            ("was", &c.recorded.sha256),
                            ("now", h),
                        ]
                    )
                ),
                None => eprintln!(
                    "{}",
                    tf(
                        "rerun.missing",
                        &[("path", &c.recorded.path), ("role", &c.recorded.role)]
                    )
                ),
            }
        }
        bail!(tf(
            "rerun.inputs_changed",
            &[
                ("n", &changed.len()),
                ("manifest", &manifest_path.display())
            ]
        ));
    }
    let mut args = manifest.command.clone();
    if args.is_empty() {
        bail!(
            "{}: the manifest records no command",
            manifest_path.display()
        );
    }
    let original_out = manifest_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| ".".into());
    let target = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| original_out.clone());
    // Drop any recorded --out and write where asked.
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--out" {
            args.drain(i..(i + 2).min(args.len()));
        } else if args[i].starts_with("--out=") {
            args.remove(i);
        } else {
            i += 1;
        }
    }
    let target_abs = std::env::current_dir()?.join(&target);
    args.push("--out".into());
    args.push(target_abs.display().to_string());
    if quiet && !args.iter().any(|a| a == "-q" || a == "--quiet") {
        args.push("--quiet".into());
    }
    let cli = Cli::try_parse_from(&args).context("the recorded command no longer parses")?;
    if let Some(d) = recorded_dir {
        std::env::set_current_dir(d)
            .with_context(|| format!("entering {}, where the run was started", d.display()))?;
    }
    if !matches!(cli.command, Command::Run(_)) {
        bail!(
            "{}: the recorded command is not `gep run`",
            manifest_path.display()
        );
    }
    let code = crate::dispatch(&cli)?;
    let new = OutputFile::all_in(&target_abs, &["manifest.json"])?;
    let mut differ = Vec::new();
    for old in manifest.outputs.iter().filter(|o| is_table(&o.path)) {
        match new.iter().find(|n| n.path == old.path) {
            Some(n) if n.sha256 == old.sha256 => {}
            Some(_) => differ.push(tf("rerun.differs", &[("path", &old.path)])),
            None => differ.push(tf("rerun.table_missing", &[("path", &old.path)])),
        }
    }
    if differ.is_empty() {
        let n = manifest
            .outputs
            .iter()
            .filter(|o| is_table(&o.path))
            .count();
        println!(
            "{}",
            tf(
                "rerun.reproduced",
                &[("n", &n), ("dir", &target_abs.display())]
            )
        );
        Ok(code)
    } else {
        for d in &differ {
            eprintln!("{}", tf("rerun.not_reproduced", &[("what", d)]));
        }
        bail!(tf("rerun.failed", &[("n", &differ.len())]))
    }
}
