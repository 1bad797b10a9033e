//! What of an upstream answer to an object request goes back to the client, and how: headers
//! scrubbed, S3's status codes restored, conditional requests answered, errors rewritten.

use crate::conditional::{Conditions, Verdict};
use crate::s3error::S3Error;

/// What to do with the upstream's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyPlan {
    /// Stream it through untouched.
    Pass,
    /// Send nothing (304).
    Drop,
    /// Hold the (small) upstream error body, read its code, answer with our own error.
    UpstreamError(S3Error),
    /// Drop the upstream's body and answer with this error.
    Error(S3Error),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponsePlan {
    /// The complete response header list, `:status` included.
    pub headers: Vec<(String, String)>,
    pub body: BodyPlan,
}

/// Plans the client's response from the upstream's response headers.
pub fn plan_object_response(
    upstream_headers: Vec<(String, String)>,
    asked_range: bool,
    conditions: &Conditions,
    key: &str,
    request_id: &str,
) -> ResponsePlan {
    let header = |name: &str| {
        upstream_headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let status = header(":status")
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(502);
    let (status, body) = match status {
        200 | 206 => match conditions.evaluate(header("etag"), header("last-modified")) {
            Verdict::Proceed
                if status == 200 && asked_range && header("content-range").is_some() =>
            {
                // Some S3-compatible stores answer a satisfied range with 200; S3 says 206.
                (206, BodyPlan::Pass)
            }
            Verdict::Proceed => (status, BodyPlan::Pass),
            Verdict::NotModified => (304, BodyPlan::Drop),
            Verdict::PreconditionFailed => {
                let error = S3Error::precondition_failed();
                (error.status, BodyPlan::Error(error))
            }
        },
        304 => (304, BodyPlan::Drop),
        _ => {
            let error = S3Error::from_upstream(status, None, key);
            (error.status, BodyPlan::UpstreamError(error))
        }
    };
    let mut headers: Vec<(String, String)> = match body {
        BodyPlan::Pass => upstream_headers
            .into_iter()
            .filter(|(n, _)| keep_response_header(n))
            .collect(),
        // A 304 describes the object without sending it.
        BodyPlan::Drop => upstream_headers
            .into_iter()
            .filter(|(n, _)| {
                matches!(
                    n.as_str(),
                    "etag" | "last-modified" | "cache-control" | "expires" | "date"
                )
            })
            .collect(),
        BodyPlan::Error(_) | BodyPlan::UpstreamError(_) => {
            vec![("content-type".into(), "application/xml".into())]
        }
    };
    headers.retain(|(n, _)| n != ":status");
    headers.insert(0, (":status".into(), status.to_string()));
    headers.push(("x-amz-request-id".into(), request_id.to_string()));
    ResponsePlan { headers, body }
}

/// The `Range` header to send upstream, as S3 reads it: one byte range (`bytes=a-b`, `bytes=a-`
/// or `bytes=-n`) is served; anything else (several ranges, bad syntax, `a > b`) S3 ignores and
/// answers the whole object, so it is not forwarded (`None`).
pub fn forwardable_range(value: &str) -> Option<&str> {
    let spec = value.trim().strip_prefix("bytes=")?;
    let (first, last) = spec.split_once('-')?;
    let number = |t: &str| {
        (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse::<u64>().ok())
            .flatten()
    };
    let valid = match (first.is_empty(), last.is_empty()) {
        (false, false) => matches!((number(first), number(last)), (Some(a), Some(b)) if a <= b),
        (false, true) => number(first).is_some(),
        (true, false) => number(last).is_some_and(|n| n > 0),
        (true, true) => false,
    };
    valid.then_some(value)
}

/// The length of a suffix range (`bytes=-n`), if that is what `value` is.
pub fn suffix_length(value: &str) -> Option<u64> {
    let n = forwardable_range(value)?.trim().strip_prefix("bytes=-")?;
    n.parse().ok()
}

/// Upstream response headers that may reach the client. Everything else (request ids, region,
/// KMS key ids, replication and lifecycle details, server names) stays behind.
pub fn keep_response_header(name: &str) -> bool {
    matches!(
        name,
        ":status"
            | "content-type"
            | "content-length"
            | "content-range"
            | "content-encoding"
            | "content-disposition"
            | "content-language"
            | "cache-control"
            | "expires"
            | "etag"
            | "last-modified"
            | "accept-ranges"
            | "date"
            | "x-amz-server-side-encryption"
            | "x-amz-storage-class"
            | "x-amz-mp-parts-count"
            | "x-amz-tagging-count"
    ) || name.starts_with("x-amz-meta-")
        || name.starts_with("x-amz-checksum-")
}

/// The `<Code>` of an upstream S3 error body, if it has one (only used to pick our own code).
pub fn upstream_error_code(body: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("<Code>")? + "<Code>".len();
    let len = text[start..].find("</Code>")?;
    let code = &text[start..start + len];
    code.bytes()
        .all(|b| b.is_ascii_alphanumeric())
        .then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(status: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut h = vec![
            (":status".to_string(), status.to_string()),
            ("etag".to_string(), "\"abc\"".to_string()),
            (
                "last-modified".to_string(),
                "Thu, 26 Nov 2026 10:00:00 GMT".to_string(),
            ),
            ("content-length".to_string(), "10".to_string()),
            ("x-amz-request-id".to_string(), "REAL".to_string()),
            ("x-amz-id-2".to_string(), "REAL".to_string()),
        ];
        h.extend(extra.iter().map(|(n, v)| (n.to_string(), v.to_string())));
        h
    }

    fn status(plan: &ResponsePlan) -> &str {
        &plan.headers[0].1
    }

    #[test]
    fn success_passes_scrubbed_headers() {
        let plan = plan_object_response(
            upstream("200", &[]),
            false,
            &Conditions::default(),
            "k",
            "rid",
        );
        assert_eq!(status(&plan), "200");
        assert_eq!(plan.body, BodyPlan::Pass);
        assert!(plan
            .headers
            .contains(&("x-amz-request-id".into(), "rid".into())));
        assert!(!plan
            .headers
            .iter()
            .any(|(n, v)| v == "REAL" || n == "x-amz-id-2"));
    }

    #[test]
    fn ranged_200_becomes_206() {
        let plan = plan_object_response(
            upstream("200", &[("content-range", "bytes 0-9/100")]),
            true,
            &Conditions::default(),
            "k",
            "r",
        );
        assert_eq!(status(&plan), "206");
        let plan =
            plan_object_response(upstream("200", &[]), true, &Conditions::default(), "k", "r");
        assert_eq!(
            status(&plan),
            "200",
            "a range the store ignored is a full 200, as in S3"
        );
    }

    #[test]
    fn conditions_are_answered_by_the_gateway() {
        let c = Conditions {
            if_none_match: Some("\"abc\"".into()),
            ..Default::default()
        };
        let plan = plan_object_response(upstream("200", &[]), false, &c, "k", "r");
        assert_eq!((status(&plan), &plan.body), ("304", &BodyPlan::Drop));
        assert!(!plan.headers.iter().any(|(n, _)| n == "content-length"));
        let c = Conditions {
            if_match: Some("\"zzz\"".into()),
            ..Default::default()
        };
        let plan = plan_object_response(upstream("200", &[]), false, &c, "k", "r");
        assert_eq!(status(&plan), "412");
        assert!(matches!(plan.body, BodyPlan::Error(ref e) if e.code == "PreconditionFailed"));
    }

    #[test]
    fn only_single_well_formed_ranges_go_upstream() {
        for ok in ["bytes=0-9", "bytes=100-", "bytes=-5", "bytes=7-7"] {
            assert_eq!(forwardable_range(ok), Some(ok));
        }
        for ignored in [
            "bytes=0-1,5-6",
            "bytes=abc",
            "bytes=5-2",
            "bytes=-",
            "bytes=-0",
            "items=0-1",
            "bytes=1-2-3",
            "bytes=99999999999999999999999-",
        ] {
            assert_eq!(forwardable_range(ignored), None, "{ignored}");
        }
    }

    #[test]
    fn suffix_ranges_are_recognised() {
        assert_eq!(suffix_length("bytes=-500"), Some(500));
        assert_eq!(suffix_length("bytes=0-500"), None);
        assert_eq!(suffix_length("bytes=-1,-2"), None);
    }

    #[test]
    fn upstream_errors_are_replaced() {
        let plan = plan_object_response(
            upstream("404", &[]),
            false,
            &Conditions::default(),
            "sales/x",
            "r",
        );
        assert_eq!(status(&plan), "404");
        assert!(matches!(plan.body, BodyPlan::UpstreamError(ref e) if e.code == "NoSuchKey"));
        assert_eq!(plan.headers.len(), 3, "{:?}", plan.headers);
        let plan = plan_object_response(
            upstream("301", &[("location", "http://real")]),
            false,
            &Conditions::default(),
            "k",
            "r",
        );
        assert_eq!(status(&plan), "502");
        assert!(!plan.headers.iter().any(|(n, _)| n == "location"));
    }

    #[test]
    fn only_safe_headers_go_back() {
        assert!(keep_response_header("etag"));
        assert!(keep_response_header("x-amz-meta-owner"));
        for h in [
            "x-amz-request-id",
            "x-amz-id-2",
            "x-amz-bucket-region",
            "server",
            "x-amz-server-side-encryption-aws-kms-key-id",
            "location",
        ] {
            assert!(!keep_response_header(h), "{h}");
        }
    }

    #[test]
    fn reads_upstream_error_codes() {
        assert_eq!(
            upstream_error_code(b"<Error><Code>SlowDown</Code><Message>x</Message></Error>"),
            Some("SlowDown")
        );
        assert_eq!(upstream_error_code(b"upstream connect error"), None);
        assert_eq!(upstream_error_code(b"<Code>a<b</Code>"), None);
    }
}
