"""Background images of participants: uploaded once to S3, reused in every meeting."""

from meet_files.plugin import FilesPlugin

__all__ = ["FilesPlugin"]
