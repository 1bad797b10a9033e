//! A masked view's identity and ETag (docs/tables.md, "Design"): the upstream object's version
//! and the policy outcome applied to it, and nothing else.

use sha2::{Digest, Sha256};

use crate::encoding::hex;

/// Which view of which object: equal for the same upstream version (ETag and size) under the
/// same table spec (`spec_digest`, a hash of the grant's dialect, masks, filters and mask key
/// id), different when either changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ViewId([u8; 32]);

impl ViewId {
    pub fn of(upstream_etag: &str, upstream_size: u64, spec_digest: &[u8; 32]) -> ViewId {
        let mut hasher = Sha256::new();
        hasher.update(b"s3gate-view\0");
        // Lengths first: no two inputs share an encoding.
        hasher.update((upstream_etag.len() as u64).to_be_bytes());
        hasher.update(upstream_etag.as_bytes());
        hasher.update(upstream_size.to_be_bytes());
        hasher.update(spec_digest);
        ViewId(hasher.finalize().into())
    }

    /// The view's ETag, quoted as S3 sends it: 32 hex digits and `-m`, so that no client takes
    /// it for the MD5 of the body (which a multipart-style ETag never is either).
    pub fn etag(&self) -> String {
        let mut etag = String::with_capacity(36);
        etag.push('"');
        let digits = hex::encode(self.0.get(..16).unwrap_or(&self.0));
        etag.push_str(&digits);
        etag.push_str("-m\"");
        etag
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_etag_changes_with_the_object_or_the_policy_and_only_then() {
        let spec = [7u8; 32];
        let view = ViewId::of("\"abc\"", 100, &spec);
        assert_eq!(view, ViewId::of("\"abc\"", 100, &spec));
        assert_ne!(view, ViewId::of("\"abd\"", 100, &spec));
        assert_ne!(view, ViewId::of("\"abc\"", 101, &spec));
        assert_ne!(view, ViewId::of("\"abc\"", 100, &[8u8; 32]));
        let etag = view.etag();
        assert_eq!(etag.len(), 36);
        assert!(etag.starts_with('"') && etag.ends_with("-m\""), "{etag}");
        assert!(etag[1..33].bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
