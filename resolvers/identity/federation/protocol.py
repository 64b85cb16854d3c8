"""Talking to a provider over HTTP: discovery, the JWKS (cached), the code exchange, the ID token's checks and
the userinfo endpoint. Every failure is a `Refused` with a reason (never the token or the secret)."""

from __future__ import annotations

import enum
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from resolvers.identity.federation.providers import Asserted, Provider

TIMEOUT = 10.0
CACHE_SECONDS = 3600.0
#: Clock skew allowed between the provider and us (seconds).
LEEWAY = 60
ALGORITHMS = ["RS256", "PS256", "ES256"]


class Reason(enum.Enum):
    """Why a callback signed nobody in (the redirect's `#error=`, and the audit event's details)."""

    UNKNOWN_PROVIDER = "UNKNOWN_PROVIDER"
    INVALID_STATE = "INVALID_STATE"
    PROVIDER_ERROR = "PROVIDER_ERROR"
    INVALID_ID_TOKEN = "INVALID_ID_TOKEN"
    WRONG_ISSUER = "WRONG_ISSUER"
    WRONG_AUDIENCE = "WRONG_AUDIENCE"
    EXPIRED = "EXPIRED"
    WRONG_NONCE = "WRONG_NONCE"
    EMAIL_NOT_VERIFIED = "EMAIL_NOT_VERIFIED"
    NO_ACCOUNT = "NO_ACCOUNT"


class Refused(Exception):
    def __init__(self, reason: Reason, detail: str = "", user: Any = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.detail = detail
        #: The user the refused account would have signed in as, when known (for the audit event).
        self.user = user


@dataclass
class _Cached:
    value: Any
    at: float


_discovery: dict[str, _Cached] = {}
_jwks: dict[str, _Cached] = {}


async def _get_json(url: str) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            response = await client.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise Refused(Reason.PROVIDER_ERROR, f"GET {url}: {type(exc).__name__}") from exc
    if not isinstance(body, dict):
        raise Refused(Reason.PROVIDER_ERROR, f"GET {url}: not a JSON object")
    return body


async def resolved(provider: Provider) -> Provider:
    """The provider with its endpoints filled in from discovery (OpenID providers without explicit ones)."""
    if not provider.adapter.oidc or (provider.authorization_endpoint and provider.token_endpoint and provider.jwks_uri):
        return provider
    url = provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
    cached = _discovery.get(url)
    if cached is None or time.monotonic() - cached.at > CACHE_SECONDS:
        cached = _discovery[url] = _Cached(await _get_json(url), time.monotonic())
    document = cached.value
    return replace(
        provider,
        authorization_endpoint=provider.authorization_endpoint or str(document.get("authorization_endpoint", "")),
        token_endpoint=provider.token_endpoint or str(document.get("token_endpoint", "")),
        userinfo_endpoint=provider.userinfo_endpoint or str(document.get("userinfo_endpoint", "")),
        jwks_uri=provider.jwks_uri or str(document.get("jwks_uri", "")),
    )


async def _key_set(jwks_uri: str, *, fresh: bool) -> KeySet:
    cached = _jwks.get(jwks_uri)
    if fresh or cached is None or time.monotonic() - cached.at > CACHE_SECONDS:
        document = await _get_json(jwks_uri)
        try:
            cached = _jwks[jwks_uri] = _Cached(KeySet.import_key_set(document), time.monotonic())  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise Refused(Reason.PROVIDER_ERROR, "the JWKS holds no usable key") from exc
    return cached.value


async def exchange(provider: Provider, code: str, verifier: str, redirect_uri: str) -> dict[str, Any]:
    """The token endpoint's answer to the authorization code (with the PKCE verifier)."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": provider.client_id,
        "code_verifier": verifier,
    }
    if provider.client_secret:
        form["client_secret"] = provider.client_secret  # client_secret_post: every preset's provider takes it
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            response = await client.post(provider.token_endpoint, data=form, headers={"Accept": "application/json"})
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise Refused(Reason.PROVIDER_ERROR, f"token endpoint: {type(exc).__name__}") from exc
    if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
        error = body.get("error") if isinstance(body, dict) else None
        raise Refused(Reason.PROVIDER_ERROR, f"token endpoint: HTTP {response.status_code} {error or ''}".strip())
    return body


async def _decoded(provider: Provider, id_token: str) -> dict[str, Any]:
    for fresh in (False, True):  # an unknown key: the provider may have rotated its keys; fetch them once
        keys = await _key_set(provider.jwks_uri, fresh=fresh)
        try:
            return dict(jwt.decode(id_token, keys, algorithms=ALGORITHMS).claims)
        except InvalidKeyIdError as exc:
            if fresh:
                raise Refused(Reason.INVALID_ID_TOKEN, type(exc).__name__) from exc
        except (ValueError, JoseError) as exc:
            raise Refused(Reason.INVALID_ID_TOKEN, type(exc).__name__) from exc
    raise AssertionError("unreachable")


def check_claims(provider: Provider, claims: Mapping[str, Any], nonce: str, now: float) -> None:
    """Issuer, audience (and azp), expiry and nonce, as OpenID Connect Core 3.1.3.7 asks."""
    if claims.get("iss") != provider.issuer:
        raise Refused(Reason.WRONG_ISSUER)
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if provider.client_id not in audiences or (len(audiences) > 1 and claims.get("azp") != provider.client_id):
        raise Refused(Reason.WRONG_AUDIENCE)
    expires = claims.get("exp")
    if not isinstance(expires, int | float) or expires + LEEWAY < now:
        raise Refused(Reason.EXPIRED)
    if claims.get("nonce") != nonce:
        raise Refused(Reason.WRONG_NONCE)


async def userinfo(provider: Provider, access_token: str) -> dict[str, Any]:
    style = provider.adapter.userinfo_style
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            if style == "post":
                response = await client.post(
                    provider.userinfo_endpoint, data={"access_token": access_token, "client_id": provider.client_id}
                )
            else:
                scheme = "OAuth" if style == "oauth" else "Bearer"
                response = await client.get(
                    provider.userinfo_endpoint, headers={"Authorization": f"{scheme} {access_token}"}
                )
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise Refused(Reason.PROVIDER_ERROR, f"userinfo: {type(exc).__name__}") from exc
    if not isinstance(body, dict):
        raise Refused(Reason.PROVIDER_ERROR, "userinfo: not a JSON object")
    return body


async def identify(provider: Provider, tokens: Mapping[str, Any], nonce: str) -> Asserted:
    """Who signed in: from the checked ID token (OpenID Connect) or the userinfo endpoint (plain OAuth 2)."""
    if provider.adapter.oidc:
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise Refused(Reason.INVALID_ID_TOKEN, "no id_token")
        claims = await _decoded(provider, id_token)
        check_claims(provider, claims, nonce, time.time())
    else:
        claims = await userinfo(provider, str(tokens["access_token"]))
    asserted = provider.asserted(claims)
    if not asserted.subject:
        raise Refused(Reason.INVALID_ID_TOKEN, "no subject")
    return asserted
