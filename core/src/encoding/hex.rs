//! Hexadecimal: lower-case for digests, keys and signatures, either case read back.

use super::byte_table::{byte_table, ByteTable};

/// The two lower-case hex digits of each byte (a table: signatures are hexed per request).
pub(crate) const LOWER: ByteTable<[u8; 2]> =
    byte_table!(|b| [digit(b >> 4, b'a'), digit(b & 15, b'a')]);

/// The two upper-case hex digits of each byte, as percent-encoding writes them.
pub(crate) const UPPER: ByteTable<[u8; 2]> =
    byte_table!(|b| [digit(b >> 4, b'A'), digit(b & 15, b'A')]);

/// The hex digit of the low four bits of `nibble`, letters in the case of `a`.
const fn digit(nibble: u8, a: u8) -> u8 {
    let n = nibble & 15;
    if n < 10 {
        b'0' + n
    } else {
        a + (n - 10)
    }
}

/// Lower-case hex of a SHA-256 digest or an HMAC, on the stack.
pub fn hex32(bytes: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (pair, &b) in out.as_chunks_mut::<2>().0.iter_mut().zip(bytes) {
        *pair = LOWER.lookup(b);
    }
    out
}

/// `hex32`, appended to a string.
pub fn push_hex32(out: &mut String, bytes: &[u8; 32]) {
    out.extend(hex32(bytes).iter().map(|&b| char::from(b)));
}

/// Lower-case hex of any bytes, as every key and digest in the entitlements document is written.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        let [hi, lo] = LOWER.lookup(b);
        out.push(char::from(hi));
        out.push(char::from(lo));
    }
    out
}

/// The 32 bytes of 64 hex digits (either case); `None` for anything else.
pub fn decode_hex32(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, &[hi, lo]) in out.iter_mut().zip(bytes.as_chunks::<2>().0) {
        let hi = char::from(hi).to_digit(16)?;
        let lo = char::from(lo).to_digit(16)?;
        *byte = (hi * 16 + lo) as u8;
    }
    Some(out)
}

/// Bytes of a hex string (either case); `None` if it is not one.
pub fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_hex() {
        assert_eq!(decode_hex("00ff1A"), Some(vec![0, 255, 26]));
        assert_eq!(decode_hex("abc"), None);
        assert_eq!(decode_hex("zz"), None);
        assert_eq!(decode_hex("é1"), None);
    }

    #[test]
    fn digit_tables_hold_each_bytes_hex() {
        for b in 0..=255u8 {
            assert_eq!(LOWER.lookup(b).as_slice(), format!("{b:02x}").as_bytes());
            assert_eq!(UPPER.lookup(b).as_slice(), format!("{b:02X}").as_bytes());
        }
    }

    #[test]
    fn encodes_lower_case_and_round_trips() {
        assert_eq!(encode(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
        assert_eq!(encode(&[]), "");
        let bytes: [u8; 32] = std::array::from_fn(|i| (i * 37) as u8);
        let text = encode(&bytes);
        assert_eq!(hex32(&bytes).as_slice(), text.as_bytes());
        assert_eq!(decode_hex32(&text), Some(bytes));
        assert_eq!(decode_hex32(&text.to_uppercase()), Some(bytes));
        assert_eq!(decode_hex32(&text[..62]), None);
        assert_eq!(decode_hex32(&"zz".repeat(32)), None);
    }
}
