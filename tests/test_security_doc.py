"""Every claim of docs/security.md carries the test that proves it: each ``tests/<file>.py::<name>``
the page names is a test function (or class) that exists, so a renamed or deleted proof fails here
instead of leaving the page pointing at nothing."""

from __future__ import annotations

import ast
import re

from tracker import PROJECT_ROOT

DOC = PROJECT_ROOT / "docs" / "security.md"
REFERENCE = re.compile(r"(tests/[\w/]+\.py)::(\w+)(?:\[[^\]]*\])?")


def defined_names(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)}


def test_the_page_names_proofs():
    assert len(REFERENCE.findall(DOC.read_text(encoding="utf-8"))) > 100


def test_every_test_the_security_page_names_exists():
    missing = []
    names_by_file: dict[str, set[str]] = {}
    for file, name in REFERENCE.findall(DOC.read_text(encoding="utf-8")):
        path = PROJECT_ROOT / file
        if not path.is_file():
            missing.append(f"{file} (no such file)")
            continue
        names = names_by_file.setdefault(file, defined_names(path))
        if name not in names:
            missing.append(f"{file}::{name}")
    assert not missing, missing
