"""The integer IR: the one contract between the golden model, the Verilog and the HLS C++.

Semantics per time step (state h of `widths.state` bits, h_0 = 0):

    a  = U x_t + b                    (token inputs: a = U[:, x_t] + b)        widths.input_acc
    f  = FWHT_m(h) blockwise, radix-2 stages j = 1..k                          widths.fwht[j-1]
    r  = s * f                        (sign flip)                              widths.rotated
    v  = r * rotate_mult + a * input_mult + (2^(shift-1) if shift > 0)         widths.requant_sum
    q  = v >> shift                   (arithmetic: round half up overall)      widths.shifted
    q  = max(q, 0)                    (vanilla mode only)
    h  = clamp(q, -2^(B_h-1), 2^(B_h-1)-1)                                     widths.state
    on readout steps (every step, or the last step of a sequence):
    z  = max(h, 0)                    (unsigned)                               widths.readout_in
    y  = V z + c                                                               widths.output_acc
    y  = clamp((y * mult + 2^(shift-1)) >> shift, B_y)   if output_requant     widths.output
    argmax = lowest index of the largest y

Token inputs: an id v with input.size <= v < 2^input.bits (representable on the input port,
outside the vocabulary) selects no column of U: a = b, the bias alone, as if U[:, v] were
zero. Ids that the port cannot carry (v >= 2^input.bits, or negative) are refused.

Every width is signed two's complement except `input` (per `input.signed`) and
`readout_in` (unsigned). Widths are derived from worst-case intervals, never observed values.

The JSON form is published as a JSON Schema (ir-v1.schema.json beside this module, described
in docs/ir-format.md); `IntegerRNN.from_dict` validates against it, then checks what a schema
cannot express (shapes, divisibility, stage counts, widths that must hold the worst case).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from hadamhw.errors import HadamhwError
from hadamhw.ir import widths as W
from hadamhw.ir.json_schema import first_error, show

FORMAT = "hadamhw-ir"
VERSION = 1
MAX_WIDTH = 62  # the golden model computes in int64; keep one bit of margin
MAX_DECLARED_WIDTH = 256  # sanity bound on any declared width
MAX_META_DEPTH = 64  # free-form provenance; deeper nesting is junk (and recursion trouble)


def _fail(field_name: str, message: str) -> HadamhwError:
    return HadamhwError(f"IR field '{field_name}': {message}")


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_scale(value) -> bool:
    """A real scale: a positive finite number (never a bool or a string)."""
    return (isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, (bool, np.bool_)) and math.isfinite(value) and value > 0)


def _nesting(value) -> int:
    """Depth of nested lists and objects, without recursion."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            if depth <= MAX_META_DEPTH:
                todo.extend((child, depth + 1) for child in item)
    return deepest


# The integer arrays of the IR and their nesting depth / allowed values, for the schema
# check's fast path (a 10,000-token table is a million integers).
_FAST_ARRAYS = {"signs": (1, (-1, 1)), "input_weight": (2, ()), "input_bias": (1, ()),
                "output_weight": (2, ()), "output_bias": (1, ())}


@dataclass(frozen=True)
class InputSpec:
    kind: str  # "int": vectors of `size` integers of `bits` bits; "token": ids in [0, size)
    size: int
    bits: int
    signed: bool = False
    scale: float = 1.0  # real value of one integer step (reporting and float->int conversion)

    def range(self) -> tuple[int, int]:
        """The values one input word can carry: for tokens every id the port can represent,
        [0, 2^bits - 1], of which [size, 2^bits - 1] drive the bias only."""
        if self.kind == "token":
            return 0, (1 << self.bits) - 1
        return W.input_range(self.bits, self.signed)

    @property
    def bias_only_tokens(self) -> bool:
        """True when the port can carry ids outside the vocabulary (they select no column)."""
        return self.kind == "token" and self.size < (1 << self.bits)


@dataclass(frozen=True)
class Requant:
    rotate_mult: int
    input_mult: int
    shift: int


@dataclass(frozen=True)
class OutputRequant:
    mult: int
    shift: int
    bits: int


@dataclass(frozen=True)
class Widths:
    input: int
    input_weight: int
    input_acc: int
    state: int
    fwht: tuple[int, ...]
    rotated: int
    requant_sum: int
    shifted: int
    readout_in: int
    output_weight: int
    output_acc: int
    output: int


@dataclass(frozen=True)
class Scales:
    """Real value of one integer step of each tensor; for reporting only."""

    input: float = 1.0
    input_weight: float = 1.0
    input_acc: float = 1.0
    state: float = 1.0
    output_weight: float = 1.0
    output: float = 1.0


def _int_array(name: str, value, shape: tuple[int, ...]) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except Exception:  # ragged lists and the like
        raise _fail(name, "is not a rectangular array of integers") from None
    if arr.dtype == object or arr.size and not np.issubdtype(arr.dtype, np.integer):
        if arr.size and np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        elif arr.size:
            raise _fail(name, f"must hold integers, got {arr.dtype}")
    arr = arr.astype(np.int64).reshape(arr.shape)
    if arr.shape != shape:
        raise _fail(name, f"shape {arr.shape} does not match the expected {shape}")
    return arr


def _check_range(name: str, arr: np.ndarray, bits: int, signed: bool = True) -> None:
    if arr.size == 0:
        return
    lo, hi = W.signed_range(bits) if signed else (0, (1 << bits) - 1)
    bad = np.flatnonzero((arr < lo) | (arr > hi))
    if bad.size:
        idx = np.unravel_index(bad[0], arr.shape)
        raise _fail(name, f"value {int(arr[idx])} at index {tuple(int(i) for i in idx)} is "
                          f"outside its declared {bits}-bit range [{lo}, {hi}]")


def required_widths(ir_parts: dict) -> dict:
    """Widths each intermediate needs, from worst-case intervals of the declared ranges."""
    inp: InputSpec = ir_parts["input"]
    state_bits = ir_parts["state_bits"]
    k = ir_parts["block_size"].bit_length() - 1
    U, b = ir_parts["input_weight"], ir_parts["input_bias"]
    V, c = ir_parts["output_weight"], ir_parts["output_bias"]
    rq: Requant = ir_parts["requant"]
    if inp.kind == "token":
        a_lo, a_hi = W.table_interval(U, b)
        if inp.bias_only_tokens:  # an id outside the vocabulary drives a = b
            a_lo, a_hi = min(a_lo, int(np.min(b))), max(a_hi, int(np.max(b)))
    else:
        x_lo, x_hi = inp.range()
        a_lo, a_hi = W.matvec_interval(U, x_lo, x_hi, b)
    h_lo, h_hi = W.signed_range(state_bits)
    m = 1 << k
    # After the sign flip the rotated value ranges over +-m 2^(B_h-1): one bit more than FWHT.
    r_mag = m * (1 << (state_bits - 1))
    half = (1 << (rq.shift - 1)) if rq.shift > 0 else 0
    v_lo = -r_mag * rq.rotate_mult + min(a_lo * rq.input_mult, a_hi * rq.input_mult) + half
    v_hi = r_mag * rq.rotate_mult + max(a_lo * rq.input_mult, a_hi * rq.input_mult) + half
    z_hi = h_hi
    y_lo, y_hi = W.matvec_interval(V, 0, z_hi, c)
    out = {
        "input": inp.bits,
        "input_weight": W.signed_bits(int(np.min(U, initial=0)), int(np.max(U, initial=0))),
        "input_acc": W.signed_bits(a_lo, a_hi),
        "state": state_bits,
        "fwht": tuple(state_bits + j for j in range(1, k + 1)),
        "rotated": W.signed_bits(-r_mag, r_mag),
        "requant_sum": W.signed_bits(v_lo, v_hi),
        "shifted": W.signed_bits(v_lo >> rq.shift, v_hi >> rq.shift),
        "readout_in": state_bits - 1,
        "output_weight": W.signed_bits(int(np.min(V, initial=0)), int(np.max(V, initial=0))),
        "output_acc": W.signed_bits(y_lo, y_hi),
    }
    orq: OutputRequant | None = ir_parts["output_requant"]
    out["output"] = orq.bits if orq is not None else out["output_acc"]
    if orq is not None:
        ohalf = (1 << (orq.shift - 1)) if orq.shift > 0 else 0
        p_lo = min(y_lo * orq.mult, y_hi * orq.mult) + ohalf
        p_hi = max(y_lo * orq.mult, y_hi * orq.mult) + ohalf
        out["output_product"] = W.signed_bits(p_lo, p_hi)
    return out


@dataclass(frozen=True, eq=False)
class IntegerRNN:
    """A validated integer HadamRNN. Construct with `IntegerRNN.build` to derive widths."""

    hidden_size: int
    block_size: int
    output_size: int
    mode: str
    readout: str
    input: InputSpec
    signs: np.ndarray
    input_weight: np.ndarray
    input_bias: np.ndarray
    output_weight: np.ndarray
    output_bias: np.ndarray
    requant: Requant
    widths: Widths
    output_requant: OutputRequant | None = None
    scales: Scales = field(default_factory=Scales)
    meta: dict = field(default_factory=dict)

    # -- derived -------------------------------------------------------------------------
    @property
    def k(self) -> int:
        return self.block_size.bit_length() - 1

    @property
    def state_bits(self) -> int:
        return self.widths.state

    @property
    def state_range(self) -> tuple[int, int]:
        return W.signed_range(self.widths.state)

    # -- construction and validation -----------------------------------------------------
    @classmethod
    def build(cls, *, state_bits: int, widths: dict | None = None, **parts) -> IntegerRNN:
        """Construct with every width derived from worst-case intervals (or checked if given)."""
        parts = dict(parts)
        parts.setdefault("output_requant", None)
        inp = parts["input"]
        if isinstance(inp, dict):
            inp = parts["input"] = InputSpec(**inp)
        cls._check_structure(parts, state_bits)
        required = required_widths({**parts, "state_bits": state_bits})
        required.pop("output_product", None)
        chosen = dict(required) if widths is None else dict(widths)
        return cls(widths=Widths(**chosen), **parts)

    @staticmethod
    def _check_structure(parts: dict, state_bits: int) -> None:
        """Types and values of the scalar fields, and the array shapes.

        A file is checked against the JSON Schema first (hadamhw.ir.json_schema); these
        checks hold for IRs built in Python too, and add what a schema cannot say.
        """
        n, m, d_out = parts["hidden_size"], parts["block_size"], parts["output_size"]
        for name, value in (("hidden_size", n), ("block_size", m), ("output_size", d_out)):
            if not _is_int(value) or value < 1:
                raise _fail(name, f"must be a positive integer, got {value!r}")
        if m < 2 or m & (m - 1):
            raise _fail("block_size", f"{m} is not a power of two >= 2")
        if n % m:
            raise _fail("block_size", f"{m} does not divide hidden_size {n}")
        if parts["mode"] not in ("linear", "vanilla"):
            raise _fail("mode", f"must be 'linear' or 'vanilla', got {parts['mode']!r}")
        if parts["readout"] not in ("every", "last"):
            raise _fail("readout", f"must be 'every' or 'last', got {parts['readout']!r}")
        if not _is_int(state_bits) or not 2 <= state_bits <= 48:
            raise _fail("widths.state", f"must be an integer in [2, 48], got {state_bits!r}")
        inp: InputSpec = parts["input"]
        if inp.kind not in ("int", "token"):
            raise _fail("input.kind", f"must be 'int' or 'token', got {inp.kind!r}")
        if not _is_int(inp.size) or inp.size < 1:
            raise _fail("input.size", f"must be a positive integer, got {inp.size!r}")
        if not _is_int(inp.bits) or not 1 <= inp.bits <= 32:
            raise _fail("input.bits", f"must be an integer in [1, 32], got {inp.bits!r}")
        if not isinstance(inp.signed, (bool, np.bool_)):
            raise _fail("input.signed", f"must be a boolean, got {show(inp.signed)}")
        if not _is_scale(inp.scale):
            raise _fail("input.scale", f"must be a positive finite number, got {show(inp.scale)}")
        if inp.kind == "token" and (1 << inp.bits) < inp.size:
            raise _fail("input.bits", f"{inp.bits} bits cannot index {inp.size} tokens")
        if inp.kind == "token" and inp.signed:
            raise _fail("input.signed", "token ids are unsigned: must be false for input "
                                        "kind 'token'")
        if inp.kind == "int" and inp.signed and inp.bits < 2:
            raise _fail("input.bits", "a signed input needs at least 2 bits")
        signs = parts["signs"] = _int_array("signs", parts["signs"], (n,))
        if not np.all(np.abs(signs) == 1):
            bad = int(np.flatnonzero(np.abs(signs) != 1)[0])
            raise _fail("signs", f"entry {bad} is {int(signs[bad])}, not +1 or -1")
        parts["input_weight"] = _int_array("input_weight", parts["input_weight"], (n, inp.size))
        parts["input_bias"] = _int_array("input_bias", parts["input_bias"], (n,))
        parts["output_weight"] = _int_array("output_weight", parts["output_weight"], (d_out, n))
        parts["output_bias"] = _int_array("output_bias", parts["output_bias"], (d_out,))
        rq = parts["requant"]
        if isinstance(rq, dict):
            rq = parts["requant"] = Requant(**rq)
        for name in ("rotate_mult", "input_mult", "shift"):
            value = getattr(rq, name)
            if not _is_int(value) or value < 0:
                raise _fail(f"requant.{name}", f"must be a non-negative integer, got {value!r}")
        if rq.shift > 60:
            raise _fail("requant.shift", f"{rq.shift} is larger than 60")
        orq = parts.get("output_requant")
        if isinstance(orq, dict):
            orq = parts["output_requant"] = OutputRequant(**orq)
        if orq is not None:
            for name in ("mult", "shift", "bits"):
                value = getattr(orq, name)
                if not _is_int(value) or value < 0:
                    raise _fail(f"output_requant.{name}",
                                f"must be a non-negative integer, got {value!r}")
            if orq.shift > 60:
                raise _fail("output_requant.shift", f"{orq.shift} is larger than 60")
            if not 2 <= orq.bits <= 48:
                raise _fail("output_requant.bits", f"must be in [2, 48], got {orq.bits}")
        if isinstance(parts.get("scales"), dict):
            parts["scales"] = Scales(**parts["scales"])
        scales = parts.get("scales")
        if scales is not None:
            for f in fields(Scales):
                if not _is_scale(getattr(scales, f.name)):
                    raise _fail(f"scales.{f.name}", "must be a positive finite number, got "
                                                    f"{show(getattr(scales, f.name))}")
        meta = parts.get("meta")
        if meta is not None and not isinstance(meta, dict):
            raise _fail("meta", f"must be an object, got {show(meta)}")
        if meta and _nesting(meta) > MAX_META_DEPTH:
            raise _fail("meta", f"is nested more than {MAX_META_DEPTH} levels deep")

    def __post_init__(self) -> None:
        parts = {f.name: getattr(self, f.name) for f in fields(self)}
        self._check_structure(parts, self.widths.state)
        for name in ("signs", "input_weight", "input_bias", "output_weight", "output_bias",
                     "input", "requant", "output_requant", "scales"):
            object.__setattr__(self, name, parts[name])
        declared = self.widths
        for f in fields(Widths):
            values = declared.fwht if f.name == "fwht" else (getattr(declared, f.name),)
            if (not isinstance(values, (tuple, list)) or not values
                    or not all(_is_int(v) and 1 <= v <= MAX_DECLARED_WIDTH for v in values)):
                raise _fail(f"widths.{f.name}", f"must be integer(s) in [1, "
                                                f"{MAX_DECLARED_WIDTH}], got {values!r}")
        required = required_widths({**parts, "state_bits": self.widths.state})
        if len(declared.fwht) != self.k:
            raise _fail("widths.fwht", f"has {len(declared.fwht)} stages, block size "
                                       f"{self.block_size} needs {self.k}")
        for name, need in required.items():
            if name == "output_product":
                continue  # checked by the golden model's int64 limit, not a declared width
            have = getattr(declared, name)
            if name == "fwht":
                for j, (h, r) in enumerate(zip(have, need, strict=True)):
                    if h < r:
                        raise _fail(f"widths.fwht[{j}]", f"{h} bits cannot hold stage {j + 1} "
                                                         f"of the transform, which needs {r}")
                continue
            if name in ("state", "input") and have != need:
                raise _fail(f"widths.{name}", f"is {have}, inconsistent with {need}")
            if have < need:
                raise _fail(f"widths.{name}", f"{have} bits cannot hold what feeds it "
                                              f"(worst case needs {need})")
        if self.input.kind == "int":
            _check_range("input_weight", self.input_weight, declared.input_weight)
        _check_range("output_weight", self.output_weight, declared.output_weight)

    # -- JSON ----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        w = self.widths
        return {
            "format": FORMAT,
            "version": VERSION,
            "hidden_size": self.hidden_size,
            "block_size": self.block_size,
            "output_size": self.output_size,
            "mode": self.mode,
            "readout": self.readout,
            "input": {"kind": self.input.kind, "size": self.input.size, "bits": self.input.bits,
                      "signed": self.input.signed, "scale": self.input.scale},
            "signs": self.signs.tolist(),
            "input_weight": self.input_weight.tolist(),
            "input_bias": self.input_bias.tolist(),
            "output_weight": self.output_weight.tolist(),
            "output_bias": self.output_bias.tolist(),
            "requant": {"rotate_mult": self.requant.rotate_mult,
                        "input_mult": self.requant.input_mult, "shift": self.requant.shift},
            "output_requant": None if self.output_requant is None else {
                "mult": self.output_requant.mult, "shift": self.output_requant.shift,
                "bits": self.output_requant.bits},
            "widths": {f.name: (list(getattr(w, f.name)) if f.name == "fwht"
                                else getattr(w, f.name)) for f in fields(w)},
            "scales": {f.name: getattr(self.scales, f.name) for f in fields(self.scales)},
            "meta": self.meta,
        }

    def to_json(self) -> str:
        return _dump(self.to_dict()) + "\n"

    @classmethod
    def from_dict(cls, data: dict) -> IntegerRNN:
        """An IR from its parsed JSON: the schema first, then the semantic checks."""
        if not isinstance(data, dict):
            raise HadamhwError(f"IR: the top level must be a JSON object, got {show(data)}")
        # Format and version first: a file of another kind or version would otherwise be
        # reported by its first field that this version does not know.
        if data.get("format") != FORMAT:
            raise _fail("format", f"expected '{FORMAT}', got {show(data.get('format'))}")
        if data.get("version") != VERSION or not _is_int(data.get("version")):
            raise _fail("version", f"version {show(data.get('version'))} is not supported "
                                   f"(this hadamhw reads version {VERSION})")
        problem = first_error("ir", data, _FAST_ARRAYS,
                              unknown=f"is not a field of IR version {VERSION}")
        if problem is not None:
            raise _fail(*problem)
        wd = dict(data["widths"])
        wd["fwht"] = tuple(wd["fwht"])
        scales = {name: float(value) for name, value in data.get("scales", {}).items()}
        inp = dict(data["input"])
        if "scale" in inp:
            inp["scale"] = float(inp["scale"])
        orq = data.get("output_requant")
        return cls(hidden_size=data["hidden_size"], block_size=data["block_size"],
                   output_size=data["output_size"], mode=data["mode"], readout=data["readout"],
                   input=InputSpec(**inp), signs=data["signs"],
                   input_weight=data["input_weight"], input_bias=data["input_bias"],
                   output_weight=data["output_weight"], output_bias=data["output_bias"],
                   requant=Requant(**data["requant"]), widths=Widths(**wd),
                   output_requant=None if orq is None else OutputRequant(**orq),
                   scales=Scales(**scales), meta=dict(data.get("meta", {})))

    @classmethod
    def from_json(cls, text: str) -> IntegerRNN:
        return cls.from_dict(parse_json(text, "IR"))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> IntegerRNN:
        path = Path(path)
        if not path.is_file():
            raise HadamhwError(f"{path}: no such IR file")
        try:
            return cls.from_json(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise HadamhwError(f"{path}: not an IR file (not UTF-8 text)") from None
        except OSError as exc:
            raise HadamhwError(f"{path}: cannot read ({exc.strerror or exc})") from None
        except HadamhwError as exc:
            raise HadamhwError(f"{path}: {exc}") from None

    def equals(self, other: IntegerRNN) -> bool:
        return self.to_json() == other.to_json()


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def parse_json(text: str, what: str):
    """json.loads, with every failure (NaN and Infinity included) one HadamhwError line."""
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise HadamhwError(f"{what}: not valid JSON (nested too deeply)") from None
    except ValueError as exc:  # JSONDecodeError is a ValueError
        raise HadamhwError(f"{what}: not valid JSON ({exc})") from None


def _dump(obj, indent: int = 0) -> str:
    """Stable JSON: objects one key per line, arrays of numbers on one line per row."""
    pad = "  " * (indent + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{pad}{json.dumps(str(k))}: {_dump(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    if isinstance(obj, (list, tuple)):
        if obj and all(isinstance(v, (list, tuple)) for v in obj):
            rows = [pad + json.dumps(list(v), separators=(",", ":")) for v in obj]
            return "[\n" + ",\n".join(rows) + "\n" + "  " * indent + "]"
        return json.dumps(list(obj), separators=(",", ":"))
    if isinstance(obj, float) and not math.isfinite(obj):
        raise HadamhwError(f"IR: cannot store non-finite number {obj}")
    return json.dumps(obj)
