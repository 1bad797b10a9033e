//! A small HTTP/1.1 server on `std::net`, sized for one caller (the gateway's Envoy) and
//! built so that no client can hold it: every request must arrive whole (head and body)
//! within `REQUEST_DEADLINE` of its first byte, connections are capped at `MAX_CONNECTIONS`,
//! and at the cap a new connection displaces a held one (see `State`), so idle or slow
//! sockets never starve the gateway's.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A request's head and body must both arrive within this time of its first byte.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(5);
/// A connection with no request in flight is closed after this long. Longer than the
/// `policy` cluster's idle timeout in envoy.yaml, so Envoy closes first and never sends on a
/// connection the service is closing.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// Connections served at once, each by its own thread.
pub const MAX_CONNECTIONS: usize = 64;
/// The longest request head (request line and headers).
const MAX_HEAD: usize = 16 * 1024;
/// The most of an over-long body read and dropped to keep a connection alive.
const MAX_DRAIN: u64 = 64 * 1024;
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// One parsed request.
pub struct Request {
    pub method: String,
    pub url: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct Response {
    pub status: u16,
    /// Extra headers (Content-Length is added).
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// What a connection is doing, in the order connections are displaced at the cap: one that
/// never sent a byte first, then one whose request is still arriving (the gateway sends each
/// request in one go, so a request still arriving is a slow client's), then a kept-alive one
/// between requests (possibly the gateway's, which reconnects). Oldest first within each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum State {
    Fresh,
    Reading,
    Idle,
}

/// The open connections: for each, a handle to shut it down, its state and since when.
#[derive(Default)]
struct Registry {
    next_id: u64,
    open: HashMap<u64, (TcpStream, State, Instant)>,
}

type Shared = Arc<Mutex<Registry>>;

fn lock(registry: &Shared) -> std::sync::MutexGuard<'_, Registry> {
    // Nothing panics while holding the lock; a poisoned registry is still consistent.
    match registry.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Registry {
    /// Admits a connection; at the cap it first shuts down the one `State` ranks first, so a
    /// newcomer is always served and held sockets only ever displace each other. `None` if the
    /// socket cannot be registered.
    fn admit(&mut self, stream: &TcpStream, now: Instant) -> Option<u64> {
        if self.open.len() >= MAX_CONNECTIONS {
            let victim = self
                .open
                .iter()
                .map(|(id, (_, state, since))| (*state, *since, *id))
                .min()
                .map(|(_, _, id)| id);
            if let Some((victim, _, _)) = victim.and_then(|id| self.open.remove(&id)) {
                let _ = victim.shutdown(Shutdown::Both);
            }
        }
        let handle = stream.try_clone().ok()?;
        let id = self.next_id;
        self.next_id += 1;
        self.open.insert(id, (handle, State::Fresh, now));
        Some(id)
    }

    fn set(&mut self, id: u64, state: State) {
        if let Some(entry) = self.open.get_mut(&id) {
            (entry.1, entry.2) = (state, Instant::now());
        }
    }
}

/// Accepts connections forever; `handle` answers each request.
pub fn serve<H>(listener: TcpListener, handle: H, log: fn(&str)) -> io::Error
where
    H: Fn(&Request) -> Response + Send + Sync + 'static,
{
    let handle = Arc::new(handle);
    let registry: Shared = Arc::default();
    loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) => {
                log(&format!("accepting a connection failed: {e}"));
                // Avoid spinning if accepting keeps failing (e.g. out of file descriptors).
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let Some(id) = lock(&registry).admit(&stream, Instant::now()) else {
            log("cannot register a connection");
            let _ = stream.shutdown(Shutdown::Both);
            continue;
        };
        let handle = Arc::clone(&handle);
        let registry_for_thread = Arc::clone(&registry);
        let spawned = thread::Builder::new()
            .name(format!("conn-{id}"))
            .spawn(move || {
                if let Err(e) = connection(&stream, id, &registry_for_thread, &*handle) {
                    if !matches!(
                        e.kind(),
                        io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset
                    ) {
                        log(&format!("connection closed: {e}"));
                    }
                }
                let _ = stream.shutdown(Shutdown::Both);
                lock(&registry_for_thread).open.remove(&id);
            });
        if let Err(e) = spawned {
            log(&format!("cannot start a connection thread: {e}"));
            lock(&registry).open.remove(&id);
        }
    }
}

/// Serves one connection's requests in turn until the client closes it, a timeout passes, or
/// a request cannot be kept alive after.
fn connection<H>(stream: &TcpStream, id: u64, registry: &Shared, handle: &H) -> io::Result<()>
where
    H: Fn(&Request) -> Response,
{
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream);
    let mut writer = stream;
    loop {
        // Idle until the next request's first byte.
        reader.get_ref().set_read_timeout(Some(IDLE_TIMEOUT))?;
        if reader.fill_buf()?.is_empty() {
            return Ok(());
        }
        lock(registry).set(id, State::Reading);
        let deadline = Instant::now() + REQUEST_DEADLINE;
        let (response, keep_alive) = match read_request(&mut reader, deadline) {
            Ok(Parsed::Request(request, keep_alive)) => (handle(&request), keep_alive),
            Ok(Parsed::Refused(status, why)) => (plain(status, why), false),
            Err(e) if is_timeout(&e) => (plain(408, "request timeout"), false),
            Err(e) => return Err(e),
        };
        write_response(&mut writer, &response, keep_alive)?;
        if !keep_alive {
            return Ok(());
        }
        lock(registry).set(id, State::Idle);
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn plain(status: u16, message: &str) -> Response {
    Response {
        status,
        headers: vec![("Content-Type", "text/plain; charset=utf-8".into())],
        body: message.as_bytes().to_vec(),
    }
}

enum Parsed {
    /// The request, and whether the connection may serve another after it.
    Request(Request, bool),
    /// Not servable: answered with this status and the connection closed.
    Refused(u16, &'static str),
}

/// Sets the socket's read timeout to what is left before `deadline`.
fn arm(reader: &BufReader<&TcpStream>, deadline: Instant) -> io::Result<()> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::ErrorKind::TimedOut.into());
    }
    reader.get_ref().set_read_timeout(Some(left))
}

fn read_line(
    reader: &mut BufReader<&TcpStream>,
    deadline: Instant,
    budget: &mut usize,
) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    loop {
        // Only a read that may wait needs the timeout: setting it is a system call, and
        // setting it per header line was a fifth of the calls per lookup.
        if reader.buffer().is_empty() {
            arm(reader, deadline)?;
        }
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (&available[..=at], true),
            None => (available, false),
        };
        if chunk.len() > *budget {
            return Ok(None);
        }
        *budget -= chunk.len();
        line.extend_from_slice(chunk);
        let used = chunk.len();
        reader.consume(used);
        if done {
            while matches!(line.last(), Some(b'\n' | b'\r')) {
                line.pop();
            }
            return Ok(String::from_utf8(line).ok());
        }
    }
}

fn read_request(reader: &mut BufReader<&TcpStream>, deadline: Instant) -> io::Result<Parsed> {
    let mut budget = MAX_HEAD;
    let Some(request_line) = read_line(reader, deadline, &mut budget)? else {
        return Ok(Parsed::Refused(431, "request head too large"));
    };
    let mut parts = request_line.split(' ');
    let (Some(method), Some(url), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Ok(Parsed::Refused(400, "malformed request line"));
    };
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Ok(Parsed::Refused(505, "HTTP version not supported"));
    }
    let mut headers = Vec::new();
    loop {
        let Some(line) = read_line(reader, deadline, &mut budget)? else {
            return Ok(Parsed::Refused(431, "request head too large"));
        };
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Ok(Parsed::Refused(400, "malformed header"));
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let mut request = Request {
        method: method.to_owned(),
        url: url.to_owned(),
        headers,
        body: Vec::new(),
    };
    if request.header("transfer-encoding").is_some() {
        // The gateway always sends Content-Length.
        return Ok(Parsed::Refused(501, "transfer-encoding not supported"));
    }
    let length = match request.header("content-length").map(str::parse::<u64>) {
        None => 0,
        Some(Ok(length)) => length,
        Some(Err(_)) => return Ok(Parsed::Refused(400, "malformed content-length")),
    };
    // One byte more than the service accepts tells a body at the limit from one beyond it.
    let limit = crate::routes::MAX_STRING_TO_SIGN as u64 + 1;
    let wanted = length.min(limit);
    let mut body = Vec::with_capacity(usize::try_from(wanted).unwrap_or(0));
    while (body.len() as u64) < wanted {
        arm(reader, deadline)?;
        let read = reader
            .by_ref()
            .take(wanted - body.len() as u64)
            .read_to_end(&mut body);
        match read {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    // The rest of a body beyond the limit is read and dropped, within the same deadline, so
    // the connection can serve the next request; beyond `MAX_DRAIN` it is closed instead.
    let rest = length - wanted;
    if rest > 0 && rest <= MAX_DRAIN {
        let mut left = rest;
        let mut sink = [0u8; 4096];
        while left > 0 {
            arm(reader, deadline)?;
            let chunk = usize::try_from(left.min(sink.len() as u64)).unwrap_or(sink.len());
            match reader.read(&mut sink[..chunk]) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => left -= n as u64,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
    request.body = body;
    let close = request
        .header("connection")
        .is_some_and(|c| c.eq_ignore_ascii_case("close"));
    let keep_alive = version == "HTTP/1.1" && !close && rest <= MAX_DRAIN;
    Ok(Parsed::Request(request, keep_alive))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

fn write_response(
    writer: &mut &TcpStream,
    response: &Response,
    keep_alive: bool,
) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n", response.body.len()));
    if !keep_alive {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&response.body);
    writer.write_all(&bytes)?;
    writer.flush()
}
