"""Characterization of a multiplier: error metrics and hardware cost (``axmac multipliers characterize``).

:func:`characterize` puts together the error metrics of the golden model
(:func:`axmac.golden.metrics.error_metrics`) and the figures of its hardware
(:func:`axmac.gen.synth.synth_multiplier`: Yosys generic gates and CMOS transistors of the
combinational multiplier, iCE40 LUT4 / logic cells and Fmax with registered inputs and outputs).
:func:`multiplier_for` builds the golden model of a spec with the signedness the user asked for,
or for a ``verilog:`` module that of its ports; :func:`characterization_table` prints rows of
characterizations.
"""

from __future__ import annotations

from .tables import format_table, num, pct

#: hardware figures copied to the top level of a characterization, by target.
HW_KEYS = {"generic": ("gates", "transistors"), "ice40": ("lut4", "lc", "fmax_mhz")}
#: widest ``lut:`` ROM synthesised (``2**(2n)`` words): 6 bits take ~40 s, 8 bits more than 5 minutes.
LUT_HW_MAX_BITS = 6


def multiplier_for(spec: str, bits: int, signed: bool | None):
    """The golden model of ``spec`` and a warning (or ``None``).

    ``signed=None`` (neither ``--signed`` nor ``--unsigned`` given): signed, except for a
    ``verilog:`` module, which takes the signedness of its ports as Verilog does (ports not
    declared ``signed`` are unsigned). An explicit choice that disagrees with the ports is
    honoured, with a warning.
    """
    from ..golden.multipliers import make_multiplier

    model = make_multiplier(spec, bits, True if signed is None else signed)
    ports = getattr(model, "ports", None)
    if model.family != "verilog" or ports is None:
        return model, None
    declared = bool(ports.signed)
    if signed is None:
        return (model if declared else make_multiplier(spec, bits, False)), None
    if signed != declared:
        said = "signed" if declared else "not signed (unsigned in Verilog)"
        return model, (f"{spec}: module {ports.top} declares its ports {said}, but --"
                       f"{'signed' if signed else 'unsigned'} was given: characterizing "
                       f"{'signed' if signed else 'unsigned'} operands")
    return model, None


def characterize(model, *, hw: bool = True, targets: tuple[str, ...] = ("generic", "ice40"),
                 samples: int = 1_000_000, seed: int = 0, exhaustive: bool | None = None) -> dict:
    """Error metrics and hardware figures of a golden multiplier model.

    Returns the dict of :func:`~axmac.golden.metrics.error_metrics` plus the figures named in
    :data:`HW_KEYS` (``None`` when not synthesised), ``hw`` (the synthesis results by target, or
    ``None``) and ``hw_note`` (why there are no hardware figures, or ``None``).
    """
    from ..golden.metrics import error_metrics
    from ..hw.multipliers import hw_families

    res = error_metrics(model, samples=samples, seed=seed, exhaustive=exhaustive)
    for t in HW_KEYS:
        for k in HW_KEYS[t]:
            res[k] = None
    res["hw"] = None
    res["hw_note"] = None
    if not hw:
        return res
    if model.family not in hw_families():  # a family without hardware: the error figures still stand
        res["hw_note"] = f"no hardware implementation for multiplier family {model.family!r}"
    elif model.family == "lut" and model.bits > LUT_HW_MAX_BITS:
        res["hw_note"] = (f"lut ROMs are synthesised up to {LUT_HW_MAX_BITS}-bit operands only "
                          f"({1 << 2 * model.bits} words would take too long)")
    else:
        from .synth import synth_multiplier

        res["hw"] = synth_multiplier(model, targets=targets)
        for t, r in res["hw"].items():
            for k in HW_KEYS[t]:
                res[k] = r.get(k)
    return res


#: (header, key, formatter) of the characterization table.
COLUMNS = (
    ("spec", "spec", lambda x: "?" if x is None else str(x)),
    ("MAE", "mae", num),
    ("WCE", "wce", num),
    ("MRED%", "mred", pct),
    ("WCRE%", "wcre", pct),
    ("bias%", "bias", pct),
    ("EP%", "error_probability", pct),
    ("gates", "gates", num),
    ("transistors", "transistors", num),
    ("LUT4", "lut4", num),
    ("Fmax MHz", "fmax_mhz", lambda x: "-" if x is None else f"{x:.1f}"),
)


def characterization_table(rows: list[dict]) -> str:
    """Plain-text table of characterizations (one row per dict, ``-`` for missing figures)."""
    return format_table([h for h, _, _ in COLUMNS], [[f(r.get(k)) for _, k, f in COLUMNS] for r in rows])
