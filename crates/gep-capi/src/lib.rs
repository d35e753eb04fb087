//! # gep-capi
//!
//! A C ABI over [`gep_engine`]: run the plan in a config file ([`gep_run_plan`]) or assess a
//! land-cover raster and zones held in memory ([`gep_assess_memory`]), then read the
//! totals, the zones, the account rows and the failed units from an opaque
//! [`GepAssessment`] and free it ([`gep_assessment_free`]).
//!
//! The header is `include/gep.h`, made by cbindgen from this crate's source at build time
//! (`build.rs` writes it to `OUT_DIR`; a test checks that the committed copy is up to date —
//! `GEP_BLESS_HEADER=1 cargo test -p gep-capi --test c_api header` rewrites it).
//!
//! Conventions:
//! - Every call that can fail returns an `int` status: [`GEP_OK`] (0) or one of the
//!   `GEP_ERR_*` codes; [`gep_last_error`] then says why (UTF-8, thread-local).
//! - No panic crosses the boundary: a bug becomes [`GEP_ERR_INTERNAL`] with its message.
//! - Pointers are checked for NULL; strings handed out stay valid while their assessment
//!   lives; values that are absent are NaN, or a `has_*` flag is 0.
//! - Areas are m² or ha and values 元 per year, as each field says.
//! - An assessment is read-only: several threads may read one at once. The assessment calls
//!   themselves use all cores.
//! - A caught panic is still printed to stderr by Rust's default panic hook.
#![deny(missing_docs)]

mod assessment;
mod memory;
mod plan;
mod status;

pub use assessment::{
    gep_assessment_failure, gep_assessment_failure_count, gep_assessment_free, gep_assessment_row,
    gep_assessment_row_count, gep_assessment_totals, gep_assessment_warning,
    gep_assessment_warning_count, gep_assessment_zone, gep_assessment_zone_count, GepAccountRow,
    GepAssessment, GepFailure, GepTotals, GepZone, GEP_LEVEL_COUNTY, GEP_LEVEL_TOWNSHIP,
    GEP_LEVEL_VILLAGE,
};
pub use memory::{
    gep_assess_memory, GepRaster, GepZones, GEP_CRS_CGCS2000, GEP_CRS_PROJECTED, GEP_CRS_WGS84,
};
pub use plan::gep_run_plan;
pub use status::{
    gep_last_error, GEP_ERR_BAD_ARGUMENT, GEP_ERR_INTERNAL, GEP_ERR_INVALID_INPUT,
    GEP_ERR_NOT_VALUED, GEP_ERR_PLAN, GEP_OK,
};

/// This library's version (`major.minor.patch`, the workspace's), static and NUL-terminated.
#[no_mangle]
pub extern "C" fn gep_version() -> *const std::ffi::c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
