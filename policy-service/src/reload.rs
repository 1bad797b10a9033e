//! What the service serves and how it changes: the policy set every worker answers from, the
//! reload thread that swaps in a new set when the files change, and the record of reloads that
//! `/readyz` reports. A reload that fails validation changes nothing that is served: it is
//! logged (why, problem by problem), counted, and reported by `/readyz` as "serving an older
//! set" until a later edit loads.

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::thread;
use std::time::{Duration, SystemTime};

use crate::logging::{log, timestamp};
use crate::policy::{Environment, Policies, PolicyError, POLICY_FILES};

/// How often the policy files are looked at.
pub const RELOAD_EVERY: Duration = Duration::from_secs(2);

/// The reloads so far, for `/readyz` (and metrics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadStatus {
    /// When the set being served was loaded.
    pub loaded_at: SystemTime,
    /// Reloads that loaded a new set, since the start.
    pub reloads: u64,
    /// Reloads refused because the files were invalid, since the start.
    pub reload_failures: u64,
    /// The latest change of the files, when it was refused: the set served is older than the
    /// files on disk.
    pub rejected: Option<Rejection>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub at: SystemTime,
    /// How many problems the refused files had (the log lists them).
    pub problems: usize,
}

impl ReloadStatus {
    pub fn started(at: SystemTime) -> Self {
        ReloadStatus {
            loaded_at: at,
            reloads: 0,
            reload_failures: 0,
            rejected: None,
        }
    }

    fn loaded(&mut self, at: SystemTime) {
        self.loaded_at = at;
        self.reloads += 1;
        self.rejected = None;
    }

    fn refused(&mut self, at: SystemTime, problems: usize) {
        self.reload_failures += 1;
        self.rejected = Some(Rejection { at, problems });
    }

    /// `/readyz`'s JSON: `"status": "serving"`, or `"serving an older set"` while the latest
    /// change of the files is refused; the version served (the digest every entitlements
    /// document carries) and the counts. Names no principal, file path or problem text: the
    /// endpoint is open, like `/healthz`.
    pub fn readiness(&self, policy_version: &str) -> String {
        let mut body = serde_json::json!({
            "status": if self.rejected.is_some() { "serving an older set" } else { "serving" },
            "policy_version": policy_version,
            "loaded_at": timestamp(self.loaded_at),
            "reloads": self.reloads,
            "reload_failures": self.reload_failures,
        });
        if let (Some(rejected), Some(map)) = (&self.rejected, body.as_object_mut()) {
            map.insert("rejected_at".into(), timestamp(rejected.at).into());
            map.insert("rejected_problems".into(), rejected.problems.into());
        }
        body.to_string()
    }
}

/// The policies every worker answers from and the reload record, swapped together; and the
/// shadow set (`--shadow-policies`), compared with on every decision but never answered from.
pub struct Serving {
    pub policies: Arc<Policies>,
    pub status: ReloadStatus,
    pub shadow: Option<ShadowSet>,
}

/// The shadow policies and their own reload record: they reload like the enforced set.
#[derive(Clone)]
pub struct ShadowSet {
    pub policies: Arc<Policies>,
    pub status: ReloadStatus,
}

pub type Current = Arc<RwLock<Serving>>;

pub fn current(policies: Policies, shadow: Option<Policies>) -> Current {
    let now = SystemTime::now();
    Arc::new(RwLock::new(Serving {
        policies: Arc::new(policies),
        status: ReloadStatus::started(now),
        shadow: shadow.map(|policies| ShadowSet {
            policies: Arc::new(policies),
            status: ReloadStatus::started(now),
        }),
    }))
}

/// Which of the two sets a watcher reloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Set {
    Enforced,
    Shadow,
}

impl Set {
    /// How its log lines name it.
    fn label(self) -> &'static str {
        match self {
            Set::Enforced => "policies",
            Set::Shadow => "shadow policies",
        }
    }

    fn status(self, serving: &mut Serving) -> Option<&mut ReloadStatus> {
        match self {
            Set::Enforced => Some(&mut serving.status),
            Set::Shadow => serving.shadow.as_mut().map(|s| &mut s.status),
        }
    }
}

/// The policies and reload record now (cheap: an `Arc` and a few numbers).
pub fn snapshot(current: &Current) -> (Arc<Policies>, ReloadStatus) {
    read(current, |s| (Arc::clone(&s.policies), s.status.clone()))
}

/// The shadow set now, when there is one.
pub fn shadow_snapshot(current: &Current) -> Option<ShadowSet> {
    read(current, |s| s.shadow.clone())
}

fn read<T>(current: &Current, get: impl FnOnce(&Serving) -> T) -> T {
    // Nothing panics while holding the lock, but a poisoned lock still holds valid policies.
    match current.read() {
        Ok(guard) => get(&guard),
        Err(poisoned) => get(&poisoned.into_inner()),
    }
}

fn update(current: &Current, change: impl FnOnce(&mut Serving)) {
    match current.write() {
        Ok(mut guard) => change(&mut guard),
        Err(poisoned) => change(&mut poisoned.into_inner()),
    }
}

/// What the watcher compares: per policy file, its modification time, size and inode (a
/// renamed-in file, as from an atomic save or a Kubernetes ConfigMap swap, has a new inode
/// even when time and size match). `None` for a file that can't be read right now.
pub type FilesState = Vec<Option<(SystemTime, u64, u64)>>;

pub fn files_state(dir: &Path) -> FilesState {
    POLICY_FILES
        .iter()
        .map(|file| {
            let meta = std::fs::metadata(dir.join(file)).ok()?;
            Some((meta.modified().ok()?, meta.len(), inode(&meta)))
        })
        .collect()
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(meta)
}

#[cfg(not(unix))]
fn inode(_meta: &std::fs::Metadata) -> u64 {
    0
}

pub fn report_invalid(dir: &Path, e: &PolicyError) {
    report_invalid_set(Set::Enforced, dir, e);
}

pub fn report_invalid_set(set: Set, dir: &Path, e: &PolicyError) {
    log!("invalid {} in {}:", set.label(), dir.display());
    for problem in &e.problems {
        log!("  {problem}");
    }
}

pub fn report_warnings(policies: &Policies) {
    report_warnings_set(Set::Enforced, policies);
}

pub fn report_warnings_set(set: Set, policies: &Policies) {
    let prefix = if set == Set::Shadow {
        "shadow policies: "
    } else {
        ""
    };
    for warning in policies.warnings() {
        log!("{prefix}warning: {warning}");
    }
}

/// Every `RELOAD_EVERY`, reloads `set` from `dir` when the files changed. A bad edit is
/// logged once, counted, and the previous policies keep serving (or shadowing) until the files
/// change again.
pub fn watch(set: Set, dir: &Path, current: &Current, mut seen: FilesState, env: &Environment<'_>) {
    // The enforced set's lines read as they always have; the shadow set's say so first.
    let (prefix, what) = match set {
        Set::Enforced => ("", "still serving the previous policies"),
        Set::Shadow => (
            "shadow policies: ",
            "still comparing with the previous shadow policies",
        ),
    };
    loop {
        thread::sleep(RELOAD_EVERY);
        let now = files_state(dir);
        if now == seen {
            continue;
        }
        seen = now;
        match Policies::load_dir(dir, env) {
            Ok(policies) => {
                let policies = Arc::new(policies);
                update(current, |serving| {
                    match set {
                        Set::Enforced => serving.policies = Arc::clone(&policies),
                        Set::Shadow => {
                            if let Some(shadow) = serving.shadow.as_mut() {
                                shadow.policies = Arc::clone(&policies);
                            }
                        }
                    }
                    if let Some(status) = set.status(serving) {
                        status.loaded(SystemTime::now());
                    }
                });
                // Only now: whoever reads this line gets answers from the new policies.
                log!(
                    "{prefix}reloaded {} from {}",
                    policies.summary(),
                    dir.display()
                );
                report_warnings_set(set, &policies);
            }
            Err(e) => {
                let mut failures = 0;
                let mut served = String::new();
                update(current, |serving| {
                    if let Some(status) = set.status(serving) {
                        status.refused(SystemTime::now(), e.problems.len());
                        failures = status.reload_failures;
                    }
                    served = match set {
                        Set::Enforced => serving.policies.short_version().to_owned(),
                        Set::Shadow => serving
                            .shadow
                            .as_ref()
                            .map(|s| s.policies.short_version().to_owned())
                            .unwrap_or_default(),
                    };
                });
                log!(
                    "{prefix}reload of {} failed (reload failure {failures} since the start); \
                     {what}, version {served}",
                    dir.display(),
                );
                report_invalid_set(set, dir, &e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn readiness_says_when_an_older_set_is_served_and_counts_refusals() {
        let start = UNIX_EPOCH + Duration::from_secs(1_796_300_000);
        let mut status = ReloadStatus::started(start);
        let ready: serde_json::Value = serde_json::from_str(&status.readiness("abc")).unwrap();
        assert_eq!(ready["status"], "serving");
        assert_eq!(ready["policy_version"], "abc");
        assert_eq!(ready["loaded_at"], "2026-12-03T12:13:20.000Z");
        assert_eq!(
            (ready["reloads"].as_u64(), ready["reload_failures"].as_u64()),
            (Some(0), Some(0))
        );
        assert!(ready.get("rejected_at").is_none());

        status.refused(start + Duration::from_secs(60), 3);
        status.refused(start + Duration::from_secs(90), 2);
        let older: serde_json::Value = serde_json::from_str(&status.readiness("abc")).unwrap();
        assert_eq!(older["status"], "serving an older set");
        assert_eq!(older["reload_failures"], 2);
        assert_eq!(older["rejected_at"], "2026-12-03T12:14:50.000Z");
        assert_eq!(older["rejected_problems"], 2);
        assert_eq!(older["loaded_at"], ready["loaded_at"]);

        status.loaded(start + Duration::from_secs(120));
        let fixed: serde_json::Value = serde_json::from_str(&status.readiness("def")).unwrap();
        assert_eq!(fixed["status"], "serving");
        assert_eq!(
            (fixed["reloads"].as_u64(), fixed["reload_failures"].as_u64()),
            (Some(1), Some(2))
        );
        assert!(fixed.get("rejected_at").is_none());
    }
}
