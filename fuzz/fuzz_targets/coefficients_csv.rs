//! Arbitrary bytes -> `CoefficientSet::from_csv_str`: `Ok` or `Err`, never a panic.
//! On `Ok`, the accessors a run uses must not panic either.
#![no_main]

use gep_core::{CoefficientSet, ValuationParams};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(set) = CoefficientSet::from_csv_str(&text, "fuzz.csv") {
        let _ = set.summary();
        let params = ValuationParams::default();
        for c in &set.entries {
            let _ = set.get(&c.key, &c.service);
            let _ = set.unit_value(c, &params);
        }
    }
});
