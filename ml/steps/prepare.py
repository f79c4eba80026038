"""Step 1: check the raw data against the schema and split it into train and test sets.

The split is seeded (and stratified for classifiers), so the same data and params always give the same sets,
and the Parquet files the same bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import typer

from ml.atomic import atomic_output_dir
from ml.errors import EdgeTrainError
from ml.paths import TEST_FILE, TRAIN_FILE
from ml.stepkit import run_step
from ml.steps.schema import Schema, load_schema
from ml.steps.tables import ignored_files, raw_files, read_raw_file, write_parquet
from ml.tracking import log_step


def read_raw(raw_dir: Path, schema: Schema | None = None) -> pd.DataFrame:
    """Every CSV/Parquet file under `raw_dir` (subfolders too), each checked against the schema,
    concatenated in path order. Files it does not read are named in a warning, never skipped silently."""
    schema = schema or load_schema()
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
    frames = [check_schema(path, schema) for path in files]
    frame = pd.concat(frames, ignore_index=True)
    check_classes(frame, raw_dir, schema)
    for name, problem in useless_features(frame, schema).items():
        print(
            f"! {raw_dir}: feature {name!r} is {problem}: the model learns nothing from it "
            "(remove it from ml/steps/schema.yaml to silence this)",
            file=sys.stderr,
        )
    return frame


def useless_features(frame: pd.DataFrame, schema: Schema) -> dict[str, str]:
    """Features with no values or a single value: trained on anyway (imputed or constant), but said."""
    found: dict[str, str] = {}
    for name in schema.names:
        column = frame[name]
        distinct = column[column != ""].nunique(dropna=True)  # a missing category was read as ""
        if distinct == 0:
            found[name] = "missing in every row"
        elif distinct == 1:
            found[name] = "the same in every row"
    return found


def check_schema(path: Path, schema: Schema | None = None) -> pd.DataFrame:
    """Load one raw file and fail with the file and problem named if it does not fit the schema."""
    frame = read_raw_file(path, schema or load_schema())
    if frame.empty:
        raise EdgeTrainError(
            f"{path}: the file has a header but no rows", hint="restore it with `dvc checkout`"
        )
    return frame


def check_classes(frame: pd.DataFrame, where: Path | str, schema: Schema) -> None:
    """A classifier needs rows of every class the schema declares (the values named are the schema's)."""
    if not schema.is_classifier:
        return
    counts = frame[schema.label].value_counts()
    present = [c for c in schema.classes if counts.get(c, 0)]
    absent = [c for c in schema.classes if not counts.get(c, 0)]
    if len(present) < 2:
        raise EdgeTrainError(
            f"{where}: label {schema.label!r} has a single class ({present[0]!r}) in all {len(frame)} rows: "
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
    from sklearn.model_selection import train_test_split

    schema = schema or load_schema()
    stratify = None
    if schema.is_classifier:
        counts = frame[schema.label].value_counts()
        if (counts < 2).any():
            raise EdgeTrainError(
                f"label {schema.label!r}: class(es) {counts[counts < 2].index.tolist()} have a single row",
                hint="every class needs at least two rows to be both trained on and tested",
            )
        stratify = frame[schema.label]
    train, test = train_test_split(frame, test_size=test_size, random_state=seed, stratify=stratify)
    return train.sort_index(), test.sort_index()


def summary(frame: pd.DataFrame, schema: Schema) -> dict[str, float]:
    """Aggregates worth tracking per task: class shares for classifiers, the label's spread for regression."""
    labels = frame[schema.label]
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
    frame = read_raw(raw_data, schema)
    train, test = split(frame, test_size, seed, schema)
    with atomic_output_dir(prepared) as out:
        write_parquet(train, out / TRAIN_FILE)
        write_parquet(test, out / TEST_FILE)
    log_step(
        "prepare",
        params={"test_size": test_size, "seed": seed},
        metrics={"rows_train": len(train), "rows_test": len(test), **summary(frame, schema)},
    )
    files = len(raw_files(raw_data))
    print(
        f"prepare: {len(frame)} rows from {files} file(s) checked -> {len(train)} train, {len(test)} test "
        f"in {prepared}"
    )


if __name__ == "__main__":
    run_step(main)
