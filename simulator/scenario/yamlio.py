"""YAML loading that remembers the line of every key, so errors can point into the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from simulator.errors import InputError
from simulator.scenario.limits import MAX_YAML_DEPTH, MAX_YAML_NODES

Loc = tuple[str | int, ...]


# libyaml's parser when PyYAML was built with it (about 20 times faster); the same events and marks
_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LimitExceeded(Exception):
    def __init__(self, message: str, mark: Any):
        super().__init__(message)
        self.message, self.mark = message, mark


def check_limits(text: str) -> None:
    """Walk the YAML events of ``text`` and stop at the first node beyond the documented limits.

    Nothing is built: nesting deeper than ``MAX_YAML_DEPTH`` and more than ``MAX_YAML_NODES`` nodes,
    an alias counted at the size of what it repeats, raise at the offending node. An alias bomb (nine
    levels of nine aliases: 9^9 nodes) fails at once instead of being expanded, and deep nesting never
    reaches Python's recursion limit in the composer, the loader or validation.
    """
    sizes: dict[str, int] = {}  # anchor -> the size of its node, aliases expanded
    frames: list[list[Any]] = []  # [anchor, size so far] of each open mapping or list
    total = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.CollectionEndEvent):
            anchor, size = frames.pop()
            if anchor is not None:
                sizes[anchor] = size
            if frames:
                frames[-1][1] += size
            continue
        if isinstance(event, yaml.CollectionStartEvent):
            if len(frames) >= MAX_YAML_DEPTH:
                raise _LimitExceeded(
                    f"nesting deeper than {MAX_YAML_DEPTH} levels of mappings and lists", event.start_mark
                )
            frames.append([event.anchor, 1])
            size = 1
        elif isinstance(event, yaml.ScalarEvent):
            size = 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
            if frames:
                frames[-1][1] += 1
        elif isinstance(event, yaml.AliasEvent):
            if any(frame[0] == event.anchor for frame in frames):
                raise _LimitExceeded("an alias refers to its own anchor (a recursive structure)", event.start_mark)
            size = sizes.get(event.anchor, 1)  # an undefined alias is reported by the composer
            if frames:
                frames[-1][1] += size
        else:
            continue
        total += size
        if total > MAX_YAML_NODES:
            alias = isinstance(event, yaml.AliasEvent)
            raise _LimitExceeded(
                f"{'with this alias expanded, ' if alias else ''}the document has more than {MAX_YAML_NODES:,} "
                "values (keys, items and scalars; an alias counts as what it repeats)",
                event.start_mark,
            )


def _scalar(constructor: yaml.constructor.SafeConstructor, node: yaml.Node, file: str) -> Any:
    """A key or a scalar value; a value its tag cannot build (an impossible date) is an error at its line."""
    try:
        return constructor.construct_object(node, deep=True)
    except (ValueError, KeyError, AttributeError, TypeError, yaml.YAMLError) as exc:
        # an explicit tag PyYAML cannot apply (!!bool maybe, !!timestamp abc) raises more than ValueError
        line = node.start_mark.line + 1
        if node.tag == "tag:yaml.org,2002:timestamp":
            raise InputError(
                f"'{node.value}' is not a valid date ({exc}); give a real date, or quote it to keep it as text",
                file,
                line,
            ) from None
        raise InputError(f"cannot read the value '{node.value}': {exc}", file, line) from None


def _construct(
    node: yaml.Node, path: Loc, lines: dict[Loc, int], file: str, constructor: yaml.constructor.SafeConstructor
) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        constructor.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = _scalar(constructor, key_node, file)
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
            out[key] = _construct(value_node, (*path, key), lines, file, constructor)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(v, (*path, i), lines, file, constructor) for i, v in enumerate(node.value)]
    return _scalar(constructor, node, file)


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
        check_limits(text)
        node = yaml.compose(text, Loader=_Loader)
    except _LimitExceeded as exc:
        raise InputError(exc.message, file, exc.mark.line + 1 if exc.mark else None) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        if "nesting depth" in problem:  # libyaml's own limit (1000 levels), reached before ours
            raise InputError(f"nesting deeper than {MAX_YAML_DEPTH} levels of mappings and lists", file, line) from None
        raise InputError(f"YAML syntax error: {problem}", file, line) from None
    except yaml.YAMLError as exc:  # pragma: no cover - defensive
        raise InputError(f"YAML error: {exc}", file) from None
    if node is None:
        raise InputError("the file is empty; expected a YAML mapping", file, 1)
    lines: dict[Loc, int] = {}
    try:
        data = _construct(node, (), lines, file, yaml.constructor.SafeConstructor())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"YAML error: {getattr(exc, 'problem', exc)}", file, mark.line + 1 if mark else None) from None
    return LocatedDoc(data, lines, file)


def load_yaml_value(text: str, what: str) -> Any:
    """Parse one YAML value given on the command line (``--set key=VALUE``) within the same limits as a file.

    Errors read ``WHAT: problem`` (the option names the value; a one-line value has no useful line).
    """
    if not text.strip():
        return None
    try:
        return load_yaml_text(text, what).data
    except InputError as exc:
        raise InputError(f"{what}: {exc.message}") from None


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
