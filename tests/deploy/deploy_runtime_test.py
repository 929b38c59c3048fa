#!/usr/bin/python3
"""Runs the gateway exactly as each deploy file starts it and probes it as the platform would
(run by tests/deploy/run_deploy_test.sh inside a network namespace of its own, `unshare -n`, where
only a loopback interface exists, so the files' own ports and even 0.0.0.0 stay on this machine).

Each scenario: the image's ENV, ENTRYPOINT and CMD (Dockerfile) with the deploy file's args and
environment on top; the upstream is a local fake Formance (fake_formance.py, OAuth2 token endpoint
and ledger reads); the process runs under the deploy file's numeric uid/gid with no new privileges
and an empty capability bounding set (setpriv), as the securityContext / User= asks, on a read-only
root filesystem (a mount namespace of its own) where the file asks for one.

- kubernetes (sidecar.yaml, then the component rendered into deploy/kubernetes/example): the pod
  IP is 127.0.0.2 (status.podIP), volumes are laid out as the kubelet's atomic writer does
  (..data symlink); the kubelet's startup, readiness and liveness probes hit the admin port on the
  pod IP while the API answers on 127.0.0.1 only; the admin gRPC port answers grpc.health.v1 and
  nothing else; /metrics answers. For sidecar.yaml also: the secret rotated as the kubelet rotates
  it reaches the token endpoint without a restart; a ConfigMap edit is reloaded (an invalid one is
  refused and the running config kept); the peak RSS (VmHWM) under a bounded load stays
  under the memory request; SIGTERM turns /readyz NOT ready at once, the API keeps answering during
  drain_delay, and the process exits 0 within terminationGracePeriodSeconds.
- compose: the service's command and environment, its healthcheck command, the published ports.
- Dockerfile: ENTRYPOINT + CMD, the HEALTHCHECK command succeeds while the gateway runs and fails
  once it is stopped.
- systemd: install.sh into a scratch root, the operator's edit of gateway.yaml, ExecStart and
  Environment= of the unit with the root prefixed to its paths, as the service user, under the
  unit's SystemCallFilter= and RestrictAddressFamilies= (systemd_sandbox.py); probes;
  rotation with install.sh --set-secret; SIGHUP (ExecReload) keeps it serving; SIGTERM.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import grpc
import yaml

from deploy_lib import (BUILD, CLI, DEPLOY, GATEWAY, HERE, K8S, MIB, ROOT, Skip, check,
                        duration_seconds,
                        compose_gateway, configmap_gateway_yaml, container_env, effective_listen,
                        exec_form_or_shell, expand_k8s, expect, flag_value, gateway_container,
                        image_config, kustomize_build, kustomize_fallback, load_yaml_docs, pod_spec,
                        quantity_bytes, run_checks, split_hostport, systemd_unit)

POD_IP = "127.0.0.2"
TMP = tempfile.mkdtemp(prefix="fgw-deploy-")
os.chmod(TMP, 0o755)  # The gateway runs as an unprivileged uid and must reach its volumes.
PROCS = []
EMPTY_DIRS = []


# ---- processes -----------------------------------------------------------------------------------
def spawn(argv, env, log_name, uid=None, gid=None, read_only_root=False, seccomp_unit=None):
    """Starts argv as uid:gid with no new privileges and no capabilities; with read_only_root,
    in a mount namespace of its own whose root filesystem is read-only (readOnlyRootFilesystem,
    compose read_only, ProtectSystem=strict); with seccomp_unit, under that unit's
    SystemCallFilter= and RestrictAddressFamilies= (systemd_sandbox.py). The pid is the
    program's own (each step execs)."""
    if seccomp_unit:
        argv = ["/usr/bin/python3", os.path.join(HERE, "systemd_sandbox.py"), seccomp_unit,
                "--"] + argv
    if uid is not None:
        argv = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid, "--clear-groups",
                "--no-new-privs", "--bounding-set=-all", "--inh-caps=-all", "--"] + argv
    if read_only_root:
        argv = ["unshare", "-m", "--", "sh", "-c",
                'mount --make-rprivate / && mount -o remount,bind,ro / && exec "$@"', "sh"] + argv
    log = open(os.path.join(TMP, log_name), "ab")
    p = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    PROCS.append(p)
    return p


def stop(p, timeout=30):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
    return p.returncode


def log_tail(name, n=15):
    try:
        with open(os.path.join(TMP, name), errors="replace") as f:
            return " | ".join(f.read().strip().splitlines()[-n:])
    except OSError:
        return ""


def start_fake(any_token=False):
    argv = ["/usr/bin/python3", os.path.join(HERE, "fake_formance.py"), "--host", "127.0.0.1"]
    if any_token:
        argv.append("--any-token")
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    PROCS.append(p)
    line = p.stdout.readline()
    expect(line.startswith("listening on "), "fake upstream: %r" % line)
    return p, "http://127.0.0.1:%d" % int(line.split()[-1])


def fake_secrets(url):
    with urllib.request.urlopen(url + "/_fake/tokens", timeout=5) as r:
        return json.load(r)


def wait_until(fn, timeout, what, interval=0.1, proc=None, log=None):
    """Polls fn() until it returns a true value, at most `timeout` seconds; that value. Gives up
    at once when `proc` (the gateway) has exited; the message ends with the tail of `log`."""
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise AssertionError("%s: the gateway exited with %s (log: %s)" % (
                what, proc.returncode, log_tail(log) if log else ""))
        try:
            v = fn()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - remembered for the message
            last = e
        time.sleep(interval)
    raise AssertionError("%s: not within %gs (%s)%s" % (
        what, timeout, last, " (log: %s)" % log_tail(log) if log else ""))


# ---- probes as the kubelet, docker and an operator do them ---------------------------------------
def http_status(url, timeout=1.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def grpc_health(target, service="", timeout=2.0):
    """grpc.health.v1.Health/Check; the status enum name."""
    with grpc.insecure_channel(target) as ch:
        req = (b"\x0a" + bytes([len(service)]) + service.encode()) if service else b""
        resp = ch.unary_unary("/grpc.health.v1.Health/Check")(req, timeout=timeout)
    status = resp[1] if len(resp) >= 2 and resp[0] == 0x08 else 0
    return {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}[status]


def grpc_call(target, method, request=b"", timeout=10.0):
    """(code name, reply bytes) of a unary call with raw bytes."""
    with grpc.insecure_channel(target) as ch:
        try:
            return "OK", ch.unary_unary(method)(request, timeout=timeout)
        except grpc.RpcError as e:
            return e.code().name, e.details()


LIST_LEDGERS = "/formance.ledger.v2.LedgerService/ListLedgers"
LIST_TRANSACTIONS = "/formance.ledger.v2.LedgerService/ListTransactions"


def list_transactions_request(ledger, page_size):
    # ListTransactionsRequest: ledger = 1 (string), page_size = 2 (int64) per the generated proto;
    # the field numbers are checked below by the call's answer, not assumed silently.
    body = ledger.encode()
    return b"\x0a" + bytes([len(body)]) + body + b"\x10" + _varint(page_size)


def _varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def refused(host, port):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.settimeout(1)
    try:
        s.connect((host, port))
        return False
    except (ConnectionRefusedError, socket.timeout, OSError):
        return True
    finally:
        s.close()


def kubelet_probe(container, probe, pod_ip):
    """One probe attempt as the kubelet makes it: True on success."""
    timeout = probe.get("timeoutSeconds", 1)
    for kind in ("httpGet", "grpc", "tcpSocket"):
        if kind not in probe:
            continue
        port = probe[kind]["port"]
        if isinstance(port, str):
            port = next(p["containerPort"] for p in container["ports"] if p["name"] == port)
        host = probe[kind].get("host", pod_ip)
        if kind == "httpGet":
            try:
                url = "http://%s:%d%s" % (host, port, probe[kind]["path"])
                status, _ = http_status(url, timeout)
            except OSError:
                return False
            return 200 <= status < 400
        if kind == "grpc":
            try:
                return grpc_health("%s:%d" % (host, port), probe[kind].get("service", ""),
                                   timeout) == "SERVING"
            except grpc.RpcError:
                return False
        return not refused(host, port)
    raise AssertionError("unsupported probe %s" % probe)


def kubelet_wait(pod, name, bound=None):
    """Runs the probe as the kubelet schedules it until it succeeds (failureThreshold x period,
    polled more often); the seconds it took."""
    probe = pod.c[name]
    period = probe.get("periodSeconds", 10)
    budget = bound or probe.get("failureThreshold", 3) * period
    start = time.monotonic()
    wait_until(lambda: kubelet_probe(pod.c, probe, POD_IP), budget, name,
               interval=min(period, 0.2), proc=pod.proc, log=pod.log)
    return time.monotonic() - start


# ---- Kubernetes volumes, as the kubelet's atomic writer lays them out ---------------------------
def atomic_write_volume(directory, files, mode, generation):
    os.makedirs(directory, exist_ok=True)
    os.chmod(directory, 0o755)
    ts = os.path.join(directory, "..%d_generation" % generation)
    os.makedirs(ts)
    os.chmod(ts, 0o755)
    for k, v in files.items():
        path = os.path.join(ts, k)
        with open(path, "w") as f:
            f.write(v)
        os.chmod(path, mode)
    tmp_link = os.path.join(directory, "..data_tmp")
    os.symlink(os.path.basename(ts), tmp_link)
    old = os.path.realpath(os.path.join(directory, "..data")) if os.path.islink(
        os.path.join(directory, "..data")) else None
    os.rename(tmp_link, os.path.join(directory, "..data"))
    for k in files:
        link = os.path.join(directory, k)
        if not os.path.islink(link):
            os.symlink(os.path.join("..data", k), link)
    if old:
        shutil.rmtree(old)


class Pod:
    """The gateway container of a Deployment, started as the kubelet would on one node."""

    def __init__(self, label, objects, dep, upstream, secret):
        self.label, self.dep = label, dep
        self.c = gateway_container(dep)
        self.dir = os.path.join(TMP, label.replace("/", "_"))
        spec = pod_spec(dep)
        vols = {v["name"]: v for v in spec["volumes"]}
        self.mounts = {}
        self.secret_dir = None
        for m in self.c.get("volumeMounts", []):
            v = vols[m["name"]]
            host = os.path.join(self.dir, "volumes", m["name"])
            if "secret" in v:
                atomic_write_volume(host, {"client_secret": secret},
                                    v["secret"].get("defaultMode", 0o644), 1)
                self.secret_dir = host
            elif "configMap" in v:
                cm = next(o for o in objects if o["kind"] == "ConfigMap"
                          and o["metadata"]["name"] == v["configMap"]["name"])
                atomic_write_volume(host, cm["data"], v["configMap"].get("defaultMode", 0o644), 1)
                self.config_dir = (host, v["configMap"].get("defaultMode", 0o644), dict(cm["data"]))
            elif "emptyDir" in v:
                # A writable scratch directory: on /dev/shm, which stays writable (and visible to
                # this test) when the container's root filesystem is read-only.
                host = tempfile.mkdtemp(prefix="fgw-deploy-emptydir-", dir="/dev/shm")
                os.chmod(host, 0o777)
                EMPTY_DIRS.append(host)
            else:
                raise AssertionError("volume %s: unsupported type" % m["name"])
            self.mounts[m["mountPath"].rstrip("/")] = host
        self.generation = 1
        img_env, entry, _ = image_config()
        env = dict(img_env)
        env.update(container_env(self.c, POD_IP))
        expect("FORMANCE_URL" in env, "the container sets no FORMANCE_URL")
        env["FORMANCE_URL"] = upstream  # The only substitution: the stack is the local fake.
        self.env = {k: self.on_host(v) for k, v in env.items()}
        self.env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        args = [self.on_host_arg(expand_k8s(a, env)) for a in self.c.get("args", [])]
        expect(entry and entry[0] == "/usr/local/bin/formance-grpc-gateway", "ENTRYPOINT")
        self.argv = [GATEWAY] + args
        sc = self.c.get("securityContext", {})
        self.uid, self.gid = sc["runAsUser"], sc.get("runAsGroup", sc["runAsUser"])
        _, self.config = configmap_gateway_yaml(objects, dep, self.c)
        self.api = effective_listen(args, env, self.config)  # unix: paths are on the host
        (self.admin_host, self.admin_port) = split_hostport(flag_value(args, "admin_listen"))
        self.admin_grpc = flag_value(args, "admin_grpc_listen")
        self.log = "%s.log" % label.replace("/", "_")
        self.proc = None

    def on_host(self, value):
        for mount, host in self.mounts.items():
            if value == mount or value.startswith(mount + "/"):
                return host + value[len(mount):]
        return value

    def on_host_arg(self, arg):
        flag, eq, value = arg.partition("=")
        if not (eq and arg.startswith("--")):
            return self.on_host(arg)
        if value.startswith("unix:"):
            return flag + eq + "unix:" + self.on_host(value[len("unix:"):])
        return flag + eq + self.on_host(value)

    def start(self):
        ports_free(None if self.api.startswith("unix:") else self.api, "%s:%d" % (self.admin_host, self.admin_port), self.admin_grpc)
        ro = self.c.get("securityContext", {}).get("readOnlyRootFilesystem") is True
        self.proc = spawn(self.argv, self.env, self.log, self.uid, self.gid, read_only_root=ro)
        return self

    def rotate_secret(self, value):
        self.generation += 1
        mode = next(v["secret"].get("defaultMode", 0o644) for v in pod_spec(self.dep)["volumes"]
                    if "secret" in v)
        atomic_write_volume(self.secret_dir, {"client_secret": value}, mode, self.generation)

    def update_configmap(self, data):
        self.generation += 1
        host, mode, _ = self.config_dir
        atomic_write_volume(host, data, mode, self.generation)

    def vm_hwm_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise AssertionError("no VmHWM")

    def admin_url(self, path):
        return "http://%s:%d%s" % (self.admin_host, self.admin_port, path)


def ports_free(*addresses):
    """Fails when something already answers on one of these host:port addresses (a gateway of
    an earlier scenario still running would answer this scenario's probes)."""
    for a in addresses:
        if a and not a.startswith("unix:"):
            host, port = split_hostport(a)
            host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
            expect(refused(host, port), "%s is already in use before the start" % a)


def root_is_read_only(pid):
    with open("/proc/%d/mountinfo" % pid) as f:
        for line in f:
            fields = line.split()
            if fields[4] == "/":
                return "ro" in fields[5].split(",")
    return False


def cli_has_health():
    out = subprocess.run([CLI, "--help"], capture_output=True, text=True, timeout=10)
    return "health" in out.stdout + out.stderr


def probe_pod(pod, fake_url):
    """The checks every Kubernetes scenario shares; a summary string."""
    expect(pod.admin_host == POD_IP, "admin bound to %s, not the pod IP" % pod.admin_host)
    t = kubelet_wait(pod, "startupProbe")
    kubelet_wait(pod, "livenessProbe", bound=5)
    expect(root_is_read_only(pod.proc.pid), "the root filesystem is writable for the gateway")
    if pod.api.startswith("unix:"):
        expect(os.path.dirname(pod.api[len("unix:"):]).startswith("/dev/shm/"),
               "the socket is not on the emptyDir")
    else:
        api_host, api_port = split_hostport(pod.api)
        expect(api_host == "127.0.0.1", "API on %s" % pod.api)
    code, _ = grpc_call(pod.api, LIST_LEDGERS)
    expect(code == "OK", "ListLedgers through the API: %s" % code)
    kubelet_wait(pod, "readinessProbe", bound=10)
    # What listens where: the API only on loopback (or the socket), the admin only on the pod IP.
    if not pod.api.startswith("unix:"):
        expect(refused(POD_IP, api_port), "the API answers on the pod IP")
    expect(refused("127.0.0.1", pod.admin_port), "the admin listener answers on loopback")
    status, body = http_status(pod.admin_url("/metrics"), 3)
    expect(status == 200 and b"grpc_server_handled_total" in body, "/metrics: %s" % status)
    if pod.admin_grpc:
        expect(grpc_health(pod.admin_grpc) == "SERVING", "admin gRPC health")
        # The gRPC readiness gate follows /readyz on a refresh timer: the kubelet's next probe.
        wait_until(lambda: grpc_health(pod.admin_grpc, "readiness") == "SERVING", 5,
                   "admin gRPC readiness", proc=pod.proc, log=pod.log)
        code, _ = grpc_call(pod.admin_grpc, LIST_LEDGERS)
        expect(code == "UNIMPLEMENTED", "the admin gRPC port serves Formance calls (%s)" % code)
    secrets = fake_secrets(fake_url)
    expect(secrets and secrets[-1] == "secret-v1", "token request secrets %s" % secrets)
    return "started in %.1fs, probes on %s:%d, API on %s" % (t, POD_IP, pod.admin_port, pod.api)


# ---- scenarios -----------------------------------------------------------------------------------
SIDECAR = {}


@check
def k8s_sidecar_yaml_runs_and_probes():
    objects = load_yaml_docs(os.path.join(K8S, "sidecar.yaml"))
    dep = next(o for o in objects if o["kind"] == "Deployment")
    _, url = start_fake()
    pod = Pod("sidecar.yaml", objects, dep, url, "secret-v1\n").start()
    SIDECAR.update(pod=pod, url=url, dep=dep)
    try:
        note = probe_pod(pod, url)
    except BaseException:
        stop(pod.proc)  # Its ports are the next scenarios' ports.
        raise
    SIDECAR["probed"] = True
    return note


def running_sidecar():
    pod = SIDECAR.get("pod")
    expect(pod and pod.proc.poll() is None and SIDECAR.get("probed"),
           "the sidecar.yaml gateway did not start and pass its probes")
    return pod


@check
def k8s_secret_rotation_without_restart():
    pod, url = running_sidecar(), SIDECAR["url"]
    pod.rotate_secret("secret-v2\n")

    def rotated():
        code, _ = grpc_call(pod.api, LIST_LEDGERS)
        expect(code == "OK", "a call during the rotation failed: %s" % code)
        return fake_secrets(url)[-1] == "secret-v2"
    wait_until(rotated, 20, "the rotated secret at the token endpoint", interval=0.3)
    expect(pod.proc.poll() is None, "the gateway restarted")
    return "token requests carried %s" % fake_secrets(url)


@check
def k8s_configmap_edit_reloads():
    pod = running_sidecar()
    host, mode, data = pod.config_dir
    (key, text), = data.items()
    cfg = yaml.safe_load(text)
    before = cfg.get("log", {}).get("level", "info")
    cfg.setdefault("log", {})["level"] = "debug"
    pod.update_configmap({key: yaml.safe_dump(cfg)})
    wait_until(lambda: "log.level %s -> debug" % before in log_tail(pod.log, 400), 20,
               "the ConfigMap edit reloaded", interval=0.3, proc=pod.proc, log=pod.log)
    pod.update_configmap({key: text + "\nno_such_key: 1\n"})
    wait_until(lambda: "keeping the running config" in log_tail(pod.log, 400), 20,
               "an invalid ConfigMap edit refused", interval=0.3, proc=pod.proc, log=pod.log)
    expect(grpc_call(pod.api, LIST_LEDGERS)[0] == "OK", "serving after an invalid edit")
    pod.update_configmap({key: text})
    return "log.level %s -> debug applied; an unknown key kept the running config" % before


@check
def k8s_peak_rss_under_load_within_request():
    pod = running_sidecar()
    req = quantity_bytes(pod.c["resources"]["requests"]["memory"])
    code, reply = grpc_call(pod.api, LIST_TRANSACTIONS, list_transactions_request("main", 1000))
    expect(code == "OK" and len(reply) > 100000, "ListTransactions(pageSize 1000): %s %s" % (
        code, len(reply)))
    deadline = time.monotonic() + float(os.environ.get("FGW_DEPLOY_LOAD_SECONDS", "6"))
    counts = {"ok": 0, "err": 0}
    lock = threading.Lock()

    def worker(i):
        with grpc.insecure_channel(pod.api) as ch:
            page = ch.unary_unary(LIST_TRANSACTIONS)
            small = ch.unary_unary(LIST_LEDGERS)
            n = 0
            while time.monotonic() < deadline and n < 5000:
                try:
                    if n % 4 == 0:
                        page(list_transactions_request("main", 1000), timeout=10)
                    else:
                        small(b"", timeout=10)
                    k = "ok"
                except grpc.RpcError:
                    k = "err"
                n += 1
                with lock:
                    counts[k] += 1
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    hwm = pod.vm_hwm_kib() * 1024
    with open(os.path.join(TMP, "peak_rss_mib"), "w") as f:
        f.write("%.1f\n" % (hwm / MIB))
    expect(counts["err"] == 0, "%d calls failed" % counts["err"])
    expect(hwm <= req, "VmHWM %.1f MiB above requests.memory %.0f MiB" % (hwm / MIB, req / MIB))
    return ("VmHWM %.1f MiB after %d calls (16 in flight, 1 in 4 a page of 1,000) <= request "
            "%.0f MiB") % (
        hwm / MIB, counts["ok"], req / MIB)


@check
def k8s_sigterm_drains_within_grace_period():
    pod = running_sidecar()
    try:
        return sigterm_drains(pod, SIDECAR["dep"])
    finally:
        stop(pod.proc)


def sigterm_drains(pod, dep):
    grace = pod_spec(dep).get("terminationGracePeriodSeconds", 30)
    drain = (pod.config or {}).get("grpc", {}).get("drain_delay", "0s")
    t0 = time.monotonic()
    pod.proc.send_signal(signal.SIGTERM)
    wait_until(lambda: not kubelet_probe(pod.c, pod.c["readinessProbe"], POD_IP), 1.0,
               "/readyz NOT ready after SIGTERM", interval=0.05)
    t_unready = time.monotonic() - t0
    if pod.admin_grpc:
        expect(grpc_health(pod.admin_grpc, "readiness") == "NOT_SERVING", "gRPC readiness")
    if drain not in ("0s", "0"):
        code, _ = grpc_call(pod.api, LIST_LEDGERS)
        expect(code == "OK", "a call during drain_delay %s: %s" % (drain, code))
        live = pod.c["livenessProbe"]
        expect(kubelet_probe(pod.c, live, POD_IP) or live.get("failureThreshold", 3) * live.get(
            "periodSeconds", 10) > duration_seconds(drain), "liveness fails during the drain")
    try:
        rc = pod.proc.wait(grace)
    except subprocess.TimeoutExpired:
        raise AssertionError("still running %ss after SIGTERM (the kubelet kills it)" % grace)
    took = time.monotonic() - t0
    expect(rc == 0, "exit status %s" % rc)
    return "NOT ready after %.2fs, exited 0 after %.1fs (grace %ss)" % (t_unready, took, grace)


@check
def k8s_component_rendered_runs_and_probes():
    d = os.path.join(K8S, "example")
    objects = kustomize_build(d) or kustomize_fallback(d)
    dep = next(o for o in objects if o["kind"] == "Deployment")
    fake, url = start_fake()
    pod = Pod("example", objects, dep, url, "secret-v1\n").start()
    try:
        return probe_pod(pod, url)
    finally:
        stop(pod.proc)
        stop(fake)


@check
def k8s_unix_socket_variant_runs_and_probes():
    d = os.path.join(HERE, "fixtures", "unix-socket")
    objects = kustomize_build(d) or kustomize_fallback(d)
    dep = next(o for o in objects if o["kind"] == "Deployment")
    fake, url = start_fake()
    pod = Pod("unix-socket", objects, dep, url, "secret-v1\n").start()
    try:
        return probe_pod(pod, url)
    finally:
        stop(pod.proc)
        stop(fake)


def run_healthcheck(cmd, uid=10001, gid=10001):
    """The health check command as the container runs it: as the container's user."""
    argv = [CLI if w == "/usr/local/bin/formance-grpc-cli" else w for w in cmd]
    argv = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid, "--clear-groups",
            "--no-new-privs", "--bounding-set=-all", "--"] + argv
    return subprocess.run(argv, capture_output=True, text=True, timeout=15)


def healthcheck_addr(cmd):
    addr = flag_value(cmd, "addr")
    expect(addr, "the health check names no --addr: %s" % cmd)
    return addr


COMPOSE = {}


@check
def compose_service_runs_and_probes():
    g = compose_gateway()
    _, url = start_fake(any_token=True)
    img_env, entry, _ = image_config()
    env = dict(img_env)
    env.update({k: str(v) for k, v in g.get("environment", {}).items()})
    env["FORMANCE_URL"] = url
    env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
    uid, _, gid = str(g["user"]).partition(":")
    # In this namespace only loopback exists: the service's own 0.0.0.0 binds stay here.
    ports_free(*[flag_value(g["command"], f)
                 for f in ("listen", "admin_listen", "admin_grpc_listen")])
    p = spawn([GATEWAY] + list(g["command"]), env, "compose.log", int(uid), int(gid),
              read_only_root=g.get("read_only") is True)
    COMPOSE["proc"] = p
    try:
        return compose_probes(g, p)
    except BaseException:
        stop(p)  # Its ports are the next scenarios' ports.
        raise


def compose_probes(g, p):
    published = {int(str(x).split(":")[-1]): str(x) for x in g["ports"]}
    admin_port = split_hostport(flag_value(g["command"], "admin_listen"))[1]
    expect(admin_port in published, "the admin port is not published")
    wait_until(lambda: http_status("http://127.0.0.1:%d/healthz" % admin_port)[0] == 200, 15,
               "compose /healthz", proc=p, log="compose.log")
    expect(root_is_read_only(p.pid) == (g.get("read_only") is True), "read_only not applied")
    api_port = split_hostport(flag_value(g["command"], "listen"))[1]
    code, _ = grpc_call("127.0.0.1:%d" % api_port, LIST_LEDGERS)
    expect(code == "OK", "ListLedgers: %s" % code)
    wait_until(lambda: http_status("http://127.0.0.1:%d/readyz" % admin_port)[0] == 200, 10,
               "compose /readyz", proc=p, log="compose.log")
    hc = g["healthcheck"]["test"][1:]
    expect(grpc_health(healthcheck_addr(hc)) == "SERVING", "health at the healthcheck's address")
    return "/healthz, /readyz 200 on the published admin port; SERVING at %s" % healthcheck_addr(hc)


@check
def compose_healthcheck_command():
    p = COMPOSE.get("proc")
    expect(p is not None and p.poll() is None, "the compose gateway is not running")
    try:
        g = compose_gateway()
        hc = g["healthcheck"]["test"]
        uid, gid = (int(x) for x in str(g["user"]).split(":"))
        if not cli_has_health():
            raise Skip("the CLI has no `health` command yet (issue 13): %s not run" % hc)
        out = run_healthcheck(hc[1:], uid, gid)
        expect(out.returncode == 0, "healthcheck exit %d: %s" % (out.returncode, out.stderr))
    finally:
        stop(p)
    out = run_healthcheck(hc[1:], uid, gid)
    expect(out.returncode != 0, "the healthcheck succeeds with the gateway stopped")
    return "exit 0 while up, %d once stopped" % out.returncode


DOCKER = {}


def image_healthcheck():
    final = __import__("deploy_lib").dockerfile_stages(os.path.join(ROOT, "Dockerfile"))[-1]
    hc = [a for i, a in final["instructions"] if i == "HEALTHCHECK"][-1]
    return exec_form_or_shell(hc.split("CMD", 1)[1])


@check
def dockerfile_image_defaults_serve_health_where_the_healthcheck_asks():
    img_env, entry, cmd = image_config()
    hc = image_healthcheck()
    _, url = start_fake(any_token=True)
    env = dict(img_env, FORMANCE_URL=url, FORMANCE_TOKEN="t", PATH="/usr/bin:/bin")
    expect(entry == ["/usr/local/bin/formance-grpc-gateway"], "ENTRYPOINT %s" % entry)
    ports_free(*[flag_value(cmd, f) for f in ("listen", "admin_listen", "admin_grpc_listen")])
    # As is, the image refuses a plaintext API on 0.0.0.0 (no TLS, no callers): `docker run`
    # needs one of them or -e FGW_ALLOW_INSECURE_REMOTE=1, the opt-in the Dockerfile documents.
    refused_run = spawn([GATEWAY] + cmd, env, "docker-refused.log", 10001, 10001,
                        read_only_root=True)
    expect(refused_run.wait(20) != 0, "the image's defaults serve a plaintext API on 0.0.0.0")
    expect("FGW_ALLOW_INSECURE_REMOTE" in log_tail("docker-refused.log"), "refusal message")
    env["FGW_ALLOW_INSECURE_REMOTE"] = "1"
    p = spawn([GATEWAY] + cmd, env, "docker.log", 10001, 10001, read_only_root=True)
    DOCKER["proc"] = p
    try:
        return image_probes(p, cmd, hc)
    except BaseException:
        stop(p)
        raise


def image_probes(p, cmd, hc):
    wait_until(lambda: grpc_health(healthcheck_addr(hc)) == "SERVING", 15,
               "health at the HEALTHCHECK's address", proc=p, log="docker.log")
    code, _ = grpc_call("127.0.0.1:%d" % split_hostport(flag_value(cmd, "listen"))[1], LIST_LEDGERS)
    expect(code == "OK", "ListLedgers on the image's API port: %s" % code)
    return ("ENTRYPOINT + CMD %s: refused as is (plaintext on 0.0.0.0), with "
            "FGW_ALLOW_INSECURE_REMOTE=1 SERVING at %s") % (cmd, healthcheck_addr(hc))


@check
def dockerfile_healthcheck_command():
    p = DOCKER.get("proc")
    expect(p is not None and p.poll() is None, "the image-default gateway is not running")
    hc = image_healthcheck()
    try:
        if not cli_has_health():
            raise Skip("the CLI has no `health` command yet (issue 13): HEALTHCHECK %s not run"
                       % hc)
        out = run_healthcheck(hc)
        expect(out.returncode == 0, "HEALTHCHECK exit %d: %s" % (out.returncode, out.stderr))
    finally:
        stop(p)
    out = run_healthcheck(hc)
    expect(out.returncode != 0, "HEALTHCHECK succeeds with the gateway stopped")
    return "exit 0 while up, %d once stopped" % out.returncode


@check
def systemd_unit_runs_rotates_reloads_and_stops():
    root = os.path.join(TMP, "sysroot")
    os.makedirs(root)
    os.chmod(root, 0o755)
    inst = [os.path.join(DEPLOY, "systemd", "install.sh"), "--root", root, "--build-dir", BUILD]
    out = subprocess.run(["bash"] + inst, capture_output=True, text=True, timeout=60)
    expect(out.returncode == 0, "install.sh: %s" % out.stderr)
    out = subprocess.run(["bash"] + inst + ["--set-secret"], input="host-secret-1\n",
                         capture_output=True, text=True, timeout=30)
    expect(out.returncode == 0, "--set-secret: %s" % out.stderr)
    _, url = start_fake()
    conf = os.path.join(root, "etc", "formance-grpc-gateway", "gateway.yaml")
    with open(conf) as f:
        cfg = yaml.safe_load(f)
    cfg["upstream"]["url"] = url  # The operator's edit: their stack and client id.
    cfg["auth"]["client_id"] = "host-client"
    with open(conf, "w") as f:
        yaml.safe_dump(cfg, f)
    svc = systemd_unit(os.path.join(root, "etc", "systemd", "system",
                                    "formance-grpc-gateway.service"))["Service"]
    d = {}
    for k, v in svc:
        d.setdefault(k, []).append(v)
    rooted = lambda w: root + w if w.startswith("/") else w  # noqa: E731
    argv = []
    for w in d["ExecStart"][0].split():
        flag, eq, value = w.partition("=")
        argv.append(flag + eq + rooted(value) if eq and w.startswith("--") else rooted(w))
    env = {"PATH": "/usr/bin:/bin"}
    for line in d.get("Environment", []):
        for e in line.split():
            k, _, v = e.partition("=")
            env[k] = rooted(v)
    with open(os.path.join(root, "etc", "passwd")) as f:
        user = next(l.split(":") for l in f if l.startswith(d["User"][0] + ":"))
    expect(d["ProtectSystem"] == ["strict"], "ProtectSystem")
    ports_free(cfg["listen"], cfg["admin"]["listen"], cfg["admin"]["grpc_listen"])
    unit = os.path.join(root, "etc", "systemd", "system", "formance-grpc-gateway.service")
    p = spawn(argv, env, "systemd.log", int(user[2]), int(user[3]), read_only_root=True,
              seccomp_unit=unit)
    try:
        admin = "http://%s" % cfg["admin"]["listen"]
        wait_until(lambda: http_status(admin + "/healthz")[0] == 200, 15, "systemd /healthz",
                   proc=p, log="systemd.log")
        expect(cfg["listen"] != cfg["admin"]["listen"], "API and admin on one address")
        expect(root_is_read_only(p.pid), "ProtectSystem=strict not applied")
        with open("/proc/%d/status" % p.pid) as f:
            status = dict(l.split(":", 1) for l in f if ":" in l)
        expect(status["Seccomp"].strip() == "2" and status["NoNewPrivs"].strip() == "1",
               "the seccomp filter is not loaded")
        expect(int(status["CapBnd"].strip(), 16) == 0, "capabilities left in the bounding set")
        code, _ = grpc_call(cfg["listen"], LIST_LEDGERS)
        expect(code == "OK", "ListLedgers: %s" % code)
        wait_until(lambda: http_status(admin + "/readyz")[0] == 200, 10, "systemd /readyz")
        expect(grpc_health(cfg["admin"]["grpc_listen"]) == "SERVING", "admin gRPC health")
        expect(fake_secrets(url)[-1] == "host-secret-1", "secret %s" % fake_secrets(url))
        out = subprocess.run(["bash"] + inst + ["--set-secret"], input="host-secret-2\n",
                             capture_output=True, text=True, timeout=30)
        expect(out.returncode == 0, "rotation: %s" % out.stderr)
        wait_until(lambda: grpc_call(cfg["listen"], LIST_LEDGERS)[0] == "OK"
                   and fake_secrets(url)[-1] == "host-secret-2", 20, "rotated secret used",
                   interval=0.3)
        p.send_signal(signal.SIGHUP)  # ExecReload
        time.sleep(0.5)
        expect(p.poll() is None, "SIGHUP stopped the gateway")
        expect(grpc_call(cfg["listen"], LIST_LEDGERS)[0] == "OK", "serving after SIGHUP")
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        limit = float(d["TimeoutStopSec"][0])
        try:
            rc = p.wait(limit)
        except subprocess.TimeoutExpired:
            raise AssertionError("still running %gs after SIGTERM (TimeoutStopSec)" % limit)
        expect(rc == 0, "exit status %s" % rc)
        return ("as uid %s under the unit's seccomp filter: probes, rotation, SIGHUP; stopped in "
                "%.1fs (TimeoutStopSec %g)") % (
            user[2], time.monotonic() - t0, limit)
    finally:
        stop(p)


def main():
    expect_tools = [GATEWAY, CLI]
    for t in expect_tools:
        if not os.path.exists(t):
            print("SKIP: %s not built" % t)
            return 77
    try:
        return run_checks("deploy runtime")
    finally:
        for p in PROCS:
            stop(p, 10)
        peak = os.path.join(TMP, "peak_rss_mib")
        if os.path.exists(peak):
            with open(peak) as f:
                print("measured peak RSS: %s MiB" % f.read().strip())
        for d in EMPTY_DIRS:
            shutil.rmtree(d, ignore_errors=True)
        if os.environ.get("FGW_KEEP_TMP") == "1":
            print("logs kept in", TMP)
        else:
            shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
