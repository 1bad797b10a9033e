"""curl's own SigV4 signing (`--aws-sigv4`), the simplest scripted client. curl 7.x signs the
URL as written, while SigV4 signs S3's canonical form ('=' in the path and '/' in a query value
percent-encoded, query parameters sorted), so the URLs here are written in that form, as
curl's users must (boto3 and the others do it themselves)."""

import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from gateway import KEYS, RECORDER, S3_NS, SECRET, Recorded, disk_file, view_of

CURL = shutil.which("curl")
pytestmark = pytest.mark.skipif(CURL is None, reason="curl is not installed")


def curl(url, principal="alice", *extra):
    argv = [CURL, "--silent", "--show-error", "--include", "--aws-sigv4",
            "aws:amz:us-east-1:s3", "--user", f"{KEYS[principal]}:{SECRET}", *extra, url]
    done = subprocess.run(argv, capture_output=True, timeout=60, check=True)
    head, _, body = done.stdout.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = [tuple(h.split(": ", 1)) for h in lines[1:]]
    RECORDER.add(Recorded(f"curl {url}", status, headers, body, sent=url))
    return status, dict((k.lower(), v) for k, v in headers), body


def test_curl_lists(endpoint):
    status, headers, body = curl(f"{endpoint}/immuta?delimiter=%2F&list-type=2&prefix=sales%2F")
    assert status == 200 and "xml" in headers["content-type"]
    root = ET.fromstring(body)
    assert [p.text for p in root.iter(f"{S3_NS}Prefix")][1:] == [
        "sales/region=eu/", "sales/region=us/"]


def test_curl_gets_an_object(endpoint, demo_dir):
    key = "sales/region=eu/part-00001.csv"
    status, _, body = curl(f"{endpoint}/immuta/{key.replace('=', '%3D')}")
    assert status == 200
    assert body == disk_file(demo_dir, key).read_bytes()


def test_curl_range(endpoint, demo_dir, mask_secret):
    key = "customers/customers.csv"
    status, headers, body = curl(f"{endpoint}/immuta/{key}", "carol", "--range", "10-19")
    data = disk_file(demo_dir, key).read_bytes()
    assert status == 206 and body == data[10:20]
    assert headers["content-range"] == f"bytes 10-19/{len(data)}"
    # alice's range is of her masked view, across masked fields of several records.
    view = view_of(demo_dir, "alice", key, mask_secret)
    status, headers, body = curl(f"{endpoint}/immuta/{key}", "alice", "--range", "30-229")
    assert status == 206 and body == view[30:230]
    assert headers["content-range"] == f"bytes 30-229/{len(view)}"
