//! Units carried in types, so that m², ha and 元 cannot be mixed up silently.

use serde::{Deserialize, Serialize};

/// An area in square metres.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize, Deserialize)]
pub struct SquareMeters(pub f64);

/// An area in hectares (1 ha = 10,000 m²).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize, Deserialize)]
pub struct Hectares(pub f64);

/// A money amount in yuan (元, CNY), at full precision.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize, Deserialize)]
pub struct Yuan(pub f64);

/// Square metres in one hectare.
pub const M2_PER_HA: f64 = 10_000.0;
/// Square metres in one mu (亩): exactly 10,000 / 15 m².
pub const M2_PER_MU: f64 = 10_000.0 / 15.0;

impl SquareMeters {
    /// Converts to hectares.
    ///
    /// # Units
    /// Returns hectares (10,000 m²).
    pub fn to_hectares(self) -> Hectares {
        Hectares(self.0 / M2_PER_HA)
    }
}

impl Hectares {
    /// Converts to square metres.
    ///
    /// # Units
    /// Returns m².
    pub fn to_square_meters(self) -> SquareMeters {
        SquareMeters(self.0 * M2_PER_HA)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hectare_round_trip() {
        assert_eq!(SquareMeters(25_000.0).to_hectares(), Hectares(2.5));
        assert_eq!(Hectares(2.5).to_square_meters(), SquareMeters(25_000.0));
        // 15 mu are exactly one hectare.
        assert!((15.0 * M2_PER_MU - M2_PER_HA).abs() < 1e-9);
    }
}
