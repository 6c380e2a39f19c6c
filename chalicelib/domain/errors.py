"""Failures a caller can act on.  The API turns the first two into 404 and 400; the others
tell a use case what happened underneath it, in the domain's words, whatever the storage."""


class NotFoundError(LookupError):
    """The thing asked for does not exist (or is not yours to see)."""


class BadInputError(ValueError):
    """The request is malformed; the message names what is wrong."""


class TooManyError(BadInputError):
    """Too many of these from one place or for one thing, just now: the caller is asked to wait
    (the API's 429)."""


class ConflictError(RuntimeError):
    """Someone changed the record since it was read; read it again and retry."""


class StaleJourneyError(ConflictError):
    """Someone else moved this journey since it was read (another tick, an event)."""


class FileChangedError(RuntimeError):
    """The object was replaced while it was being imported."""


class TransientError(RuntimeError):
    """A passing fault (throttling, a service hiccup, the network): worth retrying as it is."""


class OutcomeUnknownError(RuntimeError):
    """A message service may have taken the message: the answer was lost (the connection broke or
    timed out after the request went out) or the service failed inside.  Mail and texts carry no
    idempotency key, so such a message is never sent again: sent at most once, and said so."""


class ChannelError(RuntimeError):
    """A messaging channel's API (LINE) refused a call or could not be reached: `status` is its
    HTTP answer (0: no answer), the message its own words."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status
