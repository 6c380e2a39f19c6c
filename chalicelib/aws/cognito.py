"""The console's user pool (Cognito), signed in to from the server: AdminInitiateAuth with the
address and password (ADMIN_USER_PASSWORD_AUTH), the new-password challenge of a user an admin
created, and the user's groups.  The pool's tokens are not kept: the session is Sodate's own.

An admin's side: the members with their groups, an invitation (the pool makes the temporary
password and mails it: no one at Sodate sees it), a role changed, an account switched off or on.
A forgotten password: the pool mails a code, and the code with a new password sets it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.domain.console import (
    CODE_WRONG,
    REFUSED,
    ROLES,
    Authenticated,
    Member,
    MemberExistsError,
    NoSuchMemberError,
    PasswordChangeNeeded,
    SignInRefusedError,
)
from chalicelib.domain.errors import TransientError

# One answer for all of these: which one it was would tell a stranger whether the address has an
# account (the app client's PreventUserExistenceErrors says NotAuthorized for most of them already).
_REFUSED = frozenset(
    {
        "NotAuthorizedException",
        "UserNotFoundException",
        "UserNotConfirmedException",
        "PasswordResetRequiredException",
    }
)
_BUSY = frozenset({"TooManyRequestsException", "LimitExceededException", "TooManyFailedAttemptsException"})
_STEP_GONE = frozenset(
    {"NotAuthorizedException", "ExpiredCodeException", "CodeMismatchException", "ResourceNotFoundException"}
)


class CognitoUsers:
    def __init__(self, cognito: Any, pool_id: str, client_id: str) -> None:
        self._cognito = cognito
        self._pool = pool_id
        self._client = client_id

    def sign_in(self, email: str, password: str) -> Authenticated | PasswordChangeNeeded:
        try:
            answer = self._cognito.admin_initiate_auth(
                UserPoolId=self._pool,
                ClientId=self._client,
                AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": email, "PASSWORD": password},
            )
        except ClientError as error:
            code = _code(error)
            if code in _REFUSED:
                raise SignInRefusedError("refused", REFUSED) from None
            if code in _BUSY:
                raise _busy() from None
            raise
        challenge = answer.get("ChallengeName")
        if challenge == "NEW_PASSWORD_REQUIRED":
            return PasswordChangeNeeded(email, str(answer["Session"]))
        if challenge:
            raise _unsupported(challenge)
        return Authenticated(email, self._groups(email))

    def choose_password(self, email: str, new_password: str, challenge: str) -> Authenticated:
        try:
            answer = self._cognito.admin_respond_to_auth_challenge(
                UserPoolId=self._pool,
                ClientId=self._client,
                ChallengeName="NEW_PASSWORD_REQUIRED",
                Session=challenge,
                ChallengeResponses={"USERNAME": email, "NEW_PASSWORD": new_password},
            )
        except ClientError as error:
            code = _code(error)
            if code == "InvalidPasswordException":
                raise SignInRefusedError("password_rejected", _message(error)) from None
            if code in _STEP_GONE:
                raise SignInRefusedError(
                    "step_expired", "This step has expired; sign in again with the temporary password."
                ) from None
            if code in _BUSY:
                raise _busy() from None
            raise
        if answer.get("ChallengeName"):
            raise _unsupported(str(answer["ChallengeName"]))
        return Authenticated(email, self._groups(email))

    # --- an admin's side ------------------------------------------------------------------------
    def members(self) -> list[Member]:
        roles: dict[str, str] = {}
        for role in ROLES:  # lowest first: someone in two groups has the higher role
            for user in self._pages("list_users_in_group", "Users", GroupName=role):
                roles[_email(user)] = role
        users = self._pages("list_users", "Users")
        return sorted((_member(user, roles.get(_email(user))) for user in users), key=lambda m: m.email)

    def invite(self, email: str, role: str) -> Member:
        try:
            answer = self._cognito.admin_create_user(
                UserPoolId=self._pool,
                Username=email,
                UserAttributes=[
                    {"Name": "email", "Value": email},
                    {"Name": "email_verified", "Value": "true"},
                ],
                DesiredDeliveryMediums=["EMAIL"],
            )
        except ClientError as error:
            if _code(error) == "UsernameExistsException":
                raise MemberExistsError(f"{email} has an account already; change its role instead.") from None
            raise _plain(error) from None
        self._cognito.admin_add_user_to_group(UserPoolId=self._pool, Username=email, GroupName=role)
        return _member(answer["User"], role)

    def set_role(self, email: str, role: str) -> None:
        try:
            self._cognito.admin_add_user_to_group(UserPoolId=self._pool, Username=email, GroupName=role)
            for other in ROLES:
                if other != role:
                    self._cognito.admin_remove_user_from_group(
                        UserPoolId=self._pool, Username=email, GroupName=other
                    )
        except ClientError as error:
            raise _plain(error) from None

    def set_enabled(self, email: str, enabled: bool) -> None:
        try:
            if enabled:
                self._cognito.admin_enable_user(UserPoolId=self._pool, Username=email)
            else:
                self._cognito.admin_disable_user(UserPoolId=self._pool, Username=email)
                self._cognito.admin_user_global_sign_out(UserPoolId=self._pool, Username=email)
        except ClientError as error:
            raise _plain(error) from None

    # --- a forgotten password ---------------------------------------------------------------------
    def forgot(self, email: str) -> None:
        """The pool mails a code -- when the address has an account that may reset its password;
        otherwise nothing happens, and the answer is the same."""
        try:
            self._cognito.forgot_password(ClientId=self._client, Username=email)
        except ClientError as error:
            code = _code(error)
            if code in _BUSY:
                raise _busy() from None
            if code not in _REFUSED | {"InvalidParameterException", "CodeDeliveryFailureException"}:
                raise

    def reset(self, email: str, code: str, new_password: str) -> None:
        try:
            self._cognito.confirm_forgot_password(
                ClientId=self._client, Username=email, ConfirmationCode=code, Password=new_password
            )
        except ClientError as error:
            reason = _code(error)
            if reason == "InvalidPasswordException":
                raise SignInRefusedError("password_rejected", _message(error)) from None
            if reason in _BUSY:
                raise _busy() from None
            if reason in _REFUSED | _STEP_GONE:
                raise SignInRefusedError("code_wrong", CODE_WRONG) from None
            raise

    def _pages(self, operation: str, key: str, **params: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for page in self._cognito.get_paginator(operation).paginate(UserPoolId=self._pool, **params):
            found += page.get(key, [])
        return found

    def _groups(self, email: str) -> tuple[str, ...]:
        names: list[str] = []
        pages = self._cognito.get_paginator("admin_list_groups_for_user")
        for page in pages.paginate(UserPoolId=self._pool, Username=email):
            names += [group["GroupName"] for group in page.get("Groups", [])]
        return tuple(names)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _message(error: ClientError) -> str:
    said = error.response.get("Error", {}).get("Message", "")[:300]
    return f"The user pool refused the new password: {said or _code(error)}."


def _email(user: dict[str, Any]) -> str:
    attributes = {a["Name"]: a["Value"] for a in user.get("Attributes", [])}
    return str(attributes.get("email") or user.get("Username", "")).lower()


def _member(user: dict[str, Any], role: str | None) -> Member:
    created: Any = user.get("UserCreateDate")  # a datetime from boto3
    when = created.isoformat() if isinstance(created, datetime) else str(created or "")
    return Member(_email(user), role, str(user.get("UserStatus", "")), bool(user.get("Enabled", True)), when)


def _plain(error: ClientError) -> Exception:
    """What an admin's change ran into, said plainly."""
    code = _code(error)
    if code == "UserNotFoundException":
        return NoSuchMemberError("The user pool has no account with that address.")
    if code in _BUSY:
        return TransientError("The user pool is busy; try again in a minute.")
    return error


def _busy() -> SignInRefusedError:
    return SignInRefusedError("busy", "The sign-in service is busy; try again in a minute.")


def _unsupported(challenge: str) -> SignInRefusedError:
    return SignInRefusedError(
        "unsupported",
        f"This account asks for a sign-in step the console does not offer yet ({challenge[:40]}).",
    )
