"""What this machine is: CPU model, the instruction sets that decide int8 and bf16 speed, libraries.

int8 and bf16 inference are fast only with the instructions made for them:

- AVX2 (+FMA): fp32 at 8 floats per instruction; int8 via ``vpmaddubsw`` (no fused dot product,
  so int8 gains little, and ONNX Runtime may saturate on it);
- AVX-512: 16 floats per instruction;
- VNNI (``avx512_vnni`` or ``avx_vnni``): one instruction multiplies and adds four int8 pairs,
  up to 4x fp32's work per cycle: this is what makes int8 worth its rounding;
- bf16 (``avx512_bf16``): bf16 dot products; without it bf16 is emulated and slower than fp32;
- AMX (``amx_int8``, ``amx_bf16``): matrix tiles, many times AVX-512 for int8 and bf16 matmuls.
"""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from pathlib import Path

ISA_FLAGS = {
    "avx2": ("avx2",),
    "fma": ("fma",),
    "avx512": ("avx512f",),
    "vnni": ("avx512_vnni", "avx_vnni"),
    "bf16": ("avx512_bf16", "amx_bf16"),
    "amx": ("amx_int8", "amx_bf16"),
}
LIBRARIES = (
    "torch", "transformers", "sentence-transformers", "tokenizers", "huggingface-hub", "numpy",
    "onnx", "onnxruntime", "openvino", "nncf", "optimum", "optimum-onnx", "optimum-intel",
    "langchain", "langchain-core", "langchain-classic", "langchain-community",
    "langchain-huggingface", "faiss-cpu", "ranx", "matplotlib",
)  # fmt: skip


def _cpuinfo_field(name: str) -> str | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(name):
                return line.split(":", 1)[1].strip()
    return None


def cpu_model() -> str:
    """Return the CPU's model name."""
    return _cpuinfo_field("model name") or platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    """Return every flag /proc/cpuinfo lists for this CPU (empty where there is none)."""
    return set((_cpuinfo_field("flags") or "").split())


def isa(flags: set[str] | None = None) -> dict[str, bool]:
    """Return which of AVX2, FMA, AVX-512, VNNI, bf16 and AMX this CPU has."""
    flags = cpu_flags() if flags is None else flags
    return {name: any(f in flags for f in needed) for name, needed in ISA_FLAGS.items()}


def int8_hardware(features: dict[str, bool]) -> str:
    """Say in words what int8 can gain on this CPU."""
    if features["amx"]:
        return "AMX: int8 and bf16 matrix tiles (int8 and bf16 can both beat fp32 by far)"
    if features["vnni"]:
        return "VNNI: fused int8 dot products (int8 up to ~4x fp32's arithmetic per cycle)"
    if features["avx2"]:
        return "AVX2 without VNNI: int8 has no fused dot product; expect small gains"
    return "no AVX2: int8 and bf16 kernels fall back to slow paths"


def lscpu() -> str | None:
    """Return ``lscpu``'s output without the vulnerability lines (None where it is missing)."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return "\n".join(line for line in text.splitlines() if not line.startswith("Vulnerability"))


def machine_info() -> dict:
    """Return CPU model, cores, instruction sets, the relevant flags, load and OS."""
    flags = cpu_flags()
    wanted = sorted({f for needed in ISA_FLAGS.values() for f in needed} & flags)
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    features = isa(flags)
    return {
        "cpu_model": cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "isa": features,
        "int8_hardware": int8_hardware(features),
        "simd": wanted,
        "cpu_flags": sorted(flags),
        "lscpu": lscpu(),
        "load_average_at_start": list(load) if load else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def library_versions() -> dict:
    """Return installed versions of the libraries that matter here (None when missing)."""
    from helpers.envcheck import installed_versions

    return installed_versions(LIBRARIES)
