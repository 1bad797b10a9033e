"""What an operator meets before any request: every shipped Envoy configuration validates; a bad
plugin setting stops the filter at configure time with one line naming it; the tools explain
themselves (`render_envoy.py --help`, a failed `--validate`, `make check-policies`); every doc
a configuration points at exists; and the demo store shows new files within a second."""

import json
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import render_envoy
from gateway import KEYS, disk_file, s3_client
from tls_certs import make_certificates

REPO = render_envoy.REPO
ENVOY = str(Path(sys.executable).parent / "envoy")
RENDER = [sys.executable, str(REPO / "scripts" / "render_envoy.py")]


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("tls"))


def test_the_shipped_configurations_are_all_listed():
    shipped = {p.relative_to(REPO).as_posix() for p in render_envoy.SHIPPED}
    assert {"envoy/envoy.yaml", "envoy/envoy-production.yaml"} <= shipped
    assert {p.relative_to(REPO).as_posix() for p in REPO.glob("envoy/*.yaml")} <= shipped


@pytest.mark.parametrize("source", render_envoy.SHIPPED,
                         ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_shipped_envoy_config_passes_envoy_validate(gateway, certs, tmp_path, source):
    out = render_envoy.localize(source, tmp_path / "envoy.yaml", gateway.wasm, certs)
    render_envoy.validate(out, ENVOY)


@pytest.mark.parametrize("setting, value, named", [
    ("policy_timeout_ms", "2s", "policy_timeout_ms"),        # wrong type
    ("regions", "us-east-1", "regions"),                     # a string, not a list
    ("claim_slots", 0, "claim_slots"),                       # out of bounds
    ("path_prefix", "/s3p/", "path_prefix"),                 # malformed
    ("polcy_cluster", "policy", "polcy_cluster"),            # misspelt
])
def test_a_bad_plugin_setting_stops_the_filter_with_one_line_naming_it(gateway, tmp_path,
                                                                       setting, value, named):
    out = tmp_path / "envoy.yaml"
    result = subprocess.run([*RENDER, str(out), "--wasm", str(gateway.wasm), "--validate",
                             "--plugin-json", json.dumps({setting: value})],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert not out.exists()
    # The filter's own line, once per plugin that loads it (Envoy stops at the first).
    lines = [line for line in result.stderr.splitlines() if "wasm log" in line]
    assert len(lines) == 1, result.stderr
    assert "s3gate plugin configuration" in lines[0] and named in lines[0], lines[0]
    assert "Plugin configured to fail closed failed to load" in result.stderr


def test_render_envoy_help_describes_every_option():
    result = subprocess.run([*RENDER, "--help"], capture_output=True, text=True, check=True)
    text = result.stdout
    # Every option has a description after its name, and the description ends a sentence.
    for option in ("--wasm", "--port", "--root-port", "--admin-port", "--policy-port",
                   "--upstream-port", "--plugin-json", "--upstream-signing", "--max-heap-bytes",
                   "--validate", "--envoy"):
        entry = re.search(rf"^  {re.escape(option)}\b[^\n]*\n?((?:\s{{10,}}\S[^\n]*\n)*)",
                          text, re.M)
        assert entry and len(entry.group(0).split()) > 3, option
    description = text.split("\n\n", 1)[1].split("positional arguments")[0].strip()
    assert description.endswith("."), description


def test_a_failed_validate_says_why_without_a_traceback_and_writes_nothing(gateway, tmp_path):
    out = tmp_path / "envoy.yaml"
    out.write_text("a good file from before\n")
    result = subprocess.run([*RENDER, str(out), "--wasm", str(gateway.wasm), "--validate",
                             "--plugin-json", '{"bucket": "a/b"}'],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "envoy rejected" in result.stderr and "bucket" in result.stderr
    assert f"nothing written to {out}" in result.stderr
    assert out.read_text() == "a good file from before\n"
    assert list(tmp_path.iterdir()) == [out]  # no draft left behind
    ok = subprocess.run([*RENDER, str(out), "--wasm", str(gateway.wasm), "--validate"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == f"{out}: valid"
    assert "static_resources" in out.read_text()


def test_make_check_policies_prints_one_clean_line():
    result = subprocess.run(["make", "-s", "--no-print-directory", "check-policies"], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    printed = [line for line in (result.stdout + result.stderr).splitlines()
               if line.strip() and "Finished" not in line and "Compiling" not in line]
    assert len(printed) == 1, printed
    assert re.fullmatch(r"policies/?: policies are valid \(6 data sources, 5 principals, .*\)",
                        printed[0]), printed


# References a configuration or a doc makes: `docs/NAME.md`, `docs/NAME.md#anchor`, and
# README sections named as (README, "Section").
DOC_REF = re.compile(r"\b(docs/[\w.-]+\.md|README\.md)(?:#([\w-]+))?")
README_SECTION = re.compile(r"README, \"([^\"]+)\"")


def _anchors(markdown):
    """GitHub's heading anchors of a Markdown file."""
    anchors = set()
    for heading in re.findall(r"^#+\s+(.+?)\s*$", markdown, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def _referencing_files():
    files = [*render_envoy.SHIPPED, REPO / "README.md", *sorted(REPO.glob("docs/*.md")),
             *sorted(p for p in REPO.glob("deploy/**/*") if p.is_file())]
    return [f for f in files if f.suffix in (".yaml", ".md")]


def test_every_doc_and_section_a_file_points_at_exists():
    missing = []
    for source in _referencing_files():
        text = source.read_text()
        for doc, anchor in DOC_REF.findall(text):
            target = REPO / doc
            if not target.exists():
                missing.append(f"{source.relative_to(REPO)} -> {doc}")
            elif anchor and anchor not in _anchors(target.read_text()):
                missing.append(f"{source.relative_to(REPO)} -> {doc}#{anchor}")
        readme = _anchors((REPO / "README.md").read_text())
        for section in README_SECTION.findall(text):
            if re.sub(r"[^\w\- ]", "", section.lower()).replace(" ", "-") not in readme:
                missing.append(f"{source.relative_to(REPO)} -> README section {section!r}")
    assert not missing, missing


def test_the_envoy_settings_list_names_every_plugin_setting():
    # envoy/envoy.yaml's comment lists the settings; docs/configuration.md documents them all.
    config_rs = (REPO / "core" / "src" / "config.rs").read_text()
    struct = config_rs.split("pub struct PluginConfig {", 1)[1].split("\n}\n", 1)[0]
    settings = [name for name in re.findall(r"^\s+pub (\w+):", struct, re.M)
                if f"#[serde(skip)]\n    pub {name}:" not in struct]
    assert "stale_if_error_seconds" in settings
    envoy_comment = (REPO / "envoy" / "envoy.yaml").read_text()
    docs = (REPO / "docs" / "configuration.md").read_text()
    for name in settings:
        assert re.search(rf"#\s+{name}\b", envoy_comment), f"envoy.yaml does not list {name}"
        assert f"`{name}`" in docs, f"docs/configuration.md does not document {name}"


def test_a_file_added_after_start_is_listed_and_readable_at_once(gateway, demo_dir):
    carol = s3_client(gateway.endpoint, KEYS["carol"])
    folder = f"documents/new-{uuid.uuid4().hex[:8]}"
    key = f"{folder}/report.txt"
    path = disk_file(demo_dir, key)
    # The store has listed the parent already, so a cached listing would miss the new folder.
    carol.list_objects_v2(Bucket="immuta", Prefix="documents/", Delimiter="/")
    path.parent.mkdir()
    try:
        path.write_bytes(b"added after the start\n")
        added = time.monotonic()
        # Within rclone's --dir-cache-time (1 s, scripts/stack.py), not its default 5 minutes.
        while True:
            listed = carol.list_objects_v2(Bucket="immuta", Prefix="documents/", Delimiter="/")
            if {"Prefix": f"{folder}/"} in listed.get("CommonPrefixes", []):
                break
            assert time.monotonic() - added < 3, "the new folder is not listed after 3 s"
            time.sleep(0.2)
        body = carol.get_object(Bucket="immuta", Key=key)["Body"].read()
        assert body == b"added after the start\n"
    finally:
        path.unlink()
        path.parent.rmdir()
