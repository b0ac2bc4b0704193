"""`lgconsole store [ls|get|search|rm]` (the LangGraph server's long-term store) and `lgconsole redis [keys|get|rm]`
(the stack's Redis: SCAN, never KEYS). Values are masked by the one policy; a delete asks first unless --yes."""

from __future__ import annotations

import sys

from lgconsole.console.config import Config
from lgconsole.console.cli.output import print_json


def add_store_commands(subparsers) -> None:
    store = subparsers.add_parser("store", help="the LangGraph store: namespaces, items, search, delete")
    verbs = store.add_subparsers(dest="store_verb", required=True)
    ls = verbs.add_parser("ls", help="namespaces as a tree (under PREFIX)")
    ls.add_argument("prefix", nargs="?", default="", metavar="PREFIX", help="a namespace, parts joined by / "
                                                                            "(demo/memories)")
    get = verbs.add_parser("get", help="one item: its value and timestamps")
    search = verbs.add_parser("search", help="items under PREFIX, newest first; --query searches them")
    search.add_argument("prefix", nargs="?", default="", metavar="PREFIX", help="a namespace prefix (default: all)")
    search.add_argument("--query", "-q", default="", help="semantic search where the store has a vector index, "
                                                          "else every word must appear in the key or value")
    rm = verbs.add_parser("rm", help="delete one item (asks first unless --yes)")
    for verb in (get, rm):
        verb.add_argument("namespace", metavar="NAMESPACE", help="the item's namespace, parts joined by /")
        verb.add_argument("key", metavar="KEY", help="the item's key")
    rm.add_argument("--yes", action="store_true", help="delete without asking")
    for verb in (ls, get, search, rm):
        verb.add_argument("--json", action="store_true", help="one JSON object per line")

    redis = subparsers.add_parser("redis", help="the stack's Redis: keys with type, size and TTL, a value, delete")
    verbs = redis.add_subparsers(dest="redis_verb", required=True)
    keys = verbs.add_parser("keys", help="keys starting with PREFIX (SCAN), with type, size and TTL")
    keys.add_argument("prefix", nargs="?", default="", metavar="PREFIX", help="a key prefix (default: every key)")
    rget = verbs.add_parser("get", help="one key: type, size, TTL and a preview of its value")
    rrm = verbs.add_parser("rm", help="delete one key (asks first unless --yes)")
    for verb in (rget, rrm):
        verb.add_argument("key", metavar="KEY")
    rrm.add_argument("--yes", action="store_true", help="delete without asking")
    for verb in (keys, rget, rrm):
        verb.add_argument("--json", action="store_true", help="one JSON object per line")


def _item_json(item) -> dict:
    from lgconsole.console.model.masking import mask_text

    return {"namespace": list(item.namespace), "key": mask_text(item.key), "value": item.value,
            "created_at": item.created_at, "updated_at": item.updated_at, "score": item.score}


def _key_json(key) -> dict:
    from lgconsole.console.model.masking import mask_text

    return {"key": mask_text(key.key), "type": key.type, "size_bytes": key.size_bytes, "ttl_s": key.ttl_s}


def _confirmed(question: str, args, out) -> bool:
    """--yes, or a `y` typed at a terminal; without a terminal (a script) nothing is deleted unasked."""
    if args.yes:
        return True
    if not sys.stdin.isatty():
        print(f"lgconsole: {question}: not deleted (no terminal to ask; add --yes)", file=sys.stderr)
        return False
    answer = input(f"{question} [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def cmd_store(config: Config, args, out=sys.stdout) -> int:
    """Raises StackError (server down, no store, no such item); `main` prints it as one line."""
    from lgconsole.console.model.store_browse import namespace_text, namespace_tree, parse_namespace
    from lgconsole.console.rows.store_text import item_cells, shown_key, store_item_info, table_lines, value_lines
    from lgconsole.console.sources.store import StoreSource
    from lgconsole.stack.errors import StackError

    source = StoreSource(config)
    verb = args.store_verb
    if verb == "ls":
        prefix = parse_namespace(args.prefix)
        listing = source.store_listing(prefix)
        if listing.error:
            raise StackError(listing.error)
        nodes = [n for n in namespace_tree(listing.namespaces) if n.path[:len(prefix)] == prefix]
        for node in nodes:
            if args.json:
                print_json({"namespace": list(node.path), "holds_items": node.holds_items}, out, indent=None)
            else:
                print("  " * node.depth + shown_key(node.label) + ("/" if not node.holds_items else ""), file=out)
        if not nodes and not args.json:
            print(f"no namespaces under {namespace_text(prefix) or 'the root'}", file=out)
        return 0
    if verb == "search":
        listing = source.store_listing(parse_namespace(args.prefix), args.query)
        if listing.error:
            raise StackError(listing.error)
        if args.json:
            for item in listing.items:
                print_json(_item_json(item), out, indent=None)
            return 0
        for line in table_lines(("KEY", "NAMESPACE", "UPDATED", "VALUE"), [item_cells(i) for i in listing.items]):
            print(line, file=out)
        notes = [f"{len(listing.items)} item{'s' * (len(listing.items) != 1)}"]
        if listing.text_search:
            notes.append("the store has no vector index: the query matched as text")
        if listing.cut:
            notes.append("the first items only: narrow the prefix")
        print("  ·  ".join(notes), file=out)
        return 0
    namespace = parse_namespace(args.namespace)
    name = f"{namespace_text(namespace)}:{shown_key(args.key)}"
    if verb == "get":
        item = source.store_item(namespace, args.key)
        if args.json:
            print_json(_item_json(item), out, indent=None)
            return 0
        print(name, file=out)
        for line in store_item_info(item)[1:] + value_lines(item.value):
            print(line, file=out)
        return 0
    source.store_item(namespace, args.key)  # a missing item says so before anyone is asked
    if not _confirmed(f"delete the store item {name}?", args, out):
        return 1
    item = source.delete_store_item(namespace, args.key)
    if args.json:
        print_json({"deleted": _item_json(item)}, out, indent=None)
    else:
        print(f"deleted {name}", file=out)
    return 0


def cmd_redis(config: Config, args, out=sys.stdout) -> int:
    """Raises StackError (Redis down, no such key); `main` prints it as one line."""
    from lgconsole.console.rows.store_text import redis_key_cells, redis_value_info, shown_key, table_lines, \
        value_lines
    from lgconsole.console.sources.store import StoreSource
    from lgconsole.stack.errors import StackError

    source = StoreSource(config)
    try:
        verb = args.redis_verb
        if verb == "keys":
            found = source.redis_listing(args.prefix)
            if found.error:
                raise StackError(found.error)
            listing = found.listing
            if args.json:
                for key in listing.keys:
                    print_json(_key_json(key), out, indent=None)
                return 0
            for line in table_lines(("KEY", "TYPE", "SIZE", "TTL"), [redis_key_cells(k) for k in listing.keys]):
                print(line, file=out)
            cut = " (the first ones: narrow the prefix)" if listing.cut else ""
            print(f"{len(listing.keys)} of {listing.total_keys} keys{cut}", file=out)
            return 0
        if verb == "get":
            value = source.redis_value(args.key)
            if args.json:
                print_json({**_key_json(value.key), "length": value.length, "cut": value.cut, "value": value.value},
                           out, indent=None)
                return 0
            print(shown_key(args.key, 1000), file=out)
            for line in redis_value_info(value) + value_lines(value.value):
                print(line, file=out)
            return 0
        name = shown_key(args.key, 1000)
        source.redis_value(args.key)  # a missing key says so before anyone is asked
        if not _confirmed(f"delete the Redis key {name}?", args, out):
            return 1
        key = source.delete_redis_key(args.key)
        if args.json:
            print_json({"deleted": _key_json(key)}, out, indent=None)
        else:
            print(f"deleted {name}", file=out)
        return 0
    finally:
        source.close()
