//! Overlaps and duplicates among the top-level zones.

#[allow(unused_imports)]
use super::support::*;
