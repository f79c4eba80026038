"""The replay harness reads `if:` and `${{ }}` as GitHub does (docs: workflows-and-actions/expressions)."""

from __future__ import annotations

import pytest

from tests.harness.workflow_replay.expressions import ExpressionError, condition, evaluate, substitute

SAME_REPO = {
    "github": {
        "repository": "edge-org/edge-train",
        "event": {"pull_request": {"head": {"repo": {"full_name": "edge-org/edge-train"}}}},
    },
    "vars": {"AZURE_CLIENT_ID": "1234"},
    "env": {"EDGE": "true"},
}
FORK = {
    "github": {
        "repository": "edge-org/edge-train",
        "event": {"pull_request": {"head": {"repo": {"full_name": "someone/edge-train"}}}},
    },
    "vars": {},
    "env": {"EDGE": "false"},
}
EDGE = "vars.AZURE_CLIENT_ID != '' && github.event.pull_request.head.repo.full_name == github.repository"


def test_the_edge_is_configured_only_for_a_same_repository_pull_request_with_the_variable_set():
    assert substitute("${{ " + EDGE + " }}", SAME_REPO) == "true"
    assert substitute("${{ " + EDGE + " }}", FORK) == "false"
    assert substitute("${{ " + EDGE + " }}", {**SAME_REPO, "vars": {}}) == "false"


def test_a_missing_property_is_null_and_null_equals_the_empty_string_after_coercion():
    assert evaluate("vars.NOPE == ''", FORK) is True
    assert evaluate("github.event.nothing.deeper", FORK) is None


def test_string_comparison_ignores_case_and_and_or_return_operands():
    assert evaluate("'ABC' == 'abc'", {}) is True
    assert evaluate("'' || 'fallback'", {}) == "fallback"
    assert evaluate("'x' && 'y'", {}) == "y"


def test_if_without_a_status_function_runs_only_after_success():
    assert condition("env.EDGE == 'true'", SAME_REPO) is True
    assert condition("env.EDGE == 'true'", SAME_REPO, status="failure") is False
    assert condition("always() && env.EDGE == 'true'", SAME_REPO, status="failure") is True
    assert condition(None, {}, status="failure") is False


def test_functions_and_indexing():
    assert evaluate("contains(github['repository'], 'EDGE-ORG')", SAME_REPO) is True
    assert evaluate("startsWith(github.repository, 'edge')", SAME_REPO) is True


def test_syntax_the_harness_does_not_know_fails_loudly():
    with pytest.raises(ExpressionError):
        evaluate("hashFiles('**/x')", {})
    with pytest.raises(ExpressionError):
        evaluate("matrix.python", {})
