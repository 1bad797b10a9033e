//! Who is asking, and how they prove it: the credential a request presents (SigV4 or SigV2, in
//! the `Authorization` header or a presigned URL, or the seed's literal `AWS <KEY>:immuta`), and
//! the key digest under which the policy service knows the API key.
//!
//! Checking the proof is done by `sigv4::verify_signature` (with the signing key the policy service derives)
//! and, for SigV2, by the policy service itself, which alone holds secrets.

use crate::headers::Headers;
use sha2::{Digest, Sha256};

use crate::s3::error::S3Error;
use crate::s3::request::QueryParam;
use crate::signature::sigv2::{self, SigV2Auth};
use crate::signature::sigv4::{self, SigV4Auth};
use crate::signature::valid_access_key;

/// The seed's fixed secret, sent literally in place of a signature by `AWS <KEY>:immuta`.
pub const SEED_SECRET: &str = "immuta";

/// The credential a request presents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    SigV4(SigV4Auth),
    SigV2(SigV2Auth),
    /// `AWS KEY:immuta`, the seed's literal header: the key alone, no proof (legacy; only where
    /// the plugin configuration allows it).
    LegacySeed {
        access_key: String,
    },
}

impl Presented {
    pub fn access_key(&self) -> &str {
        match self {
            Presented::SigV4(a) => &a.access_key,
            Presented::SigV2(a) => &a.access_key,
            Presented::LegacySeed { access_key } => access_key,
        }
    }
}

/// Query parameters that make a URL presigned.
const PRESIGN_PARAMS: &[&str] = &[
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "AWSAccessKeyId",
    "Signature",
];

/// S3's answer to a session token: the gateway issues none, so none can be valid.
pub fn invalid_token() -> S3Error {
    S3Error {
        code: "InvalidToken",
        status: 400,
        message: "The provided token is malformed or otherwise invalid.".to_string(),
        detail: None,
    }
}

/// Reads the credential from the request headers (lower-case names, as Envoy gives them) and
/// the decoded query ([`S3Request::query`](crate::s3::request::S3Request::query)).
pub fn presented(
    headers: &(impl Headers + ?Sized),
    query: &[QueryParam],
    legacy_seed_auth: bool,
) -> Result<Presented, S3Error> {
    // The one place session tokens are refused, before any credential is read: the gateway
    // issues none, so one sent with any credential, header or query, is refused.
    if headers.has("x-amz-security-token")
        || query
            .iter()
            .any(|p| p.name.eq_ignore_ascii_case("x-amz-security-token"))
    {
        return Err(invalid_token());
    }
    let authorization: Vec<&str> = headers
        .pairs()
        .filter(|(n, _)| *n == "authorization")
        .map(|(_, v)| v)
        .collect();
    let presigned = query
        .iter()
        .any(|p| PRESIGN_PARAMS.contains(&p.name.as_str()));
    let presented = match authorization.as_slice() {
        [] => {
            if let Some(auth) = sigv4::parse_presigned(query)? {
                Presented::SigV4(auth)
            } else if let Some(auth) = sigv2::parse_presigned(query)? {
                Presented::SigV2(auth)
            } else {
                return Err(S3Error::access_denied());
            }
        }
        // Two credentials could be read differently by different hops: refuse, as S3 does.
        [_] if presigned => {
            return Err(S3Error::invalid_argument(
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, \
                 Signature query string parameter or the Authorization header should be specified",
            ))
        }
        // Envoy joins repeated headers with ","; a SigV2-style value never holds one.
        [header] if header.starts_with("AWS ") && header.contains(',') => {
            return Err(S3Error::invalid_argument(
                "Only one Authorization header is allowed",
            ))
        }
        [header] => {
            let header = header.trim();
            if header.starts_with(sigv4::ALGORITHM) {
                Presented::SigV4(sigv4::parse_authorization(header)?)
            } else if let Some(access_key) = header
                .strip_prefix("AWS ")
                .and_then(|rest| rest.strip_suffix(SEED_SECRET))
                .and_then(|rest| rest.strip_suffix(':'))
            {
                if !legacy_seed_auth {
                    return Err(S3Error::access_denied_because(
                        "Access Denied: the legacy 'AWS <key>:immuta' header is disabled; sign the request",
                    ));
                }
                Presented::LegacySeed {
                    access_key: access_key.to_string(),
                }
            } else if header.starts_with("AWS ") {
                Presented::SigV2(sigv2::parse_authorization(header)?)
            } else {
                return Err(S3Error::access_denied_because(
                    "Access Denied: unsupported Authorization header",
                ));
            }
        }
        _ => {
            return Err(S3Error::invalid_argument(
                "Only one Authorization header is allowed",
            ))
        }
    };
    if !valid_access_key(presented.access_key()) {
        return Err(S3Error::access_denied_because(
            "Access Denied: malformed access key",
        ));
    }
    Ok(presented)
}

/// The key's SHA-256 in lower-case hex: the only form in which keys are sent or cached.
pub fn key_digest(access_key: &str) -> String {
    let mut out = String::with_capacity(64);
    crate::encoding::hex::push_hex32(&mut out, &Sha256::digest(access_key.as_bytes()).into());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_HEADERS: &[(String, String)] = &[];

    fn headers(values: &[&str]) -> Vec<(String, String)> {
        values
            .iter()
            .map(|v| ("authorization".to_string(), v.to_string()))
            .collect()
    }

    fn param(name: &str, value: &str) -> QueryParam {
        QueryParam {
            name: name.to_string(),
            value: value.to_string(),
            bare: false,
        }
    }

    fn header(h: &str, legacy: bool) -> Result<Presented, S3Error> {
        presented(&headers(&[h]), &[], legacy)
    }

    #[test]
    fn session_tokens_are_refused_with_any_credential() {
        let mut h = headers(&["AWS a:immuta"]);
        h.push(("x-amz-security-token".into(), "t".into()));
        assert_eq!(presented(&h, &[], true).unwrap_err().code, "InvalidToken");
        let q = vec![param("X-Amz-Security-Token", "t")];
        let e = presented(&headers(&["AWS a:immuta"]), &q, true).unwrap_err();
        assert_eq!(e.code, "InvalidToken");
    }

    #[test]
    fn session_tokens_are_refused_with_every_signature_form() {
        let v4_header =
            "AWS4-HMAC-SHA256 Credential=alice-demo-key/20261126/us-east-1/s3/aws4_request, \
                         SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=\
                         9715c39ab101de3c6fc54e1914eaad60ab5b8e917e9f2ccc8a99b329945f05c9";
        let query = |raw: &str| crate::s3::request::parse_query(raw).unwrap();
        let v4_presigned = query(
            "X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=alice-demo-key%2F20261126%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date=20261126T100000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=f5be6b789c2add09a828cfce895866edc28f322f1b8a08583341e6f0deb47afe",
        );
        let v2_header = "AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU=";
        let v2_presigned = query("AWSAccessKeyId=a&Signature=x&Expires=1");
        // Without a token each form is read; with one, in a header or the query, it is refused.
        presented(&headers(&[v4_header]), &[], false).unwrap();
        presented(&headers(&[v2_header]), &[], false).unwrap();
        presented(NO_HEADERS, &v4_presigned, false).unwrap();
        let token_header = ("x-amz-security-token".to_string(), "tok".to_string());
        for token in ["X-Amz-Security-Token", "x-amz-security-token"] {
            let token_param = param(token, "tok");
            for auth in [v4_header, v2_header] {
                let mut h = headers(&[auth]);
                h.push(token_header.clone());
                let e = presented(&h, &[], false).unwrap_err();
                assert_eq!((e.code, e.status), ("InvalidToken", 400), "{auth}");
                let e = presented(&headers(&[auth]), std::slice::from_ref(&token_param), false)
                    .unwrap_err();
                assert_eq!((e.code, e.status), ("InvalidToken", 400), "{auth}");
            }
            for mut q in [v4_presigned.clone(), v2_presigned.clone()] {
                q.push(token_param.clone());
                let e = presented(NO_HEADERS, &q, false).unwrap_err();
                assert_eq!((e.code, e.status), ("InvalidToken", 400), "{q:?}");
            }
        }
    }

    #[test]
    fn joined_authorization_headers_are_two() {
        let e = header("AWS a:immuta,AWS b:immuta", true).unwrap_err();
        assert_eq!(e.code, "InvalidArgument");
    }

    #[test]
    fn sigv4_header_names_the_key() {
        let h = "AWS4-HMAC-SHA256 Credential=alice-demo-key/20261126/us-east-1/s3/aws4_request, \
                 SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=\
                 0000000000000000000000000000000000000000000000000000000000000000";
        let Presented::SigV4(auth) = header(h, false).unwrap() else {
            panic!("not SigV4")
        };
        assert_eq!(auth.access_key, "alice-demo-key");
        assert_eq!(auth.scope_string(), "20261126/us-east-1/s3");
    }

    #[test]
    fn seed_header_only_where_allowed() {
        assert_eq!(
            header("AWS alice-demo-key:immuta", true).unwrap(),
            Presented::LegacySeed {
                access_key: "alice-demo-key".into()
            }
        );
        assert_eq!(
            header("AWS alice-demo-key:immuta", false).unwrap_err().code,
            "AccessDenied"
        );
        let sigv2 = header("AWS alice-demo-key:frJIUN8DYpKDtOLCwo//yllqDzg=", false).unwrap();
        assert!(matches!(sigv2, Presented::SigV2(_)));
    }

    #[test]
    fn presigned_urls_present_credentials() {
        let q = |pairs: &[(&str, &str)]| -> Vec<QueryParam> {
            pairs.iter().map(|(k, v)| param(k, v)).collect()
        };
        let v2 = q(&[
            ("AWSAccessKeyId", "bob-demo-key"),
            ("Expires", "1900000000"),
            ("Signature", "frJIUN8DYpKDtOLCwo//yllqDzg="),
        ]);
        assert!(matches!(
            presented(NO_HEADERS, &v2, false).unwrap(),
            Presented::SigV2(_)
        ));
        assert_eq!(
            presented(&headers(&["AWS bob-demo-key:immuta"]), &v2, true)
                .unwrap_err()
                .code,
            "InvalidArgument",
            "header and query credentials together"
        );
        assert_eq!(
            presented(NO_HEADERS, &q(&[("prefix", "a")]), true)
                .unwrap_err()
                .code,
            "AccessDenied"
        );
    }

    #[test]
    fn missing_or_malformed_credentials_are_refused() {
        assert_eq!(
            presented(NO_HEADERS, &[], true).unwrap_err().code,
            "AccessDenied"
        );
        for h in [
            "Bearer x",
            "AWS nocolon",
            "AWS :immuta",
            "AWS bad key:immuta",
        ] {
            assert!(header(h, true).unwrap_err().status >= 400, "{h}");
        }
        assert_eq!(
            presented(&headers(&["AWS a:immuta", "AWS b:immuta"]), &[], true)
                .unwrap_err()
                .code,
            "InvalidArgument"
        );
    }

    #[test]
    fn digest_is_sha256_hex() {
        assert_eq!(
            key_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
