//! Listing the virtual bucket: a small state machine the host drives.
//!
//! A client's ListObjects (v1 or v2) becomes an ordered list of *segments*: common prefixes the
//! gateway knows itself (data sources rolled up by the delimiter) and upstream listings of data
//! sources. The host asks [`ListingJob::next_step`] what to do: fetch an upstream page (ListObjectsV2,
//! its own continuation never shown to the client) and [`ListingJob::feed`] it back, until a
//! visible entry follows the full page, the listing ends or the page budget is spent; then it
//! answers with the rendered XML.
//!
//! Pagination is computed after filtering: hidden objects never make a page short, nor make it
//! truncated when nothing visible follows. The client's resume point (v1 `marker`, v2
//! `start-after` / continuation token) is always a *virtual* name, so nothing real leaks through
//! tokens; a data source's listing resumes from it by mapping it back to the real prefix.

use std::borrow::Cow;
use std::collections::VecDeque;

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::encoding::percent::{uri_encode, url_encode_key};
use crate::encoding::xml::{element, escape};
use crate::policy::entitlements::{DataSourceGrant, Entitlements, Visibility};
use crate::s3::continuation;
use crate::s3::error::S3Error;
use crate::s3::request::{is_servable_name, ListParams, ListVersion};

const S3_NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";
/// Owner shown for every object: the gateway, never the real account.
const OWNER: &str = "Immuta";
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
    /// The finished ListBucketResult document.
    Done(String),
}

/// An object of an upstream page, borrowing from the page where its text has no references.
/// Metadata is checked by [`plausible_metadata`] before it is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ObjectEntry<'a> {
    key: Cow<'a, str>,
    last_modified: Cow<'a, str>,
    /// Quoted as S3 writes it and escaped for the client's page; `None` if it is not an entity
    /// tag (see [`etag_xml`]).
    etag: Option<Cow<'a, str>>,
    size: Cow<'a, str>,
    storage_class: Cow<'a, str>,
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
}

#[derive(Debug)]
pub struct ListingJob {
    params: ListParams,
    bucket: String,
    /// Seals and opens this principal's continuation tokens.
    token_key: Vec<u8>,
    /// Exclusive lower bound of the page, a virtual name.
    after: Option<String>,
    segments: VecDeque<Segment>,
    /// The upstream's own continuation token within the front segment.
    upstream_token: Option<String>,
    /// The page's objects, already rendered as `<Contents>` elements (objects come first in
    /// S3's answer, so they can be written as they are taken).
    contents: String,
    /// The page's common prefixes, rendered after the objects.
    prefixes: Vec<String>,
    /// Entries (objects and common prefixes) taken so far.
    taken: usize,
    /// The name of the last entry taken (virtual); meaningful only when `taken > 0`.
    last_taken: String,
    truncated: bool,
    done: bool,
    fetches: usize,
    /// The last upstream object looked at (virtual name), visible or not: where a v2 page cut
    /// short by the page budget resumes. Empty until one is.
    last_examined: String,
    /// Set when the page ends on `last_examined` rather than on its last entry.
    resume_after_examined: bool,
}

impl ListingJob {
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
            if let Some(below) = prefix.strip_prefix(folder.as_str()) {
                segments.push_back(Segment::Upstream(Box::new(UpstreamSegment {
                    list_prefix: format!("{}{}", grant.prefix, below),
                    visibility: Visibility::of(grant),
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
                        grant: grant.clone(),
                    }))),
                }
            }
        }
        Ok(ListingJob {
            bucket: bucket.to_string(),
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
            params,
        })
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
        Step::Done(self.render())
    }

    /// Takes the upstream's answer to the last [`Step::Fetch`].
    pub fn feed(&mut self, status: u32, body: &[u8]) -> Result<(), S3Error> {
        if !matches!(self.segments.front(), Some(Segment::Upstream(_))) {
            return Err(S3Error::internal_error());
        }
        if status != 200 {
            return Err(match status {
                503 => S3Error::service_unavailable(),
                500..=599 => S3Error::internal_error(),
                _ => S3Error::bad_upstream_response(),
            });
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
                let relative = below(&object.key, &segment.list_prefix, &grant.prefix)?;
                name.clear();
                name.push_str(&folder);
                name.push_str(relative);
                self.last_examined.clear();
                self.last_examined.push_str(&name);
                // Hidden, or a name the gateway would refuse to serve: not listed.
                if !segment.visibility.is_visible(relative) || !is_servable_name(&name) {
                    continue;
                }
                match self.filter_rolled_up(&name) {
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
                        self.take_object(&name, object);
                    }
                }
            } else {
                let Some(prefix) = prefixes.next() else { break };
                let relative = below(prefix, &segment.list_prefix, &grant.prefix)?;
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
        let out = &mut self.contents;
        out.push_str("<Contents><Key>");
        if self.params.encoding_url {
            url_encode_key(out, name);
        } else {
            escape(out, name);
        }
        // The metadata passed `plausible_metadata`: only the ETag's quotes need escaping.
        out.push_str("</Key><LastModified>");
        out.push_str(&object.last_modified);
        out.push_str("</LastModified><ETag>");
        out.push_str(object.etag.as_deref().unwrap_or_default());
        out.push_str("</ETag><Size>");
        out.push_str(&object.size);
        out.push_str("</Size>");
        if self.params.fetch_owner {
            out.push_str("<Owner><ID>");
            out.push_str(OWNER);
            out.push_str("</ID><DisplayName>");
            out.push_str(OWNER);
            out.push_str("</DisplayName></Owner>");
        }
        out.push_str("<StorageClass>");
        out.push_str(&object.storage_class);
        out.push_str("</StorageClass></Contents>");
        self.taken += 1;
        self.last_taken.clear();
        self.last_taken.push_str(name);
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
    fn filter_rolled_up(&self, key: &str) -> Option<String> {
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

    fn render(&self) -> String {
        let p = &self.params;
        let url = p.encoding_url;
        let text = |out: &mut String, name: &str, value: &str| {
            if url {
                out.push('<');
                out.push_str(name);
                out.push('>');
                url_encode_key(out, value);
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            } else {
                element(out, name, value);
            }
        };
        let prefixes_len: usize = self.prefixes.iter().map(|p| 48 + 3 * p.len()).sum();
        let mut out = String::with_capacity(1024 + self.contents.len() + prefixes_len);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"");
        out.push_str(S3_NS);
        out.push_str("\">");
        element(&mut out, "Name", &self.bucket);
        text(&mut out, "Prefix", &p.prefix);
        let last = (self.taken > 0).then_some(self.last_taken.as_str());
        let sealed_resume = self
            .resume_after_examined
            .then(|| Some(self.last_examined.as_str()).filter(|e| !e.is_empty()))
            .flatten()
            .map(|examined| continuation::seal(&self.token_key, examined));
        match p.version {
            ListVersion::V1 => {
                text(&mut out, "Marker", p.start_after.as_deref().unwrap_or(""));
                match (self.truncated, &sealed_resume) {
                    (true, Some(sealed)) => element(&mut out, "NextMarker", sealed),
                    (true, None) => {
                        if let Some(last) = last {
                            text(&mut out, "NextMarker", last);
                        }
                    }
                    (false, _) => {}
                }
            }
            ListVersion::V2 => {
                if let Some(token) = &p.continuation_token {
                    element(&mut out, "ContinuationToken", token);
                }
                if let Some(start_after) = &p.start_after {
                    text(&mut out, "StartAfter", start_after);
                }
                element(&mut out, "KeyCount", &self.taken.to_string());
            }
        }
        element(&mut out, "MaxKeys", &p.max_keys.to_string());
        if let Some(d) = &p.delimiter {
            text(&mut out, "Delimiter", d);
        }
        element(
            &mut out,
            "IsTruncated",
            if self.truncated { "true" } else { "false" },
        );
        if let (ListVersion::V2, true) = (p.version, self.truncated) {
            let resume = if self.resume_after_examined {
                sealed_resume
            } else {
                last.map(|last| continuation::seal(&self.token_key, last))
            };
            if let Some(resume) = resume {
                element(&mut out, "NextContinuationToken", &resume);
            }
        }
        if url {
            element(&mut out, "EncodingType", "url");
        }
        out.push_str(&self.contents);
        for prefix in &self.prefixes {
            out.push_str("<CommonPrefixes>");
            text(&mut out, "Prefix", prefix);
            out.push_str("</CommonPrefixes>");
        }
        out.push_str("</ListBucketResult>");
        out
    }
}

/// The part of an upstream key below the data source's real prefix. A key outside the listed
/// prefix means the upstream answered something else than asked: never pass it on.
fn below<'k>(real_key: &'k str, list_prefix: &str, grant_prefix: &str) -> Result<&'k str, S3Error> {
    if !real_key.starts_with(list_prefix) {
        return Err(S3Error::bad_upstream_response());
    }
    real_key
        .strip_prefix(grant_prefix)
        .ok_or_else(S3Error::bad_upstream_response)
}

#[derive(Debug, PartialEq, Eq)]
struct UpstreamPage<'a> {
    contents: Vec<ObjectEntry<'a>>,
    common_prefixes: Vec<Cow<'a, str>>,
    is_truncated: bool,
    next_token: Option<String>,
}

/// Builds an [`UpstreamPage`] from XML events, whichever reader produced them.
struct PageBuilder<'a> {
    page: UpstreamPage<'a>,
    /// The elements open above the current one, by what they mean to us (no names copied).
    path: Vec<Element>,
    /// Text of the current element since its start or its last child's end.
    value: Value<'a>,
    object: Option<ObjectEntry<'a>>,
    saw_root: bool,
}

impl<'a> PageBuilder<'a> {
    fn new() -> Self {
        PageBuilder {
            page: UpstreamPage {
                contents: Vec::new(),
                common_prefixes: Vec::new(),
                is_truncated: false,
                next_token: None,
            },
            path: Vec::with_capacity(4),
            value: Value::Text(Cow::Borrowed("")),
            object: None,
            saw_root: false,
        }
    }

    fn start(&mut self, tag: Element) -> Result<(), S3Error> {
        if self.path.is_empty() {
            if tag != Element::Root {
                return Err(S3Error::bad_upstream_response());
            }
            self.saw_root = true;
        }
        if self.path.len() == 1 && tag == Element::Contents {
            self.object = Some(ObjectEntry {
                key: Cow::Borrowed(""),
                last_modified: Cow::Borrowed(""),
                etag: Some(Cow::Borrowed("")),
                size: Cow::Borrowed(""),
                storage_class: Cow::Borrowed("STANDARD"),
            });
        }
        self.path.push(tag);
        self.value = Value::Text(Cow::Borrowed(""));
        Ok(())
    }

    /// A self-closed element: nothing to read, but not a document.
    fn empty(&self) -> Result<(), S3Error> {
        if self.path.is_empty() {
            return Err(S3Error::bad_upstream_response());
        }
        Ok(())
    }

    /// A piece of text; the first is kept as it is (usually borrowed from the page: most values
    /// are one piece without references).
    fn text(&mut self, piece: Value<'a>) {
        if self.value.is_empty() {
            self.value = piece;
        } else {
            let value = std::mem::replace(&mut self.value, Value::Text(Cow::Borrowed("")));
            let mut text = value.into_text().into_owned();
            text.push_str(&piece.into_text());
            self.value = Value::Text(Cow::Owned(text));
        }
    }

    fn end(&mut self) -> Result<(), S3Error> {
        let Some(tag) = self.path.pop() else {
            return Err(S3Error::bad_upstream_response());
        };
        let parent = self.path.last().copied();
        let value = std::mem::replace(&mut self.value, Value::Text(Cow::Borrowed("")));
        if let (2, Some(Element::Contents), Element::ETag, Some(o)) =
            (self.path.len(), parent, tag, self.object.as_mut())
        {
            o.etag = etag_xml(value);
            return Ok(());
        }
        let text = value.into_text();
        let page = &mut self.page;
        match (self.path.len(), parent, tag) {
            (1, _, Element::IsTruncated) => page.is_truncated = text.trim() == "true",
            (1, _, Element::NextContinuationToken) => page.next_token = Some(text.into_owned()),
            (1, _, Element::Contents) => {
                let o = self
                    .object
                    .take()
                    .ok_or_else(S3Error::bad_upstream_response)?;
                if o.key.is_empty() || !plausible_metadata(&o) {
                    return Err(S3Error::bad_upstream_response());
                }
                page.contents.push(o);
            }
            (2, Some(Element::Contents), field) => {
                if let Some(o) = self.object.as_mut() {
                    match field {
                        Element::Key => o.key = text,
                        Element::LastModified => o.last_modified = text,
                        Element::Size => o.size = text,
                        Element::StorageClass if !text.is_empty() => o.storage_class = text,
                        _ => {}
                    }
                }
            }
            (2, Some(Element::CommonPrefixes), Element::Prefix) => page.common_prefixes.push(text),
            _ => {}
        }
        Ok(())
    }

    fn finish(self) -> Result<UpstreamPage<'a>, S3Error> {
        if !self.saw_root || !self.path.is_empty() {
            return Err(S3Error::bad_upstream_response());
        }
        Ok(self.page)
    }
}

/// Reads an upstream ListObjectsV2 answer. Pages in the plain form S3 writes are read by
/// [`read_plain_page`]; anything else (or anything it is unsure of) by quick-xml.
fn parse_upstream_page(text: &str) -> Result<UpstreamPage<'_>, S3Error> {
    match read_plain_page(text) {
        Some(page) => page,
        None => read_page_events(text),
    }
}

/// Reads a page in one pass of quick-xml events.
fn read_page_events(text: &str) -> Result<UpstreamPage<'_>, S3Error> {
    let mut reader = Reader::from_str(text);
    let mut page = PageBuilder::new();
    loop {
        match reader
            .read_event()
            .map_err(|_| S3Error::bad_upstream_response())?
        {
            Event::Start(e) => page.start(Element::of(e.local_name().as_ref()))?,
            Event::Empty(_) => page.empty()?,
            Event::Text(t) => page.text(Value::Text(t.xml10_content())),
            Event::CData(t) => page.text(Value::Text(t.into_inner())),
            Event::GeneralRef(r) => {
                let piece = match r
                    .resolve_char_ref()
                    .map_err(|_| S3Error::bad_upstream_response())?
                {
                    Some(c) => Cow::Owned(c.to_string()),
                    None => Cow::Borrowed(
                        quick_xml::escape::resolve_predefined_entity(&r.xml10_content())
                            .ok_or_else(S3Error::bad_upstream_response)?,
                    ),
                };
                page.text(Value::Text(piece));
            }
            Event::End(_) => page.end()?,
            Event::Eof => break,
            _ => {}
        }
    }
    page.finish()
}

/// Reads a page written in the plain subset of XML that S3 and its look-alikes write: elements
/// without namespace prefixes, attributes only as quick-xml skips them, the five predefined
/// entities, an XML declaration. `None` as soon as anything else appears (character references,
/// CDATA, comments, DTDs, processing instructions, carriage returns, mismatched or stray end
/// tags, odd names, a byte order mark): quick-xml then reads the page from the start, so it
/// alone decides what is malformed. Where this returns a page or an error, quick-xml's events
/// would have built the same (the unit tests compare the two).
fn read_plain_page(text: &str) -> Option<Result<UpstreamPage<'_>, S3Error>> {
    let bytes = text.as_bytes();
    let mut page = PageBuilder::new();
    // Names of the open elements, to check end tags as quick-xml does.
    let mut open: Vec<&[u8]> = Vec::with_capacity(4);
    let mut at = 0;
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        return None;
    }
    loop {
        // Text up to the next markup.
        let from = at;
        let mut references = false;
        loop {
            at += bytes[at..]
                .iter()
                .position(|&b| TEXT_STOP[usize::from(b)])
                .unwrap_or(bytes.len() - at);
            match bytes.get(at) {
                Some(b'&') => {
                    references = true;
                    at += 1;
                }
                Some(b'\r') => return None,
                _ => break,
            }
        }
        if at > from {
            let raw = text.get(from..at)?;
            let piece = if references {
                if !only_predefined_references(raw) {
                    return None;
                }
                Value::Escaped(raw)
            } else {
                Value::Text(Cow::Borrowed(raw))
            };
            page.text(piece);
        }
        if at >= bytes.len() {
            break;
        }
        // Markup: `bytes[at]` is `<`.
        let result = match bytes.get(at + 1)? {
            b'/' => {
                // Only the name of the element open, as it was written.
                let name = open.pop()?;
                let name_end = at + 2 + name.len();
                if bytes.get(at + 2..name_end) != Some(name) || bytes.get(name_end) != Some(&b'>') {
                    return None;
                }
                at = name_end + 1;
                page.end()
            }
            b'?' => {
                // Skipped like quick-xml's declarations and processing instructions, when they
                // end at the first `>`.
                let close = at + 2 + bytes[at + 2..].iter().position(|&b| b == b'>')?;
                if close < at + 4 || bytes[close - 1] != b'?' {
                    return None;
                }
                at = close + 1;
                Ok(())
            }
            _ => {
                let name_start = at + 1;
                let name_end = name_end(bytes, name_start);
                if name_end == name_start {
                    return None;
                }
                let name = &bytes[name_start..name_end];
                let (close, empty) = match bytes.get(name_end)? {
                    b'>' => (name_end, false),
                    b'/' if bytes.get(name_end + 1) == Some(&b'>') => (name_end + 1, true),
                    b' ' | b'\t' | b'\n' => {
                        // Attributes: quick-xml only finds the `>` outside quotes.
                        let close = tag_close(bytes, name_end)?;
                        (close, bytes[close - 1] == b'/')
                    }
                    _ => return None,
                };
                at = close + 1;
                if empty {
                    page.empty()
                } else {
                    open.push(name);
                    page.start(Element::of(text.get(name_start..name_end)?))
                }
            }
        };
        if let Err(e) = result {
            return Some(Err(e));
        }
    }
    Some(page.finish())
}

/// Where a plain element name starting at `from` ends (ASCII letters, digits, `_`, `-`, `.`).
fn name_end(bytes: &[u8], from: usize) -> usize {
    let rest = bytes.get(from..).unwrap_or_default();
    from + rest
        .iter()
        .position(|&b| !NAME_CHAR[usize::from(b)])
        .unwrap_or(rest.len())
}

/// Bytes that end a run of text for the plain reader: markup, references, carriage returns.
const TEXT_STOP: [bool; 256] = {
    let mut table = [false; 256];
    table[b'<' as usize] = true;
    table[b'&' as usize] = true;
    table[b'\r' as usize] = true;
    table
};

/// Bytes of the element names the plain reader accepts.
const NAME_CHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.');
        b += 1;
    }
    table
};

/// The `>` closing a tag, outside quoted attribute values, as quick-xml finds it.
fn tag_close(bytes: &[u8], from: usize) -> Option<usize> {
    let mut quote = None;
    for (i, &b) in bytes.iter().enumerate().skip(from) {
        match (quote, b) {
            (None, b'>') => return Some(i),
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), b) if b == q => quote = None,
            _ => {}
        }
    }
    None
}

/// Whether every `&` in `raw` starts one of XML's five predefined entities.
fn only_predefined_references(raw: &str) -> bool {
    raw.match_indices('&').all(|(i, _)| {
        let rest = &raw[i..];
        ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
            .iter()
            .any(|e| rest.starts_with(e))
    })
}

/// Text with the five predefined entities replaced (any other `&` is kept as it is; the plain
/// reader passes only text checked by [`only_predefined_references`]).
fn unescape_predefined(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let (c, len) = if rest.starts_with("&amp;") {
            ('&', 5)
        } else if rest.starts_with("&lt;") {
            ('<', 4)
        } else if rest.starts_with("&gt;") {
            ('>', 4)
        } else if rest.starts_with("&quot;") {
            ('"', 6)
        } else if rest.starts_with("&apos;") {
            ('\'', 6)
        } else {
            ('&', 1)
        };
        out.push(c);
        rest = &rest[len..];
    }
    out.push_str(rest);
    out
}

/// Text of an element as read.
#[derive(Debug)]
enum Value<'a> {
    Text(Cow<'a, str>),
    /// As written in the page (not empty), with predefined entities only: the plain reader
    /// leaves ETags (`&quot;...&quot;`) in this form, which is already the client's.
    Escaped(&'a str),
}

impl<'a> Value<'a> {
    fn is_empty(&self) -> bool {
        match self {
            Value::Text(t) => t.is_empty(),
            Value::Escaped(raw) => raw.is_empty(),
        }
    }

    fn into_text(self) -> Cow<'a, str> {
        match self {
            Value::Text(t) => t,
            Value::Escaped(raw) => Cow::Owned(unescape_predefined(raw)),
        }
    }
}

/// An ETag as the client's page carries it: quoted (S3 ETags are; some S3-compatible stores
/// list them bare) and escaped. `None` unless it is an entity tag: letters, digits, `-` and
/// quotes, not arbitrary text (which could carry real names).
fn etag_xml(value: Value<'_>) -> Option<Cow<'_, str>> {
    let tag_char = |b: u8| b.is_ascii_alphanumeric() || b == b'-';
    if let Value::Escaped(raw) = value {
        // Letters, digits, `-` and `&quot;` only: then escaping the quoted tag gives back
        // `raw` (quoted already) or `raw` in `&quot;`s.
        let bytes = raw.as_bytes();
        let mut i = 0;
        let mut plain = true;
        while i < bytes.len() {
            if bytes[i] == b'&' && bytes[i..].starts_with(b"&quot;") {
                i += 6;
            } else if tag_char(bytes[i]) {
                i += 1;
            } else {
                plain = false;
                break;
            }
        }
        if plain {
            return Some(if raw.starts_with("&quot;") {
                Cow::Borrowed(raw)
            } else {
                Cow::Owned(format!("&quot;{raw}&quot;"))
            });
        }
    }
    let text = value.into_text();
    if !text.bytes().all(|b| tag_char(b) || b == b'"') {
        return None;
    }
    let quoted = quoted_etag(text);
    if quoted.is_empty() {
        return Some(quoted);
    }
    let mut out = String::with_capacity(quoted.len() + 10);
    escape(&mut out, &quoted);
    Some(Cow::Owned(out))
}

/// The upstream elements the listing reads; everything else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Element {
    Root,
    Contents,
    CommonPrefixes,
    Key,
    LastModified,
    ETag,
    Size,
    StorageClass,
    Prefix,
    IsTruncated,
    NextContinuationToken,
    Other,
}

impl Element {
    fn of(name: &str) -> Element {
        match name {
            "ListBucketResult" => Element::Root,
            "Contents" => Element::Contents,
            "CommonPrefixes" => Element::CommonPrefixes,
            "Key" => Element::Key,
            "LastModified" => Element::LastModified,
            "ETag" => Element::ETag,
            "Size" => Element::Size,
            "StorageClass" => Element::StorageClass,
            "Prefix" => Element::Prefix,
            "IsTruncated" => Element::IsTruncated,
            "NextContinuationToken" => Element::NextContinuationToken,
            _ => Element::Other,
        }
    }
}

/// Object metadata is passed on, so it must be what S3 puts there, not arbitrary text (which
/// could carry real names): a date, a number, an entity tag, a storage class.
fn plausible_metadata(o: &ObjectEntry<'_>) -> bool {
    let all = |text: &str, class: u8| text.bytes().all(|b| METADATA[usize::from(b)] & class != 0);
    let date = !o.last_modified.is_empty() && all(&o.last_modified, DATE);
    let size = !o.size.is_empty() && all(&o.size, DIGIT);
    date && size && o.etag.is_some() && all(&o.storage_class, CLASS)
}

/// Classes of bytes in object metadata, by value (a table: every object is checked).
const DIGIT: u8 = 1;
const DATE: u8 = 2;
const CLASS: u8 = 4;
const METADATA: [u8; 256] = {
    let mut table = [0; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_digit() {
            table[b] |= DIGIT;
        }
        if matches!(c, b'0'..=b'9' | b'-' | b':' | b'.' | b'T' | b'Z' | b'+') {
            table[b] |= DATE;
        }
        if c.is_ascii_uppercase() || c == b'_' {
            table[b] |= CLASS;
        }
        b += 1;
    }
    table
};

/// S3 ETags are quoted; some S3-compatible stores list them bare.
fn quoted_etag(etag: Cow<'_, str>) -> Cow<'_, str> {
    if etag.is_empty() || etag.starts_with('"') {
        etag
    } else {
        Cow::Owned(format!("\"{etag}\""))
    }
}

/// ListAllMyBucketsResult with the one virtual bucket.
pub fn render_list_buckets(bucket: &str) -> String {
    let mut out = String::with_capacity(400);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListAllMyBucketsResult xmlns=\"");
    out.push_str(S3_NS);
    out.push_str("\"><Owner><ID>");
    out.push_str(OWNER);
    out.push_str("</ID><DisplayName>");
    out.push_str(OWNER);
    out.push_str("</DisplayName></Owner><Buckets><Bucket>");
    element(&mut out, "Name", bucket);
    out.push_str("<CreationDate>2024-01-01T00:00:00.000Z</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>");
    out
}

/// GetBucketLocation: the virtual bucket lives in us-east-1 (S3's empty constraint).
pub fn render_bucket_location() -> String {
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"");
    escape(&mut out, S3_NS);
    out.push_str("\"></LocationConstraint>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::request::{parse_query, percent_decode};

    fn grant(name: &str, bucket: &str, prefix: &str, hidden: &[&str]) -> DataSourceGrant {
        DataSourceGrant {
            name: name.into(),
            upstream: "demo".into(),
            bucket: bucket.into(),
            prefix: prefix.into(),
            format: crate::policy::entitlements::Format::Csv,
            hidden: hidden.iter().map(|s| s.to_string()).collect(),
            visible: None,
            shown: Vec::new(),
        }
    }

    fn entitlements(grants: Vec<DataSourceGrant>) -> Entitlements {
        Entitlements {
            principal: "t".into(),
            enabled: true,
            ttl_seconds: 60,
            data_sources: grants,
            ..Default::default()
        }
    }

    /// Real objects of the fake upstream: (bucket, key).
    fn store() -> Vec<(&'static str, String)> {
        let mut objects = vec![];
        for region in ["eu", "us"] {
            for i in 0..7 {
                objects.push((
                    "wh",
                    format!("curated/sales/region={region}/part-{i:05}.csv"),
                ));
            }
            objects.push((
                "wh",
                format!("curated/sales/region={region}/.part-00000.csv.crc"),
            ));
        }
        objects.push(("wh", "curated/sales/_SUCCESS".to_string()));
        objects.push(("wh", "curated/sales_eu/leak.csv".to_string()));
        objects.push(("wh", "curated/customers/customers.csv".to_string()));
        objects.push(("wh", "secrets/x".to_string()));
        objects.push(("docs", "archive/a b & <c>.bin".to_string()));
        objects.push(("docs", "archive/résumé.bin".to_string()));
        objects
    }

    /// A minimal ListObjectsV2 server over `store()`, as S3 answers (continuation = last name).
    fn upstream(fetch: &Fetch) -> String {
        let (bucket, query) = fetch.path[1..].split_once('?').unwrap();
        let q = parse_query(query).unwrap();
        let get = |k: &str| q.iter().find(|p| p.name == k).map(|p| p.value.clone());
        let prefix = get("prefix").unwrap_or_default();
        let max: usize = get("max-keys").unwrap().parse().unwrap();
        let after = get("continuation-token")
            .or(get("start-after"))
            .unwrap_or_default();
        let delimiter = get("delimiter");
        let bucket = percent_decode(bucket).unwrap();
        let mut keys: Vec<String> = store()
            .into_iter()
            .filter(|(b, _)| *b == bucket)
            .map(|(_, k)| k)
            .collect();
        keys.sort();
        let mut names: Vec<(String, bool)> = vec![];
        for key in keys.into_iter().filter(|k| k.starts_with(&prefix)) {
            let entry = match &delimiter {
                Some(d) => match key[prefix.len()..].find(d.as_str()) {
                    Some(i) => (key[..prefix.len() + i + d.len()].to_string(), true),
                    None => (key, false),
                },
                None => (key, false),
            };
            if entry.0.as_str() > after.as_str() && names.last() != Some(&entry) {
                names.push(entry);
            }
        }
        let truncated = names.len() > max;
        names.truncate(max);
        let mut xml =
            String::from("<?xml version=\"1.0\"?><ListBucketResult xmlns=\"x\"><Name>b</Name>");
        xml.push_str(&format!("<IsTruncated>{truncated}</IsTruncated>"));
        if truncated {
            let mut t = String::new();
            escape(&mut t, &names.last().unwrap().0);
            xml.push_str(&format!(
                "<NextContinuationToken>{t}</NextContinuationToken>"
            ));
        }
        for (name, is_prefix) in &names {
            let mut n = String::new();
            escape(&mut n, name);
            if *is_prefix {
                xml.push_str(&format!(
                    "<CommonPrefixes><Prefix>{n}</Prefix></CommonPrefixes>"
                ));
            } else {
                xml.push_str(&format!(
                    "<Contents><Key>{n}</Key><LastModified>2026-11-01T00:00:00.000Z</LastModified>\
                     <ETag>&quot;abc&quot;</ETag><Size>3</Size><StorageClass>STANDARD</StorageClass></Contents>"
                ));
            }
        }
        xml.push_str("</ListBucketResult>");
        xml
    }

    fn params(
        prefix: &str,
        delimiter: Option<&str>,
        max_keys: usize,
        version: ListVersion,
    ) -> ListParams {
        ListParams {
            version,
            prefix: prefix.into(),
            delimiter: delimiter.map(str::to_string),
            max_keys,
            start_after: None,
            continuation_token: None,
            encoding_url: false,
            fetch_owner: true,
        }
    }

    fn run(job: &mut ListingJob) -> String {
        loop {
            match job.next_step() {
                Step::Fetch(f) => job.feed(200, upstream(&f).as_bytes()).unwrap(),
                Step::Done(xml) => return xml,
            }
        }
    }

    /// (keys and common prefixes of one page, truncated, next marker or token)
    fn page_names(xml: &str) -> (Vec<String>, bool, Option<String>) {
        let mut names = vec![];
        let mut rest = xml;
        while let Some(i) = rest
            .find("<Key>")
            .or_else(|| rest.find("<CommonPrefixes><Prefix>"))
        {
            let (tag_len, close) = if rest[i..].starts_with("<Key>") {
                (5, "</Key>")
            } else {
                (24, "</Prefix>")
            };
            let start = i + tag_len;
            let end = start + rest[start..].find(close).unwrap();
            names.push(rest[start..end].to_string());
            rest = &rest[end..];
        }
        let between = |open: &str, close: &str| {
            xml.find(open).map(|i| {
                let s = i + open.len();
                xml[s..s + xml[s..].find(close).unwrap()].to_string()
            })
        };
        let truncated = xml.contains("<IsTruncated>true</IsTruncated>");
        let next = between("<NextContinuationToken>", "</").or(between("<NextMarker>", "</"));
        (names, truncated, next)
    }

    fn alice() -> Entitlements {
        entitlements(vec![
            grant("sales", "wh", "curated/sales/", &["_SUCCESS", "*.crc"]),
            grant("customers", "wh", "curated/customers/", &[]),
            grant("documents", "docs", "archive/", &[]),
        ])
    }

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
        let mut job = ListingJob::new(
            params("", Some("/"), 1000, ListVersion::V1),
            &alice(),
            "immuta",
        )
        .unwrap();
        let (names, truncated, _) = page_names(&run(&mut job));
        assert_eq!(names, ["customers/", "documents/", "sales/"]);
        assert!(!truncated);
        let mut job = ListingJob::new(
            params("sales", Some("/"), 1000, ListVersion::V1),
            &alice(),
            "immuta",
        )
        .unwrap();
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
        let mut job = ListingJob::new(
            params("sales/", Some("="), 1000, ListVersion::V2),
            &alice(),
            "immuta",
        )
        .unwrap();
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
        let mut job = ListingJob::new(
            params("sales/", Some("/"), 1000, ListVersion::V2),
            &alice(),
            "immuta",
        )
        .unwrap();
        assert!(matches!(job.next_step(), Step::Fetch(_)));
        let page = "<ListBucketResult><CommonPrefixes><Prefix>curated/sales/region=eu/x/</Prefix></CommonPrefixes></ListBucketResult>";
        assert_eq!(job.feed(200, page.as_bytes()).unwrap_err().status, 502);
    }

    #[test]
    fn renders_s3_shapes() {
        let mut p = params("sales/", Some("/"), 1000, ListVersion::V1);
        p.encoding_url = true;
        let xml = run(&mut ListingJob::new(p, &alice(), "immuta").unwrap());
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>immuta</Name><Prefix>sales/</Prefix><Marker></Marker><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter><IsTruncated>false</IsTruncated><EncodingType>url</EncodingType>"), "{xml}");
        assert!(
            xml.contains("<CommonPrefixes><Prefix>sales/region%3Deu/</Prefix></CommonPrefixes>"),
            "{xml}"
        );
        let xml = run(&mut ListingJob::new(
            params("documents/", None, 1000, ListVersion::V1),
            &alice(),
            "immuta",
        )
        .unwrap());
        assert!(xml.contains("<Contents><Key>documents/a b &amp; &lt;c&gt;.bin</Key><LastModified>2026-11-01T00:00:00.000Z</LastModified><ETag>&quot;abc&quot;</ETag><Size>3</Size><Owner><ID>Immuta</ID><DisplayName>Immuta</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Contents>"), "{xml}");
        assert!(!xml.contains("archive"));
        let xml = run(&mut ListingJob::new(
            params("sales/", None, 2, ListVersion::V2),
            &alice(),
            "immuta",
        )
        .unwrap());
        assert!(xml.contains("<KeyCount>2</KeyCount>"), "{xml}");
        assert!(!xml.contains("<Owner>") || xml.contains("Immuta"));
        let (_, truncated, token) = page_names(&xml);
        assert!(truncated);
        let token = token.unwrap();
        let resume = continuation::open(&continuation::token_key(&alice()), &token).unwrap();
        assert_eq!(resume, "sales/region=eu/part-00001.csv");
        assert!(!token.contains("sales"));
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
            let mut job = ListingJob::new(
                params("sales/", None, 10, ListVersion::V2),
                &alice(),
                "immuta",
            )
            .unwrap();
            assert!(matches!(job.next_step(), Step::Fetch(_)));
            assert_eq!(
                job.feed(200, body.as_bytes()).unwrap_err().status,
                502,
                "{body}"
            );
        }
        let mut job = ListingJob::new(
            params("sales/", None, 10, ListVersion::V2),
            &alice(),
            "immuta",
        )
        .unwrap();
        assert!(matches!(job.next_step(), Step::Fetch(_)));
        assert_eq!(job.feed(503, b"").unwrap_err().code, "ServiceUnavailable");
    }

    #[test]
    fn bare_etags_get_s3_quotes() {
        assert_eq!(quoted_etag("abc".into()), "\"abc\"");
        assert_eq!(quoted_etag("\"abc\"".into()), "\"abc\"");
    }

    #[test]
    fn max_keys_zero_is_an_empty_page() {
        let xml =
            run(
                &mut ListingJob::new(params("", None, 0, ListVersion::V2), &alice(), "immuta")
                    .unwrap(),
            );
        assert!(
            xml.contains("<KeyCount>0</KeyCount>")
                && xml.contains("<IsTruncated>false</IsTruncated>")
        );
    }

    #[test]
    fn list_buckets_names_the_virtual_bucket() {
        let xml = render_list_buckets("immuta");
        assert!(xml.contains("<Buckets><Bucket><Name>immuta</Name>"));
        assert!(render_bucket_location().contains("LocationConstraint"));
    }

    /// Pieces of upstream pages: the plain form S3 writes and everything the plain reader
    /// must leave to quick-xml.
    const PIECES: &[&str] = &[
        "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">",
        "<ListBucketResult>",
        "</ListBucketResult>",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
        "<??>",
        "<?>",
        "<?pi x?>",
        "<Contents>",
        "</Contents>",
        "<Contents/>",
        "<Key>",
        "</Key>",
        "<Key/>",
        "<Key >",
        "</Key >",
        "<Key a=\"<>\">",
        "<Key a='\"'/>",
        "<Key\tb>",
        "<Key/ >",
        "<s3:Key>",
        "</s3:Key>",
        "<LastModified>2026-11-01T00:00:00.000Z</LastModified>",
        "<ETag>&quot;abc&quot;</ETag>",
        "<ETag>abc</ETag>",
        "<Size>3</Size>",
        "<StorageClass>STANDARD</StorageClass>",
        "<CommonPrefixes>",
        "</CommonPrefixes>",
        "<Prefix>",
        "</Prefix>",
        "<IsTruncated>true</IsTruncated>",
        "<NextContinuationToken>a&amp;b</NextContinuationToken>",
        "<Other>",
        "</Other>",
        "curated/sales/",
        "a b",
        "é",
        "&amp;",
        "&lt;",
        "&gt;",
        "&quot;",
        "&apos;",
        "&#65;",
        "&#x1;",
        "&bogus;",
        "&amp",
        "&",
        "<![CDATA[x]]>",
        "<!-- c -->",
        "<!DOCTYPE x>",
        "\r",
        "\r\n",
        "\n",
        " ",
        "\u{feff}",
        "\u{fffe}",
        "<",
        ">",
        "</",
        "<>",
        "\"",
        "/",
    ];

    /// A page that mostly parses: the plain shape with pieces mixed in.
    fn document() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let object = (
            prop::collection::vec(prop::sample::select(PIECES), 0..3),
            prop::collection::vec(prop::sample::select(&PIECES[34..47]), 1..4),
        )
            .prop_map(|(noise, key)| {
                format!(
                    "<Contents>{}<Key>curated/sales/{}</Key><LastModified>2026-11-01T00:00:00.000Z</LastModified><ETag>&quot;abc&quot;</ETag><Size>3</Size></Contents>",
                    noise.concat(),
                    key.concat()
                )
            });
        let part = prop_oneof![
            3 => object,
            1 => prop::sample::select(PIECES).prop_map(str::to_string),
        ];
        (
            any::<bool>(),
            prop::collection::vec(part, 0..8),
            any::<bool>(),
        )
            .prop_map(|(decl, parts, close)| {
                let mut doc = String::new();
                if decl {
                    doc.push_str(PIECES[3]);
                }
                doc.push_str(PIECES[0]);
                doc.push_str(&parts.concat());
                if close {
                    doc.push_str(PIECES[2]);
                }
                doc
            })
    }

    proptest::proptest! {
        #[test]
        fn the_plain_reader_reads_what_quick_xml_reads(doc in document()) {
            if let Some(plain) = read_plain_page(&doc) {
                proptest::prop_assert_eq!(
                    plain.map_err(|e| e.code),
                    read_page_events(&doc).map_err(|e| e.code)
                );
            }
        }

        #[test]
        fn the_plain_reader_agrees_on_any_piece_sequence(
            pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..12)
        ) {
            let doc = pieces.concat();
            if let Some(plain) = read_plain_page(&doc) {
                proptest::prop_assert_eq!(
                    plain.map_err(|e| e.code),
                    read_page_events(&doc).map_err(|e| e.code)
                );
            }
        }
    }

    #[test]
    fn plain_pages_skip_quick_xml_and_the_rest_fall_back() {
        let page = |key: &str| {
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Contents><Key>{key}</Key><LastModified>2026-11-01T00:00:00.000Z</LastModified><ETag>&quot;abc&quot;</ETag><Size>3</Size><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>"
            )
        };
        let key = |doc: &str| {
            parse_upstream_page(doc).unwrap().contents[0]
                .key
                .to_string()
        };
        // Plain, and with the five predefined entities: read without quick-xml.
        for (raw, key_text) in [
            ("a/b c", "a/b c"),
            ("a &amp; &lt;b&gt; &quot;&apos;", "a & <b> \"'"),
        ] {
            let doc = page(raw);
            assert!(read_plain_page(&doc).is_some_and(|p| p.is_ok()), "{doc}");
            assert_eq!(key(&doc), key_text);
        }
        // Character references (also for characters XML cannot carry), CDATA, carriage returns,
        // comments, prefixes: quick-xml's reading, with the same result as before.
        for (raw, key_text) in [
            ("a&#65;&#x1;", "aA\u{1}"),
            ("<![CDATA[a&amp;<b>]]>", "a&amp;<b>"),
            ("a\r\nb\rc", "a\nb\nc"),
            ("a<!-- x -->b", "ab"),
        ] {
            let doc = page(raw);
            assert!(read_plain_page(&doc).is_none(), "{doc}");
            assert_eq!(key(&doc), key_text);
        }
        let doc = page("a").replace("Key>", "s3:Key>");
        assert!(read_plain_page(&doc).is_none());
        assert_eq!(key(&doc), "a");
        // Malformed: refused whichever reader sees it.
        for doc in [
            page("a&b"),
            page("a").replace("</Key>", "</Kex>"),
            page("a&bogus;"),
        ] {
            assert!(parse_upstream_page(&doc).is_err(), "{doc}");
        }
    }
}
