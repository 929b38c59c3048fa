#!/usr/bin/env python3
"""One benchmark row driven by h2load (Debian nghttp2-client), a load generator that is not gRPC C++.

Prints the same one-line JSON result as bench_grpc / bench_rest (tests/bench/bench_common.h), so
run_bench.sh and report.py treat it like the other rows.

  gRPC through the gateway (gRPC framing by hand: the body is the length-prefixed frame of a
  serialized request, built here from --grpc_fields, sent as a POST with content-type
  application/grpc and te: trailers):
    h2load_bench.py --url http://127.0.0.1:50051/formance.ledger.v2.LedgerService/GetAccount \
      --grpc_fields 1:bench,2:users:001 --concurrency 16 --watch_pid <gateway> --upstream_pid <nginx worker>
  plain GET through an HTTP/2 (h2c) nginx hop:
    h2load_bench.py --url http://127.0.0.1:8082/api/ledger/v2/bench/accounts/users:001 ...

Steps:
 1. One request with nghttp -v: the reply must be HTTP 200 and, for gRPC, end with grpc-status 0 in
    its trailers (h2load only sees HTTP statuses; a gRPC error is HTTP 200 plus a non-zero
    grpc-status). Its DATA bytes are the expected reply size; --expect_substring must be in the body.
    On failure: exit 1 (with --check_only) or print a JSON line with errors -1 and exit 1.
 2. Warm-up: h2load for --warmup seconds, not counted.
 3. Measured run: h2load -D --duration with --log-file (one line per request: start, status,
    microseconds). utime+stime of --watch_pid (the box in the middle: the gateway or the hop's nginx
    worker) and --upstream_pid (the nginx worker with the fixed replies) are read from /proc/<pid>/stat
    just before and just after, and divided by the calls done (the method of bench_common.h's
    Window, the window being h2load's whole run: connection set-up of at most a few connections is
    inside it). h2load's own CPU comes from wait4's rusage.
 4. Failed calls: non-2xx statuses in the log, plus, because a gRPC error reply is trailers-only (no
    DATA), 2xx calls missing from the DATA byte count (succeeded - data bytes // expected size).

Concurrency c is reached with --conns connections (default 1, like bench_grpc's one channel) and
-m c/conns streams on each.
"""
import argparse
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu_ns(pid):
    """utime + stime of pid in nanoseconds, or -1 (as bench_common.h's ProcessCpuNs)."""
    if not pid:
        return -1
    try:
        with open(f"/proc/{pid}/stat") as f:
            line = f.read()
    except OSError:
        return -1
    fields = line[line.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime is field 14, stime 15.
    return (int(fields[11]) + int(fields[12])) * (1_000_000_000 // CLK_TCK)


def proc_status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def grpc_frame(fields):
    """'1:bench,2:users:001' -> gRPC frame (uncompressed flag, big-endian length) of a message whose
    string fields 1 and 2 are set (wire type 2: tag, varint length, UTF-8 bytes)."""
    msg = b""
    for item in fields.split(","):
        num, value = item.split(":", 1)
        data = value.encode()
        msg += varint(int(num) << 3 | 2) + varint(len(data)) + data
    return b"\x00" + struct.pack(">I", len(msg)) + msg


def percentile(sorted_vals, p):
    if not sorted_vals:
        return 0.0
    rank = p / 100.0 * (len(sorted_vals) - 1)
    lo = int(rank)
    hi = min(len(sorted_vals) - 1, lo + 1)
    frac = rank - lo
    return sorted_vals[lo] * (1 - frac) + sorted_vals[hi] * frac


def fail(label, concurrency, message):
    print(json.dumps({"label": label, "concurrency": concurrency, "calls": 0, "errors": -1,
                      "first_error": message}))
    sys.stdout.flush()
    sys.exit(1)


def check_one(args, headers, data_file):
    """One request with nghttp: returns (DATA bytes, None) or (None, error)."""
    cmd = ["nghttp", "-v"]
    for h in headers:
        cmd += ["-H", h]
    if data_file:
        cmd += ["-d", data_file]
    cmd.append(args.url)
    p = subprocess.run(cmd, capture_output=True, timeout=10)
    out = p.stdout.decode("latin-1") + p.stderr.decode("latin-1")
    status = re.findall(r"recv \(stream_id=\d+\) :status: (\d+)", out)
    if p.returncode != 0 or not status:
        return None, f"nghttp failed (rc {p.returncode}): {out[-300:]}"
    if status[0] != "200":
        return None, f"HTTP status {status[0]}"
    data_bytes = sum(int(n) for n in re.findall(r"recv DATA frame <length=(\d+)", out))
    if args.grpc_fields:
        gs = re.findall(r"recv \(stream_id=\d+\) grpc-status: (\d+)", out)
        msg = re.findall(r"recv \(stream_id=\d+\) grpc-message: (.*)", out)
        if gs != ["0"]:
            return None, (f"grpc-status {gs[0] if gs else 'missing'} (HTTP 200)"
                          + (f": {msg[0].strip()}" if msg else ""))
    if args.expect_substring:
        body = subprocess.run(cmd[:1] + cmd[2:], capture_output=True, timeout=10).stdout
        if args.expect_substring.encode() not in body:
            return None, f"reply lacks {args.expect_substring!r}: {body[:200]!r}"
    if data_bytes <= 0:
        return None, "empty reply"
    return data_bytes, None


def h2load_cmd(args, headers, data_file, conns, streams, seconds, log_file=None):
    cmd = ["h2load", "-c", str(conns), "-m", str(streams), "-t", "1", "-D", f"{int(seconds * 1000)}ms"]
    for h in headers:
        cmd += ["-H", h]
    if data_file:
        cmd += ["-d", data_file]
    if log_file:
        cmd += ["--log-file", log_file]
    cmd.append(args.url)
    return cmd


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--grpc_fields", default="",
                    help="gRPC request: string fields as num:value,... (GetAccountRequest: 1:ledger,2:address)")
    ap.add_argument("--expect_substring", default="")
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--conns", type=int, default=1, help="HTTP/2 connections (streams = concurrency / conns)")
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--warmup", type=float, default=0.5)
    ap.add_argument("--label", default="h2load")
    ap.add_argument("--curve_out", default="")
    ap.add_argument("--watch_pid", type=int, default=0)
    ap.add_argument("--upstream_pid", type=int, default=0)
    ap.add_argument("--check_only", action="store_true")
    args = ap.parse_args()

    c = max(1, args.concurrency)
    conns = max(1, min(args.conns, c))
    streams = (c + conns - 1) // conns
    tmp = tempfile.mkdtemp(prefix="fgw-h2load.")
    headers, data_file = [], None
    if args.grpc_fields:
        data_file = os.path.join(tmp, "request.grpc")
        with open(data_file, "wb") as f:
            f.write(grpc_frame(args.grpc_fields))
        headers = ["content-type: application/grpc", "te: trailers"]

    expected, err = check_one(args, headers, data_file)
    if err:
        if args.check_only:
            print(f"h2load_bench: {args.url}: {err}", file=sys.stderr)
            sys.exit(1)
        fail(args.label, c, err)
    if args.check_only:
        print(f"ok: {args.url}: HTTP 200" + (", grpc-status 0" if args.grpc_fields else "")
              + f", {expected} reply bytes")
        return

    if args.warmup > 0:
        subprocess.run(h2load_cmd(args, headers, data_file, conns, streams, args.warmup),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)

    log_file = os.path.join(tmp, "requests.tsv")
    cmd = h2load_cmd(args, headers, data_file, conns, streams, args.duration, log_file)
    out_file = os.path.join(tmp, "h2load.out")
    with open(out_file, "wb") as out:
        cpu0, up0 = proc_cpu_ns(args.watch_pid), proc_cpu_ns(args.upstream_pid)
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        _, status, rusage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - t0
        cpu1, up1 = proc_cpu_ns(args.watch_pid), proc_cpu_ns(args.upstream_pid)
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = open(out_file, encoding="latin-1").read()
    if proc.returncode != 0:
        fail(args.label, c, f"h2load exited {proc.returncode}: {text[-300:]}")

    lat_us, bad_status = [], 0
    with open(log_file) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 3:
                continue
            if not parts[1].startswith("2"):
                bad_status += 1
                continue
            lat_us.append(float(parts[2]))
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                  r"(\d+) errored, (\d+) timeout", text)
    d = re.search(r"\((\d+)\) data", text)
    if not m or not d:
        fail(args.label, c, f"cannot parse h2load output: {text[-300:]}")
    succeeded, failed = int(m.group(4)), int(m.group(5)) + int(m.group(6)) + int(m.group(7))
    data_bytes = int(d.group(1))
    missing_data = max(0, succeeded - data_bytes // expected)
    errors = bad_status + missing_data + failed
    first_error = ""
    if missing_data:
        first_error = (f"{missing_data} replies without their {expected} DATA bytes "
                       f"(gRPC errors are trailers-only with HTTP 200)")
    elif bad_status or failed:
        first_error = f"{bad_status} non-2xx, {failed} failed/errored/timeout"

    lat_us.sort()
    n = len(lat_us)
    secs = args.duration
    result = {
        "label": args.label, "concurrency": c, "calls": n, "errors": errors, "seconds": round(secs, 3),
        "throughput": round(n / secs, 1) if secs > 0 else 0,
        "mean_us": round(sum(lat_us) / n, 1) if n else 0,
        "p50_us": round(percentile(lat_us, 50), 1), "p99_us": round(percentile(lat_us, 99), 1),
        "p999_us": round(percentile(lat_us, 99.9), 1), "max_us": lat_us[-1] if n else 0,
        "response_bytes": expected,
        "client_cpu_us_per_call": round((rusage.ru_utime + rusage.ru_stime) * 1e6 / n, 1) if n else -1,
        "conns": conns, "streams_per_conn": streams, "h2load_wall_s": round(wall, 3),
    }
    if args.watch_pid:
        result["server_cpu_us_per_call"] = round((cpu1 - cpu0) / n / 1e3, 1) if n and cpu0 >= 0 and cpu1 >= 0 else -1
        result["server_peak_rss_kib"] = proc_status_kib(args.watch_pid, "VmHWM")
    if args.upstream_pid:
        result["upstream_cpu_us_per_call"] = round((up1 - up0) / n / 1e3, 1) if n and up0 >= 0 and up1 >= 0 else -1
    if first_error:
        result["first_error"] = first_error
    print(json.dumps(result))
    sys.stdout.flush()
    if args.curve_out and n:
        with open(args.curve_out, "w") as f:
            f.write(f"# percentile latency_us ({args.label}, c={c})\n")
            x = 0.0
            while x <= 5.0 + 1e-9:
                p = 100.0 * (1.0 - 10.0 ** -x)
                if x > 0 and (1.0 - p / 100.0) * n < 1.0:
                    break
                f.write(f"{p} {percentile(lat_us, p)}\n")
                x += 0.05
            f.write(f"100 {lat_us[-1]}\n")
    for name in os.listdir(tmp):
        os.unlink(os.path.join(tmp, name))
    os.rmdir(tmp)
    sys.exit(2 if errors else 0)


if __name__ == "__main__":
    main()
