//! S3 errors as the gateway answers them: the code, HTTP status and message S3 itself uses,
//! rendered as S3's `<Error>` XML. Messages never carry upstream detail: nothing real (a bucket,
//! a prefix, a host, an upstream request id) reaches the client through an error.

use crate::encoding::percent::PercentError;
use crate::encoding::xml::escape;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Error {
    pub code: &'static str,
    pub status: u32,
    pub message: String,
    /// Extra elements S3 adds for some codes (`Key`, `BucketName`, `Method`), virtual names only.
    pub detail: Option<(&'static str, String)>,
}

impl S3Error {
    fn new(code: &'static str, status: u32, message: impl Into<String>) -> Self {
        S3Error {
            code,
            status,
            message: message.into(),
            detail: None,
        }
    }

    fn with_detail(mut self, element: &'static str, value: impl Into<String>) -> Self {
        self.detail = Some((element, value.into()));
        self
    }

    pub fn access_denied() -> Self {
        Self::new("AccessDenied", 403, "Access Denied")
    }
    pub fn access_denied_because(message: &str) -> Self {
        Self::new("AccessDenied", 403, message)
    }
    pub fn invalid_access_key_id() -> Self {
        Self::new(
            "InvalidAccessKeyId",
            403,
            "The AWS Access Key Id you provided does not exist in our records.",
        )
    }
    pub fn no_such_bucket(bucket: &str) -> Self {
        Self::new("NoSuchBucket", 404, "The specified bucket does not exist")
            .with_detail("BucketName", bucket)
    }
    pub fn no_such_key(key: &str) -> Self {
        Self::new("NoSuchKey", 404, "The specified key does not exist.").with_detail("Key", key)
    }
    pub fn invalid_argument(message: &str) -> Self {
        Self::new("InvalidArgument", 400, message)
    }
    pub fn invalid_request(message: &str) -> Self {
        Self::new("InvalidRequest", 400, message)
    }
    pub fn not_implemented(message: &str) -> Self {
        Self::new("NotImplemented", 501, message)
    }
    pub fn method_not_allowed(method: &str) -> Self {
        Self::new(
            "MethodNotAllowed",
            405,
            "The specified method is not allowed against this resource.",
        )
        .with_detail("Method", method)
    }
    /// An object the gateway cannot serve as what its data source declares (a masked table that
    /// does not parse): S3's code for an object that exists but cannot be read as asked.
    pub fn invalid_object_state(message: &str) -> Self {
        Self::new("InvalidObjectState", 403, message)
    }
    pub fn invalid_range() -> Self {
        Self::new(
            "InvalidRange",
            416,
            "The requested range is not satisfiable",
        )
    }
    pub fn precondition_failed() -> Self {
        Self::new(
            "PreconditionFailed",
            412,
            "At least one of the pre-conditions you specified did not hold",
        )
    }
    pub fn service_unavailable() -> Self {
        Self::new(
            "ServiceUnavailable",
            503,
            "The service is unavailable. Please retry.",
        )
    }
    pub fn slow_down() -> Self {
        Self::new("SlowDown", 503, "Please reduce your request rate.")
    }
    pub fn internal_error() -> Self {
        Self::new(
            "InternalError",
            500,
            "We encountered an internal error. Please try again.",
        )
    }
    /// The storage behind the gateway answered something the gateway cannot vouch for.
    pub fn bad_upstream_response() -> Self {
        Self::new(
            "InternalError",
            502,
            "The gateway received an invalid response from the storage service.",
        )
    }

    /// S3's `<Error>` document. `resource` is the client's own (virtual) path.
    pub fn to_xml(&self, resource: &str, request_id: &str) -> String {
        let mut out = String::with_capacity(256 + self.message.len() + resource.len());
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
        out.push_str(self.code);
        out.push_str("</Code><Message>");
        escape(&mut out, &self.message);
        out.push_str("</Message>");
        if let Some((element, value)) = &self.detail {
            out.push('<');
            out.push_str(element);
            out.push('>');
            escape(&mut out, value);
            out.push_str("</");
            out.push_str(element);
            out.push('>');
        }
        out.push_str("<Resource>");
        escape(&mut out, resource);
        out.push_str("</Resource><RequestId>");
        escape(&mut out, request_id);
        out.push_str("</RequestId></Error>");
        out
    }

    /// The client-facing error for an upstream error answer to a routed object request.
    /// Only the upstream's status and code are used, never its message, resource or ids.
    pub fn from_upstream(status: u32, upstream_code: Option<&str>, virtual_key: &str) -> Self {
        Self::upstream_answer(status, upstream_code, Some(virtual_key))
    }

    /// The client-facing error for an upstream's non-200 answer to a listing page the gateway
    /// asked for.
    pub fn from_upstream_listing(status: u32) -> Self {
        Self::upstream_answer(status, None, None)
    }

    /// The one mapping of an upstream's error status: `object` is the virtual key of the object
    /// asked for, `None` for a listing page. A store's failure (5xx) is answered as S3's own,
    /// for the client to retry. A 4xx to an object request is the client's error (a missing or
    /// hidden key is `NoSuchKey`); to a listing page, which the gateway built, it is the
    /// gateway's: a 502 it cannot vouch for.
    fn upstream_answer(status: u32, upstream_code: Option<&str>, object: Option<&str>) -> Self {
        match (status, upstream_code, object) {
            (503, Some("SlowDown"), _) => Self::slow_down(),
            // Envoy answers for an unreachable upstream (connect failure, no healthy host).
            (503, _, _) => Self::service_unavailable(),
            (500..=599, _, _) => Self::internal_error(),
            (_, _, None) => Self::bad_upstream_response(),
            (404, _, Some(key)) => Self::no_such_key(key),
            (412, _, _) => Self::precondition_failed(),
            (416, _, _) => Self::invalid_range(),
            (403, _, _) => Self::access_denied(),
            (400, Some("InvalidArgument"), _) => Self::invalid_argument("Invalid Argument"),
            (400..=499, _, _) => Self::invalid_request("The request could not be served."),
            _ => Self::bad_upstream_response(),
        }
    }
}

/// A request's text that does not percent-decode is S3's `InvalidArgument`.
impl From<PercentError> for S3Error {
    fn from(error: PercentError) -> Self {
        S3Error::invalid_argument(match error {
            PercentError::MalformedEscape => "Malformed percent-encoding in request",
            PercentError::NotUtf8 => "Request is not valid UTF-8",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_s3_error_document() {
        let xml = S3Error::no_such_key("sales/a&b.csv").to_xml("/s3p/immuta/sales/a&b.csv", "r1");
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>\
             <Message>The specified key does not exist.</Message><Key>sales/a&amp;b.csv</Key>\
             <Resource>/s3p/immuta/sales/a&amp;b.csv</Resource><RequestId>r1</RequestId></Error>"
        );
    }

    #[test]
    fn upstream_errors_map_to_safe_errors() {
        assert_eq!(
            S3Error::from_upstream(404, Some("NoSuchBucket"), "k").code,
            "NoSuchKey"
        );
        assert_eq!(
            S3Error::from_upstream(503, None, "k").code,
            "ServiceUnavailable"
        );
        assert_eq!(
            S3Error::from_upstream(503, Some("SlowDown"), "k").code,
            "SlowDown"
        );
        assert_eq!(S3Error::from_upstream(500, None, "k").status, 500);
        assert_eq!(S3Error::from_upstream(301, None, "k").status, 502);
        assert_eq!(S3Error::from_upstream(416, None, "k").code, "InvalidRange");
    }

    #[test]
    fn upstream_listing_errors_are_the_stores_or_the_gateways() {
        assert_eq!(
            S3Error::from_upstream_listing(503).code,
            "ServiceUnavailable"
        );
        assert_eq!(S3Error::from_upstream_listing(500).code, "InternalError");
        assert_eq!(S3Error::from_upstream_listing(500).status, 500);
        for status in [400, 403, 404, 301, 204] {
            let error = S3Error::from_upstream_listing(status);
            assert_eq!(
                (error.code, error.status),
                ("InternalError", 502),
                "{status}"
            );
        }
    }
}
