//! The HTTP API as a pure function from (request, policies) to a reply, so routing and
//! status codes are tested without a socket; `main` only moves bytes.

use crate::crypto::Scope;
use crate::policy::{LookupError, Policies, Sigv2Check};
use crate::reload::ReloadStatus;

const ENTITLEMENTS_PREFIX: &str = "/v1/entitlements/";
const SIGV2_PREFIX: &str = "/v1/verify-sigv2/";
pub const JSON: &str = "application/json";
const TEXT: &str = "text/plain; charset=utf-8";
/// The longest SigV2 string to sign checked: the filter's own limit, which it enforces before
/// calling, so a longer one here is no request of the gateway's. The cap keeps a worker from
/// hashing whatever it is sent.
pub use s3gate_core::signature::sigv2::MAX_STRING_TO_SIGN;

/// What `route` needs of one HTTP request.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The request target as received (path and query).
    pub url: &'a str,
    /// The `x-s3gate-signature` header, if sent.
    pub signature: Option<&'a str>,
    /// The body; the caller reads at most `MAX_STRING_TO_SIGN + 1` bytes of it.
    pub body: &'a [u8],
}

#[derive(Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    /// The methods to name in `Allow` (with a 405).
    pub allow: Option<&'static str>,
    /// The request's log line. Names the principal; never a digest, a key, a signature or the
    /// raw path (which may carry a digest).
    pub log: String,
    /// For an entitlements answer, the decision as a JSON object, rendered (principal, data sources,
    /// the rules that shape them), logged as a line of its own.
    pub decision: Option<String>,
}

impl Reply {
    fn json(status: u16, body: String, log: String) -> Self {
        Reply {
            status,
            content_type: JSON,
            body,
            allow: None,
            log,
            decision: None,
        }
    }

    fn error(status: u16, message: &str, log: String) -> Self {
        // `message` is always one of our fixed strings, so it needs no JSON escaping.
        Self::json(status, format!("{{\"error\":\"{message}\"}}"), log)
    }
}

/// The endpoint a request target names, for metrics (a fixed name, never the path).
pub fn endpoint_name(url: &str) -> &'static str {
    let path = url.split('?').next().unwrap_or_default();
    if path == "/healthz" {
        "healthz"
    } else if path == "/readyz" {
        "readyz"
    } else if path.starts_with(ENTITLEMENTS_PREFIX) {
        "entitlements"
    } else if path.starts_with(SIGV2_PREFIX) {
        "verify-sigv2"
    } else {
        "other"
    }
}

/// The key digest of an entitlements lookup's target, as given (not checked).
pub fn entitlements_digest(url: &str) -> Option<&str> {
    let path = url.split('?').next().unwrap_or_default();
    path.strip_prefix(ENTITLEMENTS_PREFIX)
}

/// Answers one request from the policies served and the record of reloads (for `/readyz`).
pub fn route(request: &Request<'_>, policies: &Policies, reloads: &ReloadStatus) -> Reply {
    let (path, query) = match request.url.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (request.url, None),
    };
    let (endpoint, method) = if path == "/healthz" {
        ("healthz", "GET")
    } else if path == "/readyz" {
        ("readyz", "GET")
    } else if path.starts_with(ENTITLEMENTS_PREFIX) {
        ("entitlements", "GET")
    } else if path.starts_with(SIGV2_PREFIX) {
        ("verify-sigv2", "POST")
    } else {
        return Reply::error(404, "not found", "unknown-endpoint status=404".into());
    };

    // Each endpoint answers exactly one method.
    if request.method != method {
        let mut reply = Reply::error(
            405,
            "method not allowed",
            format!("{endpoint} method={} status=405", request.method),
        );
        reply.allow = Some(method);
        return reply;
    }

    match endpoint {
        "healthz" => Reply {
            status: 200,
            content_type: TEXT,
            body: "ok".into(),
            allow: None,
            log: "healthz status=200".into(),
            decision: None,
        },
        // Ready whenever a valid set is served, which is always once the service listens (it
        // does not start without one). A refused reload keeps it ready: every replica reads
        // the same files, so failing readiness would take them all out of the gateway's
        // cluster at once and fail every request closed, where the last good set still
        // answers correctly. The body says which set is served.
        "readyz" => {
            let body = reloads.readiness(policies.version());
            let state = if reloads.rejected.is_some() {
                "older-set"
            } else {
                "serving"
            };
            Reply::json(200, body, format!("readyz status=200 {state}"))
        }
        "entitlements" => entitlements(&path[ENTITLEMENTS_PREFIX.len()..], query, policies),
        _ => verify_sigv2(&path[SIGV2_PREFIX.len()..], request, policies),
    }
}

/// The `scope` query parameter; other parameters are ignored.
fn scope_param(query: Option<&str>) -> Result<Option<Scope>, &'static str> {
    let mut scope = None;
    for pair in query.unwrap_or("").split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if name == "scope" {
            if scope.is_some() {
                return Err("scope given more than once");
            }
            let parsed = Scope::parse(value)?;
            parsed.check_usable(unix_now(), accepted_regions())?;
            scope = Some(parsed);
        }
    }
    Ok(scope)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The SigV4 regions the gateway accepts: `S3GATE_REGIONS`, comma-separated (default
/// `us-east-1`), the same list as the filter's `regions` setting. Names that are not region
/// names are dropped, so a broken list refuses scopes rather than widening them.
fn accepted_regions() -> &'static [String] {
    static REGIONS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    REGIONS.get_or_init(|| {
        let list = std::env::var("S3GATE_REGIONS").unwrap_or_else(|_| "us-east-1".into());
        list.split(',')
            .map(str::trim)
            .filter(|r| s3gate_core::signature::sigv4::is_valid_region(r))
            .map(str::to_string)
            .collect()
    })
}

fn entitlements(digest: &str, query: Option<&str>, policies: &Policies) -> Reply {
    let scope = match scope_param(query) {
        Ok(scope) => scope,
        Err(message) => {
            return Reply::error(
                400,
                message,
                "entitlements principal=- status=400 malformed scope".into(),
            )
        }
    };
    match policies.answer(digest, scope.as_ref()) {
        Ok(answer) => {
            // A scope asked for and no key given: the principal's SigV4 requests will fail.
            let note = if !answer.doc.enabled {
                " disabled"
            } else if scope.is_some() && !answer.signed {
                " no-signing-key"
            } else {
                ""
            };
            let mut reply = Reply::json(
                200,
                answer.body.into_owned(),
                format!(
                    "entitlements principal={} status=200{note}",
                    answer.doc.principal
                ),
            );
            reply.decision = Some(answer.decision.to_owned());
            reply
        }
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

fn verify_sigv2(digest: &str, request: &Request<'_>, policies: &Policies) -> Reply {
    let malformed = |message: &str, why: &str| {
        Reply::error(
            400,
            message,
            format!("verify-sigv2 principal=- status=400 {why}"),
        )
    };
    if request.body.len() > MAX_STRING_TO_SIGN {
        return malformed(
            &format!("string to sign too long: at most {MAX_STRING_TO_SIGN} bytes"),
            "body too long",
        );
    }
    let Some(signature) = request.signature.filter(|s| !s.is_empty()) else {
        return malformed("missing x-s3gate-signature header", "no signature header");
    };
    match policies.verify_sigv2(digest, request.body, signature) {
        Ok((principal, Sigv2Check::Valid)) => Reply {
            status: 204,
            content_type: TEXT,
            body: String::new(),
            allow: None,
            log: format!("verify-sigv2 principal={principal} status=204"),
            decision: None,
        },
        // One answer for every refusal; the log says which.
        Ok((principal, refused)) => Reply::error(
            403,
            "signature does not match",
            format!(
                "verify-sigv2 principal={principal} status=403 {}",
                match refused {
                    Sigv2Check::Disabled => "disabled",
                    Sigv2Check::NoSecret => "no-secret",
                    Sigv2Check::Valid | Sigv2Check::Mismatch => "mismatch",
                }
            ),
        ),
        Err(LookupError::UnknownKey) => Reply::error(
            404,
            "unknown key",
            "verify-sigv2 principal=- status=404 unknown key".into(),
        ),
        Err(LookupError::MalformedDigest) => malformed(
            "malformed key digest: expected 64 lower-case hex characters",
            "malformed digest",
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::policy::fixtures::{demo_var, ALICE, BOB, DAVE, TOKEN_SECRET};
    use crate::policy::Environment;
    use s3gate_core::policy::entitlements::Entitlements;
    use std::path::Path;

    /// base64(HMAC-SHA1("immuta", STRING_TO_SIGN)), computed with Python's hmac module.
    const STRING_TO_SIGN: &[u8] = b"GET\n\n\n1700000000\n/s3p/immuta/sales/";
    const SIGNATURE: &str = "BWZ1neSo/w5NKRYZCDXsdxet6dI=";

    fn no_var(_: &str) -> Option<String> {
        None
    }

    fn load(var: &dyn Fn(&str) -> Option<String>) -> Policies {
        let env = Environment {
            var,
            token_secret: TOKEN_SECRET,
        };
        Policies::load_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies"),
            &env,
        )
        .unwrap()
    }

    fn policies() -> Policies {
        load(&demo_var)
    }

    fn get(url: &str, policies: &Policies) -> Reply {
        let request = Request {
            method: "GET",
            url,
            signature: None,
            body: b"",
        };
        route(
            &request,
            policies,
            &ReloadStatus::started(std::time::UNIX_EPOCH),
        )
    }

    fn post(url: &str, signature: Option<&str>, body: &[u8], policies: &Policies) -> Reply {
        let request = Request {
            method: "POST",
            url,
            signature,
            body,
        };
        route(
            &request,
            policies,
            &ReloadStatus::started(std::time::UNIX_EPOCH),
        )
    }

    fn sigv2(digest: &str, signature: Option<&str>, body: &[u8], policies: &Policies) -> Reply {
        post(
            &format!("/v1/verify-sigv2/{digest}"),
            signature,
            body,
            policies,
        )
    }

    #[test]
    fn known_key_gets_its_document_and_logs_only_the_principal() {
        let p = policies();
        let reply = get(&format!("/v1/entitlements/{ALICE}"), &p);
        assert_eq!(reply.status, 200);
        assert_eq!(reply.content_type, JSON);
        let doc: Entitlements = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(doc.principal, "alice");
        assert_eq!(doc.policy_version, p.version());
        assert_eq!(doc.token_key.len(), 64);
        // Without a scope, no signing key.
        assert_eq!(doc.signing_key, None);
        assert!(!reply.body.contains("signing_key"));
        assert_eq!(reply.log, "entitlements principal=alice status=200");
        // The filter builds the path with the shared helper; it must route here.
        let path = s3gate_core::policy::entitlements::lookup_path(ALICE, None);
        assert_eq!(get(&path, &p).status, 200);
    }

    #[test]
    fn scope_adds_the_signing_key_for_that_scope() {
        let p = policies();
        let path = s3gate_core::policy::entitlements::lookup_path(ALICE, Some(&scope_on(0)));
        let reply = get(&path, &p);
        assert_eq!(reply.status, 200);
        let doc: Entitlements = serde_json::from_str(&reply.body).unwrap();
        let expected = crate::crypto::signing_key(
            &crate::crypto::Secret::new("immuta").unwrap(),
            &Scope::parse(&scope_on(0)).unwrap(),
        )
        .unwrap();
        assert_eq!(doc.signing_key, Some(crate::crypto::hex(&expected)));
        assert_eq!(reply.log, "entitlements principal=alice status=200");
        // The secret itself is nowhere in the answer or the log.
        assert!(!reply.body.contains("immuta\"") && !reply.log.contains("immuta"));
        // Another day, another key.
        let other = get(
            &format!("/v1/entitlements/{ALICE}?scope={}", scope_on(-1)),
            &p,
        );
        let other: Entitlements = serde_json::from_str(&other.body).unwrap();
        assert_ne!(other.signing_key, doc.signing_key);
        assert!(other.signing_key.is_some());
        // Unrelated parameters are ignored, before or after.
        let mixed = get(
            &format!("/v1/entitlements/{ALICE}?x=1&scope={}&y", scope_on(0)),
            &p,
        );
        let mixed: Entitlements = serde_json::from_str(&mixed.body).unwrap();
        assert_eq!(mixed.signing_key, doc.signing_key);
    }

    /// The scope of the day `offset` days from today (the service serves only recent days).
    fn scope_on(offset: i64) -> String {
        let now = super::unix_now().saturating_add_signed(offset * 86_400);
        format!(
            "{}/us-east-1/s3",
            &s3gate_core::signature::sigv4::format_amz_date(now)[..8]
        )
    }

    #[test]
    fn scopes_no_valid_request_carries_are_400() {
        let p = policies();
        for scope in [
            scope_on(-9),
            scope_on(2),
            "20991231/us-east-1/s3".to_string(),
            scope_on(0).replace("us-east-1", "eu-west-1"),
        ] {
            let reply = get(&format!("/v1/entitlements/{ALICE}?scope={scope}"), &p);
            assert_eq!(reply.status, 400, "{scope}");
        }
        for offset in [-7, -1, 0, 1] {
            let reply = get(
                &format!("/v1/entitlements/{ALICE}?scope={}", scope_on(offset)),
                &p,
            );
            assert_eq!(reply.status, 200, "{offset}");
        }
    }

    #[test]
    fn malformed_scopes_are_400() {
        let p = policies();
        for scope in [
            "",
            "20261126",
            "20261131/us-east-1/s3",
            "20261126/US/s3",
            "20261126/us-east-1/iam",
            "20261126%2Fus-east-1%2Fs3",
            "20261126/us-east-1/s3&scope=20261126/us-east-1/s3",
        ] {
            let reply = get(&format!("/v1/entitlements/{ALICE}?scope={scope}"), &p);
            assert_eq!(reply.status, 400, "{scope}");
            assert!(serde_json::from_str::<serde_json::Value>(&reply.body).is_ok());
            assert_eq!(
                reply.log,
                "entitlements principal=- status=400 malformed scope"
            );
        }
        // Also for an unknown key: the request is malformed whoever it is for.
        let unknown = format!("/v1/entitlements/{}?scope=nope", "0".repeat(64));
        assert_eq!(get(&unknown, &p).status, 400);
    }

    #[test]
    fn no_signing_key_for_disabled_principals_or_without_a_secret() {
        let scoped = |digest| format!("/v1/entitlements/{digest}?scope={}", scope_on(0));
        let reply = get(&scoped(DAVE), &policies());
        assert_eq!(reply.status, 200);
        let doc: Entitlements = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(doc.signing_key, None);
        assert_eq!(reply.log, "entitlements principal=dave status=200 disabled");

        // No S3GATE_DEFAULT_SECRET: lookups still work, but nobody can sign.
        let reply = get(&scoped(ALICE), &load(&no_var));
        assert_eq!(reply.status, 200);
        let doc: Entitlements = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(doc.signing_key, None);
        assert_eq!(
            reply.log,
            "entitlements principal=alice status=200 no-signing-key"
        );
    }

    #[test]
    fn disabled_principal_is_200_with_enabled_false() {
        let reply = get(&format!("/v1/entitlements/{DAVE}"), &policies());
        assert_eq!(reply.status, 200);
        let doc: Entitlements = serde_json::from_str(&reply.body).unwrap();
        assert!(!doc.enabled && doc.data_sources.is_empty());
        assert_eq!(reply.log, "entitlements principal=dave status=200 disabled");
    }

    #[test]
    fn unknown_and_malformed_digests() {
        let p = policies();
        let unknown = get(&format!("/v1/entitlements/{}", "0".repeat(64)), &p);
        assert_eq!(
            (unknown.status, unknown.body.as_str()),
            (404, "{\"error\":\"unknown key\"}")
        );
        for bad in ["", "abc", &ALICE.to_uppercase(), &format!("{ALICE}/x")] {
            let reply = get(&format!("/v1/entitlements/{bad}"), &p);
            assert_eq!(reply.status, 400, "{bad}");
            assert!(serde_json::from_str::<serde_json::Value>(&reply.body).is_ok());
        }
    }

    #[test]
    fn other_query_parameters_are_ignored() {
        let p = policies();
        assert_eq!(
            get(&format!("/v1/entitlements/{ALICE}?x=1"), &p).status,
            200
        );
        assert_eq!(get("/healthz?probe=1", &p).status, 200);
    }

    #[test]
    fn healthz_other_paths_and_methods() {
        let p = policies();
        let health = get("/healthz", &p);
        assert_eq!((health.status, health.body.as_str()), (200, "ok"));
        let ready = get("/readyz", &p);
        assert_eq!(
            (ready.status, ready.log.as_str()),
            (200, "readyz status=200 serving")
        );
        let body: serde_json::Value = serde_json::from_str(&ready.body).unwrap();
        assert_eq!(body["policy_version"], p.version());
        assert_eq!(post("/readyz", None, b"", &p).status, 405);
        assert_eq!(get("/", &p).status, 404);
        assert_eq!(get("/v1/entitlements", &p).status, 404);
        assert_eq!(post("/nope", None, b"", &p).status, 404);
        let post_lookup = post(&format!("/v1/entitlements/{ALICE}"), None, b"", &p);
        assert_eq!(post_lookup.status, 405);
        assert_eq!(post_lookup.allow, Some("GET"));
        assert!(!post_lookup.log.contains(ALICE));
        let head = route(
            &Request {
                method: "HEAD",
                url: "/healthz",
                signature: None,
                body: b"",
            },
            &p,
            &ReloadStatus::started(std::time::UNIX_EPOCH),
        );
        assert_eq!(head.status, 405);
        let get_sigv2 = get(&format!("/v1/verify-sigv2/{ALICE}"), &p);
        assert_eq!(get_sigv2.status, 405);
        assert_eq!(get_sigv2.allow, Some("POST"));
        assert!(!get_sigv2.log.contains(ALICE));
    }

    #[test]
    fn sigv2_valid_signature_is_204() {
        let p = policies();
        let reply = sigv2(BOB, Some(SIGNATURE), STRING_TO_SIGN, &p);
        assert_eq!((reply.status, reply.body.as_str()), (204, ""));
        assert_eq!(reply.log, "verify-sigv2 principal=bob status=204");
        // The filter builds the path with the shared helper; it must route here.
        let path = s3gate_core::policy::entitlements::sigv2_verify_path(BOB);
        assert_eq!(post(&path, Some(SIGNATURE), STRING_TO_SIGN, &p).status, 204);
    }

    #[test]
    fn sigv2_wrong_signatures_are_403_and_never_logged() {
        let p = policies();
        let mut tampered = STRING_TO_SIGN.to_vec();
        tampered[3] = b'X';
        let cases: [(&[u8], &str); 4] = [
            (&tampered, SIGNATURE),
            (STRING_TO_SIGN, "BWZ1neSo/w5NKRYZCDXsdxet6dJ="),
            (STRING_TO_SIGN, "not base64!"),
            (STRING_TO_SIGN, "AAAA"),
        ];
        for (body, signature) in cases {
            let reply = sigv2(BOB, Some(signature), body, &p);
            assert_eq!(reply.status, 403, "{signature}");
            assert_eq!(reply.body, "{\"error\":\"signature does not match\"}");
            assert_eq!(reply.log, "verify-sigv2 principal=bob status=403 mismatch");
        }
    }

    #[test]
    fn sigv2_disabled_unknown_and_secretless_principals() {
        let disabled = sigv2(DAVE, Some(SIGNATURE), STRING_TO_SIGN, &policies());
        assert_eq!(disabled.status, 403);
        assert_eq!(
            disabled.log,
            "verify-sigv2 principal=dave status=403 disabled"
        );

        let unknown = sigv2(
            &"0".repeat(64),
            Some(SIGNATURE),
            STRING_TO_SIGN,
            &policies(),
        );
        assert_eq!(
            (unknown.status, unknown.body.as_str()),
            (404, "{\"error\":\"unknown key\"}")
        );
        assert_eq!(
            unknown.log,
            "verify-sigv2 principal=- status=404 unknown key"
        );

        let secretless = sigv2(BOB, Some(SIGNATURE), STRING_TO_SIGN, &load(&no_var));
        assert_eq!(secretless.status, 403);
        assert_eq!(
            secretless.log,
            "verify-sigv2 principal=bob status=403 no-secret"
        );
    }

    #[test]
    fn sigv2_malformed_requests_are_400() {
        let p = policies();
        for (digest, signature, body) in [
            ("alice-demo-key", Some(SIGNATURE), STRING_TO_SIGN.to_vec()),
            (
                &ALICE.to_uppercase(),
                Some(SIGNATURE),
                STRING_TO_SIGN.to_vec(),
            ),
            (BOB, None, STRING_TO_SIGN.to_vec()),
            (BOB, Some(""), STRING_TO_SIGN.to_vec()),
            (BOB, Some(SIGNATURE), vec![b'a'; MAX_STRING_TO_SIGN + 1]),
        ] {
            let reply = sigv2(digest, signature, &body, &p);
            assert_eq!(reply.status, 400, "{digest} {signature:?} {}", body.len());
            assert!(serde_json::from_str::<serde_json::Value>(&reply.body).is_ok());
            assert!(reply
                .log
                .starts_with("verify-sigv2 principal=- status=400 "));
        }
        // At the limit is fine (and simply doesn't match).
        let at_limit = sigv2(BOB, Some(SIGNATURE), &[b'a'; MAX_STRING_TO_SIGN], &p);
        assert_eq!(at_limit.status, 403);
    }
}
