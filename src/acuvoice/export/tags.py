"""Write tags and cover art into finished audio files (WAV, FLAC, OGG, MP3, M4A) with mutagen.

Where each value goes:

=========  ==================  ==================  ==========================================
value      MP3 and WAV (ID3)   FLAC and OGG        M4A
=========  ==================  ==================  ==========================================
title      TIT2                TITLE               ©nam
artist     TPE1                ARTIST              ©ART
album      TALB                ALBUM               ©alb
year       TYER (TDAT)         DATE                ©day
genre      TCON                GENRE               ©gen
comment    COMM (lang, "")     COMMENT             ©cmt
language   TLAN (ISO 639-2)    LANGUAGE (BCP 47)   ----:com.apple.iTunes:LANGUAGE (ISO 639-2)
cover      APIC front cover    picture, type 3     covr
=========  ==================  ==================  ==========================================

ID3 tags are written as version 2.3, which more players read than 2.4. MP4 has no standard
atom for the language of the words (the track's ``mdhd`` language is set by the encoder), so
it goes in the freeform atom MusicBrainz Picard uses. OGG stores the picture as a
``METADATA_BLOCK_PICTURE`` comment: a FLAC picture block in base64.

Tags are merged into what the file holds: frames this module does not write (MP3 chapter
frames, encoder notes) survive, whether they were written before or after.
"""

# mutagen's API is mostly unannotated; this module is its adapter.
# mypy: allow-untyped-calls

from __future__ import annotations

import base64
import datetime
import io
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mutagen import MutagenError, id3
from mutagen.flac import FLAC, Picture
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4, AtomDataType, MP4Cover, MP4FreeForm
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from acuvoice.errors import ExportError, UsageError

#: Longest side of a cover read from the user (Apple Podcasts takes 1400 to 3000 px).
MAX_COVER_PX = 3000

PNG = "image/png"
JPEG = "image/jpeg"

_MAGIC = {b"\x89PNG\r\n\x1a\n": PNG, b"\xff\xd8\xff": JPEG}
_FRONT_COVER = 3  # picture type in ID3 APIC and FLAC picture blocks
_YEAR = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")

# ISO 639-1 -> ISO 639-2/T (the same as ISO 639-3 for these), from Debian's iso-codes.
_ISO639_2 = dict(
    re.findall(
        r"(\w\w):(\w{3})",
        """
aa:aar ab:abk ae:ave af:afr ak:aka am:amh an:arg ar:ara as:asm av:ava ay:aym az:aze ba:bak
be:bel bg:bul bh:bih bi:bis bm:bam bn:ben bo:bod br:bre bs:bos ca:cat ce:che ch:cha co:cos
cr:cre cs:ces cu:chu cv:chv cy:cym da:dan de:deu dv:div dz:dzo ee:ewe el:ell en:eng eo:epo
es:spa et:est eu:eus fa:fas ff:ful fi:fin fj:fij fo:fao fr:fra fy:fry ga:gle gd:gla gl:glg
gn:grn gu:guj gv:glv ha:hau he:heb hi:hin ho:hmo hr:hrv ht:hat hu:hun hy:hye hz:her ia:ina
id:ind ie:ile ig:ibo ii:iii ik:ipk io:ido is:isl it:ita iu:iku ja:jpn jv:jav ka:kat kg:kon
ki:kik kj:kua kk:kaz kl:kal km:khm kn:kan ko:kor kr:kau ks:kas ku:kur kv:kom kw:cor ky:kir
la:lat lb:ltz lg:lug li:lim ln:lin lo:lao lt:lit lu:lub lv:lav mg:mlg mh:mah mi:mri mk:mkd
ml:mal mn:mon mr:mar ms:msa mt:mlt my:mya na:nau nb:nob nd:nde ne:nep ng:ndo nl:nld nn:nno
no:nor nr:nbl nv:nav ny:nya oc:oci oj:oji om:orm or:ori os:oss pa:pan pi:pli pl:pol ps:pus
pt:por qu:que rm:roh rn:run ro:ron ru:rus rw:kin sa:san sc:srd sd:snd se:sme sg:sag si:sin
sk:slk sl:slv sm:smo sn:sna so:som sq:sqi sr:srp ss:ssw st:sot su:sun sv:swe sw:swa ta:tam
te:tel tg:tgk th:tha ti:tir tk:tuk tl:tgl tn:tsn to:ton tr:tur ts:tso tt:tat tw:twi ty:tah
ug:uig uk:ukr ur:urd uz:uzb ve:ven vi:vie vo:vol wa:wln wo:wol xh:xho yi:yid yo:yor za:zha
zh:zho zu:zul
""",
    )
)


@dataclass(frozen=True, slots=True)
class Tags:
    """What to write into a file; ``None`` and empty values are left out.

    Attributes:
        title: The session's title.
        artist: Who made the routine.
        album: The collection the session belongs to.
        year: A year ("2025"), a month ("2025-03") or a date ("2025-03-14"); see
            :func:`check_year`.
        genre: For example "Health & Fitness".
        comment: A line or two about the session.
        language: The language spoken, as a BCP 47 tag ("en", "pt-BR").
        cover: Front cover image, PNG or JPEG data (see :func:`read_cover`).
        cover_mime: ``"image/png"`` or ``"image/jpeg"``, matching ``cover``.
    """

    title: str | None = None
    artist: str | None = None
    album: str | None = None
    year: str | None = None
    genre: str | None = None
    comment: str | None = None
    language: str | None = None
    cover: bytes | None = None
    cover_mime: str = PNG


@dataclass(frozen=True, slots=True)
class _Cover:
    """Cover data checked and measured, as picture blocks need it."""

    data: bytes
    mime: str
    width: int
    height: int
    depth: int


def write_tags(path: Path, fmt: str, tags: Tags) -> None:
    """Write ``tags`` into the audio file at ``path``, keeping what else its tags hold.

    Args:
        path: A finished audio file.
        fmt: Its format: ``wav``, ``flac``, ``ogg``, ``mp3`` or ``m4a``.
        tags: The values; ``None`` and empty ones are not written.

    Raises:
        UsageError: The year is not one :func:`check_year` accepts.
        ExportError: The format is not one of those, the cover is malformed, or the file
            could not be read or written.
    """
    writer = _WRITERS.get(fmt)
    if writer is None:
        raise ExportError(
            f"cannot write tags to {path.name}: unknown format {fmt!r}; "
            f"expected one of {', '.join(_WRITERS)}"
        )
    if year := _text(tags.year):
        tags = replace(tags, year=check_year(year))
    cover = _check_cover(tags.cover, tags.cover_mime) if tags.cover else None
    try:
        writer(path, tags, cover)
    except (MutagenError, OSError, ValueError) as exc:
        raise ExportError(f"cannot write tags to {path.name}: {exc}") from exc


def check_year(value: str) -> str:
    """Check a year or date for the year tag: ``2026``, ``2026-11`` or ``2026-11-24``.

    The one rule for every front end (command line, web, catalogs), so that a year that
    passes here is written into every format. A date must be on the calendar (not
    ``2026-02-30``); digits are ASCII; space around the value is dropped.

    Args:
        value: The year or date as the user gave it.

    Returns:
        The value without surrounding space.

    Raises:
        UsageError: The value is not a year like 2026 or a date like 2026-11-24.
    """
    text = value.strip()
    match = _YEAR.fullmatch(text)
    if match is None:
        raise UsageError(f"{value!r} is not a year like 2026 or a date like 2026-11-24")
    year, month, day = (int(part) if part else 1 for part in match.groups())
    try:
        datetime.date(year, month, day)
    except ValueError:
        raise UsageError(
            f"{value!r} is not a date on the calendar; give a year like 2026 or a date "
            "like 2026-11-24"
        ) from None
    return text


def read_cover(path: Path) -> tuple[bytes, str]:
    """Read a user's cover image, ready for :class:`Tags`.

    PNG and JPEG files up to :data:`MAX_COVER_PX` on their longest side are used as they
    are. Larger ones are scaled down to fit, keeping their shape; other formats Pillow
    reads (WebP, GIF, BMP, TIFF...) become PNG; CMYK or rotated (EXIF) JPEGs are redrawn
    as plain RGB, which every player shows.

    Args:
        path: The image file.

    Returns:
        ``(data, mime)`` with mime ``"image/png"`` or ``"image/jpeg"``.

    Raises:
        UsageError: The file is missing, unreadable, or not an image.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"cover image {path} does not exist") from None
    except IsADirectoryError:
        raise UsageError(f"cover image {path} is a folder; give an image file") from None
    except OSError as exc:
        raise UsageError(f"cannot read cover image {path}: {exc.strerror or exc}") from exc
    try:
        with warnings.catch_warnings():
            # Pillow only warns about images past its pixel limit; a cover that size is a mistake.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                source_format = opened.format
                rotated = opened.getexif().get(ExifTags.Base.Orientation, 1) != 1
                image = ImageOps.exif_transpose(opened)  # a loaded copy, upright
    except UnidentifiedImageError as exc:
        raise UsageError(
            f"cover image {path.name} is not an image that can be read; use a PNG or JPEG file"
        ) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UsageError(
            f"cover image {path.name} is far too large; use one of at most "
            f"{MAX_COVER_PX} x {MAX_COVER_PX} pixels"
        ) from exc
    except (OSError, ValueError, SyntaxError) as exc:  # truncated or corrupt image data
        raise UsageError(f"cover image {path.name} is damaged: {exc}") from exc

    too_big = max(image.size) > MAX_COVER_PX
    if not too_big and not rotated:
        if source_format == "PNG":
            return data, PNG
        if source_format == "JPEG" and image.mode in ("RGB", "L"):
            return data, JPEG
    icc = image.info.get("icc_profile")
    if source_format == "JPEG":
        mime, kind, mode = JPEG, "JPEG", "L" if image.mode == "L" else "RGB"
    else:
        has_alpha = "A" in image.getbands() or "transparency" in image.info
        gray = image.mode in ("1", "L", "LA")
        mime, kind, mode = PNG, "PNG", ("L" if gray else "RGB") + ("A" if has_alpha else "")
    # Converting first also lets palette images be scaled smoothly.
    image = image.convert(mode) if image.mode != mode else image
    if too_big:
        image.thumbnail((MAX_COVER_PX, MAX_COVER_PX), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    options = {"quality": 92} if kind == "JPEG" else {}
    image.save(out, format=kind, icc_profile=icc, **options)
    return out.getvalue(), mime


def iso639_2(language: str | None) -> str | None:
    """The ISO 639-2 code ID3 uses ("eng") for a BCP 47 tag ("en-GB"), if there is one."""
    primary = (language or "").strip().replace("_", "-").split("-")[0].lower()
    if len(primary) == 3 and primary.isalpha():
        return primary
    return _ISO639_2.get(primary)


def _text(value: str | None) -> str | None:
    """The value stripped, or ``None`` when there is nothing to write."""
    if value is None:
        return None
    return value.strip() or None


def _check_cover(data: bytes, mime: str) -> _Cover:
    """Check the cover is PNG or JPEG as ``mime`` says, and measure it."""
    sniffed = next((kind for magic, kind in _MAGIC.items() if data.startswith(magic)), None)
    if sniffed is None:
        raise ExportError("the cover image is not PNG or JPEG data")
    if mime.lower() != sniffed:
        raise ExportError(f"the cover image is {sniffed} data, but its type is given as {mime!r}")
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            bands = len(image.getbands())
            bits = 1 if image.mode == "1" else 16 if image.mode.startswith("I;16") else 8
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ExportError(f"the cover image cannot be read: {exc}") from exc
    return _Cover(data, sniffed, width, height, bands * bits)


def _flac_picture(cover: _Cover) -> Picture:
    picture = Picture()
    picture.type = _FRONT_COVER
    picture.mime = cover.mime
    picture.desc = ""
    picture.width = cover.width
    picture.height = cover.height
    picture.depth = cover.depth
    picture.data = cover.data
    return picture


def _id3_frames(tags: Tags, cover: _Cover | None) -> list[Any]:
    """The ID3 frames for ``tags``; ``update_to_v23`` turns TDRC into TYER (and TDAT)."""
    utf8 = id3.Encoding.UTF8  # saved as UTF-16 in v2.3, which has no UTF-8
    lang = iso639_2(tags.language)
    text_frames: list[tuple[Callable[..., Any], str | None]] = [
        (id3.TIT2, tags.title),
        (id3.TPE1, tags.artist),
        (id3.TALB, tags.album),
        (id3.TDRC, tags.year),
        (id3.TCON, tags.genre),
        (id3.TLAN, lang if _text(tags.language) else None),
    ]
    frames = [
        kind(encoding=utf8, text=[value]) for kind, raw in text_frames if (value := _text(raw))
    ]
    if comment := _text(tags.comment):
        frames.append(id3.COMM(encoding=utf8, lang=lang or "und", desc="", text=[comment]))
    if cover is not None:
        front = id3.PictureType.COVER_FRONT
        frames.append(
            id3.APIC(encoding=utf8, mime=cover.mime, type=front, desc="", data=cover.data)
        )
    return frames


def _merge_id3(tag: Any, frames: list[Any]) -> None:
    """Put ``frames`` into ``tag``, replacing the comment and front cover we write."""
    for frame in frames:
        if frame.FrameID == "COMM":
            for old in tag.getall("COMM"):
                if old.desc == "":
                    del tag[old.HashKey]
        elif frame.FrameID == "APIC":
            for old in tag.getall("APIC"):
                if old.type == _FRONT_COVER:
                    del tag[old.HashKey]
        tag.add(frame)


def _write_mp3(path: Path, tags: Tags, cover: _Cover | None) -> None:
    if frames := _id3_frames(tags, cover):
        _save_id3(MP3(str(path)), frames)  # MP3() checks the file is MPEG audio


def _write_wav(path: Path, tags: Tags, cover: _Cover | None) -> None:
    if frames := _id3_frames(tags, cover):
        _save_id3(WAVE(str(path)), frames)


def _save_id3(audio: Any, frames: list[Any]) -> None:
    """Merge ``frames`` into the file's ID3 tag (made if missing) and save it as v2.3."""
    if audio.tags is None:
        audio.add_tags()
    tag: Any = audio.tags
    _merge_id3(tag, frames)
    tag.update_to_v23()  # save(v2_version=3) alone would keep v2.4-only frames (TDRC)
    audio.save(v2_version=3)


def _vorbis_comments(audio: Any, tags: Tags) -> None:
    values = {"TITLE": tags.title, "ARTIST": tags.artist, "ALBUM": tags.album,
              "DATE": tags.year, "GENRE": tags.genre, "COMMENT": tags.comment,
              "LANGUAGE": tags.language}  # fmt: skip
    for key, raw in values.items():
        if value := _text(raw):
            audio[key] = [value]


def _write_flac(path: Path, tags: Tags, cover: _Cover | None) -> None:
    audio = FLAC(str(path))
    _vorbis_comments(audio, tags)
    if cover is not None:
        others = [p for p in audio.pictures if p.type != _FRONT_COVER]
        audio.clear_pictures()
        for picture in [*others, _flac_picture(cover)]:
            audio.add_picture(picture)
    audio.save()


def _write_ogg(path: Path, tags: Tags, cover: _Cover | None) -> None:
    audio = OggVorbis(str(path))
    _vorbis_comments(audio, tags)
    if cover is not None:
        kept = [b for b in audio.get("METADATA_BLOCK_PICTURE", []) if not _is_front_cover(b)]
        block = base64.b64encode(_flac_picture(cover).write()).decode("ascii")
        audio["METADATA_BLOCK_PICTURE"] = [*kept, block]
    audio.save()


def _is_front_cover(block: str) -> bool:
    """Whether a ``METADATA_BLOCK_PICTURE`` value is a front cover (unreadable ones are not)."""
    try:
        return bool(Picture(base64.b64decode(block)).type == _FRONT_COVER)
    except (MutagenError, ValueError):
        return False


def _write_m4a(path: Path, tags: Tags, cover: _Cover | None) -> None:
    audio = MP4(str(path))
    if audio.tags is None:
        audio.add_tags()
    atom_tags: Any = audio.tags
    atoms = {"\xa9nam": tags.title, "\xa9ART": tags.artist, "\xa9alb": tags.album,
             "\xa9day": tags.year, "\xa9gen": tags.genre, "\xa9cmt": tags.comment}  # fmt: skip
    for atom, raw in atoms.items():
        if value := _text(raw):
            atom_tags[atom] = [value]
    if language := _text(tags.language):
        code = iso639_2(language) or language
        atom_tags["----:com.apple.iTunes:LANGUAGE"] = [
            MP4FreeForm(code.encode("utf-8"), dataformat=AtomDataType.UTF8)
        ]
    if cover is not None:
        kind = MP4Cover.FORMAT_PNG if cover.mime == PNG else MP4Cover.FORMAT_JPEG
        atom_tags["covr"] = [MP4Cover(cover.data, imageformat=kind)]
    audio.save()


_WRITERS: dict[str, Callable[[Path, Tags, _Cover | None], None]] = {
    "wav": _write_wav,
    "flac": _write_flac,
    "ogg": _write_ogg,
    "mp3": _write_mp3,
    "m4a": _write_m4a,
}
