//! Bucket operations: HeadBucket, answered locally, and the upstream pages of listings, which
//! `ListingJob` plans page by page (`table.rs` drives it, measuring masked objects' views).

use super::audit::Verdict;
use super::exchange::{Exchange, Waiting, GRANTED};
use super::host::{Command, Host};
use super::object::{upstream_call, OwnRequest};
use super::{Outcome, Vm};
use crate::s3::listing::{Fetch, ListingJob};

/// Upstream listing pages can be slow on big prefixes; the client's own timeout still applies.
const LISTING_TIMEOUT_MS: u64 = 30_000;

impl Exchange {
    /// HeadBucket: the bucket exists, in the gateway's first region.
    pub(crate) fn head_bucket(&mut self, vm: &Vm, host: &mut dyn Host) -> Outcome {
        self.audit.decide(host, Verdict::Allow, GRANTED);
        let region = vm
            .config
            .regions
            .first()
            .map_or("us-east-1", String::as_str);
        host.command(
            self.stream,
            Command::Respond {
                status: 200,
                headers: &[
                    ("x-amz-request-id", &self.request_id),
                    ("x-amz-bucket-region", region),
                ],
                body: None,
            },
        );
        Outcome::Responded
    }

    /// Sends the listing's next upstream page request.
    pub(crate) fn fetch_listing_page(
        &mut self,
        vm: &mut Vm,
        host: &mut dyn Host,
        job: Box<ListingJob>,
        fetch: Fetch,
    ) -> Outcome {
        let now = host.now();
        self.audit.upstream_target(&fetch.upstream, &fetch.path);
        let page = OwnRequest {
            upstream: &fetch.upstream,
            method: "GET",
            path: &fetch.path,
            timeout_ms: LISTING_TIMEOUT_MS,
        };
        let call = upstream_call(&vm.config, &mut vm.signers, self.stream, page, now);
        match call {
            Some(call) => self.send(vm, host, call, Waiting::Listing(job)),
            None => {
                let message = format!(
                    "s3gate: a data source of the listing names upstream {:?}, missing from the plugin configuration's upstreams",
                    fetch.upstream
                );
                self.internal_error(host, &message)
            }
        }
    }
}
