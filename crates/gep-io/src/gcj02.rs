//! GCJ-02, the obfuscated datum of Chinese web maps (AMap/Gaode, Tencent), and its inverse.
//!
//! The forward transform is the widely published WGS 84 → GCJ-02 formula (as in `eviltransform`
//! and `coordtransform`): offsets from two fixed trigonometric polynomials of (lon − 105,
//! lat − 35), scaled to degrees on the Krasovsky ellipsoid (a = 6378245 m,
//! e² = 0.00669342162296594323). Points outside China's rough bounding box are not shifted.
//! In Zhejiang the shift is about 300-600 m.
//!
//! No closed-form inverse exists; [`gcj02_to_wgs84`] iterates the forward transform (fixed point)
//! until the round trip is within 1e-9° (~0.1 mm), which converges in a handful of steps
//! because the offset changes slowly with position.

use std::f64::consts::PI;

/// Krasovsky 1940 semi-major axis used by the formula, metres.
const A: f64 = 6_378_245.0;
/// Krasovsky 1940 squared eccentricity used by the formula, written as published (more digits
/// than an f64 holds, kept so that the constant can be matched against the sources).
#[allow(clippy::excessive_precision)]
const EE: f64 = 0.006_693_421_622_965_943_23;
/// Round-trip tolerance of the inverse, degrees.
const INVERSE_TOL_DEG: f64 = 1e-9;

/// True when the point lies outside the box in which GCJ-02 applies an offset.
pub fn out_of_china(lon: f64, lat: f64) -> bool {
    !(72.004..=137.8347).contains(&lon) || !(0.8293..=55.8271).contains(&lat)
}

fn transform_lat(x: f64, y: f64) -> f64 {
    let mut ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    ret
}

fn transform_lon(x: f64, y: f64) -> f64 {
    let mut ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    ret
}

/// WGS 84 → GCJ-02 (forward, exact by definition of GCJ-02).
///
/// # Units
/// Degrees in and out, as (longitude, latitude).
///
/// ```
/// let (lon, lat) = gep_io::gcj02::wgs84_to_gcj02(119.0, 29.6);
/// assert!(lon > 119.0 && lat < 29.6); // AMap shapes lie east and south of true
/// ```
pub fn wgs84_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    let mut dlat = transform_lat(lon - 105.0, lat - 35.0);
    let mut dlon = transform_lon(lon - 105.0, lat - 35.0);
    let radlat = lat / 180.0 * PI;
    let s = radlat.sin();
    let magic = 1.0 - EE * s * s;
    let sqrt_magic = magic.sqrt();
    dlat = (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI);
    dlon = (dlon * 180.0) / (A / sqrt_magic * radlat.cos() * PI);
    (lon + dlon, lat + dlat)
}

/// GCJ-02 → WGS 84, iterated until the forward transform of the result is within 1e-9° of
/// the input (sub-millimetre).
///
/// # Units
/// Degrees in and out, as (longitude, latitude).
///
/// ```
/// use gep_io::gcj02::{gcj02_to_wgs84, wgs84_to_gcj02};
/// let (lon, lat) = gcj02_to_wgs84(119.0, 29.6);
/// let (l2, b2) = wgs84_to_gcj02(lon, lat);
/// assert!((l2 - 119.0).abs() < 1e-9 && (b2 - 29.6).abs() < 1e-9);
/// ```
pub fn gcj02_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    let (mut wlon, mut wlat) = (lon, lat);
    for _ in 0..50 {
        let (glon, glat) = wgs84_to_gcj02(wlon, wlat);
        let (dlon, dlat) = (glon - lon, glat - lat);
        if dlon.abs() < INVERSE_TOL_DEG && dlat.abs() < INVERSE_TOL_DEG {
            break;
        }
        wlon -= dlon;
        wlat -= dlat;
    }
    (wlon, wlat)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Metres per degree near 29° N, good enough for offsets of hundreds of metres.
    fn metres(dlon: f64, dlat: f64, lat: f64) -> f64 {
        let mx = dlon * 111_320.0 * lat.to_radians().cos();
        let my = dlat * 110_950.0;
        (mx * mx + my * my).sqrt()
    }

    #[test]
    fn round_trip_within_a_centimetre_in_zhejiang() {
        for (lon, lat) in [
            (118.5, 29.6),
            (119.65, 29.08),
            (120.15, 30.28),
            (121.4, 28.6),
            (119.2, 27.5),
        ] {
            let (glon, glat) = wgs84_to_gcj02(lon, lat);
            let (wlon, wlat) = gcj02_to_wgs84(glon, glat);
            let err = metres(wlon - lon, wlat - lat, lat);
            assert!(err < 0.01, "({lon}, {lat}): round trip off by {err} m");
            let offset = metres(glon - lon, glat - lat, lat);
            assert!(
                (300.0..600.0).contains(&offset),
                "({lon}, {lat}): offset {offset} m"
            );
        }
    }

    #[test]
    fn no_offset_outside_china() {
        assert_eq!(wgs84_to_gcj02(6.6, 0.3), (6.6, 0.3));
        assert_eq!(gcj02_to_wgs84(-123.0, 44.5), (-123.0, 44.5));
    }
}
