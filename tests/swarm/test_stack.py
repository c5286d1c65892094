#!/usr/bin/python3
"""compose.yaml and the Swarm stack derived from it (docker/swarm/stack.py) stay in step.

Derives the stack from the real compose.yaml and checks that every service compose would start
is there, that every setting is carried through unchanged except the changes stack.py
declares, and that the Swarm rules hold (dnsrr, host-mode ports, one pinned task per stateful
instance, the Redis nodes and the Sentinels on distinct nodes). Then feeds it compose files
with what compose.yaml may grow (a profile, secrets, a new setting, a config file) and one it
cannot translate. Runs in `make check`; `make test-swarm` deploys the real result.
"""
import copy
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "docker", "swarm"))
import stack  # noqa: E402

NODES = 3


def derive(compose, profiles=()):
    return stack.derive(compose, ROOT, NODES, profiles)


def instances_of(name, source):
    """The derived services that stand for compose service `name`."""
    count = int((source.get("deploy") or {}).get("replicas", 1))
    if source.get("volumes") and count > 1:
        return [f"{name}-{i}" for i in range(1, count + 1)]
    return [name]


class RealComposeFile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.compose = stack.load(os.path.join(ROOT, "compose.yaml"))
        cls.stack, cls.placement = derive(cls.compose)
        cls.services = cls.stack["services"]

    def sources(self):
        """(compose name, compose service, derived name, derived service) for every service
        compose starts without a profile."""
        for name, source in self.compose["services"].items():
            if source.get("profiles"):
                continue
            for derived in instances_of(name, source):
                self.assertIn(derived, self.services, f"{name} has no {derived} in the stack")
                yield name, source, derived, self.services[derived]

    def test_every_service_and_nothing_else(self):
        expected = {d for _, _, d, _ in self.sources()}
        self.assertEqual(set(self.services), expected)

    def test_settings_carried_unchanged(self):
        for name, source, derived, service in self.sources():
            for key, value in source.items():
                if key in stack.CHANGED_KEYS:
                    continue
                self.assertEqual(service.get(key), value, f"{derived}: {key} changed")
            for key in service:
                self.assertTrue(key in source or key in stack.CHANGED_KEYS,
                                f"{derived}: {key} added but not declared in CHANGED_KEYS")
            environment = stack.environment_dict(source.get("environment"))
            environment.update(stack.SWARM_ENVIRONMENT.get(name, {}))
            self.assertEqual(stack.environment_dict(service.get("environment")), environment,
                             f"{derived}: environment")
            if "healthcheck" in source:
                check = dict(source["healthcheck"])
                test = tuple(check["test"])
                check["test"] = stack.SWARM_HEALTHCHECK.get(test, check["test"])
                check["timeout"] = stack.LIVENESS_TIMEOUT
                check["interval"] = stack.LIVENESS_INTERVAL
                self.assertEqual(service["healthcheck"], check, f"{derived}: healthcheck")
            deploy = dict(source.get("deploy") or {})
            for key, value in deploy.items():
                if key != "replicas":
                    self.assertEqual(service["deploy"].get(key), value, f"{derived}: deploy.{key}")

    def test_what_swarm_cannot_do_is_gone(self):
        for _, _, derived, service in self.sources():
            for key in ("build", "depends_on", "restart", "security_opt", "profiles"):
                self.assertNotIn(key, service, derived)

    def test_restart_becomes_restart_policy(self):
        for _, source, derived, service in self.sources():
            if source.get("restart") == "unless-stopped":
                self.assertEqual(service["deploy"]["restart_policy"], {"condition": "any"})

    def test_dnsrr_and_host_ports(self):
        for _, source, derived, service in self.sources():
            self.assertEqual(service["deploy"]["endpoint_mode"], "dnsrr", derived)
            for port in service.get("ports", []):
                self.assertEqual(port["mode"], "host", derived)
            if service.get("ports"):
                self.assertEqual(service["deploy"]["mode"], "global", derived)
                self.assertNotIn("replicas", service["deploy"])
        # HAProxy's app port is published (on every node); its loopback-only stats port not
        self.assertEqual([p["target"] for p in self.services["haproxy"]["ports"]], [8080])
        self.assertEqual(self.services["haproxy"]["ports"][0]["published"],
                         "${HTTP_PORT:-8080}")

    def test_stateful_instances_pinned_with_their_own_volume(self):
        declared = set(self.stack.get("volumes", {}))
        for name, source, derived, service in self.sources():
            for volume in service.get("volumes", []):
                source_name, _, target = str(volume).partition(":")
                self.assertTrue(target, f"{derived}: anonymous volume {volume}")
                self.assertIn(source_name, declared, f"{derived}: volume {source_name}")
            if not source.get("volumes"):
                self.assertNotIn("placement", service["deploy"], derived)
                continue
            self.assertEqual(service["deploy"]["replicas"], 1, derived)
            self.assertEqual(service["hostname"], derived)
            slot = self.placement[derived]
            self.assertIn(f"node.labels.{stack.SLOT_LABEL} == {slot}",
                          service["deploy"]["placement"]["constraints"])
            if derived != name:
                aliases = [a for n in service["networks"].values() for a in n["aliases"]]
                self.assertIn(name, aliases, f"{derived} does not answer to {name}")
        mounts = [v for s in self.services.values() for v in s.get("volumes", [])]
        self.assertEqual(len(mounts), len(set(mounts)), "two tasks share a volume")

    def test_redis_nodes_and_sentinels_one_per_node(self):
        def slots(*commands):
            return sorted(self.placement[n] for n, s in self.services.items()
                          if s.get("command") in [[c] for c in commands])
        self.assertEqual(slots("master", "replica"), [1, 2, 3],
                         "the Redis master and replicas share a node")
        self.assertEqual(slots("sentinel"), [1, 2, 3], "two Sentinels share a node")
        self.assertEqual(self.placement["redis-master"], 1)

    def test_swarm_checks_liveness_only(self):
        """Swarm restarts what fails its check: no readiness test may remain."""
        tests = {n: s["healthcheck"]["test"] for n, s in self.services.items()}
        for name, test in tests.items():
            self.assertNotIn("/readyz", test, name)
            if "/usr/local/bin/redis-health" in test:
                self.assertEqual(test[-1], "alive", name)

    def test_haproxy_finds_app_tasks(self):
        environment = stack.environment_dict(self.services["haproxy"]["environment"])
        self.assertEqual(environment["APP_HOST"], "tasks.app")

    def test_file_loads_in_a_stack_client(self):
        """The 28.x client validates a stack file offline (`docker stack config`); the 20.10
        client has no such command: `make test-swarm` deploys with it."""
        client = "/usr/local/bin/docker"
        if not os.path.exists(client):
            self.skipTest(f"{client} (a client with `docker stack config`) is not installed")
        probe = subprocess.run([client, "stack", "config", "--help"], capture_output=True,
                               text=True)
        if probe.returncode != 0:
            self.skipTest(f"{client} has no `docker stack config`")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "stack.yaml")
            with open(path, "w") as f:
                f.write(stack.dump(self.stack))
            env = dict(os.environ, DOCKER_HOST="unix:///nonexistent", REDISAPP_TAG="t")
            result = subprocess.run([client, "stack", "config", "-c", path], capture_output=True,
                                    text=True, env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("redisapp/app:t", result.stdout)


class WhatComposeMayGrow(unittest.TestCase):
    """compose.yaml is changed by others; the derivation must carry new things through."""

    def setUp(self):
        self.compose = stack.load(os.path.join(ROOT, "compose.yaml"))

    def test_profile_left_out_unless_asked(self):
        """The monitoring profile of compose.yaml: `docker stack deploy` (20.10) knows no
        profiles, so its services are left out, with the volume only they use."""
        profiled = {n for n, s in self.compose["services"].items() if s.get("profiles")}
        self.assertEqual(profiled, {"prometheus", "redis-exporter"})
        derived, _ = derive(self.compose)
        self.assertFalse(profiled & set(derived["services"]))
        self.assertNotIn("prometheus-data", derived.get("volumes", {}))
        self.compose["services"]["redis-exporter"]["environment"]["A"] = "1"
        derived, _ = derive(self.compose, ["monitoring"])
        self.assertLessEqual(profiled, set(derived["services"]))
        self.assertEqual(derived["services"]["redis-exporter"]["environment"]["A"], "1")
        for name in profiled:
            self.assertNotIn("profiles", derived["services"][name])

    def test_new_settings_and_secrets_carried_to_every_instance(self):
        for name in ("redis-replica", "sentinel", "app"):
            service = self.compose["services"][name]
            service["environment"] = dict(service["environment"], REDIS_USERNAME="replica-user")
            service["secrets"] = ["redis_password"]
            service["sysctls"] = {"net.core.somaxconn": 1024}
            service["env_file"] = "./compose.yaml"
        self.compose["secrets"] = {"redis_password": {"file": "./compose.yaml"}}
        derived, _ = derive(self.compose)
        # the stack file is written under build/swarm/: relative paths are made absolute
        self.assertEqual(derived["secrets"],
                         {"redis_password": {"file": os.path.join(ROOT, "compose.yaml")}})
        for name in ("redis-replica-1", "redis-replica-2", "sentinel-1", "sentinel-3", "app"):
            service = derived["services"][name]
            self.assertEqual(service["environment"]["REDIS_USERNAME"], "replica-user", name)
            self.assertEqual(service["secrets"], ["redis_password"], name)
            self.assertEqual(service["sysctls"], {"net.core.somaxconn": 1024}, name)
            self.assertEqual(service["env_file"], [os.path.join(ROOT, "compose.yaml")], name)

    def test_more_replicas_spread_round_robin(self):
        self.compose["services"]["redis-replica"]["deploy"]["replicas"] = 3
        _, placement = derive(self.compose)
        self.assertEqual([placement[f"redis-replica-{i}"] for i in (1, 2, 3)], [2, 3, 1])

    def test_read_only_file_mount_becomes_a_config(self):
        self.compose["services"]["app"]["volumes"] = [
            "./docker/redis/redis.conf:/etc/x.conf:ro"]
        derived, _ = derive(self.compose)
        app = derived["services"]["app"]
        self.assertEqual(app["configs"], [{"source": "app-etc-x.conf", "target": "/etc/x.conf"}])
        self.assertNotIn("volumes", app)
        self.assertNotIn("placement", app["deploy"], "a config alone is no state to pin")
        self.assertEqual(derived["configs"]["app-etc-x.conf"]["file"],
                         os.path.join(ROOT, "docker/redis/redis.conf"))

    def test_untranslatable_mount_is_an_error(self):
        self.compose["services"]["app"]["volumes"] = ["./static:/srv/static"]
        with self.assertRaisesRegex(stack.DeriveError, "app: mount"):
            derive(self.compose)

    def test_unknown_top_level_key_is_an_error(self):
        self.compose["name"] = "x"
        with self.assertRaisesRegex(stack.DeriveError, "top-level"):
            derive(self.compose)

    def test_derivation_leaves_its_input_alone(self):
        before = copy.deepcopy(self.compose)
        derive(self.compose)
        self.assertEqual(self.compose, before)


class Interpolation(unittest.TestCase):
    def test_like_compose(self):
        env = {"SET": "v", "EMPTY": ""}
        self.assertEqual(stack.interpolate("${SET:-d} ${EMPTY:-d} ${UNSET:-d}", env), "v d d")
        self.assertEqual(stack.interpolate("${EMPTY-d} ${UNSET-d} $SET $$SET", env), " d v $SET")

    def test_port_split_keeps_variables_whole(self):
        self.assertEqual(stack.split_unquoted("${B:-127.0.0.1}:${P:-8080}:8080"),
                         ["${B:-127.0.0.1}", "${P:-8080}", "8080"])


if __name__ == "__main__":
    unittest.main()
