"""The package's import graph points one way (docs/architecture.md): notebooks → course_utils; inside it, the data
layer (course_utils.datasets) imports nothing else of the package but the stdlib-only `atomic` writer,
models/metrics/plotting read no data, `settings` imports nothing of the package, no cycles."""
import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "course_utils"
READ_NO_FILES = ("autoencoders", "cam", "losses", "metrics", "patches", "pca", "plotting", "segmentation")


def module_name(path):
    """Dotted name of a module file below the package folder."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path):
    """course_utils modules one file imports, late imports inside functions included."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            found.add(target)
            found |= {f"{target}.{alias.name}" for alias in node.names}  # `from . import x` imports module x
    return {m for m in found if m.startswith("course_utils")}


def import_graph():
    """{module: set of course_utils modules it imports}, restricted to modules that exist."""
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in imported_modules(path) if m in files and m != name} for name, path in files.items()}


def test_graph_finds_the_known_edges():
    graph = import_graph()
    assert "course_utils.datasets.sources" in graph["course_utils.runtime"]
    assert "course_utils.settings" in graph["course_utils.runtime"]
    assert "course_utils.datasets.catalog" in graph["course_utils.datasets.layout"]
    assert "course_utils.devices" in graph["course_utils.training"]


LEAVES = ("course_utils.atomic",)  # standard library only: anything may import them


def test_data_layer_imports_only_itself():
    for name, targets in import_graph().items():
        if name.startswith("course_utils.datasets"):
            outside = sorted(t for t in targets if not t.startswith("course_utils.datasets") and t not in LEAVES)
            assert not outside, f"{name} imports {outside}: the data layer must not import the rest of the package"


@pytest.mark.parametrize("name", ["settings", "devices", "atomic"])
def test_settings_and_leaves_import_nothing_of_the_package(name):
    assert import_graph()[f"course_utils.{name}"] == set()


def test_settings_load_no_data_layer():
    """Importing settings (what training needs) must not load the data layer."""
    import subprocess
    import sys
    code = "import sys, course_utils.settings; print(sorted(m for m in sys.modules if '.datasets' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("name", READ_NO_FILES)
def test_models_metrics_and_plotting_read_no_data(name):
    targets = import_graph()[f"course_utils.{name}"]
    assert not [t for t in targets if t.startswith(("course_utils.datasets", "course_utils.data_"))]


def test_nothing_imports_the_command_line():
    assert not [n for n, targets in import_graph().items() if "course_utils.data_download" in targets]
    inner = {"course_utils.data_commands", "course_utils.data_import"}
    users = {n for n, targets in import_graph().items() if inner & targets}
    assert users <= {"course_utils.data_download", "course_utils.data_commands"}


def test_no_import_cycles():
    graph, state, cycles = import_graph(), {}, []

    def visit(node, path):
        state[node] = "open"
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                cycles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def documented_graph():
    """{module: set of modules} from the arrows in the first code block of docs/architecture.md."""
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = text.split("```")[1]
    edges = {}
    for line in block.splitlines():
        for statement in re.split(r"\s{2,}", line.strip()):
            if "──►" not in statement or statement.startswith("notebooks"):
                continue
            sources, _, targets = statement.partition("──►")
            sources = [re.sub(r"\s*\(.*\)", "", s).strip() for s in sources.split(",")]
            targets = set() if "nothing" in targets else {t.strip() for t in targets.split(",")}
            for source in sources:
                edges.setdefault(source, set()).update(targets)
    return edges


def top_level_graph():
    """The import graph between top-level modules, the data layer taken as one (`datasets`)."""
    def top(name):
        return name.removeprefix("course_utils.").split(".")[0]
    graph = {}
    for name, targets in import_graph().items():
        if name == "course_utils":
            continue
        graph.setdefault(top(name), set()).update(top(t) for t in targets if t != "course_utils")
    return {name: targets - {name} for name, targets in graph.items()}


def test_the_documented_graph_is_the_graph():
    assert documented_graph() == top_level_graph()
