//! Who may call the service: the gateway, proving it with the shared token from
//! `S3GATE_POLICY_TOKEN` as `Authorization: Bearer <token>`. Pure, so it is tested without a
//! socket; the token is never logged or answered.

use sha2::{Digest, Sha256};

/// The environment variable holding the token the gateway must present.
pub const TOKEN_ENV: &str = "S3GATE_POLICY_TOKEN";

/// How callers are checked.
pub enum CallerAuth {
    /// Every call but `/healthz` and `/readyz` must carry this token.
    Token(Vec<u8>),
    /// No check (`--no-caller-auth`): for a service only the gateway can reach.
    Open,
}

/// Why a call was refused; goes into the log line.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    Missing,
    Wrong,
}

impl CallerAuth {
    /// Checks the `Authorization` header of a call to `path`. `/healthz` and `/readyz` are
    /// open, so load balancers, kubelet probes and Envoy health checks need no secret; they
    /// tell nothing about principals (`/readyz`: the policy version and reload counts).
    pub fn check(&self, path: &str, authorization: Option<&str>) -> Result<(), Refusal> {
        let CallerAuth::Token(expected) = self else {
            return Ok(());
        };
        let endpoint = path.split_once('?').map_or(path, |(endpoint, _)| endpoint);
        if endpoint == "/healthz" || endpoint == "/readyz" {
            return Ok(());
        }
        let presented = authorization
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or(Refusal::Missing)?;
        if constant_time_eq(presented.as_bytes(), expected) {
            Ok(())
        } else {
            Err(Refusal::Wrong)
        }
    }
}

/// Compares the SHA-256 digests of both, byte by byte without an early exit, so the time
/// taken says nothing about how much of the token (or its length) a guess got right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_passes() {
        let auth = CallerAuth::Token(b"s3cret-token".to_vec());
        let path = "/v1/entitlements/00";
        assert_eq!(auth.check(path, Some("Bearer s3cret-token")), Ok(()));
        assert_eq!(auth.check(path, None), Err(Refusal::Missing));
        assert_eq!(
            auth.check(path, Some("s3cret-token")),
            Err(Refusal::Missing)
        );
        assert_eq!(
            auth.check(path, Some("Basic s3cret-token")),
            Err(Refusal::Missing)
        );
        assert_eq!(auth.check(path, Some("Bearer s3cret")), Err(Refusal::Wrong));
        assert_eq!(
            auth.check(path, Some("Bearer s3cret-token2")),
            Err(Refusal::Wrong)
        );
        assert_eq!(auth.check(path, Some("Bearer ")), Err(Refusal::Wrong));
        assert_eq!(
            auth.check("/v1/verify-sigv2/00", None),
            Err(Refusal::Missing)
        );
    }

    #[test]
    fn health_is_open_and_open_mode_checks_nothing() {
        let auth = CallerAuth::Token(b"t".to_vec());
        assert_eq!(auth.check("/healthz", None), Ok(()));
        assert_eq!(auth.check("/healthzx", None), Err(Refusal::Missing));
        assert_eq!(auth.check("/readyz?x", None), Ok(()));
        assert_eq!(auth.check("/readyzx", None), Err(Refusal::Missing));
        assert_eq!(CallerAuth::Open.check("/v1/entitlements/00", None), Ok(()));
    }
}
