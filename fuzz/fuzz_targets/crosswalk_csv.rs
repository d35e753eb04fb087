//! Arbitrary bytes -> `Crosswalk::from_csv_str`: `Ok` or `Err`, never a panic.
#![no_main]

use gep_core::Crosswalk;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(cw) = Crosswalk::from_csv_str(&text, "fuzz.csv") {
        for (ty, classes) in cw.ecosystem_types() {
            assert!(!ty.is_empty() || !classes.is_empty());
            for c in classes {
                assert!(
                    cw.lookup(c).is_some(),
                    "class {c} reaches {ty} but has no mapping"
                );
            }
        }
    }
});
