//! Masked views of table objects (docs/tables.md, "Serving"): the object's validators (a HEAD),
//! its view's index (cached, or built by one pass of bounded ranged reads), then the client's
//! conditions and range answered against the view, and the upstream bytes the answer needs
//! transformed as they stream back.
//!
//! Fail closed: an object that does not parse is refused before any byte is sent (the pass read
//! all of it); a failure once the response is under way resets it, never sends raw bytes.

mod parquet;

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

pub(crate) use parquet::TailRead;

use super::exchange::{Exchange, Waiting};
use super::host::{Action, CallAnswer, Command, Counter, Host, Level, StreamId};
use super::object::{upstream_call, OwnRequest};
use super::{Outcome, Vm, Wake, WAIT_TICK_MS};
use crate::encoding::dates::parse_http_date;
use crate::encoding::hex;
use crate::headers::{HeaderMap, Headers};
use crate::s3::conditional::{self, Conditions, Verdict};
use crate::s3::error::S3Error;
use crate::s3::listing::{ListingJob, Measure, Step};
use crate::s3::range::{self, Resolved};
use crate::s3::response;
use crate::tables::index::{fingerprint, IndexError, Window, FINGERPRINT_BYTES};
use crate::tables::mask::MaskKeys;
use crate::tables::spec::TableSpec;
use crate::tables::transform::{TableError, Transform};
use crate::tables::view::{self, ObjectVersion, ViewEntry, ViewId};

/// A masked object request, from the HEAD of its object to the last byte of its answer.
pub(crate) struct TableRequest {
    spec: TableSpec,
    digest: [u8; 32],
    principal: String,
    upstream: String,
    /// The upstream path (and query) of the object.
    path: String,
    /// The client's key, for errors and logs.
    key: String,
    range: Option<String>,
    conditions: Conditions,
    if_range: Option<String>,
    version: Option<ObjectVersion>,
    /// The object's `Last-Modified` as its HEAD sent it (conditions compare with it).
    last_modified: String,
    /// The object's `Content-Type` as its HEAD sent it (a Parquet view's HEAD answers with it).
    content_type: Option<String>,
    answer: Option<ViewAnswer>,
    /// A Parquet view's GET: the overlay and the range it is applied to.
    parquet: Option<parquet::ParquetAnswer>,
}

/// What the client gets of the view, decided before the request goes upstream.
struct ViewAnswer {
    entry: Rc<ViewEntry>,
    status: u32,
    /// The first view byte sent (0 for the whole view).
    first: u64,
    /// `None`: the whole view.
    window: Option<Window>,
    /// The first upstream byte asked for: the window's start, less the bytes its fingerprint
    /// covers.
    upstream_first: u64,
    body: Option<ViewBody>,
}

impl ViewAnswer {
    fn length(&self) -> u64 {
        self.window.map_or(self.entry.index.view_size, |w| w.take)
    }
}

/// The transform of the upstream bytes of a GET's answer.
struct ViewBody {
    transform: Option<Transform>,
    /// The upstream bytes before the window, still to arrive and be checked against its
    /// checkpoint's fingerprint before any byte after them is transformed.
    check: Vec<u8>,
    check_len: usize,
    before: u64,
    /// View bytes still to drop before the range starts, and still to send.
    skip: u64,
    left: u64,
    out: Vec<u8>,
}

/// The pass that measures a view: ranged reads of the object, transformed and dropped.
pub(crate) struct Pass {
    transform: Transform,
    offset: u64,
    view: ViewId,
    sink: Vec<u8>,
    object: PassObject,
    then: AfterPass,
}

impl Pass {
    pub(crate) fn view(&self) -> ViewId {
        self.view
    }
}

/// The object a pass reads.
struct PassObject {
    upstream: String,
    /// Its upstream path (and query).
    path: String,
    /// The client's name of it, and whose request it is, for logs.
    name: String,
    principal: String,
    version: ObjectVersion,
}

/// What the view a pass measured is for.
enum AfterPass {
    /// The masked object request of the exchange.
    Object,
    /// Object `index` of a listing page.
    Listing { job: Box<ListingJob>, index: usize },
}

/// The views this VM knows, and their slots in shared data (which cannot delete: a slot holds
/// the last entry written to it, naming its view); the passes it runs and the requests waiting
/// for them.
#[derive(Default)]
pub(crate) struct ViewCache {
    entries: HashMap<ViewId, Rc<ViewEntry>>,
    /// Views whose object does not parse as its table, and why (for the log, for the
    /// client): not read again.
    unreadable: HashMap<ViewId, Unreadable>,
    /// The views this VM's passes are measuring.
    running: HashSet<ViewId>,
    /// Parquet views' overlays this VM knows, and their encoded bytes in all.
    overlays: HashMap<ViewId, Rc<crate::tables::parquet::Overlay>>,
    overlay_bytes: usize,
    /// Requests parked until a pass (of any worker) has measured their view.
    pub(crate) waiters: HashMap<ViewId, Vec<StreamId>>,
}

fn shared_key(view: &ViewId, slots: u32) -> String {
    let [a, b, c, d, ..] = *view.bytes();
    let slot = u32::from_be_bytes([a, b, c, d]) % slots.max(1);
    format!("s3gate.view.{slot}")
}

/// Why an object cannot be served as its table: in full for the log, and as its client may
/// be told (`TableError::public_reason`).
#[derive(Clone)]
struct Unreadable {
    logged: String,
    public: &'static str,
}

impl Unreadable {
    fn of(error: &TableError) -> Self {
        Unreadable {
            logged: error.to_string(),
            public: error.public_reason(),
        }
    }
}

/// The id of a view's pass claim (claims share the decisions' slots).
fn claim_id(view: &ViewId) -> String {
    format!("view {}", hex::encode(view.bytes()))
}

impl ViewCache {
    pub(crate) fn get(
        &mut self,
        host: &dyn Host,
        slots: u32,
        view: &ViewId,
    ) -> Option<Rc<ViewEntry>> {
        if let Some(entry) = self.entries.get(view) {
            return Some(entry.clone());
        }
        let (bytes, _) = host.shared_get(&shared_key(view, slots)).ok()?;
        let entry = Rc::new(ViewEntry::decode(view, &bytes?)?);
        self.keep(slots, entry.clone());
        Some(entry)
    }

    fn put(&mut self, host: &mut dyn Host, slots: u32, entry: ViewEntry) -> Rc<ViewEntry> {
        // Another worker's entry in the slot is replaced: shared data is a cache here.
        let _ = host.shared_set(&shared_key(&entry.view, slots), &entry.encode(), None);
        let entry = Rc::new(entry);
        self.keep(slots, entry.clone());
        entry
    }

    fn keep(&mut self, slots: u32, entry: Rc<ViewEntry>) {
        if self.entries.len() >= slots as usize {
            // Bounded without bookkeeping: shared data still has the entries.
            self.entries.clear();
        }
        self.entries.insert(entry.view, entry);
    }

    /// Drops `view`'s entry here and in shared data (which cannot delete: its slot is
    /// overwritten with nothing an entry decodes from).
    fn forget(&mut self, host: &mut dyn Host, slots: u32, view: &ViewId) {
        self.entries.remove(view);
        let _ = host.shared_set(&shared_key(view, slots), b"", None);
    }

    fn mark_unreadable(&mut self, slots: u32, view: ViewId, why: Unreadable) {
        if self.unreadable.len() >= slots as usize {
            self.unreadable.clear();
        }
        self.unreadable.insert(view, why);
    }
}

impl Vm {
    /// Takes the pass of `view` for this VM and the claim of every worker; false if a pass of
    /// it (or of a view sharing its claim slot) is under way.
    fn start_measuring(&mut self, host: &mut dyn Host, view: ViewId, now: u64) -> bool {
        if self.views.running.contains(&view) {
            return false;
        }
        let until = now + self.config.index_read_timeout_ms / 1000 + 1;
        if !self.claim_until(host, &claim_id(&view), until, now) {
            return false;
        }
        self.views.running.insert(view);
        true
    }

    /// The pass of `view` ended, measured or not: the claim is free and the requests waiting
    /// on it wake to find the view (or make the pass themselves).
    pub(crate) fn end_measuring(&mut self, host: &mut dyn Host, view: ViewId) {
        if self.views.running.remove(&view) {
            self.release_claim(host, &claim_id(&view), false);
        }
        self.wake_view(view);
    }

    fn wake_view(&mut self, view: ViewId) {
        let parked = self.views.waiters.remove(&view).unwrap_or_default();
        self.woken
            .extend(parked.into_iter().map(|stream| (stream, Wake::Ready)));
    }

    /// On the tick: views measured, or whose claim was let go, by another worker wake their
    /// requests.
    pub(crate) fn wake_measured_views(&mut self, host: &mut dyn Host, now: u64) {
        let parked: Vec<ViewId> = self.views.waiters.keys().copied().collect();
        for view in parked {
            let slots = self.config.view_slots;
            let measured = self.views.get(host, slots, &view).is_some();
            if measured || !self.claim_held(host, &claim_id(&view), now) {
                host.count(Counter::ParkedResumedByTick, 1);
                self.wake_view(view);
            }
        }
    }
}

/// A request waiting for another's pass over its view.
pub(crate) struct ParkedPass {
    spec: TableSpec,
    view: ViewId,
    object: PassObject,
    then: AfterPass,
}

/// How much of a pass's read is transformed at a time.
const PASS_SLICE: usize = 64 << 10;

/// The client's headers the gateway answers for a view itself: none of them goes upstream.
const VIEW_REQUEST_HEADERS: [&str; 6] = [
    "range",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "if-range",
];

impl Exchange {
    /// A GET or HEAD of an object of a masked table; its request headers are already rewritten
    /// for `upstream` and `path`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn forward_table(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        spec: &TableSpec,
        principal: &str,
        upstream: &str,
        path: String,
        key: String,
    ) -> Outcome {
        let Some(keys) = &vm.mask_keys else {
            host.log(
                Level::Error,
                &format!(
                    "s3gate: no mask secret ({} is not in the VM's environment): masked table {key:?} refused",
                    vm.config.mask_secret_env
                ),
            );
            return self.respond_error(host, &S3Error::service_unavailable());
        };
        let digest = view::spec_digest(spec, keys);
        let owned = |name| self.request_headers.get(name).map(str::to_string);
        let mut table = TableRequest {
            spec: spec.clone(),
            digest,
            principal: principal.to_string(),
            upstream: upstream.to_string(),
            path,
            key,
            range: owned("range"),
            conditions: Conditions {
                if_match: owned("if-match"),
                if_none_match: owned("if-none-match"),
                if_modified_since: owned("if-modified-since"),
                if_unmodified_since: owned("if-unmodified-since"),
            },
            if_range: owned("if-range"),
            version: None,
            last_modified: String::new(),
            content_type: None,
            answer: None,
            parquet: None,
        };
        if table.range.is_none() {
            table.if_range = None;
        }
        for name in VIEW_REQUEST_HEADERS {
            if self.request_headers.get(name).is_some() {
                host.command(self.stream, Command::SetRequestHeader(name, None));
            }
        }
        let head = OwnRequest {
            upstream: &table.upstream,
            method: "HEAD",
            path: &table.path,
            timeout_ms: vm.config.upstream_head_timeout_ms,
        };
        let call = upstream_call(&vm.config, &mut vm.signers, self.stream, head, self.now);
        self.table = Some(Box::new(table));
        match call {
            Some(call) => self.send(vm, host, call, Waiting::TableHead),
            None => self.respond_error(host, &S3Error::internal_error()),
        }
    }

    /// The object's validators arrived: its view's index, from the cache or a pass.
    pub(crate) fn on_table_head(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        head: &CallAnswer,
    ) -> Outcome {
        let Some(table) = self.table.as_mut() else {
            return self.respond_error(host, &S3Error::internal_error());
        };
        match head.status {
            Some(200) => {}
            None => return self.respond_error(host, &S3Error::service_unavailable()),
            Some(status) => {
                let error = S3Error::from_upstream(status, None, &table.key);
                return self.respond_error(host, &error);
            }
        }
        let Some((version, last_modified)) =
            head_version(&table.upstream, &table.path, &head.headers)
        else {
            return self.respond_error(host, &S3Error::bad_upstream_response());
        };
        table.last_modified = last_modified;
        table.content_type = head.headers.get("content-type").map(str::to_string);
        let view = ViewId::of(&version, &table.digest);
        table.version = Some(version.clone());
        if parquet::is_parquet(&table.spec) {
            return self.parquet_view(vm, host, view);
        }
        if let Some(entry) = vm.views.get(host, vm.config.view_slots, &view) {
            return self.answer_view(vm, host, entry);
        }
        let object = PassObject {
            upstream: table.upstream.clone(),
            path: table.path.clone(),
            name: table.key.clone(),
            principal: table.principal.clone(),
            version,
        };
        let spec = table.spec.clone();
        self.start_pass(vm, host, &spec, view, object, AfterPass::Object)
    }

    /// The listing's next step; its masked objects' views measured from the cache where they
    /// can be, else by a pass.
    pub(crate) fn drive_listing(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        mut job: Box<ListingJob>,
    ) -> Outcome {
        loop {
            let measure = match job.next_step() {
                Step::Done(xml) => {
                    host.count(Counter::ListedObjectsFiltered, job.filtered);
                    return self.respond_xml(host, 200, &xml);
                }
                Step::Fetch(fetch) => return self.fetch_listing_page(vm, host, job, fetch),
                Step::Measure(measure) => measure,
            };
            if measure.version.etag.trim_matches('"').is_empty() {
                // Listed without an ETag (s3s-fs): the object's HEAD names its version.
                return self.head_listed(vm, host, job, Box::new(measure));
            }
            match self.measure_listed(vm, host, job, measure) {
                Ok(outcome) => return outcome,
                Err(measured) => job = measured,
            }
        }
    }

    /// The view of a listed object: `Err(job)` when known (from the cache, or unreadable, or
    /// the page ends before it), else the outcome of the pass or the refusal.
    fn measure_listed(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        mut job: Box<ListingJob>,
        measure: Measure,
    ) -> Result<Outcome, Box<ListingJob>> {
        let Some(keys) = &vm.mask_keys else {
            host.log(
                Level::Error,
                &format!(
                    "s3gate: no mask secret ({} is not in the VM's environment): listing of masked table objects refused",
                    vm.config.mask_secret_env
                ),
            );
            return Ok(self.respond_error(host, &S3Error::service_unavailable()));
        };
        let digest = job.spec_digest(&measure.spec, || view::spec_digest(&measure.spec, keys));
        let view = ViewId::of(&measure.version, &digest);
        if parquet::is_parquet(&measure.spec) {
            // A Parquet view has its object's size: nothing to measure.
            if vm.views.unreadable.contains_key(&view) {
                job.unreadable(measure.index, &view.etag());
            } else {
                job.sized(measure.index, measure.version.size, &view.etag());
            }
            return Err(job);
        }
        if let Some(entry) = vm.views.get(host, vm.config.view_slots, &view) {
            job.sized(measure.index, entry.index.view_size, &view.etag());
        } else if vm.views.unreadable.contains_key(&view) {
            job.unreadable(measure.index, &view.etag());
        } else if job.charge(measure.index) {
            let object = PassObject {
                upstream: measure.upstream,
                path: measure.path,
                name: measure.name,
                principal: job.principal.clone(),
                version: measure.version,
            };
            let then = AfterPass::Listing {
                job,
                index: measure.index,
            };
            return Ok(self.start_pass(vm, host, &measure.spec, view, object, then));
        }
        Err(job)
    }

    /// The HEAD of a listed object whose listing gave no ETag.
    fn head_listed(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        job: Box<ListingJob>,
        measure: Box<Measure>,
    ) -> Outcome {
        let head = OwnRequest {
            upstream: &measure.upstream,
            method: "HEAD",
            path: &measure.path,
            timeout_ms: vm.config.upstream_head_timeout_ms,
        };
        match upstream_call(&vm.config, &mut vm.signers, self.stream, head, self.now) {
            Some(call) => self.send(vm, host, call, Waiting::ListedHead { job, measure }),
            None => self.respond_error(host, &S3Error::internal_error()),
        }
    }

    /// A listed object's HEAD answered: its version measured as a HEAD of it would be.
    pub(crate) fn on_listed_head(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        mut job: Box<ListingJob>,
        mut measure: Measure,
        head: &CallAnswer,
    ) -> Outcome {
        match head.status {
            Some(200) => {}
            // Gone since it was listed: listed as an object that cannot be read.
            Some(404) => {
                job.unreadable(measure.index, "\"\"");
                return self.drive_listing(vm, host, job);
            }
            _ => return self.respond_error(host, &S3Error::service_unavailable()),
        }
        let Some((version, _)) = head_version(&measure.upstream, &measure.path, &head.headers)
        else {
            return self.respond_error(host, &S3Error::bad_upstream_response());
        };
        measure.version = version;
        match self.measure_listed(vm, host, job, measure) {
            Ok(outcome) => outcome,
            Err(job) => self.drive_listing(vm, host, job),
        }
    }

    /// A pass over `object` to measure `view`: made here, unless one (of any worker) is under
    /// way, then the request waits for it.
    fn start_pass(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        spec: &TableSpec,
        view: ViewId,
        object: PassObject,
        then: AfterPass,
    ) -> Outcome {
        if let Some(why) = vm.views.unreadable.get(&view).cloned() {
            return self.unreadable_known(vm, host, object, then, view, &why);
        }
        if !vm.start_measuring(host, view, self.now) {
            vm.views.waiters.entry(view).or_default().push(self.stream);
            host.set_tick_period_ms(WAIT_TICK_MS);
            self.waiting = Waiting::ViewParked(Box::new(ParkedPass {
                spec: spec.clone(),
                view,
                object,
                then,
            }));
            return Outcome::Pending;
        }
        let Some(keys) = &vm.mask_keys else {
            vm.end_measuring(host, view);
            return self.respond_error(host, &S3Error::service_unavailable());
        };
        let transform = match new_transform(spec, keys, vm) {
            Ok(transform) => transform,
            Err(error) => return self.pass_refused(vm, host, object, then, view, &error),
        };
        let pass = Box::new(Pass {
            transform,
            offset: 0,
            view,
            sink: Vec::new(),
            object,
            then,
        });
        self.read_next(vm, host, pass)
    }

    /// Another request's pass over the view ended: the view is known now, or this request
    /// makes the pass.
    pub(crate) fn resume_pass(&mut self, vm: &mut Vm, host: &mut dyn Host) -> Outcome {
        let Waiting::ViewParked(parked) = std::mem::replace(&mut self.waiting, Waiting::Nothing)
        else {
            return Outcome::Pending;
        };
        let ParkedPass {
            spec,
            view,
            object,
            then,
        } = *parked;
        match vm.views.get(host, vm.config.view_slots, &view) {
            Some(entry) => self.measured(vm, host, then, entry),
            None => self.start_pass(vm, host, &spec, view, object, then),
        }
    }

    /// `entry` measured the view `then` needs: on with the request.
    fn measured(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        then: AfterPass,
        entry: Rc<ViewEntry>,
    ) -> Outcome {
        match then {
            AfterPass::Object => self.answer_view(vm, host, entry),
            AfterPass::Listing { mut job, index } => {
                job.sized(index, entry.index.view_size, &entry.view.etag());
                self.drive_listing(vm, host, job)
            }
        }
    }

    /// The pass's next ranged read, or its end.
    fn read_next(&mut self, vm: &mut Vm, host: &mut dyn Host, pass: Box<Pass>) -> Outcome {
        let size = pass.object.version.size;
        if pass.offset >= size {
            let Pass {
                transform,
                view,
                mut sink,
                object,
                then,
                ..
            } = *pass;
            let summary = match transform.finish(&mut sink) {
                Ok(summary) => summary,
                Err(error) => return self.pass_refused(vm, host, object, then, view, &error),
            };
            let entry = ViewEntry {
                view,
                index: summary.index,
                header: summary.header,
            };
            let entry = vm.views.put(host, vm.config.view_slots, entry);
            vm.end_measuring(host, view);
            return self.measured(vm, host, then, entry);
        }
        let until = self.now + vm.config.index_read_timeout_ms / 1000 + 1;
        vm.renew_claim(host, &claim_id(&pass.view), until);
        let last = size.min(pass.offset.saturating_add(vm.config.index_read_bytes)) - 1;
        let read = OwnRequest {
            upstream: &pass.object.upstream,
            method: "GET",
            path: &pass.object.path,
            timeout_ms: vm.config.index_read_timeout_ms,
        };
        let Some(mut call) =
            upstream_call(&vm.config, &mut vm.signers, self.stream, read, self.now)
        else {
            vm.end_measuring(host, pass.view);
            return self.respond_error(host, &S3Error::internal_error());
        };
        call.headers
            .push(("range".into(), format!("bytes={}-{last}", pass.offset)));
        call.headers
            .push(("if-match".into(), pass.object.version.etag.clone()));
        self.send(vm, host, call, Waiting::TablePass(pass))
    }

    /// A ranged read of the pass answered.
    pub(crate) fn on_table_read(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        mut pass: Box<Pass>,
        answer: &CallAnswer,
    ) -> Outcome {
        let version = &pass.object.version;
        let expected = (version.size - pass.offset).min(vm.config.index_read_bytes);
        let whole = pass.offset == 0 && expected == version.size;
        let ranged = starts_at(answer.headers.get("content-range"), pass.offset);
        let status_ok = match answer.status {
            // Some S3-compatible stores (rclone) answer a satisfied range with 200.
            Some(200 | 206) if ranged => true,
            // A store that ignores the Range sends the whole object: usable only as the whole.
            Some(200) => whole,
            _ => false,
        };
        let same_object = answer.headers.get("etag") == Some(version.etag.as_str());
        if !status_ok || !same_object || answer.body.len() as u64 != expected {
            // 412: the object changed since its HEAD; anything else is no usable read.
            host.log(
                Level::Warn,
                &format!(
                    "s3gate: reading table object {:?} at {} failed (status {:?}, ETag {:?} for {:?}, {} bytes for {expected}); refused",
                    pass.object.name,
                    pass.offset,
                    answer.status,
                    answer.headers.get("etag"),
                    version.etag,
                    answer.body.len()
                ),
            );
            vm.end_measuring(host, pass.view);
            return self.respond_error(host, &S3Error::service_unavailable());
        }
        // In slices: the view bytes a pass measures are dropped, so they never need more
        // room than a slice's (and its longest record's).
        for slice in answer.body.chunks(PASS_SLICE) {
            pass.sink.clear();
            if let Err(error) = pass.transform.feed(slice, &mut pass.sink) {
                let Pass {
                    view, object, then, ..
                } = *pass;
                return self.pass_refused(vm, host, object, then, view, &error);
            }
        }
        pass.offset += expected;
        self.read_next(vm, host, pass)
    }

    /// The object a pass read cannot be read as its table: the view is remembered as
    /// unreadable, the object request refused; a listing lists it so and goes on.
    fn pass_refused(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        object: PassObject,
        then: AfterPass,
        view: ViewId,
        error: &TableError,
    ) -> Outcome {
        let why = Unreadable::of(error);
        vm.views
            .mark_unreadable(vm.config.view_slots, view, why.clone());
        vm.end_measuring(host, view);
        self.unreadable_known(vm, host, object, then, view, &why)
    }

    /// The object of `view` is known not to parse (`why`).
    #[allow(clippy::too_many_arguments)]
    fn unreadable_known(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        object: PassObject,
        then: AfterPass,
        view: ViewId,
        why: &Unreadable,
    ) -> Outcome {
        let listed = matches!(then, AfterPass::Listing { .. });
        host.log(
            Level::Warn,
            &format!(
                "s3gate: masked table object {:?} {} to principal {:?}: {}",
                object.name,
                if listed {
                    "listed as unreadable"
                } else {
                    "refused"
                },
                object.principal,
                why.logged
            ),
        );
        match then {
            AfterPass::Object => self.respond_error(host, &unreadable_error(why.public)),
            AfterPass::Listing { mut job, index } => {
                job.unreadable(index, &view.etag());
                self.drive_listing(vm, host, job)
            }
        }
    }

    /// The view is known: the client's conditions and range answered against it, and the
    /// request sent upstream for the bytes the answer needs.
    fn answer_view(&mut self, vm: &mut Vm, host: &mut dyn Host, entry: Rc<ViewEntry>) -> Outcome {
        let stream = self.stream;
        let etag = entry.view.etag();
        let size = entry.index.view_size;
        let range = match self.view_conditions(host, &etag) {
            Ok(range) => range,
            Err(outcome) => return outcome,
        };
        let Some(table) = self.table.as_mut() else {
            return self.respond_error(host, &S3Error::internal_error());
        };
        let Some(version) = table.version.as_ref() else {
            return self.respond_error(host, &S3Error::internal_error());
        };
        let (status, first, window) = match range::resolve(range.as_deref(), size) {
            Resolved::Whole => (200, 0, None),
            Resolved::Part { first, last } => match entry.index.window(first, last) {
                Some(window) => (206, first, Some(window)),
                None => return self.respond_error(host, &S3Error::internal_error()),
            },
            Resolved::Unsatisfiable => return self.unsatisfiable(host, size),
        };
        // The upstream bytes of the window (all of the object when it covers all of it), of
        // the version the index was built from.
        let check_len = window.map_or(0, |w| w.upstream_start.min(FINGERPRINT_BYTES as u64));
        let upstream_first = window.map_or(0, |w| w.upstream_start - check_len);
        let upstream_range = window
            .filter(|w| w.upstream_start > 0 || w.upstream_end < version.size)
            .map(|w| format!("bytes={upstream_first}-{}", w.upstream_end - 1));
        if !self.is_head {
            if let Some(value) = &upstream_range {
                host.command(stream, Command::SetRequestHeader("range", Some(value)));
            }
        }
        host.command(
            stream,
            Command::SetRequestHeader("if-match", Some(&version.etag)),
        );
        let body = (!self.is_head).then(|| ViewBody {
            transform: None,
            check: Vec::new(),
            check_len: check_len as usize,
            before: window.map_or(0, |w| w.before),
            skip: window.map_or(0, |w| w.skip),
            left: window.map_or(size, |w| w.take),
            out: Vec::new(),
        });
        let mut answer = ViewAnswer {
            entry,
            status,
            first,
            window,
            upstream_first,
            body,
        };
        if let Some(body) = answer.body.as_mut() {
            let Some(keys) = &vm.mask_keys else {
                return self.respond_error(host, &S3Error::service_unavailable());
            };
            let mut transform = match new_transform(&table.spec, keys, vm) {
                Ok(t) => t,
                Err(error) => return self.table_refused(host, &error),
            };
            let primed = match window {
                Some(w) if w.upstream_start > 0 && !answer.entry.header.is_empty() => {
                    transform.prime(&answer.entry.header)
                }
                _ => Ok(()),
            };
            if let Err(error) = primed {
                return self.table_refused(host, &error);
            }
            body.transform = Some(transform);
        }
        table.answer = Some(answer);
        Outcome::Forward
    }

    /// The client's conditions answered against a view's `etag`: `Ok` with the range still
    /// to serve (`None`: the whole view, also when If-Range does not hold), or the outcome of
    /// the answer already sent (304, 412).
    fn view_conditions(
        &mut self,
        host: &mut dyn Host,
        etag: &str,
    ) -> Result<Option<String>, Outcome> {
        let stream = self.stream;
        let Some(table) = self.table.as_ref() else {
            return Err(self.respond_error(host, &S3Error::internal_error()));
        };
        let last_modified = Some(table.last_modified.as_str()).filter(|v| !v.is_empty());
        // A view changes with its policy while the object's Last-Modified stays: dates never
        // validate a view (If-Modified-Since is ignored, a date in If-Range does not hold), and
        // If-Unmodified-Since cannot be known to hold (412, unless If-Match decides).
        let unmodified_since = table.conditions.if_match.is_none()
            && table
                .conditions
                .if_unmodified_since
                .as_deref()
                .and_then(parse_http_date)
                .is_some();
        let verdict = match table.conditions.evaluate(Some(etag), None) {
            Verdict::Proceed if unmodified_since => Verdict::PreconditionFailed,
            verdict => verdict,
        };
        match verdict {
            Verdict::Proceed => {}
            Verdict::NotModified => {
                let mut headers = vec![("etag", etag)];
                headers.extend(last_modified.map(|v| ("last-modified", v)));
                headers.push(("x-amz-request-id", self.request_id.as_str()));
                host.command(
                    stream,
                    Command::Respond {
                        status: 304,
                        headers: &headers,
                        body: None,
                    },
                );
                return Err(Outcome::Responded);
            }
            Verdict::PreconditionFailed => {
                return Err(self.respond_error(host, &S3Error::precondition_failed()));
            }
        }
        Ok(match &table.if_range {
            Some(if_range) if !conditional::if_range_holds(if_range, Some(etag), None) => None,
            _ => table.range.clone(),
        })
    }

    /// 416 for a range of a view of `size` bytes that is not satisfiable.
    fn unsatisfiable(&mut self, host: &mut dyn Host, size: u64) -> Outcome {
        let error = S3Error::invalid_range();
        let xml = error.to_xml(&self.resource, &self.request_id);
        let content_range = format!("bytes */{size}");
        let headers = [
            ("content-type", "application/xml"),
            ("content-range", content_range.as_str()),
            ("x-amz-request-id", self.request_id.as_str()),
        ];
        let body = (!self.is_head).then_some(xml.as_bytes());
        host.command(
            self.stream,
            Command::Respond {
                status: error.status,
                headers: &headers,
                body,
            },
        );
        Outcome::Responded
    }

    /// The view's headers in place of the object's `upstream` ones: `status`, the view's
    /// `length` and `etag`, its `content_range` for a part; the object's own digests, parts
    /// and disallowed metadata removed.
    fn set_view_headers(
        &self,
        vm: &Vm,
        host: &mut dyn Host,
        upstream: &HeaderMap,
        status: u32,
        (length, etag): (u64, &str),
        content_range: Option<&str>,
    ) {
        let stream = self.stream;
        let key = self.table.as_ref().map_or("", |t| t.key.as_str());
        let plan = response::plan_object_response(
            upstream,
            false,
            &Conditions::default(),
            key,
            &self.request_id,
        );
        let status = status.to_string();
        host.command(stream, Command::SetResponseHeader(":status", Some(&status)));
        let metadata = response::disallowed_metadata(upstream, &vm.config.user_metadata);
        // The object's own digests and parts describe other bytes than the view's. The view's
        // length (and range, when it has one) are set below: a set replaces, no removal first.
        let partial = content_range.is_some();
        let describes_object = |name: &str| {
            name.starts_with("x-amz-checksum-")
                || matches!(name, "content-md5" | "x-amz-mp-parts-count")
                || (name == "content-range" && !partial)
        };
        let mut removed: Vec<&str> = Vec::new();
        for name in plan
            .remove
            .iter()
            .map(String::as_str)
            .chain(metadata.iter().map(String::as_str))
            .chain(
                upstream
                    .pairs()
                    .map(|(n, _)| n)
                    .filter(|n| describes_object(n)),
            )
        {
            if !removed.contains(&name) {
                removed.push(name);
                host.command(stream, Command::SetResponseHeader(name, None));
            }
        }
        for (name, value) in &plan.set {
            host.command(stream, Command::SetResponseHeader(name, Some(value)));
        }
        let length = length.to_string();
        host.command(
            stream,
            Command::SetResponseHeader("content-length", Some(&length)),
        );
        host.command(stream, Command::SetResponseHeader("etag", Some(etag)));
        host.command(
            stream,
            Command::SetResponseHeader("accept-ranges", Some("bytes")),
        );
        if let Some(content_range) = content_range {
            host.command(
                stream,
                Command::SetResponseHeader("content-range", Some(content_range)),
            );
        }
    }

    /// The upstream's answer to a view's GET or HEAD: the view's headers instead of the
    /// object's, if it is still the version the index describes.
    pub(crate) fn on_view_headers(
        &mut self,
        vm: &Vm,
        host: &mut dyn Host,
        upstream: &HeaderMap,
    ) -> Action {
        let Some(table) = self.table.as_ref() else {
            return Action::Continue;
        };
        if table.parquet.is_some() {
            return self.on_parquet_headers(vm, host, upstream);
        }
        let (Some(answer), Some(version)) = (&table.answer, &table.version) else {
            // The gateway's own answer (an error, a 304): nothing of the object is in it.
            return Action::Continue;
        };
        let ranged_from = match (&answer.window, self.is_head) {
            (Some(w), false) if w.upstream_start > 0 || w.upstream_end < version.size => {
                Some(answer.upstream_first)
            }
            _ => None,
        };
        if !answer_holds(upstream, ranged_from, version, &table.last_modified) {
            return self.refuse_changed(host, "table object", upstream.get(":status"));
        }
        let content_range = answer.window.map(|window| {
            format!(
                "bytes {}-{}/{}",
                answer.first,
                answer.first + window.take - 1,
                answer.entry.index.view_size
            )
        });
        let etag = answer.entry.view.etag();
        self.set_view_headers(
            vm,
            host,
            upstream,
            answer.status,
            (answer.length(), &etag),
            content_range.as_deref(),
        );
        Action::Continue
    }

    /// A chunk of the upstream's body of a view's GET: replaced by its view bytes.
    pub(crate) fn on_view_body(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        size: usize,
        end_of_stream: bool,
    ) -> Action {
        let stream = self.stream;
        let Some(table) = self.table.as_mut() else {
            return Action::Continue;
        };
        if table.parquet.is_some() {
            return self.on_parquet_body(host, size, end_of_stream);
        }
        let Some(table) = self.table.as_mut() else {
            return Action::Continue;
        };
        let Some(body) = table.answer.as_mut().and_then(|a| a.body.as_mut()) else {
            return Action::Continue;
        };
        let Some(transform) = body.transform.as_mut() else {
            // Ended already (an error reset the response): nothing more is sent.
            host.command(stream, Command::ReplaceResponseBody { size, body: &[] });
            return Action::Continue;
        };
        let chunk = host.response_body(size);
        body.out.clear();
        let mut rest: &[u8] = &chunk;
        let mut stale = false;
        if body.check.len() < body.check_len {
            let wanted = (body.check_len - body.check.len()).min(rest.len());
            let (head, tail) = rest.split_at(wanted);
            body.check.extend_from_slice(head);
            rest = tail;
            stale = body.check.len() == body.check_len && fingerprint(&body.check) != body.before;
        }
        let mut result = if stale {
            Err(TableError::Index(IndexError::Stale))
        } else {
            transform.feed(rest, &mut body.out)
        };
        if end_of_stream && result.is_ok() {
            if let Some(transform) = body.transform.take() {
                result = transform.finish(&mut body.out).map(|_| ());
            }
        }
        let ok = result.is_ok();
        let mut error = result.err().map(|e| e.to_string());
        let produced = body.out.len() as u64;
        let skip = body.skip.min(produced);
        body.skip -= skip;
        let send = (produced - skip).min(body.left);
        body.left -= send;
        let from = skip as usize;
        let to = (skip + send) as usize;
        if ok && end_of_stream && body.left > 0 {
            error = Some(format!("the view ended {} bytes short", body.left));
        }
        match error {
            None => {
                let bytes = body.out.get(from..to).unwrap_or_default();
                host.count(Counter::MaskedBytes, bytes.len() as u64);
                host.command(stream, Command::ReplaceResponseBody { size, body: bytes });
                Action::Continue
            }
            Some(reason) => {
                body.transform = None;
                if stale {
                    // Measured again by the next request that needs it.
                    if let Some(answer) = table.answer.as_ref() {
                        vm.views
                            .forget(host, vm.config.view_slots, &answer.entry.view);
                    }
                }
                host.count(Counter::TransformErrors, 1);
                host.log(
                    Level::Error,
                    &format!(
                        "s3gate: masked table object {:?} of principal {:?} failed while served: {reason}; response reset",
                        table.key, table.principal
                    ),
                );
                host.command(stream, Command::ReplaceResponseBody { size, body: &[] });
                host.command(stream, Command::ResetResponse);
                Action::Pause
            }
        }
    }

    /// An object of a masked table that cannot be read as its table: refused, logged.
    fn table_refused(&mut self, host: &mut dyn Host, error: &TableError) -> Outcome {
        let (key, principal) = self
            .table
            .as_ref()
            .map_or(("", ""), |t| (t.key.as_str(), t.principal.as_str()));
        host.count(Counter::TransformErrors, 1);
        host.log(
            Level::Warn,
            &format!(
                "s3gate: masked table object {key:?} refused to principal {principal:?}: {error}"
            ),
        );
        self.respond_error(host, &unreadable_error(error.public_reason()))
    }
}

/// The S3 error for an object that cannot be served as its table, saying only `public` why.
fn unreadable_error(public: &str) -> S3Error {
    let message = format!("The object cannot be served as its table: {public}.");
    S3Error::invalid_object_state(&message)
}

/// The version of the object at `path` of `upstream` its HEAD's headers name, and its
/// `Last-Modified` as sent; `None` without an ETag or a length.
fn head_version(
    upstream: &str,
    path: &str,
    headers: &HeaderMap,
) -> Option<(ObjectVersion, String)> {
    let size = headers.get("content-length")?.parse::<u64>().ok()?;
    let etag = headers
        .get("etag")
        .filter(|e| !e.trim_matches('"').is_empty())?;
    let last_modified = headers.get("last-modified").unwrap_or_default();
    let version = ObjectVersion {
        location: ObjectVersion::location(upstream, path),
        etag: etag.to_string(),
        size,
        modified: parse_http_date(last_modified),
    };
    Some((version, last_modified.to_string()))
}

/// Whether a `Content-Range` answers a range starting at `first`.
/// Whether the upstream's answer to a view's GET is the version the view was made from and,
/// for a range read from `ranged_from`, that range.
fn answer_holds(
    upstream: &HeaderMap,
    ranged_from: Option<u64>,
    version: &ObjectVersion,
    last_modified: &str,
) -> bool {
    let status = upstream.get(":status");
    let status_ok = match ranged_from {
        // Some S3-compatible stores (rclone) answer a satisfied range with 200.
        Some(first) => {
            starts_at(upstream.get("content-range"), first) && matches!(status, Some("200" | "206"))
        }
        None => status == Some("200"),
    };
    status_ok
        && upstream.get("etag") == Some(version.etag.as_str())
        && upstream.get("last-modified").unwrap_or_default() == last_modified
}

impl Exchange {
    /// A view's object changed (or failed) between its HEAD and its GET: refused, logged.
    fn refuse_changed(&mut self, host: &mut dyn Host, what: &str, status: Option<&str>) -> Action {
        let key = self.table.as_ref().map_or("", |t| t.key.as_str());
        host.log(
            Level::Warn,
            &format!(
                "s3gate: {what} {key:?} changed or failed while served (status {status:?}); refused"
            ),
        );
        self.respond_error(host, &S3Error::service_unavailable());
        Action::Pause
    }
}

fn starts_at(content_range: Option<&str>, first: u64) -> bool {
    content_range.is_some_and(|v| v.starts_with(&format!("bytes {first}-")))
}

fn new_transform(spec: &TableSpec, keys: &MaskKeys, vm: &Vm) -> Result<Transform, TableError> {
    Transform::new(
        spec,
        keys,
        vm.config.max_record_bytes,
        vm.config.checkpoint_spacing,
    )
}
