//! AWS Signature Version 4 as S3 checks it: header (`Authorization: AWS4-HMAC-SHA256 ...`) and
//! presigned URL (`X-Amz-Signature` in the query) forms.
//!
//! Pure: the clock and the signing key are inputs. The filter never sees the secret; the policy
//! service answers with the signing key for a scope (`yyyymmdd/region/s3`), and the filter caches
//! that key per (API key, scope) — it changes once a day per region, so the per-request cost is
//! one canonical request, one SHA-256 over it and one HMAC. Nothing else is worth caching: the
//! canonical request depends on every signed byte of the request.
//!
//! S3's rules differ from other services': the path is URI-encoded once (not twice) and dot
//! segments and repeated slashes are kept, because they are part of the object key.
//!
//! Error choices, following S3's own codes:
//! - malformed `Authorization` → `AuthorizationHeaderMalformed` (400); malformed presign
//!   query → `AuthorizationQueryParametersError` (400);
//! - session tokens are refused (`InvalidToken`) by `presented::presented`, before this module
//!   reads the credential;
//! - wrong signature or a signed header missing from the request → `SignatureDoesNotMatch` (403)
//!   with S3's fixed message, never the expected signature or the canonical request;
//! - clock: `RequestTimeTooSkewed` (403) for the header form, `AccessDenied` (403) for an expired
//!   or not-yet-valid presigned URL.

use crate::headers::Headers;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::encoding::dates::parse_http_date;
use crate::encoding::hex::decode_hex32;
#[cfg(any(test, feature = "test-support"))]
use crate::encoding::hex::push_hex32;
use crate::encoding::percent::{percent_decode, push_reencoded};
use crate::s3::error::S3Error;
use crate::s3::request::QueryParam;
use crate::signature::{single_header, valid_access_key};

// The dates and hex SigV4 speaks, where callers of this module expect them.
pub use crate::encoding::dates::{day_number, days_in_month, format_amz_date, parse_amz_date};
pub use crate::encoding::hex::hex32;

type HmacSha256 = Hmac<Sha256>;

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Payload hash of a presigned request, and a client's way to leave the body unsigned.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// How far the request time may be from the gateway's clock, either way (S3's 15 minutes).
pub const MAX_SKEW_SECONDS: u64 = 15 * 60;
/// Longest presigned URL lifetime S3 accepts: seven days.
pub const MAX_PRESIGNED_EXPIRES: u64 = 604_800;
/// The only service a credential scope may name: a key derived for another service is not ours.
pub const SERVICE: &str = "s3";

/// Bound on an attacker-chosen size, far above what real clients send.
const MAX_SIGNED_HEADERS: usize = 64;

/// A parsed SigV4 credential, from the `Authorization` header or the presign query.
#[derive(Clone, PartialEq, Eq)]
pub struct SigV4Auth {
    pub access_key: String,
    /// Credential scope: date (`yyyymmdd`), region and service.
    pub date: String,
    pub region: String,
    pub service: String,
    /// Lower-case, sorted, without duplicates, always including `host`.
    pub signed_headers: Vec<String>,
    /// 64 lower-case hex digits.
    pub signature: String,
    /// Set for a presigned URL.
    pub presigned: Option<Presigned>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presigned {
    /// `X-Amz-Date` as sent (`yyyymmddThhmmssZ`); it goes into the string to sign verbatim.
    pub timestamp: String,
    /// `X-Amz-Expires`, seconds (1..=604800).
    pub expires: u64,
}

// Hand-written so a logged `{:?}` never carries the signature: logs name the principal, never a
// key's proof.
impl std::fmt::Debug for SigV4Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigV4Auth")
            .field("scope", &self.scope_string())
            .field("signed_headers", &self.signed_headers)
            .field("presigned", &self.presigned)
            .finish_non_exhaustive()
    }
}

impl SigV4Auth {
    /// `yyyymmdd/region/service`: the scope the signing key is derived for (and cached under).
    pub fn scope_string(&self) -> String {
        format!("{}/{}/{}", self.date, self.region, self.service)
    }
}

// ---- errors ---------------------------------------------------------------------------------

fn error(code: &'static str, status: u32, message: &str) -> S3Error {
    S3Error {
        code,
        status,
        message: message.to_string(),
        detail: None,
    }
}

fn header_malformed(message: &str) -> S3Error {
    error("AuthorizationHeaderMalformed", 400, message)
}

fn query_malformed(message: &str) -> S3Error {
    error("AuthorizationQueryParametersError", 400, message)
}

pub fn signature_does_not_match() -> S3Error {
    error(
        "SignatureDoesNotMatch",
        403,
        "The request signature we calculated does not match the signature you provided. \
         Check your key and signing method.",
    )
}

pub fn request_time_too_skewed() -> S3Error {
    error(
        "RequestTimeTooSkewed",
        403,
        "The difference between the request time and the current time is too large.",
    )
}

pub fn request_expired() -> S3Error {
    S3Error::access_denied_because("Request has expired")
}

pub fn request_not_yet_valid() -> S3Error {
    S3Error::access_denied_because("Request is not valid yet")
}

fn missing_date() -> S3Error {
    S3Error::access_denied_because("AWS authentication requires a valid Date or x-amz-date header")
}

fn headers_not_signed(names: &[&str]) -> S3Error {
    let mut e = S3Error::access_denied_because(
        "There were headers present in the request which were not signed",
    );
    // The client's own header names: nothing of the gateway's leaks through them.
    e.detail = Some(("HeadersNotSigned", names.join(", ")));
    e
}

mod canonical;
mod parse;
#[cfg(test)]
mod tests;
mod verify;

pub use canonical::*;
pub use parse::*;
pub use verify::*;
