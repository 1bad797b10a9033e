//! The thin layer that talks to Envoy: proxy-wasm contexts, header and body access, calls to the
//! policy service and the upstream. All decisions are made by the pure modules. `fetch` holds
//! the policy calls shared by all requests that need the same decision.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::time::{Duration, UNIX_EPOCH};

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MapType, MetricType, Status};

use s3gate_core::config::{PluginConfig, Upstream};
use s3gate_core::headers::{HeaderMap, Headers};
use s3gate_core::logging::{self, RequestIds};
use s3gate_core::policy::decision::{self, Decision, LocalCache, Memo, CLAIM_FAILED};
use s3gate_core::policy::entitlements::{sigv2_verify_path, Entitlements, SIGV2_SIGNATURE_HEADER};
use s3gate_core::policy::mapping;
use s3gate_core::s3::conditional::{self, Conditions};
use s3gate_core::s3::error::S3Error;
use s3gate_core::s3::listing::{self, ListingJob, Step};
use s3gate_core::s3::request::{self, Operation, S3Request};
use s3gate_core::s3::response::{self, BodyPlan};
use s3gate_core::signature::presented::{self, Presented};
use s3gate_core::signature::sigv2;
use s3gate_core::signature::sigv4::{self, SigV4Auth, VerifyingKey};
use s3gate_core::signature::upstream::{Carried, SignedHeaders, UpstreamSigner};

#[path = "host/fetch.rs"]
mod fetch;
use fetch::{
    call_status, claim, claim_value, dispatch_policy_call, end_fetch, shared_decision,
    store_answer, wake, Lookup, Parked, Waiters, Wake,
};

/// Upstream listing pages can be slow on big prefixes; the client's own timeout still applies.
const LISTING_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the root context looks after parked requests (only while there are any): a
/// decision another worker fetched, or a fetch nobody is making any more.
const WAIT_TICK: Duration = Duration::from_millis(2);

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|context_id| -> Box<dyn RootContext> {
        Box::new(Root { context_id, ..Root::default() })
    });
}}

/// Upstream name -> the filter's signer for it (upstreams with `sign` in the configuration).
type Signers = HashMap<String, RefCell<UpstreamSigner>>;

/// Per-VM memos of per-request work: access key -> its digest, signing key hex -> HMAC state.
#[derive(Default)]
struct Memos {
    key_digests: Memo<String>,
    verifying_keys: Memo<VerifyingKey>,
}

#[derive(Default)]
struct Root {
    context_id: u32,
    config: Option<Rc<PluginConfig>>,
    cache: Rc<RefCell<LocalCache>>,
    metrics: Metrics,
    waiters: Rc<RefCell<Waiters>>,
    signers: Rc<Signers>,
    memos: Rc<RefCell<Memos>>,
    /// Policy calls the root context makes for parked requests: token -> cache id.
    fetches: HashMap<u32, String>,
}

/// Envoy counters (`wasmcustom.s3gate_*` in the admin stats).
#[derive(Default, Clone, Copy)]
struct Metrics {
    policy_calls: Option<u32>,
    stale_decisions_served: Option<u32>,
    /// Requests that waited for a decision another request was fetching.
    parked_requests: Option<u32>,
    /// Of those, resumed by the root context's tick: the fetch they waited for was another
    /// worker's.
    resumed_by_tick: Option<u32>,
}

impl Metrics {
    fn define() -> Self {
        let counter =
            |name: &str| proxy_wasm::hostcalls::define_metric(MetricType::Counter, name).ok();
        Metrics {
            policy_calls: counter("s3gate_policy_calls"),
            stale_decisions_served: counter("s3gate_stale_decisions_served"),
            parked_requests: counter("s3gate_parked_requests"),
            resumed_by_tick: counter("s3gate_parked_resumed_by_tick"),
        }
    }

    fn bump(id: Option<u32>) {
        Self::add(id, 1);
    }

    fn add(id: Option<u32>, n: usize) {
        if let (Some(id), Ok(n)) = (id, i64::try_from(n)) {
            if n > 0 {
                let _ = proxy_wasm::hostcalls::increment_metric(id, n);
            }
        }
    }
}

impl Context for Root {
    fn on_http_call_response(
        &mut self,
        token: u32,
        _headers: usize,
        body_size: usize,
        _trailers: usize,
    ) {
        let Some(cache_id) = self.fetches.remove(&token) else {
            return;
        };
        let slots = self.config.as_ref().map_or(1, |c| c.claim_slots);
        let (Some(config), Some(status)) = (self.config.clone(), call_status(self)) else {
            end_fetch(&self.waiters, slots, &cache_id, false, self.context_id);
            return;
        };
        let body = self
            .get_http_call_response_body(0, body_size)
            .unwrap_or_default();
        let now = now_seconds(self);
        let stored = store_answer(&self.cache, &config, &cache_id, Some(status), &body, now);
        end_fetch(
            &self.waiters,
            slots,
            &cache_id,
            stored.is_some(),
            self.context_id,
        );
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        let parsed = PluginConfig::parse(&bytes).and_then(|mut config| {
            let mut signers = Signers::new();
            for (name, upstream) in &config.upstreams {
                if let Some(sign) = &upstream.sign {
                    // Envoy hands the VM the variables its vm_config lists (host_env_keys).
                    let credentials = sign.credentials(name, |var| std::env::var(var).ok())?;
                    signers.insert(name.clone(), RefCell::new(UpstreamSigner::new(credentials)));
                }
            }
            config.load_policy_token(|var| std::env::var(var).ok())?;
            Ok((config, signers))
        });
        match parsed {
            Ok((config, signers)) => {
                self.signers = Rc::new(signers);
                self.cache = Rc::new(RefCell::new(LocalCache::with_grace(
                    config.stale_if_error_seconds,
                )));
                self.config = Some(Rc::new(config));
                self.metrics = Metrics::define();
                true
            }
            Err(message) => {
                log(LogLevel::Critical, &message);
                false
            }
        }
    }

    /// Parked requests: those past their deadline fail; a decision that arrived (from another
    /// worker) resumes its requests; a fetch nobody makes any more (its request went away, or
    /// the other worker's answer could not be shared) is made here.
    fn on_tick(&mut self) {
        let now = now_seconds(self);
        let expired = self.waiters.borrow_mut().take_expired(now);
        wake(expired, Wake::Failed, self.context_id);
        let pending = self.waiters.borrow().pending();
        let slots = self.config.as_ref().map_or(1, |c| c.claim_slots);
        for (cache_id, lookup) in pending {
            let ready = self.cache.borrow().get(&cache_id, now).is_some()
                || shared_decision(&self.cache, &cache_id, now).is_some();
            if ready {
                let parked = self.waiters.borrow_mut().take(&cache_id);
                Metrics::add(self.metrics.resumed_by_tick, parked.len());
                wake(parked, Wake::Ready, self.context_id);
            } else if claim_value(&cache_id, slots) == Some(CLAIM_FAILED) {
                // The fetch they waited for (in another worker) failed: so do they.
                let parked = self.waiters.borrow_mut().take(&cache_id);
                Metrics::add(self.metrics.resumed_by_tick, parked.len());
                wake(parked, Wake::Failed, self.context_id);
            } else if !self.fetches.values().any(|id| *id == cache_id) {
                let Some(config) = self.config.clone() else {
                    continue;
                };
                if claim(&cache_id, slots, now, config.policy_timeout_ms) {
                    match dispatch_policy_call(self, &config, &lookup) {
                        Ok(token) => {
                            Metrics::bump(self.metrics.policy_calls);
                            self.fetches.insert(token, cache_id);
                        }
                        Err(()) => {
                            end_fetch(&self.waiters, slots, &cache_id, false, self.context_id)
                        }
                    }
                }
            }
        }
        if self.waiters.borrow().is_empty() && self.fetches.is_empty() {
            let _ = proxy_wasm::hostcalls::set_tick_period(Duration::ZERO);
        }
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        let config = Rc::clone(self.config.as_ref()?);
        let cache = Rc::clone(&self.cache);
        let waiters = Rc::clone(&self.waiters);
        let signers = Rc::clone(&self.signers);
        let memos = Rc::clone(&self.memos);
        let metrics = self.metrics;
        let gateway = Rc::new_cyclic(|me| {
            RefCell::new(Gateway {
                context_id,
                me: me.clone(),
                waiters,
                signers,
                memos,
                config,
                cache,
                metrics,
                request_headers: HeaderMap::default(),
                now: 0,
                method: String::new(),
                raw_path: String::new(),
                sigv4: None,
                sigv2_refused: false,
                sigv4_timestamp: String::new(),
                request_id: String::new(),
                resource: String::new(),
                is_head: false,
                waiting: Waiting::Nothing,
                forwarded: None,
                body_plan: BodyPlan::Pass,
            })
        });
        Some(Box::new(Shell(gateway)))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// What a paused request waits for.
enum Waiting {
    Nothing,
    /// The policy service's SigV2 check; then the principal's decision.
    SigV2Check {
        lookup: Lookup,
        request: S3Request,
    },
    Policy {
        lookup: Lookup,
        request: S3Request,
    },
    /// Parked: another request is fetching the decision.
    Decision {
        lookup: Lookup,
        request: S3Request,
    },
    Listing(Box<ListingJob>),
    /// The object's size, for a suffix range.
    ObjectSize {
        suffix: u64,
    },
    /// The object's validators (a HEAD), to answer a conditional GET or `If-Range` before the
    /// GET goes upstream; a suffix range's size comes with them.
    Validators {
        suffix: Option<u64>,
    },
}

/// What became of a request after a decision.
enum Outcome {
    /// Answered locally.
    Responded,
    /// Headers rewritten; let it go upstream.
    Forward,
    /// A call is out; resume when it answers.
    Pending,
}

/// An object request sent upstream, remembered for its response.
struct Forwarded {
    key: String,
    asked_range: bool,
    conditions: Conditions,
    /// The client's `If-Range`, while its Range is still sent upstream.
    if_range: Option<String>,
}

/// What the SDK holds for a request: the gateway behind a shared cell, so that a request that
/// receives a decision can resume the requests parked on it (each made the effective context).
struct Shell(Rc<RefCell<Gateway>>);

impl Context for Shell {
    fn on_http_call_response(&mut self, token: u32, headers: usize, body: usize, trailers: usize) {
        if let Ok(mut gateway) = self.0.try_borrow_mut() {
            gateway.on_http_call_response(token, headers, body, trailers);
        }
    }
}

/// A callback into a gateway that is already running cannot happen (Envoy defers local replies
/// and resumptions until the VM call returns); if it did, the request stays paused: never
/// passed on unchecked.
impl HttpContext for Shell {
    fn on_http_request_headers(&mut self, headers: usize, end_of_stream: bool) -> Action {
        match self.0.try_borrow_mut() {
            Ok(mut gateway) => gateway.on_http_request_headers(headers, end_of_stream),
            Err(_) => Action::Pause,
        }
    }

    fn on_http_response_headers(&mut self, headers: usize, end_of_stream: bool) -> Action {
        match self.0.try_borrow_mut() {
            Ok(mut gateway) => gateway.on_http_response_headers(headers, end_of_stream),
            Err(_) => Action::Pause,
        }
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        match self.0.try_borrow_mut() {
            Ok(mut gateway) => gateway.on_http_response_body(body_size, end_of_stream),
            Err(_) => Action::Pause,
        }
    }
}

struct Gateway {
    context_id: u32,
    /// This gateway's own cell, to park it on a decision.
    me: Weak<RefCell<Gateway>>,
    waiters: Rc<RefCell<Waiters>>,
    signers: Rc<Signers>,
    memos: Rc<RefCell<Memos>>,
    config: Rc<PluginConfig>,
    cache: Rc<RefCell<LocalCache>>,
    metrics: Metrics,
    /// The client's request headers, read once.
    request_headers: HeaderMap,
    /// Seconds since the epoch when the request arrived.
    now: u64,
    method: String,
    /// `:path` exactly as the client sent it (signatures cover it).
    raw_path: String,
    /// A SigV4 credential waiting for its signing key.
    sigv4: Option<SigV4Auth>,
    /// The policy service refused this request's SigV2 signature; its decision is fetched only
    /// to answer an unknown or disabled key as such (and cache it).
    sigv2_refused: bool,
    /// Its request timestamp, as `sigv4::precheck` found it.
    sigv4_timestamp: String,
    request_id: String,
    /// The client's own path (no query), echoed in errors.
    resource: String,
    is_head: bool,
    waiting: Waiting,
    forwarded: Option<Forwarded>,
    /// What happens to the upstream's response body.
    body_plan: BodyPlan,
}

impl Context for Gateway {
    fn on_http_call_response(
        &mut self,
        _token: u32,
        _headers: usize,
        body_size: usize,
        _trailers: usize,
    ) {
        let status = call_status(self);
        let body = self
            .get_http_call_response_body(0, body_size)
            .unwrap_or_default();
        let outcome = match std::mem::replace(&mut self.waiting, Waiting::Nothing) {
            Waiting::Policy { lookup, request } => {
                self.on_policy_answer(&lookup, request, status, &body)
            }
            Waiting::SigV2Check { lookup, request } => match status {
                Some(204) => self.with_decision(lookup, request),
                // A wrong signature, or a disabled principal: the decision tells them apart,
                // and then answers the disabled one's repeats from the cache.
                Some(403) => {
                    self.sigv2_refused = true;
                    self.with_decision(lookup, request)
                }
                // An unknown key enters the negative cache, as from the entitlements lookup.
                Some(404) => {
                    let now = now_seconds(self);
                    let cache_id = lookup.cache_id();
                    match store_answer(&self.cache, &self.config, &cache_id, status, &body, now) {
                        Some(decision) => self.decide(&decision, request),
                        None => self.respond_error(&S3Error::invalid_access_key_id()),
                    }
                }
                _ => self.respond_error(&S3Error::service_unavailable()),
            },
            Waiting::ObjectSize { suffix } => {
                let size = self
                    .get_http_call_response_header("content-length")
                    .and_then(|v| v.parse::<u64>().ok());
                if let (Some(200), Some(size)) = (status, size) {
                    if size > 0 && suffix >= size {
                        self.set_http_request_header("range", Some("bytes=0-"));
                    }
                }
                Outcome::Forward
            }
            Waiting::Validators { suffix } => self.on_validators(status, suffix),
            Waiting::Listing(mut job) => match job.feed(status.unwrap_or(503), &body) {
                Ok(()) => self.drive_listing(job),
                Err(error) => self.respond_error(&error),
            },
            // Resumed by `wake`, never by a call of its own.
            waiting @ Waiting::Decision { .. } => {
                self.waiting = waiting;
                return;
            }
            Waiting::Nothing => return,
        };
        if let Outcome::Forward = outcome {
            self.resume_http_request();
        }
    }
}

impl HttpContext for Gateway {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        // One read of the headers per request; everything below reads from it.
        self.request_headers = header_map(MapType::HttpRequestHeaders);
        // One clock reading per request: signature windows and cache expiry use the same now.
        self.now = now_seconds(self);
        let method = self
            .request_headers
            .get(":method")
            .unwrap_or_default()
            .to_string();
        let path = self
            .request_headers
            .get(":path")
            .unwrap_or_default()
            .to_string();
        self.request_id = next_request_id();
        // For the access log (envoy.yaml): the gateway's id, and the path without credentials.
        let _ = proxy_wasm::hostcalls::set_property(
            vec!["s3gate_request_id"],
            Some(self.request_id.as_bytes()),
        );
        let logged_path = logging::redacted_path(&path);
        let _ =
            proxy_wasm::hostcalls::set_property(vec!["s3gate_path"], Some(logged_path.as_bytes()));
        self.resource = path.split('?').next().unwrap_or("").to_string();
        self.is_head = method == "HEAD";
        // Nobody but this filter picks the upstream cluster.
        if self
            .request_headers
            .get(&self.config.upstream_cluster_header)
            .is_some()
        {
            self.set_http_request_header(&self.config.upstream_cluster_header, None);
        }

        let authority = self.request_headers.get(":authority").unwrap_or_default();
        let request = match request::parse(&method, &path, authority, &self.config.addressing()) {
            Ok(r) => r,
            Err(error) => return self.answered(&error),
        };
        let query = request::parse_query(path.split_once('?').map_or("", |(_, q)| q));
        let presented = match query.and_then(|q| {
            presented::presented(&self.request_headers, &q, self.config.legacy_seed_auth)
        }) {
            Ok(p) => p,
            Err(error) => return self.answered(&error),
        };
        let digest = self
            .memos
            .borrow_mut()
            .key_digests
            .get_or_insert_with(presented.access_key(), || {
                Some(presented::key_digest(presented.access_key()))
            })
            .cloned()
            .unwrap_or_default();
        self.method = method;
        self.raw_path = path;
        let outcome = match presented {
            Presented::LegacySeed { .. } => self.with_decision(
                Lookup {
                    digest,
                    scope: None,
                },
                request,
            ),
            Presented::SigV4(auth) => {
                // Checks that need no secret come before any cache or policy call: a request
                // failing one costs nothing shared.
                let checked = sigv4::check_region(&auth, &self.config.regions)
                    .and_then(|()| sigv4::precheck(&auth, &self.request_headers, self.now));
                match checked {
                    Ok(timestamp) => self.sigv4_timestamp = timestamp,
                    Err(error) => return self.answered(&error),
                }
                let lookup = Lookup {
                    digest,
                    scope: Some(auth.scope_string()),
                };
                self.sigv4 = Some(auth);
                self.with_decision(lookup, request)
            }
            Presented::SigV2(auth) => self.check_sigv2(
                &auth,
                Lookup {
                    digest,
                    scope: None,
                },
                request,
            ),
        };
        match outcome {
            Outcome::Forward => Action::Continue,
            Outcome::Responded | Outcome::Pending => Action::Pause,
        }
    }

    fn on_http_response_headers(&mut self, _headers: usize, end_of_stream: bool) -> Action {
        let Some(forwarded) = &self.forwarded else {
            return Action::Continue;
        };
        let upstream = header_map(MapType::HttpResponseHeaders);
        let plan = response::plan_object_response(
            &upstream,
            forwarded.asked_range,
            &forwarded.conditions,
            &forwarded.key,
            &self.request_id,
        );
        // A 304/412 decided here needs none of the object: answering locally ends the stream,
        // and Envoy's router resets the upstream request instead of reading it through.
        if !end_of_stream && matches!(plan.body, BodyPlan::Drop | BodyPlan::Error(_)) {
            return self.answer_without_body(&upstream, &plan);
        }
        // The HEAD found If-Range true, but the object changed before the GET: its range is of
        // another entity, and the whole object can no longer be served on this stream.
        if let Some(if_range) = &forwarded.if_range {
            let header = |name| upstream.get(name);
            if plan.body == BodyPlan::Pass
                && !conditional::if_range_holds(if_range, header("etag"), header("last-modified"))
            {
                let error = S3Error::service_unavailable();
                let xml = error.to_xml(&self.resource, &self.request_id);
                self.respond_xml(error.status, xml);
                return Action::Pause;
            }
        }
        // Edits in place: a plain 200 costs a removal or two and one header set.
        if let Some(status) = plan.status {
            self.set_http_response_header(":status", Some(&status.to_string()));
        }
        let metadata = response::disallowed_metadata(&upstream, &self.config.user_metadata);
        for name in plan.remove.iter().chain(&metadata) {
            self.set_http_response_header(name, None);
        }
        for (name, value) in &plan.set {
            self.set_http_response_header(name, Some(value));
        }
        self.body_plan = plan.body;
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let error = match &self.body_plan {
            BodyPlan::Pass => return Action::Continue,
            BodyPlan::Drop => {
                self.set_http_response_body(0, body_size, &[]);
                return Action::Continue;
            }
            BodyPlan::Error(error) => {
                if !end_of_stream {
                    // The object's bytes never reach the client; the error follows at the end.
                    self.set_http_response_body(0, body_size, &[]);
                    return Action::Continue;
                }
                error.clone()
            }
            BodyPlan::UpstreamError(error) => {
                if !end_of_stream {
                    // Hold the upstream's (small) error body: none of it may reach the client.
                    return Action::Pause;
                }
                let body = self
                    .get_http_response_body(0, body_size)
                    .unwrap_or_default();
                let key = self
                    .forwarded
                    .as_ref()
                    .map(|f| f.key.as_str())
                    .unwrap_or("");
                match response::upstream_error_code(&body) {
                    Some(code) => S3Error::from_upstream(error.status, Some(code), key),
                    None => error.clone(),
                }
            }
        };
        let xml = if self.is_head {
            String::new()
        } else {
            error.to_xml(&self.resource, &self.request_id)
        };
        self.set_http_response_body(0, body_size, xml.as_bytes());
        Action::Continue
    }
}

impl Gateway {
    /// Continues with the lookup's decision: from the cache, or from the policy service.
    fn with_decision(&mut self, lookup: Lookup, request: S3Request) -> Outcome {
        let cache_id = lookup.cache_id();
        match self.cached_decision(&cache_id) {
            Some((expires_at, decision)) => {
                let now = self.now;
                // One request (of all workers) refreshes a decision about to expire and waits
                // for it; the others go on with the cached one. If the refresh fails, the still
                // valid decision serves (see `policy_failed`).
                if decision::should_refresh(&decision, expires_at, now)
                    && claim(
                        &cache_id,
                        self.config.claim_slots,
                        now,
                        self.config.policy_timeout_ms,
                    )
                {
                    return self.ask_policy(lookup, request);
                }
                self.decide(&decision, request)
            }
            // One request (of all workers) fetches a missing decision; the rest wait for it.
            None if claim(
                &cache_id,
                self.config.claim_slots,
                self.now,
                self.config.policy_timeout_ms,
            ) =>
            {
                self.ask_policy(lookup, request)
            }
            None => self.park(lookup, request),
        }
    }

    /// Waits for the decision another request is fetching: `wake` resumes this request when
    /// it arrives (or fails it), the root context's tick when it comes from another worker.
    fn park(&mut self, lookup: Lookup, request: S3Request) -> Outcome {
        let deadline = self.now + 2 * (self.config.policy_timeout_ms / 1000 + 1);
        let parked = Parked {
            context_id: self.context_id,
            gateway: self.me.clone(),
        };
        self.waiters
            .borrow_mut()
            .park(&lookup.cache_id(), &lookup, parked, deadline);
        self.waiting = Waiting::Decision { lookup, request };
        Metrics::bump(self.metrics.parked_requests);
        let _ = proxy_wasm::hostcalls::set_tick_period(WAIT_TICK);
        Outcome::Pending
    }

    /// Continues a parked request: with the decision now cached, or as its fetch failed.
    fn resume_parked(&mut self, how: Wake) {
        let Waiting::Decision { lookup, request } =
            std::mem::replace(&mut self.waiting, Waiting::Nothing)
        else {
            return;
        };
        let cache_id = lookup.cache_id();
        let outcome = match how {
            Wake::Failed => self.policy_failed(&cache_id, request),
            Wake::Ready => match self.cached_decision(&cache_id) {
                Some((_, decision)) => self.decide(&decision, request),
                // Answered, but not for this worker (an unknown key's answer stays in the VM
                // that asked): wait again; the root context fetches it.
                None => self.park(lookup, request),
            },
        };
        if let Outcome::Forward = outcome {
            self.resume_http_request();
        }
    }

    /// SigV2 needs the secret, so the policy service checks the signature; what needs no
    /// secret is answered first, costing no call: the clock, the string to sign's size, and a
    /// refusal cached for the key (unknown, disabled), as for SigV4.
    fn check_sigv2(
        &mut self,
        auth: &sigv2::SigV2Auth,
        lookup: Lookup,
        request: S3Request,
    ) -> Outcome {
        let max_lifetime = self.config.sigv2_max_expires_seconds;
        if let Err(error) = sigv2::check_time(auth, &self.request_headers, self.now, max_lifetime) {
            return self.respond_error(&error);
        }
        let addressing = if request.virtual_hosted {
            sigv2::Addressing::VirtualHosted {
                prefix: &self.config.path_prefix,
                bucket: &self.config.bucket,
            }
        } else {
            sigv2::Addressing::PathStyle {
                prefix: &self.config.path_prefix,
            }
        };
        let string_to_sign = match sigv2::string_to_sign(
            &self.method,
            &self.raw_path,
            addressing,
            &self.request_headers,
            auth.expires.as_deref(),
        ) {
            Ok(s) => s,
            Err(error) => return self.respond_error(&error),
        };
        if let Some((_, decision)) = self.cached_decision(&lookup.cache_id()) {
            if decision::refuses(&decision) {
                return self.decide(&decision, request);
            }
        }
        let path = sigv2_verify_path(&lookup.digest);
        let mut headers = vec![
            (":method", "POST"),
            (":path", &path),
            (":authority", &self.config.policy_authority),
            ("content-type", "text/plain"),
            (SIGV2_SIGNATURE_HEADER, &auth.signature),
        ];
        let token = self.config.policy_token.header();
        if let Some(token) = &token {
            headers.push(("authorization", token));
        }
        let call = self.dispatch_http_call(
            &self.config.policy_cluster,
            headers,
            Some(string_to_sign.as_bytes()),
            vec![],
            Duration::from_millis(self.config.policy_timeout_ms),
        );
        match call {
            Ok(_) => {
                Metrics::bump(self.metrics.policy_calls);
                self.waiting = Waiting::SigV2Check { lookup, request };
                Outcome::Pending
            }
            Err(_) => self.respond_error(&S3Error::service_unavailable()),
        }
    }

    fn cached_decision(&self, digest: &str) -> Option<(u64, Rc<Decision>)> {
        let now = self.now;
        let local = self.cache.borrow().get(digest, now);
        match local {
            // Near its expiry another worker may have refreshed it already: look there first.
            Some((expires_at, decision))
                if decision::should_refresh(&decision, expires_at, now) =>
            {
                return Some(
                    shared_decision(&self.cache, digest, now)
                        .filter(|(shared_expiry, _)| *shared_expiry > expires_at)
                        .unwrap_or((expires_at, decision)),
                );
            }
            Some(found) => return Some(found),
            None => {}
        }
        // Another worker may have asked already.
        shared_decision(&self.cache, digest, now)
    }

    fn ask_policy(&mut self, lookup: Lookup, request: S3Request) -> Outcome {
        let config = Rc::clone(&self.config);
        match dispatch_policy_call(self, &config, &lookup) {
            Ok(_) => {
                Metrics::bump(self.metrics.policy_calls);
                self.waiting = Waiting::Policy { lookup, request };
                Outcome::Pending
            }
            Err(()) => {
                let cache_id = lookup.cache_id();
                let outcome = self.policy_failed(&cache_id, request);
                end_fetch(
                    &self.waiters,
                    self.config.claim_slots,
                    &cache_id,
                    false,
                    self.context_id,
                );
                outcome
            }
        }
    }

    fn on_policy_answer(
        &mut self,
        lookup: &Lookup,
        request: S3Request,
        status: Option<u32>,
        body: &[u8],
    ) -> Outcome {
        let cache_id = lookup.cache_id();
        let now = now_seconds(self);
        let stored = store_answer(&self.cache, &self.config, &cache_id, status, body, now);
        let outcome = match &stored {
            Some(decision) => self.decide(decision, request),
            None => self.policy_failed(&cache_id, request),
        };
        // Then the requests that waited for this answer, in this VM.
        end_fetch(
            &self.waiters,
            self.config.claim_slots,
            &cache_id,
            stored.is_some(),
            self.context_id,
        );
        outcome
    }

    /// The policy service failed: serve a recently expired decision if the configuration
    /// allows it (metered), else fail closed.
    fn policy_failed(&mut self, digest: &str, request: S3Request) -> Outcome {
        let now = now_seconds(self);
        // A refresh ahead of expiry failed: the decision still holds, nothing stale about it.
        let fresh = self.cache.borrow().get(digest, now);
        if let Some((_, decision)) = fresh {
            return self.decide(&decision, request);
        }
        let grace = self.config.stale_if_error_seconds;
        let local = self.cache.borrow().get_stale(digest, now);
        // Another worker may hold a fresher copy in shared data.
        let stale = local.or_else(|| {
            if grace == 0 {
                return None;
            }
            let (bytes, _) = self.get_shared_data(&decision::shared_data_key(digest));
            match decision::decode(&bytes?, digest, now.saturating_sub(grace))? {
                (_, d @ Decision::Known(_)) => Some(Rc::new(d)),
                _ => None,
            }
        });
        match stale {
            Some(decision) => {
                Metrics::bump(self.metrics.stale_decisions_served);
                self.decide(&decision, request)
            }
            None => self.respond_error(&S3Error::service_unavailable()),
        }
    }

    /// Checks a SigV4 signature with the signing key the policy service derived for its scope.
    fn verify_sigv4(&mut self, entitlements: &Entitlements) -> Result<(), S3Error> {
        let Some(auth) = self.sigv4.take() else {
            return Ok(());
        };
        // A principal without a secret cannot sign: no request of theirs verifies.
        let hex = entitlements
            .signing_key
            .as_deref()
            .ok_or_else(sigv4::signature_does_not_match)?;
        let mut memos = self.memos.borrow_mut();
        let key = memos
            .verifying_keys
            .get_or_insert_with(hex, || VerifyingKey::from_hex(hex))
            .ok_or_else(sigv4::signature_does_not_match)?;
        sigv4::verify_signature(
            &auth,
            &self.sigv4_timestamp,
            &self.method,
            &self.raw_path,
            &self.request_headers,
            key,
        )
    }

    fn decide(&mut self, decision: &Decision, request: S3Request) -> Outcome {
        let entitlements = match decision {
            Decision::Unknown => return self.respond_error(&S3Error::invalid_access_key_id()),
            Decision::Known(e) if !e.enabled => {
                return self.respond_error(&S3Error::access_denied_because(
                    "Access Denied: the principal is disabled",
                ))
            }
            Decision::Known(e) => e,
        };
        if self.sigv2_refused {
            return self.respond_error(&sigv4::signature_does_not_match());
        }
        if let Err(error) = self.verify_sigv4(entitlements) {
            return self.respond_error(&error);
        }
        match request.operation {
            Operation::ListBuckets => {
                self.respond_xml(200, listing::render_list_buckets(&self.config.bucket))
            }
            Operation::GetBucketLocation => {
                self.respond_xml(200, listing::render_bucket_location())
            }
            Operation::HeadBucket => {
                self.send_http_response(
                    200,
                    vec![
                        ("x-amz-request-id", &self.request_id),
                        (
                            "x-amz-bucket-region",
                            self.config
                                .regions
                                .first()
                                .map_or("us-east-1", String::as_str),
                        ),
                    ],
                    None,
                );
                Outcome::Responded
            }
            Operation::ListObjects(params) => {
                match ListingJob::new(params, entitlements, &self.config.bucket) {
                    Ok(job) => self.drive_listing(Box::new(job)),
                    Err(error) => self.respond_error(&error),
                }
            }
            Operation::GetObject { key } | Operation::HeadObject { key } => {
                self.forward_object(entitlements, key, &request.forwarded_query)
            }
        }
    }

    fn forward_object(
        &mut self,
        entitlements: &Entitlements,
        key: String,
        query: &[(String, String)],
    ) -> Outcome {
        let (grant, relative) = match mapping::resolve_object(entitlements, &key) {
            Ok(found) => found,
            Err(error) => return self.respond_error(&error),
        };
        let config = Rc::clone(&self.config);
        let Some(upstream) = config.upstreams.get(&grant.upstream) else {
            log(
                LogLevel::Error,
                &format!("s3gate: data source {:?} names an upstream missing from the plugin configuration", grant.name),
            );
            return self.respond_error(&S3Error::internal_error());
        };
        let path = mapping::upstream_object_path(grant, relative, query);
        self.set_http_request_header(":path", Some(&path));
        self.set_http_request_header(":authority", Some(&upstream.authority));
        self.set_http_request_header(
            &self.config.upstream_cluster_header,
            Some(&upstream.cluster),
        );
        // The client's date and payload hash may date and describe the gateway's request too:
        // each header left as it is saves a host call.
        let carried = Carried {
            amz_date: self.request_headers.only("x-amz-date"),
            content_sha256: self.request_headers.only("x-amz-content-sha256"),
        };
        let signed = self.sign_upstream(
            &grant.upstream,
            &self.method,
            &upstream.authority,
            &path,
            self.now,
            carried,
        );
        // The client's credentials never go upstream: the gateway's own signature replaces
        // them (signed here, or by the cluster's upstream signing filter).
        for (name, _) in self.request_headers.pairs() {
            let replaced = signed
                .as_ref()
                .is_some_and(|s| s.headers().any(|(n, _)| n == name));
            if !replaced && (name == "authorization" || name.starts_with("x-amz-")) {
                self.set_http_request_header(name, None);
            }
        }
        if let Some(signed) = &signed {
            for (name, value) in signed.headers() {
                if self.request_headers.only(name) != Some(value) {
                    self.set_http_request_header(name, Some(value));
                }
            }
        }
        let range = self.request_headers.get("range");
        let asked_range = match range {
            Some(value) if response::forwardable_range(value).is_none() => {
                // S3 ignores such a Range and serves the whole object; so does the gateway.
                self.set_http_request_header("range", None);
                false
            }
            other => other.is_some(),
        };
        let owned = |name| self.request_headers.get(name).map(str::to_string);
        let conditions = Conditions {
            if_match: owned("if-match"),
            if_none_match: owned("if-none-match"),
            if_modified_since: owned("if-modified-since"),
            if_unmodified_since: owned("if-unmodified-since"),
        };
        // S3 checks If-Match / If-Unmodified-Since (412) before If-None-Match /
        // If-Modified-Since (304); an upstream must not answer 304 first. The gateway evaluates
        // all four on the upstream's answer anyway.
        if conditions.if_match.is_some() || conditions.if_unmodified_since.is_some() {
            self.set_http_request_header("if-none-match", None);
            self.set_http_request_header("if-modified-since", None);
        }
        let suffix = range.and_then(response::suffix_length);
        // The gateway decides If-Range itself (stores may ignore it); without a Range it means
        // nothing.
        let if_range = owned("if-range").filter(|_| asked_range);
        if self.request_headers.get("if-range").is_some() {
            self.set_http_request_header("if-range", None);
        }
        // A GET's answer to its conditions is known from a HEAD, before any of the object is
        // read (a HEAD request reads none anyway); If-Range decides whether the Range is sent.
        let validators_first = (!self.is_head && !conditions.is_empty()) || if_range.is_some();
        self.forwarded = Some(Forwarded {
            key,
            asked_range,
            conditions,
            if_range,
        });
        if validators_first {
            let timeout = Duration::from_millis(self.config.policy_timeout_ms);
            let call =
                self.call_upstream(&grant.upstream, upstream, "HEAD", &path, self.now, timeout);
            return match call {
                Ok(_) => {
                    self.waiting = Waiting::Validators { suffix };
                    Outcome::Pending
                }
                // Fail closed: without the validators, neither the answer to the conditions
                // nor If-Range's is known before the object is read.
                Err(_) => self.respond_error(&S3Error::service_unavailable()),
            };
        }
        if let Some(suffix) = suffix {
            return self.size_for_suffix_range(&grant.upstream, upstream, &path, suffix);
        }
        Outcome::Forward
    }

    /// A conditional GET, once the HEAD answered: a 304/412 is sent from the HEAD's headers;
    /// otherwise the GET goes upstream, without its Range when If-Range is false. The GET's
    /// response is judged again (the object may change in between).
    fn on_validators(&mut self, status: Option<u32>, suffix: Option<u64>) -> Outcome {
        if status != Some(200) {
            // Missing, hidden or failing: the GET's own answer is mapped as usual.
            if let Some(forwarded) = &mut self.forwarded {
                if forwarded.if_range.take().is_some() {
                    // No validators: If-Range cannot hold, so no Range.
                    forwarded.asked_range = false;
                    self.set_http_request_header("range", None);
                }
            }
            return Outcome::Forward;
        }
        let head = header_map(MapType::HttpCallResponseHeaders);
        let Some(forwarded) = &mut self.forwarded else {
            return Outcome::Forward;
        };
        if let Some(if_range) = &forwarded.if_range {
            if !conditional::if_range_holds(if_range, head.get("etag"), head.get("last-modified")) {
                forwarded.if_range = None;
                forwarded.asked_range = false;
                self.set_http_request_header("range", None);
            }
        }
        let forwarded = match &self.forwarded {
            Some(f) => f,
            None => return Outcome::Forward,
        };
        let plan = response::plan_object_response(
            &head,
            forwarded.asked_range,
            &forwarded.conditions,
            &forwarded.key,
            &self.request_id,
        );
        if matches!(plan.body, BodyPlan::Drop | BodyPlan::Error(_)) {
            self.answer_without_body(&head, &plan);
            return Outcome::Responded;
        }
        let size = head
            .get("content-length")
            .and_then(|v| v.parse::<u64>().ok());
        if let (Some(suffix), Some(size), true) = (suffix, size, forwarded.asked_range) {
            if size > 0 && suffix >= size {
                self.set_http_request_header("range", Some("bytes=0-"));
            }
        }
        Outcome::Forward
    }

    /// A suffix range longer than the object means the whole object (206) in S3, but some
    /// stores answer 416. Learn the size first (HEAD), and ask for `bytes=0-` in that case.
    fn size_for_suffix_range(
        &mut self,
        upstream_name: &str,
        upstream: &Upstream,
        path: &str,
        suffix: u64,
    ) -> Outcome {
        let timeout = Duration::from_millis(self.config.policy_timeout_ms);
        let call = self.call_upstream(upstream_name, upstream, "HEAD", path, self.now, timeout);
        match call {
            Ok(_) => {
                self.waiting = Waiting::ObjectSize { suffix };
                Outcome::Pending
            }
            // The GET itself will tell; the size check is only a refinement.
            Err(_) => Outcome::Forward,
        }
    }

    fn drive_listing(&mut self, mut job: Box<ListingJob>) -> Outcome {
        match job.next_step() {
            Step::Done(xml) => self.respond_xml(200, xml),
            Step::Fetch(fetch) => {
                let Some(upstream) = self.config.upstreams.get(&fetch.upstream) else {
                    log(LogLevel::Error, "s3gate: a data source names an upstream missing from the plugin configuration");
                    return self.respond_error(&S3Error::internal_error());
                };
                let now = now_seconds(self);
                let call = self.call_upstream(
                    &fetch.upstream,
                    upstream,
                    "GET",
                    &fetch.path,
                    now,
                    LISTING_TIMEOUT,
                );
                match call {
                    Ok(_) => {
                        self.waiting = Waiting::Listing(job);
                        Outcome::Pending
                    }
                    Err(_) => self.respond_error(&S3Error::service_unavailable()),
                }
            }
        }
    }

    /// The filter's own request to an upstream (a listing page, an object's size), signed like
    /// the requests it forwards.
    fn call_upstream(
        &self,
        upstream_name: &str,
        upstream: &Upstream,
        method: &str,
        path: &str,
        now: u64,
        timeout: Duration,
    ) -> Result<u32, Status> {
        let signed = self.sign_upstream(
            upstream_name,
            method,
            &upstream.authority,
            path,
            now,
            Carried::default(),
        );
        let mut headers = vec![
            (":method", method),
            (":path", path),
            (":authority", upstream.authority.as_str()),
            (":scheme", "http"),
        ];
        headers.extend(signed.iter().flat_map(SignedHeaders::headers));
        self.dispatch_http_call(&upstream.cluster, headers, None, vec![], timeout)
    }

    /// The gateway's own SigV4 headers for a request to `upstream_name`, when the filter signs
    /// for that upstream (`None`: the cluster's signing filter does, or nothing).
    fn sign_upstream(
        &self,
        upstream_name: &str,
        method: &str,
        authority: &str,
        path: &str,
        now: u64,
        carried: Carried,
    ) -> Option<SignedHeaders> {
        let signer = self.signers.get(upstream_name)?;
        let signed = signer
            .borrow_mut()
            .sign_carrying(method, authority, path, now, carried);
        Some(signed)
    }

    fn respond_xml(&mut self, status: u32, xml: String) -> Outcome {
        let body = if self.is_head {
            None
        } else {
            Some(xml.as_bytes())
        };
        self.send_http_response(
            status,
            vec![
                ("content-type", "application/xml"),
                ("x-amz-request-id", &self.request_id),
            ],
            body,
        );
        Outcome::Responded
    }

    fn respond_error(&mut self, error: &S3Error) -> Outcome {
        let xml = error.to_xml(&self.resource, &self.request_id);
        self.respond_xml(error.status, xml)
    }

    /// The client's answer to an object request that carries no object (304, 412), planned
    /// from `upstream` (the HEAD's or the GET's headers) and sent as a local reply: from the
    /// GET's response headers it ends the stream, and Envoy resets the upstream request unread.
    fn answer_without_body(
        &mut self,
        upstream: &HeaderMap,
        plan: &response::ResponsePlan,
    ) -> Action {
        let headers = plan.apply(upstream);
        let status = headers
            .iter()
            .find(|(n, _)| n == ":status")
            .and_then(|(_, v)| v.parse::<u32>().ok())
            .unwrap_or(502);
        let xml = match &plan.body {
            BodyPlan::Error(error) if !self.is_head => {
                Some(error.to_xml(&self.resource, &self.request_id))
            }
            _ => None,
        };
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .filter(|(n, _)| !n.starts_with(':') && n != "content-length")
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        self.send_http_response(status, headers, xml.as_deref().map(str::as_bytes));
        Action::Pause
    }

    /// Answers with an error from `on_http_request_headers`.
    fn answered(&mut self, error: &S3Error) -> Action {
        self.respond_error(error);
        Action::Pause
    }
}

/// One of the stream's header maps, read in place (`headers::HeaderMap`): the SDK's reader
/// copies every name and value into its own `String` and panics, taking the VM down, on a
/// value that is not UTF-8, which any client may send.
#[allow(unsafe_code)]
fn header_map(map: MapType) -> HeaderMap {
    #[link(wasm_import_module = "env")]
    extern "C" {
        fn proxy_get_header_map_pairs(
            map_type: MapType,
            return_map_data: *mut *mut u8,
            return_map_size: *mut usize,
        ) -> Status;
    }
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    // SAFETY: the host writes a buffer it allocated through this module's
    // `proxy_on_memory_allocate` (the SDK's, a `Vec<u8>` of exactly `size` bytes) and hands it
    // over; it is taken back as that `Vec` and freed once read.
    let bytes = unsafe {
        if proxy_get_header_map_pairs(map, &mut data, &mut size) != Status::Ok || data.is_null() {
            return HeaderMap::default();
        }
        Vec::from_raw_parts(data, size, size)
    };
    HeaderMap::from_serialized(bytes).unwrap_or_else(|| {
        log(
            LogLevel::Error,
            "s3gate: the host sent a header map that does not parse",
        );
        HeaderMap::default()
    })
}

thread_local! {
    /// One VM per thread: its ids, from a random seed (WASI's random_get, through std's
    /// hasher seeds).
    static REQUEST_IDS: RefCell<RequestIds> = RefCell::new(RequestIds::new({
        use std::hash::{BuildHasher, Hasher};
        std::collections::hash_map::RandomState::new().build_hasher().finish()
    }));
}

fn next_request_id() -> String {
    REQUEST_IDS.with(|ids| ids.borrow_mut().next_id())
}

fn now_seconds(context: &dyn Context) -> u64 {
    context
        .get_current_time()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn log(level: LogLevel, message: &str) {
    let _ = proxy_wasm::hostcalls::log(level, message);
}
