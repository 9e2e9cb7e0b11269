"""docker-compose.yml and the Dockerfile agree with what clinic/settings.py reads and with each other.

Docker does not run in CI, so these read the files: a renamed service, a variable the settings never read,
a URL pointing at the wrong host or a command starting the wrong process fails here instead of at deploy.
"""

from __future__ import annotations

import re
import runpy
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from django.conf import settings as django_settings
from django.http.request import validate_host

from clinic import env as environment
from clinic import native

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
SETTINGS_FILE = ROOT / "clinic" / "settings.py"
SETTINGS_SOURCES = (SETTINGS_FILE, ROOT / "clinic" / "env.py")

SERVICES = {"postgres", "redis", "mailpit", "web", "worker", "beat"}
APP_SERVICES = ("web", "worker", "beat")
CONNECTION_VARIABLES = ("DATABASE_URL", "REDIS_URL", "EMAIL_URL", "SECRET_KEY", "DEBUG")

# Stand-ins for variables compose requires the operator to set (${NAME:?message}).
REQUIRED_VARIABLE_DUMMIES = {"SECRET_KEY": "s" * 40}

INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
ENV_READ = re.compile(r"""\bENV(?:\.get\(\s*|,\s*)["'](?P<name>[A-Z][A-Z0-9_]*)["']""")


# --- helpers -------------------------------------------------------------------------------------------


def names_read_by_settings() -> set[str]:
    """Every variable name the settings read, as ENV.get("X") or a parser call such as read_x(ENV, "X")."""
    return {m["name"] for source in SETTINGS_SOURCES for m in ENV_READ.finditer(source.read_text())}


def interpolate(value: str) -> str:
    """Apply compose's ${NAME:-default} / ${NAME:?message} as if the operator set only the required names."""

    def replace(match: re.Match[str]) -> str:
        name, op = match["name"], match["op"]
        if op is None:
            pytest.fail(f"${{{name}}} has no default and no :?message; compose would pass an empty string.")
        if op.endswith("?"):
            if name not in REQUIRED_VARIABLE_DUMMIES:
                pytest.fail(f"${{{name}:?...}} is required; add a stand-in to REQUIRED_VARIABLE_DUMMIES.")
            return REQUIRED_VARIABLE_DUMMIES[name]
        return match["arg"]

    return INTERPOLATION.sub(replace, value)


def as_env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def raw_environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as written, in either of compose's forms (mapping or list of NAME=value)."""
    block = service.get("environment") or {}
    if isinstance(block, dict):
        return {name: as_env_value(value) for name, value in block.items()}
    pairs = (item.split("=", 1) if "=" in item else (item, "") for item in block)
    return dict(pairs)


def service_env(compose: dict[str, Any], name: str) -> dict[str, str]:
    return {key: interpolate(value) for key, value in raw_environment(compose["services"][name]).items()}


def command_tokens(service: dict[str, Any]) -> list[str]:
    command = service.get("command")
    assert command, "the service has no command, so it would run the image's default CMD"
    return shlex.split(command) if isinstance(command, str) else [str(token) for token in command]


def shell_steps(tokens: list[str]) -> list[list[str]]:
    """`sh -c "a && exec b"` as [[a...], [b...]]; a plain command is one step."""
    if len(tokens) >= 3 and Path(tokens[0]).name in {"sh", "bash"} and tokens[1] == "-c":
        steps = [shlex.split(step) for step in tokens[2].split("&&")]
        return [step[1:] if step[:1] == ["exec"] else step for step in steps]
    return [tokens]


def celery_app_and_subcommand(tokens: list[str]) -> tuple[str | None, str | None]:
    assert tokens[:1] == ["celery"], f"{tokens} does not start celery"
    app, positional = None, []
    rest = iter(tokens[1:])
    for token in rest:
        if token in {"-A", "--app"}:
            app = next(rest, None)
        elif token.startswith(("-A=", "--app=")):
            app = token.split("=", 1)[1]
        elif not token.startswith("-"):
            positional.append(token)
    return app, positional[0] if positional else None


def option_value(tokens: list[str], *names: str) -> str | None:
    for index, token in enumerate(tokens):
        if token in names and index + 1 < len(tokens):
            return tokens[index + 1]
        for name in names:
            if token.startswith(f"{name}="):
                return token.split("=", 1)[1]
    return None


def published_container_ports(service: dict[str, Any]) -> set[int]:
    ports = set()
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            ports.add(int(entry["target"]))
        else:
            ports.add(int(str(entry).rsplit(":", 1)[-1].split("/")[0]))
    return ports


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continuation lines joined."""
    lines = [line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\s*\n", " ", "\n".join(lines))
    instructions = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def copied_sources() -> set[str]:
    sources: set[str] = set()
    for keyword, arguments in dockerfile_instructions():
        tokens = shlex.split(arguments)
        if keyword in {"COPY", "ADD"} and not any(t.startswith("--from") for t in tokens):
            paths = [t for t in tokens if not t.startswith("--")][:-1]
            sources.update(path.removeprefix("./").rstrip("/") or "." for path in paths)
    return sources


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


# --- the services and their configuration --------------------------------------------------------------


def test_compose_defines_postgres_redis_mailpit_web_worker_and_beat(compose):
    assert set(compose["services"]) == SERVICES


def test_scanning_the_settings_source_finds_the_variables_it_reads():
    assert set(CONNECTION_VARIABLES) | {"ALLOWED_HOSTS", "CLINIC_VAR_DIR"} <= names_read_by_settings()


@pytest.mark.parametrize("service", APP_SERVICES)
def test_every_variable_given_to_the_app_is_one_the_settings_read(compose, service):
    unread = set(raw_environment(compose["services"][service])) - names_read_by_settings()
    assert not unread, f"{service} sets {sorted(unread)}, which clinic/settings.py never reads"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_the_app_gets_database_redis_email_a_secret_key_and_production_mode(compose, service):
    env = service_env(compose, service)
    missing = [name for name in CONNECTION_VARIABLES if not env.get(name)]
    assert not missing, f"{service} does not set {missing}"
    assert environment.read_bool(env, "DEBUG", default=True) is False


def test_web_worker_and_beat_share_one_environment(compose):
    web, worker, beat = (raw_environment(compose["services"][name]) for name in APP_SERVICES)
    assert web == worker == beat


@pytest.mark.parametrize("service", APP_SERVICES)
def test_the_secret_key_must_be_supplied_by_whoever_starts_the_stack(compose, service):
    raw = raw_environment(compose["services"][service])["SECRET_KEY"]
    assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]+\}", raw), f"SECRET_KEY is {raw!r}, not ${{SECRET_KEY:?...}}"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_the_database_url_reaches_the_postgres_service_with_its_credentials(compose, service):
    database = urlsplit(service_env(compose, service)["DATABASE_URL"])
    postgres = service_env(compose, "postgres")
    assert database.scheme in {"postgres", "postgresql"}
    assert database.hostname == "postgres"
    assert database.port in {None, 5432}
    assert database.username == postgres["POSTGRES_USER"]
    assert database.password == postgres["POSTGRES_PASSWORD"]
    assert database.path.lstrip("/") == postgres["POSTGRES_DB"]


@pytest.mark.parametrize("service", APP_SERVICES)
def test_the_redis_url_reaches_the_redis_service(compose, service):
    redis = urlsplit(service_env(compose, service)["REDIS_URL"])
    assert redis.scheme == "redis"
    assert redis.hostname == "redis"
    assert redis.port in {None, 6379}


@pytest.mark.parametrize("service", APP_SERVICES)
def test_the_email_url_reaches_mailpits_smtp_port(compose, service, tmp_path):
    email = environment.read_email(service_env(compose, service), "EMAIL_URL", tmp_path)
    assert compose["services"]["mailpit"]["image"].startswith("axllent/mailpit")
    assert email["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (email["EMAIL_HOST"], email["EMAIL_PORT"]) == ("mailpit", 1025)
    assert not email["EMAIL_USE_TLS"], "mailpit speaks plain SMTP by default"
    assert not email["EMAIL_USE_SSL"], "mailpit speaks plain SMTP by default"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_every_url_parses_with_the_clinics_own_parsers(compose, service, tmp_path):
    env = service_env(compose, service)
    assert (
        environment.read_database(env, "DATABASE_URL", tmp_path)["ENGINE"] == "django.db.backends.postgresql"
    )
    assert environment.read_redis_url(env, "REDIS_URL") == env["REDIS_URL"]
    assert environment.read_email(env, "EMAIL_URL", tmp_path)["EMAIL_HOST"]
    environment.read_url(env, "SITE_URL", default="http://127.0.0.1:8000")
    environment.read_hosts(env, "ALLOWED_HOSTS", default=[])
    environment.read_time_zone(env, "TIME_ZONE", default="UTC")


@pytest.mark.parametrize("service", APP_SERVICES)
def test_the_app_waits_for_postgres_and_redis_to_be_healthy(compose, service):
    depends_on = compose["services"][service].get("depends_on")
    assert isinstance(depends_on, dict), f"{service} needs depends_on with conditions, not a plain list"
    for dependency in ("postgres", "redis"):
        assert depends_on[dependency]["condition"] == "service_healthy"
        assert compose["services"][dependency]["healthcheck"]["test"], f"{dependency} has no health check"


# --- the processes each service runs -------------------------------------------------------------------


@pytest.mark.parametrize(("service", "subcommand"), [("worker", "worker"), ("beat", "beat")])
def test_worker_and_beat_start_celery_for_the_clinic_app(compose, service, subcommand):
    tokens = command_tokens(compose["services"][service])
    assert celery_app_and_subcommand(tokens) == ("clinic", subcommand)


def test_web_migrates_then_serves_the_clinic_wsgi_app_with_gunicorn_on_port_8000(compose):
    web = compose["services"]["web"]
    steps = shell_steps(command_tokens(web))
    migrate = [i for i, step in enumerate(steps) if step[1:4] == ["manage.py", "migrate", "--noinput"]]
    gunicorn = [i for i, step in enumerate(steps) if step[:1] == ["gunicorn"]]
    assert migrate, f"web never runs `manage.py migrate --noinput`: {steps}"
    assert gunicorn, f"web never starts gunicorn: {steps}"
    assert migrate[0] < gunicorn[-1], "web must migrate before it serves"
    server = steps[gunicorn[-1]]
    assert "clinic.wsgi:application" in server
    assert option_value(server, "--bind", "-b") == "0.0.0.0:8000"
    assert 8000 in published_container_ports(web)


def test_the_web_health_check_asks_the_health_endpoint_with_a_host_the_settings_allow(compose):
    check = compose["services"]["web"]["healthcheck"]["test"]
    command = " ".join(check) if isinstance(check, list) else check
    assert "curl" not in command, "python:3.11-slim has no curl"
    assert "wget" not in command, "python:3.11-slim has no wget"
    url = re.search(r"https?://[^\s'\"]+", command)
    assert url, f"the health check names no URL: {command}"
    parts = urlsplit(url.group())
    assert parts.path == "/health/"
    assert parts.port == 8000
    allowed = environment.read_hosts(service_env(compose, "web"), "ALLOWED_HOSTS", default=[])
    assert parts.hostname
    assert validate_host(parts.hostname, allowed), f"{parts.hostname} is not in ALLOWED_HOSTS {allowed}"


# --- the image -----------------------------------------------------------------------------------------


def test_the_dockerfile_installs_the_hash_pinned_lock_file():
    instructions = dockerfile_instructions()
    assert "requirements.lock" in copied_sources() or "." in copied_sources()
    installs = [args for keyword, args in instructions if keyword == "RUN" and "pip install" in args]
    assert any("--require-hashes" in args and "-r requirements.lock" in args for args in installs), installs


def test_the_dockerfile_copies_manage_py_and_every_local_app_and_template_folder():
    sources = copied_sources()
    if "." in sources:
        return
    local_apps = {app.split(".")[0] for app in django_settings.INSTALLED_APPS}
    needed = {"manage.py"} | {app for app in local_apps if (ROOT / app / "__init__.py").is_file()}
    template_dirs = [d for template in django_settings.TEMPLATES for d in template["DIRS"]]  # type: ignore[attr-defined]
    for folder in (Path(d) for d in template_dirs):
        if folder.is_dir() and any(p.is_file() for p in folder.rglob("*")):
            needed.add(folder.relative_to(ROOT).as_posix())
    assert needed <= sources, f"the image would lack {sorted(needed - sources)}"


def test_the_image_collects_static_files_and_runs_as_a_non_root_user():
    instructions = dockerfile_instructions()
    stages = [args for keyword, args in instructions if keyword == "FROM"]
    assert stages[-1].startswith("python:3.11-slim")
    assert any(keyword == "RUN" and "collectstatic" in args for keyword, args in instructions)
    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users, "the image runs as root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    cmd = next(args for keyword, args in reversed(instructions) if keyword == "CMD")
    assert "gunicorn" in cmd
    assert "clinic.wsgi:application" in cmd


def test_the_image_runs_the_compiled_planner_built_by_the_same_python_from_the_same_sources():
    instructions = dockerfile_instructions()
    stages = [args.split() for keyword, args in instructions if keyword == "FROM"]
    builder = next(stage for stage in stages if len(stage) == 3 and stage[1].upper() == "AS")

    def python_release(image: str) -> str:  # python:3.11-slim -> 3.11
        return image.split(":")[1].split("-")[0]

    assert python_release(builder[0]) == python_release(stages[-1][0])
    builds = [args for keyword, args in instructions if keyword == "RUN" and "clinic.native build" in args]
    assert builds, "the image would run the planner's .py files"
    copied = {
        shlex.split(args)[1].removeprefix("/app/").rstrip("/")
        for keyword, args in instructions
        if keyword == "COPY" and args.startswith(f"--from={builder[-1]}")
    }
    assert {module.split(".")[0] for module in native.PURE_MODULES} <= copied


# --- the settings themselves under the compose environment ---------------------------------------------


def test_the_settings_load_in_production_mode_on_postgres_with_the_web_environment(
    compose, monkeypatch, tmp_path
):
    for name in names_read_by_settings():
        monkeypatch.delenv(name, raising=False)
    web_env = service_env(compose, "web")
    for name, value in web_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CLINIC_VAR_DIR", str(tmp_path))

    loaded = runpy.run_path(str(SETTINGS_FILE))

    assert loaded["DEBUG"] is False
    assert loaded["DATABASES"]["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert loaded["DATABASES"]["default"]["HOST"] == "postgres"
    assert loaded["CELERY_BROKER_URL"] == web_env["REDIS_URL"]
    assert loaded["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert (loaded["EMAIL_HOST"], loaded["EMAIL_PORT"]) == ("mailpit", 1025)
