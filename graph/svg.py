"""Sanitising an uploaded SVG (monitoring graphics, manual §21.6; theme images, §14) so that a browser can show
it inline without running anything or fetching anything.

Parsed with defusedxml: a DOCTYPE, entity declarations and external references in the prolog are refused (no
billion laughs, no XXE). Then a whitelist: elements outside it are dropped with their content (script,
foreignObject, style, iframe, …), attributes outside it are dropped (every on* handler among them), links
(href, xlink:href) are kept only as '#fragment', and any attribute value with url(…) pointing elsewhere than
'#fragment', or with javascript:, @import or expression(, is dropped. What is left is serialised again.

`strict=True` (theme images) refuses instead of dropping when the SVG has anything that runs or fetches: a
script (or another element that can run or embed), an event attribute, or an external reference.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree  # serialising only; parsing goes through defusedxml

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_BYTES = 512 * 1024
SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"

ELEMENTS = frozenset(
    (
        "svg",
        "g",
        "defs",
        "symbol",
        "use",
        "title",
        "desc",
        "rect",
        "circle",
        "ellipse",
        "line",
        "polyline",
        "polygon",
        "path",
        "text",
        "tspan",
        "textPath",
        "linearGradient",
        "radialGradient",
        "stop",
        "clipPath",
        "mask",
        "pattern",
        "marker",
        "image",
    )
)
ATTRIBUTES = frozenset(
    (
        "id",
        "class",
        "x",
        "y",
        "x1",
        "y1",
        "x2",
        "y2",
        "cx",
        "cy",
        "r",
        "rx",
        "ry",
        "width",
        "height",
        "d",
        "points",
        "viewBox",
        "preserveAspectRatio",
        "transform",
        "fill",
        "fill-opacity",
        "fill-rule",
        "stroke",
        "stroke-width",
        "stroke-opacity",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-dasharray",
        "stroke-dashoffset",
        "stroke-miterlimit",
        "opacity",
        "visibility",
        "display",
        "font-family",
        "font-size",
        "font-weight",
        "font-style",
        "text-anchor",
        "dominant-baseline",
        "alignment-baseline",
        "letter-spacing",
        "dx",
        "dy",
        "rotate",
        "textLength",
        "lengthAdjust",
        "offset",
        "stop-color",
        "stop-opacity",
        "gradientUnits",
        "gradientTransform",
        "spreadMethod",
        "fx",
        "fy",
        "fr",
        "clip-path",
        "clip-rule",
        "clipPathUnits",
        "mask",
        "maskUnits",
        "maskContentUnits",
        "patternUnits",
        "patternContentUnits",
        "patternTransform",
        "markerWidth",
        "markerHeight",
        "markerUnits",
        "refX",
        "refY",
        "orient",
        "marker-start",
        "marker-mid",
        "marker-end",
        "style",
        "version",
        "href",
    )
)
HOSTILE_VALUE = re.compile(
    r"javascript:|@import|expression\s*\(|-moz-binding|behavior\s*:|url\s*\(\s*['\"]?\s*[^'\"\s#)]", re.IGNORECASE
)
#: `image` may only show embedded raster data (fetched from nowhere).
DATA_IMAGE = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+")


#: Elements whose presence means the SVG tries to run or embed something (refused in strict mode).
ACTIVE_ELEMENTS = frozenset(("script", "foreignObject", "iframe", "object", "embed", "handler", "listener"))


class BadSvg(ValueError):
    """Why an upload is not a usable SVG (a message for the uploader)."""


def _local(name: str) -> tuple[str, str]:
    """(namespace, local name) of an ElementTree tag or attribute name."""
    if name.startswith("{"):
        namespace, _, local = name[1:].partition("}")
        return namespace, local
    return "", name


def _keep_attribute(tag: str, name: str, value: str, hostile: list[str]) -> bool:
    namespace, local = _local(name)
    if local.lower().startswith("on"):
        hostile.append(f"the event attribute {local}")
        return False
    if local == "href" and namespace in ("", XLINK):
        if value.startswith("#") or (tag == "image" and DATA_IMAGE.fullmatch(value) is not None):
            return True
        hostile.append("an external reference")
        return False
    if namespace not in ("", XLINK) or local not in ATTRIBUTES or namespace == XLINK:
        return False
    if HOSTILE_VALUE.search(value) is not None:
        hostile.append("an external reference or script in an attribute value")
        return False
    return True


def _clean(element: ElementTree.Element, hostile: list[str]) -> None:
    tag = _local(element.tag)[1]
    for name, value in list(element.attrib.items()):
        if not _keep_attribute(tag, name, value, hostile):
            del element.attrib[name]
    for child in list(element):
        child_namespace, child_tag = _local(child.tag) if isinstance(child.tag, str) else ("", "")
        if child_tag in ACTIVE_ELEMENTS:
            hostile.append(f"a {child_tag} element")
        if child_namespace != SVG or child_tag not in ELEMENTS:
            element.remove(child)  # with everything in it
        else:
            _clean(child, hostile)


def sanitise(text: str, *, strict: bool = False, max_bytes: int = MAX_BYTES) -> tuple[str, list[str]]:
    """(the sanitised SVG, the ids of its elements in document order); BadSvg when it is not one, or (`strict`)
    when it has a script, an event attribute or an external reference."""
    if len(text.encode()) > max_bytes:
        raise BadSvg(f"An SVG may have at most {max_bytes // 1024} KiB.")
    try:
        root = fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise BadSvg("An SVG may not have a DOCTYPE, entities or external references.") from None
    except ElementTree.ParseError:
        raise BadSvg("Not well-formed XML.") from None
    if root.tag != f"{{{SVG}}}svg":
        raise BadSvg("Not an SVG: the root must be <svg> in the SVG namespace.")
    hostile: list[str] = []
    _clean(root, hostile)
    if strict and hostile:
        raise BadSvg(f"The SVG is refused: it has {hostile[0]}.")
    ids = [element.attrib["id"] for element in root.iter() if "id" in element.attrib]
    if len(ids) != len(set(ids)):
        raise BadSvg("Element ids must be unique.")
    ElementTree.register_namespace("", SVG)
    ElementTree.register_namespace("xlink", XLINK)
    return ElementTree.tostring(root, encoding="unicode"), ids
