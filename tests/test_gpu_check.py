"""The one-shot GPU check (bench/gpu.py), proven on the CPU before any GPU runs it.

`--device cpu --tiny` runs every section end to end on tiny models; each figure line
must read `name: number unit`, and the two comparisons that are correctness, not speed,
must hold in fp32: the app's SD picture equals bare diffusers' (same folder, scheduler
and generator), and its upscales equal spandrel's own call. A picture made with another
seed must fail that comparison, or it compares nothing. The harness's time box and
out-of-memory lines are checked on sections made up here.
"""

from __future__ import annotations

import re

import torch

import bench.baselines
from bench import gpu
from bench.gpu_sections.harness import FULL, TINY, Check
from engine.api.errors import out_of_memory

FIGURE = re.compile(r"^[a-z0-9_]+: -?\d+(\.\d+)? (it/s|steps/s|MP/s|x|s|ms|levels|%|MiB|GiB)$")
EXPECTED = (
    "sd15_app",
    "sd15_diffusers",
    "sd15_app_over_diffusers",
    "sd15_app_peak_rss",
    "sd15_diffusers_peak_rss",
    "sdxl_app",
    "sdxl_app_picture",
    "sd15_fp32_max_diff_vs_diffusers",
    "sd15_fp32_equal_pixels_vs_diffusers",
    "upscale_lite_x4_tiled",
    "upscale_lite_x4_app_over_spandrel",
    "upscale_lite_x4_max_diff_vs_spandrel",
    "upscale_esrgan_tiled",
    "upscale_esrgan_app_over_spandrel",
    "upscale_esrgan_max_diff_vs_spandrel",
    "lab_train_app",
    "lab_train_bare",
    "lab_train_app_over_bare",
    "slider_frame_vae_shapes",
    "slider_frame_gan_shapes",
    "gpu_check_total",
    *(f"{s}_{kind}" for s in gpu.sections() for kind in ("peak_rss", "wall")),
)


def run_check(capsys, *args: str) -> dict[str, str]:
    """bench.gpu's printed lines as {name: "value unit"}, comments left out; every
    other line must be a figure."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one core's worth, and no fight with other test workers
    try:
        assert gpu.main(["--device", "cpu", "--tiny", *args]) == 0
    finally:
        torch.set_num_threads(threads)
    lines = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("#")]
    for line in lines:
        assert FIGURE.match(line), line
    return dict(line.split(": ", 1) for line in lines)


def test_every_section_runs_on_the_cpu_and_prints_figures(capsys):
    printed = run_check(capsys)
    assert sorted(printed) == sorted(set(EXPECTED))
    assert printed["sd15_fp32_max_diff_vs_diffusers"] == "0 levels"
    assert printed["sd15_fp32_equal_pixels_vs_diffusers"] == "100.000 %"
    for model in ("lite_x4", "esrgan"):
        assert printed[f"upscale_{model}_max_diff_vs_spandrel"] == "0 levels"
    for name in ("sd15_app", "sdxl_app", "lab_train_app", "lab_train_bare"):
        assert float(printed[name].split()[0]) > 0


def test_the_pixel_comparison_sees_a_different_picture(capsys, monkeypatch):
    real = bench.baselines.bare_diffusers_txt2img
    monkeypatch.setattr(
        bench.baselines,
        "bare_diffusers_txt2img",
        lambda *a, **kw: real(*a, **{**kw, "seed": kw["seed"] + 1}),
    )
    printed = run_check(capsys, "--only", "sd15_fp32")
    assert printed["sd15_fp32_max_diff_vs_diffusers"] != "0 levels"
    assert float(printed["sd15_fp32_equal_pixels_vs_diffusers"].split()[0]) < 100


def test_without_cuda_it_says_so_in_one_line_and_exits_0(capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu.main([]) == 0
    out = capsys.readouterr().out
    assert out == (
        f"gpu_check: no CUDA GPU on this machine (torch {torch.__version__}); nothing measured\n"
    )


def test_an_unknown_section_is_named_with_the_choices(capsys):
    assert gpu.main(["--device", "cpu", "--only", "sd3"]) == 2
    out = capsys.readouterr().out
    assert "sd3" in out and "sdxl" in out


def test_out_of_memory_ends_its_section_with_a_line_and_the_next_runs(tmp_path):
    check = Check("cpu", TINY, tmp_path, budget_s=60)

    def too_big(_check: Check) -> None:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB")

    def too_big_for_the_app(_check: Check) -> None:  # the runtime's sentence for it
        raise out_of_memory("cuda", "generating")

    check.section("huge", 0, too_big)
    check.section("huge_job", 0, too_big_for_the_app)
    check.section("small", 0, lambda c: c.emit("small_figure", 1.5, "s"))
    assert "huge: out of memory (CUDA out of memory. Tried to allocate 9.00 GiB)" in check.lines
    assert any(line.startswith("huge_job: out of memory (The GPU ran") for line in check.lines)
    assert "small_figure: 1.50 s" in check.lines


def test_a_failing_section_says_why_and_the_next_runs(tmp_path):
    check = Check("cpu", TINY, tmp_path, budget_s=60)
    check.section("broken", 0, lambda c: int("x"))
    check.section("small", 0, lambda c: c.emit("small_figure", 1.5, "s"))
    assert any(line.startswith("broken: failed (ValueError: ") for line in check.lines)
    assert "small_figure: 1.50 s" in check.lines


def test_a_section_that_would_overrun_the_budget_is_skipped_with_a_line(tmp_path):
    check = Check("cpu", FULL, tmp_path, budget_s=30)
    ran: list[str] = []
    check.section("sdxl", 150, lambda c: ran.append("sdxl"))
    check.section("sliders", 10, lambda c: ran.append("sliders"))
    assert ran == ["sliders"]
    assert re.fullmatch(
        r"sdxl: skipped \(\d+ s of the budget left, it needs about 150 s\)", check.lines[0]
    )


def test_timing_stops_after_one_timed_run_once_the_section_time_is_spent(tmp_path):
    check = Check("cpu", FULL, tmp_path, budget_s=60)
    check.deadline = 0.0  # long past
    calls: list[int] = []
    check.median_s(lambda: calls.append(1), runs=5)
    assert len(calls) == 2  # the warm-up and one timed run
