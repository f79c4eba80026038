"""The corpus rows that need a trained checkout: data that disagrees with data.dvc, bad data, a tracking
server or storage that refuses or never answers, a second run at the same time.

One fresh clone is trained once per session; every case runs `python -m ml ...` in its own copy (the copy's
own `ml`, as a user's checkout would), then checks exit code, message, time and that nothing the user had
was lost: data.dvc, dvc.lock, dvc.yaml, the previous outputs, the registry state, and no temp file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.badinput.checkout import differences, snapshot
from tests.badinput.corpus import MISTAKE_S, SECRET_CELL, UNREACHABLE_S
from tests.badinput.servers import misbehaving_server, refusing_port
from tests.integration.clone import edge_train, fresh_clone

pytestmark = pytest.mark.integration

# Bad data is found by the prepare step, which DVC starts in its own process after checking every stage.
STEP_S = 30.0
# A mistake caught by `edge-train run` in a new process: the interpreter's and DVC's start (~3 s alone)
# count too, on a runner other jobs share.
PROCESS_MISTAKE_S = 2 * MISTAKE_S
# What a failed command may touch: DVC's and MLflow's bookkeeping, never the user's files or outputs.
BOOKKEEPING = (".dvc/tmp/*", ".dvc/cache/*", ".git/*", "mlflow.db", "mlflow.db-journal")


@dataclass(frozen=True)
class RunCase:
    id: str
    args: tuple[str, ...]
    expect: tuple[str, ...]
    setup: Callable[[Path], None] | None = None
    env: dict[str, str] = field(default_factory=dict)
    server: str | None = None
    during: Callable[[Path], contextlib.AbstractContextManager] | None = None
    module: str = "ml"  # "dvc": a user's plain `dvc`, bounded by the .pth pin
    exit_code: int = 1
    seconds: float = PROCESS_MISTAKE_S
    xfail: str = ""
    secrets: tuple[str, ...] = ()  # in no output and no file the run wrote (SECRET_CELL: a planted cell)
    slow: bool = False  # runs with `make test-slow`: covered in kind by a faster case in `make test`


def _raw_csv(root: Path) -> Path:
    return next((root / "data" / "raw").glob("*.csv"))


def _edit_data(edit: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = _raw_csv(root)
        path.write_bytes(edit(path.read_bytes()))

    return setup


def _schema(root: Path):
    """The clone's schema.yaml (the steps' schema file, read as the steps read it)."""
    from ml.steps.schema import load_schema

    return load_schema(root / "ml" / "steps" / "schema.yaml")


def _label_column(root: Path) -> str:
    return _schema(root).label


PLANTED_ROW = 5  # the CSV's line 7 (the header is line 1)


def _plant(value: str, column: Callable[[object], str]) -> Callable[[Path], None]:
    """Write `value` into one cell of the column `column(schema)` picks, every other cell kept as written."""

    def setup(root: Path) -> None:
        import pandas as pd

        path = _raw_csv(root)
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame.loc[PLANTED_ROW, column(_schema(root))] = value
        frame.to_csv(path, index=False, lineterminator="\n")

    return setup


def _a_number_column(schema) -> str:
    """A numeric (or boolean) feature, where text is wrong; the label when every feature is categorical."""
    return next(iter(schema.of_kind("numeric") + schema.of_kind("boolean")), schema.label)


def _the_label(schema) -> str:
    return schema.label


def _leaks(root: Path, secret: str, before: dict[str, str]) -> list[str]:
    """Files the run wrote (added or changed since `before`, and DVC's tmp/) that hold `secret`; the data,
    its DVC cache and the prepared sets are the data itself and stay on the machine."""
    after = snapshot(root)
    written = {path for path, digest in after.items() if before.get(path) != digest}
    written |= {p.relative_to(root).as_posix() for p in (root / ".dvc" / "tmp").rglob("*")}
    needle = secret.encode()
    return sorted(
        rel
        for rel in written
        if not rel.startswith(("data/", ".dvc/cache/", "artifacts/"))
        and (root / rel).is_file()
        and not (root / rel).is_symlink()
        and needle in (root / rel).read_bytes()
    )


def _committed(edit: Callable[[Path], None]) -> Callable[[Path], None]:
    """Edit data/ and record it with `dvc add data`, as a user bringing new data does."""

    def setup(root: Path) -> None:
        edit(root)
        subprocess.run(
            [sys.executable, "-m", "dvc", "add", "-q", "data"], cwd=root, check=True, capture_output=True
        )

    return setup


def _frame_edit(change: Callable[[object, str], None]) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        import pandas as pd

        path = _raw_csv(root)
        frame = pd.read_csv(path)
        change(frame, _label_column(root))
        frame.to_csv(path, index=False, lineterminator="\n")

    return setup


def _rename_label(frame, label: str) -> None:
    frame.rename(columns={label: "diagnosis"}, inplace=True)


def _one_class(frame, label: str) -> None:
    frame[label] = 0


def _nan_label(frame, label: str) -> None:
    frame.loc[3, label] = None


def _other_data_dvc(root: Path) -> None:
    text = (root / "data.dvc").read_text()
    md5 = text.split("md5: ", 1)[1].split(".dir", 1)[0]
    (root / "data.dvc").write_text(text.replace(md5, "0" * 32))
    subprocess.run(["git", "commit", "-qam", "new data"], cwd=root, check=True)


def _ash_remote(root: Path) -> None:
    """The default remote is an azure one on a loopback port (`{port}` is filled in by the runner)."""
    conn = "BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;SharedAccessSignature=sv=2019-07-07&sig=x;"
    (root / ".dvc" / "config").write_text(
        "[core]\n    autostage = true\n    remote = ash\n    analytics = false\n"
        "['remote \"local\"']\n    url = ../.dvc-storage\n"
        "['remote \"ash\"']\n    url = azure://dvc\n"
    )
    (root / ".dvc" / "config.local").write_text(f"['remote \"ash\"']\n    connection_string = {conn}\n")


def _no_local_data_remote_refuses(root: Path) -> None:
    shutil.rmtree(root / "data")
    shutil.rmtree(root / ".dvc" / "cache", ignore_errors=True)
    _ash_remote(root)


TRACKING = {"MLFLOW_TRACKING_URI": "http://127.0.0.1:{port}"}


@contextlib.contextmanager
def _another_run(root: Path):
    """Hold the checkout's DVC lock, as a `make run` still running in another terminal does."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo, repo.lock:
        yield


RUN_CASES = [
    RunCase(
        "run-data-dvc-changed-and-committed",
        ("run", "--no-release"),
        ("data/", "data.dvc", "dvc pull --force data.dvc", "dvc add data"),
        setup=_other_data_dvc,
    ),
    RunCase(
        "run-data-edited-not-added",
        ("run", "--no-release"),
        ("data/", "data.dvc", "dvc pull --force data.dvc", "dvc add data"),
        setup=_edit_data(lambda b: b + b.splitlines(keepends=True)[-1]),
    ),
    RunCase(
        "run-data-truncated-csv",
        ("run", "--no-release"),
        ("data/raw", "truncated"),
        setup=_committed(_edit_data(lambda b: b[: len(b) // 2])),
        slow=True,
        seconds=STEP_S,
    ),
    RunCase(
        "run-data-not-utf8",
        ("run", "--no-release"),
        ("data/raw", "utf-8"),
        setup=_committed(_edit_data(lambda b: b.replace(b"\n1", b"\n\xff1", 1))),
        slow=True,
        seconds=STEP_S,
    ),
    RunCase(
        "run-data-label-renamed",
        ("run", "--no-release"),
        ("data/raw",),
        setup=_committed(_frame_edit(_rename_label)),
        seconds=STEP_S,
    ),
    RunCase(
        "run-data-one-class",
        ("run", "--no-release"),
        ("data/raw", "class"),
        setup=_committed(_frame_edit(_one_class)),
        slow=True,
        seconds=STEP_S,
    ),
    RunCase(
        "run-data-secret-in-a-number-column",
        ("run", "--no-release"),
        ("data/raw", "line 7"),
        setup=_committed(_plant(SECRET_CELL, _a_number_column)),
        secrets=(SECRET_CELL,),
        seconds=STEP_S,
    ),
    RunCase(
        "run-data-secret-in-the-label",
        ("run", "--no-release"),
        ("data/raw", "line 7"),
        setup=_committed(_plant(SECRET_CELL, _the_label)),
        secrets=(SECRET_CELL,),
        slow=True,
        seconds=STEP_S,
    ),
    RunCase(
        "run-data-infinite-number",
        ("run", "--no-release"),
        ("data/raw", "line 7"),
        setup=_committed(_plant("inf", _a_number_column)),
        slow=True,
        seconds=STEP_S,
    ),
    RunCase(
        "run-data-nan-label",
        ("run", "--no-release"),
        ("data/raw",),
        setup=_committed(_frame_edit(_nan_label)),
        slow=True,
        seconds=STEP_S,
    ),
    RunCase(
        "run-data-remote-refuses",
        ("run", "--no-release"),
        ("ash", "edge-train data doctor"),
        setup=_no_local_data_remote_refuses,
        server="refuse",
        seconds=UNREACHABLE_S,
    ),
    RunCase(
        "run-while-another-runs",
        ("run", "--no-release"),
        ("another edge-train or dvc command", ".dvc/tmp/lock"),
        during=_another_run,
    ),
    RunCase(
        "dvc-push-storage-502",
        ("push", "-r", "ash", "data.dvc"),
        ("bad gateway",),  # DVC's own words and exit code: the pin bounds the time, not the message
        setup=_ash_remote,
        server="502",
        exit_code=255,
        module="dvc",
        seconds=UNREACHABLE_S,
    ),
    RunCase(
        "dvc-push-storage-hangs",
        ("push", "-r", "ash", "data.dvc"),
        ("timeout",),
        setup=_ash_remote,
        server="hang",
        exit_code=255,
        module="dvc",
        seconds=UNREACHABLE_S,
        slow=True,
    ),
    RunCase(
        "run-tracking-refused",
        ("register",),
        ("MLFLOW_TRACKING_URI",),
        env=TRACKING,
        server="refuse",
        seconds=UNREACHABLE_S,
    ),
    RunCase(
        "run-tracking-hangs",
        ("register",),
        ("MLFLOW_TRACKING_URI",),
        env=TRACKING,
        server="hang",
        seconds=UNREACHABLE_S,
    ),
    RunCase(
        "run-tracking-502",
        ("register",),
        ("MLFLOW_TRACKING_URI",),
        env=TRACKING,
        server="502",
        seconds=UNREACHABLE_S,
        slow=True,
    ),
]


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = fresh_clone(tmp_path_factory.mktemp("badinput-run") / "trained")
    result = edge_train(root, "run", "--no-release")
    assert result.returncode == 0, result.stderr
    return root


def _edge_train(
    root: Path, args: tuple[str, ...], env: dict[str, str], module: str = "ml"
) -> subprocess.CompletedProcess[str]:
    """`python -m ml ARGS` in the copy, with the case's environment (MLFLOW_TRACKING_URI included)."""
    run_env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    for key in ("EDGE_TRAIN_ROOT", "MLFLOW_TRACKING_URI"):
        run_env.pop(key, None)
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=root,
        env={**run_env, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@contextlib.contextmanager
def _server(kind: str | None):
    if kind is None:
        yield 0
    elif kind == "refuse":
        yield refusing_port()
    else:
        with misbehaving_server(kind) as port:
            yield port


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            c,
            id=c.id,
            marks=[pytest.mark.xfail(reason=c.xfail, strict=False)] * bool(c.xfail)
            + [pytest.mark.slow] * c.slow,
        )
        for c in RUN_CASES
    ],
)
def test_bad_input_on_a_trained_checkout(case: RunCase, trained: Path, tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    shutil.copytree(trained, root, symlinks=True)
    with _server(case.server) as port:
        if case.setup is not None:
            case.setup(root)
        for name in (".dvc/config.local",):
            path = root / name
            if path.is_file():
                path.write_text(path.read_text().replace("{port}", str(port)))
        env = {key: value.replace("{port}", str(port)) for key, value in case.env.items()}
        before = snapshot(root)
        with case.during(root) if case.during else contextlib.nullcontext():
            started = time.monotonic()
            result = _edge_train(root, case.args, env, case.module)
            elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output[-3000:]
    assert result.returncode == case.exit_code, output[-3000:]
    for fragment in case.expect:
        assert fragment.lower() in output.lower(), f"{fragment!r} not in: {output[-3000:]}"
    assert elapsed <= case.seconds, f"took {elapsed:.1f} s (bound {case.seconds:.0f} s)"
    changed = differences(before, snapshot(root), BOOKKEEPING)
    assert not changed, f"changed by a failed command: {changed}"
    for secret in case.secrets:
        assert secret not in output, "a cell's content was printed"
        leaks = _leaks(root, secret, before)
        assert not leaks, f"a cell's content was written to {leaks}"
