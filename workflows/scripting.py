"""The restricted environment for BPMN expressions and script tasks (see bpmn/README.md).

Designers edit the BPMN files, so their code is compiled with RestrictedPython under a
stricter policy and run with limited builtins, the engine helpers and guards:

Guarded: imports and class definitions; every name and attribute starting with ``_``;
the names in :data:`FORBIDDEN_NAMES` (``print`` included); the frame, code and traceback
attributes of ``INSPECT_ATTRIBUTES`` and ``format``/``format_map`` (refused at compile
time, and again by the run-time ``getattr`` guard); attribute assignment and deletion;
item assignment except on lists and dicts (RestrictedPython's ``full_write_guard``);
``range()`` over :data:`RANGE_LIMIT` items; integer ``**`` with a result over
:data:`POWER_BIT_LIMIT` bits; variables shadowing a helper.

Not guarded: running time (``while True`` loops forever), memory grown by loops,
comprehensions or sequence repetition (``'x' * 10**9``), recursion up to Python's own
limit, and mutation of task data objects passed in (``items.append(1)``).
"""

from __future__ import annotations

import ast
import builtins
import operator
import symtable
import textwrap
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from types import CodeType, MappingProxyType
from typing import Any, Literal, NamedTuple

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import (
    full_write_guard, guarded_iter_unpack_sequence, guarded_unpack_sequence, safer_getattr_raise)
from RestrictedPython.transformer import (
    INSPECT_ATTRIBUTES, RestrictingNodeTransformer, copy_locations)
from SpiffWorkflow.bpmn.script_engine import BasePythonScriptEngineEnvironment, PythonScriptEngine


from .script_helpers import (  # noqa: F401  (the helpers are part of this module's API)
    HELPERS, add_working_days, days_left, deadline, is_working_day, now, tracking_provisional,
    warning_before)

Mode = Literal["eval", "exec"]
RANGE_LIMIT = 10_000
POWER_BIT_LIMIT = 10_000
FORBIDDEN_NAMES = frozenset({
    "open", "eval", "exec", "compile", "globals", "locals", "vars", "getattr", "setattr",
    "delattr", "hasattr", "type", "input", "breakpoint", "help", "print", "printed",
    "builtins", "dir", "exit", "quit", "object", "super", "memoryview", "classmethod",
    "staticmethod", "property"})
FORBIDDEN_ATTRIBUTES = INSPECT_ATTRIBUTES | {"format", "format_map"}


# -- guards called by the compiled code ------------------------------------------------
def _limited_range(*args: int) -> range:
    result = range(*args)
    try:
        size = len(result)
    except OverflowError:
        size = RANGE_LIMIT + 1
    if size > RANGE_LIMIT:
        raise ValueError(f"range() of more than {RANGE_LIMIT} items is not allowed")
    return result


def _guarded_pow(base: Any, exponent: Any) -> Any:
    if (isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1
            and exponent * abs(base).bit_length() > POWER_BIT_LIMIT):
        raise ValueError(f"power with a result over {POWER_BIT_LIMIT} bits is not allowed")
    return base ** exponent


def _guarded_getattr(obj: Any, name: str) -> Any:
    if not isinstance(name, str) or name.startswith("_") or name in FORBIDDEN_ATTRIBUTES:
        raise AttributeError(f"attribute {name!r} is not allowed")
    return safer_getattr_raise(obj, name)


_INPLACE: Mapping[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": _guarded_pow,
    "<<=": operator.ilshift, ">>=": operator.irshift, "&=": operator.iand,
    "|=": operator.ior, "^=": operator.ixor, "@=": operator.imatmul}


def _inplace(op: str, target: Any, value: Any) -> Any:
    return _INPLACE[op](target, value)


def _apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


_BUILTIN_NAMES = ("len min max abs round int float str bool list dict set tuple sorted any "
                  "all enumerate zip sum isinstance").split()
BUILTINS: Mapping[str, Any] = MappingProxyType({
    **{name: getattr(builtins, name) for name in _BUILTIN_NAMES},
    "range": _limited_range, "True": True, "False": False, "None": None})
_GUARDS: Mapping[str, Any] = {
    "_getattr_": _guarded_getattr, "_getitem_": operator.getitem, "_getiter_": iter,
    "_write_": full_write_guard, "_inplacevar_": _inplace,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_apply_": _apply, "_pow_": _guarded_pow}


# -- compilation -----------------------------------------------------------------------
class ScriptRestrictionError(SyntaxError):
    """The source was refused; ``violations`` lists every reason ("Line n: ...")."""

    def __init__(self, violations: Iterable[str]) -> None:
        self.violations = tuple(violations)
        super().__init__("; ".join(self.violations))
        first = self.violations[0] if self.violations else ""
        number = first[5:].split(":", 1)[0] if first.startswith("Line ") else ""
        self.lineno = int(number) if number.isdigit() else 0


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy, made stricter and with designer-friendly messages."""

    def check_name(self, node: Any, name: str | None, allow_magic_methods: bool = False) -> None:
        if name is not None and (name in FORBIDDEN_NAMES or (name.startswith("_") and name != "_")):
            self.error(node, f"name {name!r} is not allowed")

    def _check_binding(self, node: ast.AST, name: str) -> None:
        if name in HELPERS:
            self.error(node, f"variable {name!r} shadows the helper {name}(); choose another name")

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if isinstance(node.ctx, ast.Load):
            self.used_names[node.id] = True
        else:
            self._check_binding(node, node.id)
        self.check_name(node, node.id)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        self._check_binding(node, node.name)
        return super().visit_FunctionDef(node)

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        if node.attr.startswith("_") or node.attr in FORBIDDEN_ATTRIBUTES:
            self.error(node, f"attribute {node.attr!r} is not allowed")
        elif not isinstance(node.ctx, ast.Load):
            self.error(node, f"assigning or deleting attribute {node.attr!r} is not allowed")
        else:
            return super().visit_Attribute(node)
        return self.node_contents_visit(node)

    def visit_Call(self, node: ast.Call) -> Any:
        node = self.node_contents_visit(node)
        if (any(isinstance(arg, ast.Starred) for arg in node.args)
                or any(keyword.arg is None for keyword in node.keywords)):
            node.args.insert(0, node.func)
            node.func = ast.Name("_apply_", ast.Load())
            copy_locations(node.func, node.args[0])
        return node

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = self.node_contents_visit(node)
        if not isinstance(node.op, ast.Pow):
            return node
        call = ast.Call(func=ast.Name("_pow_", ast.Load()), args=[node.left, node.right],
                        keywords=[])
        copy_locations(call, node)
        return call

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> Any:
        self.error(node, "import statements are not allowed")
        return node

    visit_ImportFrom = visit_Import

    def visit_ClassDef(self, node: ast.ClassDef) -> Any:
        self.error(node, "class definitions are not allowed")
        return node


class _Compiled(NamedTuple):
    code: CodeType | None
    violations: tuple[str, ...]


def _prepare(source: str, mode: Mode) -> str:
    if not isinstance(source, str):
        raise TypeError(f"source must be a str, not {type(source).__name__}")
    return source.strip() if mode == "eval" else textwrap.dedent(source)


# Deep nesting makes Python's parser raise RecursionError or MemoryError.
_UNCOMPILABLE = (SyntaxError, ValueError, RecursionError, MemoryError)


@lru_cache(maxsize=2048)
def _compile(source: str, mode: Mode) -> _Compiled:
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    try:
        result = compiler(_prepare(source, mode), "<string>", policy=_Policy)
    except _UNCOMPILABLE as error:  # raised by Python's parser or compiler, not reported
        line = getattr(error, "lineno", None) or 0
        message = getattr(error, "msg", None) or str(error) or "source too deeply nested"
        return _Compiled(None, (f"Line {line}: {type(error).__name__}: {message}",))
    return _Compiled(result.code, tuple(dict.fromkeys(result.errors)))


def _code(source: str, mode: Mode) -> CodeType:
    compiled = _compile(source, mode)
    if compiled.code is None:
        raise ScriptRestrictionError(compiled.violations)
    return compiled.code


# -- the environment -------------------------------------------------------------------
class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Task data as variables, the helpers and a few builtins; nothing else."""

    def __init__(self) -> None:
        super().__init__(dict(HELPERS))
        self._builtins: dict[str, Any] = {**BUILTINS, **_GUARDS, **HELPERS}

    def _namespace(self, context: Mapping[str, Any],
                   external_context: Mapping[str, Any] | None) -> dict[str, Any]:
        layer = self._builtins
        if external_context:
            layer = {**{k: v for k, v in external_context.items() if _visible(k)}, **layer}
        return {"__builtins__": layer, **{k: v for k, v in context.items() if _visible(k)}}

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: Mapping[str, Any] | None = None) -> Any:
        """The value of ``expression``.  As in SpiffWorkflow, task data shadows helpers
        and builtins; the external context only provides names that are neither."""
        return eval(_code(expression, "eval"), self._namespace(context, external_context))

    def execute(self, script: str, context: dict[str, Any],
                external_context: Mapping[str, Any] | None = None) -> bool:
        """Run ``script``; ``context`` becomes the task data plus the variables it bound
        (callables excepted), or stays as it was if the script fails."""
        external = external_context or {}
        _refuse_shadowing(context, external)
        namespace = self._namespace(context, external)
        exec(_code(script, "exec"), namespace)
        del namespace["__builtins__"]
        _refuse_shadowing(namespace, external)
        hidden = {k: v for k, v in context.items() if not _visible(k)}
        context.clear()
        context.update(hidden)
        context.update((k, v) for k, v in namespace.items() if _visible(k) and not callable(v))
        return True


def _visible(name: Any) -> bool:
    return isinstance(name, str) and not name.startswith("_")


def _refuse_shadowing(names: Iterable[str], external: Mapping[str, Any]) -> None:
    clashes = sorted(set(names) & (set(HELPERS) | set(external)))
    if clashes:
        raise ValueError("variables may not shadow helpers or predefined names: "
                         + ", ".join(repr(name) for name in clashes))


def make_script_engine() -> PythonScriptEngine:
    """A SpiffWorkflow script engine running everything in :class:`RestrictedEnvironment`."""
    return PythonScriptEngine(environment=RestrictedEnvironment())


# -- static checks ---------------------------------------------------------------------
def check_expression(source: str, known_names: set[str] | None = None) -> list[str]:
    """Violations of a condition or timer expression, without running it ([] = fine).
    With ``known_names`` (the process variables), unknown free names are reported too."""
    return _check(source, "eval", known_names)


def check_script(source: str, known_names: set[str] | None = None) -> list[str]:
    """Violations of a script task's script, without running it ([] = fine)."""
    return _check(source, "exec", known_names)


def _check(source: str, mode: Mode, known_names: set[str] | None) -> list[str]:
    problems = list(_compile(source, mode).violations)
    if known_names is None:
        return problems
    text = _prepare(source, mode)
    try:
        tree, table = ast.parse(text, "<string>", mode), symtable.symtable(text, "<string>", mode)
    except _UNCOMPILABLE:
        return problems  # already reported by the compiler
    allowed = set(known_names) | set(HELPERS) | set(BUILTINS) | FORBIDDEN_NAMES
    unknown = {n for n in _free_names(table) if n not in allowed and _visible(n)}
    lines: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in unknown:
            lines[node.id] = min(lines.get(node.id, node.lineno), node.lineno)
    return problems + [f"Line {lines.get(name, 0)}: unknown name {name!r} (not a process "
                       f"variable, helper or allowed builtin)"
                       for name in sorted(unknown, key=lambda n: (lines.get(n, 0), n))]


def _free_names(top: symtable.SymbolTable) -> set[str]:
    """Names read somewhere in the source that no statement at top level binds."""
    bound = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}
    read: set[str] = set()
    tables = [top]
    while tables:
        table = tables.pop()
        read.update(s.get_name() for s in table.get_symbols()
                    if s.is_referenced() and (table is top or s.is_global()))
        tables.extend(table.get_children())
    return read - bound
