//! The canonical request and the string to sign: one canonicaliser for the verifier and the
//! upstream signer.

use super::*;

/// The canonical request for `method` and the raw `:path` (path and query, as the client sent
/// it, including the gateway's prefix). `presigned` leaves `X-Amz-Signature` out of the query.
/// An escape that does not decode (to UTF-8) is `InvalidArgument`, as the request parser
/// answers it.
pub fn canonical_request(
    method: &str,
    raw_path: &str,
    headers: &(impl Headers + ?Sized),
    signed_headers: &[String],
    payload_hash: &str,
    presigned: bool,
) -> Result<String, S3Error> {
    let (path, query) = raw_path.split_once('?').unwrap_or((raw_path, ""));
    check_decodable(path, query)?;
    let mut out = String::with_capacity(256 + 2 * raw_path.len());
    out.push_str(method);
    out.push('\n');
    push_canonical_uri(&mut out, path);
    out.push('\n');
    let (mut params, mut ranges) = (String::new(), Vec::new());
    push_canonical_query(&mut out, &mut params, &mut ranges, query, presigned);
    out.push('\n');
    for name in signed_headers {
        out.push_str(name);
        out.push(':');
        let mut values = header_values(headers, name).peekable();
        if values.peek().is_none() {
            // The client signed a header we did not receive: it cannot verify.
            return Err(signature_does_not_match());
        }
        for (i, value) in values.enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_trimmed(&mut out, value);
        }
        out.push('\n');
    }
    out.push('\n');
    for (i, name) in signed_headers.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(name);
    }
    out.push('\n');
    out.push_str(payload_hash);
    Ok(out)
}

/// Refuses what `percent_decode` refuses, query first, then the path; text without `%` always
/// decodes, so only escaped parts are decoded, and the decoded copy is dropped.
fn check_decodable(path: &str, query: &str) -> Result<(), S3Error> {
    let params = query.split('&').flat_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        [name, value]
    });
    for part in params.chain(path.split('/')) {
        if part.contains('%') {
            percent_decode(part)?;
        }
    }
    Ok(())
}

/// S3's canonical URI: every byte decoded once and re-encoded with the unreserved set, a literal
/// `/` kept and an encoded one (`%2F`) left encoded; empty and dot segments stay (they are part
/// of the key). Bytewise, so no UTF-8 check is needed. A `%` that starts no valid escape is taken
/// as a literal `%`; the gateway's own paths never carry one.
pub(crate) fn push_canonical_uri(out: &mut String, path: &str) {
    if path.is_empty() {
        out.push('/');
        return;
    }
    push_reencoded(out, path, false);
}

/// S3's canonical query: each parameter's name and value decoded (`+` is a space) and
/// re-encoded, sorted by name then value, `=` always present; `presigned` leaves
/// `X-Amz-Signature` out. `params` and `ranges` are scratch space (kept by a caller that signs
/// often). Decoding as `request::parse_query` does, it covers exactly the parameters the
/// gateway acts on, by the names it acts on them under.
pub(crate) fn push_canonical_query(
    out: &mut String,
    params: &mut String,
    ranges: &mut Vec<(usize, usize, usize)>,
    query: &str,
    presigned: bool,
) {
    params.clear();
    ranges.clear();
    for param in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = param.split_once('=').unwrap_or((param, ""));
        let start = params.len();
        push_reencoded(params, name, true);
        let name_end = params.len();
        // A presigned URL's signature is not part of what it signs.
        if presigned && params.get(start..name_end) == Some("X-Amz-Signature") {
            params.truncate(start);
            continue;
        }
        push_reencoded(params, value, true);
        ranges.push((start, name_end, params.len()));
    }
    let part = |from: usize, to: usize| params.get(from..to).unwrap_or("");
    ranges.sort_unstable_by(|a, b| {
        (part(a.0, a.1), part(a.1, a.2)).cmp(&(part(b.0, b.1), part(b.1, b.2)))
    });
    for (i, &(start, name_end, end)) in ranges.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(part(start, name_end));
        out.push('=');
        out.push_str(part(name_end, end));
    }
}

/// All values of a header, in order. Envoy presents the HTTP/1 `Host` header as `:authority`;
/// it is also what Envoy routes on and the gateway reads the address from, so for `host` it
/// wins over a literal `host` entry.
fn header_values<'a>(
    headers: &'a (impl Headers + ?Sized),
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    let wanted = if name == "host" && headers.pairs().any(|(k, _)| k == ":authority") {
        ":authority"
    } else {
        name
    };
    headers
        .pairs()
        .filter(move |(k, _)| k.eq_ignore_ascii_case(wanted))
        .map(|(_, v)| v)
}

/// Trims the value and collapses inner runs of spaces/tabs to one space.
pub(crate) fn push_trimmed(out: &mut String, value: &str) {
    // Most values need nothing: no tab, no space at either end, no two spaces in a row.
    let bytes = value.as_bytes();
    let clean = bytes.first() != Some(&b' ')
        && bytes.last() != Some(&b' ')
        && !bytes
            .iter()
            .zip(bytes.iter().skip(1))
            .any(|(&a, &b)| a == b'\t' || (a == b' ' && b == b' '))
        && bytes.last() != Some(&b'\t');
    if clean {
        out.push_str(value);
        return;
    }
    for (i, word) in value
        .split([' ', '\t'])
        .filter(|w| !w.is_empty())
        .enumerate()
    {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
}

/// `AWS4-HMAC-SHA256\n{timestamp}\n{scope}/aws4_request\n{hex sha256 of the canonical request}`,
/// with `scope` as `SigV4Auth::scope_string` gives it. For tests: the verifier and the upstream
/// signer feed the HMAC with `feed_string_to_sign`.
#[cfg(any(test, feature = "test-support"))]
pub fn string_to_sign(timestamp: &str, scope: &str, canonical_request: &str) -> String {
    let mut out = Vec::with_capacity(ALGORITHM.len() + timestamp.len() + scope.len() + 96);
    feed_string_to_sign(
        |piece| out.extend_from_slice(piece),
        timestamp,
        &[scope],
        canonical_request,
    );
    // Every piece is UTF-8 (the arguments, ASCII constants and hex digits).
    String::from_utf8(out).unwrap_or_default()
}

/// The string to sign, handed to `feed` piece by piece: the verifier and the upstream signer
/// feed the HMAC directly, with no string in between. `scope` is joined with `/`.
pub(crate) fn feed_string_to_sign(
    mut feed: impl FnMut(&[u8]),
    timestamp: &str,
    scope: &[&str],
    canonical_request: &str,
) {
    feed(ALGORITHM.as_bytes());
    feed(b"\n");
    feed(timestamp.as_bytes());
    feed(b"\n");
    for (i, part) in scope.iter().enumerate() {
        if i > 0 {
            feed(b"/");
        }
        feed(part.as_bytes());
    }
    feed(b"/aws4_request\n");
    feed(&hex32(&Sha256::digest(canonical_request.as_bytes()).into()));
}
