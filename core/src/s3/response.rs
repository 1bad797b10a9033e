//! What of an upstream answer to an object request goes back to the client, and how: headers
//! scrubbed, S3's status codes restored, conditional requests answered, errors rewritten.

use crate::headers::Headers;
use crate::s3::conditional::{Conditions, Verdict};
use crate::s3::error::S3Error;

// The Range rules live in `s3::range`; the flow reaches them here too.
pub use crate::s3::range::{forwardable_range, suffix_length};

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

/// The client's response as edits to the upstream's header map: Envoy changes a few headers in
/// place far cheaper than it rebuilds the whole map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponsePlan {
    /// The status to answer with, when it differs from the upstream's.
    pub status: Option<u32>,
    /// Upstream headers that must not reach the client (every value of each name).
    pub remove: Vec<String>,
    /// Headers set (replacing any upstream value).
    pub set: Vec<(&'static str, String)>,
    pub body: BodyPlan,
}

impl ResponsePlan {
    /// The header list the client gets: the edits applied to `upstream`, `:status` first.
    pub fn apply(&self, upstream: &(impl Headers + ?Sized)) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = upstream
            .pairs()
            .filter(|(n, _)| {
                !self.remove.iter().any(|r| r == n) && !self.set.iter().any(|(s, _)| s == n)
            })
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        if let Some(status) = self.status {
            out.retain(|(n, _)| n != ":status");
            out.insert(0, (":status".into(), status.to_string()));
        }
        out.extend(self.set.iter().map(|(n, v)| (n.to_string(), v.clone())));
        out
    }
}

/// Plans the client's response from the upstream's response headers.
pub fn plan_object_response(
    upstream_headers: &(impl Headers + ?Sized),
    asked_range: bool,
    conditions: &Conditions,
    key: &str,
    request_id: &str,
) -> ResponsePlan {
    let header = |name: &str| {
        upstream_headers
            .pairs()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    };
    let upstream_status = header(":status").and_then(|v| v.parse::<u32>().ok());
    let (status, body) = match upstream_status.unwrap_or(502) {
        status @ (200 | 206) => {
            match conditions.evaluate(header("etag"), header("last-modified")) {
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
            }
        }
        304 => (304, BodyPlan::Drop),
        status => {
            let error = S3Error::from_upstream(status, None, key);
            (error.status, BodyPlan::UpstreamError(error))
        }
    };
    let keep: fn(&str) -> bool = match body {
        BodyPlan::Pass => keep_response_header,
        // A 304 describes the object without sending it.
        BodyPlan::Drop => |n| {
            matches!(
                n,
                "etag" | "last-modified" | "cache-control" | "expires" | "date"
            )
        },
        BodyPlan::Error(_) | BodyPlan::UpstreamError(_) => |_| false,
    };
    // Empty for a plain answer: no allocation.
    let mut set = Vec::new();
    if matches!(body, BodyPlan::Error(_) | BodyPlan::UpstreamError(_)) {
        set.push(("content-type", "application/xml".to_string()));
    }
    // Envoy's route may already have written the gateway's id (envoy.yaml's
    // `response_headers_to_add`): a header edit is a host call, so none is spent on a no-op.
    let mut request_ids = upstream_headers
        .pairs()
        .filter(|(n, _)| *n == "x-amz-request-id");
    let id_in_place =
        request_ids.next().is_some_and(|(_, v)| v == request_id) && request_ids.next().is_none();
    if !id_in_place {
        set.push(("x-amz-request-id", request_id.to_string()));
    }
    // A set replaces every value of its name, so a name being set needs no removal first; the
    // request id is either set or already the gateway's.
    let mut remove: Vec<String> = Vec::new();
    for (name, _) in upstream_headers.pairs() {
        if name != ":status"
            && name != "x-amz-request-id"
            && !keep(name)
            && !set.iter().any(|(s, _)| *s == name)
            && !remove.iter().any(|r| r == name)
        {
            remove.push(name.to_string());
        }
    }
    ResponsePlan {
        status: (upstream_status != Some(status)).then_some(status),
        remove,
        set,
        body,
    }
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

/// The store's user metadata headers (`x-amz-meta-*`) outside the configured allow-list
/// (names without the prefix): they are removed, each name once.
pub fn disallowed_metadata(
    upstream_headers: &(impl Headers + ?Sized),
    allowed: &[String],
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (name, _) in upstream_headers.pairs() {
        if let Some(meta) = name.strip_prefix("x-amz-meta-") {
            if !allowed.iter().any(|a| a == meta) && !out.iter().any(|o| o == name) {
                out.push(name.to_string());
            }
        }
    }
    out
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

    /// The plan for `upstream`, and the header list the client gets from it (`:status` first).
    fn answer(
        upstream: Vec<(String, String)>,
        asked_range: bool,
        conditions: &Conditions,
        key: &str,
    ) -> (ResponsePlan, Vec<(String, String)>) {
        let plan = plan_object_response(&upstream, asked_range, conditions, key, "rid");
        let headers = plan.apply(&upstream);
        (plan, headers)
    }

    fn has(headers: &[(String, String)], name: &str) -> bool {
        headers.iter().any(|(n, _)| n == name)
    }

    #[test]
    fn success_passes_scrubbed_headers() {
        let (plan, headers) = answer(upstream("200", &[]), false, &Conditions::default(), "k");
        assert_eq!(headers[0], (":status".into(), "200".into()));
        assert_eq!(plan.status, None, "an unchanged status is left alone");
        assert_eq!(plan.body, BodyPlan::Pass);
        assert!(headers.contains(&("x-amz-request-id".into(), "rid".into())));
        assert!(!headers
            .iter()
            .any(|(n, v)| v == "REAL" || n == "x-amz-id-2"));
        assert!(has(&headers, "etag") && has(&headers, "content-length"));
        // Only what must change is touched: one scrubbed name, and the request id replaced
        // (a set overwrites the upstream's value, no removal first).
        assert_eq!(plan.remove, vec!["x-amz-id-2"]);
        assert_eq!(plan.set, vec![("x-amz-request-id", "rid".to_string())]);
    }

    #[test]
    fn a_response_already_in_shape_costs_no_edit() {
        // What Envoy's route hands the filter when it already set the id and dropped the rest.
        let mut up = upstream("200", &[]);
        up.retain(|(n, _)| n != "x-amz-id-2");
        up.iter_mut()
            .filter(|(n, _)| n == "x-amz-request-id")
            .for_each(|(_, v)| *v = "rid".into());
        let (plan, headers) = answer(up.clone(), false, &Conditions::default(), "k");
        assert_eq!(
            (plan.status, plan.remove.len(), plan.set.len()),
            (None, 0, 0)
        );
        assert_eq!(headers, up);
        // Two ids (one of them ours) are still replaced by one.
        up.push(("x-amz-request-id".into(), "REAL".into()));
        let (plan, headers) = answer(up, false, &Conditions::default(), "k");
        assert_eq!(plan.set, vec![("x-amz-request-id", "rid".to_string())]);
        let ids: Vec<_> = headers
            .iter()
            .filter(|(n, _)| n == "x-amz-request-id")
            .collect();
        assert_eq!(ids, [&("x-amz-request-id".to_string(), "rid".to_string())]);
    }

    #[test]
    fn repeated_upstream_headers_are_removed_once() {
        let up = upstream("200", &[("x-amz-id-2", "again"), ("server", "store")]);
        let (plan, headers) = answer(up, false, &Conditions::default(), "k");
        assert_eq!(plan.remove, vec!["x-amz-id-2", "server"]);
        assert!(!has(&headers, "x-amz-id-2") && !has(&headers, "server"));
    }

    #[test]
    fn ranged_200_becomes_206() {
        let up = upstream("200", &[("content-range", "bytes 0-9/100")]);
        let (plan, headers) = answer(up, true, &Conditions::default(), "k");
        assert_eq!(plan.status, Some(206));
        assert_eq!(headers[0].1, "206");
        assert!(has(&headers, "content-range"));
        let (_, headers) = answer(upstream("200", &[]), true, &Conditions::default(), "k");
        assert_eq!(
            headers[0].1, "200",
            "a range the store ignored is a full 200, as in S3"
        );
    }

    #[test]
    fn conditions_are_answered_by_the_gateway() {
        let c = Conditions {
            if_none_match: Some("\"abc\"".into()),
            ..Default::default()
        };
        let (plan, headers) = answer(upstream("200", &[]), false, &c, "k");
        assert_eq!(
            (headers[0].1.as_str(), &plan.body),
            ("304", &BodyPlan::Drop)
        );
        assert!(!has(&headers, "content-length"));
        assert!(has(&headers, "etag") && has(&headers, "last-modified"));
        let c = Conditions {
            if_match: Some("\"zzz\"".into()),
            ..Default::default()
        };
        let (plan, headers) = answer(upstream("200", &[]), false, &c, "k");
        assert_eq!(headers[0].1, "412");
        assert!(matches!(plan.body, BodyPlan::Error(ref e) if e.code == "PreconditionFailed"));
        assert!(!has(&headers, "content-length") && !has(&headers, "etag"));
    }

    #[test]
    fn upstream_errors_are_replaced() {
        let (plan, headers) = answer(
            upstream("404", &[]),
            false,
            &Conditions::default(),
            "sales/x",
        );
        assert_eq!(plan.status, None);
        assert!(matches!(plan.body, BodyPlan::UpstreamError(ref e) if e.code == "NoSuchKey"));
        assert_eq!(
            headers,
            vec![
                (":status".to_string(), "404".to_string()),
                ("content-type".to_string(), "application/xml".to_string()),
                ("x-amz-request-id".to_string(), "rid".to_string()),
            ]
        );
        let up = upstream("301", &[("location", "http://real")]);
        let (plan, headers) = answer(up, false, &Conditions::default(), "k");
        assert_eq!((plan.status, headers[0].1.as_str()), (Some(502), "502"));
        assert!(!has(&headers, "location"));
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
    fn only_allowed_user_metadata_goes_back() {
        let up = upstream(
            "200",
            &[
                ("x-amz-meta-mtime", "1"),
                ("x-amz-meta-source-path", "s3://real/x"),
                ("x-amz-meta-source-path", "again"),
                ("x-amz-meta-", "empty"),
            ],
        );
        assert_eq!(
            disallowed_metadata(&up, &[]),
            ["x-amz-meta-mtime", "x-amz-meta-source-path", "x-amz-meta-"]
        );
        assert_eq!(
            disallowed_metadata(&up, &["mtime".to_string()]),
            ["x-amz-meta-source-path", "x-amz-meta-"]
        );
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
