"""The saved model is reproducible: the same fitted model gives the same bytes, and still loads and predicts.

DVC identifies the model by the hash of its folder (dvc.lock), and the release uses that hash as the model's
identity: if saving added timestamps or memory addresses, every retraining would be a "new" model.
"""

import hashlib

import numpy as np
import pytest

from ml.data.synthetic import synthetic_frame
from ml.modelio import load_native_model, model_output, save_mlflow_model
from ml.steps.tables import typed
from ml.steps.train import fit
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
    assert np.array_equal(model_output(loaded, features), model_output(model, features))
