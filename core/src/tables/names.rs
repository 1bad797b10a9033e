//! How column names and JSON keys are compared with the names a policy masks or filters.
//!
//! A name is governed by exact spelling, but a reader may clean names before it uses them
//! (case folding, trimming, NFKC, accent stripping) and a person reads what a name looks like.
//! So a name that is not the governed one but *folds* to it (below) is a look-alike, and a table
//! holding one is refused rather than served: its clear value would arrive under a name taken
//! for the masked column. Folding is compatibility decomposition (full-width and mathematical
//! letters become plain ones), without combining marks, white space or default-ignorable
//! (invisible) code points, lower-cased, then mapped to the Unicode confusables prototype
//! (UTS #39 skeleton: Cyrillic `е` is Latin `e`).
//!
//! Folding also drops ASCII punctuation (DuckDB's `normalize_names`, and many a cleaning
//! script, keep only letters, digits and underscores, or fewer: `e-mail` becomes `email`) and
//! applies the case foldings that lower-casing lacks (`ß` is `ss`, as Python's `casefold`).
//!
//! Names with control characters (C0, DEL, C1) or bidirectional embedding, override or
//! isolate controls are refused outright wherever masks apply: they display otherwise than
//! they are spelled (`\u{202e}liame` shows as `email`; a terminal erases before a backspace),
//! and readers cut them (DuckDB's data frames end a name at a NUL), so no comparison of their
//! characters says what a reader sees.

use std::sync::OnceLock;

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;
use unicode_security::skeleton;

/// Appends `name`'s folded form to `out`. An ASCII name (the usual case, checked for every
/// JSON key of every record) folds by table, without decomposing.
pub fn fold_into(name: &str, out: &mut String) {
    if name.is_ascii() {
        let table = ascii_folds();
        for b in name.bytes() {
            if let Some(fold) = table.get(usize::from(b)) {
                out.push_str(fold);
            }
        }
        return;
    }
    fold_slowly(name, out);
}

/// The folded form of each ASCII character.
fn ascii_folds() -> &'static [String] {
    static TABLE: OnceLock<Vec<String>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0u8..128)
            .map(|b| {
                let mut fold = String::new();
                fold_slowly(char::from(b).encode_utf8(&mut [0u8; 4]), &mut fold);
                fold
            })
            .collect()
    })
}

fn fold_slowly(name: &str, out: &mut String) {
    let mut one = [0u8; 4];
    for c in name.nfkd() {
        if is_combining_mark(c) || ignored(c) {
            continue;
        }
        for lower in c.to_lowercase().flat_map(full_case_fold) {
            for p in skeleton(lower.encode_utf8(&mut one)) {
                if !is_combining_mark(p) && !ignored(p) {
                    out.extend(p.to_lowercase().flat_map(full_case_fold));
                }
            }
        }
    }
}

/// What folding leaves out: white space, invisible code points, ASCII punctuation.
fn ignored(c: char) -> bool {
    c.is_whitespace() || is_default_ignorable(c) || c.is_ascii_punctuation()
}

/// Unicode's full case folding where it differs from lower-casing for letters a name may
/// hold: `ß` (and `ẞ`, lower-cased to it) is `ss`, final sigma is sigma.
fn full_case_fold(c: char) -> impl Iterator<Item = char> {
    let (first, second) = match c {
        '\u{df}' => ('s', Some('s')),
        '\u{3c2}' => ('\u{3c3}', None),
        other => (other, None),
    };
    std::iter::once(first).chain(second)
}

/// Why a name cannot be compared by its characters, if it cannot: a control character (a
/// line break, LF or CR LF, in a quoted name aside) or a bidirectional control.
pub fn unreadable(name: &str) -> Option<&'static str> {
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        let line_break = c == '\n' || (c == '\r' && chars.peek() == Some(&'\n'));
        if c.is_control() && !line_break {
            return Some("a control character");
        }
    }
    has_bidi_control(name).then_some("a bidirectional control")
}

/// The delimiters a CSV sniffer may choose instead of the data source's (DuckDB tries `,`,
/// `|`, `;` and tab; Python's `csv.Sniffer` also space and `:`).
const OTHER_DELIMITERS: [char; 6] = [',', '|', ';', '\t', ' ', ':'];

/// Whether `name`, split at a delimiter a sniffer may choose instead of the data source's,
/// holds a part that folds to `wanted` (a governed name's fold): a reader splitting there reads
/// that part as a column name (`x;email`).
pub fn names_in_other_dialects(name: &str, wanted: &str) -> bool {
    if !name.contains(OTHER_DELIMITERS) {
        return false;
    }
    let mut part = String::new();
    name.split(OTHER_DELIMITERS).any(|piece| {
        part.clear();
        fold_into(piece, &mut part);
        part == wanted
    })
}

/// `name`'s folded form.
pub fn folded(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    fold_into(name, &mut out);
    out
}

/// Whether `name` holds a bidirectional embedding, override or isolate control.
pub fn has_bidi_control(name: &str) -> bool {
    name.chars()
        .any(|c| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
}

/// Unicode's Default_Ignorable_Code_Point property (DerivedCoreProperties.txt): characters
/// that render as nothing.
fn is_default_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'
            | '\u{034f}'
            | '\u{061c}'
            | '\u{115f}'..='\u{1160}'
            | '\u{17b4}'..='\u{17b5}'
            | '\u{180b}'..='\u{180f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{3164}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff0}'..='\u{fff8}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0000}'..='\u{e0fff}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_of_a_name_fold_to_its_fold() {
        let email = folded("email");
        for alike in [
            "Email",
            " EMAIL ",
            "\u{feff}email",
            "em\u{200b}ail",
            "ｅｍａｉｌ",
            "\u{1d41e}\u{1d426}\u{1d41a}\u{1d422}\u{1d425}",
            "e\u{301}mail",
            "\u{e9}mail",
            "\u{435}mail",
            "em\u{34f}ail",
            "em\u{180e}ail",
            "em\u{2061}ail",
            "email\u{fe0f}",
            "email\u{e0041}",
            "email\u{3164}",
            "email\u{200e}",
            "email\u{61c}",
            "emaIl",
            "ernail",
            "e-mail",
            "e.mail",
            "e_mail",
        ] {
            assert_eq!(folded(alike), email, "{alike:?}");
        }
        assert_eq!(folded("ｕｓｅｒ_id"), folded("user_id"));
        assert_eq!(folded("user\u{ff3f}id"), folded("user_id"));
        assert_eq!(folded("ｓｓｎ"), folded("ssn"));
    }

    #[test]
    fn other_names_fold_apart() {
        let email = folded("email");
        for other in ["emails", "mail", "name", "liame", "email2", ""] {
            assert_ne!(folded(other), email, "{other:?}");
        }
        assert_ne!(folded("prénom"), folded("nom"));
        assert_eq!(folded("\u{df}n"), folded("ssn"));
        assert_eq!(folded("\u{1e9e}n"), folded("ssn"));
    }

    #[test]
    fn ascii_names_fold_by_table_as_they_would_slowly() {
        let all: String = (0u8..128).map(char::from).collect();
        let mut slow = String::new();
        fold_slowly(&all, &mut slow);
        assert_eq!(folded(&all), slow);
        assert_eq!(folded("User_ID 1"), {
            let mut s = String::new();
            fold_slowly("User_ID 1", &mut s);
            s
        });
    }

    #[test]
    fn control_characters_make_a_name_unreadable() {
        for name in [
            "email\0",
            "email\u{7f}",
            "emailx\u{8}",
            "zz\remail",
            "em\u{1}ail",
            "email\u{81}",
            "email\u{1f}",
            "\u{202e}liame",
        ] {
            assert!(unreadable(name).is_some(), "{name:?}");
        }
        assert_eq!(unreadable("prénom"), None);
        assert_eq!(unreadable("na\r\nme"), None);
        assert_eq!(unreadable("first name"), None);
    }

    #[test]
    fn a_governed_name_inside_another_dialect_is_found() {
        let email = folded("email");
        for name in [
            "x;email",
            "x|y|email|q",
            "a\temail",
            "q email x",
            "x:EMAIL",
            "a,email",
        ] {
            assert!(names_in_other_dialects(name, &email), "{name:?}");
        }
        for name in ["first name", "x;mail", "email", "emails;x"] {
            assert!(!names_in_other_dialects(name, &email), "{name:?}");
        }
    }

    #[test]
    fn bidi_controls_are_found() {
        assert!(has_bidi_control("\u{202e}liame"));
        assert!(has_bidi_control("em\u{2067}ail"));
        assert!(!has_bidi_control("email\u{200e}"));
        assert!(!has_bidi_control("prénom"));
    }
}
