"""A bad plugin setting with a real, running Envoy (docs/configuration.md, "A bad value stops
the filter"): at start, Envoy does not start and its log holds one line of the filter's naming
the setting; in a listener update on a running gateway (listeners from a watched LDS file, as
xDS would push them), Envoy refuses the update with that one line and the running listener
keeps serving; a good update then applies in place. `envoy --mode validate` is covered by
test_operations.py."""

import json
import os
import time

import pytest
import stack
import yaml

from conftest import start_stack
from gateway import KEYS, http

OBJECT = "/s3p/immuta/sales/region%3Deu/part-00000.csv"


def _wasm_lines(stack_):
    text = (stack_.run_dir / "envoy.log").read_text(errors="replace")
    return [line for line in text.splitlines() if "wasm log" in line]


def test_a_bad_setting_stops_envoy_at_start_with_one_line_naming_it(demo_dir, tmp_path):
    s = stack.Stack(demo_dir, tmp_path / "run", plugin_overrides={"claim_slots": 0})
    with pytest.raises(RuntimeError, match="envoy exited"):
        s.start()
    lines = _wasm_lines(s)
    assert len(lines) == 1, lines
    assert "s3gate plugin configuration" in lines[0] and "claim_slots" in lines[0], lines[0]


# --- listener updates ---------------------------------------------------------------------

def _to_lds(path):
    """Moves a rendered configuration's listeners into a watched LDS file beside it."""
    config = yaml.safe_load(path.read_text())
    lds = path.with_name("lds.yaml")
    _write_lds(lds, config["static_resources"].pop("listeners"))
    config["node"] = {"id": "s3gate-test", "cluster": "s3gate"}  # LDS requires both
    config["dynamic_resources"] = {"lds_config": {"path_config_source": {"path": str(lds)},
                                                  "resource_api_version": "V3"}}
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def _write_lds(lds, listeners):
    """As an xDS file update must be: a new file moved over the old one."""
    resources = [{"@type": "type.googleapis.com/envoy.config.listener.v3.Listener", **l}
                 for l in listeners]
    draft = lds.with_name("lds.yaml.new")
    draft.write_text(yaml.safe_dump({"resources": resources}, sort_keys=False))
    os.replace(draft, lds)


def _push(stack_, settings):
    """Writes the LDS file again with `settings` merged into the s3gate listener's plugin
    configuration."""
    lds = stack_.run_dir / "lds.yaml"
    listeners = [{k: v for k, v in r.items() if k != "@type"}
                 for r in yaml.safe_load(lds.read_text())["resources"]]
    listener = next(l for l in listeners if l["name"] == "s3gate")
    manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
    wasm = next(f for f in manager["http_filters"] if f["name"] == "envoy.filters.http.wasm")
    plugin = wasm["typed_config"]["config"]["configuration"]
    plugin["value"] = json.dumps({**json.loads(plugin["value"]), **settings})
    _write_lds(lds, listeners)


def _until_stat(stack_, name, value, timeout=10):
    deadline = time.monotonic() + timeout
    while stack_.stat(name) < value:
        assert time.monotonic() < deadline, f"{name} did not reach {value}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def lds_gateway(demo_dir, tmp_path_factory):
    s = start_stack(demo_dir, tmp_path_factory.mktemp("run-lds"), envoy_edit=_to_lds)
    yield s
    s.stop()


def test_a_bad_setting_in_a_listener_update_is_refused_and_the_listener_keeps_serving(
        lds_gateway):
    s = lds_gateway
    assert http(s.endpoint, "GET", OBJECT, key=KEYS["bob"]).status == 200
    rejected = s.stat("listener_manager.lds.update_rejected")
    succeeded = s.stat("listener_manager.lds.update_success")
    before = len(_wasm_lines(s))

    _push(s, {"claim_slots": 0})
    _until_stat(s, "listener_manager.lds.update_rejected", rejected + 1)
    lines = _wasm_lines(s)[before:]
    assert len(lines) == 1, lines
    assert "s3gate plugin configuration" in lines[0] and "claim_slots" in lines[0], lines[0]
    # The listener that was running still serves, with its filter.
    resp = http(s.endpoint, "GET", OBJECT, key=KEYS["bob"])
    assert resp.status == 200 and "x-s3gate-decision" not in resp.headers
    assert http(s.endpoint, "GET", "/s3p/immuta/sales/_SUCCESS", key=KEYS["bob"]).status == 404
    assert s.stat("listener_manager.lds.update_success") == succeeded

    # A good update applies in place: the opt-in decision header appears.
    _push(s, {"claim_slots": 1024, "decision_header": "x-s3gate-decision"})
    _until_stat(s, "listener_manager.lds.update_success", succeeded + 1)
    deadline = time.monotonic() + 10
    while "x-s3gate-decision" not in (resp := http(s.endpoint, "GET", OBJECT,
                                                    key=KEYS["bob"])).headers:
        assert time.monotonic() < deadline, "the new setting did not apply"
        time.sleep(0.2)
    assert resp.status == 200
    assert resp.headers["x-s3gate-decision"].startswith("allow granted; rules=")
