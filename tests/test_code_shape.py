"""Code shape: no function in src/ is longer than 80 lines of code (its docstring not counted)
unless a comment on the line above its ``def`` says why (``# long: <reason>``)."""
from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
MAX_LINES = 80


def _code_lines(node: "ast.FunctionDef | ast.AsyncFunctionDef") -> int:
    n = node.end_lineno - node.lineno + 1 if node.end_lineno else 0
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
            and isinstance(first.value.value, str) and first.end_lineno:
        n -= first.end_lineno - first.lineno + 1
    return n


def long_functions(source: str, name: str = "<src>") -> list[str]:
    """``name:line function (n lines)`` for every function over :data:`MAX_LINES` lines of
    code without a ``# long:`` comment right above it (or above its decorators)."""
    lines = source.splitlines()
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            top = min([node.lineno] + [d.lineno for d in node.decorator_list])
            above = lines[top - 2].strip() if top >= 2 else ""
            n = _code_lines(node)
            if n > MAX_LINES and not above.startswith("# long:"):
                out.append(f"{name}:{node.lineno} {node.name} ({n} lines)")
    return out


def test_no_function_is_over_80_lines_without_a_reason():
    bad = [f for p in sorted(SRC.rglob("*.py"))
           for f in long_functions(p.read_text(), str(p.relative_to(SRC)))]
    assert not bad, bad


def test_the_check_sees_a_long_function_and_its_reason():
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_LINES))
    long = f'def f():\n    """Doc."""\n{body}'
    assert long_functions(long) == [f"<src>:1 f ({MAX_LINES + 1} lines)"]
    assert long_functions("# long: a table\n" + long) == []
    fits = "".join(f"    x{i} = {i}\n" for i in range(MAX_LINES - 1))   # + the def line
    assert long_functions(f'def g():\n    """Doc\n\n    more."""\n{fits}') == []
