//! Drives the policy service alone as a cold-start burst would: many kept-alive connections
//! (as Envoy's `policy` cluster keeps), each sending the filter's decision call,
//! `GET /v1/entitlements/{digest}[?scope=...]` with the caller's bearer token, and every request
//! another key (the digests are taken in turn from a list, so no key repeats until the list
//! is used up). Closed loop: each connection sends its next request when the answer is in.
//!
//! With `--rate R` the load is open instead: R requests per second in all, spread evenly over
//! the connections, each request's latency counted from when it was due (so a service that
//! falls behind is charged for the queue it causes, not hidden by a client that waits).
//!
//! Usage: policy-load --addr HOST:PORT --token TOKEN --digests FILE [--scope SCOPE]
//!                    [--connections 32] [--duration-secs 10] [--warmup-secs 2] [--rate R]
//! Prints one JSON object: requests, statuses, lookups per second, latency percentiles (µs).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Options {
    addr: String,
    token: String,
    digests: Vec<String>,
    scope: Option<String>,
    connections: usize,
    duration: Duration,
    warmup: Duration,
    /// Requests per second over all connections; `None`: each sends when answered.
    rate: Option<f64>,
}

fn parse() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let (mut addr, mut token, mut digests, mut scope) = (None, None, None, None);
    let (mut connections, mut duration, mut warmup, mut rate) = (32, 10.0, 2.0, None);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--addr" => addr = Some(value()?),
            "--token" => token = Some(value()?),
            "--digests" => digests = Some(value()?),
            "--scope" => scope = Some(value()?),
            "--connections" => connections = value()?.parse().map_err(|e| format!("{e}"))?,
            "--duration-secs" => duration = value()?.parse().map_err(|e| format!("{e}"))?,
            "--warmup-secs" => warmup = value()?.parse().map_err(|e| format!("{e}"))?,
            "--rate" => rate = Some(value()?.parse::<f64>().map_err(|e| format!("{e}"))?),
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    let file = digests.ok_or("--digests FILE is needed")?;
    let digests: Vec<String> = std::fs::read_to_string(&file)
        .map_err(|e| format!("{file}: {e}"))?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if digests.is_empty() {
        return Err(format!("{file}: no digests"));
    }
    Ok(Options {
        addr: addr.ok_or("--addr is needed")?,
        token: token.ok_or("--token is needed")?,
        digests,
        scope,
        connections,
        duration: Duration::from_secs_f64(duration),
        warmup: Duration::from_secs_f64(warmup),
        rate: rate.filter(|r| *r > 0.0),
    })
}

/// One connection's results: latencies (µs) of the requests answered in the measured window,
/// and their statuses.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    statuses: BTreeMap<u16, u64>,
    errors: u64,
}

/// Reads one response; returns its status. The body is read by Content-Length and dropped.
fn read_response(reader: &mut BufReader<TcpStream>, line: &mut String) -> std::io::Result<u16> {
    line.clear();
    reader.read_line(line)?;
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
    let mut length = 0usize;
    loop {
        line.clear();
        if reader.read_line(line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(status)
}

fn connection(
    options: &Options,
    index: usize,
    started: Instant,
    next: &AtomicUsize,
    measuring: &AtomicBool,
    stop: &AtomicBool,
) -> Tally {
    let mut tally = Tally::default();
    let Ok(stream) = TcpStream::connect(&options.addr) else {
        tally.errors += 1;
        return tally;
    };
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(clone) = stream.try_clone() else {
        tally.errors += 1;
        return tally;
    };
    let mut writer = stream;
    let mut reader = BufReader::new(clone);
    let (mut request, mut line) = (String::new(), String::new());
    // Open load: this connection's requests are due every `interval`, offset from the others'.
    let interval = options
        .rate
        .map(|rate| Duration::from_secs_f64(options.connections as f64 / rate));
    let mut due = started
        + interval.map_or(Duration::ZERO, |i| {
            i * index as u32 / options.connections as u32
        });
    while !stop.load(Ordering::Relaxed) {
        if interval.is_some() {
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        let i = next.fetch_add(1, Ordering::Relaxed);
        let digest = &options.digests[i % options.digests.len()];
        request.clear();
        // What Envoy sends for the filter's dispatch_http_call.
        request.push_str("GET /v1/entitlements/");
        request.push_str(digest);
        if let Some(scope) = &options.scope {
            request.push_str("?scope=");
            request.push_str(scope);
        }
        request.push_str(" HTTP/1.1\r\nhost: s3gate-policy\r\nauthorization: Bearer ");
        request.push_str(&options.token);
        request
            .push_str("\r\nx-envoy-expected-rq-timeout-ms: 2000\r\nx-envoy-internal: true\r\n\r\n");
        let sent_at = if interval.is_some() {
            due
        } else {
            Instant::now()
        };
        if let Some(interval) = interval {
            due += interval;
        }
        let answered = writer
            .write_all(request.as_bytes())
            .and_then(|()| read_response(&mut reader, &mut line));
        let took = sent_at.elapsed();
        match answered {
            Ok(status) if measuring.load(Ordering::Relaxed) => {
                *tally.statuses.entry(status).or_default() += 1;
                tally
                    .latencies_us
                    .push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
            }
            Ok(_) => {}
            Err(_) => {
                tally.errors += 1;
                return tally;
            }
        }
    }
    tally
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn main() {
    let options = match parse() {
        Ok(options) => Arc::new(options),
        Err(e) => {
            eprintln!("policy-load: {e}");
            std::process::exit(2);
        }
    };
    let next = Arc::new(AtomicUsize::new(0));
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let begin = Instant::now();
    let threads: Vec<_> = (0..options.connections)
        .map(|index| {
            let (options, next) = (Arc::clone(&options), Arc::clone(&next));
            let (measuring, stop) = (Arc::clone(&measuring), Arc::clone(&stop));
            std::thread::spawn(move || connection(&options, index, begin, &next, &measuring, &stop))
        })
        .collect();
    std::thread::sleep(options.warmup);
    let first = next.load(Ordering::Relaxed);
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    std::thread::sleep(options.duration);
    measuring.store(false, Ordering::Relaxed);
    let window = started.elapsed().as_secs_f64();
    let sent = next.load(Ordering::Relaxed) - first;
    stop.store(true, Ordering::Relaxed);
    let mut all = Tally::default();
    let mut joined = Vec::new();
    for thread in threads {
        joined.push(thread.join());
    }
    // Every request sent, warm-up included (for CPU per request from outside).
    let total = next.load(Ordering::Relaxed);
    for thread in joined {
        let Ok(tally) = thread else { continue };
        all.latencies_us.extend(tally.latencies_us);
        all.errors += tally.errors;
        for (status, n) in tally.statuses {
            *all.statuses.entry(status).or_default() += n;
        }
    }
    all.latencies_us.sort_unstable();
    let answered = all.latencies_us.len();
    let statuses: Vec<String> = all
        .statuses
        .iter()
        .map(|(s, n)| format!("\"{s}\":{n}"))
        .collect();
    println!(
        "{{\"connections\":{},\"rate\":{},\"keys\":{},\"scope\":{},\"seconds\":{window:.3},\"answered\":{answered},\
         \"sent\":{sent},\"total_sent\":{total},\"errors\":{},\"statuses\":{{{}}},\"lookups_per_second\":{:.0},\
         \"p50_us\":{},\"p90_us\":{},\"p99_us\":{},\"p999_us\":{},\"max_us\":{}}}",
        options.connections,
        options.rate.map_or("null".to_string(), |r| format!("{r}")),
        options.digests.len(),
        options.scope.is_some(),
        all.errors,
        statuses.join(","),
        answered as f64 / window,
        percentile(&all.latencies_us, 50.0),
        percentile(&all.latencies_us, 90.0),
        percentile(&all.latencies_us, 99.0),
        percentile(&all.latencies_us, 99.9),
        all.latencies_us.last().copied().unwrap_or(0),
    );
}
