from pathlib import Path

import pytest

from graph.settings import Settings, SettingsError


def test_settings_come_from_prefixed_environment_variables():
    settings = Settings.from_env(
        {
            "FLEETGRAPH_DATA_DIR": "/srv/fleetgraph",
            "FLEETGRAPH_BROADCAST_URL": "redis://127.0.0.1:6379",
            "FLEETGRAPH_ACCESS_TOKEN_TTL": "600",
            "FLEETGRAPH_GRAPHIQL": "false",
            "UNRELATED": "x",
        }
    )
    assert settings.data_dir == Path("/srv/fleetgraph")
    assert settings.broadcast_url == "redis://127.0.0.1:6379"
    assert settings.access_token_ttl == 600
    assert settings.graphiql is False
    assert settings.effective_database_url == "sqlite+aiosqlite:////srv/fleetgraph/fleetgraph.db"
    assert Settings.from_env({"FLEETGRAPH_DATABASE_URL": "postgresql+asyncpg://db/x"}).is_sqlite is False


@pytest.mark.parametrize("name, value", [("FLEETGRAPH_MAX_DEPTH", "deep"), ("FLEETGRAPH_GRAPHIQL", "maybe")])
def test_bad_values_name_the_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_readme_lists_every_setting():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    from dataclasses import fields

    missing = [f"FLEETGRAPH_{f.name.upper()}" for f in fields(Settings) if f"FLEETGRAPH_{f.name.upper()}" not in readme]
    assert missing == []
