"""Faults in a local run's own state and environment, as a user meets them (issue 15).

One fresh clone is run once (`edge-train run`, release included); each case works in its own copy: the
checkout moved to another folder, a fresh clone's MLflow store, an image build with no way to the base
image's registry, a step killed mid-write, a disk that fills while DVC caches, a `reports/` folder the user
may not write. Each must end in success or in one line naming the cause and the fix, with no traceback, and
leave dvc.lock, the data and the previous outputs as they were.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from ml.atomic import TEMP_PREFIX
from tests.conftest import require_command
from tests.integration.clone import edge_train, fresh_clone

pytestmark = pytest.mark.integration

# The base image's registry cannot resolve anywhere (RFC 2606 `.invalid`): the build fails as offline.
UNRESOLVABLE_BASE = "registry.invalid/library/python:3.11-slim"
MISTAKE_S = 20.0  # a mistake caught by a new `python -m ml` process (interpreter and DVC start included)


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    root = fresh_clone(tmp_path_factory.mktemp("faults") / "released")
    (root / "edge-train.toml").write_text(f'[image]\nbase = "{UNRESOLVABLE_BASE}"\n')
    subprocess.run(["git", "add", "edge-train.toml"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-qm", "an unreachable base image"], cwd=root, check=True)
    first = edge_train(root, "run")
    assert first.returncode == 0, first.stdout + first.stderr
    return root, first


def copy_of(released: tuple[Path, object], dest: Path) -> Path:
    shutil.copytree(released[0], dest, symlinks=True)
    return dest


def files(root: Path, *folders: str) -> dict[str, str]:
    """Path → sha256 of every file under `folders` (and of the named files)."""
    found: dict[str, str] = {}
    for name in folders:
        path = root / name
        for file in [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()):
            found[file.relative_to(root).as_posix()] = hashlib.sha256(file.read_bytes()).hexdigest()
    return found


def leftovers(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob(f"{TEMP_PREFIX}*") if ".git" not in p.parts
    )


def change_param(root: Path, stage: str) -> str:
    """Change the first number among `stage`'s params in params.yaml (halve it), so DVC re-runs the stage."""
    path = root / "params.yaml"
    params = yaml.safe_load(path.read_text())
    key, value = next((k, v) for k, v in params[stage].items() if isinstance(v, float) and v > 0)
    params[stage][key] = value / 2
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return f"{stage}.{key}"


def run_env(**extra: str) -> dict[str, str]:
    """The environment `clone.edge_train` gives a command: no tracking URI or root inherited from ours."""
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", **extra}
    for key in ("EDGE_TRAIN_ROOT", "MLFLOW_TRACKING_URI"):
        env.pop(key, None)
    return env


def mlflow_client(root: Path):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")


def step_runs(root: Path, step: str) -> list:
    client = mlflow_client(root)
    experiments = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(experiments, filter_string=f"tags.`edge_train.step` = '{step}'")


def assert_one_line_answer(result: subprocess.CompletedProcess[str]) -> str:
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output[-3000:]
    return output


# --- a fresh clone's MLflow store -------------------------------------------------------------------------


def test_a_fresh_clone_gets_an_evaluate_run_in_mlflow_once(released, tmp_path):
    """DVC restores `evaluate` from the committed metrics on a fresh clone instead of running it: the store
    still gets the run, with the metrics file's numbers, and an unchanged re-run adds none."""
    from ml.step_runs import logged_metrics

    root = released[0]
    runs = step_runs(root, "evaluate")
    assert len(runs) == 1, [r.info.run_name for r in runs]
    written = logged_metrics([root / "reports" / "metrics.json"])  # the numbers; a task's tables stay out
    assert written
    for key, value in written.items():
        assert runs[0].data.metrics[key] == pytest.approx(value, rel=1e-8), key

    again = copy_of(released, tmp_path / "again")
    second = edge_train(again, "run", "--no-release")
    assert second.returncode == 0, assert_one_line_answer(second)
    assert len(step_runs(again, "evaluate")) == 1


# --- the checkout moved ------------------------------------------------------------------------------------


def test_a_moved_checkout_resolves_its_mlflow_artifacts_in_the_new_folder(released, tmp_path):
    original_artifacts = sorted((released[0] / "mlruns").rglob("*"))
    before = copy_of(released, tmp_path / "before")
    after = tmp_path / "elsewhere" / "after"
    after.parent.mkdir()
    before.rename(after)  # `mv`: the clone and its mlflow.db and mlruns/ move together

    result = edge_train(after, "run", "--no-release")
    output = assert_one_line_answer(result)
    assert result.returncode == 0, output[-3000:]
    assert "artifact paths moved" in output

    client = mlflow_client(after)
    for experiment in client.search_experiments():
        assert experiment.artifact_location.startswith(str(after)), experiment.artifact_location
    versions = client.search_model_versions()
    assert versions, "the release registered a model"
    for version in versions:
        assert version.source.startswith(str(after)), version.source
        model = Path(
            client.download_artifacts(version.run_id, "model", str(tmp_path / f"v{version.version}"))
        )
        assert (model / "MLmodel").is_file()
    experiment = client.get_experiment_by_name(versions[0].name)
    new_run = client.create_run(experiment.experiment_id)
    assert new_run.info.artifact_uri.startswith(str(after)), new_run.info.artifact_uri
    assert not before.exists(), "nothing re-creates the old folder"
    assert sorted((released[0] / "mlruns").rglob("*")) == original_artifacts, (
        "no artifact lands in the copy's source"
    )


# --- the image build cannot reach its base -----------------------------------------------------------------


def test_an_offline_image_build_is_one_line_per_run_saying_what_and_why(released, tmp_path):
    again = copy_of(released, tmp_path / "again")
    second = edge_train(again, "run")
    assert second.returncode == 0, assert_one_line_answer(second)
    for output in (released[1].stdout + released[1].stderr, second.stdout + second.stderr):
        lines = [line for line in output.splitlines() if re.search(r"build (the|and push the) image", line)]
        assert len(lines) == 1, output
        assert "registry.invalid" in lines[0] and "edge-train push" in lines[0], lines[0]
        assert "pinging container registry" not in output, "buildah's raw chain, not the reason"
        assert "hint:" not in output


# --- a step killed mid-write -------------------------------------------------------------------------------


def writing(folder: Path) -> bool:
    """Whether a step is writing into `folder` (its temp folder is there); DVC may remove the folder
    between any two looks."""
    try:
        return any(entry.name.startswith(TEMP_PREFIX) for entry in os.scandir(folder))
    except FileNotFoundError:
        return False


@pytest.mark.slow
def test_a_step_killed_mid_write_leaves_nothing_a_later_command_takes_as_output(released, tmp_path):
    """SIGKILL runs no cleanup: the step's temporary folder stays. The next command removes it before DVC
    or the release looks, so it is never hashed, registered or packaged as part of the model."""
    root = copy_of(released, tmp_path / "killed")
    model = root / "artifacts" / "model"
    params = (root / "params.yaml").read_bytes()
    lock = (root / "dvc.lock").read_bytes()
    change_param(root, "train")
    process = subprocess.Popen(
        [sys.executable, "-m", "ml", "run", "--no-release"],
        cwd=root,
        env=run_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the kill takes DVC and the step it started, as a closed terminal does
    )
    deadline = time.monotonic() + 240
    while not writing(model):
        assert process.poll() is None, "the step finished before it could be killed mid-write"
        assert time.monotonic() < deadline, "the train step never started writing the model"
        time.sleep(0.001)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert leftovers(root), "the kill left the step's temporary folder, as it does for a user"
    assert (root / "dvc.lock").read_bytes() == lock, "an interrupted run records nothing"

    (root / "params.yaml").write_bytes(params)  # the user takes the change back and runs again
    rerun = edge_train(root, "run")
    output = assert_one_line_answer(rerun)
    assert rerun.returncode == 0, output[-3000:]
    assert "removed what an interrupted run left behind" in output
    assert "already version 1" in output, "the model's identity must not include the temp folder"
    assert not leftovers(root)
    status = subprocess.run(
        [sys.executable, "-m", "dvc", "status", "-q"], cwd=root, capture_output=True, text=True, check=False
    )
    assert status.returncode == 0, status.stdout + status.stderr


# --- a disk that fills while DVC caches --------------------------------------------------------------------

# Inside a private mount namespace: the checkout's DVC cache moves onto a tmpfs only 64 KiB larger than what
# it holds, so the new model and metrics do not fit. The tmpfs (and everything written to it) vanishes with
# the namespace; the checkout's real cache below it is untouched.
FULL_CACHE = """
set -e
cache="$PWD/.dvc/cache"
held=$(mktemp -d)
cp -a "$cache/." "$held/"
mount -t tmpfs -o size=$(( $(du -sk "$held" | cut -f1) + 64 ))k tmpfs "$cache"
cp -a "$held/." "$cache/"
rm -rf "$held"
exec "$@"
"""


def namespace_or_skip() -> list[str]:
    """`unshare` into a mount namespace as root, or as a user where user namespaces are allowed."""
    return require_command(
        ["unshare", "--mount", "--map-root-user"],
        "needs `unshare` with mount namespaces (root, or unprivileged user namespaces)",
    )


@pytest.mark.slow
def test_a_disk_full_while_caching_keeps_dvc_lock_data_and_outputs(released, tmp_path):
    namespace = namespace_or_skip()
    root = copy_of(released, tmp_path / "full")
    kept = files(root, "dvc.lock", "data.dvc", "data", "artifacts", "reports")
    change_param(root, "train")
    started = time.monotonic()
    result = subprocess.run(
        [*namespace, "sh", "-c", FULL_CACHE, "full-cache", sys.executable, "-m", "ml", "run", "--no-release"],
        cwd=root,
        env=run_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    elapsed = time.monotonic() - started
    output = assert_one_line_answer(result)
    assert result.returncode == 1, output[-3000:]
    assert "no space left" in output and "dvc gc" in output, output[-3000:]
    assert files(root, "dvc.lock", "data.dvc", "data", "artifacts", "reports") == kept
    assert not leftovers(root)
    # Training runs before the cache fills; what must not happen is a wait after the failure.
    assert elapsed < 240, f"took {elapsed:.0f} s"


# --- a reports/ folder the user may not write --------------------------------------------------------------


def as_ordinary_user() -> list[str]:
    """Root ignores file modes: as root the command runs in a user namespace as uid 1000 without
    capabilities (its files, still owned by root outside, then obey their modes); others run it directly."""
    if os.geteuid() != 0:
        return []
    return require_command(
        ["unshare", "--user", "--map-user=1000", "--map-group=1000"],
        "as root, needs `unshare --user --map-user` to drop the power to ignore file modes",
    )


def test_a_read_only_reports_folder_is_one_line_and_nothing_half_written(released, tmp_path):
    user = as_ordinary_user()
    root = copy_of(released, tmp_path / "ro")
    change_param(root, "evaluate")
    kept = files(root, "dvc.lock", "artifacts", "reports")
    (root / "reports").chmod(0o555)
    try:
        started = time.monotonic()
        result = subprocess.run(
            [*user, sys.executable, "-m", "ml", "run", "--no-release"],
            cwd=root,
            env=run_env(HOME=str(tmp_path)),
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        elapsed = time.monotonic() - started
    finally:
        (root / "reports").chmod(0o755)
    output = assert_one_line_answer(result)
    assert result.returncode == 1, output[-3000:]
    assert "reports/ is not writable" in output and "chmod -R u+w reports" in output, output[-3000:]
    assert files(root, "dvc.lock", "artifacts", "reports") == kept
    assert not leftovers(root)
    assert elapsed < MISTAKE_S, f"took {elapsed:.1f} s"
