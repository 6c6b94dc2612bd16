"""tenure.yaml validation: unknown keys and bad values name the key; env vars override URLs."""

import pytest
import yaml

from tenure.config import DEFAULT_CONFIG_YAML, config_from_dict, load_config, write_default_config
from tenure.errors import ConfigError


def test_default_config_file_is_valid_and_documents_defaults(tmp_path):
    path = write_default_config(tmp_path)
    cfg = load_config(path)
    assert cfg.warehouse.url == "duckdb:///tenure.duckdb"
    assert cfg.warehouse_url == f"duckdb:///{(tmp_path / 'tenure.duckdb').resolve()}"
    assert cfg.metrics.targets[0].metric == "nrr"
    assert yaml.safe_load(DEFAULT_CONFIG_YAML)["reporting_currency"] == "USD"


def test_unknown_key_is_named(tmp_path):
    (tmp_path / "tenure.yaml").write_text("warehouse:\n  ulr: duckdb:///x.duckdb\n")
    with pytest.raises(ConfigError, match=r"warehouse\.ulr: unknown key"):
        load_config(tmp_path / "tenure.yaml")


def test_bad_value_is_named_with_the_value(tmp_path):
    (tmp_path / "tenure.yaml").write_text("metrics:\n  reactivation_window_days: soon\n")
    with pytest.raises(ConfigError, match=r"metrics\.reactivation_window_days: .*'soon'"):
        load_config(tmp_path / "tenure.yaml")


def test_not_yaml_and_missing_file_are_clear(tmp_path):
    (tmp_path / "tenure.yaml").write_text("warehouse: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "tenure.yaml")
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.yaml")


def test_environment_overrides_store_urls_and_secret():
    cfg = config_from_dict(
        {"warehouse": {"url": "duckdb:///a.duckdb"}},
        env={"TENURE_WAREHOUSE_URL": "postgres://u@h/db", "TENURE_SECRET_KEY": "s3cret"},
    )
    assert cfg.warehouse_url == "postgres://u@h/db"
    assert cfg.secret_key == "s3cret"


def test_title_never_says_tenure_for_tenure(tmp_path):
    from tenure.config import config_from_dict

    plain = config_from_dict({}, base_dir=tmp_path, env={})
    assert plain.title == "tenure"
    named = config_from_dict({"project": "Acme"}, base_dir=tmp_path, env={})
    assert named.title == "tenure — Acme"
