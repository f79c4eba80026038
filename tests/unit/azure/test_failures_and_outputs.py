"""Failure texts map to causes a user can act on; downloaded outputs land where a local run writes them."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml.azure.failures import classify, explain
from ml.azure.submit import place_output
from ml.errors import EdgeTrainError


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("(QuotaExceeded) Requested cores exceed the limit", "not enough quota on the edge compute"),
        ("Compute edge-k8s is not in a ready state: Disconnected", "the edge compute is not reachable"),
        ("DefaultAzureCredential failed to retrieve a token", "Azure refused the credentials"),
        (
            "UserErrorDatastoreNotFound: datastore not found",
            "the edge datastore does not exist in the workspace",
        ),
    ],
)
def test_known_failures_are_named(text: str, what: str) -> None:
    assert classify(text).what == what


def test_unknown_failures_keep_azures_first_line_and_the_portal_link() -> None:
    error = explain(
        "ImageBuildFailure: conda failed\nlong log...",
        action="pipeline job j1",
        portal_url="https://ml.azure.com/runs/j1",
    )

    assert (
        error.message
        == "pipeline job j1 failed: ImageBuildFailure: conda failed\n  job: https://ml.azure.com/runs/j1"
    )


def test_a_uri_file_output_becomes_the_local_metrics_file(tmp_path: Path) -> None:
    downloaded = tmp_path / "named-outputs" / "metrics"
    downloaded.mkdir(parents=True)
    (downloaded / "metrics").write_text('{"roc_auc": 0.99}')

    place_output(downloaded, tmp_path / "reports" / "metrics.json", is_file=True)

    assert (tmp_path / "reports" / "metrics.json").read_text() == '{"roc_auc": 0.99}'


def test_a_folder_output_replaces_the_local_folder_whole(tmp_path: Path) -> None:
    downloaded = tmp_path / "named-outputs" / "model"
    downloaded.mkdir(parents=True)
    (downloaded / "MLmodel").write_text("flavors: {}")
    local = tmp_path / "artifacts" / "model"
    local.mkdir(parents=True)
    (local / "stale.pkl").write_text("old")

    place_output(downloaded, local, is_file=False)

    assert sorted(p.name for p in local.iterdir()) == ["MLmodel"]


def test_a_missing_output_is_an_error_not_an_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(EdgeTrainError, match="no plots output"):
        place_output(tmp_path / "plots", tmp_path / "reports" / "plots", is_file=False)
    assert not (tmp_path / "reports").exists()
