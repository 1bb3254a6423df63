// The routine editor: a textarea with a line-numbered gutter, checked as you type, with every
// problem listed (line and column) and its line marked.

import { api } from "./api.js";

const CHECK_DELAY_MS = 400;
const DRAFT_KEY = "acuvoice:draft";
const MAX_BYTES = 1_000_000;

export class Editor {
  /**
   * @param {object} els  textarea, gutter (numbers <pre>), marks, backdrop, status, problems
   * @param {(result: {ok: boolean, text: string, problems: object[]}) => void} onChecked
   *   called after each check (ok: no errors) and with ok=false as soon as the text changes
   */
  constructor(els, onChecked) {
    this.els = els;
    this.onChecked = onChecked;
    this.timer = null;
    this.controller = null;
    this.generation = 0;
    this.problems = [];
    this.ok = false;
    this.lineCount = 0;
    const { textarea } = els;
    textarea.addEventListener("input", () => this.changed());
    textarea.addEventListener("scroll", () => this.syncScroll());
    this.resizeObserver = new ResizeObserver(() => this.syncScroll());
    this.resizeObserver.observe(textarea);
    const draft = localStorage.getItem(DRAFT_KEY);
    if (draft) textarea.value = draft;
    this.renderLines();
  }

  get text() {
    return this.els.textarea.value;
  }

  /** Replace the text (a copy or an upload) and check it at once. */
  setText(text) {
    this.els.textarea.value = text;
    this.els.textarea.scrollTop = 0;
    this.changed(0);
  }

  changed(delay = CHECK_DELAY_MS) {
    this.renderLines();
    this.ok = false;
    this.generation += 1;
    if (this.controller) this.controller.abort();
    clearTimeout(this.timer);
    try {
      localStorage.setItem(DRAFT_KEY, this.text);
    } catch {
      // A full storage only loses the draft.
    }
    const text = this.text;
    if (!text.trim()) {
      this.show([], "Paste or upload a routine.", "idle");
      this.onChecked({ ok: false, text, problems: [], empty: true });
      return;
    }
    if (new TextEncoder().encode(text).length > MAX_BYTES) {
      this.show([], "The routine is over 1 MB; the server does not take routines that large.", "error");
      this.onChecked({ ok: false, text, problems: [] });
      return;
    }
    this.setStatus("Checking…", "busy");
    this.onChecked({ ok: false, text, problems: this.problems, pending: true });
    this.timer = setTimeout(() => this.check(text, this.generation), delay);
  }

  async check(text, generation) {
    this.controller = new AbortController();
    let result;
    try {
      result = await api.validate(text, this.controller.signal);
    } catch (err) {
      if (err.name === "AbortError" || generation !== this.generation) return;
      this.show([], `Could not check the routine: ${err.message}`, "error");
      this.onChecked({ ok: false, text, problems: [] });
      return;
    }
    if (generation !== this.generation) return;
    const problems = [...result.problems].sort((a, b) => a.line - b.line || a.column - b.column);
    const errors = problems.filter((p) => p.severity === "error").length;
    const warnings = problems.length - errors;
    let summary;
    if (!problems.length) summary = "No problems found.";
    else {
      const parts = [];
      if (errors) parts.push(`${errors} error${errors === 1 ? "" : "s"}`);
      if (warnings) parts.push(`${warnings} warning${warnings === 1 ? "" : "s"}`);
      summary = `${parts.join(" and ")}${errors ? ": fix them to render" : ""}.`;
    }
    this.ok = result.ok;
    this.show(problems, summary, result.ok ? (warnings ? "warning" : "ok") : "error");
    this.onChecked({ ok: result.ok, text, problems });
  }

  setStatus(text, kind) {
    const { status } = this.els;
    status.textContent = text;
    status.dataset.kind = kind;
  }

  show(problems, summary, kind) {
    this.problems = problems;
    this.setStatus(summary, kind);
    const { problems: list, textarea } = this.els;
    list.replaceChildren(
      ...problems.map((problem) => {
        const item = document.createElement("li");
        item.className = `problem ${problem.severity}`;
        const where = problem.line > 0 ? `Line ${problem.line}, column ${problem.column}` : "The routine";
        if (problem.line > 0) {
          const button = document.createElement("button");
          button.type = "button";
          button.className = "problem-link";
          button.dataset.line = problem.line;
          button.dataset.column = problem.column;
          const place = document.createElement("span");
          place.className = "problem-place";
          place.textContent = `${problem.line}:${problem.column}`;
          place.setAttribute("aria-label", where);
          button.append(place, ` ${problem.severity}: `, problem.message);
          button.addEventListener("click", () => this.goTo(problem.line, problem.column));
          item.append(button);
        } else {
          item.textContent = `${problem.severity}: ${problem.message}`;
        }
        return item;
      }),
    );
    textarea.setAttribute("aria-invalid", problems.some((p) => p.severity === "error") ? "true" : "false");
    this.renderMarks();
  }

  /** Put the cursor at a line and column (1-based) and scroll it into view. */
  goTo(line, column) {
    const { textarea } = this.els;
    const lines = textarea.value.split("\n");
    const row = Math.min(Math.max(line, 1), lines.length) - 1;
    let offset = 0;
    for (let i = 0; i < row; i += 1) offset += lines[i].length + 1;
    offset += Math.min(Math.max(column - 1, 0), lines[row].length);
    textarea.focus();
    textarea.setSelectionRange(offset, offset);
    const lineHeight = this.lineHeight();
    textarea.scrollTop = Math.max(0, row * lineHeight - textarea.clientHeight / 3);
    this.syncScroll();
  }

  lineHeight() {
    return parseFloat(getComputedStyle(this.els.textarea).lineHeight) || 20;
  }

  renderLines() {
    const count = this.text.split("\n").length;
    if (count !== this.lineCount) {
      this.lineCount = count;
      const numbers = [];
      for (let i = 1; i <= count; i += 1) numbers.push(i);
      this.els.gutter.textContent = numbers.join("\n");
    }
    this.renderMarks();
  }

  renderMarks() {
    const { marks, backdrop } = this.els;
    const byLine = new Map();
    for (const problem of this.problems) {
      if (problem.line <= 0) continue;
      const worst = byLine.get(problem.line);
      if (worst !== "error") byLine.set(problem.line, problem.severity);
    }
    const gutterMarks = [];
    const bands = [];
    const lineHeight = this.lineHeight();
    const columns = [];
    for (const problem of this.problems) {
      if (problem.line <= 0 || problem.column <= 0) continue;
      // Where on the line: monospace, so a column is a character's width (1ch).
      const mark = document.createElement("div");
      mark.className = `column-mark ${problem.severity}`;
      mark.style.top = `${(problem.line - 1) * lineHeight}px`;
      mark.style.height = `${lineHeight}px`;
      mark.style.left = `calc(${problem.column - 1}ch + var(--code-x) - var(--scroll-x, 0px))`;
      columns.push(mark);
    }
    for (const [line, severity] of byLine) {
      const top = `${(line - 1) * lineHeight}px`;
      const mark = document.createElement("div");
      mark.className = `gutter-mark ${severity}`;
      mark.dataset.line = line;
      mark.style.top = top;
      mark.style.height = `${lineHeight}px`;
      gutterMarks.push(mark);
      const band = document.createElement("div");
      band.className = `line-band ${severity}`;
      band.dataset.line = line;
      band.style.top = top;
      band.style.height = `${lineHeight}px`;
      bands.push(band);
    }
    marks.replaceChildren(...gutterMarks);
    backdrop.replaceChildren(...bands, ...columns);
    this.syncScroll();
  }

  syncScroll() {
    const { textarea, gutterInner, backdrop } = this.els;
    gutterInner.style.transform = `translateY(${-textarea.scrollTop}px)`;
    backdrop.style.transform = `translateY(${-textarea.scrollTop}px)`;
    backdrop.style.setProperty("--scroll-x", `${textarea.scrollLeft}px`);
  }

  /** Read a file the user chose, in the browser. */
  async load(file) {
    if (file.size > MAX_BYTES) {
      this.show([], `${file.name} is over 1 MB; the server does not take routines that large.`, "error");
      return;
    }
    this.setText(await file.text());
  }
}
