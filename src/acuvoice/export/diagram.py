"""Draw the companion sheet's body diagram: a front and a back figure with the points marked."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from acuvoice.points.model import DiagramSpot

#: Fill of the point markers; used nowhere else on the sheet, so a screenshot can find it.
MARKER_COLOR = "#d6246e"
#: Body outline and fill: dark line, light fill, so the figure prints on any printer.
OUTLINE_COLOR = "#3b4754"
FILL_COLOR = "#e8eef4"
HAIR_COLOR = "#c3cdd8"
LABEL_COLOR = "#1f2933"
LEADER_COLOR = "#8795a1"

# Figure box in SVG units; a spot's x, y (0..1) are fractions of this box.
_FIG_W = 300.0
_FIG_H = 500.0
_LABEL_COL = 60.0  # width of the label column on each side of a figure
_CROP = 0.16  # the body fills x 0.2..0.8 of its box; the margins outside are not drawn
_SHOWN_W = _FIG_W * (1 - 2 * _CROP)
_PANEL_W = _SHOWN_W + 2 * _LABEL_COL
_GAP = 10.0
_TOP = 34.0  # room for the "Front" / "Back" heading
_BOTTOM = 12.0
_OUTLINE_PX = 1.6
_MARKER_R = 5.0
_LABEL_GAP = 15.5  # least vertical distance between two labels in a column
_VIEWS = ("front", "back")

Pt = tuple[float, float]


@dataclass(frozen=True, slots=True)
class _Ellipse:
    c: Pt
    rx: float
    ry: float


@dataclass(frozen=True, slots=True)
class _Limb:
    """A tapered limb segment: a circle at each end and the band between them (radii in x units)."""

    a: Pt
    ra: float
    b: Pt
    rb: float


@dataclass(frozen=True, slots=True)
class _Blob:
    """A smooth closed outline through the given points."""

    points: tuple[Pt, ...]


_Shape = _Ellipse | _Limb | _Blob


def _mirror(p: Pt) -> Pt:
    return (1.0 - p[0], p[1])


def _both_sides(shapes: Sequence[_Shape]) -> list[_Shape]:
    """The shapes drawn for the viewer's left half, and their mirror images."""
    out: list[_Shape] = []
    for s in shapes:
        out.append(s)
        if isinstance(s, _Ellipse):
            out.append(_Ellipse(_mirror(s.c), s.rx, s.ry))
        elif isinstance(s, _Limb):
            out.append(_Limb(_mirror(s.a), s.ra, _mirror(s.b), s.rb))
        else:
            out.append(_Blob(tuple(_mirror(p) for p in s.points)))
    return out


# The torso outline down the viewer's left side; the right side is its mirror image.
_TORSO_LEFT: tuple[Pt, ...] = (
    (0.462, 0.140),
    (0.412, 0.157),
    (0.362, 0.176),
    (0.342, 0.205),
    (0.350, 0.255),
    (0.366, 0.315),
    (0.390, 0.385),
    (0.383, 0.430),
    (0.372, 0.475),
    (0.378, 0.515),
    (0.420, 0.545),
    (0.480, 0.552),
)
_TORSO = _Blob(_TORSO_LEFT + tuple(_mirror(p) for p in reversed(_TORSO_LEFT)))

# Limbs of the viewer's left half, in the anatomical position (palms forward).
_LIMBS: tuple[_Shape, ...] = (
    _Limb((0.362, 0.207), 0.044, (0.293, 0.350), 0.030),  # upper arm
    _Limb((0.293, 0.350), 0.029, (0.277, 0.488), 0.019),  # forearm
    _Limb((0.271, 0.507), 0.029, (0.262, 0.572), 0.021),  # hand
    _Limb((0.437, 0.515), 0.060, (0.452, 0.735), 0.036),  # thigh
    _Limb((0.452, 0.735), 0.036, (0.447, 0.805), 0.038),  # calf
    _Limb((0.447, 0.805), 0.038, (0.451, 0.945), 0.019),  # shin to ankle
)
_THUMB = _Limb((0.248, 0.505), 0.012, (0.229, 0.548), 0.010)
_FOOT_FRONT = _Ellipse((0.443, 0.975), 0.036, 0.022)
_HEEL_BACK = _Ellipse((0.451, 0.974), 0.027, 0.021)
_EAR = _Ellipse((0.430, 0.068), 0.012, 0.020)
_HEAD = _Ellipse((0.5, 0.063), 0.066, 0.058)
_NECK = _Limb((0.5, 0.100), 0.040, (0.5, 0.152), 0.042)


def _shapes(view: str) -> list[_Shape]:
    left: list[_Shape] = [*_LIMBS, _THUMB, _EAR]
    left.append(_FOOT_FRONT if view == "front" else _HEEL_BACK)
    return [_NECK, _TORSO, *_both_sides(left), _HEAD]


@dataclass(frozen=True, slots=True)
class _Frame:
    """Maps a figure's normalized coordinates into the SVG."""

    ox: float
    oy: float

    def xy(self, p: Pt) -> Pt:
        return (self.ox + p[0] * _FIG_W, self.oy + p[1] * _FIG_H)

    def r(self, fraction: float) -> float:
        return fraction * _FIG_W


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _smooth_path(points: Sequence[Pt]) -> str:
    """A closed Catmull-Rom curve through ``points``, as cubic Bezier path data."""
    n = len(points)
    out = [f"M{_num(points[0][0])},{_num(points[0][1])}"]
    for i in range(n):
        p0, p1, p2, p3 = (points[(i + k) % n] for k in (-1, 0, 1, 2))
        c1 = (p1[0] + (p2[0] - p0[0]) / 6, p1[1] + (p2[1] - p0[1]) / 6)
        c2 = (p2[0] - (p3[0] - p1[0]) / 6, p2[1] - (p3[1] - p1[1]) / 6)
        out.append(
            f"C{_num(c1[0])},{_num(c1[1])} {_num(c2[0])},{_num(c2[1])} {_num(p2[0])},{_num(p2[1])}"
        )
    return "".join(out) + "Z"


def _limb_path(a: Pt, ra: float, b: Pt, rb: float) -> str:
    """The band between two circles (tangent points approximated by the normals)."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = math.hypot(dx, dy) or 1.0
    nx, ny = -dy / length, dx / length
    corners = (
        (a[0] + nx * ra, a[1] + ny * ra),
        (b[0] + nx * rb, b[1] + ny * rb),
        (b[0] - nx * rb, b[1] - ny * rb),
        (a[0] - nx * ra, a[1] - ny * ra),
    )
    return "M" + "L".join(f"{_num(x)},{_num(y)}" for x, y in corners) + "Z"


def _shape_svg(shape: _Shape, frame: _Frame) -> list[str]:
    if isinstance(shape, _Ellipse):
        cx, cy = frame.xy(shape.c)
        return [
            f'<ellipse cx="{_num(cx)}" cy="{_num(cy)}" rx="{_num(frame.r(shape.rx))}" '
            f'ry="{_num(shape.ry * _FIG_H)}"/>'
        ]
    if isinstance(shape, _Limb):
        a, b = frame.xy(shape.a), frame.xy(shape.b)
        ra, rb = frame.r(shape.ra), frame.r(shape.rb)
        return [
            f'<circle cx="{_num(a[0])}" cy="{_num(a[1])}" r="{_num(ra)}"/>',
            f'<circle cx="{_num(b[0])}" cy="{_num(b[1])}" r="{_num(rb)}"/>',
            f'<path d="{_limb_path(a, ra, b, rb)}"/>',
        ]
    return [f'<path d="{_smooth_path([frame.xy(p) for p in shape.points])}"/>']


def _line(frame: _Frame, a: Pt, b: Pt) -> str:
    (x1, y1), (x2, y2) = frame.xy(a), frame.xy(b)
    return f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}"/>'


def _curve(frame: _Frame, a: Pt, c: Pt, b: Pt) -> str:
    (x1, y1), (cx, cy), (x2, y2) = frame.xy(a), frame.xy(c), frame.xy(b)
    return f'<path d="M{_num(x1)},{_num(y1)}Q{_num(cx)},{_num(cy)} {_num(x2)},{_num(y2)}"/>'


def _details(view: str, frame: _Frame) -> list[str]:
    """Light landmark lines that tell the front from the back."""
    out: list[str] = []
    if view == "front":
        out.append(_curve(frame, (0.437, 0.045), (0.5, -0.012), (0.563, 0.045)))  # hairline
        for side in (1, -1):
            x = 0.5 + side * 0.03
            out.append(
                _curve(frame, (0.5 + side * 0.01, 0.163), (x, 0.170), (0.5 + side * 0.09, 0.170))
            )
            out.append(
                _curve(
                    frame,
                    (0.5 + side * 0.028, 0.748),
                    (0.5 + side * 0.048, 0.726),
                    (0.5 + side * 0.068, 0.748),
                )
            )  # knee
        cx, cy = frame.xy((0.5, 0.392))
        out.append(f'<circle cx="{_num(cx)}" cy="{_num(cy)}" r="1.6"/>')  # navel
        out.append(_line(frame, (0.5, 0.505), (0.5, 0.545)))
    else:
        out.append(_line(frame, (0.5, 0.165), (0.5, 0.47)))  # spine
        out.append(_line(frame, (0.5, 0.47), (0.5, 0.535)))  # cleft of the buttocks
        for side in (1, -1):
            out.append(
                _curve(
                    frame,
                    (0.5 + side * 0.035, 0.215),
                    (0.5 + side * 0.085, 0.275),
                    (0.5 + side * 0.115, 0.225),
                )
            )  # shoulder blade
            out.append(
                _curve(
                    frame,
                    (0.5 + side * 0.012, 0.532),
                    (0.5 + side * 0.07, 0.545),
                    (0.5 + side * 0.118, 0.515),
                )
            )  # fold of the buttock
            out.append(
                _line(frame, (0.5 + side * 0.030, 0.733), (0.5 + side * 0.066, 0.733))
            )  # crease of the knee
    return out


def _figure(view: str, frame: _Frame) -> list[str]:
    shapes = _shapes(view)
    parts = [f'<g class="figure figure-{view}">']
    # Every shape twice: first fattened in the outline colour, then filled on top, so the
    # outline follows the outside of the union and parts join without seams.
    parts.append(
        f'<g fill="{OUTLINE_COLOR}" stroke="{OUTLINE_COLOR}" '
        f'stroke-width="{_num(2 * _OUTLINE_PX)}" stroke-linejoin="round">'
    )
    for shape in shapes:
        parts += _shape_svg(shape, frame)
    parts.append("</g>")
    parts.append(f'<g fill="{FILL_COLOR}">')
    for shape in shapes:
        parts += _shape_svg(shape, frame)
    parts.append("</g>")
    if view == "back":  # hair covers the back of the head
        cx, cy = frame.xy(_HEAD.c)
        parts.append(
            f'<ellipse cx="{_num(cx)}" cy="{_num(cy - 1.5)}" rx="{_num(frame.r(_HEAD.rx) - 1.2)}" '
            f'ry="{_num(_HEAD.ry * _FIG_H - 2.5)}" fill="{HAIR_COLOR}"/>'
        )
    parts.append(
        f'<g fill="none" stroke="{OUTLINE_COLOR}" stroke-opacity="0.45" stroke-width="1.1" '
        'stroke-linecap="round">'
    )
    parts += _details(view, frame)
    parts.append("</g></g>")
    return parts


@dataclass(slots=True)
class _Label:
    code: str
    dot: Pt  # the dot the leader line points at
    y: float  # wanted, then nudged, baseline centre


def _spread(labels: list[_Label], top: float, bottom: float) -> None:
    """Nudge labels apart vertically, at least ``_LABEL_GAP`` between them, inside the column."""
    labels.sort(key=lambda lab: lab.y)
    if not labels:
        return
    labels[0].y = max(labels[0].y, top)
    for prev, cur in itertools.pairwise(labels):
        cur.y = max(cur.y, prev.y + _LABEL_GAP)
    labels[-1].y = min(labels[-1].y, bottom)
    for nxt, cur in itertools.pairwise(reversed(labels)):
        cur.y = min(cur.y, nxt.y - _LABEL_GAP)
    if labels[0].y < top:  # too many to fit: keep the order, squeeze evenly
        step = (bottom - top) / max(len(labels) - 1, 1)
        for i, lab in enumerate(labels):
            lab.y = top + i * step


def _panel(view: str, x0: float, points: Sequence[tuple[str, DiagramSpot, bool]]) -> list[str]:
    frame = _Frame(x0 + _LABEL_COL - _CROP * _FIG_W, _TOP)
    fig_left = x0 + _LABEL_COL
    fig_right = fig_left + _SHOWN_W
    parts = [
        f'<text class="view-title" x="{_num(x0 + _PANEL_W / 2)}" y="20" text-anchor="middle">'
        f"{'Front' if view == 'front' else 'Back'}</text>"
    ]
    parts += _figure(view, frame)
    # Which side is the listener's own: the front view shows it mirrored.
    near, far = ("Right", "Left") if view == "front" else ("Left", "Right")
    base = _TOP + _FIG_H - 2
    parts.append(
        f'<text class="side" x="{_num(fig_left + 2)}" y="{_num(base)}">{near}</text>'
        f'<text class="side" x="{_num(fig_right - 2)}" y="{_num(base)}" text-anchor="end">{far}</text>'
    )
    left: list[_Label] = []
    right: list[_Label] = []
    markers: list[str] = []
    for code, spot, paired in points:
        if spot.view != view:
            continue
        x = min(max(spot.x, 0.0), 1.0)
        y = min(max(spot.y, 0.0), 1.0)
        spots = [(x, y)]
        if paired and abs(x - 0.5) > 0.004:
            spots.append((1.0 - x, y))
        for sx, sy in spots:
            cx, cy = frame.xy((sx, sy))
            markers.append(
                f'<circle class="marker" data-code="{escape(code)}" cx="{_num(cx)}" cy="{_num(cy)}" '
                f'r="{_MARKER_R}"/>'
            )
        # One label per point: a paired point is labelled on the left, a midline one on the right.
        lx, ly = frame.xy(min(spots))
        column = left if lx < frame.ox + _FIG_W / 2 - 0.5 else right
        column.append(_Label(code, (lx, ly), ly))
    top, bottom = _TOP + 6, _TOP + _FIG_H - 2
    _spread(left, top, bottom)
    _spread(right, top, bottom)
    lines: list[str] = []
    texts: list[str] = []
    for labels, anchor, text_x in (
        (left, "end", fig_left - 4),
        (right, "start", fig_right + 4),
    ):
        edge = text_x + (4 if anchor == "end" else -4)
        for lab in labels:
            lines.append(
                f'<polyline points="{_num(lab.dot[0])},{_num(lab.dot[1])} '
                f'{_num(edge + (10 if anchor == "end" else -10))},{_num(lab.y)} {_num(edge)},{_num(lab.y)}"/>'
            )
            texts.append(
                f'<text class="label" x="{_num(text_x)}" y="{_num(lab.y + 4)}" '
                f'text-anchor="{anchor}">{escape(lab.code)}</text>'
            )
    parts.append(
        f'<g class="leaders" fill="none" stroke="{LEADER_COLOR}" stroke-width="0.9">'
        + "".join(lines)
        + "</g>"
    )
    parts.append(
        f'<g class="markers" fill="{MARKER_COLOR}" stroke="#ffffff" stroke-width="1.6">'
        + "".join(markers)
        + "</g>"
    )
    parts.append(f'<g class="labels" fill="{LABEL_COLOR}">' + "".join(texts) + "</g>")
    return parts


def body_diagram_svg(points: Sequence[tuple[str, DiagramSpot, bool]]) -> str:
    """An inline SVG of a standing figure from the front and the back, with points marked.

    Args:
        points: ``(code, spot, paired)`` for each point. ``spot.x`` and ``spot.y`` are
            fractions of the figure's box; a paired point is given on the viewer's left half
            and is drawn on both sides. Each point gets one label, its code.

    Returns:
        An ``<svg>`` element (no XML declaration) that scales to the width of its container.
    """
    width = 2 * _PANEL_W + _GAP
    height = _TOP + _FIG_H + _BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="body-diagram" viewBox="0 0 {_num(width)} '
        f'{_num(height)}" role="img" aria-labelledby="diagram-title">',
        '<title id="diagram-title">Where the points are, seen from the front and from the back'
        "</title>",
        "<style>.view-title{font:600 14px system-ui,sans-serif;fill:#3b4754;letter-spacing:.06em;"
        "text-transform:uppercase}.label{font:700 13px system-ui,sans-serif}"
        ".side{font:italic 11px system-ui,sans-serif;fill:#7b8794}</style>",
    ]
    for i, view in enumerate(_VIEWS):
        parts += _panel(view, i * (_PANEL_W + _GAP), points)
    parts.append("</svg>")
    return "\n".join(parts)


def _inside(shape: _Shape, x: float, y: float, slack: float) -> bool:
    """Whether the figure point ``(x, y)``, in SVG units, lies in ``shape`` (give or take ``slack``)."""
    if isinstance(shape, _Ellipse):
        cx, cy = shape.c[0] * _FIG_W, shape.c[1] * _FIG_H
        rx, ry = shape.rx * _FIG_W + slack, shape.ry * _FIG_H + slack
        return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1.0
    if isinstance(shape, _Limb):
        ax, ay = shape.a[0] * _FIG_W, shape.a[1] * _FIG_H
        bx, by = shape.b[0] * _FIG_W, shape.b[1] * _FIG_H
        dx, dy = bx - ax, by - ay
        t = max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
        r = (shape.ra + t * (shape.rb - shape.ra)) * _FIG_W + slack
        return math.hypot(x - (ax + t * dx), y - (ay + t * dy)) <= r
    poly = [(px * _FIG_W, py * _FIG_H) for px, py in shape.points]
    inside = False
    for (x1, y1), (x2, y2) in itertools.pairwise([*poly, poly[0]]):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    if inside or slack <= 0:
        return inside
    return any(math.hypot(x - px, y - py) <= slack for px, py in poly)


def on_figure(spot: DiagramSpot, slack: float = 2.0) -> bool:
    """Whether a diagram spot lands on the drawn body (within ``slack`` SVG units of it).

    A spot with a view other than front or back is never on the figure.
    """
    if spot.view not in _VIEWS:
        return False
    x, y = spot.x * _FIG_W, spot.y * _FIG_H
    return any(_inside(shape, x, y, slack) for shape in _shapes(spot.view))


__all__ = ["MARKER_COLOR", "body_diagram_svg", "on_figure"]
