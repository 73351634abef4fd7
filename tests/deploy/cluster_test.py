#!/usr/bin/env python3
"""The chart installed on a real Kubernetes API server (ctest deploy.cluster, issue 15).

Starts its own control plane on free loopback ports, everything on 127.0.0.1: etcd,
kube-apiserver (static token of system:masters, an openssl-made service-account key),
kube-controller-manager, kube-scheduler and KWOK, which plays the kubelet of two fake
nodes: pods become Ready without containers, pods of Jobs complete, deleted pods go. The
binaries come from scripts/k8s-tools.sh --cluster (the deploy.cluster_tools fixture).

Then, against it:
  * the prometheus-operator CRDs (ServiceMonitor, PrometheusRule) and KEDA's
    (ScaledObject, TriggerAuthentication), server-side applied, so the chart's objects of
    those kinds are accepted by the server;
  * every object of the chart server-side applied (dry run) with the local and the
    production values: the server's own validation of all of them;
  * docs/runbook.md's shell commands in the order they appear, each one that makes sense
    without real containers: creating the namespace and Secrets, `helm upgrade --install
    --wait` (the hook Jobs topics and migrate run and complete first), status, `helm
    upgrade` (hooks again) and `rollout status`, `helm history` and `helm rollback`,
    scale, the HPA's bounds, KEDA's ScaledObject, drain and uncordon of a node (the
    PodDisruptionBudgets), rotating a Secret with `rollout restart`, get and describe.
    A command that fails fails the test. The ones that need a container (exec, logs,
    port-forward, run, a pod's proxy), watch (-w), or a placeholder other than <node> are
    listed as skipped with the reason. Checks after the install, upgrade and rollback:
    the hook Jobs completed, every Deployment available, the release's revision.

Needs PAYPIPE_SOURCE_DIR, PAYPIPE_BUILD_DIR and the tools linked into
$PAYPIPE_BUILD_DIR/k8s-tools by the deploy.tools and deploy.cluster_tools fixtures; a
missing tool is a failure. Everything it starts is stopped and its temporary directory
removed at the end, pass or fail. About a minute once the binaries are built.
"""
import base64
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

src = os.environ["PAYPIPE_SOURCE_DIR"]
build = os.environ["PAYPIPE_BUILD_DIR"]
tools = os.path.join(build, "k8s-tools")
binaries = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl",
            "kwok", "helm"]
NAMESPACE = "paypipe"
RELEASE = "paypipe"
NODES = ["kwok-node-a", "kwok-node-b"]
# What a runbook command may wait for here (its own --timeout is for a real cluster).
COMMAND_TIMEOUT_S = 120
HELM_TIMEOUT = "2m"
started_at = time.monotonic()


def fail(message):
    sys.exit(f"FAIL: {message}")


def log(message):
    print(f"[{time.monotonic() - started_at:6.1f}s] {message}", flush=True)


for name in binaries + ["kwok-stages.yaml", "crds"]:
    if not os.path.exists(os.path.join(tools, name)):
        fail(f"{tools}/{name} is missing: the deploy.cluster_tools and deploy.tools tests "
             "(scripts/k8s-tools.sh [--cluster]) did not install it; run them and read their output")
tool = {name: os.path.join(tools, name) for name in binaries}


def free_ports(count):
    """Ports the kernel picks on 127.0.0.1, all held until every one is chosen."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def wait_for(what, check, timeout_s, process=None, log_file=None):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            fail(f"{what}: the process exited with {process.returncode}\n{tail(log_file)}")
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.2)
    fail(f"{what}: not within {timeout_s} s\n{tail(log_file)}")


def tail(path, lines=40):
    if not path or not os.path.exists(path):
        return ""
    with open(path, encoding="utf-8", errors="replace") as f:
        return f"--- last lines of {path}:\n" + "".join(f.readlines()[-lines:])


class ControlPlane:
    def __init__(self, work):
        self.work = work
        self.processes = []  # (name, Popen, log path)
        self.token = secrets.token_hex(16)
        self.etcd_port, self.etcd_peer_port, self.api_port = free_ports(3)
        self.kubeconfig = os.path.join(work, "kubeconfig")
        self.env = dict(os.environ, KUBECONFIG=self.kubeconfig, HOME=work)

    def start(self, name, args, env=None):
        log_path = os.path.join(self.work, f"{name}.log")
        with open(log_path, "wb") as log_file:
            process = subprocess.Popen(args, stdout=log_file, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, env=env or self.env,
                                       cwd=self.work, start_new_session=True)
        self.processes.append((name, process, log_path))
        return process, log_path

    def stop(self):
        for name, process, _ in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def logs(self):
        return "\n".join(tail(path, 25) for _, _, path in self.processes)

    def up(self):
        pki = os.path.join(self.work, "pki")
        os.makedirs(pki)
        sa_key, sa_pub = os.path.join(pki, "sa.key"), os.path.join(pki, "sa.pub")
        subprocess.run(["openssl", "genrsa", "-out", sa_key, "2048"], check=True,
                       capture_output=True)
        subprocess.run(["openssl", "rsa", "-in", sa_key, "-pubout", "-out", sa_pub], check=True,
                       capture_output=True)
        tokens = os.path.join(pki, "tokens.csv")
        with open(tokens, "w", encoding="utf-8") as f:
            f.write(f'{self.token},admin,admin,"system:masters"\n')

        etcd_url = f"http://127.0.0.1:{self.etcd_port}"
        peer_url = f"http://127.0.0.1:{self.etcd_peer_port}"
        etcd, etcd_log = self.start("etcd", [
            tool["etcd"], "--name=paypipe", f"--data-dir={self.work}/etcd",
            f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=paypipe={peer_url}",
            "--unsafe-no-fsync=true", "--log-level=warn"])
        wait_for("etcd /health", lambda: b'"true"' in urllib.request.urlopen(
            f"{etcd_url}/health", timeout=2).read(), 30, etcd, etcd_log)
        log(f"etcd answers on {etcd_url}")

        api_url = f"https://127.0.0.1:{self.api_port}"
        api, api_log = self.start("kube-apiserver", [
            tool["kube-apiserver"], f"--etcd-servers={etcd_url}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            f"--secure-port={self.api_port}", f"--cert-dir={pki}", f"--token-auth-file={tokens}",
            "--authorization-mode=Node,RBAC", "--service-cluster-ip-range=10.96.0.0/16",
            f"--service-account-key-file={sa_pub}", f"--service-account-signing-key-file={sa_key}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            # The kubernetes Service's endpoint would be 127.0.0.1, which Endpoints refuse.
            "--endpoint-reconciler-type=none", "--profiling=false"])
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # its own self-signed certificate, on loopback

        def ready():
            request = urllib.request.Request(f"{api_url}/readyz",
                                             headers={"Authorization": f"Bearer {self.token}"})
            return urllib.request.urlopen(request, timeout=2, context=context).read() == b"ok"
        wait_for("kube-apiserver /readyz", ready, 60, api, api_log)
        log(f"kube-apiserver ready on {api_url}")

        with open(self.kubeconfig, "w", encoding="utf-8") as f:
            json.dump({
                "apiVersion": "v1", "kind": "Config", "current-context": "kwok",
                "clusters": [{"name": "kwok", "cluster": {
                    "server": api_url, "insecure-skip-tls-verify": True}}],
                "users": [{"name": "admin", "user": {"token": self.token}}],
                "contexts": [{"name": "kwok", "context": {"cluster": "kwok", "user": "admin"}}],
            }, f)
        self.start("kube-controller-manager", [
            # --secure-port=0: no health/metrics server, so no port of its own.
            tool["kube-controller-manager"], f"--kubeconfig={self.kubeconfig}",
            "--secure-port=0", "--leader-elect=false",
            f"--service-account-private-key-file={sa_key}",
            "--use-service-account-credentials=false"])
        self.start("kube-scheduler", [
            tool["kube-scheduler"], f"--kubeconfig={self.kubeconfig}", "--secure-port=0",
            "--leader-elect=false"])
        # No --node-port/--server-address: KWOK serves nothing (no logs/exec/port-forward).
        self.start("kwok", [
            tool["kwok"], f"--kubeconfig={self.kubeconfig}",
            f"--config={os.path.join(tools, 'kwok-stages.yaml')}",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            "--node-ip=127.0.0.1", "--cidr=10.244.0.0/16", "--node-lease-duration-seconds=40"])
        for name in NODES:
            zone = name.rsplit("-", 1)[1]
            self.kubectl("apply", "-f", "-", stdin=json.dumps({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "annotations": {"kwok.x-k8s.io/node": "fake"},
                             "labels": {"kubernetes.io/hostname": name, "type": "kwok",
                                        "topology.kubernetes.io/zone": f"zone-{zone}"}},
                "status": {"allocatable": {"cpu": "32", "memory": "128Gi", "pods": "110"},
                           "capacity": {"cpu": "32", "memory": "128Gi", "pods": "110"}}}))
        self.kubectl("wait", "--for=condition=Ready", "node", *NODES, "--timeout=60s")
        log(f"nodes {', '.join(NODES)} Ready (KWOK)")

    def kubectl(self, *args, stdin=None):
        result = subprocess.run([tool["kubectl"], *args], input=stdin, text=True,
                                capture_output=True, env=self.env, timeout=COMMAND_TIMEOUT_S)
        if result.returncode != 0:
            fail(f"kubectl {' '.join(args)} exited with {result.returncode}:\n"
                 f"{result.stdout}{result.stderr}\n{self.logs()}")
        return result.stdout

    def get_json(self, *args):
        return json.loads(self.kubectl("-n", NAMESPACE, "get", *args, "-o", "json"))


# --- the runbook's commands -------------------------------------------------------------

# Why a runbook line is not run here; the first that matches wins.
SKIP = [
    (re.compile(r"\bkubectl\b.*\s(exec|logs|port-forward|run)\s"), "needs a running container"),
    (re.compile(r"/proxy/"), "needs a pod's own HTTP server"),
    (re.compile(r"\s-w(\s|$)"), "a watch: never ends by itself"),
    (re.compile(r"<(?!node>)[a-z-]+>"), "a placeholder for a real name"),
]


def runbook_commands():
    """docs/runbook.md's ```sh blocks as commands, continuation lines joined; a `for` loop
    is one command up to its `done`. Only commands that start with kubectl or helm (or
    assign one's output) are about the cluster."""
    with open(os.path.join(src, "docs/runbook.md"), encoding="utf-8") as f:
        runbook = f.read()
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", runbook, re.S):
        loop = None
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            line = line.strip()
            if loop is not None:
                loop.append(line)
                if line == "done":
                    commands.append("\n".join(loop))
                    loop = None
            elif line.startswith("for ") and "kubectl" in block:
                loop = [line]
            elif re.match(r"(\w+=\$\()?(kubectl|helm)\s", line):
                commands.append(line)
    if not commands:
        fail("no kubectl or helm command found in docs/runbook.md")
    return commands


def main():
    # ctest's timeout or ^C: stop the control plane and remove the directory all the same.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("FAIL: terminated"))
    work = tempfile.mkdtemp(prefix="paypipe-cluster-")
    plane = ControlPlane(work)
    try:
        plane.up()
        run(plane, work)
    finally:
        plane.stop()
        shutil.rmtree(work, ignore_errors=True)
    log("passed; control plane stopped, temporary directory removed")


def run(plane, work):
    helm_home = os.path.join(work, "helm")
    env = dict(plane.env, PATH=f"{tools}:{os.environ['PATH']}",
               HELM_CACHE_HOME=f"{helm_home}/cache", HELM_CONFIG_HOME=f"{helm_home}/config",
               HELM_DATA_HOME=f"{helm_home}/data",
               # The runbook's variables, and files it reads from the current directory.
               PG_PASSWORD="pg-secret", KAFKA_USER="paypipe", KAFKA_PASSWORD="kafka-secret",
               TELEGRAM_BOT_TOKEN="123:telegram", WEBHOOK_TOKEN="webhook-secret")
    runbook_dir = os.path.join(work, "runbook")
    os.makedirs(runbook_dir)
    os.symlink(os.path.join(src, "k8s"), os.path.join(runbook_dir, "k8s"))
    for name in ["postgres-root.crt", "kafka-ca.crt", "client.crt", "client.key"]:
        with open(os.path.join(runbook_dir, name), "w", encoding="utf-8") as f:
            f.write("not a real certificate: nothing reads it without containers\n")
    with open(os.path.join(runbook_dir, "jwks.json"), "w", encoding="utf-8") as f:
        f.write('{"keys": []}\n')

    crds = os.path.realpath(os.path.join(tools, "crds"))  # kubectl walks no symlinked dir
    plane.kubectl("apply", "--server-side", "-f", crds)
    plane.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
    log("CRDs established: " + ", ".join(sorted(f for f in os.listdir(crds) if f.endswith(".yaml"))))

    def sh(command, what=None):
        result = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=runbook_dir,
                                env=env, text=True, capture_output=True,
                                timeout=COMMAND_TIMEOUT_S + 30)
        if result.returncode != 0:
            fail(f"{what or command}\nexited with {result.returncode}:\n{result.stdout}"
                 f"{result.stderr}\n{plane.logs()}")
        return result.stdout

    # Every object of both profiles, as the server validates it (dry run: nothing stays).
    plane.kubectl("create", "namespace", "paypipe-dry-run")
    for profile in ["local", "production"]:
        rendered = sh(f"helm template {RELEASE} k8s/charts/paypipe -n paypipe-dry-run "
                      f"-f k8s/values-{profile}.yaml")
        out = plane.kubectl("apply", "--server-side", "--dry-run=server", "-n",
                            "paypipe-dry-run", "-f", "-", stdin=rendered)
        log(f"server-side apply (dry run), {profile} values: {len(out.splitlines())} objects accepted")
    plane.kubectl("delete", "namespace", "paypipe-dry-run", "--wait=false")

    skipped, ran = [], 0
    for command in runbook_commands():
        reason = next((why for pattern, why in SKIP if pattern.search(command)), None)
        if reason:
            skipped.append(f"{command}  ({reason})")
            continue
        command = adapt(command, plane, work)
        log(f"$ {command}")
        output = sh(command)
        ran += 1
        for line in output.splitlines()[:12]:
            print(f"    {line}")
        after(command, plane)
    if ran == 0:
        fail("no runbook command was run")
    log(f"{ran} runbook commands ran; {len(skipped)} skipped:")
    for line in skipped:
        print(f"    {line}")
    # The runbook's install, upgrade and rollback must all have been among them.
    history = json.loads(sh(f"helm -n {NAMESPACE} history {RELEASE} -o json"))
    descriptions = [entry["description"] for entry in history]
    for word in ["Install complete", "Upgrade complete", "Rollback to"]:
        if not any(d.startswith(word) for d in descriptions):
            fail(f"the release's history has no '{word}': {descriptions}")


def adapt(command, plane, work):
    """The runbook's command as run here: waits bounded for a test, the node a fake one,
    /tmp a temporary directory, and a rollback to the revision before the current one
    (the runbook's number is an example)."""
    command = command.replace("--timeout 10m", f"--timeout {HELM_TIMEOUT}")
    command = command.replace("<node>", NODES[0]).replace("/tmp/", f"{work}/")
    if re.search(r"\bhelm\b.*\srollback\s", command):
        history = json.loads(subprocess.run(
            [tool["helm"], "-n", NAMESPACE, "history", RELEASE, "-o", "json"], env=plane.env,
            capture_output=True, text=True, check=True).stdout)
        previous = history[-1]["revision"] - 1
        command = re.sub(r"(rollback\s+\S+\s+)\d+", rf"\g<1>{previous}", command)
    if command.startswith("kubectl drain"):
        command += f" --timeout={COMMAND_TIMEOUT_S}s"
    return command


def after(command, plane):
    """What must hold after the runbook's install, upgrade and rollback."""
    if re.search(r"\bhelm\b.*\s(upgrade|rollback)\s", command) and "--wait" in command:
        deployments = plane.get_json("deploy", "-l", f"app.kubernetes.io/instance={RELEASE}")
        for d in deployments["items"]:
            status, name = d.get("status", {}), d["metadata"]["name"]
            if status.get("availableReplicas", 0) < d["spec"].get("replicas", 1):
                fail(f"{name} not available after `{command}`: {status}")
        log(f"    {len(deployments['items'])} Deployments available")
    if re.search(r"\bhelm\b.*\supgrade\s", command) and "--wait" in command:
        # The hooks ran before any Deployment changed, and their pods completed (KWOK).
        for job in [f"{RELEASE}-topics", f"{RELEASE}-migrate"]:
            status = plane.get_json(f"job/{job}").get("status", {})
            if status.get("succeeded", 0) < 1:
                fail(f"hook Job {job} did not complete: {status}")
        log("    hook Jobs topics and migrate completed")
        for kind in ["servicemonitor", "prometheusrule", "hpa", "pdb"]:
            items = plane.get_json(kind, "-l", f"app.kubernetes.io/instance={RELEASE}")["items"]
            if not items:
                fail(f"no {kind} of the release on the server after `{command}`")
    if command.startswith("kubectl drain"):
        pods = plane.get_json("pods", "--field-selector", f"spec.nodeName={NODES[0]}")["items"]
        if pods:
            fail(f"pods left on drained {NODES[0]}: {[p['metadata']['name'] for p in pods]}")
    if "create secret generic paypipe-admin-token" in command and "apply" in command:
        token = plane.get_json("secret/paypipe-admin-token")["data"]["token"]
        if len(base64.b64decode(token)) != 48:
            fail("the rotated admin token is not 24 random bytes in hex")


if __name__ == "__main__":
    main()
