//! The footer work a masked Parquet view needs (issue 16) on s3gate-core's focused codec
//! (`tables::parquet`): locate and walk the footer, regenerate the masked chunks, splice the
//! footer, build the overlay. Measured by `examples/codec.rs` natively and, built for
//! wasm32-wasip1, by `../parquet-footer/time_wasm.mjs` and its size (docs/benchmarks.md).

use s3gate_core::tables::parquet::{self, ColumnMask, Mask, Overlay};

/// The masked view's overlay of an object of `object_size` bytes whose tail is `tail`, with
/// `columns` masked null.
pub fn mask_view(object_size: u64, tail: &[u8], columns: &[&str]) -> Option<Overlay> {
    let masks: Vec<ColumnMask> = columns
        .iter()
        .map(|c| ColumnMask {
            column: (*c).to_string(),
            mask: Mask::Null,
        })
        .collect();
    parquet::mask(object_size, tail, &masks, parquet::DEFAULT_MAX_FOOTER).ok()
}

/// wasm entry point: masks columns `c01` and `c02` of the object of `object_size` bytes whose
/// last `len` bytes are at `ptr`; returns the overlay's number of spans (0: refused).
///
/// # Safety
/// `ptr` must point to `len` readable bytes.
#[no_mangle]
#[allow(unsafe_code)]
pub unsafe extern "C" fn mask_tail_len(ptr: *const u8, len: usize, object_size: u64) -> usize {
    let tail = unsafe { std::slice::from_raw_parts(ptr, len) };
    mask_view(object_size, tail, &["c01", "c02"]).map_or(0, |o| o.spans().len())
}

/// wasm entry point: `len` bytes for the host to copy a tail into (leaked: a measurement).
#[no_mangle]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    let mut buffer = vec![0u8; len];
    let ptr = buffer.as_mut_ptr();
    std::mem::forget(buffer);
    ptr
}
