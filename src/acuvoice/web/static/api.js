// The page's calls to the acuvoice HTTP API; failures become ApiError with plain words.

export const TERMINAL = new Set(["done", "failed", "cancelled"]);

export class ApiError extends Error {
  constructor(message, { status = 0, problems = [], retryAfter = null, body = null } = {}) {
    super(message);
    this.body = body; // the answer's JSON, when it had one
    this.name = "ApiError";
    this.status = status;
    this.problems = problems;
    this.retryAfter = retryAfter;
  }
}

function describe(status, body) {
  if (status === 413) return "The routine is too large for this server.";
  if (status === 401) {
    return "This server needs its access token: open the address `acuvoice serve` printed, with ?token=… at the end.";
  }
  const detail = body && body.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    // FastAPI's own 422: a request the API did not accept.
    return detail
      .map((d) => `${(d.loc || []).filter((p) => p !== "body").join(".") || "request"}: ${d.msg}`)
      .join("; ");
  }
  return `The server answered ${status}.`;
}

async function call(method, url, { json, text, signal } = {}) {
  const init = { method, signal, headers: {} };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["content-type"] = "application/json";
  } else if (text !== undefined) {
    init.body = text;
    init.headers["content-type"] = "text/plain; charset=utf-8";
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError("The acuvoice server did not answer. Is `acuvoice serve` still running?");
  }
  if (!response.ok) {
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    const retry = Number(response.headers.get("retry-after"));
    throw new ApiError(describe(response.status, body), {
      status: response.status,
      problems: (body && Array.isArray(body.problems) && body.problems) || [],
      retryAfter: Number.isFinite(retry) && retry > 0 ? retry : null,
      body,
    });
  }
  return response;
}

const json = async (method, url, options) => (await call(method, url, options)).json();

export const api = {
  routines: (language) =>
    json("GET", language ? `/api/routines?language=${encodeURIComponent(language)}` : "/api/routines"),
  languages: () => json("GET", "/api/languages"),
  describe: (text, signal) => json("POST", "/api/describe", { text, signal }),
  routineYaml: async (name) => (await call("GET", `/api/routines/${encodeURIComponent(name)}/yaml`)).text(),
  voices: () => json("GET", "/api/voices"),
  sounds: () => json("GET", "/api/sounds"),
  conditions: () => json("GET", "/api/conditions"),
  planOptions: () => json("GET", "/api/plan/options"),
  plan: (body) => json("POST", "/api/plan", { json: body }),
  validate: (text, signal) => json("POST", "/api/validate", { text, signal }),
  range: (body, exact, signal) => json("POST", `/api/range?exact=${exact}`, { json: body, signal }),
  timeline: (body, signal) => json("POST", "/api/timeline", { json: body, signal }),
  startRender: (body) => json("POST", "/api/renders", { json: body }),
  status: (id) => json("GET", `/api/renders/${encodeURIComponent(id)}`),
  cancel: (id) => json("DELETE", `/api/renders/${encodeURIComponent(id)}`),
  text: async (url) => (await call("GET", url)).text(),
  file: (url) => json("GET", url),
};

/**
 * Follow a render: server-sent events, falling back to polling when they fail.
 * Calls onStatus with each status (the GET /api/renders/{id} JSON) until a final state.
 * Returns a function that stops following.
 */
export function followRender(id, onStatus) {
  let stopped = false;
  let timer = null;
  let source = null;
  const deliver = (status) => {
    if (stopped) return;
    onStatus(status);
    if (TERMINAL.has(status.state)) stop();
  };
  const poll = async () => {
    if (stopped) return;
    try {
      deliver(await api.status(id));
    } catch (err) {
      if (err.status === 404) {
        deliver({ id, state: "failed", error: err.message, progress: 0, files: [] });
        return;
      }
    }
    if (!stopped) timer = setTimeout(poll, 1000);
  };
  const stop = () => {
    stopped = true;
    if (source) source.close();
    clearTimeout(timer);
  };
  if ("EventSource" in window) {
    source = new EventSource(`/api/renders/${encodeURIComponent(id)}/events`);
    source.addEventListener("status", (event) => deliver(JSON.parse(event.data)));
    source.addEventListener("error", () => {
      // A dropped connection reconnects by itself; a refused one does not: poll instead.
      if (!stopped && source.readyState === EventSource.CLOSED) {
        source = null;
        poll();
      }
    });
  } else {
    poll();
  }
  return stop;
}
