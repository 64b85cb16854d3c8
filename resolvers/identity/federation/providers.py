"""The provider registry: FLEETGRAPH_OIDC_PROVIDERS names providers, each with a preset (an adapter that knows
the provider's endpoints and claims), its client ID and where its client secret is.

    {"entra": {"preset": "entra", "tenant": "<tenant id>", "client_id": "…", "client_secret_file": "/run/…"},
     "yandex": {"preset": "yandex", "client_id": "…", "client_secret_env": "YANDEX_SECRET"}}

The client secret is sealed with the master key (`client_secret_sealed`, made by `fleetgraph
seal-oidc-secret <name>`; it opens only for that provider's name), or read from a file (`client_secret_file`) or
another environment variable (`client_secret_env`); never in this JSON in plain text, and never shown
(`Provider.__repr__`). Any endpoint, the issuer and the scopes may be given to override the preset's.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from graph.secrets import Sealer, SecretError, load_sealer
from graph.settings import Settings, SettingsError


@dataclass(frozen=True)
class Asserted:
    """Who the provider says signed in."""

    subject: str
    email: str
    email_verified: bool
    amr: tuple[str, ...] = ()
    acr: str = ""


def _true(value: Any) -> bool:
    # Apple sends "true" as a string
    return value is True or (isinstance(value, str) and value.lower() == "true")


def standard_claims(claims: Mapping[str, Any]) -> Asserted:
    """OpenID Connect's standard claims (ID token or userinfo)."""
    amr = claims.get("amr") or ()
    return Asserted(
        subject=str(claims.get("sub") or ""),
        email=str(claims.get("email") or "").strip().lower(),
        email_verified=_true(claims.get("email_verified")),
        amr=tuple(str(item) for item in amr) if isinstance(amr, list) else (),
        acr=str(claims.get("acr") or ""),
    )


def entra_claims(claims: Mapping[str, Any]) -> Asserted:
    """Entra ID sends no email_verified; its optional claim xms_edov says the e-mail's domain is verified."""
    asserted = standard_claims(claims)
    return replace(asserted, email_verified=asserted.email_verified or _true(claims.get("xms_edov")))


def yandex_claims(info: Mapping[str, Any]) -> Asserted:
    """login.yandex.ru/info: the default e-mail is one Yandex confirmed (it lists confirmed addresses only)."""
    email = str(info.get("default_email") or "").strip().lower()
    return Asserted(subject=str(info.get("id") or ""), email=email, email_verified=bool(email))


def vk_claims(info: Mapping[str, Any]) -> Asserted:
    """id.vk.com/oauth2/user_info: {"user": {"user_id", "email", …}}; VK ID does not say the e-mail is
    verified, so it counts as verified only where the provider's entry says `"trust_email": true`."""
    user = info.get("user") if isinstance(info.get("user"), dict) else {}
    assert isinstance(user, dict)
    return Asserted(
        subject=str(user.get("user_id") or ""), email=str(user.get("email") or "").strip().lower(), email_verified=False
    )


def mos_claims(info: Mapping[str, Any]) -> Asserted:
    """login.mos.ru (SUDIR) /sps/oauth/me: guid and mail; a "trusted" (confirmed) account's mail counts as
    verified."""
    return Asserted(
        subject=str(info.get("guid") or ""),
        email=str(info.get("mail") or "").strip().lower(),
        email_verified=_true(info.get("trusted")),
    )


@dataclass(frozen=True)
class Preset:
    """What an adapter knows about a kind of provider."""

    #: OpenID Connect (an ID token, checked against the JWKS) or plain OAuth 2 (the userinfo endpoint).
    oidc: bool
    claims: Callable[[Mapping[str, Any]], Asserted]
    issuer: str = ""
    authorization_endpoint: str = ""
    token_endpoint: str = ""
    userinfo_endpoint: str = ""
    jwks_uri: str = ""
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    #: How the userinfo endpoint takes the access token: "bearer", "oauth" (Yandex's header) or "post" (VK ID).
    userinfo_style: str = "bearer"
    extra_authorize: tuple[tuple[str, str], ...] = ()
    #: Fields of the provider's entry the preset's URLs need, e.g. Entra's tenant.
    needs: tuple[str, ...] = ()


PRESETS: dict[str, Preset] = {
    # any OpenID provider: endpoints from <issuer>/.well-known/openid-configuration
    "oidc": Preset(oidc=True, claims=standard_claims, needs=("issuer",)),
    # any OAuth 2 provider with a userinfo endpoint that answers OpenID's standard claims
    "oauth2": Preset(
        oidc=False,
        claims=standard_claims,
        scopes=("email",),
        needs=("authorization_endpoint", "token_endpoint", "userinfo_endpoint"),
    ),
    "entra": Preset(
        oidc=True, claims=entra_claims, issuer="https://login.microsoftonline.com/{tenant}/v2.0", needs=("tenant",)
    ),
    # Okta's issuer is the organisation's authorization server, e.g. https://example.okta.com/oauth2/default
    "okta": Preset(oidc=True, claims=standard_claims, needs=("issuer",)),
    "apple": Preset(
        oidc=True,
        claims=standard_claims,
        issuer="https://appleid.apple.com",
        authorization_endpoint="https://appleid.apple.com/auth/authorize",
        token_endpoint="https://appleid.apple.com/auth/token",
        jwks_uri="https://appleid.apple.com/auth/keys",
        scopes=("openid", "email"),
        # Apple answers with a POST when e-mail is asked for
        extra_authorize=(("response_mode", "form_post"),),
    ),
    "yandex": Preset(
        oidc=False,
        claims=yandex_claims,
        authorization_endpoint="https://oauth.yandex.ru/authorize",
        token_endpoint="https://oauth.yandex.ru/token",
        userinfo_endpoint="https://login.yandex.ru/info?format=json",
        scopes=("login:email",),
        userinfo_style="oauth",
    ),
    "vk": Preset(
        oidc=False,
        claims=vk_claims,
        authorization_endpoint="https://id.vk.com/authorize",
        token_endpoint="https://id.vk.com/oauth2/auth",
        userinfo_endpoint="https://id.vk.com/oauth2/user_info",
        scopes=("email",),
        userinfo_style="post",
    ),
    "mos": Preset(
        oidc=False,
        claims=mos_claims,
        authorization_endpoint="https://login.mos.ru/sps/oauth/ae",
        token_endpoint="https://login.mos.ru/sps/oauth/te",
        userinfo_endpoint="https://login.mos.ru/sps/oauth/me",
        scopes=("openid", "profile", "contacts"),
    ),
}

ENDPOINTS = ("issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")


@dataclass(frozen=True)
class Provider:
    name: str
    preset: str
    adapter: Preset
    client_id: str
    client_secret: str = field(repr=False)
    issuer: str = ""
    authorization_endpoint: str = ""
    token_endpoint: str = ""
    userinfo_endpoint: str = ""
    jwks_uri: str = ""
    scopes: tuple[str, ...] = ()
    #: acr values that count as multi-factor (with FLEETGRAPH_OIDC_TRUST_IDP_MFA).
    trusted_acr: tuple[str, ...] = ()
    #: The operator vouches that this provider's e-mails are verified (for providers that do not say).
    trust_email: bool = False

    def asserted(self, claims: Mapping[str, Any]) -> Asserted:
        asserted = self.adapter.claims(claims)
        return replace(asserted, email_verified=True) if self.trust_email and asserted.email else asserted


#: The fields a provider's entry may have (besides the endpoints): anything else is a typo, refused at start.
FIELDS = frozenset(
    {"preset", "client_id", "client_secret_sealed", "client_secret_file", "client_secret_env", "tenant", "scopes"}
    | {"trusted_acr"}
    | {"trust_email", *ENDPOINTS}
)
NAME = re.compile(r"[A-Za-z0-9_-]{1,60}")


def _wrong(name: str, problem: str) -> SettingsError:
    # names the provider and the field, never a value: an entry may sit next to secrets
    return SettingsError(f"FLEETGRAPH_OIDC_PROVIDERS: provider {name!r}: {problem}")


def _associated_data(name: str) -> str:
    return f"oidc:{name}:client_secret"


def seal_client_secret(sealer: Sealer, name: str, secret: str) -> str:
    """The `client_secret_sealed` value of provider `name` (base64)."""
    return base64.b64encode(sealer.seal(secret.encode(), _associated_data(name))).decode()


def _secret(name: str, entry: Mapping[str, Any], environ: Mapping[str, str], settings: Settings | None) -> str:
    if "client_secret" in entry:
        raise _wrong(
            name,
            "client_secret is not read from here; give client_secret_sealed, client_secret_file or client_secret_env",
        )
    if entry.get("client_secret_sealed"):
        if settings is None:
            raise _wrong(name, "client_secret_sealed needs the master key")
        try:
            sealed = base64.b64decode(str(entry["client_secret_sealed"]), validate=True)
            return load_sealer(settings).open(sealed, _associated_data(name)).decode()
        except (ValueError, SecretError) as exc:  # a KeyringError is a ValueError
            raise _wrong(
                name,
                "client_secret_sealed does not open with the master key (sealed for another provider or master key?)",
            ) from exc
    if entry.get("client_secret_file"):
        try:
            return Path(str(entry["client_secret_file"])).read_text().strip()
        except OSError as exc:
            raise _wrong(name, "client_secret_file cannot be read") from exc
    if entry.get("client_secret_env"):
        variable = str(entry["client_secret_env"])
        if not environ.get(variable):
            raise _wrong(name, f"client_secret_env names {variable}, which is not set")
        return environ[variable]
    return ""  # a public client (PKCE alone)


def _check_fields(name: str, entry: Mapping[str, Any]) -> None:
    unknown = sorted(set(entry) - FIELDS - {"client_secret"})
    if unknown:
        raise _wrong(name, f"unknown field {unknown[0]!r}")
    texts = ("preset", "client_id", "client_secret_sealed", "client_secret_file", "client_secret_env", "tenant")
    for key in (*texts, *ENDPOINTS):
        if key in entry and not isinstance(entry[key], str):
            raise _wrong(name, f"{key} must be a string")
    for key in ("scopes", "trusted_acr"):
        if key in entry and not (isinstance(entry[key], list) and all(isinstance(i, str) for i in entry[key])):
            raise _wrong(name, f"{key} must be a list of strings")
    if "trust_email" in entry and not isinstance(entry["trust_email"], bool):
        raise _wrong(name, "trust_email must be true or false")


def _endpoint(name: str, key: str, entry: Mapping[str, Any], adapter: Preset) -> str:
    """The entry's URL or the preset's, with the entry's fields (e.g. tenant) filled in; "" when neither has one."""
    try:
        url = str(entry.get(key) or getattr(adapter, key)).format(**entry)
    except (KeyError, IndexError, ValueError) as exc:
        raise _wrong(name, f"{key} has a {{…}} placeholder that names no field of the entry") from exc
    parts = urlsplit(url)
    if url and (parts.scheme not in ("http", "https") or not parts.hostname):
        raise _wrong(name, f"{key} is not an http(s) URL")
    return url


def _provider(name: str, entry: Any, environ: Mapping[str, str], settings: Settings | None) -> Provider:
    if not NAME.fullmatch(name):
        raise _wrong(name[:60], "a provider's name is 1 to 60 letters, digits, - or _ (it is part of URLs)")
    if not isinstance(entry, dict):
        raise _wrong(name, "not a JSON object")
    _check_fields(name, entry)
    if not entry.get("client_id"):
        raise _wrong(name, "client_id is missing")
    preset_name = entry.get("preset") or "oidc"
    adapter = PRESETS.get(preset_name)
    if adapter is None:
        raise _wrong(name, f"preset: unknown preset {preset_name[:40]!r} (one of {', '.join(PRESETS)})")
    missing = [need for need in adapter.needs if not entry.get(need)]
    if missing:
        raise _wrong(name, f"needs {', '.join(missing)} (preset {preset_name})")
    urls = {key: _endpoint(name, key, entry, adapter) for key in ENDPOINTS}
    scopes = entry.get("scopes")
    return Provider(
        name=name,
        preset=preset_name,
        adapter=adapter,
        client_id=entry["client_id"],
        client_secret=_secret(name, entry, environ, settings),
        scopes=tuple(scopes) if scopes is not None else adapter.scopes,
        trusted_acr=tuple(entry.get("trusted_acr") or ()),
        trust_email=entry.get("trust_email") is True,
        **urls,
    )


def parse(raw: str, environ: Mapping[str, str] | None = None, settings: Settings | None = None) -> dict[str, Provider]:
    """The providers of FLEETGRAPH_OIDC_PROVIDERS (inline JSON or "@<file>"); SettingsError when wrong. `settings`
    say where the master key is, for sealed client secrets."""
    if not raw.strip():
        return {}
    text = raw.strip()
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text()
        except OSError as exc:
            raise SettingsError(f"FLEETGRAPH_OIDC_PROVIDERS: cannot read {text[1:]}") from exc
    try:
        entries = json.loads(text)
    except ValueError as exc:
        raise SettingsError("FLEETGRAPH_OIDC_PROVIDERS: not JSON") from exc
    if not isinstance(entries, dict):
        raise SettingsError("FLEETGRAPH_OIDC_PROVIDERS: a JSON object of providers by name")
    env = os.environ if environ is None else environ
    return {str(name): _provider(str(name), entry, env, settings) for name, entry in entries.items()}


_parsed: dict[str, dict[str, Provider]] = {}


def providers(settings: Settings) -> dict[str, Provider]:
    """The configured providers (parsed once per value of the setting)."""
    if settings.oidc_providers not in _parsed:
        _parsed[settings.oidc_providers] = parse(settings.oidc_providers, settings=settings)
    return _parsed[settings.oidc_providers]
