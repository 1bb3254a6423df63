// The listening page: choose a session, set it up, render it, listen to it and download it.

import { ApiError, TERMINAL, api, followRender } from "./api.js";
import { PlanForm } from "./build.js";
import { Editor } from "./editor.js";
import { bytes, length, list, spokenLength, timeLeft } from "./format.js";
import { Player } from "./player.js";

const $ = (id) => document.getElementById(id);
const OWN = "__own__";
const TEST = new URLSearchParams(window.location.search).has("test");
const AUDIO_FORMATS = ["mp3", "wav", "flac", "ogg", "m4a"];
const OWN_EXACT_DELAY_MS = 2500;
const LANGUAGE_KEY = "acuvoice:language";
const ENGLISH = "en";
const PHASES = {
  voicing: "Voicing the phrases",
  measuring: "Measuring loudness",
  writing: "Writing the audio",
  extras: "Making the transcript, sheet and diagram",
};

const state = {
  language: ENGLISH, // the built-in sessions' language (a tag from /api/languages)
  languages: [], // [{tag, name, routines, voices}]
  routines: [],
  copyable: [], // the English built-in routines, to copy into the editor
  conditions: new Map(),
  engines: [],
  source: null, // a built-in routine's name, or OWN
  info: null, // {title, language, cautions, defaultS}
  own: { ok: false, text: "", checked: false },
  range: null,
  rangeProblem: null,
  lengthTouched: false,
  exactCache: new Map(),
};

const main = { job: null, stopFollow: null, waiting: null };

const player = new Player({
  section: $("player"),
  audio: $("audio"),
  title: $("player-title"),
  note: $("player-note"),
  resumeNote: $("resume-note"),
  resumeAt: $("resume-at"),
  startOver: $("start-over"),
  speed: $("speed"),
  sleep: $("sleep"),
  sleepStatus: $("sleep-status"),
  shortcuts: $("shortcuts"),
  now: $("now"),
  nowText: $("now-text"),
  chapterList: $("chapter-list"),
  diagramBox: $("diagram-box"),
  follow: $("follow"),
  transcript: $("transcript"),
});

let editor = null;
let planForm = null;

// -- start ------------------------------------------------------------------------------------

async function init() {
  let routines;
  let conditions;
  let voices;
  let sounds;
  let languages;
  let planOptions;
  try {
    [languages, conditions, voices, sounds, planOptions] = await Promise.all([
      api.languages().catch(() => []),
      api.conditions(),
      api.voices(),
      api.sounds(),
      // Without it the page still plays sessions; the form stays hidden.
      api.planOptions().catch(() => null),
    ]);
    state.languages = languages.length ? languages : [{ tag: ENGLISH, name: "English" }];
    state.language = preferredLanguage();
    routines = await api.routines(state.language);
    state.copyable = state.language === ENGLISH ? routines : await api.routines(ENGLISH);
  } catch (err) {
    const box = $("load-error");
    box.textContent = `The page could not load what it needs: ${err.message}`;
    box.hidden = false;
    return;
  }
  state.routines = routines;
  buildLanguages();
  for (const condition of conditions) state.conditions.set(condition.id, condition);
  state.engines = voices.filter((engine) => TEST || engine.name !== "fake");
  buildGallery();
  buildConditions(conditions);
  buildSounds(sounds);
  buildCopySelect();
  buildVoices(state.language);
  editor = new Editor(
    {
      textarea: $("yaml"),
      gutter: document.querySelector("#editor .line-numbers"),
      gutterInner: document.querySelector("#editor .gutter-inner"),
      marks: document.querySelector("#editor .gutter-marks"),
      backdrop: document.querySelector("#editor .backdrop-inner"),
      status: $("check-status"),
      problems: $("problems"),
    },
    ownChecked,
  );
  wire();
  if (planOptions) {
    planForm = new PlanForm(planOptions, conditions, loadPlan);
    planForm.showLanguage(state.language, languageName(state.language));
  }
  const wanted = new URLSearchParams(window.location.search).get("routine");
  const first = routines.find((r) => r.name === wanted);
  if (first) choose(first.name);
}

function wire() {
  $("language").addEventListener("change", () => changeLanguage($("language").value));
  $("length").addEventListener("input", () => {
    state.lengthTouched = Number($("length").value) !== lengthDefault();
    showLength();
  });
  $("length-reset").addEventListener("click", () => {
    state.lengthTouched = false;
    $("length").value = String(lengthDefault());
    showLength();
    $("length").focus();
  });
  $("voice").addEventListener("change", () => {
    showVoiceNote();
    refreshRange();
  });
  $("cues").addEventListener("change", () => {
    stopPreview();
    refreshRange();
  });
  $("ambience").addEventListener("change", stopPreview);
  for (const button of document.querySelectorAll("button.preview")) {
    button.addEventListener("click", () => preview(button));
  }
  $("play").addEventListener("click", () => go("play"));
  $("render").addEventListener("click", () => go("render"));
  $("cancel").addEventListener("click", cancel);
  $("yaml-file").addEventListener("change", async (event) => {
    const file = event.target.files && event.target.files[0];
    if (file) await editor.load(file);
    event.target.value = "";
  });
  $("copy-button").addEventListener("click", copyBuiltin);
  // Once the copy is edited, undoing it would lose the edits.
  $("yaml").addEventListener("input", () => {
    $("undo-copy").hidden = true;
  });
  $("undo-copy").addEventListener("click", () => {
    editor.setText(state.beforeCopy || "");
    $("undo-copy").hidden = true;
  });
  $("format-go").addEventListener("click", otherFormat);
}

// -- the language -----------------------------------------------------------------------------

const primaryOf = (tag) => (tag || "").toLowerCase().split("-")[0];

function languageName(tag) {
  const found = state.languages.find((l) => l.tag === primaryOf(tag));
  return found ? found.name : tag;
}

/** The remembered language, else the browser's first offered one, else English. */
function preferredLanguage() {
  const offered = state.languages.map((l) => l.tag);
  let saved = null;
  try {
    saved = localStorage.getItem(LANGUAGE_KEY);
  } catch {
    saved = null;
  }
  if (saved && offered.includes(saved)) return saved;
  for (const wanted of navigator.languages || [navigator.language]) {
    if (offered.includes(primaryOf(wanted))) return primaryOf(wanted);
  }
  return offered.includes(ENGLISH) ? ENGLISH : offered[0];
}

function buildLanguages() {
  const select = $("language");
  select.replaceChildren(
    ...state.languages.map((language) => {
      const option = new Option(language.name, language.tag);
      option.lang = language.tag; // read out in its own language
      return option;
    }),
  );
  select.value = state.language;
  select.disabled = state.languages.length < 2;
  showLanguageNote();
}

function showLanguageNote() {
  let text = "The sessions below, their voices and transcripts are in this language.";
  if (state.source === OWN && state.info && state.info.language) {
    text = `Your own routine is in ${languageName(state.info.language)}: its own language: line decides, not this choice.`;
  }
  $("language-note").textContent = text;
}

let languageGeneration = 0;

async function changeLanguage(tag) {
  const generation = ++languageGeneration;
  try {
    localStorage.setItem(LANGUAGE_KEY, tag);
  } catch {
    // Full or blocked storage: the choice lasts until the page is reloaded.
  }
  const gallery = $("gallery");
  gallery.setAttribute("aria-busy", "true");
  let routines;
  try {
    routines = await api.routines(tag);
  } catch (err) {
    if (generation !== languageGeneration) return;
    gallery.removeAttribute("aria-busy");
    $("language").value = state.language;
    const box = $("load-error");
    box.textContent = `The sessions in ${languageName(tag)} could not be loaded: ${err.message}`;
    box.hidden = false;
    return;
  }
  if (generation !== languageGeneration) return;
  $("load-error").hidden = true;
  state.language = tag;
  if (planForm) planForm.showLanguage(tag, languageName(tag));
  state.routines = routines;
  buildGallery();
  if (state.source && state.source !== OWN) {
    if (routines.some((r) => r.name === state.source)) choose(state.source);
    else {
      // Not written in this language: nothing is chosen.
      state.source = null;
      state.info = null;
      for (const id of ["options", "go"]) $(id).hidden = true;
      buildVoices(tag);
    }
  } else if (state.source === OWN) {
    const radio = document.querySelector(`input[name=routine][value="${OWN}"]`);
    if (radio) radio.checked = true;
  } else buildVoices(tag);
  showLanguageNote();
}

// -- the gallery ------------------------------------------------------------------------------

function cautionWords(ids) {
  return ids.map((id) => (state.conditions.get(id) || { spoken: id }).spoken);
}

function card({ value, title, meta, summary, points, cautions, lang }) {
  const item = document.createElement("li");
  item.className = "card";
  const label = document.createElement("label");
  label.className = "card-label";
  const radio = document.createElement("input");
  radio.type = "radio";
  radio.name = "routine";
  radio.value = value;
  radio.className = "card-radio";
  const id = `card-${value}`;
  const heading = document.createElement("span");
  heading.className = "card-title";
  heading.id = `${id}-title`;
  heading.textContent = title;
  if (lang) heading.lang = lang;
  radio.setAttribute("aria-labelledby", heading.id);
  const described = [];
  const add = (className, text) => {
    const span = document.createElement("span");
    span.className = className;
    span.id = `${id}-${className}`;
    span.textContent = text;
    described.push(span.id);
    return span;
  };
  const head = document.createElement("span");
  head.className = "card-head";
  head.append(radio, heading);
  label.append(head);
  if (meta) label.append(add("card-meta", meta));
  if (summary) {
    const span = add("card-summary", summary);
    if (lang) span.lang = lang;
    label.append(span);
  }
  if (points) label.append(add("card-points", points));
  if (cautions) label.append(add("card-caution", cautions));
  radio.setAttribute("aria-describedby", described.join(" "));
  radio.addEventListener("change", () => {
    if (radio.checked) choose(value);
  });
  item.append(label);
  return item;
}

function buildGallery() {
  const gallery = $("gallery");
  const cards = state.routines.map((r) =>
    card({
      value: r.name,
      title: r.title,
      meta: `${length(r.duration_ms / 1000)} · ${r.points.length} point${r.points.length === 1 ? "" : "s"}`,
      summary: r.summary,
      points: r.points.length ? `Points: ${r.points.join(", ")}` : "",
      cautions: r.cautions.length ? `Not for: ${list(cautionWords(r.cautions))}` : "",
      lang: r.language,
    }),
  );
  cards.push(
    card({
      value: OWN,
      title: "Your own routine",
      meta: "YAML",
      summary: "Paste, upload or write a routine, or start from a copy of one of these.",
    }),
  );
  gallery.replaceChildren(...cards);
  gallery.removeAttribute("aria-busy");
}

function buildCopySelect() {
  $("copy-select").replaceChildren(
    ...state.copyable.map((r) => new Option(r.title, r.name)),
  );
}

function choose(value) {
  state.source = value;
  state.lengthTouched = false;
  state.range = null;
  state.rangeProblem = null;
  const radio = document.querySelector(`input[name=routine][value="${CSS.escape(value)}"]`);
  if (radio) radio.checked = true;
  $("own").hidden = value !== OWN;
  $("options").hidden = false;
  $("go").hidden = false;
  if (value === OWN) {
    state.info = null;
    $("options-for").textContent = "for your own routine";
    if (editor) editor.changed(0);
  } else {
    const routine = state.routines.find((r) => r.name === value);
    state.info = {
      title: routine.title,
      language: routine.language,
      cautions: routine.cautions,
      defaultS: Math.round(routine.duration_ms / 1000),
    };
    $("options-for").textContent = `for ${routine.title}`;
    buildVoices(routine.language);
  }
  $("length").value = String(lengthDefault());
  showLength();
  showCautions();
  showLanguageNote();
  refreshRange();
}

// -- your own routine -------------------------------------------------------------------------

async function ownChecked(result) {
  state.own = { ok: result.ok, text: result.text, checked: !result.pending };
  if (state.source !== OWN) return;
  if (!result.ok) {
    state.range = null;
    state.rangeProblem = null;
    updateGo();
    if (!result.pending) setLengthNote(result.empty ? "Paste or upload a routine first." : "Fix the routine's errors first.");
    return;
  }
  const text = result.text;
  try {
    // The routine at a glance: its title, its own language (not the select's) and length.
    const described = await api.describe(text);
    if (editor.text !== text) return;
    state.info = {
      title: described.title || "Your routine",
      language: described.language || ENGLISH,
      cautions: described.cautions || [],
      defaultS: Math.round((described.target_ms || described.duration_ms) / 1000),
    };
    $("options-for").textContent = `for ${state.info.title} (${languageName(state.info.language)})`;
    buildVoices(state.info.language);
  } catch (err) {
    state.info = { title: "Your routine", language: ENGLISH, cautions: [], defaultS: null };
    buildVoices(ENGLISH);
  }
  showCautions();
  showLanguageNote();
  refreshRange();
}

async function copyBuiltin() {
  const name = $("copy-select").value;
  let text;
  try {
    text = await api.routineYaml(name);
  } catch (err) {
    $("check-status").textContent = `Could not copy the routine: ${err.message}`;
    return;
  }
  state.beforeCopy = editor.text;
  $("undo-copy").textContent = "Undo the copy";
  $("undo-copy").hidden = !state.beforeCopy.trim();
  editor.setText(text);
  $("yaml").focus();
}

/** A built session goes the way of a pasted routine: into the editor, checked, described,
 * then Options and Listen, with the conditions it was built for ticked. */
function loadPlan(built, answers) {
  for (const box of document.querySelectorAll("input[name=avoid]")) {
    box.checked = answers.avoid.includes(box.value);
  }
  if (editor.text !== built.yaml) {
    state.beforeCopy = editor.text;
    $("undo-copy").textContent = "Put back what was in the editor";
    $("undo-copy").hidden = !state.beforeCopy.trim();
  }
  choose(OWN);
  editor.setText(built.yaml);
}

// -- options ----------------------------------------------------------------------------------

function buildVoices(language) {
  const select = $("voice");
  const before = select.value;
  const primary = (language || "en").toLowerCase().split("-")[0];
  const options = [new Option("Automatic (best voice for the language)", "")];
  const missing = [];
  for (const engine of state.engines) {
    if (!engine.available) {
      missing.push(`${engine.name} (${engine.reason || "not installed"})`);
      continue;
    }
    const voices = engine.voices.filter((v) => v.language.toLowerCase().split("-")[0] === primary);
    if (!voices.length) continue;
    const group = document.createElement("optgroup");
    group.label = `${engine.name} — ${engine.license}`;
    for (const voice of voices) {
      const option = new Option(`${voice.name} · ${voice.quality}`, voice.id);
      option.dataset.engine = engine.name;
      option.dataset.license = voice.license;
      option.dataset.description = voice.description;
      group.append(option);
    }
    options.push(group);
  }
  select.replaceChildren(...options);
  select.value = [...select.options].some((o) => o.value === before) ? before : "";
  state.missingEngines = missing;
  showVoiceNote();
}

function selectedVoice() {
  const option = $("voice").selectedOptions[0];
  if (!option || !option.value) return null;
  return { engine: option.dataset.engine, voice: option.value, license: option.dataset.license };
}

function showVoiceNote() {
  const chosen = selectedVoice();
  let text;
  if (chosen) text = `License: ${chosen.license}.`;
  else if (state.range && state.range.measured_with !== "estimate") {
    text = `The best voice installed for this language: ${state.range.measured_with.split(";")[0]}.`;
  } else text = "The best voice installed for this language.";
  if (state.missingEngines && state.missingEngines.length) {
    text += ` Not available here: ${state.missingEngines.join("; ")}.`;
  }
  $("voice-note").textContent = text;
}

function buildSounds(sounds) {
  const fill = (select, items) => {
    select.replaceChildren(
      new Option("As the routine sets it", ""),
      ...items.map((item) => {
        const option = new Option(item.name === "none" ? "None" : item.name.replace("-", " "), item.name);
        option.dataset.preview = item.preview_url;
        return option;
      }),
    );
  };
  fill($("cues"), sounds.cues);
  fill($("ambience"), sounds.ambience);
  for (const button of document.querySelectorAll("button.preview")) updatePreviewButton(button);
  $("cues").addEventListener("change", () => updatePreviewButton(document.querySelector('.preview[data-kind="cues"]')));
  $("ambience").addEventListener("change", () =>
    updatePreviewButton(document.querySelector('.preview[data-kind="ambience"]')),
  );
}

function updatePreviewButton(button) {
  const option = $(button.dataset.kind).selectedOptions[0];
  const usable = option && option.value && option.value !== "none";
  button.disabled = !usable;
  button.title = usable ? "" : "Choose a sound to hear a preview";
}

let previewAudio = null;
let previewButton = null;

function stopPreview() {
  if (previewAudio) previewAudio.pause();
  if (previewButton) {
    previewButton.setAttribute("aria-pressed", "false");
    previewButton.textContent = "Preview";
  }
  previewAudio = null;
  previewButton = null;
}

function preview(button) {
  const wasThis = previewButton === button;
  stopPreview();
  if (wasThis) return;
  const option = $(button.dataset.kind).selectedOptions[0];
  if (!option || !option.dataset.preview) return;
  previewAudio = new Audio(option.dataset.preview);
  previewButton = button;
  button.setAttribute("aria-pressed", "true");
  button.textContent = "Stop";
  previewAudio.addEventListener("ended", stopPreview);
  previewAudio.play().catch(stopPreview);
}

function buildConditions(conditions) {
  $("conditions").replaceChildren(
    ...conditions.map((condition) => {
      const item = document.createElement("li");
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.name = "avoid";
      box.value = condition.id;
      const hint = document.createElement("span");
      hint.className = "note";
      hint.id = `condition-${condition.id}`;
      hint.textContent = condition.description;
      box.setAttribute("aria-describedby", hint.id);
      box.addEventListener("change", () => {
        showCautions();
        refreshRange();
      });
      const name = condition.spoken.charAt(0).toUpperCase() + condition.spoken.slice(1);
      label.append(box, ` ${name}`);
      item.append(label, hint);
      return item;
    }),
  );
}

function avoided() {
  return [...document.querySelectorAll("input[name=avoid]:checked")].map((box) => box.value);
}

function showCautions() {
  const box = $("cautions");
  box.replaceChildren();
  const cautions = (state.info && state.info.cautions) || [];
  if (cautions.length) {
    const p = document.createElement("p");
    p.className = "caution";
    const strong = document.createElement("strong");
    strong.textContent = `Not for ${list(cautionWords(cautions))}.`;
    p.append(strong, " This routine is not made for anyone with that; choose another one, and ask a clinician before self-treatment.");
    box.append(p);
  }
  const note = document.createElement("p");
  note.className = "note";
  note.textContent =
    "Self-care, not medical advice: press gently, never to the point of pain, and stop if you feel sharp pain, dizziness or numbness.";
  box.append(note);
}

// -- the session's length ---------------------------------------------------------------------

function lengthDefault() {
  const slider = $("length");
  const wanted = state.info && state.info.defaultS ? state.info.defaultS : state.range ? state.range.natural_ms / 1000 : 900;
  return clampToSlider(wanted, Number(slider.min), Number(slider.max));
}

function clampToSlider(seconds, min, max) {
  const stepped = Math.round(seconds / 30) * 30;
  return Math.min(max, Math.max(min, stepped));
}

function showLength() {
  const slider = $("length");
  const seconds = Number(slider.value);
  const own = !state.lengthTouched;
  $("length-out").textContent = `${length(seconds)}${own ? " (as written)" : ""}`;
  slider.setAttribute("aria-valuetext", spokenLength(seconds));
  $("length-reset").hidden = own;
}

function setLengthNote(text) {
  $("length-note").textContent = text;
}

function rangeBody() {
  const body = sourceBody();
  if (!body) return null;
  const voice = selectedVoice();
  if (voice) Object.assign(body, voice.engine ? { engine: voice.engine, voice: voice.voice } : {});
  const cues = $("cues").value;
  if (cues) body.cues = cues;
  const avoid = avoided();
  if (avoid.length) body.avoid = avoid;
  return body;
}

function sourceBody() {
  if (state.source === OWN) return state.own.ok ? { yaml: state.own.text } : null;
  // Pasted YAML keeps its own `language:`; a built-in routine is asked for in the chosen one.
  return state.source ? { routine: state.source, language: state.language } : null;
}

let rangeGeneration = 0;
let rangeController = null;
let rangeTimer = null;

function refreshRange() {
  clearTimeout(rangeTimer);
  rangeTimer = setTimeout(measureRange, 120);
  updateGo();
}

async function measureRange() {
  const generation = ++rangeGeneration;
  if (rangeController) rangeController.abort();
  const controller = new AbortController();
  rangeController = controller;
  const body = rangeBody();
  if (!body) {
    updateGo();
    return;
  }
  const cacheKey = JSON.stringify(body);
  const exactKnown = state.exactCache.get(cacheKey);
  if (exactKnown) {
    applyRange(exactKnown, true);
    return;
  }
  setLengthNote("Working out the lengths this session can take…");
  try {
    const estimate = await api.range(body, false, controller.signal);
    if (generation !== rangeGeneration) return;
    applyRange(estimate, false);
  } catch (err) {
    if (err.name === "AbortError" || generation !== rangeGeneration) return;
    rangeFailed(err);
    return;
  }
  if (state.source === OWN) {
    // Measuring voices every phrase: wait until the creator stops typing for a moment.
    await new Promise((resolve) => setTimeout(resolve, OWN_EXACT_DELAY_MS));
    if (generation !== rangeGeneration) return;
  }
  try {
    const exact = await api.range(body, true, controller.signal);
    state.exactCache.set(cacheKey, exact);
    if (generation !== rangeGeneration) return;
    applyRange(exact, true);
  } catch (err) {
    if (err.name === "AbortError" || generation !== rangeGeneration) return;
    setLengthNote(`${$("length-note").textContent.replace(/ Measuring.*$/, "")} Measuring with the voice failed (${err.message}); these are estimates.`);
  }
}

function applyRange(range, exact) {
  if (!range) return;
  state.range = range;
  state.rangeProblem = null;
  const slider = $("length");
  const before = Number(slider.value);
  const min = Math.ceil(range.shortest_ms / 30000) * 30;
  const max = Math.max(min, Math.floor(range.longest_ms / 30000) * 30);
  slider.min = String(min);
  slider.max = String(max);
  slider.value = String(state.lengthTouched ? clampToSlider(before, min, max) : lengthDefault());
  if (state.lengthTouched && Number(slider.value) === lengthDefault()) state.lengthTouched = false;
  showLength();
  setLengthNote(
    exact
      ? `It can take from ${length(min)} to ${length(max)}: measured with ${range.measured_with.split(";")[0]}.`
      : `It can take about ${length(min)} to ${length(max)} (estimated at 150 words a minute). Measuring with the voice…`,
  );
  showVoiceNote();
  showAvoidEffect(range);
  updateGo();
}

function rangeFailed(err) {
  state.range = null;
  const avoid = avoided();
  const cautions = (state.info && state.info.cautions) || [];
  const clash = avoid.filter((id) => cautions.includes(id));
  let message = err.message;
  if (err.status === 422 && clash.length) {
    message = `This routine is not suitable with ${list(cautionWords(clash))}: it lists it under its cautions, so no session is made. Choose another routine, and ask a clinician before self-treatment.`;
  } else if (err.problems && err.problems.length) {
    message = err.problems.map((p) => p.message).join(" ");
  }
  state.rangeProblem = message;
  setLengthNote("");
  const box = $("avoid-effect");
  box.replaceChildren();
  const p = document.createElement("p");
  p.className = "unsuitable";
  p.textContent = message;
  box.append(p);
  updateGo();
}

function showAvoidEffect(range) {
  const box = $("avoid-effect");
  box.replaceChildren();
  if (!avoided().length) return;
  const p = document.createElement("p");
  if (!range.omitted.length) {
    p.textContent = "Nothing in this routine is left out for what you ticked.";
    box.append(p);
    return;
  }
  p.textContent = "Left out of your session:";
  const ul = document.createElement("ul");
  ul.className = "omitted";
  for (const point of range.omitted) {
    const li = document.createElement("li");
    li.textContent = `${point.point}${point.name ? ` ${point.name}` : ""} (${list(cautionWords(point.conditions))})`;
    ul.append(li);
  }
  box.append(p, ul);
}

// -- Play and Render --------------------------------------------------------------------------

function readiness() {
  if (!state.source) return { ok: false, why: "Choose a session first." };
  if (state.source === OWN) {
    if (!state.own.text.trim()) return { ok: false, why: "Paste or upload a routine first." };
    if (!state.own.checked) return { ok: false, why: "Checking the routine…" };
    if (!state.own.ok) return { ok: false, why: "Fix the routine's errors to render it." };
  }
  if (state.rangeProblem) return { ok: false, why: state.rangeProblem };
  return { ok: true, why: "" };
}

function updateGo() {
  const { ok, why } = readiness();
  const busy = Boolean(main.waiting);
  $("play").disabled = !ok || busy;
  $("render").disabled = !ok || busy;
  $("go-why").textContent = why;
}

function renderBody(extra = {}) {
  const body = rangeBody();
  if (state.lengthTouched) body.target = Number($("length").value);
  const ambience = $("ambience").value;
  if (ambience) body.ambience = ambience;
  return { ...body, ...extra };
}

function setError(message, problems = []) {
  const box = $("job-error");
  box.replaceChildren();
  if (!message) {
    box.hidden = true;
    return;
  }
  const p = document.createElement("p");
  p.textContent = message;
  box.append(p);
  const placed = problems.filter((problem) => problem.message !== message);
  if (placed.length) {
    const ul = document.createElement("ul");
    for (const problem of placed) {
      const li = document.createElement("li");
      li.textContent = problem.line > 0 ? `Line ${problem.line}, column ${problem.column}: ${problem.message}` : problem.message;
      ul.append(li);
    }
    box.append(ul);
  }
  box.hidden = false;
}

function sleepFor(seconds, token) {
  return new Promise((resolve) => {
    const started = Date.now();
    const tick = () => {
      const left = seconds - (Date.now() - started) / 1000;
      if (token.cancelled || left <= 0) {
        resolve();
        return;
      }
      progressText(`The server is busy; trying again in ${Math.ceil(left)} s…`);
      setTimeout(tick, 250);
    };
    tick();
  });
}

async function submit(body, token) {
  for (;;) {
    try {
      return await api.startRender(body);
    } catch (err) {
      if (err.status === 429 && !token.cancelled) {
        await sleepFor(err.retryAfter || 10, token);
        if (token.cancelled) throw new ApiError("Cancelled before it started.");
        continue;
      }
      throw err;
    }
  }
}

async function go(mode) {
  if (!readiness().ok) return;
  player.bless();
  const body = renderBody();
  const running = main.job;
  if (running && !running.final && JSON.stringify(running.body) === JSON.stringify(body)) {
    // The same session is being made: Play listens to it (from where it is), Render waits.
    if (mode === "play") {
      running.mode = "play";
      if (!running.streaming) {
        player.start(running.title, running.language);
        running.streaming = true;
        if (running.key) player.setKey(running.key);
        player.playStream(running.streamUrl).catch(() => {});
      } else $("audio").play().catch(() => {});
    }
    return;
  }
  setError("");
  const token = { cancelled: false };
  main.waiting = token;
  updateGo();
  $("progress").hidden = false;
  $("cancel").hidden = false;
  progressBar(0);
  progressText("Sending…");
  let accepted;
  try {
    accepted = await submit(body, token);
  } catch (err) {
    main.waiting = null;
    updateGo();
    $("cancel").hidden = true;
    $("progress").hidden = true;
    setError(err.status === 422 ? `It cannot be made: ${err.message}` : err.message, err.problems);
    return;
  } finally {
    main.waiting = null;
    updateGo();
  }
  const previous = main.job;
  if (main.stopFollow) main.stopFollow();
  if (previous && !previous.final && previous.id !== accepted.id) api.cancel(previous.id).catch(() => {});
  const job = {
    id: accepted.id,
    body,
    mode,
    streamUrl: accepted.stream_url,
    title: (state.info && state.info.title) || "Your routine",
    language: (state.info && state.info.language) || null,
    key: null,
    final: false,
    timeline: false,
    streaming: false,
    lastPhase: null,
  };
  main.job = job;
  if (mode === "play" && accepted.state !== "done") {
    // Start listening now: the stream carries the audio as the encoder writes it.
    player.start(job.title, job.language);
    job.streaming = true;
    player.playStream(job.streamUrl).catch(() => {});
    $("downloads").hidden = true;
  }
  if (!TERMINAL.has(accepted.state)) onStatus(job, { ...accepted, progress: 0, phase: "", label: "", files: [] });
  main.stopFollow = followRender(job.id, (status) => onStatus(job, status));
}

function progressBar(value) {
  $("progress-bar").value = value;
}

function progressText(text) {
  $("progress-text").textContent = text;
}

function announce(text) {
  $("progress-live").textContent = text;
}

function onStatus(job, status) {
  if (job !== main.job) return;
  if (status.key) {
    job.key = status.key;
    if (job.streaming) player.setKey(status.key);
  }
  const percent = Math.round((status.progress || 0) * 100);
  progressBar(status.progress || 0);
  let text;
  let phaseWord = "";
  if (status.state === "queued") {
    phaseWord = "Waiting in the queue";
    text = status.queue_position ? `Waiting in the queue: position ${status.queue_position}.` : "Waiting in the queue…";
  } else if (status.state === "running") {
    // Between phases the label is the last phase's: say only that the work goes on.
    const step = Object.keys(PHASES).indexOf(status.phase);
    phaseWord = PHASES[status.phase] || (status.progress > 0 ? "Putting the session together" : "Starting");
    const parts = [step >= 0 ? `Step ${step + 1} of 4: ${status.label || phaseWord}` : phaseWord];
    parts.push(`${percent}%`);
    const eta = timeLeft(status.eta_s);
    if (eta) parts.push(eta);
    text = parts.join(" · ");
  } else if (status.state === "done") {
    phaseWord = "Done";
    text = "Done.";
  } else if (status.state === "cancelled") {
    phaseWord = "Cancelled";
    text = "Cancelled.";
  } else {
    phaseWord = "Failed";
    text = "The render failed.";
  }
  progressText(text);
  if (phaseWord !== job.lastPhase) {
    job.lastPhase = phaseWord;
    announce(status.state === "done" ? "The session is ready." : `${phaseWord}.`);
  }
  $("progress").dataset.state = status.state;
  const finished = TERMINAL.has(status.state);
  $("cancel").hidden = finished;
  if (status.warnings && status.warnings.length) progressText(`${text} ${status.warnings.join(" ")}`);
  if (
    job.streaming &&
    !job.timeline &&
    status.state === "running" &&
    (status.live || ["measuring", "writing", "extras"].includes(status.phase))
  ) {
    // The voice has spoken every phrase by now: the timeline comes from the cache at once.
    job.timeline = true;
    api
      .timeline(job.body)
      .then((timeline) => {
        if (main.job === job && !job.timelineLoaded) {
          job.timelineLoaded = true;
          player.setTimeline(timeline);
        }
      })
      .catch(() => {
        job.timeline = false;
      });
  }
  if (!finished || job.final) return;
  job.final = true;
  if (status.state === "done") finish(job, status);
  else {
    if (job.streaming) player.stopAudio(status.state === "cancelled" ? "Cancelled." : "The render failed.");
    if (status.state === "failed") setError(`The render failed: ${status.error || "no reason given"}`);
  }
}

function fileOf(files, test) {
  return files.find((f) => test(f.name)) || null;
}

function audioFile(files, format = "mp3") {
  return fileOf(files, (name) => name.endsWith(`.${format}`));
}

async function finish(job, status) {
  const files = status.files || [];
  const audio = audioFile(files, job.body.format || "mp3");
  if (!audio) {
    setError("The render finished but made no audio file.");
    return;
  }
  buildDownloads(job, status);
  const element = $("audio");
  const loaded = !job.streaming && player.key === status.key && !player.streaming && player.loaded();
  if (loaded) {
    // The same session is in the player already (rendered, then Play): just play it.
    if (job.mode === "play") element.play().catch(() => {});
    return;
  }
  if (job.mode === "render" && player.playing() && !player.streaming) {
    // Do not cut off the session being listened to; Play loads the new one.
    progressText("Done: it is in the downloads below. Press Play to listen to it.");
    return;
  }
  if (!job.streaming) {
    player.start(job.title, job.language);
  }
  player.setKey(status.key);
  const cover = fileOf(files, (name) => name.endsWith(".cover.png"));
  player.setCover(cover ? cover.url : null);
  try {
    await player.playFile(audio.url, { key: status.key, play: job.mode === "play" });
  } catch (err) {
    if (err.name !== "AbortError") player.note(`The audio could not be played here (${err.message}); download it below.`);
  }
  job.streaming = false;
  const timelineFile = fileOf(files, (name) => name.endsWith(".timeline.json"));
  if (!job.timelineLoaded && timelineFile) {
    try {
      const timeline = await api.file(timelineFile.url);
      if (main.job === job) {
        job.timelineLoaded = true;
        player.setTimeline(timeline);
      }
    } catch (err) {
      player.note(`The chapters and transcript could not be loaded: ${err.message}`);
    }
  }
  const diagram = fileOf(files, (name) => name.endsWith(".diagram.svg"));
  if (diagram) {
    try {
      const svg = await api.text(diagram.url);
      if (main.job === job) player.setDiagram(svg);
    } catch {
      // The diagram is a help, not the session: leave its placeholder.
    }
  }
}

async function cancel() {
  if (main.waiting) {
    main.waiting.cancelled = true;
    return;
  }
  const job = main.job;
  if (!job || job.final) return;
  $("cancel").disabled = true;
  try {
    const status = await api.cancel(job.id);
    onStatus(job, status);
  } catch (err) {
    setError(`Could not cancel: ${err.message}`);
  } finally {
    $("cancel").disabled = false;
  }
}

// -- downloads --------------------------------------------------------------------------------

function downloadLink(file, text, { open = false } = {}) {
  const li = document.createElement("li");
  const a = document.createElement("a");
  a.href = file.url;
  if (open) {
    a.target = "_blank";
    a.rel = "noopener";
  } else a.download = file.name;
  a.textContent = text;
  const size = document.createElement("span");
  size.className = "note";
  size.textContent = ` ${file.name}, ${bytes(file.bytes)}`;
  li.append(a, size);
  return li;
}

function buildDownloads(job, status) {
  const files = status.files || [];
  const items = [];
  const format = job.body.format || "mp3";
  const audio = audioFile(files, format);
  if (audio) items.push(downloadLink(audio, `The audio (${format.toUpperCase()})`));
  items.push(
    downloadLink(
      { url: `/api/renders/${encodeURIComponent(job.id)}/bundle.zip`, name: `${audio ? audio.name.replace(/\.[^.]+$/, "") : "session"}.zip`, bytes: files.reduce((n, f) => n + f.bytes, 0) },
      "Everything, zipped (audio, transcripts, sheet, chapters, diagram)",
    ),
  );
  const sheet = fileOf(files, (n) => n.endsWith(".html"));
  if (sheet) items.push(downloadLink(sheet, "The companion sheet (web page)", { open: true }));
  const pdf = fileOf(files, (n) => n.endsWith(".pdf"));
  if (pdf) items.push(downloadLink(pdf, "The companion sheet (PDF)"));
  const txt = fileOf(files, (n) => n.endsWith(".txt") && !n.endsWith(".labels.txt"));
  if (txt) items.push(downloadLink(txt, "The transcript (text)"));
  const vtt = fileOf(files, (n) => n.endsWith(".vtt") && !n.endsWith(".chapters.vtt"));
  if (vtt) items.push(downloadLink(vtt, "Captions (WebVTT)"));
  const srt = fileOf(files, (n) => n.endsWith(".srt"));
  if (srt) items.push(downloadLink(srt, "Captions (SRT)"));
  $("download-list").replaceChildren(...items);
  $("downloads").hidden = false;
  $("downloads").dataset.job = job.id;
  $("format-status").textContent = "";
  $("format-progress").hidden = true;
  for (const option of $("format").options) option.disabled = option.value === format;
  if ($("format").selectedOptions[0].disabled) $("format").value = [...$("format").options].find((o) => !o.disabled).value;
}

let formatStop = null;

async function otherFormat() {
  const job = main.job;
  if (!job || !job.final) return;
  const format = $("format").value;
  if (!AUDIO_FORMATS.includes(format)) return;
  const status = $("format-status");
  const bar = $("format-progress");
  const button = $("format-go");
  button.disabled = true;
  bar.hidden = false;
  bar.value = 0;
  status.textContent = `Making the ${format.toUpperCase()}…`;
  if (formatStop) formatStop();
  let accepted;
  try {
    accepted = await submit({ ...job.body, format }, { cancelled: false });
  } catch (err) {
    status.textContent = `It could not be made: ${err.message}`;
    button.disabled = false;
    bar.hidden = true;
    return;
  }
  formatStop = followRender(accepted.id, (s) => {
    bar.value = s.progress || 0;
    if (s.state === "queued") status.textContent = `Waiting in the queue${s.queue_position ? `: position ${s.queue_position}` : ""}…`;
    else if (s.state === "running") status.textContent = `Making the ${format.toUpperCase()}: ${Math.round((s.progress || 0) * 100)}%${s.eta_s ? `, ${timeLeft(s.eta_s)}` : ""}`;
    if (!TERMINAL.has(s.state)) return;
    button.disabled = false;
    bar.hidden = true;
    if (s.state !== "done") {
      status.textContent = `It could not be made: ${s.error || s.state}`;
      return;
    }
    const file = audioFile(s.files || [], format);
    if (!file) {
      status.textContent = "It finished without the audio file.";
      return;
    }
    const link = downloadLink(file, `The audio (${format.toUpperCase()})`);
    const list = $("download-list");
    list.insertBefore(link, list.children[1] || null);
    status.textContent = `Ready: ${file.name}.`;
    link.querySelector("a").click();
  });
}

init();
