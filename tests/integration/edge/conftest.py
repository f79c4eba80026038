"""Fixtures for the job emulator's tests: a mount namespace (or skip/fail), and the fake Azure services."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import IN_CI
from tests.harness.azureml.sandbox import SandboxUnavailable, sandbox_prefix
from tests.harness.azureml.services import AzureFakes


@pytest.fixture
def sandbox() -> tuple[str, ...]:
    """The unshare prefix: skips without mount namespaces, fails in CI (the emulator needs them)."""
    try:
        return sandbox_prefix()
    except SandboxUnavailable as exc:
        if IN_CI:
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def fakes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzureFakes]:
    """One set of fakes per test module (starting MLflow's server app takes seconds); runs are per node."""
    secrets = {"ash-storage": "BlobEndpoint=https://x;SharedAccessSignature=s3cr3t"}
    with (
        pytest.MonkeyPatch.context() as patch,
        AzureFakes(tmp_path_factory.mktemp("azure"), secrets=secrets) as running,
    ):
        patch.setenv("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
        yield running
