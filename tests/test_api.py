"""The Python API under the commands: README's notebook example, run as written."""
import os
import re
import subprocess
import sys

from conftest import ROOT


def readme_example():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- notebook-example: start -->\s*```python\n(.*?)```", text, re.S)
    assert block, "README.md lost its notebook example"
    return block.group(1)


def test_readme_notebook_example_runs_as_written(tmp_path):
    code = readme_example()
    assert code.count("\n") <= 7, "the example promises the pipeline in a few lines"
    check = ("\nimport pandas as pd\n"
             "assert summary is not None and summary['n_folds'] == 2, summary\n"
             "assert len(table) == 12 and table.equals(pd.read_csv('nb_output.csv', dtype={'Index': str}))\n"
             "assert 0 <= scores['primary_auc'] <= 1 and 'location_accuracy' in scores\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", code + check], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert (tmp_path / "nb_weights" / "cv_summary.json").is_file()
    assert "Aneurysm AUROC" in proc.stdout
