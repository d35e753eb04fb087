mod common;

use common::{fixture, run};
use gdal::raster::Buffer;
use gdal::spatial_ref::SpatialRef;
use gdal::DriverManager;
use gep_core::{CrsKind, Ellipsoid, RasterSource, Window};
use gep_io::{GdalRaster, IoError, RasterOptions};
use std::collections::BTreeMap;
use std::path::Path;

fn modis() -> GdalRaster {
    GdalRaster::open(
        fixture("mcd12c1_2019_igbp_zhejiang.tif"),
        RasterOptions::default(),
    )
    .unwrap()
}

fn histogram(r: &mut dyn RasterSource, block: (usize, usize)) -> (BTreeMap<i32, u64>, u64) {
    let mut h = BTreeMap::new();
    let mut nodata = 0;
    for w in r.grid().clone().windows(block.0, block.1) {
        for c in r.read_window(w).unwrap().cells {
            match c {
                Some(v) => *h.entry(v).or_default() += 1,
                None => nodata += 1,
            }
        }
    }
    (h, nodata)
}

#[test]
fn modis_grid_matches_gdalinfo() {
    let r = modis();
    let g = r.grid();
    // gdalinfo: Origin = (118, 31.25), Pixel Size = (0.05, -0.05), Size is 100, 85.
    assert_eq!(
        (g.left, g.top, g.cell_width, g.cell_height),
        (118.0, 31.25, 0.05, 0.05)
    );
    assert_eq!((g.rows, g.cols), (85, 100));
    assert_eq!(g.crs.kind, CrsKind::Geographic(Ellipsoid::WGS84));
    assert_eq!(r.epsg(), Some(4326));
    assert_eq!(r.crs_definition(), "EPSG:4326");
    assert_eq!(r.nodata(), Some(255.0));
    assert_eq!(r.data_type(), "Byte");
    assert_eq!(r.file_block_size(), (81, 100));
    assert_eq!(r.block_size(), (85, 100));
    assert!(r.describe().contains("EPSG:4326"), "{}", r.describe());
}

#[test]
fn modis_histogram_matches_gdalinfo_hist() {
    // `gdalinfo -hist mcd12c1_2019_igbp_zhejiang.tif` (256 buckets from -0.5 to 255.5):
    // 2940 58 361 0 20 742 0 0 2540 806 5 27 261 484 256 0 ... 0 (no 255 = nodata cell)
    let expected: BTreeMap<i32, u64> = [
        (0, 2940),
        (1, 58),
        (2, 361),
        (4, 20),
        (5, 742),
        (8, 2540),
        (9, 806),
        (10, 5),
        (11, 27),
        (12, 261),
        (13, 484),
        (14, 256),
    ]
    .into_iter()
    .collect();
    let mut r = modis();
    let (h, nodata) = histogram(&mut r, (256, 256));
    assert_eq!(h, expected);
    assert_eq!(nodata, 0);
}

#[test]
fn windows_match_a_full_read() {
    let mut r = modis();
    let full = r.read_window(r.grid().full_window()).unwrap();
    let mut clone = r.try_clone_source().unwrap();
    for w in r.grid().windows(7, 13) {
        let b = clone.read_window(w).unwrap();
        for i in 0..w.rows {
            for j in 0..w.cols {
                assert_eq!(
                    b.get(i, j),
                    full.get(w.row_off + i, w.col_off + j),
                    "{w:?} ({i}, {j})"
                );
            }
        }
    }
    assert!(r.read_window(Window::new(80, 0, 10, 1)).is_err());
}

#[test]
fn byte_reads_match_cell_reads() {
    let path = fixture("reference/willamette_lulc_30m.tif");
    for nodata in [None, Some(-1.0), Some(11.0)] {
        let opts = RasterOptions {
            nodata,
            ..Default::default()
        };
        let mut r = GdalRaster::open(&path, opts).unwrap();
        let g = r.grid().clone();
        for w in g.windows(300, 700).into_iter().chain([g.full_window()]) {
            let bytes = r.read_window_bytes(w).unwrap().expect("a Byte band");
            assert_eq!(bytes.to_block(), r.read_window(w).unwrap(), "{w:?}");
            let none_at = |v: usize| bytes.palette[v].is_none();
            match nodata {
                None => assert!(none_at(255) && !none_at(11)),
                Some(-1.0) => assert!(!none_at(255) && !none_at(11)),
                _ => assert!(!none_at(255) && none_at(11)),
            }
        }
        assert!(r.read_window_bytes(Window::new(1889, 0, 1, 1)).is_err());
    }
}

#[test]
fn willamette_utm_nodata_255() {
    let mut r = GdalRaster::open(
        fixture("reference/willamette_lulc_30m.tif"),
        RasterOptions::default(),
    )
    .unwrap();
    let g = r.grid().clone();
    assert_eq!(g.crs.kind, CrsKind::Projected);
    assert_eq!(r.epsg(), Some(26910));
    assert_eq!((g.rows, g.cols, g.cell_width), (1889, 1325, 30.0));
    let block = r.block_size();
    assert_eq!(block, (258, 1325)); // 43 strips of 6 rows
    let (h, nodata) = histogram(&mut r, block);
    // fixtures/README.md: 1,641,621 valid cells (independent numpy count); 1325 x 1889 in all.
    assert_eq!(h.values().sum::<u64>(), 1_641_621);
    assert_eq!(nodata, 1325 * 1889 - 1_641_621);
    assert!(!h.contains_key(&255));
    // With nodata overridden to none, 255 becomes a class.
    let opts = RasterOptions {
        nodata: Some(-1.0),
        ..Default::default()
    };
    let mut r2 = GdalRaster::open(fixture("reference/willamette_lulc_30m.tif"), opts).unwrap();
    let (h2, nodata2) = histogram(&mut r2, block);
    assert_eq!((h2[&255], nodata2), (nodata, 0));
}

#[test]
fn float_raster_is_rejected_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("float_landcover.tif");
    let src = fixture("mcd12c1_2019_igbp_zhejiang.tif");
    run(
        "gdal_translate",
        &[
            "-q",
            "-ot",
            "Float32",
            src.to_str().unwrap(),
            out.to_str().unwrap(),
        ],
    );
    let e = GdalRaster::open(&out, RasterOptions::default()).unwrap_err();
    assert!(matches!(e, IoError::NotIntegerRaster { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("float_landcover.tif") && msg.contains("Float32"),
        "{msg}"
    );
    assert!(msg.contains("gdal_translate -ot Byte"), "{msg}");
}

#[test]
fn band_out_of_range() {
    let opts = RasterOptions {
        band: 2,
        ..Default::default()
    };
    let e = GdalRaster::open(fixture("mcd12c1_2019_igbp_zhejiang.tif"), opts).unwrap_err();
    assert!(e.to_string().contains("has 1 band"), "{e}");
}

/// Writes a 3 x 4 GeoTIFF with the given geotransform, CRS and cells.
fn write_tif<T: gdal::raster::GdalType + Copy>(
    path: &Path,
    gt: [f64; 6],
    epsg: Option<u32>,
    cells: Vec<T>,
) {
    let drv = DriverManager::get_driver_by_name("GTiff").unwrap();
    let mut ds = drv.create_with_band_type::<T, _>(path, 4, 3, 1).unwrap();
    ds.set_geo_transform(&gt).unwrap();
    if let Some(c) = epsg {
        ds.set_spatial_ref(&SpatialRef::from_epsg(c).unwrap())
            .unwrap();
    }
    let mut band = ds.rasterband(1).unwrap();
    let mut buf = Buffer::new((4, 3), cells);
    band.write((0, 0), (4, 3), &mut buf).unwrap();
}

#[test]
fn missing_crs_is_rejected_unless_overridden() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("no_crs.tif");
    write_tif::<u8>(
        &p,
        [500_000.0, 30.0, 0.0, 3_300_000.0, 0.0, -30.0],
        None,
        (0..12).collect(),
    );
    let e = GdalRaster::open(&p, RasterOptions::default()).unwrap_err();
    assert!(matches!(e, IoError::MissingCrs { .. }), "{e}");
    assert!(e.to_string().contains("no_crs.tif"), "{e}");
    let opts = RasterOptions {
        crs: Some("EPSG:4549".into()),
        ..Default::default()
    };
    let mut r = GdalRaster::open(&p, opts).unwrap();
    assert_eq!(r.epsg(), Some(4549));
    assert_eq!(r.grid().crs.kind, CrsKind::Projected);
    let b = r.read_window(Window::new(1, 1, 2, 2)).unwrap();
    assert_eq!(b.cells, vec![Some(5), Some(6), Some(9), Some(10)]);
}

#[test]
fn rotated_south_up_and_feet_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let rot = dir.path().join("rotated.tif");
    write_tif::<u8>(
        &rot,
        [0.0, 30.0, 1.0, 0.0, 0.0, -30.0],
        Some(32650),
        vec![1; 12],
    );
    let e = GdalRaster::open(&rot, RasterOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("rotated") && e.contains("rotated.tif"), "{e}");
    let south = dir.path().join("south_up.tif");
    write_tif::<u8>(
        &south,
        [0.0, 30.0, 0.0, 0.0, 0.0, 30.0],
        Some(32650),
        vec![1; 12],
    );
    let e = GdalRaster::open(&south, RasterOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("south-up"), "{e}");
    let feet = dir.path().join("feet.tif");
    // EPSG:2230 (NAD83 / California zone 6, US survey feet).
    write_tif::<u8>(
        &feet,
        [6e6, 30.0, 0.0, 2e6, 0.0, -30.0],
        Some(2230),
        vec![1; 12],
    );
    let e = GdalRaster::open(&feet, RasterOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("not metres"), "{e}");
}

#[test]
fn uint32_beyond_i32_names_the_cell() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.tif");
    let mut cells = vec![7u32; 12];
    cells[6] = 3_000_000_000; // row 1, col 2
    write_tif::<u32>(&p, [0.0, 30.0, 0.0, 90.0, 0.0, -30.0], Some(32650), cells);
    let mut r = GdalRaster::open(&p, RasterOptions::default()).unwrap();
    assert_eq!(
        r.read_window(Window::new(0, 0, 1, 4)).unwrap().cells,
        vec![Some(7); 4]
    );
    // Only Byte bands have a byte form.
    assert!(r
        .read_window_bytes(Window::new(0, 0, 1, 4))
        .unwrap()
        .is_none());
    let e = r
        .read_window(r.grid().full_window())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("row 1, col 2") && e.contains("3000000000") && e.contains("big.tif"),
        "{e}"
    );
}

#[test]
fn one_reader_per_thread() {
    let r = modis();
    let (mut expected, _) = histogram(&mut modis(), (85, 100));
    let windows = r.grid().windows(10, 100);
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let mut src = r.try_clone_source().unwrap();
            let mine: Vec<Window> = windows.iter().copied().skip(t).step_by(4).collect();
            std::thread::spawn(move || {
                let mut h = BTreeMap::<i32, u64>::new();
                for w in mine {
                    for c in src.read_window(w).unwrap().cells.into_iter().flatten() {
                        *h.entry(c).or_default() += 1;
                    }
                }
                h
            })
        })
        .collect();
    for h in handles {
        for (k, v) in h.join().unwrap() {
            *expected.get_mut(&k).unwrap() -= v;
        }
    }
    assert!(expected.values().all(|v| *v == 0), "{expected:?}");
}
