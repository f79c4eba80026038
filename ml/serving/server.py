"""The scoring server inside the model image: MLflow's REST contract on the standard library.

It is copied into the image on its own (it imports nothing from `ml`), so the image needs only numpy and the
model's runtimes: onnxruntime for the ONNX model, scikit-learn + skops + pandas for the native one (its
pipeline selects columns by name; no MLflow: `signature.json`, written at packaging time, says which file,
which types to load and each column's kind).
Endpoints follow `mlflow models serve`, so clients written for MLflow work unchanged:

- `GET /ping` → 200 when the model is loaded
- `GET /version` → the model's lineage (git commit, data hash, params hash, pipeline run, metrics, version)
- `POST /invocations` with `{"dataframe_split": {"columns": [...], "data": [[...]]}}` or
  `{"dataframe_records": [{...}]}` → `{"predictions": [...]}`

`EDGE_TRAIN_FLAVOR` picks the runtime: `onnx` (default when model.onnx is present) or `native`.
"""

from __future__ import annotations

import json
import os
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MAX_BODY_BYTES = 64 * 1024 * 1024


class BadRequest(ValueError):
    """The request is malformed; the message tells the caller what to send instead."""


class Scorer:
    """Loads one model flavour; turns rows of raw columns (numbers, booleans, categories) into predictions."""

    def __init__(self, model_root: Path, flavor: str | None = None) -> None:
        signature = json.loads((model_root / "signature.json").read_text())
        self.columns: list[str] = signature["columns"]
        self.categorical: list[bool] = [k == "categorical" for k in signature.get("kinds", [])] or [
            False
        ] * len(self.columns)
        self.lineage: dict[str, Any] = json.loads((model_root / "lineage.json").read_text())
        onnx_path = model_root / "model.onnx"
        self.flavor = flavor or ("onnx" if onnx_path.is_file() else "native")
        if self.flavor == "onnx":
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            self._session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
            self._inputs = [i.name for i in self._session.get_inputs()]
        elif self.flavor == "native":
            import skops.io

            native = signature["native"]
            self._model = skops.io.load(model_root / native["file"], trusted=native["trusted_types"])
        else:
            raise ValueError(f"EDGE_TRAIN_FLAVOR must be onnx or native, not {self.flavor!r}")

    def predict(self, columns: list) -> list:
        """Predicted labels (classifiers) or values (regressors) for column arrays in the model's order."""
        if self.flavor == "onnx":
            feed = {
                name: column.reshape(-1, 1) if cat else column.astype("float32").reshape(-1, 1)
                for name, column, cat in zip(self._inputs, columns, self.categorical, strict=True)
            }
            predictions = self._session.run([self._session.get_outputs()[0].name], feed)[0]
        else:
            import pandas as pd

            frame = pd.DataFrame(dict(zip(self.columns, columns, strict=True)))
            predictions = self._model.predict(frame)
        return predictions.ravel().tolist()

    def matrix(self, payload: object) -> list:
        """The request's rows as one array per column in the model's order: float64, or text for categories.

        A missing number is NaN and a missing category "" (the model imputes them as in training).
        """
        import numpy as np

        if not isinstance(payload, dict):
            raise BadRequest("the body must be a JSON object with dataframe_split or dataframe_records")
        if "dataframe_split" in payload:
            split = payload["dataframe_split"]
            if not isinstance(split, dict) or "data" not in split:
                raise BadRequest("dataframe_split needs 'columns' and 'data'")
            columns = split.get("columns", self.columns)
            rows = [dict(zip(columns, row, strict=True)) for row in split["data"]]
        elif "dataframe_records" in payload:
            rows = payload["dataframe_records"]
            if not isinstance(rows, list):
                raise BadRequest("dataframe_records must be a list of objects")
        else:
            raise BadRequest("send dataframe_split or dataframe_records (the MLflow scoring formats)")
        missing = sorted({c for row in rows for c in self.columns if c not in row})
        if missing:
            raise BadRequest(f"missing columns: {', '.join(missing)}")
        arrays = []
        for name, cat in zip(self.columns, self.categorical, strict=True):
            values = [row[name] for row in rows]
            if cat:
                arrays.append(np.array(["" if v is None else str(v) for v in values], dtype=object))
                continue
            try:
                arrays.append(np.array([np.nan if v is None else v for v in values], dtype=np.float64))
            except (TypeError, ValueError) as exc:
                raise BadRequest(f"feature {name!r} must be a number: {exc}") from None
        return arrays


def make_handler(scorer: Scorer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: with Nagle on, keep-alive clients wait ~40 ms for an ACK.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            if self.path == "/ping":
                self._send(HTTPStatus.OK, b"\n", "text/plain")
            elif self.path == "/version":
                self._json(HTTPStatus.OK, {**scorer.lineage, "flavor": scorer.flavor})
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error_code": "NOT_FOUND", "message": self.path})

        def do_POST(self) -> None:
            if self.path != "/invocations":
                self._json(HTTPStatus.NOT_FOUND, {"error_code": "NOT_FOUND", "message": self.path})
                return
            try:
                length = int(self.headers.get("Content-Length", "0"))
                if length > MAX_BODY_BYTES:
                    raise BadRequest(f"body larger than {MAX_BODY_BYTES} bytes")
                payload = json.loads(self.rfile.read(length) or b"null")
                predictions = scorer.predict(scorer.matrix(payload))
            except (BadRequest, json.JSONDecodeError) as exc:
                self._json(HTTPStatus.BAD_REQUEST, {"error_code": "BAD_REQUEST", "message": str(exc)})
                return
            self._json(HTTPStatus.OK, {"predictions": predictions})

        def _json(self, status: HTTPStatus, body: object) -> None:
            self._send(status, json.dumps(body).encode(), "application/json")

        def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Log method, path and status only: request bodies hold patient rows and are never logged."""
            if os.environ.get("EDGE_TRAIN_ACCESS_LOG") == "1":
                sys.stderr.write(f"{self.command} {self.path} {args[1] if len(args) > 1 else ''}\n")

    return Handler


def serve(model_root: Path, host: str, port: int, flavor: str | None = None) -> ThreadingHTTPServer:
    """A bound server (not yet serving); port 0 picks a free one (see `server_address`)."""
    return ThreadingHTTPServer((host, port), make_handler(Scorer(model_root, flavor)))


def main() -> None:
    root = Path(os.environ.get("EDGE_TRAIN_MODEL_ROOT", Path(__file__).resolve().parent))
    host = os.environ.get("HOST", "0.0.0.0")
    port = int(os.environ.get("PORT", "8080"))
    server = serve(root, host, port, os.environ.get("EDGE_TRAIN_FLAVOR") or None)
    print(f"serving {root} on {host}:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
