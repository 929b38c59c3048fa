"""Server-streaming rpcs beside the cursor-paginated lists.

A list is cursor-paginated when its request has a `cursor` query parameter and its 2xx JSON has a
`cursor` object with a repeated `data` and a `next` string: the common Formance page shape
(NOTES.md, "Pagination"). ledger v2 RunQuery (a union of pages) and search (cursor in the POST
body) are not of that shape and get no stream.

For each such rpc `<Verb><Rest>` (Verb = List or Get) the generator adds:

  rpc Stream<Rest>(Stream<Rest>Request) returns (stream Stream<Rest>Response)

* Stream<Rest>Request has the list request's fields with the same names, types, options and
  numbers (so the bytes of one parse as the other); its numbers are recorded in
  field_numbers.lock under the stream's own keys like every other number.
* Stream<Rest>Response is `<item type> item = 1; string cursor = 2;` (numbers from the lock).
* The rpc has no google.api.http rule (it is not a REST operation of its own): its
  (formance.gateway.v1.method) holds `stream` (StreamRules), naming the list rpc and the fields
  the gateway pages with. Its number is the service's next one in the lock.

The name falls back to `Stream<ListRpcName>` when `Stream<Rest>` is taken in the package.

Ledger v2 ExportLogs (RAW_BODY_STREAMS) gets StreamExportLogs: the same request, and
`bytes chunk = 1` messages holding its body as it arrives (StreamRules.raw_body).
"""
from model import Field, Message, Rpc

VERBS = ("List", "Get")
# Operations whose raw body (Accept */*, `bytes content`) is streamed as it arrives: exports.
RAW_BODY_STREAMS = ("v2ExportLogs",)


def stream_name(list_name, taken):
    for verb in VERBS:
        if list_name.startswith(verb) and list_name[len(verb):][:1].isupper():
            name = "Stream" + list_name[len(verb):]
            if name not in taken:
                return name
    return "Stream" + list_name


def page_shape(rpc, messages):
    """(cursor message, data field) when `rpc` is a cursor-paginated list, else None."""
    req = {f.name: f for f in rpc.request.fields}
    cursor_param = req.get("cursor")
    if cursor_param is None or cursor_param.rules.get("location", "FIELD_LOCATION_QUERY") != "FIELD_LOCATION_QUERY":
        return None
    if rpc.body or rpc.response_body or rpc.method != "get":
        return None
    resp = {f.name: f for f in rpc.response.fields}
    cursor = resp.get("cursor")
    if cursor is None or cursor.label or cursor.ptype not in messages:
        return None
    page = messages[cursor.ptype]
    fields = {f.name: f for f in page.fields}
    data, nxt = fields.get("data"), fields.get("next")
    if data is None or data.label != "repeated" or nxt is None or nxt.ptype != "string":
        return None
    if data.ptype not in messages:
        return None  # Every Formance page holds objects; a page of scalars gets no stream.
    return page, data


def copy_field(f):
    c = Field(f.name, f.ptype, f.label, json_name=f.json_name, rules=f.rules, comments=f.comments,
              oneof=f.oneof, deprecated=f.deprecated)
    return c


def copy_request(rpc, name):
    req = Message(name + "Request", file="service",
                  comments=["The request of %s, field for field (same names and numbers)." % rpc.name])
    for f in rpc.request.fields:
        req.fields.append(copy_field(f))
    return req


def raw_body_stream(rpc, name):
    """Stream<Name> for an operation of RAW_BODY_STREAMS: its body, chunk by chunk."""
    resp = Message(name + "Response", file="service", comments=["A piece of the body of %s." % rpc.name])
    resp.fields.append(Field("chunk", "bytes", comments=[
        "The next bytes of the body, in order; the chunks joined are the body %s returns." % rpc.name]))
    s = Rpc(name, rpc.method, rpc.path, copy_request(rpc, name), resp)
    s.server_streaming = True
    s.stream_of = rpc
    s.rules = {"module": rpc.rules.get("module", ""), "stream": {"list_rpc": rpc.name, "raw_body": True}}
    s.comments = [
        "Streams the body of %s as it arrives, in chunks, in order: the export is never held whole" % rpc.name,
        "(one chunk per call in the gateway; the next is read from Formance only once the caller has",
        "taken the current one). Never cached. Bounded by the caller's deadline and upstream.request_timeout.",
        "Not resumable: a stream that ends early is started again.",
    ]
    s.deprecated = rpc.deprecated
    return s


def add_stream_rpcs(sm, pm):
    """Appends the stream rpcs of `sm`'s lists (and raw-body exports) to sm.rpcs; returns them."""
    taken = {r.name for r in sm.rpcs}
    streams = []
    for rpc in list(sm.rpcs):
        if rpc.rules.get("operation_id") in RAW_BODY_STREAMS and rpc.response_body == "content":
            name = "Stream" + rpc.name
            taken.add(name)
            streams.append(raw_body_stream(rpc, name))
            continue
        shape = page_shape(rpc, pm.messages)
        if shape is None:
            continue
        page, data = shape
        name = stream_name(rpc.name, taken)
        taken.add(name)
        req = copy_request(rpc, name)
        resp = Message(name + "Response", file="service", comments=["One item of %s." % rpc.name])
        item = Field("item", data.ptype, comments=["One element of the page's `cursor.data`."])
        cursor = Field("cursor", "string", comments=[
            "Where to resume after this item: pass it as the request's `cursor` (gateway-made,",
            "opaque; a Formance cursor from %s is accepted too). Empty on the last item of a" % rpc.name,
            "complete stream: nothing follows."])
        resp.fields += [item, cursor]
        s = Rpc(name, rpc.method, rpc.path, req, resp)
        s.server_streaming = True
        s.stream_of = rpc
        has_pit = any(f.name == "pit" for f in rpc.request.fields)
        stream = {"list_rpc": rpc.name, "items_field": "cursor.data", "next_cursor_field": "cursor.next"}
        if any(f.name == "has_more" for f in page.fields):
            stream["has_more_field"] = "cursor.has_more"
        stream["cursor_field"] = "cursor"
        if has_pit:
            stream["pit_field"] = "pit"
        s.rules = {"module": rpc.rules.get("module", ""), "stream": stream}
        s.comments = [
            "Streams %s: one message per item, in the order of its pages." % rpc.name,
            "Flow control: the next page is asked for only once the current page's items are written",
            "to the caller (at most one page per call held in the gateway). Never cached.",
            "Bounds: the caller's deadline, and the x-formance-max-items metadata (a whole number >= 1;",
            "the stream ends OK after that many items).",
            "No duplicates: pages are followed by their `next` cursor, each item sent once.",
        ]
        if has_pit:
            s.comments += [
                "Point in time: a request without `pit` or `cursor` is pinned to the stream's start",
                "(`pit` = the gateway's clock, UTC), so writes during the stream neither add nor move items.",
            ]
        s.comments.append("Resume: the same request with `cursor` = the last received message's `cursor`.")
        s.deprecated = rpc.deprecated
        streams.append(s)
    sm.rpcs.extend(streams)
    return streams
