#!/usr/bin/env python3
"""Keeps deploy/Dockerfile true without a Docker engine (there is none on these machines).

Asserts that:
  * both stages are Debian bookworm, and the runtime stage runs as a numeric non-root
    user, the same uid as the Helm chart's securityContext.runAsUser;
  * the build stage installs every package of scripts/bootstrap.sh's "build" and
    "libraries" groups (so the image builds with what CI builds with) and runs CI's
    build (scripts/lib.sh build_tree);
  * every daemon of services/CMakeLists.txt, and paypipe-admin, is copied into the image;
  * every shared library the built binaries need (readelf -d: NEEDED) is provided by a
    Debian package that the runtime stage installs (dpkg -S on this machine, which has
    the same Debian packages), so the image starts where the tests ran.
Needs PAYPIPE_SOURCE_DIR and PAYPIPE_BUILD_DIR (the built binaries in bin/).
"""
import os
import re
import subprocess
import sys

src = os.environ["PAYPIPE_SOURCE_DIR"]
build = os.environ["PAYPIPE_BUILD_DIR"]
problems = []


def read(path):
    with open(os.path.join(src, path), encoding="utf-8") as f:
        return f.read()


def instructions(text):
    """Dockerfile instructions with continuation lines joined and comments dropped."""
    out, current = [], ""
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        current += line.rstrip("\\").rstrip() + " " if line.rstrip().endswith("\\") else line
        if not line.rstrip().endswith("\\"):
            if current.strip():
                out.append(current.strip())
            current = ""
    return out


def stages(text):
    result, name = {}, None
    for ins in instructions(text):
        m = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", ins, re.I)
        if m:
            name = m.group(2) or m.group(1)
            result[name] = {"from": m.group(1), "instructions": []}
        elif name:
            result[name]["instructions"].append(ins)
    return result


def apt_packages(stage):
    pkgs = set()
    for ins in stage["instructions"]:
        for m in re.finditer(r"apt-get install ((?:\s*(?:-\S+|[a-z0-9][a-z0-9.+-]*))+)", ins):
            pkgs.update(p for p in m.group(1).split() if not p.startswith("-"))
    return pkgs


dockerfile = read("deploy/Dockerfile")
st = stages(dockerfile)
if set(st) != {"build", "runtime"}:
    problems.append(f"expected stages build and runtime, found {sorted(st)}")
    st.setdefault("build", {"from": "", "instructions": []})
    st.setdefault("runtime", {"from": "", "instructions": []})
for name, stage in st.items():
    if not re.match(r"debian:bookworm(-slim)?(@sha256:[0-9a-f]+)?$", stage["from"]):
        problems.append(f"stage {name} is FROM {stage['from']}, not Debian bookworm")

# bootstrap.sh's package groups, by their comment headings inside packages=( ... ).
bootstrap = read("scripts/bootstrap.sh")
block = re.search(r"^packages=\((.*?)^\)", bootstrap, re.S | re.M).group(1)
groups, heading = {}, None
for line in block.splitlines():
    line = line.strip()
    if line.startswith("#"):
        heading = line.lstrip("# ").split()[0].rstrip(":")
        continue
    groups.setdefault(heading, []).extend(line.split())
for group in ("build", "libraries"):
    if group not in groups:
        problems.append(f"scripts/bootstrap.sh has no '# {group}' group any more; update this check")
        continue
    missing = sorted(set(groups[group]) - apt_packages(st["build"]))
    if missing:
        problems.append(f"the build stage lacks bootstrap.sh's {group} packages: {' '.join(missing)}")
if not any("build_tree" in ins and "scripts/lib.sh" in ins for ins in st["build"]["instructions"]):
    problems.append("the build stage does not run CI's build (source scripts/lib.sh && build_tree)")

# The daemons the image must hold.
services = re.findall(r"add_subdirectory\(([a-z-]+)\)", read("services/CMakeLists.txt"))
binaries = services + ["paypipe-admin"]
build_text = " ".join(st["build"]["instructions"])
for b in binaries:
    if not re.search(rf"(?<![\w-]){re.escape(b)}(?![\w-])", build_text):
        problems.append(f"the build stage does not copy {b} out")
if not any(re.match(r"COPY --from=build /out/? /usr/local/bin/?$", i) for i in st["runtime"]["instructions"]):
    problems.append("the runtime stage does not COPY --from=build /out/ /usr/local/bin/")

# A numeric non-root user, the chart's.
users = [i.split(None, 1)[1] for i in st["runtime"]["instructions"] if i.upper().startswith("USER ")]
chart_uid = re.search(r"^\s*runAsUser:\s*(\d+)", read("k8s/charts/paypipe/values.yaml"), re.M).group(1)
if not users:
    problems.append("the runtime stage sets no USER (it would run as root)")
else:
    uid = users[-1].split(":")[0]
    if not uid.isdigit() or uid == "0":
        problems.append(f"USER {users[-1]}: needs a numeric non-zero uid (runAsNonRoot checks it)")
    elif uid != chart_uid:
        problems.append(f"USER {uid} differs from the chart's securityContext.runAsUser {chart_uid}")

# Shared libraries: each NEEDED entry must come from a runtime-stage package.
runtime_pkgs = apt_packages(st["runtime"])
base_pkgs = {"libc6"}  # essential in every Debian image
owners = {}
for b in binaries:
    exe = os.path.join(build, "bin", b)
    if not os.path.exists(exe):
        problems.append(f"{exe} is not built: build the daemons and paypipe-admin first")
        continue
    dyn = subprocess.run(["readelf", "-d", exe], capture_output=True, text=True, check=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", dyn)
    ldd = subprocess.run(["ldd", exe], capture_output=True, text=True, check=True).stdout
    paths = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M))
    for lib in needed:
        if lib not in owners:
            path = paths.get(lib)
            if not path:
                problems.append(f"{b} needs {lib}, which ldd does not resolve here")
                continue
            q = subprocess.run(["dpkg", "-S", os.path.realpath(path)], capture_output=True, text=True)
            if q.returncode != 0:
                q = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
            owners[lib] = q.stdout.split(":")[0].strip() if q.returncode == 0 else None
        pkg = owners[lib]
        if pkg is None:
            problems.append(f"{b} needs {lib}, which no Debian package provides here")
        elif pkg not in runtime_pkgs and pkg not in base_pkgs:
            problems.append(f"{b} needs {lib} from package {pkg}, which the runtime stage does not install")

stage_list = ", ".join("%s (%s)" % (k, v["from"]) for k, v in st.items())
print(f"Dockerfile: stages {stage_list}; "
      f"{len(binaries)} binaries; runtime libraries: "
      + ", ".join(f"{lib}={pkg}" for lib, pkg in sorted(owners.items())))
if problems:
    print(f"{len(problems)} problem(s):", file=sys.stderr)
    for p in problems:
        print("  - " + p, file=sys.stderr)
    sys.exit(1)
print("deploy/Dockerfile matches bootstrap.sh, the services and the binaries' libraries")
