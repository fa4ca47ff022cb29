"""Any multi-view competition is one YAML: the RSNA 2023 mammography and CheXpert layouts as distributed, through
the real scripts; a single binary target; grouped folds; missing and uncertain labels; the competition's metric;
file patterns that name subfolders or collide; evaluate.py finding the task by itself; unknown YAML keys; and the
reference page of every key."""
import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ROOT, run, train_args
from src.data.discover import discover
from src.data.folds import load_or_make, make_folds
from src.metrics.chance import auc_chance_upper, never_learned
from src.metrics.competition import pf1
from src.tasks import kind_of
from src.utilities import config as C
from src.utilities.config_keys import DEFAULTS, FREE, REQUIRED
from src.utilities.errors import UserError

TINY = train_args(n_folds=2, epochs=8, lr=0.003)


def kaggle_pfbeta(labels, predictions, beta=1.0):
    """The competition's own definition (RSNA 2023 on Kaggle), written out as a loop."""
    y_true_count = ctp = cfp = 0
    for label, prediction in zip(labels, predictions):
        prediction = min(max(prediction, 0), 1)
        if label:
            y_true_count += 1
            ctp += prediction
        else:
            cfp += prediction
    precision, recall = ctp / (ctp + cfp), ctp / y_true_count
    if precision > 0 and recall > 0:
        return (1 + beta ** 2) * precision * recall / (beta ** 2 * precision + recall)
    return 0


# ---- the YAML: every key documented and checked --------------------------------------------------------------

def test_the_reference_page_lists_every_key_with_its_default():
    rows = re.findall(r"^\| `([a-z_.]+)` \| (required|`[^|]*`) \|", (ROOT / "docs" / "CONFIG.md").read_text(),
                      re.M)
    page = {k: d for k, d in rows}
    keys = set(REQUIRED)
    for section, value in DEFAULTS.items():
        keys |= {section} if section in FREE or not isinstance(value, dict) else {f"{section}.{k}" for k in value}
    assert set(page) == keys, (sorted(set(page) - keys), sorted(keys - set(page)))
    for key, default in page.items():
        if default == "required":
            assert key in REQUIRED
            continue
        section, _, name = key.partition(".")
        assert yaml.safe_load(default.strip("`")) == (DEFAULTS[section][name] if name else DEFAULTS[section]), key
    assert all(f in page for f in FREE)


@pytest.mark.parametrize("mutate,needle", [
    (lambda c: c["data"].update(file_patern="{id}"), "'data.file_patern'; did you mean 'data.file_pattern'"),
    (lambda c: c["model"].update(lr=0.1), "'model.lr'; did you mean 'train.lr'"),
    (lambda c: c.update(traning={}), "'traning'; did you mean 'train'"),
    (lambda c: c["data"].pop("views"), "missing key 'data.views'"),
])
def test_a_wrong_key_is_one_line_naming_the_nearest(tmp_path, mutate, needle):
    cfg = yaml.safe_load((ROOT / "configs" / "kium.yaml").read_text())
    mutate(cfg)
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(cfg))
    with pytest.raises(UserError, match=re.escape(needle)):
        C.load_config(path)


def test_train_py_refuses_an_unknown_key_before_anything_runs(tmp_path):
    cfg = yaml.safe_load((ROOT / "configs" / "kium.yaml").read_text())
    cfg["train"]["epoch"] = 3
    (tmp_path / "task.yaml").write_text(yaml.safe_dump(cfg))
    proc = run("train.py", "--config", tmp_path / "task.yaml", "--data_dir", tmp_path, "--fold", "0", check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"error: {tmp_path / 'task.yaml'}: unknown key 'train.epoch'; did you mean " \
                                  "'train.epochs'?"


# ---- metrics, chance, folds ----------------------------------------------------------------------------------

def test_pf1_is_the_competitions_own_definition():
    rng = np.random.default_rng(0)
    for _ in range(20):
        y = (rng.random(50) < 0.2).astype(float)
        y[0] = 1
        p = np.clip(rng.random(50) * 1.2 - 0.1, -0.05, 1.05)
        assert pf1(y, p) == pytest.approx(kaggle_pfbeta(y, p), abs=1e-12)
    y = np.array([1, 0, np.nan, 1])
    assert pf1(y, np.array([0.9, 0.2, 0.99, 0.6])) == pytest.approx(kaggle_pfbeta([1, 0, 1], [0.9, 0.2, 0.6]))
    assert np.isnan(pf1(np.zeros(4), np.ones(4)))


def test_a_perfect_fold_with_two_positives_is_never_called_unlearned():
    y = np.array([1, 1] + [0] * 10)
    band = auc_chance_upper(y)
    assert band > 1.0                                     # two positives: chance can reach the top
    assert not never_learned(1.0, band) and not never_learned(0.9, band)
    assert never_learned(0.55, 0.6) and not never_learned(float("nan"), 0.6) and not never_learned(0.55, np.nan)


def test_grouped_folds_keep_every_patient_in_one_fold(tmp_path):
    rng = np.random.default_rng(1)
    groups = [f"p{i // 3}" for i in range(90)]                # a patient's three studies
    labels = (rng.random((90, 3)) < 0.3).astype(float)
    labels[::7, 0] = np.nan                                   # missing labels take no part in the split
    fold = make_folds([str(i) for i in range(90)], labels, 5, 0, groups)
    assert all(len(set(fold[[j for j, g in enumerate(groups) if g == p]])) == 1 for p in set(groups))
    sizes = np.bincount(fold)
    assert len(sizes) == 5 and (sizes % 3 == 0).all() and sizes.min() >= 12      # whole patients, every fold
    positive = (np.arange(40) % 4 == 0).astype(float)                          # one binary target: stratified
    single = make_folds(list(range(40)), positive[:, None], 4, 0)
    assert sorted(int(positive[single == k].sum()) for k in range(4)) == [2, 2, 3, 3]
    ids = [str(i) for i in range(90)]
    path = tmp_path / "folds.csv"
    pd.DataFrame({"id": ids, "fold": np.arange(90) % 5}).to_csv(path, index=False)   # made without groups
    with pytest.raises(UserError, match="puts the samples of group p0 .* in folds 0, 1, 2"):
        load_or_make(path, ids, labels, 5, 0, groups)


# ---- tables: patterns, labels --------------------------------------------------------------------------------

def wide_task(tmp_path, pattern, views=("front", "side")):
    cfg = C.load_config("kium")
    cfg["data"].update(views=list(views), file_pattern=pattern, id_column="study")
    cfg["targets"].update(columns=["sick"], primary="sick")
    cfg["visibility"] = cfg["mirror"] = None
    rows = pd.DataFrame({"study": ["s1", "s2", "s3"], "sick": [0, 1, 0]})
    rows.to_csv(tmp_path / "train.csv", index=False)
    return cfg


def test_a_pattern_with_subfolders_finds_each_studys_views(tmp_path):
    cfg = wide_task(tmp_path, "{id}/{view}")
    for sid in ("s1", "s2", "s3"):
        (tmp_path / sid).mkdir()
        for view in ("front", "side"):
            (tmp_path / sid / f"{view.upper()}.PNG").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    samples = discover(tmp_path, cfg, "train")
    assert [[p.relative_to(tmp_path).as_posix() for p in row] for row in samples.paths] == \
        [[f"{s}/FRONT.PNG", f"{s}/SIDE.PNG"] for s in ("s1", "s2", "s3")]


def test_a_pattern_that_gives_two_samples_one_file_is_refused(tmp_path):
    cfg = wide_task(tmp_path, "{view}")
    for view in ("front", "side"):
        (tmp_path / f"{view}.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    with pytest.raises(UserError, match=r"'\{view\}' gives the same file front.png to samples s1 and s2"):
        discover(tmp_path, cfg, "train")


def test_missing_and_uncertain_labels_follow_the_policies(tmp_path):
    cfg = C.load_config("chexpert")
    cfg["targets"]["heads"] = {"Edema": {"classes": None}, "grade": {"classes": ["a", "b", "c"]}}
    kind = kind_of(cfg)
    frame = pd.DataFrame({"Atelectasis": [1.0, -1.0, None, 0.0], "Cardiomegaly": [-1.0, None, 1.0, 0.0],
                          "Consolidation": [0.0, 1.0, None, -1.0], "Edema": [None, -1.0, "2", 1.0],
                          "Pleural Effusion": [1.0, 0.0, None, None], "grade": ["b", None, "c", "z"]})
    y = kind.read_labels(frame, "train.csv")
    col = {c: y[:, kind.label_cols.index(c)] for c in kind.cols}
    assert col["Atelectasis"].tolist() == [1, 1, 0, 0]                   # uncertain: ones; empty: zeros
    assert np.isnan(col["Cardiomegaly"][0]) and col["Cardiomegaly"][1:].tolist() == [0, 1, 0]   # ignore
    assert col["Edema"][[0, 1, 3]].tolist() == [0, 1, 1] and np.isnan(col["Edema"][2])          # '2': invalid
    grade = y[:, kind.label_cols.index("grade_a"):kind.label_cols.index("grade_c") + 1]
    assert grade[0].tolist() == [0, 1, 0] and grade[2].tolist() == [0, 0, 1] and np.isnan(grade[[1, 3]]).all()
    samples = type("S", (), {"frame": frame, "labels": y, "ids": ["a", "b", "c", "d"]})
    problems = kind.label_problems(samples)
    assert any(p[0] == "error" and "d/grade='z'" in p[2] for p in problems)
    assert any(p[0] == "error" and "c/Edema='2'" in p[2] for p in problems)
    import torch
    logits = torch.zeros(4, len(kind.label_cols), requires_grad=True)
    loss = kind.loss(logits, torch.from_numpy(y))
    loss.backward()
    assert torch.isfinite(loss) and logits.grad[0, kind.label_cols.index("Cardiomegaly")] == 0
    assert logits.grad[1, kind.label_cols.index("grade_a")] == 0            # an ungraded row: no class loss


# ---- through the real scripts ----------------------------------------------------------------------------------

def test_a_single_binary_target_trains_predicts_and_scores(demo, tmp_path):
    cfg = yaml.safe_load((ROOT / "configs" / "kium.yaml").read_text())
    cfg["task"] = "kium_aneurysm_only"
    cfg["targets"]["columns"] = ["Aneurysm"]
    cfg.pop("visibility"), cfg.pop("mirror")
    (tmp_path / "one.yaml").write_text(yaml.safe_dump(cfg))
    w = tmp_path / "w"
    run("train.py", "--config", tmp_path / "one.yaml", "--data_dir", demo / "train_set", "--fold", "all",
        "--weights_dir", w, *train_args(n_folds=2, epochs=2))
    summary = json.loads((w / "cv_summary.json").read_text())
    assert summary["n_folds"] == 2 and summary["location_thresholds"] == {}
    out = tmp_path / "output.csv"
    run("test.py", "--data_dir", demo / "test_set", "--weights_dir", w, "--out", out, "--device", "cpu",
        "--num_workers", 0)
    assert list(pd.read_csv(out).columns) == ["Index", "Aneurysm"]
    proc = run("evaluate.py", "--pred", out, "--gt", demo / "groundtruth.csv", "--weights_dir", w, "--n_boot", 0)
    assert "Aneurysm AUROC" in proc.stdout and "location" not in proc.stdout     # 21 extra truth columns: noted
    assert "columns not scored" in proc.stdout


@pytest.fixture(scope="module")
def rsna(tmp_path_factory):
    out = tmp_path_factory.mktemp("rsna") / "rsna"
    run("src.tools.demo", "--task", "rsna_mammo", "--out", out, "--n_train", 48, "--n_test", 20, "--seed", 5,
        "--size_range", 64, 96, "--lesion_scale", 2, "--workers", 1)
    return out


def test_rsna_mammography_as_distributed(rsna, tmp_path):
    w, out = tmp_path / "w", tmp_path / "submission.csv"
    run("train.py", "--config", "rsna_mammo", "--data_dir", rsna / "train_set", "--fold", "all", "--weights_dir", w,
        *TINY)
    folds = pd.read_csv(w / "folds.csv", dtype=str)
    assert folds.groupby("group")["fold"].nunique().max() == 1          # a patient's breasts: one fold
    run("test.py", "--data_dir", rsna / "test_set", "--weights_dir", w, "--out", out, "--device", "cpu",
        "--num_workers", 0)
    sub = pd.read_csv(rsna / "test_set" / "sample_submission.csv", dtype=str)
    got = pd.read_csv(out, dtype={"prediction_id": str})
    assert list(got.columns) == ["prediction_id", "cancer"] and got["prediction_id"].tolist() == sub[
        "prediction_id"].tolist()
    truth = pd.read_csv(rsna / "groundtruth.csv", dtype={"prediction_id": str})
    proc = run("evaluate.py", "--pred", out, "--gt", rsna / "groundtruth.csv", "--n_boot", 0, cwd=tmp_path)
    expected = kaggle_pfbeta(truth["cancer"].to_numpy(), got["cancer"].to_numpy())
    assert f"probabilistic F1 (cancer): {expected:.4f}" in proc.stdout and "task: rsna_mammo" in proc.stdout
    from sklearn.metrics import roc_auc_score
    held_out = roc_auc_score(truth["cancer"], got["cancer"])
    assert held_out > auc_chance_upper(truth["cancer"].to_numpy()), held_out     # the easy signal was learned

    extra = tmp_path / "test_set"                       # a sample submission id without images: blank, warned
    import shutil
    shutil.copytree(rsna / "test_set", extra)
    pd.concat([sub, pd.DataFrame({"prediction_id": ["999_L"], "cancer": ["0"]})]).to_csv(
        extra / "sample_submission.csv", index=False)
    proc = run("test.py", "--data_dir", extra, "--weights_dir", w, "--out", tmp_path / "o2.csv", "--device", "cpu",
               "--num_workers", 0)
    assert "999_L" in proc.stdout and pd.read_csv(tmp_path / "o2.csv")["prediction_id"].iloc[-1] == "999_L"


def test_chexpert_as_distributed(tmp_path):
    data, w, out = tmp_path / "chexpert", tmp_path / "w", tmp_path / "output.csv"
    run("src.tools.demo", "--task", "chexpert", "--out", data, "--n_train", 60, "--n_test", 20, "--seed", 3,
        "--size_range", 64, 96, "--lesion_scale", 2, "--workers", 1)
    run("train.py", "--config", "chexpert", "--data_dir", data / "train_set", "--fold", "all", "--weights_dir", w,
        *TINY)
    folds = pd.read_csv(w / "folds.csv", dtype=str)
    assert folds.groupby("group")["fold"].nunique().max() == 1          # a patient's studies: one fold
    run("test.py", "--data_dir", data / "test_set", "--weights_dir", w, "--out", out, "--device", "cpu",
        "--num_workers", 0)
    test_csv = pd.read_csv(data / "test_set" / "CheXpert-v1.0-small" / "test.csv")
    studies = list(dict.fromkeys(p.rsplit("/", 1)[0] for p in test_csv["Path"]))
    got = pd.read_csv(out)
    assert got["Study"].tolist() == studies
    assert list(got.columns) == ["Study", "Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Pleural Effusion"]
    proc = run("evaluate.py", "--n_boot", 0, cwd=tmp_path, check=False)          # neither --config nor --gt: here
    assert proc.returncode == 2 and "groundtruth.csv" in proc.stderr
    (tmp_path / "groundtruth.csv").write_bytes((data / "groundtruth.csv").read_bytes())
    proc = run("evaluate.py", "--n_boot", 0, cwd=tmp_path)
    assert "task: chexpert" in proc.stdout
    value = float(re.search(r"mean AUROC \(.*\): ([0-9.]+)", proc.stdout).group(1))
    truth = pd.read_csv(data / "groundtruth.csv")
    band = np.mean([auc_chance_upper(truth[c].to_numpy()) for c in got.columns[1:]])
    assert value > band, (value, band)                                            # the easy signs were learned


def test_the_data_check_names_the_task_in_its_advice(rsna, tmp_path):
    import shutil
    bad = tmp_path / "train_set"
    shutil.copytree(rsna / "train_set", bad)
    table = pd.read_csv(bad / "train.csv", dtype=str)
    table.loc[0, "cancer"] = "maybe"
    table.to_csv(bad / "train.csv", index=False)
    proc = run("train.py", "--config", "rsna_mammo", "--data_dir", bad, "--fold", "0", "--weights_dir",
               tmp_path / "w", *TINY, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "cancer values other than 0 or 1" in proc.stderr and "--config rsna_mammo" in proc.stderr
    assert "location" not in proc.stdout + proc.stderr
