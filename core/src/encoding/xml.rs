//! XML escaping for the documents the gateway writes.

/// Appends `text` with XML's five special characters escaped. Runs of plain characters are
/// copied whole (keys are mostly plain); the scan is by byte, as only ASCII and U+FFFE/U+FFFF
/// (bytes EF BF BE/BF) can need a replacement in UTF-8 text.
pub fn escape(out: &mut String, text: &str) {
    let bytes = text.as_bytes();
    let mut plain_from = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
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

    proptest::proptest! {
        #[test]
        fn run_copying_escape_agrees_with_its_definition(
            text in "(.|[&<>\"'\r\t\n \u{1}\u{7f}\u{fffe}\u{ffff}\u{fffd}\u{efbf}é/=+%]){0,24}"
        ) {
            let mut out = String::from("x");
            escape(&mut out, &text);
            proptest::prop_assert_eq!(&out[1..], escape_by_char(&text));
        }
    }
}
