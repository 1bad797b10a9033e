"""The audit trail through Envoy's OpenTelemetry access logger
(envoy/snippets/access-log-otel.yaml): its attributes are envoy.yaml's JSON access-log fields, it passes `envoy --mode validate`
spliced into every shipped configuration, and a running gateway sends one OTLP/HTTP log record
per request, with the audit fields, to a collector (here a local HTTP server that decodes the
protobuf itself). Every shipped configuration's own JSON access log (envoy/, deploy/ and its
ConfigMaps) carries the audit fields."""

import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import render_envoy
import yaml

from conftest import start_stack
from gateway import KEYS, http
from tls_certs import make_certificates

REPO = render_envoy.REPO
ENVOY = str(Path(sys.executable).parent / "envoy")
SNIPPET = render_envoy.OTEL_SNIPPET


def _json_format(config):
    """Per listener of a configuration: its stdout access log's json_format."""
    found = {}
    for listener in config["static_resources"]["listeners"]:
        for log in render_envoy.http_connection_manager(listener).get("access_log", []):
            fmt = log["typed_config"].get("log_format", {}).get("json_format")
            if fmt is not None:
                found[listener["name"]] = fmt
    return found


def _otel_attributes():
    log = yaml.safe_load(SNIPPET.read_text())["access_log"][0]
    assert log["name"] == "envoy.access_loggers.open_telemetry"
    values = log["typed_config"]["attributes"]["values"]
    return {v["key"]: v["value"]["string_value"] for v in values}


def _shipped_json():
    return _json_format(yaml.safe_load((REPO / "envoy" / "envoy.yaml").read_text()))["s3gate"]


def test_the_otel_example_carries_the_json_access_logs_fields():
    assert _otel_attributes() == _shipped_json()


AUDIT = [k for k, v in _shipped_json().items() if "wasm.s3gate_" in v]


# Every shipped configuration: envoy/, deploy/, and those inside Kubernetes ConfigMaps.
EVERY_CONFIG = [(p.relative_to(REPO).as_posix(), p.read_text()) for p in render_envoy.SHIPPED]
EVERY_CONFIG += render_envoy.embedded()


@pytest.mark.parametrize("text", [t for _, t in EVERY_CONFIG], ids=[l for l, _ in EVERY_CONFIG])
def test_every_shipped_access_log_carries_the_audit_fields(text):
    assert len(AUDIT) >= 15, AUDIT
    formats = _json_format(yaml.safe_load(text))
    assert formats, "a JSON access log"
    for listener, fmt in formats.items():
        missing = [k for k in AUDIT if fmt.get(k) != _shipped_json()[k]]
        assert not missing, (listener, missing)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("tls-otel"))


@pytest.mark.parametrize("source", render_envoy.SHIPPED,
                         ids=lambda p: p.relative_to(REPO).as_posix())
def test_the_otel_example_passes_envoy_validate_in_every_shipped_config(gateway, certs,
                                                                       tmp_path, source):
    out = render_envoy.localize(source, tmp_path / "envoy.yaml", gateway.wasm, certs)
    render_envoy.add_access_log(out)
    config = yaml.safe_load(out.read_text())
    for listener in config["static_resources"]["listeners"]:
        names = [l["name"] for l in render_envoy.http_connection_manager(listener)["access_log"]]
        assert "envoy.access_loggers.open_telemetry" in names, listener["name"]
    render_envoy.validate(out, ENVOY)


# --- a running gateway and a collector --------------------------------------------------------

def _fields(buf):
    """(field number, value) of a protobuf message: ints for varints, bytes otherwise."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 2:
            size, i = _varint(buf, i)
            value, i = buf[i:i + size], i + size
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wire}")
        yield number, value


def _varint(buf, i):
    shift = value = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def _string(any_value):
    """An AnyValue's string_value (field 1)."""
    return next((v.decode() for n, v in _fields(any_value) if n == 1), None)


def log_records(export_request):
    """The log records of an OTLP ExportLogsServiceRequest: (body, {attribute: value})."""
    records = []
    for n, resource_logs in _fields(export_request):
        for n2, scope_logs in (f for f in _fields(resource_logs) if n == 1):
            for n3, record in (f for f in _fields(scope_logs) if n2 == 2):
                if n3 != 2:
                    continue
                body, attributes = None, {}
                for n4, value in _fields(record):
                    if n4 == 5:
                        body = _string(value)
                    elif n4 == 6:
                        kv = dict(_fields(value))
                        attributes[kv[1].decode()] = _string(kv.get(2, b""))
                records.append((body, attributes))
    return records


class _Collector(BaseHTTPRequestHandler):
    received = []

    def do_POST(self):  # noqa: N802 - http.server's name
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""  # Envoy streams the export chunked
            while size := int(self.rfile.readline().split(b";")[0], 16):
                body += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
        else:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.received.append((self.path, self.headers.get("content-type"), body))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def collector():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_running_gateway_sends_the_audit_record_to_an_otel_collector(demo_dir, tmp_path,
                                                                       collector):
    port = collector.server_address[1]
    s = start_stack(demo_dir, tmp_path / "run",
                    envoy_edit=lambda path: render_envoy.add_access_log(path,
                                                                        collector_port=port))
    try:
        masked = http(s.endpoint, "GET", "/s3p/immuta/customers/customers.csv",
                      key=KEYS["erin"])
        hidden = http(s.endpoint, "GET", "/s3p/immuta/sales/_SUCCESS", key=KEYS["bob"])
        assert (masked.status, hidden.status) == (200, 404)
        ids = {masked.headers["x-amz-request-id"], hidden.headers["x-amz-request-id"]}
        deadline = time.monotonic() + 10
        while True:
            records = {a.get("request_id"): (b, a) for _, _, body in _Collector.received
                       for b, a in log_records(body)}
            if ids <= set(records) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        s.stop()
    assert ids <= set(records), f"records for {ids}: {sorted(records)}"
    assert {p for p, _, _ in _Collector.received} == {"/v1/logs"}
    assert {t for _, t, _ in _Collector.received} == {"application/x-protobuf"}

    body, record = records[masked.headers["x-amz-request-id"]]
    assert set(_otel_attributes()) <= set(record), set(_otel_attributes()) - set(record)
    assert (record["principal"], record["operation"], record["decision"]) == (
        "erin", "GetObject", "allow")
    assert (record["data_source"], record["row_filters"]) == ("customers", "region:in:eu")
    assert set(record["masks"].split(",")) == {"email:hash", "ssn:null"}
    assert record["status"] == "200" and record["bytes_sent"] == str(len(masked.body))
    assert body == "GET GetObject 200 allow granted"

    _, record = records[hidden.headers["x-amz-request-id"]]
    assert (record["principal"], record["decision"], record["reason"]) == (
        "bob", "deny", "NoSuchKey")
    # A field the request never reached.
    assert record["operator_upstream_target"] == "-"
    # User-facing attributes never name the real bucket; no record holds a key.
    for _, attributes in records.values():
        for name, value in attributes.items():
            if name not in ("operator_upstream_target", "path_without_query", "upstream_host"):
                assert "acme-warehouse-prod" not in (value or ""), (name, value)
    for _, _, raw in _Collector.received:
        for key in KEYS.values():
            assert key.encode() not in raw
