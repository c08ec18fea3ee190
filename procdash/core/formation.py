"""Formation specs ("web=2,all=1"), Foreman's port rule and instance names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from procdash.core.errors import ConfigError

DEFAULT_PORT = 5000
PORT_STEP = 100
MAX_PORT = 65535


def parse_formation(
    spec: str | None,
    type_names: Sequence[str],
    *,
    flag: str = "-c",
    unlisted: int = 1,
    defaults: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """Turn "web=2,all=1" into a count per type; a type the spec names neither itself nor by ``all`` gets ``unlisted``.

    Foreman's ``-m`` starts only what it lists (``unlisted=0``), honcho's ``-c`` keeps the rest at their
    default. A type's default is its Procfile.toml ``count`` (``defaults``), else 1; so is every count
    without a spec. ``flag`` names the option (or file and key) in errors.
    """
    base = {name: (defaults or {}).get(name, 1) for name in type_names}
    counts = dict(base)
    if spec is None or not spec.strip():
        return counts
    counts = dict.fromkeys(type_names, 0) if unlisted == 0 else base
    explicit: dict[str, int] = {}
    all_count: int | None = None
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ConfigError(f"{flag}: expected NAME=COUNT, got {part!r}")
        count = parse_count(value.strip(), f"{flag} {name}")
        if name == "all":
            all_count = count
        elif name not in counts:
            known = ", ".join(type_names)
            raise ConfigError(f"{flag}: unknown process type {name!r} (the Procfile has {known})")
        else:
            explicit[name] = count
    if all_count is not None:
        counts = dict.fromkeys(type_names, all_count)
    counts.update(explicit)
    return counts


def parse_count(text: str, what: str) -> int:
    """Parse a non-negative instance count, naming the flag on error."""
    try:
        count = int(text)
    except ValueError:
        raise ConfigError(f"{what}: count must be a whole number, got {text!r}") from None
    if count < 0:
        raise ConfigError(f"{what}: count must not be negative, got {count}")
    if count > 1000:
        raise ConfigError(f"{what}: count {count} is more than 1000 instances")
    return count


def parse_port(text: str | None, what: str) -> int:
    """Parse a base port from a flag or PORT variable, naming where it came from on error."""
    if text is None:
        return DEFAULT_PORT
    try:
        port = int(str(text).strip())
    except ValueError:
        raise ConfigError(f"{what}: port must be a number, got {text!r}") from None
    if not 1 <= port <= MAX_PORT:
        raise ConfigError(f"{what}: port {port} is outside 1-{MAX_PORT}")
    return port


def port_for(base: int, type_index: int, number: int) -> int:
    """Foreman's rule: base + 100 per type in Procfile order + (instance number - 1)."""
    return base + PORT_STEP * type_index + (number - 1)


def instance_name(type_name: str, number: int) -> str:
    """The PS name of an instance, e.g. web.2 (numbers start at 1)."""
    return f"{type_name}.{number}"


def check_ports(base: int, type_names: Sequence[str], counts: Mapping[str, int], source: str | None = None) -> None:
    """Refuse a formation whose highest port would pass 65535, blaming that type and, if given, the base's source.

    ``source`` says where the base port came from (``-p``, ``PORT in .env``...); only ``-p`` prefixes the
    line as a flag does, since with no ``-p`` it is the types before this one that pushed it over.
    """
    for index, name in enumerate(type_names):
        count = counts.get(name, 0)
        top = port_for(base, index, count)
        if not count or top <= MAX_PORT:
            continue
        origin = f" from {source}" if source else ""
        before = f", +{PORT_STEP} for each of the {index} types before {name}" if index else ""
        extra = f", +{count - 1} as instance {count}" if count > 1 else ""
        flag = "-p: " if source == "-p" else ""
        raise ConfigError(
            f"{flag}{name}.{count} would get port {top}, past {MAX_PORT} (base port {base}{origin}{before}{extra})"
        )
