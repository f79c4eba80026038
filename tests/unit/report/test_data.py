"""Data changes: row counts from newline counts, and no redundant directory rows."""

from ml.report.data import DataChange, count_rows, without_redundant_dirs


def test_rows_exclude_the_header_with_or_without_a_final_newline():
    assert count_rows(lines=3, ends_with_newline=True) == 2
    assert count_rows(lines=2, ends_with_newline=False) == 2
    assert count_rows(lines=1, ends_with_newline=True) == 0


def test_a_directory_row_is_dropped_when_its_files_are_listed():
    changes = [DataChange("data/", "modified"), DataChange("data/raw/a.csv", "modified", 10, 9)]
    assert without_redundant_dirs(changes) == changes[1:]


def test_a_directory_row_stays_when_the_files_are_unknown():
    changes = [DataChange("data/", "modified")]
    assert without_redundant_dirs(changes) == changes
