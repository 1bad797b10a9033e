//! Fetching decisions from the policy service, once for all the requests (of every worker) that
//! need the same one: the claim in shared data, storing an answer, and resuming the requests
//! parked on it. Host calls only; what a decision means is `s3gate_core::policy::decision`'s.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::time::Duration;

use proxy_wasm::traits::Context;
use proxy_wasm::types::LogLevel;

use super::{log, Gateway};
use s3gate_core::config::PluginConfig;
use s3gate_core::policy::decision::{
    self, ClaimSlot, Decision, LocalCache, WaitList, CLAIM_ANSWERED, CLAIM_FAILED,
};
use s3gate_core::policy::entitlements::{lookup_path, Entitlements};

/// Requests parked until a decision arrives (see `decision::WaitList`).
pub(super) type Waiters = WaitList<Lookup, Parked>;

/// A parked request: its context, to make it the effective one when it resumes.
pub(super) struct Parked {
    pub(super) context_id: u32,
    pub(super) gateway: Weak<RefCell<Gateway>>,
}

/// Which decision a request needs: the key's, and for SigV4 the signing scope's.
#[derive(Clone)]
pub(super) struct Lookup {
    pub(super) digest: String,
    pub(super) scope: Option<String>,
}

impl Lookup {
    /// The cache identity: decisions that carry a signing key are per scope.
    pub(super) fn cache_id(&self) -> String {
        match &self.scope {
            Some(scope) => format!("{}@{}", self.digest, scope),
            None => self.digest.clone(),
        }
    }
}

pub(super) fn call_status(context: &dyn Context) -> Option<u32> {
    context
        .get_http_call_response_header(":status")
        .and_then(|s| s.parse::<u32>().ok())
}

/// Asks the policy service for a lookup's decision, from whichever context calls (its answer
/// comes back to that context).
pub(super) fn dispatch_policy_call(
    context: &dyn Context,
    config: &PluginConfig,
    lookup: &Lookup,
) -> Result<u32, ()> {
    let path = lookup_path(&lookup.digest, lookup.scope.as_deref());
    let mut headers = vec![
        (":method", "GET"),
        (":path", path.as_str()),
        (":authority", &config.policy_authority),
    ];
    let token = config.policy_token.header();
    if let Some(token) = &token {
        headers.push(("authorization", token));
    }
    context
        .dispatch_http_call(
            &config.policy_cluster,
            headers,
            None,
            vec![],
            Duration::from_millis(config.policy_timeout_ms),
        )
        .map_err(|_| {
            log(
                LogLevel::Warn,
                "s3gate: policy service call could not be dispatched",
            );
        })
}

/// Reads a policy answer into this VM's cache (and a known key's into shared data, for every
/// worker). `None`: no decision (the service failed or answered nonsense).
pub(super) fn store_answer(
    cache: &RefCell<LocalCache>,
    config: &PluginConfig,
    cache_id: &str,
    status: Option<u32>,
    body: &[u8],
    now: u64,
) -> Option<Rc<Decision>> {
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
                return None;
            }
        },
        Some(404) => (Decision::Unknown, now + config.negative_cache_seconds),
        other => {
            log(
                LogLevel::Warn,
                &format!("s3gate: policy service unavailable (status {other:?})"),
            );
            return None;
        }
    };
    // Unknown keys stay per-VM: a flood of random keys must not fill shared memory.
    if let Decision::Known(_) = decision {
        let _ = proxy_wasm::hostcalls::set_shared_data(
            &decision::shared_data_key(cache_id),
            Some(&decision::encode(cache_id, expires_at, &decision)),
            None,
        );
    }
    let decision = Rc::new(decision);
    cache
        .borrow_mut()
        .insert(cache_id.to_string(), expires_at, Rc::clone(&decision), now);
    Some(decision)
}

/// The decision in shared data (put there by any worker), copied into this VM's cache.
pub(super) fn shared_decision(
    cache: &RefCell<LocalCache>,
    cache_id: &str,
    now: u64,
) -> Option<(u64, Rc<Decision>)> {
    let (bytes, _) =
        proxy_wasm::hostcalls::get_shared_data(&decision::shared_data_key(cache_id)).ok()?;
    let (expires_at, decision) = decision::decode(&bytes?, cache_id, now)?;
    let decision = Rc::new(decision);
    cache
        .borrow_mut()
        .insert(cache_id.to_string(), expires_at, Rc::clone(&decision), now);
    Some((expires_at, decision))
}

/// Takes the shared claim to fetch `cache_id` (a miss or a refresh ahead of expiry) for as long
/// as a policy call may take; false if another request of any worker holds its slot.
pub(super) fn claim(cache_id: &str, slots: u32, now: u64, policy_timeout_ms: u64) -> bool {
    let slot = ClaimSlot::of(cache_id, slots);
    let Ok((held, cas)) = proxy_wasm::hostcalls::get_shared_data(&slot.key) else {
        return false;
    };
    let value = held.as_deref().and_then(|b| slot.decode(b)).map(|(v, _)| v);
    if value.is_some_and(|until| until > now) {
        return false;
    }
    let until = now + policy_timeout_ms / 1000 + 1;
    let cas = cas.unwrap_or(CREATE_ONLY);
    proxy_wasm::hostcalls::set_shared_data(&slot.key, Some(&slot.encode(until)), Some(cas)).is_ok()
}

/// The CAS to take a claim nobody has taken yet. Envoy inserts an absent key whatever the CAS
/// (0, "no CAS", would also overwrite a present one), but refuses a CAS that does not match a
/// present key's: so if another worker created the claim since we read it, this write fails
/// rather than overwrite it. Envoy hands out CAS values from one counter starting at 1; an entry
/// holding exactly this one would only cost a second fetch.
const CREATE_ONLY: u32 = u32::MAX;

/// Frees the claim on `cache_id`, recording whether the fetch got an answer: requests of other
/// workers parked on it fail with it rather than fetch again.
pub(super) fn release_claim(cache_id: &str, slots: u32, failed: bool) {
    let slot = ClaimSlot::of(cache_id, slots);
    let value = if failed { CLAIM_FAILED } else { CLAIM_ANSWERED };
    let _ = proxy_wasm::hostcalls::set_shared_data(&slot.key, Some(&slot.encode(value)), None);
}

/// The value of the claim on `cache_id` (a time while held, else `CLAIM_*`); `None` if its
/// slot is empty or speaks of another decision.
pub(super) fn claim_value(cache_id: &str, slots: u32) -> Option<u64> {
    let slot = ClaimSlot::of(cache_id, slots);
    let (held, _) = proxy_wasm::hostcalls::get_shared_data(&slot.key).ok()?;
    match slot.decode(&held?)? {
        (value, true) => Some(value),
        (_, false) => None,
    }
}

/// A fetch of `cache_id` ended (`answered`: a decision is cached): the claim is free for the next
/// fetch (a refresh, or a retry), and the requests of this VM parked on it resume, as the fetch
/// went. Then `back_to` is the effective context again.
pub(super) fn end_fetch(
    waiters: &RefCell<Waiters>,
    slots: u32,
    cache_id: &str,
    answered: bool,
    back_to: u32,
) {
    release_claim(cache_id, slots, !answered);
    let parked = waiters.borrow_mut().take(cache_id);
    let how = if answered { Wake::Ready } else { Wake::Failed };
    wake(parked, how, back_to);
}

/// How a parked request resumes.
#[derive(Clone, Copy)]
pub(super) enum Wake {
    /// The decision is cached (in this VM or in shared data).
    Ready,
    /// Its fetch failed: the request fails as the fetching one did (or is served stale).
    Failed,
}

/// Resumes parked requests, each as the effective context, then makes `back_to` effective again.
pub(super) fn wake(parked: Vec<Parked>, how: Wake, back_to: u32) {
    if parked.is_empty() {
        return;
    }
    for request in parked {
        let Some(gateway) = request.gateway.upgrade() else {
            continue; // the client went away
        };
        if proxy_wasm::hostcalls::set_effective_context(request.context_id).is_err() {
            continue;
        }
        if let Ok(mut gateway) = gateway.try_borrow_mut() {
            gateway.resume_parked(how);
        };
    }
    let _ = proxy_wasm::hostcalls::set_effective_context(back_to);
}
