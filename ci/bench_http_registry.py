"""ci/bench-http's views (ci/bench_http_data.sql) as a fraiseql_native.Schema.

The app loads it through the environment (examples/graphql_app/app.py):

    FRAISEQL_SCHEMA=bench_http FRAISEQL_REGISTRY=bench_http_registry:register
    FRAISEQL_MUTATIONS=bench_http_registry:MUTATIONS

with ci/ on PYTHONPATH. The GraphQL roots that follow from the type names
(the SDL contract): users / user(id:), posts / post(id:), comments /
comment(id:), and their connections.
"""

# The bench defines no mutations (the app's default is the sample's).
MUTATIONS = ()

# The embedded objects of v_post.data.author, v_comment.data.author and
# v_comment.data.post: what the views build, not the whole row.
AUTHOR_FIELDS = {"id": "UUID", "username": "String", "full_name": "String"}
POST_REF_FIELDS = {"id": "UUID", "title": "String"}


def register(fraiseql_native, schema_name="bench_http"):
    """Returns a new Schema with <schema_name>.v_user (User), .v_post (Post)
    and .v_comment (Comment); Author and PostRef are their embedded
    objects."""
    schema = fraiseql_native.Schema()
    schema.add_type("Author", AUTHOR_FIELDS)
    schema.add_type("PostRef", POST_REF_FIELDS)
    schema.add_view(
        f"{schema_name}.v_user", "User",
        {"id": "UUID", "username": "String", "full_name": "String",
         "email": "String", "created_at": "DateTime"},
        columns={"id": "uuid", "data": "jsonb"})
    schema.add_view(
        f"{schema_name}.v_post", "Post",
        {"id": "UUID", "title": "String", "body": "String",
         "is_published": "Boolean", "published_at": "DateTime",
         "created_at": "DateTime", "author": "Author"},
        columns={"id": "uuid", "author_id": "uuid", "is_published": "boolean",
                 "data": "jsonb"},
        foreign_keys={"author": "author_id"})
    schema.add_view(
        f"{schema_name}.v_comment", "Comment",
        {"id": "UUID", "body": "String", "created_at": "DateTime",
         "author": "Author", "post": "PostRef"},
        columns={"id": "uuid", "post_id": "uuid", "author_id": "uuid",
                 "data": "jsonb"},
        foreign_keys={"author": "author_id", "post": "post_id"})
    return schema
