"""What each process of the test suite owns when pytest-xdist runs it in several (`make test`): workers gw0, gw1...

The test settings (config/settings/test.py) name a database, a broker folder, a cache namespace and a metrics folder
per test process, and pass the names on through the environment to the processes the tests start (Celery workers,
web servers, manage.py). pytest-xdist starts its workers with the environment of the process that started them,
which loaded the settings too: a name that process set would be shared by every worker. So under xdist a process
keeps only a name carrying its own worker id, and each worker takes a Redis database of its own (tests purge the
broker's queues and start real workers: on one database, two test processes would take each other's tasks).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured
from redis.connection import parse_url

# A Redis server has 16 databases unless configured otherwise: 0 to 15.
REDIS_DATABASES = 16


def xdist_worker(environ: MutableMapping[str, str]) -> str:
    """This process's pytest-xdist worker id (gw0, gw1...), or "" when the suite runs in one process."""
    return environ.get("PYTEST_XDIST_WORKER", "")


def process_value(environ: MutableMapping[str, str], variable: str, default: str) -> str:
    """`variable` for this test process, set in `environ` for the processes its tests start.

    A run in one process keeps a value already set. An xdist worker keeps only one that ends with its own id (set by
    itself, or by the test process that started this one); otherwise it names its own: `default` and its id.
    """
    worker = xdist_worker(environ)
    value = environ.get(variable, "")
    if value and (not worker or value.endswith(f"-{worker}")):
        return value
    value = f"{default}-{worker}" if worker else default
    environ[variable] = value
    return value


def redis_url_for_process(environ: MutableMapping[str, str]) -> str:
    """REDIS_URL for this test process: as configured in a run in one process; under xdist, worker gwN uses the Nth
    database of TEST_REDIS_DBS (comma-separated). Unset, that list is REDIS_URL's database and the ones after it,
    one per worker, counting on from 0 past 15.

    The result is set in `environ`, with the list: a process started by a test chooses the same database again.
    """
    url = environ.get("REDIS_URL", "").strip()
    worker = xdist_worker(environ)
    # A URL that is not Redis's is left to the settings, which refuse it saying why.
    if not url or not worker or not url.startswith(("redis://", "rediss://", "unix://")):
        return url
    index = int(worker.removeprefix("gw"))
    count = max(int(environ.get("PYTEST_XDIST_WORKER_COUNT") or 0), index + 1)
    # redis-py's own reading of the URL (db= wins over the path), untyped.
    first = int(parse_url(url).get("db") or 0)  # type: ignore[no-untyped-call]
    listed = environ.setdefault("TEST_REDIS_DBS", ",".join(str((first + n) % REDIS_DATABASES) for n in range(count)))
    databases = parse_databases(listed)
    if index >= len(databases):
        raise ImproperlyConfigured(
            f"TEST_REDIS_DBS={listed!r} names {len(databases)} Redis databases for {count} test processes: name one "
            "for each"
        )
    url = with_database(url, databases[index])
    environ["REDIS_URL"] = url
    return url


def parse_databases(listed: str) -> list[int]:
    """TEST_REDIS_DBS: distinct Redis database numbers, comma-separated."""
    try:
        databases = [int(item) for item in listed.split(",") if item.strip()]
    except ValueError:
        raise ImproperlyConfigured(f"TEST_REDIS_DBS={listed!r}: use Redis database numbers, such as 15,14") from None
    if not all(0 <= db < REDIS_DATABASES for db in databases):
        raise ImproperlyConfigured(f"TEST_REDIS_DBS={listed!r}: a Redis database is 0 to {REDIS_DATABASES - 1}")
    if len(set(databases)) != len(databases):
        raise ImproperlyConfigured(f"TEST_REDIS_DBS={listed!r} names a database twice: test processes must not share")
    return databases


def with_database(url: str, db: int) -> str:
    """`url` pointing at Redis database `db`: in the path (redis://, rediss://), or as `db=` (unix://)."""
    if url.startswith("unix://"):
        # Not through urlunsplit, which would drop the empty host: unix:///run/redis.sock.
        path, _, query = url.partition("?")
        kept = [(key, value) for key, value in parse_qsl(query, keep_blank_values=True) if key != "db"]
        return f"{path}?{urlencode([*kept, ('db', str(db))])}"
    parts = urlsplit(url)
    kept = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key != "db"]
    return urlunsplit(parts._replace(path=f"/{db}", query=urlencode(kept)))
