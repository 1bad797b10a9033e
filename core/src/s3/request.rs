//! Parsing an S3 request (path style, under the configured path prefix) into the operation the
//! gateway serves, with every namespace trick rejected before any mapping happens.

use crate::encoding::byte_table::{byte_table, ByteTable};
use crate::s3::error::S3Error;

/// S3 keys are at most 1024 bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    ListBuckets,
    HeadBucket,
    GetBucketLocation,
    ListObjects(ListParams),
    GetObject { key: String },
    HeadObject { key: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListVersion {
    V1,
    V2,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListParams {
    pub version: ListVersion,
    pub prefix: String,
    pub delimiter: Option<String>,
    pub max_keys: usize,
    /// v1 `marker` or v2 `start-after`: list keys strictly after this one.
    pub start_after: Option<String>,
    /// v2 `continuation-token`, as the client sent it (a token this gateway minted).
    pub continuation_token: Option<String>,
    pub encoding_url: bool,
    pub fetch_owner: bool,
}

/// Query parameters of GetObject that are forwarded upstream (they only shape the response).
const FORWARDED_OBJECT_PARAMS: &[&str] = &[
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
];

/// Sub-resources that turn a GET/HEAD into an operation the gateway does not serve.
const UNSUPPORTED_SUBRESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "attributes",
    "cors",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "legal-hold",
    "lifecycle",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "partNumber",
    "policy",
    "policyStatus",
    "publicAccessBlock",
    "replication",
    "requestPayment",
    "restore",
    "retention",
    "select",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Request {
    pub operation: Operation,
    /// The bucket was named in `Host` (virtual-hosted style), not in the path.
    pub virtual_hosted: bool,
    /// The query as [`parse_query`] read it, once: the credential, SigV2's sub-resources and
    /// the operation all read these.
    pub query: Vec<QueryParam>,
    /// Query parameters to pass on to the upstream for an object request (already decoded).
    pub forwarded_query: Vec<(String, String)>,
}

/// How the gateway lets requests name the bucket (its configuration, not one request's
/// choice): path style under `path_prefix` (`/s3p/immuta/key`), or virtual-hosted style
/// (`immuta.<virtual_host_domain>` in `Host`, then `/s3p/key`).
#[derive(Debug, Clone, Copy)]
pub struct Addressing<'a> {
    pub path_prefix: &'a str,
    pub bucket: &'a str,
    pub virtual_host_domain: Option<&'a str>,
}

/// Parses `method`, the raw `:path` (path and query) and the `:authority`. A path outside
/// `path_prefix` or another bucket is `NoSuchBucket`.
pub fn parse(
    method: &str,
    raw_path: &str,
    authority: &str,
    addressing: &Addressing,
) -> Result<S3Request, S3Error> {
    let path_prefix = addressing.path_prefix;
    let bucket = addressing.bucket;
    let (path, query) = match raw_path.split_once('?') {
        Some((p, q)) => (p, q),
        None => (raw_path, ""),
    };
    let rest = path
        .strip_prefix(path_prefix)
        .filter(|r| r.is_empty() || r.starts_with('/'))
        .ok_or_else(|| S3Error::no_such_bucket(path.trim_start_matches('/')))?;
    let query = parse_query(query)?;
    let has = |name: &str| query.iter().any(|p| p.name == name);
    let get = |name: &str| {
        query
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_str())
    };

    let is_read = match method {
        "GET" => true,
        "HEAD" => false,
        // S3 Select is a read, but not one the gateway can filter.
        "POST" if has("select") => {
            return Err(S3Error::not_implemented(
                "The 'select' sub-resource is not supported by this gateway",
            ))
        }
        "PUT" | "POST" | "DELETE" | "PATCH" => {
            return Err(S3Error::access_denied_because(
                "Access Denied: the gateway is read-only",
            ))
        }
        other => return Err(S3Error::method_not_allowed(other)),
    };

    let host_bucket = virtual_host_bucket(authority, addressing.virtual_host_domain);
    let virtual_hosted = host_bucket.is_some();
    let key_part = match host_bucket {
        Some(host_bucket) => {
            if host_bucket != bucket {
                return Err(S3Error::no_such_bucket(&host_bucket));
            }
            rest.strip_prefix('/').unwrap_or(rest)
        }
        None => {
            let rest = rest.trim_start_matches('/');
            if rest.is_empty() {
                if !is_read {
                    return Err(S3Error::method_not_allowed(method));
                }
                return Ok(S3Request {
                    operation: Operation::ListBuckets,
                    virtual_hosted,
                    query,
                    forwarded_query: Vec::new(),
                });
            }
            let (bucket_part, key_part) = match rest.split_once('/') {
                Some((b, k)) => (b, k),
                None => (rest, ""),
            };
            let requested_bucket = percent_decode(bucket_part)?;
            if requested_bucket != bucket {
                return Err(S3Error::no_such_bucket(&requested_bucket));
            }
            key_part
        }
    };
    if let Some(sub) = UNSUPPORTED_SUBRESOURCES.iter().find(|s| has(s)) {
        return Err(S3Error::not_implemented(&format!(
            "The '{sub}' sub-resource is not supported by this gateway"
        )));
    }

    if key_part.is_empty() {
        let operation = if !is_read {
            Operation::HeadBucket
        } else if has("location") {
            Operation::GetBucketLocation
        } else {
            Operation::ListObjects(list_params(get)?)
        };
        return Ok(S3Request {
            operation,
            virtual_hosted,
            query,
            forwarded_query: Vec::new(),
        });
    }

    let key = decode_key(key_part)?;
    let forwarded_query = query
        .iter()
        .filter(|p| FORWARDED_OBJECT_PARAMS.contains(&p.name.as_str()))
        .map(|p| (p.name.clone(), p.value.clone()))
        .collect();
    let operation = if is_read {
        Operation::GetObject { key }
    } else {
        Operation::HeadObject { key }
    };
    Ok(S3Request {
        operation,
        virtual_hosted,
        query,
        forwarded_query,
    })
}

/// The bucket named by a virtual-hosted-style `Host` (`bucket.domain[:port]`), if any.
fn virtual_host_bucket(authority: &str, domain: Option<&str>) -> Option<String> {
    let domain = domain?;
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    let host = host.to_ascii_lowercase();
    let label = host
        .strip_suffix(&domain.to_ascii_lowercase())?
        .strip_suffix('.')?
        .to_string();
    (!label.is_empty()).then_some(label)
}

fn list_params<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<ListParams, S3Error> {
    let version = match get("list-type") {
        None => ListVersion::V1,
        Some("2") => ListVersion::V2,
        Some(_) => return Err(S3Error::invalid_argument("Invalid List Type specified")),
    };
    let max_keys = match get("max-keys") {
        None => 1000,
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                S3Error::invalid_argument(
                    "Provided max-keys not an integer or within integer range",
                )
            })?
            .min(1000) as usize,
    };
    let encoding_url = match get("encoding-type") {
        None => false,
        Some("url") => true,
        Some(_) => {
            return Err(S3Error::invalid_argument(
                "Invalid Encoding Method specified in Request",
            ))
        }
    };
    let prefix = get("prefix").unwrap_or("").to_string();
    check_bound(&prefix, "prefix")?;
    let delimiter = get("delimiter")
        .filter(|d| !d.is_empty())
        .map(str::to_string);
    let (start_after, continuation_token) = match version {
        ListVersion::V1 => (
            get("marker").filter(|m| !m.is_empty()).map(str::to_string),
            None,
        ),
        ListVersion::V2 => (
            get("start-after")
                .filter(|m| !m.is_empty())
                .map(str::to_string),
            get("continuation-token").map(str::to_string),
        ),
    };
    // Listings name only servable keys (see `is_servable_name`) or sealed tokens, so a marker
    // echoing one always passes this check.
    if let Some(after) = &start_after {
        check_bound(after, "marker")?;
    }
    Ok(ListParams {
        version,
        prefix,
        delimiter,
        max_keys,
        start_after,
        continuation_token,
        encoding_url,
        fetch_owner: version == ListVersion::V1 || get("fetch-owner") == Some("true"),
    })
}

/// Decodes and checks an object key from the raw path. Rejects what could climb out of a data
/// source or mean different things to different parsers: encoded `/` or `\`, `.`/`..` or empty
/// segments, control bytes, invalid UTF-8, overlong keys.
pub fn decode_key(raw: &str) -> Result<String, S3Error> {
    let lower = raw.to_ascii_lowercase();
    if lower.contains("%2f") || lower.contains("%5c") || raw.contains('\\') {
        return Err(S3Error::invalid_argument(
            "Encoded '/' or '\\' in object keys is not allowed",
        ));
    }
    let key = percent_decode(raw)?;
    check_text(&key, "key")?;
    let segments: Vec<&str> = key.split('/').collect();
    let last = segments.len() - 1;
    for (i, segment) in segments.iter().enumerate() {
        if *segment == "." || *segment == ".." || (segment.is_empty() && i != last) {
            return Err(S3Error::invalid_argument(
                "Object keys with '.', '..' or empty segments are not allowed",
            ));
        }
    }
    Ok(key)
}

/// Whether a name a listing would show is one the gateway serves: GET/HEAD accept it as a key,
/// a marker naming it is accepted. Listings leave out what could not be fetched. The rule of
/// `check_text` (no more than [`MAX_KEY_BYTES`], no control characters, no `.` or `..`
/// segment) plus no empty segment but the last, in one pass over the bytes: it is asked of
/// every listed name. A property test holds it to `check_text`'s answers.
pub fn is_servable_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.len() > MAX_KEY_BYTES {
        return false;
    }
    let mut segment = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !NAME_ATTENTION.lookup(b) {
            continue;
        }
        match b {
            b'/' => {
                if matches!(bytes.get(segment..i), Some(b"" | b"." | b"..")) {
                    return false;
                }
                segment = i + 1;
            }
            // U+0080..U+009F, the other control characters.
            0xC2 if !matches!(bytes.get(i + 1), Some(0x80..=0x9F)) => {}
            _ => return false,
        }
    }
    !matches!(bytes.get(segment..), Some(b"." | b".."))
}

/// Bytes [`is_servable_name`] looks at: `/`, ASCII controls, and 0xC2 (which leads
/// U+0080..U+009F).
const NAME_ATTENTION: ByteTable<bool> = byte_table!(|b| matches!(b, 0..=0x1F | 0x7F | b'/' | 0xC2));

/// Checks text that will become (part of) an upstream key: bounded, no control bytes,
/// no `.`/`..` segments.
fn check_text(text: &str, what: &str) -> Result<(), S3Error> {
    check_chars(text, what)?;
    if text.split('/').any(|s| s == "." || s == "..") {
        return Err(dot_segments(what));
    }
    Ok(())
}

/// Checks a listing's prefix or marker. It bounds names rather than naming one, and its last
/// segment may still grow into a servable name (`.` into `.part-0`), so S3's answer to it is
/// well defined: only complete `.`/`..` segments are refused, which could never lead to a
/// servable key and which a store that resolves paths could climb with.
fn check_bound(text: &str, what: &str) -> Result<(), S3Error> {
    check_chars(text, what)?;
    let complete = text.rsplit_once('/').map_or("", |(dirs, _)| dirs);
    if complete.split('/').any(|s| s == "." || s == "..") {
        return Err(dot_segments(what));
    }
    Ok(())
}

fn dot_segments(what: &str) -> S3Error {
    S3Error::invalid_argument(&format!("The {what} contains '.' or '..' segments"))
}

/// Bounded length, no control characters.
fn check_chars(text: &str, what: &str) -> Result<(), S3Error> {
    if text.len() > MAX_KEY_BYTES {
        return Err(S3Error::invalid_argument(&format!(
            "The {what} is too long"
        )));
    }
    if text.chars().any(|c| c.is_control()) {
        return Err(S3Error::invalid_argument(&format!(
            "The {what} contains control characters"
        )));
    }
    Ok(())
}

/// One query parameter, decoded by [`parse_query`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryParam {
    pub name: String,
    pub value: String,
    /// Written without `=` (`?acl`): SigV2 signs `acl` and `acl=` apart.
    pub bare: bool,
}

/// Splits and decodes a query string into its parameters; `+` means space, as S3 reads it.
/// Every reader of the query reads these (a request's are parsed once, into
/// [`S3Request::query`]): the operation, the forwarded `response-*` overrides, the presented
/// credential, SigV2's sub-resources; SigV4's canonical query decodes by the same rule. So a
/// parameter is signed under the name it is acted on under: names are decoded too
/// (`response-content-typ%65` is `response-content-type`), and a client that signed a name as
/// written but encoded fails its signature, never passes unsigned.
pub fn parse_query(query: &str) -> Result<Vec<QueryParam>, S3Error> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok(QueryParam {
                name: decode_query_text(k)?,
                value: decode_query_text(v)?,
                bare: !pair.contains('='),
            })
        })
        .collect()
}

/// A query name or value decoded: `+` is a space, then percent-decoding.
fn decode_query_text(text: &str) -> Result<String, S3Error> {
    let decoded = if text.contains('+') {
        percent_decode(&text.replace('+', " "))
    } else {
        percent_decode(text)
    };
    Ok(decoded?)
}

/// Percent-decodes into UTF-8 (one definition, in `encoding::percent`).
pub use crate::encoding::percent::percent_decode;

#[cfg(test)]
mod tests {
    use super::*;

    const PATH_STYLE: Addressing = Addressing {
        path_prefix: "/s3p",
        bucket: "immuta",
        virtual_host_domain: Some("s3.example.test"),
    };

    fn op(method: &str, path: &str) -> Result<Operation, S3Error> {
        parse(method, path, "127.0.0.1:10000", &PATH_STYLE).map(|r| r.operation)
    }

    #[test]
    fn virtual_hosted_style_names_the_bucket_in_the_host() {
        let vhost =
            |path: &str, host: &str| parse("GET", path, host, &PATH_STYLE).map(|r| r.operation);
        assert_eq!(
            vhost("/s3p/sales/a.csv", "immuta.s3.example.test:10000").unwrap(),
            Operation::GetObject {
                key: "sales/a.csv".into()
            }
        );
        assert!(matches!(
            vhost("/s3p/?list-type=2", "IMMUTA.s3.example.test").unwrap(),
            Operation::ListObjects(_)
        ));
        assert!(matches!(
            vhost("/s3p", "immuta.s3.example.test").unwrap(),
            Operation::ListObjects(_)
        ));
        assert_eq!(
            vhost("/s3p/x", "other.s3.example.test").unwrap_err().code,
            "NoSuchBucket"
        );
        // The bare domain and other hosts are path style.
        assert_eq!(
            vhost("/s3p", "s3.example.test").unwrap(),
            Operation::ListBuckets
        );
        assert_eq!(
            vhost("/s3p/immuta/k", "immuta.elsewhere.test").unwrap(),
            Operation::GetObject { key: "k".into() }
        );
    }

    #[test]
    fn service_bucket_and_object_levels() {
        assert_eq!(op("GET", "/s3p").unwrap(), Operation::ListBuckets);
        assert_eq!(op("GET", "/s3p/").unwrap(), Operation::ListBuckets);
        assert_eq!(op("HEAD", "/s3p/immuta").unwrap(), Operation::HeadBucket);
        assert_eq!(
            op("GET", "/s3p/immuta?location").unwrap(),
            Operation::GetBucketLocation
        );
        assert_eq!(
            op("GET", "/s3p/immuta/sales/a%20b+c.csv").unwrap(),
            Operation::GetObject {
                key: "sales/a b+c.csv".into()
            }
        );
        assert_eq!(
            op("HEAD", "/s3p/immuta/documents/r%C3%A9sum%C3%A9.bin").unwrap(),
            Operation::HeadObject {
                key: "documents/résumé.bin".into()
            }
        );
    }

    #[test]
    fn boto3_list_request_parses() {
        let Operation::ListObjects(p) = op(
            "GET",
            "/s3p/immuta?delimiter=%2F&prefix=sales&encoding-type=url",
        )
        .unwrap() else {
            panic!("not a listing")
        };
        assert_eq!(p.version, ListVersion::V1);
        assert_eq!(p.prefix, "sales");
        assert_eq!(p.delimiter.as_deref(), Some("/"));
        assert!(p.encoding_url);
        assert_eq!(p.max_keys, 1000);
        let Operation::ListObjects(p) = op(
            "GET",
            "/s3p/immuta?list-type=2&max-keys=5000&start-after=sales%2Fa&continuation-token=xyz",
        )
        .unwrap() else {
            panic!("not a listing")
        };
        assert_eq!(p.version, ListVersion::V2);
        assert_eq!(p.max_keys, 1000);
        assert_eq!(p.start_after.as_deref(), Some("sales/a"));
        assert_eq!(p.continuation_token.as_deref(), Some("xyz"));
        assert!(!p.fetch_owner);
    }

    #[test]
    fn other_paths_and_buckets_do_not_exist() {
        assert_eq!(op("GET", "/other").unwrap_err().code, "NoSuchBucket");
        assert_eq!(op("GET", "/s3px/immuta").unwrap_err().code, "NoSuchBucket");
        assert_eq!(
            op("GET", "/s3p/acme-warehouse-prod/x").unwrap_err().code,
            "NoSuchBucket"
        );
    }

    #[test]
    fn writes_and_unknown_methods_are_refused() {
        for m in ["PUT", "POST", "DELETE"] {
            let e = op(m, "/s3p/immuta/sales/x").unwrap_err();
            assert_eq!((e.code, e.status), ("AccessDenied", 403));
        }
        assert_eq!(op("OPTIONS", "/s3p/immuta").unwrap_err().status, 405);
        assert_eq!(
            op("POST", "/s3p/immuta/sales/x?select&select-type=2")
                .unwrap_err()
                .code,
            "NotImplemented"
        );
        assert_eq!(
            op("GET", "/s3p/immuta/sales/x?acl").unwrap_err().code,
            "NotImplemented"
        );
        assert_eq!(
            op("GET", "/s3p/immuta?versions").unwrap_err().code,
            "NotImplemented"
        );
    }

    #[test]
    fn namespace_tricks_are_rejected() {
        for path in [
            "/s3p/immuta/sales/../customers/x",
            "/s3p/immuta/sales/%2e%2e/customers/x",
            "/s3p/immuta/sales/./x",
            "/s3p/immuta/sales%2F..%2Fcustomers/x",
            "/s3p/immuta/sales/a%5Cb",
            "/s3p/immuta/sales//x",
            "/s3p/immuta/sales/a%00b",
            "/s3p/immuta/sales/a%0Ab",
            "/s3p/immuta/sales/%ff",
            "/s3p/immuta/sales/%zz",
        ] {
            assert_eq!(
                op("GET", path).unwrap_err().code,
                "InvalidArgument",
                "{path}"
            );
        }
        let long = format!("/s3p/immuta/sales/{}", "a".repeat(1100));
        assert_eq!(op("GET", &long).unwrap_err().code, "InvalidArgument");
        assert_eq!(
            op("GET", "/s3p/immuta?prefix=sales/../customers/")
                .unwrap_err()
                .code,
            "InvalidArgument"
        );
    }

    #[test]
    fn servable_names_are_what_get_accepts() {
        for name in [
            "sales/a.csv",
            "sales/region=eu/",
            "documents/odd names/100%.bin",
        ] {
            assert!(is_servable_name(name), "{name}");
            assert!(decode_key(&name.replace('%', "%25")).is_ok(), "{name}");
        }
        for name in [
            "sales/./a",
            "sales/../a",
            "sales//a",
            "sales/a\u{1}",
            &"a".repeat(1100),
        ] {
            assert!(!is_servable_name(name), "{name:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// The byte scan answers as the rule it implements: `check_text`, and no empty
        /// segment but the last.
        #[test]
        fn servable_names_follow_check_text(
            pieces in proptest::collection::vec(
                proptest::sample::select(&["a", "/", ".", "..", "\u{1}", "\u{7f}", "\u{80}", "\u{85}", "\u{9f}", "\u{a0}", "é", "\u{100}", "x\u{c2}"][..]),
                0..10,
            ),
            any in ".{0,8}",
            long in 1020usize..1030,
        ) {
            let reference = |name: &str| {
                let inner_segments_empty = name
                    .rsplit_once('/')
                    .is_some_and(|(dirs, _)| dirs.split('/').any(str::is_empty));
                check_text(name, "key").is_ok() && !inner_segments_empty
            };
            let name = pieces.concat() + &any;
            proptest::prop_assert_eq!(is_servable_name(&name), reference(&name), "{:?}", name);
            let long = "a".repeat(long);
            proptest::prop_assert_eq!(is_servable_name(&long), reference(&long));
        }
    }

    #[test]
    fn prefixes_and_markers_may_end_inside_a_name() {
        for query in [
            "prefix=events/2026-11-03/.",
            "prefix=events/..",
            "prefix=.",
            "marker=events/2026-11-03/.",
            "list-type=2&start-after=events/..",
        ] {
            assert!(
                op("GET", &format!("/s3p/immuta?{query}")).is_ok(),
                "{query}"
            );
        }
        for query in [
            "prefix=events/./x",
            "prefix=events/../",
            "prefix=../events",
            "marker=sales/../customers/a",
            "list-type=2&start-after=./a",
        ] {
            let error = op("GET", &format!("/s3p/immuta?{query}")).unwrap_err();
            assert_eq!(error.code, "InvalidArgument", "{query}");
        }
    }

    #[test]
    fn bad_list_arguments_are_invalid() {
        assert_eq!(
            op("GET", "/s3p/immuta?max-keys=-1").unwrap_err().code,
            "InvalidArgument"
        );
        assert_eq!(
            op("GET", "/s3p/immuta?max-keys=abc").unwrap_err().code,
            "InvalidArgument"
        );
        assert_eq!(
            op("GET", "/s3p/immuta?encoding-type=xml").unwrap_err().code,
            "InvalidArgument"
        );
        assert_eq!(
            op("GET", "/s3p/immuta?list-type=3").unwrap_err().code,
            "InvalidArgument"
        );
    }

    #[test]
    fn object_requests_forward_only_response_overrides() {
        let r = parse(
            "GET",
            "/s3p/immuta/sales/x?response-content-type=text%2Fplain&x-id=GetObject",
            "h",
            &PATH_STYLE,
        )
        .unwrap();
        assert_eq!(
            r.forwarded_query,
            vec![(
                "response-content-type".to_string(),
                "text/plain".to_string()
            )]
        );
    }

    #[test]
    fn empty_prefix_serves_at_root() {
        let root = Addressing {
            path_prefix: "",
            bucket: "immuta",
            virtual_host_domain: None,
        };
        assert_eq!(
            parse("GET", "/", "h", &root).unwrap().operation,
            Operation::ListBuckets
        );
        assert_eq!(
            parse("GET", "/immuta/sales/x", "h", &root)
                .unwrap()
                .operation,
            Operation::GetObject {
                key: "sales/x".into()
            }
        );
    }
}
