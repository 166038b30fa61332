"""Mutation testing of the core modules: one small change at a time, each run against a short test
selection.

    python scripts/mutate.py                      # every core module
    python scripts/mutate.py models/lights.py     # one module
    python scripts/mutate.py --list models/lights.py   # the mutants only, no test run

Mutants (an AST walk, so a mutant is always valid Python): a comparison flipped at its boundary
(< <=, > >=, == !=, in / not in, is / is not), an int constant +1 and -1, `and` / `or` swapped, one
statement inside a function dropped, one dict entry or set element removed, min / max swapped. Each
mutant is written into a copy of the tree under a temporary directory (the work tree is never
touched) and the module's tests run there with `-x`, on SQLite only, with a timeout; a failing or
timed-out run kills the mutant. Where a module has a quick part of its selection (`QUICK`), that
runs first and only its survivors meet the whole selection.

Mutants argued equivalent (no test can tell them from the original) are listed with their argument
in scripts/mutate_equivalent.toml; each entry keeps the original source line. Edits above it move
it: an entry is re-anchored to the nearest line of the same text, so an argument follows its code,
and one whose line no longer exists is reported stale, so an argument never outlives the code it was
made about.
"""

from __future__ import annotations

import argparse
import ast
import copy
import os
import shutil
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT = Path(__file__).with_name("mutate_equivalent.toml")
TIMEOUT_S = 60

# Each module's test selection: a few seconds on SQLite, the tests that pin its rules.
SELECTIONS: dict[str, list[str]] = {
    # The quick files first: most mutants die in the first second, under -x.
    "models/lifecycle.py": [
        "tests/test_lifecycle_mutants.py",
        "tests/test_lifecycle_table.py",
        "tests/test_readme_lifecycle.py",
        "tests/test_workflow.py",
        "tests/test_lifecycle_guards.py",
    ],
    "models/audit.py": [
        "tests/test_audit_hash.py",
        "tests/test_audit_mutants.py",
        "tests/test_audit.py",
        # the column lengths of the trail's tables, against the migrations
        "tests/test_schema.py::test_the_migrated_schema_is_exactly_what_the_models_declare",
    ],
    "models/reminders.py": ["tests/test_reminder_rules.py"],
    "models/escalations.py": [
        "tests/test_escalation_rules.py",
        # the agenda's filters and units, and a reply settling one 批示's rungs (resolve's prefix)
        "tests/test_agenda_filters.py",
        "tests/test_directives.py::"
        "test_a_reply_or_a_close_settles_its_own_directive_not_another_on_the_same_item",
    ],
    "models/lights.py": ["tests/test_lights_rules.py"],
    "models/calendar.py": [
        "tests/test_calendar_rules.py",
        "tests/test_calendar.py",
        "--deselect",
        "tests/test_calendar.py::test_the_cli_reads_the_entries_from_duban_toml",
    ],
    "intake/unit_phrase.py": [
        "tests/test_unit_phrase_rules.py",
        "tests/test_intake_reader_rules.py",
        "-k",
        "not hostile and not long_one_cell",
    ],
}

# A quick part of a selection, run first (seconds where the whole takes a minute on a loaded
# machine): a mutant it kills is killed; a survivor then meets the whole selection.
QUICK: dict[str, list[str]] = {
    "models/lifecycle.py": [
        "tests/test_lifecycle_mutants.py",
        "tests/test_lifecycle_table.py",
        "tests/test_readme_lifecycle.py",
    ],
    "models/audit.py": [
        "tests/test_audit_hash.py",
        "tests/test_audit_mutants.py",
        "tests/test_schema.py::test_the_migrated_schema_is_exactly_what_the_models_declare",
    ],
}

FLIPS: dict[type, type] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
SYMBOLS = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
}


@dataclass(frozen=True)
class Mutant:
    id: str  # module-stem:line:col:what, e.g. lights:31:60:<=→<
    line: int
    what: str
    source: str  # the whole mutated module
    in_function: bool  # inside a function body: its code object can be swapped in a warm process


class _Mutator(ast.NodeTransformer):
    """Walks the tree in a fixed order numbering every mutation site; changes only the site
    `target`."""

    def __init__(self, target: int) -> None:
        self.target, self.seen, self.sites, self.done = target, -1, [], False
        self.depth = 0  # inside a function: only there are statements dropped

    def _site(self, node: ast.AST, what: str) -> bool:
        self.seen += 1
        self.sites.append((node.lineno, node.col_offset, what, self.depth > 0))
        return self.seen == self.target

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        # Decorators, defaults and annotations run once, at import: sites there are module-level.
        node.decorator_list = [self.visit(d) for d in node.decorator_list]
        node.args.defaults = [self.visit(d) for d in node.args.defaults]
        node.args.kw_defaults = [d if d is None else self.visit(d) for d in node.args.kw_defaults]
        self.depth += 1
        self._body_drops(node, walk=False)
        if self.seen < self.target or self.target < 0:
            node.body = [self.visit(stmt) for stmt in node.body]
        self.depth -= 1
        return node

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def _body_drops(self, node: ast.AST, walk: bool = True) -> ast.AST:
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if not isinstance(body, list) or not self.depth:
                continue
            for index, stmt in enumerate(body):
                docstring = (
                    index == 0
                    and isinstance(stmt, ast.Expr)
                    and isinstance(stmt.value, ast.Constant)
                    and isinstance(stmt.value.value, str)
                )
                if docstring or isinstance(
                    stmt, ast.Pass | ast.FunctionDef | ast.Import | ast.ImportFrom
                ):
                    continue
                first = ast.unparse(stmt).splitlines()[0][:40]
                if self._site(stmt, f"drop `{first}`"):
                    body[index] = ast.copy_location(ast.Pass(), stmt)
                    # done: walk no further (the dropped statement's sub-sites are not walked)
                    self.target = -2
                    return node
        return self.generic_visit(node) if walk else node

    def visit_If(self, node: ast.If) -> ast.AST:
        return self._body_drops(node)

    visit_For = visit_While = visit_With = visit_Try = visit_If  # type: ignore[assignment]

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        for index, op in enumerate(node.ops):
            flipped = FLIPS.get(type(op))
            nth = f" (#{index + 1})" if len(node.ops) > 1 else ""
            if flipped and self._site(node, f"{SYMBOLS[type(op)]}→{SYMBOLS[flipped]}{nth}"):
                node.ops[index] = flipped()
        return self.generic_visit(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        swapped, names = (ast.Or, "and→or") if isinstance(node.op, ast.And) else (ast.And, "or→and")
        if self._site(node, names):
            node.op = swapped()
        return self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if type(node.value) is int:
            for delta in (1, -1):
                if self._site(node, f"{node.value}→{node.value + delta}"):
                    return ast.copy_location(ast.Constant(node.value + delta), node)
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        # -1 is a constant too: mutate it as one, not its operand 1
        if (
            isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant)
            and type(node.operand.value) is int
        ):
            value = -node.operand.value
            for delta in (1, -1):
                if self._site(node, f"{value}→{value + delta}"):
                    return ast.copy_location(ast.Constant(value + delta), node)
            return node
        return self.generic_visit(node)

    def visit_Dict(self, node: ast.Dict) -> ast.AST:
        for index, key in enumerate(node.keys):
            label = ast.unparse(key)[:30] if key is not None else "**"
            if self._site(node, f"dict entry {label} removed"):
                del node.keys[index], node.values[index]
                break
        return self.generic_visit(node)

    def visit_Set(self, node: ast.Set) -> ast.AST:
        if len(node.elts) > 1:
            for index, element in enumerate(node.elts):
                if self._site(node, f"set element {ast.unparse(element)[:30]} removed"):
                    del node.elts[index]
                    break
        return self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in ("min", "max") and isinstance(node.ctx, ast.Load):
            other = "max" if node.id == "min" else "min"
            if self._site(node, f"{node.id}→{other}"):
                return ast.copy_location(ast.Name(other, ast.Load()), node)
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        return node  # annotations hold no behaviour

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        if node.value is not None:
            node.value = self.visit(node.value)
        return node


def mutants(module: str) -> list[Mutant]:
    text = (ROOT / module).read_text(encoding="utf-8")
    tree = ast.parse(text)
    survey = _Mutator(-1)
    survey.visit(copy.deepcopy(tree))
    stem = Path(module).stem
    found, original = [], ast.unparse(tree)
    for target, (line, col, what, in_function) in enumerate(survey.sites):
        changed = _Mutator(target).visit(copy.deepcopy(tree))
        source = ast.unparse(ast.fix_missing_locations(changed))
        if source != original:
            found.append(Mutant(f"{stem}:{line}:{col}:{what}", line, what, source, in_function))
    return found


def equivalents() -> dict[str, dict[str, str]]:
    if not EQUIVALENT.exists():
        return {}
    return {
        entry["id"]: entry
        for entry in tomllib.loads(EQUIVALENT.read_text(encoding="utf-8"))["mutant"]
    }


def anchored(
    known: dict[str, dict[str, str]], module: str, lines: list[str]
) -> tuple[dict[str, dict[str, str]], list[str]]:
    """The module's equivalence entries keyed by today's mutant ids, and the entries whose line is
    gone. An entry names its line by number and text; lines added above it move the number, so it
    is found again at the nearest line of the same text (the same column and mutation)."""
    stem = Path(module).stem
    moved, stale = {}, []
    for entry_id, entry in known.items():
        name, line, rest = entry_id.split(":", 2)
        if name != stem:
            continue
        same = [n for n, text in enumerate(lines, 1) if text.strip() == entry["line"].strip()]
        if not same:
            stale.append(entry_id)
            continue
        nearest = min(same, key=lambda n: abs(n - int(line)))
        moved[f"{stem}:{nearest}:{rest}"] = entry
    return moved, stale


def copy_tree(into: Path) -> Path:
    tree = into / "tree"
    shutil.copytree(
        ROOT,
        tree,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            "var",
            "build",
            ".pytest_cache",
            "__pycache__",
            "*.egg-info",
            "node_modules",
        ),
    )
    return tree


# Imported once by this process, before any fork: each mutant's run then starts in a fraction of a
# second. Only third-party packages: the project's own modules must be imported afresh, mutant and
# all, by each child.
WARM = (
    "pytest",
    "_pytest.python",
    "sqlalchemy",
    "sqlalchemy.orm",
    "sqlalchemy.dialects.sqlite",
    "sqlmodel",
    "pydantic",
    "pydantic_settings",
    "jinja2",
    "orjson",
    "chinese_calendar",
    "alembic",
    "alembic.command",
    "yaml",
    "hypothesis",
    "schemathesis",
    "requests",
    "anyio",
    "urllib3",
    "zoneinfo",
    "email.mime.multipart",
    "tomllib",
    "icalendar",
)


def warm() -> None:
    import importlib

    for name in WARM:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def _swap_code(module_name: str, source: str, path: Path) -> None:
    """Give every function of the imported module the code compiled from `source` (same qualified
    names).

    Other modules' `from m import f` hold the same function objects, so they run the mutant too.
    """
    import functools
    import inspect
    import types

    compiled, table = compile(source, str(path), "exec"), {}
    stack = [compiled]
    while stack:
        for const in stack.pop().co_consts:
            if isinstance(const, types.CodeType):
                table[const.co_qualname] = const
                stack.append(const)
    module = sys.modules[module_name]

    def functions(namespace: dict) -> list[types.FunctionType]:
        found = []
        for value in namespace.values():
            if isinstance(value, staticmethod | classmethod):
                value = value.__func__
            if isinstance(value, property):
                found.extend(f for f in (value.fget, value.fset) if f)
            elif isinstance(value, type) and value.__module__ == module_name:
                found.extend(functions(dict(vars(value))))
            elif callable(value) and getattr(value, "__module__", None) == module_name:
                value = (
                    inspect.unwrap(value)
                    if isinstance(value, functools._lru_cache_wrapper)
                    else value
                )
                if isinstance(value, types.FunctionType):
                    found.append(value)
        return found

    for function in functions(dict(vars(module))):
        new = table.get(function.__code__.co_qualname)
        if new is not None and new.co_freevars == function.__code__.co_freevars:
            function.__code__ = new


def _swap_tables(module_name: str, source: str, path: Path, original: str) -> bool:
    """For a module-level mutant: run the assignments it changed, then the later ones that read what
    they assign, in a copy of the imported module's namespace (so they build on its own classes,
    not on copies of them), and carry each result into the running process: a dict, list or set in
    place, anything else rebound wherever a module holds the original (`from m import NAME`).
    False when the change is not a plain assignment (a class body, a default, a decorator): the
    caller then starts a fresh interpreter."""
    import __future__

    module = sys.modules[module_name]
    old_body, new_body = ast.parse(original).body, ast.parse(source).body
    if len(old_body) != len(new_body):
        return False
    dirty: set[str] = set()
    rerun: list[ast.stmt] = []
    for old, new in zip(old_body, new_body, strict=True):
        changed = ast.dump(old) != ast.dump(new)
        reads = {n.id for n in ast.walk(new) if isinstance(n, ast.Name)}
        # An unchanged function or class reads the tables when called, not now: left as it is.
        unchanged = not isinstance(new, ast.Assign | ast.AnnAssign) or not reads & dirty
        if not changed and unchanged:
            continue
        if not isinstance(new, ast.Assign | ast.AnnAssign):
            return False
        targets = new.targets if isinstance(new, ast.Assign) else [new.target]
        if not all(isinstance(t, ast.Name) for t in targets):
            return False
        dirty |= {t.id for t in targets}
        rerun.append(new)
    if not rerun:
        return False
    scratch = dict(module.__dict__)
    try:
        code = ast.Module(body=rerun, type_ignores=[])
        flags = __future__.annotations.compiler_flag
        exec(compile(code, str(path), "exec", flags=flags, dont_inherit=True), scratch)
    except Exception:  # noqa: BLE001 — let a fresh interpreter show what the mutant does
        return False
    for name in dirty:
        old, new = module.__dict__.get(name), scratch[name]
        if isinstance(old, dict) and isinstance(new, dict):
            old.clear()
            old.update(new)
        elif isinstance(old, list | set) and type(old) is type(new):
            old.clear()
            old.extend(new) if isinstance(old, list) else old.update(new)
        elif isinstance(old, int | float | str | bytes | None) or old in ((), frozenset()):
            return False  # shared objects: rebinding each holder of the same one would spread it
        else:
            for holder in list(sys.modules.values()):
                namespace = getattr(holder, "__dict__", None)
                if not isinstance(namespace, dict):
                    continue
                for key, value in list(namespace.items()):
                    if value is old:
                        namespace[key] = new
    return True


def run_tests(
    tree: Path,
    selection: list[str],
    timeout: float,
    *,
    module: str | None = None,
    source: str | None = None,
    original: str = "",
    in_function: bool = True,
) -> tuple[bool, float]:
    """Whether the selection passes in `tree` (False: the mutant is killed), and how long it took.

    A forked child runs pytest in the copy. A mutant inside a function body: the child swaps the
    mutated code into the module this process has imported. A module-level mutant (a table, a
    constant): the child carries the changed tables over, or, when the mutated module cannot run
    beside the imported one, starts a fresh interpreter on the copy, where the file holds the
    mutant.
    """
    args = ["-x", "-q", "-p", "no:cacheprovider", "-k", "not postgresql", *selection]
    env = {
        # The copy first, for a fresh interpreter and for the `duban` command tests start: without
        # it they import the caller's PYTHONPATH (a work tree) or the editable install (main), not
        # the mutant.
        "PYTHONPATH": str(tree),
        "PYTHONDONTWRITEBYTECODE": "1",
        "DUBAN_HOME": str(tree / "var"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.chdir(tree)
            os.environ.update(env)
            sys.dont_write_bytecode = True
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            if module is None:
                os.execv(sys.executable, [sys.executable, "-m", "pytest", *args])
            if source is not None:
                name = module.removesuffix(".py").replace("/", ".")
                if in_function:
                    _swap_code(name, source, tree / module)
                elif not _swap_tables(name, source, tree / module, original):
                    os.execv(sys.executable, [sys.executable, "-m", "pytest", *args])
            import pytest

            code = int(pytest.main(args))
        finally:
            os._exit(code)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status) == 0, time.monotonic() - started
        if time.monotonic() - started > timeout:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return False, time.monotonic() - started
        time.sleep(0.02)


def mutate(
    module: str,
    tree: Path,
    known: dict[str, dict[str, str]],
    *,
    verbose: bool,
    only: list[str] | None = None,
) -> dict[str, object]:
    # The quick part first: a mutant it kills needs no more; only its survivors meet the rest.
    stages = [QUICK[module], SELECTIONS[module]] if module in QUICK else [SELECTIONS[module]]
    target = tree / module
    original = target.read_text(encoding="utf-8")
    lines = original.splitlines()
    timeouts = []
    for stage in stages:
        passed, baseline = run_tests(tree, stage, timeout=TIMEOUT_S * 5, module=module)
        if not passed:
            raise SystemExit(f"{module}: its tests fail before any mutation: {' '.join(stage)}")
        timeouts.append(max(10.0, baseline * 3))
        if verbose:
            print(
                f"  {' '.join(stage)}: passes unmutated in {baseline:.1f} s; timeout "
                f"{timeouts[-1]:.0f} s",
                flush=True,
            )
    killed, survived, equivalent = [], [], []
    here, stale = anchored(known, module, lines)
    timed_out = []  # killed by the clock: on a loaded machine, worth a second run with --only
    found = [m for m in mutants(module) if not only or any(part in m.id for part in only)]
    for mutant in found:
        if mutant.id in here:
            equivalent.append(mutant.id)
            continue
        # The file holds the mutant too, for the fresh interpreter a module-level mutant may need.
        target.write_text(mutant.source, encoding="utf-8")
        try:
            for stage, timeout in zip(stages, timeouts, strict=True):
                limit = timeout * (1 if mutant.in_function else 3)
                alive, took = run_tests(
                    tree,
                    stage,
                    limit,
                    module=module,
                    source=mutant.source,
                    original=original,
                    in_function=mutant.in_function,
                )
                if not alive:
                    if took > limit:
                        timed_out.append(mutant.id)
                    break
        finally:
            target.write_text(original, encoding="utf-8")
        (survived if alive else killed).append(mutant.id)
        if verbose:
            fate = (
                "SURVIVED" if alive else "timeout " if timed_out[-1:] == [mutant.id] else "killed  "
            )
            print(f"  {fate} {mutant.id}", flush=True)
    scored = len(found) - len(equivalent)
    return {
        "module": module,
        "mutants": len(found),
        "killed": len(killed),
        "survived": survived,
        "timed_out": timed_out,
        "equivalent": len(equivalent),
        "stale": stale,
        "score": len(killed) / scored if scored else 1.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("modules", nargs="*", default=list(SELECTIONS))
    parser.add_argument("--list", action="store_true", help="print the mutants, run nothing")
    parser.add_argument(
        "--tests", help="pytest arguments (one string) to run instead of the module's selection"
    )
    parser.add_argument(
        "--only", action="append", help="run only the mutants whose id contains this (repeatable)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print each mutant's fate")
    args = parser.parse_args()
    unknown = [m for m in args.modules if m not in SELECTIONS]
    if unknown:
        parser.error(f"not a core module: {', '.join(unknown)} (known: {', '.join(SELECTIONS)})")
    known = equivalents()
    if args.tests:
        for module in args.modules:
            SELECTIONS[module] = args.tests.split()
            QUICK.pop(module, None)
    if args.list:
        for module in args.modules:
            lines = (ROOT / module).read_text(encoding="utf-8").splitlines()
            here, stale = anchored(known, module, lines)
            for mutant in mutants(module):
                print(f"{'EQUIVALENT ' if mutant.id in here else ''}{mutant.id}")
            for entry_id in stale:
                print(f"STALE {entry_id}")
        return 0
    warm()
    results = []
    with tempfile.TemporaryDirectory(prefix="duban-mutate-") as scratch:
        tree = copy_tree(Path(scratch))
        # The project, imported once from the copy: each child inherits it and swaps in one mutant's
        # code.
        sys.path.insert(0, str(tree))
        os.chdir(tree)
        import importlib

        # The test modules too: pytest finds them imported (their asserts then go unrewritten: plain
        # messages).
        for module in args.modules:
            importlib.import_module(module.removesuffix(".py").replace("/", "."))
            for path in SELECTIONS[module]:
                if path.endswith(".py"):
                    importlib.import_module(path.removesuffix(".py").replace("/", "."))
        importlib.import_module("tests.conftest")
        for module in args.modules:
            print(
                f"{module}: {len(mutants(module))} mutants against {' '.join(SELECTIONS[module])}",
                flush=True,
            )
            results.append(
                result := mutate(module, tree, known, verbose=args.verbose, only=args.only)
            )
            for mutant_id in result["survived"]:
                print(f"  survived: {mutant_id}")
            for mutant_id in result["timed_out"]:
                print(f"  killed by the timeout (rerun it with --only when quieter): {mutant_id}")
            for mutant_id in result["stale"]:
                print(f"  stale equivalence (its line is gone; argue it again): {mutant_id}")
    print("\n| module | mutants | killed | survived | equivalent | score |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(
            f"| {r['module']} | {r['mutants']} | {r['killed']} | {len(r['survived'])} "
            f"| {r['equivalent']} | {r['score']:.0%} |"
        )
    return 0 if all(not r["survived"] and not r["stale"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
