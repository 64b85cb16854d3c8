"""Theme images (logo, dark-mode logo, favicon) are checked by their content, never by the upload's name or
declared type: Pillow must recognise PNG, JPEG, ICO or WebP and decode it, or the bytes must be an SVG that the
strict sanitiser (graph.svg) accepts (no script, no event attribute, no external reference)."""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

from graph.svg import BadSvg, sanitise

#: Pillow format -> the content type the image is served with.
RASTER_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "ICO": "image/x-icon", "WEBP": "image/webp"}
SVG_TYPE = "image/svg+xml"
#: A logo needs no more; larger ones are decompression bombs or mistakes.
MAX_SIDE = 4096


class BadImage(ValueError):
    """Why the bytes are not an acceptable theme image (a message for the uploader)."""


class ImageTooLarge(BadImage):
    """Over the size limit (FLEETGRAPH_THEME_IMAGE_MAX_BYTES)."""


def _raster(content: bytes) -> str | None:
    """The content type of a raster image Pillow decodes; None when Pillow does not recognise it at all."""
    too_big = BadImage(f"The image may be at most {MAX_SIDE}×{MAX_SIDE} pixels.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content), formats=list(RASTER_TYPES)) as image:
                if image.width > MAX_SIDE or image.height > MAX_SIDE:
                    raise too_big
                image.load()  # decodes the pixels: a truncated or corrupt file fails here
                return RASTER_TYPES[image.format or ""]
    except BadImage:
        raise
    except UnidentifiedImageError:
        return None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_big from None
    except (OSError, SyntaxError, ValueError, KeyError):
        raise BadImage("The image is damaged: it cannot be decoded.") from None


def checked_image(content: bytes, max_bytes: int) -> tuple[str, bytes]:
    """(content type, bytes to store) of an acceptable image; BadImage otherwise. An SVG is stored sanitised."""
    if len(content) > max_bytes:
        raise ImageTooLarge(f"The image is larger than {max_bytes} bytes.")
    content_type = _raster(content)
    if content_type is not None:
        return content_type, content
    head = content.lstrip()[:512].lower()
    if head.startswith(b"<?xml") or head.startswith(b"<svg") or b"<svg" in head:
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            raise BadImage("An SVG must be UTF-8 text.") from None
        try:
            svg, _ = sanitise(text, strict=True, max_bytes=max_bytes)
        except BadSvg as error:
            raise BadImage(str(error)) from None
        return SVG_TYPE, svg.encode()
    raise BadImage("Not an image: PNG, JPEG, ICO, WebP or SVG are accepted.")
