"""Name conversions shared by the generator (pure functions, unit-tested)."""
import re

_VERSION_PREFIX = re.compile(r"^[vV][0-9]+(?=[A-Z])")
_MODULE_SUFFIX = re.compile(r"_[a-z]+$")


def snake_case(name):
    """`accountID` -> `account_id`, `Idempotency-Key` -> `idempotency_key`, `.self` -> `dot_self`."""
    s = name
    if s.startswith("."):
        s = "dot_" + s[1:]
    s = s.replace("$", "")
    s = re.sub(r"([A-Z]{2,})s(?=[A-Z0-9_\-]|$)", lambda m: m.group(1) + "S", s)  # sourcePITs
    s = re.sub(r"[^A-Za-z0-9]+", "_", s)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    s = re.sub(r"_+", "_", s).strip("_").lower()
    if not s:
        s = "field"
    if s[0].isdigit():
        s = "n" + s
    return s


def lower_camel_default(field_name):
    """protoc's default json_name for a field name (ToJsonName in descriptor.cc)."""
    out = []
    upper_next = False
    for ch in field_name:
        if ch == "_":
            upper_next = True
        elif upper_next:
            out.append(ch.upper())
            upper_next = False
        else:
            out.append(ch)
    return "".join(out)


def pascal_case(name):
    """`create_transaction` / `createTransaction` / `.self` -> PascalCase identifier."""
    parts = snake_case(name).split("_")
    return "".join(p[:1].upper() + p[1:] for p in parts if p)


def upper_snake(name):
    return snake_case(name).upper()


def rpc_name(operation):
    """SDK method name of an operation, PascalCase, without version prefix or module suffix.

    `x-speakeasy-name-override` when present, else the operationId; then drop a trailing
    `_<module>` (added by assemble.py), a leading `v2`/`v3`/`V1`... version prefix, and
    upper-case the first letter: v2CreateTransaction -> CreateTransaction,
    getServerInfo_auth -> GetServerInfo, V1ListAccounts -> ListAccounts.
    """
    raw = operation.get("x-speakeasy-name-override") or operation["operationId"]
    raw = _MODULE_SUFFIX.sub("", raw)
    raw = _VERSION_PREFIX.sub("", raw)
    raw = re.sub(r"[^A-Za-z0-9]", "", raw)
    return raw[:1].upper() + raw[1:]


def enum_value_name(enum_name, wire):
    """Prefixed UPPER_SNAKE value: (PaymentsConnector, DUMMY-PAY) -> PAYMENTS_CONNECTOR_DUMMY_PAY."""
    return upper_snake(enum_name) + "_" + upper_snake(str(wire))


def is_json_name_ok(name):
    """Whether `name` may be used as a json_name (protoc rejects nothing useful to us except
    names that cannot be a proto identifier-ish JSON key; we stay conservative and only
    emit json_name for identifier-like keys)."""
    return re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) is not None
