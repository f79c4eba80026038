"""Read a user's table once and decide its schema: each column's kind, the label's task and classes.

Every check runs before anything is written, so a bad file (no such label, one class, not UTF-8, empty)
fails with one message and leaves the checkout as it was. Large files are streamed with a progress display.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ml.errors import EdgeTrainError
from ml.steps.schema import Feature, Schema, parse_schema

MAX_LISTED_CATEGORIES = 50
"""A categorical feature lists its categories in the schema up to this many (synthetic data uses them)."""
MAX_CLASSES = 200
"""More distinct label values than this is not a classification anyone means: a regression or an id."""
MAX_AUTO_CLASSES = 20
"""An integer label with at most this many values is taken for classes (auto task); more is a regression."""
ID_NAME = re.compile(r"(^|[_\s-])(id|uuid|guid|key)$", re.IGNORECASE)


@dataclass(frozen=True)
class Decision:
    schema: Schema
    rows: int
    dropped: dict[str, str] = field(default_factory=dict)
    """Columns left out of the features, with the reason (identifier, constant, all missing)."""
    missing: dict[str, int] = field(default_factory=dict)
    """Features with missing values, and how many (the model imputes them)."""
    warnings: list[str] = field(default_factory=list)


def infer(
    path: Path,
    label: str,
    task: str = "auto",
    progress: bool = True,
    list_categories: bool = True,
) -> Decision:
    """The schema `path` implies with `label` as the column to predict; EdgeTrainError on bad input.

    `list_categories` False keeps category values out of the schema (a tracked file that travels with
    the code to Azure ML): the model learns them from the data on the edge either way.
    """
    table = read_table(path, label, progress)
    if label not in table.column_names:
        shown = ", ".join(repr(c) for c in table.column_names[:20])
        raise EdgeTrainError(
            f"{path}: no column {label!r} to predict (columns: {shown}"
            + (", …)" if len(table.column_names) > 20 else ")"),
            hint="pass --label with one of the columns above (names are case-sensitive)",
        )
    if table.num_rows == 0:
        raise EdgeTrainError(f"{path}: a header but no rows", hint="give a file with data rows")
    features, dropped, missing = _features(table, label, list_categories)
    if not features:
        raise EdgeTrainError(
            f"{path}: no usable feature besides {label!r} "
            f"({'; '.join(f'{k}: {v}' for k, v in dropped.items())})",
            hint="a table needs at least one column that varies, besides the label",
        )
    decided_task, classes, warnings = _task(path, table.column(label), label, task)
    schema = parse_schema(
        {
            "task": decided_task,
            "label": label,
            "classes": list(classes),
            "features": {f.name: {"kind": f.kind, "categories": list(f.categories)} for f in features},
        },
        str(path),
    )
    return Decision(schema=schema, rows=table.num_rows, dropped=dropped, missing=missing, warnings=warnings)


def read_table(path: Path, label: str, progress: bool = True):
    """The whole table as Arrow (label read as text, so "007" and "1.0" keep their spelling)."""
    import pyarrow as pa

    if not path.is_file():
        raise EdgeTrainError(
            f"{path}: no such file", hint="pass --data with the path of your CSV or Parquet file"
        )
    size = path.stat().st_size
    if size == 0:
        raise EdgeTrainError(f"{path}: the file is empty", hint="give a CSV file with a header line and rows")
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        try:
            return pq.read_table(path)
        except pa.ArrowInvalid as exc:
            from ml.steps.tables import first_clause

            raise EdgeTrainError(
                f"{path}: not a readable Parquet file ({first_clause(exc)})", hint="export it again"
            ) from None
    _check_utf8_header(path)
    from ml.console import CountingReader, Progress

    worth = 8 << 20 if progress else size  # off: never worth showing
    with path.open("rb") as raw, Progress(f"reading {path.name}", size, worth=worth) as bar:
        return _read_csv(CountingReader(raw, bar), path, label)


def _read_csv(stream: BinaryIO, path: Path, label: str):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=8 << 20),
            convert_options=pacsv.ConvertOptions(column_types={label: pa.string()}, strings_can_be_null=True),
        )
        return reader.read_all()
    except pa.ArrowInvalid as exc:
        text = " ".join(str(exc).split())
        if "utf8" in text.lower() or "utf-8" in text.lower():
            raise EdgeTrainError(f"{path}: not UTF-8 text", hint="save the file as UTF-8 CSV") from None
        if "Empty CSV file" in text:
            raise EdgeTrainError(
                f"{path}: the file is empty", hint="give a CSV file with a header line"
            ) from None
        from ml.steps.tables import first_clause

        raise EdgeTrainError(
            f"{path}: cannot read it as CSV ({first_clause(exc)})", hint="check the file"
        ) from None


def _check_utf8_header(path: Path) -> None:
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            line = head.count(b"\n", 0, exc.start) + 1
            raise EdgeTrainError(
                f"{path}: not UTF-8 text (line {line})",
                hint="save the file as UTF-8 CSV (e.g. `iconv -f latin1 -t utf-8`)",
            ) from None


def _features(
    table, label: str, list_categories: bool
) -> tuple[list[Feature], dict[str, str], dict[str, int]]:
    import pyarrow as pa
    import pyarrow.compute as pc

    features: list[Feature] = []
    dropped: dict[str, str] = {}
    missing: dict[str, int] = {}
    rows = table.num_rows
    for name in table.column_names:
        if name == label:
            continue
        column = table.column(name)
        nulls = column.null_count
        if nulls == rows:
            dropped[name] = "all values missing"
            continue
        distinct = pc.count_distinct(column).as_py()
        if distinct <= 1:
            dropped[name] = "constant (one value)"
            continue
        kind = _kind(column.type)
        unique_per_row = distinct == rows - nulls and rows > 20
        if unique_per_row and (
            kind == "categorical" or (pa.types.is_integer(column.type) and ID_NAME.search(name))
        ):
            dropped[name] = "identifier (a different value on every row)"
            continue
        if nulls:
            missing[name] = nulls
        categories: tuple[str, ...] = ()
        if kind == "categorical" and list_categories:
            values = pc.unique(column.cast(pa.string())).drop_null().to_pylist()
            if len(values) <= MAX_LISTED_CATEGORIES:
                categories = tuple(sorted(values))
        features.append(Feature(name, kind, categories))
    return features, dropped, missing


def _kind(arrow_type) -> str:
    import pyarrow as pa

    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type):
        return "numeric"
    return "categorical"


def _task(path: Path, column, label: str, wanted: str) -> tuple[str, tuple, list[str]]:
    """The task and classes the label supports; `wanted` (auto|binary|multiclass|regression) overrides."""
    import pyarrow.compute as pc

    nulls = column.null_count
    if nulls:
        raise EdgeTrainError(
            f"{path}: {nulls} row(s) have no value in label {label!r}",
            hint="every row needs a label: drop or fill those rows, then run init again",
        )
    values = sorted(set(pc.utf8_trim_whitespace(pc.unique(column)).to_pylist()))
    numbers = _numbers(values)
    if len(values) < 2:
        raise EdgeTrainError(
            f"{path}: label {label!r} has a single value in all {len(column)} rows: nothing to learn",
            hint="pick the column that varies, or add rows of the other class(es)",
        )
    if wanted == "regression" or (wanted == "auto" and numbers is not None and _continuous(numbers)):
        if numbers is None:
            raise EdgeTrainError(
                f"{path}: label {label!r} is text with {len(values)} distinct values: "
                "a regression needs numbers",
                hint="pass --task multiclass if the values are classes, or pick a numeric label",
            )
        return "regression", (), []
    if len(values) > MAX_CLASSES:
        raise EdgeTrainError(
            f"{path}: label {label!r} has {len(values)} distinct values: too many classes to learn",
            hint="pass --task regression if the values are quantities; an identifier is not a label",
        )
    task = "binary" if len(values) == 2 else "multiclass"
    if wanted not in ("auto", task):
        raise EdgeTrainError(
            f"{path}: --task {wanted} but label {label!r} has {len(values)} classes",
            hint=f"pass --task {task} (or auto)",
        )
    classes = (
        tuple(sorted(int(n) for n in numbers))
        if numbers and all(n == int(n) for n in numbers)
        else tuple(values)
    )
    return task, classes, []


def _numbers(values: list[str]) -> list[float] | None:
    try:
        return [float(v) for v in values]
    except ValueError:
        return None


def _continuous(numbers: list[float]) -> bool:
    """Numbers that look like quantities: any fraction, or more integers than classes anyone means."""
    return any(n != int(n) for n in numbers) or len(numbers) > MAX_AUTO_CLASSES
