//! RUSLE per-cell helpers: vegetation cover from NDVI, and the cover-management factor C from
//! vegetation cover (Cai et al. 2000). Combining C and P per zone and class is done elsewhere.

use crate::error::ModelError;

/// The linear mixing model of vegetation cover from NDVI (the dimidiate pixel model):
/// `f = (NDVI − NDVI_soil) / (NDVI_veg − NDVI_soil)`, clamped to [0, 1] (GEP-METHOD §7;
/// Gutman & Ignatov 1998, Int. J. Remote Sens. 19(8):1533). The two end members are data:
/// commonly the NDVI at 5 % and 95 % cumulative frequency of the study area.
///
/// ```
/// use gep_models::NdviCover;
/// let m = NdviCover::new(0.05, 0.85).unwrap();
/// assert!((m.fraction(0.45) - 0.5).abs() < 1e-12);
/// assert_eq!(m.fraction(0.9), 1.0);
/// assert_eq!(m.fraction(-0.2), 0.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NdviCover {
    ndvi_soil: f64,
    ndvi_veg: f64,
}

impl NdviCover {
    /// The model with NDVI of bare soil `ndvi_soil` and of full vegetation `ndvi_veg`.
    ///
    /// # Errors
    /// [`ModelError::InvalidParameter`] unless both lie in [−1, 1] and `ndvi_veg > ndvi_soil`.
    pub fn new(ndvi_soil: f64, ndvi_veg: f64) -> Result<NdviCover, ModelError> {
        for (name, v) in [("ndvi_soil", ndvi_soil), ("ndvi_veg", ndvi_veg)] {
            if !(-1.0..=1.0).contains(&v) {
                return Err(ModelError::InvalidParameter {
                    name,
                    value: v,
                    reason: "NDVI lies in -1..=1",
                });
            }
        }
        if ndvi_veg <= ndvi_soil {
            return Err(ModelError::InvalidParameter {
                name: "ndvi_veg",
                value: ndvi_veg,
                reason: "must be above ndvi_soil (full vegetation is greener than bare soil)",
            });
        }
        Ok(NdviCover {
            ndvi_soil,
            ndvi_veg,
        })
    }

    /// The vegetation cover of a cell with this NDVI; NaN stays NaN.
    ///
    /// # Units
    /// A fraction in [0, 1].
    pub fn fraction(&self, ndvi: f64) -> f64 {
        ((ndvi - self.ndvi_soil) / (self.ndvi_veg - self.ndvi_soil)).clamp(0.0, 1.0)
    }
}

/// Cover fraction (in percent) at and above which Cai's C is 0.
pub const CAI_FULL_COVER_PERCENT: f64 = 78.3;

/// The cover-management factor C from vegetation cover, by 蔡崇法, 丁树文, 史志华, 王峰 (2000),
/// 应用USLE模型与地理信息系统IDRISI预测小流域土壤侵蚀量, 水土保持学报 14(2):19-24:
///
/// ```text
/// C = 1                           c = 0
/// C = 0.6508 − 0.3436 lg c        0 < c < 78.3 %
/// C = 0                           c ≥ 78.3 %
/// ```
///
/// with c the cover in percent (`cover × 100`). The logarithm exceeds 1 for c below about
/// 0.0963 % (0.6508 − 0.3436 lg c > 1): C is clamped to 1 there, the value at no cover.
/// `cover` outside [0, 1] is clamped; NaN stays NaN.
///
/// # Units
/// Dimensionless, in [0, 1]; `cover` a fraction.
///
/// ```
/// use gep_models::cai_c_factor;
/// assert_eq!(cai_c_factor(0.0), 1.0);
/// assert!((cai_c_factor(0.5) - 0.067_034).abs() < 1e-6); // 0.6508 − 0.3436 lg 50
/// assert_eq!(cai_c_factor(0.783), 0.0);
/// ```
pub fn cai_c_factor(cover: f64) -> f64 {
    if cover.is_nan() {
        return f64::NAN;
    }
    let percent = cover.clamp(0.0, 1.0) * 100.0;
    if percent <= 0.0 {
        1.0
    } else if percent >= CAI_FULL_COVER_PERCENT {
        0.0
    } else {
        (0.6508 - 0.3436 * percent.log10()).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cai_at_0_50_and_78_3_percent() {
        assert_eq!(cai_c_factor(0.0), 1.0);
        // lg 50 = 1.698970; 0.3436 × 1.698970 = 0.583766; 0.6508 − 0.583766 = 0.067034.
        assert!((cai_c_factor(0.5) - 0.067_034).abs() < 1e-6);
        assert_eq!(cai_c_factor(0.783), 0.0);
        // Just below 78.3 %: 0.6508 − 0.3436 lg 78.29 ≈ 0.00012: a step of 1e-4 to 0.
        let c = cai_c_factor(0.7829);
        assert!(c > 1e-4 && c < 1.3e-4, "{c}");
        // 10 %: 0.6508 − 0.3436 = 0.3072.
        assert!((cai_c_factor(0.1) - 0.3072).abs() < 1e-12);
        // Tiny cover: the log would exceed 1; clamped.
        assert_eq!(cai_c_factor(1e-6), 1.0);
        assert!(cai_c_factor(f64::NAN).is_nan());
    }

    #[test]
    fn ndvi_cover_clamps_and_validates() {
        let m = NdviCover::new(0.1, 0.9).unwrap();
        assert_eq!(m.fraction(0.1), 0.0);
        assert_eq!(m.fraction(0.9), 1.0);
        assert!((m.fraction(0.3) - 0.25).abs() < 1e-12);
        assert!(m.fraction(f64::NAN).is_nan());
        assert!(NdviCover::new(0.9, 0.1).is_err());
        assert!(NdviCover::new(0.1, 1.5).is_err());
    }
}
