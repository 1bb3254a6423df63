"""Tags and cover art: every value in every format, the audio untouched, MP3 chapters kept."""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from mutagen import id3
from mutagen.flac import FLAC, Picture
from mutagen.mp4 import MP4, MP4Cover
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE
from PIL import Image, ImageDraw

from acuvoice.errors import ExportError, UsageError
from acuvoice.export.cover import generate_cover
from acuvoice.export.tags import (
    MAX_COVER_PX,
    Tags,
    check_year,
    iso639_2,
    read_cover,
    write_tags,
)

FFMPEG = shutil.which("ffmpeg")
FFPROBE = shutil.which("ffprobe")
needs_ffmpeg = pytest.mark.needs_program("ffmpeg", "ffprobe")

RATE = 44_100
FRAMES = RATE  # one second
FORMATS = [
    "wav",
    "flac",
    "ogg",
    pytest.param("mp3", marks=needs_ffmpeg),
    pytest.param("m4a", marks=needs_ffmpeg),
]


@pytest.fixture(scope="module")
def png_cover() -> bytes:
    return generate_cover("Calm and Sleep", "12 minutes")


@pytest.fixture(scope="module")
def jpeg_cover() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1400, 1400), (40, 90, 100)).save(out, format="JPEG", quality=80)
    return out.getvalue()


def full_tags(cover: bytes, mime: str = "image/png") -> Tags:
    return Tags(
        title="Calm and Sleep — ünïcode ✓",
        artist="Mei Lin",
        album="acuvoice sessions",
        year="2025",
        genre="Health & Fitness",
        comment="Six points, twelve minutes.",
        language="en",
        cover=cover,
        cover_mime=mime,
    )


def make_audio(path: Path, fmt: str) -> Path:
    """Write one second of stereo tone in ``fmt`` the way the renderer does."""
    t = np.arange(FRAMES) / RATE
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    stereo = np.stack([tone, tone * 0.5], axis=1).astype(np.float32)
    if fmt in ("wav", "flac"):
        sf.write(path, stereo, RATE, format=fmt.upper(), subtype="PCM_16")
    elif fmt == "ogg":
        sf.write(path, stereo, RATE, format="OGG", subtype="VORBIS")
    else:
        assert FFMPEG is not None
        codec = ["-c:a", "libmp3lame", "-b:a", "128k", "-f", "mp3"] if fmt == "mp3" else [
            "-c:a", "aac", "-b:a", "128k", "-f", "ipod"]  # fmt: skip
        subprocess.run(
            [FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "f32le",
             "-ar", str(RATE), "-ac", "2", "-i", "pipe:0", *codec, str(path)],
            input=stereo.tobytes(), check=True,
        )  # fmt: skip
    return path


def decoded(path: Path, fmt: str) -> np.ndarray[Any, Any]:
    """The decoded samples (soundfile for WAV/FLAC/OGG, ffmpeg for MP3/M4A)."""
    if fmt in ("wav", "flac", "ogg"):
        data, rate = sf.read(path, dtype="int16")
        assert rate == RATE
        return np.asarray(data)
    assert FFMPEG is not None
    raw = subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(path),
         "-f", "s16le", "-ac", "2", "pipe:1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, dtype="<i2").reshape(-1, 2)


def probed_ms(path: Path) -> int:
    assert FFPROBE is not None
    out = subprocess.run(
        [FFPROBE, "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return round(float(out) * 1000)


# -- reading tags back -------------------------------------------------------------------------


def id3_of(path: Path, fmt: str) -> Any:
    tag = WAVE(path).tags if fmt == "wav" else id3.ID3(path)
    assert tag is not None
    return tag


def check_id3(path: Path, fmt: str, tags: Tags) -> None:
    tag = id3_of(path, fmt)
    assert tag.version == (2, 3, 0)
    assert tag["TIT2"].text == [tags.title]
    assert tag["TPE1"].text == [tags.artist]
    assert tag["TALB"].text == [tags.album]
    assert tag["TCON"].text == [tags.genre]
    assert str(tag["TDRC"].text[0]) == tags.year
    assert tag["TLAN"].text == ["eng"]
    [comment] = tag.getall("COMM")
    assert (comment.lang, comment.desc, comment.text) == ("eng", "", [tags.comment])
    [picture] = tag.getall("APIC")
    assert picture.type == id3.PictureType.COVER_FRONT
    assert (picture.mime, picture.data) == (tags.cover_mime, tags.cover)
    # ID3v2.3 has no TDRC: the year must be stored as TYER.
    raw = untranslated_id3(path, fmt)
    assert raw["TYER"].text == [tags.year]
    assert "TDRC" not in raw


def untranslated_id3(path: Path, fmt: str) -> Any:
    """The ID3 frames as stored (mutagen otherwise shows v2.3 TYER as TDRC)."""
    if fmt == "mp3":
        return id3.ID3(path, translate=False)
    data = path.read_bytes()  # a WAV file: the body of its "id3 " chunk
    at = data.index(b"id3 ")
    size = int.from_bytes(data[at + 4 : at + 8], "little")
    raw = id3.ID3()
    raw.load(io.BytesIO(data[at + 8 : at + 8 + size]), translate=False)
    return raw


def check_vorbis(path: Path, fmt: str, tags: Tags) -> None:
    audio: Any = FLAC(path) if fmt == "flac" else OggVorbis(path)
    expected = {"title": tags.title, "artist": tags.artist, "album": tags.album,
                "date": tags.year, "genre": tags.genre, "comment": tags.comment,
                "language": tags.language}  # fmt: skip
    for key, value in expected.items():
        assert audio[key] == [value], key
    if fmt == "flac":
        [picture] = audio.pictures
    else:
        [block] = audio["metadata_block_picture"]
        picture = Picture(base64.b64decode(block))
    assert picture.type == 3
    assert (picture.mime, picture.data) == (tags.cover_mime, tags.cover)
    assert tags.cover is not None
    with Image.open(io.BytesIO(tags.cover)) as image:
        assert (picture.width, picture.height) == image.size
    assert picture.depth == 24


def check_mp4(path: Path, fmt: str, tags: Tags) -> None:
    atoms = MP4(path).tags
    assert atoms is not None
    expected = {"\xa9nam": tags.title, "\xa9ART": tags.artist, "\xa9alb": tags.album,
                "\xa9day": tags.year, "\xa9gen": tags.genre, "\xa9cmt": tags.comment}  # fmt: skip
    for atom, value in expected.items():
        assert atoms[atom] == [value], atom
    assert [bytes(v) for v in atoms["----:com.apple.iTunes:LANGUAGE"]] == [b"eng"]
    [cover] = atoms["covr"]
    assert bytes(cover) == tags.cover
    kind = MP4Cover.FORMAT_PNG if tags.cover_mime == "image/png" else MP4Cover.FORMAT_JPEG
    assert cover.imageformat == kind


CHECKS: dict[str, Callable[[Path, str, Tags], None]] = {
    "wav": check_id3, "mp3": check_id3, "flac": check_vorbis, "ogg": check_vorbis,
    "m4a": check_mp4,
}  # fmt: skip


# -- every format -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_value_and_the_cover_are_written(tmp_path: Path, fmt: str, png_cover: bytes) -> None:
    path = make_audio(tmp_path / f"session.{fmt}", fmt)
    before = decoded(path, fmt)
    tags = full_tags(png_cover)

    write_tags(path, fmt, tags)

    CHECKS[fmt](path, fmt, tags)
    after = decoded(path, fmt)
    assert after.shape == before.shape
    assert np.array_equal(after, before)  # tags never touch the audio
    if fmt in ("wav", "flac", "ogg"):
        assert sf.info(path).frames == FRAMES
    else:
        # Lossy encoders add priming; decoders trim it (to within a frame for AAC).
        assert abs(len(after) - FRAMES) <= 2048
        assert abs(probed_ms(path) - 1000) <= 50


@pytest.mark.parametrize("fmt", FORMATS)
def test_jpeg_covers_keep_their_type(tmp_path: Path, fmt: str, jpeg_cover: bytes) -> None:
    path = make_audio(tmp_path / f"session.{fmt}", fmt)
    tags = full_tags(jpeg_cover, "image/jpeg")
    write_tags(path, fmt, tags)
    CHECKS[fmt](path, fmt, tags)


@pytest.mark.parametrize("fmt", FORMATS)
def test_writing_again_replaces_rather_than_adds(
    tmp_path: Path, fmt: str, png_cover: bytes, jpeg_cover: bytes
) -> None:
    path = make_audio(tmp_path / f"session.{fmt}", fmt)
    write_tags(path, fmt, full_tags(jpeg_cover, "image/jpeg"))
    tags = full_tags(png_cover)
    write_tags(path, fmt, tags)
    CHECKS[fmt](path, fmt, tags)  # one comment, one cover: the new ones


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_and_missing_values_are_left_out(tmp_path: Path, fmt: str) -> None:
    path = make_audio(tmp_path / f"session.{fmt}", fmt)
    write_tags(path, fmt, Tags(title="  Neck  ", artist="", comment="   ", language=None))
    if fmt in ("wav", "mp3"):
        tag = id3_of(path, fmt)
        assert tag["TIT2"].text == ["Neck"]
        assert not {"TPE1", "TALB", "TDRC", "TCON", "TLAN"} & set(tag.keys())
        assert not tag.getall("COMM") and not tag.getall("APIC")
    elif fmt in ("flac", "ogg"):
        audio: Any = FLAC(path) if fmt == "flac" else OggVorbis(path)
        assert audio["title"] == ["Neck"]
        for key in ("artist", "album", "date", "genre", "comment", "language"):
            assert key not in audio
        assert "metadata_block_picture" not in audio
        if fmt == "flac":
            assert not audio.pictures
    else:
        atoms = MP4(path).tags
        assert atoms is not None
        assert atoms["\xa9nam"] == ["Neck"]
        for atom in ("\xa9ART", "\xa9cmt", "covr", "----:com.apple.iTunes:LANGUAGE"):
            assert atom not in atoms


@needs_ffmpeg
def test_nothing_to_write_leaves_an_mp3_as_it_was(tmp_path: Path) -> None:
    path = make_audio(tmp_path / "session.mp3", "mp3")
    before = path.read_bytes()
    write_tags(path, "mp3", Tags(title="", cover_mime="image/jpeg"))
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("fmt", "language", "expected"),
    [
        pytest.param("mp3", "de-AT", "deu", marks=needs_ffmpeg),
        ("wav", "pt_BR", "por"),
        ("flac", "de-AT", "de-AT"),  # Vorbis comments keep the BCP 47 tag as given
        ("ogg", "zh-Hans", "zh-Hans"),
        pytest.param("m4a", "fr", "fra", marks=needs_ffmpeg),
    ],
)
def test_language_per_format(tmp_path: Path, fmt: str, language: str, expected: str) -> None:
    path = make_audio(tmp_path / f"session.{fmt}", fmt)
    write_tags(path, fmt, Tags(comment="hello", language=language))
    if fmt in ("mp3", "wav"):
        tag = id3_of(path, fmt)
        assert tag["TLAN"].text == [expected]
        assert tag.getall("COMM")[0].lang == expected
    elif fmt in ("flac", "ogg"):
        audio: Any = FLAC(path) if fmt == "flac" else OggVorbis(path)
        assert audio["language"] == [expected]
    else:
        atoms = MP4(path).tags
        assert atoms is not None
        assert bytes(atoms["----:com.apple.iTunes:LANGUAGE"][0]) == expected.encode()


def test_an_unknown_language_leaves_tlan_out_and_marks_the_comment_undetermined(
    tmp_path: Path,
) -> None:
    path = make_audio(tmp_path / "session.wav", "wav")
    write_tags(path, "wav", Tags(comment="hello", language="xx"))
    tag = id3_of(path, "wav")
    assert "TLAN" not in tag
    assert tag.getall("COMM")[0].lang == "und"


@pytest.mark.parametrize(
    ("tag", "code"),
    [("en", "eng"), ("en-GB", "eng"), ("EN_us", "eng"), ("de", "deu"), ("zh-Hans-CN", "zho"),
     ("nb", "nob"), ("fil", "fil"), ("xx", None), ("", None), (None, None), ("e", None)],
)  # fmt: skip
def test_iso639_2(tag: str | None, code: str | None) -> None:
    assert iso639_2(tag) == code


def test_a_full_date_becomes_tyer_and_tdat_in_id3v23(tmp_path: Path) -> None:
    path = make_audio(tmp_path / "session.wav", "wav")
    write_tags(path, "wav", Tags(year="2025-03-14"))
    raw = untranslated_id3(path, "wav")
    assert raw["TYER"].text == ["2025"]
    assert raw["TDAT"].text == ["1403"]


# -- MP3 chapters ------------------------------------------------------------------------------


def add_chapters(path: Path) -> None:
    tag = id3.ID3(path)
    tag.add(id3.CTOC(element_id="toc", flags=id3.CTOCFlags.TOP_LEVEL | id3.CTOCFlags.ORDERED,
                     child_element_ids=["chp000", "chp001"],
                     sub_frames=[id3.TIT2(encoding=3, text=["Chapters"])]))  # fmt: skip
    for i, (start, end, title) in enumerate([(0, 400, "Settle"), (400, 1000, "Press")]):
        tag.add(id3.CHAP(element_id=f"chp{i:03d}", start_time=start, end_time=end,
                         sub_frames=[id3.TIT2(encoding=3, text=[title])]))  # fmt: skip
    # As a v2.3 writer must: mutagen reads TYER as TDRC, and save() alone writes TDRC back.
    tag.update_to_v23()
    tag.save(path, v2_version=3)


def check_chapters(path: Path) -> None:
    tag = id3.ID3(path)
    toc = tag["CTOC:toc"]
    assert toc.child_element_ids == ["chp000", "chp001"]
    chapters = sorted(tag.getall("CHAP"), key=lambda c: c.element_id)
    assert [(c.start_time, c.end_time, c.sub_frames["TIT2"].text) for c in chapters] == [
        (0, 400, ["Settle"]),
        (400, 1000, ["Press"]),
    ]


@needs_ffmpeg
@pytest.mark.parametrize("order", ["chapters-first", "tags-first"])
def test_chapters_survive_tag_writing(tmp_path: Path, order: str, png_cover: bytes) -> None:
    path = make_audio(tmp_path / "session.mp3", "mp3")
    tags = full_tags(png_cover)
    if order == "chapters-first":
        add_chapters(path)
        write_tags(path, "mp3", tags)
    else:
        write_tags(path, "mp3", tags)
        add_chapters(path)
    check_chapters(path)
    check_id3(path, "mp3", tags)


# -- errors ------------------------------------------------------------------------------------


def test_an_unknown_format_is_an_export_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"unknown format 'aiff'; expected one of wav, flac"):
        write_tags(tmp_path / "a.aiff", "aiff", Tags(title="x"))


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "mp3", "m4a"])
def test_a_file_that_is_not_audio_is_an_export_error(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"broken.{fmt}"
    path.write_text("not audio at all " * 20)
    with pytest.raises(ExportError, match=rf"cannot write tags to broken\.{fmt}: "):
        write_tags(path, fmt, Tags(title="x"))


def test_a_missing_file_is_an_export_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"cannot write tags to gone\.flac"):
        write_tags(tmp_path / "gone.flac", "flac", Tags(title="x"))


def test_a_cover_whose_type_disagrees_is_an_export_error(tmp_path: Path, png_cover: bytes) -> None:
    path = make_audio(tmp_path / "session.flac", "flac")
    with pytest.raises(
        ExportError, match="is image/png data, but its type is given as 'image/jpeg'"
    ):
        write_tags(path, "flac", Tags(cover=png_cover, cover_mime="image/jpeg"))
    with pytest.raises(ExportError, match="the cover image is not PNG or JPEG data"):
        write_tags(path, "flac", Tags(cover=b"GIF89a....", cover_mime="image/gif"))


# -- the year ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kept"),
    [("2026", "2026"), ("2026-11", "2026-11"), ("2026-11-24", "2026-11-24"),
     ("2024-02-29", "2024-02-29"), (" 1999-12-31\n", "1999-12-31"), ("0001", "0001")],
)  # fmt: skip
def test_years_months_and_calendar_dates_are_accepted(value: str, kept: str) -> None:
    assert check_year(value) == kept


@pytest.mark.parametrize(
    "value",
    ["soon", "", "26", "20261", "2026-1", "2026-11-4", "2026/11/24", "24-11-2026", "2026-11-24T10:00",
     "２０２６", "2026 11"],
)  # fmt: skip
def test_what_is_not_a_year_is_refused_in_library_words(value: str) -> None:
    with pytest.raises(UsageError) as info:
        check_year(value)
    assert str(info.value) == f"{value!r} is not a year like 2026 or a date like 2026-11-24"


@pytest.mark.parametrize("value", ["2026-02-30", "2023-02-29", "2026-13", "2026-00", "2026-04-31",
                                   "2026-01-00", "0000"])  # fmt: skip
def test_a_date_not_on_the_calendar_is_refused(value: str) -> None:
    with pytest.raises(UsageError) as info:
        check_year(value)
    assert str(info.value) == (
        f"{value!r} is not a date on the calendar; give a year like 2026 or a date like 2026-11-24"
    )
    assert "--" not in str(info.value)  # no command-line flags: every front end shows it


def test_write_tags_refuses_a_bad_year_before_touching_the_file(tmp_path: Path) -> None:
    path = make_audio(tmp_path / "session.flac", "flac")
    before = path.read_bytes()
    for year in ("spring", "2026-02-30"):
        with pytest.raises(UsageError, match=rf"^'{year}' is not a"):
            write_tags(path, "flac", Tags(title="x", year=year))
    assert path.read_bytes() == before


def test_a_year_and_month_is_written(tmp_path: Path) -> None:
    wav = make_audio(tmp_path / "session.wav", "wav")
    write_tags(wav, "wav", Tags(year=" 2026-11 "))
    raw = untranslated_id3(wav, "wav")
    assert raw["TYER"].text == ["2026"] and "TDAT" not in raw  # v2.3 has no month alone
    flac = make_audio(tmp_path / "session.flac", "flac")
    write_tags(flac, "flac", Tags(year=" 2026-11 "))
    assert FLAC(flac)["date"] == ["2026-11"]


# -- generate_cover ----------------------------------------------------------------------------


def test_the_cover_is_a_1400px_square_png(png_cover: bytes) -> None:
    with Image.open(io.BytesIO(png_cover)) as image:
        assert (image.format, image.size, image.mode) == ("PNG", (1400, 1400), "RGB")


def test_the_cover_is_deterministic_and_follows_the_title(png_cover: bytes) -> None:
    assert generate_cover("Calm and Sleep", "12 minutes") == png_cover
    assert generate_cover("Neck and Shoulders", "12 minutes") != png_cover
    assert generate_cover("Calm and Sleep", "20 minutes") != png_cover


def test_other_sizes() -> None:
    with Image.open(io.BytesIO(generate_cover("Calm", size=600))) as image:
        assert image.size == (600, 600)
    with pytest.raises(ExportError, match="at least 200 px"):
        generate_cover("Calm", size=100)


def ink(data: bytes) -> np.ndarray[Any, Any]:
    """Where the cover has text-bright pixels (the background and rings stay far darker)."""
    with Image.open(io.BytesIO(data)) as image:
        gray = np.asarray(image.convert("L"), dtype=np.int16)
    return gray > 170


def line_count(bright: np.ndarray[Any, Any], top: int, bottom: int) -> int:
    """Runs of rows with bright pixels between ``top`` and ``bottom``: lines of text."""
    rows = bright[top:bottom].any(axis=1).astype(np.int8)
    return int((np.diff(np.concatenate([[0], rows])) == 1).sum())


@pytest.mark.parametrize(
    ("title", "subtitle"),
    [
        ("Calm", ""),
        ("Relief for Neck and Shoulder Tension After a Long Day at the Desk", "Evening routine"),
        ("word " * 300, "and a subtitle that goes on and on " * 10),
        ("Pneumonoultramicroscopicsilicovolcanoconiosis" * 4, ""),
        ("W" * 400, "M" * 400),
    ],
)
def test_text_stays_inside_the_margins(title: str, subtitle: str) -> None:
    size = 1400
    bright = ink(generate_cover(title, subtitle, size=size))
    band = round(size * 0.08)  # the layout keeps text 9% in from every edge
    inner = np.zeros_like(bright)
    inner[band:-band, band:-band] = True
    assert not (bright & ~inner).any()
    text_area = bright[round(size * 0.55) : round(size * 0.87)]
    assert text_area.sum() > 1000  # the title was drawn


def test_long_titles_wrap_to_at_most_four_lines() -> None:
    size = 1400
    top, bottom = round(size * 0.55), round(size * 0.87)
    assert line_count(ink(generate_cover("Calm", size=size)), top, bottom) == 1
    long = ink(generate_cover("word " * 300, size=size))  # no ascenders or descenders
    assert line_count(long, top, bottom) == 4


# -- read_cover --------------------------------------------------------------------------------


def save(path: Path, image: Image.Image, fmt: str, **options: Any) -> Path:
    image.save(path, format=fmt, **options)
    return path


def test_png_and_jpeg_are_used_as_they_are(tmp_path: Path) -> None:
    image = Image.new("RGB", (1400, 1400), (10, 80, 90))
    png = save(tmp_path / "c.png", image, "PNG")
    jpg = save(tmp_path / "c.jpg", image, "JPEG")
    assert read_cover(png) == (png.read_bytes(), "image/png")
    assert read_cover(jpg) == (jpg.read_bytes(), "image/jpeg")


@pytest.mark.parametrize("fmt", ["BMP", "GIF", "WEBP", "TIFF"])
def test_other_formats_become_png(tmp_path: Path, fmt: str) -> None:
    image = Image.new("RGB", (800, 600), (200, 120, 40))
    ImageDraw.Draw(image).ellipse((100, 100, 300, 300), fill=(0, 0, 255))
    data, mime = read_cover(save(tmp_path / f"c.{fmt.lower()}", image, fmt))
    assert mime == "image/png"
    with Image.open(io.BytesIO(data)) as out:
        assert (out.format, out.size) == ("PNG", (800, 600))


def test_huge_images_are_scaled_down_keeping_their_shape(tmp_path: Path) -> None:
    data, mime = read_cover(save(tmp_path / "big.png", Image.new("RGB", (5000, 4000)), "PNG"))
    with Image.open(io.BytesIO(data)) as out:
        assert (mime, out.format, out.size) == ("image/png", "PNG", (MAX_COVER_PX, 2400))
    data, mime = read_cover(save(tmp_path / "big.jpg", Image.new("RGB", (5000, 5000)), "JPEG"))
    with Image.open(io.BytesIO(data)) as out:
        assert (mime, out.format, out.size) == ("image/jpeg", "JPEG", (3000, 3000))


def test_transparency_survives_conversion(tmp_path: Path) -> None:
    image = Image.new("RGBA", (4000, 4000), (0, 0, 0, 0))
    data, _ = read_cover(save(tmp_path / "big.webp", image, "WEBP", lossless=True))
    with Image.open(io.BytesIO(data)) as out:
        assert out.mode == "RGBA" and out.size == (3000, 3000)


def test_cmyk_and_rotated_jpegs_are_redrawn_as_plain_rgb(tmp_path: Path) -> None:
    cmyk = save(tmp_path / "cmyk.jpg", Image.new("CMYK", (500, 500)), "JPEG")
    data, mime = read_cover(cmyk)
    with Image.open(io.BytesIO(data)) as out:
        assert (mime, out.mode) == ("image/jpeg", "RGB")

    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to view
    rotated = save(tmp_path / "rot.jpg", Image.new("RGB", (600, 400)), "JPEG", exif=exif)
    data, mime = read_cover(rotated)
    with Image.open(io.BytesIO(data)) as out:
        assert (mime, out.size) == ("image/jpeg", (400, 600))
        assert out.getexif().get(0x0112, 1) == 1


def test_a_text_file_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "cover.png"
    path.write_text("I am not a picture")
    with pytest.raises(UsageError, match=r"cover image cover\.png is not an image .* PNG or JPEG"):
        read_cover(path)


def test_a_damaged_image_is_a_usage_error(tmp_path: Path) -> None:
    good = save(tmp_path / "good.png", Image.effect_noise((500, 500), 40), "PNG")
    broken = tmp_path / "broken.png"
    broken.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(UsageError, match=r"cover image broken\.png is damaged"):
        read_cover(broken)


@pytest.mark.parametrize("side", [40, 100])  # past Pillow's limit: a warning, then an error
def test_a_decompression_bomb_is_a_usage_error(
    tmp_path: Path, side: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save(tmp_path / "bomb.png", Image.new("RGB", (side, side)), "PNG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(UsageError, match=r"cover image bomb\.png is far too large"):
        read_cover(path)


def test_a_missing_file_or_a_folder_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"cover image .*nope\.png does not exist"):
        read_cover(tmp_path / "nope.png")
    with pytest.raises(UsageError, match="is a folder; give an image file"):
        read_cover(tmp_path)


def test_a_read_cover_goes_into_a_file(tmp_path: Path) -> None:
    source = save(tmp_path / "c.bmp", Image.new("RGB", (1400, 1400), (90, 60, 120)), "BMP")
    data, mime = read_cover(source)
    path = make_audio(tmp_path / "session.flac", "flac")
    write_tags(path, "flac", Tags(cover=data, cover_mime=mime))
    [picture] = FLAC(path).pictures
    assert (picture.mime, picture.data, picture.width) == ("image/png", data, 1400)
