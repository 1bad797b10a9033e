//! Masked views through `FakeHost`: the HEAD, the pass, the view's headers and body, ranges
//! and conditions answered against the view, and failing closed.

use super::fake::{FakeHost, Recorded};
use super::tests::{call_header, document, last_call, ok, signed, NOW, REGION};
use super::view_test_support::{element, env, header, parse_range, respond, Store, LAST_MODIFIED};
use super::*;
use crate::headers::HeaderMap;
use crate::policy::entitlements::DataSourceGrant;
use crate::tables::spec::TableSpec;

const KEY: &str = "/s3p/immuta/customers/c.csv";

fn table_gateway(env: &dyn Fn(&str) -> Option<String>) -> Gateway {
    let config = format!(
        r#"{{"index_read_bytes":65536,"checkpoint_spacing":4096,"upstreams":{{"demo":{{"cluster":"s3","authority":"store:9000","sign":{{"region":"{REGION}"}}}}}}}}"#
    );
    match Gateway::configure(config.as_bytes(), env, 7) {
        Ok(gateway) => gateway,
        Err(error) => panic!("{error}"),
    }
}

fn spec() -> TableSpec {
    let json = r#"{"format":{"kind":"csv"},
        "masks":[{"column":"email","mask":{"kind":"hash"}}],
        "row_filters":[{"column":"region","op":"in","values":["eu"]}]}"#;
    match serde_json::from_str(json) {
        Ok(spec) => spec,
        Err(error) => panic!("{error}"),
    }
}

fn erin_document(now: u64) -> Vec<u8> {
    let customers = DataSourceGrant {
        name: "customers".into(),
        upstream: "demo".into(),
        bucket: "real".into(),
        prefix: "customers/".into(),
        table: Some(spec()),
        ..DataSourceGrant::default()
    };
    document("erin", vec![customers], now)
}

/// A CSV of `rows` customers, every other one in the eu.
fn table(rows: usize) -> Vec<u8> {
    let mut out = b"id,email,region\n".to_vec();
    for i in 0..rows {
        let region = if i % 2 == 0 { "eu" } else { "us" };
        out.extend_from_slice(format!("{i},person{i}@example.com,{region}\n").as_bytes());
    }
    out
}

/// What erin's view of `table` is: eu rows, emails hashed (checked by shape, not recomputed).
fn assert_is_view_of(view: &[u8], rows: usize) {
    let text = String::from_utf8_lossy(view);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("id,email,region"));
    let kept: Vec<&str> = lines.collect();
    assert_eq!(kept.len(), rows.div_ceil(2));
    for line in kept {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), 3, "{line}");
        assert_eq!(fields[2], "eu", "{line}");
        assert_eq!(fields[1].len(), 64, "{line}");
        assert!(!line.contains('@'), "a clear email in {line}");
    }
}

/// The store holding `table(rows)` as its version `"up1"`.
fn customers(rows: usize) -> Store {
    Store::new(table(rows), "\"up1\"")
}

fn warmed() -> (Gateway, FakeHost) {
    let mut gateway = table_gateway(&env);
    let mut host = FakeHost::new(NOW);
    let headers = signed("GET", "/s3p/immuta/", NOW, &[]);
    gateway.on_request_headers(&mut host, 1, headers);
    let (token, _) = last_call(&host);
    gateway.on_call_answer(&mut host, Caller::Stream(1), token, ok(erin_document(NOW)));
    gateway.on_stream_done(&mut host, 1);
    host.commands.clear();
    (gateway, host)
}

/// Runs a request for the view up to the point it goes upstream (or is answered): its HEAD and
/// every read of the pass answered by `store`. The number of pass reads.
fn request_view(
    gateway: &mut Gateway,
    host: &mut FakeHost,
    stream: StreamId,
    headers: HeaderMap,
    store: &Store,
) -> usize {
    let calls = host.calls.len();
    gateway.on_request_headers(host, stream, headers);
    let (token, head) = last_call(host);
    assert_eq!(host.calls.len(), calls + 1, "one HEAD");
    assert_eq!(call_header(&head, ":method"), Some("HEAD"));
    assert_eq!(call_header(&head, ":path"), Some("/real/customers/c.csv"));
    gateway.on_call_answer(host, Caller::Stream(stream), token, store.head());
    let mut reads = 0;
    loop {
        let (token, call) = last_call(host);
        if call_header(&call, ":method") != Some("GET") || host.calls.len() == calls + 1 + reads {
            return reads;
        }
        reads += 1;
        let answer = store.read(&call);
        gateway.on_call_answer(host, Caller::Stream(stream), token, answer);
    }
}

#[test]
fn a_cold_get_measures_the_view_then_serves_it_with_its_own_size_and_etag() {
    let (mut gateway, mut host) = warmed();
    let store = customers(6000);
    assert!(store.object.len() > 2 * 65536, "several reads");
    let reads = request_view(
        &mut gateway,
        &mut host,
        2,
        signed("GET", KEY, NOW, &[]),
        &store,
    );
    assert_eq!(reads, store.object.len().div_ceil(65536));
    assert!(host.resumed(2));
    assert_eq!(
        host.request_header(2, "if-match"),
        Some(Some("\"up1\"".into()))
    );
    assert_eq!(host.request_header(2, "range"), None, "the whole object");
    let (view, headers) = respond(&mut gateway, &mut host, 2, &store, 10_000, false);
    assert_is_view_of(&view, 6000);
    // The audit record names the masks and the condition rows were kept by.
    assert_eq!(
        host.property(2, "s3gate_masks").as_deref(),
        Some("email:hash")
    );
    assert_eq!(
        host.property(2, "s3gate_row_filters").as_deref(),
        Some("region:in:eu")
    );
    assert_eq!(
        header(&headers, "content-length"),
        Some(view.len().to_string().as_str())
    );
    let etag = header(&headers, "etag").unwrap_or_default();
    assert!(etag.ends_with("-m\"") && etag != "\"up1\"", "{etag}");
    for name in ["x-amz-checksum-sha256", "content-md5"] {
        assert!(
            headers.iter().any(|(n, v)| n == name && v.is_none()),
            "{name} removed: {headers:?}"
        );
    }
}

#[test]
fn a_warm_range_reads_only_its_window_and_is_the_slice_of_the_whole_view() {
    let (mut gateway, mut host) = warmed();
    let store = customers(6000);
    request_view(
        &mut gateway,
        &mut host,
        2,
        signed("GET", KEY, NOW, &[]),
        &store,
    );
    let (whole, _) = respond(&mut gateway, &mut host, 2, &store, 7_000, false);
    gateway.on_stream_done(&mut host, 2);
    let size = whole.len();
    let mut stream = 3;
    for (first, last) in [(0, 9), (100, 20_000), (size - 50, size - 1), (5_000, 5_000)] {
        let range = format!("bytes={first}-{last}");
        let headers = signed("GET", KEY, NOW, &[("range", &range)]);
        let reads = request_view(&mut gateway, &mut host, stream, headers, &store);
        assert_eq!(reads, 0, "the index is cached");
        let asked = host.request_header(stream, "range").flatten();
        let (view, headers) = respond(&mut gateway, &mut host, stream, &store, 3_000, false);
        assert_eq!(view, whole[first..=last], "{range} (upstream {asked:?})");
        let content_range = format!("bytes {first}-{last}/{size}");
        assert_eq!(
            header(&headers, "content-range"),
            Some(content_range.as_str())
        );
        assert_eq!(header(&headers, ":status"), Some("206"));
        if let Some(asked) = asked {
            let (a, b) = parse_range(&asked);
            assert!(
                b - a < 3 * 4096 + (last - first) as u64 * 3,
                "{asked} for {range}"
            );
        }
        gateway.on_stream_done(&mut host, stream);
        stream += 1;
    }
    // A suffix range, and one past the end.
    let headers = signed("GET", KEY, NOW, &[("range", "bytes=-100")]);
    request_view(&mut gateway, &mut host, stream, headers, &store);
    let (view, _) = respond(&mut gateway, &mut host, stream, &store, 3_000, false);
    assert_eq!(view, whole[size - 100..]);
    let past = format!("bytes={size}-");
    let headers = signed("GET", KEY, NOW, &[("range", &past)]);
    request_view(&mut gateway, &mut host, stream + 1, headers, &store);
    assert_eq!(host.local_answer(stream + 1), Some(416));
}

#[test]
fn conditions_are_answered_against_the_views_etag() {
    let (mut gateway, mut host) = warmed();
    let store = customers(10);
    request_view(
        &mut gateway,
        &mut host,
        2,
        signed("HEAD", KEY, NOW, &[]),
        &store,
    );
    let (_, headers) = respond(&mut gateway, &mut host, 2, &store, 100, false);
    let etag = header(&headers, "etag").unwrap_or_default().to_string();
    let headers = signed("GET", KEY, NOW, &[("if-none-match", &etag)]);
    request_view(&mut gateway, &mut host, 3, headers, &store);
    assert_eq!(host.local_answer(3), Some(304));
    assert!(!host.resumed(3));
    let headers = signed("GET", KEY, NOW, &[("if-match", "\"up1\"")]);
    request_view(&mut gateway, &mut host, 4, headers, &store);
    assert_eq!(
        host.local_answer(4),
        Some(412),
        "the upstream's ETag is not the view's"
    );
}

#[test]
fn an_object_that_does_not_parse_is_refused_before_any_byte() {
    let (mut gateway, mut host) = warmed();
    let store = Store::new(
        b"id,email,region\n1,\"unterminated@example.com,eu\n".to_vec(),
        "\"bad\"",
    );
    request_view(
        &mut gateway,
        &mut host,
        2,
        signed("GET", KEY, NOW, &[]),
        &store,
    );
    assert_eq!(host.local_answer(2), Some(403));
    assert!(!host.resumed(2));
    let body = host.commands.iter().find_map(|(_, c)| match c {
        Recorded::Respond { body, .. } => body.clone(),
        _ => None,
    });
    let body = String::from_utf8(body.unwrap_or_default()).unwrap_or_default();
    assert!(body.contains("<Code>InvalidObjectState</Code>"), "{body}");
    assert!(!body.contains("unterminated@"), "{body}");
}

#[test]
fn an_object_that_changes_under_the_view_resets_the_response() {
    let (mut gateway, mut host) = warmed();
    let store = customers(100);
    request_view(
        &mut gateway,
        &mut host,
        2,
        signed("GET", KEY, NOW, &[]),
        &store,
    );
    // Same validators, other bytes (a store that lies): the transform finds them unparsable.
    let changed = Store::new(
        b"id,email,region\n1,\"x@example.com,eu\n".to_vec(),
        "\"up1\"",
    );
    let (view, _) = respond(&mut gateway, &mut host, 2, &changed, 10, false);
    assert!(host.commands_for(2).contains(&Recorded::ResetResponse));
    assert!(!String::from_utf8_lossy(&view).contains("x@example.com"));
}

#[test]
fn without_a_mask_secret_masked_tables_are_refused() {
    let no_secret = |var: &str| {
        if var == "S3GATE_MASK_SECRET" {
            None
        } else {
            env(var)
        }
    };
    let mut gateway = table_gateway(&no_secret);
    let mut host = FakeHost::new(NOW);
    gateway.on_request_headers(&mut host, 1, signed("GET", KEY, NOW, &[]));
    let (token, _) = last_call(&host);
    gateway.on_call_answer(&mut host, Caller::Stream(1), token, ok(erin_document(NOW)));
    assert_eq!(host.local_answer(1), Some(503));
    assert!(!host.resumed(1));
}

/// The upstream's listing of `store` as `customers/c.csv`, dated as its HEAD is.
fn listing_of(store: &Store) -> CallAnswer {
    listing_with_etag(store, &store.etag.replace('"', "&quot;"))
}

fn listing_with_etag(store: &Store, etag: &str) -> CallAnswer {
    let xml = format!(
        "<?xml version=\"1.0\"?><ListBucketResult><Name>real</Name><IsTruncated>false</IsTruncated>\
         <Contents><Key>customers/c.csv</Key><LastModified>2026-09-15T10:00:00.000Z</LastModified>\
         <ETag>{etag}</ETag><Size>{}</Size><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>",
        store.object.len()
    );
    ok(xml.into_bytes())
}

/// Erin lists `customers/`; every pass read answered by `store`. The page and the reads.
fn list_customers(
    gateway: &mut Gateway,
    host: &mut FakeHost,
    stream: StreamId,
    store: &Store,
) -> (String, usize) {
    let list = "/s3p/immuta?list-type=2&prefix=customers%2F";
    gateway.on_request_headers(host, stream, signed("GET", list, NOW, &[]));
    let (token, page) = last_call(host);
    assert!(call_header(&page, ":path").is_some_and(|p| p.starts_with("/real?list-type=2")));
    let calls = host.calls.len();
    gateway.on_call_answer(host, Caller::Stream(stream), token, listing_of(store));
    let mut reads = 0;
    while host.calls.len() > calls + reads {
        let (token, call) = last_call(host);
        assert_eq!(call_header(&call, ":path"), Some("/real/customers/c.csv"));
        reads += 1;
        let answer = store.read(&call);
        gateway.on_call_answer(host, Caller::Stream(stream), token, answer);
    }
    let body = host.commands_for(stream).into_iter().find_map(|c| match c {
        Recorded::Respond {
            status: 200,
            body: Some(body),
            ..
        } => Some(String::from_utf8_lossy(&body).into_owned()),
        _ => None,
    });
    gateway.on_stream_done(host, stream);
    (body.unwrap_or_default(), reads)
}

#[test]
fn a_listing_gives_the_views_size_and_etag_and_its_pass_serves_the_head_after_it() {
    let (mut gateway, mut host) = warmed();
    let store = customers(3000);
    let (page, reads) = list_customers(&mut gateway, &mut host, 2, &store);
    assert_eq!(reads, store.object.len().div_ceil(65536), "one cold pass");
    assert!(page.contains("<Key>customers/c.csv</Key>"), "{page}");
    let listed_size = element(&page, "Size").to_string();
    let listed_etag = element(&page, "ETag").replace("&quot;", "\"");
    assert_ne!(listed_size, store.object.len().to_string());
    // The same view, found by the HEAD of the object: no pass, the same size and ETag.
    let reads = request_view(
        &mut gateway,
        &mut host,
        3,
        signed("GET", KEY, NOW, &[]),
        &store,
    );
    assert_eq!(
        reads, 0,
        "the listing's pass measured the view the GET needs"
    );
    let (view, headers) = respond(&mut gateway, &mut host, 3, &store, 9_000, false);
    gateway.on_stream_done(&mut host, 3);
    assert_is_view_of(&view, 3000);
    assert_eq!(listed_size, view.len().to_string());
    assert_eq!(header(&headers, "etag"), Some(listed_etag.as_str()));
    // Warm: a listing reads nothing more.
    let (again, reads) = list_customers(&mut gateway, &mut host, 4, &store);
    assert_eq!(reads, 0);
    assert_eq!(element(&again, "Size"), listed_size);
}

#[test]
fn a_listed_object_that_does_not_parse_is_listed_empty_and_not_read_again() {
    let (mut gateway, mut host) = warmed();
    let mut store = customers(10);
    store.object.extend_from_slice(b"11,\"unclosed,eu\n");
    let (page, reads) = list_customers(&mut gateway, &mut host, 2, &store);
    assert_eq!(reads, 1);
    assert!(page.contains("<Key>customers/c.csv</Key>"), "{page}");
    assert_eq!(element(&page, "Size"), "0");
    assert!(!page.contains("example.com"));
    let (_, reads) = list_customers(&mut gateway, &mut host, 3, &store);
    assert_eq!(reads, 0, "known unreadable");
    // Its GET is still refused, with no byte of it.
    gateway.on_request_headers(&mut host, 4, signed("GET", KEY, NOW, &[]));
    let (token, _) = last_call(&host);
    gateway.on_call_answer(&mut host, Caller::Stream(4), token, store.head());
    let (token, call) = last_call(&host);
    let answer = store.read(&call);
    gateway.on_call_answer(&mut host, Caller::Stream(4), token, answer);
    assert_eq!(host.local_answer(4), Some(403));
}

#[test]
fn a_listing_without_the_mask_secret_is_refused() {
    let mut gateway = table_gateway(&|var| match var {
        "S3GATE_MASK_SECRET" => None,
        other => env(other),
    });
    let mut host = FakeHost::new(NOW);
    let list = "/s3p/immuta?list-type=2&prefix=customers%2F";
    gateway.on_request_headers(&mut host, 1, signed("GET", list, NOW, &[]));
    let (token, _) = last_call(&host);
    gateway.on_call_answer(&mut host, Caller::Stream(1), token, ok(erin_document(NOW)));
    let (token, _) = last_call(&host);
    gateway.on_call_answer(
        &mut host,
        Caller::Stream(1),
        token,
        listing_of(&customers(5)),
    );
    assert_eq!(host.local_answer(1), Some(503));
}

/// Answers stream `stream`'s pass reads from `store`, from the read `call` (token `token`)
/// on, until it asks no more; the number of reads.
fn finish_pass(
    gateway: &mut Gateway,
    host: &mut FakeHost,
    stream: StreamId,
    store: &Store,
    (mut token, mut call): (u32, Call),
) -> usize {
    let mut reads = 0;
    loop {
        assert_eq!(call.stream, Some(stream));
        assert_eq!(call_header(&call, ":method"), Some("GET"));
        reads += 1;
        let calls = host.calls.len();
        gateway.on_call_answer(host, Caller::Stream(stream), token, store.read(&call));
        if host.calls.len() == calls {
            return reads;
        }
        (token, call) = last_call(host);
        if call.stream != Some(stream) || call_header(&call, ":method") != Some("GET") {
            return reads;
        }
    }
}

/// Starts a GET of the view on `stream` and answers its HEAD: a pass read, if it makes one.
fn head_answered(
    gateway: &mut Gateway,
    host: &mut FakeHost,
    stream: StreamId,
    store: &Store,
) -> Option<(u32, Call)> {
    gateway.on_request_headers(host, stream, signed("GET", KEY, NOW, &[]));
    let (token, head) = last_call(host);
    assert_eq!(call_header(&head, ":method"), Some("HEAD"));
    let calls = host.calls.len();
    gateway.on_call_answer(host, Caller::Stream(stream), token, store.head());
    (host.calls.len() > calls).then(|| last_call(host))
}

#[test]
fn concurrent_cold_requests_of_one_view_make_one_pass() {
    let (mut gateway, mut host) = warmed();
    let store = customers(6000);
    let first = head_answered(&mut gateway, &mut host, 2, &store).expect("a pass read");
    for stream in [3, 4] {
        assert!(
            head_answered(&mut gateway, &mut host, stream, &store).is_none(),
            "stream {stream} waits for the pass under way"
        );
        assert!(!host.resumed(stream));
    }
    let reads = finish_pass(&mut gateway, &mut host, 2, &store, first);
    assert_eq!(reads, store.object.len().div_ceil(65536));
    for stream in [2, 3, 4] {
        assert!(host.resumed(stream), "stream {stream} goes on");
        let (view, _) = respond(&mut gateway, &mut host, stream, &store, 8_000, false);
        assert_is_view_of(&view, 6000);
    }
}

#[test]
fn a_pass_of_another_worker_is_waited_for_and_its_index_used() {
    let (mut gateway, mut host) = warmed();
    let store = customers(6000);
    let mut other = table_gateway(&env);
    let mut other_host = FakeHost::with_shared(NOW, host.shared.clone());
    let first = head_answered(&mut gateway, &mut host, 2, &store).expect("a pass read");
    // The other worker finds erin's decision in shared data, and the pass claimed.
    assert!(head_answered(&mut other, &mut other_host, 7, &store).is_none());
    assert!(other_host.tick_period_ms > 0, "it polls");
    other.on_tick(&mut other_host);
    assert!(!other_host.resumed(7), "the pass is still under way");
    finish_pass(&mut gateway, &mut host, 2, &store, first);
    other.on_tick(&mut other_host);
    assert!(other_host.resumed(7), "the index is in shared data");
    let (view, _) = respond(&mut other, &mut other_host, 7, &store, 5_000, false);
    assert_is_view_of(&view, 6000);
    assert_eq!(
        other_host
            .calls
            .iter()
            .filter(|(_, c)| call_header(c, ":method") == Some("GET"))
            .count(),
        0,
        "no read of its own"
    );
}

#[test]
fn a_pass_whose_client_went_away_lets_a_waiting_request_make_its_own() {
    let (mut gateway, mut host) = warmed();
    let store = customers(6000);
    let first = head_answered(&mut gateway, &mut host, 2, &store).expect("a pass read");
    assert!(head_answered(&mut gateway, &mut host, 3, &store).is_none());
    gateway.on_stream_done(&mut host, 2);
    let calls = host.calls.len();
    gateway.on_tick(&mut host);
    assert!(host.calls.len() > calls, "stream 3 reads the object itself");
    let (token, call) = last_call(&host);
    assert_eq!(call.stream, Some(3));
    drop(first);
    finish_pass(&mut gateway, &mut host, 3, &store, (token, call));
    assert!(host.resumed(3));
    let (view, _) = respond(&mut gateway, &mut host, 3, &store, 5_000, false);
    assert_is_view_of(&view, 6000);
}

#[test]
fn a_store_answering_ranges_with_200_is_read_and_served_as_one_answering_206() {
    let (mut gateway, mut host) = warmed();
    let store = Store {
        ranged_status: "200",
        ..customers(6000)
    };
    let reads = request_view(
        &mut gateway,
        &mut host,
        2,
        signed("GET", KEY, NOW, &[]),
        &store,
    );
    assert_eq!(
        reads,
        store.object.len().div_ceil(65536),
        "every read taken"
    );
    let (whole, _) = respond(&mut gateway, &mut host, 2, &store, 9_000, false);
    gateway.on_stream_done(&mut host, 2);
    assert_is_view_of(&whole, 6000);
    let headers = signed("GET", KEY, NOW, &[("range", "bytes=1000-30000")]);
    request_view(&mut gateway, &mut host, 3, headers, &store);
    assert!(
        host.request_header(3, "range").flatten().is_some(),
        "a window upstream"
    );
    let (part, headers) = respond(&mut gateway, &mut host, 3, &store, 4_000, false);
    assert_eq!(header(&headers, ":status"), Some("206"));
    assert_eq!(part, whole[1000..=30000]);
}

#[test]
fn an_object_listed_without_an_etag_is_measured_after_its_head_as_a_get_finds_it() {
    let (mut gateway, mut host) = warmed();
    let store = customers(2000);
    let list = "/s3p/immuta?list-type=2&prefix=customers%2F";
    gateway.on_request_headers(&mut host, 2, signed("GET", list, NOW, &[]));
    let (token, _) = last_call(&host);
    gateway.on_call_answer(
        &mut host,
        Caller::Stream(2),
        token,
        listing_with_etag(&store, ""),
    );
    let (token, head) = last_call(&host);
    assert_eq!(call_header(&head, ":method"), Some("HEAD"));
    assert_eq!(call_header(&head, ":path"), Some("/real/customers/c.csv"));
    gateway.on_call_answer(&mut host, Caller::Stream(2), token, store.head());
    let (token, read) = last_call(&host);
    assert_eq!(
        call_header(&read, "if-match"),
        Some(store.etag),
        "the HEAD's version"
    );
    finish_pass(&mut gateway, &mut host, 2, &store, (token, read));
    let page = host.commands_for(2).into_iter().find_map(|c| match c {
        Recorded::Respond { body: Some(b), .. } => Some(String::from_utf8_lossy(&b).into_owned()),
        _ => None,
    });
    let page = page.unwrap_or_default();
    gateway.on_stream_done(&mut host, 2);
    let reads = request_view(
        &mut gateway,
        &mut host,
        3,
        signed("GET", KEY, NOW, &[]),
        &store,
    );
    assert_eq!(reads, 0, "the listing measured the view the GET names");
    let (view, headers) = respond(&mut gateway, &mut host, 3, &store, 9_000, false);
    assert_eq!(element(&page, "Size"), view.len().to_string());
    let etag = header(&headers, "etag")
        .unwrap_or_default()
        .replace('"', "&quot;");
    assert_eq!(element(&page, "ETag"), etag);
}

#[test]
fn dates_never_validate_a_view_whose_policy_may_have_changed() {
    let (mut gateway, mut host) = warmed();
    let store = customers(10);
    request_view(
        &mut gateway,
        &mut host,
        2,
        signed("HEAD", KEY, NOW, &[]),
        &store,
    );
    let (_, headers) = respond(&mut gateway, &mut host, 2, &store, 100, false);
    let etag = header(&headers, "etag").unwrap_or_default().to_string();
    // The object's own Last-Modified: a view of another policy carries the same one.
    let since = [("if-modified-since", LAST_MODIFIED)];
    request_view(
        &mut gateway,
        &mut host,
        3,
        signed("GET", KEY, NOW, &since),
        &store,
    );
    assert_eq!(host.local_answer(3), None, "no 304 from a date");
    assert!(host.resumed(3));
    let resume = [("range", "bytes=5-"), ("if-range", LAST_MODIFIED)];
    request_view(
        &mut gateway,
        &mut host,
        4,
        signed("GET", KEY, NOW, &resume),
        &store,
    );
    assert_eq!(
        host.request_header(4, "range").flatten(),
        None,
        "the whole view, not a part"
    );
    let unmodified = [
        ("range", "bytes=5-"),
        ("if-unmodified-since", LAST_MODIFIED),
    ];
    request_view(
        &mut gateway,
        &mut host,
        5,
        signed("GET", KEY, NOW, &unmodified),
        &store,
    );
    assert_eq!(host.local_answer(5), Some(412));
    // The view's ETag still validates it, and If-Match decides over If-Unmodified-Since.
    let by_tag = [
        ("if-match", etag.as_str()),
        ("if-unmodified-since", LAST_MODIFIED),
    ];
    request_view(
        &mut gateway,
        &mut host,
        6,
        signed("GET", KEY, NOW, &by_tag),
        &store,
    );
    assert_eq!(host.local_answer(6), None);
    let resume = [("range", "bytes=5-"), ("if-range", etag.as_str())];
    request_view(
        &mut gateway,
        &mut host,
        7,
        signed("GET", KEY, NOW, &resume),
        &store,
    );
    let (_, headers) = respond(&mut gateway, &mut host, 7, &store, 100, false);
    assert_eq!(header(&headers, ":status"), Some("206"), "a part");
}

#[test]
fn a_rewrite_that_keeps_etag_and_size_is_caught_before_a_window_sends_a_byte() {
    let (mut gateway, mut host) = warmed();
    let store = customers(6000);
    request_view(
        &mut gateway,
        &mut host,
        2,
        signed("GET", KEY, NOW, &[]),
        &store,
    );
    let (whole, _) = respond(&mut gateway, &mut host, 2, &store, 8_000, false);
    gateway.on_stream_done(&mut host, 2);
    // A store that keeps the ETag (and Last-Modified) of a rewrite of equal size: the first
    // row moved to the end shifts every record after it.
    let text = String::from_utf8(store.object.clone()).unwrap_or_default();
    let mut lines: Vec<&str> = text.lines().collect();
    let first = lines.remove(1);
    lines.push(first);
    let rewritten = Store {
        object: (lines.join("\n") + "\n").into_bytes(),
        ..customers(6000)
    };
    assert_eq!(rewritten.object.len(), store.object.len());
    let range = format!("bytes={}-{}", whole.len() / 2, whole.len() / 2 + 5_000);
    let headers = signed("GET", KEY, NOW, &[("range", &range)]);
    let reads = request_view(&mut gateway, &mut host, 3, headers, &rewritten);
    assert_eq!(reads, 0, "the cached index");
    let (sent, _) = respond(&mut gateway, &mut host, 3, &rewritten, 4_000, false);
    assert!(
        sent.is_empty(),
        "nothing of a misaligned window: {} bytes",
        sent.len()
    );
    assert!(host
        .commands_for(3)
        .iter()
        .any(|c| matches!(c, Recorded::ResetResponse)));
    gateway.on_stream_done(&mut host, 3);
    let headers = signed("GET", KEY, NOW, &[("range", &range)]);
    let reads = request_view(&mut gateway, &mut host, 4, headers, &rewritten);
    assert!(reads > 0, "the stale index was dropped: measured again");
}
