//! Tables indexed by a byte's value, for the per-byte tests of hot scanners.

/// One `T` for each of the 256 byte values: a lookup by a `u8` is always in the table.
#[derive(Debug, Clone, Copy)]
pub struct ByteTable<T>(pub(crate) [T; 256]);

impl<T: Copy + Default> ByteTable<T> {
    /// The entry for `b`.
    #[inline]
    pub fn lookup(&self, b: u8) -> T {
        // A `u8` is below 256, the table's length: the default is never taken (and the
        // optimiser drops it), but no index in this crate can trap the VM.
        self.0.get(usize::from(b)).copied().unwrap_or_default()
    }
}

/// A [`ByteTable`] built at compile time, `$value` giving the entry for byte `$b`:
/// `byte_table!(|b| b.is_ascii_digit())`.
macro_rules! byte_table {
    (|$b:ident| $value:expr) => {{
        let mut table = {
            let $b: u8 = 0;
            [$value; 256]
        };
        let mut rest: &mut [_] = &mut table;
        let mut byte: u8 = 0;
        while let [entry, tail @ ..] = rest {
            *entry = {
                let $b = byte;
                $value
            };
            rest = tail;
            byte = byte.wrapping_add(1);
        }
        $crate::encoding::byte_table::ByteTable(table)
    }};
}
pub(crate) use byte_table;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_byte_gets_its_own_entry() {
        const SQUARES: ByteTable<u16> = byte_table!(|b| (b as u16) * (b as u16));
        const DIGITS: ByteTable<bool> = byte_table!(|b| b.is_ascii_digit());
        for b in 0..=255u8 {
            assert_eq!(SQUARES.lookup(b), u16::from(b) * u16::from(b));
            assert_eq!(DIGITS.lookup(b), b.is_ascii_digit());
        }
    }
}
