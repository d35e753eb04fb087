//! Totals that say what they are (issue 14): an equivalent-factor run is labelled ESV, a set
//! covering part of its edition's services is labelled partial with the missing services
//! named, a full set is labelled GEP — in `gep.csv`, the workbook, the report and the
//! manifest, each with its price year; and the guards on inputs that do not fit together.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use gep_core::geo_types::polygon;
use gep_core::{CrsInfo, Grid, Level, MemRaster, NoProgress, Zone};
use gep_engine::{assess_zones, Options, Valuation, Warning};
use gep_tests::{fixture, gep_ok, gep_output, read_csv, tempdir};
use tempfile::TempDir;

/// Runs `gep run` on 景宁 and 三门 (MODIS 2019 clip) valued with `valuation` (the lines of a
/// `[valuation]` table); returns the temp dir and the output directory.
fn run(valuation: &str, extra_files: &[(&str, &str)]) -> (TempDir, PathBuf) {
    let dir = tempdir();
    for (name, text) in extra_files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let config = format!(
        "year = 2019\n\n[landcover]\npath = {:?}\n\n[[zones]]\npath = {:?}\nlevel = \"county\"\nid_field = \"adcode\"\nname_field = \"name\"\n\n[valuation]\n{valuation}\n\n[run]\ncounties = [\"331123\", \"331022\"]\n\n[output]\ndir = \"out\"\n",
        fixture("mcd12c1_2019_igbp_zhejiang.tif"),
        fixture("zj26_counties_cgcs2000.geojson"),
    );
    let cfg = dir.path().join("gep.toml");
    std::fs::write(&cfg, config).unwrap();
    gep_ok(&["run", cfg.to_str().unwrap()]);
    let out = dir.path().join("out");
    (dir, out)
}

/// Every text entry of the workbook, by name.
fn workbook(out: &Path) -> BTreeMap<String, String> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(out.join("gep.xlsx")).unwrap()).unwrap();
    let mut m = BTreeMap::new();
    for i in 0..z.len() {
        let mut e = z.by_index(i).unwrap();
        let mut text = String::new();
        if e.read_to_string(&mut text).is_ok() {
            m.insert(e.name().to_string(), text);
        }
    }
    m
}

fn manifest(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap()
}

/// Every row of gep.csv carries `kind`, `partial`, `missing` and `year`.
fn assert_gep_csv(out: &Path, kind: &str, partial: &str, missing: &str, year: &str) {
    let t = read_csv(&out.join("gep.csv"));
    // The old columns first, the label after them.
    assert_eq!(
        &t.headers[..6],
        &[
            "zone_id",
            "zone_level",
            "gep_yuan",
            "material_yuan",
            "regulating_yuan",
            "cultural_yuan"
        ]
    );
    assert_eq!(t.rows.len(), 2);
    for r in t.maps() {
        assert_eq!(r["total_kind"], kind, "{r:?}");
        assert_eq!(r["partial"], partial, "{r:?}");
        assert_eq!(r["missing_services"], missing, "{r:?}");
        assert_eq!(r["price_year"], year, "{r:?}");
        let n = |k: &str| r[k].parse::<f64>().unwrap();
        let parts = n("material_yuan") + n("regulating_yuan") + n("cultural_yuan");
        assert!((n("final_yuan") - parts).abs() <= 1e-6 * parts.abs().max(1.0));
        let total = parts + n("supporting_yuan");
        assert!((n("gep_yuan") - total).abs() <= 1e-6 * total.abs().max(1.0));
    }
}

#[test]
fn an_equivalent_factor_run_is_labelled_esv_everywhere() {
    let (_d, out) = run(
        "coefficients = \"xie2015\"\ncrosswalk = \"modis-igbp-mcd12c1\"",
        &[],
    );
    assert_gep_csv(&out, "esv", "false", "", "2010");
    let t = read_csv(&out.join("gep.csv"));
    let sup = t.col("supporting_yuan");
    assert!(t.rows.iter().all(|r| r[sup].parse::<f64>().unwrap() > 0.0));

    let m = manifest(&out);
    let totals = &m["totals"];
    assert_eq!(totals["label"]["kind"], "esv");
    assert_eq!(totals["label"]["includes_supporting"], true);
    assert_eq!(totals["label"]["price_year"], 2010);
    assert!(totals["label_text"].as_str().unwrap().starts_with("ESV"));
    let share = totals["flagged_share"].as_f64().unwrap();
    assert!(share > 0.0 && share < 1.0, "{share}");
    let (total, fin, sup) = (
        totals["total_yuan"].as_f64().unwrap(),
        totals["final_yuan"].as_f64().unwrap(),
        totals["supporting_yuan"].as_f64().unwrap(),
    );
    assert!((total - fin - sup).abs() <= 1e-6 * total);

    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("ESV 总值"), "headline card not ESV");
    assert!(
        !html.contains("GEP 总值"),
        "an ESV called GEP in the report"
    );
    assert!(html.contains("当量因子法估算") && html.contains("2010 年价格"));
    assert!(html.contains("不是 GEP") && html.contains("支持服务"));
    assert!(html.contains("的价值量依据示例、推导或未核实的系数"));

    let wb = workbook(&out);
    let all: String = wb.values().cloned().collect();
    assert!(all.contains("ESV（万元）"), "zone sheets' headers not ESV");
    assert!(all.contains("支持服务（万元，不计入 GEP）"));
    assert!(all.contains("ESV（当量因子法估算，含支持服务，非 GEP） · 2010 年价格"));
    assert!(
        !all.contains("GEP（元）") && !all.contains("GEP（万元）"),
        "an ESV called GEP in the workbook"
    );
}

#[test]
fn a_partial_set_is_labelled_partial_with_the_missing_services() {
    let (_d, out) = run(
        "coefficients = \"zj-db33-2274-profile\"\ncrosswalk = \"modis-igbp-mcd12c1\"",
        &[],
    );
    let set = gep_core::CoefficientSet::builtin("zj-db33-2274-profile").unwrap();
    let missing: Vec<&str> = set
        .catalogue
        .iter()
        .map(String::as_str)
        .filter(|s| *s != "water_conservation")
        .collect();
    assert_eq!(missing.len(), 16);
    assert_gep_csv(&out, "gep", "true", &missing.join(";"), "2010");

    let m = manifest(&out);
    assert_eq!(m["totals"]["label"]["kind"], "gep");
    assert_eq!(m["totals"]["label"]["price_year"], 2010);
    let listed = m["totals"]["label"]["missing_services"].as_array().unwrap();
    assert_eq!(listed.len(), 16);
    assert!(m["totals"]["label_text"]
        .as_str()
        .unwrap()
        .contains("PARTIAL: 1 of 17 services valued"));
    // Example values: all of it rests on them.
    assert_eq!(
        m["totals"]["basis"]["example_yuan"],
        m["totals"]["basis"]["value_yuan"]
    );

    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("GEP 总值"));
    assert!(html.contains("部分核算") && html.contains("17 项中的 1 项"));
    assert!(html.contains("农业产品") && html.contains("景观价值"));
    let wb = workbook(&out);
    let all: String = wb.values().cloned().collect();
    assert!(
        all.contains("部分核算：17 项服务中仅核算 1 项"),
        "no partial label row"
    );
    assert!(
        all.contains("agriculture_products"),
        "run sheet lacks the missing services"
    );
}

#[test]
fn a_full_set_is_labelled_gep_at_its_restated_price_year() {
    let set = "# id = \"full\"\n# version = \"1\"\n# price_year = 2010\n# currency = \"CNY\"\n# catalogue = [\"water_conservation\"]\necosystem_type,service,value,unit\nforest,water_conservation,100,元/ha/a\nforest_conifer,water_conservation,100,元/ha/a\nforest_evergreen_broadleaf,water_conservation,100,元/ha/a\nforest_deciduous_broadleaf,water_conservation,100,元/ha/a\nforest_mixed,water_conservation,100,元/ha/a\nforest_sparse,water_conservation,50,元/ha/a\nshrub,water_conservation,50,元/ha/a\ngrassland,water_conservation,40,元/ha/a\nwetland,water_conservation,80,元/ha/a\ncropland,water_conservation,NA,\nwater,water_conservation,NA,\nbuilt_up,water_conservation,NA,\nsnow_ice,water_conservation,NA,\nbare,water_conservation,NA,\n";
    let (_d, out) = run(
        "coefficients = \"full.csv\"\ncrosswalk = \"modis-igbp-mcd12c1\"\ntarget_price_year = 2020\ndeflator = \"cpi.csv\"",
        &[
            ("full.csv", set),
            ("cpi.csv", "year,index\n2010,100\n2020,125\n"),
        ],
    );
    assert_gep_csv(&out, "gep", "false", "", "2020");
    let m = manifest(&out);
    assert_eq!(m["totals"]["label"]["kind"], "gep");
    assert_eq!(m["totals"]["label"]["price_year"], 2020);
    assert!(m["totals"]["label"]["price_basis"]
        .as_str()
        .unwrap()
        .contains("restated to 2020"));
    assert_eq!(m["totals"]["flagged_share"], 0.0);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("GEP（仅最终服务） · 2020 年价格"));
    assert!(!html.contains("部分核算"));
    let all: String = workbook(&out).into_values().collect();
    assert!(all.contains("GEP（仅最终服务） · 2020 年价格"));
}

/// The `d` override carries its own price year: with a target year it is required (exit 2,
/// naming the key); given, the totals are at the target year and D is deflated once.
#[test]
fn a_d_override_needs_its_price_year_when_prices_are_restated() {
    let dir = tempdir();
    std::fs::write(
        dir.path().join("cpi.csv"),
        "year,index\n2010,100\n2019,120\n",
    )
    .unwrap();
    let cfg = dir.path().join("gep.toml");
    let write = |extra: &str| {
        std::fs::write(
            &cfg,
            format!(
                "year = 2019\n[landcover]\npath = {:?}\n[[zones]]\npath = {:?}\nlevel = \"county\"\nid_field = \"adcode\"\nname_field = \"name\"\n[valuation]\ncoefficients = \"xie2015\"\ncrosswalk = \"modis-igbp-mcd12c1\"\nd = 4000\ntarget_price_year = 2019\ndeflator = \"cpi.csv\"\n{extra}[run]\ncounties = [\"331123\"]\n[output]\ndir = \"out\"\n",
                fixture("mcd12c1_2019_igbp_zhejiang.tif"),
                fixture("zj26_counties_cgcs2000.geojson"),
            ),
        )
        .unwrap()
    };
    write("");
    let o = gep_output(&["run", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("d_price_year") && err.contains("twice"),
        "{err}"
    );
    write("d_price_year = 2019\n");
    gep_ok(&["run", cfg.to_str().unwrap()]);
    let rows = read_csv(&dir.path().join("out/accounts.csv"));
    let (uv, py, method, svc, ty) = (
        rows.col("unit_value"),
        rows.col("price_year"),
        rows.col("method"),
        rows.col("service"),
        rows.col("ecosystem_type"),
    );
    let food = rows
        .rows
        .iter()
        .find(|r| r[svc] == "esv_food" && r[ty] == "forest_evergreen_broadleaf")
        .unwrap();
    // 0.29 equivalents × D 4000 at 2019 prices, not deflated from 2010.
    assert_eq!(food[uv].parse::<f64>().unwrap(), 0.29 * 4000.0);
    assert_eq!(food[py], "2019");
    assert!(!food[method].contains("deflator"), "{}", food[method]);
    assert_eq!(
        manifest(&dir.path().join("out"))["totals"]["label"]["price_year"],
        2019
    );
}

// ---- Guards, on in-memory rasters ----

/// A 3 × 3 km county of 1 km cells whose classes are `cells` (row-major).
fn county_over(cells: [i32; 9]) -> (MemRaster, Vec<Zone>) {
    let grid = Grid::new(
        0.0,
        3000.0,
        1000.0,
        1000.0,
        3,
        3,
        CrsInfo::projected("EPSG:4549"),
    )
    .unwrap();
    let raster = MemRaster::from_fn(grid, |r, c| Some(cells[r * 3 + c]));
    let county = Zone::new(
        "331022",
        "三门县",
        Level::County,
        polygon![(x: 0.0, y: 0.0), (x: 3000.0, y: 0.0), (x: 3000.0, y: 3000.0), (x: 0.0, y: 3000.0)].into(),
    );
    (raster, vec![county])
}

fn warnings_of(cells: [i32; 9], zones_extra: Vec<Zone>, v: &Valuation) -> Vec<Warning> {
    let (raster, mut zones) = county_over(cells);
    zones.extend(zones_extra);
    let opts = Options {
        threads: 1,
        ..Default::default()
    };
    assess_zones(&raster, zones, Some(v), &opts, &NoProgress)
        .unwrap()
        .warnings
}

#[test]
fn guard_clcd_crosswalk_on_a_modis_raster() {
    // MODIS classes: water 0, forests 2 and 5, woody savanna 8, cropland 12, urban 13, mosaic 14.
    let modis = [2, 2, 5, 8, 8, 12, 13, 14, 0];
    let v = Valuation::load("xie2015", Some("clcd"), 2019).unwrap();
    let w = warnings_of(modis, vec![], &v);
    let m = w
        .iter()
        .find_map(|w| match w {
            Warning::CrosswalkMismatch {
                crosswalk,
                unmapped_classes,
                better,
                unmapped_area_percent,
                ..
            } => Some((crosswalk, unmapped_classes, better, unmapped_area_percent)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no crosswalk warning: {w:?}"));
    assert_eq!(m.0, "clcd");
    assert_eq!(m.1, &vec![0, 12, 13, 14]);
    assert_eq!(m.2.as_deref(), Some("modis-igbp-mcd12c1"));
    assert!((m.3 - 400.0 / 9.0).abs() < 1e-9, "{}", m.3);
    let text = w.iter().map(|w| w.to_string()).collect::<String>();
    assert!(
        text.contains("crosswalk = \"modis-igbp-mcd12c1\""),
        "{text}"
    );
    // The right crosswalk: no warning.
    let v = Valuation::load("xie2015", Some("modis-igbp-mcd12c1"), 2019).unwrap();
    let w = warnings_of(modis, vec![], &v);
    assert!(
        !w.iter()
            .any(|w| matches!(w, Warning::CrosswalkMismatch { .. })),
        "{w:?}"
    );
}

#[test]
fn guard_oregon_carbon_pools_on_clcd_codes() {
    // With a crosswalk: an error naming the table and the crosswalk.
    let e = Valuation::load(
        fixture("willamette_carbon_pools.csv").to_str().unwrap(),
        Some("clcd"),
        2019,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("willamette_carbon_pools") && e.contains("clcd") && e.contains("another scheme"),
        "{e}"
    );
    // Without: a warning that the raster's classes are CLCD codes, not the table's.
    let clcd = [1, 2, 2, 3, 4, 5, 8, 9, 2];
    let v = Valuation::load("invest-carbon-willamette", None, 2019).unwrap();
    let w = warnings_of(clcd, vec![], &v);
    let hit = w
        .iter()
        .find(|w| matches!(w, Warning::ForeignClassKeys { .. }))
        .unwrap_or_else(|| panic!("{w:?}"));
    let text = hit.to_string();
    assert!(
        text.contains("invest-carbon-willamette") && text.contains("clcd"),
        "{text}"
    );
}

#[test]
fn guard_sea_in_a_coastal_county() {
    // Three water cells (0) of nine.
    let cells = [2, 2, 2, 2, 2, 0, 2, 0, 0];
    let mut v = Valuation::load("xie2015", Some("modis-igbp-mcd12c1"), 2019).unwrap();
    let w = warnings_of(cells, vec![], &v);
    assert!(!w.iter().any(|w| matches!(w, Warning::CoastalWater { .. })));
    v.coastal_zones = vec!["331022".into()];
    let w = warnings_of(cells, vec![], &v);
    let (water_m2, share, value) = w
        .iter()
        .find_map(|w| match w {
            Warning::CoastalWater {
                water_m2,
                share_percent,
                value_yuan,
                ..
            } => Some((*water_m2, *share_percent, *value_yuan)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{w:?}"));
    assert_eq!(water_m2, 3e6);
    assert!((share - 100.0 / 3.0).abs() < 1e-9);
    // 300 ha × Σ Xie water factors (12 services... 11) × D.
    let factors = [
        0.80, 0.23, 8.29, 0.77, 2.29, 5.55, 102.24, 0.93, 0.07, 2.55, 1.89,
    ];
    let expect = 300.0 * factors.iter().sum::<f64>() * 3406.5;
    assert!((value.unwrap() - expect).abs() < 1e-6 * expect);
}

#[test]
fn guard_zones_smaller_than_a_cell() {
    // 9 villages: 8 of 0.5 km × 0.5 km (a quarter cell) and one covering the rest.
    let mut villages = Vec::new();
    for i in 0..8 {
        let x = (i % 4) as f64 * 500.0;
        let y = (i / 4) as f64 * 500.0;
        villages.push(Zone::new(
            format!("33102210000{i}"),
            format!("村{i}"),
            Level::Village,
            polygon![(x: x, y: y), (x: x + 500.0, y: y), (x: x + 500.0, y: y + 500.0), (x: x, y: y + 500.0)].into(),
        ));
    }
    villages.push(Zone::new(
        "331022100008",
        "村8",
        Level::Village,
        polygon![(x: 0.0, y: 1000.0), (x: 2000.0, y: 1000.0), (x: 2000.0, y: 0.0), (x: 3000.0, y: 0.0), (x: 3000.0, y: 3000.0), (x: 0.0, y: 3000.0)].into(),
    ));
    let v = Valuation::load("xie2015", Some("modis-igbp-mcd12c1"), 2019).unwrap();
    let w = warnings_of([2; 9], villages, &v);
    let (small, zones, pct) = w
        .iter()
        .find_map(|w| match w {
            Warning::SmallZones {
                level: Level::Village,
                small,
                zones,
                area_percent,
                ..
            } => Some((*small, *zones, *area_percent)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{w:?}"));
    assert_eq!((small, zones), (8, 9));
    assert!((pct - 2e6 / 9e6 * 100.0).abs() < 1e-9, "{pct}");
    // The county (one of one, 9 cells) is not small.
    assert!(!w.iter().any(|w| matches!(
        w,
        Warning::SmallZones {
            level: Level::County,
            ..
        }
    )));
}
