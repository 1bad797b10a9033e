"""The policy service as the gateway's caller meets it: only the gateway's token is served
(the policy service authenticates its callers), and idle or slow sockets cannot stop it."""

import hashlib
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

import render_envoy
import stack
from conftest import start_stack
from gateway import KEYS, RECORDER, http


def _entitlements(gateway, token):
    digest = hashlib.sha256(KEYS["alice"].encode()).hexdigest()
    url = f"http://127.0.0.1:{gateway.policy_port}/v1/entitlements/{digest}"
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


def _logs(stack):
    return "\n".join(p.read_text(errors="replace") for p in sorted(stack.run_dir.glob("*.log")))


def test_policy_calls_without_the_gateways_token_are_refused(gateway):
    assert _entitlements(gateway, None) == 401
    assert _entitlements(gateway, "not-the-token") == 401
    assert _entitlements(gateway, gateway.policy_token) == 200
    # The gateway, presenting it, is served.
    assert http(gateway.endpoint, "GET", "/s3p", key=KEYS["carol"]).status == 200
    log = (gateway.run_dir / "policy.log").read_text()
    assert "caller refused status=401" in log
    assert gateway.policy_token not in log and "not-the-token" not in log


def test_a_gateway_with_the_wrong_token_fails_closed(demo_dir, tmp_path):
    s = start_stack(demo_dir, tmp_path, gateway_policy_token="wrong-gateway-token")
    try:
        resp = http(s.endpoint, "GET", "/s3p/immuta/sales/region=eu/part-00000.csv",
                    key=KEYS["alice"])
        assert resp.status == 503, resp.body
        logs = _logs(s)
        assert "caller refused status=401" in logs
        for secret in (s.policy_token, "wrong-gateway-token"):
            assert secret not in logs
            assert secret.encode() not in resp.body
    finally:
        s.stop()


def test_idle_and_slow_sockets_do_not_stop_the_policy_service(demo_dir, tmp_path):
    # A fresh stack: nothing cached, so the request below needs the policy service.
    s = start_stack(demo_dir, tmp_path)
    held = []
    try:
        digest = hashlib.sha256(KEYS["bob"].encode()).hexdigest()
        for i in range(150):
            sock = socket.create_connection(("127.0.0.1", s.policy_port), timeout=5)
            if i % 3 == 0:  # a body announced and never sent (four of these sufficed before)
                sock.sendall(f"POST /v1/verify-sigv2/{digest} HTTP/1.1\r\nHost: p\r\n"
                             "Content-Length: 16000\r\n\r\n".encode())
            elif i % 3 == 1:  # a head that never ends
                sock.sendall(b"GET /v1/entitlements/")
            held.append(sock)  # and bare connections
        time.sleep(0.2)
        started = time.monotonic()
        resp = http(s.endpoint, "GET", "/s3p/immuta/sales/region=eu/part-00000.csv",
                    key=KEYS["alice"])
        elapsed = time.monotonic() - started
        assert resp.status == 200, resp.body
        assert elapsed < 2.0, elapsed  # the filter's policy timeout
    finally:
        for sock in held:
            sock.close()
        s.stop()


def test_the_policy_token_reaches_no_client_log_or_upstream(gateway):
    # Run a few policy-dependent requests (SigV4 via http(), SigV2 below), then scan.
    for name in ("alice", "bob", "dave"):
        http(gateway.endpoint, "GET", "/s3p/immuta/sales/region=eu/part-00000.csv",
             key=KEYS[name])
    http(gateway.endpoint, "GET", "/s3p/immuta/sales/region=eu/part-00000.csv",
         headers={"Authorization": f"AWS {KEYS['alice']}:AAAAAAAAAAAAAAAAAAAAAAAAAAA="})
    token = gateway.policy_token
    assert len(token) >= 32
    logs = _logs(gateway)  # Envoy's log and access log, the service's, the store's (rclone)
    assert '"method":"GET"' in logs and "entitlements principal=" in logs  # logs were written
    assert token not in logs
    assert len(RECORDER.responses) > 0
    for rec in RECORDER.responses:
        blobs = [f"{k}: {v}" for k, v in rec.headers]
        if rec.body is not None:
            blobs.append(rec.body.decode("utf-8", "replace"))
        assert not any(token in blob for blob in blobs), rec.what


def test_the_filter_does_not_load_without_the_policy_token(gateway, tmp_path):
    out = render_envoy.render(tmp_path / "envoy.yaml", gateway.wasm, port=1, admin_port=2,
                              policy_port=3, upstream_port=4, root_port=5)
    env = {k: v for k, v in os.environ.items() if k != "S3GATE_POLICY_TOKEN"}
    env.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="y")
    envoy = [str(stack.BIN / "envoy"), "--mode", "validate", "-c", str(out), "-l", "error"]
    refused = subprocess.run(envoy, capture_output=True, text=True, env=env)
    assert refused.returncode != 0
    assert "S3GATE_POLICY_TOKEN is not in the VM's environment" in refused.stdout + refused.stderr
    env["S3GATE_POLICY_TOKEN"] = "some-token-value"
    ok = subprocess.run(envoy, capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "some-token-value" not in ok.stdout + ok.stderr
