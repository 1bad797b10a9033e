//! Property tests of the filter's pure modules against hostile input: request parsing, the
//! namespace mapping, the listing rewriter fed arbitrary upstream bytes, pagination, sealed
//! tokens, globs and SigV4.
//!
//! `make test` runs each property for the bounded number of cases given to `cases(..)` below (a
//! few seconds in all); `make fuzz` sets `PROPTEST_CASES` to run every property much longer.
//! proptest saves failing inputs to `core/tests/properties.proptest-regressions` and replays them
//! first on every run.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestCaseError;
use quick_xml::events::Event;
use quick_xml::Reader;

use s3gate_core::policy::entitlements::{DataSourceGrant, Entitlements, Format};
use s3gate_core::policy::glob;
use s3gate_core::policy::store_names::NORMALISATIONS;
use s3gate_core::s3::continuation;
use s3gate_core::s3::listing::{Fetch, ListingJob, Step};
use s3gate_core::s3::mapping;
use s3gate_core::s3::request::{
    self, is_servable_name, Addressing, ListParams, ListVersion, Operation, MAX_KEY_BYTES,
};
use s3gate_core::signature::{sigv2, sigv4};

mod common;
use common::cases;

const PATH_STYLE: Addressing = Addressing {
    path_prefix: "/s3p",
    bucket: "immuta",
    virtual_host_domain: None,
};

/// Every real bucket and prefix below contains one of these; no client-visible output may.
const REAL_MARKERS: [&str; 2] = ["REALBUCKET", "REALPREFIX"];

/// The data sources a principal may hold: (name, real bucket, real prefix). `sales` is a
/// string prefix of `sales_eu` and `sales-eu`, and their folders sort `sales-eu/` < `sales/` <
/// `sales_eu/`; `documents` is a whole bucket.
const SOURCES: [(&str, &str, &str); 5] = [
    ("sales", "REALBUCKET-wh", "REALPREFIX/sales/"),
    ("sales_eu", "REALBUCKET-wh", "REALPREFIX/sales_eu/"),
    ("sales-eu", "REALBUCKET-eu", "REALPREFIX/sales-eu/"),
    ("s", "REALBUCKET-wh", "REALPREFIX/s/"),
    ("documents", "REALBUCKET-docs", ""),
];

fn grant(source: usize, attribute_rules: bool) -> DataSourceGrant {
    let (name, bucket, prefix) = SOURCES[source];
    DataSourceGrant {
        name: name.into(),
        upstream: "demo".into(),
        bucket: bucket.into(),
        prefix: prefix.into(),
        format: Format::Csv,
        hidden: vec!["_SUCCESS".into(), "*.crc".into()],
        // With a `/` in every pattern, whole prefixes can be ruled out (may_hold_visible).
        visible: attribute_rules.then(|| vec!["region=eu/**".into(), "top/*.csv".into()]),
        shown: Vec::new(),
        table: None,
        rules: Vec::new(),
    }
}

/// Bits 0..5 of `mask`: which data sources the principal holds; bits 8..13: which of those
/// carry attribute rules.
fn entitlements(mask: u16) -> Entitlements {
    Entitlements {
        principal: "p".into(),
        enabled: true,
        ttl_seconds: 60,
        data_sources: (0..SOURCES.len())
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| grant(i, mask & (1 << (i + 8)) != 0))
            .collect(),
        policy_version: "v1".into(),
        ..Default::default()
    }
}

/// Pieces of relative keys: none spells a real name (`REAL...`), with the
/// characters that matter to globs, delimiters, XML and URL encoding.
const REL_PIECES: &[&str] = &[
    "a",
    "b",
    "/",
    "=",
    "-",
    "region=eu/",
    "region=us/",
    "top/",
    "x.csv",
    "_SUCCESS",
    ".crc",
    "é",
    " ",
    "&",
    "<",
    "'",
    "+",
    "%",
    "~",
    // Keys with `.` segments exist in stores; listings leave them out (GET refuses them).
    ".",
];

fn rel_key(max_pieces: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(select(REL_PIECES), 0..=max_pieces).prop_map(|p| p.concat())
}

/// RFC 3986 encoding of every byte but the unreserved ones (and `/` if `keep_slash`).
fn encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::new();
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Encodes what a path must encode, and other bytes (but `/`) where `choice` has a bit set, in
/// upper or lower case hex.
fn encode_some(text: &str, choice: u64) -> String {
    encode_chosen(text, choice, b"%?#\\", true)
}

/// Percent-encodes the bytes that are not graphic or are in `must`, and other bytes where
/// `choice` has a bit set (the byte's index, modulo 64), in upper or lower case hex (bit
/// index + 32); `keep_slash` leaves every `/` as it is.
fn encode_chosen(text: &str, choice: u64, must: &[u8], keep_slash: bool) -> String {
    let bit = |i: usize| (choice >> (i % 64)) & 1 == 1;
    let mut out = String::new();
    for (i, b) in text.bytes().enumerate() {
        let must = !b.is_ascii_graphic() || must.contains(&b);
        if !(keep_slash && b == b'/') && (must || bit(i)) {
            if bit(i + 32) {
                out.push_str(&format!("%{b:02x}"));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(b as char);
        }
    }
    out
}

/// Undoes S3's `encoding-type=url` (`+` is a space).
fn url_decode(text: &str) -> Result<String, TestCaseError> {
    request::percent_decode(&text.replace('+', " "))
        .map_err(|e| TestCaseError::fail(format!("bad url encoding {text:?}: {e:?}")))
}

fn has_real_marker(text: &str) -> bool {
    REAL_MARKERS.iter().any(|m| text.contains(m))
}

// ---------------------------------------------------------------------------------------------
// Request parsing

/// Fragments of hostile paths: dot segments, encoded slashes and backslashes, NUL and control
/// bytes, broken escapes, Unicode look-alikes of `.` and `/`, query syntax.
const PATH_PIECES: &[&str] = &[
    "/",
    "//",
    ".",
    "..",
    "%2e",
    "%2E%2e",
    "%2f",
    "%2F",
    "%5c",
    "%5C",
    "\\",
    "%00",
    "%0a",
    "%0D",
    "%1f",
    "%7f",
    "%c2%85",
    "%",
    "%4",
    "%zz",
    "%ff",
    "%c3%a9",
    "%c0%ae",
    "é",
    "\u{ff0e}",
    "\u{2215}",
    "\u{2024}",
    "\u{200b}",
    "\u{0}",
    "\t",
    "?",
    "&",
    "=",
    "+",
    "%20",
    "%25",
    "%3F",
    "~",
    "a",
    "sales",
    "sales_eu",
    "immuta",
    "s3p",
    "list-type=2",
    "prefix=",
    "marker=",
    "start-after=",
    "max-keys=",
    "acl",
    "location",
    "delimiter=%2F",
    "encoding-type=url",
];

const PATH_STARTS: &[&str] = &[
    "/s3p/immuta/",
    "/s3p/immuta",
    "/s3p/immuta?",
    "/s3p/",
    "/s3p",
    "",
    "/",
    "/s3p/IMMUTA/",
    "/s3p/immuta%2F",
    "/s3p//immuta/",
    "/immuta/",
    "/other/",
];

/// Parameters of listings and sub-resources, for hostile queries.
const QUERY_NAMES: &[&str] = &[
    "prefix",
    "marker",
    "start-after",
    "delimiter",
    "max-keys",
    "list-type",
    "encoding-type",
    "continuation-token",
    "fetch-owner",
    "location",
    "acl",
    "response-content-type",
    "x-id",
];

/// Segments of values that try to climb (`prefix=sales/../customers/`) or smuggle bytes. (A
/// malformed escape anywhere fails the whole request: those come with the other tails.)
const QUERY_SEGMENTS: &[&str] = &[
    ".", "..", "%2e", "%2E%2e", ".%2e", "", "a", "sales", "%00", "%0a", "é", "a+b", "=", "1", "%5c",
];

fn hostile_query() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        3 => select(&["prefix", "marker", "start-after", "delimiter"][..]),
        1 => select(QUERY_NAMES),
    ];
    let value = (
        prop::collection::vec(select(QUERY_SEGMENTS), 0..5),
        select(&["/", "%2F", "%2f/"][..]),
    )
        .prop_map(|(segments, slash)| segments.join(slash));
    prop::collection::vec((name, value), 0..4).prop_map(|pairs| {
        let pairs: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        pairs.join("&")
    })
}

/// What follows the start of a hostile path: tricky pieces, a listing query, arbitrary text,
/// overlong runs (just over and far over the limits).
fn hostile_tail() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::collection::vec(select(PATH_PIECES), 0..24).prop_map(|p| p.concat()),
        // Fewer kinds of pieces, so more of these get past the first check to the next.
        4 => prop::collection::vec(select(&["a", "é", "/", "//", ".", "..", "%2e", "%2F", "\\", "%00"][..]), 0..8)
            .prop_map(|p| p.concat()),
        3 => hostile_query(),
        1 => any::<String>(),
        1 => prop::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        2 => (select(&["a", "é", "a/", "%61", "prefix=a&"][..]), 300usize..1200)
            .prop_map(|(piece, n)| piece.repeat(n)),
    ]
}

fn hostile_path() -> impl Strategy<Value = String> {
    (select(PATH_STARTS), hostile_tail()).prop_map(|(start, tail)| format!("{start}{tail}"))
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => select(&["GET", "HEAD"][..]).prop_map(str::to_string),
        1 => select(&["PUT", "POST", "DELETE", "OPTIONS", "get", ""][..]).prop_map(str::to_string),
        1 => "[A-Z]{0,8}",
    ]
}

fn authority() -> impl Strategy<Value = String> {
    prop_oneof![
        select(
            &[
                "127.0.0.1:10000",
                "immuta.s3.example.test",
                "IMMUTA.s3.example.test:10000",
                "immuta.s3.example.test:abc",
                "other.s3.example.test",
                "s3.example.test",
                ".s3.example.test",
                "immuta..s3.example.test",
                ":",
                "",
            ][..]
        )
        .prop_map(str::to_string),
        any::<String>(),
    ]
}

/// What the parser promises about text that will become (part of) an upstream key.
fn check_key_text(text: &str, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        text.len() <= MAX_KEY_BYTES,
        "{what} too long: {}",
        text.len()
    );
    prop_assert!(
        !text.chars().any(char::is_control),
        "{what} has control characters: {text:?}"
    );
    prop_assert!(
        !text.split('/').any(|s| s == "." || s == ".."),
        "{what} has a dot segment: {text:?}"
    );
    Ok(())
}

fn check_object_key(key: &str) -> Result<(), TestCaseError> {
    check_key_text(key, "key")?;
    prop_assert!(!key.is_empty());
    prop_assert!(!key.contains('\\'), "key has a backslash: {key:?}");
    let segments: Vec<&str> = key.split('/').collect();
    // Only the last segment may be empty (a "folder" key ends with `/`).
    prop_assert!(
        segments[..segments.len() - 1].iter().all(|s| !s.is_empty()),
        "key has an empty segment: {key:?}"
    );
    Ok(())
}

/// A prefix or marker bounds names: its last segment may still grow into a servable name
/// (`.` into `.part-0`), so only its complete segments must be free of `.`/`..`.
fn check_bound_text(text: &str, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(text.len() <= MAX_KEY_BYTES, "{what} too long");
    prop_assert!(!text.chars().any(char::is_control), "{what}: {text:?}");
    let complete = text.rsplit_once('/').map_or("", |(dirs, _)| dirs);
    check_key_text(complete, what)
}

fn check_list_params(p: &ListParams) -> Result<(), TestCaseError> {
    check_bound_text(&p.prefix, "prefix")?;
    if let Some(after) = &p.start_after {
        check_bound_text(after, "marker")?;
    }
    prop_assert!(p.max_keys <= 1000);
    Ok(())
}

proptest! {
    #![proptest_config(cases(2000))]

    #[test]
    fn parse_never_panics_and_accepts_only_safe_names(
        method in method(),
        kind in 0..4u8,
        start in select(PATH_STARTS),
        tail in hostile_tail(),
        authority in authority(),
        root in any::<bool>(),
        vhost in any::<bool>(),
    ) {
        let path_prefix = if root { "" } else { "/s3p" };
        let addressing = Addressing {
            path_prefix,
            bucket: "immuta",
            virtual_host_domain: vhost.then_some("s3.example.test"),
        };
        // Mostly paths that get as far as the key and listing checks; sometimes any start.
        let (path, authority) = match kind {
            0 => (format!("{path_prefix}/immuta/{tail}"), authority),
            1 => (format!("{path_prefix}/immuta?{tail}"), authority),
            2 if vhost => (format!("{path_prefix}/{tail}"), "immuta.s3.example.test".to_string()),
            _ => (format!("{start}{tail}"), authority),
        };
        let Ok(req) = request::parse(&method, &path, &authority, &addressing) else {
            return Ok(());
        };
        match &req.operation {
            Operation::GetObject { key } | Operation::HeadObject { key } => check_object_key(key)?,
            Operation::ListObjects(p) => check_list_params(p)?,
            _ => {}
        }
        for (name, value) in &req.forwarded_query {
            prop_assert!(name.starts_with("response-"), "forwarded {name}={value}");
        }
    }

    /// The other side: safe keys, however encoded, are accepted and decode to themselves.
    #[test]
    fn safe_keys_round_trip(
        segments in prop::collection::vec("[a-zA-Z0-9 _.=é+~!$&'()*,;:@%-]{1,12}", 1..6)
            .prop_filter("no dot segments", |s| s.iter().all(|s| s != "." && s != "..")),
        folder in any::<bool>(),
        head in any::<bool>(),
        encoded in any::<u64>(),
    ) {
        let mut key = segments.join("/");
        if folder {
            key.push('/');
        }
        let path = format!("/s3p/immuta/{}", encode_some(&key, encoded));
        let method = if head { "HEAD" } else { "GET" };
        let op = request::parse(method, &path, "h", &PATH_STYLE)
            .map_err(|e| TestCaseError::fail(format!("{path}: {}", e.message)))?
            .operation;
        let want = if head {
            Operation::HeadObject { key }
        } else {
            Operation::GetObject { key }
        };
        prop_assert_eq!(op, want);
    }

    #[test]
    fn query_decoding_never_panics_and_round_trips(text in any::<String>(), raw in any::<String>()) {
        prop_assert_eq!(request::percent_decode(&encode(&text, false)).ok(), Some(text.clone()));
        let _ = request::percent_decode(&raw);
        let _ = request::parse_query(&raw);
        let _ = request::decode_key(&raw);
    }
}

// ---------------------------------------------------------------------------------------------
// Signed and acted-on query parameters

/// Names the parser acts on, and names that look like them (case, a letter short, listing
/// parameters SigV2 leaves unsigned, a sub-resource the gateway refuses).
const ACTED_NAMES: &[&str] = &[
    "response-content-type",
    "response-content-disposition",
    "response-cache-control",
    "response-content-encoding",
    "response-content-language",
    "response-expires",
    "location",
    "Response-Content-Type",
    "response-content-typ",
    "response-content-type ",
    "x-id",
    "prefix",
    "list-type",
    "versionId",
];

/// Percent-encodes what a query part must encode (`&`, `=`, `%`, ...) and other bytes where
/// `choice` has a bit set, in upper or lower case hex; a `+` left alone reads as a space.
fn encode_query_part(text: &str, choice: u64) -> String {
    encode_chosen(text, choice, b"%?#\\&=", false)
}

/// One query parameter as a client or an attacker may write it: any of `ACTED_NAMES`, its
/// name encoded in any way, with or without `=` and a value.
fn query_param() -> impl Strategy<Value = String> {
    (
        select(ACTED_NAMES),
        any::<u64>(),
        prop::option::of("[a-zA-Z0-9 /;=&+%.\u{e9}-]{0,8}"),
        any::<u64>(),
    )
        .prop_map(|(name, name_choice, value, value_choice)| {
            let name = encode_query_part(name, name_choice);
            match value {
                None => name,
                Some(v) => format!("{name}={}", encode_query_part(&v, value_choice)),
            }
        })
}

proptest! {
    #![proptest_config(cases(1000))]

    /// No query parameter the parser acts on is left unsigned: one added anywhere to a signed
    /// request, its name encoded however, that changes what the gateway forwards upstream or
    /// which operation it serves changes SigV2's string to sign; any change to the parsed
    /// request changes SigV4's canonical request (SigV4 signs the whole query, as
    /// `parse_query` reads it, and the forwarded overrides are pairs of that same reading).
    /// Listing parameters are the documented SigV2 exception (docs/security.md).
    #[test]
    fn no_query_parameter_acted_on_is_unsigned(
        object in any::<bool>(),
        base in prop::collection::vec(query_param(), 0..4),
        added in query_param(),
        at in any::<usize>(),
    ) {
        let path = if object { "/s3p/immuta/sales/x" } else { "/s3p/immuta" };
        let mut params = base.clone();
        params.insert(at % (base.len() + 1), added);
        let before = format!("{path}?{}", base.join("&"));
        let after = format!("{path}?{}", params.join("&"));
        let (Ok(a), Ok(b)) = (
            request::parse("GET", &before, "h", &PATH_STYLE),
            request::parse("GET", &after, "h", &PATH_STYLE),
        ) else {
            return Ok(());
        };
        let parsed = request::parse_query(&params.join("&"))
            .map_err(|e| TestCaseError::fail(e.message))?;
        for pair in &b.forwarded_query {
            let read = parsed.iter().any(|p| (&p.name, &p.value) == (&pair.0, &pair.1));
            prop_assert!(read, "{pair:?} forwarded, not in the query read");
        }
        let sigv2 = |raw: &str| {
            let (path, query) = raw.split_once('?').unwrap_or((raw, ""));
            let query = request::parse_query(query).map_err(|e| TestCaseError::fail(e.message))?;
            sigv2::string_to_sign(
                "GET",
                path,
                &query,
                sigv2::Style::PathStyle { prefix: "/s3p" },
                &[] as &[(String, String)],
                Some("5"),
            )
            .map_err(|e| TestCaseError::fail(e.message))
        };
        let host = vec![("host".to_string(), "h".to_string())];
        let sigv4 = |raw: &str| {
            sigv4::canonical_request("GET", raw, &host, &["host".to_string()], sigv4::UNSIGNED_PAYLOAD, false)
                .map_err(|e| TestCaseError::fail(e.message))
        };
        let acted = |r: &request::S3Request| {
            (r.forwarded_query.clone(), r.operation == Operation::GetBucketLocation)
        };
        if acted(&a) != acted(&b) {
            prop_assert_ne!(sigv2(&before)?, sigv2(&after)?, "{} acted on, unsigned", after);
        }
        if a != b {
            prop_assert_ne!(sigv4(&before)?, sigv4(&after)?, "{} acted on, unsigned", after);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Namespace mapping

/// First segments: data source names, names that contain or are contained in them, look-alikes.
const FIRST_SEGMENTS: &[&str] = &[
    "sales",
    "sales_eu",
    "sales-eu",
    "s",
    "documents",
    "%73ales",
    "Sales",
    "SALES",
    "sales ",
    " sales",
    "sale",
    "sales_",
    "sales_eu_x",
    "sales.",
    "\u{ff53}ales",
    "sales\u{200b}",
    "sa%6ces_eu",
    "",
    "immuta",
    "REALPREFIX",
];

proptest! {
    #![proptest_config(cases(2000))]

    #[test]
    fn object_keys_map_only_into_their_own_data_source(
        mask in any::<u16>(),
        first in select(FIRST_SEGMENTS),
        rest in prop::collection::vec(select(PATH_PIECES), 0..8),
        rel in rel_key(5),
        hostile in any::<bool>(),
    ) {
        let ent = entitlements(mask);
        let tail = if hostile { rest.concat() } else { encode(&rel, true) };
        let path = format!("/s3p/immuta/{first}/{tail}");
        let Ok(req) = request::parse("GET", &path, "h", &PATH_STYLE) else {
            return Ok(());
        };
        let Operation::GetObject { key } = &req.operation else {
            return Ok(());
        };
        let held = |name: &str| ent.data_sources.iter().find(|g| g.name == name);
        match mapping::resolve_object(&ent, key) {
            Ok((grant, relative)) => {
                let (name, rel) = key.split_once('/').unwrap_or((key, ""));
                // Exactly the data source the first segment names, and one the principal holds.
                prop_assert_eq!(&grant.name, name);
                prop_assert_eq!(Some(grant), held(name));
                prop_assert_eq!(relative, rel);
                prop_assert!(!relative.is_empty() && grant.is_visible(relative));
                let upstream = mapping::upstream_object_path(grant, relative, &req.forwarded_query);
                let root = format!("/{}/{}", encode(&grant.bucket, false), encode(&grant.prefix, true));
                prop_assert!(upstream.starts_with(&root), "{upstream} outside {root}");
                // Decoded, the upstream path is exactly the real key: nothing to climb with.
                let path_only = upstream.split('?').next().unwrap_or("");
                let decoded = request::percent_decode(path_only)
                    .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                prop_assert_eq!(decoded, format!("/{}/{}{}", grant.bucket, grant.prefix, relative));
                check_key_text(relative, "relative key")?;
            }
            Err(e) => {
                prop_assert_eq!((e.code, e.status), ("NoSuchKey", 404));
                // Refused only when the data source is missing, the object hidden, or the real
                // key longer than any store holds.
                if let Some((name, rel)) = key.split_once('/') {
                    if let Some(g) = held(name) {
                        prop_assert!(
                            rel.is_empty()
                                || !g.is_visible(rel)
                                || g.prefix.len() + rel.len() > MAX_KEY_BYTES,
                            "{key} refused"
                        );
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The name whose visibility is decided is the name the upstream serves

/// Hide patterns by file name and by path, some with a `/` and no `**` at the end.
const HIDE_PATTERNS: &[&str] = &[
    "*.crc",
    "_SUCCESS",
    "a",
    "region=us/*",
    "region=us/part-?.csv",
    "a/*.crc",
    "*/b",
    "a/b",
    "top/_SUCCESS",
    "**/x.csv",
    "region=eu/**",
    "top/**/b",
];
/// Attribute (`visible`) and include (`shown`) patterns.
const ALLOW_PATTERNS: &[&str] = &[
    "region=eu/**",
    "top/*.csv",
    "*/x.csv",
    "a/*",
    "**/*.csv",
    "*",
];

/// Pieces of keys as clients send them: names the patterns hide or show, and what stores
/// normalise (a trailing or doubled `/`, `.` and `..` segments).
const SERVED_PIECES: &[&str] = &[
    "a",
    "b",
    "/",
    "//",
    ".",
    "..",
    "region=eu/",
    "region=us/",
    "top/",
    "x.csv",
    "part-0.csv",
    ".crc",
    "_SUCCESS",
    "é",
];

/// The single-name visibility rule, read from the patterns directly (no normalisation).
fn visible_by_reference(grant: &DataSourceGrant, name: &str) -> bool {
    let any = |patterns: &[String]| patterns.iter().any(|p| glob::matches(p, name));
    grant.visible.as_deref().is_none_or(any)
        && (grant.shown.is_empty() || any(&grant.shown))
        && !any(&grant.hidden)
}

/// Every name a known store serves for the real key `real` is an object of `grant` that the
/// principal may see.
fn every_served_name_visible(grant: &DataSourceGrant, real: &str) -> Result<(), TestCaseError> {
    for normalisation in NORMALISATIONS {
        let served = (normalisation.apply)(real).map(|n| n.into_owned());
        let served = served.as_deref().unwrap_or("");
        let relative = served.strip_prefix(grant.prefix.as_str());
        prop_assert!(
            relative.is_some_and(|r| !r.is_empty() && visible_by_reference(grant, r)),
            "{}: {real:?} is served as {served:?}, which {grant:?} does not show",
            normalisation.stores
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(3000))]

    /// For every key the gateway forwards (GET and HEAD alike: one mapping) and every name it
    /// lists, each name a known store may serve for it is visible too. The store is modelled
    /// on the upstream path the gateway really sends, whole real key and prefix included.
    #[test]
    fn every_name_a_store_serves_for_a_forwarded_key_is_visible(
        hidden in prop::sample::subsequence(HIDE_PATTERNS, 0..4),
        visible in prop::option::of(prop::sample::subsequence(ALLOW_PATTERNS, 0..3)),
        shown in prop::sample::subsequence(ALLOW_PATTERNS, 0..2),
        whole_bucket in any::<bool>(),
        pieces in prop::collection::vec(select(SERVED_PIECES), 1..7),
    ) {
        let grant = DataSourceGrant {
            name: "sales".into(),
            upstream: "demo".into(),
            bucket: "REALBUCKET".into(),
            prefix: if whole_bucket { "" } else { "REALPREFIX/sales/" }.into(),
            format: Format::Csv,
            hidden: hidden.iter().map(|p| p.to_string()).collect(),
            visible: visible.map(|v| v.iter().map(|p| p.to_string()).collect()),
            shown: shown.iter().map(|p| p.to_string()).collect(),
            table: None,
            rules: Vec::new(),
        };
        let ent = Entitlements {
            principal: "p".into(),
            enabled: true,
            ttl_seconds: 60,
            data_sources: vec![grant.clone()],
            ..Default::default()
        };
        let rel = pieces.concat();
        // GET and HEAD parse and map the same way.
        let path = format!("/s3p/immuta/sales/{}", encode(&rel, true));
        if let Ok(req) = request::parse("HEAD", &path, "h", &PATH_STYLE) {
            let Operation::HeadObject { key } = &req.operation else {
                return Err(TestCaseError::fail(format!("{path} is not an object")));
            };
            if let Ok((g, relative)) = mapping::resolve_object(&ent, key) {
                let upstream = mapping::upstream_object_path(g, relative, &[]);
                let decoded = request::percent_decode(&upstream)
                    .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                let real = decoded.strip_prefix("/REALBUCKET/").unwrap_or("");
                every_served_name_visible(g, real)?;
            }
        }
        // A listing shows a name only when the compiled rules (the ones listings use) agree.
        let listed = s3gate_core::policy::entitlements::Visibility::of(&grant).is_visible(&rel);
        prop_assert_eq!(listed, grant.is_visible(&rel), "{:?}", rel);
        if listed && is_servable_name(&format!("sales/{rel}")) {
            every_served_name_visible(&grant, &format!("{}{rel}", grant.prefix))?;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the gateway's listing output

#[derive(Debug, Default)]
struct Page {
    /// Keys, decoded (and url-decoded with `encoding-type=url`).
    keys: Vec<String>,
    /// Common prefixes, decoded likewise.
    prefixes: Vec<String>,
    truncated: bool,
    next_marker: Option<String>,
    next_token: Option<String>,
    key_count: Option<usize>,
}

/// Parses a ListBucketResult strictly: one root, matching end tags, only the five predefined
/// entities or character references, no DTD. Any failure fails the property. (Whether every
/// character is one XML 1.0 allows is not checked here.)
fn read_page(xml: &str) -> Result<Page, TestCaseError> {
    let fail = |why: String| TestCaseError::fail(format!("{why} in {xml:?}"));
    // Only characters an XML 1.0 parser (expat, under botocore) accepts, written literally.
    prop_assert!(
        xml.chars().all(|c| matches!(c, '\t' | '\n' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)),
        "a character XML 1.0 cannot hold, in {xml:?}"
    );
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut leaves: Vec<(String, String)> = Vec::new();
    let mut roots = 0;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| fail(format!("not well-formed: {e}")))?;
        match event {
            Event::Decl(_) if roots == 0 => {}
            Event::Start(e) => {
                if path.is_empty() {
                    roots += 1;
                }
                path.push(e.name().as_ref().to_string());
                text.clear();
            }
            Event::Empty(e) => {
                if path.is_empty() {
                    roots += 1;
                }
                let name = e.name().as_ref().to_string();
                leaves.push((format!("{}/{name}", path.join("/")), String::new()));
            }
            Event::End(_) => {
                leaves.push((path.join("/"), std::mem::take(&mut text)));
                path.pop();
            }
            Event::Text(t) if path.is_empty() => {
                if !t.xml10_content().trim().is_empty() {
                    return Err(fail("text outside the root".into()));
                }
            }
            // As written (a parser would turn a raw CR into LF).
            Event::Text(t) => text.push_str(&t.into_inner()),
            Event::CData(t) if !path.is_empty() => text.push_str(&t.into_inner()),
            Event::GeneralRef(r) if !path.is_empty() => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => quick_xml::escape::resolve_predefined_entity(&r.xml10_content())
                        .ok_or_else(|| fail(format!("undefined entity {r:?}")))?
                        .to_string(),
                    Err(e) => return Err(fail(format!("bad character reference: {e}"))),
                };
                text.push_str(&resolved);
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
            other => return Err(fail(format!("unexpected {other:?}"))),
        }
    }
    prop_assert!(roots == 1 && path.is_empty(), "{roots} roots in {xml:?}");
    let url = leaves
        .iter()
        .any(|(p, v)| p == "ListBucketResult/EncodingType" && v == "url");
    let decode = |v: &str| {
        if url {
            url_decode(v)
        } else {
            Ok(v.to_string())
        }
    };
    let mut page = Page::default();
    for (p, v) in &leaves {
        match p.as_str() {
            "ListBucketResult/Contents/Key" => page.keys.push(decode(v)?),
            "ListBucketResult/CommonPrefixes/Prefix" => page.prefixes.push(decode(v)?),
            "ListBucketResult/IsTruncated" => page.truncated = v == "true",
            "ListBucketResult/NextMarker" => page.next_marker = Some(decode(v)?),
            "ListBucketResult/NextContinuationToken" => page.next_token = Some(v.clone()),
            "ListBucketResult/KeyCount" => {
                page.key_count = Some(v.parse().map_err(|_| fail(format!("KeyCount {v}")))?)
            }
            _ => {}
        }
    }
    Ok(page)
}

impl Page {
    /// Keys and common prefixes in key order.
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.keys.iter().chain(&self.prefixes).cloned().collect();
        names.sort();
        names
    }
}

/// Runs a job to its answer, with `upstream` answering its fetches; `Err` is the job's error.
fn drive(
    job: &mut ListingJob,
    mut upstream: impl FnMut(&Fetch) -> Vec<u8>,
) -> Result<Result<String, s3gate_core::s3::error::S3Error>, TestCaseError> {
    for _ in 0..500 {
        match job.next_step() {
            Step::Fetch(f) => {
                if let Err(e) = job.feed(200, &upstream(&f)) {
                    return Ok(Err(e));
                }
            }
            Step::Done(xml) => return Ok(Ok(xml)),
            Step::Measure(m) => {
                return Err(TestCaseError::fail(format!("no masked table here: {m:?}")))
            }
        }
    }
    Err(TestCaseError::fail("the listing did not finish"))
}

fn query_of(fetch: &Fetch) -> (String, Vec<(String, String)>) {
    let (path, query) = fetch.path.split_once('?').unwrap_or((&fetch.path, ""));
    let bucket = request::percent_decode(path.trim_start_matches('/')).unwrap_or_default();
    let query = request::parse_query(query).unwrap_or_default();
    (
        bucket,
        query.into_iter().map(|p| (p.name, p.value)).collect(),
    )
}

fn param<'q>(query: &'q [(String, String)], name: &str) -> Option<&'q str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// XML-escapes for the fake upstream (written here, independent of the crate's writer).
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

// ---------------------------------------------------------------------------------------------
// The listing rewriter against hostile upstream answers

/// How an upstream page writes a key: escaped text, CDATA, or all character references.
#[derive(Debug, Clone, Copy)]
enum Style {
    Escaped,
    CData,
    CharRefs,
}

#[derive(Debug, Clone)]
enum Item {
    Object {
        rel: String,
        /// Outside the listed prefix: another data source, or nothing of the principal's.
        foreign: Option<&'static str>,
        style: Style,
        meta: [String; 4],
    },
    Prefix {
        rel: String,
        foreign: Option<&'static str>,
    },
    /// A raw hostile fragment.
    Raw(&'static str),
}

#[derive(Debug, Clone)]
enum Mutation {
    Insert(usize, &'static str),
    Replace(usize, u8),
    Truncate(usize),
}

#[derive(Debug, Clone)]
struct UpstreamPage {
    items: Vec<Item>,
    truncated: Option<bool>,
    token: Option<String>,
    mutations: Vec<Mutation>,
}

/// Hostile XML: DTDs and entities (one that would spell a real name), CDATA, comments, broken
/// and forbidden character references, stray and nested elements, real names where only the
/// upstream's own metadata belongs, huge counts, namespaced look-alikes.
const HOSTILE: &[&str] = &[
    "<!DOCTYPE ListBucketResult [<!ENTITY e \"REALBUCKET\">]>",
    "&e;",
    "&amp;",
    "&lt;",
    "&#1;",
    "&#x0;",
    "&#xD800;",
    "&#xFFFE;",
    "&#13;",
    "&#65;",
    "&#x110000;",
    "&bogus;",
    "<![CDATA[",
    "]]>",
    "<![CDATA[x]]>",
    "<!-- c -->",
    "<?pi x?>",
    "<Contents>",
    "</Contents>",
    "<Key>",
    "</Key>",
    "<Key/>",
    "<Contents/>",
    "<CommonPrefixes>",
    "</CommonPrefixes>",
    "<Prefix>",
    "</Prefix>",
    "<IsTruncated>true</IsTruncated>",
    "<IsTruncated>false</IsTruncated>",
    "<NextContinuationToken>REALPREFIX/sales/zz</NextContinuationToken>",
    "<Name>REALBUCKET-wh</Name>",
    "<Prefix>REALPREFIX/sales/</Prefix>",
    "<StartAfter>REALPREFIX/sales/a</StartAfter>",
    "<KeyCount>99999999999999999999999</KeyCount>",
    "<MaxKeys>-1</MaxKeys>",
    "<ListBucketResult>",
    "</ListBucketResult>",
    "<a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a>",
    "</a></a></a></a>",
    "<s3:Contents xmlns:s3=\"x\"><s3:Key>",
    "</s3:Key></s3:Contents>",
    "<Contents><Key></Key></Contents>",
    "\u{0}",
    "\u{1}",
    "\r",
    "\n",
    "\u{feff}",
    "\u{fffe}",
    "<",
    ">",
    "&",
    "\"",
    "\u{202e}",
];

const FOREIGN: &[&str] = &[
    "REALPREFIX/sales/",
    "REALPREFIX/sales_eu/",
    "REALPREFIX/",
    "secrets/",
    "",
];

fn style() -> impl Strategy<Value = Style> {
    prop_oneof![
        4 => Just(Style::Escaped),
        1 => Just(Style::CData),
        1 => Just(Style::CharRefs),
    ]
}

fn foreign() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        24 => Just(None),
        1 => select(FOREIGN).prop_map(Some),
        // In the data source but outside the listed prefix: the subtle one.
        1 => Just(Some("REALPREFIX/sales/")),
    ]
}

/// Common prefixes as an upstream rolls them up by `/` (one segment and the `/`), or not.
fn prefix_rel() -> impl Strategy<Value = String> {
    let segment = prop::collection::vec(
        select(&["a", "region=eu", "region=us", "top", "é", "&", "."][..]),
        0..3,
    );
    prop_oneof![
        3 => segment.prop_map(|s| format!("{}/", s.concat())),
        1 => odd_rel_key(),
    ]
}

/// Relative keys an upstream may hold that no client could ask for by name.
fn odd_rel_key() -> impl Strategy<Value = String> {
    let odd = select(
        &[
            "\u{1}", "\u{7f}", "\r", "\u{fffe}", "]]>", "&#1;", ".", "..", "//",
        ][..],
    );
    prop::collection::vec(prop_oneof![4 => select(REL_PIECES), 1 => odd], 0..6)
        .prop_map(|p| p.concat())
}

fn item() -> impl Strategy<Value = Item> {
    let meta = "[0-9a-f\"<&é \u{1}\r-]{0,12}";
    prop_oneof![
        6 => (odd_rel_key(), foreign(), style(), [meta, meta, meta, meta])
            .prop_map(|(rel, foreign, style, meta)| Item::Object { rel, foreign, style, meta }),
        2 => (prefix_rel(), foreign()).prop_map(|(rel, foreign)| Item::Prefix { rel, foreign }),
        1 => select(HOSTILE).prop_map(Item::Raw),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<usize>(), select(HOSTILE)).prop_map(|(at, s)| Mutation::Insert(at, s)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Replace(at, b)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn upstream_page() -> impl Strategy<Value = UpstreamPage> {
    (
        prop::collection::vec(item(), 0..10),
        prop::option::of(any::<bool>()),
        prop::option::of("[a-zA-Z0-9/=+]{0,16}"),
        prop_oneof![3 => Just(vec![]), 1 => prop::collection::vec(mutation(), 1..4)],
    )
        .prop_map(|(items, truncated, token, mutations)| UpstreamPage {
            items,
            truncated,
            token,
            mutations,
        })
}

fn key_text(key: &str, style: Style) -> String {
    match style {
        Style::CData if !key.contains("]]>") => format!("<![CDATA[{key}]]>"),
        Style::CharRefs => key.chars().map(|c| format!("&#x{:x};", c as u32)).collect(),
        _ => esc(key),
    }
}

/// Where a foreign key starts: outside the listed prefix. (Below an empty one nothing is
/// foreign, and a real name there is just an object's name.)
fn outside<'a>(foreign: Option<&'a str>, list_prefix: &'a str) -> &'a str {
    match foreign {
        Some(f) if !list_prefix.is_empty() => f,
        _ => list_prefix,
    }
}

/// The page as bytes, keys below `list_prefix` (what the gateway asked for) unless foreign.
fn render_upstream(page: &UpstreamPage, bucket: &str, list_prefix: &str) -> Vec<u8> {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
         <Name>{}</Name><Prefix>{}</Prefix>",
        esc(bucket),
        esc(list_prefix)
    );
    if let Some(t) = page.truncated {
        xml.push_str(&format!("<IsTruncated>{t}</IsTruncated>"));
    }
    if let Some(token) = &page.token {
        xml.push_str(&format!(
            "<NextContinuationToken>{}{}</NextContinuationToken>",
            esc(list_prefix),
            esc(token)
        ));
    }
    for item in &page.items {
        match item {
            Item::Object {
                rel,
                foreign,
                style,
                meta,
            } => {
                let key = format!("{}{rel}", outside(*foreign, list_prefix));
                xml.push_str(&format!(
                    "<Contents><Key>{}</Key><LastModified>{}</LastModified><ETag>{}</ETag>\
                     <Size>{}</Size><StorageClass>{}</StorageClass></Contents>",
                    key_text(&key, *style),
                    esc(&meta[0]),
                    esc(&meta[1]),
                    esc(&meta[2]),
                    esc(&meta[3])
                ));
            }
            Item::Prefix { rel, foreign } => {
                let prefix = format!("{}{rel}", outside(*foreign, list_prefix));
                xml.push_str(&format!(
                    "<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>",
                    esc(&prefix)
                ));
            }
            Item::Raw(raw) => xml.push_str(raw),
        }
    }
    xml.push_str("</ListBucketResult>");
    let mut bytes = xml.into_bytes();
    for m in &page.mutations {
        match *m {
            Mutation::Insert(at, s) => {
                let at = at % (bytes.len() + 1);
                bytes.splice(at..at, s.bytes());
            }
            Mutation::Replace(at, b) if !bytes.is_empty() => {
                let at = at % bytes.len();
                bytes[at] = b;
            }
            Mutation::Truncate(at) => bytes.truncate(at % (bytes.len() + 1)),
            Mutation::Replace(..) => {}
        }
    }
    bytes
}

fn list_params() -> impl Strategy<Value = ListParams> {
    (
        select(
            &[
                "",
                "s",
                "sales",
                "sales/",
                "sales/region=eu/",
                "sales/top/",
                "sales_",
                "sales_eu/",
                "documents/",
                "x",
            ][..],
        ),
        prop_oneof![
            2 => Just(None),
            2 => Just(Some("/")),
            1 => select(&["=", "s", "é", "/r", "top/"][..]).prop_map(Some),
        ],
        prop_oneof![1 => Just(0), 6 => 1..6usize, 2 => Just(1000)],
        any::<bool>(),
        any::<bool>(),
        prop::option::weighted(0.3, rel_key(3).prop_map(|r| format!("sales/{r}"))),
    )
        .prop_map(
            |(prefix, delimiter, max_keys, v2, url, start_after)| ListParams {
                version: if v2 { ListVersion::V2 } else { ListVersion::V1 },
                prefix: prefix.into(),
                delimiter: delimiter.map(str::to_string),
                max_keys,
                start_after,
                continuation_token: None,
                encoding_url: url,
                fetch_owner: !v2,
            },
        )
}

/// A name as the gateway writes it: XML-escaped, or S3's `encoding-type=url`.
fn rendered(name: &str, url: bool) -> String {
    let mut out = String::new();
    for c in name.chars() {
        match c {
            '&' if !url => out.push_str("&amp;"),
            '<' if !url => out.push_str("&lt;"),
            '>' if !url => out.push_str("&gt;"),
            '"' if !url => out.push_str("&quot;"),
            '\'' if !url => out.push_str("&apos;"),
            c if !url || c.is_ascii_alphanumeric() || "-_.~/".contains(c) => out.push(c),
            ' ' => out.push('+'),
            c => {
                for b in c.to_string().bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    out
}

/// `xml` without the contents of every `<name>` element.
fn without_elements(xml: &str, name: &str) -> String {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    let mut out = String::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        out.push_str(&rest[..start]);
        match rest[start..].find(&close) {
            Some(end) => rest = &rest[start + end + close.len()..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

proptest! {
    #![proptest_config(cases(1000))]

    #[test]
    fn rewritten_listings_are_well_formed_and_leak_nothing(
        // Always `sales` and `documents`, so most listings have something to show.
        mask in any::<u16>().prop_map(|m| m | 0b1_0001),
        params in list_params(),
        pages in prop::collection::vec(upstream_page(), 1..4),
    ) {
        let ent = entitlements(mask);
        let Ok(mut job) = ListingJob::new(params.clone(), &ent, "immuta") else {
            return Ok(());
        };
        let mut served = 0;
        let answer = drive(&mut job, |fetch| {
            let (bucket, query) = query_of(fetch);
            let list_prefix = param(&query, "prefix").unwrap_or_default().to_string();
            served += 1;
            match pages.get(served - 1) {
                Some(page) => render_upstream(page, &bucket, &list_prefix),
                // Then the listing ends.
                None => b"<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>".to_vec(),
            }
        })?;
        let Ok(xml) = answer else {
            return Ok(());
        };
        let page = read_page(&xml)?;
        let names = page.names();
        // Names and per-object metadata (ETag, ...) are the upstream's to choose: a hostile page
        // can make them hold text that looks real (markup swallowed by a CDATA section).
        // Everything else is the gateway's and must hold nothing real.
        let mut rest = xml.clone();
        for element in ["LastModified", "ETag", "Size", "StorageClass"] {
            rest = without_elements(&rest, element);
        }
        let mut encoded: Vec<String> = names.iter().map(|n| rendered(n, params.encoding_url)).collect();
        encoded.sort_by_key(|e| std::cmp::Reverse(e.len()));
        for e in &encoded {
            rest = rest.replace(e.as_str(), "");
        }
        prop_assert!(!has_real_marker(&rest), "real name leaked: {xml}");
        prop_assert!(names.len() <= params.max_keys);
        if params.version == ListVersion::V2 {
            prop_assert_eq!(page.key_count, Some(names.len()));
        }
        for name in &names {
            prop_assert!(name.starts_with(&params.prefix), "{name:?} outside the prefix");
            if let Some(after) = &params.start_after {
                prop_assert!(name > after, "{name:?} not after {after:?}");
            }
            // A data source's folder rolled up by the delimiter (`s` for `sales/` by `s`).
            let folder_level = ent.data_sources.iter().any(|g| format!("{}/", g.name).starts_with(name.as_str()));
            if folder_level && page.prefixes.contains(name) {
                continue;
            }
            let (source, rel) = name.split_once('/').unwrap_or((name, ""));
            let Some(g) = ent.data_source(source) else {
                return Err(TestCaseError::fail(format!("{name:?} is in no data source of the principal")));
            };
            prop_assert!(g.prefix.is_empty() || !rel.starts_with(&g.prefix), "{name:?} mapped twice");
            if page.prefixes.contains(name) {
                prop_assert!(g.may_hold_visible(rel), "{name:?} can hold nothing visible");
            } else {
                prop_assert!(g.is_visible(rel), "hidden object {name:?} listed");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Pagination against an honest upstream

/// Keys in the real buckets outside every data source's prefix, or in a data source's that the
/// principal may not hold.
const DECOYS: &[(&str, &str)] = &[
    ("REALBUCKET-wh", "REALPREFIX/sales"),
    ("REALBUCKET-wh", "REALPREFIX/salesX/a"),
    ("REALBUCKET-wh", "REALPREFIX/sales_eu"),
    ("REALBUCKET-wh", "REALPREFIX/s"),
    ("REALBUCKET-wh", "secrets/x"),
    ("REALBUCKET-eu", "REALPREFIX/sales-eu"),
    ("REALBUCKET-eu", "other"),
];

type Store = BTreeMap<String, BTreeSet<String>>;

/// A ListObjectsV2 server over `store` as S3 answers: `start-after` compares keys,
/// the continuation token resumes after the last name returned (object or common prefix).
fn honest_upstream(store: &Store, fetch: &Fetch) -> Vec<u8> {
    let (bucket, query) = query_of(fetch);
    let prefix = param(&query, "prefix").unwrap_or_default();
    let delimiter = param(&query, "delimiter").filter(|d| !d.is_empty());
    let max: usize = param(&query, "max-keys")
        .and_then(|m| m.parse().ok())
        .unwrap_or(1000);
    let token = param(&query, "continuation-token").map(|t| t.trim_start_matches("tok:"));
    let start_after = param(&query, "start-after").unwrap_or_default();
    let mut names: Vec<(String, bool)> = Vec::new();
    for key in store.get(&bucket).into_iter().flatten() {
        if !key.starts_with(prefix) || key.as_str() <= start_after {
            continue;
        }
        let entry = match delimiter.and_then(|d| key[prefix.len()..].find(d).map(|i| (i, d))) {
            Some((i, d)) => (key[..prefix.len() + i + d.len()].to_string(), true),
            None => (key.clone(), false),
        };
        if token.is_some_and(|t| entry.0.as_str() <= t) || names.last() == Some(&entry) {
            continue;
        }
        names.push(entry);
    }
    let truncated = names.len() > max;
    names.truncate(max);
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult><Name>{}</Name><Prefix>{}</Prefix><IsTruncated>{truncated}</IsTruncated>",
        esc(&bucket),
        esc(prefix)
    );
    if let (true, Some((last, _))) = (truncated, names.last()) {
        xml.push_str(&format!(
            "<NextContinuationToken>tok:{}</NextContinuationToken>",
            esc(last)
        ));
    }
    for (name, _) in names.iter().filter(|(_, p)| !p) {
        xml.push_str(&format!(
            "<Contents><Key>{}</Key><LastModified>2026-11-01T00:00:00.000Z</LastModified><ETag>\"e\"</ETag><Size>1</Size></Contents>",
            esc(name)
        ));
    }
    for (name, _) in names.iter().filter(|(_, p)| *p) {
        xml.push_str(&format!(
            "<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>",
            esc(name)
        ));
    }
    xml.push_str("</ListBucketResult>");
    xml.into_bytes()
}

/// The listing S3 itself would give of the virtual bucket, built from the store directly:
/// visible objects rolled up by the delimiter, plus the gateway's rules for common prefixes
/// that visible objects alone do not give: a data source's folder rolled up by the delimiter is
/// listed whatever it holds, and with `/` (rolled up by the upstream) a common prefix is listed
/// when some object rolls up into it and the patterns do not rule it out.
fn expected_listing(
    ent: &Entitlements,
    store: &Store,
    prefix: &str,
    d: Option<&str>,
) -> Vec<String> {
    let mut names = BTreeSet::new();
    for g in &ent.data_sources {
        let folder = format!("{}/", g.name);
        if let (Some(rest), Some(d)) = (folder.strip_prefix(prefix), d) {
            if let Some(i) = rest.find(d) {
                names.insert(format!("{prefix}{}", &rest[..i + d.len()]));
                continue;
            }
        }
        for key in store.get(&g.bucket).into_iter().flatten() {
            let Some(rel) = key.strip_prefix(g.prefix.as_str()) else {
                continue;
            };
            let name = format!("{folder}{rel}");
            let Some(below) = name.strip_prefix(prefix) else {
                continue;
            };
            match d.and_then(|d| below.find(d).map(|i| i + d.len())) {
                Some(end) => {
                    let common = &name[..prefix.len() + end];
                    // `/` is rolled up by the store (listed if it may hold something visible);
                    // other delimiters by the gateway, from visible, servable keys only.
                    let listed = if d == Some("/") {
                        g.may_hold_visible(&common[folder.len()..]) && is_servable_name(common)
                    } else {
                        g.is_visible(rel) && is_servable_name(&name)
                    };
                    if listed {
                        names.insert(common.to_string());
                    }
                }
                None if g.is_visible(rel) && is_servable_name(&name) => {
                    names.insert(name);
                }
                None => {}
            }
        }
    }
    names.into_iter().collect()
}

#[derive(Debug, Clone)]
struct Listing {
    prefix: &'static str,
    delimiter: Option<&'static str>,
    max_keys: usize,
    v2: bool,
    url: bool,
}

/// Lists everything page by page as a client does, through the request parser. `want` is the
/// whole visible listing: a page is truncated exactly when some of it follows the page.
fn paginate(
    ent: &Entitlements,
    store: &Store,
    l: &Listing,
    want: &[String],
) -> Result<Vec<String>, TestCaseError> {
    let limit = want.len() + 2;
    let mut all: Vec<String> = Vec::new();
    let mut resume: Option<String> = None;
    for _ in 0..limit {
        let mut query = format!("prefix={}&max-keys={}", encode(l.prefix, false), l.max_keys);
        if l.v2 {
            query.push_str("&list-type=2");
        }
        if let Some(d) = l.delimiter {
            query.push_str(&format!("&delimiter={}", encode(d, false)));
        }
        if l.url {
            query.push_str("&encoding-type=url");
        }
        if let Some(r) = &resume {
            let name = if l.v2 { "continuation-token" } else { "marker" };
            query.push_str(&format!("&{name}={}", encode(r, false)));
        }
        let path = format!("/s3p/immuta?{query}");
        let req = request::parse("GET", &path, "h", &PATH_STYLE)
            .map_err(|e| TestCaseError::fail(format!("{path}: {}", e.message)))?;
        let Operation::ListObjects(params) = req.operation else {
            return Err(TestCaseError::fail(format!("{path} is no listing")));
        };
        let mut job = ListingJob::new(params, ent, "immuta")
            .map_err(|e| TestCaseError::fail(format!("{path}: {}", e.message)))?;
        let xml = drive(&mut job, |f| honest_upstream(store, f))?
            .map_err(|e| TestCaseError::fail(format!("{path}: {} {}", e.code, e.message)))?;
        prop_assert!(!has_real_marker(&xml), "real name in {xml}");
        let page = read_page(&xml)?;
        let names = page.names();
        prop_assert!(names.len() <= l.max_keys);
        if l.v2 {
            prop_assert_eq!(page.key_count, Some(names.len()));
        }
        if page.truncated {
            prop_assert_eq!(names.len(), l.max_keys, "short truncated page {}", xml);
        }
        all.extend(names.iter().cloned());
        prop_assert_eq!(
            page.truncated,
            all.len() < want.len(),
            "truncated is not 'a visible entry follows': {}",
            xml
        );
        if !page.truncated {
            return Ok(all);
        }
        resume = if l.v2 {
            page.next_token
        } else {
            prop_assert_eq!(&page.next_marker, &names.last().cloned());
            page.next_marker
        };
        prop_assert!(resume.is_some(), "truncated without a resume point: {xml}");
    }
    Err(TestCaseError::fail("pagination did not end"))
}

fn listing() -> impl Strategy<Value = Listing> {
    (
        prop_oneof![
            3 => select(&["", "sales/", "documents/"][..]),
            2 => select(
                &[
                    "s",
                    "sales",
                    "sales/region=eu/",
                    "sales/a",
                    "sales_",
                    "sales_eu/",
                    "sales-eu/",
                    "documents/a/",
                    "documents/.",
                    "sales/..",
                    "d",
                    "x",
                ][..]
            ),
        ],
        // Multi-character ones too, some that run across the `/` ending a folder (`/r`).
        prop::option::of(select(
            &["/", "=", "s", "é", "s/", "=e", "top/", "/r", "/top"][..],
        )),
        prop_oneof![4 => 1..4usize, 1 => 4..8usize, 1 => Just(1000)],
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(prefix, delimiter, max_keys, v2, url)| Listing {
            prefix,
            delimiter,
            max_keys,
            v2,
            url,
        })
}

fn store() -> impl Strategy<Value = Store> {
    (
        prop::collection::vec((0..SOURCES.len(), rel_key(5)), 0..40),
        prop::collection::vec(select(DECOYS), 0..4),
    )
        .prop_map(|(keys, decoys)| {
            let mut store = Store::new();
            for (source, rel) in keys {
                let (_, bucket, prefix) = SOURCES[source];
                if prefix.is_empty() && rel.is_empty() {
                    continue; // S3 keys are never empty
                }
                store
                    .entry(bucket.to_string())
                    .or_default()
                    .insert(format!("{prefix}{rel}"));
            }
            for (bucket, key) in decoys {
                store
                    .entry(bucket.to_string())
                    .or_default()
                    .insert(key.to_string());
            }
            store
        })
}

proptest! {
    #![proptest_config(cases(500))]

    #[test]
    fn pagination_lists_exactly_the_visible_names_once(
        // `sales` and `documents` held with odds 7/8, the others 3/4; attribute rules 1/4.
        mask in (any::<u16>(), any::<u16>(), any::<u16>())
            .prop_map(|(a, b, c)| ((a | b | c) & 0x11) | ((a | b) & 0x1f) | (a & b & 0x1f00)),
        store in store(),
        l in listing(),
    ) {
        let ent = entitlements(mask);
        let want = expected_listing(&ent, &store, l.prefix, l.delimiter);
        let got = paginate(&ent, &store, &l, &want)?;
        // Sorted without duplicates across pages, and exactly the expected names.
        prop_assert!(got.windows(2).all(|w| w[0] < w[1]), "out of order or repeated: {got:?}");
        prop_assert_eq!(got, want);
    }
}

// ---------------------------------------------------------------------------------------------
// Sealed continuation tokens

const TOKEN_KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

fn resume_point() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..256).prop_map(|c| {
        let mut s: String = c.into_iter().collect();
        while s.len() > MAX_KEY_BYTES {
            s.pop();
        }
        s
    })
}

proptest! {
    #![proptest_config(cases(400))]

    #[test]
    fn tokens_open_to_what_was_sealed(x in resume_point()) {
        prop_assert_eq!(continuation::open(TOKEN_KEY, &continuation::seal(TOKEN_KEY, &x)).ok(), Some(x));
    }

    #[test]
    fn open_never_panics(text in any::<String>(), b64 in "[A-Za-z0-9_=-]{0,120}") {
        let _ = continuation::open(TOKEN_KEY, &text);
        let _ = continuation::open(TOKEN_KEY, &b64);
    }

    #[test]
    fn tampered_tokens_are_refused(x in resume_point(), bit in any::<usize>(), at in any::<usize>(), c in "[A-Za-z0-9_-]") {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let sealed = continuation::seal(TOKEN_KEY, &x);
        // Any bit of the sealed bytes.
        let mut raw = b64.decode(&sealed).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let bit = bit % (raw.len() * 8);
        raw[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(continuation::open(TOKEN_KEY, &b64.encode(&raw)).is_err());
        // Any character of the token text.
        let at = at % sealed.len();
        if sealed[at..].chars().next() != c.chars().next() {
            let edited = format!("{}{c}{}", &sealed[..at], &sealed[at + 1..]);
            prop_assert!(continuation::open(TOKEN_KEY, &edited).is_err(), "{edited} opened");
        }
        // Cut short or lengthened.
        prop_assert!(continuation::open(TOKEN_KEY, &sealed[..at]).is_err());
        let longer = format!("{sealed}{c}");
        prop_assert!(continuation::open(TOKEN_KEY, &longer).is_err());
        // Another principal's key.
        prop_assert!(continuation::open(b"another principal, another key!!", &sealed).is_err());
    }
}

// ---------------------------------------------------------------------------------------------
// Globs

fn pattern() -> impl Strategy<Value = String> {
    prop::collection::vec(select(&["a", "b", "/", "*", "**", "?", "é", "."][..]), 0..7)
        .prop_map(|p| p.concat())
}

fn glob_key() -> impl Strategy<Value = String> {
    prop::collection::vec(select(&["a", "b", "/", "é", "."][..]), 0..9).prop_map(|p| p.concat())
}

/// A pattern and a key that matches it, or nearly: each wildcard filled with something it may
/// or may not match (`/` for `?` or `*`), and sometimes a random key instead.
fn pattern_and_key() -> impl Strategy<Value = (String, String)> {
    let fills = prop::collection::vec(select(&["", "a", "é", "/", "b/a", "ab", "."][..]), 8);
    prop_oneof![
        3 => (pattern(), fills).prop_map(|(p, fills)| {
            let mut key = String::new();
            for (i, t) in glob_tokens(&p).into_iter().enumerate() {
                match t {
                    Glob::Lit(c) => key.push(c),
                    Glob::One => key.push(fills[i % 8].chars().next().unwrap_or('a')),
                    Glob::Star | Glob::Stars => key.push_str(fills[i % 8]),
                }
            }
            (p, key)
        }),
        1 => (pattern(), glob_key()),
    ]
}

proptest! {
    #![proptest_config(cases(2000))]

    #[test]
    fn glob_never_panics(pattern in any::<String>(), key in any::<String>(), p in pattern(), k in glob_key()) {
        let _ = glob::matches(&pattern, &key);
        let _ = glob::may_match_below(&pattern, &key);
        let _ = glob::matches(&p, &key);
        let _ = glob::may_match_below(&p, &key);
        let _ = glob::matches(&pattern, &k);
    }

    /// A prefix is never ruled out while some key below it matches.
    #[test]
    fn may_match_below_covers_every_matching_key((p, key) in pattern_and_key()) {
        if glob::matches(&p, &key) {
            for (i, _) in key.char_indices().chain([(key.len(), ' ')]) {
                prop_assert!(
                    glob::may_match_below(&p, &key[..i]),
                    "{p:?} matches {key:?} but rules out {:?}", &key[..i]
                );
            }
        }
    }
}

/// The glob language, matched by dynamic programming over characters: an independent
/// reference for `glob::matches`.
fn reference_matches(pattern: &str, key: &str) -> bool {
    let subject = if pattern.contains('/') {
        key
    } else {
        key.rsplit('/').next().unwrap_or(key)
    };
    let tokens = glob_tokens(pattern);
    let s: Vec<char> = subject.chars().collect();
    // ok[i][j]: tokens[i..] match s[j..].
    let mut ok = vec![vec![false; s.len() + 1]; tokens.len() + 1];
    ok[tokens.len()][s.len()] = true;
    for i in (0..tokens.len()).rev() {
        for j in (0..=s.len()).rev() {
            let c = s.get(j).copied();
            ok[i][j] = match tokens[i] {
                Glob::Lit(l) => c == Some(l) && ok[i + 1][j + 1],
                Glob::One => c.is_some_and(|c| c != '/') && ok[i + 1][j + 1],
                Glob::Star => ok[i + 1][j] || (c.is_some_and(|c| c != '/') && ok[i][j + 1]),
                Glob::Stars => ok[i + 1][j] || (c.is_some() && ok[i][j + 1]),
            };
        }
    }
    ok[0][0]
}

#[derive(Debug, Clone, Copy)]
enum Glob {
    Lit(char),
    One,
    Star,
    Stars,
}

fn glob_tokens(pattern: &str) -> Vec<Glob> {
    let mut tokens = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                Glob::Stars
            }
            '*' => Glob::Star,
            '?' => Glob::One,
            c => Glob::Lit(c),
        });
    }
    tokens
}

proptest! {
    #![proptest_config(cases(4000))]

    #[test]
    fn glob_agrees_with_the_reference((p, key) in pattern_and_key()) {
        prop_assert_eq!(glob::matches(&p, &key), reference_matches(&p, &key), "{:?} vs {:?}", p, key);
        prop_assert_eq!(
            glob::may_match_below(&p, &key),
            reference_may_match_below(&p, &key),
            "{:?} below {:?}", p, key
        );
    }
}

/// Whether some key starting with `prefix` matches `pattern`, by the reference: the pattern can
/// consume all of the prefix (whatever it has left can always match something).
fn reference_may_match_below(pattern: &str, prefix: &str) -> bool {
    if !pattern.contains('/') {
        return true;
    }
    let tokens = glob_tokens(pattern);
    let s: Vec<char> = prefix.chars().collect();
    let mut reach = vec![vec![false; s.len() + 1]; tokens.len() + 1];
    reach[0][0] = true;
    for j in 0..=s.len() {
        for i in 0..=tokens.len() {
            if !reach[i][j] {
                continue;
            }
            let c = s.get(j).copied();
            match tokens.get(i) {
                Some(Glob::Lit(l)) if c == Some(*l) => reach[i + 1][j + 1] = true,
                Some(Glob::One) if c.is_some_and(|c| c != '/') => reach[i + 1][j + 1] = true,
                Some(Glob::Star) => {
                    reach[i + 1][j] = true;
                    if c.is_some_and(|c| c != '/') {
                        reach[i][j + 1] = true;
                    }
                }
                Some(Glob::Stars) => {
                    reach[i + 1][j] = true;
                    if c.is_some() {
                        reach[i][j + 1] = true;
                    }
                }
                _ => {}
            }
        }
    }
    (0..=tokens.len()).any(|i| reach[i][s.len()])
}

// ---------------------------------------------------------------------------------------------
// SigV4

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const SIGNED_AT: &str = "20261126T120000Z";

fn alnum() -> impl Strategy<Value = char> {
    prop_oneof![
        proptest::char::range('a', 'z'),
        proptest::char::range('A', 'Z'),
        proptest::char::range('0', '9')
    ]
}

/// A GET/HEAD as a client signs it: path of unreserved characters, a query, headers, some of
/// them signed besides `host` and every `x-amz-*`.
#[derive(Debug, Clone)]
struct SignedRequest {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    signed: Vec<String>,
}

impl SignedRequest {
    fn raw_path(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        }
    }

    /// The `Authorization` header for this request, signed with `SECRET`.
    fn authorization(&self) -> Result<String, TestCaseError> {
        let key = sigv4::signing_key(SECRET, &SIGNED_AT[..8], "us-east-1", "s3");
        let canonical = sigv4::canonical_request(
            &self.method,
            &self.raw_path(),
            &self.headers,
            &self.signed,
            sigv4::UNSIGNED_PAYLOAD,
            false,
        )
        .map_err(|e| TestCaseError::fail(e.message))?;
        let scope = format!("{}/us-east-1/s3", &SIGNED_AT[..8]);
        let to_sign = sigv4::string_to_sign(SIGNED_AT, &scope, &canonical);
        Ok(format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{scope}/aws4_request, SignedHeaders={}, Signature={}",
            self.signed.join(";"),
            sigv4::signature(&key, &to_sign)
        ))
    }

    fn verify(&self, authorization: &str) -> Result<(), s3gate_core::s3::error::S3Error> {
        let auth = sigv4::parse_authorization(authorization)?;
        let key = sigv4::signing_key(SECRET, &auth.date, &auth.region, &auth.service);
        let now = sigv4::parse_amz_date(SIGNED_AT).unwrap_or_default() + 60;
        sigv4::verify(
            &auth,
            &self.method,
            &self.raw_path(),
            &self.headers,
            now,
            &key,
        )
    }
}

fn signed_request() -> impl Strategy<Value = SignedRequest> {
    let word = "[a-zA-Z0-9._~-]{1,10}";
    (
        select(&["GET", "HEAD"][..]),
        prop::collection::vec(word, 1..5),
        prop::collection::vec((word, "[a-zA-Z0-9]{0,8}"), 0..4),
        prop::collection::vec(
            (
                "x-(amz-meta|extra)-[a-z]{1,6}",
                "[a-zA-Z0-9]{1,6}( [a-zA-Z0-9]{1,6}){0,2}",
                any::<bool>(),
            ),
            0..4,
        ),
    )
        .prop_map(|(method, segments, query, extra)| {
            let mut headers = vec![
                ("host".to_string(), "immuta.s3.example.test".to_string()),
                ("x-amz-date".to_string(), SIGNED_AT.to_string()),
                (
                    "x-amz-content-sha256".to_string(),
                    sigv4::UNSIGNED_PAYLOAD.to_string(),
                ),
            ];
            let mut signed: Vec<String> = headers.iter().map(|(k, _)| k.clone()).collect();
            for (name, value, sign) in extra {
                if headers.iter().any(|(k, _)| *k == name) {
                    continue;
                }
                // Unsigned `x-amz-*` headers are refused: sign those always.
                if sign || name.starts_with("x-amz-") {
                    signed.push(name.clone());
                }
                headers.push((name, value));
            }
            signed.sort();
            SignedRequest {
                method: method.to_string(),
                path: format!("/s3p/immuta/{}", segments.join("/")),
                query: query
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("&"),
                headers,
                signed,
            }
        })
}

/// Replaces the alphanumeric character at (about) `at` in `text` with `c`, if that changes it.
fn edit_alnum(text: &str, at: usize, c: char) -> Option<String> {
    let spots: Vec<usize> = text
        .char_indices()
        .filter(|(_, ch)| ch.is_ascii_alphanumeric())
        .map(|(i, _)| i)
        .collect();
    let i = *spots.get(at % spots.len().max(1))?;
    (!text[i..].starts_with(c)).then(|| format!("{}{c}{}", &text[..i], &text[i + 1..]))
}

proptest! {
    #![proptest_config(cases(400))]

    #[test]
    fn sigv4_never_panics(
        method in method(),
        path in hostile_path(),
        headers in prop::collection::vec(("[a-zA-Z:-]{0,12}|x-amz-[a-z-]{0,10}", any::<String>()), 0..5),
        signed in prop::collection::vec("[a-z:-]{0,8}|host|x-amz-date", 0..4),
        authorization in prop_oneof![
            any::<String>(),
            "AWS4-HMAC-SHA256 ((Credential|SignedHeaders|Signature|X)=[ -~]{0,40},? ?){0,4}",
        ],
        now in any::<u64>(),
        presigned in any::<bool>(),
    ) {
        let _ = sigv4::canonical_request(&method, &path, &headers, &signed, "x", presigned);
        let query = request::parse_query(path.split_once('?').map_or("", |(_, q)| q)).unwrap_or_default();
        let _ = sigv4::parse_presigned(&query);
        if let Ok(auth) = sigv4::parse_authorization(&authorization) {
            let _ = sigv4::verify(&auth, &method, &path, &headers, now, &[7; 32]);
        }
        let _ = sigv4::parse_amz_date(&authorization);
    }

    #[test]
    fn sigv4_verifies_its_own_signatures_and_nothing_edited(
        req in signed_request(),
        target in 0..4usize,
        at in any::<usize>(),
        c in alnum(),
    ) {
        let authorization = req.authorization()?;
        prop_assert!(req.verify(&authorization).is_ok(), "own signature refused: {:?}", req);
        let mut edited = req.clone();
        let changed = match target {
            0 => edit_alnum(&req.method, at, c).map(|m| edited.method = m),
            1 => edit_alnum(&req.path, at, c).map(|p| edited.path = p),
            2 => edit_alnum(&req.query, at, c).map(|q| edited.query = q),
            _ => {
                let signed: Vec<usize> = (0..req.headers.len())
                    .filter(|i| req.signed.contains(&req.headers[*i].0))
                    .collect();
                let i = signed[at % signed.len()];
                edit_alnum(&req.headers[i].1, at / 7, c).map(|v| edited.headers[i].1 = v)
            }
        };
        if changed.is_some() {
            prop_assert!(edited.verify(&authorization).is_err(), "edited request verified: {:?}", edited);
        }
    }
}
