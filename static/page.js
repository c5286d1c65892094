// The page: the counter (GET /), the session (/api/status), the Redis topology (/api/topology,
// polled) and the message board (/api/messages, polled). Server data enters the DOM only through
// textContent and DOM APIs, never as HTML. A failed request is shown where it happened and the
// polls go on.
'use strict';

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
poll(loadTopology, TOPOLOGY_EVERY_MS);
poll(loadMessages, MESSAGES_EVERY_MS);
