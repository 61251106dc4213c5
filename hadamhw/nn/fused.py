"""The fused recurrence: the whole sequence's h_t = act(s * FWHT_m(h_{t-1}) + d_t + b) in
one autograd node, forward and backpropagation through time in C++ (fused_recurrence.cpp).

`HadamRNN` uses it on its FWHT path (use_fwht=True, the default) for float32 and float64
CPU tensors; the Python time loop stays the path everywhere else (other devices and dtypes,
use_fwht=False) and is the reference the tests hold this one to (tests/
test_fused_recurrence.py). Only the loop is fused: the signs (sign() with a
straight-through gradient, times 1/sqrt(m)), the bias and the fake-quantized input and
output layers stay in PyTorch, so gradients reach the same parameters and checkpoints are
unchanged. Inside the loop are what is exact there: the readout's relu (relu_out, for
readout 'every') and, for one-hot inputs, the lookup of U x_t (a row of U_q transposed).
The backward pass keeps nothing but the inputs: it runs each sequence forward again, then
back. It is not itself differentiable (no double backward through the recurrence).

The extension is compiled on first use with torch.utils.cpp_extension (a C++ compiler and
ninja; `-O3 -march=native` on x86-64), about a minute, once per source, flags, torch,
Python and CPU, into $HADAMHW_CACHE_DIR/torch-ext, else ~/.cache/hadamhw/torch-ext; later
processes load the built library. When it cannot be built (no compiler, no ninja, a build
error) one line on stderr says so and the PyTorch loop runs instead; nothing fails.
HADAMHW_NO_EXT=1 (any value but empty or 0) turns the extension off.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import platform
import shutil
import sys
import threading
from pathlib import Path

import torch

SOURCE = Path(__file__).with_name("fused_recurrence.cpp")
DTYPES = (torch.float32, torch.float64)

_lock = threading.Lock()
_state: dict = {}  # "module": the loaded extension, or "error": why it is unavailable


def disabled() -> bool:
    """True when HADAMHW_NO_EXT asks for the PyTorch loop."""
    return os.environ.get("HADAMHW_NO_EXT", "") not in ("", "0")


def cache_dir() -> Path:
    base = os.environ.get("HADAMHW_CACHE_DIR")
    return (Path(base) if base else Path.home() / ".cache" / "hadamhw") / "torch-ext"


def _cflags() -> list[str]:
    # -ffp-contract=off: s * r + d rounds as PyTorch's separate product and sum do.
    flags = ["-O3", "-ffp-contract=off"]
    if platform.machine().lower() in ("x86_64", "amd64"):
        flags.append("-march=native")
    return flags


def _cpu_id() -> str:
    """What -march=native depends on: the model and feature flags of this CPU."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor()
    wanted = ("model name", "flags", "Features", "CPU part", "CPU implementer")
    return "\n".join(sorted({line for line in lines if line.split(":")[0].strip() in wanted}))


def module_name() -> str:
    """The extension's name: hashes everything its binary depends on."""
    digest = hashlib.sha256()
    for part in (SOURCE.read_bytes(), " ".join(_cflags()).encode(), torch.__version__.encode(),
                 sys.version.encode(), platform.machine().encode(), _cpu_id().encode()):
        digest.update(len(part).to_bytes(8, "little") + part)
    return f"hadamhw_fused_{digest.hexdigest()[:16]}"


def _import(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _build():
    name = module_name()
    folder = cache_dir() / name
    library = folder / f"{name}{'.pyd' if sys.platform == 'win32' else '.so'}"  # as torch names it
    # torch's build holds folder/lock: while it is there, load() below waits for the build
    if library.is_file() and not (folder / "lock").exists():
        try:
            return _import(name, library)
        except ImportError:  # a truncated library from a killed build: build it again
            library.unlink(missing_ok=True)
    from torch.utils import cpp_extension

    folder.mkdir(parents=True, exist_ok=True)
    print(f"hadamhw: compiling the fused recurrence (once) in {folder}", file=sys.stderr,
          flush=True)
    path = os.environ.get("PATH", "")
    if shutil.which("ninja") is None:
        # the ninja wheel's executable, beside this Python when the venv is not activated
        os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), path])
    log = logging.getLogger("torch.utils.cpp_extension")  # its compiler notes: one line here
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        return cpp_extension.load(name, [str(SOURCE)], extra_cflags=_cflags(),
                                  build_directory=str(folder), verbose=False)
    finally:
        os.environ["PATH"] = path
        log.setLevel(level)


def _reason(exc: Exception) -> str:
    """One line on why the build failed: the compiler's first error where there is one."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    for line in lines[1:]:
        if "error" in line.lower():
            return f"{lines[0].split(':')[0]}: {line}"
    return lines[0]


def extension():
    """The compiled module, or None (the PyTorch loop then runs): disabled, or not buildable,
    which is reported once per process."""
    if disabled():
        return None
    if "module" not in _state and "error" not in _state:
        with _lock:
            if "module" not in _state and "error" not in _state:
                try:
                    _state["module"] = _build()
                except Exception as exc:  # no compiler, no ninja, a build or load error
                    _state["error"] = reason = _reason(exc)
                    print(f"hadamhw: fused recurrence unavailable ({reason[:300]}); using the "
                          "PyTorch loop", file=sys.stderr, flush=True)
    return _state.get("module")


def usable(drive: torch.Tensor, scaled_signs: torch.Tensor, bias: torch.Tensor | None,
           tokens: torch.Tensor | None = None) -> bool:
    """Whether the fused recurrence computes exactly what the PyTorch loop would here:
    drive (B, T, n), or with tokens (B, T) the table (V, n) whose rows they pick."""
    tensors = [drive, scaled_signs] + ([] if bias is None else [bias])
    if tokens is None:
        shape_ok = drive.dim() == 3 and drive.shape[1] > 0
    else:
        # out-of-range ids: the PyTorch path raises embedding's own IndexError
        shape_ok = (drive.dim() == 2 and tokens.dim() == 2 and tokens.shape[1] > 0
                    and tokens.dtype == torch.long and tokens.device.type == "cpu"
                    and (tokens.numel() == 0 or (int(tokens.min()) >= 0
                                                 and int(tokens.max()) < drive.shape[0])))
    return (shape_ok and drive.dtype in DTYPES
            and all(t.device.type == "cpu" and t.dtype == drive.dtype for t in tensors)
            and scaled_signs.shape == drive.shape[-1:]
            and (bias is None or bias.shape == drive.shape[-1:])
            and not torch.jit.is_scripting() and not torch.jit.is_tracing()
            and extension() is not None)


class FusedRecurrence(torch.autograd.Function):
    """out (B, T, n): the states, or relu of them when relu_out. drive (B, T, n), or with
    tokens (B, T) the table (V, n) whose row tokens[b, t] is the drive at (b, t); scaled
    signs (n,); bias (n,) or None. Keeps only its inputs for the backward pass, which runs
    each sequence's forward pass again (fused_recurrence.cpp)."""

    @staticmethod
    def forward(ctx, drive, scaled_signs, bias, tokens, block_size: int,  # noqa: D102
                vanilla: bool, relu_out: bool):
        drive, scaled_signs = drive.contiguous(), scaled_signs.contiguous()
        bias = drive.new_empty(0) if bias is None else bias.contiguous()
        tokens = torch.empty(0, dtype=torch.long) if tokens is None else tokens.contiguous()
        ext = extension()
        if ext is None:
            raise RuntimeError("the fused recurrence is unavailable here (see fused.usable)")
        ctx.ext, ctx.block_size, ctx.vanilla, ctx.relu_out = ext, block_size, vanilla, relu_out
        ctx.save_for_backward(drive, scaled_signs, bias, tokens)
        return ext.forward(drive, tokens, scaled_signs, bias, block_size, vanilla, relu_out)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):  # noqa: D102
        drive, scaled_signs, bias, tokens = ctx.saved_tensors
        need_drive, need_signs, need_bias = ctx.needs_input_grad[:3]
        grad_drive, grad_signs, grad_bias = ctx.ext.backward(
            drive, tokens, scaled_signs, bias, grad_out.contiguous(), ctx.block_size,
            ctx.vanilla, ctx.relu_out, need_signs, need_bias)
        return (grad_drive if need_drive else None,
                grad_signs.sum(0) if need_signs else None,
                grad_bias.sum(0) if need_bias else None, None, None, None, None)


def recurrence(drive: torch.Tensor, scaled_signs: torch.Tensor, bias: torch.Tensor | None,
               block_size: int, vanilla: bool, relu_out: bool = False,
               tokens: torch.Tensor | None = None) -> torch.Tensor:
    """The states h_1..h_T (B, T, n) of h_t = act(s * FWHT_m(h_{t-1}) + d_t + bias), h_0 = 0,
    act = relu when vanilla else identity; relu(h_t) instead when relu_out (the readout's
    input, without the states). d_t = drive[:, t], or with tokens (B, T) drive[tokens[:, t]]
    (a one-hot input times U: drive is U's transpose, (V, n)). Call only where `usable`
    said so."""
    return FusedRecurrence.apply(drive, scaled_signs, bias, tokens, block_size, vanilla,
                                 relu_out)
