//! Micro-benchmarks of the pure modules, natively: `make bench` runs them, or
//! `CARGO_TARGET_DIR=target/bench cargo bench --manifest-path bench/Cargo.toml -p s3gate-bench`.
//!
//! One function per module; to add one (e.g. SigV4 verification and signing once
//! `s3gate::sigv4` lands), write `fn sigv4(c: &mut Criterion)` like the others and add its name
//! to the `criterion_group!` list at the bottom.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use s3gate::auth;
use s3gate::decision::{self, Decision};
use s3gate::entitlements::Entitlements;
use s3gate::listing::{ListingJob, Step};
use s3gate::request::{self, Addressing, Operation};
use s3gate_bench::{analyst, upstream_page};

const ADDRESSING: Addressing = Addressing {
    path_prefix: "/s3p",
    bucket: "immuta",
    virtual_host_domain: None,
};
const AUTHORITY: &str = "127.0.0.1:10000";
/// What boto3 sends for `list_objects_v2(Bucket="immuta", Prefix="sales/bench/list/")`.
const LIST_PATH: &str = "/s3p/immuta?list-type=2&prefix=sales%2Fbench%2Flist%2F&encoding-type=url";
const SIGV4: &str =
    "AWS4-HMAC-SHA256 Credential=bench-key-00000/20261126/us-east-1/s3/aws4_request, \
    SignedHeaders=host;x-amz-content-sha256;x-amz-date, \
    Signature=0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

fn request_parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("request");
    let object = "/s3p/immuta/sales/bench/1k.bin";
    assert!(request::parse("GET", object, AUTHORITY, &ADDRESSING).is_ok());
    g.bench_function("parse GetObject", |b| {
        b.iter(|| request::parse(black_box("GET"), black_box(object), AUTHORITY, &ADDRESSING))
    });
    g.bench_function("parse ListObjectsV2 (boto3 query)", |b| {
        b.iter(|| {
            request::parse(
                black_box("GET"),
                black_box(LIST_PATH),
                AUTHORITY,
                &ADDRESSING,
            )
        })
    });
    g.finish();
}

fn auth(c: &mut Criterion) {
    let mut g = c.benchmark_group("auth");
    assert!(auth::credential(&[SIGV4], true).is_ok());
    g.bench_function("credential from SigV4 header", |b| {
        b.iter(|| auth::credential(&[black_box(SIGV4)], true))
    });
    // The filter hashes the API key on every request (the cache is keyed by digest).
    g.bench_function("key_digest (SHA-256 hex)", |b| {
        b.iter(|| auth::key_digest(black_box("bench-key-00000")))
    });
    g.finish();
}

fn decisions(c: &mut Criterion) {
    let mut g = c.benchmark_group("decision");
    let entitlements = analyst();
    let json = serde_json::to_vec(&entitlements).expect("serializes");
    // A policy answer (cache miss) and a shared-data hit (another worker asked, or the per-VM
    // map was cleared): both parse the JSON document.
    g.bench_function("parse entitlements JSON", |b| {
        b.iter(|| serde_json::from_slice::<Entitlements>(black_box(&json)))
    });
    let shared = decision::encode(u64::MAX, &Decision::Known(entitlements));
    assert!(decision::decode(&shared, 1).is_some());
    g.bench_function("decode shared-data entry", |b| {
        b.iter(|| decision::decode(black_box(&shared), 1))
    });
    g.finish();
}

fn listing(c: &mut Criterion) {
    let page = upstream_page(200);
    let entitlements = analyst();
    let request = request::parse("GET", LIST_PATH, AUTHORITY, &ADDRESSING)
        .expect("the bench listing request parses");
    let Operation::ListObjects(params) = request.operation else {
        panic!("the bench listing request is not a listing");
    };
    // The work of one client request: plan, feed the one upstream page, render the answer.
    let run = |page: &[u8]| {
        let mut job = ListingJob::new(params.clone(), &entitlements, "immuta").expect("job");
        assert!(matches!(job.next_step(), Step::Fetch(_)));
        job.feed(200, page).expect("the page is accepted");
        match job.next_step() {
            Step::Done(xml) => xml,
            Step::Fetch(_) => panic!("one page should finish the listing"),
        }
    };
    let xml = run(page.as_bytes());
    assert_eq!(
        xml.matches("<Contents>").count(),
        800,
        "20% of 1000 keys hidden"
    );
    let mut g = c.benchmark_group("listing");
    // MB/s of upstream XML in; the client page is rendered in the same iteration.
    g.throughput(Throughput::Bytes(page.len() as u64));
    g.bench_function("rewrite 1000-key page, 20% hidden", |b| {
        b.iter(|| run(black_box(page.as_bytes())).len())
    });
    g.finish();
}

criterion_group!(benches, request_parse, auth, decisions, listing);
criterion_main!(benches);
