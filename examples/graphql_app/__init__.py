"""A GraphQL-over-HTTP server on fraiseql_native (Starlette + uvicorn): see
app.py and README.md."""
