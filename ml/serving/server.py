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
- `POST /invocations` with `Content-Type: application/x-npy` and one `.npy` array (a structured array with a
  field per column, or a plain 2-D numeric array when no feature is categorical) → the same answer. Columns of
  numbers arrive as arrays: nothing is parsed number by number, which JSON cannot avoid (docs/benchmarks.md).

`EDGE_TRAIN_FLAVOR` picks the runtime: `onnx` (default when model.onnx is present) or `native`.
"""

from __future__ import annotations

import functools
import io
import json
import math
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
NPY_TYPE = "application/x-npy"  # what SageMaker's NumpySerializer sends: one np.save'd array
NUMBER_KINDS = "biuf"  # NumPy dtype kinds read as numbers: bool, signed and unsigned integers, floats


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
        self.numeric: list[str] = [
            c for c, cat in zip(self.columns, self.categorical, strict=True) if not cat
        ]
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
            import numpy as np

            # The numbers cast to float32 in one NumPy call, not one per column (a third of the time).
            numbers = iter(
                np.array([c for c, cat in zip(columns, self.categorical, strict=True) if not cat], np.float32)
            )
            feed = {
                name: (column if cat else next(numbers)).reshape(-1, 1)
                for name, column, cat in zip(self._inputs, columns, self.categorical, strict=True)
            }
            predictions = self._session.run([self._session.get_outputs()[0].name], feed)[0]
        else:
            import pandas as pd

            frame = pd.DataFrame(dict(zip(self.columns, columns, strict=True)))
            predictions = self._model.predict(frame)
        return predictions.ravel().tolist()

    def read(self, content_type: str, body: bytes) -> list:
        """The request's columns from its body: one `.npy` array, or MLflow's JSON."""
        return self.npy_matrix(body) if content_type == NPY_TYPE else self.matrix(json_payload(body))

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
            present = set(position)
            order = [position.get(c, 0) for c in self.columns]
        elif "dataframe_records" in payload:
            records = payload["dataframe_records"]
            if not isinstance(records, list) or not all(isinstance(row, dict) for row in records):
                raise BadRequest("dataframe_records must be a list of objects")
            present = set(self.columns).intersection(*records)  # the columns every record has
            data = [[row.get(c) for c in self.columns] for row in records]
            order = list(range(len(self.columns)))
        else:
            raise BadRequest("send dataframe_split or dataframe_records (the MLflow scoring formats)")
        self._check_table(present, len(data))
        return self._columns(data, order)

    def npy_matrix(self, body: bytes) -> list:
        """A `.npy` body's rows as `matrix` gives them, built with NumPy only (no Python object per number).

        A structured array names its fields after the model's columns (extra fields are ignored, as extra
        JSON columns are): numbers in any integer, float or bool dtype, NaN when missing; categories as text
        (dtype U, or S in UTF-8), "" when missing. A plain 2-D numeric array is read in the signature's column
        order, for models without categories. Infinity is refused, as in JSON.
        """
        import numpy as np

        array = read_npy(body)
        if array.dtype.names is None:
            return self._npy_plain(array)
        if array.ndim != 1:
            raise BadRequest(
                f"a structured array must be 1-D (one record per row), not of shape {array.shape}"
            )
        self._check_table(set(array.dtype.names), len(array))
        for name in self.numeric:
            field = array.dtype[name]
            if field.kind not in NUMBER_KINDS or field.shape:
                raise BadRequest(_not_a_number(name, "NaN", f"dtype {field.str}{field.shape or ''}"))
        packed = packed_fields(array.dtype, tuple(self.numeric))
        if packed:  # every field one number type: the records are rows of a 2-D array, read in one pass
            base, index = packed
            rows = array.view(base).reshape(len(array), -1)[:, index]
            values = np.ascontiguousarray(rows.T, dtype=np.float64)
        else:
            values = np.empty((len(self.numeric), len(array)))
            for j, name in enumerate(self.numeric):
                values[j] = array[name]  # any integer, float or bool dtype, cast by NumPy
        texts = [
            _text(name, array[name]) for name, cat in zip(self.columns, self.categorical, strict=True) if cat
        ]
        return self._assemble(values, None, "NaN", texts)

    def _npy_plain(self, array: Any) -> list:
        import numpy as np

        categorical = [c for c, cat in zip(self.columns, self.categorical, strict=True) if cat]
        if categorical:
            raise BadRequest(
                f"this model has categorical features ({', '.join(categorical)}): send a structured array "
                "with one named field per column"
            )
        if array.ndim != 2 or array.shape[1] != len(self.columns):
            raise BadRequest(
                f"a plain array must be 2-D, rows x {len(self.columns)} columns in the model's order "
                f"({', '.join(self.columns)}), not of shape {array.shape}"
            )
        if array.dtype.kind not in NUMBER_KINDS:
            raise BadRequest(
                f"a plain array must hold numbers (NaN when missing), not dtype {array.dtype.str}"
            )
        self._check_table(set(self.columns), len(array))
        values = np.array(array.T, dtype=np.float64, order="C")
        return self._assemble(values, None, "NaN", [])

    def _check_table(self, present: set[str], rows: int) -> None:
        """Both bodies: at least one row, and every column the model reads."""
        if not rows:
            raise BadRequest("no rows to score")
        missing = [c for c in self.columns if c not in present]
        if missing:
            raise BadRequest(f"missing columns: {', '.join(missing)}")

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
            raise BadRequest(_not_a_number(self.columns[bad], "null", "text"))
        absent = np.zeros(block.shape, dtype=bool)
        if type(None) in found:
            absent = block == None  # noqa: E711 (elementwise on an object array)
            block[absent] = np.nan
        texts = [
            np.array(["" if v is None else str(v) for v in table[:, index]], dtype=object)
            for index, categorical in zip(order, self.categorical, strict=True)
            if categorical
        ]
        values = np.array(block.T, dtype=np.float64, order="C")
        return self._assemble(values, absent.T, "null", texts)

    def _assemble(self, values: Any, absent: Any, missing: str, texts: list) -> list:
        """The columns in the model's order, from both bodies. `values`: float64, one C-ordered row per
        numeric feature in signature order (so each is a contiguous column), finite except where `absent`
        marks a missing value (None: where a value is NaN). `texts`: the categorical columns in order, object
        arrays of str."""
        import numpy as np

        finite = np.isfinite(values)
        if not finite.all():
            finite |= np.isnan(values) if absent is None else absent
        if not finite.all():
            j = int(np.flatnonzero(~finite.all(axis=1))[0])
            bad = values[j, ~finite[j]][0]
            raise BadRequest(
                f"feature {self.numeric[j]!r} must be finite ({missing} when missing), "
                f"not {'NaN' if np.isnan(bad) else 'infinity'}"
            )
        numbers, categories = iter(values), iter(texts)
        return [next(categories) if cat else next(numbers) for cat in self.categorical]


@functools.lru_cache(maxsize=64)  # per distinct request layout, as the headers are
def packed_fields(dtype: Any, wanted: tuple[str, ...]) -> tuple[Any, list[int]] | None:
    """(the one number type, the positions of `wanted`) when a structured dtype is fields of one number type
    packed in order, as `DataFrame.to_records` of a numeric frame gives: its records are then the rows of a
    2-D array, read in one pass instead of once per column. None for any other layout."""
    fields = [dtype.fields[name] for name in dtype.names]
    base = fields[0][0]
    packed = base.kind in NUMBER_KINDS and not base.shape and dtype.itemsize == len(fields) * base.itemsize
    if not packed or any(
        kind != base or offset != i * base.itemsize for i, (kind, offset, *_) in enumerate(fields)
    ):
        return None
    return base, [dtype.names.index(name) for name in wanted]


def json_payload(body: bytes) -> object:
    try:
        return json.loads(body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not JSON: {exc}") from None
    except RecursionError:
        raise BadRequest("the body nests too deeply") from None


def read_npy(body: bytes) -> Any:
    """The body's one `.npy` array, as `np.load(..., allow_pickle=False)` reads it but without copying: NumPy
    reads the header (`npy_header`), and the values are a read-only view of the body's bytes. Nothing is
    unpickled, and nothing is allocated for values a header announces but the body does not hold."""
    import numpy as np

    length_bytes = 2 if body[6:8] == b"\x01\x00" else 4  # after the magic and version: the header's length
    header = body[: 8 + length_bytes + int.from_bytes(body[8 : 8 + length_bytes], "little")]
    shape, fortran, dtype = npy_header(header)
    count = math.prod(shape)
    announced, held = count * dtype.itemsize, len(body) - len(header)
    if announced != held:
        raise BadRequest(f"the .npy header announces {announced} bytes of values, the body holds {held}")
    try:
        values = np.frombuffer(body, dtype, count, offset=len(header))
    except ValueError as exc:
        raise BadRequest(f"the body is not a .npy array: {_first_line(exc)}") from None
    return values.reshape(shape[::-1]).T if fortran else values.reshape(shape)


@functools.lru_cache(maxsize=64)
def npy_header(header: bytes) -> tuple[tuple[int, ...], bool, Any]:
    """(shape, Fortran order, dtype) of a `.npy` header, read by NumPy; an object dtype is refused.

    Cached by the header's bytes: NumPy parses it with `ast.literal_eval`, ~0.2 ms for 30 fields, as long as
    ONNX Runtime takes to score 1,000 rows; a client sends the same header for every batch of one size.
    """
    import numpy as np

    stream = io.BytesIO(header)
    try:
        version = np.lib.format.read_magic(stream)
        # 3.0 is 2.0 with UTF-8 field names: read as latin-1 (2.0's encoding), then decoded again.
        read = (
            np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = read(stream)
        if version == (3, 0) and dtype.names:
            dtype.names = tuple(name.encode("latin-1").decode("utf-8") for name in dtype.names)
    # A damaged header raises ValueError, SyntaxError or tokenize.TokenError (fuzzed): all of them the body's.
    except Exception as exc:
        raise BadRequest(f"the body is not a .npy array: {_first_line(exc)}") from None
    if dtype.hasobject:
        raise BadRequest(
            "object arrays are refused (NumPy pickles them, and the server never unpickles): send numbers, "
            "and text as fixed-width strings (dtype U, or S in UTF-8)"
        )
    return shape, fortran, dtype


def _text(name: str, column: Any) -> Any:
    """A categorical field as an object array of str ("" is missing): U as it is, S decoded as UTF-8."""
    import numpy as np

    kind = column.dtype.kind
    if kind not in "US" or column.ndim != 1:
        raise BadRequest(
            f"feature {name!r} is a category: send text (dtype U, or S in UTF-8), "
            f"not dtype {column.dtype.str}"
        )
    if column.dtype.itemsize == 0:  # pandas' to_records(column_dtypes={name: "U"}) empties the column
        raise BadRequest(f"feature {name!r} is text of width 0, which holds nothing: give a width (U16)")
    if kind == "S":
        try:
            column = np.char.decode(column, "utf-8")
        except UnicodeDecodeError:
            raise BadRequest(f"feature {name!r} is bytes that are not UTF-8") from None
    else:  # U holds UTF-32 code units as sent: one past U+10FFFF (or a surrogate) is no character
        codes = np.ascontiguousarray(column, dtype=column.dtype.newbyteorder("=")).view(np.uint32)
        if ((codes > 0x10FFFF) | ((codes >= 0xD800) & (codes <= 0xDFFF))).any():
            raise BadRequest(f"feature {name!r} holds code points that are not Unicode characters")
    return column.astype(object)


def _not_a_number(name: str, missing: str, found: str) -> str:
    return f"feature {name!r} must be a number ({missing} when missing), not {found}"


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


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

        def handle(self) -> None:
            """Serve the connection; a client that resets it (gone mid-body or before its answer) ends it.

            There is nobody left to answer, and socketserver would print a traceback into the log for it.
            """
            try:
                super().handle()
            except ConnectionError:  # BrokenPipeError, ConnectionResetError, ConnectionAbortedError
                self.close_connection = True

        def do_POST(self) -> None:
            """Answer every request with JSON: 400/413/415 say what to fix; 500 carries a request id."""
            if self.path != "/invocations":
                self._json(HTTPStatus.NOT_FOUND, {"error_code": "NOT_FOUND", "message": self.path})
                return
            try:
                matrix = scorer.read(*self._body())
            except BadRequest as exc:
                self._error(exc.status, str(exc))
                return
            except TimeoutError:
                self.close_connection = True  # the stream is unusable after a timed-out read
                self._error(HTTPStatus.REQUEST_TIMEOUT, f"the body did not arrive within {self.timeout} s")
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

        def _body(self) -> tuple[str, bytes]:
            """The Content-Type and the whole body, within the size limit, whichever format it is in."""
            content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if content_type not in JSON_TYPES and content_type != NPY_TYPE:
                self.close_connection = True  # the body is not read: the connection cannot be reused
                raise WrongType(f"Content-Type {content_type!r}: send application/json or {NPY_TYPE}")
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
            return content_type, body

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
