//! s3gate-policy: serves the compiled entitlements of `policies/` to the s3gate filter.
//!
//! This file is the I/O shell: arguments, the HTTP workers, the reload thread. The decisions
//! are in `policy` and the routing in `routes`, both pure.

mod policy;
mod routes;

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, RwLock};
use std::thread;
use std::time::{Duration, SystemTime};

use policy::{Policies, POLICY_FILES};

const DEFAULT_POLICIES: &str = "policies";
const DEFAULT_LISTEN: &str = "127.0.0.1:8181";
/// Enough for a service that answers about one request per key per TTL per Envoy.
const WORKERS: usize = 4;
const RELOAD_EVERY: Duration = Duration::from_secs(2);

const USAGE: &str = "\
s3gate-policy: serves s3gate entitlements compiled from a policy directory

Usage:
  s3gate-policy [--policies DIR] [--listen HOST:PORT]
  s3gate-policy --check [--policies DIR]
  s3gate-policy --help

Options:
  --policies DIR      directory with data_sources.yaml, principals.yaml, rules.yaml
                      (default: policies); re-read within 2 s of any change
  --listen HOST:PORT  address to serve HTTP on (default: 127.0.0.1:8181; port 0 picks one)
  --check             validate the policy directory, print the result, exit 0 (valid) or 1
  -h, --help          show this help

HTTP API:
  GET /v1/entitlements/{sha256 of the API key, 64 lower-case hex}
                      200 entitlements JSON, 404 unknown key, 400 malformed digest
  GET /healthz        200 ok

Policy file reference: docs/policies.md
";

/// Writes one line to stderr. Unlike `eprintln!`, a closed stderr never takes a worker down.
macro_rules! log {
    ($($arg:tt)*) => {
        log_line(format_args!($($arg)*))
    };
}

fn log_line(args: fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "s3gate-policy: {args}");
}

#[derive(Debug, PartialEq, Eq)]
enum Command {
    Help,
    Check { policies: PathBuf },
    Serve { policies: PathBuf, listen: String },
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut policies = PathBuf::from(DEFAULT_POLICIES);
    let mut listen = DEFAULT_LISTEN.to_owned();
    let mut check = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        // Both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg, None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--check" if inline.is_none() => check = true,
            "--policies" => policies = PathBuf::from(value("--policies")?),
            "--listen" => listen = value("--listen")?,
            _ => return Err(format!("unknown argument {flag:?}")),
        }
    }
    Ok(if check {
        Command::Check { policies }
    } else {
        Command::Serve { policies, listen }
    })
}

fn main() -> ExitCode {
    match parse_args(std::env::args().skip(1)) {
        Ok(Command::Help) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Command::Check { policies }) => check(&policies),
        Ok(Command::Serve { policies, listen }) => serve(&policies, &listen),
        Err(e) => {
            log!("{e} (see s3gate-policy --help)");
            ExitCode::from(2)
        }
    }
}

fn check(dir: &Path) -> ExitCode {
    match Policies::load_dir(dir) {
        Ok(policies) => {
            println!(
                "{}: policies are valid ({})",
                dir.display(),
                policies.summary()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            report_invalid(dir, &e);
            ExitCode::FAILURE
        }
    }
}

fn report_invalid(dir: &Path, e: &policy::PolicyError) {
    log!("invalid policies in {}:", dir.display());
    for problem in &e.problems {
        log!("  {problem}");
    }
}

/// The policies every worker answers from; the reload thread swaps in a new `Arc`.
type Current = Arc<RwLock<Arc<Policies>>>;

fn serve(dir: &Path, listen: &str) -> ExitCode {
    // Taken before the first load, so an edit made while loading is picked up by the watcher.
    let seen = files_state(dir);
    let policies = match Policies::load_dir(dir) {
        Ok(policies) => policies,
        Err(e) => {
            report_invalid(dir, &e);
            return ExitCode::FAILURE;
        }
    };
    log!("loaded {} from {}", policies.summary(), dir.display());

    let server = match tiny_http::Server::http(listen) {
        Ok(server) => Arc::new(server),
        Err(e) => {
            log!("cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Tests (and operators using port 0) read the real address from this line.
    log!("listening on http://{}", server.server_addr());

    let current: Current = Arc::new(RwLock::new(Arc::new(policies)));
    {
        let current = Arc::clone(&current);
        let dir = dir.to_path_buf();
        if let Err(e) = thread::Builder::new()
            .name("reload".into())
            .spawn(move || watch(&dir, &current, seen))
        {
            log!("cannot start the reload thread: {e}");
            return ExitCode::FAILURE;
        }
    }

    let mut workers = Vec::with_capacity(WORKERS);
    for i in 0..WORKERS {
        let server = Arc::clone(&server);
        let current = Arc::clone(&current);
        match thread::Builder::new()
            .name(format!("http-{i}"))
            .spawn(move || work(&server, &current))
        {
            Ok(handle) => workers.push(handle),
            Err(e) => {
                log!("cannot start HTTP worker: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    // Workers never return; if all of them somehow do, stop so a supervisor restarts us.
    for worker in workers {
        let _ = worker.join();
    }
    log!("all HTTP workers stopped");
    ExitCode::FAILURE
}

fn snapshot(current: &Current) -> Arc<Policies> {
    // Nothing panics while holding the lock, but a poisoned lock still holds valid policies.
    match current.read() {
        Ok(guard) => Arc::clone(&guard),
        Err(poisoned) => Arc::clone(&poisoned.into_inner()),
    }
}

fn work(server: &tiny_http::Server, current: &Current) {
    loop {
        let request = match server.recv() {
            Ok(request) => request,
            Err(e) => {
                log!("receiving a request failed: {e}");
                // Avoid spinning if accepting keeps failing (e.g. out of file descriptors).
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let reply = routes::route(request.method().as_str(), request.url(), &snapshot(current));
        log!("{}", reply.log);

        let mut response =
            tiny_http::Response::from_string(reply.body).with_status_code(reply.status);
        if let Ok(header) = tiny_http::Header::from_bytes("Content-Type", reply.content_type) {
            response.add_header(header);
        }
        if reply.allow_get {
            if let Ok(header) = tiny_http::Header::from_bytes("Allow", "GET") {
                response.add_header(header);
            }
        }
        if let Err(e) = request.respond(response) {
            log!("writing a response failed: {e}");
        }
    }
}

/// What the watcher compares: per policy file, its modification time, size and inode (a
/// renamed-in file, as from an atomic save or a Kubernetes ConfigMap swap, has a new inode
/// even when time and size match). `None` for a file that can't be read right now.
type FilesState = Vec<Option<(SystemTime, u64, u64)>>;

fn files_state(dir: &Path) -> FilesState {
    POLICY_FILES
        .iter()
        .map(|file| {
            let meta = std::fs::metadata(dir.join(file)).ok()?;
            Some((meta.modified().ok()?, meta.len(), inode(&meta)))
        })
        .collect()
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(meta)
}

#[cfg(not(unix))]
fn inode(_meta: &std::fs::Metadata) -> u64 {
    0
}

/// Every `RELOAD_EVERY`, reloads when the files changed. A bad edit is logged once and the
/// previous policies keep serving until the files change again.
fn watch(dir: &Path, current: &Current, mut seen: FilesState) {
    loop {
        thread::sleep(RELOAD_EVERY);
        let now = files_state(dir);
        if now == seen {
            continue;
        }
        seen = now;
        match Policies::load_dir(dir) {
            Ok(policies) => {
                log!("reloaded {} from {}", policies.summary(), dir.display());
                let policies = Arc::new(policies);
                match current.write() {
                    Ok(mut guard) => *guard = policies,
                    Err(poisoned) => *poisoned.into_inner() = policies,
                }
            }
            Err(e) => {
                log!(
                    "reload of {} failed; still serving the previous policies",
                    dir.display()
                );
                report_invalid(dir, &e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        parse_args(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn defaults() {
        assert_eq!(
            parse(&[]),
            Ok(Command::Serve {
                policies: PathBuf::from("policies"),
                listen: "127.0.0.1:8181".into()
            })
        );
    }

    #[test]
    fn flags_with_separate_and_inline_values() {
        assert_eq!(
            parse(&["--policies", "/etc/s3gate", "--listen=0.0.0.0:9000"]),
            Ok(Command::Serve {
                policies: PathBuf::from("/etc/s3gate"),
                listen: "0.0.0.0:9000".into()
            })
        );
        assert_eq!(
            parse(&["--check", "--policies=p"]),
            Ok(Command::Check {
                policies: PathBuf::from("p")
            })
        );
        assert_eq!(parse(&["--listen", "x", "-h"]), Ok(Command::Help));
    }

    #[test]
    fn mistakes_are_errors() {
        assert!(parse(&["--policies"]).is_err());
        assert!(parse(&["--port", "1"]).is_err());
        assert!(parse(&["policies"]).is_err());
        assert!(parse(&["--check=yes"]).is_err());
    }
}
