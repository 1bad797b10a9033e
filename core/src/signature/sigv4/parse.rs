//! Reading a SigV4 credential: the `Authorization` header or the presigned query, into a
//! [`SigV4Auth`].

use super::*;

/// Parses `AWS4-HMAC-SHA256 Credential=KEY/yyyymmdd/region/s3/aws4_request,
/// SignedHeaders=a;b;c, Signature=hex` (any order, spaces after commas tolerated).
pub fn parse_authorization(header: &str) -> Result<SigV4Auth, S3Error> {
    let rest = header
        .trim()
        .strip_prefix(ALGORITHM)
        .filter(|r| r.starts_with(' '))
        .ok_or_else(|| {
            header_malformed(
                "The authorization header is malformed; the algorithm must be AWS4-HMAC-SHA256.",
            )
        })?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (name, value) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| header_malformed("The authorization header is malformed."))?;
        let slot = match name {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => return Err(header_malformed("The authorization header is malformed.")),
        };
        // A repeated component could be read differently by different parsers: refuse.
        if slot.replace(value).is_some() {
            return Err(header_malformed("The authorization header is malformed."));
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(header_malformed(
            "The authorization header is malformed; it must contain Credential, SignedHeaders and Signature.",
        ));
    };
    build(
        credential,
        signed_headers,
        signature,
        None,
        header_malformed,
    )
}

/// Reads a presigned URL's credential from the decoded query (`request::parse_query`).
/// `Ok(None)` when the query carries no SigV4 presign parameters at all.
pub fn parse_presigned(query: &[QueryParam]) -> Result<Option<SigV4Auth>, S3Error> {
    const NAMES: [&str; 6] = [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
    ];
    let mut values: [Option<&str>; 6] = [None; 6];
    for QueryParam { name, value, .. } in query {
        if let Some((slot, _)) = values.iter_mut().zip(NAMES).find(|(_, n)| n == name) {
            if slot.replace(value.as_str()).is_some() {
                return Err(query_malformed(&format!(
                    "The {name} parameter must appear only once."
                )));
            }
        }
    }
    if values.iter().all(Option::is_none) {
        return Ok(None);
    }
    let [Some(alg), Some(cred), Some(timestamp), Some(expires), Some(signed), Some(sig)] = values
    else {
        return Err(query_malformed(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, \
             X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
        ));
    };
    if alg != ALGORITHM {
        return Err(query_malformed(
            "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"",
        ));
    }
    if parse_amz_date(timestamp).is_none() {
        return Err(query_malformed(
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
        ));
    }
    let expires =
        parse_digits(expires).ok_or_else(|| query_malformed("X-Amz-Expires should be a number"))?;
    if !(1..=MAX_PRESIGNED_EXPIRES).contains(&expires) {
        return Err(query_malformed(
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        ));
    }
    let presigned = Presigned {
        timestamp: timestamp.to_string(),
        expires,
    };
    build(cred, signed, sig, Some(presigned), query_malformed).map(Some)
}

fn build(
    credential: &str,
    signed_headers: &str,
    signature: &str,
    presigned: Option<Presigned>,
    malformed: fn(&str) -> S3Error,
) -> Result<SigV4Auth, S3Error> {
    // KEY/yyyymmdd/region/service/aws4_request, split from the right so only the key is free-form.
    let mut parts = credential.rsplitn(5, '/');
    let (Some("aws4_request"), Some(service), Some(region), Some(date), Some(access_key)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(malformed(
            "The credential must be KEY/yyyymmdd/region/s3/aws4_request.",
        ));
    };
    if !valid_access_key(access_key) {
        return Err(malformed("The credential's access key is malformed."));
    }
    if day_number(date).is_none() {
        return Err(malformed(
            "The credential's date is not a valid yyyymmdd date.",
        ));
    }
    if region.is_empty()
        || region.len() > 64
        || !region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(malformed("The credential's region is malformed."));
    }
    if service != SERVICE {
        return Err(malformed("The credential's service must be s3."));
    }
    let signed_headers = parse_signed_headers(signed_headers).ok_or_else(|| {
        malformed("SignedHeaders must be lower-case, sorted, unique and include host.")
    })?;
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(malformed("The signature must be 64 hexadecimal digits."));
    }
    Ok(SigV4Auth {
        access_key: access_key.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        signed_headers,
        signature: signature.to_ascii_lowercase(),
        presigned,
    })
}

fn parse_signed_headers(list: &str) -> Option<Vec<String>> {
    let valid_name = |n: &str| {
        !n.is_empty()
            && n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
    };
    let mut names: Vec<String> = Vec::with_capacity(4);
    let mut has_host = false;
    for name in list.split(';') {
        // Strictly ascending: sorted, as the canonical form requires, and no name twice.
        let ascending = names.last().is_none_or(|previous| previous.as_str() < name);
        if names.len() == MAX_SIGNED_HEADERS || !valid_name(name) || !ascending {
            return None;
        }
        has_host |= name == "host";
        names.push(name.to_string());
    }
    has_host.then_some(names)
}

fn parse_digits(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}
