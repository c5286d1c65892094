// Real servers for the browser test: redis-server and the redisapp binary on free loopback
// ports, their output in log files, each stopped by its PID, also when the test fails or is
// interrupted (an exit hook kills whatever is still running and removes the temporary
// folders). Node's standard library only.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const running = new Set(); // ChildProcess objects not yet seen to exit
const folders = [];        // temporary folders made here

process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
    for (const folder of folders) fs.rmSync(folder, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => process.exit(signal === 'SIGINT' ? 130 : 143));
}

// n distinct TCP ports on 127.0.0.1 that nothing listens on now.
export async function freePorts(n)
{
    const servers = [];
    const listen = () => new Promise((resolve, reject) => {
        const server = net.createServer();
        servers.push(server);
        server.on('error', reject);
        server.listen(0, '127.0.0.1', () => resolve(server.address().port));
    });
    try {
        const ports = [];
        for (let i = 0; i < n; i++) ports.push(await listen());
        return ports;
    } finally {
        await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    }
}

// A new empty folder under the system's temporary folder, removed when this process exits.
export function temporaryFolder(prefix)
{
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    folders.push(folder);
    return folder;
}

// Thrown by a check to stop waiting at once (other errors are retried).
export class GiveUp extends Error {}

// Polls check() until it returns a truthy value; rejects after timeoutMs naming `what`.
export async function waitUntil(check, timeoutMs, what)
{
    const deadline = Date.now() + timeoutMs;
    let lastError = null;
    while (Date.now() < deadline) {
        try {
            const value = await check();
            if (value) return value;
        } catch (err) {
            if (err instanceof GiveUp) throw err;
            lastError = err;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` +
                    (lastError ? ` (last error: ${lastError.message})` : ''));
}

// One child process, its stdout and stderr appended to `logFile`.
export class Server {
    constructor(name, argv, logFile)
    {
        this.name = name;
        this.argv = argv;
        this.logFile = logFile;
        this.child = null;
    }

    start()
    {
        const log = fs.openSync(this.logFile, 'a');
        fs.writeSync(log, `--- ${new Date().toISOString()} ${this.argv.join(' ')}\n`);
        this.child = spawn(this.argv[0], this.argv.slice(1), { stdio: ['ignore', log, log] });
        fs.closeSync(log); // the child keeps its own copy
        const child = this.child;
        running.add(child);
        child.exited = new Promise((resolve) => {
            child.on('exit', (code, signal) => {
                running.delete(child);
                resolve({ code, signal });
            });
            child.on('error', (err) => {
                running.delete(child);
                resolve({ code: null, signal: null, error: err });
            });
        });
        return this;
    }

    // Waits until check() is truthy; fails at once, with the log, if the process ended.
    async ready(check, timeoutMs)
    {
        const child = this.child;
        await waitUntil(async () => {
            if (!running.has(child)) throw new GiveUp(`${this.name} exited:\n${this.log()}`);
            return check();
        }, timeoutMs, `${this.name} to be ready`);
    }

    // Sends `signal` to the PID and waits for the exit; SIGKILL after timeoutMs.
    // Resolves to {code, signal} of the exit; a server already gone resolves at once.
    async stop(signal = 'SIGTERM', timeoutMs = 10000)
    {
        const child = this.child;
        if (child === null) return { code: null, signal: null };
        if (running.has(child)) child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        const result = await child.exited;
        clearTimeout(timer);
        this.child = null;
        return result;
    }

    log()
    {
        return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8') : '';
    }
}

// Sends one inline Redis command to 127.0.0.1:port; resolves to the first reply line, or ''
// when nothing answers.
export function redisCommand(port, command)
{
    return new Promise((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        let reply = '';
        socket.setTimeout(5000, () => socket.destroy());
        socket.on('connect', () => socket.write(`${command}\r\n`));
        socket.on('data', (data) => {
            reply += data;
            if (reply.includes('\r\n')) socket.end();
        });
        socket.on('error', () => {});
        socket.on('close', () => resolve(reply.split('\r\n')[0]));
    });
}

// A redis-server on 127.0.0.1:port that saves only when told (SAVE): its dump.rdb goes to
// dataDir and is loaded again by the next start there. Its output goes to logFile.
export async function startRedis(port, dataDir, logFile)
{
    const redis = new Server('redis-server', [
        'redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '',
        '--appendonly', 'no', '--daemonize', 'no', '--dir', dataDir, '--logfile', '',
    ], logFile).start();
    await redis.ready(async () => (await redisCommand(port, 'PING')) === '+PONG', 10000);
    return redis;
}

// The redisapp binary on 127.0.0.1:port against that Redis, ready (/readyz 200) on return.
export async function startApp(binary, port, redisPort, staticDir, folder, instance)
{
    const app = new Server(`redisapp ${instance}`, [
        binary, '--port', String(port), '--bind', '127.0.0.1',
        '--redis', `127.0.0.1:${redisPort}`, '--static-dir', staticDir,
        '--instance-name', instance, '--threads', '1', '--drain-quiet-ms', '100',
    ], path.join(folder, `${instance}.log`)).start();
    await app.ready(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200,
                    10000);
    return app;
}

// haproxy on 127.0.0.1:port, round robin over the app ports, as in the Docker stack; its
// health check asks /healthz (liveness), so an instance's own 503s reach the page.
export async function startHaproxy(port, appPorts, folder)
{
    const servers = appPorts.map((p, i) => `    server web-${i + 1} 127.0.0.1:${p}`).join('\n');
    const config = path.join(folder, 'haproxy.cfg');
    fs.writeFileSync(config, `global
    maxconn 200
defaults
    mode http
    timeout connect 500ms
    timeout client 30s
    timeout server 10s
    retries 2
    option redispatch 1
frontend web
    bind 127.0.0.1:${port}
    default_backend app
backend app
    balance roundrobin
    option httpchk GET /healthz
    default-server check inter 200ms fall 1 rise 1
${servers}
`);
    const haproxy = new Server('haproxy', ['haproxy', '-db', '-f', config],
                               path.join(folder, 'haproxy.log')).start();
    await haproxy.ready(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 10000);
    return haproxy;
}
