#!/usr/bin/env python3
"""docs/migrating-from-spring.md against the tests and the code (issue 17: "the guide's
commands are the ones the tests run"). Asserts that:

  * every test it names (`x_test`, `x_tests`, `deploy.x`, `faults.x`) is a ctest test of
    the build, and every test case it quotes right after one ("...") is a TEST_CASE of the
    sources;
  * every PAYPIPE_ variable it sets is one the code reads (a string literal, or the
    prefix-and-name pair of a family such as PAYPIPE_RETRY_ + MAX_RETRIES);
  * every `paypipe-admin` or `dlq-retrier` command has its subcommands and flags in that
    binary's sources;
  * every HTTP route it names (`GET /v1/...`) is a path, with that method, of
    proto/http/*.yaml.

Needs PAYPIPE_SOURCE_DIR only: no build, no network.
"""
import glob
import os
import re
import sys

src = os.environ["PAYPIPE_SOURCE_DIR"]
GUIDE = os.path.join(src, "docs/migrating-from-spring.md")
problems = []
checked = 0


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def sources(*patterns):
    return {p: read(p) for pattern in patterns for p in glob.glob(os.path.join(src, pattern), recursive=True)}


guide = read(GUIDE)
flat = re.sub(r"\s+", " ", guide)  # names and quotes may break across lines
inline = re.findall(r"`([^`]+)`", flat)
blocks = [line.strip() for line in re.findall(r"^    (\S.*)$", guide, re.M)]  # indented code

# ctest names, from the CMake files as they declare them.
ctest = set()
for path, text in sources("**/CMakeLists.txt", "cmake/*.cmake", "tests/**/*.cmake").items():
    if "/build" in path[len(src):]:
        continue
    ctest.update(re.findall(r"add_test\(NAME ([\w.-]+)[\s)]", text))
    ctest.update(re.findall(r"\bpaypipe_(?:test|e2e)\((\w+)", text))
    ctest.update("deploy." + n for n in re.findall(r"\bpaypipe_deploy_test\(([\w.-]+)", text))
    ctest.update("faults." + n for n in re.findall(r"\bpaypipe_fault_scenario\(([\w-]+)", text))
    for name, body in re.findall(r"\bpaypipe_service\(([\w-]+)(.*?)\)\s*$", text, re.S | re.M):
        ident = name.replace("-", "_")
        ctest.update(f"{ident}_{kind}_tests" for kind in ("unit", "integration") if f"{kind.upper()}_TESTS" in body)
if len(ctest) < 20:
    sys.exit(f"FAIL: only {len(ctest)} ctest names found: the CMake scan is broken")
test_cases = set()
for text in sources("**/tests/**/*.cpp", "tests/**/*.cpp").values():
    test_cases.update(re.sub(r"\s+", " ", c) for c in re.findall(r'TEST_CASE\(\s*"((?:[^"\\]|\\.)*)"', text))

for name in sorted({t for t in inline if re.fullmatch(r"[a-z0-9_]+_tests?|(deploy|faults)\.[\w.-]+", t)}):
    checked += 1
    if name not in ctest:
        problems.append(f"test `{name}` is not a ctest test of the build")
for name, case in re.findall(r"`([a-z0-9_]+_tests?)` \(\"([^\"]+)\"\)", flat):
    checked += 1
    if case not in test_cases:
        problems.append(f"`{name}` has no TEST_CASE \"{case}\"")

# Variables: read by the code (a family's prefix, e.g. "PAYPIPE_RETRY_", may sit in a
# header and the names after it in the reader).
code = sources("libs/**/*.[ch]pp", "services/**/*.[ch]pp", "tools/**/*.[ch]pp")
everything = "\n".join(text for path, text in code.items() if "/tests/" not in path)
for var in sorted(set(re.findall(r"\b(PAYPIPE_[A-Z0-9_]*[A-Z0-9])\b", guide))):
    checked += 1
    parts = var.split("_")
    heads = ["_".join(parts[:i]) + "_" for i in range(2, len(parts))]
    known = f'"{var}"' in everything or any(f'"{h}"' in everything and f'"{var[len(h):]}"' in everything
                                             for h in heads)
    if not known:
        problems.append(f"{var} is read nowhere in libs/, services/ or tools/")

# The binaries' commands.
binaries = {"paypipe-admin": "\n".join(sources("tools/paypipe_admin.cpp").values()),
            "dlq-retrier": "\n".join(sources("services/dlq-retrier/**/*.cpp").values())}
for command in inline + blocks:
    m = re.search(r"\b(paypipe-admin|dlq-retrier) ([a-z].*)$", command)
    if not m:
        continue
    binary, rest = m.group(1), m.group(2)
    for word in rest.split()[:2]:  # the subcommand and its action; then arguments
        if not re.fullmatch(r"[a-z][a-z-]*", word):
            break
        checked += 1
        if f'"{word}"' not in binaries[binary]:
            problems.append(f"`{command}`: {binary} has no subcommand \"{word}\"")
    for flag in re.findall(r"(?<!\S)(--[a-z][a-z0-9-]*)", rest):
        checked += 1
        if f'"{flag}"' not in binaries[binary]:
            problems.append(f"`{command}`: {binary} has no flag {flag}")

# HTTP routes, against the OpenAPI documents.
routes = set()
for text in sources("proto/http/*.yaml").values():
    for path, body in re.findall(r"^  (/\S+):\n((?:    .*\n|\n)*)", text, re.M):
        for method in re.findall(r"^    (get|post|put|delete|patch):", body, re.M):
            routes.add((method.upper(), re.sub(r"\{[^}]+\}", "{}", path)))
for method, path in re.findall(r"\b(GET|POST|PUT|DELETE|PATCH) (/v1/[^\s`?]*)", flat):
    checked += 1
    if (method, re.sub(r"\{[^}]+\}", "{}", path)) not in routes:
        problems.append(f"{method} {path} is not a route of proto/http/*.yaml")

if problems:
    print(f"docs/migrating-from-spring.md: {len(problems)} problem(s):", file=sys.stderr)
    for p in problems:
        print("  - " + p, file=sys.stderr)
    sys.exit(1)
print(f"docs/migrating-from-spring.md: {checked} references checked against the tests, the code and the APIs")
