//! Reference ellipsoids and exact areas of latitude-longitude quadrangles on them.

use crate::units::SquareMeters;
use serde::{Deserialize, Serialize};

/// A biaxial reference ellipsoid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ellipsoid {
    /// Semi-major axis in metres.
    pub a: f64,
    /// Flattening (a − b) / a.
    pub f: f64,
}

impl Ellipsoid {
    /// WGS 84 (EPSG:7030): a = 6378137 m, 1/f = 298.257223563.
    pub const WGS84: Ellipsoid = Ellipsoid {
        a: 6_378_137.0,
        f: 1.0 / 298.257_223_563,
    };
    /// CGCS2000 (EPSG:1024): a = 6378137 m, 1/f = 298.257222101 (same as GRS 80).
    pub const CGCS2000: Ellipsoid = Ellipsoid {
        a: 6_378_137.0,
        f: 1.0 / 298.257_222_101,
    };

    /// Builds an ellipsoid from its semi-major axis (m) and inverse flattening (0 = sphere).
    pub fn from_inverse_flattening(a: f64, inv_f: f64) -> Ellipsoid {
        Ellipsoid {
            a,
            f: if inv_f == 0.0 { 0.0 } else { 1.0 / inv_f },
        }
    }

    /// Squared first eccentricity e² = f (2 − f).
    pub fn e2(&self) -> f64 {
        self.f * (2.0 - self.f)
    }

    /// Area of the quadrangle between latitudes `south_deg` and `north_deg` spanning
    /// `width_deg` degrees of longitude.
    ///
    /// The area element on the ellipsoid is b² cos φ / (1 − e² sin² φ)² dφ dλ. It is
    /// integrated with 8-point Gauss–Legendre quadrature on sub-intervals of at most
    /// 0.25°, which is exact to machine precision for this smooth integrand and, unlike
    /// the closed form (a difference of two large authalic terms), keeps full relative
    /// precision for tiny cells (10 m cells are ~1e-4°).
    ///
    /// # Units
    /// m². Negative when `south_deg > north_deg`.
    pub fn quadrangle_area(&self, south_deg: f64, north_deg: f64, width_deg: f64) -> SquareMeters {
        let b = self.a * (1.0 - self.f);
        let e2 = self.e2();
        let (lo, hi) = (south_deg.to_radians(), north_deg.to_radians());
        let span = hi - lo;
        if span == 0.0 {
            return SquareMeters(0.0);
        }
        let pieces = ((span.abs() / 0.25f64.to_radians()).ceil() as usize).max(1);
        let h = span / pieces as f64;
        let mut total = 0.0;
        for p in 0..pieces {
            let mid = lo + h * (p as f64 + 0.5);
            let half = h / 2.0;
            let mut s = 0.0;
            for (x, w) in GL8 {
                let phi = mid + half * x;
                let sn = phi.sin();
                let d = 1.0 - e2 * sn * sn;
                s += w * phi.cos() / (d * d);
            }
            total += s * half;
        }
        SquareMeters(b * b * total * width_deg.to_radians())
    }
}

/// Nodes and weights of 8-point Gauss–Legendre quadrature on [−1, 1].
#[allow(clippy::excessive_precision)] // Tabulated to 17+ digits on purpose.
const GL8: [(f64, f64); 8] = [
    (-0.960_289_856_497_536_3, 0.101_228_536_290_376_26),
    (-0.796_666_477_413_626_7, 0.222_381_034_453_374_47),
    (-0.525_532_409_916_329, 0.313_706_645_877_887_3),
    (-0.183_434_642_495_649_8, 0.362_683_783_378_362),
    (0.183_434_642_495_649_8, 0.362_683_783_378_362),
    (0.525_532_409_916_329, 0.313_706_645_877_887_3),
    (0.796_666_477_413_626_7, 0.222_381_034_453_374_47),
    (0.960_289_856_497_536_3, 0.101_228_536_290_376_26),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Closed form (authalic) area from the equator to φ per radian of longitude,
    /// used only as an independent check on large cells.
    fn closed_form(e: &Ellipsoid, phi_deg: f64) -> f64 {
        let b = e.a * (1.0 - e.f);
        let ecc = e.e2().sqrt();
        let s = phi_deg.to_radians().sin();
        b * b / 2.0
            * (s / (1.0 - ecc * ecc * s * s)
                + (1.0 / (2.0 * ecc)) * ((1.0 + ecc * s) / (1.0 - ecc * s)).ln())
    }

    #[test]
    fn matches_closed_form_on_degree_cells() {
        for lat in [0.0, 27.0, 29.5, 45.0, 60.0, 89.0] {
            let q = Ellipsoid::WGS84.quadrangle_area(lat, lat + 1.0, 1.0).0;
            let c = (closed_form(&Ellipsoid::WGS84, lat + 1.0)
                - closed_form(&Ellipsoid::WGS84, lat))
                * 1f64.to_radians();
            assert!(((q - c) / c).abs() < 1e-12, "lat {lat}: {q} vs {c}");
        }
    }

    #[test]
    fn whole_ellipsoid_area() {
        // Known total surface area of the WGS 84 ellipsoid: 510,065,621.724 km²
        // (GeographicLib, Geodesic.WGS84.EllipsoidArea()).
        let total = Ellipsoid::WGS84.quadrangle_area(-90.0, 90.0, 360.0).0;
        assert!(
            (total / 1e6 - 510_065_621.724_088_5).abs() < 1e-3,
            "{total}"
        );
    }
}
