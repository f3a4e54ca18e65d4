"""What ORCH_REDIS_URL names: one Redis server (redis://, rediss://, unix://) or the master that
Redis Sentinel watches, in Celery's form `sentinel://host:26379;sentinel://host2:26379/0`."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

PLAIN_SCHEMES = ("redis", "rediss", "unix")
SENTINEL_SCHEME = "sentinel"
SENTINEL_PORT = 26379


class RedisUrlError(ValueError):
    """ORCH_REDIS_URL cannot be read."""


@dataclass(frozen=True)
class SentinelUrl:
    """The sentinels to ask, and the database and credentials of the master they name."""

    sentinels: tuple[tuple[str, int], ...]
    db: int = 0
    username: str | None = None
    password: str | None = None

    def for_celery(self) -> str:
        """The URL as kombu's sentinel transport reads it: every entry carries the database
        and credentials (kombu reads them from the first entry, Flower too)."""
        auth = ""
        if self.username or self.password:
            auth = f"{quote(self.username or '', safe='')}:{quote(self.password or '', safe='')}@"
        return ";".join(f"{SENTINEL_SCHEME}://{auth}{_netloc(host, port)}/{self.db}"
                        for host, port in self.sentinels)


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_sentinel(url: str) -> SentinelUrl | None:
    """The Sentinel URL's parts; None for a plain Redis URL; RedisUrlError if unreadable.

    Entries are separated by `;`. The database and credentials may be written on any entry
    (Celery's documentation puts the database on the last one); entries that name them must
    agree.
    """
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in PLAIN_SCHEMES:
        if ";" in url:
            raise RedisUrlError("ORCH_REDIS_URL: several servers need sentinel:// entries "
                                "(sentinel://host:26379;sentinel://host2:26379/0)")
        return None
    if scheme != SENTINEL_SCHEME:
        raise RedisUrlError(f"ORCH_REDIS_URL: unknown scheme {scheme!r} (redis://, rediss://, "
                            "unix:// or sentinel://host:26379;sentinel://host2:26379/0)")
    sentinels: list[tuple[str, int]] = []
    dbs: set[int] = set()
    users: set[str] = set()
    passwords: set[str] = set()
    for entry in (e.strip() for e in url.split(";")):
        if not entry:
            continue
        parts = urlsplit(entry)
        if parts.scheme.lower() != SENTINEL_SCHEME or not parts.hostname:
            raise RedisUrlError(f"ORCH_REDIS_URL: {_shown(entry)!r} is not sentinel://host:port")
        try:
            port = parts.port or SENTINEL_PORT
        except ValueError as exc:
            raise RedisUrlError(f"ORCH_REDIS_URL: bad port in {_shown(entry)!r}") from exc
        sentinels.append((parts.hostname, port))
        path = parts.path.strip("/")
        if path:
            if not path.isdigit():
                raise RedisUrlError(f"ORCH_REDIS_URL: database {path!r} is not a number")
            dbs.add(int(path))
        if parts.username:
            users.add(unquote(parts.username))
        if parts.password:
            passwords.add(unquote(parts.password))
    if not sentinels:
        raise RedisUrlError("ORCH_REDIS_URL: no sentinel named")
    if len(dbs) > 1 or len(users) > 1 or len(passwords) > 1:
        raise RedisUrlError("ORCH_REDIS_URL: the sentinel entries name different databases or"
                            " credentials (write them once, or the same on every entry)")
    return SentinelUrl(tuple(sentinels), next(iter(dbs), 0), next(iter(users), None),
                       next(iter(passwords), None))


def _shown(entry: str) -> str:
    """An entry without its credentials (for error messages)."""
    if "@" not in entry:
        return entry
    return entry.split("://", 1)[0] + "://" + entry.rsplit("@", 1)[1]
