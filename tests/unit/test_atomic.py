"""An interrupted write leaves the previous version in place, never a half-written artifact."""

import pytest

from ml.atomic import atomic_output_dir, atomic_write_text


def test_a_failed_folder_write_keeps_the_old_folder_and_leaves_no_temp(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "old.txt").write_text("v1")
    with pytest.raises(RuntimeError), atomic_output_dir(target) as out:
        (out / "half.txt").write_text("partial")
        raise RuntimeError("interrupted")
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    assert [p.name for p in target.iterdir()] == ["old.txt"]


def test_a_successful_folder_write_replaces_the_old_folder(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "old.txt").write_text("v1")
    with atomic_output_dir(target) as out:
        (out / "new.txt").write_text("v2")
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_a_text_write_creates_parents_and_leaves_no_temp(tmp_path):
    atomic_write_text(tmp_path / "a" / "b.json", "{}")
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["b.json"]
