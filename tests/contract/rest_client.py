"""Sends a sample request (sample_requests.py) straight to a REST server, as the SDK would.

Used by `run_contract.py --direct` to prove that the samples themselves satisfy Prism, so that
a failure through the gateway is the gateway's.
"""

import json
import urllib.error
import urllib.parse
import urllib.request


def scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def encode_query(query):
    pairs = []
    for name, q in query.items():
        v, style = q["value"], q["style"]
        if style == "json":
            pairs.append((name, json.dumps(v, separators=(",", ":"))))
        elif style == "deepObject":
            for k, item in v.items():
                pairs.append(("%s[%s]" % (name, k), scalar(item)))
        elif style == "comma":
            pairs.append((name, ",".join(scalar(x) for x in v)))
        elif style == "repeat":
            for x in v:
                pairs.append((name, scalar(x)))
        else:
            pairs.append((name, scalar(v)))
    return urllib.parse.urlencode(pairs, quote_via=urllib.parse.quote)


def build_url(base, sample):
    path = sample["path"]
    for name, v in sample["path_params"].items():
        path = path.replace("{%s}" % name, urllib.parse.quote(scalar(v), safe=":"))
    q = encode_query(sample["query"])
    return base.rstrip("/") + path + ("?" + q if q else "")


def needs_token(sample):
    sec = sample.get("security")
    return bool(sec) and any(req for req in sec)


def send(base, sample, token="contract-test-token", timeout=20):
    """Returns (status, headers dict, body bytes)."""
    headers = {k: scalar(v) for k, v in sample["headers"].items()}
    data = None
    if sample["body"] is not None:
        if isinstance(sample["body"], bytes):
            data = sample["body"]
        else:
            data = json.dumps(sample["body"]).encode()
        headers["Content-Type"] = sample["content_type"]
    headers["Accept"] = "application/json"
    if needs_token(sample):
        headers["Authorization"] = "Bearer " + token
    req = urllib.request.Request(build_url(base, sample), data=data, headers=headers, method=sample["method"])
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()
