"""Sealed continuation tokens: opaque, bound to the principal and the policy version. A token is
usable by whoever got it, through either listener; another principal's, an edited or a forged
token is refused as S3 refuses a bad token (400 InvalidArgument), and so is one minted before the
policies changed."""

import base64
import shutil
import time

import botocore.exceptions
import pytest

from conftest import REPO, start_stack
from gateway import DAY, KEYS, client_error, http, keys_under, s3_client, s3_error


def _first_page(s3, prefix="sales/", max_keys=1):
    resp = s3.list_objects_v2(Bucket="immuta", Prefix=prefix, MaxKeys=max_keys)
    assert resp["IsTruncated"] is True
    return resp


def _refused(s3, token, prefix="sales/"):
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.list_objects_v2(Bucket="immuta", Prefix=prefix, ContinuationToken=token)
    assert client_error(exc) == (400, "InvalidArgument"), token
    return exc.value.response


def test_token_resumes_for_its_principal(clients, root_endpoint, demo_dir):
    page = _first_page(clients["alice"], DAY, max_keys=500)
    token = page["NextContinuationToken"]
    expected = keys_under(demo_dir, DAY, ["events"])[500:1000]
    resp = clients["alice"].list_objects_v2(Bucket="immuta", Prefix=DAY, ContinuationToken=token,
                                            MaxKeys=500)
    assert [o["Key"] for o in resp["Contents"]] == expected
    assert resp["ContinuationToken"] == token  # echoed as sent
    # The same gateway at the root port opens it too, and the same token works twice.
    again = s3_client(root_endpoint, KEYS["alice"]).list_objects_v2(
        Bucket="immuta", Prefix=DAY, ContinuationToken=token, MaxKeys=500)
    assert [o["Key"] for o in again["Contents"]] == expected


def test_token_is_opaque(clients):
    token = _first_page(clients["alice"])["NextContinuationToken"]
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    for readable in (b"sales", b"region", b"part-", b"s3gate"):
        assert readable not in raw


@pytest.mark.parametrize("minted_by, used_by", [("alice", "bob"), ("carol", "alice"),
                                                ("bob", "carol")])
def test_token_of_another_principal_is_refused(clients, minted_by, used_by):
    token = _first_page(clients[minted_by])["NextContinuationToken"]
    _refused(clients[used_by], token)


def test_edited_and_forged_tokens_are_refused(clients, endpoint):
    s3 = clients["alice"]
    token = _first_page(s3)["NextContinuationToken"]
    flipped = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    plain = base64.urlsafe_b64encode(b"s3gate1:sales/region=us/").decode().rstrip("=")
    for bad in (flipped, token[:-2], token + "AA", plain, "not-a-token", "%%%", "x" * 5000):
        _refused(s3, bad)
    resp = http(endpoint, "GET", "/s3p/immuta?list-type=2&continuation-token=", key=KEYS["alice"])
    assert resp.status == 400 and s3_error(resp)[0] == "InvalidArgument"


def test_error_for_a_bad_token_is_s3s(clients):
    response = _refused(clients["alice"], "bm90LWEtdG9rZW4")
    assert response["Error"]["Message"] == "The continuation token provided is incorrect"


def test_tokens_do_not_survive_a_policy_change(demo_dir, tmp_path_factory):
    # A stack of its own over a copy of the policies with a short decision TTL, so an edit
    # reaches the gateway quickly.
    policies = tmp_path_factory.mktemp("policies")
    for path in (REPO / "policies").glob("*.yaml"):
        shutil.copy(path, policies / path.name)
    rules = policies / "rules.yaml"
    text = rules.read_text()
    assert "decision_ttl_seconds: 60" in text
    rules.write_text(text.replace("decision_ttl_seconds: 60", "decision_ttl_seconds: 1"))
    lone = start_stack(demo_dir, tmp_path_factory.mktemp("run-tokens"), policies=policies)
    try:
        s3 = s3_client(lone.endpoint, KEYS["alice"])
        token = _first_page(s3)["NextContinuationToken"]
        s3.list_objects_v2(Bucket="immuta", Prefix="sales/", ContinuationToken=token)
        # An edit that changes nothing alice may see still changes the policy version.
        rules.write_text(rules.read_text() + "\n# edited\n")
        deadline = time.monotonic() + 15  # the service polls its files every few seconds
        while True:
            try:
                s3.list_objects_v2(Bucket="immuta", Prefix="sales/", ContinuationToken=token)
            except botocore.exceptions.ClientError as err:
                assert err.response["Error"]["Code"] == "InvalidArgument"
                break
            assert time.monotonic() < deadline, "a token minted under old policies still opens"
            time.sleep(0.5)
        # A fresh listing works and mints tokens that open.
        fresh = _first_page(s3)["NextContinuationToken"]
        assert s3.list_objects_v2(Bucket="immuta", Prefix="sales/", ContinuationToken=fresh)
    finally:
        lone.stop()
