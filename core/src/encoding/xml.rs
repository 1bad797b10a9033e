//! Small text helpers: XML escaping, URL and hex encodings.

/// Appends `text` with XML's five special characters escaped. Runs of plain characters are
/// copied whole (keys are mostly plain); the scan is by byte, as only ASCII and U+FFFE/U+FFFF
/// (bytes EF BF BE/BF) can need a replacement in UTF-8 text.
pub fn escape(out: &mut String, text: &str) {
    let bytes = text.as_bytes();
    let mut plain_from = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let special = match b {
            b'&' | b'<' | b'>' | b'"' | b'\'' | b'\r' => true,
            b'\t' | b'\n' => false,
            0..=0x1F => true,
            0xEF => matches!(bytes.get(i + 1..i + 3), Some([0xBF, 0xBE | 0xBF])),
            _ => false,
        };
        if !special {
            i += 1;
            continue;
        }
        // `i` starts a character: every byte above is ASCII or a lead byte.
        let Some(c) = text.get(i..).and_then(|rest| rest.chars().next()) else {
            break;
        };
        out.push_str(&text[plain_from..i]);
        let replacement = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&quot;",
            '\'' => "&apos;",
            // A raw CR would reach the reader as LF.
            '\r' => "&#13;",
            _ => "",
        };
        if replacement.is_empty() {
            // Characters XML 1.0 cannot carry are written as references, as S3 does (clients
            // should ask for url encoding).
            debug_assert!(!is_xml_char(c));
            out.push_str("&#x");
            out.push_str(&format!("{:X}", u32::from(c)));
            out.push(';');
        } else {
            out.push_str(replacement);
        }
        i += c.len_utf8();
        plain_from = i;
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
    let bytes = key.as_bytes();
    let mut plain_from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if URL_KEPT[usize::from(b)] {
            continue;
        }
        // Runs of kept characters are ASCII, so `i` is a character boundary.
        out.push_str(key.get(plain_from..i).unwrap_or_default());
        if b == b' ' {
            out.push('+');
        } else {
            push_percent(out, b);
        }
        plain_from = i + 1;
    }
    out.push_str(key.get(plain_from..).unwrap_or_default());
}

/// Bytes [`url_encode_key`] keeps as they are, by value (a table: keys are encoded per object).
const URL_KEPT: [bool; 256] = {
    let mut kept = [false; 256];
    let mut b = 0;
    while b < 256 {
        kept[b] = matches!(b as u8, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/');
        b += 1;
    }
    kept
};

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

/// `%XX`, upper-case hex, as S3 and SigV4 encode a byte.
pub(crate) fn push_percent(out: &mut String, b: u8) {
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

    /// The character-by-character definitions the run-copying encoders must agree with.
    fn escape_by_char(text: &str) -> String {
        let mut out = String::new();
        for c in text.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&apos;"),
                '\r' => out.push_str("&#13;"),
                c if is_xml_char(c) => out.push(c),
                c => out.push_str(&format!("&#x{:X};", u32::from(c))),
            }
        }
        out
    }

    fn url_encode_by_byte(key: &str) -> String {
        let mut out = String::new();
        for &b in key.as_bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                    out.push(b as char)
                }
                b' ' => out.push('+'),
                _ => push_percent(&mut out, b),
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn run_copying_encoders_agree_with_their_definitions(
            text in "(.|[&<>\"'\r\t\n \u{1}\u{7f}\u{fffe}\u{ffff}\u{fffd}\u{efbf}é/=+%]){0,24}"
        ) {
            let mut out = String::from("x");
            escape(&mut out, &text);
            proptest::prop_assert_eq!(&out[1..], escape_by_char(&text));
            out.truncate(1);
            url_encode_key(&mut out, &text);
            proptest::prop_assert_eq!(&out[1..], url_encode_by_byte(&text));
        }
    }
}
