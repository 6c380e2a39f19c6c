"""The local console admin: `make run` signs one into the emulator's user pool, in the `admin`
group, and says who in `.local/env` (SODATE_CONSOLE_URL, _USER, _PASSWORD).

The emulator's Cognito starts empty on every run; the saved local state makes its users again
(devstack/pool_users.py) but cannot keep their passwords, so the admin's is kept beside the state
in `.local/console-admin.json` (0600) and set again each time: a browser's saved password and an
open console session both still work after a restart.  Every other restored user gets the same
password (`credentials`).
"""

from __future__ import annotations

import contextlib
import json
import secrets
from pathlib import Path
from typing import Any

USER = "admin@example.com"
NAME = "console-admin.json"


def local_admin(session: Any, outputs: dict[str, str], local_dir: Path, api: str) -> dict[str, str]:
    """The console's settings for the app and for `.local/env`, the admin made (or made again)."""
    user, password = credentials(local_dir)
    cognito = session.client("cognito-idp")
    pool = outputs["UserPoolId"]
    # The same emulator asked twice: the user stays, its password and group are set again below.
    with contextlib.suppress(cognito.exceptions.UsernameExistsException):
        cognito.admin_create_user(
            UserPoolId=pool,
            Username=user,
            UserAttributes=[{"Name": "email", "Value": user}, {"Name": "email_verified", "Value": "true"}],
            MessageAction="SUPPRESS",
        )
    cognito.admin_set_user_password(UserPoolId=pool, Username=user, Password=password, Permanent=True)
    cognito.admin_add_user_to_group(UserPoolId=pool, Username=user, GroupName="admin")
    return {
        "SODATE_CONSOLE_TABLE": outputs["ConsoleTable"],
        "SODATE_USER_POOL_ID": pool,
        "SODATE_USER_POOL_CLIENT_ID": outputs["UserPoolClientId"],
        "SODATE_CONSOLE_URL": f"{api}/console/sign-in",
        "SODATE_CONSOLE_USER": user,
        "SODATE_CONSOLE_PASSWORD": password,
    }


def credentials(local_dir: Path) -> tuple[str, str]:
    """The kept user and password, or new ones (a password the pool's policy takes), kept."""
    path = local_dir / NAME
    try:
        kept = json.loads(path.read_text())
        return str(kept["user"]), str(kept["password"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    password = f"Sodate-{secrets.token_urlsafe(18)}-7a"  # upper, lower, digit, symbol; 33 characters
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.chmod(0o600)
    tmp.write_text(json.dumps({"user": USER, "password": password}) + "\n")
    tmp.replace(path)
    return USER, password
