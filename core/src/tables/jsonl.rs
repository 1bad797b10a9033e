//! JSON Lines records in the data path: a streaming reader that locates the values of requested
//! fields in each record, and the writer that re-emits a record with some of them replaced
//! (docs/tables.md, "The JSON Lines reader").
//!
//! The reader is fed the object in whatever chunks the host delivers and hands over each
//! complete line with the spans of the values at the requested paths, so that a writer can copy
//! every byte it does not replace: a record re-emitted without replacements is byte-identical to
//! the input. It buffers only the unfinished line, so memory is O(chunk + longest record), and a
//! line over the configured maximum is an error.
//!
//! A line is one JSON object (parsed by serde_json; values taken as `RawValue`, their spans found
//! from where their text lies in the line). Every occurrence of a requested path is located: a
//! repeated key (`{"ssn":1,"ssn":2}`) yields each value, and keys are compared unescaped
//! (`"s\u0073n"` is `ssn`), since a reader that keeps another occurrence than the one masked
//! would show it in clear. A line that is not one object is an error; a blank line (nothing but
//! JSON whitespace) is a record with no values, kept as it is.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::names;

/// Why a table could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonlError {
    pub kind: JsonlErrorKind,
    /// The stream offset of the byte at fault (for a record too long: where it began; for
    /// invalid JSON: where serde_json stopped).
    pub offset: u64,
    /// The number of the record (line) from 0.
    pub record: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonlErrorKind {
    /// A requested path is empty or has an empty segment (`a..b`, `.a`).
    InvalidPath(String),
    RecordTooLong {
        max: usize,
    },
    NotUtf8,
    /// The line is JSON but not an object (an array, a string, a number...).
    NotAnObject,
    /// The line is not one JSON value: serde_json's reason.
    InvalidJson(String),
    /// A string value whose escapes do not decode (a lone surrogate).
    InvalidString,
    /// A replacement for a value the record does not have.
    NoSuchValue(usize),
    /// A replacement holding CR or LF would change where records end.
    LineBreakInReplacement,
    /// The reader was used after an error (its own or its consumer's) or after `finish`.
    Abandoned,
}

impl fmt::Display for JsonlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason: Cow<'_, str> = match &self.kind {
            JsonlErrorKind::InvalidPath(p) => format!("invalid field path {p:?}").into(),
            JsonlErrorKind::RecordTooLong { max } => {
                format!("record longer than the maximum of {max} bytes").into()
            }
            JsonlErrorKind::NotUtf8 => "not UTF-8".into(),
            JsonlErrorKind::NotAnObject => "line is not a JSON object".into(),
            JsonlErrorKind::InvalidJson(why) => format!("invalid JSON: {why}").into(),
            JsonlErrorKind::InvalidString => "string escape does not decode".into(),
            JsonlErrorKind::NoSuchValue(i) => format!("no located value {i} to replace").into(),
            JsonlErrorKind::LineBreakInReplacement => "replacement holds a line break".into(),
            JsonlErrorKind::Abandoned => "reader used after an error or after the end".into(),
        };
        write!(
            f,
            "JSON Lines record {} at byte {}: {reason}",
            self.record, self.offset
        )
    }
}

impl std::error::Error for JsonlError {}

/// A located value's JSON type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Number,
    Bool,
    Null,
    Object,
    Array,
}

impl Kind {
    /// The type of a JSON value from its first byte (the value is valid JSON).
    fn of(raw: &str) -> Kind {
        match raw.as_bytes().first() {
            Some(b'"') => Kind::String,
            Some(b'{') => Kind::Object,
            Some(b'[') => Kind::Array,
            Some(b't' | b'f') => Kind::Bool,
            Some(b'n') => Kind::Null,
            _ => Kind::Number,
        }
    }
}

/// One value found at a requested path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The index of the path in the list the reader was given.
    pub path: usize,
    /// The value's bytes within the record (no surrounding whitespace).
    pub span: Range<usize>,
    pub kind: Kind,
    /// The path cannot be followed to its end: the value at a prefix of it is not an object
    /// (an array, a string, ...), and `span` is that value's. What the path names may be
    /// inside it (`address.city` when `address` is an array of objects or a string), so the
    /// caller must treat the whole value as what the path names, or refuse the record.
    pub blocked: bool,
}

/// A complete record as the reader hands it over; borrowed until the callback returns.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    bytes: &'a [u8],
    /// The line without its terminator (UTF-8, checked).
    text: &'a str,
    located: &'a [Located],
    offset: u64,
    index: u64,
}

impl<'a> Record<'a> {
    /// The record's raw bytes, terminator included (none for a last line without one).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The stream offset of the record's first byte.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The record's number (its line), from 0.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The values found at the requested paths, in the order they begin in the line (a value
    /// nested in another located one comes after it).
    pub fn located(&self) -> &'a [Located] {
        self.located
    }

    /// LF, CRLF or nothing.
    pub fn terminator(&self) -> &'a [u8] {
        self.bytes.get(self.text.len()..).unwrap_or_default()
    }

    /// A line of nothing but JSON whitespace (or nothing at all): no values, kept as it is.
    pub fn is_blank(&self) -> bool {
        self.text.bytes().all(is_whitespace)
    }

    /// Located value `i`'s JSON text.
    pub fn raw(&self, i: usize) -> Option<&'a str> {
        self.text.get(self.located.get(i)?.span.clone())
    }

    /// Located value `i`'s text if it is a string, unescaped: borrowed unless it has escapes.
    /// `Ok(None)` for another type or no such value; an error for a string whose escapes do not
    /// decode (serde_json checks them only here).
    pub fn string(&self, i: usize) -> Result<Option<Cow<'a, str>>, JsonlError> {
        let Some(l) = self.located.get(i) else {
            return Ok(None);
        };
        let Some(raw) = self.text.get(l.span.clone()) else {
            return Ok(None);
        };
        if l.kind != Kind::String {
            return Ok(None);
        }
        if !raw.contains('\\') {
            let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or_default();
            return Ok(Some(Cow::Borrowed(inner)));
        }
        match serde_json::from_str::<String>(raw) {
            Ok(s) => Ok(Some(Cow::Owned(s))),
            Err(_) => Err(JsonlError {
                kind: JsonlErrorKind::InvalidString,
                offset: self.offset + l.span.start as u64,
                record: self.index,
            }),
        }
    }
}

/// JSON's insignificant whitespace.
fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Parses dotted paths (`address.city`) into their segments.
fn parse_paths(paths: &[&str]) -> Result<Vec<Vec<String>>, JsonlError> {
    paths
        .iter()
        .map(|p| {
            let segments: Vec<String> = p.split('.').map(str::to_owned).collect();
            if segments.iter().any(String::is_empty) {
                return Err(JsonlError {
                    kind: JsonlErrorKind::InvalidPath((*p).to_owned()),
                    offset: 0,
                    record: 0,
                });
            }
            Ok(segments)
        })
        .collect()
}

/// Calls `f(n)` for each `n` such that `key` spells the first `n` segments of `rest` joined by
/// dots: `city` spells one of `[city]`, and a key `address.city` spells two of
/// `[address, city]`, so a key with a dot in it is named by the path that names its
/// components too (a policy masking `a.b` masks both readings).
fn spelled(key: &str, rest: &[String], mut f: impl FnMut(usize)) {
    let mut key = key;
    for (n, segment) in rest.iter().enumerate() {
        let Some(after) = key.strip_prefix(segment.as_str()) else {
            return;
        };
        if after.is_empty() {
            f(n + 1);
            return;
        }
        match after.strip_prefix('.') {
            Some(more) => key = more,
            None => return,
        }
    }
}

/// Whether `key` spells one or more of `rest`'s segments exactly (`spelled`).
fn spells_exactly(key: &str, rest: &[String]) -> bool {
    let mut any = false;
    spelled(key, rest, |_| any = true);
    any
}

/// Whether a folded key spells one or more of the folded segments `rest` (folding drops the
/// dots between them: `user.email`, `user_email` and `ｕｓｅｒ.email` all spell two of
/// `[user, email]`).
fn spells_folded(key: &str, rest: &[String]) -> bool {
    let mut key = key;
    for segment in rest {
        let Some(after) = key.strip_prefix(segment.as_str()) else {
            return false;
        };
        if after.is_empty() {
            return true;
        }
        key = after;
    }
    false
}

/// A path being followed: (path index, segments already matched).
type Active = (usize, usize);

/// Walks one JSON object, recording the values at the active paths.
struct Scan<'s> {
    paths: &'s [Vec<String>],
    /// Each path's segments folded (`names::folded`), to find look-alike keys.
    folded: &'s [Vec<String>],
    /// Reused for each key's folded form.
    scratch: &'s mut String,
    /// The paths being followed, by every object open around this one: this object's are
    /// `stack[active]`; an object pushes its members' above them and takes them off again, so
    /// no record allocates once the stack has grown.
    stack: &'s mut Vec<Active>,
    active: Range<usize>,
    /// The address of the line's first byte: a value's span is where its text lies after it.
    base: usize,
    out: &'s mut Vec<Located>,
}

impl<'de> DeserializeSeed<'de> for Scan<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Scan<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Scan {
            paths,
            folded,
            scratch,
            stack,
            active,
            base,
            out,
        } = self;
        while let Some(key) = map.next_key_seed(Key)? {
            if let Some(what) = names::unreadable(&key).filter(|_| !active.is_empty()) {
                // It displays, or is cut, as another key: refused, never served in clear.
                return Err(de::Error::custom(format_args!("key {key:?} has {what}")));
            }
            let mut key_folded = false;
            // The paths this key ends go to `out` (their span set once the value is read),
            // those it continues onto the stack above `mark`.
            let leaves = out.len();
            let mark = stack.len();
            for i in active.clone() {
                let Some(&(p, done)) = stack.get(i) else {
                    continue;
                };
                let Some(segments) = paths.get(p) else {
                    continue;
                };
                let rest = segments.get(done..).unwrap_or_default();
                if let Some(next) = rest.first() {
                    if !key_folded {
                        scratch.clear();
                        names::fold_into(&key, scratch);
                        key_folded = true;
                    }
                    let folded_rest = folded
                        .get(p)
                        .and_then(|f| f.get(done..))
                        .unwrap_or_default();
                    if spells_folded(scratch, folded_rest) && !spells_exactly(&key, rest) {
                        // A reader may take it for the field: refused, never served in clear.
                        return Err(de::Error::custom(format_args!(
                            "key {key:?} is spelled like the masked or filtered field {next:?}"
                        )));
                    }
                }
                spelled(&key, rest, |n| {
                    if done + n == segments.len() {
                        out.push(Located {
                            path: p,
                            span: 0..0,
                            kind: Kind::Null,
                            blocked: false,
                        });
                    } else {
                        stack.push((p, done + n));
                    }
                });
            }
            if out.len() == leaves && stack.len() == mark {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let raw: &'de RawValue = map.next_value()?;
            let text = raw.get();
            let start = (text.as_ptr() as usize).wrapping_sub(base);
            let span = start..start + text.len();
            let kind = Kind::of(text);
            for leaf in out.iter_mut().skip(leaves) {
                leaf.span = span.clone();
                leaf.kind = kind;
            }
            if stack.len() == mark {
                continue;
            }
            if kind == Kind::Object {
                // The object's text lies in the line: its values' spans follow from the same base.
                let mut inner = serde_json::Deserializer::from_str(text);
                let nested = mark..stack.len();
                Scan {
                    paths,
                    folded,
                    scratch: &mut *scratch,
                    stack: &mut *stack,
                    active: nested,
                    base,
                    out: &mut *out,
                }
                .deserialize(&mut inner)
                .map_err(de::Error::custom)?;
            } else {
                for &(path, _) in stack.get(mark..).unwrap_or_default() {
                    out.push(Located {
                        path,
                        span: span.clone(),
                        kind,
                        blocked: true,
                    });
                }
            }
            stack.truncate(mark);
        }
        Ok(())
    }
}

/// A key, unescaped: borrowed from the line unless it has escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

/// A streaming JSON Lines reader: `feed` it chunks, then `finish`; each complete line goes to
/// the callback with the values found at the requested paths. After an error (the reader's or
/// the callback's), or after `finish`, every later call fails.
#[derive(Debug)]
pub struct Reader {
    paths: Vec<Vec<String>>,
    folded: Vec<Vec<String>>,
    scratch: String,
    /// Every path at its start (what the top-level object is scanned for), and above them the
    /// paths followed into nested objects while a line is read.
    stack: Vec<Active>,
    max_record: usize,
    /// The bytes of the unfinished line (all of it lies before the current chunk).
    pending: Vec<u8>,
    /// The located values of the current record (reused).
    located: Vec<Located>,
    /// The stream offset and number of the current record.
    offset: u64,
    index: u64,
    failed: bool,
}

impl Reader {
    /// `paths`: the fields to locate, by name or dotted path (`address.city`); `max_record`: the
    /// longest line (bytes, terminator included) accepted.
    pub fn new(paths: &[&str], max_record: usize) -> Result<Reader, JsonlError> {
        let paths = parse_paths(paths)?;
        let stack = (0..paths.len()).map(|p| (p, 0)).collect();
        let folded = paths
            .iter()
            .map(|segments| segments.iter().map(|s| names::folded(s)).collect())
            .collect();
        Ok(Reader {
            paths,
            folded,
            scratch: String::new(),
            stack,
            max_record,
            pending: Vec::new(),
            located: Vec::new(),
            offset: 0,
            index: 0,
            failed: false,
        })
    }

    /// The stream offset of the first byte not yet handed over in a record.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// How many records have been handed over.
    pub fn records(&self) -> u64 {
        self.index
    }

    /// Reads `chunk`, the stream's next bytes, handing each line it completes to `on_record`.
    pub fn feed<E, F>(&mut self, chunk: &[u8], mut on_record: F) -> Result<(), E>
    where
        E: From<JsonlError>,
        F: FnMut(&Record<'_>) -> Result<(), E>,
    {
        if self.failed {
            return Err(self.error(JsonlErrorKind::Abandoned, 0).into());
        }
        let result = self.scan(chunk, &mut on_record);
        self.failed = result.is_err();
        result
    }

    /// Ends the stream: the last line, if it has no terminator, goes to `on_record`. The reader
    /// takes no more input after it.
    pub fn finish<E, F>(&mut self, mut on_record: F) -> Result<(), E>
    where
        E: From<JsonlError>,
        F: FnMut(&Record<'_>) -> Result<(), E>,
    {
        if self.failed {
            return Err(self.error(JsonlErrorKind::Abandoned, 0).into());
        }
        self.failed = true;
        if self.pending.is_empty() {
            return Ok(());
        }
        self.emit(&[], &mut on_record)
    }

    fn error(&self, kind: JsonlErrorKind, at: usize) -> JsonlError {
        JsonlError {
            kind,
            offset: self.offset + at as u64,
            record: self.index,
        }
    }

    fn scan<E, F>(&mut self, chunk: &[u8], on_record: &mut F) -> Result<(), E>
    where
        E: From<JsonlError>,
        F: FnMut(&Record<'_>) -> Result<(), E>,
    {
        let mut rest = chunk;
        while let Some(lf) = rest.iter().position(|&b| b == b'\n') {
            let (line, after) = rest.split_at(lf + 1);
            self.emit(line, on_record)?;
            rest = after;
        }
        // The unfinished line waits for the next chunk.
        if self.pending.len() + rest.len() > self.max_record {
            let max = self.max_record;
            return Err(self.error(JsonlErrorKind::RecordTooLong { max }, 0).into());
        }
        self.pending.extend_from_slice(rest);
        Ok(())
    }

    /// Hands over the record made of `pending` and `tail` (its end in the current chunk).
    fn emit<E, F>(&mut self, tail: &[u8], on_record: &mut F) -> Result<(), E>
    where
        E: From<JsonlError>,
        F: FnMut(&Record<'_>) -> Result<(), E>,
    {
        let len = self.pending.len() + tail.len();
        if len > self.max_record {
            let max = self.max_record;
            return Err(self.error(JsonlErrorKind::RecordTooLong { max }, 0).into());
        }
        let bytes: &[u8] = if self.pending.is_empty() {
            tail
        } else {
            self.pending.extend_from_slice(tail);
            &self.pending
        };
        let offset = self.offset;
        let index = self.index;
        let at = |kind, at: usize| JsonlError {
            kind,
            offset: offset + at as u64,
            record: index,
        };
        let body = bytes
            .strip_suffix(b"\r\n")
            .or_else(|| bytes.strip_suffix(b"\n"))
            .unwrap_or(bytes);
        let text =
            std::str::from_utf8(body).map_err(|e| at(JsonlErrorKind::NotUtf8, e.valid_up_to()))?;
        self.located.clear();
        let first = text.bytes().position(|b| !is_whitespace(b));
        if let Some(first) = first {
            if text.as_bytes().get(first) != Some(&b'{') {
                return Err(at(JsonlErrorKind::NotAnObject, first).into());
            }
            let mut de = serde_json::Deserializer::from_str(text);
            let roots = 0..self.paths.len();
            // A line that failed left its nested paths on the stack; the reader stops there.
            let scan = Scan {
                paths: &self.paths,
                folded: &self.folded,
                scratch: &mut self.scratch,
                stack: &mut self.stack,
                active: roots,
                base: text.as_ptr() as usize,
                out: &mut self.located,
            };
            scan.deserialize(&mut de)
                .and_then(|()| de.end())
                .map_err(|e| {
                    // serde_json counts columns from 1; a line holds no LF.
                    let column = e.column().saturating_sub(1).min(text.len());
                    at(JsonlErrorKind::InvalidJson(reason(&e)), column)
                })?;
        }
        let record = Record {
            bytes,
            text,
            located: &self.located,
            offset,
            index,
        };
        on_record(&record)?;
        self.offset += len as u64;
        self.index += 1;
        self.pending.clear();
        Ok(())
    }
}

/// serde_json's reason without its position (the error carries the stream offset instead).
fn reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text.get(..cut).unwrap_or_default().to_owned(),
        None => text,
    }
}

/// Appends `record` to `out` with the located values named in `replacements` (index into
/// `record.located()`, new JSON text, already rendered: the writer does not check it beyond
/// line breaks) written instead of their text, and every other byte copied as it was. A
/// replacement of a value inside another replaced one is skipped (the outer replacement
/// already covers it); of two replacements for one value the first counts.
pub fn write_record(
    record: &Record<'_>,
    replacements: &[(usize, &[u8])],
    out: &mut Vec<u8>,
) -> Result<(), JsonlError> {
    let fail = |kind| JsonlError {
        kind,
        offset: record.offset,
        record: record.index,
    };
    for &(i, value) in replacements {
        if i >= record.located.len() {
            return Err(fail(JsonlErrorKind::NoSuchValue(i)));
        }
        if value.iter().any(|&b| b == b'\n' || b == b'\r') {
            return Err(fail(JsonlErrorKind::LineBreakInReplacement));
        }
    }
    let mut copied = 0;
    for (i, located) in record.located.iter().enumerate() {
        if located.span.start < copied {
            continue;
        }
        if let Some(&(_, value)) = replacements.iter().find(|(j, _)| *j == i) {
            out.extend_from_slice(
                record
                    .bytes
                    .get(copied..located.span.start)
                    .unwrap_or_default(),
            );
            out.extend_from_slice(value);
            copied = located.span.end;
        }
    }
    out.extend_from_slice(record.bytes.get(copied..).unwrap_or_default());
    Ok(())
}

/// Records as owned data, read from a whole stream: for the tests of the reader, here and in
/// `core/tests/jsonl.rs`.
#[cfg(any(test, feature = "test-support"))]
pub mod testing {
    use super::*;

    /// A record's bytes, located values (with their raw text and, for strings, unescaped
    /// text), offset and number.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Owned {
        pub bytes: Vec<u8>,
        pub located: Vec<Located>,
        pub raw: Vec<String>,
        pub strings: Vec<Option<String>>,
        pub offset: u64,
        pub index: u64,
    }

    impl Owned {
        pub fn of(r: &Record<'_>) -> Result<Owned, JsonlError> {
            let n = r.located().len();
            Ok(Owned {
                bytes: r.bytes().to_vec(),
                located: r.located().to_vec(),
                raw: (0..n)
                    .map(|i| r.raw(i).unwrap_or_default().to_owned())
                    .collect(),
                strings: (0..n)
                    .map(|i| Ok(r.string(i)?.map(Cow::into_owned)))
                    .collect::<Result<_, JsonlError>>()?,
                offset: r.offset(),
                index: r.index(),
            })
        }
    }

    /// Every record of the stream fed in `chunks`, or the first error.
    pub fn read_chunks(
        paths: &[&str],
        max_record: usize,
        chunks: &[&[u8]],
    ) -> Result<Vec<Owned>, JsonlError> {
        let mut reader = Reader::new(paths, max_record)?;
        let mut out = Vec::new();
        let mut keep = |r: &Record<'_>| {
            out.push(Owned::of(r)?);
            Ok::<(), JsonlError>(())
        };
        for chunk in chunks {
            reader.feed(chunk, &mut keep)?;
        }
        reader.finish(&mut keep)?;
        Ok(out)
    }

    /// The stream read whole and re-emitted with `replace(record)` as replacements.
    pub fn rewrite(
        paths: &[&str],
        input: &[u8],
        mut replace: impl FnMut(&Record<'_>) -> Vec<(usize, Vec<u8>)>,
    ) -> Result<Vec<u8>, JsonlError> {
        let mut reader = Reader::new(paths, usize::MAX)?;
        let mut out = Vec::new();
        let mut write = |r: &Record<'_>| {
            let owned = replace(r);
            let borrowed: Vec<(usize, &[u8])> =
                owned.iter().map(|(i, v)| (*i, v.as_slice())).collect();
            write_record(r, &borrowed, &mut out)
        };
        reader.feed(input, &mut write)?;
        reader.finish(&mut write)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{read_chunks, rewrite, Owned};
    use super::*;

    fn read(paths: &[&str], input: &str) -> Result<Vec<Owned>, JsonlError> {
        read_chunks(paths, 1 << 20, &[input.as_bytes()])
    }

    /// (path, raw text, blocked) of every located value of every record.
    fn found(paths: &[&str], input: &str) -> Vec<Vec<(usize, String, bool)>> {
        let records = read(paths, input).unwrap();
        same_in_any_split(paths, input);
        records
            .iter()
            .map(|r| {
                r.located
                    .iter()
                    .zip(&r.raw)
                    .map(|(l, raw)| (l.path, raw.clone(), l.blocked))
                    .collect()
            })
            .collect()
    }

    fn kind(input: &str) -> JsonlErrorKind {
        read(&["a"], input).unwrap_err().kind
    }

    /// Every way of cutting `input` in two, and byte by byte, reads as the whole does.
    fn same_in_any_split(paths: &[&str], input: &str) {
        let input = input.as_bytes();
        let whole = read_chunks(paths, 1 << 20, &[input]);
        for cut in 0..=input.len() {
            let (a, b) = input.split_at(cut);
            assert_eq!(read_chunks(paths, 1 << 20, &[a, b]), whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(read_chunks(paths, 1 << 20, &bytes), whole, "byte by byte");
    }

    fn hit(path: usize, raw: &str) -> (usize, String, bool) {
        (path, raw.to_owned(), false)
    }

    #[test]
    fn a_key_spelled_like_a_located_field_but_not_it_is_refused() {
        for line in [
            r#"{"email":"a@x","Email":"b@y"}"#,
            r#"{"EMAIL":"b@y"}"#,
            r#"{" email":"b@y"}"#,
            "{\"\u{feff}email\":\"b@y\"}",
            r#"{"user":{"Email":"b@y"}}"#,
            r#"{"e\u00adm\u00e0il":1,"em\u00adail":"b@y"}"#,
            "{\"ｅｍａｉｌ\":\"b@y\"}",
            "{\"\u{435}mail\":\"b@y\"}",
            "{\"em\u{34f}ail\":\"b@y\"}",
            "{\"email\u{fe0f}\":\"b@y\"}",
            "{\"ｕｓｅｒ.email\":\"b@y\"}",
            "{\"user\":{\"\u{1d41e}mail\":\"b@y\"}}",
            r#"{"e_mail":"b@y"}"#,
            r#"{"user_email":"b@y"}"#,
        ] {
            let paths = ["email", "user.email"];
            let error = read(&paths, line).unwrap_err();
            assert!(
                matches!(&error.kind, JsonlErrorKind::InvalidJson(why) if why.contains("spelled like")),
                "{line}: {error}"
            );
        }
        // Other keys, and the field itself, are read as ever.
        let ok = read(&["email"], r#"{"emails":"x","mail":"y","email":"z"}"#).unwrap();
        assert_eq!(ok.len(), 1);
        let ok = read(
            &["user.email"],
            r#"{"user.email":"x","user":{"email":"y"}}"#,
        )
        .unwrap();
        assert_eq!(ok.len(), 1);
    }

    #[test]
    fn a_key_with_a_control_character_is_refused_where_fields_are_located() {
        for (line, what) in [
            ("{\"\u{202e}liame\":\"b@y\"}", "bidirectional"),
            (r#"{"user_id\u0000":1}"#, "control"),
            (r#"{"email\u007f":1}"#, "control"),
            (r#"{"emailx\b":1}"#, "control"),
        ] {
            let error = read(&["email"], line).unwrap_err();
            assert!(
                matches!(&error.kind, JsonlErrorKind::InvalidJson(why) if why.contains(what)),
                "{line}: {error}"
            );
        }
    }

    #[test]
    fn top_level_and_nested_paths() {
        let input =
            "{\"id\":1,\"address\":{\"city\":\"Oslo\",\"zip\":\"0150\"},\"email\":\"a@b\"}\n";
        assert_eq!(
            found(&["email", "address.city"], input),
            vec![vec![hit(1, "\"Oslo\""), hit(0, "\"a@b\"")]]
        );
        // The container and a path inside it: the container first, then what it holds.
        assert_eq!(
            found(&["address", "address.zip"], input),
            vec![vec![
                hit(0, "{\"city\":\"Oslo\",\"zip\":\"0150\"}"),
                hit(1, "\"0150\"")
            ]]
        );
        // Deeper, and a path whose end is missing.
        let deep = "{\"a\":{\"b\":{\"c\":[1,2]}},\"x\":{}}";
        assert_eq!(
            found(&["a.b.c", "x.y", "nope"], deep),
            vec![vec![hit(0, "[1,2]")]]
        );
    }

    #[test]
    fn kinds_and_strings() {
        let input = r#"{"s":"x\u00e9\"y","n":-1.5e3,"t":true,"f":false,"z":null,"o":{},"a":[]}"#;
        let records = read(&["s", "n", "t", "f", "z", "o", "a"], input).unwrap();
        let r = &records[0];
        let kinds: Vec<Kind> = r.located.iter().map(|l| l.kind).collect();
        assert_eq!(
            kinds,
            [
                Kind::String,
                Kind::Number,
                Kind::Bool,
                Kind::Bool,
                Kind::Null,
                Kind::Object,
                Kind::Array
            ]
        );
        assert_eq!(r.strings[0].as_deref(), Some("x\u{e9}\"y"));
        assert_eq!(r.strings[1], None);
        assert_eq!(r.raw[0], r#""x\u00e9\"y""#);
        // Without escapes the text is borrowed from the line.
        let plain = read(&["s"], r#"{"s":"plain é"}"#).unwrap();
        assert_eq!(plain[0].strings[0].as_deref(), Some("plain é"));
    }

    #[test]
    fn unicode_escapes_in_keys_and_values() {
        let input = r#"{"s\u0073n":"1","caf\u00e9":"\ud83d\ude00","emoji\ud83d\ude00":2}"#;
        let records = read(&["ssn", "café", "emoji😀"], input).unwrap();
        let r = &records[0];
        assert_eq!(r.raw, [r#""1""#, r#""\ud83d\ude00""#, "2"]);
        assert_eq!(r.strings[1].as_deref(), Some("😀"));
        same_in_any_split(&["ssn", "café", "emoji😀"], input);
        // A lone surrogate in a located string is an error when its text is asked for...
        let lone = read(&["a"], r#"{"a":"\ud800"}"#).unwrap_err();
        assert_eq!(lone.kind, JsonlErrorKind::InvalidString);
        assert_eq!(lone.offset, 5);
        // ...and in a key, an error of the record.
        assert!(matches!(
            kind(r#"{"\ud800":1}"#),
            JsonlErrorKind::InvalidJson(_)
        ));
    }

    #[test]
    fn numbers_in_every_form_keep_their_text() {
        let numbers = [
            "0",
            "-0",
            "1e-7",
            "1E+30",
            "-12.5E-3",
            "1e400",
            "123456789012345678901234567890",
            "-9223372036854775809",
            "0.000000000000000000000000000001",
        ];
        for n in numbers {
            let input = format!("{{\"n\":{n},\"m\":[{n}]}}\n");
            assert_eq!(found(&["n"], &input), vec![vec![hit(0, n)]], "{n}");
            let records = read(&["n"], &input).unwrap();
            assert_eq!(records[0].located[0].kind, Kind::Number);
        }
        for bad in ["01", "1.", ".5", "+1", "1e", "-", "0x10", "NaN", "Infinity"] {
            let input = format!("{{\"n\":{bad}}}");
            assert!(
                matches!(kind(&input), JsonlErrorKind::InvalidJson(_)),
                "{bad}"
            );
        }
    }

    #[test]
    fn every_occurrence_of_a_duplicated_key() {
        let input = r#"{"ssn":"1","x":0,"ssn":"2","s\u0073n":"3"}"#;
        assert_eq!(
            found(&["ssn"], input),
            vec![vec![hit(0, "\"1\""), hit(0, "\"2\""), hit(0, "\"3\"")]]
        );
        // A duplicated container: the path is followed into each.
        let nested = r#"{"a":{"b":1,"b":2},"a":{"b":3}}"#;
        assert_eq!(
            found(&["a.b"], nested),
            vec![vec![hit(0, "1"), hit(0, "2"), hit(0, "3")]]
        );
        // The same path twice: both are reported.
        assert_eq!(
            found(&["a.b", "a.b"], r#"{"a":{"b":1}}"#),
            vec![vec![hit(0, "1"), hit(1, "1")]]
        );
    }

    #[test]
    fn a_key_with_a_dot_is_named_by_the_dotted_path() {
        let input = r#"{"address.city":"A","address":{"city":"B"},"address.zip":"C"}"#;
        assert_eq!(
            found(&["address.city"], input),
            vec![vec![hit(0, "\"A\""), hit(0, "\"B\"")]]
        );
        // A prefix of a key is not the key.
        assert_eq!(found(&["add"], input), vec![vec![]]);
        assert_eq!(found(&["address.ci"], input), vec![vec![]]);
    }

    #[test]
    fn a_path_through_a_non_object_is_blocked() {
        // Arrays are not indexed: the path stops at the array, reported as blocked, since what
        // it names may be inside (the caller masks the whole value or refuses the record).
        let input = r#"{"address":[{"city":"Oslo"}],"x":"s","y":null,"z":{"w":1}}"#;
        assert_eq!(
            found(&["address.city", "x.a", "y.b", "z.w.v"], input),
            vec![vec![
                (0, "[{\"city\":\"Oslo\"}]".to_owned(), true),
                (1, "\"s\"".to_owned(), true),
                (2, "null".to_owned(), true),
                (3, "1".to_owned(), true),
            ]]
        );
        // A numeric segment names a key, never an array element.
        assert_eq!(
            found(&["a.0"], r#"{"a":["x"],"b":{"0":1}}"#),
            vec![vec![(0, "[\"x\"]".to_owned(), true)]]
        );
        assert_eq!(found(&["b.0"], r#"{"b":{"0":1}}"#), vec![vec![hit(0, "1")]]);
    }

    #[test]
    fn whitespace_everywhere() {
        let input = " \t{ \"a\" \t: \r [ 1 , 2 ] , \"b\" : { \"c\" :\"x\" } } \t\r\n";
        assert_eq!(
            found(&["a", "b.c"], input),
            vec![vec![hit(0, "[ 1 , 2 ]"), hit(1, "\"x\"")]]
        );
        let records = read(&["a"], input).unwrap();
        assert_eq!(records[0].located[0].span, 13..22);
        assert_eq!(&input[13..22], "[ 1 , 2 ]");
    }

    #[test]
    fn terminators_blank_lines_and_offsets() {
        let input = "{\"a\":1}\r\n\n  \r\n{\"a\":2}\n{\"a\":3}";
        let records = read(&["a"], input).unwrap();
        let offsets: Vec<u64> = records.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, [0, 9, 10, 14, 22]);
        let lines: Vec<&[u8]> = records.iter().map(|r| r.bytes.as_slice()).collect();
        assert_eq!(
            lines,
            [
                &b"{\"a\":1}\r\n"[..],
                b"\n",
                b"  \r\n",
                b"{\"a\":2}\n",
                b"{\"a\":3}"
            ]
        );
        let raws: Vec<Vec<String>> = records.iter().map(|r| r.raw.clone()).collect();
        assert_eq!(raws, [vec!["1"], vec![], vec![], vec!["2"], vec!["3"]]);
        same_in_any_split(&["a"], input);
        // Blank records are told apart; the terminator is the record's last bytes.
        let mut blank = Vec::new();
        let mut terminators = Vec::new();
        let mut reader = Reader::new(&["a"], 100).unwrap();
        let mut look = |r: &Record<'_>| {
            blank.push(r.is_blank());
            terminators.push(r.terminator().to_vec());
            Ok::<(), JsonlError>(())
        };
        reader.feed(input.as_bytes(), &mut look).unwrap();
        reader.finish(&mut look).unwrap();
        assert_eq!(blank, [false, true, true, false, false]);
        assert_eq!(
            terminators,
            [&b"\r\n"[..], b"\n", b"\r\n", b"\n", b""].map(<[u8]>::to_vec)
        );
        // Nothing at all, or a final terminator: no empty last record.
        assert_eq!(read(&["a"], "").unwrap(), []);
        assert_eq!(read(&["a"], "{}\n").unwrap().len(), 1);
    }

    #[test]
    fn a_line_that_is_not_one_object_is_an_error_at_its_offset() {
        let input = "{\"a\":1}\n[1,2]\n";
        let e = read(&["a"], input).unwrap_err();
        assert_eq!(
            (e.kind, e.offset, e.record),
            (JsonlErrorKind::NotAnObject, 8, 1)
        );
        for line in ["\"s\"", "1", "null", "true", "  [{}]"] {
            assert_eq!(kind(line), JsonlErrorKind::NotAnObject, "{line}");
        }
        for line in [
            "{",
            "{\"a\":1",
            "{\"a\":1}}",
            "{\"a\":1} {\"b\":2}",
            "{\"a\":1}x",
            "{a:1}",
            "{\"a\":1,}",
            "{\"a\":'x'}",
            "{\"a\":\"tab\there\"}",
            "{\"a\":\"\\x\"}",
        ] {
            assert!(
                matches!(kind(line), JsonlErrorKind::InvalidJson(_)),
                "{line}"
            );
        }
        // The offset is where serde_json stopped (the `}` after the comma), in the stream.
        let e = read(&["a"], "{}\n{\"a\":1,}\n").unwrap_err();
        assert_eq!((e.offset, e.record), (3 + 7, 1));
    }

    #[test]
    fn not_utf8_is_an_error() {
        let e = read_chunks(&["a"], 100, &[b"{}\n{\"a\":\"\xff\"}\n"]).unwrap_err();
        assert_eq!(
            (e.kind, e.offset, e.record),
            (JsonlErrorKind::NotUtf8, 9, 1)
        );
    }

    #[test]
    fn a_record_over_the_maximum_is_an_error() {
        let line = b"{\"a\":\"0123456789\"}\n"; // 19 bytes
        assert_eq!(read_chunks(&["a"], 19, &[line, line]).unwrap().len(), 2);
        let e = read_chunks(&["a"], 18, &[line]).unwrap_err();
        assert_eq!(e.kind, JsonlErrorKind::RecordTooLong { max: 18 });
        // Split across chunks, and unterminated: caught at a chunk's end.
        let e = read_chunks(&["a"], 18, &[b"{}\n{\"a\":", b"\"0123456789abcd"]).unwrap_err();
        assert_eq!(
            (e.kind, e.offset, e.record),
            (JsonlErrorKind::RecordTooLong { max: 18 }, 3, 1)
        );
        let mut reader = Reader::new(&["a"], 17).unwrap();
        let mut none = |_: &Record<'_>| Ok::<(), JsonlError>(());
        assert!(reader.feed(b"{\"a\":\"0123456789\"}", &mut none).is_err());
        // After an error nothing more is read.
        assert_eq!(
            reader.feed(b"{}\n", &mut none).unwrap_err().kind,
            JsonlErrorKind::Abandoned
        );
    }

    #[test]
    fn a_consumer_error_abandons_the_reader() {
        let mut reader = Reader::new(&["a"], 100).unwrap();
        let mut refuse = |_: &Record<'_>| {
            Err(JsonlError {
                kind: JsonlErrorKind::NotAnObject,
                offset: 0,
                record: 0,
            })
        };
        assert!(reader.feed(b"{}\n", &mut refuse).is_err());
        let mut none = |_: &Record<'_>| Ok::<(), JsonlError>(());
        assert_eq!(
            reader.finish(&mut none).unwrap_err().kind,
            JsonlErrorKind::Abandoned
        );
    }

    #[test]
    fn invalid_paths_are_refused() {
        for p in ["", "a.", ".a", "a..b"] {
            assert_eq!(
                Reader::new(&[p], 10).unwrap_err().kind,
                JsonlErrorKind::InvalidPath(p.to_owned())
            );
        }
    }

    #[test]
    fn writer_replaces_exactly_the_located_bytes() {
        let input =
            "{\"ssn\" : \"123\", \"a\":{\"email\":\"x@y\"},\"ssn\":\"456\"}\r\n{\"n\":1}\n[]";
        let paths = ["ssn", "a.email"];
        // No replacement: byte-identical (the last line is not an object, so cut it off).
        let valid = &input[..input.len() - 2];
        assert_eq!(
            rewrite(&paths, valid.as_bytes(), |_| vec![]).unwrap(),
            valid.as_bytes()
        );
        let out = rewrite(&paths, valid.as_bytes(), |r| {
            (0..r.located().len())
                .map(|i| (i, b"null".to_vec()))
                .collect()
        })
        .unwrap();
        assert_eq!(
            out,
            b"{\"ssn\" : null, \"a\":{\"email\":null},\"ssn\":null}\r\n{\"n\":1}\n"
        );
        // A replacement inside a replaced value is covered by it.
        let out = rewrite(&["a", "a.email"], valid.as_bytes(), |r| {
            if r.located().is_empty() {
                vec![]
            } else {
                vec![(1, b"\"inner\"".to_vec()), (0, b"{}".to_vec())]
            }
        })
        .unwrap();
        assert_eq!(
            out,
            b"{\"ssn\" : \"123\", \"a\":{},\"ssn\":\"456\"}\r\n{\"n\":1}\n"
        );
    }

    #[test]
    fn writer_refuses_what_it_cannot_write() {
        let input = b"{\"a\":1}";
        let no_such = rewrite(&["a"], input, |_| vec![(1, b"2".to_vec())]).unwrap_err();
        assert_eq!(no_such.kind, JsonlErrorKind::NoSuchValue(1));
        let newline = rewrite(&["a"], input, |_| vec![(0, b"\"a\nb\"".to_vec())]).unwrap_err();
        assert_eq!(newline.kind, JsonlErrorKind::LineBreakInReplacement);
    }
}
