"""Reading a layout's YAML: the text from its file, the round-trip tree that knows each
node's line and column, plain data for pydantic, and the positions of paths in it.

Every input, however hostile, ends in a located :class:`LayoutError` within a bound
of time and memory: absurd sizes are refused before parsing, alias expansion is
counted, deep nesting is caught, duplicate keys are located.
"""

from __future__ import annotations

__all__ = [
    "MAX_LAYOUT_BYTES",
    "MAX_LAYOUT_ITEMS",
    "MAX_LAYOUT_NODES",
    "TooManyNodes",
    "YamlPath",
    "plain",
    "plain_key",
    "position",
    "read_layout_text",
    "read_yaml",
    "refuse_absurd_size",
]

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from compositor.core.errors import LayoutError, LayoutIssue
from compositor.core.redact import redact_secrets

# A layout is a few kB (the 14-screen control room: 12 kB, 150 lines). Refuse anything
# absurd before YAML sees it: parsing takes about 40 us per value, so these bound it to
# a second or two (the running wall parses each edit).
MAX_LAYOUT_BYTES = 1024 * 1024
MAX_LAYOUT_ITEMS = 20_000  # lines plus commas


MAX_LAYOUT_NODES = 100_000  # a real layout has a few thousand; aliases could make billions


class TooManyNodes(Exception):
    pass


_MISSING = object()


def plain_key(key: Any) -> Any:
    # Numbers stay numbers (pydantic then says "not text"); anything else odd becomes text.
    if isinstance(key, bool) or key is None:
        return {True: "true", False: "false", None: "null"}[key]
    return key if isinstance(key, int | float) else str(key)


def plain(node: Any, budget: list[int] | None = None) -> Any:
    """ruamel's round-trip types -> plain dict/list/str/int, so pydantic sees plain data.

    YAML aliases are expanded here, so a "billion laughs" file of a few hundred
    bytes would grow without bound: ``budget`` counts the nodes made and stops it.
    """
    if budget is None:
        budget = [MAX_LAYOUT_NODES]
    budget[0] -= 1
    if budget[0] < 0:
        raise TooManyNodes
    if isinstance(node, dict):
        return {plain_key(k): plain(v, budget) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v, budget) for v in node]
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


YamlPath = tuple[str | int, ...]


def position(root: Any, path: YamlPath, at_key: bool = False) -> tuple[int, int]:
    """1-based line and column of the deepest node of ``path`` present in the YAML tree.

    ``at_key`` points at the last key itself rather than its value (an unknown key);
    so does a path ending in pydantic's ``"[key]"`` (a key that is not a valid id).
    """
    line, col = 1, 1
    node = root
    for index, step in enumerate(path):
        if isinstance(node, CommentedMap):
            key = next((k for k in node if plain_key(k) == step), _MISSING)
            if key is _MISSING:
                break
            # The key's position names the offending entry; its value may be a long block.
            k_line, k_col = node.lc.key(key)
            line, col = k_line + 1, k_col + 1
            value = node[key]
            key_wanted = at_key or path[index + 1 : index + 2] == ("[key]",)
            if not isinstance(value, CommentedMap | CommentedSeq) and not key_wanted:
                v_line, v_col = node.lc.value(key)
                line, col = v_line + 1, v_col + 1
            node = value
        elif isinstance(node, CommentedSeq) and isinstance(step, int) and 0 <= step < len(node):
            i_line, i_col = node.lc.item(step)
            line, col = i_line + 1, i_col + 1
            node = node[step]
        else:
            break
    return line, col


def _yaml(allow_duplicate_keys: bool = False) -> YAML:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = allow_duplicate_keys
    return yaml


def _mapping_nodes(text: str) -> Iterator[MappingNode]:
    """Every mapping of ``text``'s composed node graph, once each (in which an alias is a
    shared node, not a copy), keys' included."""
    stack: list[Node] = [_yaml().compose(text)]
    visited: set[int] = set()
    while stack and len(visited) < MAX_LAYOUT_NODES:
        node = stack.pop()
        if node is None or id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, MappingNode):
            yield node
            for key, value in node.value:
                stack += (key, value)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)


def _duplicate_keys(text: str, source: str) -> list[LayoutIssue]:
    """Every key given twice in one mapping, at the second, naming the first's line."""
    issues: list[LayoutIssue] = []
    for mapping in _mapping_nodes(text):
        first_line: dict[str, int] = {}
        for key, _ in mapping.value:
            if not isinstance(key, ScalarNode):
                continue
            line, col = key.start_mark.line + 1, key.start_mark.column + 1
            if key.value in first_line:
                message = f"duplicate key {key.value!r} (first on line {first_line[key.value]})"
                issues.append(LayoutIssue(source, line, col, message))
            else:
                first_line[key.value] = line
    return sorted(issues, key=lambda issue: (issue.line, issue.col))


def _unhashable_key(text: str, source: str) -> LayoutIssue:
    """Where ``text`` has a key YAML's reader cannot use, the first one: a list or a
    mapping holding a list or a mapping (``[{a: b}]: x``; flat ones become tuples)."""

    def nested(key: Node) -> bool:
        if isinstance(key, SequenceNode):
            items = key.value
        elif isinstance(key, MappingNode):
            items = [node for pair in key.value for node in pair]
        else:
            return False
        return any(not isinstance(item, ScalarNode) for item in items)

    found = [key for mapping in _mapping_nodes(text) for key, _ in mapping.value if nested(key)]
    message = "a key must be a name, not a list or a mapping"
    if not found:
        return LayoutIssue(source, 0, 0, message)
    mark = min(found, key=lambda key: (key.start_mark.line, key.start_mark.column)).start_mark
    return LayoutIssue(source, mark.line + 1, mark.column + 1, message)


def _syntax_problem(exc: MarkedYAMLError) -> str:
    problem = redact_secrets(exc.problem or exc.context or "invalid YAML")
    if "'\\t'" in problem:
        problem += " (indent with spaces, not tabs)"
    return f"YAML syntax error: {problem}"


def read_yaml(text: str, source: str) -> tuple[CommentedMap, list[LayoutIssue]]:
    """The YAML tree of ``text`` and its duplicate keys (reported, and the rest still checked)."""
    duplicates: list[LayoutIssue] = []
    try:
        try:
            root = _yaml().load(text)
        except DuplicateKeyError:
            duplicates = _duplicate_keys(text, source)
            root = _yaml(allow_duplicate_keys=True).load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        raise LayoutError([LayoutIssue(source, line, col, _syntax_problem(exc))]) from None
    except ReaderError as exc:  # a control character: located by its index in the text
        position = exc.position if isinstance(exc.position, int) else 0
        before = text[:position]
        line, col = before.count("\n") + 1, position - before.rfind("\n")
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1])
        message = f"character U+{code:04X} is not allowed in a YAML text"
        raise LayoutError([LayoutIssue(source, line, col, message)]) from None
    except (YAMLError, ValueError) as exc:
        message = f"not valid YAML: {redact_secrets(str(exc))}"
        raise LayoutError([LayoutIssue(source, 0, 0, message)]) from None
    except RecursionError:
        raise LayoutError([LayoutIssue(source, 1, 1, "the layout is nested too deeply")]) from None
    except TypeError:  # ruamel makes keys dict keys: a key holding a mapping is unhashable
        raise LayoutError([_unhashable_key(text, source)]) from None
    if not isinstance(root, CommentedMap):
        shape = "a layout must be a mapping with 'cameras' and 'outputs'"
        raise LayoutError([*duplicates, LayoutIssue(source, 1, 1, shape)])
    return root, duplicates


def refuse_absurd_size(text: str, source: str) -> None:
    if len(text) > MAX_LAYOUT_BYTES:
        message = f"the layout is over {MAX_LAYOUT_BYTES} characters; a layout is a few kB"
    elif text.count("\n") + text.count(",") > MAX_LAYOUT_ITEMS:
        message = (
            f"the layout has over {MAX_LAYOUT_ITEMS} lines and list items; "
            "a layout has a few hundred"
        )
    else:
        return
    raise LayoutError([LayoutIssue(source, 0, 0, f"{message}: refused")])


_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _not_regular(path: Path, mode: int) -> LayoutError:
    kind = next((name for test, name in _KINDS if test(mode)), "not a plain file")
    message = f"not a regular file ({kind}): a layout is a YAML text file"
    return LayoutError([LayoutIssue(str(path), 0, 0, message)])


def read_layout_text(path: str | Path) -> str:
    """The text of a layout file; LayoutError (never OSError) if it cannot be used.

    Only a regular file is opened: opening a FIFO waits for a writer (``validate``,
    ``run`` and the running wall's watcher would hang), a device may do anything.
    """
    path = Path(path)
    try:
        info = os.stat(path)  # a link is followed: a layout may be one
        if not stat.S_ISREG(info.st_mode):
            raise _not_regular(path, info.st_mode)
        # O_NONBLOCK: should a FIFO be put there since, opening it does not wait.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise _not_regular(path, mode)
            # Read at most one byte past the limit: the size on disk may be wrong.
            data = handle.read(MAX_LAYOUT_BYTES + 1)
        if len(data) > MAX_LAYOUT_BYTES:
            raise LayoutError(
                [
                    LayoutIssue(
                        str(path),
                        0,
                        0,
                        f"file is over {MAX_LAYOUT_BYTES} bytes; a layout is a few kB",
                    )
                ]
            )
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise LayoutError([LayoutIssue(str(path), 0, 0, "no such file")]) from None
    except UnicodeDecodeError as exc:
        raise LayoutError(
            [LayoutIssue(str(path), 0, 0, f"not UTF-8 text (byte {exc.start})")]
        ) from None
    except OSError as exc:
        raise LayoutError([LayoutIssue(str(path), 0, 0, f"cannot read: {exc.strerror}")]) from None
    if "\0" in text:
        raise LayoutError([LayoutIssue(str(path), 0, 0, "binary data, not a YAML text file")])
    return text.removeprefix("\ufeff")
