"""Reading raw tables by the schema, and the Parquet files one step hands to the next.

Raw CSVs are read with Arrow, each column with the type the schema gives it, so a categorical code such as
"007" stays text and a stray word in a numeric column is named instead of turning the column into text.
Intermediates are Parquet: it keeps those types (CSV would not), and it is written with fixed settings so the
same rows give the same bytes, and DVC skips the stages downstream of an unchanged one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ml.console import Progress
from ml.errors import EdgeTrainError
from ml.steps.schema import Schema

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

RAW_SUFFIXES = (".csv", ".parquet")
BATCH_ROWS = 1 << 17
"""Raw rows a step holds at once."""
CSV_BLOCK_BYTES = 2 << 20
"""CSV text Arrow parses at a time. Its streaming reader reads up to 32 blocks ahead of the rows taken
(32 MB blocks held a 1 GB file in memory): small blocks, grouped into batches of `BATCH_ROWS`."""
ROW_GROUP_ROWS = 1 << 17
"""Rows per row group of the Parquet files steps hand on: what a writer holds before it writes. Fixed, so a
file's bytes depend on its rows, not on the batches they arrived in."""


def raw_files(raw_dir: Path) -> list[Path]:
    """Every CSV and Parquet file under `raw_dir`, subfolders included, in path order (hidden ones skipped:
    an editor's or notebook's copy such as `.ipynb_checkpoints/x.csv` would count its rows twice)."""
    return sorted(p for p in _visible_files(raw_dir) if p.suffix.lower() in RAW_SUFFIXES)


def ignored_files(raw_dir: Path) -> list[Path]:
    """Files under `raw_dir` that `raw_files` does not read and a user may have meant as data."""
    read, visible = set(raw_files(raw_dir)), set(_visible_files(raw_dir))
    return sorted(
        p
        for p in raw_dir.rglob("*")
        if p.is_file() and p not in read and (p in visible or p.suffix.lower() in RAW_SUFFIXES)
    )


def _visible_files(raw_dir: Path) -> list[Path]:
    return [
        p
        for p in raw_dir.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(raw_dir).parts)
    ]


def read_raw_file(path: Path, schema: Schema) -> pd.DataFrame:
    """One raw file's schema columns, typed by the schema (booleans as 0/1 numbers, categories as text).

    An error names the file, column, line numbers and how many cells are wrong, never a cell's content:
    step errors reach cloud job logs, and the data must not.
    """
    batches = list(raw_batches(path, schema))
    if not batches:  # a header without rows
        return typed(pd.DataFrame(columns=[*schema.names, schema.label]), schema, path)
    return pd.concat(batches) if len(batches) > 1 else batches[0]


def raw_batches(path: Path, schema: Schema, progress: Progress | None = None) -> Iterator[pd.DataFrame]:
    """`read_raw_file`'s rows a batch at a time (index: the row's number in the file, from 0), so a step
    holds one batch of raw rows instead of the whole file. `progress` advances by the file's bytes."""
    import pyarrow as pa

    wanted = [*schema.names, schema.label]
    parquet = path.suffix.lower() == ".parquet"
    start = 0
    try:
        arrow = (
            _parquet_batches(path, wanted, progress)
            if parquet
            else _csv_batches(path, schema, wanted, progress)
        )
        for batch in _grouped(arrow, BATCH_ROWS):
            frame = batch.to_pandas()
            frame.index = pd.RangeIndex(start, start + len(frame))
            start += len(frame)
            if len(frame):
                yield typed(frame, schema, path)
    except pa.ArrowInvalid as exc:
        if parquet:
            raise EdgeTrainError(
                f"{path}: not a readable Parquet file ({first_clause(exc)})",
                hint="export it again, or restore it with `dvc checkout data.dvc`",
            ) from None
        raise csv_problem(path, schema, exc) from None


def _grouped(batches: Iterator, rows: int) -> Iterator:
    """Arrow record batches as tables of at least `rows` rows (the last one fewer)."""
    import pyarrow as pa

    pending: list = []
    for batch in batches:
        pending.append(batch)
        if sum(b.num_rows for b in pending) >= rows:
            yield pa.Table.from_batches(pending)
            pending = []
    if pending:
        yield pa.Table.from_batches(pending)


def _csv_batches(path: Path, schema: Schema, wanted: list[str], progress: Progress | None) -> Iterator:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    header = _csv_header(path)
    missing = [c for c in wanted if c not in header]
    if missing:
        raise EdgeTrainError(
            f"{path}: missing column(s): {', '.join(map(repr, missing))}",
            hint="the columns must match ml/steps/schema.yaml (or re-run `edge-train init --data`)",
        )
    arrow = {"numeric": pa.float64(), "boolean": pa.bool_(), "categorical": pa.string()}
    types = {name: arrow[kind] for name, kind in _kinds(schema).items()}
    options = pacsv.ConvertOptions(column_types=types, include_columns=wanted, strings_can_be_null=True)
    # From the path: through a Python stream, Arrow parses at half the speed.
    reader = pacsv.open_csv(
        path, read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES), convert_options=options
    )
    left = path.stat().st_size
    for batch in reader:  # a batch is a block of the file's bytes
        if progress:
            progress.advance(min(CSV_BLOCK_BYTES, left))
        left = max(left - CSV_BLOCK_BYTES, 0)
        yield batch
    if progress:
        progress.advance(left)


def _kinds(schema: Schema) -> dict[str, str]:
    """Each column's kind as read from the CSV; the label is a number for regression, else text."""
    kinds = {f.name: f.kind for f in schema.features}
    kinds[schema.label] = "numeric" if schema.task == "regression" else "categorical"
    return kinds


def _csv_header(path: Path) -> list[str]:
    import csv

    with path.open("rb") as handle:
        first = handle.readline()
    try:
        line = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise EdgeTrainError(f"{path}: not UTF-8 text (line 1)", hint=UTF8_HINT) from None
    header = next(csv.reader([line]), None)
    if not header:
        raise EdgeTrainError(f"{path}: the file is empty", hint="restore it with `dvc checkout data.dvc`")
    return header


def _parquet_batches(path: Path, wanted: list[str], progress: Progress | None) -> Iterator:
    import pyarrow.parquet as pq

    present = pq.read_schema(path).names
    missing = [c for c in wanted if c not in present]
    if missing:
        raise EdgeTrainError(
            f"{path}: missing column(s): {', '.join(map(repr, missing))}",
            hint="the columns must match ml/steps/schema.yaml",
        )
    with pq.ParquetFile(path) as file:
        share = path.stat().st_size / max(file.metadata.num_rows, 1)
        for batch in file.iter_batches(batch_size=BATCH_ROWS, columns=wanted, use_threads=True):
            if progress:
                progress.advance(int(share * batch.num_rows))
            yield batch


BROKEN_HINT = (
    "look for an unclosed double quote or a cut-off line; export the file again, then `dvc add data`"
)
UTF8_HINT = "save the file as UTF-8 CSV (e.g. `iconv -f latin1 -t utf-8`), then `dvc add data`"
SHOWN_LINES = 5
"""Line numbers listed per problem (the count says how many there are in all)."""
# Cells Arrow reads as missing, and its spellings of booleans (pyarrow.csv.ConvertOptions' defaults).
_NULLS = frozenset(
    {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "N/A"}
    | {"NA", "NULL", "NaN", "n/a", "nan", "null"}
)
_BOOLEANS = frozenset({"1", "True", "TRUE", "true", "0", "False", "FALSE", "false"})


def csv_problem(path: Path, schema: Schema, exc: Exception) -> EdgeTrainError:
    """What is wrong with a CSV that Arrow refused, in line numbers and counts (read only on this path).

    Arrow's own message quotes the offending row or value, so it is never shown beyond its first clause.
    """
    bad_byte = _first_non_utf8_line(path)
    if bad_byte is not None:
        return EdgeTrainError(f"{path}: not UTF-8 text (first at line {bad_byte})", hint=UTF8_HINT)
    import csv

    try:
        widths, cells, last, header = _scan(path, schema)
    except csv.Error:  # e.g. a stray quote that runs a field past the csv module's size limit
        return EdgeTrainError(f"{path}: cannot read it as CSV ({first_clause(exc)})", hint=BROKEN_HINT)
    if widths:
        line, width = widths[-1]
        if line == last and len(widths) == 1 and not _ends_with_newline(path):
            return EdgeTrainError(
                f"{path}: the file looks truncated: its last line ({line}) has {width} of {header} columns "
                "and no line end",
                hint="export the complete file again (or restore the committed data with `dvc checkout "
                "data.dvc`), then run `dvc add data`",
            )
        return EdgeTrainError(
            f"{path}: {len(widths)} line(s) do not have the header's {header} columns "
            f"({_lines([w[0] for w in widths])})",
            hint="fix those lines (a value with a comma needs double quotes), then `dvc add data`",
        )
    for name, lines in cells.items():
        if lines:
            kind = _kinds(schema)[name]
            return EdgeTrainError(
                f"{path}: column {name!r} must be {kind}: {len(lines)} cell(s) are not ({_lines(lines)})",
                hint="fix those cells (or leave them empty), or the column's kind in ml/steps/schema.yaml",
            )
    return EdgeTrainError(f"{path}: cannot read it as CSV ({first_clause(exc)})", hint=BROKEN_HINT)


def _first_non_utf8_line(path: Path) -> int | None:
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 1
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return lines + chunk.count(b"\n", 0, max(exc.start, 0))
            lines += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return lines
    return None


def _scan(path: Path, schema: Schema) -> tuple[list[tuple[int, int]], dict[str, list[int]], int, int]:
    """(lines of the wrong width with their width, lines of unconvertible cells per column, last line,
    header width)."""
    import csv

    kinds = {name: kind for name, kind in _kinds(schema).items() if kind != "categorical"}
    widths: list[tuple[int, int]] = []
    cells: dict[str, list[int]] = {name: [] for name in kinds}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        columns = [(header.index(name), name, kind) for name, kind in kinds.items() if name in header]
        last = reader.line_num
        for row in reader:
            last = reader.line_num
            if not row:
                continue
            if len(row) != len(header):
                widths.append((last, len(row)))
                continue
            for index, name, kind in columns:
                if not _fits(row[index], kind):
                    cells[name].append(last)
    return widths, cells, last, len(header)


def _fits(cell: str, kind: str) -> bool:
    if cell in _NULLS:
        return True
    if kind == "boolean":
        return cell in _BOOLEANS
    try:
        float(cell)
    except ValueError:
        return False
    return "_" not in cell  # Python reads 1_000 as a number, Arrow does not


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, 2)
        return handle.read(1) in (b"\n", b"\r")


def _lines(lines: list[int], unit: str = "line") -> str:
    """`line 7` or `lines 2, 7, …`: where, never what."""
    shown = ", ".join(str(n) for n in lines[:SHOWN_LINES]) + (", …" if len(lines) > SHOWN_LINES else "")
    return f"{unit}{'s' if len(lines) > 1 else ''} {shown}"


def first_clause(exc: Exception) -> str:
    """Arrow's error up to its first colon: the kind of failure, without the row or value it goes on to quote
    (`init --data` shows Arrow's errors by the same rule)."""
    return " ".join(str(exc).split()).split(":", 1)[0][:120]


def typed(frame: pd.DataFrame, schema: Schema, path: Path | str = "data") -> pd.DataFrame:
    """The schema's columns in schema order: numbers float64, booleans 0/1 float64, categories text.

    Feature values may be missing (the model imputes numbers; a missing category is ""); labels may not,
    and no number may be infinite (no scaler or estimator takes it).
    """
    import numpy as np

    columns: dict[str, pd.Series] = {}
    for feature in schema.features:
        column = frame[feature.name]
        if feature.kind == "categorical":
            # A missing category is the category "": the ONNX model and the server see the same.
            columns[feature.name] = column.astype("string").fillna("").astype(object)
            continue
        try:
            number = column if column.dtype == "float64" else pd.to_numeric(column.astype("float64"))
        except (TypeError, ValueError):
            raise EdgeTrainError(
                f"{path}: column {feature.name!r} must be {feature.kind}, found {column.dtype}",
                hint="fix the values in the file, or the column's kind in ml/steps/schema.yaml",
            ) from None
        infinite = np.isinf(number)
        if infinite.any():
            raise EdgeTrainError(
                f"{path}: column {feature.name!r} has {int(infinite.sum())} infinite value(s) "
                f"({_where(path, infinite)})",
                hint="replace them with numbers, or leave the cells empty (missing values are imputed)",
            )
        columns[feature.name] = number
    columns[schema.label] = _labels(frame[schema.label], schema, path)
    return pd.DataFrame(columns, index=frame.index)


def _where(path: Path | str, bad: pd.Series) -> str:
    """The file lines (CSV: the header is line 1) or rows (Parquet) where `bad` holds, a few of them."""
    rows = bad[bad].index
    if str(path).lower().endswith(".parquet"):
        return _lines((rows + 1).tolist(), "row")
    return _lines((rows + 2).tolist())


def _labels(column: pd.Series, schema: Schema, path: Path | str) -> pd.Series:
    missing = column.isna()
    if missing.any():
        raise EdgeTrainError(
            f"{path}: {int(missing.sum())} missing value(s) in label {schema.label!r} "
            f"({_where(path, missing)})",
            hint="every row needs a label; drop or fix those rows",
        )
    if schema.task == "regression":
        values = column.astype("float64")
        infinite = values.abs() == float("inf")
        if infinite.any():
            raise EdgeTrainError(
                f"{path}: {int(infinite.sum())} infinite value(s) in label {schema.label!r} "
                f"({_where(path, infinite)})",
                hint="every label must be a finite number; fix or drop those rows",
            )
        return values
    if _numbers(column) and all(_integer(c) for c in schema.classes):
        return _integer_labels(column, schema, path)
    by_text = {str(c): c for c in schema.classes}
    text = column.astype(str).str.strip()
    # "1.0" in a float column is the class 1: compare numbers as numbers.
    numeric = pd.to_numeric(text, errors="coerce")
    for value in schema.classes:
        if isinstance(value, int | float) and not isinstance(value, bool):
            text = text.where(~(numeric == value), str(value))
    unexpected = ~text.isin(list(by_text))
    if unexpected.any():
        raise _not_a_class(unexpected, schema, path)
    values = text.map(by_text)
    kinds = {type(c) for c in schema.classes}
    return values.astype("int64") if kinds == {int} else values.astype(object)


def _numbers(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _integer_labels(column: pd.Series, schema: Schema, path: Path | str) -> pd.Series:
    """`_labels` for a column of numbers and classes that are integers, without text: a value is the class
    it equals as a number (1.0 is the class 1), as the text comparison decides; a tenth of its time."""
    unexpected = ~column.isin(list(schema.classes))
    if unexpected.any():
        raise _not_a_class(unexpected, schema, path)
    return column.astype("int64")


def _not_a_class(unexpected: pd.Series, schema: Schema, path: Path | str) -> EdgeTrainError:
    # The values themselves are data: only where they are and how many.
    return EdgeTrainError(
        f"{path}: label {schema.label!r} is not one of the schema's classes {list(schema.classes)} "
        f"in {int(unexpected.sum())} row(s) ({_where(path, unexpected)})",
        hint="fix the labels, or the classes in ml/steps/schema.yaml",
    )


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write `frame` with fixed settings: the same rows always give the same bytes."""
    with ParquetRows(path) as rows:
        rows.add(frame)


def arrow_table(frame: pd.DataFrame) -> pa.Table:
    """A frame's rows as Arrow, as every intermediate file stores them (no index)."""
    import pyarrow as pa

    return pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)


def parquet_settings(schema: pa.Schema) -> dict[str, object]:
    """How every intermediate Parquet file is written (beyond its row groups): fixed, so the same rows give
    the same bytes. Snappy, with dictionaries for text columns only: on number columns a dictionary is
    abandoned page after page, and made the files larger and their writing five times slower (a million
    rows of the example: 2.6 s and 212 MB with zstd and dictionaries, 0.5 s and 187 MB like this)."""
    import pyarrow as pa

    return {
        "compression": "snappy",
        "use_dictionary": [field.name for field in schema if pa.types.is_string(field.type)],
        "write_statistics": False,
        "store_schema": True,
    }


class RowSpool:
    """Checked rows kept between a step's two passes, so the second reads them back instead of parsing and
    checking the raw files again (the parse and the checks were most of `prepare` at a million rows).

    An anonymous temp file of Arrow batches, on local disk rather than in memory (10M rows are 2.5 GB) and
    gone when closed or when the process ends, however it ends.
    """

    def __init__(self) -> None:
        import tempfile

        self._file = tempfile.TemporaryFile(prefix="edge-train-rows.")  # noqa: SIM115 - closed by __exit__
        self._writer = None

    def add(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa

        table = arrow_table(frame)
        if self._writer is None:
            self._writer = pa.ipc.new_stream(self._file, table.schema)
        self._writer.write_table(table)

    def tables(self) -> Iterator[pa.Table]:
        """The rows in the order they were added, a batch at a time."""
        import pyarrow as pa

        if self._writer is None:
            return
        self._writer.close()
        self._file.seek(0)
        for batch in pa.ipc.open_stream(self._file):
            yield pa.Table.from_batches([batch])

    def __enter__(self) -> RowSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()


class ParquetRows:
    """A Parquet file written from batches of rows, with the bytes `pq.write_table` gives the whole table
    (row groups of `ROW_GROUP_ROWS`).

    Row groups are cut at every `ROW_GROUP_ROWS` rows and each is written from one contiguous chunk, so the
    bytes depend on the rows alone, not on how they arrived: reading the raw data in batches of any size
    gives the same file, and DVC skips the stages after an unchanged one.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._pending: list = []
        self._rows = 0
        self._writer = None
        self._schema = None

    def add(self, rows: pd.DataFrame | pa.Table) -> None:
        """Rows as a frame, or as the Arrow table `RowSpool` gives back (the same schema and bytes)."""
        import pyarrow as pa

        table = rows if isinstance(rows, pa.Table) else arrow_table(rows)
        self._schema = self._schema or table.schema
        self._pending.append(table)
        self._rows += len(table)
        while self._rows >= ROW_GROUP_ROWS:
            self._write(ROW_GROUP_ROWS)

    def _write(self, rows: int) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pending = pa.concat_tables(self._pending) if self._pending else self._schema.empty_table()
        group, rest = pending.slice(0, rows).combine_chunks(), pending.slice(rows)
        self._pending, self._rows = ([rest] if len(rest) else []), len(rest)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._path, self._schema, **parquet_settings(self._schema))
        self._writer.write_table(group, row_group_size=ROW_GROUP_ROWS)

    def __enter__(self) -> ParquetRows:
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        if kind is None and self._schema is not None and (self._rows or self._writer is None):
            self._write(self._rows)
        if self._writer is not None:
            self._writer.close()


def read_parquet(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A Parquet file as a frame, converting column by column and freeing each Arrow column as it goes, so
    the file's rows are in memory once at the end of the read, not twice."""
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=columns).to_pandas(self_destruct=True, split_blocks=True)


SCORE_BATCH_ROWS = 1 << 16
"""Rows a model scores at once: scikit-learn copies its input at each transform, so on a slice the copies
are a slice's size, not the table's. Each row's answer does not depend on the others in its slice."""


def in_batches(score: Callable, frame: pd.DataFrame | np.ndarray, label: str) -> np.ndarray:
    """`score(frame)`, computed a slice of rows at a time (progress shown as `label` on long ones)."""
    import numpy as np

    parts = []
    with Progress(label, len(frame), unit="rows", worth=4 * SCORE_BATCH_ROWS) as progress:
        for start in range(0, len(frame), SCORE_BATCH_ROWS):
            part = (
                frame.iloc[start : start + SCORE_BATCH_ROWS]
                if hasattr(frame, "iloc")
                else frame[start : start + SCORE_BATCH_ROWS]
            )
            parts.append(score(part))
            progress.advance(len(part))
    return np.concatenate(parts) if parts else score(frame)
