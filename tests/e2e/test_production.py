"""envoy/envoy-production.yaml running for real: boto3 talks TLS to it, trusting only a CA made
for the test; the seed's literal header is refused (legacy_seed_auth false); virtual-hosted
style works under the real domain; the health listener answers probes. The template's two
deployment-only parts are pointed at this machine: the policy cluster and the S3 cluster
reach the session's policy service and store on loopback (no DNS, no upstream TLS), and the
plugin's upstream is the demo's name."""

import http.client
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
import render_envoy
import stack
import yaml
from botocore.config import Config
from gateway import KEYS, SECRET
from tls_certs import make_certificates

ENVOY = str(Path(sys.executable).parent / "envoy")
SOURCE = render_envoy.REPO / "envoy" / "envoy-production.yaml"


def _named(items, name):
    return render_envoy.named(items, name)


def _loopback(cluster, port):
    cluster["type"] = "STATIC"
    for field in ("dns_lookup_family", "dns_refresh_rate"):
        cluster.pop(field, None)
    endpoint = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
    endpoint["address"]["socket_address"] = {"address": "127.0.0.1", "port_value": port}


def production_config(gateway, certs, out, port, health_port, admin_port):
    path = render_envoy.localize(SOURCE, out, gateway.wasm, certs)
    config = yaml.safe_load(path.read_text())
    static = config["static_resources"]
    for name, listener_port in (("s3gate", port), ("health", health_port)):
        _named(static["listeners"], name)["address"]["socket_address"] = {
            "address": "127.0.0.1", "port_value": listener_port}
    config["admin"]["address"]["socket_address"]["port_value"] = admin_port
    _loopback(_named(static["clusters"], "policy"), gateway.policy_port)
    upstream = _named(static["clusters"], "s3_upstream")
    _loopback(upstream, gateway.upstream_port)
    upstream.pop("transport_socket")  # the session's store speaks plain HTTP
    listener = _named(static["listeners"], "s3gate")
    plugin = render_envoy.plugin_config(listener)
    settings = json.loads(plugin["configuration"]["value"])
    # The session's policy service names upstream "demo" and accepts the test regions.
    settings["upstreams"] = {"demo": {"cluster": "s3_upstream", "authority": "s3.demo.internal",
                                      "sign": {"region": "us-east-1"}}}
    settings["regions"] = ["us-east-1"]
    plugin["configuration"]["value"] = json.dumps(settings)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path, settings


@pytest.fixture(scope="module")
def production(gateway, tmp_path_factory):
    run = tmp_path_factory.mktemp("production")
    certs = make_certificates(run / "tls")
    port, health_port, admin_port = stack.free_ports(3)
    path, settings = production_config(gateway, certs, run / "envoy.yaml", port, health_port,
                                       admin_port)
    render_envoy.validate(path, ENVOY)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = gateway.gateway_credentials
    env["S3GATE_POLICY_TOKEN"] = gateway.policy_token
    env["S3GATE_MASK_SECRET"] = gateway.mask_secret
    envoy = stack.Child("envoy-production", [
        ENVOY, "-c", str(path), "--concurrency", "1", "--base-id", str(port),
        "-l", "info", "--log-path", str(run / "envoy.log")], run / "access.log", env=env)
    envoy.start()
    deadline = time.monotonic() + 30
    while not stack.http_ok(f"http://127.0.0.1:{admin_port}/ready"):
        assert envoy.running(), stack.log_tail(run / "envoy.log")
        assert time.monotonic() < deadline, stack.log_tail(run / "envoy.log")
        time.sleep(0.1)
    yield {"port": port, "health_port": health_port, "admin_port": admin_port,
           "ca": str(certs / "ca.crt"), "settings": settings, "run": run}
    stack.Stack._stop([envoy])


def tls_client(production, key, **config):
    return boto3.session.Session().client(
        "s3", aws_access_key_id=key, aws_secret_access_key=SECRET, region_name="us-east-1",
        endpoint_url=f"https://localhost:{production['port']}", verify=production["ca"],
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}, **config))


def test_the_template_is_what_production_needs():
    config = yaml.safe_load(SOURCE.read_text())
    listener = _named(config["static_resources"]["listeners"], "s3gate")
    settings = render_envoy.plugin_settings(listener)
    assert settings["legacy_seed_auth"] is False
    assert settings["virtual_host_domain"] == "s3.example.com"
    assert settings["path_prefix"] == ""
    assert listener["filter_chains"][0]["transport_socket"]["name"] == \
        "envoy.transport_sockets.tls"
    monitors = [m["name"] for m in config["overload_manager"]["resource_monitors"]]
    assert "envoy.resource_monitors.global_downstream_max_connections" in monitors
    s3 = _named(config["static_resources"]["clusters"], "s3_upstream")
    assert s3["type"] == "LOGICAL_DNS"
    assert s3["transport_socket"]["typed_config"]["sni"] == "s3.eu-west-1.amazonaws.com"
    assert s3["circuit_breakers"]["thresholds"]
    assert config["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"


def test_boto3_reads_over_tls_trusting_the_test_ca(production):
    alice = tls_client(production, KEYS["alice"])
    listing = alice.list_objects_v2(Bucket="immuta", Prefix="sales/region=eu/")
    keys = [o["Key"] for o in listing["Contents"]]
    assert "sales/region=eu/part-00000.csv" in keys
    body = alice.get_object(Bucket="immuta", Key="sales/region=eu/part-00000.csv")["Body"].read()
    assert body
    roots = alice.list_objects_v2(Bucket="immuta", Delimiter="/")["CommonPrefixes"]
    assert {"Prefix": "sales/"} in roots


def test_a_client_without_the_ca_refuses_the_gateway(production):
    untrusting = boto3.session.Session().client(
        "s3", aws_access_key_id=KEYS["alice"], aws_secret_access_key=SECRET,
        region_name="us-east-1", endpoint_url=f"https://localhost:{production['port']}",
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))
    with pytest.raises(Exception, match="(?i)certificate"):
        untrusting.list_objects_v2(Bucket="immuta")


def test_plain_http_on_the_tls_port_gets_nothing(production):
    conn = http.client.HTTPConnection("127.0.0.1", production["port"], timeout=5)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError,
                        http.client.BadStatusLine)):
        conn.request("GET", "/immuta")
        conn.getresponse()


def _https(production, method, path, headers):
    context = ssl.create_default_context(cafile=production["ca"])
    conn = http.client.HTTPSConnection("127.0.0.1", production["port"], timeout=10,
                                       context=context)
    conn.request(method, path, headers=headers)
    resp = conn.getresponse()
    return resp.status, resp.read()


def test_the_seeds_literal_header_proves_nothing_here(production):
    status, body = _https(production, "GET", "/immuta?prefix=sales/",
                          {"Authorization": f"AWS {KEYS['alice']}:immuta"})
    assert status == 403, body
    assert b"<Error>" in body


def test_virtual_hosted_style_under_the_real_domain(production):
    host = f"immuta.s3.example.com:{production['port']}"
    request = botocore.awsrequest.AWSRequest(
        method="GET", url=f"https://{host}/?list-type=2&prefix=sales",
        headers={"Host": host})
    botocore.auth.S3SigV4Auth(botocore.credentials.Credentials(KEYS["alice"], SECRET),
                              "s3", "us-east-1").add_auth(request)
    headers = dict(request.headers.items())
    status, body = _https(production, "GET", "/?list-type=2&prefix=sales", headers)
    assert status == 200, body
    assert b"<Key>sales/region=eu/part-00000.csv</Key>" in body


def test_the_health_listener_answers_probes(production):
    url = f"http://127.0.0.1:{production['health_port']}/ready"
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert resp.status == 200
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"http://127.0.0.1:{production['health_port']}/immuta",
                               timeout=5)
    assert refused.value.code == 404


def test_the_policy_cluster_health_checks_the_services_readyz(production):
    # The template health-checks /readyz, which needs no token: the replica shows healthy.
    url = f"http://127.0.0.1:{production['admin_port']}/clusters?format=json"
    deadline = time.monotonic() + 20  # a check every 5 s, even without traffic
    while True:
        with urllib.request.urlopen(url, timeout=5) as resp:
            clusters = json.load(resp)["cluster_statuses"]
        policy = next(c for c in clusters if c["name"] == "policy")
        statuses = [h["health_status"] for h in policy["host_statuses"]]
        if statuses and all(s.get("eds_health_status") == "HEALTHY" and
                            not s.get("failed_active_health_check") for s in statuses):
            break
        assert time.monotonic() < deadline, statuses
        time.sleep(0.5)


def test_the_headers_envoy_signing_example_is_valid_config(gateway, tmp_path):
    # The template's comment shows Envoy's signer with IRSA credentials: paste it as told (drop
    # "sign", put the filter before upstream_codec) and Envoy must accept the result.
    lines = SOURCE.read_text().splitlines()
    start = lines.index("#   - name: envoy.filters.http.aws_request_signing")
    end = lines.index("#", start)
    example = yaml.safe_load("\n".join(line[4:] for line in lines[start:end]))
    token = tmp_path / "token"
    token.write_text("a service-account token")
    provider = example[0]["typed_config"]["credential_provider"]
    provider["assume_role_with_web_identity_provider"]["web_identity_token_data_source"] = {
        "filename": str(token)}
    certs = make_certificates(tmp_path / "tls")
    path = render_envoy.localize(SOURCE, tmp_path / "envoy.yaml", gateway.wasm, certs)
    config = yaml.safe_load(path.read_text())
    cluster = _named(config["static_resources"]["clusters"], "s3_upstream")
    options = cluster["typed_extension_protocol_options"][
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
    options["http_filters"] = example + options["http_filters"]
    listener = _named(config["static_resources"]["listeners"], "s3gate")
    plugin = render_envoy.plugin_config(listener)
    settings = json.loads(plugin["configuration"]["value"])
    for upstream in settings["upstreams"].values():
        upstream.pop("sign")
    plugin["configuration"]["value"] = json.dumps(settings)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    render_envoy.validate(path, ENVOY)
