"""The CLI answers --help without importing the heavy libraries, and prints errors without tracebacks."""

import os
import subprocess
import sys

from tests.conftest import REPO_ROOT


def test_help_lists_the_commands_and_imports_no_heavy_library():
    code = (
        "import sys; from ml.cli import run_app, app; code = run_app(app, ['--help']);"
        "heavy = [m for m in ('azure.ai.ml', 'mlflow', 'dvc.repo', 'sklearn', 'pandas') if m in sys.modules];"
        "print('HEAVY', heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert "run" in result.stdout and "data" in result.stdout
    assert "HEAVY []" in result.stdout


def test_a_user_error_is_one_message_with_a_hint_and_exit_code_1(tmp_path):
    (tmp_path / "params.yaml").write_text("train:\n  max_iters: 3\n")
    result = subprocess.run(
        [sys.executable, "-m", "ml", "params", "check"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "error:" in result.stderr and "train.max_iters: unknown key" in result.stderr
    assert "hint:" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_usage_error_names_the_option_with_exit_code_2_and_no_traceback():
    # typer vendors its own click, whose usage errors are not click's classes: they once showed tracebacks.
    for args in (["data", "synth", "--rows", "1"], ["run", "--bogus"], ["no-such-command"]):
        result = subprocess.run(
            [sys.executable, "-m", "ml", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False
        )
        assert result.returncode == 2, args
        assert "Error:" in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_help_shows_flags_as_flags_not_as_options_taking_a_bool(capsys):
    from ml.cli import app, run_app

    for args in (["--help"], ["run", "--help"], ["report", "--help"], ["data", "remote", "set", "--help"]):
        assert run_app(app, args) == 0
        out = capsys.readouterr().out
        assert "--help" in out and "<bool>" not in out, args


def test_a_run_on_synthetic_stand_in_data_refuses_to_release_before_it_trains(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "ml", "run", "--synthetic-if-unreachable"],
        cwd=tmp_path,
        env={**os.environ, "EDGE_TRAIN_ROOT": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "never released" in result.stderr and "--no-release" in result.stderr
    assert not (tmp_path / "artifacts").exists()
