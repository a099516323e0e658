"""hw/controller.py: docs/array.md's controller rules on crafted stream patterns.

(Random patterns against the golden model's controller are in tests/test_top.py.)
"""

from amaranth.hdl import Value

from axmac.config import ArrayConfig
from axmac.hw.controller import Controller
from axmac.hw.layouts import cmd_layout
from tests.array_bench import run_sim

OUTS = ("cmd_ready", "a_ready", "w_ready", "take", "start", "w_take", "w_row", "end", "index", "credits")


def run(cfg, script):
    """``script``: per cycle a dict of inputs (cmd fields under ``"cmd"``); returns per cycle the outputs."""
    dut = Controller(config=cfg)
    seen = []

    async def bench(ctx):
        for step in script:
            ctx.set(Value.cast(dut.cmd), cmd_layout().const(step.get("cmd", {})).as_value().value)
            for name in ("cmd_valid", "a_valid", "w_valid", "o_fire", "can_commit"):
                ctx.set(getattr(dut, name), step.get(name, 0))
            seen.append({o: ctx.get(getattr(dut, o)) for o in OUTS})
            await ctx.tick()

    run_sim(dut, bench)
    return seen


def col(seen, name):
    return [s[name] for s in seen]


def test_ws_weight_rows_follow_the_commit_wave():
    """R = 3: rows 0..2 from reset; the tile starts only with all rows in; the next tile's row j
    is taken no earlier than j cycles after the start, row 0 in the start cycle itself."""
    cfg = ArrayConfig(rows=3, cols=2)
    tile = {"count": 5, "first": 1, "last": 0}
    script = [{"w_valid": 1, "cmd_valid": 1, "a_valid": 1, "cmd": tile} for _ in range(12)]
    seen = run(cfg, script)
    assert col(seen, "w_take")[:3] == [1, 1, 1] and col(seen, "w_row")[:3] == [0, 1, 2]
    assert col(seen, "start")[:4] == [0, 0, 0, 1]  # rows == R only from cycle 3
    assert col(seen, "w_take")[3:9] == [1, 1, 1, 0, 0, 1]  # behind the wave (since >= j); row 0 again at the next start
    assert col(seen, "take")[3:9] == [1, 1, 1, 1, 1, 1] and col(seen, "start")[3:9] == [1, 0, 0, 0, 0, 1]
    assert col(seen, "index")[3:9] == [0, 1, 2, 3, 4, 0]


def test_ws_row_waits_for_the_wave():
    """A row offered late is taken at once; row j is refused while since < j."""
    cfg = ArrayConfig(rows=3, cols=2)
    tile = {"count": 1, "first": 1, "last": 0}
    script = [{"w_valid": 1} for _ in range(3)]
    script += [{"cmd_valid": 1, "a_valid": 1, "cmd": tile, "w_valid": 0}, {}, {}, {"w_valid": 1},
               {"w_valid": 1}, {"w_valid": 1}, {"w_valid": 1}]
    seen = run(cfg, script)
    assert col(seen, "start")[3] == 1
    assert col(seen, "w_take")[6:10] == [1, 1, 1, 0] and col(seen, "w_row")[6:9] == [0, 1, 2]


def test_ws_credits_hold_back_last_tiles():
    """F = 2: a last tile's beats stop when the credits are spent and go on as o beats leave."""
    cfg = ArrayConfig(rows=1, cols=2, out_fifo_depth=2)
    tile = {"count": 4, "first": 1, "last": 1}
    script = [{"w_valid": 1}] + [{"cmd_valid": 1, "a_valid": 1, "cmd": tile} for _ in range(5)]
    script += [{"a_valid": 1, "o_fire": 1}, {"a_valid": 1}, {"a_valid": 1, "o_fire": 1}, {"a_valid": 1}]
    seen = run(cfg, script)
    assert col(seen, "take")[1:] == [1, 1, 0, 0, 0, 0, 1, 0, 1]
    assert col(seen, "credits")[:5] == [2, 2, 1, 0, 0]
    assert col(seen, "a_ready")[3] == 0 and col(seen, "cmd_ready")[1] == 1


def test_ws_qp_commit_waits_for_a_loaded_bank():
    cfg = ArrayConfig(rows=1, cols=1)
    tile = {"count": 1, "first": 1, "last": 1, "qp_commit": 1}
    script = [{"w_valid": 1}, {"cmd_valid": 1, "a_valid": 1, "cmd": tile},
              {"cmd_valid": 1, "a_valid": 1, "cmd": tile, "can_commit": 1}]
    assert col(run(cfg, script), "start") == [0, 0, 1]


def test_os_last_beat_spacing_and_credits():
    """R = 3, K = 1 tiles of m = 2 rows: a last beat needs since >= R and credits >= m."""
    cfg = ArrayConfig(rows=3, cols=2, dataflow="os", out_fifo_depth=4)
    tile = {"count": 1, "m": 2}
    script = [{"cmd_valid": 1, "a_valid": 1, "w_valid": 1, "cmd": tile} for _ in range(10)]
    seen = run(cfg, script)
    assert col(seen, "take") == [1, 0, 0, 1, 0, 0, 0, 0, 0, 0]  # since >= 3, then credits 0 < 2
    assert col(seen, "credits")[:5] == [4, 2, 2, 2, 0]
    assert col(seen, "end")[0] == 1


def test_os_join_needs_both_streams():
    cfg = ArrayConfig(rows=2, cols=2, dataflow="os")
    tile = {"count": 3, "m": 2}
    script = [{"cmd_valid": 1, "a_valid": 1, "cmd": tile}, {"cmd_valid": 1, "a_valid": 1, "w_valid": 1, "cmd": tile},
              {"a_valid": 1, "w_valid": 1}, {"w_valid": 1}, {"a_valid": 1, "w_valid": 1}]
    seen = run(cfg, script)
    assert col(seen, "take") == [0, 1, 1, 0, 1] and col(seen, "a_ready") == col(seen, "w_ready")
    assert col(seen, "start") == [0, 1, 0, 0, 0]
    assert [s["take"] & s["end"] for s in seen] == [0, 0, 0, 0, 1]  # end describes the beat taken
