"""The scoring server answers every request with JSON and never drops a connection.

Malformed JSON, wrong shapes, wrong columns and types, huge and lying Content-Lengths, wrong content types,
clients that stall mid-body, and a model that fails: each gets a status and a JSON body saying what to fix
(a 500 carries a request id), over raw sockets so nothing in a client library hides a dropped connection.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import struct
import threading
import time

import pytest

from ml.serving import server as server_module
from ml.serving.server import serve
from tests.unit.serving.test_server import ANSWER_WAIT_S, SCHEMA, model_root  # noqa: F401 - the shared fixture

FEATURES = tuple(SCHEMA.names)
NUMBER = next(f.name for f in SCHEMA.features if f.kind == "numeric")  # a column that must be a number
ROW = {f.name: "a" if f.kind == "categorical" else 1.0 for f in SCHEMA.features}


@contextlib.contextmanager
def running(root, flavor: str, client_timeout_s: float):
    """A scoring server on a free loopback port that gives a silent client `client_timeout_s`."""
    httpd = serve(root, "127.0.0.1", 0, flavor)
    httpd.RequestHandlerClass.timeout = client_timeout_s
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(params=["native", "onnx"])
def address(request: pytest.FixtureRequest, model_root):  # noqa: F811
    """A server that times a silent client out after 1 s, so the tests of stalled bodies are quick."""
    with running(model_root[0], request.param, client_timeout_s=1) as served:
        yield served


@pytest.fixture(params=["native", "onnx"])
def patient_address(request: pytest.FixtureRequest, model_root):  # noqa: F811
    """A server with the shipped client timeout, for a client that is slow but within it."""
    with running(model_root[0], request.param, server_module.CLIENT_TIMEOUT_S) as served:
        yield served


def raw_request(address, body: bytes, headers: dict[str, str] | None = None, pause: float = 0.0):
    """Send one POST by hand; return (status, JSON body). Fails if the server closes without answering."""
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body)), **(headers or {})}
    head = "POST /invocations HTTP/1.1\r\nHost: x\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    with socket.create_connection(address, timeout=ANSWER_WAIT_S) as sock:
        sock.sendall(head.encode() + b"\r\n")
        if pause:
            sock.sendall(body[: len(body) // 2])
            time.sleep(pause)
            with contextlib.suppress(OSError):
                sock.sendall(body[len(body) // 2 :])
        else:
            with contextlib.suppress(OSError):  # the server answered early (413) and stopped reading
                sock.sendall(body)
        return read_response(sock)


def read_response(sock: socket.socket) -> tuple[int, dict]:
    """One whole HTTP response (headers, then exactly Content-Length bytes): (status, JSON body)."""
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection without an answer"
        response += chunk
    header, _, rest = response.partition(b"\r\n\r\n")
    lines = header.split(b"\r\n")
    length = int(next(line.split(b":")[1] for line in lines if line.lower().startswith(b"content-length")))
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection mid-answer"
        rest += chunk
    assert b"application/json" in header.lower()
    return int(header.split()[1]), json.loads(rest[:length])


def split(columns, data) -> bytes:
    return json.dumps({"dataframe_split": {"columns": columns, "data": data}}).encode()


MALFORMED = {
    "not json": b"{oops",
    "not utf-8": b"\xff\xfe\x00",
    "empty body": b"",
    "a list": b"[1, 2, 3]",
    "a number": b"42",
    "no known key": b'{"instances": [[1, 2]]}',
    "split not an object": b'{"dataframe_split": [1]}',
    "split without data": b'{"dataframe_split": {"columns": ["a"]}}',
    "data not a list": b'{"dataframe_split": {"data": 3}}',
    "row not a list": split(list(FEATURES), [3]),
    "short row": split(list(FEATURES), [[1.0]]),
    "long row": split(list(FEATURES), [[1.0] * (len(FEATURES) + 1)]),
    "columns not a list": b'{"dataframe_split": {"columns": 3, "data": []}}',
    "columns not names": split([1] * len(FEATURES), [[1.0] * len(FEATURES)]),
    "wrong columns": split([f"x{i}" for i in range(len(FEATURES))], [[1.0] * len(FEATURES)]),
    "no rows": split(list(FEATURES), []),
    "a string value": json.dumps({"dataframe_records": [{**ROW, NUMBER: "big"}]}).encode(),
    "a numeric string": json.dumps({"dataframe_records": [{**ROW, NUMBER: "1.5"}]}).encode(),
    "NaN": json.dumps({"dataframe_records": [{**ROW, NUMBER: float("nan")}]}).encode(),
    "Infinity": json.dumps({"dataframe_records": [{**ROW, NUMBER: float("inf")}]}).encode(),
    "a list value": json.dumps({"dataframe_records": [{**ROW, NUMBER: [1, 2]}]}).encode(),
    "a dict value": json.dumps({"dataframe_records": [{**ROW, NUMBER: {"a": 1}}]}).encode(),
    "records not a list": b'{"dataframe_records": {"a": 1}}',
    "record not an object": b'{"dataframe_records": [1, 2]}',
    "missing column": json.dumps({"dataframe_records": [{NUMBER: 1.0}]}).encode(),
    "deep nesting": b'{"dataframe_records": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
}


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_input_gets_400_with_the_reason(address, name: str) -> None:
    status, body = raw_request(address, MALFORMED[name])
    assert status == 400, body
    assert body["error_code"] == "BAD_REQUEST" and body["message"]


def test_a_wrong_content_type_gets_415(address) -> None:
    status, body = raw_request(address, b"a=1", {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 415 and "application/json" in body["message"]


def test_a_body_over_the_limit_gets_413_without_being_read(address) -> None:
    size = server_module.MAX_BODY_BYTES + 1
    status, body = raw_request(address, b"", {"Content-Length": str(size)})
    assert status == 413 and str(size) in body["message"]


@pytest.mark.parametrize("length", ["-5", "lots", "1e3"])
def test_a_bad_content_length_gets_400(address, length: str) -> None:
    status, _ = raw_request(address, b"{}", {"Content-Length": length})
    assert status == 400


def test_a_body_shorter_than_announced_gets_408_naming_the_client_timeout(address) -> None:
    status, body = raw_request(address, b"{}", {"Content-Length": "100"})
    assert status == 408 and "within 1 s" in body["message"], body


def test_a_slow_client_that_finishes_is_answered(patient_address) -> None:
    body = json.dumps({"dataframe_records": [ROW]}).encode()
    status, answer = raw_request(patient_address, body, pause=1.0)
    assert status == 200 and len(answer["predictions"]) == 1


def test_a_stalled_client_does_not_hold_the_server(address) -> None:
    with socket.create_connection(address, timeout=5) as stalled:
        stalled.sendall(b"POST /invocations HTTP/1.1\r\nContent-Length: 50\r\n\r\n{")
        status, answer = raw_request(address, json.dumps({"dataframe_records": [ROW]}).encode())
        assert status == 200 and answer["predictions"]


def test_a_model_failure_gets_500_with_a_request_id(address, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self, matrix):
        raise RuntimeError("patient 12 has value 3.1")  # must not reach the caller

    monkeypatch.setattr(server_module.Scorer, "predict", broken)
    status, body = raw_request(address, json.dumps({"dataframe_records": [ROW]}).encode())
    assert status == 500 and len(body["request_id"]) == 32
    assert "3.1" not in json.dumps(body)


def test_random_bytes_and_mutations_always_get_an_answer(address) -> None:
    rng = random.Random(15)
    valid = json.dumps({"dataframe_split": {"columns": list(FEATURES), "data": [[1.0] * len(FEATURES)]}})
    for _ in range(60):
        if rng.random() < 0.5:
            body = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
        else:
            chars = list(valid)
            for _ in range(rng.randrange(1, 5)):
                chars[rng.randrange(len(chars))] = rng.choice('{}[]",:0123456789.-eE ntrufalsN')
            body = "".join(chars).encode()
        status, answer = raw_request(address, body)
        assert status in (200, 400), (body, answer)


def test_one_keep_alive_connection_survives_a_bad_request(address) -> None:
    good = json.dumps({"dataframe_records": [ROW]}).encode()
    with socket.create_connection(address, timeout=ANSWER_WAIT_S) as sock:
        for body in (b"{oops", good):
            sock.sendall(
                b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            status, _ = read_response(sock)
            assert status == (200 if body == good else 400)


def test_a_client_that_hangs_up_mid_body_leaves_no_traceback_and_the_server_serves_on(
    address, capsys: pytest.CaptureFixture[str]
) -> None:
    """A reset connection (the client gone mid-body, or before the answer) is no error of the server's: the
    log stays a log of requests, not of tracebacks, and the next client is answered."""
    for _ in range(5):
        with socket.create_connection(address, timeout=ANSWER_WAIT_S) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends RST
            head = "POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            sock.sendall(head.encode() + b"Content-Length: 50\r\n\r\n{")
    status, _ = raw_request(address, json.dumps({"dataframe_records": [ROW]}).encode())
    assert status == 200
    time.sleep(0.2)  # the handler threads of the reset connections have finished writing, if they would
    assert "Traceback" not in capsys.readouterr().err
