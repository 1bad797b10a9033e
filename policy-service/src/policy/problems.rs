//! How a problem with the policy files is worded, and how all of them are gathered: each
//! names the file and the entry (`principals.yaml: principal #2 "bob": ...`), one a line, and
//! every problem is reported at once so an author can fix them in one go.

use std::fmt;

/// Everything wrong with a policy directory, one problem per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub problems: Vec<String>,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str(problem)?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyError {}

/// Gathers problems (or warnings, worded the same way) with the file and the entry in front.
pub struct Problems(Vec<String>);

impl Problems {
    pub fn new() -> Self {
        Problems(Vec::new())
    }

    /// Adds `{file}: {entry}: {message}`; `entry` comes from [`entry_label`] or names a field.
    pub fn add(&mut self, file: &str, entry: &str, message: impl fmt::Display) {
        self.0.push(format!("{file}: {entry}: {message}"));
    }

    /// Adds `{file}: {message}`, for a problem with a file as a whole.
    pub fn add_file(&mut self, file: &str, message: impl fmt::Display) {
        self.0.push(format!("{file}: {message}"));
    }

    pub fn into_error(self) -> PolicyError {
        PolicyError { problems: self.0 }
    }

    /// `Ok` when nothing was added, otherwise the problems as the error.
    pub fn into_result(self) -> Result<(), PolicyError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.into_error())
        }
    }

    pub fn into_lines(self) -> Vec<String> {
        self.0
    }
}

/// How a message names an entry of a list: `principal #2 "bob"` (numbered from 1).
pub fn entry_label(kind: &str, index: usize, name: &str) -> String {
    // `{:?}` quotes the name and escapes anything odd in it, so a message stays one line.
    format!("{kind} #{} {name:?}", index + 1)
}

/// Names in a message: `"sales", "events"`.
pub fn quoted_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use crate::policy::fixtures::*;

    #[test]
    fn several_problems_are_reported_at_once() {
        let bad = DATA_SOURCES.replace("prefix: raw/events/", "prefix: raw/events");
        let p = principals().replace("roles: [steward]", "roles: [boss]");
        let e = errors(&bad, &p, RULES);
        assert_eq!(e.lines().count(), 2, "{e}");
    }
}
