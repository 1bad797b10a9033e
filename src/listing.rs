//! Listing the virtual bucket: a small state machine the host drives.
//!
//! A client's ListObjects (v1 or v2) becomes an ordered list of *segments*: common prefixes the
//! gateway knows itself (data sources rolled up by the delimiter) and upstream listings of data
//! sources. The host asks [`ListingJob::next_step`] what to do: fetch an upstream page (ListObjectsV2,
//! its own continuation never shown to the client) and [`ListingJob::feed`] it back, until the
//! page is full or the listing ends; then it answers with the rendered XML.
//!
//! Pagination is computed after filtering: hidden objects never make a page short. The client's
//! resume point (v1 `marker`, v2 `start-after` / continuation token) is always a *virtual* name,
//! so nothing real leaks through tokens; a data source's listing resumes from it by mapping it
//! back to the real prefix.

use std::collections::VecDeque;

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::entitlements::{DataSourceGrant, Entitlements, Visibility};
use crate::request::{is_servable_name, ListParams, ListVersion};
use crate::s3error::S3Error;
use crate::token;
use crate::xml::{element, escape, uri_encode, url_encode_key};

const S3_NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";
/// Owner shown for every object: the gateway, never the real account.
const OWNER: &str = "Immuta";
/// Upstream pages fetched for one client page before a v2 listing answers with what it has (its
/// sealed token can resume past hidden objects without naming them).
const MAX_UPSTREAM_PAGES: usize = 50;
/// A v1 marker is a plain key, which must never be a hidden one: v1 keeps going, up to this.
const MAX_UPSTREAM_PAGES_V1: usize = 1000;

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

#[derive(Debug, Clone, PartialEq, Eq)]
struct ObjectEntry {
    key: String,
    last_modified: String,
    etag: String,
    size: String,
    storage_class: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Object(ObjectEntry),
    Prefix(String),
}

impl Entry {
    fn name(&self) -> &str {
        match self {
            Entry::Object(o) => &o.key,
            Entry::Prefix(p) => p,
        }
    }
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
    entries: Vec<Entry>,
    truncated: bool,
    done: bool,
    fetches: usize,
    /// The last upstream object looked at (virtual name), visible or not: where a v2 page cut
    /// short by the page budget resumes.
    last_examined: Option<String>,
    /// Set when the page ends on `last_examined` rather than on its last entry.
    resume_after_examined: bool,
}

impl ListingJob {
    pub fn new(
        params: ListParams,
        entitlements: &Entitlements,
        bucket: &str,
    ) -> Result<Self, S3Error> {
        let token_key = token::token_key(entitlements);
        let after = match (&params.continuation_token, &params.start_after) {
            (Some(token), _) => Some(token::open(&token_key, token)?),
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
            entries: Vec::new(),
            truncated: false,
            done: params.max_keys == 0,
            fetches: 0,
            last_examined: None,
            resume_after_examined: false,
            params,
        })
    }

    /// What the host should do next.
    pub fn next_step(&mut self) -> Step {
        while !self.done {
            if self.entries.len() >= self.params.max_keys {
                self.truncated = self.upstream_token.is_some() || !self.segments.is_empty();
                break;
            }
            let Some(front) = self.segments.front() else {
                break;
            };
            match front {
                Segment::CommonPrefix(common) => {
                    if self.is_after_start(common) {
                        self.entries.push(Entry::Prefix(common.clone()));
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
        let Some(Segment::Upstream(segment)) = self.segments.front() else {
            return Err(S3Error::internal_error());
        };
        if status != 200 {
            return Err(match status {
                503 => S3Error::service_unavailable(),
                500..=599 => S3Error::internal_error(),
                _ => S3Error::bad_upstream_response(),
            });
        }
        let page = parse_upstream_page(body)?;
        self.fetches += 1;
        let grant = &segment.grant;
        let folder = format!("{}/", grant.name);
        let mut objects = page.contents.into_iter().peekable();
        let mut prefixes = page.common_prefixes.into_iter().peekable();
        let mut taken = Vec::new();
        let mut leftovers = false;
        loop {
            // Merge the two sorted lists into S3's single key order.
            let take_object = match (objects.peek(), prefixes.peek()) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some(o), Some(p)) => o.key < *p,
            };
            let entry = if take_object {
                let Some(mut object) = objects.next() else {
                    break;
                };
                let relative = below(&object.key, &segment.list_prefix, &grant.prefix)?;
                let key = format!("{folder}{relative}");
                // Hidden, or a name the gateway would refuse to serve: not listed.
                if !segment.visibility.is_visible(relative) || !is_servable_name(&key) {
                    self.last_examined = Some(key);
                    continue;
                }
                self.last_examined = Some(key.clone());
                match self.filter_rolled_up(&key) {
                    Some(common) => {
                        let last = taken.last().or(self.entries.last()).map(Entry::name);
                        if last == Some(common.as_str()) {
                            continue;
                        }
                        Entry::Prefix(common)
                    }
                    None => {
                        object.key = key;
                        Entry::Object(object)
                    }
                }
            } else {
                let Some(prefix) = prefixes.next() else { break };
                let relative = below(&prefix, &segment.list_prefix, &grant.prefix)?;
                let name = format!("{folder}{relative}");
                if !self.ends_a_common_prefix(&name) {
                    // Not what was asked for: an upstream that rolls up differently.
                    return Err(S3Error::bad_upstream_response());
                }
                if !grant.may_hold_visible(relative) || !is_servable_name(&name) {
                    continue;
                }
                Entry::Prefix(name)
            };
            if !self.is_after_start(entry.name()) {
                continue;
            }
            if self.entries.len() + taken.len() >= self.params.max_keys {
                leftovers = true;
                break;
            }
            taken.push(entry);
        }
        self.entries.extend(taken);
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
        match self.params.version {
            ListVersion::V2 if more && self.fetches >= MAX_UPSTREAM_PAGES => {
                self.truncated = true;
                self.done = true;
                self.resume_after_examined = true;
            }
            ListVersion::V1 if more && self.fetches >= MAX_UPSTREAM_PAGES_V1 => {
                return Err(S3Error::slow_down());
            }
            _ => {}
        }
        Ok(())
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
        let wanted = self.params.max_keys - self.entries.len();
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
        let mut out = String::with_capacity(512 + self.entries.len() * 320);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"");
        out.push_str(S3_NS);
        out.push_str("\">");
        element(&mut out, "Name", &self.bucket);
        text(&mut out, "Prefix", &p.prefix);
        let last = self.entries.last().map(Entry::name);
        match p.version {
            ListVersion::V1 => {
                text(&mut out, "Marker", p.start_after.as_deref().unwrap_or(""));
                if let (true, Some(last)) = (self.truncated, last) {
                    text(&mut out, "NextMarker", last);
                }
            }
            ListVersion::V2 => {
                if let Some(token) = &p.continuation_token {
                    element(&mut out, "ContinuationToken", token);
                }
                if let Some(start_after) = &p.start_after {
                    text(&mut out, "StartAfter", start_after);
                }
                element(&mut out, "KeyCount", &self.entries.len().to_string());
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
        let resume = if self.resume_after_examined {
            self.last_examined.as_deref()
        } else {
            last
        };
        if let (ListVersion::V2, true, Some(resume)) = (p.version, self.truncated, resume) {
            element(
                &mut out,
                "NextContinuationToken",
                &token::seal(&self.token_key, resume),
            );
        }
        if url {
            element(&mut out, "EncodingType", "url");
        }
        for entry in &self.entries {
            if let Entry::Object(o) = entry {
                out.push_str("<Contents>");
                text(&mut out, "Key", &o.key);
                element(&mut out, "LastModified", &o.last_modified);
                element(&mut out, "ETag", &o.etag);
                element(&mut out, "Size", &o.size);
                if p.fetch_owner {
                    out.push_str("<Owner><ID>");
                    out.push_str(OWNER);
                    out.push_str("</ID><DisplayName>");
                    out.push_str(OWNER);
                    out.push_str("</DisplayName></Owner>");
                }
                element(&mut out, "StorageClass", &o.storage_class);
                out.push_str("</Contents>");
            }
        }
        for entry in &self.entries {
            if let Entry::Prefix(prefix) = entry {
                out.push_str("<CommonPrefixes>");
                text(&mut out, "Prefix", prefix);
                out.push_str("</CommonPrefixes>");
            }
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

struct UpstreamPage {
    contents: Vec<ObjectEntry>,
    common_prefixes: Vec<String>,
    is_truncated: bool,
    next_token: Option<String>,
}

/// Reads an upstream ListObjectsV2 answer in one pass of XML events.
fn parse_upstream_page(body: &[u8]) -> Result<UpstreamPage, S3Error> {
    let bad = |_| S3Error::bad_upstream_response();
    let text = std::str::from_utf8(body).map_err(bad)?;
    let mut reader = Reader::from_str(text);
    let mut page = UpstreamPage {
        contents: Vec::new(),
        common_prefixes: Vec::new(),
        is_truncated: false,
        next_token: None,
    };
    // The elements open above the current one, by what they mean to us (no names copied).
    let mut path: Vec<Element> = Vec::with_capacity(4);
    let mut value = String::new();
    let mut object: Option<ObjectEntry> = None;
    let mut saw_root = false;
    loop {
        match reader
            .read_event()
            .map_err(|_| S3Error::bad_upstream_response())?
        {
            Event::Start(e) => {
                let tag = Element::of(e.local_name().as_ref());
                if path.is_empty() {
                    if tag != Element::Root {
                        return Err(S3Error::bad_upstream_response());
                    }
                    saw_root = true;
                }
                if path.len() == 1 && tag == Element::Contents {
                    object = Some(ObjectEntry {
                        key: String::new(),
                        last_modified: String::new(),
                        etag: String::new(),
                        size: String::new(),
                        storage_class: "STANDARD".into(),
                    });
                }
                path.push(tag);
                value.clear();
            }
            Event::Empty(_) if path.is_empty() => return Err(S3Error::bad_upstream_response()),
            Event::Text(t) => value.push_str(&t.xml10_content()),
            Event::CData(t) => value.push_str(&t.into_inner()),
            Event::GeneralRef(r) => {
                match r
                    .resolve_char_ref()
                    .map_err(|_| S3Error::bad_upstream_response())?
                {
                    Some(c) => value.push(c),
                    None => value.push_str(
                        quick_xml::escape::resolve_predefined_entity(&r.xml10_content())
                            .ok_or_else(S3Error::bad_upstream_response)?,
                    ),
                }
            }
            Event::End(_) => {
                let Some(tag) = path.pop() else {
                    return Err(S3Error::bad_upstream_response());
                };
                let parent = path.last().copied();
                match (path.len(), parent, tag) {
                    (1, _, Element::IsTruncated) => page.is_truncated = value.trim() == "true",
                    (1, _, Element::NextContinuationToken) => {
                        page.next_token = Some(std::mem::take(&mut value))
                    }
                    (1, _, Element::Contents) => {
                        let o = object.take().ok_or_else(S3Error::bad_upstream_response)?;
                        if o.key.is_empty() || !plausible_metadata(&o) {
                            return Err(S3Error::bad_upstream_response());
                        }
                        page.contents.push(o);
                    }
                    (2, Some(Element::Contents), field) => {
                        if let Some(o) = object.as_mut() {
                            let text = std::mem::take(&mut value);
                            match field {
                                Element::Key => o.key = text,
                                Element::LastModified => o.last_modified = text,
                                Element::ETag => o.etag = quoted_etag(text),
                                Element::Size => o.size = text,
                                Element::StorageClass if !text.is_empty() => o.storage_class = text,
                                _ => {}
                            }
                        }
                    }
                    (2, Some(Element::CommonPrefixes), Element::Prefix) => {
                        page.common_prefixes.push(std::mem::take(&mut value))
                    }
                    _ => {}
                }
                value.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_root || !path.is_empty() {
        return Err(S3Error::bad_upstream_response());
    }
    Ok(page)
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
fn plausible_metadata(o: &ObjectEntry) -> bool {
    let date = !o.last_modified.is_empty()
        && o.last_modified
            .bytes()
            .all(|b| b.is_ascii_digit() || b"-:.TZ+".contains(&b));
    let size = !o.size.is_empty() && o.size.bytes().all(|b| b.is_ascii_digit());
    let etag = o
        .etag
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'"' || b == b'-');
    let class = o
        .storage_class
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b == b'_');
    date && size && etag && class
}

/// S3 ETags are quoted; some S3-compatible stores list them bare.
fn quoted_etag(etag: String) -> String {
    if etag.is_empty() || etag.starts_with('"') {
        etag
    } else {
        format!("\"{etag}\"")
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
    use crate::request::{parse_query, percent_decode};

    fn grant(name: &str, bucket: &str, prefix: &str, hidden: &[&str]) -> DataSourceGrant {
        DataSourceGrant {
            name: name.into(),
            upstream: "demo".into(),
            bucket: bucket.into(),
            prefix: prefix.into(),
            format: "csv".into(),
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
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
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
        let resume = token::open(&token::token_key(&alice()), &token).unwrap();
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
}
