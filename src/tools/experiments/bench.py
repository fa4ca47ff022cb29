"""`python -m src.tools.experiments.bench`: the speed and memory targets, measured in one run, printed and written
as JSON.

P1 training: steady-state views/s of the real training loop (train.py, data loading included) over the
   backbone-only ceiling measured in the same run (same model, size, batch, precision; synthetic tensors
   already on the GPU).                                                         target >= 0.95 (GPU only)
P2 inference: test.py end to end on N patients with 5 folds over the pure GPU inference time of those 5 folds
   on the same number of tensors already on the GPU.                           target <= 1.3  (GPU only)
P3 memory: peak host memory (PSS) of the whole training process tree (workers included) at two data-set sizes.
                                                                                target <= 3 GiB, flat
P4 CPU only: test.py wall time on N patients, 5 folds of a small backbone.     target < 10 min
Synthetic data at realistic size (720-1255 px) is generated once into --work and reused.
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import torch

from ...networks.model import build_model, to_device
from ...tasks import kind_of
from ...utilities import checkpoint as ckpt
from ...utilities import config as C
from ...utilities import layout
from ...utilities.cli import command_parser
from ...utilities.errors import UserError, run_cli
from ...utilities.files import atomic_write_text
from ..demo.kium import generate


def tree_rss(pid):
    """Memory (bytes) of a process and all its descendants, from /proc (Linux): the sum of their proportional
    set sizes (PSS: a page shared by forked DataLoader workers counts once, split among them), or of their
    resident sizes where PSS is not available."""
    children = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        total += _proc_kib(f"/proc/{p}/smaps_rollup", "Pss:") or _proc_kib(f"/proc/{p}/status", "VmRSS:")
    return total * 1024


def _proc_kib(path, field):
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_measured(cmd, cwd=None):
    """(wall seconds, peak tree RSS in bytes, CompletedProcess-like) of a command."""
    t0 = time.time()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0]

    def poll():
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss(proc.pid))
            time.sleep(0.2)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    out, _ = proc.communicate()
    watcher.join()
    if proc.returncode != 0:
        raise UserError(f"{Path(cmd[1]).name} failed during the benchmark: {out.strip().splitlines()[-1][:300]}")
    return time.time() - t0, peak[0], out


def dataset(work, n_train, n_test, size_range):
    folder = work / f"kium_{n_train}_{n_test}_{size_range[0]}_{size_range[1]}"
    if not (folder / "groundtruth.csv").is_file():
        generate(C.load_config(), folder, n_train, n_test, seed=1, size_range=size_range)
    return folder


def fake_folds(cfg, weights_dir, n_folds=5):
    """Randomly initialised fold checkpoints: enough to time inference without training first."""
    for k in range(n_folds):
        path = layout.best(weights_dir, k)
        if path.is_file():
            continue
        margs = kind_of(cfg).model_args()
        net = build_model(margs)
        thresholds = {c: 0.5 for c in C.location_columns(cfg)}
        ckpt.save(dict(kind="best", model=net.state_dict(), model_args=margs, config=cfg, fold=k, epoch=0,
                       thresholds=thresholds, versions=ckpt.versions()), path)


def gpu_train_ceiling(model, size, batch, n_views, steps=30):
    import timm
    net = timm.create_model(model, pretrained=False, num_classes=0, in_chans=1).cuda()
    net = net.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    x = torch.randn(batch * n_views, 1, size, size, device="cuda").contiguous(memory_format=torch.channels_last)
    for i in range(steps + 5):
        if i == 5:
            torch.cuda.synchronize()
            t0 = time.time()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = net(x).float().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    torch.cuda.synchronize()
    return steps * batch * n_views / (time.time() - t0)


@torch.no_grad()
def gpu_inference_time(cfg, n_patients, batch, n_folds=5):
    nets = [to_device(build_model(kind_of(cfg).model_args()), torch.device("cuda")).eval() for _ in range(n_folds)]
    size, v = int(cfg["preprocess"]["img_size"]), len(C.views(cfg))
    x = torch.randn(batch, v, 1, size, size, device="cuda")
    for net in nets:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            net(x)
    torch.cuda.synchronize()
    t0 = time.time()
    for _ in range((n_patients + batch - 1) // batch):
        for net in nets:
            with torch.autocast("cuda", dtype=torch.bfloat16):
                torch.sigmoid(net(x)).cpu()
    torch.cuda.synchronize()
    return time.time() - t0


def main(argv=None):
    p = command_parser("Measure P1-P4 (speed and memory targets) and print them.",
                       "python -m src.tools.experiments.bench --out bench_out     # GPU: all four",
                       "python -m src.tools.experiments.bench --only P3,P4 --p3_sizes 100,200   # CPU machine")
    p.add_argument("--out", default="bench_out", help="folder for bench.json")
    p.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "mvharness_bench"),
                   help="folder for synthetic data, weights, caches")
    p.add_argument("--only", default="P1,P2,P3,P4")
    p.add_argument("--model", default="resnet50")
    p.add_argument("--img_size", type=int, default=384)
    p.add_argument("--batch_size", type=int, default=16, help="patients per step (x 8 views)")
    p.add_argument("--num_workers", type=int, default=min(16, os.cpu_count() or 1))
    p.add_argument("--p1_patients", type=int, default=600)
    p.add_argument("--p2_patients", type=int, default=1000)
    p.add_argument("--p3_sizes", default="300,600", help="two training-set sizes (patients)")
    p.add_argument("--p4_patients", type=int, default=300)
    p.add_argument("--p4_model", default="resnet18")
    p.add_argument("--p4_img_size", type=int, default=256)
    p.add_argument("--size_range", type=int, nargs=2, default=[720, 1255], help="synthetic image sides (px)")
    args = p.parse_args(argv)
    only = set(args.only.split(","))
    work, out = Path(args.work), Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    cuda = torch.cuda.is_available()
    gpu = torch.cuda.get_device_name(0) if cuda else "none"
    py = sys.executable
    root = C.PROJECT_ROOT
    results = dict(gpu=gpu, torch=str(torch.__version__), cpu_count=os.cpu_count(), model=args.model,
                   img_size=args.img_size, batch_size=args.batch_size, rows=[])

    def row(name, value, target, ok, note=""):
        results["rows"].append(dict(metric=name, value=value, target=target, ok=ok, note=note))
        print(f"{name:<34} {value:>12} {target:>12}  {'PASS' if ok else 'FAIL' if ok is not None else '-'}  {note}",
              flush=True)

    def train_cmd(data, weights, epochs, model, size, batch):
        return [py, str(root / "train.py"), "--data_dir", str(data / "train_set"), "--fold", "0",
                "--weights_dir", str(weights), "--model", model, "--img_size", str(size), "--epochs", str(epochs),
                "--batch_size", str(batch), "--num_workers", str(args.num_workers), "--cache_dir",
                str(work / "cache"), "--patience", str(epochs)]

    print(f"{'metric':<34} {'value':>12} {'target':>12}  verdict  ({gpu}, torch {torch.__version__})")
    if "P1" in only:
        if not cuda:
            row("P1 train loop / ceiling", "n/a", ">= 0.95", None, "needs a CUDA GPU")
        else:
            data = dataset(work, args.p1_patients, 10, tuple(args.size_range))
            weights = work / f"p1_{time.time_ns()}"
            run_measured(train_cmd(data, weights, 3, args.model, args.img_size, args.batch_size))
            m = pd.read_csv(layout.metrics(weights, 0))
            real = float(m["train_views_per_s"].iloc[1:].mean())         # steady state: after the first epoch
            ceiling = gpu_train_ceiling(args.model, args.img_size, args.batch_size, 8)
            results.update(p1_real_views_per_s=real, p1_ceiling_views_per_s=ceiling)
            row("P1 train loop / ceiling", f"{real / ceiling:.3f}", ">= 0.95", real / ceiling >= 0.95,
                f"{real:.0f} vs {ceiling:.0f} views/s")
    if "P2" in only:
        if not cuda:
            row("P2 test.py / pure GPU inference", "n/a", "<= 1.3", None, "needs a CUDA GPU")
        else:
            cfg = C.resolved(C.load_config(), {"model.backbone": args.model, "preprocess.img_size": args.img_size})
            data = dataset(work, 10, args.p2_patients, tuple(args.size_range))
            weights = work / f"p2_{args.model}_{args.img_size}"
            fake_folds(cfg, weights)
            wall, _, _ = run_measured([py, str(root / "test.py"), "--data_dir", str(data / "test_set"),
                                       "--weights_dir", str(weights), "--out", str(work / "p2_output.csv"),
                                       "--batch_size", str(args.batch_size), "--num_workers", str(args.num_workers)])
            pure = gpu_inference_time(cfg, args.p2_patients, args.batch_size)
            results.update(p2_test_wall_s=wall, p2_pure_gpu_s=pure)
            row("P2 test.py / pure GPU inference", f"{wall / pure:.2f}", "<= 1.3", wall / pure <= 1.3,
                f"{wall:.1f} s vs {pure:.1f} s, {args.p2_patients} patients x 5 folds")
    if "P3" in only:
        peaks = []
        for n in map(int, args.p3_sizes.split(",")):
            data = dataset(work, n, 10, tuple(args.size_range))
            model, size = (args.model, args.img_size) if cuda else (args.p4_model, 128)
            _, peak, _ = run_measured(train_cmd(data, work / f"p3_{n}_{time.time_ns()}", 1, model, size,
                                                args.batch_size))
            peaks.append((n, peak / 2**30))
        worst = max(p for _, p in peaks)
        flat = abs(peaks[-1][1] - peaks[0][1]) <= 0.25 * peaks[0][1]
        results.update(p3_peak_gib={str(n): p for n, p in peaks})
        row("P3 peak host memory (GiB)", f"{worst:.2f}", "<= 3, flat", worst <= 3 and flat,
            "; ".join(f"{n} patients: {p:.2f} GiB" for n, p in peaks))
    if "P4" in only:
        cfg = C.resolved(C.load_config(), {"model.backbone": args.p4_model, "preprocess.img_size": args.p4_img_size})
        data = dataset(work, 10, args.p4_patients, tuple(args.size_range))
        weights = work / f"p4_{args.p4_model}_{args.p4_img_size}"
        fake_folds(cfg, weights)
        wall, _, _ = run_measured([py, str(root / "test.py"), "--data_dir", str(data / "test_set"), "--weights_dir",
                                   str(weights), "--out", str(work / "p4_output.csv"), "--device", "cpu"])
        results.update(p4_cpu_test_wall_s=wall)
        row("P4 CPU test.py (min)", f"{wall / 60:.1f}", "< 10", wall < 600,
            f"{args.p4_patients} patients x 5 folds, {args.p4_model} at {args.p4_img_size} px")
    atomic_write_text(out / "bench.json", json.dumps(results, indent=2))
    print(f"wrote {out / 'bench.json'}")
    return 0


if __name__ == "__main__":
    run_cli(main)
