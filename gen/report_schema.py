"""The schema of ``report.json`` (``axmac-flow-report/1``) and a checker for it.

:data:`SCHEMA` is a JSON Schema (the subset :func:`validate` understands: ``type`` -- one name or
a list, ``"null"`` for a missing figure --, ``properties``, ``required``, ``items``, ``enum``,
``const``, ``minimum``, ``additionalProperties`` as a schema); every field is described in
docs/report_schema.md. :func:`validate` raises :class:`~axmac.errors.AxmacError` naming the first
field that does not conform, as a JSON path (``$.design.layers[2].cycles``). Objects may carry
fields the schema does not name (a later minor version adds fields; a reader ignores what it does
not know).
"""

from __future__ import annotations

from ..errors import AxmacError

STR, INT, NUM, BOOL, OBJ = ({"type": t} for t in ("string", "integer", "number", "boolean", "object"))


def _opt(s: dict) -> dict:
    """``s`` or null."""
    return {**s, "type": [s["type"], "null"]}


def _obj(props: dict, optional=()) -> dict:
    return {"type": "object", "properties": props, "required": [k for k in props if k not in optional]}


def _arr(items: dict) -> dict:
    return {"type": "array", "items": items}


FRACTIONS = _obj({k: {"type": "number", "minimum": 0} for k in ("zero", "one", "add_zero", "opposite", "mul_trivial",
                                                                 "add_trivial", "x_zero", "w_zero")})
ARRAY = _obj({"rows": INT, "cols": INT, "bits": INT, "signed": BOOL, "acc_bits": INT, "overflow": STR,
              "multiplier": STR, "bypass": STR, "gating": STR, "dataflow": STR, "acc_depth": INT, "counters": STR,
              "output_stage": STR, "clock_mhz": NUM})
POINT = _obj({"id": STR, "key": STR, "label": STR, "multipliers": OBJ, "bits": OBJ, "bypass": STR, "gating": STR,
              "strategies": _arr(STR), "accuracy": _opt(NUM), "area_um2": _opt(NUM), "energy_pj": _opt(NUM),
              "energy_stderr_pj": _opt(NUM), "macs": _opt(INT), "pj_per_mac": _opt(NUM), "saving_pct": _opt(NUM),
              "area_change_pct": _opt(NUM), "pe_area_um2": _opt(OBJ), "layers": {"type": ["array", "null"]}})
COSIM = _obj({"matched": BOOL, "cycles": INT, "macs": INT, "utilization": NUM, "simulated_cycles": INT,
              "sim_seconds": NUM, "cycles_per_second": NUM, "images": INT, "accuracy": NUM, "golden_accuracy": NUM,
              "agreement": _opt(NUM), "mismatch": OBJ,
              "layers": _arr(_obj({"name": STR, "cycles": INT, "macs": INT, "utilization": NUM, "runs": INT}))},
             optional=("accuracy", "golden_accuracy", "agreement", "mismatch"))

SYNTH = _obj({"target": STR, "figures": OBJ, "groups": _opt(OBJ), "notes": _arr(STR), "seconds": _opt(NUM)})
ENERGY = _obj({"images": INT, "samples_per_layer": INT, "runs_per_layer": INT, "library": STR, "period_ns": NUM,
               "designs": _arr(_obj({
                   "bypass": STR, "gating": STR, "inference_pj": NUM, "stderr_pj": NUM, "pj_per_mac": _opt(NUM),
                   "rest_share": NUM, "saving_pct": NUM, "pe_saving_pct": NUM, "explanation": _arr(STR),
                   "layers": _arr(_obj({"name": STR, "macs": INT, "pe_busy_pj": NUM, "pe_idle_pj": NUM,
                                        "rest_pj": NUM, "energy_pj": NUM, "stderr_pj": NUM,
                                        "pj_per_mac": _opt(NUM)}))}))})

SCHEMA = _obj({
    "format": {"const": "axmac-flow-report/1"}, "axmac": STR, "created": STR,
    "config": _obj({"model": _opt(STR), "dataset": _opt(STR), "inputs": _opt(STR), "limit": _opt(INT),
                    "rtl_images": INT, "array": ARRAY, "multipliers": _arr(STR), "bypasses": _arr(STR),
                    "max_loss_pp": NUM, "energy_images": INT, "energy_samples": INT, "seed": INT}),
    "model": _obj({"path": STR, "name": STR, "sha256": STR, "input": _obj({"name": STR, "shape": _arr(INT)}),
                   "layers": _arr(_obj({"name": STR, "kind": STR, "operand": STR, "M": INT, "K": INT, "N": INT,
                                        "macs": INT, "tiles": INT, "cycles": INT, "utilization": NUM})),
                   "macs": INT, "cycles": INT, "utilization": NUM,
                   "quantization": _obj({"bits": INT, "signed": BOOL, "per_channel": BOOL, "calibration": STR})}),
    "data": _obj({"dataset": _opt(STR), "inputs": _opt(STR), "labelled": BOOL, "samples": INT}),
    "accuracy": _opt(_obj({"exact": NUM, "onnxruntime": _opt(NUM), "onnxruntime_note": _opt(STR), "samples": INT,
                           "stderr": _opt(NUM)})),
    "trivial": _obj({"acc_chain": INT, "layers": _arr(_obj({"name": STR, "macs": INT, "counts": OBJ,
                                                            "fractions": FRACTIONS})),
                     "total": _obj({"macs": INT, "counts": OBJ, "fractions": FRACTIONS})}),
    "multipliers": _arr(_obj({"spec": STR, "mae": NUM, "wce": NUM, "mred": NUM, "wcre": NUM, "bias": NUM,
                              "error_variance": NUM, "error_probability": NUM, "exhaustive": BOOL})),
    "exploration": _obj({"objectives": OBJ, "points": _arr(POINT), "baseline": STR, "front": _arr(STR),
                         "fronts_2d": OBJ, "area": _obj({"method": STR}),
                         "energy": _obj({"method": STR, "images": INT, "segments_per_layer": INT, "seed": INT}),
                         "space": OBJ, "run": OBJ}),
    "sensitivity": _opt(_obj({"reference_accuracy": NUM, "rows": _arr(_obj({
        "layer": STR, "multiplier": STR, "bits": INT, "point": STR, "accuracy": NUM, "energy_pj": _opt(NUM)}))})),
    "choice": _obj({"rule": STR, "max_loss_pp": NUM, "reference_accuracy": _opt(NUM), "threshold": _opt(NUM),
                    "candidates": _arr(STR), "point": STR, "label": STR, "config": ARRAY, "on_front": BOOL}),
    "design": _obj({"point": STR, "label": STR, "config": ARRAY, "accuracy": _opt(NUM), "accuracy_stderr": _opt(NUM),
                    "area_um2": NUM, "pe_area_um2": OBJ, "energy_pj": NUM, "energy_stderr_pj": NUM,
                    "saving_pct": _opt(NUM), "area_change_pct": _opt(NUM), "cycles": INT, "cycles_rtl": INT,
                    "array_area_um2": _opt(NUM), "fmax_mhz": _opt(NUM), "array_energy_pj": _opt(NUM),
                    "array_energy_stderr_pj": _opt(NUM),
                    "layers": _arr(_obj({"name": STR, "kind": STR, "macs": INT, "cycles": INT,
                                         "cycles_rtl": _opt(INT), "utilization": NUM, "energy_pj": NUM,
                                         "stderr_pj": NUM, "pj_per_mac": _opt(NUM), "multiplier": STR,
                                         "trivial": FRACTIONS}))}),
    "bypass_breakdown": _opt(_obj({
        "points": _obj({"none": STR, "all": STR}),
        "energies_pj_per_slot": _obj({"mul": NUM, "add": NUM, "bypass_mul": NUM, "bypass_add": NUM}),
        "cases": _arr(_obj({"case": {"enum": ["a", "b", "d", "e"]}, "name": STR, "op": {"enum": ["MUL", "ADD"]},
                            "fraction": NUM, "saving": _opt(NUM), "paper_fraction": NUM, "paper_saving": NUM})),
        "eq1": NUM, "paper_eq1": NUM, "measured_saving": NUM})),
    "cosim": _obj({"inference": COSIM, "batch": _opt(COSIM), "matched": BOOL}),
    "synthesis": {"type": ["object", "null"], "additionalProperties": SYNTH},
    "energy": _opt(ENERGY),
    "rtl": _obj({"dir": STR, "top": STR, "files": _arr(STR), "verilog": _arr(STR), "timing": OBJ, "ports": INT}),
    "figures": _arr(_obj({"file": STR, "title": STR, "caption": STR})),
    "timing": _obj({"stages": _arr(_obj({"stage": STR, "seconds": NUM, "cached": BOOL})),
                    "total_seconds": _opt(NUM)}),
})

_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "object": dict, "array": list,
          "null": type(None)}


def _is(value, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES[name])


def _check(value, schema: dict, path: str) -> None:
    if "const" in schema and value != schema["const"]:
        raise AxmacError(f"report.json {path}: expected {schema['const']!r}, found {value!r}")
    if "enum" in schema and value not in schema["enum"]:
        raise AxmacError(f"report.json {path}: {value!r} is not one of {schema['enum']}")
    types = schema.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        if not any(_is(value, t) for t in types):
            raise AxmacError(f"report.json {path}: expected {' or '.join(types)}, found {type(value).__name__}")
    if "minimum" in schema and _is(value, "number") and value < schema["minimum"]:
        raise AxmacError(f"report.json {path}: {value} is below {schema['minimum']}")
    if isinstance(value, dict):
        for k in schema.get("required", ()):
            if k not in value:
                raise AxmacError(f"report.json {path}: missing field {k!r}")
        props = schema.get("properties", {})
        for k, sub in props.items():
            if k in value:
                _check(value[k], sub, f"{path}.{k}")
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for k in value.keys() - props.keys():
                _check(value[k], extra, f"{path}.{k}")
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            _check(v, schema["items"], f"{path}[{i}]")


def validate(doc: dict, schema: dict = SCHEMA) -> None:
    """Raise :class:`~axmac.errors.AxmacError` at the first field of ``doc`` that breaks ``schema``."""
    _check(doc, schema, "$")


def field_paths(schema: dict = SCHEMA, prefix: str = "") -> list[str]:
    """Every named field of the schema as a dotted path (``design.layers.cycles``), for the docs' check."""
    out = []
    for k, sub in schema.get("properties", {}).items():
        p = f"{prefix}{k}"
        out.append(p)
        inner = sub.get("items", sub.get("additionalProperties", sub))
        out += field_paths(inner if isinstance(inner, dict) else {}, f"{p}.")
    return out


__all__ = ["SCHEMA", "field_paths", "validate"]
