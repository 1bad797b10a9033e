//! Cached authentication decisions: what the policy service said about one key (and SigV4
//! scope), until when. A decision's cache id is `flow::Lookup::cache_id`.
//!
//! Shared data (visible to every Envoy worker) holds `expires_at (u64 BE) | tag | JSON`; each VM
//! also keeps the parsed form, so the hot path does not re-parse JSON per request.

use std::collections::HashMap;
use std::rc::Rc;

use crate::policy::entitlements::Entitlements;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Known(Entitlements),
    /// The policy service does not know the key.
    Unknown,
}

const TAG_KNOWN: u8 = b'K';
const TAG_UNKNOWN: u8 = b'U';
/// Bound on the per-VM map, so a flood of distinct keys cannot grow it without limit.
const MAX_LOCAL_ENTRIES: usize = 10_000;

/// Days of credential dates one shared-data key stands for: more than the 9 a valid request can
/// carry (`sigv4::credential_days`), so live scopes never share a key, and a key is reused
/// every 10 days rather than a new one written every day for good (shared data cannot delete).
const SCOPE_DAYS: u64 = 10;

/// Shared-data key of a decision: the key's digest, and for a SigV4 scope its region and its
/// date modulo `SCOPE_DAYS`. The entry names its full cache id (`encode`), which `decode`
/// checks.
pub fn shared_data_key(cache_id: &str) -> String {
    let Some((digest, scope)) = cache_id.split_once('@') else {
        return format!("s3gate.decision.{cache_id}");
    };
    let mut parts = scope.splitn(2, '/');
    match (
        parts.next().and_then(crate::encoding::dates::day_number),
        parts.next(),
    ) {
        (Some(day), Some(rest)) => format!("s3gate.decision.{digest}@{}/{rest}", day % SCOPE_DAYS),
        _ => format!("s3gate.decision.{cache_id}"),
    }
}

pub fn encode(cache_id: &str, expires_at: u64, decision: &Decision) -> Vec<u8> {
    let mut out = expires_at.to_be_bytes().to_vec();
    let id = cache_id.as_bytes();
    out.extend(u16::try_from(id.len()).unwrap_or(0).to_be_bytes());
    out.extend(id);
    match decision {
        Decision::Known(e) => {
            out.push(TAG_KNOWN);
            // Serializing our own plain struct cannot fail; an empty body decodes as "absent".
            out.extend(serde_json::to_vec(e).unwrap_or_default());
        }
        Decision::Unknown => out.push(TAG_UNKNOWN),
    }
    out
}

/// `None` for anything that is not a fresh, well-formed entry for `cache_id`.
pub fn decode(bytes: &[u8], cache_id: &str, now: u64) -> Option<(u64, Decision)> {
    let expires_at = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
    if expires_at <= now {
        return None;
    }
    let id_len = usize::from(u16::from_be_bytes(bytes.get(8..10)?.try_into().ok()?));
    if bytes.get(10..10 + id_len)? != cache_id.as_bytes() {
        return None;
    }
    let bytes = bytes.get(2 + id_len..)?;
    let decision = match (bytes.get(8)?, bytes.get(9..)?) {
        (&TAG_KNOWN, json) => Decision::Known(serde_json::from_slice(json).ok()?),
        (&TAG_UNKNOWN, []) => Decision::Unknown,
        _ => return None,
    };
    Some((expires_at, decision))
}

/// Whether a decision close to its expiry should be fetched again now, while it still serves:
/// in the last fifth of its TTL (at least the last second). Under steady load the hot keys are
/// then refreshed by one request ahead of time instead of missing all at once at expiry.
pub fn should_refresh(decision: &Decision, expires_at: u64, now: u64) -> bool {
    match decision {
        Decision::Known(e) => {
            let window = u64::from(e.ttl_seconds / 5).max(1);
            now.saturating_add(window) >= expires_at
        }
        Decision::Unknown => false,
    }
}

/// Whether the decision refuses every request of the key whatever it proves: an unknown key or
/// a disabled principal. Such a decision answers without a signature check (SigV2 costs none).
pub fn refuses(decision: &Decision) -> bool {
    match decision {
        Decision::Known(e) => !e.enabled,
        Decision::Unknown => true,
    }
}

/// The claim one request (of any worker) takes to fetch a decision (a missing one, or a
/// refresh ahead of expiry) lives in one of a fixed number of shared-data slots, since shared
/// data cannot be deleted: misses of any number of keys leave at most `slots` entries. A slot
/// holds the claim's end time and the tag of the decision it is for; decisions whose ids share
/// a slot wait for each other's fetch (a short wait, never a wrong decision).
pub struct ClaimSlot {
    pub key: String,
    pub tag: u64,
}

impl ClaimSlot {
    pub fn of(cache_id: &str, slots: u32) -> Self {
        let tag = fnv1a(cache_id.as_bytes());
        let slot = tag % u64::from(slots.max(1));
        ClaimSlot {
            key: format!("s3gate.claim.{slot}"),
            tag,
        }
    }

    pub fn encode(&self, value: u64) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&value.to_be_bytes());
        out[8..].copy_from_slice(&self.tag.to_be_bytes());
        out
    }

    /// A slot's stored bytes: its value (a claim's end time, or `CLAIM_*` once free) and
    /// whether it speaks of this decision.
    pub fn decode(&self, bytes: &[u8]) -> Option<(u64, bool)> {
        let value = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
        let tag = u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?);
        Some((value, tag == self.tag))
    }
}

/// Claim values past the time a claim is held: free again, and how the last fetch ended.
pub const CLAIM_ANSWERED: u64 = 0;
pub const CLAIM_FAILED: u64 = 1;

/// FNV-1a: a hash every worker's VM computes alike (std's hasher is seeded per process).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The per-VM map of parsed decisions.
#[derive(Default)]
pub struct LocalCache {
    entries: HashMap<String, (u64, Rc<Decision>)>,
    /// How long past expiry an entry is kept for stale-if-error use.
    grace: u64,
}

impl LocalCache {
    pub fn with_grace(grace: u64) -> Self {
        LocalCache {
            entries: HashMap::new(),
            grace,
        }
    }

    /// A fresh decision and when it expires.
    pub fn get(&self, cache_id: &str, now: u64) -> Option<(u64, Rc<Decision>)> {
        self.entries
            .get(cache_id)
            .filter(|(expires_at, _)| *expires_at > now)
            .map(|(e, d)| (*e, Rc::clone(d)))
    }

    /// A decision that expired less than the grace period ago (stale-if-error); unknown keys
    /// are never served stale.
    pub fn get_stale(&self, cache_id: &str, now: u64) -> Option<Rc<Decision>> {
        self.entries
            .get(cache_id)
            .filter(|(expires_at, d)| {
                expires_at.saturating_add(self.grace) > now && matches!(**d, Decision::Known(_))
            })
            .map(|(_, d)| Rc::clone(d))
    }

    pub fn insert(&mut self, cache_id: String, expires_at: u64, decision: Rc<Decision>, now: u64) {
        if self.entries.len() >= MAX_LOCAL_ENTRIES {
            let grace = self.grace;
            self.entries
                .retain(|_, (e, _)| e.saturating_add(grace) > now);
            if self.entries.len() >= MAX_LOCAL_ENTRIES {
                // Still full of live entries: drop every other one (in the map's arbitrary
                // order), not all, so a key set just over the bound doesn't miss on every pass.
                let mut keep = false;
                self.entries.retain(|_, _| {
                    keep = !keep;
                    keep
                });
            }
        }
        self.entries.insert(cache_id, (expires_at, decision));
    }
}

/// A per-VM memo of a pure function's results (an access key's digest, a prepared signing key),
/// so the hot path does not redo them per request; emptied when it reaches its bound.
pub struct Memo<V> {
    entries: HashMap<String, V>,
}

impl<V> Default for Memo<V> {
    fn default() -> Self {
        Memo {
            entries: HashMap::new(),
        }
    }
}

impl<V> Memo<V> {
    /// The value for `key`, computed by `make` the first time (`None` is not remembered).
    pub fn get_or_insert_with(
        &mut self,
        key: &str,
        make: impl FnOnce() -> Option<V>,
    ) -> Option<&V> {
        if !self.entries.contains_key(key) {
            let value = make()?;
            if self.entries.len() >= MAX_LOCAL_ENTRIES {
                self.entries.clear();
            }
            self.entries.insert(key.to_string(), value);
        }
        self.entries.get(key)
    }
}

/// Requests of one VM parked until a decision that another request (of any worker) is fetching
/// arrives, by cache id: one policy call per key however many requests miss at once. `L` is
/// what a fetch needs (the lookup), `W` a handle to a parked request.
pub struct WaitList<L, W> {
    entries: HashMap<String, (L, Vec<(u64, W)>)>,
}

impl<L, W> Default for WaitList<L, W> {
    fn default() -> Self {
        WaitList {
            entries: HashMap::new(),
        }
    }
}

impl<L: Clone, W> WaitList<L, W> {
    /// Parks `waiter` on `cache_id` until `deadline` (seconds).
    pub fn park(&mut self, cache_id: &str, lookup: &L, waiter: W, deadline: u64) {
        self.entries
            .entry(cache_id.to_string())
            .or_insert_with(|| (lookup.clone(), Vec::new()))
            .1
            .push((deadline, waiter));
    }

    /// Every request parked on `cache_id`, removed from the list.
    pub fn take(&mut self, cache_id: &str) -> Vec<W> {
        self.entries
            .remove(cache_id)
            .map(|(_, waiters)| waiters.into_iter().map(|(_, w)| w).collect())
            .unwrap_or_default()
    }

    /// The requests whose deadline has passed (`deadline <= now`), removed from the list.
    pub fn take_expired(&mut self, now: u64) -> Vec<W> {
        let mut expired = Vec::new();
        self.entries.retain(|_, (_, waiters)| {
            let mut i = 0;
            while let Some(&(deadline, _)) = waiters.get(i) {
                if deadline <= now {
                    expired.push(waiters.swap_remove(i).1);
                } else {
                    i += 1;
                }
            }
            !waiters.is_empty()
        });
        expired
    }

    /// The cache ids requests wait on, with their lookups.
    pub fn pending(&self) -> Vec<(String, L)> {
        self.entries
            .iter()
            .map(|(id, (lookup, _))| (id.clone(), lookup.clone()))
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Decision {
        Decision::Known(Entitlements {
            principal: "alice".into(),
            enabled: true,
            ttl_seconds: 60,
            data_sources: vec![],
            ..Default::default()
        })
    }

    #[test]
    fn round_trips_and_expires() {
        let id = "ab@20261202/us-east-1/s3";
        for d in [known(), Decision::Unknown] {
            let bytes = encode(id, 100, &d);
            assert_eq!(decode(&bytes, id, 99), Some((100, d.clone())));
            assert_eq!(decode(&bytes, id, 100), None);
            // Another scope sharing the key never reads it.
            assert_eq!(decode(&bytes, "ab@20261212/us-east-1/s3", 99), None);
        }
    }

    #[test]
    fn scopes_ten_days_apart_share_a_key_and_live_ones_never_do() {
        let key = |date: &str| shared_data_key(&format!("ab@{date}/us-east-1/s3"));
        assert_eq!(key("20261202"), key("20261212"));
        let live: Vec<String> = (22..=30)
            .map(|d| key(&format!("202611{d}")))
            .chain((1..=2).map(|d| key(&format!("2026120{d}"))))
            .collect();
        // 20261122..20261202 is 11 days: only its ends (10 days apart) may share a key.
        for (i, a) in live.iter().enumerate() {
            for (j, b) in live.iter().enumerate() {
                assert!(i == j || a != b || i.abs_diff(j) == 10, "{i} {j}");
            }
        }
        assert_eq!(shared_data_key("ab"), "s3gate.decision.ab");
        assert_ne!(
            key("20261202"),
            key("20261202").replace("us-east-1", "eu-west-1")
        );
    }

    #[test]
    fn unknown_and_disabled_refuse() {
        assert!(!refuses(&known()));
        assert!(refuses(&Decision::Unknown));
        let disabled = Entitlements {
            enabled: false,
            ..Default::default()
        };
        assert!(refuses(&Decision::Known(disabled)));
    }

    #[test]
    fn refresh_ahead_in_the_last_fifth_of_the_ttl() {
        // ttl 60: refresh from 12 s before expiry.
        assert!(!should_refresh(&known(), 100, 87));
        assert!(should_refresh(&known(), 100, 88));
        assert!(should_refresh(&known(), 100, 99));
        assert!(!should_refresh(&Decision::Unknown, 100, 99));
    }

    #[test]
    fn garbage_is_absent() {
        for bytes in [
            &b""[..],
            b"short",
            b"\0\0\0\0\0\0\x01\0Kjunk",
            b"\0\0\0\0\0\0\x01\0X",
        ] {
            assert_eq!(decode(bytes, "", 0), None);
        }
    }

    #[test]
    fn local_cache_honours_expiry_and_bound() {
        let mut c = LocalCache::default();
        c.insert("a".into(), 10, Rc::new(Decision::Unknown), 0);
        assert_eq!(c.get("a", 9).map(|(e, _)| e), Some(10));
        assert!(c.get("a", 10).is_none());
        for i in 0..MAX_LOCAL_ENTRIES + 5 {
            c.insert(i.to_string(), 10, Rc::new(Decision::Unknown), 0);
        }
        assert!(c.entries.len() <= MAX_LOCAL_ENTRIES);
        assert!(
            c.entries.len() > MAX_LOCAL_ENTRIES / 3,
            "an overflow keeps most entries"
        );
    }

    #[test]
    fn stale_decisions_only_within_grace_and_only_known() {
        let mut c = LocalCache::with_grace(30);
        c.insert("k".into(), 10, Rc::new(known()), 0);
        c.insert("u".into(), 10, Rc::new(Decision::Unknown), 0);
        assert!(c.get("k", 20).is_none());
        assert!(c.get_stale("k", 39).is_some());
        assert!(c.get_stale("k", 40).is_none());
        assert!(c.get_stale("u", 20).is_none());
        assert!(LocalCache::default().get_stale("k", 11).is_none());
    }

    #[test]
    fn memo_computes_once_and_stays_bounded() {
        let mut m: Memo<usize> = Memo::default();
        let mut calls = 0;
        for _ in 0..3 {
            let v = m.get_or_insert_with("k", || {
                calls += 1;
                Some(7)
            });
            assert_eq!(v, Some(&7));
        }
        assert_eq!(calls, 1);
        assert_eq!(m.get_or_insert_with("bad", || None), None);
        assert!(
            !m.entries.contains_key("bad"),
            "failures are not remembered"
        );
        for i in 0..MAX_LOCAL_ENTRIES + 3 {
            m.get_or_insert_with(&i.to_string(), || Some(i));
        }
        assert!(m.entries.len() <= MAX_LOCAL_ENTRIES);
    }

    #[test]
    fn wait_list_parks_takes_and_expires() {
        let mut w: WaitList<&str, u32> = WaitList::default();
        assert!(w.is_empty());
        w.park("a@s", &"a", 1, 10);
        w.park("a@s", &"a", 2, 20);
        w.park("b", &"b", 3, 10);
        let mut pending = w.pending();
        pending.sort();
        assert_eq!(
            pending,
            vec![("a@s".to_string(), "a"), ("b".to_string(), "b")]
        );
        let mut expired = w.take_expired(10);
        expired.sort();
        assert_eq!(expired, vec![1, 3], "deadline reached");
        assert_eq!(w.pending().len(), 1, "an emptied id is gone");
        assert_eq!(w.take("a@s"), vec![2]);
        assert!(w.take("a@s").is_empty() && w.is_empty());
    }
}
