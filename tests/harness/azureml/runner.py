"""Run a pipeline job's nodes one after the other, as Azure ML would, and report each node's fate.

Per node: a fresh snapshot, the environment built from the serialized spec, a run created on the (fake)
tracking service, mounts for outputs and upstream inputs, the resolved command run in the sandbox with the
service's environment. A node that fails stops the job (`continue_on_step_failure: false`, the default); the
report names the node, the command, the exit code and the end of its stderr, or why it could not start.

Outputs whose path is on a datastore listed in `unreachable_datastores` fail the node before it starts:
Azure ML's own data runtime mounts them, and for an ASH datastore it cannot (see docs/opinions.md).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.harness.azureml.command import CommandError, resolve_command
from tests.harness.azureml.environment import EnvironmentRefused, build_environment, problems, serialized_spec
from tests.harness.azureml.graph import Node, Upstream, load_nodes
from tests.harness.azureml.sandbox import Mount, run_in_sandbox
from tests.harness.azureml.service_env import NODEBOOT, RunContext, node_environment
from tests.harness.azureml.services import AzureFakes
from tests.harness.azureml.snapshot import make_snapshot

FILE_TYPES = {"uri_file"}


class NodeNotStarted(RuntimeError):
    """The service would refuse or fail this node before its command runs."""


@dataclass
class NodeResult:
    name: str
    status: str  # Completed | Failed | NotStarted (an upstream node failed)
    reason: str = ""
    command: str | None = None
    exit_code: int | None = None
    stderr_tail: str = ""
    stdout_tail: str = ""  # the project's CLI prints its one-line errors here
    run_id: str | None = None
    outputs: dict[str, Path] = field(default_factory=dict)  # output name -> its path in the datastore
    logs: Path | None = None  # the node's user_logs folder (std_out.txt, std_err.txt)
    seconds: float = 0.0

    def log_text(self) -> str:
        """Everything the node's command printed (stdout, then stderr)."""
        if self.logs is None:
            return ""
        if not self.logs.is_dir():  # the job folder was deleted: "" would read as "the node printed nothing"
            raise FileNotFoundError(f"{self.logs}: the node's logs are gone; read them before deleting it")
        files = [self.logs / "std_out.txt", self.logs / "std_err.txt"]
        return "".join(p.read_text(encoding="utf-8", errors="replace") for p in files if p.exists())

    def summary(self) -> str:
        head = f"{self.name}: {self.status}"
        if self.status == "Completed":
            return f"{head} ({self.seconds:.1f} s)"
        reasons = self.reason.split("; ")
        lines = (
            [f"{head}: {reasons[0]}"] if len(reasons) == 1 else [f"{head}:", *(f"  - {r}" for r in reasons)]
        )
        if self.command:
            lines.append(f"  command: {self.command}")
        if self.exit_code is not None:
            lines.append(f"  exit code: {self.exit_code}")
        for stream, tail in (("stdout", self.stdout_tail), ("stderr", self.stderr_tail)):
            if tail:
                lines += [f"  {stream} (tail):", *("    " + line for line in tail.splitlines())]
        return "\n".join(lines)


@dataclass
class JobResult:
    nodes: list[NodeResult]
    parent_run_id: str

    @property
    def ok(self) -> bool:
        return all(node.status == "Completed" for node in self.nodes)

    def node(self, name: str) -> NodeResult:
        return next(node for node in self.nodes if node.name == name)

    def report(self) -> str:
        return "\n".join(node.summary() for node in self.nodes)


@dataclass
class Emulator:
    job: Any  # azure.ai.ml.entities.PipelineJob
    folder: Path
    fakes: AzureFakes
    unreachable_datastores: tuple[str, ...] = ()
    timeout: float = 900
    _listings: dict[str, list[tuple[Path, str]]] = field(
        default_factory=dict
    )  # snapshot listing per code folder

    def run(self) -> JobResult:
        nodes = load_nodes(self.job)
        client = self.fakes.client()
        experiment_name = self.job.experiment_name or "Default"
        found = client.get_experiment_by_name(experiment_name)
        experiment_id = found.experiment_id if found else client.create_experiment(experiment_name)
        parent = client.create_run(experiment_id, run_name=self.job.display_name or "pipeline").info.run_id
        result = JobResult([], parent)  # each run() is a new pipeline run: fresh containers and output paths
        stop_on_failure = not getattr(self.job.settings, "continue_on_step_failure", False)
        failed: set[str] = set()
        for index, node in enumerate(nodes):
            if failed & _ancestors(node, nodes) or (failed and stop_on_failure):
                result.nodes.append(NodeResult(node.name, "NotStarted", "an upstream node failed"))
                continue
            run = client.create_run(
                experiment_id, run_name=node.name, tags={"mlflow.parentRunId": parent}
            ).info.run_id
            outcome = self._run_node(node, result, experiment_id, experiment_name, run, index)
            client.set_terminated(run, "FINISHED" if outcome.status == "Completed" else "FAILED")
            result.nodes.append(outcome)
            if outcome.status != "Completed":
                failed.add(node.name)
        client.set_terminated(parent, "FINISHED" if result.ok else "FAILED")
        return result

    def _run_node(
        self, node: Node, done: JobResult, experiment_id: str, experiment_name: str, run_id: str, index: int
    ) -> NodeResult:
        started = time.monotonic()
        root = self.folder / "runs" / done.parent_run_id / node.name  # a fresh container per node and run
        shutil.rmtree(root, ignore_errors=True)
        working_dir = root / "exe" / "wd"
        spec = serialized_spec(node.component)
        try:
            mounts, inputs, outputs, stores = self._io(node, done, root / "cap" / "data-capability" / "wd")
            blockers = [f"environment: {p}" for p in problems(spec)] + [
                f"data: {p}" for p in self._data_problems(node)
            ]
            if blockers:  # all of them at once: the service would stop at the first, a developer wants each
                raise NodeNotStarted("; ".join(blockers))
            make_snapshot(node.component, working_dir, self._listings)
            venv = build_environment(spec, log=self.folder / "environments.log")
            command = resolve_command(node.component.command, inputs, outputs)
        except (EnvironmentRefused, CommandError, NodeNotStarted) as exc:
            return NodeResult(node.name, "Failed", str(exc), run_id=run_id)
        home = root / "home"
        (home / "tmp").mkdir(parents=True)
        context = RunContext(
            run_id=run_id,
            experiment_id=experiment_id,
            experiment_name=experiment_name,
            run_token=self.fakes.run_tokens[index % len(self.fakes.run_tokens)],
            working_dir=working_dir,
            venv=venv,
            home=home,
        )
        env = node_environment(
            self.fakes.workspace,
            context,
            identity_endpoint=self.fakes.identity_endpoint,
            identity_secret=self.fakes.identity_secret,
            identity_style=self.fakes.identity_style,
            ca_file=self.fakes.ca_file,
            hosts=self.fakes.hosts,
            component_variables=node.environment_variables,
            nodeboot=self._nodeboot(),
        )
        finished = run_in_sandbox(
            command, cwd=working_dir, env=env, mounts=mounts, logs=root / "user_logs", timeout=self.timeout
        )
        status = "Completed" if finished.exit_code == 0 else "Failed"
        reason = "" if status == "Completed" else f"command exited with {finished.exit_code}"
        if finished.timed_out:
            reason = f"timed out after {self.timeout:.0f} s"
        return NodeResult(
            node.name,
            status,
            reason,
            command=command,
            exit_code=finished.exit_code,
            stderr_tail="" if status == "Completed" else finished.tail(),
            stdout_tail="" if status == "Completed" else finished.tail(5, "stdout"),
            run_id=run_id,
            outputs=stores,
            logs=root / "user_logs",
            seconds=time.monotonic() - started,
        )

    def _nodeboot(self) -> Path:
        target = self.folder / "nodeboot"
        if not target.exists():
            shutil.copytree(NODEBOOT, target, ignore=shutil.ignore_patterns("__pycache__"))
        return target

    def _data_problems(self, node: Node) -> list[str]:
        found = []
        for name, spec in node.outputs.items():
            datastore = _datastore(spec.path)
            if datastore in self.unreachable_datastores:
                found.append(
                    f"output {name} is a {spec.mode} on datastore {datastore}: Azure ML's data runtime would "
                    "mount it, and it cannot reach that storage (ASH: API version and CA)"
                )
            if spec.mode not in ("rw_mount", "mount"):
                found.append(f"output {name}: mode {spec.mode} is not emulated (rw_mount only)")
        return found

    def _io(
        self, node: Node, done: JobResult, mount_root: Path
    ) -> tuple[list[Mount], dict[str, object], dict[str, str], dict[str, Path]]:
        """Mounts, and the values the command sees for inputs and outputs (paths inside the container)."""
        mounts: list[Mount] = []
        outputs: dict[str, str] = {}
        stores: dict[str, Path] = {}
        for name, spec in node.outputs.items():
            # a new output path per run, as `${{name}}` in an output path gives on the service
            store = self.folder / "datastore" / done.parent_run_id / node.name / name
            store.mkdir(parents=True, exist_ok=True)
            target = mount_root / name
            mounts.append(Mount(store, target))
            stores[name] = store / name if spec.type in FILE_TYPES else store
            outputs[name] = str(target / name) if spec.type in FILE_TYPES else str(target)
        inputs: dict[str, object] = {}
        for name, value in node.inputs.items():
            if isinstance(value, Upstream):
                upstream = done.node(value.node)
                store = upstream.outputs[value.output]
                folder = store.parent if store.is_file() or not store.exists() else store
                target = mount_root / f"INPUT_{name}"
                mounts.append(Mount(folder, target, read_only=True))
                inputs[name] = str(target / store.name) if folder != store else str(target)
            elif hasattr(value, "path") and hasattr(value, "type"):  # an Input entity: data from a path
                raise NodeNotStarted(f"input {name}: data input {value.path} is not emulated")
            else:
                inputs[name] = value
        return mounts, inputs, outputs, stores


def _datastore(path: str | None) -> str | None:
    prefix = "azureml://datastores/"
    if path and path.startswith(prefix):
        return path.removeprefix(prefix).split("/", 1)[0]
    return None


def _ancestors(node: Node, nodes: list[Node]) -> set[str]:
    by_name = {n.name: n for n in nodes}
    seen: set[str] = set()
    todo = list(node.upstream)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += list(by_name[name].upstream)
    return seen
