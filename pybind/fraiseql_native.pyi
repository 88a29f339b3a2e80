"""Type stubs for the fraiseql_native extension module."""
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

Json = Union[None, bool, int, float, str, Mapping[str, Any], Sequence[Any]]

class Error(Exception):
    code: str
    sqlstate: Optional[str]

class InvalidInputError(Error, ValueError): ...
class DatabaseUnavailableError(Error, ConnectionError): ...
class PoolTimeoutError(Error, TimeoutError): ...
class DatabaseError(Error): ...

class Pool:
    def __init__(
        self,
        url: Optional[str] = None,
        min_size: int = 0,
        max_size: int = 10,
        acquire_timeout: float = 10.0,
        connect_timeout: float = 10.0,
        application_name: str = "fraiseql-native",
    ) -> None: ...
    def stats(self) -> Dict[str, int]: ...

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
    def views(self) -> List[str]: ...

class Repository:
    def __init__(
        self,
        pool: Pool,
        schema: Schema,
        chunk_rows: int = 256,
        always_typename: bool = False,
    ) -> None: ...
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
    ) -> bytes: ...
    def find_one(
        self,
        view: str,
        *,
        field: Optional[str] = None,
        where: Union[Json, str] = None,
        order_by: Union[Json, str] = None,
        offset: Optional[int] = None,
        selection: Optional[str] = None,
    ) -> bytes: ...
    def explain(
        self,
        view: str,
        *,
        where: Union[Json, str] = None,
        order_by: Union[Json, str] = None,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
    ) -> Tuple[str, List[Optional[str]]]: ...
    def execute(self, query_definition: bytes) -> bytes: ...

def camel_case(name: str) -> str: ...
