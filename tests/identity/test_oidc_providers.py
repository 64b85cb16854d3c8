"""FLEETGRAPH_OIDC_PROVIDERS: presets, overrides, and client secrets sealed with the master key, from a file or
from another variable only."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from graph.app import create_app
from graph.secrets import load_sealer
from graph.settings import SettingsError
from resolvers.identity.federation.providers import parse, seal_client_secret
from tests.environment import MASTER_KEY, free_port, make_settings, run_fleetgraph


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
    assert set(parse(f"@{config}", {"YA_SECRET": "y"})) == {"entra", "ya", "apple"}


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
    with pytest.raises(SettingsError, match="'other': client_secret_sealed does not open") as moved:
        parse(json.dumps({"other": entry}), {}, settings)  # sealed for another provider's name
    other_key = dataclasses.replace(settings, master_key="ab" * 32)
    with pytest.raises(SettingsError, match="'entra': client_secret_sealed does not open") as foreign:
        parse(json.dumps({"entra": entry}), {}, other_key)
    for refusal in (moved, foreign):
        assert "entra-secret-3" not in str(refusal.value) and sealed not in str(refusal.value)
    with pytest.raises(SettingsError, match="'entra': client_secret_sealed does not open"):
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


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"preset": "oidc", "issuer": "login.example", "client_id": "a"}, "provider 'p': issuer is not an http"),
        (
            {"preset": "oidc", "issuer": "https://x", "client_id": "a", "clientsecret": "s"},
            "unknown field 'clientsecret'",
        ),
        ({"preset": "oidc", "issuer": "https://x", "client_id": 7}, "client_id must be a string"),
        ({"preset": "oidc", "issuer": "https://x", "client_id": "a", "scopes": "openid"}, "scopes must be a list"),
        ({"preset": "oidc", "issuer": "https://x/{region}", "client_id": "a"}, "issuer has a {…} placeholder"),
        ({"preset": "oidc", "issuer": "https://x", "client_id": "a", "trust_email": "yes"}, "trust_email must be"),
        ({"preset": "oidc", "issuer": "https://x", "client_id": "a", "client_secret_env": "UNSET"}, "UNSET, which is"),
    ],
)
def test_a_wrong_field_is_named_with_its_provider(entry, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        parse(json.dumps({"p": entry}), {})


def test_a_provider_name_must_fit_in_a_url():
    with pytest.raises(SettingsError, match="provider 'a b'"):
        parse(json.dumps({"a b": {"preset": "okta", "issuer": "https://x", "client_id": "a"}}), {})


def test_the_app_factory_refuses_a_wrong_registry(runtime):
    settings = dataclasses.replace(runtime.settings, oidc_providers=json.dumps({"entra": {"preset": "entra"}}))
    with pytest.raises(SettingsError, match="provider 'entra': client_id is missing"):
        create_app(settings, runtime=runtime)


SECRET = "Sehr-Geheim-4711"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"preset": "entra", "client_id": "a", "client_secret_env": "P_SECRET"}, "provider 'entra': needs tenant"),
        (
            {"preset": "okta", "issuer": "okta.example", "client_secret_env": "P_SECRET"},
            "provider 'entra': client_id is missing",
        ),
        (
            {"preset": "okta", "issuer": "ftp://okta.example", "client_id": "a", "client_secret_env": "P_SECRET"},
            "provider 'entra': issuer is not an http(s) URL",
        ),
    ],
)
def test_serve_exits_at_start_naming_the_provider_and_field(tmp_path, entry, message):
    """The real `fleetgraph serve`: it stops before serving (and before it looks at the database), and never
    prints the secret."""
    env = {"FLEETGRAPH_OIDC_PROVIDERS": json.dumps({"entra": entry}), "P_SECRET": SECRET}
    result = run_fleetgraph(tmp_path, "serve", "--port", str(free_port()), env=env, timeout=60)
    assert result.returncode == 1
    assert f"error: FLEETGRAPH_OIDC_PROVIDERS: {message}" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "not migrated" not in result.stderr
    assert SECRET not in result.stderr + result.stdout


def test_serve_with_a_good_registry_goes_on_to_its_next_check(tmp_path):
    entry = {"preset": "entra", "tenant": "contoso", "client_id": "a", "client_secret_env": "P_SECRET"}
    env = {"FLEETGRAPH_OIDC_PROVIDERS": json.dumps({"entra": entry}), "P_SECRET": SECRET}
    result = run_fleetgraph(tmp_path, "serve", "--port", str(free_port()), env=env, timeout=60)
    assert result.returncode == 1 and "not migrated" in result.stderr  # past the providers, at the database
