//! The streaming transform of one table object into its masked view (docs/tables.md, "The
//! transform"): the format's reader, the row filters, the column masks and the format's writer
//! composed, with the view's index built on the way. Pure: bytes in, bytes out; not wired into
//! the flow yet.
//!
//! Fail closed: any reader error, a masked or filtered CSV column the header does not name, a
//! non-UTF-8 CSV field in such a column, ends the transform with an error, and `feed` refuses
//! input after it. A JSON value under a masked path that is an object, an array or blocked (the
//! path cannot be followed into it) is masked whole as `null`: what the path names may be inside
//! it. A row filter that cannot evaluate a row (column missing, null, a container, blocked)
//! drops the row.

use std::fmt;
use std::ops::Range;

use super::csv::{self, CsvError};
use super::index::{Index, IndexBuilder, IndexError, FINGERPRINT_BYTES};
use super::jsonl::{self, JsonlError, Kind};
use super::mask::{CompiledMask, MaskKeys, Masked, Value};
use super::names;
use super::parquet::Error as ParquetError;
use super::spec::{RowFilter, SpecError, TableFormat, TableSpec};

/// Why a table object cannot be transformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableError {
    Spec(SpecError),
    Csv(CsvError),
    Jsonl(JsonlError),
    /// Masks or row filters on a CSV dialect without a header row: columns have no names.
    NoHeader,
    /// A masked or filtered column the CSV header row does not name.
    MissingColumn(String),
    /// A CSV header name that is not a masked or filtered column's but looks like it
    /// (`names::folded`): readers may take either for the column.
    LookalikeColumn(String),
    /// A CSV header name readers may not read as written: not UTF-8, or holding a `#` (a
    /// comment marker) or a control character (`names::unreadable`).
    AmbiguousHeader(String),
    /// A CSV record with more fields than the header names: readers disagree on which column
    /// each field is (pandas takes the extra leading ones as the index).
    TooManyFields {
        offset: u64,
        record: u64,
        fields: usize,
        names: usize,
    },
    /// A CSV record with fewer fields than the header names (a blank line aside): DuckDB's
    /// sniffer then tries other quotes and delimiters, and reads other records and names.
    TooFewFields {
        offset: u64,
        record: u64,
        fields: usize,
        names: usize,
    },
    /// A field of a masked or filtered CSV column that is not UTF-8.
    NotUtf8 {
        column: String,
        offset: u64,
        record: u64,
    },
    Index(IndexError),
    /// `feed` or `finish` after an error.
    Abandoned,
    /// A Parquet object that has no masked view (`tables::parquet::mask`).
    Parquet(ParquetError),
    /// A transform of a Parquet data source: its views are overlays, never streamed.
    NotStreamed,
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableError::Spec(e) => write!(f, "table spec: {e}"),
            TableError::Csv(e) => e.fmt(f),
            TableError::Jsonl(e) => e.fmt(f),
            TableError::NoHeader => f.write_str("masks or row filters need a CSV header row"),
            TableError::MissingColumn(c) => write!(f, "the CSV header has no column {c:?}"),
            TableError::LookalikeColumn(c) => {
                write!(
                    f,
                    "the CSV header has a column named like {c:?} but not {c:?}"
                )
            }
            TableError::AmbiguousHeader(c) => write!(
                f,
                "the CSV header name {c:?} is not UTF-8, or holds a comment marker or a control character"
            ),
            TableError::TooManyFields {
                offset,
                record,
                fields,
                names,
            } => write!(
                f,
                "CSV record {record} at byte {offset}: {fields} fields, the header names {names}"
            ),
            TableError::TooFewFields {
                offset,
                record,
                fields,
                names,
            } => write!(
                f,
                "CSV record {record} at byte {offset}: {fields} fields, the header names {names}"
            ),
            TableError::NotUtf8 {
                column,
                offset,
                record,
            } => write!(
                f,
                "CSV record {record} at byte {offset}: column {column:?} is not UTF-8"
            ),
            TableError::Index(e) => write!(f, "view index: {e:?}"),
            TableError::Abandoned => f.write_str("transform used after an error"),
            TableError::Parquet(e) => e.fmt(f),
            TableError::NotStreamed => {
                f.write_str("a Parquet data source is masked by an overlay, not a transform")
            }
        }
    }
}

impl std::error::Error for TableError {}

impl TableError {
    /// What a client may be told: the kind of fault, never a record number or offset (they
    /// count rows a row filter hides) nor a column name (the log has them).
    pub fn public_reason(&self) -> &'static str {
        match self {
            TableError::Csv(_)
            | TableError::NotUtf8 { .. }
            | TableError::TooManyFields { .. }
            | TableError::TooFewFields { .. } => "it is not valid CSV in the data source's dialect",
            TableError::Jsonl(_) => "it is not valid JSON Lines",
            TableError::NoHeader
            | TableError::MissingColumn(_)
            | TableError::LookalikeColumn(_)
            | TableError::AmbiguousHeader(_) => {
                "its CSV header does not name the columns its policy applies to unambiguously"
            }
            TableError::Parquet(e) => parquet_reason(e),
            TableError::Spec(_)
            | TableError::Index(_)
            | TableError::Abandoned
            | TableError::NotStreamed => "its policy cannot be applied to it",
        }
    }
}

/// What a client may be told of a Parquet object without a masked view: the kind of fault,
/// never a column name, row group or offset.
fn parquet_reason(e: &ParquetError) -> &'static str {
    match e {
        ParquetError::NotParquet(_) | ParquetError::Malformed { .. } => {
            "it is not a valid Parquet file"
        }
        ParquetError::Encrypted(_) => "it is an encrypted Parquet file",
        ParquetError::FooterTooLarge { .. } => "its Parquet footer is over the gateway's maximum",
        ParquetError::UnknownColumn { .. }
        | ParquetError::NestedColumn { .. }
        | ParquetError::RepeatedColumn { .. }
        | ParquetError::LookAlikeColumn { .. }
        | ParquetError::UnreadableColumnName { .. }
        | ParquetError::NullOnRequired { .. }
        | ParquetError::InvalidConstant { .. } => {
            "its Parquet schema does not take the masks its policy applies"
        }
        ParquetError::ChunkTooSmall { .. }
        | ParquetError::TooManyValues { .. }
        | ParquetError::ExternalChunk { .. }
        | ParquetError::UnsafeWriter(_)
        | ParquetError::BloomFilterLength { .. }
        | ParquetError::FooterGrew { .. }
        | ParquetError::Overlap { .. } => "its Parquet layout cannot be masked in place",
        ParquetError::NeedTail { .. } => "its policy cannot be applied to it",
    }
}

impl From<ParquetError> for TableError {
    fn from(e: ParquetError) -> Self {
        TableError::Parquet(e)
    }
}

impl From<CsvError> for TableError {
    fn from(e: CsvError) -> Self {
        TableError::Csv(e)
    }
}

impl From<JsonlError> for TableError {
    fn from(e: JsonlError) -> Self {
        TableError::Jsonl(e)
    }
}

/// What a whole pass learnt: the sizes of both streams and the view's index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub upstream_size: u64,
    pub view_size: u64,
    pub index: Index,
    /// A CSV header row's raw bytes (BOM and terminator included), empty for JSON Lines: a
    /// window not at 0 is transformed after them (`Transform::prime`), as they name the columns.
    pub header: Vec<u8>,
}

/// A masked or filtered column: its name (CSV header name or JSON dotted path) and, for CSV,
/// every field index the header gives it (a repeated header name is every one of them).
#[derive(Debug)]
struct Column {
    name: String,
    fields: Vec<usize>,
}

/// The masks and filters, with the columns they name; shared by both formats.
struct Rules {
    keys: MaskKeys,
    columns: Vec<Column>,
    /// (column, compiled mask); of two masks on one column the first counts.
    masks: Vec<(usize, CompiledMask)>,
    /// (column, filter).
    filters: Vec<(usize, RowFilter)>,
    /// Per column, its mask (index into `masks`), if any.
    mask_of: Vec<Option<usize>>,
}

impl Rules {
    fn new(spec: &TableSpec, keys: &MaskKeys) -> Result<Rules, TableError> {
        let mut columns: Vec<Column> = Vec::new();
        let mut column = |name: &str| -> usize {
            if let Some(i) = columns.iter().position(|c| c.name == name) {
                return i;
            }
            columns.push(Column {
                name: name.to_owned(),
                fields: Vec::new(),
            });
            columns.len() - 1
        };
        let mut masks = Vec::new();
        for (i, m) in spec.masks.iter().enumerate() {
            let compiled = m
                .mask
                .compile()
                .map_err(|e| TableError::Spec(SpecError::Mask(i, e)))?;
            masks.push((column(&m.column), compiled));
        }
        let filters: Vec<(usize, RowFilter)> = spec
            .row_filters
            .iter()
            .map(|f| (column(&f.column), f.clone()))
            .collect();
        let mut mask_of = vec![None; columns.len()];
        for (i, (c, _)) in masks.iter().enumerate() {
            if let Some(slot @ None) = mask_of.get_mut(*c) {
                *slot = Some(i);
            }
        }
        Ok(Rules {
            keys: keys.clone(),
            columns,
            masks,
            filters,
            mask_of,
        })
    }

    fn mask(&self, column: usize) -> Option<&CompiledMask> {
        let m = (*self.mask_of.get(column)?)?;
        self.masks.get(m).map(|(_, mask)| mask)
    }

    fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }
}

/// Appends a masked value as CSV field text (the writer quotes it as needed); null is empty.
fn render_csv(masked: &Masked<'_>, out: &mut Vec<u8>) {
    match masked {
        Masked::Str(s) | Masked::Number(s) => out.extend_from_slice(s.as_bytes()),
        Masked::Null => {}
    }
}

/// Appends a masked value as JSON text: a string literal escaped by serde_json, a number's
/// literal, `null`.
fn render_json(masked: &Masked<'_>, out: &mut Vec<u8>) {
    match masked {
        Masked::Str(s) => {
            if serde_json::to_writer(&mut *out, s.as_ref()).is_err() {
                // Writing a str to a Vec cannot fail; were it to, null hides the value.
                out.extend_from_slice(b"null");
            }
        }
        Masked::Number(n) => out.extend_from_slice(n.as_bytes()),
        Masked::Null => out.extend_from_slice(b"null"),
    }
}

/// A record that is an empty line: readers skip it.
fn is_blank(record: &csv::Record<'_>) -> bool {
    record.fields().len() == 1 && record.bytes().iter().all(|&b| b == b'\r' || b == b'\n')
}

/// The per-stream state the record callbacks update (apart from the reader, so that the reader
/// can be borrowed while they run).
struct State {
    rules: Rules,
    builder: IndexBuilder,
    view_size: u64,
    /// Reused buffers: one field's unescaped value, and the rendered replacements of a record.
    value: Vec<u8>,
    rendered: Vec<u8>,
    spans: Vec<(usize, Range<usize>)>,
    /// Per filter: whether a JSON record located its column.
    seen: Vec<bool>,
    /// The CSV header row as read, and how many names it has.
    header: Vec<u8>,
    header_fields: usize,
    /// The last upstream bytes read: what a checkpoint's fingerprint covers.
    tail: Tail,
}

/// The last `FINGERPRINT_BYTES` (or fewer, at the start) bytes of a stream.
struct Tail {
    bytes: [u8; FINGERPRINT_BYTES],
    len: usize,
}

impl Tail {
    fn push(&mut self, more: &[u8]) {
        if let Some(last) = more.last_chunk::<FINGERPRINT_BYTES>() {
            self.bytes = *last;
            self.len = FINGERPRINT_BYTES;
            return;
        }
        // `more` is shorter than the tail: keep what of the old tail still fits before it.
        let keep = (FINGERPRINT_BYTES - more.len()).min(self.len);
        self.bytes.copy_within(self.len - keep..self.len, 0);
        if let Some(room) = self.bytes.get_mut(keep..keep + more.len()) {
            room.copy_from_slice(more);
        }
        self.len = keep + more.len();
    }

    fn bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

enum Reader {
    // Boxed: its byte-class tables make it much larger than the JSON reader.
    Csv(Box<csv::Reader>),
    Jsonl(jsonl::Reader),
}

/// The transform of one object: `feed` it the object's bytes in any chunks, then `finish`.
pub struct Transform {
    reader: Reader,
    state: State,
    upstream_size: u64,
    failed: bool,
}

impl Transform {
    /// `max_record`: the longest record accepted (bytes); `checkpoint_spacing`: about how many
    /// view bytes between the index's checkpoints.
    pub fn new(
        spec: &TableSpec,
        keys: &MaskKeys,
        max_record: usize,
        checkpoint_spacing: u64,
    ) -> Result<Transform, TableError> {
        spec.validate().map_err(TableError::Spec)?;
        let rules = Rules::new(spec, keys)?;
        let reader = match &spec.format {
            TableFormat::Csv(d) => {
                let dialect = d
                    .dialect()
                    .map_err(|e| TableError::Spec(SpecError::Dialect(e)))?;
                if !dialect.header && !rules.is_empty() {
                    return Err(TableError::NoHeader);
                }
                Reader::Csv(Box::new(csv::Reader::new(dialect, max_record)?))
            }
            TableFormat::Parquet {} => return Err(TableError::NotStreamed),
            TableFormat::Jsonl {} => {
                let paths: Vec<&str> = rules.columns.iter().map(|c| c.name.as_str()).collect();
                Reader::Jsonl(jsonl::Reader::new(&paths, max_record)?)
            }
        };
        let filters = rules.filters.len();
        Ok(Transform {
            reader,
            state: State {
                rules,
                builder: IndexBuilder::new(checkpoint_spacing),
                view_size: 0,
                value: Vec::new(),
                rendered: Vec::new(),
                spans: Vec::new(),
                seen: vec![false; filters],
                header: Vec::new(),
                header_fields: 0,
                tail: Tail {
                    bytes: [0; FINGERPRINT_BYTES],
                    len: 0,
                },
            },
            upstream_size: 0,
            failed: false,
        })
    }

    /// Reads `header` (the object's CSV header row, `Summary::header`) without output, so that
    /// what is fed next is read as the records of a window after it.
    pub fn prime(&mut self, header: &[u8]) -> Result<(), TableError> {
        let mut dropped = Vec::new();
        self.feed(header, &mut dropped)
    }

    /// Transforms the next bytes of the object, appending the view bytes of every record they
    /// complete to `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), TableError> {
        if self.failed {
            return Err(TableError::Abandoned);
        }
        self.upstream_size += chunk.len() as u64;
        let state = &mut self.state;
        let result = match &mut self.reader {
            Reader::Csv(r) => r.feed(chunk, |rec: &csv::Record<'_>| state.csv(rec, out)),
            Reader::Jsonl(r) => r.feed(chunk, |rec: &jsonl::Record<'_>| state.jsonl(rec, out)),
        };
        self.failed = result.is_err();
        result
    }

    /// Ends the object: its last record (if unterminated) goes to `out`; the sizes and index.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<Summary, TableError> {
        if self.failed {
            return Err(TableError::Abandoned);
        }
        let state = &mut self.state;
        match &mut self.reader {
            Reader::Csv(r) => r.finish(|rec: &csv::Record<'_>| state.csv(rec, out))?,
            Reader::Jsonl(r) => r.finish(|rec: &jsonl::Record<'_>| state.jsonl(rec, out))?,
        }
        let view_size = self.state.view_size;
        let index = self
            .state
            .builder
            .finish(self.upstream_size, view_size)
            .map_err(TableError::Index)?;
        Ok(Summary {
            upstream_size: self.upstream_size,
            view_size,
            index,
            header: std::mem::take(&mut self.state.header),
        })
    }
}

impl State {
    /// Calls `write` with the rendered replacements of the current record, as the writers take
    /// them; on the stack for up to 8 (no allocation per record in the common case).
    fn with_replacements<R>(&self, write: impl FnOnce(&[(usize, &[u8])]) -> R) -> R {
        const ON_STACK: usize = 8;
        let pair =
            |(i, r): &(usize, Range<usize>)| (*i, self.rendered.get(r.clone()).unwrap_or_default());
        if self.spans.len() <= ON_STACK {
            let mut pairs: [(usize, &[u8]); ON_STACK] = [(0, &[]); ON_STACK];
            for (slot, span) in pairs.iter_mut().zip(&self.spans) {
                *slot = pair(span);
            }
            write(pairs.get(..self.spans.len()).unwrap_or_default())
        } else {
            let pairs: Vec<(usize, &[u8])> = self.spans.iter().map(pair).collect();
            write(&pairs)
        }
    }

    fn emit(&mut self, start: usize, out: &[u8]) {
        self.view_size += (out.len() - start) as u64;
    }

    fn csv(&mut self, record: &csv::Record<'_>, out: &mut Vec<u8>) -> Result<(), TableError> {
        self.builder
            .record_starts(record.offset(), self.view_size, self.tail.bytes());
        self.tail.push(record.bytes());
        let start = out.len();
        if record.is_header() {
            self.resolve_header(record)?;
            self.header.clear();
            self.header.extend_from_slice(record.bytes());
            self.header_fields = record.fields().len();
            out.extend_from_slice(record.bytes());
            self.emit(start, out);
            return Ok(());
        }
        if self.rules.is_empty() {
            out.extend_from_slice(record.bytes());
            self.emit(start, out);
            return Ok(());
        }
        if record.fields().len() > self.header_fields {
            return Err(TableError::TooManyFields {
                offset: record.offset(),
                record: record.index(),
                fields: record.fields().len(),
                names: self.header_fields,
            });
        }
        if record.fields().len() < self.header_fields && !is_blank(record) {
            return Err(TableError::TooFewFields {
                offset: record.offset(),
                record: record.index(),
                fields: record.fields().len(),
                names: self.header_fields,
            });
        }
        for (c, filter) in &self.rules.filters {
            let Some(column) = self.rules.columns.get(*c) else {
                return Ok(());
            };
            // Every field of the column must keep the row; a missing field drops it.
            for &i in &column.fields {
                self.value.clear();
                let keeps = if record.value_into(i, &mut self.value) {
                    let text = utf8(&self.value, column, record)?;
                    filter.keeps(Some(&Value::Str(text)))
                } else {
                    filter.keeps(None)
                };
                if !keeps {
                    return Ok(());
                }
            }
        }
        self.rendered.clear();
        self.spans.clear();
        for (c, column) in self.rules.columns.iter().enumerate() {
            let Some(mask) = self.rules.mask(c) else {
                continue;
            };
            for &i in &column.fields {
                self.value.clear();
                if !record.value_into(i, &mut self.value) {
                    continue;
                }
                let text = utf8(&self.value, column, record)?;
                let from = self.rendered.len();
                render_csv(
                    &mask.apply(&self.rules.keys, Value::Str(text)),
                    &mut self.rendered,
                );
                self.spans.push((i, from..self.rendered.len()));
            }
        }
        self.with_replacements(|r| csv::write_record(record, r, out))?;
        self.emit(start, out);
        Ok(())
    }

    fn resolve_header(&mut self, header: &csv::Record<'_>) -> Result<(), TableError> {
        let mut names: Vec<Option<String>> = Vec::with_capacity(header.fields().len());
        for i in 0..header.fields().len() {
            let Some(raw) = header.value(i) else {
                names.push(None);
                continue;
            };
            let Ok(name) = String::from_utf8(raw.into_owned()) else {
                // Decoded leniently (or as Latin-1) it may be any name.
                let lossy =
                    String::from_utf8_lossy(&header.value(i).unwrap_or_default()).into_owned();
                return Err(TableError::AmbiguousHeader(lossy));
            };
            // pandas' `comment="#"` cuts the header at a `#`, and the names that remain label
            // other columns; control characters hide or reorder what a name shows.
            if name.contains('#') || names::unreadable(&name).is_some() {
                return Err(TableError::AmbiguousHeader(name));
            }
            names.push(Some(name));
        }
        let folded: Vec<Option<String>> = names
            .iter()
            .map(|n| n.as_deref().map(names::folded))
            .collect();
        for column in &mut self.rules.columns {
            column.fields.clear();
            let wanted = names::folded(&column.name);
            for (i, (name, fold)) in names.iter().zip(&folded).enumerate() {
                let Some(name) = name.as_deref() else {
                    continue;
                };
                if name == column.name {
                    column.fields.push(i);
                } else if fold.as_deref() == Some(wanted.as_str())
                    || names::names_in_other_dialects(name, &wanted)
                {
                    return Err(TableError::LookalikeColumn(column.name.clone()));
                }
            }
            if column.fields.is_empty() {
                return Err(TableError::MissingColumn(column.name.clone()));
            }
        }
        Ok(())
    }

    fn jsonl(&mut self, record: &jsonl::Record<'_>, out: &mut Vec<u8>) -> Result<(), TableError> {
        self.builder
            .record_starts(record.offset(), self.view_size, self.tail.bytes());
        self.tail.push(record.bytes());
        let start = out.len();
        if self.rules.is_empty() {
            out.extend_from_slice(record.bytes());
            self.emit(start, out);
            return Ok(());
        }
        if !self.rules.filters.is_empty() {
            self.seen.iter_mut().for_each(|s| *s = false);
            for (i, located) in record.located().iter().enumerate() {
                for (f, (c, filter)) in self.rules.filters.iter().enumerate() {
                    if *c != located.path {
                        continue;
                    }
                    if let Some(s) = self.seen.get_mut(f) {
                        *s = true;
                    }
                    let string = record.string(i)?;
                    let value = json_value(record, i, located, string.as_deref());
                    // Every occurrence must keep the row.
                    if !filter.keeps(value.as_ref()) {
                        return Ok(());
                    }
                }
            }
            if self.seen.iter().any(|s| !s) {
                return Ok(());
            }
        }
        self.rendered.clear();
        self.spans.clear();
        for (i, located) in record.located().iter().enumerate() {
            let Some(mask) = self.rules.mask(located.path) else {
                continue;
            };
            let from = self.rendered.len();
            let string = record.string(i)?;
            match json_value(record, i, located, string.as_deref()) {
                Some(value) => {
                    render_json(&mask.apply(&self.rules.keys, value), &mut self.rendered)
                }
                // A container or a blocked value may hold what the path names: null, whole.
                None => render_json(&Masked::Null, &mut self.rendered),
            }
            self.spans.push((i, from..self.rendered.len()));
        }
        self.with_replacements(|r| jsonl::write_record(record, r, out))?;
        self.emit(start, out);
        Ok(())
    }
}

/// A CSV field's text, or the error naming its column.
fn utf8<'v>(
    value: &'v [u8],
    column: &Column,
    record: &csv::Record<'_>,
) -> Result<&'v str, TableError> {
    std::str::from_utf8(value).map_err(|_| TableError::NotUtf8 {
        column: column.name.clone(),
        offset: record.offset(),
        record: record.index(),
    })
}

/// The value a located JSON value gives masks and filters; `None` for an object, an array or a
/// blocked value (nothing a scalar mask or a comparison can read).
fn json_value<'v>(
    record: &jsonl::Record<'v>,
    i: usize,
    located: &jsonl::Located,
    string: Option<&'v str>,
) -> Option<Value<'v>> {
    if located.blocked {
        return None;
    }
    match located.kind {
        Kind::String => string.map(Value::Str),
        Kind::Number => record.raw(i).map(Value::Number),
        Kind::Bool => Some(Value::Bool(record.raw(i) == Some("true"))),
        Kind::Null => Some(Value::Null),
        Kind::Object | Kind::Array => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> MaskKeys {
        MaskKeys::new(&[7u8; 32]).unwrap()
    }

    fn spec(json: &str) -> TableSpec {
        serde_json::from_str(json).unwrap()
    }

    fn run(spec: &TableSpec, input: &[u8]) -> Result<(Vec<u8>, Summary), TableError> {
        let mut t = Transform::new(spec, &keys(), 1 << 20, 16)?;
        let mut out = Vec::new();
        t.feed(input, &mut out)?;
        let summary = t.finish(&mut out)?;
        Ok((out, summary))
    }

    fn hash(text: &str) -> String {
        let mask = crate::tables::spec::Mask::Hash {}.compile().unwrap();
        match mask.apply(&keys(), Value::Str(text)) {
            Masked::Str(s) => s.into_owned(),
            other => panic!("{other:?}"),
        }
    }

    const ERIN: &str = r#"{"format":{"kind":"csv"},
        "masks":[{"column":"ssn","mask":{"kind":"null"}},{"column":"email","mask":{"kind":"hash"}}],
        "row_filters":[{"column":"region","op":"in","values":["eu"]}]}"#;

    #[test]
    fn a_record_longer_than_the_header_is_refused_where_readers_disagree_on_its_columns() {
        // pandas reads the extra leading field as the index and shifts every name right:
        // the field the gateway hashes would be "order_id" to it, the email served in clear.
        let input = "order_id,email,product\n0,O1,pia@example.com,widget\n";
        let err = run(&spec(ERIN_LIKE_ORDERS), input.as_bytes()).unwrap_err();
        assert_eq!(
            err,
            TableError::TooManyFields {
                offset: 23,
                record: 1,
                fields: 4,
                names: 3
            }
        );
        assert!(!err.public_reason().contains("record"));
        // Shorter records too: DuckDB's sniffer then reads the object in another dialect.
        let err = run(&spec(ERIN_LIKE_ORDERS), b"order_id,email,product\n0\n").unwrap_err();
        assert!(matches!(
            err,
            TableError::TooFewFields {
                fields: 1,
                names: 3,
                ..
            }
        ));
        // A blank line is no record to readers.
        let (out, _) = run(&spec(ERIN_LIKE_ORDERS), b"order_id,email,product\n\n").unwrap();
        assert_eq!(out, b"order_id,email,product\n\n");
        // Without masks or filters the object is served as it is stored.
        let clear = spec(r#"{"format":{"kind":"csv"}}"#);
        assert!(run(&clear, input.as_bytes()).is_ok());
    }

    const ERIN_LIKE_ORDERS: &str = r#"{"format":{"kind":"csv"},
        "masks":[{"column":"email","mask":{"kind":"hash"}}]}"#;

    #[test]
    fn a_header_name_like_a_masked_column_but_not_it_is_refused() {
        for header in [
            "id,email,Email",
            "id,email, email",
            "id,email,\u{feff}email",
            "id,EMAIL ,email",
            "id,e\u{200b}mail,email",
            "id,Email",
            "id,email,ｅｍａｉｌ",
            "id,email,\u{1d41e}\u{1d426}\u{1d41a}\u{1d422}\u{1d425}",
            "id,email,e\u{301}mail",
            "id,email,\u{435}mail",
            "id,email,em\u{34f}ail",
            "id,email,email\u{e0041}",
            "id,email,email\u{3164}",
            "id,email,e-mail",
            "x;email,id,email",
            "x|y|email|q,id,email",
        ] {
            let input = format!("{header}\n1,a@x,b@y\n");
            let err = run(&spec(ERIN_LIKE_ORDERS), input.as_bytes()).unwrap_err();
            assert_eq!(err, TableError::LookalikeColumn("email".into()), "{header}");
        }
        let (out, _) = run(&spec(ERIN_LIKE_ORDERS), b"id,email,emails\n1,a@x,b\n").unwrap();
        assert!(out.ends_with(b",b\n") && !out.windows(3).any(|w| w == b"a@x"));
    }

    #[test]
    fn a_header_a_reader_may_cut_or_reorder_is_refused() {
        for header in [
            "#id,x,email",
            "id,email,order#",
            "id,email,\u{202e}liame",
            "id,email,email\u{0}",
            "id,email,email\u{7f}",
            "id,email,\"zz\remail\"",
        ] {
            let input = format!("{header}\n1,a@x,b@y\n");
            let err = run(&spec(ERIN_LIKE_ORDERS), input.as_bytes()).unwrap_err();
            assert!(
                matches!(err, TableError::AmbiguousHeader(_)),
                "{header}: {err}"
            );
        }
    }

    #[test]
    fn erin_sees_eu_rows_with_ssn_null_and_email_hashed() {
        let input = "id,email,ssn,region\n\
                     1,a@x.eu,123-45-6789,eu\n\
                     2,b@x.us,987-65-4321,us\n\
                     3,\"c,@x.eu\",111-22-3333,eu\n\
                     4,d@x.eu,,EU\n";
        let (out, summary) = run(&spec(ERIN), input.as_bytes()).unwrap();
        let expected = format!(
            "id,email,ssn,region\n1,{},,eu\n3,{},,eu\n",
            hash("a@x.eu"),
            hash("c,@x.eu")
        );
        assert_eq!(String::from_utf8(out).unwrap(), expected);
        assert_eq!(summary.upstream_size, input.len() as u64);
        assert_eq!(summary.view_size, expected.len() as u64);
    }

    #[test]
    fn a_header_only_csv_is_its_header() {
        for input in ["id,email,ssn,region\n", "id,email,ssn,region"] {
            let (out, summary) = run(&spec(ERIN), input.as_bytes()).unwrap();
            assert_eq!(out, input.as_bytes());
            assert_eq!(summary.view_size, input.len() as u64);
        }
    }

    #[test]
    fn a_masked_or_filtered_column_missing_from_the_header_is_an_error() {
        let err = run(&spec(ERIN), b"id,email,ssn\n1,a,b\n").unwrap_err();
        assert_eq!(err, TableError::MissingColumn("region".into()));
        let no_header = spec(
            r#"{"format":{"kind":"csv","header":false},
                "masks":[{"column":"a","mask":{"kind":"null"}}]}"#,
        );
        assert!(matches!(
            Transform::new(&no_header, &keys(), 100, 16),
            Err(TableError::NoHeader)
        ));
    }

    #[test]
    fn a_non_utf8_masked_field_is_an_error_and_the_transform_refuses_more() {
        let mut t = Transform::new(&spec(ERIN), &keys(), 1 << 20, 16).unwrap();
        let mut out = Vec::new();
        let err = t.feed(b"id,email,ssn,region\n1,\xff,1,eu\n", &mut out);
        assert!(matches!(err, Err(TableError::NotUtf8 { .. })), "{err:?}");
        assert_eq!(t.feed(b"2,a,b,eu\n", &mut out), Err(TableError::Abandoned));
        assert!(t.finish(&mut out).is_err());
        // A parse error too.
        let err = run(&spec(ERIN), b"id,email,ssn,region\n1,a\"b,1,eu\n").unwrap_err();
        assert!(matches!(err, TableError::Csv(_)), "{err:?}");
    }

    #[test]
    fn no_masks_and_no_filters_is_byte_identical() {
        let csv_input = b"\xef\xbb\xbfa,b\r\n\"x\"\"y\",2\n\n3,4";
        let (out, _) = run(&spec(r#"{"format":{"kind":"csv"}}"#), csv_input).unwrap();
        assert_eq!(out, csv_input);
        let jsonl_input = b"{\"a\": 1}\r\n\n{\"b\":\"\\u00e9\"}";
        let (out, _) = run(&spec(r#"{"format":{"kind":"jsonl"}}"#), jsonl_input).unwrap();
        assert_eq!(out, jsonl_input);
    }

    #[test]
    fn jsonl_masks_every_occurrence_and_keeps_types() {
        let s = spec(
            r#"{"format":{"kind":"jsonl"},
                "masks":[{"column":"ssn","mask":{"kind":"null"}},
                         {"column":"address.city","mask":{"kind":"hash"}},
                         {"column":"n","mask":{"kind":"round","to":0}},
                         {"column":"tags","mask":{"kind":"constant","value":"x\"y"}}],
                "row_filters":[{"column":"region","op":"eq","values":["eu"]}]}"#,
        );
        let input = concat!(
            "{\"ssn\":\"1\",\"ssn\":\"2\",\"address\":{\"city\":\"Paris\"},\"address\":{\"city\":\"Rome\"},\"n\":2.6,\"tags\":\"a\",\"region\":\"eu\"}\n",
            "{\"ssn\":\"3\",\"region\":\"us\"}\n",
            "{\"ssn\":{\"deep\":\"4\"},\"address\":[{\"city\":\"Oslo\"}],\"tags\":[1],\"region\":\"eu\"}\n",
            "{\"ssn\":\"5\",\"region\":\"eu\",\"region\":\"us\"}\n",
            "{\"ssn\":\"6\"}\n",
        );
        let (out, _) = run(&s, input.as_bytes()).unwrap();
        let expected = format!(
            "{{\"ssn\":null,\"ssn\":null,\"address\":{{\"city\":\"{}\"}},\"address\":{{\"city\":\"{}\"}},\"n\":3,\"tags\":\"x\\\"y\",\"region\":\"eu\"}}\n\
             {{\"ssn\":null,\"address\":null,\"tags\":null,\"region\":\"eu\"}}\n",
            hash("Paris"),
            hash("Rome")
        );
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn more_replacements_than_fit_on_the_stack() {
        let s = spec(
            r#"{"format":{"kind":"jsonl"},"masks":[{"column":"ssn","mask":{"kind":"null"}}]}"#,
        );
        let line = |v: &str| format!("{{{}}}\n", vec![format!("\"ssn\":{v}"); 12].join(","));
        let (out, _) = run(&s, line("\"1\"").as_bytes()).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), line("null"));
    }

    #[test]
    fn checkpoints_lie_at_record_starts() {
        let mut input = String::from("id,email,ssn,region\n");
        for i in 0..50 {
            let region = if i % 3 == 0 { "us" } else { "eu" };
            input.push_str(&format!("{i},u{i}@x,{i:09},{region}\n"));
        }
        let (out, summary) = run(&spec(ERIN), input.as_bytes()).unwrap();
        let checkpoints = summary.index.checkpoints();
        assert!(checkpoints.len() > 5);
        for c in checkpoints {
            let up = c.upstream_offset as usize;
            let view = c.view_offset as usize;
            assert!(up == 0 || input.as_bytes()[up - 1] == b'\n', "{c:?}");
            let before = &input.as_bytes()[up.saturating_sub(FINGERPRINT_BYTES)..up];
            assert_eq!(c.before, crate::tables::index::fingerprint(before), "{c:?}");
            assert!(
                view == 0 || view == out.len() || out[view - 1] == b'\n',
                "{c:?}"
            );
        }
    }
}
