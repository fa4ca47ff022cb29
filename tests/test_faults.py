"""Faults an organizer or a participant meets: broken weight folders, empty data, Ctrl-C during training."""
import os
import shutil
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

from conftest import ROOT, run, train_args
from src.training.interrupts import ctrl_c_after, ctrl_c_remembered


def one_line_error(proc, needle):
    assert proc.returncode == 2, (proc.stdout[-2000:], proc.stderr)
    assert proc.stderr.startswith("error:") and proc.stderr.count("\n") == 1, proc.stderr
    assert needle in proc.stderr, proc.stderr


def test_broken_weight_folders(trained, demo, tmp_path):
    weights, _ = trained
    common = ["--data_dir", demo / "test_set", "--num_workers", 0, "--out", tmp_path / "o.csv"]

    corrupt = tmp_path / "corrupt"
    shutil.copytree(weights, corrupt)
    data = (corrupt / "fold_1" / "best.pt").read_bytes()
    (corrupt / "fold_1" / "best.pt").write_bytes(data[: len(data) // 3])
    one_line_error(run("test.py", *common, "--weights_dir", corrupt, check=False), "not a readable checkpoint")

    foreign = tmp_path / "foreign"
    shutil.copytree(weights, foreign)
    ck = torch.load(foreign / "fold_2" / "best.pt", weights_only=True)
    ck["config"]["task"] = "cxr_masked"
    ck["config"]["targets"]["columns"] = ["grade_0", "grade_1"]
    torch.save(ck, foreign / "fold_2" / "best.pt")
    one_line_error(run("test.py", *common, "--weights_dir", foreign, check=False), "another task")

    empty = tmp_path / "empty_weights"
    empty.mkdir()
    one_line_error(run("test.py", *common, "--weights_dir", empty, check=False), "no trained folds")

    evil = tmp_path / "evil"
    shutil.copytree(weights, evil)
    (evil / "fold_0" / "best.pt").write_bytes(
        b"\x80\x02cposix\nsystem\nq\x00X\x06\x00\x00\x00echo 1q\x01\x85q\x02Rq\x03.")
    proc = run("test.py", *common, "--weights_dir", evil, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert not (tmp_path / "o.csv").exists(), "no output is written from a refused weight folder"


def test_empty_or_unrelated_data_folder(trained, tmp_path):
    weights, _ = trained
    empty = tmp_path / "empty"
    empty.mkdir()
    one_line_error(run("test.py", "--data_dir", empty, "--weights_dir", weights, check=False), "no test.csv")
    (empty / "holiday.jpg").write_bytes(b"\xff\xd8 not really")
    one_line_error(run("test.py", "--data_dir", empty, "--weights_dir", weights, check=False), "no test.csv")


def test_ctrl_c_saves_the_finished_epochs_and_resume_finishes(demo, tmp_path):
    weights = tmp_path / "w"
    # two loader workers: the whole process group gets the Ctrl-C
    args = [sys.executable, str(ROOT / "train.py"), "--data_dir", str(demo / "train_set"), "--fold", "0",
            "--weights_dir", str(weights), *train_args(num_workers=2, epochs=3)]
    # SIGINT handled here while it starts: a child inherits an ignored SIGINT (pytest run as a script's
    # background job), a handled one is reset to the default; its own process group, as a terminal's job
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
    finally:
        signal.signal(signal.SIGINT, before)
    metrics = weights / "fold_0" / "metrics.csv"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not metrics.is_file():
        time.sleep(0.05)
    assert proc.poll() is None and metrics.is_file(), "training ended (or never got going) before the Ctrl-C"
    os.killpg(proc.pid, signal.SIGINT)        # Ctrl-C as epoch 1 is saved: it lands once its last.pt is written
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out[-2000:], err[-3000:])
    assert "--resume" in err and "Traceback" not in err, err
    last = torch.load(weights / "fold_0" / "last.pt", weights_only=True)
    assert last["epoch"] >= 1 and not last["finished"]
    resume = [a for a in args[1:]] + ["--resume"]
    run(*resume)
    assert pd.read_csv(metrics)["epoch"].tolist() == [1, 2, 3]


def test_a_ctrl_c_that_a_library_swallows_or_that_comes_while_saving_still_stops():
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with ctrl_c_remembered():
            try:
                signal.raise_signal(signal.SIGINT)
            except KeyboardInterrupt:       # as when matplotlib's first plot turns it into a logged ImportError
                pass
            with pytest.raises(KeyboardInterrupt), ctrl_c_after():
                pass
        with ctrl_c_remembered():
            saved = False
            with pytest.raises(KeyboardInterrupt), ctrl_c_after():
                signal.raise_signal(signal.SIGINT)                # held until the block is done
                saved = True
            assert saved
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler    # Python's handler is back
    finally:
        signal.signal(signal.SIGINT, before)
