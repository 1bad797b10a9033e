"""Nothing real (a bucket or prefix) reaches a client, over the whole suite. Every test is
already checked on its own (conftest.no_leaks); this file runs last and checks that the
recorder really saw the suite."""

import pytest

from gateway import RECORDER


def test_no_response_of_the_suite_leaked_real_names():
    responses = RECORDER.responses
    if len(responses) < 50:
        pytest.skip("run with the whole suite")
    assert any(r.what.startswith("boto3") for r in responses)
    assert any(r.what.startswith("http") for r in responses)
    assert any(r.status >= 400 and r.body for r in responses)  # error bodies were seen
    assert any(r.status == 200 and r.body for r in responses)  # and listings
    assert RECORDER.leaks() == []
