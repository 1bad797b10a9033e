//! The HTTP API as a pure function from (method, URL, policies) to a reply, so routing and
//! status codes are tested without a socket; `main` only moves bytes.

use crate::policy::{LookupError, Policies};

const ENTITLEMENTS_PREFIX: &str = "/v1/entitlements/";
pub const JSON: &str = "application/json";
pub const TEXT: &str = "text/plain; charset=utf-8";

#[derive(Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    /// Answer `Allow: GET` (with a 405).
    pub allow_get: bool,
    /// The request's log line. Names the principal; never a digest, a key or the raw path
    /// (which may carry a digest).
    pub log: String,
}

impl Reply {
    fn json(status: u16, body: String, log: String) -> Self {
        Reply {
            status,
            content_type: JSON,
            body,
            allow_get: false,
            log,
        }
    }

    fn error(status: u16, message: &str, log: String) -> Self {
        // `message` is always one of our fixed strings, so it needs no JSON escaping.
        Self::json(status, format!("{{\"error\":\"{message}\"}}"), log)
    }
}

/// Answers one request. `url` is the request target as received (path and query).
pub fn route(method: &str, url: &str, policies: &Policies) -> Reply {
    let path = url.split_once('?').map_or(url, |(path, _)| path);
    let endpoint = if path == "/healthz" {
        "healthz"
    } else if path.starts_with(ENTITLEMENTS_PREFIX) {
        "entitlements"
    } else {
        "unknown-endpoint"
    };

    // The service only ever reads.
    if method != "GET" {
        let mut reply = Reply::error(
            405,
            "method not allowed",
            format!("{endpoint} method={method} status=405"),
        );
        reply.allow_get = true;
        return reply;
    }

    match endpoint {
        "healthz" => Reply {
            status: 200,
            content_type: TEXT,
            body: "ok".into(),
            allow_get: false,
            log: "healthz status=200".into(),
        },
        "entitlements" => entitlements(&path[ENTITLEMENTS_PREFIX.len()..], policies),
        _ => Reply::error(404, "not found", "unknown-endpoint status=404".into()),
    }
}

fn entitlements(digest: &str, policies: &Policies) -> Reply {
    match policies.lookup(digest) {
        Ok(doc) => match serde_json::to_string(doc) {
            Ok(body) => Reply::json(
                200,
                body,
                format!(
                    "entitlements principal={} status=200{}",
                    doc.principal,
                    if doc.enabled { "" } else { " disabled" }
                ),
            ),
            Err(e) => Reply::error(
                500,
                "internal error",
                format!(
                    "entitlements principal={} status=500 serialize: {e}",
                    doc.principal
                ),
            ),
        },
        Err(LookupError::UnknownKey) => Reply::error(
            404,
            "unknown key",
            "entitlements principal=- status=404 unknown key".into(),
        ),
        Err(LookupError::MalformedDigest) => Reply::error(
            400,
            "malformed key digest: expected 64 lower-case hex characters",
            "entitlements principal=- status=400 malformed digest".into(),
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use s3gate::entitlements::Entitlements;
    use std::path::Path;

    const ALICE: &str = "0572c17ed012b3efdf9df98db1718f225887132739b8da945d81ac5a7d1fea45";
    const DAVE: &str = "ab13bac2a33e52cfb5b8f5b5dd08bbf2da5644ba478a6b434cf1e1c2b955623c";

    fn policies() -> Policies {
        Policies::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies")).unwrap()
    }

    #[test]
    fn known_key_gets_its_document_and_logs_only_the_principal() {
        let reply = route("GET", &format!("/v1/entitlements/{ALICE}"), &policies());
        assert_eq!(reply.status, 200);
        assert_eq!(reply.content_type, JSON);
        let doc: Entitlements = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(doc.principal, "alice");
        assert_eq!(reply.log, "entitlements principal=alice status=200");
        // The filter builds the path with the shared helper; it must route here.
        let path = s3gate::entitlements::lookup_path(ALICE, None);
        assert_eq!(route("GET", &path, &policies()).status, 200);
    }

    #[test]
    fn disabled_principal_is_200_with_enabled_false() {
        let reply = route("GET", &format!("/v1/entitlements/{DAVE}"), &policies());
        assert_eq!(reply.status, 200);
        let doc: Entitlements = serde_json::from_str(&reply.body).unwrap();
        assert!(!doc.enabled && doc.data_sources.is_empty());
        assert_eq!(reply.log, "entitlements principal=dave status=200 disabled");
    }

    #[test]
    fn unknown_and_malformed_digests() {
        let p = policies();
        let unknown = route("GET", &format!("/v1/entitlements/{}", "0".repeat(64)), &p);
        assert_eq!(
            (unknown.status, unknown.body.as_str()),
            (404, "{\"error\":\"unknown key\"}")
        );
        for bad in ["", "abc", &ALICE.to_uppercase(), &format!("{ALICE}/x")] {
            let reply = route("GET", &format!("/v1/entitlements/{bad}"), &p);
            assert_eq!(reply.status, 400, "{bad}");
            assert!(serde_json::from_str::<serde_json::Value>(&reply.body).is_ok());
        }
    }

    #[test]
    fn query_strings_are_ignored() {
        let p = policies();
        assert_eq!(
            route("GET", &format!("/v1/entitlements/{ALICE}?x=1"), &p).status,
            200
        );
        assert_eq!(route("GET", "/healthz?probe=1", &p).status, 200);
    }

    #[test]
    fn healthz_other_paths_and_methods() {
        let p = policies();
        let health = route("GET", "/healthz", &p);
        assert_eq!((health.status, health.body.as_str()), (200, "ok"));
        assert_eq!(route("GET", "/", &p).status, 404);
        assert_eq!(route("GET", "/v1/entitlements", &p).status, 404);
        let post = route("POST", &format!("/v1/entitlements/{ALICE}"), &p);
        assert_eq!(post.status, 405);
        assert!(post.allow_get);
        assert!(!post.log.contains(ALICE));
        assert_eq!(route("HEAD", "/healthz", &p).status, 405);
    }
}
