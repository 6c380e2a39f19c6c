"""The console's user pool (Cognito), signed in to from the server: AdminInitiateAuth with the
address and password (ADMIN_USER_PASSWORD_AUTH), the new-password challenge of a user an admin
created, and the user's groups.  The pool's tokens are not kept: the session is Sodate's own."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.domain.console import REFUSED, Authenticated, PasswordChangeNeeded, SignInRefusedError

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
                message = error.response.get("Error", {}).get("Message", "")[:300]
                raise SignInRefusedError(
                    "password_rejected", f"The user pool refused the new password: {message or code}."
                ) from None
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

    def _groups(self, email: str) -> tuple[str, ...]:
        names: list[str] = []
        pages = self._cognito.get_paginator("admin_list_groups_for_user")
        for page in pages.paginate(UserPoolId=self._pool, Username=email):
            names += [group["GroupName"] for group in page.get("Groups", [])]
        return tuple(names)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _busy() -> SignInRefusedError:
    return SignInRefusedError("busy", "The sign-in service is busy; try again in a minute.")


def _unsupported(challenge: str) -> SignInRefusedError:
    return SignInRefusedError(
        "unsupported",
        f"This account asks for a sign-in step the console does not offer yet ({challenge[:40]}).",
    )
