"""Contract tests: the HTTP requests `edge-train submit` makes through azure-ai-ml, against a fake Azure.

Nothing leaves the process: the socket guard stays on, the credential is fake, and the fake answers with JSON
shaped like Azure ML's. What is checked is what would go on the wire: the job body, the code snapshot, and how
each failure Azure can report reaches the user.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ml.azure.job import build_pipeline_job
from ml.azure.submit import download_returned, follow, submit
from ml.config import Settings
from ml.errors import EdgeTrainError
from ml.lineage import EDGE_RUN_FILE, content_hash, edge_run
from ml.params import load_params
from tests.conftest import REPO_ROOT

from .fake_azure import FakeAzure

PIPELINE = Path("pipelines/train.yml")


@pytest.fixture
def submitted(with_local_state: Path, settings: Settings, fake_azure: FakeAzure, ml_client):
    job = build_pipeline_job(with_local_state, settings, PIPELINE)
    return submit(ml_client, job, with_local_state)


def test_create_sends_the_pipeline_to_the_edge_compute_with_params_and_tags(
    submitted, fake_azure: FakeAzure
) -> None:
    (put,) = fake_azure.job_puts()
    body = put.body["properties"]

    assert put.path.startswith("https://management.azure.com/subscriptions/")
    assert body["jobType"] == "Pipeline"
    assert body["settings"]["default_compute"].endswith("/computes/ash-k3s")
    assert body["experimentName"] == "breast-cancer-classifier"
    train_c = str(load_params(REPO_ROOT).train.C)  # the checkout's value (a fork may change it)
    assert body["inputs"]["train_C"] == {"jobInputType": "literal", "value": train_c}
    assert set(body["tags"]) >= {"edge_train.git_commit", "edge_train.data_hash", "edge_train.params_hash"}
    # Data moves only between the pods and ASH (ml/edge/node.py): Azure ML's data runtime never mounts ASH.
    assert "ash_blob" not in str(body["jobs"])
    assert body["jobs"]["prepare"]["environment_variables"]["EDGE_TRAIN_DVC_REMOTE"] == "ash"
    assert set(body["outputs"]) == {"model", "metrics", "plots", "portable"}
    assert submitted.name == put.path.rsplit("/", 1)[1]


def test_the_code_snapshot_holds_no_data_secrets_or_local_state(
    submitted,
    fake_azure: FakeAzure,
    with_local_state: Path,
) -> None:
    files = fake_azure.snapshot_files(with_local_state.name)

    assert "ml/edge/node.py" in files and "data.dvc" in files and ".dvc/config" in files
    assert not [f for f in files if f.startswith(("data/", ".venv/", ".git/", "tests/"))]
    assert "mlflow.db" not in files and ".dvc/config.local" not in files


def test_no_request_carries_the_storage_secret(submitted, fake_azure: FakeAzure) -> None:
    assert not [r for r in fake_azure.requests if "planted-secret-7f3a" in str(r.body)]


@pytest.mark.parametrize(
    ("status", "code", "message", "expected"),
    [
        (401, "InvalidAuthenticationToken", "The access token is invalid.", "refused the credentials"),
        (
            403,
            "AuthorizationFailed",
            "The client does not have authorization to perform action",
            "refused the credentials",
        ),
        (400, "UserError", "Compute ash-k3s: ComputeNotFound", "edge compute is not reachable"),
        (
            400,
            "QuotaExceeded",
            "Requested 16 cores exceed the limit of instance type defaultinstancetype",
            "not enough quota",
        ),
        (
            400,
            "UserErrorDatastoreNotFound",
            "Could not find datastore ash_blob",
            "edge datastore does not exist",
        ),
    ],
)
def test_create_failures_become_one_clear_error(
    with_local_state: Path,
    settings: Settings,
    fake_azure: FakeAzure,
    ml_client,
    status: int,
    code: str,
    message: str,
    expected: str,
) -> None:
    fake_azure.fail("PUT", r"/jobs/[^/]+$", status, code, message)
    job = build_pipeline_job(with_local_state, settings, PIPELINE)

    with pytest.raises(EdgeTrainError) as raised:
        submit(ml_client, job, with_local_state)

    assert raised.value.message.startswith("submit failed: ")
    assert expected in raised.value.message and code in raised.value.message
    assert raised.value.hint


def test_follow_reports_each_status_until_completed(fake_azure: FakeAzure, ml_client, capsys) -> None:
    fake_azure.job_states = ["NotStarted", "Running", "Running", "Completed"]

    job = follow(ml_client, "gentle_job_1", poll_seconds=0, sleep=lambda _: None)

    assert job.status == "Completed"
    out = capsys.readouterr().out
    assert out.index("NotStarted") < out.index("Running") < out.index("Completed")
    assert out.count("Running") == 1


@pytest.mark.parametrize(
    ("error", "expected"),  # the run-history error of the failed run
    [
        (
            {"code": "QuotaExceeded", "message": "Requested 8 cores, the instance type allows 4"},
            "not enough quota",
        ),
        (
            {"code": "UserError", "message": "Compute ash-k3s is Disconnected: no heartbeat for 15 minutes"},
            "edge compute is not reachable",
        ),
        (
            {"code": "UserErrorDatastoreNotFound", "message": "Datastore not found: ash_blob"},
            "edge datastore does not exist",
        ),
    ],
)
def test_a_failed_job_names_the_cause_and_links_the_portal(
    fake_azure: FakeAzure,
    ml_client,
    error: dict[str, str],
    expected: str,
) -> None:
    fake_azure.job_states = ["Running", "Failed"]
    fake_azure.run_error = error

    with pytest.raises(EdgeTrainError) as raised:
        follow(ml_client, "gentle_job_2", poll_seconds=0, sleep=lambda _: None)

    assert expected in raised.value.message
    assert f"({error['code']}: {error['message']})" in raised.value.message
    assert "https://ml.azure.com/runs/gentle_job_2" in raised.value.message


def test_download_brings_model_metrics_plots_and_the_portable_model_to_the_local_run_paths(
    tmp_path: Path, fake_azure: FakeAzure, ml_client
) -> None:
    fake_azure.job_outputs = {
        # MLflow writes an empty requirements.txt for a model with no extra pip requirements.
        "model": (
            "uri_folder",
            {"MLmodel": b"flavors: {}", "model.skops": b"weights", "requirements.txt": b""},
        ),
        "metrics": ("uri_file", {"metrics.json": b'{"roc_auc": 0.99}'}),
        "plots": ("uri_folder", {"roc.json": b"[]", "confusion.json": b"[]"}),
        "portable": ("uri_folder", {"model.onnx": b"onnx", "parity.json": b'{"status": "passed"}'}),
    }
    (tmp_path / "artifacts" / "model").mkdir(parents=True)
    (tmp_path / "artifacts" / "model" / "from-an-older-run.pkl").write_text("old")

    download_returned(ml_client, "gentle_job_3", tmp_path)

    model = tmp_path / "artifacts" / "model"
    assert sorted(p.name for p in model.iterdir()) == ["MLmodel", "model.skops", "requirements.txt"]
    assert (model / "requirements.txt").read_bytes() == b""
    assert (tmp_path / "reports" / "metrics.json").read_text() == '{"roc_auc": 0.99}'
    assert sorted(p.name for p in (tmp_path / "reports" / "plots").iterdir()) == [
        "confusion.json",
        "roc.json",
    ]
    assert sorted(p.name for p in (tmp_path / "artifacts" / "portable").iterdir()) == [
        "model.onnx",
        "parity.json",
    ]
    assert not list(tmp_path.glob(".edge-train-download-*"))
    returned = content_hash(tmp_path / "artifacts" / "model")
    assert edge_run(tmp_path, returned) == "gentle_job_3", "the release steps learn which job trained it"


def test_a_download_missing_an_output_fails_clearly_and_changes_no_local_file(
    tmp_path: Path, fake_azure: FakeAzure, ml_client
) -> None:
    fake_azure.job_outputs = {
        "model": ("uri_folder", {"MLmodel": b"flavors: {}"}),
        "plots": ("uri_folder", {"roc.json": b"[]"}),
    }
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "metrics.json").write_text('{"roc_auc": 0.5}')
    (tmp_path / "artifacts" / "model").mkdir(parents=True)
    (tmp_path / "artifacts" / "model" / "MLmodel").write_text("the previous model")

    with pytest.raises(EdgeTrainError, match="no metrics output"):
        download_returned(ml_client, "gentle_job_4", tmp_path)

    assert (tmp_path / "reports" / "metrics.json").read_text() == '{"roc_auc": 0.5}'
    assert (tmp_path / "artifacts" / "model" / "MLmodel").read_text() == "the previous model"
    assert not (tmp_path / EDGE_RUN_FILE).exists(), "no job is named as the previous model's edge run"
