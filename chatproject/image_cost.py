"""What decoding an opened picture will hold in memory, counted in 4-byte pixels.

The figures are Pillow 13's, measured (docs/PERFORMANCE.md, "Image uploads"):

- PNG and GIF: the decoded frame, 1 byte a pixel in the 1, L and P modes, 4 in the others.
- WEBP: ~16 bytes a pixel. Pillow decodes every WEBP, still or animated, through libwebp's
  animation API, which keeps a canvas and the previous one, then copies the frame into bytes
  and into the image.
- JPEG: the picture at the size `draft` asked libjpeg to decode it (1/2, 1/4 or 1/8 scale), plus,
  when the file has several scans (progressive, or components sent one scan at a time), every
  DCT coefficient of the full-size picture: 2 bytes per sample, held until the last scan.
"""

from typing import BinaryIO

from PIL import Image

BYTES_PER_PIXEL = 4  # the unit of IMAGE_DECODE_MAX_PIXELS: one RGB(A) pixel as Pillow stores it
WEBP_BYTES_PER_PIXEL = 16
ONE_BYTE_MODES = {"1", "L", "P"}
JPEG_FORMATS = {"JPEG", "MPO"}
SOS = 0xDA  # start of scan marker
STANDALONE_MARKERS = {0x01, *range(0xD0, 0xDA)}  # TEM, RSTn, SOI, EOI: no length field


def decode_cost(img: Image.Image, file: BinaryIO, source_size: tuple[int, int]) -> int:
    """The 4-byte pixels decoding `img` (opened, drafted, not loaded) will hold.

    `file` is the picture's file (left where it was) and `source_size` its size before any draft.
    """
    width, height = img.size
    if img.format == "WEBP":
        per_pixel = WEBP_BYTES_PER_PIXEL
    else:
        per_pixel = 1 if img.mode in ONE_BYTE_MODES else BYTES_PER_PIXEL
    cost = width * height * per_pixel
    if img.format in JPEG_FORMATS and _jpeg_multi_scan(img, file):
        cost += _jpeg_coefficient_bytes(img, source_size)
    return -(-cost // BYTES_PER_PIXEL)


def _jpeg_coefficient_bytes(img: Image.Image, source_size: tuple[int, int]) -> int:
    """libjpeg's whole-picture coefficient buffer: 2 bytes per sample of every component."""
    layers = getattr(img, "layer", None) or [(0, 1, 1, 0)] * 4  # unknown: assume the worst
    h_max = max(layer[1] for layer in layers) or 1
    v_max = max(layer[2] for layer in layers) or 1
    width, height = source_size
    samples = sum(width * height * layer[1] * layer[2] // (h_max * v_max) for layer in layers)
    return 2 * samples


def _jpeg_multi_scan(img: Image.Image, file: BinaryIO) -> bool:
    """Whether libjpeg must buffer the whole picture: a progressive file, or a first scan that
    does not carry every component (libjpeg decides from that first scan header)."""
    if img.info.get("progressive"):
        return True
    position = file.tell()
    try:
        return _first_scan_components(file) < getattr(img, "layers", 0)
    finally:
        file.seek(position)


def _first_scan_components(file: BinaryIO) -> int:
    """The component count in the first scan header (0 if the markers don't lead to one)."""
    file.seek(2)  # after SOI
    while len(head := file.read(2)) == 2 and head[0] == 0xFF:
        marker = head[1]
        if marker == 0xFF:  # fill byte: the marker follows
            file.seek(-1, 1)
        elif marker not in STANDALONE_MARKERS:
            length = int.from_bytes(file.read(2), "big")
            if marker == SOS:
                return (file.read(1) or b"\0")[0]
            file.seek(length - 2, 1)
    return 0  # Pillow read past something odd: assume the worst
