//! Starts the real `s3gate-policy` binary on a free loopback port and talks HTTP/1.1 to it
//! over plain TCP, the way Envoy does (one kept-alive connection, several requests).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use s3gate_core::policy::entitlements::Entitlements;

const ALICE: &str = "0572c17ed012b3efdf9df98db1718f225887132739b8da945d81ac5a7d1fea45";
const BOB: &str = "3a1f6bae21de4f036f2aba80fce463677f1070f8bf81f0f475604cccd8e2d7f3";
const CAROL: &str = "05e17cacfd02d6850325b37f5cec8ca718ece990dae91990f6917effb1dd6b16";
const DAVE: &str = "ab13bac2a33e52cfb5b8f5b5dd08bbf2da5644ba478a6b434cf1e1c2b955623c";

/// The demo's environment: every principal signs with the seed's fixed secret.
const DEMO_ENV: &[(&str, &str)] = &[("S3GATE_DEFAULT_SECRET", "immuta")];
/// The token the tests' caller presents, as the gateway does.
const TOKEN: &str = "test-policy-token-5b1c";
/// The SigV4 signing key of secret `immuta` for 20261126/us-east-1/s3, computed with Python's
/// hmac module.
const IMMUTA_KEY_20261126: &str =
    "34639ad08cadd7eade8b15df08ed3f96ccf54b2b7b072b96905cd990a308ff70";
/// A SigV2 string to sign and its signature with secret `immuta` (Python's hmac module).
const STRING_TO_SIGN: &str =
    "GET\n\n\nWed, 26 Nov 2026 10:00:00 GMT\n/immuta/sales/region=eu/part-00000.csv";
const SIGNATURE: &str = "8OXSeife0pjtz0AjbBPl/L9pBeM=";

/// The running service; killed when dropped, so a failed assertion never leaks a process.
struct Service {
    child: Child,
    addr: String,
    /// The service's stderr, line by line.
    log: Receiver<String>,
    /// What it logged before it listened: token secret, loaded policies, warnings.
    startup: String,
}

impl Service {
    fn start(policies: &Path) -> Service {
        Service::start_with(policies, DEMO_ENV)
    }

    /// Starts the service with exactly these of the variables it reads set (and the callers'
    /// token).
    fn start_with(policies: &Path, env: &[(&str, &str)]) -> Service {
        Service::start_args(policies, env, &[])
    }

    /// As `start_with`, with more arguments.
    fn start_args(policies: &Path, env: &[(&str, &str)], args: &[&std::ffi::OsStr]) -> Service {
        let mut child = Command::new(env!("CARGO_BIN_EXE_s3gate-policy"))
            .arg("--policies")
            .arg(policies)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("S3GATE_DEFAULT_SECRET")
            .env_remove("S3GATE_TOKEN_SECRET")
            .env("S3GATE_POLICY_TOKEN", TOKEN)
            .envs(env.iter().copied())
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
            startup: String::new(),
        };
        let mut startup = Vec::new();
        let addr = loop {
            let line = service.wait_for_log("");
            if let Some((_, addr)) = line.split_once("listening on http://") {
                break addr.trim().to_owned();
            }
            startup.push(line);
        };
        service.addr = addr;
        service.startup = startup.join("\n");
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

    /// Every log line until the service has been quiet for 300 ms.
    fn drain_log(&self) -> String {
        let mut lines = Vec::new();
        while let Ok(line) = self.log.recv_timeout(Duration::from_millis(300)) {
            lines.push(line);
        }
        lines.join("\n")
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
    request_with(stream, method, path, &[], b"")
}

fn request_with(
    stream: &mut TcpStream,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let authorization = format!("Bearer {TOKEN}");
    let mut all = vec![("Authorization", authorization.as_str())];
    all.extend_from_slice(headers);
    request_raw(stream, method, path, &all, body)
}

/// Sends exactly these headers (no token unless given).
fn request_raw(
    stream: &mut TcpStream,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: policy\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
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

fn verify_sigv2(
    stream: &mut TcpStream,
    digest: &str,
    signature: Option<&str>,
    body: &[u8],
) -> Response {
    let headers: Vec<(&str, &str)> = signature
        .map(|s| ("x-s3gate-signature", s))
        .into_iter()
        .collect();
    let path = s3gate_core::policy::entitlements::sigv2_verify_path(digest);
    request_with(stream, "POST", &path, &headers, body)
}

fn document(response: &Response) -> Entitlements {
    assert_eq!(response.status, 200, "{}", response.body);
    serde_json::from_str(&response.body).unwrap()
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
    assert_eq!(
        names,
        ["customers", "events", "orders", "purchases", "sales"]
    );
    assert_eq!(doc.data_sources[0].hidden, ["_SUCCESS", "*.crc"]);
    // The table policy travels in the document, parsed by the filter's own type.
    let customers = doc.data_sources[0].table.as_ref().unwrap();
    let masked: Vec<&str> = customers.masks.iter().map(|m| m.column.as_str()).collect();
    assert_eq!(masked, ["email", "ssn"]);
    assert!(doc.data_sources[4].table.is_none(), "sales is not masked");

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
    let get_sigv2 = get(&mut conn, &format!("/v1/verify-sigv2/{ALICE}"));
    assert_eq!(get_sigv2.status, 405);
    assert_eq!(get_sigv2.header("Allow"), Some("POST"));

    // The log names principals and never the digest or the key.
    let line = service.wait_for_log("principal=alice");
    assert!(
        line.ends_with("entitlements principal=alice status=200"),
        "{line}"
    );
    service.wait_for_log("principal=dave status=200");
    let all = service.drain_log();
    for secret in [ALICE, DAVE, "alice-demo-key"] {
        assert!(!line.contains(secret) && !all.contains(secret), "{all}");
    }
}

#[test]
fn partition_rules_reach_the_document() {
    let service = Service::start(&repo_policies());
    let mut conn = service.connect();
    let visible = |digest: &str, conn: &mut TcpStream| {
        let doc = document(&get(conn, &format!("/v1/entitlements/{digest}")));
        doc.data_source("sales").unwrap().visible.clone()
    };
    assert_eq!(
        visible(BOB, &mut conn),
        Some(vec!["region=eu/**".to_owned()])
    );
    assert_eq!(
        visible(ALICE, &mut conn),
        Some(vec!["region=eu/**".to_owned(), "region=us/**".to_owned()])
    );
    assert_eq!(visible(CAROL, &mut conn), None);
}

#[test]
fn scope_yields_the_sigv4_signing_key_and_never_the_secret() {
    let service = Service::start(&repo_policies());
    let mut conn = service.connect();
    // Only recent days are served: today's key, derived as the filter's sigv4 module does
    // (checked against AWS's vectors there, and against Python's for IMMUTA_KEY_20261126).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let today = s3gate_core::signature::sigv4::format_amz_date(now)[..8].to_string();
    let scope = format!("{today}/us-east-1/s3");
    let path = s3gate_core::policy::entitlements::lookup_path(ALICE, Some(&scope));
    let scoped = get(&mut conn, &path);
    let doc = document(&scoped);
    let expected = s3gate_core::signature::sigv4::hex32(
        &s3gate_core::signature::sigv4::signing_key("immuta", &today, "us-east-1", "s3"),
    );
    assert_eq!(
        doc.signing_key.as_deref(),
        std::str::from_utf8(&expected).ok()
    );
    assert_eq!(
        s3gate_core::signature::sigv4::hex32(&s3gate_core::signature::sigv4::signing_key(
            "immuta",
            "20261126",
            "us-east-1",
            "s3"
        )),
        IMMUTA_KEY_20261126.as_bytes()
    );
    assert!(!scoped.body.contains("\"immuta\""), "{}", scoped.body);
    assert_eq!(doc.policy_version.len(), 64);
    assert_eq!(doc.token_key.len(), 64);

    // Without a scope, no key; the rest is the same document.
    let plain = document(&get(&mut conn, &format!("/v1/entitlements/{ALICE}")));
    assert_eq!(plain.signing_key, None);
    assert_eq!(
        Entitlements {
            signing_key: None,
            ..doc
        },
        plain
    );

    // A disabled principal gets no key.
    let dave = document(&get(
        &mut conn,
        &s3gate_core::policy::entitlements::lookup_path(DAVE, Some(&scope)),
    ));
    assert_eq!(dave.signing_key, None);

    for bad in [
        "2026-11-26/us-east-1/s3",
        "20261131/us-east-1/s3",
        "20261126/us-east-1/iam",
        "",
    ] {
        let reply = get(&mut conn, &format!("/v1/entitlements/{ALICE}?scope={bad}"));
        assert_eq!(reply.status, 400, "{bad}");
        assert!(
            reply.body.starts_with("{\"error\":\"scope "),
            "{}",
            reply.body
        );
    }
    let unknown = get(
        &mut conn,
        &s3gate_core::policy::entitlements::lookup_path(&"f".repeat(64), Some(&scope)),
    );
    assert_eq!(unknown.status, 404);

    let log = service.drain_log();
    assert!(
        log.contains("entitlements principal=alice status=200"),
        "{log}"
    );
    assert!(
        log.contains("entitlements principal=- status=400 malformed scope"),
        "{log}"
    );
    for secret in ["immuta", IMMUTA_KEY_20261126, ALICE] {
        assert!(!log.contains(secret), "{log}");
    }
}

#[test]
fn sigv2_checks_valid_tampered_unknown_disabled_and_malformed() {
    let service = Service::start(&repo_policies());
    let mut conn = service.connect();
    let sts = STRING_TO_SIGN.as_bytes();

    let valid = verify_sigv2(&mut conn, BOB, Some(SIGNATURE), sts);
    assert_eq!((valid.status, valid.body.as_str()), (204, ""));
    assert_eq!(valid.header("Content-Type"), None);

    let tampered_body = STRING_TO_SIGN.replace("region=eu", "region=us");
    let tampered = verify_sigv2(&mut conn, BOB, Some(SIGNATURE), tampered_body.as_bytes());
    assert_eq!(tampered.status, 403);
    assert_eq!(tampered.body, "{\"error\":\"signature does not match\"}");
    let tampered_signature =
        verify_sigv2(&mut conn, BOB, Some("8OXSeife0pjtz0AjbBPl/L9pBeN="), sts);
    assert_eq!(tampered_signature.status, 403);

    let unknown = verify_sigv2(&mut conn, &"f".repeat(64), Some(SIGNATURE), sts);
    assert_eq!(
        (unknown.status, unknown.body.as_str()),
        (404, "{\"error\":\"unknown key\"}")
    );

    // dave is disabled: even a correct signature is refused.
    let disabled = verify_sigv2(&mut conn, DAVE, Some(SIGNATURE), sts);
    assert_eq!(disabled.status, 403);

    assert_eq!(verify_sigv2(&mut conn, BOB, None, sts).status, 400);
    assert_eq!(
        verify_sigv2(&mut conn, "bob-demo-key", Some(SIGNATURE), sts).status,
        400
    );
    let too_long = vec![b'a'; s3gate_core::signature::sigv2::MAX_STRING_TO_SIGN + 1];
    assert_eq!(
        verify_sigv2(&mut conn, BOB, Some(SIGNATURE), &too_long).status,
        400
    );
    // The connection survives an over-long body and keeps answering.
    let again = verify_sigv2(&mut conn, BOB, Some(SIGNATURE), sts);
    assert_eq!(again.status, 204);

    let log = service.drain_log();
    for expected in [
        "verify-sigv2 principal=bob status=204",
        "verify-sigv2 principal=bob status=403 mismatch",
        "verify-sigv2 principal=dave status=403 disabled",
        "verify-sigv2 principal=- status=404 unknown key",
        "verify-sigv2 principal=- status=400 ",
    ] {
        assert!(log.contains(expected), "{expected}: {log}");
    }
    for secret in [SIGNATURE, "immuta", BOB, DAVE, "bob-demo-key"] {
        assert!(!log.contains(secret), "{secret}: {log}");
    }
}

#[test]
fn without_a_default_secret_lookups_work_but_nobody_can_sign() {
    let service = Service::start_with(&repo_policies(), &[]);
    let warning = &service.startup;
    assert!(
        warning.contains(
            "principals.yaml: principal #1 \"alice\": no secret configured (no `secret:`, and \
             S3GATE_DEFAULT_SECRET is not set); it can't sign requests"
        ),
        "{warning}"
    );
    let mut conn = service.connect();
    let doc = document(&get(
        &mut conn,
        &s3gate_core::policy::entitlements::lookup_path(
            BOB,
            Some(&format!(
                "{}/us-east-1/s3",
                &s3gate_core::signature::sigv4::format_amz_date(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_secs()
                )[..8]
            )),
        ),
    ));
    assert!(doc.enabled);
    assert_eq!(doc.signing_key, None);
    let check = verify_sigv2(&mut conn, BOB, Some(SIGNATURE), STRING_TO_SIGN.as_bytes());
    assert_eq!(check.status, 403);
    let log = service.drain_log();
    assert!(
        log.contains("entitlements principal=bob status=200 no-signing-key"),
        "{log}"
    );
    assert!(
        log.contains("verify-sigv2 principal=bob status=403 no-secret"),
        "{log}"
    );
}

#[test]
fn replicas_sharing_the_token_secret_hand_out_the_same_token_keys() {
    let shared = [
        ("S3GATE_DEFAULT_SECRET", "immuta"),
        ("S3GATE_TOKEN_SECRET", "a shared token secret"),
    ];
    let token_key = |service: &Service| {
        let mut conn = service.connect();
        let doc = document(&get(&mut conn, &format!("/v1/entitlements/{BOB}")));
        (doc.token_key, doc.policy_version)
    };
    let one = Service::start_with(&repo_policies(), &shared);
    assert!(
        one.startup
            .contains("token secret from S3GATE_TOKEN_SECRET"),
        "{}",
        one.startup
    );
    let two = Service::start_with(&repo_policies(), &shared);
    let (key_one, version_one) = token_key(&one);
    let (key_two, version_two) = token_key(&two);
    assert_eq!((&key_one, &version_one), (&key_two, &version_two));

    // Without the variable each process makes up its own, and says so.
    let alone = Service::start(&repo_policies());
    assert!(
        alone
            .startup
            .contains("token secret generated at random; set S3GATE_TOKEN_SECRET"),
        "{}",
        alone.startup
    );
    let (key_alone, version_alone) = token_key(&alone);
    assert_eq!(version_alone, version_one);
    assert_ne!(key_alone, key_one);

    for service in [&one, &two, &alone] {
        let log = format!("{}\n{}", service.startup, service.drain_log());
        assert!(
            !log.contains("a shared token secret") && !log.contains(&key_one),
            "{log}"
        );
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
    let before = document(&get(&mut conn, &format!("/v1/entitlements/{ALICE}")));
    replace(&without_bob);
    service.wait_for_log("reloaded ");
    assert_eq!(
        get(&mut conn, &format!("/v1/entitlements/{BOB}")).status,
        404
    );
    // New policies, new version, new token keys: old continuation tokens stop opening.
    let after = document(&get(&mut conn, &format!("/v1/entitlements/{ALICE}")));
    assert_ne!(after.policy_version, before.policy_version);
    assert_ne!(after.token_key, before.token_key);

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
    // Readiness tells that an older set is served, which version, and counts the refusal;
    // it needs no token, like /healthz.
    let mut probe = service.connect();
    let ready = request_raw(&mut probe, "GET", "/readyz", &[], b"");
    assert_eq!(ready.status, 200);
    let ready: serde_json::Value = serde_json::from_str(&ready.body).unwrap();
    assert_eq!(ready["status"], "serving an older set", "{ready}");
    assert_eq!(ready["policy_version"], after.policy_version.as_str());
    assert_eq!(
        (ready["reloads"].as_u64(), ready["reload_failures"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(ready["rejected_problems"], 1);

    // Fixed again: serving the files on disk.
    replace(&principals);
    service.wait_for_log("reloaded ");
    let ready = request_raw(&mut probe, "GET", "/readyz", &[], b"");
    let ready: serde_json::Value = serde_json::from_str(&ready.body).unwrap();
    assert_eq!(ready["status"], "serving", "{ready}");
    assert_eq!(ready["policy_version"], before.policy_version.as_str());
    assert_eq!(
        (ready["reloads"].as_u64(), ready["reload_failures"].as_u64()),
        (Some(2), Some(1))
    );

    drop(service);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A copy of the repository's policies in a fresh temporary folder.
fn policies_copy(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("s3gate-policy-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for file in ["data_sources.yaml", "principals.yaml", "rules.yaml"] {
        std::fs::copy(repo_policies().join(file), dir.join(file)).unwrap();
    }
    dir
}

#[test]
fn shadow_policies_log_differences_answer_from_the_enforced_set_and_keep_the_last_good() {
    let shadow = policies_copy("shadow");
    // The candidate revokes bob.
    let principals = std::fs::read_to_string(shadow.join("principals.yaml")).unwrap();
    let without_bob = principals.replace(BOB, &"0".repeat(64));
    std::fs::write(shadow.join("principals.yaml"), &without_bob).unwrap();
    let service = Service::start_args(
        &repo_policies(),
        DEMO_ENV,
        &["--shadow-policies".as_ref(), shadow.as_os_str()],
    );
    assert!(
        service.startup.contains("WARN: SHADOW POLICIES ON"),
        "{}",
        service.startup
    );
    let mut conn = service.connect();
    // Bob is still served as the enforced set says.
    let bob = get(&mut conn, &format!("/v1/entitlements/{BOB}"));
    assert_eq!(bob.status, 200);
    assert_eq!(document(&bob).principal, "bob");
    let line = service.wait_for_log("\"shadow_difference\"");
    let line: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(line["principal"], "bob");
    assert_eq!(line["kind"], "decision");
    assert_eq!(line["shadow"], "unknown key");
    // Alice is the same in both: nothing logged for her.
    assert_eq!(
        get(&mut conn, &format!("/v1/entitlements/{ALICE}")).status,
        200
    );
    let quiet = service.drain_log();
    assert!(!quiet.contains("shadow_difference"), "{quiet}");

    // A broken shadow edit is refused and the last good shadow set is still compared with.
    let tmp = shadow.join("principals.yaml.tmp");
    std::fs::write(
        &tmp,
        without_bob.replace("roles: [steward]", "roles: [stewart]"),
    )
    .unwrap();
    std::fs::rename(&tmp, shadow.join("principals.yaml")).unwrap();
    let refused = service.wait_for_log("shadow policies: reload of ");
    assert!(
        refused.contains("still comparing with the previous shadow policies"),
        "{refused}"
    );
    assert_eq!(
        get(&mut conn, &format!("/v1/entitlements/{BOB}")).status,
        200
    );
    let again = service.wait_for_log("\"shadow_difference\"");
    assert!(again.contains("\"principal\":\"bob\""), "{again}");
    drop(service);

    // An invalid shadow folder at start: the service does not start, and says which folder.
    let out = Command::new(env!("CARGO_BIN_EXE_s3gate-policy"))
        .arg("--policies")
        .arg(repo_policies())
        .arg("--shadow-policies")
        .arg(&shadow)
        .args(["--listen", "127.0.0.1:0"])
        .env("S3GATE_POLICY_TOKEN", TOKEN)
        .env("S3GATE_DEFAULT_SECRET", "immuta")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&shadow);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("listening on"), "{stderr}");
    assert!(stderr.contains("invalid shadow policies in "), "{stderr}");
    assert!(stderr.contains("unknown role \"stewart\""), "{stderr}");
    assert!(
        stderr.contains("not starting: the shadow policies in "),
        "{stderr}"
    );
}

#[test]
fn refuses_to_start_on_an_invalid_policy_folder_and_says_why() {
    let dir = std::env::temp_dir().join(format!("s3gate-policy-invalid-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for file in ["data_sources.yaml", "principals.yaml", "rules.yaml"] {
        std::fs::copy(repo_policies().join(file), dir.join(file)).unwrap();
    }
    let principals = std::fs::read_to_string(dir.join("principals.yaml")).unwrap();
    std::fs::write(
        dir.join("principals.yaml"),
        principals.replace("disabled: true", "disabled: maybe"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_s3gate-policy"))
        .arg("--policies")
        .arg(&dir)
        .args(["--listen", "127.0.0.1:0"])
        .env("S3GATE_POLICY_TOKEN", TOKEN)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("listening on"), "{stderr}");
    // One form for entries, with the name: never the parser's 0-based principals[3].
    assert!(
        stderr.contains("principals.yaml: principal #4 \"dave\": disabled: invalid type"),
        "{stderr}"
    );
    // Every line starts with its UTC time.
    for line in stderr.lines() {
        let (stamp, rest) = line.split_once(' ').unwrap();
        assert!(rest.starts_with("s3gate-policy: "), "{line}");
        assert!(
            stamp.len() == 24 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
            "{line}"
        );
    }
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

#[test]
fn calls_without_the_callers_token_are_401_and_the_token_is_never_logged() {
    let service = Service::start(&repo_policies());
    let mut conn = service.connect();
    let path = format!("/v1/entitlements/{ALICE}?scope=20261126/us-east-1/s3");
    for headers in [
        vec![],
        vec![("Authorization", "Bearer wrong-token")],
        vec![("Authorization", TOKEN)],
    ] {
        let refused = request_raw(&mut conn, "GET", &path, &headers, b"");
        assert_eq!(refused.status, 401, "{headers:?}");
        assert!(
            !refused.body.contains(IMMUTA_KEY_20261126),
            "{}",
            refused.body
        );
    }
    let sigv2 = s3gate_core::policy::entitlements::sigv2_verify_path(BOB);
    let headers = [("x-s3gate-signature", SIGNATURE)];
    let refused = request_raw(
        &mut conn,
        "POST",
        &sigv2,
        &headers,
        STRING_TO_SIGN.as_bytes(),
    );
    assert_eq!(refused.status, 401);
    // Health stays open; the right token is served on the same connection.
    assert_eq!(
        request_raw(&mut conn, "GET", "/healthz", &[], b"").status,
        200
    );
    assert!(get(&mut conn, &path).body.contains(IMMUTA_KEY_20261126));
    let log = service.drain_log();
    assert!(log.contains("caller refused status=401"), "{log}");
    assert!(
        !log.contains(TOKEN) && !log.contains("wrong-token"),
        "{log}"
    );
}

#[test]
fn refuses_to_start_without_a_token_unless_told_to_run_open() {
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_s3gate-policy"))
            .arg("--policies")
            .arg(repo_policies())
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .env_remove("S3GATE_POLICY_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let refused = run(&[]).wait_with_output().unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("S3GATE_POLICY_TOKEN is not set"),
        "{stderr}"
    );

    let mut open = run(&["--no-caller-auth"]);
    let mut lines = BufReader::new(open.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().unwrap().unwrap();
        if let Some((_, addr)) = line.split_once("listening on http://") {
            break addr.trim().to_owned();
        }
    };
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let path = format!("/v1/entitlements/{ALICE}");
    assert_eq!(request_raw(&mut conn, "GET", &path, &[], b"").status, 200);
    let _ = open.kill();
    let _ = open.wait();
}

/// Issue 13, defect 7: sockets that announce a body and never send it, or send nothing at
/// all, or dribble a head, must not keep the gateway's calls from being answered.
#[test]
fn idle_and_slow_connections_never_starve_other_callers() {
    let service = Service::start(&repo_policies());
    let sigv2 = s3gate_core::policy::entitlements::sigv2_verify_path(BOB);
    let mut held = Vec::new();
    // Far more than the connection cap: announced bodies never sent, bare connections, a
    // head without its end.
    for i in 0..200 {
        let mut stream = TcpStream::connect(&service.addr).unwrap();
        let head = match i % 3 {
            0 => format!("POST {sigv2} HTTP/1.1\r\nHost: p\r\nContent-Length: 16000\r\n\r\n"),
            1 => String::new(),
            _ => "GET /v1/entitlements/".to_owned(),
        };
        stream.write_all(head.as_bytes()).unwrap();
        held.push(stream);
    }
    let path = format!("/v1/entitlements/{ALICE}");
    let started = Instant::now();
    let mut conn = service.connect();
    conn.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    assert_eq!(get(&mut conn, &path).status, 200);
    // Well within the filter's default policy timeout (2 s).
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );

    // A request that stalls mid-body is answered 408 and closed once its deadline passes.
    let mut slow = TcpStream::connect(&service.addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    slow.write_all(
        format!("POST {sigv2} HTTP/1.1\r\nHost: p\r\nContent-Length: 16000\r\n\r\nGET").as_bytes(),
    )
    .unwrap();
    let began = Instant::now();
    let mut answer = String::new();
    slow.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer:?}");
    let waited = began.elapsed();
    assert!(
        waited >= Duration::from_secs(4) && waited < Duration::from_secs(8),
        "{waited:?}"
    );
    // Still serving, on a fresh connection and on the kept one.
    assert_eq!(get(&mut service.connect(), &path).status, 200);
    assert_eq!(get(&mut conn, &path).status, 200);
    drop(held);
}
