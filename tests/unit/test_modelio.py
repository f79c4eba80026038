"""The saved model is reproducible: the same fitted model gives the same bytes, and still loads and predicts.

DVC identifies the model by the hash of its folder (dvc.lock), and the release uses that hash as the model's
identity: if saving added timestamps or memory addresses, every retraining would be a "new" model.
"""

import hashlib
import io

import numpy as np
import pytest

from ml.data.synthetic import synthetic_frame
from ml.modelio import (
    _rounded_npy,
    load_native_model,
    make_reproducible,
    model_output,
    round_mantissa,
    save_mlflow_model,
    save_with_mlflow,
    synthetic_example,
    write_mlflow_folder,
)
from ml.steps.tables import typed
from ml.steps.train import build_model, fit
from tests.harness.schemas import SCHEMAS


def _digests(folder):
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize(("task", "estimator"), [("binary", "linear"), ("regression", "forest")])
def test_saving_the_same_model_twice_gives_identical_files_that_load_and_predict_the_same(
    tmp_path, task, estimator
):
    schema = SCHEMAS[task]
    data = typed(synthetic_frame(200, seed=0, schema=schema), schema)
    model = fit(data, schema, estimator=estimator, n_estimators=5)
    save_mlflow_model(model, tmp_path / "first", schema)
    save_mlflow_model(model, tmp_path / "second", schema)

    assert _digests(tmp_path / "first") == _digests(tmp_path / "second")
    loaded = load_native_model(tmp_path / "second")
    features = data[schema.names]
    # The saved floats keep ~10 significant digits (make_reproducible), so predictions agree that closely.
    assert np.allclose(model_output(loaded, features), model_output(model, features), rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize(("task", "estimator"), [("binary", "linear"), ("multiclass", "forest")])
def test_last_bit_differences_in_the_fitted_values_give_the_same_files(tmp_path, task, estimator):
    """Another CPU's BLAS kernels change the last bits of fitted floats; the saved bytes must not change."""
    schema = SCHEMAS[task]
    data = typed(synthetic_frame(200, seed=1, schema=schema), schema)
    model = fit(data, schema, estimator=estimator, n_estimators=5)
    save_mlflow_model(model, tmp_path / "here", schema)
    nudged = 0
    for estimator_object in _estimators(model):
        for name, value in vars(estimator_object).items():
            if name.endswith("_") and isinstance(value, np.ndarray) and value.dtype == np.float64:
                setattr(estimator_object, name, np.nextafter(value, np.inf))
                nudged += 1
    assert nudged, "the model has fitted float arrays to nudge"
    save_mlflow_model(model, tmp_path / "elsewhere", schema)
    assert _digests(tmp_path / "here") == _digests(tmp_path / "elsewhere")


@pytest.mark.parametrize("estimator", ["linear", "forest"])
@pytest.mark.parametrize("task", sorted(SCHEMAS))
def test_the_folder_written_without_mlflow_has_the_bytes_mlflow_writes(tmp_path, task, estimator):
    """The train step writes the MLflow model folder itself (importing MLflow cost it ~1.5 s, issue 13):
    every file must be what `mlflow.sklearn.save_model` writes, so the model's identity (DVC's hash), its
    registration and serving are those of an MLflow-saved model. An MLflow upgrade that changes the format
    fails here."""
    schema = SCHEMAS[task]
    data = typed(synthetic_frame(200, seed=0, schema=schema), schema)
    model = fit(data, schema, estimator=estimator, n_estimators=5)
    example = synthetic_example(schema)
    output = model_output(model, example)
    save_with_mlflow(model, tmp_path / "by-mlflow", example, output)
    write_mlflow_folder(model, tmp_path / "direct", example, output)
    for folder in (tmp_path / "by-mlflow", tmp_path / "direct"):
        make_reproducible(folder)

    expected = {p.name: p.read_bytes() for p in (tmp_path / "by-mlflow").iterdir()}
    written = {p.name: p.read_bytes() for p in (tmp_path / "direct").iterdir()}
    assert sorted(written) == sorted(expected)
    assert [name for name in expected if written[name] != expected[name]] == []


def test_saving_imports_no_mlflow(tmp_path):
    schema = SCHEMAS["binary"]
    script = (
        "import sys; from pathlib import Path; from ml.data.synthetic import synthetic_frame; "
        "from ml.modelio import save_mlflow_model; from ml.steps.tables import typed; "
        "from ml.steps.train import fit; from tests.harness.schemas import SCHEMAS; "
        f"schema = SCHEMAS[{schema.task!r}]; "
        "data = typed(synthetic_frame(50, seed=0, schema=schema), schema); "
        f"save_mlflow_model(fit(data, schema), Path({str(tmp_path / 'model')!r}), schema); "
        "assert 'mlflow' not in sys.modules, 'mlflow imported'"
    )
    _run_fresh(script)
    assert (tmp_path / "model" / "MLmodel").is_file()


def test_a_model_whose_output_the_writer_does_not_describe_is_saved_by_mlflow(tmp_path):
    """A forker's classifier without probabilities answers with labels (text): MLflow infers that
    signature (an object tensor), and the folder is as reproducible as any other."""
    from sklearn.svm import LinearSVC

    schema = SCHEMAS["multiclass"]
    data = typed(synthetic_frame(200, seed=0, schema=schema), schema)
    model = build_model(schema)
    model.steps[-1] = ("model", LinearSVC())
    model.fit(data[schema.names], data[schema.label])
    save_mlflow_model(model, tmp_path / "first", schema)
    save_mlflow_model(model, tmp_path / "second", schema)

    assert _digests(tmp_path / "first") == _digests(tmp_path / "second")
    assert '"dtype": "object"' in (tmp_path / "first" / "MLmodel").read_text().split("outputs:")[1]
    features = data[schema.names]
    assert (load_native_model(tmp_path / "first").predict(features) == model.predict(features)).all()


def _run_fresh(script: str) -> None:
    """Run `script` in a fresh interpreter: what a step imports shows only there."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]


def _estimators(model):
    """The fitted estimators inside a pipeline or column transformer, depth first."""
    stack = [model]
    while stack:
        current = stack.pop()
        yield current
        for attribute in ("steps", "transformers_"):
            stack += [part[1] for part in getattr(current, attribute, []) if hasattr(part[1], "__dict__")]


def test_the_padding_bytes_of_a_structured_array_do_not_reach_the_saved_file():
    """A tree's nodes are a structured array with 7 padding bytes per node, filled with leftover memory."""
    fields = {"names": ["child", "threshold", "flag"], "formats": ["<i8", "<f8", "u1"]}
    layout = np.dtype({**fields, "itemsize": 24})
    files = []
    for garbage in (0x00, 0xAB):
        raw = np.full(3 * layout.itemsize, garbage, dtype=np.uint8).view(layout)
        raw["child"], raw["threshold"], raw["flag"] = [1, 2, -1], [0.5, np.pi, 0.0], [1, 0, 1]
        buffer = io.BytesIO()
        np.save(buffer, raw, allow_pickle=False)
        files.append(_rounded_npy(buffer.getvalue()))
    assert files[0] == files[1]
    assert np.load(io.BytesIO(files[1]))["child"].tolist() == [1, 2, -1]


def test_rounding_keeps_about_ten_significant_digits_and_leaves_non_finite_values():
    values = np.array([np.pi, -1e-300, 123456.789, 0.0, np.inf, -np.inf, np.nan])
    rounded = round_mantissa(values)
    assert np.allclose(rounded[:4], values[:4], rtol=1e-9, atol=0)
    assert np.isinf(rounded[4:6]).all() and np.isnan(rounded[6])
    rng = np.random.default_rng(0)
    sample = rng.normal(size=10_000) * 10.0 ** rng.integers(-8, 8, size=10_000)
    assert (round_mantissa(sample) == round_mantissa(np.nextafter(sample, np.inf))).mean() > 0.999


def test_the_environment_files_name_python_major_minor_and_unpinned_installers(tmp_path):
    schema = SCHEMAS["binary"]
    data = typed(synthetic_frame(50, seed=0, schema=schema), schema)
    save_mlflow_model(fit(data, schema), tmp_path / "model", schema)
    texts = {n: (tmp_path / "model" / n).read_text() for n in ("MLmodel", "conda.yaml", "python_env.yaml")}
    assert "python_version: '3.11'" in texts["MLmodel"]
    assert "- python=3.11\n" in texts["conda.yaml"] and "- pip\n" in texts["conda.yaml"]
    assert "python: '3.11'" in texts["python_env.yaml"]
    assert "pip==" not in texts["python_env.yaml"] and "setuptools==" not in texts["python_env.yaml"]


def test_evaluate_loads_the_model_without_importing_mlflow(tmp_path):
    """Importing MLflow costs the evaluate step about 1.5 s of CPU (issue 13): the skops file and the trusted
    types MLmodel records are all it needs."""
    schema = SCHEMAS["binary"]
    data = typed(synthetic_frame(200, seed=0, schema=schema), schema)
    save_mlflow_model(fit(data, schema), tmp_path / "model", schema)
    _run_fresh(
        "import sys; from pathlib import Path; from ml.modelio import load_native_model; "
        f"model = load_native_model(Path({str(tmp_path / 'model')!r})); "
        "assert hasattr(model, 'predict_proba'); assert 'mlflow' not in sys.modules, 'mlflow imported'"
    )
