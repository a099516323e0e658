"""gen/toggles.py: toggle counts from hand-written VCD and SAIF files."""

import numpy as np

from axmac.gen.toggles import saif_toggles, vcd_toggles

VCD = """$timescale 10ps $end
$scope module tb $end
 $var wire 1 ! clk $end
 $scope module dut $end
  $var wire 1 ! clk $end
  $var wire 1 " n1 $end
  $var wire 4 # bus [3:0] $end
  $var wire 4 # alias [3:0] $end
  $var wire 1 $ other $end
 $upscope $end
$upscope $end
$enddefinitions $end
#0
$dumpvars
0!
x"
b0000 #
0$
$end
#50
1!
0"
b0101 #
#100
0!
1"
b101 #
#150
1!
x"
b0110 #
#200
0!
1"
bx011 #
#250
1!
0"
b0011 #
"""


def test_vcd_toggles_per_window(tmp_path):
    p = tmp_path / "d.vcd"
    p.write_text(VCD)
    nets = [["tb.dut.clk"], ["tb.dut.n1"], ["tb.dut.bus[0]"], ["tb.dut.bus[2]"], ["tb.dut.missing", "tb.dut.alias[1]"],
            ["tb.dut.nowhere"]]
    # windows in ps (timescale 10 ps): [0, 1000), [1000, 2000), [2000, 3000)
    counts, missing = vcd_toggles(p, nets, [0, 1000, 2000, 3000])
    assert missing == [5]
    # clk: 0 ->1 @500 ->0 @1000 ->1 @1500 ->0 @2000 ->1 @2500: one toggle in window 0, two in 1 and 2
    assert counts[:, 0].tolist() == [1, 2, 2]
    # n1: x -> 0 (no toggle) -> 1 @1000 -> x @1500 -> 1 @2000 (x: no toggle) -> 0 @2500
    assert counts[:, 1].tolist() == [0, 1, 1]
    # bus[0]: 0 ->1 @500, 1 @1000, 0 @1500, 1 @2000 (bit 0 of x011), 1 @2500
    assert counts[:, 2].tolist() == [1, 1, 1]
    # bus[2]: 0 ->1 @500, 1 (b101 is 0101), 1 @1500, 0 @2000 from x011? bit 2 of "x011" is 0: toggle
    assert counts[:, 3].tolist() == [1, 0, 1]
    # alias[1] is bus[1]: 0, 0, 0, 1 @1500, 1, 1
    assert counts[:, 4].tolist() == [0, 1, 0]


def test_vcd_windows_can_leave_time_out(tmp_path):
    p = tmp_path / "d.vcd"
    p.write_text(VCD)
    counts, _ = vcd_toggles(p, [["tb.clk"]], [1000, 2000])
    assert counts.tolist() == [[2]]  # the first clock rise (at 500 ps) is before the window


SAIF = """(SAIFILE
(SAIFVERSION "2.0")
(DIRECTION "backward")
(DIVIDER / )
(TIMESCALE 10ps)
(DURATION 1000)
 (INSTANCE tb
  (NET
   (clk (T0 500) (T1 500) (TZ 0) (TX 0) (TB 0) (TC 20))
  )
  (INSTANCE dut
   (NET
    (a\\[3\\] (T0 500) (T1 500) (TZ 0) (TX 0) (TB 0) (TC 7))
    (_12_ (T0 900) (T1 100) (TZ 0) (TX 0) (TB 0) (TC 2))
   )
   (INSTANCE _5_
    (NET
     (Y (T0 1000) (T1 0) (TZ 0) (TX 0) (TB 0) (TC 99))
    )
   )
  )
 )
)
"""


def test_saif_toggles(tmp_path):
    p = tmp_path / "d.saif"
    p.write_text(SAIF)
    counts, missing = saif_toggles(p, [["tb.clk"], ["tb.dut.a[3]"], ["tb.dut._12_"], ["tb.dut._5_.Y"], ["tb.x"]])
    assert counts.tolist() == [20, 7, 2, 99, 0] and missing == [4]
    assert isinstance(counts, np.ndarray)


def test_changes_within_one_time_step_count_once(tmp_path):
    p = tmp_path / "delta.vcd"
    p.write_text("$timescale 1ps $end\n$scope module t $end\n$var wire 1 ! n $end\n$var wire 2 # v [1:0] $end\n"
                 "$upscope $end\n$enddefinitions $end\n#0\n0!\nb00 #\n"
                 "#10\n1!\n0!\nb11 #\nb00 #\n"  # delta glitches: back to the old values, no toggle
                 "#20\n1!\n0!\n1!\nb01 #\nb10 #\n")  # final values 1 and 10: one toggle each
    counts, _ = vcd_toggles(p, [["t.n"], ["t.v[0]"], ["t.v[1]"]], [0, 15, 30])
    assert counts.tolist() == [[0, 0, 0], [1, 0, 1]]
