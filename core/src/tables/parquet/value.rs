//! A `constant` mask's value for one Parquet column: the policy's text parsed against the
//! column's physical and logical type, and its PLAIN encoding.

use super::footer::{Column, Physical};

/// A value of a Parquet physical type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Boolean(bool),
    Int32(i32),
    Int64(i64),
    /// Nanoseconds of the day (8 bytes LE) then the Julian day (4 bytes LE).
    Int96([u8; 12]),
    Float(f32),
    Double(f64),
    ByteArray(Vec<u8>),
    FixedLenByteArray(Vec<u8>),
}

/// The Julian day of 1970-01-01.
const UNIX_JULIAN_DAY: i64 = 2_440_588;
const NANOS_PER_DAY: i64 = 86_400_000_000_000;

impl Value {
    /// `text` as a value of `column`:
    /// - BOOLEAN: `true`, `false`, `1`, `0`;
    /// - INT32, INT64: an integer literal (the stored value: a timestamp in the column's unit,
    ///   a time), a decimal literal for a DECIMAL column (`12.5` in a scale-2 column stores
    ///   1250; more fraction digits than the scale or more digits than the precision are an
    ///   error), or `YYYY-MM-DD` for a DATE column;
    /// - INT96: an integer, nanoseconds since the Unix epoch (the legacy timestamp encoding);
    /// - FLOAT, DOUBLE: a decimal or exponent literal;
    /// - BYTE_ARRAY: the text's UTF-8 bytes, or a DECIMAL's two's-complement big-endian bytes;
    /// - FIXED_LEN_BYTE_ARRAY: the text's UTF-8 bytes, exactly `type_length` of them, or a
    ///   DECIMAL sign-extended to `type_length` bytes.
    pub fn parse(text: &str, column: &Column) -> Result<Value, &'static str> {
        let decimal = column.decimal;
        match column.physical {
            Physical::Boolean => match text {
                "true" | "1" => Ok(Value::Boolean(true)),
                "false" | "0" => Ok(Value::Boolean(false)),
                _ => Err("not a boolean (true or false)"),
            },
            Physical::Int32 => {
                let value = if let Some((scale, precision)) = decimal {
                    parse_decimal(text, scale, precision)?
                } else {
                    match (parse_integer(text), column.date) {
                        (Ok(v), _) => i128::from(v),
                        (Err(_), true) => i128::from(parse_date(text)?),
                        (Err(e), false) => return Err(e),
                    }
                };
                check_int(value, column)?;
                // An unsigned 32-bit value is stored as its bits.
                let value = if column.int == Some((32, false)) {
                    i128::from(u32::try_from(value).unwrap_or_default() as i32)
                } else {
                    value
                };
                i32::try_from(value)
                    .map(Value::Int32)
                    .map_err(|_| "out of the INT32 range")
            }
            Physical::Int64 => {
                let value = if let Some((scale, precision)) = decimal {
                    parse_decimal(text, scale, precision)?
                } else if column.int == Some((64, false)) {
                    let v = text
                        .trim()
                        .parse::<u64>()
                        .map_err(|_| "not an unsigned integer")?;
                    i128::from(v as i64)
                } else {
                    i128::from(parse_integer(text)?)
                };
                check_int(value, column)?;
                i64::try_from(value)
                    .map(Value::Int64)
                    .map_err(|_| "out of the INT64 range")
            }
            Physical::Int96 => {
                let nanos = parse_integer(text)?;
                let day = nanos.div_euclid(NANOS_PER_DAY) + UNIX_JULIAN_DAY;
                let of_day = nanos.rem_euclid(NANOS_PER_DAY);
                let day = u32::try_from(day).map_err(|_| "out of the INT96 range")?;
                let mut bytes = [0u8; 12];
                let (time, date) = bytes.split_at_mut(8);
                time.copy_from_slice(&of_day.to_le_bytes());
                date.copy_from_slice(&day.to_le_bytes());
                Ok(Value::Int96(bytes))
            }
            Physical::Float => text
                .trim()
                .parse::<f32>()
                .map(Value::Float)
                .map_err(|_| "not a number"),
            Physical::Double => text
                .trim()
                .parse::<f64>()
                .map(Value::Double)
                .map_err(|_| "not a number"),
            Physical::ByteArray => match decimal {
                Some((scale, precision)) => {
                    let unscaled = parse_decimal(text, scale, precision)?;
                    Ok(Value::ByteArray(minimal_be(unscaled)))
                }
                None => Ok(Value::ByteArray(text.as_bytes().to_vec())),
            },
            Physical::FixedLenByteArray => {
                let len = usize::try_from(column.type_length.unwrap_or(-1))
                    .map_err(|_| "the column has no type_length")?;
                let bytes = match decimal {
                    Some((scale, precision)) => {
                        let unscaled = parse_decimal(text, scale, precision)?;
                        let bytes = unscaled.to_be_bytes();
                        let minimal = minimal_be(unscaled);
                        if minimal.len() > len {
                            return Err("the decimal does not fit the column's length");
                        }
                        bytes
                            .get(bytes.len().saturating_sub(len)..)
                            .map(<[u8]>::to_vec)
                            .filter(|b| b.len() == len)
                            .ok_or("the decimal does not fit the column's length")?
                    }
                    None => text.as_bytes().to_vec(),
                };
                if bytes.len() != len {
                    return Err("its length is not the column's type_length");
                }
                Ok(Value::FixedLenByteArray(bytes))
            }
        }
    }

    /// Whether the value is of `physical` (and, for a fixed-length array, of its length).
    pub fn fits(&self, column: &Column) -> bool {
        match (self, column.physical) {
            (Value::Boolean(_), Physical::Boolean)
            | (Value::Int32(_), Physical::Int32)
            | (Value::Int64(_), Physical::Int64)
            | (Value::Int96(_), Physical::Int96)
            | (Value::Float(_), Physical::Float)
            | (Value::Double(_), Physical::Double)
            | (Value::ByteArray(_), Physical::ByteArray) => true,
            (Value::FixedLenByteArray(bytes), Physical::FixedLenByteArray) => {
                i32::try_from(bytes.len()).ok() == column.type_length
            }
            _ => false,
        }
    }

    /// The PLAIN encoding of one value (a BOOLEAN: one byte, its bit 0).
    pub fn plain(&self) -> Vec<u8> {
        match self {
            Value::Boolean(b) => vec![u8::from(*b)],
            Value::Int32(v) => v.to_le_bytes().to_vec(),
            Value::Int64(v) => v.to_le_bytes().to_vec(),
            Value::Int96(bytes) => bytes.to_vec(),
            Value::Float(v) => v.to_le_bytes().to_vec(),
            Value::Double(v) => v.to_le_bytes().to_vec(),
            Value::ByteArray(bytes) => {
                let mut out = Vec::with_capacity(4 + bytes.len());
                out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
                out.extend_from_slice(bytes);
                out
            }
            Value::FixedLenByteArray(bytes) => bytes.clone(),
        }
    }
}

/// A value within the column's integer logical type (INT(8, true) holds -128..=127, UINT_16
/// holds 0..=65535); unsigned 64-bit values are checked when parsed.
fn check_int(value: i128, column: &Column) -> Result<(), &'static str> {
    let Some((bits, signed)) = column.int else {
        return Ok(());
    };
    if bits == 0 || bits >= 64 {
        return Ok(());
    }
    let (min, max) = if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    };
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err("out of the column's integer range")
    }
}

fn parse_integer(text: &str) -> Result<i64, &'static str> {
    text.trim().parse::<i64>().map_err(|_| "not an integer")
}

/// `-12.5` at scale 2 is 1250; at most `precision` digits.
fn parse_decimal(text: &str, scale: i32, precision: i32) -> Result<i128, &'static str> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Err("not a decimal");
    }
    if !whole
        .bytes()
        .chain(fraction.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return Err("not a decimal");
    }
    let scale = usize::try_from(scale).map_err(|_| "a negative decimal scale")?;
    if fraction.len() > scale {
        return Err("more fraction digits than the column's scale");
    }
    let mut value: i128 = 0;
    let mut count = 0usize;
    let padding = std::iter::repeat_n(b'0', scale - fraction.len());
    for digit in whole.bytes().chain(fraction.bytes()).chain(padding) {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(digit - b'0')))
            .ok_or("the decimal is too large")?;
        if value != 0 {
            count += 1;
        }
    }
    let precision = usize::try_from(precision).unwrap_or(38);
    if count > precision {
        return Err("more digits than the column's precision");
    }
    Ok(if negative { -value } else { value })
}

/// Two's complement, big-endian, as few bytes as keep the sign.
fn minimal_be(value: i128) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let mut start = 0;
    while start + 1 < bytes.len() {
        let (Some(&first), Some(&next)) = (bytes.get(start), bytes.get(start + 1)) else {
            break;
        };
        let redundant = (first == 0 && next & 0x80 == 0) || (first == 0xff && next & 0x80 != 0);
        if !redundant {
            break;
        }
        start += 1;
    }
    bytes.get(start..).map(<[u8]>::to_vec).unwrap_or_default()
}

/// Days since 1970-01-01 of `YYYY-MM-DD` (proleptic Gregorian).
fn parse_date(text: &str) -> Result<i32, &'static str> {
    let mut parts = text.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a date (YYYY-MM-DD)");
    };
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i64>(), m.parse::<i64>(), d.parse::<i64>()) else {
        return Err("not a date (YYYY-MM-DD)");
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err("not a date (YYYY-MM-DD)"),
    };
    if !(1..=days_in_month).contains(&d) {
        return Err("not a date (YYYY-MM-DD)");
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    i32::try_from(era * 146_097 + doe - 719_468).map_err(|_| "the date is out of range")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::parquet::footer::Repetition;

    fn column(physical: Physical) -> Column {
        Column {
            name: "c".into(),
            leaf: 0,
            physical,
            type_length: None,
            repetition: Repetition::Optional,
            decimal: None,
            date: false,
            int: None,
            field_id: None,
        }
    }

    #[test]
    fn values_by_type() {
        assert_eq!(
            Value::parse("0", &column(Physical::Double)),
            Ok(Value::Double(0.0))
        );
        assert_eq!(
            Value::parse("true", &column(Physical::Boolean)),
            Ok(Value::Boolean(true))
        );
        assert!(Value::parse("yes", &column(Physical::Boolean)).is_err());
        assert_eq!(
            Value::parse("-7", &column(Physical::Int32)),
            Ok(Value::Int32(-7))
        );
        assert!(Value::parse("3000000000", &column(Physical::Int32)).is_err());
        assert!(Value::parse("1.5", &column(Physical::Int64)).is_err());
        let mut date = column(Physical::Int32);
        date.date = true;
        assert_eq!(Value::parse("1970-01-02", &date), Ok(Value::Int32(1)));
        assert_eq!(Value::parse("2000-03-01", &date), Ok(Value::Int32(11017)));
        assert!(Value::parse("2001-02-29", &date).is_err());
        let mut int8 = column(Physical::Int32);
        int8.int = Some((8, true));
        assert_eq!(Value::parse("-128", &int8), Ok(Value::Int32(-128)));
        assert!(Value::parse("128", &int8).is_err());
        let mut uint32 = column(Physical::Int32);
        uint32.int = Some((32, false));
        assert_eq!(Value::parse("4294967295", &uint32), Ok(Value::Int32(-1)));
        assert!(Value::parse("-1", &uint32).is_err());
        let mut uint64 = column(Physical::Int64);
        uint64.int = Some((64, false));
        assert_eq!(
            Value::parse("18446744073709551615", &uint64),
            Ok(Value::Int64(-1))
        );
        assert!(Value::parse("-1", &uint64).is_err());
        assert_eq!(
            Value::parse("-123456789", &date),
            Ok(Value::Int32(-123456789))
        );
        let mut dec = column(Physical::Int64);
        dec.decimal = Some((2, 9));
        assert_eq!(Value::parse("-12.5", &dec), Ok(Value::Int64(-1250)));
        assert!(Value::parse("1.234", &dec).is_err());
        assert!(Value::parse("12345678.9", &dec).is_err());
        let mut flba = column(Physical::FixedLenByteArray);
        flba.type_length = Some(4);
        assert_eq!(
            Value::parse("ABCD", &flba),
            Ok(Value::FixedLenByteArray(b"ABCD".to_vec()))
        );
        assert!(Value::parse("ABC", &flba).is_err());
        flba.decimal = Some((2, 9));
        assert_eq!(
            Value::parse("-1.50", &flba),
            Ok(Value::FixedLenByteArray(vec![0xff, 0xff, 0xff, 0x6a]))
        );
        let mut bin = column(Physical::ByteArray);
        assert_eq!(Value::parse("x", &bin), Ok(Value::ByteArray(b"x".to_vec())));
        bin.decimal = Some((0, 38));
        assert_eq!(
            Value::parse("128", &bin),
            Ok(Value::ByteArray(vec![0, 128]))
        );
        assert_eq!(Value::parse("-1", &bin), Ok(Value::ByteArray(vec![0xff])));
        let Ok(Value::Int96(bytes)) = Value::parse("86400000000001", &column(Physical::Int96))
        else {
            panic!("an int96");
        };
        assert_eq!(&bytes[..8], &1i64.to_le_bytes());
        assert_eq!(&bytes[8..], &(2_440_589u32).to_le_bytes());
    }
}
