import re
from datetime import UTC, datetime

from apps.core.ids import new_object_id, object_id_time


def test_new_ids_are_24_hex_characters():
    assert re.fullmatch(r"[0-9a-f]{24}", new_object_id())


def test_new_ids_start_with_their_creation_time():
    at = datetime(2025, 7, 25, 10, 30, 27, tzinfo=UTC)
    assert object_id_time(new_object_id(at)) == at


def test_ids_made_in_the_same_second_are_distinct():
    at = datetime(2025, 7, 25, tzinfo=UTC)
    assert len({new_object_id(at) for _ in range(10_000)}) == 10_000


def test_ids_of_another_shape_carry_no_time():
    assert object_id_time("legacy-42") is None
    assert object_id_time("z" * 24) is None
