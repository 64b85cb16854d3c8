"""FLEETGRAPH_OIDC_PROVIDERS: presets, overrides, and client secrets sealed with the master key, from a file or
from another variable only."""

from __future__ import annotations

import dataclasses
import json

import pytest

from graph.secrets import load_sealer
from graph.settings import SettingsError
from resolvers.identity.federation.providers import parse, seal_client_secret
from tests.environment import MASTER_KEY, make_settings, run_fleetgraph


def test_presets_fill_in_endpoints_and_secrets_come_from_a_file_or_variable(tmp_path):
    secret_file = tmp_path / "entra"
    secret_file.write_text("entra-secret-1\n")
    raw = json.dumps(
        {
            "entra": {"preset": "entra", "tenant": "contoso", "client_id": "a", "client_secret_file": str(secret_file)},
            "ya": {"preset": "yandex", "client_id": "b", "client_secret_env": "YA_SECRET"},
            "apple": {"preset": "apple", "client_id": "c", "scopes": ["openid", "email", "name"]},
        }
    )
    providers = parse(raw, {"YA_SECRET": "yandex-secret-2"})
    entra, ya, apple = providers["entra"], providers["ya"], providers["apple"]
    assert entra.issuer == "https://login.microsoftonline.com/contoso/v2.0" and entra.adapter.oidc
    assert entra.client_secret == "entra-secret-1"
    assert not ya.adapter.oidc and ya.userinfo_endpoint.startswith("https://login.yandex.ru/info")
    assert ya.client_secret == "yandex-secret-2"
    assert apple.scopes == ("openid", "email", "name") and apple.client_secret == ""
    assert "secret-1" not in repr(entra) and "secret-2" not in repr(ya)
    # the file form
    config = tmp_path / "providers.json"
    config.write_text(raw)
    assert set(parse(f"@{config}", {})) == {"entra", "ya", "apple"}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"preset": "oidc", "issuer": "https://x", "client_id": "a", "client_secret": "inline"}, "client_secret_file"),
        ({"preset": "nope", "client_id": "a"}, "unknown preset"),
        ({"preset": "entra", "client_id": "a"}, "needs tenant"),
        ({"preset": "oauth2", "client_id": "a"}, "needs authorization_endpoint"),
        ({"preset": "okta"}, "client_id"),
    ],
)
def test_a_wrong_entry_names_the_problem(entry, message):
    with pytest.raises(SettingsError, match=message):
        parse(json.dumps({"p": entry}), {})


def test_unset_means_no_providers():
    assert parse("", {}) == {}
    with pytest.raises(SettingsError, match="not JSON"):
        parse("{", {})


def test_a_sealed_secret_opens_only_for_its_provider_and_master_key(tmp_path):
    settings = make_settings(tmp_path)
    sealed = seal_client_secret(load_sealer(settings), "entra", "entra-secret-3")
    assert "entra-secret-3" not in sealed
    entry = {"preset": "entra", "tenant": "contoso", "client_id": "a", "client_secret_sealed": sealed}
    assert parse(json.dumps({"entra": entry}), {}, settings)["entra"].client_secret == "entra-secret-3"
    with pytest.raises(SettingsError, match="other: client_secret_sealed does not open") as moved:
        parse(json.dumps({"other": entry}), {}, settings)  # sealed for another provider's name
    other_key = dataclasses.replace(settings, master_key="ab" * 32)
    with pytest.raises(SettingsError, match="entra: client_secret_sealed does not open") as foreign:
        parse(json.dumps({"entra": entry}), {}, other_key)
    for refusal in (moved, foreign):
        assert "entra-secret-3" not in str(refusal.value) and sealed not in str(refusal.value)
    with pytest.raises(SettingsError, match="entra: client_secret_sealed does not open"):
        parse(json.dumps({"entra": {**entry, "client_secret_sealed": "not base64!"}}), {}, settings)


def test_the_cli_seals_a_secret_read_from_standard_input(tmp_path):
    settings = make_settings(tmp_path)
    done = run_fleetgraph(
        tmp_path, "seal-oidc-secret", "entra", env={"FLEETGRAPH_MASTER_KEY": MASTER_KEY}, input="entra-secret-4\n"
    )
    assert done.returncode == 0, done.stderr
    sealed = done.stdout.strip()  # nothing else on standard output: it can go straight into a file
    assert "entra-secret-4" not in done.stdout + done.stderr
    entry = {"preset": "entra", "tenant": "contoso", "client_id": "a", "client_secret_sealed": sealed}
    assert parse(json.dumps({"entra": entry}), {}, settings)["entra"].client_secret == "entra-secret-4"
