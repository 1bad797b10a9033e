//! The names a known S3 upstream may serve for a key it is asked for.
//!
//! Visibility must be decided on the name of the object the upstream serves, not on the key the
//! client sent: `x.crc/` is not matched by `*.crc`, yet `rclone serve s3` serves the file
//! `x.crc` for it. So every per-object rule judges a key under each name in [`NORMALISATIONS`]
//! ([`every_name`]); a key one of them turns into something that is not an object of the same
//! data source is nothing the gateway serves.
//!
//! The list models the stores the gateway is run against, as observed on them (the e2e suite
//! runs its hostile tests on both file-backed ones; docs/s3-compatibility.md has the details):
//! - S3 itself, MinIO and other stores that keep keys as names serve the key as it is
//!   (`x.crc/` is a folder marker, an object of its own).
//! - `rclone serve s3` joins bucket and key as a file path (Go's `path.Join`): a trailing `/`
//!   (or several) is dropped; it refuses inner empty, `.` and `..` segments with
//!   `InvalidArgument`, which the lexical clean below covers anyway.
//! - `s3s-fs` joins the key to its root folder and normalises the path: empty segments,
//!   `.`, `..`, a trailing `/` or `/.` are all resolved.
//!
//! Not modelled, so not supported as upstreams: file systems that fold case or Unicode
//! (macOS, Windows; rclone's `--vfs-case-insensitive`), or that drop trailing dots and spaces.
//!
//! Keys here are relative to a data source's real prefix, which is clean (no empty, `.` or `..`
//! segment; the policy service refuses others), so cleaning the relative key and cleaning the
//! whole real key name the same object.

use std::borrow::Cow;

/// One way known stores turn the key they are asked for into the name of what they serve.
pub struct Normalisation {
    /// The stores that resolve keys this way.
    pub stores: &'static str,
    /// The name served for a key relative to its data source, or `None` when the key names
    /// no object of the data source (it climbs out, or names the data source's folder).
    pub apply: fn(&str) -> Option<Cow<'_, str>>,
}

/// Every normalisation of a known store (see the module documentation).
pub const NORMALISATIONS: &[Normalisation] = &[
    Normalisation {
        stores: "S3, MinIO: the key is the name",
        apply: exact,
    },
    Normalisation {
        stores: "rclone serve s3, s3s-fs: the key is a file path, cleaned",
        apply: clean_path,
    },
];

/// The key as it is.
pub fn exact(key: &str) -> Option<Cow<'_, str>> {
    (!key.is_empty()).then_some(Cow::Borrowed(key))
}

/// The key read as a relative file path and cleaned lexically: empty and `.` segments dropped
/// (so a leading, doubled or trailing `/` too), each `..` taking the segment before it.
pub fn clean_path(key: &str) -> Option<Cow<'_, str>> {
    let trimmed = key.trim_end_matches('/');
    // The common case: only trailing slashes (or nothing) to drop, no copy.
    if !trimmed.is_empty() && trimmed.split('/').all(|s| !matches!(s, "" | "." | "..")) {
        return Some(Cow::Borrowed(trimmed));
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in key.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop()?;
            }
            name => segments.push(name),
        }
    }
    (!segments.is_empty()).then(|| Cow::Owned(segments.join("/")))
}

/// Whether `accept` holds for every name a known store may serve for `key` (each distinct name
/// asked once). A key some store resolves to no object of the data source: `false`.
pub fn every_name(key: &str, accept: impl Fn(&str) -> bool) -> bool {
    let mut asked: [Option<Cow<'_, str>>; NORMALISATIONS.len()] = Default::default();
    for normalisation in NORMALISATIONS {
        let Some(name) = (normalisation.apply)(key) else {
            return false;
        };
        if asked.iter().flatten().any(|seen| *seen == name) {
            continue;
        }
        if !accept(&name) {
            return false;
        }
        // A slot per normalisation, so one is always free.
        if let Some(free) = asked.iter_mut().find(|slot| slot.is_none()) {
            *free = Some(name);
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stores_clean_the_path() {
        let clean = |k| clean_path(k).map(Cow::into_owned);
        assert_eq!(clean("a/b.crc/").as_deref(), Some("a/b.crc"));
        assert_eq!(clean("a/b.crc///").as_deref(), Some("a/b.crc"));
        assert_eq!(clean("a//b/./c/").as_deref(), Some("a/b/c"));
        assert_eq!(clean("/a/x/../b/.").as_deref(), Some("a/b"));
        assert_eq!(clean("a/b").as_deref(), Some("a/b"));
        assert!(matches!(clean_path("a/b/"), Some(Cow::Borrowed("a/b"))));
        for outside in ["", "/", "a/..", "..", "a/../../b", "./"] {
            assert_eq!(clean(outside), None, "{outside:?}");
        }
        assert_eq!(exact(""), None);
    }

    #[test]
    fn a_key_is_judged_under_every_name() {
        let not_crc = |name: &str| !name.ends_with(".crc");
        assert!(every_name("a/b.csv", not_crc));
        assert!(!every_name("a/b.crc", not_crc));
        assert!(
            !every_name("a/b.crc/", not_crc),
            "rclone serves a/b.crc for it"
        );
        assert!(!every_name("a/..", |_| true));
        let asked = std::cell::Cell::new(0);
        assert!(every_name("a/b", |_| {
            asked.set(asked.get() + 1);
            true
        }));
        assert_eq!(asked.get(), 1, "one distinct name, asked once");
    }
}
