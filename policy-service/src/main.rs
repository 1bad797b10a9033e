//! s3gate-policy: serves the compiled entitlements of `policies/` to the s3gate filter.
//!
//! This file is the I/O shell: arguments, the HTTP server, the reload thread. The decisions
//! are in `policy` (which reads only the policy directory and principals' secrets), the routing
//! in `routes` and the caller check in `caller`, both pure.

mod caller;
mod crypto;
mod envoy_check;
mod logging;
mod metrics;
mod policy;
mod reload;
mod routes;
mod server;
mod shadow;
mod tooling;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;

use logging::log;
use policy::{Environment, Policies};
use reload::{report_invalid, report_warnings, Current};
use s3gate_core::policy::entitlements::SIGV2_SIGNATURE_HEADER;

const DEFAULT_POLICIES: &str = "policies";
const DEFAULT_LISTEN: &str = "127.0.0.1:8181";
/// Seals continuation tokens. Replicas must share it, or a token minted via one replica's key
/// won't open with another's.
const TOKEN_SECRET_ENV: &str = "S3GATE_TOKEN_SECRET";

const USAGE: &str = "\
s3gate-policy: serves s3gate entitlements compiled from a policy directory

Usage:
  s3gate-policy [--policies DIR] [--listen HOST:PORT] [--metrics-listen HOST:PORT]
                [--no-caller-auth] [--shadow-policies DIR]
  s3gate-policy --check [--policies DIR] [--envoy FILE]   (or: s3gate-policy check DIR
                [--envoy FILE])
  s3gate-policy key create --principal NAME
  s3gate-policy explain [--policies DIR] --principal NAME PATH
  s3gate-policy test [--policies DIR] FILE...
  s3gate-policy --help

Commands for policy authors (no gateway needed):
  key create          print a new random API key, once, and the key_sha256 line for
                      principals.yaml; the key is stored nowhere
  explain             what NAME would see at the virtual PATH (customers/customers.csv):
                      visible or not, the rules, partitions, masks and row filters
  test                check policy test files (YAML: cases: [{name, principal, path,
                      expect: visible|denied, masks: {column: kind}, row_filters: [column]}])
                      against the policy directory; exit 1 naming each failing case

Options:
  --policies DIR      directory with data_sources.yaml, principals.yaml, rules.yaml
                      (default: policies); re-read within 2 s of any change
  --listen HOST:PORT  address to serve HTTP on (default: 127.0.0.1:8181; port 0 picks one)
  --metrics-listen HOST:PORT
                      also serve Prometheus metrics at GET /metrics on this address (no
                      token: the metrics name no principal or key); off by default
  --no-caller-auth    serve without checking S3GATE_POLICY_TOKEN (only where nothing but
                      the gateway can reach the service)
  --shadow-policies DIR
                      a candidate policy directory evaluated beside --policies on every
                      decision: each difference (decision, grant, objects, partitions,
                      masks, row filters, TTL) is logged as a JSON line and counted in the
                      metrics; answers always come from --policies. Invalid at start: the
                      service does not start; reloaded like --policies (a bad edit keeps
                      the last good shadow set). Only this flag turns it on
  --check             validate the policy directory, print the result, exit 0 (valid) or 1
  --envoy FILE        with --check / check: also cross-check the policies against this
                      envoy.yaml: every s3gate plugin's policy_cluster and upstream clusters
                      are defined, every data source's upstream is among the plugin's
                      upstreams, every bucket a name S3 accepts
  -h, --help          show this help

HTTP API (every call but /healthz and /readyz needs `Authorization: Bearer $S3GATE_POLICY_TOKEN`,
401 without it):
  GET /v1/entitlements/{sha256 of the API key, 64 lower-case hex}[?scope=yyyymmdd/region/s3]
                      200 entitlements JSON (with the SigV4 signing key for the scope, if
                      asked), 404 unknown key, 400 malformed digest or scope
  POST /v1/verify-sigv2/{digest}  body: SigV2 string to sign (at most 16 KiB),
                      header x-s3gate-signature: the client's base64 signature
                      204 valid, 403 not, 404 unknown key, 400 malformed
  GET /healthz        200 ok (liveness: the process answers)
  GET /readyz         200 JSON: status \"serving\", or \"serving an older set\" while the
                      latest change of the policy files is refused (it is logged why); the
                      policy_version served, loaded_at, reloads, reload_failures

Environment:
  S3GATE_POLICY_TOKEN    the token the gateway presents; required unless --no-caller-auth
  S3GATE_TOKEN_SECRET    secret for continuation-token keys; set the same value on every
                         replica (default: random per process)
  S3GATE_DEFAULT_SECRET  secret of principals without `secret:` (demo only)
  and whatever variables principals name in `secret: {env: NAME}`

Policy file reference: docs/policies.md
";

#[derive(Debug, PartialEq, Eq)]
enum Command {
    Help,
    KeyCreate {
        principal: String,
    },
    Explain {
        policies: PathBuf,
        principal: String,
        path: String,
    },
    Test {
        policies: PathBuf,
        files: Vec<PathBuf>,
    },
    Check {
        policies: PathBuf,
        /// `--envoy FILE`: cross-check against this Envoy configuration.
        envoy: Option<PathBuf>,
    },
    Serve {
        policies: PathBuf,
        listen: String,
        metrics_listen: Option<String>,
        no_caller_auth: bool,
        /// `--shadow-policies`: the candidate set compared with, never answered from.
        shadow: Option<PathBuf>,
    },
}

/// The authors' commands: `check DIR`, `key create`, `explain`, `test`.
fn parse_subcommand(name: &str, rest: &[String]) -> Result<Command, String> {
    let mut policies = PathBuf::from(DEFAULT_POLICIES);
    let mut principal = None;
    let mut envoy = None;
    let mut positional = Vec::new();
    let mut args = rest.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--policies" => {
                policies = PathBuf::from(args.next().ok_or("--policies needs a value")?);
            }
            "--principal" => {
                principal = Some(args.next().ok_or("--principal needs a value")?.clone())
            }
            "--envoy" if name == "check" => {
                envoy = Some(PathBuf::from(args.next().ok_or("--envoy needs a file")?));
            }
            flag if flag.starts_with("--") => return Err(format!("unknown argument {flag:?}")),
            _ => positional.push(arg.clone()),
        }
    }
    let principal = || principal.clone().ok_or("--principal NAME is needed");
    match (name, positional.as_slice()) {
        ("check", [dir]) => Ok(Command::Check {
            policies: PathBuf::from(dir),
            envoy,
        }),
        ("check", []) => Ok(Command::Check { policies, envoy }),
        ("key", [create]) if create == "create" => Ok(Command::KeyCreate {
            principal: principal()?,
        }),
        ("explain", [path]) => Ok(Command::Explain {
            policies,
            principal: principal()?,
            path: path.clone(),
        }),
        ("test", files) if !files.is_empty() => Ok(Command::Test {
            policies,
            files: files.iter().map(PathBuf::from).collect(),
        }),
        _ => Err(format!("{name}: unexpected arguments {positional:?}")),
    }
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let args: Vec<String> = args.into_iter().collect();
    if let Some(first) = args.first() {
        if matches!(first.as_str(), "check" | "key" | "explain" | "test") {
            return parse_subcommand(first, args.get(1..).unwrap_or_default());
        }
    }
    let mut policies = PathBuf::from(DEFAULT_POLICIES);
    let mut listen = DEFAULT_LISTEN.to_owned();
    let mut metrics_listen = None;
    let mut check = false;
    let mut no_caller_auth = false;
    let mut shadow = None;
    let mut envoy = None;
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
            "--no-caller-auth" if inline.is_none() => no_caller_auth = true,
            "--policies" => policies = PathBuf::from(value("--policies")?),
            "--listen" => listen = value("--listen")?,
            "--metrics-listen" => metrics_listen = Some(value("--metrics-listen")?),
            "--envoy" => envoy = Some(PathBuf::from(value("--envoy")?)),
            "--shadow-policies" => {
                let dir = value("--shadow-policies")?;
                if dir.is_empty() {
                    return Err("--shadow-policies needs a directory".into());
                }
                shadow = Some(PathBuf::from(dir));
            }
            _ => return Err(format!("unknown argument {flag:?}")),
        }
    }
    if check && shadow.is_some() {
        return Err("--shadow-policies is for serving; check that folder with `check DIR`".into());
    }
    if envoy.is_some() && !check {
        return Err("--envoy is for --check".into());
    }
    Ok(if check {
        Command::Check { policies, envoy }
    } else {
        Command::Serve {
            policies,
            listen,
            metrics_listen,
            no_caller_auth,
            shadow,
        }
    })
}

fn main() -> ExitCode {
    match parse_args(std::env::args().skip(1)) {
        Ok(Command::Help) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Command::Check { policies, envoy }) => check(&policies, envoy.as_deref()),
        Ok(Command::KeyCreate { principal }) => key_create(&principal),
        Ok(Command::Explain {
            policies,
            principal,
            path,
        }) => explain(&policies, &principal, &path),
        Ok(Command::Test { policies, files }) => test_files(&policies, &files),
        Ok(Command::Serve {
            policies,
            listen,
            metrics_listen,
            no_caller_auth,
            shadow,
        }) => serve(
            &policies,
            &listen,
            metrics_listen.as_deref(),
            no_caller_auth,
            shadow.as_deref(),
        ),
        Err(e) => {
            log!("{e} (see s3gate-policy --help)");
            ExitCode::from(2)
        }
    }
}

fn process_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn check(dir: &Path, envoy: Option<&Path>) -> ExitCode {
    // Nothing is served, so token keys don't matter; secrets are resolved for the warnings.
    let env = Environment {
        var: &process_var,
        token_secret: &[],
    };
    match Policies::load_dir(dir, &env) {
        Ok(policies) => {
            report_warnings(&policies);
            let valid = |fits: &str| {
                println!(
                    "{}: policies are valid ({}{fits})",
                    dir.display(),
                    policies.summary()
                );
            };
            let Some(envoy) = envoy else {
                valid("");
                return ExitCode::SUCCESS;
            };
            let text = match std::fs::read_to_string(envoy) {
                Ok(text) => text,
                Err(e) => {
                    valid("");
                    log!("cannot read {}: {e}", envoy.display());
                    return ExitCode::FAILURE;
                }
            };
            let file = envoy.display().to_string();
            let problems = envoy_check::check(&text, &file, policies.data_source_targets());
            // Still one line when all is well.
            if problems.is_empty() {
                valid(&format!("; they fit {file}"));
                return ExitCode::SUCCESS;
            }
            valid("");
            println!("{} does not fit {file}:", dir.display());
            for problem in &problems {
                println!("  {problem}");
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            report_invalid(dir, &e);
            ExitCode::FAILURE
        }
    }
}

fn key_create(principal: &str) -> ExitCode {
    let mut random = [0u8; 32];
    if let Err(e) = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut random))
    {
        log!("cannot read /dev/urandom: {e}");
        return ExitCode::FAILURE;
    }
    let (key, line) = tooling::new_key(&random, principal);
    println!("API key for {principal} (shown once; give it to the principal, store it nowhere):");
    println!("  {key}");
    println!("Add to the principal's entry in principals.yaml:");
    println!("  {line}");
    ExitCode::SUCCESS
}

/// The policies for the authors' commands: loaded as the service would, warnings kept quiet.
fn load_for_tools(dir: &Path) -> Option<Policies> {
    let env = Environment {
        var: &process_var,
        token_secret: &[],
    };
    match Policies::load_dir(dir, &env) {
        Ok(policies) => Some(policies),
        Err(e) => {
            report_invalid(dir, &e);
            None
        }
    }
}

fn explain(dir: &Path, principal: &str, path: &str) -> ExitCode {
    let Some(policies) = load_for_tools(dir) else {
        return ExitCode::FAILURE;
    };
    match tooling::explain(&policies, principal, path) {
        Ok(explanation) => {
            print!("{}", explanation.render(principal, path));
            ExitCode::SUCCESS
        }
        Err(why) => {
            log!("{why}");
            ExitCode::FAILURE
        }
    }
}

fn test_files(dir: &Path, files: &[PathBuf]) -> ExitCode {
    let Some(policies) = load_for_tools(dir) else {
        return ExitCode::FAILURE;
    };
    let (mut passed, mut failed) = (0, 0);
    for file in files {
        let cases = match std::fs::read_to_string(file)
            .map_err(|e| e.to_string())
            .and_then(|text| tooling::parse_cases(&text))
        {
            Ok(cases) => cases,
            Err(why) => {
                println!("{}: cannot read the cases: {why}", file.display());
                failed += 1;
                continue;
            }
        };
        for case in &cases {
            match tooling::check_case(&policies, case) {
                None => passed += 1,
                Some(why) => {
                    failed += 1;
                    println!("{}: FAILED {:?}: {why}", file.display(), case.name);
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `S3GATE_TOKEN_SECRET`, or 32 random bytes: fine for one replica, but then every restart
/// invalidates outstanding continuation tokens.
fn token_secret() -> Result<Vec<u8>, String> {
    match std::env::var(TOKEN_SECRET_ENV) {
        Ok(secret) if secret.is_empty() => Err(format!("{TOKEN_SECRET_ENV} is set but empty")),
        Ok(secret) => {
            log!("token secret from {TOKEN_SECRET_ENV}");
            Ok(secret.into_bytes())
        }
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(format!("{TOKEN_SECRET_ENV} is not valid UTF-8"))
        }
        Err(std::env::VarError::NotPresent) => {
            let mut secret = vec![0; 32];
            std::fs::File::open("/dev/urandom")
                .and_then(|mut urandom| urandom.read_exact(&mut secret))
                .map_err(|e| format!("cannot read /dev/urandom for the token secret: {e}"))?;
            log!(
                "token secret generated at random; set {TOKEN_SECRET_ENV} when running several \
                 replicas"
            );
            Ok(secret)
        }
    }
}

/// The token callers must present, from `S3GATE_POLICY_TOKEN`; without it the service does
/// not start unless `--no-caller-auth` says to serve every caller.
fn caller_auth(no_caller_auth: bool) -> Result<caller::CallerAuth, String> {
    let env = caller::TOKEN_ENV;
    match std::env::var(env) {
        Ok(token) if !token.is_empty() => {
            log!("callers must present the token from {env}");
            Ok(caller::CallerAuth::Token(token.into_bytes()))
        }
        Ok(_) | Err(std::env::VarError::NotPresent) if no_caller_auth => {
            log!("--no-caller-auth: any caller that reaches the service is served");
            Ok(caller::CallerAuth::Open)
        }
        Ok(_) => Err(format!("{env} is set but empty")),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!("{env} is not valid UTF-8")),
        Err(std::env::VarError::NotPresent) => Err(format!(
            "{env} is not set: set it to the token the gateway presents (or pass \
             --no-caller-auth where nothing but the gateway can reach the service)"
        )),
    }
}

fn serve(
    dir: &Path,
    listen: &str,
    metrics_listen: Option<&str>,
    no_caller_auth: bool,
    shadow_dir: Option<&Path>,
) -> ExitCode {
    let auth = match caller_auth(no_caller_auth) {
        Ok(auth) => auth,
        Err(e) => {
            log!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let token_secret = match token_secret() {
        Ok(secret) => Arc::new(secret),
        Err(e) => {
            log!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let env = Environment {
        var: &process_var,
        token_secret: &token_secret,
    };
    // Taken before the first load, so an edit made while loading is picked up by the watcher.
    let seen = reload::files_state(dir);
    let policies = match Policies::load_dir(dir, &env) {
        Ok(policies) => policies,
        Err(e) => {
            report_invalid(dir, &e);
            return ExitCode::FAILURE;
        }
    };
    log!("loaded {} from {}", policies.summary(), dir.display());
    report_warnings(&policies);
    // The shadow set is checked as strictly as the enforced one: a candidate that cannot load
    // is a mistake to fix before the service runs with it, not something to compare with.
    let shadow_seen = shadow_dir.map(reload::files_state);
    let shadow = match shadow_dir {
        None => None,
        Some(shadow_dir) => match Policies::load_dir(shadow_dir, &env) {
            Ok(shadow) => {
                log!(
                    "WARN: SHADOW POLICIES ON (--shadow-policies {}): every decision is also \
                     evaluated against {}; each difference is logged (event \
                     \"shadow_difference\") and counted, and clients are answered from the \
                     enforced policies in {} only",
                    shadow_dir.display(),
                    shadow.summary(),
                    dir.display()
                );
                reload::report_warnings_set(reload::Set::Shadow, &shadow);
                Some(shadow)
            }
            Err(e) => {
                reload::report_invalid_set(reload::Set::Shadow, shadow_dir, &e);
                log!(
                    "not starting: the shadow policies in {} are invalid (fix them, or drop \
                     --shadow-policies)",
                    shadow_dir.display()
                );
                return ExitCode::FAILURE;
            }
        },
    };

    let listener = match std::net::TcpListener::bind(listen) {
        Ok(listener) => listener,
        Err(e) => {
            log!("cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Tests (and operators using port 0) read the real address from this line.
    match listener.local_addr() {
        Ok(addr) => log!("listening on http://{addr}"),
        Err(e) => {
            log!("cannot read the listening address: {e}");
            return ExitCode::FAILURE;
        }
    }

    let current: Current = reload::current(policies, shadow);
    let mut watched = vec![(reload::Set::Enforced, dir.to_path_buf(), seen)];
    if let (Some(shadow_dir), Some(shadow_seen)) = (shadow_dir, shadow_seen) {
        watched.push((reload::Set::Shadow, shadow_dir.to_path_buf(), shadow_seen));
    }
    for (set, dir, seen) in watched {
        let current = Arc::clone(&current);
        let token_secret = Arc::clone(&token_secret);
        if let Err(e) = thread::Builder::new().name("reload".into()).spawn(move || {
            let env = Environment {
                var: &process_var,
                token_secret: &token_secret,
            };
            reload::watch(set, &dir, &current, seen, &env)
        }) {
            log!("cannot start the reload thread: {e}");
            return ExitCode::FAILURE;
        }
    }

    let metrics = Arc::new(metrics::Metrics::default());
    if let Some(address) = metrics_listen {
        if let Err(e) = serve_metrics(address, Arc::clone(&metrics), Arc::clone(&current)) {
            log!("{e}");
            return ExitCode::FAILURE;
        }
    }
    let e = server::serve(
        listener,
        move |request| {
            let started = std::time::Instant::now();
            let response = answer(request, &auth, &current);
            // After the answer is made: the shadow set can only add log lines and counts.
            if response.status == 200 || response.status == 404 {
                compare_with_shadow(request, &current, &metrics);
            }
            let endpoint = routes::endpoint_name(&request.url);
            metrics.record(endpoint, response.status, started.elapsed());
            response
        },
        |line| log!("{line}"),
    );
    log!("the HTTP server stopped: {e}");
    ExitCode::FAILURE
}

/// Serves `GET /metrics` on `address`, in a thread of its own.
fn serve_metrics(
    address: &str,
    metrics: Arc<metrics::Metrics>,
    current: Current,
) -> Result<(), String> {
    let listener = std::net::TcpListener::bind(address)
        .map_err(|e| format!("cannot listen on {address} for metrics: {e}"))?;
    if let Ok(addr) = listener.local_addr() {
        log!("metrics on http://{addr}/metrics");
    }
    thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            let e = server::serve(
                listener,
                move |request| {
                    let path = request.url.split('?').next().unwrap_or_default();
                    if request.method != "GET" || path != "/metrics" {
                        return server::Response {
                            status: 404,
                            headers: vec![("Content-Type", "text/plain".into())],
                            body: b"not found".to_vec(),
                        };
                    }
                    let (policies, reloads) = reload::snapshot(&current);
                    let shadow = reload::shadow_snapshot(&current);
                    server::Response {
                        status: 200,
                        headers: vec![("Content-Type", "text/plain; version=0.0.4".into())],
                        body: metrics
                            .render(&reloads, policies.version(), shadow.as_ref())
                            .into_bytes(),
                    }
                },
                |line| log!("metrics: {line}"),
            );
            log!("the metrics server stopped: {e}");
        })
        .map(|_| ())
        .map_err(|e| format!("cannot start the metrics thread: {e}"))
}

/// With shadow policies on, an entitlements lookup's key is looked up in both sets; each
/// difference is one JSON log line and is counted. Nothing here touches the answer.
fn compare_with_shadow(request: &server::Request, current: &Current, metrics: &metrics::Metrics) {
    let Some(shadow) = reload::shadow_snapshot(current) else {
        return;
    };
    if request.method != "GET" {
        return;
    }
    let Some(digest) = routes::entitlements_digest(&request.url) else {
        return;
    };
    let (enforced, _) = reload::snapshot(current);
    let (in_enforced, in_shadow) = (enforced.lookup(digest), shadow.policies.lookup(digest));
    let differences = shadow::compare(&in_enforced, &in_shadow);
    metrics.record_shadow(&differences);
    let principal = shadow::principal_of(&in_enforced, &in_shadow).unwrap_or("-");
    for difference in &differences {
        logging::json_line(&difference.log_object(
            principal,
            enforced.short_version(),
            shadow.policies.short_version(),
        ));
    }
}

/// Answers one request: the caller check, then the routes.
fn answer(
    request: &server::Request,
    auth: &caller::CallerAuth,
    current: &Current,
) -> server::Response {
    if let Err(refusal) = auth.check(&request.url, request.header("authorization")) {
        log!("caller refused status=401 {refusal:?} token");
        return server::Response {
            status: 401,
            headers: vec![
                ("Content-Type", routes::JSON.into()),
                ("WWW-Authenticate", "Bearer".into()),
            ],
            body: br#"{"error":"caller not authenticated"}"#.to_vec(),
        };
    }
    let (policies, reloads) = reload::snapshot(current);
    let reply = routes::route(
        &routes::Request {
            method: &request.method,
            url: &request.url,
            signature: request.header(SIGV2_SIGNATURE_HEADER),
            body: &request.body,
        },
        &policies,
        &reloads,
    );
    log!("{}", reply.log);
    if let Some(decision) = &reply.decision {
        logging::json_object_line(decision);
    }
    // A 204 carries no Content-Type.
    let mut headers = Vec::new();
    if reply.status != 204 {
        headers.push(("Content-Type", reply.content_type.to_owned()));
    }
    if let Some(allow) = reply.allow {
        headers.push(("Allow", allow.to_owned()));
    }
    server::Response {
        status: reply.status,
        headers,
        body: reply.body.into_bytes(),
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
                listen: "127.0.0.1:8181".into(),
                metrics_listen: None,
                no_caller_auth: false,
                shadow: None
            })
        );
    }

    #[test]
    fn flags_with_separate_and_inline_values() {
        assert_eq!(
            parse(&["--policies", "/etc/s3gate", "--listen=0.0.0.0:9000"]),
            Ok(Command::Serve {
                policies: PathBuf::from("/etc/s3gate"),
                listen: "0.0.0.0:9000".into(),
                metrics_listen: None,
                no_caller_auth: false,
                shadow: None
            })
        );
        assert_eq!(
            parse(&["--no-caller-auth"]),
            Ok(Command::Serve {
                policies: PathBuf::from("policies"),
                listen: "127.0.0.1:8181".into(),
                metrics_listen: None,
                no_caller_auth: true,
                shadow: None
            })
        );
        assert_eq!(
            parse(&["--check", "--policies=p"]),
            Ok(Command::Check {
                policies: PathBuf::from("p"),
                envoy: None
            })
        );
        assert_eq!(
            parse(&["--check", "--envoy", "e.yaml"]),
            Ok(Command::Check {
                policies: PathBuf::from("policies"),
                envoy: Some(PathBuf::from("e.yaml"))
            })
        );
        assert!(parse(&["--envoy", "e.yaml"]).is_err());
        assert_eq!(parse(&["--listen", "x", "-h"]), Ok(Command::Help));
    }

    #[test]
    fn the_authors_commands() {
        assert_eq!(
            parse(&["check", "p"]),
            Ok(Command::Check {
                policies: PathBuf::from("p"),
                envoy: None
            })
        );
        assert_eq!(
            parse(&["check", "p", "--envoy", "envoy/envoy.yaml"]),
            Ok(Command::Check {
                policies: PathBuf::from("p"),
                envoy: Some(PathBuf::from("envoy/envoy.yaml"))
            })
        );
        assert!(parse(&["explain", "--envoy", "e", "--principal", "a", "x"]).is_err());
        assert_eq!(
            parse(&["key", "create", "--principal", "frank"]),
            Ok(Command::KeyCreate {
                principal: "frank".into()
            })
        );
        assert_eq!(
            parse(&["explain", "--principal", "alice", "customers/c.csv"]),
            Ok(Command::Explain {
                policies: PathBuf::from("policies"),
                principal: "alice".into(),
                path: "customers/c.csv".into()
            })
        );
        assert!(parse(&["explain", "customers/c.csv"]).is_err());
        assert!(parse(&["key", "create"]).is_err());
        assert!(parse(&["test"]).is_err());
    }

    #[test]
    fn mistakes_are_errors() {
        assert!(parse(&["--policies"]).is_err());
        assert!(parse(&["--port", "1"]).is_err());
        assert!(parse(&["policies"]).is_err());
        assert!(parse(&["--check=yes"]).is_err());
        assert!(parse(&["--no-caller-auth=yes"]).is_err());
        assert!(parse(&["--shadow-policies"]).is_err());
        assert!(parse(&["--shadow-policies="]).is_err());
        assert!(parse(&["--check", "--shadow-policies", "c"]).is_err());
    }

    #[test]
    fn shadow_policies_only_with_the_flag() {
        assert_eq!(
            parse(&["--shadow-policies", "candidate/"]),
            Ok(Command::Serve {
                policies: PathBuf::from("policies"),
                listen: "127.0.0.1:8181".into(),
                metrics_listen: None,
                no_caller_auth: false,
                shadow: Some(PathBuf::from("candidate/"))
            })
        );
        assert!(matches!(
            parse(&["--shadow-policies=c"]),
            Ok(Command::Serve {
                shadow: Some(_),
                ..
            })
        ));
    }
}
