"""edge-train.toml: missing means embedded local defaults; typos and bad TOML fail naming file and key."""

import pytest

from ml.config import load_settings
from ml.errors import EdgeTrainError


def test_no_settings_file_means_the_local_defaults(tmp_path):
    settings = load_settings(tmp_path)
    assert settings.target == "local"
    assert settings.tracking.uri == "sqlite:///mlflow.db"


def test_a_misspelled_key_is_named_with_its_section(tmp_path):
    (tmp_path / "edge-train.toml").write_text('[model]\nnmae = "x"\n')
    with pytest.raises(EdgeTrainError) as error:
        load_settings(tmp_path)
    assert "edge-train.toml: model.nmae: unknown key" in error.value.message


def test_an_unknown_target_is_rejected(tmp_path):
    (tmp_path / "edge-train.toml").write_text('target = "cloud"\n')
    with pytest.raises(EdgeTrainError, match=r"target: .*'local' or 'azure'"):
        load_settings(tmp_path)


def test_invalid_toml_points_at_the_syntax(tmp_path):
    (tmp_path / "edge-train.toml").write_text("[model\n")
    with pytest.raises(EdgeTrainError, match=r"not valid TOML"):
        load_settings(tmp_path)
