//! The C interface as a C program sees it: each `tests/c/*.c` is compiled with the system C
//! compiler (`$CC`, else `cc`) against the generated header and linked to the cdylib that
//! `cargo test` built for this test (`libgep_capi.so` beside the test executable), then run.
//!
//! Also: the committed `include/gep.h` equals the one build.rs generates.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn workspace_root() -> PathBuf {
    crate_dir()
        .join("../..")
        .canonicalize()
        .expect("the workspace root")
}

/// `target/<profile>/deps`, where cargo put this test and the library it links.
fn deps_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    exe.parent().expect("the test's directory").to_path_buf()
}

/// The header build.rs generated.
fn generated_header() -> PathBuf {
    Path::new(env!("OUT_DIR")).join("gep.h")
}

/// Compiles `tests/c/<name>.c` into `dir` and returns the executable.
fn compile(name: &str, dir: &Path) -> PathBuf {
    let lib_dir = deps_dir();
    let lib = lib_dir.join(format!(
        "{}gep_capi{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    assert!(
        lib.exists(),
        "the cdylib is not at {} (cargo builds it with the test)",
        lib.display()
    );
    let source = crate_dir().join("tests/c").join(format!("{name}.c"));
    let exe = dir.join(name);
    let cc = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
    let out = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic"])
        .arg("-I")
        .arg(generated_header().parent().unwrap())
        .arg(&source)
        .arg("-o")
        .arg(&exe)
        .arg("-L")
        .arg(&lib_dir)
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .args(["-lgep_capi", "-lm"])
        .output()
        .unwrap_or_else(|e| panic!("running the C compiler {cc:?}: {e}"));
    assert!(
        out.status.success(),
        "compiling {}:\n{}",
        source.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

fn run(exe: &Path, args: &[&Path]) -> Output {
    // Cargo puts target/<profile> on the loader's path for tests, and `cargo test` does not
    // refresh the copy of the library there: put the one beside this test first (the
    // loader reads LD_LIBRARY_PATH before the executable's RUNPATH).
    let mut path = std::ffi::OsString::from(deps_dir());
    if let Some(old) = std::env::var_os("LD_LIBRARY_PATH") {
        path.push(":");
        path.push(old);
    }
    let out = Command::new(exe)
        .args(args)
        .env("LD_LIBRARY_PATH", path)
        .current_dir(workspace_root())
        .output()
        .expect("running the C program");
    assert!(
        out.status.success(),
        "{} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        exe.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn header_is_up_to_date() {
    let generated = std::fs::read_to_string(generated_header()).expect("the generated header");
    let committed_path = crate_dir().join("include/gep.h");
    if std::env::var_os("GEP_BLESS_HEADER").is_some() {
        std::fs::write(&committed_path, &generated).expect("writing include/gep.h");
    }
    let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} differs from the header cbindgen generates from the source ({}); refresh it with\n  GEP_BLESS_HEADER=1 cargo test -p gep-capi --test c_api header",
        committed_path.display(),
        generated_header().display()
    );
}

#[test]
fn memory_assessment_checked_by_hand_in_c() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&compile("memory", dir.path()), &[]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "memory: all checks passed\n"
    );
}

#[test]
fn errors_null_pointers_missing_plan_invalid_wkb_in_c() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-plan.toml");
    let no_raster = dir.path().join("no-raster.toml");
    let demo = std::fs::read_to_string(workspace_root().join("fixtures/demo/gep.toml")).unwrap();
    // The boundaries as in the demo (absolute paths), the raster missing.
    let fixtures = workspace_root().join("fixtures");
    let config = demo
        .replace(
            "\"../mcd12c1_2019_igbp_zhejiang.tif\"",
            "\"missing-landcover.tif\"",
        )
        .replace("\"../", &format!("\"{}/", fixtures.display()));
    assert!(
        config.contains("missing-landcover.tif"),
        "the demo config no longer names its raster so"
    );
    std::fs::write(&no_raster, config).unwrap();
    let out = run(&compile("errors", dir.path()), &[&missing, &no_raster]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "errors: all checks passed\n"
    );
}

/// `key value` lines of the plan program's output (repeated keys: the last).
fn fields(stdout: &str) -> BTreeMap<String, String> {
    stdout
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The `gep` binary, built with `cargo build -p gep-cli` (a no-op when up to date): `cargo
/// test` builds binaries only for their own package's tests.
fn gep_bin() -> PathBuf {
    let profile_dir = deps_dir().parent().expect("target/<profile>").to_path_buf();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args(["build", "-q", "-p", "gep-cli"])
        .current_dir(workspace_root());
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    assert!(
        build.status().expect("running cargo build").success(),
        "cargo build -p gep-cli failed"
    );
    let exe = profile_dir.join(format!("gep{}", std::env::consts::EXE_SUFFIX));
    assert!(exe.exists(), "gep binary not found at {}", exe.display());
    exe
}

#[test]
fn demo_plan_in_c_matches_the_gep_command() {
    let dir = tempfile::tempdir().unwrap();
    let config = workspace_root().join("fixtures/demo/gep.toml");
    let out = run(&compile("plan", dir.path()), &[&config]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let c = fields(&stdout);
    assert_eq!(c["zones"], "26 470 7541", "{stdout}");
    assert_eq!(c["counties"], "26");
    assert_eq!(c["failures"], "0", "{stdout}");
    assert_eq!(c["price_year"], "2010");
    let c_total: f64 = c["gep_yuan"].parse().unwrap();
    assert_eq!(c["total_kind"], "1", "the demo is an ESV: {stdout}");
    let parts: f64 = [
        "material_yuan",
        "regulating_yuan",
        "cultural_yuan",
        "supporting_yuan",
    ]
    .iter()
    .map(|k| c[*k].parse::<f64>().unwrap())
    .sum();
    assert!((parts - c_total).abs() <= 1e-9 * c_total.abs());

    // The same plan through the gep command: Σ of gep.csv's county rows, in file order.
    let cli_out = dir.path().join("out");
    let st = Command::new(gep_bin())
        .arg("-q")
        .arg("run")
        .arg(&config)
        .arg("--out")
        .arg(&cli_out)
        .current_dir(workspace_root())
        .output()
        .expect("running gep");
    assert!(
        st.status.success(),
        "gep run failed:\n{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let mut csv = csv::Reader::from_path(cli_out.join("gep.csv")).expect("gep.csv");
    let headers = csv.headers().unwrap().clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("gep.csv has no {name}"))
    };
    let (level, value, id) = (col("zone_level"), col("gep_yuan"), col("zone_id"));
    let mut cli_total = 0.0;
    let mut counties = 0;
    for record in csv.records() {
        let record = record.unwrap();
        if &record[level] == "county" {
            let v: f64 = record[value].parse().unwrap();
            cli_total += v;
            counties += 1;
            // Each county's own row too (gep.csv values are printed, so to 1e-9 relative).
            let c_value: f64 = stdout
                .lines()
                .find_map(|l| l.strip_prefix(&format!("county {} ", &record[id])))
                .unwrap_or_else(|| panic!("county {} missing from the C output", &record[id]))
                .parse()
                .unwrap();
            assert!(
                (c_value - v).abs() <= 1e-9 * v.abs(),
                "county {}: C {c_value} vs gep.csv {v}",
                &record[id]
            );
        }
    }
    assert_eq!(counties, 26);
    let rel = (c_total - cli_total).abs() / cli_total.abs();
    assert!(
        rel <= 1e-9,
        "C total {c_total} vs gep.csv county sum {cli_total} (relative {rel:e})"
    );
}
