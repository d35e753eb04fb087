//! Continuous inputs on the demo: real coarse rasters over Zhejiang (`fixtures/aux_zhejiang/`,
//! EPSG:4326) warped onto the MODIS land-cover grid, summed by county, township and village in
//! the tally's pass. Villages must add up to their townships and townships to their counties,
//! for every layer and class, as areas do.

use gep_core::{NoProgress, WeightedTable};
use gep_engine::plan::{assess, config::RawConfig, resolve};
use gep_tests::fixture;
use std::collections::BTreeMap;

fn plan_text(counties: &str, threads: usize) -> String {
    let f = |p: &str| fixture(p).display().to_string();
    format!(
        r#"
year = 2019
[landcover]
path = "{lc}"
[[zones]]
path = "{c}"
level = "county"
id_field = "adcode"
name_field = "name"
[[zones]]
path = "{t}"
level = "township"
id_field = "zone_id"
parent_field = "parent"
[[zones]]
path = "{v}"
level = "village"
id_field = "zone_id"
parent_field = "parent"
[[inputs]]
name = "precipitation"
path = "{p}"
unit = "mm"
resampling = "bilinear"
[[inputs]]
name = "ndvi_max"
path = "{n}"
unit = "1"
resampling = "average"
[run]
counties = [{counties}]
threads = {threads}
"#,
        lc = f("mcd12c1_2019_igbp_zhejiang.tif"),
        c = f("zj26_counties_cgcs2000.geojson"),
        t = f("zj26_townships_generated.geojson"),
        v = f("zj26_villages_generated.geojson"),
        p = f("aux_zhejiang/zj_precip_2016_cfsv2_1deg.tif"),
        n = f("aux_zhejiang/zj_ndvi_max_bess_0.05deg.tif"),
    )
}

fn sums(counties: &str, threads: usize) -> (Vec<gep_core::Zone>, WeightedTable) {
    let raw: RawConfig = toml::from_str(&plan_text(counties, threads)).unwrap();
    let plan = resolve(raw, None).unwrap();
    let a = assess(&plan, &NoProgress).unwrap();
    assert!(a.failures.is_empty(), "{:?}", a.failures);
    let p = a.physical.expect("inputs are tallied");
    (a.zones, p.sums)
}

#[test]
fn villages_add_up_to_townships_and_counties_for_every_layer() {
    // 云和县 and 景宁畲族自治县 (Lishui).
    let (zones, table) = sums(r#""331125", "331127""#, 0);
    assert_eq!(table.layers.len(), 2);
    let index: BTreeMap<&str, usize> = zones
        .iter()
        .enumerate()
        .map(|(i, z)| (z.id.as_str(), i))
        .collect();
    let mut children: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, z) in zones.iter().enumerate() {
        if let Some(p) = &z.parent {
            children.entry(p.as_str()).or_default().push(i);
        }
    }
    let mut compared = 0;
    for (parent, kids) in &children {
        let pz = &table.zones[index[parent]];
        for layer in 0..table.layers.len() {
            let total = pz.total(layer).unwrap().to_f64();
            let kids_total: f64 = kids
                .iter()
                .map(|&k| table.zones[k].total(layer).unwrap().to_f64())
                .sum();
            assert!(total > 0.0, "{parent} layer {layer}: nothing summed");
            // The generated villages tile their townships exactly; the residual is the
            // coverage of shared edges computed twice (as for areas, ~1e-12 relative).
            assert!(
                (total - kids_total).abs() <= 1e-9 * total,
                "{parent} {}: {total} vs children {kids_total}",
                table.layers[layer].name
            );
            compared += 1;
        }
    }
    assert!(compared > 50, "{compared}");
}

#[test]
fn sums_are_bit_identical_for_any_thread_count() {
    let one = sums(r#""331125""#, 1).1;
    let two = sums(r#""331125""#, 2).1;
    assert_eq!(one, two);
}
