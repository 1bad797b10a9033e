//! The service's log lines: one a line on stderr, each starting with its UTC time (RFC 3339,
//! milliseconds) and `s3gate-policy:`, so a line read out of a container runtime's or a
//! terminal's log still says when it happened.

use std::fmt;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use s3gate_core::encoding::dates::civil_from_days;

/// Writes one line to stderr. Unlike `eprintln!`, a closed stderr never takes a worker down.
macro_rules! log {
    ($($arg:tt)*) => {
        $crate::logging::line(format_args!($($arg)*))
    };
}
pub(crate) use log;

pub fn line(args: fmt::Arguments<'_>) {
    let stamp = timestamp(SystemTime::now());
    write_line(format!("{stamp} s3gate-policy: {args}\n"));
}

/// Writes a rendered JSON object (`{...}`) as one line with its UTC time first, as `"time"`:
/// the decision log, rendered once per policy load.
pub fn json_object_line(object: &str) {
    write_line(with_time(object, &timestamp(SystemTime::now())));
}

/// `object` with `"time"` as its first member, and a newline. An object that is empty or not
/// one is written as it is.
fn with_time(object: &str, stamp: &str) -> String {
    match object.strip_prefix('{') {
        Some(rest) if rest.trim_start().starts_with('"') => {
            format!("{{\"time\":\"{stamp}\",{rest}\n")
        }
        _ => format!("{object}\n"),
    }
}

/// One `write` of the whole line. stderr is unbuffered: `writeln!` on it issues a system call
/// per formatted piece (over a hundred for a decision's JSON), which measured as most of the
/// service's CPU per lookup (docs/benchmarks.md, "Policy service").
fn write_line(line: String) {
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Writes `object` as one JSON line on stderr, with its UTC time as `"time"`: the decision log,
/// for log pipelines that read JSON.
pub fn json_line(object: &serde_json::Value) {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut() {
        map.insert(
            "time".into(),
            serde_json::Value::String(timestamp(SystemTime::now())),
        );
    }
    write_line(format!("{object}\n"));
}

/// `2026-12-03T12:41:06.123Z` (a time before 1970 reads as 1970-01-01T00:00:00.000Z).
pub fn timestamp(at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (secs, millis) = (since.as_secs(), since.subsec_millis());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let day = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        day / 3600,
        day / 60 % 60,
        day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_rendered_object_gets_its_time_first() {
        let line = with_time(r#"{"event":"decision","principal":"bob"}"#, "T");
        assert_eq!(
            line,
            "{\"time\":\"T\",\"event\":\"decision\",\"principal\":\"bob\"}\n"
        );
        let parsed: serde_json::Value = serde_json::from_str(line.trim_end()).unwrap();
        assert_eq!(parsed["principal"], "bob");
        assert_eq!(with_time("{}", "T"), "{}\n");
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_milliseconds() {
        let at = UNIX_EPOCH + Duration::from_millis(1_796_302_866_123);
        assert_eq!(timestamp(at), "2026-12-03T13:01:06.123Z");
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            timestamp(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000Z"
        );
    }
}
