//! Continuous inputs and physical models (`[[inputs]]`, `[models.*]`): every case starts from
//! the working Willamette plan (`fixtures/models/willamette_mini.toml`: soil retention with
//! InVEST's LS and the water balance on a real 128 × 128 window), paths made absolute, the
//! output in the case directory, and breaks one thing. Each is fatal (exit 2): the message
//! names the input, table or setting and the fix, and no output directory (or a previous
//! result set, byte for byte unchanged) is left.
//!
//! The rasters of the misaligned, CRS-less and far-away inputs are written here with the
//! `gdal` crate from the fixture's precipitation.

use super::support::*;
use gdal::raster::Buffer;
use gdal::spatial_ref::SpatialRef;
use gdal::{Dataset, DriverManager};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// `fixtures/models/<rel>`.
fn models_fixture(rel: &str) -> PathBuf {
    fixture("models").join(rel)
}

/// The Willamette plan with every path absolute and `[output] dir = "out"`.
fn mini_config() -> String {
    let text = std::fs::read_to_string(fixture("models/willamette_mini.toml")).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        let rewritten = ["path", "factors", "runoff_coefficients"]
            .iter()
            .find_map(|key| {
                let rel = line
                    .strip_prefix(&format!("{key} = \""))?
                    .strip_suffix('"')?;
                Some(format!(
                    "{key} = \"{}\"",
                    models_fixture(rel).display().to_string().replace('\\', "/")
                ))
            });
        out.push_str(rewritten.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out.push_str("\n[output]\ndir = \"out\"\n");
    out
}

/// `s` with `from` (which must occur exactly once) replaced by `to`.
fn edit(s: &str, from: &str, to: &str) -> String {
    assert_eq!(s.matches(from).count(), 1, "{from:?} not once in:\n{s}");
    s.replacen(from, to, 1)
}

/// The absolute path of the fixture's precipitation in the config (to swap it for another).
fn precip_path() -> String {
    models_fixture("willamette_mini/precip.tif")
        .display()
        .to_string()
        .replace('\\', "/")
}

/// `extra` lines added to the `[[inputs]]` table named `name`.
fn in_input(cfg: &str, name: &str, extra: &str) -> String {
    let key = format!("name = \"{name}\"\n");
    edit(cfg, &key, &format!("{key}{extra}\n"))
}

/// A case whose `gep.toml` is the Willamette plan edited by `f`.
fn models_case(f: &dyn Fn(String) -> String) -> Case {
    let c = Case::new();
    c.write("gep.toml", &f(mini_config()));
    c
}

/// Runs the unedited plan in `c` (a previous good result set in `out/`) and returns it.
fn previous_results(c: &Case) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let bad = std::fs::read_to_string(c.p("gep.toml")).unwrap();
    c.write("gep.toml", &mini_config());
    assert_ok(c, &c.run());
    let before = c.snapshot();
    assert!(before.contains_key(&c.out().join("manifest.json")));
    c.write("gep.toml", &bad);
    before
}

/// Exit 2 naming `needles`, with the results of an earlier good run left byte for byte.
fn assert_fatal_keeps_previous(c: &Case, needles: &[&str]) {
    let before = previous_results(c);
    let out = c.run();
    no_panic(&out);
    assert_eq!(out.code, 2, "{out:?}");
    assert_mentions(&out, needles);
    assert_eq!(c.snapshot(), before, "previous results changed");
    c.assert_no_stray();
}

/// Exit 2 naming `needles`, no output directory, nothing beside it but the resume cache.
///
/// A class without a parameter is found only once the tally says which classes each zone
/// has; the failure then leaves `.out.cache/` (the per-county class areas `gep run --resume`
/// reuses, cleared by the next successful run) — a cache, not a half-written result.
fn assert_fatal_after_tally(c: &Case, out: &Out, needles: &[&str]) {
    no_panic(out);
    assert_eq!(out.code, 2, "{out:?}");
    assert_mentions(out, needles);
    assert!(!c.out().exists(), "a fatal run wrote {}", c.out().display());
    for e in std::fs::read_dir(c.dir.path()).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if name == ".out.cache" {
            for f in std::fs::read_dir(e.path()).unwrap() {
                let f = f.unwrap().file_name().to_string_lossy().into_owned();
                assert!(f.ends_with(".json"), "not a tally cache file: {f}");
            }
        } else {
            assert!(!name.starts_with(".out."), "stray staging left: {name}");
        }
    }
}

/// `needle` occurs exactly once on stderr (an error's inner message not printed twice).
fn once(out: &Out, needle: &str) {
    assert_eq!(out.stderr.matches(needle).count(), 1, "{needle:?}: {out:?}");
}

// ---------------------------------------------------------------------------------------------
// Rasters written for the cases
// ---------------------------------------------------------------------------------------------

/// The fixture's precipitation: values, geotransform, nodata.
fn precipitation() -> (Vec<f32>, usize, usize, [f64; 6], Option<f64>) {
    let ds = Dataset::open(models_fixture("willamette_mini/precip.tif")).unwrap();
    let (cols, rows) = ds.raster_size();
    let band = ds.rasterband(1).unwrap();
    let data = band
        .read_as::<f32>((0, 0), (cols, rows), (cols, rows), None)
        .unwrap()
        .data()
        .to_vec();
    (
        data,
        cols,
        rows,
        ds.geo_transform().unwrap(),
        band.no_data_value(),
    )
}

/// A Float32 GeoTIFF; `epsg: None` writes no CRS.
fn write_tif(
    path: &Path,
    cols: usize,
    rows: usize,
    gt: [f64; 6],
    epsg: Option<u32>,
    data: Vec<f32>,
    nodata: Option<f64>,
) {
    let driver = DriverManager::get_driver_by_name("GTiff").unwrap();
    let mut ds = driver
        .create_with_band_type::<f32, _>(path, cols, rows, 1)
        .unwrap();
    ds.set_geo_transform(&gt).unwrap();
    if let Some(e) = epsg {
        ds.set_spatial_ref(&SpatialRef::from_epsg(e).unwrap())
            .unwrap();
    }
    let mut band = ds.rasterband(1).unwrap();
    band.set_no_data_value(nodata).unwrap();
    let mut buf = Buffer::new((cols, rows), data);
    band.write((0, 0), (cols, rows), &mut buf).unwrap();
}

/// The precipitation averaged onto 60 m cells (same origin, same CRS: NAD83 / UTM 10N).
fn precipitation_60m(path: &Path) {
    let (data, cols, rows, gt, nodata) = precipitation();
    let (c2, r2) = (cols / 2, rows / 2);
    let mut out = Vec::with_capacity(c2 * r2);
    for r in 0..r2 {
        for c in 0..c2 {
            let cells = [(0, 0), (0, 1), (1, 0), (1, 1)]
                .map(|(dr, dc)| f64::from(data[(2 * r + dr) * cols + 2 * c + dc]));
            out.push((cells.iter().sum::<f64>() / 4.0) as f32);
        }
    }
    let gt60 = [gt[0], 2.0 * gt[1], 0.0, gt[3], 0.0, 2.0 * gt[5]];
    write_tif(path, c2, r2, gt60, Some(26910), out, nodata);
}

/// The precipitation on its own grid, with the geotransform moved by `dx` metres.
fn precipitation_moved(path: &Path, dx: f64, epsg: Option<u32>) {
    let (data, cols, rows, mut gt, nodata) = precipitation();
    gt[0] += dx;
    write_tif(path, cols, rows, gt, epsg, data, nodata);
}

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

#[test]
fn models_positive_control() {
    let c = models_case(&|s| s);
    let out = c.run();
    assert_ok(&c, &out);
    assert!(c.read_out("quantities.csv").contains("water_conservation"));
}

#[test]
fn input_file_does_not_exist() {
    let c = models_case(&|s| edit(&s, "precip.tif", "precip_2020.tif"));
    let out = c.run();
    assert_fatal(
        &c,
        &out,
        &["\"precipitation\"", "precip_2020.tif", "exists"],
    );
    once(&out, "precip_2020.tif");
}

#[test]
fn model_names_an_undeclared_input() {
    let c = models_case(&|s| {
        edit(
            &s,
            "precipitation = \"precipitation\"",
            "precipitation = \"rain\"",
        )
    });
    let out = c.run();
    assert_fatal(
        &c,
        &out,
        &[
            "[models.water_conservation]",
            "\"rain\"",
            "name = \"rain\"",
            "aet, dem, erodibility, erosivity, precipitation",
        ],
    );
}

#[test]
fn precipitation_declared_in_metres() {
    let c = models_case(&|s| {
        edit(
            &s,
            &format!("path = \"{}\"\nunit = \"mm\"", precip_path()),
            &format!("path = \"{}\"\nunit = \"m\"", precip_path()),
        )
    });
    let out = c.run();
    assert_fatal(
        &c,
        &out,
        &[
            "[[inputs]] \"precipitation\"",
            "[models.water_conservation]",
            "must be in \"mm\"",
            "its unit is \"m\"",
            "unit = \"mm\"",
            "scale",
        ],
    );
}

#[test]
fn precipitation_scaled_to_metres_but_declared_in_mm() {
    let c = models_case(&|s| in_input(&s, "precipitation", "scale = 0.001"));
    let out = c.run();
    assert_fatal(
        &c,
        &out,
        &[
            "\"precipitation\"",
            "precip.tif",
            // The range found (1706.83-2227.15 mm × 0.001) and the valid one.
            "1.70682",
            "2.22715",
            "50..10000 mm",
            "scale = 0.001",
            "set scale = 1",
        ],
    );
}

#[test]
fn input_on_another_grid_without_resampling() {
    let c = models_case(&|s| edit(&s, &precip_path(), "p60.tif"));
    precipitation_60m(&c.p("p60.tif"));
    assert_fatal_keeps_previous(
        &c,
        &[
            "\"precipitation\"",
            "p60.tif",
            "64 x 64 cells (rows x cols) of 60 x 60",
            "128 x 128 cells (rows x cols) of 30 x 30",
            "resampling = \"average\"",
        ],
    );
}

#[test]
fn input_on_another_grid_with_average_resampling() {
    let c = models_case(&|s| {
        in_input(
            &edit(&s, &precip_path(), "p60.tif"),
            "precipitation",
            "resampling = \"average\"",
        )
    });
    precipitation_60m(&c.p("p60.tif"));
    let out = c.run();
    assert_ok(&c, &out);
    let m: Value = serde_json::from_str(&c.read_out("manifest.json")).unwrap();
    let inputs = m["models"]["inputs"].as_array().expect("models.inputs");
    let p = inputs
        .iter()
        .find(|i| i["name"] == "precipitation")
        .expect("precipitation in the manifest");
    assert_eq!(p["resampling"], "average", "{p}");
    assert_eq!(p["warped"], true, "{p}");
    assert!(p["path"].as_str().unwrap().ends_with("p60.tif"), "{p}");
    // The other inputs are on the land-cover grid and read as they are.
    let aet = inputs.iter().find(|i| i["name"] == "aet").unwrap();
    assert_eq!(aet["resampling"], "none", "{aet}");
    assert_eq!(aet["warped"], false, "{aet}");
}

#[test]
fn input_without_crs_and_none_given() {
    let c = models_case(&|s| edit(&s, &precip_path(), "nocrs.tif"));
    precipitation_moved(&c.p("nocrs.tif"), 0.0, None);
    let out = c.run();
    assert_fatal(
        &c,
        &out,
        &[
            "\"precipitation\"",
            "nocrs.tif",
            "no coordinate reference system",
            "crs = \"EPSG:",
        ],
    );
    once(&out, "no coordinate reference system");
    // The fix it gives works.
    let fixed = in_input(
        &std::fs::read_to_string(c.p("gep.toml")).unwrap(),
        "precipitation",
        "crs = \"EPSG:26910\"",
    );
    c.write("gep.toml", &fixed);
    assert_ok(&c, &c.run());
}

#[test]
fn input_that_does_not_overlap_the_land_cover() {
    // 1000 km east of the window, same CRS: with or without a resampling, the error is the
    // overlap (not "declare a resampling").
    for resampling in ["", "resampling = \"average\""] {
        let c = models_case(&|s| {
            in_input(
                &edit(&s, &precip_path(), "far.tif"),
                "precipitation",
                resampling,
            )
        });
        precipitation_moved(&c.p("far.tif"), 1.0e6, Some(26910));
        let out = c.run();
        assert_fatal(
            &c,
            &out,
            &["\"precipitation\"", "far.tif", "does not overlap", "covers"],
        );
        assert!(!out.stderr.contains("must be resampled"), "{out:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Parameter tables
// ---------------------------------------------------------------------------------------------

/// The fixture's table `rel` edited by `f`, written as `name`, and the model's key pointed at
/// it.
fn table_case(key: &str, rel: &str, name: &str, f: &dyn Fn(String) -> String) -> Case {
    let original = models_fixture(rel);
    let text = std::fs::read_to_string(&original).unwrap();
    let c = models_case(&|s| {
        edit(
            &s,
            &format!(
                "{key} = \"{}\"",
                original.display().to_string().replace('\\', "/")
            ),
            &format!("{key} = \"{name}\""),
        )
    });
    c.write(name, &f(text));
    c
}

fn without_rows(s: &str, prefix: &str) -> String {
    let kept: Vec<&str> = s.lines().filter(|l| !l.starts_with(prefix)).collect();
    assert!(kept.len() < s.lines().count(), "no row {prefix:?}");
    kept.join("\n") + "\n"
}

/// Class 21 (light duty roads, 214 cells of the window) has no USLE factors: the run stops
/// (exit 2, nothing published) rather than computing soil retention without it. Found after
/// the tally (see [`assert_fatal_after_tally`]).
#[test]
fn factors_table_missing_a_class_of_the_raster() {
    let needles = [
        "soil_retention",
        "class 21",
        "zone 0",
        "C and P",
        "add a row for class 21",
    ];
    let missing_21 = || {
        table_case(
            "factors",
            "willamette_mini/biophysical_table.csv",
            "bio.csv",
            &|s| without_rows(&s, "21,"),
        )
    };
    let c = missing_21();
    let out = c.run();
    assert_fatal_after_tally(&c, &out, &needles);
    // Over a previous result set: left byte for byte.
    let c = missing_21();
    let before = previous_results(&c);
    let out = c.run();
    no_panic(&out);
    assert_eq!(out.code, 2, "{out:?}");
    assert_mentions(&out, &needles);
    assert_eq!(c.snapshot(), before, "previous results changed");
}

#[test]
fn runoff_coefficients_missing_a_class_of_the_raster() {
    let c = table_case(
        "runoff_coefficients",
        "runoff_coefficients.csv",
        "alpha.csv",
        &|s| without_rows(&s, "21,"),
    );
    let out = c.run();
    assert_fatal_after_tally(
        &c,
        &out,
        &[
            "water_conservation",
            "class 21",
            "zone 0",
            "runoff coefficient",
        ],
    );
}

#[test]
fn runoff_coefficient_given_as_percent() {
    let c = table_case(
        "runoff_coefficients",
        "runoff_coefficients.csv",
        "alpha.csv",
        &|s| edit(&s, "\n51,0.04\n", "\n51,4.65\n"),
    );
    let out = c.run();
    assert_fatal(
        &c,
        &out,
        &[
            "alpha.csv",
            "water_conservation",
            "α = 4.65",
            "class 51",
            "fraction",
        ],
    );
}

/// Checked when the table is read, before the tally.
#[test]
fn usle_c_given_as_percent() {
    let c = table_case(
        "factors",
        "willamette_mini/biophysical_table.csv",
        "bio.csv",
        &|s| {
            edit(
                &s,
                "68,Irrigated annual? rotation,0.6,1000,1,0.35,",
                "68,Irrigated annual? rotation,0.6,1000,1,35,",
            )
        },
    );
    let out = c.run();
    assert_fatal(
        &c,
        &out,
        &["bio.csv", "soil_retention", "C = 35", "class 68", "[0, 1]"],
    );
}

#[test]
fn factors_table_with_a_non_numeric_cell() {
    // Class 52 is on line 10; usle_c is its sixth column. "O.003": a letter O for a zero.
    let c = table_case(
        "factors",
        "willamette_mini/biophysical_table.csv",
        "bio.csv",
        &|s| {
            edit(
                &s,
                "52,Upland Forest Semi-closed mixed,1.0,7000,1,0.003,",
                "52,Upland Forest Semi-closed mixed,1.0,7000,1,O.003,",
            )
        },
    );
    let out = c.run();
    assert_fatal(
        &c,
        &out,
        &["bio.csv line 10", "usle_c", "\"O.003\"", "not a number"],
    );
}

#[test]
fn factors_table_with_a_class_twice() {
    // Class 57 is on line 15, its copy appended on line 43 (the fixture has CRLF line ends).
    let c = table_case(
        "factors",
        "willamette_mini/biophysical_table.csv",
        "bio.csv",
        &|s| {
            let dup = s
                .lines()
                .find(|l| l.starts_with("57,"))
                .unwrap()
                .to_string();
            format!("{s}{dup}\n")
        },
    );
    let out = c.run();
    assert_fatal(
        &c,
        &out,
        &[
            "bio.csv line 43",
            "class 57",
            "lines 15 and 43",
            "one row per class",
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Model settings
// ---------------------------------------------------------------------------------------------

#[test]
fn unknown_ls_algorithm() {
    let c = models_case(&|s| {
        edit(
            &s,
            "ls_algorithm = \"invest_d8\"",
            "ls_algorithm = \"rusle3d\"",
        )
    });
    let out = c.run();
    assert_fatal(
        &c,
        &out,
        &[
            "[models.soil_retention]",
            "\"rusle3d\"",
            "unknown",
            "\"invest_d8\"",
            "\"chinese\"",
            "\"supplied\"",
        ],
    );
}

#[test]
fn supplied_ls_without_an_ls_input() {
    let c = models_case(&|s| {
        let s = edit(
            &s,
            "ls_algorithm = \"invest_d8\"",
            "ls_algorithm = \"supplied\"",
        );
        edit(&s, "\ndem = \"dem\"\n", "\n")
    });
    let out = c.run();
    assert_fatal(
        &c,
        &out,
        &[
            "[models.soil_retention]",
            "ls_algorithm = \"supplied\"",
            "ls = \"<input name>\"",
        ],
    );
}

#[test]
fn routing_memory_budget_too_small() {
    let c = models_case(&|s| {
        edit(
            &s,
            "l_max = 122\n",
            "l_max = 122\nrouting_memory_gib = 0.00001\n",
        )
    });
    assert_fatal_keeps_previous(
        &c,
        &[
            "routing_memory_gib",
            "128 x 128 DEM \"dem\"",
            "16384 cells",
            // 0.00001 GiB.
            "budget of 10737 bytes",
            "coarsen the DEM",
        ],
    );
    // On a fresh directory: nothing written.
    let c = models_case(&|s| {
        edit(
            &s,
            "l_max = 122\n",
            "l_max = 122\nrouting_memory_gib = 0.00001\n",
        )
    });
    let out = c.run();
    assert_fatal(&c, &out, &["routing_memory_gib"]);
}

/// LS is computed on the land-cover grid: with a land cover in degrees, the DEM brought onto
/// it is too, and the fix is to reproject the land cover (the DEM is already projected).
#[test]
fn ls_on_a_geographic_land_cover_grid() {
    let c = models_case(&|s| {
        let s = edit(
            &s,
            &format!(
                "path = \"{}\"",
                models_fixture("willamette_mini/lulc.tif")
                    .display()
                    .to_string()
                    .replace('\\', "/")
            ),
            "path = \"lc4326.tif\"",
        );
        // Every input now needs a resampling onto the geographic grid.
        ["dem", "erosivity", "erodibility", "precipitation", "aet"]
            .iter()
            .fold(s, |s, name| in_input(&s, name, "resampling = \"bilinear\""))
    });
    c.tool(
        "gdalwarp",
        &[
            "-q",
            "-t_srs",
            "EPSG:4326",
            "-r",
            "near",
            &models_fixture("willamette_mini/lulc.tif")
                .display()
                .to_string(),
            "lc4326.tif",
        ],
    );
    let out = c.run();
    assert_fatal(
        &c,
        &out,
        &[
            "[models.soil_retention]",
            "\"dem\"",
            "geographic",
            "EPSG:4326",
            "reproject the land cover",
        ],
    );
}

#[test]
fn two_inputs_with_the_same_name() {
    let c = models_case(&|s| edit(&s, "name = \"aet\"", "name = \"precipitation\""));
    let out = c.run();
    assert_fatal(
        &c,
        &out,
        &["two [[inputs]] are named \"precipitation\"", "own name"],
    );
}
