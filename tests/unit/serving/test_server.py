"""The image's scoring server speaks MLflow's scoring protocol and gives the native model's answers.

The model takes raw columns of every kind (numbers, booleans, categories, missing values), as a fork's would.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.data.synthetic import synthetic_frame
from ml.serving.context import native_model
from ml.serving.server import serve
from ml.steps.export import convert
from ml.steps.schema import Schema
from ml.steps.tables import typed
from tests.harness.schemas import SCHEMAS

SCHEMA = SCHEMAS["multiclass"]
# How long a test waits for an answer. Generous on purpose: a loaded CI runner has stalled a test process for
# over 10 s, and a test that gives up early reports a failure of the server's that did not happen.
ANSWER_WAIT_S = 60


@pytest.fixture(scope="module")
def model_root(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, pd.DataFrame]:
    return image_model(tmp_path_factory.mktemp("image"), SCHEMA)


def image_model(root: Path, schema: Schema) -> tuple[Path, object, pd.DataFrame]:
    """The image's model files for `schema` in `root` (both flavours, signature, lineage): the root, the
    fitted model and its training rows (typed, with missing values, label removed)."""
    from ml.modelio import save_mlflow_model
    from ml.steps.train import build_model

    frame = typed(synthetic_frame(120, seed=0, schema=schema, missing=0.1), schema)
    labels = frame.pop(schema.label)
    model = build_model(schema).fit(frame, labels)
    save_mlflow_model(model, root / "model", schema)
    (root / "model.onnx").write_bytes(convert(model, schema))
    kinds = [f.kind for f in schema.features]
    (root / "signature.json").write_text(
        json.dumps({"columns": schema.names, "kinds": kinds, "native": native_model(root / "model")})
    )
    (root / "lineage.json").write_text(json.dumps({"model": "m", "version": "v1.0.0", "git_commit": "abc"}))
    return root, model, frame


@pytest.fixture(params=["native", "onnx"])
def server(request: pytest.FixtureRequest, model_root) -> str:
    root, _, _ = model_root
    httpd = serve(root, "127.0.0.1", 0, request.param)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def call(url: str, body: object | None = None) -> tuple[int, object]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=ANSWER_WAIT_S) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw.strip() else None
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_ping_answers_200(server: str) -> None:
    assert call(f"{server}/ping")[0] == 200


def test_version_returns_the_lineage_and_the_runtime(server: str) -> None:
    status, body = call(f"{server}/version")
    assert status == 200
    assert body["version"] == "v1.0.0" and body["git_commit"] == "abc"
    assert body["flavor"] in ("native", "onnx")


def test_dataframe_split_predicts_what_the_native_model_predicts(server: str, model_root) -> None:
    _, model, frame = model_root
    rows = frame.head(50)
    status, body = call(
        f"{server}/invocations",
        {"dataframe_split": {"columns": list(rows.columns), "data": json_rows(rows)}},
    )
    assert status == 200
    assert body["predictions"] == model.predict(rows).tolist()


def test_dataframe_records_in_any_column_order_give_the_same_predictions(server: str, model_root) -> None:
    _, model, frame = model_root
    rows = frame.head(20)
    records = [dict(reversed(list(zip(rows.columns, row, strict=True)))) for row in json_rows(rows)]
    status, body = call(f"{server}/invocations", {"dataframe_records": records})
    assert status == 200
    assert body["predictions"] == model.predict(rows).tolist()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"instances": [[1.0]]}, "dataframe_split or dataframe_records"),
        ({"dataframe_records": [{"age": 1.0}]}, "missing columns"),
        ({"dataframe_records": [dict.fromkeys(SCHEMA.names, "x")]}, "must be a number"),
    ],
)
def test_bad_requests_get_400_with_the_fix(server: str, body: object, message: str) -> None:
    status, answer = call(f"{server}/invocations", body)
    assert status == 400
    assert message in answer["message"]


def json_rows(rows: pd.DataFrame) -> list[list]:
    """Rows as a client sends them: numbers, text, and null for a missing value."""
    return [
        [None if isinstance(v, float) and np.isnan(v) else v for v in row] for row in rows.to_numpy().tolist()
    ]
