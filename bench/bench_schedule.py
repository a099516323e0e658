"""Utilization of the systolic array's schedules: before and after the schedule follows the RTL.

Two networks, scheduled with ``make_schedule`` (shapes only, no calibration):

* ``lenet``: the bundled LeNet-5 (``models/lenet5_mnist.onnx``);
* ``mobilenet``: a MobileNet-style classifier built here with ``onnx.helper``: 3x32x32 input,
  Conv 3x3/2 3->16, five depthwise 3x3 + pointwise 1x1 pairs (16->32, /2 32->64, 64->64,
  /2 64->128, 128->128), global average pool, MatMul 128->10; every conv with a bias (folded BN)
  and ReLU.

For 8x8 and 16x16 arrays, both dataflows, batch 1 and 16, it prints total cycles and
utilization (``MACs / (R*C*cycles)``):

* ``before``: the schedule of commit e22b7d7 (one tile after the other, weights loaded and
  results drained per tile, all of M streamed per ws tile, one GEMM per depthwise channel),
  computed with that code and kept in :data:`BEFORE`;
* ``scalesim``: SCALE-Sim's analytic model (``R + (M + R + C - 2)`` cycles per ws tile,
  ``K + R + C - 2`` per os tile, tiles as ``before``): equal to ``before`` in ws, ``R`` cycles
  per tile fewer in os (free output readout);
* ``after``: today's schedule, the cycles of the RTL (``golden.cycle_model``: weight double
  buffering, fill and drain once per layer, ws row blocks of at most ``acc_depth`` = 256 rows,
  depthwise packing).

``--layers`` adds MobileNet's per-layer figures at 8x8, batch 1.

Usage: ``python bench/bench_schedule.py [--layers]``
"""

from __future__ import annotations

import argparse

import numpy as np

#: (cycles, utilization) of the schedule before this change (commit e22b7d7), per
#: "model RxR dataflow bBATCH".
BEFORE = {
    "lenet 8x8 ws b1": (29411, 0.2213), "lenet 8x8 os b1": (17182, 0.3788),
    "lenet 16x16 ws b1": (15058, 0.1081), "lenet 16x16 os b1": (9545, 0.1705),
    "lenet 8x8 ws b16": (147506, 0.7059), "lenet 8x8 os b16": (158704, 0.6561),
    "lenet 16x16 ws b16": (57388, 0.4536), "lenet 16x16 os b16": (79958, 0.3256),
    "mobilenet 8x8 ws b1": (68032, 0.2639), "mobilenet 8x8 os b1": (76396, 0.2350),
    "mobilenet 16x16 ws b1": (37472, 0.1198), "mobilenet 16x16 os b1": (54366, 0.0826),
    "mobilenet 8x8 ws b16": (713632, 0.4026), "mobilenet 8x8 os b16": (1218136, 0.2358),
    "mobilenet 16x16 ws b16": (298712, 0.2404), "mobilenet 16x16 os b16": (867246, 0.0828),
}
#: Per-layer (cycles, utilization) before, MobileNet 8x8 ws batch 1.
BEFORE_MOBILENET_LAYERS = {
    "conv0": (2224, 0.777), "dw0": (8896, 0.0647), "pw0": (2224, 0.9209), "dw1": (5504, 0.0523),
    "pw1": (2752, 0.7442), "dw2": (11008, 0.0523), "pw2": (5504, 0.7442), "dw3": (4864, 0.0296),
    "pw3": (4864, 0.4211), "dw4": (9728, 0.0296), "pw4": (9728, 0.4211), "fc": (736, 0.0272),
}


def mobilenet_model():
    """The MobileNet-style float classifier of the module docstring (random weights)."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits, nodes = [], []

    def conv(name, x, cin, cout, k, stride, group):
        w = rng.normal(size=(cout, cin // group, k, k)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, name + "_w"))
        inits.append(numpy_helper.from_array(rng.normal(size=cout).astype(np.float32), name + "_b"))
        nodes.append(helper.make_node("Conv", [x, name + "_w", name + "_b"], [name], name=name, strides=[stride] * 2,
                                      pads=[k // 2] * 4, group=group))
        nodes.append(helper.make_node("Relu", [name], [name + "_r"], name=name + "_relu"))
        return name + "_r"

    x, c = conv("conv0", "x", 3, 16, 3, 2, 1), 16
    for i, (cout, stride) in enumerate([(32, 1), (64, 2), (64, 1), (128, 2), (128, 1)]):
        x = conv(f"dw{i}", x, c, c, 3, stride, c)
        x, c = conv(f"pw{i}", x, c, cout, 1, 1, 1), cout
    nodes += [helper.make_node("GlobalAveragePool", [x], ["gap"], name="gap"),
              helper.make_node("Flatten", ["gap"], ["f"], name="flat"),
              helper.make_node("MatMul", ["f", "fc_w"], ["y"], name="fc")]
    inits.append(numpy_helper.from_array(rng.normal(size=(c, 10)).astype(np.float32), "fc_w"))
    graph = helper.make_graph(nodes, "mobilenet_tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                                        [1, 3, 32, 32])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)


def scalesim_cycles(net, rows: int, cols: int, dataflow: str, batch: int) -> int:
    """SCALE-Sim's analytic cycles of every MAC layer (module docstring)."""
    from axmac.onnx_import.lower import lower_network

    total = 0
    for g in lower_network(net, batch):
        if dataflow == "ws":
            total += g.groups * -(-g.k // rows) * -(-g.n // cols) * (rows + g.m + rows + cols - 2)
        else:
            total += g.groups * -(-g.m // rows) * -(-g.n // cols) * (g.k + rows + cols - 2)
    return total


def main(argv=None) -> int:
    from axmac.onnx_import import load_model
    from axmac.onnx_import.schedule import make_schedule

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", action="store_true", help="MobileNet's layers at 8x8, batch 1")
    args = ap.parse_args(argv)
    nets = {"lenet": load_model("models/lenet5_mnist.onnx", shapes_only=True),
            "mobilenet": load_model(mobilenet_model(), shapes_only=True)}
    print(f"{'case':24s} {'before':>16s} {'scalesim':>16s} {'after':>16s} {'speedup':>8s}")
    for model, net in nets.items():
        for batch in (1, 16):
            for side in (8, 16):
                for df in ("ws", "os"):
                    key = f"{model} {side}x{side} {df} b{batch}"
                    s = make_schedule(net, side, side, df, batch=batch, summary=True)
                    cyc, util = s["totals"]["cycles"], s["totals"]["utilization"]
                    sc = scalesim_cycles(net, side, side, df, batch)
                    b_cyc, b_util = BEFORE[key]
                    print(f"{key:24s} {b_cyc:8d} {b_util:7.1%} {sc:8d} {s['totals']['macs'] / (side * side * sc):7.1%} "
                          f"{cyc:8d} {util:7.1%} {b_cyc / cyc:7.2f}x")
    if args.layers:
        s = make_schedule(nets["mobilenet"], 8, 8, "ws", batch=1, summary=True)
        print("\nmobilenet 8x8 ws b1, per layer: before -> after (groups per tile)")
        for la in s["layers"]:
            b_cyc, b_util = BEFORE_MOBILENET_LAYERS[la["name"]]
            print(f"  {la['name']:6s} {b_cyc:6d} {b_util:6.1%} -> {la['cycles']:6d} {la['utilization']:6.1%}  "
                  f"gp={la['gp']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
