"""Students' changes (issue 8): notebooks run cleanly with other parameter values in smoke mode, and invalid
values stop right after the parameters cell with a message naming the parameter."""
import pytest

from nbrun import error_of, run

pytestmark = pytest.mark.usefixtures("smoke_env")

VALID = {
    "01a_fashion_mnist_autoencoder_end_to_end.ipynb": {"batch_size": 128, "hidden": 64, "lr": 0.1,
                                                       "data_source": "synthetic", "seed": 3},
    "01b_fashion_mnist_layerwise_pretraining.ipynb": {"batch_size": 256, "hidden": 50,
                                                      "compare_end_to_end": False, "seed": 1},
}
INVALID = {
    "00_setup_check.ipynb": [({"data_source": "internet"}, "data_source")],
    "01a_fashion_mnist_autoencoder_end_to_end.ipynb": [({"batch_size": 0}, "batch_size"),
                                                       ({"lr": -0.5}, "lr"), ({"clf_lr": 0}, "clf_lr")],
    "01b_fashion_mnist_layerwise_pretraining.ipynb": [({"num_epochs": 0}, "num_epochs"),
                                                      ({"data_source": "web"}, "data_source")],
}


@pytest.fixture
def smoke_env(monkeypatch):
    monkeypatch.setenv("COURSE_SMOKE", "1")


@pytest.mark.parametrize("name,overrides", VALID.items(), ids=list(VALID))
def test_changed_values_run_cleanly(name, overrides):
    nb = run(name, overrides)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors


@pytest.mark.parametrize("name,overrides,word",
                         [(n, o, w) for n, cases in INVALID.items() for o, w in cases],
                         ids=[f"{n[:3]}-{next(iter(o))}" for n, cases in INVALID.items() for o, _ in cases])
def test_invalid_values_stop_in_setup_cell(name, overrides, word):
    error = error_of(name, overrides)
    assert error is not None, "an invalid value was accepted"
    ename, evalue = error
    assert ename == "ParameterError" and "Parameters cell" in evalue and word in evalue
