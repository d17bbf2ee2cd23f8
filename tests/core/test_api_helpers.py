import pytest
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from apps.core.api import fields_param, list_params, not_found, path_tenant, query_flag, search_q
from apps.core.errors import ApiError

TREE = {"id": None, "name": None, "metadata": {"version": None}}


def get(query=None, headers=None):
    return Request(APIRequestFactory().get("/", query or {}, headers=headers or {}))


def post(body):
    raw = APIRequestFactory().post("/", body, format="json")
    return Request(raw, parsers=[JSONParser()])


@pytest.mark.parametrize(("raw", "expected"), [("true", True), (" TRUE ", True), ("false", False), ("False", False)])
def test_a_flag_is_read_whatever_its_case_and_surrounding_spaces(raw, expected):
    assert query_flag(get({"force": raw}), "force") is expected


def test_a_flag_that_is_absent_is_false():
    assert query_flag(get(), "force") is False


@pytest.mark.parametrize("raw", ["", "1", "yes", "truee"])
def test_a_flag_that_is_neither_true_nor_false_is_refused_naming_it(raw):
    with pytest.raises(ApiError) as caught:
        query_flag(get({"force": raw}), "force")
    assert (caught.value.status_code, caught.value.field) == (400, "force")
    assert str(caught.value.detail) == "force must be true or false."


def test_a_search_takes_q_from_its_json_object_body():
    assert search_q(post({"q": "name:~x"}), example="name:~support") == "name:~x"
    assert search_q(post({}), example="name:~support") is None


@pytest.mark.parametrize("body", [["q"], "q", 3])
def test_a_search_body_that_is_not_an_object_is_refused_with_the_example_given(body):
    with pytest.raises(ApiError) as caught:
        search_q(post(body), example="status:failure")
    assert caught.value.field == "body"
    assert str(caught.value.detail) == 'The body must be a JSON object such as {"q": "status:failure"}.'


def test_list_parameters_come_from_the_query_and_the_total_count_header():
    request = get({"pageSize": "5", "pageNumber": "2", "sort": "name:desc"}, {"X-Total-Count": "true"})
    params = list_params(request, sortable={"name": "name"}, tree=TREE, whole=frozenset({"metadata"}))
    assert (params.page_size, params.page_number, params.want_total) == (5, 2, True)
    assert [(key.field, key.descending) for key in params.sort] == [("name", True)]


def test_the_fields_of_one_resource_come_from_the_fields_parameter():
    selection = fields_param(get({"fields": "name"}), tree=TREE, whole=frozenset())
    assert selection is not None and "name" in selection


def test_a_tenant_the_path_names_is_returned_and_a_missing_one_is_a_403():
    assert path_tenant("acme") == "acme"
    with pytest.raises(ApiError) as caught:
        path_tenant(None)
    assert caught.value.status_code == 403


def test_not_found_names_the_kind_and_the_id():
    error = not_found("Agent", "a1")
    assert (error.status_code, str(error.detail), error.resource_id) == (404, "Agent with id a1 not found.", "a1")
