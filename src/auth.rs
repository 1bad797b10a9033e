//! Who is asking: the API key (the AWS access key id) from the request's credentials.
//!
//! This slice identifies the key; checking the signature cryptographically is a later step and
//! plugs in here: `Credential::scheme` says which check applies.

use sha2::{Digest, Sha256};

use crate::s3error::S3Error;

/// The seed's fixed secret, sent literally in place of a signature by `AWS <KEY>:immuta`.
pub const SEED_SECRET: &str = "immuta";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// `AWS4-HMAC-SHA256 Credential=KEY/date/region/service/aws4_request, ...`
    SigV4,
    /// `AWS KEY:signature`
    SigV2,
    /// `AWS KEY:immuta`, the seed's literal header (only where the configuration allows it).
    LegacySeed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub access_key: String,
    pub scheme: Scheme,
}

/// Longest API key accepted; real keys are far shorter.
const MAX_ACCESS_KEY_BYTES: usize = 256;

/// Reads the credential from the `Authorization` header value(s).
pub fn credential(authorization: &[&str], legacy_seed_auth: bool) -> Result<Credential, S3Error> {
    let header = match authorization {
        [] => return Err(S3Error::access_denied()),
        [one] => one.trim(),
        // Two Authorization headers could be read differently by different hops: refuse.
        _ => {
            return Err(S3Error::invalid_argument(
                "Only one Authorization header is allowed",
            ))
        }
    };
    let malformed =
        || S3Error::access_denied_because("Access Denied: malformed Authorization header");
    let credential = if let Some(rest) = header.strip_prefix("AWS4-HMAC-SHA256 ") {
        let scope = rest
            .split(',')
            .map(str::trim)
            .find_map(|part| part.strip_prefix("Credential="))
            .ok_or_else(malformed)?;
        // KEY/yyyymmdd/region/service/aws4_request: the key is what precedes the 4-part scope.
        let mut parts = scope.rsplitn(5, '/');
        let terminator = parts.next();
        let access_key = match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(_), Some(_), Some(_), Some(key)) if terminator == Some("aws4_request") => key,
            _ => return Err(malformed()),
        };
        Credential {
            access_key: access_key.to_string(),
            scheme: Scheme::SigV4,
        }
    } else if let Some(rest) = header.strip_prefix("AWS ") {
        let (access_key, signature) = rest.rsplit_once(':').ok_or_else(malformed)?;
        let scheme = if signature == SEED_SECRET {
            if !legacy_seed_auth {
                return Err(S3Error::access_denied_because(
                    "Access Denied: the legacy 'AWS <key>:immuta' header is disabled; sign the request",
                ));
            }
            Scheme::LegacySeed
        } else {
            Scheme::SigV2
        };
        Credential {
            access_key: access_key.to_string(),
            scheme,
        }
    } else {
        return Err(malformed());
    };
    let key = &credential.access_key;
    if key.is_empty()
        || key.len() > MAX_ACCESS_KEY_BYTES
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(malformed());
    }
    Ok(credential)
}

/// The key's SHA-256 in lower-case hex: the only form in which keys are sent or cached.
pub fn key_digest(access_key: &str) -> String {
    let digest = Sha256::digest(access_key.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(b"0123456789abcdef"[(b >> 4) as usize]));
        out.push(char::from(b"0123456789abcdef"[(b & 15) as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigv4_header_names_the_key() {
        let h = "AWS4-HMAC-SHA256 Credential=alice-demo-key/20261126/us-east-1/s3/aws4_request, \
                 SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=abcd";
        let c = credential(&[h], false).unwrap();
        assert_eq!(c.access_key, "alice-demo-key");
        assert_eq!(c.scheme, Scheme::SigV4);
    }

    #[test]
    fn seed_header_only_where_allowed() {
        let c = credential(&["AWS alice-demo-key:immuta"], true).unwrap();
        assert_eq!(
            (c.access_key.as_str(), c.scheme),
            ("alice-demo-key", Scheme::LegacySeed)
        );
        assert_eq!(
            credential(&["AWS alice-demo-key:immuta"], false)
                .unwrap_err()
                .code,
            "AccessDenied"
        );
        let c = credential(&["AWS alice-demo-key:frJIUN8DYpKDtOLCwo//yllqDzg="], false).unwrap();
        assert_eq!(c.scheme, Scheme::SigV2);
    }

    #[test]
    fn missing_or_malformed_credentials_are_denied() {
        assert_eq!(credential(&[], true).unwrap_err().code, "AccessDenied");
        for h in [
            "Bearer x",
            "AWS nocolon",
            "AWS :immuta",
            "AWS4-HMAC-SHA256 Credential=key/20261126/us-east-1/s3, Signature=x",
            "AWS4-HMAC-SHA256 SignedHeaders=host",
            "AWS bad key:immuta",
        ] {
            assert_eq!(
                credential(&[h], true).unwrap_err().code,
                "AccessDenied",
                "{h}"
            );
        }
        assert_eq!(
            credential(&["AWS a:immuta", "AWS b:immuta"], true)
                .unwrap_err()
                .code,
            "InvalidArgument"
        );
    }

    #[test]
    fn digest_is_sha256_hex() {
        assert_eq!(
            key_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
