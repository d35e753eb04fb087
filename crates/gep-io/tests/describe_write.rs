mod common;

use common::{fixture, run};
use gdal::vector::LayerAccess;
use gdal::{Dataset, Metadata};
use gep_core::{Grid, Level, Window};
use gep_io::{
    describe_path, read_zones, reproject_zones, write_value_geotiff, write_zones_gpkg, Crs,
    Densify, ZoneLayerOut, ZoneLayerSpec,
};

#[test]
fn describes_the_modis_raster() {
    let d = describe_path(fixture("mcd12c1_2019_igbp_zhejiang.tif")).unwrap();
    for want in [
        "driver: GTiff",
        "100 columns x 85 rows",
        "Byte, block 100 x 81",
        "nodata 255",
        "(EPSG:4326)",
        "cell size: 0.05 x -0.05",
        "nodata cells: 0",
        "value counts (12 classes)",
        "    8: 2540",
        "    0: 2940",
    ] {
        assert!(d.contains(want), "missing {want:?} in\n{d}");
    }
}

#[test]
fn describes_vectors_and_shapefile_encodings() {
    let d = describe_path(fixture("zj26_counties_cgcs2000.geojson")).unwrap();
    for want in [
        "driver: GeoJSON",
        "features: 26",
        "Multi Polygon",
        "(EPSG:4490)",
        "adcode (String)",
    ] {
        assert!(d.contains(want), "missing {want:?} in\n{d}");
    }
    let dir = tempfile::tempdir().unwrap();
    let shp = dir.path().join("c.shp");
    run(
        "ogr2ogr",
        &[
            "-lco",
            "ENCODING=GBK",
            shp.to_str().unwrap(),
            fixture("zj26_counties_cgcs2000.geojson").to_str().unwrap(),
        ],
    );
    assert!(describe_path(&shp).unwrap().contains("encoding: GBK"));
    std::fs::remove_file(shp.with_extension("cpg")).unwrap();
    assert!(describe_path(&shp).unwrap().contains("no .cpg"));
    let e = describe_path(dir.path().join("nothing.tif"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("nothing.tif"), "{e}");
}

#[test]
fn zones_round_trip_through_geopackage() {
    let spec = ZoneLayerSpec {
        name_field: Some("name".into()),
        ..ZoneLayerSpec::new(
            fixture("zj26_counties_cgcs2000.geojson"),
            Level::County,
            "adcode",
        )
    };
    let l = read_zones(&spec).unwrap();
    let to = Crs::from_user_input("EPSG:4549").unwrap();
    let mut zones = l.zones.clone();
    reproject_zones(&mut zones, &l.crs, &to, Densify::Default).unwrap();
    let values: Vec<Vec<f64>> = zones
        .iter()
        .enumerate()
        .map(|(i, _)| vec![i as f64 * 1.5, f64::NAN])
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("zones.gpkg");
    let layer = ZoneLayerOut {
        name: "county",
        zones: &zones,
        fields: &["gep_yuan", "empty"],
        values: &values,
    };
    write_zones_gpkg(&out, &to, &[layer]).unwrap();

    let back = read_zones(&ZoneLayerSpec {
        layer: Some("county".into()),
        name_field: Some("name".into()),
        ..ZoneLayerSpec::new(&out, Level::County, "zone_id")
    })
    .unwrap();
    assert_eq!(back.crs.epsg, Some(4549));
    assert_eq!(back.zones.len(), 26);
    assert_eq!(back.zones[0].id, zones[0].id);
    assert_eq!(back.zones[0].name, zones[0].name);
    assert_eq!(back.zones[3].geometry, zones[3].geometry);
    let ds = Dataset::open(&out).unwrap();
    let mut lyr = ds.layer_by_name("county").unwrap();
    let f = lyr.features().nth(2).unwrap();
    assert_eq!(f.field_as_double(4).unwrap(), Some(3.0));
    assert_eq!(f.field_as_double(5).unwrap(), None);
}

#[test]
fn value_geotiff_round_trip() {
    let grid = Grid::new(
        500_000.0,
        3_300_000.0,
        30.0,
        30.0,
        300,
        270,
        Crs::from_user_input("EPSG:4549").unwrap().info,
    )
    .unwrap();
    let to = Crs::from_user_input("EPSG:4549").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("values.tif");
    let windows = grid.windows(100, 100).into_iter().map(|w: Window| {
        let v: Vec<f32> = (0..w.len())
            .map(|i| ((w.row_off + i / w.cols) * 1000 + w.col_off + i % w.cols) as f32)
            .collect();
        (w, v)
    });
    write_value_geotiff(&out, &grid, &to.wkt, Some(-9999.0), windows).unwrap();
    let ds = Dataset::open(&out).unwrap();
    assert_eq!(
        ds.geo_transform().unwrap(),
        [500_000.0, 30.0, 0.0, 3_300_000.0, 0.0, -30.0]
    );
    let band = ds.rasterband(1).unwrap();
    assert_eq!(band.block_size(), (256, 256));
    assert_eq!(band.no_data_value(), Some(-9999.0));
    let buf = band
        .read_as::<f32>((0, 0), (270, 300), (270, 300), None)
        .unwrap();
    assert_eq!(buf.data()[299 * 270 + 269], 299_269.0);
    assert_eq!(
        ds.metadata_item("COMPRESSION", "IMAGE_STRUCTURE")
            .as_deref(),
        Some("DEFLATE")
    );
    assert!(ds.spatial_ref().unwrap().auth_code().unwrap() == 4549);
}
