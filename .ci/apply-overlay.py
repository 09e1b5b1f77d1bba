"""Applies an OpenAPI Overlay 1.0 document to an OpenAPI document; prints YAML.

    python3 .ci/apply-overlay.py fixtures/openapi.yaml fixtures/openapi-reference.overlay.yaml

Needs PyYAML (Schemathesis's venv has it). Implements the part of the
Overlay specification fixtures/openapi-reference.overlay.yaml uses, and
refuses the rest:
- a target is `$` followed by `.name`, `['name']`, `[index]`, `.*` or `[*]`
  segments (no filters, no recursive descent); a target that selects
  nothing is an error (a typo would otherwise apply nothing);
- `update` merges into an object (objects recursively, anything else
  replaced) and is appended to an array;
- `remove: true` removes the selected member or item.
Actions apply in order.
"""

import re
import sys

import yaml

SEGMENT = re.compile(r"""\.([A-Za-z0-9_$-]+)|\.\*|\[\*\]|\['((?:[^'\\]|\\.)*)'\]|\[(\d+)\]""")


def parse_target(target):
    """The segments of `target`: names (str), indices (int) and '*' (None)."""
    if not target.startswith("$"):
        raise ValueError(f"target must start with $: {target}")
    segments, pos = [], 1
    while pos < len(target):
        m = SEGMENT.match(target, pos)
        if m is None:
            raise ValueError(f"unsupported target syntax at {target[pos:]!r} in {target}")
        if m.group(1) is not None:
            segments.append(m.group(1))
        elif m.group(2) is not None:
            segments.append(re.sub(r"\\(.)", r"\1", m.group(2)))
        elif m.group(3) is not None:
            segments.append(int(m.group(3)))
        else:
            segments.append(None)
        pos = m.end()
    return segments


def select(node, segments):
    """(parent, key, value) for every node the segments select from `node`."""
    found = [(None, None, node)]
    for seg in segments:
        step = []
        for _, _, value in found:
            if seg is None:
                if isinstance(value, dict):
                    step.extend((value, k, v) for k, v in value.items())
                elif isinstance(value, list):
                    step.extend((value, i, v) for i, v in enumerate(value))
            elif isinstance(value, dict) and isinstance(seg, str) and seg in value:
                step.append((value, seg, value[seg]))
            elif isinstance(value, list) and isinstance(seg, int) and seg < len(value):
                step.append((value, seg, value[seg]))
        found = step
    return found


def merge(target, update):
    """Overlay `update` semantics on one selected node."""
    if isinstance(target, list):
        target.append(update)
    elif isinstance(target, dict) and isinstance(update, dict):
        for key, value in update.items():
            if isinstance(target.get(key), dict) and isinstance(value, dict):
                merge(target[key], value)
            else:
                target[key] = value
    else:
        raise ValueError("update applies to an object or an array")


def apply(document, overlay):
    if not str(overlay.get("overlay", "")).startswith("1."):
        raise ValueError("not an Overlay 1.x document")
    for action in overlay.get("actions", []):
        target = action["target"]
        selected = select(document, parse_target(target))
        if not selected:
            raise ValueError(f"target selects nothing: {target}")
        if action.get("remove"):
            for parent, key, _ in reversed(selected):
                if parent is None:
                    raise ValueError("cannot remove the document")
                del parent[key]
        elif "update" in action:
            for _, _, value in selected:
                merge(value, yaml.safe_load(yaml.safe_dump(action["update"])))
    return document


def _text(dumper, data):
    """Multi-line strings as literal blocks, as people write them."""
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: apply-overlay.py OPENAPI.yaml OVERLAY.yaml")
    with open(sys.argv[1], encoding="utf-8") as f:
        document = yaml.safe_load(f)
    with open(sys.argv[2], encoding="utf-8") as f:
        overlay = yaml.safe_load(f)
    try:
        apply(document, overlay)
    except (ValueError, KeyError) as e:
        sys.exit(f"apply-overlay.py: {e}")
    yaml.SafeDumper.add_representer(str, _text)
    yaml.safe_dump(document, sys.stdout, sort_keys=False, allow_unicode=True, width=1000)


if __name__ == "__main__":
    main()
