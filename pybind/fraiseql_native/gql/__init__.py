"""GraphQL over the native core: the schema's SDL, documents compiled once
and run natively, and graphql-core for the rest.

    from fraiseql_native.aio import AsyncRepository
    from fraiseql_native.gql import Engine, Mutation

    engine = Engine(AsyncRepository(pool, schema), schema,
                    mutations=[Mutation(...)])
    body = await engine.execute(query, variables, operation_name,
                                context={"tenant_id": ...})

See docs/graphql.md.
"""

from .engine import Engine
from .sdl import Mutation, build_sdl

__all__ = ["Engine", "Mutation", "build_sdl"]
