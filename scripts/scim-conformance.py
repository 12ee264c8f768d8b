#!/usr/bin/env python3
"""Run the scim2-tester (0.5.2) SCIM 2.0 conformance checks against a live server.

Usage: scim-conformance.py --url http://127.0.0.1:PORT/scim/v2 --token SECRET
                           [--seed N|random] [--strict] [-v]

Runs every check scim2-tester offers (discovery, CRUD, attribute selection,
PATCH add/remove/replace, unknown URL) on every resource type the server
publishes, prints one line per check result and closes with

    scim2-tester: N passed, M failed[, K skipped]

scim2-tester fills resources with random values; the seed (default 7644) is
fixed so that a run is repeatable: the set of failures depends on it.

Statuses: SUCCESS, COMPLIANT and ACCEPTABLE count as passed; DEVIATION (a SHOULD
not followed, still within the RFCs) counts as passed too unless --strict is
given; ERROR and CRITICAL count as failed; SKIPPED is counted apart.

One ERROR is re-judged, and printed as READONLY: scim2-tester's PATCH add and
replace checks compare the value they sent with the one returned field by field,
so a readOnly sub-attribute the service provider sets (a group's members.display,
the identity extension's contactId, contactless and origin, all returned by
default) reads as a difference. RFC 7643 §7 makes those values the service
provider's, so such a result passes when, and only when, the returned value
equals the one sent once the readOnly fields the client left unset are taken
out of the comparison (the fields are read from the server's own /Schemas, as
the tester's models are); any other difference still fails. --strict counts
READONLY results as failed.
Exit status: 1 if any check failed (or the run itself broke), else 0.

Needs scim2-tester[httpx2]==0.5.2 (see scripts/scim-conformance, which sets up
the virtualenv and a gateway, then calls this file).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import traceback
from typing import Any

PASSED = {"SUCCESS", "COMPLIANT", "ACCEPTABLE"}
FAILED = {"ERROR", "CRITICAL"}


def _one_line(text: Any) -> str:
    return " ".join(str(text).split()) if text is not None else ""


def _summary(doc: str | None) -> str:
    """The first sentence of a check's docstring (its description)."""
    if not doc:
        return ""
    for line in doc.strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def _server_read_only_only(expected: Any, actual: Any) -> bool:
    """Whether `actual` equals `expected` once the readOnly fields that `expected` leaves
    unset are dropped from `actual` (recursively, through lists and complex values)."""
    from scim2_models import Mutability
    from pydantic import BaseModel

    def strip(sent: Any, got: Any) -> Any:
        if isinstance(sent, list) and isinstance(got, list) and len(sent) == len(got):
            return [strip(s, g) for s, g in zip(sent, got)]
        if isinstance(sent, BaseModel) and isinstance(got, BaseModel) and type(sent) is type(got):
            update = {}
            for name in type(got).model_fields:
                s, g = getattr(sent, name, None), getattr(got, name, None)
                if s is None and g is not None and type(got).get_field_annotation(name, Mutability) == Mutability.read_only:
                    update[name] = None
                elif isinstance(g, (list, BaseModel)):
                    update[name] = strip(s, g)
            return got.model_copy(update=update)
        return got

    def dump(v: Any) -> Any:
        return v.model_dump() if isinstance(v, BaseModel) else [dump(i) for i in v] if isinstance(v, list) else v

    if expected is None or actual is None:
        return False
    return dump(expected) == dump(strip(expected, actual)) and dump(expected) != dump(actual)


def _debug_data(data: Any) -> str:
    """A compact, displayable form of the debugging data of a result."""
    if data is None:
        return ""
    # httpx2 responses (the 405 checks keep the raw response)
    if hasattr(data, "status_code") and hasattr(data, "request"):
        req = data.request
        return f"{req.method} {req.url} -> {data.status_code} {data.text[:2000]}"
    if hasattr(data, "model_dump"):
        try:
            return json.dumps(
                data.model_dump(scim_ctx=None, exclude_none=True), default=str
            )[:2000]
        except Exception:  # noqa: BLE001 - debug output only
            pass
    if isinstance(data, (dict, list)):
        return json.dumps(data, default=str)[:2000]
    return _one_line(repr(data))[:2000]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2")
    parser.add_argument("--token", required=True, help="bearer token")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout (s)")
    parser.add_argument(
        "--strict", action="store_true", help="count DEVIATION (SHOULD not followed) as failed"
    )
    parser.add_argument(
        "--seed", default=os.environ.get("SCIM_CONFORMANCE_SEED", "7644"),
        help="seed of the random values scim2-tester fills resources with "
        "(default 7644, or $SCIM_CONFORMANCE_SEED; 'random' for a fresh one)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true",
        help="print the debugging data of every result that did not pass",
    )
    args = parser.parse_args()

    failed_set = FAILED | ({"DEVIATION"} if args.strict else set())

    try:
        import httpx2
        from scim2_client.engines.httpx2 import SyncSCIMClient
        from scim2_tester import Status, check_server
    except ImportError as exc:
        print(f"cannot import scim2-tester / scim2-client / httpx2: {exc}", file=sys.stderr)
        print("scim2-tester: 0 passed, 1 failed")
        return 1

    # scim2-tester picks enum members, booleans, digits... with `random`: a fixed
    # seed makes a run repeatable (the UUIDs it also uses do not change outcomes).
    seed = random.randrange(2**32) if args.seed == "random" else int(args.seed)
    random.seed(seed)
    print(f"scim2-tester 0.5.2 against {args.url} (random seed {seed})")

    base = args.url.rstrip("/") + "/"
    http = httpx2.Client(
        base_url=base,
        headers={"Authorization": f"Bearer {args.token}"},
        timeout=args.timeout,
    )
    client = SyncSCIMClient(http)

    passed = failed = skipped = deviations = rejudged = 0
    try:
        # No tag or resource-type filter: every check, on every resource type
        # discovered from /ServiceProviderConfig, /ResourceTypes and /Schemas.
        results = check_server(client, raise_exceptions=False)
    except Exception as exc:  # noqa: BLE001 - the run itself broke
        traceback.print_exc()
        print(f"ERROR      check_server: run aborted: {_one_line(exc)}")
        print("scim2-tester: 0 passed, 1 failed")
        return 1
    finally:
        http.close()

    for result in results:
        status = result.status.name if isinstance(result.status, Status) else str(result.status)
        data = result.data if isinstance(result.data, dict) else {}
        actual = data.get("modify_actual", data.get("actual"))
        if (
            status == "ERROR"
            and (result.title or "") in ("check_add_attribute", "check_replace_attribute")
            and _server_read_only_only(data.get("expected"), actual)
        ):
            status = "READONLY"
            rejudged += 1
        if status == "SKIPPED":
            skipped += 1
        elif status in failed_set or (status == "READONLY" and args.strict):
            failed += 1
        else:
            passed += 1
            if status == "DEVIATION":
                deviations += 1
        title = result.title or "?"
        if result.resource_type:
            title = f"{result.resource_type}/{title}"
        print(
            f"{status:<10} {title}: {_summary(result.description)}"
            f" -- {_one_line(result.reason) or '(no reason given)'}"
        )
        if args.verbose and status not in PASSED | {"SKIPPED"}:
            data = _debug_data(result.data)
            if data:
                print(f"           data: {data}")

    if deviations and not args.strict:
        print(f"({deviations} of the passed checks are DEVIATION: a SHOULD not followed)")
    if rejudged and not args.strict:
        print(
            f"({rejudged} of the passed checks are READONLY: the value returned differs from the one sent"
            " only in readOnly sub-attributes the server sets, RFC 7643 §7)"
        )
    closing = f"scim2-tester: {passed} passed, {failed} failed"
    if skipped:
        closing += f", {skipped} skipped"
    print(closing)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
