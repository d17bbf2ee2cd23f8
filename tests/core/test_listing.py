import pytest
from django.db.models import Q

from apps.core.errors import ApiError
from apps.core.listing import SortKey, equality_terms, filter_from_q, parse_list_params, project
from apps.core.query import FieldKind, FieldSpec

TREE = {"id": None, "status": None, "metadata": {"version": None, "createdAt": None}, "result": {"a": None}}
SORTABLE = {"id": "job_id", "status": "status", "metadata.createdAt": "created_at"}


def params(query=None, headers=None, whole=frozenset({"metadata"})):
    return parse_list_params(query or {}, headers or {}, sortable=SORTABLE, tree=TREE, whole=whole)


def test_defaults_are_page_one_of_sixty_in_default_order_with_all_fields():
    p = params()
    assert (p.page_size, p.page_number, p.sort, p.fields, p.want_total) == (60, 1, (), None, False)


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", "", "1001", "٣"])
def test_a_page_size_that_is_not_1_to_1000_is_refused_naming_the_parameter(value):
    with pytest.raises(ApiError) as caught:
        params({"pageSize": value})
    assert caught.value.field == "pageSize"


def test_the_offset_follows_from_page_number_and_size():
    assert params({"pageSize": "25", "pageNumber": "3"}).offset == 50


def test_sort_keys_keep_their_order_and_only_desc_descends():
    p = params({"sort": "status:DESC,metadata.createdAt,id:asc"})
    assert p.sort == (SortKey("status", True), SortKey("metadata.createdAt", False), SortKey("id", False))


@pytest.mark.parametrize("sort", ["nope", "status:down", "status:desc,", "metadata"])
def test_unknown_sort_fields_and_directions_are_refused(sort):
    with pytest.raises(ApiError) as caught:
        params({"sort": sort})
    assert caught.value.field == "sort"


def test_the_total_is_wanted_only_when_the_header_says_true():
    assert params(headers={"X-Total-Count": "TRUE"}).want_total
    assert not params(headers={"X-Total-Count": "1"}).want_total


def test_fields_always_include_id_and_take_objects_named_in_whole_as_a_whole():
    representation = {"id": "1", "status": "x", "metadata": {"version": 2, "createdAt": "t"}, "result": {"a": 1}}
    p = params({"fields": "metadata.version"})
    assert project(representation, p.fields) == {"id": "1", "metadata": {"version": 2, "createdAt": "t"}}


def test_fields_can_pick_inside_other_objects():
    representation = {"id": "1", "result": {"a": 1}, "status": "x"}
    p = params({"fields": "result.a"})
    assert project(representation, p.fields) == {"id": "1", "result": {"a": 1}}


@pytest.mark.parametrize("fields", ["nope", "status.deeper", "metadata.nope.x", "result.b"])
def test_unknown_fields_are_refused(fields):
    with pytest.raises(ApiError) as caught:
        params({"fields": fields}, whole=frozenset())
    assert caught.value.field == "fields"


def test_projection_leaves_out_fields_the_representation_does_not_have():
    assert project({"id": "1"}, {"id": True, "status": True}) == {"id": "1"}


def test_parts_of_whole_objects_must_still_exist():
    with pytest.raises(ApiError):
        params({"fields": "metadata.nope"})


def test_asking_for_an_object_and_a_part_of_it_gives_the_whole_object():
    representation = {"id": "1", "result": {"a": 1}}
    assert project(representation, params({"fields": "result.a,result"}).fields) == representation
    assert project(representation, params({"fields": "result,result.a"}).fields) == representation


# --- equality_terms: which filters the kept counts can answer -------------------------------------------------

COUNTED = ("type", "status")
JOB_FIELDS = {
    "status": FieldSpec("status", "status", FieldKind.ENUM, ("success", "failure"), nullable=False),
    "type": FieldSpec("type", "type", FieldKind.ENUM, ("EXPORT", "IMPORT"), nullable=False),
    "message": FieldSpec("message", "message", FieldKind.TEXT),
    "metadata.version": FieldSpec("metadata.version", "version", FieldKind.INT, nullable=False),
}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (None, {}),
        ("", {}),
        ("status:success", {"status": {"success"}}),
        ("status:SUCCESS type:(EXPORT,import)", {"status": {"success"}, "type": {"EXPORT", "IMPORT"}}),
        ("status:(success,failure) status:failure", {"status": {"failure"}}),
        ("status:success status:failure", {"status": set()}),
        ("type:exists", {}),  # every job has a type: no condition at all
    ],
)
def test_an_and_of_equality_and_in_terms_on_the_counted_columns_is_answered(q, expected):
    assert equality_terms(filter_from_q(q, JOB_FIELDS), COUNTED) == expected


@pytest.mark.parametrize("q", ["message:~abc", "status:success message:null", "metadata.version:>1", "status:null"])
def test_any_other_term_is_not(q):
    assert equality_terms(filter_from_q(q, JOB_FIELDS), COUNTED) is None


def test_or_and_not_are_not():
    assert equality_terms(Q(status="success") | Q(status="failure"), COUNTED) is None
    assert equality_terms(~Q(status="success"), COUNTED) is None
    assert equality_terms(Q(status="success") & Q(Q(type="EXPORT")), COUNTED) == {
        "status": {"success"},
        "type": {"EXPORT"},
    }
