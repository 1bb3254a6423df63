"""Sessions in Spanish, French and German: catalogs, numbers, durations, point translations,
--language, the voice `auto` picks, and that nothing English slips into another language."""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from acuvoice.cli import main
from acuvoice.compiler import compile_timeline
from acuvoice.engines import registry
from acuvoice.engines.base import Availability, VoiceInfo
from acuvoice.errors import TranslationError
from acuvoice.export.scripts import format_script
from acuvoice.export.sheet import render_sheet
from acuvoice.measure import WordsPerMinute
from acuvoice.phrases import (
    REFERENCE,
    available_languages,
    check_catalog,
    load_catalog,
    placeholders,
)
from acuvoice.points import i18n
from acuvoice.points.library import PointLibrary, builtin_library
from acuvoice.routine.loader import builtin_languages, builtin_routines, load_routine
from acuvoice.routine.model import Step
from acuvoice.timeline import EventKind, Timeline, timing_violations
from tests.conftest import WriteRoutine

LANGUAGES = ["es", "fr", "de"]


def _catalog_data(tag: str) -> dict[str, Any]:
    text = resources.files("acuvoice").joinpath("phrases", f"{tag}.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, str):
        yield path, value


# -- catalogs ---------------------------------------------------------------------------------


def test_the_three_languages_have_catalogs() -> None:
    assert set(LANGUAGES) | {"en"} <= set(available_languages())


@pytest.mark.parametrize("tag", available_languages())
def test_every_catalog_has_every_key_with_the_same_placeholders_as_english(tag: str) -> None:
    english, data = _catalog_data(REFERENCE), _catalog_data(tag)
    assert check_catalog(tag, data, english) == []
    ours = dict(_leaves({k: v for k, v in data.items() if k not in ("counted",)}))
    for path, text in _leaves({k: v for k, v in english.items() if k not in ("counted",)}):
        assert path in ours, f"{tag}: {path} is missing"
        if path.startswith("durations.minutes_half.one"):
            continue  # "one and a half minutes" is said whole in every language
        assert placeholders(ours[path]) == placeholders(text), f"{tag}: {path}"
    for reminder in data["reminders"]:
        assert isinstance(reminder, str) and reminder and not placeholders(reminder)
    assert load_catalog(tag).language == tag


def test_a_missing_key_is_an_error_that_names_it() -> None:
    data = copy.deepcopy(_catalog_data("es"))
    del data["labels"]["sources"]
    del data["press_hold"]
    data["sides"]["both"] = "Presiona {fuerza}."
    problems = check_catalog("es", data, _catalog_data("en"))
    assert "phrases/es.yaml: labels.sources: missing" in problems
    assert "phrases/es.yaml: press_hold: missing" in problems
    assert "phrases/es.yaml: sides.both: unknown placeholder {fuerza}" in problems


def test_too_few_numbers_is_an_error() -> None:
    data = copy.deepcopy(_catalog_data("de"))
    data["numbers"] = data["numbers"][:30]
    problems = check_catalog("de", data, _catalog_data("en"))
    assert problems == ["phrases/de.yaml: numbers: needs a word for each number from 0 to 60"]


# -- numbers and durations --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "n", "word"),
    [
        ("en", 0, "zero"),
        ("en", 45, "forty-five"),
        ("es", 16, "dieciséis"),
        ("es", 21, "veintiuno"),
        ("es", 60, "sesenta"),
        ("fr", 21, "vingt et un"),
        ("fr", 59, "cinquante-neuf"),
        ("de", 0, "null"),
        ("de", 21, "einundzwanzig"),
        ("de", 37, "siebenunddreißig"),
    ],
)
def test_numbers_as_words(tag: str, n: int, word: str) -> None:
    assert load_catalog(tag).number(n) == word


@pytest.mark.parametrize("tag", ["en", *LANGUAGES])
def test_every_number_up_to_sixty_has_a_word(tag: str) -> None:
    catalog = load_catalog(tag)
    words = [catalog.number(n) for n in range(61)]
    assert len(set(words)) == 61
    with pytest.raises(ValueError, match="numbers 0 to"):
        catalog.number(len(catalog.phrases["numbers"]))


@pytest.mark.parametrize(
    ("tag", "seconds", "said"),
    [
        ("en", 1, "one second"),
        ("en", 30, "thirty seconds"),
        ("en", 60, "one minute"),
        ("en", 90, "one and a half minutes"),
        ("en", 120, "two minutes"),
        ("en", 150, "two and a half minutes"),
        ("es", 1, "un segundo"),
        ("es", 30, "treinta segundos"),
        ("es", 60, "un minuto"),
        ("es", 90, "un minuto y medio"),
        ("es", 120, "dos minutos"),
        ("es", 150, "dos minutos y medio"),
        ("es", 21 * 60, "veintiún minutos"),
        ("fr", 1, "une seconde"),
        ("fr", 30, "trente secondes"),
        ("fr", 60, "une minute"),
        ("fr", 90, "une minute et demie"),
        ("fr", 120, "deux minutes"),
        ("fr", 150, "deux minutes et demie"),
        ("fr", 21 * 60, "vingt et une minutes"),
        ("de", 1, "eine Sekunde"),
        ("de", 30, "dreißig Sekunden"),
        ("de", 60, "eine Minute"),
        ("de", 90, "anderthalb Minuten"),
        ("de", 120, "zwei Minuten"),
        ("de", 150, "zweieinhalb Minuten"),
    ],
)
def test_spoken_durations(tag: str, seconds: int, said: str) -> None:
    assert load_catalog(tag).duration(seconds * 1000) == said


@pytest.mark.parametrize(
    ("ms", "said"),
    [
        (400, "one second"),
        (17_400, "seventeen seconds"),  # under 20 s: whole seconds
        (46_000, "forty-five seconds"),  # then the nearest 5 s
        (57_400, "fifty-five seconds"),
        (57_600, "one minute"),
        (61_000, "one minute"),  # from a minute on: the nearest half minute
        (75_000, "one and a half minutes"),
        (104_000, "one and a half minutes"),
        (105_000, "two minutes"),
    ],
)
def test_durations_round_as_a_person_would(ms: int, said: str) -> None:
    assert load_catalog("en").duration(ms) == said


def test_a_duration_beyond_the_numbers_is_refused() -> None:
    catalog = load_catalog("en")
    assert catalog.duration(catalog.max_duration_ms) == "sixty minutes"
    with pytest.raises(ValueError):
        catalog.duration(catalog.max_duration_ms + 1)


# -- point translations -----------------------------------------------------------------------


def _fixture_translation(tag: str, library: PointLibrary) -> dict[str, Any]:
    """A complete translation in the shape of points/data/i18n/<tag>.yaml, words made up."""
    points: dict[str, dict[str, str]] = {}
    for p in library:
        entry = {"spoken_name": f"{p.name} ({tag})", "location": f"ubi-{tag} {p.code}"}
        for name in ("english", "hint", "caution"):
            if getattr(p, name):
                entry[name] = f"{name}-{tag} {p.code}"
        points[p.code] = entry
    conditions = {
        c.id: {"spoken": f"cond-{tag}-{c.id}", "description": f"desc-{tag}"}
        for c in library.conditions.values()
    }
    return {"version": 1, "language": tag, "conditions": conditions, "points": points}


@pytest.fixture
def translations(monkeypatch: pytest.MonkeyPatch, library: PointLibrary) -> None:
    """Each language's shipped translation where there is one, else a made-up complete one."""
    real = i18n.builtin_translation

    def fake(language: str) -> i18n.Translation | None:
        shipped = real(language)
        if shipped is not None or language not in LANGUAGES:
            return shipped
        text = yaml.safe_dump(_fixture_translation(language, library), allow_unicode=True)
        return i18n.parse_translation(text, i18n.translation_file(language), library)

    monkeypatch.setattr(i18n, "builtin_translation", fake)


def test_a_missing_point_field_is_an_error_naming_file_and_key(library: PointLibrary) -> None:
    data = _fixture_translation("es", library)
    del data["points"]["BL23"]["location"]
    del data["points"]["LI4"]
    del data["conditions"]["pregnancy"]["spoken"]
    data["points"]["XX9"] = {"spoken_name": "x", "location": "y"}
    with pytest.raises(TranslationError) as exc:
        i18n.parse_translation(yaml.safe_dump(data), "points/data/i18n/es.yaml", library)
    lines = str(exc.value).splitlines()
    assert "points/data/i18n/es.yaml: points.BL23.location: missing" in lines
    assert "points/data/i18n/es.yaml: points.LI4: missing" in lines
    assert "points/data/i18n/es.yaml: conditions.pregnancy.spoken: missing" in lines
    assert "points/data/i18n/es.yaml: points.XX9: not a point of the library" in lines


def test_a_caution_english_has_must_be_translated(library: PointLibrary) -> None:
    code = next(p.code for p in library if p.caution)
    data = _fixture_translation("fr", library)
    del data["points"][code]["caution"]
    with pytest.raises(TranslationError, match=rf"fr\.yaml: points\.{code}\.caution: missing"):
        i18n.parse_translation(yaml.safe_dump(data), "points/data/i18n/fr.yaml", library)


@pytest.mark.parametrize("tag", [t for t in i18n.translation_languages() if t != "en"])
def test_each_shipped_point_translation_is_complete(tag: str) -> None:
    translation = i18n.builtin_translation(tag)
    assert translation is not None
    assert set(translation.points) == {p.code for p in builtin_library()}


def test_no_translation_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "builtin_translation", lambda language: None)
    with pytest.raises(TranslationError, match=r"add points/data/i18n/es\.yaml"):
        i18n.localize(builtin_library(), "es")


def test_a_routines_own_points_need_no_translation(
    translations: None, write_routine: WriteRoutine, library: PointLibrary
) -> None:
    path = write_routine(
        """
        acuvoice: 1
        title: Propio
        language: es
        points:
          - code: MIO-1
            name: Punto propio
            location: Justo encima del codo.
        steps:
          - press: MIO-1
            side: center
        """
    )
    timeline = compile_timeline(load_routine(path, library=library), library, WordsPerMinute())
    said = [e.text for e in timeline.of_kind(EventKind.SPEECH)]
    assert "Justo encima del codo." in said


# -- whole sessions ---------------------------------------------------------------------------

ROUTINE = """
acuvoice: 1
title: {title}
language: {lang}
steps:
  - chapter: {chapter}
  - breathe: {{cycles: 3, inhale: 4s, exhale: 6s}}
  - press: BL23
    hold: 90s
    side: both
  - press: LI4
    side: alternate
    hold: 30s
    repeat: 2
  - pause: 10s
"""


def _english_sentences() -> set[str]:
    data = _catalog_data("en")
    spoken = {k: v for k, v in data.items() if k not in ("labels", "name", "language")}
    texts = [t for _, t in _leaves(spoken)] + list(data["reminders"])
    out: set[str] = set()
    for text in texts:
        for sentence in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
            if len(sentence) > 6 and "{" not in sentence:
                out.add(sentence)
    return out


def _check_not_english(timeline: Timeline, tag: str, *, pressed: bool = True) -> None:
    english = _english_sentences()
    said = [e.text or "" for e in timeline.of_kind(EventKind.SPEECH)]
    assert said
    leaked = [s for s in said if s in english or "Press now" in s or "hold for" in s]
    assert leaked == [], f"English in a {tag} session"
    assert timing_violations(timeline) == []
    catalog = load_catalog(tag)
    assert any(s.startswith(catalog.say("press").rstrip(".")) for s in said) is pressed


@pytest.mark.parametrize("tag", LANGUAGES)
def test_a_session_in_each_language_speaks_no_english(
    tag: str, translations: None, write_routine: WriteRoutine, library: PointLibrary
) -> None:
    path = write_routine(ROUTINE.format(title="Prueba", lang=tag, chapter="Uno"))
    routine = load_routine(path, library=library)
    timeline = compile_timeline(routine, library, WordsPerMinute())
    _check_not_english(timeline, tag)
    said = [e.text for e in timeline.of_kind(EventKind.SPEECH)]
    catalog = load_catalog(tag)
    assert catalog.say("press_hold", duration=catalog.duration(90_000)) in said
    assert catalog.say("press_hold", duration=catalog.duration(30_000)) in said
    assert f"ubi-{tag} BL23" in said or library.get("BL23").location not in said


@pytest.mark.parametrize("tag", LANGUAGES)
def test_a_session_leaving_points_out_says_so_in_its_language(
    tag: str, translations: None, write_routine: WriteRoutine, library: PointLibrary
) -> None:
    from acuvoice.compiler import CompileOptions

    path = write_routine(ROUTINE.format(title="Prueba", lang=tag, chapter="Uno"))
    routine = load_routine(path, library=library)
    timeline = compile_timeline(
        routine, library, WordsPerMinute(), CompileOptions(avoid=("pregnancy",))
    )
    assert {o.point for o in timeline.omitted} == {"BL23", "LI4"}
    _check_not_english(timeline, tag, pressed=False)
    spoken = i18n.localize(library, tag).conditions["pregnancy"].spoken
    assert any(spoken in (e.text or "") for e in timeline.of_kind(EventKind.SPEECH))


BUILTIN_TRANSLATIONS = [
    (tag, name) for tag in LANGUAGES if tag in builtin_languages() for name in builtin_routines(tag)
]


#: The English built-in routines translated into Spanish, French and German (each into all
#: three); the others are in English only for now.
TRANSLATED = (
    "calm-and-sleep",
    "desk-break",
    "lower-back-pain",
    "nausea",
    "neck-and-shoulders",
    "stress-and-anxiety",
    "tension-headache",
)


@pytest.mark.parametrize("tag", LANGUAGES)
def test_the_translated_builtins_are_english_ones_and_all_of_them_are_listed(tag: str) -> None:
    assert set(builtin_routines(tag)) <= set(builtin_routines())
    assert sorted(builtin_routines(tag)) == sorted(TRANSLATED)


def test_an_english_builtin_is_translated_into_every_language_or_none() -> None:
    everywhere = sorted(["en", *LANGUAGES])
    for name in builtin_routines():
        assert builtin_languages(name) in (["en"], everywhere), name
    assert {n for n in builtin_routines() if builtin_languages(n) == everywhere} == set(TRANSLATED)


def _shape(step: Step) -> tuple[object, ...]:
    """What a step does, without its words (text, title, say) or where it was written."""
    words = ("text", "title", "say", "origin")
    done = tuple(
        (f.name, getattr(step, f.name)) for f in dataclasses.fields(step) if f.name not in words
    )
    return type(step).__name__, done, getattr(step, "say", None) is not None


@pytest.mark.parametrize(("tag", "name"), BUILTIN_TRANSLATIONS)
def test_each_translated_builtin_routine_mirrors_the_english_one(
    tag: str, name: str, library: PointLibrary
) -> None:
    routine = load_routine(builtin_routines(tag)[name], library=library)
    english = load_routine(builtin_routines()[name], library=library)
    # Step for step the same actions, points, options, timings and profile gates (an
    # `include` of the translated closing expands to the same steps as the English one).
    assert [_shape(s) for s in routine.steps] == [_shape(s) for s in english.steps]
    assert [f.path for f in routine.files] == [f.path for f in english.files]
    for key in ("target_ms", "max_hold_ms", "sound", "voice", "loudness_lufs", "safety_notice"):
        assert getattr(routine, key) == getattr(english, key), key
    assert routine.cautions == english.cautions
    assert [p.code for p in routine.points] == [p.code for p in english.points]
    assert routine.sources[: len(english.sources)] == english.sources
    assert set(english.tags) <= set(routine.tags)
    # Every sentence written in the routine is in the routine's language.
    for ours, theirs in zip(routine.steps, english.steps, strict=True):
        for key in ("text", "say"):
            if getattr(theirs, key, None):
                assert getattr(ours, key) != getattr(theirs, key), ours.origin


@pytest.mark.parametrize(("tag", "name"), BUILTIN_TRANSLATIONS)
def test_each_translated_builtin_routine_compiles_without_english(
    tag: str, name: str, library: PointLibrary
) -> None:
    routine = load_routine(builtin_routines(tag)[name], library=library)
    assert routine.language.split("-")[0] == tag
    english = load_routine(builtin_routines()[name], library=library)
    assert len(routine.steps) == len(english.steps)
    _check_not_english(compile_timeline(routine, library, WordsPerMinute()), tag)


def test_english_builtin_sessions_say_how_long_to_hold(library: PointLibrary) -> None:
    for name, path in builtin_routines().items():
        timeline = compile_timeline(load_routine(path, library=library), library, WordsPerMinute())
        assert timing_violations(timeline) == [], name
        press = [e.text or "" for e in timeline.of_kind(EventKind.SPEECH) if e.role == "press"]
        assert press and all(t.startswith("Press now, and hold for ") for t in press), name


@pytest.mark.parametrize("tag", LANGUAGES)
def test_sheet_and_script_are_written_in_the_sessions_language(
    tag: str, translations: None, write_routine: WriteRoutine, library: PointLibrary
) -> None:
    path = write_routine(ROUTINE.format(title="Prueba", lang=tag, chapter="Uno"))
    routine = load_routine(path, library=library)
    timeline = compile_timeline(routine, library, WordsPerMinute())
    catalog = load_catalog(tag)
    html = render_sheet(timeline, routine, library)
    assert f'<html lang="{tag}">' in html
    for key in ("safety_title", "points_title", "footer_advice", "where"):
        assert catalog.label(key) in html.replace("&#x27;", "'"), key
    for english in ("Safety first", "The points, in session order", "Take care", "Where<"):
        assert english not in html
    text = format_script(timeline, "text")
    assert catalog.label("script_end") in text and "[end]" not in text
    assert " cue]" not in text and "[hold " not in text


# -- the command line -------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_builtin_routine_not_in_a_language_lists_the_ones_it_is_in(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(
        capsys, "script", "lower-back-pain", "--language", "xx", "--engine", "estimate"
    )
    assert code == 2 and "Traceback" not in err
    languages = ", ".join(builtin_languages("lower-back-pain"))
    assert (
        f"the built-in routine 'lower-back-pain' is not written in 'xx'; it is in {languages}"
        in err
    )


def test_a_bad_language_tag_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "script", "lower-back-pain", "--language", "e s")
    assert code == 2 and "'e s' is not a language tag" in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["script", "render", "validate"])
def test_a_file_in_another_language_is_an_error(
    command: str, capsys: pytest.CaptureFixture[str], write_routine: WriteRoutine, tmp_path: Path
) -> None:
    path = write_routine(ROUTINE.format(title="Prueba", lang="es", chapter="Uno"))
    extra = ["-o", str(tmp_path / "x.wav"), "--engine", "fake"] if command == "render" else []
    extra += ["--engine", "estimate"] if command == "script" else []
    code, _, err = run(capsys, command, str(path), "--language", "fr", *extra)
    assert code == 2 and "Traceback" not in err
    assert "is written in 'es' (its `language:`), not 'fr'" in err
    assert not (tmp_path / "x.wav").exists()


def test_a_file_in_the_language_asked_for_compiles(
    translations: None, capsys: pytest.CaptureFixture[str], write_routine: WriteRoutine
) -> None:
    path = write_routine(ROUTINE.format(title="Prueba", lang="de", chapter="Eins"))
    code, out, err = run(capsys, "script", str(path), "--language", "de", "--engine", "fake")
    assert code == 0, err
    assert "Drücken Sie jetzt und halten Sie anderthalb Minuten lang." in out
    assert "[Ende]" in out


def test_routines_in_an_unknown_language_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "routines", "--language", "xx")
    assert code == 2 and "no built-in routines in 'xx'; there are some in de, en, es, fr" in err


@pytest.mark.parametrize("tag", [t for t in LANGUAGES if t in builtin_languages()])
def test_routines_lists_the_builtins_in_a_language(
    tag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "routines", "--language", tag)
    assert code == 0, err
    for name in builtin_routines(tag):
        assert out.count(f"{name}  (") == 1


@pytest.mark.parametrize(("tag", "name"), BUILTIN_TRANSLATIONS)
def test_language_picks_a_builtin_translation(
    tag: str, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "script", name, "--language", tag, "--engine", "estimate")
    assert code == 0, err
    assert load_catalog(tag).label("script_end") in out


def test_the_request_key_includes_the_language() -> None:
    from acuvoice.app import RoutineRef

    ref = RoutineRef.named("lower-back-pain")
    assert ref.in_language("es").language == "es"
    assert ref.in_language("es").label == "<built-in>/es/lower-back-pain.yaml"
    assert ref.in_language("en").label == "<built-in>/lower-back-pain.yaml"


# -- the voice `auto` picks -------------------------------------------------------------------


def _stub(name: str, rank: int, languages: tuple[str, ...]) -> type:
    class Stub:
        license: ClassVar[str] = "MIT"

        def availability(self) -> Availability:
            return Availability(True)

        def voices(self) -> list[VoiceInfo]:
            return [VoiceInfo(name, f"{name}-{lang}", lang, lang, "MIT") for lang in languages]

        def resolve_voice(self, voice: str | None, language: str) -> VoiceInfo:
            primary = language.split("-")[0]
            return next(v for v in self.voices() if v.language.split("-")[0] == primary)

        def fingerprint(self, voice: VoiceInfo) -> str:
            return name

        def synthesize(self, text: str, voice: VoiceInfo, rate: float) -> object:
            raise NotImplementedError

    Stub.name = name  # type: ignore[attr-defined]
    Stub.rank = rank  # type: ignore[attr-defined]
    return Stub


@pytest.fixture
def stub_engines(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    stubs = {
        "hibari": _stub("hibari", 30, ("en-US", "es-ES")),
        "kokoro": _stub("kokoro", 25, ("en-US", "fr-FR", "es-ES")),
        "piper": _stub("piper", 20, ("en-US",)),
        "pyttsx3": _stub("pyttsx3", 10, ("en-US", "es", "fr-FR", "de")),
    }
    registry.get_engine.cache_clear()
    monkeypatch.setattr(registry, "_factories", lambda: stubs)
    yield
    registry.get_engine.cache_clear()


@pytest.mark.parametrize(
    ("language", "engine", "voice"),
    [
        ("en", "hibari", "hibari-en-US"),
        ("es", "hibari", "hibari-es-ES"),
        ("fr", "kokoro", "kokoro-fr-FR"),
        ("de", "pyttsx3", "pyttsx3-de"),
        ("de-AT", "pyttsx3", "pyttsx3-de"),
    ],
)
def test_auto_picks_the_best_engine_with_a_voice_in_the_language(
    stub_engines: None, language: str, engine: str, voice: str
) -> None:
    chosen, info = registry.pick_voice("auto", None, language)
    assert (chosen.name, info.id) == (engine, voice)


def test_espeak_voices_for_each_language() -> None:
    from acuvoice.engines.pyttsx3_engine import PREFERRED_VOICES

    assert PREFERRED_VOICES["es"] == "roa/es"
    assert PREFERRED_VOICES["fr"] == "roa/fr"
    assert PREFERRED_VOICES["de"] == "gmw/de"


@pytest.mark.slow
@pytest.mark.parametrize(("tag", "voice"), [("es", "roa/es"), ("fr", "roa/fr"), ("de", "gmw/de")])
def test_pyttsx3_speaks_each_language_with_its_main_espeak_voice(tag: str, voice: str) -> None:
    from tests.support import require

    engine = registry.get_engine("pyttsx3")
    status = engine.availability()
    require(status.ok, "the pyttsx3 speech engine", status.reason)
    assert engine.resolve_voice(None, tag).id == voice
