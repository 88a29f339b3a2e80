"""Python backend plugins. Each module here (copied from its plugin folder,
e.g. plugins/backends/legacy_psycopg/, by //pybind:backend_plugins) calls
fraiseql_native.register_backend(...) when imported; load() imports them
all, in name order, once."""
import importlib
import pkgutil

_loaded = False


def load():
    """Imports every backend plugin module of this package (idempotent)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        importlib.import_module(f"{__name__}.{module}")
