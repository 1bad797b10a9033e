//! Glob patterns for object rules, matched against keys relative to a data source.
//!
//! - `*` matches any run of characters except `/`; `?` matches one character except `/`;
//!   `**` matches any run of characters including `/`.
//! - A pattern without `/` is matched against the key's last segment (its file name), so
//!   `*.crc` hides `.crc` files at every depth, as in `.gitignore`.
//! - A pattern with `/` is matched against the whole relative key.

/// Whether `pattern` matches `relative_key`.
pub fn matches(pattern: &str, relative_key: &str) -> bool {
    let subject = if pattern.contains('/') {
        relative_key
    } else {
        relative_key.rsplit('/').next().unwrap_or(relative_key)
    };
    match_from(pattern.as_bytes(), subject.as_bytes())
}

/// Whether some key starting with `relative_prefix` could match `pattern`: the prefix is
/// consumed and the pattern may still have more to match. A pattern without `/` matches file
/// names, which any prefix may hold.
pub fn may_match_below(pattern: &str, relative_prefix: &str) -> bool {
    !pattern.contains('/') || match_prefix(pattern.as_bytes(), relative_prefix.as_bytes())
}

/// Like `match_from`, but an exhausted subject is a success: the rest could follow.
fn match_prefix(pattern: &[u8], subject: &[u8]) -> bool {
    if subject.is_empty() {
        return true;
    }
    match pattern.split_first() {
        None => false,
        Some((b'*', rest)) => {
            let (rest, crosses) = match rest.strip_prefix(b"*") {
                Some(r) => (r, true),
                None => (rest, false),
            };
            for i in 0..=subject.len() {
                if match_prefix(rest, &subject[i..]) {
                    return true;
                }
                if !crosses && subject.get(i) == Some(&b'/') {
                    return false;
                }
            }
            // The star can absorb all that is left (and more to come).
            crosses || !subject.contains(&b'/')
        }
        Some((b'?', rest)) => match subject.split_first() {
            Some((c, _)) if *c != b'/' => subject
                .get(utf8_width(*c)..)
                .is_some_and(|t| match_prefix(rest, t)),
            _ => false,
        },
        Some((p, rest)) => match subject.split_first() {
            Some((c, tail)) if c == p => match_prefix(rest, tail),
            _ => false,
        },
    }
}

/// Checks a pattern for problems a policy author should hear about at load time.
pub fn validate(pattern: &str) -> Result<(), String> {
    if pattern.is_empty() {
        return Err("empty pattern".into());
    }
    if pattern.starts_with('/') {
        return Err(format!(
            "pattern {pattern:?} starts with '/'; patterns are relative to the data source"
        ));
    }
    if pattern.contains("***") {
        return Err(format!("pattern {pattern:?} has '***'; use '*' or '**'"));
    }
    Ok(())
}

/// Backtracking matcher over bytes; patterns are short and keys are bounded, and the
/// recursion only branches at `*`/`**`, so this stays cheap for policy-sized patterns.
fn match_from(pattern: &[u8], subject: &[u8]) -> bool {
    match pattern.split_first() {
        None => subject.is_empty(),
        Some((b'*', rest)) => {
            if let Some(rest) = rest.strip_prefix(b"*") {
                // `**` crosses segment boundaries.
                (0..=subject.len()).any(|i| match_from(rest, &subject[i..]))
            } else {
                for i in 0..=subject.len() {
                    if match_from(rest, &subject[i..]) {
                        return true;
                    }
                    if subject.get(i) == Some(&b'/') {
                        break;
                    }
                }
                false
            }
        }
        Some((b'?', rest)) => match subject.split_first() {
            Some((c, tail)) if *c != b'/' => {
                // Step over one whole UTF-8 character.
                let width = utf8_width(*c);
                tail.get(width - 1..).is_some_and(|t| match_from(rest, t))
            }
            _ => false,
        },
        Some((p, rest)) => match subject.split_first() {
            Some((c, tail)) if c == p => match_from(rest, tail),
            _ => false,
        },
    }
}

fn utf8_width(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_stays_in_one_segment() {
        assert!(matches("region=*/part-*.csv", "region=eu/part-0.csv"));
        assert!(!matches("region=*/part-*.csv", "region=eu/x/part-0.csv"));
        assert!(matches("region=**/*.csv", "region=eu/x/part-0.csv"));
        assert!(matches("**/_SUCCESS", "a/b/_SUCCESS"));
    }

    #[test]
    fn pattern_without_slash_matches_file_name() {
        assert!(matches("*.crc", "a/b/.x.crc"));
        assert!(matches("_SUCCESS", "region=us/_SUCCESS"));
        assert!(!matches("_SUCCESS", "region=us/_SUCCESS2"));
    }

    #[test]
    fn question_mark_is_one_character() {
        assert!(matches("?.csv", "é.csv"));
        assert!(!matches("?.csv", "ab.csv"));
        assert!(!matches("a?b", "a/b"));
    }

    #[test]
    fn prefixes_that_may_hold_matches() {
        assert!(may_match_below("region=eu/**", "region=eu/"));
        assert!(may_match_below("region=eu/**", "regi"));
        assert!(may_match_below("region=eu/**", "region=eu/x/y/"));
        assert!(!may_match_below("region=eu/**", "region=us/"));
        assert!(!may_match_below("region=eu/**", "other/"));
        assert!(may_match_below("region=*/part-*", "region=us/"));
        assert!(!may_match_below("region=*/part-*", "region=us/x/"));
        assert!(may_match_below("*.csv", "anything/"));
        assert!(may_match_below("a/**", ""));
    }

    #[test]
    fn validate_rejects_obvious_mistakes() {
        assert!(validate("").is_err());
        assert!(validate("/abs").is_err());
        assert!(validate("a***").is_err());
        assert!(validate("**/*.crc").is_ok());
    }
}
