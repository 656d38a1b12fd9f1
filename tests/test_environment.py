"""The environment report: CPU model and instruction sets, the version guard, the grading kernel's start."""

import pytest

from helpers.kit import environment

EPYC = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B13
flags\t\t: fpu vme sse sse2 avx fma avx2 bmi2 sha_ni
processor\t: 1
model name\t: AMD EPYC 7B13
"""
XEON = """model name\t: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
flags\t\t: avx avx2 fma avx512f avx512bw avx512_vnni avx_vnni amx_int8
"""


def test_cpu_info_reads_model_and_int8_relevant_flags():
    assert environment.cpu_info(EPYC) == {"model": "AMD EPYC 7B13", "isa": ["AVX2", "FMA"]}
    xeon = environment.cpu_info(XEON)
    assert xeon["model"].startswith("Intel(R) Xeon(R) Platinum 8481C")
    assert xeon["isa"] == ["AVX2", "FMA", "AVX-512", "AVX-512 VNNI", "AVX-VNNI", "AMX-INT8"]


def test_cpu_info_of_this_machine_has_a_model_name():
    info = environment.cpu_info()
    assert isinstance(info["model"], str) and info["model"]
    assert set(info["isa"]) <= set(environment.ISA_FLAGS.values())


def test_cpu_line_names_the_model_and_says_when_no_instruction_set_is_known():
    assert environment.cpu_line(environment.cpu_info(EPYC)) == "CPU: AMD EPYC 7B13 (AVX2, FMA)"
    bare = {"model": "arm64", "isa": []}
    assert environment.cpu_line(bare) == "CPU: arm64 (no AVX2/AVX-512/VNNI reported)"
    assert environment.cpu_line().startswith("CPU: ")


RANGES = {"tensorflow": ">=2.17,<2.22", "keras": ">=3.5,<4", "numpy": ">=1.26,<3"}


def test_version_guard_is_silent_when_everything_fits():
    installed = {"tensorflow": "2.21.0", "keras": "3.15.1", "numpy": "2.1.3"}
    assert environment.version_problems(installed, (3, 11), RANGES) == []


def test_version_guard_names_each_package_out_of_range_and_the_fix():
    installed = {"tensorflow": "2.22.0", "keras": "2.15.0", "numpy": None}
    problems = environment.version_problems(installed, (3, 9), RANGES)
    assert len(problems) == 4
    assert "Python 3.9" in problems[0]
    assert "tensorflow 2.22.0 is outside requirements.txt's range >=2.17,<2.22" in problems[1]
    assert "pip install 'tensorflow>=2.17,<2.22'" in problems[1]
    assert "keras 2.15.0" in problems[2]
    assert "numpy is not installed" in problems[3]


def test_the_kits_own_environment_passes_its_version_guard():
    assert environment.version_problems() == []


def test_requirement_ranges_come_from_requirements_txt():
    ranges = environment._requirement_ranges()
    assert ranges["tensorflow"] == ">=2.20,<2.22" and ranges["keras"] == ">=3.13,<4"
    assert set(ranges) == set(environment.GUARDED_PACKAGES)


def test_print_environment_shows_versions_cpu_and_mode(capsys, monkeypatch):
    monkeypatch.setenv("KIT_MODE", "quick")
    env = environment.print_environment()
    out = capsys.readouterr().out
    assert f"TensorFlow {env['tensorflow']}" in out and "CPU:" in out
    assert "Run mode: QUICK" in out and "WARNING" not in out


GRADING_KERNEL = """
import os, sys
os.environ["KIT_GRADING"] = "1"
from helpers import kit
kit.start(7)
print("imported" if "tensorflow" in sys.modules else "not imported")
import numpy as np
print(np.random.randint(1_000_000))
import keras
import tensorflow as tf
print(tf.random.uniform((3,)).numpy().round(6).tolist())
layer = keras.layers.Dense(2)
layer.build((None, 3))
print(layer.kernel.numpy().round(6).ravel().tolist())
"""


def test_a_grading_kernel_starts_without_tensorflow_and_seeds_it_on_first_import():
    from subprocess_testing import run_python

    runs = [run_python(GRADING_KERNEL, timeout=240) for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr[-2000:]
    lines = [run.stdout.strip().splitlines() for run in runs]
    assert lines[0][0].startswith("Grading kernel: run mode")
    assert lines[0][1] == "not imported"  # kit.start() left TensorFlow alone
    assert lines[0][2:] == lines[1][2:]  # NumPy, TensorFlow and Keras draws repeat
    import numpy as np

    assert int(lines[0][2]) == np.random.RandomState(7).randint(1_000_000)


def test_a_grading_kernel_refuses_a_bad_seed_like_start(monkeypatch):
    monkeypatch.setenv("KIT_GRADING", "1")
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        environment.start(-1)
