//! Baseline (b) of `make bench`: the floor of any proxy-wasm design of s3gate.
//!
//! Per request it reads two headers (`:path`, `authorization`) and rewrites two (`:path`,
//! `:authority`), with a prefix map from the plugin configuration: the least a gateway that
//! maps a virtual bucket onto a real one can do. No JSON, no hashing, no shared data, so the
//! gap between this and Envoy without a filter is the price of the wasm VM and host calls alone.
//!
//! Configuration (plain text, one directive a line, no JSON parser linked in):
//!   authority s3.demo.internal
//!   map /s3p/immuta/sales/ /acme-warehouse-prod/curated/sales/
//!
//! Built with feature `levers` (never for baseline (b)), `lever NAME` lines switch on one of
//! s3gate's per-request habits each, to price them in Envoy (see `levers` below).

use std::rc::Rc;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType};

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

#[derive(Default)]
struct Config {
    authority: String,
    maps: Vec<(String, String)>,
    #[cfg(feature = "levers")]
    levers: levers::Levers,
}

#[derive(Default)]
struct Root {
    config: Rc<Config>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        let mut config = Config::default();
        for line in text.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["authority", a] => config.authority = (*a).to_string(),
                ["map", from, to] => config.maps.push(((*from).to_string(), (*to).to_string())),
                #[cfg(feature = "levers")]
                ["lever", name] if config.levers.enable(name) => {}
                [] => {}
                _ => return false,
            }
        }
        self.config = Rc::new(config);
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Floor {
            config: Rc::clone(&self.config),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Floor {
    config: Rc<Config>,
}

impl Context for Floor {}

impl HttpContext for Floor {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        #[cfg(feature = "levers")]
        let (path, authorization) = levers::read_request(self);
        #[cfg(not(feature = "levers"))]
        let (path, authorization) = (
            self.get_http_request_header(":path").unwrap_or_default(),
            self.get_http_request_header("authorization"),
        );
        let Some(_authorization) = authorization else {
            self.send_http_response(403, vec![], None);
            return Action::Pause;
        };
        let mapped = self.config.maps.iter().find_map(|(from, to)| {
            path.strip_prefix(from.as_str())
                .map(|rest| format!("{to}{rest}"))
        });
        let Some(mapped) = mapped else {
            self.send_http_response(404, vec![], None);
            return Action::Pause;
        };
        self.set_http_request_header(":path", Some(&mapped));
        self.set_http_request_header(":authority", Some(&self.config.authority));
        #[cfg(feature = "levers")]
        levers::after_rewrite(self, &path, &_authorization);
        Action::Continue
    }

    #[cfg(feature = "levers")]
    fn on_http_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        levers::response_headers(self);
        Action::Continue
    }
}

/// s3gate's per-request habits (src/host.rs), one switch each.
#[cfg(feature = "levers")]
mod levers {
    use hmac::{Hmac, Mac};
    use proxy_wasm::traits::{Context, HttpContext};
    use sha2::{Digest, Sha256};

    use super::Floor;

    #[derive(Default)]
    pub struct Levers {
        /// Read the request with `get_http_request_headers()` (every header copied into the
        /// VM) instead of two `get_http_request_header` calls.
        all_request_headers: bool,
        /// SHA-256 hex of the access key, as `auth::key_digest` does on every request.
        sha256_key: bool,
        /// SigV4-shaped work: a canonical request from the method, path and three headers, its
        /// SHA-256, then HMAC-SHA256 of the string to sign (what `sigv4::verify` computes).
        sigv4_shaped: bool,
        /// `get_current_time()` for the cache expiry check.
        clock: bool,
        /// Remove the client's credentials: list the headers again and remove `authorization`
        /// and `x-amz-*` one call each; then look up `range`.
        strip_credentials: bool,
        /// Response: read every header, filter, and write them all back, plus one added.
        response_headers: bool,
    }

    impl Levers {
        pub fn enable(&mut self, name: &str) -> bool {
            let flag = match name {
                "all-request-headers" => &mut self.all_request_headers,
                "sha256-key" => &mut self.sha256_key,
                "sigv4-shaped" => &mut self.sigv4_shaped,
                "clock" => &mut self.clock,
                "strip-credentials" => &mut self.strip_credentials,
                "response-headers" => &mut self.response_headers,
                _ => return false,
            };
            *flag = true;
            true
        }
    }

    pub fn read_request(f: &Floor) -> (String, Option<String>) {
        if !f.config.levers.all_request_headers {
            return (
                f.get_http_request_header(":path").unwrap_or_default(),
                f.get_http_request_header("authorization"),
            );
        }
        let headers = f.get_http_request_headers();
        let find = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        (find(":path").unwrap_or_default(), find("authorization"))
    }

    fn hex(bytes: &[u8]) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
        out
    }

    pub fn after_rewrite(f: &Floor, path: &str, authorization: &str) {
        let levers = &f.config.levers;
        if levers.sha256_key {
            // The access key: what follows `Credential=` up to the first '/'.
            let key = authorization
                .split_once("Credential=")
                .and_then(|(_, rest)| rest.split('/').next())
                .unwrap_or(authorization);
            std::hint::black_box(hex(&Sha256::digest(key.as_bytes())));
        }
        if levers.sigv4_shaped {
            // Header values of botocore's size; s3gate reads them from its one header copy, so
            // no host calls here either.
            let (date, payload) = ("20261126T104718Z", "e".repeat(64));
            let canonical = format!(
                "GET\n{path}\n\nhost:127.0.0.1:10000\nx-amz-content-sha256:{payload}\n\
                 x-amz-date:{date}\n\nhost;x-amz-content-sha256;x-amz-date\n{payload}"
            );
            let to_sign = format!(
                "AWS4-HMAC-SHA256\n{date}\n20261126/us-east-1/s3/aws4_request\n{}",
                hex(&Sha256::digest(canonical.as_bytes()))
            );
            if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&[7u8; 32]) {
                mac.update(to_sign.as_bytes());
                std::hint::black_box(hex(&mac.finalize().into_bytes()));
            }
        }
        if levers.clock {
            std::hint::black_box(f.get_current_time());
        }
        if levers.strip_credentials {
            for (name, _) in f.get_http_request_headers() {
                if name == "authorization" || name.starts_with("x-amz-") {
                    f.set_http_request_header(&name, None);
                }
            }
            std::hint::black_box(f.get_http_request_header("range"));
        }
    }

    pub fn response_headers(f: &mut Floor) {
        if !f.config.levers.response_headers {
            return;
        }
        let mut kept: Vec<(String, String)> = f
            .get_http_response_headers()
            .into_iter()
            .filter(|(n, _)| n != "server" && !n.starts_with("x-amz-"))
            .collect();
        kept.push(("x-amz-request-id".into(), "bench".into()));
        let kept: Vec<(&str, &str)> = kept.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        f.set_http_response_headers(kept);
    }
}
