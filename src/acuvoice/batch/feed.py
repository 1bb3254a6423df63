"""A podcast feed (RSS 2.0 with iTunes and Podcasting 2.0 tags) of a batch's renders.

The feed lists every complete render of a batch output folder, in the catalog's order
(``batch.json``), as numbered episodes: the audio as the enclosure (its length the file's
size), its duration, the bundle's chapters (``podcast:chapters``) and transcripts
(``podcast:transcript``), and the content key as the episode's guid. The channel gets a
``podcast:guid`` (UUIDv5 of the feed's URL in the Podcasting 2.0 namespace) and a square
cover of 1400 px (generated from the title unless one is given).
"""

from __future__ import annotations

import json
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from acuvoice.errors import UsageError
from acuvoice.files import atomic_output, write_text_atomic

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST = "https://podcastindex.org/namespace/1.0"
ATOM = "http://www.w3.org/2005/Atom"
#: The Podcasting 2.0 namespace for ``podcast:guid`` (UUIDv5 of the feed URL).
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
FEED_NAME = "feed.xml"
COVER_NAME = "cover.png"
_MIME = {
    "mp3": "audio/mpeg",
    "m4a": "audio/x-m4a",
    "m4b": "audio/x-m4a",
    "mp4": "audio/mp4",
    "ogg": "audio/ogg",
    "flac": "audio/flac",
    "wav": "audio/wav",
}


@dataclass(frozen=True, slots=True)
class FeedOptions:
    """What the channel says about itself.

    Attributes:
        base_url: Where the output folder is published (``https://example.org/sessions``);
            file URLs are made from it.
        title: The show's title (default: the catalog's title, else "acuvoice sessions").
        author: ``itunes:author`` and the owner's name.
        description: The show's description.
        language: The channel's language (default: the first episode's).
        image: A square PNG or JPEG of 1400 to 3000 px (default: one generated).
        serial: Episodes are meant in order (a practice plan): ``itunes:type serial``.
    """

    base_url: str
    title: str | None = None
    author: str | None = None
    description: str | None = None
    language: str | None = None
    image: Path | None = None
    serial: bool = False


def podcast_guid(feed_url: str) -> str:
    """``podcast:guid`` for a feed URL: UUIDv5 over the URL without its scheme and
    trailing slashes, in the Podcasting 2.0 namespace."""
    parts = urlsplit(feed_url)
    bare = feed_url[len(parts.scheme) + 3 :] if parts.scheme else feed_url
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, bare.rstrip("/")))


def _check_base(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"the base URL must be an http(s) address, not {url!r}")
    return url.rstrip("/")


@dataclass(frozen=True, slots=True)
class _Episode:
    number: int
    title: str
    folder: Path
    manifest: dict[str, Any]
    guid: str


def _episodes(out: Path) -> tuple[str, bool, list[_Episode]]:
    """The catalog's title, whether it is a series, and its episodes: each complete
    render in catalog order, or a practice plan's numbered days."""
    from acuvoice.batch.runner import INDEX_NAME, is_complete

    try:
        index = json.loads((out / INDEX_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UsageError(
            f"{out} has no {INDEX_NAME}: make the feed from a folder a batch rendered into"
        ) from None
    items = index.get("items", [])

    def complete(item: dict[str, Any]) -> tuple[Path, dict[str, Any]] | None:
        name, key = item.get("folder"), item.get("key")
        if not name or not key or not is_complete(out / name, key):
            return None
        manifest = json.loads((out / name / "manifest.json").read_text(encoding="utf-8"))
        return out / name, manifest

    found: list[_Episode] = []
    if index.get("episodes"):
        for ep in index["episodes"]:
            made = complete(items[int(ep["item"])])
            if made is not None:
                number = int(ep["number"])
                title = str(ep["title"])
                guid = f"{made[1]['key']}-{number}"
                found.append(_Episode(number, title, made[0], made[1], guid))
        return str(index.get("title") or ""), True, found
    seen: set[str] = set()
    titles = []
    for item in items:
        made = complete(item)
        if made is None or made[0].name in seen:
            continue
        seen.add(made[0].name)
        titles.append(str(made[1].get("title") or made[0].name))
        label = str(item.get("label") or made[0].name)
        found.append(_Episode(len(found) + 1, label, made[0], made[1], str(made[1]["key"])))
    # Variants of one routine share its title; the others are called by it alone.
    out_list = []
    for ep, title in zip(found, titles, strict=True):
        name = f"{title} ({ep.title})" if titles.count(title) > 1 else title
        out_list.append(_Episode(ep.number, name, ep.folder, ep.manifest, ep.guid))
    return str(index.get("title") or ""), False, out_list


def build_feed(out: Path, options: FeedOptions) -> tuple[str, bytes, str]:
    """The feed's XML for the renders in ``out``, and the cover to write beside it (its
    bytes and file name).

    Raises:
        UsageError: No batch in ``out``, no complete render, a bad base URL or image.
    """
    base = _check_base(options.base_url)
    catalog_title, series, episodes = _episodes(out)
    if not episodes:
        raise UsageError(f"{out} holds no complete render to publish; run the batch first")
    title = options.title or catalog_title or "acuvoice sessions"
    language = options.language or str(
        episodes[0].manifest.get("routine", {}).get("language", "en")
    )
    cover, cover_name = _cover(options, title)
    feed_url = f"{base}/{FEED_NAME}"

    ET.register_namespace("itunes", ITUNES)
    ET.register_namespace("podcast", PODCAST)
    ET.register_namespace("atom", ATOM)
    rss = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(rss, "channel")
    _text(channel, "title", title)
    _text(channel, "link", base + "/")
    description = options.description or (
        f"{title}: guided self-acupressure sessions made with acuvoice. Self-care, not "
        "medical advice."
    )
    _text(channel, "description", description)
    _text(channel, "language", language)
    _text(channel, "generator", "acuvoice")
    ET.SubElement(
        channel,
        f"{{{ATOM}}}link",
        {"href": feed_url, "rel": "self", "type": "application/rss+xml"},
    )
    image_url = f"{base}/{quote(cover_name)}"
    image = ET.SubElement(channel, "image")
    _text(image, "url", image_url)
    _text(image, "title", title)
    _text(image, "link", base + "/")
    ET.SubElement(channel, f"{{{ITUNES}}}image", {"href": image_url})
    category = ET.SubElement(channel, f"{{{ITUNES}}}category", {"text": "Health & Fitness"})
    ET.SubElement(category, f"{{{ITUNES}}}category", {"text": "Alternative Health"})
    _text(channel, f"{{{ITUNES}}}explicit", "false")
    _text(channel, f"{{{ITUNES}}}type", "serial" if options.serial or series else "episodic")
    if options.author:
        _text(channel, f"{{{ITUNES}}}author", options.author)
        owner = ET.SubElement(channel, f"{{{ITUNES}}}owner")
        _text(owner, f"{{{ITUNES}}}name", options.author)
    _text(channel, f"{{{PODCAST}}}guid", podcast_guid(feed_url))
    _text(channel, f"{{{PODCAST}}}locked", "no")

    for episode in episodes:
        _item(channel, base, episode)
    ET.indent(rss, space="  ")
    xml = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(rss, encoding="unicode")
    return xml + "\n", cover, cover_name


def _item(channel: ET.Element, base: str, episode: _Episode) -> None:
    folder, manifest = episode.folder, episode.manifest
    audio_name = str(manifest["audio"]["file"])
    audio = folder / audio_name
    suffix = audio.suffix.lstrip(".").lower()
    here = f"{base}/{quote(folder.name)}"
    title = episode.title
    number = episode.number
    item = ET.SubElement(channel, "item")
    _text(item, "title", title)
    _text(item, "description", str(manifest.get("summary") or title))
    ET.SubElement(
        item,
        "enclosure",
        {
            "url": f"{here}/{quote(audio_name)}",
            "length": str(audio.stat().st_size),
            "type": _MIME.get(suffix, "audio/mpeg"),
        },
    )
    _text(item, "guid", episode.guid, isPermaLink="false")
    made = datetime.fromtimestamp((folder / "manifest.json").stat().st_mtime, timezone.utc)
    made += timedelta(seconds=number)  # days of a series that share a render keep their order
    _text(item, "pubDate", format_datetime(made))
    _text(item, f"{{{ITUNES}}}duration", str(round(int(manifest["duration_ms"]) / 1000)))
    _text(item, f"{{{ITUNES}}}episode", str(number))
    _text(item, f"{{{ITUNES}}}episodeType", "full")
    _text(item, f"{{{ITUNES}}}explicit", "false")
    stem = audio.stem
    if (folder / f"{stem}.cover.png").is_file():
        ET.SubElement(item, f"{{{ITUNES}}}image", {"href": f"{here}/{quote(stem)}.cover.png"})
    if (folder / f"{stem}.chapters.json").is_file():
        ET.SubElement(
            item,
            f"{{{PODCAST}}}chapters",
            {"url": f"{here}/{quote(stem)}.chapters.json", "type": "application/json+chapters"},
        )
    for ext, mime in (("vtt", "text/vtt"), ("srt", "application/x-subrip")):
        if (folder / f"{stem}.{ext}").is_file():
            attrs = {"url": f"{here}/{quote(stem)}.{ext}", "type": mime}
            attrs["language"] = str(manifest.get("routine", {}).get("language", "en"))
            if ext == "vtt":
                attrs["rel"] = "captions"
            ET.SubElement(item, f"{{{PODCAST}}}transcript", attrs)


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = text
    return element


def _cover(options: FeedOptions, title: str) -> tuple[bytes, str]:
    if options.image is None:
        from acuvoice.export.cover import generate_cover

        return generate_cover(title, "guided self-acupressure", size=1400), COVER_NAME
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(options.image) as img:
            width, height = img.size
            kind = img.format
    except (OSError, UnidentifiedImageError):
        raise UsageError(f"cannot read the image {options.image}") from None
    if kind not in ("PNG", "JPEG") or width != height or not 1400 <= width <= 3000:
        raise UsageError(
            f"podcast artwork must be a square PNG or JPEG of 1400 to 3000 px; "
            f"{options.image} is a {width}x{height} {kind}"
        )
    return options.image.read_bytes(), f"cover{options.image.suffix.lower()}"


def write_feed(out: Path, options: FeedOptions) -> Path:
    """Write ``OUT/feed.xml`` (and the cover) for the renders in ``out``.

    Raises:
        UsageError: As :func:`build_feed`.
    """
    xml, cover, cover_name = build_feed(out, options)
    with atomic_output(out / cover_name) as tmp:
        tmp.write_bytes(cover)
    write_text_atomic(out / FEED_NAME, xml)
    return out / FEED_NAME
