"""screener.rules is pure: standard library only, no I/O, no clock, no framework."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import screener.rules

RULES_DIR = Path(screener.rules.__file__).parent
#: The only standard-library modules the rules may import: no I/O, clock, randomness or network.
ALLOWED_IMPORTS = {"__future__", "collections", "dataclasses", "enum", "functools", "hashlib", "json", "typing"}


def test_importing_the_rules_loads_no_framework_or_third_party_module() -> None:
    code = (
        "import json, sys; before = set(sys.modules); import screener.rules; "
        "new = {m.split('.')[0] for m in set(sys.modules) - before}; "
        "print(json.dumps(sorted(new - set(sys.stdlib_module_names))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(result.stdout))
    assert loaded <= {"screener"}, loaded
    assert not {"flask", "wtforms", "sqlalchemy", "werkzeug", "jinja2", "click"} & loaded


def test_rules_modules_import_only_each_other_and_a_short_stdlib_list() -> None:
    for path in sorted(RULES_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level == 0:
                    assert (node.module or "").split(".")[0] in ALLOWED_IMPORTS, f"{path.name}: {node.module}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name.split(".")[0] in ALLOWED_IMPORTS, f"{path.name}: {alias.name}"


def test_rules_modules_call_no_io_or_clock_builtins() -> None:
    forbidden = {"open", "print", "input", "exec", "eval", "__import__"}
    for path in sorted(RULES_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in forbidden, f"{path.name}:{node.lineno} calls {node.func.id}"
