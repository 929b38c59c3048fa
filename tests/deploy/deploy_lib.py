"""Shared helpers of the deploy tests (tests/deploy/run_deploy_test.sh): reading the deploy files
as their platforms do (Kubernetes manifests and kustomize, compose, systemd units, Dockerfiles),
and a check runner that prints one line per check and "N passed, M failed".
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import traceback

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DEPLOY = os.path.join(ROOT, "deploy")
K8S = os.path.join(DEPLOY, "kubernetes")
BUILD = os.environ.get("FGW_BUILD_DIR", "build")
if not os.path.isabs(BUILD):
    BUILD = os.path.join(ROOT, BUILD)
GATEWAY = os.environ.get("FGW_BIN") or os.path.join(BUILD, "server", "formance-grpc-gateway")
CLI = os.environ.get("FGW_CLI") or os.path.join(BUILD, "client", "formance-grpc-cli")
NODE_MODULES = os.environ.get("FGW_NODE_MODULES") or os.path.join(ROOT, "tests", "node_modules")
GATEWAY_CONTAINER = "formance-grpc-gateway"
MIB = 1024 * 1024


# ---- check runner ------------------------------------------------------------------------------
class Skip(Exception):
    """A check that cannot run here, with the reason (counted apart, never as a pass)."""


_CHECKS = []


def check(fn):
    _CHECKS.append(fn)
    return fn


def run_checks(title):
    passed = failed = skipped = 0
    for fn in _CHECKS:
        name = fn.__name__
        try:
            note = fn()
            passed += 1
            print("ok   %s%s" % (name, (": " + note) if note else ""), flush=True)
        except Skip as e:
            skipped += 1
            print("SKIP %s: %s" % (name, e), flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported, then the next check runs
            failed += 1
            print("FAIL %s: %s" % (name, e), flush=True)
            if os.environ.get("FGW_DEPLOY_TRACE"):
                traceback.print_exc()
    print("%s: %d passed, %d failed, %d skipped" % (title, passed, failed, skipped), flush=True)
    return 0 if failed == 0 and passed > 0 else 1


def expect(cond, message):
    if not cond:
        raise AssertionError(message)


# ---- units -------------------------------------------------------------------------------------
_QUANTITY = {"Ki": 1024, "Mi": MIB, "Gi": 1024 * MIB, "k": 1000, "M": 10**6, "G": 10**9, "": 1}


def quantity_bytes(q):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|k|M|G|)", str(q))
    expect(m, "unsupported memory quantity %r" % (q,))
    return float(m.group(1)) * _QUANTITY[m.group(2)]


def duration_seconds(text):
    """Go-style durations as the gateway's config takes them: 250ms, 5s, 1m30s."""
    total, pos = 0.0, 0
    for m in re.finditer(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text):
        expect(m.start() == pos, "bad duration %r" % text)
        total += float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]
        pos = m.end()
    expect(pos == len(text) and pos > 0, "bad duration %r" % text)
    return total


def example_config():
    with open(os.path.join(ROOT, "config", "gateway.example.yaml")) as f:
        return yaml.safe_load(f)


def builtin_default_seconds(field):
    """A duration default of server/config/gateway_config.h (`field = absl::Seconds(N);`)."""
    with open(os.path.join(ROOT, "server", "config", "gateway_config.h")) as f:
        m = re.search(r"\b%s = absl::Seconds\((\d+)\);" % field, f.read())
    expect(m, "no default for %s in gateway_config.h" % field)
    return "%ss" % m.group(1)


def stop_budget(config):
    """grpc.drain_delay + grpc.shutdown_grace of a config dict; defaults from the example file,
    else from gateway_config.h."""
    defaults = example_config().get("grpc", {})
    grpc = (config or {}).get("grpc", {}) or {}
    drain = grpc.get("drain_delay") or defaults.get("drain_delay") or builtin_default_seconds(
        "drain_delay")
    grace = grpc.get("shutdown_grace") or defaults.get("shutdown_grace") or builtin_default_seconds(
        "shutdown_grace")
    return duration_seconds(drain) + duration_seconds(grace)


# ---- Kubernetes ----------------------------------------------------------------------------------
def load_yaml_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def kubectl():
    return shutil.which("kubectl")


def kustomize_build(directory):
    """Renders a kustomization with kubectl's built-in kustomize; None when kubectl is absent."""
    k = kubectl()
    if not k:
        return None
    out = subprocess.run([k, "kustomize", directory], capture_output=True, text=True, timeout=60)
    expect(out.returncode == 0, "kubectl kustomize %s: %s" % (directory, out.stderr.strip()))
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def _smp_merge(base, patch, list_keys):
    """Strategic merge of `patch` into `base` for the fields the component patches: maps merge,
    lists of objects merge by their Kubernetes merge key (name, containerPort, mountPath), other
    lists are replaced. The fallback renderer when kubectl is not installed."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            out[k] = _smp_merge(base.get(k), v, list_keys) if k in base else v
        return out
    if isinstance(base, list) and isinstance(patch, list) and patch and isinstance(patch[0], dict):
        key = next((k for k in list_keys if k in patch[0]), None)
        if key:
            # As kustomize orders them: the patch's items first, in its order (merged with the
            # original item of the same key), then the original items the patch does not name.
            out = []
            for item in patch:
                orig = next((b for b in base if b.get(key) == item.get(key)), None)
                out.append(item if orig is None else _smp_merge(orig, item, list_keys))
            named = {item.get(key) for item in patch}
            return out + [b for b in base if b.get(key) not in named]
    return patch


def kustomize_fallback(directory):
    """A minimal kustomize for the kustomizations of this repository (resources, components with
    resources and strategic-merge patches on a target kind, and inline strategic-merge patches by
    name). kubectl, when installed, renders the same files and the test compares both."""
    with open(os.path.join(directory, "kustomization.yaml")) as f:
        k = yaml.safe_load(f)
    objects = []
    for res in k.get("resources", []):
        path = os.path.normpath(os.path.join(directory, res))
        objects += kustomize_fallback(path) if os.path.isdir(path) else load_yaml_docs(path)
    patches = []
    for comp in k.get("components", []):
        cdir = os.path.normpath(os.path.join(directory, comp))
        with open(os.path.join(cdir, "kustomization.yaml")) as f:
            ck = yaml.safe_load(f)
        expect(ck.get("kind") == "Component", "%s is not a kustomize Component" % comp)
        for res in ck.get("resources", []):
            objects += load_yaml_docs(os.path.join(cdir, res))
        for p in ck.get("patches", []):
            body = load_yaml_docs(os.path.join(cdir, p["path"]))[0]
            patches.append((p.get("target", {}), body))
    for p in k.get("patches", []):
        body = yaml.safe_load(p["patch"]) if "patch" in p else load_yaml_docs(
            os.path.join(directory, p["path"]))[0]
        expect(isinstance(body, dict), "fallback renderer: only strategic-merge patches")
        patches.append((p.get("target") or {"kind": body["kind"],
                                             "name": body["metadata"]["name"]}, body))
    keys = ("name", "containerPort", "mountPath")
    for target, body in patches:
        for i, obj in enumerate(objects):
            if target.get("kind") and obj.get("kind") != target["kind"]:
                continue
            if target.get("name") and obj["metadata"]["name"] != target["name"]:
                continue
            merged = _smp_merge(obj, {k: v for k, v in body.items() if k != "metadata"}, keys)
            if "metadata" in body:
                meta = {k: v for k, v in body["metadata"].items() if k != "name"}
                merged["metadata"] = _smp_merge(obj["metadata"], meta, keys)
            objects[i] = merged
    return objects


def pod_spec(deployment):
    return deployment["spec"]["template"]["spec"]


def gateway_container(deployment):
    for c in pod_spec(deployment).get("initContainers", []) or []:
        if c["name"] == GATEWAY_CONTAINER:
            return c
    return None


def container_env(container, pod_ip):
    """The container's environment as the kubelet builds it (fieldRef status.podIP -> pod_ip)."""
    env = {}
    for e in container.get("env", []) or []:
        if "value" in e:
            env[e["name"]] = expand_k8s(str(e["value"]), env)
        elif e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "status.podIP":
            env[e["name"]] = pod_ip
        else:
            raise AssertionError("env %s: unsupported source %r" % (e["name"], e))
    return env


def expand_k8s(text, env):
    """$(VAR) expansion of args and env values, as the kubelet does ($$ escapes)."""
    def sub(m):
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", sub, text)


def flag_value(args, name):
    """The value of --name=V or --name V in an argument list (the last one wins), else None."""
    value = None
    for i, a in enumerate(args):
        if a.startswith("--%s=" % name):
            value = a.split("=", 1)[1]
        elif a == "--%s" % name and i + 1 < len(args):
            value = args[i + 1]
    return value


def split_hostport(addr):
    host, _, port = addr.rpartition(":")
    return host.strip("[]"), int(port)


def configmap_gateway_yaml(objects, deployment, container):
    """The gateway.yaml the container's --config points at, from the ConfigMap volume, or None."""
    path = flag_value(container.get("args", []), "config")
    if not path:
        return None, None
    vols = {v["name"]: v for v in pod_spec(deployment).get("volumes", [])}
    for m in container.get("volumeMounts", []):
        if path.startswith(m["mountPath"].rstrip("/") + "/"):
            cm_name = vols[m["name"]]["configMap"]["name"]
            key = path[len(m["mountPath"].rstrip("/")) + 1:]
            for o in objects:
                if o.get("kind") == "ConfigMap" and o["metadata"]["name"] == cm_name:
                    return path, yaml.safe_load(o["data"][key])
            raise AssertionError("ConfigMap %s not among the manifests" % cm_name)
    raise AssertionError("--config=%s is on no volume of the container" % path)


# ---- compose, systemd, Dockerfile ----------------------------------------------------------------
def compose_gateway():
    with open(os.path.join(DEPLOY, "compose", "compose.yaml")) as f:
        return yaml.safe_load(f)["services"]["gateway"]


def systemd_unit(path):
    """[Section] -> list of (key, value), continuation lines joined, comments dropped."""
    sections, cur = {}, None
    with open(path) as f:
        lines = f.read().replace("\\\n", " ").splitlines()
    for line in lines:
        s = line.strip()
        if not s or s[0] in "#;":
            continue
        if s.startswith("["):
            cur = sections.setdefault(s.strip("[]"), [])
            continue
        k, _, v = s.partition("=")
        cur.append((k.strip(), v.strip()))
    return sections


def dockerfile_stages(path):
    """[{'from': 'debian:12 AS build', 'instructions': [(INSTR, args)]}] in order."""
    with open(path) as f:
        text = re.sub(r"\\\n", " ", f.read())
    stages = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        instr, _, args = s.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            stages.append({"from": args.strip(), "instructions": []})
        else:
            expect(stages, "Dockerfile: %s before FROM" % instr)
            stages[-1]["instructions"].append((instr, args.strip()))
    return stages


def exec_form_or_shell(args):
    """A Dockerfile CMD/ENTRYPOINT/HEALTHCHECK CMD argument as an argv list."""
    args = args.strip()
    if args.startswith("["):
        return json.loads(args)
    return ["/bin/sh", "-c", args]


def shell_words(text):
    return shlex.split(text)


def print_err(*a):
    print(*a, file=sys.stderr, flush=True)


# ---- the image, as a container runtime starts it -------------------------------------------------
def image_config():
    """(env, entrypoint, cmd) of the Dockerfile's final stage."""
    final = dockerfile_stages(os.path.join(ROOT, "Dockerfile"))[-1]
    env, entry, cmd = {}, [], []
    for instr, args in final["instructions"]:
        if instr == "ENV":
            for word in shlex.split(args):
                k, _, v = word.partition("=")
                env[k] = v
        elif instr == "ENTRYPOINT":
            entry = exec_form_or_shell(args)
            cmd = []  # An ENTRYPOINT resets an inherited CMD.
        elif instr == "CMD":
            cmd = exec_form_or_shell(args)
    return env, entry, cmd


def effective_listen(args, env, config):
    """The API address the gateway uses: flag > environment (image + container) > YAML > default."""
    return (flag_value(args, "listen") or env.get("FGW_LISTEN") or (config or {}).get("listen")
            or "127.0.0.1:50051")
