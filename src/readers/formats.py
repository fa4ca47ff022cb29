"""The image formats the harness reads, in one place: how each is told by its first bytes (whatever the file's
name says), the bytes its file ends with, and the file-name extensions it goes by."""
from . import dicom

# the first bytes of each image format the harness reads, and the bytes its file ends with
# (a DICOM file is told by 'DICM' at byte 128: dicom.is_dicom; it has no ending)
SIGNATURES = {b"\xff\xd8": "jpeg", b"\x89PNG": "png", b"II*\x00": "tiff", b"MM\x00*": "tiff"}
ENDINGS = {"jpeg": b"\xff\xd9", "png": b"IEND\xaeB`\x82"}


# the file-name extensions each format goes by (any case); a data folder is searched for these unless the task's
# data.extensions names fewer
EXTENSIONS = {"jpeg": (".jpg", ".jpeg"), "png": (".png",), "tiff": (".tif", ".tiff"), "dicom": (".dcm", ".dicom")}


def image_extensions(cfg):
    """The extensions a task's data folders are searched for: data.extensions, else every known one."""
    return list(cfg["data"]["extensions"] or [e for exts in EXTENSIONS.values() for e in exts])


def format_of(head):
    """'jpeg', 'png', 'tiff', 'dicom' or None from a file's first bytes (132 of them to tell a DICOM file)."""
    if dicom.is_dicom(head):
        return "dicom"
    return next((k for sig, k in SIGNATURES.items() if bytes(head).startswith(sig)), None)


def head_of(path):
    """A file's first bytes, as many as format_of needs; b'' when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            return fh.read(dicom.HEAD_BYTES)
    except OSError:
        return b""


def looks_like_image(path):
    """Cheap content check (a JPEG, PNG or DICOM signature in the first bytes), whatever the extension says."""
    return format_of(head_of(path)) is not None
