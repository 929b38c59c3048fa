#!/usr/bin/python3
"""What ledger v2 ExportLogs costs the gateway today: the peak RSS (VmHWM) of a fresh daemon after
one unary ExportLogs of M MiB from paging_fake.py. The transport reads the whole body before the
reply is built (limits.max_response_bytes bounds it), so the peak grows with the export.

  export_memory.py --gateway-bin BIN --descriptor-set FILE [--mib 4 32 96]
Prints one line per size: MiB, outcome, VmHWM before and after (MiB). 127.0.0.1 only.
"""
import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "system"))
import sysutil  # noqa: E402


def hwm_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return -1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gateway-bin", required=True)
    ap.add_argument("--descriptor-set", required=True)
    ap.add_argument("--mib", type=int, nargs="+", default=[4, 32, 96])
    args = ap.parse_args()
    fake = subprocess.Popen([sys.executable, os.path.join(HERE, "paging_fake.py")], stdout=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    port = int(fake.stdout.readline().split()[2])
    tmp = tempfile.mkdtemp(prefix="fgw-export.")
    try:
        for mib in args.mib:
            config = os.path.join(tmp, "gateway.yaml")
            with open(config, "w") as f:
                f.write("listen: 127.0.0.1:0\nupstream:\n  url: http://127.0.0.1:%d\n  request_timeout: 60s\n"
                        "auth:\n  mode: none\nlimits:\n  max_response_bytes: %d\n"
                        "grpc:\n  max_message_bytes: %d\nlog:\n  level: info\n" % (port, 1 << 30, 1 << 30))
            gw = sysutil.Gateway(args.gateway_bin, ["--config", config], dict(os.environ),
                                 os.path.join(tmp, "gw-%d.log" % mib)).start()
            api = sysutil.Api(args.descriptor_set, gw.target, "formance.ledger.v2.LedgerService",
                              options=[("grpc.max_receive_message_length", 1 << 30)])
            before = hwm_mib(gw.proc.pid)
            r = api.call("ExportLogs", api.msg("formance.ledger.v2.ExportLogsRequest", ledger="export-%d" % mib),
                         timeout=120)
            after = hwm_mib(gw.proc.pid)
            got = len(r.response.content) >> 20 if r.code == "OK" else 0
            print("export %4d MiB: %s (%d MiB received), gateway VmHWM %.0f -> %.0f MiB (+%.0f)" % (
                mib, r.code, got, before, after, after - before), flush=True)
            gw.stop()
    finally:
        fake.kill()
        fake.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
