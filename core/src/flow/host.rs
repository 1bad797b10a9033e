//! What the flow needs from its host (Envoy, through the shim; or `FakeHost` in tests), and
//! the commands it gives a stream. Nothing here does I/O itself.

use crate::headers::HeaderMap;

/// A request stream, by the host's context id.
pub type StreamId = u32;

/// What a stream callback tells the host: go on with the stream, or hold it (the flow answered
/// locally, or waits for a call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Continue,
    Pause,
}

/// Which context the host is running the flow in: calls dispatched now are delivered back to
/// it, so a stream may only dispatch its calls from its own callbacks or the root's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Root,
    Stream(StreamId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warn,
}

/// The flow's counters (`wasmcustom.s3gate_*` in Envoy's stats). Labels are parts of the
/// name (`s3gate_requests.operation.GetObject.decision.allow`) that envoy.yaml's `stats_tags`
/// turn into tags; their values are fixed names (operations, decisions, S3 error codes),
/// never a principal, key or path. docs/operations.md lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Counter {
    /// Requests decided, by S3 operation and decision (`allow`, `deny`).
    Requests {
        operation: &'static str,
        decision: &'static str,
    },
    /// Requests denied, by reason (the S3 error code answered).
    Denied {
        reason: &'static str,
    },
    /// Decision lookups, by outcome: `hit` (cached in this VM or shared data), `miss`,
    /// `refresh` (a hit near its expiry that fetches the next decision).
    DecisionCache {
        outcome: &'static str,
    },
    PolicyCalls,
    /// Policy calls that failed: no answer, an error status, an unreadable document.
    PolicyFailures,
    StaleDecisionsServed,
    /// Requests that waited for a decision another request was fetching.
    ParkedRequests,
    /// Of those, resumed by the root context's tick: the fetch they waited for was another
    /// worker's.
    ParkedResumedByTick,
    /// Upstream listing entries left out of a listing (not visible to the principal).
    ListedObjectsFiltered,
    /// Bytes of masked views sent to clients.
    MaskedBytes,
    /// Bytes of objects sent as stored (each GET's `Content-Length`).
    StreamedBytes,
    /// Masked objects refused because they cannot be transformed.
    TransformErrors,
}

impl Counter {
    /// The counters without labels: defined when the filter starts, so they read 0 before
    /// their first event (a labelled one appears with its first event).
    pub const UNLABELLED: [Counter; 9] = [
        Counter::PolicyCalls,
        Counter::PolicyFailures,
        Counter::StaleDecisionsServed,
        Counter::ParkedRequests,
        Counter::ParkedResumedByTick,
        Counter::ListedObjectsFiltered,
        Counter::MaskedBytes,
        Counter::StreamedBytes,
        Counter::TransformErrors,
    ];

    /// The metric's name, labels included.
    pub fn name(self) -> String {
        match self {
            Counter::Requests {
                operation,
                decision,
            } => format!("s3gate_requests.operation.{operation}.decision.{decision}"),
            Counter::Denied { reason } => format!("s3gate_denied.reason.{reason}"),
            Counter::DecisionCache { outcome } => {
                format!("s3gate_decision_cache.outcome.{outcome}")
            }
            Counter::PolicyCalls => "s3gate_policy_calls".into(),
            Counter::PolicyFailures => "s3gate_policy_failures".into(),
            Counter::StaleDecisionsServed => "s3gate_stale_decisions_served".into(),
            Counter::ParkedRequests => "s3gate_parked_requests".into(),
            Counter::ParkedResumedByTick => "s3gate_parked_resumed_by_tick".into(),
            Counter::ListedObjectsFiltered => "s3gate_listed_objects_filtered".into(),
            Counter::MaskedBytes => "s3gate_masked_bytes".into(),
            Counter::StreamedBytes => "s3gate_streamed_bytes".into(),
            Counter::TransformErrors => "s3gate_transform_errors".into(),
        }
    }
}

/// The flow's gauges: one value for all workers, moved by deltas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gauge {
    /// Requests the filter holds now (from their headers to the stream's end).
    ActiveRequests,
}

impl Gauge {
    pub fn name(self) -> &'static str {
        match self {
            Gauge::ActiveRequests => "s3gate_active_requests",
        }
    }
}

/// The flow's histograms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Histogram {
    /// Milliseconds from a decision call's dispatch to its answer (or failure).
    PolicyCallMs,
}

impl Histogram {
    pub fn name(self) -> &'static str {
        match self {
            Histogram::PolicyCallMs => "s3gate_policy_call_ms",
        }
    }
}

/// A call out of the filter (to the policy service or an upstream), made on behalf of a stream
/// or of the VM (`stream: None`): the host ties a stream's call to that stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub stream: Option<StreamId>,
    pub cluster: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub timeout_ms: u64,
}

/// A call's answer: `status` is `None` when the call failed (reset, timeout).
#[derive(Debug, Clone, Default)]
pub struct CallAnswer {
    pub status: Option<u32>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// What the host does to a stream. The host makes the stream the effective one first, so a
/// command may address another stream than the one whose callback is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    /// Sets (`Some`) or removes (`None`) a request header, before the request goes upstream.
    SetRequestHeader(&'a str, Option<&'a str>),
    SetResponseHeader(&'a str, Option<&'a str>),
    /// Replaces the `size` bytes of the current response body chunk.
    ReplaceResponseBody {
        size: usize,
        body: &'a [u8],
    },
    /// Answers locally; the upstream request (if any) is reset.
    Respond {
        status: u32,
        headers: &'a [(&'a str, &'a str)],
        body: Option<&'a [u8]>,
    },
    /// Lets a paused request go on upstream.
    Resume,
    /// Ends a response already under way short (a reset the client sees): what was sent
    /// cannot be taken back, and what follows must not be sent.
    ResetResponse,
    /// A stream property the access log reads (`%FILTER_STATE%`/`%CEL%` of `name`).
    SetProperty(&'a str, &'a [u8]),
}

/// Envoy's shared data cannot be written: the CAS did not match (another worker wrote first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostRefused;

/// The host's services. Everything is synchronous; answers to calls come back as events.
pub trait Host {
    /// Seconds since the epoch.
    fn now(&self) -> u64;
    /// Milliseconds since the epoch (durations).
    fn now_ms(&self) -> u64;
    /// A shared-data entry (all workers see it) and its CAS; `Err` if the host failed.
    fn shared_get(&self, key: &str) -> Result<(Option<Vec<u8>>, Option<u32>), HostRefused>;
    /// Writes a shared-data entry; with `cas`, only if the entry still has that CAS (an absent
    /// entry is created whatever the CAS).
    fn shared_set(&mut self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), HostRefused>;
    /// Sends a call; its answer comes back as `Gateway::on_call_answer` with this token.
    fn dispatch(&mut self, call: &Call) -> Result<u32, HostRefused>;
    /// How often the root context ticks; 0 stops it.
    fn set_tick_period_ms(&mut self, period_ms: u64);
    fn count(&mut self, counter: Counter, n: u64);
    fn gauge(&mut self, gauge: Gauge, delta: i64);
    fn record(&mut self, histogram: Histogram, value: u64);
    fn log(&mut self, level: Level, message: &str);
    /// The current response body chunk (only while `on_response_body` runs).
    fn response_body(&mut self, size: usize) -> Vec<u8>;
    fn command(&mut self, stream: StreamId, command: Command<'_>);
}
