//! Continuous inputs aligned to the land-cover grid (`gep_io::continuous`): direct reads with
//! scale and offset, GDAL's `average` and `bilinear` warps checked by hand, reprojection from
//! EPSG:4326, the CRS, overlap and wrong-scale errors, windowed and multi-threaded reads, and
//! the real coarse Zhejiang rasters (fixtures/aux_zhejiang) on a 30 m EPSG:4549 grid.

use gdal::raster::{Buffer, GdalType};
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use gdal::DriverManager;
use gep_core::{Grid, Resampling, ValueGrid, ValueSource, Window};
use gep_io::continuous::{open_continuous, plausible_range, ContinuousInput, InputKind};
use gep_io::{ContinuousNote, Crs, IoError};
use gep_tests::{fixture, tempdir};
use std::path::{Path, PathBuf};

/// Left and top of the synthetic UTM rasters (EPSG:32650, UTM zone 50N).
const X0: f64 = 500_000.0;
const Y0: f64 = 3_300_000.0;

/// What a synthetic GeoTIFF looks like.
struct Tif<'a, T> {
    cols: usize,
    rows: usize,
    /// GDAL geotransform (left, cell width, 0, top, 0, -cell height).
    gt: [f64; 6],
    /// EPSG code; None writes no CRS.
    epsg: Option<u32>,
    data: &'a [T],
    nodata: Option<f64>,
    /// The band's own GDAL scale and offset metadata.
    band_scale_offset: Option<(f64, f64)>,
}

fn write_tif<T: GdalType + Copy>(path: &Path, t: Tif<'_, T>) -> PathBuf {
    let driver = DriverManager::get_driver_by_name("GTiff").unwrap();
    let mut ds = driver
        .create_with_band_type::<T, _>(path, t.cols, t.rows, 1)
        .unwrap();
    ds.set_geo_transform(&t.gt).unwrap();
    if let Some(e) = t.epsg {
        ds.set_spatial_ref(&SpatialRef::from_epsg(e).unwrap())
            .unwrap();
    }
    let mut band = ds.rasterband(1).unwrap();
    if let Some(nd) = t.nodata {
        band.set_no_data_value(Some(nd)).unwrap();
    }
    if let Some((s, o)) = t.band_scale_offset {
        band.set_scale(s).unwrap();
        band.set_offset(o).unwrap();
    }
    let mut buf = Buffer::new((t.cols, t.rows), t.data.to_vec());
    band.write((0, 0), (t.cols, t.rows), &mut buf).unwrap();
    path.to_path_buf()
}

fn crs(def: &str) -> Crs {
    Crs::from_user_input(def).unwrap()
}

/// A north-up target grid in `crs`.
fn grid(crs: &Crs, left: f64, top: f64, cell: f64, rows: usize, cols: usize) -> Grid {
    Grid::new(left, top, cell, cell, rows, cols, crs.info.clone()).unwrap()
}

fn utm_gt(cell: f64) -> [f64; 6] {
    [X0, cell, 0.0, Y0, 0.0, -cell]
}

fn spec(name: &str, path: &Path, unit: &str, r: Option<Resampling>) -> ContinuousInput {
    let mut s = ContinuousInput::new(name, path, unit);
    s.resampling = r;
    s
}

fn read_all(src: &mut dyn ValueSource) -> ValueGrid {
    ValueGrid::read_all(src).unwrap()
}

fn assert_close(a: Option<f64>, b: f64, tol: f64, what: &str) {
    let a = a.unwrap_or_else(|| panic!("{what}: no data, expected {b}"));
    assert!((a - b).abs() <= tol, "{what}: got {a}, expected {b}");
}

#[test]
fn identity_read_applies_scale_offset_and_nodata_for_every_type() {
    let dir = tempdir();
    let utm = crs("EPSG:32650");
    let target = grid(&utm, X0, Y0, 30.0, 3, 4);
    let raw: Vec<i32> = vec![0, 1, 2, 3, 4, 5, -1, 7, 8, 9, 10, 11];
    let expect = |i: usize, s: f64, o: f64| (raw[i] != -1).then(|| raw[i] as f64 * s + o);
    macro_rules! case {
        ($t:ty, $file:expr, $nd:expr) => {{
            let data: Vec<$t> = raw.iter().map(|&v| v as $t).collect();
            let p = write_tif(
                &dir.path().join($file),
                Tif {
                    cols: 4,
                    rows: 3,
                    gt: utm_gt(30.0),
                    epsg: Some(32650),
                    data: &data,
                    nodata: Some($nd),
                    band_scale_offset: None,
                },
            );
            let mut s = spec("x", &p, "mm", None);
            s.scale = 0.5;
            s.offset = 10.0;
            let mut v = open_continuous(&s, &target, &utm).unwrap();
            assert!(!v.alignment().warped);
            assert_eq!(v.alignment().resampling, Resampling::None);
            let all = read_all(&mut v);
            for (i, c) in all.cells().iter().enumerate() {
                // Unsigned types store -1 as the type's nodata (255/65535).
                assert_eq!(*c, expect(i, 0.5, 10.0), "{} cell {i}", $file);
            }
        }};
    }
    case!(u8, "byte.tif", 255.0);
    case!(i16, "int16.tif", -1.0);
    case!(u16, "uint16.tif", 65535.0);
    case!(i32, "int32.tif", -1.0);
    case!(f32, "float32.tif", -1.0);
    case!(f64, "float64.tif", -1.0);
}

#[test]
fn identity_read_combines_band_scale_metadata_then_spec_scale() {
    let dir = tempdir();
    let utm = crs("EPSG:32650");
    let target = grid(&utm, X0, Y0, 30.0, 2, 2);
    let p = write_tif(
        &dir.path().join("scaled.tif"),
        Tif {
            cols: 2,
            rows: 2,
            gt: utm_gt(30.0),
            epsg: Some(32650),
            data: &[100i16, 200, 300, -32768],
            nodata: Some(-32768.0),
            band_scale_offset: Some((0.01, 1.0)),
        },
    );
    // The file stores m × 100 + ...: (raw × 0.01 + 1) m, declared in mm.
    let mut s = spec("aet", &p, "mm", None);
    s.scale = 1000.0;
    let mut v = open_continuous(&s, &target, &utm).unwrap();
    assert_eq!(v.alignment().file_scale, Some(0.01));
    assert_eq!(v.alignment().file_offset, Some(1.0));
    let b = v.read_values(Window::new(0, 0, 2, 2)).unwrap();
    assert_close(b.cells[0], 2000.0, 1e-9, "100");
    assert_close(b.cells[1], 3000.0, 1e-9, "200");
    assert_close(b.cells[2], 4000.0, 1e-9, "300");
    assert_eq!(b.cells[3], None);
}

#[test]
fn non_finite_cells_and_nodata_override_are_no_data() {
    let dir = tempdir();
    let utm = crs("EPSG:32650");
    let target = grid(&utm, X0, Y0, 30.0, 1, 4);
    let p = write_tif(
        &dir.path().join("nan.tif"),
        Tif {
            cols: 4,
            rows: 1,
            gt: utm_gt(30.0),
            epsg: Some(32650),
            data: &[f32::NAN, f32::INFINITY, -9999.0, 5.0],
            nodata: None,
            band_scale_offset: None,
        },
    );
    let mut s = spec("x", &p, "m", None);
    let mut v = open_continuous(&s, &target, &utm).unwrap();
    assert_eq!(
        read_all(&mut v).cells(),
        &[None, None, Some(-9999.0), Some(5.0)]
    );
    s.nodata = Some(-9999.0);
    let mut v = open_continuous(&s, &target, &utm).unwrap();
    assert_eq!(read_all(&mut v).cells(), &[None, None, None, Some(5.0)]);
}

/// 3 × 3 cells of 60 m, values 1..9, onto 6 × 6 cells of 30 m on the same origin: each 30 m
/// cell lies inside one 60 m cell, whose value `average` returns.
#[test]
fn average_60m_onto_30m_gives_the_covering_cell() {
    let dir = tempdir();
    let utm = crs("EPSG:32650");
    let data: Vec<f32> = (1..=9).map(|v| v as f32).collect();
    let p = write_tif(
        &dir.path().join("p60.tif"),
        Tif {
            cols: 3,
            rows: 3,
            gt: utm_gt(60.0),
            epsg: Some(32650),
            data: &data,
            nodata: None,
            band_scale_offset: None,
        },
    );
    let target = grid(&utm, X0, Y0, 30.0, 6, 6);
    let mut v = open_continuous(
        &spec("p", &p, "mm", Some(Resampling::Average)),
        &target,
        &utm,
    )
    .unwrap();
    assert!(v.alignment().warped);
    assert_eq!(v.alignment().resampling, Resampling::Average);
    assert_eq!(v.alignment().source_grid.cell_width, 60.0);
    let all = read_all(&mut v);
    for r in 0..6 {
        for c in 0..6 {
            let want = (1 + (r / 2) * 3 + c / 2) as f64;
            assert_close(all.get(r, c), want, 1e-9, &format!("({r}, {c})"));
        }
    }
}

/// 4 × 4 cells of 30 m onto 2 × 2 cells of 60 m: each target cell is the mean of its 4 source
/// cells; with one of them nodata, the mean of the other 3 (GDAL's average weights only valid
/// cells).
#[test]
fn average_30m_onto_60m_is_the_mean_of_four_and_ignores_nodata() {
    let dir = tempdir();
    let utm = crs("EPSG:32650");
    #[rustfmt::skip]
    let data: Vec<f32> = vec![
        1.0, 2.0,    10.0, 20.0,
        3.0, 4.0,    30.0, -1.0,
        5.0, 5.0,    0.0, 0.0,
        5.0, 9.0,    0.0, 100.0,
    ];
    let p = write_tif(
        &dir.path().join("p30.tif"),
        Tif {
            cols: 4,
            rows: 4,
            gt: utm_gt(30.0),
            epsg: Some(32650),
            data: &data,
            nodata: Some(-1.0),
            band_scale_offset: None,
        },
    );
    let target = grid(&utm, X0, Y0, 60.0, 2, 2);
    let mut v = open_continuous(
        &spec("p", &p, "mm", Some(Resampling::Average)),
        &target,
        &utm,
    )
    .unwrap();
    let all = read_all(&mut v);
    assert_close(all.get(0, 0), 2.5, 1e-9, "(1+2+3+4)/4");
    assert_close(all.get(0, 1), 20.0, 1e-9, "(10+20+30)/3, nodata ignored");
    assert_close(all.get(1, 0), 6.0, 1e-9, "(5+5+5+9)/4");
    assert_close(all.get(1, 1), 25.0, 1e-9, "(0+0+0+100)/4");
}

/// All four source cells nodata → the target cell has no data.
#[test]
fn average_of_only_nodata_is_no_data() {
    let dir = tempdir();
    let utm = crs("EPSG:32650");
    let p = write_tif(
        &dir.path().join("nd.tif"),
        Tif {
            cols: 4,
            rows: 2,
            gt: utm_gt(30.0),
            epsg: Some(32650),
            data: &[-1i16, -1, 4, 8, -1, -1, 4, 8],
            nodata: Some(-1.0),
            band_scale_offset: None,
        },
    );
    let target = grid(&utm, X0, Y0, 60.0, 1, 2);
    let mut v = open_continuous(
        &spec("p", &p, "mm", Some(Resampling::Average)),
        &target,
        &utm,
    )
    .unwrap();
    let all = read_all(&mut v);
    assert_eq!(all.get(0, 0), None);
    assert_close(
        all.get(0, 1),
        6.0,
        1e-9,
        "(4+8+4+8)/4 of an Int16 file, not rounded",
    );
}

/// A nodata override (the file declares none) holds for warped reads too. NaN cells are no
/// data: ignored by the average when the file declares no nodata; with a declared nodata
/// value GDAL's warper lets NaN propagate, so the target cell has no data (conservative).
#[test]
fn nodata_override_and_nan_hold_when_warping() {
    let dir = tempdir();
    let utm = crs("EPSG:32650");
    #[rustfmt::skip]
    let data: Vec<f32> = vec![
        -9999.0, 2.0,   f32::NAN, 6.0,   -9999.0, -9999.0,
        4.0, 6.0,       6.0, 6.0,        -9999.0, -9999.0,
    ];
    let p = write_tif(
        &dir.path().join("nd_override.tif"),
        Tif {
            cols: 6,
            rows: 2,
            gt: utm_gt(30.0),
            epsg: Some(32650),
            data: &data,
            nodata: None,
            band_scale_offset: None,
        },
    );
    let target = grid(&utm, X0, Y0, 60.0, 1, 3);
    let mut s = spec("p", &p, "mm", Some(Resampling::Average));
    s.nodata = Some(-9999.0);
    let mut v = open_continuous(&s, &target, &utm).unwrap();
    assert_eq!(v.alignment().nodata, Some(-9999.0));
    let all = read_all(&mut v);
    assert_close(all.get(0, 0), 4.0, 1e-9, "(2+4+6)/3");
    assert_eq!(all.get(0, 1), None, "NaN with another nodata declared");
    assert_eq!(all.get(0, 2), None);
    // No nodata declared: NaN is the nodata; -9999 is a value.
    s.nodata = None;
    let mut v = open_continuous(&s, &target, &utm).unwrap();
    let all = read_all(&mut v);
    assert_close(
        all.get(0, 0),
        (-9999.0 + 12.0) / 4.0,
        1e-9,
        "(-9999+2+4+6)/4",
    );
    assert_close(all.get(0, 1), 6.0, 1e-9, "(6+6+6)/3, NaN ignored");
    assert_close(all.get(0, 2), -9999.0, 1e-9, "all -9999");
}

/// v = 2·x + 3·y (in metres from the origin, at source cell centres) on a 30 m grid,
/// interpolated bilinearly at the centres of a 20 m grid shifted by 5 m: away from the edges
/// the ramp is reproduced exactly.
#[test]
fn bilinear_reproduces_a_linear_ramp_away_from_edges() {
    let dir = tempdir();
    let utm = crs("EPSG:32650");
    let n = 20;
    let ramp = |x: f64, y: f64| 2.0 * (x - X0) + 3.0 * (Y0 - y);
    let mut data = Vec::new();
    for r in 0..n {
        for c in 0..n {
            data.push(ramp(
                X0 + 30.0 * (c as f64 + 0.5),
                Y0 - 30.0 * (r as f64 + 0.5),
            ));
        }
    }
    let p = write_tif(
        &dir.path().join("ramp.tif"),
        Tif {
            cols: n,
            rows: n,
            gt: utm_gt(30.0),
            epsg: Some(32650),
            data: &data,
            nodata: None,
            band_scale_offset: None,
        },
    );
    let (left, top) = (X0 + 5.0, Y0 - 5.0);
    let target = grid(&utm, left, top, 20.0, 28, 28);
    let mut v = open_continuous(
        &spec("dem", &p, "m", Some(Resampling::Bilinear)),
        &target,
        &utm,
    )
    .unwrap();
    let all = read_all(&mut v);
    let mut checked = 0;
    for r in 0..28 {
        for c in 0..28 {
            let x = left + 20.0 * (c as f64 + 0.5);
            let y = top - 20.0 * (r as f64 + 0.5);
            // Away from edges: at least one source cell (30 m) inside the source's centres.
            if x < X0 + 45.0 || x > X0 + 30.0 * n as f64 - 45.0 {
                continue;
            }
            if y > Y0 - 45.0 || y < Y0 - 30.0 * n as f64 + 45.0 {
                continue;
            }
            assert_close(all.get(r, c), ramp(x, y), 1e-6, &format!("({r}, {c})"));
            checked += 1;
        }
    }
    assert!(checked > 300, "{checked}");
}

/// A 0.01° EPSG:4326 raster with one distinct cell, warped (nearest) onto a 30 m UTM grid:
/// the target cells holding the distinct value are centred where PROJ puts that cell.
#[test]
fn geographic_input_lands_where_expected_on_a_utm_grid() {
    let dir = tempdir();
    let (lon0, lat0, d, n) = (116.9, 30.2, 0.01, 20);
    let (hr, hc) = (7usize, 12usize);
    let mut data = vec![1.0f32; n * n];
    data[hr * n + hc] = 100.0;
    let p = write_tif(
        &dir.path().join("geo.tif"),
        Tif {
            cols: n,
            rows: n,
            gt: [lon0, d, 0.0, lat0, 0.0, -d],
            epsg: Some(4326),
            data: &data,
            nodata: None,
            band_scale_offset: None,
        },
    );
    // Where the distinct cell's centre lies in UTM 50N.
    let mut wgs = SpatialRef::from_epsg(4326).unwrap();
    wgs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let mut utm_srs = SpatialRef::from_epsg(32650).unwrap();
    utm_srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let t = CoordTransform::new(&wgs, &utm_srs).unwrap();
    let mut x = [lon0 + d * (hc as f64 + 0.5)];
    let mut y = [lat0 - d * (hr as f64 + 0.5)];
    t.transform_coords(&mut x, &mut y, &mut []).unwrap();
    // A 30 m target of 3 × 3 km around it.
    let utm = crs("EPSG:32650");
    let left = (x[0] / 30.0).floor() * 30.0 - 1500.0;
    let top = (y[0] / 30.0).floor() * 30.0 + 1500.0;
    let target = grid(&utm, left, top, 30.0, 100, 100);
    let mut v = open_continuous(
        &spec("marker", &p, "1", Some(Resampling::Nearest)),
        &target,
        &utm,
    )
    .unwrap();
    assert_eq!(v.alignment().source_crs, "WGS 84 (EPSG:4326)");
    let all = read_all(&mut v);
    let (mut sx, mut sy, mut k) = (0.0, 0.0, 0.0);
    for r in 0..100 {
        for c in 0..100 {
            if all.get(r, c) == Some(100.0) {
                sx += left + 30.0 * (c as f64 + 0.5);
                sy += top - 30.0 * (r as f64 + 0.5);
                k += 1.0;
            } else {
                assert_eq!(all.get(r, c), Some(1.0), "({r}, {c})");
            }
        }
    }
    // 0.01° ≈ 960 m × 1110 m here: about 32 × 37 target cells.
    assert!((900.0..1500.0).contains(&k), "{k} cells");
    assert!((sx / k - x[0]).abs() < 30.0, "x {} vs {}", sx / k, x[0]);
    assert!((sy / k - y[0]).abs() < 30.0, "y {} vs {}", sy / k, y[0]);
}

#[test]
fn missing_crs_is_an_error_naming_the_input_and_the_fix() {
    let dir = tempdir();
    let utm = crs("EPSG:32650");
    let p = write_tif(
        &dir.path().join("nocrs.tif"),
        Tif {
            cols: 2,
            rows: 2,
            gt: utm_gt(30.0),
            epsg: None,
            data: &[1.0f32; 4],
            nodata: None,
            band_scale_offset: None,
        },
    );
    let target = grid(&utm, X0, Y0, 30.0, 2, 2);
    let mut s = spec("npp", &p, "g C/m2/a", None);
    let e = open_continuous(&s, &target, &utm).unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(&e, IoError::Input { source, .. } if matches!(**source, IoError::MissingCrs { .. })),
        "{e:?}"
    );
    assert!(msg.contains("\"npp\""), "{msg}");
    assert!(msg.contains("nocrs.tif"), "{msg}");
    assert!(msg.contains("crs = \"EPSG:"), "{msg}");
    // With the override, the same file is on the target grid.
    s.crs = Some("EPSG:32650".into());
    let mut v = open_continuous(&s, &target, &utm).unwrap();
    assert!(!v.alignment().warped);
    assert_eq!(read_all(&mut v).cells(), &[Some(1.0); 4]);
}

#[test]
fn no_overlap_is_an_error() {
    let dir = tempdir();
    let utm = crs("EPSG:32650");
    let p = write_tif(
        &dir.path().join("far.tif"),
        Tif {
            cols: 2,
            rows: 2,
            gt: utm_gt(30.0),
            epsg: Some(32650),
            data: &[1.0f32; 4],
            nodata: None,
            band_scale_offset: None,
        },
    );
    let target = grid(&utm, X0 + 10_000.0, Y0, 30.0, 10, 10);
    let e = open_continuous(
        &spec("aet", &p, "mm", Some(Resampling::Average)),
        &target,
        &utm,
    )
    .unwrap_err();
    assert!(matches!(e, IoError::NoOverlap { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("\"aet\"") && msg.contains("far.tif"), "{msg}");
    assert!(msg.contains("does not overlap"), "{msg}");
}

#[test]
fn different_grid_without_resampling_is_an_error() {
    let dir = tempdir();
    let utm = crs("EPSG:32650");
    let p = write_tif(
        &dir.path().join("p60.tif"),
        Tif {
            cols: 2,
            rows: 2,
            gt: utm_gt(60.0),
            epsg: Some(32650),
            data: &[1.0f32; 4],
            nodata: None,
            band_scale_offset: None,
        },
    );
    let target = grid(&utm, X0, Y0, 30.0, 4, 4);
    for r in [None, Some(Resampling::None)] {
        let e = open_continuous(&spec("precipitation", &p, "mm", r), &target, &utm).unwrap_err();
        assert!(matches!(e, IoError::ResamplingRequired { .. }), "{e:?}");
        assert!(e.to_string().contains("resampling = \"average\""), "{e}");
    }
}

/// Precipitation stored in metres (0.9-4.0) but declared in mm with a 50-10000 mm range.
#[test]
fn value_out_of_valid_range_names_the_input_and_the_fix() {
    let dir = tempdir();
    let utm = crs("EPSG:32650");
    let p = write_tif(
        &dir.path().join("precip_m.tif"),
        Tif {
            cols: 2,
            rows: 2,
            gt: utm_gt(30.0),
            epsg: Some(32650),
            data: &[0.9f32, 1.5, 2.25, 4.0],
            nodata: None,
            band_scale_offset: None,
        },
    );
    let target = grid(&utm, X0, Y0, 30.0, 2, 2);
    let mut s = spec("precipitation", &p, "mm", None);
    s.valid_range = Some(plausible_range(InputKind::AnnualPrecipitation));
    // On the land-cover grid the values are checked as the tally reads them.
    let v = open_continuous(&s, &target, &utm).unwrap();
    assert!(v.alignment().range.is_none());
    let e = v.read(Window::new(0, 0, 2, 2)).unwrap_err();
    assert!(matches!(e, IoError::OutOfValidRange(_)), "{e:?}");
    let msg = e.to_string();
    for part in [
        "\"precipitation\"",
        "precip_m.tif",
        "0.9",
        "..4 mm",
        "50..10000 mm",
        "row 0, col 0",
        "is the file in m?",
        "set scale = 1000",
    ] {
        assert!(msg.contains(part), "{part:?} not in {msg}");
    }
    // With the fix the values read.
    s.scale = 1000.0;
    let v = open_continuous(&s, &target, &utm).unwrap();
    let b = v.read(Window::new(0, 0, 2, 2)).unwrap();
    assert!((b.cells[0].unwrap() - 900.0).abs() < 1e-3 && b.cells[3] == Some(4000.0));
    // A warped input is checked when opened, on its own cells.
    let mut w = spec("precipitation", &p, "mm", Some(Resampling::Average));
    w.valid_range = s.valid_range;
    let coarse = grid(&utm, X0, Y0, 60.0, 1, 1);
    let e = open_continuous(&w, &coarse, &utm).unwrap_err();
    assert!(matches!(e, IoError::OutOfValidRange(_)), "{e:?}");
}

#[test]
fn undeclared_nodata_outside_valid_range_suggests_nodata() {
    let dir = tempdir();
    let utm = crs("EPSG:32650");
    let p = write_tif(
        &dir.path().join("dem.tif"),
        Tif {
            cols: 2,
            rows: 2,
            gt: utm_gt(30.0),
            epsg: Some(32650),
            data: &[-9999i16, 15, 300, 1200],
            nodata: None,
            band_scale_offset: None,
        },
    );
    let target = grid(&utm, X0, Y0, 30.0, 2, 2);
    let mut s = spec("dem", &p, "m", None);
    s.valid_range = Some(plausible_range(InputKind::Elevation));
    let v = open_continuous(&s, &target, &utm).unwrap();
    let e = v.read(Window::new(0, 0, 2, 2)).unwrap_err();
    assert!(e.to_string().contains("set nodata = -9999"), "{e}");
}

/// Windows of any size and position read the same values as the whole grid at once, for a
/// direct read and a warped one.
#[test]
fn windows_of_any_size_match_one_full_read() {
    let dir = tempdir();
    let utm = crs("EPSG:32650");
    let (n, m) = (23, 31);
    let data: Vec<f32> = (0..n * m).map(|i| ((i * 37) % 101) as f32).collect();
    let p = write_tif(
        &dir.path().join("w.tif"),
        Tif {
            cols: m,
            rows: n,
            gt: utm_gt(30.0),
            epsg: Some(32650),
            data: &data,
            nodata: Some(0.0),
            band_scale_offset: None,
        },
    );
    let direct = grid(&utm, X0, Y0, 30.0, n, m);
    let warped = grid(&utm, X0 + 7.0, Y0 - 11.0, 20.0, 40, 45);
    for (target, r) in [(direct, None), (warped, Some(Resampling::Cubic))] {
        let mut v = open_continuous(&spec("w", &p, "1", r), &target, &utm).unwrap();
        let full = v.read_values(target.full_window()).unwrap();
        for (br, bc) in [(1, 1), (7, 5), (16, 64), (target.rows, 3)] {
            for w in target.windows(br, bc) {
                let b = v.read_values(w).unwrap();
                for r in 0..w.rows {
                    for c in 0..w.cols {
                        let i = (w.row_off + r) * target.cols + w.col_off + c;
                        assert_eq!(b.get(r, c), full.cells[i], "window {w:?} ({r}, {c})");
                    }
                }
            }
        }
        assert!(full.cells.iter().any(|c| c.is_none()));
        assert!(full.cells.iter().any(|c| c.is_some()));
    }
}

/// Readers opened with `try_clone_values` read the same values on other threads, and the
/// `/vsimem/` VRTs disappear with the last reader.
#[test]
fn clones_read_from_other_threads_and_vsimem_is_cleaned_up() {
    let dir = tempdir();
    let utm = crs("EPSG:32650");
    let data: Vec<f32> = (0..100).map(|i| i as f32).collect();
    let p = write_tif(
        &dir.path().join("t.tif"),
        Tif {
            cols: 10,
            rows: 10,
            gt: utm_gt(60.0),
            epsg: Some(32650),
            data: &data,
            nodata: None,
            band_scale_offset: None,
        },
    );
    let target = grid(&utm, X0, Y0, 30.0, 20, 20);
    let name = "threads_unique_input_name";
    let vsimem_files = || -> Vec<PathBuf> {
        gdal::vsi::read_dir("/vsimem/gep-continuous", false)
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p.to_string_lossy().contains(name))
            .collect()
    };
    let mut v = open_continuous(
        &spec(name, &p, "mm", Some(Resampling::Bilinear)),
        &target,
        &utm,
    )
    .unwrap();
    assert_eq!(vsimem_files().len(), 2, "{:?}", vsimem_files());
    let expected = read_all(&mut v);
    let clones: Vec<_> = (0..4).map(|_| v.try_clone_values().unwrap()).collect();
    drop(v);
    // The clones keep the VRTs alive after the original is gone.
    assert_eq!(vsimem_files().len(), 2);
    let handles: Vec<_> = clones
        .into_iter()
        .map(|mut c| std::thread::spawn(move || read_all(c.as_mut())))
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().cells(), expected.cells());
    }
    assert!(vsimem_files().is_empty(), "{:?}", vsimem_files());
}

#[test]
fn partial_coverage_is_a_note() {
    let dir = tempdir();
    let utm = crs("EPSG:32650");
    let p = write_tif(
        &dir.path().join("half.tif"),
        Tif {
            cols: 5,
            rows: 10,
            gt: utm_gt(30.0),
            epsg: Some(32650),
            data: &[3.0f32; 50],
            nodata: None,
            band_scale_offset: None,
        },
    );
    let target = grid(&utm, X0, Y0, 30.0, 10, 10);
    let mut v = open_continuous(
        &spec("half", &p, "mm", Some(Resampling::Nearest)),
        &target,
        &utm,
    )
    .unwrap();
    assert!((v.alignment().no_data_share - 0.5).abs() < 1e-12);
    match v.notes() {
        [ContinuousNote::PartialCoverage { no_data_share, .. }] => {
            assert!((no_data_share - 0.5).abs() < 1e-12)
        }
        n => panic!("{n:?}"),
    }
    assert!(v.notes()[0].to_string().contains("50.0 %"));
    let all = read_all(&mut v);
    assert_eq!(all.get(0, 4), Some(3.0));
    assert_eq!(all.get(0, 5), None);
}

/// The spec as it comes from a run config.
#[test]
fn spec_reads_from_toml() {
    let s: ContinuousInput = toml::from_str(
        r#"
name = "precipitation"
path = "data/precip_2016.tif"
unit = "mm"
scale = 1000.0
nodata = -9999.0
resampling = "near"
valid_range = [50.0, 10000.0]
crs = "EPSG:4326"
"#,
    )
    .unwrap();
    assert_eq!(s.band, 1);
    assert_eq!(s.offset, 0.0);
    assert_eq!(s.resampling, Some(Resampling::Nearest));
    assert_eq!(s.valid_range, Some((50.0, 10_000.0)));
    assert!(toml::from_str::<ContinuousInput>("name = \"p\"\npath = \"p.tif\"\n").is_err());
}

/// A 100 × 100 grid of 30 m in EPSG:4549 (CGCS2000 / 3-degree Gauss-Kruger CM 120E) at
/// `lon`, `lat` (its top-left corner, snapped to 30 m).
fn zhejiang_grid(lon: f64, lat: f64) -> (Grid, Crs) {
    let target = crs("EPSG:4549");
    let mut geo = SpatialRef::from_epsg(4490).unwrap();
    geo.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let mut gk = SpatialRef::from_epsg(4549).unwrap();
    gk.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let t = CoordTransform::new(&geo, &gk).unwrap();
    let (mut x, mut y) = ([lon], [lat]);
    t.transform_coords(&mut x, &mut y, &mut []).unwrap();
    let left = (x[0] / 30.0).floor() * 30.0;
    let top = (y[0] / 30.0).floor() * 30.0;
    (grid(&target, left, top, 30.0, 100, 100), target)
}

/// The real 1° CFSv2 precipitation (1547-3978 mm) on a 30 m EPSG:4549 grid near Hangzhou:
/// averaged (each 30 m cell inside one 1° cell: that cell's value) and bilinear, every value
/// within the file's range, and the plausible-range check passes.
#[test]
fn real_precipitation_onto_a_zhejiang_30m_grid() {
    let (target, gk) = zhejiang_grid(120.2, 30.3);
    let path = fixture("aux_zhejiang/zj_precip_2016_cfsv2_1deg.tif");
    for r in [Resampling::Average, Resampling::Bilinear] {
        let mut s = spec("precipitation", &path, "mm", Some(r));
        s.valid_range = Some(plausible_range(InputKind::AnnualPrecipitation));
        let mut v = open_continuous(&s, &target, &gk).unwrap();
        assert!(v.notes().is_empty(), "{:?}", v.notes());
        assert_eq!(v.alignment().no_data_share, 0.0);
        let range = v.alignment().range.unwrap();
        assert!(range.exact && range.min >= 1547.0 && range.max <= 3978.0);
        let all = read_all(&mut v);
        assert!(all.cells().iter().all(|c| c.is_some()));
        let (lo, hi) = all
            .cells()
            .iter()
            .flatten()
            .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        assert!(lo >= 1547.0 && hi <= 3978.0, "{r:?}: {lo}..{hi}");
        if r == Resampling::Average {
            // 120.2°E, 30.3°N lies in the 1° cell 120-121°E, 30-31°N: row 1, col 2 = 2282 mm.
            assert_eq!((lo, hi), (2282.0, 2282.0));
        }
    }
    // A relative path (the VRTs in /vsimem must still find the file): cargo runs tests in
    // the package directory, tests/.
    let rel = Path::new("../fixtures/aux_zhejiang/zj_precip_2016_cfsv2_1deg.tif");
    assert!(rel.exists());
    let mut v = open_continuous(
        &spec("precipitation", rel, "mm", Some(Resampling::Average)),
        &target,
        &gk,
    )
    .unwrap();
    let mut clone = v.try_clone_values().unwrap();
    assert_eq!(read_all(&mut v).get(50, 50), Some(2282.0));
    assert_eq!(read_all(clone.as_mut()).get(50, 50), Some(2282.0));
}

/// The real DEM (nodata -9999) and NDVI (nodata -3000) on the same kind of grid, in range.
#[test]
fn real_dem_and_ndvi_onto_a_zhejiang_30m_grid() {
    let (target, gk) = zhejiang_grid(119.5, 29.0);
    for (file, name, unit, kind, r) in [
        (
            "aux_zhejiang/zj_dem_pvlib_1-12deg.tif",
            "dem",
            "m",
            InputKind::Elevation,
            Resampling::Bilinear,
        ),
        (
            "aux_zhejiang/zj_ndvi_max_bess_0.05deg.tif",
            "ndvi_max",
            "1",
            InputKind::Ndvi,
            Resampling::Average,
        ),
        (
            "aux_zhejiang/zj_ndvi_min_bess_0.05deg.tif",
            "ndvi_min",
            "1",
            InputKind::Ndvi,
            Resampling::Cubic,
        ),
    ] {
        let mut s = spec(name, &fixture(file), unit, Some(r));
        s.valid_range = Some(plausible_range(kind));
        let mut v = open_continuous(&s, &target, &gk).unwrap();
        let range = v.alignment().range.unwrap();
        let all = read_all(&mut v);
        let vals: Vec<f64> = all.cells().iter().flatten().copied().collect();
        assert!(!vals.is_empty(), "{name}");
        // Interpolated values stay within (cubic: about) the range of the cells around.
        let slack = if r == Resampling::Cubic {
            0.1 * (range.max - range.min)
        } else {
            1e-9
        };
        for &x in &vals {
            assert!(
                x >= range.min - slack && x <= range.max + slack,
                "{name}: {x} outside {range:?}"
            );
        }
    }
}
