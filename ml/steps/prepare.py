"""Step 1: check the raw data against the schema and split it into train and test sets.

The split is seeded (and stratified for classifiers), so the same data and params always give the same sets,
and the Parquet files the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from ml.atomic import atomic_output_dir
from ml.errors import EdgeTrainError
from ml.paths import TEST_FILE, TRAIN_FILE
from ml.stepkit import run_step
from ml.steps.schema import Schema, load_schema
from ml.steps.tables import raw_files, read_raw_file, write_parquet
from ml.tracking import log_step


def read_raw(raw_dir: Path, schema: Schema | None = None) -> pd.DataFrame:
    """Every CSV/Parquet file under `raw_dir`, each checked against the schema, concatenated in name order."""
    schema = schema or load_schema()
    files = raw_files(raw_dir)
    if not files:
        raise EdgeTrainError(
            f"{raw_dir}: no .csv or .parquet files",
            hint="restore the data with `dvc pull` or `edge-train run`",
        )
    frames = [check_schema(path, schema) for path in files]
    return pd.concat(frames, ignore_index=True)


def check_schema(path: Path, schema: Schema | None = None) -> pd.DataFrame:
    """Load one raw file and fail with the file and problem named if it does not fit the schema."""
    frame = read_raw_file(path, schema or load_schema())
    if frame.empty:
        raise EdgeTrainError(
            f"{path}: the file has a header but no rows", hint="restore it with `dvc checkout`"
        )
    return frame


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
    print(f"prepare: {len(frame)} rows checked -> {len(train)} train, {len(test)} test in {prepared}")


if __name__ == "__main__":
    run_step(main)
