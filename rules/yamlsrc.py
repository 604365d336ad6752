"""YAML text to plain data, remembering the line of every key and item.

Config files and rule packs are written by people; when one is wrong the error must
name the file, the line and the key path (``notifiers[1].type``). PyYAML's composed
node tree carries start marks, so we build the data from nodes ourselves and keep a
map from key path to line number. Pure: text in, data out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]


class SourceError(ValueError):
    """A problem in a YAML source, located by file, line and key path."""

    def __init__(self, source: str, line: int | None, path: Path, message: str) -> None:
        self.source = source
        self.line = line
        self.path = path
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        key = format_path(self.path)
        return f"{where}: {key}: {self.message}" if key else f"{where}: {self.message}"


def format_path(path: Path) -> str:
    """('notifiers', 1, 'type') -> 'notifiers[1].type'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class Located:
    """Parsed YAML data plus the 1-based line of each key path."""

    source: str
    data: Any
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int | None:
        """The line of ``path`` or of its nearest ancestor that has one."""
        for cut in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:cut]))
            if line is not None:
                return line
        return None

    def error(self, path: Path, message: str) -> SourceError:
        return SourceError(self.source, self.line_of(path), path, message)


class _Builder:
    def __init__(self) -> None:
        self.lines: dict[Path, int] = {}
        self._constructor = yaml.SafeLoader(stream="")

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self._constructor.construct_object(key_node, deep=True)
                if key == "<<":
                    raise yaml.MarkedYAMLError(problem="merge keys are not supported",
                                               problem_mark=key_node.start_mark)
                out[key] = self.build(value_node, path + (str(key),))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        return self._constructor.construct_object(node, deep=True)


def load_yaml(text: str, source: str) -> Located:
    """Parse one YAML document; syntax errors become a SourceError with a line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is None:
            return Located(source, None, {(): 1})
        builder = _Builder()
        data = builder.build(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise SourceError(source, line, (), f"invalid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise SourceError(source, None, (), f"invalid YAML: {exc}") from None
    return Located(source, data, builder.lines)
