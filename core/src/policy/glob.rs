//! Glob patterns for object rules, matched against keys relative to a data source.
//!
//! - `*` matches any run of characters except `/`; `?` matches one character except `/`;
//!   `**` matches any run of characters including `/`.
//! - A pattern without `/` is matched against the key's last segment (its file name), so
//!   `*.crc` hides `.crc` files at every depth, as in `.gitignore`.
//! - A pattern with `/` is matched against the whole relative key.

/// Whether `pattern` matches `relative_key`. Compiles nothing for the common shapes (a single
/// object request checks a few patterns once; a listing compiles them with `Pattern::new`).
pub fn matches(pattern: &str, relative_key: &str) -> bool {
    Pattern::borrowed(pattern).matches(relative_key)
}

/// A pattern compiled once, for matching many keys (a listing checks every object). `S` holds
/// the literal text: `String` when compiled, `&str` for a one-off match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern<S = String> {
    /// No `/` in the pattern: it is matched against the file name.
    by_name: bool,
    form: Form<S>,
}

/// The common shapes of policy patterns get a plain string test; the rest the general matcher.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Form<S> {
    /// No wildcard: `_SUCCESS`.
    Exact(S),
    /// `*` then no wildcard: `*.crc` (the star may not cross `/`).
    Suffix(S),
    /// No wildcard then `**`: `region=eu/**`.
    Prefix(S),
    General(Vec<Token>),
}

impl<'p> Pattern<&'p str> {
    /// The pattern read in place: no copy of its text.
    pub fn borrowed(pattern: &'p str) -> Self {
        let literal = |t: &str| !t.contains(['*', '?']);
        let form = if literal(pattern) {
            Form::Exact(pattern)
        } else if let Some(rest) = pattern.strip_prefix('*').filter(|r| literal(r)) {
            Form::Suffix(rest)
        } else if let Some(rest) = pattern.strip_suffix("**").filter(|r| literal(r)) {
            Form::Prefix(rest)
        } else {
            Form::General(tokens(pattern))
        };
        Pattern {
            by_name: !pattern.contains('/'),
            form,
        }
    }
}

impl Pattern {
    pub fn new(pattern: &str) -> Pattern {
        let Pattern { by_name, form } = Pattern::borrowed(pattern);
        let form = match form {
            Form::Exact(text) => Form::Exact(text.to_string()),
            Form::Suffix(text) => Form::Suffix(text.to_string()),
            Form::Prefix(text) => Form::Prefix(text.to_string()),
            Form::General(tokens) => Form::General(tokens),
        };
        Pattern { by_name, form }
    }
}

impl<S: AsRef<str>> Pattern<S> {
    pub fn matches(&self, relative_key: &str) -> bool {
        // Keys are short: a plain backward scan beats a searcher.
        let subject = if self.by_name {
            match relative_key.bytes().rposition(|b| b == b'/') {
                Some(slash) => &relative_key[slash + 1..],
                None => relative_key,
            }
        } else {
            relative_key
        };
        match &self.form {
            Form::Exact(text) => subject == text.as_ref(),
            Form::Suffix(text) => {
                let text = text.as_ref();
                subject.ends_with(text)
                    && (self.by_name || !subject[..subject.len() - text.len()].contains('/'))
            }
            Form::Prefix(text) => subject.starts_with(text.as_ref()),
            Form::General(tokens) => pattern_prefixes_matching(tokens, subject)
                .last()
                .copied()
                .unwrap_or(false),
        }
    }
}

/// Whether some key starting with `relative_prefix` could match `pattern`. A pattern without
/// `/` matches file names, which any prefix may hold.
pub fn may_match_below(pattern: &str, relative_prefix: &str) -> bool {
    if !pattern.contains('/') {
        return true;
    }
    // After the prefix, any state reached can still be completed: every rest of a pattern
    // matches some string.
    pattern_prefixes_matching(&tokens(pattern), relative_prefix)
        .iter()
        .any(|r| *r)
}

/// Whether every key starting with `relative_prefix` matches `pattern` (a hidden pattern like
/// `tmp/**` hides a whole folder). Only the literal-then-`**` form is recognised; anything else
/// answers `false`, which is the safe side for listings.
pub fn covers_all_below(pattern: &str, relative_prefix: &str) -> bool {
    match pattern.strip_suffix("**") {
        Some(literal) if !literal.contains(['*', '?']) => relative_prefix.starts_with(literal),
        _ => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Char(char),
    /// `?`: one character but `/`.
    One,
    /// `*`: any run without `/`.
    Star,
    /// `**`: any run.
    DoubleStar,
}

fn tokens(pattern: &str) -> Vec<Token> {
    let mut out = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                Token::DoubleStar
            }
            '*' => Token::Star,
            '?' => Token::One,
            c => Token::Char(c),
        });
    }
    out
}

/// For each pattern position i, whether the pattern's first i tokens match all of `subject`.
/// Dynamic programming over (pattern position, subject position): time grows with pattern ×
/// key, never exponentially, whatever the pattern (patterns come from policies, keys from
/// clients).
fn pattern_prefixes_matching(tokens: &[Token], subject: &str) -> Vec<bool> {
    // state[i]: tokens[..i] matches the subject consumed so far; one more entry than tokens.
    let mut state: Vec<bool> = std::iter::once(true)
        .chain(tokens.iter().map(|_| false))
        .collect();
    close_stars(tokens, &mut state);
    let mut next = Vec::with_capacity(state.len());
    for c in subject.chars() {
        next.clear();
        // Position i is reached by a single-character token at i - 1 consuming `c`, or by a
        // star at i eating it (a star stays on its token while it eats characters).
        let mut entered = false;
        for (&reached, token) in state.iter().zip(tokens) {
            let (stays, advances) = match token {
                _ if !reached => (false, false),
                Token::Char(p) => (false, *p == c),
                Token::One => (false, c != '/'),
                Token::Star => (c != '/', false),
                Token::DoubleStar => (true, false),
            };
            next.push(entered || stays);
            entered = advances;
        }
        next.push(entered);
        close_stars(tokens, &mut next);
        if !next.iter().any(|r| *r) {
            return next;
        }
        std::mem::swap(&mut state, &mut next);
    }
    state
}

/// A star may also match nothing: reaching a star's position reaches the one after it.
fn close_stars(tokens: &[Token], state: &mut [bool]) {
    let mut carried = false;
    for (reached, token) in state.iter_mut().zip(tokens.iter().map(Some).chain([None])) {
        *reached |= carried;
        carried = *reached && matches!(token, Some(Token::Star | Token::DoubleStar));
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
    fn compiled_forms_agree_with_the_general_matcher() {
        let general = |p: &str, k: &str| {
            let subject = if p.contains('/') {
                k
            } else {
                k.rsplit('/').next().unwrap_or(k)
            };
            pattern_prefixes_matching(&tokens(p), subject)
                .last()
                .copied()
                .unwrap_or(false)
        };
        let patterns = [
            "_SUCCESS",
            "*.crc",
            "region=eu/**",
            "a/*",
            "*/x",
            "**",
            "*",
            "a?c",
            "**/b",
        ];
        let keys = [
            "_SUCCESS",
            "a/_SUCCESS",
            "x.crc",
            "a/.x.crc",
            "region=eu/a",
            "region=eu",
            "a/b",
            "a/b/c",
            "c/x",
            "abc",
            "",
            "a/b/x",
        ];
        for p in patterns {
            for k in keys {
                assert_eq!(Pattern::new(p).matches(k), general(p, k), "{p} on {k}");
            }
        }
        assert!(matches!(Pattern::new("*.crc").form, Form::Suffix(_)));
        assert!(matches!(Pattern::new("region=eu/**").form, Form::Prefix(_)));
    }

    #[test]
    fn whole_folders_covered_by_hidden_patterns() {
        assert!(covers_all_below("tmp/**", "tmp/"));
        assert!(covers_all_below("tmp/**", "tmp/x/"));
        assert!(!covers_all_below("tmp/**", "tm"));
        assert!(!covers_all_below("*/tmp/**", "a/tmp/"));
        assert!(!covers_all_below("_SUCCESS", "tmp/"));
    }

    #[test]
    fn hostile_patterns_and_keys_are_answered() {
        // A backtracking matcher takes exponential time on these; the table answers in
        // pattern × key steps.
        assert!(!matches("*a*a*a*a*a*b", &"a".repeat(1024)));
        assert!(!matches("**a**a**a**b", &"a".repeat(1024)));
        assert!(!matches("**/**/**/*.csv", &"a/".repeat(512)));
        assert!(matches("**/**/**/*.csv", "a/b/c/d.csv"));
    }

    #[test]
    fn validate_rejects_obvious_mistakes() {
        assert!(validate("").is_err());
        assert!(validate("/abs").is_err());
        assert!(validate("a***").is_err());
        assert!(validate("**/*.crc").is_ok());
    }
}
