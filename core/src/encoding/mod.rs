//! Encoders and decoders shared by the protocol and signature code.

pub mod xml;
