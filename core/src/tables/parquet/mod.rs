//! Masked Parquet objects (issue 16; docs/tables.md, "Parquet"): a masked view keeps every byte
//! offset of the upstream object. Each masked column chunk is overwritten in place by a
//! regenerated chunk (nulls or one constant) and zero padding; the masked columns' page index
//! and bloom filters are zeroed; the footer is rewritten without what described the masked
//! values and placed so that it ends where the old one ended. The view is an [`Overlay`] on
//! the upstream bytes, computed from the footer alone.
//!
//! - `thrift`: the compact protocol, reader and writer.
//! - `footer`: finding and walking the footer, the schema, the splice that rewrites it.
//! - `pages`: the regenerated chunks.
//! - `value`: a constant's text parsed against a column's type.
//! - `overlay`: the view as spans over the upstream bytes.
//! - `shape`: the footer's structs as typed shapes; what conforms to them, copied.
//! - `arrow_schema`: whether a masked view may keep the `ARROW:schema` entry.

pub mod arrow_schema;
pub mod footer;
pub mod geo;
pub mod json;
pub mod overlay;
pub mod pages;
pub mod shape;
pub mod tensor;
pub mod thrift;
pub mod time_zones;
pub mod value;

pub use footer::{Column, Location, Physical, Repetition, TopLevel};
pub use overlay::{Fill, Overlay, Span};
pub use value::Value;

/// A mask on one top-level column.
#[derive(Debug, Clone, PartialEq)]
pub enum Mask {
    /// Every value null (an OPTIONAL column only).
    Null,
    /// Every value this text parsed against the column's type ([`Value::parse`]).
    Constant(String),
    /// Every value this value (of the column's physical type).
    Value(Value),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnMask {
    pub column: String,
    pub mask: Mask,
}

/// A mask made ready for one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prepared {
    Null,
    Boolean(bool),
    /// One value, PLAIN-encoded.
    Plain(Vec<u8>),
}

/// Why an object has no masked view. Every one is an S3 error before any byte is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The tail given does not hold the footer: fetch this many bytes from the object's end.
    NeedTail { bytes: u64 },
    /// Not a Parquet file (no magic, a footer longer than the object).
    NotParquet(&'static str),
    /// Parquet modular encryption: an encrypted footer (`PARE`), a plaintext footer of an
    /// encrypted file, an encrypted column chunk.
    Encrypted(&'static str),
    /// The footer is longer than the configured maximum.
    FooterTooLarge { len: u64, max: u64 },
    /// The footer is not valid Parquet metadata; `offset` is the byte at fault in the object.
    Malformed { offset: u64, what: &'static str },
    /// A masked column that is not a top-level field of the schema.
    UnknownColumn { column: String },
    /// A masked column that is a group (a struct, a list, a map).
    NestedColumn { column: String },
    /// A masked column that is a repeated leaf.
    RepeatedColumn { column: String },
    /// A top-level field whose name a reader may take for a masked column's (another case,
    /// surrounding white space, invisible characters).
    LookAlikeColumn { column: String, found: String },
    /// With masks, a top-level name a reader may show or cut otherwise than it is stored (a
    /// control character, a NUL, which DuckDB's data frames cut at; a bidirectional control).
    UnreadableColumnName { found: String, why: &'static str },
    /// `null` on a REQUIRED column.
    NullOnRequired { column: String },
    /// A constant that is not a value of the column's type.
    InvalidConstant {
        column: String,
        reason: &'static str,
    },
    /// A regenerated chunk larger than the original chunk's span (a long constant over a
    /// column of few, small or well-compressed values).
    ChunkTooSmall {
        column: String,
        row_group: usize,
        needed: u64,
        span: u64,
    },
    /// A row group of more rows than one page holds (i32).
    TooManyValues { column: String, row_group: usize },
    /// A masked chunk stored in another file (`file_path`).
    ExternalChunk { column: String },
    /// A writer known to record chunk sizes that miss some of the chunk's bytes.
    UnsafeWriter(&'static str),
    /// A masked column's bloom filter has no length and its header is not in the tail read.
    BloomFilterLength { column: String },
    /// The rewritten footer is longer than the original (it cannot end where it ended).
    FooterGrew { old: u64, new: u64 },
    /// Spans of the view (chunks, page indexes, bloom filters, the footer) overlap.
    Overlap { at: u64 },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NeedTail { bytes } => write!(f, "the footer needs the last {bytes} bytes"),
            Error::NotParquet(why) => write!(f, "not a Parquet file: {why}"),
            Error::Encrypted(why) => write!(f, "an encrypted Parquet file: {why}"),
            Error::FooterTooLarge { len, max } => {
                write!(f, "a Parquet footer of {len} bytes, over the maximum of {max}")
            }
            Error::Malformed { offset, what } => {
                write!(f, "a malformed Parquet footer at byte {offset}: {what}")
            }
            Error::UnknownColumn { column } => write!(f, "no top-level column {column:?}"),
            Error::NestedColumn { column } => {
                write!(f, "column {column:?} is nested: masks apply to top-level leaves")
            }
            Error::RepeatedColumn { column } => write!(f, "column {column:?} is repeated"),
            Error::UnreadableColumnName { found, why } => {
                write!(f, "column {found:?} has {why} in its name")
            }
            Error::LookAlikeColumn { column, found } => {
                write!(f, "column {found:?} looks like the masked column {column:?}")
            }
            Error::NullOnRequired { column } => {
                write!(f, "column {column:?} is REQUIRED: a null mask cannot apply")
            }
            Error::InvalidConstant { column, reason } => {
                write!(f, "the constant of column {column:?}: {reason}")
            }
            Error::ChunkTooSmall { column, row_group, needed, span } => write!(
                f,
                "column {column:?} in row group {row_group}: the masked chunk needs {needed} bytes, its span has {span}"
            ),
            Error::TooManyValues { column, row_group } => {
                write!(f, "column {column:?} in row group {row_group}: too many rows for one page")
            }
            Error::UnsafeWriter(why) => write!(f, "an unsupported Parquet writer: {why}"),
            Error::ExternalChunk { column } => {
                write!(f, "column {column:?} is stored in another file")
            }
            Error::BloomFilterLength { column } => {
                write!(f, "column {column:?}: a bloom filter of unknown length")
            }
            Error::FooterGrew { old, new } => {
                write!(f, "the masked footer ({new} bytes) is longer than the original ({old})")
            }
            Error::Overlap { at } => write!(f, "spans of the masked view overlap at byte {at}"),
        }
    }
}

impl std::error::Error for Error {}

/// The default maximum footer length: 16 MiB.
pub const DEFAULT_MAX_FOOTER: u64 = 16 << 20;

/// The form two names share when a reader may take one for the other (`names::folded`).
fn look_alike_key(name: &str) -> String {
    crate::tables::names::folded(name)
}

/// The schema's top-level fields (the footer at `location` in `tail`, the object's last bytes).
pub fn columns(object_size: u64, tail: &[u8], max_footer: u64) -> Result<Vec<TopLevel>, Error> {
    let (footer, location) = footer_bytes(object_size, tail, max_footer)?;
    let schema = schema_field(footer, location)?;
    Ok(footer::schema(&schema, location.start)?.0)
}

fn footer_bytes(
    object_size: u64,
    tail: &[u8],
    max_footer: u64,
) -> Result<(&[u8], Location), Error> {
    let location = footer::locate(object_size, tail, max_footer)?;
    let need = location.tail_len();
    let have = tail.len() as u64;
    if have < need || have > object_size {
        return Err(Error::NeedTail { bytes: need });
    }
    let from = usize::try_from(have - need).map_err(|_| Error::NeedTail { bytes: need })?;
    let footer = tail
        .get(from..tail.len().saturating_sub(8))
        .ok_or(Error::NeedTail { bytes: need })?;
    Ok((footer, location))
}

fn schema_field(footer: &[u8], location: Location) -> Result<thrift::Field<'_>, Error> {
    for field in thrift::Reader::new(footer).fields() {
        let field = field.map_err(|e| footer::malformed(location.start, e))?;
        if field.id == 2 {
            return Ok(field);
        }
    }
    Err(Error::Malformed {
        offset: location.start,
        what: "a footer without a schema",
    })
}

/// The masked view of a Parquet object of `object_size` bytes whose last bytes are `tail`
/// (at least the footer, its length and magic: [`footer::locate`] on the last 8 bytes says how
/// many), with `masks` on top-level columns. With no masks the view is the object itself (an
/// identity overlay), after the same checks.
pub fn mask(
    object_size: u64,
    tail: &[u8],
    masks: &[ColumnMask],
    max_footer: u64,
) -> Result<Overlay, Error> {
    let (footer_bytes, location) = footer_bytes(object_size, tail, max_footer)?;
    let schema = schema_field(footer_bytes, location)?;
    let (top, leaves) = footer::schema(&schema, location.start)?;
    if !masks.is_empty() {
        for field in &top {
            if let Some(why) = crate::tables::names::unreadable(field.name()) {
                return Err(Error::UnreadableColumnName {
                    found: field.name().to_string(),
                    why,
                });
            }
        }
    }
    // Each mask's column and prepared mask, by leaf.
    let mut prepared: Vec<(Column, Prepared)> = Vec::with_capacity(masks.len());
    for mask in masks {
        let key = look_alike_key(&mask.column);
        let mut found = false;
        for field in &top {
            let name = field.name();
            if name != mask.column {
                if look_alike_key(name) == key {
                    return Err(Error::LookAlikeColumn {
                        column: mask.column.clone(),
                        found: name.to_string(),
                    });
                }
                continue;
            }
            found = true;
            let column = match field {
                TopLevel::Leaf(column) => column,
                TopLevel::Nested(_) => {
                    return Err(Error::NestedColumn {
                        column: mask.column.clone(),
                    })
                }
                TopLevel::Repeated(_) => {
                    return Err(Error::RepeatedColumn {
                        column: mask.column.clone(),
                    })
                }
            };
            prepared.push((column.clone(), prepare(column, &mask.mask)?));
        }
        if !found {
            return Err(Error::UnknownColumn {
                column: mask.column.clone(),
            });
        }
    }
    // A reader that matches columns by field id (Iceberg) takes another field with a masked
    // column's id, at any depth, for it: a masked column's id must be its alone. Where other
    // fields have ids and a masked column has none, such a reader finds that column by an id
    // its table gives, which another field here may carry: refused too.
    if !prepared.is_empty() {
        let ids = footer::field_ids(&schema).map_err(|e| footer::malformed(location.start, e))?;
        for (column, _) in &prepared {
            match column.field_id {
                Some(id) if ids.iter().filter(|&&other| other == id).count() > 1 => {
                    return Err(Error::LookAlikeColumn {
                        column: column.name.clone(),
                        found: format!("another field with field_id {id}"),
                    });
                }
                None if !ids.is_empty() => {
                    return Err(Error::LookAlikeColumn {
                        column: column.name.clone(),
                        found: "other fields with a field_id, and none on it".to_string(),
                    });
                }
                _ => {}
            }
        }
    }
    let mut targets: Vec<Option<footer::Target<'_>>> = (0..leaves.len()).map(|_| None).collect();
    for (column, mask) in &prepared {
        if let Some(slot) = targets.get_mut(column.leaf) {
            // Two masks on one column: the first wins (the policy service refuses that).
            if slot.is_none() {
                *slot = Some(footer::Target { column, mask });
            }
        }
    }
    let tail_start = object_size - tail.len() as u64;
    let mut rewrite = footer::rewrite(
        footer_bytes,
        location,
        &leaves,
        &targets,
        &footer::Tail {
            bytes: tail,
            start: tail_start,
        },
    )?;
    let regions = rewrite.overwritten_regions(location.start)?;
    rewrite.chunks.sort_unstable_by_key(|c| c.start);
    let mut spans = Vec::with_capacity(2 * rewrite.chunks.len() + regions.len() + 2);
    // Each region zeroed but for the regenerated chunks written at their starts.
    let mut chunks = rewrite.chunks.into_iter().peekable();
    for (lo, hi) in regions {
        let mut at = lo;
        while let Some(chunk) = chunks.next_if(|c| c.start < hi) {
            if chunk.start < at {
                return Err(Error::Overlap { at: chunk.start });
            }
            spans.push(Span {
                start: at,
                fill: Fill::Zeros(chunk.start - at),
            });
            at = chunk.start + chunk.bytes.len() as u64;
            spans.push(Span {
                start: chunk.start,
                fill: Fill::Bytes(chunk.bytes),
            });
        }
        spans.push(Span {
            start: at,
            fill: Fill::Zeros(hi.saturating_sub(at)),
        });
    }
    if rewrite.footer != footer_bytes {
        let old = location.len;
        let new = rewrite.footer.len() as u64;
        if new > old {
            return Err(Error::FooterGrew { old, new });
        }
        let mut bytes = rewrite.footer;
        bytes.extend_from_slice(&(new as u32).to_le_bytes());
        bytes.extend_from_slice(footer::MAGIC);
        spans.push(Span {
            start: location.start,
            fill: Fill::Zeros(old - new),
        });
        spans.push(Span {
            start: location.start + old - new,
            fill: Fill::Bytes(bytes),
        });
    }
    Overlay::new(object_size, spans).map_err(|overlap| Error::Overlap { at: overlap.at })
}

/// `mask` made ready for `column`: a constant parsed and PLAIN-encoded, `null` refused on a
/// REQUIRED column.
pub fn prepare(column: &Column, mask: &Mask) -> Result<Prepared, Error> {
    let invalid = |reason| Error::InvalidConstant {
        column: column.name.clone(),
        reason,
    };
    let value = match mask {
        Mask::Null => {
            if column.repetition == Repetition::Required {
                return Err(Error::NullOnRequired {
                    column: column.name.clone(),
                });
            }
            return Ok(Prepared::Null);
        }
        Mask::Constant(text) => Value::parse(text, column).map_err(invalid)?,
        Mask::Value(value) => {
            if !value.fits(column) {
                return Err(invalid("not a value of the column's physical type"));
            }
            value.clone()
        }
    };
    Ok(match value {
        Value::Boolean(b) => Prepared::Boolean(b),
        other => Prepared::Plain(other.plain()),
    })
}
