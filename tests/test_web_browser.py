"""The listening page in a real browser: Debian's Chromium driven by Playwright.

A server runs in a thread on a free loopback port; the page is used as a listener would:
choose a routine, render it, listen, jump by chapter, follow the transcript, download; the
time from Play to the first sound is measured; a creator's routine is checked as it is typed.
Expectations come from the API (the render's own timeline) and from the downloaded file
(mutagen), not from the page. Screenshots go to ``$ACUVOICE_ARTIFACTS`` (default
``test-artifacts/``); ``ACUVOICE_UPDATE_SCREENSHOT=1`` also rewrites ``docs/screenshot.png``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from mutagen.mp3 import MP3

from tests.support import require

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/lib/chromium/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
VIEWPORT = {"width": 1100, "height": 900}
#: The longest wait for a render of 10 to 15 minutes (cold cache, busy machine).
RENDER_TIMEOUT_S = 120
#: The time from pressing Play to hearing the session that listeners should get.
FIRST_SOUND_LIMIT_S = 3.0

T = TypeVar("T")


def artifacts() -> Path:
    folder = Path(os.environ.get("ACUVOICE_ARTIFACTS") or ROOT / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def wait_until(check: Callable[[], T], timeout: float, what: str, every: float = 0.05) -> T:
    """Poll ``check`` until it returns something truthy (the page's CSP forbids the eval that
    Playwright's wait_for_function needs)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def get_json(url: str, body: dict[str, Any] | None = None, timeout: float = 300) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response)


# -- fixtures ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``acuvoice serve`` with two workers, and the default voice's phrases in its cache.

    A process of its own, not a thread: the voice measures lengths inside the server, and an
    interpreter that exits while it does is aborted by the voice's runtime.
    """
    folder = tmp_path_factory.mktemp("serve")
    port = free_port()
    log = (folder / "serve.log").open("w")
    command = [sys.executable, "-m", "acuvoice", "serve", "--port", str(port), "--workers", "2"]
    process = subprocess.Popen(
        [*command, "--data-dir", str(folder / "data")], stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"acuvoice serve stopped: {(folder / 'serve.log').read_text()}")
        try:
            return bool(get_json(f"{base}/api/health", timeout=1)["ok"])
        except OSError:
            return False

    try:
        wait_until(up, 60, "acuvoice serve to answer", every=0.2)
        # A listener's second session: the voice has spoken these phrases before.
        get_json(f"{base}/api/timeline", {"routine": "lower-back-pain"})
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require(sync_playwright is not None, "Python Playwright", "pip install playwright")
    require(CHROMIUM.is_file(), "Debian's Chromium", "sudo apt-get install chromium")
    assert sync_playwright is not None
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Log:
    """What the page said on its console: errors and CSP violations fail the test (the
    browser's own line for a 422, an answer the page shows, does not)."""

    def __init__(self, page: Page) -> None:
        self.problems: list[str] = []
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("console", self.console)

    def console(self, message: Any) -> None:
        text = message.text
        if "Content Security Policy" in text or (
            message.type == "error" and "responded with a status of 422" not in text
        ):
            self.problems.append(f"console {message.type}: {text}")

    def assert_clean(self) -> None:
        assert not self.problems, "\n".join(self.problems)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    yield context.new_page()
    context.close()


@pytest.fixture
def console(page: Page) -> Log:
    return Log(page)


def shot(page: Page, name: str, **options: Any) -> Path:
    path = artifacts() / name
    page.screenshot(path=str(path), **options)
    return path


def audio_state(page: Page) -> dict[str, Any]:
    return page.evaluate(
        """() => {
          const a = document.getElementById('audio');
          return {t: a.currentTime, paused: a.paused, src: a.getAttribute('src') || '',
                  duration: a.duration, volume: a.volume,
                  buffered: a.buffered.length ? a.buffered.end(a.buffered.length - 1) : 0};
        }"""
    )


def seek(page: Page, seconds: float) -> None:
    page.evaluate(f"() => {{ document.getElementById('audio').currentTime = {seconds}; }}")


def current(page: Page, selector: str) -> str | None:
    found = page.locator(f"{selector} [aria-current=true]")
    assert found.count() <= 1, f"more than one current item in {selector}"
    return found.inner_text() if found.count() else None


def current_line_in_view(page: Page) -> bool:
    return bool(
        page.evaluate(
            """() => {
              const list = document.getElementById('transcript').getBoundingClientRect();
              const line = document.querySelector('#transcript [aria-current=true]');
              if (!line) return false;
              const box = line.getBoundingClientRect();
              return box.top >= list.top && box.bottom <= list.bottom;
            }"""
        )
    )


def choose(page: Page, routine: str) -> None:
    page.check(f"#gallery input[value='{routine}']")
    page.wait_for_selector("#go:not([hidden])")


def wait_render_done(page: Page, seen: list[str] | None = None) -> None:
    def done() -> bool:
        text = page.inner_text("#progress-text")
        if seen is not None and (not seen or seen[-1] != text):
            seen.append(text)
        if page.locator("#job-error:not([hidden])").count():
            raise AssertionError(f"the render failed: {page.inner_text('#job-error')}")
        return text.startswith("Done")

    wait_until(done, RENDER_TIMEOUT_S, "the render to finish", every=0.1)


# -- 1. render, listen, jump, follow, download -----------------------------------------------


def test_render_then_listen_jump_follow_and_download(page: Page, console: Log, server: str) -> None:
    page.goto(f"{server}/")
    page.wait_for_selector("#gallery input[value='lower-back-pain']")
    routines = get_json(f"{server}/api/routines")
    for routine in routines:
        assert page.locator(".card-title", has_text=routine["title"]).count() == 1
    back_card = page.locator(".card", has=page.locator("input[value='lower-back-pain']"))
    assert "Not for: pregnancy" in back_card.inner_text()
    assert "15 min" in back_card.inner_text()
    shot(page, "1-gallery.png")

    choose(page, "lower-back-pain")
    assert "Not for pregnancy" in page.inner_text("#cautions")
    assert "not medical advice" in page.inner_text("#cautions")
    # The estimate comes at once; the voice's measurement follows (its phrases are cached).
    wait_until(lambda: "measured with" in page.inner_text("#length-note"), 60, "the exact range")
    # 12 minutes: at the voices' calm pace the narration alone takes about 10 (fitting to
    # 10 minutes is refused).
    page.fill("#length", "720")
    assert page.inner_text("#length-out") == "12 min"

    page.click("#render")
    seen: list[str] = []
    bar_values: list[float] = []

    def in_progress() -> bool:
        text = page.inner_text("#progress-text")
        value = float(page.get_attribute("#progress-bar", "value") or 0)
        bar_values.append(value)
        return "%" in text and 0 < value < 1

    wait_until(in_progress, RENDER_TIMEOUT_S, "the render to report progress", every=0.1)
    shot(page, "2-render-in-progress.png", full_page=True)
    wait_render_done(page, seen)
    assert any("%" in text for text in seen), seen
    assert bar_values == sorted(bar_values), "progress went backwards"
    assert float(page.get_attribute("#progress-bar", "value") or 0) == 1.0

    page.wait_for_selector("#player:not([hidden])")
    page.wait_for_selector("#chapter-list button")
    page.wait_for_selector("#diagram-box svg circle.marker[data-code='BL23']")
    audio = audio_state(page)
    assert audio["paused"], "nothing may play before Play is pressed"
    assert "/files/" in audio["src"] and audio["src"].endswith(".mp3")
    timeline = get_json(server + audio["src"].replace(".mp3", ".timeline.json"))
    chapters = timeline["chapters"]
    assert page.locator("#chapter-list button").count() == len(chapters)
    speech = [e for e in timeline["events"] if e["kind"] == "speech"]
    assert page.locator("#transcript .line-button").count() == len(speech)
    page.locator("#player").scroll_into_view_if_needed()
    page.evaluate("() => window.scrollTo(0, document.getElementById('player').offsetTop - 8)")
    shot(page, "3-player-ready.png")

    # Play: the same request is done already, so the player plays what it has.
    page.click("#play")
    wait_until(lambda: (s := audio_state(page))["t"] > 0 and not s["paused"], 20, "playback")
    assert chapters[0]["title"] in (current(page, "#chapter-list") or "")

    # A chapter button moves the audio to the chapter's start, and the current mark with it.
    target = chapters[3]
    page.locator("#chapter-list button").nth(3).click()
    wait_until(lambda: abs(audio_state(page)["t"] - target["start_ms"] / 1000) < 1.0, 5, "the jump")
    assert target["title"] in (current(page, "#chapter-list") or "")
    assert page.locator("#chapter-list [aria-current=true]").count() == 1
    assert page.evaluate("() => navigator.mediaSession.metadata.album") == timeline["title"]

    # The transcript's current line is the last one spoken, and moves on with the audio.
    def spoken_around_now() -> set[str]:
        t_ms = audio_state(page)["t"] * 1000
        return {
            [e["text"] for e in speech if e["start_ms"] <= at][-1]
            for at in (t_ms - 400, t_ms + 400)
        }

    first_line = wait_until(lambda: current(page, "#transcript"), 5, "a current line")
    assert any(text in first_line for text in spoken_around_now())
    wait_until(
        lambda: (line := current(page, "#transcript")) and line != first_line,
        15,
        "the transcript to move on",
    )
    line = current(page, "#transcript") or ""
    assert any(text in line for text in spoken_around_now()), line

    # During a hold the body diagram marks the point being pressed, and only that point.
    hold = next(e for e in timeline["events"] if e["kind"] == "hold")
    seek(page, hold["start_ms"] / 1000 + 1)
    page.wait_for_selector(f"#diagram-box circle.marker.now[data-code='{hold['point']}']")
    marked = page.evaluate(
        "() => [...document.querySelectorAll('#diagram-box circle.marker.now')]"
        ".map(m => m.dataset.code)"
    )
    assert set(marked) == {hold["point"]}
    assert f"Press {hold['point']}" in page.inner_text("#now")
    assert hold["point"] in page.evaluate("() => navigator.mediaSession.metadata.title")
    # Follow is on: the transcript keeps the current line in view.
    assert page.get_attribute("#follow", "aria-pressed") == "true"
    wait_until(lambda: current_line_in_view(page), 5, "the current line to scroll into view")
    page.evaluate("() => window.scrollTo(0, document.getElementById('player').offsetTop - 8)")
    page.mouse.move(0, 0)
    player_png = shot(page, "3-player.png")
    if os.environ.get("ACUVOICE_UPDATE_SCREENSHOT"):
        shutil.copyfile(player_png, ROOT / "docs" / "screenshot.png")

    # Keys: N is the next chapter (single-key shortcuts are on by default).
    page.keyboard.press("n")
    wait_until(lambda: abs(audio_state(page)["t"] - chapters[4]["start_ms"] / 1000) < 1.0, 5, "N")
    assert chapters[4]["title"] in (current(page, "#chapter-list") or "")

    # The sleep timer fades out and pauses at the end of the chapter.
    end_s = chapters[5]["start_ms"] / 1000
    seek(page, end_s - 3)
    page.select_option("#sleep", "chapter")
    wait_until(lambda: audio_state(page)["paused"], 10, "the sleep timer to pause")
    state = audio_state(page)
    assert abs(state["t"] - end_s) < 0.6
    assert state["volume"] == 1, "the volume comes back after the fade"
    assert "Paused by the sleep timer" in page.inner_text("#sleep-status")

    # The MP3, through the browser's download.
    link = page.locator("#download-list a", has_text="The audio (MP3)")
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".mp3")
    saved = artifacts() / download.suggested_filename
    download.save_as(str(saved))
    mp3 = MP3(str(saved))
    assert mp3.info.layer == 3
    assert abs(mp3.info.length - 720.0) < 0.5, mp3.info.length
    assert abs(mp3.info.length - timeline["duration_ms"] / 1000) < 0.5

    # The position is remembered for this session: reload, ask again, and it resumes there.
    paused_at = audio_state(page)["t"]
    page.reload()
    choose(page, "lower-back-pain")
    page.fill("#length", "720")
    page.click("#render")
    page.wait_for_selector("#resume-note:not([hidden])", timeout=RENDER_TIMEOUT_S * 1000)
    assert abs(audio_state(page)["t"] - paused_at) < 1.0
    console.assert_clean()


# -- 2. time to first sound -------------------------------------------------------------------


def test_time_to_first_sound(page: Page, console: Log, server: str) -> None:
    page.goto(f"{server}/")
    choose(page, "lower-back-pain")
    wait_until(lambda: "measured with" in page.inner_text("#length-note"), 60, "the exact range")
    assert page.inner_text("#length-out") == "15 min (as written)"
    page.evaluate(
        """() => {
          const a = document.getElementById('audio');
          const t = (window.firstSound = {});
          // The page plays a blip of silence inside the click (for Safari): not the session.
          const session = () => !(a.getAttribute('src') || '').endsWith('/static/silence.mp3');
          for (const name of ['loadstart', 'loadeddata', 'playing']) {
            a.addEventListener(name, () => { if (session()) t[name] ??= performance.now(); });
          }
          a.addEventListener('timeupdate', () => {
            if ((a.getAttribute('src') || '').endsWith('/stream')) window.lastStreamTime = a.currentTime;
          });
          document.getElementById('play').addEventListener('click', () => {
            t.click = performance.now();
            const poll = setInterval(() => {
              if (session() && a.currentTime > 0 && !a.paused) {
                t.sound = performance.now();
                t.position = a.currentTime;
                t.buffered = a.buffered.length ? a.buffered.end(a.buffered.length - 1) : 0;
                t.src = a.getAttribute('src');
                clearInterval(poll);
              }
            }, 5);
          }, {capture: true});
        }"""
    )
    page.click("#play")
    timing = wait_until(
        lambda: (t := page.evaluate("() => window.firstSound")).get("sound") and t,
        RENDER_TIMEOUT_S,
        "the first sound",
    )
    seconds = (timing["sound"] - timing["click"]) / 1000
    steps = {
        name: round((timing[name] - timing["click"]) / 1000, 3)
        for name in ("loadstart", "loadeddata", "playing", "sound")
        if name in timing
    }
    record = {"time_to_first_sound_s": round(seconds, 3), "after_click_s": steps, **timing}
    (artifacts() / "time-to-first-sound.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"\ntime to first sound: {seconds:.2f} s (after the click: {steps})")
    # It played the render while it was being made, and what it played had arrived.
    assert timing["src"].endswith("/stream"), timing["src"]
    assert timing["buffered"] > 0
    shot(page, "5-playing-while-rendering.png")

    # When the render is done the player moves to the finished file without starting over.
    wait_render_done(page)
    wait_until(lambda: "/files/" in audio_state(page)["src"], 15, "the finished file")
    after = wait_until(
        lambda: (s := audio_state(page))["t"] > 0 and not s["paused"] and s, 10, "playing on"
    )
    last_streamed = page.evaluate("() => window.lastStreamTime")
    assert last_streamed > 1
    assert after["t"] >= last_streamed - 0.3, (last_streamed, after)
    assert after["duration"] == pytest.approx(15 * 60, abs=0.5)
    console.assert_clean()
    assert seconds < FIRST_SOUND_LIMIT_S, f"the first sound came {seconds:.2f} s after Play"


# -- 3. your own routine ----------------------------------------------------------------------

BROKEN = """\
acuvoice: 1
title: My evening hands
summary: A short routine for the hands.
steps:
  - chapter: Hands
  - say: Sit comfortably and let your shoulders drop.
  - press: XX99
    hold: 20s
  - pauze: 5s
"""


def where(text: str, needle: str) -> tuple[int, int]:
    """The 1-based line and column of ``needle`` in ``text``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number, line.index(needle) + 1
    raise AssertionError(needle)


def test_own_routine_problems_are_listed_and_marked(page: Page, console: Log, server: str) -> None:
    page.goto(f"{server}/?test")
    choose(page, "__own__")
    page.fill("#yaml", BROKEN)
    page.wait_for_selector("#problems li >> nth=1")
    unknown = where(BROKEN, "XX99")
    typo = where(BROKEN, "pauze")
    places = page.locator("#problems .problem-place").all_inner_texts()
    assert places == [f"{unknown[0]}:{unknown[1]}", f"{typo[0]}:{typo[1]}"]
    assert "XX99" in page.inner_text("#problems li >> nth=0")
    assert "pause" in page.inner_text("#problems li >> nth=1")
    marked = page.evaluate(
        "() => [...document.querySelectorAll('.gutter-mark')].map(m => Number(m.dataset.line))"
    )
    assert sorted(marked) == [unknown[0], typo[0]]
    assert page.get_attribute("#yaml", "aria-invalid") == "true"
    assert page.is_disabled("#render") and page.is_disabled("#play")
    page.locator("#own").scroll_into_view_if_needed()
    shot(page, "4-editor-problems.png", full_page=True)

    # A problem puts the cursor where it is.
    page.locator("#problems button").nth(1).click()
    lines = BROKEN.split("\n")
    offset = sum(len(line) + 1 for line in lines[: typo[0] - 1]) + typo[1] - 1
    focus = page.evaluate(
        "() => [document.activeElement.id, document.activeElement.selectionStart]"
    )
    assert focus == ["yaml", offset]

    fixed = BROKEN.replace("XX99", "LI4").replace("pauze", "pause")
    page.fill("#yaml", fixed)
    wait_until(lambda: page.inner_text("#check-status") == "No problems found.", 10, "the check")
    assert page.locator(".gutter-mark").count() == 0
    wait_until(lambda: page.is_enabled("#render"), 10, "Render to be enabled")
    assert page.is_enabled("#play")
    assert "My evening hands" in page.inner_text("#options-for")
    # ?test offers the test engine; the page offers it nowhere else.
    assert page.locator("#voice option[value='fake']").count() == 1

    # The page fits a phone's 320 px without sideways scrolling.
    page.set_viewport_size({"width": 320, "height": 800})
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 320
    shot(page, "6-narrow.png", full_page=True)
    console.assert_clean()


def test_the_test_engine_is_hidden_without_test(page: Page, console: Log, server: str) -> None:
    page.goto(f"{server}/")
    choose(page, "neck-and-shoulders")
    assert page.locator("#voice option[value='fake']").count() == 0
    assert page.locator("#voice option").count() >= 1
    console.assert_clean()


def test_conditions_leave_points_out_or_stop_the_session(
    page: Page, console: Log, server: str
) -> None:
    page.goto(f"{server}/")
    choose(page, "lower-back-pain")
    # The routine lists pregnancy under its cautions: nothing may be made.
    page.check("input[name=avoid][value=pregnancy]")
    wait_until(lambda: "not suitable" in page.inner_text("#avoid-effect"), 10, "the refusal")
    assert page.is_disabled("#play") and page.is_disabled("#render")
    assert "not suitable" in page.inner_text("#go-why")
    page.uncheck("input[name=avoid][value=pregnancy]")
    wait_until(lambda: page.is_enabled("#play"), 10, "Play again")
    # Varicose veins: the points the API leaves out are listed.
    body = {"routine": "lower-back-pain", "avoid": ["varicose-veins"]}
    omitted = get_json(f"{server}/api/range", body)["omitted"]
    assert omitted
    page.check("input[name=avoid][value=varicose-veins]")
    wait_until(lambda: "Left out" in page.inner_text("#avoid-effect"), 10, "the points left out")
    shown = page.locator("#avoid-effect li").all_inner_texts()
    assert [line.split()[0] for line in shown] == [p["point"] for p in omitted]
    assert page.is_enabled("#play")
    console.assert_clean()


# -- 6. languages -----------------------------------------------------------------------------


def voice_options(page: Page) -> list[str]:
    return list(page.locator("#voice option").evaluate_all("os => os.map(o => o.value)"))


def voices_speaking(server: str, language: str) -> set[str]:
    """The ids of the voices the API says speak ``language`` (the test engine left out)."""
    return {
        v["id"]
        for e in get_json(f"{server}/api/voices")
        if e["available"] and e["name"] != "fake"
        for v in e["voices"]
        if v["language"].split("-")[0].lower() == language
    }


def test_choosing_espanol_shows_spanish_sessions_and_voices(
    page: Page, console: Log, server: str
) -> None:
    offered = get_json(f"{server}/api/languages")
    page.goto(f"{server}/")
    page.wait_for_selector("#gallery input[value='lower-back-pain']")
    # The browser asks for English (Playwright's default locale): English it is.
    assert page.input_value("#language") == "en"
    labels = page.locator("#language option").all_inner_texts()
    assert labels == [language["name"] for language in offered] and "Español" in labels
    assert page.get_attribute("label[for=language]", "for") == "language"

    spanish = {r["name"]: r for r in get_json(f"{server}/api/routines?language=es")}
    page.select_option("#language", "es")
    title = spanish["lower-back-pain"]["title"]
    wait_until(
        lambda: page.locator(".card-title", has_text=title).count() == 1, 10, "Spanish titles"
    )
    for routine in spanish.values():
        card_title = page.locator(".card-title", has_text=routine["title"])
        assert card_title.count() == 1 and card_title.get_attribute("lang") == "es"

    # The voices offered are those that speak Spanish, after the automatic choice.
    speaking = voices_speaking(server, "es")
    assert speaking, "no installed voice speaks Spanish"
    with page.expect_request(lambda r: "/api/range" in r.url) as sent:
        choose(page, "lower-back-pain")
    assert sent.value.post_data_json["language"] == "es"
    assert sent.value.post_data_json["routine"] == "lower-back-pain"
    options = voice_options(page)
    assert options[0] == "" and page.locator("#voice option").first.inner_text().startswith(
        "Automatic"
    )
    assert set(options[1:]) == speaking
    assert title in page.inner_text("#options-for")
    shot(page, "7-espanol.png", full_page=True)

    # Remembered: a reload keeps Spanish; back to English brings English voices back.
    page.reload()
    page.wait_for_selector("#gallery input[value='lower-back-pain']")
    assert page.input_value("#language") == "es"
    assert page.locator(".card-title", has_text=title).count() == 1
    page.select_option("#language", "en")
    wait_until(lambda: page.locator(".card-title", has_text=title).count() == 0, 10, "English")
    choose(page, "neck-and-shoulders")
    assert set(voice_options(page)[1:]) == voices_speaking(server, "en")
    console.assert_clean()


def test_the_browser_language_is_the_default(browser: Browser, server: str) -> None:
    context = browser.new_context(viewport=VIEWPORT, locale="fr-FR")
    try:
        page = context.new_page()
        console = Log(page)
        page.goto(f"{server}/")
        page.wait_for_selector("#gallery input[value='calm-and-sleep']")
        assert page.input_value("#language") == "fr"
        french = get_json(f"{server}/api/routines?language=fr")
        for routine in french:
            assert page.locator(".card-title", has_text=routine["title"]).count() == 1
        console.assert_clean()
    finally:
        context.close()


GERMAN = """\
acuvoice: 1
title: Kurze Abendruhe
language: de
safety_notice: false
steps:
  - say: Setz dich bequem hin.
  - press: LI4
    hold: 10s
    find: 2s
"""


def test_own_routine_keeps_its_own_language(page: Page, console: Log, server: str) -> None:
    page.goto(f"{server}/")
    page.wait_for_selector("#gallery input[value='lower-back-pain']")
    page.select_option("#language", "es")
    page.wait_for_selector("#gallery input[value='lower-back-pain']")
    choose(page, "__own__")
    with page.expect_request(lambda r: "/api/range" in r.url, timeout=20_000) as sent:
        page.fill("#yaml", GERMAN)
    # The YAML's `language: de`, not the select's Spanish, decides.
    assert "language" not in sent.value.post_data_json
    wait_until(lambda: "Deutsch" in page.inner_text("#language-note"), 10, "the YAML's language")
    assert "Deutsch" in page.inner_text("#options-for")
    assert set(voice_options(page)[1:]) == voices_speaking(server, "de")
    assert page.input_value("#language") == "es"
    console.assert_clean()


# -- 7. build my session ----------------------------------------------------------------------


def test_build_my_session_loads_it_and_offers_what_can_be_made(
    page: Page, console: Log, server: str
) -> None:
    page.goto(f"{server}/")
    page.wait_for_selector("#build:not([hidden]) input[name=concern][value=back]")
    # Every concern and level the API offers is on the form, each with a label.
    options = get_json(f"{server}/api/plan/options")
    concerns = page.locator("#build-concerns input[name=concern]")
    assert concerns.evaluate_all("bs => bs.map(b => b.value)") == [
        c["id"] for c in options["concerns"]
    ]
    assert page.locator("#build-concerns label").count() == len(options["concerns"])
    assert "one to three" in page.inner_text("#build-concerns-note")
    levels = page.locator("#build-level option").evaluate_all("os => os.map(o => o.value)")
    assert levels == [lv["id"] for lv in options["levels"]]
    assert page.inner_text("#build-level-note") == options["levels"][0]["description"]
    assert page.locator("#build-avoid input[value=pregnancy]").count() == 1
    assert page.is_hidden("#build-language")
    page.locator("#build").screenshot(path=str(artifacts() / "8-build-form.png"))

    # Back and stress, 20 minutes: the routine the API builds is the session.
    page.check("#build-concerns input[value=back]")
    page.check("#build-concerns input[value=stress]")
    page.select_option("#build-minutes", "20")
    expected = get_json(
        f"{server}/api/plan", {"concerns": ["back", "stress"], "minutes": 20, "level": "beginner"}
    )
    page.click("#build-go")
    page.wait_for_selector("#build-result:not([hidden])")
    assert page.inner_text("#build-result-h") == "Lower back and stress"
    assert "Lower back and stress" in page.inner_text("#build-status")
    shown = page.locator("#build-points li").all_inner_texts()
    assert [line.split()[0] for line in shown] == expected["points"]
    assert page.inner_text("#build-summary") == expected["lines"][0]
    # It goes the way of one's own routine: into the editor, checked, then Options and Listen.
    assert page.input_value("#yaml") == expected["yaml"]
    assert page.is_checked("#gallery input[value='__own__']")
    wait_until(
        lambda: "Lower back and stress" in page.inner_text("#options-for"), 15, "the options"
    )
    assert page.is_visible("#go")
    wait_until(lambda: page.is_enabled("#play"), 15, "Play")
    # Its own length (target: 20m), once the range is known.
    wait_until(lambda: page.inner_text("#length-out").startswith("20 min"), 15, "its length")
    page.locator("#build-result").scroll_into_view_if_needed()
    shot(page, "9-build-result.png", full_page=True)

    # With pregnancy no back session is made: the reason, and a button for what can be.
    page.check("#build-avoid input[value=pregnancy]")
    page.click("#build-go")
    page.wait_for_selector("#build-refusal:not([hidden])")
    refusal = page.inner_text("#build-refusal-text")
    assert "pregnancy" in refusal and "stress" in refusal
    assert page.get_attribute("#build-refusal-text", "role") == "alert"
    assert page.is_hidden("#build-result")
    offer = page.locator("#build-offer")
    assert offer.is_visible() and offer.inner_text().startswith("Build that instead")
    # The refused build left the loaded session alone.
    assert page.input_value("#yaml") == expected["yaml"]
    page.locator("#build").screenshot(path=str(artifacts() / "10-build-refused.png"))

    offer.click()
    page.wait_for_selector("#build-result:not([hidden])")
    assert page.is_hidden("#build-refusal")
    assert page.is_checked("#build-concerns input[value=stress]")
    assert not page.is_checked("#build-concerns input[value=back]")
    assert page.is_checked("#build-avoid input[value=pregnancy]")
    stress = get_json(
        f"{server}/api/plan", {"concerns": ["stress"], "minutes": 20, "avoid": ["pregnancy"]}
    )
    assert page.inner_text("#build-result-h") == stress["title"]
    assert page.evaluate("() => document.activeElement.id") == "build-result-h"
    left_out = page.locator("#build-left-out-list li").all_inner_texts()
    assert [line.split()[0] for line in left_out] == [lo["code"] for lo in stress["left_out"]]
    wait_until(lambda: page.input_value("#yaml") == stress["yaml"], 10, "the new routine")
    wait_until(lambda: stress["title"] in page.inner_text("#options-for"), 15, "the options")
    # Built for pregnancy, it is rendered for pregnancy too.
    assert page.is_checked("#conditions input[value=pregnancy]")
    wait_until(lambda: page.is_enabled("#play"), 15, "Play")
    console.assert_clean()


def test_build_my_session_says_it_is_english_only(page: Page, console: Log, server: str) -> None:
    page.goto(f"{server}/")
    page.wait_for_selector("#build:not([hidden])")
    page.select_option("#language", "es")
    wait_until(lambda: page.is_visible("#build-language"), 10, "the English-only note")
    note = page.inner_text("#build-language")
    assert "English only" in note and "Español" in note
    page.select_option("#language", "en")
    wait_until(lambda: page.is_hidden("#build-language"), 10, "the note to go")
    console.assert_clean()
