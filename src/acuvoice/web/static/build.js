// The "Build my session" form: the listener's answers go to POST /api/plan; the routine it
// builds is handed to the page like a routine of one's own, with an account of it.

import { api } from "./api.js";
import { length } from "./format.js";

const MINUTES = [5, 10, 15, 20, 30, 45, 60];
const DEFAULT_MINUTES = 15;

const $ = (id) => document.getElementById(id);

/** "Low back pain." -> "Low back pain": a description read as a label. */
const asLabel = (text) => text.replace(/\.$/, "");

const capitalized = (text) => text.charAt(0).toUpperCase() + text.slice(1);

function checkbox(name, value, text, note) {
  const item = document.createElement("li");
  const label = document.createElement("label");
  const box = document.createElement("input");
  box.type = "checkbox";
  box.name = name;
  box.value = value;
  label.append(box, ` ${text}`);
  item.append(label);
  if (note) {
    const hint = document.createElement("span");
    hint.className = "note";
    hint.id = `${name}-${value}-note`;
    hint.textContent = note;
    box.setAttribute("aria-describedby", hint.id);
    item.append(hint);
  }
  return item;
}

export class PlanForm {
  /**
   * @param {object} options  GET /api/plan/options
   * @param {object[]} conditions  GET /api/conditions
   * @param {(built: object, answers: object) => void} onBuilt  called with the POST /api/plan
   *   answer and the answers it was built for
   */
  constructor(options, conditions, onBuilt) {
    this.options = options;
    this.onBuilt = onBuilt;
    this.generation = 0;
    this.offer = null;
    $("build-concerns").replaceChildren(
      ...options.concerns.map((c) => checkbox("concern", c.id, asLabel(c.description))),
    );
    $("build-avoid").replaceChildren(
      ...conditions.map((c) => checkbox("plan-avoid", c.id, capitalized(c.spoken), c.description)),
    );
    const minutes = MINUTES.filter((m) => m >= options.min_minutes && m <= options.max_minutes);
    $("build-minutes").replaceChildren(...minutes.map((m) => new Option(length(m * 60), String(m))));
    this.setMinutes(DEFAULT_MINUTES);
    $("build-level").replaceChildren(
      ...options.levels.map((level) => new Option(capitalized(level.id), level.id)),
    );
    $("build-concerns-note").textContent =
      options.max_concerns === 1 ? "Choose one." : `Choose one to ${words(options.max_concerns)}.`;
    this.showLevel();
    $("build-level").addEventListener("change", () => this.showLevel());
    $("build-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.build();
    });
    $("build-offer").addEventListener("click", () => {
      if (!this.offer) return;
      this.fill(this.offer);
      // The button goes away with the refusal: focus moves to what was built.
      this.build({ focus: true });
    });
    $("build").hidden = false;
  }

  /** Say when plans are not written in the page's language (they are built all the same). */
  showLanguage(tag, name) {
    const note = $("build-language");
    const written = this.options.languages;
    note.hidden = written.includes(tag);
    note.textContent = `Sessions are built in English only for now: the one you build is spoken in English, not in ${name}.`;
  }

  showLevel() {
    const chosen = this.options.levels.find((level) => level.id === $("build-level").value);
    $("build-level-note").textContent = chosen ? chosen.description : "";
  }

  /** Choose ``minutes``, adding it to the list when an offer asks for a length it lacks. */
  setMinutes(minutes) {
    const select = $("build-minutes");
    const value = String(minutes);
    if (![...select.options].some((o) => o.value === value)) {
      const option = new Option(length(minutes * 60), value);
      const after = [...select.options].find((o) => Number(o.value) > minutes);
      select.add(option, after || null);
    }
    select.value = value;
  }

  answers() {
    const ticked = (name) =>
      [...document.querySelectorAll(`#build-form input[name="${name}"]:checked`)].map((box) => box.value);
    return {
      concerns: ticked("concern"),
      minutes: Number($("build-minutes").value),
      avoid: ticked("plan-avoid"),
      level: $("build-level").value,
      // Plans are written in English only; the routine says so in its own `language:`.
      language: this.options.languages[0],
    };
  }

  fill({ concerns, minutes, avoid, level }) {
    for (const box of document.querySelectorAll('#build-form input[name="concern"]')) {
      box.checked = concerns.includes(box.value);
    }
    for (const box of document.querySelectorAll('#build-form input[name="plan-avoid"]')) {
      box.checked = avoid.includes(box.value);
    }
    this.setMinutes(minutes);
    $("build-level").value = level;
    this.showLevel();
  }

  async build({ focus = false } = {}) {
    const generation = ++this.generation;
    const answers = this.answers();
    // Not disabled while it works: a disabled button would lose the keyboard focus, and a
    // second press only makes the newest answer count.
    $("build-status").textContent = "Building your session…";
    $("build-refusal").hidden = true;
    let built;
    try {
      built = await api.plan(answers);
    } catch (err) {
      if (generation !== this.generation) return;
      this.refused(err);
      if (focus) $("build-go").focus();
      return;
    }
    if (generation !== this.generation) return;
    this.showResult(built);
    $("build-status").textContent = `Built “${built.title}”: it is loaded below as your own routine.`;
    this.onBuilt(built, answers);
    if (focus) $("build-result-h").focus();
  }

  refused(err) {
    const body = err.body || {};
    this.offer = body.offer || null;
    $("build-status").textContent = "";
    $("build-result").hidden = true;
    $("build-refusal-text").textContent = capitalized(err.message);
    $("build-offer").hidden = !this.offer;
    if (this.offer) {
      const offered = this.options.concerns
        .filter((c) => this.offer.concerns.includes(c.id))
        .map((c) => asLabel(c.description).toLowerCase());
      $("build-offer").textContent = `Build that instead: ${offered.join(", ")}, ${length(this.offer.minutes * 60)}`;
    }
    $("build-refusal").hidden = false;
  }

  showResult(built) {
    $("build-result-h").textContent = built.title;
    $("build-summary").textContent = built.lines[0] || "";
    $("build-points").replaceChildren(
      ...built.points.map((code) => {
        const item = document.createElement("li");
        item.textContent = built.names[code] ? `${code} ${built.names[code]}` : code;
        return item;
      }),
    );
    $("build-left-out-list").replaceChildren(
      ...built.left_out.map((lo) => {
        const item = document.createElement("li");
        const strong = document.createElement("strong");
        strong.textContent = `${lo.code} ${lo.name}`;
        item.append(strong, `: ${lo.why}`);
        return item;
      }),
    );
    $("build-left-out").hidden = !built.left_out.length;
    $("build-result").hidden = false;
  }
}

function words(n) {
  return ["zero", "one", "two", "three", "four", "five"][n] || String(n);
}
