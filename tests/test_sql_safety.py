"""No SQL is built from strings at run time (security-reliability.md S-5, S-6).

Queries go through SQLAlchemy expressions with bound parameters. Raw SQL text is allowed only
as a constant string literal; the one formatted statement (SQLite pragmas at connect, from
constants in the code) is listed here by name. Templates are never built from user data.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "screener"
SQL_CALLS = {"text", "exec_driver_sql", "execute", "executescript"}
#: (file, function) pairs allowed to format a SQL statement, and why.
ALLOWED = {("db.py", "_connect"): "PRAGMA and SET statements from constants and an int setting, never request data"}


def _function_at(tree: ast.AST, node: ast.AST) -> str:
    """The innermost function around ``node``."""
    line = getattr(node, "lineno", 0)
    around = [
        candidate
        for candidate in ast.walk(tree)
        if isinstance(candidate, ast.FunctionDef | ast.AsyncFunctionDef)
        and candidate.lineno <= line <= (candidate.end_lineno or 0)
    ]
    return max(around, key=lambda function: function.lineno).name if around else "<module>"


def _formatted(argument: ast.expr) -> bool:
    """An f-string, a % or + expression, or a .format() call: SQL made from strings."""
    if isinstance(argument, ast.JoinedStr | ast.BinOp):
        return True
    return (
        isinstance(argument, ast.Call) and isinstance(argument.func, ast.Attribute) and argument.func.attr == "format"
    )


def test_no_sql_is_formatted_from_strings() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue  # DDL written by us, run by `screener db upgrade`, never with request data
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in SQL_CALLS and _formatted(node.args[0]):
                place = (path.name, _function_at(tree, node))
                if place not in ALLOWED:
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} in {place[1]}")
    assert found == []


def test_templates_are_never_built_from_strings_at_run_time() -> None:
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        assert "render_template_string" not in source, path
        assert "from_string(" not in source, path
