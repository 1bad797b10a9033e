//! Signatures: how a client presents its credentials, SigV4 and SigV2 verification, and the
//! gateway's own SigV4 signature on upstream requests.

pub mod presented;
pub mod sigv2;
pub mod sigv4;
pub mod upstream;
