"""The streamed size cap on a response body (news_harvester.harvest.fetch reads every body through it).

A declared ``Content-Length`` over the cap fails at once; otherwise the body is read chunk by chunk, gzip and
deflate decompressed here with a bounded output size, so the cap applies to the *decompressed* body and a gzip
bomb stops early. A connection broken mid-body is ``fetch.truncated``; a corrupt compressed body is
``fetch.bad_encoding``.
"""

from __future__ import annotations

import zlib

import httpx

from news_harvester.errors import FetchError


async def read_capped(response: httpx.Response, headers: dict[str, str], cap: int) -> bytes:
    """The body of ``response`` (its headers lower-cased in ``headers``), or ``fetch.too_large`` past ``cap``."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise FetchError(
            f"response of {int(declared)} bytes exceeds the {cap}-byte cap",
            code="fetch.too_large",
            http_status=response.status_code,
        )
    return await _read_body(response, headers.get("content-encoding", ""), cap)


async def _read_body(response: httpx.Response, content_encoding: str, cap: int) -> bytes:
    """Read the body, decompressing gzip/deflate ourselves with a bounded output size."""
    encoding = content_encoding.strip().lower()
    decompressor = None
    if encoding in ("gzip", "x-gzip"):
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        decompressor = zlib.decompressobj()
    parts: list[bytes] = []
    size = received = 0
    try:
        async for chunk in response.aiter_raw():
            received += len(chunk)
            pieces = [chunk]
            if decompressor is not None:
                pieces = _inflate(decompressor, chunk, cap - size + 1)
            for piece in pieces:
                size += len(piece)
                if size > cap:
                    raise FetchError(
                        f"response body exceeds the {cap}-byte cap" + (" after decompression" if decompressor else ""),
                        code="fetch.too_large",
                        http_status=response.status_code,
                    )
                parts.append(piece)
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
        # The status line and headers arrived, the body did not: a clean close before Content-Length
        # or the last chunk (RemoteProtocolError) and a reset (ReadError) are the same truncation.
        declared = response.headers.get("content-length")
        of = f" of {declared}" if declared else ""
        raise FetchError(
            f"connection broken mid-body after {received}{of} bytes: {describe(exc)}",
            code="fetch.truncated",
            http_status=response.status_code,
        ) from exc
    return b"".join(parts)


def _inflate(decompressor: zlib._Decompress, chunk: bytes, room: int) -> list[bytes]:
    out: list[bytes] = []
    data = chunk
    try:
        while data:
            piece = decompressor.decompress(data, max(room, 1))
            out.append(piece)
            room -= len(piece)
            if room <= 0:
                break
            data = decompressor.unconsumed_tail
    except zlib.error as exc:
        raise FetchError(f"corrupt compressed body: {exc}", code="fetch.bad_encoding") from exc
    return out


def describe(exc: BaseException) -> str:
    """An exception's text, or its type's name when it has none (for error messages)."""
    return str(exc) or type(exc).__name__
