//! `gep_run_plan`: the run a config file describes (the TOML `gep run` reads), through GDAL.

use crate::assessment::{into_handle, GepAssessment};
use crate::memory::opt_str;
use crate::status::{guard, non_null, Failure, GEP_ERR_PLAN};
use gep_core::NoProgress;
use std::ffi::{c_char, c_int};
use std::path::Path;

/// Runs the plan in the config file at `config_path` (the TOML that `gep run` reads; its
/// relative paths are relative to the file) and returns the assessment in `*out`. Nothing
/// is written: outputs are the caller's to make from the assessment.
///
/// A county that cannot be computed is a failure in the assessment (see
/// `gep_assessment_failure_count`), not an error. Errors: `GEP_ERR_PLAN` when the file is
/// missing or wrong (the message names the file), `GEP_ERR_INVALID_INPUT` when an input it
/// names cannot be used.
///
/// On success `*out` is a new assessment to free with `gep_assessment_free`; on failure it
/// is NULL and `gep_last_error` says why.
///
/// # Safety
/// `config_path` is NULL or a NUL-terminated UTF-8 path; `out` is valid for writing a
/// pointer.
#[no_mangle]
pub unsafe extern "C" fn gep_run_plan(
    config_path: *const c_char,
    out: *mut *mut GepAssessment,
) -> c_int {
    guard(|| {
        non_null(out, "out")?;
        // SAFETY: non-null and valid for a pointer write by contract; cleared first so that
        // a failure leaves NULL.
        unsafe { out.write(std::ptr::null_mut()) };
        // SAFETY: NULL or NUL-terminated, by contract.
        let path = unsafe { opt_str(config_path, "config_path") }?
            .ok_or_else(|| Failure::bad_argument("config_path is NULL"))?;
        let path = Path::new(path);
        let plan = gep_engine::plan::Plan::from_file(path).map_err(|e| {
            let mut f = Failure::engine(&e);
            if f.code != crate::status::GEP_ERR_INTERNAL {
                f.code = GEP_ERR_PLAN;
            }
            if !f.message.contains(&path.display().to_string()) {
                f.message = format!("{}: {}", path.display(), f.message);
            }
            f
        })?;
        let assessment =
            gep_engine::plan::assess(&plan, &NoProgress).map_err(|e| Failure::engine(&e))?;
        // SAFETY: `out` checked above.
        unsafe { into_handle(assessment, out) };
        Ok(())
    })
}
