//! The listing's state machine: which segments to list, what to fetch next, what of each
//! upstream page to take, and when the client's page is full, truncated or out of budget.

use std::collections::VecDeque;
use std::rc::Rc;

use crate::encoding::dates::parse_iso8601;
use crate::encoding::percent::uri_encode;
use crate::policy::entitlements::{DataSourceGrant, Entitlements, Visibility};
use crate::s3::continuation;
use crate::s3::error::S3Error;
use crate::s3::listing::render;
use crate::s3::listing::upstream_page::{parse_upstream_page, ObjectEntry, UpstreamPage};
use crate::s3::mapping::upstream_object_path;
use crate::s3::request::{is_servable_name, ListParams, ListVersion};
use crate::tables::spec::TableSpec;
use crate::tables::view::ObjectVersion;

/// Upstream pages fetched for one client page, v1 or v2, before the listing answers with what it
/// has: truncated, resuming after the last object examined through a sealed token (v2's
/// continuation token, v1's `NextMarker`), which names no hidden object.
pub const MAX_UPSTREAM_PAGES: usize = 50;

/// An upstream ListObjectsV2 request for the host to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetch {
    /// Upstream name (plugin configuration `upstreams`).
    pub upstream: String,
    /// `:path` of the request, bucket and query encoded.
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Fetch(Fetch),
    /// An object of a masked table on the page, whose view's size and ETag the host must
    /// find (cached, or by a pass) and give with [`ListingJob::sized`].
    Measure(Measure),
    /// The finished ListBucketResult document.
    Done(String),
}

/// An object of a masked table the page lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measure {
    /// Which of the page's masked objects (for `sized`, `charge`, `unreadable`).
    pub index: usize,
    pub upstream: String,
    /// `:path` of the object upstream, bucket and key encoded.
    pub path: String,
    /// The client's name of the object, for logs.
    pub name: String,
    pub version: ObjectVersion,
    pub spec: Rc<TableSpec>,
}

/// A measured masked object, as the page renders it.
pub(super) struct PendingView<'a> {
    pub(super) at: usize,
    pub(super) name: &'a str,
    pub(super) last_modified: &'a str,
    pub(super) storage_class: &'a str,
    pub(super) view: (u64, &'a str),
}

/// A masked object taken into the page: rendered once its view is known, where it was taken.
#[derive(Debug)]
struct Pending {
    /// Where its `<Contents>` goes in `contents`.
    at: usize,
    measure: Measure,
    last_modified: String,
    storage_class: String,
    /// The view's size and ETag, once known.
    view: Option<(u64, String)>,
    /// The page before it, for cutting the page there.
    taken_before: usize,
    prefixes_before: usize,
    last_taken_before: String,
}

#[derive(Debug, Clone)]
enum Segment {
    /// A common prefix the gateway answers itself (a data source rolled up by the delimiter).
    CommonPrefix(String),
    Upstream(Box<UpstreamSegment>),
}

#[derive(Debug, Clone)]
struct UpstreamSegment {
    grant: DataSourceGrant,
    /// The grant's object rules, compiled once for the whole listing.
    visibility: Visibility,
    /// Real prefix to list (the data source's prefix plus the client's prefix below it).
    list_prefix: String,
    /// The grant's table spec: its objects are listed with their views' sizes and ETags.
    table: Option<Rc<TableSpec>>,
}

impl UpstreamSegment {
    /// The key relative to the data source (below the grant's real prefix) of a key or common
    /// prefix the upstream listed for this segment. One outside the listed prefix means the
    /// upstream answered something else than asked: never pass it on.
    fn relative_key<'k>(&self, real_key: &'k str) -> Result<&'k str, S3Error> {
        if !real_key.starts_with(&self.list_prefix) {
            return Err(S3Error::bad_upstream_response());
        }
        real_key
            .strip_prefix(&self.grant.prefix)
            .ok_or_else(S3Error::bad_upstream_response)
    }
}

#[derive(Debug)]
pub struct ListingJob {
    pub(super) params: ListParams,
    pub(super) bucket: String,
    /// Whose listing it is, for logs.
    pub principal: String,
    /// Seals and opens this principal's continuation tokens.
    pub(super) token_key: Vec<u8>,
    /// Exclusive lower bound of the page, a virtual name.
    after: Option<String>,
    segments: VecDeque<Segment>,
    /// The upstream's own continuation token within the front segment.
    upstream_token: Option<String>,
    /// The page's objects, already rendered as `<Contents>` elements (objects come first in
    /// S3's answer, so they can be written as they are taken).
    pub(super) contents: String,
    /// The page's common prefixes, rendered after the objects.
    pub(super) prefixes: Vec<String>,
    /// Entries (objects and common prefixes) taken so far.
    pub(super) taken: usize,
    /// The name of the last entry taken (virtual); meaningful only when `taken > 0`.
    pub(super) last_taken: String,
    pub(super) truncated: bool,
    done: bool,
    fetches: usize,
    /// The last upstream object looked at (virtual name), visible or not: where a v2 page cut
    /// short by the page budget resumes. Empty until one is.
    pub(super) last_examined: String,
    /// Set when the page ends on `last_examined` rather than on its last entry.
    pub(super) resume_after_examined: bool,
    /// The page's masked objects, in page order.
    pending: Vec<Pending>,
    /// Upstream objects left out of the page as not visible (for metrics).
    pub filtered: u64,
    /// Upstream bytes the page's passes may still read (`charge`).
    pass_budget: u64,
    /// The digests of the page's table specs, each computed once (`spec_digest`).
    digests: Vec<(Rc<TableSpec>, [u8; 32])>,
}

impl ListingJob {
    /// A listing of `bucket` as `entitlements` see it; its passes may read nothing but the
    /// page's first entry until [`ListingJob::with_pass_budget`] says more.
    pub fn new(
        params: ListParams,
        entitlements: &Entitlements,
        bucket: &str,
    ) -> Result<Self, S3Error> {
        let token_key = continuation::token_key(entitlements);
        let after = match (&params.continuation_token, &params.start_after) {
            (Some(token), _) => Some(continuation::open(&token_key, token)?),
            // A v1 marker is a key, or the sealed `NextMarker` of a page cut short by the budget.
            (None, Some(marker)) if params.version == ListVersion::V1 => {
                Some(continuation::open(&token_key, marker).unwrap_or_else(|_| marker.clone()))
            }
            (None, start_after) => start_after.clone(),
        };
        let mut grants: Vec<&DataSourceGrant> = entitlements.data_sources.iter().collect();
        // Keys of a data source all start with "name/", so this order is S3's key order.
        grants.sort_by_key(|g| g.name.clone() + "/");
        let prefix = params.prefix.as_str();
        let mut segments = VecDeque::new();
        for grant in grants {
            let folder = format!("{}/", grant.name);
            if let Some(relative_prefix) = prefix.strip_prefix(folder.as_str()) {
                segments.push_back(Segment::Upstream(Box::new(UpstreamSegment {
                    list_prefix: format!("{}{}", grant.prefix, relative_prefix),
                    visibility: Visibility::of(grant),
                    table: grant.table.clone().map(Rc::new),
                    grant: grant.clone(),
                })));
            } else if let Some(rest) = folder.strip_prefix(prefix) {
                let rolled_up = params.delimiter.as_deref().and_then(|d| {
                    rest.find(d)
                        .map(|i| format!("{prefix}{}", &rest[..i + d.len()]))
                });
                match rolled_up {
                    Some(common) => {
                        let repeated = matches!(segments.back(), Some(Segment::CommonPrefix(c)) if *c == common);
                        if !repeated {
                            segments.push_back(Segment::CommonPrefix(common));
                        }
                    }
                    None => segments.push_back(Segment::Upstream(Box::new(UpstreamSegment {
                        list_prefix: grant.prefix.clone(),
                        visibility: Visibility::of(grant),
                        table: grant.table.clone().map(Rc::new),
                        grant: grant.clone(),
                    }))),
                }
            }
        }
        Ok(ListingJob {
            bucket: bucket.to_string(),
            principal: entitlements.principal.clone(),
            token_key,
            after,
            segments,
            upstream_token: None,
            contents: String::new(),
            prefixes: Vec::new(),
            taken: 0,
            last_taken: String::new(),
            truncated: false,
            done: params.max_keys == 0,
            fetches: 0,
            last_examined: String::new(),
            resume_after_examined: false,
            pending: Vec::new(),
            filtered: 0,
            pass_budget: 0,
            digests: Vec::new(),
            params,
        })
    }

    /// The upstream bytes passes may read to measure the page's masked objects (plugin
    /// configuration `listing_pass_bytes`).
    pub fn with_pass_budget(mut self, bytes: u64) -> Self {
        self.pass_budget = bytes;
        self
    }

    /// What the host should do next.
    pub fn next_step(&mut self) -> Step {
        // A full page keeps reading until a visible entry follows (truncated) or the listing
        // ends: a hidden object must not make a page truncated, as a missing one would not.
        while !self.done {
            let Some(front) = self.segments.front() else {
                break;
            };
            match front {
                Segment::CommonPrefix(common) => {
                    if self.is_after_start(common) {
                        if self.taken >= self.params.max_keys {
                            self.truncated = true;
                            break;
                        }
                        let common = common.clone();
                        self.take_prefix(common);
                    }
                    self.segments.pop_front();
                }
                Segment::Upstream(segment) => match self.upstream_start_after(segment) {
                    None => {
                        self.segments.pop_front();
                    }
                    Some(start_after) => {
                        let fetch = self.fetch_for(segment, start_after.as_deref());
                        return Step::Fetch(fetch);
                    }
                },
            }
        }
        if let Some(p) = self.pending.iter().find(|p| p.view.is_none()) {
            return Step::Measure(p.measure.clone());
        }
        Step::Done(self.render())
    }

    /// `spec`'s digest, from `compute` the first time this listing needs it (a page's objects
    /// of one data source share one spec).
    pub fn spec_digest(
        &mut self,
        spec: &Rc<TableSpec>,
        compute: impl FnOnce() -> [u8; 32],
    ) -> [u8; 32] {
        if let Some((_, digest)) = self.digests.iter().find(|(s, _)| Rc::ptr_eq(s, spec)) {
            return *digest;
        }
        let digest = compute();
        self.digests.push((spec.clone(), digest));
        digest
    }

    /// The view of masked object `index` of the page is `size` bytes with ETag `etag`
    /// (quoted).
    pub fn sized(&mut self, index: usize, size: u64, etag: &str) {
        if let Some(p) = self.pending.get_mut(index) {
            p.view = Some((size, etag.to_string()));
        }
    }

    /// Masked object `index` needs a pass: `true` if the page's budget covers reading it
    /// (charged), else the page ends before it, truncated, and `false`. The page's first entry
    /// is always read, so every page lists something.
    pub fn charge(&mut self, index: usize) -> bool {
        let Some(p) = self.pending.get(index) else {
            return false;
        };
        let size = p.measure.version.size;
        if p.taken_before == 0 || size <= self.pass_budget {
            self.pass_budget = self.pass_budget.saturating_sub(size);
            return true;
        }
        let (at, taken, prefixes) = (p.at, p.taken_before, p.prefixes_before);
        self.last_taken = p.last_taken_before.clone();
        self.contents.truncate(at);
        self.prefixes.truncate(prefixes);
        self.pending.truncate(index);
        self.taken = taken;
        self.truncated = true;
        self.done = true;
        self.resume_after_examined = false;
        false
    }

    /// Masked object `index` cannot be read as its table: listed with size 0 and `etag`, so
    /// a download of it meets its error instead of it vanishing from the folder.
    pub fn unreadable(&mut self, index: usize, etag: &str) {
        self.sized(index, 0, etag);
    }

    /// Takes the upstream's answer to the last [`Step::Fetch`].
    pub fn feed(&mut self, status: u32, body: &[u8]) -> Result<(), S3Error> {
        if !matches!(self.segments.front(), Some(Segment::Upstream(_))) {
            return Err(S3Error::internal_error());
        }
        if status != 200 {
            return Err(S3Error::from_upstream_listing(status));
        }
        let text = std::str::from_utf8(body).map_err(|_| S3Error::bad_upstream_response())?;
        let page = parse_upstream_page(text)?;
        self.fetches += 1;
        let Some(Segment::Upstream(segment)) = self.segments.pop_front() else {
            return Err(S3Error::internal_error());
        };
        // Out of the queue while the page is taken (it borrows the segment); always put back.
        let taken = self.take_page(&segment, &page, body.len());
        self.segments.push_front(Segment::Upstream(segment));
        let leftovers = taken?;
        if leftovers {
            self.truncated = true;
            self.done = true;
            return Ok(());
        }
        if page.is_truncated {
            let token = page.next_token.ok_or_else(S3Error::bad_upstream_response)?;
            self.upstream_token = Some(token);
        } else {
            self.upstream_token = None;
            self.segments.pop_front();
        }
        let more = self.upstream_token.is_some() || !self.segments.is_empty();
        if more && self.fetches >= MAX_UPSTREAM_PAGES {
            // Out of budget: what follows is unknown, so the page says it may go on.
            self.truncated = true;
            self.done = true;
            self.resume_after_examined = true;
        }
        Ok(())
    }

    /// Takes the entries of one upstream page in key order, until the client's page is full:
    /// `true` if some were left over.
    fn take_page(
        &mut self,
        segment: &UpstreamSegment,
        page: &UpstreamPage<'_>,
        body_len: usize,
    ) -> Result<bool, S3Error> {
        let grant = &segment.grant;
        let mut folder = String::with_capacity(grant.name.len() + 1);
        folder.push_str(&grant.name);
        folder.push('/');
        if self.contents.capacity() == 0 {
            // Rendered objects are about as long as the upstream's (key, metadata and tags).
            self.contents.reserve(body_len.min(1 << 20));
        }
        let mut objects = page.contents.iter().peekable();
        let mut prefixes = page.common_prefixes.iter().peekable();
        // The virtual name of the entry at hand, one buffer for the whole page.
        let mut name = String::with_capacity(folder.len() + 64);
        loop {
            // Merge the two sorted lists into S3's single key order.
            let take_object = match (objects.peek(), prefixes.peek()) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some(o), Some(p)) => *o.key < ***p,
            };
            if take_object {
                let Some(object) = objects.next() else {
                    break;
                };
                let relative = segment.relative_key(&object.key)?;
                name.clear();
                name.push_str(&folder);
                name.push_str(relative);
                self.last_examined.clear();
                self.last_examined.push_str(&name);
                // Hidden, or a name the gateway would refuse to serve: not listed.
                if !segment.visibility.is_visible(relative) || !is_servable_name(&name) {
                    self.filtered += 1;
                    continue;
                }
                match self.rolled_up_here(&name) {
                    Some(common) => {
                        if self.taken > 0 && self.last_taken == common {
                            continue;
                        }
                        if !self.is_after_start(&common) {
                            continue;
                        }
                        if self.taken >= self.params.max_keys {
                            return Ok(true);
                        }
                        self.take_prefix(common);
                    }
                    None => {
                        if !self.is_after_start(&name) {
                            continue;
                        }
                        if self.taken >= self.params.max_keys {
                            return Ok(true);
                        }
                        match &segment.table {
                            Some(spec) => {
                                self.take_masked(segment, spec, relative, &name, object)?
                            }
                            None => self.take_object(&name, object),
                        }
                    }
                }
            } else {
                let Some(prefix) = prefixes.next() else { break };
                let relative = segment.relative_key(prefix)?;
                name.clear();
                name.push_str(&folder);
                name.push_str(relative);
                if !self.ends_a_common_prefix(&name) {
                    // Not what was asked for: an upstream that rolls up differently.
                    return Err(S3Error::bad_upstream_response());
                }
                self.last_examined.clear();
                self.last_examined.push_str(&name);
                if !grant.may_hold_visible(relative) || !is_servable_name(&name) {
                    continue;
                }
                if !self.is_after_start(&name) {
                    continue;
                }
                if self.taken >= self.params.max_keys {
                    return Ok(true);
                }
                self.take_prefix(name.clone());
            }
        }
        Ok(false)
    }

    /// Appends an object to the page, rendered.
    fn take_object(&mut self, name: &str, object: &ObjectEntry<'_>) {
        render::push_contents(&mut self.contents, name, object, &self.params);
        self.taken += 1;
        self.last_taken.clear();
        self.last_taken.push_str(name);
    }

    /// Takes an object of a masked table into the page; it is rendered once its view is known.
    fn take_masked(
        &mut self,
        segment: &UpstreamSegment,
        spec: &Rc<TableSpec>,
        relative: &str,
        name: &str,
        object: &ObjectEntry<'_>,
    ) -> Result<(), S3Error> {
        let grant = &segment.grant;
        let size = object
            .size
            .parse::<u64>()
            .map_err(|_| S3Error::bad_upstream_response())?;
        // None or empty: the host learns the version from the object's HEAD.
        let etag = object
            .etag
            .as_deref()
            .unwrap_or_default()
            .replace("&quot;", "\"");
        let path = upstream_object_path(grant, relative, &[]);
        let version = ObjectVersion {
            location: ObjectVersion::location(&grant.upstream, &path),
            etag,
            size,
            modified: parse_iso8601(&object.last_modified),
        };
        self.pending.push(Pending {
            at: self.contents.len(),
            measure: Measure {
                index: self.pending.len(),
                upstream: grant.upstream.clone(),
                path,
                name: name.to_string(),
                version,
                spec: spec.clone(),
            },
            last_modified: object.last_modified.to_string(),
            storage_class: object.storage_class.to_string(),
            view: None,
            taken_before: self.taken,
            prefixes_before: self.prefixes.len(),
            last_taken_before: self.last_taken.clone(),
        });
        self.taken += 1;
        self.last_taken.clear();
        self.last_taken.push_str(name);
        Ok(())
    }

    /// The page's measured masked objects, in page order (all of them once `Done`).
    pub(super) fn pending_views(&self) -> impl Iterator<Item = PendingView<'_>> {
        self.pending.iter().filter_map(|p| {
            let (size, etag) = p.view.as_ref()?;
            Some(PendingView {
                at: p.at,
                name: &p.measure.name,
                last_modified: &p.last_modified,
                storage_class: &p.storage_class,
                view: (*size, etag),
            })
        })
    }

    /// Appends a common prefix to the page.
    fn take_prefix(&mut self, prefix: String) {
        self.taken += 1;
        self.last_taken.clear();
        self.last_taken.push_str(&prefix);
        self.prefixes.push(prefix);
    }

    /// Delimiters other than `/` are rolled up here: S3-compatible stores differ in how (or
    /// whether) they honour them. The common prefix `key` rolls up into, if any.
    fn rolled_up_here(&self, key: &str) -> Option<String> {
        let d = self.params.delimiter.as_deref().filter(|d| *d != "/")?;
        let rest = key.strip_prefix(self.params.prefix.as_str())?;
        let end = rest.find(d)? + d.len();
        Some(format!("{}{}", self.params.prefix, &rest[..end]))
    }

    fn is_after_start(&self, name: &str) -> bool {
        self.after.as_deref().is_none_or(|after| name > after)
    }

    /// `None`: the segment lies entirely at or before the start point. `Some(x)`: list it,
    /// starting after real key `x` if given.
    fn upstream_start_after(&self, segment: &UpstreamSegment) -> Option<Option<String>> {
        if self.upstream_token.is_some() {
            return Some(None);
        }
        let Some(after) = self.after.as_deref() else {
            return Some(None);
        };
        let folder = format!("{}/", segment.grant.name);
        match after.strip_prefix(folder.as_str()) {
            Some(relative) => {
                let mut real = format!("{}{}", segment.grant.prefix, relative);
                if self.ends_a_common_prefix(after) {
                    // Resuming after a common prefix: skip every key it rolls up.
                    real.push(char::MAX);
                }
                Some(Some(real))
            }
            None if after > folder.as_str() => None,
            None => Some(None),
        }
    }

    /// Whether `name` is a common prefix of this listing (so every key starting with it rolls up).
    fn ends_a_common_prefix(&self, name: &str) -> bool {
        let (Some(d), Some(rest)) = (
            self.params.delimiter.as_deref(),
            name.strip_prefix(self.params.prefix.as_str()),
        ) else {
            return false;
        };
        rest.find(d).is_some_and(|i| i + d.len() == rest.len())
    }

    fn fetch_for(&self, segment: &UpstreamSegment, start_after: Option<&str>) -> Fetch {
        let wanted = self.params.max_keys - self.taken;
        // A little more than needed, so a few hidden objects don't cost another round trip;
        // once a page came back short after filtering, whole pages.
        let max_keys = if self.fetches == 0 {
            (wanted + wanted / 2 + 1).min(1000)
        } else {
            1000
        };
        let mut path = String::with_capacity(128);
        path.push('/');
        uri_encode(&mut path, &segment.grant.bucket, false);
        path.push_str("?list-type=2&max-keys=");
        path.push_str(&max_keys.to_string());
        path.push_str("&prefix=");
        uri_encode(&mut path, &segment.list_prefix, false);
        if self.params.delimiter.as_deref() == Some("/") {
            path.push_str("&delimiter=%2F");
        }
        if let Some(token) = &self.upstream_token {
            path.push_str("&continuation-token=");
            uri_encode(&mut path, token, false);
        } else if let Some(start_after) = start_after {
            path.push_str("&start-after=");
            uri_encode(&mut path, start_after, false);
        }
        Fetch {
            upstream: segment.grant.upstream.clone(),
            path,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::listing::fake_upstream::*;
    use crate::s3::request::parse_query;
    use crate::tables::view::ObjectVersion;

    /// Everything a full paginated listing returns, page by page, with the client's own resume.
    fn paginate(
        ent: &Entitlements,
        prefix: &str,
        delimiter: Option<&str>,
        max_keys: usize,
        version: ListVersion,
    ) -> Vec<String> {
        let mut all = vec![];
        let mut resume: Option<String> = None;
        for _ in 0..1000 {
            let mut p = params(prefix, delimiter, max_keys, version);
            match version {
                ListVersion::V1 => p.start_after = resume.clone(),
                ListVersion::V2 => p.continuation_token = resume.clone(),
            }
            let mut job = ListingJob::new(p, ent, "immuta").unwrap();
            let (names, truncated, next) = page_names(&run(&mut job));
            assert!(names.len() <= max_keys);
            if truncated {
                assert_eq!(names.len(), max_keys, "a truncated page is never short");
            }
            if resume.is_some() {
                assert!(
                    !names.is_empty(),
                    "a truncated page is followed by a visible entry"
                );
            }
            all.extend(names);
            if !truncated {
                return all;
            }
            resume = Some(next.unwrap());
        }
        panic!("pagination did not end");
    }

    fn expected(prefix: &str, delimiter: Option<&str>) -> Vec<String> {
        let full = paginate(&alice(), "", None, 1000, ListVersion::V2);
        let mut out: Vec<String> = vec![];
        for key in full.into_iter().filter(|k| k.starts_with(prefix)) {
            let name = match delimiter.and_then(|d| key[prefix.len()..].find(d).map(|i| (i, d))) {
                Some((i, d)) => key[..prefix.len() + i + d.len()].to_string(),
                None => key,
            };
            if out.last() != Some(&name) {
                out.push(name);
            }
        }
        out
    }

    #[test]
    fn root_with_delimiter_lists_visible_data_sources() {
        let mut job = alice_job("", Some("/"), 1000, ListVersion::V1);
        let (names, truncated, _) = page_names(&run(&mut job));
        assert_eq!(names, ["customers/", "documents/", "sales/"]);
        assert!(!truncated);
        let mut job = alice_job("sales", Some("/"), 1000, ListVersion::V1);
        assert_eq!(page_names(&run(&mut job)).0, ["sales/"]);
    }

    #[test]
    fn whole_bucket_is_every_visible_object_in_key_order() {
        let all = paginate(&alice(), "", None, 1000, ListVersion::V2);
        let mut sorted = all.clone();
        sorted.sort();
        assert_eq!(all, sorted);
        assert_eq!(all.len(), 14 + 1 + 2);
        assert!(all
            .iter()
            .all(|k| !k.contains("crc") && !k.contains("_SUCCESS")));
        assert!(all
            .iter()
            .all(|k| !k.contains("leak") && !k.contains("secrets")));
        assert!(all.contains(&"documents/a b &amp; &lt;c&gt;.bin".to_string()));
        assert!(all.contains(&"sales/region=eu/part-00006.csv".to_string()));
    }

    #[test]
    fn pages_after_filtering_are_full_and_complete_for_every_size() {
        for version in [ListVersion::V1, ListVersion::V2] {
            for (prefix, delimiter) in [
                ("", None),
                ("sales/", None),
                ("sales/", Some("/")),
                ("sales/region=eu/", None),
                ("", Some("=")),
                ("s", Some("/")),
                ("sales/region=", Some("/")),
            ] {
                let want = expected(prefix, delimiter);
                for max_keys in [1, 2, 3, 5, 1000] {
                    assert_eq!(
                        paginate(&alice(), prefix, delimiter, max_keys, version),
                        want,
                        "{prefix:?} {delimiter:?} {max_keys} {version:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn invisible_data_sources_list_as_empty() {
        let bob = entitlements(vec![grant("sales", "wh", "curated/sales/", &[])]);
        assert!(paginate(&bob, "customers/", None, 1000, ListVersion::V2).is_empty());
        assert_eq!(
            paginate(&bob, "", Some("/"), 1000, ListVersion::V1),
            ["sales/"]
        );
        // "sales" must not match the real decoy "sales_eu", nor the data source "sales_eu".
        assert!(paginate(&bob, "sales_", None, 1000, ListVersion::V2).is_empty());
    }

    #[test]
    fn attribute_rules_hide_partitions_and_their_prefixes() {
        let mut sales = grant("sales", "wh", "curated/sales/", &["*.crc"]);
        sales.visible = Some(vec!["region=eu/**".into()]);
        let bob = entitlements(vec![sales]);
        assert_eq!(
            paginate(&bob, "sales/", Some("/"), 1000, ListVersion::V2),
            ["sales/region=eu/"]
        );
        let all = paginate(&bob, "sales/", None, 2, ListVersion::V1);
        assert_eq!(all.len(), 7);
        assert!(all.iter().all(|k| k.starts_with("sales/region=eu/part-")));
    }

    #[test]
    fn runs_of_hidden_objects_never_shorten_or_break_a_page() {
        let hidden: Vec<String> = (0..6).map(|i| format!("part-{i:05}.csv")).collect();
        let hidden: Vec<&str> = hidden.iter().map(String::as_str).collect();
        let ent = entitlements(vec![grant("sales", "wh", "curated/sales/", &hidden)]);
        for version in [ListVersion::V1, ListVersion::V2] {
            assert_eq!(
                paginate(&ent, "sales/region=", None, 1, version),
                [
                    "sales/region=eu/.part-00000.csv.crc",
                    "sales/region=eu/part-00006.csv",
                    "sales/region=us/.part-00000.csv.crc",
                    "sales/region=us/part-00006.csv"
                ]
            );
        }
    }

    /// Bob's case: his last visible key, with hidden partitions after it, ends the listing just
    /// as it does when nothing follows it.
    #[test]
    fn hidden_objects_after_the_last_visible_one_do_not_truncate() {
        let mut sales = grant("sales", "wh", "curated/sales/", &["*.crc"]);
        sales.visible = Some(vec!["region=eu/**".into()]);
        let bob = entitlements(vec![sales]);
        for version in [ListVersion::V1, ListVersion::V2] {
            for prefix in ["sales/", "sales/region=eu/", ""] {
                for max_keys in [1, 2] {
                    let mut p = params(prefix, None, max_keys, version);
                    p.start_after = Some(format!("sales/region=eu/part-{:05}.csv", 6 - max_keys));
                    let (names, truncated, next) =
                        page_names(&run(&mut ListingJob::new(p, &bob, "immuta").unwrap()));
                    assert_eq!(names.last().unwrap(), "sales/region=eu/part-00006.csv");
                    assert_eq!(names.len(), max_keys);
                    assert!(!truncated, "{prefix:?} {max_keys} {version:?}");
                    assert_eq!(next, None);
                }
            }
            // Data sources after the page, rolled up or listed, still make it truncated.
            let mut p = params("", Some("/"), 1, version);
            p.start_after = Some("customers/".into());
            let (names, truncated, _) =
                page_names(&run(&mut ListingJob::new(p, &alice(), "immuta").unwrap()));
            assert_eq!((names, truncated), (vec!["documents/".to_string()], true));
        }
    }

    /// Pages of hidden objects, as many as asked for: `hidden/000000` onwards.
    fn hidden_run(fetch: &Fetch, total: usize) -> String {
        let (_, query) = fetch.path[1..].split_once('?').unwrap();
        let q = parse_query(query).unwrap();
        let get = |k: &str| q.iter().find(|p| p.name == k).map(|p| p.value.clone());
        let max: usize = get("max-keys").unwrap().parse().unwrap();
        let after = get("continuation-token")
            .or(get("start-after"))
            .unwrap_or_default();
        let mut keys: Vec<String> = (0..total)
            .map(|i| format!("curated/sales/hidden/{i:06}.crc"))
            .chain(["curated/sales/visible.csv".to_string()])
            .filter(|k| *k > after)
            .collect();
        let truncated = keys.len() > max;
        keys.truncate(max);
        let mut xml = format!("<ListBucketResult><IsTruncated>{truncated}</IsTruncated>");
        if truncated {
            xml.push_str(&format!(
                "<NextContinuationToken>{}</NextContinuationToken>",
                keys.last().unwrap()
            ));
        }
        for k in keys {
            xml.push_str(&format!("<Contents><Key>{k}</Key><LastModified>2026-11-01T00:00:00.000Z</LastModified><ETag>&quot;e&quot;</ETag><Size>1</Size></Contents>"));
        }
        xml + "</ListBucketResult>"
    }

    /// One request fetches at most `MAX_UPSTREAM_PAGES` upstream pages, v1 as v2; a page cut
    /// short resumes past what was examined through a sealed resume point naming nothing hidden.
    #[test]
    fn one_request_fetches_a_bounded_number_of_upstream_pages() {
        let total = 120_000;
        for version in [ListVersion::V1, ListVersion::V2] {
            let mut resume: Option<String> = None;
            let mut requests = 0;
            let names = loop {
                requests += 1;
                let mut p = params("sales/", None, 5, version);
                match version {
                    ListVersion::V1 => p.start_after = resume.clone(),
                    ListVersion::V2 => p.continuation_token = resume.clone(),
                }
                let mut job = ListingJob::new(p, &alice(), "immuta").unwrap();
                let mut fetches = 0;
                let xml = loop {
                    match job.next_step() {
                        Step::Fetch(f) => {
                            fetches += 1;
                            job.feed(200, hidden_run(&f, total).as_bytes()).unwrap();
                        }
                        Step::Done(xml) => break xml,
                        Step::Measure(m) => panic!("no masked table here: {m:?}"),
                    }
                };
                assert!(fetches <= MAX_UPSTREAM_PAGES, "{fetches}");
                assert!(!xml.contains("hidden"), "{xml}");
                let (names, truncated, next) = page_names(&xml);
                if !truncated {
                    break names;
                }
                assert!(names.is_empty());
                resume = next;
                assert!(resume.is_some());
            };
            assert_eq!(names, ["sales/visible.csv"]);
            assert_eq!(requests, 3, "{version:?}");
        }
    }

    #[test]
    fn other_delimiters_are_rolled_up_by_the_gateway() {
        let mut job = alice_job("sales/", Some("="), 1000, ListVersion::V2);
        let Step::Fetch(fetch) = job.next_step() else {
            panic!("expected a fetch")
        };
        assert!(!fetch.path.contains("delimiter"), "{}", fetch.path);
        job.feed(200, upstream(&fetch).as_bytes()).unwrap();
        let Step::Done(xml) = job.next_step() else {
            panic!("expected the page")
        };
        assert_eq!(page_names(&xml).0, ["sales/region="]);
    }

    #[test]
    fn upstream_prefixes_that_do_not_match_the_delimiter_are_refused() {
        let mut job = alice_job("sales/", Some("/"), 1000, ListVersion::V2);
        assert!(matches!(job.next_step(), Step::Fetch(_)));
        let page = "<ListBucketResult><CommonPrefixes><Prefix>curated/sales/region=eu/x/</Prefix></CommonPrefixes></ListBucketResult>";
        assert_eq!(job.feed(200, page.as_bytes()).unwrap_err().status, 502);
    }

    #[test]
    fn tokens_open_only_for_their_principal_and_policy_version() {
        let first = |ent: &Entitlements| {
            let xml = run(&mut ListingJob::new(
                params("sales/", None, 1, ListVersion::V2),
                ent,
                "immuta",
            )
            .unwrap());
            page_names(&xml).2.unwrap()
        };
        let token = first(&alice());
        let mut resumed = params("sales/", None, 1, ListVersion::V2);
        resumed.continuation_token = Some(token.clone());
        assert!(ListingJob::new(resumed.clone(), &alice(), "immuta").is_ok());
        let mut bob = alice();
        bob.principal = "bob".into();
        assert_eq!(
            ListingJob::new(resumed.clone(), &bob, "immuta")
                .unwrap_err()
                .code,
            "InvalidArgument"
        );
        let mut changed = alice();
        changed.policy_version = "after-a-policy-change".into();
        assert_eq!(
            ListingJob::new(resumed, &changed, "immuta")
                .unwrap_err()
                .code,
            "InvalidArgument"
        );
    }

    #[test]
    fn upstream_fetches_map_prefixes_and_resume_points() {
        let mut p = params("sales/region=eu/", None, 10, ListVersion::V1);
        p.start_after = Some("sales/region=eu/part-00003.csv".into());
        let mut job = ListingJob::new(p, &alice(), "immuta").unwrap();
        let Step::Fetch(f) = job.next_step() else {
            panic!("expected a fetch")
        };
        assert_eq!(f.upstream, "demo");
        assert_eq!(
            f.path,
            "/wh?list-type=2&max-keys=16&prefix=curated%2Fsales%2Fregion%3Deu%2F&start-after=curated%2Fsales%2Fregion%3Deu%2Fpart-00003.csv"
        );
    }

    #[test]
    fn bad_tokens_and_upstream_answers_fail_closed() {
        let mut p = params("", None, 10, ListVersion::V2);
        p.continuation_token = Some("Y3VyYXRlZC9zYWxlcy8".into());
        assert_eq!(
            ListingJob::new(p, &alice(), "immuta").unwrap_err().code,
            "InvalidArgument"
        );
        for body in [
            "not xml <",
            "<Error><Code>AccessDenied</Code></Error>",
            "<ListBucketResult><Contents><Key>secrets/x</Key></Contents></ListBucketResult>",
            "<ListBucketResult><Contents><Key>curated/sales/a",
            "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
            "<ListBucketResult><Contents><Key>curated/sales/a</Key><LastModified>wh/curated/sales/</LastModified><ETag>x</ETag><Size>1</Size></Contents></ListBucketResult>",
            "<ListBucketResult><Contents><Key>curated/sales/a</Key><LastModified>2026-11-01T00:00:00.000Z</LastModified><ETag>x</ETag><Size>1</Size><StorageClass>acme-warehouse-prod</StorageClass></Contents></ListBucketResult>",
        ] {
            let mut job = alice_job("sales/", None, 10, ListVersion::V2);
            assert!(matches!(job.next_step(), Step::Fetch(_)));
            assert_eq!(
                job.feed(200, body.as_bytes()).unwrap_err().status,
                502,
                "{body}"
            );
        }
        let mut job = alice_job("sales/", None, 10, ListVersion::V2);
        assert!(matches!(job.next_step(), Step::Fetch(_)));
        assert_eq!(job.feed(503, b"").unwrap_err().code, "ServiceUnavailable");
    }

    /// Alice with `sales` masked.
    fn alice_masked() -> Entitlements {
        let mut ent = alice();
        for g in &mut ent.data_sources {
            if g.name == "sales" {
                g.table = Some(serde_json::from_str(r#"{"format": {"kind": "csv"}}"#).unwrap());
            }
        }
        ent
    }

    /// Runs a listing page; each masked object measures one byte longer than listed, unless
    /// `unreadable` names it; a pass is charged for every one. Returns the XML and the
    /// measures asked for.
    fn masked_page(job: &mut ListingJob, unreadable: &str) -> (String, Vec<Measure>) {
        let mut measures = vec![];
        loop {
            match job.next_step() {
                Step::Fetch(f) => job.feed(200, upstream(&f).as_bytes()).unwrap(),
                Step::Measure(m) => {
                    if job.charge(m.index) {
                        if m.name == unreadable {
                            job.unreadable(m.index, "\"bad\"");
                        } else {
                            job.sized(m.index, m.version.size + 1, "\"view\"");
                        }
                    }
                    measures.push(m);
                }
                Step::Done(xml) => return (xml, measures),
            }
        }
    }

    #[test]
    fn masked_objects_are_listed_with_their_views_size_and_etag_where_they_were_taken() {
        let ent = alice_masked();
        let p = params("", None, 1000, ListVersion::V2);
        let mut job = ListingJob::new(p, &ent, "immuta")
            .unwrap()
            .with_pass_budget(u64::MAX);
        let (xml, measures) = masked_page(&mut job, "sales/region=us/part-00006.csv");
        let m = &measures[0];
        assert_eq!(m.name, "sales/region=eu/part-00000.csv");
        assert_eq!(m.path, "/wh/curated/sales/region%3Deu/part-00000.csv");
        assert_eq!(
            m.version,
            ObjectVersion {
                location: "demo/wh/curated/sales/region%3Deu/part-00000.csv".into(),
                etag: "\"abc\"".into(),
                size: 3,
                modified: parse_iso8601("2026-11-01T00:00:00Z"),
            }
        );
        assert!(m.version.modified.is_some());
        assert_eq!(measures.len(), 14, "each visible sales object, once");
        let (names, truncated, _) = page_names(&xml);
        assert!(!truncated);
        assert_eq!(names, paginate(&alice(), "", None, 1000, ListVersion::V2));
        let entry = |name: &str| {
            let at = xml.find(&format!("<Key>{name}</Key>")).unwrap();
            xml[at..at + xml[at..].find("</Contents>").unwrap()].to_string()
        };
        assert!(entry("sales/region=eu/part-00003.csv")
            .contains("<ETag>&quot;view&quot;</ETag><Size>4</Size>"));
        assert!(entry("sales/region=us/part-00006.csv")
            .contains("<ETag>&quot;bad&quot;</ETag><Size>0</Size>"));
        assert!(
            entry("customers/customers.csv").contains("<ETag>&quot;abc&quot;</ETag><Size>3</Size>")
        );
        assert!(entry("sales/region=eu/part-00003.csv")
            .contains("<LastModified>2026-11-01T00:00:00.000Z</LastModified>"));
    }

    #[test]
    fn a_page_ends_before_the_pass_its_budget_cannot_cover_and_pagination_still_lists_all() {
        let ent = alice_masked();
        let all = paginate(&alice(), "", None, 1000, ListVersion::V2);
        for version in [ListVersion::V1, ListVersion::V2] {
            for budget in [0, 7] {
                let mut listed: Vec<String> = vec![];
                let mut resume: Option<String> = None;
                let mut pages = 0;
                loop {
                    pages += 1;
                    assert!(pages < 100, "pagination did not end");
                    let mut p = params("", None, 1000, version);
                    match version {
                        ListVersion::V1 => p.start_after = resume.clone(),
                        ListVersion::V2 => p.continuation_token = resume.clone(),
                    }
                    let mut job = ListingJob::new(p, &ent, "immuta")
                        .unwrap()
                        .with_pass_budget(budget);
                    let (xml, measures) = masked_page(&mut job, "");
                    let (names, truncated, next) = page_names(&xml);
                    assert!(!names.is_empty(), "every page lists something");
                    // A page measures at most its budget, beyond its first entry.
                    let read: u64 = measures.iter().map(|m| m.version.size).sum();
                    assert!(read <= budget + 3 * 2, "read {read}");
                    assert_eq!(
                        xml.matches("<Size>4</Size>").count(),
                        names.iter().filter(|n| n.starts_with("sales/")).count(),
                        "{xml}"
                    );
                    listed.extend(names.clone());
                    if !truncated {
                        break;
                    }
                    resume = match version {
                        ListVersion::V2 => next,
                        ListVersion::V1 => next.or(names.last().cloned()),
                    };
                }
                assert_eq!(listed, all, "{version:?} budget {budget}");
                // Two 3-byte passes fit a 7-byte budget: the first page lists the objects
                // before sales and two of sales, every other page two. With no budget only a
                // page's first entry is measured: the first page ends before sales.
                let sales = all.iter().filter(|n| n.starts_with("sales/")).count();
                let expected = if budget == 0 { sales + 1 } else { sales / 2 };
                assert_eq!(pages, expected, "{version:?} budget {budget}");
            }
        }
    }
}
