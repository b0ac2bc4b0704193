"""The supervisor's spec built from the console's config: each service's section, the Redis rule, the ports picked
once and kept across `up`s."""

from __future__ import annotations

from dataclasses import fields

from lgconsole.stack.services.ports import free_port, port_is_free
from lgconsole.stack.services.service import SERVICE_NAMES, StackSpec

from lgconsole.console.config import Config


def _section_spec(section: object) -> dict:
    return {f.name: getattr(section, f.name) for f in fields(section)}


def redis_use_of(config: Config):
    """Whether the stack runs a Redis and who uses it (the rule: stack/services/redis.py redis_use)."""
    from lgconsole.stack.services.redis import redis_use

    return redis_use(config.redis.enabled, config.redis.url, config.project.path or None, bool(config.langgraph.url),
                     config.langgraph.env, config.langgraph.runtime)


def build_stack_spec(config: Config) -> StackSpec:
    """The supervisor's plain-JSON spec. Ports set to 0 are picked now and kept across `up`s in the state dir."""
    from lgconsole.stack.services.state_files import StateFileCorrupt, read_json_object, table

    try:  # the ports kept from the last `up`; a damaged spec.json only loses them (this spec replaces it)
        previous = table(read_json_object(config.paths.spec_file) or {}, "services", config.paths.spec_file)
    except StateFileCorrupt:
        previous = {}
    services: dict[str, dict] = {}
    taken: set[int] = set()
    for name in SERVICE_NAMES:
        section = _section_spec(getattr(config, name))
        if name == "langgraph":
            section["project"] = config.project.path
            section["python"] = config.project.python
            section["env_dir"] = config.project.env_dir
        if name == "redis":
            use = redis_use_of(config)
            section["enabled"], section["use"] = use.started, use.why
        if name == "postgres" and not section.get("url") and config.langgraph.url:
            from lgconsole.stack.services.postgres import UNUSED_WITH_EXTERNAL_SERVER

            section["enabled"], section["use"] = False, UNUSED_WITH_EXTERNAL_SERVER
        if not section.get("url") and (name != "vllm" or section.get("model")) and section.get("enabled", True) \
                and not section.get("port"):
            old = previous.get(name, {}).get("port")
            if type(old) is int and 0 < old <= 65535 and old not in taken and port_is_free(old):
                section["port"] = old
            else:
                section["port"] = free_port(avoid=taken | {2024})
        if section.get("port"):
            taken.add(section["port"])
        services[name] = section
    return StackSpec(state_dir=str(config.state_path), services=services, log_max_bytes=config.logs.max_bytes,
                     log_keep=config.logs.keep)
