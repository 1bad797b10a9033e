//! A masked view as an overlay on the upstream object: the view has the upstream's size, and
//! any byte range of it is the upstream range with the overlay's spans written over it.

/// What a span puts in the view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fill {
    Zeros(u64),
    Bytes(Vec<u8>),
}

impl Fill {
    pub fn len(&self) -> u64 {
        match self {
            Fill::Zeros(len) => *len,
            Fill::Bytes(bytes) => bytes.len() as u64,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One span of the overlay, at `start` in the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub start: u64,
    pub fill: Fill,
}

impl Span {
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.fill.len())
    }
}

/// Sorted, non-overlapping, non-empty spans over an object of `size` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlay {
    size: u64,
    spans: Vec<Span>,
}

/// Spans that overlap each other or pass the object's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overlap {
    pub at: u64,
}

const MAGIC: &[u8; 6] = b"s3gp1\0";

impl Overlay {
    /// The overlay of `spans` (in any order; empty ones dropped) on an object of `size` bytes.
    pub fn new(size: u64, mut spans: Vec<Span>) -> Result<Overlay, Overlap> {
        spans.retain(|s| !s.fill.is_empty());
        spans.sort_by_key(|s| s.start);
        let mut end = 0;
        for span in &spans {
            if span.start < end {
                return Err(Overlap { at: span.start });
            }
            end = span
                .start
                .checked_add(span.fill.len())
                .ok_or(Overlap { at: span.start })?;
        }
        if end > size {
            return Err(Overlap { at: end });
        }
        Ok(Overlay { size, spans })
    }

    /// The view's size: the upstream object's.
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn spans(&self) -> &[Span] {
        &self.spans
    }

    /// Whether the view is the upstream object itself.
    pub fn is_identity(&self) -> bool {
        self.spans.is_empty()
    }

    /// Whether every byte of `start..start + len` comes from the overlay, so that range needs
    /// no upstream read (a reader's footer reads, once the overlay is cached).
    pub fn covers(&self, start: u64, len: u64) -> bool {
        let end = start.saturating_add(len);
        let mut at = start;
        let first = self.spans.partition_point(|s| s.end() <= start);
        for span in self.spans.get(first..).unwrap_or_default() {
            if at >= end {
                break;
            }
            if span.start > at {
                return false;
            }
            at = span.end();
        }
        at >= end
    }

    /// Overwrites `buf`, the upstream bytes at `start..start + buf.len()`, with the view's
    /// bytes there.
    pub fn apply(&self, start: u64, buf: &mut [u8]) {
        let end = start.saturating_add(buf.len() as u64);
        // The first span ending after `start`.
        let first = self.spans.partition_point(|s| s.end() <= start);
        for span in self.spans.get(first..).unwrap_or_default() {
            if span.start >= end {
                break;
            }
            let from = span.start.max(start);
            let to = span.end().min(end);
            let (Ok(into), Ok(len)) = (
                usize::try_from(from - start),
                usize::try_from(to.saturating_sub(from)),
            ) else {
                continue;
            };
            let Some(target) = buf.get_mut(into..into.saturating_add(len)) else {
                continue;
            };
            match &span.fill {
                Fill::Zeros(_) => target.fill(0),
                Fill::Bytes(bytes) => {
                    let skip = usize::try_from(from - span.start).unwrap_or(usize::MAX);
                    if let Some(source) = bytes.get(skip..skip.saturating_add(len)) {
                        target.copy_from_slice(source);
                    }
                }
            }
        }
    }

    /// The view's bytes at `start..start + upstream.len()`, from the upstream's bytes there.
    pub fn fill(&self, start: u64, upstream: &[u8]) -> Vec<u8> {
        let mut out = upstream.to_vec();
        self.apply(start, &mut out);
        out
    }

    /// The overlay as bytes for a cache: magic, size, then each span (start, kind 0 zeros /
    /// 1 bytes, length, bytes), big-endian.
    /// The length of [`Overlay::encode`]'s bytes, without making them.
    pub fn encoded_len(&self) -> usize {
        let bytes: usize = self
            .spans
            .iter()
            .map(|s| match &s.fill {
                Fill::Bytes(b) => b.len(),
                Fill::Zeros(_) => 0,
            })
            .sum();
        MAGIC.len() + 16 + 17 * self.spans.len() + bytes
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(&(self.spans.len() as u64).to_be_bytes());
        for span in &self.spans {
            out.extend_from_slice(&span.start.to_be_bytes());
            match &span.fill {
                Fill::Zeros(len) => {
                    out.push(0);
                    out.extend_from_slice(&len.to_be_bytes());
                }
                Fill::Bytes(bytes) => {
                    out.push(1);
                    out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
                    out.extend_from_slice(bytes);
                }
            }
        }
        out
    }

    /// An overlay `encode` wrote; `None` for anything else.
    pub fn decode(bytes: &[u8]) -> Option<Overlay> {
        let rest = bytes.strip_prefix(MAGIC.as_slice())?;
        let (size, rest) = be_u64(rest)?;
        let (count, mut rest) = be_u64(rest)?;
        let count = usize::try_from(count).ok()?;
        if count > rest.len() / 17 {
            return None;
        }
        let mut spans = Vec::with_capacity(count);
        for _ in 0..count {
            let (start, after) = be_u64(rest)?;
            let (&kind, after) = after.split_first()?;
            let (len, after) = be_u64(after)?;
            let (fill, after) = match kind {
                0 => (Fill::Zeros(len), after),
                1 => {
                    let len = usize::try_from(len).ok()?;
                    if len > after.len() {
                        return None;
                    }
                    let (bytes, after) = after.split_at(len);
                    (Fill::Bytes(bytes.to_vec()), after)
                }
                _ => return None,
            };
            spans.push(Span { start, fill });
            rest = after;
        }
        if !rest.is_empty() {
            return None;
        }
        let overlay = Overlay::new(size, spans).ok()?;
        Some(overlay)
    }
}

fn be_u64(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let (head, rest) = bytes.split_first_chunk::<8>()?;
    Some((u64::from_be_bytes(*head), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_covers_partial_spans() {
        let overlay = Overlay::new(
            20,
            vec![
                Span {
                    start: 10,
                    fill: Fill::Bytes(b"abcd".to_vec()),
                },
                Span {
                    start: 2,
                    fill: Fill::Zeros(3),
                },
                Span {
                    start: 14,
                    fill: Fill::Zeros(0),
                },
            ],
        )
        .unwrap();
        let upstream: Vec<u8> = (b'A'..b'A' + 20).collect();
        let whole = overlay.fill(0, &upstream);
        assert_eq!(&whole, b"AB\0\0\0FGHIJabcdOPQRST");
        assert_eq!(overlay.fill(11, &upstream[11..13]), b"bc");
        assert_eq!(overlay.fill(3, &upstream[3..12]), b"\0\0FGHIJab");
        assert_eq!(Overlay::decode(&overlay.encode()), Some(overlay.clone()));
        assert_eq!(overlay.encode().len(), overlay.encoded_len());
        assert!(overlay.covers(10, 4) && overlay.covers(2, 3) && overlay.covers(11, 2));
        assert!(overlay.covers(7, 0));
        assert!(!overlay.covers(1, 3) && !overlay.covers(9, 2) && !overlay.covers(12, 3));
        let adjacent = Overlay::new(
            10,
            vec![
                Span {
                    start: 2,
                    fill: Fill::Zeros(3),
                },
                Span {
                    start: 5,
                    fill: Fill::Bytes(b"ab".to_vec()),
                },
            ],
        )
        .unwrap();
        assert!(adjacent.covers(2, 5) && !adjacent.covers(2, 6));
        assert_eq!(Overlay::decode(&overlay.encode()[..20]), None);
        assert!(Overlay::new(
            5,
            vec![Span {
                start: 2,
                fill: Fill::Zeros(4)
            }]
        )
        .is_err());
        assert!(Overlay::new(
            10,
            vec![
                Span {
                    start: 2,
                    fill: Fill::Zeros(4)
                },
                Span {
                    start: 5,
                    fill: Fill::Zeros(1)
                }
            ]
        )
        .is_err());
    }
}
