#!/usr/bin/env python3
"""The chart's monitoring objects against the code (issue 15, items 3 and 4).

  monitoring_check.py extract-rules <rendered.yaml> <out.yaml>
      The PrometheusRule's spec of a `helm template` output, written as a Prometheus rule
      file (the spec is that format: `groups:`), for promtool.
  monitoring_check.py extract-dashboard <rendered.yaml> <out.json>
      The dashboard ConfigMap's JSON; fails without exactly one ConfigMap carrying the
      sidecar label grafana_dashboard, or when its JSON does not parse.
  monitoring_check.py metrics [--dashboard FILE.json] [--rules FILE.yaml]
      Every metric named in every dashboard query (and template variable) and in every
      rule expression is one the code exports: a prometheus-cpp Build*().Name("...") in
      libs/ or services/ (a histogram as its _bucket, _sum and _count series); rules may
      also use the metrics of OUTSIDE below, dashboards those of the chart's kafka-exporter.
      An unknown name fails, with where it is.
  monitoring_check.py docs <operations.md> <rules.yaml>
      The document names (in backticks, labels allowed) every metric the code registers
      and every alert; and the metric tables and alerts it names exist.
  monitoring_check.py coverage <rules.yaml> <promtool test files...>
      Every alert of the rule file has an alert_rule_test where it fires and one where it
      is expected silent.

Needs PAYPIPE_SOURCE_DIR (the checkout) for `metrics` and `docs`.
"""
import glob
import json
import os
import re
import sys

import yaml

# Metrics the rules may use that paypipe does not export, by who does. Explicit, so that a
# misspelt kube-state-metrics name fails like a misspelt paypipe one.
OUTSIDE = {
    "kube-state-metrics": {
        "kube_deployment_status_replicas_unavailable",
        "kube_pod_container_status_restarts_total",
    },
    # Prometheus itself, for every scrape target.
    "prometheus": {"up"},
    # danielqsj/kafka-exporter, deployed by the chart (kafkaExporter): its kafka_exporter.go
    # (namespace "kafka"), the series the rules and the dashboard read.
    "kafka-exporter": {
        "kafka_consumergroup_lag",
        "kafka_consumergroup_lag_sum",
        "kafka_consumergroup_members",
        "kafka_topic_partition_current_offset",
    },
}
# The outside metrics a dashboard may query: the chart's own exporter only (a dashboard on
# kube-state-metrics would be someone else's).
DASHBOARD_OUTSIDE = OUTSIDE["kafka-exporter"]

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
            "offset", "inf", "nan", "start", "end"}


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def exported_metrics(src, families=False):
    """Series names the daemons expose, from the prometheus-cpp builders in the sources
    (with families=True: the names as registered, a histogram without its suffixes)."""
    names, registered = set(), set()
    files = glob.glob(os.path.join(src, "libs/**/*.[ch]pp"), recursive=True) + \
        glob.glob(os.path.join(src, "services/**/*.[ch]pp"), recursive=True)
    builder = re.compile(r'Build(Counter|Gauge|Histogram|Summary)\(\)\s*\.Name\(\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)"\s*\)')
    for path in files:
        if "/tests/" in path:
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for kind, name in builder.findall(text):
            registered.add(name)
            if kind == "Histogram":
                names.update(name + s for s in ("_bucket", "_sum", "_count"))
            elif kind == "Summary":
                names.update((name, name + "_sum", name + "_count"))
            else:
                names.add(name)
    return registered if families else names


def promql_metrics(expr):
    """Metric names of a PromQL expression (Grafana variables allowed): every identifier
    that is not a function, keyword, label or duration."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)  # strings
    e = re.sub(r"\{[^{}]*\}", " ", e)  # label matchers
    e = re.sub(r"\[[^\[\]]*\]", " ", e)  # ranges and subqueries
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", " ", e)
    e = re.sub(r"\boffset\s+-?\w+", " ", e)
    e = re.sub(r"\$\{[^}]*\}|\$\w+", " ", e)  # Grafana variables
    names = []
    for m in re.finditer(r"(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)", e):
        name = m.group(1)
        if re.match(r"\s*\(", e[m.end():]) or name.lower() in KEYWORDS:
            continue
        names.append(name)
    return names


def load_yaml_docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d]


def extract_rules(rendered, out):
    rules = [d for d in load_yaml_docs(rendered) if d.get("kind") == "PrometheusRule"]
    if len(rules) != 1:
        fail(f"{rendered}: {len(rules)} PrometheusRule objects, expected 1")
    groups = rules[0]["spec"]["groups"]
    with open(out, "w", encoding="utf-8") as f:
        yaml.safe_dump({"groups": groups}, f, sort_keys=False, width=1000)
    alerts = [r["alert"] for g in groups for r in g["rules"] if "alert" in r]
    print(f"ok  {len(alerts)} alerts in {len(groups)} groups written to {out}")


def extract_dashboard(rendered, out):
    maps = [d for d in load_yaml_docs(rendered)
            if d.get("kind") == "ConfigMap" and "grafana_dashboard" in (d["metadata"].get("labels") or {})]
    if len(maps) != 1:
        fail(f"{rendered}: {len(maps)} ConfigMaps with the label grafana_dashboard, expected 1")
    data = maps[0].get("data") or {}
    if list(data) != ["paypipe.json"]:
        fail(f"the dashboard ConfigMap holds {sorted(data)}, expected paypipe.json only")
    try:
        dashboard = json.loads(data["paypipe.json"])
    except json.JSONDecodeError as e:
        fail(f"the dashboard is not valid JSON: {e}")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(dashboard, f, indent=2)
    print(f"ok  dashboard ConfigMap {maps[0]['metadata']['name']}: valid JSON, written to {out}")


def dashboard_queries(path):
    """(where, PromQL) of every panel target and every query variable; checks the shape too."""
    with open(path, encoding="utf-8") as f:
        try:
            d = json.load(f)
        except json.JSONDecodeError as e:
            fail(f"{path}: not valid JSON: {e}")
    for key in ("title", "uid", "panels", "templating"):
        if key not in d:
            fail(f"{path}: no {key}")
    queries = []
    ids = set()
    panels = list(d["panels"])
    while panels:
        p = panels.pop(0)
        panels.extend(p.get("panels", []))  # collapsed rows hold their panels
        if p.get("id") in ids:
            fail(f"{path}: panel id {p.get('id')} used twice")
        ids.add(p.get("id"))
        if p.get("type") == "row":
            continue
        targets = p.get("targets") or []
        if not targets:
            fail(f"{path}: panel '{p.get('title')}' has no query")
        for t in targets:
            if not (t.get("expr") or "").strip():
                fail(f"{path}: panel '{p.get('title')}' target {t.get('refId')} has no expr")
            queries.append((f"panel '{p.get('title')}' {t.get('refId')}", t["expr"]))
    for v in d["templating"].get("list", []):
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        m = re.fullmatch(r"\s*label_values\((.*),\s*\w+\s*\)\s*", q)
        if m:
            q = m.group(1)
        elif re.fullmatch(r"\s*label_values\(\s*\w+\s*\)\s*", q):
            continue
        queries.append((f"variable ${v.get('name')}", q))
    return queries


def rule_queries(path):
    with open(path, encoding="utf-8") as f:
        groups = yaml.safe_load(f)["groups"]
    return [(f"rule {r.get('alert') or r.get('record')} (group {g['name']})", r["expr"])
            for g in groups for r in g["rules"]]


def check_metrics(args):
    src = os.environ.get("PAYPIPE_SOURCE_DIR") or fail("PAYPIPE_SOURCE_DIR is not set")
    exported = exported_metrics(src)
    if len(exported) < 20:
        fail(f"only {len(exported)} exported metrics found in {src}: the Build*().Name(...) scan is broken")
    outside = set().union(*OUTSIDE.values())
    problems, checked = [], 0
    i = 0
    while i < len(args):
        kind, path = args[i], args[i + 1]
        i += 2
        if kind == "--dashboard":
            queries, allowed = dashboard_queries(path), exported | DASHBOARD_OUTSIDE
        elif kind == "--rules":
            queries, allowed = rule_queries(path), exported | outside
        else:
            fail(f"unknown argument {kind}")
        for where, expr in queries:
            names = promql_metrics(expr)
            if not names:
                problems.append(f"{path}: {where}: names no metric: {expr}")
            for name in names:
                checked += 1
                if name not in allowed:
                    hint = " (a histogram is queried as _bucket, _sum or _count)" if name + "_bucket" in exported else ""
                    problems.append(f"{path}: {where}: unknown metric {name}{hint}")
    if problems:
        for p in problems:
            print("  - " + p, file=sys.stderr)
        fail(f"{len(problems)} unknown metric name(s): not exported by libs/ or services/ (Build*().Name) "
             "nor in OUTSIDE of tests/deploy/monitoring_check.py")
    print(f"ok  {checked} metric references, all exported by the code ({len(exported)} series names)"
          " or listed in OUTSIDE")


def check_docs(doc, rules_path):
    """docs/operations.md names every metric the code registers and every alert."""
    src = os.environ.get("PAYPIPE_SOURCE_DIR") or fail("PAYPIPE_SOURCE_DIR is not set")
    with open(doc, encoding="utf-8") as f:
        text = f.read()
    with open(rules_path, encoding="utf-8") as f:
        alerts = {r["alert"] for g in yaml.safe_load(f)["groups"] for r in g["rules"] if "alert" in r}
    families = exported_metrics(src, families=True)
    missing = sorted(n for n in families | alerts if not re.search(f"`{n}[`{{]", text))
    if missing:
        fail(f"{doc} does not list {', '.join(missing)} (\"Every metric, the alerts and the dashboard\")")
    # And the other way: what the metric tables list (first cell) and the alerts named
    # there exist, so a metric or alert removed from the code leaves the document too.
    listed, named_alerts = set(), set()
    for title in ("Every metric, the alerts and the dashboard", "Metrics to watch"):
        section = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
        if not section:
            fail(f"{doc} has no section \"## {title}\"")
        for line in section.group(1).splitlines():
            if line.startswith("| `"):
                listed.update(re.findall(r"`([a-zA-Z_:][a-zA-Z0-9_:]*)`", line.split("|")[1]))
        named_alerts.update(re.findall(r"`(Paypipe\w+)`", section.group(1)))
    stale = sorted((listed - families - set().union(*OUTSIDE.values())) | (named_alerts - alerts))
    if stale:
        fail(f"{doc} lists {', '.join(stale)}, which neither the code exports nor the rules define")
    print(f"ok  {doc} lists all {len(families)} metrics and {len(alerts)} alerts, and nothing else "
          f"({len(listed)} table rows' metrics, {len(named_alerts)} alerts checked)")


def check_coverage(rules_path, test_paths):
    with open(rules_path, encoding="utf-8") as f:
        alerts = {r["alert"] for g in yaml.safe_load(f)["groups"] for r in g["rules"] if "alert" in r}
    fires, silent = set(), set()
    for path in test_paths:
        with open(path, encoding="utf-8") as f:
            for test in yaml.safe_load(f).get("tests", []):
                for case in test.get("alert_rule_test", []):
                    (fires if case.get("exp_alerts") else silent).add(case["alertname"])
    problems = [f"alert {a}: no alert_rule_test where it fires" for a in sorted(alerts - fires)]
    problems += [f"alert {a}: no alert_rule_test where it stays silent" for a in sorted(alerts - silent)]
    problems += [f"tests name alert {a}, which the rules do not define" for a in sorted((fires | silent) - alerts)]
    if problems:
        for p in problems:
            print("  - " + p, file=sys.stderr)
        fail(f"{len(problems)} gap(s) in the rule tests")
    print(f"ok  each of the {len(alerts)} alerts has a firing and a silent promtool case")


def main(argv):
    if len(argv) < 2:
        fail(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "extract-rules" and len(args) == 2:
        extract_rules(*args)
    elif cmd == "extract-dashboard" and len(args) == 2:
        extract_dashboard(*args)
    elif cmd == "metrics" and args and len(args) % 2 == 0:
        check_metrics(args)
    elif cmd == "docs" and len(args) == 2:
        check_docs(*args)
    elif cmd == "coverage" and len(args) >= 2:
        check_coverage(args[0], args[1:])
    else:
        fail(f"bad arguments: {' '.join(argv[1:])}\n{__doc__}")


if __name__ == "__main__":
    main(sys.argv)
