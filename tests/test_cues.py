"""Cue sounds: complete sets, measured levels and shapes, distinguishable cues, masters in sync."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from acuvoice.audio import cues as cues_module
from acuvoice.audio.buffer import Clip
from acuvoice.audio.cues import (
    CUE_PEAK_DB,
    cue_lengths_ms,
    load_cue_folder,
    load_cues,
    synthesize_cue_set,
)
from acuvoice.audio.decode import probe
from acuvoice.errors import SoundError, UsageError
from acuvoice.routine.model import CUE_NAMES, CUE_SETS
from tests.support import encode, require, require_encoder

RATE = 44100
SETS = [name for name in CUE_SETS if name != "none"]
SOUNDS = Path(__file__).resolve().parents[1] / "sounds"

LENGTH_S = {
    "start": (2.0, 3.0),
    "end": (2.5, 3.5),
    "press": (0.4, 0.8),
    "release": (0.5, 0.9),
    "switch": (0.6, 1.0),
    "tick": (0.01, 0.15),
    "inhale": (0.3, 0.5),
    "exhale": (0.3, 0.5),
}

# What a listener with closed eyes can tell apart: how long a cue is, how many strikes it
# has, and whether its pitch rises, falls or stays. Every set must follow this score.
EXPECTED = {
    "start": ("long", 1, "level"),
    "end": ("long", 3, "falling"),
    "press": ("medium", 2, "rising"),
    "release": ("medium", 2, "falling"),
    "switch": ("medium", 2, "level"),
    "tick": ("short", 1, "level"),
    "inhale": ("medium", 1, "rising"),
    "exhale": ("medium", 1, "falling"),
}
GLIDES = ("inhale", "exhale")


# --- measuring ---------------------------------------------------------------------------

HOP_S = 0.005


def mono(clip: Clip) -> np.ndarray:
    assert clip.channels == 1
    return clip.samples[0].astype(np.float64)


def envelope(x: np.ndarray, sr: int) -> np.ndarray:
    """RMS in 10 ms windows every 5 ms."""
    hop = round(HOP_S * sr)
    frames = max(1, (x.size - 2 * hop) // hop + 1)
    index = np.arange(frames)[:, None] * hop + np.arange(2 * hop)[None, :]
    padded = np.concatenate([x, np.zeros(2 * hop)])
    return np.sqrt((padded[index] ** 2).mean(axis=1))


def attacks(x: np.ndarray, sr: int) -> int:
    """Strikes: moments the level jumps by 6 dB or more within 20 ms, to within 15 dB of the peak."""
    env = envelope(x, sr)
    lag = 4
    before = np.concatenate([np.zeros(lag), env[:-lag]])
    hits = np.flatnonzero((env > env.max() * 10 ** (-15 / 20)) & (env > 2.0 * before))
    # Hits closer than 30 ms belong to the same strike.
    return int(1 + np.count_nonzero(np.diff(hits) > 6)) if hits.size else 0


def dominant_hz(x: np.ndarray, sr: int) -> float:
    """Frequency of the strongest FFT peak (Hann window, zero-padded, parabolic refinement)."""
    n = 1 << int(np.ceil(np.log2(max(8 * x.size, 1 << 15))))
    mag = np.abs(np.fft.rfft(x * np.hanning(x.size), n))
    k = float(np.argmax(mag))
    i = int(k)
    if 0 < i < mag.size - 1:
        a, b, c = np.log(mag[i - 1 : i + 2] + 1e-30)
        k += 0.5 * (a - c) / (a - 2 * b + c)
    return k * sr / n


def pitch_move(x: np.ndarray, sr: int) -> float:
    """Semitones from the first 50 ms to the last 40 % of the sounding part."""
    env = envelope(x, sr)
    sounding = (int(np.flatnonzero(env > env.max() * 0.1)[-1]) + 2) * round(HOP_S * sr)
    early = x[: max(round(0.05 * sr), sounding // 10)]
    late = x[int(0.6 * sounding) : sounding]
    return float(12 * np.log2(dominant_hz(late, sr) / dominant_hz(early, sr)))


def signature(x: np.ndarray, sr: int) -> tuple[str, int, str]:
    seconds = x.size / sr
    length = "short" if seconds <= 0.15 else "medium" if seconds <= 1.2 else "long"
    move = pitch_move(x, sr)
    # A clear margin between classes: level within 1 semitone, a move of 2 or more.
    direction = (
        "level" if abs(move) < 1 else "rising" if move >= 2 else "falling" if move <= -2 else "?"
    )
    return length, attacks(x, sr), direction


def db(value: float) -> float:
    return float(20 * np.log10(value))


# --- the built-in sets -------------------------------------------------------------------


@pytest.mark.parametrize("name", SETS)
def test_every_set_has_every_cue_as_mono_float32(name: str) -> None:
    cues = synthesize_cue_set(name, RATE)
    assert list(cues) == list(CUE_NAMES)
    for clip in cues.values():
        assert (clip.channels, clip.sample_rate, clip.samples.dtype) == (1, RATE, np.float32)


@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize("cue", CUE_NAMES)
def test_lengths_levels_and_edges(name: str, cue: str) -> None:
    x = mono(synthesize_cue_set(name, RATE)[cue])
    lo, hi = LENGTH_S[cue]
    assert lo <= x.size / RATE <= hi
    peak = db(np.abs(x).max())
    assert abs(peak - CUE_PEAK_DB) < 0.5
    assert peak < -1.0
    # Starts and ends at zero: no click when it begins or stops.
    assert x[0] == 0.0 and abs(x[-1]) < 1e-4
    assert np.abs(x[: RATE // 2000]).max() < 0.1
    assert np.abs(x[-RATE // 1000 :]).max() < 0.01
    assert abs(x.mean()) < 1e-4  # no DC


@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize("cue", CUE_NAMES)
def test_the_onset_is_the_timing_mark(name: str, cue: str) -> None:
    env = envelope(mono(synthesize_cue_set(name, RATE)[cue]), RATE)
    first_25ms = env[: round(0.025 / HOP_S)].max()
    if cue in GLIDES:
        # Breathing swells grow softly, but are clearly heard from their start.
        assert db(first_25ms / env.max()) > -12
    else:
        assert db(first_25ms / env.max()) > -1


@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize("cue", CUE_NAMES)
def test_every_set_plays_the_same_score(name: str, cue: str) -> None:
    assert signature(mono(synthesize_cue_set(name, RATE)[cue]), RATE) == EXPECTED[cue]


@pytest.mark.parametrize("name", SETS)
def test_cues_of_a_set_are_pairwise_distinguishable(name: str) -> None:
    cues = synthesize_cue_set(name, RATE)
    signatures = {cue: signature(mono(clip), RATE) for cue, clip in cues.items()}
    for a, b in itertools.combinations(CUE_NAMES, 2):
        assert signatures[a] != signatures[b], f"{name}: {a} and {b} sound alike: {signatures[a]}"


def test_the_sets_differ_in_timbre() -> None:
    """Same score, different sound: the start notes' pitches and spectra differ per set."""
    starts = {name: mono(synthesize_cue_set(name, RATE)["start"]) for name in SETS}
    pitches = {name: dominant_hz(x[: RATE // 2], RATE) for name, x in starts.items()}
    assert len({round(hz) for hz in pitches.values()}) == len(SETS)
    for a, b in itertools.combinations(SETS, 2):
        n = min(starts[a].size, starts[b].size)
        corr = np.corrcoef(starts[a][:n], starts[b][:n])[0, 1]
        assert abs(corr) < 0.5, (a, b)


def test_beeps_are_plain_sines_and_bowls_are_inharmonic() -> None:
    def spectrum(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mag = np.abs(np.fft.rfft(x[: RATE // 2] * np.hanning(RATE // 2)))
        return np.fft.rfftfreq(RATE // 2, 1 / RATE), mag

    freqs, mag = spectrum(mono(synthesize_cue_set("beep", RATE)["start"]))
    f0 = freqs[np.argmax(mag)]
    assert mag[freqs > 1.5 * f0].max() < mag.max() * 1e-3  # nothing but the fundamental
    freqs, mag = spectrum(mono(synthesize_cue_set("bowl", RATE)["start"]))
    f0 = freqs[np.argmax(mag)]
    upper = freqs > 1.5 * f0
    f1 = freqs[upper][np.argmax(mag[upper])]
    assert mag[upper].max() > mag.max() * 0.1
    assert abs(f1 / f0 - round(f1 / f0)) > 0.2  # the bowl's overtone is not a harmonic


def test_synthesis_is_deterministic_cached_and_read_only() -> None:
    first = synthesize_cue_set("chime", RATE)
    first.pop("press")  # a caller's dict is its own
    second = synthesize_cue_set("chime", RATE)
    assert list(second) == list(CUE_NAMES)
    assert second["tick"] is first["tick"]
    cues_module._cue_set.cache_clear()
    fresh = synthesize_cue_set("chime", RATE)
    for cue in CUE_NAMES:
        assert fresh[cue] is not second[cue]
        np.testing.assert_array_equal(fresh[cue].samples, second[cue].samples)
        assert not fresh[cue].samples.flags.writeable
    with pytest.raises(ValueError):
        fresh["tick"].samples[0, 0] = 1.0


@pytest.mark.parametrize("rate", [16000, 48000])
def test_other_sample_rates(rate: int) -> None:
    for name in SETS:
        at_rate = synthesize_cue_set(name, rate)
        for cue, clip in at_rate.items():
            reference = synthesize_cue_set(name, RATE)[cue]
            assert clip.sample_rate == rate
            assert abs(clip.duration_ms - reference.duration_ms) <= 1
            assert abs(db(np.abs(clip.samples).max()) - CUE_PEAK_DB) < 0.5
            assert signature(mono(clip), rate) == EXPECTED[cue]


def test_none_set_is_silent() -> None:
    cues = load_cues("none", RATE)
    assert list(cues) == list(CUE_NAMES)
    assert cue_lengths_ms(cues) == dict.fromkeys(CUE_NAMES, 0)
    assert all(c.channels == 1 for c in cues.values())


def test_unknown_sets_are_usage_errors_with_a_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(UsageError, match=r"unknown cue set 'bowel'; did you mean 'bowl'\?"):
        synthesize_cue_set("bowel", RATE)
    with pytest.raises(UsageError, match=r"unknown cue set 'gong'; use one of bowl, chime"):
        synthesize_cue_set("gong", RATE)
    monkeypatch.chdir(tmp_path)  # no folder "chimes" here either
    with pytest.raises(SoundError) as info:
        load_cues("chimes", RATE)
    message = str(info.value)
    assert "did you mean 'chime'?" in message and str(tmp_path / "chimes") in message
    assert "--" not in message  # library wording: only the command line speaks of flags


@pytest.mark.parametrize("rate", [0, -44100])
def test_a_sample_rate_must_be_positive(rate: int, tmp_path: Path) -> None:
    sf.write(tmp_path / "tick.wav", np.zeros(100), 8000)
    calls = [
        lambda: synthesize_cue_set("bowl", rate),
        lambda: load_cues("chime", rate),
        lambda: load_cues(str(tmp_path), rate),
        lambda: load_cue_folder(tmp_path, rate),
    ]
    for call in calls:
        with pytest.raises(UsageError, match=f"sample rate must be a positive .*not {rate}"):
            call()


@pytest.mark.parametrize(
    ("frames", "rate", "expected_ms"),
    [(0, 44100, 0), (1, 44100, 1), (44, 44100, 1), (45, 44100, 2), (44100, 44100, 1000),
     (44101, 44100, 1001), (7999, 8000, 1000), (8001, 8000, 1001), (3, 48000, 1)],
)  # fmt: skip
def test_cue_lengths_round_up_so_an_event_holds_its_clip(
    frames: int, rate: int, expected_ms: int
) -> None:
    clip = Clip(np.zeros((1, frames), dtype=np.float32), rate)
    assert cue_lengths_ms({"tick": clip}) == {"tick": expected_ms}


def test_cue_lengths_of_a_set_hold_every_clip_to_the_millisecond() -> None:
    cues = load_cues("bowl", 22050)
    lengths = cue_lengths_ms(cues)
    assert list(lengths) == list(CUE_NAMES)
    for cue, clip in cues.items():
        # The shortest whole number of milliseconds at least as long as the clip.
        assert lengths[cue] * 22050 >= clip.frames * 1000 > (lengths[cue] - 1) * 22050, cue


# --- the masters in sounds/ --------------------------------------------------------------


@pytest.mark.parametrize("name", SETS)
def test_masters_match_the_synthesis(name: str) -> None:
    """sounds/ is regenerated by scripts/make-sounds; a change to the synthesis must be too."""
    folder = SOUNDS / name
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{c}.flac" for c in CUE_NAMES)
    for cue, clip in synthesize_cue_set(name, 44100).items():
        info = sf.info(str(folder / f"{cue}.flac"))
        assert (info.samplerate, info.channels, info.subtype) == (44100, 1, "PCM_16")
        data, _ = sf.read(str(folder / f"{cue}.flac"), dtype="float64")
        assert data.size == clip.frames, f"{name}/{cue}.flac: rerun scripts/make-sounds"
        # Within 16-bit quantization (and libsndfile's 32767/32768 scaling).
        assert np.abs(data - clip.samples[0]).max() < 2.5 / 32768, (
            f"{name}/{cue}.flac: rerun scripts/make-sounds"
        )


def test_sounds_folder_says_what_and_under_which_license() -> None:
    readme = (SOUNDS / "README.md").read_text(encoding="utf-8")
    assert "scripts/make-sounds" in readme and "src/acuvoice/audio/cues.py" in readme
    for name in SETS:
        assert name in readme
    license_text = (SOUNDS / "LICENSE").read_text(encoding="utf-8")
    assert "CC0 1.0" in license_text or "CC0-1.0" in license_text
    assert sum(p.stat().st_size for p in SOUNDS.rglob("*.flac")) < 3_000_000


# --- a user's folder ---------------------------------------------------------------------


def tone(
    hz: float, seconds: float, sr: int, channels: int = 1, silence_s: float = 0.0
) -> np.ndarray:
    t = np.arange(round(seconds * sr)) / sr
    x = 0.4 * np.sin(2 * np.pi * hz * t) * np.hanning(t.size)
    x = np.concatenate([np.zeros(round(silence_s * sr)), x])
    return np.repeat(x[:, None], channels, axis=1)


def test_a_folder_of_wav_flac_and_ogg(tmp_path: Path) -> None:
    sf.write(tmp_path / "press.wav", tone(1000, 0.3, 48000, channels=2, silence_s=0.2), 48000)
    sf.write(tmp_path / "Release.FLAC", tone(660, 0.4, 22050), 22050)
    sf.write(tmp_path / "tick.ogg", tone(1500, 0.1, 44100), 44100, format="OGG")
    (tmp_path / "notes.txt").write_text("not a sound")
    (tmp_path / "start.txt").write_text("not a sound either, though named after a cue")
    (tmp_path / "bell.wav").write_bytes(b"ignored: not a cue name")
    cues = load_cue_folder(tmp_path, RATE)
    assert list(cues) == list(CUE_NAMES)
    for clip in cues.values():
        assert (clip.channels, clip.sample_rate, clip.samples.dtype) == (1, RATE, np.float32)
    for cue, hz, seconds, tolerance_s in [
        ("press", 1000, 0.3, 0.02),
        ("release", 660, 0.4, 0.02),
        ("tick", 1500, 0.1, 0.03),  # Vorbis is lossy and pads
    ]:
        x = mono(cues[cue])
        assert abs(dominant_hz(x, RATE) / hz - 1) < 0.01, cue
        assert abs(x.size / RATE - seconds) < tolerance_s, cue
        assert x[0] == 0.0 and x[-1] == 0.0
    # The 200 ms of silence before the press is gone: the sound starts on its mark.
    env = envelope(mono(cues["press"]), RATE)
    assert np.argmax(env > env.max() * 0.1) * HOP_S < 0.06
    # Cues the folder lacks come from the bowl set.
    bowl = synthesize_cue_set("bowl", RATE)
    for cue in ("start", "switch", "end", "inhale", "exhale"):
        assert cues[cue] is bowl[cue]


def test_an_mp3_cue(tmp_path: Path) -> None:
    require("MP3" in sf.available_formats(), "libsndfile with MP3", "pip install -U soundfile")
    sf.write(tmp_path / "start.mp3", tone(440, 1.0, 44100), 44100, format="MP3")
    x = mono(load_cue_folder(tmp_path, 22050)["start"])
    assert abs(dominant_hz(x, 22050) / 440 - 1) < 0.01
    assert abs(x.size / 22050 - 1.0) < 0.1


# --- formats that ffmpeg decodes ---------------------------------------------------------


def faded_tone(hz: float, seconds: float, sr: int, before_s: float, after_s: float) -> np.ndarray:
    """A tone with 5 ms raised-cosine edges between silences: its length is unambiguous."""
    t = np.arange(round(seconds * sr)) / sr
    x = 0.4 * np.sin(2 * np.pi * hz * t)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(round(0.005 * sr)) / round(0.005 * sr))
    x[: ramp.size] *= ramp
    x[x.size - ramp.size :] *= ramp[::-1]
    return np.concatenate([np.zeros(round(before_s * sr)), x, np.zeros(round(after_s * sr))])


FILE_RATE = 48000  # every codec below can keep it, Opus included
# Suffix, ffmpeg arguments, encoder, and how far the decoded length may stray: one codec
# frame (AAC 1024 samples, WMA 2048, Opus 20 ms) plus the 2 ms of ramps and rounding.
FORMATS = [
    pytest.param("m4a", ["-c:a", "aac", "-b:a", "96k"], "aac", 0.002 + 1024 / FILE_RATE, id="m4a"),
    pytest.param("opus", ["-c:a", "libopus", "-b:a", "64k"], "libopus", 0.022, id="opus"),
    pytest.param("wma", ["-c:a", "wmav2", "-b:a", "96k"], "wmav2", 0.002 + 2048 / FILE_RATE, id="wma"),
    pytest.param("aiff", ["-c:a", "pcm_s16be"], "pcm_s16be", 0.002, id="aiff"),
    pytest.param("webm", ["-c:a", "libopus", "-b:a", "64k"], "libopus", 0.022, id="webm"),
]  # fmt: skip


@pytest.mark.parametrize(("suffix", "args", "encoder", "tolerance_s"), FORMATS)
def test_cues_in_every_format_ffmpeg_reads(
    suffix: str, args: list[str], encoder: str, tolerance_s: float, tmp_path: Path
) -> None:
    require_encoder(encoder)
    press = faded_tone(880, 0.3, FILE_RATE, before_s=0.2, after_s=0.1)
    release = faded_tone(550, 0.5, FILE_RATE, before_s=0.1, after_s=0.3)
    # Stereo, the right channel at half the level: the cue is their mix, 0.75 of the left.
    encode(np.stack([press, 0.5 * press], axis=1), FILE_RATE, tmp_path / f"press.{suffix}", args)
    encode(release[:, None], FILE_RATE, tmp_path / f"Release.{suffix.upper()}", args)

    info = probe(tmp_path / f"press.{suffix}")
    assert (info.sample_rate, info.channels) == (FILE_RATE, 2)
    assert abs(info.seconds - press.size / FILE_RATE) < tolerance_s + 0.03  # container's word

    cues = load_cue_folder(tmp_path, RATE)
    for cue, hz, seconds in [("press", 880, 0.3), ("release", 550, 0.5)]:
        clip = cues[cue]
        assert (clip.channels, clip.sample_rate) == (1, RATE)
        x = mono(clip)
        assert abs(dominant_hz(x, RATE) / hz - 1) < 0.005, cue
        # Trimmed to the tone and 5 ms either side of it.
        assert abs(x.size / RATE - (seconds + 0.01)) < tolerance_s, (cue, x.size / RATE)
        peak = 0.4 * (0.75 if cue == "press" else 1.0)
        assert abs(db(np.abs(x).max() / peak)) < 1.0, cue  # levels are kept as recorded
    env = envelope(mono(cues["press"]), RATE)
    assert np.argmax(env > env.max() * 0.1) * HOP_S < 0.03  # starts on its mark
    assert cues["tick"] is synthesize_cue_set("bowl", RATE)["tick"]


def test_a_cue_file_is_read_at_its_own_rate(tmp_path: Path) -> None:
    """A file at 8 kHz still plays its pitch and length at the session's rate."""
    encode(
        faded_tone(600, 0.4, 8000, 0.05, 0.05)[:, None], 8000, tmp_path / "tick.m4a",
        ["-c:a", "aac", "-b:a", "24k"],
    )  # fmt: skip
    assert probe(tmp_path / "tick.m4a").sample_rate == 8000
    x = mono(load_cues(str(tmp_path), RATE)["tick"])
    assert abs(dominant_hz(x, RATE) / 600 - 1) < 0.005
    assert abs(x.size / RATE - 0.41) < 0.002 + 1024 / 8000


def test_load_cues_resolves_a_relative_folder_against_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mine").mkdir()
    sf.write(tmp_path / "mine" / "tick.wav", tone(800, 0.05, RATE), RATE)
    monkeypatch.chdir(tmp_path)
    cues = load_cues("mine", RATE)
    assert abs(dominant_hz(mono(cues["tick"]), RATE) / 800 - 1) < 0.02
    assert cue_lengths_ms(cues)["tick"] <= 50
    monkeypatch.chdir(tmp_path / "mine")
    with pytest.raises(SoundError, match="does not exist"):
        load_cues("mine", RATE)
    assert cue_lengths_ms(load_cues(str(tmp_path / "mine"), RATE))["tick"] <= 50


def test_an_empty_folder_lists_the_expected_names(tmp_path: Path) -> None:
    (tmp_path / "bell.wav").write_bytes(b"")
    with pytest.raises(SoundError) as info:
        load_cue_folder(tmp_path, RATE)
    message = str(info.value)
    assert str(tmp_path) in message and "none of the cue sounds" in message
    for cue in CUE_NAMES:
        assert f"{cue}.wav" in message


def test_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(SoundError, match=r"nowhere does not exist"):
        load_cues(str(tmp_path / "nowhere"), RATE)
    sf.write(tmp_path / "press.wav", tone(800, 0.05, RATE), RATE)
    with pytest.raises(SoundError, match=r"press\.wav is a file, not a folder"):
        load_cues(str(tmp_path / "press.wav"), RATE)


def test_a_corrupt_file_is_named(tmp_path: Path) -> None:
    sf.write(tmp_path / "tick.wav", tone(800, 0.05, RATE), RATE)
    (tmp_path / "press.wav").write_bytes(b"RIFF garbage, not a wave file at all" * 10)
    with pytest.raises(SoundError, match=r"cannot read cue sound .*press\.wav: .+"):
        load_cue_folder(tmp_path, RATE)


def test_a_corrupt_m4a_and_a_text_file_named_m4a(tmp_path: Path) -> None:
    whole = encode(
        faded_tone(440, 2.0, 44100, 0, 0)[:, None], 44100, tmp_path / "whole.m4a",
        ["-c:a", "aac"],
    )  # fmt: skip
    cut = tmp_path / "cut"
    cut.mkdir()
    # A download that stopped half-way: the index at the end of the MP4 is missing.
    (cut / "press.m4a").write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    text = tmp_path / "text"
    text.mkdir()
    (text / "press.m4a").write_text("these are my notes, not a sound\n" * 20)
    for folder in (cut, text):
        with pytest.raises(SoundError) as info:
            load_cue_folder(folder, RATE)
        message = str(info.value)
        assert f"cannot read cue sound {folder / 'press.m4a'}: " in message
        assert "replace it with a sound file" in message


def test_a_long_file_is_refused(tmp_path: Path) -> None:
    sf.write(tmp_path / "start.flac", np.zeros(31 * 8000, dtype=np.float32), 8000)
    with pytest.raises(SoundError, match=r"start\.flac is longer than 30 s"):
        load_cue_folder(tmp_path, RATE)
    other = tmp_path / "other"
    other.mkdir()
    encode(np.full((31 * 8000, 1), 0.1), 8000, other / "end.m4a", ["-c:a", "aac", "-b:a", "16k"])
    with pytest.raises(SoundError, match=r"end\.m4a is longer than 30 s"):
        load_cue_folder(other, RATE)


def test_two_files_for_one_cue_are_refused(tmp_path: Path) -> None:
    sf.write(tmp_path / "press.wav", tone(800, 0.05, RATE), RATE)
    sf.write(tmp_path / "PRESS.flac", tone(800, 0.05, RATE), RATE)
    with pytest.raises(SoundError, match="two sounds for 'press'"):
        load_cue_folder(tmp_path, RATE)


def test_without_ffmpeg_only_libsndfile_formats_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encode(tone(700, 0.2, 44100), 44100, tmp_path / "press.m4a", ["-c:a", "aac"])
    (tmp_path / "native").mkdir()
    sf.write(tmp_path / "native" / "press.flac", tone(700, 0.2, 44100), 44100)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no ffmpeg, no ffprobe
    with pytest.raises(SoundError) as info:
        load_cue_folder(tmp_path, RATE)
    message = str(info.value)
    assert str(tmp_path / "press.m4a") in message and "install ffmpeg" in message
    x = mono(load_cue_folder(tmp_path / "native", RATE)["press"])
    assert abs(dominant_hz(x, RATE) / 700 - 1) < 0.01
