"""The package's layers, enforced: no module imports an upper layer or a sibling, and no files import each other.

Every module under ``src/foleyvae`` is parsed with ``ast`` (nothing is imported); each ``foleyvae`` import -- at
module level, inside a function, or under ``TYPE_CHECKING`` -- is mapped to the layer of the part it names.
:data:`LAYERS` is the one table of the order; the README's architecture section states the same list.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "foleyvae"

# Bottom first. A part is a subpackage or a top-level module of foleyvae ("__init__": the package's own face, its
# version). A part may import its own modules and the parts of lower layers; parts of one layer stand side by side
# and never import each other (training, export and inference meet only through checkpoints and playable).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("__init__", "errors"),
    ("utils",),
    ("config", "nn"),
    ("audio", "analysis"),
    ("data", "losses", "models"),
    ("checkpoints", "playable"),
    ("training", "export", "inference"),
    ("eval", "control"),
    ("live", "examples"),  # examples: the static listening page (foleyvae examples)
    ("studio",),  # above live: its native audio route plays through live's engine and backends
    ("cli",),
)

# Where a foleyvae import may sit inside a function rather than at the module top. cli/: a subcommand's modules load
# when it runs (``foleyvae --help`` must not import torch, see test_cli.test_import_is_light). The others are being
# reworked under issue #22 (studio routers, the Trainer, the control spec): hoist theirs and drop them from here.
LAZY_IMPORTS_ALLOWED = ("cli/", "training/loop.py")


@dataclass(frozen=True)
class Import:
    """One ``foleyvae`` import: the importing file, its line, the module it names, and whether it sits in a function."""

    file: Path
    line: int
    target: str
    in_function: bool

    def where(self) -> str:
        return f"{self.file.relative_to(SRC.parent)}:{self.line} imports {self.target}"


def module_name(path: Path) -> str:
    """``src/foleyvae/export/loader.py`` -> ``foleyvae.export.loader`` (a package's ``__init__`` -> the package)."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_file(name: str) -> Path | None:
    """The file of a ``foleyvae`` module or package, or None."""
    base = SRC.joinpath(*name.split("."))
    for p in (base.with_suffix(".py"), base / "__init__.py"):
        if p.is_file():
            return p
    return None


def part_of(name: str) -> str:
    """The layer table's name for a module: ``foleyvae.export.loader`` -> ``export``, ``foleyvae`` -> ``__init__``."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _targets(node: ast.Import | ast.ImportFrom, importer: str, is_package: bool) -> Iterator[str]:
    """The ``foleyvae`` modules an import statement names (``from pkg import submodule`` names the submodule)."""
    if isinstance(node, ast.Import):
        yield from (a.name for a in node.names if a.name.split(".")[0] == "foleyvae")
        return
    base = node.module or ""
    if node.level:  # relative: resolve against the importing module's package
        pkg = importer.split(".") if is_package else importer.split(".")[:-1]
        pkg = pkg[: len(pkg) - (node.level - 1)]
        base = ".".join(pkg + ([node.module] if node.module else []))
    if base.split(".")[0] != "foleyvae":
        return
    subs = [f"{base}.{a.name}" for a in node.names if module_file(f"{base}.{a.name}") is not None]
    yield from subs or [base]


def imports_of(path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    in_function = {
        id(n)
        for fn in ast.walk(tree)
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
        for n in ast.walk(fn)
        if isinstance(n, (ast.Import, ast.ImportFrom))
    }
    name, is_package = module_name(path), path.name == "__init__.py"
    return [
        Import(path, node.lineno, target, id(node) in in_function)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for target in _targets(node, name, is_package)
    ]


def all_imports() -> list[Import]:
    return [imp for path in sorted(PACKAGE.rglob("*.py")) for imp in imports_of(path)]


def layer_index() -> dict[str, int]:
    """part -> its layer, counted from 1 at the bottom (as the README numbers them)."""
    return {part: i for i, layer in enumerate(LAYERS, 1) for part in layer}


def upward_imports(imports: list[Import]) -> list[str]:
    """Each import of a higher layer or of a sibling part, as a message naming the file, the line and the import."""
    level = layer_index()
    bad = []
    for imp in imports:
        src, dst = part_of(module_name(imp.file)), part_of(imp.target)
        if src == dst:
            continue
        if level[dst] > level[src]:
            bad.append(f"{imp.where()}: {src} (layer {level[src]}) may not import {dst} (layer {level[dst]}, above)")
        elif level[dst] == level[src]:
            bad.append(f"{imp.where()}: {src} and {dst} are siblings (layer {level[src]}): neither imports the other")
    return bad


def file_cycles(imports: list[Import]) -> list[list[str]]:
    """Strongly connected groups of files (Tarjan), each as a cycle of module names; a package's ``__init__`` that a
    submodule imports for its name counts like any other file."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        src = module_name(imp.file)
        if imp.target != src and module_file(imp.target) is not None:
            graph.setdefault(src, set()).add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


# ------------------------------------------------------------------------------------------------------ tests


def test_every_part_of_the_package_has_a_layer() -> None:
    parts = {part_of(module_name(p)) for p in PACKAGE.rglob("*.py")}
    known = layer_index()
    assert parts <= set(known), f"parts missing from LAYERS: {sorted(parts - set(known))}"
    assert set(known) <= parts, f"LAYERS names parts that do not exist: {sorted(set(known) - parts)}"
    assert len(known) == sum(len(layer) for layer in LAYERS), "a part is listed twice in LAYERS"


def test_no_module_imports_an_upper_layer_or_a_sibling() -> None:
    bad = upward_imports(all_imports())
    assert not bad, "imports against the layers (tests/test_layers.py LAYERS):\n" + "\n".join(bad)


def test_no_files_import_each_other() -> None:
    imports = all_imports()
    cycles = file_cycles(imports)
    detail = []
    for group in cycles:
        members = set(group)
        detail += [imp.where() for imp in imports if module_name(imp.file) in members and imp.target in members]
    assert not cycles, f"import cycles between files: {cycles}\n" + "\n".join(detail)


def test_imports_sit_at_module_top() -> None:
    """Internal imports go at the module top (where they are seen); lazy ones only where LAZY_IMPORTS_ALLOWED says."""
    bad = [
        imp.where()
        for imp in all_imports()
        if imp.in_function and not str(imp.file.relative_to(PACKAGE)).startswith(LAZY_IMPORTS_ALLOWED)
    ]
    assert not bad, "foleyvae imports inside functions (move them to the module top):\n" + "\n".join(bad)


def test_the_checker_sees_what_it_must(tmp_path: Path) -> None:
    """The rules catch an upward import, a sibling import, a cycle and a lazy import (made-up modules, not parsed
    from the package, so a broken parser cannot pass the tests above by seeing nothing)."""
    fake = [
        Import(PACKAGE / "audio" / "pqmf.py", 1, "foleyvae.models.vae", False),  # up
        Import(PACKAGE / "export" / "loader.py", 2, "foleyvae.training.loop", True),  # sibling, lazy
        Import(PACKAGE / "nn" / "blocks.py", 3, "foleyvae.nn.streaming", False),  # cycle with the next
        Import(PACKAGE / "nn" / "streaming.py", 4, "foleyvae.nn.blocks", False),
    ]
    bad = upward_imports(fake)
    assert len(bad) == 2 and "src/foleyvae/audio/pqmf.py:1 imports foleyvae.models.vae" in bad[0]
    assert "siblings" in bad[1] and "neither imports the other" in bad[1]
    assert file_cycles(fake) == [["foleyvae.nn.blocks", "foleyvae.nn.streaming"]]
    assert len(all_imports()) > 150  # the real package: every file parsed, function-level imports included
    assert any(imp.in_function for imp in all_imports() if imp.file.parts[-2] == "cli")
    sub = imports_of(PACKAGE / "export" / "__init__.py")
    assert all(imp.target.startswith("foleyvae") for imp in sub)


def test_the_readme_states_the_same_layers() -> None:
    """The README's architecture table lists LAYERS, top row = top layer, parts as backticked names."""
    readme = (SRC.parent / "README.md").read_text(encoding="utf-8")
    rows: dict[int, tuple[str, ...]] = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].isdigit():
            names = [n.strip().strip("`") for n in cells[1].split(",")]
            rows[int(cells[0])] = tuple(n.removesuffix("/").removesuffix(".py") for n in names)
    assert rows == {i: layer for i, layer in enumerate(LAYERS, 1)}, f"README layers {rows} != LAYERS"
