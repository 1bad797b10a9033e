//! Percent encodings: S3's `encoding-type=url` for keys, RFC 3986 for paths and queries,
//! and the one percent-decoding every reader of a path or query uses.

use super::byte_table::{byte_table, ByteTable};
use super::hex;

/// S3's `encoding-type=url` form of a key: what clients undo with `unquote_plus`.
/// Unreserved characters and `/` stay, space becomes `+`, every other byte `%XX`.
pub fn url_encode_key(out: &mut String, key: &str) {
    let bytes = key.as_bytes();
    let mut plain_from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if URL_KEPT.lookup(b) {
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
const URL_KEPT: ByteTable<bool> = byte_table!(|b| matches!(
    b,
    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/'
));

/// RFC 3986 encoding for one query value or path segment (`/` kept only if `keep_slash`).
pub fn uri_encode(out: &mut String, text: &str, keep_slash: bool) {
    for &b in text.as_bytes() {
        if is_unreserved(b) || (b == b'/' && keep_slash) {
            out.push(char::from(b));
        } else {
            push_percent(out, b);
        }
    }
}

/// `%XX`, upper-case hex, as S3 and SigV4 encode a byte.
pub fn push_percent(out: &mut String, b: u8) {
    let [hi, lo] = hex::UPPER.lookup(b);
    out.push('%');
    out.push(char::from(hi));
    out.push(char::from(lo));
}

/// Why text does not percent-decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PercentError {
    /// A `%` not followed by two hex digits.
    MalformedEscape,
    /// The decoded bytes are not UTF-8.
    NotUtf8,
}

/// Percent-decodes into UTF-8; malformed escapes or invalid UTF-8 are an error.
pub fn percent_decode(text: &str) -> Result<String, PercentError> {
    let bytes = text.as_bytes();
    if !bytes.contains(&b'%') {
        return Ok(text.to_string());
    }
    let mut out = Vec::with_capacity(bytes.len());
    let digit = |b: u8| char::from(b).to_digit(16);
    let mut rest = bytes;
    while let [byte, after @ ..] = rest {
        rest = after;
        if *byte != b'%' {
            out.push(*byte);
            continue;
        }
        let escaped = after
            .split_first_chunk::<2>()
            .and_then(|(&[hi, lo], after)| Some(((digit(hi)? * 16 + digit(lo)?) as u8, after)));
        let Some((decoded, after)) = escaped else {
            return Err(PercentError::MalformedEscape);
        };
        out.push(decoded);
        rest = after;
    }
    String::from_utf8(out).map_err(|_| PercentError::NotUtf8)
}

/// Decodes `%XX` escapes (and `+` in a query) and re-encodes every byte with AWS's unreserved
/// set. A literal `/` is kept in a path; everything the decoding produced is encoded. Runs that
/// need no change, the common case, are copied whole.
pub fn push_reencoded(out: &mut String, text: &str, in_query: bool) {
    let bytes = text.as_bytes();
    let (mut i, mut run) = (0, 0);
    while let Some(&byte) = bytes.get(i) {
        if is_unreserved(byte) || (byte == b'/' && !in_query) {
            i += 1;
            continue;
        }
        // Runs hold ASCII only, so both ends are character boundaries.
        out.push_str(text.get(run..i).unwrap_or_default());
        let escaped = match (byte, bytes.get(i + 1..i + 3)) {
            (b'%', Some(&[hi, lo])) => {
                let digit = |b: u8| char::from(b).to_digit(16);
                digit(hi).zip(digit(lo)).map(|(h, l)| (h << 4 | l) as u8)
            }
            _ => None,
        };
        match escaped {
            Some(decoded) => {
                push_uri_byte(out, decoded);
                i += 3;
            }
            None => {
                push_uri_byte(out, if byte == b'+' && in_query { b' ' } else { byte });
                i += 1;
            }
        }
        run = i;
    }
    out.push_str(text.get(run..).unwrap_or_default());
}

/// AWS's unreserved set: the bytes SigV4 and S3 leave unencoded.
pub fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~')
}

fn push_uri_byte(out: &mut String, byte: u8) {
    if is_unreserved(byte) {
        out.push(char::from(byte));
    } else {
        push_percent(out, byte);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encodes_keys_like_s3() {
        let mut s = String::new();
        url_encode_key(&mut s, "a b+c/é%&");
        assert_eq!(s, "a+b%2Bc/%C3%A9%25%26");
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

    /// Percent-decoding as the rule says it, byte by byte.
    fn percent_decode_by_byte(text: &str) -> Option<String> {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).ok()
    }

    #[test]
    fn percent_decodes_escapes_and_refuses_broken_ones() {
        assert_eq!(percent_decode("a%41b%c3%A9").ok().as_deref(), Some("aAbé"));
        assert_eq!(
            percent_decode("plain+text").ok().as_deref(),
            Some("plain+text")
        );
        for broken in ["%", "a%4", "%4g", "%g4", "%%41", "%FF", "%C3"] {
            assert!(percent_decode(broken).is_err(), "{broken}");
        }
    }

    proptest::proptest! {
        #[test]
        fn percent_decoding_agrees_with_its_definition(
            text in "([a-z/+ é%]|%[0-9a-fA-FgG]{0,2}){0,16}"
        ) {
            proptest::prop_assert_eq!(percent_decode(&text).ok(), percent_decode_by_byte(&text));
        }

        #[test]
        fn run_copying_url_encoding_agrees_with_its_definition(
            text in "(.|[&<>\"'\r\t\n \u{1}\u{7f}\u{fffe}\u{ffff}\u{fffd}\u{efbf}é/=+%]){0,24}"
        ) {
            let mut out = String::from("x");
            url_encode_key(&mut out, &text);
            proptest::prop_assert_eq!(&out[1..], url_encode_by_byte(&text));
        }
    }
}
