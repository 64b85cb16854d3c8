"""What the server's pages for browsers share (GraphiQL, and the forms that mail links open)."""

from __future__ import annotations

#: The pages may only talk to this server: proof that they need no CDN, and nothing injected runs (no inline
#: scripts). Nobody may frame them (a framed password form invites clickjacking).
BROWSER_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
}
