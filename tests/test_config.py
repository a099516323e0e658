"""axmac/config.py: ArrayConfig checks, presets, TOML/JSON round trips."""

import dataclasses
import json

import pytest

from axmac.config import PRESETS, ArrayConfig, ConfigError, load_config, normalize_bypass


def test_defaults_and_derived():
    c = ArrayConfig()
    assert (c.rows, c.cols, c.bits, c.acc_bits, c.dataflow) == (8, 8, 8, 32, "ws")
    assert c.fifo_depth == 3 * 8 + 8 + 3 + 1
    assert str(c.operand) == "s8" and c.pes == 64
    assert ArrayConfig(out_fifo_depth=5).fifo_depth == 5


@pytest.mark.parametrize("changes,msg", [
    ({"rows": 0}, "rows must be in 1..64, not 0"),
    ({"cols": 65}, "cols must be in 1..64, not 65"),
    ({"rows": 2.0}, "rows must be an integer"),
    ({"bits": 17}, "bits must be in 2..16"),
    ({"acc_bits": 15}, "acc_bits 15 is narrower than a 16-bit product"),
    ({"acc_bits": 16, "overflow": "saturate"}, "saturating accumulators need one bit more"),
    ({"acc_bits": 65}, "acc_bits must be in 16..64"),
    ({"dataflow": "rs"}, "dataflow must be one of ws, os, not 'rs'"),
    ({"gating": "clock"}, "gating must be one of none, enable, icg"),
    ({"bypass": "zero,two"}, "unknown bypass case 'two'"),
    ({"acc_depth": 0}, "acc_depth must be in 1..65535"),
    ({"multiplier": " "}, "multiplier must be a spec string"),
    ({"clock_mhz": float("nan")}, "clock_mhz must be a frequency"),
    ({"overflow": "clip"}, "overflow must be one of wrap, saturate"),
])
def test_impossible_configurations(changes, msg):
    with pytest.raises(ConfigError, match=msg):
        ArrayConfig(**changes)


def test_bypass_is_normalised():
    assert normalize_bypass("opposite, ZERO") == "zero,opposite"
    assert normalize_bypass("all") == "zero,one,add-zero,opposite"
    assert normalize_bypass("") == normalize_bypass(None) == normalize_bypass("none") == "none"
    assert ArrayConfig(bypass="one,zero").bypass_cases == ("zero", "one")


def test_presets_are_checked_copies():
    assert PRESETS["bypass"].bypass == "zero,one,add-zero,opposite"
    big = PRESETS["tiny"].replace(rows=16)
    assert big.rows == 16 and PRESETS["tiny"].rows == 4
    with pytest.raises(ConfigError, match="unknown array option 'row'"):
        PRESETS["tiny"].replace(row=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        PRESETS["tiny"].rows = 3


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_file_round_trip(tmp_path, suffix):
    c = ArrayConfig(rows=3, cols=5, bits=4, signed=False, acc_bits=12, overflow="saturate", multiplier="drum:3",
                    bypass="zero,opposite", gating="icg", dataflow="os", out_fifo_depth=9, clock_mhz=50)
    path = tmp_path / f"a{suffix}"
    path.write_text(c.to_toml() if suffix == ".toml" else json.dumps(c.to_dict()))
    assert load_config(path) == c


def test_bad_files(tmp_path):
    (tmp_path / "x.toml").write_text("[array]\nrows = 4\ncolumns = 4\n")
    with pytest.raises(ConfigError, match="x.toml: unknown array option 'columns'"):
        load_config(tmp_path / "x.toml")
    (tmp_path / "y.toml").write_text("rows = = 4\n")
    with pytest.raises(ConfigError, match="y.toml is not valid TOML"):
        load_config(tmp_path / "y.toml")
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")
    (tmp_path / "z.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="must be a table of array options"):
        load_config(tmp_path / "z.json")
