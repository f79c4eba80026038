"""The ASH gate's rule, on its own: which requests ASH refuses, and the answer it gives them."""

from __future__ import annotations

from tests.harness.ash_gate import ASH_MAX_API_VERSION, rejection, too_new


def test_the_newest_version_ash_accepts_passes() -> None:
    assert too_new({"x-ms-version": "2019-07-07"}, {}, ASH_MAX_API_VERSION) is None


def test_older_versions_and_requests_without_a_version_pass() -> None:
    assert too_new({"x-ms-version": "2017-11-09"}, {"sv": "2018-03-28"}, ASH_MAX_API_VERSION) is None
    assert too_new({}, {}, ASH_MAX_API_VERSION) is None


def test_a_newer_header_version_is_refused() -> None:
    assert too_new({"x-ms-version": "2026-10-06"}, {}, ASH_MAX_API_VERSION) == ("x-ms-version", "2026-10-06")


def test_a_sas_signed_with_a_newer_version_is_refused_even_with_an_old_header() -> None:
    refused = too_new({"x-ms-version": "2019-07-07"}, {"sv": "2021-08-06"}, ASH_MAX_API_VERSION)
    assert refused == ("sv", "2021-08-06")


def test_the_refusal_is_the_400_invalid_header_value_ash_sends() -> None:
    response = rejection("x-ms-version", "2026-10-06")
    assert response.status == 400
    assert response.headers["x-ms-error-code"] == "InvalidHeaderValue"
    assert "<Code>InvalidHeaderValue</Code>" in response.text
    assert "<HeaderName>x-ms-version</HeaderName><HeaderValue>2026-10-06</HeaderValue>" in response.text
