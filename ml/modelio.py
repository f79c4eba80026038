"""Save and load the model in MLflow format, with a signature and a synthetic (never real) input example."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import uuid
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml.steps.schema import Schema


def synthetic_example(schema: Schema, rows: int = 2) -> pd.DataFrame:
    """Rows of the right columns and dtypes whose values are made up, so the model stores no real row."""
    columns = {}
    for feature in schema.features:
        if feature.kind == "categorical":
            known = feature.categories or ("a",)
            columns[feature.name] = [known[i % len(known)] for i in range(rows)]
        else:
            columns[feature.name] = [
                float((i + 1) % 2 if feature.kind == "boolean" else i + 1) for i in range(rows)
            ]
    return pd.DataFrame(columns)


def model_output(model, frame: pd.DataFrame):
    """What the model answers: class probabilities for a classifier, the predicted values for a regressor."""
    return model.predict_proba(frame) if hasattr(model, "predict_proba") else model.predict(frame)


def save_mlflow_model(model, path: Path, schema: Schema) -> None:
    """Save `model` to `path` (replaced if present) as an MLflow sklearn model, in reproducible bytes.

    Written without importing MLflow, which cost the train step about 1.5 s of CPU (issue 13) for files
    whose content is known: `write_mlflow_folder` writes what `mlflow.sklearn.save_model` writes, and
    tests/unit/test_modelio.py checks the two byte for byte with MLflow itself, for every task and estimator
    (an MLflow upgrade that changes its format fails there). A model whose output that writer does not
    describe (not a numeric array) is saved by MLflow.
    """
    example = synthetic_example(schema)
    output = model_output(model, example)
    if path.exists():
        shutil.rmtree(path)
    if _describable(example, output):
        write_mlflow_folder(model, path, example, output)
    else:
        save_with_mlflow(model, path, example, output)
    make_reproducible(path)


def save_with_mlflow(model, path: Path, example: pd.DataFrame, output: np.ndarray) -> None:
    """`mlflow.sklearn.save_model` in skops format, with a signature and the synthetic input example.

    `pip_requirements` is given explicitly: inferring it imports the model in a subprocess and costs ~20 s.
    The skops types to trust are exactly those of the model we just fitted (a forest or an imputer holds
    NumPy dtypes skops does not trust by default), so loading trusts nothing a tampered file adds.
    """
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow.sklearn
    import skops.io
    from mlflow.models import infer_signature

    mlflow.sklearn.save_model(
        model,
        str(path),
        signature=infer_signature(example, output),
        input_example=example,
        pip_requirements=pip_requirements(),
        skops_trusted_types=skops.io.get_untrusted_types(data=skops.io.dumps(model)),
    )


def pip_requirements() -> list[str]:
    """What the model needs to load: the MLflow and scikit-learn that saved it, and skops."""
    import sklearn

    return [f"mlflow=={_version('mlflow')}", f"scikit-learn=={sklearn.__version__}", "skops"]


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


# MLflow's names (mlflow.types.DataType) for the dtypes `write_mlflow_folder` describes; others go to MLflow.
_COLUMN_TYPES = {
    "float64": "double",
    "float32": "float",
    "int64": "long",
    "int32": "integer",
    "bool": "boolean",
}


def _column_type(dtype: np.dtype) -> str | None:
    return "string" if dtype.kind == "O" else _COLUMN_TYPES.get(str(dtype))


def _describable(example: pd.DataFrame, output: object) -> bool:
    """Whether `write_mlflow_folder` knows the signature MLflow infers: typed columns, a numeric array out
    (and MLflow is installed, to name its version)."""
    return (
        _version("mlflow") is not None
        and isinstance(output, np.ndarray)
        and str(output.dtype) in _COLUMN_TYPES
        and all(_column_type(dtype) for dtype in example.dtypes)
    )


def write_mlflow_folder(model, path: Path, example: pd.DataFrame, output: np.ndarray) -> None:
    """The folder `save_with_mlflow` makes, written directly: the skops file, the input example, the
    environment files and MLmodel, each serialised as MLflow 3 serialises it (the fields MLflow fills with
    a time, a random id or the folder's size are then set by `make_reproducible` in both cases)."""
    import platform

    import sklearn
    import skops.io
    import yaml

    data = skops.io.dumps(model)
    path.mkdir(parents=True)
    (path / "model.skops").write_bytes(data)
    split = example.to_dict(orient="split")
    del split["index"]
    (path / "input_example.json").write_text(json.dumps(split))
    (path / "serving_input_example.json").write_text(json.dumps({"dataframe_split": split}, indent=2))
    requirements = pip_requirements()
    (path / "requirements.txt").write_text("\n".join(requirements))
    pip = _version("pip")
    conda = {
        "name": "mlflow-env",
        "channels": ["conda-forge"],
        "dependencies": [
            f"python={platform.python_version()}",
            f"pip<={pip}" if pip else "pip",
            {"pip": requirements},
        ],
    }
    (path / "conda.yaml").write_text(yaml.safe_dump(conda, default_flow_style=False))
    build = [f"{name}=={v}" if (v := _version(name)) else name for name in ("pip", "setuptools", "wheel")]
    python_env = {
        "python": platform.python_version(),
        "build_dependencies": build,
        "dependencies": ["-r requirements.txt"],
    }
    (path / "python_env.yaml").write_text(
        yaml.safe_dump(python_env, sort_keys=False, default_flow_style=False)
    )
    inputs = [
        {"type": _column_type(example[name].dtype), "name": name, "required": True}
        for name in example.columns
    ]
    outputs = [
        {"type": "tensor", "tensor-spec": {"dtype": str(output.dtype), "shape": [-1, *output.shape[1:]]}}
    ]
    mlmodel = {
        "flavors": {
            "python_function": {
                "env": {"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
                "loader_module": "mlflow.sklearn",
                "model_path": "model.skops",
                "predict_fn": "predict",
                "python_version": platform.python_version(),
            },
            "sklearn": {
                "code": None,
                "pickled_model": "model.skops",
                "serialization_format": "skops",
                "sklearn_version": sklearn.__version__,
                "skops_trusted_types": skops.io.get_untrusted_types(data=data),
            },
        },
        "is_signature_from_type_hint": False,
        "mlflow_version": _version("mlflow"),
        "model_id": None,
        "model_size_bytes": 0,
        "model_uuid": "",
        "prompts": None,
        "saved_input_example_info": {
            "artifact_path": "input_example.json",
            "pandas_orient": "split",
            "serving_input_path": "serving_input_example.json",
            "type": "dataframe",
        },
        "signature": {"inputs": json.dumps(inputs), "outputs": json.dumps(outputs), "params": None},
        "type_hint_from_example": False,
        "utc_time_created": "",
    }
    (path / "MLmodel").write_text(yaml.safe_dump(mlmodel, default_flow_style=False))


# A fixed creation time, as reproducible builds do (https://reproducible-builds.org/docs/source-date-epoch/).
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FIXED_CREATED = "1970-01-01 00:00:00.000000"


def make_reproducible(path: Path) -> None:
    """Make the same fitted model give the same bytes, so DVC's hash of the model folder identifies the model.

    Without this every training writes a new model identity even when code, data and params are the same:
    skops names objects by their memory address, its zip stores the wall-clock time, and MLflow adds a random
    `model_uuid` and the creation time to MLmodel. Then a fresh clone changes dvc.lock on its first run, and
    the release registers a "new" model. Objects are renumbered in the order skops wrote them, and the uuid
    becomes a digest of the model file.

    The same holds across machines and interpreter builds: float64 values in the model keep 32 mantissa bits
    (CPUs with other BLAS kernels differ only in the last bits), and the environment files MLflow writes
    name Python as major.minor and pip, setuptools and wheel unpinned (they record the interpreter and
    installer that happened to save the model, not what the model needs).
    """
    _normalise_environment(path)
    skops_file = path / "model.skops"
    if skops_file.exists():
        _canonical_skops(skops_file)
        digest = hashlib.sha256(skops_file.read_bytes()).digest()
        mlmodel = path / "MLmodel"
        text = mlmodel.read_text()
        text = re.sub(r"(?m)^model_uuid: .*$", f"model_uuid: {uuid.UUID(bytes=digest[:16]).hex}", text)
        text = re.sub(r"(?m)^utc_time_created: .*$", f"utc_time_created: '{FIXED_CREATED}'", text)
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and f.name != "MLmodel")
        text = re.sub(r"(?m)^model_size_bytes: .*$", f"model_size_bytes: {size}", text)
        mlmodel.write_text(text)


# Float64 values keep 32 of their 52 mantissa bits (about 9.6 significant digits): enough for any model's
# predictions (ONNX parity is checked at 1e-5), and coarse enough that the last-bit noise of BLAS kernels,
# which differ between CPUs, rounds to the same bytes.
KEPT_MANTISSA_BITS = 32


def round_mantissa(values: np.ndarray) -> np.ndarray:
    """`values` (float64) rounded to nearest with KEPT_MANTISSA_BITS of mantissa; NaN and inf unchanged."""
    drop = 52 - KEPT_MANTISSA_BITS
    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.uint64)
    half, mask = np.uint64(1 << (drop - 1)), np.uint64(~((1 << drop) - 1) & 0xFFFFFFFFFFFFFFFF)
    rounded = ((bits + half) & mask).view(np.float64)
    return np.where(np.isfinite(values), rounded, values)


def _rounded_npy(data: bytes) -> bytes:
    """An .npy member with every float64 value (structured fields too) rounded by `round_mantissa`.

    A structured array is rebuilt field by field into zeroed memory: its padding bytes (a tree's nodes
    have 7 per node) hold whatever the allocator left there, and np.save writes them as they are.
    """
    array = np.load(io.BytesIO(data), allow_pickle=False)
    if array.dtype == np.float64:
        array = round_mantissa(array)
    elif array.dtype.names:
        source, array = array, np.zeros(array.shape, dtype=array.dtype)
        for name in array.dtype.names:
            field = source[name]
            array[name] = round_mantissa(field) if field.dtype == np.float64 else field
    else:
        return data
    out = io.BytesIO()
    np.save(out, array, allow_pickle=False)
    return out.getvalue()


# Lines of MLmodel, conda.yaml and python_env.yaml that name the saving interpreter or installer.
_ENVIRONMENT_PINS = (
    (re.compile(r"(?m)^(\s*python_version: )'?(\d+\.\d+)\.\d+'?$"), r"\1'\2'"),
    (re.compile(r"(?m)^(\s*python: )'?(\d+\.\d+)\.\d+'?$"), r"\1'\2'"),
    (re.compile(r"(?m)^(\s*- python=)(\d+\.\d+)\.\d+$"), r"\1\2"),
    (re.compile(r"(?m)^(\s*- )(pip|setuptools|wheel)(?:[<>=!~]=?[^\s]+)$"), r"\1\2"),
)


def _normalise_environment(path: Path) -> None:
    for name in ("MLmodel", "conda.yaml", "python_env.yaml"):
        file = path / name
        if not file.is_file():
            continue
        text = original = file.read_text()
        for pattern, replacement in _ENVIRONMENT_PINS:
            text = pattern.sub(replacement, text)
        if text != original:
            file.write_text(text)


def _canonical_skops(archive: Path) -> None:
    """Rewrite a skops archive with ids numbered by first appearance, sorted entries and a fixed time."""
    with zipfile.ZipFile(archive) as zipped:
        members = {name: zipped.read(name) for name in zipped.namelist()}
    schema = json.loads(members["schema.json"])
    ids: dict[int, int] = {}
    files: dict[str, str] = {}

    def renumber(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("__id__"), int):
                node["__id__"] = ids.setdefault(node["__id__"], len(ids) + 1)
            if isinstance(node.get("file"), str) and node["file"] in members:
                node["file"] = files.setdefault(node["file"], f"array{len(files) + 1}.npy")
            for value in node.values():
                renumber(value)
        elif isinstance(node, list):
            for value in node:
                renumber(value)

    renumber(schema)
    contents = {
        files.get(name, name): _rounded_npy(data) if name.endswith(".npy") else data
        for name, data in members.items()
    }
    contents["schema.json"] = json.dumps(schema, indent=2).encode()
    partial = archive.with_name(archive.name + ".partial")
    with zipfile.ZipFile(partial, "w") as out:
        for name in sorted(contents):
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED  # as skops writes it
            info.external_attr = 0o644 << 16
            out.writestr(info, contents[name])
    partial.replace(archive)


def load_native_model(path: Path):
    """The fitted model in an MLflow sklearn folder this project saved (skops format).

    Read with skops and the trusted types MLmodel records, as `mlflow.sklearn.load_model` does, without
    importing MLflow (about 1.5 s of CPU in the evaluate step); any other format goes through MLflow.
    """
    import yaml

    flavor = yaml.safe_load((path / "MLmodel").read_text()).get("flavors", {}).get("sklearn", {})
    if flavor.get("serialization_format") != "skops" or flavor.get("code"):
        import mlflow.sklearn

        return mlflow.sklearn.load_model(str(path))
    import skops.io

    return skops.io.load(path / flavor["pickled_model"], trusted=flavor.get("skops_trusted_types") or [])
