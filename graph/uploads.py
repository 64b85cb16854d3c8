"""Reading an uploaded file (the `Upload` scalar of a GraphQL multipart request) with limits.

Resolvers get Starlette UploadFiles (spooled to disk past 1 MB). `read_upload` reads one into
memory, refusing a file that is too large or has the wrong name suffix with an UploadError, which the
caller maps into its payload errors (e.g. `CatalogueError(code=..., field=["file"], ...)`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from starlette.datastructures import UploadFile

CHUNK = 64 * 1024


class UploadProblem(enum.Enum):
    NOT_A_FILE = "NOT_A_FILE"  # the variable held something else (e.g. a string sent as JSON)
    WRONG_TYPE = "WRONG_TYPE"  # the file name has none of the allowed suffixes
    TOO_LARGE = "TOO_LARGE"
    EMPTY = "EMPTY"


class UploadError(Exception):
    """Why an upload was refused; the message names limits and suffixes, never the file's content."""

    def __init__(self, problem: UploadProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content: bytes


async def read_upload(
    upload: object, *, max_bytes: int, suffixes: tuple[str, ...] = (), allow_empty: bool = False
) -> UploadedFile:
    """The file's name and bytes; UploadError when it is no file, too large, empty or of the wrong type.

    `suffixes` (e.g. (".csv", ".txt")) are compared case-insensitively; empty means any name.
    Reads in chunks and stops at `max_bytes` + 1, so an oversized file is never read whole.
    """
    if not isinstance(upload, UploadFile):
        raise UploadError(UploadProblem.NOT_A_FILE, "Send the file as a multipart upload (GraphQL multipart request).")
    filename = (upload.filename or "").strip()
    if suffixes and not filename.lower().endswith(tuple(suffix.lower() for suffix in suffixes)):
        raise UploadError(UploadProblem.WRONG_TYPE, f"The file name must end in {' or '.join(suffixes)}.")
    await upload.seek(0)
    content = bytearray()
    while chunk := await upload.read(CHUNK):
        content += chunk
        if len(content) > max_bytes:
            raise UploadError(UploadProblem.TOO_LARGE, f"The file is larger than {max_bytes} bytes.")
    if not content and not allow_empty:
        raise UploadError(UploadProblem.EMPTY, "The file is empty.")
    return UploadedFile(filename=filename, content=bytes(content))
