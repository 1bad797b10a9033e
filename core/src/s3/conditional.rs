//! Conditional GET/HEAD (`If-Match`, `If-None-Match`, `If-Modified-Since`, `If-Unmodified-Since`)
//! evaluated by the gateway against the object's `ETag` and `Last-Modified`, with S3's rules, so
//! clients get S3's 304/412 whatever the upstream store does with these headers.

use crate::encoding::dates::parse_http_date;

/// The client's conditions, as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions {
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    pub if_unmodified_since: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Serve the object.
    Proceed,
    /// 304 Not Modified.
    NotModified,
    /// 412 PreconditionFailed.
    PreconditionFailed,
}

impl Conditions {
    pub fn is_empty(&self) -> bool {
        self.if_match.is_none()
            && self.if_none_match.is_none()
            && self.if_modified_since.is_none()
            && self.if_unmodified_since.is_none()
    }

    /// S3's order: `If-Match` (412) overrides `If-Unmodified-Since`; `If-None-Match` (304)
    /// overrides `If-Modified-Since`. Unparsable dates are ignored, as HTTP says.
    pub fn evaluate(&self, etag: Option<&str>, last_modified: Option<&str>) -> Verdict {
        // Most requests have no conditions: no date to parse.
        if self.is_empty() {
            return Verdict::Proceed;
        }
        let modified = last_modified.and_then(parse_http_date);
        match &self.if_match {
            Some(list) => {
                if !etag_list_matches(list, etag) {
                    return Verdict::PreconditionFailed;
                }
            }
            None => {
                if let (Some(since), Some(modified)) = (
                    self.if_unmodified_since
                        .as_deref()
                        .and_then(parse_http_date),
                    modified,
                ) {
                    if modified > since {
                        return Verdict::PreconditionFailed;
                    }
                }
            }
        }
        match &self.if_none_match {
            Some(list) => {
                if etag_list_matches(list, etag) {
                    return Verdict::NotModified;
                }
            }
            None => {
                if let (Some(since), Some(modified)) = (
                    self.if_modified_since.as_deref().and_then(parse_http_date),
                    modified,
                ) {
                    if modified <= since {
                        return Verdict::NotModified;
                    }
                }
            }
        }
        Verdict::Proceed
    }
}

/// Whether `If-Range` holds, so its Range is served (RFC 9110 §13.1.5): a strong entity tag
/// equal to the object's (strong) ETag, or an HTTP date exactly equal to its Last-Modified.
/// Anything else (a weak tag, a tag or date that differs, a value that is neither) is false,
/// and the Range is ignored: the whole object is served.
pub fn if_range_holds(value: &str, etag: Option<&str>, last_modified: Option<&str>) -> bool {
    let value = value.trim();
    if value.starts_with('"') {
        let strong = |t: &str| t.len() >= 2 && t.starts_with('"') && t.ends_with('"');
        return strong(value) && etag.is_some_and(|e| strong(e.trim()) && e.trim() == value);
    }
    if value.starts_with("W/") {
        return false;
    }
    match (
        parse_http_date(value),
        last_modified.and_then(parse_http_date),
    ) {
        (Some(date), Some(modified)) => date == modified,
        _ => false,
    }
}

/// `*` or a comma-separated list of entity tags (quoted or not, weak or strong).
fn etag_list_matches(list: &str, etag: Option<&str>) -> bool {
    let Some(etag) = etag else {
        return false;
    };
    let bare = |t: &str| {
        t.trim()
            .trim_start_matches("W/")
            .trim_matches('"')
            .to_string()
    };
    let wanted = bare(etag);
    list.split(',')
        .any(|t| t.trim() == "*" || bare(t) == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETAG: &str = "\"abc\"";
    const MODIFIED: &str = "Thu, 26 Nov 2026 10:00:00 GMT";
    const BEFORE: &str = "Wed, 25 Nov 2026 10:00:00 GMT";
    const AFTER: &str = "Fri, 27 Nov 2026 10:00:00 GMT";

    fn verdict(c: Conditions) -> Verdict {
        c.evaluate(Some(ETAG), Some(MODIFIED))
    }

    #[test]
    fn if_range() {
        let holds = |v: &str| if_range_holds(v, Some(ETAG), Some(MODIFIED));
        assert!(holds("\"abc\""));
        assert!(holds(" \"abc\" "));
        assert!(holds(MODIFIED));
        // Without the optional weekday it is the same date.
        assert!(holds("26 Nov 2026 10:00:00 GMT"));
        for never in [
            "\"x\"",
            "W/\"abc\"",
            "abc",
            "\"abc",
            "*",
            BEFORE,
            AFTER,
            "not a date",
            "",
        ] {
            assert!(!holds(never), "{never}");
        }
        // A weak ETag on the object never matches (strong comparison), nor does a missing one.
        assert!(!if_range_holds(
            "\"abc\"",
            Some("W/\"abc\""),
            Some(MODIFIED)
        ));
        assert!(!if_range_holds("\"abc\"", None, Some(MODIFIED)));
        assert!(!if_range_holds(MODIFIED, Some(ETAG), None));
    }

    #[test]
    fn if_match() {
        let c = |v: &str| Conditions {
            if_match: Some(v.into()),
            ..Default::default()
        };
        assert_eq!(verdict(c("\"abc\"")), Verdict::Proceed);
        assert_eq!(verdict(c("abc")), Verdict::Proceed);
        assert_eq!(verdict(c("*")), Verdict::Proceed);
        assert_eq!(verdict(c("\"x\", \"abc\"")), Verdict::Proceed);
        assert_eq!(verdict(c("\"x\"")), Verdict::PreconditionFailed);
    }

    #[test]
    fn if_none_match() {
        let c = |v: &str| Conditions {
            if_none_match: Some(v.into()),
            ..Default::default()
        };
        assert_eq!(verdict(c("\"abc\"")), Verdict::NotModified);
        assert_eq!(verdict(c("*")), Verdict::NotModified);
        assert_eq!(verdict(c("\"x\"")), Verdict::Proceed);
    }

    #[test]
    fn dates_and_s3_precedence() {
        let ims = |d: &str| Conditions {
            if_modified_since: Some(d.into()),
            ..Default::default()
        };
        assert_eq!(verdict(ims(BEFORE)), Verdict::Proceed);
        assert_eq!(verdict(ims(MODIFIED)), Verdict::NotModified);
        assert_eq!(verdict(ims(AFTER)), Verdict::NotModified);
        let ius = |d: &str| Conditions {
            if_unmodified_since: Some(d.into()),
            ..Default::default()
        };
        assert_eq!(verdict(ius(BEFORE)), Verdict::PreconditionFailed);
        assert_eq!(verdict(ius(AFTER)), Verdict::Proceed);
        // If-Match true wins over a failing If-Unmodified-Since.
        let c = Conditions {
            if_match: Some(ETAG.into()),
            if_unmodified_since: Some(BEFORE.into()),
            ..Default::default()
        };
        assert_eq!(verdict(c), Verdict::Proceed);
        // If-None-Match false wins over a true If-Modified-Since (the object is served).
        let c = Conditions {
            if_none_match: Some("\"x\"".into()),
            if_modified_since: Some(AFTER.into()),
            ..Default::default()
        };
        assert_eq!(verdict(c), Verdict::Proceed);
        // A bad date is ignored.
        assert_eq!(verdict(ims("yesterday")), Verdict::Proceed);
    }
}
