"""Generate a calm square cover image (PNG) for a session, deterministically from its title."""

from __future__ import annotations

import colorsys
import functools
import hashlib
import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from acuvoice.errors import ExportError

#: Base hues (degrees) that stay calm when muted; olive and mustard tones look muddy, so are left out.
_HUES = (150, 168, 186, 200, 214, 228, 242, 258, 276, 296, 322, 344)
_INK = (246, 241, 231)  # warm off-white
_MAX_TITLE_LINES = 4
_MAX_SUBTITLE_LINES = 2
FloatArray = npt.NDArray[np.floating[Any]]
#: Centre of the ripple motif, as fractions of the side.
_MOTIF = (0.5, 0.31)


@dataclass(frozen=True, slots=True)
class _Block:
    """Wrapped lines of one text, in a font, with the distance between baselines."""

    lines: tuple[str, ...]
    font: ImageFont.FreeTypeFont
    line_height: int

    @property
    def height(self) -> int:
        if not self.lines:
            return 0
        ascent, descent = self.font.getmetrics()
        return self.line_height * (len(self.lines) - 1) + ascent + descent


#: Rows drawn at a time.
_STRIP = 128


def generate_cover(title: str, subtitle: str = "", *, size: int = 1400) -> bytes:
    """A square PNG cover: a soft gradient, a ripple motif, the title, the subtitle, "acuvoice".

    The colours come from a hash of the title, so the same arguments give the same bytes
    (kept for the next call in this process);
    the text is set in the font built into Pillow, so covers look alike on every machine.
    Long titles are set smaller until they fit in four lines inside the margins; past the
    smallest size they are cut with an ellipsis.

    Args:
        title: The routine's title, set large.
        subtitle: A shorter line set small under the title (optional).
        size: Width and height in pixels (Apple Podcasts wants 1400 to 3000).

    Returns:
        PNG data.

    Raises:
        ExportError: ``size`` is too small, or Pillow was built without FreeType.
    """
    if size < 200:
        raise ExportError(f"a cover must be at least 200 px square, not {size}")
    return _cover(" ".join(title.split()), " ".join(subtitle.split()), size)


@functools.lru_cache(maxsize=8)
def _cover(title: str, subtitle: str, size: int) -> bytes:
    """The cover's PNG, drawn once per process for each title (a third of a second of CPU:
    a batch worker or the web server renders the same routine in many variants)."""
    digest = hashlib.sha256(title.encode("utf-8")).digest()
    hue = (_HUES[digest[0] % len(_HUES)] + (digest[1] / 255 - 0.5) * 10) / 360

    ink = np.array(_INK, dtype=np.float32) / 255.0
    pixels = np.empty((size, size, 3), dtype=np.uint8)
    # A strip of rows at a time: whole-image float temporaries would cost ~85 MB at 1400 px.
    for top in range(0, size, _STRIP):
        rows = slice(top, min(size, top + _STRIP))
        rgb = _background(size, hue, rows)
        alpha = _ripples(size, rows)[..., None]
        rgb = rgb * (1.0 - alpha) + ink * alpha
        pixels[rows] = np.round(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    # Text goes on its own layer: drawing translucent text straight onto RGB ignores alpha.
    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    _text(ImageDraw.Draw(layer), title, subtitle, size)
    image = Image.alpha_composite(image.convert("RGBA"), layer).convert("RGB")

    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _background(size: int, hue: float, rows: slice) -> FloatArray:
    """A gradient from a muted mid tone (top left) to a deep one, lighter behind the motif."""
    top = np.array(colorsys.hls_to_rgb(hue, 0.36, 0.30), dtype=np.float32)
    bottom = np.array(colorsys.hls_to_rgb((hue + 0.05) % 1.0, 0.15, 0.34), dtype=np.float32)
    glow = np.array(colorsys.hls_to_rgb(hue, 0.52, 0.28), dtype=np.float32)
    y, x = _grid(size, rows)
    diagonal = (y * 0.7 + x * 0.3)[..., None]
    rgb = top * (1.0 - diagonal) + bottom * diagonal
    near = (np.exp(-((x - _MOTIF[0]) ** 2 + (y - _MOTIF[1]) ** 2) / 0.06) * 0.45)[..., None]
    result: FloatArray = rgb * (1.0 - near) + glow * near
    return result


def _ripples(size: int, rows: slice) -> FloatArray:
    """Coverage (0..1) of rings spreading from a pressed point, fading as they widen.

    Drawn as anti-aliased distance fields: Pillow's own circles have jagged edges.
    """
    y, x = _grid(size, rows)
    dist = np.hypot(x - _MOTIF[0], y - _MOTIF[1]) * size
    half_width = max(0.75, size * 0.0016)
    coverage: FloatArray = np.zeros(dist.shape, dtype=np.float32)

    def over(shape: FloatArray, alpha: float) -> None:
        nonlocal coverage
        coverage = coverage + (1.0 - coverage) * shape * alpha

    rings = 6
    for k in range(1, rings + 1):
        radius = size * 0.034 * k**1.12
        strength = (100 * (1 - (k - 1) / rings) ** 1.6 + 8) / 255
        over(np.clip(half_width + 0.5 - np.abs(dist - radius), 0.0, 1.0), strength)
    over(np.clip(size * 0.034 + 0.5 - dist, 0.0, 1.0), 38 / 255)
    over(np.clip(size * 0.017 + 0.5 - dist, 0.0, 1.0), 235 / 255)
    return coverage


def _grid(size: int, rows: slice) -> tuple[FloatArray, FloatArray]:
    """Pixel-centre coordinates as fractions of the side: a column of y (of ``rows``) and a
    row of x."""
    axis = (np.arange(size, dtype=np.float32) + 0.5) / size
    return axis[rows, None], axis[None, :]


def _text(draw: ImageDraw.ImageDraw, title: str, subtitle: str, size: int) -> None:
    """Title and subtitle centred in the lower half; the brand at the foot."""
    margin = round(size * 0.09)
    width = size - 2 * margin
    top, bottom = round(size * 0.555), round(size * 0.865)
    gap = round(size * 0.03)

    sub = _fit(subtitle, width, size * 0.038, size * 0.026, _MAX_SUBTITLE_LINES)
    room = bottom - top - (sub.height + gap if sub.lines else 0)
    head = _fit(title, width, size * 0.086, size * 0.036, _MAX_TITLE_LINES, room)
    total = head.height + (gap + sub.height if sub.lines and head.lines else sub.height)
    y = top + (bottom - top - total) // 2
    y = _draw_block(draw, head, size // 2, y, (*_INK, 255))
    if head.lines and sub.lines:
        rule = round(size * 0.03)
        mid = y + gap // 2
        draw.line((size // 2 - rule, mid, size // 2 + rule, mid), fill=(*_INK, 110),
                  width=max(1, round(size * 0.0012)))  # fmt: skip
        y += gap
    _draw_block(draw, sub, size // 2, y, (*_INK, 200))

    brand = _font(round(size * 0.022))
    _draw_tracked(draw, "acuvoice", brand, size // 2, size - margin, (*_INK, 165))


def _fit(
    text: str,
    width: int,
    largest: float,
    smallest: float,
    max_lines: int,
    max_height: float | None = None,
) -> _Block:
    """Wrap ``text`` in the largest font size that fits ``max_lines`` and ``max_height``."""
    if not text:
        return _Block((), _font(round(smallest)), 0)
    step = max(1, round(largest / 40))
    px = round(largest)
    while px > smallest:
        block = _wrap(text, _font(px), width, max_lines, break_words=False)
        if block is not None and (max_height is None or block.height <= max_height):
            return block
        px -= step
    block = _wrap(text, _font(round(smallest)), width, max_lines, break_words=True)
    assert block is not None  # breaking words and cutting lines always fits
    return block


def _wrap(
    text: str, font: ImageFont.FreeTypeFont, width: int, max_lines: int, *, break_words: bool
) -> _Block | None:
    """Greedy word wrap; ``None`` if it needs more lines, or a word is wider than a line.

    With ``break_words``, over-wide words are split and text past ``max_lines`` is cut with
    an ellipsis, so the result always fits.
    """
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if font.getlength(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = word
        while font.getlength(line) > width:
            if not break_words:
                return None
            cut = len(line) - 1
            while cut > 1 and font.getlength(line[:cut]) > width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
    lines.append(line)
    if len(lines) > max_lines:
        if not break_words:
            return None
        last = lines[max_lines - 1]
        while last and font.getlength(last + "…") > width:
            last = last.rsplit(" ", 1)[0] if " " in last else last[:-1]
        lines = [*lines[: max_lines - 1], last + "…"]
    return _Block(tuple(lines), font, round(font.size * 1.2))


def _draw_block(
    draw: ImageDraw.ImageDraw, block: _Block, x: int, top: int, fill: tuple[int, int, int, int]
) -> int:
    """Draw centred lines from ``top``; returns the y below the last line."""
    if not block.lines:
        return top
    ascent, _ = block.font.getmetrics()
    for i, line in enumerate(block.lines):
        draw.text((x, top + ascent + i * block.line_height), line, font=block.font, fill=fill,
                  anchor="ms")  # fmt: skip
    return top + block.height


def _draw_tracked(
    draw: ImageDraw.ImageDraw,
    text: str,
    font: ImageFont.FreeTypeFont,
    x: int,
    baseline: int,
    fill: tuple[int, int, int, int],
) -> None:
    """Draw letter-spaced text centred on ``x``."""
    tracking = font.size * 0.28
    widths = [font.getlength(ch) for ch in text]
    left = x - (sum(widths) + tracking * (len(text) - 1)) / 2
    for ch, w in zip(text, widths, strict=True):
        draw.text((left, baseline), ch, font=font, fill=fill, anchor="ls")
        left += w + tracking


@functools.lru_cache(maxsize=64)
def _font(px: int) -> ImageFont.FreeTypeFont:
    """Pillow's built-in scalable font (Aileron) at ``px`` pixels."""
    font = ImageFont.load_default(size=px)
    if not isinstance(font, ImageFont.FreeTypeFont):
        raise ExportError(
            "cannot draw the cover: this Pillow was built without FreeType; "
            "reinstall Pillow from a wheel (pip install --force-reinstall pillow)"
        )
    return font
