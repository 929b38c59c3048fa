"""Shared plumbing of the system tests under tests/system/ (Debian /usr/bin/python3 with
python3-grpcio and python3-protobuf).

- Api: message classes from a FileDescriptorSet (protoc --include_imports) and generic
  channel.unary_unary stubs, as tests/fault/fault_test.py does; call() keeps everything the
  client was told (code, details, debug string, initial and trailing metadata).
- Gateway: starts the real binary with stdout+stderr into one file, learns its port from the
  "grpc: listening on HOST:PORT" log line (--listen 127.0.0.1:0), stops it.
- check()/report(): the failed-check list every test script prints at the end.
- Every process started here is appended to $FGW_SYS_PIDFILE, which the bash wrapper's trap kills.
"""

import os
import re
import signal
import socket
import subprocess
import time

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory


FAILURES = []


def check(cond, message):
    """Records a failed check (and prints it at once); returns `cond`."""
    if not cond:
        FAILURES.append(message)
        print("FAIL: " + message, flush=True)
    return cond


def report(limit=40):
    """Prints PASSED, or the failed checks (the first `limit`); returns the exit code."""
    if FAILURES:
        print("FAILED: %d check(s)" % len(FAILURES))
        for f in FAILURES[:limit]:
            print("  - " + f)
        return 1
    print("PASSED")
    return 0


def register_pid(pid):
    path = os.environ.get("FGW_SYS_PIDFILE")
    if path:
        with open(path, "a") as f:
            f.write("%d\n" % pid)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def threads_of(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


class CallResult:
    __slots__ = ("method", "code", "response", "details", "debug", "initial", "trailing", "latency")

    def texts(self):
        """Everything the client received except the response message, as bytes blobs."""
        out = [self.code.encode(), (self.details or "").encode("utf-8", "replace"),
               (self.debug or "").encode("utf-8", "replace")]
        for k, v in list(self.initial) + list(self.trailing):
            out.append(k.encode())
            out.append(v if isinstance(v, bytes) else v.encode("utf-8", "replace"))
        return out


class Api:
    def __init__(self, descriptor_set, target, service, options=()):
        fds = descriptor_pb2.FileDescriptorSet()
        with open(descriptor_set, "rb") as f:
            fds.ParseFromString(f.read())
        self.pool = descriptor_pool.DescriptorPool()
        for fd in fds.file:
            self.pool.Add(fd)
        self.factory = message_factory.MessageFactory(self.pool)
        self.service_name = service
        self.service = self.pool.FindServiceByName(service)
        self.channel = grpc.insecure_channel(
            target, options=[("grpc.max_receive_message_length", 64 << 20)] + list(options))
        self.stubs = {}

    def msg(self, full_name, **kw):
        return self.factory.GetPrototype(self.pool.FindMessageTypeByName(full_name))(**kw)

    def stub(self, method):
        """A generic unary-unary multicallable. Unknown methods get a raw-bytes stub."""
        if method not in self.stubs:
            try:
                m = self.service.FindMethodByName(method)
            except KeyError:
                m = None
            path = "/%s/%s" % (self.service_name, method)
            if m is None:
                self.stubs[method] = self.channel.unary_unary(
                    path, request_serializer=lambda x: x, response_deserializer=lambda b: b)
            else:
                out = self.factory.GetPrototype(m.output_type)
                self.stubs[method] = self.channel.unary_unary(
                    path, request_serializer=lambda x: x if isinstance(x, bytes) else x.SerializeToString(),
                    response_deserializer=out.FromString)
        return self.stubs[method]

    def call(self, method, request, metadata=(), timeout=10.0):
        r = CallResult()
        r.method = method
        t0 = time.monotonic()
        try:
            resp, c = self.stub(method).with_call(request, metadata=list(metadata), timeout=timeout)
            r.code, r.response, r.details, r.debug = "OK", resp, "", ""
            r.initial = tuple(c.initial_metadata() or ())
            r.trailing = tuple(c.trailing_metadata() or ())
        except grpc.RpcError as e:
            r.code, r.response, r.details = e.code().name, None, e.details() or ""
            r.debug = e.debug_error_string() if hasattr(e, "debug_error_string") else ""
            r.initial = tuple(e.initial_metadata() or ())
            r.trailing = tuple(e.trailing_metadata() or ())
        r.latency = time.monotonic() - t0
        return r


class Gateway:
    """The real daemon. `log_path` receives its stdout and stderr, whole."""

    LISTEN_RE = re.compile(rb"grpc: listening on [^\s]*:(\d+)")

    def __init__(self, binary, args, env, log_path):
        self.binary, self.args, self.env, self.log_path = binary, list(args), dict(env), log_path
        self.proc = None
        self.port = None

    def start(self, timeout=15.0):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.binary] + self.args, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=self.env)
        register_pid(self.proc.pid)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with open(self.log_path, "rb") as f:
                m = self.LISTEN_RE.search(f.read())
            if m:
                self.port = int(m.group(1))
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("gateway exited with %s; log:\n%s" % (
                    self.proc.returncode, open(self.log_path, "rb").read().decode("utf-8", "replace")[-3000:]))
            time.sleep(0.05)
        raise RuntimeError("gateway did not log its port within %.0fs" % timeout)

    @property
    def target(self):
        return "127.0.0.1:%d" % self.port

    def stop(self, timeout=20.0):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        return self.proc.returncode


def run_once(binary, args, env, timeout=10.0):
    """Runs the binary to completion (expected to refuse to start): (exit code, stdout+stderr)."""
    p = subprocess.Popen([binary] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, env=env)
    register_pid(p.pid)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
        return None, out
    return p.returncode, out
