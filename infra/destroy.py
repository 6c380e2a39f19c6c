"""`make destroy`: remove what `make deploy` made, keeping the data unless told otherwise.

    python -m infra.destroy --stage dev --prefix sodate [--stack sodate] [--drop-data]

1. `chalice delete --stage <stage>`: the functions, their subscriptions and schedules, the API;
2. the stack: queues, topics, secrets, the SES configuration set and identity, the role.  Its
   tables and bucket are `DeletionPolicy: Retain`, so they stay;
3. with --drop-data (KEEP_DATA=0), those tables and the bucket too (the bucket emptied first).
   Run after the stack is gone, it removes the tables and bucket the template names for the prefix.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from infra import functions, kept_data, stack
from infra.deploy import Installation, installation_arguments, regional_session
from infra.functions import FunctionsError
from infra.stack import StackError

Say = Callable[[str], None]


@dataclass
class Destroyed:
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def chalice_made(installation: Installation) -> list[str]:
    """What the Chalice record names, in words (functions, the API)."""
    names = []
    for resource in functions.recorded(installation.project_dir, installation.stage):
        kind = resource.get("resource_type")
        if kind == "lambda_function":
            names.append(f"function {resource['lambda_arn'].rsplit(':', 1)[-1]}")
        elif kind == "rest_api":
            names.append(f"REST API {resource['rest_api_id']}")
    return names


def destroy(session: Any, installation: Installation, keep_data: bool = True, say: Say = print) -> Destroyed:
    result = Destroyed()
    made = chalice_made(installation)
    if made:
        functions.delete(installation.project_dir, installation.stage)
        result.removed += [*made, "their queue and stream subscriptions and schedules"]
    cfn = session.client("cloudformation")
    template = kept_data.load_template()
    name = installation.stack_name
    if stack.status(cfn, name) is not None:
        data = kept_data.of_stack(cfn, name, template)
        stack.delete_stack(cfn, name)
        result.removed.append(f"stack {name} (queues, topics, secrets, SES set and identity, role)")
    else:
        data = kept_data.existing(session, kept_data.expected(session, installation.parameters()))
    if keep_data:
        result.kept = [str(k) for k in data]
    else:
        result.removed += [str(k) for k in kept_data.remove(session, data)]
    say(f"Removed: {', '.join(result.removed) if result.removed else 'nothing (no installation found)'}")
    if result.kept:
        say(f"Kept (the data): {', '.join(result.kept)}")
        say(
            "  `make destroy KEEP_DATA=0` removes them too; a new `make deploy` with this PREFIX needs them gone."
        )
    return result


def main(argv: list[str] | None = None) -> None:
    parser = installation_arguments(__doc__)
    parser.add_argument("--drop-data", action="store_true", help="remove the tables and the bucket too")
    args = parser.parse_args(argv)
    installation = Installation(stage=args.stage, prefix=args.prefix, stack=args.stack)
    session = regional_session("make destroy")
    try:
        destroy(session, installation, keep_data=not args.drop_data)
    except (StackError, FunctionsError) as error:
        sys.exit(f"make destroy stopped: {error}")


if __name__ == "__main__":
    main()
