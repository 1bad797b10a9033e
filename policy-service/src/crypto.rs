//! The service's cryptography: SigV4 signing keys, SigV2 signature checks, continuation-token
//! keys and the policy version. Pure functions over bytes, checked against published vectors.
//!
//! Secrets travel as [`Secret`], whose `Debug` shows no bytes and which has no `Display`, so a
//! secret can't reach a log line by accident.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Domain separation: a token key can never equal any other HMAC this service computes.
const TOKEN_KEY_LABEL: &[u8] = b"s3gate-token-v1\0";

/// A principal's secret access key (what SigV4 and SigV2 signatures are made with).
pub struct Secret(Vec<u8>);

impl Secret {
    /// `None` for an empty secret: HMAC would accept it, but anyone could sign with it.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Option<Secret> {
        let bytes = bytes.into();
        (!bytes.is_empty()).then_some(Secret(bytes))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// A SigV4 credential scope without its `aws4_request` terminator, as the filter asks for it:
/// `yyyymmdd/region/service`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    date: String,
    region: String,
    service: String,
}

impl Scope {
    /// Parses and checks a scope. The messages are fixed strings (they go into JSON replies).
    pub fn parse(scope: &str) -> Result<Scope, &'static str> {
        let mut parts = scope.split('/');
        let (Some(date), Some(region), Some(service), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("scope must be yyyymmdd/region/service");
        };
        if !is_real_date(date) {
            return Err("scope date must be a real date written yyyymmdd");
        }
        // The filter's own rule (one definition): it never asks for another region.
        if !s3gate_core::signature::sigv4::is_valid_region(region) {
            return Err("scope region must be 1 to 32 characters of a-z, 0-9 and -");
        }
        // The gateway only serves S3; a key for another service is useless to it.
        if service != "s3" {
            return Err("scope service must be s3");
        }
        Ok(Scope {
            date: date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
        })
    }

    /// Whether a valid request could carry this scope at `now`: a credential date within the
    /// filter's window (`s3gate_core::signature::sigv4::credential_days`) and an accepted region. Signing keys
    /// for any other scope are never handed out.
    pub fn check_usable(&self, now_unix: u64, regions: &[String]) -> Result<(), &'static str> {
        let (first, last) = s3gate_core::signature::sigv4::credential_days(now_unix);
        let day = s3gate_core::encoding::dates::day_number(&self.date)
            .ok_or("scope date is not a date")?;
        if day < first || day > last {
            return Err(
                "scope date is outside what a valid request can carry (7 days back, 1 day ahead)",
            );
        }
        if !regions.contains(&self.region) {
            return Err("scope region is not one the gateway accepts");
        }
        Ok(())
    }
}

/// `yyyymmdd`, eight ASCII digits naming a day that exists (leap years included).
fn is_real_date(date: &str) -> bool {
    s3gate_core::encoding::dates::civil_date(date).is_some()
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Option<[u8; 32]> {
    // HMAC takes keys of any length, so this never fails; no panic path all the same.
    let mut mac = HmacSha256::new_from_slice(key).ok()?;
    mac.update(data);
    Some(mac.finalize().into_bytes().into())
}

/// The SigV4 signing key (kSigning) of `secret` for `scope`: the only thing derived from a
/// secret that ever leaves the service. It signs for that one day, region and service only.
/// The derivation itself is the filter crate's (one definition for both sides); secrets are
/// text, as AWS's are.
pub fn signing_key(secret: &Secret, scope: &Scope) -> Option<[u8; 32]> {
    let secret = std::str::from_utf8(&secret.0).ok()?;
    Some(s3gate_core::signature::sigv4::signing_key(
        secret,
        &scope.date,
        &scope.region,
        &scope.service,
    ))
}

/// Whether `signature_base64` is the SigV2 signature of `string_to_sign` under `secret`:
/// base64(HMAC-SHA1(secret, string to sign)). The comparison takes the same time wherever the
/// bytes differ, so a client can't find a valid signature byte by byte.
pub fn sigv2_signature_matches(
    secret: &Secret,
    string_to_sign: &[u8],
    signature_base64: &str,
) -> bool {
    // The check is the filter crate's SigV2 (one definition); text that is not UTF-8 was not
    // built by the filter, so it matches nothing.
    match (
        std::str::from_utf8(&secret.0),
        std::str::from_utf8(string_to_sign),
    ) {
        (Ok(secret), Ok(string_to_sign)) => {
            s3gate_core::signature::sigv2::verify(secret, string_to_sign, signature_base64)
        }
        _ => false,
    }
}

/// The key that seals one principal's continuation tokens under one policy version:
/// HMAC-SHA256(token secret, "s3gate-token-v1\0" + principal + "\0" + policy version).
pub fn token_key(token_secret: &[u8], principal: &str, policy_version: &str) -> Option<[u8; 32]> {
    let mut data =
        Vec::with_capacity(TOKEN_KEY_LABEL.len() + principal.len() + 1 + policy_version.len());
    data.extend_from_slice(TOKEN_KEY_LABEL);
    data.extend_from_slice(principal.as_bytes());
    data.push(0);
    data.extend_from_slice(policy_version.as_bytes());
    hmac_sha256(token_secret, &data)
}

/// SHA-256 over the policy files in order, each preceded by its length (8 bytes, big-endian)
/// so that moving bytes from one file to the next still changes the version.
pub fn policy_version(files: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for file in files {
        hasher.update((file.len() as u64).to_be_bytes());
        hasher.update(file);
    }
    hasher.finalize().into()
}

/// Lower-case hex, as every key and digest in the entitlements document is written.
pub use s3gate_core::encoding::hex::encode as hex;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn secret(s: &str) -> Secret {
        Secret::new(s).unwrap()
    }

    #[test]
    fn signing_key_matches_aws_documented_example() {
        // AWS General Reference, "Examples of how to derive a signing key for Signature
        // Version 4": the IAM example request of 2015-08-30.
        let scope = Scope {
            date: "20150830".into(),
            region: "us-east-1".into(),
            service: "iam".into(),
        };
        let key = signing_key(&secret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), &scope).unwrap();
        assert_eq!(
            hex(&key),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }

    #[test]
    fn signing_key_depends_on_every_part_of_the_scope_and_the_secret() {
        let s3 = |scope: &str| Scope::parse(scope).unwrap();
        let base = signing_key(&secret("immuta"), &s3("20261126/us-east-1/s3")).unwrap();
        for other in ["20261127/us-east-1/s3", "20261126/eu-west-1/s3"] {
            assert_ne!(signing_key(&secret("immuta"), &s3(other)).unwrap(), base);
        }
        assert_ne!(
            signing_key(&secret("immuta2"), &s3("20261126/us-east-1/s3")).unwrap(),
            base
        );
    }

    #[test]
    fn scopes_are_checked() {
        assert!(Scope::parse("20261126/us-east-1/s3").is_ok());
        assert!(Scope::parse("20240229/auto/s3").is_ok());
        assert!(Scope::parse("20000229/a/s3").is_ok());
        for bad in [
            "",
            "20261126",
            "20261126/us-east-1",
            "20261126/us-east-1/s3/aws4_request",
            "2026112/us-east-1/s3",
            "202611260/us-east-1/s3",
            "2026-11-26/us-east-1/s3",
            "20261131/us-east-1/s3",
            "20261300/us-east-1/s3",
            "20261100/us-east-1/s3",
            "20230229/us-east-1/s3",
            "19000229/us-east-1/s3",
            "00000101/us-east-1/s3",
            "+2026112/us-east-1/s3",
            "20261126//s3",
            "20261126/US-EAST-1/s3",
            "20261126/us_east_1/s3",
            "20261126/us east/s3",
            &format!("20261126/{}/s3", "a".repeat(33)),
            "20261126/us-east-1/iam",
            "20261126/us-east-1/S3",
        ] {
            assert!(Scope::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Scope::parse(&format!("20261126/{}/s3", "a".repeat(32))).is_ok());
    }

    #[test]
    fn sigv2_signature_matches_python_hmac() {
        // base64(hmac.new(b"immuta", sts, hashlib.sha1).digest()) with Python's hmac module.
        let sts = b"GET\n\n\n1700000000\n/s3p/immuta/sales/";
        let sig = "BWZ1neSo/w5NKRYZCDXsdxet6dI=";
        assert!(sigv2_signature_matches(&secret("immuta"), sts, sig));
        // AWS's SigV2 example (GetObject of photos/puppy.jpg), same computation.
        let sts = b"GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg";
        let key = secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        assert!(sigv2_signature_matches(
            &key,
            sts,
            "qgk2+6Sv9/oM7G3qLEjTH1a1l1g="
        ));
    }

    #[test]
    fn sigv2_rejects_wrong_tampered_and_malformed_signatures() {
        let sts = b"GET\n\n\n1700000000\n/s3p/immuta/sales/";
        let good = "BWZ1neSo/w5NKRYZCDXsdxet6dI=";
        assert!(!sigv2_signature_matches(&secret("immuta2"), sts, good));
        assert!(!sigv2_signature_matches(
            &secret("immuta"),
            b"GET\n\n\n1700000001\n/s3p/immuta/sales/",
            good
        ));
        for bad in [
            "",
            "BWZ1neSo/w5NKRYZCDXsdxet6dJ=",
            "BWZ1neSo/w5NKRYZCDXsdxet6d==",
            "BWZ1neSo/w5NKRYZCDXsdxet6dI",
            "BWZ1neSo_w5NKRYZCDXsdxet6dI=",
            "BWZ1neSo/w5NKRYZCDXsdxet6dI=BWZ1",
            "not base64!",
        ] {
            assert!(
                !sigv2_signature_matches(&secret("immuta"), sts, bad),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn token_keys_are_stable_and_separate_principals_versions_and_secrets() {
        let key = |secret: &[u8], principal, version| {
            hex(&token_key(secret, principal, version).unwrap())
        };
        let base = key(b"token-secret", "bob", "v1");
        assert_eq!(base, key(b"token-secret", "bob", "v1"));
        assert_eq!(base.len(), 64);
        assert_ne!(base, key(b"token-secret", "alice", "v1"));
        assert_ne!(base, key(b"token-secret", "bob", "v2"));
        assert_ne!(base, key(b"other-secret", "bob", "v1"));
        // The separator keeps principal "ab" at version "c" apart from "a" at "bc".
        assert_ne!(key(b"s", "ab", "c"), key(b"s", "a", "bc"));
        // The documented construction, computed with Python's hmac module.
        assert_eq!(
            base,
            "1a28a86616f01f4162423e486a0c28563f0f9767d1fc3e4defabd85f592e3ecf"
        );
    }

    #[test]
    fn policy_version_covers_every_byte_and_the_file_boundaries() {
        let v = |files: &[&[u8]]| hex(&policy_version(files));
        let base = v(&[b"a: 1\n", b"b: 2\n", b"c: 3\n"]);
        assert_eq!(base, v(&[b"a: 1\n", b"b: 2\n", b"c: 3\n"]));
        assert_ne!(base, v(&[b"a: 1\n", b"b: 2\n", b"c: 4\n"]));
        assert_ne!(base, v(&[b"a: 1\n", b"b: 2\n", b"c: 3\n\n"]));
        assert_ne!(v(&[b"ab", b"c"]), v(&[b"a", b"bc"]));
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", secret("hunter2")), "Secret(..)");
        assert!(Secret::new("").is_none());
    }
}
