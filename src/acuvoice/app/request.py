"""What a front end asks for: one render, as a frozen, typed request."""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from acuvoice.errors import OutputError, UsageError
from acuvoice.export.formats import AUDIO_FORMAT_NAMES
from acuvoice.points.library import PointLibrary
from acuvoice.routine.loader import (
    BUILTIN_LANGUAGE,
    builtin_routine_path,
    load_routine,
    load_routine_text,
)
from acuvoice.routine.model import Routine
from acuvoice.session import SessionOptions
from acuvoice.validation import did_you_mean

_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*")


def _primary(tag: str) -> str:
    return tag.split("-")[0].lower()


@dataclass(frozen=True, slots=True)
class RoutineRef:
    """Which routine: a built-in one by name, a file, or YAML text with no file behind it.

    Exactly one of ``builtin``, ``path`` and ``text`` is set; use the constructors.

    Attributes:
        builtin: The name of a built-in routine (``acuvoice routines`` lists them).
        path: An absolute path to a routine file.
        text: The YAML of a routine (pasted into a page, sent to an API).
        shown: How problems name the routine (what the user typed, ``<text>``...).
        name: For text, the routine's name (it names the output files); default: made
            from its title.
        builtin_includes: For text, whether it may include the parts the built-in
            routines share (``include: common/closing.yaml``); nothing else is readable.
        language: The language asked for (a BCP 47 tag). For a built-in routine it picks
            the translation (``routines/<lang>/<name>.yaml``); a file or text decides its
            own language with ``language:``, and one asked for that differs is an error.
    """

    builtin: str | None = None
    path: Path | None = None
    text: str | None = None
    shown: str | None = None
    name: str | None = None
    builtin_includes: bool = False
    language: str | None = None

    def __post_init__(self) -> None:
        given = [x is not None for x in (self.builtin, self.path, self.text)]
        if sum(given) != 1:
            raise UsageError("a routine is named by exactly one of: a built-in name, a file, text")
        if self.path is not None and not self.path.is_absolute():
            raise UsageError(f"a routine file must be given by an absolute path, not {self.path}")
        if self.language is not None and not _LANGUAGE_TAG.fullmatch(self.language):
            raise UsageError(
                f"{self.language!r} is not a language tag; use one like es, fr, de or en-GB"
            )

    @classmethod
    def named(cls, name: str, *, language: str | None = None) -> RoutineRef:
        """A built-in routine, in ``language`` (English when not given)."""
        return cls(builtin=name, language=language)

    def in_language(self, language: str | None) -> RoutineRef:
        """The same routine, asked for in ``language`` (``None``: as written)."""
        return dataclasses.replace(self, language=language)

    @classmethod
    def file(cls, path: str | os.PathLike[str], *, shown: str | None = None) -> RoutineRef:
        """A routine file (made absolute; ``~`` expanded)."""
        absolute = Path(path).expanduser().absolute()
        return cls(path=absolute, shown=shown or os.fspath(path))

    @classmethod
    def yaml(
        cls,
        text: str,
        *,
        name: str | None = None,
        shown: str = "<text>",
        builtin_includes: bool = False,
    ) -> RoutineRef:
        """A routine given as YAML text; it may not name sound or voice files, nor include
        files other than the built-in routines' shared parts (with ``builtin_includes``)."""
        return cls(text=text, name=name, shown=shown, builtin_includes=builtin_includes)

    @classmethod
    def from_argument(cls, value: str, cwd: Path) -> RoutineRef:
        """What a user typed: a path (relative to ``cwd``) or a built-in routine's name.

        A value that names an existing file, ends in ``.yaml``/``.yml`` or holds a folder
        separator is a path; anything else is a built-in name.
        """
        path = Path(value).expanduser()
        if not path.is_absolute():
            path = cwd / path
        if (
            path.is_file()
            or path.suffix.lower() in {".yaml", ".yml"}
            or "/" in value
            or os.sep in value
        ):
            return cls(path=path.absolute(), shown=value)
        return cls(builtin=value)

    def load(self, library: PointLibrary) -> Routine:
        """Load and validate the routine.

        Raises:
            RoutineError: Unknown built-in name, or the routine is invalid (every problem).
        """
        routine = self._load(library)
        wanted = self.language
        if (
            wanted is not None
            and self.builtin is None
            and _primary(wanted) != _primary(routine.language)
        ):
            raise UsageError(
                f"{self.label} is written in {routine.language!r} (its `language:`), not "
                f"{wanted!r}: a routine file decides its own language; translate it, or ask "
                f"for {routine.language!r}"
            )
        return routine

    def _load(self, library: PointLibrary) -> Routine:
        if self.text is not None:
            return load_routine_text(
                self.text,
                name=self.name,
                shown=self.shown or "<text>",
                library=library,
                builtin_includes=self.builtin_includes,
            )
        if self.path is not None:
            return load_routine(self.path, library=library, shown=self.shown)
        assert self.builtin is not None
        path = builtin_routine_path(self.builtin, self.language)
        return load_routine(path, library=library, shown=self.label)

    @property
    def label(self) -> str:
        """How the routine is named in messages."""
        if self.shown:
            return self.shown
        if self.builtin is not None:
            if self.language is not None and _primary(self.language) != BUILTIN_LANGUAGE:
                return f"<built-in>/{_primary(self.language)}/{self.builtin}.yaml"
            return f"<built-in>/{self.builtin}.yaml"
        return str(self.path)


#: File suffixes and the format each holds.
SUFFIX_FORMATS = {
    **{name: name for name in AUDIO_FORMAT_NAMES},
    "m4b": "m4a",
    "mp4": "m4a",
    "aac": "m4a",
}


@dataclass(frozen=True, slots=True)
class OutputChoices:
    """What files a render writes.

    Attributes:
        format: ``mp3``, ``wav``, ``flac``, ``ogg`` or ``m4a``.
        name: The audio file's name without its suffix; default: the routine's name.
        suffix: The audio file's suffix when it is not the format's own (``m4b`` or ``mp4``
            for M4A); default: the format's name.
        channels: 1 (mono) or 2 (stereo).
        bitrate_kbps: MP3 and M4A bit rate, 32 to 320.
        chapters: Embed chapters (MP3 ID3 CHAP/CTOC, M4A chapter atoms).
        stems: Also write the voice, cue and ambience stems (24-bit WAV).
        transcript: Also write a WebVTT transcript beside the audio (bundles always have one).
        bundle: Write every deliverable and ``manifest.json``: the audio, transcripts,
            chapters, labels, the companion sheet, the cover.
        pdf: In a bundle, print the companion sheet to PDF where Chromium is installed.
        encode_jobs: MP3: encode in this many chunks at once, joined gaplessly (see
            :class:`~acuvoice.render.OutputOptions`); 1 writes one stream.
    """

    format: str = "mp3"
    name: str | None = None
    suffix: str | None = None
    channels: int = 2
    bitrate_kbps: int = 128
    chapters: bool = True
    stems: bool = False
    transcript: bool = False
    bundle: bool = False
    pdf: bool = True
    encode_jobs: int = 1

    def check(self) -> None:
        """Check the choices on their own.

        Raises:
            OutputError: An unknown format, a bad file name, channels or bit rate.
        """
        if self.format not in AUDIO_FORMAT_NAMES:
            raise OutputError(
                f"unknown audio format {self.format!r}{did_you_mean(self.format, AUDIO_FORMAT_NAMES)}; "
                f"choose one of {', '.join(AUDIO_FORMAT_NAMES)}"
            )
        if self.name is not None:
            check_file_name(self.name)
        if self.suffix is not None and SUFFIX_FORMATS.get(self.suffix.lower()) != self.format:
            raise OutputError(f"a .{self.suffix} file cannot hold {self.format} audio")
        if self.channels not in (1, 2):
            raise OutputError(f"a session has 1 or 2 channels, not {self.channels}")
        if not 32 <= self.bitrate_kbps <= 320:
            raise OutputError(
                f"the bit rate must be from 32 to 320 kbit/s, not {self.bitrate_kbps}"
            )
        if self.encode_jobs < 1:
            raise OutputError(f"encoding needs at least 1 job, not {self.encode_jobs}")


def check_file_name(name: str) -> None:
    """Refuse a file name that is empty, hidden, or would leave its folder.

    Raises:
        OutputError: The name cannot be used.
    """
    if not name or name.strip() != name or name in {".", ".."}:
        raise OutputError(f"{name!r} cannot be a file name")
    if "/" in name or "\\" in name or "\0" in name:
        raise OutputError(f"a file name may not hold a folder separator: {name!r}")
    if name.startswith("."):
        raise OutputError(f"{name!r} would be a hidden file; choose a name without a leading dot")


@dataclass(frozen=True, slots=True)
class TagOverrides:
    """Tags to write instead of the routine's (``None`` keeps the default).

    Defaults: the routine's title, its ``author`` as the artist (none without one), album
    "acuvoice sessions" and genre "Health & Fitness" (in the routine's language), the summary
    as comment, no year.
    """

    title: str | None = None
    artist: str | None = None
    album: str | None = None
    genre: str | None = None
    comment: str | None = None
    year: str | None = None


@dataclass(frozen=True, slots=True)
class CoverChoice:
    """The cover image: generated from the title (the default), an image file, or none."""

    file: Path | None = None
    generate: bool = True

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> CoverChoice:
        """An image file (made absolute; ``~`` expanded)."""
        return cls(file=Path(path).expanduser().absolute())

    @classmethod
    def none(cls) -> CoverChoice:
        """No cover image."""
        return cls(generate=False)


@dataclass(frozen=True, slots=True)
class RenderRequest:
    """Everything about one render; equal requests make equal files.

    Attributes:
        routine: Which routine.
        session: Voice, target, profile, sounds, levels (``None`` fields keep the routine's).
        output: Format, name, channels, bit rate, chapters, stems, transcript, bundle.
        tags: Tag overrides.
        cover: The cover image.
    """

    routine: RoutineRef
    session: SessionOptions = field(default_factory=SessionOptions)
    output: OutputChoices = field(default_factory=OutputChoices)
    tags: TagOverrides = field(default_factory=TagOverrides)
    cover: CoverChoice = field(default_factory=CoverChoice)
