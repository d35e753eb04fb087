//! Issue #15: warnings and failed-unit reasons in Chinese on the real binary. Under a Chinese
//! locale the demo's coastal counties get the coastal-water warning in Chinese on stderr and
//! in the zh report's caveats; a county failing on a class its crosswalk does not map is
//! explained in Chinese on stderr, in the report's failed-units section and in
//! `failures.csv`'s `reason_zh` (its `reason` stays English). Under the C locale the same runs
//! speak English as before.

use gep_tests::{gep_bin, read_csv, tempdir};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ZH: &str = "zh_CN.UTF-8";
const EN: &str = "C";

/// `gep run` of the demo config on `counties`, with `LANG=lang`, into `out`.
fn run(lang: &str, out: &Path, counties: &str, extra: &[&str]) -> Output {
    let config = gep_tests::workspace_root().join("fixtures/demo/gep.toml");
    Command::new(gep_bin())
        .env("LANG", lang)
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .arg("-q")
        .arg("run")
        .arg(&config)
        .args(["--counties", counties, "--threads", "2", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .expect("running gep")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The `<li>` items of the report's caveats list.
fn caveats(html: &str) -> Vec<String> {
    let start = html.find("<ul class=\"caveats\">").expect("a caveats list");
    let end = start + html[start..].find("</ul>").unwrap();
    html[start..end]
        .split("<li>")
        .skip(1)
        .map(|li| li.split("</li>").next().unwrap().to_string())
        .collect()
}

/// The coastal county 平阳县 (330326) and the inland 遂昌县 (331123).
const COUNTIES: &str = "330326,331123";

#[test]
fn coastal_warning_is_chinese_on_stderr_and_in_the_zh_report() {
    let dir = tempdir();
    let out = dir.path().join("zh");
    let res = run(ZH, &out, COUNTIES, &[]);
    let err = text(&res.stderr);
    assert_eq!(res.status.code(), Some(0), "{err}");
    let line = err
        .lines()
        .find(|l| l.contains("330326") && l.contains("沿海"))
        .unwrap_or_else(|| panic!("no Chinese coastal warning on stderr:\n{err}"));
    assert!(
        line.starts_with("警告：平阳县（330326）为沿海县：其水域 ")
            && line.contains(" 平方千米（占土地覆盖 ")
            && line.contains("可能含被当作内陆水域估值的海域"),
        "{line}"
    );
    assert!(!err.contains("is declared coastal"), "{err}");

    // The report's caveats: the same warning, in Chinese.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let items = caveats(&html);
    let coastal: Vec<&String> = items.iter().filter(|c| c.contains("330326")).collect();
    assert_eq!(coastal.len(), 1, "{items:#?}");
    assert!(
        coastal[0].starts_with("平阳县（330326）为沿海县"),
        "{}",
        coastal[0]
    );
    assert!(!html.contains("is declared coastal"));

    // The manifest keeps the English wording for machines.
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(
        manifest.contains("330326 平阳县 is declared coastal"),
        "{manifest}"
    );

    // The English run is unchanged: English on stderr and in an English report.
    let en_out = dir.path().join("en");
    let res = run(EN, &en_out, COUNTIES, &["--lang", "en"]);
    let err = text(&res.stderr);
    assert_eq!(res.status.code(), Some(0), "{err}");
    assert!(
        err.contains("warning: 330326 平阳县 is declared coastal: its "),
        "{err}"
    );
    assert!(!err.contains("沿海"), "{err}");
    let html = std::fs::read_to_string(en_out.join("report.html")).unwrap();
    assert!(caveats(&html)
        .iter()
        .any(|c| c.starts_with("330326 平阳县 is declared coastal")));
}

/// A copy of the demo's crosswalk without water (class 0): a county with water cells fails.
fn crosswalk_without_water(dir: &Path) -> PathBuf {
    let src =
        gep_tests::workspace_root().join("crates/gep-core/data/crosswalks/modis-igbp-mcd12c1.csv");
    let text = std::fs::read_to_string(src).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("0,"))
        .map(|l| {
            if l.starts_with("# id = ") {
                "# id = \"modis-no-water\""
            } else {
                l
            }
        })
        .collect();
    assert!(
        kept.len() < text.lines().count(),
        "class 0 is in the crosswalk"
    );
    let p = dir.join("no_water.csv");
    std::fs::write(&p, kept.join("\n") + "\n").unwrap();
    p
}

#[test]
fn failed_unit_reasons_are_chinese_for_zh_and_english_for_machines() {
    let dir = tempdir();
    let cw = crosswalk_without_water(dir.path());
    let cw = cw.to_str().unwrap();
    let out = dir.path().join("zh");
    let res = run(ZH, &out, COUNTIES, &["--crosswalk", cw]);
    let err = text(&res.stderr);
    assert_eq!(res.status.code(), Some(1), "{err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("错误：") && l.contains("330326"))
        .unwrap_or_else(|| panic!("no failure line for 330326:\n{err}"));
    assert!(
        line.contains("有地类不在对照表 modis-no-water 中：地类 0（") && line.contains(" 平方米）"),
        "{line}"
    );
    assert!(!line.contains("not in crosswalk"), "{line}");

    // failures.csv: reason in English, reason_zh last and in Chinese, same numbers.
    let table = read_csv(&out.join("failures.csv"));
    let rows = table.maps();
    let row = rows
        .iter()
        .find(|r| r["unit_id"] == "330326")
        .expect("330326 row");
    let header = std::fs::read_to_string(out.join("failures.csv")).unwrap();
    assert!(header
        .trim_start_matches('\u{feff}')
        .starts_with("unit_id,name,reason,reason_zh\n"));
    assert!(
        row["reason"].starts_with("land-cover classes not in crosswalk modis-no-water: class 0 ("),
        "{}",
        row["reason"]
    );
    assert!(row["reason_zh"].starts_with("有地类不在对照表 modis-no-water 中：地类 0（"));
    let area = |s: &str, open: &str| -> String {
        let i = s.find(open).unwrap() + open.len();
        s[i..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect()
    };
    assert_eq!(
        area(row["reason"], "class 0 ("),
        area(row["reason_zh"], "地类 0（")
    );

    // The zh report's failed-units section and caveats.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let s = html
        .find("<section id=\"failures\">")
        .expect("failures section");
    let section = &html[s..s + html[s..].find("</section>").unwrap()];
    assert!(
        section.contains("有地类不在对照表 modis-no-water 中"),
        "{section}"
    );
    assert!(!section.contains("not in crosswalk"), "{section}");
    assert!(caveats(&html)
        .iter()
        .any(|c| c.starts_with("平阳县（330326）计算失败，不在结果中：有地类不在对照表")));
}
