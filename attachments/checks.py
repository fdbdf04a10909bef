"""What may be sent as a file: the type decided from the bytes, refusals, and clean names.

The type is what the content is, never what the client says: magic numbers (the `filetype`
library, pure Python) for binary formats, and for text the extension of a file that really is
text (no NUL byte). Whatever ATTACHMENT_TYPES allows, these are always refused:

- programs and scripts: Windows (MZ), ELF, Mach-O, Java classes, WebAssembly, Android dex,
  anything starting with `#!`, packages (deb, rpm, Chrome extensions), Java and Android
  archives (a ZIP carrying a JAR manifest, `classes.dex`...), and any name ending in one of
  EXECUTABLE_EXTENSIONS;
- markup a browser would run: HTML, SVG, XML (by name, by a start that looks like a tag, or by
  a script-capable tag anywhere in a text file).

A name whose extension does not fit the type gets the type's own added ("report.pdf" holding a
ZIP is sent as "report.pdf.zip"), so the receiver's computer opens it for what it is.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import IO

import filetype
from django.conf import settings

from attachments.models import NAME_MAX_LENGTH
from chatproject.errors import ServiceError

EMPTY_FILE = "The file is empty"
EXECUTABLE = "Programs and scripts cannot be sent"
MARKUP = "Web pages, SVG and XML files cannot be sent"
NOT_ALLOWED = "Files of this type cannot be sent"

HEAD_BYTES = 8192  # what the magic numbers are read from (filetype reads as much)
SCAN_STEP = 1 << 20  # bytes read at a time when a whole file is scanned

# fmt: off
EXECUTABLE_EXTENSIONS = frozenset({
    "exe", "com", "bat", "cmd", "sh", "bash", "zsh", "csh", "ksh", "ps1", "psm1", "psd1", "vbs",
    "vbe", "js", "mjs", "cjs", "jse", "wsf", "wsh", "msi", "msp", "msix", "appx", "appxbundle",
    "apk", "aab", "xapk", "jar", "war", "ear", "class", "dll", "so", "dylib", "scr", "pif", "cpl",
    "gadget", "hta", "lnk", "inf", "reg", "app", "dmg", "pkg", "deb", "rpm", "run", "bin", "elf",
    "out", "py", "pyw", "pyz", "pyc", "php", "pl", "wasm",
})
MARKUP_EXTENSIONS = frozenset({
    "html", "htm", "xhtml", "xht", "shtml", "svg", "svgz", "xml", "xsl", "xslt", "mht", "mhtml",
})
# fmt: on

# Magic numbers of programs (filetype knows some; these are checked first, whatever it says).
EXECUTABLE_MAGIC = (
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",  # Mach-O 32-bit
    b"\xfe\xed\xfa\xcf",  # Mach-O 64-bit
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",  # Mach-O universal binary, or a Java class
    b"\x00asm",  # WebAssembly
    b"dex\n",  # Android
    b"#!",  # a script for whatever interpreter it names
)
EXECUTABLE_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-executable",
        "application/wasm",
        "application/x-shockwave-flash",
        "application/x-google-chrome-extension",
        "application/x-deb",
        "application/x-rpm",
    }
)
# ZIP-based formats; a program packaged as one is recognised by these entry names.
ZIP_TYPES = frozenset(
    {
        "application/zip",
        "application/epub+zip",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
    }
)
PACKAGE_ENTRIES = (
    b"META-INF/MANIFEST.MF",  # Java archive
    b"AndroidManifest.xml",
    b"classes.dex",
    b"AppxManifest.xml",  # Windows app package
)
# Tags that run script in a browser: a text file holding any of them is refused.
SCRIPT_TAGS = (b"<script", b"<html", b"<svg", b"<iframe", b"<object", b"<embed")
TEXT_TYPES = {
    "txt": "text/plain",
    "text": "text/plain",
    "log": "text/plain",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "md": "text/markdown",
    "markdown": "text/markdown",
}
# The extensions a type may carry; the first is added to a name that has none of them.
EXTENSIONS = {
    "application/pdf": ("pdf",),
    "application/zip": ("zip",),
    "application/x-7z-compressed": ("7z",),
    "application/x-tar": ("tar",),
    "application/gzip": ("gz", "tgz"),
    "application/x-bzip2": ("bz2", "tbz2", "tbz"),
    "application/x-xz": ("xz", "txz"),
    "application/rtf": ("rtf",),
    "application/msword": ("doc", "dot"),
    "application/vnd.ms-excel": ("xls", "xlt"),
    "application/vnd.ms-powerpoint": ("ppt", "pps", "pot"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("docx", "dotx"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("xlsx", "xltx"),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (
        "pptx",
        "ppsx",
        "potx",
    ),
    "application/vnd.oasis.opendocument.text": ("odt",),
    "application/vnd.oasis.opendocument.spreadsheet": ("ods",),
    "application/vnd.oasis.opendocument.presentation": ("odp",),
    "application/epub+zip": ("epub",),
    "audio/mpeg": ("mp3",),
    "audio/mp4": ("m4a", "m4b", "mp4"),
    "audio/aac": ("aac",),
    "audio/ogg": ("ogg", "oga", "opus"),
    "audio/x-wav": ("wav",),
    "audio/x-flac": ("flac",),
    "video/mp4": ("mp4", "m4v"),
    "video/quicktime": ("mov", "qt"),
    "video/webm": ("webm",),
    "video/x-matroska": ("mkv",),
}
OCTET_STREAM = "application/octet-stream"
# Removed from names: control and format characters (bidi overrides, zero-width marks), lone
# surrogates, private-use characters and line or paragraph separators.
NAME_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
NAME_FALLBACK = "file"
NAME_EXTENSION_MAX = 16  # characters of an extension kept when a long name is cut


def _refuse(message: str) -> ServiceError:
    return ServiceError(message, errors={"file": [message]})


def extension(name: str) -> str:
    """The last extension of a name, lower case, without the dot ("" when there is none)."""
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def clean_name(raw: object) -> str:
    """The client's file name made safe to store and show: no folder part, no control or
    bidi characters, single spaces, NFC, at most 255 characters (the extension kept)."""
    name = raw if isinstance(raw, str) else ""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in NAME_DROPPED_CATEGORIES)
    name = unicodedata.normalize("NFC", " ".join(name.split()))
    name = name.strip(" .")  # Windows drops trailing dots; leading ones would hide the file
    if not name:
        return NAME_FALLBACK
    if len(name) > NAME_MAX_LENGTH:
        ext = extension(name)
        keep = f".{ext}" if ext and len(ext) <= NAME_EXTENSION_MAX else ""
        name = name[: NAME_MAX_LENGTH - len(keep)].rstrip(" .") + keep
    return name


def name_for_type(name: str, content_type: str) -> str:
    """`name`, with the type's own extension added when its extension does not fit it."""
    allowed = EXTENSIONS.get(content_type)
    if allowed is None:
        kind = filetype.get_type(mime=content_type)
        allowed = (kind.extension,) if kind is not None else ()
    if not allowed or extension(name) in allowed or content_type in TEXT_TYPES.values():
        return name
    suffix = f".{allowed[0]}"
    return name[: NAME_MAX_LENGTH - len(suffix)] + suffix


def _chunks(file: IO[bytes]) -> Iterable[bytes | bytearray]:
    """The file a step at a time, each step read into the same buffer (valid until the next).

    A fresh megabyte per step was most of a scan's cost: an allocation that big is its own
    memory map, faulted in page by page and handed back each time.
    """
    file.seek(0)
    buffer = bytearray(SCAN_STEP)
    while size := file.readinto(buffer):  # type: ignore[attr-defined]
        yield buffer if size == SCAN_STEP else bytes(buffer[:size])


def _contains(file: IO[bytes], needles: tuple[bytes, ...], *, fold_case: bool) -> bool:
    """Whether any needle occurs in the file, read a step at a time (never whole in memory)."""
    overlap = max(len(n) for n in needles) - 1
    # Needles that share a first byte: a step without it holds none of them, and looking for
    # one byte is a memchr, a hundred times cheaper than lowering the step and searching it
    # once per needle. A 20 MiB log was 90 ms of held GIL per upload (bench/uploads.py).
    firsts = {needle[:1] for needle in needles}
    common_first = next(iter(firsts)) if len(firsts) == 1 else None
    if common_first is not None and common_first.isalpha():
        common_first = None  # its case would matter

    def found(window: bytes | bytearray) -> bool:
        if common_first is not None and common_first not in window:
            return False
        if fold_case:
            window = window.lower()
        return any(needle in window for needle in needles)

    tail = b""
    for chunk in _chunks(file):
        # A needle cut by a step's end: the last bytes of one step and the first of the next.
        if found(tail + chunk[:overlap]) or found(chunk):
            return True
        tail = bytes(chunk[-overlap:]) if overlap else b""
    return False


def _looks_like_markup(head: bytes) -> bool:
    """A start a browser would sniff as HTML or XML: a tag, a comment, a doctype, `<?xml`."""
    start = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n\x0c")[:2]
    return len(start) == 2 and start[:1] == b"<" and (start[1:].isalpha() or start[1:] in b"!?")


def _is_program(head: bytes) -> bool:
    if head.startswith(EXECUTABLE_MAGIC):
        return True
    # A DOS/Windows program: "MZ" and a header with zeros in it (text never has a NUL).
    return head.startswith(b"MZ") and b"\x00" in head[:64]


def file_type(file: IO[bytes], *, name: str) -> str:
    """The MIME type of an uploaded file, if it may be sent; else 400 saying why."""
    ext = extension(name)
    if ext in EXECUTABLE_EXTENSIONS:
        raise _refuse(EXECUTABLE)
    if ext in MARKUP_EXTENSIONS:
        raise _refuse(MARKUP)
    file.seek(0)
    head = file.read(HEAD_BYTES)
    if not head:
        raise _refuse(EMPTY_FILE)
    if _is_program(head):
        raise _refuse(EXECUTABLE)
    kind = filetype.guess(head)
    if kind is not None:
        content_type = kind.mime
        if content_type in EXECUTABLE_TYPES:
            raise _refuse(EXECUTABLE)
        if content_type in ZIP_TYPES and _contains(file, PACKAGE_ENTRIES, fold_case=False):
            raise _refuse(EXECUTABLE)
    else:
        # No magic number: text, or bytes nobody can vouch for. Markup is refused either way.
        if _looks_like_markup(head) or _contains(file, SCRIPT_TAGS, fold_case=True):
            raise _refuse(MARKUP)
        is_text = not _contains(file, (b"\x00",), fold_case=False)
        content_type = TEXT_TYPES.get(ext, OCTET_STREAM) if is_text else OCTET_STREAM
    if content_type not in settings.ATTACHMENT_TYPES:
        raise _refuse(NOT_ALLOWED)
    return content_type
