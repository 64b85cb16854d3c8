"""Serving theme images: `GET /theme-images/{sha256}`, public (the login page shows them before login).

The URL holds the content's SHA-256, so an image never changes under its URL: cached for a year, immutable,
with an ETag for revalidation (304). The content type is the one decided from the content at upload; browsers
may not sniff another (nosniff), and an SVG is served with a CSP that runs and fetches nothing even when it is
opened on its own.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from models import branding as br
from resolvers.identity.branding.images import SVG_TYPE
from resolvers.identity.branding.types import IMAGE_PATH

SHA256 = re.compile(r"[0-9a-f]{64}")
IMAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "public, max-age=31536000, immutable",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "cross-origin",
}
#: An SVG may style itself inline (its own style attributes); nothing else.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


async def theme_image(request: Request) -> Response:
    digest = request.path_params["sha256"]
    if not SHA256.fullmatch(digest):
        return PlainTextResponse("Not found.\n", status_code=404, headers={"Cache-Control": "no-store"})
    etag = f'"{digest}"'
    runtime = request.app.state.runtime
    async with runtime.session_factory() as session:
        row = (
            await session.execute(
                select(br.ThemeImage.content_type, br.ThemeImage.content).where(br.ThemeImage.sha256 == digest).limit(1)
            )
        ).first()
    if row is None:
        return PlainTextResponse("Not found.\n", status_code=404, headers={"Cache-Control": "no-store"})
    headers = {**IMAGE_HEADERS, "ETag": etag}
    if row.content_type == SVG_TYPE:
        headers["Content-Security-Policy"] = SVG_POLICY
    if etag in [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(row.content, media_type=row.content_type, headers=headers)


ROUTES = (Route(IMAGE_PATH + "{sha256}", theme_image, methods=["GET", "HEAD"]),)
