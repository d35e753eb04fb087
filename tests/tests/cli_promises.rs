//! Issue #15, parts 3 and 4, on the real binary: `--help` and errors in Chinese (locale or
//! `--lang`) and English; `gep init`'s starter config, filled in with the fixtures made into
//! GBK Shapefiles by `ogr2ogr`, runs; the flags the docs promise (`--nodata`, `--datum`,
//! `--encoding`, ...) override their config keys; `gep validate` reports the gap rows `gep
//! run` writes into checks.csv (a gap and an overlap) and the datum correction it applied.

use gep_tests::{fixture, gep_bin, num, read_csv, tempdir};
use std::path::Path;
use std::process::{Command, Output};

/// `gep ARGS` with `LANG=lang` (no `LC_ALL`/`LC_MESSAGES`), in `cwd`.
fn gep_in(lang: &str, cwd: &Path, args: &[&str]) -> Output {
    Command::new(gep_bin())
        .env("LANG", lang)
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("running gep")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const ZH: &str = "zh_CN.UTF-8";
const EN: &str = "C";

fn root() -> std::path::PathBuf {
    gep_tests::workspace_root()
}

#[test]
fn help_is_chinese_under_a_chinese_locale_and_english_otherwise() {
    let zh = gep_in(ZH, &root(), &["--help"]);
    assert!(zh.status.success());
    let zh = text(&zh.stdout);
    for s in [
        "用法:",
        "命令",
        "选项",
        "运行核算",
        "生成一份带中文注释的入门配置文件",
        "显示帮助",
    ] {
        assert!(zh.contains(s), "zh --help lacks {s:?}:\n{zh}");
    }
    assert!(!zh.contains("Usage:") && !zh.contains("Print help"), "{zh}");

    let run_zh = text(&gep_in(ZH, &root(), &["run", "--help"]).stdout);
    for s in [
        "土地覆盖栅格（覆盖 [landcover] path）",
        "--nodata",
        "--datum",
        "--encoding",
        "无数据值",
        "参数",
    ] {
        assert!(run_zh.contains(s), "zh run --help lacks {s:?}:\n{run_zh}");
    }
    // Every flag line of `gep run --help` carries Chinese help.
    let cjk = |l: &str| l.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    let lines: Vec<&str> = run_zh.lines().collect();
    let flags: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].trim_start().starts_with('-'))
        .collect();
    assert!(flags.len() > 20, "{run_zh}");
    for i in flags {
        // The help is on the flag's line or, in the long form, on the next one.
        assert!(
            cjk(lines[i]) || lines.get(i + 1).is_some_and(|l| cjk(l)),
            "flag without Chinese help: {}\n{run_zh}",
            lines[i]
        );
    }

    let en = text(&gep_in(EN, &root(), &["--help"]).stdout);
    assert!(en.contains("Usage:") && en.contains("Commands:"), "{en}");
    assert!(!en.contains("用法"), "{en}");
    let run_en = text(&gep_in(EN, &root(), &["run", "--help"]).stdout);
    assert!(
        run_en.contains("Land-cover raster (overrides [landcover] path)")
            && run_en.contains("--nodata"),
        "{run_en}"
    );
    // --lang in argv wins over the locale, before any config is read.
    let forced = text(&gep_in(EN, &root(), &["run", "--lang", "zh", "--help"]).stdout);
    assert!(forced.contains("用法:"), "{forced}");
}

/// A config whose county boundary file does not exist.
fn config_with_missing_boundaries(dir: &Path, lang_line: &str) -> std::path::PathBuf {
    let cfg = dir.join("gep.toml");
    std::fs::write(
        &cfg,
        format!(
            "year = 2019\n[landcover]\npath = \"{}\"\n[[zones]]\npath = \"没有这个文件/县界.shp\"\nlevel = \"county\"\nid_field = \"XZQDM\"\n[output]\ndir = \"out\"\n{lang_line}\n",
            fixture("mcd12c1_2019_igbp_zhejiang.tif").display()
        ),
    )
    .unwrap();
    cfg
}

#[test]
fn a_failing_run_speaks_chinese_or_english() {
    let dir = tempdir();
    let cfg = config_with_missing_boundaries(dir.path(), "");
    let missing = dir.path().join("没有这个文件/县界.shp");
    let cfg_s = cfg.to_str().unwrap();

    // Chinese by the locale.
    let o = gep_in(ZH, dir.path(), &["-q", "run", cfg_s]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.starts_with("错误：找不到文件 ") && err.contains(&missing.display().to_string()),
        "{err}"
    );
    assert!(!dir.path().join("out").exists(), "nothing written");

    // English by the locale.
    let o = gep_in(EN, dir.path(), &["-q", "run", cfg_s]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.starts_with("error: ")
            && err.contains(&missing.display().to_string())
            && err.contains("check that the file exists"),
        "{err}"
    );
    assert!(!err.contains("找不到") && !err.contains("错误"), "{err}");

    // Chinese by the config's [output] lang, under an English locale.
    let cfg_zh = config_with_missing_boundaries(&dir.path().join("."), "lang = \"zh\"");
    let o = gep_in(
        EN,
        dir.path(),
        &["-q", "validate", cfg_zh.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("找不到文件"),
        "{}",
        text(&o.stderr)
    );

    // The output directory refused (the current directory), before any work.
    let o = gep_in(ZH, dir.path(), &["-q", "run", cfg_s, "--out", "."]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).starts_with("错误：拒绝使用输出目录 "),
        "{}",
        text(&o.stderr)
    );
    // A bad value, framed in Chinese around the library's detail.
    let o = gep_in(ZH, dir.path(), &["-q", "run", cfg_s, "--band", "0"]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.starts_with("错误：配置的值不对：") && err.contains("band = 0"),
        "{err}"
    );

    // Config problems: a missing file, an unknown key with its line.
    let o = gep_in(ZH, dir.path(), &["run", "nope.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("配置文件 nope.toml 不存在"),
        "{}",
        text(&o.stderr)
    );
    std::fs::write(
        dir.path().join("typo.toml"),
        "year = 2019\n[landcover]\npaht = \"x.tif\"\n",
    )
    .unwrap();
    let o = gep_in(ZH, dir.path(), &["run", "typo.toml"]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("第 3 行第 1 列") && err.contains("未知的键 `paht`") && err.contains("path"),
        "{err}"
    );
    let o = gep_in(EN, dir.path(), &["run", "typo.toml"]);
    assert!(
        text(&o.stderr).contains("unknown field `paht`"),
        "{}",
        text(&o.stderr)
    );
}

/// Converts the features of `src` matching `filter` (an OGR SQL where clause) into a GBK
/// Shapefile `dst` without its `.cpg`, so that only a declared encoding reads it right.
fn gbk_shapefile(src: &Path, dst: &Path, filter: &str) {
    let st = Command::new("ogr2ogr")
        .args([
            "-f",
            "ESRI Shapefile",
            "-lco",
            "ENCODING=GBK",
            "-where",
            filter,
        ])
        .arg(dst)
        .arg(src)
        .status()
        .expect("ogr2ogr (GDAL) is installed by make deps");
    assert!(st.success(), "ogr2ogr {}", src.display());
    let _ = std::fs::remove_file(dst.with_extension("cpg"));
}

/// One county (云和县 331125) with its townships and villages as GBK Shapefiles in `dir`.
fn yunhe_shapefiles(dir: &Path) {
    gbk_shapefile(
        &fixture("zj26_counties_cgcs2000.geojson"),
        &dir.join("县.shp"),
        "adcode = '331125'",
    );
    gbk_shapefile(
        &fixture("zj26_townships_generated.geojson"),
        &dir.join("乡镇.shp"),
        "parent = '331125'",
    );
    gbk_shapefile(
        &fixture("zj26_villages_generated.geojson"),
        &dir.join("村.shp"),
        "zone_id LIKE '331125%'",
    );
}

#[test]
fn init_writes_a_starter_config_that_runs_once_filled_in() {
    let dir = tempdir();
    let d = dir.path();
    let o = gep_in(ZH, d, &["init", "--scheme", "clcd"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("gep.toml") && out.contains("gep validate gep.toml"),
        "{out}"
    );
    let cfg = d.join("gep.toml");
    let starter = std::fs::read_to_string(&cfg).unwrap();
    assert!(starter.contains("# 核算年份") && starter.contains("encoding = \"GBK\""));
    assert!(starter.contains("crosswalk = \"clcd\""));

    // Never overwritten: exit 2, the file named, its bytes unchanged.
    std::fs::write(&cfg, format!("{starter}# 我的修改\n")).unwrap();
    let again = gep_in(ZH, d, &["init"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("gep.toml 已存在"),
        "{}",
        text(&again.stderr)
    );
    assert!(std::fs::read_to_string(&cfg)
        .unwrap()
        .ends_with("# 我的修改\n"));
    let en = gep_in(EN, d, &["init", "en.toml", "--scheme", "sandiao"]);
    assert!(en.status.success());
    let en = std::fs::read_to_string(d.join("en.toml")).unwrap();
    assert!(en.contains("# Accounting year") && en.contains("crosswalk = \"gbt21010-sandiao\""));

    // Fill it in as the printed steps say: paths, fields, parents; the fixture raster is
    // MODIS, so its crosswalk replaces the CLCD one.
    yunhe_shapefiles(d);
    let filled = starter
        .replace(
            "请填写/土地覆盖.tif",
            &fixture("mcd12c1_2019_igbp_zhejiang.tif")
                .display()
                .to_string(),
        )
        .replace("请填写/县级行政区.shp", "县.shp")
        .replace("请填写/乡镇级行政区.shp", "乡镇.shp")
        .replace("请填写/村级行政区.shp", "村.shp")
        .replacen("id_field = \"XZQDM\"", "id_field = \"adcode\"", 1)
        .replace("id_field = \"XZQDM\"", "id_field = \"zone_id\"")
        .replace("name_field = \"XZQMC\"", "name_field = \"name\"")
        .replace("# parent_field = \"SJDM\"", "parent_field = \"parent\"")
        .replace("year = 2020", "year = 2019");
    // With a crosswalk of another product (CNLUCC's two-digit codes) the MODIS classes are not
    // mapped: the only county fails, said in Chinese with the classes, nothing is written.
    std::fs::write(
        d.join("wrong.toml"),
        filled.replace("crosswalk = \"clcd\"", "crosswalk = \"cnlucc\""),
    )
    .unwrap();
    let failed = gep_in(ZH, d, &["-q", "run", "wrong.toml"]);
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed.stderr));
    let err = text(&failed.stderr);
    assert!(
        err.contains("错误：县 331125 云和县：有地类不在对照表 cnlucc 中：地类 ")
            && err.contains("唯一的县计算失败；没有写入任何文件"),
        "{err}"
    );
    assert!(!d.join("gep-out").exists());
    let filled = filled.replace("crosswalk = \"clcd\"", "crosswalk = \"modis-igbp-mcd12c1\"");
    let run_cfg = d.join("filled.toml");
    std::fs::write(&run_cfg, filled).unwrap();
    let v = gep_in(ZH, d, &["-q", "validate", "filled.toml"]);
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}{}",
        text(&v.stdout),
        text(&v.stderr)
    );
    let r = gep_in(ZH, d, &["run", "filled.toml"]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    // Progress says what it does, in order, naming the county; no opaque steps.
    let progress = text(&r.stderr);
    let mut at = 0;
    for s in [
        "读取输入",
        "读取 ",
        "（县级边界）",
        "一次读遍栅格，统计 1 个县的土地覆盖",
        "已统计县 1/1：云和县（331125）",
        "核查层级",
        "核算生态系统服务价值",
        "写出结果",
    ] {
        let found = progress[at..].find(s);
        assert!(found.is_some(), "no {s:?} after byte {at} in:\n{progress}");
        at += found.unwrap();
    }
    assert!(
        !progress.contains("step") && !progress.contains("步"),
        "{progress}"
    );
    let summary = text(&r.stdout);
    assert!(
        summary.contains("已计算 1 个县") && summary.contains("结果："),
        "{summary}"
    );
    let out = d.join("gep-out");
    for f in [
        "extent.csv",
        "zones.csv",
        "checks.csv",
        "accounts.csv",
        "gep.csv",
        "report.html",
        "gep.xlsx",
        "zones.gpkg",
        "manifest.json",
    ] {
        assert!(out.join(f).is_file(), "no {f}");
    }
    // The GBK names came through: the county and a township by name, in UTF-8.
    let zones = read_csv(&out.join("zones.csv"));
    let names: Vec<&str> = zones
        .rows
        .iter()
        .map(|r| r[zones.col("name")].as_str())
        .collect();
    assert!(names.contains(&"云和县"), "{names:?}");
    let levels = zones.col("zone_level");
    let count = |l: &str| zones.rows.iter().filter(|r| r[levels] == l).count();
    assert!(count("county") == 1 && count("township") > 1 && count("village") > count("township"));
}

/// A quick run of 云和县 with extra flags; returns the output directory.
fn quick_run(dir: &Path, name: &str, extra: &[&str]) -> std::path::PathBuf {
    let out = dir.join(name);
    let lc = fixture("mcd12c1_2019_igbp_zhejiang.tif");
    let zones = format!("{}:county:adcode:name", dir.join("县.shp").display());
    let mut args = vec![
        "-q",
        "run",
        "--landcover",
        lc.to_str().unwrap(),
        "--zones",
        &zones,
        "--out",
        out.to_str().unwrap(),
        "--no-report",
    ];
    args.extend_from_slice(extra);
    let o = gep_in(EN, dir, &args);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o.stderr));
    out
}

#[test]
fn nodata_encoding_and_datum_flags_override_their_keys() {
    let dir = tempdir();
    let d = dir.path();
    yunhe_shapefiles(d);
    // --encoding GBK: read as declared, so no detection warning; the name is right.
    let plain = quick_run(d, "plain", &["--encoding", "GBK"]);
    assert!(!plain.join("report.html").exists(), "--no-report");
    let zones = read_csv(&plain.join("zones.csv"));
    assert_eq!(zones.rows[0][zones.col("name")], "云和县");
    let lc = fixture("mcd12c1_2019_igbp_zhejiang.tif");
    let zones_arg = format!("{}:county:adcode:name", d.join("县.shp").display());
    let base = [
        "run",
        "--landcover",
        lc.to_str().unwrap(),
        "--zones",
        &zones_arg,
        "--no-report",
    ];
    let undeclared = gep_in(EN, d, &[&base[..], &["--out", "u"]].concat());
    assert_eq!(undeclared.status.code(), Some(0));
    assert!(
        text(&undeclared.stderr).contains("GBK"),
        "detected and said"
    );
    let declared = gep_in(
        EN,
        d,
        &[&base[..], &["--out", "g", "--encoding", "county=GBK"]].concat(),
    );
    assert!(
        !text(&declared.stderr).contains("warning"),
        "{}",
        text(&declared.stderr)
    );
    let wrong = gep_in(
        EN,
        d,
        &[&base[..], &["--out", "w", "--encoding", "UTF-8"]].concat(),
    );
    assert_eq!(wrong.status.code(), Some(2), "{}", text(&wrong.stderr));
    assert!(
        text(&wrong.stderr).contains("县.shp"),
        "{}",
        text(&wrong.stderr)
    );
    assert!(!d.join("w").exists());
    let bad_level = gep_in(
        EN,
        d,
        &[&base[..], &["--out", "b", "--datum", "village=gcj02"]].concat(),
    );
    assert_eq!(bad_level.status.code(), Some(2));
    assert!(
        text(&bad_level.stderr).contains("\"village\""),
        "{}",
        text(&bad_level.stderr)
    );

    // --nodata CLASS: that class's area becomes nodata, to the last bit of the tally.
    let extent = read_csv(&plain.join("extent.csv"));
    let (cc, ac) = (extent.col("class"), extent.col("area_m2"));
    let (class, area) = extent
        .rows
        .iter()
        .filter(|r| !r[cc].is_empty())
        .map(|r| (r[cc].clone(), num(&r[ac])))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    let masked = quick_run(d, "masked", &["--nodata", &class]);
    let m_extent = read_csv(&masked.join("extent.csv"));
    assert!(m_extent
        .rows
        .iter()
        .all(|r| r[m_extent.col("class")] != class));
    let nodata = |dir: &Path| {
        let z = read_csv(&dir.join("zones.csv"));
        num(&z.rows[0][z.col("nodata_area_m2")])
    };
    let moved = nodata(&masked) - nodata(&plain);
    assert!(
        (moved - area).abs() <= 1e-9 * area,
        "class {class}: {area} m² vs nodata grown by {moved} m²"
    );

    // --datum gcj02 equals datum = "gcj02" in the config, and validate says it corrected.
    let amap = fixture("zj26_counties_amap_gcj02.geojson");
    let cfg = d.join("gcj.toml");
    std::fs::write(
        &cfg,
        format!(
            "[landcover]\npath = \"{}\"\n[[zones]]\npath = \"{}\"\nlevel = \"county\"\nid_field = \"adcode\"\ndatum = \"gcj02\"\n[run]\ncounties = [\"331125\"]\n[output]\ndir = \"by-config\"\nreport = false\n",
            lc.display(),
            amap.display()
        ),
    )
    .unwrap();
    let by_config = gep_in(EN, d, &["-q", "run", "gcj.toml"]);
    assert_eq!(
        by_config.status.code(),
        Some(0),
        "{}",
        text(&by_config.stderr)
    );
    let amap_zones = format!("{}:county:adcode", amap.display());
    let flag_args = [
        "-q",
        "run",
        "--landcover",
        lc.to_str().unwrap(),
        "--zones",
        &amap_zones,
        "--counties",
        "331125",
        "--out",
        "by-flag",
        "--no-report",
    ];
    let by_flag = gep_in(EN, d, &[&flag_args[..], &["--datum", "gcj02"]].concat());
    assert_eq!(by_flag.status.code(), Some(0), "{}", text(&by_flag.stderr));
    let as_declared = gep_in(
        EN,
        d,
        &[
            &flag_args[..2],
            &flag_args[2..8],
            &["--counties", "331125", "--out", "raw", "--no-report"],
        ]
        .concat(),
    );
    assert_eq!(as_declared.status.code(), Some(0));
    let bytes = |p: &str| std::fs::read(d.join(p).join("extent.csv")).unwrap();
    assert_eq!(bytes("by-config"), bytes("by-flag"), "--datum = datum key");
    assert_ne!(
        bytes("by-flag"),
        bytes("raw"),
        "the correction moves the boundary"
    );
    let v = gep_in(
        EN,
        d,
        &[
            &["-q", "validate"][..],
            &flag_args[2..8],
            &["--datum", "gcj02", "--out", "x"],
        ]
        .concat(),
    );
    let said = text(&v.stdout);
    assert!(said.contains("GCJ-02 → WGS 84 corrected"), "{said}");
    let v_zh = gep_in(
        ZH,
        d,
        &[&["-q", "validate"][..], &flag_args[2..8], &["--out", "x"]].concat(),
    );
    assert!(
        text(&v_zh.stdout).contains("基准：未纠正"),
        "{}",
        text(&v_zh.stdout)
    );
}

#[test]
fn raster_crs_band_and_output_flags_reach_their_keys() {
    let dir = tempdir();
    let d = dir.path();
    let lc = fixture("mcd12c1_2019_igbp_zhejiang.tif");
    let counties = fixture("zj26_counties_cgcs2000.geojson");
    let zones = format!("{}:county:adcode:name", counties.display());
    let base = [
        "-q",
        "validate",
        "--landcover",
        lc.to_str().unwrap(),
        "--zones",
        &zones,
        "--counties",
        "331125",
        "--out",
        "o",
    ];
    let validate = |extra: &[&str]| gep_in(EN, d, &[&base[..], extra].concat());
    // As the files say: CGCS2000 boundaries reprojected onto the WGS 84 raster.
    let plain = text(&validate(&[]).stdout);
    assert!(plain.contains("WGS 84 (EPSG:4326), ellipsoidal"), "{plain}");
    assert!(
        plain.contains("(EPSG:4490), reprojected to WGS 84 (EPSG:4326)"),
        "{plain}"
    );
    // --landcover-crs replaces the raster's CRS ([landcover] crs): now a planar grid.
    let lc_crs = text(&validate(&["--landcover-crs", "EPSG:4549"]).stdout);
    assert!(lc_crs.contains("(EPSG:4549), planar"), "{lc_crs}");
    // --zones-crs county=EPSG:4326 ([[zones]] crs): read as WGS 84, nothing to reproject.
    let z_crs = text(&validate(&["--zones-crs", "county=EPSG:4326"]).stdout);
    assert!(
        z_crs.contains("26 county zones, WGS 84 (EPSG:4326); datum: none"),
        "{z_crs}"
    );
    // --band 2 ([landcover] band) on a one-band raster: refused, naming the band.
    let band = validate(&["--band", "2"]);
    assert_eq!(band.status.code(), Some(2));
    assert!(text(&band.stderr).contains("band 2 requested but the raster has 1 band"));
    // --no-geometry-checks ([checks] geometry = false).
    let off = text(&validate(&["--no-geometry-checks"]).stdout);
    assert!(off.contains("boundary checks: off"), "{off}");

    // In a run: --no-geometry-checks leaves sum rows only; --value-raster writes the map.
    let run = |name: &str, extra: &[&str]| {
        let mut args = base.to_vec();
        args[1] = "run";
        args[9] = name;
        let o = gep_in(
            EN,
            d,
            &[
                &args[..],
                &[
                    "--coefficients",
                    "xie2015",
                    "--crosswalk",
                    "modis-igbp-mcd12c1",
                    "--year",
                    "2019",
                ],
                extra,
            ]
            .concat(),
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        d.join(name)
    };
    let sums_only = run("sums", &["--no-geometry-checks", "--no-report"]);
    assert!(!sums_only.join("value_density.tif").exists());
    assert!(!sums_only.join("report.html").exists());
    let with_map = run("map", &["--value-raster"]);
    assert!(with_map.join("value_density.tif").is_file());
    assert!(with_map.join("report.html").is_file());
    // The geometric checks' step is timed in the manifest only when they ran.
    let manifest = |dir: &Path| std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    assert!(manifest(&with_map).contains("\"hierarchy geometry\""));
    assert!(!manifest(&sums_only).contains("\"hierarchy geometry\""));
}

#[test]
fn validate_reports_the_gap_and_overlap_rows_run_writes() {
    let dir = tempdir();
    let d = dir.path();
    // 云和's villages less one (a gap in its township), plus a copy of another one under a new
    // id (an overlap with the original).
    let all: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("zj26_villages_generated.geojson")).unwrap())
            .unwrap();
    let id = |f: &serde_json::Value| f["properties"]["zone_id"].as_str().unwrap().to_string();
    let mut features: Vec<serde_json::Value> = all["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| id(f).starts_with("331125") && id(f) != "331125001002")
        .cloned()
        .collect();
    let mut copy = features
        .iter()
        .find(|f| id(f) == "331125001003")
        .unwrap()
        .clone();
    copy["properties"]["zone_id"] = "331125001999".into();
    features.push(copy);
    let mut with_errors = all.clone();
    with_errors["features"] = features.into();
    let villages = d.join("villages.geojson");
    std::fs::write(&villages, serde_json::to_vec(&with_errors).unwrap()).unwrap();
    let cfg = d.join("gap.toml");
    std::fs::write(
        &cfg,
        format!(
            "[landcover]\npath = \"{}\"\n[[zones]]\npath = \"{}\"\nlevel = \"county\"\nid_field = \"adcode\"\n[[zones]]\npath = \"{}\"\nlevel = \"township\"\nid_field = \"zone_id\"\nparent_field = \"parent\"\n[[zones]]\npath = \"{}\"\nlevel = \"village\"\nid_field = \"zone_id\"\nparent_field = \"parent\"\n[run]\ncounties = [\"331125\"]\n[output]\ndir = \"out\"\nreport = false\n",
            fixture("mcd12c1_2019_igbp_zhejiang.tif").display(),
            fixture("zj26_counties_cgcs2000.geojson").display(),
            fixture("zj26_townships_generated.geojson").display(),
            villages.display()
        ),
    )
    .unwrap();
    let v = gep_in(EN, d, &["-q", "validate", "gap.toml"]);
    let said = text(&v.stdout);
    assert!(said.contains("datum: none"), "{said}");
    // The rows validate lists: kind, parent, level, class, residual, children.
    let mut listed: Vec<(String, String, String, String, f64, String)> = said
        .lines()
        .filter(|l| l.starts_with("  ") && l.contains('\t'))
        .map(|l| {
            let f: Vec<&str> = l.trim_start().split('\t').collect();
            let class = if f[4] == "nodata" { "" } else { f[4] };
            (
                f[1].into(),
                f[2].into(),
                f[3].into(),
                class.into(),
                num(f[5]),
                f[6].into(),
            )
        })
        .collect();
    assert!(!listed.is_empty(), "validate found no gap: {said}");
    assert!(
        listed.iter().any(|r| r.0 == "gap" && r.1 == "331125001"),
        "{said}"
    );
    assert!(
        listed
            .iter()
            .any(|r| r.0 == "overlap" && r.5.contains("331125001999")),
        "{said}"
    );
    let r = gep_in(EN, d, &["-q", "run", "gap.toml"]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    let checks = read_csv(&d.join("out/checks.csv"));
    let c = |n: &str| checks.col(n);
    let mut written: Vec<(String, String, String, String, f64, String)> = checks
        .rows
        .iter()
        .filter(|r| r[c("kind")] != "sum")
        .map(|r| {
            (
                r[c("kind")].clone(),
                r[c("parent_id")].clone(),
                r[c("level")].clone(),
                r[c("class")].clone(),
                num(&r[c("residual_m2")]),
                r[c("children")].clone(),
            )
        })
        .collect();
    listed.sort_by(|a, b| a.partial_cmp(b).unwrap());
    written.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(
        listed, written,
        "validate's rows = checks.csv's gap/overlap/spill rows"
    );
}
