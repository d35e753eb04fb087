//! The RUSLE slope-length and steepness factor LS, by three named algorithms.

use super::{check_projected, check_square, describe_grid, from_nan_vec, same_grid, to_nan_vec};
use crate::error::ModelError;
use gep_core::{Grid, LayerInfo, ValueGrid};

/// The largest LS value a supplied LS raster may hold.
///
/// InVEST's LS tops out at `l_max` × (16.8 sin 90° − 0.5) = 122 × 16.3 ≈ 1,989 with its default
/// `l_max` of 122; the Chinese form with a 300 m slope-length cap at (300/22.13)^0.5 × 20.95 ≈
/// 77. A raster beyond 2,000 is almost surely scaled (LS × 100 or × 1000 stored as integers).
pub const SUPPLIED_LS_MAX: f64 = 2000.0;

/// Which LS algorithm to run. Its [`name`](LsAlgorithm::name) goes into manifests and output
/// tables: the algorithms differ by 30-50 % on the same DEM (GEP-METHOD §2).
#[derive(Debug, Clone)]
pub enum LsAlgorithm {
    /// `"invest_d8"`: InVEST 3.20.2 SDR's LS on D8 routing ([`ls_cell_invest`]), to float32
    /// precision.
    InvestD8 {
        /// Cap on the L factor (InVEST's `l_max`, dimensionless; its sample data uses 122).
        l_max: f64,
    },
    /// `"chinese"`: S in three branches (McCool et al. 1987; Liu et al. 1994 above 10°) and
    /// L = (λ/22.13)^m (Wischmeier & Smith 1978) with λ from D8 flow accumulation
    /// ([`ls_cell_chinese`]).
    Chinese {
        /// Cap on the slope length λ, metres.
        lambda_max_m: f64,
    },
    /// `"supplied"`: an LS raster computed elsewhere, on the DEM's grid, checked by
    /// [`ls_supplied`] and passed through.
    Supplied {
        /// The LS layer.
        ls: ValueGrid,
    },
}

impl LsAlgorithm {
    /// The algorithm's name in configs and manifests: `"invest_d8"`, `"chinese"` or
    /// `"supplied"`.
    pub fn name(&self) -> &'static str {
        match self {
            LsAlgorithm::InvestD8 { .. } => "invest_d8",
            LsAlgorithm::Chinese { .. } => "chinese",
            LsAlgorithm::Supplied { .. } => "supplied",
        }
    }

    /// Checks the parameters, and for [`LsAlgorithm::Supplied`] that the layer lies on `grid`.
    ///
    /// # Errors
    /// [`ModelError::InvalidParameter`] for a cap that is not finite and positive;
    /// [`ModelError::GridMismatch`] for a supplied LS on another grid.
    pub fn validate(&self, grid: &Grid) -> Result<(), ModelError> {
        match self {
            LsAlgorithm::InvestD8 { l_max } => positive("l_max", *l_max),
            LsAlgorithm::Chinese { lambda_max_m } => positive("lambda_max_m", *lambda_max_m),
            LsAlgorithm::Supplied { ls } => {
                if same_grid(ls.grid(), grid) {
                    Ok(())
                } else {
                    Err(ModelError::GridMismatch {
                        layer: ls.info().name.clone(),
                        found: describe_grid(ls.grid()),
                        expected_layer: "dem".into(),
                        expected: describe_grid(grid),
                    })
                }
            }
        }
    }
}

fn positive(name: &'static str, v: f64) -> Result<(), ModelError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(ModelError::InvalidParameter {
            name,
            value: v,
            reason: "must be a finite number above 0",
        })
    }
}

/// InVEST's LS of one cell, as `natcap.invest.sdr.sdr._calculate_ls_factor` (3.20.2)
/// computes it (to float32 precision, see below).
///
/// Desmet & Govers (1996, J. Soil Water Conserv. 51(5):427-433, eq. 3) with InVEST's reading of
/// the upslope area as a length (its ADR-0001, SAGA's "square root of catchment area"):
///
/// ```text
/// A  = √((FA − 1) · D²)                      FA counts the cell itself, hence − 1
/// L  = ((A + D²)^(m+1) − A^(m+1)) / (D^(m+2) · x^m · 22.13^m),  capped at l_max
/// x  = |sin θ| + |cos θ|                      (InVEST uses the slope angle θ, not the aspect)
/// S  = 10.8 sin θ + 0.03 if slope < 9 %, else 16.8 sin θ − 0.50    (McCool et al. 1987)
/// m  = 0.2 (slope ≤ 1 %), 0.3 (≤ 3.5 %), 0.4 (≤ 5 %), 0.5 (≤ 9 %), else β/(1 + β),
///      β = (sin θ / 0.0896) / (3 sin^0.8 θ + 0.56)                 (Oliveira et al. 2013)
/// LS = L · S
/// ```
///
/// with θ = atan(slope / 100) and D the cell size. Note that InVEST adds the upslope *length*
/// A to the cell *area* D², as its code does; this is reproduced, not corrected.
///
/// Precision: InVEST reads the slope from a Float32 raster and numpy then keeps float32 for
/// θ, its sine and cosine, x, S, β, m and the denominator (float64 for A and the numerator).
/// Those float32 steps carry 1-2 ulp of noise that depends on numpy's math library (Intel
/// SVML on AVX-512 machines, the C library elsewhere), so no port reproduces them bit for bit
/// on every machine. Here the same formula runs in float64 on the float32 slope (so every
/// branch and table choice is InVEST's): on the Willamette fixture it lies within 7.5e-7
/// (relative) of InVEST's LS; a float32 emulation with correctly rounded functions matched
/// 41 % of cells exactly but reached 1.0e-6 elsewhere (a 1-ulp change in m moves L by
/// ~10 × 1e-7 through the numerator's (A + D²)^(m+1) − A^(m+1)).
///
/// # Units
/// Dimensionless; `percent_slope` in %, `flow_accumulation` in cells (≥ 1), `cell_size` in
/// metres.
///
/// ```
/// // A cell nothing flows into (FA = 1, A = 0) on a 5 % slope, 30 m cells: m = 0.4 and
/// // L = D^(2m+2) / (D^(m+2) x^m 22.13^m) = (30 / (22.13 x))^0.4 ≈ 1.1082, S ≈ 0.5693.
/// let t = 0.05f64.atan();
/// let want = (30.0 / (22.13 * (t.sin() + t.cos()))).powf(0.4) * (10.8 * t.sin() + 0.03);
/// let ls = gep_models::terrain::ls_cell_invest(5.0, 1.0, 30.0, 122.0);
/// assert!((ls - want).abs() < 1e-12, "{ls} {want}");
/// assert!((ls - 0.6309).abs() < 1e-4);
/// ```
pub fn ls_cell_invest(
    percent_slope: f64,
    flow_accumulation: f64,
    cell_size: f64,
    l_max: f64,
) -> f64 {
    let p = percent_slope;
    let cell_area = cell_size * cell_size;
    let contributing_area = ((flow_accumulation - 1.0) * cell_area).sqrt();
    let theta = (p / 100.0).atan();
    let (sin, cos) = (theta.sin(), theta.cos());
    let aspect_length = sin.abs() + cos.abs();
    // Equation 4 of Desmet & Govers (1996), McCool et al. (1987)'s S with its 9 % break.
    let s = if p < 9.0 {
        10.8 * sin + 0.03
    } else {
        16.8 * sin - 0.5
    };
    // numpy.digitize(slope, [1, 3.5, 5, 9], right=True) picks m up to 9 % (InVEST's table 1,
    // "InVEST Sediment Model modifications 10-01-2012"); above, Oliveira et al. (2013)'s β.
    let m = if p > 9.0 {
        let beta = (sin / 0.0896) / (3.0 * sin.powf(0.8) + 0.56);
        beta / (1.0 + beta)
    } else if p <= 1.0 {
        0.2
    } else if p <= 3.5 {
        0.3
    } else if p <= 5.0 {
        0.4
    } else {
        0.5
    };
    let numerator = (contributing_area + cell_area).powf(m + 1.0) - contributing_area.powf(m + 1.0);
    let denominator = cell_size.powf(m + 2.0) * aspect_length.powf(m) * 22.13f64.powf(m);
    let l = (numerator / denominator).min(l_max);
    l * s
}

/// InVEST's LS ([`ls_cell_invest`]) over a slope layer (percent) and a D8 flow accumulation
/// layer (cells, counting the cell itself) on one projected grid with square cells.
///
/// # Units
/// Dimensionless; layer `ls`, unit `1`. `None` where either input has no data.
///
/// # Errors
/// [`ModelError::GeographicGrid`], [`ModelError::NonSquareCells`], [`ModelError::GridMismatch`],
/// [`ModelError::InvalidParameter`] for `l_max` not finite and positive.
pub fn ls_invest(
    slope: &ValueGrid,
    flow_accumulation: &ValueGrid,
    l_max: f64,
) -> Result<ValueGrid, ModelError> {
    positive("l_max", l_max)?;
    ls_layer(slope, flow_accumulation, |s, a, cell| {
        ls_invest_raw(s, a, cell, l_max)
    })
}

pub(crate) fn ls_invest_raw(slope: &[f64], fa: &[f64], cell: f64, l_max: f64) -> Vec<f64> {
    cellwise(slope, fa, |s, a| ls_cell_invest(s, a, cell, l_max))
}

/// The LS layer `ls` of a slope and accumulation pair (checked to share one projected grid
/// of square cells), computed by `raw(slope, accumulation, cell size)`.
fn ls_layer(
    slope: &ValueGrid,
    flow_accumulation: &ValueGrid,
    raw: impl Fn(&[f64], &[f64], f64) -> Vec<f64>,
) -> Result<ValueGrid, ModelError> {
    check_pair(slope, flow_accumulation)?;
    let g = slope.grid();
    let v = raw(
        &to_nan_vec(slope),
        &to_nan_vec(flow_accumulation),
        g.cell_width,
    );
    from_nan_vec(g, LayerInfo::new("ls", "1"), v)
}

/// `f(slope, accumulation)` for every cell, NaN where either is NaN (no data).
fn cellwise(slope: &[f64], fa: &[f64], f: impl Fn(f64, f64) -> f64) -> Vec<f64> {
    slope
        .iter()
        .zip(fa)
        .map(|(&s, &a)| {
            if s.is_nan() || a.is_nan() {
                f64::NAN
            } else {
                f(s, a)
            }
        })
        .collect()
}

/// The slope-steepness factor S of the Chinese practice, from the slope angle in degrees.
///
/// ```text
/// S = 10.8 sin θ + 0.03    θ < 5°          McCool et al. (1987), Trans. ASAE 30(5):1387
/// S = 16.8 sin θ − 0.50    5° ≤ θ < 10°    McCool et al. (1987)
/// S = 21.91 sin θ − 0.96   θ ≥ 10°         Liu, Nearing et al. (1994), Trans. ASAE 37(6):1835
/// ```
///
/// (GEP-METHOD §2; recalled from the literature, the DB33/T 2274 text could not be read.)
///
/// # Units
/// Dimensionless; `slope_deg` in degrees.
///
/// ```
/// use gep_models::terrain::s_factor_chinese;
/// let s5 = 16.8 * 5f64.to_radians().sin() - 0.5;
/// assert!((s_factor_chinese(5.0) - s5).abs() < 1e-12);
/// ```
pub fn s_factor_chinese(slope_deg: f64) -> f64 {
    let sin = slope_deg.to_radians().sin();
    if slope_deg < 5.0 {
        10.8 * sin + 0.03
    } else if slope_deg < 10.0 {
        16.8 * sin - 0.50
    } else {
        21.91 * sin - 0.96
    }
}

/// The slope-length exponent m of the Chinese practice, from the slope in percent:
/// 0.5 at ≥ 5 %, 0.4 at 3-5 %, 0.3 at 1-3 %, 0.2 below 1 % (Wischmeier & Smith 1978, USDA
/// Agriculture Handbook 537; GEP-METHOD §2). Each bound belongs to the steeper class.
///
/// # Units
/// Dimensionless; `percent_slope` in %.
pub fn l_exponent_chinese(percent_slope: f64) -> f64 {
    if percent_slope >= 5.0 {
        0.5
    } else if percent_slope >= 3.0 {
        0.4
    } else if percent_slope >= 1.0 {
        0.3
    } else {
        0.2
    }
}

/// The slope-length factor L = (λ / 22.13)^m (Wischmeier & Smith 1978; 22.13 m is the length
/// of the unit plot).
///
/// # Units
/// Dimensionless; `lambda_m` in metres.
pub fn l_factor_mccool(lambda_m: f64, m: f64) -> f64 {
    (lambda_m / 22.13).powf(m)
}

/// The Chinese-practice LS of one cell: [`s_factor_chinese`] × [`l_factor_mccool`] with
/// [`l_exponent_chinese`], θ = atan(slope / 100).
///
/// The slope length is λ = min(FA · D, λ_max): the D8 flow accumulation (cells, counting the
/// cell itself) times the cell size. This is the upslope area per unit contour width (FA · D² /
/// D), the "unit contributing area" that Desmet & Govers (1996) and Moore & Burch (1986) put in
/// place of λ; on a planar slope with flow along rows or columns it is exactly the distance from
/// the divide to the cell's lower edge. Where flow converges it exceeds the true path length,
/// hence the cap `lambda_max_m`.
///
/// # Units
/// Dimensionless; `percent_slope` in %, `flow_accumulation` in cells, `cell_size` and
/// `lambda_max_m` in metres.
///
/// ```
/// use gep_models::terrain::ls_cell_chinese;
/// // Third cell down a 10 % slope of 30 m cells: λ = 90 m, θ = 5.71°, m = 0.5.
/// let theta = 0.1f64.atan();
/// let want = (90.0f64 / 22.13).sqrt() * (16.8 * theta.sin() - 0.5);
/// assert!((ls_cell_chinese(10.0, 3.0, 30.0, 300.0) - want).abs() < 1e-12);
/// ```
pub fn ls_cell_chinese(
    percent_slope: f64,
    flow_accumulation: f64,
    cell_size: f64,
    lambda_max_m: f64,
) -> f64 {
    let slope_deg = (percent_slope / 100.0).atan().to_degrees();
    let lambda = (flow_accumulation * cell_size).min(lambda_max_m);
    l_factor_mccool(lambda, l_exponent_chinese(percent_slope)) * s_factor_chinese(slope_deg)
}

/// The Chinese-practice LS ([`ls_cell_chinese`]) over a slope layer (percent) and a D8 flow
/// accumulation layer (cells) on one projected grid with square cells.
///
/// # Units
/// Dimensionless; layer `ls`, unit `1`. `None` where either input has no data.
///
/// # Errors
/// As [`ls_invest`], with `lambda_max_m` for the parameter.
pub fn ls_chinese(
    slope: &ValueGrid,
    flow_accumulation: &ValueGrid,
    lambda_max_m: f64,
) -> Result<ValueGrid, ModelError> {
    positive("lambda_max_m", lambda_max_m)?;
    ls_layer(slope, flow_accumulation, |s, a, cell| {
        ls_chinese_raw(s, a, cell, lambda_max_m)
    })
}

pub(crate) fn ls_chinese_raw(slope: &[f64], fa: &[f64], cell: f64, lambda_max: f64) -> Vec<f64> {
    cellwise(slope, fa, |s, a| ls_cell_chinese(s, a, cell, lambda_max))
}

/// Checks a user-supplied LS layer and returns it as layer `ls`, unit `1`.
///
/// # Units
/// Dimensionless.
///
/// # Errors
/// [`ModelError::LsOutOfRange`] naming the first cell below 0 or above [`SUPPLIED_LS_MAX`].
pub fn ls_supplied(ls: &ValueGrid) -> Result<ValueGrid, ModelError> {
    let cols = ls.grid().cols;
    if let Some((k, v)) = ls.cells().iter().enumerate().find_map(|(k, v)| {
        v.filter(|&x| !(0.0..=SUPPLIED_LS_MAX).contains(&x))
            .map(|x| (k, x))
    }) {
        return Err(ModelError::LsOutOfRange {
            layer: ls.info().name.clone(),
            row: k / cols,
            col: k % cols,
            value: v,
            max: SUPPLIED_LS_MAX,
        });
    }
    Ok(ls.clone().with_info(LayerInfo::new("ls", "1")))
}

fn check_pair(slope: &ValueGrid, fa: &ValueGrid) -> Result<(), ModelError> {
    check_projected(slope)?;
    check_square(slope)?;
    if !same_grid(slope.grid(), fa.grid()) {
        return Err(ModelError::GridMismatch {
            layer: fa.info().name.clone(),
            found: describe_grid(fa.grid()),
            expected_layer: slope.info().name.clone(),
            expected: describe_grid(slope.grid()),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gep_core::CrsInfo;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn chinese_s_branches_at_their_breakpoints() {
        let sin = |d: f64| d.to_radians().sin();
        // Just below 5°: first branch; at 5°: second (16.8 sin 5° − 0.5 = 0.96422).
        assert!(close(
            s_factor_chinese(4.999_999),
            10.8 * sin(4.999_999) + 0.03,
            1e-12
        ));
        assert!(close(s_factor_chinese(5.0), 0.964_216, 1e-6));
        assert!(close(10.8 * sin(5.0) + 0.03, 0.971_282, 1e-6));
        // At 10°: third branch, 21.91 sin 10° − 0.96 = 2.844632; just below: 2.417289.
        assert!(close(s_factor_chinese(10.0), 2.844_632, 1e-6));
        assert!(close(s_factor_chinese(9.999_999), 2.417_291, 1e-5));
        // Flat: 0.03.
        assert_eq!(s_factor_chinese(0.0), 0.03);
    }

    #[test]
    fn chinese_m_classes() {
        assert_eq!(l_exponent_chinese(0.5), 0.2);
        assert_eq!(l_exponent_chinese(1.0), 0.3);
        assert_eq!(l_exponent_chinese(2.99), 0.3);
        assert_eq!(l_exponent_chinese(3.0), 0.4);
        assert_eq!(l_exponent_chinese(5.0), 0.5);
        assert_eq!(l_factor_mccool(22.13, 0.5), 1.0);
        assert!(close(l_factor_mccool(88.52, 0.5), 2.0, 1e-12));
    }

    #[test]
    fn chinese_lambda_is_capped() {
        // 1000 cells × 30 m = 30 km, capped at 300 m.
        let capped = ls_cell_chinese(20.0, 1000.0, 30.0, 300.0);
        let at_cap = ls_cell_chinese(20.0, 10.0, 30.0, 300.0);
        assert_eq!(capped, at_cap);
    }

    /// InVEST's S breaks at 9 % (16.8 sin θ − 0.5 from 9 % on) and m switches to β/(1 + β)
    /// above 9 %. At FA = 1 on 30 m cells (A = 0): L = D^(2m+2) / (D^(m+2) x^m 22.13^m) =
    /// (30 / (22.13 x))^m.
    #[test]
    fn invest_breakpoints_by_hand() {
        let theta = 0.09f64.atan();
        let x = theta.sin() + theta.cos();
        let l = (30.0 / (22.13 * x)).powf(0.5);
        let want = l * (16.8 * theta.sin() - 0.5);
        assert!(close(ls_cell_invest(9.0, 1.0, 30.0, 122.0), want, 1e-6));
        // Just below 9 %: S = 10.8 sin θ + 0.03, m = 0.5.
        let theta = 0.0899f64.atan();
        let x = theta.sin() + theta.cos();
        let want = (30.0 / (22.13 * x)).powf(0.5) * (10.8 * theta.sin() + 0.03);
        assert!(close(ls_cell_invest(8.99, 1.0, 30.0, 122.0), want, 1e-6));
        // l_max caps L.
        assert!(close(
            ls_cell_invest(50.0, 1e6, 30.0, 2.0),
            2.0 * (16.8 * 0.5f64.atan().sin() - 0.5),
            1e-5
        ));
    }

    #[test]
    fn supplied_range_is_checked() {
        let g = Grid::new(0.0, 2.0, 1.0, 1.0, 2, 2, CrsInfo::projected("x")).unwrap();
        let ok = ValueGrid::new(
            g.clone(),
            LayerInfo::new("my_ls", "1"),
            vec![Some(0.0), None, Some(3.5), Some(2000.0)],
        )
        .unwrap();
        assert_eq!(ls_supplied(&ok).unwrap().info().name, "ls");
        let bad = ValueGrid::new(
            g,
            LayerInfo::new("my_ls", "1"),
            vec![Some(1.0), None, Some(-0.1), None],
        )
        .unwrap();
        let e = ls_supplied(&bad).unwrap_err();
        assert!(
            matches!(e, ModelError::LsOutOfRange { row: 1, col: 0, .. }),
            "{e}"
        );
    }
}
