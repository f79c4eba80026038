"""The scoring server reads a `.npy` body (Content-Type application/x-npy) as it reads MLflow's JSON.

The same rows give the same predictions from either body, for a model with categorical features and one
without; NaN is a missing number and "" a missing category, as JSON's null is. What JSON refuses, the .npy
body refuses too, and a body that is not one safe array (pickled objects, a damaged header, a short body)
gets a 400 in one line. Rows and field names come from the schema, never from the example's columns.
"""

from __future__ import annotations

import io
import json
import random
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.serving import server as server_module
from ml.serving.server import NPY_TYPE, BadRequest, Scorer, serve
from ml.steps.schema import Schema
from tests.unit.serving.test_server import ANSWER_WAIT_S, SCHEMA, image_model, json_rows
from tests.unit.serving.test_server_fuzz import raw_request

NUMERIC_SCHEMA = Schema(  # a model with no categorical feature: a plain 2-D array can score it
    "binary", "churned", tuple(f for f in SCHEMA.features if f.kind != "categorical"), (0, 1)
)
TEXT = SCHEMA.of_kind("categorical")
NUMBER = SCHEMA.of_kind("numeric")[0]


FLAVORS = ("native", "onnx")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, object, pd.DataFrame]]:
    return {
        "with categories": image_model(tmp_path_factory.mktemp("categorical"), SCHEMA),
        "numbers only": image_model(tmp_path_factory.mktemp("numeric"), NUMERIC_SCHEMA),
    }


@pytest.fixture(scope="module")
def scorers(models) -> dict[tuple[str, str], Scorer]:
    return {
        (name, flavor): Scorer(root, flavor) for name, (root, _, _) in models.items() for flavor in FLAVORS
    }


def npy(array: np.ndarray) -> bytes:
    """The body `np.save` writes; with its default allow_pickle=True, as a careless client would call it."""
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def records(rows: pd.DataFrame) -> np.ndarray:
    """What a pandas client sends (docs/release.md): text columns as U, "" for a missing category."""
    text = [c for c in rows.columns if not pd.api.types.is_numeric_dtype(rows[c])]
    filled = rows.fillna({c: "" for c in text})
    return filled.to_records(index=False, column_dtypes={c: filled[c].to_numpy(str).dtype for c in text})


def from_json(scorer: Scorer, rows: pd.DataFrame) -> list:
    payload = {"dataframe_split": {"columns": list(rows.columns), "data": json_rows(rows)}}
    return scorer.predict(scorer.matrix(payload))


def from_npy(scorer: Scorer, body: bytes) -> list:
    return scorer.predict(scorer.npy_matrix(body))


def refusal(scorer: Scorer, body: bytes) -> str:
    with pytest.raises(BadRequest) as caught:
        scorer.npy_matrix(body)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("model", ["with categories", "numbers only"])
def test_a_structured_array_predicts_what_the_same_rows_in_json_predict(
    models, scorers, model, flavor
) -> None:
    _, fitted, frame = models[model]
    rows = frame.head(60)
    predictions = from_npy(scorers[model, flavor], npy(records(rows)))
    assert predictions == from_json(scorers[model, flavor], rows)
    assert predictions == fitted.predict(rows).tolist()


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_plain_2d_array_in_signature_order_scores_a_model_without_categories(
    models, scorers, flavor
) -> None:
    _, _, frame = models["numbers only"]
    rows = frame.head(40)
    scorer = scorers["numbers only", flavor]
    plain = rows[scorer.columns].to_numpy(dtype=np.float64)
    assert from_npy(scorer, npy(plain)) == from_json(scorer, rows)
    assert from_npy(scorer, npy(np.asfortranarray(plain))) == from_json(scorer, rows)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_nan_and_empty_text_are_missing_values_as_json_null_is(models, scorers, flavor) -> None:
    _, _, frame = models["with categories"]
    rows = frame.head(len(SCHEMA.names) * 2).copy()
    for i, feature in enumerate(SCHEMA.features * 2):  # each row misses another feature
        rows.iloc[i, rows.columns.get_loc(feature.name)] = "" if feature.kind == "categorical" else np.nan
    scorer = scorers["with categories", flavor]
    assert from_npy(scorer, npy(records(rows))) == from_json(scorer, rows)


@pytest.mark.parametrize("dtype", ["<i8", ">i4", "<u1", "<f2", ">f4", "?"])
def test_a_number_in_any_integer_float_or_bool_dtype_is_read_as_its_float64_value(scorers, dtype) -> None:
    scorer = scorers["with categories", "onnx"]
    values = np.array([0, 1, 3, 0, 2]).astype(dtype)
    array = np.rec.fromarrays(
        [values if name == NUMBER else np.repeat(_with()[name], len(values)) for name in SCHEMA.names],
        names=SCHEMA.names,
    )
    column = scorer.npy_matrix(npy(array))[SCHEMA.names.index(NUMBER)]
    assert column.dtype == np.float64 and column.tolist() == values.astype(np.float64).tolist()


def test_text_as_utf8_bytes_reads_as_the_categories_json_gives(models, scorers) -> None:
    _, _, frame = models["with categories"]
    rows = frame.head(30).copy()
    rows.iloc[0, rows.columns.get_loc(TEXT[0])] = "süd-ost"  # not ASCII: UTF-8 takes two bytes for ü
    text = records(rows)
    as_bytes = np.rec.fromarrays(
        [np.char.encode(text[n], "utf-8") if n in TEXT else text[n] for n in SCHEMA.names], names=SCHEMA.names
    )
    scorer = scorers["with categories", "onnx"]
    json_columns = scorer.matrix({"dataframe_split": {"columns": SCHEMA.names, "data": json_rows(rows)}})
    for body in (npy(text), npy(as_bytes)):
        columns = scorer.npy_matrix(body)
        for name in TEXT:
            index = SCHEMA.names.index(name)
            assert columns[index].dtype == object
            assert columns[index].tolist() == json_columns[index].tolist()


def test_extra_fields_are_ignored_and_field_order_does_not_matter(models, scorers) -> None:
    _, _, frame = models["with categories"]
    rows = frame.head(20)
    shuffled = rows[list(reversed(rows.columns))].assign(**{"not a feature": 1.0, "a note": "x"})
    scorer = scorers["with categories", "onnx"]
    assert from_npy(scorer, npy(records(shuffled))) == from_json(scorer, rows)


@pytest.mark.parametrize("dtype", ["<f8", ">i4", "?"])
def test_records_of_one_number_type_read_in_one_pass_give_the_columns_field_by_field_reading_gives(
    models, scorers, dtype
) -> None:
    """A numeric frame's `to_records` packs fields of one type: the server reads those records as rows of a
    2-D array. Shuffled fields, an extra one, and the same rows with one field of another type (read field by
    field) must give the same columns."""
    _, _, frame = models["numbers only"]
    rows = frame.head(25)[list(reversed(NUMERIC_SCHEMA.names))].assign(extra=1).fillna(0).astype(dtype)
    scorer = scorers["numbers only", "onnx"]
    packed = rows.to_records(index=False)
    mixed = rows.to_records(index=False, column_dtypes={"extra": "<f2"})
    expected = [rows[name].to_numpy(np.float64).tolist() for name in scorer.columns]
    numeric = tuple(scorer.numeric)
    assert server_module.packed_fields(packed.dtype, numeric), "the one-pass route is the one tested"
    assert server_module.packed_fields(mixed.dtype, numeric) is None, "and the field-by-field one"
    for body in (npy(packed), npy(mixed)):
        assert [column.tolist() for column in scorer.npy_matrix(body)] == expected


@pytest.mark.filterwarnings("ignore:Stored array in format 3.0:UserWarning")  # np.save's note to the client
def test_field_names_numpy_writes_as_utf8_are_read(models, scorers) -> None:
    _, _, frame = models["with categories"]
    rows = frame.head(10).assign(**{"Notiz 注": "x"})  # not latin-1: np.save writes format 3.0
    body = npy(records(rows))
    assert body[6:8] == b"\x03\x00"
    scorer = scorers["with categories", "onnx"]
    assert from_npy(scorer, body) == from_json(scorer, frame.head(10))


def _with(**fields: object) -> np.ndarray:
    """One record of the categorical schema, with `fields` replacing some values, or dropping them (None)."""
    values = {f.name: "a" if f.kind == "categorical" else 1.0 for f in SCHEMA.features} | fields
    kept = {name: value for name, value in values.items() if value is not None}
    return np.rec.fromarrays([np.array([v]) for v in kept.values()], names=list(kept))


def _fields(dtype: str, **other: str) -> list[tuple[str, str]]:
    return [(name, other.get(name, dtype)) for name in SCHEMA.names]


def _beyond_unicode() -> bytes:
    """A U field holding U+110000, one past the last code point: NumPy writes it, Python has no such str."""
    body = npy(_with(**{TEXT[0]: "ab"}))
    return body.replace("ab".encode("utf-32-le"), (0x110000).to_bytes(4, "little") + "b".encode("utf-32-le"))


WIDTH = len(NUMERIC_SCHEMA.names)
REFUSED = [
    # (model, body, what the message says)
    ("with categories", np.array([{"x": 1}, None], dtype=object), "object arrays are refused"),
    ("with categories", _with().astype(_fields("O")), "object arrays are refused"),
    ("with categories", _with(**{TEXT[0]: None}), f"missing columns: {TEXT[0]}"),
    ("with categories", _with(**{NUMBER: "1.5"}), f"feature {NUMBER!r} must be a number (NaN when missing)"),
    ("with categories", _with(**{NUMBER: 1 + 2j}), f"feature {NUMBER!r} must be a number"),
    ("with categories", _with(**{TEXT[0]: 2.0}), f"feature {TEXT[0]!r} is a category"),
    ("with categories", _with(**{NUMBER: np.inf}), f"feature {NUMBER!r} must be finite (NaN when missing)"),
    ("with categories", _with(**{NUMBER: -np.inf}), "not infinity"),
    ("with categories", _with(**{TEXT[0]: b"\xff"}), f"feature {TEXT[0]!r} is bytes that are not UTF-8"),
    ("with categories", np.zeros(1, dtype=_fields("f8", **{TEXT[0]: "U"})), "width 0"),
    ("with categories", _beyond_unicode(), f"feature {TEXT[0]!r} holds code points that are not Unicode"),
    ("with categories", np.zeros((2, 2), dtype=_fields("f8")), "must be 1-D"),
    ("with categories", np.zeros(0, dtype=_fields("f8")), "no rows to score"),
    ("with categories", np.zeros((2, len(SCHEMA.names))), f"categorical features ({', '.join(TEXT)})"),
    ("numbers only", np.zeros((2, WIDTH + 1)), f"rows x {WIDTH} columns"),
    ("numbers only", np.zeros(WIDTH), f"rows x {WIDTH} columns"),
    ("numbers only", np.full((2, WIDTH), "1"), "must hold numbers"),
    ("numbers only", np.full((2, WIDTH), np.inf), "must be finite"),
    ("numbers only", np.zeros((0, WIDTH)), "no rows to score"),
    ("numbers only", b"", "not a .npy array"),
    ("numbers only", b'{"dataframe_split": {}}', "not a .npy array"),
    ("numbers only", npy(np.zeros((4, WIDTH)))[:60], "not a .npy array"),
    (
        "numbers only",
        npy(np.zeros((4, WIDTH)))[:-3],
        f"header announces {32 * WIDTH} bytes of values, the body holds {32 * WIDTH - 3}",
    ),
    ("numbers only", npy(np.zeros((4, WIDTH))) + b"\0" * 8, f"the body holds {32 * WIDTH + 8}"),
]


@pytest.mark.parametrize(("model", "body", "message"), REFUSED)
def test_what_the_model_cannot_read_is_refused_with_a_one_line_reason(scorers, model, body, message) -> None:
    assert message in refusal(scorers[model, "onnx"], body if isinstance(body, bytes) else npy(body))


def test_a_header_announcing_more_than_the_body_holds_is_refused_before_numpy_allocates_it(scorers) -> None:
    body = npy(np.zeros((1, WIDTH))).replace(f"(1, {WIDTH})".encode(), f"({10**15}, {WIDTH})".encode())
    assert "announces" in refusal(scorers["numbers only", "onnx"], body)


# A damaged float can exceed float32, which the ONNX feed casts to infinity (as a JSON number would be).
@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_damaged_bodies_always_get_a_prediction_or_a_reason(scorers) -> None:
    scorer, rng = scorers["with categories", "onnx"], random.Random(13)
    valid = npy(_with())
    for _ in range(2000):
        body = bytearray(valid)
        for _ in range(rng.randrange(1, 5)):
            body[rng.randrange(len(body))] = rng.choice(b"{}()[]'\",:<>|0123456789fiuUSObV?- \n\x00\xff")
        try:
            scorer.predict(scorer.npy_matrix(bytes(body)))
        except BadRequest as exc:
            assert "\n" not in str(exc)


@pytest.fixture(params=FLAVORS)
def address(request: pytest.FixtureRequest, models):
    httpd = serve(models["with categories"][0], "127.0.0.1", 0, request.param)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address
    httpd.shutdown()
    httpd.server_close()


def post(address, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"http://{address[0]}:{address[1]}/invocations", data=body, headers={"Content-Type": NPY_TYPE}
    )
    try:
        with urllib.request.urlopen(request, timeout=ANSWER_WAIT_S) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_server_answers_an_npy_post_with_json_predictions(address, models) -> None:
    _, fitted, frame = models["with categories"]
    rows = frame.head(50)
    status, answer = post(address, npy(records(rows)))
    assert status == 200
    assert answer["predictions"] == fitted.predict(rows).tolist()


def test_the_server_refuses_a_pickled_body_with_400(address) -> None:
    status, answer = post(address, npy(np.array([object()], dtype=object)))
    assert status == 400 and answer["error_code"] == "BAD_REQUEST"
    assert "object arrays are refused" in answer["message"]


def test_an_npy_body_over_the_size_limit_gets_413_without_being_read(address) -> None:
    size = server_module.MAX_BODY_BYTES + 1
    status, answer = raw_request(address, b"", {"Content-Type": NPY_TYPE, "Content-Length": str(size)})
    assert status == 413 and str(size) in answer["message"]
