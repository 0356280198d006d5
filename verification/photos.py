"""Photos of QR codes, uploaded where no camera works: checked as images, then decoded (zxing-cpp).

The only module that opens an uploaded image. Everything about the file is checked before Pillow
decodes a pixel: its size, its format, its pixel count and its shape.
"""

import logging

import zxingcpp
from PIL import Image, ImageOps
from werkzeug.datastructures import FileStorage

from identity import errors

log = logging.getLogger(__name__)

MAX_UPLOAD = 5 * 1024 * 1024  # bytes of the photo itself
MAX_PIXELS = 40_000_000  # a 40-megapixel photo; checked before Pillow decodes anything
# Pixels either way: the long side of a 200-megapixel phone photo. The decoder stops at 65,535.
MAX_SIDE = 16_384
FORMATS = ("JPEG", "PNG", "WEBP", "GIF")  # JPEG opens phones' multi-picture JPEGs (MPO) too


# Why each upload is refused, in English (a person reads identity.web.refusals.MESSAGES).
REASONS = {
    "too-large": "The photo is larger than 5 MB.",
    "too-many-pixels": "The photo has too many pixels.",
    "odd-shape": "The image is too wide or too tall to be a photo of a QR code.",
    "not-an-image": "The file is not a JPEG, PNG, WebP or GIF image.",
}


class Refused(errors.Refused):
    """An upload we cannot use; `code` names the message to show (identity.web.refusals)."""

    def __init__(self, code: str) -> None:
        super().__init__(REASONS[code], code=code)


def read_qr_texts(upload: FileStorage) -> list[str]:
    """Decode every QR code in an uploaded photo; raise Refused when it is not a usable image."""
    stream = upload.stream
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    if size == 0:
        raise Refused("not-an-image")
    if size > MAX_UPLOAD:
        raise Refused("too-large")
    try:
        image = Image.open(stream, formats=FORMATS)
    except Image.DecompressionBombError as bomb:
        raise Refused("too-many-pixels") from bomb
    except Exception as exc:  # not an image, or not one of the accepted kinds
        raise Refused("not-an-image") from exc
    with image:
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise Refused("too-many-pixels")
        if width > MAX_SIDE or height > MAX_SIDE:
            raise Refused("odd-shape")
        try:
            gray = _grayscale(image)
        except Exception as exc:  # truncated or corrupt data: Pillow raises many kinds
            log.info("an uploaded image could not be decoded: %r", exc)
            raise Refused("not-an-image") from exc
    qr_only = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    barcodes = zxingcpp.read_barcodes(gray, formats=qr_only)
    return [barcode.text for barcode in barcodes if barcode.text]


def _grayscale(image: Image.Image) -> Image.Image:
    """Decode the image upright and in grey, transparency flattened onto white."""
    image = ImageOps.exif_transpose(image) or image
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        flat = Image.new("RGBA", image.size, "white")
        flat.alpha_composite(image.convert("RGBA"))
        image = flat
    return image.convert("L")
