//! gep-io
#![deny(missing_docs)]
