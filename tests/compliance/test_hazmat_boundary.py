"""Only compliance/crypto/primitives.py may import cryptography.hazmat (style rule 10)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("compliance", "connectors", "actions")
ALLOWED = {Path("compliance/crypto/primitives.py")}


def _hazmat_imports(source: str) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            names = [module] + [f"{module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(
                node.func, "id", "")) in ("import_module", "__import__"):
            names = [a.value for a in node.args if isinstance(a, ast.Constant)
                     and isinstance(a.value, str)]
        else:
            continue
        if any(n == "cryptography.hazmat" or n.startswith("cryptography.hazmat.") for n in names):
            lines.append(node.lineno)
    return lines


def test_detector_catches_each_spelling() -> None:
    for source in ("import cryptography.hazmat.primitives",
                   "from cryptography.hazmat.primitives import hashes",
                   "from cryptography import hazmat",
                   "import importlib\nimportlib.import_module('cryptography.hazmat.backends')"):
        assert _hazmat_imports(source), source
    assert not _hazmat_imports("from cryptography.exceptions import InvalidTag")


def test_only_primitives_imports_hazmat() -> None:
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative in ALLOWED:
                continue
            lines = _hazmat_imports(path.read_text(encoding="utf-8"))
            offenders += [f"{relative}:{line}" for line in lines]
    assert offenders == [], f"cryptography.hazmat imported outside primitives.py: {offenders}"
    assert _hazmat_imports((ROOT / "compliance/crypto/primitives.py").read_text())
