"""Type stubs for the fraiseql_native extension module."""
from decimal import Decimal
from uuid import UUID
from typing import (Any, Callable, Dict, Iterable, List, Mapping, Optional,
                    Sequence,
                    Tuple, Union)

Json = Union[None, bool, int, float, str, Mapping[str, Any], Sequence[Any]]

# The value of sum/min/max: int for Int and Port fields, Decimal for Float and
# Decimal fields, str for Date (YYYY-MM-DD), DateTime (ISO 8601 in UTC,
# e.g. "2024-01-01T02:11:59+00:00") and text fields; None over no values.
Aggregate = Union[int, Decimal, str, None]

# Request context of one call: "tenant_id", "user_id" and "app.<name>"
# (<name>: [a-z_][a-z0-9_]*) to values of type str, int, bool, Decimal
# (finite) or UUID, sent as the text str() gives. At most 64 keys of at most
# 128 bytes, values of at most 4096 bytes and without NUL; anything else
# (None, float, dict, ...) raises InvalidInputError naming the key.
# Set with set_config(name, value, true) inside the statement's transaction:
# visible to it (current_setting('app.tenant_id', true), RLS policies), gone
# at COMMIT.
Context = Optional[Mapping[str, Union[str, int, bool, Decimal, UUID]]]

# Limits of the Python boundary (every call; over one: InvalidInputError
# naming the argument, the input path and the limit):
# - where, order_by: nesting depth 64, 10000 values, 64 KiB of JSON (also
#   as JSON text); mutation input: depth 64, 100000 values, 1 MiB.
#   Dicts or lists that contain themselves, sets, NaN/infinity, non-str
#   keys, str with lone surrogates and ints over 4096 bits are refused.
# - timeout=: seconds > 0 and at most 2147483.647 (the server's
#   statement_timeout maximum); the same for Transaction.commit/rollback.
# - chunk_bytes: 1 to 67108864 (64 MiB).

class Error(Exception):
    code: str
    sqlstate: Optional[str]

class InvalidInputError(Error, ValueError): ...
class DatabaseUnavailableError(Error, ConnectionError): ...
class PoolTimeoutError(Error, TimeoutError): ...
class PoolExhaustedError(Error): ...

class QueryTimeoutError(Error, TimeoutError):
    """A query ran past its `timeout` (client deadline: cancelled on the
    server; or the server's statement_timeout). The pool stays usable."""

class QueryCancelledError(Error):
    """The statement was cancelled on the server (SQLSTATE 57014, no
    timeout involved)."""
class DatabaseError(Error): ...
class ResponseTooLargeError(Error):
    """The body passed the repository's max_response_bytes: the query was
    cancelled on the server and nothing was returned. (A find_stream or
    execute_stream that already yielded pieces ends instead with valid JSON
    naming the cap in its "errors".)"""
class TransactionError(Error):
    """A transaction used after an earlier error aborted it (roll it back),
    or after it ended."""

class Pool:
    def __init__(
        self,
        url: Optional[str] = None,
        min_size: int = 0,
        max_size: int = 10,
        acquire_timeout: float = 10.0,
        connect_timeout: float = 10.0,
        application_name: str = "fraiseql-native",
        idle_timeout: float = 600.0,
        max_lifetime: float = 3600.0,
        health_check_after_idle: float = 1.0,
        reconnect_backoff_base: float = 0.1,
        reconnect_backoff_max: float = 10.0,
        reconnect_jitter: float = 0.2,
        max_waiters: int = 1000,
        statement_timeout: float = 0.0,
        maintenance_interval: float = 1.0,
        settings: Mapping[str, str] = ...,
    ) -> None:
        """settings: server settings set on every connection at connect
        (e.g. {"plan_cache_mode": "force_generic_plan"}); the pinned ones
        (TimeZone, DateStyle, ...) cannot be changed. A URL's own
        `options` (or PGOPTIONS) are kept."""
        ...
    def stats(self) -> Dict[str, Union[int, str]]: ...

class Schema:
    def __init__(self) -> None: ...
    def add_type(self, name: str, fields: Mapping[str, str]) -> None: ...
    def add_view(
        self,
        name: str,
        type_name: str,
        fields: Mapping[str, str],
        columns: Mapping[str, str] = ...,
        jsonb_column: str = "data",
        foreign_keys: Mapping[str, str] = ...,
        operators: Optional[Sequence[str]] = None,
        text_search_config: str = "english",
    ) -> None: ...
    def load(self, path: str) -> None: ...
    def load_json(self, text: str) -> None: ...
    def views(self) -> List[str]: ...
    def describe(self) -> Dict[str, Any]:
        """{'types': {name: [field]}, 'views': [{'name', 'type',
        'jsonb_column', 'columns': [[name, pg_type]], 'fields': [field],
        'allowed_operators', 'text_search_config'}]}; field = {'name',
        'key', 'kind', 'object_type', 'element_kind', 'column',
        'fk_column'}."""
        ...

class Repository:
    def __init__(
        self,
        pool: Pool,
        schema: Schema,
        chunk_rows: int = 256,
        always_typename: bool = False,
        plan_cache_size: int = 1024,
        prepared_statements: bool = True,
        pgbouncer: bool = False,
        max_response_bytes: int = 0,
        read_pool: Optional[Pool] = None,
        statement_timeout: float = 30.0,
        cursor_secret: Union[bytes, str, None] = None,
        max_root_fields: int = 64,
        backend: str = "native",
        backend_options: Optional[Mapping[str, Any]] = None,
        on_call: Optional[Callable[[Dict[str, Any]], None]] = None,
    ) -> None:
        """max_response_bytes: past it a query is cancelled and raises
        ResponseTooLargeError (a streamed body that already sent bytes ends
        with the error in "errors"); 0: no cap. read_pool: queries read
        from it; mutate() and transaction() use `pool`. statement_timeout:
        seconds a statement may run on the server when a call gives no
        timeout= (0: none; at most 2147483.647), set per transaction so it
        works through PgBouncer. cursor_secret: the key Relay cursors are
        signed with (1 to 4096 bytes; a str as UTF-8); None: a random secret
        per process, so every process of a deployment must be given the
        same secret for cursors to work across them and across restarts.
        max_root_fields: root fields one execute() may carry (0: no
        limit); more raise InvalidInputError before planning. backend: the
        registered backend to run on (backends()); backend_options: its
        options (values passed as text); chunk_rows, prepared_statements
        and pgbouncer apply to "native" only. on_call: receives one dict per
        finished call (operation, view, shape, backend, acquire_wait and
        execution in seconds, rows, bytes, sqlstate, error), on the thread
        that takes the result."""
        ...
    @property
    def backend(self) -> str: ...
    def find(
        self,
        view: str,
        *,
        field: Optional[str] = None,
        where: Union[Json, str] = None,
        order_by: Union[Json, str] = None,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
        selection: Optional[str] = None,
        first: Optional[int] = None,
        after: Optional[str] = None,
        last: Optional[int] = None,
        before: Optional[str] = None,
        total_count: bool = False,
        context: Context = None,
        timeout: Optional[float] = None,
    ) -> bytes:
        """{"data":{field:[...]}} bytes; with any of first/after/last/before
        or total_count=True a Relay connection instead:
        {"data":{field:{"edges":[{"cursor":..,"node":{..}}],"pageInfo":
        {"hasNextPage":..,"hasPreviousPage":..,"startCursor":..,
        "endCursor":..}[,"totalCount":n]}}}. Pages are keyset-paginated over
        order_by plus the view's id; cursors are opaque strings of earlier
        responses. Paging forward, hasPreviousPage is false; paging backward,
        hasNextPage is false (as graphql-relay-js). Not combinable with
        limit/offset, nor first with last."""
        ...
    def find_one(
        self,
        view: str,
        *,
        field: Optional[str] = None,
        where: Union[Json, str] = None,
        order_by: Union[Json, str] = None,
        offset: Optional[int] = None,
        selection: Optional[str] = None,
        context: Context = None,
        timeout: Optional[float] = None,
    ) -> bytes: ...
    def count(
        self, view: str, *, where: Union[Json, str] = None,
        context: Context = None, timeout: Optional[float] = None,
    ) -> int: ...
    def exists(
        self, view: str, *, where: Union[Json, str] = None,
        context: Context = None, timeout: Optional[float] = None,
    ) -> bool: ...
    def sum(
        self, view: str, field: str, *, where: Union[Json, str] = None,
        context: Context = None, timeout: Optional[float] = None,
    ) -> Union[int, Decimal, None]:
        """Sum of a number field (a dotted path: "address.zip"); None over
        no values."""
        ...
    def avg(
        self, view: str, field: str, *, where: Union[Json, str] = None,
        context: Context = None, timeout: Optional[float] = None,
    ) -> Optional[Decimal]: ...
    def min(
        self, view: str, field: str, *, where: Union[Json, str] = None,
        context: Context = None, timeout: Optional[float] = None,
    ) -> Aggregate: ...
    def max(
        self, view: str, field: str, *, where: Union[Json, str] = None,
        context: Context = None, timeout: Optional[float] = None,
    ) -> Aggregate: ...
    def distinct(
        self,
        view: str,
        field: str,
        *,
        where: Union[Json, str] = None,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
        context: Context = None,
        timeout: Optional[float] = None,
    ) -> List[Any]:
        """Distinct values ascending by the field's type, None last; values
        typed as for min/max (bool for Boolean, Python objects for JSON and
        lists)."""
        ...
    def explain(
        self,
        view: str,
        *,
        where: Union[Json, str] = None,
        order_by: Union[Json, str] = None,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
        first: Optional[int] = None,
        after: Optional[str] = None,
        last: Optional[int] = None,
        before: Optional[str] = None,
        total_count: bool = False,
    ) -> Tuple[str, List[Optional[str]]]: ...
    def execute(
        self, query_definition: bytes, *, context: Context = None,
        timeout: Optional[float] = None,
    ) -> bytes: ...
    def find_stream(
        self,
        view: str,
        *,
        field: Optional[str] = None,
        where: Union[Json, str] = None,
        order_by: Union[Json, str] = None,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
        selection: Optional[str] = None,
        context: Context = None,
        timeout: Optional[float] = None,
        chunk_bytes: int = 65536,
    ) -> "BodyIterator":
        """find() as pieces of about chunk_bytes (1 to 64 MiB; joined:
        find()'s body), read from the server as they are taken: bounded
        memory, and a slow consumer slows the reads. close() cancels the
        query."""
        ...
    def execute_stream(
        self, query_definition: bytes, *, context: Context = None,
        timeout: Optional[float] = None, chunk_bytes: int = 65536,
    ) -> "BodyIterator": ...
    def mutate(
        self,
        function: str,
        input: Union[Mapping[str, Any], str],
        *,
        field: Optional[str] = None,
        success_type: str,
        error_type: str,
        entity_field: str = "",
        entity_type: str = "",
        success_selection: Optional[str] = None,
        error_selection: Optional[str] = None,
        context_args: Sequence[str] = (),
        context: Context = None,
        timeout: Optional[float] = None,
    ) -> bytes:
        """Calls `function`(context_args values..., input::jsonb) returning
        mutation_response, in a transaction carrying `context` (a savepoint
        inside transaction()). success/created/updated/deleted commit and
        are written with success_type; other statuses roll back and are
        written with error_type and `code` (noop:/validation: 422,
        unauthorized: 401, forbidden: 403, not_found: 404, conflict: 409,
        timeout: 408, failed: and unknown 500). A raising function rolls
        back and raises DatabaseError."""
        ...
    def transaction(
        self, *, isolation: str = "read_committed", read_only: bool = False,
        context: Context = None, timeout: Optional[float] = None,
    ) -> "Transaction":
        """isolation: 'read_committed', 'repeatable_read' or 'serializable'.
        `with repo.transaction(context=...) as tx:` commits at the end and
        rolls back on an exception."""
        ...
    def plan_cache_stats(self) -> Dict[str, int]:
        """hits, misses, evictions, size, capacity of the shape cache."""
        ...
    def run(
        self, sql: str, params: Optional[Sequence[Any]] = None, *,
        fetch: bool = True, context: Context = None,
        timeout: Optional[float] = None,
    ) -> List[Dict[str, Any]]:
        """One raw statement with $1..$n bound to params, on the writer
        pool (in the transaction, inside one). fetch=True: the rows as dicts
        (the statement must fit in a WITH); fetch=False: returns []."""
        ...

class PendingCall:
    """A call queued by AsyncRepository (fraiseql_native.aio awaits it)."""
    @property
    def id(self) -> int: ...
    def result(self) -> Any: ...
    def cancel(self) -> None: ...

class AsyncRepository:
    """Repository's calls queued for an event loop: each returns a
    PendingCall. Use fraiseql_native.aio.AsyncRepository."""
    def __init__(self, repository: Repository, concurrency: int) -> None: ...
    @property
    def fd(self) -> int: ...
    def drain(self) -> List[int]: ...
    def stats(self) -> Dict[str, int]: ...
    def find(self, view: str, **kwargs: Any) -> PendingCall: ...
    def find_one(self, view: str, **kwargs: Any) -> PendingCall: ...
    def count(self, view: str, **kwargs: Any) -> PendingCall: ...
    def exists(self, view: str, **kwargs: Any) -> PendingCall: ...
    def sum(self, view: str, field: str, **kwargs: Any) -> PendingCall: ...
    def avg(self, view: str, field: str, **kwargs: Any) -> PendingCall: ...
    def min(self, view: str, field: str, **kwargs: Any) -> PendingCall: ...
    def max(self, view: str, field: str, **kwargs: Any) -> PendingCall: ...
    def distinct(self, view: str, field: str, **kwargs: Any) -> PendingCall: ...
    def execute(self, query_definition: bytes, **kwargs: Any) -> PendingCall: ...
    def mutate(self, function: str, input: Any, **kwargs: Any) -> PendingCall: ...
    def run(self, sql: str, params: Optional[Sequence[Any]] = None,
            **kwargs: Any) -> PendingCall: ...
    def transaction(self, **kwargs: Any) -> PendingCall: ...
    def find_stream(self, view: str, **kwargs: Any) -> PendingCall: ...
    def execute_stream(self, query_definition: bytes,
                       **kwargs: Any) -> PendingCall: ...

class AsyncTransaction(AsyncRepository):
    def commit(self, timeout: Optional[float] = None) -> PendingCall: ...
    def rollback(self, timeout: Optional[float] = None) -> PendingCall: ...
    @property
    def open(self) -> bool: ...

class AsyncBodyIterator:
    def next(self) -> PendingCall: ...
    def close(self) -> PendingCall: ...
    def cancel(self) -> None: ...

def camel_case(name: str) -> str: ...
class OperatorField:
    """The field a custom operator renders against."""
    name: str
    kind: str
    typed: str
    text: str
    jsonb: str
    value_type: str
def operators() -> List[Dict[str, Any]]:
    """Every registered operator: key, name, aliases, kinds, value,
    graphql_type ($field/$element placeholders; "" means JSON),
    description, example."""
    ...
def register_operator(
    key: str,
    name: str,
    kinds: List[str],
    render: Callable[[OperatorField, Any, Callable[[Any, str], str]], str],
    aliases: List[str] = ...,
    description: str = "",
    example: str = "",
    value: str = "",
    graphql_type: str = "",
) -> None:
    """For Repositories created afterwards. render(field, value, bind)
    returns SQL at plan time; bind(value, field.value_type) adds a
    parameter and returns its placeholder."""
    ...
class Transaction(Repository):
    """Every call runs in the transaction (calls take timeout=, not
    context=). After a failed statement: TransactionError until rollback()."""
    open: bool
    def commit(self, timeout: Optional[float] = None) -> None: ...
    def rollback(self, timeout: Optional[float] = None) -> None: ...
    def __enter__(self) -> "Transaction": ...
    def __exit__(self, *exc: Any) -> bool: ...
class BodyIterator:
    """Thread-safe: close() may be called while another thread is inside
    next(); that next() and every later one raise StopIteration."""
    def __iter__(self) -> "BodyIterator": ...
    def __next__(self) -> bytes: ...
    def close(self) -> None: ...
    def __enter__(self) -> "BodyIterator": ...
    def __exit__(self, *exc: Any) -> bool: ...

# Backends by name (plugins/backend_registry.h).
def register_backend(
    name: str, factory: Callable[[str, Dict[str, str]], Any]
) -> None:
    """factory(url, options) -> an object with execute(statements, context)
    and optionally begin(isolation, read_only, context) and close(). The
    factory may declare known_differences (a class attribute when it is the
    class). ValueError for a malformed or taken name."""
    ...
def backends() -> List[str]: ...
def backend_known_differences(name: str) -> Dict[str, Dict[str, str]]: ...

# The parity comparator (plugins/parity/comparator.h).
class Difference:
    path: str
    @property
    def kind(self) -> str: ...
    @property
    def primary(self) -> Optional[str]: ...
    @property
    def candidate(self) -> Optional[str]: ...
    @property
    def rule(self) -> Optional[str]: ...
    def to_dict(self) -> Dict[str, Any]: ...
class Comparison:
    differences: List[Difference]
    unexplained: int
    explained: int
    ignored: int
    truncated: bool
    @property
    def equal(self) -> bool: ...
    def to_dict(self) -> Dict[str, Any]: ...
def compare(
    primary: Union[bytes, str],
    candidate: Union[bytes, str],
    *,
    check_key_order: bool = False,
    ignore: Iterable[str] = (),
    rules: Iterable[Tuple[str, str]] = (),
    redact: bool = False,
    max_differences: int = 100,
) -> Comparison: ...
def comparison_classifiers() -> Dict[str, str]: ...
