"""The saved model is reproducible: the same fitted model gives the same bytes, and still loads and predicts.

DVC identifies the model by the hash of its folder (dvc.lock), and the release uses that hash as the model's
identity: if saving added timestamps or memory addresses, every retraining would be a "new" model.
"""

import hashlib

import numpy as np

from ml.data.synthetic import synthetic_frame
from ml.modelio import load_native_model, save_mlflow_model
from ml.steps.schema import FEATURES
from ml.steps.train import fit


def _digests(folder):
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_saving_the_same_model_twice_gives_identical_files_that_load_and_predict_the_same(tmp_path):
    data = synthetic_frame(200, seed=0)
    model = fit(data, C=1.0, max_iter=200, solver="lbfgs")
    save_mlflow_model(model, tmp_path / "first")
    save_mlflow_model(model, tmp_path / "second")

    assert _digests(tmp_path / "first") == _digests(tmp_path / "second")
    loaded = load_native_model(tmp_path / "second")
    features = data[list(FEATURES)]
    assert np.array_equal(loaded.predict_proba(features), model.predict_proba(features))
