//! Starts the real `s3gate-policy` binary on a free loopback port and talks HTTP/1.1 to it
//! over plain TCP, the way Envoy does (one kept-alive connection, several requests).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use s3gate::entitlements::Entitlements;

const ALICE: &str = "0572c17ed012b3efdf9df98db1718f225887132739b8da945d81ac5a7d1fea45";
const BOB: &str = "3a1f6bae21de4f036f2aba80fce463677f1070f8bf81f0f475604cccd8e2d7f3";
const DAVE: &str = "ab13bac2a33e52cfb5b8f5b5dd08bbf2da5644ba478a6b434cf1e1c2b955623c";

/// The running service; killed when dropped, so a failed assertion never leaks a process.
struct Service {
    child: Child,
    addr: String,
    /// The service's stderr, line by line.
    log: Receiver<String>,
}

impl Service {
    fn start(policies: &Path) -> Service {
        let mut child = Command::new(env!("CARGO_BIN_EXE_s3gate-policy"))
            .arg("--policies")
            .arg(policies)
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Drain stderr on a thread so the service never blocks on a full pipe.
        let stderr = child.stderr.take().unwrap();
        let (tx, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut service = Service {
            child,
            addr: String::new(),
            log,
        };
        let line = service.wait_for_log("listening on http://");
        service.addr = line
            .split("listening on http://")
            .nth(1)
            .unwrap()
            .trim()
            .to_owned();
        service
    }

    /// Waits (10 s at most) for a log line containing `needle`; returns it.
    fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(e) => panic!("no log line containing {needle:?}: {e}"),
            }
        }
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(&self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one request on `stream` and reads exactly one response (by Content-Length), leaving
/// the connection ready for the next request.
fn request(stream: &mut TcpStream, method: &str, path: &str) -> Response {
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: policy\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let mut response = Response {
        status,
        headers,
        body: String::new(),
    };
    let length: usize = response
        .header("Content-Length")
        .expect("Content-Length")
        .parse()
        .unwrap();
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    // Nothing may be buffered beyond this response, or the next read would lose it.
    assert!(reader.buffer().is_empty());
    response.body = String::from_utf8(body).unwrap();
    response
}

fn get(stream: &mut TcpStream, path: &str) -> Response {
    request(stream, "GET", path)
}

fn repo_policies() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies")
}

#[test]
fn answers_entitlements_health_and_errors_on_one_kept_alive_connection() {
    let service = Service::start(&repo_policies());
    let mut conn = service.connect();

    let alice = get(&mut conn, &format!("/v1/entitlements/{ALICE}"));
    assert_eq!(alice.status, 200);
    assert_eq!(alice.header("Content-Type"), Some("application/json"));
    let doc: Entitlements = serde_json::from_str(&alice.body).unwrap();
    assert_eq!(doc.principal, "alice");
    assert!(doc.enabled);
    let names: Vec<&str> = doc.data_sources.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["customers", "events", "sales"]);
    assert_eq!(doc.data_sources[0].hidden, ["_SUCCESS", "*.crc"]);

    let dave = get(&mut conn, &format!("/v1/entitlements/{DAVE}"));
    assert_eq!(dave.status, 200);
    let doc: Entitlements = serde_json::from_str(&dave.body).unwrap();
    assert!(!doc.enabled && doc.data_sources.is_empty());

    let unknown = get(&mut conn, &format!("/v1/entitlements/{}", "f".repeat(64)));
    assert_eq!(
        (unknown.status, unknown.body.as_str()),
        (404, "{\"error\":\"unknown key\"}")
    );

    let malformed = get(&mut conn, "/v1/entitlements/alice-demo-key");
    assert_eq!(malformed.status, 400);

    let health = get(&mut conn, "/healthz");
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));

    assert_eq!(get(&mut conn, "/nope").status, 404);
    let post = request(&mut conn, "POST", "/healthz");
    assert_eq!(post.status, 405);
    assert_eq!(post.header("Allow"), Some("GET"));

    // The log names principals and never the digest or the key.
    let line = service.wait_for_log("principal=alice");
    assert!(
        line.ends_with("entitlements principal=alice status=200"),
        "{line}"
    );
    service.wait_for_log("principal=dave status=200");
    let mut rest = Vec::new();
    while let Ok(line) = service.log.recv_timeout(Duration::from_millis(300)) {
        rest.push(line);
    }
    let all = rest.join("\n");
    for secret in [ALICE, DAVE, "alice-demo-key"] {
        assert!(!line.contains(secret) && !all.contains(secret), "{all}");
    }
}

#[test]
fn reloads_changed_policies_and_keeps_the_previous_ones_on_a_bad_edit() {
    let dir = std::env::temp_dir().join(format!("s3gate-policy-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for file in ["data_sources.yaml", "principals.yaml", "rules.yaml"] {
        std::fs::copy(repo_policies().join(file), dir.join(file)).unwrap();
    }
    let service = Service::start(&dir);
    let mut conn = service.connect();
    assert_eq!(
        get(&mut conn, &format!("/v1/entitlements/{BOB}")).status,
        200
    );

    // Revoke bob: write to a temporary file and rename it over, as editors and deploy
    // tools do, so the service never reads a half-written file.
    let principals = std::fs::read_to_string(dir.join("principals.yaml")).unwrap();
    let without_bob = principals.replace(BOB, &"0".repeat(64));
    let replace = |text: &str| {
        let tmp = dir.join("principals.yaml.tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, dir.join("principals.yaml")).unwrap();
    };
    replace(&without_bob);
    service.wait_for_log("reloaded ");
    assert_eq!(
        get(&mut conn, &format!("/v1/entitlements/{BOB}")).status,
        404
    );

    // A broken edit is reported and the service keeps answering from the last good policies.
    replace(&without_bob.replace("roles: [steward]", "roles: [stewart]"));
    service.wait_for_log("reload of ");
    let problem = service.wait_for_log("unknown role \"stewart\"");
    assert!(
        problem.contains("principals.yaml: principal #3 \"carol\""),
        "{problem}"
    );
    assert_eq!(
        get(&mut conn, &format!("/v1/entitlements/{ALICE}")).status,
        200
    );
    assert_eq!(
        get(&mut conn, &format!("/v1/entitlements/{BOB}")).status,
        404
    );

    drop(service);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_mode_exits_0_for_valid_and_1_for_invalid_policies() {
    let valid = Command::new(env!("CARGO_BIN_EXE_s3gate-policy"))
        .arg("--check")
        .arg("--policies")
        .arg(repo_policies())
        .output()
        .unwrap();
    assert_eq!(valid.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&valid.stdout).contains("policies are valid"));

    let missing = std::env::temp_dir().join(format!("s3gate-policy-none-{}", std::process::id()));
    let invalid = Command::new(env!("CARGO_BIN_EXE_s3gate-policy"))
        .args(["--check", "--policies"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(invalid.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&invalid.stderr);
    assert!(
        stderr.contains("data_sources.yaml: cannot read"),
        "{stderr}"
    );

    let usage = Command::new(env!("CARGO_BIN_EXE_s3gate-policy"))
        .arg("--nope")
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
}
