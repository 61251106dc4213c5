"""Reading a solver's trace: the value of each top-level input in each solver step.

Two sources, the same answer: the Yosys witness trace (`trace.yw`, JSON, which sby writes
beside every VCD) and the VCD itself (a small tokenizer over its header and value changes;
used when no witness is there). Both give a list with one {port: unsigned value} per step;
bits the solver left open ('?', 'x', 'z') read as 0, the value a replay drives for them.
"""

from __future__ import annotations

import json
from pathlib import Path

from hadamhw.errors import HadamhwError

WITNESS_FORMAT = "Yosys Witness Trace"
STEP_VARIABLE = "smt_step"  # the integer variable smtbmc's VCD counts its steps in


def _bit_value(bits: str) -> int:
    """An MSB-first bit string as an unsigned integer; open bits are 0."""
    return int("".join("1" if b == "1" else "0" for b in bits) or "0", 2)


def read_witness(path: str | Path) -> list[dict[str, int]]:
    """Per solver step, {top-level signal: value} from a Yosys witness trace.

    The witness lists its signals once; each step's `bits` string holds the signals' bits
    concatenated, signal 0's least significant bit last (the string is MSB first). Step 0
    carries every signal, later steps those that are not `init_only` (the inputs).
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise HadamhwError(f"{path}: not a readable witness trace ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != WITNESS_FORMAT:
        raise HadamhwError(f"{path}: not a Yosys witness trace (field 'format')")
    signals = doc.get("signals", [])
    steps = []
    for k, step in enumerate(doc.get("steps", [])):
        present = [s for s in signals if k == 0 or not s.get("init_only")]
        steps.append(_step_values(present, step["bits"][::-1], path, k))
    return steps


def _step_values(signals: list[dict], bits_lsb_first: str, path: Path, k: int) -> dict[str, int]:
    values: dict[str, int] = {}
    pos = 0
    for sig in signals:
        width = int(sig["width"])
        chunk = bits_lsb_first[pos:pos + width]
        pos += width
        if len(sig["path"]) != 1:
            continue  # inside a module: not an input the replay drives
        if len(chunk) != width:
            raise HadamhwError(f"{path}: step {k} has fewer bits than its signals")
        name = sig["path"][0].lstrip("\\")
        offset = int(sig.get("offset", 0))
        values[name] = values.get(name, 0) | (_bit_value(chunk[::-1]) << offset)
    return values


def _tokens(text: str):
    return iter(text.split())


def _skip_to_end(tokens) -> list[str]:
    out = []
    for tok in tokens:
        if tok == "$end":
            return out
        out.append(tok)
    raise HadamhwError("a VCD section has no $end")


def _vcd_header(tokens) -> dict[str, list[str]]:
    """{identifier code: [dotted signal names]} from the declarations."""
    scope: list[str] = []
    codes: dict[str, list[str]] = {}
    for tok in tokens:
        if tok == "$scope":
            scope.append(_skip_to_end(tokens)[1])
        elif tok == "$upscope":
            _skip_to_end(tokens)
            scope.pop()
        elif tok == "$var":
            _kind, _width, code, name, *_ = _skip_to_end(tokens)
            codes.setdefault(code, []).append(".".join([*scope, name]))
        elif tok == "$enddefinitions":
            _skip_to_end(tokens)
            return codes
        elif tok.startswith("$"):
            _skip_to_end(tokens)
    raise HadamhwError("a VCD without $enddefinitions")


def read_vcd(path: str | Path) -> list[tuple[int, dict[str, int]]]:
    """(time, {dotted signal name: value}) after the changes of every timestamp.

    Scalars (`1!`), vectors (`b101 n3`) and reals (`r1.5 n4`, read as their integer part);
    `$dumpvars` and similar blocks are read as value changes.
    """
    path = Path(path)
    try:
        tokens = _tokens(path.read_text())
        codes = _vcd_header(tokens)
    except OSError as exc:
        raise HadamhwError(f"{path}: not a readable VCD ({exc})") from None
    except HadamhwError as exc:
        raise HadamhwError(f"{path}: {exc}") from None
    current: dict[str, int] = {}
    out: list[tuple[int, dict[str, int]]] = []
    time = None
    for tok in tokens:
        if tok.startswith("#"):
            if time is not None:
                out.append((time, dict(current)))
            time = int(tok[1:])
        elif tok[0] in "bBrR":
            code = next(tokens, None)
            value = _bit_value(tok[1:]) if tok[0] in "bB" else int(float(tok[1:]))
            for name in codes.get(code, ()):
                current[name] = value
        elif tok[0] in "01xXzZ" and len(tok) > 1:
            for name in codes.get(tok[1:], ()):
                current[name] = 1 if tok[0] == "1" else 0
        # $dumpvars, $end, $comment bodies: nothing to record
    if time is not None:
        out.append((time, dict(current)))
    return out


def vcd_steps(path: str | Path) -> list[dict[str, int]]:
    """Per solver step, {top-level signal: value} from smtbmc's VCD: the snapshot where its
    step counter (`smt_step`) first shows each step, top-level names without the scope."""
    steps: list[dict[str, int]] = []
    for _, values in read_vcd(path):
        step = next((v for k, v in values.items() if k.split(".")[-1] == STEP_VARIABLE
                     and k.count(".") == 0), None)
        if step is None:
            raise HadamhwError(f"{path}: no {STEP_VARIABLE} variable (not an smtbmc trace)")
        if step == len(steps):
            steps.append({k.split(".", 1)[1]: v for k, v in values.items() if k.count(".") == 1})
    return steps


def trace_steps(vcd: str | Path) -> list[dict[str, int]]:
    """The steps of a solver trace: from the witness beside the VCD (trace.yw for
    trace.vcd), else from the VCD."""
    witness = Path(vcd).with_suffix(".yw")
    return read_witness(witness) if witness.is_file() else vcd_steps(vcd)
