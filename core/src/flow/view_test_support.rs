//! What the fake-host tests of table views (CSV/JSON Lines in `table_tests`, Parquet in
//! `parquet_tests`) share: the environment, a store holding one object, the upstream's answer
//! to a forwarded GET, and readers of what the client got.

use super::fake::{FakeHost, Recorded};
use super::tests::{answer_with_headers, call_header};
use super::*;
use crate::headers::HeaderMap;

pub(super) const MASK_SECRET: &str = "a mask secret of at least thirty-two bytes";
pub(super) const LAST_MODIFIED: &str = "Tue, 15 Sep 2026 10:00:00 GMT";

pub(super) fn env(var: &str) -> Option<String> {
    match var {
        "AWS_ACCESS_KEY_ID" => Some("GATEWAYKEY".into()),
        "AWS_SECRET_ACCESS_KEY" => Some("gateway-secret".into()),
        "S3GATE_POLICY_TOKEN" => Some("policy-token".into()),
        "S3GATE_MASK_SECRET" => Some(MASK_SECRET.into()),
        _ => None,
    }
}

/// An upstream store holding one object under one ETag.
pub(super) struct Store {
    pub object: Vec<u8>,
    pub etag: &'static str,
    /// The status of a satisfied range: S3's 206, or rclone's 200.
    pub ranged_status: &'static str,
    pub content_type: Option<&'static str>,
}

impl Store {
    pub fn new(object: Vec<u8>, etag: &'static str) -> Store {
        Store {
            object,
            etag,
            ranged_status: "206",
            content_type: None,
        }
    }

    /// The object's headers as a HEAD, a GET or a range answers them.
    fn headers<'s>(&'s self, status: &'s str, length: &'s str) -> Vec<(&'s str, &'s str)> {
        let mut pairs = vec![
            (":status", status),
            ("etag", self.etag),
            ("last-modified", LAST_MODIFIED),
            ("content-length", length),
        ];
        if let Some(content_type) = self.content_type {
            pairs.push(("content-type", content_type));
        }
        pairs
    }

    /// The store's answer to the gateway's own HEAD.
    pub fn head(&self) -> CallAnswer {
        let size = self.object.len().to_string();
        answer_with_headers(200, &self.headers("200", &size))
    }

    /// The store's answer to the gateway's own ranged read (`If-Match` checked).
    pub fn read(&self, call: &Call) -> CallAnswer {
        if call_header(call, "if-match") != Some(self.etag) {
            return answer_with_headers(412, &[(":status", "412")]);
        }
        let (first, last) = parse_range(call_header(call, "range").unwrap_or_default());
        let last = last.min(self.object.len() as u64 - 1);
        let content_range = format!("bytes {first}-{last}/{}", self.object.len());
        let mut answer = answer_with_headers(
            self.ranged_status.parse().unwrap_or(206),
            &[
                (":status", self.ranged_status),
                ("etag", self.etag),
                ("content-range", &content_range),
            ],
        );
        answer.body = self.object[first as usize..=last as usize].to_vec();
        answer
    }
}

/// `bytes=a-b` (an open end as `u64::MAX`).
pub(super) fn parse_range(value: &str) -> (u64, u64) {
    let spec = value.strip_prefix("bytes=").unwrap_or_default();
    let (a, b) = spec.split_once('-').unwrap_or_default();
    (a.parse().unwrap_or(0), b.parse().unwrap_or(u64::MAX))
}

/// The response headers the filter set on `stream` since command `since`.
pub(super) fn set_response_headers(
    host: &FakeHost,
    stream: StreamId,
    since: usize,
) -> Vec<(String, Option<String>)> {
    host.commands[since..]
        .iter()
        .filter_map(|(s, c)| match c {
            Recorded::SetResponseHeader(n, v) if *s == stream => Some((n.clone(), v.clone())),
            _ => None,
        })
        .collect()
}

/// The upstream's answer to the forwarded GET of `stream` (its range, if any, from `store`,
/// with the object's checksums), its body handed over in pieces of `chunk` bytes: the body and
/// the response headers the client gets (no body once the filter stops the response). With
/// `in_place`, every piece must come back as long as it went in.
pub(super) fn respond(
    gateway: &mut Gateway,
    host: &mut FakeHost,
    stream: StreamId,
    store: &Store,
    chunk: usize,
    in_place: bool,
) -> (Vec<u8>, Vec<(String, Option<String>)>) {
    let range = host.request_header(stream, "range").flatten();
    let (status, body, content_range) = match &range {
        Some(r) => {
            let (a, b) = parse_range(r);
            let content_range = format!("bytes {a}-{b}/{}", store.object.len());
            let body = store.object[a as usize..=b as usize].to_vec();
            (store.ranged_status, body, Some(content_range))
        }
        None => ("200", store.object.clone(), None),
    };
    let length = body.len().to_string();
    let mut pairs = store.headers(status, &length);
    pairs.extend([
        ("x-amz-checksum-crc32", "abc="),
        ("x-amz-checksum-sha256", "abc="),
        ("content-md5", "xyz=="),
    ]);
    if let Some(content_range) = &content_range {
        pairs.push(("content-range", content_range));
    }
    let mut upstream = HeaderMap::from_pairs(&pairs);
    let before = host.commands.len();
    let action =
        gateway.on_response_headers(host, stream, &mut || std::mem::take(&mut upstream), false);
    let headers = set_response_headers(host, stream, before);
    let mut out = Vec::new();
    if action != Action::Continue {
        return (out, headers);
    }
    let pieces: Vec<&[u8]> = body.chunks(chunk.max(1)).collect();
    for (i, piece) in pieces.iter().enumerate() {
        host.response_body = piece.to_vec();
        let before = host.commands.len();
        let action = gateway.on_response_body(host, stream, piece.len(), i + 1 == pieces.len());
        let mut replaced = false;
        for (s, c) in &host.commands[before..] {
            if let (true, Recorded::ReplaceResponseBody(bytes)) = (*s == stream, c) {
                if in_place {
                    assert_eq!(bytes.len(), piece.len(), "in place, chunk by chunk");
                }
                out.extend_from_slice(bytes);
                replaced = true;
            }
        }
        // A chunk the filter lets go on unchanged reaches the client as the upstream sent it,
        // as in Envoy.
        if !replaced && action == Action::Continue {
            out.extend_from_slice(piece);
        }
    }
    (out, headers)
}

/// The last value set for `name` (`None` if removed or never set).
pub(super) fn header<'h>(headers: &'h [(String, Option<String>)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .rev()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.as_deref())
}

/// The text of the first `<name>` element of `xml`.
pub(super) fn element<'x>(xml: &'x str, name: &str) -> &'x str {
    let open = format!("<{name}>");
    let start = xml.find(&open).map_or(xml.len(), |i| i + open.len());
    let end = xml[start..].find('<').map_or(xml.len(), |i| start + i);
    &xml[start..end]
}
