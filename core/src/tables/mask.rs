//! Column masks as pure functions of one value (docs/tables.md, "Masks and row filters").
//!
//! A value is what a reader hands over: a CSV field's text, or a JSON scalar with its type. A
//! mask yields text, a number literal or null, which the CSV writer renders as text (null: an
//! empty field) and the JSON writer with its type. A mask that cannot apply to a value (`round`
//! of a word) yields null: the mask exists to hide what the value says, and a value it cannot
//! interpret could say anything.
//!
//! Keyed masks (`hash`, `format_preserving`) take their key from the gateway's secret
//! (`MaskKeys`), never from the policy: whoever writes policies cannot learn or choose it, and
//! equal values give equal outputs across files, columns and principals, so masked columns still
//! join.

use std::borrow::Cow;

use hmac::{Hmac, Mac};
use regex_lite::{Regex, RegexBuilder};
use sha2::{Digest, Sha256};

use super::spec::{DateUnit, Mask, RoundTo};
use crate::encoding::dates::days_in_month;
use crate::encoding::hex::push_hex32;

type HmacSha256 = Hmac<Sha256>;

/// The compiled size a `regex` mask may take (the engine's default is 10 MiB): replacing every
/// match costs up to O(size × field²) per field, so a masking pattern stays small.
pub const REGEX_SIZE_LIMIT: usize = 64 * 1024;

/// One value of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// A CSV field, or a JSON string (unescaped).
    Str(&'a str),
    /// A JSON number, its literal text as written (`-1.50e3`).
    Number(&'a str),
    Bool(bool),
    Null,
}

impl<'a> Value<'a> {
    /// The text masks and filters read: a string as it is, a number as written, `true` or
    /// `false`; null has none.
    pub fn text(&self) -> Option<&'a str> {
        match *self {
            Value::Str(s) | Value::Number(s) => Some(s),
            Value::Bool(true) => Some("true"),
            Value::Bool(false) => Some("false"),
            Value::Null => None,
        }
    }
}

/// What a mask yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Masked<'a> {
    /// Text (CSV), a JSON string.
    Str(Cow<'a, str>),
    /// A JSON number literal (CSV: its text).
    Number(Cow<'a, str>),
    /// JSON null; an empty CSV field.
    Null,
}

/// Why a mask or the mask keys cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MaskError {
    /// The pattern of a `regex` mask does not compile (the engine's message).
    Regex(String),
    /// The fill of a `partial` mask is a control character.
    Fill,
    /// The gateway's secret is shorter than `MaskKeys::MIN_SECRET` bytes.
    ShortSecret,
}

impl std::fmt::Display for MaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MaskError::Regex(why) => write!(f, "the pattern does not compile: {why}"),
            MaskError::Fill => f.write_str("the fill must be a printable character"),
            MaskError::ShortSecret => write!(
                f,
                "the masking secret must be at least {} bytes",
                MaskKeys::MIN_SECRET
            ),
        }
    }
}

impl std::error::Error for MaskError {}

/// The keys of the keyed masks, derived from the gateway's secret: one per mask kind, so that a
/// `hash` output never equals a `format_preserving` seed of any value. Each HMAC is keyed once
/// (its pads hashed) and cloned per value.
#[derive(Clone)]
pub struct MaskKeys {
    hash: HmacSha256,
    format_preserving: HmacSha256,
    id: [u8; 32],
}

impl MaskKeys {
    /// A secret shorter than this is a configuration error, not a key.
    pub const MIN_SECRET: usize = 32;

    pub fn new(secret: &[u8]) -> Result<MaskKeys, MaskError> {
        if secret.len() < Self::MIN_SECRET {
            return Err(MaskError::ShortSecret);
        }
        let derive = |label: &[u8]| -> Result<HmacSha256, MaskError> {
            let mut mac = HmacSha256::new_from_slice(secret).map_err(|_| MaskError::ShortSecret)?;
            mac.update(label);
            HmacSha256::new_from_slice(&mac.finalize().into_bytes())
                .map_err(|_| MaskError::ShortSecret)
        };
        let id = derive(b"s3gate table mask: key id v1")?
            .finalize()
            .into_bytes()
            .into();
        Ok(MaskKeys {
            hash: derive(b"s3gate table mask: hash v1")?,
            format_preserving: derive(b"s3gate table mask: format_preserving v1")?,
            id,
        })
    }

    /// Names the secret without telling anything of it: a view's identity includes it, so a
    /// new secret is a new view (and ETag).
    pub fn id(&self) -> &[u8; 32] {
        &self.id
    }

    /// HMAC-SHA256 of `text` under the hash key.
    fn hash(&self, text: &str) -> [u8; 32] {
        let mut mac = self.hash.clone();
        mac.update(text.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

impl std::fmt::Debug for MaskKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MaskKeys(..)")
    }
}

/// A mask made ready to apply: its options checked, its pattern compiled.
#[derive(Debug, Clone)]
pub struct CompiledMask {
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Hash,
    Null,
    Constant(String),
    Partial {
        first: usize,
        last: usize,
        fill: char,
    },
    Regex {
        regex: Regex,
        replacement: String,
    },
    Round(RoundTo),
    FormatPreserving,
}

impl Mask {
    /// What parsing cannot check: a `regex` pattern compiles, a `partial` fill is printable.
    pub fn validate(&self) -> Result<(), MaskError> {
        self.compile().map(drop)
    }

    pub fn compile(&self) -> Result<CompiledMask, MaskError> {
        let kind = match self {
            Mask::Hash {} => Kind::Hash,
            Mask::Null {} => Kind::Null,
            Mask::Constant { value } => Kind::Constant(value.clone()),
            Mask::Partial {
                keep_first,
                keep_last,
                fill,
            } => {
                if fill.is_control() {
                    return Err(MaskError::Fill);
                }
                let count = |n: u32| usize::try_from(n).unwrap_or(usize::MAX);
                Kind::Partial {
                    first: count(*keep_first),
                    last: count(*keep_last),
                    fill: *fill,
                }
            }
            Mask::Regex {
                pattern,
                replacement,
            } => Kind::Regex {
                regex: RegexBuilder::new(pattern)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|e| MaskError::Regex(e.to_string()))?,
                replacement: replacement.clone(),
            },
            Mask::Round { to } => Kind::Round(*to),
            Mask::FormatPreserving {} => Kind::FormatPreserving,
        };
        Ok(CompiledMask { kind })
    }
}

impl CompiledMask {
    /// The masked value. Null stays null except under `constant` (which hides even that the
    /// value was missing); a bool is its text; see the module's and docs/tables.md's rules.
    pub fn apply<'a>(&'a self, keys: &MaskKeys, value: Value<'a>) -> Masked<'a> {
        if let Kind::Constant(c) = &self.kind {
            return Masked::Str(Cow::Borrowed(c));
        }
        let Some(text) = value.text() else {
            return Masked::Null;
        };
        let string = |s: String| Masked::Str(Cow::Owned(s));
        match &self.kind {
            Kind::Constant(c) => Masked::Str(Cow::Borrowed(c)),
            Kind::Null => Masked::Null,
            Kind::Hash => {
                let mut out = String::with_capacity(64);
                push_hex32(&mut out, &keys.hash(text));
                string(out)
            }
            Kind::Partial { first, last, fill } => string(partial(text, *first, *last, *fill)),
            Kind::Regex { regex, replacement } => {
                Masked::Str(regex.replace_all(text, replacement.as_str()))
            }
            Kind::Round(to) => match (value, to) {
                (Value::Number(n), RoundTo::Digits(d)) => match round_number(n, *d) {
                    Some(r) => Masked::Number(r),
                    None => Masked::Null,
                },
                (Value::Str(s), RoundTo::Digits(d)) => match round_number(s, *d) {
                    Some(r) => Masked::Str(r),
                    None => Masked::Null,
                },
                (Value::Str(s), RoundTo::Date(unit)) => match round_date(s, *unit) {
                    Some(r) => string(r),
                    None => Masked::Null,
                },
                _ => Masked::Null,
            },
            Kind::FormatPreserving => match value {
                Value::Number(n) => Masked::Number(Cow::Owned(format_preserving(keys, n, true))),
                _ => string(format_preserving(keys, text, false)),
            },
        }
    }
}

/// The first `first` and last `last` characters kept, every other one replaced by `fill`; a
/// value of `first + last` characters or fewer entirely replaced (keeping all of it would show
/// it).
pub fn partial(text: &str, first: usize, last: usize, fill: char) -> String {
    let n = text.chars().count();
    let mut out = String::with_capacity(text.len());
    if n <= first.saturating_add(last) {
        out.extend(std::iter::repeat_n(fill, n));
        return out;
    }
    for (i, c) in text.chars().enumerate() {
        out.push(if i < first || i >= n - last { c } else { fill });
    }
    out
}

/// A JSON number's parts: `-? int (. frac)? ([eE] [+-]? exp)?`.
struct Number<'a> {
    negative: bool,
    int: &'a [u8],
    frac: &'a [u8],
    /// The exponent as written, `e` included (empty without one).
    exp_text: &'a str,
    /// Its value, saturated far beyond any precision.
    exp: i64,
}

/// Only JSON's number grammar: no `+`, no leading zeros, digits on both sides of the point,
/// no spaces (a CSV value like `1,5` or ` 7` is not a number).
fn parse_number(s: &str) -> Option<Number<'_>> {
    let digits = |b: &[u8]| b.iter().take_while(|c| c.is_ascii_digit()).count();
    let bytes = s.as_bytes();
    let (negative, rest) = match bytes {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, bytes),
    };
    let (int, rest) = rest.split_at_checked(digits(rest))?;
    if int.is_empty() || (int.len() > 1 && int.first() == Some(&b'0')) {
        return None;
    }
    let (frac, rest) = match rest {
        [b'.', rest @ ..] => {
            let (frac, rest) = rest.split_at_checked(digits(rest))?;
            if frac.is_empty() {
                return None;
            }
            (frac, rest)
        }
        _ => (&[][..], rest),
    };
    let exp_text = s.get(s.len() - rest.len()..)?;
    let exp = match rest {
        [] => 0,
        [b'e' | b'E', tail @ ..] => {
            let (sign, tail) = match tail {
                [b'-', t @ ..] => (-1, t),
                [b'+', t @ ..] => (1, t),
                _ => (1, tail),
            };
            if tail.is_empty() || digits(tail) != tail.len() {
                return None;
            }
            const LIMIT: i64 = 1 << 40;
            let value = tail
                .iter()
                .fold(0i64, |v, d| (v * 10 + i64::from(d - b'0')).min(LIMIT));
            sign * value
        }
        _ => return None,
    };
    Some(Number {
        negative,
        int,
        frac,
        exp_text,
        exp,
    })
}

/// `s` (a JSON number) rounded half away from zero to `digits` decimal places (negative: to
/// tens, hundreds...), in decimal arithmetic on its digits, so any size is exact. The exponent
/// is kept as written; a value already at that precision is returned as written (`3.1` to two
/// places stays `3.1`, `-0` stays `-0`); a result of zero carries no sign.
pub fn round_number(s: &str, digits: i32) -> Option<Cow<'_, str>> {
    let n = parse_number(s)?;
    let frac_len = i64::try_from(n.frac.len()).ok()?;
    let int_len = i64::try_from(n.int.len()).ok()?;
    // Decimal places of the mantissa that stay.
    let places = n.exp.saturating_add(i64::from(digits));
    if places >= frac_len {
        return Some(Cow::Borrowed(s));
    }
    let all = || n.int.iter().chain(n.frac);
    let keep = int_len.saturating_add(places);
    let mut kept: Vec<u8> = all()
        .take(usize::try_from(keep).unwrap_or(0))
        .copied()
        .collect();
    let next = usize::try_from(keep).ok().and_then(|k| all().nth(k));
    if next.is_some_and(|d| *d >= b'5') {
        let mut carry = true;
        for d in kept.iter_mut().rev() {
            if *d == b'9' {
                *d = b'0';
            } else {
                *d += 1;
                carry = false;
                break;
            }
        }
        if carry {
            kept.insert(0, b'1');
        }
    }
    let zero = kept.iter().all(|d| *d == b'0');
    let mut out = String::with_capacity(s.len() + 1);
    if n.negative && !zero {
        out.push('-');
    }
    let text = |b: &[u8]| b.iter().map(|&d| char::from(d)).collect::<String>();
    if places > 0 {
        let split = kept.len() - usize::try_from(places).ok()?;
        let (int, frac) = kept.split_at_checked(split)?;
        out.push_str(&text(int));
        out.push('.');
        out.push_str(&text(frac));
    } else if zero {
        out.push('0');
    } else {
        out.push_str(&text(&kept));
        let zeros = usize::try_from(places.unsigned_abs()).ok()?;
        out.extend(std::iter::repeat_n('0', zeros));
    }
    out.push_str(n.exp_text);
    Some(Cow::Owned(out))
}

/// An ISO date `YYYY-MM-DD`, or a timestamp `YYYY-MM-DDThh:mm:ss[.f+][Z|±hh:mm]` (`T` or a
/// space), truncated to the day, month or year: the fields below it set to their first value,
/// the format (fraction, zone) kept and the zone not converted. `None` unless it is one and
/// names a day that exists.
pub fn round_date(s: &str, unit: DateUnit) -> Option<String> {
    let mut out = s.as_bytes().to_vec();
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, time @ ..] = s.as_bytes() else {
        return None;
    };
    let num = |ds: &[u8]| -> Option<u32> {
        ds.iter().try_fold(0u32, |v, d| {
            d.is_ascii_digit().then(|| v * 10 + u32::from(d - b'0'))
        })
    };
    let year = i64::from(num(&[*y0, *y1, *y2, *y3])?);
    let month = num(&[*m0, *m1])?;
    let day = num(&[*d0, *d1])?;
    if !(1..=days_in_month(year, month)?).contains(&day) {
        return None;
    }
    if !time.is_empty() {
        let [b'T' | b' ', h0, h1, b':', n0, n1, b':', s0, s1, rest @ ..] = time else {
            return None;
        };
        if num(&[*h0, *h1])? > 23 || num(&[*n0, *n1])? > 59 || num(&[*s0, *s1])? > 60 {
            return None;
        }
        let zone = match rest {
            [b'.', f @ ..] => {
                let digits = f.iter().take_while(|c| c.is_ascii_digit()).count();
                if digits == 0 {
                    return None;
                }
                f.get(digits..)?
            }
            _ => rest,
        };
        match zone {
            [] | [b'Z'] => {}
            [b'+' | b'-', h0, h1, b':', m0, m1] => {
                if num(&[*h0, *h1])? > 23 || num(&[*m0, *m1])? > 59 {
                    return None;
                }
            }
            _ => return None,
        }
        // Every digit of the time of day and its fraction becomes 0.
        let time_end = s.len() - zone.len();
        for b in out.get_mut(10..time_end)? {
            if b.is_ascii_digit() {
                *b = b'0';
            }
        }
    }
    let first = |b: Option<&mut [u8]>| -> Option<()> {
        b?.copy_from_slice(b"01");
        Some(())
    };
    match unit {
        DateUnit::Day => {}
        DateUnit::Month => first(out.get_mut(8..10))?,
        DateUnit::Year => {
            first(out.get_mut(5..7))?;
            first(out.get_mut(8..10))?;
        }
    }
    String::from_utf8(out).ok()
}

/// The same number of characters and the same classes: an ASCII or other decimal digit becomes
/// a digit, an upper-case letter an ASCII upper-case letter, any other letter an ASCII lower-case
/// one; every other character stays. Pseudo-random per value, keyed: equal values give equal
/// outputs, and without the key nothing relates an output to its input but its shape. A number
/// (`number`) stays a number: its non-digits and exponent stay, and a multi-digit integer part
/// does not start with 0.
pub fn format_preserving(keys: &MaskKeys, text: &str, number: bool) -> String {
    let mut mac = keys.format_preserving.clone();
    mac.update(text.as_bytes());
    let seed = mac.finalize().into_bytes();
    // Two bytes per character from SHA-256(seed ‖ block number): 16 characters a block.
    let mut block = [0u8; 32];
    let mut next = {
        let mut used = 32;
        let mut counter: u64 = 0;
        move || -> u32 {
            if used + 2 > block.len() {
                block = Sha256::new()
                    .chain_update(seed)
                    .chain_update(counter.to_be_bytes())
                    .finalize()
                    .into();
                counter += 1;
                used = 0;
            }
            let pair = block.get(used..used + 2).unwrap_or(&[0, 0]);
            used += 2;
            pair.iter().fold(0u32, |v, b| v << 8 | u32::from(*b))
        }
    };
    let pick = |base: u8, n: u32, r: u32| char::from(base + (r % n) as u8);
    let mut out = String::with_capacity(text.len());
    let mut in_exponent = false;
    let mut prev: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let mapped = if number {
            in_exponent |= c == 'e' || c == 'E';
            let leading = !in_exponent
                && matches!(prev, None | Some('-'))
                && chars.peek().is_some_and(char::is_ascii_digit);
            match c {
                _ if in_exponent || !c.is_ascii_digit() => c,
                _ if leading => pick(b'1', 9, next()),
                _ => pick(b'0', 10, next()),
            }
        } else if c.is_numeric() {
            pick(b'0', 10, next())
        } else if c.is_uppercase() {
            pick(b'A', 26, next())
        } else if c.is_alphabetic() {
            pick(b'a', 26, next())
        } else {
            c
        };
        out.push(mapped);
        prev = Some(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn keys() -> MaskKeys {
        MaskKeys::new(SECRET).unwrap()
    }

    fn apply(mask: Mask, value: Value<'_>) -> Masked<'static> {
        let m = mask.compile().unwrap();
        match m.apply(&keys(), value) {
            Masked::Str(s) => Masked::Str(Cow::Owned(s.into_owned())),
            Masked::Number(s) => Masked::Number(Cow::Owned(s.into_owned())),
            Masked::Null => Masked::Null,
        }
    }

    fn s(text: &str) -> Masked<'static> {
        Masked::Str(Cow::Owned(text.to_owned()))
    }

    fn num(text: &str) -> Masked<'static> {
        Masked::Number(Cow::Owned(text.to_owned()))
    }

    #[test]
    fn a_short_secret_is_refused() {
        assert_eq!(
            MaskKeys::new(&SECRET[..31]).unwrap_err(),
            MaskError::ShortSecret
        );
    }

    #[test]
    fn hash_is_hmac_sha256_of_the_text_under_a_derived_key() {
        let out = apply(Mask::Hash {}, Value::Str("alice@example.com"));
        // Computed independently: HMAC(HMAC(secret, label), value).
        let mut k = HmacSha256::new_from_slice(SECRET).unwrap();
        k.update(b"s3gate table mask: hash v1");
        let k = k.finalize().into_bytes();
        let mut m = HmacSha256::new_from_slice(&k).unwrap();
        m.update(b"alice@example.com");
        let want = crate::encoding::hex::encode(&m.finalize().into_bytes());
        assert_eq!(out, s(&want));
        assert_eq!(want.len(), 64);
        assert!(want
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        // The text decides, not the type: a number and a string of the same text join.
        assert_eq!(
            apply(Mask::Hash {}, Value::Number("42")),
            apply(Mask::Hash {}, Value::Str("42"))
        );
        assert_eq!(
            apply(Mask::Hash {}, Value::Bool(true)),
            apply(Mask::Hash {}, Value::Str("true"))
        );
        assert_ne!(
            apply(Mask::Hash {}, Value::Str("")),
            apply(Mask::Hash {}, Value::Str(" "))
        );
        assert_eq!(apply(Mask::Hash {}, Value::Null), Masked::Null);
        let other = MaskKeys::new(b"another secret of thirty-two bytes!").unwrap();
        let m = Mask::Hash {}.compile().unwrap();
        assert_ne!(
            m.apply(&other, Value::Str("x")),
            m.apply(&keys(), Value::Str("x"))
        );
    }

    #[test]
    fn null_and_constant() {
        for v in [
            Value::Str("x"),
            Value::Number("1"),
            Value::Bool(false),
            Value::Null,
        ] {
            assert_eq!(apply(Mask::Null {}, v), Masked::Null);
            let c = Mask::Constant {
                value: "REDACTED".into(),
            };
            assert_eq!(apply(c, v), s("REDACTED"));
        }
    }

    #[test]
    fn partial_counts_characters() {
        let p = |first, last, text| {
            apply(
                Mask::Partial {
                    keep_first: first,
                    keep_last: last,
                    fill: '*',
                },
                Value::Str(text),
            )
        };
        assert_eq!(p(0, 4, "123-45-6789"), s("*******6789"));
        assert_eq!(p(2, 2, "abcdef"), s("ab**ef"));
        assert_eq!(p(1, 1, "ümlaut→x"), s("ü******x"));
        assert_eq!(p(0, 2, "日本語"), s("*本語"));
        // Too short to hide anything: all of it masked.
        assert_eq!(p(2, 2, "abcd"), s("****"));
        assert_eq!(p(2, 2, "abc"), s("***"));
        assert_eq!(p(0, 0, "abc"), s("***"));
        assert_eq!(p(3, 3, ""), s(""));
        let fill = Mask::Partial {
            keep_first: 0,
            keep_last: 1,
            fill: '•',
        };
        assert_eq!(apply(fill, Value::Number("12345")), s("••••5"));
        assert_eq!(
            Mask::Partial {
                keep_first: 0,
                keep_last: 1,
                fill: '\n'
            }
            .validate(),
            Err(MaskError::Fill)
        );
        assert_eq!(
            apply(
                Mask::Partial {
                    keep_first: 1,
                    keep_last: 1,
                    fill: '*'
                },
                Value::Null
            ),
            Masked::Null
        );
    }

    #[test]
    fn regex_replaces_every_match() {
        let r = |pattern: &str, replacement: &str, text| {
            let mask = Mask::Regex {
                pattern: pattern.into(),
                replacement: replacement.into(),
            };
            apply(mask, Value::Str(text))
        };
        assert_eq!(r("[0-9]", "#", "a1b22c"), s("a#b##c"));
        assert_eq!(
            r(r"^([^@]*)@(.*)$", "***@$2", "bob@example.com"),
            s("***@example.com")
        );
        assert_eq!(r("é+", "e", "ééé café"), s("e cafe"));
        assert_eq!(r("x", "y", ""), s(""));
        assert_eq!(r("x", "$$", "axb"), s("a$b"));
        assert!(matches!(
            Mask::Regex {
                pattern: "(".into(),
                replacement: String::new()
            }
            .validate(),
            Err(MaskError::Regex(_))
        ));
        assert!(Mask::Regex {
            pattern: "[z-a]".into(),
            replacement: String::new()
        }
        .validate()
        .is_err());
    }

    #[test]
    fn round_numbers_in_decimal() {
        let r = |to, text| round_number(text, to).map(Cow::into_owned);
        let some = |t: &str| Some(t.to_owned());
        assert_eq!(r(2, "3.14159"), some("3.14"));
        assert_eq!(r(2, "3.145"), some("3.15"));
        assert_eq!(r(2, "-3.145"), some("-3.15"));
        assert_eq!(r(2, "3.1"), some("3.1"));
        assert_eq!(r(0, "2.5"), some("3"));
        assert_eq!(r(0, "0.49"), some("0"));
        assert_eq!(r(1, "9.96"), some("10.0"));
        assert_eq!(r(1, "0.96"), some("1.0"));
        assert_eq!(r(-2, "1234"), some("1200"));
        assert_eq!(r(-2, "1250.1"), some("1300"));
        assert_eq!(r(-1, "5.2"), some("10"));
        assert_eq!(r(-1, "4.2"), some("0"));
        assert_eq!(r(-3, "951"), some("1000"));
        assert_eq!(r(-5, "1234"), some("0"));
        assert_eq!(r(-2, "99"), some("100"));
        assert_eq!(r(3, "42"), some("42"));
        // Negative zero: as written when nothing changes, unsigned when rounding reaches zero.
        assert_eq!(r(2, "-0"), some("-0"));
        assert_eq!(r(2, "-0.0"), some("-0.0"));
        assert_eq!(r(2, "-0.001"), some("0.00"));
        assert_eq!(r(-1, "-4"), some("0"));
        // Huge: exact, no floating point.
        assert_eq!(
            r(0, "123456789012345678901234567890.5"),
            some("123456789012345678901234567891")
        );
        assert_eq!(
            r(-20, "99999999999999999999999"),
            some("100000000000000000000000")
        );
        // Exponents stay as written; the precision is of the value.
        assert_eq!(r(2, "1.23456e2"), some("1.2346e2"));
        assert_eq!(r(2, "1.5E+1"), some("1.5E+1"));
        assert_eq!(r(2, "1.5e-3"), some("0e-3"));
        assert_eq!(r(2, "6e-3"), some("10e-3"));
        assert_eq!(r(-2, "1234e0"), some("1200e0"));
        assert_eq!(
            r(2, "1e-99999999999999999999"),
            some("0e-99999999999999999999")
        );
        assert_eq!(
            r(2, "1.5e99999999999999999999"),
            some("1.5e99999999999999999999")
        );
        assert_eq!(r(i32::MIN, "7.5"), some("0"));
        assert_eq!(r(i32::MAX, "7.5"), some("7.5"));
        // Not JSON numbers.
        for bad in [
            "", "-", "+1", "01", "1.", ".5", "1e", "1e+", " 1", "1 ", "1,5", "0x10", "NaN", "1.2.3",
        ] {
            assert_eq!(r(2, bad), None, "{bad:?}");
        }
    }

    #[test]
    fn round_keeps_types_and_fails_closed() {
        let to = |d| Mask::Round {
            to: RoundTo::Digits(d),
        };
        assert_eq!(apply(to(1), Value::Number("2.25")), num("2.3"));
        assert_eq!(apply(to(1), Value::Str("2.25")), s("2.3"));
        assert_eq!(apply(to(1), Value::Number("2")), num("2"));
        for v in [
            Value::Str("n/a"),
            Value::Str(""),
            Value::Bool(true),
            Value::Null,
            Value::Str("2024-01-02"),
        ] {
            assert_eq!(apply(to(1), v), Masked::Null, "{v:?}");
        }
        let month = Mask::Round {
            to: RoundTo::Date(DateUnit::Month),
        };
        assert_eq!(
            apply(month.clone(), Value::Str("2024-02-29")),
            s("2024-02-01")
        );
        assert_eq!(
            apply(month.clone(), Value::Number("20240229")),
            Masked::Null
        );
        assert_eq!(apply(month, Value::Str("12.5")), Masked::Null);
    }

    #[test]
    fn round_dates_keeps_the_format() {
        let r = |unit, text| round_date(text, unit);
        let some = |t: &str| Some(t.to_owned());
        use DateUnit::*;
        assert_eq!(r(Day, "2024-03-31"), some("2024-03-31"));
        assert_eq!(r(Month, "2024-03-31"), some("2024-03-01"));
        assert_eq!(r(Year, "2024-12-31"), some("2024-01-01"));
        assert_eq!(r(Month, "2024-02-29"), some("2024-02-01"));
        assert_eq!(r(Month, "2000-02-29"), some("2000-02-01"));
        assert_eq!(r(Day, "2024-03-15T13:45:12Z"), some("2024-03-15T00:00:00Z"));
        assert_eq!(
            r(Month, "2024-03-15T13:45:12.123+02:00"),
            some("2024-03-01T00:00:00.000+02:00")
        );
        assert_eq!(
            r(Year, "2024-03-15 23:59:60.5-11:30"),
            some("2024-01-01 00:00:00.0-11:30")
        );
        assert_eq!(
            r(Day, "2024-03-15T13:45:12.123456789"),
            some("2024-03-15T00:00:00.000000000")
        );
        for bad in [
            "2023-02-29",
            "1900-02-29",
            "2024-04-31",
            "2024-13-01",
            "2024-00-10",
            "2024-01-00",
            "2024-1-01",
            "24-01-01",
            "2024/01/01",
            "2024-01-01T",
            "2024-01-01T24:00:00",
            "2024-01-01T12:60:00",
            "2024-01-01T12:00",
            "2024-01-01T12:00:00.",
            "2024-01-01T12:00:00+0200",
            "2024-01-01T12:00:00+24:00",
            "2024-01-01T12:00:00z",
            "2024-01-01x",
            "",
            "２０２４-01-01",
        ] {
            assert_eq!(r(Month, bad), None, "{bad:?}");
        }
    }

    #[test]
    fn format_preserving_keeps_length_and_classes() {
        let f = |v| apply(Mask::FormatPreserving {}, v);
        let out = f(Value::Str("Ab-12 cD.é日"));
        let Masked::Str(o) = &out else { unreachable!() };
        assert_eq!(o.chars().count(), 11);
        let classes = |t: &str| {
            t.chars()
                .map(|c| match c {
                    _ if c.is_numeric() => 'd',
                    _ if c.is_uppercase() => 'U',
                    _ if c.is_alphabetic() => 'l',
                    c => c,
                })
                .collect::<String>()
        };
        assert_eq!(classes(o), "Ul-dd lU.ll");
        assert!(o.is_ascii());
        assert_eq!(f(Value::Str("Ab-12 cD.é日")), out);
        assert_ne!(f(Value::Str("Ab-12 cD.é日x")), out);
        assert_eq!(f(Value::Str("")), s(""));
        assert_eq!(f(Value::Null), Masked::Null);
        // Numbers stay valid numbers; the exponent and signs stay.
        for n in ["0", "-0.5", "12", "-98765.4321e-12", "10E+3"] {
            let Masked::Number(o) = f(Value::Number(n)) else {
                unreachable!()
            };
            assert!(parse_number(&o).is_some(), "{n} -> {o}");
            assert_eq!(o.len(), n.len());
            let tail = |t: &str| t.split(['e', 'E']).nth(1).map(str::to_owned);
            assert_eq!(tail(&o), tail(n));
        }
        // The same text as a string may start with 0; long values use several blocks.
        let long = "1234567890".repeat(10);
        let Masked::Str(o) = f(Value::Str(&long)) else {
            unreachable!()
        };
        assert_eq!(o.len(), 100);
        assert!(o.bytes().all(|b| b.is_ascii_digit()));
        assert_ne!(&o[..50], &o[50..]);
    }
}
