#!/usr/bin/env python3
"""Build the filter's OCI image with umoci and check it: an OCI image layout whose image has
exactly one layer holding `plugin.wasm` (the filter) at its root. That is the layout Istio
(WasmPlugin / TrafficExtension `url: oci://...`) and Envoy Gateway (EnvoyExtensionPolicy
`code.type: Image`) pull, the "compat" variant of Istio's Wasm image specification, and what a
Kubernetes image volume mounts (deploy/kubernetes).

Usage: oci_image.py --wasm target/wasm32-wasip1/release/s3gate.wasm --out target/oci/s3gate
                    [--tag 0.1.0]
Push: skopeo copy oci:target/oci/s3gate:TAG docker://REGISTRY/s3gate/filter:TAG
"""

import argparse
import gzip
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PLUGIN = "plugin.wasm"


def _run(*argv):
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"oci_image.py: {' '.join(argv)} failed:\n{result.stderr.strip()}")


def build(wasm, out, tag):
    """A fresh image layout at `out` with image `tag`: one layer, /plugin.wasm."""
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    image = f"{out}:{tag}"
    _run("umoci", "init", "--layout", str(out))
    _run("umoci", "new", "--image", image)
    # Unpack the empty image, add the file, repack: one layer. (umoci 0.4.7's `insert` writes
    # a layer tar without its padding and end blocks, which strict tar readers refuse.)
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "bundle"
        _run("umoci", "unpack", "--image", image, str(bundle))
        staged = bundle / "rootfs" / PLUGIN
        shutil.copyfile(wasm, staged)
        staged.chmod(0o444)
        _run("umoci", "repack", "--image", image, str(bundle))
    _run("umoci", "config", "--image", image, "--clear=config.entrypoint",
         "--config.label", "org.opencontainers.image.title=s3gate",
         "--config.label", "org.opencontainers.image.description=s3gate proxy-wasm filter")
    _run("umoci", "gc", "--layout", str(out))
    return out


def _blob(layout, digest):
    algorithm, value = digest.split(":", 1)
    data = (Path(layout) / "blobs" / algorithm / value).read_bytes()
    if hashlib.sha256(data).hexdigest() != value:
        raise ValueError(f"blob {digest} does not match its digest")
    return data


def check(layout, tag, wasm):
    """Raises ValueError unless the layout holds `tag` with one layer that is exactly
    /plugin.wasm, byte for byte the given filter. Returns the manifest digest."""
    index = json.loads((Path(layout) / "index.json").read_text())
    tagged = [m for m in index["manifests"]
              if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
    if len(tagged) != 1:
        raise ValueError(f"tag {tag!r}: {len(tagged)} manifests")
    manifest = json.loads(_blob(layout, tagged[0]["digest"]))
    # umoci names the media type in the index's descriptor (the manifest may omit it).
    media_type = manifest.get("mediaType", tagged[0].get("mediaType"))
    if media_type != "application/vnd.oci.image.manifest.v1+json":
        raise ValueError(f"manifest media type {media_type}")
    json.loads(_blob(layout, manifest["config"]["digest"]))
    layers = manifest["layers"]
    if len(layers) != 1:
        raise ValueError(f"{len(layers)} layers, expected 1")
    layer = _blob(layout, layers[0]["digest"])
    if layers[0]["mediaType"].endswith("+gzip"):
        layer = gzip.decompress(layer)
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        files = [m for m in tar.getmembers() if m.isfile()]
        names = [m.name.lstrip("./") for m in files]
        if names != [PLUGIN]:
            raise ValueError(f"layer files {names}, expected [{PLUGIN!r}]")
        content = tar.extractfile(files[0]).read()
    if content != Path(wasm).read_bytes():
        raise ValueError(f"{PLUGIN} in the image is not {wasm}")
    return tagged[0]["digest"]


def main():
    parser = argparse.ArgumentParser(
        prog="oci_image.py", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wasm", required=True, help="the filter to package")
    parser.add_argument("--out", required=True, help="the OCI image layout to write (replaced)")
    parser.add_argument("--tag", default="latest", help="the image's tag (default latest)")
    args = parser.parse_args()
    if shutil.which("umoci") is None:
        print("oci_image.py: umoci is not installed (Debian: apt-get install umoci)",
              file=sys.stderr)
        return 1
    out = build(args.wasm, args.out, args.tag)
    try:
        digest = check(out, args.tag, args.wasm)
    except ValueError as err:
        print(f"oci_image.py: the image built is wrong: {err}", file=sys.stderr)
        return 1
    print(f"oci:{out}:{args.tag} {digest}: one layer, /{PLUGIN} "
          f"({Path(args.wasm).stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
