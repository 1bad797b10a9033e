//! Dates: SigV4's `yyyymmddThhmmssZ` and `yyyymmdd`, HTTP's RFC 1123 dates, and the civil
//! calendar arithmetic under them (proleptic Gregorian, UTC).

/// Days since 1970-01-01 of a proleptic Gregorian date (counting years from March, so the leap
/// day ends a year and each 400-year era has the same 146097 days).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of `days_from_civil`.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The number of days of `month` (1-12) in `year` of the Gregorian calendar; `None` for a month
/// that does not exist. Shared with the policy service, which checks scope dates.
pub fn days_in_month(year: i64, month: u32) -> Option<u32> {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => Some(31),
        4 | 6 | 9 | 11 => Some(30),
        2 if leap => Some(29),
        2 => Some(28),
        _ => None,
    }
}

/// Unix seconds of a UTC date and time, `None` if any field is out of range or before 1970.
pub fn unix_time(
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
) -> Option<u64> {
    let days_in_month = days_in_month(year, month)?;
    if !(1..=9999).contains(&year)
        || !(1..=days_in_month).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let seconds =
        days_from_civil(year, month, day) * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    u64::try_from(seconds).ok()
}

/// The number written by the ASCII digits `text[from..to]`; `None` if any is not a digit.
fn digits_at(text: &str, from: usize, to: usize) -> Option<u32> {
    let digits = text.get(from..to)?;
    if !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Parses `yyyymmddThhmmssZ` (ISO 8601 basic, UTC) into unix seconds.
pub fn parse_amz_date(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
        return None;
    }
    let num = |from: usize, to: usize| digits_at(text, from, to);
    unix_time(
        i64::from(num(0, 4)?),
        num(4, 6)?,
        num(6, 8)?,
        num(9, 11)?,
        num(11, 13)?,
        num(13, 15)?,
    )
}

/// Formats unix seconds as `yyyymmddThhmmssZ`.
pub fn format_amz_date(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Year, month and day of `yyyymmdd`: eight ASCII digits naming a day that exists (leap years
/// included, year 1 onwards).
pub fn civil_date(date: &str) -> Option<(i64, u32, u32)> {
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number = |range: std::ops::Range<usize>| date.get(range)?.parse::<u32>().ok();
    let (year, month, day) = (i64::from(number(0..4)?), number(4..6)?, number(6..8)?);
    let days = days_in_month(year, month)?;
    (year >= 1 && (1..=days).contains(&day)).then_some((year, month, day))
}

/// Days since the epoch of a `yyyymmdd` date.
pub fn day_number(date: &str) -> Option<u64> {
    let (year, month, day) = civil_date(date)?;
    Some(unix_time(year, month, day, 0, 0, 0)? / 86_400)
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Parses an RFC 1123 date (`Thu, 26 Nov 2026 10:00:00 GMT`) into unix seconds. The weekday is
/// optional; the zone may be `GMT`, `UTC`, `Z` or a numeric `+hhmm`/`-hhmm` (AWS's own examples
/// use `+0000`).
pub fn parse_http_date(text: &str) -> Option<u64> {
    let mut text = text.trim();
    if let Some((weekday, rest)) = text.split_once(',') {
        if !WEEKDAYS.contains(&weekday.trim()) {
            return None;
        }
        text = rest;
    }
    let mut parts = text.split_ascii_whitespace();
    let (day, month, year, time, zone) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if parts.next().is_some() {
        return None;
    }
    let number = |digits: &str, min: usize, max: usize| -> Option<u32> {
        if digits.len() < min || digits.len() > max || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    };
    let day = number(day, 1, 2)?;
    let month = MONTHS.iter().position(|m| *m == month)? as u32 + 1;
    let year = number(year, 4, 4)?;
    let mut hms = time.split(':');
    let (hour, minute, second) = (
        number(hms.next()?, 2, 2)?,
        number(hms.next()?, 2, 2)?,
        number(hms.next()?, 2, 2)?,
    );
    if hms.next().is_some() {
        return None;
    }
    let local = unix_time(i64::from(year), month, day, hour, minute, second)?;
    let offset = match zone {
        "GMT" | "UTC" | "Z" => 0,
        _ => {
            let (sign, digits) = match zone.split_at_checked(1)? {
                ("+", d) => (1i64, d),
                ("-", d) => (-1i64, d),
                _ => return None,
            };
            let hhmm = number(digits, 4, 4)?;
            let (h, m) = (hhmm / 100, hhmm % 100);
            if h > 23 || m > 59 {
                return None;
            }
            sign * i64::from(h * 3600 + m * 60)
        }
    };
    // Local time minus its offset from UTC.
    u64::try_from(i64::try_from(local).ok()? - offset).ok()
}

/// Parses the extended ISO 8601 UTC timestamp S3 lists objects with
/// (`2026-11-26T10:00:00.000Z`, fractional seconds optional and dropped) into unix seconds.
pub fn parse_iso8601(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    let shape = b.len() >= 20
        && b.last() == Some(&b'Z')
        && [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')]
            .iter()
            .all(|&(i, c)| b.get(i) == Some(&c));
    if !shape {
        return None;
    }
    let fraction = text.get(19..text.len() - 1)?;
    let fraction_ok = fraction.is_empty()
        || (fraction.len() > 1
            && fraction.starts_with('.')
            && fraction.bytes().skip(1).all(|c| c.is_ascii_digit()));
    if !fraction_ok {
        return None;
    }
    let num = |from: usize, to: usize| digits_at(text, from, to);
    unix_time(
        i64::from(num(0, 4)?),
        num(5, 7)?,
        num(8, 10)?,
        num(11, 13)?,
        num(14, 16)?,
        num(17, 19)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const S3_DOC_NOW: u64 = 1_369_353_600; // 2013-05-24T00:00:00Z
    const BOTO_NOW: u64 = 1_795_687_200; // 2026-11-26T10:00:00Z

    #[test]
    fn listing_timestamps_parse_to_the_http_dates_seconds() {
        let http = parse_http_date("Thu, 26 Nov 2026 10:00:00 GMT");
        assert_eq!(http, Some(BOTO_NOW));
        for listed in [
            "2026-11-26T10:00:00.000Z",
            "2026-11-26T10:00:00Z",
            "2026-11-26T10:00:00.999999Z",
        ] {
            assert_eq!(parse_iso8601(listed), http, "{listed}");
        }
        for bad in [
            "2026-11-26T10:00:00",
            "2026-11-26 10:00:00Z",
            "2026-11-26T10:00:00.Z",
            "2026-11-26T10:00:00.0x0Z",
            "2026-02-30T10:00:00Z",
            "2026-11-26T24:00:00Z",
            "+026-11-26T10:00:00Z",
            "2026-11-26T10:00:00+00:00",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_round_trip() {
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
        assert_eq!(parse_amz_date("20130524T000000Z"), Some(S3_DOC_NOW));
        assert_eq!(parse_amz_date("20261126T100000Z"), Some(BOTO_NOW));
        assert_eq!(parse_amz_date("20240229T235959Z"), Some(1_709_251_199));
        assert_eq!(parse_amz_date("20230229T000000Z"), None);
        assert_eq!(parse_amz_date("21000229T000000Z"), None);
        assert_eq!(parse_amz_date("20000229T000000Z"), Some(951_782_400));
        for t in [
            0,
            951_782_400,
            1_709_251_199,
            S3_DOC_NOW,
            BOTO_NOW,
            4_102_444_800,
            253_402_300_799,
        ] {
            assert_eq!(parse_amz_date(&format_amz_date(t)), Some(t), "{t}");
        }
        assert_eq!(format_amz_date(BOTO_NOW), "20261126T100000Z");
    }

    #[test]
    fn http_dates() {
        let t = 1_795_687_200;
        for text in [
            "Thu, 26 Nov 2026 10:00:00 GMT",
            "26 Nov 2026 10:00:00 GMT",
            "Thu, 26 Nov 2026 10:00:00 +0000",
            "Thu, 26 Nov 2026 11:30:00 +0130",
            "Thu, 26 Nov 2026 08:00:00 -0200",
            "  Thu,  26 Nov 2026 10:00:00 UTC ",
        ] {
            assert_eq!(parse_http_date(text), Some(t), "{text}");
        }
        assert_eq!(parse_http_date("Thu, 1 Jan 1970 00:00:00 GMT"), Some(0));
        for bad in [
            "",
            "Thu, 26 Nov 2026 10:00:00",
            "Thu, 26 Nov 2026 10:00 GMT",
            "Thu, 26 Noe 2026 10:00:00 GMT",
            "Thx, 26 Nov 2026 10:00:00 GMT",
            "Thu, 31 Nov 2026 10:00:00 GMT",
            "Thu, 26 Nov 2026 24:00:00 GMT",
            "Thu, 26 Nov 26 10:00:00 GMT",
            "Thu, 26 Nov 2026 10:00:00 +2400",
            "Thu, 26 Nov 2026 10:00:00 +00",
            "Thu, 26 Nov 2026 10:00:00 \u{e9}0000",
            "Thu, 26 Nov 2026 10:00:00 GMT extra",
            "Thu, 26 Nov 2026 10:00:00:00 GMT",
            "Thu, \u{e9}6 Nov 2026 10:00:00 GMT",
            "Thu, 01 Jan 1970 00:00:00 +0100",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn credential_dates() {
        assert_eq!(day_number("19700101"), Some(0));
        assert_eq!(day_number("20261126"), Some(BOTO_NOW / 86_400));
        assert_eq!(civil_date("20240229"), Some((2024, 2, 29)));
        assert_eq!(civil_date("00010101"), Some((1, 1, 1)));
        // Real dates before the epoch have no day number.
        assert_eq!(day_number("19691231"), None);
        for bad in [
            "",
            "2026112",
            "202611260",
            "20230229",
            "20261131",
            "00000101",
            "2026-1-1",
            "2026112\u{e9}",
        ] {
            assert_eq!(civil_date(bad), None, "{bad}");
            assert_eq!(day_number(bad), None, "{bad}");
        }
    }
}
