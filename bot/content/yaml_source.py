"""YAML parsing that remembers where every value came from.

PyYAML's ``safe_load`` throws positions away, but a checker that says
``nlp.yaml:212:5: answer must not be empty`` needs them. We compose the node
graph once, construct plain Python data from it, and keep a map from the
path of each value (``("questions", 3, "answer")``, the same shape as a
pydantic error ``loc``) to its line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]
# libyaml's safe loader when PyYAML was built with it, else the pure-Python one.
FAST_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Position = tuple[int, int]


@dataclass
class SourceMap:
    """Positions (1-based line, column) of values and of mapping keys, by path."""

    values: dict[Path_, Position] = field(default_factory=dict)
    keys: dict[Path_, Position] = field(default_factory=dict)
    duplicate_keys: list[tuple[Path_, Position]] = field(default_factory=list)

    def locate(self, path: Path_, *, prefer_key: bool = False) -> Position:
        """The position of ``path`` or of its nearest ancestor that has one."""
        probe = tuple(path)
        while True:
            table = (self.keys, self.values) if prefer_key else (self.values, self.keys)
            for candidate in table:
                if probe in candidate:
                    return candidate[probe]
            if not probe:
                return (1, 1)
            probe = probe[:-1]


@dataclass(frozen=True)
class ParsedYaml:
    data: Any
    source_map: SourceMap


class YamlSyntaxError(Exception):
    """A YAML file that does not parse; ``line``/``column`` are 1-based."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def _position(node: yaml.Node) -> Position:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _record(node: yaml.Node, path: Path_, source_map: SourceMap) -> None:
    source_map.values[path] = _position(node)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            if key in seen:
                source_map.duplicate_keys.append((child, _position(key_node)))
            seen.add(key)
            source_map.keys[child] = _position(key_node)
            _record(value_node, child, source_map)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record(item, (*path, index), source_map)


def parse_yaml(text: str, *, fast: bool = False) -> ParsedYaml:
    """Parse one YAML document with positions; raise YamlSyntaxError if it is broken.

    ``fast`` parses with libyaml where PyYAML has it (about 20 times faster: uploads
    of people's decks run while the bot serves others), with the same positions.
    """
    loader = (FAST_SAFE_LOADER if fast else yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(part for part in (error.context, error.problem) if part)
        raise YamlSyntaxError(f"YAML syntax error: {message}", line, column) from error
    except yaml.YAMLError as error:
        raise YamlSyntaxError(f"YAML error: {error}", 1, 1) from error
    finally:
        loader.dispose()
    source_map = SourceMap()
    if node is not None:
        _record(node, (), source_map)
    return ParsedYaml(data=data, source_map=source_map)
