//! The flow driven natively through `FakeHost`: the order of steps, the decision fetch shared by
//! requests and workers, and the object and listing calls.

use super::fake::{FakeHost, Recorded};
use super::*;
use crate::headers::{HeaderMap, Headers};
use crate::policy::entitlements::{DataSourceGrant, Entitlements};
use crate::signature::sigv4;
use crate::signature::upstream::{Carried, UpstreamCredentials, UpstreamSigner};

/// 2026-09-15 14:40:00 UTC.
pub(super) const NOW: u64 = 1_789_483_200;
pub(super) const REGION: &str = "us-east-1";
const ALICE: &str = "AKIAALICE";
const SECRET: &str = "immuta";
const AUTHORITY: &str = "gateway.local";
const TTL: u32 = 300;

fn env(var: &str) -> Option<String> {
    match var {
        "AWS_ACCESS_KEY_ID" => Some("GATEWAYKEY".into()),
        "AWS_SECRET_ACCESS_KEY" => Some("gateway-secret".into()),
        "S3GATE_POLICY_TOKEN" => Some("policy-token".into()),
        _ => None,
    }
}

fn gateway_with(extra: &str) -> Gateway {
    let config = format!(
        r#"{{{extra}"upstreams":{{"demo":{{"cluster":"s3","authority":"store:9000","sign":{{"region":"{REGION}"}}}}}}}}"#
    );
    match Gateway::configure(config.as_bytes(), &env, 7) {
        Ok(gateway) => gateway,
        Err(error) => panic!("{error}"),
    }
}

fn gateway() -> Gateway {
    gateway_with("")
}

/// `principal`'s decision granting `data_sources`, as the policy service sends it for a scope
/// dated `now`.
pub(super) fn document(principal: &str, data_sources: Vec<DataSourceGrant>, now: u64) -> Vec<u8> {
    let date = &sigv4::format_amz_date(now)[..8];
    let key = sigv4::signing_key(SECRET, date, REGION, "s3");
    let entitlements = Entitlements {
        principal: principal.into(),
        enabled: true,
        ttl_seconds: TTL,
        data_sources,
        policy_version: "v1".into(),
        token_key: "ab".repeat(32),
        signing_key: Some(String::from_utf8_lossy(&sigv4::hex32(&key)).into_owned()),
    };
    match serde_json::to_vec(&entitlements) {
        Ok(bytes) => bytes,
        Err(error) => panic!("{error}"),
    }
}

/// Alice's decision as the policy service sends it for a scope dated `now`.
fn alice_document(now: u64) -> Vec<u8> {
    let sales = DataSourceGrant {
        name: "sales".into(),
        upstream: "demo".into(),
        bucket: "real".into(),
        prefix: "sales/".into(),
        hidden: vec!["*.secret".into()],
        ..DataSourceGrant::default()
    };
    document("alice", vec![sales], now)
}

/// Alice's SigV4-signed request, as a client sends it.
pub(super) fn signed(method: &str, path: &str, now: u64, extra: &[(&str, &str)]) -> HeaderMap {
    let mut signer = UpstreamSigner::new(UpstreamCredentials {
        access_key_id: ALICE.into(),
        secret_access_key: SECRET.into(),
        session_token: None,
        region: REGION.into(),
    });
    let signature = signer.sign_carrying(method, AUTHORITY, path, now, Carried::default());
    let mut pairs: Vec<(&str, &str)> = vec![
        (":method", method),
        (":path", path),
        (":authority", AUTHORITY),
    ];
    for (name, value) in signature.headers() {
        pairs.push((name, value));
    }
    pairs.extend(extra.iter().copied());
    HeaderMap::from_pairs(&pairs)
}

fn get(path: &str, now: u64) -> HeaderMap {
    signed("GET", path, now, &[])
}

pub(super) fn ok(body: Vec<u8>) -> CallAnswer {
    CallAnswer {
        status: Some(200),
        headers: HeaderMap::default(),
        body,
    }
}

pub(super) fn answer_with_headers(status: u32, headers: &[(&str, &str)]) -> CallAnswer {
    CallAnswer {
        status: Some(status),
        headers: HeaderMap::from_pairs(headers),
        body: Vec::new(),
    }
}

/// Answers policy call `token` with `failure`, then each retry the filter sends for it.
pub(super) fn fail_every_attempt(
    gateway: &mut Gateway,
    host: &mut FakeHost,
    caller: Caller,
    token: u32,
    failure: CallAnswer,
) {
    gateway.on_call_answer(host, caller, token, failure.clone());
    let mut last = token;
    for _ in 0..exchange::POLICY_RETRIES {
        let (retry, call) = last_call(host);
        assert_ne!(retry, last, "a failed decision call is sent again");
        assert!(call_header(&call, ":path").is_some_and(|p| p.starts_with("/v1/entitlements/")));
        gateway.on_call_answer(host, caller, retry, failure.clone());
        last = retry;
    }
    assert_eq!(last_call(host).0, last, "and no more");
}

/// The header of `call` named `name`.
pub(super) fn call_header<'c>(call: &'c Call, name: &str) -> Option<&'c str> {
    call.headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn is_policy_call(call: &Call) -> bool {
    call.cluster == "policy"
        && call_header(call, ":path").is_some_and(|p| p.starts_with("/v1/entitlements/"))
}

/// The last call dispatched, with its token.
pub(super) fn last_call(host: &FakeHost) -> (u32, Call) {
    match host.calls.last() {
        Some(found) => found.clone(),
        None => panic!("no call was dispatched"),
    }
}

/// Warms the decision cache with one request and its policy answer.
fn warm(gateway: &mut Gateway, host: &mut FakeHost, stream: StreamId) {
    let now = host.now;
    let action = gateway.on_request_headers(host, stream, get("/s3p/immuta/sales/a.csv", now));
    assert_eq!(action, Action::Pause);
    let (token, call) = last_call(host);
    assert!(is_policy_call(&call));
    gateway.on_call_answer(host, Caller::Stream(stream), token, ok(alice_document(now)));
    assert!(host.resumed(stream));
    gateway.on_stream_done(host, stream);
}

/// A gateway whose decision for alice is cached (stream 1 fetched it), and its host.
fn warmed() -> (Gateway, FakeHost) {
    let mut gateway = gateway();
    let mut host = FakeHost::new(NOW);
    warm(&mut gateway, &mut host, 1);
    (gateway, host)
}

#[test]
fn a_cached_get_is_verified_mapped_and_signed_without_any_call() {
    let (mut gateway, mut host) = warmed();
    let calls = host.calls.len();
    let action = gateway.on_request_headers(&mut host, 2, get("/s3p/immuta/sales/a.csv", NOW));
    assert_eq!(
        action,
        Action::Continue,
        "a cached decision lets it go on at once"
    );
    assert_eq!(host.calls.len(), calls, "no policy or upstream call");
    assert_eq!(
        host.request_header(2, ":path"),
        Some(Some("/real/sales/a.csv".into()))
    );
    assert_eq!(
        host.request_header(2, ":authority"),
        Some(Some("store:9000".into()))
    );
    assert_eq!(
        host.request_header(2, "x-s3gate-upstream"),
        Some(Some("s3".into()))
    );
    let authorization = host.request_header(2, "authorization").flatten();
    assert!(
        authorization
            .as_deref()
            .is_some_and(|a| a.contains("Credential=GATEWAYKEY/")),
        "the gateway's own signature replaces the client's: {authorization:?}"
    );
    assert_eq!(host.local_answer(2), None);
}

#[test]
fn a_wrong_signature_is_refused_from_the_cache() {
    let (mut gateway, mut host) = warmed();
    let mut headers = get("/s3p/immuta/sales/a.csv", NOW)
        .pairs()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect::<Vec<_>>();
    for (name, value) in &mut headers {
        if name == ":path" {
            *value = "/s3p/immuta/sales/b.csv".into(); // signed for another object
        }
    }
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let action = gateway.on_request_headers(&mut host, 2, HeaderMap::from_pairs(&pairs));
    assert_eq!(action, Action::Pause);
    assert_eq!(host.local_answer(2), Some(403));
    assert_eq!(
        host.request_header(2, ":path"),
        None,
        "nothing was rewritten"
    );
}

#[test]
fn a_hidden_object_is_not_found_and_never_goes_upstream() {
    let (mut gateway, mut host) = warmed();
    let action = gateway.on_request_headers(&mut host, 2, get("/s3p/immuta/sales/x.secret", NOW));
    assert_eq!(action, Action::Pause);
    assert_eq!(host.local_answer(2), Some(404));
    assert_eq!(host.request_header(2, ":path"), None);
}

#[test]
fn a_cold_miss_parks_the_other_requests_and_wakes_them_with_the_answer() {
    let mut gateway = gateway();
    let mut host = FakeHost::new(NOW);
    let path = "/s3p/immuta/sales/a.csv";
    assert_eq!(
        gateway.on_request_headers(&mut host, 1, get(path, NOW)),
        Action::Pause
    );
    assert_eq!(
        gateway.on_request_headers(&mut host, 2, get(path, NOW)),
        Action::Pause
    );
    assert_eq!(
        gateway.on_request_headers(&mut host, 3, get(path, NOW)),
        Action::Pause
    );
    assert_eq!(host.calls.len(), 1, "one policy call for three misses");
    assert_eq!(host.counter(Counter::ParkedRequests), 2);
    assert_eq!(
        host.tick_period_ms, WAIT_TICK_MS,
        "parked requests need the tick"
    );
    let (token, _) = last_call(&host);
    gateway.on_call_answer(&mut host, Caller::Stream(1), token, ok(alice_document(NOW)));
    for stream in [1, 2, 3] {
        assert!(host.resumed(stream), "stream {stream} resumed");
        assert_eq!(
            host.request_header(stream, ":path"),
            Some(Some("/real/sales/a.csv".into()))
        );
    }
    assert_eq!(host.counter(Counter::PolicyCalls), 1);
    gateway.on_tick(&mut host);
    assert_eq!(
        host.tick_period_ms, 0,
        "nothing waits any more: the tick stops"
    );
}

#[test]
fn two_workers_missing_the_same_key_make_one_call() {
    let mut worker_a = gateway();
    let mut worker_b = gateway();
    let mut host_a = FakeHost::new(NOW);
    let mut host_b = FakeHost::with_shared(NOW, host_a.shared.clone());
    let path = "/s3p/immuta/sales/a.csv";
    worker_a.on_request_headers(&mut host_a, 1, get(path, NOW));
    worker_b.on_request_headers(&mut host_b, 1, get(path, NOW));
    assert_eq!(host_a.calls.len(), 1);
    assert!(
        host_b.calls.is_empty(),
        "worker B found the claim taken and parked"
    );
    assert_eq!(host_b.counter(Counter::ParkedRequests), 1);

    // Worker B's tick before the answer: still waiting, and no second call.
    worker_b.on_tick(&mut host_b);
    assert!(host_b.calls.is_empty());
    assert!(!host_b.resumed(1));

    let (token, _) = last_call(&host_a);
    worker_a.on_call_answer(
        &mut host_a,
        Caller::Stream(1),
        token,
        ok(alice_document(NOW)),
    );
    assert!(host_a.resumed(1));
    worker_b.on_tick(&mut host_b);
    assert!(host_b.resumed(1), "the decision came through shared data");
    assert!(
        host_b.calls.is_empty(),
        "worker B never asked the policy service"
    );
    assert_eq!(host_b.counter(Counter::ParkedResumedByTick), 1);
}

#[test]
fn two_workers_claiming_at_once_do_not_both_fetch() {
    let mut worker_a = gateway();
    let mut host_a = FakeHost::new(NOW);
    let mut host_b = FakeHost::with_shared(NOW, host_a.shared.clone());
    let mut worker_b = gateway();
    let path = "/s3p/immuta/sales/a.csv";
    // Worker A reads the free claim; worker B takes it before A writes.
    let slot = crate::policy::decision::ClaimSlot::of(
        &Lookup {
            key_digest: crate::signature::presented::key_digest(ALICE),
            scope: Some(format!("{}/{REGION}/s3", &sigv4::format_amz_date(NOW)[..8])),
        }
        .cache_id(),
        worker_a.vm.config.claim_slots,
    );
    let held = slot.encode(NOW + 3);
    host_a.interleave = Some(Box::new(move |shared| shared.write(&slot.key, &held)));
    worker_a.on_request_headers(&mut host_a, 1, get(path, NOW));
    assert!(
        host_a.calls.is_empty(),
        "A's create-only write lost: it parks"
    );
    assert_eq!(host_a.counter(Counter::ParkedRequests), 1);
    // B (which holds the claim) fetches; A learns the answer through shared data.
    assert!(worker_b.vm.claim(&mut host_b, "other", NOW));
    worker_b.vm.store_answer(
        &mut host_b,
        &worker_a.vm.waiters.pending()[0].0,
        Some(200),
        &alice_document(NOW),
        NOW,
    );
    worker_a.on_tick(&mut host_a);
    assert!(host_a.resumed(1));
    assert!(host_a.calls.is_empty(), "A never asked the policy service");
}

#[test]
fn a_policy_service_that_times_out_fails_the_request_and_its_parked_ones() {
    let mut gateway = gateway();
    let mut host = FakeHost::new(NOW);
    let path = "/s3p/immuta/sales/a.csv";
    gateway.on_request_headers(&mut host, 1, get(path, NOW));
    gateway.on_request_headers(&mut host, 2, get(path, NOW));
    let (token, _) = last_call(&host);
    host.now += 2;
    let timed_out = CallAnswer::default(); // no status: Envoy's call timeout
    gateway.on_call_answer(&mut host, Caller::Stream(1), token, timed_out);
    assert_eq!(
        host.calls.len(),
        1,
        "a call that ran into its timeout is not sent again"
    );
    assert_eq!(host.local_answer(1), Some(503));
    assert_eq!(
        host.local_answer(2),
        Some(503),
        "the parked request fails with it"
    );
    assert!(!host.resumed(1) && !host.resumed(2));

    // The failure is recorded for other workers, and the next request may fetch again.
    let mut other = FakeHost::with_shared(NOW + 2, host.shared.clone());
    let mut worker_b = gateway_with("");
    worker_b.on_request_headers(&mut other, 1, get(path, NOW + 2));
    assert_eq!(other.calls.len(), 1, "the claim is free again");
}

#[test]
fn parked_requests_of_another_worker_fail_when_the_fetch_fails() {
    let mut worker_a = gateway();
    let mut worker_b = gateway();
    let mut host_a = FakeHost::new(NOW);
    let mut host_b = FakeHost::with_shared(NOW, host_a.shared.clone());
    let path = "/s3p/immuta/sales/a.csv";
    worker_a.on_request_headers(&mut host_a, 1, get(path, NOW));
    worker_b.on_request_headers(&mut host_b, 1, get(path, NOW));
    let (token, _) = last_call(&host_a);
    let unavailable = CallAnswer {
        status: Some(503),
        ..CallAnswer::default()
    };
    fail_every_attempt(
        &mut worker_a,
        &mut host_a,
        Caller::Stream(1),
        token,
        unavailable,
    );
    assert_eq!(host_a.local_answer(1), Some(503));
    worker_b.on_tick(&mut host_b);
    assert_eq!(host_b.local_answer(1), Some(503));
    assert!(host_b.calls.is_empty(), "it did not fetch again");
}

#[test]
fn parked_requests_fail_at_their_deadline() {
    let mut worker_a = gateway();
    let mut worker_b = gateway();
    let mut host_a = FakeHost::new(NOW);
    let mut host_b = FakeHost::with_shared(NOW, host_a.shared.clone());
    let path = "/s3p/immuta/sales/a.csv";
    worker_a.on_request_headers(&mut host_a, 1, get(path, NOW));
    worker_b.on_request_headers(&mut host_b, 1, get(path, NOW));
    host_b.now = NOW + 2; // the claim still runs (policy timeout 2 s, + 1)
    worker_b.on_tick(&mut host_b);
    assert_eq!(host_b.local_answer(1), None);
    host_b.now = NOW + 6; // 2 × (timeout + 1 s)
    worker_b.on_tick(&mut host_b);
    assert_eq!(host_b.local_answer(1), Some(503));
}

#[test]
fn stale_if_error_serves_an_expired_decision_when_the_service_fails() {
    let mut gateway = gateway_with(r#""stale_if_error_seconds":600,"#);
    let mut host = FakeHost::new(NOW);
    warm(&mut gateway, &mut host, 1);
    host.now = NOW + u64::from(TTL) + 10; // expired, within the grace
    let path = "/s3p/immuta/sales/a.csv";
    // Signed at the original time: the scope (and its decision) is the same day's.
    let headers = get(path, NOW);
    let action = gateway.on_request_headers(&mut host, 2, headers);
    assert_eq!(action, Action::Pause);
    let (token, call) = last_call(&host);
    assert!(
        is_policy_call(&call),
        "an expired decision is fetched again"
    );
    let failed = CallAnswer {
        status: Some(500),
        ..CallAnswer::default()
    };
    fail_every_attempt(&mut gateway, &mut host, Caller::Stream(2), token, failed);
    assert!(host.resumed(2), "served with the stale decision");
    assert_eq!(host.counter(Counter::StaleDecisionsServed), 1);
    assert_eq!(
        host.request_header(2, ":path"),
        Some(Some("/real/sales/a.csv".into()))
    );
}

#[test]
fn without_a_grace_an_expired_decision_fails_closed() {
    let (mut gateway, mut host) = warmed();
    host.now = NOW + u64::from(TTL) + 10;
    gateway.on_request_headers(&mut host, 2, get("/s3p/immuta/sales/a.csv", NOW));
    let (token, _) = last_call(&host);
    fail_every_attempt(
        &mut gateway,
        &mut host,
        Caller::Stream(2),
        token,
        CallAnswer::default(),
    );
    assert_eq!(host.local_answer(2), Some(503));
    assert_eq!(host.counter(Counter::StaleDecisionsServed), 0);
}

#[test]
fn refresh_ahead_sends_one_request_to_the_service_and_the_rest_on() {
    let (mut gateway, mut host) = warmed();
    host.now = NOW + u64::from(TTL) - 10; // in the last fifth of the TTL
    let path = "/s3p/immuta/sales/a.csv";
    let calls = host.calls.len();
    let refreshing = gateway.on_request_headers(&mut host, 2, get(path, NOW));
    assert_eq!(
        refreshing,
        Action::Pause,
        "one request refreshes, and waits for it"
    );
    assert_eq!(host.calls.len(), calls + 1);
    let other = gateway.on_request_headers(&mut host, 3, get(path, NOW));
    assert_eq!(
        other,
        Action::Continue,
        "the others go on with the cached decision"
    );
    assert_eq!(host.calls.len(), calls + 1);
    let (token, _) = last_call(&host);
    gateway.on_call_answer(&mut host, Caller::Stream(2), token, ok(alice_document(NOW)));
    assert!(host.resumed(2));
    assert_eq!(
        host.counter(Counter::DecisionCache { outcome: "refresh" }),
        1
    );
}

#[test]
fn a_dead_policy_service_during_a_refresh_keeps_the_valid_decision() {
    let (mut gateway, mut host) = warmed();
    host.now = NOW + u64::from(TTL) - 10;
    gateway.on_request_headers(&mut host, 2, get("/s3p/immuta/sales/a.csv", NOW));
    let (token, _) = last_call(&host);
    fail_every_attempt(
        &mut gateway,
        &mut host,
        Caller::Stream(2),
        token,
        CallAnswer::default(),
    );
    assert!(
        host.resumed(2),
        "the decision still holds: nothing stale about it"
    );
    assert_eq!(host.counter(Counter::StaleDecisionsServed), 0);
}

#[test]
fn a_policy_call_the_host_refuses_fails_closed() {
    let mut gateway = gateway();
    let mut host = FakeHost::new(NOW);
    host.refuse_dispatch = true;
    gateway.on_request_headers(&mut host, 1, get("/s3p/immuta/sales/a.csv", NOW));
    assert_eq!(host.local_answer(1), Some(503));
    host.refuse_dispatch = false;
    gateway.on_request_headers(&mut host, 2, get("/s3p/immuta/sales/a.csv", NOW));
    assert_eq!(
        host.calls.len(),
        1,
        "the claim was released for the next request"
    );
}

#[test]
fn an_answer_for_a_request_that_has_gone_still_serves_the_ones_parked_on_it() {
    let mut gateway = gateway();
    let mut host = FakeHost::new(NOW);
    let path = "/s3p/immuta/sales/a.csv";
    gateway.on_request_headers(&mut host, 1, get(path, NOW));
    gateway.on_request_headers(&mut host, 2, get(path, NOW));
    let (token, _) = last_call(&host);
    gateway.on_stream_done(&mut host, 1); // the fetching client went away
    assert_eq!(gateway.live_streams(), 1);
    // Envoy cancels the gone stream's call; an answer, if one still came, is dropped.
    gateway.on_call_answer(&mut host, Caller::Root, token, ok(alice_document(NOW)));
    assert!(!host.resumed(1));
    // Its claim was released: the root context's tick fetches for the parked request.
    gateway.on_tick(&mut host);
    let (token, call) = last_call(&host);
    assert!(
        is_policy_call(&call) && call.stream.is_none(),
        "a VM-owned fetch"
    );
    gateway.on_call_answer(&mut host, Caller::Root, token, ok(alice_document(NOW)));
    assert!(host.resumed(2));
    gateway.on_stream_done(&mut host, 2);
    assert_eq!(gateway.live_streams(), 0);
}

#[test]
fn a_suffix_range_longer_than_the_object_asks_for_all_of_it() {
    let (mut gateway, mut host) = warmed();
    let headers = signed(
        "GET",
        "/s3p/immuta/sales/a.csv",
        NOW,
        &[("range", "bytes=-500")],
    );
    assert_eq!(
        gateway.on_request_headers(&mut host, 2, headers),
        Action::Pause
    );
    let (token, head) = last_call(&host);
    assert_eq!(call_header(&head, ":method"), Some("HEAD"));
    assert_eq!(call_header(&head, ":path"), Some("/real/sales/a.csv"));
    assert!(
        call_header(&head, "authorization").is_some_and(|a| a.contains("GATEWAYKEY")),
        "the HEAD is signed like the GET"
    );
    let size = answer_with_headers(200, &[(":status", "200"), ("content-length", "120")]);
    gateway.on_call_answer(&mut host, Caller::Stream(2), token, size);
    assert_eq!(
        host.request_header(2, "range"),
        Some(Some("bytes=0-".into()))
    );
    assert!(host.resumed(2));
}

#[test]
fn a_suffix_range_within_the_object_is_sent_as_asked() {
    let (mut gateway, mut host) = warmed();
    let headers = signed(
        "GET",
        "/s3p/immuta/sales/a.csv",
        NOW,
        &[("range", "bytes=-50")],
    );
    gateway.on_request_headers(&mut host, 2, headers);
    let (token, _) = last_call(&host);
    let size = answer_with_headers(200, &[(":status", "200"), ("content-length", "120")]);
    gateway.on_call_answer(&mut host, Caller::Stream(2), token, size);
    assert_eq!(
        host.request_header(2, "range"),
        None,
        "left as the client sent it"
    );
    assert!(host.resumed(2));
}

#[test]
fn a_conditional_get_is_answered_from_the_head_before_the_object_is_read() {
    let (mut gateway, mut host) = warmed();
    let headers = signed(
        "GET",
        "/s3p/immuta/sales/a.csv",
        NOW,
        &[("if-none-match", "\"v1\"")],
    );
    gateway.on_request_headers(&mut host, 2, headers);
    let (token, head) = last_call(&host);
    assert_eq!(call_header(&head, ":method"), Some("HEAD"));
    let validators = answer_with_headers(
        200,
        &[
            (":status", "200"),
            ("etag", "\"v1\""),
            ("content-length", "9"),
        ],
    );
    gateway.on_call_answer(&mut host, Caller::Stream(2), token, validators);
    assert_eq!(host.local_answer(2), Some(304));
    assert!(!host.resumed(2), "the GET never goes upstream");
}

/// An upstream ListObjectsV2 page of `keys` (under the grant's prefix).
fn upstream_page(keys: &[&str], next: Option<&str>) -> Vec<u8> {
    let mut xml = String::from("<ListBucketResult><Name>real</Name>");
    xml.push_str(&format!("<IsTruncated>{}</IsTruncated>", next.is_some()));
    if let Some(next) = next {
        xml.push_str(&format!(
            "<NextContinuationToken>{next}</NextContinuationToken>"
        ));
    }
    for key in keys {
        xml.push_str(&format!(
            "<Contents><Key>{key}</Key><LastModified>2026-09-01T00:00:00.000Z</LastModified>\
             <ETag>&quot;e&quot;</ETag><Size>3</Size><StorageClass>STANDARD</StorageClass></Contents>"
        ));
    }
    xml.push_str("</ListBucketResult>");
    xml.into_bytes()
}

#[test]
fn a_listing_reads_extra_upstream_pages_and_answers_the_visible_keys() {
    let (mut gateway, mut host) = warmed();
    let list = "/s3p/immuta?list-type=2&prefix=sales%2F";
    assert_eq!(
        gateway.on_request_headers(&mut host, 2, get(list, NOW)),
        Action::Pause
    );
    let (token, page) = last_call(&host);
    assert_eq!(page.cluster, "s3");
    assert_eq!(call_header(&page, ":method"), Some("GET"));
    assert!(call_header(&page, ":path").is_some_and(|p| p.starts_with("/real?")));
    let first = ok(upstream_page(
        &["sales/a.csv", "sales/b.secret"],
        Some("t1"),
    ));
    gateway.on_call_answer(&mut host, Caller::Stream(2), token, first);
    assert_eq!(host.local_answer(2), None, "one more page to read");
    let (token, page) = last_call(&host);
    assert!(
        call_header(&page, ":path").is_some_and(|p| p.contains("continuation-token=t1")),
        "{page:?}"
    );
    gateway.on_call_answer(
        &mut host,
        Caller::Stream(2),
        token,
        ok(upstream_page(&["sales/c.csv"], None)),
    );
    let body = host.commands_for(2).into_iter().find_map(|c| match c {
        Recorded::Respond {
            status: 200,
            body: Some(body),
            ..
        } => Some(String::from_utf8_lossy(&body).into_owned()),
        _ => None,
    });
    let body = body.unwrap_or_default();
    assert!(body.contains("<Key>sales/a.csv</Key>"), "{body}");
    assert!(body.contains("<Key>sales/c.csv</Key>"), "{body}");
    assert!(
        !body.contains("secret"),
        "hidden keys are not listed: {body}"
    );
}

#[test]
fn a_parked_listing_sends_its_page_from_the_root_context() {
    let mut gateway = gateway();
    let mut host = FakeHost::new(NOW);
    let list = "/s3p/immuta?list-type=2&prefix=sales%2F";
    gateway.on_request_headers(&mut host, 1, get("/s3p/immuta/sales/a.csv", NOW));
    gateway.on_request_headers(&mut host, 2, get(list, NOW));
    let (token, _) = last_call(&host);
    let calls = host.calls.len();
    // The answer comes to stream 1's context: a call sent now would come back there.
    gateway.on_call_answer(&mut host, Caller::Stream(1), token, ok(alice_document(NOW)));
    assert!(host.resumed(1));
    assert_eq!(
        host.calls.len(),
        calls,
        "stream 2's page waits for the root context"
    );
    assert_eq!(host.tick_period_ms, WAIT_TICK_MS);
    gateway.on_tick(&mut host);
    let (token, page) = last_call(&host);
    assert_eq!(page.stream, Some(2));
    gateway.on_call_answer(
        &mut host,
        Caller::Root,
        token,
        ok(upstream_page(&["sales/a.csv"], None)),
    );
    assert_eq!(host.local_answer(2), Some(200));
}

#[test]
fn the_client_cannot_pick_the_upstream_cluster() {
    let mut gateway = gateway();
    let mut host = FakeHost::new(NOW);
    let headers = signed(
        "GET",
        "/s3p/immuta/sales/a.csv",
        NOW,
        &[("x-s3gate-upstream", "elsewhere")],
    );
    gateway.on_request_headers(&mut host, 1, headers);
    assert_eq!(host.request_header(1, "x-s3gate-upstream"), Some(None));
}

#[test]
fn request_ids_and_the_redacted_path_go_to_the_access_log() {
    let mut gateway = gateway();
    let mut host = FakeHost::new(NOW);
    let presigned = "/s3p/immuta/sales/a.csv?X-Amz-Signature=abcd&X-Amz-Credential=x";
    gateway.on_request_headers(&mut host, 1, get(presigned, NOW));
    let properties: Vec<(String, Vec<u8>)> = host
        .commands_for(1)
        .into_iter()
        .filter_map(|c| match c {
            Recorded::SetProperty(n, v) => Some((n, v)),
            _ => None,
        })
        .collect();
    assert!(properties
        .iter()
        .any(|(n, v)| n == "s3gate_request_id" && v.len() == 16));
    let path = properties
        .iter()
        .find(|(n, _)| n == "s3gate_path")
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned());
    assert!(path.is_some_and(|p| !p.contains("abcd")));
}

#[test]
fn every_request_leaves_one_audit_record_for_the_access_log() {
    let mut gateway = gateway();
    let mut host = FakeHost::new(NOW);
    gateway.on_request_headers(&mut host, 1, get("/s3p/immuta/sales/a.csv", NOW));
    let (token, _) = last_call(&host);
    host.millis = 7;
    gateway.on_call_answer(&mut host, Caller::Stream(1), token, ok(alice_document(NOW)));
    let field = |host: &FakeHost, stream, name| host.property(stream, name);
    assert_eq!(
        field(&host, 1, "s3gate_principal").as_deref(),
        Some("alice")
    );
    assert_eq!(
        field(&host, 1, "s3gate_operation").as_deref(),
        Some("GetObject")
    );
    assert_eq!(
        field(&host, 1, "s3gate_key").as_deref(),
        Some("sales/a.csv")
    );
    assert_eq!(
        field(&host, 1, "s3gate_data_source").as_deref(),
        Some("sales")
    );
    assert_eq!(field(&host, 1, "s3gate_decision").as_deref(), Some("allow"));
    assert_eq!(
        field(&host, 1, "s3gate_signature").as_deref(),
        Some("sigv4")
    );
    assert_eq!(
        field(&host, 1, "s3gate_upstream_target").as_deref(),
        Some("demo:/real/sales/a.csv")
    );
    let digest = field(&host, 1, "s3gate_key_digest").unwrap_or_default();
    assert_eq!(digest.len(), audit::KEY_DIGEST_PREFIX);
    assert!(crate::signature::presented::key_digest(ALICE).starts_with(&digest));
    assert_eq!(
        host.histograms.get(&Histogram::PolicyCallMs),
        Some(&vec![7])
    );
    assert_eq!(
        host.counter(Counter::Requests {
            operation: "GetObject",
            decision: "allow"
        }),
        1
    );
    // A hidden object: denied, with the S3 code as the reason, from the cached decision.
    gateway.on_request_headers(&mut host, 2, get("/s3p/immuta/sales/x.secret", NOW));
    assert_eq!(field(&host, 2, "s3gate_decision").as_deref(), Some("deny"));
    assert_eq!(
        field(&host, 2, "s3gate_reason").as_deref(),
        Some("NoSuchKey")
    );
    assert_eq!(
        field(&host, 2, "s3gate_principal").as_deref(),
        Some("alice")
    );
    assert_eq!(
        host.counter(Counter::Denied {
            reason: "NoSuchKey"
        }),
        1
    );
    assert_eq!(host.counter(Counter::DecisionCache { outcome: "hit" }), 1);
    assert_eq!(host.counter(Counter::DecisionCache { outcome: "miss" }), 1);
    // Nothing of the key, the signature or the real bucket in the user-facing fields.
    for stream in [1, 2] {
        for (name, value) in host
            .commands_for(stream)
            .into_iter()
            .filter_map(|c| match c {
                Recorded::SetProperty(n, v) => Some((n, String::from_utf8_lossy(&v).into_owned())),
                _ => None,
            })
        {
            assert!(!value.contains(ALICE), "{name}: {value}");
            if name != "s3gate_upstream_target" {
                assert!(!value.contains("real"), "{name}: {value}");
            }
        }
    }
    gateway.on_stream_done(&mut host, 1);
    gateway.on_stream_done(&mut host, 2);
    assert_eq!(host.gauges.get(&Gauge::ActiveRequests), Some(&0));
}

#[test]
fn an_unknown_key_and_a_dead_policy_service_are_audited_as_denials() {
    let mut gateway = gateway();
    let mut host = FakeHost::new(NOW);
    gateway.on_request_headers(&mut host, 1, get("/s3p/immuta/sales/a.csv", NOW));
    let (token, _) = last_call(&host);
    let unknown = CallAnswer {
        status: Some(404),
        ..CallAnswer::default()
    };
    gateway.on_call_answer(&mut host, Caller::Stream(1), token, unknown);
    assert_eq!(host.property(1, "s3gate_decision").as_deref(), Some("deny"));
    assert_eq!(
        host.property(1, "s3gate_reason").as_deref(),
        Some("InvalidAccessKeyId")
    );
    assert_eq!(host.property(1, "s3gate_principal"), None);

    let mut gateway = super::tests::gateway();
    let mut host = FakeHost::new(NOW);
    gateway.on_request_headers(&mut host, 1, get("/s3p/immuta/sales/a.csv", NOW));
    let (token, _) = last_call(&host);
    fail_every_attempt(
        &mut gateway,
        &mut host,
        Caller::Stream(1),
        token,
        CallAnswer::default(),
    );
    assert_eq!(
        host.property(1, "s3gate_reason").as_deref(),
        Some("ServiceUnavailable")
    );
    assert_eq!(
        host.counter(Counter::PolicyFailures),
        1 + u64::from(exchange::POLICY_RETRIES),
        "the call and its retries"
    );
}

#[test]
fn a_failed_decision_call_is_retried_once_and_the_request_served() {
    let mut gateway = gateway();
    let mut host = FakeHost::new(NOW);
    let path = "/s3p/immuta/sales/a.csv";
    gateway.on_request_headers(&mut host, 1, get(path, NOW));
    gateway.on_request_headers(&mut host, 2, get(path, NOW));
    let (token, _) = last_call(&host);
    // The replica that got the call died: no answer.
    gateway.on_call_answer(&mut host, Caller::Stream(1), token, CallAnswer::default());
    assert_eq!(host.local_answer(1), None, "not failed yet");
    let (retry, _) = last_call(&host);
    assert_ne!(retry, token);
    gateway.on_call_answer(&mut host, Caller::Stream(1), retry, ok(alice_document(NOW)));
    assert!(
        host.resumed(1) && host.resumed(2),
        "both served, the parked one too"
    );
    assert_eq!(host.counter(Counter::PolicyCalls), 2);
    assert_eq!(host.counter(Counter::PolicyFailures), 1);
}

#[test]
fn an_upstream_failure_is_logged_with_its_upstream_status_and_data_source() {
    let mut gateway = gateway();
    let mut host = FakeHost::new(NOW);
    gateway.on_request_headers(&mut host, 1, get("/s3p/immuta/sales/a.csv", NOW));
    let (token, _) = last_call(&host);
    gateway.on_call_answer(&mut host, Caller::Stream(1), token, ok(alice_document(NOW)));
    assert!(host.resumed(1));
    let mut upstream = HeaderMap::from_pairs(&[(":status", "503")]);
    gateway.on_response_headers(&mut host, 1, &mut || std::mem::take(&mut upstream), false);
    let logged = host.logs.iter().any(|(_, m)| {
        m.contains("upstream \"demo\" answered status 503 for data source \"sales\"")
            && !m.contains("real")
    });
    assert!(logged, "{:?}", host.logs);
}

#[test]
fn the_opt_in_decision_header_names_the_decision_and_its_rules() {
    let mut gateway = gateway_with(r#""decision_header":"x-s3gate-decision","#);
    let mut host = FakeHost::new(NOW);
    gateway.on_request_headers(&mut host, 1, get("/s3p/immuta/sales/a.csv", NOW));
    let (token, _) = last_call(&host);
    gateway.on_call_answer(&mut host, Caller::Stream(1), token, ok(alice_document(NOW)));
    let mut upstream = HeaderMap::from_pairs(&[(":status", "200"), ("content-length", "1234")]);
    gateway.on_response_headers(&mut host, 1, &mut || std::mem::take(&mut upstream), false);
    assert_eq!(host.counter(Counter::StreamedBytes), 1234);
    let set = host.commands_for(1).into_iter().find_map(|c| match c {
        Recorded::SetResponseHeader(n, v) if n == "x-s3gate-decision" => v,
        _ => None,
    });
    assert_eq!(set.as_deref(), Some("allow granted; rules="));
    gateway.on_request_headers(&mut host, 2, get("/s3p/immuta/sales/x.secret", NOW));
    let local = host.commands_for(2).into_iter().find_map(|c| match c {
        Recorded::Respond { headers, .. } => headers
            .into_iter()
            .find(|(n, _)| n == "x-s3gate-decision")
            .map(|(_, v)| v),
        _ => None,
    });
    assert_eq!(local.as_deref(), Some("deny NoSuchKey; rules="));
    // Off by default.
    let mut plain = super::tests::gateway();
    let mut host = FakeHost::new(NOW);
    plain.on_request_headers(&mut host, 1, get("/s3p/immuta/sales/a.csv", NOW));
    assert!(!format!("{:?}", host.commands).contains("x-s3gate-decision"));
    assert!(Gateway::configure(
        br#"{"decision_header":"X Bad","upstreams":{"demo":{"cluster":"s3","authority":"a"}}}"#,
        &env,
        1
    )
    .is_err());
}
