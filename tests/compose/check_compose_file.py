#!/usr/bin/python3
"""compose.yaml checked without an engine: against the compose-spec JSON schema that
docker-compose 1.29 ships (Debian's python3-jsonschema, draft 2019-09), then by both compose
implementations' own loaders: `docker-compose config -q` (1.29) and `docker compose config -q`
(v2, with the plugin docker/compose-v2.sh puts under build/; skipped with a note when it is
not there, unless --require-v2). Part of `make check`; the compose test runs it too.

Exit 0 when every check that ran passed; the reasons otherwise."""
import json
import os
import subprocess
import sys

import jsonschema
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMPOSE_FILE = os.path.join(ROOT, "compose.yaml")
SCHEMA = "/usr/lib/python3/dist-packages/compose/config/compose_spec.json"
DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker"
V2_CONFIG = os.path.join(ROOT, "build", "docker-config")


def schema_errors():
    with open(SCHEMA) as f:
        schema = json.load(f)
    with open(COMPOSE_FILE) as f:
        document = yaml.safe_load(f)  # merge keys (<<) resolved as compose does
    # the schema says draft 2019-09 (its $schema URI carries a `#` jsonschema does not map)
    jsonschema.Draft201909Validator.check_schema(schema)
    validator = jsonschema.Draft201909Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
            for e in sorted(validator.iter_errors(document), key=str)]


def config_check(argv, env=None):
    """Runs a `config -q` with no variable set beyond the defaults; returns its complaint."""
    run_env = {k: v for k, v in os.environ.items()
               if not k.startswith(("COMPOSE_", "REDIS", "SENTINEL", "HTTP_", "STATS_"))}
    run_env.update(env or {})
    result = subprocess.run(argv + ["-f", COMPOSE_FILE, "config", "-q"], cwd=ROOT, env=run_env,
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        return f"{' '.join(argv)} config -q exited {result.returncode}: " \
               f"{(result.stderr or result.stdout).strip()}"
    return None


def main():
    require_v2 = "--require-v2" in sys.argv[1:]
    failures = []
    if not os.path.exists(SCHEMA):
        failures.append(f"no compose-spec schema at {SCHEMA} (Debian's docker-compose package)")
    else:
        errors = schema_errors()
        failures += [f"schema: {e}" for e in errors]
        print(f"compose.yaml against docker-compose 1.29's compose_spec.json: "
              f"{len(errors)} errors")
    if subprocess.run(["sh", "-c", "command -v docker-compose"], capture_output=True).returncode:
        failures.append("docker-compose (1.29) is not installed")
    else:
        problem = config_check(["docker-compose"])
        print(f"docker-compose config -q: {problem or 'ok'}")
        if problem:
            failures.append(problem)
    plugin = os.path.join(V2_CONFIG, "cli-plugins", "docker-compose")
    if os.access(plugin, os.X_OK):
        problem = config_check([DOCKER, "compose"], {"DOCKER_CONFIG": V2_CONFIG})
        print(f"docker compose (v2) config -q: {problem or 'ok'}")
        if problem:
            failures.append(problem)
    elif require_v2:
        failures.append(f"no compose v2 plugin at {plugin} (docker/compose-v2.sh ensure)")
    else:
        print("docker compose (v2) config -q: skipped, no plugin under build/ "
              "(docker/compose-v2.sh ensure fetches it; make test-compose does)")
    for failure in failures:
        print(f"FAIL: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
