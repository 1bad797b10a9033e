//! The client's `Range` header as S3 reads it: which ranges are served, and which are ignored
//! (the whole object answered instead).

/// The `Range` header to send upstream, as S3 reads it: one byte range (`bytes=a-b`, `bytes=a-`
/// or `bytes=-n`) is served; anything else (several ranges, bad syntax, `a > b`) S3 ignores and
/// answers the whole object, so it is not forwarded (`None`).
pub fn forwardable_range(value: &str) -> Option<&str> {
    let spec = value.trim().strip_prefix("bytes=")?;
    let (first, last) = spec.split_once('-')?;
    let number = |t: &str| {
        (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse::<u64>().ok())
            .flatten()
    };
    let valid = match (first.is_empty(), last.is_empty()) {
        (false, false) => matches!((number(first), number(last)), (Some(a), Some(b)) if a <= b),
        (false, true) => number(first).is_some(),
        (true, false) => number(last).is_some_and(|n| n > 0),
        (true, true) => false,
    };
    valid.then_some(value)
}

/// The length of a suffix range (`bytes=-n`), if that is what `value` is.
pub fn suffix_length(value: &str) -> Option<u64> {
    let n = forwardable_range(value)?.trim().strip_prefix("bytes=-")?;
    n.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_single_well_formed_ranges_go_upstream() {
        for ok in ["bytes=0-9", "bytes=100-", "bytes=-5", "bytes=7-7"] {
            assert_eq!(forwardable_range(ok), Some(ok));
        }
        for ignored in [
            "bytes=0-1,5-6",
            "bytes=abc",
            "bytes=5-2",
            "bytes=-",
            "bytes=-0",
            "items=0-1",
            "bytes=1-2-3",
            "bytes=99999999999999999999999-",
        ] {
            assert_eq!(forwardable_range(ignored), None, "{ignored}");
        }
    }

    #[test]
    fn suffix_ranges_are_recognised() {
        assert_eq!(suffix_length("bytes=-500"), Some(500));
        assert_eq!(suffix_length("bytes=0-500"), None);
        assert_eq!(suffix_length("bytes=-1,-2"), None);
    }
}
