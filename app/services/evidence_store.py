"""Evidence files on disk, outside the web root: ``<root>/<sha[:2]>/<sha>``.

A file is accepted only when its extension is an allowed one *and* its content is of
that type (magic bytes; for .docx and .xlsx the zip's parts), and it is no larger than
the configured maximum. Files are named by the SHA-256 of their bytes, so the same file
uploaded twice is stored once, and nothing a user typed ever becomes a path.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK = 64 * 1024
MAX_FILENAME = 255


def _zip_with(*parts: str) -> Callable[[bytes, Path], bool]:
    def check(head: bytes, path: Path) -> bool:
        if not head.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError):
            return False
        return "[Content_Types].xml" in names and all(part in names for part in parts)
    return check


def _starts(*magics: bytes) -> Callable[[bytes, Path], bool]:
    return lambda head, _path: head.startswith(magics)


def _mp3(head: bytes, _path: Path) -> bool:
    # An ID3 tag, or an MPEG audio frame header (11 sync bits).
    return head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def _iso_media(head: bytes, _path: Path) -> bool:
    return head[4:8] == b"ftyp"  # ISO base media (MP4 family): box size, then 'ftyp'


@dataclass(frozen=True)
class FileType:
    label: str
    content_type: str
    matches: Callable[[bytes, Path], bool]


JPEG = FileType("JPEG图片", "image/jpeg", _starts(b"\xff\xd8\xff"))
ALLOWED: dict[str, FileType] = {
    "jpg": JPEG,
    "jpeg": JPEG,
    "png": FileType("PNG图片", "image/png", _starts(b"\x89PNG\r\n\x1a\n")),
    "pdf": FileType("PDF文档", "application/pdf", _starts(b"%PDF-")),
    "docx": FileType("Word文档", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                     _zip_with("word/document.xml")),
    "xlsx": FileType("Excel表格", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     _zip_with("xl/workbook.xml")),
    "mp3": FileType("MP3音频", "audio/mpeg", _mp3),
    "m4a": FileType("M4A音频", "audio/mp4", _iso_media),
    "mp4": FileType("MP4视频", "video/mp4", _iso_media),
}
ALLOWED_LIST = "jpg、png、pdf、docx、xlsx、mp3、m4a、mp4"


class EvidenceRejected(ValueError):
    """The file is not accepted (the message says why, in Chinese); nothing was stored."""


@dataclass(frozen=True)
class StoredFile:
    filename: str
    content_type: str
    size: int
    sha256: str


def clean_filename(filename: str | None) -> str:
    """The name to show: no directories, no control characters, at most 255 characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    if len(name) > MAX_FILENAME:
        stem, dot, extension = name.rpartition(".")
        name = stem[:MAX_FILENAME - len(extension) - 1] + dot + extension if dot else name[:MAX_FILENAME]
    return name


def path_of(root: str | Path, sha256: str) -> Path:
    if len(sha256) != 64 or any(ch not in "0123456789abcdef" for ch in sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return Path(root) / sha256[:2] / sha256


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{size // 1024} KB"


def store(root: str | Path, filename: str | None, stream: BinaryIO, max_bytes: int) -> StoredFile:
    """Check the upload and keep it under ``root``; :class:`EvidenceRejected` if refused."""
    name = clean_filename(filename)
    if not name:
        raise EvidenceRejected("请选择要上传的文件")
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    kind = ALLOWED.get(extension)
    if kind is None:
        raise EvidenceRejected(f"不支持的文件类型；允许：{ALLOWED_LIST}")
    root = Path(root)
    incoming = root / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    handle = tempfile.NamedTemporaryFile(dir=incoming, delete=False)
    temporary = Path(handle.name)
    try:
        with handle:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise EvidenceRejected(f"文件过大：最大 {megabytes(max_bytes)}")
                digest.update(chunk)
                handle.write(chunk)
        if size == 0:
            raise EvidenceRejected("文件是空的")
        with temporary.open("rb") as written:
            head = written.read(64)
        if not kind.matches(head, temporary):
            raise EvidenceRejected(f"文件内容与扩展名 .{extension} 不符（不是有效的{kind.label}）")
        sha = digest.hexdigest()
        target = path_of(root, sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            temporary.unlink()
        else:
            os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return StoredFile(name, kind.content_type, size, sha)
