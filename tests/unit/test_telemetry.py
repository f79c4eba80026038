"""No usage data leaves the machine: DVC analytics and MLflow telemetry are off in the template itself."""

from __future__ import annotations

import os

import pytest

from tests.conftest import REPO_ROOT


def test_dvc_analytics_is_off_in_the_repository_config() -> None:
    from dvc.config import Config

    config = Config(dvc_dir=str(REPO_ROOT / ".dvc"))  # validated: DVC's own reading of the setting
    assert config["core"]["analytics"] is False


def test_every_process_the_cli_starts_has_telemetry_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from ml.telemetry import TELEMETRY_OFF

    for key in TELEMETRY_OFF:
        monkeypatch.delenv(key, raising=False)
    from ml.dvc import prepare_environment

    prepare_environment()  # the environment DVC's stages (and so every step) inherit
    assert {key: os.environ.get(key) for key in TELEMETRY_OFF} == TELEMETRY_OFF


def test_importing_onnxruntime_leaves_no_device_id_or_telemetry_database(tmp_path) -> None:
    import subprocess
    import sys

    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir(), tmp.mkdir()
    code = "from ml.telemetry import disable_telemetry; disable_telemetry(); import onnxruntime"
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "TMPDIR": str(tmp)}
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, check=True)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["home", "tmp"]


def test_the_image_build_and_server_run_with_onnxruntime_telemetry_off() -> None:
    dockerfile = (REPO_ROOT / "ml" / "serving" / "Dockerfile").read_text()
    env_line = dockerfile.index("ENV ORT_DISABLE_TELEMETRY=1")
    assert env_line < dockerfile.index("RUN "), "set before the install step imports onnxruntime"


def test_mlflow_is_configured_without_telemetry_and_with_bounded_requests(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    from ml.tracking import HTTP_LIMITS, configure_mlflow

    for key in ("MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK", *HTTP_LIMITS):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    configure_mlflow(tmp_path)
    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "true" and os.environ["DO_NOT_TRACK"] == "true"
    assert (
        int(os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"])
        * (int(os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]) + 1)
        < 30
    )
