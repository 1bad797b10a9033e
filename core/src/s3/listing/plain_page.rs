//! A fast reader for upstream pages in the plain XML S3 writes; anything else is left to
//! quick-xml ([`super::upstream_page`]), which alone decides what is malformed.

use std::borrow::Cow;

use crate::encoding::byte_table::{byte_table, ByteTable};
use crate::s3::error::S3Error;
use crate::s3::listing::upstream_page::{Element, PageBuilder, UpstreamPage, Value};

/// Reads a page written in the plain subset of XML that S3 and its look-alikes write: elements
/// without namespace prefixes, attributes only as quick-xml skips them, the five predefined
/// entities, an XML declaration. `None` as soon as anything else appears (character references,
/// CDATA, comments, DTDs, processing instructions, carriage returns, mismatched or stray end
/// tags, odd names, a byte order mark): quick-xml then reads the page from the start, so it
/// alone decides what is malformed. Where this returns a page or an error, quick-xml's events
/// would have built the same (the unit tests compare the two).
pub(super) fn read_plain_page(text: &str) -> Option<Result<UpstreamPage<'_>, S3Error>> {
    let bytes = text.as_bytes();
    let mut page = PageBuilder::new();
    // Names of the open elements, to check end tags as quick-xml does.
    let mut open: Vec<&[u8]> = Vec::with_capacity(4);
    let mut at = 0;
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        return None;
    }
    loop {
        // Text up to the next markup.
        let from = at;
        let mut references = false;
        loop {
            let rest = bytes.get(at..)?;
            at += rest
                .iter()
                .position(|&b| TEXT_STOP.lookup(b))
                .unwrap_or(rest.len());
            match bytes.get(at) {
                Some(b'&') => {
                    references = true;
                    at += 1;
                }
                Some(b'\r') => return None,
                _ => break,
            }
        }
        if at > from {
            let raw = text.get(from..at)?;
            let piece = if references {
                if !only_predefined_references(raw) {
                    return None;
                }
                Value::Escaped(raw)
            } else {
                Value::Text(Cow::Borrowed(raw))
            };
            page.text(piece);
        }
        if at >= bytes.len() {
            break;
        }
        // Markup: `bytes[at]` is `<`.
        let result = match bytes.get(at + 1)? {
            b'/' => {
                // Only the name of the element open, as it was written.
                let name = open.pop()?;
                let name_end = at + 2 + name.len();
                if bytes.get(at + 2..name_end) != Some(name) || bytes.get(name_end) != Some(&b'>') {
                    return None;
                }
                at = name_end + 1;
                page.end()
            }
            b'?' => {
                // Skipped like quick-xml's declarations and processing instructions, when they
                // end at the first `>`.
                let after = bytes.get(at + 2..)?;
                let len = after.iter().position(|&b| b == b'>')?;
                // Something after `<?`, then `?>`.
                if !matches!(after.get(..len), Some([_, .., b'?'])) {
                    return None;
                }
                at += 2 + len + 1;
                Ok(())
            }
            _ => {
                let name_start = at + 1;
                let name_end = name_end(bytes, name_start);
                if name_end == name_start {
                    return None;
                }
                let name = bytes.get(name_start..name_end)?;
                let (close, empty) = match bytes.get(name_end)? {
                    b'>' => (name_end, false),
                    b'/' if bytes.get(name_end + 1) == Some(&b'>') => (name_end + 1, true),
                    b' ' | b'\t' | b'\n' => {
                        // Attributes: quick-xml only finds the `>` outside quotes.
                        let close = tag_close(bytes, name_end)?;
                        (close, bytes.get(..close)?.ends_with(b"/"))
                    }
                    _ => return None,
                };
                at = close + 1;
                if empty {
                    page.empty()
                } else {
                    open.push(name);
                    page.start(Element::of(text.get(name_start..name_end)?))
                }
            }
        };
        if let Err(e) = result {
            return Some(Err(e));
        }
    }
    Some(page.finish())
}

/// Where a plain element name starting at `from` ends (ASCII letters, digits, `_`, `-`, `.`).
fn name_end(bytes: &[u8], from: usize) -> usize {
    let rest = bytes.get(from..).unwrap_or_default();
    from + rest
        .iter()
        .position(|&b| !NAME_CHAR.lookup(b))
        .unwrap_or(rest.len())
}

/// Bytes that end a run of text for the plain reader: markup, references, carriage returns.
const TEXT_STOP: ByteTable<bool> = byte_table!(|b| matches!(b, b'<' | b'&' | b'\r'));

/// Bytes of the element names the plain reader accepts.
const NAME_CHAR: ByteTable<bool> =
    byte_table!(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));

/// The `>` closing a tag, outside quoted attribute values, as quick-xml finds it.
fn tag_close(bytes: &[u8], from: usize) -> Option<usize> {
    let mut quote = None;
    for (i, &b) in bytes.iter().enumerate().skip(from) {
        match (quote, b) {
            (None, b'>') => return Some(i),
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), b) if b == q => quote = None,
            _ => {}
        }
    }
    None
}

/// Whether every `&` in `raw` starts one of XML's five predefined entities.
fn only_predefined_references(raw: &str) -> bool {
    raw.match_indices('&').all(|(i, _)| {
        let rest = &raw[i..];
        ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
            .iter()
            .any(|e| rest.starts_with(e))
    })
}

/// Text with the five predefined entities replaced (any other `&` is kept as it is; the plain
/// reader passes only text checked by [`only_predefined_references`]).
pub(super) fn unescape_predefined(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let (c, len) = if rest.starts_with("&amp;") {
            ('&', 5)
        } else if rest.starts_with("&lt;") {
            ('<', 4)
        } else if rest.starts_with("&gt;") {
            ('>', 4)
        } else if rest.starts_with("&quot;") {
            ('"', 6)
        } else if rest.starts_with("&apos;") {
            ('\'', 6)
        } else {
            ('&', 1)
        };
        out.push(c);
        rest = &rest[len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::listing::upstream_page::{parse_upstream_page, read_page_events};

    /// Pieces of upstream pages: the plain form S3 writes and everything the plain reader
    /// must leave to quick-xml.
    const PIECES: &[&str] = &[
        "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">",
        "<ListBucketResult>",
        "</ListBucketResult>",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
        "<??>",
        "<?>",
        "<?pi x?>",
        "<Contents>",
        "</Contents>",
        "<Contents/>",
        "<Key>",
        "</Key>",
        "<Key/>",
        "<Key >",
        "</Key >",
        "<Key a=\"<>\">",
        "<Key a='\"'/>",
        "<Key\tb>",
        "<Key/ >",
        "<s3:Key>",
        "</s3:Key>",
        "<LastModified>2026-11-01T00:00:00.000Z</LastModified>",
        "<ETag>&quot;abc&quot;</ETag>",
        "<ETag>abc</ETag>",
        "<Size>3</Size>",
        "<StorageClass>STANDARD</StorageClass>",
        "<CommonPrefixes>",
        "</CommonPrefixes>",
        "<Prefix>",
        "</Prefix>",
        "<IsTruncated>true</IsTruncated>",
        "<NextContinuationToken>a&amp;b</NextContinuationToken>",
        "<Other>",
        "</Other>",
        "curated/sales/",
        "a b",
        "é",
        "&amp;",
        "&lt;",
        "&gt;",
        "&quot;",
        "&apos;",
        "&#65;",
        "&#x1;",
        "&bogus;",
        "&amp",
        "&",
        "<![CDATA[x]]>",
        "<!-- c -->",
        "<!DOCTYPE x>",
        "\r",
        "\r\n",
        "\n",
        " ",
        "\u{feff}",
        "\u{fffe}",
        "<",
        ">",
        "</",
        "<>",
        "\"",
        "/",
    ];

    /// A page that mostly parses: the plain shape with pieces mixed in.
    fn document() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let object = (
            prop::collection::vec(prop::sample::select(PIECES), 0..3),
            prop::collection::vec(prop::sample::select(&PIECES[34..47]), 1..4),
        )
            .prop_map(|(noise, key)| {
                format!(
                    "<Contents>{}<Key>curated/sales/{}</Key><LastModified>2026-11-01T00:00:00.000Z</LastModified><ETag>&quot;abc&quot;</ETag><Size>3</Size></Contents>",
                    noise.concat(),
                    key.concat()
                )
            });
        let part = prop_oneof![
            3 => object,
            1 => prop::sample::select(PIECES).prop_map(str::to_string),
        ];
        (
            any::<bool>(),
            prop::collection::vec(part, 0..8),
            any::<bool>(),
        )
            .prop_map(|(decl, parts, close)| {
                let mut doc = String::new();
                if decl {
                    doc.push_str(PIECES[3]);
                }
                doc.push_str(PIECES[0]);
                doc.push_str(&parts.concat());
                if close {
                    doc.push_str(PIECES[2]);
                }
                doc
            })
    }

    proptest::proptest! {
        #[test]
        fn the_plain_reader_reads_what_quick_xml_reads(doc in document()) {
            if let Some(plain) = read_plain_page(&doc) {
                proptest::prop_assert_eq!(
                    plain.map_err(|e| e.code),
                    read_page_events(&doc).map_err(|e| e.code)
                );
            }
        }

        #[test]
        fn the_plain_reader_agrees_on_any_piece_sequence(
            pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..12)
        ) {
            let doc = pieces.concat();
            if let Some(plain) = read_plain_page(&doc) {
                proptest::prop_assert_eq!(
                    plain.map_err(|e| e.code),
                    read_page_events(&doc).map_err(|e| e.code)
                );
            }
        }
    }

    #[test]
    fn plain_pages_skip_quick_xml_and_the_rest_fall_back() {
        let page = |key: &str| {
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Contents><Key>{key}</Key><LastModified>2026-11-01T00:00:00.000Z</LastModified><ETag>&quot;abc&quot;</ETag><Size>3</Size><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>"
            )
        };
        let key = |doc: &str| {
            parse_upstream_page(doc).unwrap().contents[0]
                .key
                .to_string()
        };
        // Plain, and with the five predefined entities: read without quick-xml.
        for (raw, key_text) in [
            ("a/b c", "a/b c"),
            ("a &amp; &lt;b&gt; &quot;&apos;", "a & <b> \"'"),
        ] {
            let doc = page(raw);
            assert!(read_plain_page(&doc).is_some_and(|p| p.is_ok()), "{doc}");
            assert_eq!(key(&doc), key_text);
        }
        // Character references (also for characters XML cannot carry), CDATA, carriage returns,
        // comments, prefixes: quick-xml's reading, with the same result as before.
        for (raw, key_text) in [
            ("a&#65;&#x1;", "aA\u{1}"),
            ("<![CDATA[a&amp;<b>]]>", "a&amp;<b>"),
            ("a\r\nb\rc", "a\nb\nc"),
            ("a<!-- x -->b", "ab"),
        ] {
            let doc = page(raw);
            assert!(read_plain_page(&doc).is_none(), "{doc}");
            assert_eq!(key(&doc), key_text);
        }
        let doc = page("a").replace("Key>", "s3:Key>");
        assert!(read_plain_page(&doc).is_none());
        assert_eq!(key(&doc), "a");
        // Malformed: refused whichever reader sees it.
        for doc in [
            page("a&b"),
            page("a").replace("</Key>", "</Kex>"),
            page("a&bogus;"),
        ] {
            assert!(parse_upstream_page(&doc).is_err(), "{doc}");
        }
    }
}
