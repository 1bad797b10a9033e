//! Masked Parquet views (docs/tables.md, "Parquet"): the view is the upstream object with an
//! overlay (`tables::parquet::Overlay`) written over it, computed from the object's footer
//! alone. Its size is the upstream's, its ETag the view's (upstream version + spec digest, as
//! for CSV views). The overlay is cached (this VM, and shared data when small enough) by view;
//! without it the object's tail is read (one ranged read of the last 64 KiB,
//! `parquet_tail_read_bytes`, and a second of exactly the footer's length when it is longer).
//! A GET forwards the client's range and overlays each body chunk in place at its offset:
//! nothing is read from byte 0, nothing is buffered beyond a chunk. A HEAD goes upstream too
//! (Envoy's local reply to a HEAD has no `Content-Length` of ours), its headers the view's.
//!
//! Fail closed: an object without a masked view (not Parquet, encrypted, a footer over
//! `parquet_max_footer_bytes`, masks its schema does not take) is refused before any byte
//! (403 InvalidObjectState), and remembered so.

use std::rc::Rc;

use super::{answer_holds, starts_at, unreadable_error, Unreadable, ViewCache};
use crate::flow::exchange::{Exchange, Waiting};
use crate::flow::host::{Action, CallAnswer, Command, Counter, Host, Level};
use crate::flow::object::{upstream_call, OwnRequest};
use crate::flow::{Outcome, Vm};
use crate::headers::{HeaderMap, Headers};
use crate::s3::error::S3Error;
use crate::s3::range::{self, Resolved};
use crate::tables::parquet::{self as pq, Fill, Overlay};
use crate::tables::spec::{Mask, SpecError, TableFormat, TableSpec};
use crate::tables::transform::TableError;
use crate::tables::view::ViewId;

/// What the VM keeps of overlays at most (bytes, about their footers' sizes); past it the
/// cache starts over (shared data still has the small ones).
const VM_OVERLAY_BYTES: usize = 64 << 20;

/// A shared-data entry: this magic (its version: bump it with any change to the encoding), the
/// view's id, the overlay's encoding. A change to the bytes the codec makes bumps
/// `view::TRANSFORM_VERSION`: new view ids and ETags, so no old overlay or client cache is used.
const SHARED_MAGIC: &[u8; 8] = b"s3gpqv1\0";

/// A read of the object's tail: its last `len` bytes, for `view`; `again` once the first read
/// did not hold the footer.
pub(crate) struct TailRead {
    view: ViewId,
    len: u64,
    again: bool,
}

/// What the client gets of a Parquet view's GET or HEAD, decided before the request goes
/// upstream.
pub(crate) struct ParquetAnswer {
    overlay: Rc<Overlay>,
    etag: String,
    status: u32,
    /// The first view byte sent, and how many.
    first: u64,
    length: u64,
    /// The view offset of the next upstream body byte, and whether the body is being served
    /// (false once an error reset it).
    at: u64,
    serving: bool,
    /// Zeros for chunks inside a zero span, kept for the stream (never written to): no
    /// allocation and fill per chunk.
    zeros: Vec<u8>,
}

/// Whether `spec` is of a Parquet data source.
pub(crate) fn is_parquet(spec: &TableSpec) -> bool {
    spec.format == TableFormat::Parquet {}
}

/// The codec's masks of `spec` (validated: only `null` and `constant`).
fn parquet_masks(spec: &TableSpec) -> Result<Vec<pq::ColumnMask>, TableError> {
    spec.validate().map_err(TableError::Spec)?;
    spec.masks
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mask = match &m.mask {
                Mask::Null {} => pq::Mask::Null,
                Mask::Constant { value } => pq::Mask::Constant(value.clone()),
                _ => return Err(TableError::Spec(SpecError::ParquetMask(i))),
            };
            Ok(pq::ColumnMask {
                column: m.column.clone(),
                mask,
            })
        })
        .collect()
}

fn shared_overlay_key(view: &ViewId, slots: u32) -> String {
    let [a, b, c, d, ..] = *view.bytes();
    let slot = u32::from_be_bytes([a, b, c, d]) % slots.max(1);
    format!("s3gate.pqview.{slot}")
}

impl ViewCache {
    /// The overlay of `view`: this VM's, else shared data's.
    pub(crate) fn overlay(
        &mut self,
        host: &dyn Host,
        slots: u32,
        view: &ViewId,
    ) -> Option<Rc<Overlay>> {
        if let Some(overlay) = self.overlays.get(view) {
            return Some(overlay.clone());
        }
        let (bytes, _) = host.shared_get(&shared_overlay_key(view, slots)).ok()?;
        let bytes = bytes?;
        let rest = bytes
            .strip_prefix(SHARED_MAGIC.as_slice())?
            .strip_prefix(view.bytes().as_slice())?;
        let overlay = Rc::new(Overlay::decode(rest)?);
        self.keep_overlay(slots, *view, overlay.clone(), rest.len());
        Some(overlay)
    }

    /// Keeps `overlay` of `view` here, and in shared data when it is at most `shared_max`
    /// bytes encoded (another worker's entry in its slot is replaced: a cache).
    fn put_overlay(
        &mut self,
        host: &mut dyn Host,
        slots: u32,
        shared_max: u64,
        view: ViewId,
        overlay: Overlay,
    ) -> Rc<Overlay> {
        // Encoded only for shared data, and only when it fits there.
        let len = overlay.encoded_len();
        if len as u64 <= shared_max {
            let encoded = overlay.encode();
            let mut entry = Vec::with_capacity(SHARED_MAGIC.len() + 32 + len);
            entry.extend_from_slice(SHARED_MAGIC);
            entry.extend_from_slice(view.bytes());
            entry.extend_from_slice(&encoded);
            let _ = host.shared_set(&shared_overlay_key(&view, slots), &entry, None);
        }
        let overlay = Rc::new(overlay);
        self.keep_overlay(slots, view, overlay.clone(), len);
        overlay
    }

    fn keep_overlay(&mut self, slots: u32, view: ViewId, overlay: Rc<Overlay>, len: usize) {
        if self.overlays.len() >= slots as usize || self.overlay_bytes + len > VM_OVERLAY_BYTES {
            // Bounded without bookkeeping: shared data still has the small ones.
            self.overlays.clear();
            self.overlay_bytes = 0;
        }
        self.overlay_bytes += len;
        self.overlays.insert(view, overlay);
    }
}

impl Exchange {
    /// A masked Parquet object's version is known (its HEAD): its overlay from the cache, or
    /// from its tail.
    pub(crate) fn parquet_view(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        view: ViewId,
    ) -> Outcome {
        if let Some(why) = vm.views.unreadable.get(&view).cloned() {
            return self.parquet_unreadable(host, &why);
        }
        if let Some(overlay) = vm.views.overlay(host, vm.config.view_slots, &view) {
            return self.answer_parquet(host, view, overlay);
        }
        let Some(size) = self
            .table
            .as_ref()
            .and_then(|t| t.version.as_ref())
            .map(|v| v.size)
        else {
            return self.respond_error(host, &S3Error::internal_error());
        };
        let first = size.min(vm.config.parquet_tail_read_bytes);
        self.read_tail(vm, host, view, first, false)
    }

    /// Reads the object's last `len` bytes (with If-Match: the version its HEAD named).
    fn read_tail(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        view: ViewId,
        len: u64,
        again: bool,
    ) -> Outcome {
        let Some(table) = self.table.as_ref() else {
            return self.respond_error(host, &S3Error::internal_error());
        };
        let Some(version) = table.version.as_ref() else {
            return self.respond_error(host, &S3Error::internal_error());
        };
        if len == 0 {
            // An empty object: no read, the codec refuses it.
            return self.parquet_masked(vm, host, view, &[], TailRead { view, len, again });
        }
        let first = version.size - len;
        let etag = version.etag.clone();
        let read = OwnRequest {
            upstream: &table.upstream,
            method: "GET",
            path: &table.path,
            timeout_ms: vm.config.index_read_timeout_ms,
        };
        let Some(mut call) =
            upstream_call(&vm.config, &mut vm.signers, self.stream, read, self.now)
        else {
            return self.respond_error(host, &S3Error::internal_error());
        };
        call.headers.push((
            "range".into(),
            format!("bytes={first}-{}", version.size - 1),
        ));
        call.headers.push(("if-match".into(), etag));
        let read = TailRead { view, len, again };
        self.send(vm, host, call, Waiting::ParquetTail(Box::new(read)))
    }

    /// The object's tail arrived: its overlay, or a second read, or the refusal.
    pub(crate) fn on_parquet_tail(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        read: TailRead,
        answer: &CallAnswer,
    ) -> Outcome {
        let Some(table) = self.table.as_ref() else {
            return self.respond_error(host, &S3Error::internal_error());
        };
        let Some(version) = table.version.as_ref() else {
            return self.respond_error(host, &S3Error::internal_error());
        };
        let first = version.size - read.len;
        let ranged = starts_at(answer.headers.get("content-range"), first);
        let status_ok = match answer.status {
            // Some S3-compatible stores (rclone) answer a satisfied range with 200.
            Some(200 | 206) if ranged => true,
            // A store that ignores the Range sends the whole object: usable only as the whole.
            Some(200) => first == 0,
            _ => false,
        };
        let same_object = answer.headers.get("etag") == Some(version.etag.as_str());
        if !status_ok || !same_object || answer.body.len() as u64 != read.len {
            // 412: the object changed since its HEAD; anything else is no usable read.
            host.log(
                Level::Warn,
                &format!(
                    "s3gate: reading the footer of Parquet object {:?} failed (status {:?}, ETag {:?} for {:?}, {} bytes for {}); refused",
                    table.key,
                    answer.status,
                    answer.headers.get("etag"),
                    version.etag,
                    answer.body.len(),
                    read.len
                ),
            );
            return self.respond_error(host, &S3Error::service_unavailable());
        }
        let view = read.view;
        self.parquet_masked(vm, host, view, &answer.body, read)
    }

    /// The overlay of `view` from `tail`, the object's last bytes.
    fn parquet_masked(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        view: ViewId,
        tail: &[u8],
        read: TailRead,
    ) -> Outcome {
        let Some(table) = self.table.as_ref() else {
            return self.respond_error(host, &S3Error::internal_error());
        };
        let Some(size) = table.version.as_ref().map(|v| v.size) else {
            return self.respond_error(host, &S3Error::internal_error());
        };
        let masks = match parquet_masks(&table.spec) {
            Ok(masks) => masks,
            Err(error) => return self.table_refused(host, &error),
        };
        match pq::mask(size, tail, &masks, vm.config.parquet_max_footer_bytes) {
            Ok(overlay) => {
                let overlay = vm.views.put_overlay(
                    host,
                    vm.config.view_slots,
                    vm.config.parquet_shared_overlay_bytes,
                    view,
                    overlay,
                );
                self.answer_parquet(host, view, overlay)
            }
            Err(pq::Error::NeedTail { bytes })
                if !read.again && bytes > read.len && bytes <= size =>
            {
                self.read_tail(vm, host, view, bytes, true)
            }
            Err(error) => {
                let why = Unreadable::of(&TableError::Parquet(error));
                vm.views
                    .mark_unreadable(vm.config.view_slots, view, why.clone());
                host.count(Counter::TransformErrors, 1);
                self.parquet_unreadable(host, &why)
            }
        }
    }

    /// The object of the request's view has no masked view (`why`): refused, logged.
    fn parquet_unreadable(&mut self, host: &mut dyn Host, why: &Unreadable) -> Outcome {
        let (key, principal) = self
            .table
            .as_ref()
            .map_or(("", ""), |t| (t.key.as_str(), t.principal.as_str()));
        host.log(
            Level::Warn,
            &format!(
                "s3gate: masked Parquet object {key:?} refused to principal {principal:?}: {}",
                why.logged
            ),
        );
        self.respond_error(host, &unreadable_error(why.public))
    }

    /// The view is known: the client's conditions and range answered against it; a range the
    /// overlay covers whole (a reader's footer reads) answered here; any other GET sent
    /// upstream for the range asked, a HEAD for the object's headers.
    fn answer_parquet(
        &mut self,
        host: &mut dyn Host,
        view: ViewId,
        overlay: Rc<Overlay>,
    ) -> Outcome {
        let stream = self.stream;
        let etag = view.etag();
        let size = overlay.size();
        let range = match self.view_conditions(host, &etag) {
            Ok(range) => range,
            Err(outcome) => return outcome,
        };
        let (status, first, length) = match range::resolve(range.as_deref(), size) {
            Resolved::Whole => (200, 0, size),
            Resolved::Part { first, last } => (206, first, last - first + 1),
            Resolved::Unsatisfiable => return self.unsatisfiable(host, size),
        };
        let Some(table) = self.table.as_mut() else {
            return self.respond_error(host, &S3Error::internal_error());
        };
        let Some(version) = table.version.as_ref() else {
            return self.respond_error(host, &S3Error::internal_error());
        };
        let content_range =
            (status == 206).then(|| format!("bytes {first}-{}/{size}", first + length - 1));
        // A local reply's length is its body's: a HEAD goes upstream (with If-Match), its
        // headers replaced by the view's.
        let local = !self.is_head && length > 0 && overlay.covers(first, length);
        if local {
            let zeros = vec![0; usize::try_from(length).unwrap_or(0)];
            let body = overlay.fill(first, &zeros);
            let mut headers = vec![("etag", etag.as_str()), ("accept-ranges", "bytes")];
            if !table.last_modified.is_empty() {
                headers.push(("last-modified", table.last_modified.as_str()));
            }
            if let Some(content_type) = &table.content_type {
                headers.push(("content-type", content_type.as_str()));
            }
            if let Some(content_range) = &content_range {
                headers.push(("content-range", content_range.as_str()));
            }
            headers.push(("x-amz-request-id", self.request_id.as_str()));
            host.count(Counter::MaskedBytes, body.len() as u64);
            host.command(
                stream,
                Command::Respond {
                    status,
                    headers: &headers,
                    body: Some(&body),
                },
            );
            return Outcome::Responded;
        }
        if status == 206 && !self.is_head {
            let value = format!("bytes={first}-{}", first + length - 1);
            host.command(stream, Command::SetRequestHeader("range", Some(&value)));
        }
        host.command(
            stream,
            Command::SetRequestHeader("if-match", Some(&version.etag)),
        );
        table.parquet = Some(ParquetAnswer {
            overlay,
            etag,
            status,
            first,
            length,
            at: first,
            serving: true,
            zeros: Vec::new(),
        });
        Outcome::Forward
    }

    /// The upstream's answer to a Parquet view's GET: the view's headers instead of the
    /// object's, if it is still the version the overlay was made from.
    pub(crate) fn on_parquet_headers(
        &mut self,
        vm: &Vm,
        host: &mut dyn Host,
        upstream: &HeaderMap,
    ) -> Action {
        let Some(table) = self.table.as_ref() else {
            return Action::Continue;
        };
        let (Some(answer), Some(version)) = (&table.parquet, &table.version) else {
            return Action::Continue;
        };
        let ranged_from = (answer.status == 206 && !self.is_head).then_some(answer.first);
        if !answer_holds(upstream, ranged_from, version, &table.last_modified) {
            return self.refuse_changed(host, "Parquet object", upstream.get(":status"));
        }
        let content_range = (answer.status == 206).then(|| {
            format!(
                "bytes {}-{}/{}",
                answer.first,
                answer.first + answer.length - 1,
                answer.overlay.size()
            )
        });
        let status = answer.status;
        let length = answer.length;
        let etag = answer.etag.clone();
        self.set_view_headers(
            vm,
            host,
            upstream,
            status,
            (length, &etag),
            content_range.as_deref(),
        );
        Action::Continue
    }

    /// A chunk of the upstream's body of a Parquet view's GET: overlaid in place at its
    /// offset.
    pub(crate) fn on_parquet_body(
        &mut self,
        host: &mut dyn Host,
        size: usize,
        end_of_stream: bool,
    ) -> Action {
        let stream = self.stream;
        let Some(table) = self.table.as_mut() else {
            return Action::Continue;
        };
        let Some(answer) = table.parquet.as_mut() else {
            return Action::Continue;
        };
        if !answer.serving {
            host.command(stream, Command::ReplaceResponseBody { size, body: &[] });
            return Action::Continue;
        }
        let end = answer.first + answer.length;
        let past = answer.at + size as u64 > end;
        let short = end_of_stream && answer.at + size as u64 != end;
        // A chunk no span touches is the upstream's bytes as they are: passed on without
        // copying it into the VM and back (most of a masked object; docs/benchmarks.md).
        if !past && !short && !touches(&answer.overlay, answer.at, size as u64) {
            answer.at += size as u64;
            host.count(Counter::MaskedBytes, size as u64);
            return Action::Continue;
        }
        // A chunk inside one zero span (most of a masked column's) needs no read either.
        if !past && !short && within_zeros(&answer.overlay, answer.at, size as u64) {
            answer.at += size as u64;
            host.count(Counter::MaskedBytes, size as u64);
            if answer.zeros.len() < size {
                answer.zeros.resize(size, 0);
            }
            let zeros = answer.zeros.get(..size).unwrap_or_default();
            host.command(stream, Command::ReplaceResponseBody { size, body: zeros });
            return Action::Continue;
        }
        let mut chunk = host.response_body(size);
        if past || short || chunk.len() != size {
            answer.serving = false;
            host.count(Counter::TransformErrors, 1);
            host.log(
                Level::Error,
                &format!(
                    "s3gate: masked Parquet object {:?} of principal {:?}: the upstream body does not match the range asked ({} bytes at {} of {}..{end}); response reset",
                    table.key,
                    table.principal,
                    chunk.len(),
                    answer.at,
                    answer.first
                ),
            );
            host.command(stream, Command::ReplaceResponseBody { size, body: &[] });
            host.command(stream, Command::ResetResponse);
            return Action::Pause;
        }
        answer.overlay.apply(answer.at, &mut chunk);
        answer.at += chunk.len() as u64;
        host.count(Counter::MaskedBytes, chunk.len() as u64);
        host.command(stream, Command::ReplaceResponseBody { size, body: &chunk });
        Action::Continue
    }
}

/// Whether any span of `overlay` overlaps `start..start + len`.
fn touches(overlay: &Overlay, start: u64, len: u64) -> bool {
    let spans = overlay.spans();
    let first = spans.partition_point(|s| s.end() <= start);
    spans
        .get(first)
        .is_some_and(|s| s.start < start.saturating_add(len))
}

/// Whether `start..start + len` lies inside one span of zeros of `overlay`.
fn within_zeros(overlay: &Overlay, start: u64, len: u64) -> bool {
    let spans = overlay.spans();
    let first = spans.partition_point(|s| s.end() <= start);
    spans.get(first).is_some_and(|s| {
        matches!(s.fill, Fill::Zeros(_)) && s.start <= start && start.saturating_add(len) <= s.end()
    })
}

#[cfg(test)]
mod tests {
    use super::{touches, within_zeros};
    use crate::tables::parquet::overlay::{Fill, Overlay, Span};

    #[test]
    fn a_chunk_is_touched_exactly_when_a_span_overlaps_it() {
        let overlay = Overlay::new(
            100,
            vec![
                Span {
                    start: 10,
                    fill: Fill::Zeros(5),
                },
                Span {
                    start: 40,
                    fill: Fill::Bytes(vec![1; 10]),
                },
            ],
        )
        .unwrap();
        // Each byte alone: touched iff some span holds it.
        for at in 0..100 {
            let held = (10..15).contains(&at) || (40..50).contains(&at);
            assert_eq!(touches(&overlay, at, 1), held, "byte {at}");
        }
        assert!(!touches(&overlay, 0, 10));
        assert!(touches(&overlay, 0, 11));
        assert!(!touches(&overlay, 15, 25));
        assert!(touches(&overlay, 15, 26));
        assert!(touches(&overlay, 12, 100));
        assert!(!touches(&overlay, 50, 50));
        assert!(!touches(&overlay, 3, 0));
        assert!(!touches(&Overlay::new(100, vec![]).unwrap(), 0, 100));
    }

    #[test]
    fn only_a_chunk_inside_one_zero_span_is_all_zeros() {
        let overlay = Overlay::new(
            100,
            vec![
                Span {
                    start: 10,
                    fill: Fill::Zeros(5),
                },
                Span {
                    start: 15,
                    fill: Fill::Zeros(5),
                },
                Span {
                    start: 40,
                    fill: Fill::Bytes(vec![0; 10]),
                },
            ],
        )
        .unwrap();
        assert!(within_zeros(&overlay, 10, 5));
        assert!(within_zeros(&overlay, 11, 3));
        assert!(within_zeros(&overlay, 15, 5));
        // Two adjacent spans are not one: the chunk is read and overlaid the slow way.
        assert!(!within_zeros(&overlay, 12, 5));
        assert!(!within_zeros(&overlay, 9, 3));
        assert!(!within_zeros(&overlay, 14, 7));
        assert!(!within_zeros(&overlay, 20, 1));
        // Bytes, even zero bytes, are not a zero span.
        assert!(!within_zeros(&overlay, 41, 2));
        assert!(!within_zeros(&overlay, 60, 10));
    }
}
