#!/usr/bin/python3
"""make bench: redisapp beside nginx and Redis itself, in one run on this machine.

Starts its own redis-server (and, for the --min-replicas-ack 1 row, a second one with a replica),
an nginx answering `return 200` and redisapp, all on free loopback ports; then, for each concurrency, runs wrk against nginx, redis-benchmark INCR at the same
concurrency, and redisapp's endpoints, in interleaved rounds (the machine is shared and noisy:
only ratios taken in the same run mean anything). After every ping run it checks that `count`
moved by exactly the number of 2xx answers (wrk drops at most one in-flight request per
connection when it stops, so Redis may count up to `connections` more). Prints one table with
each row's ratio to nginx (the median of the rounds' ratios to the nginx run of the same round);
--results FILE also writes it as Markdown with the machine's details.
Everything started here is stopped by PID.
"""

import argparse
import datetime
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402 (after the path): free ports, waiting, HTTP and Redis requests

BINARY = os.environ.get("REDISAPP_BIN", os.path.join(ROOT, "build", "redisapp"))
children = []


def start(argv, **kw):
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, **kw)
    children.append(proc)
    return proc


def stop_all():
    for proc in reversed(children):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_port(port, what):
    """Waits until something accepts connections on the port."""
    def accepts():
        with socket.create_connection(("127.0.0.1", port), 0.2):
            return True
    try:
        harness.wait_until(accepts, 10, what=f"{what} on port {port}")
    except AssertionError as err:
        sys.exit(f"bench: {err}")


def http_status(port, path):
    """The status of a GET, 0 when there is no answer."""
    try:
        return harness.request(port, path, timeout=2).status
    except (OSError, ValueError):
        return 0


def parse_latency(text):
    """wrk prints e.g. '99%    1.36ms' or '99%  812.00us'; returns milliseconds."""
    m = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not m:
        return float("nan")
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def run_wrk(url, connections, duration):
    threads = min(2, connections)
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s",
                          "--latency", url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": rps, "p99": parse_latency(out), "total": total,
            "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": sum(map(int, errors.groups())) if errors else 0}


def run_redis_benchmark(port, connections, duration):
    # about `duration` seconds at ~60k ops/s; redis-benchmark runs a fixed count
    n = max(20000, int(60000 * duration))
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-t", "incr", "-c",
                          str(connections), "-n", str(n), "--csv"],
                         capture_output=True, text=True, check=True).stdout
    row = [line for line in out.splitlines() if line.startswith('"INCR"')][0]
    fields = [f.strip('"') for f in row.split(",")]
    # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms",
    # "p99_latency_ms","max_latency_ms"
    return {"rps": float(fields[1]), "p99": float(fields[6])}


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def machine_description():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass

    def version(argv, pattern):
        try:
            out = subprocess.run(argv, capture_output=True, text=True).stdout + \
                subprocess.run(argv, capture_output=True, text=True).stderr
            m = re.search(pattern, out)
            return m.group(1) if m else "?"
        except OSError:
            return "?"

    redisapp = subprocess.run([BINARY, "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores, {cpu}, Linux {platform.release()}",
        "redisapp": redisapp,
        "nginx": version(["nginx", "-v"], r"nginx/([\d.]+)"),
        "redis": version(["redis-server", "--version"], r"v=([\d.]+)"),
        "wrk": version(["wrk", "-v"], r"wrk (?:\S*/)?(\d\S*)"),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", 5)),
                        help="seconds per wrk run (default 5)")
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", 3)),
                        help="interleaved rounds; the table shows medians (default 3)")
    parser.add_argument("--connections", default="8,64,256",
                        help="comma-separated concurrencies (default 8,64,256)")
    parser.add_argument("--endpoints", default="/,/query/,/healthz,/helloworld")
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s, for a smoke test")
    parser.add_argument("--results", help="also write the table as Markdown to this file")
    parser.add_argument("--variant", action="append", default=[],
                        help="'label:args' (or 'label:@binary args'): compare server variants "
                             "in the same run, instead of the default and durable rows")
    parser.add_argument("--no-durable", action="store_true",
                        help="skip the --min-replicas-ack 1 row")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.rounds = 2, 1
    for tool in ("wrk", "nginx", "redis-server", "redis-benchmark", "redis-cli"):
        if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}"):
            sys.exit(f"bench: {tool} is missing: run `make deps`")
    connections = [int(c) for c in args.connections.split(",")]
    endpoints = args.endpoints.split(",")
    work = tempfile.mkdtemp(prefix="redisapp-bench-")
    try:
        rows = run(args, connections, endpoints, work)
    finally:
        stop_all()
        shutil.rmtree(work, ignore_errors=True)
    report(rows, args, connections)


def start_app(binary, port, redis_port, extra):
    proc = start([binary, "--port", str(port), "--bind", "127.0.0.1", "--redis",
                  f"127.0.0.1:{redis_port}", "--log-level", "warn",
                  "--static-dir", os.path.join(ROOT, "static")] + extra,
                 stdout=subprocess.DEVNULL)  # the access log stays on: its cost counts
    wait_port(port, "redisapp")
    for _ in range(100):  # every worker connected
        if all(http_status(port, "/readyz") == 200 for _ in range(4)):
            break
        time.sleep(0.1)
    return proc


def parse_variants(specs):
    """'label:args' or 'label:@/path/to/binary args' -> (label, binary, [args])."""
    variants = []
    for spec in specs:
        label, _, rest = spec.partition(":")
        words = rest.split()
        binary = BINARY
        if words and words[0].startswith("@"):
            binary = os.path.abspath(words.pop(0)[1:])
        variants.append((label, binary, words))
    return variants


def start_redis(work, name, extra=()):
    """A redis-server without persistence in its own folder; returns its port."""
    port = harness.free_port()
    folder = os.path.join(work, name)
    os.makedirs(folder)
    start(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
           "--appendonly", "no", "--daemonize", "no", "--dir", folder,
           "--logfile", os.path.join(folder, "redis.log")] + list(extra))
    wait_port(port, name)
    return port


def is_durable(extra):
    """True when the server's arguments ask WAIT for replicas (--min-replicas-ack N > 0)."""
    for flag, value in zip(extra, extra[1:]):
        if flag == "--min-replicas-ack" and value != "0":
            return True
    return False


def run(args, connections, endpoints, work):
    nginx_port = harness.free_port()
    # a plain redis-server for the direct-mode rows and redis-benchmark; a master with one
    # replica for the durable rows (WAIT for one replica), so that the direct rows' INCRs are
    # not replicated on the same two cores
    redis_port = start_redis(work, "redis")
    durable_port = start_redis(work, "durable-master")
    replica_port = start_redis(work, "durable-replica", ["--replicaof", "127.0.0.1",
                                                         str(durable_port)])
    for _ in range(100):
        if "master_link_status:up" in harness.redis_call(replica_port, "INFO", "replication"):
            break
        time.sleep(0.1)
    nginx_conf = os.path.join(work, "nginx.conf")
    with open(nginx_conf, "w") as f:
        f.write(f"""worker_processes {os.cpu_count()};
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    server {{ listen 127.0.0.1:{nginx_port}; location / {{ return 200 "ok\\n"; }} }}
}}
""")
    nginx = "nginx" if shutil.which("nginx") else "/usr/sbin/nginx"
    start([nginx, "-c", nginx_conf, "-p", work], stderr=subprocess.DEVNULL)
    wait_port(nginx_port, "nginx")

    # (label, process, port, endpoints, the port of its Redis)
    apps = []
    variants = parse_variants(args.variant) or [("redisapp", BINARY, [])]
    if not args.variant and not args.no_durable:
        variants.append(("redisapp --min-replicas-ack 1", BINARY, ["--min-replicas-ack", "1"]))
    for label, binary, extra in variants:
        port = harness.free_port()
        redis = durable_port if is_durable(extra) else redis_port
        paths = ["/"] if is_durable(extra) and not args.variant else endpoints
        apps.append((label, start_app(binary, port, redis, extra), port, paths, redis))

    samples = {}  # (label, c) -> list of results
    problems = []
    for round_index in range(args.rounds):
        for c in connections:
            def record(label, result):
                samples.setdefault((label, c), []).append(result)
                print(f"  round {round_index + 1} c{c:<4} {label:<40} {result['rps']:>10.0f} req/s"
                      f"  p99 {result['p99']:.2f} ms", flush=True)

            record("nginx return 200", run_wrk(f"http://127.0.0.1:{nginx_port}/", c,
                                               args.duration))
            record("redis-benchmark INCR", run_redis_benchmark(redis_port, c, args.duration))
            for label, _, port, paths, redis in apps:
                for path in paths:
                    before = int(harness.redis_call(redis, "GET", "count") or 0)
                    result = run_wrk(f"http://127.0.0.1:{port}{path}", c, args.duration)
                    time.sleep(0.2)  # let answers to requests wrk dropped at its end arrive
                    after = int(harness.redis_call(redis, "GET", "count") or 0)
                    ok = result["total"] - result["non2xx"]
                    name = f"{label} GET {path}"
                    if path == "/":
                        slack = (after - before) - ok
                        if not 0 <= slack <= c:
                            problems.append(f"c{c} {name}: count moved {after - before}, "
                                            f"2xx answers {ok}")
                    elif after != before:
                        problems.append(f"c{c} {name}: count moved without a ping")
                    if result["non2xx"] or result["socket_errors"]:
                        problems.append(f"c{c} {name}: {result['non2xx']} non-2xx, "
                                        f"{result['socket_errors']} socket errors")
                    record(name, result)
    rows = []
    for c in connections:
        nginx = samples[("nginx return 200", c)]
        for (label, cc), results in samples.items():
            if cc != c:
                continue
            rps = statistics.median(r["rps"] for r in results)
            p99 = statistics.median(r["p99"] for r in results)
            # each round's run against the nginx run of the same round, seconds apart: on a
            # shared machine whose speed drifts by 20% between rounds, paired ratios are steadier
            # than a ratio of medians
            ratio = statistics.median(r["rps"] / n["rps"] for r, n in zip(results, nginx))
            rows.append((c, label, rps, p99, ratio))
    rss = ", ".join(f"{label} {peak_rss_kib(proc.pid) / 1024:.1f} MiB"
                    for label, proc, *_ in apps)
    rows.append(("peak RSS", rss, problems))
    return rows


NOTES_MARKER = "<!-- written by hand below this line; make bench keeps it -->"


def kept_notes(path):
    """The hand-written part of an existing results file (profiles, what was tried), or ""."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return ""
    at = text.find(NOTES_MARKER)
    return "\n" + text[at:] if at >= 0 else ""


def report(rows, args, connections):
    *table, (_, rss, problems) = rows
    header = "| connections | server | req/s | p99 ms | vs nginx |\n|---|---|---|---|---|\n"
    lines = [f"| {c} | {label} | {rps:,.0f} | {p99:.2f} | {ratio:.0%} |"
             for c, label, rps, p99, ratio in table]
    check = ("count moved by exactly the 2xx answers in every ping run (slack: requests wrk "
             "dropped in flight at its end, at most one per connection)" if not problems
             else "PROBLEMS: " + "; ".join(problems))
    text = (header + "\n".join(lines) + f"\n\nPeak RSS (VmHWM) after all runs: {rss}\n\n"
            f"Counter check: {check}\n")
    print()
    print(text)
    if args.results:
        info = machine_description()
        notes = kept_notes(args.results)
        with open(args.results, "w") as f:
            f.write(f"# Benchmark results\n\nWritten by `make bench` ({args.rounds} interleaved "
                    f"rounds of {args.duration} s per run, medians; wrk -t2 --latency; 'vs "
                    f"nginx' is the median of each round's ratio to that round's nginx run)."
                    f"\n\n"
                    f"- Date: {info['date']}\n- Machine: {info['machine']}\n"
                    f"- {info['redisapp']}\n- nginx {info['nginx']}, Redis {info['redis']}, "
                    f"wrk {info['wrk']}\n\n" + text + notes)
        print(f"bench: wrote {args.results}")
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        stop_all()
        sys.exit(130)
