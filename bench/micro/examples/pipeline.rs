//! The pure work of one cached, SigV4-signed 1 KiB GET, in the order `shim/src/lib.rs` does it,
//! natively and N times: for instruction counts that the VM's noise cannot blur.
//!
//! ```sh
//! cd bench && CARGO_TARGET_DIR=../target/bench cargo build --release --example pipeline
//! for n in 1000 2000; do valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$n \
//!     ../target/bench/release/examples/pipeline $n 2>&1 | grep refs; done
//! ```
//! (refs at 2000 − refs at 1000) / 1000 = instructions per request. Natively SHA-256 runs on
//! the CPU's SHA extensions, but valgrind runs `sha2`'s portable code, so hashing counts fully
//! (as it does in wasm). Host calls are not modelled (they are Envoy's cost).
//!
//! `pipeline N floor` runs only what bench variant (b'') does (`bench/minimal-filter`, lever
//! `verify-sign`): verify the client's signature and sign the upstream request, nothing else.
//! The difference between the two is the pure work s3gate adds to the floor of any filter
//! that verifies and signs.

use std::collections::HashMap;
use std::hint::black_box;
use std::rc::Rc;

use s3gate_core::signature::presented::{self, Presented};
use s3gate_core::s3::conditional::Conditions;
use s3gate_core::policy::decision::{Decision, LocalCache};
use s3gate_core::headers::{HeaderMap, Headers};
use s3gate_core::s3::mapping;
use s3gate_core::s3::request::{self, Addressing, Operation};
use s3gate_core::s3::response;
use s3gate_core::signature::sigv4::{self, VerifyingKey};
use s3gate_core::signature::upstream::{Carried, UpstreamCredentials, UpstreamSigner};
use s3gate_bench::analyst;

const ADDRESSING: Addressing = Addressing {
    path_prefix: "/s3p",
    bucket: "immuta",
    virtual_host_domain: None,
};
const TIMESTAMP: &str = "20261126T104718Z";
const PATH: &str = "/s3p/immuta/sales/bench/1k.bin";
const KEY: &str = "bench-hot-key";

/// proxy-wasm's header map serialization, as `proxy_get_header_map_pairs` hands it over.
fn serialize(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut out = (pairs.len() as u32).to_le_bytes().to_vec();
    for (n, v) in pairs {
        out.extend((n.len() as u32).to_le_bytes());
        out.extend((v.len() as u32).to_le_bytes());
    }
    for (n, v) in pairs {
        out.extend(n.as_bytes());
        out.push(0);
        out.extend(v.as_bytes());
        out.push(0);
    }
    out
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let floor_only = std::env::args().nth(2).as_deref() == Some("floor");
    let empty = sigv4::EMPTY_PAYLOAD_SHA256;
    let key = sigv4::signing_key("immuta", "20261126", "us-east-1", "s3");
    let signed: Vec<(String, String)> = vec![
        ("host".into(), "127.0.0.1:10000".into()),
        ("x-amz-content-sha256".into(), empty.into()),
        ("x-amz-date".into(), TIMESTAMP.into()),
    ];
    let names: Vec<String> = signed.iter().map(|(n, _)| n.clone()).collect();
    let canonical = sigv4::canonical_request("GET", PATH, &signed, &names, empty, false)
        .expect("canonical request");
    let to_sign = sigv4::string_to_sign(TIMESTAMP, "20261126/us-east-1/s3", &canonical);
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={KEY}/20261126/us-east-1/s3/aws4_request, \
         SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={}",
        sigv4::signature(&key, &to_sign)
    );
    let request_bytes = serialize(&[
        (":authority", "127.0.0.1:10000"),
        (":path", PATH),
        (":method", "GET"),
        (":scheme", "http"),
        (
            "user-agent",
            "Boto3/1.35.0 md/Botocore#1.35.0 ua/2.0 os/linux lang/python#3.11.2",
        ),
        ("accept-encoding", "identity"),
        ("x-amz-date", TIMESTAMP),
        ("x-amz-content-sha256", empty),
        ("authorization", &authorization),
        ("x-forwarded-proto", "http"),
        ("x-request-id", "5d2c8f0e-3b7a-4c1e-9f4d-2a6b8c0d1e2f"),
    ]);
    let response_bytes = serialize(&[
        (":status", "200"),
        ("date", "Thu, 26 Nov 2026 10:47:18 GMT"),
        ("content-type", "application/octet-stream"),
        ("content-length", "1024"),
        ("last-modified", "Thu, 26 Nov 2026 09:00:00 GMT"),
        ("etag", "\"6740c7d1-400\""),
        ("accept-ranges", "bytes"),
        ("x-amz-request-id", "5d2c8f0e-3b7a-4c1e-9f4d-2a6b8c0d1e2f"),
    ]);
    let now = sigv4::parse_amz_date(TIMESTAMP).expect("date");

    // Per VM, as the host keeps them.
    let mut digests: HashMap<String, String> = HashMap::new();
    let mut verifying: HashMap<String, VerifyingKey> = HashMap::new();
    let mut cache = LocalCache::with_grace(0);
    let mut entitlements = analyst();
    entitlements.signing_key = Some(key.iter().map(|b| format!("{b:02x}")).collect());
    let digest = presented::key_digest(KEY);
    let cache_id = format!("{digest}@20261126/us-east-1/s3");
    cache.insert(
        cache_id,
        now + 60,
        Rc::new(Decision::Known(entitlements)),
        now,
    );
    let mut signer = UpstreamSigner::new(UpstreamCredentials {
        access_key_id: "s3gate-upstream".into(),
        secret_access_key: "s3gate-upstream-secret".into(),
        session_token: None,
        region: "us-east-1".into(),
    });

    if floor_only {
        let mut key: Option<(String, VerifyingKey)> = None;
        for _ in 0..n {
            let headers =
                HeaderMap::from_serialized(black_box(request_bytes.clone())).expect("map");
            let method = headers.get(":method").unwrap_or_default();
            let path = headers.get(":path").unwrap_or_default();
            let auth = sigv4::parse_authorization(headers.get("authorization").expect("signed"))
                .expect("parses");
            let scope = auth.scope_string();
            if key.as_ref().is_none_or(|(s, _)| *s != scope) {
                let derived = sigv4::signing_key("immuta", &auth.date, &auth.region, &auth.service);
                key = Some((scope, VerifyingKey::new(&derived)));
            }
            let (_, verifying_key) = key.as_ref().expect("derived");
            sigv4::verify_with(&auth, method, path, &headers, now, verifying_key)
                .expect("verifies");
            // bench/run.py's MIN_FILTER_CONFIG map for this path, as (b'') has it.
            let mapped = path
                .strip_prefix("/s3p/immuta/sales/")
                .map(|rest| format!("/acme-warehouse-prod/curated/sales/{rest}"))
                .expect("maps");
            let carried = Carried {
                amz_date: headers.only("x-amz-date"),
                content_sha256: headers.only("x-amz-content-sha256"),
            };
            let signed = signer.sign_carrying(method, "s3.demo.internal", &mapped, now, carried);
            for (name, value) in signed.headers() {
                if headers.only(name) != Some(value) {
                    black_box((name, value));
                }
            }
        }
        println!("{n} requests (floor)");
        return;
    }

    let mut forwarded = 0usize;
    for _ in 0..n {
        // on_http_request_headers
        let headers = HeaderMap::from_serialized(black_box(request_bytes.clone())).expect("map");
        let method = headers.get(":method").unwrap_or_default().to_string();
        let path = headers.get(":path").unwrap_or_default().to_string();
        let request_id = headers.get("x-request-id").unwrap_or("s3gate").to_string();
        let resource = path.split('?').next().unwrap_or("").to_string();
        let authority = headers.get(":authority").unwrap_or_default();
        let request = request::parse(&method, &path, authority, &ADDRESSING).expect("parses");
        let Ok(Presented::SigV4(auth)) = presented::presented(&headers, &request.query, false)
        else {
            panic!("not SigV4");
        };
        let digest = digests
            .entry(auth.access_key.clone())
            .or_insert_with(|| presented::key_digest(&auth.access_key))
            .clone();
        let cache_id = format!("{digest}@{}", auth.scope_string());
        // with_decision → decide
        let (_, decision) = cache.get(&cache_id, now).expect("cached");
        let Decision::Known(entitlements) = &*decision else {
            panic!("unknown");
        };
        let hex = entitlements.signing_key.as_deref().expect("key");
        let verifying_key = verifying
            .entry(hex.to_string())
            .or_insert_with(|| VerifyingKey::from_hex(hex).expect("hex"));
        sigv4::verify_with(&auth, &method, &path, &headers, now, verifying_key).expect("verifies");
        let Operation::GetObject { key } = request.operation else {
            panic!("not a GET");
        };
        let (grant, relative) = mapping::resolve_object(entitlements, &key).expect("visible");
        let upstream_path =
            mapping::upstream_object_path(grant, relative, &request.forwarded_query);
        let carried = Carried {
            amz_date: headers.only("x-amz-date"),
            content_sha256: headers.only("x-amz-content-sha256"),
        };
        let signed =
            signer.sign_carrying(&method, "s3.demo.internal", &upstream_path, now, carried);
        for (name, _) in headers.pairs() {
            let replaced = signed.headers().any(|(n, _)| n == name);
            if !replaced && (name == "authorization" || name.starts_with("x-amz-")) {
                black_box(name);
            }
        }
        for (name, value) in signed.headers() {
            if headers.only(name) != Some(value) {
                black_box((name, value));
            }
        }
        let range = headers.get("range");
        let owned = |name| headers.get(name).map(str::to_string);
        let conditions = Conditions {
            if_match: owned("if-match"),
            if_none_match: owned("if-none-match"),
            if_modified_since: owned("if-modified-since"),
            if_unmodified_since: owned("if-unmodified-since"),
        };
        // on_http_response_headers
        let upstream = HeaderMap::from_serialized(black_box(response_bytes.clone())).expect("map");
        let plan = response::plan_object_response(
            &upstream,
            range.is_some(),
            &conditions,
            &key,
            &request_id,
        );
        forwarded += usize::from(plan.remove.is_empty() && plan.set.is_empty());
        black_box((resource, upstream_path, plan));
    }
    assert_eq!(
        forwarded, n,
        "every request forwarded with no response edit"
    );
    println!("{n} requests");
}
