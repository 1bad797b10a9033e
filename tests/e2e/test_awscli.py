"""The AWS CLI (v1, pinned in requirements.txt), run as users run it: `aws s3 ls/cp/sync` with
the gateway as endpoint and the API key as access key, and nothing from this machine's AWS
configuration. Its --debug log holds every response body; the leak check reads it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway import (ALICE_SOURCES, DATA_SOURCES, KEYS, RECORDER, SECRET, Recorded, disk_file,
                     is_housekeeping, keys_under, view_of)

AWS = str(Path(sys.executable).parent / "aws")


@pytest.fixture(scope="module")
def aws(endpoint, tmp_path_factory):
    empty = tmp_path_factory.mktemp("aws") / "empty"
    empty.write_text("")

    def run(*args, principal="alice", check=True):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID=KEYS[principal], AWS_SECRET_ACCESS_KEY=SECRET,
                   AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=str(empty),
                   AWS_SHARED_CREDENTIALS_FILE=str(empty), AWS_EC2_METADATA_DISABLED="true")
        argv = [AWS, "--endpoint-url", endpoint, "--debug", *args]
        done = subprocess.run(argv, env=env, capture_output=True, timeout=120)
        RECORDER.add(Recorded(f"aws {' '.join(args)}", done.returncode, [],
                              done.stdout + done.stderr, sent=" ".join(args)))
        if check:
            assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
        return done.stdout.decode()

    return run


def _ls_lines(output):
    return [line.split() for line in output.splitlines() if line.strip()]


def test_ls_buckets(aws):
    assert [line[-1] for line in _ls_lines(aws("s3", "ls"))] == ["immuta"]


def test_ls_bucket_root(aws):
    assert _ls_lines(aws("s3", "ls", "s3://immuta")) == [
        ["PRE", "customers/"], ["PRE", "events/"], ["PRE", "orders/"], ["PRE", "purchases/"],
        ["PRE", "sales/"]]
    assert _ls_lines(aws("s3", "ls", "s3://immuta", principal="bob")) == [["PRE", "sales/"]]


def test_ls_data_source(aws, demo_dir):
    assert _ls_lines(aws("s3", "ls", "s3://immuta/sales/")) == [
        ["PRE", "region=eu/"], ["PRE", "region=us/"]]
    lines = _ls_lines(aws("s3", "ls", "s3://immuta/sales/region=eu/"))
    expected = keys_under(demo_dir, "sales/region=eu/", ["sales"])
    assert [line[-1] for line in lines] == [k.rsplit("/", 1)[1] for k in expected]
    sizes = [int(line[2]) for line in lines]
    assert sizes == [disk_file(demo_dir, k).stat().st_size for k in expected]


def test_ls_recursive_whole_bucket(aws, demo_dir):
    # More than 3,000 keys: the CLI pages through them with continuation tokens.
    lines = _ls_lines(aws("s3", "ls", "--recursive", "s3://immuta"))
    keys = [line[-1] for line in lines]
    assert keys == keys_under(demo_dir, "", ALICE_SOURCES)
    assert len(keys) > 3000


def test_cp_one_object(aws, demo_dir, tmp_path, mask_secret):
    key = "customers/customers.csv"
    out = tmp_path / "customers.csv"
    aws("s3", "cp", f"s3://immuta/{key}", str(out), principal="carol")
    assert out.read_bytes() == disk_file(demo_dir, key).read_bytes()
    # alice's copy is her masked view, whole.
    aws("s3", "cp", f"s3://immuta/{key}", str(out))
    assert out.read_bytes() == view_of(demo_dir, "alice", key, mask_secret)


def _tree(root):
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in Path(root).rglob("*") if p.is_file()}


def test_sync_data_source(aws, demo_dir, tmp_path):
    # alice gets every region of sales, without Spark's housekeeping files.
    real = demo_dir / DATA_SOURCES["sales"]
    expected = {k: v for k, v in _tree(real).items() if not is_housekeeping(k)}
    aws("s3", "sync", "s3://immuta/sales", str(tmp_path / "alice"))
    assert _tree(tmp_path / "alice") == expected
    # bob only his region (test_abac.py); a second sync has nothing to do.
    aws("s3", "sync", "s3://immuta/sales", str(tmp_path / "bob"), principal="bob")
    assert _tree(tmp_path / "bob") == {k: v for k, v in expected.items()
                                       if k.startswith("region=eu/")}
    assert "download:" not in aws("s3", "sync", "s3://immuta/sales", str(tmp_path / "bob"),
                                  principal="bob")


def test_cp_hidden_object_fails_as_missing(aws, tmp_path):
    out = aws("s3", "cp", "s3://immuta/sales/_SUCCESS", str(tmp_path / "x"), check=False)
    assert out == "" and not (tmp_path / "x").exists()
    assert RECORDER.responses[-1].status != 0
    assert b"404" in RECORDER.responses[-1].body
