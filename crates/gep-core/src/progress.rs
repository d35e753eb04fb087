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
    /// A step of a run, as data: a front end words it in its user's language. The default
    /// passes the English wording ([`ProgressEvent`]'s `Display`) to [`Reporter::status`].
    fn event(&self, event: &ProgressEvent) {
        self.status(&event.to_string());
    }
    /// A warning that a user should see but that does not stop the run.
    fn warn(&self, message: &str) {
        let _ = message;
    }
    /// A warning the library can word in either language: `message(lang)` gives its text.
    /// A front end prints it in its user's language and may keep both (the English one for
    /// machine-read files, the user's for the report). The default passes the English
    /// wording to [`Reporter::warn`].
    fn warn_in(&self, message: &dyn Fn(crate::Lang) -> String) {
        self.warn(&message(crate::Lang::En));
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

/// What a run is doing, for [`Reporter::event`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ProgressEvent {
    /// Opening the land-cover raster and the tables a run needs.
    ReadingInputs,
    /// Reading a boundary file.
    ReadingBoundaries {
        /// The file.
        path: String,
        /// Its level.
        level: crate::Level,
    },
    /// The single pass over the raster starts: `units` top-level zones (counties) to tally.
    Tallying {
        /// The top-level zones to tally.
        units: usize,
        /// Their level.
        level: crate::Level,
    },
    /// A top-level zone and everything below it is tallied (the `done`-th of `of`).
    Tallied {
        /// Its level.
        level: crate::Level,
        /// Its id.
        id: String,
        /// Its name.
        name: String,
        /// How many are tallied now, this one included.
        done: usize,
        /// How many are tallied in this pass.
        of: usize,
    },
    /// A top-level zone's tally is loaded from the resume cache.
    FromCache {
        /// Its level.
        level: crate::Level,
        /// Its id.
        id: String,
        /// Its name.
        name: String,
    },
    /// Hierarchy checks: sums of children, gaps, overlaps and spills.
    Checking,
    /// Valuing the ecosystem services (accounts).
    Valuing,
    /// `gep change` with model services: one of its three runs starts.
    ChangeRun(ChangeRun),
}

/// The runs of a change with model services (`gep change --config1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeRun {
    /// Year 0 as configured.
    Year0,
    /// Year 1's land cover with year 0's inputs and models (the counterfactual).
    Counterfactual,
    /// Year 1 as configured.
    Year1,
}

impl std::fmt::Display for ProgressEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProgressEvent::ReadingInputs => f.write_str("reading inputs"),
            ProgressEvent::ReadingBoundaries { path, level } => {
                write!(f, "reading {path} ({level})")
            }
            ProgressEvent::Tallying { units, level } => {
                write!(
                    f,
                    "tallying the land cover of {units} {level} zone(s) in one pass"
                )
            }
            ProgressEvent::Tallied {
                level,
                id,
                name,
                done,
                of,
            } => write!(f, "tallied {level} {done} of {of}: {id} {name}"),
            ProgressEvent::FromCache { level, id, name } => {
                write!(f, "{level} {id} {name} from cache")
            }
            ProgressEvent::Checking => {
                f.write_str("checking the hierarchy (sums, gaps, overlaps, spills)")
            }
            ProgressEvent::Valuing => f.write_str("valuing ecosystem services"),
            ProgressEvent::ChangeRun(ChangeRun::Year0) => f.write_str("model services: year 0"),
            ProgressEvent::ChangeRun(ChangeRun::Counterfactual) => f.write_str(
                "model services: year 1's land cover with year 0's inputs (counterfactual)",
            ),
            ProgressEvent::ChangeRun(ChangeRun::Year1) => f.write_str("model services: year 1"),
        }
    }
}
