"""A listing page that holds the last visible entries is not truncated, however many hidden
objects follow (bob, v1 and v2, with and without a delimiter): a page is truncated only when a
visible entry follows it."""

import xml.etree.ElementTree as ET
from urllib.parse import quote

from gateway import KEYS, S3_NS, disk_keys, http


def _page(gateway, principal, query):
    resp = http(gateway.endpoint, "GET", f"/s3p/immuta?{query}", key=KEYS[principal])
    assert resp.status == 200, (query, resp.status, resp.body[:300])
    root = ET.fromstring(resp.body)
    entries = ([e.findtext(f"{S3_NS}Key") for e in root.iter(f"{S3_NS}Contents")]
               + [e.findtext(f"{S3_NS}Prefix") for e in root.iter(f"{S3_NS}CommonPrefixes")])
    truncated = root.findtext(f"{S3_NS}IsTruncated") == "true"
    resume = (root.findtext(f"{S3_NS}NextContinuationToken") if "list-type=2" in query
              else root.findtext(f"{S3_NS}NextMarker") or (entries[-1] if entries else None))
    return entries, truncated, resume


def _walk(gateway, principal, query, max_keys):
    """Every page of a listing: [(entries, truncated)]."""
    pages, resume = [], None
    v2 = "list-type=2" in query
    while True:
        q = f"{query}&max-keys={max_keys}"
        if resume is not None:
            q += f"&continuation-token={quote(resume, safe='')}" if v2 else \
                f"&marker={quote(resume, safe='')}"
        entries, truncated, resume = _page(gateway, principal, q)
        pages.append((entries, truncated))
        if not truncated or len(pages) > 20:
            return pages


# Bob sees two objects of sales (region=eu/part-0000{0,1}.csv) and one folder (region=eu/);
# region=us/ and the housekeeping files are hidden from him.
TRUNCATION_CASES = [
    ("prefix=sales/&delimiter=/", 1),   # the one folder he sees, then region=us/ upstream
    ("list-type=2&prefix=sales/&delimiter=/", 1),
    ("prefix=sales/", 2),               # his two objects, then region=us/... upstream
    ("list-type=2&prefix=sales/", 2),
    ("prefix=sales/region%3D", 2),
    ("list-type=2&prefix=sales/region%3D&delimiter=/", 1),
]


def test_a_page_that_holds_the_last_visible_entries_is_not_truncated(gateway, demo_dir):
    """Invisible is nonexistent, for the existence of hidden objects too: IsTruncated (and
    NextMarker / NextContinuationToken) is set only when a *visible* entry follows the client's
    full page, never merely because the store holds more keys after it.

    Request (bob, seed header or SigV4; both listeners; rclone and s3s-fs):
        GET /s3p/immuta?prefix=sales/&delimiter=/&max-keys=1
    must answer CommonPrefixes [sales/region=eu/] with IsTruncated=false, exactly as it would
    were his hidden region=us/ absent; likewise `prefix=sales/&max-keys=2` (v1 and v2): his two
    objects, not truncated. A truncated page followed by an empty one (which S3 never answers)
    would tell bob that objects he may not see exist after the last one he may, and moving the
    prefix (`prefix=sales/region=eu/part-00001.csv`, ...) and max-keys (the gateway over-fetches
    max-keys + max-keys/2 + 1) would tell him where."""
    visible = [k for k in disk_keys(demo_dir, "sales") if k.startswith("sales/region=eu/")]
    assert visible == ["sales/region=eu/part-00000.csv", "sales/region=eu/part-00001.csv"]
    failures = []
    for query, max_keys in TRUNCATION_CASES:
        pages = _walk(gateway, "bob", query, max_keys)
        for (entries, truncated), (following, _) in zip(pages, pages[1:]):
            if truncated and not following:
                failures.append((query, max_keys, entries, "truncated, then an empty page"))
        seen = [e for entries, _ in pages for e in entries]
        assert not [e for e in seen if "region=us" in e or e.endswith(".crc")], seen
    assert not failures, failures
