"""What the API answers when a use case says no: each of the domain's errors becomes the HTTP
answer a caller can act on, with the use case's own words -- never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.app import ChaliceViewError

from chalicelib.domain import errors
from chalicelib.domain.tokens import InvalidTokenError
from chalicelib.web.requests import answer


def refusing(error: Exception) -> Any:
    def call() -> Any:
        raise error

    return call


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.NotFoundError("No segment named 'x'."), 404),
        (errors.BadInputError("limit must be a whole number"), 400),
        (errors.ConflictError("send it again"), 409),
        (errors.TransientError("the store kept throttling"), 429),
        (InvalidTokenError("This link has expired."), 403),
    ],
)
def test_each_refusal_is_the_answer_a_caller_can_act_on_in_the_use_cases_words(error: Exception, status: int):
    with pytest.raises(ChaliceViewError) as answered:
        answer(refusing(error))
    given = answered.value.STATUS_CODE
    assert given == status
    assert str(error) in str(answered.value)
