"""Schema.load / load_json: the registry from a JSON file."""
import json
import pathlib

import pytest

EXAMPLE = (pathlib.Path(__file__).resolve().parents[2] / "where" / "testdata"
           / "schema_example.json")


def test_loaded_schema_queries_like_the_registered_one(fn, pool, sample, repo,
                                                       users):
    text = EXAMPLE.read_text().replace('"sample.', f'"{sample}.')
    schema = fn.Schema()
    schema.load_json(text)
    assert f"{sample}.v_user" in schema.views()
    loaded = fn.Repository(pool, schema)
    query = dict(where={"age": {"gte": 30}, "address": {"cityName": "Paris"}},
                 order_by=[{"age": "DESC"}, {"id": "ASC"}], limit=5,
                 selection="id firstName address { cityName }")
    assert loaded.find(users, **query) == repo.find(users, **query)


def test_load_errors_name_the_place(fn, tmp_path):
    bad = tmp_path / "schema.json"
    bad.write_text(json.dumps({"views": [
        {"name": "app.v", "type": "T", "fields": {"age": "Integer"}}]}))
    with pytest.raises(fn.InvalidInputError) as e:
        fn.Schema().load(str(bad))
    assert str(e.value).startswith(f"{bad}: views[0].fields.age: unknown kind "
                                   "'Integer'")
    with pytest.raises(fn.Error) as e:
        fn.Schema().load(str(tmp_path / "missing.json"))
    assert e.value.code == "NOT_FOUND"
