"""Step 1: check the raw data against the schema and split it into train and test sets.

The split is stratified and seeded, so the same data and params always give the same sets.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from ml.errors import EdgeTrainError
from ml.steps.schema import FEATURES, LABEL, LABEL_VALUES
from ml.atomic import atomic_output_dir
from ml.stepkit import run_step
from ml.tracking import log_step


def read_raw(raw_dir: Path) -> pd.DataFrame:
    """Every CSV under `raw_dir`, each checked against the schema, concatenated in name order."""
    files = sorted(raw_dir.glob("*.csv"))
    if not files:
        raise EdgeTrainError(f"{raw_dir}: no .csv files", hint="restore the data with `dvc pull` or `edge-train run`")
    return pd.concat([check_schema(path) for path in files], ignore_index=True)


def check_schema(path: Path) -> pd.DataFrame:
    """Load one raw file and fail with the file and problem named if it does not fit `ml/steps/schema.py`."""
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise EdgeTrainError(f"{path}: the file is empty", hint="restore it with `dvc checkout data.dvc`") from None
    if frame.empty:
        raise EdgeTrainError(f"{path}: the file has a header but no rows", hint="restore it with `dvc checkout`")
    missing = [c for c in (*FEATURES, LABEL) if c not in frame.columns]
    if missing:
        raise EdgeTrainError(f"{path}: missing column(s): {', '.join(map(repr, missing))}",
                             hint="the columns must match ml/steps/schema.py (edit it if your data changed)")
    for column in FEATURES:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise EdgeTrainError(
                f"{path}: column {column!r} must be numeric, found {frame[column].dtype} "
                f"(first bad value {_first_non_numeric(frame[column])!r})",
                hint="fix the value in the file, or change the column's type in ml/steps/schema.py")
    labels = frame[LABEL]
    if labels.isna().any():
        rows = (labels[labels.isna()].index[:5] + 2).tolist()
        raise EdgeTrainError(f"{path}: {int(labels.isna().sum())} NaN value(s) in label {LABEL!r} (lines {rows})",
                             hint="every row needs a label; drop or fix those rows")
    unexpected = set(labels.unique()) - LABEL_VALUES
    if unexpected:
        raise EdgeTrainError(f"{path}: label {LABEL!r} has values {sorted(unexpected)}, expected {sorted(LABEL_VALUES)}",
                             hint="fix the labels or LABEL_VALUES in ml/steps/schema.py")
    return frame[[*FEATURES, LABEL]].astype({LABEL: "int64"})


def _first_non_numeric(column: pd.Series) -> object:
    converted = pd.to_numeric(column, errors="coerce")
    bad = column[converted.isna() & column.notna()]
    return bad.iloc[0] if len(bad) else None


def split(frame: pd.DataFrame, test_size: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(frame, test_size=test_size, random_state=seed, stratify=frame[LABEL])
    return train.sort_index(), test.sort_index()


def main(
    raw_data: Path = typer.Option(..., help="folder of raw CSV files"),
    prepared: Path = typer.Option(..., help="folder to write train.csv and test.csv to"),
    test_size: float = typer.Option(0.2),
    seed: int = typer.Option(42),
) -> None:
    frame = read_raw(raw_data)
    train, test = split(frame, test_size, seed)
    with atomic_output_dir(prepared) as out:
        train.to_csv(out / "train.csv", index=False)
        test.to_csv(out / "test.csv", index=False)
    log_step("prepare", params={"test_size": test_size, "seed": seed},
             metrics={"rows_train": len(train), "rows_test": len(test), "positive_share": float(frame[LABEL].mean())})
    print(f"prepare: {len(frame)} rows checked -> {len(train)} train, {len(test)} test in {prepared}")


if __name__ == "__main__":
    run_step(main)
