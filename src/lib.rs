//! s3gate: a policy-enforcing S3 gateway running inside Envoy as a proxy-wasm filter.
//!
//! Everything but `host` is pure Rust with no proxy-wasm calls, so it is unit-tested natively.
//! `host` is the thin layer that talks to Envoy; it is only built for wasm32 (with feature
//! `host`, the default).

pub mod auth;
pub mod conditional;
pub mod config;
pub mod decision;
pub mod entitlements;
pub mod glob;
pub mod headers;
pub mod listing;
pub mod logging;
pub mod mapping;
pub mod request;
pub mod response;
pub mod s3error;
pub mod sigv2;
pub mod sigv4;
pub mod store_names;
pub mod token;
pub mod upstream_sign;
pub mod xml;

#[cfg(all(target_arch = "wasm32", feature = "host"))]
mod host;
