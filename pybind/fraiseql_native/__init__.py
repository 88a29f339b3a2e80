"""fraiseql_native: GraphQL response bytes from PostgreSQL views, natively.

The extension (fraiseql_native._native) holds the core: Pool, Schema,
Repository, the operator and backend registries and the comparator. This
package re-exports it, adds the Python backend plugins
(fraiseql_native.plugins) and the parity tools (fraiseql_native.parity:
shadow traffic, recording, replay and its report)."""
from . import _native
from ._native import *  # noqa: F401,F403  (the public API is the extension's)

__doc__ = __doc__  # keep the package's own docstring over the extension's

# Python backend plugins register themselves when imported.
from . import plugins as _plugins  # noqa: E402

_plugins.load()
