//! Encoders, decoders and dates shared by the protocol, signature and policy code.

pub mod byte_table;
pub mod dates;
pub mod hex;
pub mod percent;
pub mod xml;
