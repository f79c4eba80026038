"""Reading raw tables by the schema, and the Parquet files one step hands to the next.

Raw CSVs are read with Arrow, each column with the type the schema gives it, so a categorical code such as
"007" stays text and a stray word in a numeric column is named instead of turning the column into text.
Intermediates are Parquet: it keeps those types (CSV would not), and it is written with fixed settings so the
same rows give the same bytes, and DVC skips the stages downstream of an unchanged one.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ml.errors import EdgeTrainError
from ml.steps.schema import Schema

RAW_SUFFIXES = (".csv", ".parquet")


def raw_files(raw_dir: Path) -> list[Path]:
    return sorted(p for p in raw_dir.rglob("*") if p.suffix in RAW_SUFFIXES and p.is_file())


def read_raw_file(path: Path, schema: Schema) -> pd.DataFrame:
    """One raw file's schema columns, typed by the schema (booleans as 0/1 numbers, categories as text)."""
    import pyarrow as pa

    wanted = [*schema.names, schema.label]
    try:
        if path.suffix == ".parquet":
            table = _read_parquet_columns(path, wanted)
        else:
            table = _read_csv_columns(path, schema, wanted)
    except pa.ArrowInvalid as exc:
        raise EdgeTrainError(
            f"{path}: {_arrow_reason(exc, path, schema)}",
            hint="fix the value in the file, or the column's kind in ml/steps/schema.yaml",
        ) from None
    frame = table.to_pandas()
    return typed(frame, schema, path)


def _read_csv_columns(path: Path, schema: Schema, wanted: list[str]):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    header = _csv_header(path)
    missing = [c for c in wanted if c not in header]
    if missing:
        raise EdgeTrainError(
            f"{path}: missing column(s): {', '.join(map(repr, missing))}",
            hint="the columns must match ml/steps/schema.yaml (or re-run `edge-train init --data`)",
        )
    kinds = {f.name: f.kind for f in schema.features}
    types = {
        name: pa.float64() if kind == "numeric" else pa.bool_() if kind == "boolean" else pa.string()
        for name, kind in kinds.items()
    }
    types[schema.label] = pa.float64() if schema.task == "regression" else pa.string()
    return pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            column_types=types, include_columns=wanted, strings_can_be_null=True
        ),
    )


def _csv_header(path: Path) -> list[str]:
    import csv

    try:
        with path.open(encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError as exc:
        raise EdgeTrainError(
            f"{path}: not UTF-8 text (byte {exc.start})", hint="save the file as UTF-8 CSV"
        ) from None
    if not header:
        raise EdgeTrainError(f"{path}: the file is empty", hint="restore it with `dvc checkout data.dvc`")
    return header


def _read_parquet_columns(path: Path, wanted: list[str]):
    import pyarrow.parquet as pq

    present = pq.read_schema(path).names
    missing = [c for c in wanted if c not in present]
    if missing:
        raise EdgeTrainError(
            f"{path}: missing column(s): {', '.join(map(repr, missing))}",
            hint="the columns must match ml/steps/schema.yaml",
        )
    return pq.read_table(path, columns=wanted)


def _arrow_reason(exc: Exception, path: Path, schema: Schema) -> str:
    """Arrow's conversion error in the schema's words: the column's name and kind, the value, the line."""
    import re

    text = " ".join(str(exc).split())
    found = re.search(r"CSV column #(\d+):.*?conversion error to \w+: invalid value '(.*?)'", text)
    if not found or path.suffix != ".csv":
        return text[:300]
    index, value = int(found.group(1)), found.group(2)
    name = _csv_header(path)[index]
    kind = {f.name: f.kind for f in schema.features}.get(name, "numeric")
    return f"column {name!r} must be {kind}, found {value!r} (line {_first_line(path, index, value)})"


def _first_line(path: Path, index: int, value: str) -> int | None:
    """The file line where `value` first stands in column `index` (read only when reporting an error)."""
    import csv

    with path.open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.reader(handle), 1):
            if line > 1 and len(row) > index and row[index] == value:
                return line
    return None


def typed(frame: pd.DataFrame, schema: Schema, path: Path | str = "data") -> pd.DataFrame:
    """The schema's columns in schema order: numbers float64, booleans 0/1 float64, categories text.

    Feature values may be missing (the model imputes numbers; a missing category is ""); labels may not.
    """
    out = pd.DataFrame(index=frame.index)
    for feature in schema.features:
        column = frame[feature.name]
        if feature.kind == "categorical":
            # A missing category is the category "": the ONNX model and the server see the same.
            out[feature.name] = column.astype("string").fillna("").astype(object)
        else:
            try:
                out[feature.name] = pd.to_numeric(column.astype("float64"), errors="raise")
            except (TypeError, ValueError):
                raise EdgeTrainError(
                    f"{path}: column {feature.name!r} must be {feature.kind}, found {column.dtype}",
                    hint="fix the values in the file, or the column's kind in ml/steps/schema.yaml",
                ) from None
    out[schema.label] = _labels(frame[schema.label], schema, path)
    return out


def _labels(column: pd.Series, schema: Schema, path: Path | str) -> pd.Series:
    missing = column.isna()
    if missing.any():
        raise EdgeTrainError(
            f"{path}: {int(missing.sum())} missing value(s) in label {schema.label!r} "
            f"(lines {(missing[missing].index[:5] + 2).tolist()})",
            hint="every row needs a label; drop or fix those rows",
        )
    if schema.task == "regression":
        return column.astype("float64")
    by_text = {str(c): c for c in schema.classes}
    text = column.astype(str).str.strip()
    # "1.0" in a float column is the class 1: compare numbers as numbers.
    numeric = pd.to_numeric(text, errors="coerce")
    for value in schema.classes:
        if isinstance(value, int | float) and not isinstance(value, bool):
            text = text.where(~(numeric == value), str(value))
    unexpected = sorted(set(text) - set(by_text))
    if unexpected:
        raise EdgeTrainError(
            f"{path}: label {schema.label!r} has {len(unexpected)} unexpected value(s), e.g. "
            f"{unexpected[:5]}; the schema's classes are {list(schema.classes)}",
            hint="fix the labels, or the classes in ml/steps/schema.yaml",
        )
    values = text.map(by_text)
    kinds = {type(c) for c in schema.classes}
    return values.astype("int64") if kinds == {int} else values.astype(object)


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write `frame` with fixed settings: the same rows always give the same bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    pq.write_table(table, path, compression="zstd", write_statistics=False, store_schema=True)


def read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pandas()
