//! Small text helpers: XML escaping, URL and hex encodings.

/// Appends `text` with XML's five special characters escaped. Runs of plain characters are
/// copied whole (keys are mostly plain).
pub fn escape(out: &mut String, text: &str) {
    let mut plain_from = 0;
    for (i, c) in text.char_indices() {
        let replacement = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&quot;",
            '\'' => "&apos;",
            // A raw CR would reach the reader as LF.
            '\r' => "&#13;",
            c if is_xml_char(c) => continue,
            _ => "",
        };
        out.push_str(&text[plain_from..i]);
        if replacement.is_empty() {
            // Characters XML 1.0 cannot carry are written as references, as S3 does (clients
            // should ask for url encoding).
            out.push_str("&#x");
            out.push_str(&format!("{:X}", u32::from(c)));
            out.push(';');
        } else {
            out.push_str(replacement);
        }
        plain_from = i + c.len_utf8();
    }
    out.push_str(&text[plain_from..]);
}

/// Characters XML 1.0 documents may hold literally.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Appends `<name>text</name>` with the text escaped.
pub fn element(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    escape(out, text);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// S3's `encoding-type=url` form of a key: what clients undo with `unquote_plus`.
/// Unreserved characters and `/` stay, space becomes `+`, every other byte `%XX`.
pub fn url_encode_key(out: &mut String, key: &str) {
    for &b in key.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => push_percent(out, b),
        }
    }
}

/// RFC 3986 encoding for one query value or path segment (`/` kept only if `keep_slash`).
pub fn uri_encode(out: &mut String, text: &str, keep_slash: bool) {
    for &b in text.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => push_percent(out, b),
        }
    }
}

/// Bytes of a hex string (either case); `None` if it is not one.
pub fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn push_percent(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(HEX[(b >> 4) as usize] as char);
    out.push(HEX[(b & 15) as usize] as char);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        let mut s = String::new();
        escape(&mut s, "a<b>&\"c'");
        assert_eq!(s, "a&lt;b&gt;&amp;&quot;c&apos;");
        s.clear();
        escape(&mut s, "a\u{1}b\rc\u{FFFE}\td");
        assert_eq!(s, "a&#x1;b&#13;c&#xFFFE;\td");
    }

    #[test]
    fn url_encodes_keys_like_s3() {
        let mut s = String::new();
        url_encode_key(&mut s, "a b+c/é%&");
        assert_eq!(s, "a+b%2Bc/%C3%A9%25%26");
    }

    #[test]
    fn decodes_hex() {
        assert_eq!(decode_hex("00ff1A"), Some(vec![0, 255, 26]));
        assert_eq!(decode_hex("abc"), None);
        assert_eq!(decode_hex("zz"), None);
        assert_eq!(decode_hex("é1"), None);
    }

    #[test]
    fn uri_encodes_segments() {
        let mut s = String::new();
        uri_encode(&mut s, "region=eu/a b", true);
        assert_eq!(s, "region%3Deu/a%20b");
        s.clear();
        uri_encode(&mut s, "a/b", false);
        assert_eq!(s, "a%2Fb");
    }
}
