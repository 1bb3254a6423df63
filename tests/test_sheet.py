"""The companion sheet: its HTML content, the body diagram, a real screenshot and the PDF."""

from __future__ import annotations

import itertools
import re
import stat
import subprocess
import tempfile
import time
from collections import Counter
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from acuvoice.compiler import CompileOptions, compile_timeline
from acuvoice.errors import ExportError
from acuvoice.export import sheet as sheet_module
from acuvoice.export.diagram import MARKER_COLOR, body_diagram_svg
from acuvoice.export.sheet import browser_flags, find_browser, render_sheet, write_sheet_pdf
from acuvoice.measure import WordsPerMinute
from acuvoice.phrases import load_catalog
from acuvoice.points.library import PointLibrary
from acuvoice.points.model import DiagramSpot
from acuvoice.routine.loader import load_routine
from acuvoice.routine.model import Routine
from acuvoice.timeline import EventKind, Timeline
from acuvoice.units import format_ms, round_ms

from .conftest import WriteRoutine
from .support import require

VOID = {"meta", "link", "br", "hr", "img", "input", "source", "wbr", "col", "area", "base"}


class Page(HTMLParser):
    """Checks that tags nest and close, and collects ids and text by element id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str | None]] = []
        self.ids: Counter[str] = Counter()
        self.errors: list[str] = []
        self.text_by_id: dict[str, list[str]] = {}
        self.tags: Counter[str] = Counter()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        ident = dict(attrs).get("id")
        if ident:
            self.ids[ident] += 1
            self.text_by_id.setdefault(ident, [])
        if tag not in VOID:
            self.stack.append((tag, ident))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1  # <circle .../> in the SVG: opens and closes at once

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1][0] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        for _, ident in self.stack:
            if ident:
                self.text_by_id[ident].append(data)

    def text(self, ident: str) -> str:
        return " ".join(" ".join(self.text_by_id[ident]).split())


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def compiled(
    name: str, library: PointLibrary, avoid: tuple[str, ...] = ()
) -> tuple[Timeline, Routine]:
    routine = load_routine(name, library=library)
    timeline = compile_timeline(
        routine, library.with_points(routine.points), WordsPerMinute(), CompileOptions(avoid=avoid)
    )
    return timeline, routine


@pytest.fixture(scope="module")
def back(library: PointLibrary) -> tuple[Timeline, Routine, str]:
    timeline, routine = compiled("lower-back-pain", library)
    return timeline, routine, render_sheet(timeline, routine, library, audio_name="back.mp3")


def clock(ms: int) -> str:
    return format_ms(round_ms(ms / 1000) * 1000)


def card(html: str, code: str) -> str:
    match = re.search(rf'<li class="point" id="point-{re.escape(code)}">.*?</dl></li>', html, re.S)
    assert match, f"no card for {code}"
    return match.group(0)


# ---------------------------------------------------------------------------- content


def test_the_page_is_well_formed_with_every_section(back: tuple[Timeline, Routine, str]) -> None:
    _, _, html = back
    assert html.startswith("<!DOCTYPE html>")
    page = parse(html)
    assert page.errors == []
    assert page.stack == []
    for ident in ("top", "safety", "cautions", "diagram", "chapters", "notes", "points"):
        assert page.ids[ident] == 1, ident
    assert page.ids["sources"] == 1 and page.ids["footer"] == 1
    assert all(n == 1 for n in page.ids.values()), "ids are unique"
    assert page.tags["svg"] == 1 and page.tags["script"] == 0
    assert "Lower back relief" in page.text("top") and "15:00" in page.text("top")
    assert "back.mp3" in page.text("top") and "CC-BY-4.0" in page.text("top")
    # Self-contained: nothing is loaded from anywhere (links in the sources are only links).
    assert not re.search(r"\ssrc=|<link|@import|url\(", html)


def test_every_pressed_point_is_described_once_in_session_order(
    back: tuple[Timeline, Routine, str], library: PointLibrary
) -> None:
    timeline, _, html = back
    codes = list(dict.fromkeys(h.point for h in timeline.of_kind(EventKind.HOLD)))
    assert len(codes) == 6
    positions = [html.index(f'id="point-{code}"') for code in codes]
    assert positions == sorted(positions)
    page = parse(html)
    for code in codes:
        assert code is not None
        point = library.get(code)
        assert html.count(f'id="point-{code}"') == 1
        text = page.text(f"point-{code}")
        assert code in text and point.name in text and point.location in text
        if point.english:
            assert point.english in text
        if point.caution:
            assert point.caution in text


def test_hold_times_come_from_the_timeline(back: tuple[Timeline, Routine, str]) -> None:
    timeline, _, html = back
    holds = timeline.of_kind(EventKind.HOLD)
    for code in ("BL23", "BL52", "BL25", "BL40"):
        [hold] = [h for h in holds if h.point == code]
        assert f"{clock(hold.duration_ms)}, both sides at once" in card(html, code)
    for code in ("GB30", "BL60"):
        left, right = [h for h in holds if h.point == code]
        assert (left.side, right.side) == ("left", "right")
        assert f"{clock(left.duration_ms)} per side" in card(html, code)
    # The fitted holds are not whole seconds; the sheet rounds to the nearest one.
    assert "0:45, both sides at once" in card(html, "BL23")
    assert "0:30 per side" in card(html, "GB30")


def test_chapters_are_listed_with_their_start_times(back: tuple[Timeline, Routine, str]) -> None:
    timeline, _, html = back
    section = html[html.index('<section id="chapters"') : html.index('<section id="notes"')]
    listed = re.findall(
        r'<time class="at">([^<]*)</time><div><h3 class="chapter-title">([^<]*)</h3>', section
    )
    assert listed == [(format_ms(c.start_ms), escape(c.title)) for c in timeline.chapters]
    assert ("2:25", "Points on the lower back") in listed


def test_safety_notice_cautions_red_flags_and_sources(
    back: tuple[Timeline, Routine, str],
) -> None:
    _, routine, html = back
    page = parse(html)
    assert load_catalog("en").say("safety_notice") in page.text("safety")
    assert "Not suitable with pregnancy" in page.text("cautions")
    # The routine's own words carry the red flags.
    assert "numbness around your genitals" in page.text("notes")
    sources = page.text("sources")
    for source in routine.sources:
        assert " ".join(source.split()) in sources
    assert '<a href="https://www.nice.org.uk/guidance/ng59">' in html
    assert "https://takingcharge.csh.umn.edu/survivorship/acupressure-self-care</a>" in html
    footer = page.text("footer")
    assert "Self-care, not medical advice" in footer and "Made with acuvoice" in footer


def test_all_text_is_escaped(write_routine: WriteRoutine, library: PointLibrary) -> None:
    path = write_routine(
        """
        acuvoice: 1
        title: "<script>alert(1)</script> & friends"
        summary: "Summary with <b>bold</b>"
        author: "A <i>person</i>"
        sources: ["<img src=x onerror=alert(2)> https://example.org/a?b=1&c=<2>"]
        points:
          - code: MY1
            name: "<u>Mine</u>"
            location: "Under the <em>elbow</em>"
            caution: "Careful & <gentle>"
        steps:
          - chapter: "<h1>Start</h1>"
          - say: "Say <script>evil()</script> now."
          - press: BL23
            hold: 20s
            say: "Tip <marquee>"
          - press: MY1
            hold: 15s
        """
    )
    routine = load_routine(path, library=library)
    lib = library.with_points(routine.points)
    timeline = compile_timeline(routine, lib, WordsPerMinute(), CompileOptions())
    html = render_sheet(timeline, routine, lib, audio_name="<x>.mp3")
    for raw in (
        "<script",
        "<b>",
        "<i>",
        "<img",
        "<u>",
        "<em>",
        "<gentle>",
        "<marquee>",
        "<h1>Start",
    ):
        assert raw not in html, raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends" in html
    assert "Say &lt;script&gt;evil()&lt;/script&gt; now." in html
    assert "&lt;x&gt;.mp3" in html and "Under the &lt;em&gt;elbow&lt;/em&gt;" in html
    assert "Not shown on the diagram" in card(html, "MY1")
    page = parse(html)
    assert page.errors == [] and page.tags["script"] == 0


def test_points_left_out_for_the_profile_are_listed(library: PointLibrary) -> None:
    timeline, routine = compiled("neck-and-shoulders", library, avoid=("pregnancy",))
    assert {o.point for o in timeline.omitted} == {"GB21", "LI4"}
    html = render_sheet(timeline, routine, library)
    page = parse(html)
    omitted = page.text("omitted")
    assert "GB21 Jianjing: left out for your profile (pregnancy)" in omitted
    assert "LI4 Hegu: left out for your profile (pregnancy)" in omitted
    assert "points not advised with pregnancy are left out" in page.text("safety")
    for code in ("GB21", "LI4"):
        assert f'id="point-{code}"' not in html
        assert f'data-code="{code}"' not in html
    assert 'id="point-GB20"' in html and 'id="point-TE3"' in html


# ---------------------------------------------------------------------------- diagram


def test_one_marker_per_point_and_two_for_paired_points() -> None:
    svg = body_diagram_svg(
        [
            ("GV4", DiagramSpot("back", 0.5, 0.40), True),  # on the midline: one dot
            ("BL23", DiagramSpot("back", 0.47, 0.40), True),
            ("LI4", DiagramSpot("back", 0.24, 0.53), False),
            ("EX-HN3", DiagramSpot("front", 0.5, 0.05), False),
            ("ST36", DiagramSpot("front", 0.44, 0.77), True),
        ]
    )
    markers = Counter(re.findall(r'<circle class="marker" data-code="([^"]+)"', svg))
    assert markers == {"GV4": 1, "BL23": 2, "LI4": 1, "EX-HN3": 1, "ST36": 2}
    labels = re.findall(r'<text class="label"[^>]*>([^<]+)</text>', svg)
    assert sorted(labels) == sorted(markers)
    assert ">Front</text>" in svg and ">Back</text>" in svg
    assert MARKER_COLOR in svg
    # The mirrored dot of a paired point sits at the same height, mirrored about the midline.
    xs = [float(x) for x in re.findall(r'data-code="BL23" cx="([\d.]+)"', svg)]
    mid = sum(xs) / 2
    gv4 = float(re.findall(r'data-code="GV4" cx="([\d.]+)"', svg)[0])
    assert abs(mid - gv4) < 0.2


def test_labels_are_nudged_apart() -> None:
    spots = [(f"P{i}", DiagramSpot("back", 0.45, 0.40), True) for i in range(8)]
    svg = body_diagram_svg(spots)
    ys = sorted(float(y) for y in re.findall(r'<text class="label" x="[\d.]+" y="([\d.]+)"', svg))
    assert len(ys) == 8
    assert all(b - a >= 14 for a, b in itertools.pairwise(ys))


def test_the_sheet_diagram_marks_the_sessions_points(
    back: tuple[Timeline, Routine, str],
) -> None:
    _, _, html = back
    markers = Counter(re.findall(r'<circle class="marker" data-code="([^"]+)"', html))
    assert markers == {"BL23": 2, "BL52": 2, "BL25": 2, "GB30": 2, "BL40": 2, "BL60": 2}


# ---------------------------------------------------------------------------- browser


def _hex(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


@pytest.fixture
def browser() -> str:
    """Chromium or Chrome, as the sheet finds it; skip here (fail in CI) without one."""
    found = find_browser()
    require(found, "Chromium (or Chrome)", "sudo apt-get install chromium")
    assert found is not None
    return found


def test_screenshot_shows_the_page_and_the_diagram(
    back: tuple[Timeline, Routine, str], tmp_path: Path, browser: str
) -> None:
    from PIL import Image

    _, _, html = back
    page = tmp_path / "sheet.html"
    page.write_text(html, encoding="utf-8")
    png = tmp_path / "sheet.png"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser,
                *browser_flags(profile),
                "--hide-scrollbars",
                f"--screenshot={png}",
                "--window-size=1200,2400",
                page.as_uri(),
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )
    assert png.is_file(), "chromium wrote no screenshot"
    with Image.open(png) as im:
        assert im.size == (1200, 2400)
        rgb = im.convert("RGB")
    colors = rgb.getcolors(maxcolors=1 << 20)
    assert colors is not None and len(colors) > 500, "the page looks blank"
    pixels = np.asarray(rgb, dtype=np.int16)
    near = np.abs(pixels - np.array(_hex(MARKER_COLOR), dtype=np.int16)).max(axis=2) <= 10
    ys, _ = np.nonzero(near)
    # Twelve dots about 4 px across each: well over a hundred pixels of the marker colour,
    # and only in the diagram, which spans from the lower back down to the ankles.
    assert len(ys) > 150, f"only {len(ys)} pixels of the marker colour"
    assert ys.max() - ys.min() > 200
    assert ys.max() < 1200, "the diagram sits in the upper half of the page"


def test_pdf_is_written_atomically(
    back: tuple[Timeline, Routine, str], tmp_path: Path, browser: str
) -> None:
    _, _, html = back
    page = tmp_path / "sheet.html"
    page.write_text(html, encoding="utf-8")
    pdf = tmp_path / "sheet.pdf"
    assert write_sheet_pdf(page, pdf) is True
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert pdf.stat().st_size > 10_000
    assert stat.S_IMODE(pdf.stat().st_mode) & 0o044, "ordinary permissions, not private"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sheet.html", "sheet.pdf"]


def test_the_same_sheet_gives_the_same_pdf(
    back: tuple[Timeline, Routine, str],
    tmp_path: Path,
    browser: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, _, html = back
    page = tmp_path / "sheet.html"
    page.write_text(html, encoding="utf-8")
    assert write_sheet_pdf(page, tmp_path / "a.pdf")
    time.sleep(1.1)  # Chromium stamps the second it printed at
    assert write_sheet_pdf(page, tmp_path / "b.pdf")
    first = (tmp_path / "a.pdf").read_bytes()
    assert first == (tmp_path / "b.pdf").read_bytes()
    assert b"/CreationDate (D:19700101000000+00'00')" in first
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764547200")  # 2025-12-01
    assert write_sheet_pdf(page, tmp_path / "c.pdf")
    assert b"/ModDate (D:20251201000000+00'00')" in (tmp_path / "c.pdf").read_bytes()


# ---------------------------------------------------------------------------- PDF errors


def test_pdf_without_a_browser_returns_false(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sheet_module, "find_browser", lambda: None)
    page = tmp_path / "sheet.html"
    page.write_text("<!DOCTYPE html><p>x</p>", encoding="utf-8")
    assert write_sheet_pdf(page, tmp_path / "out.pdf") is False
    assert not (tmp_path / "out.pdf").exists()


def _fake_browser(tmp_path: Path, body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "fake-chromium"
    script.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    script.chmod(0o755)
    monkeypatch.setattr(sheet_module, "find_browser", lambda: str(script))


def test_pdf_failure_raises_and_leaves_no_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Writes half a file, complains and fails, as a crashing browser might.
    _fake_browser(
        tmp_path,
        'for a in "$@"; do case "$a" in --print-to-pdf=*) printf junk > "${a#*=}";; esac; done\n'
        "echo 'GPU process crashed' >&2; exit 3",
        monkeypatch,
    )
    page = tmp_path / "sheet.html"
    page.write_text("<p>x</p>", encoding="utf-8")
    out = tmp_path / "out" / "sheet.pdf"
    out.parent.mkdir()
    with pytest.raises(
        ExportError, match=r"could not print .* \(exit status 3\): GPU process crashed"
    ):
        write_sheet_pdf(page, out)
    assert list(out.parent.iterdir()) == []


def test_pdf_timeout_raises_and_leaves_no_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _fake_browser(tmp_path, "sleep 30", monkeypatch)
    page = tmp_path / "sheet.html"
    page.write_text("<p>x</p>", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ExportError, match=r"longer than 0.5 s"):
        write_sheet_pdf(page, out / "sheet.pdf", timeout_s=0.5)
    assert list(out.iterdir()) == []


def test_pdf_of_a_missing_sheet_or_into_a_missing_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _fake_browser(tmp_path, "exit 0", monkeypatch)
    with pytest.raises(ExportError, match="no such file"):
        write_sheet_pdf(tmp_path / "nope.html", tmp_path / "x.pdf")
    page = tmp_path / "sheet.html"
    page.write_text("<p>x</p>", encoding="utf-8")
    with pytest.raises(ExportError, match="does not exist"):
        write_sheet_pdf(page, tmp_path / "missing" / "x.pdf")
