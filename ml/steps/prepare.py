"""Step 1: check the raw data against the schema and split it into train and test sets.

The split is seeded (and stratified for classifiers), so the same data and params always give the same sets,
and the Parquet files the same bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import typer

from ml.atomic import atomic_output_dir
from ml.console import Progress
from ml.errors import EdgeTrainError
from ml.paths import TEST_FILE, TRAIN_FILE
from ml.stepkit import run_step
from ml.steps.schema import Schema, load_schema
from ml.steps.tables import ParquetRows, RowSpool, ignored_files, raw_batches, raw_files, read_raw_file
from ml.tracking import log_step


def read_raw(raw_dir: Path, schema: Schema | None = None) -> pd.DataFrame:
    """Every raw file under `raw_dir` checked (as `scan` does) and concatenated in path order, in memory:
    for tests and small tables; the step itself streams the rows (`main`)."""
    schema = schema or load_schema()
    scan(raw_dir, schema)
    frames = [batch for path in raw_files(raw_dir) for batch in raw_batches(path, schema)]
    return pd.concat(frames, ignore_index=True)


def data_files(raw_dir: Path) -> list[Path]:
    """The raw files to read; files it does not read are named in a warning, never skipped silently."""
    files = raw_files(raw_dir)
    if not files:
        raise EdgeTrainError(
            f"{raw_dir}: no .csv or .parquet files",
            hint="restore the data with `dvc pull` or `edge-train run`",
        )
    ignored = ignored_files(raw_dir)
    if ignored:
        names = ", ".join(p.relative_to(raw_dir).as_posix() for p in ignored[:5])
        print(
            f"! {raw_dir}: {len(ignored)} file(s) not read ({names}{', …' if len(ignored) > 5 else ''}): "
            "only .csv and .parquet files outside hidden folders are training data",
            file=sys.stderr,
        )
    return files


def scan(
    raw_dir: Path, schema: Schema, progress: Progress | None = None, keep: RowSpool | None = None
) -> pd.Series:
    """The first pass: every raw file checked against the schema a batch at a time, before anything is
    written. Returns what the split needs (the labels, numbered 0.. across the files in path order); the
    checked rows go to `keep`, for the second pass."""
    labels: list[pd.Series] = []
    distinct: dict[str, set] = {name: set() for name in schema.names}
    for path in data_files(raw_dir):
        rows = 0
        for batch in raw_batches(path, schema, progress):
            rows += len(batch)
            labels.append(batch[schema.label])
            if keep is not None:
                keep.add(batch)
            for name, seen in distinct.items():
                if len(seen) < 2:  # two values show the feature varies
                    column = batch[name]
                    seen.update(column[column != ""].dropna().unique()[:2].tolist())
        if not rows:
            raise EdgeTrainError(
                f"{path}: the file has a header but no rows", hint="restore it with `dvc checkout`"
            )
    label = pd.concat(labels, ignore_index=True)
    check_classes(label, raw_dir, schema)
    for name, seen in distinct.items():
        if len(seen) < 2:
            problem = "missing in every row" if not seen else "the same in every row"
            print(
                f"! {raw_dir}: feature {name!r} is {problem}: the model learns nothing from it "
                "(remove it from ml/steps/schema.yaml to silence this)",
                file=sys.stderr,
            )
    return label


def check_schema(path: Path, schema: Schema | None = None) -> pd.DataFrame:
    """Load one raw file and fail with the file and problem named if it does not fit the schema."""
    frame = read_raw_file(path, schema or load_schema())
    if frame.empty:
        raise EdgeTrainError(
            f"{path}: the file has a header but no rows", hint="restore it with `dvc checkout`"
        )
    return frame


def check_classes(labels: pd.Series, where: Path | str, schema: Schema) -> None:
    """A classifier needs rows of every class the schema declares (the values named are the schema's)."""
    if not schema.is_classifier:
        return
    counts = labels.value_counts()
    present = [c for c in schema.classes if counts.get(c, 0)]
    absent = [c for c in schema.classes if not counts.get(c, 0)]
    if len(present) < 2:
        raise EdgeTrainError(
            f"{where}: label {schema.label!r} has a single class ({present[0]!r}) in all {len(labels)} rows: "
            "there is nothing to learn",
            hint="add rows of the other class(es), or check that the label in ml/steps/schema.yaml is the "
            "column to predict",
        )
    if absent:
        raise EdgeTrainError(
            f"{where}: no rows of class(es) {absent} of label {schema.label!r} (ml/steps/schema.yaml lists "
            f"{list(schema.classes)})",
            hint="add rows of those classes, or remove them from classes: in ml/steps/schema.yaml",
        )


def split(
    frame: pd.DataFrame, test_size: float, seed: int, schema: Schema | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`frame` (numbered 0..) as its train and test rows, by `held_out_rows`, each in the frame's order."""
    schema = schema or load_schema()
    chosen = held_out_rows(frame[schema.label], test_size, seed, schema)
    return frame[~chosen], frame[chosen]


def held_out_rows(labels: pd.Series, test_size: float, seed: int, schema: Schema) -> np.ndarray:
    """Which rows are test rows: a seeded split, stratified by label for classifiers. It needs the labels
    only, so the step splits rows it has not loaded."""
    from sklearn.model_selection import train_test_split

    stratify = None
    if schema.is_classifier:
        counts = labels.value_counts()
        if (counts < 2).any():
            raise EdgeTrainError(
                f"label {schema.label!r}: class(es) {counts[counts < 2].index.tolist()} have a single row",
                hint="every class needs at least two rows to be both trained on and tested",
            )
        stratify = labels.to_numpy()
    rows = np.arange(len(labels))
    _, test = train_test_split(rows, test_size=test_size, random_state=seed, stratify=stratify)
    chosen = np.zeros(len(labels), dtype=bool)
    chosen[test] = True
    return chosen


def write_split(
    rows: RowSpool, chosen: np.ndarray, out: Path, progress: Progress, raw_bytes: int = 0
) -> None:
    """The second pass: the checked rows again, a batch at a time, each to the train or the test file
    (`progress` advances by the batch's share of `raw_bytes`)."""
    import pyarrow as pa

    start = 0
    with ParquetRows(out / TRAIN_FILE) as train, ParquetRows(out / TEST_FILE) as test:
        for batch in rows.tables():
            here = chosen[start : start + len(batch)]
            start += len(batch)
            train.add(batch.filter(pa.array(~here)))
            test.add(batch.filter(pa.array(here)))
            progress.advance(raw_bytes * len(batch) // max(len(chosen), 1))


def summary(labels: pd.Series, schema: Schema) -> dict[str, float]:
    """Aggregates worth tracking per task: class shares for classifiers, the label's spread for regression."""
    if schema.task == "regression":
        return {"label_mean": float(labels.mean()), "label_std": float(labels.std())}
    if schema.task == "binary":
        return {"positive_share": float((labels == schema.classes[1]).mean())}
    return {"majority_class_share": float(labels.value_counts(normalize=True).iloc[0])}


def main(
    raw_data: Path = typer.Option(..., help="folder of raw CSV or Parquet files"),
    prepared: Path = typer.Option(..., help="folder to write train.parquet and test.parquet to"),
    test_size: float = typer.Option(0.2),
    seed: int = typer.Option(42),
) -> None:
    schema = load_schema()
    size = sum(path.stat().st_size for path in raw_files(raw_data))
    with (
        Progress("prepare: checking, then splitting the raw data", 2 * size) as progress,
        RowSpool() as rows,
    ):
        labels = scan(raw_data, schema, progress, keep=rows)
        chosen = held_out_rows(labels, test_size, seed, schema)
        with atomic_output_dir(prepared) as out:
            write_split(rows, chosen, out, progress, raw_bytes=size)
    rows_test = int(chosen.sum())
    rows_train = len(labels) - rows_test
    log_step(
        "prepare",
        params={"test_size": test_size, "seed": seed},
        metrics={"rows_train": rows_train, "rows_test": rows_test, **summary(labels, schema)},
    )
    files = len(raw_files(raw_data))
    print(
        f"prepare: {len(labels)} rows from {files} file(s) checked -> {rows_train} train, {rows_test} test "
        f"in {prepared}"
    )


if __name__ == "__main__":
    run_step(main)
