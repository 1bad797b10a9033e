//! SigV4 against AWS's test suite, S3's documentation examples and botocore's signatures.

use super::*;

fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn sha256_hex(text: &str) -> String {
    let mut out = String::new();
    push_hex32(&mut out, &Sha256::digest(text.as_bytes()).into());
    out
}

// ---- AWS SigV4 test suite, "get-vanilla" family (service `service`, so the building blocks
// are driven directly; `verify` insists on `s3`).
const SUITE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn suite_signature(raw_path: &str) -> (String, String) {
    let headers = h(&[
        ("host", "example.amazonaws.com"),
        ("x-amz-date", "20150830T123600Z"),
    ]);
    let cr = canonical_request(
        "GET",
        raw_path,
        &headers,
        &names(&["host", "x-amz-date"]),
        EMPTY_SHA256,
        false,
    )
    .unwrap();
    let sts = string_to_sign("20150830T123600Z", "20150830/us-east-1/service", &cr);
    let key = signing_key(SUITE_SECRET, "20150830", "us-east-1", "service");
    (cr, signature(&key, &sts))
}

#[test]
fn aws_suite_get_vanilla() {
    let (cr, sig) = suite_signature("/");
    assert_eq!(
        cr,
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n\
         host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        string_to_sign("20150830T123600Z", "20150830/us-east-1/service", &cr),
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n\
         bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
    );
    assert_eq!(
        sig,
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    );
}

#[test]
fn aws_suite_get_vanilla_query_order_and_utf8() {
    // get-vanilla-query-order-key-case: parameters sorted by name.
    let (cr, sig) = suite_signature("/?Param2=value2&Param1=value1");
    assert!(cr.starts_with("GET\n/\nParam1=value1&Param2=value2\n"));
    assert_eq!(
        sig,
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
    );
    // get-utf8: `/ሴ`, encoded once.
    let (cr, sig) = suite_signature("/%E1%88%B4");
    assert!(cr.starts_with("GET\n/%E1%88%B4\n\n"));
    assert_eq!(
        string_to_sign("20150830T123600Z", "20150830/us-east-1/service", &cr),
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n\
         2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102"
    );
    assert_eq!(
        sig,
        "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"
    );
}

// ---- S3 documentation examples (bucket `examplebucket`, 2013-05-24).
const S3_DOC_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const S3_DOC_NOW: u64 = 1_369_353_600; // 2013-05-24T00:00:00Z

fn s3_doc_key() -> [u8; 32] {
    signing_key(S3_DOC_SECRET, "20130524", "us-east-1", "s3")
}

fn s3_doc_get() -> (SigV4Auth, Vec<(String, String)>) {
    let auth = parse_authorization(
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
         SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,\
         Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    )
    .unwrap();
    let headers = h(&[
        ("host", "examplebucket.s3.amazonaws.com"),
        ("range", "bytes=0-9"),
        ("x-amz-content-sha256", EMPTY_SHA256),
        ("x-amz-date", "20130524T000000Z"),
    ]);
    (auth, headers)
}

#[test]
fn s3_doc_get_object_with_range() {
    let mut key_hex = String::new();
    push_hex32(&mut key_hex, &s3_doc_key());
    assert_eq!(
        key_hex,
        "dbb893acc010964918f1fd433add87c70e8b0db6be30c1fbeafefa5ec6ba8378"
    );
    let (auth, headers) = s3_doc_get();
    assert_eq!(auth.access_key, "AKIAIOSFODNN7EXAMPLE");
    assert_eq!(auth.scope_string(), "20130524/us-east-1/s3");
    let cr = canonical_request(
        "GET",
        "/test.txt",
        &headers,
        &auth.signed_headers,
        EMPTY_SHA256,
        false,
    )
    .unwrap();
    assert_eq!(
        sha256_hex(&cr),
        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"
    );
    verify(
        &auth,
        "GET",
        "/test.txt",
        &headers,
        S3_DOC_NOW,
        &s3_doc_key(),
    )
    .unwrap();
}

const S3_DOC_PRESIGNED: &str = "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256\
    &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
    &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
    &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

fn presigned_auth(raw_path: &str) -> Result<Option<SigV4Auth>, S3Error> {
    let query = raw_path.split_once('?').map_or("", |(_, q)| q);
    parse_presigned(&crate::s3::request::parse_query(query)?)
}

#[test]
fn s3_doc_presigned_url() {
    let auth = presigned_auth(S3_DOC_PRESIGNED).unwrap().unwrap();
    let host = h(&[("host", "examplebucket.s3.amazonaws.com")]);
    let cr = canonical_request(
        "GET",
        S3_DOC_PRESIGNED,
        &host,
        &auth.signed_headers,
        UNSIGNED_PAYLOAD,
        true,
    )
    .unwrap();
    assert_eq!(
        sha256_hex(&cr),
        "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04"
    );
    verify(
        &auth,
        "GET",
        S3_DOC_PRESIGNED,
        &host,
        S3_DOC_NOW + 3600,
        &s3_doc_key(),
    )
    .unwrap();
    // Valid to the last second of its 86400, not after.
    verify(
        &auth,
        "GET",
        S3_DOC_PRESIGNED,
        &host,
        S3_DOC_NOW + 86_400,
        &s3_doc_key(),
    )
    .unwrap();
    let e = verify(
        &auth,
        "GET",
        S3_DOC_PRESIGNED,
        &host,
        S3_DOC_NOW + 86_401,
        &s3_doc_key(),
    )
    .unwrap_err();
    assert_eq!(
        (e.code, e.status, e.message.as_str()),
        ("AccessDenied", 403, "Request has expired")
    );
}

// ---- Vectors signed by botocore 1.44.8 (scripts/gen_sigv4_vectors.py): an S3 client with
// endpoint http://gw.example:8080/s3p, path-style, region us-east-1, access key
// `alice-demo-key`, secret `gw+secret/with=odd chars`, clock pinned at 2026-11-26T10:00:00Z.
// They show the canonical form is the client's: the full path including `/s3p`, keys with
// spaces, `+`, `=` and non-ASCII encoded exactly once, and the listing query re-sorted.
const BOTO_SECRET: &str = "gw+secret/with=odd chars";
const BOTO_NOW: u64 = 1_795_687_200;
const BOTO_HOST: &str = "gw.example:8080";
const BOTO_KEY_PATH: &str = "/s3p/immuta/sales/q1%20report%2Bfinal%3Dv2%20%C3%A9/%C3%BCn%C3%AF.csv";
const BOTO_LIST_PATH: &str = "/s3p/immuta?list-type=2&prefix=sales%2Fq1%20report%2B\
    &delimiter=%2F&encoding-type=url";
const BOTO_UA: &str = "Botocore/1.44.8 ua/2.1 os/linux md/arch#x86_64 lang/python#3.11.7";

fn boto_key() -> [u8; 32] {
    signing_key(BOTO_SECRET, "20261126", "us-east-1", "s3")
}

fn boto_auth(signed: &str, sig: &str) -> SigV4Auth {
    parse_authorization(&format!(
        "AWS4-HMAC-SHA256 Credential=alice-demo-key/20261126/us-east-1/s3/aws4_request, \
         SignedHeaders={signed}, Signature={sig}"
    ))
    .unwrap()
}

fn boto_headers(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    // As Envoy presents them: the Host header as `:authority`, names lower-case.
    let mut headers = h(&[(":authority", BOTO_HOST)]);
    headers.extend(h(extra));
    headers.extend(h(&[
        ("user-agent", BOTO_UA),
        ("x-amz-date", "20261126T100000Z"),
        ("x-amz-content-sha256", EMPTY_SHA256),
        (
            "amz-sdk-invocation-id",
            "ebee16b5-80cb-41e2-9587-352dfbf889a5",
        ),
        ("amz-sdk-request", "attempt=1; max=3"),
    ]));
    headers
}

struct Case {
    method: &'static str,
    path: String,
    auth: SigV4Auth,
    headers: Vec<(String, String)>,
}

fn boto_list() -> Case {
    Case {
        method: "GET",
        path: BOTO_LIST_PATH.to_string(),
        auth: boto_auth(
            "host;x-amz-content-sha256;x-amz-date",
            "9715c39ab101de3c6fc54e1914eaad60ab5b8e917e9f2ccc8a99b329945f05c9",
        ),
        headers: boto_headers(&[]),
    }
}

fn boto_get() -> Case {
    Case {
        method: "GET",
        path: BOTO_KEY_PATH.to_string(),
        auth: boto_auth(
            "host;range;x-amz-checksum-mode;x-amz-content-sha256;x-amz-date",
            "a9e5cab62564a67f1d0f22e3f4219deeb64b67f3b4be812bf09b72f859713261",
        ),
        headers: boto_headers(&[("range", "bytes=0-9"), ("x-amz-checksum-mode", "ENABLED")]),
    }
}

fn boto_head() -> Case {
    Case {
        method: "HEAD",
        path: BOTO_KEY_PATH.to_string(),
        auth: boto_auth(
            "host;x-amz-content-sha256;x-amz-date",
            "2f4e1c8e5e62b734b42bb0c51d8ccdb68fb113aca3e6cab7d9b22db0e8185029",
        ),
        headers: boto_headers(&[]),
    }
}

const BOTO_PRESIGNED_GET: &str =
    "/s3p/immuta/sales/q1%20report%2Bfinal%3Dv2%20%C3%A9/%C3%BCn%C3%AF.csv\
    ?X-Amz-Algorithm=AWS4-HMAC-SHA256\
    &X-Amz-Credential=alice-demo-key%2F20261126%2Fus-east-1%2Fs3%2Faws4_request\
    &X-Amz-Date=20261126T100000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\
    &X-Amz-Signature=f5be6b789c2add09a828cfce895866edc28f322f1b8a08583341e6f0deb47afe";
const BOTO_PRESIGNED_LIST: &str = "/s3p/immuta?list-type=2&prefix=sales%2Fa%3Db%2Bc%20d\
    &delimiter=%2F&encoding-type=url&X-Amz-Algorithm=AWS4-HMAC-SHA256\
    &X-Amz-Credential=alice-demo-key%2F20261126%2Fus-east-1%2Fs3%2Faws4_request\
    &X-Amz-Date=20261126T100000Z&X-Amz-Expires=600&X-Amz-SignedHeaders=host\
    &X-Amz-Signature=d3f82f472c09913bb3525df645e897bb0b45e22b22b7c973b7f711bfc555f385";

fn check(case: &Case, now: u64) -> Result<(), S3Error> {
    verify(
        &case.auth,
        case.method,
        &case.path,
        &case.headers,
        now,
        &boto_key(),
    )
}

fn check_presigned(path: &str, headers: &[(String, String)], now: u64) -> Result<(), S3Error> {
    let auth = presigned_auth(path)?.ok_or_else(S3Error::access_denied)?;
    verify(&auth, "GET", path, headers, now, &boto_key())
}

#[test]
fn a_prepared_key_verifies_like_the_raw_one() {
    let hex: String = boto_key().iter().map(|b| format!("{b:02x}")).collect();
    let key = VerifyingKey::from_hex(&hex).unwrap();
    for case in [boto_list(), boto_get(), boto_head()] {
        let with = |key: &VerifyingKey| {
            verify_with(
                &case.auth,
                case.method,
                &case.path,
                &case.headers,
                BOTO_NOW,
                key,
            )
        };
        with(&key).unwrap();
        // Reused (cloned state), it still verifies; another key does not.
        with(&key).unwrap();
        assert_eq!(
            code(with(&VerifyingKey::new(&[7; 32]))),
            "SignatureDoesNotMatch"
        );
    }
    assert!(VerifyingKey::from_hex("abc").is_none());
    assert!(VerifyingKey::from_hex(&"zz".repeat(32)).is_none());
    assert_eq!(
        format!("{key:?}"),
        "VerifyingKey(..)",
        "no key material in logs"
    );
}

#[test]
fn botocore_header_signatures_verify() {
    for case in [boto_list(), boto_get(), boto_head()] {
        check(&case, BOTO_NOW).unwrap();
        // Within the allowed skew, both ways.
        check(&case, BOTO_NOW + MAX_SKEW_SECONDS).unwrap();
        check(&case, BOTO_NOW - MAX_SKEW_SECONDS).unwrap();
    }
    // A literal `host` header works as well as Envoy's `:authority`.
    let mut case = boto_list();
    case.headers[0].0 = "host".into();
    check(&case, BOTO_NOW).unwrap();
}

#[test]
fn botocore_service_bucket_and_virtual_hosted_requests_verify() {
    let plain = |path: &str, sig: &str| Case {
        method: "GET",
        path: path.to_string(),
        auth: boto_auth("host;x-amz-content-sha256;x-amz-date", sig),
        headers: boto_headers(&[]),
    };
    // ListBuckets and GetBucketLocation, path-style.
    check(
        &plain(
            "/s3p",
            "06563ff11ec1076b20349148287eeb49d19d8dba2952efe9b20d0791f8ce30cc",
        ),
        BOTO_NOW,
    )
    .unwrap();
    check(
        &plain(
            "/s3p/immuta?location",
            "073d402d48c8860e6df309fc41936c9c9f456f5de70e5783a58a8fec7148440e",
        ),
        BOTO_NOW,
    )
    .unwrap();
    // Virtual-hosted: the bucket in the host, the path as sent (prefix, no bucket).
    let virtual_host = |mut case: Case| {
        case.headers[0].1 = "immuta.gw.example:8080".into();
        case
    };
    let get = virtual_host(Case {
        path: "/s3p/sales/q1%20report%2Bfinal%3Dv2%20%C3%A9/%C3%BCn%C3%AF.csv".into(),
        auth: boto_auth(
            "host;range;x-amz-checksum-mode;x-amz-content-sha256;x-amz-date",
            "bb9ccaca7b65083799619318dade903749d6c1cb310277d6121c9b2dfec25a51",
        ),
        ..boto_get()
    });
    check(&get, BOTO_NOW).unwrap();
    let list = virtual_host(plain(
        "/s3p?list-type=2&prefix=sales%2Fq1%20report%2B&delimiter=%2F&encoding-type=url",
        "df09553b8763c0f6089275b4326f264c92a887b8977e12908f37c41d5b4c96f6",
    ));
    check(&list, BOTO_NOW).unwrap();
    let host = h(&[(":authority", "immuta.gw.example:8080")]);
    check_presigned(
        "/s3p/sales/q1%20report%2Bfinal%3Dv2%20%C3%A9/%C3%BCn%C3%AF.csv\
         ?X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=alice-demo-key%2F20261126%2Fus-east-1%2Fs3%2Faws4_request\
         &X-Amz-Date=20261126T100000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\
         &X-Amz-Signature=ae56813d084dd7b45e95a52d4d335f73e940834cfef0a271f66b999830dfa809",
        &host,
        BOTO_NOW,
    )
    .unwrap();
}

#[test]
fn botocore_canonical_form_keeps_prefix_and_encodes_once() {
    let case = boto_get();
    let cr = canonical_request(
        case.method,
        &case.path,
        &case.headers,
        &case.auth.signed_headers,
        EMPTY_SHA256,
        false,
    )
    .unwrap();
    assert!(cr.starts_with(&format!("GET\n{BOTO_KEY_PATH}\n\nhost:{BOTO_HOST}\n")));
    let case = boto_list();
    let cr = canonical_request(
        case.method,
        &case.path,
        &case.headers,
        &case.auth.signed_headers,
        EMPTY_SHA256,
        false,
    )
    .unwrap();
    assert!(cr.starts_with(
        "GET\n/s3p/immuta\ndelimiter=%2F&encoding-type=url&list-type=2\
         &prefix=sales%2Fq1%20report%2B\n"
    ));
}

#[test]
fn botocore_presigned_urls_verify() {
    let host = h(&[(":authority", BOTO_HOST), ("user-agent", "curl/8.5.0")]);
    check_presigned(BOTO_PRESIGNED_GET, &host, BOTO_NOW).unwrap();
    check_presigned(BOTO_PRESIGNED_GET, &host, BOTO_NOW + 3600).unwrap();
    check_presigned(BOTO_PRESIGNED_LIST, &host, BOTO_NOW + 600).unwrap();
    let e = check_presigned(BOTO_PRESIGNED_LIST, &host, BOTO_NOW + 601).unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        ("AccessDenied", "Request has expired")
    );
}

#[test]
fn path_encoding_is_normalised_once_not_twice() {
    let case = boto_head();
    // The same key with unreserved characters escaped and lower-case hex: same resource,
    // same canonical path, still verifies.
    let variant = "/s3p/immuta/sale%73/q1%20report%2bfinal%3dv2%20%c3%a9/%C3%BCn%C3%AF.csv";
    verify(
        &case.auth,
        "HEAD",
        variant,
        &case.headers,
        BOTO_NOW,
        &boto_key(),
    )
    .unwrap();
    // Double-encoding is a different key: it must not verify.
    let double =
        "/s3p/immuta/sales/q1%2520report%252Bfinal%253Dv2%2520%25C3%25A9/%25C3%25BCn%25C3%25AF.csv";
    assert_eq!(
        verify(
            &case.auth,
            "HEAD",
            double,
            &case.headers,
            BOTO_NOW,
            &boto_key()
        )
        .unwrap_err()
        .code,
        "SignatureDoesNotMatch"
    );
    // Dot segments and double slashes are kept, as S3 keeps them.
    let mut out = String::new();
    push_canonical_uri(&mut out, "/s3p/immuta/a/../b//c%2Fd/~x%7E");
    assert_eq!(out, "/s3p/immuta/a/../b//c%2Fd/~x~");
}

#[test]
fn canonical_query_rules() {
    let (mut out, mut params, mut ranges) = (String::new(), String::new(), Vec::new());
    let q = "b=2&a=&acl&a=1&x%20y=a%2Fb+c&%C3%A9=%7E";
    push_canonical_query(&mut out, &mut params, &mut ranges, q, false);
    assert_eq!(out, "%C3%A9=~&a=&a=1&acl=&b=2&x%20y=a%2Fb%20c");
    out.clear();
    let q = "X-Amz-Signature=ab&acl";
    push_canonical_query(&mut out, &mut params, &mut ranges, q, true);
    assert_eq!(out, "acl=");
    // A signature parameter is left out by its decoded name, and only when presigned.
    out.clear();
    let q = "X-Amz-Signatur%65=ab&acl";
    push_canonical_query(&mut out, &mut params, &mut ranges, q, true);
    assert_eq!(out, "acl=");
    out.clear();
    push_canonical_query(&mut out, &mut params, &mut ranges, q, false);
    assert_eq!(out, "X-Amz-Signature=ab&acl=");
}

#[test]
fn trimming_takes_the_shortcut_only_when_it_changes_nothing() {
    // Every string of up to 6 characters over {a, space, tab}, against the plain rule.
    let alphabet = ['a', ' ', '\t'];
    for len in 0..=6u32 {
        for mut n in 0..3usize.pow(len) {
            let mut value = String::new();
            for _ in 0..len {
                value.push(alphabet[n % 3]);
                n /= 3;
            }
            let expected = value
                .split([' ', '\t'])
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            let mut out = String::from("x:");
            push_trimmed(&mut out, &value);
            assert_eq!(out, format!("x:{expected}"), "{value:?}");
        }
    }
}

#[test]
fn header_values_are_trimmed_and_collapsed() {
    let mut out = String::new();
    push_trimmed(&mut out, "  a   b \t c  ");
    assert_eq!(out, "a b c");
    let headers = h(&[
        ("host", "h"),
        ("x-amz-meta-a", "1"),
        ("x-amz-meta-a", " 2 "),
    ]);
    let cr = canonical_request(
        "GET",
        "/",
        &headers,
        &names(&["host", "x-amz-meta-a"]),
        UNSIGNED_PAYLOAD,
        false,
    )
    .unwrap();
    assert!(cr.contains("\nhost:h\nx-amz-meta-a:1,2\n\nhost;x-amz-meta-a\nUNSIGNED-PAYLOAD"));
}

// ---- negative cases

fn code(r: Result<(), S3Error>) -> &'static str {
    r.unwrap_err().code
}

#[test]
fn wrong_secret_fails() {
    let case = boto_get();
    let other = signing_key("not the secret", "20261126", "us-east-1", "s3");
    let e = verify(
        &case.auth,
        case.method,
        &case.path,
        &case.headers,
        BOTO_NOW,
        &other,
    )
    .unwrap_err();
    assert_eq!((e.code, e.status), ("SignatureDoesNotMatch", 403));
    // S3's fixed text, with no hint of the expected signature or canonical request.
    assert_eq!(e.message, signature_does_not_match().message);
    assert!(!e.message.contains(BOTO_KEY_PATH) && e.detail.is_none());
    let other_region = signing_key(BOTO_SECRET, "20261126", "eu-west-1", "s3");
    assert_eq!(
        code(verify(
            &case.auth,
            case.method,
            &case.path,
            &case.headers,
            BOTO_NOW,
            &other_region
        )),
        "SignatureDoesNotMatch"
    );
}

#[test]
fn tampering_fails() {
    let case = boto_get();
    let run = |method: &str, path: &str, headers: &[(String, String)]| {
        code(verify(
            &case.auth,
            method,
            path,
            headers,
            BOTO_NOW,
            &boto_key(),
        ))
    };
    // Path, method, a signed header's value, the host.
    let other_key = BOTO_KEY_PATH.replace("q1", "q2");
    assert_eq!(
        run("GET", &other_key, &case.headers),
        "SignatureDoesNotMatch"
    );
    assert_eq!(
        run("GET", "/immuta/sales/x", &case.headers),
        "SignatureDoesNotMatch"
    );
    assert_eq!(
        run("HEAD", &case.path, &case.headers),
        "SignatureDoesNotMatch"
    );
    let mut headers = case.headers.clone();
    for (k, v) in headers.iter_mut() {
        if k == "range" {
            *v = "bytes=0-99".into();
        }
    }
    assert_eq!(run("GET", &case.path, &headers), "SignatureDoesNotMatch");
    let mut headers = case.headers.clone();
    headers[0].1 = "evil.example:8080".into();
    assert_eq!(run("GET", &case.path, &headers), "SignatureDoesNotMatch");
    // A query parameter added, removed or changed.
    let list = boto_list();
    let run_list = |path: &str| {
        code(check(
            &Case {
                path: path.to_string(),
                ..boto_list()
            },
            BOTO_NOW,
        ))
    };
    assert_eq!(
        run_list(&format!("{}&max-keys=1", list.path)),
        "SignatureDoesNotMatch"
    );
    assert_eq!(
        run_list(&list.path.replace("&encoding-type=url", "")),
        "SignatureDoesNotMatch"
    );
    assert_eq!(
        run_list(&list.path.replace("q1", "q9")),
        "SignatureDoesNotMatch"
    );
    // A duplicate of a signed parameter is a different request.
    assert_eq!(
        run_list(&format!("{}&prefix=customers%2F", list.path)),
        "SignatureDoesNotMatch"
    );
    // Presigned: the URL's own parameters are signed too.
    let host = h(&[(":authority", BOTO_HOST)]);
    let longer = BOTO_PRESIGNED_GET.replace("X-Amz-Expires=3600", "X-Amz-Expires=7200");
    assert_eq!(
        code(check_presigned(&longer, &host, BOTO_NOW)),
        "SignatureDoesNotMatch"
    );
    let other = BOTO_PRESIGNED_LIST.replace("sales%2Fa", "customers%2Fa");
    assert_eq!(
        code(check_presigned(&other, &host, BOTO_NOW)),
        "SignatureDoesNotMatch"
    );
}

#[test]
fn unsigned_headers_may_change() {
    let mut case = boto_get();
    for (k, v) in case.headers.iter_mut() {
        if k == "user-agent" || k == "amz-sdk-request" {
            *v = "something else entirely".into();
        }
    }
    case.headers.push(("accept-encoding".into(), "gzip".into()));
    case.headers
        .push(("x-forwarded-for".into(), "10.0.0.1".into()));
    check(&case, BOTO_NOW).unwrap();
}

#[test]
fn unsigned_amz_headers_are_refused() {
    let mut case = boto_head();
    case.headers
        .push(("x-amz-request-payer".into(), "requester".into()));
    let e = check(&case, BOTO_NOW).unwrap_err();
    assert_eq!((e.code, e.status), ("AccessDenied", 403));
    assert_eq!(
        e.detail,
        Some(("HeadersNotSigned", "x-amz-request-payer".to_string()))
    );
}

#[test]
fn missing_signed_header_fails() {
    let mut case = boto_get();
    case.headers.retain(|(k, _)| k != "range");
    assert_eq!(code(check(&case, BOTO_NOW)), "SignatureDoesNotMatch");
    let mut case = boto_get();
    case.headers.retain(|(k, _)| k != ":authority");
    assert_eq!(code(check(&case, BOTO_NOW)), "SignatureDoesNotMatch");
}

#[test]
fn clock_skew_beyond_fifteen_minutes_fails_both_ways() {
    let case = boto_list();
    for now in [
        BOTO_NOW + MAX_SKEW_SECONDS + 1,
        BOTO_NOW - MAX_SKEW_SECONDS - 1,
    ] {
        let e = check(&case, now).unwrap_err();
        assert_eq!((e.code, e.status), ("RequestTimeTooSkewed", 403));
        assert_eq!(
            e.message,
            "The difference between the request time and the current time is too large."
        );
    }
}

#[test]
fn presigned_url_expiry_and_future_date() {
    let host = h(&[(":authority", BOTO_HOST)]);
    let e = check_presigned(BOTO_PRESIGNED_GET, &host, BOTO_NOW + 3601).unwrap_err();
    assert_eq!(
        (e.code, e.status, e.message.as_str()),
        ("AccessDenied", 403, "Request has expired")
    );
    // Signed for a moment more than 15 minutes ahead of the gateway's clock.
    let e =
        check_presigned(BOTO_PRESIGNED_GET, &host, BOTO_NOW - MAX_SKEW_SECONDS - 1).unwrap_err();
    assert_eq!((e.code, e.status), ("AccessDenied", 403));
    check_presigned(BOTO_PRESIGNED_GET, &host, BOTO_NOW - MAX_SKEW_SECONDS).unwrap();
}

#[test]
fn date_header_and_scope_date() {
    // `Date` instead of `x-amz-date`: the string to sign carries it in ISO 8601 basic form.
    let key = boto_key();
    let mut headers = boto_headers(&[]);
    headers.retain(|(k, _)| k != "x-amz-date");
    headers.push(("date".into(), "Thu, 26 Nov 2026 10:00:00 GMT".into()));
    let signed = names(&["date", "host", "x-amz-content-sha256"]);
    let cr = canonical_request("GET", "/s3p", &headers, &signed, EMPTY_SHA256, false).unwrap();
    let sts = string_to_sign("20261126T100000Z", "20261126/us-east-1/s3", &cr);
    let auth = boto_auth("date;host;x-amz-content-sha256", &signature(&key, &sts));
    verify(&auth, "GET", "/s3p", &headers, BOTO_NOW, &key).unwrap();
    // No usable date at all.
    headers.retain(|(k, _)| k != "date");
    let e = verify(&auth, "GET", "/s3p", &headers, BOTO_NOW, &key).unwrap_err();
    assert_eq!(e.code, "AccessDenied");
    // A credential scope for another day than the request's.
    let mut case = boto_list();
    case.auth.date = "20261125".into();
    assert_eq!(code(check(&case, BOTO_NOW)), "AuthorizationHeaderMalformed");
}

#[test]
fn payload_hash_header_is_checked_and_defaults_to_the_empty_body() {
    let mut case = boto_list();
    case.headers.retain(|(k, _)| k != "x-amz-content-sha256");
    // Without the header the empty body's hash is what was signed: boto's signature, made
    // over UNSIGNED-PAYLOAD, no longer matches.
    case.auth = boto_auth("host;x-amz-date", &case.auth.signature);
    assert_eq!(code(check(&case, BOTO_NOW)), "SignatureDoesNotMatch");
    let mut case = boto_list();
    for (k, v) in case.headers.iter_mut() {
        if k == "x-amz-content-sha256" {
            *v = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD".into();
        }
    }
    assert_eq!(code(check(&case, BOTO_NOW)), "InvalidArgument");
    let mut case = boto_list();
    case.headers
        .push(("x-amz-date".into(), "20261126T100000Z".into()));
    assert_eq!(code(check(&case, BOTO_NOW)), "InvalidArgument");
}

#[test]
fn malformed_authorization_headers_are_rejected() {
    let ok = "Credential=k/20261126/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, \
              Signature=9715c39ab101de3c6fc54e1914eaad60ab5b8e917e9f2ccc8a99b329945f05c9";
    parse_authorization(&format!("AWS4-HMAC-SHA256 {ok}")).unwrap();
    // Components in another order, no spaces: fine.
    parse_authorization(
        "AWS4-HMAC-SHA256 Signature=9715c39ab101de3c6fc54e1914eaad60ab5b8e917e9f2ccc8a99b329945f05c9,\
         SignedHeaders=host,Credential=k/20261126/us-east-1/s3/aws4_request",
    )
    .unwrap();
    let sig = "9715c39ab101de3c6fc54e1914eaad60ab5b8e917e9f2ccc8a99b329945f05c9";
    for bad in [
        format!("AWS4-HMAC-SHA256{ok}"),
        format!("AWS4-HMAC-SHA512 {ok}"),
        format!("AWS4-HMAC-SHA256 {ok}, Signature={sig}"),
        format!("AWS4-HMAC-SHA256 {ok}, Extra=1"),
        format!(
            "AWS4-HMAC-SHA256 Credential=k/20261126/us-east-1/s3/aws4_request, Signature={sig}"
        ),
        "AWS4-HMAC-SHA256 Credential=k/20261126/us-east-1/s3/aws4_request, SignedHeaders=host"
            .to_string(),
        format!("AWS4-HMAC-SHA256 SignedHeaders=host, Signature={sig}"),
        // Signatures: not hex, short, long.
        ok.replace(sig, &"g".repeat(64)),
        ok.replace(sig, &sig[..63]),
        ok.replace(sig, &format!("{sig}0")),
        // Signed headers: unsorted, upper-case, duplicated, empty, without host.
        ok.replace("host;x-amz-date", "x-amz-date;host"),
        ok.replace("host;x-amz-date", "Host;x-amz-date"),
        ok.replace("host;x-amz-date", "host;host"),
        ok.replace("host;x-amz-date", "host;;x-amz-date"),
        ok.replace("host;x-amz-date", "x-amz-date"),
        // Credentials: missing parts, wrong terminator or service, bad date, empty key.
        ok.replace(
            "k/20261126/us-east-1/s3/aws4_request",
            "k/20261126/us-east-1/s3",
        ),
        ok.replace("aws4_request", "aws5_request"),
        ok.replace("/s3/", "/iam/"),
        ok.replace("20261126", "20261131"),
        ok.replace("20261126", "2026112"),
        ok.replace("k/2026", "/2026"),
        ok.replace("us-east-1", "us east"),
    ]
    .iter()
    .map(|rest| {
        if rest.starts_with("AWS4") {
            rest.clone()
        } else {
            format!("AWS4-HMAC-SHA256 {rest}")
        }
    }) {
        let e = parse_authorization(&bad).unwrap_err();
        assert_eq!(
            (e.code, e.status),
            ("AuthorizationHeaderMalformed", 400),
            "{bad}"
        );
    }
    // Upper-case hex is read as the same signature.
    let upper = parse_authorization(&format!(
        "AWS4-HMAC-SHA256 {}",
        ok.replace(sig, &sig.to_uppercase())
    ))
    .unwrap();
    assert_eq!(upper.signature, sig);
    // The signature never shows in Debug output.
    assert!(!format!("{upper:?}").contains(sig));
}

#[test]
fn malformed_presign_queries_are_rejected() {
    assert_eq!(presigned_auth("/x?prefix=a&list-type=2").unwrap(), None);
    assert_eq!(presigned_auth("/x").unwrap(), None);
    let ok = presigned_auth(BOTO_PRESIGNED_GET).unwrap().unwrap();
    assert_eq!(ok.presigned.as_ref().map(|p| p.expires), Some(3600));
    assert_eq!(ok.signed_headers, vec!["host".to_string()]);
    for bad in [
        BOTO_PRESIGNED_GET.replace("&X-Amz-Expires=3600", ""),
        BOTO_PRESIGNED_GET.replace("X-Amz-Algorithm=AWS4-HMAC-SHA256&", ""),
        BOTO_PRESIGNED_GET.replace("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256"),
        BOTO_PRESIGNED_GET.replace("X-Amz-Expires=3600", "X-Amz-Expires=0"),
        BOTO_PRESIGNED_GET.replace("X-Amz-Expires=3600", "X-Amz-Expires=604801"),
        BOTO_PRESIGNED_GET.replace("X-Amz-Expires=3600", "X-Amz-Expires=-1"),
        BOTO_PRESIGNED_GET.replace("X-Amz-Expires=3600", "X-Amz-Expires=1e3"),
        BOTO_PRESIGNED_GET.replace("X-Amz-Date=20261126T100000Z", "X-Amz-Date=20261126T250000Z"),
        BOTO_PRESIGNED_GET.replace("X-Amz-Date=20261126T100000Z", "X-Amz-Date=2026-11-26"),
        BOTO_PRESIGNED_GET.replace("X-Amz-Signature=f5", "X-Amz-Signature=z5"),
        BOTO_PRESIGNED_GET.replace("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=range"),
        // Duplicated presign parameters.
        format!("{BOTO_PRESIGNED_GET}&X-Amz-Signature=00"),
        format!(
            "{BOTO_PRESIGNED_GET}&X-Amz-Credential=bob%2F20261126%2Fus-east-1%2Fs3%2Faws4_request"
        ),
        format!("{BOTO_PRESIGNED_GET}&X-Amz-Expires=3600"),
    ] {
        let e = presigned_auth(&bad).unwrap_err();
        assert_eq!(
            (e.code, e.status),
            ("AuthorizationQueryParametersError", 400),
            "{bad}"
        );
    }
    // The full range of lifetimes is accepted.
    presigned_auth(&BOTO_PRESIGNED_GET.replace("X-Amz-Expires=3600", "X-Amz-Expires=604800"))
        .unwrap()
        .unwrap();
    // A presigned URL whose scope date is not its X-Amz-Date's.
    let host = h(&[(":authority", BOTO_HOST)]);
    let shifted =
        BOTO_PRESIGNED_GET.replace("X-Amz-Date=20261126T100000Z", "X-Amz-Date=20261127T000000Z");
    assert_eq!(
        code(check_presigned(&shifted, &host, BOTO_NOW + 14 * 3600)),
        "AuthorizationQueryParametersError"
    );
}

#[test]
fn untrusted_input_never_panics() {
    let key = boto_key();
    let auth = boto_list().auth;
    for path in [
        "",
        "?",
        "/%",
        "/%e",
        "/%C3",
        "/a?%zz=1",
        "/a?b=%ff",
        "/\u{e9}?\u{e9}=\u{e9}",
    ] {
        let _ = verify(&auth, "GET", path, &boto_headers(&[]), BOTO_NOW, &key);
        let _ = presigned_auth(path);
    }
    for header in [
        "",
        "AWS4-HMAC-SHA256",
        "AWS4-HMAC-SHA256 ",
        "AWS4-HMAC-SHA256 ,,,",
        "AWS4-HMAC-SHA256 =",
        "AWS4-HMAC-SHA256 Credential=\u{e9}/\u{e9}",
    ] {
        assert!(parse_authorization(header).is_err(), "{header}");
    }
    for date in [
        "",
        "20261126T100000",
        "20261126T100000ZZ",
        "2026112\u{e9}T10000Z",
        "0000010100000000",
        "00000101T000000Z",
        "19691231T235959Z",
    ] {
        assert_eq!(parse_amz_date(date), None, "{date}");
    }
}
