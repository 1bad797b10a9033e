"""The listing budget end to end: a run of more hidden keys than one request may read (50 store
pages of 1,000) costs each v1 and v2 request at most 50 upstream calls, and the pages, resumed as
boto3 resumes them, still add up to the visible listing."""

import gen_demo_data
import pytest

from conftest import start_stack
from gateway import KEYS, http

RUN = "events/hidden-run/"
HIDDEN = 52_000  # > 50 pages of 1,000
BUDGET = 50


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    root = tmp_path_factory.mktemp("budget") / "data"
    gen_demo_data.ensure(root)
    folder = root / "acme-warehouse-prod" / "raw" / RUN
    folder.mkdir(parents=True)
    for i in range(HIDDEN):
        (folder / f"x-{i:06}.crc").touch()  # hidden from alice by `*.crc`
    (folder / "zz.csv").write_text("a\n")
    # rclone's default listing cache: with the stack's 1 s, each of the 50 store pages would
    # rescan the 52,000-file folder.
    s = start_stack(root, tmp_path_factory.mktemp("run-budget"), upstream_dir_cache="5m")
    yield s
    s.stop()


def upstream_calls(stack):
    return stack.stat("cluster.s3_demo.upstream_rq_total")


@pytest.mark.parametrize("v2", [False, True])
def test_one_request_reads_at_most_the_budget(stack, v2):
    query = "list-type=2&" if v2 else ""
    resume, keys, calls = "", [], []
    for _ in range(5):
        before = upstream_calls(stack)
        resp = http(stack.endpoint, "GET",
                    f"/s3p/immuta?{query}prefix={RUN}&max-keys=1000{resume}", key=KEYS["alice"])
        calls.append(upstream_calls(stack) - before)
        assert resp.status == 200, resp.body
        body = resp.body.decode()
        assert ".crc" not in body
        keys += [k.split("</Key>")[0] for k in body.split("<Key>")[1:]]
        if "<IsTruncated>false</IsTruncated>" in body:
            break
        name = "NextContinuationToken" if v2 else "NextMarker"
        token = body.split(f"<{name}>")[1].split("<")[0]
        resume = f"&{'continuation-token' if v2 else 'marker'}={token}"
    assert keys == [f"{RUN}zz.csv"]
    assert max(calls) <= BUDGET, calls
    assert len(calls) == 2, calls
