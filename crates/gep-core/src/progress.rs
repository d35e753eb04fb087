//! Progress reporting without printing: libraries call a [`Reporter`], the CLI draws it.

/// Receives progress of long jobs. Implementations must be cheap and thread-safe.
pub trait Reporter: Send + Sync {
    /// A job named `what` starts with `total` units of work (windows, features, ...).
    fn start(&self, what: &str, total: u64);
    /// `n` more units are done.
    fn advance(&self, n: u64);
    /// The current job is finished.
    fn finish(&self);
    /// A line saying what is being done (reading a file, a county tallied, ...).
    fn status(&self, message: &str) {
        let _ = message;
    }
    /// A warning that a user should see but that does not stop the run.
    fn warn(&self, message: &str) {
        let _ = message;
    }
}

/// A reporter that ignores everything (for tests and library callers that do not care).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Reporter for NoProgress {
    fn start(&self, _what: &str, _total: u64) {}
    fn advance(&self, _n: u64) {}
    fn finish(&self) {}
}
