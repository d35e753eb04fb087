//! Numbers in coefficient, pool and deflator tables.

#[allow(unused_imports)]
use super::support::*;
