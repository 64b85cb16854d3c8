"""A real OpenID provider for the tests, served on 127.0.0.1 (tests.environment.serve_app): discovery, JWKS,
authorize (approves at once, as the account the test set), token (checks the client secret, the redirect URI
and the PKCE verifier) and userinfo, plus a Yandex-shaped userinfo (/yandex/info, "Authorization: OAuth …").

ID tokens are signed with the provider's own RSA key (joserfc, which authlib builds on); `tamper` makes the
next ID token wrong in one way (another issuer, audience, nonce, an expired one, or signed by another key).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_ID = "fleetgraph-test"
CLIENT_SECRET = "provider-client-secret-7f3a"


@dataclass
class Account:
    subject: str
    email: str
    email_verified: bool = True
    amr: list[str] = field(default_factory=lambda: ["pwd"])


@dataclass
class Provider:
    base_url: str = ""
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "test-1"}))
    #: Who "signs in" at the authorize endpoint.
    account: Account = field(default_factory=lambda: Account("subject-1", "user@a.example"))
    #: Changes to the next ID token's claims, or {"sign_with_other_key": True}.
    tamper: dict[str, Any] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    access_tokens: dict[str, Account] = field(default_factory=dict)
    token_requests: int = 0

    def id_token(self, grant: dict[str, Any]) -> str:
        account: Account = grant["account"]
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.base_url,
            "aud": CLIENT_ID,
            "sub": account.subject,
            "email": account.email,
            "email_verified": account.email_verified,
            "amr": account.amr,
            "iat": now,
            "exp": now + 300,
            "nonce": grant["nonce"],
        }
        tamper = dict(self.tamper)
        key = self.key
        if tamper.pop("sign_with_other_key", False):
            key = RSAKey.generate_key(2048, parameters={"kid": "test-1"})  # same kid, other key
        claims.update(tamper)
        return jwt.encode({"alg": "RS256", "kid": key.kid or "test-1"}, claims, key)

    async def discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.base_url,
                "authorization_endpoint": f"{self.base_url}/authorize",
                "token_endpoint": f"{self.base_url}/token",
                "userinfo_endpoint": f"{self.base_url}/userinfo",
                "jwks_uri": f"{self.base_url}/jwks",
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def authorize(self, request: Request) -> Response:
        query = request.query_params
        if query.get("client_id") != CLIENT_ID or query.get("code_challenge_method") != "S256":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "account": self.account,
            "nonce": query.get("nonce"),
            "challenge": query["code_challenge"],
            "redirect_uri": query["redirect_uri"],
        }
        return RedirectResponse(f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}")

    async def token(self, request: Request) -> Response:
        self.token_requests += 1
        form = await request.form()
        grant = self.codes.pop(str(form.get("code")), None)
        verifier = str(form.get("code_verifier", ""))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if (
            grant is None
            or form.get("client_secret") != CLIENT_SECRET
            or form.get("redirect_uri") != grant["redirect_uri"]
            or challenge != grant["challenge"]
        ):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        access = secrets.token_urlsafe(16)
        self.access_tokens[access] = grant["account"]
        return JSONResponse({"access_token": access, "token_type": "Bearer", "id_token": self.id_token(grant)})

    def _account(self, request: Request, scheme: str) -> Account | None:
        given = request.headers.get("authorization", "")
        return self.access_tokens.get(given[len(scheme) + 1 :]) if given.startswith(f"{scheme} ") else None

    async def userinfo(self, request: Request) -> Response:
        account = self._account(request, "Bearer")
        if account is None:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse({"sub": account.subject, "email": account.email, "email_verified": account.email_verified})

    async def yandex_info(self, request: Request) -> Response:
        account = self._account(request, "OAuth")
        if account is None:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        emails = [account.email] if account.email_verified else []
        return JSONResponse({"id": account.subject, "default_email": emails[0] if emails else None, "emails": emails})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/userinfo", self.userinfo),
                Route("/yandex/info", self.yandex_info),
            ]
        )
