//! Runs from files (feature `gdal`): the plan a config file or the caller describes, and the
//! stages that read, pre-flight, tally and check it.
//!
//! Stages, each public so that a caller can run them one by one (the `gep` command does, to
//! overlap them with writing): [`Plan::from_file`] → [`prepare()`] (open the raster, read and
//! reproject the boundaries, resolve the hierarchy, pre-flight each county into
//! [`Unit`]s) → [`tally_by_unit`] (one pass over the raster, each county cached in a
//! [`TallyStore`] as it completes) with [`hierarchy_geometry`] → checks and accounts; or all
//! of them through [`assess`].
//!
//! ```no_run
//! use gep_engine::plan::{assess, Plan};
//! let plan = Plan::from_file("fixtures/demo/gep.toml".as_ref())?;
//! let a = assess(&plan, &gep_core::NoProgress)?;
//! for f in &a.failures {
//!     eprintln!("{} failed: {}", f.unit_id, f.reason_text());
//! }
//! if let Some(t) = &a.totals {
//!     println!("GEP {:.2} 亿元 at {:?} prices over {} counties", t.gep_yuan / 1e8, t.price_year, t.zones);
//! }
//! # Ok::<(), gep_engine::EngineError>(())
//! ```
//!
//! (Compiled as a doctest; run on the demo by the crate's `tests/plan.rs` and by
//! `cargo run -p gep-engine --example county_values -- fixtures/demo/gep.toml`.)

pub mod cache;
pub mod config;
pub mod models;
mod prepare;
mod run;

pub use cache::{cache_dir, TallyCache, TallyStore};
pub use config::{
    load, resolve, Plan, RawConfig, RawLandcover, RawOutput, RawRun, RawStatistics, RawValuation,
    RawZones, ValuationPlan,
};
pub use prepare::*;
pub use run::{assess, assess_prepared, boundary_checks, tally_cache, Assessed, CheckPiece};

/// `Result` with the engine's error.
pub type Result<T, E = crate::EngineError> = std::result::Result<T, E>;

/// Returns early with [`crate::EngineError::Plan`] of the formatted message.
macro_rules! bail {
    ($($t:tt)*) => {
        return Err($crate::EngineError::plan(format!($($t)*)))
    };
}
pub(crate) use bail;

/// Adds what was being done to an error (as `anyhow::Context` does, but typed).
pub trait Context<T> {
    /// Wraps the error with `what`.
    fn context(self, what: impl Into<String>) -> Result<T>;
    /// Wraps the error with the message `f` makes (only on error).
    fn with_context<S: Into<String>>(self, f: impl FnOnce() -> S) -> Result<T>;
}

impl<T, E: Into<crate::EngineError>> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl Into<String>) -> Result<T> {
        self.map_err(|e| crate::EngineError::Context {
            what: what.into(),
            inner: Box::new(e.into()),
        })
    }
    fn with_context<S: Into<String>>(self, f: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| crate::EngineError::Context {
            what: f().into(),
            inner: Box::new(e.into()),
        })
    }
}

impl From<std::io::Error> for crate::EngineError {
    fn from(e: std::io::Error) -> crate::EngineError {
        crate::EngineError::input(e.to_string())
    }
}
