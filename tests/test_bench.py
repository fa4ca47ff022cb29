"""The benchmark runs end to end at toy scale and reports every metric it can measure on this machine."""
import json

from conftest import run


def test_bench_cpu_metrics_at_toy_scale(tmp_path):
    proc = run("src.tools.experiments.bench", "--out", tmp_path / "out", "--work", tmp_path / "work",
               "--p3_sizes", "10,20",
               "--p4_patients", 4, "--p4_model", "test_efficientnet", "--p4_img_size", 64, "--num_workers", 1,
               "--batch_size", 2, "--size_range", 200, 260)
    result = json.loads((tmp_path / "out" / "bench.json").read_text())
    metrics = {r["metric"]: r for r in result["rows"]}
    assert set(metrics) == {"P1 train loop / ceiling", "P2 test.py / pure GPU inference", "P3 peak host memory (GiB)",
                            "P4 CPU test.py (min)"}
    assert 0 < result["p3_peak_gib"]["20"] < 3
    assert result["p4_cpu_test_wall_s"] > 0
    assert "P4 CPU test.py" in proc.stdout
