"""The one error type for mistakes a user can fix.

Anything raised as UserError reaches the CLI edge and is printed as a single line
(no traceback) with exit code 2. The message should name the file or flag at fault
and say what to do about it.
"""


class UserError(Exception):
    """A problem the user caused and can fix: bad capsule, bad flag, missing Docker, ..."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
