import subprocess
import sys

from foleyvae import __version__
from foleyvae.cli.main import main


def test_help_lists_commands(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "presets" in out and "foleyvae" in out


def test_version(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_errors_go_to_stderr_with_nonzero_exit(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["presets", "nope"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("foleyvae presets: error: unknown preset") and err.count("\n") == 1
    assert main(["presets", "tiny", "--set", "model.n_bands=3"]) == 1
    assert main(["no-such-command"]) == 2


def test_import_is_light() -> None:
    code = "import sys, foleyvae, foleyvae.cli.main as m; m.build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_presets_listing(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["presets"]) == 0
    assert "foley-small" in capsys.readouterr().out
