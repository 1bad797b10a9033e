//! The metadata of Arrow's canonical `arrow.fixed_shape_tensor` extension type, which an
//! `ARROW:schema` kept in a masked view may carry: JSON with the tensor's `shape`, and its
//! `permutation` and `dim_names` when set. Names are free text a writer picks, so a tensor with
//! `dim_names` is not kept; numbers are too, so the shape must multiply to the storage's list
//! size (already in the schema: a factoring of it is all a writer chooses), a permutation be
//! one, a tensor have few dimensions, and the text be byte for byte what Arrow C++ (pyarrow)
//! writes for them (no spaces, no other spelling of a number, one order).

use serde::Deserialize;

use super::json::AtMost;

/// More dimensions than any tensor a reader builds needs: each one more is a writer's choice.
const MAX_DIMS: usize = 8;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Metadata {
    shape: AtMost<u64, MAX_DIMS>,
    #[serde(default)]
    permutation: Option<AtMost<u64, MAX_DIMS>>,
}

/// Whether `value` is a fixed-shape tensor's metadata, without dimension names, for storage
/// whose fixed list size is `list_size` (`None`: the storage is no fixed-size list).
pub fn metadata_ok(value: &[u8], list_size: Option<i32>) -> bool {
    let (Ok(meta), Some(list_size)) = (serde_json::from_slice::<Metadata>(value), list_size) else {
        return false;
    };
    let dims = meta.shape.len();
    let product = meta.shape.iter().try_fold(
        1u64,
        |acc, &d| if d == 0 { None } else { acc.checked_mul(d) },
    );
    if dims > MAX_DIMS || product != u64::try_from(list_size).ok() {
        return false;
    }
    if let Some(permutation) = &meta.permutation {
        let mut sorted = permutation.to_vec();
        sorted.sort_unstable();
        if !sorted.iter().copied().eq(0..dims as u64) {
            return false;
        }
    }
    canonical(&meta).as_bytes() == value
}

/// What Arrow C++'s `FixedShapeTensorType::Serialize` writes.
fn canonical(meta: &Metadata) -> String {
    let list = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
    let mut out = format!(r#"{{"shape":[{}]"#, list(&meta.shape));
    if let Some(permutation) = &meta.permutation {
        out.push_str(&format!(r#","permutation":[{}]"#, list(permutation)));
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(value: &str, list_size: i32) -> bool {
        metadata_ok(value.as_bytes(), Some(list_size))
    }

    #[test]
    fn what_pyarrow_writes_is_kept() {
        assert!(ok(r#"{"shape":[2,3]}"#, 6));
        assert!(ok(r#"{"shape":[2,3],"permutation":[1,0]}"#, 6));
        assert!(ok(r#"{"shape":[5]}"#, 5));
        assert!(ok(r#"{"shape":[]}"#, 1));
    }

    #[test]
    fn names_other_spellings_and_free_numbers_are_refused() {
        let hostile = [
            // dim_names (free text), an unknown key, a key twice.
            (
                r#"{"shape":[2,3],"dim_names":["alice@example.com","y"]}"#,
                6,
            ),
            (
                r#"{"shape":[2,3],"permutation":[1,0],"dim_names":["x","y"]}"#,
                6,
            ),
            (r#"{"shape":[2,3],"note":"alice@example.com"}"#, 6),
            (r#"{"shape":[2,3],"shape":[3,2]}"#, 6),
            // Spaces, another order, another spelling of a number.
            (r#"{"shape": [2,3]}"#, 6),
            (r#"{"permutation":[1,0],"shape":[2,3]}"#, 6),
            (r#"{"shape":[2.0,3]}"#, 6),
            (r#"{"shape":[2e0,3]}"#, 6),
            // An email's bytes as dimensions: their product is not the list size.
            (r#"{"shape":[97,108,105,99,101,64,101,120]}"#, 6),
            (r#"{"shape":[97,108,105,99,101,64,101,120]}"#, i32::MAX),
            // A zero dimension frees the others; a dimension past u64; too many; negative.
            (r#"{"shape":[0,12345]}"#, 0),
            (r#"{"shape":[18446744073709551617]}"#, 1),
            (r#"{"shape":[1,1,1,1,1,1,1,1,1]}"#, 1),
            (r#"{"shape":[-2,-3]}"#, 6),
            // A permutation that is none, or of another length.
            (r#"{"shape":[2,3],"permutation":[1,1]}"#, 6),
            (r#"{"shape":[2,3],"permutation":[0,1,2]}"#, 6),
            (r#"{"shape":[2,3],"permutation":[7,0]}"#, 6),
            // Not JSON, or a trailing value.
            (r#"{"shape":[2,3]} alice@example.com"#, 6),
            ("", 6),
        ];
        for (value, list_size) in hostile {
            assert!(!ok(value, list_size), "{value}");
        }
        // Storage that is no fixed-size list.
        assert!(!metadata_ok(br#"{"shape":[2,3]}"#, None));
    }
}
