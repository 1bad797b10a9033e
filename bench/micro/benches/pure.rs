//! Micro-benchmarks of the pure modules, natively: `make bench` runs them, or
//! `CARGO_TARGET_DIR=target/bench cargo bench --manifest-path bench/Cargo.toml -p s3gate-bench`.
//!
//! One function per module; to add one, write `fn name(c: &mut Criterion)` like the others and
//! add its name to the `criterion_group!` list at the bottom.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use s3gate_core::signature::presented;
use s3gate_core::policy::decision::{self, Decision};
use s3gate_core::policy::entitlements::Entitlements;
use s3gate_core::s3::listing::{ListingJob, Step};
use s3gate_core::s3::request::{self, Addressing, Operation};
use s3gate_core::signature::sigv4;
use s3gate_core::signature::upstream::{UpstreamCredentials, UpstreamSigner};
use s3gate_bench::{analyst, csv_table, jsonl_table, upstream_page};
use s3gate_core::tables::csv::{self as table_csv, CsvError, Dialect, Record};
use s3gate_core::tables::mask::{MaskKeys, Masked, Value};
use s3gate_core::tables::spec::{Mask, TableSpec};
use s3gate_core::tables::transform::{TableError, Transform};
use s3gate_core::tables::jsonl::{self, JsonlError};

const ADDRESSING: Addressing = Addressing {
    path_prefix: "/s3p",
    bucket: "immuta",
    virtual_host_domain: None,
};
const AUTHORITY: &str = "127.0.0.1:10000";
/// What boto3 sends for `list_objects_v2(Bucket="immuta", Prefix="sales/bench/list/")`.
const LIST_PATH: &str = "/s3p/immuta?list-type=2&prefix=sales%2Fbench%2Flist%2F&encoding-type=url";

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
    // The filter hashes the API key on every request (the cache is keyed by digest).
    g.bench_function("key_digest (SHA-256 hex)", |b| {
        b.iter(|| presented::key_digest(black_box("bench-key-00000")))
    });
    g.finish();
}

fn sigv4(c: &mut Criterion) {
    let mut g = c.benchmark_group("sigv4");
    // A GET as botocore signs it (host, x-amz-content-sha256, x-amz-date), signed here with the
    // module's own functions so the check passes.
    let key = sigv4::signing_key("immuta", "20261126", "us-east-1", "s3");
    let timestamp = "20261126T104718Z";
    let path = "/s3p/immuta/sales/bench/1k.bin";
    let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), "127.0.0.1:10000".into()),
        ("x-amz-content-sha256".into(), empty.into()),
        ("x-amz-date".into(), timestamp.into()),
    ];
    let signed: Vec<String> = headers.iter().map(|(n, _)| n.clone()).collect();
    let canonical = sigv4::canonical_request("GET", path, &headers, &signed, empty, false)
        .expect("canonical request");
    let scope = "20261126/us-east-1/s3";
    let string_to_sign = sigv4::string_to_sign(timestamp, scope, &canonical);
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential=bench-key-00000/{scope}/aws4_request, \
         SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={}",
        sigv4::signature(&key, &string_to_sign)
    );
    headers.push(("authorization".into(), authorization.clone()));
    let auth = sigv4::parse_authorization(&authorization).expect("parses");
    let now = sigv4::parse_amz_date(timestamp).expect("date");
    sigv4::verify(&auth, "GET", path, &headers, now, &key).expect("the signature verifies");
    // Per request on the cached path: parse the header, then verify (canonical request,
    // SHA-256, HMAC).
    g.bench_function(
        "parse_authorization + verify (GET, 3 signed headers)",
        |b| {
            b.iter(|| {
                let auth = sigv4::parse_authorization(black_box(&authorization)).expect("parses");
                sigv4::verify(&auth, "GET", black_box(path), &headers, now, &key)
            })
        },
    );
    // Signing a string to sign (the last step of signing a request).
    g.bench_function("signature (HMAC of the string to sign)", |b| {
        b.iter(|| sigv4::signature(&key, black_box(&string_to_sign)))
    });
    // Once per (key, scope) on the policy service: four chained HMACs.
    g.bench_function("signing_key derivation", |b| {
        b.iter(|| sigv4::signing_key(black_box("immuta"), "20261126", "us-east-1", "s3"))
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
    let id =
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef@20261202/us-east-1/s3";
    let shared = decision::encode(id, u64::MAX, &Decision::Known(entitlements));
    assert!(decision::decode(&shared, id, 1).is_some());
    g.bench_function("decode shared-data entry", |b| {
        b.iter(|| decision::decode(black_box(&shared), id, 1))
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
            Step::Fetch(_) | Step::Measure(_) => panic!("one page should finish the listing"),
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

/// Signing the upstream request in the filter (the shipped configuration): per request, with the
/// day's key state cached, and once per UTC day.
fn upstream_signing(c: &mut Criterion) {
    let mut g = c.benchmark_group("upstream_sign");
    let credentials = UpstreamCredentials {
        access_key_id: "s3gate-upstream".into(),
        secret_access_key: "s3gate-upstream-secret".into(),
        session_token: None,
        region: "us-east-1".into(),
    };
    let mut signer = UpstreamSigner::new(credentials.clone());
    let path = "/acme-warehouse-prod/curated/sales/bench/1k.bin";
    let now = 1_795_000_000; // 2026-11-18
    g.bench_function("sign GET (day key cached)", |b| {
        b.iter(|| signer.sign("GET", "s3.demo.internal", black_box(path), now))
    });
    g.bench_function("sign GET (new signer: day key derived)", |b| {
        b.iter(|| {
            UpstreamSigner::new(credentials.clone()).sign("GET", "s3.demo.internal", path, now)
        })
    });
    g.finish();
}

/// The CSV reader over a 20 MB table of 10 columns in 64 KiB chunks (Envoy's body chunks are
/// at most that), alone and re-emitting every record with two fields replaced; csv-core's
/// `read_record` over the same chunks for reference. MB/s of CSV in.
fn csv(c: &mut Criterion) {
    const CHUNK: usize = 64 * 1024;
    let table = csv_table(20_000_000);
    let dialect = Dialect::default();
    let read = |input: &[u8]| -> Result<(u64, usize), CsvError> {
        let mut reader = table_csv::Reader::new(dialect, 1 << 20)?;
        let mut fields = 0;
        let mut count = |r: &Record<'_>| {
            fields += r.fields().len();
            Ok::<(), CsvError>(())
        };
        for chunk in input.chunks(CHUNK) {
            reader.feed(chunk, &mut count)?;
        }
        reader.finish(&mut count)?;
        Ok((reader.records(), fields))
    };
    let (records, fields) = read(&table).expect("the table reads");
    assert_eq!(fields as u64, records * 10, "10 fields in every record");
    let mut out = Vec::with_capacity(table.len());
    let rewrite = |input: &[u8], out: &mut Vec<u8>| -> Result<(), CsvError> {
        out.clear();
        let mut reader = table_csv::Reader::new(dialect, 1 << 20)?;
        let mut write = |r: &Record<'_>| {
            let replace: &[(usize, &[u8])] = if r.is_header() {
                &[]
            } else {
                &[
                    (2, b"0123456789abcdef0123456789abcdef"),
                    (8, b"***-**-6789"),
                ]
            };
            table_csv::write_record(r, replace, out)
        };
        for chunk in input.chunks(CHUNK) {
            reader.feed(chunk, &mut write)?;
        }
        reader.finish(&mut write)
    };
    rewrite(&table, &mut out).expect("the table rewrites");
    assert!(out.len() > table.len() / 2);
    let csv_core_records = |input: &[u8]| -> u64 {
        let mut reader = csv_core::Reader::new();
        let mut output = vec![0u8; 1 << 20];
        let mut ends = [0usize; 64];
        let mut records = 0;
        let mut chunks = input.chunks(CHUNK).chain(std::iter::once(&[][..]));
        let mut chunk = chunks.next().unwrap_or_default();
        loop {
            // An empty input means the end to csv-core: a record that ended a chunk moves on.
            if chunk.is_empty() {
                chunk = chunks.next().unwrap_or_default();
            }
            let (result, nin, _, _) = reader.read_record(chunk, &mut output, &mut ends);
            chunk = &chunk[nin..];
            match result {
                csv_core::ReadRecordResult::Record => records += 1,
                csv_core::ReadRecordResult::End => return records,
                csv_core::ReadRecordResult::InputEmpty => match chunks.next() {
                    Some(next) => chunk = next,
                    None => return records,
                },
                other => panic!("csv-core: {other:?}"),
            }
        }
    };
    assert_eq!(csv_core_records(&table), records);
    let mut g = c.benchmark_group("csv");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(table.len() as u64));
    g.bench_function("read 20 MB, 64 KiB chunks", |b| {
        b.iter(|| read(black_box(&table)).map(|(records, _)| records))
    });
    g.bench_function("read + write, 2 of 10 fields replaced", |b| {
        b.iter(|| rewrite(black_box(&table), &mut out).map(|_| out.len()))
    });
    g.bench_function("csv-core read_record (reference)", |b| {
        b.iter(|| csv_core_records(black_box(&table)))
    });
    g.finish();
}

/// The masks of the demo (`hash` of an e-mail, `partial` of an SSN) over 1M short values, one
/// value at a time as the table writers will call them; values/s.
fn masks(c: &mut Criterion) {
    const N: usize = 1_000_000;
    let emails: Vec<String> = (0..N).map(|i| format!("user{i}@example.com")).collect();
    let ssns: Vec<String> = (0..N)
        .map(|i| format!("{:03}-{:02}-{:04}", i % 1000, i % 100, i % 10_000))
        .collect();
    let keys = MaskKeys::new(b"bench secret: thirty-two bytes..").expect("a 32-byte secret");
    let hash = Mask::Hash {}.compile().expect("hash compiles");
    let partial = Mask::Partial {
        keep_first: 0,
        keep_last: 4,
        fill: '*',
    }
    .compile()
    .expect("partial compiles");
    // The bytes out, so that nothing is optimised away.
    let run = |mask: &s3gate_core::tables::mask::CompiledMask, values: &[String]| -> usize {
        values
            .iter()
            .map(|v| match mask.apply(&keys, Value::Str(v)) {
                Masked::Str(s) | Masked::Number(s) => s.len(),
                Masked::Null => 0,
            })
            .sum()
    };
    assert_eq!(run(&hash, &emails), N * 64);
    assert_eq!(run(&partial, &ssns), N * 11);
    let mut g = c.benchmark_group("masks");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("hash, 1M e-mails", |b| {
        b.iter(|| run(&hash, black_box(&emails)))
    });
    g.bench_function("partial keep_last 4, 1M SSNs", |b| {
        b.iter(|| run(&partial, black_box(&ssns)))
    });
    g.finish();
}

/// The JSON Lines reader over a 20 MB table of 10 fields (one a nested object) in 64 KiB
/// chunks, locating `email` and `address.city`: alone, and re-emitting every line with both
/// replaced; serde_json parsing each line into a `Value` (what a map-based reader would do) and
/// skipping it (`IgnoredAny`, the parser's floor) for reference. MB/s of JSON Lines in.
fn jsonl(c: &mut Criterion) {
    const CHUNK: usize = 64 * 1024;
    const PATHS: [&str; 2] = ["email", "address.city"];
    let table = jsonl_table(20_000_000);
    let read = |input: &[u8]| -> Result<(u64, usize), JsonlError> {
        let mut reader = jsonl::Reader::new(&PATHS, 1 << 20)?;
        let mut located = 0;
        let mut count = |r: &jsonl::Record<'_>| {
            located += r.located().len();
            Ok::<(), JsonlError>(())
        };
        for chunk in input.chunks(CHUNK) {
            reader.feed(chunk, &mut count)?;
        }
        reader.finish(&mut count)?;
        Ok((reader.records(), located))
    };
    let (records, located) = read(&table).expect("the table reads");
    assert_eq!(located as u64, records * 2, "both paths in every line");
    let mut out = Vec::with_capacity(table.len());
    let rewrite = |input: &[u8], out: &mut Vec<u8>| -> Result<(), JsonlError> {
        out.clear();
        let mut reader = jsonl::Reader::new(&PATHS, 1 << 20)?;
        let mut write = |r: &jsonl::Record<'_>| {
            jsonl::write_record(
                r,
                &[
                    (0, b"\"0123456789abcdef0123456789abcdef\""),
                    (1, b"null"),
                ],
                out,
            )
        };
        for chunk in input.chunks(CHUNK) {
            reader.feed(chunk, &mut write)?;
        }
        reader.finish(&mut write)
    };
    rewrite(&table, &mut out).expect("the table rewrites");
    assert!(out.len() > table.len() / 2);
    let lines = |input: &[u8], f: &mut dyn FnMut(&str) -> bool| -> u64 {
        let mut n = 0;
        for line in input.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let text = std::str::from_utf8(line).expect("UTF-8");
            assert!(f(text));
            n += 1;
        }
        n
    };
    assert_eq!(lines(&table, &mut |_| true), records);
    let mut g = c.benchmark_group("jsonl");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(table.len() as u64));
    g.bench_function("read 20 MB, 64 KiB chunks, 2 paths located", |b| {
        b.iter(|| read(black_box(&table)).map(|(records, _)| records))
    });
    g.bench_function("read + write, 2 of 10 fields replaced", |b| {
        b.iter(|| rewrite(black_box(&table), &mut out).map(|_| out.len()))
    });
    g.bench_function("serde_json Value per line (reference)", |b| {
        b.iter(|| {
            lines(black_box(&table), &mut |l| {
                serde_json::from_str::<serde_json::Value>(l).is_ok()
            })
        })
    });
    g.bench_function("serde_json IgnoredAny per line (reference)", |b| {
        b.iter(|| {
            lines(black_box(&table), &mut |l| {
                serde_json::from_str::<serde::de::IgnoredAny>(l).is_ok()
            })
        })
    });
    g.finish();
}

/// The whole table transform (reader, masks, row filter, writer, index) over the 20 MB CSV of
/// `csv` in 64 KiB chunks, with the demo's masks (`hash` of email, `partial` of ssn), with
/// `null` and `partial` only, and erin's (eu rows, ssn null, email hashed). MB/s of CSV in.
fn transform(c: &mut Criterion) {
    const CHUNK: usize = 64 * 1024;
    let table = csv_table(20_000_000);
    let keys = MaskKeys::new(&[7u8; 32]).expect("a 32-byte secret");
    let spec = |json: &str| -> TableSpec { serde_json::from_str(json).expect("the spec parses") };
    let specs = [
        (
            "hash + partial",
            spec(r#"{"format":{"kind":"csv"},"masks":[
                {"column":"email","mask":{"kind":"hash"}},
                {"column":"ssn","mask":{"kind":"partial","keep_first":0,"keep_last":4}}]}"#),
        ),
        (
            "null + partial",
            spec(r#"{"format":{"kind":"csv"},"masks":[
                {"column":"address","mask":{"kind":"null"}},
                {"column":"ssn","mask":{"kind":"partial","keep_first":0,"keep_last":4}}]}"#),
        ),
        (
            "erin: filter + null + hash",
            spec(r#"{"format":{"kind":"csv"},"masks":[
                {"column":"ssn","mask":{"kind":"null"}},
                {"column":"email","mask":{"kind":"hash"}}],
                "row_filters":[{"column":"region","op":"in","values":["eu"]}]}"#),
        ),
    ];
    let run = |spec: &TableSpec, input: &[u8], out: &mut Vec<u8>| -> Result<u64, TableError> {
        out.clear();
        let mut t = Transform::new(spec, &keys, 1 << 20, 1 << 20)?;
        for chunk in input.chunks(CHUNK) {
            t.feed(chunk, out)?;
        }
        Ok(t.finish(out)?.view_size)
    };
    let mut out = Vec::with_capacity(table.len() * 2);
    let mut g = c.benchmark_group("transform");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(table.len() as u64));
    for (name, spec) in &specs {
        let size = run(spec, &table, &mut out).expect("the table transforms");
        assert_eq!(size, out.len() as u64);
        g.bench_function(format!("20 MB CSV, {name}"), |b| {
            b.iter(|| run(spec, black_box(&table), &mut out))
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    request_parse,
    auth,
    sigv4,
    upstream_signing,
    decisions,
    listing,
    csv,
    masks,
    jsonl,
    transform
);
criterion_main!(benches);
