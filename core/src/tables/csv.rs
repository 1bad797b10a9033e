//! CSV records in the data path: a streaming reader and the writer that re-emits a record with
//! some fields replaced (docs/tables.md, "The CSV reader").
//!
//! The reader is fed the object in whatever chunks the host delivers and hands over each complete
//! record as its raw bytes plus each field's span within them, so that a writer can copy every
//! byte it does not replace: a record re-emitted without replacements is byte-identical to the
//! input. It buffers only the unfinished record, so memory is O(chunk + longest record), and a
//! record over the configured maximum is an error.
//!
//! Strict where readers disagree: the gateway masks what it parses, so input that another parser
//! (pandas, DuckDB, Python's `csv`) could split into different fields is an error, never a guess.
//! Refused: a quote or escape character inside an unquoted field, text after a closing quote, a
//! carriage return not followed by a line feed (outside quotes), a quoted field still open at
//! the end. Accepted: LF and CRLF terminators, mixed; delimiters, quotes (doubled or escaped),
//! CR and LF inside quoted fields; empty fields; a last record without terminator; a UTF-8 BOM at
//! the start, which belongs to the first record's bytes (its prefix) but not to its first field.
//! A blank line is a record of one empty field (as CSV cannot tell it from one empty value).

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// The UTF-8 byte order mark some writers (Excel) put at the start of a file.
pub const BOM: &[u8; 3] = b"\xef\xbb\xbf";

/// How a table's records are written: the data source's CSV options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    /// The field separator (ASCII, not CR or LF).
    pub delimiter: u8,
    /// The quote character (ASCII).
    pub quote: u8,
    /// `None`: a quote inside a quoted field is doubled (`""`, RFC 4180). `Some(e)`: it is
    /// written `e"`, and the escape character itself `ee`; `e` is allowed only inside quotes.
    pub escape: Option<u8>,
    /// The first record names the columns.
    pub header: bool,
    /// What the gateway writes when it ends a record it writes anew; reading accepts both.
    pub terminator: Terminator,
}

impl Default for Dialect {
    /// RFC 4180 with a header row, LF-terminated.
    fn default() -> Self {
        Dialect {
            delimiter: b',',
            quote: b'"',
            escape: None,
            header: true,
            terminator: Terminator::Lf,
        }
    }
}

impl Dialect {
    /// The characters must be ASCII (a UTF-8 continuation byte must never end a field), distinct,
    /// and not CR or LF (they end records).
    pub fn validate(&self) -> Result<(), &'static str> {
        let specials = [Some(self.delimiter), Some(self.quote), self.escape];
        for c in specials.iter().flatten() {
            if !c.is_ascii() {
                return Err("delimiter, quote and escape must be ASCII characters");
            }
            if *c == b'\r' || *c == b'\n' {
                return Err("delimiter, quote and escape cannot be CR or LF");
            }
        }
        if self.delimiter == self.quote || Some(self.delimiter) == self.escape {
            return Err("the delimiter must differ from the quote and escape characters");
        }
        if self.escape == Some(self.quote) {
            // Doubled quotes are `escape: None`; one spelling of each dialect.
            return Err("an escape equal to the quote is written as doubled quotes (no escape)");
        }
        Ok(())
    }
}

/// A record terminator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminator {
    Lf,
    CrLf,
}

impl Terminator {
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Terminator::Lf => b"\n",
            Terminator::CrLf => b"\r\n",
        }
    }
}

/// Why a table could not be read or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvError {
    pub kind: CsvErrorKind,
    /// The stream offset of the byte at fault (for a record too long: where it began).
    pub offset: u64,
    /// The number of the record (0 = the first, the header if there is one).
    pub record: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvErrorKind {
    InvalidDialect(&'static str),
    RecordTooLong {
        max: usize,
    },
    QuoteInUnquotedField,
    EscapeOutsideQuotes,
    TextAfterClosingQuote,
    BareCarriageReturn,
    UnterminatedQuote,
    /// A replacement for a field the record does not have.
    NoSuchField(usize),
    /// The reader was used after an error (its own or its consumer's) or after `finish`.
    Abandoned,
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason: Cow<'static, str> = match self.kind {
            CsvErrorKind::InvalidDialect(why) => why.into(),
            CsvErrorKind::RecordTooLong { max } => {
                format!("record longer than the maximum of {max} bytes").into()
            }
            CsvErrorKind::QuoteInUnquotedField => "quote character inside an unquoted field".into(),
            CsvErrorKind::EscapeOutsideQuotes => "escape character outside a quoted field".into(),
            CsvErrorKind::TextAfterClosingQuote => "text after the closing quote of a field".into(),
            CsvErrorKind::BareCarriageReturn => "carriage return not followed by line feed".into(),
            CsvErrorKind::UnterminatedQuote => "quoted field not closed at the end".into(),
            CsvErrorKind::NoSuchField(i) => format!("no field {i} to replace").into(),
            CsvErrorKind::Abandoned => "reader used after an error or after the end".into(),
        };
        write!(
            f,
            "CSV record {} at byte {}: {reason}",
            self.record, self.offset
        )
    }
}

impl std::error::Error for CsvError {}

/// One field's place in its record's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    start: usize,
    end: usize,
    quoted: bool,
    escaped: bool,
}

impl Field {
    /// The raw bytes of the field within the record, quotes included.
    pub fn span(&self) -> Range<usize> {
        self.start..self.end
    }

    pub fn is_quoted(&self) -> bool {
        self.quoted
    }

    /// The quoted field contains a doubled or escaped character (its value is not its inner
    /// bytes as they are).
    pub fn has_escapes(&self) -> bool {
        self.escaped
    }
}

/// A complete record as the reader hands it over; borrowed until the callback returns.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    bytes: &'a [u8],
    fields: &'a [Field],
    offset: u64,
    index: u64,
    dialect: &'a Dialect,
}

impl<'a> Record<'a> {
    /// The record's raw bytes: a BOM (first record only), the fields and separators, the
    /// terminator (none for a last record without one).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The stream offset of the record's first byte.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The record's number, from 0.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The dialect has a header row and this is it.
    pub fn is_header(&self) -> bool {
        self.dialect.header && self.index == 0
    }

    pub fn fields(&self) -> &'a [Field] {
        self.fields
    }

    /// The bytes before the first field: the BOM of the first record, else empty.
    pub fn prefix(&self) -> &'a [u8] {
        let start = self.fields.first().map_or(0, |f| f.start);
        self.bytes.get(..start).unwrap_or_default()
    }

    /// The bytes after the last field: CRLF, LF or nothing.
    pub fn terminator(&self) -> &'a [u8] {
        let end = self.fields.last().map_or(0, |f| f.end);
        self.bytes.get(end..).unwrap_or_default()
    }

    /// A line with nothing on it (one empty unquoted field).
    pub fn is_blank(&self) -> bool {
        matches!(self.fields, [only] if only.start == only.end)
    }

    /// Field `i`'s raw bytes, quotes included.
    pub fn raw(&self, i: usize) -> Option<&'a [u8]> {
        let f = self.fields.get(i)?;
        self.bytes.get(f.span())
    }

    /// Field `i`'s value: borrowed unless it has escapes.
    pub fn value(&self, i: usize) -> Option<Cow<'a, [u8]>> {
        let f = self.fields.get(i)?;
        let inner = self.inner(f)?;
        if !f.escaped {
            return Some(Cow::Borrowed(inner));
        }
        let mut out = Vec::with_capacity(inner.len());
        self.unescape(inner, &mut out);
        Some(Cow::Owned(out))
    }

    /// Appends field `i`'s value to `out` (for a caller reusing one buffer); false if there is no
    /// such field.
    pub fn value_into(&self, i: usize, out: &mut Vec<u8>) -> bool {
        let Some(f) = self.fields.get(i) else {
            return false;
        };
        let Some(inner) = self.inner(f) else {
            return false;
        };
        if f.escaped {
            self.unescape(inner, out);
        } else {
            out.extend_from_slice(inner);
        }
        true
    }

    /// The field's bytes without its quotes.
    fn inner(&self, f: &Field) -> Option<&'a [u8]> {
        let raw = self.bytes.get(f.span())?;
        if f.quoted {
            raw.get(1..raw.len().saturating_sub(1))
        } else {
            Some(raw)
        }
    }

    /// The reader accepted only well-formed escapes: each escape (or the first of two quotes)
    /// stands for the byte after it.
    fn unescape(&self, inner: &[u8], out: &mut Vec<u8>) {
        let mark = self.dialect.escape.unwrap_or(self.dialect.quote);
        let mut bytes = inner.iter();
        while let Some(&b) = bytes.next() {
            if b == mark {
                if let Some(&next) = bytes.next() {
                    out.push(next);
                }
            } else {
                out.push(b);
            }
        }
    }
}

/// Where the tokenizer is, between any two bytes of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a field (of the record, or after a delimiter).
    StartField,
    Unquoted,
    Quoted,
    /// After the escape character inside quotes.
    Escape,
    /// After a quote inside a quoted field: the closing one, or the first of two.
    AfterQuote,
    /// After a CR outside quotes: only LF may follow.
    AfterCr,
}

// Byte classes: what a byte means to the tokenizer.
const ORDINARY: u8 = 0;
const DELIMITER: u8 = 1;
const QUOTE: u8 = 2;
const ESCAPE: u8 = 3;
const CR: u8 = 4;
const LF: u8 = 5;

/// A byte's class in `table` (a `[u8; 256]` indexed by a byte is always in bounds).
#[inline(always)]
fn class(table: &[u8; 256], b: u8) -> u8 {
    table.get(usize::from(b)).copied().unwrap_or(ORDINARY)
}

/// The index of the first byte at or after `from` whose class in `table` is not ordinary, or
/// `bytes.len()`: the hot loop over a field's plain bytes.
#[inline(always)]
fn skip(table: &[u8; 256], bytes: &[u8], from: usize) -> usize {
    match bytes.get(from..) {
        Some(rest) => {
            from + rest
                .iter()
                .position(|&b| class(table, b) != ORDINARY)
                .unwrap_or(rest.len())
        }
        None => bytes.len(),
    }
}

/// A streaming CSV reader: `feed` it chunks, then `finish`; each complete record goes to the
/// callback. After an error (the reader's or the callback's), or after `finish`, every later call
/// fails.
#[derive(Debug)]
pub struct Reader {
    dialect: Dialect,
    max_record: usize,
    /// Byte classes outside quotes and inside them (where only quote and escape mean something).
    unquoted: [u8; 256],
    quoted: [u8; 256],
    state: State,
    /// The bytes of the unfinished record (all of it lies before the current chunk).
    pending: Vec<u8>,
    /// The finished fields of the current record.
    fields: Vec<Field>,
    /// The current field's start within the record, and whether it has escapes.
    field_start: usize,
    field_escaped: bool,
    /// The stream offset and number of the current record.
    offset: u64,
    index: u64,
    /// How many bytes of the BOM the stream began with, while that is still undecided.
    bom_matched: usize,
    bom_open: bool,
    failed: bool,
}

impl Reader {
    /// `max_record`: the longest record (bytes, BOM and terminator included) accepted.
    pub fn new(dialect: Dialect, max_record: usize) -> Result<Reader, CsvError> {
        dialect.validate().map_err(|why| CsvError {
            kind: CsvErrorKind::InvalidDialect(why),
            offset: 0,
            record: 0,
        })?;
        let mut unquoted = [ORDINARY; 256];
        let mut quoted = [ORDINARY; 256];
        let set = |table: &mut [u8; 256], b: u8, c: u8| {
            if let Some(slot) = table.get_mut(usize::from(b)) {
                *slot = c;
            }
        };
        set(&mut unquoted, dialect.delimiter, DELIMITER);
        set(&mut unquoted, dialect.quote, QUOTE);
        set(&mut unquoted, b'\r', CR);
        set(&mut unquoted, b'\n', LF);
        set(&mut quoted, dialect.quote, QUOTE);
        if let Some(e) = dialect.escape {
            set(&mut unquoted, e, ESCAPE);
            set(&mut quoted, e, ESCAPE);
        }
        Ok(Reader {
            dialect,
            max_record,
            unquoted,
            quoted,
            state: State::StartField,
            pending: Vec::new(),
            fields: Vec::new(),
            field_start: 0,
            field_escaped: false,
            offset: 0,
            index: 0,
            bom_matched: 0,
            bom_open: true,
            failed: false,
        })
    }

    pub fn dialect(&self) -> &Dialect {
        &self.dialect
    }

    /// The stream offset of the first byte not yet handed over in a record.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// How many records have been handed over.
    pub fn records(&self) -> u64 {
        self.index
    }

    /// Reads `chunk`, the stream's next bytes, handing each record it completes to `on_record`.
    pub fn feed<E, F>(&mut self, chunk: &[u8], mut on_record: F) -> Result<(), E>
    where
        E: From<CsvError>,
        F: FnMut(&Record<'_>) -> Result<(), E>,
    {
        if self.failed {
            return Err(self.error(CsvErrorKind::Abandoned, 0).into());
        }
        let start = self.read_bom(chunk);
        if self.bom_open {
            return Ok(());
        }
        let result = self.scan(chunk, start, &mut on_record);
        self.failed = result.is_err();
        result
    }

    /// Ends the stream: the last record, if it has no terminator, goes to `on_record`. The reader
    /// takes no more input after it.
    pub fn finish<E, F>(&mut self, mut on_record: F) -> Result<(), E>
    where
        E: From<CsvError>,
        F: FnMut(&Record<'_>) -> Result<(), E>,
    {
        if self.failed {
            return Err(self.error(CsvErrorKind::Abandoned, 0).into());
        }
        self.failed = true;
        if self.bom_open {
            self.close_bom();
        }
        if self.pending.is_empty() {
            // Nothing after the last terminator.
            return Ok(());
        }
        let end = self.pending.len();
        match self.state {
            State::StartField => self.push_field(end, end, false),
            State::Unquoted => self.push_field(self.field_start, end, false),
            State::AfterQuote => self.push_field(self.field_start, end, true),
            State::Quoted | State::Escape => {
                return Err(self.error(CsvErrorKind::UnterminatedQuote, end).into())
            }
            State::AfterCr => {
                return Err(self
                    .error(CsvErrorKind::BareCarriageReturn, end.saturating_sub(1))
                    .into())
            }
        }
        // The record is all in `pending`: handed over as one that ends an empty chunk.
        self.emit(&[], 0, 0, &mut on_record)
    }

    /// Matches the stream's first bytes against the BOM (it may arrive split across chunks); the
    /// bytes matched so far belong to the first record. Returns where scanning resumes.
    fn read_bom(&mut self, chunk: &[u8]) -> usize {
        if !self.bom_open {
            return 0;
        }
        let mut i = 0;
        while let Some(&b) = chunk.get(i) {
            if BOM.get(self.bom_matched) != Some(&b) {
                break;
            }
            self.bom_matched += 1;
            i += 1;
            if self.bom_matched == BOM.len() {
                break;
            }
        }
        self.pending
            .extend_from_slice(chunk.get(..i).unwrap_or_default());
        if i < chunk.len() || self.bom_matched == BOM.len() {
            self.close_bom();
        }
        i
    }

    /// The BOM question is decided: a whole BOM is the record's prefix; a partial one is the
    /// start of the first field's plain bytes (none of them is a special character).
    fn close_bom(&mut self) {
        self.bom_open = false;
        if self.bom_matched > 0 && self.bom_matched < BOM.len() {
            self.state = State::Unquoted;
            self.field_start = 0;
        }
    }

    fn error(&self, kind: CsvErrorKind, at: usize) -> CsvError {
        CsvError {
            kind,
            offset: self.offset + at as u64,
            record: self.index,
        }
    }

    #[inline(always)]
    fn push_field(&mut self, start: usize, end: usize, quoted: bool) {
        self.fields.push(Field {
            start,
            end,
            quoted,
            escaped: quoted && self.field_escaped,
        });
    }

    /// The tokenizer over `chunk[from..]`. A position `pos` in the current record is
    /// `pending.len() + (i - seg)` for the chunk's byte `i`, where `seg` is where the record's
    /// part in this chunk begins.
    fn scan<E, F>(&mut self, chunk: &[u8], from: usize, on_record: &mut F) -> Result<(), E>
    where
        E: From<CsvError>,
        F: FnMut(&Record<'_>) -> Result<(), E>,
    {
        let mut seg = from;
        let mut i = from;
        loop {
            // The plain bytes of a field in one step.
            match self.state {
                State::Unquoted => i = skip(&self.unquoted, chunk, i),
                State::Quoted => i = skip(&self.quoted, chunk, i),
                _ => {}
            }
            let Some(&b) = chunk.get(i) else {
                break;
            };
            let pos = self.pending.len() + (i - seg);
            let mut record_end = false;
            match self.state {
                State::StartField => match class(&self.unquoted, b) {
                    DELIMITER => self.push_field(pos, pos, false),
                    QUOTE => {
                        self.field_start = pos;
                        self.field_escaped = false;
                        self.state = State::Quoted;
                    }
                    ESCAPE => {
                        return Err(self.error(CsvErrorKind::EscapeOutsideQuotes, pos).into())
                    }
                    CR => {
                        self.push_field(pos, pos, false);
                        self.state = State::AfterCr;
                    }
                    LF => {
                        self.push_field(pos, pos, false);
                        record_end = true;
                    }
                    _ => {
                        self.field_start = pos;
                        self.state = State::Unquoted;
                    }
                },
                State::Unquoted => match class(&self.unquoted, b) {
                    DELIMITER => {
                        self.push_field(self.field_start, pos, false);
                        self.state = State::StartField;
                    }
                    QUOTE => {
                        return Err(self.error(CsvErrorKind::QuoteInUnquotedField, pos).into())
                    }
                    ESCAPE => {
                        return Err(self.error(CsvErrorKind::EscapeOutsideQuotes, pos).into())
                    }
                    CR => {
                        self.push_field(self.field_start, pos, false);
                        self.state = State::AfterCr;
                    }
                    LF => {
                        self.push_field(self.field_start, pos, false);
                        record_end = true;
                    }
                    _ => {}
                },
                State::Quoted => match class(&self.quoted, b) {
                    QUOTE => self.state = State::AfterQuote,
                    ESCAPE => self.state = State::Escape,
                    _ => {}
                },
                State::Escape => {
                    self.field_escaped = true;
                    self.state = State::Quoted;
                }
                State::AfterQuote => match class(&self.unquoted, b) {
                    QUOTE if self.dialect.escape.is_none() => {
                        self.field_escaped = true;
                        self.state = State::Quoted;
                    }
                    DELIMITER => {
                        self.push_field(self.field_start, pos, true);
                        self.state = State::StartField;
                    }
                    CR => {
                        self.push_field(self.field_start, pos, true);
                        self.state = State::AfterCr;
                    }
                    LF => {
                        self.push_field(self.field_start, pos, true);
                        record_end = true;
                    }
                    _ => return Err(self.error(CsvErrorKind::TextAfterClosingQuote, pos).into()),
                },
                State::AfterCr => {
                    if b != b'\n' {
                        return Err(self
                            .error(CsvErrorKind::BareCarriageReturn, pos.saturating_sub(1))
                            .into());
                    }
                    record_end = true;
                }
            }
            i += 1;
            if record_end {
                self.emit(chunk, seg, i, on_record)?;
                seg = i;
            }
        }
        // The unfinished record waits for the next chunk.
        let rest = chunk.get(seg..).unwrap_or_default();
        if self.pending.len() + rest.len() > self.max_record {
            let max = self.max_record;
            return Err(self.error(CsvErrorKind::RecordTooLong { max }, 0).into());
        }
        self.pending.extend_from_slice(rest);
        Ok(())
    }

    /// Hands over the record that ends before `chunk[end]`.
    fn emit<E, F>(
        &mut self,
        chunk: &[u8],
        seg: usize,
        end: usize,
        on_record: &mut F,
    ) -> Result<(), E>
    where
        E: From<CsvError>,
        F: FnMut(&Record<'_>) -> Result<(), E>,
    {
        let tail = chunk.get(seg..end).unwrap_or_default();
        let len = self.pending.len() + tail.len();
        if len > self.max_record {
            let max = self.max_record;
            return Err(self.error(CsvErrorKind::RecordTooLong { max }, 0).into());
        }
        let bytes = if self.pending.is_empty() {
            tail
        } else {
            self.pending.extend_from_slice(tail);
            &self.pending
        };
        let record = Record {
            bytes,
            fields: &self.fields,
            offset: self.offset,
            index: self.index,
            dialect: &self.dialect,
        };
        on_record(&record)?;
        self.offset += len as u64;
        self.index += 1;
        self.pending.clear();
        self.fields.clear();
        self.state = State::StartField;
        Ok(())
    }
}

/// A value written as a field must be quoted: it holds a character that would end or open a
/// field, or it begins with a BOM (which, as a file's first bytes, a reader takes for a BOM).
pub fn needs_quoting(dialect: &Dialect, value: &[u8]) -> bool {
    value.starts_with(BOM)
        || value.iter().any(|&b| {
            b == dialect.delimiter
                || b == dialect.quote
                || b == b'\r'
                || b == b'\n'
                || Some(b) == dialect.escape
        })
}

/// Appends `value` as one field: as it is, or quoted with its quotes (and escapes) escaped.
pub fn write_field(dialect: &Dialect, value: &[u8], out: &mut Vec<u8>) {
    if !needs_quoting(dialect, value) {
        out.extend_from_slice(value);
        return;
    }
    let mark = dialect.escape.unwrap_or(dialect.quote);
    out.push(dialect.quote);
    for &b in value {
        if b == dialect.quote || Some(b) == dialect.escape {
            out.push(mark);
        }
        out.push(b);
    }
    out.push(dialect.quote);
}

/// Appends `record` to `out` with the fields named in `replacements` (field index, new value;
/// the first for a field counts) written anew, and every other byte (BOM, fields, separators,
/// terminator) copied as it was.
pub fn write_record(
    record: &Record<'_>,
    replacements: &[(usize, &[u8])],
    out: &mut Vec<u8>,
) -> Result<(), CsvError> {
    if let Some(&(i, _)) = replacements.iter().find(|(i, _)| *i >= record.fields.len()) {
        return Err(CsvError {
            kind: CsvErrorKind::NoSuchField(i),
            offset: record.offset,
            record: record.index,
        });
    }
    let start = out.len();
    let mut copied = 0;
    for (i, field) in record.fields.iter().enumerate() {
        if let Some(&(_, value)) = replacements.iter().find(|(j, _)| *j == i) {
            out.extend_from_slice(record.bytes.get(copied..field.start).unwrap_or_default());
            write_field(record.dialect, value, out);
            copied = field.end;
        }
    }
    out.extend_from_slice(record.bytes.get(copied..).unwrap_or_default());
    if out.len() == start {
        // A last record without terminator whose one field became empty: no bytes would be no
        // record, so the empty value is quoted.
        out.extend_from_slice(&[record.dialect.quote, record.dialect.quote]);
    }
    Ok(())
}

/// Records as owned data, read from a whole stream: for the tests of the reader, here and in
/// `core/tests/tables.rs`.
#[cfg(any(test, feature = "test-support"))]
pub mod testing {
    use super::*;

    /// A record's bytes, (span, quoted) per field, values, offset and number.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Owned {
        pub bytes: Vec<u8>,
        pub fields: Vec<(Range<usize>, bool)>,
        pub values: Vec<Vec<u8>>,
        pub offset: u64,
        pub index: u64,
    }

    impl Owned {
        pub fn of(r: &Record<'_>) -> Owned {
            Owned {
                bytes: r.bytes().to_vec(),
                fields: r
                    .fields()
                    .iter()
                    .map(|f| (f.span(), f.is_quoted()))
                    .collect(),
                values: (0..r.fields().len())
                    .map(|i| r.value(i).map(Cow::into_owned).unwrap_or_default())
                    .collect(),
                offset: r.offset(),
                index: r.index(),
            }
        }
    }

    /// Every record of the stream fed in `chunks`, or the first error.
    pub fn read_chunks(
        dialect: Dialect,
        max_record: usize,
        chunks: &[&[u8]],
    ) -> Result<Vec<Owned>, CsvError> {
        let mut reader = Reader::new(dialect, max_record)?;
        let mut out = Vec::new();
        let mut keep = |r: &Record<'_>| {
            out.push(Owned::of(r));
            Ok::<(), CsvError>(())
        };
        for chunk in chunks {
            reader.feed(chunk, &mut keep)?;
        }
        reader.finish(&mut keep)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::Owned;
    use super::*;

    fn read_chunks(dialect: Dialect, chunks: &[&[u8]]) -> Result<Vec<Owned>, CsvError> {
        testing::read_chunks(dialect, 1 << 20, chunks)
    }

    fn read(dialect: Dialect, input: &[u8]) -> Result<Vec<Owned>, CsvError> {
        read_chunks(dialect, &[input])
    }

    fn values(records: &[Owned]) -> Vec<Vec<String>> {
        records
            .iter()
            .map(|r| {
                r.values
                    .iter()
                    .map(|v| String::from_utf8(v.clone()).unwrap())
                    .collect()
            })
            .collect()
    }

    fn kind(input: &[u8]) -> CsvErrorKind {
        read(Dialect::default(), input).unwrap_err().kind
    }

    /// Every way of cutting `input` in two, and byte by byte, reads as the whole does.
    fn same_in_any_split(dialect: Dialect, input: &[u8]) {
        let whole = read(dialect, input);
        for cut in 0..=input.len() {
            let (a, b) = input.split_at(cut);
            assert_eq!(read_chunks(dialect, &[a, b]), whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(read_chunks(dialect, &bytes), whole, "byte by byte");
    }

    #[test]
    fn lf_records_spans_and_offsets() {
        let records = read(Dialect::default(), b"id,name\n1,ann\n22,bo\n").unwrap();
        assert_eq!(
            values(&records),
            [["id", "name"], ["1", "ann"], ["22", "bo"]]
        );
        assert_eq!(records[1].fields, [(0..1, false), (2..5, false)]);
        assert_eq!(records[1].bytes, b"1,ann\n");
        let offsets: Vec<u64> = records.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, [0, 8, 14]);
        let indexes: Vec<u64> = records.iter().map(|r| r.index).collect();
        assert_eq!(indexes, [0, 1, 2]);
    }

    #[test]
    fn crlf_and_mixed_terminators() {
        let records = read(Dialect::default(), b"a,b\r\nc,d\ne,f\r\n").unwrap();
        assert_eq!(values(&records), [["a", "b"], ["c", "d"], ["e", "f"]]);
        assert_eq!(records[0].bytes, b"a,b\r\n");
        assert_eq!(records[0].fields, [(0..1, false), (2..3, false)]);
        assert_eq!(records[1].offset, 5);
        assert_eq!(records[2].offset, 9);
    }

    #[test]
    fn terminator_and_prefix_of_a_record() {
        let mut reader = Reader::new(Dialect::default(), 100).unwrap();
        let mut seen = Vec::new();
        reader
            .feed(b"\xef\xbb\xbfa,b\r\nc\n", |r: &Record<'_>| {
                seen.push((r.prefix().to_vec(), r.terminator().to_vec(), r.is_header()));
                Ok::<(), CsvError>(())
            })
            .unwrap();
        assert_eq!(
            seen,
            [
                (BOM.to_vec(), b"\r\n".to_vec(), true),
                (vec![], b"\n".to_vec(), false)
            ]
        );
    }

    #[test]
    fn quoted_fields_hold_delimiters_quotes_and_newlines() {
        let input = b"\"a,b\",\"say \"\"hi\"\"\",\"two\r\nlines\nhere\"\nx,\"\"\n";
        let records = read(Dialect::default(), input).unwrap();
        assert_eq!(
            values(&records),
            [
                vec!["a,b", "say \"hi\"", "two\r\nlines\nhere"],
                vec!["x", ""]
            ]
        );
        assert_eq!(records[0].fields[0], (0..5, true));
        assert_eq!(records[1].fields[1], (2..4, true));
    }

    #[test]
    fn values_without_escapes_are_borrowed() {
        let mut reader = Reader::new(Dialect::default(), 100).unwrap();
        let mut kinds = Vec::new();
        reader
            .feed(b"plain,\"quoted\",\"esc\"\"aped\"\n", |r: &Record<'_>| {
                for i in 0..3 {
                    kinds.push(matches!(r.value(i), Some(Cow::Borrowed(_))));
                }
                let mut buf = b"x".to_vec();
                assert!(r.value_into(2, &mut buf));
                assert_eq!(buf, b"xesc\"aped");
                assert!(!r.value_into(3, &mut buf));
                assert_eq!(r.raw(1), Some(&b"\"quoted\""[..]));
                assert!(r.fields()[2].has_escapes() && !r.fields()[1].has_escapes());
                Ok::<(), CsvError>(())
            })
            .unwrap();
        assert_eq!(kinds, [true, true, false]);
    }

    #[test]
    fn any_split_of_tricky_input_reads_the_same() {
        let input = b"\xef\xbb\xbf\"h,1\",h2\r\n\"a\"\"b\",\"c\r\nd\"\r\n,,\n\nlast,\"\"";
        same_in_any_split(Dialect::default(), input);
        let records = read(Dialect::default(), input).unwrap();
        assert_eq!(
            values(&records),
            [
                vec!["h,1", "h2"],
                vec!["a\"b", "c\r\nd"],
                vec!["", "", ""],
                vec![""],
                vec!["last", ""]
            ]
        );
        let escaped = Dialect {
            escape: Some(b'\\'),
            ..Dialect::default()
        };
        same_in_any_split(escaped, b"\"a\\\"b\",\"c\\\\\"\r\n\"\\\n\"\n");
    }

    #[test]
    fn empty_fields() {
        let records = read(Dialect::default(), b",\na,\n,b\n,,").unwrap();
        assert_eq!(
            values(&records),
            [vec!["", ""], vec!["a", ""], vec!["", "b"], vec!["", "", ""]]
        );
        assert_eq!(
            records[3].fields,
            [(0..0, false), (1..1, false), (2..2, false)]
        );
    }

    #[test]
    fn last_record_without_terminator() {
        let records = read(Dialect::default(), b"a,b\nc,\"d\"").unwrap();
        assert_eq!(values(&records), [["a", "b"], ["c", "d"]]);
        assert_eq!(records[1].bytes, b"c,\"d\"");
        assert_eq!(records[1].offset, 4);
        // A terminated last record makes no empty record after it; nothing at all makes none.
        assert_eq!(read(Dialect::default(), b"a\n").unwrap().len(), 1);
        assert_eq!(read(Dialect::default(), b"").unwrap(), []);
    }

    #[test]
    fn blank_lines_are_records_of_one_empty_field() {
        let mut reader = Reader::new(Dialect::default(), 100).unwrap();
        let mut blank = Vec::new();
        reader
            .feed(b"a\n\n\r\n\"\"\n", |r: &Record<'_>| {
                blank.push(r.is_blank());
                Ok::<(), CsvError>(())
            })
            .unwrap();
        // A quoted empty field is a value, not a blank line.
        assert_eq!(blank, [false, true, true, false]);
    }

    #[test]
    fn bom_is_the_first_records_prefix() {
        let records = read(Dialect::default(), b"\xef\xbb\xbfid,x\n1,2\n").unwrap();
        assert_eq!(records[0].bytes, b"\xef\xbb\xbfid,x\n");
        assert_eq!(records[0].fields, [(3..5, false), (6..7, false)]);
        assert_eq!(values(&records)[0], ["id", "x"]);
        assert_eq!(records[1].offset, 8);
        // Split in every way, before a quoted first field too.
        same_in_any_split(Dialect::default(), b"\xef\xbb\xbf\"q\",x\n");
        // A BOM alone is one blank record that keeps it.
        let only = read(Dialect::default(), BOM).unwrap();
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].bytes, BOM);
        assert_eq!(only[0].fields, [(3..3, false)]);
    }

    #[test]
    fn a_partial_bom_is_data() {
        let records = read(Dialect::default(), b"\xef\xbbx,y\n").unwrap();
        assert_eq!(records[0].fields, [(0..3, false), (4..5, false)]);
        assert_eq!(records[0].values[0], b"\xef\xbbx");
        let cut = read_chunks(Dialect::default(), &[b"\xef", b"\xbb", b"x,y\n"]).unwrap();
        assert_eq!(cut, records);
        // At the end of the stream, and before a delimiter.
        let end = read_chunks(Dialect::default(), &[b"\xef", b"\xbb"]).unwrap();
        assert_eq!(end[0].fields, [(0..2, false)]);
        let delim = read(Dialect::default(), b"\xef,a").unwrap();
        assert_eq!(delim[0].fields, [(0..1, false), (2..3, false)]);
        // A BOM later in the stream is data too.
        let later = read(Dialect::default(), b"a\n\xef\xbb\xbfb\n").unwrap();
        assert_eq!(later[1].fields, [(0..4, false)]);
    }

    #[test]
    fn header_flag_only_on_the_first_record_when_the_dialect_has_one() {
        for header in [true, false] {
            let dialect = Dialect {
                header,
                ..Dialect::default()
            };
            let mut reader = Reader::new(dialect, 100).unwrap();
            let mut flags = Vec::new();
            reader
                .feed(b"a\nb\nc\n", |r: &Record<'_>| {
                    flags.push(r.is_header());
                    Ok::<(), CsvError>(())
                })
                .unwrap();
            assert_eq!(flags, [header, false, false]);
        }
    }

    #[test]
    fn other_delimiters_and_quotes() {
        let dialect = Dialect {
            delimiter: b'\t',
            quote: b'\'',
            ..Dialect::default()
        };
        let records = read(dialect, b"a\t'b\tc'\t\"d\"\n").unwrap();
        assert_eq!(values(&records), [["a", "b\tc", "\"d\""]]);
        let semicolon = Dialect {
            delimiter: b';',
            ..Dialect::default()
        };
        assert_eq!(
            values(&read(semicolon, b"1,5;2\n").unwrap()),
            [["1,5", "2"]]
        );
    }

    #[test]
    fn escape_character_inside_quotes() {
        let dialect = Dialect {
            escape: Some(b'\\'),
            ..Dialect::default()
        };
        let records = read(dialect, b"\"a\\\"b\",\"c\\\\d\",\"e\\,\"\n").unwrap();
        assert_eq!(values(&records), [["a\"b", "c\\d", "e,"]]);
        // With an escape, a doubled quote is not a quote: the field closed before the second.
        let err = read(dialect, b"\"a\"\"b\"\n").unwrap_err();
        assert_eq!(err.kind, CsvErrorKind::TextAfterClosingQuote);
        assert_eq!(err.offset, 3);
        // Outside quotes the escape is refused (Python's csv reads it as an escape, others not).
        let err = read(dialect, b"ok\na\\,b\n").unwrap_err();
        assert_eq!(
            (err.kind, err.offset, err.record),
            (CsvErrorKind::EscapeOutsideQuotes, 4, 1)
        );
        let start = read(dialect, b"\\a\n").unwrap_err();
        assert_eq!(start.kind, CsvErrorKind::EscapeOutsideQuotes);
        // An escape at the very end leaves the quote open.
        let open = read(dialect, b"\"a\\\"").unwrap_err();
        assert_eq!(open.kind, CsvErrorKind::UnterminatedQuote);
    }

    #[test]
    fn malformed_input_is_an_error_with_its_place() {
        let err = read(Dialect::default(), b"a,b\nc,d\"e\n").unwrap_err();
        assert_eq!(
            err,
            CsvError {
                kind: CsvErrorKind::QuoteInUnquotedField,
                offset: 7,
                record: 1
            }
        );
        assert_eq!(
            err.to_string(),
            "CSV record 1 at byte 7: quote character inside an unquoted field"
        );
        assert_eq!(kind(b"\"a\"b\n"), CsvErrorKind::TextAfterClosingQuote);
        assert_eq!(kind(b"\"a\" ,b\n"), CsvErrorKind::TextAfterClosingQuote);
        assert_eq!(kind(b"a, \"b\"\n"), CsvErrorKind::QuoteInUnquotedField);
        assert_eq!(kind(b"a\rb\n"), CsvErrorKind::BareCarriageReturn);
        assert_eq!(kind(b"a,\"b\"\rc"), CsvErrorKind::BareCarriageReturn);
        assert_eq!(kind(b"a\r"), CsvErrorKind::BareCarriageReturn);
        assert_eq!(kind(b"a\n\"open,\nrest"), CsvErrorKind::UnterminatedQuote);
        // The bare CR is found at its own byte, even when the next arrives in a later chunk.
        let split = read_chunks(Dialect::default(), &[b"ab\r", b"x"]).unwrap_err();
        assert_eq!(
            (split.kind, split.offset),
            (CsvErrorKind::BareCarriageReturn, 2)
        );
    }

    #[test]
    fn a_record_over_the_maximum_is_refused_and_not_buffered() {
        let too_long = |chunks: &[&[u8]]| {
            let mut reader = Reader::new(Dialect::default(), 8).unwrap();
            let mut seen = 0;
            let mut result = Ok(());
            for chunk in chunks {
                result = reader.feed(chunk, |_: &Record<'_>| {
                    seen += 1;
                    Ok::<(), CsvError>(())
                });
                if result.is_err() {
                    break;
                }
            }
            (seen, result.map_err(|e| e.kind), reader.pending.capacity())
        };
        let max = Err(CsvErrorKind::RecordTooLong { max: 8 });
        // Eight bytes with the terminator pass; nine do not, in one chunk or across chunks.
        assert_eq!(too_long(&[b"1234567\n"]).1, Ok(()));
        assert_eq!(too_long(&[b"ok\n12345678\n"]).0, 1);
        assert_eq!(too_long(&[b"ok\n12345678\n"]).1, max);
        let (_, result, capacity) = too_long(&[b"12345", b"6789", b"0123456789"]);
        assert_eq!(result, max);
        assert!(capacity <= 8, "buffered {capacity} bytes");
        // At the end of the stream.
        let mut reader = Reader::new(Dialect::default(), 3).unwrap();
        let mut result = reader.feed(b"ab", |_: &Record<'_>| Ok::<(), CsvError>(()));
        assert!(result.is_ok());
        result = reader.feed(b"cd", |_: &Record<'_>| Ok::<(), CsvError>(()));
        assert_eq!(
            result.unwrap_err().kind,
            CsvErrorKind::RecordTooLong { max: 3 }
        );
    }

    #[test]
    fn after_an_error_the_reader_refuses_to_go_on() {
        let mut reader = Reader::new(Dialect::default(), 100).unwrap();
        let ok = |_: &Record<'_>| Ok::<(), CsvError>(());
        assert!(reader.feed(b"a\"\n", ok).is_err());
        let again = reader.feed(b"b\n", ok).unwrap_err();
        assert_eq!(again.kind, CsvErrorKind::Abandoned);
        assert_eq!(reader.finish(ok).unwrap_err().kind, CsvErrorKind::Abandoned);
        // The consumer's error stops it too, and reaches the caller as it was.
        #[derive(Debug, PartialEq)]
        enum Mine {
            Stop,
            Csv(CsvErrorKind),
        }
        impl From<CsvError> for Mine {
            fn from(e: CsvError) -> Mine {
                Mine::Csv(e.kind)
            }
        }
        let mut reader = Reader::new(Dialect::default(), 100).unwrap();
        let stop = |_: &Record<'_>| Err::<(), Mine>(Mine::Stop);
        assert_eq!(reader.feed(b"a\nb\n", stop), Err(Mine::Stop));
        let next = reader.feed(b"c\n", |_: &Record<'_>| Ok::<(), Mine>(()));
        assert_eq!(next, Err(Mine::Csv(CsvErrorKind::Abandoned)));
    }

    #[test]
    fn reader_counts_offsets_and_records() {
        let mut reader = Reader::new(Dialect::default(), 100).unwrap();
        let ok = |_: &Record<'_>| Ok::<(), CsvError>(());
        reader.feed(b"ab\ncd\nef", ok).unwrap();
        assert_eq!((reader.offset(), reader.records()), (6, 2));
        reader.finish(ok).unwrap();
        assert_eq!((reader.offset(), reader.records()), (8, 3));
        assert_eq!(reader.dialect(), &Dialect::default());
    }

    #[test]
    fn invalid_dialects_are_refused() {
        let bad = [
            Dialect {
                delimiter: b'"',
                ..Dialect::default()
            },
            Dialect {
                delimiter: b'\n',
                ..Dialect::default()
            },
            Dialect {
                quote: 0xc3,
                ..Dialect::default()
            },
            Dialect {
                escape: Some(b'"'),
                ..Dialect::default()
            },
            Dialect {
                escape: Some(b','),
                ..Dialect::default()
            },
        ];
        for dialect in bad {
            let err = Reader::new(dialect, 10).unwrap_err();
            assert!(
                matches!(err.kind, CsvErrorKind::InvalidDialect(_)),
                "{dialect:?}"
            );
        }
        assert_eq!(Terminator::CrLf.bytes(), b"\r\n");
        assert_eq!(Terminator::Lf.bytes(), b"\n");
    }

    fn rewrite(dialect: Dialect, input: &[u8], replacements: &[(usize, &[u8])]) -> Vec<u8> {
        let mut reader = Reader::new(dialect, 1 << 20).unwrap();
        let mut out = Vec::new();
        let mut write = |r: &Record<'_>| write_record(r, replacements, &mut out);
        reader.feed(input, &mut write).unwrap();
        reader.finish(&mut write).unwrap();
        out
    }

    #[test]
    fn writer_without_replacements_copies_every_byte() {
        let input = b"\xef\xbb\xbf\"h\",x\r\n\"a\"\"b\",,\"c\nd\"\n\nlast";
        assert_eq!(rewrite(Dialect::default(), input, &[]), input);
    }

    #[test]
    fn writer_replaces_fields_and_quotes_when_needed() {
        let input = b"\xef\xbb\xbfid,mail,ssn\r\n1,\"a@b\",123\r\n";
        let out = rewrite(
            Dialect::default(),
            input,
            &[(1, b"x,y"), (0, b"ID"), (2, b"say \"no\"")],
        );
        assert_eq!(
            out,
            b"\xef\xbb\xbfID,\"x,y\",\"say \"\"no\"\"\"\r\nID,\"x,y\",\"say \"\"no\"\"\"\r\n"
        );
        let plain = rewrite(Dialect::default(), b"a,b\n", &[(1, b"")]);
        assert_eq!(plain, b"a,\n");
        let crlf = rewrite(Dialect::default(), b"a,b\n", &[(0, b"1\r\n2"), (1, b"\n")]);
        assert_eq!(crlf, b"\"1\r\n2\",\"\n\"\n");
        // A value that begins with a BOM is quoted: as a file's first bytes it would be a BOM.
        let bom = rewrite(Dialect::default(), b"a\n", &[(0, b"\xef\xbb\xbfz")]);
        assert_eq!(bom, b"\"\xef\xbb\xbfz\"\n");
        // The first replacement of a field counts.
        let twice = rewrite(Dialect::default(), b"a\n", &[(0, b"1"), (0, b"2")]);
        assert_eq!(twice, b"1\n");
    }

    #[test]
    fn writer_keeps_a_record_emptied_by_its_replacement() {
        assert_eq!(
            rewrite(Dialect::default(), b"a\n\"b\"", &[(0, b"")]),
            b"\n\"\""
        );
        // With a terminator an empty line is a record already.
        assert_eq!(rewrite(Dialect::default(), b"a\n", &[(0, b"")]), b"\n");
    }

    #[test]
    fn writer_escapes_with_the_dialects_escape() {
        let dialect = Dialect {
            escape: Some(b'\\'),
            ..Dialect::default()
        };
        let out = rewrite(dialect, b"a,b\n", &[(0, b"q\"e\\"), (1, b"back\\")]);
        assert_eq!(out, b"\"q\\\"e\\\\\",\"back\\\\\"\n");
        assert_eq!(
            values(&read(dialect, &out).unwrap()),
            [["q\"e\\", "back\\"]]
        );
    }

    #[test]
    fn writer_refuses_a_field_the_record_lacks() {
        let mut reader = Reader::new(Dialect::default(), 100).unwrap();
        let mut out = Vec::new();
        let err = reader
            .feed(b"a,b\nc\n", |r: &Record<'_>| {
                write_record(r, &[(1, b"x")], &mut out)
            })
            .unwrap_err();
        assert_eq!(
            (err.kind, err.offset, err.record),
            (CsvErrorKind::NoSuchField(1), 4, 1)
        );
        assert_eq!(out, b"a,x\n");
    }
}
