"""The domain core stays pure: no Telegram, no database, no I/O layers.

Two checks, because each catches what the other misses: the AST check names
the offending line of a direct import (also ones inside functions), and the
subprocess check catches transitive imports that only show up in
``sys.modules`` after importing every domain module in a fresh interpreter.
New modules in ``bot/domain`` are picked up automatically.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "bot" / "domain"
FORBIDDEN = ("telegram", "sqlalchemy", "bot.storage", "bot.handlers")
MODULES = sorted(
    "bot.domain" if path.stem == "__init__" else f"bot.domain.{path.stem}"
    for path in DOMAIN.glob("*.py")
)


def _is_forbidden(module: str) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in FORBIDDEN)


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) for every import statement in the file."""
    package = "bot.domain"
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
    return found


def test_the_domain_package_has_modules() -> None:
    assert "bot.domain.schedule" in MODULES
    assert "bot.domain.srs" in MODULES


@pytest.mark.parametrize("path", sorted(DOMAIN.glob("*.py")), ids=lambda path: path.name)
def test_no_forbidden_direct_imports(path: Path) -> None:
    offending = [f"{path.name}:{line} imports {module}" for line, module in _imported_modules(path)]
    offending = [entry for entry in offending if _is_forbidden(entry.rsplit(" ", 1)[1])]
    assert offending == []


def test_no_forbidden_modules_loaded_transitively() -> None:
    script = (
        "import importlib, json, sys\n"
        f"for name in {MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=DOMAIN.parents[1],
    )
    loaded = json.loads(result.stdout)
    assert [name for name in loaded if _is_forbidden(name)] == []
