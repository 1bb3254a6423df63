"""The built-in point library: every point the content brief sources, complete and honest."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest
import yaml

from acuvoice.cli import main
from acuvoice.export.diagram import on_figure
from acuvoice.points.library import builtin_library
from acuvoice.points.model import DiagramSpot

#: Every point the content brief (acupressure-content.md) names with a source: the
#: low-back table, the topic table, the "more points" table and the points it says are in
#: the library already. The brief names 35 distinct points; the library holds them all.
BRIEF_POINTS = {
    # low back
    *("BL23", "GV4", "BL52", "BL25", "GB30", "BL40", "BL60", "KI3", "LI4", "GB34", "CV6"),
    # topics beyond low back and the well-known examples
    *("GB20", "GB21", "PC6", "HT7", "EX-HN3", "SP6", "ST36", "LV3", "CV17", "GV20", "KI1"),
    # more points (WHO 2008 locations), and SI3 already in the library
    *("EX-HN5", "ANMIAN", "BL10", "BL2", "ST6", "TE5", "LU7", "LI10", "LI11", "TE3", "CV12"),
    *("BL67", "SI3"),
}

#: Points added beyond the brief's tables, each from a trial the library cites: SI14 and
#: SI15 (Matsubara 2011, neck), TE21 and GB5 (Hsieh 2010, headache), SP15 (Jiang 2013,
#: menstrual cramps).
SOURCED_EXTRA_POINTS = {"SI14", "SI15", "TE21", "GB5", "SP15"}

#: The topics the brief gives facts and sources for.
TOPICS = {
    "back",
    "neck",
    "stress",
    "anxiety",
    "headache",
    "nausea",
    "sleep",
    "menstrual-cramps",
    "fatigue",
}

#: Points on the traditional pregnancy avoid lists the brief cites, and two no source avoids.
PREGNANCY_AVOID = {"LI4", "SP6", "BL60", "BL67", "GB21", "CV6"}
NOT_PREGNANCY_AVOID = {"KI3", "PC6"}

#: Claims the sources do not support (the brief's "never say them" list), as patterns.
UNSUPPORTED = [
    r"\bcur(e|es|ed|ing)\b",
    r"\bheals?\b",
    r"\bdetox",
    r"\btoxins?\b",
    r"\bflush",
    r"\bboost\w* (your )?immun",
    r"\bimmune system\b",
    r"\bshould hurt\b",
    r"\bmelatonin\b",
    r"\bendorphins?\b",
    r"\bcortisol\b",
    r"\bgaba\b",
    r"\b42 ?%",
    r"\bfaster sleep\b",
    r"\binduc\w* labou?r\b",
    r"\bmiscarr",
    r"\bbetter than (medication|medicine|drugs|painkillers)\b",
    r"\bprevents? cancer\b",
    r"\bcancer prevention\b",
    r"\bproven\b",
    r"\bscientifically\b",
    r"\bguaranteed?\b",
    r"\bnice recommends\b",
    r"\brecommended by nice\b",
    r"\bendorsed\b",
    r"\bmeridians? (are|is) (real|established|proven)\b",
    r"\bqi (flows|channels) (are|is) (real|established)\b",
]


def _strings(node: Any, skip: frozenset[str] = frozenset({"sources"})) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            if key not in skip:
                yield from _strings(value, skip)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value, skip)


def _routine_texts() -> Iterator[tuple[str, str]]:
    root = resources.files("acuvoice").joinpath("routines")
    stack = [root]
    while stack:
        folder = stack.pop()
        for entry in folder.iterdir():
            if entry.is_dir():
                stack.append(entry)
            elif entry.name.endswith(".yaml"):
                for text in _strings(yaml.safe_load(entry.read_text(encoding="utf-8"))):
                    yield entry.name, text


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["points", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _codes(out: str) -> list[str]:
    return [line.split()[0] for line in out.splitlines() if line.strip()]


# ---------------------------------------------------------------------------- the library


def test_the_library_holds_every_point_the_brief_sources() -> None:
    library = builtin_library()
    codes = {p.code for p in library}
    assert codes >= BRIEF_POINTS, sorted(BRIEF_POINTS - codes)
    assert len(BRIEF_POINTS) == 35
    assert codes >= SOURCED_EXTRA_POINTS, sorted(SOURCED_EXTRA_POINTS - codes)
    assert len(library) >= 40


def test_every_point_has_location_sources_topics_and_a_spot_on_the_figure() -> None:
    library = builtin_library()
    assert set(library.topics) == TOPICS
    for p in library:
        assert p.location.strip() and p.name and p.meridian and p.region, p.code
        assert p.sources, f"{p.code} has no source"
        assert set(p.used_for) <= TOPICS, p.code
        assert p.diagram is not None, p.code
        assert p.diagram.view in {"front", "back"}, p.code
        assert on_figure(p.diagram), f"{p.code} {p.diagram} is off the figure"
        if p.side == "center":
            assert p.diagram.x == 0.5, p.code
        else:
            assert p.diagram.x < 0.5, f"{p.code}: paired points are given on the viewer's left"
    for topic in TOPICS:
        assert any(topic in p.used_for for p in library), f"no point for {topic}"


def test_diagram_spots_sit_on_the_body_part_of_their_region() -> None:
    bands = {
        "face": (0.0, 0.12),
        "head": (0.0, 0.12),
        "neck": (0.08, 0.17),
        "shoulders": (0.13, 0.25),
        "chest": (0.18, 0.32),
        "abdomen": (0.28, 0.52),
        "lower-back": (0.30, 0.50),
        "buttock": (0.44, 0.56),
        "arm": (0.20, 0.50),
        "hand": (0.49, 0.60),
        "knee": (0.68, 0.80),
        "leg": (0.70, 0.95),
        "foot": (0.90, 1.0),
    }
    for p in builtin_library():
        assert p.diagram is not None
        low, high = bands[p.region]
        assert low <= p.diagram.y <= high, f"{p.code} ({p.region}) at y={p.diagram.y}"
        if p.region in {"arm", "hand"}:
            assert p.diagram.x < 0.34, p.code


def test_on_figure_rejects_spots_off_the_body() -> None:
    assert on_figure(DiagramSpot("front", 0.5, 0.05))
    assert not on_figure(DiagramSpot("front", 0.05, 0.05))
    assert not on_figure(DiagramSpot("back", 0.5, 0.70))  # between the legs
    assert not on_figure(DiagramSpot("side", 0.5, 0.05))


def test_codes_follow_who_2008_and_extra_points_say_so() -> None:
    channel = re.compile(r"^(LU|LI|ST|SP|HT|SI|BL|KI|PC|TE|GB|LV|LR|GV|CV)\d+$")
    for p in builtin_library():
        if channel.match(p.code):
            assert "WHO 2008" in p.sources, p.code
            assert "WHO" in p.notes, p.code
        else:
            # EX-HN3, EX-HN5, Anmian: no WHO 2008 code; the notes say which code they keep.
            assert "code" in p.notes.lower() or "Extra-1" in p.notes, p.code
            assert p.meridian == "Extra", p.code


def test_cautions_name_known_conditions_and_pregnancy_lists_match_the_brief() -> None:
    library = builtin_library()
    for p in library:
        for cond in p.contraindications:
            assert cond in library.conditions, (p.code, cond)
        if "pregnan" in p.caution.lower():
            assert "pregnancy" in p.contraindications, p.code
    for code in PREGNANCY_AVOID:
        point = library.get(code)
        assert "pregnancy" in point.contraindications and point.caution, code
    for code in NOT_PREGNANCY_AVOID:
        assert "pregnancy" not in library.get(code).contraindications, code


def test_gentle_points_near_the_eye_and_ear_say_so() -> None:
    library = builtin_library()
    for code in ("EX-HN5", "BL2"):
        assert "eye" in library.get(code).caution, code
    assert "light" in library.get("ANMIAN").caution
    assert "Anmian" in library.get("ANMIAN").spoken_name


def test_no_point_or_routine_says_what_the_sources_do_not_support() -> None:
    found = []
    for p in builtin_library():
        for text in (p.location, p.hint, p.caution, p.notes, p.spoken_name):
            found += [(p.code, pat) for pat in UNSUPPORTED if re.search(pat, text, re.I)]
    for name, text in _routine_texts():
        found += [(name, pat) for pat in UNSUPPORTED if re.search(pat, text, re.I)]
    assert not found


def test_spoken_point_text_has_no_digits_in_any_language() -> None:
    from acuvoice.points.i18n import localize

    for language in ("en", "es", "fr", "de"):
        for p in localize(builtin_library(), language):
            for text in (p.location, p.hint, p.caution, p.spoken_name):
                assert not re.search(r"\d", text), (language, p.code, text)


# ---------------------------------------------------------------------------- the CLI


def test_points_for_a_topic(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--for", "sleep")
    assert code == 0
    codes = _codes(out)
    assert {"HT7", "ANMIAN", "KI1", "SP6"} <= set(codes)
    assert "BL23" not in codes
    library = builtin_library()
    assert all("sleep" in library.get(c).used_for for c in codes)


def test_filters_combine(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--region", "hand", "--for", "neck")
    assert code == 0 and _codes(out) == ["LI4", "TE3"]
    code, out, _ = _run(capsys, "--region", "hand", "--for", "neck", "--avoid", "pregnancy")
    assert code == 0 and _codes(out) == ["TE3"]
    code, out, _ = _run(capsys, "--for", "menstrual-cramps", "--avoid", "pregnancy")
    codes = _codes(out)
    assert code == 0 and "SP6" not in codes and "LI4" not in codes and "ST36" in codes
    code, out, err = _run(capsys, "--region", "face", "--for", "nausea")
    assert code == 0 and out == "" and "no point matches" in err


@pytest.mark.parametrize(
    ("option", "value", "valid"),
    [
        ("--for", "slep", "sleep"),
        ("--region", "hands", "hand"),
        ("--avoid", "pregnant", "pregnancy"),
    ],
)
def test_unknown_filter_values_are_a_clear_error(
    capsys: pytest.CaptureFixture[str], option: str, value: str, valid: str
) -> None:
    code, out, err = _run(capsys, option, value)
    assert code == 2 and out == ""
    assert value in err and valid in err and "valid values" in err
    assert "Traceback" not in err


def test_topics_regions_and_details(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--topics")
    assert code == 0 and {line.split()[0] for line in out.splitlines()} == TOPICS
    code, out, _ = _run(capsys, "--regions")
    assert code == 0 and "hand" in out.split()
    code, out, _ = _run(capsys, "anmian")
    assert code == 0 and "used for: sleep, fatigue" in out and "sources:" in out
    code, out, _ = _run(capsys, "--help")
    assert code == 0 and "--for" in out and "acuvoice points --for sleep" in out
