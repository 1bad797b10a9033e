//! An in-memory host for driving the flow natively: a clock, shared data with Envoy's CAS rules
//! (shareable between fake workers), and a record of the calls dispatched and commands given.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use super::host::{Call, Command, Counter, Gauge, Histogram, Host, HostRefused, Level, StreamId};

/// Envoy's shared data: every write takes the next CAS of one counter; a write with a CAS is
/// refused when the entry exists with another CAS.
#[derive(Default)]
pub struct SharedData {
    entries: HashMap<String, (Vec<u8>, u32)>,
    last_cas: u32,
}

impl SharedData {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Writes `key` as another worker would, without a CAS.
    pub fn write(&mut self, key: &str, value: &[u8]) {
        self.last_cas += 1;
        let cas = self.last_cas;
        self.entries.insert(key.to_string(), (value.to_vec(), cas));
    }
}

/// What another worker does between this worker's read and its next write.
pub type Interleaved = Box<dyn FnOnce(&mut SharedData)>;

/// A command as recorded (owned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    SetRequestHeader(String, Option<String>),
    SetResponseHeader(String, Option<String>),
    ReplaceResponseBody(Vec<u8>),
    Respond {
        status: u32,
        headers: Vec<(String, String)>,
        body: Option<Vec<u8>>,
    },
    Resume,
    ResetResponse,
    SetProperty(String, Vec<u8>),
}

impl From<Command<'_>> for Recorded {
    fn from(command: Command<'_>) -> Self {
        let owned = |v: Option<&str>| v.map(str::to_string);
        match command {
            Command::SetRequestHeader(n, v) => Recorded::SetRequestHeader(n.into(), owned(v)),
            Command::SetResponseHeader(n, v) => Recorded::SetResponseHeader(n.into(), owned(v)),
            Command::ReplaceResponseBody { body, .. } => {
                Recorded::ReplaceResponseBody(body.to_vec())
            }
            Command::Respond {
                status,
                headers,
                body,
            } => Recorded::Respond {
                status,
                headers: headers
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
                body: body.map(<[u8]>::to_vec),
            },
            Command::Resume => Recorded::Resume,
            Command::ResetResponse => Recorded::ResetResponse,
            Command::SetProperty(n, v) => Recorded::SetProperty(n.into(), v.to_vec()),
        }
    }
}

/// One worker's host. Clone `shared` into another `FakeHost` for a second worker.
pub struct FakeHost {
    pub now: u64,
    pub shared: Rc<RefCell<SharedData>>,
    /// Calls dispatched, by token, in order.
    pub calls: Vec<(u32, Call)>,
    next_token: u32,
    /// Commands given, in order, with the stream each addressed.
    pub commands: Vec<(StreamId, Recorded)>,
    pub counters: HashMap<Counter, u64>,
    pub gauges: HashMap<Gauge, i64>,
    pub histograms: HashMap<Histogram, Vec<u64>>,
    /// Milliseconds past `now`'s second (what `now_ms` adds).
    pub millis: u64,
    pub logs: Vec<(Level, String)>,
    pub tick_period_ms: u64,
    /// What `response_body` returns.
    pub response_body: Vec<u8>,
    /// Refuse every dispatch (a cluster Envoy does not know, an overloaded host).
    pub refuse_dispatch: bool,
    /// Run just before the next shared-data write: a race with another worker.
    pub interleave: Option<Interleaved>,
}

impl FakeHost {
    pub fn new(now: u64) -> Self {
        FakeHost::with_shared(now, Rc::new(RefCell::new(SharedData::default())))
    }

    /// A host for another worker of the same Envoy: the same shared data.
    pub fn with_shared(now: u64, shared: Rc<RefCell<SharedData>>) -> Self {
        FakeHost {
            now,
            shared,
            calls: Vec::new(),
            next_token: 0,
            commands: Vec::new(),
            counters: HashMap::new(),
            gauges: HashMap::new(),
            histograms: HashMap::new(),
            millis: 0,
            logs: Vec::new(),
            tick_period_ms: 0,
            response_body: Vec::new(),
            refuse_dispatch: false,
            interleave: None,
        }
    }

    pub fn counter(&self, counter: Counter) -> u64 {
        self.counters.get(&counter).copied().unwrap_or(0)
    }

    /// The commands given to `stream`.
    pub fn commands_for(&self, stream: StreamId) -> Vec<Recorded> {
        self.commands
            .iter()
            .filter(|(s, _)| *s == stream)
            .map(|(_, c)| c.clone())
            .collect()
    }

    /// The status `stream` was answered with locally, if it was.
    pub fn local_answer(&self, stream: StreamId) -> Option<u32> {
        self.commands.iter().find_map(|(s, c)| match c {
            Recorded::Respond { status, .. } if *s == stream => Some(*status),
            _ => None,
        })
    }

    /// Whether `stream` was resumed (a paused request sent upstream).
    pub fn resumed(&self, stream: StreamId) -> bool {
        self.commands
            .iter()
            .any(|(s, c)| *s == stream && *c == Recorded::Resume)
    }

    /// The last value set for request header `name` of `stream` (`Some(None)`: removed).
    pub fn request_header(&self, stream: StreamId, name: &str) -> Option<Option<String>> {
        self.commands.iter().rev().find_map(|(s, c)| match c {
            Recorded::SetRequestHeader(n, v) if *s == stream && n == name => Some(v.clone()),
            _ => None,
        })
    }

    /// The last value `stream` set for property `name` (what the access log reads).
    pub fn property(&self, stream: StreamId, name: &str) -> Option<String> {
        self.commands.iter().rev().find_map(|(s, c)| match c {
            Recorded::SetProperty(n, v) if *s == stream && n == name => {
                Some(String::from_utf8_lossy(v).into_owned())
            }
            _ => None,
        })
    }

    /// The calls dispatched since index `from`, with their tokens.
    pub fn calls_since(&self, from: usize) -> &[(u32, Call)] {
        self.calls.get(from..).unwrap_or(&[])
    }
}

impl Host for FakeHost {
    fn now(&self) -> u64 {
        self.now
    }

    fn now_ms(&self) -> u64 {
        self.now * 1000 + self.millis
    }

    fn shared_get(&self, key: &str) -> Result<(Option<Vec<u8>>, Option<u32>), HostRefused> {
        Ok(match self.shared.borrow().entries.get(key) {
            Some((value, cas)) => (Some(value.clone()), Some(*cas)),
            None => (None, None),
        })
    }

    fn shared_set(&mut self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), HostRefused> {
        let mut shared = self.shared.borrow_mut();
        if let Some(other_worker) = self.interleave.take() {
            other_worker(&mut shared);
        }
        if let (Some(cas), Some((_, held))) = (cas, shared.entries.get(key)) {
            if cas != 0 && cas != *held {
                return Err(HostRefused);
            }
        }
        shared.write(key, value);
        Ok(())
    }

    fn dispatch(&mut self, call: &Call) -> Result<u32, HostRefused> {
        if self.refuse_dispatch {
            return Err(HostRefused);
        }
        self.next_token += 1;
        self.calls.push((self.next_token, call.clone()));
        Ok(self.next_token)
    }

    fn set_tick_period_ms(&mut self, period_ms: u64) {
        self.tick_period_ms = period_ms;
    }

    fn count(&mut self, counter: Counter, n: u64) {
        *self.counters.entry(counter).or_default() += n;
    }

    fn gauge(&mut self, gauge: Gauge, delta: i64) {
        *self.gauges.entry(gauge).or_default() += delta;
    }

    fn record(&mut self, histogram: Histogram, value: u64) {
        self.histograms.entry(histogram).or_default().push(value);
    }

    fn log(&mut self, level: Level, message: &str) {
        self.logs.push((level, message.to_string()));
    }

    fn response_body(&mut self, _size: usize) -> Vec<u8> {
        self.response_body.clone()
    }

    fn command(&mut self, stream: StreamId, command: Command<'_>) {
        self.commands.push((stream, command.into()));
    }
}
