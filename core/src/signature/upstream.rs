//! SigV4 signing of the gateway's own requests to an upstream S3 store: the header form, with
//! an unsigned payload (the gateway forwards only GET/HEAD) or the empty body's hash.
//!
//! Pure: the clock is an input. A signature costs one SHA-256 over the canonical request and one
//! HMAC of the string to sign: the day's signing key is kept as a keyed HMAC state (both pads
//! already absorbed), re-derived only when the UTC day changes, and the `Authorization` prefix and
//! scope are prebuilt with it. The canonical request is built in a buffer kept between calls, so
//! after the first request a signature allocates only the two header values it returns.
//!
//! The canonical URI and query are the verifier's own (`sigv4::push_canonical_uri` and
//! `push_canonical_query`: `+` in the query is a space, each path segment encoded once, `/`
//! kept), so the gateway's verifier accepts what this module signs. For a path already encoded
//! the way `mapping::upstream_object_path` encodes it, the canonical form is the path itself.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::encoding::dates::format_amz_date;
use crate::encoding::hex::hex32;
use crate::signature::sigv4::{self, ALGORITHM, EMPTY_PAYLOAD_SHA256, SERVICE, UNSIGNED_PAYLOAD};

type HmacSha256 = Hmac<Sha256>;

const SECONDS_PER_DAY: u64 = 86_400;
const SIGNED_HEADERS: &str = "host;x-amz-content-sha256;x-amz-date";
const SIGNED_HEADERS_WITH_TOKEN: &str = "host;x-amz-content-sha256;x-amz-date;x-amz-security-token";
/// How far from the gateway's clock a client's `x-amz-date` may be and still date the upstream
/// request: well inside the 15 minutes S3 allows, so the upstream never sees it as skewed.
const CARRIED_DATE_WINDOW_SECONDS: u64 = 300;

/// Values of the client's request the upstream signature may keep, so the forwarded request's
/// headers need not be rewritten (each header write is a host call). The signer decides what it
/// keeps: a date only when it is the gateway's UTC day and close to its clock, a payload hash
/// only when it is one a GET/HEAD may carry.
#[derive(Debug, Clone, Copy, Default)]
pub struct Carried<'a> {
    /// The client's `x-amz-date`.
    pub amz_date: Option<&'a str>,
    /// The client's `x-amz-content-sha256`.
    pub content_sha256: Option<&'a str>,
}

/// The gateway's own credentials for one upstream.
#[derive(Clone)]
pub struct UpstreamCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Set for temporary credentials (STS); sent and signed as `x-amz-security-token`.
    pub session_token: Option<String>,
    pub region: String,
}

// Hand-written so a logged `{:?}` never carries the secret or the token.
impl std::fmt::Debug for UpstreamCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("region", &self.region)
            .field("session_token", &self.session_token.is_some())
            .finish_non_exhaustive()
    }
}

/// The headers to set on a signed upstream request.
pub struct SignedHeaders {
    /// `x-amz-date`: `yyyymmddThhmmssZ`.
    pub amz_date: String,
    /// `authorization`.
    pub authorization: String,
    /// `x-amz-content-sha256`: `UNSIGNED-PAYLOAD`, or the empty body's hash when the client
    /// sent that.
    pub content_sha256: &'static str,
    /// `x-amz-security-token`, when the credentials carry one (shared with the signer, not
    /// copied).
    pub security_token: Option<Arc<str>>,
}

impl SignedHeaders {
    /// Every (name, value) to set on the upstream request, names in lower case.
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("x-amz-date", self.amz_date.as_str()),
            ("x-amz-content-sha256", self.content_sha256),
            ("authorization", self.authorization.as_str()),
        ]
        .into_iter()
        .chain(
            self.security_token
                .as_deref()
                .map(|t| ("x-amz-security-token", t)),
        )
    }
}

// Hand-written: the signature would let a log reader replay the request for 15 minutes.
impl std::fmt::Debug for SignedHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedHeaders")
            .field("amz_date", &self.amz_date)
            .field("security_token", &self.security_token.is_some())
            .finish_non_exhaustive()
    }
}

/// Everything that depends only on the credentials and the UTC day.
struct DayKey {
    /// Days since the epoch this key is for.
    day: u64,
    /// `yyyymmdd`: the start of every `x-amz-date` of the day.
    date: String,
    /// HMAC keyed with the day's signing key: cloning it skips both pad compressions.
    mac: HmacSha256,
    /// `yyyymmdd/region/s3`: the credential scope.
    scope: String,
    /// `AWS4-HMAC-SHA256 Credential=.., SignedHeaders=.., Signature=`.
    authorization_prefix: String,
}

impl DayKey {
    fn derive(credentials: &UpstreamCredentials, day: u64) -> DayKey {
        let midnight = format_amz_date(day.saturating_mul(SECONDS_PER_DAY));
        let date = midnight.split_once('T').map_or("", |(date, _)| date);
        let key = sigv4::signing_key(
            &credentials.secret_access_key,
            date,
            &credentials.region,
            SERVICE,
        );
        let mac = sigv4::keyed_hmac(&key);
        let scope = format!("{date}/{}/{SERVICE}/aws4_request", credentials.region);
        let signed_headers = match credentials.session_token {
            Some(_) => SIGNED_HEADERS_WITH_TOKEN,
            None => SIGNED_HEADERS,
        };
        DayKey {
            day,
            date: date.to_string(),
            mac,
            scope: format!("{date}/{}/{SERVICE}", credentials.region),
            authorization_prefix: format!(
                "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_headers}, Signature=",
                credentials.access_key_id
            ),
        }
    }

    /// `x-amz-date` for a moment of this day: the cached date, then the time of day (what
    /// `sigv4::format_amz_date` gives, without the calendar arithmetic).
    fn amz_date(&self, second_of_day: u64) -> String {
        let mut out = String::with_capacity(self.date.len() + 8);
        out.push_str(&self.date);
        out.push('T');
        for part in [
            second_of_day / 3600,
            second_of_day / 60 % 60,
            second_of_day % 60,
        ] {
            // Each part is below 60, so both digits are ASCII digits.
            out.push(char::from(b'0' + (part / 10 % 10) as u8));
            out.push(char::from(b'0' + (part % 10) as u8));
        }
        out.push('Z');
        out
    }

    /// The second of this day `amz_date` names, if it is a well-formed `x-amz-date` of this day.
    fn second_of_day(&self, amz_date: &str) -> Option<u64> {
        let time = amz_date
            .strip_prefix(self.date.as_str())?
            .strip_prefix('T')?;
        let digits = time.strip_suffix('Z')?.as_bytes();
        let &[h1, h0, m1, m0, s1, s0] = digits else {
            return None;
        };
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let two = |tens: u8, ones: u8| u64::from(tens - b'0') * 10 + u64::from(ones - b'0');
        let (h, m, s) = (two(h1, h0), two(m1, m0), two(s1, s0));
        (h < 24 && m < 60 && s < 60).then_some(h * 3600 + m * 60 + s)
    }
}

/// Signs requests to one upstream.
pub struct UpstreamSigner {
    credentials: UpstreamCredentials,
    /// The session token, shared with every `SignedHeaders`.
    token: Option<Arc<str>>,
    key: Option<DayKey>,
    scratch: Scratch,
}

/// Buffers kept between signatures so the hot path does not allocate.
#[derive(Default)]
struct Scratch {
    canonical: String,
    /// The query parameters normalised, each name then its value, back to back.
    params: String,
    /// (start, end of the name, end) of each parameter in `params`.
    ranges: Vec<(usize, usize, usize)>,
}

impl UpstreamSigner {
    pub fn new(credentials: UpstreamCredentials) -> Self {
        UpstreamSigner {
            token: credentials.session_token.as_deref().map(Arc::from),
            credentials,
            key: None,
            scratch: Scratch::default(),
        }
    }

    /// Signs one request. `path_and_query` is the `:path` exactly as it will be sent (encoded
    /// as S3 expects, query included) and `authority` the Host as it will be sent (with the
    /// port if there is one). `unix_now` is seconds since the epoch; any change of UTC day, either
    /// way, re-derives the signing key.
    pub fn sign(
        &mut self,
        method: &str,
        authority: &str,
        path_and_query: &str,
        unix_now: u64,
    ) -> SignedHeaders {
        self.sign_carrying(
            method,
            authority,
            path_and_query,
            unix_now,
            Carried::default(),
        )
    }

    /// Signs one request like `sign`, keeping what it may of the client's values (`Carried`).
    pub fn sign_carrying(
        &mut self,
        method: &str,
        authority: &str,
        path_and_query: &str,
        unix_now: u64,
        carried: Carried,
    ) -> SignedHeaders {
        let day = unix_now / SECONDS_PER_DAY;
        let key = match &mut self.key {
            Some(key) if key.day == day => key,
            slot => slot.insert(DayKey::derive(&self.credentials, day)),
        };
        let now_of_day = unix_now % SECONDS_PER_DAY;
        let amz_date = match carried.amz_date {
            Some(date)
                if key
                    .second_of_day(date)
                    .is_some_and(|t| t.abs_diff(now_of_day) <= CARRIED_DATE_WINDOW_SECONDS) =>
            {
                date.to_string()
            }
            _ => key.amz_date(now_of_day),
        };
        let content_sha256 = match carried.content_sha256 {
            Some(EMPTY_PAYLOAD_SHA256) => EMPTY_PAYLOAD_SHA256,
            _ => UNSIGNED_PAYLOAD,
        };
        let token = self.token.as_deref();

        let canonical = self.scratch.canonical_request(
            method,
            authority,
            path_and_query,
            &amz_date,
            content_sha256,
            token,
        );
        // The string to sign, fed in pieces instead of built.
        let mut mac = key.mac.clone();
        sigv4::feed_string_to_sign(
            |piece| mac.update(piece),
            &amz_date,
            &[&key.scope],
            canonical,
        );
        let signature = hex32(&mac.finalize().into_bytes().into());

        let mut authorization = String::with_capacity(key.authorization_prefix.len() + 64);
        authorization.push_str(&key.authorization_prefix);
        authorization.extend(signature.iter().map(|&b| char::from(b)));
        SignedHeaders {
            amz_date,
            authorization,
            content_sha256,
            security_token: self.token.clone(),
        }
    }
}

impl Scratch {
    /// The canonical request, in `self.canonical`.
    fn canonical_request(
        &mut self,
        method: &str,
        authority: &str,
        path_and_query: &str,
        amz_date: &str,
        content_sha256: &str,
        token: Option<&str>,
    ) -> &str {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let out = &mut self.canonical;
        out.clear();
        out.reserve(256 + 2 * path_and_query.len() + token.map_or(0, str::len));
        out.push_str(method);
        out.push('\n');
        sigv4::push_canonical_uri(out, path);
        out.push('\n');
        sigv4::push_canonical_query(out, &mut self.params, &mut self.ranges, query, false);
        out.push_str("\nhost:");
        sigv4::push_trimmed(out, authority);
        out.push_str("\nx-amz-content-sha256:");
        out.push_str(content_sha256);
        out.push_str("\nx-amz-date:");
        out.push_str(amz_date);
        out.push('\n');
        if let Some(token) = token {
            out.push_str("x-amz-security-token:");
            sigv4::push_trimmed(out, token);
            out.push('\n');
        }
        out.push('\n');
        out.push_str(match token {
            Some(_) => SIGNED_HEADERS_WITH_TOKEN,
            None => SIGNED_HEADERS,
        });
        out.push('\n');
        out.push_str(content_sha256);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ACCESS_KEY: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLE/session+token==";
    const REGION: &str = "us-east-1";
    const HOST: &str = "store.example:9000";
    const NOW: u64 = 1_795_687_200; // 2026-11-26T10:00:00Z

    fn credentials(token: Option<&str>) -> UpstreamCredentials {
        UpstreamCredentials {
            access_key_id: ACCESS_KEY.into(),
            secret_access_key: SECRET.into(),
            session_token: token.map(str::to_string),
            region: REGION.into(),
        }
    }

    fn signer(token: Option<&str>) -> UpstreamSigner {
        UpstreamSigner::new(credentials(token))
    }

    /// The request as the upstream receives it, in the verifier's header form.
    fn received(signed: &SignedHeaders) -> Vec<(String, String)> {
        let mut headers = vec![(":authority".to_string(), HOST.to_string())];
        headers.extend(
            signed
                .headers()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        headers
    }

    /// Signs, then checks with the gateway's own verifier.
    fn round_trip(method: &str, path: &str) {
        let mut s = signer(None);
        let signed = s.sign(method, HOST, path, NOW);
        let auth = sigv4::parse_authorization(&signed.authorization).unwrap();
        let key = sigv4::signing_key(SECRET, "20261126", REGION, "s3");
        let headers = received(&signed);
        sigv4::verify(&auth, method, path, &headers, NOW, &key)
            .unwrap_or_else(|e| panic!("{method} {path}: {}", e.code));
        // The same signature does not cover another method or path.
        let other = if method == "GET" { "HEAD" } else { "GET" };
        assert!(sigv4::verify(&auth, other, path, &headers, NOW, &key).is_err());
        let longer = format!("{path}{}x=1", if path.contains('?') { '&' } else { '?' });
        assert!(sigv4::verify(&auth, method, &longer, &headers, NOW, &key).is_err());
    }

    #[test]
    fn the_gateways_verifier_accepts_what_is_signed() {
        for method in ["GET", "HEAD"] {
            for path in [
                "/",
                "/bucket",
                "/bucket/",
                "/bucket/plain.csv",
                // Spaces, encoded and (never sent, but canonicalised the same) literal.
                "/bucket/q1%20report.csv",
                "/bucket/q1 report.csv",
                // Unicode, encoded and literal.
                "/bucket/%C3%A9t%C3%A9/%E2%82%AC.csv",
                "/bucket/été/€.csv",
                // `=`, `~` and `+` in the key, encoded or not, upper- or lower-case hex.
                "/bucket/a=b~c+d.csv",
                "/bucket/a%3Db%7Ec%2Bd.csv",
                "/bucket/a%3db%7ec%2bd.csv",
                // An encoded slash is part of a segment, not a separator.
                "/bucket/a%2Fb/c",
                "/bucket/a%2fb//./../c",
                // Queries: several parameters, unsorted, empty values, no `=`, duplicates.
                "/bucket/k.csv?response-content-type=text%2Fcsv&partNumber=1",
                "/bucket?list-type=2&prefix=curated%2Fq1%20r&delimiter=%2F&continuation-token=",
                "/bucket?versions&prefix=&max-keys=10",
                "/bucket?location",
                "/bucket?a-b=1&a=2&a=1&a&A=0",
                "/bucket?prefix=a+b%2Bc&delimiter=~",
                "/bucket?prefix=%C3%A9%3D%26&&start-after=x",
                "/bucket/k?",
            ] {
                round_trip(method, path);
            }
        }
    }

    // botocore 1.43.117, `scripts/gen_upstream_sign_vector.py`: `S3SigV4Auth` on a bare
    // `AWSRequest` with payload signing disabled, clock pinned to 2026-11-26T10:00:00Z.
    #[test]
    fn botocore_vectors() {
        let cases = [
            (
                None,
                "GET",
                "/acme-warehouse/curated/q1%20report%2Fv2%20%C3%A9.csv\
                 ?response-content-type=text%2Fcsv&partNumber=1",
                "f8bb167d44ea940191bd1e812cda15a63ca5a2ff78b256f90ccdf96c40f36236",
            ),
            (
                Some(TOKEN),
                "HEAD",
                "/acme-warehouse/curated/a~b%3Dc.csv",
                "87fc1a434399409908a8a86821361b861f642fe5df4a7287400dd1127a543751",
            ),
            (
                None,
                "GET",
                "/acme-warehouse?list-type=2&prefix=curated%2F&delimiter=%2F&continuation-token=",
                "f7efd4ea9b25a635929baaec37f1cd708ff3143dc3366b5e8df8343b7f1419ea",
            ),
        ];
        for (token, method, path, signature) in cases {
            let mut s = signer(token);
            let signed = s.sign(method, HOST, path, NOW);
            let signed_headers = match token {
                Some(_) => "host;x-amz-content-sha256;x-amz-date;x-amz-security-token",
                None => "host;x-amz-content-sha256;x-amz-date",
            };
            assert_eq!(
                signed.authorization,
                format!(
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/s3/aws4_request, \
                     SignedHeaders={signed_headers}, Signature={signature}"
                ),
                "{method} {path}"
            );
            assert_eq!(signed.amz_date, "20261126T100000Z");
            assert_eq!(signed.content_sha256, "UNSIGNED-PAYLOAD");
            assert_eq!(signed.security_token.as_deref(), token);
        }
    }

    #[test]
    fn a_new_utc_day_re_derives_the_key_either_way() {
        let path = "/bucket/k.csv?partNumber=2";
        let day1 = NOW;
        let day2 = NOW + 14 * 3600; // 2026-11-27T00:00:00Z
        let fresh = |t: u64| signer(None).sign("GET", HOST, path, t).authorization;
        let mut s = signer(None);
        let first = s.sign("GET", HOST, path, day1).authorization;
        assert_eq!(first, fresh(day1));
        let second = s.sign("GET", HOST, path, day2).authorization;
        assert_eq!(second, fresh(day2));
        assert!(second.contains("/20261127/"));
        // The clock stepping back across midnight: the old day's key again, not the cached one.
        let back = s.sign("GET", HOST, path, day2 - 1).authorization;
        assert_eq!(back, fresh(day2 - 1));
        assert!(back.contains("/20261126/"));
        // Within a day the cached key signs as a fresh one would.
        assert_eq!(
            s.sign("GET", HOST, path, day1 + 5).authorization,
            fresh(day1 + 5)
        );
    }

    #[test]
    fn the_clients_date_and_empty_payload_hash_are_kept_when_safe() {
        let path = "/bucket/sales/k.csv";
        let key = sigv4::signing_key(SECRET, "20261126", REGION, "s3");
        let client_date = format_amz_date(NOW - 200);
        let carried = Carried {
            amz_date: Some(&client_date),
            content_sha256: Some(EMPTY_PAYLOAD_SHA256),
        };
        let signed = signer(None).sign_carrying("GET", HOST, path, NOW, carried);
        assert_eq!(signed.amz_date, client_date);
        assert_eq!(signed.content_sha256, EMPTY_PAYLOAD_SHA256);
        // The upstream (here the gateway's own verifier) accepts it as sent.
        let auth = sigv4::parse_authorization(&signed.authorization).unwrap();
        sigv4::verify(&auth, "GET", path, &received(&signed), NOW, &key).unwrap();
        // Anything else is replaced by the gateway's own value.
        let late = format_amz_date(NOW + CARRIED_DATE_WINDOW_SECONDS + 1);
        let yesterday = format_amz_date(NOW - SECONDS_PER_DAY);
        for date in [
            late.as_str(),
            yesterday.as_str(),
            "20261126T100060Z",
            "20261126T1000Z",
            "20261126T10000aZ",
            "",
        ] {
            for hash in [
                "UNSIGNED-PAYLOAD",
                "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                &"a".repeat(64),
            ] {
                let carried = Carried {
                    amz_date: Some(date),
                    content_sha256: Some(hash),
                };
                let signed = signer(None).sign_carrying("GET", HOST, path, NOW, carried);
                assert_eq!(signed.amz_date, format_amz_date(NOW), "{date}");
                assert_eq!(signed.content_sha256, UNSIGNED_PAYLOAD, "{hash}");
                let auth = sigv4::parse_authorization(&signed.authorization).unwrap();
                sigv4::verify(&auth, "GET", path, &received(&signed), NOW, &key).unwrap();
            }
        }
        // Nothing carried is exactly `sign`.
        assert_eq!(
            signer(None)
                .sign_carrying("GET", HOST, path, NOW, Carried::default())
                .authorization,
            signer(None).sign("GET", HOST, path, NOW).authorization
        );
    }

    #[test]
    fn dates_are_the_verifiers() {
        let mut s = signer(None);
        for t in [
            0,
            59,
            86_399,
            951_782_400,
            1_709_251_199,
            NOW,
            NOW + 43_261,
            4_102_444_799,
        ] {
            assert_eq!(s.sign("GET", HOST, "/b/k", t).amz_date, format_amz_date(t));
        }
    }

    #[test]
    fn the_session_token_is_signed_and_returned() {
        let path = "/bucket/k.csv?partNumber=1";
        let mut s = signer(Some(TOKEN));
        let signed = s.sign("GET", HOST, path, NOW);
        assert_eq!(signed.security_token.as_deref(), Some(TOKEN));
        let headers = received(&signed);
        assert!(headers
            .iter()
            .any(|(k, v)| k == "x-amz-security-token" && v == TOKEN));
        // The verifier refuses any token (the gateway issues none), so check the signature
        // with its building blocks instead.
        let auth = sigv4::parse_authorization(&signed.authorization).unwrap();
        assert_eq!(
            auth.signed_headers,
            [
                "host",
                "x-amz-content-sha256",
                "x-amz-date",
                "x-amz-security-token"
            ]
        );
        let canonical = sigv4::canonical_request(
            "GET",
            path,
            &headers,
            &auth.signed_headers,
            UNSIGNED_PAYLOAD,
            false,
        )
        .unwrap();
        let to_sign = sigv4::string_to_sign(&signed.amz_date, &auth.scope_string(), &canonical);
        let key = sigv4::signing_key(SECRET, "20261126", REGION, "s3");
        assert_eq!(auth.signature, sigv4::signature(&key, &to_sign));
        // Another token is another signature.
        let other = signer(Some("another-token")).sign("GET", HOST, path, NOW);
        let other = sigv4::parse_authorization(&other.authorization).unwrap();
        assert_ne!(other.signature, auth.signature);
        // Without one, no token header and the three-header list.
        let plain = signer(None).sign("GET", HOST, path, NOW);
        assert_eq!(plain.headers().count(), 3);
        assert!(plain
            .authorization
            .contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date, "));
    }

    #[test]
    fn debug_output_carries_no_secret() {
        let c = credentials(Some(TOKEN));
        let shown = format!("{c:?}");
        assert!(!shown.contains(SECRET) && !shown.contains(TOKEN), "{shown}");
        let mut s = signer(Some(TOKEN));
        let signed = s.sign("GET", HOST, "/b/k", NOW);
        let signature = signed.authorization.rsplit('=').next().unwrap().to_string();
        let shown = format!("{signed:?}");
        assert!(
            !shown.contains(&signature) && !shown.contains(TOKEN),
            "{shown}"
        );
    }

    #[test]
    fn malformed_escapes_are_literal_percents() {
        let mut out = String::new();
        sigv4::push_canonical_uri(&mut out, "/a%zz/%4/%");
        assert_eq!(out, "/a%25zz/%254/%25");
        let (mut out, mut params, mut ranges) = (String::new(), String::new(), Vec::new());
        sigv4::push_canonical_query(&mut out, &mut params, &mut ranges, "b=%&a=%g1", false);
        assert_eq!(out, "a=%25g1&b=%25");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        /// Wherever the verifier can read a path, the signer's canonical request is the
        /// verifier's, byte for byte.
        #[test]
        fn canonical_request_is_the_verifiers(
            // Escapes of ASCII bytes and of whole UTF-8 characters, in either case: the verifier
            // rejects malformed escapes and invalid UTF-8, so those would prove nothing here.
            path in "/([a-zA-Z0-9/ ~=+&?._*é€-]|%[0-7][0-9a-fA-F]|%[cC]3%[aA]9|%E2%82%AC){0,40}",
        ) {
            let mut s = signer(None);
            let signed = s.sign("GET", HOST, &path, NOW);
            let headers = received(&signed);
            let auth = sigv4::parse_authorization(&signed.authorization).unwrap();
            if let Ok(expected) = sigv4::canonical_request(
                "GET", &path, &headers, &auth.signed_headers, UNSIGNED_PAYLOAD, false,
            ) {
                prop_assert_eq!(&s.scratch.canonical, &expected);
            }
        }
    }

    /// `cargo test --release -p s3gate upstream_sign -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn timing() {
        let path = "/acme-warehouse-prod/curated/sales/2026/q1%20report%20final.csv\
                    ?response-content-type=text%2Fcsv&partNumber=1";
        for token in [None, Some(TOKEN)] {
            let mut s = signer(token);
            let rounds = 200_000u64;
            let start = std::time::Instant::now();
            let mut total = 0usize;
            for i in 0..rounds {
                // Same day, changing second: the cached key path.
                let signed = s.sign("GET", HOST, path, NOW + i % 3600);
                total += signed.authorization.len();
            }
            let cached = start.elapsed();
            let start = std::time::Instant::now();
            for i in 0..rounds / 10 {
                // A new day every time: the key derivation included.
                let signed = s.sign("GET", HOST, path, NOW + i * SECONDS_PER_DAY);
                total += signed.authorization.len();
            }
            let rederived = start.elapsed();
            println!(
                "token={}: sign {:.0} ns cached key, {:.0} ns with a new day's key ({total})",
                token.is_some(),
                cached.as_nanos() as f64 / rounds as f64,
                rederived.as_nanos() as f64 / (rounds / 10) as f64,
            );
        }
    }
}
