//! The thin layer that talks to Envoy: proxy-wasm contexts, header and body access, calls to the
//! policy service and the upstream. All decisions are made by the pure modules.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType};

use crate::auth::{self, Presented};
use crate::conditional::Conditions;
use crate::config::PluginConfig;
use crate::decision::{self, Decision, LocalCache};
use crate::entitlements::{lookup_path, sigv2_verify_path, Entitlements, SIGV2_SIGNATURE_HEADER};
use crate::listing::{self, ListingJob, Step};
use crate::mapping;
use crate::request::{self, Operation, S3Request};
use crate::response::{self, BodyPlan};
use crate::s3error::S3Error;
use crate::sigv2;
use crate::sigv4::{self, SigV4Auth};
use crate::xml::decode_hex;

/// Upstream listing pages can be slow on big prefixes; the client's own timeout still applies.
const LISTING_TIMEOUT: Duration = Duration::from_secs(30);

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

#[derive(Default)]
struct Root {
    config: Option<Rc<PluginConfig>>,
    cache: Rc<RefCell<LocalCache>>,
    metrics: Metrics,
}

/// Envoy counters (`wasmcustom.s3gate_*` in the admin stats).
#[derive(Default, Clone, Copy)]
struct Metrics {
    policy_calls: Option<u32>,
    stale_decisions_served: Option<u32>,
}

impl Metrics {
    fn define() -> Self {
        let counter =
            |name: &str| proxy_wasm::hostcalls::define_metric(MetricType::Counter, name).ok();
        Metrics {
            policy_calls: counter("s3gate_policy_calls"),
            stale_decisions_served: counter("s3gate_stale_decisions_served"),
        }
    }

    fn bump(id: Option<u32>) {
        if let Some(id) = id {
            let _ = proxy_wasm::hostcalls::increment_metric(id, 1);
        }
    }
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        match PluginConfig::parse(&bytes) {
            Ok(config) => {
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

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        let config = Rc::clone(self.config.as_ref()?);
        Some(Box::new(Gateway {
            config,
            cache: Rc::clone(&self.cache),
            metrics: self.metrics,
            request_headers: Vec::new(),
            now: 0,
            method: String::new(),
            raw_path: String::new(),
            sigv4: None,
            request_id: String::new(),
            resource: String::new(),
            is_head: false,
            waiting: Waiting::Nothing,
            forwarded: None,
            body_plan: BodyPlan::Pass,
        }))
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
    Listing(Box<ListingJob>),
    /// The object's size, for a suffix range.
    ObjectSize {
        suffix: u64,
    },
}

/// Which decision a request needs: the key's, and for SigV4 the signing scope's.
struct Lookup {
    digest: String,
    scope: Option<String>,
}

impl Lookup {
    /// The cache identity: decisions that carry a signing key are per scope.
    fn cache_id(&self) -> String {
        match &self.scope {
            Some(scope) => format!("{}@{}", self.digest, scope),
            None => self.digest.clone(),
        }
    }
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
}

struct Gateway {
    config: Rc<PluginConfig>,
    cache: Rc<RefCell<LocalCache>>,
    metrics: Metrics,
    /// The client's request headers, read once.
    request_headers: Vec<(String, String)>,
    /// Seconds since the epoch when the request arrived.
    now: u64,
    method: String,
    /// `:path` exactly as the client sent it (signatures cover it).
    raw_path: String,
    /// A SigV4 credential waiting for its signing key.
    sigv4: Option<SigV4Auth>,
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
        let status = self
            .get_http_call_response_header(":status")
            .and_then(|s| s.parse::<u32>().ok());
        let body = self
            .get_http_call_response_body(0, body_size)
            .unwrap_or_default();
        let outcome = match std::mem::replace(&mut self.waiting, Waiting::Nothing) {
            Waiting::Policy { lookup, request } => {
                self.on_policy_answer(&lookup, request, status, &body)
            }
            Waiting::SigV2Check { lookup, request } => match status {
                Some(204) => self.with_decision(lookup, request),
                Some(403) => self.respond_error(&sigv4::signature_does_not_match()),
                Some(404) => self.respond_error(&S3Error::invalid_access_key_id()),
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
            Waiting::Listing(mut job) => match job.feed(status.unwrap_or(503), &body) {
                Ok(()) => self.drive_listing(job),
                Err(error) => self.respond_error(&error),
            },
            Waiting::Nothing => return,
        };
        if let Outcome::Forward = outcome {
            self.resume_http_request();
        }
    }
}

impl HttpContext for Gateway {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        // One copy of the headers per request; everything below reads from it.
        self.request_headers = self.get_http_request_headers();
        // One clock reading per request: signature windows and cache expiry use the same now.
        self.now = now_seconds(self);
        let method = self
            .request_header(":method")
            .unwrap_or_default()
            .to_string();
        let path = self.request_header(":path").unwrap_or_default().to_string();
        self.request_id = self
            .request_header("x-request-id")
            .unwrap_or("s3gate")
            .to_string();
        self.resource = path.split('?').next().unwrap_or("").to_string();
        self.is_head = method == "HEAD";
        // Nobody but this filter picks the upstream cluster.
        if self
            .request_header(&self.config.upstream_cluster_header)
            .is_some()
        {
            self.set_http_request_header(&self.config.upstream_cluster_header, None);
        }

        let authority = self.request_header(":authority").unwrap_or_default();
        let request = match request::parse(&method, &path, authority, &self.config.addressing()) {
            Ok(r) => r,
            Err(error) => return self.answered(&error),
        };
        let query = request::parse_query(path.split_once('?').map_or("", |(_, q)| q));
        let presented = match query
            .and_then(|q| auth::presented(&self.request_headers, &q, self.config.legacy_seed_auth))
        {
            Ok(p) => p,
            Err(error) => return self.answered(&error),
        };
        let digest = auth::key_digest(presented.access_key());
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

    fn on_http_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        let Some(forwarded) = &self.forwarded else {
            return Action::Continue;
        };
        let upstream = self.get_http_response_headers();
        let plan = response::plan_object_response(
            &upstream,
            forwarded.asked_range,
            &forwarded.conditions,
            &forwarded.key,
            &self.request_id,
        );
        // Edits in place: a plain 200 costs a removal or two and one header set.
        if let Some(status) = plan.status {
            self.set_http_response_header(":status", Some(&status.to_string()));
        }
        for name in &plan.remove {
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
    fn request_header(&self, name: &str) -> Option<&str> {
        self.request_headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

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
                    && self.claim_refresh(&cache_id, now)
                {
                    return self.ask_policy(lookup, request);
                }
                self.decide(&decision, request)
            }
            None => self.ask_policy(lookup, request),
        }
    }

    /// Takes the shared claim to refresh `cache_id`; false if another request holds it.
    fn claim_refresh(&self, cache_id: &str, now: u64) -> bool {
        let key = decision::refresh_claim_key(cache_id);
        let (held, cas) = self.get_shared_data(&key);
        let held_until = held
            .and_then(|b| b.get(..8).and_then(|b| b.try_into().ok()))
            .map(u64::from_be_bytes);
        if held_until.is_some_and(|until| until > now) {
            return false;
        }
        let until = now + self.config.policy_timeout_ms / 1000 + 1;
        self.set_shared_data(&key, Some(&until.to_be_bytes()), cas)
            .is_ok()
    }

    /// SigV2 needs the secret, so the policy service checks the signature.
    fn check_sigv2(
        &mut self,
        auth: &sigv2::SigV2Auth,
        lookup: Lookup,
        request: S3Request,
    ) -> Outcome {
        if let Err(error) = sigv2::check_time(auth, &self.request_headers, self.now) {
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
        let path = sigv2_verify_path(&lookup.digest);
        let call = self.dispatch_http_call(
            &self.config.policy_cluster,
            vec![
                (":method", "POST"),
                (":path", &path),
                (":authority", &self.config.policy_authority),
                ("content-type", "text/plain"),
                (SIGV2_SIGNATURE_HEADER, &auth.signature),
            ],
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
                    self.shared_decision(digest, now)
                        .filter(|(shared_expiry, _)| *shared_expiry > expires_at)
                        .unwrap_or((expires_at, decision)),
                );
            }
            Some(found) => return Some(found),
            None => {}
        }
        // Another worker may have asked already.
        self.shared_decision(digest, now)
    }

    /// The decision in shared data (put there by any worker), copied into this VM's cache.
    fn shared_decision(&self, digest: &str, now: u64) -> Option<(u64, Rc<Decision>)> {
        let (bytes, _) = self.get_shared_data(&decision::shared_data_key(digest));
        let (expires_at, decision) = decision::decode(&bytes?, now)?;
        let decision = Rc::new(decision);
        self.cache
            .borrow_mut()
            .insert(digest.to_string(), expires_at, Rc::clone(&decision), now);
        Some((expires_at, decision))
    }

    fn ask_policy(&mut self, lookup: Lookup, request: S3Request) -> Outcome {
        let path = lookup_path(&lookup.digest, lookup.scope.as_deref());
        let call = self.dispatch_http_call(
            &self.config.policy_cluster,
            vec![
                (":method", "GET"),
                (":path", &path),
                (":authority", &self.config.policy_authority),
            ],
            None,
            vec![],
            Duration::from_millis(self.config.policy_timeout_ms),
        );
        match call {
            Ok(_) => {
                Metrics::bump(self.metrics.policy_calls);
                self.waiting = Waiting::Policy { lookup, request };
                Outcome::Pending
            }
            Err(_) => {
                log(
                    LogLevel::Warn,
                    "s3gate: policy service call could not be dispatched",
                );
                self.policy_failed(&lookup.cache_id(), request)
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
        let digest = cache_id.as_str();
        let now = now_seconds(self);
        let (decision, expires_at) = match status {
            Some(200) => match serde_json::from_slice::<Entitlements>(body) {
                Ok(e) => {
                    let ttl = u64::from(e.ttl_seconds);
                    (Decision::Known(e), now + ttl)
                }
                Err(_) => {
                    log(
                        LogLevel::Warn,
                        "s3gate: policy service answered an unreadable document",
                    );
                    return self.policy_failed(digest, request);
                }
            },
            Some(404) => (Decision::Unknown, now + self.config.negative_cache_seconds),
            other => {
                log(
                    LogLevel::Warn,
                    &format!("s3gate: policy service unavailable (status {other:?})"),
                );
                return self.policy_failed(digest, request);
            }
        };
        // Unknown keys stay per-VM: a flood of random keys must not fill shared memory.
        if let Decision::Known(_) = decision {
            let _ = self.set_shared_data(
                &decision::shared_data_key(digest),
                Some(&decision::encode(expires_at, &decision)),
                None,
            );
            // The next refresh may be claimed as soon as this answer is in.
            let _ = self.set_shared_data(
                &decision::refresh_claim_key(digest),
                Some(&0u64.to_be_bytes()),
                None,
            );
        }
        let decision = Rc::new(decision);
        self.cache
            .borrow_mut()
            .insert(digest.to_string(), expires_at, Rc::clone(&decision), now);
        self.decide(&decision, request)
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
            match decision::decode(&bytes?, now.saturating_sub(grace))? {
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
        let key: [u8; 32] = entitlements
            .signing_key
            .as_deref()
            .and_then(decode_hex)
            .and_then(|k| k.try_into().ok())
            // A principal without a secret cannot sign: no request of theirs verifies.
            .ok_or_else(sigv4::signature_does_not_match)?;
        sigv4::verify(
            &auth,
            &self.method,
            &self.raw_path,
            &self.request_headers,
            self.now,
            &key,
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
                        ("x-amz-bucket-region", "us-east-1"),
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
        // The client's credentials never go upstream; the upstream signer adds the gateway's own.
        for (name, _) in &self.request_headers {
            if name == "authorization" || name.starts_with("x-amz-") {
                self.set_http_request_header(name, None);
            }
        }
        let range = self.request_header("range");
        let asked_range = match range {
            Some(value) if response::forwardable_range(value).is_none() => {
                // S3 ignores such a Range and serves the whole object; so does the gateway.
                self.set_http_request_header("range", None);
                false
            }
            other => other.is_some(),
        };
        let owned = |name| self.request_header(name).map(str::to_string);
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
        self.forwarded = Some(Forwarded {
            key,
            asked_range,
            conditions,
        });
        if let Some(suffix) = suffix {
            return self.size_for_suffix_range(
                &upstream.cluster,
                &upstream.authority,
                &path,
                suffix,
            );
        }
        Outcome::Forward
    }

    /// A suffix range longer than the object means the whole object (206) in S3, but some
    /// stores answer 416. Learn the size first (HEAD), and ask for `bytes=0-` in that case.
    fn size_for_suffix_range(
        &mut self,
        cluster: &str,
        authority: &str,
        path: &str,
        suffix: u64,
    ) -> Outcome {
        let call = self.dispatch_http_call(
            cluster,
            vec![
                (":method", "HEAD"),
                (":path", path),
                (":authority", authority),
                (":scheme", "http"),
            ],
            None,
            vec![],
            Duration::from_millis(self.config.policy_timeout_ms),
        );
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
                let call = self.dispatch_http_call(
                    &upstream.cluster,
                    vec![
                        (":method", "GET"),
                        (":path", &fetch.path),
                        (":authority", &upstream.authority),
                        (":scheme", "http"),
                    ],
                    None,
                    vec![],
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

    /// Answers with an error from `on_http_request_headers`.
    fn answered(&mut self, error: &S3Error) -> Action {
        self.respond_error(error);
        Action::Pause
    }
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
