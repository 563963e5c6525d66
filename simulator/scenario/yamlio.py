"""YAML loading that remembers the line of every key, so errors can point into the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from simulator.errors import InputError

Loc = tuple[str | int, ...]


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe loader; duplicate mapping keys are errors."""


def _construct(node: yaml.Node, path: Loc, lines: dict[Loc, int], file: str) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        loader = _UniqueKeyLoader("")
        loader.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) or key is None:
                raise InputError("mapping keys must be plain names", file, key_node.start_mark.line + 1)
            if key in out:
                raise InputError(
                    f"duplicate key '{key}' (first given on line {lines[(*path, key)]})",
                    file,
                    key_node.start_mark.line + 1,
                    ".".join(map(str, (*path, key))),
                )
            lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _construct(value_node, (*path, key), lines, file)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(v, (*path, i), lines, file) for i, v in enumerate(node.value)]
    loader = _UniqueKeyLoader("")
    return loader.construct_object(node, deep=True)


class LocatedDoc:
    """A parsed YAML document with the line of every key path."""

    def __init__(self, data: Any, lines: dict[Loc, int], file: str, overridden: dict[Loc, str] | None = None):
        self.data = data
        self.lines = lines
        self.file = file
        self.overridden = overridden or {}  # key path -> the --set text that wrote it

    def line_of(self, loc: Loc) -> int | None:
        """Line of ``loc`` or of its nearest ancestor that has one."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), None)

    def error(self, message: str, loc: Loc = ()) -> InputError:
        """An InputError pointing at ``loc`` (or at the --set option that wrote it)."""
        loc = tuple(loc)
        for path, text in self.overridden.items():
            if loc[: len(path)] == path:
                return InputError(f"{message} (from --set {text})", self.file, None, ".".join(map(str, loc)) or None)
        return InputError(message, self.file, self.line_of(loc), ".".join(map(str, loc)) or None)


def load_yaml_text(text: str, file: str = "<string>") -> LocatedDoc:
    """Parse YAML text into a LocatedDoc; syntax errors become InputError with a line."""
    try:
        node = yaml.compose(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError(f"YAML syntax error: {problem}", file, line) from None
    except yaml.YAMLError as exc:  # pragma: no cover - defensive
        raise InputError(f"YAML error: {exc}", file) from None
    if node is None:
        raise InputError("the file is empty; expected a YAML mapping", file, 1)
    lines: dict[Loc, int] = {}
    try:
        data = _construct(node, (), lines, file)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"YAML error: {getattr(exc, 'problem', exc)}", file, mark.line + 1 if mark else None) from None
    return LocatedDoc(data, lines, file)


def load_yaml_file(path: str | Path) -> LocatedDoc:
    """Read and parse a YAML file; a missing or unreadable file is an InputError."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", str(path)) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a YAML file", str(path)) from None
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", str(path)) from None
    return load_yaml_text(text, str(path))


def document_path(doc: LocatedDoc, loc: tuple, keep_missing_last: bool = True) -> tuple:
    """The part of a validation location that exists in the document (union tags dropped).

    With ``keep_missing_last`` the last part is kept when it names a key absent from its mapping
    (an unknown or a missing key).
    """
    out: list[Any] = []
    node: Any = doc.data
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            out.append(part)
            node = node[part]
        elif keep_missing_last and part == loc[-1] and isinstance(node, dict):
            out.append(part)
    return tuple(out)


def pydantic_errors(doc: LocatedDoc, exc: Any) -> InputError:
    """Turn the first error of a pydantic ValidationError into an InputError with a line."""
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    # pydantic adds tagged-union tags to the location; drop those that are not in the document
    clean = list(document_path(doc, loc, keep_missing_last=err["type"] in ("extra_forbidden", "missing")))
    kind = err["type"]
    key = clean[-1] if clean else None
    msg = err["msg"]
    if kind == "extra_forbidden":
        parent = tuple(clean[:-1])
        msg = f"unknown key '{key}'"
        allowed = err.get("ctx", {}).get("allowed")
        if allowed:
            from simulator.errors import suggest

            msg += suggest(str(key), allowed)
        return doc.error(msg, (*parent, key)) if (*parent, key) in doc.lines else doc.error(msg, parent)
    if kind == "missing":
        return doc.error(f"missing required key '{key}'", tuple(clean[:-1]))
    inp = err.get("input")
    msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    shown = ""
    if not isinstance(inp, dict | list) and inp is not None and "(got" not in msg:
        shown = f" (got {inp!r})"
    if isinstance(key, int):
        parent = clean[-2] if len(clean) > 1 else "item"
        label = f"{str(parent).rstrip('s')} {key}"
    else:
        label = f"'{key}'" if key is not None else ""
    return doc.error(f"{label}: {msg}{shown}" if label else f"{msg}{shown}", tuple(clean))
