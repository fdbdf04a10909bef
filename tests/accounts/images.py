"""Image payloads for avatar tests: good pictures, lies and bombs, as bytes or data URLs."""

import base64
import io
import random
import struct
import zlib

from PIL import Image

GPS_IFD = 0x8825
MAKE_TAG = 0x010F
ORIENTATION_TAG = 0x0112
CAMERA_MAKER = "SecretCam-4711"


def picture(
    fmt: str = "PNG",
    size: tuple[int, int] = (64, 48),
    color: str = "teal",
    mode: str = "RGB",
    **options: object,
) -> bytes:
    """A valid image in `fmt` (PNG, JPEG, GIF, WEBP, BMP, TIFF); `options` go to Pillow's save."""
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, fmt, **options)
    return out.getvalue()


def animated(fmt: str, size: tuple[int, int] = (40, 30), frames: int = 3) -> bytes:
    """An animated GIF or WEBP whose frames are red, green, blue..."""
    colors = ["red", "green", "blue", "yellow", "purple"]
    pictures = [Image.new("RGB", size, colors[n % len(colors)]) for n in range(frames)]
    out = io.BytesIO()
    pictures[0].save(out, fmt, save_all=True, append_images=pictures[1:], duration=100, loop=0)
    return out.getvalue()


def jpeg_with_gps(size: tuple[int, int] = (64, 48), orientation: int = 6) -> bytes:
    """A phone-like JPEG: EXIF with GPS coordinates, a camera maker and a rotation flag."""
    exif = Image.Exif()
    exif[MAKE_TAG] = CAMERA_MAKER
    exif[ORIENTATION_TAG] = orientation
    exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    out = io.BytesIO()
    Image.new("RGB", size, "orange").save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def multi_picture_jpeg() -> bytes:
    """An MPO file: a JPEG with a second picture appended, as many phones write."""
    out = io.BytesIO()
    first, second = Image.new("RGB", (40, 30), "red"), Image.new("RGB", (40, 30), "blue")
    first.save(out, "MPO", save_all=True, append_images=[second])
    return out.getvalue()


def noisy_png(size: tuple[int, int]) -> bytes:
    """A PNG that does not compress (random pixels), to reach a byte size cheaply."""
    rng = random.Random(4)
    out = io.BytesIO()
    Image.frombytes("L", size, rng.randbytes(size[0] * size[1])).save(out, "PNG")
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` pixels (no real pixel data)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def bomb_png(side: int = 7000) -> bytes:
    """A real, complete `side` x `side` PNG that compresses to a few kilobytes."""
    out = io.BytesIO()
    Image.new("1", (side, side), 0).save(out, "PNG")
    return out.getvalue()


SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script></svg>"
)
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def data_url(raw: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{b64(raw)}"
