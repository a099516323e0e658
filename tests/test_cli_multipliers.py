"""gen/cmd_multipliers.py and gen/cmd_demo.py: ``axmac multipliers list | characterize`` and ``axmac demo``."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from axmac.gen.cli import main
from axmac.golden.metrics import METRIC_KEYS, error_metrics
from axmac.golden.multipliers import families, make_multiplier


def _run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def _bad(capsys, *argv):
    rc, out, err = _run(capsys, *argv)
    assert rc == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("axmac: error: "), err
    assert "Traceback" not in err + out
    return lines[0]


def test_list_names_every_family(capsys):
    rc, out, _ = _run(capsys, "multipliers", "list")
    assert rc == 0
    listed = [ln.split()[0].split(":")[0] for ln in out.strip().splitlines()]
    assert sorted(listed) == sorted(families())
    rc, out, _ = _run(capsys, "multipliers", "list", "--json")
    rows = json.loads(out)
    assert sorted(r["family"] for r in rows) == sorted(families())
    assert {r["family"]: r["param"] for r in rows}["exact"] is None


@pytest.mark.parametrize("spec,bits,sign", [("exact", 6, "--signed"), ("trunc:2", 7, "--unsigned"),
                                            ("mitchell", 8, "--signed"), ("drum:4", 12, "--unsigned")])
def test_characterize_json_equals_golden_metrics(capsys, spec, bits, sign):
    rc, out, _ = _run(capsys, "multipliers", "characterize", spec, "--bits", str(bits), sign, "--json", "--no-hw",
                      "--samples", "20000", "--seed", "5")
    assert rc == 0
    got = json.loads(out)
    ref = error_metrics(make_multiplier(spec, bits, sign == "--signed"), samples=20000, seed=5)
    for k in METRIC_KEYS:
        assert got[k] == pytest.approx(ref[k], rel=1e-12), k
    for k in ("pairs", "exhaustive", "bits", "signed", "spec"):
        assert got[k] == ref[k], k
    assert got["exhaustive"] == (bits <= 10)
    assert got["gates"] is None and got["hw"] is None


def test_characterize_exhaustive_flag(capsys):
    rc, out, _ = _run(capsys, "multipliers", "characterize", "trunc:3", "--bits", "11", "--unsigned", "--json",
                      "--no-hw", "--exhaustive")
    got = json.loads(out)
    v = np.arange(1 << 11)
    t = (v >> 3) << 3  # trunc:3 zeroes the 3 LSBs of both operands
    e = np.outer(t, t) - np.outer(v, v)
    assert rc == 0 and got["exhaustive"] is True and got["pairs"] == 1 << 22
    assert got["wce"] == np.abs(e).max() and got["mae"] == pytest.approx(np.abs(e).mean(), rel=1e-12)


def test_characterize_text(capsys):
    rc, out, _ = _run(capsys, "multipliers", "characterize", "exact", "--bits", "5", "--no-hw")
    assert rc == 0 and "exact  5-bit signed  (exhaustive, 1024 pairs)" in out and "MAE 0" in out


@pytest.mark.synth
def test_characterize_with_hardware(capsys):
    rc, out, _ = _run(capsys, "multipliers", "characterize", "exact", "--bits", "4", "--json")
    assert rc == 0
    got = json.loads(out)
    assert got["gates"] > 16 and got["transistors"] > got["gates"]
    assert got["lut4"] > 0 and got["lc"] >= got["lut4"] and got["fmax_mhz"] > 0
    assert got["hw"]["generic"]["registered"] is False and got["hw"]["ice40"]["dff"] == 16
    rc, out, _ = _run(capsys, "multipliers", "characterize", "exact", "--bits", "4", "--json", "--target", "generic")
    got = json.loads(out)
    assert got["gates"] > 16 and got["lut4"] is None and set(got["hw"]) == {"generic"}


@pytest.mark.parametrize("argv,needle", [
    (["foo"], "unknown multiplier family 'foo'"),
    (["trunc:x"], "integer"),
    (["trunc"], "needs a parameter"),
    (["exact:3"], "takes no parameter"),
    (["exact", "--bits", "1"], "out of range"),
    (["exact", "--bits", "17"], "out of range"),
    (["exact", "--bits", "eight"], "argument --bits: expected an operand width in bits, not 'eight'"),
    (["exact", "--signed", "--unsigned"], "not allowed with argument"),
    (["exact", "--seed", "-1"], "argument --seed"),
    (["exact", "--samples", str(10**30)], "argument --samples"),
    (["exact", "--samples", "0"], "--samples"),
    (["lut:/nonexistent/table.npy"], "not found"),
])
def test_characterize_bad_input(capsys, argv, needle):
    line = _bad(capsys, "multipliers", "characterize", *argv, "--no-hw")
    assert needle in line


def test_characterize_bad_lut_files(capsys, tmp_path):
    text = tmp_path / "text.npy"
    text.write_text("not a numpy file\n")
    assert "cannot read" in _bad(capsys, "multipliers", "characterize", f"lut:{text}", "--no-hw")
    rect = tmp_path / "rect.npy"
    np.save(rect, np.zeros((256, 128), dtype=np.int64))
    assert "square" in _bad(capsys, "multipliers", "characterize", f"lut:{rect}", "--no-hw")
    small = tmp_path / "small.npy"
    np.save(small, np.zeros((16, 16), dtype=np.int64))
    assert "operand width is 8" in _bad(capsys, "multipliers", "characterize", f"lut:{small}", "--no-hw")
    big = tmp_path / "big.npy"
    np.save(big, np.full((16, 16), 1000, dtype=np.int64))
    assert "outside" in _bad(capsys, "multipliers", "characterize", f"lut:{big}", "--bits", "4", "--no-hw")


def test_lut_of_a_table_has_that_multipliers_metrics(capsys, tmp_path):
    path = tmp_path / "bam.npy"
    np.save(path, make_multiplier("bam:5", 6, True).table())
    rc, out, _ = _run(capsys, "multipliers", "characterize", f"lut:{path}", "--bits", "6", "--json", "--no-hw")
    got = json.loads(out)
    ref = error_metrics(make_multiplier("bam:5", 6, True))
    assert rc == 0 and all(got[k] == ref[k] for k in METRIC_KEYS)


@pytest.mark.rtl  # the verilog: row is tabulated by a Verilator build
def test_demo_rows(capsys, tmp_path):
    rc, out, err = _run(capsys, "demo", "--no-hw", "--json", "--out-dir", str(tmp_path))
    assert rc == 0, err
    rows = {r["spec"].split(":")[0]: r for r in json.loads(out)}
    assert set(rows) == {"exact", "trunc", "bam", "mitchell", "mitchw", "drum", "lut", "verilog"}
    assert all(rows["exact"][k] == 0 for k in METRIC_KEYS)
    # the lut row is DRUM-4's own table: identical figures
    assert all(rows["lut"][k] == rows["drum"][k] for k in METRIC_KEYS)
    # the demo Verilog clears the 4 low bits of the exact product: error in (-16, 0], two's complement
    e = np.outer(np.arange(-128, 128), np.arange(-128, 128))
    approx = e & ~15
    assert rows["verilog"]["wce"] == np.abs(approx - e).max() == 15
    assert rows["verilog"]["mae"] == pytest.approx(np.abs(approx - e).mean(), rel=1e-12)
    assert all(r["exhaustive"] and r["pairs"] == 65536 for r in rows.values())


@pytest.mark.rtl
def test_demo_text(capsys, tmp_path):
    rc, out, _ = _run(capsys, "demo", "--no-hw", "--out-dir", str(tmp_path))
    assert rc == 0
    header = next(ln for ln in out.splitlines() if ln.startswith("spec"))
    assert header.split()[:3] == ["spec", "MAE", "WCE"]
    assert sum(ln.startswith(("exact ", "drum:4 ", "mitchell ")) for ln in out.splitlines()) == 3


SIGNED_PORTS = """module m4s (input signed [3:0] a, input signed [3:0] b, output signed [7:0] p);
    assign p = a * b;
endmodule
"""
PLAIN_PORTS = """module m4u (input [3:0] a, input [3:0] b, output [7:0] p);
    assign p = a * b;
endmodule
"""


@pytest.mark.rtl  # tabulated by a Verilator build
@pytest.mark.parametrize("source,flag,signed,warns", [
    (PLAIN_PORTS, None, False, False), (SIGNED_PORTS, None, True, False),
    (PLAIN_PORTS, "--unsigned", False, False), (SIGNED_PORTS, "--signed", True, False),
    (PLAIN_PORTS, "--signed", True, True), (SIGNED_PORTS, "--unsigned", False, True)])
def test_verilog_signedness_from_its_ports(capsys, tmp_path, source, flag, signed, warns):
    """Without --signed/--unsigned a verilog: module takes the signedness its ports declare
    (undeclared = unsigned, Verilog's rule); an explicit flag that disagrees wins, with a warning.
    Both modules compute a * b in Verilog's own arithmetic, so each is exact in its own signedness
    and (two's-complement wraparound aside) wrong in the other."""
    path = tmp_path / "m.v"
    path.write_text(source)
    rc, out, err = _run(capsys, "multipliers", "characterize", f"verilog:{path}", "--bits", "4", "--no-hw", "--json",
                        *([flag] if flag else []))
    assert rc == 0, err
    got = json.loads(out)
    assert got["signed"] is signed
    assert (got["mae"] == 0) == (("signed" in source) == signed)
    lines = err.strip().splitlines()
    assert len(lines) == int(warns) and all(ln.startswith("axmac: warning: ") for ln in lines), err


def test_characterize_help_lists_every_spec_form(capsys):
    with pytest.raises(SystemExit):
        main(["multipliers", "characterize", "--help"])
    out = capsys.readouterr().out
    assert "verilog:FILE[:TOP]" in out and "lut:FILE.npy" in out
    for name, cls in families().items():
        assert (f"{name}:" if cls.param else f"  {name} ") in out, name


def test_subprocess_exit_codes():
    exe = Path(sys.executable).parent / "axmac"
    ok = subprocess.run([exe, "multipliers", "list"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "exact" in ok.stdout
    bad = subprocess.run([exe, "multipliers", "characterize", "nosuch:3", "--no-hw"], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip().splitlines() == ["axmac: error: unknown multiplier family 'nosuch' (known: "
                                               + ", ".join(sorted(families())) + ")"]
