//! Generates the C header from this crate's source with cbindgen, into `OUT_DIR/gep.h`.
//!
//! The committed `include/gep.h` is a copy that tests/c_api.rs checks against this one (a
//! build script that writes into the source tree would dirty checkouts and break
//! `cargo package`).

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo")).join("gep.h");
    println!("cargo::rerun-if-changed=src");
    println!("cargo::rerun-if-changed=cbindgen.toml");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("reading cbindgen.toml");
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate the header (see the message above)")
        .write_to_file(&out);
}
