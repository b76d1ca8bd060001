"""Pillow helpers shared by image preparation (kyc.images) and the local engine."""

from __future__ import annotations

from PIL import Image


def to_rgb(image: Image.Image) -> Image.Image:
    """A decoded RGB copy for every mode (RGBA, L, CMYK, P, I;16 ...), with transparency laid over
    white: the vendors and the face detector take RGB, and a transparent background would turn
    black. Always a new, fully decoded image, so a truncated file fails here, where callers
    expect it."""
    if image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")
