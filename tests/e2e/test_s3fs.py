"""s3fs (fsspec) and pandas, as a data team uses them: `s3://immuta/...` URLs with
`storage_options` naming the gateway. s3fs runs on aiobotocore; its responses are recorded for
the leak check like boto3's."""

import io

import aiobotocore.session
import pandas as pd
import pytest
import s3fs

from gateway import DAY, KEYS, SECRET, disk_file, keys_under, record_response_dicts, view_of


@pytest.fixture(scope="module")
def storage_options(endpoint):
    def options(principal="alice"):
        session = aiobotocore.session.AioSession()
        record_response_dicts(session)
        return {"key": KEYS[principal], "secret": SECRET, "session": session,
                "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"},
                "skip_instance_cache": True}
    return options


@pytest.fixture(scope="module")
def fs(storage_options):
    return s3fs.S3FileSystem(**storage_options())


def test_pandas_read_csv(storage_options, demo_dir):
    key = "sales/region=eu/part-00000.csv"
    df = pd.read_csv(f"s3://immuta/{key}", storage_options=storage_options())
    expected = pd.read_csv(disk_file(demo_dir, key))
    pd.testing.assert_frame_equal(df, expected)
    assert len(df) > 10


def test_pandas_read_json_lines(storage_options, demo_dir, mask_secret):
    key = f"{DAY}part-00042.jsonl"
    df = pd.read_json(f"s3://immuta/{key}", lines=True, storage_options=storage_options("carol"))
    expected = pd.read_json(io.BytesIO(disk_file(demo_dir, key).read_bytes()), lines=True)
    pd.testing.assert_frame_equal(df, expected)
    # alice reads her view: user_id hashed (strings), every other column as stored.
    df = pd.read_json(f"s3://immuta/{key}", lines=True, storage_options=storage_options())
    view = view_of(demo_dir, "alice", key, mask_secret)
    pd.testing.assert_frame_equal(df, pd.read_json(io.BytesIO(view), lines=True))
    assert df["user_id"].str.fullmatch("[0-9a-f]{64}").all()
    pd.testing.assert_frame_equal(df.drop(columns="user_id"), expected.drop(columns="user_id"))


def test_find_lists_exactly_the_visible_keys(fs, demo_dir):
    assert fs.find("immuta/sales") == [
        f"immuta/{k}" for k in keys_under(demo_dir, "sales/", ["sales"])]
    assert fs.find("immuta/" + DAY) == [f"immuta/{k}" for k in keys_under(demo_dir, DAY,
                                                                            ["events"])]


def test_find_as_bob(storage_options, demo_dir):
    bob = s3fs.S3FileSystem(**storage_options("bob"))
    assert bob.find("immuta/sales") == [
        f"immuta/{k}" for k in keys_under(demo_dir, "sales/region=eu/", ["sales"])]
    assert bob.ls("immuta") == ["immuta/sales"]


def test_ls_info_and_exists(fs, demo_dir):
    assert fs.ls("immuta") == ["immuta/customers", "immuta/events", "immuta/orders",
                               "immuta/purchases", "immuta/sales"]
    assert fs.ls("immuta/sales") == ["immuta/sales/region=eu", "immuta/sales/region=us"]
    assert fs.isdir("immuta/events/2026-11-03")
    key = "sales/region=us/part-00001.csv"
    info = fs.info(f"immuta/{key}")
    assert info["type"] == "file" and info["size"] == disk_file(demo_dir, key).stat().st_size
    assert fs.exists(f"immuta/{key}")
    assert not fs.exists("immuta/sales/_SUCCESS")  # housekeeping: hidden from analysts
    assert not fs.exists("immuta/documents")


def test_ranged_reads(storage_options, demo_dir):
    key = "documents/large scan.bin"
    carol = s3fs.S3FileSystem(**storage_options("carol"))
    data = disk_file(demo_dir, key).read_bytes()
    assert carol.cat_file(f"immuta/{key}", start=1000, end=1100) == data[1000:1100]
    with carol.open(f"immuta/{key}", "rb", block_size=1 << 20) as f:
        f.seek(len(data) - 5000)
        assert f.read() == data[-5000:]
