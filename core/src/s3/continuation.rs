//! Sealed continuation tokens: the listing's resume point, encrypted and authenticated with the
//! principal's token key (which the policy service derives per principal and policy version).
//! A token reveals nothing, cannot be forged or altered, and does not open for another
//! principal or after a policy change.
//!
//! `token = base64url(nonce[12] | ciphertext | tag[16])`, with HMAC-SHA256 as the PRF:
//! nonce = PRF("nonce" | plaintext) (deterministic, SIV-style: no randomness needed in wasm),
//! keystream block i = PRF("stream" | nonce | i), tag = PRF("tag" | nonce | ciphertext).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::encoding::hex::decode_hex;
use crate::policy::entitlements::Entitlements;
use crate::s3::error::S3Error;

type HmacSha256 = Hmac<Sha256>;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Resume points are keys (≤ 1024 bytes); anything longer is not ours.
const MAX_TOKEN_LEN: usize = 2048;

/// The key tokens of this principal are sealed with. Without a key from the policy service,
/// one is derived from the principal and policy version, which still binds tokens to both.
pub fn token_key(entitlements: &Entitlements) -> Vec<u8> {
    match decode_hex(&entitlements.token_key) {
        Some(key) if key.len() >= 16 => key,
        _ => Sha256::digest(
            format!(
                "s3gate-token-fallback\0{}\0{}",
                entitlements.principal, entitlements.policy_version
            )
            .as_bytes(),
        )
        .to_vec(),
    }
}

pub fn seal(key: &[u8], plaintext: &str) -> String {
    let nonce = prf(key, &[b"nonce", plaintext.as_bytes()]);
    let nonce = &nonce[..NONCE_LEN];
    let mut sealed = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
    sealed.extend_from_slice(nonce);
    sealed.extend(
        plaintext
            .bytes()
            .zip(keystream(key, nonce))
            .map(|(b, k)| b ^ k),
    );
    let tag = prf(key, &[b"tag", &sealed]);
    sealed.extend_from_slice(&tag[..TAG_LEN]);
    URL_SAFE_NO_PAD.encode(sealed)
}

pub fn open(key: &[u8], token: &str) -> Result<String, S3Error> {
    let invalid = || S3Error::invalid_argument("The continuation token provided is incorrect");
    if token.len() > MAX_TOKEN_LEN {
        return Err(invalid());
    }
    let sealed = URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|_| invalid())?;
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(invalid());
    }
    let (body, tag) = sealed.split_at(sealed.len() - TAG_LEN);
    let mut mac = HmacSha256::new_from_slice(key).map_err(|_| invalid())?;
    mac.update(b"tag");
    mac.update(body);
    mac.verify_truncated_left(tag).map_err(|_| invalid())?;
    let (nonce, ciphertext) = body.split_at(NONCE_LEN);
    let mut plaintext = ciphertext.to_vec();
    for (byte, k) in plaintext.iter_mut().zip(keystream(key, nonce)) {
        *byte ^= k;
    }
    String::from_utf8(plaintext).map_err(|_| invalid())
}

/// The bytes XORed onto the plaintext: blocks `PRF("stream" | nonce | i)`, each computed when
/// the text reaches it.
fn keystream<'a>(key: &'a [u8], nonce: &'a [u8]) -> impl Iterator<Item = u8> + 'a {
    (0..=u32::MAX).flat_map(move |i| prf(key, &[b"stream", nonce, &i.to_be_bytes()]))
}

fn prf(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return [0; 32],
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn round_trips_and_hides_the_resume_point() {
        let token = seal(KEY, "sales/region=eu/part-00003.csv");
        assert_eq!(open(KEY, &token).unwrap(), "sales/region=eu/part-00003.csv");
        let raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        assert!(!raw.windows(5).any(|w| w == b"sales"));
        assert_eq!(seal(KEY, "a"), seal(KEY, "a"), "deterministic");
        assert_ne!(seal(KEY, "a"), seal(KEY, "b"));
    }

    #[test]
    fn tokens_sealed_by_earlier_gateways_still_open() {
        // Tokens outlive a gateway restart: the sealing must stay exactly what it was. Three
        // keystream blocks' worth of resume point.
        let point = "sales/region=eu/year=2024/month=05/day=17/part-00003-of-00128.snappy.parquet";
        let token = seal(KEY, point);
        assert_eq!(token, "ceHUcQ9ms9xqBx3wwIPNZD7csWmYOU-uh0nyDhc7Z3q4lNk5cBkn6uAkldouYnCBSjCSF6o3ti25UZYn-4d98JJYYFcNLrkediftUEWQ-kFaWHdkz7kqQ2u3pLhSiojkE8h9NKiACFI");
        assert_eq!(open(KEY, &token).unwrap(), point);
    }

    #[test]
    fn other_keys_and_tampering_are_refused() {
        let token = seal(KEY, "sales/x");
        assert_eq!(
            open(b"another key, another principal!!", &token)
                .unwrap_err()
                .code,
            "InvalidArgument"
        );
        let mut raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        raw[NONCE_LEN] ^= 1;
        assert!(open(KEY, &URL_SAFE_NO_PAD.encode(&raw)).is_err());
        for bad in ["", "!!!", "c2FsZXMveA", &"A".repeat(5000)] {
            assert!(open(KEY, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_bind_principal_and_policy_version() {
        let mut e = Entitlements {
            principal: "bob".into(),
            policy_version: "v1".into(),
            ..Default::default()
        };
        let bob_v1 = token_key(&e);
        e.policy_version = "v2".into();
        assert_ne!(token_key(&e), bob_v1);
        e.token_key = "00112233445566778899aabbccddeeff".into();
        assert_eq!(
            token_key(&e),
            decode_hex("00112233445566778899aabbccddeeff").unwrap()
        );
    }
}
