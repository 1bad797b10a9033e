//! Reading an upstream's ListObjectsV2 answer (its ListBucketResult) into the entries the
//! listing takes, refusing anything S3 would not write there.

use std::borrow::Cow;

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::encoding::byte_table::{byte_table, ByteTable};
use crate::encoding::xml::escape;
use crate::s3::error::S3Error;
use crate::s3::listing::plain_page::{read_plain_page, unescape_predefined};

/// An object of an upstream page, borrowing from the page where its text has no references.
/// Metadata is checked by [`plausible_metadata`] before it is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ObjectEntry<'a> {
    pub(super) key: Cow<'a, str>,
    pub(super) last_modified: Cow<'a, str>,
    /// Quoted as S3 writes it and escaped for the client's page; `None` if it is not an entity
    /// tag (see [`etag_xml`]).
    pub(super) etag: Option<Cow<'a, str>>,
    pub(super) size: Cow<'a, str>,
    pub(super) storage_class: Cow<'a, str>,
}

#[derive(Debug, PartialEq, Eq)]
pub(super) struct UpstreamPage<'a> {
    pub(super) contents: Vec<ObjectEntry<'a>>,
    pub(super) common_prefixes: Vec<Cow<'a, str>>,
    pub(super) is_truncated: bool,
    pub(super) next_token: Option<String>,
}

/// Builds an [`UpstreamPage`] from XML events, whichever reader produced them.
pub(super) struct PageBuilder<'a> {
    page: UpstreamPage<'a>,
    /// The elements open above the current one, by what they mean to us (no names copied).
    path: Vec<Element>,
    /// Text of the current element since its start or its last child's end.
    value: Value<'a>,
    object: Option<ObjectEntry<'a>>,
    saw_root: bool,
}

impl<'a> PageBuilder<'a> {
    pub(super) fn new() -> Self {
        PageBuilder {
            page: UpstreamPage {
                contents: Vec::new(),
                common_prefixes: Vec::new(),
                is_truncated: false,
                next_token: None,
            },
            path: Vec::with_capacity(4),
            value: Value::Text(Cow::Borrowed("")),
            object: None,
            saw_root: false,
        }
    }

    pub(super) fn start(&mut self, tag: Element) -> Result<(), S3Error> {
        if self.path.is_empty() {
            if tag != Element::Root {
                return Err(S3Error::bad_upstream_response());
            }
            self.saw_root = true;
        }
        if self.path.len() == 1 && tag == Element::Contents {
            self.object = Some(ObjectEntry {
                key: Cow::Borrowed(""),
                last_modified: Cow::Borrowed(""),
                etag: Some(Cow::Borrowed("")),
                size: Cow::Borrowed(""),
                storage_class: Cow::Borrowed("STANDARD"),
            });
        }
        self.path.push(tag);
        self.value = Value::Text(Cow::Borrowed(""));
        Ok(())
    }

    /// A self-closed element: nothing to read, but not a document.
    pub(super) fn empty(&self) -> Result<(), S3Error> {
        if self.path.is_empty() {
            return Err(S3Error::bad_upstream_response());
        }
        Ok(())
    }

    /// A piece of text; the first is kept as it is (usually borrowed from the page: most values
    /// are one piece without references).
    pub(super) fn text(&mut self, piece: Value<'a>) {
        if self.value.is_empty() {
            self.value = piece;
        } else {
            let value = std::mem::replace(&mut self.value, Value::Text(Cow::Borrowed("")));
            let mut text = value.into_text().into_owned();
            text.push_str(&piece.into_text());
            self.value = Value::Text(Cow::Owned(text));
        }
    }

    pub(super) fn end(&mut self) -> Result<(), S3Error> {
        let Some(tag) = self.path.pop() else {
            return Err(S3Error::bad_upstream_response());
        };
        let parent = self.path.last().copied();
        let value = std::mem::replace(&mut self.value, Value::Text(Cow::Borrowed("")));
        if let (2, Some(Element::Contents), Element::ETag, Some(o)) =
            (self.path.len(), parent, tag, self.object.as_mut())
        {
            o.etag = etag_xml(value);
            return Ok(());
        }
        let text = value.into_text();
        let page = &mut self.page;
        match (self.path.len(), parent, tag) {
            (1, _, Element::IsTruncated) => page.is_truncated = text.trim() == "true",
            (1, _, Element::NextContinuationToken) => page.next_token = Some(text.into_owned()),
            (1, _, Element::Contents) => {
                let o = self
                    .object
                    .take()
                    .ok_or_else(S3Error::bad_upstream_response)?;
                if o.key.is_empty() || !plausible_metadata(&o) {
                    return Err(S3Error::bad_upstream_response());
                }
                page.contents.push(o);
            }
            (2, Some(Element::Contents), field) => {
                if let Some(o) = self.object.as_mut() {
                    match field {
                        Element::Key => o.key = text,
                        Element::LastModified => o.last_modified = text,
                        Element::Size => o.size = text,
                        Element::StorageClass if !text.is_empty() => o.storage_class = text,
                        _ => {}
                    }
                }
            }
            (2, Some(Element::CommonPrefixes), Element::Prefix) => page.common_prefixes.push(text),
            _ => {}
        }
        Ok(())
    }

    pub(super) fn finish(self) -> Result<UpstreamPage<'a>, S3Error> {
        if !self.saw_root || !self.path.is_empty() {
            return Err(S3Error::bad_upstream_response());
        }
        Ok(self.page)
    }
}

/// Reads an upstream ListObjectsV2 answer. Pages in the plain form S3 writes are read by
/// [`read_plain_page`]; anything else (or anything it is unsure of) by quick-xml.
pub(super) fn parse_upstream_page(text: &str) -> Result<UpstreamPage<'_>, S3Error> {
    match read_plain_page(text) {
        Some(page) => page,
        None => read_page_events(text),
    }
}

/// Reads a page in one pass of quick-xml events.
pub(super) fn read_page_events(text: &str) -> Result<UpstreamPage<'_>, S3Error> {
    let mut reader = Reader::from_str(text);
    let mut page = PageBuilder::new();
    loop {
        match reader
            .read_event()
            .map_err(|_| S3Error::bad_upstream_response())?
        {
            Event::Start(e) => page.start(Element::of(e.local_name().as_ref()))?,
            Event::Empty(_) => page.empty()?,
            Event::Text(t) => page.text(Value::Text(t.xml10_content())),
            Event::CData(t) => page.text(Value::Text(t.into_inner())),
            Event::GeneralRef(r) => {
                let piece = match r
                    .resolve_char_ref()
                    .map_err(|_| S3Error::bad_upstream_response())?
                {
                    Some(c) => Cow::Owned(c.to_string()),
                    None => Cow::Borrowed(
                        quick_xml::escape::resolve_predefined_entity(&r.xml10_content())
                            .ok_or_else(S3Error::bad_upstream_response)?,
                    ),
                };
                page.text(Value::Text(piece));
            }
            Event::End(_) => page.end()?,
            Event::Eof => break,
            _ => {}
        }
    }
    page.finish()
}

/// Text of an element as read.
#[derive(Debug)]
pub(super) enum Value<'a> {
    Text(Cow<'a, str>),
    /// As written in the page (not empty), with predefined entities only: the plain reader
    /// leaves ETags (`&quot;...&quot;`) in this form, which is already the client's.
    Escaped(&'a str),
}

impl<'a> Value<'a> {
    fn is_empty(&self) -> bool {
        match self {
            Value::Text(t) => t.is_empty(),
            Value::Escaped(raw) => raw.is_empty(),
        }
    }

    fn into_text(self) -> Cow<'a, str> {
        match self {
            Value::Text(t) => t,
            Value::Escaped(raw) => Cow::Owned(unescape_predefined(raw)),
        }
    }
}

/// An ETag as the client's page carries it: quoted (S3 ETags are; some S3-compatible stores
/// list them bare) and escaped. `None` unless it is an entity tag: letters, digits, `-` and
/// quotes, not arbitrary text (which could carry real names).
fn etag_xml(value: Value<'_>) -> Option<Cow<'_, str>> {
    let tag_char = |b: u8| b.is_ascii_alphanumeric() || b == b'-';
    if let Value::Escaped(raw) = value {
        // Letters, digits, `-` and `&quot;` only: then escaping the quoted tag gives back
        // `raw` (quoted already) or `raw` in `&quot;`s.
        let mut rest = raw.as_bytes();
        let plain = loop {
            rest = match rest.strip_prefix(b"&quot;") {
                Some(after) => after,
                None => match rest {
                    [] => break true,
                    [b, after @ ..] if tag_char(*b) => after,
                    _ => break false,
                },
            };
        };
        if plain {
            return Some(if raw.starts_with("&quot;") {
                Cow::Borrowed(raw)
            } else {
                Cow::Owned(format!("&quot;{raw}&quot;"))
            });
        }
    }
    let text = value.into_text();
    if !text.bytes().all(|b| tag_char(b) || b == b'"') {
        return None;
    }
    let quoted = quoted_etag(text);
    if quoted.is_empty() {
        return Some(quoted);
    }
    let mut out = String::with_capacity(quoted.len() + 10);
    escape(&mut out, &quoted);
    Some(Cow::Owned(out))
}

/// The upstream elements the listing reads; everything else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Element {
    Root,
    Contents,
    CommonPrefixes,
    Key,
    LastModified,
    ETag,
    Size,
    StorageClass,
    Prefix,
    IsTruncated,
    NextContinuationToken,
    Other,
}

impl Element {
    pub(super) fn of(name: &str) -> Element {
        match name {
            "ListBucketResult" => Element::Root,
            "Contents" => Element::Contents,
            "CommonPrefixes" => Element::CommonPrefixes,
            "Key" => Element::Key,
            "LastModified" => Element::LastModified,
            "ETag" => Element::ETag,
            "Size" => Element::Size,
            "StorageClass" => Element::StorageClass,
            "Prefix" => Element::Prefix,
            "IsTruncated" => Element::IsTruncated,
            "NextContinuationToken" => Element::NextContinuationToken,
            _ => Element::Other,
        }
    }
}

/// Object metadata is passed on, so it must be what S3 puts there, not arbitrary text (which
/// could carry real names): a date, a number, an entity tag, a storage class.
fn plausible_metadata(o: &ObjectEntry<'_>) -> bool {
    let all = |text: &str, class: u8| text.bytes().all(|b| METADATA.lookup(b) & class != 0);
    let date = !o.last_modified.is_empty() && all(&o.last_modified, DATE);
    let size = !o.size.is_empty() && all(&o.size, DIGIT);
    date && size && o.etag.is_some() && all(&o.storage_class, CLASS)
}

/// Classes of bytes in object metadata, by value (a table: every object is checked).
const DIGIT: u8 = 1;
const DATE: u8 = 2;
const CLASS: u8 = 4;
const METADATA: ByteTable<u8> = byte_table!(|b| {
    let digit = if b.is_ascii_digit() { DIGIT } else { 0 };
    let date = match b {
        b'0'..=b'9' | b'-' | b':' | b'.' | b'T' | b'Z' | b'+' => DATE,
        _ => 0,
    };
    let class = if b.is_ascii_uppercase() || b == b'_' {
        CLASS
    } else {
        0
    };
    digit | date | class
});

/// S3 ETags are quoted; some S3-compatible stores list them bare.
fn quoted_etag(etag: Cow<'_, str>) -> Cow<'_, str> {
    if etag.is_empty() || etag.starts_with('"') {
        etag
    } else {
        Cow::Owned(format!("\"{etag}\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_etags_get_s3_quotes() {
        assert_eq!(quoted_etag("abc".into()), "\"abc\"");
        assert_eq!(quoted_etag("\"abc\"".into()), "\"abc\"");
    }
}
