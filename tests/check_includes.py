#!/usr/bin/python3
"""The module graph of app/, read from its #include lines, and the rules it must keep.

A module is a .c file with its .h (app/store.c + app/store.h is "store"; a header alone, such as
app/app.h, is a module too). app/X_internal.h is module X's private header: it belongs to X, and
so does every file that includes it with its header (store_api.c, store_api.h, store_counter.c
and store_counter.h are part of the store: they share the layout of struct store). Module A
depends on B when a file of A includes "B.h". The check fails when:
  - the dependencies make a circle (a module that, through its includes, includes itself);
  - a file other than app/http.c includes <microhttpd.h> (the HTTP library stays in http.c);
  - a file outside the Redis layer (redis_*, store*, sentinel*) includes <hiredis/...>.
  - with --objects DIR (the build's app/*.o): a .c file calls a function of another module whose
    header it does not see, directly or through other headers (the function is declared in the
    wrong header, or in none: a dependency the include graph would hide).
It prints the layers it found, bottom to top: layer 0 includes no other module, and each module
sits one layer above the highest module it includes, so every include points down. A circle is
printed as {a b c} on one line, and the shortest circle through each of its modules.

Usage: check_includes.py [APP_DIR] [--objects DIR] [--edges]   (--edges: each module's includes)
Standard library only; exit status 0 when every rule holds, 1 otherwise.
"""
import os
import re
import subprocess
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.MULTILINE)
HTTP_LIBRARY_FILES = {"http.c"}
REDIS_LAYER = re.compile(r"^(redis_|store|sentinel)")


MEMBERS = {}  # file stem -> the module whose private header it includes (read_graph fills it)


def module_of(filename):
    stem = os.path.splitext(os.path.basename(filename))[0]
    if stem.endswith("_internal"):
        return stem[: -len("_internal")]
    return MEMBERS.get(stem, stem)


def read_sources(app_dir):
    """{file name: its text} for app/*.c and app/*.h."""
    texts = {}
    for name in sorted(os.listdir(app_dir)):
        if name.endswith((".c", ".h")):
            with open(os.path.join(app_dir, name), encoding="utf-8") as source:
                texts[name] = source.read()
    return texts


def read_graph(app_dir):
    """Returns ({module: set of modules it includes}, [rule violations])."""
    graph, problems = {}, []
    texts = read_sources(app_dir)
    for name, text in texts.items():
        for kind, target in INCLUDE.findall(text):
            private = os.path.splitext(target)[0]
            if kind == '"' and private.endswith("_internal"):
                owner = private[: -len("_internal")]
                stem = os.path.splitext(name)[0]
                if stem != owner:
                    MEMBERS[stem] = owner
    known = {module_of(f) for f in texts}
    for name, text in texts.items():
        module = module_of(name)
        deps = graph.setdefault(module, set())
        for kind, target in INCLUDE.findall(text):
            if kind == "<":
                if target == "microhttpd.h" and name not in HTTP_LIBRARY_FILES:
                    problems.append(f"{name} includes <microhttpd.h>: only http.c may")
                if target.startswith("hiredis/") and not REDIS_LAYER.match(name):
                    problems.append(f"{name} includes <{target}>: only the Redis layer "
                                    "(redis_*, store*, sentinel*) may")
                continue
            other = module_of(os.path.basename(target))
            if other not in known:
                problems.append(f'{name} includes "{target}", which is not in {app_dir}')
            elif other != module:
                deps.add(other)
    return graph, problems


def visible_headers(app_dir):
    """For each .c file, the project headers its text sees: those it includes, and theirs."""
    direct = {}
    for name in os.listdir(app_dir):
        if name.endswith((".c", ".h")):
            with open(os.path.join(app_dir, name), encoding="utf-8") as source:
                direct[name] = {os.path.basename(t) for k, t in INCLUDE.findall(source.read())
                                if k == '"'}
    seen = {}
    for name in direct:
        if name.endswith(".c"):
            todo, found = list(direct[name]), set()
            while todo:
                header = todo.pop()
                if header not in found:
                    found.add(header)
                    todo.extend(direct.get(header, ()))
            seen[name] = found
    return seen


def hidden_calls(app_dir, object_dir):
    """Symbols an object takes from another module's object while its source sees no header of
    that module: the function is declared in some other module's header, or in none."""
    defined, used = {}, {}
    for name in sorted(os.listdir(object_dir)):
        if not name.endswith(".o"):
            continue
        listing = subprocess.run(["nm", "-P", os.path.join(object_dir, name)], check=True,
                                 capture_output=True, text=True).stdout
        for line in listing.splitlines():
            fields = line.split()
            if len(fields) < 2:
                continue
            symbol, kind = fields[0], fields[1]
            if kind == "U":
                used.setdefault(name[:-2], set()).add(symbol)
            elif kind in "TDBRGSVW":  # global definitions (lower case ones are static)
                defined[symbol] = name[:-2]
    seen = visible_headers(app_dir)
    problems = []
    for source in sorted(used):
        headers = seen.get(source + ".c", set())
        for symbol in sorted(used[source]):
            owner = defined.get(symbol)
            if owner is None or module_of(owner) == module_of(source):
                continue
            if not {owner + ".h", owner + "_internal.h"} & headers:
                problems.append(f"{source}.c calls {symbol} of {owner}.c, but sees no "
                                f"{owner}.h")
    return problems


def components(graph):
    """Strongly connected components (Tarjan, iterative), each a sorted list."""
    index, low, on_stack, stack, result = {}, {}, set(), [], []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                members = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.append(member)
                    if member == node:
                        break
                result.append(sorted(members))
    return result


def path_around(graph, members, start):
    """The shortest circle through `start`, staying inside its component (breadth first)."""
    inside = set(members)
    previous, queue = {start: None}, [start]
    while queue:
        node = queue.pop(0)
        for child in sorted(graph[node] & inside):
            if child == start:
                path = [node]
                while previous[path[-1]] is not None:
                    path.append(previous[path[-1]])
                return list(reversed(path)) + [start]
            if child not in previous:
                previous[child] = node
                queue.append(child)
    return members


def layers(graph, comps):
    """Layer of each component: 0 when it includes nothing outside itself, else one above the
    highest component it includes."""
    comp_of = {m: i for i, c in enumerate(comps) for m in c}
    level = {}

    def level_of(i):  # Tarjan lists components dependencies first, so this never recurses deep
        if i not in level:
            deps = {comp_of[d] for m in comps[i] for d in graph[m]} - {i}
            level[i] = 1 + max((level_of(d) for d in deps), default=-1)
        return level[i]

    for i in range(len(comps)):
        level_of(i)
    return level


def main(argv):
    args = argv[1:]
    objects = args[args.index("--objects") + 1] if "--objects" in args else None
    if objects is not None:
        args.remove("--objects")
        args.remove(objects)
    app_dir = next((a for a in args if not a.startswith("--")), "app")
    graph, problems = read_graph(app_dir)
    if objects is not None:
        problems += hidden_calls(app_dir, objects)
    comps = components(graph)
    level = layers(graph, comps)
    circles = [c for c in comps if len(c) > 1]
    edges = sum(len(d) for d in graph.values())
    print(f"include check: {len(graph)} modules in {app_dir}/, {edges} includes between them, "
          f"{sum(len(c) for c in circles)} of them in circles; layers, bottom first:")
    for owner in sorted(set(MEMBERS.values())):
        members = sorted(stem for stem, o in MEMBERS.items() if o == owner)
        print(f"  ({owner} includes {', '.join(members)}: they share {owner}_internal.h)")
    for n in range(max(level.values(), default=-1) + 1):
        names = sorted(("{" + " ".join(c) + "}") if len(c) > 1 else c[0]
                       for i, c in enumerate(comps) if level[i] == n)
        line, lines = f"  {n:2d}", []
        for name in names:
            if len(line) + 1 + len(name) > 100:
                lines.append(line)
                line = "    "
            line += " " + name
        print("\n".join(lines + [line]))
    if "--edges" in argv:
        for module in sorted(graph):
            print(f"  {module} -> {' '.join(sorted(graph[module])) or '(nothing)'}")
    for c in circles:  # the shortest circle through each member, each circle once
        seen = set()
        for start in c:
            path = path_around(graph, c, start)
            key = frozenset(zip(path, path[1:]))
            if key not in seen:
                seen.add(key)
                problems.append("circle: " + " -> ".join(path))
    for problem in problems:
        print(f"include check: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
