//! The footer work a masked Parquet view needs (issue 16), on the `parquet` crate's metadata
//! codec: decode a footer, drop what describes the masked columns' values (statistics, page
//! index and bloom filter references), encode it again. Measured by `examples/footer.rs`
//! natively and, built for wasm32-wasip1, by its size (docs/benchmarks.md).

use parquet::file::metadata::{ParquetMetaDataReader, ParquetMetaDataWriter, RowGroupMetaData};

/// The footer (`FileMetaData` bytes, without the length and magic) with the columns at
/// `masked` stripped of statistics, page index and bloom filter references; `None` if the
/// bytes are not a footer.
pub fn mask_footer(footer: &[u8], masked: &[usize]) -> Option<Vec<u8>> {
    let metadata = ParquetMetaDataReader::decode_metadata(footer).ok()?;
    let mut builder = metadata.into_builder();
    let row_groups: Vec<RowGroupMetaData> = builder.take_row_groups();
    for row_group in row_groups {
        let mut rg = row_group.into_builder();
        let columns = rg.take_columns();
        for (i, column) in columns.into_iter().enumerate() {
            let column = if masked.contains(&i) {
                column
                    .into_builder()
                    .clear_statistics()
                    .set_column_index_offset(None)
                    .set_column_index_length(None)
                    .set_offset_index_offset(None)
                    .set_offset_index_length(None)
                    .set_bloom_filter_offset(None)
                    .set_bloom_filter_length(None)
                    .build()
                    .ok()?
            } else {
                column
            };
            rg = rg.add_column_metadata(column);
        }
        builder = builder.add_row_group(rg.build().ok()?);
    }
    let metadata = builder.build();
    let mut out = Vec::with_capacity(footer.len());
    ParquetMetaDataWriter::new(&mut out, &metadata)
        .with_preserve_page_index_locations(true)
        .finish()
        .ok()?;
    Some(out)
}

/// wasm entry point, so the cdylib keeps the codec: masks column 0 of the footer at
/// `ptr..ptr+len` and returns the new footer's length (0: not a footer).
///
/// # Safety
/// `ptr` must point to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn mask_footer_len(ptr: *const u8, len: usize) -> usize {
    let footer = unsafe { std::slice::from_raw_parts(ptr, len) };
    mask_footer(footer, &[0]).map_or(0, |f| f.len())
}

/// wasm entry point: `len` bytes for the host to copy a footer into (leaked: a measurement).
#[no_mangle]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    let mut buffer = vec![0u8; len];
    let ptr = buffer.as_mut_ptr();
    std::mem::forget(buffer);
    ptr
}
