"""The one base class for errors a user can fix (bad input, bad config, missing file).

The CLI prints these as one line on stderr and exits non-zero; anything else is a bug and keeps its traceback.
"""


class FoleyError(Exception):
    """An error caused by the user's input; its message is one line naming what is wrong."""


def first_line(e: BaseException) -> str:
    """The first line of an exception's message, or its type name when the message is empty (for one-line errors)."""
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


class MissingDependencyError(FoleyError):
    """An optional dependency is not installed; the message names the extra to install."""


def require(module: str, extra: str):  # type: ignore[no-untyped-def]
    """Import an optional module or raise MissingDependencyError naming the pip extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(
            f"{module} is not installed; install it with: pip install 'foleyvae[{extra}]'"
        ) from None
