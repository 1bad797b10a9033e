//! What the policy service decides and how the gateway keeps and applies it: the entitlements
//! document, the decision cache, patterns, and the names stores serve.

pub mod decision;
pub mod entitlements;
pub mod glob;
pub mod store_names;
