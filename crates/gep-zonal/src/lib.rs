//! Exact coverage and tallies (being written).
#![deny(missing_docs)]
