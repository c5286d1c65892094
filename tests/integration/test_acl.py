"""Least privilege with Redis ACL users, against real redis-server and redis-sentinel processes
that load the ACL files the Docker image writes (docker/redis/users.acl and sentinel-users.acl,
rendered by docker/redis/redis-node): every user runs what its job needs and gets NOPERM for
everything else tried; the `default` user is off; replication, Sentinel's failover and the app
work with these users only (and nothing of theirs is refused meanwhile: ACL LOG stays empty);
a wrong username or password gives one clear error at start and prompt 503s, never a hang."""

import hashlib
import json
import os
import re
import secrets
import subprocess
import tempfile
import threading
import time

from harness import (BINARY, ROOT, SLOW, RedisClient, RedisServer, RespError, SentinelCluster,
                     ServerTestCase, request, wait_until)

NODE = os.path.join(ROOT, "docker", "redis", "redis-node")
DATA_TEMPLATE = os.path.join(ROOT, "docker", "redis", "users.acl")
SENTINEL_TEMPLATE = os.path.join(ROOT, "docker", "redis", "sentinel-users.acl")
TIMEOUT_MS = 500
DEADLINE_S = 2 * TIMEOUT_MS / 1000 + 1.0 * SLOW


def watched_events():
    """The Sentinel events the app subscribes to (WATCHED_EVENTS in app/), read from the source,
    so the app's Sentinel user is tested against what the app really sends."""
    for name in sorted(os.listdir(os.path.join(ROOT, "app"))):
        with open(os.path.join(ROOT, "app", name)) as source:
            text = source.read()
        if "#define WATCHED_EVENTS" in text:
            start = text.index("#define WATCHED_EVENTS")
            end = text.index("\n\n", start)
            return " ".join(re.findall(r'"([^"]*)"', text[start:end])).split()
    raise AssertionError("no #define WATCHED_EVENTS in app/")


WATCHED_EVENTS = watched_events()


def new_passwords():
    """A password for every variable the two templates name, each different."""
    names = ["REDIS_ADMIN_PASSWORD", "REDIS_APP_PASSWORD", "REDIS_REPLICATION_PASSWORD",
             "REDIS_SENTINEL_USER_PASSWORD", "HEALTH_PASSWORD", "SENTINEL_ADMIN_PASSWORD",
             "SENTINEL_APP_PASSWORD", "SENTINEL_PEER_PASSWORD", "REDIS_EXPORTER_PASSWORD"]
    return {name: f"{name.lower()}-{secrets.token_hex(6)}" for name in names}


def render(template, env):
    """The ACL file redis-node writes for `template` with these passwords (its stdout)."""
    result = subprocess.run(["sh", NODE, "acl", template], env={"PATH": "/usr/bin:/bin", **env},
                            capture_output=True, text=True, timeout=30)
    return result


def write_acl_files(testcase, passwords):
    folder = tempfile.mkdtemp(prefix="redisapp-acl-")
    testcase.addCleanup(lambda: subprocess.run(["rm", "-rf", folder]))
    paths = {}
    for name, template in (("data", DATA_TEMPLATE), ("sentinel", SENTINEL_TEMPLATE)):
        result = render(template, passwords)
        testcase.assertEqual(result.returncode, 0, result.stderr)
        paths[name] = os.path.join(folder, f"{name}.acl")
        with open(paths[name], "w") as f:
            f.write(result.stdout)
    return paths


def acl_cluster(testcase, passwords, replicas=2, sentinels=3):
    """A master, replicas and Sentinels set up as in the Docker stack: users from the rendered
    ACL files, replicas authenticating as `replication`, Sentinels as `sentinel` to the data
    nodes and as `peer` to each other. The test itself is `admin` on both."""
    paths = write_acl_files(testcase, passwords)
    return SentinelCluster(
        testcase, replicas=replicas, sentinels=sentinels,
        username="admin", password=passwords["REDIS_ADMIN_PASSWORD"],
        sentinel_username="admin", sentinel_password=passwords["SENTINEL_ADMIN_PASSWORD"],
        node_lines=[f"aclfile {paths['data']}", "masteruser replication",
                    f"masterauth {passwords['REDIS_REPLICATION_PASSWORD']}",
                    "replica-serve-stale-data no"],
        sentinel_lines=[f"aclfile {paths['sentinel']}", "sentinel auth-user mymaster sentinel",
                        f"sentinel auth-pass mymaster {passwords['REDIS_SENTINEL_USER_PASSWORD']}",
                        "sentinel sentinel-user peer",
                        f"sentinel sentinel-pass {passwords['SENTINEL_PEER_PASSWORD']}"])


def ask(port, username, password, *command):
    """Runs one command on a fresh connection as `username`; returns the reply, or the error
    text for an error reply."""
    with RedisClient(port, timeout=5 * SLOW) as client:
        if username is not None:
            client.call("AUTH", username, password)
        try:
            return client.call(*command)
        except RespError as err:
            return str(err)


def refused(reply):
    return isinstance(reply, str) and reply.startswith("NOPERM")


# What each user tries, as (command, expectation): "ok" (any reply that is not an error),
# "NOPERM" (refused by the ACL), or the start of the error expected. Commands that would change
# what they touch if allowed (SHUTDOWN, FLUSHALL...) are tried for real all the same.
SCRIPT_REFUSED = "ERR The user executing the script can't"
# enable-module-command no (Redis's default) refuses MODULE LOAD to everyone before the ACL is
# asked; the ACL refuses it too (ACL DRYRUN below)
MODULE_NOT_ALLOWED = "ERR MODULE command not allowed"
ERRORS = ("NOPERM", "ERR", "WRONGTYPE", "NOAUTH", "WRONGPASS", "EXECABORT", "NOSCRIPT")
SESSION_SCRIPT = ("if redis.call('EXISTS', KEYS[1]) == 1 then "
                  "return redis.call('HINCRBY', KEYS[1], 'visits', 1) end "
                  "redis.call('HSET', KEYS[1], 'visits', 1) "
                  "redis.call('EXPIRE', KEYS[1], 60) return 1")
DATA_NODE_TRIES = {
    "app": [
        (("PING",), "ok"), (("INFO", "server"), "ok"), (("ROLE",), "ok"), (("WAIT", "0", "0"), "ok"),
        (("INCR", "count"), "ok"), (("GET", "count"), "ok"), (("SET", "Hi", "x"), "ok"),
        (("GET", "Hi"), "ok"), (("GET", "redis_app"), "ok"),
        (("XADD", "messages", "MAXLEN", "~", "1000", "*", "name", "n", "text", "t", "instance",
          "i"), "ok"),
        (("XREVRANGE", "messages", "+", "-", "COUNT", "1"), "ok"),
        (("EVAL", SESSION_SCRIPT, "1", "session:acl-test"), "ok"),
        (("EVAL", "return redis.call('SET', KEYS[1], redis.call('GET', KEYS[1]))", "1", "count"),
         "ok"),
        (("FLUSHALL",), "NOPERM"), (("FLUSHDB",), "NOPERM"),
        (("CONFIG", "SET", "maxmemory", "1"), "NOPERM"), (("CONFIG", "GET", "*"), "NOPERM"),
        (("KEYS", "*"), "NOPERM"), (("SCAN", "0"), "NOPERM"),
        (("DEBUG", "SLEEP", "0"), "NOPERM"), (("SHUTDOWN", "NOSAVE"), "NOPERM"),
        (("REPLICAOF", "NO", "ONE"), "NOPERM"), (("SLAVEOF", "NO", "ONE"), "NOPERM"),
        (("ACL", "LIST"), "NOPERM"), (("ACL", "SETUSER", "app", "+@all"), "NOPERM"),
        (("CLIENT", "LIST"), "NOPERM"), (("CLIENT", "KILL", "TYPE", "normal"), "NOPERM"),
        (("MONITOR",), "NOPERM"), (("BGSAVE",), "NOPERM"), (("SAVE",), "NOPERM"),
        (("MODULE", "LIST"), "NOPERM"), (("MODULE", "LOAD", "/nonexistent.so"), MODULE_NOT_ALLOWED),
        (("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('f', function() return 1 end)"),
         "NOPERM"), (("SCRIPT", "FLUSH"), "NOPERM"),
        (("FUNCTION", "FLUSH"), "NOPERM"), (("SELECT", "1"), "NOPERM"),
        (("SET", "not-the-apps", "1"), "NOPERM"), (("GET", "not-the-apps"), "NOPERM"),
        (("SET", "redis_app", "x"), "NOPERM"), (("DEL", "count"), "NOPERM"),
        (("EXPIRE", "count", "1"), "NOPERM"), (("SET", "messages", "x"), "NOPERM"),
        (("HGETALL", "session:acl-test"), "NOPERM"), (("SET", "session:acl-test", "x"), "NOPERM"),
        (("SUBSCRIBE", "__sentinel__:hello"), "NOPERM"), (("PUBLISH", "x", "y"), "NOPERM"),
        (("EVALSHA", "0" * 40, "0"), "NOPERM"),
        (("EVAL", "return redis.call('FLUSHALL')", "0"), SCRIPT_REFUSED),
        (("EVAL", "return redis.call('GET', 'not-the-apps')", "0"), SCRIPT_REFUSED),
        (("EVAL", "return redis.call('EXPIRE', 'count', 1)", "0"), SCRIPT_REFUSED),
        (("EVAL", "return 1", "1", "not-the-apps"), "NOPERM"),
    ],
    "replication": [
        (("PING",), "ok"), (("REPLCONF", "listening-port", "1"), "ok"),
        (("GET", "count"), "NOPERM"), (("SET", "count", "1"), "NOPERM"), (("INFO",), "NOPERM"),
        (("KEYS", "*"), "NOPERM"), (("FLUSHALL",), "NOPERM"),
        (("CONFIG", "SET", "maxmemory", "1"), "NOPERM"), (("SHUTDOWN", "NOSAVE"), "NOPERM"),
        (("REPLICAOF", "NO", "ONE"), "NOPERM"), (("ACL", "LIST"), "NOPERM"),
        (("EVAL", "return 1", "0"), "NOPERM"), (("SYNC",), "NOPERM"),
    ],
    "sentinel": [
        (("PING",), "ok"), (("INFO",), "ok"), (("CLIENT", "SETNAME", "acl-test"), "ok"),
        (("PUBLISH", "__sentinel__:hello", "acl-test"), "ok"), (("MULTI",), "ok"),
        (("GET", "count"), "NOPERM"), (("SET", "count", "1"), "NOPERM"),
        (("KEYS", "*"), "NOPERM"), (("FLUSHALL",), "NOPERM"),
        (("CONFIG", "SET", "maxmemory", "1"), "NOPERM"), (("CONFIG", "GET", "*"), "NOPERM"),
        (("SHUTDOWN", "NOSAVE"), "NOPERM"), (("DEBUG", "SLEEP", "0"), "NOPERM"),
        (("REPLICAOF", "NO", "ONE"), "NOPERM"), (("ACL", "LIST"), "NOPERM"),
        (("EVAL", "return 1", "0"), "NOPERM"), (("PUBLISH", "other", "x"), "NOPERM"),
        (("SUBSCRIBE", "other"), "NOPERM"), (("CLIENT", "LIST"), "NOPERM"),
    ],
    "health": [
        (("PING",), "ok"), (("INFO",), "NOPERM"), (("GET", "count"), "NOPERM"),
        (("CONFIG", "GET", "*"), "NOPERM"), (("CLIENT", "LIST"), "NOPERM"),
        (("ACL", "LIST"), "NOPERM"), (("SHUTDOWN", "NOSAVE"), "NOPERM"),
    ],
    # what the monitoring profile's redis_exporter sends (-config-command=-: never CONFIG)
    "exporter": [
        (("PING",), "ok"), (("INFO", "ALL"), "ok"), (("CLIENT", "SETNAME", "redis_exporter"), "ok"),
        (("SLOWLOG", "GET", "10"), "ok"), (("SLOWLOG", "LEN"), "ok"), (("LATENCY", "LATEST"), "ok"),
        (("CONFIG", "GET", "*"), "NOPERM"), (("GET", "count"), "NOPERM"),
        (("KEYS", "*"), "NOPERM"), (("SCAN", "0"), "NOPERM"), (("CLIENT", "LIST"), "NOPERM"),
        (("SLOWLOG", "RESET"), "NOPERM"), (("FLUSHALL",), "NOPERM"),
        (("SHUTDOWN", "NOSAVE"), "NOPERM"), (("ACL", "LIST"), "NOPERM"),
        (("SUBSCRIBE", "__sentinel__:hello"), "NOPERM"),
    ],
}
# what Redis's own ACL evaluation says (ACL DRYRUN, asked as admin) for commands the users must
# have but that would disturb the test if run for real (the failover and the sync show them
# work), and for commands Redis refuses before the ACL is asked: "OK" or "NOPERM"
DATA_NODE_DRYRUNS = {
    "app": [(("MODULE", "LOAD", "/nonexistent.so"), "NOPERM")],
    "replication": [(("PSYNC", "?", "-1"), "OK")],
    "sentinel": [(("SLAVEOF", "NO", "ONE"), "OK"), (("CONFIG", "REWRITE"), "OK"),
                 (("CLIENT", "KILL", "TYPE", "normal"), "OK"), (("SCRIPT", "KILL"), "OK"),
                 (("EXEC",), "OK"), (("SUBSCRIBE", "__sentinel__:hello"), "OK")],
}
SENTINEL_TRIES = {
    "app": [
        (("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"), "ok"),
        (("SENTINEL", "MASTER", "mymaster"), "ok"), (("SENTINEL", "SENTINELS", "mymaster"), "ok"),
        (("SENTINEL", "REPLICAS", "mymaster"), "ok"),
        # every event app/sentinel.c subscribes to (WATCHED_EVENTS), in one command as it does
        (("SUBSCRIBE", *WATCHED_EVENTS), "ok"),
        (("SENTINEL", "FAILOVER", "mymaster"), "NOPERM"),
        (("SENTINEL", "SET", "mymaster", "down-after-milliseconds", "100"), "NOPERM"),
        (("SENTINEL", "REMOVE", "mymaster"), "NOPERM"),
        (("SENTINEL", "MONITOR", "other", "127.0.0.1", "1", "1"), "NOPERM"),
        (("SENTINEL", "RESET", "*"), "NOPERM"),
        (("SENTINEL", "CONFIG", "SET", "resolve-hostnames", "no"), "NOPERM"),
        (("SENTINEL", "FLUSHCONFIG"), "NOPERM"), (("SENTINEL", "CKQUORUM", "mymaster"), "NOPERM"),
        (("SENTINEL", "IS-MASTER-DOWN-BY-ADDR", "127.0.0.1", "1", "0", "*"), "NOPERM"),
        (("SHUTDOWN",), "NOPERM"), (("ACL", "LIST"), "NOPERM"),
        (("CLIENT", "KILL", "TYPE", "normal"), "NOPERM"), (("INFO",), "NOPERM"),
        (("SUBSCRIBE", "__sentinel__:hello"), "NOPERM"), (("PSUBSCRIBE", "*"), "NOPERM"),
        (("PUBLISH", "__sentinel__:hello", "x"), "NOPERM"),
    ],
    "peer": [
        (("PING",), "ok"), (("CLIENT", "SETNAME", "acl-test"), "ok"),
        (("SENTINEL", "FAILOVER", "mymaster"), "NOPERM"),
        (("SENTINEL", "SET", "mymaster", "quorum", "1"), "NOPERM"),
        (("SENTINEL", "REMOVE", "mymaster"), "NOPERM"),
        (("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"), "NOPERM"),
        (("SHUTDOWN",), "NOPERM"), (("ACL", "LIST"), "NOPERM"),
        (("PUBLISH", "other", "x"), "NOPERM"),
    ],
    "health": [
        (("PING",), "ok"), (("SENTINEL", "CKQUORUM", "mymaster"), "ok"),
        (("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"), "NOPERM"),
        (("SENTINEL", "FAILOVER", "mymaster"), "NOPERM"), (("SHUTDOWN",), "NOPERM"),
        (("ACL", "LIST"), "NOPERM"), (("INFO",), "NOPERM"),
    ],
}
SENTINEL_DRYRUNS = {
    "peer": [(("PUBLISH", "__sentinel__:hello", "x"), "OK"),
             (("SENTINEL", "IS-MASTER-DOWN-BY-ADDR", "127.0.0.1", "1", "0", "*"), "OK")],
}
# which password variable each user's password comes from
DATA_USERS = {"admin": "REDIS_ADMIN_PASSWORD", "app": "REDIS_APP_PASSWORD",
              "replication": "REDIS_REPLICATION_PASSWORD",
              "sentinel": "REDIS_SENTINEL_USER_PASSWORD", "health": "HEALTH_PASSWORD",
              "exporter": "REDIS_EXPORTER_PASSWORD"}
SENTINEL_USERS = {"admin": "SENTINEL_ADMIN_PASSWORD", "app": "SENTINEL_APP_PASSWORD",
                  "peer": "SENTINEL_PEER_PASSWORD", "health": "HEALTH_PASSWORD"}


class AclUsersTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.passwords = new_passwords()

    def check_tries(self, port, users, tries, dryruns, admin, where):
        """Runs every try as its user; returns lines for the log. Fails with every mismatch."""
        mismatches, lines = [], []
        for user, cases in tries.items():
            password = self.passwords[users[user]]
            for command, expected in cases:
                reply = ask(port, user, password, *command)
                if expected == "ok":
                    good = not (isinstance(reply, str) and reply.split(" ", 1)[0] in ERRORS)
                elif expected == "NOPERM":
                    good = refused(reply)
                else:
                    good = isinstance(reply, str) and reply.startswith(expected)
                lines.append(f"{where} {user:<11} {' '.join(command)[:60]:<60} -> "
                             f"{str(reply)[:70]}")
                if not good:
                    mismatches.append(f"{user}: {' '.join(command)[:60]}: expected {expected}, "
                                      f"got {reply!r}")
        for user, cases in dryruns.items():
            for command, expected in cases:
                reply = ask(port, "admin", admin, "ACL", "DRYRUN", user, *command)
                lines.append(f"{where} {user:<11} ACL DRYRUN {' '.join(command)[:49]:<49} -> {reply}")
                good = reply == "OK" if expected == "OK" else "no permissions" in reply
                if not good:
                    mismatches.append(f"{user}: ACL DRYRUN {' '.join(command)}: {reply!r}")
        self.assertEqual(mismatches, [], "\n" + "\n".join(lines))
        return lines

    def check_default_is_off(self, port, users):
        """Nothing but AUTH works unauthenticated, and `default` takes no one's password."""
        self.assertTrue(ask(port, None, None, "PING").startswith("NOAUTH"))
        for variable in set(users.values()):
            password = self.passwords[variable]
            for auth in (("AUTH", password), ("AUTH", "default", password)):
                with RedisClient(port) as client:
                    with self.assertRaises(RespError) as caught:
                        client.call(*auth)
                    self.assertTrue(str(caught.exception).startswith("WRONGPASS"),
                                    str(caught.exception))

    def test_each_user_may_do_its_job_and_nothing_else(self):
        cluster = acl_cluster(self, self.passwords, replicas=1, sentinels=1)
        master = cluster.master()
        admin = self.passwords["REDIS_ADMIN_PASSWORD"]
        sentinel_admin = self.passwords["SENTINEL_ADMIN_PASSWORD"]
        # replication as `replication` and Sentinel as `sentinel` work (settled() saw both)
        info = master.call("INFO", "replication")
        self.assertIn("connected_slaves:1", info)
        users = ask(master.port, "admin", admin, "ACL", "USERS")
        self.assertEqual(sorted(users), sorted(["default", *DATA_USERS]))
        self.check_default_is_off(master.port, DATA_USERS)
        lines = self.check_tries(master.port, DATA_USERS, DATA_NODE_TRIES, DATA_NODE_DRYRUNS,
                                 admin, "data")
        sentinel_port = cluster.sentinel_ports[0]
        self.assertEqual(sorted(ask(sentinel_port, "admin", sentinel_admin, "ACL", "USERS")),
                         sorted(["default", *SENTINEL_USERS]))
        self.check_default_is_off(sentinel_port, SENTINEL_USERS)
        lines += self.check_tries(sentinel_port, SENTINEL_USERS, SENTINEL_TRIES,
                                  SENTINEL_DRYRUNS, sentinel_admin, "sentinel")
        self.assertEqual(ask(master.port, "admin", admin, "PING"), "PONG")  # still up
        if os.environ.get("REDISAPP_ACL_TABLE"):
            print("\n" + "\n".join(lines), flush=True)
        print(f"\n    {len(lines)} commands tried as admin, app, replication, sentinel, health, "
              f"exporter, peer: each allowed or refused as its ACL says", flush=True)

    def test_app_works_with_its_restricted_user(self):
        paths = write_acl_files(self, self.passwords)
        admin = self.passwords["REDIS_ADMIN_PASSWORD"]
        redis = RedisServer(self, username="admin", password=admin,
                            lines=[f"aclfile {paths['data']}"])
        redis.call("SET", "redis_app", "from the operator")
        server = self.app(redis.port, env={"REDIS_USERNAME": "app",
                                           "REDIS_PASSWORD": self.passwords["REDIS_APP_PASSWORD"]})
        wait_until(server.ready, 10 * SLOW, what="readiness as user app")
        self.assertEqual([server.get("/").text for _ in range(3)], ["1\n", "2\n", "3\n"])
        self.assertEqual(server.get("/query/").text,
                         "hello world from app, with value: from the operator\n")
        hello = server.get("/helloworld")
        self.assertEqual(hello.status, 200)
        self.assertIn("redis_version", hello.text)
        first = server.get("/api/status")
        self.assertEqual(first.status, 200, first.text)
        body = json.loads(first.text)
        self.assertEqual((body["redis"]["role"], body["counter"], body["session"]["new"]),
                         ("master", 3, True))
        sid = first.headers["set-cookie"].split(";")[0].split("=", 1)[1]
        again = json.loads(server.get("/api/status", headers={"Cookie": f"sid={sid}"}).text)
        self.assertEqual(again["session"]["visits"], 2)
        posted = request(server.port, "/api/messages", method="POST",
                         headers={"Content-Type": "application/json"},
                         body=json.dumps({"name": "acl", "text": "hello"}))
        self.assertEqual(posted.status, 201, posted.text)
        listed = json.loads(server.get("/api/messages").text)
        self.assertEqual(listed["messages"][0]["text"], "hello")
        self.assertEqual(server.get("/api/topology").status, 200)
        # the counter repair (EVAL as the app) still raises the key forward
        redis.call("SET", "count", 1)
        self.assertEqual(server.get("/").status, 503)
        wait_until(lambda: int(redis.call("GET", "count")) >= 3, 5, what="the repair")
        self.assertEqual(server.get("/").text, "4\n")
        self.assertEqual(redis.call("ACL", "LOG"), [], "the app was refused something")
        self.assertNotIn("NOPERM", server.process.stderr())

    def test_wrong_username_or_password_is_one_clear_error_and_prompt_503s(self):
        paths = write_acl_files(self, self.passwords)
        redis = RedisServer(self, username="admin", password=self.passwords["REDIS_ADMIN_PASSWORD"],
                            lines=[f"aclfile {paths['data']}"])
        app_password = self.passwords["REDIS_APP_PASSWORD"]
        redis.call("ACL", "SETUSER", "no-ping", "on", ">pw", "-@all", "+get", "~*")
        message = ("Redis refused the username or password (WRONGPASS): check --redis-username / "
                   "REDIS_USERNAME and --redis-password / REDIS_PASSWORD")
        cases = [
            ("wrong-password", {"REDIS_USERNAME": "app", "REDIS_PASSWORD": "nope"}, message),
            ("wrong-user", {"REDIS_USERNAME": "nobody", "REDIS_PASSWORD": app_password}, message),
            ("other-users-password", {"REDIS_USERNAME": "app",
                                      "REDIS_PASSWORD": self.passwords["HEALTH_PASSWORD"]},
             message),
            ("default-user", {"REDIS_PASSWORD": app_password},
             "Redis refused the password (WRONGPASS): check --redis-password / REDIS_PASSWORD"),
            ("no-ping", {"REDIS_USERNAME": "no-ping", "REDIS_PASSWORD": "pw"},
             "the Redis user may not run PING (NOPERM)"),
        ]
        servers = [(self.app(redis.port, env=env, name=name,
                             args=["--redis-timeout-ms", str(TIMEOUT_MS)]), expected)
                   for name, env, expected in cases]
        for server, expected in servers:
            wait_until(lambda: expected in server.process.stderr(), 10 * SLOW, what=expected)
            for _ in range(5):
                answer = server.get("/")
                self.assertEqual(answer.status, 503, answer.text)
                self.assertLess(answer.elapsed, DEADLINE_S)
                self.assertNotIn("WRONGPASS", answer.text)
            self.assertEqual(server.get("/readyz").status, 503)
            self.assertEqual(server.get("/healthz").status, 200)
        for server, expected in servers:
            server.assert_clean_exit()
            self.assertEqual(server.process.stderr().count(expected), 1, server.process.stderr())

    def test_wrong_credentials_in_sentinel_mode_are_named(self):
        cluster = acl_cluster(self, self.passwords, replicas=1, sentinels=1)
        right = {"REDIS_USERNAME": "app", "REDIS_PASSWORD": self.passwords["REDIS_APP_PASSWORD"],
                 "REDIS_SENTINEL_USERNAME": "app",
                 "REDIS_SENTINEL_PASSWORD": self.passwords["SENTINEL_APP_PASSWORD"]}
        cases = [
            ({**right, "REDIS_SENTINEL_USERNAME": "nobody"},
             "refused the username or password (WRONGPASS): check --sentinel-username / "
             "REDIS_SENTINEL_USERNAME and --sentinel-password / REDIS_SENTINEL_PASSWORD"),
            ({**right, "REDIS_PASSWORD": self.passwords["SENTINEL_APP_PASSWORD"]},
             "refused the username or password (WRONGPASS): check --redis-username / "
             "REDIS_USERNAME and --redis-password / REDIS_PASSWORD"),
        ]
        args = cluster.sentinel_args() + ["--redis-timeout-ms", str(TIMEOUT_MS)]
        servers = [(self.app(None, args=args, env=env, name=f"wrong-{i}"), expected)
                   for i, (env, expected) in enumerate(cases)]
        good = self.app(None, args=args, env=right, name="right")
        wait_until(lambda: good.get("/").status == 200, 10 * SLOW, what="a ping as app")
        for server, expected in servers:
            wait_until(lambda: expected in server.process.stderr(), 10 * SLOW, what=expected)
            answer = server.get("/")
            self.assertEqual(answer.status, 503, answer.text)
            self.assertLess(answer.elapsed, DEADLINE_S)

    def test_username_without_password_is_a_config_error(self):
        for env, setting in (({"REDIS_USERNAME": "app"}, "--redis-username / REDIS_USERNAME"),
                             ({"REDIS_SENTINEL_USERNAME": "app"},
                              "--sentinel-username / REDIS_SENTINEL_USERNAME")):
            run = subprocess.run([BINARY], env={"PATH": "/usr/bin:/bin", **env},
                                 capture_output=True, text=True, timeout=10)
            self.assertEqual(run.returncode, 2, run.stderr)
            self.assertIn(f"{setting} needs a password", run.stderr)

    def test_replica_without_its_master_fails_the_health_users_ping(self):
        # the Docker healthcheck is a PING as `health`: on a replica it must fail while the link
        # to the master is down (replica-serve-stale-data no), and pass once it is up
        paths = write_acl_files(self, self.passwords)
        lines = [f"aclfile {paths['data']}", "masteruser replication",
                 f"masterauth {self.passwords['REDIS_REPLICATION_PASSWORD']}",
                 "replica-serve-stale-data no"]
        admin = self.passwords["REDIS_ADMIN_PASSWORD"]
        master = RedisServer(self, username="admin", password=admin, lines=lines)
        replica = RedisServer(self, username="admin", password=admin, lines=lines,
                              replica_of=master.port)
        health = self.passwords["HEALTH_PASSWORD"]
        wait_until(lambda: ask(replica.port, "health", health, "PING") == "PONG", 10 * SLOW,
                   what="the replica in sync")
        master.kill()
        wait_until(lambda: str(ask(replica.port, "health", health, "PING")).startswith(
            "MASTERDOWN"), 10 * SLOW, what="MASTERDOWN for the health user's PING")
        master.start()
        wait_until(lambda: ask(replica.port, "health", health, "PING") == "PONG", 20 * SLOW,
                   what="PONG once the link is up again")


class AclFailoverTest(ServerTestCase):
    def test_failover_and_a_stalled_master_with_acl_users_only(self):
        passwords = new_passwords()
        cluster = acl_cluster(self, passwords)
        server = self.app(None, args=cluster.sentinel_args() + [
            "--redis-timeout-ms", str(TIMEOUT_MS), "--read-from-replicas", "on"], env={
            "REDIS_USERNAME": "app", "REDIS_PASSWORD": passwords["REDIS_APP_PASSWORD"],
            "REDIS_SENTINEL_USERNAME": "app",
            "REDIS_SENTINEL_PASSWORD": passwords["SENTINEL_APP_PASSWORD"]})
        wait_until(lambda: server.get("/").status == 200, 10 * SLOW, what="a first ping")
        wait_until(lambda: json.loads(server.get("/api/status").text)["redis"]["read_replica"],
                   15 * SLOW, what="a replica for reads")
        old = cluster.master_port()
        shown = []
        cluster.nodes[old].pause()
        try:
            new = cluster.wait_failover(old)
        finally:
            cluster.nodes[old].resume()

        def ping():
            answer = server.get("/")
            if answer.status == 200:
                shown.append(int(answer.text))
            return answer.status == 200
        wait_until(ping, 20 * SLOW, what="a 200 from the new master")
        cluster.wait_replica(old)  # demoted by the Sentinels (as `sentinel`), synced as `replication`
        self.assertGreaterEqual(int(cluster.nodes[new].call("GET", "count")), max(shown))

        # a Lua busy loop sent with the app's credentials stalls the master only until the
        # Sentinels (as `sentinel`, allowed SCRIPT KILL) end it
        app_password = passwords["REDIS_APP_PASSWORD"]
        cluster.nodes[new].call("CONFIG", "SET", "busy-reply-threshold", "200")
        outcome = {}

        def stall():
            outcome["reply"] = ask(new, "app", app_password, "EVAL", "while true do end", "0")
        started = time.monotonic()
        thread = threading.Thread(target=stall, daemon=True)
        thread.start()
        thread.join(15 * SLOW)
        stalled_s = time.monotonic() - started
        self.assertFalse(thread.is_alive(), "the busy script was never killed")
        self.assertIn("Script killed by user with SCRIPT KILL", outcome["reply"])
        wait_until(lambda: server.get("/").status == 200, 10 * SLOW, what="200s after the stall")

        # nothing any service sent was refused, on any node or Sentinel
        for port, node in cluster.nodes.items():
            self.assertEqual(node.call("ACL", "LOG"), [], f"data node {port}")
        for port in cluster.sentinel_ports:
            self.assertEqual(cluster.sentinel_call(port, "ACL", "LOG"), [], f"Sentinel {port}")
        self.assertNotIn("NOPERM", server.process.stderr())
        print(f"\n    failover {old} -> {new} with ACL users only; a busy script sent as the app "
              f"was killed by Sentinel after {stalled_s:.1f} s", flush=True)


class EntrypointAclTest(ServerTestCase):
    def test_the_acl_file_holds_hashes_only_and_names_what_is_missing(self):
        passwords = new_passwords()
        result = render(DATA_TEMPLATE, passwords)
        self.assertEqual(result.returncode, 0, result.stderr)
        text = result.stdout
        for variable in DATA_USERS.values():
            self.assertNotIn(passwords[variable], text)
            self.assertIn("#" + hashlib.sha256(passwords[variable].encode()).hexdigest(), text)
        self.assertNotIn("${", text)
        self.assertTrue(all(line.startswith("user ") for line in text.splitlines()), text)
        self.assertIn("user default off", text)
        # a password from a file (VAR_FILE), as Docker secrets give it
        with tempfile.NamedTemporaryFile("w", delete=False) as f:
            f.write("from a file\nsecond line\n")
        self.addCleanup(os.unlink, f.name)
        from_file = dict(passwords, REDIS_APP_PASSWORD_FILE=f.name)
        del from_file["REDIS_APP_PASSWORD"]
        result = render(DATA_TEMPLATE, from_file)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("#" + hashlib.sha256(b"from a file").hexdigest(), result.stdout)
        both = dict(passwords, REDIS_APP_PASSWORD_FILE=f.name)
        missing = {k: v for k, v in passwords.items() if k != "REDIS_REPLICATION_PASSWORD"}
        for env, message in ((both, "REDIS_APP_PASSWORD and REDIS_APP_PASSWORD_FILE are both set"),
                             (missing, "REDIS_REPLICATION_PASSWORD (or REDIS_REPLICATION_PASSWORD"
                                       "_FILE) is not set")):
            result = render(DATA_TEMPLATE, env)
            self.assertEqual(result.returncode, 2)
            self.assertIn(message, result.stderr)
            self.assertEqual(result.stdout, "")  # nothing half-written
