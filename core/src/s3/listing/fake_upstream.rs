//! Test support for the listing: a fake ListObjectsV2 upstream over a small store, the
//! principals that list it, and a reader of the client's pages.

use crate::encoding::xml::escape;
use crate::policy::entitlements::{DataSourceGrant, Entitlements};
use crate::s3::listing::{Fetch, ListingJob, Step};
use crate::s3::request::{parse_query, percent_decode, ListParams, ListVersion};

pub(super) fn grant(name: &str, bucket: &str, prefix: &str, hidden: &[&str]) -> DataSourceGrant {
    DataSourceGrant {
        name: name.into(),
        upstream: "demo".into(),
        bucket: bucket.into(),
        prefix: prefix.into(),
        format: crate::policy::entitlements::Format::Csv,
        hidden: hidden.iter().map(|s| s.to_string()).collect(),
        visible: None,
        shown: Vec::new(),
        table: None,
        rules: Vec::new(),
    }
}

pub(super) fn entitlements(grants: Vec<DataSourceGrant>) -> Entitlements {
    Entitlements {
        principal: "t".into(),
        enabled: true,
        ttl_seconds: 60,
        data_sources: grants,
        ..Default::default()
    }
}

/// Real objects of the fake upstream: (bucket, key).
pub(super) fn store() -> Vec<(&'static str, String)> {
    let mut objects = vec![];
    for region in ["eu", "us"] {
        for i in 0..7 {
            objects.push((
                "wh",
                format!("curated/sales/region={region}/part-{i:05}.csv"),
            ));
        }
        objects.push((
            "wh",
            format!("curated/sales/region={region}/.part-00000.csv.crc"),
        ));
    }
    objects.push(("wh", "curated/sales/_SUCCESS".to_string()));
    objects.push(("wh", "curated/sales_eu/leak.csv".to_string()));
    objects.push(("wh", "curated/customers/customers.csv".to_string()));
    objects.push(("wh", "secrets/x".to_string()));
    objects.push(("docs", "archive/a b & <c>.bin".to_string()));
    objects.push(("docs", "archive/résumé.bin".to_string()));
    objects
}

/// A minimal ListObjectsV2 server over `store()`, as S3 answers (continuation = last name).
pub(super) fn upstream(fetch: &Fetch) -> String {
    let (bucket, query) = fetch.path[1..].split_once('?').unwrap();
    let q = parse_query(query).unwrap();
    let get = |k: &str| q.iter().find(|p| p.name == k).map(|p| p.value.clone());
    let prefix = get("prefix").unwrap_or_default();
    let max: usize = get("max-keys").unwrap().parse().unwrap();
    let after = get("continuation-token")
        .or(get("start-after"))
        .unwrap_or_default();
    let delimiter = get("delimiter");
    let bucket = percent_decode(bucket).unwrap();
    let mut keys: Vec<String> = store()
        .into_iter()
        .filter(|(b, _)| *b == bucket)
        .map(|(_, k)| k)
        .collect();
    keys.sort();
    let mut names: Vec<(String, bool)> = vec![];
    for key in keys.into_iter().filter(|k| k.starts_with(&prefix)) {
        let entry = match &delimiter {
            Some(d) => match key[prefix.len()..].find(d.as_str()) {
                Some(i) => (key[..prefix.len() + i + d.len()].to_string(), true),
                None => (key, false),
            },
            None => (key, false),
        };
        if entry.0.as_str() > after.as_str() && names.last() != Some(&entry) {
            names.push(entry);
        }
    }
    let truncated = names.len() > max;
    names.truncate(max);
    let mut xml =
        String::from("<?xml version=\"1.0\"?><ListBucketResult xmlns=\"x\"><Name>b</Name>");
    xml.push_str(&format!("<IsTruncated>{truncated}</IsTruncated>"));
    if truncated {
        let mut t = String::new();
        escape(&mut t, &names.last().unwrap().0);
        xml.push_str(&format!(
            "<NextContinuationToken>{t}</NextContinuationToken>"
        ));
    }
    for (name, is_prefix) in &names {
        let mut n = String::new();
        escape(&mut n, name);
        if *is_prefix {
            xml.push_str(&format!(
                "<CommonPrefixes><Prefix>{n}</Prefix></CommonPrefixes>"
            ));
        } else {
            xml.push_str(&format!(
                "<Contents><Key>{n}</Key><LastModified>2026-11-01T00:00:00.000Z</LastModified>\
                 <ETag>&quot;abc&quot;</ETag><Size>3</Size><StorageClass>STANDARD</StorageClass></Contents>"
            ));
        }
    }
    xml.push_str("</ListBucketResult>");
    xml
}

pub(super) fn params(
    prefix: &str,
    delimiter: Option<&str>,
    max_keys: usize,
    version: ListVersion,
) -> ListParams {
    ListParams {
        version,
        prefix: prefix.into(),
        delimiter: delimiter.map(str::to_string),
        max_keys,
        start_after: None,
        continuation_token: None,
        encoding_url: false,
        fetch_owner: true,
    }
}

pub(super) fn run(job: &mut ListingJob) -> String {
    loop {
        match job.next_step() {
            Step::Fetch(f) => job.feed(200, upstream(&f).as_bytes()).unwrap(),
            Step::Done(xml) => return xml,
            // A view of each masked object: one byte longer, its ETag named after its size.
            Step::Measure(m) => {
                let size = m.version.size + 1;
                job.sized(m.index, size, &format!("\"view-{size}\""));
            }
        }
    }
}

/// (keys and common prefixes of one page, truncated, next marker or token)
pub(super) fn page_names(xml: &str) -> (Vec<String>, bool, Option<String>) {
    let mut names = vec![];
    let mut rest = xml;
    while let Some(i) = rest
        .find("<Key>")
        .or_else(|| rest.find("<CommonPrefixes><Prefix>"))
    {
        let (tag_len, close) = if rest[i..].starts_with("<Key>") {
            (5, "</Key>")
        } else {
            (24, "</Prefix>")
        };
        let start = i + tag_len;
        let end = start + rest[start..].find(close).unwrap();
        names.push(rest[start..end].to_string());
        rest = &rest[end..];
    }
    let between = |open: &str, close: &str| {
        xml.find(open).map(|i| {
            let s = i + open.len();
            xml[s..s + xml[s..].find(close).unwrap()].to_string()
        })
    };
    let truncated = xml.contains("<IsTruncated>true</IsTruncated>");
    let next = between("<NextContinuationToken>", "</").or(between("<NextMarker>", "</"));
    (names, truncated, next)
}

/// Alice's listing of the virtual bucket `immuta`.
pub(super) fn alice_job(
    prefix: &str,
    delimiter: Option<&str>,
    max_keys: usize,
    version: ListVersion,
) -> ListingJob {
    ListingJob::new(
        params(prefix, delimiter, max_keys, version),
        &alice(),
        "immuta",
    )
    .unwrap()
}

pub(super) fn alice() -> Entitlements {
    entitlements(vec![
        grant("sales", "wh", "curated/sales/", &["_SUCCESS", "*.crc"]),
        grant("customers", "wh", "curated/customers/", &[]),
        grant("documents", "docs", "archive/", &[]),
    ])
}
