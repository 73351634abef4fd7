#!/usr/bin/env python3
"""docs/runbook.md must match the chart and the binaries (issue 6: "the runbook's commands
match the chart's names and the binaries' real subcommands"). Asserts that:

  * every object a kubectl command names (deploy/paypipe-x, svc/..., job/..., hpa/...,
    pdb/...) is rendered by the chart with release "paypipe" (production and local
    values), and every `-c <container>` of the migrate Job is one of its containers;
  * every Secret it creates or reads is one the chart references (values.yaml secretRefs,
    or a Secret the production rendering mounts);
  * every `kubectl exec ... -- <binary> <words...>` runs a binary of the image, and each
    subcommand word, and each --flag, is a string literal in that binary's own sources (so
    a renamed or missing subcommand or flag fails here);
  * every /v1/... path it curls is a route of the service it port-forwards to;
  * every metric it names is exported by the code (Name("...")), the alerts it explains
    (a "### <alert>" section each) are exactly the alerts of the chart's PrometheusRule,
    and each alert's runbook_url points at its section;
  * the chart and values files it passes to helm exist.
"""
import glob
import os
import re
import subprocess
import sys

src = os.environ["PAYPIPE_SOURCE_DIR"]
build = os.environ["PAYPIPE_BUILD_DIR"]
helm = os.path.join(build, "k8s-tools", "helm")
kubecheck = os.path.join(build, "k8s-tools", "kubecheck")
problems = []
checked = 0

# References to parts other engineers are still building. Each one must still be missing:
# the test prints them, and FAILS as soon as one appears, asking to remove it from here,
# so nothing stays excused once it exists.
PENDING = set()  # e.g. ("subcommand", "dlq-retrier", "parked"), ("route", "dlq-retrier", "/v1/parked"), ("alert", "PaypipeParkedRecords")
pending_seen = set()


def problem(key, message):
    if key in PENDING:
        pending_seen.add(key)
        print(f"pending: {message}")
    else:
        problems.append(message)

for tool in (helm, kubecheck):
    if not os.access(tool, os.X_OK):
        sys.exit(f"FAIL: {tool} is missing: the deploy.tools test (scripts/k8s-tools.sh) did not install it")

with open(os.path.join(src, "docs/runbook.md"), encoding="utf-8") as f:
    runbook = f.read()
# Shell commands only: the fenced blocks, with continuation lines joined.
blocks = re.findall(r"```sh\n(.*?)```", runbook, re.S)
commands = []
for block in blocks:
    for cmd in re.sub(r"\\\n\s*", " ", block).splitlines():
        if cmd.strip() and not cmd.strip().startswith("#"):
            commands.append(cmd.strip())
# Inline code too, for object names and metric names mentioned in prose and tables.
inline = " ".join(re.findall(r"`([^`\n]+)`", runbook))


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def sources(pattern):
    return "\n".join(read(p) for p in glob.glob(os.path.join(src, pattern), recursive=True))


# The rendered objects, with the runbook's release name and namespace.
env = dict(os.environ, HELM_CACHE_HOME=os.path.join(build, "k8s-tools/helm-home/cache"),
           HELM_CONFIG_HOME=os.path.join(build, "k8s-tools/helm-home/config"),
           HELM_DATA_HOME=os.path.join(build, "k8s-tools/helm-home/data"))
objects = set()
rendered = {}
os.makedirs(os.path.join(build, "k8s-rendered"), exist_ok=True)
for profile in ("production", "local"):
    out = os.path.join(build, "k8s-rendered", f"runbook-{profile}.yaml")
    with open(out, "w", encoding="utf-8") as f:
        r = subprocess.run([helm, "template", "paypipe", os.path.join(src, "k8s/charts/paypipe"), "-n", "paypipe",
                            "-f", os.path.join(src, f"k8s/values-{profile}.yaml")], stdout=f, stderr=subprocess.PIPE,
                           text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"FAIL: helm template ({profile}): {r.stderr}")
    rendered[profile] = read(out)
    names = subprocess.run([kubecheck, "names", out], capture_output=True, text=True, check=True).stdout
    objects.update(names.split())

kinds = {"deploy": "Deployment", "deployment": "Deployment", "svc": "Service", "service": "Service",
         "job": "Job", "hpa": "HorizontalPodAutoscaler", "pdb": "PodDisruptionBudget",
         "configmap": "ConfigMap", "cm": "ConfigMap", "ingress": "Ingress"}
for kind, name in set(re.findall(r"\b(deploy|deployment|svc|service|job|hpa|pdb|configmap|cm|ingress)/(paypipe-[a-z0-9-]+)",
                                 runbook)):
    checked += 1
    if f"{kinds[kind]}/{name}" not in objects:
        problems.append(f"{kind}/{name} is not an object the chart renders for release paypipe")

# Containers of the migrate Job.
migrate = re.search(r"name: paypipe-migrate\n.*?(?=\n---|\Z)", rendered["production"], re.S).group(0)
migrate_containers = set(re.findall(r"^        - name: ([a-z-]+)$", migrate, re.M))
for cmd in commands:
    if "job/paypipe-migrate" in cmd:
        for c in re.findall(r"-c ([a-z-]+)", cmd):
            checked += 1
            if c not in migrate_containers:
                problems.append(f"`{cmd}`: the migrate Job has no container {c} ({sorted(migrate_containers)})")

# Secrets: the ones the chart reads.
values = read(os.path.join(src, "k8s/charts/paypipe/values.yaml"))
secret_refs = re.search(r"^secretRefs:\n((?:  .*\n)+)", values, re.M).group(1)
secret_names = set(re.findall(r"name: ([a-z0-9-]+)", secret_refs))
# and those the production example mounts as files (postgres.tls, kafka.tls, auth.jwks)
secret_names |= set(re.findall(r"secretName: \"?(paypipe-[a-z0-9-]+)", rendered["production"]))
for name in set(re.findall(r"secret(?: generic)? (paypipe-[a-z0-9-]+)", runbook)):
    checked += 1
    if name not in secret_names:
        problems.append(f"Secret {name} is not one the chart references (secretRefs: {sorted(secret_names)})")

# Subcommands of the binaries, against their sources.
services = re.findall(r"add_subdirectory\(([a-z-]+)\)", read(os.path.join(src, "services/CMakeLists.txt")))
binary_sources = {s: sources(f"services/{s}/**/*.[ch]pp") + sources("libs/runtime/daemon.cpp") for s in services}
binary_sources["paypipe-admin"] = sources("tools/paypipe_admin.cpp")
for cmd in commands:
    m = re.search(r"kubectl .*\bexec\b.* -- (.*)$", cmd)
    if not m:
        continue
    words = m.group(1).split()
    if words[0] in ("sh", "env"):
        inner = re.search(r"/usr/local/bin/([a-z-]+)", cmd)
        words = [inner.group(1)] if inner else words
    binary = words[0]
    if binary not in binary_sources:
        if binary.endswith(".sh"):  # Kafka's scripts in the broker's pod
            continue
        problems.append(f"`{cmd}`: {binary} is not a binary of the image")
        continue
    for word in words[1:]:
        if word.startswith("-") or word.startswith("<") or word.startswith("$") or word.startswith("'"):
            break
        checked += 1
        if f'"{word}"' not in binary_sources[binary]:
            problem(("subcommand", binary, word), f"`{cmd}`: {binary} has no subcommand \"{word}\" in its sources")
    # Its flags too: each a string literal of the binary's sources (CLI11's add_option("--x")).
    for flag in re.findall(r"(?<!\S)(--[a-z][a-z0-9-]*)", m.group(1)):
        checked += 1
        if f'"{flag}"' not in binary_sources[binary]:
            problems.append(f"`{cmd}`: {binary} has no flag {flag} in its sources")

# curl paths, against the routes of the service that is port-forwarded.
forward = None
for cmd in commands:
    m = re.search(r"port-forward (?:svc|deploy)/paypipe-([a-z-]+) (\d+):", cmd)
    if m:
        forward = (m.group(1), m.group(2))
    for port, path in re.findall(r"localhost:(\d+)(/v1/[^'\"?\s]*)", cmd):
        checked += 1
        if forward is None or forward[1] != port:
            problems.append(f"`{cmd}`: no port-forward to port {port} before it")
            continue
        service = forward[0]
        # Its own routes, and those libs/runtime gives every daemon (/v1/admin/log-level).
        routes = re.findall(r'"(/v1/[^"]*)"', sources(f"services/{service}/**/*.[ch]pp") + sources("libs/runtime/*.cpp"))
        pattern = lambda r: "^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(r)) + "$"
        if not any(re.match(pattern(r), path.replace("<id>", "x")) for r in routes):
            problem(("route", service, path), f"`{cmd}`: {path} is not a route of {service} ({routes or 'none yet'})")

# Metrics and alerts.
exported = set(re.findall(r'Name\("([a-z_:][a-z0-9_:]*)"\)', sources("libs/**/*.[ch]pp") + sources("services/**/*.[ch]pp")))
for metric in set(re.findall(r"\b((?:consumer|outbox|http_server|dlq|parked)_[a-z0-9_]+)", runbook)):
    checked += 1
    if metric not in exported and re.sub(r"_(bucket|sum|count)$", "", metric) not in exported:
        problems.append(f"metric {metric} is not exported by any Name(\"...\") in libs/ or services/")
rule_alerts = set(re.findall(r"^\s*- alert: (\w+)", rendered["production"], re.M))
doc_alerts = set(re.findall(r"^### (Paypipe\w+)$", runbook, re.M))
if not rule_alerts:
    problems.append("the production rendering has no PrometheusRule alerts")
for a in sorted(rule_alerts - doc_alerts):
    problems.append(f"alert {a} of the chart has no section (### {a}) in the runbook's Alerts")


# Each alert's runbook_url is <runbookBaseUrl>/runbook.md#<anchor of a heading here>
# (GitHub's anchors: lower case, spaces to hyphens, punctuation dropped).
def anchor(heading):
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


anchors = {anchor(h) for h in re.findall(r"^#+ (.+)$", runbook, re.M)}
for alert, url in re.findall(r"^\s*- alert: (\w+)\n(?:(?!\s*- alert:).*\n)*?\s*runbook_url: \"?([^\"\n]+)", rendered["production"],
                             re.M):
    checked += 1
    page, _, fragment = url.partition("#")
    if not page.endswith("/runbook.md") or fragment != anchor(alert) or fragment not in anchors:
        problems.append(f"alert {alert}: runbook_url {url} is not <base>/runbook.md#{anchor(alert)}, a heading of the runbook")
urls = len(re.findall(r"^\s*runbook_url:", rendered["production"], re.M))
if urls != len(re.findall(r"^\s*- alert:", rendered["production"], re.M)):
    problems.append(f"{urls} runbook_url annotations for {len(rule_alerts)} alerts: every alert needs one")
for a in sorted(doc_alerts - rule_alerts):
    problem(("alert", a), f"the runbook explains alert {a}, which the chart does not define")
checked += len(rule_alerts | doc_alerts)

# helm invocations.
for cmd in commands:
    if not re.match(r'"?\$?HELM"? |helm ', cmd.lstrip('"')) and "helm " not in cmd:
        continue
    for path in re.findall(r"(k8s/[\w./-]+)", cmd):
        checked += 1
        if not os.path.exists(os.path.join(src, path)):
            problems.append(f"`{cmd}`: {path} does not exist")

for key in sorted(PENDING - pending_seen):
    problems.append(f"{key} is no longer missing: remove it from PENDING in tests/deploy/runbook_check.py")

if problems:
    print(f"docs/runbook.md: {len(problems)} problem(s):", file=sys.stderr)
    for p in problems:
        print("  - " + p, file=sys.stderr)
    sys.exit(1)
print(f"docs/runbook.md: {checked} references checked against the chart, the binaries and the code"
      + (f"; {len(pending_seen)} pending on work in progress (listed above)" if pending_seen else ""))
