"""decode_body on real bytes: feedparser's encoding cases, undeclared legacy charsets, a real
GB2312 page with conflicting declarations, GB18030 pages behind a lying header, corrupt UTF-8.

Policy under test (decode.py): BOM and BOM-less UTF-16/32 first; valid UTF-8 stays UTF-8 whatever
the label; then the HTTP charset, then the document's own declaration (a latin-1 / ASCII header is
weaker than the document); GB2312 / GBK widen to GB18030; UTF-8 with a few corrupt bytes decodes
with replacements; text that no charset fits is a DecodeError ``decode.charset``.
"""

from __future__ import annotations

import codecs
import json
import random
import re
from pathlib import Path

import pytest

from conftest import SHARED_FIXTURES, shared_fixture
from news_harvester.errors import DecodeError
from news_harvester.harvest.decode import decode_body, normalize_charset

ENCODING = "feedparser-tests/tests/encoding"
CHARDET = "feedparser-tests/tests/illformed/chardet"


def _comment(raw: bytes, codec: str) -> dict[str, str]:
    """The feedparser header comment (``Header: Content-type: …``, ``Expect: …``) of a fixture."""
    text = raw.decode(codec).lstrip("\ufeff")
    fields: dict[str, str] = {}
    if (header := re.search(r"^Header:\s*Content-type:\s*(.+?)\s*$", text, re.M | re.I)) is not None:
        fields["content_type"] = header.group(1)
    if (expect := re.search(r"encoding\s*==\s*'([^']+)'", text)) is not None:
        fields["encoding"] = expect.group(1)
    return fields


# (fixture, codec to read its comment with, text the decoded document must contain)
FEEDPARSER_CASES = [
    (f"{ENCODING}/big5.xml", "ascii", 'encoding="big5"'),
    (f"{ENCODING}/euc-kr.xml", "euc-kr", "<title>\ub144</title>"),
    (f"{ENCODING}/euc-kr-item.xml", "euc-kr", "<description>\ub144</description>"),
    (f"{ENCODING}/euc-kr-attribute.xml", "euc-kr", '&lt;img alt="\ub144" />'),
    (f"{ENCODING}/http_application_atom_xml_gb2312_charset.xml", "ascii", "<feed"),
    (f"{ENCODING}/http_application_atom_xml_gb2312_charset_overrides_encoding.xml", "ascii", "<feed"),
    (f"{ENCODING}/http_application_atom_xml_gb2312_encoding.xml", "ascii", "<feed"),
    (f"{ENCODING}/http_application_xml_charset_overrides_encoding.xml", "ascii", "<rss"),
    (f"{ENCODING}/http_application_rss_xml_encoding.xml", "ascii", "<rss"),
    (f"{ENCODING}/no_content_type_default.xml", "ascii", "<feed"),
    (f"{ENCODING}/http_text_xml_charset_2.xml", "cp1252", "This is a £“test.”"),
    (f"{ENCODING}/http_text_xml_charset_overrides_encoding_2.xml", "cp1252", "This is a £“test.”"),
    (f"{ENCODING}/http_i18n.xml", "utf-8", "Iñtërnâtiônàlizætiøn"),
    # text/xml without charset "means us-ascii", but the bytes are valid UTF-8: they stay UTF-8.
    (f"{ENCODING}/bozo_http_i18n.xml", "utf-8", "Iñtërnâtiônàlizætiøn"),
    (f"{ENCODING}/utf-8-bom.xml", "utf-8-sig", "<rss>"),
    (f"{ENCODING}/utf-16be-bom.xml", "utf-16", "Byte Order Mark (Big Endian)"),
    (f"{ENCODING}/utf-16le-bom.xml", "utf-16", "Byte Order Mark (Little Endian)"),
    (f"{ENCODING}/utf-32be-bom.xml", "utf-32", "Byte Order Mark (Big Endian)"),
    (f"{ENCODING}/utf-32le-bom.xml", "utf-32", "Byte Order Mark (Little Endian)"),
    (f"{ENCODING}/utf-16be.xml", "utf-16-be", "declared as Big Endian"),
    (f"{ENCODING}/utf-16le.xml", "utf-16-le", "declared as Little Endian"),
    (f"{ENCODING}/utf-32be.xml", "utf-32-be", "declared as Big Endian"),
    (f"{ENCODING}/utf-32le.xml", "utf-32-le", "declared as Little Endian"),
    (f"{ENCODING}/utf-16be-autodetect.xml", "utf-16-be", "autodetected as Big Endian"),
    (f"{ENCODING}/utf-16le-autodetect.xml", "utf-16-le", "autodetected as Little Endian"),
    (f"{ENCODING}/utf-32be-autodetect.xml", "utf-32-be", "autodetected as Big Endian"),
    (f"{ENCODING}/utf-32le-autodetect.xml", "utf-32-le", "autodetected as Little Endian"),
    (f"{ENCODING}/utf16.xml", "utf-16-be", 'encoding="utf16"'),
    (f"{ENCODING}/utf_32.xml", "utf-32-be", 'encoding="utf_32"'),
]


@pytest.mark.parametrize(
    ("relative", "comment_codec", "snippet"), FEEDPARSER_CASES, ids=[Path(c[0]).name for c in FEEDPARSER_CASES]
)
def test_feedparser_encoding_cases_decode_to_the_expected_text(relative, comment_codec, snippet):
    raw = shared_fixture(relative).read_bytes()
    comment = _comment(raw, comment_codec)
    expected_codec = comment.get("encoding", comment_codec)
    expected_text = raw.decode(expected_codec).lstrip("\ufeff")

    decoded = decode_body(raw, comment.get("content_type"))

    assert decoded.text == expected_text
    assert snippet in decoded.text
    assert "\ufffd" not in decoded.text and "\x00" not in decoded.text
    assert decoded.replaced == 0
    # charset_used is compatible with the expectation: it reads these bytes to the same text
    assert raw.decode(decoded.charset_used).lstrip("\ufeff") == expected_text
    header = comment.get("content_type", "")
    if "charset" in header:  # what the HTTP header claimed is what is recorded as declared
        label = re.search(r"charset\s*=\s*[\"']?([\w-]+)", header).group(1)
        assert normalize_charset(decoded.charset_declared) == normalize_charset(label)


def test_gb2312_label_widens_to_gb18030_for_characters_outside_gb2312():
    # 镕 (U+9555, as in 朱镕基) is GBK but not GB2312: a page labelled gb2312 routinely contains it.
    raw = shared_fixture(f"{ENCODING}/http_application_atom_xml_gb2312_charset.xml").read_bytes()
    body = raw.replace(b"</feed>", "<title>朱镕基与数字贸易</title></feed>".encode("gb18030"))
    with pytest.raises(UnicodeDecodeError):
        body.decode("gb2312")

    decoded = decode_body(body, "application/atom+xml;charset='gb2312'")

    assert decoded.charset_used == "gb18030"
    assert "<title>朱镕基与数字贸易</title>" in decoded.text


def test_http_charset_beats_the_documents_own_declaration():
    # The prolog says utf-8, the header says gb2312, the bytes are GB2312: the header wins.
    raw = shared_fixture(f"{ENCODING}/http_application_atom_xml_gb2312_charset_overrides_encoding.xml").read_bytes()
    assert b'encoding="utf-8"' in raw
    body = raw.replace(b"</feed>", "<title>商务部发布数字贸易政策</title></feed>".encode("gb2312"))

    decoded = decode_body(body, "application/atom+xml; charset='gb2312'")

    assert decoded.charset_used == "gb18030"
    assert "<title>商务部发布数字贸易政策</title>" in decoded.text


def test_latin1_header_is_weaker_than_the_documents_own_declaration():
    # Servers send ISO-8859-1 by default; the prolog's gb2312 is what the author meant.
    raw = shared_fixture(f"{ENCODING}/http_application_atom_xml_gb2312_encoding.xml").read_bytes()
    assert b'encoding="gb2312"' in raw
    body = raw.replace(b"</feed>", "<title>商务部发布数字贸易政策</title></feed>".encode("gb2312"))

    decoded = decode_body(body, "text/xml; charset=ISO-8859-1")

    assert decoded.charset_used == "gb18030"
    assert "<title>商务部发布数字贸易政策</title>" in decoded.text


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("gb2312.xml", "不归移民漫画系列：专业工作"),
        ("big5.xml", None),
        ("euckr.xml", "EUC-KR 에서 TypeKey 한글닉네임 표시하기"),
        ("eucjp.xml", "ゲーム三昧な正月"),
        ("shiftjis.xml", "DrecomRSSに記事投稿が反映されない…"),
        ("koi8r.xml", "Как пережить новогоднюю ночь"),
        ("tis620.xml", None),
        ("windows1255.xml", None),
    ],
)
def test_undeclared_legacy_charsets_are_detected(name, title):
    raw = shared_fixture(f"{CHARDET}/{name}").read_bytes()
    expected_codec = _comment(raw, "latin-1")["encoding"]
    assert not re.search(rb"encoding=|charset=", raw.split(b"-->", 1)[1])  # truly undeclared

    decoded = decode_body(raw, "text/xml")

    assert decoded.text == raw.decode(expected_codec)
    assert "\ufffd" not in decoded.text
    if title:
        assert f"<title>{title}</title>" in decoded.text
    if name == "gb2312.xml":
        assert decoded.charset_used == "gb18030"


def _he_xinhuanet() -> Path:
    selection = json.loads(shared_fixture("trafilatura-eval/SELECTION.json").read_text(encoding="utf-8"))
    (relative,) = {p for p in selection["non_utf8"] if "he.xinhuanet" in p} & set(selection["cjk"])
    return shared_fixture(f"trafilatura-eval/{relative}")


@pytest.mark.parametrize(
    "content_type", [None, "text/html", "text/html; charset=utf-8", "text/html; charset=iso-8859-1"]
)
def test_real_gb2312_page_with_conflicting_declarations(content_type):
    """Wayback-injected charset="utf-8" attributes come first, the page's own gb2312 meta later; the
    Wayback server labels the response UTF-8. The bytes are GB2312."""
    path = _he_xinhuanet()
    raw = path.read_bytes()
    head = raw[: raw.find(b"charset=gb2312")]
    assert b'charset="utf-8"' in head and b"charset=gb2312" in raw
    annotations = json.loads(shared_fixture("trafilatura-eval/tests/evaldata.json").read_text(encoding="utf-8"))
    (entry,) = [v for v in annotations.values() if v["file"] == path.name]

    decoded = decode_body(raw, content_type)

    assert decoded.charset_used == "gb18030"
    assert decoded.replaced == 0 and "\ufffd" not in decoded.text
    assert entry["title"].strip() in decoded.text  # 话剧《约定无期限》河北各市巡演结束
    for snippet in entry["with"]:
        assert snippet in decoded.text


def _gne_pages() -> list[str]:
    root = SHARED_FIXTURES / "gne" / "tests"
    return sorted(str(p.relative_to(SHARED_FIXTURES)) for p in root.rglob("*.html")) or ["gne/tests/missing.html"]


@pytest.mark.parametrize("relative", _gne_pages())
def test_gb18030_page_behind_a_lying_utf8_header(relative):
    """Every gne page (UTF-8 bytes) re-encoded to GB18030 and served as charset=utf-8; most
    pages' own <meta> says utf-8 too, so only detection can find the truth."""
    original = shared_fixture(relative).read_bytes().decode("utf-8")
    body = original.encode("gb18030")

    decoded = decode_body(body, "text/html; charset=utf-8")

    assert decoded.charset_used == "gb18030"
    assert decoded.text == original
    assert decoded.charset_declared.lower() == "utf-8"


def test_forced_encoding_wins_and_a_wrong_forced_encoding_falls_back():
    original = shared_fixture("gne/tests/xinhuanet/1.html").read_bytes().decode("utf-8")
    body = original.encode("gb18030")

    assert decode_body(body, "text/html; charset=utf-8", forced="gbk").text == original
    wrong = decode_body(body, "text/html", forced="utf-8")
    assert wrong.text == original and wrong.charset_used == "gb18030"


def test_utf16_label_on_8bit_bytes_is_ignored():
    """A copied <meta charset=utf-16> (or header) on 8-bit bytes would "decode" into CJK garbage."""
    original = shared_fixture("gne/tests/people/1.html").read_bytes().decode("utf-8")
    body = original.encode("gb18030")

    decoded = decode_body(body, "text/html; charset=utf-16")

    assert decoded.text == original


def test_a_few_invalid_bytes_in_utf8_decode_with_replacements():
    raw = shared_fixture("gne/tests/xinhuanet/1.html").read_bytes()
    original = raw.decode("utf-8")
    corrupt = raw[:5000] + b"\xff\xfe" + raw[5000:20000] + b"\xc3" + raw[20000:]

    decoded = decode_body(corrupt, "text/html; charset=utf-8")

    assert decoded.charset_used == "utf-8"
    assert decoded.replaced == 3
    assert decoded.text.replace("\ufffd", "") == original


@pytest.mark.parametrize(
    "name", ["tierschutzpartei.de-wildvogelauffang.html", "der-erfolg-gibt-recht.de.rinderleber.html"]
)
def test_real_utf8_pages_with_corrupt_bytes_stay_utf8(name):
    """Real pages declared UTF-8 with 3-4 corrupt bytes: a code-page guess would garble every
    umlaut; lenient UTF-8 keeps all but the corrupt ones."""
    raw = shared_fixture(f"trafilatura-eval/tests/eval/{name}").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")

    decoded = decode_body(raw, "text/html; charset=utf-8")

    assert decoded.charset_used == "utf-8"
    assert 0 < decoded.replaced <= 5
    assert any(word in decoded.text for word in ("für", "schön", "Öl"))
    assert "Ã¼" not in decoded.text and "Ã¶" not in decoded.text


def test_mostly_garbage_is_a_decode_error():
    page = shared_fixture("gne/tests/xinhuanet/1.html").read_bytes()
    garbage = random.Random(20240611).randbytes(30_000)
    body = page[:2000] + garbage + page[-2000:]

    with pytest.raises(DecodeError) as caught:
        decode_body(body, "text/html; charset=utf-8")

    assert caught.value.code == "decode.charset"
    assert "utf-8" in str(caught.value)


def test_normalize_charset_widens_and_rejects_unknown_labels():
    assert normalize_charset("GB2312") == "gb18030"
    assert normalize_charset("x-gbk") == "gb18030"  # WHATWG label Python does not know
    assert normalize_charset("gbk") == "gb18030"
    assert normalize_charset("ISO-8859-1") == "cp1252"
    assert normalize_charset("latin_1") == "cp1252"
    assert normalize_charset("bogus") is None
    assert codecs.lookup(normalize_charset("UTF8")).name == "utf-8"
