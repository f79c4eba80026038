"""The ASH gate in front of Azurite: refuses what ASH refuses, forwards the rest intact, logs each request."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError, ServiceResponseError
from azure.storage.blob import BlobServiceClient

from tests.harness.ash_gate import ASH_MAX_API_VERSION
from tests.harness.servers import AshGate, Stack, account_sas

pytestmark = pytest.mark.integration


def client(stack: Stack, **kwargs: object) -> BlobServiceClient:
    return BlobServiceClient.from_connection_string(stack.connection_string(), retry_total=0, **kwargs)


def test_a_client_pinned_to_2019_07_07_reads_back_exactly_what_it_wrote(stack: Stack) -> None:
    container = client(stack, api_version=ASH_MAX_API_VERSION).create_container(f"g{uuid.uuid4().hex[:10]}")
    payload = os.urandom(3 * 1024 * 1024 + 17)  # more than one proxy chunk, odd size
    container.upload_blob("blob", payload)
    assert container.download_blob("blob").readall() == payload
    assert container.get_blob_client("blob").get_blob_properties().size == len(
        payload
    )  # HEAD keeps its length


def test_the_sdk_default_version_gets_ashs_400_invalid_header_value(stack: Stack) -> None:
    with pytest.raises(HttpResponseError) as refused:
        client(stack).create_container(f"g{uuid.uuid4().hex[:10]}")
    assert refused.value.status_code == 400
    assert refused.value.error_code == "InvalidHeaderValue"


def test_a_sas_signed_with_a_newer_version_is_refused(stack: Stack) -> None:
    sas = account_sas(datetime.now(UTC) + timedelta(hours=1), version="2021-08-06")
    service = BlobServiceClient(
        stack.blob_endpoint, credential=sas, api_version=ASH_MAX_API_VERSION, retry_total=0
    )
    with pytest.raises(HttpResponseError) as refused:
        service.get_container_client("any").get_container_properties()
    assert refused.value.status_code == 400


def test_the_log_records_each_request_with_its_version_status_and_bytes(stack: Stack) -> None:
    before = len(stack.gate.requests())
    container = client(stack, api_version=ASH_MAX_API_VERSION).create_container(f"g{uuid.uuid4().hex[:10]}")
    container.upload_blob("b", b"x" * 1234)
    logged = _wait_for_log_entries(stack, before, 2)
    assert [(r["method"], r["x_ms_version"], r["status"]) for r in logged] == [
        ("PUT", ASH_MAX_API_VERSION, 201),
        ("PUT", ASH_MAX_API_VERSION, 201),
    ]
    assert logged[-1]["bytes_in"] == 1234


def test_an_unreachable_upstream_is_a_502_not_a_hang(tmp_path: Path) -> None:
    from tests.harness.servers import free_port

    gate = AshGate(upstream=f"http://127.0.0.1:{free_port()}", log=tmp_path / "gate.jsonl")
    gate.start()
    try:
        service = BlobServiceClient(
            f"{gate.url}/devstoreaccount1", api_version=ASH_MAX_API_VERSION, retry_total=0
        )
        with pytest.raises((HttpResponseError, ServiceResponseError)) as failed:
            service.get_container_client("c").get_container_properties()
        assert getattr(failed.value, "status_code", 502) == 502
    finally:
        gate.stop()


def _wait_for_log_entries(stack: Stack, before: int, count: int) -> list[dict[str, object]]:
    """The gate logs a request after answering it, so the client can be faster than the log line."""
    deadline = time.monotonic() + 5
    while len(logged := stack.gate.requests()[before:]) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return logged
