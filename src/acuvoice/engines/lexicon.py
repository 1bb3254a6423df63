"""Respellings that make voices phonemized by espeak-ng say words the way listeners know them.

espeak-ng, which turns text into phonemes for piper, reads "acupressure" as "ACK-uh-pressure";
a recognizer heard it as "acapressure" in every session. The voice is given the respelled
text; transcripts, timelines and the cache key keep the words as written.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping

#: Per language (primary subtag): the word as written -> how to spell it for espeak-ng.
RESPELLINGS: Mapping[str, Mapping[str, str]] = {
    "en": {
        # 'akju:pr,ES3: "ACK-yoo-presh-er". Measured with piper's joe voice and Whisper
        # tiny.en: "acupressure" heard as such in 0 of 6 clips as written, 5 of 6 respelled.
        "acupressure": "ackyupressure",
    },
}


def respell(text: str, language: str) -> str:
    """``text`` with the words of :data:`RESPELLINGS` for ``language`` respelled.

    Whole words only (``self-acupressure`` too), ignoring case; a capital first letter stays.
    """
    table = RESPELLINGS.get(language.split("-")[0].lower())
    if not table:
        return text
    return _pattern(language.split("-")[0].lower()).sub(lambda m: _replace(m, table), text)


def lexicon_id(language: str) -> str:
    """A short hash of the respellings for ``language``, for engine fingerprints: a change to
    them makes the cache synthesize the affected voices again."""
    table = RESPELLINGS.get(language.split("-")[0].lower(), {})
    text = json.dumps(table, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


@functools.cache
def _pattern(primary: str) -> re.Pattern[str]:
    words = sorted(RESPELLINGS[primary], key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)


def _replace(match: re.Match[str], table: Mapping[str, str]) -> str:
    found = match.group(0)
    new = table[found.lower()]
    return new[0].upper() + new[1:] if found[0].isupper() else new
