"""Before any DVC transfer a node checks the ASH remote with a pinned client that answers in seconds.

DVC's own clients retry a bad host for ~90 s and report only "failed to pull"; in a pod that is a silent,
slow failure. Checked against Azurite behind the ASH gate (rejects API versions newer than 2019-07-07).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ml.edge.node import check_remote
from ml.errors import EdgeTrainError
from ml.storage.pin import Pin
from tests.conftest import require_tool
from tests.harness.servers import Stack, account_sas, free_port, running_stack

pytestmark = pytest.mark.integration

CONTAINER = "edge-node"
PINNED = Pin("2019-07-07", None)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_tool("azurite-blob", "bash tests/tools/install.sh (npm azurite@3.35.0)")
    with running_stack(tmp_path_factory.mktemp("ash")) as running:
        from azure.storage.blob import BlobServiceClient

        BlobServiceClient.from_connection_string(
            running.connection_string(), api_version="2019-07-07"
        ).create_container(CONTAINER)
        yield running


def sas_connection(stack: Stack, expiry: datetime) -> str:
    return f"BlobEndpoint={stack.blob_endpoint};SharedAccessSignature={account_sas(expiry)}"


def refused(conn: str, pin: Pin) -> EdgeTrainError:
    started = time.monotonic()
    with pytest.raises(EdgeTrainError) as raised:
        check_remote(conn, f"azure://{CONTAINER}", pin)
    assert time.monotonic() - started < 10
    return raised.value


def test_a_valid_sas_with_the_pin_passes(stack: Stack) -> None:
    check_remote(
        sas_connection(stack, datetime.now(UTC) + timedelta(hours=1)), f"azure://{CONTAINER}", PINNED
    )


def test_an_expired_sas_names_the_fix_before_any_request(stack: Stack) -> None:
    error = refused(sas_connection(stack, datetime.now(UTC) - timedelta(hours=1)), PINNED)
    assert "expired" in error.message and "new SAS token" in error.hint


def test_the_pin_disabled_is_named_with_the_setting_that_fixes_it(stack: Stack) -> None:
    error = refused(sas_connection(stack, datetime.now(UTC) + timedelta(hours=1)), Pin(None, None))
    assert "API version" in error.message and "2019-07-07" in error.hint


def test_a_wrong_endpoint_fails_in_seconds(stack: Stack, tmp_path: Path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/devstoreaccount1"
    sas = account_sas(datetime.now(UTC) + timedelta(hours=1))
    error = refused(f"BlobEndpoint={nobody};SharedAccessSignature={sas}", PINNED)
    assert "127.0.0.1" in error.message and "doctor" in error.hint


def test_a_secret_that_is_not_a_connection_string_is_named_without_echoing_it(stack: Stack) -> None:
    error = refused("sv=2019-07-07&sig=abc", PINNED)
    assert "sig=abc" not in str(error)
