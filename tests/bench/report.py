#!/usr/bin/env python3
"""Turns the runner's raw results into the benchmark table (stdout + markdown) and the chart.

Input: a TSV written by run_bench.sh, one line per run:
    kind <TAB> op <TAB> conns_opened <TAB> conns_open <TAB> curve file <TAB> JSON result line
kind: direct | hop | gateway | node-sdk | node-grpc | h2load | h2load-hop;
op: account | create | page100 | page1000.
Curve files are relative to the TSV's directory.
Usage: report.py <raw.tsv> <out.md> <out.png> <meta.json>
"""
import json
import os
import subprocess
import sys

KIND_NAMES = {
    "direct": "C++ cpprestsdk -> nginx (direct)",
    "hop": "C++ cpprestsdk -> nginx hop -> nginx",
    "gateway": "C++ gRPC -> gateway -> nginx",
    "node-sdk": "Node @formance/formance-sdk -> nginx",
    "node-grpc": "Node @grpc/grpc-js -> gateway -> nginx",
    "h2load": "h2load (gRPC framing) -> gateway -> nginx",
    "h2load-hop": "h2load -> nginx hop (h2c, own process) -> nginx",
}
# Rows whose middle box is a process of its own, its CPU read from /proc by the client.
WATCHED = ("gateway", "node-grpc", "h2load", "h2load-hop")
GATEWAY_KINDS = ("gateway", "node-grpc", "h2load")
OP_NAMES = {
    "account": "GetAccount (ledger v2 account with volumes)",
    "create": "CreateTransaction",
    "page100": "ListTransactions, page of 100",
    "page1000": "ListTransactions, page of 1,000",
}
PAGE = {"page100": 100, "page1000": 1000}


def load(path):
    runs = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            kind, op, opened, open_now, curve, js = line.split("\t", 5)
            try:
                r = json.loads(js)
            except json.JSONDecodeError:
                r = {"label": kind, "calls": 0, "errors": -1, "first_error": js[:200]}
            r.update(kind=kind, op=op, curve=os.path.join(os.path.dirname(os.path.abspath(path)), curve),
                     opened=int(opened) if opened.lstrip("-").isdigit() else None,
                     open_now=int(open_now) if open_now.lstrip("-").isdigit() else None)
            runs.append(r)
    return runs


def find(runs, kind, op, c):
    for r in runs:
        if r["kind"] == kind and r["op"] == op and r.get("concurrency") == c:
            return r
    return None


def fmt(v, digits=0):
    if v is None or v == "" or (isinstance(v, (int, float)) and v < 0):
        return "-"
    if isinstance(v, float) or digits:
        return f"{v:,.{digits}f}"
    return f"{v:,}"


def ratio(a, b):
    if not a or not b:
        return "-"
    return f"{a / b:.2f}x"


def proxy_cpu(runs, r):
    """CPU per call of the middle box: the gateway's, the h2c hop's nginx worker, or the hop's
    (nginx worker minus direct)."""
    if r["kind"] in WATCHED:
        return r.get("server_cpu_us_per_call")
    if r["kind"] == "hop":
        d = find(runs, "direct", r["op"], r["concurrency"])
        up, dup = r.get("upstream_cpu_us_per_call"), d and d.get("upstream_cpu_us_per_call")
        if up is not None and dup is not None and up >= 0 and dup >= 0:
            return max(0.0, up - dup)
    return None


def table(runs, op, concs, kinds, lines):
    lines.append(f"| path | c | calls/s | vs direct | mean us | p50 us | p99 us | p99.9 us "
                 f"| p50 vs direct | middle CPU us/call | client CPU us/call | gw peak RSS MiB "
                 f"| conns opened | errors |")
    lines.append("|" + "---|" * 14)
    for kind in kinds:
        for c in concs:
            r = find(runs, kind, op, c)
            if r is None:
                continue
            base = find(runs, "direct" if not kind.startswith("node") else "node-sdk", op, c)
            if kind.startswith("node") and base is None:
                base = find(runs, "direct", op, c)
            rss = r.get("server_peak_rss_kib") if kind in GATEWAY_KINDS else None
            err = r.get("errors", 0)
            if r.get("first_error"):
                err = f"{err} ({r['first_error'][:60]})"
            lines.append(
                f"| {KIND_NAMES[kind]} | {c} | {fmt(r.get('throughput'))} "
                f"| {ratio(r.get('throughput'), base and base.get('throughput'))} "
                f"| {fmt(r.get('mean_us'))} | {fmt(r.get('p50_us'))} | {fmt(r.get('p99_us'))} "
                f"| {fmt(r.get('p999_us'))} | {ratio(r.get('p50_us'), base and base.get('p50_us'))} "
                f"| {fmt(proxy_cpu(runs, r), 1)} | {fmt(r.get('client_cpu_us_per_call'), 1)} "
                f"| {fmt(rss / 1024 if rss and rss > 0 else None, 1)} | {fmt(r.get('opened'))} "
                f"| {err} |")


def targets(runs, lines):
    def get(kind, op, c, key):
        r = find(runs, kind, op, c)
        return r.get(key) if r else None

    rows = []
    cpu = [get("gateway", "account", c, "server_cpu_us_per_call") for c in (1, 16, 64)]
    cpu = [v for v in cpu if v is not None and v >= 0]
    if cpu:
        rows.append(("gateway CPU per call (GetAccount, worst of c=1/16/64)", "<= 100 us",
                     f"{max(cpu):.1f} us", max(cpu) <= 100))
    t64 = get("gateway", "account", 64, "throughput")
    if t64 is not None:
        rows.append(("throughput at c=64 (GetAccount)", ">= 15,000 calls/s", f"{t64:,.0f} calls/s",
                     t64 >= 15000))
    gm, dm = get("gateway", "account", 1, "mean_us"), get("direct", "account", 1, "mean_us")
    if gm is not None and dm is not None:
        rows.append(("added mean latency at c=1 (gateway - direct)", "<= 250 us",
                     f"{gm - dm:.0f} us", gm - dm <= 250))
    rss = [r.get("server_peak_rss_kib", -1) for r in runs if r["kind"] in GATEWAY_KINDS]
    rss = [v for v in rss if v and v > 0]
    if rss:
        rows.append(("gateway peak RSS (VmHWM, whole run)", "< 64 MiB", f"{max(rss) / 1024:.1f} MiB",
                     max(rss) < 64 * 1024))
    sweep = sorted((r["concurrency"], r.get("throughput", 0), r.get("errors", 0)) for r in runs
                   if r["kind"] == "gateway" and r["op"] == "account")
    if sweep:
        peak = max(t for _, t, _ in sweep)
        worst = min(t for c, t, _ in sweep if c >= 16) if any(c >= 16 for c, _, _ in sweep) else peak
        errs = sum(e for _, _, e in sweep if e and e > 0)
        ok = worst >= 0.7 * peak and errs == 0
        rows.append((f"no collapse up to c={max(c for c, _, _ in sweep)} (min throughput at c>=16 "
                     f"vs peak, errors)", ">= 70% of peak, 0 errors",
                     f"{worst / peak * 100 if peak else 0:.0f}% of {peak:,.0f}, {errs} errors", ok))
    for kind in ("gateway", "direct"):
        for c in (1, 16):
            a, b = get(kind, "page100", c, "throughput"), get(kind, "page1000", c, "throughput")
            if a and b:
                ta, tb = 1e6 / (a * 100), 1e6 / (b * 1000)
                rows.append((f"{kind}: page of 1,000 vs page of 100, wall time per transaction, "
                             f"c={c}", "not slower", f"{tb:.2f} vs {ta:.2f} us/tx", tb <= ta))
        a = get(kind, "page100", 16, "server_cpu_us_per_call")
        b = get(kind, "page1000", 16, "server_cpu_us_per_call")
        if kind == "gateway" and a and b and a > 0 and b > 0:
            rows.append(("gateway: page of 1,000 vs page of 100, CPU per transaction, c=16",
                         "not slower", f"{b / 1000:.3f} vs {a / 100:.3f} us/tx", b / 1000 <= a / 100))
    lines.append("| target | goal | measured | met |")
    lines.append("|---|---|---|---|")
    for name, goal, got, ok in rows:
        lines.append(f"| {name} | {goal} | {got} | {'yes' if ok else '**no**'} |")


def big_replies(runs, lines):
    lines.append("| path | c | page | calls/s | mean us | wall us per transaction | transactions/s "
                 "| gw CPU us/call | gw CPU us per transaction | reply bytes |")
    lines.append("|" + "---|" * 10)
    for kind in ("direct", "gateway", "node-sdk", "node-grpc"):
        for c in (1, 16):
            for op in ("page100", "page1000"):
                r = find(runs, kind, op, c)
                if r is None:
                    continue
                n = PAGE[op]
                cpu = r.get("server_cpu_us_per_call") if kind in ("gateway", "node-grpc") else None
                cpu = cpu if cpu is not None and cpu >= 0 else None
                lines.append(
                    f"| {KIND_NAMES[kind]} | {c} | {n} | {fmt(r.get('throughput'))} "
                    f"| {fmt(r.get('mean_us'))} "
                    f"| {fmt(1e6 / (r['throughput'] * n) if r.get('throughput') else None, 3)} "
                    f"| {fmt(r.get('throughput', 0) * n)} | {fmt(cpu, 1)} "
                    f"| {fmt(cpu / n if cpu else None, 3)} | {fmt(r.get('response_bytes'))} |")


def h2load_table(runs, lines):
    """The gateway and the nginx hop measured from one client that is not gRPC C++ (h2load)."""
    concs = sorted({r["concurrency"] for r in runs if r["op"] == "account"
                    and r["kind"] in ("h2load", "h2load-hop")})
    lines.append("| c | hop calls/s | gateway calls/s | hop mean us | gateway mean us | hop p99 us "
                 "| gateway p99 us | hop nginx CPU us/call | gateway CPU us/call | gateway / hop CPU "
                 "| upstream nginx CPU us/call (hop / gateway row) | h2load CPU us/call (hop / gateway) "
                 "| errors (hop / gateway) |")
    lines.append("|" + "---|" * 13)

    def cell(r, key, digits=0):
        return fmt(r.get(key), digits) if r else "-"

    for c in concs:
        h, g = find(runs, "h2load-hop", "account", c), find(runs, "h2load", "account", c)
        hc = h and h.get("server_cpu_us_per_call")
        gc = g and g.get("server_cpu_us_per_call")
        cpu_ratio = ratio(gc, hc) if hc and gc and hc > 0 and gc > 0 else "-"
        lines.append(
            f"| {c} | {cell(h, 'throughput')} | {cell(g, 'throughput')} | {cell(h, 'mean_us')} "
            f"| {cell(g, 'mean_us')} | {cell(h, 'p99_us')} | {cell(g, 'p99_us')} "
            f"| {cell(h, 'server_cpu_us_per_call', 1)} | {cell(g, 'server_cpu_us_per_call', 1)} "
            f"| {cpu_ratio} "
            f"| {cell(h, 'upstream_cpu_us_per_call', 1)} / {cell(g, 'upstream_cpu_us_per_call', 1)} "
            f"| {cell(h, 'client_cpu_us_per_call', 1)} / {cell(g, 'client_cpu_us_per_call', 1)} "
            f"| {cell(h, 'errors')} / {cell(g, 'errors')} |")


def sweep_table(runs, lines):
    concs = sorted({r["concurrency"] for r in runs if r["op"] == "account"
                    and r["kind"] in ("direct", "gateway")})
    if not concs:
        lines.append("(no direct or gateway GetAccount rows in this run)")
        return
    lines.append("| path | " + " | ".join(f"c={c}" for c in concs) + " |")
    lines.append("|---|" + "---|" * len(concs))
    for kind in ("direct", "hop", "gateway"):
        cells = []
        for c in concs:
            r = find(runs, kind, "account", c)
            cells.append(fmt(r.get("throughput")) + (f" ({r['errors']} err)" if r and r.get("errors") else "")
                         if r else "-")
        lines.append(f"| {KIND_NAMES[kind]} | " + " | ".join(cells) + " |")


def chart(runs, png, workdir):
    series = []
    for c in (1, 64):
        for kind in ("direct", "hop", "gateway", "node-sdk", "node-grpc"):
            r = find(runs, kind, "account", c)
            if r and r.get("curve") and os.path.exists(r["curve"]):
                series.append((c, kind, r["curve"]))
    if not series:
        return False
    sweep = os.path.join(workdir, "sweep.dat")
    with open(sweep, "w") as f:
        concs = sorted({r["concurrency"] for r in runs if r["op"] == "account"})
        f.write("# c direct hop gateway node-sdk node-grpc\n")
        for c in concs:
            vals = []
            for kind in ("direct", "hop", "gateway", "node-sdk", "node-grpc"):
                r = find(runs, kind, "account", c)
                vals.append(f"{r['throughput']:.0f}" if r else "NaN")
            f.write(f"{c} " + " ".join(vals) + "\n")
    colors = {"direct": "#1b9e77", "hop": "#7570b3", "gateway": "#d95f02",
              "node-sdk": "#666666", "node-grpc": "#e7298a"}
    gp = [
        "set datafile missing 'NaN'", "set terminal pngcairo size 1500,520 font 'Sans,10'",
        f"set output '{png}'",
        "set multiplot layout 1,3 title 'formance-grpc-gateway vs direct REST: GetAccount, "
        "2 shared cores, nginx upstream on 127.0.0.1'",
        "set logscale x 10", "set logscale y 10", "set grid", "set format y '%g'",
        "set xlabel 'percentile'", "set ylabel 'latency (us)'",
        "set xtics ('0' 1, '50' 2, '90' 10, '99' 100, '99.9' 1000, '99.99' 10000)",
        "set key top left", "set xrange [1:100000]",
    ]
    for c in (1, 64):
        gp.append(f"set title 'latency percentiles, concurrency {c}'")
        plots = [f"'{curve}' using ($1 < 100 ? 1/(1-$1/100) : NaN):2 with lines lw 2 lc rgb '{colors[kind]}' "
                 f"title '{kind}'" for cc, kind, curve in series if cc == c]
        gp.append("plot " + ", ".join(plots) if plots else "plot NaN notitle")
    gp += ["unset logscale y", "set logscale x 2", "set xrange [*:*]", "set xtics auto", "set format x '%g'",
           "set xlabel 'concurrency (calls in flight)'", "set ylabel 'calls/s'", "set yrange [0:*]",
           "set title 'throughput vs concurrency'", "set key bottom right",
           "plot " + ", ".join(
               f"'{sweep}' using 1:{i + 2} with linespoints lw 2 pt 7 lc rgb '{colors[k]}' title '{k}'"
               for i, k in enumerate(("direct", "hop", "gateway", "node-sdk", "node-grpc"))),
           "unset multiplot"]
    script = os.path.join(workdir, "latency.gp")
    with open(script, "w") as f:
        f.write("\n".join(gp) + "\n")
    return subprocess.run(["gnuplot", script]).returncode == 0


def main():
    raw, out_md, out_png, meta_path = sys.argv[1:5]
    runs = load(raw)
    meta = json.load(open(meta_path)) if os.path.exists(meta_path) else {}
    lines = ["# formance-grpc-gateway benchmark", ""]
    lines.append(f"Generated by `tests/bench/run_bench.sh` on {meta.get('date', '?')} "
                 f"(commit {meta.get('commit', '?')}). Machine: {meta.get('cpus', '?')} cores "
                 f"({meta.get('cpu_model', '?')}), shared by the load generator, nginx and the "
                 f"gateway; load average at start {meta.get('load', '?')}. Each row: "
                 f"{meta.get('warmup', '?')} s warm-up, then {meta.get('duration', '?')} s measured. "
                 f"Gateway: `upstream.io_threads: {meta.get('io_threads', '?')}`, log level {meta.get('log_level', 'warn')}, "
                 f"no auth, no cache.")
    lines += ["",
              "Ratios to the direct call matter more than absolute times. `vs direct` compares with "
              "the C++ direct row at the same concurrency (Node rows: with the Node SDK row). "
              "`middle CPU` is the CPU time per call of the box in the middle: the gateway's "
              "(utime+stime from /proc), or for the hop the nginx worker's CPU per call minus the "
              "same worker's CPU per call in the direct row (h2load hop: its own nginx "
              "worker's CPU, no subtraction). `conns opened` is nginx's `accepts` "
              "counter (stub_status) over the run, warm-up included: for gateway rows these are the "
              "gateway's upstream TCP connections; for direct rows the client's; for hop rows "
              "client->hop plus hop->upstream.", ""]
    lines += ["## GetAccount: side by side", ""]
    table(runs, "account", sorted({r["concurrency"] for r in runs if r["op"] == "account"}),
          ["direct", "hop", "gateway", "node-sdk", "node-grpc", "h2load-hop", "h2load"], lines)
    if any(r["kind"] in ("h2load", "h2load-hop") for r in runs):
        lines += ["", "## GetAccount from h2load: the gateway against an nginx hop, same client", "",
                  "h2load (nghttp2) is the load generator, not gRPC C++: the gateway row POSTs the "
                  "gRPC frame of a GetAccountRequest (content-type application/grpc, te: trailers) "
                  "over h2c; the hop row GETs the REST path through an nginx reverse proxy speaking "
                  "h2c to the client and keep-alive HTTP/1.1 to the fixed-reply nginx, in its own "
                  "nginx process, so both middle boxes' CPU per call is their own process's "
                  "utime+stime from /proc (no subtraction). One connection, c streams on it (like "
                  "bench_grpc's one channel). A gRPC error comes back as HTTP 200 with a non-zero "
                  "grpc-status, so a checked call (nghttp -v, grpc-status 0) precedes the rows and a "
                  "reply missing its DATA bytes counts as an error. Whole h2load run measured "
                  "(separate warm-up run first).", ""]
        h2load_table(runs, lines)
    lines += ["", "## Targets", ""]
    targets(runs, lines)
    lines += ["", "## Throughput sweep (collapse check), GetAccount, calls/s", ""]
    sweep_table(runs, lines)
    lines += ["", "## CreateTransaction", ""]
    table(runs, "create", sorted({r["concurrency"] for r in runs if r["op"] == "create"}),
          ["direct", "hop", "gateway", "node-sdk", "node-grpc"], lines)
    lines += ["", "## Big replies: cursor pages of 100 and 1,000 transactions", ""]
    big_replies(runs, lines)
    lines += ["", "![latency](latency.png)", ""]
    text = "\n".join(lines) + "\n"
    with open(out_md, "w") as f:
        f.write(text)
    print(text)
    if chart(runs, os.path.abspath(out_png), os.path.join(os.path.dirname(os.path.abspath(raw)), "curves")):
        print(f"chart: {out_png}")


if __name__ == "__main__":
    main()
