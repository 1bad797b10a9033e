"""deploy/, checked offline: the Kubernetes manifests against Kubernetes' own schemas
(kubernetes-validate, strict: an unknown field is an error); the Istio and Envoy Gateway
resources against their CRDs' schemas (vendored in deploy/schemas/, unknown fields refused as
the API server's strict field validation does); every plugin configuration they carry loads in
the real filter; the Envoy configuration inside the sidecar's ConfigMap passes
`envoy --mode validate`; the policies ConfigMap is the demo's policies/; and the filter's OCI
image (`make oci-image`) has the layout Istio and Envoy Gateway pull."""

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import render_envoy
import yaml

REPO = render_envoy.REPO
DEPLOY = REPO / "deploy"
ENVOY = str(Path(sys.executable).parent / "envoy")
KUBERNETES_VERSION = "1.37"
# The CRD schemas vendored in deploy/schemas, by (apiVersion, kind).
CRD_SCHEMAS = {
    ("extensions.istio.io/v1alpha1", "TrafficExtension"): "istio-trafficextension-v1alpha1",
    ("extensions.istio.io/v1alpha1", "WasmPlugin"): "istio-wasmplugin-v1alpha1",
    ("gateway.envoyproxy.io/v1alpha1", "EnvoyExtensionPolicy"):
        "envoy-gateway-envoyextensionpolicy-v1alpha1",
}


def _documents(pattern):
    found = []
    for path in sorted(DEPLOY.glob(pattern)):
        for i, doc in enumerate(yaml.safe_load_all(path.read_text())):
            if doc:
                found.append(pytest.param(doc, id=f"{path.relative_to(DEPLOY)}#{i}"))
    return found


KUBERNETES = _documents("kubernetes/*.yaml")
EXTENSIONS = [p for p in _documents("*/*.yaml")
              if (p.values[0]["apiVersion"], p.values[0]["kind"]) in CRD_SCHEMAS]


def test_the_example_has_what_a_deployment_needs():
    kinds = sorted({(p.values[0]["kind"], p.values[0]["metadata"]["name"]) for p in KUBERNETES})
    for expected in [("ConfigMap", "s3gate-envoy"), ("ConfigMap", "s3gate-policies"),
                     ("Deployment", "analytics"), ("Deployment", "s3gate-policy"),
                     ("Service", "s3gate-policy"), ("Secret", "s3gate-upstream")]:
        assert expected in kinds
    policy = next(p.values[0] for p in KUBERNETES
                  if p.values[0]["kind"] == "Deployment" and
                  p.values[0]["metadata"]["name"] == "s3gate-policy")
    assert policy["spec"]["replicas"] == 2
    container = policy["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"]
    app = next(p.values[0] for p in KUBERNETES if p.values[0]["kind"] == "Deployment" and
               p.values[0]["metadata"]["name"] == "analytics")
    sidecar = app["spec"]["template"]["spec"]["initContainers"][0]
    assert sidecar["restartPolicy"] == "Always" and sidecar["readinessProbe"]
    assert sidecar["resources"]["requests"]
    assert {p.values[0]["kind"] for p in EXTENSIONS} == {"TrafficExtension", "WasmPlugin",
                                                         "EnvoyExtensionPolicy"}


@pytest.mark.parametrize("doc", KUBERNETES)
def test_kubernetes_manifests_match_kubernetes_schemas(doc):
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_kubernetes_check_catches_a_mistake():
    doc = copy.deepcopy(next(p.values[0] for p in KUBERNETES
                             if p.values[0]["kind"] == "Deployment"))
    doc["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] = {"httpGet": {"pth": "/"}}
    with pytest.raises(kubernetes_validate.ValidationError, match="pth"):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def _strict(schema):
    """The schema with unknown fields refused wherever the CRD lists the fields (as the API
    server's strict field validation does), except where it preserves unknown fields."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if ("properties" in node and "additionalProperties" not in node
                    and not node.get("x-kubernetes-preserve-unknown-fields")):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(schema)
    return schema


def _crd_validator(doc):
    name = CRD_SCHEMAS[(doc["apiVersion"], doc["kind"])]
    schema = json.loads((DEPLOY / "schemas" / f"{name}.json").read_text())
    # The API server checks metadata itself; the CRD schema leaves it open.
    schema.setdefault("properties", {})["metadata"] = {"type": "object"}
    schema["properties"]["apiVersion"] = {"type": "string"}
    schema["properties"]["kind"] = {"type": "string"}
    return jsonschema.Draft7Validator(_strict(schema))


@pytest.mark.parametrize("doc", EXTENSIONS)
def test_istio_and_envoy_gateway_resources_match_their_crd_schemas(doc):
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in _crd_validator(doc).iter_errors(doc)]
    assert not errors, errors


def test_the_crd_check_catches_a_mistake():
    doc = copy.deepcopy(next(p.values[0] for p in EXTENSIONS
                             if p.values[0]["kind"] == "TrafficExtension"))
    doc["spec"]["wasm"]["failStrategy"] = "FAIL_CLOSED"   # the enum says FAIL_CLOSE
    doc["spec"]["wasm"]["imagePullPolice"] = "Always"
    messages = " ".join(e.message for e in _crd_validator(doc).iter_errors(doc))
    assert "FAIL_CLOSED" in messages and "imagePullPolice" in messages


def _plugin_configuration(doc):
    spec = doc["spec"]
    if doc["kind"] == "TrafficExtension":
        return spec["wasm"]["pluginConfig"]
    if doc["kind"] == "WasmPlugin":
        return spec["pluginConfig"]
    return spec["wasm"][0]["config"]


@pytest.mark.parametrize("doc", EXTENSIONS)
def test_each_resources_plugin_configuration_loads_in_the_filter(gateway, tmp_path, doc):
    # The demo's Envoy with this plugin configuration on both listeners: the filter parses
    # and checks it when Envoy validates the file.
    out = render_envoy.render(tmp_path / "envoy.yaml", gateway.wasm)
    config = yaml.safe_load(out.read_text())
    for name in render_envoy.LISTENERS:
        listener = render_envoy.named(config["static_resources"]["listeners"], name)
        render_envoy.plugin_config(listener)["configuration"]["value"] = \
            json.dumps(_plugin_configuration(doc))
    out.write_text(yaml.safe_dump(config, sort_keys=False))
    render_envoy.validate(out, ENVOY)


@pytest.mark.parametrize("label, text", render_envoy.embedded())
def test_the_envoy_configuration_in_a_configmap_passes_envoy_validate(gateway, tmp_path, label,
                                                                     text):
    out = render_envoy.localize(None, tmp_path / "envoy.yaml", gateway.wasm, text=text)
    render_envoy.validate(out, ENVOY)


def test_the_sidecar_runs_the_production_plugin_settings_but_on_loopback():
    (label, text), = render_envoy.embedded()
    sidecar = yaml.safe_load(text)
    production = yaml.safe_load((REPO / "envoy" / "envoy-production.yaml").read_text())
    listener = render_envoy.named(sidecar["static_resources"]["listeners"], "s3gate")
    assert listener["address"]["socket_address"]["address"] == "127.0.0.1"
    theirs = render_envoy.plugin_settings(listener)
    ours = render_envoy.plugin_settings(
        render_envoy.named(production["static_resources"]["listeners"], "s3gate"))
    assert theirs == {**ours, "virtual_host_domain": "localhost"}
    assert sidecar["static_resources"]["clusters"] == production["static_resources"]["clusters"]


def test_the_policies_configmap_is_the_demo_policies():
    doc = next(p.values[0] for p in KUBERNETES if p.values[0]["kind"] == "ConfigMap" and
               p.values[0]["metadata"]["name"] == "s3gate-policies")
    assert sorted(doc["data"]) == ["data_sources.yaml", "principals.yaml", "rules.yaml"]
    for name, text in doc["data"].items():
        assert text == (REPO / "policies" / name).read_text(), name


@pytest.mark.skipif(shutil.which("umoci") is None,
                    reason="umoci is not installed (`make oci-image` installs it)")
def test_the_oci_image_holds_only_plugin_wasm(gateway, tmp_path):
    sys.path.insert(0, str(REPO / "scripts"))
    import oci_image
    layout = tmp_path / "s3gate"
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "oci_image.py"), "--wasm",
                             str(gateway.wasm), "--out", str(layout), "--tag", "test"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "one layer, /plugin.wasm" in result.stdout
    assert oci_image.check(layout, "test", gateway.wasm).startswith("sha256:")
    # The check is not a formality: another file in place of the filter fails it.
    other = tmp_path / "other.wasm"
    other.write_bytes(b"\0asm\1\0\0\0")
    with pytest.raises(ValueError, match="plugin.wasm"):
        oci_image.check(layout, "test", other)
