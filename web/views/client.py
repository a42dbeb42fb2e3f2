"""The web client: a static single-page app (web/client/) served at `/`, assets under `/app/`.

No build step and no CDN: the files in web/client/ (ES modules, CSS, the vendored Chart.js UMD
build) are what the browser gets, so the client works on a machine without internet.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, send_from_directory

CLIENT_DIR = Path(__file__).resolve().parents[1] / "client"

blp = Blueprint("client", __name__)

#: Everything the page loads comes from this origin; the annotated video plays from a blob: URL
#: (fetched with the bearer token). Chart.js sets inline styles on its canvases.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def _secure(response: Response, *, cache: str) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    # Revalidate: a deployment's new client is picked up at the next load (ETag / Last-Modified).
    response.headers["Cache-Control"] = cache
    return response


@blp.get("/")
def index():
    """The single-page client."""
    return _secure(send_from_directory(CLIENT_DIR, "index.html", max_age=0), cache="no-cache")


@blp.get("/app/<path:filename>")
def asset(filename: str):
    """The client's modules, styles and vendored libraries (404 for anything else)."""
    response = send_from_directory(CLIENT_DIR, filename, max_age=0)
    if filename.endswith(".js"):  # ES modules need a JavaScript type whatever mimetypes says
        response.mimetype = "text/javascript"
    return _secure(response, cache="no-cache")
