//! Fetching decisions from the policy service once for all the requests (of every worker) that
//! need the same one: the claim in shared data, storing an answer, the cached and stale
//! lookups, and which parked requests a fetch's end wakes. What a decision means is
//! `policy::decision`'s.

use std::rc::Rc;

use super::host::{Call, Counter, Host, Level};
use super::{StreamId, Vm, Wake};
use crate::policy::decision::{self, ClaimSlot, Decision, CLAIM_ANSWERED, CLAIM_FAILED};
use crate::policy::entitlements::{lookup_path, Entitlements};

/// Which decision a request needs: the key's, and for SigV4 the signing scope's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub key_digest: String,
    pub scope: Option<String>,
}

impl Lookup {
    /// The cache identity: decisions that carry a signing key are per scope.
    pub fn cache_id(&self) -> String {
        match &self.scope {
            Some(scope) => format!("{}@{}", self.key_digest, scope),
            None => self.key_digest.clone(),
        }
    }
}

/// A cached decision.
pub(super) struct Cached {
    pub(super) decision: Rc<Decision>,
    /// In the last part of its life: one request refreshes it (`decision::should_refresh`).
    pub(super) refresh_due: bool,
}

/// The CAS to take a claim nobody has taken yet. Envoy inserts an absent key whatever the CAS
/// (0, "no CAS", would also overwrite a present one), but refuses a CAS that does not match a
/// present key's: so if another worker created the claim since we read it, this write fails
/// rather than overwrite it. Envoy hands out CAS values from one counter starting at 1; an entry
/// holding exactly this one would only cost a second fetch.
pub(super) const CREATE_ONLY: u32 = u32::MAX;

impl Vm {
    /// The policy call for `lookup`'s decision, on behalf of `stream` (or of the VM).
    pub(super) fn policy_call(&self, lookup: &Lookup, stream: Option<StreamId>) -> Call {
        let path = lookup_path(&lookup.key_digest, lookup.scope.as_deref());
        let mut headers = vec![
            (":method".to_string(), "GET".to_string()),
            (":path".to_string(), path),
            (
                ":authority".to_string(),
                self.config.policy_authority.clone(),
            ),
        ];
        if let Some(token) = self.config.policy_token.header() {
            headers.push(("authorization".to_string(), token));
        }
        Call {
            stream,
            cluster: self.config.policy_cluster.clone(),
            headers,
            body: None,
            timeout_ms: self.config.policy_timeout_ms,
        }
    }

    /// A decision for `cache_id`, fresh in this VM or in shared data (another worker's), and
    /// whether it is due for a refresh ahead of its expiry.
    pub(super) fn cached_decision(
        &mut self,
        host: &mut dyn Host,
        cache_id: &str,
        now: u64,
    ) -> Option<Cached> {
        let ((expires_at, decision), from_shared) = match self.cache.get(cache_id, now) {
            Some(local) => (local, false),
            None => (self.shared_decision(host, cache_id, now)?, true),
        };
        let refresh_due = decision::should_refresh(&decision, expires_at, now);
        if !refresh_due || from_shared {
            return Some(Cached {
                decision,
                refresh_due,
            });
        }
        // Near its expiry another worker may have refreshed it already: look there first.
        Some(
            match self
                .shared_decision(host, cache_id, now)
                .filter(|(shared_expiry, _)| *shared_expiry > expires_at)
            {
                Some((shared_expiry, shared)) => Cached {
                    refresh_due: decision::should_refresh(&shared, shared_expiry, now),
                    decision: shared,
                },
                None => Cached {
                    decision,
                    refresh_due: true,
                },
            },
        )
    }

    /// The decision in shared data (put there by any worker), copied into this VM's cache.
    pub(super) fn shared_decision(
        &mut self,
        host: &mut dyn Host,
        cache_id: &str,
        now: u64,
    ) -> Option<(u64, Rc<Decision>)> {
        let (bytes, _) = host.shared_get(&decision::shared_data_key(cache_id)).ok()?;
        let (expires_at, decision) = decision::decode(&bytes?, cache_id, now)?;
        let decision = Rc::new(decision);
        self.cache
            .insert(cache_id.to_string(), expires_at, Rc::clone(&decision), now);
        Some((expires_at, decision))
    }

    /// A principal's decision that expired less than the stale-if-error grace ago, from this
    /// VM or shared data; unknown keys are never served stale.
    pub(super) fn stale_decision(
        &mut self,
        host: &mut dyn Host,
        cache_id: &str,
        now: u64,
    ) -> Option<Rc<Decision>> {
        let grace = self.config.stale_if_error_seconds;
        if let Some(local) = self.cache.get_stale(cache_id, now) {
            return Some(local);
        }
        if grace == 0 {
            return None;
        }
        let (bytes, _) = host.shared_get(&decision::shared_data_key(cache_id)).ok()?;
        match decision::decode(&bytes?, cache_id, now.saturating_sub(grace))? {
            (_, known @ Decision::Known(_)) => Some(Rc::new(known)),
            _ => None,
        }
    }

    /// Reads a policy answer into this VM's cache (and a known key's into shared data, for
    /// every worker). `None`: no decision (the service failed or answered nonsense).
    pub(super) fn store_answer(
        &mut self,
        host: &mut dyn Host,
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
                    host.count(Counter::PolicyFailures, 1);
                    host.log(
                        Level::Warn,
                        "s3gate: policy service answered an unreadable document",
                    );
                    return None;
                }
            },
            Some(404) => (Decision::Unknown, now + self.config.negative_cache_seconds),
            other => {
                host.count(Counter::PolicyFailures, 1);
                host.log(
                    Level::Warn,
                    &format!(
                        "s3gate: policy service (cluster {:?}) unavailable (status {other:?})",
                        self.config.policy_cluster
                    ),
                );
                return None;
            }
        };
        // Unknown keys stay per-VM: a flood of random keys must not fill shared memory.
        if let Decision::Known(_) = decision {
            let _ = host.shared_set(
                &decision::shared_data_key(cache_id),
                &decision::encode(cache_id, expires_at, &decision),
                None,
            );
        }
        let decision = Rc::new(decision);
        self.cache
            .insert(cache_id.to_string(), expires_at, Rc::clone(&decision), now);
        Some(decision)
    }

    /// Takes the shared claim to fetch `cache_id` (a miss or a refresh ahead of expiry) for as
    /// long as a policy call may take; false if another request of any worker holds its slot.
    pub(super) fn claim(&self, host: &mut dyn Host, cache_id: &str, now: u64) -> bool {
        let until = now + self.config.policy_timeout_ms / 1000 + 1;
        self.claim_until(host, cache_id, until, now)
    }

    /// Takes the shared claim on `cache_id` until `until`; false if another request of any
    /// worker holds its slot.
    pub(super) fn claim_until(
        &self,
        host: &mut dyn Host,
        cache_id: &str,
        until: u64,
        now: u64,
    ) -> bool {
        let slot = ClaimSlot::of(cache_id, self.config.claim_slots);
        let Ok((held, cas)) = host.shared_get(&slot.key) else {
            return false;
        };
        let value = held.as_deref().and_then(|b| slot.decode(b)).map(|(v, _)| v);
        if value.is_some_and(|until| until > now) {
            return false;
        }
        let cas = cas.unwrap_or(CREATE_ONLY);
        host.shared_set(&slot.key, &slot.encode(until), Some(cas))
            .is_ok()
    }

    /// Extends the claim on `cache_id` this request holds to `until`.
    pub(super) fn renew_claim(&self, host: &mut dyn Host, cache_id: &str, until: u64) {
        let slot = ClaimSlot::of(cache_id, self.config.claim_slots);
        let _ = host.shared_set(&slot.key, &slot.encode(until), None);
    }

    /// Whether the claim on `cache_id`'s slot is held by a request of any worker (its own or
    /// another id's: those wait for each other).
    pub(super) fn claim_held(&self, host: &mut dyn Host, cache_id: &str, now: u64) -> bool {
        let slot = ClaimSlot::of(cache_id, self.config.claim_slots);
        let Ok((Some(held), _)) = host.shared_get(&slot.key) else {
            return false;
        };
        slot.decode(&held).is_some_and(|(until, _)| until > now)
    }

    /// Frees the claim on `cache_id`, recording whether the fetch got an answer: requests of
    /// other workers parked on it fail with it rather than fetch again.
    pub(super) fn release_claim(&self, host: &mut dyn Host, cache_id: &str, failed: bool) {
        let slot = ClaimSlot::of(cache_id, self.config.claim_slots);
        let value = if failed { CLAIM_FAILED } else { CLAIM_ANSWERED };
        let _ = host.shared_set(&slot.key, &slot.encode(value), None);
    }

    /// Whether the claim on `cache_id` records a failed fetch (`None`: its slot is empty, held,
    /// or speaks of another decision).
    pub(super) fn claim_failed(&self, host: &mut dyn Host, cache_id: &str) -> bool {
        let slot = ClaimSlot::of(cache_id, self.config.claim_slots);
        let Ok((Some(held), _)) = host.shared_get(&slot.key) else {
            return false;
        };
        matches!(slot.decode(&held), Some((CLAIM_FAILED, true)))
    }

    /// A fetch of `cache_id` ended (`answered`: a decision is cached): the claim is free for the
    /// next fetch (a refresh, or a retry), and the requests of this VM parked on it wake, as the
    /// fetch went.
    pub(super) fn end_fetch(&mut self, host: &mut dyn Host, cache_id: &str, answered: bool) {
        self.release_claim(host, cache_id, !answered);
        let how = if answered { Wake::Ready } else { Wake::Failed };
        let parked = self.waiters.take(cache_id);
        self.woken
            .extend(parked.into_iter().map(|stream| (stream, how)));
    }
}
