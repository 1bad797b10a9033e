//! The S3 protocol as the gateway speaks it: requests, errors, ranges, conditional requests,
//! response plans, listings and their continuation tokens.

pub mod conditional;
pub mod continuation;
pub mod error;
pub mod listing;
pub mod mapping;
pub mod range;
pub mod request;
pub mod response;
