"""Wallets v1 for tests/fakes/fake_ledger.py: the wallets service's main paths over the fake's own ledger.

Like Formance's wallets service (formancehq/wallets), a wallet is an account of the ledger
`wallets-002`: its main balance is `wallets:<id without dashes>:main`, a credit posts from `world`
(or the one source given) to it and a debit posts from it to `world` (or the destination given),
so balances are exact integers of any size and the ledger's idempotency applies (the
Idempotency-Key goes to the ledger transaction; a wallet created with a key gets an id derived
from it, and the replay answers the same wallet).

Served (anything else, e.g. holds and named balances, is left to --forward / 404):
  POST /api/wallets/wallets                  201 {data: Wallet}
  GET  /api/wallets/wallets                  {cursor: {pageSize, hasMore, data: [Wallet]}}; name=, pageSize=
  GET  /api/wallets/wallets/{id}             {data: WalletWithBalances}; unknown: 404, empty body
  POST /api/wallets/wallets/{id}/credit      204; {amount: {asset, amount}, metadata, reference, sources}
  POST /api/wallets/wallets/{id}/debit       204; {amount, metadata, destination}; pending: 400 (no holds here)
Errors are the wallets service's {"errorCode", "errorMessage"}: 400 VALIDATION, 400 INSUFFICIENT_FUND;
a ledger error that is neither (a reused Idempotency-Key with another body) is 500 INTERNAL_ERROR
"internal server error", as the service answers.
"""

import hashlib
import uuid

LEDGER = "wallets-002"
IDEMPOTENCY_NAMESPACE = uuid.UUID("0b6f2d6e-4e2a-4f3a-9f0a-2b9c1d8e7a31")
WALLETS_PREFIX = "/api/wallets/wallets"


def account_of(wallet_id):
    return ("wallets:%s:main" % wallet_id).replace("-", "")


class Wallets:
    """State (under the fake's STATE.lock) and routes. `api` is the fake ledger's namespace:
    STATE, ApiError, Ledger, DEFAULT_FEATURES, commit_transaction, canonical, is_int, now_rfc3339,
    ADDRESS_RE, ASSET_RE, int_param."""

    def __init__(self, api):
        self.api = api

    def _ledger(self):
        st = self.api.STATE
        led = st.ledgers.get(LEDGER)
        if led is None:
            led = st.ledgers[LEDGER] = self.api.Ledger(LEDGER, "", {}, dict(self.api.DEFAULT_FEATURES),
                                                       st.next_ledger_id)
            st.next_ledger_id += 1
        if not hasattr(led, "wallets"):
            led.wallets = {}  # id -> {"id", "name", "metadata", "createdAt"}
        return led

    def _json(self, led, w):
        acc = led.accounts.get(account_of(w["id"]))
        assets = {a: i - o for a, (i, o) in sorted(acc.volumes.items())} if acc else {}
        return {"id": w["id"], "name": w["name"], "metadata": dict(w["metadata"]), "createdAt": w["createdAt"],
                "ledger": LEDGER, "balances": {"main": {"assets": assets}}}

    def _validation(self, message):
        return self.api.ApiError(400, "VALIDATION", message)

    def _monetary(self, body):
        m = body.get("amount")
        if not isinstance(m, dict) or not self.api.is_int(m.get("amount")) or not isinstance(m.get("asset"), str):
            raise self._validation("amount: expected {asset, amount} with an integer amount")
        if m["amount"] < 0:
            raise self._validation("negative amount")
        if not self.api.ASSET_RE.match(m["asset"]):
            raise self._validation("invalid asset %s" % m["asset"])
        return m["asset"], m["amount"]

    def _subject(self, s):
        if not isinstance(s, dict) or not isinstance(s.get("identifier"), str):
            raise self._validation("invalid subject")
        if s.get("type") == "ACCOUNT":
            if not self.api.ADDRESS_RE.match(s["identifier"]):
                raise self._validation("invalid account name %s" % s["identifier"])
            return s["identifier"]
        if s.get("type") == "WALLET":
            if s.get("balance", "main") not in ("", "main"):
                raise self._validation("this fake has main balances only")
            return account_of(s["identifier"])
        raise self._validation("unknown subject type %s" % s.get("type"))

    def _post(self, led, source, destination, asset, amount, metadata, reference, key):
        postings = [{"source": source, "destination": destination, "amount": amount, "asset": asset}]
        input_hash = hashlib.sha256(self.api.canonical({"postings": postings, "metadata": metadata,
                                                        "reference": reference}).encode()).hexdigest()
        try:
            self.api.commit_transaction(led, postings, metadata, reference, None, False, key, input_hash)
        except self.api.ApiError as e:
            if e.code == "INSUFFICIENT_FUND":
                raise self.api.ApiError(400, "INSUFFICIENT_FUND", "insufficient fund")
            raise self.api.ApiError(500, "INTERNAL_ERROR", "internal server error")

    def route(self, method, path, q, body, key):
        """-> (status, JSON value or None) for a wallets route, or None when not served."""
        segs = [s for s in path[len(WALLETS_PREFIX):].split("/") if s]
        st = self.api.STATE
        if not segs:
            if method == "POST":
                return self._create(body, key)
            if method == "GET":
                with st.lock:
                    led = self._ledger()
                    ws = [self._json(led, w) for w in led.wallets.values()
                          if not q.get("name") or w["name"] == q["name"][-1]]
                size = self.api.int_param(q, "pageSize", 15, 1, 1 << 31)
                size = min(size, 100)
                return 200, {"cursor": {"pageSize": size, "hasMore": len(ws) > size, "data": ws[:size]}}
            return None
        wallet_id = segs[0]
        if len(segs) == 1 and method == "GET":
            with st.lock:
                led = self._ledger()
                w = led.wallets.get(wallet_id)
                return (404, None) if w is None else (200, {"data": self._json(led, w)})
        if len(segs) == 2 and method == "POST" and segs[1] in ("credit", "debit"):
            asset, amount = self._monetary(body)
            metadata = body.get("metadata") or {}
            if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
                raise self._validation("invalid metadata")
            reference = body.get("reference") or ""
            main = account_of(wallet_id)
            if segs[1] == "credit":
                sources = body.get("sources") or []
                if len(sources) > 1:
                    raise self._validation("this fake takes one source")
                source = self._subject(sources[0]) if sources else "world"
                source_dest = (source, main)
            else:
                if body.get("pending"):
                    raise self._validation("this fake has no holds (pending debits)")
                dest = self._subject(body["destination"]) if body.get("destination") else "world"
                source_dest = (main, dest)
            with st.lock:
                led = self._ledger()
            self._post(led, source_dest[0], source_dest[1], asset, amount, metadata, reference, key)
            return 204, None
        return None

    def _create(self, body, key):
        name = body.get("name", "")
        metadata = body.get("metadata") or {}
        if not isinstance(name, str) or not isinstance(metadata, dict) or \
                not all(isinstance(v, str) for v in metadata.values()):
            raise self._validation("invalid wallet: name is a string, metadata a map of strings")
        with self.api.STATE.lock:
            led = self._ledger()
            wallet_id = str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, "wallet:" + key)) if key else str(uuid.uuid4())
            w = led.wallets.get(wallet_id)
            if w is None:
                w = led.wallets[wallet_id] = {"id": wallet_id, "name": name, "metadata": dict(metadata),
                                              "createdAt": self.api.now_rfc3339()}
            return 201, {"data": self._json(led, w)}
