"""The bad-input corpus: one row per mistake a user (or a network) can make, and what must happen.

Each `Case` says what to break (files written into a fresh checkout, environment, a misbehaving loopback
server), which command to run, and what the user must get: the exit code, message fragments that name the
file or key and the fix, a time bound (10 s for a mistake, 30 s for an unreachable service), and no change
to any file the command was not meant to write. `tests/badinput/test_corpus.py` runs the table.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ml.steps.schema import DEFAULT_GATE

MISTAKE_S = 10.0
UNREACHABLE_S = 30.0
# Placeholders in args/env/files, filled in by the runner.
PORT = "{port}"  # the port of the case's server (refusing, hanging or answering 502)
ROOT = "{root}"  # the checkout


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    expect: tuple[str, ...] = ()  # fragments of the output (case-insensitive), all required
    files: dict[str, str | bytes] = field(default_factory=dict)  # written before the command
    env: dict[str, str] = field(default_factory=dict)
    exit_code: int = 1
    seconds: float = MISTAKE_S
    server: str | None = None  # "refuse" | "hang" | "502"
    setup: Callable[[Path], None] | None = None  # for what files cannot say (FIFOs, symlinks, modes)
    secrets: tuple[str, ...] = ()  # must never appear in the output
    changes: tuple[str, ...] = ()  # paths the command may write (glob patterns), even when it fails
    xfail: str = ""  # owned by another issue: the reason, re-checked by the lead after merging
    non_root: bool = False  # permissions do not stop root: such a case runs only as an ordinary user


SAS_SIG = "c2VjcmV0LXNpZ25hdHVyZS1kby1ub3QtcHJpbnQ%3D"
FUTURE_SAS = f"sv=2019-07-07&ss=b&srt=sco&sp=rwdlac&se=2099-01-01T00:00:00Z&sig={SAS_SIG}"
EXPIRED_SAS = f"sv=2019-07-07&ss=b&srt=sco&sp=rwdlac&se=2001-01-01T00:00:00Z&sig={SAS_SIG}"
ACCOUNT_KEY = "c2VjcmV0LWFjY291bnQta2V5LWRvLW5vdC1wcmludC1hbnl3aGVyZQ=="
LOOPBACK_ENDPOINT = f"http://127.0.0.1:{PORT}/devstoreaccount1"


def fifo(path: str) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(target)

    return make


def symlink(path: str, to: str) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(to.replace(ROOT, str(root)))

    return make


def directory(path: str) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        (root / path).mkdir(parents=True, exist_ok=True)

    return make


def read_only(path: str) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        target = root / path
        target.mkdir(parents=True, exist_ok=True)
        target.chmod(0o500)

    return make


def azure_remote(conn_str: str, name: str = "ash", container: str = "dvc") -> dict[str, str]:
    """`.dvc/config` and `.dvc/config.local` of an azure remote, as `data remote set` writes them."""
    return {
        ".dvc/config": (
            "[core]\n    autostage = true\n    remote = local\n    analytics = false\n"
            "['remote \"local\"']\n    url = ../.dvc-storage\n"
            f"['remote \"{name}\"']\n    url = azure://{container}\n    jobs = 16\n"
        ),
        ".dvc/config.local": f"['remote \"{name}\"']\n    connection_string = {conn_str}\n",
    }


def toml(text: str) -> dict[str, str]:
    return {"edge-train.toml": text}


def params(text: str | bytes) -> dict[str, str | bytes]:
    return {"params.yaml": text}


SAS_CONN = f"BlobEndpoint={LOOPBACK_ENDPOINT};SharedAccessSignature={FUTURE_SAS};"
KEY_CONN = (
    f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={ACCOUNT_KEY};"
    f"BlobEndpoint={LOOPBACK_ENDPOINT};"
)
REMOTE_SET = ("data", "remote", "set", "--container", "dvc", "--blob-endpoint", LOOPBACK_ENDPOINT)
SAS_ENV = {"AZURE_STORAGE_SAS_TOKEN": FUTURE_SAS}
SECRETS = (SAS_SIG, ACCOUNT_KEY)
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)
AZURE_SETTINGS = (
    "[azure]\nsubscription_id = '00000000-0000-0000-0000-000000000000'\nresource_group = 'rg'\n"
    "workspace = 'wsp'\narc_cluster_id = '/subscriptions/00000000-0000-0000-0000-000000000000/"
    "resourceGroups/rg/providers/Microsoft.Kubernetes/connectedClusters/k3s'\n"
)
# Every metric any task's default gate reads, so the report cases hold on a fork of any task.
METRICS = {
    "reports/metrics.json": json.dumps({name: 0.95 for gate in DEFAULT_GATE.values() for name in gate}) + "\n"
}


def table_csv(rows: int = 40, label_values: Callable[[int], str] | None = None) -> str:
    """A CSV of the test schema's columns (tests/harness/schemas.py), so the cases hold for any fork:
    numbers, booleans and the schema's categories, and labels cycling through its classes."""
    from tests.harness.schemas import SCHEMAS

    schema = SCHEMAS["binary"]
    lines = [",".join([*schema.names, schema.label])]
    for i in range(rows):
        cells = []
        for feature in schema.features:
            if feature.kind == "numeric":
                cells.append(f"{(i * 7919) % 97 / 3:.3f}")
            elif feature.kind == "boolean":
                cells.append("true" if i % 3 else "false")
            else:
                categories = feature.categories or ("a", "b")
                cells.append(categories[i % len(categories)])
        cells.append(label_values(i) if label_values else str(schema.classes[i % len(schema.classes)]))
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def not_utf8_csv(line: int) -> bytes:
    """`table_csv()` with a Latin-1 byte at the start of file line `line` (the header is line 1)."""
    lines = table_csv().encode().split(b"\n")
    lines[line - 1] = b"\xe9" + lines[line - 1]
    return b"\n".join(lines)


SECRET_CELL = "SECRET-CELL-4711"
"""A cell's content no message may repeat (messages can reach cloud job logs)."""
INIT_LABEL = "churned"  # the test schema's binary label


def init_data(*extra: str) -> tuple[str, ...]:
    return ("init", "--data", f"{ROOT}/mine.csv", "--label", INIT_LABEL, *extra)


CASES: list[Case] = [
    # --- params.yaml ----------------------------------------------------------------------------------
    Case("params-empty", ("params", "check"), ("params.yaml", "empty"), params("")),
    Case("params-only-comments", ("params", "check"), ("params.yaml", "empty"), params("# nothing\n")),
    Case("params-list", ("params", "check"), ("params.yaml", "mapping"), params("- 1\n- 2\n")),
    Case("params-scalar", ("params", "check"), ("params.yaml", "mapping"), params("42\n")),
    Case("params-syntax", ("params", "check"), ("params.yaml", "not valid yaml", "line"), params("a: [1,\n")),
    Case("params-tab-indent", ("params", "check"), ("params.yaml", "line"), params("train:\n\tC: 1\n")),
    Case(
        "params-unknown-top",
        ("params", "check"),
        ("params.yaml", "tran", "unknown key"),
        params("tran: {}\n"),
    ),
    Case(
        "params-unknown-nested",
        ("params", "check"),
        ("train.max_iters", "unknown key"),
        params("train:\n  max_iters: 3\n"),
    ),
    Case("params-wrong-type", ("params", "check"), ("train.C", "number"), params("train:\n  C: lots\n")),
    Case(
        "params-bool-for-int", ("params", "check"), ("train.max_iter",), params("train:\n  max_iter: true\n")
    ),
    Case(
        "params-test-size-0999",
        ("run",),
        ("prepare.test_size",),
        params("prepare:\n  test_size: 0.999\n"),
    ),
    Case(
        "params-test-size-1",
        ("params", "check"),
        ("prepare.test_size", "less than or equal to 0.99"),
        params("prepare:\n  test_size: 1.0\n"),
    ),
    Case(
        "params-test-size-0",
        ("params", "check"),
        ("prepare.test_size", "greater than or equal to 0.01"),
        params("prepare:\n  test_size: 0\n"),
    ),
    Case(
        "params-seed-negative",
        ("params", "check"),
        ("prepare.seed", "greater than or equal to 0"),
        params("prepare:\n  seed: -1\n"),
    ),
    Case(
        "params-C-negative",
        ("params", "check"),
        ("train.C", "greater than or equal to"),
        params("train:\n  C: -1\n"),
    ),
    Case(
        "params-C-inf",
        ("params", "check"),
        ("train.C",),
        params("train:\n  C: .inf\n"),
    ),
    Case("params-C-nan", ("params", "check"), ("train.C",), params("train:\n  C: .nan\n")),
    Case(
        "params-solver-unknown",
        ("params", "check"),
        ("train.solver", "lbfgs"),
        params("train:\n  solver: adam\n"),
    ),
    Case("params-max-iter-zero", ("params", "check"), ("train.max_iter",), params("train:\n  max_iter: 0\n")),
    Case(
        "params-threshold-1",
        ("params", "check"),
        ("evaluate.threshold",),
        params("evaluate:\n  threshold: 1\n"),
    ),
    Case("params-section-scalar", ("params", "check"), ("params.yaml", "train"), params("train: 3\n")),
    Case("params-alias-bomb", ("params", "check"), ("params.yaml", "alias"), params(ALIAS_BOMB), seconds=5),
    Case(
        "params-huge-value",
        ("params", "check"),
        ("params.yaml", "kilobytes"),
        params("train:\n  solver: " + "x" * 10_000_000 + "\n"),
        seconds=10,
    ),
    Case(
        "params-not-utf8",
        ("params", "check"),
        ("params.yaml", "utf-8"),
        params(b"train:\n  solver: \xff\xfe\n"),
    ),
    Case("params-binary", ("params", "check"), ("params.yaml",), params(b"\x00\x01\x02\x03\xff")),
    Case(
        "params-directory",
        ("params", "check"),
        ("params.yaml",),
        setup=lambda r: ((r / "params.yaml").unlink(), (r / "params.yaml").mkdir()),
    ),
    Case(
        "params-dangling-symlink",
        ("params", "check"),
        ("params.yaml",),
        setup=lambda r: ((r / "params.yaml").unlink(), (r / "params.yaml").symlink_to(r / "nowhere.yaml")),
    ),
    Case(
        "params-unreadable",
        ("params", "check"),
        ("params.yaml", "permission"),
        setup=lambda r: (r / "params.yaml").chmod(0),
        non_root=True,
    ),
    Case(
        "params-gate-unknown-key",
        ("params", "check"),
        ("gate.f1.minimum", "unknown key"),
        params("gate:\n  f1: {minimum: 0.9}\n"),
    ),
    Case(
        "params-gate-negative-drop",
        ("params", "check"),
        ("gate.f1.max_drop",),
        params("gate:\n  f1: {max_drop: -0.1}\n"),
    ),
    Case(
        "params-gate-min-above-1",
        ("params", "check"),
        ("gate.roc_auc", "[0, 1]"),
        params("gate:\n  roc_auc: {min: 1.5}\n"),
    ),
    Case(
        "params-gate-min-over-max",
        ("params", "check"),
        ("gate.f1", "min", "max"),
        params("gate:\n  f1: {min: 0.9, max: 0.5}\n"),
    ),
    Case("params-gate-not-mapping", ("params", "check"), ("gate",), params("gate: [f1]\n")),
    Case("params-run-validates-first", ("run",), ("train.C",), params("train:\n  C: lots\n")),
    # --- edge-train.toml ------------------------------------------------------------------------------
    Case("toml-syntax", ("run",), ("edge-train.toml", "toml", "line"), toml("[storage\n")),
    Case(
        "toml-not-utf8",
        ("run",),
        ("edge-train.toml", "utf-8"),
        {"edge-train.toml": b'[model]\nname = "\xff"\n'},
    ),
    Case("toml-directory", ("run",), ("edge-train.toml",), setup=directory("edge-train.toml")),
    Case(
        "toml-unknown-section",
        ("run",),
        ("edge-train.toml", "storag", "unknown key"),
        toml("[storag]\naccount = 'x'\n"),
    ),
    Case(
        "toml-unknown-key",
        ("run",),
        ("edge-train.toml", "storage.acount", "unknown key"),
        toml("[storage]\nacount = 'x'\n"),
    ),
    Case("toml-target-unknown", ("run",), ("edge-train.toml", "target", "local"), toml("target = 'cloud'\n")),
    Case(
        "toml-wrong-type", ("run",), ("edge-train.toml", "storage.account"), toml("[storage]\naccount = 3\n")
    ),
    Case(
        "toml-bad-guid",
        ("run",),
        ("edge-train.toml", "azure.subscription_id"),
        toml("[azure]\nsubscription_id = 'my-sub'\n"),
    ),
    Case(
        "toml-bad-workspace",
        ("run",),
        ("edge-train.toml", "azure.workspace"),
        toml("[azure]\nworkspace = 'has spaces!'\n"),
    ),
    Case(
        "toml-bad-resource-group",
        ("run",),
        ("edge-train.toml", "azure.resource_group"),
        toml("[azure]\nresource_group = 'rg/1'\n"),
    ),
    Case(
        "toml-api-version-word",
        ("run",),
        ("edge-train.toml", "storage.api_version", "2019-07-07"),
        toml("[storage]\napi_version = 'yesterday'\n"),
    ),
    Case(
        "toml-api-version-future",
        ("run",),
        ("storage.api_version", "2019-07-07"),
        toml("[storage]\napi_version = '2031-13-45'\n"),
    ),
    Case(
        "toml-suffix-with-scheme",
        ("run",),
        ("storage.endpoint_suffix", "https://"),
        toml("[storage]\nendpoint_suffix = 'https://local.azurestack.external'\n"),
    ),
    Case(
        "toml-suffix-with-path",
        ("run",),
        ("storage.endpoint_suffix",),
        toml("[storage]\nendpoint_suffix = 'local.azurestack.external/x'\n"),
    ),
    Case(
        "toml-blob-endpoint-sas",
        ("run",),
        ("storage.blob_endpoint", ".dvc/config.local"),
        toml(f"[storage]\nblob_endpoint = 'https://a.blob.x.y/?{FUTURE_SAS}'\n"),
        secrets=SECRETS,
    ),
    Case(
        "toml-blob-endpoint-not-url",
        ("data", "remote", "set", "--container", "dvc"),
        ("storage.blob_endpoint", "https://"),
        toml("[storage]\nblob_endpoint = 'a.blob.local'\n"),
        env=SAS_ENV,
    ),
    Case(
        "toml-tracking-uri-password",
        ("run",),
        ("tracking.uri", "MLFLOW_TRACKING_PASSWORD"),
        toml("[tracking]\nuri = 'https://user:hunter2secret@mlflow.example'\n"),
        secrets=("hunter2secret",),
    ),
    Case(
        "toml-tracking-uri-token",
        ("run",),
        ("tracking.uri",),
        toml(f"[tracking]\nuri = 'https://mlflow.example/?{FUTURE_SAS}'\n"),
        secrets=SECRETS,
    ),
    Case(
        "toml-ca-bundle-missing",
        ("data", "doctor"),
        ("storage.ca_bundle", "certs/ash.pem"),
        {
            **toml("[storage]\nca_bundle = 'certs/ash.pem'\n"),
            **azure_remote(SAS_CONN.replace("http://", "https://")),
        },
        server="refuse",
    ),
    Case("toml-bad-account", ("run",), ("storage.account",), toml("[storage]\naccount = 'My_Account'\n")),
    Case("toml-bad-container", ("run",), ("storage.container",), toml("[storage]\ncontainer = 'DVC Data'\n")),
    Case("toml-bad-model-name", ("run",), ("model.name",), toml("[model]\nname = 'my model/v1'\n")),
    Case("toml-empty-model-name", ("run",), ("model.name",), toml("[model]\nname = ''\n")),
    Case(
        "toml-image-registry-scheme",
        ("run",),
        ("image.registry", "https://"),
        toml("[image]\nregistry = 'https://myacr.azurecr.io'\n"),
    ),
    Case(
        "toml-azure-target-empty",
        ("register", "--target", "azure"),
        ("edge-train.toml", "subscription_id"),
        toml("target = 'azure'\n"),
    ),
    # --- command line ---------------------------------------------------------------------------------
    Case("cli-unknown-command", ("trian",), ("no such command",), exit_code=2),
    Case("cli-unknown-option", ("run", "--bogus"), ("--bogus",), exit_code=2),
    Case(
        "cli-synth-rows-too-few", ("data", "synth", "--rows", "1", "--out", "x.csv"), ("--rows",), exit_code=2
    ),
    Case(
        "cli-synth-rows-word", ("data", "synth", "--rows", "many", "--out", "x.csv"), ("--rows",), exit_code=2
    ),
    Case("cli-synth-missing-out", ("data", "synth"), ("--out",), exit_code=2),
    Case("cli-register-target", ("register", "--target", "cloud"), ("--target", "local"), exit_code=2),
    Case("cli-report-ran-on", ("report", "--ran-on", "moon"), ("--ran-on", "edge"), METRICS),
    Case("cli-report-history-negative", ("report", "--history", "-1"), ("--history",), exit_code=2),
    Case("cli-promote-missing-ref", ("promote",), ("ref",), exit_code=2),
    Case(
        "cli-version-not-semver",
        ("version", "--version", "1.2"),
        ("--version", "vX.Y.Z"),
    ),
    Case(
        "cli-promote-bad-ref",
        ("promote", "not a ref!"),
        ("not a ref!",),
    ),
    Case(
        "cli-remote-set-credential-kind",
        (*REMOTE_SET, "--credential", "password"),
        ("--credential", "sas or key"),
    ),
    Case("cli-remote-set-entra", (*REMOTE_SET, "--credential", "entra"), ("entra", "sas")),
    # --- data synth / report outputs ------------------------------------------------------------------
    Case(
        "synth-out-directory",
        ("data", "synth", "--rows", "10", "--out", "outdir"),
        ("outdir", "directory"),
        setup=directory("outdir"),
    ),
    Case(
        "synth-out-fifo",
        ("data", "synth", "--rows", "10", "--out", "pipe"),
        ("pipe", "regular file"),
        setup=fifo("pipe"),
        seconds=5,
    ),
    Case(
        "synth-out-symlink",
        ("data", "synth", "--rows", "10", "--out", "link.csv"),
        ("link.csv", "symlink"),
        setup=symlink("link.csv", f"{ROOT}/params.yaml"),
    ),
    Case(
        "synth-out-dev-null",
        ("data", "synth", "--rows", "10", "--out", "/dev/null"),
        ("/dev/null", "regular file"),
    ),
    Case(
        "synth-out-read-only-dir",
        ("data", "synth", "--rows", "10", "--out", "ro/x.csv"),
        ("ro/x.csv", "permission"),
        setup=read_only("ro"),
        non_root=True,
    ),
    Case(
        "synth-out-parent-is-file",
        ("data", "synth", "--rows", "10", "--out", "params.yaml/x.csv"),
        ("params.yaml",),
    ),
    Case("report-no-metrics", ("report",), ("reports/metrics.json", "edge-train run")),
    Case(
        "report-metrics-not-json",
        ("report",),
        ("reports/metrics.json", "json"),
        {"reports/metrics.json": "{oops"},
    ),
    Case(
        "report-output-directory",
        ("report", "--output", "outdir"),
        ("outdir", "directory"),
        METRICS,
        setup=directory("outdir"),
    ),
    Case(
        "report-output-fifo",
        ("report", "--output", "pipe"),
        ("pipe", "regular file"),
        METRICS,
        setup=fifo("pipe"),
        seconds=5,
    ),
    Case(
        "report-output-symlink",
        ("report", "--output", "r.md"),
        ("r.md", "symlink"),
        METRICS,
        setup=symlink("r.md", f"{ROOT}/params.yaml"),
    ),
    Case(
        "report-output-dev-full", ("report", "--output", "/dev/full"), ("/dev/full", "regular file"), METRICS
    ),
    Case(
        "report-output-read-only",
        ("report", "--output", "ro/r.md"),
        ("ro/r.md", "permission"),
        METRICS,
        setup=read_only("ro"),
        non_root=True,
    ),
    Case(
        "report-summary-dev-full",
        ("report",),
        ("GITHUB_STEP_SUMMARY", "/dev/full"),
        METRICS,
        env={"GITHUB_STEP_SUMMARY": "/dev/full"},
        changes=(".edge-train/*",),
    ),
    Case(
        "report-summary-directory",
        ("report",),
        ("GITHUB_STEP_SUMMARY",),
        METRICS,
        env={"GITHUB_STEP_SUMMARY": ROOT},
        changes=(".edge-train/*",),
    ),
    Case(
        "report-comment-no-token",
        ("report", "--comment"),
        ("GITHUB_TOKEN",),
        METRICS,
        env={"GITHUB_TOKEN": ""},
        changes=(".edge-train/*",),
    ),
    Case(
        "report-missing-base-check",
        ("report", "--base", "no-such-ref", "--check"),
        ("no-such-ref", "max_drop"),
        METRICS,
        changes=(".edge-train/*",),
    ),
    # --- storage: the remote's settings and credentials -----------------------------------------------
    Case(
        "remote-set-no-container",
        ("data", "remote", "set", "--blob-endpoint", "https://a.blob.x.y"),
        ("storage.container", "--container"),
        env=SAS_ENV,
    ),
    Case(
        "remote-set-no-endpoint",
        ("data", "remote", "set", "--container", "dvc"),
        ("storage.account", "endpoint_suffix"),
        env=SAS_ENV,
    ),
    Case(
        "remote-set-endpoint-not-url",
        ("data", "remote", "set", "--container", "dvc", "--blob-endpoint", "a.blob.x"),
        ("blob_endpoint", "https://"),
        env=SAS_ENV,
    ),
    Case(
        "remote-set-endpoint-with-sas",
        (
            "data",
            "remote",
            "set",
            "--container",
            "dvc",
            "--blob-endpoint",
            f"https://a.blob.x.y/?{FUTURE_SAS}",
        ),
        ("blob_endpoint", "sas"),
        env=SAS_ENV,
        secrets=SECRETS,
    ),
    Case(
        "remote-set-sas-malformed",
        REMOTE_SET,
        ("sas", "sig"),
        env={"AZURE_STORAGE_SAS_TOKEN": "not-a-token"},
        server="refuse",
    ),
    Case(
        "remote-set-sas-expired",
        REMOTE_SET,
        ("sas", "expired"),
        env={"AZURE_STORAGE_SAS_TOKEN": EXPIRED_SAS},
        server="refuse",
        secrets=SECRETS,
    ),
    Case(
        "remote-set-sas-as-url",
        REMOTE_SET,
        ("sas", "without the leading url"),
        env={"AZURE_STORAGE_SAS_TOKEN": f"https://a.blob.x.y/dvc?{FUTURE_SAS}"},
        server="refuse",
        secrets=SECRETS,
    ),
    Case(
        "remote-set-key-not-base64",
        REMOTE_SET,
        ("AZURE_STORAGE_KEY", "base64"),
        env={"AZURE_STORAGE_KEY": "not base64!!"},
        server="refuse",
    ),
    Case(
        "remote-set-refused",
        REMOTE_SET,
        ("127.0.0.1", "doctor"),
        env=SAS_ENV,
        server="refuse",
        seconds=UNREACHABLE_S,
        secrets=SECRETS,
    ),
    Case(
        "remote-set-hangs",
        REMOTE_SET,
        ("127.0.0.1", "no answer"),
        env=SAS_ENV,
        server="hang",
        seconds=UNREACHABLE_S,
        secrets=SECRETS,
    ),
    Case(
        "remote-set-502",
        REMOTE_SET,
        ("502",),
        env=SAS_ENV,
        server="502",
        seconds=UNREACHABLE_S,
        secrets=SECRETS,
    ),
    Case("doctor-no-remote", ("data", "doctor"), (".dvc/config", "ash", "edge-train data remote set")),
    Case(
        "doctor-no-credential",
        ("data", "doctor"),
        (".dvc/config.local", "connection_string"),
        {".dvc/config": azure_remote(SAS_CONN)[".dvc/config"]},
    ),
    Case(
        "doctor-malformed-conn-str",
        ("data", "doctor"),
        (".dvc/config.local", "connection_string"),
        azure_remote("this is not a connection string"),
        seconds=5,
    ),
    Case(
        "doctor-conn-str-no-endpoint",
        ("data", "doctor"),
        (".dvc/config.local", "BlobEndpoint"),
        azure_remote(f"SharedAccessSignature={FUTURE_SAS};"),
        secrets=SECRETS,
    ),
    Case(
        "doctor-refused",
        ("data", "doctor"),
        ("tcp", "127.0.0.1"),
        azure_remote(SAS_CONN),
        server="refuse",
        seconds=UNREACHABLE_S,
        secrets=SECRETS,
    ),
    Case(
        "doctor-hangs",
        ("data", "doctor"),
        ("127.0.0.1", "no answer"),
        azure_remote(SAS_CONN),
        server="hang",
        seconds=UNREACHABLE_S,
        secrets=SECRETS,
    ),
    Case(
        "doctor-502",
        ("data", "doctor"),
        ("502",),
        azure_remote(KEY_CONN),
        server="502",
        seconds=UNREACHABLE_S,
        secrets=SECRETS,
    ),
    Case(
        "doctor-expired-sas",
        ("data", "doctor"),
        ("expired",),
        azure_remote(SAS_CONN.replace(FUTURE_SAS, EXPIRED_SAS)),
        server="hang",
        seconds=UNREACHABLE_S,
        secrets=SECRETS,
    ),
    Case(
        "doctor-env-conn-str-malformed",
        ("data", "doctor"),
        ("AZURE_STORAGE_CONNECTION_STRING",),
        {".dvc/config": azure_remote(SAS_CONN)[".dvc/config"]},
        env={"AZURE_STORAGE_CONNECTION_STRING": "garbage"},
    ),
    Case(
        "doctor-ca-bundle-missing",
        ("data", "doctor"),
        ("ca_bundle", "missing.pem"),
        azure_remote(SAS_CONN.replace("http://", "https://")),
        env={"EDGE_TRAIN_STORAGE_CA_BUNDLE": "missing.pem"},
        server="refuse",
    ),
    Case(
        "doctor-https-on-http-port",
        ("data", "doctor"),
        ("tls", "https"),
        azure_remote(SAS_CONN.replace("http://", "https://")),
        server="502",
        seconds=UNREACHABLE_S,
        secrets=SECRETS,
    ),
    Case(
        "doctor-unknown-remote",
        ("data", "doctor", "--name", "nosuch"),
        ("nosuch", "edge-train data remote set"),
        azure_remote(SAS_CONN),
    ),
    # --- Azure: attach --------------------------------------------------------------------------------
    Case(
        "azure-attach-path-style-endpoint",
        ("azure", "attach"),
        ("storage.blob_endpoint", "account-style"),
        toml(
            AZURE_SETTINGS
            + "[storage]\nblob_endpoint = 'http://127.0.0.1:10000/devstoreaccount1'\ncontainer = 'dvc'\n"
        ),
        env={"EDGE_TRAIN_STORAGE_SAS": FUTURE_SAS},
        secrets=SECRETS,
    ),
    Case(
        "azure-attach-missing-infra",
        ("azure", "attach"),
        ("infra/compute.yml", "git checkout infra/compute.yml"),
        toml(
            AZURE_SETTINGS
            + "[storage]\nblob_endpoint = 'https://ash.blob.local.azurestack.external'\ncontainer = 'dvc'\n"
        ),
        env={"EDGE_TRAIN_STORAGE_SAS": FUTURE_SAS},
        setup=lambda r: (r / "infra" / "compute.yml").unlink(),
        secrets=SECRETS,
    ),
    Case(
        "azure-attach-no-sas",
        ("azure", "attach"),
        ("EDGE_TRAIN_STORAGE_SAS",),
        toml(AZURE_SETTINGS),
        env={"EDGE_TRAIN_STORAGE_SAS": ""},
    ),
    # --- data and the pipeline ------------------------------------------------------------------------
    Case(
        "data-dvc-missing",
        ("data", "restore"),
        ("data.dvc", "dvc add data"),
        setup=lambda r: (r / "data.dvc").unlink(),
    ),
    Case("data-dvc-not-yaml", ("data", "restore"), ("data.dvc",), {"data.dvc": "outs: [\n"}),
    Case("data-dvc-no-outs", ("data", "restore"), ("data.dvc",), {"data.dvc": "foo: 1\n"}),
    Case("dvc-config-broken", ("data", "restore"), (".dvc/config",), {".dvc/config": "[core\n"}),
    # --- init --data: a user's table (issue 11's bad-input list; the 100 MB one is a slow unit test) -----
    Case(
        "init-data-no-such-label",
        ("init", "--data", f"{ROOT}/mine.csv", "--label", "outcome"),
        ("mine.csv", "no column 'outcome'", "--label"),
        {"mine.csv": table_csv()},
    ),
    Case(
        "init-data-one-class",
        init_data(),
        ("mine.csv", f"label '{INIT_LABEL}' has a single value", "other class"),
        {"mine.csv": table_csv(label_values=lambda i: SECRET_CELL)},
        secrets=(SECRET_CELL,),
    ),
    Case(
        "init-data-not-utf8",
        init_data(),
        ("mine.csv", "not utf-8 text (line 3)", "utf-8 csv"),
        {"mine.csv": not_utf8_csv(line=3)},
    ),
    Case("init-data-empty", init_data(), ("mine.csv", "empty"), {"mine.csv": b""}),
    Case(
        "init-data-header-only",
        init_data(),
        ("mine.csv", "no rows"),
        {"mine.csv": table_csv().split("\n", 1)[0] + "\n"},
    ),
    Case(
        "init-data-text-label-as-regression",
        init_data("--task", "regression"),
        ("mine.csv", "250 distinct values", "--task multiclass"),
        {"mine.csv": table_csv(400, lambda i: f"city-{i % 250}")},
    ),
    Case(
        "init-data-250-classes",
        init_data(),
        ("mine.csv", "too many classes", "--task regression"),
        {"mine.csv": table_csv(400, lambda i: f"city-{i % 250}")},
    ),
]
