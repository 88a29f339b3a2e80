-- ci/bench's own data: one table and view in the FraiseQL style (id uuid, a
-- materialized jsonb `data` column), about 500 bytes of JSON per row, so that
-- the 10,000-row list response is about 5 MB. Deterministic: every value is a
-- function of the row number (generate_series, no random()).
--
-- psql variables (both optional):
--   rows    number of rows (default 10000)
--   schema  target schema (default bench); it is DROPPED and recreated, so a
--           second load gives the same schema and rows (idempotent)
--
--   psql -X -v ON_ERROR_STOP=1 -v rows=10000 -v schema=bench -f ci/bench_data.sql
--
-- Each row mixes what a response transform has to get right: strings with
-- non-ASCII text, quotes, a backslash and an emoji; numerics with a scale
-- (1234.50 stays 1234.50 on the native path); a nested object with a nested
-- object; a short list of strings and a short list of objects; keys present
-- with a null value; a free-form JSON field. Every number fits a float exactly
-- enough to survive psycopg's json.loads (float) and compare equal as a
-- Decimal: at most 15 significant digits.

\if :{?rows}
\else
  \set rows 10000
\endif
\if :{?schema}
\else
  \set schema bench
\endif

BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL datestyle = 'ISO, YMD';
SET LOCAL timezone = 'UTC';

DROP SCHEMA IF EXISTS :"schema" CASCADE;
CREATE SCHEMA :"schema";
SET LOCAL search_path = :"schema", public;

CREATE TABLE tb_person (
  id   uuid  NOT NULL,
  data jsonb NOT NULL
);

INSERT INTO tb_person (id, data)
SELECT p.id,
       jsonb_build_object(
         'id',          p.id::text,
         'first_name',  p.first_name,
         'last_name',   p.last_name,
         'email',       'person' || i || '@example.com',
         'age',         CASE WHEN i % 11 = 0 THEN NULL ELSE 18 + (i * 37) % 60 END,
         'balance',     (((i * 7919) % 1000000)::numeric / 100 - 2500)::numeric(12,2),
         'score',       (((i * 31) % 100000)::numeric / 1000)::numeric(8,3),
         'is_active',   i % 3 <> 0,
         'created_at',  to_char(timestamptz '2024-01-01 00:00:00+00'
                                  + ((i * 7919) % 31536000) * interval '1 second',
                                'YYYY-MM-DD"T"HH24:MI:SS') || '+00:00',
         'bio',         c.name || ': "quoted", a back\slash, 😀 #' || i,
         'nickname',    CASE WHEN i % 4 = 0 THEN NULL ELSE 'nick_' || i END,
         'manager_id',  NULL,
         'tags',        (ARRAY['["admin"]', '["dev", "ops"]',
                               '["dev", "on-call", "beta"]'])[1 + i % 3]::jsonb,
         'address',     jsonb_build_object(
                          'street',       (1 + (i * 7) % 999) || ' ' || c.street,
                          'city',         c.name,
                          'postal_code',  c.postal_prefix || lpad(((i * 7919) % 1000)::text, 3, '0'),
                          'country_code', c.country_code,
                          'coordinates',  jsonb_build_object(
                                            'lat', round(c.lat + ((i * 7919) % 1001 - 500)::numeric / 100000, 6),
                                            'lng', round(c.lng + ((i * 104729) % 1001 - 500)::numeric / 100000, 6))),
         'phones',      CASE WHEN i % 5 <> 0
                          THEN jsonb_build_array(
                                 jsonb_build_object('kind', 'mobile', 'number', '+47 ' || (40000000 + i)))
                          ELSE jsonb_build_array(
                                 jsonb_build_object('kind', 'mobile', 'number', '+47 ' || (40000000 + i)),
                                 jsonb_build_object('kind', 'work', 'number', '+47 ' || (22000000 + i)))
                        END,
         'preferences', jsonb_build_object(
                          'theme',      (ARRAY['dark', 'light'])[1 + i % 2],
                          'newsletter', i % 5 = 0)
       )
FROM (
  SELECT i,
         md5('bench-' || i)::uuid AS id,
         (ARRAY['Zoë', 'José', 'Łukasz', 'Ελένη', 'Анна', 'Mei 美', 'Seán', 'Say "Hi"'])[1 + i % 8]
           AS first_name,
         (ARRAY['O''Neil', 'Müller', 'Back\slash', 'Nordmann', 'García', '山田'])[1 + i % 6]
           || '-' || i % 13 AS last_name,
         i % 6 AS city
  FROM generate_series(1::bigint, :rows) AS i
) AS p
JOIN (VALUES
    (0, 'Oslo',      'Karl Johans gate', 'NO', '01',  59.913900,  10.752200),
    (1, 'Kraków',    'Floriańska',       'PL', '31',  50.064700,  19.945000),
    (2, 'Αθήνα',     'Ερμού',            'GR', '105', 37.983800,  23.727500),
    (3, 'Москва',    'Тверская улица',   'RU', '125', 55.755800,  37.617300),
    (4, 'São Paulo', 'Avenida Paulista', 'BR', '013', -23.550500, -46.633300),
    (5, '東京',       '銀座',              'JP', '104', 35.676200, 139.650300)
  ) AS c(n, name, street, country_code, postal_prefix, lat, lng)
  ON c.n = p.city;

ALTER TABLE tb_person ADD PRIMARY KEY (id);

CREATE VIEW v_person AS
  SELECT id, data FROM tb_person;

COMMIT;

ANALYZE :"schema".tb_person;
