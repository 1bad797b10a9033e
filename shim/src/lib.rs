//! s3gate's proxy-wasm shim: the only code that talks to Envoy. It turns the SDK's callbacks
//! into the flow's events (`s3gate_core::flow::Gateway`) and carries out what the flow asks
//! through the `Host` trait. No rule of the gateway lives here.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action as SdkAction, BufferType, ContextType, LogLevel, MapType};
use proxy_wasm::types::{MetricType, Status};
use s3gate_core::flow::{
    Action, Call, CallAnswer, Caller, Command, Counter, Gateway, Gauge, Histogram, Host,
    HostRefused, Level, StreamId,
};
use s3gate_core::headers::HeaderMap;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|context_id| -> Box<dyn RootContext> {
        Box::new(Root { context_id })
    });
}}

/// A plugin's gateway, with what the shim needs to serve it. One VM per worker thread; plugins
/// with the same VM configuration (the two listeners of envoy.yaml) share it, each with its
/// root context and configuration.
struct Plugin {
    gateway: Gateway,
    /// Envoy's metric ids, by name, defined on first use (a counter's labels are in its name).
    metrics: HashMap<String, u32>,
}

thread_local! {
    /// By root context id.
    static PLUGINS: RefCell<HashMap<u32, Plugin>> = RefCell::new(HashMap::new());
}

/// Runs `f` on the gateway of the plugin whose root context is `root_id`, with a host for the
/// callback of context `running`; `None` if the plugin is not configured, or the gateway is already running (a callback into a gateway
/// that runs cannot happen: Envoy defers local replies and resumptions until the VM call
/// returns; if it did, the request stays paused, never passed on unchecked).
fn with_gateway<T>(
    root_id: u32,
    running: u32,
    f: impl FnOnce(&mut Gateway, &mut EnvoyHost) -> T,
) -> Option<T> {
    PLUGINS.with(|plugins| {
        let mut plugins = plugins.try_borrow_mut().ok()?;
        let plugin = plugins.get_mut(&root_id)?;
        let mut host = EnvoyHost {
            running,
            effective: running,
            root_id,
            metrics: &mut plugin.metrics,
        };
        let result = f(&mut plugin.gateway, &mut host);
        host.restore_effective();
        Some(result)
    })
}

struct Root {
    context_id: u32,
}

impl Context for Root {
    fn on_http_call_response(&mut self, token: u32, _: usize, body_size: usize, _: usize) {
        let root = self.context_id;
        deliver_call_answer(root, root, Caller::Root, token, body_size);
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        // Envoy hands the VM the variables its vm_config lists (host_env_keys).
        let env = |var: &str| std::env::var(var).ok();
        let root_id = self.context_id;
        let configured = PLUGINS.with(|plugins| {
            let mut plugins = plugins.try_borrow_mut().map_err(|_| "busy".to_string())?;
            match plugins.get_mut(&root_id) {
                Some(plugin) => plugin.gateway.reconfigure(&bytes, &env),
                None => {
                    let gateway = Gateway::configure(&bytes, &env, random_seed())?;
                    let mut metrics = HashMap::new();
                    for counter in Counter::UNLABELLED {
                        let name = counter.name();
                        if let Ok(id) = hostcalls::define_metric(MetricType::Counter, &name) {
                            metrics.insert(name, id);
                        }
                    }
                    plugins.insert(root_id, Plugin { gateway, metrics });
                    Ok(())
                }
            }
        });
        match configured {
            Ok(()) => true,
            Err(message) => {
                let _ = hostcalls::log(LogLevel::Critical, &message);
                false
            }
        }
    }

    fn on_tick(&mut self) {
        let root = self.context_id;
        with_gateway(root, root, |gateway, host| gateway.on_tick(host));
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        let root_id = self.context_id;
        let configured = PLUGINS.with(|p| p.try_borrow().is_ok_and(|p| p.contains_key(&root_id)));
        configured.then(|| {
            Box::new(Stream {
                context_id,
                root_id,
            }) as Box<dyn HttpContext>
        })
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// A request stream: every callback goes to the gateway.
struct Stream {
    context_id: u32,
    root_id: u32,
}

impl Context for Stream {
    fn on_http_call_response(&mut self, token: u32, _: usize, body_size: usize, _: usize) {
        let caller = Caller::Stream(self.context_id);
        deliver_call_answer(self.root_id, self.context_id, caller, token, body_size);
    }

    fn on_done(&mut self) -> bool {
        let stream = self.context_id;
        with_gateway(self.root_id, stream, |gateway, host| {
            gateway.on_stream_done(host, stream)
        });
        true
    }
}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> SdkAction {
        let stream = self.context_id;
        let headers = header_map(MapType::HttpRequestHeaders);
        let action = with_gateway(self.root_id, stream, |gateway, host| {
            gateway.on_request_headers(host, stream, headers)
        });
        sdk_action(action)
    }

    fn on_http_response_headers(&mut self, _headers: usize, end_of_stream: bool) -> SdkAction {
        let stream = self.context_id;
        let action = with_gateway(self.root_id, stream, |gateway, host| {
            let mut read = || header_map(MapType::HttpResponseHeaders);
            gateway.on_response_headers(host, stream, &mut read, end_of_stream)
        });
        sdk_action(action)
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> SdkAction {
        let stream = self.context_id;
        let action = with_gateway(self.root_id, stream, |gateway, host| {
            gateway.on_response_body(host, stream, body_size, end_of_stream)
        });
        sdk_action(action)
    }
}

fn sdk_action(action: Option<Action>) -> SdkAction {
    match action {
        Some(Action::Continue) => SdkAction::Continue,
        Some(Action::Pause) | None => SdkAction::Pause,
    }
}

/// A call's answer, read whole, to the gateway (which knows whose call it is).
fn deliver_call_answer(root_id: u32, running: u32, caller: Caller, token: u32, body_size: usize) {
    let status = hostcalls::get_map_value(MapType::HttpCallResponseHeaders, ":status")
        .ok()
        .flatten()
        .and_then(|s| s.parse::<u32>().ok());
    let answer = CallAnswer {
        status,
        headers: header_map(MapType::HttpCallResponseHeaders),
        body: hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, body_size)
            .ok()
            .flatten()
            .unwrap_or_default(),
    };
    with_gateway(root_id, running, |gateway, host| {
        gateway.on_call_answer(host, caller, token, answer)
    });
}

/// The host as Envoy is: commands for another stream than the running callback's are carried
/// out with that stream made the effective context.
struct EnvoyHost<'p> {
    running: u32,
    effective: u32,
    root_id: u32,
    metrics: &'p mut HashMap<String, u32>,
}

impl EnvoyHost<'_> {
    /// The id of metric `name` of `kind`, defined now if it is new.
    fn metric(&mut self, kind: MetricType, name: &str) -> Option<u32> {
        if let Some(id) = self.metrics.get(name) {
            return Some(*id);
        }
        let id = hostcalls::define_metric(kind, name).ok()?;
        self.metrics.insert(name.to_string(), id);
        Some(id)
    }

    fn make_effective(&mut self, context_id: u32) -> bool {
        if self.effective != context_id {
            if hostcalls::set_effective_context(context_id).is_err() {
                return false;
            }
            self.effective = context_id;
        }
        true
    }

    fn restore_effective(&mut self) {
        let running = self.running;
        self.make_effective(running);
    }
}

impl Host for EnvoyHost<'_> {
    fn now(&self) -> u64 {
        self.now_ms() / 1000
    }

    fn now_ms(&self) -> u64 {
        hostcalls::get_current_time()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    fn shared_get(&self, key: &str) -> Result<(Option<Vec<u8>>, Option<u32>), HostRefused> {
        hostcalls::get_shared_data(key).map_err(|_| HostRefused)
    }

    fn shared_set(&mut self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), HostRefused> {
        hostcalls::set_shared_data(key, Some(value), cas).map_err(|_| HostRefused)
    }

    fn dispatch(&mut self, call: &Call) -> Result<u32, HostRefused> {
        // Envoy ties a call to the effective context: a stream's ends with it.
        if !self.make_effective(call.stream.unwrap_or(self.root_id)) {
            return Err(HostRefused);
        }
        let headers: Vec<(&str, &str)> = call
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        hostcalls::dispatch_http_call(
            &call.cluster,
            headers,
            call.body.as_deref(),
            vec![],
            Duration::from_millis(call.timeout_ms),
        )
        .map_err(|_| HostRefused)
    }

    fn set_tick_period_ms(&mut self, period_ms: u64) {
        let _ = hostcalls::set_tick_period(Duration::from_millis(period_ms));
    }

    fn count(&mut self, counter: Counter, n: u64) {
        let Ok(n) = i64::try_from(n) else {
            return;
        };
        if n > 0 {
            if let Some(id) = self.metric(MetricType::Counter, &counter.name()) {
                let _ = hostcalls::increment_metric(id, n);
            }
        }
    }

    fn gauge(&mut self, gauge: Gauge, delta: i64) {
        if let Some(id) = self.metric(MetricType::Gauge, gauge.name()) {
            let _ = hostcalls::increment_metric(id, delta);
        }
    }

    fn record(&mut self, histogram: Histogram, value: u64) {
        if let Some(id) = self.metric(MetricType::Histogram, histogram.name()) {
            let _ = hostcalls::record_metric(id, value);
        }
    }

    fn log(&mut self, level: Level, message: &str) {
        let level = match level {
            Level::Error => LogLevel::Error,
            Level::Warn => LogLevel::Warn,
        };
        let _ = hostcalls::log(level, message);
    }

    fn response_body(&mut self, size: usize) -> Vec<u8> {
        hostcalls::get_buffer(BufferType::HttpResponseBody, 0, size)
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    fn command(&mut self, stream: StreamId, command: Command<'_>) {
        if !self.make_effective(stream) {
            return; // the stream is gone
        }
        let _ = match command {
            Command::SetRequestHeader(name, value) => {
                hostcalls::set_map_value(MapType::HttpRequestHeaders, name, value)
            }
            Command::SetResponseHeader(name, value) => {
                hostcalls::set_map_value(MapType::HttpResponseHeaders, name, value)
            }
            Command::ReplaceResponseBody { size, body } => {
                hostcalls::set_buffer(BufferType::HttpResponseBody, 0, size, body)
            }
            Command::Respond {
                status,
                headers,
                body,
            } => hostcalls::send_http_response(status, headers.to_vec(), body),
            Command::Resume => hostcalls::resume_http_request(),
            Command::ResetResponse => hostcalls::reset_http_response(),
            Command::SetProperty(name, value) => hostcalls::set_property(vec![name], Some(value)),
        };
    }
}

/// A seed for the VM's request ids: WASI's random_get, through std's hasher seeds.
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

/// One of the stream's header maps, read in place (`HeaderMap::from_serialized`): the SDK's
/// reader copies every name and value into its own `String` and panics, taking the VM down, on
/// a value that is not UTF-8, which any client may send.
#[allow(unsafe_code)]
fn header_map(map: MapType) -> HeaderMap {
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
    // SAFETY: the host writes a buffer it allocated through this module's
    // `proxy_on_memory_allocate` (the SDK's, a `Vec<u8>` of exactly `size` bytes) and hands it
    // over; it is taken back as that `Vec` and freed once read.
    let bytes = unsafe {
        if proxy_get_header_map_pairs(map, &mut data, &mut size) != Status::Ok || data.is_null() {
            return HeaderMap::default();
        }
        Vec::from_raw_parts(data, size, size)
    };
    HeaderMap::from_serialized(bytes).unwrap_or_else(|| {
        let _ = hostcalls::log(
            LogLevel::Error,
            "s3gate: the host sent a header map that does not parse",
        );
        HeaderMap::default()
    })
}
