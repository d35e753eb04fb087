//! The wording of warnings and failure reasons in the user's language.
//!
//! English is the types' `Display` (what machine-read files keep: `failures.csv`'s `reason`,
//! the manifest); Chinese is written here from the same typed fields, so ids, names and
//! numbers are identical in both. A message that wraps a free-text remark of another crate
//! (a boundary reader's note, a continuous input's note, a cache error, a bad feature's
//! detail) gets a Chinese frame around that remark, which stays as written.

use crate::parcels::ParcelWarning;
use crate::{fmt_fixed, FailureReason, UnitFailure, Warning};
use gep_core::statistics::StatisticsWarning;
use gep_core::{Lang, Level};

/// A level's Chinese noun as used inside sentences (`县`, `乡镇`, `村`).
pub fn level_zh(level: Level) -> &'static str {
    match level {
        Level::County => "县",
        Level::Township => "乡镇",
        Level::Village => "村",
    }
}

/// `遂昌县（331123）`, or `县 331123` without a name.
fn named_zh(level: Level, id: &str, name: &str) -> String {
    if name.trim().is_empty() {
        format!("{} {id}", level_zh(level))
    } else {
        format!("{name}（{id}）")
    }
}

fn join<T: ToString>(items: &[T], sep: &str) -> String {
    items.iter().map(T::to_string).collect::<Vec<_>>().join(sep)
}

impl Warning {
    /// The warning in `lang`: English is its `Display`; Chinese names the same ids, names and
    /// numbers in the wording a bureau files.
    pub fn message(&self, lang: Lang) -> String {
        match lang {
            Lang::En => self.to_string(),
            Lang::Zh => self.zh(),
        }
    }

    fn zh(&self) -> String {
        match self {
            Warning::Layer { message } => format!("边界图层：{message}"),
            Warning::Cache { message } => {
                format!("该县的土地覆盖统计未能缓存（运行继续；--resume 时将重新统计该县）：{message}")
            }
            Warning::Input { message } => format!("输入数据：{message}"),
            Warning::Statistics(w) => format!("统计数据：{}", statistics_zh(w)),
            Warning::MixedPriceYears { totals, others } => {
                let list: Vec<String> = others
                    .iter()
                    .map(|(y, s)| format!("{y} 年（{}）", s.join("、")))
                    .collect();
                format!(
                    "总值：价格年与总值（{}）不同的数值被一并加总：{}；请将它们换算到同一价格年（为系数集设平减指数和 target_price_year，或使用系数集价格年的统计数据）",
                    totals.map_or("无".to_string(), |y| format!("{y} 年")),
                    list.join("；")
                )
            }
            Warning::PartialCoverage {
                zone_id,
                name,
                level,
                missing_percent,
                outside_m2,
                nodata_m2,
            } => format!(
                "{}{}：{missing_percent:.3}% 的面积在栅格范围之外（{outside_m2:.1} 平方米）或落在无数据像元上（{nodata_m2:.1} 平方米）；其面积和 GEP 只计了其余部分——请使用完整覆盖它的栅格",
                level_zh(*level),
                if name.trim().is_empty() { format!(" {zone_id}") } else { format!(" {name}（{zone_id}）") }
            ),
            Warning::Checks {
                kind,
                rows,
                worst_m2,
                parent,
            } => {
                let what = match kind.as_str() {
                    "sum" => "条上级 × 地类行的下级之和不等于上级",
                    "gap" => "条缝隙行（上级中没有任何下级覆盖的面积）",
                    "overlap" => "条重叠行（两个下级同时占有的面积）",
                    _ => "条越界行（下级超出其上级的面积）",
                };
                format!(
                    "边界核查：{rows} {what}；最大差额 {worst_m2:.3} 平方米，在 {parent} 之下；请查看 checks.csv 并修正边界数据"
                )
            }
            Warning::TopLevelOverlap { pairs } => {
                let total: f64 = pairs.iter().map(|p| p.1).sum();
                let list: Vec<String> = pairs
                    .iter()
                    .map(|(pair, a)| format!("{}（{} 平方米）", pair.join(" × "), fmt_fixed(*a, 1)))
                    .collect();
                format!(
                    "边界核查：最高级区划相互重叠——{} 平方米被两个区划同时占有，在总值中计算了两次：{}；请查看 checks.csv 中 parent_id 为空的重叠行并修正边界数据（某区划被加载了两次，或两个边界占有同一块地）",
                    fmt_fixed(total, 1),
                    list.join("，")
                )
            }
            Warning::CrosswalkMismatch {
                crosswalk,
                unmapped_area_percent,
                unmapped_classes,
                classes,
                absent_codes_percent,
                better,
            } => {
                let advice = match better {
                    Some(b) => format!("内置对照表 {b} 能对照全部地类：请改用 crosswalk = \"{b}\""),
                    None => "请核对栅格的图例，使用该土地覆盖产品对应的对照表".to_string(),
                };
                format!(
                    "地类对照表 {crosswalk} 与栅格的地类不符：栅格的 {classes} 个地类中有 {} 个（占面积 {}%）未被对照（{}），对照表中 {}% 的代码在栅格中不存在；该对照表是否属于另一种土地覆盖产品？{advice}",
                    unmapped_classes.len(),
                    fmt_fixed(*unmapped_area_percent, 1),
                    join(unmapped_classes, "、"),
                    fmt_fixed(*absent_codes_percent, 1)
                )
            }
            Warning::ForeignClassKeys {
                set,
                absent_codes,
                codes,
                raster_classes,
                likely_scheme,
            } => format!(
                "参数表 {set} 以土地覆盖代码为键，但其 {codes} 个代码中有 {absent_codes} 个在栅格中不存在，而栅格的地类（{}）都是 {likely_scheme} 的代码：该表很可能按另一分类体系的代码编制，其数值会落到错误的地类上；请使用按栅格分类体系编码的表",
                join(raster_classes, "、")
            ),
            Warning::CoastalWater {
                zone_id,
                name,
                water_m2,
                share_percent,
                value_yuan,
            } => format!(
                "{}为沿海县：其水域 {} 平方千米（占土地覆盖 {share_percent:.1}%{}）可能含被当作内陆水域估值的海域；请将海域设为无数据，或对照到系数集不估值的类型",
                if name.trim().is_empty() { zone_id.clone() } else { format!("{name}（{zone_id}）") },
                fmt_fixed(water_m2 / 1e6, 1),
                value_yuan
                    .map(|v| format!("，{} 亿元", fmt_fixed(v / 1e8, 2)))
                    .unwrap_or_default()
            ),
            Warning::SmallZones {
                level,
                small,
                zones,
                area_percent,
                cell_m2,
            } => {
                let l = level_zh(*level);
                format!(
                    "{zones} 个{l}级区划中有 {small} 个（{:.1}%，占{l}级面积的 {area_percent:.1}%）小于一个栅格像元（{} 平方千米）：其土地覆盖只取自所触及的少数像元，数值参考意义不大；请为这一级使用更细的栅格",
                    100.0 * *small as f64 / (*zones).max(1) as f64,
                    fmt_fixed(cell_m2 / 1e6, 3)
                )
            }
            Warning::LayerGap {
                layer,
                percent,
                missing_ha,
            } => format!(
                "连续输入图层 {layer:?} 在各区划覆盖的土地中有 {percent:.2}% 没有数据（{missing_ha:.1} 公顷）：这些像元计为无数据面积（quantities.csv 和 layer_sums.csv 的 area_without_data_m2 列），而不是零；请检查该输入的范围和无数据值"
            ),
            Warning::ModelsReplaceSet {
                service,
                rows,
                coefficient_set,
                parameter_set,
            } => format!(
                "{service}：系数集 {coefficient_set} 中该服务按面积计的 {rows} 行，已由模型物质量的价值（参数集 {parameter_set}）取代"
            ),
            Warning::AccountPriceYears { years } => format!(
                "accounts.csv 中的数值属于不同价格年（{}）：GEP 把它们混在一起；请在 [valuation] 中设 target_price_year 和 deflator，把所有价格换算到同一年",
                join(years, "、")
            ),
            Warning::ExampleParameters { set } => format!(
                "参数集 {set} 是示例参数集：调节服务的价值仅作示意，不是正式核算结果"
            ),
            Warning::EquivalentValueYearAssumed { d, year } => format!(
                "未给出 d_price_year，d = {d} 被视为系数集价格年（{}）的价格，总值也标为该年；请加上 d_price_year = <D 的价格年份>",
                year.map_or("未知".to_string(), |y| format!("{y} 年"))
            ),
        }
    }
}

/// A statistics allocation remark in Chinese.
fn statistics_zh(w: &StatisticsWarning) -> String {
    let item = |i: &Option<String>| i.as_deref().map(|i| format!("，{i}")).unwrap_or_default();
    match w {
        StatisticsWarning::CountyNotInZones {
            county_id,
            service,
            item: i,
            line,
        } => format!(
            "统计表第 {line} 行：县 {county_id}（{service}{}）不在已加载的区划中：其数值未分配；请加载该县或删去这一行",
            item(i)
        ),
        StatisticsWarning::CountyWithoutStatistics { county_id, service } => format!(
            "县 {county_id} 在统计表中没有 {service} 数值，而其他县有：该县的 {service} 未估值"
        ),
        StatisticsWarning::ZeroKey {
            county_id,
            service,
            item: i,
            key,
            fen,
            line,
        } => format!(
            "统计表第 {line} 行：县 {county_id} 有 {service}{} {fen} 元，但其分配键 {key} 在所有区划中均为零：该数值留在县级（未分配）；请为这一行另设分配键（allocation 列），或检查土地覆盖面积",
            i.as_deref().map(|i| format!("（{i}）")).unwrap_or_default()
        ),
        StatisticsWarning::ShareZoneUnknown {
            zone_id,
            service,
            line,
        } => format!(
            "村级份额表第 {line} 行：区划 {zone_id}（{service}）不在已加载的区划中：其权重被忽略"
        ),
        StatisticsWarning::OtherYears { years, rows } => format!(
            "跳过了其他年份（{}）的 {rows} 行统计数据",
            join(years, "、")
        ),
        // A remark added to gep-core later: its English wording until it is worded here.
        other => other.to_string(),
    }
}

impl ParcelWarning {
    /// The warning in `lang` (English: its `Display`).
    pub fn message(&self, lang: Lang) -> String {
        if lang == Lang::En {
            return self.to_string();
        }
        match self {
            ParcelWarning::SmallerThanCell {
                parcel_id,
                area_m2,
                cell_area_m2,
            } => format!(
                "地块 {parcel_id}：面积 {area_m2} 平方米，小于一个像元（{cell_area_m2} 平方米）：按其所覆盖各像元的精确比例估值"
            ),
            ParcelWarning::NotCovered {
                parcel_id,
                missing_m2,
            } => format!(
                "地块 {parcel_id}：有 {missing_m2} 平方米落在无数据像元上或栅格之外：这部分未估值"
            ),
            ParcelWarning::OutsideVillages { parcel_id, area_m2 } => format!(
                "地块 {parcel_id}：有 {area_m2} 平方米不在边界图层的任何村内"
            ),
        }
    }
}

impl FailureReason {
    /// The reason in `lang`, as it reads after the unit it concerns: English is its
    /// `Display`; Chinese names the same ids and numbers.
    pub fn message(&self, lang: Lang) -> String {
        if lang == Lang::En {
            return self.to_string();
        }
        let box_ = |b: &[f64; 4]| format!("x {:.6}..{:.6}，y {:.6}..{:.6}", b[0], b[1], b[2], b[3]);
        match self {
            FailureReason::BadFeature { level, id, message } => {
                format!("{} {id} 的要素不能用：{message}", level_zh(*level))
            }
            FailureReason::Orphan { id, parent, .. } => format!(
                "区划 {id} 在已加载的区划中找不到上级（上级字段：{}）：请加载包含它的上级图层、改正它的上级字段，或删去它",
                parent.as_deref().unwrap_or("空")
            ),
            FailureReason::EmptyBoundary => "的边界为空：请检查边界文件中该要素的几何".to_string(),
            FailureReason::OffRaster { boundary, raster } => format!(
                "完全在土地覆盖栅格之外（边界 {}；栅格 {}；均为栅格坐标系）：请使用覆盖它的栅格，或不计算它",
                box_(boundary),
                box_(raster)
            ),
            FailureReason::UnmappedClasses {
                crosswalk, classes, ..
            } => {
                let list: Vec<String> = classes
                    .iter()
                    .map(|(c, a)| format!("地类 {c}（{a:.1} 平方米）"))
                    .collect();
                let fix = classes.first().map_or(String::new(), |(c, _)| {
                    format!("；请在对照表 {crosswalk} 的副本中加一行 `{c},<生态系统类型>,,<说明>`，或把 {c} 设为栅格的无数据值")
                });
                format!(
                    "有地类不在对照表 {crosswalk} 中：{}{fix}",
                    list.join("，")
                )
            }
            FailureReason::More(n) => format!("……另有 {n} 条"),
        }
    }
}

impl UnitFailure {
    /// The reasons as one line in `lang` (English: [`UnitFailure::reason_text`]).
    pub fn reason_in(&self, lang: Lang) -> String {
        if lang == Lang::En {
            return self.reason_text();
        }
        let unit = named_zh(self.level, &self.unit_id, &self.name);
        self.reasons
            .iter()
            .map(|r| match r {
                // Unit-level reasons name the unit; feature-level ones name their feature.
                FailureReason::OffRaster { .. } | FailureReason::EmptyBoundary => {
                    // A space between a code and the Chinese that follows it.
                    let sep = if unit.ends_with(|c: char| c.is_ascii_digit()) {
                        " "
                    } else {
                        ""
                    };
                    format!("{unit}{sep}{}", r.message(lang))
                }
                _ => r.message(lang),
            })
            .collect::<Vec<_>>()
            .join("；")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Words of ASCII letters a Chinese message may carry besides the values put in: config
    /// keys, file and column names, flags and units the user types or reads as they are.
    const WHITELIST: &[&str] = &[
        "checks",
        "csv",
        "parent_id",
        "crosswalk",
        "target_price_year",
        "d_price_year",
        "d",
        "D",
        "GEP",
        "resume",
        "allocation",
        "x",
        "y",
        "quantities",
        "layer_sums",
        "area_without_data_m2",
        "accounts",
        "valuation",
        "deflator",
    ];

    /// The values the samples put in (ids, names, codes, free-text remarks of other crates):
    /// removed before looking for English words.
    const VALUES: &[&str] = &[
        "cp936 detected in counties.shp",
        "F1",
        "soil_retention",
        "xie2015@2",
        "invest_sdr@1",
        "\"ndvi\"",
        "cannot write cache/331123.bin: disk full",
        "ndvi.tif covers 93.0 % of the land-cover grid",
        "FID 7 of towns.shp: self-intersection at (1, 2); repair it with ogr2ogr -makevalid",
        "fishery",
        "crop_production",
        "area:water",
        "invest_carbon",
        "clcd_custom",
        "clcd",
        "平阳县",
    ];

    /// One of each variant; the index match below stops compiling when a variant is added,
    /// and the test fails until a sample of it is here.
    fn warnings() -> Vec<Warning> {
        vec![
            Warning::Layer {
                message: VALUES[0].into(),
            },
            Warning::PartialCoverage {
                zone_id: "330326".into(),
                name: "平阳县".into(),
                level: Level::County,
                missing_percent: 2.5,
                outside_m2: 1234.5,
                nodata_m2: 67.8,
            },
            Warning::Checks {
                kind: "sum".into(),
                rows: 3,
                worst_m2: 12.345,
                parent: "330326".into(),
            },
            Warning::Checks {
                kind: "gap".into(),
                rows: 2,
                worst_m2: 1.5,
                parent: "330326".into(),
            },
            Warning::Checks {
                kind: "overlap".into(),
                rows: 2,
                worst_m2: 1.5,
                parent: "330326".into(),
            },
            Warning::Checks {
                kind: "spill".into(),
                rows: 2,
                worst_m2: 1.5,
                parent: "330326".into(),
            },
            Warning::TopLevelOverlap {
                pairs: vec![(vec!["330326".into(), "330327".into()], 2500.0)],
            },
            Warning::Cache {
                message: VALUES[1].into(),
            },
            Warning::Input {
                message: VALUES[2].into(),
            },
            Warning::Statistics(StatisticsWarning::CountyNotInZones {
                county_id: "330326".into(),
                service: "fishery".into(),
                item: Some("淡水产品".into()),
                line: 4,
            }),
            Warning::Statistics(StatisticsWarning::CountyWithoutStatistics {
                county_id: "330326".into(),
                service: "fishery".into(),
            }),
            Warning::Statistics(StatisticsWarning::ZeroKey {
                county_id: "330326".into(),
                service: "fishery".into(),
                item: None,
                key: "area:water".into(),
                fen: gep_core::statistics::Fen(123456),
                line: 9,
            }),
            Warning::Statistics(StatisticsWarning::ShareZoneUnknown {
                zone_id: "330326101".into(),
                service: "fishery".into(),
                line: 5,
            }),
            Warning::Statistics(StatisticsWarning::OtherYears {
                years: vec![2019, 2021],
                rows: 12,
            }),
            Warning::MixedPriceYears {
                totals: Some(2010),
                others: vec![(2020, vec!["fishery".into(), "crop_production".into()])],
            },
            Warning::CrosswalkMismatch {
                crosswalk: "clcd_custom".into(),
                unmapped_area_percent: 87.25,
                unmapped_classes: vec![11, 12],
                classes: 7,
                absent_codes_percent: 60.0,
                better: Some("clcd".into()),
            },
            Warning::CrosswalkMismatch {
                crosswalk: "clcd_custom".into(),
                unmapped_area_percent: 87.25,
                unmapped_classes: vec![11, 12],
                classes: 7,
                absent_codes_percent: 60.0,
                better: None,
            },
            Warning::ForeignClassKeys {
                set: "invest_carbon".into(),
                absent_codes: 5,
                codes: 9,
                raster_classes: vec![1, 2, 5],
                likely_scheme: "clcd".into(),
            },
            Warning::CoastalWater {
                zone_id: "330326".into(),
                name: "平阳县".into(),
                water_m2: 40.1e6,
                share_percent: 4.1,
                value_yuan: Some(1.715e9),
            },
            Warning::SmallZones {
                level: Level::Township,
                small: 49,
                zones: 470,
                area_percent: 0.5,
                cell_m2: 900.0,
            },
            Warning::EquivalentValueYearAssumed {
                d: 3406.5,
                year: Some(2010),
            },
            Warning::LayerGap {
                layer: "ndvi".into(),
                percent: 3.25,
                missing_ha: 1520.4,
            },
            Warning::ModelsReplaceSet {
                service: "soil_retention".into(),
                rows: 8,
                coefficient_set: "xie2015@2".into(),
                parameter_set: "invest_sdr@1".into(),
            },
            Warning::AccountPriceYears {
                years: vec![2010, 2020],
            },
            Warning::ExampleParameters {
                set: "invest_sdr@1".into(),
            },
        ]
    }

    fn warning_index(w: &Warning) -> usize {
        match w {
            Warning::Layer { .. } => 0,
            Warning::PartialCoverage { .. } => 1,
            Warning::Checks { .. } => 2,
            Warning::TopLevelOverlap { .. } => 3,
            Warning::Cache { .. } => 4,
            Warning::Input { .. } => 5,
            Warning::Statistics(_) => 6,
            Warning::MixedPriceYears { .. } => 7,
            Warning::CrosswalkMismatch { .. } => 8,
            Warning::ForeignClassKeys { .. } => 9,
            Warning::CoastalWater { .. } => 10,
            Warning::SmallZones { .. } => 11,
            Warning::EquivalentValueYearAssumed { .. } => 12,
            Warning::LayerGap { .. } => 13,
            Warning::ModelsReplaceSet { .. } => 14,
            Warning::AccountPriceYears { .. } => 15,
            Warning::ExampleParameters { .. } => 16,
        }
    }
    const WARNING_VARIANTS: usize = 17;

    fn reasons() -> Vec<FailureReason> {
        vec![
            FailureReason::BadFeature {
                level: Level::Township,
                id: "330326101".into(),
                message: VALUES[3].into(),
            },
            FailureReason::Orphan {
                id: "330326101".into(),
                parent: Some("330399".into()),
                message: "zone 330326101 has no parent".into(),
            },
            FailureReason::EmptyBoundary,
            FailureReason::OffRaster {
                boundary: [1.0, 2.0, 3.0, 4.0],
                raster: [10.0, 20.0, 30.0, 40.0],
            },
            FailureReason::UnmappedClasses {
                crosswalk: "clcd".into(),
                classes: vec![(99, 1800.0), (98, 900.0)],
                fix: "add a row".into(),
            },
            FailureReason::More(3),
        ]
    }

    fn reason_index(r: &FailureReason) -> usize {
        match r {
            FailureReason::BadFeature { .. } => 0,
            FailureReason::Orphan { .. } => 1,
            FailureReason::EmptyBoundary => 2,
            FailureReason::OffRaster { .. } => 3,
            FailureReason::UnmappedClasses { .. } => 4,
            FailureReason::More(_) => 5,
        }
    }
    const REASON_VARIANTS: usize = 6;

    /// Words of ASCII letters in `s` once the sample values are taken out.
    fn english_words(s: &str) -> Vec<String> {
        let mut s = s.to_string();
        for v in VALUES {
            s = s.replace(v, " ");
        }
        s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.chars().any(|c| c.is_ascii_alphabetic()))
            .filter(|w| !WHITELIST.contains(w))
            .map(str::to_string)
            .collect()
    }

    /// The numbers in `s` (digits with at most one inner point).
    fn numbers(s: &str) -> Vec<String> {
        s.split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .map(|w| w.trim_matches('.'))
            .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
            .map(str::to_string)
            .collect()
    }

    fn check(en: &str, zh: &str) {
        assert_ne!(en, zh);
        assert!(
            zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{zh}"
        );
        let words = english_words(zh);
        assert!(words.is_empty(), "English words {words:?} in: {zh}");
        for n in numbers(en) {
            assert!(zh.contains(&n), "{n} of {en:?} missing from {zh:?}");
        }
    }

    #[test]
    fn every_warning_has_a_chinese_wording_with_the_same_values() {
        let samples = warnings();
        let mut seen = [false; WARNING_VARIANTS];
        for w in &samples {
            seen[warning_index(w)] = true;
            check(&w.message(Lang::En), &w.message(Lang::Zh));
            assert_eq!(w.message(Lang::En), w.to_string());
        }
        assert!(seen.iter().all(|s| *s), "a Warning variant has no sample");
    }

    #[test]
    fn every_failure_reason_has_a_chinese_wording_with_the_same_values() {
        let mut seen = [false; REASON_VARIANTS];
        for r in reasons() {
            seen[reason_index(&r)] = true;
            let unit = UnitFailure {
                unit_id: "330326".into(),
                name: "平阳县".into(),
                level: Level::County,
                reasons: vec![r.clone()],
            };
            check(&unit.reason_in(Lang::En), &unit.reason_in(Lang::Zh));
            assert_eq!(unit.reason_in(Lang::En), unit.reason_text());
        }
        assert!(
            seen.iter().all(|s| *s),
            "a FailureReason variant has no sample"
        );
    }

    #[test]
    fn every_parcel_warning_has_a_chinese_wording_with_the_same_values() {
        let samples = [
            ParcelWarning::SmallerThanCell {
                parcel_id: "F1".into(),
                area_m2: 120.5,
                cell_area_m2: 900.0,
            },
            ParcelWarning::NotCovered {
                parcel_id: "F1".into(),
                missing_m2: 33.25,
            },
            ParcelWarning::OutsideVillages {
                parcel_id: "F1".into(),
                area_m2: 7.5,
            },
        ];
        let mut seen = [false; 3];
        for w in &samples {
            seen[match w {
                ParcelWarning::SmallerThanCell { .. } => 0,
                ParcelWarning::NotCovered { .. } => 1,
                ParcelWarning::OutsideVillages { .. } => 2,
            }] = true;
            check(&w.message(Lang::En), &w.message(Lang::Zh));
        }
        assert!(seen.iter().all(|s| *s));
    }

    #[test]
    fn the_coastal_warning_reads_as_a_bureau_writes_it() {
        let w = Warning::CoastalWater {
            zone_id: "330326".into(),
            name: "平阳县".into(),
            water_m2: 40.1e6,
            share_percent: 4.1,
            value_yuan: Some(1.715e9),
        };
        assert_eq!(
            w.message(Lang::Zh),
            "平阳县（330326）为沿海县：其水域 40.1 平方千米（占土地覆盖 4.1%，17.15 亿元）可能含被当作内陆水域估值的海域；请将海域设为无数据，或对照到系数集不估值的类型"
        );
    }

    #[test]
    fn unit_level_reasons_name_the_unit_in_chinese() {
        let unit = UnitFailure {
            unit_id: "330326".into(),
            name: String::new(),
            level: Level::County,
            reasons: vec![FailureReason::EmptyBoundary, FailureReason::More(2)],
        };
        assert_eq!(
            unit.reason_in(Lang::Zh),
            "县 330326 的边界为空：请检查边界文件中该要素的几何；……另有 2 条"
        );
    }
}
