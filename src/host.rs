//! Envoy glue (wasm32 only).
