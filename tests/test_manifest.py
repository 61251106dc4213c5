"""read_design_manifest: every way a design folder can be wrong is a one-line error."""

import json

import pytest

from hadamhw.design import read_design_manifest
from hadamhw.errors import HadamhwError


def _write(folder, **fields):
    folder.mkdir(parents=True, exist_ok=True)
    data = {"format": "hadamhw-design", "target": "verilog", "top": "t",
            "hdl_files": ["t.v"], **fields}
    (folder / "manifest.json").write_text(json.dumps(data))
    return folder


def test_reads_a_valid_manifest(tmp_path):
    folder = _write(tmp_path / "d")
    (folder / "t.v").write_text("module t; endmodule\n")
    man = read_design_manifest(folder, target="verilog", fields=("top",),
                               file_fields=("hdl_files",))
    assert man["top"] == "t"


@pytest.mark.parametrize("case, match", [
    ("no-folder", "no such design folder"),
    ("no-manifest", "no manifest.json"),
    ("bad-json", "not valid JSON"),
    ("foreign", "not a hadamhw design manifest"),
    ("other-target", "target is 'hls'; the check needs a design generated with --target "
                     "verilog"),
    ("missing-field", "field 'top': is missing"),
    ("missing-file", "file 't.v' named in manifest.json \\('hdl_files'\\) is missing"),
    ("bad-file-list", "field 'hdl_files': must have at least 1 entries, got 0"),
    ("file-outside", "field 'hdl_files\\[0\\]': must be a file name inside the design "
                     "folder: relative, no '..' part, got \"../t.v\""),
    ("absolute-file", "field 'hdl_files\\[0\\]': must be a file name inside"),
    ("string-width", "field 'input.word_bits': must be an integer, got \"4\""),
    ("bool-words", "field 'output.words': must be an integer, got true"),
    ("bad-readout", "field 'readout': must be one of \"every\", \"last\", got \"sometimes\""),
    ("bad-version", "field 'version': must be 1, got 2"),
    ("ports-junk", "field 'ports\\[0\\].width': must be an integer, got null"),
    ("width-junk", "field 'widths.state': has none of its allowed forms, got \"12\""),
    ("nan", "not valid JSON \\(NaN is not a JSON number\\)"),
    ("list", "not a hadamhw design manifest"),
    ("binary", "not a hadamhw design manifest \\(not UTF-8 text\\)"),
])
def test_errors_name_the_problem(tmp_path, case, match):
    folder = tmp_path / "d"
    if case == "no-manifest":
        folder.mkdir()
    elif case == "bad-json":
        folder.mkdir()
        (folder / "manifest.json").write_text("{")
    elif case == "foreign":
        _write(folder, format="something-else")
    elif case == "other-target":
        _write(folder, target="hls")
    elif case == "missing-field":
        _write(folder)
        data = json.loads((folder / "manifest.json").read_text())
        del data["top"]
        (folder / "manifest.json").write_text(json.dumps(data))
    elif case == "missing-file":
        _write(folder)
    elif case == "bad-file-list":
        _write(folder, hdl_files=[])
    elif case == "file-outside":
        _write(folder, hdl_files=["../t.v"])
    elif case == "absolute-file":
        _write(folder, hdl_files=["/etc/passwd"])
    elif case == "string-width":
        _write(folder, input={"words": 1, "word_bits": "4"})
    elif case == "bool-words":
        _write(folder, output={"words": True, "word_bits": 8})
    elif case == "bad-readout":
        _write(folder, readout="sometimes")
    elif case == "bad-version":
        _write(folder, version=2)
    elif case == "width-junk":
        _write(folder, widths={"state": "12"})
    elif case == "ports-junk":
        _write(folder, ports=[{"name": "clk", "direction": "input", "width": None}])
    elif case in ("nan", "list", "binary"):
        folder.mkdir()
        text = {"nan": '{"format": "hadamhw-design", "cycles_per_step": NaN}',
                "list": "[1, 2]", "binary": None}[case]
        path = folder / "manifest.json"
        path.write_text(text) if text else path.write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(HadamhwError, match=match) as info:
        read_design_manifest(folder, target="verilog", purpose="the check", fields=("top",),
                             file_fields=("hdl_files",))
    assert "\n" not in str(info.value)
