"""Every `edge-train` call in .github/workflows/*.yml names a real subcommand and real flags.

The workflows were once written against a planned CLI (`submit --target azure`, `push --target azure`,
`promote --version`) that differed from the one that landed; nothing failed until GitHub ran them. This test
reads each `run:` script, finds the `edge-train` invocations and checks them against the click command tree
Typer builds from `ml.cli.app`, so a renamed or removed flag fails here first. (Typer 0.29 builds that tree
with its own vendored click, so commands and parameters are read by their attributes, not click's classes.)
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
import yaml

import ml.cli

ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
INVOCATION = re.compile(r"(?:^|[\s;&|(])(?:\S*/)?edge-train(?=\s|$)")
ASSIGNMENT = re.compile(r"(?:^|[\s;&|])([A-Za-z_][A-Za-z0-9_]*)=([^\s;&|]+)")
VARIABLE = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")


@dataclass(frozen=True)
class Call:
    workflow: str
    step: str
    line: str
    words: tuple[str, ...]  # after `edge-train`
    variables: dict[str, set[str]]  # what the step's script assigns, for `"$var"` arguments

    def __str__(self) -> str:
        return f"{self.workflow}: step {self.step!r}: {self.line.strip()}"


def calls(path: Path) -> list[Call]:
    found = []
    data = yaml.safe_load(path.read_text())
    for job in data["jobs"].values():
        for step in job.get("steps", []):
            script = step.get("run")
            if not script:
                continue
            for line in script.splitlines():
                match = INVOCATION.search(line)
                if match and not line.lstrip().startswith("#"):
                    rest = line[match.end() :].split("#", 1)[0]
                    words = shlex.split(re.split(r"\s(?:&&|\|\||;|\|)\s", rest)[0])
                    found.append(
                        Call(path.name, step.get("name", "?"), line, tuple(words), assignments(script))
                    )
    return found


def assignments(script: str) -> dict[str, set[str]]:
    """Shell variables the script assigns, with every value they can take (`x=a; [ ... ] && x=b`)."""
    values: dict[str, set[str]] = {}
    for name, value in ASSIGNMENT.findall(script):
        values.setdefault(name, set()).add(value.strip("'\""))
    return values


def check(words: tuple[str, ...], variables: dict[str, set[str]] | None = None) -> list[str]:
    """What is wrong with `edge-train <words>` against the real command tree (empty: nothing)."""
    variables = variables or {}
    command = typer.main.get_command(ml.cli.app)
    words = list(words)
    path = ["edge-train"]
    while hasattr(command, "commands"):  # a group
        if not words or words[0].startswith("-"):
            return [f"`{' '.join(path)}` needs a subcommand"]
        name = words.pop(0)
        if name not in command.commands:
            return [f"`{' '.join(path)}` has no subcommand {name!r}"]
        command, path = command.commands[name], [*path, name]
    params = [p for p in command.params if p.param_type_name == "option"]
    options: dict[str, object] = {opt: p for p in params for opt in (*p.opts, *p.secondary_opts)}
    options.update(dict.fromkeys(command.get_help_option_names(command.context_class(command)), None))
    positional_slots = sum(
        (p.nargs if p.nargs > 0 else 99) for p in command.params if p.param_type_name == "argument"
    )
    problems, positionals, only_positionals = [], 0, False
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        variable = VARIABLE.match(word)
        candidates = sorted(variables[variable[1]]) if variable and variable[1] in variables else [word]
        if only_positionals or not any(c.startswith("-") for c in candidates):
            positionals += 1
            continue
        if word == "--":
            only_positionals = True
            continue
        for candidate in candidates:
            flag = candidate.split("=", 1)[0]
            if flag not in options:
                problems.append(
                    f"`{' '.join(path)}` has no option {flag!r} (it has {', '.join(sorted(options))})"
                )
            elif (param := options[flag]) and not (param.is_flag or param.count) and "=" not in candidate:
                index += 1  # the option's value
    if positionals > positional_slots:
        problems.append(
            f"`{' '.join(path)}` takes {positional_slots} argument(s), the workflow gives {positionals}"
        )
    return problems


ALL_CALLS = [call for path in WORKFLOWS for call in calls(path)]


@pytest.mark.parametrize("call", ALL_CALLS, ids=str)
def test_every_workflow_call_names_a_real_subcommand_and_real_flags(call: Call) -> None:
    assert check(call.words, call.variables) == [], str(call)


def test_the_workflows_call_every_release_step() -> None:
    """The parser must find the calls, or the test above would pass by checking nothing."""
    seen = {" ".join(w for w in call.words[:2] if not w.startswith("-")) for call in ALL_CALLS}
    commands = {s.split()[0] for s in seen}
    assert {"submit", "run", "report", "register", "version", "package", "push", "promote"} <= commands
    assert "pipeline validate" in seen


@pytest.mark.parametrize(
    "words, problem",
    [
        ("submit --target azure --wait", "no option '--target'"),
        ("push --target azure", "no option '--target'"),
        ("promote --version 1.4.0 --stage production", "no option '--version'"),
        ("promote 1.0.0 2.0.0", "takes 1 argument(s)"),
        ("pipeline", "needs a subcommand"),
        ("pipeline frobnicate", "no subcommand 'frobnicate'"),
        ("serve --now", "no subcommand 'serve'"),
    ],
)
def test_the_checker_catches_the_drift_that_happened(words: str, problem: str) -> None:
    assert any(problem in p for p in check(tuple(shlex.split(words))))


def test_the_checker_accepts_what_the_cli_takes() -> None:
    assert check(("promote", "--stage", "production", "--push", "--", "$VERSION")) == []
    assert check(("version", "--push")) == []
    assert check(("report", "$comment"), {"comment": {"--comment", "--no-comment"}}) == []
    assert check(("report", "$comment"), {"comment": {"--coment"}}) != []
