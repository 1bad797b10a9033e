//! Virtual names → real ones for object requests.

use crate::encoding::percent::uri_encode;
use crate::policy::entitlements::{DataSourceGrant, Entitlements};
use crate::s3::error::S3Error;
use crate::s3::request::MAX_KEY_BYTES;

/// The data source grant and the key below it, for a virtual key the principal may see (under
/// every name a store may serve for it: `DataSourceGrant::is_visible`). Anything else — no
/// data source, an invisible one, a hidden object, a real key longer than S3 allows (no store
/// holds one; some refuse it with their own error) — is `NoSuchKey`, exactly like a key that
/// does not exist, so a client cannot tell what is hidden from what is missing.
pub fn resolve_object<'e, 'k>(
    entitlements: &'e Entitlements,
    key: &'k str,
) -> Result<(&'e DataSourceGrant, &'k str), S3Error> {
    let missing = || S3Error::no_such_key(key);
    let (name, relative) = key.split_once('/').ok_or_else(missing)?;
    let grant = entitlements.data_source(name).ok_or_else(missing)?;
    if relative.is_empty()
        || grant.prefix.len() + relative.len() > MAX_KEY_BYTES
        || !grant.is_visible(relative)
    {
        return Err(missing());
    }
    Ok((grant, relative))
}

/// The upstream `:path` for an object: path-style, the real key encoded once (as S3 expects),
/// then the forwarded query parameters.
pub fn upstream_object_path(
    grant: &DataSourceGrant,
    relative: &str,
    query: &[(String, String)],
) -> String {
    let mut path =
        String::with_capacity(2 + grant.bucket.len() + grant.prefix.len() + relative.len() * 2);
    path.push('/');
    uri_encode(&mut path, &grant.bucket, false);
    path.push('/');
    uri_encode(&mut path, &grant.prefix, true);
    uri_encode(&mut path, relative, true);
    for (i, (name, value)) in query.iter().enumerate() {
        path.push(if i == 0 { '?' } else { '&' });
        uri_encode(&mut path, name, false);
        path.push('=');
        uri_encode(&mut path, value, false);
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ent() -> Entitlements {
        Entitlements {
            principal: "bob".into(),
            enabled: true,
            ttl_seconds: 60,
            data_sources: vec![DataSourceGrant {
                name: "sales".into(),
                upstream: "demo".into(),
                bucket: "acme-warehouse-prod".into(),
                prefix: "curated/sales/".into(),
                format: crate::policy::entitlements::Format::Csv,
                hidden: vec!["_SUCCESS".into()],
                visible: None,
                shown: Vec::new(),
                table: None,
                rules: Vec::new(),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn visible_keys_map_to_their_data_source() {
        let e = ent();
        let (g, rel) = resolve_object(&e, "sales/region=eu/part 0.csv").unwrap();
        assert_eq!((g.name.as_str(), rel), ("sales", "region=eu/part 0.csv"));
        assert_eq!(
            upstream_object_path(g, rel, &[("response-content-type".into(), "text/csv".into())]),
            "/acme-warehouse-prod/curated/sales/region%3Deu/part%200.csv?response-content-type=text%2Fcsv"
        );
    }

    #[test]
    fn everything_else_is_no_such_key() {
        // The longest real key S3 allows: 1,024 bytes, its prefix included.
        let longest = format!("sales/{}", "a".repeat(1024 - "curated/sales/".len()));
        assert!(resolve_object(&ent(), &longest).is_ok());
        let e = ent();
        for key in [
            "customers/c.csv",
            "sales_eu/leak.csv",
            "sales/_SUCCESS",
            "sales/",
            "sales",
            "Sales/x",
            "sales/_SUCCESS/",
            &format!("sales/{}", "a".repeat(1024 - "sales/".len())),
        ] {
            let err = resolve_object(&e, key).unwrap_err();
            assert_eq!((err.code, err.status), ("NoSuchKey", 404), "{key}");
        }
    }
}
