"""`acuvoice feed`: an RSS 2.0 podcast feed of a batch's renders, as feed readers see it."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import feedparser
import pytest
from PIL import Image

from acuvoice.batch.feed import ITUNES, PODCAST, podcast_guid
from acuvoice.cli import main

CATALOG = """\
acuvoice_catalog: 1
title: Calm at work
routines: [desk-break, nausea]
variants:
  voice: [fake]
defaults:
  bundle: true
  tags: {artist: Mei Lin}
"""

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    here = tmp_path_factory.mktemp("feed")
    (here / "catalog.yaml").write_text(CATALOG, encoding="utf-8")
    code = main(
        ["batch", str(here / "catalog.yaml"), "-o", str(here / "out"), "--jobs", "2",
         "--cache-dir", str(here / "cache")]
    )  # fmt: skip
    assert code == 0
    return here / "out"


def test_the_feed_parses_and_has_every_tag(
    rendered: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = "https://example.org/calm"
    code = main(["feed", str(rendered), "--base-url", base, "--author", "Mei Lin"])
    _out, err = capsys.readouterr()
    assert code == 0, err
    xml = (rendered / "feed.xml").read_text(encoding="utf-8")
    parsed = feedparser.parse(xml)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.title == "Calm at work"
    assert len(parsed.entries) == 2
    root = ET.fromstring(xml)
    channel = root.find("channel")
    assert channel is not None
    for tag in (f"{{{ITUNES}}}image", f"{{{ITUNES}}}category", f"{{{ITUNES}}}explicit",
                f"{{{ITUNES}}}author", f"{{{PODCAST}}}guid", "language", "link"):  # fmt: skip
        assert channel.find(tag) is not None, tag
    assert channel.findtext(f"{{{ITUNES}}}explicit") == "false"
    guid = channel.findtext(f"{{{PODCAST}}}guid")
    assert guid == str(
        uuid.uuid5(uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6"), "example.org/calm/feed.xml")
    )
    assert podcast_guid("https://example.org/calm/feed.xml/") == guid
    cover = rendered / "cover.png"
    with Image.open(cover) as img:
        assert img.size[0] == img.size[1] and 1400 <= img.size[0] <= 3000
    items = channel.findall("item")
    assert [i.findtext(f"{{{ITUNES}}}episode") for i in items] == ["1", "2"]
    for item in items:
        enclosure = item.find("enclosure")
        assert enclosure is not None
        url = enclosure.get("url", "")
        assert url.startswith(base + "/") and enclosure.get("type") == "audio/mpeg"
        local = rendered / url.removeprefix(base + "/")
        assert int(enclosure.get("length", "0")) == local.stat().st_size
        assert int(item.findtext(f"{{{ITUNES}}}duration") or 0) > 60
        assert item.findtext(f"{{{ITUNES}}}explicit") == "false"
        chapters = item.find(f"{{{PODCAST}}}chapters")
        assert chapters is not None and chapters.get("type") == "application/json+chapters"
        assert (rendered / chapters.get("url", "").removeprefix(base + "/")).is_file()
        transcripts = item.findall(f"{{{PODCAST}}}transcript")
        assert {t.get("type") for t in transcripts} >= {"text/vtt"}
        assert item.findtext("guid") and item.find("guid").get("isPermaLink") == "false"  # type: ignore[union-attr]
        assert item.findtext("pubDate")


def test_a_feed_needs_a_batch_and_a_web_address(
    rendered: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["feed", str(tmp_path), "--base-url", "https://example.org/x"]) == 2
    assert "batch" in capsys.readouterr().err
    assert main(["feed", str(rendered), "--base-url", "example.org"]) == 2
    assert "http(s)" in capsys.readouterr().err
    small = tmp_path / "small.png"
    Image.new("RGB", (600, 600)).save(small)
    assert main(["feed", str(rendered), "--base-url", "https://e.org", "--image", str(small)]) == 2
    assert "1400 to 3000" in capsys.readouterr().err


@pytest.mark.slow
def test_a_practice_plan_becomes_a_numbered_series(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["plan", "--for", "neck", "--minutes", "5", "--days", "9", "-o", "neck-plan"]) == 0
    code = main(["batch", "neck-plan/plan.yaml", "-o", "out", "--cache-dir", str(tmp_path / "c")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "2 rendered" in out  # days 1-7 and days 8-9: one render per stage
    assert main(["feed", "out", "--base-url", "https://example.org/neck"]) == 0
    xml = (tmp_path / "out" / "feed.xml").read_text(encoding="utf-8")
    parsed = feedparser.parse(xml)
    assert not parsed.bozo, parsed.get("bozo_exception")
    channel = ET.fromstring(xml).find("channel")
    assert channel is not None and channel.findtext(f"{{{ITUNES}}}type") == "serial"
    items = channel.findall("item")
    assert [i.findtext(f"{{{ITUNES}}}episode") for i in items] == [str(d) for d in range(1, 10)]
    assert items[0].findtext("title") == "Neck and shoulders, day 1 of 9"
    guids = {i.findtext("guid") for i in items}
    assert len(guids) == 9
    enclosures = [i.find("enclosure").get("url") for i in items]  # type: ignore[union-attr]
    assert len(set(enclosures[:7])) == 1 and enclosures[7] != enclosures[0]


def test_a_catalog_with_a_feed_has_the_batch_write_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = tmp_path / "catalog.yaml"
    feed = "feed: {base_url: https://example.org/desk, author: Mei Lin, serial: true}\n"
    catalog.write_text(CATALOG.replace("[desk-break, nausea]", "[desk-break]") + feed)
    args = ["batch", str(catalog), "-o", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "c")]
    assert main(args) == 0
    out, _err = capsys.readouterr()
    assert "feed.xml" in out and "https://example.org/desk" in out
    parsed = feedparser.parse((tmp_path / "out" / "feed.xml").read_text(encoding="utf-8"))
    assert not parsed.bozo and len(parsed.entries) == 1
    assert parsed.feed.author == "Mei Lin" and parsed.feed.itunes_type == "serial"
    assert (tmp_path / "out" / "cover.png").is_file()

    # A rerun renders nothing and writes the feed again; artwork of the wrong size fails the
    # batch (exit status 1) and keeps the renders.
    small = tmp_path / "small.png"
    Image.new("RGB", (600, 600)).save(small)
    catalog.write_text(catalog.read_text().replace("serial: true", "image: small.png"))
    assert main(args) == 1
    out, err = capsys.readouterr()
    assert "1 reused" in out and "feed was not written" in err and "1400 to 3000" in err
    assert "Traceback" not in err

    # A feed without a web address is refused before anything renders, with its place.
    catalog.write_text(catalog.read_text().replace("https://example.org/desk", "example.org"))
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "catalog.yaml:9:" in err and "https://" in err
