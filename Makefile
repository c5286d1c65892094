# redisapp: build, test, bench. `make help` lists the targets.
# Project flags go in APP_CFLAGS/APP_LDFLAGS and come first; the user's CFLAGS/LDFLAGS are kept.

CC         ?= cc
PKG_CONFIG ?= pkg-config
PKGS       := libmicrohttpd hiredis libcjson
PREFIX     ?= /usr/local
PYTHON     := /usr/bin/python3

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wwrite-strings -Wformat=2 -Wvla -Wpointer-arith -fno-common -Werror

# Each flag set builds into its own folder: build/release (the default), build/asan.
ifdef SANITIZE
VARIANT     := asan
OPT         := -O1 -fno-omit-frame-pointer -fsanitize=$(SANITIZE) -fno-sanitize-recover=all
SAN_LDFLAGS := -fsanitize=$(SANITIZE)
else
VARIANT     := release
OPT         := -O2
SAN_LDFLAGS :=
endif

BUILD      := build/$(VARIANT)
APP_CFLAGS  = -std=c11 -D_POSIX_C_SOURCE=200809L -g $(OPT) $(WARN) -MMD -MP \
              $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
APP_LDFLAGS = $(SAN_LDFLAGS) -pthread
APP_LIBS    = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

SOURCES      := $(sort $(wildcard app/*.c))
OBJECTS      := $(SOURCES:app/%.c=$(BUILD)/app/%.o)
LIB_OBJECTS  := $(filter-out $(BUILD)/app/main.o,$(OBJECTS))
UNIT_SOURCES := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS    := $(UNIT_SOURCES:tests/unit/%.c=$(BUILD)/tests/%)
BINARY       := $(BUILD)/redisapp

ifeq ($(V),1)
Q :=
else
Q := @
endif

.PHONY: all deps deps-run deps-bench libs-check test unit integration check check-compose-file \
        include-check asan-check fuzz fuzz-merge bench run format format-check monitoring-rules \
        install clean help up down test-compose test-browser test-fresh swarm-up swarm-down \
        test-swarm stack-check

all: build/redisapp

# The release binary is also at build/redisapp, the path the README names.
build/redisapp: build/release/redisapp
	$(Q)cp $< $@.tmp && mv -f $@.tmp $@ # a rename, so a running copy never blocks the update

$(BINARY): $(OBJECTS)
	@echo "  LINK  $@"
	$(Q)$(CC) $(APP_LDFLAGS) $(LDFLAGS) -o $@ $^ $(APP_LIBS)

$(BUILD)/app/%.o: app/%.c | libs-check
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(APP_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJECTS) tests/unit/check.h
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(APP_CFLAGS) -Iapp $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB_OBJECTS) \
	    $(APP_LDFLAGS) $(LDFLAGS) $(APP_LIBS)

ifneq ($(VARIANT),release)
build/release/redisapp:
	$(Q)$(MAKE) --no-print-directory SANITIZE= build/release/redisapp
endif

# --- dependencies -------------------------------------------------------------------------
# tests/deps.sh installs what is missing: `run` for building and make run, `test` for every
# test (make deps), `bench` for the benchmark's nginx and wrk.
deps:
	$(Q)sh tests/deps.sh test

deps-run:
	$(Q)sh tests/deps.sh run

deps-bench:
	$(Q)sh tests/deps.sh bench

# Before anything is compiled: the compiler and the libraries' development files are there, or
# make stops naming each one that is missing (instead of a compiler error about a header).
LIB_PACKAGES := libmicrohttpd:libmicrohttpd-dev hiredis:libhiredis-dev libcjson:libcjson-dev
libs-check:
	$(Q)missing=""; \
	command -v $(CC) >/dev/null 2>&1 || missing="$$missing $(CC) (Debian: gcc)"; \
	if ! command -v $(PKG_CONFIG) >/dev/null 2>&1; then \
	    missing="$$missing $(PKG_CONFIG) (Debian: pkg-config)"; \
	    for p in $(LIB_PACKAGES); do missing="$$missing $${p%%:*} (Debian: $${p#*:})"; done; \
	else \
	    for p in $(LIB_PACKAGES); do $(PKG_CONFIG) --exists $${p%%:*} || \
	        missing="$$missing $${p%%:*} (Debian: $${p#*:})"; done; \
	fi; \
	if [ -n "$$missing" ]; then \
	    echo "make: cannot build redisapp: missing$$missing" | sed 's/) /), /g' >&2; \
	    echo "make: run \`make deps\` (or \`make run\`), which installs them on Debian 12" >&2; \
	    exit 1; \
	fi

# --- tests --------------------------------------------------------------------------------
unit: $(UNIT_BINS)
	$(Q)for t in $(UNIT_BINS); do echo "  UNIT  $$t"; $$t || exit 1; done

integration: $(BINARY)
	$(Q)REDISAPP_BIN=$(CURDIR)/$(BINARY) $(PYTHON) -m unittest discover -s tests/integration \
	    -p 'test_*.py' $(if $(TESTS),-k $(TESTS),)

check: include-check unit integration check-compose-file monitoring-rules stack-check

# The module graph of app/, from its #include lines (tests/check_includes.py): fails on a circle,
# on <microhttpd.h> outside http.c, on hiredis outside the Redis layer, and on a call into a module
# whose header the caller does not see (read from the objects' symbols); prints the layers.
include-check: $(OBJECTS)
	$(Q)$(PYTHON) tests/check_includes.py app --objects $(BUILD)/app

# compose.yaml against the compose-spec schema docker-compose 1.29 ships, and `config -q` of
# compose 1.29 and v2 (when its plugin is under build/): no engine needed
check-compose-file:
	$(Q)$(PYTHON) tests/compose/check_compose_file.py

# The monitoring profile's Prometheus config and alert rules: promtool's checks and the rules'
# unit tests (docker/monitoring/alerts.test.yml).
monitoring-rules:
	$(Q)cd docker/monitoring && promtool check config --syntax-only prometheus.yml >/dev/null \
	    && promtool check rules alerts.yml >/dev/null && promtool test rules alerts.test.yml

# compose.yaml and the Swarm stack derived from it stay in step (no engine needed)
stack-check:
	$(Q)$(PYTHON) -m unittest discover -s tests/swarm -p 'test_stack.py'

asan-check:
	$(Q)$(MAKE) --no-print-directory SANITIZE=address,undefined check

# Coverage-guided fuzzing (clang's libFuzzer, with ASan+UBSan) of the parsers of untrusted input:
# what clients send, and what Redis and Sentinel send back (RESP through hiredis's reader into
# redis_info.c and the acknowledgement rule).
# A target is tests/fuzz/fuzz_NAME.c plus the app sources on its line below: adding one is that
# file and one line. Seeds are in tests/fuzz/corpus/NAME/; inputs found go to
# build/fuzz/corpus_NAME/ (`make fuzz-merge` adds the new ones to the seeds). FUZZ_SECONDS per
# target; a crash, a leak or a failed invariant fails the run and leaves build/fuzz/NAME-crash-*.
FUZZ_SECONDS ?= 10
FUZZ_CC      ?= clang
build/fuzz/fuzz_urlpath:       app/urlpath.c
build/fuzz/fuzz_text:          app/escape.c
build/fuzz/fuzz_http_framing:  app/http_framing.c
build/fuzz/fuzz_http_headers:  app/http_headers.c
build/fuzz/fuzz_message_input: app/message_input.c app/escape.c app/urlpath.c
build/fuzz/fuzz_redis_reply:   app/redis_info.c app/ack_rule.c
build/fuzz/fuzz_redis_reply:   FUZZ_LIBS := -lhiredis
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_BINS    := $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)

$(FUZZ_BINS): $(wildcard app/*.h)
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c
	@mkdir -p $(dir $@)
	@echo "  CC    $@"
	$(Q)$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Iapp \
	    $(filter %.c,$^) $(FUZZ_LIBS) -o $@

fuzz: $(FUZZ_BINS)
	$(Q)for t in $(FUZZ_TARGETS); do \
	    echo "  FUZZ  $$t ($(FUZZ_SECONDS) s)"; \
	    mkdir -p build/fuzz/corpus_$$t; \
	    build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 \
	        -artifact_prefix=build/fuzz/$$t- build/fuzz/corpus_$$t tests/fuzz/corpus/$$t \
	        >build/fuzz/fuzz_$$t.log 2>&1 || { tail -40 build/fuzz/fuzz_$$t.log; exit 1; }; \
	done

fuzz-merge: $(FUZZ_BINS)
	$(Q)for t in $(FUZZ_TARGETS); do \
	    echo "  MERGE $$t"; \
	    build/fuzz/fuzz_$$t -merge=1 tests/fuzz/corpus/$$t build/fuzz/corpus_$$t \
	        >build/fuzz/merge_$$t.log 2>&1 || { tail -20 build/fuzz/merge_$$t.log; exit 1; }; \
	done

# The README's test command: installs what is missing, then runs every test: unit and
# integration tests optimised and under AddressSanitizer + UndefinedBehaviorSanitizer, a short
# fuzzing run of every target, the page in headless chromium, the Docker stack in a real engine,
# and the stack on a three-node Swarm. OUTER_ONLY_TESTS (test-swarm) run after the others, but not
# where FRESH_CONTAINER=1 (inside the container of make test-fresh), where their Docker engines
# would be nested two deep.
# TEST_SIDE_BY_SIDE run at the same time, each one's output printed whole when it ends: the
# integration suites wait on their servers far more than they compute (the load stays near 2 on
# 2 cores), so this saves their time, and every run proves them on a busy machine.
TEST_FUZZ_SECONDS ?= 4
TEST_SIDE_BY_SIDE := check asan-check
MAKE_TEST_TARGETS := fuzz test-browser test-compose
OUTER_ONLY_TESTS  := test-swarm
test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory -j2 --output-sync=target $(TEST_SIDE_BY_SIDE)
	$(Q)for t in $(MAKE_TEST_TARGETS) $(OUTER_ONLY_TESTS); do \
	    case " $(OUTER_ONLY_TESTS) " in *" $$t "*) if [ "$(FRESH_CONTAINER)" = 1 ]; then \
	        echo "  SKIP  make $$t: runs on the outer machine only (FRESH_CONTAINER=1)"; \
	        continue; fi;; esac; \
	    $(MAKE) --no-print-directory $$t FUZZ_SECONDS=$(TEST_FUZZ_SECONDS) || exit 1; \
	done
	@echo "  all tests passed"

# A new Debian 12 container (tests/fresh/): installs git and make only, clones HEAD, proves
# the README's `make run` and `make test` there. Not part of make test; CI runs it after it.
test-fresh:
	$(Q)sh tests/deps.sh packages python3 git
	$(Q)$(PYTHON) tests/fresh/test_fresh.py

# --- running and measuring ----------------------------------------------------------------
run: deps-run build/redisapp
	$(Q)ARGS="$(ARGS)" sh tests/run-local.sh

bench: deps-bench build/redisapp
	$(Q)$(PYTHON) bench/bench.py $(BENCH_ARGS)

# --- housekeeping -------------------------------------------------------------------------
format:
	$(Q)clang-format -i app/*.c app/*.h tests/unit/*.c tests/unit/*.h tests/fuzz/*.c

format-check:
	$(Q)clang-format --dry-run --Werror app/*.c app/*.h tests/unit/*.c tests/unit/*.h tests/fuzz/*.c

install: build/redisapp
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/redisapp/static
	install -m 755 build/redisapp $(DESTDIR)$(PREFIX)/bin/redisapp
	cp -R static/. $(DESTDIR)$(PREFIX)/share/redisapp/static/

clean:
	rm -rf build

help:
	@echo "make            build build/redisapp"
	@echo "make deps       install missing build and test packages (Debian)"
	@echo "make test       deps, then every test: check, asan-check, fuzz, test-browser, test-compose,"
	@echo "                test-swarm (not with FRESH_CONTAINER=1)"
	@echo "make test-fresh make run and make test in a new Debian 12 container (not in make test)"
	@echo "make unit       C unit tests"
	@echo "make integration  tests against real redis-server/haproxy (TESTS=pattern)"
	@echo "make check      include-check + unit + integration + check-compose-file (compose.yaml,"
	@echo "                no engine) + monitoring-rules"
	@echo "make asan-check unit + integration built with SANITIZE=address,undefined"
	@echo "make include-check  the module graph of app/ (#include lines): no circle, layers"
	@echo "make fuzz       libFuzzer runs on every parser of client input (FUZZ_SECONDS=10 each)"
	@echo "make fuzz-merge add the inputs make fuzz found to tests/fuzz/corpus/"
	@echo "make run        install what running needs, start a local redis-server if none"
	@echo "                answers, then the server"
	@echo "make bench      wrk benchmark beside nginx and redis-benchmark"
	@echo "make format     clang-format the C sources"
	@echo "make install    PREFIX=$(PREFIX) DESTDIR="
	@echo "make up         the Docker stack in the foreground (compose.yaml; starts dockerd if needed;"
	@echo "                compose v2 from build/, fetched once, else docker-compose 1.29;"
	@echo "                COMPOSE_PROFILES=monitoring adds Prometheus)"
	@echo "make down       remove the Docker stack and its volumes; stop the dockerd make up started"
	@echo "make test-compose  the Docker stack tested in a real engine under compose v2 and 1.29"
	@echo "make test-browser  the page (static/) in headless chromium (tests/browser/)"
	@echo "make swarm-up   the stack on a local three-node Docker Swarm (URLs: build/swarm/url)"
	@echo "make swarm-down remove the Swarm nodes, their network and folders"
	@echo "make test-swarm the stack on the three-node Swarm, losing a node twice (tests/swarm/)"

# --- the Docker stack (compose.yaml) -------------------------------------------------------
# docker/engine.sh readies the engine exactly as the compose test does: Debian's docker.io,
# docker-compose and debootstrap when missing, a dockerd when none answers (its PID goes to
# build/docker/dockerd.pid, and `make down` stops it again), debian:bookworm-slim built with
# debootstrap when absent. COMPOSE picks the compose command; by default compose v2: Debian
# trixie's plugin, which docker/compose-v2.sh keeps under build/docker-config (fetched once with
# an apt state of its own, about 15 s; never installed system-wide) and only these commands see
# (DOCKER_CONFIG); docker-compose 1.29 when v2 cannot be had.
DOCKERD_PIDFILE := $(CURDIR)/build/docker/dockerd.pid
COMPOSE_CMD      = $${COMPOSE:-$$(config=$$(sh docker/compose-v2.sh ensure) \
                   && echo "env DOCKER_CONFIG=$$config /usr/bin/docker compose" \
                   || echo docker-compose)}

up:
	$(Q)sh docker/engine.sh ensure $(DOCKERD_PIDFILE)
	$(Q)compose="$(COMPOSE_CMD)" && echo "make up: $$compose up --build" && $$compose up --build

# Removes the stack with its volumes (the counter too), the dangling build images, and the
# dockerd that `make up` started, if any. Compose (1.29 and v2 alike) keeps the anonymous
# volumes of containers it recreated (they are mounted by name then), so they are collected
# first and removed after.
down:
	$(Q)if /usr/bin/docker version >/dev/null 2>&1; then \
	    compose="$(COMPOSE_CMD)" && \
	    volumes=$$($$compose --profile monitoring ps -a -q | xargs -r /usr/bin/docker inspect -f \
	        '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}') && \
	    $$compose --profile monitoring down -v --remove-orphans && \
	    for v in $$volumes; do /usr/bin/docker volume rm $$v >/dev/null 2>&1 || true; done && \
	    /usr/bin/docker image prune -f --filter label=org.redisapp.component >/dev/null; \
	fi
	$(Q)sh docker/engine.sh stop $(DOCKERD_PIDFILE)

# the whole compose test under compose v2, then under docker-compose 1.29 (COMPOSE_VERSIONS=v1
# for one of them)
test-compose:
	$(Q)$(PYTHON) tests/compose/test_compose.py

# --- the stack on a three-node Docker Swarm (docker/swarm/) ----------------------------------
# Three node containers, each its own dockerd, all managers, on their own network; the images
# loaded into every node; the stack derived from compose.yaml by docker/swarm/stack.py.
# SWARM_NAME [redisapp-swarm] names the nodes and their network, SWARM_SUBNET [10.231.0.0/24].
swarm-up:
	$(Q)$(PYTHON) docker/swarm/swarm.py up

swarm-down:
	$(Q)$(PYTHON) docker/swarm/swarm.py down

test-swarm: stack-check
	$(Q)$(PYTHON) tests/swarm/test_swarm.py

# --- the page's browser test (tests/browser/) ----------------------------------------------
# Debian's chromium, driven through Debian's chromedriver by Debian's python3-selenium, against
# build/redisapp, its own redis-server and HAProxy. Screenshots and logs: tests/artifacts/browser/.
test-browser: build/redisapp
	$(Q)REDISAPP_BIN=$(CURDIR)/build/redisapp $(PYTHON) -m unittest discover -v -s tests/browser \
	    -p 'test_*.py'

-include $(OBJECTS:.o=.d)
