"""hadamhw: HadamRNN / Block-HadamRNN from training to bit-exact hardware.

The notebook API (hadamhw.api) is reachable from here, imported on first use so that
`import hadamhw` stays light: hadamhw.load, hadamhw.lower, hadamhw.generate,
hadamhw.open_design, hadamhw.Design.
"""

__version__ = "0.1.0"

_API = ("Design", "generate", "load", "lower", "open_design")
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        from hadamhw import api

        return getattr(api, name)
    raise AttributeError(f"module 'hadamhw' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
