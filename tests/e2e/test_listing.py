"""boto3 listings as data tools issue them: paginators over a folder of more than two pages with
hidden housekeeping on the page boundaries, resume points, tiny pages, prefixes that end inside
a name, and keys that need encoding."""

import xml.etree.ElementTree as ET
from urllib.parse import quote, unquote_plus

import pytest

from gateway import (ALICE_SOURCES, DAY, KEYS, ODD, S3_NS, disk_file, disk_keys, http,
                     is_housekeeping, keys_under)


def _pages(s3, operation, **kwargs):
    return list(s3.get_paginator(operation).paginate(Bucket="immuta", **kwargs))


@pytest.mark.parametrize("page_size", [100, 333])
@pytest.mark.parametrize("operation", ["list_objects", "list_objects_v2"])
def test_paginator_over_a_big_folder(clients, demo_dir, operation, page_size):
    everything = keys_under(demo_dir, DAY, ["events"], housekeeping=True)
    visible = [k for k in everything if not is_housekeeping(k)]
    assert len(visible) > 2500
    # The data puts hidden keys right after some page's last key, so the gateway has to skip
    # them when it resumes (otherwise this test would prove less than it claims).
    boundaries = visible[page_size - 1::page_size]
    assert any(is_housekeeping(everything[everything.index(k) + 1]) for k in boundaries[:-1])

    pages = _pages(clients["alice"], operation, Prefix=DAY,
                   PaginationConfig={"PageSize": page_size})
    sizes = [len(p.get("Contents", [])) for p in pages]
    keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
    assert keys == visible  # each visible key once, in order; no housekeeping
    assert sizes[:-1] == [page_size] * (len(pages) - 1)  # only the last page may be short
    assert 0 < sizes[-1] <= page_size
    assert [p["IsTruncated"] for p in pages] == [True] * (len(pages) - 1) + [False]
    if operation == "list_objects_v2":
        assert [p["KeyCount"] for p in pages] == sizes


def test_start_after(clients, demo_dir):
    visible = keys_under(demo_dir, DAY, ["events"])
    # Resume after a visible key, after a hidden one and between keys.
    for after, expected in [
        (visible[10], visible[11:]),
        (f"{DAY}part-00007.jsonl.crc", visible[8:]),
        (f"{DAY}part-00020.jsonl~", visible[21:]),
    ]:
        resp = clients["alice"].list_objects_v2(Bucket="immuta", Prefix=DAY, StartAfter=after,
                                                MaxKeys=50)
        assert [o["Key"] for o in resp["Contents"]] == expected[:50], after
        assert resp["IsTruncated"] is True and resp["StartAfter"] == after


def test_max_keys_zero(clients):
    resp = clients["alice"].list_objects_v2(Bucket="immuta", Prefix="sales/", MaxKeys=0)
    assert resp["KeyCount"] == 0 and resp["MaxKeys"] == 0
    assert "Contents" not in resp and "CommonPrefixes" not in resp


@pytest.mark.parametrize("operation", ["list_objects", "list_objects_v2"])
def test_max_keys_one_walks_key_by_key(clients, demo_dir, operation):
    s3 = clients["alice"]
    keys, resume = [], {}
    for _ in range(10):
        resp = getattr(s3, operation)(Bucket="immuta", Prefix="sales/", MaxKeys=1, **resume)
        assert len(resp.get("Contents", [])) == 1
        keys.append(resp["Contents"][0]["Key"])
        if not resp["IsTruncated"]:
            break
        resume = ({"ContinuationToken": resp["NextContinuationToken"]}
                  if operation == "list_objects_v2" else {"Marker": resp["NextMarker"]})
    assert keys == disk_keys(demo_dir, "sales")


def test_prefix_ending_inside_a_name(clients, demo_dir):
    s3 = clients["alice"]
    resp = s3.list_objects_v2(Bucket="immuta", Prefix="sales/region=e")
    assert [o["Key"] for o in resp["Contents"]] == keys_under(demo_dir, "sales/region=eu/",
                                                              ["sales"])
    resp = s3.list_objects_v2(Bucket="immuta", Prefix="sales/region=e", Delimiter="/")
    assert [p["Prefix"] for p in resp["CommonPrefixes"]] == ["sales/region=eu/"]
    assert "Contents" not in resp
    # Inside a data source's name: the data sources themselves roll up.
    resp = s3.list_objects_v2(Bucket="immuta", Prefix="e", Delimiter="/")
    assert [p["Prefix"] for p in resp["CommonPrefixes"]] == ["events/"]
    resp = s3.list_objects_v2(Bucket="immuta", Prefix="events/2026-11-0", Delimiter="/")
    assert [o["Key"] for o in resp["Contents"]] == ["events/2026-11-01.jsonl",
                                                   "events/2026-11-02.jsonl"]
    assert [p["Prefix"] for p in resp["CommonPrefixes"]] == [DAY]


def test_delimiter_slash_pages_mix_keys_and_prefixes(clients, demo_dir):
    # events/ holds two keys and one folder; with MaxKeys=1 each is its own page.
    pages = _pages(clients["alice"], "list_objects_v2", Prefix="events/", Delimiter="/",
                   PaginationConfig={"PageSize": 1})
    names = [o["Key"] for p in pages for o in p.get("Contents", [])]
    names += [c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])]
    assert sorted(names) == ["events/2026-11-01.jsonl", "events/2026-11-02.jsonl", DAY]
    assert len(pages) == 3


@pytest.mark.parametrize("encoding", [None, "url"])
def test_encoding_type_for_awkward_keys(endpoint, demo_dir, encoding):
    expected = keys_under(demo_dir, ODD, ["documents"])
    assert len(expected) == 7
    after = f"{ODD[:-1]}&"  # sorts before every key in the folder; needs encoding too
    query = (f"prefix={quote(ODD, safe='')}&start-after={quote(after, safe='')}"
             + (f"&encoding-type={encoding}" if encoding else ""))
    resp = http(endpoint, "GET", f"/s3p/immuta?list-type=2&{query}", key=KEYS["carol"])
    assert resp.status == 200, resp.body
    root = ET.fromstring(resp.body)
    assert (root.findtext(f"{S3_NS}EncodingType") == "url") is (encoding == "url")
    decode = unquote_plus if encoding == "url" else (lambda text: text)
    assert [decode(k.text) for k in root.iter(f"{S3_NS}Key")] == expected
    assert decode(root.findtext(f"{S3_NS}Prefix")) == ODD
    assert decode(root.findtext(f"{S3_NS}StartAfter")) == after


def test_url_encoded_listing_is_ascii(endpoint):
    resp = http(endpoint, "GET", f"/s3p/immuta?list-type=2&encoding-type=url&prefix="
                f"{quote(ODD, safe='')}", key=KEYS["carol"])
    assert resp.status == 200
    # The point of encoding-type=url: keys that XML 1.0 or the client can't carry survive.
    assert resp.body.isascii()
    assert b"<Key>documents/odd+names/a%2Bb.bin</Key>" in resp.body  # '+' vs space kept apart


@pytest.mark.parametrize("operation", ["list_objects", "list_objects_v2"])
def test_paginating_awkward_keys_one_by_one(clients, demo_dir, operation):
    # Each marker / token names a key with '%', '&', '<', emoji...: they must round-trip.
    pages = _pages(clients["carol"], operation, Prefix=ODD, PaginationConfig={"PageSize": 1})
    keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
    assert keys == keys_under(demo_dir, ODD, ["documents"])


def test_get_and_head_awkward_keys(clients, demo_dir):
    s3 = clients["carol"]
    for key in keys_under(demo_dir, ODD, ["documents"]):
        body = s3.get_object(Bucket="immuta", Key=key)["Body"].read()
        assert body == disk_file(demo_dir, key).read_bytes(), key
        assert s3.head_object(Bucket="immuta", Key=key)["ContentLength"] == len(body), key


# A prefix ending inside a name lists what S3 would, even when that name starts with `.`: the
# visible keys starting with it, none of the hidden `.crc` ones.
@pytest.mark.parametrize("operation", ["list_objects", "list_objects_v2"])
@pytest.mark.parametrize("prefix", [f"{DAY}.", f"{DAY}.p", f"{DAY}..", "sales/region=eu/."])
def test_prefix_ending_in_a_dot(clients, demo_dir, operation, prefix):
    data_source = prefix.split("/")[0]
    everything = keys_under(demo_dir, prefix, [data_source], housekeeping=True)
    want = [k for k in everything if not is_housekeeping(k)]
    pages = _pages(clients["alice"], operation, Prefix=prefix)
    keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
    assert keys == want
    assert not any(k.endswith(".crc") for k in keys)
    if prefix.endswith(".p"):
        assert any(k.endswith(".crc") for k in everything)  # hidden ones are there to skip
