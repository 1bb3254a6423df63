"""The names of the audio and script formats, without the writers behind them.

:data:`acuvoice.export.audio.AUDIO_FORMATS` and :data:`acuvoice.export.scripts.SCRIPT_FORMATS`
hold the writers, in these orders; requests and command lines check a format's name here
without loading the audio stack or the formatters.
"""

from __future__ import annotations

#: Output formats by file suffix, in the order ``AUDIO_FORMATS`` lists them.
AUDIO_FORMAT_NAMES: tuple[str, ...] = ("wav", "flac", "ogg", "mp3", "m4a")
#: Script formats, in the order ``SCRIPT_FORMATS`` lists them.
SCRIPT_FORMAT_NAMES: tuple[str, ...] = ("text", "json", "vtt", "srt", "txt", "ssml",
                                        "chapters-vtt", "chapters-json", "audacity", "ffmetadata")  # fmt: skip
