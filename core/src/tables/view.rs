//! A masked view's identity, ETag and index entry (docs/tables.md, "Design"): the upstream
//! object's version and the policy outcome applied to it, and nothing else.

use sha2::{Digest, Sha256};

use super::index::{Checkpoint, Index};
use super::mask::MaskKeys;
use super::spec::TableSpec;
use crate::encoding::hex;

/// Which view of which object: equal for the same upstream version under the same table spec
/// (`spec_digest`), different when either changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ViewId([u8; 32]);

/// One version of one upstream object, as its HEAD or a listing describes it: both name the
/// same version alike, so a size listed is the size a HEAD finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectVersion {
    /// Upstream name, bucket and key (`location`): an index is never used for another object,
    /// even one whose ETag (an MD5, which can be made to collide) and size are equal.
    pub location: String,
    /// As the upstream sends it; compared without its quotes (some stores list tags bare).
    pub etag: String,
    pub size: u64,
    /// Unix seconds: an overwrite changes it even when a crafted body keeps the ETag. A HEAD
    /// sends an HTTP date, a listing an ISO 8601 timestamp of the same second.
    pub modified: Option<u64>,
}

impl ObjectVersion {
    /// The location of the object at `path` (bucket and key, encoded as sent upstream) of
    /// `upstream`; the query names no other object and is left out.
    pub fn location(upstream: &str, path: &str) -> String {
        let object = path.split_once('?').map_or(path, |(object, _)| object);
        format!("{upstream}{object}")
    }
}

/// The version of what the transform makes of its input: bump it with any change to the view
/// bytes of any object (parsing, masking, writing), so that indexes other builds left in shared
/// data (a plugin reload keeps it) are never used for views this build makes otherwise.
pub const TRANSFORM_VERSION: u32 = 5;

/// The digest of what a view applies: the spec (dialect, masks, filters), the mask key's id and
/// the transform's version.
pub fn spec_digest(spec: &TableSpec, keys: &MaskKeys) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"s3gate-table-spec\0");
    hasher.update(TRANSFORM_VERSION.to_be_bytes());
    // serde_json writes the fields in their declared order: equal specs, equal bytes.
    hasher.update(serde_json::to_vec(spec).unwrap_or_default());
    hasher.update(keys.id());
    hasher.finalize().into()
}

impl ViewId {
    pub fn of(object: &ObjectVersion, spec_digest: &[u8; 32]) -> ViewId {
        let mut hasher = Sha256::new();
        hasher.update(b"s3gate-view\0");
        // Lengths first: no two inputs share an encoding.
        let etag = object.etag.trim_matches('"');
        for text in [object.location.as_str(), etag] {
            hasher.update((text.len() as u64).to_be_bytes());
            hasher.update(text.as_bytes());
        }
        hasher.update(object.size.to_be_bytes());
        match object.modified {
            Some(seconds) => {
                hasher.update([1]);
                hasher.update(seconds.to_be_bytes());
            }
            None => hasher.update([0]),
        }
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

/// What a pass learnt of one view, as the VM and shared data keep it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewEntry {
    pub view: ViewId,
    pub index: Index,
    /// The CSV header row a window not at 0 is primed with (`Summary::header`).
    pub header: Vec<u8>,
}

const ENTRY_MAGIC: &[u8; 6] = b"s3gv2\0";

impl ViewEntry {
    /// The entry as bytes: magic, view id, sizes, header, checkpoints with their fingerprints
    /// (big-endian).
    pub fn encode(&self) -> Vec<u8> {
        let checkpoints = self.index.checkpoints();
        let mut out = Vec::with_capacity(64 + self.header.len() + 24 * checkpoints.len());
        out.extend_from_slice(ENTRY_MAGIC);
        out.extend_from_slice(&self.view.0);
        out.extend_from_slice(&self.index.upstream_size.to_be_bytes());
        out.extend_from_slice(&self.index.view_size.to_be_bytes());
        out.extend_from_slice(&(self.header.len() as u64).to_be_bytes());
        out.extend_from_slice(&self.header);
        out.extend_from_slice(&(checkpoints.len() as u64).to_be_bytes());
        for c in checkpoints {
            out.extend_from_slice(&c.upstream_offset.to_be_bytes());
            out.extend_from_slice(&c.view_offset.to_be_bytes());
            out.extend_from_slice(&c.before.to_be_bytes());
        }
        out
    }

    /// The entry of `view` in `bytes`; `None` if they hold another view's, or are not an entry.
    pub fn decode(view: &ViewId, bytes: &[u8]) -> Option<ViewEntry> {
        let mut input = Input(bytes);
        if input.take(ENTRY_MAGIC.len())? != ENTRY_MAGIC || input.take(32)? != view.0 {
            return None;
        }
        let upstream_size = input.u64()?;
        let view_size = input.u64()?;
        let header_len = usize::try_from(input.u64()?).ok()?;
        let header = input.take(header_len)?.to_vec();
        let count = usize::try_from(input.u64()?).ok()?;
        if count > input.0.len() / 24 {
            return None;
        }
        let mut checkpoints = Vec::with_capacity(count);
        for _ in 0..count {
            checkpoints.push(Checkpoint {
                upstream_offset: input.u64()?,
                view_offset: input.u64()?,
                before: input.u64()?,
            });
        }
        if !input.0.is_empty() {
            return None;
        }
        let index = Index::new(upstream_size, view_size, checkpoints).ok()?;
        Some(ViewEntry {
            view: *view,
            index,
            header,
        })
    }
}

struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version() -> ObjectVersion {
        ObjectVersion {
            location: "demo/bucket/key.csv".into(),
            etag: "\"abc\"".into(),
            size: 100,
            modified: Some(1_793_700_000),
        }
    }

    #[test]
    fn the_etag_changes_with_the_object_or_the_policy_and_only_then() {
        let spec = [7u8; 32];
        let view = ViewId::of(&version(), &spec);
        assert_eq!(view, ViewId::of(&version(), &spec));
        let changed = [
            ObjectVersion {
                etag: "\"abd\"".into(),
                ..version()
            },
            ObjectVersion {
                size: 101,
                ..version()
            },
            ObjectVersion {
                location: "demo/bucket/other.csv".into(),
                ..version()
            },
            ObjectVersion {
                modified: Some(1_793_700_001),
                ..version()
            },
            ObjectVersion {
                modified: None,
                ..version()
            },
        ];
        for other in &changed {
            assert_ne!(view, ViewId::of(other, &spec), "{other:?}");
        }
        assert_ne!(view, ViewId::of(&version(), &[8u8; 32]));
        let bare = ObjectVersion {
            etag: "abc".into(),
            ..version()
        };
        assert_eq!(
            view,
            ViewId::of(&bare, &spec),
            "a listed bare tag names the same view"
        );
        assert_eq!(
            ObjectVersion::location("demo", "/bucket/a%20b.csv?versionId=1"),
            ObjectVersion::location("demo", "/bucket/a%20b.csv")
        );
        let etag = view.etag();
        assert_eq!(etag.len(), 36);
        assert!(etag.starts_with('"') && etag.ends_with("-m\""), "{etag}");
        assert!(etag[1..33].bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn an_entry_round_trips_and_names_its_view() {
        let view = ViewId::of(&version(), &[1u8; 32]);
        let checkpoints = vec![
            Checkpoint {
                upstream_offset: 0,
                view_offset: 0,
                before: 1,
            },
            Checkpoint {
                upstream_offset: 40,
                view_offset: 30,
                before: 2,
            },
        ];
        let entry = ViewEntry {
            view,
            index: Index::new(100, 70, checkpoints).unwrap(),
            header: b"id,email\n".to_vec(),
        };
        let bytes = entry.encode();
        assert_eq!(ViewEntry::decode(&view, &bytes), Some(entry));
        let other = ViewId::of(&version(), &[2u8; 32]);
        assert_eq!(ViewEntry::decode(&other, &bytes), None);
        for cut in 0..bytes.len() {
            assert_eq!(ViewEntry::decode(&view, &bytes[..cut]), None, "{cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(ViewEntry::decode(&view, &longer), None);
    }

    #[test]
    fn the_spec_digest_changes_with_the_spec_and_the_key() {
        let spec: TableSpec = serde_json::from_str(
            r#"{"format":{"kind":"csv"},"masks":[{"column":"email","mask":{"kind":"hash"}}]}"#,
        )
        .unwrap();
        let keys = MaskKeys::new(&[7u8; 32]).unwrap();
        let digest = spec_digest(&spec, &keys);
        assert_eq!(digest, spec_digest(&spec.clone(), &keys));
        let mut other = spec.clone();
        other.masks.clear();
        assert_ne!(digest, spec_digest(&other, &keys));
        assert_ne!(
            digest,
            spec_digest(&spec, &MaskKeys::new(&[8u8; 32]).unwrap())
        );
    }
}
