"""Two synthetic, face-like sample images for "Test connection", drawn with Pillow at run time.

They are drawings, not photographs of anyone: the shared face photos may not be shipped (their
licence forbids it) and a connection test must never send a real person's face to a vendor.
A vendor that runs a real face detector may answer "no face" for them — that is still an answer,
proving the endpoint, the credentials and the signing work. Against the sandboxes a scripted
score decides the outcome.

Both are 640 x 800 px: inside every backend's documented size limits (Alibaba's 640 x 480 minimum
is the tightest, VENDOR-PROTOCOLS §4.5), so preparation never refuses them.
"""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFilter

WIDTH, HEIGHT = 640, 800
SKIN = (224, 182, 150)
SKIN_SHADE = (196, 150, 118)
HAIR = (72, 50, 38)


def _gradient(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    image = Image.new("RGB", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(image)
    for y in range(HEIGHT):
        t = y / (HEIGHT - 1)
        colour = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        draw.line([(0, y), (WIDTH, y)], fill=colour)
    return image


def _face(
    background: Image.Image, *, dx: int = 0, dy: int = 0, scale: float = 1.0, smile: int = 18
) -> bytes:
    image = background.copy()
    draw = ImageDraw.Draw(image)
    cx, cy = WIDTH // 2 + dx, 360 + dy

    def box(x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
        return (
            round(cx + x0 * scale),
            round(cy + y0 * scale),
            round(cx + x1 * scale),
            round(cy + y1 * scale),
        )

    # Shoulders and neck first, so the head overlaps them.
    draw.ellipse(box(-260, 300, 260, 700), fill=(60, 78, 110))
    draw.rectangle(box(-55, 150, 55, 330), fill=SKIN_SHADE)
    # Hair behind the head, the head, then the fringe.
    draw.ellipse(box(-175, -230, 175, 120), fill=HAIR)
    draw.ellipse(box(-190, -40, -140, 50), fill=SKIN_SHADE)  # ears
    draw.ellipse(box(140, -40, 190, 50), fill=SKIN_SHADE)
    draw.ellipse(box(-150, -190, 150, 210), fill=SKIN)
    draw.chord(box(-160, -215, 160, -40), 180, 360, fill=HAIR)
    # Eyebrows, eyes (white, iris, pupil, highlight).
    for side in (-1, 1):
        ex = 62 * side
        brow = max(3, round(7 * scale))
        draw.arc(box(ex - 42, -82, ex + 42, -50), 200, 340, fill=HAIR, width=brow)
        draw.ellipse(box(ex - 34, -30, ex + 34, 4), fill=(250, 250, 248), outline=SKIN_SHADE)
        draw.ellipse(box(ex - 15, -28, ex + 15, 2), fill=(84, 110, 72))
        draw.ellipse(box(ex - 7, -20, ex + 7, -6), fill=(20, 20, 20))
        draw.ellipse(box(ex + 2, -22, ex + 7, -17), fill=(255, 255, 255))
    # Nose and nostrils.
    bridge = box(0, -10, 8, 62)
    draw.line([bridge[:2], bridge[2:]], fill=SKIN_SHADE, width=4)
    draw.arc(box(-26, 48, 26, 78), 20, 160, fill=SKIN_SHADE, width=4)
    # Mouth: lips and a smile of `smile` px.
    draw.chord(box(-50, 100, 50, 100 + smile * 2), 0, 180, fill=(170, 84, 84))
    seam = box(-50, 100, 50, 100)
    draw.line([seam[:2], seam[2:]], fill=(120, 56, 56), width=3)
    # A little blur so edges look like a photo rather than vector art.
    image = image.filter(ImageFilter.GaussianBlur(1.2))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


@lru_cache(maxsize=1)
def sample_pair() -> tuple[bytes, bytes]:
    """(selfie, reference): the same drawn "person", as a selfie and as an ID-style photo."""
    selfie = _face(_gradient((206, 214, 222), (150, 160, 172)), dx=8, dy=6, scale=1.04, smile=20)
    reference = _face(_gradient((232, 240, 248), (205, 220, 236)), dx=-4, scale=0.96, smile=12)
    return selfie, reference
