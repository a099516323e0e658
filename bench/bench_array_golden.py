"""The golden side of the systolic array: register-level model speed and fixed-point requantization.

``--speed`` (default): LeNet-5 (the bundled model, quantized by axmac) through
``golden.array.simulate`` layer by layer (im2col -> ``gemm_program`` -> ``simulate``), for
``--images`` MNIST test images at once (one run per layer), on an 8x8 array (``acc_depth``
1024), both dataflows, the exact multiplier and ``mitchell`` with every bypass case. Checks
that every layer's accumulators equal the engine's (``run_network(trace=True)``), and prints
simulated cycles, wall time (program building and simulation), cycles/s and MAC/s. The
first run compiles the numba kernel (cached afterwards): run twice for steady figures.

``--requant``: how often the fixed-point output stage (``golden.requant``) differs from the
float one of ``golden.engine.output_stage`` on the bundled models: every MAC layer followed
(through Relu / MaxPool / Flatten) by a QuantizeLinear gets the requant stage that fuses them
(``scale = s_x s_w / s_y``, ``relu``, the next layer's dtype), applied to the traced
accumulators of the test images.

Usage: ``python bench/bench_array_golden.py [--speed] [--requant] [--images N]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

PASS_THROUGH = ("Relu", "MaxPool", "Flatten", "Reshape")


def _load(dataset: str):
    import onnx

    from axmac.gen.datasets import default_model, load_dataset
    from axmac.onnx_import import load_model

    x, _, calib = load_dataset(dataset)
    path = str(default_model(dataset))
    name = onnx.load(path).graph.input[0].name
    return load_model(path, calibration={name: calib}), name, x


def fused_requant_stages(net) -> dict:
    """``{layer name: OutputStage("requant", ...)}`` fusing each MAC layer's dequant output with
    the QuantizeLinear that follows it through Relu / MaxPool / Flatten / Reshape."""
    from axmac.ir import MacLayer, OutputStage

    consumers: dict[str, list] = {}
    for nd in net.nodes:
        for i in [nd.x] if isinstance(nd, MacLayer) else nd.inputs:
            consumers.setdefault(i, []).append(nd)
    stages = {}
    for layer in net.mac_layers:
        t, relu = layer.y, False
        while len(consumers.get(t, [])) == 1 and not isinstance(consumers[t][0], MacLayer):
            nd = consumers[t][0]
            if nd.op_type == "QuantizeLinear":
                y_scale = np.float32(net.constants[nd.inputs[1]])
                zp = net.constants[nd.inputs[2]] if len(nd.inputs) > 2 and nd.inputs[2] else np.int8(0)
                scale = (np.asarray(layer.output.scale, np.float32) / y_scale).astype(np.float32)
                stages[layer.name] = OutputStage("requant", scale, int(zp), np.asarray(zp).dtype, relu)
                break
            if nd.op_type not in PASS_THROUGH:
                break
            relu |= nd.op_type == "Relu"
            t = nd.outputs[0]
    return stages


def requant_mismatch(dataset: str, images: int | None = None) -> tuple[int, int, int]:
    """``(differing outputs, outputs, largest difference)`` of fixed vs float requantization."""
    from axmac.golden.engine import output_stage, run_network
    from axmac.golden.requant import requant_fixed_stage

    net, name, x = _load(dataset)
    x = x[:images]
    stages = fused_requant_stages(net)
    _, rep = run_network(net, {name: x}, trace=True, stats=False)
    diff = total = worst = 0
    for layer in net.mac_layers:
        st = stages.get(layer.name)
        if st is None:
            continue
        acc = rep.tensors[f"{layer.y}::acc"]
        axis = 1 if layer.kind == "conv" else acc.ndim - 1
        d = np.abs(output_stage(acc, st, st.scale, axis).astype(np.int64)
                   - requant_fixed_stage(acc, st, st.scale, axis).astype(np.int64))
        diff, total, worst = diff + int((d > 0).sum()), total + d.size, max(worst, int(d.max()))
    return diff, total, worst


def bench_requant(images: int | None) -> None:
    for ds in ("mnist", "digits"):
        diff, total, worst = requant_mismatch(ds, images)
        print(f"requant {ds}: {diff} of {total} outputs differ ({diff / total:.2e}), largest difference {worst} LSB")


def bench_speed(images: int) -> None:
    from axmac.config import ArrayConfig
    from axmac.golden.array import simulate
    from axmac.golden.array_program import gemm_program
    from axmac.golden.bypass import Bypass
    from axmac.golden.engine import run_network
    from axmac.onnx_import.lower import col2out, im2col, weight_matrix

    net, name, x = _load("mnist")
    for spec, bypass in (("exact", "none"), ("mitchell", "all")):
        _, rep = run_network(net, {name: x[:images]}, trace=True, stats=False, multiplier=spec,
                             bypass=Bypass.parse(bypass))
        for df in ("ws", "os"):
            cfg = ArrayConfig(rows=8, cols=8, dataflow=df, acc_depth=1024, multiplier=spec, bypass=bypass)
            build = sim = 0.0
            cycles = macs = 0
            for layer in net.mac_layers:
                xin = rep.tensors[layer.x]
                t0 = time.perf_counter()
                prog = gemm_program(cfg, im2col(layer, xin), weight_matrix(layer), bias=layer.bias)
                t1 = time.perf_counter()
                run = simulate(cfg, prog)
                t2 = time.perf_counter()
                if not np.array_equal(col2out(layer, prog.assemble(run.o), xin.shape), rep.tensors[f"{layer.y}::acc"]):
                    raise SystemExit(f"{layer.name}: the array model disagrees with the engine")
                build, sim = build + t1 - t0, sim + t2 - t1
                cycles += run.cycles
                macs += int(prog.plan.macs.sum())
            print(f"array model {spec:8s} {df} {images:4d} images: {cycles:9d} cycles, build {build:6.3f} s, "
                  f"simulate {sim:6.3f} s: {cycles / sim:.3g} cycles/s, {macs / sim:.3g} MAC/s")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--speed", action="store_true", help="register-level model speed on LeNet-5 (default)")
    ap.add_argument("--requant", action="store_true", help="fixed vs float requantization on the bundled models")
    ap.add_argument("--images", type=int, default=None, help="test images (default: 1 and 100 for --speed, "
                    "all for --requant)")
    args = ap.parse_args(argv)
    if args.requant:
        bench_requant(args.images)
    if args.speed or not args.requant:
        for n in [args.images] if args.images else [1, 100]:
            bench_speed(n)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
