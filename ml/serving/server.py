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
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MAX_BODY_BYTES = 64 * 1024 * 1024
# A client that stops sending mid-request frees its thread after this long (and gets a 408 if it is still
# reading); a keep-alive connection idle this long is closed.
CLIENT_TIMEOUT_S = 30
NUMBER_TYPES = {int, float, bool, type(None)}  # what JSON numbers, booleans and null parse to
JSON_TYPES = ("application/json", "")  # "": curl and many clients send no Content-Type with -d


class BadRequest(ValueError):
    """The request is malformed; the message tells the caller what to send instead."""

    status = HTTPStatus.BAD_REQUEST


class TooLarge(BadRequest):
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class WrongType(BadRequest):
    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE


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

        A missing value (JSON null) is NaN for a number and "" for a category: the model imputes them as in
        training. A string where a number belongs, NaN or infinity is refused. Booleans count as 0/1, as
        pandas (and so `mlflow models serve`) reads them. Rows are turned into columns with NumPy, never one
        Python object per row.
        """
        if not isinstance(payload, dict):
            raise BadRequest("the body must be a JSON object with dataframe_split or dataframe_records")
        if "dataframe_split" in payload:
            split = payload["dataframe_split"]
            if not isinstance(split, dict) or not isinstance(split.get("data"), list):
                raise BadRequest(
                    "dataframe_split needs 'columns' (a list of names) and 'data' (a list of rows)"
                )
            columns = split.get("columns", self.columns)
            if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
                raise BadRequest("dataframe_split.columns must be a list of column names")
            data = split["data"]
            if not all(isinstance(row, list) and len(row) == len(columns) for row in data):
                raise BadRequest(f"every row of dataframe_split.data must be a list of {len(columns)} values")
            position = {name: i for i, name in enumerate(columns)}
            missing = [c for c in self.columns if c not in position]
            order = [position.get(c, 0) for c in self.columns]
        elif "dataframe_records" in payload:
            records = payload["dataframe_records"]
            if not isinstance(records, list) or not all(isinstance(row, dict) for row in records):
                raise BadRequest("dataframe_records must be a list of objects")
            missing = sorted({c for row in records for c in self.columns if c not in row})
            data = [[row.get(c) for c in self.columns] for row in records]
            order = list(range(len(self.columns)))
        else:
            raise BadRequest("send dataframe_split or dataframe_records (the MLflow scoring formats)")
        if not data:
            raise BadRequest("no rows to score")
        if missing:
            raise BadRequest(f"missing columns: {', '.join(missing)}")
        return self._columns(data, order)

    def _columns(self, data: list, order: list[int]) -> list:
        import numpy as np

        width = len(data[0])
        table = np.array(data, dtype=object)
        if table.shape != (len(data), width):  # cells holding lists: NumPy nested them; place them one by one
            table = np.empty((len(data), width), dtype=object)
            for i, row in enumerate(data):
                for j, value in enumerate(row):
                    table[i, j] = value
        numeric = [i for i, categorical in enumerate(self.categorical) if not categorical]
        block = table[:, [order[i] for i in numeric]]
        # One pass over every numeric cell in C: JSON gives exactly these types for numbers and null (bool
        # counts as 0/1); a set of the types found is ~20x faster than isinstance per cell.
        found = set(map(type, block.ravel()))
        if not found <= NUMBER_TYPES:
            bad = next(
                i for i, col in zip(numeric, block.T, strict=True) if not set(map(type, col)) <= NUMBER_TYPES
            )
            raise BadRequest(
                f"feature {self.columns[bad]!r} must be a number (or null when missing), not text"
            )
        absent = np.zeros(block.shape, dtype=bool)
        if type(None) in found:
            absent = block == None  # noqa: E711 (elementwise on an object array)
            block[absent] = np.nan
        values = block.astype(np.float64)
        finite = np.isfinite(values) | absent
        if not finite.all():
            bad = numeric[int(np.flatnonzero(~finite.all(axis=0))[0])]
            raise BadRequest(f"feature {self.columns[bad]!r} must be finite: NaN and infinity are not values")
        numbers = iter(values.T)
        arrays = []
        for index, categorical in zip(order, self.categorical, strict=True):
            if categorical:
                cells = table[:, index]
                arrays.append(np.array(["" if v is None else str(v) for v in cells], dtype=object))
            else:
                arrays.append(np.ascontiguousarray(next(numbers)))
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

        timeout = (
            CLIENT_TIMEOUT_S  # StreamRequestHandler sets it on the socket: slow clients cannot pin a thread
        )

        def do_POST(self) -> None:
            """Answer every request with JSON: 400/413/415 say what to fix; 500 carries a request id."""
            if self.path != "/invocations":
                self._json(HTTPStatus.NOT_FOUND, {"error_code": "NOT_FOUND", "message": self.path})
                return
            try:
                matrix = scorer.matrix(self._payload())
            except BadRequest as exc:
                self._error(exc.status, str(exc))
                return
            except TimeoutError:
                self.close_connection = True  # the stream is unusable after a timed-out read
                self._error(
                    HTTPStatus.REQUEST_TIMEOUT, f"the body did not arrive within {CLIENT_TIMEOUT_S} s"
                )
                return
            try:
                predictions = scorer.predict(matrix)
            except Exception as exc:  # a model failure: the caller gets an id to quote, the log the reason
                request_id = uuid.uuid4().hex
                sys.stderr.write(f"request {request_id}: the model failed: {type(exc).__name__}\n")
                self._json(
                    HTTPStatus.INTERNAL_SERVER_ERROR,
                    {"error_code": "INTERNAL_ERROR", "message": "the model failed", "request_id": request_id},
                )
                return
            self._json(HTTPStatus.OK, {"predictions": predictions})

        def _payload(self) -> object:
            content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if content_type not in JSON_TYPES:
                self.close_connection = True  # the body is not read: the connection cannot be reused
                raise WrongType(f"Content-Type {content_type!r}: send application/json")
            if "Content-Length" not in self.headers:
                self.close_connection = True
                raise BadRequest("send a Content-Length header (chunked bodies are not accepted)")
            try:
                length = int(self.headers["Content-Length"])
            except ValueError:
                self.close_connection = True
                raise BadRequest("Content-Length must be a number of bytes") from None
            if length < 0:
                self.close_connection = True
                raise BadRequest("Content-Length must not be negative")
            if length > MAX_BODY_BYTES:
                self.close_connection = True
                raise TooLarge(f"body of {length} bytes is larger than {MAX_BODY_BYTES} bytes")
            body = self.rfile.read(length)
            if len(body) < length:
                self.close_connection = True
                raise BadRequest(f"the body ended after {len(body)} of {length} bytes")
            try:
                return json.loads(body or b"null")
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise BadRequest(f"the body is not JSON: {exc}") from None
            except RecursionError:
                raise BadRequest("the body nests too deeply") from None

        def _error(self, status: HTTPStatus, message: str) -> None:
            self._json(status, {"error_code": status.name, "message": message})

        def _json(self, status: HTTPStatus, body: object) -> None:
            self._send(status, json.dumps(body).encode(), "application/json")

        def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection:
                self.send_header("Connection", "close")
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
