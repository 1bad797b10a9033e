//! AWS Signature Version 2 (legacy) as S3 defines it: `Authorization: AWS KEY:base64(sig)` and
//! presigned URLs with `AWSAccessKeyId`, `Expires` and `Signature`.
//!
//! SigV2 signs with the secret itself (HMAC-SHA1), and the secret never leaves the policy service.
//! So the filter only parses, checks the clock and builds the string to sign; the policy service
//! checks the signature with `verify` below (`sign` is for tests). Nothing here can be
//! cached across requests: the string to sign is the request.
//!
//! The seed's literal `AWS KEY:immuta` header is not a SigV2 signature; `presented::presented`
//! tells it apart before this module is asked.

use crate::headers::Headers;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::encoding::dates::parse_http_date;
use crate::s3::error::S3Error;
use crate::s3::request::QueryParam;
use crate::signature::sigv4::{request_expired, request_time_too_skewed, MAX_SKEW_SECONDS};
use crate::signature::{single_header, valid_access_key};

type HmacSha1 = Hmac<Sha1>;

/// Query parameters S3 counts as sub-resources in the CanonicalizedResource (AWS's SigV2 list).
/// Everything else in the query is unsigned under SigV2.
const SUBRESOURCES: &[&str] = &[
    "acl",
    "cors",
    "delete",
    "lifecycle",
    "location",
    "logging",
    "notification",
    "partNumber",
    "policy",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// The longest string to sign the gateway has checked: the filter refuses a longer one itself
/// (`RequestHeaderSectionTooLarge`, no policy call) and the policy service reads no more. Real
/// ones are a few hundred bytes (method, a few headers, the resource).
pub const MAX_STRING_TO_SIGN: usize = 16 * 1024;

/// S3's answer to a request whose headers and query are over its limit.
pub fn string_to_sign_too_large() -> S3Error {
    S3Error {
        code: "RequestHeaderSectionTooLarge",
        status: 400,
        message: "Your request header section exceeds the maximum allowed size.".to_string(),
        detail: Some(("MaxSizeAllowed", MAX_STRING_TO_SIGN.to_string())),
    }
}

/// A parsed SigV2 credential.
#[derive(Clone, PartialEq, Eq)]
pub struct SigV2Auth {
    pub access_key: String,
    /// Base64 of the 20-byte HMAC-SHA1, as the client sent it.
    pub signature: String,
    /// For a presigned URL: `Expires` exactly as sent (decimal unix seconds); it is the string
    /// to sign's Date line verbatim.
    pub expires: Option<String>,
}

// Hand-written so a logged `{:?}` never carries the signature: logs name the principal, never a
// key's proof.
impl std::fmt::Debug for SigV2Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigV2Auth")
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

fn malformed_header() -> S3Error {
    S3Error::invalid_argument(
        "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
    )
}

fn valid_signature(signature: &str) -> bool {
    signature.len() == 28 && STANDARD.decode(signature).is_ok_and(|d| d.len() == 20)
}

/// Parses `AWS KEY:base64signature`.
pub fn parse_authorization(header: &str) -> Result<SigV2Auth, S3Error> {
    let rest = header
        .trim()
        .strip_prefix("AWS ")
        .ok_or_else(malformed_header)?;
    let (access_key, signature) = rest.rsplit_once(':').ok_or_else(malformed_header)?;
    if !valid_access_key(access_key) || !valid_signature(signature) {
        return Err(malformed_header());
    }
    Ok(SigV2Auth {
        access_key: access_key.to_string(),
        signature: signature.to_string(),
        expires: None,
    })
}

/// Reads a SigV2 presigned URL's credential from the decoded query (`request::parse_query`).
/// `Ok(None)` when none of its parameters is present.
pub fn parse_presigned(query: &[QueryParam]) -> Result<Option<SigV2Auth>, S3Error> {
    const NAMES: [&str; 3] = ["AWSAccessKeyId", "Expires", "Signature"];
    let mut values: [Option<&str>; 3] = [None; 3];
    for QueryParam { name, value, .. } in query {
        if let Some((slot, _)) = values.iter_mut().zip(NAMES).find(|(_, n)| n == name) {
            if slot.replace(value.as_str()).is_some() {
                return Err(S3Error::invalid_argument(&format!(
                    "The {name} parameter must appear only once."
                )));
            }
        }
    }
    let [access_key, expires, signature] = values;
    // Only the key or the signature make this a SigV2 credential; a lone `Expires` is just a
    // parameter like any other.
    if access_key.is_none() && signature.is_none() {
        return Ok(None);
    }
    let (Some(access_key), Some(expires), Some(signature)) = (access_key, expires, signature)
    else {
        return Err(S3Error::access_denied_because(
            "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters",
        ));
    };
    // A `+` left unencoded in the URL arrives as a space (the query reads `+` as space); base64
    // has no spaces, so put it back.
    let signature = signature.replace(' ', "+");
    if !valid_access_key(access_key) || !valid_signature(&signature) {
        return Err(S3Error::access_denied_because(
            "Access Denied: malformed query-string credentials",
        ));
    }
    if expires.is_empty() || expires.len() > 19 || !expires.bytes().all(|b| b.is_ascii_digit()) {
        return Err(S3Error::access_denied_because(
            "Access Denied: Expires must be a number of seconds since the epoch",
        ));
    }
    Ok(Some(SigV2Auth {
        access_key: access_key.to_string(),
        signature,
        expires: Some(expires.to_string()),
    }))
}

/// Where this request named its bucket, and the gateway's path prefix to look past (one
/// request's style, as `request::parse` found it; `request::Addressing` is the gateway's
/// configuration of the styles it accepts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style<'a> {
    /// `{prefix}/{bucket}/{key}`.
    PathStyle { prefix: &'a str },
    /// `{bucket}.{gateway host}` with `{prefix}/{key}`; `bucket` as read from the host.
    VirtualHosted { prefix: &'a str, bucket: &'a str },
}

/// The path part of the CanonicalizedResource: what SigV2 clients sign as the resource.
///
/// AWS's rule is "`/bucket` for a virtual-hosted request, then the path as sent", which knows
/// nothing of an endpoint with a path. A client behind such an endpoint (botocore's
/// `HmacV1Auth`, `endpoint_url=http://host/s3p`, either addressing style) signs the S3
/// resource, not the URL path — `/{bucket}/{key}` with the key encoded as sent, `/{bucket}/`
/// (trailing slash) for bucket-level requests — while a request naming no bucket (ListBuckets,
/// `GET /s3p`) signs the path exactly as sent. So the prefix is looked past for bucket requests
/// and kept for service-level ones. A path outside `prefix` is refused.
pub fn resource_path(path: &str, style: Style<'_>) -> Result<String, S3Error> {
    let prefix = match style {
        Style::PathStyle { prefix } | Style::VirtualHosted { prefix, .. } => prefix,
    };
    let rest = path
        .strip_prefix(prefix)
        .filter(|r| r.is_empty() || r.starts_with('/'))
        .ok_or_else(S3Error::access_denied)?;
    Ok(match style {
        Style::VirtualHosted { bucket, .. } => {
            format!("/{bucket}{}", if rest.is_empty() { "/" } else { rest })
        }
        Style::PathStyle { .. } if rest.is_empty() || rest == "/" => path.to_string(),
        // `/{bucket}` alone is signed as `/{bucket}/`.
        Style::PathStyle { .. } if rest.get(1..).is_some_and(|r| !r.contains('/')) => {
            format!("{rest}/")
        }
        Style::PathStyle { .. } => rest.to_string(),
    })
}

/// The SigV2 string to sign:
/// `VERB\nContent-MD5\nContent-Type\nDate-or-Expires\nCanonicalizedAmzHeaders` +
/// `CanonicalizedResource`, for the `:path`'s path part as sent (no query) and its query as
/// `request::parse_query` read it; see `resource_path` for how `style` (and the gateway's
/// prefix in it) shapes the resource.
///
/// `expires` is the presigned URL's `Expires` (see `SigV2Auth::expires`); without it the Date line
/// is the `Date` header, or empty when `x-amz-date` is present (that one is then signed among the
/// amz headers).
///
/// The query is the request parser's own reading (`S3Request::query`): the sub-resources
/// signed are the parameters acted on, by their decoded names. Over [`MAX_STRING_TO_SIGN`]
/// bytes: `RequestHeaderSectionTooLarge`.
pub fn string_to_sign(
    method: &str,
    path: &str,
    query: &[QueryParam],
    style: Style<'_>,
    headers: &(impl Headers + ?Sized),
    expires: Option<&str>,
) -> Result<String, S3Error> {
    let resource = resource_path(path, style)?;

    let query_len: usize = query.iter().map(|p| p.name.len() + p.value.len() + 2).sum();
    let mut out = String::with_capacity(128 + resource.len() + query_len);
    out.push_str(method);
    out.push('\n');
    out.push_str(single_header(headers, "content-md5")?.unwrap_or(""));
    out.push('\n');
    out.push_str(single_header(headers, "content-type")?.unwrap_or(""));
    out.push('\n');
    match expires {
        Some(expires) => out.push_str(expires),
        None if single_header(headers, "x-amz-date")?.is_some() => {}
        None => out.push_str(single_header(headers, "date")?.unwrap_or("")),
    }
    out.push('\n');

    // CanonicalizedAmzHeaders: x-amz-* by lower-case name, sorted, repeated values joined with
    // `,`, each value trimmed. For a presigned URL, x-amz-* query parameters count as headers
    // (boto's HmacV1QueryAuth moves them there).
    let mut amz: Vec<(String, Vec<String>)> = Vec::new();
    let mut add = |name: &str, value: &str| {
        let name = name.to_ascii_lowercase();
        match amz.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push(value.trim().to_string()),
            None => amz.push((name, vec![value.trim().to_string()])),
        }
    };
    for (name, value) in headers.pairs() {
        if is_amz(name) {
            add(name, value);
        }
    }
    if expires.is_some() {
        for param in query.iter().filter(|p| is_amz(&p.name)) {
            add(&param.name, &param.value);
        }
    }
    amz.sort();
    for (name, values) in &amz {
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }

    // CanonicalizedResource: the path as sent, then the sub-resources sorted by name, names
    // and values decoded, `name` alone when the client wrote no `=`.
    out.push_str(&resource);
    let mut subresources: Vec<&QueryParam> = query
        .iter()
        .filter(|p| SUBRESOURCES.contains(&p.name.as_str()))
        .collect();
    // Stable: equal names keep the client's order.
    subresources.sort_by(|a, b| a.name.cmp(&b.name));
    for (i, param) in subresources.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(&param.name);
        if !param.bare {
            out.push('=');
            out.push_str(&param.value);
        }
    }
    if out.len() > MAX_STRING_TO_SIGN {
        return Err(string_to_sign_too_large());
    }
    Ok(out)
}

fn is_amz(name: &str) -> bool {
    name.len() > 6
        && name
            .get(..6)
            .is_some_and(|p| p.eq_ignore_ascii_case("x-amz-"))
}

/// Checks the request time. Header form: `x-amz-date` (else `Date`) within 15 minutes of `now`,
/// else `RequestTimeTooSkewed`. Presigned: `Expires` not before `now`, else `AccessDenied`
/// "Request has expired"; and not more than `max_lifetime` seconds ahead (plus the 15 minutes
/// a signer's clock may run fast, as SigV4 allows its `X-Amz-Date`), else
/// `AuthorizationQueryParametersError` as for a SigV4 `X-Amz-Expires` over its week. S3 itself
/// puts no bound on SigV2's `Expires`; the gateway does, so that no URL outlives a SigV4 one.
pub fn check_time(
    auth: &SigV2Auth,
    headers: &(impl Headers + ?Sized),
    now: u64,
    max_lifetime: u64,
) -> Result<(), S3Error> {
    if let Some(expires) = &auth.expires {
        let expires: u64 = expires.parse().map_err(|_| request_expired())?;
        if expires < now {
            return Err(request_expired());
        }
        if expires - now > max_lifetime.saturating_add(MAX_SKEW_SECONDS) {
            return Err(S3Error {
                code: "AuthorizationQueryParametersError",
                status: 400,
                message: format!(
                    "Expires must be at most {max_lifetime} seconds from now (the gateway's \
                     maximum lifetime of a presigned URL)"
                ),
                detail: None,
            });
        }
        return Ok(());
    }
    let missing = || {
        S3Error::access_denied_because(
            "AWS authentication requires a valid Date or x-amz-date header",
        )
    };
    let value = match single_header(headers, "x-amz-date")? {
        Some(v) => v,
        None => single_header(headers, "date")?.ok_or_else(missing)?,
    };
    let t = parse_http_date(value).ok_or_else(missing)?;
    if t.abs_diff(now) > MAX_SKEW_SECONDS {
        return Err(request_time_too_skewed());
    }
    Ok(())
}

/// The SigV2 signature: base64 of HMAC-SHA1(secret, string_to_sign), for tests (the filter never
/// holds a secret; the policy service only verifies).
#[cfg(any(test, feature = "test-support"))]
pub fn sign(secret: &str, string_to_sign: &str) -> String {
    match HmacSha1::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(string_to_sign.as_bytes());
            STANDARD.encode(mac.finalize().into_bytes())
        }
        // Unreachable: HMAC takes keys of any length. An empty string never verifies.
        Err(_) => String::new(),
    }
}

/// Whether `signature` (base64) is `string_to_sign`'s under `secret`, compared in constant time.
pub fn verify(secret: &str, string_to_sign: &str, signature: &str) -> bool {
    let Ok(given) = STANDARD.decode(signature) else {
        return false;
    };
    let Ok(mut mac) = HmacSha1::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(string_to_sign.as_bytes());
    mac.verify_slice(&given).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_HEADERS: &[(String, String)] = &[];
    use crate::s3::request::parse_query;
    use crate::signature::sigv4::MAX_PRESIGNED_EXPIRES as WEEK;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The string to sign for a raw `:path` (path and query), its query read as the request
    /// parser reads it into `S3Request::query`.
    fn string_to_sign(
        method: &str,
        raw_path: &str,
        style: Style<'_>,
        headers: &(impl Headers + ?Sized),
        expires: Option<&str>,
    ) -> Result<String, S3Error> {
        let (path, query) = raw_path.split_once('?').unwrap_or((raw_path, ""));
        super::string_to_sign(method, path, &parse_query(query)?, style, headers, expires)
    }

    fn presigned(raw_path: &str) -> Result<Option<SigV2Auth>, S3Error> {
        let query = raw_path.split_once('?').map_or("", |(_, q)| q);
        parse_presigned(&parse_query(query)?)
    }

    const PATH: Style<'static> = Style::PathStyle { prefix: "" };
    const JOHNSMITH: Style<'static> = Style::VirtualHosted {
        prefix: "",
        bucket: "johnsmith",
    };

    // ---- AWS's SigV2 documentation examples (secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY;
    // bucket johnsmith, virtual-hosted unless noted).
    const DOC_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    #[test]
    fn aws_doc_object_get() {
        let headers = h(&[
            (":authority", "johnsmith.s3.amazonaws.com"),
            ("date", "Tue, 27 Mar 2007 19:36:42 +0000"),
        ]);
        let auth =
            parse_authorization("AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU=").unwrap();
        assert_eq!(auth.access_key, "AKIAIOSFODNN7EXAMPLE");
        let sts = string_to_sign("GET", "/photos/puppy.jpg", JOHNSMITH, &headers, None).unwrap();
        assert_eq!(
            sts,
            "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg"
        );
        assert_eq!(sign(DOC_SECRET, &sts), "bWq2s1WEIj+Ydj0vQ697zp+IXMU=");
        assert!(verify(DOC_SECRET, &sts, &auth.signature));
        let t = parse_http_date("Tue, 27 Mar 2007 19:36:42 +0000").unwrap();
        check_time(&auth, &headers, t + 60, WEEK).unwrap();
    }

    #[test]
    fn aws_doc_put_list_and_acl() {
        let put = h(&[
            ("content-type", "image/jpeg"),
            ("content-length", "94328"),
            ("date", "Tue, 27 Mar 2007 21:15:45 +0000"),
        ]);
        let sts = string_to_sign("PUT", "/photos/puppy.jpg", JOHNSMITH, &put, None).unwrap();
        assert_eq!(
            sts,
            "PUT\n\nimage/jpeg\nTue, 27 Mar 2007 21:15:45 +0000\n/johnsmith/photos/puppy.jpg"
        );
        assert_eq!(sign(DOC_SECRET, &sts), "MyyxeRY7whkBe+bq8fHCL/2kKUg=");
        // Listing parameters are not sub-resources: unsigned.
        let date = h(&[("date", "Tue, 27 Mar 2007 19:42:41 +0000")]);
        let sts = string_to_sign(
            "GET",
            "/?prefix=photos&max-keys=50&marker=puppy",
            JOHNSMITH,
            &date,
            None,
        )
        .unwrap();
        assert_eq!(sts, "GET\n\n\nTue, 27 Mar 2007 19:42:41 +0000\n/johnsmith/");
        assert_eq!(sign(DOC_SECRET, &sts), "htDYFYduRNen8P9ZfE/s9SuKy0U=");
        let date = h(&[("date", "Tue, 27 Mar 2007 19:44:46 +0000")]);
        let sts = string_to_sign("GET", "/?acl", JOHNSMITH, &date, None).unwrap();
        assert_eq!(
            sts,
            "GET\n\n\nTue, 27 Mar 2007 19:44:46 +0000\n/johnsmith/?acl"
        );
        assert_eq!(sign(DOC_SECRET, &sts), "c2WLPFtWHVgbEmeEG93a4cG37dM=");
    }

    #[test]
    fn aws_doc_path_style_list_buckets_and_unicode_keys() {
        let date = h(&[("date", "Wed, 28 Mar 2007 01:29:59 +0000")]);
        let sts = string_to_sign("GET", "/", PATH, &date, None).unwrap();
        assert_eq!(sts, "GET\n\n\nWed, 28 Mar 2007 01:29:59 +0000\n/");
        assert_eq!(sign(DOC_SECRET, &sts), "qGdzdERIC03wnaRNKh6OqZehG9s=");
        // The path is signed encoded exactly as sent, lower-case hex and all.
        let date = h(&[("date", "Wed, 28 Mar 2007 01:49:49 +0000")]);
        let raw = "/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re";
        let sts = string_to_sign("GET", raw, PATH, &date, None).unwrap();
        assert_eq!(
            sts,
            format!("GET\n\n\nWed, 28 Mar 2007 01:49:49 +0000\n{raw}")
        );
        assert_eq!(sign(DOC_SECRET, &sts), "DNEZGsoieTZ92F3bUfSPQcbGmlM=");
    }

    #[test]
    fn aws_doc_presigned_url() {
        let raw = "/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE\
                   &Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620";
        let auth = presigned(raw).unwrap().unwrap();
        assert_eq!(auth.access_key, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(auth.signature, "NpgCjnDzrM+WFzoENXmpNDUsSn8=");
        let sts =
            string_to_sign("GET", raw, JOHNSMITH, NO_HEADERS, auth.expires.as_deref()).unwrap();
        assert_eq!(sts, "GET\n\n\n1175139620\n/johnsmith/photos/puppy.jpg");
        assert!(verify(DOC_SECRET, &sts, &auth.signature));
        check_time(&auth, NO_HEADERS, 1_175_139_620, WEEK).unwrap();
        let e = check_time(&auth, NO_HEADERS, 1_175_139_621, WEEK).unwrap_err();
        assert_eq!(
            (e.code, e.status, e.message.as_str()),
            ("AccessDenied", 403, "Request has expired")
        );
    }

    // ---- Vectors signed by botocore 1.44.8 with signature_version "s3" (HmacV1Auth /
    // HmacV1QueryAuth), printed by scripts/gen_sigv4_vectors.py: endpoint
    // http://gw.example:8080/s3p, access key `alice-demo-key`, secret `gw+secret/with=odd chars`,
    // clock pinned at 2026-11-26T10:00:00Z. Path-style and virtual-hosted requests carry the same
    // signatures: boto signs the S3 resource (`/immuta/...`), not the URL path.
    const BOTO_SECRET: &str = "gw+secret/with=odd chars";
    const BOTO_NOW: u64 = 1_795_687_200;
    const BOTO_DATE: &str = "Thu, 26 Nov 2026 10:00:00 GMT";
    const S3P: Style<'static> = Style::PathStyle { prefix: "/s3p" };
    const S3P_VIRTUAL: Style<'static> = Style::VirtualHosted {
        prefix: "/s3p",
        bucket: "immuta",
    };
    const KEY: &str = "/sales/q1%20report%2Bfinal%3Dv2%20%C3%A9/%C3%BCn%C3%AF.csv";
    const LIST_QUERY: &str =
        "?list-type=2&prefix=sales%2Fq1%20report%2B&delimiter=%2F&encoding-type=url";

    fn boto_headers(host: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut headers = h(&[(":authority", host)]);
        headers.extend(h(extra));
        headers.extend(h(&[
            ("user-agent", "Botocore/1.44.8 ua/2.1 lang/python#3.11.7"),
            ("date", BOTO_DATE),
            (
                "amz-sdk-invocation-id",
                "bababa32-fdd5-46ae-b463-49811faf9728",
            ),
            ("amz-sdk-request", "attempt=1; max=3"),
        ]));
        headers
    }

    fn boto_check(
        method: &str,
        raw_path: &str,
        addressing: Style<'_>,
        headers: &[(String, String)],
        authorization: &str,
    ) {
        let auth = parse_authorization(authorization).unwrap();
        assert_eq!(auth.access_key, "alice-demo-key");
        check_time(&auth, headers, BOTO_NOW, WEEK).unwrap();
        let sts = string_to_sign(method, raw_path, addressing, headers, None).unwrap();
        assert!(verify(BOTO_SECRET, &sts, &auth.signature), "{sts}");
        assert_eq!(sign(BOTO_SECRET, &sts), auth.signature);
    }

    #[test]
    fn botocore_header_signatures() {
        let path_host = "gw.example:8080";
        let virtual_host = "immuta.gw.example:8080";
        let get_extra = [("range", "bytes=0-9"), ("x-amz-checksum-mode", "ENABLED")];
        let list_sig = "AWS alice-demo-key:WHo0oxlbF6okog2MWSjzK20o6BA=";
        let get_sig = "AWS alice-demo-key:uZ1BJjeeFPNkwOXifNBsigX5Xx4=";
        let head_sig = "AWS alice-demo-key:Vn15S6Eg+vn1tOUmKr44IARNzVk=";
        for (host, addressing, base) in [
            (path_host, S3P, "/s3p/immuta"),
            (virtual_host, S3P_VIRTUAL, "/s3p"),
        ] {
            let plain = boto_headers(host, &[]);
            let list = format!("{base}{LIST_QUERY}");
            boto_check("GET", &list, addressing, &plain, list_sig);
            let get = boto_headers(host, &get_extra);
            let key = format!("{base}{KEY}");
            boto_check("GET", &key, addressing, &get, get_sig);
            boto_check("HEAD", &key, addressing, &plain, head_sig);
            assert_eq!(
                string_to_sign("GET", &key, addressing, &get, None).unwrap(),
                format!("GET\n\n\n{BOTO_DATE}\nx-amz-checksum-mode:ENABLED\n/immuta{KEY}")
            );
        }
        // Service- and bucket-level requests: ListBuckets signs the path as sent, `?location`
        // is a sub-resource of `/immuta/`.
        let plain = boto_headers(path_host, &[]);
        boto_check(
            "GET",
            "/s3p",
            S3P,
            &plain,
            "AWS alice-demo-key:2zAqcapkbofW7TbElrf/HAHyksA=",
        );
        boto_check(
            "GET",
            "/s3p/immuta?location",
            S3P,
            &plain,
            "AWS alice-demo-key:0oLaA6ImDKiWE2vqqApVRBNKmUE=",
        );
    }

    #[test]
    fn botocore_presigned_urls() {
        let get_query =
            "?AWSAccessKeyId=alice-demo-key&Signature=K4wSsCY96cWE7NhqSoz6P5fO4Vc%3D&Expires=1795690800";
        let list_query =
            "?list-type=2&prefix=sales%2Fa%3Db%2Bc%20d&delimiter=%2F&encoding-type=url\
             &AWSAccessKeyId=alice-demo-key&Signature=IXBV%2BLoiUllDwWqYb%2Bzes%2BxQogQ%3D\
             &Expires=1795687800";
        let host = h(&[(":authority", "gw.example:8080")]);
        for (addressing, base) in [(S3P, "/s3p/immuta"), (S3P_VIRTUAL, "/s3p")] {
            for (raw, lifetime) in [
                (format!("{base}{KEY}{get_query}"), 3600),
                (format!("{base}{list_query}"), 600),
            ] {
                let auth = presigned(&raw).unwrap().unwrap();
                let sts = string_to_sign("GET", &raw, addressing, &host, auth.expires.as_deref())
                    .unwrap();
                assert!(verify(BOTO_SECRET, &sts, &auth.signature), "{sts}");
                check_time(&auth, &host, BOTO_NOW + lifetime, WEEK).unwrap();
                let e = check_time(&auth, &host, BOTO_NOW + lifetime + 1, WEEK).unwrap_err();
                assert_eq!(e.message, "Request has expired");
            }
        }
    }

    #[test]
    fn resource_paths() {
        let cases = [
            ("/s3p", S3P, "/s3p"),
            ("/s3p/", S3P, "/s3p/"),
            ("/s3p/immuta", S3P, "/immuta/"),
            ("/s3p/immuta/", S3P, "/immuta/"),
            ("/s3p/immuta/a%20b/c", S3P, "/immuta/a%20b/c"),
            ("/s3p", S3P_VIRTUAL, "/immuta/"),
            ("/s3p/", S3P_VIRTUAL, "/immuta/"),
            ("/s3p/a/b", S3P_VIRTUAL, "/immuta/a/b"),
            ("/", PATH, "/"),
            ("/immuta", PATH, "/immuta/"),
            ("/immuta/k", PATH, "/immuta/k"),
        ];
        for (path, addressing, want) in cases {
            assert_eq!(resource_path(path, addressing).unwrap(), want, "{path}");
        }
        // Outside the prefix, or merely sharing its first letters: refused.
        for path in ["/s3px/immuta", "/other", "", "s3p"] {
            assert!(resource_path(path, S3P).is_err(), "{path}");
            assert!(resource_path(path, S3P_VIRTUAL).is_err(), "{path}");
        }
    }

    #[test]
    fn subresources_and_amz_headers() {
        let headers = h(&[
            ("x-amz-date", "Thu, 26 Nov 2026 10:00:00 GMT"),
            ("date", "ignored when x-amz-date is present"),
            ("X-Amz-Meta-B", " two "),
            ("x-amz-meta-a", "1"),
            ("x-amz-meta-b", "three"),
            ("content-md5", "XrY7u+Ae7tCTyyK7j1rNww=="),
            ("content-type", "text/plain"),
        ]);
        let sts = string_to_sign(
            "GET",
            "/s3p/immuta/k?versionId=v%2B1&response-content-type=text%2Fcsv&uploads&prefix=x&acl=",
            S3P,
            &headers,
            None,
        )
        .unwrap();
        assert_eq!(
            sts,
            "GET\nXrY7u+Ae7tCTyyK7j1rNww==\ntext/plain\n\n\
             x-amz-date:Thu, 26 Nov 2026 10:00:00 GMT\nx-amz-meta-a:1\nx-amz-meta-b:two,three\n\
             /immuta/k?acl=&response-content-type=text/csv&uploads&versionId=v+1"
        );
        // Presigned: x-amz-* query parameters are signed like headers.
        let sts = string_to_sign(
            "GET",
            "/b/k?x-amz-meta-a=%C3%A9&Signature=x",
            PATH,
            NO_HEADERS,
            Some("5"),
        )
        .unwrap();
        assert_eq!(sts, "GET\n\n\n5\nx-amz-meta-a:\u{e9}\n/b/k");
    }

    #[test]
    fn encoded_names_are_signed_as_the_names_acted_on() {
        // An override added to a valid presigned URL with its name percent-encoded is the
        // override the request parser forwards: signed under its decoded name, so the URL no
        // longer verifies.
        let get_query = "?AWSAccessKeyId=alice-demo-key&Signature=K4wSsCY96cWE7NhqSoz6P5fO4Vc%3D\
                         &Expires=1795690800";
        let host = h(&[(":authority", "gw.example:8080")]);
        let raw = format!("/s3p/immuta{KEY}{get_query}");
        let auth = presigned(&raw).unwrap().unwrap();
        let sts =
            |raw: &str| string_to_sign("GET", raw, S3P, &host, auth.expires.as_deref()).unwrap();
        assert!(verify(BOTO_SECRET, &sts(&raw), &auth.signature));
        for added in [
            "&response-content-typ%65=text/html",
            "&response-content-dispositio%6e=attachment%3Bfilename%3Devil.html",
            "&%72esponse-content-type=text/html",
            "&response%2Dcontent%2Dtype=text/html",
            "&response-cache-control",
        ] {
            let tampered = format!("{raw}{added}");
            let forwarded = crate::s3::request::parse(
                "GET",
                &tampered,
                "gw.example:8080",
                &crate::s3::request::Addressing {
                    path_prefix: "/s3p",
                    bucket: "immuta",
                    virtual_host_domain: None,
                },
            )
            .unwrap()
            .forwarded_query;
            assert_eq!(forwarded.len(), 1, "{added}");
            let signed = sts(&tampered);
            let (name, value) = &forwarded[0];
            let bare = !added.contains('=');
            let expected = if bare {
                format!("?{name}")
            } else {
                format!("?{name}={value}")
            };
            assert!(signed.ends_with(&expected), "{signed}");
            assert!(!verify(BOTO_SECRET, &signed, &auth.signature), "{added}");
        }
        // `name` and `name=` are signed apart, as clients write them.
        let plain = |raw: &str| string_to_sign("GET", raw, PATH, NO_HEADERS, None).unwrap();
        assert!(plain("/b/k?torrent").ends_with("/b/k?torrent"));
        assert!(plain("/b/k?torrent=").ends_with("/b/k?torrent="));
        assert!(plain("/b/k?%74orrent&x=1").ends_with("/b/k?torrent"));
    }

    #[test]
    fn string_to_sign_has_one_limit() {
        // The Date line and resource take `fixed` bytes; a meta header fills the rest.
        let fixed = string_to_sign("GET", "/b/k", PATH, &h(&[("x-amz-meta-a", "")]), Some("5"))
            .unwrap()
            .len();
        let at = h(&[("x-amz-meta-a", &"v".repeat(MAX_STRING_TO_SIGN - fixed))]);
        let sts = string_to_sign("GET", "/b/k", PATH, &at, Some("5")).unwrap();
        assert_eq!(sts.len(), MAX_STRING_TO_SIGN);
        let over = h(&[("x-amz-meta-a", &"v".repeat(MAX_STRING_TO_SIGN - fixed + 1))]);
        let e = string_to_sign("GET", "/b/k", PATH, &over, Some("5")).unwrap_err();
        assert_eq!((e.code, e.status), ("RequestHeaderSectionTooLarge", 400));
        assert_eq!(e.detail, Some(("MaxSizeAllowed", "16384".to_string())));
        // The query counts too.
        let long_query = format!("/b/k?versionId={}", "v".repeat(MAX_STRING_TO_SIGN));
        let e = string_to_sign("GET", &long_query, PATH, NO_HEADERS, None).unwrap_err();
        assert_eq!(e.code, "RequestHeaderSectionTooLarge");
    }

    #[test]
    fn presigned_lifetime_is_capped() {
        let now = BOTO_NOW;
        let url = |expires: u64| {
            presigned(&format!(
                "/k?AWSAccessKeyId=a&Signature=WHo0oxlbF6okog2MWSjzK20o6BA%3D&Expires={expires}"
            ))
            .unwrap()
            .unwrap()
        };
        // Up to the maximum, plus the 15 minutes a signer's clock may be ahead.
        for ok in [now, now + WEEK, now + WEEK + MAX_SKEW_SECONDS] {
            check_time(&url(ok), NO_HEADERS, now, WEEK).unwrap();
        }
        for beyond in [
            now + WEEK + MAX_SKEW_SECONDS + 1,
            now + 10 * 365 * 86400,
            9_999_999_999_999_999_999,
        ] {
            let e = check_time(&url(beyond), NO_HEADERS, now, WEEK).unwrap_err();
            assert_eq!(
                (e.code, e.status),
                ("AuthorizationQueryParametersError", 400)
            );
            assert!(e.message.contains("604800"), "{}", e.message);
        }
        // Configured shorter.
        check_time(&url(now + 3600 + 900), NO_HEADERS, now, 3600).unwrap();
        let e = check_time(&url(now + 3600 + 901), NO_HEADERS, now, 3600).unwrap_err();
        assert!(e.message.contains("3600"), "{}", e.message);
        // The header form has no Expires: only the skew window applies.
        let auth = parse_authorization("AWS a:WHo0oxlbF6okog2MWSjzK20o6BA=").unwrap();
        check_time(&auth, &h(&[("date", BOTO_DATE)]), now, 1).unwrap();
    }

    #[test]
    fn negative_cases() {
        let headers = boto_headers("gw.example:8080", &[]);
        let list = format!("/s3p/immuta{LIST_QUERY}");
        let sts = string_to_sign("GET", &list, S3P, &headers, None).unwrap();
        let good = "WHo0oxlbF6okog2MWSjzK20o6BA=";
        assert!(verify(BOTO_SECRET, &sts, good));
        // Wrong secret.
        assert!(!verify("other secret", &sts, good));
        // Tampered: path, method, a signed sub-resource, an amz header, the Date.
        let other_date = boto_headers("gw.example:8080", &[])
            .into_iter()
            .map(|(k, v)| {
                let v = if k == "date" {
                    "Thu, 26 Nov 2026 10:05:00 GMT".into()
                } else {
                    v
                };
                (k, v)
            })
            .collect::<Vec<_>>();
        let tampered = [
            string_to_sign("GET", "/s3p/immuta/x", S3P, &headers, None),
            string_to_sign("HEAD", &list, S3P, &headers, None),
            string_to_sign("GET", &format!("{list}&versionId=1"), S3P, &headers, None),
            string_to_sign(
                "GET",
                &list,
                S3P,
                &boto_headers("gw.example:8080", &[("x-amz-meta-x", "1")]),
                None,
            ),
            string_to_sign("GET", &list, S3P, &other_date, None),
        ];
        for t in tampered {
            let t = t.unwrap();
            assert!(!verify(BOTO_SECRET, &t, good), "{t}");
        }
        // Unsigned headers and non-sub-resource parameters may change freely (SigV2 does not
        // cover them; the listing parameters are why SigV4 is preferred).
        let other = boto_headers("other.example", &[("accept", "*/*")]);
        let same = string_to_sign("GET", &list, S3P, &other, None).unwrap();
        assert!(verify(BOTO_SECRET, &same, good));
        // Bad signatures never verify.
        for bad in ["", "not base64!", "AAAA", "WHo0oxlbF6okog2MWSjzK20o6BB="] {
            assert!(!verify(BOTO_SECRET, &sts, bad), "{bad}");
        }
        // Clock skew both ways; a missing or unreadable date.
        let auth = parse_authorization(&format!("AWS alice-demo-key:{good}")).unwrap();
        check_time(&auth, &headers, BOTO_NOW + 900, WEEK).unwrap();
        check_time(&auth, &headers, BOTO_NOW - 900, WEEK).unwrap();
        for now in [BOTO_NOW + 901, BOTO_NOW - 901] {
            let e = check_time(&auth, &headers, now, WEEK).unwrap_err();
            assert_eq!((e.code, e.status), ("RequestTimeTooSkewed", 403));
            assert_eq!(
                e.message,
                "The difference between the request time and the current time is too large."
            );
        }
        for bad in [h(&[("host", "h")]), h(&[("date", "yesterday")])] {
            assert_eq!(
                check_time(&auth, &bad, BOTO_NOW, WEEK).unwrap_err().code,
                "AccessDenied"
            );
        }
        // x-amz-date wins over Date.
        let both = h(&[
            ("date", BOTO_DATE),
            ("x-amz-date", "Thu, 26 Nov 2026 12:00:00 GMT"),
        ]);
        assert_eq!(
            check_time(&auth, &both, BOTO_NOW, WEEK).unwrap_err().code,
            "RequestTimeTooSkewed"
        );
        // Two Date headers are ambiguous.
        let twice = h(&[("date", BOTO_DATE), ("date", BOTO_DATE)]);
        assert_eq!(
            check_time(&auth, &twice, BOTO_NOW, WEEK).unwrap_err().code,
            "InvalidArgument"
        );
    }

    #[test]
    fn malformed_credentials() {
        for bad in [
            "AWS alice",
            "AWS :WHo0oxlbF6okog2MWSjzK20o6BA=",
            "AWS alice:immuta",
            "AWS alice:",
            "AWS alice:WHo0oxlbF6okog2MWSjzK20o6BA",
            "AWS alice:WHo0oxlbF6okog2MWSjzK20o6BA==",
            "AWSalice:WHo0oxlbF6okog2MWSjzK20o6BA=",
            "AWS4-HMAC-SHA256 Credential=x",
            "AWS al ice:WHo0oxlbF6okog2MWSjzK20o6BA=",
            "AWS \u{e9}:WHo0oxlbF6okog2MWSjzK20o6BA=",
        ] {
            assert_eq!(
                parse_authorization(bad).unwrap_err().code,
                "InvalidArgument",
                "{bad}"
            );
        }
        assert_eq!(presigned("/k?prefix=a").unwrap(), None);
        assert_eq!(presigned("/k?Expires=5").unwrap(), None);
        for bad in [
            "/k?AWSAccessKeyId=a&Signature=WHo0oxlbF6okog2MWSjzK20o6BA%3D",
            "/k?AWSAccessKeyId=a&Expires=5",
            "/k?Signature=WHo0oxlbF6okog2MWSjzK20o6BA%3D&Expires=5",
            "/k?AWSAccessKeyId=a&Signature=short&Expires=5",
            "/k?AWSAccessKeyId=a&Signature=WHo0oxlbF6okog2MWSjzK20o6BA%3D&Expires=-5",
            "/k?AWSAccessKeyId=a&Signature=WHo0oxlbF6okog2MWSjzK20o6BA%3D&Expires=soon",
            "/k?AWSAccessKeyId=a&Signature=WHo0oxlbF6okog2MWSjzK20o6BA%3D&Expires=99999999999999999999",
        ] {
            assert_eq!(presigned(bad).unwrap_err().code, "AccessDenied", "{bad}");
        }
        // Duplicated credential parameters.
        for bad in [
            "/k?AWSAccessKeyId=a&AWSAccessKeyId=b&Signature=WHo0oxlbF6okog2MWSjzK20o6BA%3D&Expires=5",
            "/k?AWSAccessKeyId=a&Signature=WHo0oxlbF6okog2MWSjzK20o6BA%3D&Expires=5&Expires=9",
            "/k?AWSAccessKeyId=a&Signature=WHo0oxlbF6okog2MWSjzK20o6BA%3D&Signature=WHo0oxlbF6okog2MWSjzK20o6BA%3D&Expires=5",
        ] {
            assert_eq!(presigned(bad).unwrap_err().code, "InvalidArgument", "{bad}");
        }
        // An unencoded `+` in the signature arrives as a space and is read back.
        let auth =
            presigned("/k?AWSAccessKeyId=a&Signature=IXBV+LoiUllDwWqYb+zes+xQogQ=&Expires=5")
                .unwrap()
                .unwrap();
        assert_eq!(auth.signature, "IXBV+LoiUllDwWqYb+zes+xQogQ=");
        // The signature never shows in Debug output.
        assert!(!format!("{auth:?}").contains("IXBV"));
    }

    #[test]
    fn untrusted_input_never_panics() {
        for raw in [
            "",
            "?",
            "/%",
            "/a?%zz",
            "/a?acl=%ff",
            "/\u{e9}?\u{e9}=\u{e9}&&=&x-amz-a=%",
        ] {
            let _ = string_to_sign("GET", raw, S3P, NO_HEADERS, Some("1"));
            let _ = string_to_sign("GET", raw, PATH, NO_HEADERS, None);
            let _ = presigned(raw);
        }
    }
}
