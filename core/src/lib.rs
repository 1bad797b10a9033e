//! s3gate's gateway logic, with no proxy-wasm dependency: everything here is plain Rust, tested
//! natively. The `s3gate` crate (`shim/`) is the thin layer that runs it inside Envoy.
//!
//! - `flow`: the request flow, a state machine driven by host events.
//! - `signature`: the client's credentials (SigV4, SigV2, how they are presented) and the
//!   gateway's own upstream signatures.
//! - `s3`: the S3 protocol: requests, errors, conditions, ranges, response plans, listings, virtual paths mapped to real ones.
//! - `policy`: the policy service's entitlements, the decision cache, patterns.
//! - `encoding`: XML and the byte-level encoders shared by all of them.
//! - `tables`: records of table objects (CSV, JSON Lines) for masking and filtering in the data
//!   path.

// With `panic = "abort"` in the filter a bad index traps the whole VM: the core reads with
// `get`, patterns and iterators instead (tests may index).
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

pub mod config;
pub mod encoding;
pub mod flow;
pub mod headers;
pub mod logging;
pub mod policy;
pub mod s3;
pub mod signature;
pub mod tables;
