"""In-memory proto model the mappers build and emit.py renders."""


class Field:
    def __init__(self, name, ptype, label="", json_name=None, rules=None, comments=None,
                 oneof=False, deprecated=False, map_key=None):
        self.name = name
        self.ptype = ptype          # element / value type
        self.label = label          # "", "optional", "repeated", "map"
        self.json_name = json_name  # explicit json_name or None
        self.rules = dict(rules or {})  # FieldRules (text-format key -> python value)
        self.comments = list(comments or [])
        self.oneof = oneof
        self.deprecated = deprecated
        self.number = 0


class Message:
    def __init__(self, name, file="models", comments=None):
        self.name = name
        self.file = file
        self.fields = []
        self.rules = {}
        self.comments = list(comments or [])
        self.reserved = []  # [(name, number)]

    def field_names(self):
        return {f.name for f in self.fields}

    def unique_field_name(self, base):
        names = self.field_names()
        if base not in names:
            return base
        i = 2
        while "%s_%d" % (base, i) in names:
            i += 1
        return "%s_%d" % (base, i)


class Enum:
    def __init__(self, name, comments=None):
        self.name = name
        self.values = []  # [[NAME, wire, number]]
        self.comments = list(comments or [])
        self.reserved = []


class Rpc:
    def __init__(self, name, method, path, request, response):
        self.name = name
        self.method = method
        self.path = path            # path template with proto field names
        self.request = request      # Message
        self.response = response    # Message
        self.body = None
        self.response_body = None
        self.rules = {}             # MethodRules
        self.comments = []
        self.deprecated = False
        self.order = 0
        self.server_streaming = False  # streams.py: a Stream rpc beside a paginated list
        self.stream_of = None          # ... and that list's Rpc


class TypeRef:
    """Result of mapping a schema: container None|'repeated'|'map', element type and flags."""

    def __init__(self, ptype, container=None, bigint=False, fmt=None, named_map=None, scalar=True):
        self.ptype = ptype
        self.container = container
        self.bigint = bigint
        self.fmt = fmt
        self.named_map = named_map  # component name when this map came from a named map schema
        self.scalar = scalar        # scalar or enum (proto3 `optional` applies)

    def __repr__(self):
        return "TypeRef(%r, %r, bigint=%r, fmt=%r)" % (self.ptype, self.container, self.bigint, self.fmt)
