"""The emulator's parts, each against the behaviour of the service it stands for."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.harness.azureml.command import CommandError, resolve_command
from tests.harness.azureml.environment import EnvironmentSpec, problems
from tests.harness.azureml.sandbox import Mount, run_in_sandbox
from tests.harness.azureml.snapshot import make_snapshot
from tests.integration.clone import fresh_clone

pytestmark = pytest.mark.integration

PINNED_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20240709.v1"


def _spec(*pip: str, image: str = PINNED_IMAGE) -> EnvironmentSpec:
    lines = "".join(f"  - {entry}\n" for entry in pip)
    return EnvironmentSpec(image, f"dependencies:\n- python=3.11\n- pip\n- pip:\n{lines}", None)


def test_the_snapshot_is_what_the_sdk_uploads_without_data_venv_tracking_db_or_secrets(
    tmp_path: Path,
) -> None:
    from azure.ai.ml import load_component

    from ml.azure.snapshot import materialise

    clone = fresh_clone(tmp_path / "clone")
    planted = [
        "data/raw/rows.csv",
        ".venv/bin/python",
        "mlflow.db",
        ".dvc/config.local",
        ".dvc/cache/files/x",
    ]
    for name in planted:
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        (clone / name).write_text("planted")
    # What submit uploads: the tracked files, copied (ml/azure/snapshot.py), the component read from there.
    tracked = materialise(clone, tmp_path / "tracked")
    component = load_component(tracked / "components" / "prepare.yml")

    copied = make_snapshot(component, tmp_path / "snapshot")

    snapshot = tmp_path / "snapshot"
    for name in [*planted, ".git"]:
        assert not (snapshot / name).exists(), f"{name} must not reach the job's snapshot"
    assert not any(path.startswith(("data/", ".venv/", ".dvc/cache/", ".git/")) for path in copied)
    assert (snapshot / "ml" / "__init__.py").is_file(), "the step code itself is in the snapshot"


def test_requirement_files_editable_installs_and_paths_are_refused_as_the_service_cannot_build_them() -> None:
    found = problems(
        _spec("-r ../../requirements.lock", "--no-deps", "-e ../..", "./wheels/x.whl", "numpy==2.1.0")
    )

    assert len(found) == 3
    assert all("builds the image from" in problem for problem in found)
    assert not problems(_spec("numpy==2.1.0", "azureml-mlflow==1.60.0"))


def test_an_unpinned_base_image_is_refused() -> None:
    assert problems(_spec("numpy==2.1.0", image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"))
    assert problems(_spec("numpy==2.1.0", image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04"))
    assert not problems(_spec("numpy==2.1.0", image=f"{PINNED_IMAGE.split(':')[0]}@sha256:{'a' * 64}"))


def test_the_command_gets_literals_and_mount_paths_and_drops_optional_parts_without_a_value() -> None:
    template = "python -m s --data ${{inputs.data}} --seed ${{inputs.seed}} "
    template += "$[[--c ${{inputs.c}}]] --out ${{outputs.o}}"

    command = resolve_command(template, {"data": "/mnt/in", "seed": 42, "c": None}, {"o": "/mnt/out"})

    assert command == "python -m s --data /mnt/in --seed 42  --out /mnt/out"
    with pytest.raises(CommandError, match=r"inputs\.data"):
        resolve_command(template, {"seed": 1}, {"o": "/mnt/out"})


def test_an_output_is_a_mount_point_so_renaming_it_fails_and_an_upstream_input_is_read_only(
    sandbox: tuple[str, ...], tmp_path: Path
) -> None:
    store, upstream = tmp_path / "store", tmp_path / "upstream"
    store.mkdir()
    upstream.mkdir()
    (upstream / "rows.csv").write_text("a\n1\n")
    node = tmp_path / "node"
    script = (
        "import os\n"
        "open('out/new.txt', 'w').write('ok')\n"
        "for action in (lambda: os.rename('out', 'out.old'), lambda: open('in/x', 'w')):\n"
        "    try:\n        action()\n        print('allowed')\n"
        "    except OSError as exc:\n        print(exc.strerror)\n"
    )

    finished = run_in_sandbox(
        f'python3 -c "{script}"',
        cwd=node,
        env={"PATH": "/usr/bin:/bin"},
        mounts=[Mount(store, node / "out"), Mount(upstream, node / "in", read_only=True)],
        logs=tmp_path / "logs",
    )

    assert finished.exit_code == 0, finished.tail()
    assert finished.stdout.read_text().splitlines() == ["Device or resource busy", "Read-only file system"]
    assert (store / "new.txt").read_text() == "ok", "what the node writes lands in the backing datastore"
    mounted = subprocess.run(
        ["findmnt", "-rn", str(node / "out")], capture_output=True, text=True, check=False
    )
    assert mounted.stdout == "", "the mounts live only in the node's namespace"
