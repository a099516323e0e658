"""gen/options.py and gen/cli.py: one option vocabulary, help texts, --version, argument types.

The parser tree is walked as a user sees it (every command and subcommand), so a command added
later is checked without touching this file.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from axmac.gen import options
from axmac.gen.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
REST = re.compile(r"``|:(func|class|mod|data|meth|attr):`")


def commands(parser=None, prefix=()):
    """``(argv prefix, parser)`` of every command and subcommand."""
    parser = parser or build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name), sub
                yield from commands(sub, (*prefix, name))


def leaf_commands():
    return [(argv, p) for argv, p in commands()
            if not any(isinstance(a, argparse._SubParsersAction) for a in p._actions)]


def test_every_command_has_a_description_and_plain_help(capsys):
    seen = list(commands())
    assert {argv[0] for argv, _ in seen} >= {"demo", "multipliers", "info", "schedule", "run", "emulate"}
    for argv, p in seen:
        assert p.description and len(p.description) > 20, argv
        with pytest.raises(SystemExit) as e:
            main([*argv, "--help"])
        out = capsys.readouterr().out
        assert e.value.code == 0 and out.startswith("usage: axmac " + " ".join(argv)), argv
        assert not REST.search(out), (argv, REST.search(out).group(0))


def test_version_is_the_package_version(capsys):
    want = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"axmac {want}"


def test_a_warning_is_one_line(tmp_path):
    """A warning raised while a command runs prints as one line ``axmac: warning: ...`` (here a
    command that warns twice, once with a message of two lines, then succeeds)."""
    code = ("import argparse, sys, warnings\nfrom axmac.gen import cli\n"
            "def work(args):\n    warnings.warn('careful\\n  second line')\n"
            "    warnings.warn('again', RuntimeWarning)\n"
            "class Parser:\n    def parse_args(self, argv):\n        return argparse.Namespace(func=work)\n"
            "cli.build_parser = Parser\nsys.exit(cli.main([]))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    assert proc.stderr.splitlines() == ["axmac: warning: careful second line", "axmac: warning: again"]


def test_shared_options_are_spelled_and_shown_one_way():
    """A file a command writes is -o/--output, a folder --out-dir; --bits, --json, --batch-size,
    --multiplier... have one metavar and one type wherever they appear."""
    by_option: dict[str, set] = {}
    for argv, p in leaf_commands():
        for a in p._actions:
            if a.help == argparse.SUPPRESS or not a.option_strings:
                continue
            assert not set(a.option_strings) & {"--out", "--outputs", "--output-dir", "--outdir"}, (argv, a)
            if a.dest == "output":
                assert a.option_strings == ["-o", "--output"], argv
            if a.dest == "out_dir":
                assert a.option_strings == ["--out-dir"], argv
            by_option.setdefault(a.option_strings[-1], set()).add((a.metavar, a.type, repr(a.default)))
    for opt in ("--bits", "--json", "--batch-size", "--multiplier", "--bypass", "--layers", "--calibration",
                "--input-shape", "--dataset", "--limit"):
        variants = by_option.get(opt)
        assert variants, opt
        assert len({(m, t) for m, t, _ in variants}) == 1, (opt, variants)
    assert len({t for _, t, _ in by_option["--output"]}) == 1  # the metavar names the kind of file


@pytest.mark.parametrize("argv", [
    ["run", "models/digits_cnn.onnx", "--inputs", "x.npz", "-o", "o.npz"],
    ["emulate", "--dataset", "digits"],
])
@pytest.mark.parametrize("value,needle", [("0", "0 is out of range (1..2147483647)"),
                                          ("-3", "-3 is out of range (1..2147483647)"),
                                          ("many", "expected a positive integer, not 'many'")])
def test_one_batch_size_check(capsys, tmp_path, argv, value, needle):
    (tmp_path / "x.npz").write_bytes(b"")
    argv = [str(tmp_path / a) if a in ("x.npz", "o.npz") else a for a in argv]
    assert main([*argv, "--batch-size", value]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"axmac: error: {argv[0]}: argument --batch-size: {needle}"


def test_output_path_refuses_folders_files_and_nothing(tmp_path):
    (tmp_path / "f").write_text("")
    for bad, needle in ((str(tmp_path), "is a folder"), (f"{tmp_path}/f/out.json", "is not a folder"),
                        ("", "empty file name"), (f"{tmp_path}/sub/", "is a folder")):
        with pytest.raises(argparse.ArgumentTypeError, match=needle):
            options.output_path(bad)
    assert options.output_path(f"{tmp_path}/new/deeper/out.json") == tmp_path / "new/deeper/out.json"


@pytest.mark.parametrize("text,want", [("x=1x3x8x8", {"x": (1, 3, 8, 8)}), ("a=2x4,b=7", {"a": (2, 4), "b": (7,)})])
def test_input_shape(text, want):
    assert options.input_shape(text) == want


@pytest.mark.parametrize("text", ["x", "x=", "=1x2", "x=1x0", "x=1x-2", "x=axb", f"x={2**40}"])
def test_input_shape_refuses(text):
    with pytest.raises(argparse.ArgumentTypeError, match="NAME=D1xD2"):
        options.input_shape(text)


@pytest.mark.parametrize("text", ["nan", "inf", "0", "-1", "100.5", "x"])
def test_percentile_refuses(text):
    with pytest.raises(argparse.ArgumentTypeError):
        options.percentile(text)
