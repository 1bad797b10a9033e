//! ListBuckets and GetBucketLocation: the one virtual bucket.

use crate::encoding::xml::{element, escape};
use crate::s3::listing::{OWNER, S3_NS};

/// ListAllMyBucketsResult with the one virtual bucket.
pub fn render_list_buckets(bucket: &str) -> String {
    let mut out = String::with_capacity(400);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListAllMyBucketsResult xmlns=\"");
    out.push_str(S3_NS);
    out.push_str("\"><Owner><ID>");
    out.push_str(OWNER);
    out.push_str("</ID><DisplayName>");
    out.push_str(OWNER);
    out.push_str("</DisplayName></Owner><Buckets><Bucket>");
    element(&mut out, "Name", bucket);
    out.push_str("<CreationDate>2024-01-01T00:00:00.000Z</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>");
    out
}

/// GetBucketLocation: the virtual bucket lives in us-east-1 (S3's empty constraint).
pub fn render_bucket_location() -> String {
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"");
    escape(&mut out, S3_NS);
    out.push_str("\"></LocationConstraint>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_buckets_names_the_virtual_bucket() {
        let xml = render_list_buckets("immuta");
        assert!(xml.contains("<Buckets><Bucket><Name>immuta</Name>"));
        assert!(render_bucket_location().contains("LocationConstraint"));
    }
}
