"""The console's users in the local state: each account of the user pool -- its address and other
attributes, its groups (the roles), whether it is switched on, whether it has chosen its password
yet -- is dumped with the rest (devstack/state.py) and made again after a restart.

Cognito gives no password back, and a password a person chose is not written to disk: every
restored account gets the local console password `make run` prints and keeps
(SODATE_CONSOLE_PASSWORD, the local admin's; devstack/console_user.py).  An account that had
chosen its password signs in with that one; an invited one that had not still has to choose,
with that one as its temporary password, as the console's sign-in asks.
"""

from __future__ import annotations

import contextlib
from typing import Any

NAME = "users.json"
_GENERATED = frozenset({"sub"})  # the pool's own, made again for the new account


def dump(cognito: Any, pools: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Each pool's accounts (by logical id): attributes, groups, enabled, and status."""
    saved: dict[str, list[dict[str, Any]]] = {}
    for logical, pool in pools.items():
        accounts = saved[logical] = []
        for page in cognito.get_paginator("list_users").paginate(UserPoolId=pool):
            for user in page.get("Users", []):
                groups: list[str] = []
                listed = cognito.get_paginator("admin_list_groups_for_user")
                for found in listed.paginate(UserPoolId=pool, Username=user["Username"]):
                    groups += [group["GroupName"] for group in found.get("Groups", [])]
                attributes = {a["Name"]: a["Value"] for a in user.get("Attributes", [])}
                accounts.append(
                    {
                        "username": attributes.get("email") or user["Username"],  # the pool signs in by email
                        "attributes": {k: v for k, v in attributes.items() if k not in _GENERATED},
                        "groups": sorted(groups),
                        "enabled": bool(user.get("Enabled", True)),
                        "status": str(user.get("UserStatus", "")),
                    }
                )
    return saved


def restore(
    cognito: Any, pools: dict[str, str], saved: dict[str, list[dict[str, Any]]], password: str
) -> int:
    """Make the saved accounts again (no invitation mailed), with `password`; how many."""
    count = 0
    for logical, accounts in saved.items():
        pool = pools.get(logical)
        if pool is None:  # the template no longer has that pool
            continue
        for account in accounts:
            user = account["username"]
            cognito.admin_create_user(
                UserPoolId=pool,
                Username=user,
                UserAttributes=[{"Name": k, "Value": v} for k, v in account["attributes"].items()],
                TemporaryPassword=password,
                MessageAction="SUPPRESS",
            )
            if account["status"] == "CONFIRMED":
                cognito.admin_set_user_password(
                    UserPoolId=pool, Username=user, Password=password, Permanent=True
                )
            for group in account["groups"]:
                with contextlib.suppress(
                    cognito.exceptions.ResourceNotFoundException
                ):  # a role since removed
                    cognito.admin_add_user_to_group(UserPoolId=pool, Username=user, GroupName=group)
            if not account["enabled"]:
                cognito.admin_disable_user(UserPoolId=pool, Username=user)
            count += 1
    return count
