// The page's browser test: Debian's chromium, driven by playwright-core, against the stack in
// small: a real redis-server, two instances of the built server (web-1, web-2) and haproxy in
// round robin, on free loopback ports. Any console error or page error fails it, except the
// failed loads a step expects: Chromium logs "Failed to load resource: the server responded
// with a status of 503 (Service Unavailable)" for every fetch answered with an error status,
// so those lines are let through only for the statuses and paths the step names, and the step
// checks that it did see them. Screenshots and logs go to tests/artifacts/browser/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import {
    freePorts, redisCommand, startApp, startHaproxy, startRedis, temporaryFolder, waitUntil,
} from './harness.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BINARY = path.resolve(process.env.REDISAPP_BIN || path.join(ROOT, 'build', 'redisapp'));
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts', 'browser');
const INSTANCES = ['web-1', 'web-2'];
const ANY = '(web-1|web-2)'; // in a pattern: the instance that answered
const CLOCK = '\\d\\d:\\d\\d:\\d\\d'; // in a pattern: a time of day as the page shows it
const WAIT_MS = 15000; // for anything the page should show; the machine is shared
const CHROMIUM_ARGS = [
    '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-quic',
];
const STEP = { timeout: 60000 }; // a test that hangs fails, and the cleanup still runs
const DESKTOP = { width: 1280, height: 900 };
const FAILED_LOAD = /^Failed to load resource: the server responded with a status of (\d+) \(/;

let redisPort, base, redis, haproxy, redisData, context, page;
let apps = [];
const consoleLines = []; // every console message and page error, saved as an artifact
const unexpected = [];   // console errors and page errors that no step expected
const expectedSeen = []; // the failed-load lines that a step expected
const requests = [];     // {method, path, at} of every request the page sent
const responses = [];    // {method, path, status, at} of every answer the page got
let expectedFailures = []; // [{status, path}] the running step lets through

function isExpectedFailure(msg)
{
    const match = FAILED_LOAD.exec(msg.text());
    if (match === null || !msg.location().url) return false;
    const url = new URL(msg.location().url);
    return url.origin === base && expectedFailures.some(
        (e) => e.status === Number(match[1]) && e.path === url.pathname);
}

function watch(p)
{
    p.on('console', (msg) => {
        const line = `${msg.type()}: ${msg.text()} [${msg.location().url}]`;
        consoleLines.push(line);
        if (msg.type() !== 'error') return;
        (isExpectedFailure(msg) ? expectedSeen : unexpected).push(line);
    });
    p.on('pageerror', (err) => {
        consoleLines.push(`page error: ${err.stack || err}`);
        unexpected.push(`page error: ${err.stack || err}`);
    });
    p.on('request', (req) => {
        requests.push({ method: req.method(), path: new URL(req.url()).pathname, at: Date.now() });
    });
    p.on('response', (res) => {
        const url = new URL(res.url());
        responses.push({ method: res.request().method(), path: url.pathname, status: res.status(),
                         at: Date.now() });
    });
}

// Fails with the console errors and page errors seen since the last call, if any.
function assertNoUnexpectedErrors()
{
    assert.deepEqual(unexpected.splice(0), [], 'console errors or page errors');
}

// Runs step() letting through Chromium's failed-load line for each {status, path} in failures.
async function whileFailing(failures, step)
{
    expectedFailures = failures;
    try {
        await step();
    } finally {
        expectedFailures = [];
    }
}

// Waits until Chromium logged the failed load of `path` with `status` (after `since` lines).
async function sawFailedLoad(status, urlPath, since = 0)
{
    const wanted = `status of ${status} `;
    await waitUntil(() => expectedSeen.slice(since).some(
        (line) => line.includes(wanted) && line.endsWith(`${base}${urlPath}]`)),
                    5000, `Chromium's console line for ${status} on ${urlPath}`);
}

// Waits until the first element matching selector has a text matching pattern; returns it.
async function shows(selector, pattern, timeoutMs = WAIT_MS)
{
    let text = null;
    try {
        await waitUntil(async () => {
            text = await page.locator(selector).first().textContent({ timeout: 500 });
            return pattern.test(text);
        }, timeoutMs, selector);
    } catch {
        assert.fail(`${selector} should match ${pattern} within ${timeoutMs} ms; ` +
                    `it shows ${JSON.stringify(text)}`);
    }
    return text;
}

const countButton = () => page.getByRole('button', { name: 'Count a visit' });
const nameField = () => page.getByLabel('Name', { exact: true });
const textField = () => page.getByLabel('Message', { exact: true });
const postButton = () => page.getByRole('button', { name: 'Post' });
const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

before(async () => {
    assert.ok(fs.existsSync(BINARY), `no server binary at ${BINARY}: run make`);
    assert.ok(fs.existsSync(CHROMIUM), `no ${CHROMIUM}: run make deps (Debian's chromium)`);
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });

    const [haproxyPort, ...ports] = await freePorts(2 + INSTANCES.length);
    redisPort = ports.pop();
    base = `http://127.0.0.1:${haproxyPort}`;
    redisData = temporaryFolder('redisapp-browser-redis-');
    redis = await startRedis(redisPort, redisData, path.join(ARTIFACTS, 'redis.log'));
    apps = await Promise.all(INSTANCES.map((name, i) => startApp(
        BINARY, ports[i], redisPort, path.join(ROOT, 'static'), ARTIFACTS, name)));
    haproxy = await startHaproxy(haproxyPort, ports, ARTIFACTS);

    const profile = temporaryFolder('redisapp-browser-profile-'); // a fresh --user-data-dir
    context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: DESKTOP,
    });
    page = context.pages()[0] ?? await context.newPage();
    watch(page);
}, STEP);

after(async () => {
    fs.writeFileSync(path.join(ARTIFACTS, 'console.log'), consoleLines.join('\n') + '\n');
    if (context) await context.close().catch(() => {});
    if (haproxy) await haproxy.stop();
    await Promise.all(apps.map((app) => app.stop()));
    if (redis) await redis.stop();
}, STEP);

test('the page loads with no console errors', STEP, async () => {
    const response = await page.goto(`${base}/static/`);
    assert.equal(response.status(), 200);
    assert.equal(await page.title(), 'redisapp: the stack at work');
    // every panel got its first answer
    for (const panel of ['session', 'topology', 'messages']) {
        await shows(`#${panel}-updated`, new RegExp(`^Updated ${CLOCK} by ${ANY}\\.$`));
    }
    // page.css was served and applied
    const colour = await countButton().evaluate((b) => getComputedStyle(b).backgroundColor);
    assert.equal(colour, 'rgb(29, 79, 145)');
    assertNoUnexpectedErrors();
});

test('the session visit count is shown, one visit per page load', STEP, async () => {
    await shows('#session-visits', /^1$/);
    await shows('#session-server', /^ok, version \d+\.\d+\.\d+$/);
    await shows('#session-expiry', /^\d+ min without a visit$/);
    await page.reload();
    await shows('#session-visits', /^2$/);
    assertNoUnexpectedErrors();
});

test('the counter increases on click and names the instance that answered', STEP, async () => {
    await countButton().click();
    await shows('#counter-value', /^1$/); // a fresh Redis: the first count
    await shows('#counter-history li:first-child', new RegExp(`^${ANY} counted 1 at ${CLOCK}$`));
    await countButton().focus(); // keyboard use
    await page.keyboard.press('Enter');
    await shows('#counter-value', /^2$/);

    // round robin: more clicks until both instances have answered (the polls share the
    // rotation, so two clicks in a row may meet the same instance)
    const tally = page.locator('#instance-tally'); // "All answers so far: web-1: 2, web-2: 1."
    const answered = (text, name) => new RegExp(`[:,] ${name}: [1-9]`).test(text);
    let value = 2;
    let text = await tally.textContent();
    while (value < 10 && !INSTANCES.every((name) => answered(text, name))) {
        await countButton().click();
        value += 1;
        await shows('#counter-value', new RegExp(`^${value}$`));
        text = await tally.textContent();
    }
    for (const name of INSTANCES) assert.ok(answered(text, name), `no count by ${name}: ${text}`);
    assert.equal(await page.locator('#counter-history li').count(), value);
    const status = await (await fetch(`${base}/api/status`)).json();
    assert.equal(status.counter, value, 'the value in Redis is the one shown');
    assertNoUnexpectedErrors();
});

test('auto-count counts every 2 s until unticked', STEP, async () => {
    const start = Number(await shows('#counter-value', /^\d+$/));
    const box = page.getByRole('checkbox', { name: 'Count every 2 s' });
    await box.focus();
    await page.keyboard.press('Space');
    assert.equal(await box.isChecked(), true);
    await shows('#counter-value', new RegExp(`^${start + 2}$`));
    await page.keyboard.press('Space');
    assert.equal(await box.isChecked(), false);
    const untickedAt = Date.now();
    await page.waitForTimeout(2500); // longer than one period
    // (+500 ms: a count sent just before the untick may be reported a little after it)
    const counts = requests.filter((r) => r.path === '/' && r.at > untickedAt + 500);
    assert.deepEqual(counts, [], 'no count after unticking');
    assertNoUnexpectedErrors();
});

test('a posted message appears in the list, as text', STEP, async () => {
    const text = 'Hello from the browser test.\nThis stays text: <b>not bold</b> & <i>no</i>';
    await nameField().fill('Ada');
    await textField().fill(text);
    await postButton().click();

    const newest = page.locator('#message-list li').first();
    await shows('#message-list li:first-child .text', new RegExp(`^${escapeRegExp(text)}$`));
    assert.match(await newest.locator('.meta').textContent(),
                 new RegExp(`^Ada via ${ANY}, \\d{4}-\\d\\d-\\d\\d ${CLOCK}$`));
    assert.equal(await page.locator('#message-list b, #message-list i').count(), 0);
    assert.equal(await textField().inputValue(), '', 'the text field is cleared');
    assert.equal(await nameField().inputValue(), 'Ada', 'the name stays');

    const stored = await (await fetch(`${base}/api/messages?limit=1`)).json();
    assert.equal(stored.messages[0].text, text);
    assertNoUnexpectedErrors();
});

test("the API's validation errors are shown, and nothing is posted", STEP, async () => {
    const stored = (await (await fetch(`${base}/api/messages`)).json()).count;
    await whileFailing([{ status: 400, path: '/api/messages' }], async () => {
        const since = expectedSeen.length;
        await nameField().fill('');
        await textField().fill('A message without a name');
        await postButton().click();
        await shows('#message-error',
                    new RegExp(`^Not posted: HTTP 400 Bad Request from ${ANY}: .*name`));
        await sawFailedLoad(400, '/api/messages', since);
    });
    assert.equal(await textField().inputValue(), 'A message without a name', 'the text is kept');
    assert.equal((await (await fetch(`${base}/api/messages`)).json()).count, stored);

    await nameField().fill('Grace');
    await postButton().click();
    await shows('#message-list li:first-child .text', /^A message without a name$/);
    await shows('#message-error', /^$/);
    assertNoUnexpectedErrors();
});

test('the topology shows the master and the timeline', STEP, async () => {
    const master = `127.0.0.1:${redisPort}`;
    await shows('#topology-mode', /^direct$/);
    await shows('#topology-master', new RegExp(`^${escapeRegExp(master)}$`));
    await shows('#topology-generation', /^1$/);
    await shows('#topology-failovers', /^0$/);
    await shows('#topology-replicas', /^none connected$/);
    assert.equal(await page.locator('#topology-sentinels-block').isHidden(), true);
    await shows('#topology-events li:last-child',
                new RegExp(`^${CLOCK} .*${escapeRegExp(master)}`));
    assertNoUnexpectedErrors();
});

test('landmarks, headings, labelled controls, text contrast 4.5:1 or more', STEP, async () => {
    for (const role of ['banner', 'main', 'contentinfo']) {
        assert.equal(await page.getByRole(role).count(), 1, `one ${role} landmark`);
    }
    assert.deepEqual(await page.getByRole('heading', { level: 2 }).allTextContents(),
                     ['Counter', 'Your session', 'Redis topology', 'Message board']);
    for (const name of ['Counter', 'Your session', 'Redis topology', 'Message board']) {
        assert.equal(await page.getByRole('region', { name }).count(), 1, `region ${name}`);
    }
    assert.equal(await page.getByRole('textbox', { name: 'Name' }).count(), 1);
    assert.equal(await page.getByRole('textbox', { name: 'Message' }).count(), 1);
    assert.equal(await page.getByRole('checkbox', { name: 'Count every 2 s' }).count(), 1);
    assert.equal(await page.locator('#counter-value').getAttribute('aria-live'), 'polite');

    // WCAG contrast of every visible piece of text against the background it sits on
    const poor = await page.evaluate(() => {
        const rgba = (css) => css.match(/[\d.]+/g).map(Number);
        const luminance = ([r, g, b]) => [r, g, b].map((v) => {
            const c = v / 255;
            return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
        }).reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
        const backdrop = (node) => {
            for (; node; node = node.parentElement) {
                const c = rgba(getComputedStyle(node).backgroundColor);
                if (c.length < 4 || c[3] > 0) return c;
            }
            return [255, 255, 255];
        };
        const found = [];
        for (const node of document.querySelectorAll('body *')) {
            const text = [...node.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE)
                .map((n) => n.textContent.trim()).join('');
            if (!text || node.getClientRects().length === 0) continue;
            const a = luminance(rgba(getComputedStyle(node).color));
            const b = luminance(backdrop(node));
            const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
            if (ratio < 4.5) found.push(`${node.tagName} "${text}": ${ratio.toFixed(2)}`);
        }
        return found;
    });
    assert.deepEqual(poor, []);
    assertNoUnexpectedErrors();
});

test('it fits a 360 px wide screen', STEP, async () => {
    await page.setViewportSize({ width: 360, height: 740 });
    try {
        const layout = await page.evaluate(() => ({
            scrollWidth: document.documentElement.scrollWidth,
            clientWidth: document.documentElement.clientWidth,
            widest: Math.max(...[...document.querySelectorAll('.panel, button, input, textarea')]
                .map((e) => e.getBoundingClientRect().right)),
        }));
        assert.ok(layout.scrollWidth <= layout.clientWidth,
                  `scrolls sideways: ${JSON.stringify(layout)}`);
        assert.ok(layout.widest <= layout.clientWidth, `sticks out: ${JSON.stringify(layout)}`);
        const button = await countButton().boundingBox();
        assert.ok(button.height >= 44, `touch target ${button.height} px high`);
        await page.screenshot({ path: path.join(ARTIFACTS, 'page-narrow.png'), fullPage: true });
    } finally {
        await page.setViewportSize(DESKTOP);
    }
    assertNoUnexpectedErrors();
});

test('a screenshot of the page is saved', STEP, async () => {
    const file = path.join(ARTIFACTS, 'page.png');
    await page.mouse.move(0, 0); // no hover colour on the last button clicked
    await page.screenshot({ path: file, fullPage: true });
    assert.ok(fs.statSync(file).size > 10000, 'a real picture');
    assertNoUnexpectedErrors();
});

test('with Redis down the page shows the 503s, keeps polling, and recovers', STEP, async () => {
    const failing = ['/', '/api/status', '/api/messages'].map((p) => ({ status: 503, path: p }));
    const last = Number(await shows('#counter-value', /^\d+$/));
    assert.equal(await redisCommand(redisPort, 'SAVE'), '+OK'); // its next start loads this
    await whileFailing(failing, async () => {
        const since = expectedSeen.length;
        await redis.stop();
        const stoppedAt = Date.now();

        await countButton().click();
        await shows('#counter-problem',
                    new RegExp(`^HTTP 503 Service Unavailable from ${ANY}: .*Redis`));
        await shows('#counter-history li:first-child', new RegExp(`^${ANY} failed \\(503\\) at `));
        assert.equal(await page.locator('#counter-history li:first-child.failed').count(), 1);
        await sawFailedLoad(503, '/', since);
        await shows('#messages-problem', /^HTTP 503 Service Unavailable .*Retrying every 5 s\.$/);
        await shows('#topology-replicas', /^unknown: /);

        await nameField().fill('Ada');
        await textField().fill('Posted while Redis is down');
        await postButton().click();
        await shows('#message-error', /^Not posted: HTTP 503 Service Unavailable/);

        // the polls go on: two more failed message polls, topology answers all along
        const polls = (p, status) => responses.filter((r) => r.method === 'GET' &&
            r.path === p && r.status === status && r.at > stoppedAt).length;
        await waitUntil(() => polls('/api/messages', 503) >= 2, WAIT_MS,
                        'two failed polls of /api/messages');
        assert.ok(polls('/api/topology', 200) >= 2, 'topology polled meanwhile');

        // a page loaded while Redis is down shows the failure too
        await page.reload();
        await shows('#session-problem', /^HTTP 503 Service Unavailable .*Retrying every 3 s\.$/);
        await shows('#session-visits', /^–$/);
        await shows('#messages-problem', /^HTTP 503 /);
        const shot = path.join(ARTIFACTS, 'page-redis-down.png');
        await page.screenshot({ path: shot, fullPage: true });
        assertNoUnexpectedErrors();

        redis = await startRedis(redisPort, redisData, path.join(ARTIFACTS, 'redis.log'));
        // the polls notice by themselves: the session visit (retried) counts as the third
        await shows('#session-visits', /^3$/);
        await shows('#session-problem', /^$/);
        await shows('#messages-problem', /^$/);
        await shows('#message-list li:first-child .text', /^A message without a name$/);
    });
    await countButton().click();
    await shows('#counter-value', new RegExp(`^${last + 1}$`));
    await shows('#counter-problem', /^$/);
    assertNoUnexpectedErrors();
});

test("with no instance left HAProxy's own 503 is shown; each instance exited 0", STEP, async () => {
    // 503 once HAProxy has no server left; 502 if a request meets an instance as it closes
    const failing = ['/', '/api/status', '/api/topology', '/api/messages'].flatMap(
        (p) => [{ status: 503, path: p }, { status: 502, path: p }]);
    await whileFailing(failing, async () => {
        const since = expectedSeen.length;
        const exits = await Promise.all(apps.map((app) => app.stop()));
        apps = [];
        for (const exit of exits) assert.deepEqual(exit, { code: 0, signal: null });
        // HAProxy's error page names no instance and gives no reason the page could show
        await shows('#topology-problem', /^HTTP 503 Service Unavailable\. Retrying every 3 s\.$/);
        await countButton().click();
        await shows('#counter-history li:first-child', /^– failed \(503\) at /);
        await sawFailedLoad(503, '/', since);
    });
    assertNoUnexpectedErrors();
});
