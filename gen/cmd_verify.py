"""``axmac verify``: co-simulation of the generated array RTL against the golden models.

Parses the array configuration and what to run, calls :mod:`axmac.gen.verify` and prints the
figures (``--json``: all of them) or, when the RTL differed, where it first did. Exit status 0
only when everything matched, 1 when something differed, 2 for bad input.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import array_options, options

DESCRIPTION = """\
Co-simulate the generated RTL of the array (Verilator + cocotb) against the golden models.
Every output beat's value and the cycle it leaves, and the activity counters, are checked
against the register-level golden array model (golden/array.py); results against the GEMM
reference or the golden engine.

Without a model: random GEMMs (--gemm MxKxN, repeatable; default a few with edge tiles and K
much larger than the rows). With MODEL.onnx (or --all/--layer alone: the dataset's bundled
model): --layer NAME checks that MAC layer with its real quantized operands (repeatable); --all
runs whole inferences layer by layer through the RTL (other operators in golden between them)
and the predicted classes must equal golden's. Float models are quantized at load time to the
array's operand width with calibration images of --dataset.

--idle P / --stall P give every input stream random idle cycles and o random backpressure
(docs/array.md "Test streams"); the default 0 lets the streams keep up (cycle figures)."""


def gemm_shape(text: str):
    from .verify import parse_gemm

    try:
        return parse_gemm(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_parser(sub) -> None:
    p = sub.add_parser("verify", parents=[options.model(optional=True), options.json_flag()],
                       help="co-simulate the array RTL against golden (random GEMMs or a model's layers)",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    array_options.add_array_options(p)
    g = p.add_argument_group("what to run")
    g.add_argument("--gemm", type=gemm_shape, action="append", metavar="MxKxN", help="a random GEMM (repeatable)")
    g.add_argument("--groups", type=options.positive_int, default=1, metavar="G",
                   help="groups of each random GEMM (grouped convolution; default 1)")
    which = g.add_mutually_exclusive_group()
    which.add_argument("--layer", action="append", metavar="NAME", help="a MAC layer of the model (repeatable)")
    which.add_argument("--all", action="store_true", help="whole inferences, layer by layer")
    g.add_argument("--dataset", default="mnist", metavar="mnist|digits|FILE.npz",
                   help="test images and calibration images (default mnist)")
    g.add_argument("--images", type=options.positive_int, default=1, metavar="N", help="test images (default 1)")
    g.add_argument("--seed", type=options.non_negative_int, default=0, metavar="S", help="random seed (default 0)")
    g.add_argument("--idle", type=options.fraction, default=0.0, metavar="P", help="idle probability of every input "
                   "stream per cycle (default 0)")
    g.add_argument("--stall", type=options.fraction, default=0.0, metavar="P", help="probability that o is not ready "
                   "in a cycle (default 0)")
    g.add_argument("--verbose", action="store_true", help="show the simulator's output instead of logging it")
    p.set_defaults(func=cmd_verify, parser=p)


class Progress:
    """A tqdm bar made at the first report, on a copy of standard error: the simulator's output
    is sent to its log meanwhile (file descriptors 1 and 2), the bar must still reach the terminal."""

    def __init__(self):
        self.bar = self.file = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            try:
                self.file = os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1)
            except (OSError, ValueError, AttributeError):  # no real file (captured)
                self.file = None
            self.bar = tqdm(desc="verify", unit="MAC", unit_scale=True, file=self.file or sys.stderr, disable=None,
                            leave=False, total=total)
        if self.bar.total != total:
            self.bar.reset(total=total)
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.file is not None:
            self.file.close()


def cmd_verify(args) -> int:
    from .datasets import default_model
    from .tables import print_json
    from .verify import verify_gemms, verify_model

    cfg = array_options.config_from_args(args)
    model = args.model
    if args.gemm and (model is not None or args.layer or args.all):
        args.parser.error("--gemm runs random GEMMs: give it without MODEL, --layer or --all")
    if model is None and (args.layer or args.all):
        model = default_model(args.dataset)
    progress = Progress()
    try:
        common = {"seed": args.seed, "idle": args.idle, "stall": args.stall, "progress": progress,
                  "verbose": args.verbose}
        if model is None:
            res = verify_gemms(cfg, args.gemm, groups=args.groups, **common)
        else:
            res = verify_model(cfg, model, layers=None if args.all else (args.layer or None), dataset=args.dataset,
                               images=args.images, input_shapes=options.input_shapes(args), **common)
    finally:
        progress.close()
    if args.json:
        print_json(res, indent=2)
    else:
        print_summary(res, cfg)
    return 0 if res["matched"] else 1


def print_summary(res: dict, cfg) -> None:
    from ..sim.array_tb import describe
    from .tables import format_table

    print(f"{cfg.rows}x{cfg.cols} {cfg.dataflow} array, {cfg.operand} operands, {cfg.acc_bits}-bit {cfg.overflow}, "
          f"multiplier {cfg.multiplier}, bypass {cfg.bypass}, gating {cfg.gating}")
    parts = res.get("layers") or res.get("gemms") or []
    if parts:
        rows = [[str(p.get("name", f"{p.get('m')}x{p.get('k')}x{p.get('n')}")), str(p["runs"]), str(p["cycles"]),
                 str(p["macs"]), f"{p['utilization']:.3f}"] for p in parts]
        print(format_table(["layer" if res.get("layers") else "gemm", "runs", "cycles", "MACs", "util"], rows,
                           rule=False))
    if "accuracy" in res:
        print(f"top-1 accuracy on {res['images']} images: RTL {res['accuracy']:.4f}, "
              f"golden {res['golden_accuracy']:.4f} (agreement {res['agreement']:.4f})")
    print(f"{res['cycles']} cycles, {res['macs']} MACs, utilization {res['utilization']:.3f}; "
          f"{res['simulated_cycles']} cycles simulated in {res['sim_seconds']:.2f} s "
          f"({res['cycles_per_second']:.0f} cycles/s, {res['checked_cycles_per_second']:.0f} with checking)")
    if res["matched"]:
        print("matched: every output value and cycle, counters and results")
    else:
        print(f"MISMATCH: {describe(res['mismatch'])}")
