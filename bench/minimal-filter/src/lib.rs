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
        if self.config.levers.verify_sign.is_some() {
            return levers::verify_and_sign(self);
        }
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

/// s3gate's per-request habits (shim/src/lib.rs), one switch each.
#[cfg(feature = "levers")]
mod levers {
    use std::cell::RefCell;
    use std::time::UNIX_EPOCH;

    use hmac::{Hmac, Mac};
    use proxy_wasm::traits::{Context, HttpContext};
    use proxy_wasm::types::{Action, MapType, Status};
    use s3gate_core::headers::{HeaderMap, Headers};
    use s3gate_core::signature::sigv4::{self, VerifyingKey};
    use s3gate_core::signature::upstream::{Carried, UpstreamCredentials, UpstreamSigner};
    use sha2::{Digest, Sha256};

    use super::Floor;

    /// The bench's principals all sign with the seed's secret.
    const CLIENT_SECRET: &str = "immuta";

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
        /// Instead of (b)'s request work: what any filter that verifies the client's SigV4 and
        /// signs the upstream request must do, with s3gate's own code and keys cached as s3gate
        /// caches them (see `verify_and_sign`). Its other levers do not apply.
        pub verify_sign: Option<VerifySign>,
    }

    pub struct VerifySign {
        /// The client's key for the last scope seen: (scope, ready HMAC state).
        key: RefCell<Option<(String, VerifyingKey)>>,
        signer: RefCell<UpstreamSigner>,
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
                "verify-sign" => {
                    self.verify_sign = Some(VerifySign {
                        key: RefCell::new(None),
                        signer: RefCell::new(UpstreamSigner::new(UpstreamCredentials {
                            access_key_id: "AKIDBENCH".into(),
                            secret_access_key: "bench-secret".into(),
                            session_token: None,
                            region: "us-east-1".into(),
                        })),
                    });
                    return true;
                }
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

    /// The floor of a filter that verifies and signs: one read of the request headers (as
    /// s3gate reads them), the clock, the client's SigV4 parsed and verified with a cached key
    /// state, the path mapped, `:path` and `:authority` written, the upstream request signed
    /// (keeping the client's date and payload hash as s3gate does) and `authorization`
    /// written. No policy, no query or key parsing, no response work.
    pub fn verify_and_sign(f: &mut Floor) -> Action {
        let Some(state) = &f.config.levers.verify_sign else {
            return Action::Continue;
        };
        let headers = request_header_map();
        let now = f
            .get_current_time()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let method = headers.get(":method").unwrap_or_default();
        let path = headers.get(":path").unwrap_or_default();
        let verified = headers
            .get("authorization")
            .ok_or(())
            .and_then(|a| sigv4::parse_authorization(a).map_err(|_| ()))
            .and_then(|auth| {
                let mut key = state.key.borrow_mut();
                let scope = auth.scope_string();
                if key.as_ref().is_none_or(|(s, _)| *s != scope) {
                    let derived =
                        sigv4::signing_key(CLIENT_SECRET, &auth.date, &auth.region, &auth.service);
                    *key = Some((scope, VerifyingKey::new(&derived)));
                }
                let (_, key) = key.as_ref().ok_or(())?;
                sigv4::verify_with(&auth, method, path, &headers, now, key).map_err(|_| ())
            });
        let mapped = f.config.maps.iter().find_map(|(from, to)| {
            path.strip_prefix(from.as_str())
                .map(|rest| format!("{to}{rest}"))
        });
        let (Ok(()), Some(mapped)) = (verified, mapped) else {
            f.send_http_response(403, vec![], None);
            return Action::Pause;
        };
        f.set_http_request_header(":path", Some(&mapped));
        f.set_http_request_header(":authority", Some(&f.config.authority));
        let carried = Carried {
            amz_date: headers.only("x-amz-date"),
            content_sha256: headers.only("x-amz-content-sha256"),
        };
        let signed = state.signer.borrow_mut().sign_carrying(
            method,
            &f.config.authority,
            &mapped,
            now,
            carried,
        );
        for (name, value) in signed.headers() {
            if headers.only(name) != Some(value) {
                f.set_http_request_header(name, Some(value));
            }
        }
        Action::Continue
    }

    /// The request headers read in place, as s3gate's host layer reads them.
    fn request_header_map() -> HeaderMap {
        #[link(wasm_import_module = "env")]
        extern "C" {
            fn proxy_get_header_map_pairs(
                map_type: MapType,
                return_map_data: *mut *mut u8,
                return_map_size: *mut usize,
            ) -> Status;
        }
        let mut data: *mut u8 = std::ptr::null_mut();
        let mut size: usize = 0;
        // SAFETY: as in s3gate's `host::header_map`: the host hands over a buffer allocated
        // through this module's `proxy_on_memory_allocate`, a `Vec<u8>` of `size` bytes.
        let bytes = unsafe {
            if proxy_get_header_map_pairs(MapType::HttpRequestHeaders, &mut data, &mut size)
                != Status::Ok
                || data.is_null()
            {
                return HeaderMap::default();
            }
            Vec::from_raw_parts(data, size, size)
        };
        HeaderMap::from_serialized(bytes).unwrap_or_default()
    }
}
