"""The emulated ASH endpoint can speak HTTPS with a private CA, as real ASH endpoints often do."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.harness.servers import running_stack

pytestmark = pytest.mark.integration


def test_the_gate_serves_https_from_a_private_ca_and_still_refuses_new_api_versions(tmp_path: Path) -> None:
    from azure.core.exceptions import HttpResponseError, ServiceRequestError
    from azure.storage.blob import BlobServiceClient

    require_tool("azurite-blob", "bash tests/tools/install.sh (npm azurite@3.35.0)")
    with running_stack(tmp_path, tls=True) as stack:
        assert stack.blob_endpoint.startswith("https://") and stack.ca is not None
        pinned = BlobServiceClient.from_connection_string(
            stack.connection_string(), api_version="2019-07-07", connection_verify=str(stack.ca)
        )
        pinned.create_container("tls").upload_blob("a.txt", b"hello")
        with pytest.raises(ServiceRequestError, match="CERTIFICATE_VERIFY_FAILED"):
            BlobServiceClient.from_connection_string(
                stack.connection_string(), api_version="2019-07-07", retry_total=0
            ).get_container_client("tls").get_container_properties()
        newest = BlobServiceClient.from_connection_string(
            stack.connection_string(), connection_verify=str(stack.ca), retry_total=0
        )
        with pytest.raises(HttpResponseError, match="InvalidHeaderValue"):
            newest.get_container_client("tls").get_container_properties()
        assert pinned.get_blob_client("tls", "a.txt").download_blob().readall() == b"hello"
