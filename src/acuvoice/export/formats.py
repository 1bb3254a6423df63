"""The names of the audio formats a session is written in, without the writers behind them.

:data:`acuvoice.export.audio.AUDIO_FORMATS` holds the writers, in this order; requests and
command lines check a format's name against :data:`AUDIO_FORMAT_NAMES` without loading the
audio stack.
"""

from __future__ import annotations

#: Output formats by file suffix, in the order ``AUDIO_FORMATS`` lists them.
AUDIO_FORMAT_NAMES: tuple[str, ...] = ("wav", "flac", "ogg", "mp3", "m4a")
