//! Checking a SigV4 request: the checks that need no secret (`precheck`), then the signature
//! with a signing key made ready once (`VerifyingKey`).

use super::*;

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().into()
        }
        // Unreachable: HMAC takes keys of any length. `verify` does not depend on this path.
        Err(_) => [0; 32],
    }
}

/// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
/// The policy service derives it; the filter caches it per (key, scope).
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, b"aws4_request")
}

/// The signature (lower-case hex) of `string_to_sign` under `signing_key`, for tests.
#[cfg(any(test, feature = "test-support"))]
pub fn signature(signing_key: &[u8; 32], string_to_sign: &str) -> String {
    let mut out = String::with_capacity(64);
    push_hex32(
        &mut out,
        &hmac_sha256(signing_key, string_to_sign.as_bytes()),
    );
    out
}

/// Checks a SigV4 request: the request time against `now_unix`, the scope date
/// against the request date, every `x-amz-*` header signed, then the signature itself (compared
/// in constant time). `signing_key` is the key for `auth.scope_string()`. For tests: the flow
/// runs `precheck` before it has the key, then `verify_signature`.
#[cfg(any(test, feature = "test-support"))]
pub fn verify(
    auth: &SigV4Auth,
    method: &str,
    raw_path: &str,
    headers: &(impl Headers + ?Sized),
    now_unix: u64,
    signing_key: &[u8; 32],
) -> Result<(), S3Error> {
    let key = VerifyingKey::new(signing_key);
    verify_with(auth, method, raw_path, headers, now_unix, &key)
}

/// HMAC-SHA256 keyed with a signing key, both pads already absorbed: a clone of it skips two
/// compressions per signature. `KeyInit::new` takes a full 64-byte block; HMAC pads a shorter key
/// with zeros, so the 32-byte key zero-padded is the same key, and this cannot fail.
pub(crate) fn keyed_hmac(signing_key: &[u8; 32]) -> HmacSha256 {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(signing_key);
    <HmacSha256 as hmac::digest::KeyInit>::new(&block.into())
}

/// A signing key made ready for HMAC once (its inner and outer pads hashed): kept with a cached
/// decision, a verification hashes two blocks fewer.
#[derive(Clone)]
pub struct VerifyingKey(HmacSha256);

impl VerifyingKey {
    pub fn new(signing_key: &[u8; 32]) -> Self {
        VerifyingKey(keyed_hmac(signing_key))
    }

    /// From the lower-case hex the policy service sends.
    pub fn from_hex(hex: &str) -> Option<Self> {
        decode_hex32(hex).map(|key| Self::new(&key))
    }
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VerifyingKey(..)")
    }
}

/// `verify` with a prepared key: the checks that need no secret, then the signature.
#[cfg(any(test, feature = "test-support"))]
pub fn verify_with(
    auth: &SigV4Auth,
    method: &str,
    raw_path: &str,
    headers: &(impl Headers + ?Sized),
    now_unix: u64,
    signing_key: &VerifyingKey,
) -> Result<(), S3Error> {
    let timestamp = precheck(auth, headers, now_unix)?;
    verify_signature(auth, &timestamp, method, raw_path, headers, signing_key)
}

/// Whether `region` is one a credential scope may name: 1 to 32 of `a-z`, `0-9` and `-`, as
/// AWS region names are. One rule for the filter's configuration and the policy service.
pub fn is_valid_region(region: &str) -> bool {
    (1..=32).contains(&region.len())
        && region
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'))
}

/// The credential's region must be one the gateway accepts (S3 serves one region per endpoint
/// and names it in the error), so a key has only a handful of valid scopes.
pub fn check_region(auth: &SigV4Auth, accepted: &[String]) -> Result<(), S3Error> {
    if accepted.contains(&auth.region) {
        return Ok(());
    }
    let expected = accepted.first().map_or("us-east-1", String::as_str);
    let mut e = if auth.presigned.is_some() {
        query_malformed(&format!(
            "Error parsing the X-Amz-Credential parameter; the region '{}' is wrong; expecting '{expected}'",
            auth.region
        ))
    } else {
        header_malformed(&format!(
            "The authorization header is malformed; the region '{}' is wrong; expecting '{expected}'",
            auth.region
        ))
    };
    e.detail = Some(("Region", expected.to_string()));
    Err(e)
}

/// The first and last day (days since the epoch) a valid request's credential date can name
/// at `now`, by the policy service's clock: a presigned URL signed up to its 7-day maximum ago,
/// and a day either way for the clocks of gateway and service. The service derives signing keys
/// for these days only.
pub fn credential_days(now_unix: u64) -> (u64, u64) {
    const DAY: u64 = 86_400;
    let first = now_unix.saturating_sub(MAX_PRESIGNED_EXPIRES + DAY) / DAY;
    let last = now_unix.saturating_add(DAY) / DAY;
    (first, last)
}

/// Every check of a SigV4 request that needs no secret: the request time
/// against the clock (skew, presigned expiry), the credential date against the request date,
/// unsigned `x-amz-*` headers, the payload hash's form. It runs before any decision is looked
/// up, so a request failing it costs no policy call and leaves nothing behind. Returns the
/// timestamp that goes into the string to sign.
pub fn precheck(
    auth: &SigV4Auth,
    headers: &(impl Headers + ?Sized),
    now_unix: u64,
) -> Result<String, S3Error> {
    let malformed: fn(&str) -> S3Error = if auth.presigned.is_some() {
        query_malformed
    } else {
        header_malformed
    };
    let timestamp = match &auth.presigned {
        Some(p) => {
            let t = parse_amz_date(&p.timestamp).ok_or_else(|| {
                query_malformed(
                    "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
                )
            })?;
            if t > now_unix.saturating_add(MAX_SKEW_SECONDS) {
                return Err(request_not_yet_valid());
            }
            if t.saturating_add(p.expires) < now_unix {
                return Err(request_expired());
            }
            p.timestamp.clone()
        }
        None => {
            let (t, timestamp) = header_time(headers)?;
            if t.abs_diff(now_unix) > MAX_SKEW_SECONDS {
                return Err(request_time_too_skewed());
            }
            timestamp
        }
    };
    if timestamp.get(..8) != Some(auth.date.as_str()) {
        return Err(malformed(
            "Invalid credential date. Date is not the same as X-Amz-Date.",
        ));
    }

    // S3 refuses x-amz-* headers the client did not sign: they change what a request means.
    let unsigned: Vec<&str> = headers
        .pairs()
        .map(|(k, _)| k)
        .filter(|k| {
            k.len() > 6
                && k.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("x-amz-"))
                && !auth
                    .signed_headers
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(k))
        })
        .collect();
    if !unsigned.is_empty() {
        return Err(headers_not_signed(&unsigned));
    }
    if auth.presigned.is_none() {
        content_sha256(headers)?;
    }
    Ok(timestamp)
}

/// The signature check proper, for a request that passed `precheck` (which gave `timestamp`).
pub fn verify_signature(
    auth: &SigV4Auth,
    timestamp: &str,
    method: &str,
    raw_path: &str,
    headers: &(impl Headers + ?Sized),
    signing_key: &VerifyingKey,
) -> Result<(), S3Error> {
    let payload_hash = match auth.presigned {
        Some(_) => UNSIGNED_PAYLOAD,
        None => content_sha256(headers)?,
    };
    let canonical = canonical_request(
        method,
        raw_path,
        headers,
        &auth.signed_headers,
        payload_hash,
        auth.presigned.is_some(),
    )?;
    let given = decode_hex32(&auth.signature).ok_or_else(signature_does_not_match)?;
    let mut mac = signing_key.0.clone();
    feed_string_to_sign(
        |piece| mac.update(piece),
        timestamp,
        &[&auth.date, &auth.region, &auth.service],
        &canonical,
    );
    // `verify_slice` compares in constant time.
    mac.verify_slice(&given)
        .map_err(|_| signature_does_not_match())
}

/// The header form's request time: `x-amz-date` (ISO 8601 basic), else `Date` (RFC 1123), as unix
/// seconds and as the timestamp that goes into the string to sign.
fn header_time(headers: &(impl Headers + ?Sized)) -> Result<(u64, String), S3Error> {
    if let Some(value) = single_header(headers, "x-amz-date")? {
        let t = parse_amz_date(value).ok_or_else(missing_date)?;
        return Ok((t, value.to_string()));
    }
    let value = single_header(headers, "date")?.ok_or_else(missing_date)?;
    let t = parse_http_date(value).ok_or_else(missing_date)?;
    Ok((t, format_amz_date(t)))
}

/// SHA-256 of an empty body: what GET/HEAD carry.
pub const EMPTY_PAYLOAD_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// `x-amz-content-sha256`: `UNSIGNED-PAYLOAD` or a hex SHA-256. The gateway serves only
/// GET/HEAD, so the (empty) body is not hashed; the value is still part of what the signature
/// covers. S3 requires the header; signers that omit it (curl before 8.x) sign the empty body's
/// hash, so that is what a missing header means here.
fn content_sha256(headers: &(impl Headers + ?Sized)) -> Result<&str, S3Error> {
    let Some(value) = single_header(headers, "x-amz-content-sha256")? else {
        return Ok(EMPTY_PAYLOAD_SHA256);
    };
    let hex = value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit());
    if value != UNSIGNED_PAYLOAD && !hex {
        return Err(S3Error::invalid_argument(
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a valid sha256 value.",
        ));
    }
    Ok(value)
}
