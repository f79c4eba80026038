"""Replay one job of a workflow: each step in order, as the GitHub runner would run it.

- `if:` (job and step) and every `${{ }}` in `env:`, `with:` and `run:` are evaluated with the contexts
  `github`, `env`, `vars`, `secrets`, `inputs`, `steps`, `runner` (see `expressions`).
- `run:` steps go to `bash --noprofile --norc -eo pipefail <script>` (the runner's default shell on Linux) in
  the workspace, as the sandbox's unprivileged user, with `CI=true`, `GITHUB_ACTIONS=true`, the `GITHUB_*`
  variables and `GITHUB_EVENT_PATH` pointing at the event payload. `GITHUB_ENV`, `GITHUB_OUTPUT`,
  `GITHUB_PATH` and `GITHUB_STEP_SUMMARY` are files, read back after each step (both `NAME=value` and the
  `NAME<<DELIM` form).
- `uses:` steps run a stub that leaves behind what the action would (`stubs.ACTIONS`); an action without a
  stub fails the replay.
- A *seam* replaces one `run:` step by a stand-in the test provides (the edge job until the job emulator is
  wired in); the replay records that it did, so a test can never pass a seam off as the real step.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.harness.workflow_replay import expressions, stubs
from tests.harness.workflow_replay.events import Event, github_context
from tests.harness.workflow_replay.sandbox import Sandbox

SHELL = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]
# What a hosted runner's environment has besides the workflow's own variables: a PATH, a HOME, a locale,
# and this machine's certificate settings (a runner has its own; the lab intercepts TLS).
PASSED_THROUGH = re.compile(
    r"^(SSL_CERT_FILE|SSL_CERT_DIR|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE|GIT_SSL_CAINFO|PIP_CERT|"
    r"NODE_EXTRA_CA_CERTS|PIP_DEFAULT_TIMEOUT|PIP_FIND_LINKS|HTTPS?_PROXY|NO_PROXY|https?_proxy|no_proxy)$"
)


@dataclass
class StepResult:
    name: str
    ran: bool
    outcome: str  # success | failure | skipped
    stdout: str = ""
    stderr: str = ""
    seam: str = ""
    outputs: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        tail = (self.stdout[-3000:] + "\n" + self.stderr[-3000:]).strip()
        return (
            f"step {self.name!r}: {self.outcome}{' (seam: ' + self.seam + ')' if self.seam else ''}\n{tail}"
        )


@dataclass
class JobResult:
    job: str
    ran: bool
    steps: list[StepResult]
    summary: str
    env: dict[str, str]

    @property
    def ok(self) -> bool:
        return all(step.outcome != "failure" for step in self.steps)

    def step(self, name: str) -> StepResult:
        return next(s for s in self.steps if s.name == name)

    def failures(self) -> str:
        return "\n\n".join(str(s) for s in self.steps if s.outcome == "failure")


Seam = Callable[["StepContext"], tuple[int, str]]


@dataclass
class StepContext:
    """What a seam gets: the sandbox, the step's environment and the workspace."""

    sandbox: Sandbox
    env: dict[str, str]
    workspace: Path
    script: str


def load_workflow(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads `on` as true
    return data


def step_name(step: Mapping[str, Any]) -> str:
    return str(step.get("name") or step.get("id") or step.get("uses") or step.get("run", "").splitlines()[0])


@dataclass
class Replay:
    """One job replay. `vars`/`secrets` are what the repository gives this event (a fork gets none)."""

    sandbox: Sandbox
    workflow_path: Path
    job_id: str
    event: Event
    vars: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    oidc: bool = False
    interpreter: str = "/usr/bin/python3.11"
    runner_env: dict[str, str] = field(default_factory=dict)  # e.g. GITHUB_API_URL of a loopback fake
    seams: dict[str, Seam] = field(default_factory=dict)  # step name → stand-in
    token: str = "ghs_replay-token"  # `github.token`, what a loopback GitHub fake expects
    # The Azure ML workspace's state file: set, every Python process of every step talks to the fake
    # workspace (azure_seam/) instead of Azure; the azure-ai-ml stack itself runs unchanged.
    azure_state: Path | None = None

    def run(self) -> JobResult:
        workflow = load_workflow(self.workflow_path)
        job = workflow["jobs"][self.job_id]
        box, ws = self.sandbox, self.sandbox.workspace
        files = self._runner_files()
        env: dict[str, str] = {}
        token = self.token
        contexts: dict[str, Any] = {
            "github": github_context(self.event, str(ws), token),
            "vars": dict(self.vars),
            "secrets": {**self.secrets, "GITHUB_TOKEN": token},
            "inputs": self.event.inputs,
            "runner": {
                "os": "Linux",
                "arch": "X64",
                "temp": str(box.temp),
                "tool_cache": str(box.tool_cache),
            },
            "steps": {},
            "env": env,
        }
        for scope in (workflow.get("env") or {}, job.get("env") or {}):
            for key, value in scope.items():
                env[key] = expressions.substitute(str(value), contexts)
        if not expressions.condition(job.get("if"), contexts):
            return JobResult(self.job_id, False, [], "", env)
        base_env = self._base_env(files, token)
        path_entries: list[str] = []
        results: list[StepResult] = []
        status = "success"
        for step in job.get("steps", []):
            name = step_name(step)
            if not expressions.condition(step.get("if"), contexts, status):
                results.append(StepResult(name, False, "skipped"))
                self._record(contexts, step, "skipped", {})
                continue
            step_env = {
                key: expressions.substitute(str(value), contexts)
                for key, value in (step.get("env") or {}).items()
            }
            with_ = {
                key: expressions.substitute(str(value), contexts)
                for key, value in (step.get("with") or {}).items()
            }
            full_env = {**base_env, **env, **step_env}
            full_env["PATH"] = ":".join([*reversed(path_entries), base_env["PATH"]])
            for target in files.values():
                target.write_text("")
                box.own(target)
            if "uses" in step:
                result = self._uses(step, name, with_, full_env, path_entries, env)
            else:
                script = expressions.substitute(step["run"], contexts)
                result = self._run(name, script, full_env, step.get("working-directory"))
            outputs = self._read_outputs(files["GITHUB_OUTPUT"])
            env.update(self._read_outputs(files["GITHUB_ENV"]))
            path_entries.extend(line for line in files["GITHUB_PATH"].read_text().splitlines() if line)
            self._summary.append(files["GITHUB_STEP_SUMMARY"].read_text())
            result.outputs = outputs
            results.append(result)
            self._record(contexts, step, result.outcome, outputs)
            if result.outcome == "failure" and not step.get("continue-on-error"):
                status = "failure"
        return JobResult(self.job_id, True, results, "".join(self._summary), env)

    # --- steps ----------------------------------------------------------------------------------------------
    def _run(self, name: str, script: str, env: dict[str, str], directory: str | None) -> StepResult:
        box = self.sandbox
        script_path = box.temp / f"step-{abs(hash(name))}.sh"
        script_path.write_text(script + "\n")
        box.own(script_path)
        cwd = box.workspace / directory if directory else box.workspace
        seam = self.seams.get(name)
        if seam is not None:
            code, output = seam(StepContext(box, env, box.workspace, script))
            return StepResult(
                name, True, "success" if code == 0 else "failure", output, "", seam=seam.__name__
            )
        result = box.run([*SHELL, str(script_path)], env, cwd, check=False)
        outcome = "success" if result.returncode == 0 else "failure"
        return StepResult(name, True, outcome, result.stdout, result.stderr)

    def _uses(
        self,
        step: Mapping[str, Any],
        name: str,
        with_: dict[str, str],
        env: dict[str, str],
        path_entries: list[str],
        job_env: dict[str, str],
    ) -> StepResult:
        action = str(step["uses"]).split("@", 1)[0].lower()
        stub = stubs.ACTIONS.get(action)
        if stub is None:
            return StepResult(name, True, "failure", "", f"the replay has no stub for {step['uses']}")
        try:
            added_path, added_env = stub(self, with_, env)
        except stubs.ActionFailed as exc:
            return StepResult(name, True, "failure", "", str(exc))
        path_entries.extend(added_path)
        job_env.update(added_env)
        return StepResult(name, True, "success", f"stub for {action}", "")

    # --- the runner's files and environment -----------------------------------------------------------------
    def _runner_files(self) -> dict[str, Path]:
        box = self.sandbox
        self._summary: list[str] = []
        files = {
            name: box.temp / name.lower()
            for name in ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")
        }
        event = box.temp / "event.json"
        event.write_text(json.dumps(self.event.payload, indent=2))
        files_all = {**files}
        for target in [*files_all.values(), event]:
            target.touch()
            box.own(target)
        return files

    def _base_env(self, files: Mapping[str, Path], token: str) -> dict[str, str]:
        box, event = self.sandbox, self.event
        env = {key: value for key, value in os.environ.items() if PASSED_THROUGH.match(key)}
        env.update(
            PATH="/usr/local/bin:/usr/bin:/bin",
            HOME=str(box.home),
            LANG="C.UTF-8",
            CI="true",
            GITHUB_ACTIONS="true",
            RUNNER_OS="Linux",
            RUNNER_ARCH="X64",
            RUNNER_TEMP=str(box.temp),
            RUNNER_TOOL_CACHE=str(box.tool_cache),
            GITHUB_WORKSPACE=str(box.workspace),
            GITHUB_EVENT_NAME=event.name,
            GITHUB_EVENT_PATH=str(box.temp / "event.json"),
            GITHUB_REPOSITORY=event.payload["repository"]["full_name"],
            GITHUB_REPOSITORY_OWNER=event.payload["repository"]["owner"]["login"],
            GITHUB_REF=event.ref,
            GITHUB_SHA=event.sha,
            GITHUB_HEAD_REF=event.head_ref,
            GITHUB_BASE_REF=event.base_ref,
            GITHUB_RUN_ID="4242",
            GITHUB_RUN_NUMBER="7",
            GITHUB_RUN_ATTEMPT="1",
            GITHUB_JOB=self.job_id,
            GITHUB_SERVER_URL="https://github.com",
            GITHUB_API_URL="https://api.github.com",
            GITHUB_WORKFLOW=self.workflow_path.name,
        )
        env.update(box.cache_env)
        if self.oidc:
            env["ACTIONS_ID_TOKEN_REQUEST_URL"] = (
                "http://127.0.0.1:9/oidc"  # present only with id-token: write
            )
            env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "replay-oidc-request-token"
        env.update({name: str(path) for name, path in files.items()})
        if self.azure_state is not None:
            env["PYTHONPATH"] = str(self._azure_seam())
            env["EDGE_TRAIN_REPLAY_AZURE"] = str(self.azure_state)
        env.update(self.runner_env)
        return env

    def _azure_seam(self) -> Path:
        """Copy the fake workspace's modules where the unprivileged user's Python finds them (not tests/)."""
        import shutil

        here = Path(__file__).parent
        seam = self.sandbox.base / "azure-seam"
        seam.mkdir(exist_ok=True)
        for source in (
            here / "azure_seam" / "sitecustomize.py",
            here / "azure_seam" / "replay_azure.py",
            here.parents[1] / "unit" / "azure" / "fake_azure.py",
        ):
            shutil.copy2(source, seam / source.name)
        assert self.azure_state is not None
        if not self.azure_state.exists():
            self.azure_state.write_text("{}")
        self.sandbox.own(seam)
        self.sandbox.own(self.azure_state)
        return seam

    @staticmethod
    def _read_outputs(path: Path) -> dict[str, str]:
        """Parse a GITHUB_OUTPUT/GITHUB_ENV file: `NAME=value` lines and `NAME<<DELIM` ... `DELIM` blocks."""
        values: dict[str, str] = {}
        lines = path.read_text().splitlines()
        index = 0
        while index < len(lines):
            line = lines[index]
            index += 1
            if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
                key, delimiter = line.split("<<", 1)
                block = []
                while index < len(lines) and lines[index] != delimiter:
                    block.append(lines[index])
                    index += 1
                index += 1
                values[key] = "\n".join(block)
            elif "=" in line:
                key, value = line.split("=", 1)
                values[key] = value
        return values

    @staticmethod
    def _record(contexts: dict[str, Any], step: Mapping[str, Any], outcome: str, outputs: dict) -> None:
        if step.get("id"):
            contexts["steps"][step["id"]] = {"outcome": outcome, "conclusion": outcome, "outputs": outputs}
