//! Status codes, the thread-local last error, and the guard every exported function runs its
//! body in (no panic crosses the C boundary).

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The call succeeded.
pub const GEP_OK: c_int = 0;
/// An argument is unusable: a null pointer where one is required, a size that does not fit,
/// text that is not UTF-8, an index out of range.
pub const GEP_ERR_BAD_ARGUMENT: c_int = 1;
/// The data are unusable: invalid WKB, a grid of no cells, a zone off the raster, an unknown
/// coefficient set, a boundary file that cannot be read.
pub const GEP_ERR_INVALID_INPUT: c_int = 2;
/// The plan (config file) is missing, unreadable or inconsistent.
pub const GEP_ERR_PLAN: c_int = 3;
/// A bug in gep (a panic, caught): please report it with the message.
pub const GEP_ERR_INTERNAL: c_int = 4;
/// The assessment has no values (it was run without a coefficient set), so there are no totals.
pub const GEP_ERR_NOT_VALUED: c_int = 5;

/// Why a call failed: a status code and the message for [`gep_last_error`].
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: c_int,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn bad_argument(message: impl Into<String>) -> Failure {
        Failure {
            code: GEP_ERR_BAD_ARGUMENT,
            message: message.into(),
        }
    }

    pub(crate) fn input(message: impl Into<String>) -> Failure {
        Failure {
            code: GEP_ERR_INVALID_INPUT,
            message: message.into(),
        }
    }

    /// An engine error: plan errors, bugs and input errors get their own codes.
    pub(crate) fn engine(e: &gep_engine::EngineError) -> Failure {
        Failure {
            code: engine_code(e),
            message: chain(e),
        }
    }
}

fn engine_code(e: &gep_engine::EngineError) -> c_int {
    use gep_engine::EngineError;
    match e {
        EngineError::Plan { .. } | EngineError::Config { .. } => GEP_ERR_PLAN,
        EngineError::Panicked(_) => GEP_ERR_INTERNAL,
        EngineError::Context { inner, .. } => engine_code(inner),
        _ => GEP_ERR_INVALID_INPUT,
    }
}

/// `e` and the sources its message does not already include, `: `-separated.
fn chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = s.source();
    }
    message
}

/// `Err(bad argument)` naming `what` when `p` is null.
pub(crate) fn non_null<T>(p: *const T, what: &str) -> Result<(), Failure> {
    if p.is_null() {
        Err(Failure::bad_argument(format!("{what} is NULL")))
    } else {
        Ok(())
    }
}

/// `text` as a C string; interior NULs (which a C reader would take for the end) become U+FFFD.
pub(crate) fn c_string(text: &str) -> CString {
    CString::new(text.replace('\0', "\u{FFFD}")).unwrap_or_default()
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    let message = c_string(message);
    // `try_with`: during thread teardown the slot may be gone; losing the message is then
    // better than a panic.
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = message);
}

/// Runs `body` as the body of an exported function: its error becomes the status code and
/// the thread's last-error message; a panic becomes [`GEP_ERR_INTERNAL`] (unwinding into C is
/// undefined behaviour, and since Rust 1.81 an abort). The message is cleared on success.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Failure>) -> c_int {
    let outcome = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into());
        Err(Failure {
            code: GEP_ERR_INTERNAL,
            message: format!("internal error in gep (please report it): {what}"),
        })
    });
    match outcome {
        Ok(()) => {
            set_last_error("");
            GEP_OK
        }
        Err(f) => {
            set_last_error(&f.message);
            f.code
        }
    }
}

/// The message of the last `gep_*` call on this thread that returns a status: empty after a
/// success, else what went wrong and, where it helps, how to fix it (UTF-8, never NULL).
///
/// The pointer stays valid until the next such call on this thread.
#[no_mangle]
pub extern "C" fn gep_last_error() -> *const c_char {
    LAST_ERROR
        .try_with(|slot| slot.borrow().as_ptr())
        .unwrap_or(c"".as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last() -> String {
        // SAFETY: gep_last_error returns a NUL-terminated string that lives until the next
        // call on this thread; it is copied at once.
        unsafe { CStr::from_ptr(gep_last_error()) }
            .to_str()
            .unwrap()
            .to_string()
    }

    #[test]
    fn a_panic_becomes_an_internal_error_with_its_message() {
        let code = guard(|| panic!("boom at cell 3"));
        assert_eq!(code, GEP_ERR_INTERNAL);
        assert!(last().contains("boom at cell 3"), "{}", last());
        assert_eq!(guard(|| Ok(())), GEP_OK);
        assert_eq!(last(), "");
    }

    #[test]
    fn interior_nuls_do_not_cut_the_message() {
        assert_eq!(
            guard(|| Err(Failure::input("zone \"a\0b\" is bad"))),
            GEP_ERR_INVALID_INPUT
        );
        assert_eq!(last(), "zone \"a\u{FFFD}b\" is bad");
    }
}
