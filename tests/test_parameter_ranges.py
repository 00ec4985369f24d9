"""Every parameter fails early (issue 30 item 6): for each numeric or choice parameter of every notebook's and
solution's parameters cell, one value outside the range that the set-up cell declares in `runtime.start(ranges=
...)` must stop the set-up cell with a ParameterError naming the parameter; a parameter without a range fails.

The cells run in this process (no kernel): the parameters cell, then the set-up cell with `runtime.start`
wrapped so that the call's `ranges` are captured and the rest of the cell is skipped once the start passed.
"""
import ast
import re
import socket
from pathlib import Path

import nbformat
import pytest

from course_utils import runtime, settings

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))
BUILT_IN = {"data_source": "web", "seed": -1}  # checked by start itself (sources, seeding), range or not
NOT_A_CHOICE = "not-one-of-the-choices"


class Passed(Exception):
    """runtime.start returned: the set-up cell accepted the values (the rest of the cell is not run)."""


def cells(path):
    """(parameters cell source, set-up cell source): the cell tagged `parameters` and the first code cell after it
    that calls runtime.start."""
    nb = nbformat.read(path, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    setup = next(c.source for c in nb.cells[index + 1:] if c.cell_type == "code" and "runtime.start(" in c.source)
    return nb.cells[index].source, setup


def python(source):
    """A cell's source without IPython magics and shell lines."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def parameters(source):
    """{name: default} of the literal assignments of a parameters cell, in order."""
    found = {}
    for node in ast.parse(python(source)).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return found


def is_checked(value):
    """Numbers, booleans, strings and None are numeric or choice parameters; tuples and lists are not walked."""
    return value is None or isinstance(value, (bool, int, float, str))


def outside(spec):
    """One value outside a range of the forms start(ranges=...) accepts."""
    if isinstance(spec, tuple) and spec[:1] == ("or None",):
        return outside(spec[1])
    if isinstance(spec, list):
        return NOT_A_CHOICE
    lo, hi, *step = spec
    if step:
        return lo - step[0]
    return lo - 1 if isinstance(lo, int) and isinstance(hi, int) else lo - 1.0


def run_setup(params_source, setup_source, override=None):
    """Run both cells; returns (captured start kwargs or None, the exception that stopped the set-up cell)."""
    namespace, captured, real_start = {"__name__": "__main__"}, {}, runtime.start

    def start(*args, **kwargs):
        captured.update(kwargs)
        real_start(*args, **kwargs)
        raise Passed
    exec(compile(python(params_source), "<parameters>", "exec"), namespace)
    namespace.update(override or {})
    runtime.start = start
    try:
        exec(compile(python(setup_source), "<set-up>", "exec"), namespace)
    except Exception as error:  # noqa: BLE001 - what stopped the cell is the result
        return captured or None, error
    finally:
        runtime.start = real_start
    return captured or None, None


def walk(path):
    """(parameters walked, values tried, problems) for one notebook: each parameter with its out-of-range value
    must stop the set-up cell."""
    params_source, setup_source = cells(path)
    captured, error = run_setup(params_source, setup_source)
    if captured is None or not isinstance(error, Passed):
        return 0, 0, [f"{path.name}: the set-up cell does not reach runtime.start with the default values ({error!r})"]
    ranges = captured.get("ranges") or {}
    walked = {name: default for name, default in parameters(params_source).items() if is_checked(default)}
    tried, problems = 0, []
    for name, default in walked.items():
        if name in ranges:
            value = outside(ranges[name])
        elif name in BUILT_IN or name in (captured.get("sources") or {}):
            value = BUILT_IN.get(name, "web")
        else:
            problems.append(f"{path.name}: {name} = {default!r} has no range in runtime.start(ranges=...)")
            continue
        tried += 1
        _, error = run_setup(params_source, setup_source, {name: value})
        if not (isinstance(error, settings.ParameterError) and re.search(rf"\b{re.escape(name)}\b", str(error))):
            problems.append(f"{path.name}: {name} = {value!r} (outside its range) was not stopped by the set-up "
                            f"cell with a ParameterError naming it (got {error!r})")
    return len(walked), tried, problems


@pytest.fixture
def offline_cells(monkeypatch, tmp_path):
    """Smoke mode (ranges are checked before its overrides), an empty data root, no network, no hub cache."""
    monkeypatch.setenv("COURSE_SMOKE", "1")
    monkeypatch.setenv("COURSE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.setenv("MPLBACKEND", "Agg")

    def offline(*args, **kwargs):
        raise OSError("offline (test_parameter_ranges)")
    monkeypatch.setattr(socket, "create_connection", offline)


def test_every_parameter_of_every_notebook_stops_the_set_up_cell(offline_cells, capsys):
    walked, tried, problems, counts = 0, 0, [], []
    for path in NOTEBOOKS:
        n, m, found = walk(path)
        walked, tried, problems = walked + n, tried + m, problems + found
        counts.append(f"{path.parent.name}/{path.name}: {n} parameters, {m} tried, {len(found)} problems")
    with capsys.disabled():
        print(f"\nparameter walk: {walked} numeric or choice parameters in {len(NOTEBOOKS)} notebooks and solutions, "
              f"{tried} out-of-range values tried, {len(problems)} problems")
        print("\n".join(counts))
    assert not problems, f"{len(problems)} parameters without a range or not stopped:\n" + "\n".join(problems)


def fake_notebook(tmp_path, params, setup):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}), nbformat.v4.new_code_cell(setup)]
    path = tmp_path / "fake.ipynb"
    nbformat.write(nb, path)
    return path


def test_the_walk_finds_missing_ranges_and_values_that_slip_through(offline_cells, tmp_path):
    setup = ("from course_utils import runtime\n"
             "cfg = runtime.start('T', data_source=data_source, seed=seed, n=max(n, 1), lr=lr, mode=mode,\n"
             "                    ranges=dict(n=(1, 9), mode=['a', 'b']))\n")
    path = fake_notebook(tmp_path, "n = 3\nlr = 0.1\nmode = 'a'\nsizes = (1, 2)\ndata_source = 'auto'\nseed = 0\n",
                         setup)
    walked, tried, problems = walk(path)
    assert walked == 5 and tried == 4  # n, mode, data_source, seed; lr has no range, sizes is not walked
    assert any("lr = 0.1 has no range" in p for p in problems)
    assert any("n = 0" in p and "not stopped" in p for p in problems)  # max(n, 1) hides the bad value
    assert not any("mode" in p or "data_source" in p or "seed" in p for p in problems)


@pytest.mark.parametrize("spec,value", [((1, 500), 0), ((0.01, 0.99), -0.99), ((16, 560, 8), 8),
                                        ([True, False], NOT_A_CHOICE), (runtime.or_none((0.0, 1.0)), -1.0)])
def test_out_of_range_values_are_outside(spec, value):
    assert outside(spec) == value and not runtime.in_range(value, spec)
