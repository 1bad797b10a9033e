//! What the gateway writes about a request: its own request id, and the client's path with
//! bearer credentials taken out, for the access log.

use crate::encoding::percent::percent_decode;

/// Request ids for one VM: a random seed mixed with a counter through a bijection of `u64`, so
/// ids of one VM never repeat, ids of different VMs or restarts collide only by chance
/// (2^-64 a pair), and no id tells how many requests came before it. The client's
/// `x-request-id` is never used: ids go into headers, error XML and logs.
#[derive(Debug, Clone)]
pub struct RequestIds {
    seed: u64,
    counter: u64,
}

impl RequestIds {
    pub fn new(seed: u64) -> Self {
        RequestIds { seed, counter: 0 }
    }

    /// The next id: 16 upper-case hex digits, S3's shape for `x-amz-request-id`.
    pub fn next_id(&mut self) -> String {
        self.counter = self.counter.wrapping_add(1);
        format!("{:016X}", mix(self.seed.wrapping_add(self.counter)))
    }
}

/// SplitMix64's finalizer: a bijection, so distinct inputs give distinct ids.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Query parameters that carry a credential: signatures (replayable until they expire, SigV2's
/// listing URLs), access key ids (API keys: with the seed's header form, a key alone
/// authenticates) and session tokens. Matched on the decoded name, case-insensitively.
const CREDENTIAL_PARAMETERS: [&str; 5] = [
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "signature",
    "awsaccesskeyid",
];

const REDACTED: &str = "REDACTED";

/// The path for the logs: credential parameters' values replaced by `REDACTED`, everything
/// else as the client sent it. A name that does not decode is compared as written.
pub fn redacted_path(path: &str) -> String {
    let Some((resource, query)) = path.split_once('?') else {
        return path.to_string();
    };
    let mut out = String::with_capacity(path.len());
    out.push_str(resource);
    out.push('?');
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        let name = pair.split_once('=').map_or(pair, |(n, _)| n);
        let decoded = percent_decode(&name.replace('+', " ")).unwrap_or_else(|_| name.to_string());
        if CREDENTIAL_PARAMETERS
            .iter()
            .any(|c| decoded.eq_ignore_ascii_case(c))
        {
            out.push_str(name);
            out.push('=');
            out.push_str(REDACTED);
        } else {
            out.push_str(pair);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn request_ids_look_like_s3s_and_do_not_repeat() {
        let mut ids = RequestIds::new(7);
        let mut seen = HashSet::new();
        for _ in 0..10_000 {
            let id = ids.next_id();
            assert_eq!(id.len(), 16, "{id}");
            assert!(id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)));
            assert!(seen.insert(id));
        }
        // Another (random) seed, another VM or a restart, counts from elsewhere.
        let mut other = RequestIds::new(0x9e37_79b9_7f4a_7c15);
        assert!((0..10_000).all(|_| !seen.contains(&other.next_id())));
    }

    #[test]
    fn credentials_are_redacted_and_the_rest_kept() {
        assert_eq!(redacted_path("/s3p/immuta/k"), "/s3p/immuta/k");
        assert_eq!(
            redacted_path("/s3p/immuta/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=alice-demo-key%2F20261202%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261202T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=abcdef"),
            "/s3p/immuta/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED&X-Amz-Date=20261202T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=REDACTED"
        );
        assert_eq!(
            redacted_path(
                "/s3p/immuta?prefix=a&AWSAccessKeyId=bob-demo-key&Expires=1&Signature=zz%2B%3D"
            ),
            "/s3p/immuta?prefix=a&AWSAccessKeyId=REDACTED&Expires=1&Signature=REDACTED"
        );
        // Encoded or differently cased names, repeated ones, names without a value.
        assert_eq!(
            redacted_path("/b?Signatur%65=x&x-amz-signature=y&SIGNATURE&signature=1&=&&"),
            "/b?Signatur%65=REDACTED&x-amz-signature=REDACTED&SIGNATURE=REDACTED&signature=REDACTED&=&&"
        );
        assert_eq!(
            redacted_path("/b?X-Amz-Security-Token=t&list-type=2"),
            "/b?X-Amz-Security-Token=REDACTED&list-type=2"
        );
    }
}
