// The player: native audio, chapters, a transcript that follows, the body diagram with the point
// being pressed now, speed, sleep timer, keyboard, Media Session, and the position remembered.

import { clock } from "./format.js";

const POSITION_PREFIX = "acuvoice:position:";
const POSITIONS_KEPT = 40;
const SKIP_S = 10;
const FADE_S = 10;
const SAVE_EVERY_MS = 3000;
const SHORTCUTS_KEY = "acuvoice:shortcuts";
// Seeking to a chapter's start may land a hair before it (MP3 frames): count that as inside.
const EDGE_S = 0.25;

const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
// A fifth of a second of silence: played from inside a click, it lets Safari play the
// session later, when the render's answer comes (after the click's moment has passed).
const SILENCE = "/static/silence.mp3";

function once(target, event, timeoutMs = 15000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${event} in time`));
    }, timeoutMs);
    const ok = () => {
      cleanup();
      resolve();
    };
    const failed = () => {
      cleanup();
      reject(new Error("the audio could not be loaded"));
    };
    const cleanup = () => {
      clearTimeout(timer);
      target.removeEventListener(event, ok);
      target.removeEventListener("error", failed);
    };
    target.addEventListener(event, ok);
    target.addEventListener("error", failed);
  });
}

function lastStartedAt(items, t) {
  // The last item whose start is at or before t (items sorted by start), or -1.
  let lo = 0;
  let hi = items.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (items[mid].start <= t + EDGE_S) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

export class Player {
  constructor(els) {
    this.els = els;
    this.audio = els.audio;
    this.reset();
    this.follow = true;
    this.sleep = null;
    this.lastSave = 0;
    this.programmaticScrollUntil = 0;
    this.shortcuts = localStorage.getItem(SHORTCUTS_KEY) !== "off";
    els.shortcuts.checked = this.shortcuts;
    this.wire();
  }

  reset() {
    this.key = null;
    this.title = "";
    this.coverUrl = null;
    this.streaming = false;
    this.switching = false;
    this.pendingSeek = null;
    this.chapters = [];
    this.lines = [];
    this.holds = [];
    this.durationS = null;
    this.chapterIndex = -1;
    this.lineIndex = -1;
    this.hold = null;
    this.markers = new Map();
    this.labels = new Map();
  }

  // -- wiring -----------------------------------------------------------------------------------

  wire() {
    const { audio, els } = this;
    audio.addEventListener("timeupdate", () => this.update());
    audio.addEventListener("seeked", () => {
      this.update();
      this.positionState();
      if (this.sleep && this.sleep.mode === "chapter") this.sleep.end = this.chapterEnd(audio.currentTime);
    });
    audio.addEventListener("loadedmetadata", () => this.positionState());
    audio.addEventListener("ratechange", () => {
      this.positionState();
      // The native control's own menu may set a speed the list lacks: add it.
      const rate = String(audio.playbackRate);
      if (![...els.speed.options].some((o) => o.value === rate)) {
        els.speed.append(new Option(`${rate}×`, rate));
      }
      els.speed.value = rate;
    });
    audio.addEventListener("play", () => this.playbackState("playing"));
    audio.addEventListener("pause", () => {
      this.playbackState("paused");
      this.savePosition(true);
    });
    audio.addEventListener("ended", () => {
      if (this.streaming) return;
      this.forgetPosition();
    });
    audio.addEventListener("error", () => {
      if (this.switching || !this.loaded()) return;
      this.note(
        this.streaming
          ? "The audio stream stopped. If the render failed, its error is shown above."
          : "The audio could not be played in this browser; download it below instead.",
      );
    });
    window.addEventListener("pagehide", () => this.savePosition(true));

    els.speed.addEventListener("change", () => {
      const rate = Number(els.speed.value);
      audio.defaultPlaybackRate = rate;
      audio.playbackRate = rate;
    });
    els.sleep.addEventListener("change", () => this.setSleep(els.sleep.value));
    els.shortcuts.addEventListener("change", () => {
      this.shortcuts = els.shortcuts.checked;
      localStorage.setItem(SHORTCUTS_KEY, this.shortcuts ? "on" : "off");
    });
    els.follow.addEventListener("click", () => this.setFollow(!this.follow));
    els.startOver.addEventListener("click", () => {
      this.seek(0);
      els.resumeNote.hidden = true;
    });

    const list = els.transcript;
    const userScrolled = () => {
      if (this.follow) this.setFollow(false);
    };
    list.addEventListener("wheel", userScrolled, { passive: true });
    list.addEventListener("touchmove", userScrolled, { passive: true });
    list.addEventListener("scroll", () => {
      if (performance.now() > this.programmaticScrollUntil) userScrolled();
    });
    list.addEventListener("keydown", (event) => this.transcriptKey(event));

    document.addEventListener("keydown", (event) => this.shortcut(event));
    this.wireMediaSession();
  }

  wireMediaSession() {
    if (!("mediaSession" in navigator)) return;
    const { audio } = this;
    const handlers = {
      play: () => audio.play().catch(() => {}),
      pause: () => audio.pause(),
      seekbackward: (details) => this.seekBy(-(details.seekOffset || SKIP_S)),
      seekforward: (details) => this.seekBy(details.seekOffset || SKIP_S),
      seekto: (details) => {
        if (details.fastSeek && "fastSeek" in audio && !this.streaming) audio.fastSeek(details.seekTime);
        else this.seek(details.seekTime);
      },
      previoustrack: () => this.previousChapter(),
      nexttrack: () => this.nextChapter(),
    };
    for (const [action, handler] of Object.entries(handlers)) {
      try {
        navigator.mediaSession.setActionHandler(action, handler);
      } catch {
        // An action this browser does not know.
      }
    }
  }

  // -- loading ----------------------------------------------------------------------------------

  show(title) {
    this.title = title || this.title;
    this.els.title.textContent = this.title;
    this.els.section.hidden = false;
  }

  /**
   * The session's language on what is in it (its title, chapters and transcript), so screen
   * readers speak them in that language; the page's own words stay English.
   */
  setLanguage(language) {
    for (const el of [this.els.title, this.els.chapterList, this.els.transcript]) {
      if (language) el.lang = language;
      else el.removeAttribute("lang");
    }
  }

  /** A new session: clear the last one's chapters, transcript and diagram. */
  start(title, language = null) {
    this.savePosition(true);
    this.setLanguage(language);
    this.setSleep("off");
    this.reset();
    this.els.chapterList.replaceChildren();
    this.els.transcript.replaceChildren();
    this.els.diagramBox.replaceChildren(this.message("The body diagram appears when the render is done."));
    this.els.resumeNote.hidden = true;
    this.note("");
    this.els.now.hidden = true;
    const first = this.els.section.hidden;
    this.show(title);
    this.metadata();
    if (first) {
      this.els.section.scrollIntoView({ behavior: reducedMotion.matches ? "auto" : "smooth", block: "start" });
    }
  }

  message(text) {
    const p = document.createElement("p");
    p.className = "note";
    p.textContent = text;
    return p;
  }

  /** Call from inside a click: some browsers (Safari) only let audio start in one, and the
   * session's audio comes after the click's await. Playing once, here, allows it later. */
  bless() {
    const { audio } = this;
    if (this.blessed || !audio.paused) return;
    this.blessed = true;
    if (!audio.getAttribute("src")) {
      this.switching = true;
      audio.src = SILENCE;
      audio.play().catch(() => {}).finally(() => {
        this.switching = false;
      });
    } else {
      audio.play().catch(() => {});
      audio.pause();
    }
  }

  /** Whether a session (not the blessing silence) is playing. */
  playing() {
    return !this.audio.paused && this.audio.getAttribute("src") !== SILENCE;
  }

  /** Whether the player holds a session's audio. */
  loaded() {
    const src = this.audio.getAttribute("src");
    return Boolean(src) && src !== SILENCE;
  }

  /** Play the render while it is made (the live MP3 stream). */
  playStream(url) {
    this.streaming = true;
    this.audio.src = url;
    this.note("Playing while the session is made. Jumping around works once it is finished.");
    return this.audio.play();
  }

  /** The finished file: continue a stream at the same place, or load it (resuming where the
   * listener left off) and play it when asked. */
  async playFile(url, { key, play = false } = {}) {
    const { audio } = this;
    if (key) this.key = key;
    if (this.streaming) {
      await this.switchToFile(url);
      return;
    }
    if (audio.getAttribute("src") === url) {
      if (play) await audio.play();
      return;
    }
    this.switching = true;
    audio.src = url;
    try {
      await once(audio, "loadedmetadata");
    } finally {
      this.switching = false;
    }
    const saved = this.savedPosition();
    if (saved !== null && saved > 5 && saved < audio.duration - 5) {
      audio.currentTime = saved;
      this.els.resumeAt.textContent = clock(saved);
      this.els.resumeNote.hidden = false;
    }
    this.note("");
    this.update();
    if (play) await audio.play();
  }

  async switchToFile(url) {
    const { audio } = this;
    const at = this.pendingSeek ?? audio.currentTime;
    const playing = !audio.paused && !audio.ended;
    this.pendingSeek = null;
    this.switching = true;
    this.streaming = false;
    try {
      audio.src = url;
      await once(audio, "loadedmetadata");
      audio.currentTime = Math.min(at, audio.duration || at);
      if (playing) await audio.play().catch(() => {});
    } finally {
      this.switching = false;
    }
    this.note("");
    this.update();
  }

  /** Stop and forget the audio (a cancelled or failed render). */
  stopAudio(message) {
    const { audio } = this;
    this.streaming = false;
    this.switching = true;
    audio.pause();
    audio.removeAttribute("src");
    audio.load();
    this.switching = false;
    if (message) this.note(message);
  }

  note(text) {
    this.els.note.textContent = text;
    this.els.note.hidden = !text;
  }

  setKey(key) {
    this.key = key;
  }

  setCover(url) {
    this.coverUrl = url;
    this.metadata();
  }

  // -- the timeline: chapters, transcript, holds ------------------------------------------------

  setTimeline(timeline) {
    if (timeline.language) this.setLanguage(timeline.language);
    if (timeline.title) this.show(timeline.title);
    this.durationS = timeline.duration_ms / 1000;
    this.chapters = (timeline.chapters || []).map((c) => ({ start: c.start_ms / 1000, title: c.title }));
    const events = [...(timeline.events || [])].sort((a, b) => a.start_ms - b.start_ms);
    this.lines = events
      .filter((e) => e.kind === "speech")
      .map((e) => ({ start: e.start_ms / 1000, end: e.end_ms / 1000, text: e.text, role: e.role }));
    const names = timeline.points || {};
    this.holds = [];
    const findFrom = new Map();
    for (const e of events) {
      const finding =
        (e.kind === "speech" && (e.role === "find" || e.role === "switch")) ||
        (e.kind === "pause" && e.label === "find");
      if (finding && !findFrom.has(e.step)) findFrom.set(e.step, e.start_ms);
      if (e.kind === "hold") {
        this.holds.push({
          from: (findFrom.get(e.step) ?? e.start_ms) / 1000,
          press: e.start_ms / 1000,
          to: e.end_ms / 1000,
          point: e.point,
          name: names[e.point] || "",
          side: e.side,
        });
        findFrom.delete(e.step);
      }
    }
    this.renderChapters();
    this.renderTranscript();
    this.els.now.hidden = false;
    this.chapterIndex = -2;
    this.lineIndex = -2;
    this.hold = undefined;
    this.update();
  }

  renderChapters() {
    this.els.chapterList.replaceChildren(
      ...this.chapters.map((chapter, index) => {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "chapter";
        button.dataset.index = index;
        button.dataset.start = chapter.start;
        const time = document.createElement("span");
        time.className = "time";
        time.textContent = clock(chapter.start);
        const title = document.createElement("span");
        title.className = "chapter-title";
        title.textContent = chapter.title;
        button.append(time, " ", title);
        button.addEventListener("click", () => this.seek(chapter.start));
        item.append(button);
        return item;
      }),
    );
  }

  renderTranscript() {
    const items = [];
    let chapter = 0;
    this.lines.forEach((line, index) => {
      while (chapter < this.chapters.length && this.chapters[chapter].start <= line.start + EDGE_S) {
        const heading = document.createElement("li");
        heading.className = "transcript-chapter";
        heading.textContent = this.chapters[chapter].title;
        items.push(heading);
        chapter += 1;
      }
      const item = document.createElement("li");
      item.className = `line role-${line.role || "say"}`;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "line-button";
      button.dataset.index = index;
      button.tabIndex = index === 0 ? 0 : -1;
      const time = document.createElement("span");
      time.className = "time";
      time.textContent = clock(line.start);
      const text = document.createElement("span");
      text.className = "line-text";
      text.textContent = line.text;
      button.append(time, " ", text);
      button.addEventListener("click", () => this.seek(line.start));
      item.append(button);
      line.el = button;
      items.push(item);
    });
    // Replacing the lines moves the list's scroll position: that is not the listener scrolling.
    this.programmaticScrollUntil = performance.now() + 500;
    this.els.transcript.replaceChildren(...items);
  }

  transcriptKey(event) {
    const buttons = this.lines.map((l) => l.el);
    const at = buttons.indexOf(document.activeElement);
    if (at < 0) return;
    let to = null;
    if (event.key === "ArrowDown") to = Math.min(at + 1, buttons.length - 1);
    else if (event.key === "ArrowUp") to = Math.max(at - 1, 0);
    else if (event.key === "Home") to = 0;
    else if (event.key === "End") to = buttons.length - 1;
    if (to === null) return;
    event.preventDefault();
    buttons[at].tabIndex = -1;
    buttons[to].tabIndex = 0;
    buttons[to].focus();
  }

  setDiagram(svgText) {
    // The page's Content-Security-Policy blocks the file's own <style> (style.css stands in for
    // it): leave it out before parsing, or the browser reports the blocked style.
    const text = svgText.replace(/<style[\s\S]*?<\/style>/gi, "");
    const doc = new DOMParser().parseFromString(text, "image/svg+xml");
    const svg = doc.documentElement;
    if (!svg || svg.nodeName !== "svg" || doc.querySelector("parsererror")) {
      this.els.diagramBox.replaceChildren(this.message("The body diagram could not be shown."));
      return;
    }
    // Nothing in it may run or carry inline style.
    for (const node of svg.querySelectorAll("style, script, foreignObject")) node.remove();
    for (const node of [svg, ...svg.querySelectorAll("*")]) {
      for (const attr of [...node.attributes]) {
        if (attr.name.startsWith("on") || attr.name === "style") node.removeAttribute(attr.name);
      }
    }
    const node = document.importNode(svg, true);
    node.classList.add("body-diagram");
    node.removeAttribute("width");
    node.removeAttribute("height");
    this.markers = new Map();
    for (const marker of node.querySelectorAll("circle.marker[data-code]")) {
      const code = marker.dataset.code;
      if (!this.markers.has(code)) this.markers.set(code, []);
      this.markers.get(code).push(marker);
    }
    this.labels = new Map();
    for (const label of node.querySelectorAll("text.label")) {
      this.labels.set(label.textContent.trim(), label);
    }
    this.els.diagramBox.replaceChildren(node);
    this.hold = undefined;
    this.update();
  }

  // -- following playback -----------------------------------------------------------------------

  now() {
    return this.pendingSeek ?? this.audio.currentTime;
  }

  update() {
    if (this.switching) return;
    const t = this.now();
    const chapterIndex = lastStartedAt(this.chapters, t);
    if (chapterIndex !== this.chapterIndex) {
      this.chapterIndex = chapterIndex;
      for (const button of this.els.chapterList.querySelectorAll("button")) {
        if (Number(button.dataset.index) === chapterIndex) button.setAttribute("aria-current", "true");
        else button.removeAttribute("aria-current");
      }
      this.metadata();
    }
    const lineIndex = lastStartedAt(this.lines, t);
    if (lineIndex !== this.lineIndex) {
      const old = this.lines[this.lineIndex];
      if (old) old.el.removeAttribute("aria-current");
      this.lineIndex = lineIndex;
      const line = this.lines[lineIndex];
      if (line) {
        line.el.setAttribute("aria-current", "true");
        if (!this.els.transcript.contains(document.activeElement)) {
          for (const l of this.lines) l.el.tabIndex = -1;
          line.el.tabIndex = 0;
        }
        if (this.follow) this.scrollToLine(line.el);
      }
    }
    const hold = this.holds.find((h) => h.from <= t && t < h.to) || null;
    const phase = hold ? (t < hold.press ? "find" : "press") : null;
    if (hold !== this.hold || phase !== this.holdPhase) {
      const before = this.hold;
      this.hold = hold;
      this.holdPhase = phase;
      this.markPoint(before, hold, phase);
      this.metadata();
    }
    this.showNow();
    this.savePosition(false);
    this.sleepTick();
  }

  markPoint(before, hold, phase) {
    if (before && before.point) {
      for (const m of this.markers.get(before.point) || []) m.classList.remove("now", "finding");
      this.labels.get(before.point)?.classList.remove("now");
    }
    if (hold) {
      for (const m of this.markers.get(hold.point) || []) {
        m.classList.add("now");
        m.classList.toggle("finding", phase === "find");
        // Drawn last, so the marked point sits on top of its neighbours.
        m.parentNode.append(m);
      }
      this.labels.get(hold.point)?.classList.add("now");
    }
  }

  pointText() {
    const { hold } = this;
    if (!hold) return "";
    const side = hold.side === "both" ? "both sides" : `${hold.side} side`;
    const verb = this.holdPhase === "find" ? "Find" : "Press";
    return `${verb} ${hold.point}${hold.name ? ` ${hold.name}` : ""} (${side})`;
  }

  showNow() {
    const chapter = this.chapters[this.chapterIndex];
    const parts = [];
    if (chapter) parts.push(chapter.title);
    const point = this.pointText();
    if (point) parts.push(point);
    const text = parts.join(" · ") || "—";
    if (this.els.nowText.textContent !== text) this.els.nowText.textContent = text;
  }

  scrollToLine(el) {
    const list = this.els.transcript;
    const top = el.offsetTop - list.clientHeight / 3;
    if (Math.abs(list.scrollTop - top) < 2) return;
    this.programmaticScrollUntil = performance.now() + (reducedMotion.matches ? 150 : 1200);
    list.scrollTo({ top: Math.max(0, top), behavior: reducedMotion.matches ? "auto" : "smooth" });
  }

  setFollow(on) {
    this.follow = on;
    this.els.follow.setAttribute("aria-pressed", on ? "true" : "false");
    if (on) {
      const line = this.lines[this.lineIndex];
      if (line) this.scrollToLine(line.el);
    }
  }

  // -- moving -----------------------------------------------------------------------------------

  seek(seconds) {
    const { audio } = this;
    const t = Math.max(0, seconds);
    if (this.streaming) {
      const ranges = audio.seekable;
      for (let i = 0; i < ranges.length; i += 1) {
        if (ranges.start(i) <= t && t <= ranges.end(i)) {
          audio.currentTime = t;
          return;
        }
      }
      this.pendingSeek = t;
      this.note(`It jumps to ${clock(t)} as soon as the session is finished (jumping needs the whole file).`);
      this.update();
      return;
    }
    if (!this.loaded()) return;
    audio.currentTime = Number.isFinite(audio.duration) ? Math.min(t, audio.duration) : t;
    this.update();
  }

  seekBy(delta) {
    this.seek(this.now() + delta);
  }

  nextChapter() {
    const next = this.chapters[lastStartedAt(this.chapters, this.now()) + 1];
    if (next) this.seek(next.start);
  }

  previousChapter() {
    const t = this.now();
    const index = lastStartedAt(this.chapters, t);
    if (index < 0) return;
    // Within the first seconds of a chapter, go to the one before; later, to its start.
    const target = t - this.chapters[index].start > 3 || index === 0 ? index : index - 1;
    this.seek(this.chapters[target].start);
  }

  toggle() {
    const { audio } = this;
    if (!this.loaded()) return;
    if (audio.paused) audio.play().catch(() => {});
    else audio.pause();
  }

  shortcut(event) {
    if (!this.shortcuts || event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (this.els.section.hidden || !this.loaded()) return;
    const target = event.target instanceof Element ? event.target : document.body;
    if (target.closest("input, textarea, select, audio, [contenteditable]")) return;
    // Space and the arrows scroll the page elsewhere: take them only from the player or nowhere.
    const inPlayer = target === document.body || this.els.section.contains(target);
    const onControl = target.closest("button, a, summary");
    switch (event.key) {
      case " ":
        if (!inPlayer || onControl) return;
        this.toggle();
        break;
      case "k":
      case "K":
        this.toggle();
        break;
      case "ArrowLeft":
        if (!inPlayer) return;
        this.seekBy(-SKIP_S);
        break;
      case "ArrowRight":
        if (!inPlayer) return;
        this.seekBy(SKIP_S);
        break;
      case "n":
      case "N":
        this.nextChapter();
        break;
      case "p":
      case "P":
        this.previousChapter();
        break;
      case "f":
      case "F":
        this.setFollow(!this.follow);
        break;
      default:
        return;
    }
    event.preventDefault();
  }

  // -- sleep timer ------------------------------------------------------------------------------

  chapterEnd(t) {
    const index = lastStartedAt(this.chapters, t);
    const next = this.chapters[index + 1];
    if (next) return next.start;
    return Number.isFinite(this.audio.duration) ? this.audio.duration : this.durationS ?? Infinity;
  }

  setSleep(value) {
    const { audio, els } = this;
    if (this.sleep && this.sleep.volume !== null) audio.volume = this.sleep.volume;
    clearInterval(this.sleepTimer);
    this.sleep = null;
    els.sleep.value = value;
    if (value === "off") {
      els.sleepStatus.textContent = "";
      return;
    }
    if (value === "chapter") {
      this.sleep = { mode: "chapter", end: this.chapterEnd(this.now()), volume: null };
    } else {
      this.sleep = { mode: "minutes", deadline: Date.now() + Number(value) * 60000, volume: null };
    }
    this.sleepTimer = setInterval(() => this.sleepTick(), 250);
    this.sleepTick();
  }

  sleepTick() {
    const { sleep, audio, els } = this;
    if (!sleep) return;
    const remaining =
      sleep.mode === "chapter"
        ? (sleep.end - audio.currentTime) / (audio.playbackRate || 1)
        : (sleep.deadline - Date.now()) / 1000;
    if (remaining <= 0) {
      audio.pause();
      if (sleep.volume !== null) audio.volume = sleep.volume;
      sleep.volume = null;
      this.setSleep("off");
      els.sleepStatus.textContent = "Paused by the sleep timer.";
      return;
    }
    if (remaining <= FADE_S && !audio.paused) {
      if (sleep.volume === null) sleep.volume = audio.volume;
      audio.volume = sleep.volume * Math.max(0, Math.min(1, remaining / FADE_S));
    }
    const where = sleep.mode === "chapter" ? "at the end of this chapter" : "";
    const text = `Fades out and pauses ${where}${where ? ", " : ""}in ${clock(remaining)}.`;
    if (els.sleepStatus.textContent !== text) els.sleepStatus.textContent = text;
  }

  // -- Media Session ----------------------------------------------------------------------------

  metadata() {
    if (!("mediaSession" in navigator) || !("MediaMetadata" in window)) return;
    const chapter = this.chapters[this.chapterIndex];
    const title = this.pointText() || (chapter && chapter.title) || this.title || "acuvoice";
    const init = { title, artist: "acuvoice", album: this.title };
    if (this.coverUrl) init.artwork = [{ src: this.coverUrl, type: "image/png" }];
    navigator.mediaSession.metadata = new MediaMetadata(init);
  }

  playbackState(state) {
    if ("mediaSession" in navigator) navigator.mediaSession.playbackState = state;
  }

  positionState() {
    const { audio } = this;
    if (!("mediaSession" in navigator) || !navigator.mediaSession.setPositionState) return;
    if (!Number.isFinite(audio.duration) || audio.duration <= 0) return;
    try {
      navigator.mediaSession.setPositionState({
        duration: audio.duration,
        playbackRate: audio.playbackRate || 1,
        position: Math.min(Math.max(audio.currentTime, 0), audio.duration),
      });
    } catch {
      // A position outside the duration while the source changes.
    }
  }

  // -- the position, per session ----------------------------------------------------------------

  savedPosition() {
    if (!this.key) return null;
    try {
      const saved = JSON.parse(localStorage.getItem(POSITION_PREFIX + this.key));
      return saved && typeof saved.t === "number" ? saved.t : null;
    } catch {
      return null;
    }
  }

  savePosition(now) {
    if (!this.key || this.switching) return;
    const t = this.audio.currentTime;
    if (!now && Date.now() - this.lastSave < SAVE_EVERY_MS) return;
    if (!(t > 0)) return;
    this.lastSave = Date.now();
    try {
      localStorage.setItem(POSITION_PREFIX + this.key, JSON.stringify({ t, at: Date.now() }));
      this.prunePositions();
    } catch {
      // Storage full or off: the position is not remembered.
    }
  }

  forgetPosition() {
    if (this.key) localStorage.removeItem(POSITION_PREFIX + this.key);
  }

  prunePositions() {
    const saved = [];
    for (let i = 0; i < localStorage.length; i += 1) {
      const name = localStorage.key(i);
      if (!name || !name.startsWith(POSITION_PREFIX)) continue;
      try {
        saved.push([JSON.parse(localStorage.getItem(name)).at || 0, name]);
      } catch {
        saved.push([0, name]);
      }
    }
    if (saved.length <= POSITIONS_KEPT) return;
    saved.sort((a, b) => a[0] - b[0]);
    for (const [, name] of saved.slice(0, saved.length - POSITIONS_KEPT)) localStorage.removeItem(name);
  }
}
