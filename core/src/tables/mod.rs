//! Table objects in the data path: readers and writers of their records, for masking columns and
//! filtering rows of CSV and JSON Lines objects on their way to the client (docs/tables.md).
//!
//! - `csv`: a streaming CSV record reader (raw bytes and field spans per record, fed in arbitrary
//!   chunks, memory bounded by the longest record) and the writer that re-emits a record with
//!   some fields replaced.
//! - `index`: a masked view's size and record-boundary checkpoints, and the upstream window a
//!   range of the view is made from.
//! - `view`: a masked view's identity and ETag.
//! - `parquet`: a masked Parquet object as an overlay on the upstream bytes (regenerated column
//!   chunks, zeroed page indexes and bloom filters, a rewritten footer ending where the old one
//!   ended), computed from the footer alone.
//! - `spec`: the table policy a grant carries (format, masks, row filters); `mask` and `filter`
//!   apply it to one value.
//! - `transform`: one object into its masked view (reader, filters, masks, writer, index).
//! - `jsonl`: a streaming JSON Lines reader (each line one object; the spans of the values at
//!   requested paths, every occurrence of a repeated key) and the writer that re-emits a line
//!   with some of them replaced.

pub mod csv;
pub mod filter;
pub mod index;
pub mod jsonl;
pub mod mask;
pub mod names;
pub mod parquet;
pub mod spec;
pub mod transform;
pub mod view;
