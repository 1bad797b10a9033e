//! Object requests: the request rewritten for its upstream (path, credentials, conditions,
//! Range), the HEAD that answers conditions or a suffix range first, and the upstream's
//! response planned back into S3's answer.

use super::audit::Verdict;
use super::exchange::{Exchange, Forwarded, Waiting, GRANTED};
use super::host::{Action, Call, CallAnswer, Command, Counter, Host, Level};
use super::{Outcome, Signers, Vm};
use crate::config::PluginConfig;
use crate::headers::{HeaderMap, Headers};
use crate::policy::entitlements::Entitlements;
use crate::s3::conditional::{self, Conditions};
use crate::s3::error::S3Error;
use crate::s3::mapping;
use crate::s3::response::{self, BodyPlan, ResponsePlan};
use crate::signature::upstream::{Carried, SignedHeaders};

/// The gateway's own SigV4 headers for a request to `upstream_name`, when the filter signs for
/// that upstream (`None`: the cluster's signing filter does, or nothing).
pub(crate) fn sign_upstream(
    signers: &mut Signers,
    upstream_name: &str,
    method: &str,
    authority: &str,
    path: &str,
    now: u64,
    carried: Carried,
) -> Option<SignedHeaders> {
    let signer = signers.get_mut(upstream_name)?;
    Some(signer.sign_carrying(method, authority, path, now, carried))
}

/// The filter's own request to an upstream (a listing page, an object's validators).
pub(crate) struct OwnRequest<'a> {
    pub(crate) upstream: &'a str,
    pub(crate) method: &'static str,
    pub(crate) path: &'a str,
    pub(crate) timeout_ms: u64,
}

/// The call for `request` on behalf of `stream`, signed like the requests the gateway forwards;
/// `None` if its upstream is not configured.
pub(crate) fn upstream_call(
    config: &PluginConfig,
    signers: &mut Signers,
    stream: u32,
    request: OwnRequest,
    now: u64,
) -> Option<Call> {
    let upstream = config.upstreams.get(request.upstream)?;
    let signed = sign_upstream(
        signers,
        request.upstream,
        request.method,
        &upstream.authority,
        request.path,
        now,
        Carried::default(),
    );
    let mut headers = vec![
        (":method".to_string(), request.method.to_string()),
        (":path".to_string(), request.path.to_string()),
        (":authority".to_string(), upstream.authority.clone()),
        (":scheme".to_string(), "http".to_string()),
    ];
    headers.extend(
        signed
            .iter()
            .flat_map(SignedHeaders::headers)
            .map(|(n, v)| (n.to_string(), v.to_string())),
    );
    Some(Call {
        stream: Some(stream),
        cluster: upstream.cluster.clone(),
        headers,
        body: None,
        timeout_ms: request.timeout_ms,
    })
}

impl Exchange {
    fn set_request_header(&self, host: &mut dyn Host, name: &str, value: Option<&str>) {
        host.command(self.stream, Command::SetRequestHeader(name, value));
    }

    pub(crate) fn forward_object(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        entitlements: &Entitlements,
        key: String,
        query: &[(String, String)],
    ) -> Outcome {
        if let Some(grant) = entitlements.data_source(key.split('/').next().unwrap_or_default()) {
            self.audit.grant(grant);
        }
        let (grant, relative) = match mapping::resolve_object(entitlements, &key) {
            Ok(found) => found,
            Err(error) => return self.respond_error(host, &error),
        };
        self.audit.decide(host, Verdict::Allow, GRANTED);
        let Some(upstream) = vm.config.upstreams.get(&grant.upstream) else {
            let message = format!(
                "s3gate: data source {:?} names upstream {:?}, missing from the plugin configuration's upstreams",
                grant.name, grant.upstream
            );
            return self.internal_error(host, &message);
        };
        if grant.table.is_some() && query.iter().any(|(name, _)| name == "partNumber") {
            // A part is a slice of the object, not of its view.
            let error = S3Error::invalid_argument("partNumber is not supported on a masked table");
            return self.respond_error(host, &error);
        }
        let path = mapping::upstream_object_path(grant, relative, query);
        self.audit.upstream_target(&grant.upstream, &path);
        self.set_request_header(host, ":path", Some(&path));
        self.set_request_header(host, ":authority", Some(&upstream.authority));
        self.set_request_header(
            host,
            &vm.config.upstream_cluster_header,
            Some(&upstream.cluster),
        );
        // The client's date and payload hash may date and describe the gateway's request too:
        // each header left as it is saves a host call.
        let carried = Carried {
            amz_date: self.request_headers.only("x-amz-date"),
            content_sha256: self.request_headers.only("x-amz-content-sha256"),
        };
        let signed = sign_upstream(
            &mut vm.signers,
            &grant.upstream,
            &self.method,
            &upstream.authority,
            &path,
            self.now,
            carried,
        );
        // The client's credentials never go upstream: the gateway's own signature replaces
        // them (signed here, or by the cluster's upstream signing filter).
        for (name, _) in self.request_headers.pairs() {
            let replaced = signed
                .as_ref()
                .is_some_and(|s| s.headers().any(|(n, _)| n == name));
            if !replaced && (name == "authorization" || name.starts_with("x-amz-")) {
                self.set_request_header(host, name, None);
            }
        }
        if let Some(signed) = &signed {
            for (name, value) in signed.headers() {
                if self.request_headers.only(name) != Some(value) {
                    self.set_request_header(host, name, Some(value));
                }
            }
        }
        if let Some(spec) = &grant.table {
            return self.forward_table(
                vm,
                host,
                spec,
                &entitlements.principal,
                &grant.upstream,
                path,
                key,
            );
        }
        let range = self.request_headers.get("range");
        let asked_range = match range {
            Some(value) if response::forwardable_range(value).is_none() => {
                // S3 ignores such a Range and serves the whole object; so does the gateway.
                self.set_request_header(host, "range", None);
                false
            }
            other => other.is_some(),
        };
        let owned = |name| self.request_headers.get(name).map(str::to_string);
        let conditions = Conditions {
            if_match: owned("if-match"),
            if_none_match: owned("if-none-match"),
            if_modified_since: owned("if-modified-since"),
            if_unmodified_since: owned("if-unmodified-since"),
        };
        // S3 checks If-Match / If-Unmodified-Since (412) before If-None-Match /
        // If-Modified-Since (304); an upstream must not answer 304 first. The gateway evaluates
        // all four on the upstream's answer anyway.
        if conditions.if_match.is_some() || conditions.if_unmodified_since.is_some() {
            self.set_request_header(host, "if-none-match", None);
            self.set_request_header(host, "if-modified-since", None);
        }
        let suffix = range.and_then(response::suffix_length);
        // The gateway decides If-Range itself (stores may ignore it); without a Range it means
        // nothing.
        let if_range = owned("if-range").filter(|_| asked_range);
        if self.request_headers.get("if-range").is_some() {
            self.set_request_header(host, "if-range", None);
        }
        // A GET's answer to its conditions is known from a HEAD, before any of the object is
        // read (a HEAD request reads none anyway); If-Range decides whether the Range is sent.
        let validators_first = (!self.is_head && !conditions.is_empty()) || if_range.is_some();
        self.forwarded = Some(Forwarded {
            upstream: grant.upstream.clone(),
            key,
            asked_range,
            conditions,
            if_range,
        });
        let then = if validators_first {
            Waiting::Validators { suffix }
        } else if let Some(suffix) = suffix {
            // A suffix range longer than the object means the whole object (206) in S3, but
            // some stores answer 416: learn the size first, and ask for `bytes=0-` then.
            Waiting::ObjectSize { suffix }
        } else {
            return Outcome::Forward;
        };
        let head = OwnRequest {
            upstream: &grant.upstream,
            method: "HEAD",
            path: &path,
            timeout_ms: vm.config.upstream_head_timeout_ms,
        };
        let head = upstream_call(&vm.config, &mut vm.signers, self.stream, head, self.now);
        match head {
            Some(call) => self.send(vm, host, call, then),
            None => self.respond_error(host, &S3Error::internal_error()),
        }
    }

    /// A suffix range's object size arrived: a suffix at least as long asks for all of it.
    pub(crate) fn on_object_size(
        &mut self,
        host: &mut dyn Host,
        head: &CallAnswer,
        suffix: u64,
    ) -> Outcome {
        let size = head
            .headers
            .get("content-length")
            .and_then(|v| v.parse::<u64>().ok());
        if let (Some(200), Some(size)) = (head.status, size) {
            if size > 0 && suffix >= size {
                self.set_request_header(host, "range", Some("bytes=0-"));
            }
        }
        Outcome::Forward
    }

    /// A conditional GET, once the HEAD answered: a 304/412 is sent from the HEAD's headers;
    /// otherwise the GET goes upstream, without its Range when If-Range is false. The GET's
    /// response is judged again (the object may change in between).
    pub(crate) fn on_validators(
        &mut self,
        host: &mut dyn Host,
        head: &CallAnswer,
        suffix: Option<u64>,
    ) -> Outcome {
        let stream = self.stream;
        let Some(forwarded) = &mut self.forwarded else {
            return Outcome::Forward;
        };
        if head.status != Some(200) {
            // Missing, hidden or failing: the GET's own answer is mapped as usual; without
            // validators If-Range cannot hold, so no Range.
            if forwarded.if_range.take().is_some() {
                forwarded.asked_range = false;
                host.command(stream, Command::SetRequestHeader("range", None));
            }
            return Outcome::Forward;
        }
        let headers = &head.headers;
        if let Some(if_range) = &forwarded.if_range {
            if !conditional::if_range_holds(
                if_range,
                headers.get("etag"),
                headers.get("last-modified"),
            ) {
                forwarded.if_range = None;
                forwarded.asked_range = false;
                host.command(stream, Command::SetRequestHeader("range", None));
            }
        }
        let plan = response::plan_object_response(
            headers,
            forwarded.asked_range,
            &forwarded.conditions,
            &forwarded.key,
            &self.request_id,
        );
        let asked_range = forwarded.asked_range;
        if matches!(plan.body, BodyPlan::Drop | BodyPlan::Error(_)) {
            self.answer_without_body(host, headers, &plan);
            return Outcome::Responded;
        }
        let size = headers
            .get("content-length")
            .and_then(|v| v.parse::<u64>().ok());
        if let (Some(suffix), Some(size), true) = (suffix, size, asked_range) {
            if size > 0 && suffix >= size {
                self.set_request_header(host, "range", Some("bytes=0-"));
            }
        }
        Outcome::Forward
    }

    pub(crate) fn on_response_headers(
        &mut self,
        vm: &Vm,
        host: &mut dyn Host,
        read_headers: &mut dyn FnMut() -> HeaderMap,
        end_of_stream: bool,
    ) -> Action {
        if self.table.is_some() {
            let upstream = read_headers();
            return self.on_view_headers(vm, host, &upstream);
        }
        let Some(forwarded) = &self.forwarded else {
            return Action::Continue;
        };
        let upstream = read_headers();
        let plan = response::plan_object_response(
            &upstream,
            forwarded.asked_range,
            &forwarded.conditions,
            &forwarded.key,
            &self.request_id,
        );
        if let BodyPlan::UpstreamError(error) = &plan.body {
            if error.status >= 500 {
                let data_source = forwarded.key.split('/').next().unwrap_or_default();
                host.log(
                    Level::Warn,
                    &format!(
                        "s3gate: upstream {:?} answered status {} for data source {data_source:?} (request {}); the client gets {} {}",
                        forwarded.upstream,
                        upstream.get(":status").unwrap_or("none"),
                        self.request_id,
                        error.status,
                        error.code
                    ),
                );
            }
        }
        // A 304/412 decided here needs none of the object: answering locally ends the stream,
        // and Envoy's router resets the upstream request instead of reading it through.
        if !end_of_stream && matches!(plan.body, BodyPlan::Drop | BodyPlan::Error(_)) {
            self.answer_without_body(host, &upstream, &plan);
            return Action::Pause;
        }
        // The HEAD found If-Range true, but the object changed before the GET: its range is of
        // another entity, and the whole object can no longer be served on this stream.
        if let Some(if_range) = &forwarded.if_range {
            let header = |name| upstream.get(name);
            if plan.body == BodyPlan::Pass
                && !conditional::if_range_holds(if_range, header("etag"), header("last-modified"))
            {
                self.respond_error(host, &S3Error::service_unavailable());
                return Action::Pause;
            }
        }
        // Edits in place: a plain 200 costs a removal or two and one header set.
        if let Some(status) = plan.status {
            let status = status.to_string();
            host.command(
                self.stream,
                Command::SetResponseHeader(":status", Some(&status)),
            );
        }
        let metadata = response::disallowed_metadata(&upstream, &vm.config.user_metadata);
        for name in plan.remove.iter().chain(&metadata) {
            host.command(self.stream, Command::SetResponseHeader(name, None));
        }
        for (name, value) in &plan.set {
            host.command(self.stream, Command::SetResponseHeader(name, Some(value)));
        }
        if plan.body == BodyPlan::Pass && !end_of_stream {
            if let Some(length) = upstream
                .get("content-length")
                .and_then(|v| v.parse::<u64>().ok())
            {
                host.count(Counter::StreamedBytes, length);
            }
        }
        self.body_plan = plan.body;
        Action::Continue
    }

    pub(crate) fn on_response_body(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        size: usize,
        end_of_stream: bool,
    ) -> Action {
        if self.table.is_some() {
            return self.on_view_body(vm, host, size, end_of_stream);
        }
        let error = match &self.body_plan {
            BodyPlan::Pass => return Action::Continue,
            BodyPlan::Drop => {
                host.command(
                    self.stream,
                    Command::ReplaceResponseBody { size, body: &[] },
                );
                return Action::Continue;
            }
            BodyPlan::Error(error) => {
                if !end_of_stream {
                    // The object's bytes never reach the client; the error follows at the end.
                    host.command(
                        self.stream,
                        Command::ReplaceResponseBody { size, body: &[] },
                    );
                    return Action::Continue;
                }
                error.clone()
            }
            BodyPlan::UpstreamError(error) => {
                if !end_of_stream {
                    // Hold the upstream's (small) error body: none of it may reach the client.
                    return Action::Pause;
                }
                let body = host.response_body(size);
                let key = self
                    .forwarded
                    .as_ref()
                    .map(|f| f.key.as_str())
                    .unwrap_or("");
                match response::upstream_error_code(&body) {
                    Some(code) => S3Error::from_upstream(error.status, Some(code), key),
                    None => error.clone(),
                }
            }
        };
        let xml = if self.is_head {
            String::new()
        } else {
            error.to_xml(&self.resource, &self.request_id)
        };
        host.command(
            self.stream,
            Command::ReplaceResponseBody {
                size,
                body: xml.as_bytes(),
            },
        );
        Action::Continue
    }

    /// The client's answer to an object request that carries no object (304, 412), planned
    /// from `upstream` (the HEAD's or the GET's headers) and sent as a local reply: from the
    /// GET's response headers it ends the stream, and Envoy resets the upstream request unread.
    fn answer_without_body(&self, host: &mut dyn Host, upstream: &HeaderMap, plan: &ResponsePlan) {
        let headers = plan.apply(upstream);
        let status = headers
            .iter()
            .find(|(n, _)| n == ":status")
            .and_then(|(_, v)| v.parse::<u32>().ok())
            .unwrap_or(502);
        let xml = match &plan.body {
            BodyPlan::Error(error) if !self.is_head => {
                Some(error.to_xml(&self.resource, &self.request_id))
            }
            _ => None,
        };
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .filter(|(n, _)| !n.starts_with(':') && n != "content-length")
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        host.command(
            self.stream,
            Command::Respond {
                status,
                headers: &headers,
                body: xml.as_deref().map(str::as_bytes),
            },
        );
    }
}
