//! The request flow as a state machine without I/O. The host (Envoy, through the shim) feeds it
//! events — a stream's request headers, a call's answer, response headers and body chunks, the
//! root context's tick, a stream's end — and carries out what comes back: an `Action` for the
//! running callback, `Command`s for streams, calls to dispatch, shared data, counters and logs,
//! all through the `Host` trait.
//!
//! One `Gateway` per VM (worker thread). A request's state is its `Exchange`; what the VM
//! shares between requests (configuration, decision cache, parked requests, calls in flight) is
//! the `Vm`.

mod audit;
mod bucket;
mod decisions;
mod exchange;
#[cfg(any(test, feature = "test-support"))]
pub mod fake;
pub mod host;
mod object;
#[cfg(test)]
mod parquet_tests;
mod table;
#[cfg(test)]
mod table_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod view_test_support;

use std::collections::HashMap;

use crate::config::PluginConfig;
use crate::headers::HeaderMap;
use crate::logging::RequestIds;
use crate::policy::decision::{LocalCache, Memo, WaitList};
use crate::signature::sigv4::VerifyingKey;
use crate::signature::upstream::UpstreamSigner;
use crate::tables::mask::MaskKeys;
pub use decisions::Lookup;
use exchange::Exchange;
pub use host::StreamId;
pub use host::{
    Action, Call, CallAnswer, Caller, Command, Counter, Gauge, Histogram, Host, HostRefused, Level,
};

/// How often the root context looks after parked requests (only while there are any): a
/// decision another worker fetched, a fetch nobody is making any more, a call a woken request
/// could not send from another request's callback.
pub const WAIT_TICK_MS: u64 = 2;

/// How a parked request resumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// The decision is cached (in this VM or in shared data).
    Ready,
    /// Its fetch failed: the request fails as the fetching one did (or is served stale).
    Failed,
}

/// What became of a request after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Answered locally.
    Responded,
    /// Headers rewritten; let it go upstream.
    Forward,
    /// A call is out (or the request is parked); it goes on when that answers.
    Pending,
}

/// Who a call in flight is for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CallFor {
    /// The stream's own call; what it waits for is in its `Exchange`.
    Stream(StreamId),
    /// A decision the root context fetches for requests parked on it, sent at `sent_ms`.
    Decision {
        cache_id: String,
        lookup: Lookup,
        sent_ms: u64,
        /// How many calls for this decision failed before it.
        retries: u8,
    },
}

/// Per-VM memos of per-request work: access key -> its digest, signing key hex -> HMAC state.
#[derive(Default)]
pub(crate) struct Memos {
    pub(crate) key_digests: Memo<String>,
    pub(crate) verifying_keys: Memo<VerifyingKey>,
}

/// Upstream name -> the filter's signer for it (upstreams with `sign` in the configuration).
pub(crate) type Signers = HashMap<String, UpstreamSigner>;

/// What the requests of one VM share.
pub(crate) struct Vm {
    pub(crate) config: PluginConfig,
    pub(crate) signers: Signers,
    /// The keys of the `hash` and `format_preserving` masks (`None`: no secret configured,
    /// masked tables are refused).
    pub(crate) mask_keys: Option<MaskKeys>,
    pub(crate) cache: LocalCache,
    /// Masked views' indexes this VM knows.
    pub(crate) views: table::ViewCache,
    pub(crate) memos: Memos,
    /// Requests parked until a decision arrives, by cache id.
    pub(crate) waiters: WaitList<Lookup, StreamId>,
    calls: HashMap<u32, CallFor>,
    /// Parked requests a fetch's end woke, to resume once the running step is done.
    pub(crate) woken: Vec<(StreamId, Wake)>,
    /// Streams holding a call (`Waiting::Deferred`) for the root context to send.
    deferred: Vec<StreamId>,
    /// The context the host runs the flow in now.
    running: Caller,
    request_ids: RequestIds,
}

impl Vm {
    /// Sends `call` for `stream`. The host delivers an answer to the context that dispatched
    /// it: a stream other than the running one may only dispatch from the root context, so its
    /// call waits for the next tick (`Waiting::Deferred`).
    pub(crate) fn dispatch_for(
        &mut self,
        host: &mut dyn Host,
        stream: StreamId,
        call: Call,
    ) -> Result<Option<Call>, HostRefused> {
        if self.running != Caller::Stream(stream) && self.running != Caller::Root {
            self.deferred.push(stream);
            host.set_tick_period_ms(WAIT_TICK_MS);
            return Ok(Some(call));
        }
        let token = host.dispatch(&call)?;
        self.calls.insert(token, CallFor::Stream(stream));
        Ok(None)
    }

    pub(crate) fn next_request_id(&mut self) -> String {
        self.request_ids.next_id()
    }
}

/// The gateway of one VM: every request's state, driven by the host's events.
pub struct Gateway {
    vm: Vm,
    exchanges: HashMap<StreamId, Exchange>,
}

/// The plugin configuration with its upstream signers and policy token, from the configuration
/// JSON and the VM's environment.
fn configured(
    bytes: &[u8],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(PluginConfig, Signers, Option<MaskKeys>), String> {
    let mut config = PluginConfig::parse(bytes)?;
    let mut signers = HashMap::new();
    for (name, upstream) in &config.upstreams {
        if let Some(sign) = &upstream.sign {
            let credentials = sign.credentials(name, env)?;
            signers.insert(name.clone(), UpstreamSigner::new(credentials));
        }
    }
    config.load_policy_token(env)?;
    let mask_keys = match env(&config.mask_secret_env).filter(|s| !s.is_empty()) {
        None => None,
        Some(secret) => Some(MaskKeys::new(secret.as_bytes()).map_err(|_| {
            format!(
                "s3gate plugin configuration: the mask secret {} must be at least {} bytes",
                config.mask_secret_env,
                MaskKeys::MIN_SECRET
            )
        })?),
    };
    Ok((config, signers, mask_keys))
}

impl Gateway {
    /// A gateway for the plugin configuration `bytes`; `env` reads the VM's environment
    /// (credentials, the policy token); `id_seed` seeds its request ids.
    pub fn configure(
        bytes: &[u8],
        env: &dyn Fn(&str) -> Option<String>,
        id_seed: u64,
    ) -> Result<Gateway, String> {
        let (config, signers, mask_keys) = configured(bytes, env)?;
        Ok(Gateway {
            vm: Vm {
                mask_keys,
                cache: LocalCache::with_grace(config.stale_if_error_seconds),
                config,
                signers,
                views: table::ViewCache::default(),
                memos: Memos::default(),
                waiters: WaitList::default(),
                calls: HashMap::new(),
                woken: Vec::new(),
                deferred: Vec::new(),
                running: Caller::Root,
                request_ids: RequestIds::new(id_seed),
            },
            exchanges: HashMap::new(),
        })
    }

    /// A new configuration for the same VM: requests in flight keep going.
    pub fn reconfigure(
        &mut self,
        bytes: &[u8],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), String> {
        let (config, signers, mask_keys) = configured(bytes, env)?;
        self.vm.mask_keys = mask_keys;
        self.vm.cache = LocalCache::with_grace(config.stale_if_error_seconds);
        self.vm.config = config;
        self.vm.signers = signers;
        Ok(())
    }

    pub fn on_request_headers(
        &mut self,
        host: &mut dyn Host,
        stream: StreamId,
        headers: HeaderMap,
    ) -> Action {
        self.vm.running = Caller::Stream(stream);
        host.gauge(Gauge::ActiveRequests, 1);
        let (mut exchange, action) = Exchange::start(&mut self.vm, host, stream, headers);
        exchange.audit.flush(host, stream);
        self.exchanges.insert(stream, exchange);
        self.run_woken(host);
        action
    }

    /// The upstream's response headers; `headers` reads them (only an object request needs
    /// them).
    pub fn on_response_headers(
        &mut self,
        host: &mut dyn Host,
        stream: StreamId,
        headers: &mut dyn FnMut() -> HeaderMap,
        end_of_stream: bool,
    ) -> Action {
        self.vm.running = Caller::Stream(stream);
        match self.exchanges.get_mut(&stream) {
            Some(exchange) => {
                let action = exchange.on_response_headers(&self.vm, host, headers, end_of_stream);
                if let Some((name, value)) = exchange.decision_header() {
                    host.command(stream, Command::SetResponseHeader(&name, Some(&value)));
                }
                exchange.audit.flush(host, stream);
                action
            }
            None => Action::Continue,
        }
    }

    pub fn on_response_body(
        &mut self,
        host: &mut dyn Host,
        stream: StreamId,
        size: usize,
        end_of_stream: bool,
    ) -> Action {
        self.vm.running = Caller::Stream(stream);
        match self.exchanges.get_mut(&stream) {
            Some(exchange) => {
                let action = exchange.on_response_body(&mut self.vm, host, size, end_of_stream);
                exchange.audit.flush(host, stream);
                action
            }
            None => Action::Continue,
        }
    }

    /// The answer to the call `token`, delivered in `caller`'s context.
    pub fn on_call_answer(
        &mut self,
        host: &mut dyn Host,
        caller: Caller,
        token: u32,
        answer: CallAnswer,
    ) {
        self.vm.running = caller;
        match self.vm.calls.remove(&token) {
            Some(CallFor::Stream(stream)) => {
                if let Some(exchange) = self.exchanges.get_mut(&stream) {
                    let outcome = exchange.on_call_answer(&mut self.vm, host, answer);
                    exchange.audit.flush(host, stream);
                    if outcome == Outcome::Forward {
                        host.command(stream, Command::Resume);
                    }
                }
            }
            Some(CallFor::Decision {
                cache_id,
                lookup,
                sent_ms,
                retries,
            }) => {
                let took_ms = host.now_ms().saturating_sub(sent_ms);
                host.record(Histogram::PolicyCallMs, took_ms);
                let timeout_ms = self.vm.config.policy_timeout_ms;
                if retries < exchange::POLICY_RETRIES
                    && exchange::retry_worth_it(answer.status, took_ms, timeout_ms)
                {
                    // Once more (another replica); a call the host would not send ends the
                    // fetch as failed.
                    host.count(Counter::PolicyFailures, 1);
                    self.send_decision_call(host, cache_id, lookup, retries + 1);
                    self.run_woken(host);
                    return;
                }
                let now = host.now();
                let stored =
                    self.vm
                        .store_answer(host, &cache_id, answer.status, &answer.body, now);
                self.vm.end_fetch(host, &cache_id, stored.is_some());
            }
            None => {}
        }
        self.run_woken(host);
    }

    /// The root context's tick: parked requests past their deadline fail; a decision that
    /// arrived (from another worker) resumes its requests; a fetch nobody makes any more (its
    /// request went away, or the other worker's answer could not be shared) is made here; calls
    /// woken requests could not send go out.
    pub fn on_tick(&mut self, host: &mut dyn Host) {
        self.vm.running = Caller::Root;
        let now = host.now();
        self.vm.wake_measured_views(host, now);
        let expired = self.vm.waiters.take_expired(now);
        self.vm
            .woken
            .extend(expired.into_iter().map(|s| (s, Wake::Failed)));
        for (cache_id, lookup) in self.vm.waiters.pending() {
            let ready = self.vm.cache.get(&cache_id, now).is_some()
                || self.vm.shared_decision(host, &cache_id, now).is_some();
            if ready || self.vm.claim_failed(host, &cache_id) {
                // Answered, or failed, in another worker: so are they.
                let parked = self.vm.waiters.take(&cache_id);
                host.count(Counter::ParkedResumedByTick, parked.len() as u64);
                let how = if ready { Wake::Ready } else { Wake::Failed };
                self.vm.woken.extend(parked.into_iter().map(|s| (s, how)));
            } else if !self.fetching(&cache_id) && self.vm.claim(host, &cache_id, now) {
                self.send_decision_call(host, cache_id, lookup, 0);
            }
        }
        for stream in std::mem::take(&mut self.vm.deferred) {
            if let Some(exchange) = self.exchanges.get_mut(&stream) {
                let outcome = exchange.send_deferred(&mut self.vm, host);
                exchange.audit.flush(host, stream);
                if outcome == Outcome::Forward {
                    host.command(stream, Command::Resume);
                }
            }
        }
        self.run_woken(host);
        let idle = self.vm.waiters.is_empty()
            && self.vm.views.waiters.is_empty()
            && self.vm.deferred.is_empty()
            && !self
                .vm
                .calls
                .values()
                .any(|c| matches!(c, CallFor::Decision { .. }));
        if idle {
            host.set_tick_period_ms(0);
        }
    }

    /// The stream ended (answered, or the client went away). A decision fetch it was making
    /// is released, so that requests parked on it fetch again rather than wait out its time.
    pub fn on_stream_done(&mut self, host: &mut dyn Host, stream: StreamId) {
        let Some(exchange) = self.exchanges.remove(&stream) else {
            return;
        };
        host.gauge(Gauge::ActiveRequests, -1);
        self.vm.calls.retain(|_, c| *c != CallFor::Stream(stream));
        if let Some(view) = exchange::measured_view(&exchange.waiting) {
            // Its waiters resume on the tick (this context is ending).
            self.vm.end_measuring(host, view);
            host.set_tick_period_ms(WAIT_TICK_MS);
        }
        if let Some(cache_id) = exchange::fetched_cache_id(&exchange.waiting) {
            self.vm.release_claim(host, &cache_id, false);
            if !self.vm.waiters.is_empty() {
                host.set_tick_period_ms(WAIT_TICK_MS);
            }
        }
    }

    /// Sends the root context's call for a decision; false (the fetch ended, failed) if the
    /// host would not send it.
    fn send_decision_call(
        &mut self,
        host: &mut dyn Host,
        cache_id: String,
        lookup: Lookup,
        retries: u8,
    ) -> bool {
        let call = self.vm.policy_call(&lookup, None);
        match host.dispatch(&call) {
            Ok(token) => {
                host.count(Counter::PolicyCalls, 1);
                let sent_ms = host.now_ms();
                self.vm.calls.insert(
                    token,
                    CallFor::Decision {
                        cache_id,
                        lookup,
                        sent_ms,
                        retries,
                    },
                );
                true
            }
            Err(HostRefused) => {
                host.count(Counter::PolicyFailures, 1);
                host.log(
                    Level::Warn,
                    &format!(
                        "s3gate: policy service call could not be dispatched to cluster {:?}",
                        self.vm.config.policy_cluster
                    ),
                );
                self.vm.end_fetch(host, &cache_id, false);
                false
            }
        }
    }

    /// Whether the root context is fetching `cache_id`.
    fn fetching(&self, cache_id: &str) -> bool {
        self.vm
            .calls
            .values()
            .any(|c| matches!(c, CallFor::Decision { cache_id: id, .. } if id == cache_id))
    }

    /// Resumes the requests a step woke, each once, in the order they parked.
    fn run_woken(&mut self, host: &mut dyn Host) {
        while !self.vm.woken.is_empty() {
            for (stream, how) in std::mem::take(&mut self.vm.woken) {
                let Some(exchange) = self.exchanges.get_mut(&stream) else {
                    continue; // the client went away
                };
                let outcome = exchange.resume_parked(&mut self.vm, host, how);
                exchange.audit.flush(host, stream);
                if outcome == Outcome::Forward {
                    host.command(stream, Command::Resume);
                }
            }
        }
    }

    /// Requests this VM holds (for tests and leak checks).
    pub fn live_streams(&self) -> usize {
        self.exchanges.len()
    }
}
