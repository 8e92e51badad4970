"""Markup → an lxml document, once, the same way for every reader of HTML (article extraction, plain text).

Pure: no network, no clock. Never raises on bad markup.
"""

from __future__ import annotations

from typing import Any

from lxml import etree  # type: ignore[import-untyped]
from lxml import html as lxml_html


def parse_html(text: str) -> Any:
    """lxml document of ``text``, or None when libxml2 finds no document. Parsed as UTF-8 bytes, so
    an XML prolog or a lying meta charset cannot make lxml decode the text a second time."""
    parser = lxml_html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True)
    try:
        root = lxml_html.document_fromstring(text.encode("utf-8", "replace"), parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None
    _adopt_stray_roots(root)
    return root


def _adopt_stray_roots(root: Any) -> None:
    """Move the content of extra top-level elements into <body>. A page that includes a complete
    header document ("…</html>" mid-page, seen on gov.cn) makes libxml2 start a second root
    element, and everything after the stray </html> would otherwise be lost."""
    body = root.find("body")
    if body is None:
        return
    for sibling in list(root.itersiblings()):
        if isinstance(sibling.tag, str):
            for child in list(sibling):
                if child.tag == "body":
                    body.extend(list(child))
                elif child.tag != "head":
                    body.append(child)
