"""``axmac generate`` (gen/cmd_generate.py, gen/generate.py, gen/array_options.py, constraints/).

The written folder must be complete and self-describing: the Verilog (plus any imported
multiplier and the ICG cell) passes Verilator ``--lint-only -Wall`` with only the warning kinds
every Amaranth design gets (tests/test_top_verilator.py), ``manifest.json`` holds the whole
configuration (read back equal), every port with the payload layout of docs/array.md and the
latencies of the cycle contract, and the constraints carry the clock. Bad input: one line, exit
code 2, nothing written.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from axmac.config import OUTPUT_STAGES, ArrayConfig, load_config
from axmac.gen import cli
from axmac.golden.array_payload import stream_layouts
from axmac.sim.runner import tool_env, verilator_bin_dir

from .test_top_verilator import AMARANTH_STYLE

DATA = Path(__file__).parent / "data"


def generate(out: Path, *opts: str) -> tuple[int, str, str]:
    import contextlib
    import io

    o, e = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
        rc = cli.main(["generate", *opts, "--out-dir", str(out)])
    return rc, o.getvalue(), e.getvalue()


def lint(folder: Path, files: list[str]) -> list[str]:
    """Verilator ``--lint-only -Wall`` warnings other than the Amaranth-style kinds."""
    tool_env()
    top = json.loads((folder / "manifest.json").read_text())["top"]
    r = subprocess.run([str(verilator_bin_dir() / "verilator"), "--lint-only", "-Wall", "--top-module", top,
                        *files], cwd=folder, capture_output=True, text=True)
    kinds = [ln for ln in r.stderr.splitlines() if ln.startswith("%") and not ln.startswith("%Error: Exiting")]
    return [ln for ln in kinds if not any(ln.startswith(f"%Warning-{k}:") for k in AMARANTH_STYLE)]


# (options, what the configuration must read back as): one ws and one os design, covering
# unsigned / signed operands, saturate / wrap, an imported Verilog multiplier and the ICG cell.
DESIGNS = {
    "ws_u4_icg": (["--rows", "2", "--cols", "3", "--bits", "4", "--unsigned", "--acc-bits", "12", "--overflow",
                   "saturate", "--gating", "icg", "--bypass", "zero,one", "--multiplier", "drum:3",
                   "--clock-mhz", "250", "--acc-depth", "32"],
                  dict(rows=2, cols=3, bits=4, signed=False, acc_bits=12, overflow="saturate", gating="icg",
                       bypass="zero,one", multiplier="drum:3", clock_mhz=250.0, acc_depth=32)),
    "os_verilog": (["--rows", "3", "--cols", "2", "--dataflow", "os", "--multiplier",
                    f"verilog:{DATA / 'approx_mul8_s.v'}", "--counters", "none", "--top", "my_array"],
                   dict(rows=3, cols=2, dataflow="os", multiplier=f"verilog:{DATA / 'approx_mul8_s.v'}",
                        counters="none")),
}


@pytest.fixture(scope="module", params=sorted(DESIGNS))
def design(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param)
    opts, want = DESIGNS[request.param]
    rc, stdout, stderr = generate(out, *opts)
    assert rc == 0, stderr
    return out, ArrayConfig(**want), stdout


def test_files_and_manifest(design):
    out, cfg, stdout = design
    man = json.loads((out / "manifest.json").read_text())
    top = man["top"]
    assert ArrayConfig.from_dict(man["config"]) == cfg
    for name, digest in man["files"]["sha256"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
        assert f"wrote {out / name}" in stdout
    assert f"{top}.v" in man["files"]["verilog"]
    if cfg.multiplier.startswith("verilog:"):  # the imported module travels with the design
        assert "approx_mul8_s.v" in man["files"]["verilog"]
    if cfg.gating == "icg":
        assert len(man["files"]["verilog"]) == 2 and "module" in (out / man["files"]["verilog"][1]).read_text()
    ports = {p["name"]: p for p in man["ports"]}
    lay = stream_layouts(cfg)
    for s in ("cmd", "w", "a", "qp", "o"):
        assert ports[s]["width"] == lay[s].width and ports[s]["verilog"]["payload"] == f"{s}__payload"
        assert [f["name"] for f in ports[s]["fields"]] == [f.name for f in lay[s].leaves]
    assert ports["o"]["direction"] == "out" and ports["a"]["direction"] == "in"
    assert ("counters" in ports) == (cfg.counters == "pe")
    if "counters" in ports:
        assert ports["counters"]["width"] == cfg.pes * 7 * 32
    verilog = (out / f"{top}.v").read_text()
    for p in man["ports"]:
        names = p["verilog"].values() if "verilog" in p else [p["name"]]
        assert all(n in verilog for n in names)
    t = man["timing"]
    R, C = cfg.rows, cfg.cols
    assert t["result_latency"] == (R + C + OUTPUT_STAGES if cfg.dataflow == "ws" else 2 * R + C + OUTPUT_STAGES)
    assert t["fifo_depth"] == cfg.fifo_depth == man["derived"]["fifo_depth"]


def test_constraints(design):
    out, cfg, _ = design
    man = json.loads((out / "manifest.json").read_text())
    c = {k: (out / v).read_text() for k, v in man["files"]["constraints"].items()}
    period = 1000 / cfg.clock_mhz
    assert f"create_clock -name clk -period {period:.4f} [get_ports clk]" in c["sdc"]
    assert "set_io clk J3" in c["pcf"]
    assert f'FREQUENCY PORT "clk" {cfg.clock_mhz:g} MHZ;' in c["lpf"] and 'LOCATE COMP "clk" SITE "P6";' in c["lpf"]
    assert all("$" not in text for text in c.values())  # every placeholder filled in


def test_lint(design):
    out, _, _ = design
    man = json.loads((out / "manifest.json").read_text())
    assert lint(out, man["files"]["verilog"]) == []


def test_config_file_merged_with_options(tmp_path, capsys):
    f = tmp_path / "a.toml"
    f.write_text(ArrayConfig(rows=3, cols=5, dataflow="os", gating="enable", bits=6).to_toml())
    assert cli.main(["generate", "--config", str(f), "--cols", "2", "--json", "--out-dir", str(tmp_path / "o")]) == 0
    man = json.loads(capsys.readouterr().out)
    assert man["config"] == ArrayConfig(rows=3, cols=2, dataflow="os", gating="enable", bits=6).to_dict()
    assert load_config(tmp_path / "a.toml").cols == 5  # the file itself is only read
    assert cli.main(["generate", "--preset", "tiny", "--json", "--out-dir", str(tmp_path / "p")]) == 0
    assert json.loads(capsys.readouterr().out)["config"]["rows"] == 4
    # a manifest.json written by generate is a configuration file too
    assert cli.main(["generate", "--config", str(tmp_path / "o" / "manifest.json"), "--json", "--bits", "4",
                     "--out-dir", str(tmp_path / "q")]) == 0
    assert json.loads(capsys.readouterr().out)["config"] == ArrayConfig(rows=3, cols=2, dataflow="os",
                                                                        gating="enable", bits=4).to_dict()


BAD = {
    "zero rows": (["--rows", "0"], "--rows: 0 is out of range (1..64)"),
    "65 rows": (["--rows", "65"], "--rows: 65 is out of range (1..64)"),
    "narrow accumulator": (["--bits", "8", "--acc-bits", "15"], "acc_bits 15 is narrower than a 16-bit product"),
    "saturate needs a bit more": (["--acc-bits", "16", "--overflow", "saturate"], "use at least 17"),
    "unknown dataflow": (["--dataflow", "xs"], "invalid choice: 'xs'"),
    "unknown multiplier": (["--multiplier", "nope:3"], "--multiplier nope:3"),
    "unknown bypass": (["--bypass", "zero,two"], "unknown bypass case 'two'"),
    "bad clock": (["--clock-mhz", "0"], "--clock-mhz: 0 is out of range"),
    "config and preset": (["--preset", "tiny", "--config", __file__], "not allowed with argument"),
    "missing config": (["--config", "/nonexistent/a.toml"], "no such file"),
    "bad top name": (["--top", "1top"], "is not a Verilog identifier"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input(tmp_path, case):
    opts, msg = BAD[case]
    out = tmp_path / "out"
    rc, stdout, stderr = generate(out, *opts)
    assert rc == 2 and stdout == ""
    assert stderr.count("\n") == 1 and stderr.startswith("axmac: error: ") and msg in stderr, stderr
    assert not out.exists()


def test_bad_config_file(tmp_path):
    f = tmp_path / "a.toml"
    f.write_text("[array]\nrows = 4\nwidth = 3\n")
    rc, _, stderr = generate(tmp_path / "out", "--config", str(f))
    assert rc == 2 and "unknown array option 'width'" in stderr and not (tmp_path / "out").exists()


def test_out_dir_required(capsys):
    assert cli.main(["generate", "--rows", "2"]) == 2
    assert capsys.readouterr().err == "axmac: error: generate: the following arguments are required: --out-dir\n"
