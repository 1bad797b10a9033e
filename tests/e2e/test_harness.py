"""The harness itself: the rendered Envoy config validates, the demo data is deterministic and
clean, and the upstream really checks signatures (so a forwarded client credential would fail)."""

import hashlib
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import botocore.exceptions
import gen_demo_data
import pytest
import render_envoy
import yaml
from botocore.config import Config
from gateway import FORBIDDEN

ENVOY = str(Path(sys.executable).parent / "envoy")


def _digest_tree(root):
    h = hashlib.sha256()
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _listeners(path):
    listeners = yaml.safe_load(Path(path).read_text())["static_resources"]["listeners"]
    return {listener["name"]: listener for listener in listeners}


def test_rendered_envoy_config_validates(gateway, tmp_path):
    out = render_envoy.render(tmp_path / "envoy.yaml", gateway.wasm, port=1, admin_port=2,
                              policy_port=3, upstream_port=4, root_port=5,
                              plugin_overrides={"negative_cache_seconds": 1})
    render_envoy.validate(out, ENVOY)
    listeners = _listeners(out)
    assert sorted(listeners) == ["s3gate", "s3gate_root"]
    for name, port in (("s3gate", 1), ("s3gate_root", 5)):
        assert listeners[name]["address"]["socket_address"]["port_value"] == port
        plugin = render_envoy.plugin_config(listeners[name])
        settings = json.loads(plugin["configuration"]["value"])
        assert settings["negative_cache_seconds"] == 1  # overrides reach both listeners
        assert settings["bucket"] == "immuta"  # the rest is kept
        assert plugin["vm_config"]["code"]["local"]["filename"] == \
            str(Path(gateway.wasm).resolve())


def test_root_listener_runs_the_same_plugin():
    # The checked-in file spells both plugin configurations out; they must not drift apart.
    listeners = _listeners(render_envoy.SOURCE)
    main, root = listeners["s3gate"], listeners["s3gate_root"]
    assert root["address"]["socket_address"]["port_value"] == 10010
    assert render_envoy.plugin_settings(main)["path_prefix"] == "/s3p"
    assert render_envoy.plugin_settings(root) == {**render_envoy.plugin_settings(main),
                                                  "path_prefix": ""}
    plugins = [render_envoy.plugin_config(listener) for listener in (main, root)]
    # Same vm_id, runtime and code: one shared VM, so one decision cache.
    assert plugins[0]["vm_config"] == plugins[1]["vm_config"]
    assert plugins[0]["root_id"] == plugins[1]["root_id"]
    assert plugins[0]["failure_policy"] == plugins[1]["failure_policy"] == "FAIL_CLOSED"
    hcms = [listener["filter_chains"][0]["filters"][0]["typed_config"]
            for listener in (main, root)]
    for field in ("route_config", "normalize_path", "merge_slashes",
                  "path_with_escaped_slashes_action", "server_name"):
        assert hcms[0][field] == hcms[1][field], field
    assert [f["name"] for f in hcms[0]["http_filters"]] == \
        [f["name"] for f in hcms[1]["http_filters"]]


def test_envoy_config_holds_no_upstream_credentials(gateway):
    for path in (render_envoy.SOURCE, gateway.envoy_config):
        text = Path(path).read_text()
        assert gateway.credentials[1] not in text and "s3gate-upstream-secret" not in text


def test_demo_data_is_deterministic_and_clean(demo_dir, tmp_path):
    again = tmp_path / "data"
    assert gen_demo_data.ensure(again) is True
    assert gen_demo_data.ensure(again) is False  # idempotent: stamp matches
    assert _digest_tree(again) == _digest_tree(demo_dir)
    for path in Path(again).rglob("*"):
        if path.is_file() and path.name != gen_demo_data.STAMP:
            data = path.read_bytes()
            assert not [n for n in FORBIDDEN if n.encode() in data], path


def test_upstream_checks_signatures(gateway):
    # Straight to rclone, bypassing Envoy (plain clients: these responses are not the
    # gateway's, so they are not recorded for the leak check).
    url = f"http://127.0.0.1:{gateway.upstream_port}"
    with pytest.raises(urllib.error.HTTPError) as unsigned:
        urllib.request.urlopen(url + "/", timeout=5)
    assert 400 <= unsigned.value.code < 500

    def upstream(secret):
        return boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                            aws_access_key_id=gateway.credentials[0],
                            aws_secret_access_key=secret,
                            config=Config(s3={"addressing_style": "path"},
                                          retries={"total_max_attempts": 1}))

    with pytest.raises(botocore.exceptions.ClientError) as exc:
        upstream("wrong-secret").list_buckets()
    assert exc.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    names = [b["Name"] for b in upstream(gateway.credentials[1]).list_buckets()["Buckets"]]
    assert names == ["acme-docs-archive", "acme-warehouse-prod"]
