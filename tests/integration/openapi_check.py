# SPDX-License-Identifier: MIT
# Holds the daemon to doc/openapi.yaml: every response the integration tests receive is matched
# to its operation and status there and its body validated with python3-jsonschema (Draft
# 2020-12, the dialect of OpenAPI 3.1). A response the document does not describe fails.
import json
import os
import urllib.parse

import jsonschema
import yaml

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC_PATH = os.path.join(SRC, "doc", "openapi.yaml")


class Mismatch(Exception):
    pass


def _load():
    with open(SPEC_PATH) as f:
        spec = yaml.safe_load(f)

    def resolve(node, seen=()):
        # Inlines "#/components/…" references (the document has no recursive schemas).
        if isinstance(node, dict):
            if "$ref" in node:
                ref = node["$ref"]
                if not ref.startswith("#/") or ref in seen:
                    raise Mismatch(f"{SPEC_PATH}: cannot resolve {ref}")
                target = spec
                for part in ref[2:].split("/"):
                    target = target[part]
                return resolve(target, seen + (ref,))
            return {k: resolve(v, seen) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v, seen) for v in node]
        return node

    resolved = resolve(spec)
    for schema in resolved["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)
    return resolved


SPEC = _load()


def _match(path):
    """The path template of the document for a request path, literals before parameters."""
    segs = path.split("/")
    best = None
    for template in SPEC["paths"]:
        tsegs = template.split("/")
        if len(tsegs) != len(segs):
            continue
        literals = 0
        for t, s in zip(tsegs, segs):
            if t.startswith("{") and t.endswith("}"):
                if not s:
                    break
            elif t == s:
                literals += 1
            else:
                break
        else:
            if best is None or literals > best[0]:
                best = (literals, template)
    return best[1] if best else None


def validate(method, target, status, content_type, body):
    """Checks one response; raises Mismatch saying what does not hold."""
    path = urllib.parse.urlsplit(target).path
    template = _match(path)
    if template is None:
        # Not an API resource: the 404 every unknown path gets.
        if status == 404:
            return validate("GET", "/v1/orders/x", 404, content_type, body)
        raise Mismatch(f"{method} {path}: {status} for a path doc/openapi.yaml does not have")
    op = SPEC["paths"][template].get(method.lower())
    if op is None:
        if status == 405:
            return _check_error(method, path, body)
        raise Mismatch(f"{method} {template}: no such operation in doc/openapi.yaml")
    resp = op["responses"].get(str(status))
    if resp is None:
        raise Mismatch(f"{method} {template}: status {status} is not in doc/openapi.yaml "
                       f"(body {body[:200]!r})")
    content = resp.get("content")
    if not content:
        if body:
            raise Mismatch(f"{method} {template} {status}: a body where none is described")
        return
    ctype = (content_type or "").split(";")[0].strip()
    if ctype not in content:
        raise Mismatch(f"{method} {template} {status}: Content-Type {content_type!r}, "
                       f"described: {sorted(content)}")
    if ctype != "application/json":
        return
    try:
        doc = json.loads(body)
    except ValueError as e:
        raise Mismatch(f"{method} {template} {status}: not JSON ({e}): {body[:200]!r}")
    _check(content[ctype]["schema"], doc, f"{method} {template} {status}")


def _check_error(method, path, body):
    _check(SPEC["components"]["schemas"]["Error"], json.loads(body), f"{method} {path}")


def _check(schema, doc, what):
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(doc),
                    key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "(top)"
        raise Mismatch(f"{what}: the body does not match doc/openapi.yaml at {where}: "
                       f"{e.message}; body: {json.dumps(doc)[:400]}")


EVENTS = SPEC["paths"]["/v1/events"]["get"]["responses"]["200"]["x-events"]
EVENT_ID = SPEC["components"]["schemas"]["EventId"]


def validate_event(ev):
    """One event of the stream: {"id","event","data"} as tests/integration/harness.py parses
    it."""
    name = ev.get("event")
    if name not in EVENTS:
        raise Mismatch(f"event {name!r} is not in doc/openapi.yaml x-events")
    if "id" not in ev:
        raise Mismatch(f"event {name} without an id")
    _check(EVENT_ID, ev["id"], f"event {name} id")
    _check(EVENTS[name], ev["data"], f"event {name}")
