"""Exceptions a user can act on. The CLI turns them into one clear line and a non-zero exit;
the API turns them into RFC 9457 problem details."""


class TenureError(Exception):
    """Base of every error tenure reports to a user (never a bug)."""

    exit_code = 1


class ConfigError(TenureError):
    """tenure.yaml is missing, malformed or has a bad key or value."""

    exit_code = 2


class InputError(TenureError):
    """An input file or argument cannot be used as given."""

    exit_code = 2


class WarehouseError(TenureError):
    """The warehouse cannot be reached or holds something unexpected."""


class NotFoundError(TenureError):
    """A named thing (account, metric, run) does not exist."""

    exit_code = 3


class ConflictError(TenureError):
    """The thing changed since the caller looked (e.g. an account's renewal moved): reload, retry."""
