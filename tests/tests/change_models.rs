//! Issue 16, model services: `gep change year0.toml --config1 year1.toml` decomposes the
//! change of water conservation (issue 13's `[models.water_conservation]`, quantity × price)
//! into land, input (rainfall), price and interaction effects, worked out by hand on a 2 × 2
//! raster; the change equals the difference of two independent `gep run`s; mismatched setups
//! are refused with exit 2.
//!
//! The fixture (written by the test): a 2 × 2 grid of 100 m cells (1 ha each) in EPSG:32650;
//! CORINE codes 23 (broad-leaved forest → `forest_broadleaf`) and 12 (non-irrigated arable →
//! `dry_farmland`) through `fixtures/change/corine-clc.csv`. Village "west" is the left
//! column, "east" the right, county "330000" both.
//!
//! ```text
//! year 0: F F     year 1: F C     P₀ = 1000 mm, P₁ = 1200 mm, ET = 400 mm both years
//!         F C             F C     α: forest 0.25, dry farmland 0.5 (exact binary numbers)
//! ```
//!
//! Water conservation per 1 ha cell, Q = A·(P − αP − ET)·10⁻³ m³ (A = 10⁴ m²):
//! forest 10·(1000 − 250 − 400) = 3500 at P₀, 10·(1200 − 300 − 400) = 5000 at P₁;
//! farmland 10·(1000 − 500 − 400) = 1000 at P₀, 10·(1200 − 600 − 400) = 2000 at P₁.
//! Prices: reservoir cost p₀ = 2 元/m³ (year 0's parameter set), p₁ = 3 元/m³ (year 1's).
//!
//! East: Q₀₀ = 3500 + 1000 = 4500, Q₁₀ (year-1 land, P₀) = 2·1000 = 2000, Q₁₁ = 2·2000 = 4000.
//! V₀ = 9000, V₁ = 12000, Δ = 3000; land (2000 − 4500)·2 = −5000; input (4000 − 2000)·2 =
//! 4000; price 4500·(3 − 2) = 4500; interaction (4000 − 4500)·1 = −500.
//! West (forest both years): Q₀₀ = Q₁₀ = 7000, Q₁₁ = 10000; V₀ = 14000, V₁ = 30000, Δ = 16000;
//! land 0; input 3000·2 = 6000; price 7000; interaction 3000.
//! County: Δ 19000 = land −5000 + input 10000 + price 11500 + interaction 2500.
//!
//! The per-area services (fixtures/change/lausanne-set-2006.csv in both years, D = 3000 元/ha):
//! forest_broadleaf (0.3 + 6.5)·3000 = 20400 元/ha, dry_farmland (0.85 + 0.4)·3000 = 3750;
//! east loses 1 ha of forest to farmland: land effect 3750 − 20400 = −16650, no price effect.

use gdal::raster::Buffer;
use gdal::spatial_ref::SpatialRef;
use gdal::DriverManager;
use gep_tests::{fixture, gep_ok, gep_output, num, read_csv, tempdir};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const X0: f64 = 500_000.0;
const Y0: f64 = 3_300_000.0;

fn tif<T: gdal::raster::GdalType + Copy>(path: &Path, data: &[T], nodata: Option<f64>) {
    tif_n(path, data, nodata, 2, 100.0);
}

/// An n × n raster of `cell` m cells from (X0, Y0) in EPSG:32650.
fn tif_n<T: gdal::raster::GdalType + Copy>(
    path: &Path,
    data: &[T],
    nodata: Option<f64>,
    n: usize,
    cell: f64,
) {
    let driver = DriverManager::get_driver_by_name("GTiff").unwrap();
    let mut ds = driver.create_with_band_type::<T, _>(path, n, n, 1).unwrap();
    ds.set_geo_transform(&[X0, cell, 0.0, Y0, 0.0, -cell])
        .unwrap();
    ds.set_spatial_ref(&SpatialRef::from_epsg(32650).unwrap())
        .unwrap();
    let mut band = ds.rasterband(1).unwrap();
    band.set_no_data_value(nodata).unwrap();
    let mut buf = Buffer::new((n, n), data.to_vec());
    band.write((0, 0), (n, n), &mut buf).unwrap();
}

fn feature(code: &str, parent: Option<&str>, x0: f64, x1: f64) -> String {
    let (y0, y1) = (Y0 - 200.0, Y0);
    let parent = parent
        .map(|p| format!(", \"parent\": \"{p}\""))
        .unwrap_or_default();
    format!(
        r#"{{"type": "Feature", "properties": {{"code": "{code}", "name": "z{code}"{parent}}},
 "geometry": {{"type": "Polygon", "coordinates": [[[{x0}, {y0}], [{x1}, {y0}], [{x1}, {y1}], [{x0}, {y1}], [{x0}, {y0}]]]}}}}"#
    )
}

fn layer(path: &Path, features: &[String]) {
    std::fs::write(
        path,
        format!(
            r#"{{"type": "FeatureCollection",
 "crs": {{"type": "name", "properties": {{"name": "urn:ogc:def:crs:EPSG::32650"}}}},
 "features": [{}]}}"#,
            features.join(",\n")
        ),
    )
    .unwrap();
}

fn parameters(path: &Path, id: &str, cost: f64, price_year: i32) {
    std::fs::write(
        path,
        format!(
            "# id = \"{id}\"\n# version = \"1\"\n# example = true\n# citation = \"test values (issue 16, tests/tests/change_models.rs)\"\n# notes = \"a reservoir cost only\"\nservice,parameter,key,value,unit,price_year,low,high,verified,flags,source\nwater_conservation,reservoir_cost,*,{cost},元/m3,{price_year},,,true,example,test value\n"
        ),
    )
    .unwrap();
}

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempdir();
        let d = dir.path();
        tif::<u8>(&d.join("lc0.tif"), &[23, 23, 23, 12], Some(0.0));
        tif::<u8>(&d.join("lc1.tif"), &[23, 12, 23, 12], Some(0.0));
        tif::<f32>(&d.join("p0.tif"), &[1000.0; 4], Some(-9999.0));
        tif::<f32>(&d.join("p1.tif"), &[1200.0; 4], Some(-9999.0));
        tif::<f32>(&d.join("et.tif"), &[400.0; 4], Some(-9999.0));
        layer(
            &d.join("county.geojson"),
            &[feature("330000", None, X0, X0 + 200.0)],
        );
        layer(
            &d.join("villages.geojson"),
            &[
                feature("330001", Some("330000"), X0, X0 + 100.0),
                feature("330002", Some("330000"), X0 + 100.0, X0 + 200.0),
            ],
        );
        layer(
            &d.join("other_villages.geojson"),
            &[feature("440001", Some("330000"), X0, X0 + 200.0)],
        );
        std::fs::write(d.join("alpha.csv"), "lucode,alpha\n23,0.25\n12,0.5\n").unwrap();
        parameters(&d.join("params0.csv"), "wc-test-0", 2.0, 2006);
        parameters(&d.join("params1.csv"), "wc-test-1", 3.0, 2007);
        std::fs::write(d.join("cpi.csv"), "year,index\n2006,100\n2007,150\n").unwrap();
        let f = Fixture { dir };
        f.config(
            "year0.toml",
            2020,
            "lc0.tif",
            "p0.tif",
            "params0.csv",
            "villages.geojson",
            true,
        );
        f.config(
            "year1.toml",
            2021,
            "lc1.tif",
            "p1.tif",
            "params1.csv",
            "villages.geojson",
            true,
        );
        f
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    #[allow(clippy::too_many_arguments)]
    fn config(
        &self,
        name: &str,
        year: i32,
        lc: &str,
        precip: &str,
        params: &str,
        villages: &str,
        with_parameters: bool,
    ) {
        let set = fixture("change/lausanne-set-2006.csv");
        let cw = fixture("change/corine-clc.csv");
        let params = if with_parameters {
            format!("parameters = \"{params}\"")
        } else {
            String::new()
        };
        std::fs::write(
            self.path(name),
            format!(
                r#"year = {year}
[landcover]
path = "{lc}"
[[zones]]
path = "county.geojson"
level = "county"
id_field = "code"
name_field = "name"
[[zones]]
path = "{villages}"
level = "village"
id_field = "code"
name_field = "name"
parent_field = "parent"
[valuation]
coefficients = "{set}"
crosswalk = "{cw}"
[[inputs]]
name = "precipitation"
path = "{precip}"
unit = "mm"
resampling = "average"
[[inputs]]
name = "aet"
path = "et.tif"
unit = "mm"
resampling = "average"
[models]
{params}
[models.water_conservation]
precipitation = "precipitation"
evapotranspiration = "aet"
runoff_coefficients = "alpha.csv"
"#,
                set = set.display(),
                cw = cw.display(),
            ),
        )
        .unwrap();
    }
}

type Row<'a> = BTreeMap<&'a str, &'a str>;

fn find<'a>(rows: &'a [Row<'a>], zone: &str, ty: &str, service: &str) -> &'a Row<'a> {
    rows.iter()
        .find(|r| r["zone_id"] == zone && r["ecosystem_type"] == ty && r["service"] == service)
        .unwrap_or_else(|| panic!("no row {zone} {ty} {service}"))
}

/// (value0, value1, total, land, input, price, interaction) of a row (a blank input effect,
/// a per-area row's, as 0).
fn effects(r: &Row<'_>) -> [f64; 7] {
    let input = match r["input_effect_yuan"] {
        "" => 0.0,
        x => num(x),
    };
    [
        num(r["value0_yuan"]),
        num(r["value1_yuan"]),
        num(r["change_yuan"]),
        num(r["land_effect_yuan"]),
        input,
        num(r["price_effect_yuan"]),
        num(r["interaction_yuan"]),
    ]
}

fn close(a: [f64; 7], b: [f64; 7], what: &str) {
    for (x, y) in a.iter().zip(&b) {
        assert!(
            (x - y).abs() <= 1e-9 * y.abs().max(1.0),
            "{what}: {a:?} vs {b:?}"
        );
    }
}

/// GEP by zone from a run's gep.csv.
fn gep_by_zone(out: &Path) -> BTreeMap<String, f64> {
    read_csv(&out.join("gep.csv"))
        .maps()
        .iter()
        .map(|m| (m["zone_id"].to_string(), num(m["gep_yuan"])))
        .collect()
}

#[test]
fn water_conservation_change_by_hand_and_against_two_runs() {
    let f = Fixture::new();
    check_by_hand(&f, "year1.toml");
}

/// Year 1's land cover on a 50 m grid (each 100 m cell of `lc1.tif` as four): year 1's run
/// and the counterfactual average the 100 m inputs onto it (constant fields stay constant),
/// so the quantities, the effects and the two-run check are those of the same-grid case.
#[test]
fn year_one_on_another_grid() {
    let f = Fixture::new();
    let fine: Vec<u8> = (0..16)
        .map(|i| {
            let (r, c) = (i / 4, i % 4);
            [23u8, 12, 23, 12][(r / 2) * 2 + c / 2]
        })
        .collect();
    tif_n(&f.path("lc1_50m.tif"), &fine, Some(0.0), 4, 50.0);
    f.config(
        "year1_50m.toml",
        2021,
        "lc1_50m.tif",
        "p1.tif",
        "params1.csv",
        "villages.geojson",
        true,
    );
    check_by_hand(&f, "year1_50m.toml");
}

fn check_by_hand(f: &Fixture, year1: &str) {
    let out = f.path("change");
    gep_ok(&[
        "change",
        f.path("year0.toml").to_str().unwrap(),
        "--config1",
        f.path(year1).to_str().unwrap(),
        "--deflator",
        f.path("cpi.csv").to_str().unwrap(),
        "--real-price-year",
        "2006",
        "--out",
        out.to_str().unwrap(),
    ]);
    let t = read_csv(&out.join("change.csv"));
    let rows = t.maps();
    let wc = "water_conservation";
    // By hand (module docs): V₀, V₁, Δ, land, input, price, interaction.
    let east = [9000.0, 12000.0, 3000.0, -5000.0, 4000.0, 4500.0, -500.0];
    let west = [14000.0, 30000.0, 16000.0, 0.0, 6000.0, 7000.0, 3000.0];
    let county = [23000.0, 42000.0, 19000.0, -5000.0, 10000.0, 11500.0, 2500.0];
    close(effects(find(&rows, "330002", "*", wc)), east, "east");
    close(effects(find(&rows, "330001", "*", wc)), west, "west");
    close(effects(find(&rows, "330000", "*", wc)), county, "county");
    // Real, in 2006 prices: year 1's 3 元/m³ of 2007 is 3 × 100/150 = 2 元/m³ of 2006, so the
    // price effect and the interaction vanish: V₁ = 4000·2 = 8000, Δ = −1000 = −5000 + 4000.
    let real = |r: &Row<'_>| -> [f64; 7] {
        [
            "value0_yuan",
            "value1_yuan",
            "change_yuan",
            "land_effect_yuan",
            "input_effect_yuan",
            "price_effect_yuan",
            "interaction_yuan",
        ]
        .map(|c| num(r[format!("real_{c}").as_str()]))
    };
    close(
        real(find(&rows, "330002", "*", wc)),
        [9000.0, 8000.0, -1000.0, -5000.0, 4000.0, 0.0, 0.0],
        "east real",
    );
    // Villages roll up to the county, effect by effect.
    let (e, w, c) = (
        effects(find(&rows, "330002", "*", wc)),
        effects(find(&rows, "330001", "*", wc)),
        effects(find(&rows, "330000", "*", wc)),
    );
    for k in 0..7 {
        assert!(
            (e[k] + w[k] - c[k]).abs() <= 1e-9 * c[k].abs().max(1.0),
            "{k}"
        );
    }
    // The type rows of the east village: forest lost (q 3500 → 0 → 0), farmland gained
    // (1000 → 2000 → 4000).
    let forest = find(&rows, "330002", "forest_broadleaf", wc);
    close(
        effects(forest),
        [7000.0, 0.0, -7000.0, -7000.0, 0.0, 3500.0, -3500.0],
        "east forest",
    );
    assert!(forest["flags"].contains("quantity_x_price"), "{forest:?}");
    close(
        effects(find(&rows, "330002", "dry_farmland", wc)),
        [2000.0, 12000.0, 10000.0, 2000.0, 4000.0, 1000.0, 3000.0],
        "east farmland",
    );
    // The per-area services have no input effect; GEP adds both.
    let food = find(&rows, "330002", "*", "esv_food");
    assert_eq!(food["input_effect_yuan"], "", "{food:?}");
    let gep = effects(find(&rows, "330002", "*", "GEP"));
    close(
        gep,
        [
            9000.0 + 24150.0,
            12000.0 + 7500.0,
            3000.0 - 16650.0,
            -5000.0 - 16650.0,
            4000.0,
            4500.0,
            -500.0,
        ],
        "east GEP",
    );
    // Every row's effects add up to its change.
    for r in &rows {
        let e = effects(r);
        let sum = e[3] + e[4] + e[5] + e[6];
        assert!((sum - e[2]).abs() <= 1e-9 * e[2].abs().max(1.0), "{r:?}");
    }
    // Two independent runs of the same configs: the change is their difference.
    let (run0, run1) = (f.path("run0"), f.path("run1"));
    for (cfg, o) in [("year0.toml", &run0), (year1, &run1)] {
        gep_ok(&[
            "run",
            f.path(cfg).to_str().unwrap(),
            "--out",
            o.to_str().unwrap(),
        ]);
    }
    let (g0, g1) = (gep_by_zone(&run0), gep_by_zone(&run1));
    for z in ["330000", "330001", "330002"] {
        let r = effects(find(&rows, z, "*", "GEP"));
        let tol = |x: f64| 1e-12 * x.abs().max(1.0);
        assert!(
            (r[0] - g0[z]).abs() <= tol(g0[z]),
            "{z}: {} vs {}",
            r[0],
            g0[z]
        );
        assert!(
            (r[1] - g1[z]).abs() <= tol(g1[z]),
            "{z}: {} vs {}",
            r[1],
            g1[z]
        );
        let d = g1[z] - g0[z];
        assert!(
            (r[2] - d).abs() <= 1e-9 * d.abs().max(1.0),
            "{z}: {} vs {d}",
            r[2]
        );
    }
    // The report's summary has the input effect as a column of its own.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("输入变化效应") || html.contains("input effect"),
        "no input effect in report.html"
    );
    // The manifest lists year 1's config and inputs.
    let m = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(m.contains("config:year1") && m.contains("p1.tif"), "{m}");
}

#[test]
fn mismatched_setups_are_refused() {
    let f = Fixture::new();
    let refuse = |args: &[&str], needles: &[&str]| {
        let o = gep_output(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        for n in needles {
            assert!(err.contains(n), "{args:?}: {n:?} not in {err}");
        }
    };
    let out = f.path("out");
    let y0 = f.path("year0.toml");
    // Other villages in year 1.
    f.config(
        "zones1.toml",
        2021,
        "lc1.tif",
        "p1.tif",
        "params1.csv",
        "other_villages.geojson",
        true,
    );
    refuse(
        &[
            "change",
            y0.to_str().unwrap(),
            "--config1",
            f.path("zones1.toml").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &["[[zones]]", "zones1.toml"],
    );
    // Year 1 without a parameter set: its quantities have no prices.
    f.config(
        "noprices1.toml",
        2021,
        "lc1.tif",
        "p1.tif",
        "params1.csv",
        "villages.geojson",
        false,
    );
    refuse(
        &[
            "change",
            y0.to_str().unwrap(),
            "--config1",
            f.path("noprices1.toml").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &["[models] parameters", "noprices1.toml"],
    );
    // Models without year 1's inputs.
    refuse(
        &[
            "change",
            y0.to_str().unwrap(),
            "--landcover1",
            f.path("lc1.tif").to_str().unwrap(),
            "--year1",
            "2021",
            "--out",
            out.to_str().unwrap(),
        ],
        &["--config1", "year0.toml"],
    );
    assert!(!out.exists(), "no output after a refusal");
}

/// `--config1` without model services (no `[models] parameters` in either year): the
/// per-area decomposition only, year 1's set read from its config; no input effect.
#[test]
fn config1_without_model_services() {
    let f = Fixture::new();
    for (name, year, lc, p) in [
        ("plain0.toml", 2020, "lc0.tif", "p0.tif"),
        ("plain1.toml", 2021, "lc1.tif", "p1.tif"),
    ] {
        f.config(name, year, lc, p, "", "villages.geojson", false);
    }
    let out = f.path("plain");
    gep_ok(&[
        "change",
        f.path("plain0.toml").to_str().unwrap(),
        "--config1",
        f.path("plain1.toml").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let t = read_csv(&out.join("change.csv"));
    let rows = t.maps();
    let gep = find(&rows, "330002", "*", "GEP");
    assert_eq!(gep["input_effect_yuan"], "", "{gep:?}");
    // 1 ha of forest (20400 元/ha) to dry farmland (3750 元/ha).
    close(
        effects(gep),
        [24150.0, 7500.0, -16650.0, -16650.0, 0.0, 0.0, 0.0],
        "east GEP",
    );
    assert!(!rows.iter().any(|r| r["service"] == "water_conservation"));
}

/// The two-term fallback. Asked for (`--no-counterfactual`): east's water conservation has
/// land (4000 − 4500)·2 = −1000 (land and rainfall together), input 0, price 4500,
/// interaction −500, flagged. Forced (year 1 has a class, 18 pastures, that year 0's runoff
/// table lacks, so year 0's models cannot run on year 1's land cover): the same split, a
/// warning, and the change still equals the difference of the two runs.
#[test]
fn two_term_fallback() {
    let f = Fixture::new();
    let out = f.path("no_cf");
    gep_ok(&[
        "change",
        f.path("year0.toml").to_str().unwrap(),
        "--config1",
        f.path("year1.toml").to_str().unwrap(),
        "--no-counterfactual",
        "--out",
        out.to_str().unwrap(),
    ]);
    let t = read_csv(&out.join("change.csv"));
    let rows = t.maps();
    let wc = "water_conservation";
    close(
        effects(find(&rows, "330002", "*", wc)),
        [9000.0, 12000.0, 3000.0, -1000.0, 0.0, 4500.0, -500.0],
        "east",
    );
    let farm = find(&rows, "330002", "dry_farmland", wc);
    assert!(farm["flags"].contains("no_counterfactual"), "{farm:?}");
    // Forced: pastures in year 1, α = 0.5 in year 1's table only.
    tif::<u8>(&f.path("lc1_grass.tif"), &[23, 18, 23, 12], Some(0.0));
    std::fs::write(
        f.path("alpha1.csv"),
        "lucode,alpha\n23,0.25\n12,0.5\n18,0.5\n",
    )
    .unwrap();
    let y1 = std::fs::read_to_string(f.path("year1.toml"))
        .unwrap()
        .replace("lc1.tif", "lc1_grass.tif")
        .replace("alpha.csv", "alpha1.csv");
    std::fs::write(f.path("year1_grass.toml"), y1).unwrap();
    let out = f.path("forced");
    gep_ok(&[
        "change",
        f.path("year0.toml").to_str().unwrap(),
        "--config1",
        f.path("year1_grass.toml").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let t = read_csv(&out.join("change.csv"));
    let rows = t.maps();
    // East: Q₁₁ = grass 2000 + farmland 2000 (α 0.5 both) = 4000, as before.
    close(
        effects(find(&rows, "330002", "*", wc)),
        [9000.0, 12000.0, 3000.0, -1000.0, 0.0, 4500.0, -500.0],
        "east, forced",
    );
    let grass = find(&rows, "330002", "grassland", wc);
    assert!(grass["flags"].contains("no_counterfactual"), "{grass:?}");
    let m = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(
        m.contains("counterfactual run"),
        "no warning in the manifest"
    );
    let run1 = f.path("run_grass");
    gep_ok(&[
        "run",
        f.path("year1_grass.toml").to_str().unwrap(),
        "--out",
        run1.to_str().unwrap(),
    ]);
    let g1 = gep_by_zone(&run1);
    for z in ["330000", "330001", "330002"] {
        let r = effects(find(&rows, z, "*", "GEP"));
        assert!(
            (r[1] - g1[z]).abs() <= 1e-12 * g1[z].abs(),
            "{z}: {} vs {}",
            r[1],
            g1[z]
        );
    }
}
