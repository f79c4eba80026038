"""Every row of the bad-input corpus (tests/badinput/corpus.py), run in-process against a fresh checkout.

What each case must show: the expected exit code, no traceback, a short message naming the file or key and
the fix, no secret in the output, done within its time bound, and no file changed that the case does not
allow (so nothing lost, no temp file, no half-written output).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.badinput.checkout import differences, make_template, snapshot
from tests.badinput.corpus import CASES, PORT, ROOT, Case
from tests.badinput.servers import misbehaving_server, refusing_port

MAX_OUTPUT_CHARS = 4000  # one line and its hint, with room for the progress lines before it


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_template(tmp_path_factory.mktemp("badinput") / "template")


@contextlib.contextmanager
def server(kind: str | None) -> Iterator[int]:
    if kind is None:
        yield 0
    elif kind == "refuse":
        yield refusing_port()
    else:
        with misbehaving_server(kind) as port:
            yield port


def fill(text: str, root: Path, port: int) -> str:
    return text.replace(PORT, str(port)).replace(ROOT, str(root))


def run_cli(args: list[str]) -> tuple[int, str]:
    """`edge-train ARGS` as `main()` runs it, in this process: (exit code, stdout + stderr)."""
    from ml.cli import app, run_app

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run_app(app, args)
    return code, out.getvalue() + err.getvalue()


@pytest.fixture(autouse=True)
def never_replace_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    """A safety net for a regression run as root: renaming onto /dev/full would replace the device."""
    real_replace = os.replace

    def replace(src: object, dst: object, *args: object, **kwargs: object) -> None:
        if str(dst).startswith("/dev/"):
            raise AssertionError(f"the command tried to replace {dst} with a regular file")
        real_replace(src, dst, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", replace)


def params(cases: list[Case]) -> list[object]:
    marks = {
        case.id: [pytest.mark.xfail(reason=case.xfail, strict=False)] if case.xfail else [] for case in cases
    }
    return [pytest.param(case, id=case.id, marks=marks[case.id]) for case in cases]


@pytest.mark.parametrize("case", params(CASES))
def test_bad_input(case: Case, template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if case.non_root and os.geteuid() == 0:
        pytest.skip("root ignores file permissions: this case runs as an ordinary user (as in CI)")
    root = tmp_path / "checkout"
    shutil.copytree(template, root, symlinks=True)
    with server(case.server) as port:
        for name, content in case.files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(fill(content, root, port), encoding="utf-8")
        if case.setup is not None:
            case.setup(root)
        for key in (
            "EDGE_TRAIN_ROOT",
            "MLFLOW_TRACKING_URI",
            "AZURE_STORAGE_CONNECTION_STRING",
            "GITHUB_STEP_SUMMARY",
        ):
            monkeypatch.delenv(key, raising=False)
        for key in ("AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_KEY", "EDGE_TRAIN_STORAGE_API_VERSION"):
            monkeypatch.delenv(key, raising=False)
        for key, value in case.env.items():
            monkeypatch.setenv(key, fill(value, root, port))
        monkeypatch.chdir(root)
        before = snapshot(root)
        started = time.monotonic()
        try:
            code, output = run_cli([fill(arg, root, port) for arg in case.args])
            after = snapshot(root)  # before permissions are given back: a chmod-0 file was "unreadable"
        finally:
            with contextlib.suppress(OSError):
                for path in (root / "ro", root / "params.yaml"):
                    if path.exists() and not path.is_symlink():
                        path.chmod(0o700 if path.is_dir() else 0o600)
        elapsed = time.monotonic() - started
    lowered = output.lower()
    assert "traceback" not in lowered, output[:MAX_OUTPUT_CHARS]
    assert code == case.exit_code, output[:MAX_OUTPUT_CHARS]
    for fragment in case.expect:
        assert fill(fragment, root, port).lower() in lowered, (
            f"{fragment!r} not in: {output[:MAX_OUTPUT_CHARS]}"
        )
    for secret in case.secrets:
        assert secret not in output, "a secret was printed"
    assert len(output) <= MAX_OUTPUT_CHARS, f"{len(output)} characters of output"
    assert elapsed <= case.seconds, f"took {elapsed:.1f} s (bound {case.seconds:.0f} s)"
    changed = differences(before, after, case.changes)
    assert not changed, f"changed by a failed command: {changed}"


def test_the_corpus_has_at_least_100_distinct_cases() -> None:
    from tests.badinput.test_run_corpus import RUN_CASES

    ids = [case.id for case in CASES] + [case.id for case in RUN_CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 100, len(ids)
