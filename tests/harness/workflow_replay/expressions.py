"""GitHub Actions expressions (`${{ ... }}` and `if:`), evaluated as the runner does.

Covers the grammar our workflows can use: literals, contexts with `.name` / `['name']` access, `!`, `==`,
`!=`, `<`, `<=`, `>`, `>=`, `&&`, `||`, parentheses and the functions `success()`, `failure()`,
`always()`, `cancelled()`, `contains()`, `startsWith()`, `endsWith()`. Semantics follow the expressions
reference (https://docs.github.com/en/actions/reference/workflows-and-actions/expressions): `==` compares
strings case-insensitively, values of different types are coerced to numbers (null → 0, '' → 0, 'true'
is NaN), `&&`/`||` return an operand like JavaScript, a missing property is null, and an `if:` without a
status function gets an implicit `success() &&`. Anything else raises, so a workflow using syntax this
harness does not know fails the replay instead of being evaluated wrongly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

TOKEN = re.compile(
    r"\s*(?:(?P<number>-?\d+(?:\.\d+)?)|(?P<string>'(?:[^']|'')*')|(?P<op>==|!=|<=|>=|&&|\|\||[!<>()\[\].,*])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)
EMBEDDED = re.compile(r"\$\{\{(.*?)\}\}", re.S)
STATUS_FUNCTIONS = ("success(", "failure(", "always(", "cancelled(")


class ExpressionError(ValueError):
    pass


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ExpressionError(f"cannot read {text[pos:]!r} in {text!r}")
        kind = match.lastgroup
        assert kind
        tokens.append((kind, match[kind]))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, contexts: Mapping[str, Any], status: str) -> None:
        self.text, self.tokens, self.pos = text, tokenize(text), 0
        self.contexts, self.status = contexts, status

    def peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise ExpressionError(f"unexpected end of {self.text!r}")
        token = self.tokens[self.pos]
        if expected is not None and token[1] != expected:
            raise ExpressionError(f"expected {expected!r}, got {token[1]!r} in {self.text!r}")
        self.pos += 1
        return token

    def parse(self) -> Any:
        value = self.or_()
        if self.pos != len(self.tokens):
            raise ExpressionError(f"unexpected {self.peek()!r} in {self.text!r}")
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == "||":
            self.take()
            right = self.and_()
            value = value if truthy(value) else right
        return value

    def and_(self) -> Any:
        value = self.compare()
        while self.peek() == "&&":
            self.take()
            right = self.compare()
            value = right if truthy(value) else value
        return value

    def compare(self) -> Any:
        value = self.unary()
        while self.peek() in ("==", "!=", "<", "<=", ">", ">="):
            op = self.take()[1]
            value = compare(op, value, self.unary())
        return value

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not truthy(self.unary())
        return self.access(self.primary())

    def access(self, value: Any) -> Any:
        while self.peek() in (".", "["):
            if self.take()[1] == ".":
                kind, name = self.take()
                if kind != "name" and name != "*":
                    raise ExpressionError(f"bad property {name!r} in {self.text!r}")
                value = lookup(value, name)
            else:
                key = self.or_()
                self.take("]")
                value = lookup(value, key)
        return value

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "number":
            return float(text)
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if text == "(":
            value = self.or_()
            self.take(")")
            return value
        if kind != "name":
            raise ExpressionError(f"unexpected {text!r} in {self.text!r}")
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        if self.peek() == "(":
            return self.call(text)
        if text not in self.contexts:
            raise ExpressionError(f"unknown context {text!r} in {self.text!r}")
        return self.contexts[text]

    def call(self, name: str) -> Any:
        self.take("(")
        args = []
        while self.peek() != ")":
            args.append(self.or_())
            if self.peek() == ",":
                self.take()
        self.take(")")
        lowered = name.lower()
        if lowered == "success":
            return self.status == "success"
        if lowered == "failure":
            return self.status == "failure"
        if lowered == "always":
            return True
        if lowered == "cancelled":
            return self.status == "cancelled"
        if lowered == "contains":
            haystack, needle = args
            if isinstance(haystack, list):
                return any(compare("==", item, needle) for item in haystack)
            return to_string(needle).lower() in to_string(haystack).lower()
        if lowered == "startswith":
            return to_string(args[0]).lower().startswith(to_string(args[1]).lower())
        if lowered == "endswith":
            return to_string(args[0]).lower().endswith(to_string(args[1]).lower())
        raise ExpressionError(f"function {name}() is not supported by the replay harness")


def lookup(value: Any, key: Any) -> Any:
    if isinstance(value, Mapping):
        wanted = str(key).lower()
        return next((v for k, v in value.items() if str(k).lower() == wanted), None)
    if isinstance(value, list) and isinstance(key, float) and key.is_integer() and 0 <= key < len(value):
        return value[int(key)]
    return None


def to_number(value: Any) -> float:
    if value is None or value is False:
        return 0.0
    if value is True:
        return 1.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        if value.strip() == "":
            return 0.0
        try:
            return float(value)
        except ValueError:
            return math.nan
    return math.nan


def compare(op: str, left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        a, b = left.lower(), right.lower()
    elif type(left) is type(right) and not isinstance(left, Mapping | list):
        a, b = left, right
    elif isinstance(left, Mapping | list) or isinstance(right, Mapping | list):
        return (left is right) == (op == "==") if op in ("==", "!=") else False
    else:
        a, b = to_number(left), to_number(right)
        if math.isnan(a) or math.isnan(b):
            return op == "!="
    return {
        "==": a == b,
        "!=": a != b,
        "<": a < b,
        "<=": a <= b,
        ">": a > b,
        ">=": a >= b,
    }[op]


def truthy(value: Any) -> bool:
    if isinstance(value, float):
        return value != 0 and not math.isnan(value)
    return value not in (None, False, "")


def to_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, Mapping | list):
        import json

        return json.dumps(value)
    return str(value)


def evaluate(text: str, contexts: Mapping[str, Any], status: str = "success") -> Any:
    return _Parser(text, contexts, status).parse()


def condition(text: str | bool | None, contexts: Mapping[str, Any], status: str = "success") -> bool:
    """An `if:` as the runner reads it: `${{ }}` optional; no status function means `success() && (...)`."""
    if text is None:
        return status == "success"
    if isinstance(text, bool):
        return text and status == "success"
    body = text.strip()
    match = re.fullmatch(r"\$\{\{(.*)\}\}", body, re.S)
    body = match[1] if match else body
    if not any(f in body.replace(" ", "").lower() for f in STATUS_FUNCTIONS):
        body = f"success() && ({body})"
    return truthy(evaluate(body, contexts, status))


def substitute(text: str, contexts: Mapping[str, Any]) -> str:
    """Replace every `${{ expr }}` in a string with the expression's value as a string."""
    return EMBEDDED.sub(lambda m: to_string(evaluate(m[1], contexts)), text)
