//! Header lists as the pure modules read them, and `HeaderMap`: one of Envoy's header maps
//! read from the bytes proxy-wasm hands over, in two allocations instead of two per header.
//!
//! proxy-wasm serializes a map as a little-endian `u32` count, then a (name length, value
//! length) pair of `u32`s per header, then every name and value, each followed by a NUL.
//! Envoy lower-cases names. Values may carry any byte but CR, LF and NUL (RFC 9110's obs-text
//! included): a value that is not UTF-8 is read with U+FFFD in place of each bad sequence, so
//! it can never match what a signature or a range expects, and reading it cannot fail.

/// A list of (lower-case name, value) headers.
pub trait Headers {
    /// Every header in order; a repeated name appears once per value.
    fn pairs(&self) -> impl Iterator<Item = (&str, &str)>;

    /// The first value of `name`.
    fn get(&self, name: &str) -> Option<&str> {
        self.pairs().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The value of `name` when it appears exactly once.
    fn only(&self, name: &str) -> Option<&str> {
        let mut values = self.pairs().filter(|(n, _)| *n == name);
        match (values.next(), values.next()) {
            (Some((_, value)), None) => Some(value),
            _ => None,
        }
    }

    /// Whether a header named `name`, in any case, is present.
    fn has(&self, name: &str) -> bool {
        self.pairs().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }
}

impl Headers for [(String, String)] {
    fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

impl Headers for Vec<(String, String)> {
    fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.as_slice().pairs()
    }
}

/// One header map: every name and value in one string, and where each is.
#[derive(Debug, Clone, Default)]
pub struct HeaderMap {
    text: String,
    /// (name start, name end, value start, value end) in `text`.
    fields: Vec<(u32, u32, u32, u32)>,
    /// A one-word filter of the names present (`name_bit` of each): most of the filter's
    /// lookups are for headers a request does not carry (conditions, ranges, tokens), and
    /// those end here instead of comparing every name.
    names: u64,
}

/// The filter bit for a name: from its length and its last byte, case-insensitively.
fn name_bit(name: &[u8]) -> u64 {
    let last = name.last().map_or(0, u8::to_ascii_lowercase);
    1 << ((name.len() * 7 + usize::from(last)) % 64)
}

impl HeaderMap {
    /// Reads proxy-wasm's serialization of a map, taking the buffer over; `None` if the bytes
    /// are not one (a host bug, never client input: the host writes the lengths). When every
    /// name and value is UTF-8, the common case, the buffer becomes the map's text in place:
    /// one validation, no copy.
    pub fn from_serialized(mut bytes: Vec<u8>) -> Option<HeaderMap> {
        if bytes.is_empty() {
            return Some(HeaderMap::default());
        }
        let word = |at: usize| -> Option<usize> {
            let raw = bytes.get(at..at.checked_add(4)?)?;
            Some(u32::from_le_bytes(raw.try_into().ok()?) as usize)
        };
        let count = word(0)?;
        let text_start = count.checked_mul(8)?.checked_add(4)?;
        if text_start > bytes.len() {
            return None;
        }
        // (start, name end, value end) of each field, relative to `text_start`; each name and
        // value is followed by a NUL.
        let mut fields = Vec::with_capacity(count);
        let mut names = 0;
        let mut at = 0usize;
        for i in 0..count {
            let name_end = at.checked_add(word(4 + i * 8)?)?;
            let value_start = name_end + 1;
            let end = value_start.checked_add(word(8 + i * 8)?)?;
            if end > bytes.len() - text_start {
                return None;
            }
            let narrow = |n: usize| u32::try_from(n).ok();
            fields.push((
                narrow(at)?,
                narrow(name_end)?,
                narrow(value_start)?,
                narrow(end)?,
            ));
            names |= name_bit(bytes.get(text_start + at..text_start + name_end)?);
            at = end + 1;
        }
        bytes.drain(..text_start);
        match String::from_utf8(bytes) {
            // NUL is a character of its own, so a valid whole has valid pieces.
            Ok(text) => Some(HeaderMap {
                text,
                fields,
                names,
            }),
            Err(error) => {
                let raw = error.into_bytes();
                let mut map = HeaderMap::default();
                for (start, name_end, value_start, end) in fields {
                    let piece = |from: u32, to: u32| raw.get(from as usize..to as usize);
                    map.push_bytes(piece(start, name_end)?, piece(value_start, end)?)?;
                }
                Some(map)
            }
        }
    }

    /// A map of these pairs, for tests (the gateway reads its headers from the host).
    #[cfg(any(test, feature = "test-support"))]
    pub fn from_pairs(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::default();
        for (name, value) in pairs {
            // A length over 4 GiB leaves the header out rather than misread.
            let _ = map.push_bytes(name.as_bytes(), value.as_bytes());
        }
        map
    }

    fn push_bytes(&mut self, name: &[u8], value: &[u8]) -> Option<()> {
        let start = u32::try_from(self.text.len()).ok()?;
        push_lossy(&mut self.text, name);
        let name_end = u32::try_from(self.text.len()).ok()?;
        push_lossy(&mut self.text, value);
        let end = u32::try_from(self.text.len()).ok()?;
        self.fields.push((start, name_end, name_end, end));
        self.names |= name_bit(name);
        Some(())
    }

    /// The value of `field`, if `name` is its name: compared as bytes, so a lookup builds
    /// no `&str` for the fields it passes.
    fn value_if_named(
        &self,
        &(start, name_end, value_start, end): &(u32, u32, u32, u32),
        name: &str,
    ) -> Option<&str> {
        let bytes = self.text.as_bytes();
        let field_name = bytes.get(start as usize..name_end as usize)?;
        if field_name != name.as_bytes() {
            return None;
        }
        self.text.get(value_start as usize..end as usize)
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// Valid UTF-8 (every header Envoy sends in practice) is copied as it is; anything else with
/// U+FFFD for each bad sequence.
fn push_lossy(text: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(valid) => text.push_str(valid),
        Err(_) => text.push_str(&String::from_utf8_lossy(bytes)),
    }
}

impl Headers for HeaderMap {
    fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        let text = self.text.as_str();
        self.fields
            .iter()
            .map(move |&(start, name_end, value_start, end)| {
                let part = |from: u32, to: u32| text.get(from as usize..to as usize).unwrap_or("");
                (part(start, name_end), part(value_start, end))
            })
    }

    fn get(&self, name: &str) -> Option<&str> {
        if self.names & name_bit(name.as_bytes()) == 0 {
            return None;
        }
        self.fields
            .iter()
            .find_map(|field| self.value_if_named(field, name))
    }

    fn only(&self, name: &str) -> Option<&str> {
        if self.names & name_bit(name.as_bytes()) == 0 {
            return None;
        }
        let mut values = self
            .fields
            .iter()
            .filter_map(|field| self.value_if_named(field, name));
        match (values.next(), values.next()) {
            (Some(value), None) => Some(value),
            _ => None,
        }
    }

    fn has(&self, name: &str) -> bool {
        self.names & name_bit(name.as_bytes()) != 0
            && self.pairs().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// proxy-wasm's serialization of `pairs`, with raw bytes allowed.
    fn serialize(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut out = (pairs.len() as u32).to_le_bytes().to_vec();
        for (name, value) in pairs {
            out.extend((name.len() as u32).to_le_bytes());
            out.extend((value.len() as u32).to_le_bytes());
        }
        for (name, value) in pairs {
            out.extend(*name);
            out.push(0);
            out.extend(*value);
            out.push(0);
        }
        out
    }

    #[test]
    fn reads_the_serialized_form_in_order() {
        let bytes = serialize(&[
            (b":path", b"/s3p/immuta/k"),
            (b"x-amz-date", b"20261126T100000Z"),
            (b"x-note", b"one"),
            (b"x-note", b"two"),
            (b"empty", b""),
        ]);
        let map = HeaderMap::from_serialized(bytes).unwrap();
        assert_eq!(map.len(), 5);
        assert_eq!(map.get(":path"), Some("/s3p/immuta/k"));
        assert_eq!(map.only("x-amz-date"), Some("20261126T100000Z"));
        assert_eq!(map.get("x-note"), Some("one"));
        assert_eq!(map.only("x-note"), None, "repeated");
        assert_eq!(map.get("empty"), Some(""));
        assert_eq!(map.get("missing"), None);
        assert!(map.has("X-Amz-Date") && map.has("x-note") && !map.has("x-amz-security-token"));
        let names: Vec<_> = map.pairs().map(|(n, _)| n).collect();
        assert_eq!(names, [":path", "x-amz-date", "x-note", "x-note", "empty"]);
        let built = HeaderMap::from_pairs(&[
            (":path", "/s3p/immuta/k"),
            ("x-amz-date", "20261126T100000Z"),
            ("x-note", "one"),
            ("x-note", "two"),
            ("empty", ""),
        ]);
        assert!(map.pairs().eq(built.pairs()));
        assert!(HeaderMap::from_serialized(Vec::new()).unwrap().is_empty());
    }

    #[test]
    fn lookups_agree_with_a_plain_scan_for_any_name() {
        // The name filter may only skip scans that would find nothing.
        let mut seed = 7u32;
        let mut next = move || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            seed >> 8
        };
        let alphabet = b"abcxyz-_:09ABZ";
        let mut names: Vec<String> = [
            ":authority",
            ":path",
            "host",
            "range",
            "if-match",
            "x-amz-date",
            "x-amz-security-token",
            "authorization",
            "x-amz-content-sha256",
            "",
        ]
        .map(String::from)
        .to_vec();
        for _ in 0..300 {
            let len = 1 + next() as usize % 24;
            names.push(
                (0..len)
                    .map(|_| char::from(alphabet[next() as usize % alphabet.len()]))
                    .collect(),
            );
        }
        for round in 0..40 {
            let pairs: Vec<(String, String)> = (0..(round % 9))
                .map(|i| {
                    (
                        names[next() as usize % names.len()].to_ascii_lowercase(),
                        format!("v{i}"),
                    )
                })
                .collect();
            let borrowed: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let map = HeaderMap::from_pairs(&borrowed);
            for name in &names {
                assert_eq!(map.get(name), pairs.get(name), "{name}");
                assert_eq!(map.only(name), pairs.only(name), "{name}");
                assert_eq!(map.has(name), pairs.has(name), "{name}");
            }
        }
    }

    #[test]
    fn values_that_are_not_utf8_are_read_with_replacement_characters() {
        let bytes = serialize(&[
            (b"x-note", b"caf\xe9"),
            (b"range", b"bytes=0-4\xff"),
            (b"a", b"b"),
        ]);
        let map = HeaderMap::from_serialized(bytes).unwrap();
        assert_eq!(map.get("x-note"), Some("caf\u{fffd}"));
        assert_eq!(map.get("range"), Some("bytes=0-4\u{fffd}"));
        assert_eq!(map.get("a"), Some("b"), "later headers still line up");
    }

    #[test]
    fn truncated_or_lying_buffers_are_refused() {
        let good = serialize(&[(b"name", b"value"), (b"other", b"x")]);
        for cut in 1..good.len() - 1 {
            assert!(
                HeaderMap::from_serialized(good[..cut].to_vec()).is_none(),
                "cut at {cut}"
            );
        }
        let mut huge = good.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(HeaderMap::from_serialized(huge).is_none());
        let mut long_name = good;
        long_name[4..8].copy_from_slice(&1000u32.to_le_bytes());
        assert!(HeaderMap::from_serialized(long_name).is_none());
    }
}
