#!/usr/bin/python3
"""Runs a program under the seccomp filter a systemd unit asks for, without systemd:

    systemd_sandbox.py UNIT_FILE -- PROGRAM ARGS...

From the unit's [Service] section: SystemCallFilter= (allow-list groups and names, then `~` deny
entries removed from it, as systemd merges them; systemd's implicit execve, exit, exit_group,
getrlimit, rt_sigreturn, sigreturn kept), SystemCallErrorNumber= (the errno of a refused call,
default EPERM) and RestrictAddressFamilies= (socket() allowed only for the listed families; systemd
answers EAFNOSUPPORT for the others, this filter the unit's errno). Groups are expanded with
`systemd-analyze syscall-filter`, so the set is this systemd's own. Then execs PROGRAM with the
filter loaded (no_new_privs must already be set, e.g. by setpriv --no-new-privs, when not root).

Exit status 2 on a usage or unit error; otherwise PROGRAM's.
"""

import errno
import os
import socket
import subprocess
import sys

import seccomp

ALWAYS = {"execve", "exit", "exit_group", "getrlimit", "rt_sigreturn", "sigreturn"}


def expand(group, seen=None):
    seen = set() if seen is None else seen
    if group in seen:
        return set()
    seen.add(group)
    out = subprocess.run(["systemd-analyze", "syscall-filter", group], capture_output=True,
                         text=True, check=True).stdout
    names = set()
    for line in out.splitlines()[1:]:
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        names |= expand(s, seen) if s.startswith("@") else {s}
    return names


def service_entries(path, key):
    values = []
    with open(path) as f:
        for line in f:
            s = line.strip()
            if s.startswith(key + "="):
                values.append(s.split("=", 1)[1])
    return values


def main(argv):
    if len(argv) < 4 or argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    unit, program = argv[1], argv[3:]
    allow, deny = set(), set()
    for value in service_entries(unit, "SystemCallFilter"):
        target = allow
        if value.startswith("~"):
            target, value = deny, value[1:]
        for word in value.split():
            target |= expand(word) if word.startswith("@") else {word}
    if not allow:
        print("systemd_sandbox: %s has no SystemCallFilter allow-list" % unit, file=sys.stderr)
        return 2
    allowed = (allow - deny) | ALWAYS
    err = (service_entries(unit, "SystemCallErrorNumber") or ["EPERM"])[-1]
    code = getattr(errno, err)
    families = set()
    for value in service_entries(unit, "RestrictAddressFamilies"):
        families |= {getattr(socket, w) for w in value.split()}
    f = seccomp.SyscallFilter(defaction=seccomp.ERRNO(code))
    for name in sorted(allowed):
        if name == "socket" and families:
            continue
        try:
            f.add_rule(seccomp.ALLOW, name)
        except (RuntimeError, ValueError, OSError):
            pass  # A name this architecture or libseccomp does not know.
    for fam in sorted(families):
        f.add_rule(seccomp.ALLOW, "socket", seccomp.Arg(0, seccomp.EQ, fam))
    f.load()
    os.execv(program[0], program)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
