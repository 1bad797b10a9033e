//! Listing the virtual bucket: a small state machine the host drives.
//!
//! A client's ListObjects (v1 or v2) becomes an ordered list of *segments*: common prefixes the
//! gateway knows itself (data sources rolled up by the delimiter) and upstream listings of data
//! sources. The host asks [`ListingJob::next_step`] what to do: fetch an upstream page (ListObjectsV2,
//! its own continuation never shown to the client) and [`ListingJob::feed`] it back, until a
//! visible entry follows the full page, the listing ends or the page budget is spent; then it
//! answers with the rendered XML.
//!
//! Pagination is computed after filtering: hidden objects never make a page short, nor make it
//! truncated when nothing visible follows. The client's resume point (v1 `marker`, v2
//! `start-after` / continuation token) is always a *virtual* name, so nothing real leaks through
//! tokens; a data source's listing resumes from it by mapping it back to the real prefix.
//!
//! - `job`: the state machine, its page budget and its pagination.
//! - `upstream_page`: reading the upstream's ListBucketResult (with `plain_page`, its fast
//!   reader for the plain XML S3 writes).
//! - `render`: the client's ListBucketResult.
//! - `buckets`: ListBuckets and GetBucketLocation, which name the one virtual bucket.

mod buckets;
mod job;
mod plain_page;
mod render;
mod upstream_page;

#[cfg(test)]
mod fake_upstream;

pub use buckets::{render_bucket_location, render_list_buckets};
pub use job::{Fetch, ListingJob, Measure, Step, MAX_UPSTREAM_PAGES};

const S3_NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";
/// Owner shown for every object: the gateway, never the real account.
const OWNER: &str = "Immuta";
