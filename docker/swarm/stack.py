#!/usr/bin/python3
"""Derives the Swarm stack file from compose.yaml, so one file describes the stack.

    docker/swarm/stack.py [--compose compose.yaml] [--nodes 3] [--profile P]... [-o FILE]

Everything in compose.yaml is carried through unchanged (services, images, commands,
environment, secrets, configs, healthchecks, logging, grace periods, capabilities, top-level
volumes ...), with the `${VAR:-default}` references left for `docker stack deploy` to fill in
from its environment, as compose does. These are the only changes, each for a reason:

  version: "3.9"          the 20.10 client's `stack deploy` refuses a file without it
  x-* keys, anchors       expanded by the YAML load: the stack file holds the resolved values
  profiles                a service with a profile is left out unless --profile names it
                          (compose's rule); the key itself goes
  build                   Swarm does not build: the images are built on the host and loaded
                          into every node (docker/swarm/swarm.py)
  depends_on              Swarm has no start order (and the clients reject the long form
                          with conditions); every service already copes with starting first
  restart                 becomes deploy.restart_policy (unless-stopped/always: any,
                          on-failure: on-failure, no: none)
  security_opt            Swarm services have no such setting (20.10); dropped
  deploy.endpoint_mode    dnsrr on every service: a name resolves to its tasks' addresses.
                          The default, a virtual IP, needs IPVS, which the local nodes'
                          kernel lacks; Sentinel also must see one address per node
  ports                   long form with mode: host (the routing mesh needs IPVS too); Swarm
                          cannot bind a host address, so a port published on a literal
                          loopback address (the stats port) is not published, and any other
                          is published on every address of the nodes its tasks run on
  publishing services     deploy.mode: global, one task per node, so every node's address
                          serves (a host-mode port exists only where a task runs)
  stateful services       (a service with a volume) get one task per node slot: a service
                          of N replicas becomes N services NAME-1..NAME-N, each with
                          replicas: 1, hostname = its own service name (the name it
                          announces, which resolves to it) and the network alias NAME (so
                          NAME still resolves to all of them); each is pinned with
                          node.labels.redisapp.slot == K, slots given round-robin in file
                          order. A pinned task waits for its node: its data is there
  volumes                 an anonymous volume becomes the named volume SERVICE-data (or
                          SERVICE-<path>), which Swarm keeps on the node across tasks; a
                          read-only bind mount of a file becomes a Swarm config (the nodes
                          do not have the host's files); any other bind mount is an error
  relative paths          of env_file, and of the files of secrets and configs, are made
                          absolute: the stack file is written elsewhere (build/swarm/)
  environment overrides   SWARM_ENVIRONMENT below: HAProxy finds the app tasks through
                          tasks.app (every task, whatever the app's endpoint mode)
  healthcheck tests       SWARM_HEALTHCHECK below. Swarm replaces a task whose check fails,
                          where compose only reports it, so on Swarm a check must say "alive",
                          not "ready": the app's /readyz and a replica's "link to the master
                          is up" are false for every app and replica while the master is
                          being replaced, and Swarm would restart them all in the middle of
                          the failover. /healthz and `redis-health alive` (the server
                          answers) instead, with a timeout of LIVENESS_TIMEOUT: a machine
                          that is only slow must not get its Redis master restarted (seen
                          here: probes took over 3 s to start on a loaded machine, and Swarm
                          replaced every task of a node). `docker/swarm/swarm.py up` still
                          waits for the compose checks (readiness) before it reports.
                          Every LIVENESS_INTERVAL rather than compose's 2 s: each probe is a
                          `docker exec`, and on the local nodes (engines in containers) the
                          probes of 11 tasks every 2 s took 0.55 of this machine's 2 cores
                          (every 5 s: 0.2), enough to stall Redis, the app and HAProxy for
                          seconds while others' tests ran. Swarm puts a task in DNS only once
                          its first probe passed, so a longer interval delays new tasks

Printed on stdout, or written to FILE. `tests/swarm/test_stack.py` checks that nothing else
changes; `make test-swarm` deploys the result.
"""
import argparse
import copy
import os
import re
import sys

import yaml

SLOT_LABEL = "redisapp.slot"
STACK_VERSION = "3.9"
# service -> environment values that differ on Swarm (see the head comment)
SWARM_ENVIRONMENT = {"haproxy": {"APP_HOST": "tasks.app"}}
# healthcheck test in compose.yaml -> the liveness test used on Swarm (see the head comment)
SWARM_HEALTHCHECK = {
    ("CMD", "/usr/local/bin/http-probe", "/readyz"): ["CMD", "/usr/local/bin/http-probe",
                                                      "/healthz"],
    ("CMD", "/usr/local/bin/redis-health"): ["CMD", "/usr/local/bin/redis-health", "alive"],
}
# a liveness check answers at once or the process is hung: this long is only a slow machine
LIVENESS_TIMEOUT = "10s"
# how often it runs (see the head comment)
LIVENESS_INTERVAL = "5s"
RESTART_POLICY = {"no": "none", "always": "any", "unless-stopped": "any",
                  "on-failure": "on-failure"}
# service keys that are carried through but may be changed by the rules above
CHANGED_KEYS = {"build", "depends_on", "restart", "security_opt", "profiles", "ports",
                "volumes", "deploy", "hostname", "networks", "environment", "configs",
                "env_file", "healthcheck"}


class DeriveError(Exception):
    """compose.yaml holds something this script has no Swarm translation for."""


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def split_unquoted(text, sep=":"):
    """Splits on sep outside ${...}: "${BIND:-127.0.0.1}:${PORT:-80}:80" has three parts."""
    parts, depth, current = [], 0, ""
    i = 0
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            current += "${"
            i += 2
            continue
        ch = text[i]
        if ch == "}" and depth:
            depth -= 1
        if ch == sep and not depth:
            parts.append(current)
            current = ""
        else:
            current += ch
        i += 1
    parts.append(current)
    return parts


def interpolate(text, environ):
    """Fills in ${VAR}, ${VAR:-default}, ${VAR-default} and $VAR as compose and `docker stack
    deploy` do ($$ is a literal $). For the image names only: the stack file keeps its
    references, for `docker stack deploy` to fill in from its own environment."""
    def value(match):
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        op, default = match.group(2), match.group(3) or ""
        current = environ.get(name)
        if op == ":-" and not current:
            return default
        if op == "-" and current is None:
            return default
        return current or ""
    return re.sub(r"\$\$|\$\{([A-Za-z_]\w*)(?:(:?-)([^}]*))?\}|\$([A-Za-z_]\w*)", value, text)


def is_loopback(address):
    return address in ("localhost", "::1", "[::1]") or address.startswith("127.")


def swarm_ports(service_name, ports):
    """Compose ports (short or long form) -> Swarm's long form, mode host. Ports published on
    a literal loopback address are left out (see the head comment)."""
    result = []
    for port in ports:
        if isinstance(port, dict):
            entry = {k: v for k, v in port.items() if k != "host_ip"}
            if is_loopback(str(port.get("host_ip", ""))):
                continue
        else:
            text, protocol = str(port), None
            if "/" in text.rsplit(":", 1)[-1]:
                text, protocol = text.rsplit("/", 1)
            parts = split_unquoted(text)
            if len(parts) == 3:
                host, published, target = parts
                if is_loopback(host):
                    continue
            elif len(parts) == 2:
                published, target = parts
            else:
                raise DeriveError(f"service {service_name}: port {port!r} publishes no host "
                                  "port; Swarm would pick one at random")
            if "-" in target:
                raise DeriveError(f"service {service_name}: port range {port!r}")
            entry = {"target": int(target) if target.isdigit() else target,
                     "published": int(published) if published.isdigit() else published}
            if protocol:
                entry["protocol"] = protocol
        entry["mode"] = "host"
        result.append(entry)
    return result


def volume_name(service_name, path):
    tail = re.sub(r"[^A-Za-z0-9_.-]+", "-", path.strip("/")) or "root"
    return f"{service_name}-{tail}"


def swarm_volumes(service_name, volumes, compose_dir, top_volumes, top_configs):
    """Anonymous volumes -> named ones (added to top_volumes); read-only file bind mounts ->
    configs (added to top_configs, returned as the service's configs)."""
    mounts, configs = [], []
    for volume in volumes:
        if isinstance(volume, dict):
            kind, source, target = volume.get("type"), volume.get("source"), volume["target"]
            read_only = volume.get("read_only", False)
        else:
            parts = str(volume).split(":")
            if len(parts) == 1:
                kind, source, target, read_only = "volume", None, parts[0], False
            else:
                source, target = parts[0], parts[1]
                read_only = len(parts) > 2 and "ro" in parts[2].split(",")
                kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        if kind == "volume" and not source:
            name = volume_name(service_name, target)
            top_volumes.setdefault(name, None)
            mounts.append(f"{name}:{target}")
        elif kind == "volume":
            mounts.append(volume)
        elif kind == "bind" and read_only and os.path.isfile(os.path.join(compose_dir, source)):
            name = volume_name(service_name, target)
            top_configs[name] = {"file": absolute(compose_dir, source)}
            configs.append({"source": name, "target": target})
        else:
            raise DeriveError(f"service {service_name}: mount {volume!r}: Swarm nodes do not "
                              "have the host's files, and only read-only files can become "
                              "configs")
    return mounts, configs


def environment_dict(environment):
    if environment is None:
        return {}
    if isinstance(environment, dict):
        return dict(environment)
    result = {}
    for item in environment:
        key, _, value = str(item).partition("=")
        result[key] = value if "=" in str(item) else None
    return result


def derive(compose, compose_dir=".", nodes=3, profiles=()):
    """Returns (stack, placement): the stack file as a dict, and for every stateful service
    of the stack the slot (1..nodes) its task is pinned to."""
    unknown = [k for k in compose if k not in ("services", "volumes", "networks", "secrets",
                                                "configs", "version") and not k.startswith("x-")]
    if unknown:
        raise DeriveError(f"top-level keys with no Swarm translation: {unknown}")
    stack = {"version": STACK_VERSION, "services": {}}
    top_volumes = dict(compose.get("volumes") or {})
    top_configs = dict(compose.get("configs") or {})
    placement = {}
    next_slot = 0
    for name, source in (compose.get("services") or {}).items():
        service = copy.deepcopy(source)
        wanted = service.pop("profiles", None)
        if wanted and not set(wanted) & set(profiles):
            continue
        for key in ("build", "depends_on", "security_opt"):
            service.pop(key, None)
        if "env_file" in service:
            files = service["env_file"]
            service["env_file"] = [absolute(compose_dir, f) for f in
                                   ([files] if isinstance(files, str) else files)]
        deploy = service.setdefault("deploy", {})
        restart = service.pop("restart", None)
        if restart is not None and "restart_policy" not in deploy:
            condition = RESTART_POLICY.get(str(restart).split(":")[0])
            if condition is None:
                raise DeriveError(f"service {name}: restart {restart!r}")
            deploy["restart_policy"] = {"condition": condition}
        deploy["endpoint_mode"] = "dnsrr"
        test = (service.get("healthcheck") or {}).get("test")
        if isinstance(test, list) and tuple(test) in SWARM_HEALTHCHECK:
            service["healthcheck"]["test"] = list(SWARM_HEALTHCHECK[tuple(test)])
        if test and test != ["NONE"] and not service["healthcheck"].get("disable"):
            service["healthcheck"]["timeout"] = LIVENESS_TIMEOUT
            service["healthcheck"]["interval"] = LIVENESS_INTERVAL
        if "ports" in service:
            service["ports"] = swarm_ports(name, service["ports"])
            if not service["ports"]:
                del service["ports"]
        if "ports" in service:
            deploy["mode"] = "global"
            deploy.pop("replicas", None)
        if name in SWARM_ENVIRONMENT:
            environment = environment_dict(service.get("environment"))
            environment.update(SWARM_ENVIRONMENT[name])
            service["environment"] = environment
        stateful = bool(service.get("volumes"))
        if service.get("volumes"):
            mounts, configs = swarm_volumes(name, service["volumes"], compose_dir,
                                            top_volumes, top_configs)
            service["volumes"] = mounts
            if configs:
                service["configs"] = (service.get("configs") or []) + configs
                stateful = bool(mounts)
            if not mounts:
                del service["volumes"]
        if not stateful:
            stack["services"][name] = service
            continue
        if deploy.get("mode") == "global":
            raise DeriveError(f"service {name} holds data and publishes ports: it cannot be "
                              "both pinned and global")
        count = int(deploy.get("replicas", 1))
        for index in range(1, count + 1):
            instance_name = name if count == 1 else f"{name}-{index}"
            instance = copy.deepcopy(service)
            instance_deploy = instance["deploy"]
            instance_deploy["replicas"] = 1
            slot = next_slot % nodes + 1
            next_slot += 1
            constraints = list(instance_deploy.get("placement", {}).get("constraints", []))
            constraints.append(f"node.labels.{SLOT_LABEL} == {slot}")
            instance_deploy.setdefault("placement", {})["constraints"] = constraints
            instance.setdefault("hostname", instance_name)
            if count > 1:
                instance["volumes"] = [rename_volume(v, name, instance_name, top_volumes)
                                       for v in instance.get("volumes", [])]
                instance["networks"] = with_alias(instance.get("networks"), name)
            placement[instance_name] = slot
            stack["services"][instance_name] = instance
    # named volumes of the split services were renamed per instance: drop the unused ones
    used = {str(v).split(":")[0] for s in stack["services"].values()
            for v in s.get("volumes", []) if not isinstance(v, dict)}
    used |= {v.get("source") for s in stack["services"].values()
             for v in s.get("volumes", []) if isinstance(v, dict)}
    top_volumes = {k: v for k, v in top_volumes.items() if k in used}
    if top_volumes:
        stack["volumes"] = top_volumes
    if compose.get("networks"):
        stack["networks"] = copy.deepcopy(compose["networks"])
    for key, entries in (("secrets", dict(compose.get("secrets") or {})),
                         ("configs", top_configs)):
        if entries:
            stack[key] = {name: with_absolute_file(compose_dir, entry)
                          for name, entry in entries.items()}
    return stack, placement


def absolute(compose_dir, path):
    return os.path.normpath(os.path.join(compose_dir, path))


def with_absolute_file(compose_dir, entry):
    entry = copy.deepcopy(entry)
    if isinstance(entry, dict) and "file" in entry:
        entry["file"] = absolute(compose_dir, entry["file"])
    return entry


def origin(stack_service, compose):
    """The compose service a stack service was derived from (NAME for NAME-2)."""
    services = compose.get("services") or {}
    return stack_service if stack_service in services else stack_service.rsplit("-", 1)[0]


def rename_volume(volume, service_name, instance_name, top_volumes):
    """A split service's instances each get their own copy of its named volumes."""
    if isinstance(volume, dict):
        return volume
    source, _, rest = str(volume).partition(":")
    prefix = f"{service_name}-"
    if source.startswith(prefix) or source in top_volumes:
        new = instance_name + "-" + (source[len(prefix):] if source.startswith(prefix)
                                     else source)
        top_volumes.setdefault(new, copy.deepcopy(top_volumes.get(source)))
        return f"{new}:{rest}"
    return volume


def with_alias(networks, alias):
    """The service's networks (default: the stack's default network), each with `alias`."""
    if networks is None:
        networks = {"default": {}}
    elif isinstance(networks, list):
        networks = {n: {} for n in networks}
    result = {}
    for network, settings in networks.items():
        settings = dict(settings or {})
        settings["aliases"] = list(settings.get("aliases", [])) + [alias]
        result[network] = settings
    return result


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def dump(stack):
    header = ("# Generated by docker/swarm/stack.py from compose.yaml: do not edit (make "
              "swarm-up writes it again).\n")
    return header + yaml.dump(stack, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                              width=100)


def main(argv=None):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--compose", default=os.path.join(root, "compose.yaml"))
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--profile", action="append", default=[])
    parser.add_argument("-o", "--output")
    args = parser.parse_args(argv)
    try:
        stack, _ = derive(load(args.compose), os.path.dirname(os.path.abspath(args.compose)),
                          args.nodes, args.profile)
    except DeriveError as err:
        print(f"stack.py: {err}", file=sys.stderr)
        return 1
    text = dump(stack)
    if args.output:
        with open(args.output + ".tmp", "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(args.output + ".tmp", args.output)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
