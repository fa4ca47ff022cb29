"""Property-based: evaluate.py, fed random malformed CSVs, either scores or refuses with one line (exit 2)."""
import string

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from src.evaluate_cmd import main
from src.utilities import config as C
from src.utilities.errors import UserError

COLS = ["Index"] + C.target_columns(C.load_config())
cell = st.one_of(st.integers(-3, 3).map(str), st.floats(allow_nan=True, allow_infinity=True).map(str),
                 st.text(string.printable, max_size=4), st.just(""))


@st.composite
def csv_text(draw):
    header = draw(st.one_of(st.just(COLS), st.permutations(COLS), st.lists(st.sampled_from(COLS + ["x"]), max_size=25)))
    sep = draw(st.sampled_from([",", ",", ",", ";", "\t"]))
    rows = draw(st.lists(st.lists(cell, min_size=len(header), max_size=len(header)), max_size=6))
    return "\n".join(sep.join(r) for r in [header] + rows) + draw(st.sampled_from(["", "\n", "\n\n,,"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pred=csv_text())
def test_random_predictions_never_crash(tmp_path, pred, capsys):
    rng = np.random.default_rng(0)
    gt = tmp_path / "gt.csv"
    lines = [",".join(COLS)] + [",".join([str(i)] + [str(int(i % 2))] + [str(int(v)) for v in rng.random(21) < 0.1])
                                for i in range(4)]
    gt.write_text("\n".join(lines) + "\n")
    (tmp_path / "pred.csv").write_text(pred)
    try:
        assert main(["--pred", str(tmp_path / "pred.csv"), "--gt", str(gt), "--n_boot", "0"]) == 0
        assert "Aneurysm AUROC" in capsys.readouterr().out
    except UserError as exc:
        message = str(exc)
        assert message and "\n" not in message
