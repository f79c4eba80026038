"""Remote settings to connection strings, and storage answers to messages that say what to fix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from azure.core.exceptions import HttpResponseError

from ml.config import StorageSettings
from ml.errors import EdgeTrainError
from ml.storage.diagnose import check_sas, explain_response
from ml.storage.remote import (
    Credential,
    account_name,
    blob_endpoint,
    connection_string,
    credential_from_env,
    parse_connection_string,
)


def test_the_endpoint_is_built_from_account_and_ash_suffix() -> None:
    storage = StorageSettings(account="acct", endpoint_suffix="local.azurestack.external")
    assert blob_endpoint(storage) == "https://acct.blob.local.azurestack.external"


def test_a_blob_endpoint_wins_and_path_style_endpoints_name_their_account() -> None:
    storage = StorageSettings(blob_endpoint="http://127.0.0.1:10000/devstoreaccount1/")
    endpoint = blob_endpoint(storage)
    assert endpoint == "http://127.0.0.1:10000/devstoreaccount1"
    assert account_name(storage, endpoint) == "devstoreaccount1"


def test_a_missing_suffix_names_the_key_to_set() -> None:
    with pytest.raises(EdgeTrainError, match=r"storage\.endpoint_suffix is not set"):
        blob_endpoint(StorageSettings(account="acct"))


def test_connection_strings_carry_the_endpoint_and_the_credential() -> None:
    endpoint = "https://acct.blob.local.azurestack.external"
    key = parse_connection_string(connection_string(endpoint, "acct", Credential("key", "a2V5==")))
    assert key == {
        "DefaultEndpointsProtocol": "https",
        "AccountName": "acct",
        "AccountKey": "a2V5==",
        "BlobEndpoint": endpoint,
    }
    sas = parse_connection_string(
        connection_string(endpoint, "acct", Credential("sas", "?sv=2019-07-07&sig=s"))
    )
    assert sas == {"BlobEndpoint": endpoint, "SharedAccessSignature": "sv=2019-07-07&sig=s"}


def test_a_credential_never_shows_its_secret() -> None:
    assert "hunter2" not in repr(Credential("key", "hunter2"))


def test_entra_id_is_refused_because_ash_storage_has_none(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(EdgeTrainError, match="no Entra ID"):
        credential_from_env("entra")


def test_credentials_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_STORAGE_SAS_TOKEN", raising=False)
    monkeypatch.setenv("AZURE_STORAGE_KEY", "a2V5")
    assert credential_from_env(None) == Credential("key", "a2V5")
    assert credential_from_env("sas") is None


def test_an_account_key_that_is_not_base64_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AZURE_STORAGE_SAS_TOKEN", raising=False)
    monkeypatch.setenv("AZURE_STORAGE_KEY", "not base64!")
    with pytest.raises(EdgeTrainError, match="AZURE_STORAGE_KEY: the account key is not valid base64"):
        credential_from_env(None)


def test_sas_tokens_are_checked_before_use() -> None:
    with pytest.raises(EdgeTrainError, match="malformed"):
        check_sas("just-some-text")
    past = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with pytest.raises(EdgeTrainError, match="expired"):
        check_sas(f"sv=2019-07-07&se={past}&sig=abc")
    check_sas("sv=2019-07-07&se=2099-01-01T00:00:00Z&sig=abc")


def storage_error(status: int, code: str) -> HttpResponseError:
    error = HttpResponseError(message=code)
    error.status_code = status
    error.error_code = code
    return error


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "InvalidHeaderValue", 'set api_version = "2019-07-07"'),
        (403, "AuthenticationFailed", "refused the account key"),
        (404, "ContainerNotFound", "'data' does not exist"),
    ],
)
def test_storage_answers_become_fix_it_messages(status: int, code: str, expected: str) -> None:
    error = explain_response(
        storage_error(status, code), container="data", uses_sas=False, api_version="2021-08-06"
    )
    assert expected in str(error)
