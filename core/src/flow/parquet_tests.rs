//! Masked Parquet views through `FakeHost`: the HEAD, the tail read (one, or two for a long
//! footer), the overlay cached, the view's headers and bytes whole and ranged, listings, and
//! objects without a masked view refused before any byte.

use super::fake::{FakeHost, Recorded};
use super::tests::{call_header, document, last_call, ok, signed, NOW};
use super::view_test_support::{
    element, env, header, respond, set_response_headers, Store, LAST_MODIFIED,
};
use super::*;
use crate::headers::HeaderMap;
use crate::policy::entitlements::DataSourceGrant;
use crate::tables::parquet::{self as pq, DEFAULT_MAX_FOOTER};
use crate::tables::spec::TableSpec;

const KEY: &str = "/s3p/immuta/orders/o.parquet";
const UPSTREAM_PATH: &str = "/real/orders/o.parquet";

const DICT: &[u8] = include_bytes!("../../tests/fixtures/parquet/pyarrow_snappy_dict.parquet");
const ENCRYPTED: &[u8] = include_bytes!("../../tests/fixtures/parquet/encrypted_footer.parquet");
const PLAINTEXT_ENCRYPTED: &[u8] =
    include_bytes!("../../tests/fixtures/parquet/encrypted_plaintext_footer.parquet");

fn gateway_with(extra: &str) -> Gateway {
    let config = format!(
        r#"{{{extra}"upstreams":{{"demo":{{"cluster":"s3","authority":"store:9000","sign":{{"region":"{}"}}}}}}}}"#,
        super::tests::REGION
    );
    match Gateway::configure(config.as_bytes(), &env, 7) {
        Ok(gateway) => gateway,
        Err(error) => panic!("{error}"),
    }
}

fn spec() -> TableSpec {
    let json = r#"{"format":{"kind":"parquet"},
        "masks":[{"column":"customer_email","mask":{"kind":"null"}},
                 {"column":"amount","mask":{"kind":"constant","value":"0"}}]}"#;
    match serde_json::from_str(json) {
        Ok(spec) => spec,
        Err(error) => panic!("{error}"),
    }
}

/// The view erin's masks make of `object`, as the codec alone makes it.
fn expected_view(object: &[u8]) -> Vec<u8> {
    let masks = [
        pq::ColumnMask {
            column: "customer_email".into(),
            mask: pq::Mask::Null,
        },
        pq::ColumnMask {
            column: "amount".into(),
            mask: pq::Mask::Constant("0".into()),
        },
    ];
    let overlay = pq::mask(object.len() as u64, object, &masks, DEFAULT_MAX_FOOTER)
        .unwrap_or_else(|e| panic!("{e}"));
    overlay.fill(0, object)
}

/// The store holding `object` as its version `"pq1"`.
fn store_of(object: &[u8]) -> Store {
    Store {
        content_type: Some("application/vnd.apache.parquet"),
        ..Store::new(object.to_vec(), "\"pq1\"")
    }
}

/// A gateway (`extra` configuration) with erin's decision cached, and its host.
fn warmed(extra: &str) -> (Gateway, FakeHost) {
    let mut gateway = gateway_with(extra);
    let mut host = FakeHost::new(NOW);
    let orders = DataSourceGrant {
        name: "orders".into(),
        upstream: "demo".into(),
        bucket: "real".into(),
        prefix: "orders/".into(),
        table: Some(spec()),
        ..DataSourceGrant::default()
    };
    let headers = signed("GET", "/s3p/immuta/", NOW, &[]);
    gateway.on_request_headers(&mut host, 1, headers);
    let (token, _) = last_call(&host);
    let doc = document("erin", vec![orders], NOW);
    gateway.on_call_answer(&mut host, Caller::Stream(1), token, ok(doc));
    gateway.on_stream_done(&mut host, 1);
    host.commands.clear();
    (gateway, host)
}

/// Runs a request up to the point it goes upstream (or is answered): its HEAD and every tail
/// read answered by `store`. The ranges of the tail reads.
fn request(
    gateway: &mut Gateway,
    host: &mut FakeHost,
    stream: StreamId,
    headers: HeaderMap,
    store: &Store,
) -> Vec<String> {
    let calls = host.calls.len();
    gateway.on_request_headers(host, stream, headers);
    let (token, head) = last_call(host);
    assert_eq!(host.calls.len(), calls + 1, "one HEAD");
    assert_eq!(call_header(&head, ":method"), Some("HEAD"));
    assert_eq!(call_header(&head, ":path"), Some(UPSTREAM_PATH));
    gateway.on_call_answer(host, Caller::Stream(stream), token, store.head());
    let mut reads = Vec::new();
    while host.calls.len() > calls + 1 + reads.len() {
        let (token, call) = last_call(host);
        assert_eq!(call_header(&call, ":method"), Some("GET"));
        assert_eq!(call_header(&call, ":path"), Some(UPSTREAM_PATH));
        reads.push(call_header(&call, "range").unwrap_or_default().to_string());
        let answer = store.read(&call);
        gateway.on_call_answer(host, Caller::Stream(stream), token, answer);
    }
    reads
}

/// A local answer: status, headers, body.
type Local = (u32, Vec<(String, String)>, Vec<u8>);

/// The local answer to `stream`.
fn local(host: &FakeHost, stream: StreamId) -> Option<Local> {
    host.commands_for(stream).into_iter().find_map(|c| match c {
        Recorded::Respond {
            status,
            headers,
            body,
        } => Some((status, headers, body.unwrap_or_default())),
        _ => None,
    })
}

/// The upstream's answer to a forwarded HEAD; the response headers the client gets.
fn respond_head(
    gateway: &mut Gateway,
    host: &mut FakeHost,
    stream: StreamId,
    store: &Store,
) -> Vec<(String, Option<String>)> {
    assert!(host.resumed(stream), "a HEAD goes upstream");
    assert_eq!(host.request_header(stream, "range").flatten(), None);
    let length = store.object.len().to_string();
    let mut upstream = HeaderMap::from_pairs(&[
        (":status", "200"),
        ("etag", store.etag),
        ("last-modified", LAST_MODIFIED),
        ("content-length", &length),
        ("content-type", "application/vnd.apache.parquet"),
        ("x-amz-checksum-crc32", "abc="),
    ]);
    let before = host.commands.len();
    let action =
        gateway.on_response_headers(host, stream, &mut || std::mem::take(&mut upstream), true);
    assert_eq!(action, Action::Continue);
    set_response_headers(host, stream, before)
}

/// The view's ETag, from a HEAD (stream `stream`).
fn head_etag(
    gateway: &mut Gateway,
    host: &mut FakeHost,
    stream: StreamId,
    store: &Store,
) -> String {
    request(gateway, host, stream, signed("HEAD", KEY, NOW, &[]), store);
    let headers = respond_head(gateway, host, stream, store);
    gateway.on_stream_done(host, stream);
    header(&headers, "etag").unwrap_or_default().to_string()
}

fn local_header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn a_head_has_the_upstream_size_and_the_views_etag() {
    let (mut gateway, mut host) = warmed("");
    let store = store_of(DICT);
    let size = DICT.len();
    let reads = request(
        &mut gateway,
        &mut host,
        2,
        signed("HEAD", KEY, NOW, &[("range", "bytes=0-99")]),
        &store,
    );
    // The object is smaller than 64 KiB: one read of all of it, from its end.
    assert_eq!(reads, vec![format!("bytes=0-{}", size - 1)]);
    assert_eq!(
        host.request_header(2, "if-match"),
        Some(Some(store.etag.into()))
    );
    let headers = respond_head(&mut gateway, &mut host, 2, &store);
    assert_eq!(header(&headers, ":status"), Some("206"));
    assert_eq!(header(&headers, "content-length"), Some("100"));
    let content_range = format!("bytes 0-99/{size}");
    assert_eq!(
        header(&headers, "content-range"),
        Some(content_range.as_str())
    );
    let etag = header(&headers, "etag").unwrap_or_default().to_string();
    assert!(etag.ends_with("-m\"") && etag != store.etag, "{etag}");
    assert!(headers
        .iter()
        .any(|(n, v)| n == "x-amz-checksum-crc32" && v.is_none()));
    gateway.on_stream_done(&mut host, 2);
    // Warm: the HEAD alone, no tail read; the whole view's size.
    let reads = request(
        &mut gateway,
        &mut host,
        3,
        signed("HEAD", KEY, NOW, &[]),
        &store,
    );
    assert!(reads.is_empty(), "the overlay is cached: {reads:?}");
    let again = respond_head(&mut gateway, &mut host, 3, &store);
    assert_eq!(header(&again, ":status"), Some("200"));
    let size_text = size.to_string();
    assert_eq!(header(&again, "content-length"), Some(size_text.as_str()));
    assert_eq!(header(&again, "etag"), Some(etag.as_str()));
}

#[test]
fn a_get_overlays_each_chunk_in_place_and_is_the_masked_view() {
    let (mut gateway, mut host) = warmed("");
    let store = store_of(DICT);
    let whole = expected_view(DICT);
    assert_ne!(whole, DICT, "the masks change the object");
    let reads = request(
        &mut gateway,
        &mut host,
        2,
        signed("GET", KEY, NOW, &[]),
        &store,
    );
    assert_eq!(reads.len(), 1);
    assert!(host.resumed(2));
    assert_eq!(host.request_header(2, "range"), None, "the whole object");
    assert_eq!(
        host.request_header(2, "if-match"),
        Some(Some(store.etag.into()))
    );
    let (view, headers) = respond(&mut gateway, &mut host, 2, &store, 1_000, true);
    assert_eq!(view, whole);
    assert_eq!(header(&headers, ":status"), Some("200"));
    let size = DICT.len().to_string();
    assert_eq!(header(&headers, "content-length"), Some(size.as_str()));
    let etag = header(&headers, "etag").unwrap_or_default();
    assert!(etag.ends_with("-m\""), "{etag}");
    for name in ["x-amz-checksum-crc32", "content-md5"] {
        assert!(
            headers.iter().any(|(n, v)| n == name && v.is_none()),
            "{name} removed: {headers:?}"
        );
    }
    // No clear email anywhere in the view.
    let clear = b"customer0001.secret@example.org";
    assert!(DICT.windows(clear.len()).any(|w| w == clear));
    assert!(!view.windows(clear.len()).any(|w| w == clear));
}

#[test]
fn any_chunking_of_a_get_is_the_masked_view() {
    // Small chunks fall inside zero spans, between spans and across span edges: each way of
    // passing a chunk on (untouched, zeros unread, overlaid) must give the view's bytes.
    let store = store_of(DICT);
    let whole = expected_view(DICT);
    for chunk in [1, 3, 17, 256, 4096] {
        let (mut gateway, mut host) = warmed("");
        request(
            &mut gateway,
            &mut host,
            2,
            signed("GET", KEY, NOW, &[]),
            &store,
        );
        let (view, _) = respond(&mut gateway, &mut host, 2, &store, chunk, true);
        assert!(view == whole, "chunks of {chunk} bytes");
    }
}

#[test]
fn every_range_is_the_slice_of_the_whole_view_and_reads_only_itself() {
    let (mut gateway, mut host) = warmed("");
    let store = store_of(DICT);
    let whole = expected_view(DICT);
    let size = whole.len();
    request(
        &mut gateway,
        &mut host,
        2,
        signed("HEAD", KEY, NOW, &[]),
        &store,
    );
    gateway.on_stream_done(&mut host, 2);
    let mut stream = 3;
    let footer = size - 8 - 7232;
    for (first, last) in [
        (0, 3),
        (4, 10_000),
        (100, 20_000),
        (5_000, 5_000),
        (footer - 10, size - 1),
        (0, size - 1),
    ] {
        let range = format!("bytes={first}-{last}");
        let headers = signed("GET", KEY, NOW, &[("range", &range)]);
        let reads = request(&mut gateway, &mut host, stream, headers, &store);
        assert!(reads.is_empty(), "the overlay is cached");
        assert_eq!(
            host.request_header(stream, "range"),
            Some(Some(range.clone()))
        );
        let (view, headers) = respond(&mut gateway, &mut host, stream, &store, 777, true);
        assert_eq!(view, whole[first..=last], "{range}");
        assert_eq!(header(&headers, ":status"), Some("206"));
        let content_range = format!("bytes {first}-{last}/{size}");
        assert_eq!(
            header(&headers, "content-range"),
            Some(content_range.as_str())
        );
        let length = (last - first + 1).to_string();
        assert_eq!(header(&headers, "content-length"), Some(length.as_str()));
        gateway.on_stream_done(&mut host, stream);
        stream += 1;
    }
    // The footer and its trailer come from the overlay: answered here, no upstream read.
    for range in ["bytes=-8".to_string(), format!("bytes={footer}-")] {
        let headers = signed("GET", KEY, NOW, &[("range", &range)]);
        request(&mut gateway, &mut host, stream, headers, &store);
        assert!(!host.resumed(stream), "{range}");
        let (status, headers, body) = local(&host, stream).unwrap_or_default();
        assert_eq!(status, 206);
        let first = if range == "bytes=-8" {
            size - 8
        } else {
            footer
        };
        assert_eq!(body, whole[first..], "{range}");
        let content_range = format!("bytes {first}-{}/{size}", size - 1);
        assert_eq!(
            local_header(&headers, "content-range"),
            Some(content_range.as_str())
        );
        gateway.on_stream_done(&mut host, stream);
        stream += 1;
    }
    let past = format!("bytes={size}-");
    let headers = signed("GET", KEY, NOW, &[("range", &past)]);
    request(&mut gateway, &mut host, stream, headers, &store);
    assert_eq!(host.local_answer(stream), Some(416));
}

#[test]
fn conditions_are_answered_against_the_views_etag() {
    let (mut gateway, mut host) = warmed("");
    let store = store_of(DICT);
    let etag = head_etag(&mut gateway, &mut host, 2, &store);
    let headers = signed("GET", KEY, NOW, &[("if-none-match", &etag)]);
    request(&mut gateway, &mut host, 3, headers, &store);
    assert_eq!(host.local_answer(3), Some(304));
    let headers = signed("GET", KEY, NOW, &[("if-match", store.etag)]);
    request(&mut gateway, &mut host, 4, headers, &store);
    assert_eq!(
        host.local_answer(4),
        Some(412),
        "the upstream's ETag is not the view's"
    );
    // If-Range with another ETag: the whole view.
    let headers = signed(
        "GET",
        KEY,
        NOW,
        &[("range", "bytes=0-99"), ("if-range", store.etag)],
    );
    request(&mut gateway, &mut host, 5, headers, &store);
    assert_eq!(host.request_header(5, "range"), Some(None), "removed");
    let (view, headers) = respond(&mut gateway, &mut host, 5, &store, 4_096, true);
    assert_eq!(view, expected_view(DICT));
    assert_eq!(header(&headers, ":status"), Some("200"));
}

#[test]
fn a_long_footer_costs_a_second_read_of_exactly_its_length() {
    let (mut gateway, mut host) = warmed(r#""parquet_tail_read_bytes":1024,"#);
    let store = store_of(DICT);
    let size = DICT.len();
    let reads = request(
        &mut gateway,
        &mut host,
        2,
        signed("GET", KEY, NOW, &[]),
        &store,
    );
    let footer = 7232 + 8;
    assert_eq!(
        reads,
        vec![
            format!("bytes={}-{}", size - 1024, size - 1),
            format!("bytes={}-{}", size - footer, size - 1),
        ]
    );
    let (view, _) = respond(&mut gateway, &mut host, 2, &store, 5_000, true);
    assert_eq!(view, expected_view(DICT));
}

/// The body of the local answer to `stream`, as text.
fn local_body(host: &FakeHost, stream: StreamId) -> String {
    let (_, _, body) = local(host, stream).unwrap_or_default();
    String::from_utf8_lossy(&body).into_owned()
}

#[test]
fn encrypted_and_corrupt_objects_are_refused_before_any_byte_and_not_read_again() {
    let mut corrupt = DICT.to_vec();
    let at = corrupt.len() - 8 - 7000;
    corrupt[at..at + 64].fill(0xff);
    let cases: [(&[u8], &str); 5] = [
        (ENCRYPTED, "encrypted"),
        (PLAINTEXT_ENCRYPTED, "encrypted"),
        (&corrupt, "not a valid Parquet file"),
        (
            b"order_id,customer_email\n1,a@example.org\n",
            "not a valid Parquet file",
        ),
        (b"", "not a valid Parquet file"),
    ];
    for (object, says) in cases {
        let (mut gateway, mut host) = warmed("");
        let store = store_of(object);
        request(
            &mut gateway,
            &mut host,
            2,
            signed("GET", KEY, NOW, &[]),
            &store,
        );
        assert_eq!(host.local_answer(2), Some(403), "{says}");
        assert!(!host.resumed(2));
        let body = local_body(&host, 2);
        assert!(body.contains("<Code>InvalidObjectState</Code>"), "{body}");
        assert!(body.contains(says), "{body}");
        assert!(!body.contains("@example"), "{body}");
        gateway.on_stream_done(&mut host, 2);
        let reads = request(
            &mut gateway,
            &mut host,
            3,
            signed("HEAD", KEY, NOW, &[]),
            &store,
        );
        assert!(reads.is_empty(), "remembered: {says}");
        assert_eq!(host.local_answer(3), Some(403));
    }
}

#[test]
fn a_footer_over_the_maximum_is_refused() {
    let (mut gateway, mut host) = warmed(r#""parquet_max_footer_bytes":4096,"#);
    let store = store_of(DICT);
    request(
        &mut gateway,
        &mut host,
        2,
        signed("GET", KEY, NOW, &[]),
        &store,
    );
    assert_eq!(host.local_answer(2), Some(403));
    let body = local_body(&host, 2);
    assert!(body.contains("over the gateway&apos;s maximum"), "{body}");
}

#[test]
fn an_object_that_changed_since_its_head_is_refused_not_mixed() {
    let (mut gateway, mut host) = warmed("");
    let store = store_of(DICT);
    request(
        &mut gateway,
        &mut host,
        2,
        signed("HEAD", KEY, NOW, &[]),
        &store,
    );
    gateway.on_stream_done(&mut host, 2);
    request(
        &mut gateway,
        &mut host,
        3,
        signed("GET", KEY, NOW, &[]),
        &store,
    );
    let changed = Store::new(DICT.to_vec(), "\"pq2\"");
    let (view, _) = respond(&mut gateway, &mut host, 3, &changed, 1_000, true);
    assert!(view.is_empty());
    assert_eq!(host.local_answer(3), Some(503));
    // And a tail read that finds another version (412) is no view either.
    let (mut gateway, mut host) = warmed("");
    gateway.on_request_headers(&mut host, 2, signed("GET", KEY, NOW, &[]));
    let (token, _) = last_call(&host);
    gateway.on_call_answer(&mut host, Caller::Stream(2), token, store.head());
    let (token, read) = last_call(&host);
    assert_eq!(call_header(&read, "if-match"), Some(store.etag));
    gateway.on_call_answer(&mut host, Caller::Stream(2), token, changed.read(&read));
    assert_eq!(host.local_answer(2), Some(503));
}

/// Erin lists `orders/`, the upstream listing `o.parquet` with `etag` (empty: none). The page
/// and the calls it made after the listing.
fn list_orders(
    gateway: &mut Gateway,
    host: &mut FakeHost,
    stream: StreamId,
    store: &Store,
    etag: &str,
) -> (String, Vec<Call>) {
    let list = "/s3p/immuta?list-type=2&prefix=orders%2F";
    gateway.on_request_headers(host, stream, signed("GET", list, NOW, &[]));
    let (token, _) = last_call(host);
    let xml = format!(
        "<?xml version=\"1.0\"?><ListBucketResult><Name>real</Name><IsTruncated>false</IsTruncated>\
         <Contents><Key>orders/o.parquet</Key><LastModified>2026-09-15T10:00:00.000Z</LastModified>\
         <ETag>{etag}</ETag><Size>{}</Size><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>",
        store.object.len()
    );
    let calls = host.calls.len();
    gateway.on_call_answer(host, Caller::Stream(stream), token, ok(xml.into_bytes()));
    let mut made = Vec::new();
    while host.calls.len() > calls + made.len() {
        let (token, call) = last_call(host);
        made.push(call.clone());
        let answer = match call_header(&call, ":method") {
            Some("HEAD") => store.head(),
            _ => store.read(&call),
        };
        gateway.on_call_answer(host, Caller::Stream(stream), token, answer);
    }
    let body = local_body(host, stream);
    gateway.on_stream_done(host, stream);
    (body, made)
}

#[test]
fn a_listing_gives_the_upstream_size_and_the_views_etag_without_reading() {
    let (mut gateway, mut host) = warmed("");
    let store = store_of(DICT);
    let (page, made) = list_orders(&mut gateway, &mut host, 2, &store, "&quot;pq1&quot;");
    assert!(made.is_empty(), "no read for a listing: {made:?}");
    assert_eq!(element(&page, "Size"), DICT.len().to_string());
    let listed_etag = element(&page, "ETag").replace("&quot;", "\"");
    assert_eq!(head_etag(&mut gateway, &mut host, 3, &store), listed_etag);
    // Listed without an ETag (s3s-fs): its HEAD names the version, nothing is read.
    let (page, made) = list_orders(&mut gateway, &mut host, 4, &store, "");
    assert_eq!(made.len(), 1);
    assert_eq!(call_header(&made[0], ":method"), Some("HEAD"));
    assert_eq!(element(&page, "Size"), DICT.len().to_string());
    assert_eq!(element(&page, "ETag").replace("&quot;", "\""), listed_etag);
}
