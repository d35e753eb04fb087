//! Boundary files: text encodings of names and geometry messages.

#[allow(unused_imports)]
use super::support::*;
