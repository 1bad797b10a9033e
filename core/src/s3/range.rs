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

/// What a `Range` header asks of an entity of `size` bytes, as S3 answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    /// No range, or one S3 ignores: the whole entity, 200.
    Whole,
    /// Bytes `first..=last`, 206.
    Part { first: u64, last: u64 },
    /// 416 `InvalidRange`.
    Unsatisfiable,
}

/// The range `value` (the client's `Range` header) selects of `size` bytes: an end past the
/// entity is clamped, a suffix at least as long as it is all of it, a start at or past it (or
/// any range of an empty entity) is unsatisfiable.
pub fn resolve(value: Option<&str>, size: u64) -> Resolved {
    let Some(spec) = value
        .and_then(forwardable_range)
        .and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return Resolved::Whole;
    };
    let Some((first, last)) = spec.split_once('-') else {
        return Resolved::Whole;
    };
    if size == 0 {
        return Resolved::Unsatisfiable;
    }
    let end = size - 1;
    if first.is_empty() {
        let n: u64 = last.parse().unwrap_or(0);
        return Resolved::Part {
            first: size.saturating_sub(n),
            last: end,
        };
    }
    let first: u64 = first.parse().unwrap_or(u64::MAX);
    if first > end {
        return Resolved::Unsatisfiable;
    }
    let last = if last.is_empty() {
        end
    } else {
        last.parse::<u64>().unwrap_or(u64::MAX).min(end)
    };
    Resolved::Part { first, last }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resolve_against_the_size_as_s3_does() {
        let part = |first, last| Resolved::Part { first, last };
        for (value, size, expected) in [
            (None, 10, Resolved::Whole),
            (Some("bytes=0-1,3-4"), 10, Resolved::Whole),
            (Some("bytes=5-2"), 10, Resolved::Whole),
            (Some("bytes=0-3"), 10, part(0, 3)),
            (Some("bytes=4-99"), 10, part(4, 9)),
            (Some("bytes=9-"), 10, part(9, 9)),
            (Some("bytes=10-"), 10, Resolved::Unsatisfiable),
            (Some("bytes=10-20"), 10, Resolved::Unsatisfiable),
            (Some("bytes=-3"), 10, part(7, 9)),
            (Some("bytes=-30"), 10, part(0, 9)),
            (Some("bytes=0-"), 0, Resolved::Unsatisfiable),
            (Some("bytes=-5"), 0, Resolved::Unsatisfiable),
        ] {
            assert_eq!(resolve(value, size), expected, "{value:?} of {size}");
        }
    }

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
