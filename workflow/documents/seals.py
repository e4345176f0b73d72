"""What a digital signature shows on the page (Decree 30/2020, Appendix I): the signing
official's signature image, blue, between their title and name, and the organisation's seal,
red, at its real size, over the left third of it.

A real signature or seal image is a transparent PNG registered with the credential; the
development CA's credentials show drawn stand-ins marked "MẪU" (specimen), so no development
document can pass for a sealed one.
"""

from __future__ import annotations

import base64
import functools
import math
from io import BytesIO
from pathlib import Path

from markupsafe import Markup

from workflow.errors import InvalidInput
from workflow.i18n import N_
from workflow.models import SigningCredential

FONTS = Path(__file__).resolve().parent / "fonts"
SCRIPT = "LiberationSerif-BoldItalic.ttf"
SEAL_RED = "#d4202a"
SIGNATURE_BLUE = "#1b3f9c"
MAX_IMAGE_BYTES = 512 * 1024
MAX_IMAGE_SIDE = 2000


def checked_png(data: bytes) -> tuple[bytes, str]:
    """An uploaded signature or seal image, accepted only as Appendix I wants it: a PNG with
    a transparent background, of a sensible size."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidInput(N_("The image is larger than %(kb)s KB."), kb=MAX_IMAGE_BYTES // 1024)
    try:
        with Image.open(BytesIO(data)) as image:
            image.verify()
        with Image.open(BytesIO(data)) as image:
            kind, mode, size = image.format, image.mode, image.size
            transparent = mode in ("RGBA", "LA") or "transparency" in image.info
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise InvalidInput(N_("The file is not a readable image.")) from error
    if kind != "PNG":
        raise InvalidInput(N_("A signature or seal image must be a PNG file."))
    if not transparent:
        raise InvalidInput(N_("A signature or seal image needs a transparent background."))
    if max(size) > MAX_IMAGE_SIDE:
        raise InvalidInput(N_("The image is larger than %(px)s pixels on a side."),
                           px=MAX_IMAGE_SIDE)
    return data, "image/png"


def image_markup(credential: SigningCredential | None, owner: str, *, seal: bool) -> Markup:
    """The image a credential's signature shows: its registered PNG, the development stand-in
    for a development credential, else nothing (the page then says it was signed digitally)."""
    if credential is None:
        return Markup("")
    if credential.image and credential.image_type == "image/png":
        png = credential.image
    elif credential.source == "dev":
        png = dev_seal(owner) if seal else dev_signature(owner)
    else:
        return Markup("")
    data = base64.b64encode(png).decode()
    return Markup(f'<img src="data:image/png;base64,{data}" alt="">')  # noqa: S704 - base64


def _font(name: str, size: int):
    from PIL import ImageFont

    return ImageFont.truetype(str(FONTS / name), size)


def _png(image, size: tuple[int, int]) -> bytes:
    # Drawn large, kept at about 300 dpi of its printed size: smaller files, faster pages.
    out = BytesIO()
    image.resize(size, resample=3).save(out, "PNG", optimize=True)  # 3: bicubic
    return out.getvalue()


@functools.lru_cache(maxsize=256)
def dev_seal(name: str) -> bytes:
    """A round red specimen seal: the body's name around its rim, a star and "MẪU" inside."""
    from PIL import Image, ImageDraw

    size, centre = 600, 300
    seal = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(seal)
    for radius, width in ((292, 12), (268, 4), (165, 4)):
        draw.ellipse((centre - radius, centre - radius, centre + radius, centre + radius),
                     outline=SEAL_RED, width=width)
    text = name.upper()
    font = _font("LiberationSerif-Bold.ttf", 44)
    spread = min(320.0, 13.0 * len(text))  # the arc the name takes, in degrees
    for index, char in enumerate(text):
        angle = -spread / 2 + spread * (index + 0.5) / len(text)
        glyph = Image.new("RGBA", (60, 60), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((30, 30), char, font=font, fill=SEAL_RED, anchor="mm")
        glyph = glyph.rotate(-angle, resample=Image.BICUBIC)
        x = centre + 217 * math.sin(math.radians(angle))
        y = centre - 217 * math.cos(math.radians(angle))
        seal.alpha_composite(glyph, (round(x - 30), round(y - 30)))
    star = [(centre + r * math.sin(math.radians(36 * i)),
             centre - 30 - r * math.cos(math.radians(36 * i)))
            for i, r in enumerate([70.0, 28.0] * 5)]
    draw.polygon(star, fill=SEAL_RED)
    draw.text((centre, centre + 85), "MẪU", font=_font("LiberationSerif-Bold.ttf", 50),
              fill=SEAL_RED, anchor="mm")
    return _png(seal, (400, 400))  # 34 mm


@functools.lru_cache(maxsize=256)
def dev_signature(name: str) -> bytes:
    """A blue handwritten-looking specimen signature of the person's given name."""
    from PIL import Image, ImageDraw

    given = name.split()[-1] if name.split() else name
    image = Image.new("RGBA", (720, 360), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    size = 230  # as large as fits: the ink spans the image, the seal covers its left third
    while size > 60 and draw.textlength(given, font=_font(SCRIPT, size)) > 600:
        size -= 10
    draw.text((360, 160), given, font=_font(SCRIPT, size), fill=SIGNATURE_BLUE, anchor="mm")
    curve = [(60 + 600 * t, 250 + 40 * math.sin(math.pi * 2.2 * t) - 60 * t)
             for t in (i / 40 for i in range(41))]
    draw.line(curve, fill=SIGNATURE_BLUE, width=7, joint="curve")
    draw.text((360, 320), "MẪU", font=_font("LiberationSerif-Bold.ttf", 34),
              fill=SIGNATURE_BLUE, anchor="mm")
    return _png(image, (480, 240))  # 40 × 20 mm
