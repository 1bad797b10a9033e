//! Signatures: how a client presents its credentials, SigV4 and SigV2 verification, and the
//! gateway's own SigV4 signature on upstream requests.

use crate::headers::Headers;
use crate::s3::error::S3Error;

pub mod presented;
pub mod sigv2;
pub mod sigv4;
pub mod upstream;

/// Longest API key accepted, in any credential form; real keys are far shorter.
pub(crate) const MAX_ACCESS_KEY_BYTES: usize = 256;

/// Whether `key` can be an API key: 1 to [`MAX_ACCESS_KEY_BYTES`] printable ASCII characters.
pub(crate) fn valid_access_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_ACCESS_KEY_BYTES
        && key.bytes().all(|b| b.is_ascii_graphic())
}

/// The one value of a header that must not be repeated (trimmed); two are `InvalidArgument`.
pub(crate) fn single_header<'a>(
    headers: &'a (impl Headers + ?Sized),
    name: &str,
) -> Result<Option<&'a str>, S3Error> {
    let mut found = headers
        .pairs()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name));
    match (found.next(), found.next()) {
        (None, _) => Ok(None),
        (Some((_, v)), None) => Ok(Some(v.trim())),
        (Some(_), Some(_)) => Err(S3Error::invalid_argument(&format!(
            "Only one {name} header is allowed"
        ))),
    }
}
