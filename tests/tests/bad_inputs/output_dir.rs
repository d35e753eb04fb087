//! The output directory: what gep may replace, what it must never touch.

#[allow(unused_imports)]
use super::support::*;
