#!/usr/bin/env python3
"""Write a runnable copy of envoy/envoy.yaml with chosen ports, an absolute path to the .wasm
and, optionally, plugin configuration overrides (applied to both listeners' filters). It edits
the parsed structure, never the text, so the checked-in file stays the one source of truth that
users read.

Examples:
  render_envoy.py .demo/envoy.yaml --wasm target/wasm32-wasip1/release/s3gate.wasm --validate
  render_envoy.py out.yaml --wasm s3gate.wasm --port 8080 \\
      --plugin-json '{"negative_cache_seconds": 1}' --upstream-signing envoy

With --validate the copy is written only if `envoy --mode validate` accepts it; otherwise
Envoy's messages are printed, nothing is written and the exit status is 1.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "envoy" / "envoy.yaml"
WASM_FILTER = "envoy.filters.http.wasm"
SIGNING_FILTER = "envoy.filters.http.aws_request_signing"
S3_CLUSTER = "s3_demo"
# The gateway's upstream credentials, from Envoy's environment in either signing mode.
CREDENTIAL_VARIABLES = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
# The token the filter presents to the policy service, from Envoy's environment in both modes.
POLICY_TOKEN_VARIABLE = "S3GATE_POLICY_TOKEN"
# The secret keying the table masks (hash, format_preserving), from Envoy's environment in both
# modes; optional (without it masked tables answer 503).
MASK_SECRET_VARIABLE = "S3GATE_MASK_SECRET"
# The gateway under its path prefix, and the same gateway at the root of its own port.
LISTENERS = ("s3gate", "s3gate_root")


def named(items, name):
    for item in items:
        if item.get("name") == name:
            return item
    raise KeyError(f"{name!r} not found in {SOURCE}")


def _set_port(socket_holder, port):
    socket_holder["socket_address"]["port_value"] = int(port)


def _merge(base, override):
    """Deep-merge override into base (dicts merge, everything else replaces)."""
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def plugin_config(listener):
    """The wasm filter's `config` (vm_config, configuration, ...) of a listener."""
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    return named(hcm["http_filters"], WASM_FILTER)["typed_config"]["config"]


def plugin_settings(listener):
    """The plugin configuration JSON of a listener's filter, parsed."""
    return json.loads(plugin_config(listener)["configuration"]["value"])


def _cluster_signing(cluster):
    """The S3 cluster's upstream HTTP filter list (None without one)."""
    options = cluster.get("typed_extension_protocol_options", {}).get(
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions", {})
    return options.get("http_filters")


def upstream_signing_mode(config):
    """`envoy` if the S3 cluster has the aws_request_signing upstream filter, else `filter`."""
    cluster = named(config["static_resources"]["clusters"], S3_CLUSTER)
    filters = _cluster_signing(cluster) or []
    return "envoy" if any(f.get("name") == SIGNING_FILTER for f in filters) else "filter"


def set_upstream_signing(config, mode, listeners):
    """Moves upstream signing to Envoy's upstream filter or into the wasm filter."""
    if mode == upstream_signing_mode(config):
        return
    cluster = named(config["static_resources"]["clusters"], S3_CLUSTER)
    filters = _cluster_signing(cluster)
    if mode == "filter":
        signing = named(filters, SIGNING_FILTER)
        region = signing["typed_config"]["region"]
        filters.remove(signing)
        for listener in listeners:
            plugin = plugin_config(listener)
            plugin["vm_config"]["environment_variables"] = {
                "host_env_keys": list(CREDENTIAL_VARIABLES) + [POLICY_TOKEN_VARIABLE,
                                                               MASK_SECRET_VARIABLE]}
            settings = plugin_settings(listener)
            for upstream in settings["upstreams"].values():
                upstream["sign"] = {"region": region}
            plugin["configuration"]["value"] = json.dumps(settings)
    elif mode == "envoy":
        region = None
        for listener in listeners:
            plugin = plugin_config(listener)
            plugin["vm_config"]["environment_variables"] = {
                "host_env_keys": [POLICY_TOKEN_VARIABLE, MASK_SECRET_VARIABLE]}
            settings = plugin_settings(listener)
            for upstream in settings["upstreams"].values():
                region = upstream.pop("sign", {}).get("region", region)
            plugin["configuration"]["value"] = json.dumps(settings)
        filters.insert(0, {
            "name": SIGNING_FILTER,
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http."
                         "aws_request_signing.v3.AwsRequestSigning",
                "service_name": "s3",
                "region": region or "us-east-1",
                "use_unsigned_payload": True,
                "credential_provider": {"custom_credential_provider_chain": True,
                                        "environment_credential_provider": {}},
            },
        })
    else:
        raise ValueError(f"upstream signing {mode!r}: expected 'envoy' or 'filter'")


def render(out, wasm, port=None, admin_port=None, policy_port=None, upstream_port=None,
           plugin_overrides=None, source=SOURCE, root_port=None, upstream_signing=None,
           max_heap_bytes=None, policy_port_2=None, policy_replicas=2):
    config = yaml.safe_load(Path(source).read_text())
    if max_heap_bytes is not None:
        # The overload manager's heap limit (fixed_heap monitor).
        monitor = named(config["overload_manager"]["resource_monitors"],
                        "envoy.resource_monitors.fixed_heap")
        monitor["typed_config"]["max_heap_size_bytes"] = int(max_heap_bytes)
    static = config["static_resources"]
    listeners = [named(static["listeners"], name) for name in LISTENERS]
    for listener, listener_port in zip(listeners, (port, root_port)):
        if listener_port is not None:
            _set_port(listener["address"], listener_port)
    if admin_port is not None:
        _set_port(config["admin"]["address"], admin_port)
    if policy_replicas == 1:
        # One replica only (most test stacks): no endpoint that nothing serves.
        cluster = named(static["clusters"], "policy")
        del cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][1:]
        policy_port_2 = None
    for cluster_name, index, cluster_port in (("policy", 0, policy_port),
                                              ("policy", 1, policy_port_2),
                                              ("s3_demo", 0, upstream_port)):
        if cluster_port is not None:
            cluster = named(static["clusters"], cluster_name)
            endpoints = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
            _set_port(endpoints[index]["endpoint"]["address"], cluster_port)

    if upstream_signing:
        set_upstream_signing(config, upstream_signing, listeners)
    for listener in listeners:
        plugin = plugin_config(listener)
        plugin["vm_config"]["code"]["local"]["filename"] = str(Path(wasm).resolve())
        if plugin_overrides:
            settings = plugin_settings(listener)
            _merge(settings, plugin_overrides)
            plugin["configuration"]["value"] = json.dumps(settings)

    Path(out).write_text(yaml.safe_dump(config, sort_keys=False))
    return Path(out)


OTEL_SNIPPET = REPO / "envoy" / "snippets" / "access-log-otel.yaml"


def http_connection_manager(listener):
    return listener["filter_chains"][0]["filters"][0]["typed_config"]


def add_access_log(path, snippet=OTEL_SNIPPET, collector_port=None):
    """Splices an access-log snippet (envoy/snippets/: an `access_log` list and the `clusters`
    it sends to) into the configuration at `path`, beside each listener's access logs. With
    `collector_port`, its clusters point at that loopback port (a local collector, for tests)."""
    config = yaml.safe_load(Path(path).read_text())
    extra = yaml.safe_load(Path(snippet).read_text())
    for listener in config["static_resources"]["listeners"]:
        manager = http_connection_manager(listener)
        # A copy per listener: envoy.yaml's listeners share one list through a YAML anchor.
        manager["access_log"] = [*manager.get("access_log", []), *extra["access_log"]]
    clusters = extra["clusters"]
    if collector_port is not None:
        for cluster in clusters:
            cluster["type"] = "STATIC"
            for endpoint in cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]:
                endpoint["endpoint"]["address"]["socket_address"] = {
                    "address": "127.0.0.1", "port_value": int(collector_port)}
        for log in extra["access_log"]:
            uri = log["typed_config"].get("http_service", {}).get("http_uri")
            if uri:
                uri["uri"] = f"http://127.0.0.1:{collector_port}/v1/logs"
    config["static_resources"]["clusters"].extend(clusters)
    Path(path).write_text(yaml.safe_dump(config, sort_keys=False))
    return Path(path)


def _is_bootstrap(path):
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError:
        return False
    return isinstance(doc, dict) and "static_resources" in doc


# Every Envoy configuration file this repository ships (envoy/, and any under deploy/; those
# inside Kubernetes ConfigMaps are `embedded()`); each must pass `envoy --mode validate`
# (tests/e2e/test_operations.py, tests/e2e/test_deploy.py, `make validate-envoy`).
SHIPPED = [p for p in [*sorted((REPO / "envoy").glob("*.yaml")),
                       *sorted((REPO / "deploy").rglob("*.yaml"))] if _is_bootstrap(p)]
# Files a shipped configuration names that exist only where it is deployed (TLS certificates
# and keys, by their base name); `localize` points them at local stand-ins.
DEPLOYED_FILES = (".crt", ".key", ".pem")
SYSTEM_CA = "/etc/ssl/certs/ca-certificates.crt"


def _walk(node, visit):
    if isinstance(node, dict):
        for key, value in node.items():
            node[key] = visit(key, value) if not isinstance(value, (dict, list)) else value
            _walk(value, visit)
    elif isinstance(node, list):
        for item in node:
            _walk(item, visit)


def embedded():
    """The Envoy configurations shipped inside Kubernetes ConfigMaps (deploy/kubernetes, data
    key envoy.yaml), as (label, text)."""
    found = []
    for manifest in sorted((REPO / "deploy").rglob("*.yaml")):
        for doc in yaml.safe_load_all(manifest.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "ConfigMap" and \
                    "envoy.yaml" in doc.get("data", {}):
                label = f"{manifest.relative_to(REPO)}:{doc['metadata']['name']}"
                found.append((label, doc["data"]["envoy.yaml"]))
    return found


def localize(source, out, wasm, files_dir=None, text=None):
    """A copy of a shipped configuration (the file `source`, or `text`) that runs here: every
    .wasm path becomes `wasm`, and every certificate or key file (other than the system CA
    bundle) `files_dir`/its base name."""
    config = yaml.safe_load(text if text is not None else Path(source).read_text())

    def visit(key, value):
        if key != "filename" or not isinstance(value, str):
            return value
        if value.endswith(".wasm"):
            return str(Path(wasm).resolve())
        if files_dir is not None and value.endswith(DEPLOYED_FILES) and value != SYSTEM_CA:
            return str(Path(files_dir).resolve() / Path(value).name)
        return value

    _walk(config, visit)
    Path(out).write_text(yaml.safe_dump(config, sort_keys=False))
    return Path(out)


class Rejected(Exception):
    """Envoy refused a configuration; the message is Envoy's own explanation."""


def validate(path, envoy="envoy"):
    """`envoy --mode validate`: parses the config and loads the wasm module; raises Rejected
    with Envoy's messages on error. Loading the plugin needs the upstream credential and policy
    token variables to exist: placeholders stand in for any the caller's environment lacks
    (validation calls nothing)."""
    env = dict(os.environ)
    for name in CREDENTIAL_VARIABLES + [POLICY_TOKEN_VARIABLE]:
        env.setdefault(name, "placeholder-for-validation")
    try:
        result = subprocess.run([envoy, "--mode", "validate", "-c", str(path), "-l", "error"],
                                capture_output=True, text=True, env=env)
    except OSError as err:
        raise Rejected(f"cannot run {envoy}: {err}") from None
    if result.returncode != 0:
        raise Rejected(f"envoy rejected {path}:\n{(result.stdout + result.stderr).strip()}")


def main():
    parser = argparse.ArgumentParser(
        prog="render_envoy.py", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="where to write the rendered Envoy configuration")
    parser.add_argument("--wasm", required=True,
                        help="the filter, s3gate.wasm (written as an absolute path)")
    parser.add_argument("--port", type=int,
                        help="port of listener s3gate, the gateway under /s3p (default 10000)")
    parser.add_argument("--root-port", type=int,
                        help="port of listener s3gate_root, the gateway at the root of its "
                             "port (default 10010)")
    parser.add_argument("--admin-port", type=int, help="Envoy's admin port (default 9901)")
    parser.add_argument("--policy-port", type=int,
                        help="port of the policy service's first replica, cluster policy "
                             "(default 8181)")
    parser.add_argument("--policy-port-2", type=int,
                        help="port of its second replica (default 8182)")
    parser.add_argument("--upstream-port", type=int,
                        help="port of the S3 store, cluster s3_demo (default 9000)")
    parser.add_argument("--plugin-json", type=json.loads, metavar="JSON",
                        help="plugin settings merged into both listeners' plugin "
                             "configuration, e.g. '{\"negative_cache_seconds\": 1}' "
                             "(docs/configuration.md lists them)")
    parser.add_argument("--upstream-signing", choices=["envoy", "filter"],
                        help="who signs upstream requests: Envoy's aws_request_signing "
                             "upstream filter on the S3 cluster, or the wasm filter (default: "
                             "as checked in, the filter)")
    parser.add_argument("--max-heap-bytes", type=int, metavar="N",
                        help="the overload manager's heap limit in bytes (default: as checked "
                             "in, 1 GiB); keep it below the container's memory limit")
    parser.add_argument("--validate", action="store_true",
                        help="run `envoy --mode validate` on the result and write OUT only "
                             "if Envoy accepts it")
    parser.add_argument("--envoy", default=str(Path(sys.executable).parent / "envoy"),
                        help="the Envoy binary for --validate (default: the venv's envoy)")
    args = parser.parse_args()
    out = Path(args.out)
    # Rendered beside OUT first, so a rejected configuration never replaces a good one.
    draft = out.with_name(f".draft-{out.name}") if args.validate else out
    render(draft, args.wasm, args.port, args.admin_port, args.policy_port,
           args.upstream_port, args.plugin_json, root_port=args.root_port,
           upstream_signing=args.upstream_signing, max_heap_bytes=args.max_heap_bytes,
           policy_port_2=args.policy_port_2)
    if args.validate:
        try:
            validate(draft, args.envoy)
        except Rejected as err:
            draft.unlink(missing_ok=True)
            message = str(err).replace(str(draft), str(out))
            print(f"render_envoy.py: {message}\nrender_envoy.py: nothing written to {out}",
                  file=sys.stderr)
            return 1
        os.replace(draft, out)
        print(f"{out}: valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
