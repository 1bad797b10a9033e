//! Fixtures shared by the micro-benchmarks: the same shapes `make bench` serves through nginx.

use s3gate_core::policy::entitlements::Entitlements;

/// Real prefix of the bench listing (below data source `sales`).
pub const LIST_PREFIX: &str = "curated/sales/bench/list/";

/// A ListObjectsV2 page of `days * 5` keys as S3 answers it: per `day=NNN/` folder four data
/// files and one `.crc` sidecar, so 20% of the keys are hidden from an analyst.
pub fn upstream_page(days: usize) -> String {
    let mut keys = Vec::with_capacity(days * 5);
    for day in 0..days {
        let folder = format!("{LIST_PREFIX}day={day:03}/");
        keys.push(format!("{folder}.part-00000.csv.crc"));
        for part in 0..4 {
            keys.push(format!("{folder}part-{part:05}.csv"));
        }
    }
    keys.sort();
    let mut xml = String::with_capacity(200 + keys.len() * 260);
    xml.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    xml.push_str("<Name>acme-warehouse-prod</Name>");
    xml.push_str(&format!("<Prefix>{LIST_PREFIX}</Prefix><KeyCount>{}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>", keys.len()));
    for (i, key) in keys.iter().enumerate() {
        xml.push_str(&format!(
            "<Contents><Key>{key}</Key><LastModified>2026-11-01T12:{:02}:{:02}.000Z</LastModified>\
             <ETag>&quot;{:032x}&quot;</ETag><Size>{}</Size><StorageClass>STANDARD</StorageClass></Contents>",
            i / 60 % 60,
            i % 60,
            (i as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835),
            1000 + i * 37,
        ));
    }
    xml.push_str("</ListBucketResult>");
    xml
}

/// An analyst's entitlements to `sales`, with the demo's housekeeping rule.
pub fn analyst() -> Entitlements {
    let doc = r#"{"principal":"bench","enabled":true,"ttl_seconds":60,
        "data_sources":[{"name":"sales","upstream":"demo","bucket":"acme-warehouse-prod",
        "prefix":"curated/sales/","format":"csv","hidden":["_SUCCESS","*.crc"]}]}"#;
    serde_json::from_str(doc).unwrap_or_default()
}

/// A CSV table of about `bytes` bytes, 10 columns, LF-terminated, with a header: ids, names,
/// emails, a quoted address holding the delimiter, a quoted note with doubled quotes in every
/// seventh row, numbers, dates, and an empty column in every fifth row. Deterministic.
pub fn csv_table(bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes + 256);
    out.extend_from_slice(b"id,name,email,address,note,amount,region,created,ssn,score\n");
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut row: u64 = 0;
    while out.len() < bytes {
        // xorshift64: cheap, deterministic variety.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let r = state;
        let note = if row % 7 == 0 {
            format!("\"said \"\"call me\"\" at {}\"", r % 1000)
        } else {
            format!("\"plain note {}\"", r % 97)
        };
        let score = if row % 5 == 0 {
            String::new()
        } else {
            format!("{}", r % 100)
        };
        out.extend_from_slice(
            format!(
                "{row},name{},user{}@example.com,\"{} Main St, Springfield\",{note},{}.{:02},{},2026-{:02}-{:02},{:03}-{:02}-{:04},{score}\n",
                r % 10_000,
                r % 100_000,
                r % 9999,
                r % 100_000,
                r % 100,
                ["eu", "us", "apac"][(r % 3) as usize],
                r % 12 + 1,
                r % 28 + 1,
                r % 1000,
                r % 100,
                r % 10_000,
            )
            .as_bytes(),
        );
        row += 1;
    }
    out
}

/// A JSON Lines table of about `bytes` bytes, 10 fields a line (one a nested `address` object
/// of three), LF-terminated: ids, names, emails, a note with escaped quotes and a `\u` escape in
/// every seventh line, numbers (negative, fractions, exponents), a bool, a null in every fifth
/// line, dates. Deterministic.
pub fn jsonl_table(bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes + 512);
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut row: u64 = 0;
    while out.len() < bytes {
        // xorshift64, as for the CSV table.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let r = state;
        let note = if row % 7 == 0 {
            format!("said \\\"call me\\\" at {} \\u00e9", r % 1000)
        } else {
            format!("plain note {}", r % 97)
        };
        let score = if row % 5 == 0 {
            "null".to_owned()
        } else {
            format!("{}", r % 100)
        };
        out.extend_from_slice(
            format!(
                "{{\"id\":{row},\"name\":\"name{}\",\"email\":\"user{}@example.com\",\"address\":{{\"street\":\"{} Main St\",\"city\":\"Springfield\",\"zip\":\"{:05}\"}},\"note\":\"{note}\",\"amount\":-{}.{:02}e1,\"region\":\"{}\",\"created\":\"2026-{:02}-{:02}\",\"active\":{},\"score\":{score}}}\n",
                r % 10_000,
                r % 100_000,
                r % 9999,
                r % 100_000,
                r % 100_000,
                r % 100,
                ["eu", "us", "apac"][(r % 3) as usize],
                r % 12 + 1,
                r % 28 + 1,
                r % 2 == 0,
            )
            .as_bytes(),
        );
        row += 1;
    }
    out
}
