#!/usr/bin/env python3
"""No file of the daemon includes a header of a later layer (server/layers.txt).

Every .h/.cc under server/ and proto/ belongs to the layer of the longest source prefix of
server/layers.txt that it starts with; each of its `#include "..."` lines naming a file of the
repository must name one of the same layer or an earlier one. Includes of third-party and
generated headers ("absl/...", "formance/gateway/v1/options.pb.h") belong to no layer and are
not checked. The link-level twin of this test is cmake/FgwLayering.cmake.

Run by ctest (layering_test) or directly: python3 tests/static/layering_test.py [repo root].
Exit status 1 lists every violation as file:line.
"""

import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
SOURCE_SUFFIXES = (".h", ".cc")


def read_layers(path):
    """[(layer name, [source prefixes])], lowest layer first."""
    layers = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or "|" not in line:
                continue
            name, _libraries, sources = (c.strip() for c in line.split("|"))
            layers.append((name, sources.split()))
    if not layers:
        raise SystemExit(f"{path}: no layers")
    return layers


def layer_of(path, prefixes):
    """Index of the layer of the longest matching prefix, or None."""
    best, best_len = None, -1
    for prefix, index in prefixes:
        if path.startswith(prefix) and len(prefix) > best_len:
            # A prefix without a trailing '/' names one file stem: "server/upstream/transport"
            # matches transport.h and transport.cc, not transport_options.h.
            rest = path[len(prefix):]
            if not prefix.endswith("/") and rest and not rest.startswith("."):
                continue
            best, best_len = index, len(prefix)
    return best


def violations(root):
    layers = read_layers(os.path.join(root, "server", "layers.txt"))
    prefixes = [(p, i) for i, (_, ps) in enumerate(layers) for p in ps]
    found = []
    checked = 0
    for top in ("server", "proto"):
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames if d not in ("generator", "fuzz_corpus"))
            for name in sorted(filenames):
                if not name.endswith(SOURCE_SUFFIXES):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, name), root)
                own = layer_of(rel, prefixes)
                if own is None:
                    found.append(f"{rel}: in no layer of server/layers.txt")
                    continue
                checked += 1
                with open(os.path.join(root, rel), encoding="utf-8") as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        target = layer_of(m.group(1), prefixes)
                        if target is not None and target > own:
                            found.append(
                                f"{rel}:{number}: layer {layers[own][0]} includes "
                                f"{m.group(1)} (layer {layers[target][0]}, a later one)")
    return checked, found


def main():
    root = os.path.abspath(
        sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".."))
    checked, found = violations(root)
    if found:
        print("layering: a file includes a header of a later layer (server/layers.txt):")
        for v in found:
            print("  " + v)
        return 1
    print(f"layering: {checked} files, no include of a later layer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
