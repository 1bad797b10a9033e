//! One request's way through the gateway: its credentials checked (the cheap checks first),
//! its principal's decision found (cached, fetched, or waited for), its signature verified,
//! then the operation: a local answer, a listing, or an object request sent upstream.

use std::rc::Rc;

use super::audit::{Audit, Verdict};
use super::decisions::Lookup;
use super::host::{
    Action, Call, CallAnswer, Command, Counter, Histogram, Host, HostRefused, Level,
};
use super::table::{ParkedPass, Pass, TableRequest, TailRead};
use super::{Outcome, StreamId, Vm, Wake, WAIT_TICK_MS};
use crate::headers::{HeaderMap, Headers};
use crate::logging;
use crate::policy::decision::{self, Decision};
use crate::policy::entitlements::{sigv2_verify_path, Entitlements, SIGV2_SIGNATURE_HEADER};
use crate::s3::conditional::Conditions;
use crate::s3::error::S3Error;
use crate::s3::listing::{self, ListingJob};
use crate::s3::request::{self, Operation, S3Request};
use crate::s3::response::BodyPlan;
use crate::signature::presented::{self, Presented};
use crate::signature::sigv2;
use crate::signature::sigv4::{self, SigV4Auth, VerifyingKey};
use crate::tables::view::ViewId;

/// What a paused request waits for.
pub(crate) enum Waiting {
    Nothing,
    /// The policy service's SigV2 signature check; then the principal's decision.
    SigV2Check {
        lookup: Lookup,
        request: S3Request,
    },
    /// Its own call for the principal's decision.
    PolicyAnswer {
        lookup: Lookup,
        request: S3Request,
    },
    /// Parked: another request (of any worker) is fetching the decision.
    Parked {
        lookup: Lookup,
        request: S3Request,
    },
    /// A listing page from an upstream.
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
    /// The validators (a HEAD) of a masked table's object.
    TableHead,
    /// A ranged read of the pass that measures a view.
    TablePass(Box<Pass>),
    /// Parked: another request (of any worker) is measuring the view.
    ViewParked(Box<ParkedPass>),
    /// A read of a masked Parquet object's tail, for its footer.
    ParquetTail(Box<TailRead>),
    /// The HEAD of a listed masked object its listing gave no ETag for.
    ListedHead {
        job: Box<ListingJob>,
        measure: Box<listing::Measure>,
    },
    /// A call it could not send from the context that resumed it: the root context sends it.
    Deferred {
        call: Call,
        then: Box<Waiting>,
    },
}

/// An object request sent upstream, remembered for its response.
pub(crate) struct Forwarded {
    /// The upstream's name in the plugin configuration (for logs).
    pub(crate) upstream: String,
    pub(crate) key: String,
    pub(crate) asked_range: bool,
    pub(crate) conditions: Conditions,
    /// The client's `If-Range`, while its Range is still sent upstream.
    pub(crate) if_range: Option<String>,
}

/// The state of one request.
pub(crate) struct Exchange {
    pub(crate) stream: StreamId,
    /// The client's request headers, read once.
    pub(crate) request_headers: HeaderMap,
    /// Seconds since the epoch when the request arrived: signature windows and cache expiry
    /// use the same now.
    pub(crate) now: u64,
    pub(crate) method: String,
    /// `:path` exactly as the client sent it (signatures cover it).
    pub(crate) raw_path: String,
    /// A SigV4 credential waiting for its signing key, with its request timestamp as
    /// `sigv4::precheck` found it.
    sigv4: Option<(SigV4Auth, String)>,
    /// The policy service refused this request's SigV2 signature; its decision is fetched only
    /// to answer an unknown or disabled key as such (and cache it).
    sigv2_refused: bool,
    pub(crate) request_id: String,
    /// The client's own path (no query), echoed in errors.
    pub(crate) resource: String,
    pub(crate) is_head: bool,
    pub(crate) waiting: Waiting,
    pub(crate) forwarded: Option<Forwarded>,
    /// What happens to the upstream's response body.
    pub(crate) body_plan: BodyPlan,
    /// A masked table's object request (its view answered instead of the object).
    pub(crate) table: Option<Box<TableRequest>>,
    /// What the access log records of this request.
    pub(crate) audit: Audit,
    /// When its own policy call went out (milliseconds), for the call's latency.
    policy_sent_ms: Option<u64>,
    /// How often its decision call failed and was sent again.
    policy_retries: u8,
    /// The configured `decision_header`, if any.
    decision_header_name: Option<String>,
}

impl Exchange {
    /// A request's headers arrived: the exchange, and what the host does with the stream.
    pub(crate) fn start(
        vm: &mut Vm,
        host: &mut dyn Host,
        stream: StreamId,
        request_headers: HeaderMap,
    ) -> (Exchange, Action) {
        let method = request_headers
            .get(":method")
            .unwrap_or_default()
            .to_string();
        let raw_path = request_headers.get(":path").unwrap_or_default().to_string();
        let mut exchange = Exchange {
            stream,
            now: host.now(),
            resource: raw_path.split('?').next().unwrap_or("").to_string(),
            is_head: method == "HEAD",
            method,
            raw_path,
            request_headers,
            sigv4: None,
            sigv2_refused: false,
            request_id: vm.next_request_id(),
            waiting: Waiting::Nothing,
            forwarded: None,
            body_plan: BodyPlan::Pass,
            table: None,
            audit: Audit::default(),
            policy_sent_ms: None,
            policy_retries: 0,
            decision_header_name: vm.config.decision_header.clone(),
        };
        let action = match exchange.authenticate(vm, host) {
            Outcome::Forward => Action::Continue,
            Outcome::Responded | Outcome::Pending => Action::Pause,
        };
        (exchange, action)
    }

    fn authenticate(&mut self, vm: &mut Vm, host: &mut dyn Host) -> Outcome {
        // For the access log (envoy.yaml): the gateway's id, and the path without credentials.
        host.command(
            self.stream,
            Command::SetProperty("s3gate_request_id", self.request_id.as_bytes()),
        );
        let logged_path = logging::redacted_path(&self.raw_path);
        host.command(
            self.stream,
            Command::SetProperty("s3gate_path", logged_path.as_bytes()),
        );
        // Nobody but this filter picks the upstream cluster.
        let cluster_header = vm.config.upstream_cluster_header.as_str();
        if self.request_headers.get(cluster_header).is_some() {
            host.command(self.stream, Command::SetRequestHeader(cluster_header, None));
        }
        let authority = self.request_headers.get(":authority").unwrap_or_default();
        let request = match request::parse(
            &self.method,
            &self.raw_path,
            authority,
            &vm.config.addressing(),
        ) {
            Ok(r) => r,
            Err(error) => return self.respond_error(host, &error),
        };
        self.audit.operation(&request.operation, &vm.config.bucket);
        let presented = match presented::presented(
            &self.request_headers,
            &request.query,
            vm.config.legacy_seed_auth,
        ) {
            Ok(p) => p,
            Err(error) => return self.respond_error(host, &error),
        };
        let key_digest = vm
            .memos
            .key_digests
            .get_or_insert_with(presented.access_key(), || {
                Some(presented::key_digest(presented.access_key()))
            })
            .cloned()
            .unwrap_or_default();
        self.audit.key_digest(&key_digest);
        self.audit.signature(match &presented {
            Presented::LegacySeed { .. } => "seed",
            Presented::SigV4(auth) if auth.presigned.is_some() => "sigv4-presigned",
            Presented::SigV4(_) => "sigv4",
            Presented::SigV2(auth) if auth.expires.is_some() => "sigv2-presigned",
            Presented::SigV2(_) => "sigv2",
        });
        match presented {
            Presented::LegacySeed { .. } => self.with_decision(
                vm,
                host,
                Lookup {
                    key_digest,
                    scope: None,
                },
                request,
            ),
            Presented::SigV4(auth) => {
                // Checks that need no secret come before any cache or policy call: a request
                // failing one costs nothing shared.
                let checked = sigv4::check_region(&auth, &vm.config.regions)
                    .and_then(|()| sigv4::precheck(&auth, &self.request_headers, self.now));
                let timestamp = match checked {
                    Ok(timestamp) => timestamp,
                    Err(error) => return self.respond_error(host, &error),
                };
                let lookup = Lookup {
                    key_digest,
                    scope: Some(auth.scope_string()),
                };
                self.sigv4 = Some((auth, timestamp));
                self.with_decision(vm, host, lookup, request)
            }
            Presented::SigV2(auth) => self.check_sigv2(
                vm,
                host,
                &auth,
                Lookup {
                    key_digest,
                    scope: None,
                },
                request,
            ),
        }
    }

    /// Continues with the lookup's decision: from the cache, or from the policy service.
    fn with_decision(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        lookup: Lookup,
        request: S3Request,
    ) -> Outcome {
        let cache_id = lookup.cache_id();
        let cached = vm.cached_decision(host, &cache_id, self.now);
        let outcome = if cached.is_some() { "hit" } else { "miss" };
        host.count(Counter::DecisionCache { outcome }, 1);
        match cached {
            Some(cached) => {
                // One request (of all workers) refreshes a decision about to expire and waits
                // for it; the others go on with the cached one. If the refresh fails, the still
                // valid decision serves (see `policy_failed`).
                if cached.refresh_due && vm.claim(host, &cache_id, self.now) {
                    host.count(Counter::DecisionCache { outcome: "refresh" }, 1);
                    return self.ask_policy(vm, host, lookup, request);
                }
                self.decide(vm, host, &cached.decision, request)
            }
            // One request (of all workers) fetches a missing decision; the rest wait for it.
            None if vm.claim(host, &cache_id, self.now) => {
                self.ask_policy(vm, host, lookup, request)
            }
            None => self.park(vm, host, lookup, request),
        }
    }

    /// Waits for the decision another request is fetching: the fetch's end resumes this
    /// request (or fails it), the root context's tick does when it comes from another worker.
    fn park(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        lookup: Lookup,
        request: S3Request,
    ) -> Outcome {
        let deadline = self.now + 2 * (vm.config.policy_timeout_ms / 1000 + 1);
        vm.waiters
            .park(&lookup.cache_id(), &lookup, self.stream, deadline);
        self.waiting = Waiting::Parked { lookup, request };
        host.count(Counter::ParkedRequests, 1);
        host.set_tick_period_ms(WAIT_TICK_MS);
        Outcome::Pending
    }

    /// Continues a parked request: with the decision now cached, or as its fetch failed.
    pub(crate) fn resume_parked(&mut self, vm: &mut Vm, host: &mut dyn Host, how: Wake) -> Outcome {
        if let Waiting::ViewParked(_) = self.waiting {
            return self.resume_pass(vm, host);
        }
        let Waiting::Parked { lookup, request } =
            std::mem::replace(&mut self.waiting, Waiting::Nothing)
        else {
            return Outcome::Pending;
        };
        let cache_id = lookup.cache_id();
        match how {
            Wake::Failed => self.policy_failed(vm, host, &cache_id, request),
            Wake::Ready => match vm.cached_decision(host, &cache_id, self.now) {
                Some(cached) => self.decide(vm, host, &cached.decision, request),
                // Answered, but not for this worker (an unknown key's answer stays in the VM
                // that asked): wait again; the root context fetches it.
                None => self.park(vm, host, lookup, request),
            },
        }
    }

    /// SigV2 needs the secret, so the policy service checks the signature; what needs no
    /// secret is answered first, costing no call: the clock, the string to sign's size, and a
    /// refusal cached for the key (unknown, disabled), as for SigV4.
    fn check_sigv2(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        auth: &sigv2::SigV2Auth,
        lookup: Lookup,
        request: S3Request,
    ) -> Outcome {
        let max_lifetime = vm.config.sigv2_max_expires_seconds;
        if let Err(error) = sigv2::check_time(auth, &self.request_headers, self.now, max_lifetime) {
            return self.respond_error(host, &error);
        }
        let style = if request.virtual_hosted {
            sigv2::Style::VirtualHosted {
                prefix: &vm.config.path_prefix,
                bucket: &vm.config.bucket,
            }
        } else {
            sigv2::Style::PathStyle {
                prefix: &vm.config.path_prefix,
            }
        };
        let string_to_sign = match sigv2::string_to_sign(
            &self.method,
            &self.resource,
            &request.query,
            style,
            &self.request_headers,
            auth.expires.as_deref(),
        ) {
            Ok(s) => s,
            Err(error) => return self.respond_error(host, &error),
        };
        if let Some(cached) = vm.cached_decision(host, &lookup.cache_id(), self.now) {
            if decision::refuses(&cached.decision) {
                return self.decide(vm, host, &cached.decision, request);
            }
        }
        let mut headers = vec![
            (":method".to_string(), "POST".to_string()),
            (":path".to_string(), sigv2_verify_path(&lookup.key_digest)),
            (":authority".to_string(), vm.config.policy_authority.clone()),
            ("content-type".to_string(), "text/plain".to_string()),
            (SIGV2_SIGNATURE_HEADER.to_string(), auth.signature.clone()),
        ];
        if let Some(token) = vm.config.policy_token.header() {
            headers.push(("authorization".to_string(), token));
        }
        let call = Call {
            stream: Some(self.stream),
            cluster: vm.config.policy_cluster.clone(),
            headers,
            body: Some(string_to_sign.into_bytes()),
            timeout_ms: vm.config.policy_timeout_ms,
        };
        host.count(Counter::PolicyCalls, 1);
        self.policy_sent_ms = Some(host.now_ms());
        self.send(vm, host, call, Waiting::SigV2Check { lookup, request })
    }

    fn ask_policy(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        lookup: Lookup,
        request: S3Request,
    ) -> Outcome {
        let call = vm.policy_call(&lookup, Some(self.stream));
        host.count(Counter::PolicyCalls, 1);
        self.policy_sent_ms = Some(host.now_ms());
        self.send(vm, host, call, Waiting::PolicyAnswer { lookup, request })
    }

    /// Sends the request's call and waits for `then`; if the host refuses it, the request goes
    /// on as that wait's failure says.
    pub(crate) fn send(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        call: Call,
        then: Waiting,
    ) -> Outcome {
        match vm.dispatch_for(host, self.stream, call) {
            Ok(None) => {
                self.waiting = then;
                Outcome::Pending
            }
            Ok(Some(call)) => {
                self.waiting = Waiting::Deferred {
                    call,
                    then: Box::new(then),
                };
                Outcome::Pending
            }
            Err(HostRefused) => self.not_sent(vm, host, then),
        }
    }

    /// The root context sends the call this request could not send itself.
    pub(crate) fn send_deferred(&mut self, vm: &mut Vm, host: &mut dyn Host) -> Outcome {
        match std::mem::replace(&mut self.waiting, Waiting::Nothing) {
            Waiting::Deferred { call, then } => self.send(vm, host, call, *then),
            other => {
                self.waiting = other;
                Outcome::Pending
            }
        }
    }

    /// A call the host would not send: fail closed, except where the call only refines.
    fn not_sent(&mut self, vm: &mut Vm, host: &mut dyn Host, then: Waiting) -> Outcome {
        match then {
            Waiting::PolicyAnswer { lookup, request } => {
                host.count(Counter::PolicyFailures, 1);
                host.log(
                    Level::Warn,
                    &format!(
                        "s3gate: policy service call could not be dispatched to cluster {:?}",
                        vm.config.policy_cluster
                    ),
                );
                let cache_id = lookup.cache_id();
                let outcome = self.policy_failed(vm, host, &cache_id, request);
                vm.end_fetch(host, &cache_id, false);
                outcome
            }
            // The GET itself will tell; the size check is only a refinement.
            Waiting::ObjectSize { .. } => Outcome::Forward,
            Waiting::TablePass(pass) => {
                vm.end_measuring(host, pass.view());
                self.respond_error(host, &S3Error::service_unavailable())
            }
            // Without the validators, neither the answer to the conditions nor If-Range's is
            // known before the object is read; a listing cannot go on.
            _ => self.respond_error(host, &S3Error::service_unavailable()),
        }
    }

    /// A call of this request answered.
    pub(crate) fn on_call_answer(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        answer: CallAnswer,
    ) -> Outcome {
        let status = answer.status;
        let mut took_ms = 0;
        if let Some(sent) = self.policy_sent_ms.take() {
            if matches!(
                self.waiting,
                Waiting::PolicyAnswer { .. } | Waiting::SigV2Check { .. }
            ) {
                took_ms = host.now_ms().saturating_sub(sent);
                host.record(Histogram::PolicyCallMs, took_ms);
            }
        }
        match std::mem::replace(&mut self.waiting, Waiting::Nothing) {
            Waiting::PolicyAnswer { lookup, request } => {
                if self.policy_retries < POLICY_RETRIES
                    && retry_worth_it(status, took_ms, vm.config.policy_timeout_ms)
                {
                    // Again: the load balancer sends it to another replica (the failed one
                    // ejected by outlier detection), so one replica's death fails no request.
                    self.policy_retries += 1;
                    host.count(Counter::PolicyFailures, 1);
                    return self.ask_policy(vm, host, lookup, request);
                }
                self.on_policy_answer(vm, host, &lookup, request, status, &answer.body)
            }
            Waiting::SigV2Check { lookup, request } => match status {
                Some(204) => self.with_decision(vm, host, lookup, request),
                // A wrong signature, or a disabled principal: the decision tells them apart,
                // and then answers the disabled one's repeats from the cache.
                Some(403) => {
                    self.sigv2_refused = true;
                    self.with_decision(vm, host, lookup, request)
                }
                // An unknown key enters the negative cache, as from the entitlements lookup.
                Some(404) => {
                    let now = host.now();
                    let cache_id = lookup.cache_id();
                    match vm.store_answer(host, &cache_id, status, &answer.body, now) {
                        Some(decision) => self.decide(vm, host, &decision, request),
                        None => self.respond_error(host, &S3Error::invalid_access_key_id()),
                    }
                }
                _ => {
                    host.count(Counter::PolicyFailures, 1);
                    self.respond_error(host, &S3Error::service_unavailable())
                }
            },
            Waiting::ObjectSize { suffix } => self.on_object_size(host, &answer, suffix),
            Waiting::Validators { suffix } => self.on_validators(host, &answer, suffix),
            Waiting::TableHead => self.on_table_head(vm, host, &answer),
            Waiting::TablePass(pass) => self.on_table_read(vm, host, pass, &answer),
            Waiting::ParquetTail(read) => self.on_parquet_tail(vm, host, *read, &answer),
            Waiting::ListedHead { job, measure } => {
                self.on_listed_head(vm, host, job, *measure, &answer)
            }
            Waiting::Listing(mut job) => match job.feed(status.unwrap_or(503), &answer.body) {
                Ok(()) => self.drive_listing(vm, host, job),
                Err(error) => self.respond_error(host, &error),
            },
            // Resumed by the fetch's end or the tick, never by a call of its own.
            waiting @ (Waiting::Parked { .. }
            | Waiting::ViewParked(_)
            | Waiting::Deferred { .. }
            | Waiting::Nothing) => {
                self.waiting = waiting;
                Outcome::Pending
            }
        }
    }

    fn on_policy_answer(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        lookup: &Lookup,
        request: S3Request,
        status: Option<u32>,
        body: &[u8],
    ) -> Outcome {
        let cache_id = lookup.cache_id();
        let now = host.now();
        let stored = vm.store_answer(host, &cache_id, status, body, now);
        let outcome = match &stored {
            Some(decision) => self.decide(vm, host, decision, request),
            None => self.policy_failed(vm, host, &cache_id, request),
        };
        // Then the requests that waited for this answer, in this VM.
        vm.end_fetch(host, &cache_id, stored.is_some());
        outcome
    }

    /// The policy service failed: serve a recently expired decision if the configuration
    /// allows it (metered), else fail closed.
    fn policy_failed(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        cache_id: &str,
        request: S3Request,
    ) -> Outcome {
        let now = host.now();
        // A refresh ahead of expiry failed: the decision still holds, nothing stale about it.
        if let Some((_, decision)) = vm.cache.get(cache_id, now) {
            return self.decide(vm, host, &decision, request);
        }
        match vm.stale_decision(host, cache_id, now) {
            Some(decision) => {
                host.count(Counter::StaleDecisionsServed, 1);
                self.decide(vm, host, &decision, request)
            }
            None => self.respond_error(host, &S3Error::service_unavailable()),
        }
    }

    /// Checks a SigV4 signature with the signing key the policy service derived for its scope.
    fn verify_sigv4(&mut self, vm: &mut Vm, entitlements: &Entitlements) -> Result<(), S3Error> {
        let Some((auth, timestamp)) = self.sigv4.take() else {
            return Ok(());
        };
        // A principal without a secret cannot sign: no request of theirs verifies.
        let hex = entitlements
            .signing_key
            .as_deref()
            .ok_or_else(sigv4::signature_does_not_match)?;
        let key = vm
            .memos
            .verifying_keys
            .get_or_insert_with(hex, || VerifyingKey::from_hex(hex))
            .ok_or_else(sigv4::signature_does_not_match)?;
        sigv4::verify_signature(
            &auth,
            &timestamp,
            &self.method,
            &self.raw_path,
            &self.request_headers,
            key,
        )
    }

    /// The principal's decision is known: refuse, or carry out the operation.
    fn decide(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        decision: &Rc<Decision>,
        request: S3Request,
    ) -> Outcome {
        let entitlements = match &**decision {
            Decision::Unknown => {
                return self.respond_error(host, &S3Error::invalid_access_key_id())
            }
            Decision::Known(e) if !e.enabled => {
                return self.respond_error(
                    host,
                    &S3Error::access_denied_because("Access Denied: the principal is disabled"),
                )
            }
            Decision::Known(e) => e,
        };
        self.audit.principal(&entitlements.principal);
        if self.sigv2_refused {
            return self.respond_error(host, &sigv4::signature_does_not_match());
        }
        if let Err(error) = self.verify_sigv4(vm, entitlements) {
            return self.respond_error(host, &error);
        }
        match request.operation {
            Operation::ListBuckets => {
                self.audit.decide(host, Verdict::Allow, GRANTED);
                self.respond_xml(host, 200, &listing::render_list_buckets(&vm.config.bucket))
            }
            Operation::GetBucketLocation => {
                self.audit.decide(host, Verdict::Allow, GRANTED);
                self.respond_xml(host, 200, &listing::render_bucket_location())
            }
            Operation::HeadBucket => self.head_bucket(vm, host),
            Operation::ListObjects(params) => {
                let named = params.prefix.split('/').next().unwrap_or_default();
                if let Some(grant) = entitlements.data_source(named) {
                    self.audit.grant(grant);
                }
                match ListingJob::new(params, entitlements, &vm.config.bucket) {
                    Ok(job) => {
                        self.audit.decide(host, Verdict::Allow, GRANTED);
                        let job = job.with_pass_budget(vm.config.listing_pass_bytes);
                        self.drive_listing(vm, host, Box::new(job))
                    }
                    Err(error) => self.respond_error(host, &error),
                }
            }
            Operation::GetObject { key } | Operation::HeadObject { key } => {
                self.forward_object(vm, host, entitlements, key, &request.forwarded_query)
            }
        }
    }

    pub(crate) fn respond_xml(&self, host: &mut dyn Host, status: u32, xml: &str) -> Outcome {
        let body = (!self.is_head).then_some(xml.as_bytes());
        let decision = self.decision_header();
        let mut headers = vec![
            ("content-type", "application/xml"),
            ("x-amz-request-id", self.request_id.as_str()),
        ];
        if let Some((name, value)) = &decision {
            headers.push((name.as_str(), value.as_str()));
        }
        host.command(
            self.stream,
            Command::Respond {
                status,
                headers: &headers,
                body,
            },
        );
        Outcome::Responded
    }

    /// The opt-in decision header (`decision_header`), once the decision is made.
    pub(crate) fn decision_header(&self) -> Option<(String, String)> {
        let name = self.decision_header_name.as_ref()?;
        Some((name.clone(), self.audit.header_value()?))
    }

    pub(crate) fn respond_error(&mut self, host: &mut dyn Host, error: &S3Error) -> Outcome {
        self.audit.decide(host, Verdict::Deny, error.code);
        let xml = error.to_xml(&self.resource, &self.request_id);
        self.respond_xml(host, error.status, &xml)
    }

    /// Logs a configuration fault and answers 500.
    pub(crate) fn internal_error(&mut self, host: &mut dyn Host, message: &str) -> Outcome {
        host.log(Level::Error, message);
        self.respond_error(host, &S3Error::internal_error())
    }
}

/// How often a failed decision call is sent again: each worker's load balancer takes turns
/// over the replicas, and the ejection of a dead one reaches it a moment later.
pub(crate) const POLICY_RETRIES: u8 = 2;

/// Whether a decision call's answer is a failure worth a retry: no answer or a 5xx (a replica
/// gone, reset, overloaded) that came back within half the call's timeout. A 200 or 404 is an
/// answer; other statuses fail alike on every replica; a call that ran into its timeout is not
/// sent again, so a hanging service costs a request one timeout, not several.
pub(crate) fn retry_worth_it(status: Option<u32>, took_ms: u64, timeout_ms: u64) -> bool {
    status.is_none_or(|s| s >= 500) && took_ms < timeout_ms / 2
}

/// The reason an allowed request's audit record gives.
pub(crate) const GRANTED: &str = "granted";

/// Which view a stream's pass is measuring (for `Gateway::on_stream_done`).
pub(crate) fn measured_view(waiting: &Waiting) -> Option<ViewId> {
    match waiting {
        Waiting::TablePass(pass) => Some(pass.view()),
        Waiting::Deferred { then, .. } => measured_view(then),
        _ => None,
    }
}

/// Which decision fetch a stream's call is (for `Gateway::on_stream_done`).
pub(crate) fn fetched_cache_id(waiting: &Waiting) -> Option<String> {
    match waiting {
        Waiting::PolicyAnswer { lookup, .. } => Some(lookup.cache_id()),
        _ => None,
    }
}
