"""Create the remote's container when it is missing: `dvc push` does not, and fails obscurely without it."""

from __future__ import annotations

from urllib.parse import urlsplit

from ml import console
from ml.storage.client import service_client
from ml.storage.diagnose import explain_response, explain_unreachable
from ml.storage.pin import Pin


def ensure_container(conn_str: str, container: str, pin: Pin, uses_sas: bool) -> None:
    from azure.core.exceptions import AzureError, HttpResponseError, ResourceExistsError

    client = service_client(conn_str, pin).get_container_client(container)
    try:
        client.create_container()
    except ResourceExistsError:
        console.skipped(f"create container '{container}'", "it exists")
        return
    except HttpResponseError as exc:
        if exc.status_code == 403:
            from ml.errors import EdgeTrainError

            raise EdgeTrainError(
                f"the credential may not create the container '{container}' ({exc.error_code or 403})",
                hint="create the container in the ASH portal (or with an account key), or use a SAS token "
                "with service scope and the create permission; then run this again",
            ) from None
        raise explain_response(
            exc, container=container, uses_sas=uses_sas, api_version=pin.api_version
        ) from None
    except AzureError as exc:  # no HTTP answer: refused, timed out, TLS
        raise explain_unreachable(urlsplit(client.url).hostname or client.url, exc) from None
    console.done(f"created container '{container}'")
