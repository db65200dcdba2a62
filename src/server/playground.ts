/**
 * GET /: a one-file page to try the server by hand. It calls the public API (GET /info,
 * POST /v1/rerank) like any client, with relative URLs so it also works behind a path prefix.
 * Document text is inserted with textContent, never as HTML.
 */

/** Inline script and style only, and requests to this origin only. */
export const PLAYGROUND_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'";

export const PLAYGROUND_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>turborank playground</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; max-width: 56rem; margin: 2rem auto; padding: 0 1rem; color: #1d232b; }
  h1 { font-size: 1.3rem; margin-bottom: .2rem; }
  .sub { color: #5b6673; margin-top: 0; }
  label { display: block; font-weight: 600; margin: .9rem 0 .25rem; }
  input, select, textarea { width: 100%; box-sizing: border-box; font: inherit; padding: .45rem .55rem; border: 1px solid #b9c2cc; border-radius: 6px; }
  textarea { min-height: 9rem; resize: vertical; }
  .row { display: flex; gap: 1rem; } .row > div { flex: 1; }
  button { margin-top: 1rem; font: inherit; font-weight: 600; padding: .5rem 1.3rem; border: 0; border-radius: 6px; background: #2457c5; color: #fff; cursor: pointer; }
  button:disabled { background: #8aa2d6; cursor: wait; }
  #status { margin: 1rem 0 .5rem; color: #5b6673; min-height: 1.4em; }
  #status.error { color: #b3261e; }
  ol { list-style: none; padding: 0; }
  li.result { display: grid; grid-template-columns: 2.2rem 9rem 1fr; gap: .6rem; align-items: center; padding: .45rem 0; border-bottom: 1px solid #e6eaee; }
  .rank { color: #5b6673; text-align: right; }
  .bar { height: .8rem; background: #e6eaee; border-radius: 4px; overflow: hidden; }
  .bar > div { height: 100%; background: #2f9e6e; }
  .score { font-variant-numeric: tabular-nums; font-size: .85rem; color: #39424d; }
  .text { overflow-wrap: anywhere; }
</style>
</head>
<body>
<h1>turborank playground</h1>
<p class="sub">Rank documents for a query with a model this server serves. The page calls <code>POST /v1/rerank</code>.</p>
<div class="row">
  <div><label for="model">Model</label><select id="model"></select></div>
  <div><label for="api-key">API key (if the server needs one)</label><input id="api-key" type="password" autocomplete="off"></div>
</div>
<label for="query">Query</label>
<input id="query" value="what is the capital of france?">
<label for="documents">Documents, one per line</label>
<textarea id="documents">Paris is the capital of France.
Marathon runners cover 42 km.
France is in Europe.</textarea>
<button id="rerank" type="button">Rerank</button>
<div id="status" role="status"></div>
<ol id="results"></ol>
<script>
"use strict";
const $ = (id) => document.getElementById(id);

function headers() {
  const key = $("api-key").value.trim();
  const h = { "Content-Type": "application/json" };
  if (key) h.Authorization = "Bearer " + key;
  return h;
}

function showStatus(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

async function loadModels() {
  const res = await fetch("info", { headers: headers() });
  if (!res.ok) {
    showStatus(res.status === 401 ? "Enter the API key, then rerank." : "GET /info failed: " + res.status, res.status !== 401);
    return;
  }
  const info = await res.json();
  const select = $("model");
  select.replaceChildren();
  for (const m of info.models) {
    const option = document.createElement("option");
    option.value = m.name;
    option.textContent = m.name + (m.test_model ? " (random-weight test model)" : "");
    select.append(option);
  }
}

function render(results) {
  const list = $("results");
  list.replaceChildren();
  results.forEach((r, rank) => {
    const li = document.createElement("li");
    li.className = "result";
    li.dataset.index = String(r.index);
    const rankCell = document.createElement("span");
    rankCell.className = "rank";
    rankCell.textContent = String(rank + 1);
    const scoreCell = document.createElement("div");
    const bar = document.createElement("div");
    bar.className = "bar";
    const fill = document.createElement("div");
    fill.style.width = (100 * r.relevance_score).toFixed(1) + "%";
    bar.append(fill);
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = r.relevance_score.toFixed(4);
    scoreCell.append(bar, score);
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = r.document ? r.document.text : "";
    li.append(rankCell, scoreCell, text);
    list.append(li);
  });
}

async function rerank() {
  const documents = $("documents").value.split("\\n").map((s) => s.trim()).filter((s) => s !== "");
  const body = { query: $("query").value, documents, return_documents: true };
  if ($("model").value) body.model = $("model").value;
  const button = $("rerank");
  button.disabled = true;
  showStatus("Ranking " + documents.length + " documents…", false);
  const started = performance.now();
  try {
    const res = await fetch("v1/rerank", { method: "POST", headers: headers(), body: JSON.stringify(body) });
    const elapsed = performance.now() - started;
    const data = await res.json();
    if (!res.ok) {
      $("results").replaceChildren();
      showStatus("Error " + res.status + ": " + data.error, true);
      return;
    }
    render(data.results);
    const timing = /dur=([0-9.]+)/.exec(res.headers.get("Server-Timing") || "");
    showStatus(documents.length + " documents, " + data.usage.total_tokens + " tokens, " + data.model + ": " +
      elapsed.toFixed(0) + " ms round trip" + (timing ? ", " + Number(timing[1]).toFixed(1) + " ms in the server" : ""), false);
  } catch (err) {
    showStatus("Request failed: " + err.message, true);
  } finally {
    button.disabled = false;
  }
}

$("rerank").addEventListener("click", rerank);
$("api-key").addEventListener("change", loadModels);
loadModels();
</script>
</body>
</html>
`;
