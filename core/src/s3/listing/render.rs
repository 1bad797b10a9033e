//! The client's ListBucketResult, v1 or v2, from the page a [`ListingJob`] has taken.

use std::borrow::Cow;

use crate::encoding::percent::url_encode_key;
use crate::encoding::xml::{element, escape};
use crate::s3::continuation;
use crate::s3::listing::upstream_page::ObjectEntry;
use crate::s3::listing::{ListingJob, OWNER, S3_NS};
use crate::s3::request::{ListParams, ListVersion};

/// Appends an object's `<Contents>` element to `out`, named `name` (virtual).
pub(super) fn push_contents(
    out: &mut String,
    name: &str,
    object: &ObjectEntry<'_>,
    params: &ListParams,
) {
    out.push_str("<Contents><Key>");
    if params.encoding_url {
        url_encode_key(out, name);
    } else {
        escape(out, name);
    }
    // The metadata passed `plausible_metadata`: only the ETag's quotes need escaping.
    out.push_str("</Key><LastModified>");
    out.push_str(&object.last_modified);
    out.push_str("</LastModified><ETag>");
    out.push_str(object.etag.as_deref().unwrap_or_default());
    out.push_str("</ETag><Size>");
    out.push_str(&object.size);
    out.push_str("</Size>");
    if params.fetch_owner {
        out.push_str("<Owner><ID>");
        out.push_str(OWNER);
        out.push_str("</ID><DisplayName>");
        out.push_str(OWNER);
        out.push_str("</DisplayName></Owner>");
    }
    out.push_str("<StorageClass>");
    out.push_str(&object.storage_class);
    out.push_str("</StorageClass></Contents>");
}

impl ListingJob {
    /// The page's `<Contents>`: those rendered as taken, and each masked object's with its
    /// view's size and ETag where it was taken.
    fn push_all_contents(&self, out: &mut String) {
        let mut from = 0;
        for pending in self.pending_views() {
            out.push_str(self.contents.get(from..pending.at).unwrap_or_default());
            from = pending.at;
            let (size, etag) = pending.view;
            let etag = etag.replace('"', "&quot;");
            let entry = ObjectEntry {
                key: Cow::Borrowed(""),
                last_modified: Cow::Borrowed(pending.last_modified),
                etag: Some(Cow::Owned(etag)),
                size: Cow::Owned(size.to_string()),
                storage_class: Cow::Borrowed(pending.storage_class),
            };
            push_contents(out, pending.name, &entry, &self.params);
        }
        out.push_str(self.contents.get(from..).unwrap_or_default());
    }

    /// The client's ListBucketResult for the page taken so far.
    pub(super) fn render(&self) -> String {
        let p = &self.params;
        let url = p.encoding_url;
        let text = |out: &mut String, name: &str, value: &str| {
            if url {
                out.push('<');
                out.push_str(name);
                out.push('>');
                url_encode_key(out, value);
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            } else {
                element(out, name, value);
            }
        };
        let prefixes_len: usize = self.prefixes.iter().map(|p| 48 + 3 * p.len()).sum();
        let mut out = String::with_capacity(1024 + self.contents.len() + prefixes_len);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"");
        out.push_str(S3_NS);
        out.push_str("\">");
        element(&mut out, "Name", &self.bucket);
        text(&mut out, "Prefix", &p.prefix);
        let last = (self.taken > 0).then_some(self.last_taken.as_str());
        let sealed_resume = self
            .resume_after_examined
            .then(|| Some(self.last_examined.as_str()).filter(|e| !e.is_empty()))
            .flatten()
            .map(|examined| continuation::seal(&self.token_key, examined));
        match p.version {
            ListVersion::V1 => {
                text(&mut out, "Marker", p.start_after.as_deref().unwrap_or(""));
                match (self.truncated, &sealed_resume) {
                    (true, Some(sealed)) => element(&mut out, "NextMarker", sealed),
                    (true, None) => {
                        if let Some(last) = last {
                            text(&mut out, "NextMarker", last);
                        }
                    }
                    (false, _) => {}
                }
            }
            ListVersion::V2 => {
                if let Some(token) = &p.continuation_token {
                    element(&mut out, "ContinuationToken", token);
                }
                if let Some(start_after) = &p.start_after {
                    text(&mut out, "StartAfter", start_after);
                }
                element(&mut out, "KeyCount", &self.taken.to_string());
            }
        }
        element(&mut out, "MaxKeys", &p.max_keys.to_string());
        if let Some(d) = &p.delimiter {
            text(&mut out, "Delimiter", d);
        }
        element(
            &mut out,
            "IsTruncated",
            if self.truncated { "true" } else { "false" },
        );
        if let (ListVersion::V2, true) = (p.version, self.truncated) {
            let resume = if self.resume_after_examined {
                sealed_resume
            } else {
                last.map(|last| continuation::seal(&self.token_key, last))
            };
            if let Some(resume) = resume {
                element(&mut out, "NextContinuationToken", &resume);
            }
        }
        if url {
            element(&mut out, "EncodingType", "url");
        }
        self.push_all_contents(&mut out);
        for prefix in &self.prefixes {
            out.push_str("<CommonPrefixes>");
            text(&mut out, "Prefix", prefix);
            out.push_str("</CommonPrefixes>");
        }
        out.push_str("</ListBucketResult>");
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::s3::continuation;
    use crate::s3::listing::fake_upstream::*;
    use crate::s3::listing::ListingJob;
    use crate::s3::request::ListVersion;

    #[test]
    fn renders_s3_shapes() {
        let mut p = params("sales/", Some("/"), 1000, ListVersion::V1);
        p.encoding_url = true;
        let xml = run(&mut ListingJob::new(p, &alice(), "immuta").unwrap());
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>immuta</Name><Prefix>sales/</Prefix><Marker></Marker><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter><IsTruncated>false</IsTruncated><EncodingType>url</EncodingType>"), "{xml}");
        assert!(
            xml.contains("<CommonPrefixes><Prefix>sales/region%3Deu/</Prefix></CommonPrefixes>"),
            "{xml}"
        );
        let xml = run(&mut alice_job("documents/", None, 1000, ListVersion::V1));
        assert!(xml.contains("<Contents><Key>documents/a b &amp; &lt;c&gt;.bin</Key><LastModified>2026-11-01T00:00:00.000Z</LastModified><ETag>&quot;abc&quot;</ETag><Size>3</Size><Owner><ID>Immuta</ID><DisplayName>Immuta</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Contents>"), "{xml}");
        assert!(!xml.contains("archive"));
        let xml = run(&mut alice_job("sales/", None, 2, ListVersion::V2));
        assert!(xml.contains("<KeyCount>2</KeyCount>"), "{xml}");
        assert!(!xml.contains("<Owner>") || xml.contains("Immuta"));
        let (_, truncated, token) = page_names(&xml);
        assert!(truncated);
        let token = token.unwrap();
        let resume = continuation::open(&continuation::token_key(&alice()), &token).unwrap();
        assert_eq!(resume, "sales/region=eu/part-00001.csv");
        assert!(!token.contains("sales"));
    }

    #[test]
    fn max_keys_zero_is_an_empty_page() {
        let xml = run(&mut alice_job("", None, 0, ListVersion::V2));
        assert!(
            xml.contains("<KeyCount>0</KeyCount>")
                && xml.contains("<IsTruncated>false</IsTruncated>")
        );
    }
}
