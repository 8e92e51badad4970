"""An assembled issue as PDF: the DOCX of :mod:`news_harvester.editorial.export_docx` converted by
LibreOffice, the one export that leaves the process."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from news_harvester.editorial.export import ExportError, IssueDocument
from news_harvester.editorial.export_docx import to_docx


def to_pdf(doc: IssueDocument, *, soffice: str | None = None, timeout: float = 120) -> bytes:
    """The issue as PDF: :func:`to_docx` converted by LibreOffice (``soffice``: a path or a
    command name; default ``soffice``, then ``libreoffice``, on PATH). Raises
    :class:`ExportError` ``export.pdf_unavailable`` when LibreOffice cannot be found or started,
    ``export.pdf_failed`` when it fails, gives no PDF or is still running after ``timeout``
    seconds."""
    program = _find_soffice(soffice)
    with tempfile.TemporaryDirectory(prefix="news-harvester-pdf-") as tmp:
        workdir = Path(tmp)
        source = workdir / "issue.docx"
        source.write_bytes(to_docx(doc))
        command = [
            program,
            # A profile of its own: with the user's profile in use by a running LibreOffice,
            # soffice hands the job to that instance and exits without converting anything.
            f"-env:UserInstallation={(workdir / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(workdir),
            str(source),
        ]
        _run_soffice(command, timeout)
        target = workdir / "issue.pdf"
        data = target.read_bytes() if target.is_file() else b""
    if not data.startswith(b"%PDF"):
        raise ExportError(f"LibreOffice ({program}) produced no PDF", code="export.pdf_failed")
    return data


def _find_soffice(soffice: str | None) -> str:
    candidates = [soffice] if soffice else ["soffice", "libreoffice"]
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return found
    wanted = soffice or "soffice"
    raise ExportError(
        f"LibreOffice is needed for PDF export and {wanted!r} was not found: install LibreOffice"
        " (Debian/Ubuntu: apt-get install libreoffice-writer) or pass the path of soffice",
        code="export.pdf_unavailable",
    )


def _run_soffice(command: list[str], timeout: float) -> None:
    try:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
    except OSError as exc:
        raise ExportError(f"cannot start LibreOffice ({command[0]}): {exc}", code="export.pdf_unavailable") from exc
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        # soffice is a launcher: the converter is its child, so the whole session goes.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise ExportError(f"LibreOffice did not finish within {timeout:g} s", code="export.pdf_failed") from exc
    if process.returncode != 0:
        detail = stderr.decode("utf-8", "replace").strip()[-500:]
        raise ExportError(f"LibreOffice exited with status {process.returncode}: {detail}", code="export.pdf_failed")
