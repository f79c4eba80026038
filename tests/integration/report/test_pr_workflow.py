"""The pull-request workflow end to end: a real git repo, a branch that changes one hyperparameter and one
data file, the `run:` steps of pr.yml's report job in order with the variables Actions sets, and the sticky
comment that lands on (a loopback fake of) GitHub.

Steps run exactly as written in the workflow; only `${{ }}` expressions are replaced by the values Actions
would compute for a same-repository pull request without the edge configured (see `ACTIONS_CONTEXT`).
The install step is the one exception: the test shares this checkout's virtualenv instead.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ml.steps.schema import DEFAULT_GATE, load_schema
from tests.conftest import REPO_ROOT
from tests.integration.report.fake_github import TOKEN, serve_fake_github

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PR_NUMBER = 17
SAME_REPO = "github.event.pull_request.head.repo.full_name == github.repository"
# The value of every expression the report job uses, for a same-repo PR with no edge variables set.
ACTIONS_CONTEXT = {
    f"vars.AZURE_CLIENT_ID != '' && {SAME_REPO}": "false",
    SAME_REPO: "true",
    "github.token": TOKEN,
    "github.base_ref": "main",
}
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
DROPPED_ROWS = 40
# The first metric the checkout's gate judges (params.yaml's, else the task's default): the test follows it.
GATE = yaml.safe_load((REPO_ROOT / "params.yaml").read_text()).get("gate") or DEFAULT_GATE[load_schema().task]
GATED_METRIC = next(iter(GATE))


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def evaluate(value: str) -> str:
    def lookup(match: re.Match[str]) -> str:
        assert match[1] in ACTIONS_CONTEXT, f"pr.yml uses an expression this test does not know: {match[1]}"
        return ACTIONS_CONTEXT[match[1]]

    return EXPRESSION.sub(lookup, str(value))


def condition_holds(condition: str | None, env: dict[str, str]) -> bool:
    """The two step conditions pr.yml uses: `env.X == 'v'` and `env.X != 'v'`."""
    if condition is None:
        return True
    match = re.fullmatch(r"env\.(\w+) (==|!=) '(\w*)'", condition)
    assert match, f"pr.yml uses a step condition this test does not know: {condition}"
    equal = env.get(match[1], "") == match[3]
    return equal if match[2] == "==" else not equal


def template_copy(dest: Path) -> None:
    """This checkout's files as git sees them (tracked, with uncommitted edits), without data or state."""
    files = git(REPO_ROOT, "ls-files", "-z").split("\0")
    for name in filter(None, files):
        source = REPO_ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    (dest / ".venv").symlink_to(REPO_ROOT / ".venv")


@pytest.fixture(scope="module")
def pr_checkout(tmp_path_factory) -> Path:
    """origin with `main` = the template, and a checkout of branch `lower-c` (train.C halved, 40 rows
    dropped from the first data file), as actions/checkout leaves it with fetch-depth 0."""
    base = tmp_path_factory.mktemp("pr")
    work, origin = base / "work", base / "origin.git"
    work.mkdir()
    git(base, "init", "-q", "--bare", "-b", "main", str(origin))
    git(work, "init", "-q", "-b", "main")
    git(work, "config", "user.email", "ci@example.test")
    git(work, "config", "user.name", "CI")
    template_copy(work)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "template")
    git(work, "remote", "add", "origin", str(origin))
    git(work, "push", "-q", "-u", "origin", "main")
    edge_train = str(work / ".venv" / "bin" / "edge-train")
    subprocess.run([edge_train, "data", "restore"], cwd=work, check=True, capture_output=True)

    git(work, "checkout", "-q", "-b", "lower-c")
    params = work / "params.yaml"
    params.write_text(re.sub(r"(?m)^  C: (.*)$", lambda m: f"  C: {float(m[1]) / 2}", params.read_text()))
    data = sorted((work / "data" / "raw").glob("*.csv"))[0]
    data.write_text("".join(data.read_text().splitlines(keepends=True)[:-DROPPED_ROWS]))
    subprocess.run(
        [str(work / ".venv" / "bin" / "dvc"), "add", "data"], cwd=work, check=True, capture_output=True
    )
    git(work, "add", "params.yaml", "data.dvc")
    git(work, "commit", "-q", "-m", "Lower C, drop 40 rows")
    return work


def actions_env(work: Path, api_url: str, tmp: Path) -> dict[str, str]:
    event = tmp / "event.json"
    event.write_text(
        json.dumps(
            {
                "action": "synchronize",
                "number": PR_NUMBER,
                "pull_request": {
                    "number": PR_NUMBER,
                    "base": {"ref": "main"},
                    "head": {"ref": "lower-c", "repo": {"full_name": "octo/edge-train"}},
                },
                "repository": {"full_name": "octo/edge-train"},
            }
        )
    )
    summary = tmp / "step_summary.md"
    summary.write_text("")
    base_path = subprocess.run(["bash", "-c", "echo $PATH"], capture_output=True, text=True).stdout.strip()
    return {
        "PATH": base_path,
        "HOME": str(tmp),
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": "octo/edge-train",
        "GITHUB_API_URL": api_url,
        "GITHUB_WORKSPACE": str(work),
        "GITHUB_BASE_REF": "main",
        "GITHUB_HEAD_REF": "lower-c",
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(tmp),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DVC_NO_ANALYTICS": "1",
    }


def run_report_job(work: Path, env: dict[str, str]) -> list[tuple[str, int, str]]:
    """Run the report job's `run:` steps in order, as Actions does (bash -e), stopping at a failure."""
    job = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "pr.yml").read_text())["jobs"]["report"]
    job_env = {**env, **{key: evaluate(value) for key, value in job["env"].items()}}
    ran = []
    for step in job["steps"]:
        if "run" not in step or not condition_holds(step.get("if"), job_env):
            continue
        if step.get("id") == "install":
            continue  # the test shares this checkout's venv (a real install would re-point its editable ml/)
        step_env = {**job_env, **{key: evaluate(value) for key, value in step.get("env", {}).items()}}
        script = evaluate(step["run"])
        result = subprocess.run(
            ["bash", "-e", "-c", script], cwd=work, env=step_env, capture_output=True, text=True, timeout=600
        )
        ran.append((step.get("id", step.get("name")), result.returncode, result.stdout + result.stderr))
        if result.returncode != 0:
            break
    return ran


def test_the_pr_comment_shows_changed_param_metric_deltas_changed_data_and_gate(pr_checkout, tmp_path):
    with serve_fake_github(TOKEN) as github:
        env = actions_env(pr_checkout, github.url, tmp_path)
        ran = run_report_job(pr_checkout, env)
        rerun = run_report_job(pr_checkout, env)  # the next push: same comment, updated in place

    assert [step for step, _, _ in ran] == ["run-local", "report"], ran
    comments = github.comments[PR_NUMBER]
    assert len(comments) == 1, "one sticky comment, updated in place on every push"
    body = comments[0]["body"]
    gate_passed = "✅ quality gate passed" in body
    assert ran[-1][1] == (0 if gate_passed else 1), ran[-1][2]
    assert [code for _, code, _ in rerun] == [code for _, code, _ in ran]

    assert body.startswith("<!-- edge-train:report -->")
    assert "a local run (`--target local`); in a pull request that is the example data" in body
    assert "Base metrics: `reports/metrics.json` committed at" in body
    c = float(yaml.safe_load((REPO_ROOT / "params.yaml").read_text())["train"]["C"])
    assert f"| `train.C` | {c:.4f} | {c / 2:.4f} |" in body
    base = json.loads((REPO_ROOT / "reports" / "metrics.json").read_text())[GATED_METRIC]
    metric_row = (
        rf"\| `{GATED_METRIC}` \| {base:.4f} \| -?\d+\.\d{{4}} \| ([+-]\d+\.\d{{4}}|0)( . (better|worse))? \|"
    )
    assert re.search(metric_row, body), body
    data = sorted((pr_checkout / "data" / "raw").glob("*.csv"))[0]  # the branch's copy, rows dropped
    rows = len(data.read_text().splitlines()) - 1 + DROPPED_ROWS
    data_row = f"| `data/raw/{data.name}` | modified | {rows} | {rows - DROPPED_ROWS} | -{DROPPED_ROWS} |"
    assert data_row in body, body
    assert re.search(rf"\| (✅ pass|❌ fail) \| `{GATED_METRIC}` \| ", body), body
    assert "```mermaid" in body
    assert Path(env["GITHUB_STEP_SUMMARY"]).read_text().count("<!-- edge-train:report -->") == 2
