"""The audit trail and the metrics, through real Envoy: one access-log line per request with
the filter's audit fields (envoy.yaml's json_format reads them from filter state), and the
filter's metrics as tagged Prometheus series. A stack of its own, so its access log holds only
these requests and the policy service can be stopped at the end."""

import hashlib
import re
import shutil
import urllib.request

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from conftest import REPO, start_stack
from gateway import KEYS, SECRET, disk_file, fresh_region, http, s3_client
from test_logs_and_ids import access_log_lines

AUDIT_FIELDS = ["principal", "key_digest", "signature", "operation", "bucket", "key",
                "data_source", "decision", "reason", "rules", "masks", "row_filters",
                "operator_upstream_target"]


# A row filter on a JSON Lines data source besides the demo's CSV one, to see both audited.
EVENTS_FILTER = """
  - name: no-search-events
    description: analysts do not see search events (audit test only)
    data_sources: [events]
    column: type
    op: "!="
    value: search
    unless_roles: [steward]
"""


@pytest.fixture(scope="module")
def audited(demo_dir, tmp_path_factory):
    policies = tmp_path_factory.mktemp("policies-audit") / "policies"
    shutil.copytree(REPO / "policies", policies)
    rules = policies / "rules.yaml"
    text = rules.read_text()
    assert text.rstrip().endswith("unless_roles: [steward]"), "row_filters come last"
    rules.write_text(text.rstrip() + "\n" + EVENTS_FILTER)
    s = start_stack(demo_dir, tmp_path_factory.mktemp("run-audit"), policies=policies)
    yield s
    s.stop()


def _request(gateway, method, path, key):
    resp = http(gateway.endpoint, method, path, key=key)
    return resp, resp.headers["x-amz-request-id"]


def _lines(gateway, ids):
    lines = access_log_lines(gateway, set(ids))
    by_id = {l["request_id"]: l for l in lines}
    assert set(ids) <= set(by_id), "every request has its access-log line"
    for line in by_id.values():
        for field in AUDIT_FIELDS + ["status", "bytes_sent", "duration_ms", "start_time",
                                     "client_address", "user_agent"]:
            assert field in line, (field, line)
    return by_id


def _digest(key):
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def test_every_decision_is_an_audit_line(audited, demo_dir):
    ids = {}
    resp, ids["get"] = _request(audited, "GET",
                                "/s3p/immuta/sales/region%3Deu/part-00000.csv", KEYS["bob"])
    assert resp.status == 200
    resp, ids["list"] = _request(audited, "GET", "/s3p/immuta?list-type=2&prefix=customers/",
                                 KEYS["alice"])
    assert resp.status == 200
    resp, ids["masked"] = _request(audited, "GET", "/s3p/immuta/customers/customers.csv",
                                   KEYS["erin"])
    assert resp.status == 200
    masked_view = resp.body
    resp, ids["jsonl"] = _request(audited, "GET", "/s3p/immuta/events/2026-11-01.jsonl",
                                  KEYS["alice"])
    assert resp.status == 200
    assert b'"type": "search"' in disk_file(demo_dir, "events/2026-11-01.jsonl").read_bytes()
    assert resp.body and b'"search"' not in resp.body, "the JSON Lines row filter applied"
    resp, ids["hidden"] = _request(audited, "GET", "/s3p/immuta/sales/_SUCCESS", KEYS["bob"])
    assert resp.status == 404
    resp, ids["unknown"] = _request(audited, "GET", "/s3p/immuta/sales/x.csv",
                                    "no-such-demo-key")
    assert resp.status == 403
    # Denied by policy: dave is known but disabled.
    resp, ids["denied"] = _request(audited, "GET", "/s3p/immuta/sales/region%3Deu/part-00000.csv",
                                   KEYS["dave"])
    assert resp.status == 403
    # A SigV4 client, to see the signature version recorded.
    s3_client(audited.endpoint, KEYS["carol"]).head_bucket(Bucket="immuta")

    lines = _lines(audited, ids.values())
    get = lines[ids["get"]]
    assert (get["principal"], get["decision"], get["reason"]) == ("bob", "allow", "granted")
    assert (get["operation"], get["bucket"], get["data_source"]) == ("GetObject", "immuta",
                                                                      "sales")
    assert get["key"] == "sales/region=eu/part-00000.csv"
    assert get["signature"] == "seed" and get["key_digest"] == _digest(KEYS["bob"])
    assert get["status"] == 200 and get["bytes_sent"] > 0
    assert "regional-sales" in (get["rules"] or "")
    assert get["operator_upstream_target"].startswith("demo:/acme-warehouse-prod/")
    assert get["masks"] is None and get["row_filters"] is None, "sales has neither"

    listing = lines[ids["list"]]
    assert (listing["operation"], listing["key"], listing["decision"]) == (
        "ListObjectsV2", "customers/", "allow")
    assert "email:hash" in listing["masks"]
    assert (listing["data_source"], listing["principal"], listing["status"]) == (
        "customers", "alice", 200)
    # The real bucket listed; the query (the real prefix) is left out.
    assert listing["operator_upstream_target"] == "demo:/acme-warehouse-prod"

    masked = lines[ids["masked"]]
    assert masked["principal"] == "erin" and masked["decision"] == "allow"
    assert set(masked["masks"].split(",")) == {"email:hash", "ssn:null"}
    # The row filter as its condition: erin is shown the rows whose region is in [eu].
    assert masked["row_filters"] == "region:in:eu"
    assert masked["status"] == 200 and masked["bytes_sent"] == len(masked_view)
    assert {"emails-hashed", "ssn-hidden", "regional-customers"} <= set(
        masked["rules"].split(","))

    jsonl = lines[ids["jsonl"]]
    assert (jsonl["principal"], jsonl["data_source"], jsonl["decision"]) == (
        "alice", "events", "allow")
    assert jsonl["row_filters"] == "type:ne:search" and jsonl["masks"] == "user_id:hash"
    assert "no-search-events" in jsonl["rules"].split(",")

    hidden = lines[ids["hidden"]]
    assert (hidden["decision"], hidden["reason"], hidden["status"]) == ("deny", "NoSuchKey",
                                                                         404)
    assert hidden["operator_upstream_target"] is None, "a denied request went nowhere"

    unknown = lines[ids["unknown"]]
    assert (unknown["decision"], unknown["reason"]) == ("deny", "InvalidAccessKeyId")
    assert unknown["principal"] is None and unknown["key_digest"] == _digest("no-such-demo-key")
    assert unknown["operator_upstream_target"] is None and unknown["status"] == 403

    denied = lines[ids["denied"]]
    assert (denied["decision"], denied["reason"], denied["status"]) == (
        "deny", "AccessDenied", 403)
    # Refused before its signature is checked: not attributed to dave, his key's digest says.
    assert denied["principal"] is None
    assert (denied["operation"], denied["data_source"]) == ("GetObject", "sales")
    assert denied["key_digest"] == _digest(KEYS["dave"])
    assert denied["operator_upstream_target"] is None, "a denied request went nowhere"

    text = (audited.run_dir / "envoy-access.log").read_text()
    assert any('"signature":"sigv4"' in l and '"operation":"HeadBucket"' in l
               for l in text.splitlines())
    # User-facing fields never name the real bucket; no line holds a key.
    for line in lines.values():
        for field in AUDIT_FIELDS[:-1]:
            assert "acme-warehouse-prod" not in str(line[field]), (field, line)
    for key in KEYS.values():
        assert key not in text


def _prometheus(gateway):
    with urllib.request.urlopen(f"{gateway.admin_url}/stats/prometheus", timeout=5) as resp:
        return resp.read().decode()


def test_metrics_are_tagged_prometheus_series(audited):
    http(audited.endpoint, "GET", "/s3p/immuta/sales/_SUCCESS", key=KEYS["bob"])
    text = _prometheus(audited)
    assert re.search(r'^s3gate_requests\{operation="GetObject",decision="allow"\} '
                     r'[1-9]', text, re.M), text[:2000]
    assert re.search(r'^s3gate_denied\{reason="NoSuchKey"\} [1-9]', text, re.M)
    assert re.search(r'^s3gate_decision_cache\{outcome="hit"\} [1-9]', text, re.M)
    assert re.search(r'^s3gate_policy_call_ms_bucket\{', text, re.M)
    assert re.search(r'^s3gate_listed_objects_filtered\b', text, re.M)
    assert re.search(r'^s3gate_masked_bytes\{\} [1-9]', text, re.M)
    assert re.search(r'^s3gate_streamed_bytes\{\} [1-9]', text, re.M)
    assert re.search(r'^s3gate_active_requests\b', text, re.M)
    for key in KEYS.values():
        assert key not in text and "alice" not in text


def test_a_policy_outage_is_audited_and_counted(audited):
    audited.stop_policy()
    try:
        # A region bob has not signed for on this stack: no cached decision to fall back on.
        client = boto3.session.Session().client(
            service_name="s3", aws_access_key_id=KEYS["bob"], aws_secret_access_key=SECRET,
            endpoint_url=audited.endpoint, region_name=fresh_region(),
            config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))
        with pytest.raises(botocore.exceptions.ClientError) as err:
            client.get_object(Bucket="immuta", Key="sales/region=eu/part-00000.csv")
        meta = err.value.response["ResponseMetadata"]
        assert meta["HTTPStatusCode"] == 503
        request_id = meta["RequestId"]
        line = _lines(audited, [request_id])[request_id]
        assert (line["decision"], line["reason"]) == ("deny", "ServiceUnavailable")
        assert (line["operation"], line["key"], line["signature"]) == (
            "GetObject", "sales/region=eu/part-00000.csv", "sigv4")
        # Who asked is not known without the policy service; the key's digest still says.
        assert line["principal"] is None and line["key_digest"] == _digest(KEYS["bob"])
        assert line["status"] == 503 and line["operator_upstream_target"] is None
        assert re.search(r"^s3gate_policy_failures\{\} [1-9]", _prometheus(audited),
                         re.M)
    finally:
        audited.start_policy()
