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
        levers::after_rewrite(self, &_authorization);
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
    use proxy_wasm::traits::{Context, HttpContext};
    use sha2::{Digest, Sha256};

    use super::Floor;

    #[derive(Default)]
    pub struct Levers {
        /// Read the request with `get_http_request_headers()` (every header copied into the
        /// VM) instead of two `get_http_request_header` calls.
        all_request_headers: bool,
        /// SHA-256 hex of the credential, as `auth::key_digest` does on every request.
        sha256_key: bool,
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

    pub fn after_rewrite(f: &Floor, authorization: &str) {
        let levers = &f.config.levers;
        if levers.sha256_key {
            let digest = Sha256::digest(authorization.as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            std::hint::black_box(hex);
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
