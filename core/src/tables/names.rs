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
//! Names with bidirectional embedding, override or isolate controls are refused outright
//! wherever masks apply: they display in another order than they are spelled (`\u{202e}liame`
//! shows as `email`), so no comparison of their characters says what a reader sees.

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
        if is_combining_mark(c) || c.is_whitespace() || is_default_ignorable(c) {
            continue;
        }
        for lower in c.to_lowercase() {
            for p in skeleton(lower.encode_utf8(&mut one)) {
                if !is_combining_mark(p) {
                    out.extend(p.to_lowercase());
                }
            }
        }
    }
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
        for other in ["emails", "e_mail", "mail", "name", "liame", "e-mail", ""] {
            assert_ne!(folded(other), email, "{other:?}");
        }
        assert_ne!(folded("user_id"), folded("userid"));
        assert_ne!(folded("prénom"), folded("nom"));
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
    fn bidi_controls_are_found() {
        assert!(has_bidi_control("\u{202e}liame"));
        assert!(has_bidi_control("em\u{2067}ail"));
        assert!(!has_bidi_control("email\u{200e}"));
        assert!(!has_bidi_control("prénom"));
    }
}
