"""Recon: reasoning like an economist."""

__version__ = "0.1.0"


def lazy_exports(package: str, exports: dict[str, str]):
    """A package's module `__getattr__` that imports each name of `exports` (name -> submodule) on first use,
    so that a command's `--help` loads none of the machinery behind it."""
    import importlib

    def __getattr__(name: str):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{exports[name]}"), name)

    return __getattr__
