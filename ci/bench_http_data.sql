-- ci/bench-http's data: the relational tables a PostGraphile user would have
-- (users, posts, comments, foreign keys and their indexes) and, over them, the
-- FraiseQL-style JSONB views our app serves (v_user, v_post with its author
-- embedded, v_comment with its author and post embedded; `id` and the foreign
-- key columns as real columns, the object in `data jsonb`). The sizes of
-- FraiseQL's published benchmark by default: 10,000 users, 50,000 posts,
-- 200,000 comments. Deterministic: every value is a function of the row
-- number (generate_series, md5 for the uuids, no random()), so two loads give
-- the same rows and both servers see the same data.
--
-- psql variables (all optional):
--   schema    target schema (default bench_http); DROPPED and recreated
--   users     rows of users (default 10000)
--   posts     rows of posts (default 50000)
--   comments  rows of comments (default 200000)
--   materialized  1: the JSONB "views" are materialized views (FraiseQL's
--             table-backed tv_ pattern: `data` built once at load time, read
--             as stored), with a unique index on id and indexes on the
--             foreign keys and posts' is_published; default 0 (plain views:
--             PostgreSQL builds `data` on every read, as for PostGraphile)
--
--   psql -X -v ON_ERROR_STOP=1 -v schema=bench_http -f ci/bench_http_data.sql
--
-- The views carry the smart comment `@omit`, so PostGraphile (which
-- introspects the whole schema) serves only the tables, as it would for a
-- user who never made the views.

\if :{?schema}
\else
  \set schema bench_http
\endif
\if :{?users}
\else
  \set users 10000
\endif
\if :{?posts}
\else
  \set posts 50000
\endif
\if :{?comments}
\else
  \set comments 200000
\endif
\if :{?materialized}
\else
  \set materialized 0
\endif
\if :materialized
  \set viewkind 'MATERIALIZED VIEW'
\else
  \set viewkind 'VIEW'
\endif

BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL timezone = 'UTC';

DROP SCHEMA IF EXISTS :"schema" CASCADE;
CREATE SCHEMA :"schema";
SET LOCAL search_path = :"schema", public;

-- The uuid of row i of a table: the same on every load.
CREATE FUNCTION row_uuid(kind text, i bigint) RETURNS uuid
  LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT md5('bench_http:' || kind || ':' || i)::uuid $$;
COMMENT ON FUNCTION row_uuid(text, bigint) IS E'@omit';

CREATE TABLE users (
  id         uuid        PRIMARY KEY,
  username   text        NOT NULL UNIQUE,
  full_name  text        NOT NULL,
  email      text        NOT NULL,
  created_at timestamptz NOT NULL
);

CREATE TABLE posts (
  id           uuid        PRIMARY KEY,
  author_id    uuid        NOT NULL REFERENCES users (id),
  title        text        NOT NULL,
  body         text        NOT NULL,
  is_published boolean     NOT NULL,
  published_at timestamptz,
  created_at   timestamptz NOT NULL
);
CREATE INDEX posts_author_id_idx ON posts (author_id);

CREATE TABLE comments (
  id         uuid        PRIMARY KEY,
  post_id    uuid        NOT NULL REFERENCES posts (id),
  author_id  uuid        NOT NULL REFERENCES users (id),
  body       text        NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX comments_post_id_idx ON comments (post_id);
CREATE INDEX comments_author_id_idx ON comments (author_id);

INSERT INTO users (id, username, full_name, email, created_at)
SELECT row_uuid('user', i),
       'user_' || lpad(i::text, 6, '0'),
       (ARRAY['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances',
              'Ken', 'Margaret', 'Niklaus', 'Zoë', 'José'])[1 + i % 12]
         || ' ' ||
       (ARRAY['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth',
              'Allen', 'Thompson', 'Hamilton', 'Wirth', 'O''Brien'])[1 + (i / 12) % 11],
       'user' || i || '@example.com',
       timestamptz '2023-01-01 00:00:00+00' + ((i::bigint * 7919) % 31536000) * interval '1 second'
FROM generate_series(1, :users) AS i;

INSERT INTO posts (id, author_id, title, body, is_published, published_at,
                   created_at)
SELECT row_uuid('post', i),
       row_uuid('user', 1 + (i * 7) % :users),
       'Post ' || i || ': notes on ' ||
         (ARRAY['indexes', 'query plans', 'JSONB', 'pooling', 'GraphQL',
                'caching', 'replication', 'vacuum'])[1 + i % 8],
       'Body of post ' || i || '. ' ||
         repeat('Lorem ipsum dolor sit amet, consectetur adipiscing elit. ', 1 + i % 4),
       i % 5 <> 0,
       CASE WHEN i % 5 <> 0
            THEN timestamptz '2024-01-01 00:00:00+00' + ((i::bigint * 104729) % 31536000) * interval '1 second'
       END,
       timestamptz '2023-06-01 00:00:00+00' + ((i::bigint * 104723) % 31536000) * interval '1 second'
FROM generate_series(1, :posts) AS i;

INSERT INTO comments (id, post_id, author_id, body, created_at)
SELECT row_uuid('comment', i),
       row_uuid('post', 1 + (i * 13) % :posts),
       row_uuid('user', 1 + (i * 17) % :users),
       'Comment ' || i || ': ' ||
         (ARRAY['Agreed.', 'Nice write-up, thanks!', 'What about "NULL"s?',
                'This matches what we saw in production.'])[1 + i % 4],
       timestamptz '2024-03-01 00:00:00+00' + ((i::bigint * 15485863) % 31536000) * interval '1 second'
FROM generate_series(1, :comments) AS i;

-- The FraiseQL-style views: real columns for the id and the foreign keys
-- (filters and joins on them use the tables' indexes), the object in `data`
-- with snake_case keys (the GraphQL names are their camelCase).
CREATE :viewkind v_user AS
SELECT u.id,
       jsonb_build_object(
         'id',         u.id,
         'username',   u.username,
         'full_name',  u.full_name,
         'email',      u.email,
         'created_at', u.created_at) AS data
FROM users u;

CREATE :viewkind v_post AS
SELECT p.id, p.author_id, p.is_published,
       jsonb_build_object(
         'id',           p.id,
         'title',        p.title,
         'body',         p.body,
         'is_published', p.is_published,
         'published_at', p.published_at,
         'created_at',   p.created_at,
         'author',       jsonb_build_object(
                           'id',        u.id,
                           'username',  u.username,
                           'full_name', u.full_name)) AS data
FROM posts p
JOIN users u ON u.id = p.author_id;

CREATE :viewkind v_comment AS
SELECT c.id, c.post_id, c.author_id,
       jsonb_build_object(
         'id',         c.id,
         'body',       c.body,
         'created_at', c.created_at,
         'author',     jsonb_build_object(
                         'id',        u.id,
                         'username',  u.username,
                         'full_name', u.full_name),
         'post',       jsonb_build_object(
                         'id',        p.id,
                         'title',     p.title)) AS data
FROM comments c
JOIN users u ON u.id = c.author_id
JOIN posts p ON p.id = c.post_id;

COMMENT ON :viewkind v_user IS E'@omit';
COMMENT ON :viewkind v_post IS E'@omit';
COMMENT ON :viewkind v_comment IS E'@omit';

\if :materialized
CREATE UNIQUE INDEX v_user_id_idx ON v_user (id);
CREATE UNIQUE INDEX v_post_id_idx ON v_post (id);
CREATE INDEX v_post_author_id_idx ON v_post (author_id);
CREATE UNIQUE INDEX v_comment_id_idx ON v_comment (id);
CREATE INDEX v_comment_post_id_idx ON v_comment (post_id);
CREATE INDEX v_comment_author_id_idx ON v_comment (author_id);
\endif

COMMIT;

ANALYZE :"schema".users;
ANALYZE :"schema".posts;
ANALYZE :"schema".comments;
\if :materialized
ANALYZE :"schema".v_user;
ANALYZE :"schema".v_post;
ANALYZE :"schema".v_comment;
\endif
