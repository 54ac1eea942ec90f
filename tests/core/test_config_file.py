"""`write_config_value` edits an operator's sorabox.toml: the key lands at the top level, the rest stays as written."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from core.settings import Settings, SettingsError, write_config_value


def test_a_missing_config_file_is_created_with_the_key(tmp_path: Path) -> None:
    path = tmp_path / "sorabox.toml"
    write_config_value(path, "model_dir", "/models/ltx-2")
    assert Settings.from_env({}, path).model_dir == Path("/models/ltx-2")


def test_the_key_goes_above_the_first_table_and_its_comment_and_everything_else_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "sorabox.toml"
    original = '# my box\ndata_dir = "/srv/sorabox"\n\n# the Telegram bot\n[telegram]\ntoken = "123:abc"\n'
    path.write_text(original)
    write_config_value(path, "model_dir", "/models/ltx-2")
    text = path.read_text()
    assert text == (
        '# my box\ndata_dir = "/srv/sorabox"\nmodel_dir = "/models/ltx-2"\n\n# the Telegram bot\n[telegram]\n'
        'token = "123:abc"\n'
    )
    settings = Settings.from_env({}, path)
    assert settings.model_dir == Path("/models/ltx-2") and settings.environ["SORABOX_TELEGRAM_TOKEN"] == "123:abc"


def test_an_existing_top_level_key_is_replaced_not_a_table_key_of_the_same_name(tmp_path: Path) -> None:
    path = tmp_path / "sorabox.toml"
    path.write_text('model_dir = "/old"\n[other]\nmodel_dir = "inside a table"\n')
    write_config_value(path, "model_dir", '/new "quoted" \\ path')
    data = tomllib.loads(path.read_text())
    assert data == {"model_dir": '/new "quoted" \\ path', "other": {"model_dir": "inside a table"}}


def test_a_file_that_is_not_toml_is_left_alone_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "sorabox.toml"
    path.write_text("this is = = not toml\n")
    with pytest.raises(SettingsError, match="add the line model_dir"):
        write_config_value(path, "model_dir", "/models/ltx-2")
    assert path.read_text() == "this is = = not toml\n"
