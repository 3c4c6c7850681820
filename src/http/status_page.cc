#include "http/status_page.h"

namespace cstatsd::http {
namespace {

// Every value shown comes from status.json and is written with textContent or setAttribute,
// never parsed as HTML: a metric name such as `<img onerror=...>` stays text. The
// Content-Security-Policy forbids any load but status.json from this server.
constexpr std::string_view kPage = R"cstatsd_html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'">
<title>cstatsd status</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1em 2em; color: #222; background: #fafafa; }
h1 { font-size: 1.4em; margin: 0 0 .2em; }
h2 { font-size: 1.1em; margin: 1.2em 0 .4em; }
#state { color: #666; }
#state.error { color: #b00; }
.cards { display: flex; flex-wrap: wrap; gap: .6em; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 4px; padding: .4em .8em; min-width: 9em; }
.card .label { color: #666; font-size: .85em; }
.card .value { font-size: 1.4em; font-variant-numeric: tabular-nums; }
.card.bad .value { color: #b00; }
.charts { display: flex; flex-wrap: wrap; gap: .6em; }
figure { margin: 0; background: #fff; border: 1px solid #ddd; border-radius: 4px; padding: .3em .5em; }
figcaption { color: #666; font-size: .85em; }
svg { width: 300px; height: 60px; display: block; }
svg polyline { fill: none; stroke: #2a6fdb; stroke-width: 1.5; }
table { border-collapse: collapse; background: #fff; }
th, td { border: 1px solid #ddd; padding: .2em .6em; text-align: left; font-variant-numeric: tabular-nums; }
td.num { text-align: right; }
td.name { font-family: ui-monospace, monospace; word-break: break-all; max-width: 40em; }
.none { color: #888; }
</style>
</head>
<body>
<h1>cstatsd <span id="version"></span></h1>
<div id="state">loading status.json…</div>
<p>Updated <span id="updated" data-unix-ms="0">never</span>, flush interval <span id="interval"></span> s. Rates are over the last flush interval; totals since the start.</p>

<div class="cards">
  <div class="card"><div class="label">lines/s</div><div class="value" id="lines-per-second">–</div></div>
  <div class="card"><div class="label">datagrams/s</div><div class="value" id="datagrams-per-second">–</div></div>
  <div class="card bad"><div class="label">bad lines (total)</div><div class="value" id="bad-lines">–</div></div>
  <div class="card bad"><div class="label">kernel drops (total)</div><div class="value" id="kernel-drops">–</div></div>
  <div class="card bad"><div class="label">internal drops (total)</div><div class="value" id="internal-drops">–</div></div>
  <div class="card"><div class="label">flush ms (last / max)</div><div class="value"><span id="flush-ms">–</span> / <span id="flush-ms-max">–</span></div></div>
  <div class="card"><div class="label">series held</div><div class="value" id="series">–</div></div>
  <div class="card bad"><div class="label">overflow series</div><div class="value" id="overflow-series">–</div></div>
</div>

<h2>Last minutes</h2>
<div class="charts">
  <figure><figcaption>lines/s, max <span class="max">–</span></figcaption><svg id="chart-lines" viewBox="0 0 300 60" preserveAspectRatio="none" data-points="0"><polyline points=""></polyline></svg></figure>
  <figure><figcaption>datagrams/s, max <span class="max">–</span></figcaption><svg id="chart-datagrams" viewBox="0 0 300 60" preserveAspectRatio="none" data-points="0"><polyline points=""></polyline></svg></figure>
  <figure><figcaption>drops/s (kernel + internal), max <span class="max">–</span></figcaption><svg id="chart-drops" viewBox="0 0 300 60" preserveAspectRatio="none" data-points="0"><polyline points=""></polyline></svg></figure>
  <figure><figcaption>flush ms, max <span class="max">–</span></figcaption><svg id="chart-flush" viewBox="0 0 300 60" preserveAspectRatio="none" data-points="0"><polyline points=""></polyline></svg></figure>
  <figure><figcaption>series held, max <span class="max">–</span></figcaption><svg id="chart-series" viewBox="0 0 300 60" preserveAspectRatio="none" data-points="0"><polyline points=""></polyline></svg></figure>
</div>

<h2>Backends</h2>
<table><thead><tr><th>backend</th><th>last success</th><th>batches sent</th><th>batches dropped</th><th>retries</th><th>series sent</th></tr></thead><tbody id="backends"></tbody></table>

<h2>Top series by rate (last flush)</h2>
<table><thead><tr><th>type</th><th>name</th><th>tags</th><th>source</th><th>per second</th></tr></thead><tbody id="top-series"></tbody></table>

<h2>Top metric names by series (last flush)</h2>
<table><thead><tr><th>type</th><th>name</th><th>series</th></tr></thead><tbody id="top-names"></tbody></table>

<h2>Names over their series limit (overflow series)</h2>
<table><thead><tr><th>type</th><th>name</th><th>values/s folded</th></tr></thead><tbody id="overflowing"></tbody></table>

<h2>Drops by cause (total)</h2>
<table><thead><tr><th>internal metric</th><th>count</th></tr></thead><tbody id="drops"></tbody></table>

<script>
'use strict';
const $ = (id) => document.getElementById(id);

function human(x) {
  if (x === null || x === undefined) return '–';
  const a = Math.abs(x);
  if (a >= 1e9) return (x / 1e9).toFixed(2) + ' G';
  if (a >= 1e6) return (x / 1e6).toFixed(2) + ' M';
  if (a >= 1e4) return (x / 1e3).toFixed(1) + ' k';
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}

// A number: readable text, the exact value in data-value.
function setNumber(el, x) {
  el.textContent = human(x);
  el.setAttribute('data-value', String(x));
}

function time(ms) {
  return ms ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : 'never';
}

// rows: arrays of [class, text, exact value or undefined]; every cell through textContent.
function fillTable(id, rows, columns) {
  const body = $(id);
  body.replaceChildren();
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    const td = document.createElement('td');
    td.className = 'none';
    td.colSpan = columns;
    td.textContent = 'none';
    tr.appendChild(td);
    body.appendChild(tr);
    return;
  }
  for (const cells of rows) {
    const tr = document.createElement('tr');
    for (const [cls, text, value] of cells) {
      const td = document.createElement('td');
      td.className = cls;
      td.textContent = text;
      if (value !== undefined) td.setAttribute('data-value', String(value));
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
}

function chart(id, history, pick) {
  const svg = $(id);
  const W = 300, H = 60;
  const n = history.length;
  const values = history.map(pick);
  const max = values.reduce((m, v) => Math.max(m, v), 0);
  const t0 = n ? history[0].unix_ms : 0, t1 = n ? history[n - 1].unix_ms : 0;
  const points = history.map((s, i) => {
    const x = t1 > t0 ? ((s.unix_ms - t0) / (t1 - t0)) * W : (n > 1 ? (i * W) / (n - 1) : W);
    const y = H - 2 - (max > 0 ? (values[i] / max) * (H - 4) : 0);
    return x.toFixed(1) + ',' + y.toFixed(1);
  });
  svg.querySelector('polyline').setAttribute('points', points.join(' '));
  svg.setAttribute('data-points', String(n));
  svg.parentNode.querySelector('.max').textContent = human(max);
}

function render(d) {
  $('version').textContent = d.version;
  $('interval').textContent = String(d.interval_seconds.toFixed(3));
  const updated = $('updated');
  updated.textContent = time(d.unix_ms);
  updated.setAttribute('data-unix-ms', String(d.unix_ms));
  setNumber($('lines-per-second'), d.last.lines_per_second);
  setNumber($('datagrams-per-second'), d.last.datagrams_per_second);
  setNumber($('bad-lines'), d.totals.bad_lines);
  setNumber($('kernel-drops'), d.totals.kernel_drops);
  setNumber($('internal-drops'), d.totals.internal_drops);
  setNumber($('flush-ms'), d.last.flush_ms);
  setNumber($('flush-ms-max'), d.flush_ms_max);
  setNumber($('series'), d.series.held);
  setNumber($('overflow-series'), d.series.overflow_series);

  chart('chart-lines', d.history, (s) => s.lines_per_second);
  chart('chart-datagrams', d.history, (s) => s.datagrams_per_second);
  chart('chart-drops', d.history, (s) => s.kernel_drops_per_second + s.internal_drops_per_second);
  chart('chart-flush', d.history, (s) => s.flush_ms);
  chart('chart-series', d.history, (s) => s.series);

  fillTable('backends', d.backends.map((b) => [
    ['name', b.name], ['time', time(b.last_success_unix_ms), b.last_success_unix_ms || 0],
    ['num sent', human(b.sent), b.sent], ['num dropped', human(b.dropped), b.dropped],
    ['num retried', human(b.retried), b.retried],
    ['num series-sent', human(b.series_sent), b.series_sent]]), 6);
  fillTable('top-series', d.top_series.map((s) => [
    ['type', s.type], ['name', s.name], ['name tags', s.tags], ['name source', s.source],
    ['num rate', human(s.rate), s.rate]]), 5);
  fillTable('top-names', d.top_names.map((n) => [
    ['type', n.type], ['name', n.name],
    ['num series', n.series === n.series_min ? String(n.series)
                   : n.series_min + '–' + n.series, n.series]]), 3);
  fillTable('overflowing', d.overflowing.map((n) => [
    ['type', n.type], ['name', n.name], ['num rate', human(n.rate), n.rate]]), 3);
  fillTable('drops', Object.entries(d.drops).map(([k, v]) => [
    ['name', k], ['num count', human(v), v]]), 2);
}

async function refresh() {
  const state = $('state');
  try {
    const r = await fetch('status.json', {cache: 'no-store'});
    if (!r.ok) throw new Error('HTTP ' + r.status);
    render(await r.json());
    state.className = '';
    state.textContent = 'live: updates every 2 s';
  } catch (e) {
    state.className = 'error';
    state.textContent = 'cannot read status.json: ' + e.message;
  }
}

refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
)cstatsd_html";

}  // namespace

std::string_view StatusPageHtml() { return kPage; }

}  // namespace cstatsd::http
