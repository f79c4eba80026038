"""The scoring server inside the model image: MLflow's REST contract on the standard library.

It is copied into the image on its own (it imports nothing from `ml`), so the image needs only numpy and the
model's runtimes: onnxruntime for the ONNX model, scikit-learn + skops for the native one (no pandas, no
MLflow: `signature.json`, written at packaging time, says which file and which types to load).
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
import warnings
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MAX_BODY_BYTES = 64 * 1024 * 1024
# A client that stops sending mid-request frees its thread after this long (and gets a 408 if it is still
# reading); a keep-alive connection idle this long is closed.
CLIENT_TIMEOUT_S = 30
JSON_TYPES = ("application/json", "")  # "": curl and many clients send no Content-Type with -d


class BadRequest(ValueError):
    """The request is malformed; the message tells the caller what to send instead."""

    status = HTTPStatus.BAD_REQUEST


class TooLarge(BadRequest):
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class WrongType(BadRequest):
    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE


class Scorer:
    """Loads one model flavour and turns a column-ordered float matrix into predicted labels."""

    def __init__(self, model_root: Path, flavor: str | None = None) -> None:
        signature = json.loads((model_root / "signature.json").read_text())
        self.columns: list[str] = signature["columns"]
        self.lineage: dict[str, Any] = json.loads((model_root / "lineage.json").read_text())
        onnx_path = model_root / "model.onnx"
        self.flavor = flavor or ("onnx" if onnx_path.is_file() else "native")
        if self.flavor == "onnx":
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            self._session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
            self._input = self._session.get_inputs()[0].name
        elif self.flavor == "native":
            import skops.io

            native = signature["native"]
            self._model = skops.io.load(model_root / native["file"], trusted=native["trusted_types"])
        else:
            raise ValueError(f"EDGE_TRAIN_FLAVOR must be onnx or native, not {self.flavor!r}")

    def predict(self, matrix) -> list:
        if self.flavor == "onnx":
            labels = self._session.run(
                [self._session.get_outputs()[0].name], {self._input: matrix.astype("float32")}
            )[0]
        else:
            with warnings.catch_warnings():  # fitted on named columns; `matrix` has them in the same order
                warnings.filterwarnings("ignore", message="X does not have valid feature names")
                labels = self._model.predict(matrix)
        return labels.tolist()

    def matrix(self, payload: object):
        """The request's rows as a float64 matrix with columns in the model's order."""
        import numpy as np

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
            if not all(isinstance(row, list) and len(row) == len(columns) for row in split["data"]):
                raise BadRequest(f"every row of dataframe_split.data must be a list of {len(columns)} values")
            rows = [dict(zip(columns, row, strict=True)) for row in split["data"]]
        elif "dataframe_records" in payload:
            rows = payload["dataframe_records"]
            if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
                raise BadRequest("dataframe_records must be a list of objects")
        else:
            raise BadRequest("send dataframe_split or dataframe_records (the MLflow scoring formats)")
        if not rows:
            raise BadRequest("no rows to score")
        missing = sorted({c for row in rows for c in self.columns if c not in row})
        if missing:
            raise BadRequest(f"missing columns: {', '.join(missing)}")
        # No dtype: NumPy would turn "1.5" into a number; its own inference marks strings instead. Booleans
        # count as 0/1, as pandas (and so `mlflow models serve`) reads them.
        try:
            values = np.array([[row[c] for c in self.columns] for row in rows])
        except ValueError:  # lists of different lengths inside cells
            values = np.array([], dtype=object)
        if values.ndim != 2 or values.dtype.kind not in "iuf" or not np.isfinite(values).all():
            raise BadRequest("every feature must be a number: finite, not a string, null, NaN or inf")
        return values.astype(np.float64).reshape(len(rows), len(self.columns))


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
