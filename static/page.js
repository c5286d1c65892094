// The page: the counter (GET /), the session (/api/status), live charts (/metrics, polled), the
// Redis topology (/api/topology, polled) and the message board (/api/messages, polled). Server
// data enters the DOM only through textContent and DOM APIs, never as HTML. A failed request is
// shown where it happened and the polls go on.
'use strict';

const CHARTS_EVERY_MS = 1000;
const CHART_SPAN_MS = 120000;     // the charts show the last two minutes
const LATENCY_WINDOW_MS = 10000;  // p50/p99 over the pings of the last 10 s
const RATE_FRESH_MS = 5000;       // an instance's rate counts in the total this long
const TOPOLOGY_EVERY_MS = 3000;
const MESSAGES_EVERY_MS = 5000;
const AUTO_COUNT_EVERY_MS = 2000;
const REQUEST_TIMEOUT_MS = 4000;
const HISTORY_LENGTH = 10;
const MESSAGES_SHOWN = 20;

const $ = (id) => document.getElementById(id);

// --- helpers ------------------------------------------------------------------------------

// Sets a node's text only when it changes, so live regions announce changes, not polls.
function setText(node, text)
{
    if (node.textContent !== text) node.textContent = text;
}

// Builds an element; children are nodes or strings (strings become text nodes).
function el(tag, className, ...children)
{
    const node = document.createElement(tag);
    if (className) node.className = className;
    node.append(...children);
    return node;
}

function pad2(n)
{
    return String(n).padStart(2, '0');
}

function clock(date)
{
    return `${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}`;
}

function day(date)
{
    return `${date.getFullYear()}-${pad2(date.getMonth() + 1)}-${pad2(date.getDate())}`;
}

// A <time> element for an ISO timestamp from the server, shown in local time.
function timeElement(iso, withDay)
{
    const date = new Date(iso);
    const node = el('time', '');
    node.dateTime = iso;
    node.textContent = Number.isNaN(date.getTime()) ? iso
                       : withDay ? `${day(date)} ${clock(date)}` : clock(date);
    return node;
}

// Replaces a list's items, only when the data changed (keeps selections and focus stable).
const shownData = new WeakMap();
function showList(list, items, render)
{
    const key = JSON.stringify(items);
    if (shownData.get(list) === key) return;
    shownData.set(list, key);
    list.replaceChildren(...items.map(render));
}

// One HTTP exchange that never throws: {ok, status, statusText, instance, body, error}.
// body is parsed JSON, plain text, or null; error says why there was no usable answer.
async function request(path, options = {})
{
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), REQUEST_TIMEOUT_MS);
    const result = {ok: false, status: 0, statusText: '', instance: null, body: null, error: null};

    try {
        const res = await fetch(path, {cache: 'no-store', ...options, signal: abort.signal});
        const type = res.headers.get('Content-Type') || '';
        result.status = res.status;
        result.statusText = res.statusText;
        result.instance = res.headers.get('X-Instance');
        if (type.startsWith('application/json')) {
            result.body = await res.json();
        } else if (type.startsWith('text/plain')) {
            result.body = await res.text();
        }
        result.ok = res.ok;
    } catch (err) {
        result.ok = false;
        if (err.name === 'AbortError') {
            result.error = `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
        } else if (result.status === 0) {
            result.error = 'no answer: the server is unreachable';
        } else {
            result.error = 'the answer could not be read';
        }
    } finally {
        clearTimeout(timer);
    }
    return result;
}

// "HTTP 503 Service Unavailable from web-2: Redis is not connected" and the like.
function describeFailure(result)
{
    if (result.status === 0) return result.error;
    let text = `HTTP ${result.status}`;
    if (result.statusText) text += ` ${result.statusText}`;
    if (result.instance) text += ` from ${result.instance}`;
    const reason = typeof result.body === 'string' ? result.body.trim()
                   : result.body && typeof result.body.error === 'string' ? result.body.error
                   : result.error;
    return reason ? `${text}: ${reason}` : text;
}

// Shows a panel's outcome: the problem line (a live region) only changes with the problem.
function report(prefix, result, everyMs)
{
    if (result.ok) {
        setText($(`${prefix}-problem`), '');
        setText($(`${prefix}-updated`), `Updated ${clock(new Date())} by ${result.instance}.`);
    } else {
        setText($(`${prefix}-problem`),
                `${describeFailure(result)}. Retrying every ${everyMs / 1000} s.`);
    }
}

// Runs task now and again every everyMs after each run ends, whatever happened in it.
function poll(task, everyMs)
{
    const run = async () => {
        try {
            await task();
        } finally {
            setTimeout(run, everyMs);
        }
    };
    run();
}

// --- counter ------------------------------------------------------------------------------

const answers = []; // newest first: {instance, value, failure, at}
const tally = new Map();
let counting = false;

async function countVisit()
{
    if (counting) return; // one at a time: auto-count and clicks share this
    counting = true;
    const result = await request('/');
    counting = false;

    const instance = result.instance || '–';
    if (result.ok) {
        setText($('counter-value'), String(result.body).trim());
        setText($('counter-problem'), '');
    } else {
        setText($('counter-problem'), describeFailure(result));
    }
    tally.set(instance, (tally.get(instance) || 0) + 1);
    answers.unshift({instance, value: result.ok ? String(result.body).trim() : null,
                     failure: result.ok ? null : result.status || 'no answer', at: new Date()});
    answers.length = Math.min(answers.length, HISTORY_LENGTH);
    showAnswers();
}

function showAnswers()
{
    const parts = [...tally].sort().map(([name, n]) => `${name}: ${n}`);
    setText($('instance-tally'), `All answers so far: ${parts.join(', ')}.`);
    $('counter-history').replaceChildren(...answers.map((a) => el(
        'li', a.failure ? 'failed' : '',
        el('span', 'instance', a.instance), ' ',
        a.failure ? `failed (${a.failure})` : `counted ${a.value}`, ' at ',
        timeElement(a.at.toISOString(), false))));
}

let autoTimer = null;
function setAutoCount(on)
{
    clearInterval(autoTimer);
    autoTimer = on ? setInterval(countVisit, AUTO_COUNT_EVERY_MS) : null;
}

// --- session ------------------------------------------------------------------------------

// Each call is a visit, so this runs once per page load, and again only after a failure.
let session = 'loading'; // then 'shown' or 'failed'

async function loadSession()
{
    session = 'loading';
    const result = await request('/api/status');
    const status = result.body && typeof result.body === 'object' ? result.body : null;

    if (status && status.status) {
        setText($('session-server'), `${status.status}, version ${status.version}`);
    }
    if (result.ok && status && status.session) {
        setText($('session-visits'), String(status.session.visits));
        const minutes = Math.round(status.session.expires_in_s / 60);
        setText($('session-expiry'), `${minutes} min without a visit`);
        session = 'shown';
    } else {
        session = 'failed';
    }
    report('session', result, TOPOLOGY_EVERY_MS);
}

// --- live charts --------------------------------------------------------------------------
// Behind a load balancer each poll of /metrics may reach another instance, so every instance's
// counters are kept apart (by X-Instance) and rates come from two samples of the same one; the
// total is the sum of each instance's latest rate.

const SVG = 'http://www.w3.org/2000/svg';
const PLOT = {width: 600, height: 150};
const LATENCY_MIN_S = 0.0001; // the latency axis is logarithmic, 0.1 ms to 2.5 s
const LATENCY_MAX_S = 2.5;
const STATUS_CLASSES = ['ok', 'client', 'server'];

const samples = new Map(); // instance -> its latest sample and rate
const chartPoints = [];    // {at, rates: {ok, client, server}, p50, p99}, oldest first
const latencyDeltas = [];  // {at, buckets: [[upper bound s, cumulative count]]}, oldest first
const markers = [];        // {at, text}, oldest first

// Prometheus text format -> [{name, labels, value}] (the lines this page needs to read).
function parseMetrics(text)
{
    const series = [];
    for (const line of text.split('\n')) {
        const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
        if (match === null) continue;
        const labels = {};
        for (const [, key, value] of (match[2] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
            labels[key] = value.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
        }
        series.push({name: match[1], labels, value: Number(match[3])});
    }
    return series;
}

function statusClass(status)
{
    if (/^[23]\d\d$/.test(status)) return 'ok';
    if (/^4\d\d$/.test(status)) return 'client';
    if (/^5\d\d$/.test(status)) return 'server';
    return null; // "none": the exchange ended without an answer
}

// One instance's counters from its /metrics text.
function sampleOf(text, at)
{
    const sample = {at, counts: {ok: 0, client: 0, server: 0}, buckets: [], failovers: null,
                    masterUp: null};
    for (const s of parseMetrics(text)) {
        if (s.name === 'redisapp_http_requests_total') {
            const kind = statusClass(s.labels.status);
            if (kind) sample.counts[kind] += s.value;
        } else if (s.name === 'redisapp_http_request_duration_seconds_bucket' &&
                   s.labels.route === '/') {
            sample.buckets.push([s.labels.le === '+Inf' ? Infinity : Number(s.labels.le),
                                 s.value]);
        } else if (s.name === 'redisapp_failovers_followed_total') {
            sample.failovers = s.value;
        } else if (s.name === 'redisapp_redis_master_up') {
            sample.masterUp = s.value === 1;
        }
    }
    sample.buckets.sort((a, b) => a[0] - b[0]);
    return sample;
}

// The q-quantile of a cumulative histogram, interpolated inside its bucket as Prometheus's
// histogram_quantile() does; null without observations.
function quantile(q, buckets)
{
    const total = buckets.length ? buckets[buckets.length - 1][1] : 0;
    if (total <= 0) return null;
    const rank = q * total;
    let lower = 0;
    let below = 0;
    for (const [upper, count] of buckets) {
        if (count >= rank) {
            if (upper === Infinity) return lower;
            return count === below ? upper : lower + (upper - lower) * (rank - below) / (count - below);
        }
        lower = upper;
        below = count;
    }
    return lower;
}

// Takes one instance's sample: its rates since its previous one, latency, and markers.
function takeSample(instance, sample)
{
    const previous = samples.get(instance);
    const entry = {sample, rates: previous ? previous.rates : null,
                   ratesAt: previous ? previous.ratesAt : 0};
    if (previous && sample.at > previous.sample.at) {
        const seconds = (sample.at - previous.sample.at) / 1000;
        const grew = STATUS_CLASSES.every((k) => sample.counts[k] >= previous.sample.counts[k]);
        if (grew) { // not restarted in between
            entry.rates = Object.fromEntries(STATUS_CLASSES.map(
                (k) => [k, (sample.counts[k] - previous.sample.counts[k]) / seconds]));
            entry.ratesAt = sample.at;
            const before = new Map(previous.sample.buckets);
            const delta = sample.buckets.map(([le, n]) => [le, n - (before.get(le) || 0)]);
            if (delta.length && delta[delta.length - 1][1] > 0) {
                latencyDeltas.push({at: sample.at, buckets: delta});
            }
        }
        if (sample.failovers !== null && previous.sample.failovers !== null &&
            sample.failovers > previous.sample.failovers) {
            markers.push({at: sample.at, kind: 'failover', text: `${instance} followed a failover`});
        }
        if (sample.masterUp !== null && previous.sample.masterUp !== null &&
            sample.masterUp !== previous.sample.masterUp) {
            markers.push({at: sample.at, kind: sample.masterUp ? 'up' : 'down',
                          text: sample.masterUp ? `${instance}: Redis answers again`
                                                : `${instance}: Redis unreachable`});
        }
    } else if (!previous && sample.masterUp === false) {
        markers.push({at: sample.at, kind: 'down', text: `${instance}: Redis unreachable`});
    }
    samples.set(instance, entry);
}

// The stack's rates and latency now, appended to the charts' points.
function addPoint(at)
{
    const rates = {ok: 0, client: 0, server: 0};
    let fresh = 0;
    for (const {rates: r, ratesAt} of samples.values()) {
        if (r === null || at - ratesAt > RATE_FRESH_MS) continue;
        fresh++;
        for (const k of STATUS_CLASSES) rates[k] += r[k];
    }
    while (latencyDeltas.length && at - latencyDeltas[0].at > LATENCY_WINDOW_MS) {
        latencyDeltas.shift();
    }
    const merged = new Map();
    for (const {buckets} of latencyDeltas) {
        for (const [le, n] of buckets) merged.set(le, (merged.get(le) || 0) + n);
    }
    const buckets = [...merged].sort((a, b) => a[0] - b[0]);
    chartPoints.push({at, rates: fresh ? rates : null, p50: quantile(0.5, buckets),
                      p99: quantile(0.99, buckets)});
    while (chartPoints.length && at - chartPoints[0].at > CHART_SPAN_MS) chartPoints.shift();
    while (markers.length && at - markers[0].at > CHART_SPAN_MS) markers.shift();
}

function svgElement(tag, attributes, text)
{
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    if (text) node.textContent = text;
    return node;
}

// Points as an SVG polyline; a gap (null) starts a new line.
function lines(points, x, y, className)
{
    const out = [];
    let run = [];
    const flush = () => {
        if (run.length) out.push(svgElement('polyline', {class: className, points: run.join(' ')}));
        run = [];
    };
    for (const p of points) {
        const value = y(p);
        if (value === null) {
            flush();
        } else {
            run.push(`${x(p.at).toFixed(1)},${value.toFixed(1)}`);
        }
    }
    flush();
    return out;
}

// A rate scale's top: 1, 2 or 5 times a power of ten, at least 1.
function niceTop(value)
{
    if (value <= 1) return 1;
    const power = 10 ** Math.floor(Math.log10(value));
    return [1, 2, 5, 10].map((f) => f * power).find((top) => top >= value);
}

function drawCharts(now)
{
    const x = (at) => PLOT.width - (now - at) / CHART_SPAN_MS * PLOT.width;
    const markerLines = markers.map((m) => {
        const group = svgElement('g', {class: `marker ${m.kind}`});
        group.append(svgElement('line', {x1: x(m.at), x2: x(m.at), y1: 0, y2: PLOT.height}),
                     svgElement('title', {}, `${clock(new Date(m.at))} ${m.text}`));
        return group;
    });

    const rateTop = niceTop(Math.max(0, ...chartPoints.flatMap(
        (p) => (p.rates ? STATUS_CLASSES.map((k) => p.rates[k]) : []))));
    const rateY = (k) => (p) => (p.rates ? PLOT.height - p.rates[k] / rateTop * PLOT.height : null);
    const rate = $('chart-rate');
    rate.replaceChildren(...markerLines.map((m) => m.cloneNode(true)),
                         ...STATUS_CLASSES.flatMap((k) => lines(chartPoints, x, rateY(k),
                                                                `series ${k}`)));
    rate.dataset.points = String(chartPoints.length);
    rate.dataset.top = String(rateTop);

    const span = Math.log10(LATENCY_MAX_S / LATENCY_MIN_S);
    const latencyY = (s) => PLOT.height - Math.log10(Math.min(Math.max(s, LATENCY_MIN_S),
                                                               LATENCY_MAX_S) / LATENCY_MIN_S)
                                              / span * PLOT.height;
    const grid = [0.001, 0.01, 0.1, 1].map((s) => svgElement(
        'line', {class: 'grid', x1: 0, x2: PLOT.width, y1: latencyY(s), y2: latencyY(s)}));
    const latency = $('chart-latency');
    latency.replaceChildren(...grid, ...markerLines,
                            ...lines(chartPoints, x, (p) => (p.p50 === null ? null : latencyY(p.p50)),
                                     'series p50'),
                            ...lines(chartPoints, x, (p) => (p.p99 === null ? null : latencyY(p.p99)),
                                     'series p99'));
    latency.dataset.points = String(chartPoints.filter((p) => p.p50 !== null).length);

    const last = chartPoints[chartPoints.length - 1];
    const perSecond = (v) => v.toFixed(1);
    setText($('chart-rate-now'), last && last.rates
        ? `Now: ${perSecond(last.rates.ok)} requests/s answered 2xx or 3xx, ` +
          `${perSecond(last.rates.client)} 4xx, ${perSecond(last.rates.server)} 5xx ` +
          `(scale 0 to ${rateTop}/s).`
        : 'Waiting for two samples of an instance.');
    const ms = (s) => (s * 1000 < 10 ? (s * 1000).toFixed(2) : (s * 1000).toFixed(0));
    setText($('chart-latency-now'), last && last.p50 !== null
        ? `Last ${LATENCY_WINDOW_MS / 1000} s: p50 ${ms(last.p50)} ms, p99 ${ms(last.p99)} ms.`
        : `No ping answered in the last ${LATENCY_WINDOW_MS / 1000} s.`);
    showList($('chart-markers'), markers.slice().reverse().map((m) => ({at: m.at, text: m.text,
                                                                         kind: m.kind})),
             (m) => el('li', m.kind === 'down' ? 'failed' : '',
                       timeElement(new Date(m.at).toISOString(), false), ` ${m.text}`));
}

async function loadCharts()
{
    const result = await request('/metrics');
    const now = Date.now();
    if (result.ok && typeof result.body === 'string' && result.instance) {
        takeSample(result.instance, sampleOf(result.body, now));
    }
    addPoint(now);
    drawCharts(now);
    report('charts', result, CHARTS_EVERY_MS);
}

// --- topology -----------------------------------------------------------------------------

function describeMaster(master)
{
    if (!master) return 'none known';
    return master.name === master.address ? master.address : `${master.name} (${master.address})`;
}

function showReplica(r)
{
    return el('li', '', el('span', 'address', r.address),
              `: ${r.state}, offset ${r.offset}, lag ${r.lag_s} s`);
}

function showSentinel(s)
{
    const state = s.answering ? 'answering' : `not answering${s.problem ? `: ${s.problem}` : ''}`;
    return el('li', s.answering ? '' : 'failed', el('span', 'address', s.address), `: ${state}`);
}

function showEvent(e)
{
    return el('li', '', timeElement(e.time, false), ' ', e.text);
}

function showTopology(t)
{
    const redis = t.redis || {};
    setText($('topology-mode'),
            redis.mode === 'sentinel' ? `Sentinel (master group ${redis.master_name})` : 'direct');
    setText($('topology-master'), describeMaster(redis.master));
    setText($('topology-generation'), String(redis.generation));
    setText($('topology-failovers'), String(redis.failovers_followed));

    const replicas = $('topology-replicas');
    if (Array.isArray(t.replicas)) {
        showList(replicas, t.replicas.length ? t.replicas : [null],
                 (r) => (r ? showReplica(r) : el('li', 'note', 'none connected')));
    } else {
        showList(replicas, [t.replicas_error || 'unknown'],
                 (why) => el('li', 'failed', `unknown: ${why}`));
    }

    $('topology-sentinels-block').hidden = !Array.isArray(t.sentinels);
    if (Array.isArray(t.sentinels)) showList($('topology-sentinels'), t.sentinels, showSentinel);
    showList($('topology-events'), t.events || [], showEvent);
}

async function loadTopology()
{
    const result = await request('/api/topology');
    if (result.ok && result.body && typeof result.body === 'object') showTopology(result.body);
    report('topology', result, TOPOLOGY_EVERY_MS);
    if (session === 'failed') await loadSession(); // retried at the topology's pace
}

// --- messages -----------------------------------------------------------------------------

function showMessage(m)
{
    return el('li', '',
              el('p', 'meta', el('strong', '', m.name), ' via ', el('span', 'instance', m.instance),
                 ', ', timeElement(m.time, true)),
              el('p', 'text', m.text));
}

async function loadMessages()
{
    const result = await request(`/api/messages?limit=${MESSAGES_SHOWN}`);
    if (result.ok && result.body && Array.isArray(result.body.messages)) {
        const list = result.body.messages;
        showList($('message-list'), list.length ? list : [null],
                 (m) => (m ? showMessage(m) : el('li', 'note', 'No messages yet.')));
    }
    report('messages', result, MESSAGES_EVERY_MS);
}

let posting = false;

async function postMessage(event)
{
    event.preventDefault();
    if (posting) return; // the button stays enabled, so keyboard focus stays on it
    posting = true;
    const form = event.target;
    const result = await request('/api/messages', {
        method: 'POST',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({name: form.elements.name.value, text: form.elements.text.value}),
    });
    posting = false;

    if (result.ok) {
        setText($('message-error'), '');
        form.elements.text.value = '';
        await loadMessages();
    } else {
        setText($('message-error'), `Not posted: ${describeFailure(result)}`);
    }
}

// --- start --------------------------------------------------------------------------------

$('count-button').addEventListener('click', countVisit);
$('count-auto').addEventListener('change', (event) => setAutoCount(event.target.checked));
$('message-form').addEventListener('submit', postMessage);
setAutoCount($('count-auto').checked); // a reload may keep the box ticked
loadSession();
poll(loadCharts, CHARTS_EVERY_MS);
poll(loadTopology, TOPOLOGY_EVERY_MS);
poll(loadMessages, MESSAGES_EVERY_MS);
