//! Arbitrary bytes -> `Catalog::from_toml_str` (gep-core's TOML parser; the `gep` config
//! lives in the binary crate and is not reachable from here): `Ok` or `Err`, never a panic.
#![no_main]

use gep_core::Catalog;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(cat) = Catalog::from_toml_str(&text, "fuzz.toml") {
        let _ = cat.ecosystem_codes();
        for e in &cat.ecosystems {
            assert!(cat.ecosystem(&e.code).is_some());
            let _ = cat.ecosystem_rank(&e.code);
        }
        for s in &cat.services {
            assert!(cat.service(&s.code).is_some());
            let _ = cat.service_rank(&s.code);
        }
    }
});
