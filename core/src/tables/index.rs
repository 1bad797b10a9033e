//! The index of a masked view (docs/tables.md, "Design"): its size and record-boundary
//! checkpoints, and the upstream window a range of the view needs. Pure data and arithmetic; the
//! pass that builds an index and the reads that use it are the flow's.

/// A record boundary in both streams: the upstream object and the view made of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    pub upstream_offset: u64,
    pub view_offset: u64,
    /// `fingerprint` of the upstream bytes just before the boundary: a window starting here
    /// reads them first and goes on only if they are still these (a store may keep an
    /// object's ETag and Last-Modified across a rewrite of equal size).
    pub before: u64,
}

/// How many upstream bytes before a checkpoint its fingerprint covers.
pub const FINGERPRINT_BYTES: usize = 32;

/// FNV-1a of `bytes` (the up to `FINGERPRINT_BYTES` before a checkpoint).
pub fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What one pass over an upstream object learnt of its view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub upstream_size: u64,
    pub view_size: u64,
    /// Record boundaries in increasing order of both offsets, the first at `(0, 0)`.
    checkpoints: Vec<Checkpoint>,
}

/// Why checkpoints do not make an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexError {
    /// The first checkpoint is not `(0, 0)`.
    NoStart,
    /// Offsets that do not grow (upstream strictly, view at least), or pass the sizes.
    OutOfOrder,
    /// The object's bytes before a window are not those its index was built from.
    Stale,
}

/// The part of the upstream object a view range is made from, and what of its transformed
/// bytes the client gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Upstream bytes `[upstream_start, upstream_end)`: both record boundaries.
    pub upstream_start: u64,
    /// The fingerprint of the bytes before `upstream_start` (`Checkpoint::before`).
    pub before: u64,
    pub upstream_end: u64,
    /// View bytes the transformed window starts with that precede the range: dropped.
    pub skip: u64,
    /// View bytes sent after those.
    pub take: u64,
}

impl Index {
    pub fn new(
        upstream_size: u64,
        view_size: u64,
        checkpoints: Vec<Checkpoint>,
    ) -> Result<Index, IndexError> {
        if checkpoints
            .first()
            .is_none_or(|c| c.upstream_offset != 0 || c.view_offset != 0)
        {
            return Err(IndexError::NoStart);
        }
        let ordered = checkpoints.windows(2).all(|pair| match pair {
            [a, b] => a.upstream_offset < b.upstream_offset && a.view_offset <= b.view_offset,
            _ => true,
        });
        let within = checkpoints
            .last()
            .is_some_and(|c| c.upstream_offset <= upstream_size && c.view_offset <= view_size);
        if !ordered || !within {
            return Err(IndexError::OutOfOrder);
        }
        Ok(Index {
            upstream_size,
            view_size,
            checkpoints,
        })
    }

    pub fn checkpoints(&self) -> &[Checkpoint] {
        &self.checkpoints
    }

    /// The window for view bytes `[first, last]` (inclusive, as HTTP ranges are); `None` when
    /// `first` is past the view or after `last` (S3 answers 416). `last` past the end is cut
    /// to the view's last byte.
    pub fn window(&self, first: u64, last: u64) -> Option<Window> {
        if first >= self.view_size || first > last {
            return None;
        }
        let last = last.min(self.view_size - 1);
        // The last checkpoint at or before `first` (there is one: the first is at 0).
        let start = self
            .checkpoints
            .iter()
            .take_while(|c| c.view_offset <= first)
            .last()?;
        // The first checkpoint past `last` whose record starts after it; the object's end if none.
        let end = self
            .checkpoints
            .iter()
            .find(|c| c.view_offset > last)
            .map_or(self.upstream_size, |c| c.upstream_offset);
        Some(Window {
            upstream_start: start.upstream_offset,
            before: start.before,
            upstream_end: end,
            skip: first - start.view_offset,
            take: last - first + 1,
        })
    }
}

/// Keeps a checkpoint about every `spacing` view bytes while a pass runs.
#[derive(Debug, Clone)]
pub struct IndexBuilder {
    spacing: u64,
    checkpoints: Vec<Checkpoint>,
}

impl IndexBuilder {
    pub fn new(spacing: u64) -> Self {
        IndexBuilder {
            spacing: spacing.max(1),
            checkpoints: vec![Checkpoint {
                upstream_offset: 0,
                view_offset: 0,
                before: fingerprint(&[]),
            }],
        }
    }

    /// A record starts at `upstream_offset` in the object and at `view_offset` in the view,
    /// after the upstream bytes `before` (the last up to `FINGERPRINT_BYTES` of them).
    pub fn record_starts(&mut self, upstream_offset: u64, view_offset: u64, before: &[u8]) {
        let due = self
            .checkpoints
            .last()
            .is_none_or(|c| view_offset >= c.view_offset.saturating_add(self.spacing));
        if due
            && self
                .checkpoints
                .last()
                .is_none_or(|c| upstream_offset > c.upstream_offset)
        {
            self.checkpoints.push(Checkpoint {
                upstream_offset,
                view_offset,
                before: fingerprint(before),
            });
        }
    }

    pub fn finish(self, upstream_size: u64, view_size: u64) -> Result<Index, IndexError> {
        Index::new(upstream_size, view_size, self.checkpoints)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp(upstream_offset: u64, view_offset: u64) -> Checkpoint {
        Checkpoint {
            upstream_offset,
            view_offset,
            before: fingerprint(&[]),
        }
    }

    /// Records of 10 upstream bytes each masked to 6 view bytes, a checkpoint every 3 records.
    fn index() -> Index {
        let mut builder = IndexBuilder::new(18);
        for record in 0..10u64 {
            builder.record_starts(record * 10, record * 6, &[]);
        }
        match builder.finish(100, 60) {
            Ok(index) => index,
            Err(error) => panic!("{error:?}"),
        }
    }

    #[test]
    fn a_window_carries_the_fingerprint_of_the_bytes_before_its_start() {
        let mut builder = IndexBuilder::new(1);
        builder.record_starts(0, 0, b"");
        builder.record_starts(4, 4, b"a,b\n");
        builder.record_starts(8, 8, b"a,b\nc,d\n");
        let index = builder.finish(12, 12).unwrap();
        let before = |first| index.window(first, first).map(|w| w.before);
        assert_eq!(before(0), Some(fingerprint(b"")));
        assert_eq!(before(5), Some(fingerprint(b"a,b\n")));
        assert_eq!(before(9), Some(fingerprint(b"a,b\nc,d\n")));
        assert_ne!(fingerprint(b"a,b\n"), fingerprint(b"a,c\n"));
    }

    #[test]
    fn the_builder_keeps_a_checkpoint_per_spacing() {
        assert_eq!(
            index().checkpoints(),
            &[cp(0, 0), cp(30, 18), cp(60, 36), cp(90, 54)]
        );
    }

    #[test]
    fn a_range_reads_from_the_checkpoint_before_it_to_the_one_after() {
        let index = index();
        assert_eq!(
            index.window(20, 25),
            Some(Window {
                upstream_start: 30,
                before: fingerprint(&[]),
                upstream_end: 60,
                skip: 2,
                take: 6
            })
        );
        assert_eq!(
            index.window(0, 59),
            Some(Window {
                upstream_start: 0,
                before: fingerprint(&[]),
                upstream_end: 100,
                skip: 0,
                take: 60
            })
        );
        // From inside the last stretch, and past the end: cut to the view.
        assert_eq!(
            index.window(55, 1_000),
            Some(Window {
                upstream_start: 90,
                before: fingerprint(&[]),
                upstream_end: 100,
                skip: 1,
                take: 5
            })
        );
    }

    #[test]
    fn a_range_starting_on_a_checkpoint_skips_nothing() {
        assert_eq!(
            index().window(36, 36),
            Some(Window {
                upstream_start: 60,
                before: fingerprint(&[]),
                upstream_end: 90,
                skip: 0,
                take: 1
            })
        );
    }

    #[test]
    fn ranges_past_the_view_are_unsatisfiable() {
        let index = index();
        assert_eq!(index.window(60, 70), None);
        assert_eq!(index.window(10, 9), None);
        let empty = Index::new(0, 0, vec![cp(0, 0)]);
        assert_eq!(empty.map(|i| i.window(0, 0)), Ok(None));
    }

    #[test]
    fn checkpoints_must_start_at_zero_and_grow() {
        assert_eq!(Index::new(10, 10, vec![]), Err(IndexError::NoStart));
        assert_eq!(Index::new(10, 10, vec![cp(1, 0)]), Err(IndexError::NoStart));
        assert_eq!(
            Index::new(10, 10, vec![cp(0, 0), cp(5, 4), cp(5, 6)]),
            Err(IndexError::OutOfOrder)
        );
        assert_eq!(
            Index::new(10, 10, vec![cp(0, 0), cp(6, 4), cp(8, 3)]),
            Err(IndexError::OutOfOrder)
        );
        assert_eq!(
            Index::new(10, 10, vec![cp(0, 0), cp(11, 4)]),
            Err(IndexError::OutOfOrder)
        );
        // Filtered-out records leave the view offset where it was.
        assert!(Index::new(10, 4, vec![cp(0, 0), cp(5, 0), cp(8, 4)]).is_ok());
    }

    #[test]
    fn every_range_is_covered_by_its_window() {
        let index = index();
        for first in 0..60 {
            for last in first..60 {
                let Some(w) = index.window(first, last) else {
                    panic!("{first}-{last}");
                };
                // The window's start maps to a view offset at or before `first`...
                let start = index
                    .checkpoints()
                    .iter()
                    .find(|c| c.upstream_offset == w.upstream_start)
                    .map(|c| c.view_offset);
                assert_eq!(start.map(|s| s + w.skip), Some(first));
                // ...and its end to one past `last` (or the view's end).
                let end = index
                    .checkpoints()
                    .iter()
                    .find(|c| c.upstream_offset == w.upstream_end)
                    .map_or(60, |c| c.view_offset);
                assert!(end > last, "{first}-{last}: {w:?}");
                assert_eq!(w.take, last - first + 1);
            }
        }
    }
}
